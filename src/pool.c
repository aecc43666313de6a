/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fmt.h"
#include "log.h"
#include "pool.h"
#include "socks.h"

/*
 * The state file, shared by every run (SPEC §5.2), small and plain text:
 *
 *	clamhook-state 1
 *	next 1234
 *	dead 1700000000 127.0.0.1:3310
 *
 * "next" is the round-robin counter, "dead UNTIL NAME" a server that failed
 * and is skipped until UNTIL (seconds since the epoch).  Readers and
 * writers hold flock(LOCK_EX) for the few microseconds they need it; a lock
 * not had within STATE_LOCK_MS, or a file that does not parse, is ignored
 * with a warning: the state only steers the order, never the verdict.
 */
#define STATE_LOCK_MS 1000
#define STATE_MAX 8192

struct state {
	uint64_t next;
	int ndead;
	struct {
		long long until;
		char name[CONF_NAME_MAX + 64];
	} dead[POOL_MAX];
};

/* state_lock: open and lock the state file; returns the fd or -1. */
static int
state_lock(const char *path)
{
	ms_t deadline = io_after(STATE_LOCK_MS);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	struct stat st;

	if (fd < 0) {
		log_warn("state file %s: %s (ignored)", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warn("state file %s: not a regular file (ignored)", path);
		close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    io_now() >= deadline) {
			log_warn("state file %s: cannot lock: %s (ignored)",
			    path, errno == EWOULDBLOCK ? "busy" :
			    strerror(errno));
			close(fd);
			return -1;
		}
		poll(NULL, 0, 5);
	}
	return fd;
}

/* state_read: parse the locked file; a corrupt file reads as empty. */
static void
state_read(int fd, const char *path, struct state *s)
{
	char buf[STATE_MAX + 1], *line, *next;
	ssize_t n;
	int first = 1;

	memset(s, 0, sizeof(*s));
	n = pread(fd, buf, STATE_MAX, 0);
	if (n < 0)
		log_warn("state file %s: %s (ignored)", path, strerror(errno));
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n)
		goto corrupt;
	for (line = buf; *line != '\0'; line = next) {
		char *end;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0')
			continue;	/* empty lines are ignored */

		if (first) {
			first = 0;
			if (strcmp(line, "clamhook-state 1") == 0)
				continue;
			goto corrupt;
		}
		if (strncmp(line, "next ", 5) == 0 &&
		    isdigit((unsigned char)line[5])) {
			errno = 0;
			s->next = strtoull(line + 5, &end, 10);
			if (errno == 0 && *end == '\0')
				continue;
		} else if (strncmp(line, "dead ", 5) == 0 &&
		    isdigit((unsigned char)line[5]) && s->ndead < POOL_MAX) {
			long long u;

			errno = 0;
			u = strtoll(line + 5, &end, 10);
			if (errno == 0 && *end == ' ' && end[1] != '\0' &&
			    strlen(end + 1) < sizeof(s->dead[0].name)) {
				s->dead[s->ndead].until = u;
				strcpy(s->dead[s->ndead++].name, end + 1);
				continue;
			}
		}
		goto corrupt;
	}
	return;
corrupt:
	log_warn("state file %s: corrupt, ignored", path);
	memset(s, 0, sizeof(*s));
}

/* state_write: replace the locked file's content. */
static void
state_write(int fd, const char *path, const struct state *s)
{
	char buf[STATE_MAX];
	size_t o = 0;
	long long now = (long long)time(NULL);

	o += (size_t)fmt_s(buf, sizeof(buf), "clamhook-state 1\nnext %"
	    PRIu64 "\n", s->next);
	for (int i = 0; i < s->ndead; i++) {
		if (s->dead[i].until <= now)
			continue;
		if (o + strlen(s->dead[i].name) + 32 >= sizeof(buf))
			break;
		o += (size_t)fmt_s(buf + o, sizeof(buf) - o, "dead %lld %s\n",
		    s->dead[i].until, s->dead[i].name);
	}
	if (pwrite(fd, buf, o, 0) != (ssize_t)o || ftruncate(fd, (off_t)o) < 0)
		log_warn("state file %s: cannot write: %s", path,
		    strerror(errno));
}

static int
dead_index(const struct state *s, const char *name)
{
	for (int i = 0; i < s->ndead; i++)
		if (strcmp(s->dead[i].name, name) == 0)
			return i;
	return -1;
}

static int connect_to(struct pool *, const struct net_addr *, ms_t,
    struct why *);

