/* SPDX-License-Identifier: ISC */
/*
 * src/socks.c: the reply parsers on every code, then whole handshakes
 * against a scripted proxy in a forked child at the other end of a
 * socketpair.  The child checks every byte the client sends, and after the
 * handshake sends a trailer that must reach the client untouched: proof
 * that the client read no more than the reply.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "socks.h"

#define L(s) (s), (sizeof(s) - 1)
#define TRAILER "TRAIL"

struct step {
	const char *expect;	/* what the client must send */
	size_t elen;
	const char *reply;	/* what the proxy answers */
	size_t rlen;
};

struct script {
	struct step step[4];
	int nstep;
	int dribble_ms;		/* replies one byte at a time, this far apart */
	int silent;		/* after the steps: say nothing, never close */
	int hangup;		/* after the steps: close at once */
};

static void
hexdump(const char *what, const unsigned char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu):", what, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

static size_t
read_full(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The proxy's side.  Exit 0: every byte as expected, nothing more. */
static void
peer_run(int fd, const struct script *s)
{
	unsigned char buf[1024];
	size_t got, j;
	int i;

	alarm(5);
	for (i = 0; i < s->nstep; i++) {
		const struct step *st = &s->step[i];

		got = read_full(fd, buf, st->elen);
		if (got != st->elen || memcmp(buf, st->expect, got) != 0) {
			hexdump("expected", (const unsigned char *)st->expect,
			    st->elen);
			hexdump("received", buf, got);
			_exit(10 + i);
		}
		if (s->dribble_ms > 0) {
			for (j = 0; j < st->rlen; j++) {
				sleep_ms(s->dribble_ms);
				if (write(fd, st->reply + j, 1) != 1)
					_exit(20);
			}
		} else if (st->rlen > 0 &&
		    write(fd, st->reply, st->rlen) != (ssize_t)st->rlen)
			_exit(20);
	}
	if (s->hangup)
		_exit(0);
	if (s->silent) {
		for (;;)
			pause();
	}
	/* The client may have given up and closed already: EPIPE is fine. */
	if (write(fd, TRAILER, sizeof(TRAILER) - 1) < 0 && errno != EPIPE)
		_exit(21);
	got = read_full(fd, buf, sizeof(buf));
	if (got != 0) {
		hexdump("unexpected extra bytes", buf, got);
		_exit(30);
	}
	_exit(0);
}

/*
 * run: a handshake against script s; *status is the child's exit status.
 * On success the trailer must be the next thing to read.
 */
static int
run(const struct script *s, const struct conf *c, const struct net_addr *t,
    ms_t ms, struct why *w, int *status)
{
	int sv[2], r, st;
	pid_t pid;
	char trail[sizeof(TRAILER) - 1];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		peer_run(sv[1], s);
	}
	close(sv[1]);
	ck_assert_int_eq(io_nonblock(sv[0], 1), 0);
	memset(w, 0, sizeof(*w));
	r = socks_handshake(sv[0], c, t, io_after(ms), w);
	if (r == 0 && !s->hangup && !s->silent) {
		ck_assert_int_eq(io_read_exact(sv[0], trail, sizeof(trail),
		    io_after(2000)), (ssize_t)sizeof(trail));
		ck_assert(memcmp(trail, TRAILER, sizeof(trail)) == 0);
	}
	close(sv[0]);
	if (s->silent)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

static void
conf5(struct conf *c, int version, const char *user, const char *pass)
{
	memset(c, 0, sizeof(*c));
	c->socks_version = version;
	snprintf(c->socks_host, sizeof(c->socks_host), "127.0.0.1");
	c->socks_port = 1080;
	snprintf(c->socks_user, sizeof(c->socks_user), "%s", user);
	snprintf(c->socks_pass, sizeof(c->socks_pass), "%s", pass);
	c->remote_dns = 1;
}

static void
addr_ip(struct net_addr *a, const char *ip, unsigned port)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->host, sizeof(a->host), "%s", ip);
	a->port = port;
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		a->salen = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
		a->salen = sizeof(*in);
	}
	snprintf(a->name, sizeof(a->name), "%s:%u", ip, port);
}

