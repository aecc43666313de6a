/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_VERDICT_H
#define CLAMHOOK_VERDICT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "io.h"
#include "why.h"

/*
 * Verdicts: SPEC §4.  What one scan came to, and how it is rendered (the
 * record goes to a destination: dest.h).
 */
enum outcome_result {
	RESULT_CLEAN,
	RESULT_INFECTED,
	RESULT_PARTIAL,		/* clean as far as scanned: truncated */
	RESULT_SKIPPED,		/* on_oversize = accept: not scanned */
	RESULT_ERROR,
};

#define OUTCOME_TEXT_MAX 255	/* §4.2: names and errors, printable ASCII */

struct outcome {
	enum outcome_result result;
	char virus[OUTCOME_TEXT_MAX + 1];	/* sanitised; "" when none */
	char server[CONF_NAME_MAX + 64];	/* the one that answered */
	char error[OUTCOME_TEXT_MAX + 1];	/* sanitised; "" when none */
	uint64_t bytes;				/* message size */
	uint64_t sent;				/* bytes sent to clamd */
	int64_t ms;				/* elapsed */
	ms_t deadline;				/* its record's, too */
};

/*
 * verdict_sanitize: copy src[0..n) into dst (capacity OUTCOME_TEXT_MAX + 1)
 * keeping printable ASCII (0x20..0x7e) and turning every other byte into
 * '?', at most OUTCOME_TEXT_MAX bytes, NUL-terminated.
 */
void verdict_sanitize(char *dst, const char *src, size_t n);

/* verdict_outcome: o emptied, its result an error with no reason yet. */
void verdict_outcome(struct outcome *o);

/* verdict_add_error: append what to o->error, "; "-separated, sanitised. */
void verdict_add_error(struct outcome *o, const char *what);

/*
 * verdict_status: the exit status of an outcome under c (§3): 0, 1 or 75,
 * with on_error = accept turning an error into 0.
 */
int verdict_status(const struct conf *c, const struct outcome *o);

/*
 * verdict_render: the record for o in c's mode and format, into buf.
 * file is NULL for a single message, else the file name to prefix (§5.4:
 * "NAME\t" before each line, or a CLAMHOOK_FILE= line for shell; the name
 * is sanitised).  For a failed scan, line/james/milter render nothing
 * (length 0).  Returns the length, or -1 when cap is too small (a cap of
 * VERDICT_RECORD_MAX always suffices).  buf is NUL-terminated too, so cap
 * must exceed the length.  A shell record quotes each ' as 4 bytes: with
 * every text field at its maximum and made of quotes it takes about 6.6 KiB.
 */
#define VERDICT_RECORD_MAX 8192
int verdict_render(const struct conf *c, const struct outcome *o,
    const char *file, char *buf, size_t cap);

#endif