int
pool_init(struct pool *p, const struct conf *c, struct why *w)
{
	struct state s;
	int resolve, fd, start, k = 0, alive = 0, dead[POOL_MAX];
	char errs[WHY_MAX] = "";
	long long now = (long long)time(NULL);

	/* Only what is read is set: the address table is large. */
	p->n = 0;
	p->has_proxy = 0;
	p->c = c;
	if (c->socks_host[0] != '\0') {
		struct conf_server ps;
		struct why pw;

		memset(&ps, 0, sizeof(ps));
		strcpy(ps.host, c->socks_host);
		ps.port = c->socks_port;
		if (net_resolve(&ps, 1080, 1, &p->proxy, 1, &pw) < 0)
			return why_set(w, "SOCKS proxy %s", pw.text);
		p->has_proxy = 1;
	}
	resolve = !(p->has_proxy && c->remote_dns);
	for (unsigned i = 0; i < c->nserver; i++) {
		struct why sw;
		int n = net_resolve(&c->server[i], c->port, resolve,
		    p->addr + p->n, POOL_MAX - p->n, &sw);

		if (n < 0) {
			size_t o = strlen(errs);

			/* Truncated when long: why_set would cut it anyway. */
			fmt_s(errs + o, sizeof(errs) - o, "%s%s", o ? "; " : "",
			    sw.text);
			continue;
		}
		p->n += n;
	}
	if (p->n == 0)
		return why_set(w, "no clamd server could be resolved: %s", errs);
	if (errs[0] != '\0')
		log_warn("clamd servers left out: %s", errs);

	s.next = 0;
	s.ndead = 0;
	fd = -1;
	/* With one server there is no order to choose: leave the file be. */
	if (c->state_file[0] != '\0' && p->n > 1 &&
	    (fd = state_lock(c->state_file)) >= 0) {
		state_read(fd, c->state_file, &s);
		if (c->balance == BALANCE_ROUND_ROBIN) {
			s.next++;
			state_write(fd, c->state_file, &s);
		}
		close(fd);	/* releases the lock */
	}
	if (c->balance == BALANCE_FAILOVER)
		start = 0;
	else if (fd >= 0)
		start = (int)((s.next - 1) % (uint64_t)p->n);
	else
		start = (int)((unsigned)getpid() % (unsigned)p->n);

	/* Live servers first, in turn from start; dead ones after them. */
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n, d = dead_index(&s, p->addr[j].name);

		dead[j] = d >= 0 && s.dead[d].until > now;
		if (!dead[j])
			p->order[k++] = j, alive++;
	}
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		if (dead[j])
			p->order[k++] = j;
	}
	for (int i = 0; i < p->n; i++)
		p->was_dead[i] = dead[i];
	log_step("servers: %d (%d marked dead), first %s", p->n,
	    p->n - alive, p->addr[p->order[0]].name);
	return 0;
}

int
pool_connect(struct pool *p, int i, ms_t deadline, struct why *w)
{
	return connect_to(p, &p->addr[i], deadline, w);
}

int
pool_connect_port(struct pool *p, int i, unsigned port, ms_t deadline,
    struct why *w)
{
	struct net_addr a = p->addr[i];

	if (a.is_unix)
		return why_set(w, "%s: a Unix socket has no ports", a.name);
	a.port = port;
	if (a.salen != 0) {
		if (a.sa.ss_family == AF_INET)
			((struct sockaddr_in *)&a.sa)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&a.sa)->sin6_port = htons(port);
	}
	net_name(&a);
	return connect_to(p, &a, deadline, w);
}

/* connect_to: a, directly or through the proxy, with connect_timeout_ms. */
static int
connect_to(struct pool *p, const struct net_addr *a, ms_t deadline,
    struct why *w)
{
	ms_t cd = io_min(deadline, io_after(p->c->connect_timeout_ms));
	struct why e;
	int fd;

	if (!p->has_proxy) {
		log_step("connect %s", a->name);
		fd = net_connect(a, cd, &e);
		if (fd < 0)
			return why_set(w, "%s: %s", a->name, e.text);
		return fd;
	}
	log_step("connect %s via SOCKS%s proxy %s", a->name,
	    p->c->socks_version == 5 ? "5" : "4a", p->proxy.name);
	fd = net_connect(&p->proxy, cd, &e);
	if (fd < 0)
		return why_set(w, "%s: SOCKS proxy %s: %s", a->name,
		    p->proxy.name, e.text);
	if (socks_handshake(fd, p->c, a, cd, &e) < 0) {
		close(fd);
		return why_set(w, "%s: SOCKS proxy %s: %s", a->name,
		    p->proxy.name, e.text);
	}
	return fd;
}

void
pool_mark(struct pool *p, int i, int dead)
{
	const struct conf *c = p->c;
	struct state s;
	int fd, d;

	if (c->state_file[0] == '\0' || p->n < 2 || (!dead && !p->was_dead[i]))
		return;
	if ((fd = state_lock(c->state_file)) < 0)
		return;
	state_read(fd, c->state_file, &s);
	d = dead_index(&s, p->addr[i].name);
	if (dead) {
		if (d < 0 && s.ndead < POOL_MAX)
			d = s.ndead++;
		if (d >= 0) {
			s.dead[d].until = (long long)time(NULL) +
			    c->retry_dead_s;
			strcpy(s.dead[d].name, p->addr[i].name);
		}
	} else if (d >= 0) {
		s.dead[d] = s.dead[--s.ndead];
	}
	state_write(fd, c->state_file, &s);
	close(fd);
	p->was_dead[i] = dead;
}
