/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_LEGACY_H
#define CLAMHOOK_LEGACY_H

#include <stdint.h>

#include "input.h"
#include "io.h"
#include "clamd.h"
#include "dial.h"
#include "reply.h"
#include "ring.h"
#include "why.h"

/*
 * legacy_stream: the STREAM exchange of clamd 0.103 and older, on fd,
 * already connected to a:
 *
 *	-> "zSTREAM\0"
 *	<- "PORT n\0"			(n in 1..65535, else refused)
 *	   second connection to the same address, port n (dialled as fd
 *	   was: through the proxy when one is set), the message bytes as
 *	   they are, close
 *	<- "stream: OK\0" | "stream: NAME FOUND\0" | "... ERROR\0"
 *
 * The message is read through the ring like INSTREAM, truncated at the
 * input's limit, or stopped there when m->stop_over is set.  A modern
 * clamd answers STREAM with "UNKNOWN COMMAND": that reply is returned in
 * *rep for the caller to judge.  *sent counts the message bytes sent.
 * Returns CLAMD_REPLY or CLAMD_OVERSIZE, or -1 with w set.
 */
int legacy_stream(const struct dial *d, const struct net_addr *a, int fd,
    const struct clamd_msg *m, struct reply *rep, uint64_t *sent,
    struct why *w);

#endif
