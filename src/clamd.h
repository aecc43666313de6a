/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_CLAMD_H
#define CLAMHOOK_CLAMD_H

#include <stdint.h>

#include "input.h"
#include "io.h"
#include "reply.h"
#include "ring.h"
#include "why.h"

/*
 * The clamd protocol (clamd(8)), over a connected socket.  Every call is
 * bounded by the deadline; none prints.
 */

/*
 * clamd_command: send "z" cmd "\0" (PING, VERSION, ...) and read one reply
 * into r.  Returns 0 or -1 with w set.
 */
int clamd_command(int fd, const char *cmd, struct reply *r, ms_t deadline,
    struct why *w);

/*
 * clamd_read_reply: read until r holds one complete reply.  Returns 0, or
 * -1 with w set (closed before a terminator, overlong, deadline).
 */
int clamd_read_reply(int fd, struct reply *r, ms_t deadline, struct why *w);

/* What clamd_instream_send stopped on. */
enum clamd_sent {
	CLAMD_SENT_ALL,		/* every chunk and the zero-length end */
	CLAMD_SENT_EARLY_REPLY,	/* clamd answered while we sent: in *early */
	CLAMD_SENT_OVERSIZE,	/* the input crossed its limit, stop_over set */
};

/*
 * clamd_instream_send: after "zINSTREAM\0" has been sent, stream the input
 * through the ring as chunks
 *
 *	+--------+--------+--------+--------+=================+
 *	|   length, 4 bytes, big-endian     |  length bytes   |   ...
 *	+--------+--------+--------+--------+=================+
 *
 * of at most chunk bytes, then a zero-length chunk.  The socket is watched
 * for a reply while sending (clamd answers early and closes on its size
 * limit); an early reply is read into *early instead of failing on EPIPE.
 * Bytes past the input's limit are not sent (truncation), unless stop_over
 * is set, in which case sending stops there.  A read error on the input
 * sends no end chunk: a truncated message is never scanned as if whole.
 * *sent counts the message bytes sent.  Returns an enum clamd_sent, or -1
 * with w set.
 */
int clamd_instream_send(int fd, struct input *in, struct ring *r,
    unsigned chunk, int stop_over, ms_t deadline, struct reply *early,
    uint64_t *sent, struct why *w);

/*
 * clamd_send: the sending loop under clamd_instream_send and the legacy
 * STREAM (legacy.c).  The input goes through the ring to dfd, as INSTREAM
 * chunks ending with the zero-length one when framed is set, else raw,
 * with no end marker (the caller ends the message by closing dfd).  cfd,
 * the connection clamd answers on (dfd itself for INSTREAM), is watched
 * for an early reply, read into *early.  Limits, stop_over, *sent and the
 * return value as for clamd_instream_send; a raw send returns
 * CLAMD_SENT_ALL once the last byte is written, and chunk only bounds one
 * write.
 */
int clamd_send(int cfd, int dfd, int framed, struct input *in,
    struct ring *r, unsigned chunk, int stop_over, ms_t deadline,
    struct reply *early, uint64_t *sent, struct why *w);

/*
 * clamd_fildes_send: send "zFILDES\0" and pass file_fd with SCM_RIGHTS on
 * one data byte (the file must be open read-only).  Returns 0 or -1.
 */
int clamd_fildes_send(int fd, int file_fd, ms_t deadline, struct why *w);

#endif
