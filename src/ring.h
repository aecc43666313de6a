/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_RING_H
#define CLAMHOOK_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * The one ring buffer every message byte passes through, over storage the
 * caller owns (allocated once at start-up from [message] buffer_size).
 *
 * Positions are offsets in the message stream (64-bit: a 4 GiB message does
 * not wrap them).  Three of them describe the ring:
 *
 *      keep              rd                    wr
 *       |  sent, held    |  stored, unsent     |   free ...
 *
 * Sent bytes are only given up when room is needed, so while keep is 0 the
 * whole message from its first byte is still held and can be sent again to
 * another server (ring_rewind).  A full ring is a normal state: the calls
 * return how much they took.
 */
struct ring {
	unsigned char *buf;
	size_t cap;
	uint64_t keep;	/* oldest byte still held */
	uint64_t rd;	/* next byte to send */
	uint64_t wr;	/* next byte to store */
};

/* ring_init: use buf[0..cap) as storage (cap > 0) and empty the ring. */
void ring_init(struct ring *r, unsigned char *buf, size_t cap);

/* ring_reset: empty the ring; the next byte stored is offset 0. */
void ring_reset(struct ring *r);

/*
 * ring_space: the contiguous free space where the next bytes can be stored
 * (for a read() straight into the ring).  Sent bytes are reclaimed only when
 * there is no free space otherwise.  Sets *len to its size, 0 when the ring
 * is full of unsent bytes.
 */
unsigned char *ring_space(struct ring *r, size_t *len);

/* ring_commit: n bytes (n <= the last ring_space length) were stored. */
void ring_commit(struct ring *r, size_t n);

/* ring_put: copy up to n bytes in; returns how many were taken. */
size_t ring_put(struct ring *r, const void *p, size_t n);

/*
 * ring_peek: the next unsent bytes, at most max of them, as one or two
 * spans (two when they wrap).  Fills iov[0..1] (unused ones get length 0)
 * and returns the total.
 */
size_t ring_peek(const struct ring *r, struct iovec iov[2], size_t max);

/* ring_consume: n bytes (n <= ring_unsent) were sent. */
void ring_consume(struct ring *r, size_t n);

/* ring_unsent: stored bytes not yet sent. */
size_t ring_unsent(const struct ring *r);

/*
 * ring_rewind: make every byte since offset 0 unsent again.  Returns 0, or
 * -1 when the first bytes have been overwritten (the message was longer
 * than the ring).
 */
int ring_rewind(struct ring *r);

#endif
