/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_STATE_H
#define CLAMHOOK_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "io.h"
#include "why.h"

/*
 * The state file, shared by every run (SPEC §5.2, §9), small and plain
 * text, every line but the first optional:
 *
 *	clamhook-state 1
 *	next 1234
 *	counts 1700000000 120 3 1 0 2
 *	dead 1700000030 127.0.0.1:3310
 *	ok 1700000001 127.0.0.1:3311
 *	error 1700000000 127.0.0.1:3310<TAB>connect: Connection refused
 *
 * "next" is the round-robin counter; "counts SINCE CLEAN INFECTED PARTIAL
 * SKIPPED FAILED" the messages counted since SINCE (seconds since the
 * epoch), when the counts began; "dead UNTIL NAME" a server that failed
 * and is skipped until UNTIL (the mark stays, past UNTIL, until it
 * answers again); "ok WHEN NAME" when it last answered, and
 * "error WHEN NAME<TAB>TEXT" its last error.  A file of an older clamhook
 * (no counts) loads as it is.  Readers and writers hold flock(LOCK_EX) for
 * the few microseconds they need it.  The state only steers the order of
 * servers and reports, never a verdict: every failure here is a warning
 * for the caller to log, and the run goes on without it.
 */
#define STATE_SERVERS_MAX 64	/* as many as a pool holds */
#define STATE_ERROR_MAX 120	/* a last error is kept this long at most */

enum state_count { COUNT_CLEAN, COUNT_INFECTED, COUNT_PARTIAL,
	COUNT_SKIPPED, COUNT_FAILED, COUNT_N };

struct state_server {
	long long dead_until, ok_at, error_at;	/* 0: none */
	char name[CONF_NAME_MAX + 64];
	char error[STATE_ERROR_MAX + 1];
};

/*
 * Only next, since, count, n and size are set by state_read; the servers past n
 * are never read, so a state costs the stack only what it holds.
 */
struct state {
	uint64_t next;
	long long since;			/* 0: no counts yet */
	uint64_t count[COUNT_N];
	int n;
	off_t size;	/* the file's, when read; -1: unreadable, corrupt */
	struct state_server server[STATE_SERVERS_MAX];
};

/*
 * state_lock: open path (created 0644 when missing, never through a
 * symlink) and lock it, waiting for another holder wait milliseconds at
 * most, and never past deadline (0: one try).  Returns the descriptor,
 * or -1 with w set.  With readonly, the file is opened to read only,
 * never made: errno ENOENT (and w) when it does not exist.
 * state_relock locks fd, which state_lock opened, again (0 or -1 with w
 * set); state_unlock releases the lock, keeping fd open for the next
 * update of the same run; state_close releases it and closes fd.
 */
#define STATE_LOCK_MS 1000	/* the longest wait, at start */
#define STATE_MARK_MS 20	/* the longest wait for a mark */
int state_lock(const char *path, int readonly, ms_t wait, ms_t deadline,
    struct why *w);
int state_relock(int fd, const char *path, ms_t wait, ms_t deadline,
    struct why *w);
void state_unlock(int fd);
void state_close(int fd);

/*
 * state_read: the locked file into s.  An empty file is a new state.
 * Returns 0, or -1 with w set and s empty (unreadable or corrupt).  A
 * corrupt file's counts are lost: they start again when next written.
 */
int state_read(int fd, const char *path, struct state *s, struct why *w);

/*
 * state_write: replace the locked file's content with s.  Returns 0 or -1
 * with w set.
 */
int state_write(int fd, const char *path, const struct state *s,
    struct why *w);

/*
 * state_server: the entry of server name, NULL when there is none; with
 * add, one is made (in the place of the one longest idle when the table
 * is full; NULL only when name does not fit).
 */
struct state_server *state_server(struct state *s, const char *name,
    int add);

/* state_dead_until: until when name is marked dead, 0 when it is not. */
long long state_dead_until(const struct state *s, const char *name);

/*
 * state_count: add the counts of a run (n[COUNT_N]) to s, starting the
 * counts at now when s has none.
 */
void state_count(struct state *s, const uint64_t n[COUNT_N]);

#endif
