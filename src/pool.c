/* SPDX-License-Identifier: ISC */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
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
 * (incremented) when balancing so.  Returns 0, or -1 when there is no
 * usable state (s empty; a warning logged).
 */
static int
load_state(const struct conf *c, struct state *s)
{
	struct why w;
	int fd, st = 0;

	memset(s, 0, sizeof(*s));
	if ((fd = state_lock(c->state_file, &w)) < 0) {
		log_warn("%s (ignored)", w.text);
		return -1;
	}
	if (state_read(fd, c->state_file, s, &w) < 0)
		log_warn("%s (ignored)", w.text);
	if (c->balance == BALANCE_ROUND_ROBIN) {
		s->next++;
		if (state_write(fd, c->state_file, s, &w) < 0)
			log_warn("%s", w.text);
	}
	state_unlock(fd);
	return st;
}

int
pool_init(struct pool *p, const struct conf *c, struct why *w)
{
	struct state s;
	int start, k = 0, alive = 0, used = 0;
	long long now = (long long)time(NULL);

	/* Only what is read is set: the address table is large. */
	p->c = c;
	if (dial_init(&p->dial, c, w) < 0 || resolve(p, w) < 0)
		return -1;

	s.next = 0;
	s.ndead = 0;
	/* With one server there is no order to choose: leave the file be. */
	if (c->state_file[0] != '\0' && p->n > 1)
		used = load_state(c, &s) == 0;
	if (c->balance == BALANCE_FAILOVER)
		start = 0;
	else if (used)
		start = (int)((s.next - 1) % (uint64_t)p->n);
	else
		start = (int)((unsigned)getpid() % (unsigned)p->n);

	/* Live servers first, in turn from start; dead ones after them. */
	for (int i = 0; i < p->n; i++) {
		int j = (start + i) % p->n;

		p->was_dead[j] = state_dead_until(&s, p->addr[j].name) > now;
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
	    dead ? (long long)time(NULL) + c->retry_dead_s : 0);
	if (state_write(fd, c->state_file, &s, &w) < 0)
		log_warn("%s", w.text);
	state_unlock(fd);
	p->was_dead[i] = dead;
}
