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
#define POOL_MAX STATE_SERVERS_MAX

struct pool {
	const struct conf *c;
	int n;
	int probe;		/* --ping, --self-test, --status */
	int order[POOL_MAX];	/* indexes into addr, in the order to try */
	long long dead_until[POOL_MAX];	/* its dead mark, 0: none; past: retry */
	long long ok_at[POOL_MAX];	/* answered in this run */
	long long error_at[POOL_MAX];	/* failed in this run: */
	char error[POOL_MAX][STATE_ERROR_MAX + 1];	/* its last error */
	struct dial dial;	/* how every server is reached */
	struct net_addr addr[POOL_MAX];	/* last: only addr[0..n) touched */
};

/*
 * pool_init: resolve the proxy and the servers, read the state file and
 * choose this run's order: round robin (the shared counter, or the process
 * id when there is no state file) or listed order; servers marked dead are
 * moved last unless all are, each with a warning.  A state file that
 * cannot be read or locked in time (STATE_LOCK_MS, within the deadline) is
 * ignored (a warning is logged).  Names are resolved by the deadline.
 * With probe (--ping, --self-test, --status) the state file is neither
 * read nor written here.  Returns 0, or -1 with w set when no server can
 * be resolved.
 */
int pool_init(struct pool *p, const struct conf *c, int probe,
    ms_t deadline, struct why *w);

/*
 * pool_failed: server i gave no usable answer (why): remembered for
 * pool_record, and marked dead in the state file, waiting for the lock
 * STATE_MARK_MS at most; the run that sets the mark logs it.
 */
void pool_failed(struct pool *p, int i, const char *why);

/*
 * pool_answered: server i answered, with clamd's error when error is not
 * NULL; remembered for pool_record, and its dead mark, if any, cleared
 * (logged by the run that clears it).
 */
void pool_answered(struct pool *p, int i, const char *error);

/*
 * pool_record: at the end of a run, add its counts (n) to the state file
 * and what each server did (when it answered, its last error); p may be
 * NULL (no server resolved).  Waits for the lock until the deadline, at
 * most STATE_LOCK_MS, unless the run could not have it before (then one
 * try); a failure is a warning, and the run is not counted.
 */
void pool_record(const struct conf *c, const struct pool *p,
    const uint64_t n[COUNT_N], ms_t deadline);

#endif
