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

#define STATE_MAX 8192

int
state_lock(const char *path, ms_t deadline, struct why *w)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	struct stat st;

	if (fd < 0)
		return why_errno(w, errno, "state file %s", path);
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

/* parse_line: one line after the first into s.  Returns 0 or -1. */
static int
parse_line(char *line, struct state *s)
{
	char *end;

	if (strncmp(line, "next ", 5) == 0 &&
	    isdigit((unsigned char)line[5])) {
		errno = 0;
		s->next = strtoull(line + 5, &end, 10);
		return errno == 0 && *end == '\0' ? 0 : -1;
	}
	if (strncmp(line, "dead ", 5) == 0 &&
	    isdigit((unsigned char)line[5]) && s->ndead < STATE_DEAD_MAX) {
		long long u;

		errno = 0;
		u = strtoll(line + 5, &end, 10);
		if (errno == 0 && *end == ' ' && end[1] != '\0' &&
		    strlen(end + 1) < sizeof(s->dead[0].name)) {
			s->dead[s->ndead].until = u;
			strcpy(s->dead[s->ndead++].name, end + 1);
			return 0;
		}
	}
	return -1;
}

int
state_read(int fd, const char *path, struct state *s, struct why *w)
{
	char buf[STATE_MAX + 1], *line, *next;
	ssize_t n;
	int first = 1;

	memset(s, 0, sizeof(*s));
	if ((n = pread(fd, buf, STATE_MAX, 0)) < 0)
		return why_errno(w, errno, "state file %s", path);
	buf[n] = '\0';
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
	memset(s, 0, sizeof(*s));
	return why_set(w, "state file %s: corrupt", path);
}

int
state_write(int fd, const char *path, const struct state *s, struct why *w)
{
	char buf[STATE_MAX];
	size_t o = 0;
	long long now = io_wall();

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
		return why_errno(w, errno, "state file %s: cannot write",
		    path);
	return 0;
}

static int
dead_index(const struct state *s, const char *name)
{
	for (int i = 0; i < s->ndead; i++)
		if (strcmp(s->dead[i].name, name) == 0)
			return i;
	return -1;
}

long long
state_dead_until(const struct state *s, const char *name)
{
	int d = dead_index(s, name);

	return d >= 0 ? s->dead[d].until : 0;
}

void
state_mark(struct state *s, const char *name, long long until)
{
	int d = dead_index(s, name);

	if (until == 0) {
		if (d >= 0)
			s->dead[d] = s->dead[--s->ndead];
		return;
	}
	if (d < 0 && s->ndead < STATE_DEAD_MAX)
		d = s->ndead++;
	if (d >= 0 && strlen(name) < sizeof(s->dead[d].name)) {
		s->dead[d].until = until;
		strcpy(s->dead[d].name, name);
	}
}