static void
addr_name(struct net_addr *a, const char *name, unsigned port)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->host, sizeof(a->host), "%s", name);
	a->port = port;
	snprintf(a->name, sizeof(a->name), "%s:%u", name, port);
}

#define ck_why(w, s) ck_assert_str_eq((w).text, (s))
#define ck_why_has(w, s) ck_assert_msg(strstr((w).text, (s)) != NULL, \
	"\"%s\" lacks \"%s\"", (w).text, (s))

/* Port 3310 is 0x0cee. */
#define GREET_NONE "\x05\x01\x00"
#define GREET_BOTH "\x05\x02\x00\x02"
#define REQ_V4 "\x05\x01\x00\x01\x7f\x00\x00\x01\x0c\xee"
#define REP_V4 "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"

/* Reply parsers. */

START_TEST(test_rep_codes)
{
	static const char *const meaning[] = { "",
		"general SOCKS server failure",
		"connection not allowed by ruleset",
		"network unreachable",
		"host unreachable",
		"connection refused",
		"TTL expired",
		"command not supported",
		"address type not supported" };
	unsigned char p[5] = { 5, 0, 0, 1, 127 };
	char want[128];
	struct why w;
	int rep;

	for (rep = 0; rep < 256; rep++) {
		p[1] = (unsigned char)rep;
		memset(&w, 0, sizeof(w));
		if (rep == 0) {
			ck_assert_int_eq(socks5_reply_check(p, 5, &w), 10);
			continue;
		}
		ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
		if (rep <= 8)
			snprintf(want, sizeof(want),
			    "SOCKS5 proxy refused: REP %02X %s", rep,
			    meaning[rep]);
		else
			snprintf(want, sizeof(want), "SOCKS5 proxy refused: "
			    "unassigned reply code 0x%02X", rep);
		ck_why(w, want);
	}
	p[1] = 5;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
	ck_why(w, "SOCKS5 proxy refused: REP 05 connection refused");
}
END_TEST

START_TEST(test_rep_atyp)
{
	unsigned char p[5] = { 5, 0, 0, 1, 0 };
	static const unsigned char bad[] = { 0, 2, 5, 6, 0x7f, 0xff };
	struct why w;
	size_t i;

	ck_assert_int_eq(socks5_reply_check(p, 5, &w), 10);
	p[3] = 4;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), 22);
	p[3] = 3;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), 7);
	p[4] = 9;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), 16);
	p[4] = 255;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), 262);
	for (i = 0; i < sizeof(bad); i++) {
		char want[80];

		p[3] = bad[i];
		ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
		snprintf(want, sizeof(want), "SOCKS5 proxy: bad address type "
		    "in reply (ATYP %u)", bad[i]);
		ck_why(w, want);
	}
}
END_TEST

START_TEST(test_rep_version)
{
	unsigned char p[5] = { 4, 0, 0, 1, 0 };
	struct why w;

	ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
	ck_why(w, "SOCKS5 proxy: not a SOCKS5 reply (version 4)");
	p[0] = 0;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
	ck_why(w, "SOCKS5 proxy: not a SOCKS5 reply (version 0)");
	ck_assert_int_eq(socks5_reply_check((const unsigned char *)"HTTP/",
	    5, &w), -1);
	ck_why(w, "SOCKS5 proxy: not a SOCKS5 reply (version 72)");
	/* The version is checked before the code. */
	p[0] = 6;
	p[1] = 5;
	ck_assert_int_eq(socks5_reply_check(p, 5, &w), -1);
	ck_why(w, "SOCKS5 proxy: not a SOCKS5 reply (version 6)");
}
END_TEST

