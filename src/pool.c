/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "fmt.h"
#include "io.h"
#include "log.h"
#include "pool.h"
#include "verdict.h"

/* resolve: every configured server; the ones that fail are named in w. */
static int
resolve(struct pool *p, struct why *w)
{
	const struct conf *c = p->c;
	int by_name = !(p->dial.has_proxy && c->remote_dns);
	/* clamd 0.103 takes STREAM data on IPv4 only (SPEC §5.1). */
	int family = c->protocol == PROTO_STREAM ? AF_INET : AF_UNSPEC;
	char errs[WHY_MAX] = "";

	p->n = 0;
	for (unsigned i = 0; i < c->nserver; i++) {
		struct why sw;
		int n = net_resolve(&c->server[i], c->port, by_name, family,
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
	return 0;
}

/* is_literal: host is an IPv4 or IPv6 address, no resolver needed. */
static int
is_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* needs_resolver: whether a name of the configuration goes to DNS. */
static int
needs_resolver(const struct conf *c)
{
	if (c->socks_host[0] != '\0') {
		if (!is_literal(c->socks_host))
			return 1;
		if (c->remote_dns)
			return 0;	/* the proxy resolves the servers */
	}
	for (unsigned i = 0; i < c->nserver; i++)
		if (!c->server[i].is_unix && !is_literal(c->server[i].host))
			return 1;
	return 0;
}

/* resolve_all: the proxy and the servers, here. */
static int
resolve_all(struct pool *p, struct why *w)
{
	return dial_init(&p->dial, p->c, w) < 0 || resolve(p, w) < 0 ? -1 : 0;
}

/*
 * keep_only: in the resolving child, close every descriptor but the
 * standard ones and fd, which becomes 3: the child holds nothing of the
 * run (the verdict's temporary, a socket) while it waits on a resolver.
 * Returns the descriptor to write to.
 */
static int
keep_only(int fd)
{
	if (fd != 3 && dup2(fd, 3) == 3)
		fd = 3;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, fd + 1, ~0U, 0) == 0)
		return fd;
#endif
	for (int i = fd + 1; i < 1024; i++)
		close(i);
	return fd;
}

/* What the resolving child sends back, before the addresses. */
struct resolved {
	int rc;
	int n;
	struct why w;
	struct dial dial;
};

/*
 * resolve_by: resolve_all, ended at the deadline.  getaddrinfo has no
 * deadline of its own (a silent resolver costs seconds a name), so when a
 * name needs one, a child process resolves and sends the result back; the
 * wait for it ends at the deadline, and the child is killed then.
 */
static int
resolve_by(struct pool *p, ms_t deadline, struct why *w)
{
	struct resolved r;
	ssize_t want, got;
	pid_t pid;
	int fds[2];

	if (!needs_resolver(p->c))
		return resolve_all(p, w);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return why_errno(w, errno, "resolving names: pipe");
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return why_errno(w, errno, "resolving names: fork");
	}
	if (pid == 0) {
		/* The parent alone answers for the run's signals and files. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(fds[0]);
		fds[1] = keep_only(fds[1]);
		r.rc = resolve_all(p, &r.w);
		r.n = p->n;
		r.dial = p->dial;
		if (io_write_all(fds[1], &r, sizeof(r), IO_NEVER) == 0 &&
		    r.rc == 0)
			(void)io_write_all(fds[1], p->addr,
			    sizeof(p->addr[0]) * (size_t)r.n, IO_NEVER);
		_exit(0);
	}
	close(fds[1]);
	got = io_read_exact(fds[0], &r, sizeof(r), deadline);
	if (got == (ssize_t)sizeof(r) && r.rc == 0 && r.n > 0 &&
	    r.n <= POOL_MAX) {
		want = (ssize_t)(sizeof(p->addr[0]) * (size_t)r.n);
		if (io_read_exact(fds[0], p->addr, (size_t)want, deadline) !=
		    want)
			got = -1;
	}
	close(fds[0]);
	if (got != (ssize_t)sizeof(r))
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		continue;
	if (got != (ssize_t)sizeof(r))
		return why_set(w, "resolving the clamd servers' names: no "
		    "answer within timeout_ms (%u ms)", p->c->timeout_ms);
	if (r.rc < 0) {
		*w = r.w;
		return -1;
	}
	p->n = r.n;
	p->dial = r.dial;
	return 0;
}

/*
 * The state file's content while a run holds its lock: static, as it is
 * large (a table of every server) and seldom filled; a run is one thread.
 */
static struct state state;
/*
 * The state file, open from a run's first update to its last (the counts,
 * pool_record): each update between only locks it again (an open is the
 * dearest call of the few an update costs, and a run with several
 * servers makes two or more).
 */
static int state_fd = -1;
/* The lock could not be had once: the run waits for it no more. */
static int state_unusable;

/*
 * lock_state: the state file (state_fd) locked, waiting wait ms at most,
 * never past deadline, and read into s.  Returns 0, or -1 (a warning
 * logged).
 */
static int
lock_state(const struct conf *c, ms_t wait, ms_t deadline, struct state *s)
{
	struct why w;
	int r;

	if (state_unusable)
		deadline = 0;		/* one try */
	if (state_fd < 0)
		r = state_fd = state_lock(c->state_file, 0, wait, deadline, &w);
	else
		r = state_relock(state_fd, c->state_file, wait, deadline, &w);
	if (r < 0) {
		log_warn("%s (ignored)", w.text);
		state_unusable = 1;
		return -1;
	}
	if (state_read(state_fd, c->state_file, s, &w) < 0)
		log_warn("%s (ignored)", w.text);
	return 0;
}

/*
 * save_state: s written to the locked state file, which is unlocked, and
 * closed when the run is done with it.
 */
static void
save_state(const struct conf *c, const struct state *s, int done)
{
	struct why w;

	if (state_write(state_fd, c->state_file, s, &w) < 0)
		log_warn("%s", w.text);
	if (done) {
		state_close(state_fd);
		state_fd = -1;
	} else {
		state_unlock(state_fd);
	}
}

/*
 * load_state: the state under its lock, the round-robin counter taken
 * (incremented) when balancing so; the servers' dead marks into
 * p->dead_until.  Returns the counter's value, or 0 when there is no
 * usable state (a warning logged).
 */
static uint64_t
load_state(struct pool *p, ms_t deadline)
{
	const struct conf *c = p->c;
	struct state *s = &state;

	if (lock_state(c, STATE_LOCK_MS, deadline, s) < 0)
		return 0;
	if (c->balance == BALANCE_ROUND_ROBIN) {
		s->next++;
		save_state(c, s, 0);
	} else {
		state_unlock(state_fd);
	}
	for (int i = 0; i < p->n; i++)
		p->dead_until[i] = state_dead_until(s, p->addr[i].name);
	/* 0 stands for "no state": a counter read as 0 counts as 1. */
	return s->next != 0 ? s->next : 1;
}

int
pool_init(struct pool *p, const struct conf *c, int probe, ms_t deadline,
    struct why *w)
{
	long long now = io_wall();
	uint64_t next = 0;
	int start, k = 0, alive = 0;

	/* Only what is read is set: the address table is large. */
	p->c = c;
	p->probe = probe;
	if (resolve_by(p, deadline, w) < 0)
		return -1;
	for (int i = 0; i < p->n; i++)
		p->dead_until[i] = p->ok_at[i] = p->error_at[i] = 0;
	/* With one server there is no order to choose: leave the file be. */
	if (c->state_file[0] != '\0' && p->n > 1 && !probe)
		next = load_state(p, deadline);
	if (c->balance == BALANCE_FAILOVER)
		start = 0;
	else if (next != 0)
		start = (int)((next - 1) % (uint64_t)p->n);
	else
		start = p->n > 1 ? (int)((unsigned)getpid() % (unsigned)p->n) : 0;

	/* Live servers first, in turn from start; dead ones after them. */
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		if (p->dead_until[j] <= now)
			p->order[k++] = j, alive++;
	}
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		if (p->dead_until[j] > now) {
			p->order[k++] = j;
			if (alive > 0)
				log_warn("%s: skipped: marked dead for %lld s "
				    "more (retry_dead_s)", p->addr[j].name,
				    p->dead_until[j] - now);
		}
	}
	if (alive == 0 && p->n > 1)
		log_warn("every clamd server is marked dead: trying them all");
	if (probe)
		log_step("servers: %d", p->n);
	else
		log_step("servers: %d (%d marked dead), first %s", p->n,
		    p->n - alive, p->addr[p->order[0]].name);
	return 0;
}

