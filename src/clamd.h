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
 * -1 with w set (closed before a terminator, overlong, deadline; bytes
 * after the terminator in the same read: WHY_PROTOCOL).
 */
int clamd_read_reply(int fd, struct reply *r, ms_t deadline, struct why *w);

/*
 * clamd_read_close: outside a session clamd closes the connection right
 * after its reply; read on until it does (at most CLAMD_CLOSE_GRACE_MS, and
 * the deadline).  Returns 0 when nothing came before the close (or within
 * the grace), -1 with w set (WHY_PROTOCOL) when bytes did: a second reply
 * is never taken as part of the first.
 */
#define CLAMD_CLOSE_GRACE_MS 1000
int clamd_read_close(int fd, ms_t deadline, struct why *w);

/* A message to send: where it comes from and how. */
struct clamd_msg {
	struct input *in;
	struct ring *r;		/* every byte passes through it */
	unsigned chunk;		/* bytes per INSTREAM chunk, or per write */
	int stop_over;		/* stop at the input's limit, not truncate */
	ms_t deadline;
};

/* How sending a message ended, when it did not fail. */
enum clamd_end {
	CLAMD_REPLY,	/* *rep holds clamd's reply (maybe an early error) */
	CLAMD_OVERSIZE,	/* the input crossed its limit and stop_over is set */
	CLAMD_SENT,	/* clamd_send only: all sent, the reply still to read */
};

/*
 * clamd_instream: "zINSTREAM\0", then the message through the ring as
 * chunks
 *
 *	+--------+--------+--------+--------+=================+
 *	|   length, 4 bytes, big-endian     |  length bytes   |   ...
 *	+--------+--------+--------+--------+=================+
 *
 * of at most m->chunk bytes, then a zero-length chunk, then the reply.
 * The socket is watched for a reply while sending (clamd answers early and
 * closes on its size limit); an early reply is read into *rep instead of
 * failing on EPIPE, and only an error can come early.  Bytes past the
 * input's limit are not sent (truncation), unless m->stop_over is set, in
 * which case sending stops there.  A read error on the input sends no end
 * chunk: a truncated message is never scanned as if whole.  *sent counts
 * the message bytes sent.  Returns CLAMD_REPLY or CLAMD_OVERSIZE, or -1
 * with w set (class WHY_INPUT when the input failed).
 */
int clamd_instream(int fd, const struct clamd_msg *m, struct reply *rep,
    uint64_t *sent, struct why *w);

/*
 * clamd_send: the sending loop under clamd_instream and the legacy STREAM
 * (legacy.c).  The message goes to dfd, as INSTREAM chunks ending with the
 * zero-length one when framed is set, else raw, with no end marker (the
 * caller ends the message by closing dfd).  cfd, the connection clamd
 * answers on (dfd itself for INSTREAM), is watched for an early reply,
 * read into *rep.  Returns CLAMD_SENT once the last byte is written,
 * CLAMD_REPLY for an early reply, CLAMD_OVERSIZE, or -1 with w set.
 */
int clamd_send(int cfd, int dfd, int framed, const struct clamd_msg *m,
    struct reply *rep, uint64_t *sent, struct why *w);

/*
 * clamd_fildes: "zFILDES\0" with file_fd passed by SCM_RIGHTS on one data
 * byte (the file must be open for reading), then the reply into *rep.
 * Returns CLAMD_REPLY or -1 with w set.
 */
int clamd_fildes(int fd, int file_fd, ms_t deadline, struct reply *rep,
    struct why *w);

#endif
