/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_SCAN_H
#define CLAMHOOK_SCAN_H

#include <stdint.h>

#include "io.h"
#include "pool.h"
#include "ring.h"
#include "verdict.h"
#include "why.h"

/*
 * One message across the servers (SPEC §5.2), for a single message and
 * for each file of a batch alike.
 *
 * A link is how requests reach the server at a position of p->order,
 * chosen once, as nc picks its dial function: a connection per request
 * (scan_direct), or an IDSESSION kept open from file to file (batch.c).
 */
enum link_end {
	LINK_KEEP,	/* a verdict came: the connection may serve again */
	LINK_END,	/* clamd answered with an error: end it politely */
	LINK_ABORT,	/* broken, or left mid-request: drop it */
};

struct link {
	/* connect (or reuse) for a request on p->order[pos]: fd or -1, w */
	int (*open)(struct link *l, struct pool *p, int pos, ms_t deadline,
	    struct why *w);
	/* after the request */
	void (*done)(struct link *l, struct pool *p, enum link_end how);
	int fd;			/* -1: none open */
	int pos;		/* the server last used, a position in order */
	unsigned long id;	/* IDSESSION request number, 0 outside one */
	uint64_t broken;	/* servers (bit i: p->addr[i]) that failed */
};

/* scan_direct: a link that opens a new connection for each request. */
void scan_direct(struct link *l);

/*
 * scan_file: open path (NULL or "-": standard input) and scan it: the
 * oversize policy, then each server in turn from the link's last one
 * (those that failed earlier in the run last) until one gives a final
 * answer (OK or FOUND) or the deadline (timeout_ms from start, which for
 * a single message is when clamhook started: SPEC §5.2) passes; each
 * try gets the time left shared by the servers still to try.  A failure
 * mid-stream resends from the start when the ring or the file allows.
 * Fills o; never prints.  The input is drained to its end in every case.
 */
void scan_file(struct pool *p, struct link *l, const char *path, ms_t start,
    struct ring *r, struct outcome *o);

#endif
