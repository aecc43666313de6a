/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "ring.h"

/*
 * Invariants: keep <= rd <= wr and wr - keep <= cap.  Offset o lives in
 * buf[o % cap].  A full ring (wr - keep == cap) with sent bytes in it
 * (keep < rd) is emptied of all of them at once when room is asked for:
 * once the first byte is gone, a rewind is impossible anyway, so holding
 * the rest buys nothing.
 *
 *	buf:  0                 wr%cap     keep%cap      rd%cap        cap
 *	      |  unsent         |  free    |  sent, held |  unsent     |
 */

/*
 * A 64-bit division per call is cheap on amd64 but a library call on 32-bit
 * targets; a power-of-two capacity (the usual buffer_size) needs only a mask.
 */
static inline size_t
ring_idx(const struct ring *r, uint64_t off)
{
	if ((r->cap & (r->cap - 1)) == 0)
		return (size_t)(off & (uint64_t)(r->cap - 1));
	return (size_t)(off % r->cap);
}

void
ring_init(struct ring *r, unsigned char *buf, size_t cap)
{
	r->buf = buf;
	r->cap = cap;
	ring_reset(r);
}

void
ring_reset(struct ring *r)
{
	r->keep = 0;
	r->rd = 0;
	r->wr = 0;
}

unsigned char *
ring_space(struct ring *r, size_t *len)
{
	size_t avail, i, run;

	avail = r->cap - (size_t)(r->wr - r->keep);
	if (avail == 0) {
		r->keep = r->rd;
		avail = r->cap - (size_t)(r->wr - r->keep);
	}
	i = ring_idx(r, r->wr);
	run = r->cap - i;
	*len = avail < run ? avail : run;
	return r->buf + i;
}

void
ring_commit(struct ring *r, size_t n)
{
	r->wr += n;
}

size_t
ring_put(struct ring *r, const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned char *d;
	size_t len, done = 0;

	while (done < n) {
		d = ring_space(r, &len);
		if (len == 0)
			break;
		if (len > n - done)
			len = n - done;
		memcpy(d, s + done, len);
		r->wr += len;
		done += len;
	}
	return done;
}

size_t
ring_peek(const struct ring *r, struct iovec iov[2], size_t max)
{
	size_t n, i, first;

	n = (size_t)(r->wr - r->rd);
	if (n > max)
		n = max;
	i = ring_idx(r, r->rd);
	first = r->cap - i;
	if (first > n)
		first = n;
	iov[0].iov_base = r->buf + i;
	iov[0].iov_len = first;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = n - first;
	return n;
}

void
ring_consume(struct ring *r, size_t n)
{
	r->rd += n;
}

size_t
ring_unsent(const struct ring *r)
{
	return (size_t)(r->wr - r->rd);
}

int
ring_rewind(struct ring *r)
{
	if (r->keep != 0)
		return -1;
	r->rd = 0;
	return 0;
}
