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
	}
	return 0;
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
 * never a verdict.  Returns CLAMD_SENT_EARLY_REPLY or -1.
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
	    REPLY_PONG || res.kind == REPLY_TEXT)
		return why_set(w, "protocol error: clamd answered \"%.80s\" "
		    "before the end of the message", r->line);
	return CLAMD_SENT_EARLY_REPLY;
}

/*
 * What is on its way: the current chunk (its header, data length, and how
 * many of its wire bytes went out) and the chunk size in force.
 */
struct tx {
	unsigned char hdr[4];
	size_t hlen;	/* 4 with INSTREAM framing, 0 for raw bytes */
	size_t clen;
	size_t coff;
	size_t chunk;
};

/* tx_start: the next chunk holds len bytes. */
static void
tx_start(struct tx *t, size_t len)
{
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

int
clamd_send(int cfd, int dfd, int framed, struct input *in, struct ring *r,
    unsigned chunk, int stop_over, ms_t deadline, struct reply *rep,
    uint64_t *sent, struct why *w)
{
	struct tx t = { .hlen = framed ? sizeof(t.hdr) : 0 };
	int in_chunk = 0, end = 0, blocked = 0;

	/* A chunk is taken whole from the ring: it cannot be larger. */
	if (chunk > r->cap)
		chunk = (unsigned)r->cap;
	t.chunk = chunk;
	*sent = 0;
	reply_init(rep);
	for (;;) {
		struct pollfd pf[3];
		int complete, want_read, want_write, np, rr, di = -1;

		if (stop_over && input_over(in))
			return CLAMD_SENT_OVERSIZE;
		complete = in->eof || (!stop_over && in->limit != 0 &&
		    in->total >= in->limit);
		if (!in_chunk && !end) {
			size_t u = ring_unsent(r);

			/* Raw bytes need no framing: send what there is. */
			if (u >= chunk || (u > 0 && (complete || !framed))) {
				tx_start(&t, u < chunk ? u : chunk);
				in_chunk = 1;
			} else if (complete) {
				if (!framed)
					return CLAMD_SENT_ALL;
				log_traffic("->", "\0\0\0\0", 4);
				tx_start(&t, 0);
				in_chunk = 1;
				end = 1;
			}
		}
		want_write = in_chunk;
		want_read = !complete && !(in_chunk && ring_unsent(r) >= chunk);
		if (want_read) {
			size_t space;

			ring_space(r, &space);
			if (space == 0 && !(in->limit != 0 &&
			    in->total >= in->limit))
				want_read = 0;
		}

		/* A regular file is always readable: read it at once. */
		if (want_read && in->is_regular) {
			if (input_fill(in, r, deadline, w) < 0)
				return -1;
			continue;
		}
		np = 0;
		pf[np].fd = cfd;
		pf[np].events = POLLIN;
		pf[np++].revents = 0;
		if (want_write && dfd == cfd) {
			pf[0].events |= POLLOUT;
			di = 0;
		} else if (want_write) {
			pf[np].fd = dfd;
			pf[np].events = POLLOUT;
			pf[np].revents = 0;
			di = np++;
		}
		if (want_read) {
			pf[np].fd = in->fd;
			pf[np].events = POLLIN;
			pf[np++].revents = 0;
		}
		if (!want_read && !want_write)
			return why_set(w, "internal error: nothing to wait for");
		if (want_write && !want_read && !blocked && !end) {
			/*
			 * Write first; poll only once the socket is full, and
			 * before the final zero-length chunk: a reply already
			 * waiting then came before the end (never a verdict).
			 */
			for (int q = 0; q < np; q++)
				pf[q].revents = 0;
			pf[di].revents = POLLOUT;
			rr = 1;
		} else {
			rr = io_poll(pf, (nfds_t)np, deadline);
			blocked = 0;
		}
		if (rr < 0)
			return why_errno(w, errno, "poll");
		if (rr == 0 && (in_chunk || !want_read))
			return why_set(w, "timed out sending to clamd");
		if (rr == 0) {
			/* The input's fault, not the server's: see input.h. */
			in->failed = 1;
			return why_set(w, "timed out waiting for the message");
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			return early(cfd, rep, deadline, 0, w);
		if (want_read && pf[np - 1].revents != 0) {
			if (input_fill(in, r, deadline, w) < 0)
				return -1;
		}
		/* A failed data connection shows as POLLERR/POLLHUP alone. */
		if (di >= 0 &&
		    (pf[di].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
			int st = tx_write(dfd, &t, r, sent);

			if (st < 0) {
				if (errno == EAGAIN)
					blocked = 1;
				if (errno == EINTR || errno == EAGAIN)
					continue;
				return early(cfd, rep, deadline, errno, w);
			}
			if (st == 1) {
				in_chunk = 0;
				if (end)
					return CLAMD_SENT_ALL;
			}
		}
	}
}

int
clamd_instream_send(int fd, struct input *in, struct ring *r, unsigned chunk,
    int stop_over, ms_t deadline, struct reply *rep, uint64_t *sent,
    struct why *w)
{
	return clamd_send(fd, fd, 1, in, r, chunk, stop_over, deadline, rep,
	    sent, w);
}

int
clamd_fildes_send(int fd, int file_fd, ms_t deadline, struct why *w)
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
			return 0;
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return why_errno(w, errno, "passing the descriptor");
		r = io_wait(fd, POLLOUT, deadline);
		if (r <= 0)
			return r == 0 ? why_set(w, "timed out passing the "
			    "descriptor") : why_errno(w, errno, "poll");
	}
}
