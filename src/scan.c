/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "clamd.h"
#include "legacy.h"
#include "log.h"
#include "scan.h"

/* The signature clamhook gives itself when on_oversize = reject. */
#define OVERSIZE_NAME "clamhook.Oversize"

void
scan_add_error(struct outcome *o, const char *what)
{
	char buf[WHY_MAX * 2];
	size_t n = strlen(o->error);

	fmt_s(buf, sizeof(buf), "%s%s%s", o->error, n ? "; " : "", what);
	verdict_sanitize(o->error, buf, strlen(buf));
}

void
scan_oversize(const struct conf *c, const struct input *in, struct outcome *o)
{
	char why[160];

	switch (c->on_oversize) {
	case OVERSIZE_ACCEPT:
		o->result = RESULT_SKIPPED;
		log_step("message larger than max_size %" PRIu64 ": accepted "
		    "unscanned", c->max_size);
		break;
	case OVERSIZE_REJECT:
		o->result = RESULT_INFECTED;
		strcpy(o->virus, OVERSIZE_NAME);
		break;
	default:
		o->result = RESULT_ERROR;
		fmt_s(why, sizeof(why), "%s: message larger than [message] "
		    "max_size (%" PRIu64 " bytes)", in->name, c->max_size);
		scan_add_error(o, why);
		break;
	}
}

int
scan_judge(const struct conf *c, const struct net_addr *a,
    const struct reply *r, const struct input *in, struct outcome *o,
    int *alive)
{
	struct reply_result res;
	char why[WHY_MAX], shown[OUTCOME_TEXT_MAX + 1];

	reply_parse(r->line, r->len, &res);
	verdict_sanitize(shown, r->line, r->len);
	log_step("reply from %s: %s", a->name, shown);
	*alive = 1;
	switch (res.kind) {
	case REPLY_OK:
		o->result = input_over(in) ? RESULT_PARTIAL : RESULT_CLEAN;
		return 1;
	case REPLY_FOUND:
		o->result = RESULT_INFECTED;
		verdict_sanitize(o->virus, res.name, res.namelen);
		return 1;
	case REPLY_SIZE_LIMIT:
		fmt_s(why, sizeof(why), "%s: INSTREAM size limit exceeded: "
		    "the message is larger than clamd's StreamMaxLength (it "
		    "stopped after %" PRIu64 " bytes read); set [message] "
		    "max_size (now %" PRIu64 ") at or below it", a->name,
		    in->total, c->max_size);
		break;
	case REPLY_ERROR:
		fmt_s(why, sizeof(why), "%s: clamd error: %.*s", a->name,
		    (int)res.namelen, res.name);
		break;
	case REPLY_READ_TIMEOUT:
		fmt_s(why, sizeof(why), "%s: clamd error: COMMAND READ "
		    "TIMED OUT", a->name);
		break;
	case REPLY_UNKNOWN_COMMAND:
		fmt_s(why, sizeof(why), "%s: %s", a->name,
		    c->protocol == PROTO_STREAM ? "this clamd has no STREAM "
		    "(removed in 0.104); use instream" :
		    "clamd answered UNKNOWN COMMAND");
		break;
	default:
		*alive = 0;
		fmt_s(why, sizeof(why), "%s: unparsable reply \"%.100s\"",
		    a->name, r->line);
		break;
	}
	scan_add_error(o, why);
	return 0;
}

int
scan_fildes(const struct pool *p, int i, const struct input *in)
{
	/* clamd scans a passed file from its first byte, not from ours. */
	return p->c->protocol == PROTO_FILDES && p->addr[i].is_unix &&
	    in->is_regular && in->start == 0 && !p->has_proxy &&
	    !input_over(in);
}

/*
 * try_server: one attempt on server i.  Returns 1 when o is final, 0 to
 * go on with the next server (o->error extended), -1 to stop trying
 * (o final: oversize policy, or the message cannot be sent again).
 */
