/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_DEST_H
#define CLAMHOOK_DEST_H

#include <limits.h>

#include "io.h"
#include "why.h"

/*
 * Where records go (§4.3).  Opened once per run, written once per message,
 * then committed (or aborted on failure).
 */
enum dest_kind {
	DEST_FILE,	/* a regular file (or nothing yet): replaced whole */
	DEST_FIFO,	/* a FIFO or a character device, or a link to one:
			   written through, never replaced or removed */
	DEST_FD,	/* "fd:N" or "-" */
};

struct dest {
	enum dest_kind kind;
	int fd;
	const char *path;	/* final path (DEST_FILE, DEST_FIFO), the
				   caller's, which must outlive v; for DEST_FD
				   the name used in messages */
	unsigned timeout_ms;	/* for messages: the wait allowed */
	ms_t deadline;		/* every wait ends by it: dest_open sets it
				   timeout_ms ahead; a caller may move it
				   to each record's own */
	int follow;		/* DEST_FIFO reached through a link */
	char tmp[PATH_MAX];	/* temporary file (DEST_FILE), "" when none */
};

/*
 * dest_open: prepare dest ("-", "fd:N", a FIFO or device path or a file
 * path), a string that outlives v.  A file gets a new temporary file
 * beside it (O_EXCL, never a link), created with the termination signals
 * held, so that a signal finds it named for removal; a FIFO or a device is
 * opened only when the first record is written.  Returns 0 or -1, w set.
 */
int dest_open(struct dest *v, const char *dest, unsigned timeout_ms,
    struct why *w);

/*
 * dest_write: write one record.  A FIFO is opened for writing first,
 * waiting for a reader, and each record goes in one write().  Every wait,
 * and every write, to a blocking descriptor too (a full pipe, a FIFO whose
 * reader stopped reading), ends by v->deadline (SPEC §4.3).  A record of length 0 writes nothing and opens nothing.
 * Returns 0 or -1, w set.
 */
int dest_write(struct dest *v, const char *rec, size_t len,
    struct why *w);

/*
 * dest_commit: finish: a file's temporary is synced and renamed over the
 * path (rename(2) replaces a link at the path, never follows it).
 * Returns 0 or -1, w set (and the temporary removed).
 */
int dest_commit(struct dest *v, struct why *w);

/*
 * dest_abort: the run failed: remove the temporary file, and remove a
 * verdict left at a file path by an earlier run (no stale clean verdict):
 * whatever is at the path unless it is a directory (a symlink is removed,
 * not followed).  v must have been through dest_open, even a failed one.
 */
void dest_abort(struct dest *v);

/*
 * dest_signal_cleanup: async-signal-safe: unlink the temporary file of
 * the current verdict_out, if any, and, until it is committed, what an
 * earlier run left at a file destination's path.
 */
void dest_signal_cleanup(void);

#endif
