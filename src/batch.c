/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "batch.h"
#include "input.h"
#include "scan.h"

/* Placeholder: one connection per file until IDSESSION lands. */
int
batch_scan(struct pool *p, char **files, int n, struct ring *r,
    batch_record record, void *ctx)
{
	for (int k = 0; k < n; k++) {
		struct input in;
		struct outcome o;
		struct why w;

		if (input_open(&in, files[k], p->c->max_size, &w) < 0) {
			memset(&o, 0, sizeof(o));
			o.result = RESULT_ERROR;
			verdict_sanitize(o.error, w.text, strlen(w.text));
		} else {
			scan_message(p, &in, r, &o);
			input_close(&in);
		}
		if (record(ctx, files[k], &o) < 0)
			return -1;
	}
	return 0;
}
