/* SPDX-License-Identifier: ISC */
/*
 * The SOCKS client: SOCKS5 (RFC 1928) with no authentication or RFC 1929
 * user/password, and SOCKS4a.  Every packet is written whole, every reply is
 * read field by field, exactly as long as its fields say, so the first byte
 * left on the descriptor is the first byte clamd sends.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "log.h"
#include "socks.h"

#define SOCKS_FIELD_MAX 255	/* one length byte: RFC 1928 §5, RFC 1929 §2 */

#define SOCKS5_VERSION 5
#define SOCKS5_CMD_CONNECT 1
#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_REFUSED 0xff
#define SOCKS5_ATYP_IPV4 1
#define SOCKS5_ATYP_DOMAIN 3
#define SOCKS5_ATYP_IPV6 4
#define SOCKS5_REPLY_HEAD 5	/* VER REP RSV ATYP and one address byte */

#define SOCKS4_VERSION 4
#define SOCKS4_CMD_CONNECT 1
#define SOCKS4_REPLY_LEN 8
#define SOCKS4_GRANTED 90

/* RFC 1928 §6, the REP field. */
static const char *const socks5_rep[] = {
	"succeeded",
	"general SOCKS server failure",
	"connection not allowed by ruleset",
	"network unreachable",
	"host unreachable",
	"connection refused",
	"TTL expired",
	"command not supported",
	"address type not supported",
};

/* The SOCKS4 protocol document and its 4A extension, the CD field. */
static const char *const socks4_cd[] = {
	"request granted",
	"request rejected or failed",
	"rejected: the proxy cannot reach identd on the client",
	"rejected: identd and the client report different user ids",
};

/* The target's address and port in network byte order, or its name. */
struct socks_dest {
	int family;		/* AF_INET, AF_INET6, or AF_UNSPEC: by name */
	const unsigned char *addr;
	const char *name;
	size_t namelen;
	unsigned char port[2];
};

/*
 * socks_io_error: the reason for a failed read or write.  A reset or a
 * broken pipe is the proxy closing on us, as an end of file is.
 */
static int
socks_io_error(const char *proto, int err, struct why *w)
{
	if (err == ETIMEDOUT)
		return why_set(w, "%s proxy handshake timed out", proto);
	if (err == EPIPE || err == ECONNRESET)
		return why_set(w, "%s proxy closed the connection during the "
		    "handshake", proto);
	return why_errno(w, err, "%s proxy handshake", proto);
}

static int
socks_send(int fd, const char *proto, const unsigned char *p, size_t n,
    int secret, ms_t deadline, struct why *w)
{
	if (!secret)
		log_traffic("->", p, n);
	if (io_write_all(fd, p, n, deadline) < 0)
		return socks_io_error(proto, errno, w);
	return 0;
}

/*
 * socks_recv: read exactly n bytes.  Returns n, or the shorter count when
 * the proxy closed first (the caller may still find a reply code in a
 * partial reply), or -1 with w set.
 */
static ssize_t
socks_recv(int fd, const char *proto, unsigned char *p, size_t n,
    ms_t deadline, struct why *w)
{
	ssize_t got;

	got = io_read_exact(fd, p, n, deadline);
	if (got < 0)
		return socks_io_error(proto, errno, w);
	if (got > 0)
		log_traffic("<-", p, (size_t)got);
	return got;
}

static int
socks_closed(const char *proto, struct why *w)
{
	return why_set(w, "%s proxy closed the connection during the handshake",
	    proto);
}

/*
 * socks_dest: where the proxy is to connect.  A resolved address is sent
 * as such; an unresolved one by name, which must fit a length byte (config
 * rejects longer ones; this is the last line, never a truncation).
 */
