/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_POOL_H
#define CLAMHOOK_POOL_H

#include "conf.h"
#include "io.h"
#include "net.h"
#include "why.h"

/*
 * The servers of one run (SPEC §5.2): every configured entry resolved (a
 * name with several addresses counts as that many servers), the order to
 * try them in, and the shared state file (round-robin counter, dead marks).
 */
#define POOL_MAX 64

struct pool {
	const struct conf *c;
	struct net_addr addr[POOL_MAX];
	int n;
	int order[POOL_MAX];	/* indexes into addr, in the order to try */
	struct net_addr proxy;	/* [socks] server, when set */
	int has_proxy;
	int was_dead[POOL_MAX];	/* marked dead in the state file */
};

/*
 * pool_init: resolve the servers and the proxy, read the state file and
 * choose this run's order: round robin (the shared counter, or the process
 * id when there is no state file) or listed order; servers marked dead are
 * moved last unless all are.  A state file that cannot be read or locked
 * in time is ignored (a warning is logged).  Returns 0, or -1 with w set
 * when no server can be resolved.
 */
int pool_init(struct pool *p, const struct conf *c, struct why *w);

/*
 * pool_connect: connect to p->addr[i], through the proxy when one is set,
 * bounded by connect_timeout_ms and the deadline.  Returns the descriptor
 * or -1 with w set, naming the server (and proxy) and the reason.
 */
int pool_connect(struct pool *p, int i, ms_t deadline, struct why *w);

/*
 * pool_connect_port: as pool_connect, to the same host on another port
 * (the data connection of the legacy STREAM command).
 */
int pool_connect_port(struct pool *p, int i, unsigned port, ms_t deadline,
    struct why *w);

/*
 * pool_mark: record in the state file that server i failed (dead = 1) or
 * answered (dead = 0).  Errors are logged as warnings, never fatal.
 */
void pool_mark(struct pool *p, int i, int dead);

#endif
