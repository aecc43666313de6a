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
 * Verdicts: SPEC §4.  What one scan came to, how it is rendered, and where
 * the record goes.
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
};

/*
 * verdict_sanitize: copy src[0..n) into dst (capacity OUTCOME_TEXT_MAX + 1)
 * keeping printable ASCII (0x20..0x7e) and turning every other byte into
 * '?', at most OUTCOME_TEXT_MAX bytes, NUL-terminated.
 */
void verdict_sanitize(char *dst, const char *src, size_t n);

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

/*
 * Where records go (§4.3).  Opened once per run, written once per message,
 * then committed (or aborted on failure).
 */
enum verdict_dest { DEST_FILE, DEST_FIFO, DEST_FD };

struct verdict_out {
	enum verdict_dest kind;
	int fd;
	char path[PATH_MAX];	/* final path (DEST_FILE, DEST_FIFO); for
				   DEST_FD the name used in messages */
	char tmp[PATH_MAX];	/* temporary file (DEST_FILE), "" when none */
	unsigned timeout_ms;	/* FIFO: how long to wait for a reader */
};

/*
 * verdict_open: prepare dest ("-", "fd:N", a FIFO path or a file path).
 * A file gets a new temporary file beside it (O_EXCL, never a link); a FIFO
 * is opened only when the first record is written.  Returns 0 or -1, w set.
 */
int verdict_open(struct verdict_out *v, const char *dest, unsigned timeout_ms,
    struct why *w);

/*
 * verdict_write: write one record.  A FIFO is opened for writing first,
 * waiting up to timeout_ms for a reader, and each record goes in one
 * write(); a descriptor that is not ready (a full pipe) is waited for up to
 * timeout_ms.  A record of length 0 writes nothing and opens nothing.
 * Returns 0 or -1, w set.
 */
int verdict_write(struct verdict_out *v, const char *rec, size_t len,
    struct why *w);

/*
 * verdict_commit: finish: a file's temporary is synced and renamed over the
 * path (rename(2) replaces a link at the path, never follows it).
 * Returns 0 or -1, w set (and the temporary removed).
 */
int verdict_commit(struct verdict_out *v, struct why *w);

/*
 * verdict_abort: the run failed: remove the temporary file, and remove a
 * verdict left at a file path by an earlier run (no stale clean verdict):
 * whatever is at the path unless it is a directory (a symlink is removed,
 * not followed).  v must have been through verdict_open, even a failed one.
 */
void verdict_abort(struct verdict_out *v);

/*
 * verdict_signal_cleanup: async-signal-safe: unlink the temporary file of
 * the current verdict_out, if any, and, until it is committed, what an
 * earlier run left at a file destination's path.
 */
void verdict_signal_cleanup(void);

#endif
