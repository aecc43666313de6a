/* SPDX-License-Identifier: ISC */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "clamd.h"
#include "exit.h"
#include "health.h"
#include "input.h"
#include "log.h"
#include "request.h"

/* The EICAR test file, stored masked so that no scanner flags clamhook. */
static const unsigned char eicar_masked[68] = {
	0xfd, 0x90, 0xea, 0x84, 0xf5, 0x80, 0xe5, 0xe4, 0xf5, 0xfe, 0x91,
	0xf9, 0xf5, 0xff, 0xfd, 0x90, 0x91, 0x8d, 0xf5, 0xfb, 0x8c, 0x92,
	0xe6, 0xe6, 0x8c, 0x92, 0xd8, 0x81, 0xe0, 0xec, 0xe6, 0xe4, 0xf7,
	0x88, 0xf6, 0xf1, 0xe4, 0xeb, 0xe1, 0xe4, 0xf7, 0xe1, 0x88, 0xe4,
	0xeb, 0xf1, 0xec, 0xf3, 0xec, 0xf7, 0xf0, 0xf6, 0x88, 0xf1, 0xe0,
	0xf6, 0xf1, 0x88, 0xe3, 0xec, 0xe9, 0xe0, 0x84, 0x81, 0xed, 0x8e,
	0xed, 0x8f,
};

/*
 * self_test_one: the test string to server i.  Returns REQUEST_FINAL with
 * o set, or another end with w set.
 */
static enum request_end
self_test_one(struct pool *p, int i, struct ring *r, struct outcome *o,
    struct why *w)
{
	volatile unsigned char mask = 0xa5;
	unsigned char eicar[sizeof(eicar_masked)];
	ms_t deadline = io_after(p->c->timeout_ms);
	struct input in;
	enum request_end st;
	int fd;

	/* Unmasked only here, at run time, through a volatile mask. */
	for (size_t j = 0; j < sizeof(eicar); j++)
		eicar[j] = eicar_masked[j] ^ mask;
	input_memory(&in, "self-test", r, eicar, sizeof(eicar));
	memset(eicar, 0, sizeof(eicar));
	verdict_outcome(o);
	if ((fd = dial_connect(&p->dial, &p->addr[i], deadline, w)) < 0)
		return REQUEST_NEXT;
	st = request_run(p, i, fd, 0, &in, r, deadline, o, w);
	close(fd);
	return st;
}

int
health_self_test(struct pool *p, struct ring *r, struct out *out)
{
	int bad = 0;

	for (int i = 0; i < p->n; i++) {
		struct outcome o;
		struct why w;
		enum request_end st = self_test_one(p, i, r, &o, &w);

		if (st == REQUEST_FINAL && o.result == RESULT_INFECTED) {
			out_printf(out, "%s: FOUND %s\n", p->addr[i].name,
			    o.virus);
			continue;
		}
		bad++;
		if (st == REQUEST_FINAL)
			log_error("self-test: %s did not detect the EICAR test "
			    "file", p->addr[i].name);
		else {
			verdict_add_error(&o, w.text);	/* sanitised */
			log_error("self-test: %s", o.error);
		}
	}
	(void)out_flush(out);
	return bad ? EX_TEMPFAIL : EX_CLEAN;
}

/*
 * ping_once: PING, then VERSION, on server i; the answer printed to out.
 * Returns 0 or -1 (w set).
 */
static int
ping_once(struct pool *p, int i, struct out *out, struct why *w)
{
	const struct net_addr *a = &p->addr[i];
	/* A try: connect and PING, each within connect_timeout_ms. */
	ms_t deadline = io_after(p->c->connect_timeout_ms);
	char v[OUTCOME_TEXT_MAX + 1];
	struct reply r;
	struct why e;
	int fd, st;

	if ((fd = dial_connect(&p->dial, a, deadline, w)) < 0)
		return -1;
	st = clamd_command(fd, "PING", &r, deadline, &e);
	close(fd);
	if (st < 0)
		return why_set(w, "%s: %s", a->name, e.text);
	if (strcmp(r.line, "PONG") != 0) {
		verdict_sanitize(v, r.line, r.len);
		return why_set(w, "%s: answered \"%.60s\" to PING", a->name, v);
	}
	/* clamd closes after each command outside a session: reconnect. */
	if ((fd = dial_connect(&p->dial, a, deadline, &e)) >= 0 &&
	    clamd_command(fd, "VERSION", &r, deadline, &e) == 0)
		verdict_sanitize(v, r.line, r.len);
	else
		fmt_s(v, sizeof(v), "PONG (VERSION failed: %.200s)", e.text);
	if (fd >= 0)
		close(fd);
	out_printf(out, "%s: %s\n", a->name, v);
	return 0;
}

int
health_ping(struct pool *p, struct out *out)
{
	const struct conf *c = p->c;
	int bad = 0;

	for (int i = 0; i < p->n; i++) {
		struct why w;
		unsigned t;

		for (t = 0; t < c->max_pings; t++) {
			if (t > 0)
				poll(NULL, 0, (int)c->ping_interval_ms);
			if (ping_once(p, i, out, &w) == 0)
				break;
			log_step("ping %u/%u: %s", t + 1, c->max_pings, w.text);
		}
		if (t == c->max_pings) {
			bad++;
			log_error("ping: no PONG after %u tries: %s", t, w.text);
		}
	}
	(void)out_flush(out);
	return bad ? EX_TEMPFAIL : EX_CLEAN;
}
