/* SPDX-License-Identifier: ISC */
/*
 * Fuzz the SOCKS client with what a proxy sends.  The first input byte
 * chooses the set-up (bit 0: SOCKS4a instead of 5, bit 1: user/password,
 * bits 2-3: target by name, IPv4 or IPv6); the rest is the proxy's side of
 * the conversation.  Checked:
 *   - socks5_reply_check and socks4_reply_check on the bytes, every prefix
 *     length: a length only for a granted reply, and the right one;
 *   - socks_handshake over a socketpair holding those bytes: on success it
 *     consumed exactly the packets the protocol defines, not a byte of
 *     what follows (the first byte clamd sends);
 *   - every reason is one printable line.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "io.h"
#include "net.h"
#include "socks.h"
#include "why.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_why(const struct why *w)
{
	size_t i, n;

	n = strnlen(w->text, sizeof(w->text));
	if (n == 0 || n == sizeof(w->text))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)w->text[i] < 0x20 ||
		    (unsigned char)w->text[i] > 0x7e)
			abort();
}

static void
check_parsers(const uint8_t *data, size_t size)
{
	struct why w;
	unsigned char *p;
	size_t n;
	long l;
	int rc;

	/* every length, in an exact-size copy so a read past n is caught */
	for (n = 0; n <= size && n <= 32; n++) {
		p = malloc(n ? n : 1);
		if (p == NULL)
			return;
		memcpy(p, data, n);
		w.text[0] = '\0';
		l = socks5_reply_check(p, n, &w);
		if (l < 0) {
			if (l != -1)
				abort();
			check_why(&w);
		} else {
			if (n < 5 || p[0] != 5 || p[1] != 0)
				abort();
			if (!(p[3] == 1 && l == 10) &&
			    !(p[3] == 4 && l == 22) &&
			    !(p[3] == 3 && l == 7 + (long)p[4]))
				abort();
		}
		w.text[0] = '\0';
		rc = socks4_reply_check(p, n, &w);
		if (rc == 0) {
			if (n < 8 || p[1] != 90)
				abort();
		} else {
			if (rc != -1)
				abort();
			check_why(&w);
		}
		free(p);
	}
}

/* expected: what a successful handshake must have read from the proxy. */
static size_t
expected(const struct conf *c, const uint8_t *p, size_t n)
{
	size_t off = 0;

	if (c->socks_version == 4)
		return 8;
	off = 2; /* VER METHOD */
	if (n > 1 && p[1] == 2)
		off += 2; /* RFC 1929 VER STATUS */
	if (off + 5 > n)
		abort();
	switch (p[off + 3]) {
	case 1:
		return off + 10;
	case 4:
		return off + 22;
	case 3:
		return off + 7 + p[off + 4];
	}
	abort();
}

static void
check_handshake(const uint8_t *data, size_t size)
{
	static struct conf c;
	struct net_addr t;
	struct sockaddr_in *in;
	struct sockaddr_in6 *in6;
	struct why w;
	unsigned char rest[8192];
	size_t exp;
	ssize_t k, left;
	int sv[2], rc, how;

	if (size < 1 || size > 4096)
		return;
	how = data[0];
	data++;
	size--;

	conf_defaults(&c);
	strcpy(c.socks_host, "127.0.0.1");
	c.socks_port = 1080;
	c.socks_version = how & 1 ? 4 : 5;
	if (how & 2) {
		strcpy(c.socks_user, "clamhook");
		strcpy(c.socks_pass, "s3cret");
	}
	memset(&t, 0, sizeof(t));
	strcpy(t.host, "clamd.example");
	t.port = 3310;
	strcpy(t.name, "clamd.example:3310");
	switch ((how >> 2) & 3) {
	case 1:
		in = (struct sockaddr_in *)&t.sa;
		in->sin_family = AF_INET;
		in->sin_port = htons(3310);
		in->sin_addr.s_addr = htonl(0x7f000001);
		t.salen = sizeof(*in);
		break;
	case 2:
		in6 = (struct sockaddr_in6 *)&t.sa;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(3310);
		in6->sin6_addr.s6_addr[15] = 1;
		t.salen = sizeof(*in6);
		break;
	default:
		break; /* by name: salen 0 */
	}

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR);

	w.text[0] = '\0';
	rc = socks_handshake(sv[0], &c, &t, io_after(2000), &w);
	if (rc == 0) {
		exp = expected(&c, data, size);
		if (exp > size)
			abort();
		/* what is left must be exactly what follows the reply */
		io_nonblock(sv[0], 1);
		left = 0;
		while ((k = read(sv[0], rest + left,
			    sizeof(rest) - (size_t)left)) > 0)
			left += k;
		if ((size_t)left != size - exp ||
		    memcmp(rest, data + exp, (size_t)left) != 0)
			abort();
	} else {
		if (rc != -1)
			abort();
		check_why(&w);
	}
	close(sv[0]);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1)
		check_parsers(data + 1, size - 1);
	check_handshake(data, size);
	return 0;
}
