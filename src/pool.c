/* SPDX-License-Identifier: ISC */
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "io.h"
#include "log.h"
#include "pool.h"

/* resolve: every configured server; the ones that fail are named in w. */
static int
resolve(struct pool *p, struct why *w)
{
	const struct conf *c = p->c;
	int by_name = !(p->dial.has_proxy && c->remote_dns);
	char errs[WHY_MAX] = "";

	p->n = 0;
	for (unsigned i = 0; i < c->nserver; i++) {
		struct why sw;
		int n = net_resolve(&c->server[i], c->port, by_name,
		    p->addr + p->n, POOL_MAX - p->n, &sw);

		if (n < 0) {
			size_t o = strlen(errs);

			/* Truncated when long: why_set would cut it anyway. */
			fmt_s(errs + o, sizeof(errs) - o, "%s%s", o ? "; " : "",
			    sw.text);
			continue;
		}
		p->n += n;
	}
	if (p->n == 0)
		return why_set(w, "no clamd server could be resolved: %s", errs);
	if (errs[0] != '\0')
		log_warn("clamd servers left out: %s", errs);
	return 0;
}

/*
 * load_state: the state under its lock, the round-robin counter taken
 * (incremented) when balancing so; the servers' dead marks into
 * p->was_dead.  Returns the counter's value, or 0 when there is no usable
 * state (a warning logged).  Its own frame: the state is large, and a run
 * without a state file need not have it on its stack.
 */
static uint64_t
load_state(struct pool *p)
{
	const struct conf *c = p->c;
	long long now = io_wall();
	struct state s;
	struct why w;
	int fd;

	if ((fd = state_lock(c->state_file, &w)) < 0) {
		log_warn("%s (ignored)", w.text);
		return 0;
	}
	if (state_read(fd, c->state_file, &s, &w) < 0)
		log_warn("%s (ignored)", w.text);
	if (c->balance == BALANCE_ROUND_ROBIN) {
		s.next++;
		if (state_write(fd, c->state_file, &s, &w) < 0)
			log_warn("%s", w.text);
	}
	state_unlock(fd);
	for (int i = 0; i < p->n; i++)
		p->was_dead[i] = state_dead_until(&s, p->addr[i].name) > now;
	/* 0 stands for "no state": a counter read as 0 counts as 1. */
	return s.next != 0 ? s.next : 1;
}

int
pool_init(struct pool *p, const struct conf *c, struct why *w)
{
	uint64_t next = 0;
	int start, k = 0, alive = 0;

	/* Only what is read is set: the address table is large. */
	p->c = c;
	if (dial_init(&p->dial, c, w) < 0 || resolve(p, w) < 0)
		return -1;
	for (int i = 0; i < p->n; i++)
		p->was_dead[i] = 0;
	/* With one server there is no order to choose: leave the file be. */
	if (c->state_file[0] != '\0' && p->n > 1)
		next = load_state(p);
	if (c->balance == BALANCE_FAILOVER)
		start = 0;
	else if (next != 0)
		start = (int)((next - 1) % (uint64_t)p->n);
	else
		start = p->n > 1 ? (int)((unsigned)getpid() % (unsigned)p->n) : 0;

	/* Live servers first, in turn from start; dead ones after them. */
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		if (!p->was_dead[j])
			p->order[k++] = j, alive++;
	}
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		if (p->was_dead[j])
			p->order[k++] = j;
	}
	log_step("servers: %d (%d marked dead), first %s", p->n,
	    p->n - alive, p->addr[p->order[0]].name);
	return 0;
}

void
pool_mark(struct pool *p, int i, int dead)
{
	const struct conf *c = p->c;
	struct state s;
	struct why w;
	int fd;

	if (c->state_file[0] == '\0' || p->n < 2 || (!dead && !p->was_dead[i]))
		return;
	if ((fd = state_lock(c->state_file, &w)) < 0) {
		log_warn("%s (ignored)", w.text);
		return;
	}
	if (state_read(fd, c->state_file, &s, &w) < 0)
		log_warn("%s (ignored)", w.text);
	state_mark(&s, p->addr[i].name,
	    dead ? io_wall() + c->retry_dead_s : 0);
	if (state_write(fd, c->state_file, &s, &w) < 0)
		log_warn("%s", w.text);
	state_unlock(fd);
	p->was_dead[i] = dead;
}
