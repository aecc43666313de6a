/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_SCAN_H
#define CLAMHOOK_SCAN_H

#include "conf.h"
#include "fmt.h"
#include "input.h"
#include "pool.h"
#include "reply.h"
#include "ring.h"
#include "verdict.h"

/*
 * scan_message: scan one message: the oversize policy, then each server in
 * the pool's order until one gives a final answer (OK or FOUND) or the
 * deadline passes; a failure mid-stream resends from the start when the
 * ring or the file allows.  Fills o; never prints.  The input is drained
 * to its end in every case.
 */
void scan_message(struct pool *p, struct input *in, struct ring *r,
    struct outcome *o);

/*
 * scan_ping: --ping: each server up to max_pings times, ping_interval_ms
 * apart; prints each server's address and VERSION answer to out, flushed at
 * the end.  Returns 0 when all answered PONG, else 75 (the rest named on
 * standard error).
 */
int scan_ping(struct pool *p, struct out *out);

/*
 * scan_self_test: --self-test: the EICAR test string, assembled at run
 * time, to each server; each detection is printed to out, flushed at the
 * end.  Returns 0 when every one reports it FOUND, else 75.
 */
int scan_self_test(struct pool *p, struct ring *r, struct out *out);

/*
 * The steps of scan_message, for batch_scan (batch.c), which scans several
 * files on one IDSESSION connection and must judge each file alike.
 */

/* scan_add_error: append what to o->error, "; "-separated, sanitised. */
void scan_add_error(struct outcome *o, const char *what);

/*
 * scan_oversize: apply on_oversize (accept, reject, tempfail; not
 * truncate) to o for an input beyond max_size.
 */
void scan_oversize(const struct conf *c, const struct input *in,
    struct outcome *o);

/*
 * scan_fildes: whether the input goes to server i with FILDES: protocol
 * fildes, a Unix-socket server, no proxy, a regular file within max_size
 * read from its start (clamd scans a passed file from offset 0, so a
 * standard input that begins further on goes with INSTREAM).
 */
int scan_fildes(const struct pool *p, int i, const struct input *in);

/*
 * scan_judge: turn clamd's complete reply r from server a into o.
 * Returns 1 when final (OK or FOUND), 0 when the next server should be
 * tried (the reason added to o->error).  *alive is 0 when the reply made
 * no sense (the server should be marked dead), else 1.  The IDSESSION
 * request number, if any, is not checked here.
 */
int scan_judge(const struct conf *c, const struct net_addr *a,
    const struct reply *r, const struct input *in, struct outcome *o,
    int *alive);

/*
 * scan_finish: complete o once the servers are done with: clear the
 * errors of earlier tries when final, drain the input, set bytes and ms
 * (from start), name a missing reason, log a partial scan.
 */
void scan_finish(const struct conf *c, struct input *in, int final,
    ms_t start, ms_t deadline, struct outcome *o);

#endif