/* remember: server i's error (why) for pool_record. */
static void
remember(struct pool *p, int i, const char *why)
{
	p->error_at[i] = io_wall();
	verdict_sanitize(p->error[i], why, strlen(why));
	p->error[i][STATE_ERROR_MAX] = '\0';
}

void
pool_failed(struct pool *p, int i, const char *why)
{
	const struct conf *c = p->c;
	long long now = io_wall(), was;
	struct state_server *e;
	struct state *s = &state;

	remember(p, i, why);
	if (c->state_file[0] == '\0' || p->n < 2 || p->probe)
		return;
	/* Briefly: a lock held elsewhere never costs the next server. */
	if (lock_state(c, STATE_MARK_MS, IO_NEVER, s) < 0)
		return;
	if ((e = state_server(s, p->addr[i].name, 1)) != NULL) {
		was = e->dead_until;
		e->dead_until = now + c->retry_dead_s;
		/* Said once: by the run that sets the mark. */
		if (was <= now)
			log_warn("%s: marked dead for %u s (retry_dead_s)",
			    p->addr[i].name, c->retry_dead_s);
	}
	save_state(c, s, 0);
	p->dead_until[i] = now + c->retry_dead_s;
}

void
pool_answered(struct pool *p, int i, const char *error)
{
	const struct conf *c = p->c;
	struct state_server *e;
	struct state *s = &state;

	p->ok_at[i] = io_wall();
	if (error != NULL)
		remember(p, i, error);
	if (c->state_file[0] == '\0' || p->n < 2 || p->dead_until[i] == 0)
		return;
	if (lock_state(c, STATE_MARK_MS, IO_NEVER, s) < 0)
		return;
	e = state_server(s, p->addr[i].name, 0);
	if (e != NULL && e->dead_until != 0) {
		e->dead_until = 0;
		log_warn("%s: answers again: dead mark cleared",
		    p->addr[i].name);
	}
	save_state(c, s, 0);
	p->dead_until[i] = 0;
}

void
pool_record(const struct conf *c, const struct pool *p,
    const uint64_t n[COUNT_N], ms_t deadline)
{
	struct state_server *e;
	struct state *s = &state;

	if (c->state_file[0] == '\0')
		return;
	if (lock_state(c, STATE_LOCK_MS, deadline, s) < 0)
		return;
	state_count(s, n);
	for (int i = 0; p != NULL && i < p->n; i++) {
		if (p->ok_at[i] == 0 && p->error_at[i] == 0)
			continue;
		if ((e = state_server(s, p->addr[i].name, 1)) == NULL)
			continue;
		if (p->ok_at[i] != 0)
			e->ok_at = p->ok_at[i];
		if (p->error_at[i] != 0) {
			e->error_at = p->error_at[i];
			strcpy(e->error, p->error[i]);
		}
	}
	save_state(c, s, 1);
}
