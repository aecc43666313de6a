/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_STATE_H
#define CLAMHOOK_STATE_H

#include <stdint.h>

#include "conf.h"
#include "io.h"
#include "why.h"

/*
 * The state file, shared by every run (SPEC §5.2), small and plain text:
 *
 *	clamhook-state 1
 *	next 1234
 *	dead 1700000000 127.0.0.1:3310
 *
 * "next" is the round-robin counter, "dead UNTIL NAME" a server that failed
 * and is skipped until UNTIL (seconds since the epoch).  Readers and
 * writers hold flock(LOCK_EX) for the few microseconds they need it.  The
 * state only steers the order of servers, never a verdict: every failure
 * here is a warning for the caller to log, and the run goes on without it.
 */
#define STATE_DEAD_MAX 64	/* as many as a pool holds */

struct state {
	uint64_t next;
	int ndead;
	struct {
		long long until;
		char name[CONF_NAME_MAX + 64];
	} dead[STATE_DEAD_MAX];
};

/*
 * state_lock: open path (created 0644 when missing, never through a
 * symlink) and lock it, waiting for another holder until the deadline at
 * most.  Returns the descriptor, which state_unlock closes, or -1 with w
 * set.
 */
#define STATE_LOCK_MS 1000	/* the longest wait, at start */
#define STATE_MARK_MS 20	/* the longest wait for a mark */
int state_lock(const char *path, ms_t deadline, struct why *w);

/*
 * state_read: the locked file into s.  An empty file is a new state.
 * Returns 0, or -1 with w set and s empty (unreadable or corrupt).
 */
int state_read(int fd, const char *path, struct state *s, struct why *w);

/*
 * state_write: replace the locked file's content with s, less the marks
 * that have expired.  Returns 0 or -1 with w set.
 */
int state_write(int fd, const char *path, const struct state *s,
    struct why *w);

/* state_unlock: release the lock and close fd. */
void state_unlock(int fd);

/*
 * state_dead_until: until when server name is marked dead (seconds since
 * the epoch), 0 when it is not.
 */
long long state_dead_until(const struct state *s, const char *name);

/*
 * state_mark: mark server name dead until until, or clear its mark when
 * until is 0.  A mark that does not fit is dropped.
 */
void state_mark(struct state *s, const char *name, long long until);

#endif
