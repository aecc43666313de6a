/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clamd.h"
#include "log.h"

#define BATCH 8

int
clamd_read_reply(int fd, struct reply *r, ms_t deadline, struct why *w)
{
	char buf[512];

	while (r->done == 0) {
		size_t used;
		ssize_t n = io_read(fd, buf, sizeof(buf), deadline);
		int st;

		if (n < 0)
			return errno == ETIMEDOUT ?
			    why_set(w, "no reply from clamd before the deadline") :
			    why_errno(w, errno, "reading the reply");
		if (n == 0)
			return r->len == 0 ?
			    why_set(w, "clamd closed the connection without a reply") :
			    why_set(w, "clamd closed the connection in the middle "
				"of its reply");
		log_traffic("<-", buf, (size_t)n);
		st = reply_feed(r, buf, (size_t)n, &used);
		if (st < 0)
			return why_set(w, "reply longer than %d bytes", REPLY_MAX);
		/* One request, one reply: nothing may follow it unasked. */
		if (st == 1 && used < (size_t)n) {
			why_set(w, "protocol error: %zu bytes after the reply",
			    (size_t)n - used);
			return why_as(w, WHY_PROTOCOL);
		}
	}
	return 0;
}

int
clamd_read_close(int fd, ms_t deadline, struct why *w)
{
	char buf[64];
	ssize_t n = io_read(fd, buf, sizeof(buf),
	    io_min(deadline, io_after(CLAMD_CLOSE_GRACE_MS)));

	if (n <= 0)
		return 0;	/* closed, reset, or silent: nothing more came */
	log_traffic("<-", buf, (size_t)n);
	why_set(w, "protocol error: %zd bytes after the reply, before the "
	    "close", n);
	return why_as(w, WHY_PROTOCOL);
}

int
clamd_command(int fd, const char *cmd, struct reply *r, ms_t deadline,
    struct why *w)
{
	char buf[64];
	size_t n = strlen(cmd);

	if (n + 2 > sizeof(buf))
		return why_set(w, "command too long");
	buf[0] = 'z';
	memcpy(buf + 1, cmd, n + 1);
	log_traffic("->", buf, n + 2);
	if (io_write_all(fd, buf, n + 2, deadline) < 0)
		return why_errno(w, errno, "sending z%s", cmd);
	reply_init(r);
	return clamd_read_reply(fd, r, deadline, w);
}

/*
 * early: the socket became readable, or a write failed, while we sent: clamd
 * answered before the end (size limit) and may have closed.  Read what it
 * said within a short grace.  Only an error can come before the end: an OK
 * or FOUND for a message clamd has not seen whole is a protocol error,
 * never a verdict.  Returns CLAMD_REPLY or -1.
 */
static int
early(int fd, struct reply *r, ms_t deadline, int werr, struct why *w)
{
	struct reply_result res;
	struct why ignored;
	ms_t grace = io_min(deadline, io_after(1000));

	if (clamd_read_reply(fd, r, grace, &ignored) < 0) {
		if (werr != 0)
			return why_errno(w, werr, "connection lost while sending");
		return why_set(w, "clamd closed the connection while we were "
		    "sending");
	}
	reply_parse(r->line, r->len, &res);
	if (res.kind == REPLY_OK || res.kind == REPLY_FOUND || res.kind ==
	    REPLY_PONG || res.kind == REPLY_TEXT) {
		why_set(w, "protocol error: clamd answered \"%.80s\" before "
		    "the end of the message", r->line);
		return why_as(w, WHY_PROTOCOL);
	}
	return CLAMD_REPLY;
}

/*
 * What is on its way.  The state changes only through tx_start:
 *
 *	TX_IDLE --(bytes to send)--> TX_DATA --(chunk written)--> TX_IDLE
 *	TX_IDLE --(input complete)--> TX_END --(written)--> done
 *
 * with the current chunk's header, its data length, how many of its wire
 * bytes went out, and the chunk size in force.
 */
enum tx_state { TX_IDLE, TX_DATA, TX_END };

struct tx {
	enum tx_state state;
	unsigned char hdr[4];
	size_t hlen;	/* 4 with INSTREAM framing, 0 for raw bytes */
	size_t clen;
	size_t coff;
	size_t chunk;
};

/* tx_start: enter state with a chunk of len bytes (TX_END: 0). */
static void
tx_start(struct tx *t, enum tx_state state, size_t len)
{
	t->state = state;
	t->hdr[0] = (unsigned char)(len >> 24);
	t->hdr[1] = (unsigned char)(len >> 16);
	t->hdr[2] = (unsigned char)(len >> 8);
	t->hdr[3] = (unsigned char)len;
	t->clen = len;
	t->coff = 0;
}

/*
 * tx_write: one writev of what is left of the current chunk and, when it
 * is a whole one, of up to BATCH - 1 whole chunks after it (their header
 * is the same), so a socket takes many chunks per system call.  Consumes
 * the data sent from the ring.  Returns 1 when every chunk written went
 * out whole, 0 when part of one is left (it is then the current chunk),
 * -1 with errno.
 */
