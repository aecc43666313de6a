/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_FMT_H
#define CLAMHOOK_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formatting and buffered output, in place of stdio's printf family, which
 * with its floating point and wide characters is a tenth of the static
 * binary.  Formats are printf's, for the subset clamhook uses:
 *
 *	%[-0][WIDTH][.PREC|.*][l|ll|z]{d,u,x,X}	integers
 *	%[-][WIDTH][.PREC|.*]s			at most PREC bytes of a string
 *	%[-][WIDTH]c  %%
 *
 * '-' pads on the right, '0' with zeros (integers without a precision); an
 * integer's precision is its least number of digits, a negative one (.*)
 * counts as none.  Anything else (another conversion, a NULL string) is
 * undefined.  gcc checks every call against printf's rules.
 */

/*
 * fmt_v: vsnprintf.  Writes at most cap bytes into buf, the last a NUL
 * (none when cap is 0).  Returns the length of the whole result, whether
 * or not it fit: a return >= cap means buf holds a truncated one.
 */
int fmt_v(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* fmt_s: snprintf, fmt_v with the arguments in line. */
int fmt_s(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Output to a descriptor through a buffer of OUT_SIZE bytes: what fits is
 * written in one write() at out_flush, more as it fills.  Writes are
 * retried after EINTR and short counts.  After a failed write, err holds
 * its errno and everything after is dropped.  Initialise with OUT_INIT.
 */
#define OUT_SIZE 4096

struct out {
	int fd;
	int err;		/* errno of the first failed write, or 0 */
	size_t len;
	char buf[OUT_SIZE];
};

#define OUT_INIT(d) { .fd = (d) }

/* out_write: n bytes at p. */
void out_write(struct out *o, const void *p, size_t n);

/* out_printf: a formatted text. */
void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* out_flush: write what is buffered.  Returns 0, or -1 when o->err is set. */
int out_flush(struct out *o);

#endif
