/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "io.h"
#include "state.h"

/*
 * The longest line ("error WHEN NAME<TAB>TEXT"), and the buffer the file
 * passes through a piece at a time: small and on the stack, where a run's
 * pages are touched already (a static buffer for the whole file cost a
 * page fault per run).
 */
#define STATE_LINE_MAX (sizeof("error  \t\n") + 20 + \
	sizeof(((struct state_server *)0)->name) + STATE_ERROR_MAX)
#define STATE_CHUNK 1024

int
state_lock(const char *path, int readonly, ms_t wait, ms_t deadline,
    struct why *w)
{
	/*
	 * No O_CLOEXEC: clamhook runs no program (see io.h).  O_CREAT only
	 * when the file is missing: it would lock the folder on every run.
	 */
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY;
	int fd = open(path, flags);
	struct stat st;

	if (fd < 0 && errno == ENOENT && !readonly)
		fd = open(path, flags | O_CREAT, 0644);
	if (fd < 0) {
		int err = errno;

		why_errno(w, err, "state file %s", path);
		errno = err;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return why_set(w, "state file %s: not a regular file", path);
	}
	if (state_relock(fd, path, wait, deadline, w) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
state_relock(int fd, const char *path, ms_t wait, ms_t deadline,
    struct why *w)
{
	ms_t until = -1;	/* set at the first wait: most runs never wait */

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		if (err == EWOULDBLOCK || err == EINTR) {
			if (until < 0)
				until = io_min(deadline, io_after(wait));
			if (io_now() < until) {
				poll(NULL, 0, 5);
				continue;
			}
		}
		if (err == EWOULDBLOCK)
			return why_set(w, "state file %s: cannot lock: busy",
			    path);
		return why_errno(w, err, "state file %s: cannot lock", path);
	}
	return 0;
}

void
state_unlock(int fd)
{
	(void)flock(fd, LOCK_UN);
}

void
state_close(int fd)
{
	close(fd);	/* releases the lock */
}

/* number: a decimal at *p, then one blank; *p moved past both. */
static int
number(char **p, long long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoll(*p, &end, 10);
	if (errno != 0 || *end != ' ')
		return -1;
	*p = end + 1;
	return 0;
}

/* server_line: "dead", "ok" or "error" WHEN NAME[<TAB>TEXT] into s. */
static int
server_line(char *p, int kind, struct state *s)
{
	struct state_server *e;
	char *text = NULL;
	long long when;

	if (number(&p, &when) < 0 || *p == '\0')
		return -1;
	if (kind == 'e') {
		if ((text = strchr(p, '\t')) == NULL ||
		    strlen(text + 1) > STATE_ERROR_MAX)
			return -1;
		*text++ = '\0';
	}
	if ((e = state_server(s, p, 1)) == NULL)
		return -1;
	if (kind == 'd')
		e->dead_until = when;
	else if (kind == 'o')
		e->ok_at = when;
	else {
		e->error_at = when;
		strcpy(e->error, text);
	}
	return 0;
}

/* parse_line: one line after the first into s.  Returns 0 or -1. */
static int
parse_line(char *line, struct state *s)
{
	char *p, *end;

	if (strncmp(line, "next ", 5) == 0 &&
	    isdigit((unsigned char)line[5])) {
		errno = 0;
		s->next = strtoull(line + 5, &end, 10);
		return errno == 0 && *end == '\0' ? 0 : -1;
	}
	if (strncmp(line, "counts ", 7) == 0) {
		p = line + 7;
		if (number(&p, &s->since) < 0)
			return -1;
		for (int i = 0; i < COUNT_N; i++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			errno = 0;
			s->count[i] = strtoull(p, &end, 10);
			if (errno != 0 || *end != (i + 1 < COUNT_N ? ' ' : '\0'))
				return -1;
			p = end + 1;
		}
		return 0;
	}
	if (strncmp(line, "dead ", 5) == 0)
		return server_line(line + 5, 'd', s);
	if (strncmp(line, "ok ", 3) == 0)
		return server_line(line + 3, 'o', s);
	if (strncmp(line, "error ", 6) == 0)
		return server_line(line + 6, 'e', s);
	return -1;
}

/* state_empty: s with no counter, counts or servers. */
static void
state_empty(struct state *s)
{
	s->next = 0;
	s->since = 0;
	memset(s->count, 0, sizeof(s->count));
	s->n = 0;
}

/* one_line: line (its newline gone), the first if *first, into s. */
static int
one_line(char *line, int *first, struct state *s)
{
	if (*line == '\0')
		return 0;		/* empty lines are ignored */
	if (*first) {
		*first = 0;
		return strcmp(line, "clamhook-state 1") == 0 ? 0 : -1;
	}
	return parse_line(line, s);
}

int
state_read(int fd, const char *path, struct state *s, struct why *w)
{
	char buf[STATE_CHUNK + 1], *line, *nl;
	size_t have = 0, ask;
	ssize_t n;
	int first = 1;

	_Static_assert(STATE_LINE_MAX < STATE_CHUNK, "a line fits a chunk");
	state_empty(s);
	s->size = 0;
	do {
		ask = STATE_CHUNK - have;
		if ((n = pread(fd, buf + have, ask, s->size)) < 0) {
			s->size = -1;
			return why_errno(w, errno, "state file %s", path);
		}
		s->size += n;
		have += (size_t)n;
		buf[have] = '\0';
		if (strlen(buf) != have)
			goto corrupt;	/* a NUL byte */
		for (line = buf; (nl = strchr(line, '\n')) != NULL;
		    line = nl + 1) {
			*nl = '\0';
			if (one_line(line, &first, s) < 0)
				goto corrupt;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have + 1);
		if (have == STATE_CHUNK)
			goto corrupt;	/* a line longer than any written */
		/*
		 * A read of a regular file (state_lock made sure) short of
		 * what it asked ends at the end of the file: no read of 0
		 * bytes to be told so.
		 */
	} while ((size_t)n == ask);
	if (one_line(buf, &first, s) == 0)	/* the last, unended */
		return 0;
corrupt:
	state_empty(s);
	s->size = -1;		/* not read to its end */
	return why_set(w, "state file %s: corrupt", path);
}

/* The writer's buffer: lines gathered, written a chunk at a time. */
struct put {
	int fd;
	off_t at;		/* where buf goes in the file */
	size_t o;		/* bytes in buf */
	int err;		/* errno of the first failed write, or 0 */
	char buf[STATE_CHUNK];
};

/* flush: what p holds to the file. */
static void
flush(struct put *p)
{
	ssize_t n;

	if (p->err == 0 && (n = pwrite(p->fd, p->buf, p->o, p->at)) !=
	    (ssize_t)p->o)
		p->err = n < 0 ? errno : EIO;
	p->at += (off_t)p->o;
	p->o = 0;
}

/*
 * put: one line (at most STATE_LINE_MAX bytes) to p; what is gathered is
 * written first when the line does not fit after it, so a file of a
 * chunk or less is one write.
 */
__attribute__((format(printf, 2, 3)))
static void
put(struct put *p, const char *fmt, ...)
{
	va_list ap, again;
	size_t n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = (size_t)fmt_v(p->buf + p->o, STATE_CHUNK - p->o, fmt, ap);
	if (n >= STATE_CHUNK - p->o) {
		flush(p);
		n = (size_t)fmt_v(p->buf, STATE_CHUNK, fmt, again);
	}
	p->o += n;
	va_end(again);
	va_end(ap);
}

int
state_write(int fd, const char *path, const struct state *s, struct why *w)
{
	struct put p = { .fd = fd };

	put(&p, "clamhook-state 1\nnext %" PRIu64 "\n", s->next);
	if (s->since != 0)
		put(&p, "counts %lld %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
		    PRIu64 " %" PRIu64 "\n", s->since, s->count[COUNT_CLEAN],
		    s->count[COUNT_INFECTED], s->count[COUNT_PARTIAL],
		    s->count[COUNT_SKIPPED], s->count[COUNT_FAILED]);
	for (int i = 0; i < s->n; i++) {
		const struct state_server *e = &s->server[i];

		/*
		 * A mark stays past its time, until the server answers:
		 * only then is it alive again.
		 */
		if (e->dead_until != 0)
			put(&p, "dead %lld %s\n", e->dead_until, e->name);
		if (e->ok_at != 0)
			put(&p, "ok %lld %s\n", e->ok_at, e->name);
		if (e->error_at != 0)
			put(&p, "error %lld %s\t%s\n", e->error_at, e->name,
			    e->error);
	}
	flush(&p);
	if (p.err == 0 && (s->size < 0 || p.at < s->size) &&
	    ftruncate(fd, p.at) < 0)
		p.err = errno;
	if (p.err != 0)
		return why_errno(w, p.err, "state file %s: cannot write",
		    path);
	return 0;
}

/* idle_since: the last time server e was heard of. */
static long long
idle_since(const struct state_server *e)
{
	long long t = e->ok_at > e->error_at ? e->ok_at : e->error_at;

	return e->dead_until > t ? e->dead_until : t;
}

struct state_server *
state_server(struct state *s, const char *name, int add)
{
	struct state_server *e;
	int i, oldest = 0;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->server[i].name, name) == 0)
			return &s->server[i];
		if (idle_since(&s->server[i]) <
		    idle_since(&s->server[oldest]))
			oldest = i;
	}
	if (!add || strlen(name) >= sizeof(e->name) || strchr(name, '\t') ||
	    strchr(name, '\n'))
		return NULL;
	e = &s->server[s->n < STATE_SERVERS_MAX ? s->n++ : oldest];
	e->dead_until = e->ok_at = e->error_at = 0;
	e->error[0] = '\0';
	strcpy(e->name, name);
	return e;
}

long long
state_dead_until(const struct state *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->server[i].name, name) == 0)
			return s->server[i].dead_until;
	return 0;
}

void
state_count(struct state *s, const uint64_t n[COUNT_N])
{
	if (s->since == 0)
		s->since = io_wall();
	for (int i = 0; i < COUNT_N; i++)
		s->count[i] += n[i];
}