static int
tx_write(int fd, struct tx *t, struct ring *r, uint64_t *sent)
{
	struct iovec iov[2 * BATCH + 2], d[2];
	size_t hleft = t->coff < t->hlen ? t->hlen - t->coff : 0;
	size_t dleft = t->clen - (t->coff - (t->hlen - hleft));
	size_t more = 0, off = 0, cur, whole, rem, got;
	int n = 0, s = 0;
	ssize_t k;

	if (t->clen == t->chunk && t->chunk > 0)
		more = (ring_unsent(r) - dleft) / t->chunk;
	if (more > BATCH - 1)
		more = BATCH - 1;
	ring_peek(r, d, dleft + more * t->chunk);
	for (size_t j = 0; j <= more; j++) {
		size_t need = j == 0 ? dleft : t->chunk;

		if (j == 0 ? hleft > 0 : t->hlen > 0) {
			iov[n].iov_base = t->hdr + (j == 0 ? t->coff : 0);
			iov[n++].iov_len = j == 0 ? hleft : t->hlen;
		}
		while (need > 0) {
			size_t take = d[s].iov_len - off;

			if (take > need)
				take = need;
			iov[n].iov_base = (char *)d[s].iov_base + off;
			iov[n++].iov_len = take;
			need -= take;
			off += take;
			if (off == d[s].iov_len)
				s++, off = 0;
		}
	}
	if ((k = writev(fd, iov, n)) < 0)
		return -1;
	cur = hleft + dleft;
	if ((size_t)k < cur) {
		got = (size_t)k > hleft ? (size_t)k - hleft : 0;
		ring_consume(r, got);
		*sent += got;
		t->coff += (size_t)k;
		return 0;
	}
	/* The current chunk went out, and whole ones after it. */
	whole = t->hlen + t->chunk;
	rem = ((size_t)k - cur) % whole;
	got = dleft + ((size_t)k - cur) / whole * t->chunk;
	if (rem > t->hlen)
		got += rem - t->hlen;
	ring_consume(r, got);
	*sent += got;
	if (rem == 0)
		return 1;
	t->clen = t->chunk;
	t->coff = rem;
	return 0;
}

/* One message on its way: the parameter block and what has happened. */
struct send {
	const struct clamd_msg *m;
	int cfd, dfd;
	int framed;
	int blocked;	/* the last write found the socket full */
	struct tx t;
	struct reply *rep;
	uint64_t *sent;
};

/* complete: every byte to send is in the ring (or sent). */
static int
complete(const struct send *s)
{
	const struct input *in = s->m->in;

	return in->eof || (!s->m->stop_over && in->limit != 0 &&
	    in->total >= in->limit);
}

/*
 * next_chunk: in TX_IDLE, start the next chunk when there are bytes for
 * one, or the end when the input is complete.  Returns 1 when a raw send
 * has nothing more to write, else 0.
 */
static int
next_chunk(struct send *s)
{
	size_t u = ring_unsent(s->m->r), chunk = s->t.chunk;

	if (s->t.state != TX_IDLE)
		return 0;
	/* Raw bytes need no framing: send what there is. */
	if (u >= chunk || (u > 0 && (complete(s) || !s->framed))) {
		tx_start(&s->t, TX_DATA, u < chunk ? u : chunk);
	} else if (complete(s)) {
		if (!s->framed)
			return 1;
		log_traffic("->", "\0\0\0\0", 4);
		tx_start(&s->t, TX_END, 0);
	}
	return 0;
}

/* want_input: whether to read the input now: there is room, and need. */
static int
want_input(const struct send *s)
{
	const struct input *in = s->m->in;
	struct ring *r = s->m->r;
	size_t space;

	if (complete(s) || (s->t.state != TX_IDLE &&
	    ring_unsent(r) >= s->t.chunk))
		return 0;
	ring_space(r, &space);
	/* Past the limit bytes are dropped: room or not, read on. */
	return space > 0 || (in->limit != 0 && in->total >= in->limit);
}

/*
 * wait_for: poll what sending needs: cfd for an early reply (and for
 * writing when it is dfd), dfd for writing, the input for reading.  A
 * socket not known to be full is taken as writable without a poll
 * (write first; poll only once it is full, and before the final
 * zero-length chunk: a reply already waiting then came before the end,
 * never a verdict).  Fills pf, *di (dfd's entry, -1 when none) and *np.
 * Returns io_poll's result.
 */
