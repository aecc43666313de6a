/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
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
 *
 * The session is a link (scan.h): the requests and the choice of servers
 * are scan.c's and request.c's, as for a single message.
 */
/* session_end: close the session, saying "zEND" first when polite. */
static void
session_end(const struct pool *p, struct link *s, int polite)
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

/*
 * session_gone: clamd sends nothing between replies; a session that is
 * readable has been closed (clamd's IdleTimeout while a verdict was being
 * written) or is out of step.
 */
static int
session_gone(const struct link *s)
{
	return io_wait(s->fd, POLLIN, io_now()) != 0;
}

/*
 * session_open: the session on the server at pos, the one open when it is
 * there and still well, else a new one; the next request number.
 */
static int
session_open(struct link *s, struct pool *p, int pos, ms_t deadline,
    struct why *w)
{
	static const char cmd[] = "zIDSESSION";
	const struct net_addr *a = &p->addr[p->order[pos]];
	int fd;

	if (s->fd >= 0 && s->pos != pos)
		session_end(p, s, 1);
	else if (s->fd >= 0 && session_gone(s))
		session_end(p, s, 0);
	if (s->fd < 0) {
		if ((fd = dial_connect(&p->dial, a, deadline, w)) < 0)
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
	}
	s->id++;
	return s->fd;
}

static void
session_done(struct link *s, struct pool *p, enum link_end how)
{
	if (how != LINK_KEEP)
		session_end(p, s, how == LINK_END);
}

/*
 * stdin_again: "-" named twice: the second would read an empty message
 * and pass it as clean.
 */
static int
stdin_again(const struct pool *p, char **files, int k, struct outcome *o)
{
	if (strcmp(files[k], "-") != 0)
		return 0;
	for (int j = 0; j < k; j++) {
		if (strcmp(files[j], "-") == 0) {
			verdict_outcome(o);
			o->deadline = io_after(p->c->timeout_ms);
			verdict_add_error(o,
			    "-: standard input named more than once");
			return 1;
		}
	}
	return 0;
}

int
batch_scan(struct pool *p, char **files, int n, struct ring *r,
    batch_record record, void *ctx)
{
	struct link l;
	struct outcome o;
	int st = 0;

	/* STREAM is refused inside a session: a connection per file. */
	scan_direct(&l);
	if (p->c->protocol != PROTO_STREAM) {
		l.open = session_open;
		l.done = session_done;
	}
	for (int k = 0; k < n && st == 0; k++) {
		if (stdin_again(p, files, k, &o))
			log_step("%s: skipped, named twice", files[k]);
		else
			scan_file(p, &l, files[k], io_now(), r, &o);
		st = record(ctx, files[k], &o);
	}
	session_end(p, &l, 1);
	return st < 0 ? -1 : 0;
}
