/* SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <string.h>

#include "clamd.h"
#include "legacy.h"
#include "log.h"
#include "request.h"

/* The signature clamhook gives itself when on_oversize = reject. */
#define OVERSIZE_NAME "clamhook.Oversize"

int
request_fildes(const struct pool *p, int i, const struct input *in)
{
	/* clamd scans a passed file from its first byte, not from ours. */
	return p->c->protocol == PROTO_FILDES && p->addr[i].is_unix &&
	    in->is_regular && in->start == 0 && !p->dial.has_proxy &&
	    !input_over(in);
}

void
request_oversize(const struct conf *c, const struct input *in,
    struct outcome *o)
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
		verdict_add_error(o, why);
		break;
	}
}

/*
 * judge: clamd's complete reply rep from server a, to request id, into o.
 * Returns REQUEST_FINAL for OK and FOUND, else REQUEST_NEXT with w set.
 */
static enum request_end
judge(const struct conf *c, const struct net_addr *a, unsigned long id,
    int fildes, const struct reply *rep, const struct input *in,
    struct outcome *o, struct why *w)
{
	struct reply_result res;
	char shown[OUTCOME_TEXT_MAX + 1];

	reply_parse(rep->line, rep->len, &res);
	verdict_sanitize(shown, rep->line, rep->len);
	log_step("reply from %s: %s", a->name, shown);
	if (res.id != id) {
		if (id != 0)
			why_set(w, "%s: reply \"%.100s\" does not answer "
			    "IDSESSION request %lu", a->name, shown, id);
		else
			why_set(w, "%s: reply \"%.100s\" carries a session "
			    "number outside a session", a->name, shown);
		why_as(w, WHY_PROTOCOL);
		return REQUEST_NEXT;
	}
	/* A verdict is about what was asked: fd[N] for FILDES, else stream. */
	if ((res.kind == REPLY_OK || res.kind == REPLY_FOUND) &&
	    res.subject != (fildes ? SUBJECT_FD : SUBJECT_STREAM)) {
		why_set(w, "%s: reply \"%.100s\" is not about the %s sent",
		    a->name, shown, fildes ? "descriptor" : "stream");
		why_as(w, WHY_PROTOCOL);
		return REQUEST_NEXT;
	}
	switch (res.kind) {
	case REPLY_OK:
		o->result = input_over(in) ? RESULT_PARTIAL : RESULT_CLEAN;
		return REQUEST_FINAL;
	case REPLY_FOUND:
		o->result = RESULT_INFECTED;
		verdict_sanitize(o->virus, res.name, res.namelen);
		return REQUEST_FINAL;
	case REPLY_SIZE_LIMIT:
		why_set(w, "%s: INSTREAM size limit exceeded: the message is "
		    "larger than clamd's StreamMaxLength (it stopped after %"
		    PRIu64 " bytes read); set [message] max_size (now %" PRIu64
		    ") at or below it", a->name, in->total, c->max_size);
		break;
	case REPLY_ERROR:
		why_set(w, "%s: clamd error: %.*s", a->name, (int)res.namelen,
		    res.name);
		break;
	case REPLY_READ_TIMEOUT:
		why_set(w, "%s: clamd error: COMMAND READ TIMED OUT", a->name);
		break;
	case REPLY_UNKNOWN_COMMAND:
		why_set(w, "%s: %s", a->name, c->protocol == PROTO_STREAM ?
		    "this clamd has no STREAM (removed in 0.104); use "
		    "instream" : "clamd answered UNKNOWN COMMAND");
		break;
	default:
		why_set(w, "%s: unparsable reply \"%.100s\"", a->name,
		    rep->line);
		why_as(w, WHY_PROTOCOL);
		return REQUEST_NEXT;
	}
	why_as(w, WHY_CLAMD);
	return REQUEST_NEXT;
}

enum request_end
request_run(struct pool *p, int i, int fd, unsigned long id,
    struct input *in, struct ring *r, ms_t deadline, struct outcome *o,
    struct why *w)
{
	const struct conf *c = p->c;
	const struct net_addr *a = &p->addr[i];
	const struct clamd_msg m = { .in = in, .r = r, .chunk = c->chunk_size,
		.stop_over = c->on_oversize != OVERSIZE_TRUNCATE,
		.deadline = deadline };
	int fildes = request_fildes(p, i, in), st;
	const char *proto = fildes ? "FILDES" :
	    c->protocol == PROTO_STREAM ? "STREAM" : "INSTREAM";
	struct reply rep;
	struct why e;
	uint64_t sent = 0;

	if (id != 0)
		log_step("%s %s to %s, request %lu", proto, in->name, a->name,
		    id);
	else
		log_step("%s %s to %s", proto, in->name, a->name);
	if (fildes) {
		st = clamd_fildes(fd, in->fd, deadline, &rep, &e);
		sent = in->size;
	} else {
		if (c->protocol == PROTO_STREAM)
			st = legacy_stream(&p->dial, a, fd, &m, &rep, &sent,
			    &e);
		else
			st = clamd_instream(fd, &m, &rep, &sent, &e);
		log_step("sent %" PRIu64 " bytes", sent);
	}
	o->sent = sent;
	if (st == CLAMD_OVERSIZE) {
		request_oversize(c, in, o);
		w->text[0] = '\0';
		return REQUEST_STOP;
	}
	if (st < 0) {
		why_set(w, "%s: %s", a->name, e.text);
		why_as(w, e.cls);
		return e.cls == WHY_INPUT ? REQUEST_STOP : REQUEST_NEXT;
	}
	st = judge(c, a, id, fildes, &rep, in, o, w);
	/* Outside a session, nothing may come after the verdict. */
	if (st == REQUEST_FINAL && id == 0 &&
	    clamd_read_close(fd, deadline, &e) < 0) {
		why_set(w, "%s: %s", a->name, e.text);
		why_as(w, WHY_PROTOCOL);
		o->result = RESULT_ERROR;
		o->virus[0] = '\0';
		return REQUEST_NEXT;
	}
	return st;
}
