/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "clamd.h"
#include "fmt.h"
#include "input.h"
#include "log.h"
#include "scan.h"

/*
 * Several files on one connection: an IDSESSION (clamd(8)).
 *
 *	-> "zIDSESSION\0"
 *	-> "zINSTREAM\0" chunks... | "zFILDES\0" + SCM_RIGHTS	request 1
 *	<- "1: stream: OK\0" | "1: fd[7]: NAME FOUND\0" | ...
 *	   ...						request n
 *	-> "zEND\0"
 *
 * Requests are numbered from 1 in each session.  A file is sent once the
 * reply to the one before it has been read (a pipeline one deep), so reply
 * k answers request k; a reply with another number means the session is
 * out of step and it is dropped like a broken one.  clamd ends a session
 * itself after some errors (INSTREAM size limit), so any error reply closes
 * it too; the next file opens a new one.
 */
struct session {
	int fd;		  /* -1: none open */
	int pos;	  /* its server's position in p->order */
	unsigned long id; /* the last request number sent on it */
	uint64_t broken;  /* servers (bit i: p->addr[i]) that failed */
};

#define BIT(i) ((uint64_t)1 << (i))

/* session_end: close the session, saying "zEND" first when polite. */
static void
session_end(const struct pool *p, struct session *s, int polite)
{
	static const char cmd[] = "zEND";

	if (s->fd < 0)
		return;
	if (polite) {
		log_traffic("->", cmd, sizeof(cmd));
		(void)io_write_all(s->fd, cmd, sizeof(cmd),
		    io_after(p->c->connect_timeout_ms));
	}
	close(s->fd);
	s->fd = -1;
}

/* session_open: connect to the server at pos and start a session. */
static int
session_open(struct pool *p, struct session *s, int pos, ms_t deadline,
    struct why *w)
{
	static const char cmd[] = "zIDSESSION";
	const struct net_addr *a = &p->addr[p->order[pos]];
	int fd;

	if ((fd = pool_connect(p, p->order[pos], deadline, w)) < 0)
		return -1;
	log_step("IDSESSION on %s", a->name);
	log_traffic("->", cmd, sizeof(cmd));
	if (io_write_all(fd, cmd, sizeof(cmd), deadline) < 0) {
		why_errno(w, errno, "%s: sending zIDSESSION", a->name);
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->pos = pos;
	s->id = 0;
	return 0;
}

/*
 * session_gone: clamd sends nothing between replies; a session that is
 * readable has been closed (clamd's IdleTimeout while a verdict was being
 * written) or is out of step.
 */
static int
session_gone(const struct session *s)
{
	return io_wait(s->fd, POLLIN, io_now()) != 0;
}

/*
 * next_pos: where the current file goes next: the first server not yet
 * tried for it, from the session's server on in p->order, those that
 * failed earlier in the run last (as pool_init puts dead servers last).
 * Returns a position in p->order, or -1 when every server was tried.
 */
static int
next_pos(const struct pool *p, const struct session *s, uint64_t tried)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < p->n; k++) {
			int pos = (s->pos + k) % p->n, i = p->order[pos];

			if ((tried & BIT(i)) == 0 &&
			    ((s->broken & BIT(i)) != 0) == pass)
				return pos;
		}
	}
	return -1;
}

/* failed: server i broke the session: keep it last for the rest. */
static void
failed(struct pool *p, struct session *s, int i)
{
	s->broken |= BIT(i);
	pool_mark(p, i, 1);
}

/*
 * try_file: one attempt at the file on the server at position pos, on the
 * session when it is there, else on a new one.  Returns 1 when o is final,
 * 0 to try the next server (o->error extended), -1 to stop trying (o final:
 * oversize policy, or the input cannot be read or sent again).
 */
static int
try_file(struct pool *p, struct session *s, int pos, struct input *in,
    struct ring *r, ms_t deadline, struct outcome *o)
{
	const struct conf *c = p->c;
	int i = p->order[pos], st, alive, fildes;
	const struct net_addr *a = &p->addr[i];
	struct reply rep;
	struct reply_result res;
	struct why w;
	uint64_t sent = 0;
	char why[sizeof(a->name) + 2 + WHY_MAX], text[OUTCOME_TEXT_MAX + 1];

