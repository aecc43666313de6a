/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_INPUT_H
#define CLAMHOOK_INPUT_H

#include <stdint.h>

#include "io.h"
#include "ring.h"
#include "why.h"

/*
 * The message being scanned: standard input or a FILE argument.  Bytes go
 * into the ring up to a limit (max_size); past it they are read and dropped,
 * so the process feeding clamhook never sees a broken pipe.
 */
struct input {
	int fd;
	int is_regular;		/* a regular file: size known, seekable */
	int owned;		/* opened here: close it */
	uint64_t size;		/* fstat size for a regular file, else 0 */
	uint64_t total;		/* bytes read so far */
	uint64_t limit;		/* bytes to store at most; 0 = no limit */
	int eof;
	long long start;	/* where a regular stdin began */
	const char *name;	/* for messages: the path, or "stdin" */
};

/*
 * input_open: open path read-only (or use standard input when path is NULL
 * or "-"); a directory, and a standard input open for writing only, are
 * refused; a FIFO is waited for until a writer has come, at most until the
 * deadline.  limit is [message] max_size.  Returns 0 or -1 with w
 * ("msg.eml: No such file or directory").
 */
int input_open(struct input *in, const char *path, uint64_t limit,
    ms_t deadline, struct why *w);

/*
 * input_fill: one read into the ring's free space, waiting at most until
 * the deadline.  Bytes past the limit are counted and dropped.  Returns the
 * bytes stored (>= 0; 0 with in->eof set at the end, 0 when the ring is
 * full), or -1 on a read error or deadline (w set, class WHY_INPUT).
 */
long input_fill(struct input *in, struct ring *r, ms_t deadline,
    struct why *w);

/*
 * input_over: the input has more bytes than the limit (known for a regular
 * file before reading, for a pipe once crossed).
 */
int input_over(const struct input *in);

/*
 * input_drain: read and drop the rest until end of file or the deadline
 * (a regular file is left as it is: nobody waits on its other end).
 * Returns 0, or -1 (w set) on an error or deadline.
 */
int input_drain(struct input *in, ms_t deadline, struct why *w);

/*
 * input_rewind: start again from the first byte: for a regular file by
 * seeking, else by rewinding the ring (possible while the ring still holds
 * the start).  Returns 0 or -1 (w: why it cannot be resent).
 */
int input_rewind(struct input *in, struct ring *r, struct why *w);

/*
 * input_memory: an input whose bytes are n bytes at p, put in the ring
 * now (at most the ring's capacity): the self-test's message.
 */
void input_memory(struct input *in, const char *name, struct ring *r,
    const void *p, size_t n);

/* input_close: close what input_open opened. */
void input_close(struct input *in);

#endif