static int
try_server(struct pool *p, int i, struct input *in, struct ring *r,
    ms_t deadline, struct outcome *o)
{
	const struct conf *c = p->c;
	const struct net_addr *a = &p->addr[i];
	struct reply rep;
	struct why w;
	int fd, st, alive = 0, fildes;
	uint64_t sent = 0;
	char why[sizeof(a->name) + 2 + WHY_MAX];

	fildes = scan_fildes(p, i, in);
	if (!fildes && input_rewind(in, r, &w) < 0) {
		fmt_s(why, sizeof(why), "%s: %s", a->name, w.text);
		scan_add_error(o, why);
		return -1;
	}
	fd = pool_connect(p, i, deadline, &w);
	if (fd < 0) {
		scan_add_error(o, w.text);
		pool_mark(p, i, 1);
		return 0;
	}
	if (fildes) {
		log_step("FILDES %s to %s", in->name, a->name);
		st = clamd_fildes_send(fd, in->fd, deadline, &w);
		reply_init(&rep);
		if (st == 0)
			st = clamd_read_reply(fd, &rep, deadline, &w);
		sent = in->size;
	} else {
		static const char cmd[] = "zINSTREAM";
		int stop = c->on_oversize != OVERSIZE_TRUNCATE;

		if (c->protocol == PROTO_STREAM) {
			log_step("STREAM %s to %s", in->name, a->name);
			st = legacy_stream_send(p, i, fd, in, r, stop, deadline,
			    &rep, &sent, &w);
		} else {
			log_step("INSTREAM %s to %s", in->name, a->name);
			log_traffic("->", cmd, sizeof(cmd));
			st = io_write_all(fd, cmd, sizeof(cmd), deadline);
			if (st < 0)
				why_errno(&w, errno, "sending zINSTREAM");
			else
				st = clamd_instream_send(fd, in, r,
				    c->chunk_size, stop, deadline, &rep, &sent,
				    &w);
		}
		log_step("sent %" PRIu64 " bytes", sent);
		if (st == CLAMD_SENT_OVERSIZE) {
			close(fd);
			scan_oversize(c, in, o);
			return -1;
		}
		if (st == CLAMD_SENT_ALL)
			st = clamd_read_reply(fd, &rep, deadline, &w);
		else if (st == CLAMD_SENT_EARLY_REPLY)
			st = 0;
	}
	close(fd);
	o->sent = sent;
	if (st < 0) {
		fmt_s(why, sizeof(why), "%s: %s", a->name, w.text);
		scan_add_error(o, why);
		/* A failed read of the message itself ends the scan. */
		if (in->failed)
			return -1;
		pool_mark(p, i, 1);
		return 0;
	}
	st = scan_judge(c, a, &rep, in, o, &alive);
	pool_mark(p, i, !alive);
	if (st)
		fmt_s(o->server, sizeof(o->server), "%s", a->name);
	return st;
}

/*
 * share: the deadline for the try on p->order[k]: the time left, split
 * evenly among the servers still to try, so that a silent server leaves
 * time for the others (SPEC §5.2); the last one gets all that is left.
 */
static ms_t
share(const struct pool *p, int k, ms_t now, ms_t deadline)
{
	return now + (deadline - now) / (p->n - k);
}

void
scan_message(struct pool *p, struct input *in, struct ring *r,
    struct outcome *o)
{
	const struct conf *c = p->c;
	ms_t start = io_now(), deadline = start + c->timeout_ms;
	int k, st = 0;

	memset(o, 0, sizeof(*o));
	o->result = RESULT_ERROR;
	ring_reset(r);
	if (input_over(in) && c->on_oversize != OVERSIZE_TRUNCATE) {
		scan_oversize(c, in, o);
		st = -1;
	}
	for (k = 0; st == 0 && k < p->n; k++) {
		ms_t now = io_now();

		if (now >= deadline) {
			char why[WHY_MAX];

			fmt_s(why, sizeof(why), "%s: not tried, timeout_ms "
			    "(%u) passed", p->addr[p->order[k]].name,
			    c->timeout_ms);
			scan_add_error(o, why);
			continue;
		}
		st = try_server(p, p->order[k], in, r,
		    share(p, k, now, deadline), o);
	}
	scan_finish(c, in, st == 1, start, deadline, o);
}

void
scan_finish(const struct conf *c, struct input *in, int final, ms_t start,
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
		scan_add_error(o, "no clamd server answered");
	if (o->result == RESULT_PARTIAL)
		log_info("%s: only the first %" PRIu64 " of %" PRIu64 " bytes "
		    "scanned (max_size): partial", in->name, c->max_size,
		    o->bytes);
	o->ms = io_now() - start;
}

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

int
scan_self_test(struct pool *p, struct ring *r, struct out *out)
{
	volatile unsigned char mask = 0xa5;
	int bad = 0;

	for (int i = 0; i < p->n; i++) {
		struct input in;
		struct outcome o;
		ms_t deadline = io_after(p->c->timeout_ms);
		int st;

		memset(&in, 0, sizeof(in));
		in.fd = -1;
		in.eof = 1;
		in.name = "self-test";
		in.total = sizeof(eicar_masked);
		ring_reset(r);
		for (size_t j = 0; j < sizeof(eicar_masked); j++) {
			unsigned char b = eicar_masked[j] ^ mask;

			ring_put(r, &b, 1);
		}
		memset(&o, 0, sizeof(o));
		o.result = RESULT_ERROR;
		st = try_server(p, i, &in, r, deadline, &o);
		if (st == 1 && o.result == RESULT_INFECTED) {
			out_printf(out, "%s: FOUND %s\n", p->addr[i].name,
			    o.virus);
			continue;
		}
		bad++;
		if (st == 1)
			log_error("self-test: %s did not detect the EICAR test "
			    "file", p->addr[i].name);
		else
			log_error("self-test: %s", o.error);
	}
	(void)out_flush(out);
	return bad ? 75 : 0;
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

	if ((fd = pool_connect(p, i, deadline, w)) < 0)
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
	if ((fd = pool_connect(p, i, deadline, &e)) >= 0 &&
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
scan_ping(struct pool *p, struct out *out)
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
	return bad ? 75 : 0;
}