	fildes = scan_fildes(p, i, in);
	if (!fildes && input_rewind(in, r, &w) < 0) {
		fmt_s(why, sizeof(why), "%s: %s", a->name, w.text);
		scan_add_error(o, why);
		return -1;
	}
	if (s->fd >= 0 && s->pos != pos)
		session_end(p, s, 1);
	else if (s->fd >= 0 && session_gone(s))
		session_end(p, s, 0);
	if (s->fd < 0 && session_open(p, s, pos, deadline, &w) < 0) {
		scan_add_error(o, w.text);
		failed(p, s, i);
		return 0;
	}
	s->id++;
	if (fildes) {
		log_step("FILDES %s to %s, request %lu", in->name, a->name,
		    s->id);
		st = clamd_fildes_send(s->fd, in->fd, deadline, &w);
		reply_init(&rep);
		if (st == 0)
			st = clamd_read_reply(s->fd, &rep, deadline, &w);
		sent = in->size;
	} else {
		static const char cmd[] = "zINSTREAM";
		int stop = c->on_oversize != OVERSIZE_TRUNCATE;

		log_step("INSTREAM %s to %s, request %lu", in->name, a->name,
		    s->id);
		log_traffic("->", cmd, sizeof(cmd));
		st = io_write_all(s->fd, cmd, sizeof(cmd), deadline);
		if (st < 0)
			why_errno(&w, errno, "sending zINSTREAM");
		else
			st = clamd_instream_send(s->fd, in, r, c->chunk_size,
			    stop, deadline, &rep, &sent, &w);
		log_step("sent %" PRIu64 " bytes", sent);
		if (st == CLAMD_SENT_OVERSIZE) {
			/* Stopped inside INSTREAM: the session cannot go on. */
			session_end(p, s, 0);
			scan_oversize(c, in, o);
			return -1;
		}
		if (st == CLAMD_SENT_ALL)
			st = clamd_read_reply(s->fd, &rep, deadline, &w);
		else if (st == CLAMD_SENT_EARLY_REPLY)
			st = 0;
	}
	o->sent = sent;
	if (st < 0) {
		session_end(p, s, 0);
		fmt_s(why, sizeof(why), "%s: %s", a->name, w.text);
		scan_add_error(o, why);
		/* A failed read of the message itself ends its scan. */
		if (in->failed)
			return -1;
		failed(p, s, i);
		return 0;
	}
	reply_parse(rep.line, rep.len, &res);
	if (res.id != s->id) {
		session_end(p, s, 0);
		verdict_sanitize(text, rep.line, rep.len);
		fmt_s(why, sizeof(why),
		    "%s: reply \"%.100s\" does not answer IDSESSION "
		    "request %lu",
		    a->name, text, s->id);
		scan_add_error(o, why);
		failed(p, s, i);
		return 0;
	}
	st = scan_judge(c, a, &rep, in, o, &alive);
	pool_mark(p, i, !alive);
	if (st == 1) {
		fmt_s(o->server, sizeof(o->server), "%s", a->name);
		return 1;
	}
	session_end(p, s, alive);
	if (!alive)
		s->broken |= BIT(i);
	return 0;
}

/* scan_file: one file, its own deadline, every server if need be. */
static void
scan_file(struct pool *p, struct session *s, const char *file, struct ring *r,
    struct outcome *o)
{
	const struct conf *c = p->c;
	ms_t start = io_now(), deadline = start + c->timeout_ms;
	uint64_t tried = 0;
	struct input in;
	struct why w;
	char why[WHY_MAX];
	int st = 0, pos, left;

	memset(o, 0, sizeof(*o));
	o->result = RESULT_ERROR;
	if (input_open(&in, file, c->max_size, &w) < 0) {
		verdict_sanitize(o->error, w.text, strlen(w.text));
		return;
	}
	ring_reset(r);
	if (input_over(&in) && c->on_oversize != OVERSIZE_TRUNCATE) {
		scan_oversize(c, &in, o);
		st = -1;
	}
	for (left = p->n; st == 0 && (pos = next_pos(p, s, tried)) >= 0;
	     left--) {
		ms_t now = io_now();

		if (now >= deadline) {
			fmt_s(why, sizeof(why),
			    "%s: not tried, timeout_ms (%u) passed",
			    p->addr[p->order[pos]].name, c->timeout_ms);
			scan_add_error(o, why);
			break;
		}
		tried |= BIT(p->order[pos]);
		/* As scan_message: the time left, shared by those to try. */
		st = try_file(p, s, pos, &in, r, now + (deadline - now) / left,
		    o);
	}
	scan_finish(c, &in, st == 1, start, deadline, o);
	input_close(&in);
}

/*
 * scan_alone: protocol = stream: a clamd old enough to need STREAM gets
 * each file on a connection of its own, as a single message would.
 */
static void
scan_alone(struct pool *p, const char *file, struct ring *r, struct outcome *o)
{
	struct input in;
	struct why w;

	if (input_open(&in, file, p->c->max_size, &w) < 0) {
		memset(o, 0, sizeof(*o));
		o->result = RESULT_ERROR;
		verdict_sanitize(o->error, w.text, strlen(w.text));
		return;
	}
	scan_message(p, &in, r, o);
	input_close(&in);
}

/*
 * stdin_again: "-" named twice: the second would read an empty message
 * and pass it as clean.
 */
static int
stdin_again(char **files, int k, struct outcome *o)
{
	static const char text[] = "-: standard input named more than once";

	if (strcmp(files[k], "-") != 0)
		return 0;
	for (int j = 0; j < k; j++) {
		if (strcmp(files[j], "-") == 0) {
			memset(o, 0, sizeof(*o));
			o->result = RESULT_ERROR;
			verdict_sanitize(o->error, text, sizeof(text) - 1);
			return 1;
		}
	}
	return 0;
}

int
batch_scan(struct pool *p, char **files, int n, struct ring *r,
    batch_record record, void *ctx)
{
	struct session s = { .fd = -1, .pos = 0, .id = 0, .broken = 0 };
	struct outcome o;
	int st = 0;

	for (int k = 0; k < n && st == 0; k++) {
		if (stdin_again(files, k, &o))
			log_step("%s: skipped, named twice", files[k]);
		else if (p->c->protocol == PROTO_STREAM)
			scan_alone(p, files[k], r, &o);
		else
			scan_file(p, &s, files[k], r, &o);
		st = record(ctx, files[k], &o);
	}
	session_end(p, &s, 1);
	return st < 0 ? -1 : 0;
}
