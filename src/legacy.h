/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_LEGACY_H
#define CLAMHOOK_LEGACY_H

#include <stdint.h>

#include "input.h"
#include "io.h"
#include "pool.h"
#include "reply.h"
#include "ring.h"
#include "why.h"

/*
 * legacy_stream_send: the STREAM exchange of clamd 0.103 and older, on fd,
 * already connected to server i of the pool:
 *
 *	-> "zSTREAM\0"
 *	<- "PORT n\0"			(n in 1..65535, else refused)
 *	   second connection to the same address, port n (through the
 *	   proxy when one is set), the message bytes as they are, close
 *	<- "stream: OK\0" | "stream: NAME FOUND\0" | "... ERROR\0"
 *
 * The message is read through the ring like INSTREAM, truncated at the
 * input's limit, or stopped there when stop_over is set.  A modern clamd
 * answers STREAM with "UNKNOWN COMMAND": that reply is returned in *rep as
 * CLAMD_SENT_EARLY_REPLY for the caller to report.  *sent counts the
 * message bytes sent.  Returns an enum clamd_sent, or -1 with w set.
 */
int legacy_stream_send(struct pool *p, int i, int fd, struct input *in,
    struct ring *r, int stop_over, ms_t deadline, struct reply *rep,
    uint64_t *sent, struct why *w);

#endif
