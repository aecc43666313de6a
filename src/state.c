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
#include <unistd.h>

#include "fmt.h"
#include "io.h"
#include "state.h"

/* The largest file: every server with all three lines at their longest. */
#define STATE_MAX 65536

/*
 * The file's text, read and then written under one lock: one buffer, so a
 * run touches one page of it for a small file; and the length read, so a
 * write no shorter needs no ftruncate.
 */
static char text[STATE_MAX + 1];
static size_t text_len;

int
state_lock(const char *path, int readonly, ms_t deadline, struct why *w)
{
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR | O_CREAT) |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	struct stat st;

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
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    io_now() >= deadline) {
			int err = errno;

			close(fd);
			if (err == EWOULDBLOCK)
				return why_set(w, "state file %s: cannot lock: "
				    "busy", path);
			return why_errno(w, err, "state file %s: cannot lock",
			    path);
		}
		poll(NULL, 0, 5);
	}
	return fd;
}

void
state_unlock(int fd)
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

int
state_read(int fd, const char *path, struct state *s, struct why *w)
{
	char *buf = text, *line, *next;
	ssize_t n;
	int first = 1;

	s->next = 0;
	s->since = 0;
	memset(s->count, 0, sizeof(s->count));
	s->n = 0;
	text_len = 0;
	if ((n = pread(fd, buf, STATE_MAX, 0)) < 0)
		return why_errno(w, errno, "state file %s", path);
	buf[n] = '\0';
	text_len = (size_t)n;
	if (strlen(buf) != (size_t)n)
		goto corrupt;
	for (line = buf; *line != '\0'; line = next) {
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
		if (parse_line(line, s) < 0)
			goto corrupt;
	}
	return 0;
corrupt:
	s->next = 0;
	s->since = 0;
	memset(s->count, 0, sizeof(s->count));
	s->n = 0;
	return why_set(w, "state file %s: corrupt", path);
}

int
state_write(int fd, const char *path, const struct state *s, struct why *w)
{
	char *buf = text;
	size_t o = 0;

	o += (size_t)fmt_s(buf, STATE_MAX, "clamhook-state 1\nnext %"
	    PRIu64 "\n", s->next);
	if (s->since != 0)
		o += (size_t)fmt_s(buf + o, STATE_MAX - o, "counts %lld %"
		    PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		    "\n", s->since, s->count[COUNT_CLEAN],
		    s->count[COUNT_INFECTED], s->count[COUNT_PARTIAL],
		    s->count[COUNT_SKIPPED], s->count[COUNT_FAILED]);
	for (int i = 0; i < s->n; i++) {
		const struct state_server *e = &s->server[i];

		/*
		 * Each line fits: names and errors are bounded.  A mark
		 * stays past its time, until the server answers: only then
		 * is it alive again.
		 */
		if (e->dead_until != 0)
			o += (size_t)fmt_s(buf + o, STATE_MAX - o,
			    "dead %lld %s\n", e->dead_until, e->name);
		if (e->ok_at != 0)
			o += (size_t)fmt_s(buf + o, STATE_MAX - o,
			    "ok %lld %s\n", e->ok_at, e->name);
		if (e->error_at != 0)
			o += (size_t)fmt_s(buf + o, STATE_MAX - o,
			    "error %lld %s\t%s\n", e->error_at, e->name,
			    e->error);
	}
	if (pwrite(fd, buf, o, 0) != (ssize_t)o ||
	    (o < text_len && ftruncate(fd, (off_t)o) < 0))
		return why_errno(w, errno, "state file %s: cannot write",
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
