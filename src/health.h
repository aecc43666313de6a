/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_HEALTH_H
#define CLAMHOOK_HEALTH_H

#include "fmt.h"
#include "pool.h"
#include "ring.h"

/*
 * The health checks an init script runs (SPEC §1), one per server, never
 * through the round robin and never marking a server dead.
 */

/*
 * health_ping: --ping: each server up to max_pings times, ping_interval_ms
 * apart; prints each server's address and VERSION answer to out, flushed
 * at the end.  Returns 0 when all answered PONG, else EX_TEMPFAIL (the
 * rest named on standard error).
 */
int health_ping(struct pool *p, struct out *out);

/*
 * health_self_test: --self-test: the EICAR test string, assembled at run
 * time, to each server; each detection is printed to out, flushed at the
 * end.  Returns 0 when every one reports it FOUND, else EX_TEMPFAIL.
 */
int health_self_test(struct pool *p, struct ring *r, struct out *out);

/*
 * health_status: --status (SPEC §9): the state file's counts and each
 * server's dead mark, last answer and last error, as lines busybox sh can
 * source; with debug >= 1 each server's VERSION (database version and
 * age) and STATS (threads, queue) too.  Returns 0, or EX_TEMPFAIL when the
 * state file cannot be read.
 */
int health_status(struct pool *p, struct out *out);

#endif