static int
socks_dest(const struct net_addr *t, struct socks_dest *d, struct why *w)
{
	unsigned port;

	memset(d, 0, sizeof(*d));
	if (t->is_unix)
		return why_set(w, "SOCKS cannot reach a Unix socket (%s)",
		    t->host);
	if (t->salen == 0) {
		d->family = AF_UNSPEC;
		d->name = t->host;
		d->namelen = strnlen(t->host, sizeof(t->host));
		if (d->namelen == 0)
			return why_set(w, "SOCKS: no host name to connect to");
		if (d->namelen > SOCKS_FIELD_MAX)
			return why_set(w, "SOCKS: host name longer than %d "
			    "bytes", SOCKS_FIELD_MAX);
		port = t->port;
	} else if (t->sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&t->sa;

		d->family = AF_INET;
		d->addr = (const unsigned char *)&in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (t->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&t->sa;

		d->family = AF_INET6;
		d->addr = (const unsigned char *)&in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	} else {
		return why_set(w, "SOCKS: unsupported address family %d",
		    t->sa.ss_family);
	}
	if (port == 0 || port > 65535)
		return why_set(w, "SOCKS: bad port %u for %s", port, t->host);
	d->port[0] = (unsigned char)(port >> 8);
	d->port[1] = (unsigned char)(port & 0xff);
	return 0;
}

long
socks5_reply_check(const unsigned char *p, size_t n, struct why *w)
{
	if (n < 1)
		return why_set(w, "SOCKS5 proxy sent an empty reply");
	if (p[0] != SOCKS5_VERSION)
		return why_set(w, "SOCKS5 proxy: not a SOCKS5 reply (version "
		    "%u)", p[0]);
	if (n < 2)
		return why_set(w, "SOCKS5 proxy: reply too short (%zu bytes)",
		    n);
	if (p[1] != 0) {
		if (p[1] < sizeof(socks5_rep) / sizeof(socks5_rep[0]))
			return why_set(w, "SOCKS5 proxy refused: REP %02X %s",
			    p[1], socks5_rep[p[1]]);
		return why_set(w, "SOCKS5 proxy refused: unassigned reply "
		    "code 0x%02X", p[1]);
	}
	if (n < SOCKS5_REPLY_HEAD)
		return why_set(w, "SOCKS5 proxy: reply too short (%zu bytes)",
		    n);
	/*
	 * The length of BND.ADDR, then BND.PORT (2): RFC 1928 §5 and §6.
	 */
	switch (p[3]) {
	case SOCKS5_ATYP_IPV4:
		return 4 + 4 + 2;
	case SOCKS5_ATYP_IPV6:
		return 4 + 16 + 2;
	case SOCKS5_ATYP_DOMAIN:
		return 4 + 1 + (long)p[4] + 2;
	default:
		return why_set(w, "SOCKS5 proxy: bad address type in reply "
		    "(ATYP %u)", p[3]);
	}
}

int
socks4_reply_check(const unsigned char *p, size_t n, struct why *w)
{
	if (n < 1)
		return why_set(w, "SOCKS4a proxy sent an empty reply");
	if (p[0] != 0)
		return why_set(w, "SOCKS4a proxy: not a SOCKS4 reply (version "
		    "%u)", p[0]);
	if (n < 2)
		return why_set(w, "SOCKS4a proxy: reply too short (%zu bytes)",
		    n);
	if (p[1] != SOCKS4_GRANTED) {
		if (p[1] > SOCKS4_GRANTED &&
		    p[1] - SOCKS4_GRANTED <
		    (int)(sizeof(socks4_cd) / sizeof(socks4_cd[0])))
			return why_set(w, "SOCKS4a proxy refused: CD %u %s",
			    p[1], socks4_cd[p[1] - SOCKS4_GRANTED]);
		return why_set(w, "SOCKS4a proxy refused: unknown reply code "
		    "%u", p[1]);
	}
	if (n < SOCKS4_REPLY_LEN)
		return why_set(w, "SOCKS4a proxy: reply too short (%zu bytes)",
		    n);
	return 0;
}

/*
 * socks5_auth: RFC 1929 §2, after the proxy chose method 02.
 *
 *	+----+------+----------+------+----------+
 *	|VER | ULEN |  UNAME   | PLEN |  PASSWD  |
 *	+----+------+----------+------+----------+
 *	| 1  |  1   | 1 to 255 |  1   | 0 to 255 |
 *	+----+------+----------+------+----------+
 *
 * and the reply VER STATUS, where any STATUS but 00 is a refusal.  The
 * packet holds the password: it is wiped, and not logged.
 */
static int
socks5_auth(int fd, const struct conf *c, ms_t deadline, struct why *w)
{
	unsigned char pkt[3 + 2 * SOCKS_FIELD_MAX], rep[2];
	size_t ulen, plen, n = 0;
	ssize_t got;
	int r;

	ulen = strnlen(c->socks_user, sizeof(c->socks_user));
	plen = strnlen(c->socks_pass, sizeof(c->socks_pass));
	if (ulen == 0 || ulen > SOCKS_FIELD_MAX)
		return why_set(w, "SOCKS5: user name must be 1 to %d bytes",
		    SOCKS_FIELD_MAX);
	if (plen > SOCKS_FIELD_MAX)
		return why_set(w, "SOCKS5: password longer than %d bytes",
		    SOCKS_FIELD_MAX);
	pkt[n++] = 1;
	pkt[n++] = (unsigned char)ulen;
	memcpy(pkt + n, c->socks_user, ulen);
	n += ulen;
	pkt[n++] = (unsigned char)plen;
	memcpy(pkt + n, c->socks_pass, plen);
	n += plen;
	log_step("SOCKS5 user/password for %s (%zu bytes, not shown)",
	    c->socks_user, n);
	r = socks_send(fd, "SOCKS5", pkt, n, 1, deadline, w);
	explicit_bzero(pkt, sizeof(pkt));
	if (r < 0)
		return -1;

	if ((got = socks_recv(fd, "SOCKS5", rep, sizeof(rep), deadline, w)) < 0)
		return -1;
	if (got < (ssize_t)sizeof(rep))
		return socks_closed("SOCKS5", w);
	/* RFC 1929 says VER 1; a few servers echo the SOCKS version. */
	if (rep[0] != 1 && rep[0] != SOCKS5_VERSION)
		return why_set(w, "SOCKS5 proxy: not an RFC 1929 reply "
		    "(version %u)", rep[0]);
	if (rep[1] != 0)
		return why_set(w, "SOCKS5 proxy: authentication rejected "
		    "(status %u)", rep[1]);
	return 0;
}

/*
 * socks5_handshake: RFC 1928.  The greeting offers method 00, and 02
 * only when a user is configured:
 *
 *	+----+----------+----------+        +----+--------+
 *	|VER | NMETHODS | METHODS  |   ->   |VER | METHOD |
 *	+----+----------+----------+   <-   +----+--------+
 *	| 1  |    1     | 1 to 255 |        | 1  |   1    |
 *	+----+----------+----------+        +----+--------+
 *
 * then the CONNECT request:
 *
 *	+----+-----+-------+------+----------+----------+
 *	|VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
 *	+----+-----+-------+------+----------+----------+
 *	| 1  |  1  | X'00' |  1   | Variable |    2     |
 *	+----+-----+-------+------+----------+----------+
 *
 * DST.ADDR is 4 bytes (ATYP 1), 16 bytes (ATYP 4), or a length byte and
 * the name (ATYP 3).  The reply has the same shape, REP in place of CMD:
 * its first 5 bytes say how long BND.ADDR is, and only that much more is
 * read.
 */
static int
socks5_handshake(int fd, const struct conf *c, const struct socks_dest *d,
    ms_t deadline, struct why *w)
{
	unsigned char pkt[4 + 1 + SOCKS_FIELD_MAX + 2];
	size_t n = 0;
	ssize_t got;
	long len;
	int userpass = c->socks_user[0] != '\0';

	pkt[n++] = SOCKS5_VERSION;
	pkt[n++] = userpass ? 2 : 1;
	pkt[n++] = SOCKS5_METHOD_NONE;
	if (userpass)
		pkt[n++] = SOCKS5_METHOD_USERPASS;
	if (socks_send(fd, "SOCKS5", pkt, n, 0, deadline, w) < 0)
		return -1;

	if ((got = socks_recv(fd, "SOCKS5", pkt, 2, deadline, w)) < 0)
		return -1;
	if (got < 2)
		return socks_closed("SOCKS5", w);
	if (pkt[0] != SOCKS5_VERSION)
		return why_set(w, "SOCKS5 proxy: not a SOCKS5 reply (version "
		    "%u)", pkt[0]);
	if (pkt[1] == SOCKS5_METHOD_REFUSED)
		return why_set(w, "SOCKS5 proxy: no acceptable authentication "
		    "method (method FF)%s", userpass ? "" :
		    "; it may need a username and password");
	if (pkt[1] == SOCKS5_METHOD_USERPASS && userpass) {
		if (socks5_auth(fd, c, deadline, w) < 0)
			return -1;
	} else if (pkt[1] != SOCKS5_METHOD_NONE) {
		return why_set(w, "SOCKS5 proxy chose a method that was not "
		    "offered (method %02X)", pkt[1]);
	}

	n = 0;
	pkt[n++] = SOCKS5_VERSION;
	pkt[n++] = SOCKS5_CMD_CONNECT;
	pkt[n++] = 0;
	switch (d->family) {
	case AF_INET:
		pkt[n++] = SOCKS5_ATYP_IPV4;
		memcpy(pkt + n, d->addr, 4);
		n += 4;
		break;
	case AF_INET6:
		pkt[n++] = SOCKS5_ATYP_IPV6;
		memcpy(pkt + n, d->addr, 16);
		n += 16;
		break;
	default:
		if (d->namelen > SOCKS_FIELD_MAX)
			return why_set(w, "SOCKS5: host name longer than %d "
			    "bytes", SOCKS_FIELD_MAX);
		pkt[n++] = SOCKS5_ATYP_DOMAIN;
		pkt[n++] = (unsigned char)d->namelen;
		memcpy(pkt + n, d->name, d->namelen);
		n += d->namelen;
		break;
	}
	pkt[n++] = d->port[0];
	pkt[n++] = d->port[1];
	if (socks_send(fd, "SOCKS5", pkt, n, 0, deadline, w) < 0)
		return -1;

	got = socks_recv(fd, "SOCKS5", pkt, SOCKS5_REPLY_HEAD, deadline, w);
	if (got < 0)
		return -1;
	if (got < SOCKS5_REPLY_HEAD) {
		/* A wrong version or a refusal cut short still says why. */
		if ((got >= 1 && pkt[0] != SOCKS5_VERSION) ||
		    (got >= 2 && pkt[1] != 0))
			return (int)socks5_reply_check(pkt, (size_t)got, w);
		return socks_closed("SOCKS5", w);
	}
	if ((len = socks5_reply_check(pkt, SOCKS5_REPLY_HEAD, w)) < 0)
		return -1;
	if (len < SOCKS5_REPLY_HEAD || (size_t)len > sizeof(pkt))
		return why_set(w, "SOCKS5 proxy: bad reply length %ld", len);
	got = socks_recv(fd, "SOCKS5", pkt + SOCKS5_REPLY_HEAD,
	    (size_t)len - SOCKS5_REPLY_HEAD, deadline, w);
	if (got < 0)
		return -1;
	if (got < len - SOCKS5_REPLY_HEAD)
		return socks_closed("SOCKS5", w);
	return 0;
}

/*
 * socks4_handshake: SOCKS4, and the 4A extension for a name:
 *
 *	+----+----+----+----+----+----+----+----+----+----+....+----+
 *	| VN | CD | DSTPORT |      DSTIP        | USERID       |NULL|
 *	+----+----+----+----+----+----+----+----+----+----+....+----+
 *	   1    1      2              4           variable       1
 *
 * VN 4, CD 1 (CONNECT).  For a name, DSTIP is 0.0.0.x with x != 0 and the
 * name follows the USERID's NUL, NUL-terminated itself.  The reply is
 * 8 bytes: VN 0, CD 90 granted (91, 92, 93 refusals), then DSTPORT and
 * DSTIP, which mean nothing for CONNECT.
 */
static int
socks4_handshake(int fd, const struct conf *c, const struct socks_dest *d,
    ms_t deadline, struct why *w)
{
	unsigned char pkt[8 + SOCKS_FIELD_MAX + 1 + SOCKS_FIELD_MAX + 1];
	size_t n = 0, ulen;
	ssize_t got;

	if (d->family == AF_INET6)
		return why_set(w, "SOCKS4a cannot carry an IPv6 address; use "
		    "SOCKS5");
	ulen = strnlen(c->socks_user, sizeof(c->socks_user));
	if (ulen > SOCKS_FIELD_MAX)
		return why_set(w, "SOCKS4a: user id longer than %d bytes",
		    SOCKS_FIELD_MAX);
	if (d->family != AF_INET && d->namelen > SOCKS_FIELD_MAX)
		return why_set(w, "SOCKS4a: host name longer than %d bytes",
		    SOCKS_FIELD_MAX);

	pkt[n++] = SOCKS4_VERSION;
	pkt[n++] = SOCKS4_CMD_CONNECT;
	pkt[n++] = d->port[0];
	pkt[n++] = d->port[1];
	if (d->family == AF_INET) {
		memcpy(pkt + n, d->addr, 4);
		n += 4;
	} else {
		pkt[n++] = 0;
		pkt[n++] = 0;
		pkt[n++] = 0;
		pkt[n++] = 1;
	}
	memcpy(pkt + n, c->socks_user, ulen);
	n += ulen;
	pkt[n++] = '\0';
	if (d->family != AF_INET) {
		memcpy(pkt + n, d->name, d->namelen);
		n += d->namelen;
		pkt[n++] = '\0';
	}
	if (socks_send(fd, "SOCKS4a", pkt, n, 0, deadline, w) < 0)
		return -1;

	got = socks_recv(fd, "SOCKS4a", pkt, SOCKS4_REPLY_LEN, deadline, w);
	if (got < 0)
		return -1;
	if (got < SOCKS4_REPLY_LEN) {
		if ((got >= 1 && pkt[0] != 0) ||
		    (got >= 2 && pkt[1] != SOCKS4_GRANTED))
			return socks4_reply_check(pkt, (size_t)got, w);
		return socks_closed("SOCKS4a", w);
	}
	return socks4_reply_check(pkt, SOCKS4_REPLY_LEN, w);
}

int
socks_handshake(int fd, const struct conf *c, const struct net_addr *target,
    ms_t deadline, struct why *w)
{
	struct socks_dest d;

	if (socks_dest(target, &d, w) < 0)
		return -1;
	switch (c->socks_version) {
	case 5:
		return socks5_handshake(fd, c, &d, deadline, w);
	case 4:
		return socks4_handshake(fd, c, &d, deadline, w);
	default:
		return why_set(w, "SOCKS: unsupported version %d",
		    c->socks_version);
	}
}