static int
wait_for(struct send *s, int want_read, struct pollfd *pf, int *di, int *np)
{
	int want_write = s->t.state != TX_IDLE, n = 0;

	pf[n].fd = s->cfd;
	pf[n].events = POLLIN;
	pf[n++].revents = 0;
	*di = -1;
	if (want_write && s->dfd == s->cfd) {
		pf[0].events |= POLLOUT;
		*di = 0;
	} else if (want_write) {
		pf[n].fd = s->dfd;
		pf[n].events = POLLOUT;
		pf[n].revents = 0;
		*di = n++;
	}
	if (want_read) {
		pf[n].fd = s->m->in->fd;
		pf[n].events = POLLIN;
		pf[n++].revents = 0;
	}
	*np = n;
	if (want_write && !want_read && !s->blocked && s->t.state != TX_END) {
		pf[*di].revents = POLLOUT;
		return 1;
	}
	s->blocked = 0;
	return io_poll(pf, (nfds_t)n, s->m->deadline);
}

/*
 * write_some: the socket is writable (or failed): write on.  Returns 0 to
 * go on, 1 when the end went out, -1 when the write failed (errno).
 */
static int
write_some(struct send *s)
{
	int st = tx_write(s->dfd, &s->t, s->m->r, s->sent);

	if (st < 0) {
		if (errno == EAGAIN)
			s->blocked = 1;
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	}
	if (st == 1) {
		if (s->t.state == TX_END)
			return 1;
		tx_start(&s->t, TX_IDLE, 0);
	}
	return 0;
}

int
clamd_send(int cfd, int dfd, int framed, const struct clamd_msg *m,
    struct reply *rep, uint64_t *sent, struct why *w)
{
	struct send s = { .m = m, .cfd = cfd, .dfd = dfd, .framed = framed,
		.rep = rep, .sent = sent };
	struct input *in = m->in;

	s.t.hlen = framed ? sizeof(s.t.hdr) : 0;
	/* A chunk is taken whole from the ring: it cannot be larger. */
	s.t.chunk = m->chunk > m->r->cap ? m->r->cap : m->chunk;
	*sent = 0;
	reply_init(rep);
	for (;;) {
		struct pollfd pf[3];
		int want_read, rr, di, np, st;

		if (m->stop_over && input_over(in))
			return CLAMD_OVERSIZE;
		if (next_chunk(&s))
			return CLAMD_SENT;
		want_read = want_input(&s);
		/* A regular file is always readable: read it at once. */
		if (want_read && in->is_regular) {
			if (input_fill(in, m->r, m->deadline, w) < 0)
				return -1;
			continue;
		}
		if (!want_read && s.t.state == TX_IDLE)
			return why_set(w, "internal error: nothing to wait for");
		if ((rr = wait_for(&s, want_read, pf, &di, &np)) < 0)
			return why_errno(w, errno, "poll");
		if (rr == 0 && (s.t.state != TX_IDLE || !want_read))
			return why_set(w, "timed out sending to clamd");
		if (rr == 0) {
			/* The input's fault, not the server's. */
			why_set(w, "timed out waiting for the message");
			return why_as(w, WHY_INPUT);
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			return early(cfd, rep, m->deadline, 0, w);
		if (want_read && pf[np - 1].revents != 0 &&
		    input_fill(in, m->r, m->deadline, w) < 0)
			return -1;
		/* A failed data connection shows as POLLERR/POLLHUP alone. */
		if (di < 0 || (pf[di].revents & (POLLOUT | POLLERR | POLLHUP)) ==
		    0)
			continue;
		if ((st = write_some(&s)) < 0)
			return early(cfd, rep, m->deadline, errno, w);
		if (st > 0)
			return CLAMD_SENT;
	}
}

int
clamd_instream(int fd, const struct clamd_msg *m, struct reply *rep,
    uint64_t *sent, struct why *w)
{
	static const char cmd[] = "zINSTREAM";
	int st;

	*sent = 0;
	log_traffic("->", cmd, sizeof(cmd));
	if (io_write_all(fd, cmd, sizeof(cmd), m->deadline) < 0)
		return why_errno(w, errno, "sending zINSTREAM");
	st = clamd_send(fd, fd, 1, m, rep, sent, w);
	if (st == CLAMD_SENT)
		return clamd_read_reply(fd, rep, m->deadline, w) < 0 ? -1 :
		    CLAMD_REPLY;
	return st;
}

int
clamd_fildes(int fd, int file_fd, ms_t deadline, struct reply *rep,
    struct why *w)
{
	static const char cmd[] = "zFILDES";
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m;
	struct iovec iov;
	struct cmsghdr *c;
	char byte = 0;

	log_traffic("->", cmd, sizeof(cmd));
	if (io_write_all(fd, cmd, sizeof(cmd), deadline) < 0)
		return why_errno(w, errno, "sending zFILDES");
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &file_fd, sizeof(int));
	for (;;) {
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
		int r;

		if (k == 1)
			break;
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return why_errno(w, errno, "passing the descriptor");
		r = io_wait(fd, POLLOUT, deadline);
		if (r <= 0)
			return r == 0 ? why_set(w, "timed out passing the "
			    "descriptor") : why_errno(w, errno, "poll");
	}
	reply_init(rep);
	return clamd_read_reply(fd, rep, deadline, w) < 0 ? -1 : CLAMD_REPLY;
}