START_TEST(test_rep_short)
{
	unsigned char p[5] = { 5, 0, 0, 1, 0 };
	struct why w;
	size_t n;

	ck_assert_int_eq(socks5_reply_check(p, 0, &w), -1);
	ck_why(w, "SOCKS5 proxy sent an empty reply");
	for (n = 1; n < 5; n++) {
		char want[64];

		ck_assert_int_eq(socks5_reply_check(p, n, &w), -1);
		snprintf(want, sizeof(want),
		    "SOCKS5 proxy: reply too short (%zu bytes)", n);
		ck_why(w, want);
	}
	/* A refusal cut short still names its code. */
	p[1] = 2;
	ck_assert_int_eq(socks5_reply_check(p, 2, &w), -1);
	ck_why(w, "SOCKS5 proxy refused: REP 02 connection not allowed by "
	    "ruleset");
}
END_TEST

START_TEST(test_socks4_codes)
{
	unsigned char p[8] = { 0, 90, 0x0c, 0xee, 127, 0, 0, 1 };
	char want[128];
	struct why w;
	int cd;
	size_t n;

	for (cd = 0; cd < 256; cd++) {
		p[1] = (unsigned char)cd;
		memset(&w, 0, sizeof(w));
		if (cd == 90) {
			ck_assert_int_eq(socks4_reply_check(p, 8, &w), 0);
			continue;
		}
		ck_assert_int_eq(socks4_reply_check(p, 8, &w), -1);
		switch (cd) {
		case 91:
			snprintf(want, sizeof(want), "SOCKS4a proxy refused: "
			    "CD 91 request rejected or failed");
			break;
		case 92:
			snprintf(want, sizeof(want), "SOCKS4a proxy refused: "
			    "CD 92 rejected: the proxy cannot reach identd on "
			    "the client");
			break;
		case 93:
			snprintf(want, sizeof(want), "SOCKS4a proxy refused: "
			    "CD 93 rejected: identd and the client report "
			    "different user ids");
			break;
		default:
			snprintf(want, sizeof(want), "SOCKS4a proxy refused: "
			    "unknown reply code %d", cd);
		}
		ck_why(w, want);
	}
	p[1] = 90;
	p[0] = 4;
	ck_assert_int_eq(socks4_reply_check(p, 8, &w), -1);
	ck_why(w, "SOCKS4a proxy: not a SOCKS4 reply (version 4)");
	p[0] = 0;
	ck_assert_int_eq(socks4_reply_check(p, 0, &w), -1);
	ck_why(w, "SOCKS4a proxy sent an empty reply");
	for (n = 1; n < 8; n++) {
		snprintf(want, sizeof(want),
		    "SOCKS4a proxy: reply too short (%zu bytes)", n);
		ck_assert_int_eq(socks4_reply_check(p, n, &w), -1);
		ck_why(w, want);
	}
}
END_TEST

/* Whole handshakes: the exact bytes on the wire. */

