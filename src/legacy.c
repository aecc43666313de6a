/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clamd.h"
#include "legacy.h"
#include "log.h"
#include "verdict.h"

/*
 * port_parse: the answer to STREAM, as clamd 0.103 and older write it
 * ("PORT %u"):
 *
 *	"PORT" SP 1*5DIGIT		value 1..65535, nothing after it
 *
 * Returns the port, or 0 for anything else.
 */
static unsigned
port_parse(const char *line, size_t len)
{
	unsigned v = 0;

	if (len < 6 || len > 10 || memcmp(line, "PORT ", 5) != 0)
		return 0;
	for (size_t i = 5; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(line[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

/*
 * abort_conn: end a connection with a reset (SO_LINGER 0).  STREAM has no
 * end marker: a plain close of the data connection tells clamd the message
 * is complete, and it would scan what it got.  A reset says it is not.
 */
static void
abort_conn(int fd, int do_close)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	if (do_close)
		close(fd);
	else
		(void)shutdown(fd, SHUT_RDWR);
}

/*
 * data_end: end the message with a half-close and wait for clamd to close
 * its side.  clamd closes the data connection once it has read up to our
 * end of file, or when it stops at its StreamMaxLength; then the bytes it
 * left unread make the close a reset, and its coming "stream: OK" covers
 * a part only.  (Through a proxy the reset may show as a plain close.)
 */
static int
data_end(int dfd, ms_t deadline, struct why *w)
{
	char buf[512];
	ssize_t n;

	/*
	 * A reset that came in after the last write leaves the socket
	 * unconnected, and shutdown() says ENOTCONN: clamd ended it first.
	 */
	if (shutdown(dfd, SHUT_WR) < 0) {
		if (errno != ENOTCONN)
			return why_errno(w, errno, "ending the data connection");
		errno = ECONNRESET;
		n = -1;
	} else {
		while ((n = io_read(dfd, buf, sizeof(buf), deadline)) > 0)
			continue;
	}
	if (n == 0)
		return 0;
	if (errno == ECONNRESET)
		return why_set(w,
		    "clamd closed the data connection before the end of the "
		    "message: its StreamMaxLength is below the message size; "
		    "set [message] max_size at or below it");
	if (errno == ETIMEDOUT)
		return why_set(w,
		    "clamd did not close the data connection before the "
		    "deadline");
	return why_errno(w, errno, "data connection");
}

int
legacy_stream(const struct dial *d, const struct net_addr *a, int fd,
    const struct clamd_msg *m, struct reply *rep, uint64_t *sent,
    struct why *w)
{
	static const char cmd[] = "zSTREAM";
	struct reply_result res;
	char text[OUTCOME_TEXT_MAX + 1];
	unsigned port;
	struct why e;
	int dfd, st;

	*sent = 0;
	log_traffic("->", cmd, sizeof(cmd));
	if (io_write_all(fd, cmd, sizeof(cmd), m->deadline) < 0)
		return why_errno(w, errno, "sending zSTREAM");
	reply_init(rep);
	if (clamd_read_reply(fd, rep, m->deadline, w) < 0)
		return -1;
	reply_parse(rep->line, rep->len, &res);
	switch (res.kind) {
	case REPLY_UNKNOWN_COMMAND: /* clamd 0.104 and later */
	case REPLY_ERROR:
	case REPLY_READ_TIMEOUT:
		return CLAMD_REPLY; /* clamd's own error */
	default:
		break;
	}
	if ((port = port_parse(rep->line, rep->len)) == 0) {
		verdict_sanitize(text, rep->line, rep->len);
		why_set(w, "clamd answered STREAM with \"%.100s\"", text);
		return why_as(w, WHY_PROTOCOL);
	}

	log_step("reply from %s: PORT %u, the data connection's", a->name, port);
	if ((dfd = dial_port(d, a, port, m->deadline, &e)) < 0)
		return why_set(w, "data connection %s", e.text);
	st = clamd_send(fd, dfd, 0, m, rep, sent, w);
	if (st == CLAMD_SENT) {
		/* The end of the data connection is the end of the message. */
		if (data_end(dfd, m->deadline, w) == 0) {
			close(dfd);
			return clamd_read_reply(fd, rep, m->deadline, w) < 0 ?
			    -1 : CLAMD_REPLY;
		}
		st = -1;
	}
	/* Early replies are errors only (clamd_send refuses an early OK). */
	abort_conn(dfd, 1);
	if (st < 0)
		abort_conn(fd, 0);
	return st;
}
