/* SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "input.h"
#include "log.h"
#include "request.h"
#include "scan.h"

#define BIT(i) ((uint64_t)1 << (i))

static int
direct_open(struct link *l, struct pool *p, int pos, ms_t deadline,
    struct why *w)
{
	l->pos = pos;
	l->id = 0;
	l->fd = dial_connect(&p->dial, &p->addr[p->order[pos]], deadline, w);
	return l->fd;
}

static void
direct_done(struct link *l, struct pool *p, enum link_end how)
{
	(void)p;
	(void)how;
	close(l->fd);
	l->fd = -1;
}

void
scan_direct(struct link *l)
{
	memset(l, 0, sizeof(*l));
	l->open = direct_open;
	l->done = direct_done;
	l->fd = -1;
}

/*
 * next_pos: where the message goes next: the first server not yet tried
 * for it, from the link's server on in p->order, those that failed
 * earlier in the run last (as pool_init puts dead servers last).  Returns
 * a position in p->order, or -1 when every server was tried.
 */
static int
next_pos(const struct pool *p, const struct link *l, uint64_t tried)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < p->n; k++) {
			int pos = (l->pos + k) % p->n, i = p->order[pos];

			if ((tried & BIT(i)) == 0 &&
			    ((l->broken & BIT(i)) != 0) == pass)
				return pos;
		}
	}
	return -1;
}

/* failed: server i failed (w): marked dead, last for the rest of the run. */
static void
failed(struct pool *p, struct link *l, int i, const struct why *w)
{
	l->broken |= BIT(i);
	pool_failed(p, i, w->text);
}

/*
 * try_pos: one request for the input on the server at position pos; w
 * says why it failed when it did.
 */
static enum request_end
try_pos(struct pool *p, struct link *l, int pos, struct input *in,
    struct ring *r, ms_t deadline, struct outcome *o, struct why *w)
{
	int i = p->order[pos];
	const struct net_addr *a = &p->addr[i];
	enum request_end st;
	char why[sizeof(a->name) + 2 + WHY_MAX];

	if (!request_fildes(p, i, in) && input_rewind(in, r, w) < 0) {
		fmt_s(why, sizeof(why), "%s: %s", a->name, w->text);
		verdict_add_error(o, why);
		return REQUEST_STOP;
	}
	if (l->open(l, p, pos, deadline, w) < 0) {
		verdict_add_error(o, w->text);
		failed(p, l, i, w);
		return REQUEST_NEXT;
	}
	st = request_run(p, i, l->fd, l->id, in, r, deadline, o, w);
	if (st == REQUEST_FINAL) {
		pool_answered(p, i, NULL);
		fmt_s(o->server, sizeof(o->server), "%s", a->name);
		l->done(l, p, LINK_KEEP);
		return st;
	}
	if (w->text[0] != '\0')
		verdict_add_error(o, w->text);
	if (st == REQUEST_STOP) {
		l->done(l, p, LINK_ABORT);
	} else if (w->cls == WHY_CLAMD) {
		pool_answered(p, i, w->text);
		l->done(l, p, LINK_END);
	} else {
		failed(p, l, i, w);
		l->done(l, p, LINK_ABORT);
	}
	return st;
}

/*
 * finish: complete o once the servers are done with: clear the errors of
 * earlier tries when final, drain the input, set bytes and ms (from
 * start), name a missing reason, log a partial scan.
 */
static void
finish(const struct conf *c, struct input *in, int final, ms_t start,
    ms_t deadline, struct outcome *o)
{
	struct why w;

	if (final)
		o->error[0] = '\0';
	if (input_drain(in, deadline, &w) < 0 && o->result != RESULT_ERROR) {
		/* The verdict stands for what was read; say it. */
		log_warn("%s", w.text);
	}
	/* A pipe is known to be longer than max_size only once drained. */
	if (o->result == RESULT_CLEAN && (input_over(in) || (!in->is_regular &&
	    !in->eof && in->limit != 0 && in->total >= in->limit)))
		o->result = RESULT_PARTIAL;
	o->bytes = in->is_regular ? in->size : in->total;
	if (o->result == RESULT_ERROR && o->error[0] == '\0')
		verdict_add_error(o, "no clamd server answered");
	if (o->result == RESULT_PARTIAL)
		log_info("%s: only the first %" PRIu64 " of %" PRIu64 " bytes "
		    "scanned (max_size): partial", in->name, c->max_size,
		    o->bytes);
	o->ms = io_now() - start;
}

void
scan_file(struct pool *p, struct link *l, const char *path, ms_t start,
    struct ring *r, struct outcome *o)
{
	const struct conf *c = p->c;
	ms_t deadline = start + c->timeout_ms;
	enum request_end st = REQUEST_NEXT;
	uint64_t tried = 0;
	struct input in;
	struct why w;
	int pos, left;

	verdict_outcome(o);
	o->deadline = deadline;
	if (input_open(&in, path, c->max_size, deadline, &w) < 0) {
		verdict_add_error(o, w.text);
		return;
	}
	ring_reset(r);
	if (input_over(&in) && c->on_oversize != OVERSIZE_TRUNCATE) {
		request_oversize(c, &in, o);
		st = REQUEST_STOP;
	}
	for (left = p->n; st == REQUEST_NEXT &&
	     (pos = next_pos(p, l, tried)) >= 0; left--) {
		ms_t now = io_now();
		char why[WHY_MAX];

		tried |= BIT(p->order[pos]);
		if (now >= deadline) {
			fmt_s(why, sizeof(why), "%s: not tried, timeout_ms "
			    "(%u) passed", p->addr[p->order[pos]].name,
			    c->timeout_ms);
			verdict_add_error(o, why);
			continue;
		}
		/* A silent server leaves time for the others (§5.2). */
		st = try_pos(p, l, pos, &in, r, now + (deadline - now) / left,
		    o, &w);
		/* Passed over: said now, though the next may well answer. */
		if (st == REQUEST_NEXT && left > 1 && io_now() < deadline &&
		    (pos = next_pos(p, l, tried)) >= 0)
			log_warn("%s; trying %s", w.text,
			    p->addr[p->order[pos]].name);
	}
	finish(c, &in, st == REQUEST_FINAL, start, deadline, o);
	input_close(&in);
}
