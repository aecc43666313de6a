/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_BATCH_H
#define CLAMHOOK_BATCH_H

#include "pool.h"
#include "ring.h"
#include "verdict.h"

/*
 * batch_record: called once per file, in argument order, with its outcome.
 * Returns 0, or -1 to stop the batch (the verdict could not be written).
 */
typedef int (*batch_record)(void *ctx, const char *file, struct outcome *o);

/*
 * batch_scan: several files on one connection (SPEC §5.4): "zIDSESSION\0"
 * on the first server that answers, each file streamed with INSTREAM (or
 * FILDES where it applies), replies matched by their request number, then
 * "zEND\0".  If the session breaks, the files not yet answered are scanned
 * on the next server.  Each file has its own deadline (timeout_ms).  A file
 * that cannot be opened gets an error outcome and does not break the
 * session.  Returns 0, or -1 when record returned -1.
 */
int batch_scan(struct pool *p, char **files, int n, struct ring *r,
    batch_record record, void *ctx);

#endif
