/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"

/*
 * wait_writer: a FIFO opened without waiting (O_NONBLOCK) has no writer
 * yet, or had one: Linux reports nothing until one has come, then POLLIN,
 * or POLLHUP once it is gone.  Wait for that until the deadline: a read
 * before it would take the missing writer for an empty message.
 */
static int
wait_writer(struct input *in, ms_t deadline, struct why *w)
{
	int r = io_wait(in->fd, POLLIN, deadline);

	if (r > 0)
		return 0;
	if (r == 0)
		why_set(w, "%s: a FIFO with no writer until the deadline",
		    in->name);
	else
		why_errno(w, errno, "%s", in->name);
	return why_as(w, WHY_INPUT);
}

int
input_open(struct input *in, const char *path, uint64_t limit,
    ms_t deadline, struct why *w)
{
	struct stat st;
	int fl;

	memset(in, 0, sizeof(*in));
	in->limit = limit;
	if (path == NULL || strcmp(path, "-") == 0) {
		in->fd = 0;
		in->name = "stdin";
		/*
		 * A descriptor clamhook cannot read is never handed on: with
		 * FILDES, clamd could not read it either, and would answer
		 * OK for nothing.
		 */
		if ((fl = fcntl(0, F_GETFL)) < 0)
			return why_errno(w, errno, "stdin");
		if ((fl & O_ACCMODE) == O_WRONLY)
			return why_set(w, "stdin: not open for reading");
	} else {
		in->name = path;
		/* Not blocking: a FIFO without a writer is waited for below. */
		in->fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (in->fd < 0)
			return why_errno(w, errno, "%s", path);
		in->owned = 1;
	}
	if (fstat(in->fd, &st) < 0) {
		int e = errno;

		input_close(in);
		return why_errno(w, e, "%s", in->name);
	}
	if (S_ISDIR(st.st_mode)) {
		input_close(in);
		return why_set(w, "%s: is a directory", in->name);
	}
	if (in->owned && S_ISFIFO(st.st_mode) &&
	    wait_writer(in, deadline, w) < 0) {
		input_close(in);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		in->is_regular = 1;
		in->size = (uint64_t)st.st_size;
		/* stdin redirected from a file may not be at its start. */
		if (!in->owned) {
			off_t pos = lseek(in->fd, 0, SEEK_CUR);

			if (pos > 0 && (uint64_t)pos <= in->size)
				in->size -= (uint64_t)pos;
			in->start = pos > 0 ? pos : 0;
		}
	}
	return 0;
}

int
input_over(const struct input *in)
{
	if (in->limit == 0)
		return 0;
	if (in->is_regular && in->size > in->limit)
		return 1;
	return in->total > in->limit;
}

/* rd: one read, waiting for a pipe or socket to be readable. */
static ssize_t
rd(struct input *in, void *buf, size_t len, ms_t deadline, struct why *w)
{
	ssize_t n;

	if (in->is_regular) {
		do
			n = read(in->fd, buf, len);
		while (n < 0 && errno == EINTR);
	} else {
		n = io_read(in->fd, buf, len, deadline);
	}
	if (n < 0) {
		if (errno == ETIMEDOUT)
			why_set(w, "%s: timed out waiting for the message",
			    in->name);
		else
			why_errno(w, errno, "%s: read error", in->name);
		return why_as(w, WHY_INPUT);
	}
	if (n == 0)
		in->eof = 1;
	return n;
}

/*
 * Bytes read only to be dropped (past max_size, or draining): a buffer
 * of its own, outside the ring, touched only when something is dropped.
 * On the stack it would put every call below it 16 KiB further down.
 */
static unsigned char drop[16384];

long
input_fill(struct input *in, struct ring *r, ms_t deadline, struct why *w)
{
	unsigned char *p;
	size_t len;
	ssize_t n;

	if (in->eof)
		return 0;
	if (in->limit != 0 && in->total >= in->limit) {
		/* Past the limit: count, store nothing. */
		if (in->is_regular) {
			in->total = in->size;
			in->eof = 1;
			return 0;
		}
		n = rd(in, drop, sizeof(drop), deadline, w);
		if (n < 0)
			return -1;
		in->total += (uint64_t)n;
		return 0;
	}
	p = ring_space(r, &len);
	if (len == 0)
		return 0;
	if (in->limit != 0 && len > in->limit - in->total)
		len = (size_t)(in->limit - in->total);
	n = rd(in, p, len, deadline, w);
	if (n < 0)
		return -1;
	ring_commit(r, (size_t)n);
	in->total += (uint64_t)n;
	return n;
}

int
input_drain(struct input *in, ms_t deadline, struct why *w)
{
	ssize_t n;

	if (in->is_regular)
		return 0;	/* nobody waits on the other end of a file */
	while (!in->eof) {
		n = rd(in, drop, sizeof(drop), deadline, w);
		if (n < 0)
			return -1;
		in->total += (uint64_t)n;
	}
	return 0;
}

int
input_rewind(struct input *in, struct ring *r, struct why *w)
{
	if (in->is_regular) {
		if (lseek(in->fd, in->start, SEEK_SET) < 0) {
			why_errno(w, errno, "%s: cannot seek", in->name);
			return why_as(w, WHY_INPUT);
		}
		ring_reset(r);
		in->total = 0;
		in->eof = 0;
		return 0;
	}
	if (ring_rewind(r) < 0) {
		why_set(w, "the piped message is longer than the ring "
		    "buffer (%zu bytes) and cannot be sent again", r->cap);
		return why_as(w, WHY_INPUT);
	}
	return 0;
}

void
input_memory(struct input *in, const char *name, struct ring *r,
    const void *p, size_t n)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->eof = 1;
	in->name = name;
	ring_reset(r);
	in->total = ring_put(r, p, n);
}

void
input_close(struct input *in)
{
	if (in->owned && in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	in->owned = 0;
}