START_TEST(test_hs_noauth_v4)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_userpass)
{
	struct script s = { .nstep = 3, .step = {
		{ L(GREET_BOTH), L("\x05\x02") },
		{ L("\x01\x04" "user" "\x06" "s3cr3t"), L("\x01\x00") },
		{ L(REQ_V4), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "user", "s3cr3t");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_userpass_proxy_picks_none)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_BOTH), L("\x05\x00") },
		{ L(REQ_V4), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "user", "s3cr3t");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_domain)
{
	/* The reply's BND.ADDR is a name too: 9 bytes, then the port. */
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L("\x05\x01\x00\x03\x0d" "clamd.example" "\x0c\xee"),
		  L("\x05\x00\x00\x03\x09" "localhost" "\x04\x38") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_name(&t, "clamd.example", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_ipv6)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L("\x05\x01\x00\x04"
		    "\x20\x01\x0d\xb8\x00\x00\x00\x00"
		    "\x00\x00\x00\x00\x00\x00\x00\x01" "\x0c\xee"),
		  L("\x05\x00\x00\x04"
		    "\x00\x00\x00\x00\x00\x00\x00\x00"
		    "\x00\x00\x00\x00\x00\x00\x00\x01" "\x04\x38") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "2001:db8::1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_socks4_ip)
{
	struct script s = { .nstep = 1, .step = {
		{ L("\x04\x01\x0c\xee\x7f\x00\x00\x01" "\x00"),
		  L("\x00\x5a\x00\x00\x00\x00\x00\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 4, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_socks4a_name)
{
	struct script s = { .nstep = 1, .step = {
		{ L("\x04\x01\x0c\xee\x00\x00\x00\x01" "mail" "\x00"
		    "clamd.example" "\x00"),
		  L("\x00\x5a\x00\x00\x00\x00\x00\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 4, "mail", "unused");
	addr_name(&t, "clamd.example", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_socks4_refused)
{
	struct script s = { .nstep = 1, .step = {
		{ L("\x04\x01\x0c\xee\x7f\x00\x00\x01" "\x00"),
		  L("\x00\x5b\x00\x00\x00\x00\x00\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 4, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS4a proxy refused: CD 91 request rejected or failed");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_socks4_ipv6)
{
	struct script s = { .nstep = 0 };	/* nothing may be sent */
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 4, "", "");
	addr_ip(&t, "::1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS4a cannot carry an IPv6 address; use SOCKS5");
	ck_assert_int_eq(st, 0);
}
END_TEST

/* Refusals and broken proxies. */

START_TEST(test_hs_method_ff)
{
	struct script s = { .nstep = 1, .step = {
		{ L(GREET_NONE), L("\x05\xff") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why_has(w, "no acceptable authentication method (method FF)");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_method_not_offered)
{
	struct script s = { .nstep = 1, .step = {
		{ L(GREET_NONE), L("\x05\x02") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy chose a method that was not offered "
	    "(method 02)");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_method_version)
{
	struct script s = { .nstep = 1, .step = {
		{ L(GREET_NONE), L("\x04\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy: not a SOCKS5 reply (version 4)");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_auth_rejected)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_BOTH), L("\x05\x02") },
		{ L("\x01\x04" "user" "\x05" "wrong"), L("\x01\x01") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "user", "wrong");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy: authentication rejected (status 1)");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_rep_refused)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy refused: REP 05 connection refused");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_rep_cut_short)
{
	struct script s = { .nstep = 2, .hangup = 1, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L("\x05\x04") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy refused: REP 04 host unreachable");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_bad_atyp)
{
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L("\x05\x00\x00\x07\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy: bad address type in reply (ATYP 7)");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_closed)
{
	struct script s1 = { .nstep = 1, .hangup = 1, .step = {
		{ L(GREET_NONE), L("") } } };
	struct script s2 = { .nstep = 2, .hangup = 1, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L("\x05\x00\x00\x01\x7f\x00") } } };
	struct script s3 = { .nstep = 1, .hangup = 1, .step = {
		{ L("\x04\x01\x0c\xee\x7f\x00\x00\x01" "\x00"),
		  L("\x00\x5a\x00") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s1, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy closed the connection during the handshake");
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(run(&s2, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5 proxy closed the connection during the handshake");
	ck_assert_int_eq(st, 0);
	conf5(&c, 4, "", "");
	ck_assert_int_eq(run(&s3, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS4a proxy closed the connection during the handshake");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_silent)
{
	struct script s = { .nstep = 1, .silent = 1, .step = {
		{ L(GREET_NONE), L("") } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;
	ms_t t0, el;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	t0 = io_now();
	ck_assert_int_eq(run(&s, &c, &t, 300, &w, &st), -1);
	el = io_now() - t0;
	ck_why(w, "SOCKS5 proxy handshake timed out");
	ck_assert_int_ge(el, 290);
	ck_assert_int_lt(el, 1500);
}
END_TEST

START_TEST(test_hs_dribble)
{
	struct script s = { .nstep = 2, .dribble_ms = 20, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 3000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_dribble_past_deadline)
{
	/* Twelve bytes 50 ms apart do not fit 300 ms: drips never extend. */
	struct script s = { .nstep = 2, .dribble_ms = 50, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ L(REQ_V4), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;
	ms_t t0, el;

	conf5(&c, 5, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	t0 = io_now();
	ck_assert_int_eq(run(&s, &c, &t, 300, &w, &st), -1);
	el = io_now() - t0;
	ck_why(w, "SOCKS5 proxy handshake timed out");
	ck_assert_int_lt(el, 1000);
}
END_TEST

START_TEST(test_hs_long_name)
{
	struct script s = { .nstep = 0 };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_name(&t, "x", 3310);
	memset(t.host, 'a', sizeof(t.host));	/* 256 bytes, no NUL */
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS: host name longer than 255 bytes");
	ck_assert_int_eq(st, 0);
	conf5(&c, 4, "", "");
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS: host name longer than 255 bytes");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_long_user)
{
	struct script s = { .nstep = 1, .step = {
		{ L(GREET_BOTH), L("\x05\x02") } } };
	struct script s4 = { .nstep = 0 };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "pw");
	memset(c.socks_user, 'u', sizeof(c.socks_user));
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS5: user name must be 1 to 255 bytes");
	ck_assert_int_eq(st, 0);
	c.socks_version = 4;
	ck_assert_int_eq(run(&s4, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS4a: user id longer than 255 bytes");
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_max_name)
{
	/* 255 bytes is the longest name that fits: sent whole. */
	static char expect[5 + 255 + 2];
	struct script s = { .nstep = 2, .step = {
		{ L(GREET_NONE), L("\x05\x00") },
		{ expect, sizeof(expect), L(REP_V4) } } };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	memcpy(expect, "\x05\x01\x00\x03\xff", 5);
	memset(expect + 5, 'n', 255);
	memcpy(expect + 5 + 255, "\x0c\xee", 2);
	conf5(&c, 5, "", "");
	addr_name(&t, "x", 3310);
	memset(t.host, 'n', 255);
	t.host[255] = '\0';
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), 0);
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_hs_unix_target)
{
	struct script s = { .nstep = 0 };
	struct conf c;
	struct net_addr t;
	struct why w;
	int st;

	conf5(&c, 5, "", "");
	addr_name(&t, "/run/clamd.sock", 0);
	t.is_unix = 1;
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS cannot reach a Unix socket (/run/clamd.sock)");
	ck_assert_int_eq(st, 0);
	conf5(&c, 3, "", "");
	addr_ip(&t, "127.0.0.1", 3310);
	ck_assert_int_eq(run(&s, &c, &t, 2000, &w, &st), -1);
	ck_why(w, "SOCKS: unsupported version 3");
	ck_assert_int_eq(st, 0);
}
END_TEST

static Suite *
socks_suite(void)
{
	Suite *s = suite_create("socks");
	TCase *tc;

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_rep_codes);
	tcase_add_test(tc, test_rep_atyp);
	tcase_add_test(tc, test_rep_version);
	tcase_add_test(tc, test_rep_short);
	tcase_add_test(tc, test_socks4_codes);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_hs_noauth_v4);
	tcase_add_test(tc, test_hs_userpass);
	tcase_add_test(tc, test_hs_userpass_proxy_picks_none);
	tcase_add_test(tc, test_hs_domain);
	tcase_add_test(tc, test_hs_ipv6);
	tcase_add_test(tc, test_hs_socks4_ip);
	tcase_add_test(tc, test_hs_socks4a_name);
	tcase_add_test(tc, test_hs_socks4_refused);
	tcase_add_test(tc, test_hs_socks4_ipv6);
	tcase_add_test(tc, test_hs_method_ff);
	tcase_add_test(tc, test_hs_method_not_offered);
	tcase_add_test(tc, test_hs_method_version);
	tcase_add_test(tc, test_hs_auth_rejected);
	tcase_add_test(tc, test_hs_rep_refused);
	tcase_add_test(tc, test_hs_rep_cut_short);
	tcase_add_test(tc, test_hs_bad_atyp);
	tcase_add_test(tc, test_hs_closed);
	tcase_add_test(tc, test_hs_silent);
	tcase_add_test(tc, test_hs_dribble);
	tcase_add_test(tc, test_hs_dribble_past_deadline);
	tcase_add_test(tc, test_hs_long_name);
	tcase_add_test(tc, test_hs_long_user);
	tcase_add_test(tc, test_hs_max_name);
	tcase_add_test(tc, test_hs_unix_target);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(socks_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
