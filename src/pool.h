/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_POOL_H
#define CLAMHOOK_POOL_H

#include "conf.h"
#include "dial.h"
#include "net.h"
#include "state.h"
#include "why.h"

/*
 * The servers of one run (SPEC §5.2): every configured entry resolved (a
 * name with several addresses counts as that many servers), the order to
 * try them in, and their dead marks in the shared state file.
 */
#define POOL_MAX STATE_DEAD_MAX

struct pool {
	const struct conf *c;
	int n;
	int order[POOL_MAX];	/* indexes into addr, in the order to try */
	int was_dead[POOL_MAX];	/* marked dead in the state file */
	struct dial dial;	/* how every server is reached */
	struct net_addr addr[POOL_MAX];	/* last: only addr[0..n) touched */
};

/*
 * pool_init: resolve the proxy and the servers, read the state file and
 * choose this run's order: round robin (the shared counter, or the process
 * id when there is no state file) or listed order; servers marked dead are
 * moved last unless all are.  A state file that cannot be read or locked
 * in time (STATE_LOCK_MS, within the deadline) is ignored (a warning is
 * logged).  Names are resolved by the deadline.  Returns 0, or -1 with w
 * set when no server can be resolved.
 */
int pool_init(struct pool *p, const struct conf *c, ms_t deadline,
    struct why *w);

/*
 * pool_mark: record in the state file that server i failed (dead = 1) or
 * answered (dead = 0), waiting for the lock STATE_MARK_MS at most.  Errors
 * are logged as warnings, never fatal.
 */
void pool_mark(struct pool *p, int i, int dead);

#endif
