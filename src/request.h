/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_REQUEST_H
#define CLAMHOOK_REQUEST_H

#include "conf.h"
#include "input.h"
#include "io.h"
#include "pool.h"
#include "ring.h"
#include "verdict.h"
#include "why.h"

/*
 * One scan request on an open connection, down to an outcome: the protocol
 * chosen for this server and input (FILDES, STREAM or INSTREAM), the
 * message sent, clamd's reply read and judged.  Written once, for a single
 * message and for each file of an IDSESSION batch alike.  Adding a
 * protocol means a case in request_run, a name in the config table, and
 * the protocol's own file.
 */

/* How a request ended. */
enum request_end {
	REQUEST_FINAL,	/* o holds clamd's verdict: OK or FOUND */
	REQUEST_NEXT,	/* no verdict; w says why: try the next server */
	REQUEST_STOP,	/* o is final (oversize policy), or the input failed
			   (w, class WHY_INPUT): no server can do better */
};

/*
 * request_fildes: whether the input goes to server i with FILDES: protocol
 * fildes, a Unix-socket server, no proxy, a regular file within max_size
 * read from its start (clamd scans a passed file from offset 0, so a
 * standard input that begins further on goes with INSTREAM).
 */
int request_fildes(const struct pool *p, int i, const struct input *in);

/*
 * request_oversize: apply on_oversize (accept, reject, tempfail; not
 * truncate) to o for an input beyond max_size.
 */
void request_oversize(const struct conf *c, const struct input *in,
    struct outcome *o);

/*
 * request_run: scan the input on fd, a connection to server i; id is the
 * IDSESSION request number (0 outside a session), which the reply must
 * carry.  The input must be at its start (request_fildes, else
 * input_rewind).  Sets o->sent, and o->result and o->virus when final.
 * w names the server and the reason, with its class: WHY_CLAMD when clamd
 * answered with an error (the server is alive), WHY_SERVER or
 * WHY_PROTOCOL when it should be marked dead, WHY_INPUT.
 */
enum request_end request_run(struct pool *p, int i, int fd,
    unsigned long id, struct input *in, struct ring *r, ms_t deadline,
    struct outcome *o, struct why *w);

#endif
