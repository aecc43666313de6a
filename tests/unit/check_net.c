/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of net_name: the names clamhook gives servers in messages.
 * The address text is clamhook's own (net.c does not call inet_ntop, which
 * would bring printf into the static binary); the expected texts are what
 * musl's inet_ntop(3) writes for the same bytes, including the two places
 * where glibc writes something else (an IPv4-compatible address, and a tie
 * between two runs of zeros).
 */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

/* 32 hex digits (or 8 for IPv4) and the text musl writes for them. */
static const struct {
	const char *hex;
	const char *text;
} cases[] = {
	{ "00000000", "0.0.0.0" },
	{ "ffffffff", "255.255.255.255" },
	{ "0a000001", "10.0.0.1" },
	{ "00000000000000000000000000000000", "::" },
	{ "00000000000000000000000000000001", "::1" },
	{ "00010000000000000000000000000000", "1::" },
	{ "fe800000000000000000000000000001", "fe80::1" },
	{ "00000000000000000000ffff01020304", "::ffff:1.2.3.4" },
	{ "00000000000000000000ffff00000000", "::ffff:0.0.0.0" },
	{ "00000000000000000000ffffffffffff", "::ffff:255.255.255.255" },
	/* glibc: ::1.2.3.4 */
	{ "00000000000000000000000001020304", "::102:304" },
	{ "00000000000000000000fffe01020304", "::fffe:102:304" },
	{ "000000000000000000000001ffff0000", "::1:ffff:0" },
	/* the longest run wins; a run of one group stays */
	{ "00010000000000020000000000000003", "1:0:0:2::3" },
	{ "00010000000000000002000000000003", "1::2:0:0:3" },
	{ "00010002000300040005000600070000", "1:2:3:4:5:6:7:0" },
	{ "00000001000200030004000500060007", "0:1:2:3:4:5:6:7" },
	{ "00010000000200000003000000040000", "1:0:2:0:3:0:4:0" },
	/* ties: the first, unless the second is inside and the first not */
	{ "00010000000000020000000000030004", "1::2:0:0:3:4" },
	{ "00010000000000020003000000000004", "1::2:3:0:0:4" },
	/* glibc: ::1:0:0:2:3:4 */
	{ "00000000000100000000000200030004", "0:0:1::2:3:4" },
	{ "00000000000000010000000000000000", "0:0:0:1::" },
	{ "00010002000300040000000000050006", "1:2:3:4::5:6" },
	{ "00010002000300040005000600000000", "1:2:3:4:5:6::" },
	{ "00000000000100020003000400050006", "::1:2:3:4:5:6" },
	{ "20010db80000000000080800200c417a", "2001:db8::8:800:200c:417a" },
	{ "abcdef0123456789abcdef0123456789",
	  "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
	{ "ffffffffffffffffffffffffffffffff",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
};

static void
unhex(const char *hex, unsigned char *out)
{
	size_t i;

	for (i = 0; hex[2 * i] != '\0'; i++) {
		char byte[3] = { hex[2 * i], hex[2 * i + 1], '\0' };

		out[i] = (unsigned char)strtoul(byte, NULL, 16);
	}
}

/* A TCP address for the bytes in hex, named host in the configuration. */
static void
set_addr(struct net_addr *a, const char *host, const char *hex)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->host, host);
	a->port = 3310;
	if (strlen(hex) == 8) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;

		in->sin_family = AF_INET;
		unhex(hex, (unsigned char *)&in->sin_addr);
		a->salen = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

		in6->sin6_family = AF_INET6;
		unhex(hex, in6->sin6_addr.s6_addr);
		a->salen = sizeof(*in6);
	}
}

START_TEST(test_address_text)
{
	struct net_addr a;
	char want[128];
	int v6 = strlen(cases[_i].hex) == 32;

	/* A name: the address follows in brackets. */
	set_addr(&a, "clamd.example", cases[_i].hex);
	net_name(&a);
	snprintf(want, sizeof(want), "clamd.example[%s]:3310", cases[_i].text);
	ck_assert_str_eq(a.name, want);

	/* The literal itself: written once, IPv6 in brackets. */
	set_addr(&a, cases[_i].text, cases[_i].hex);
	net_name(&a);
	snprintf(want, sizeof(want), v6 ? "[%s]:3310" : "%s:3310",
	    cases[_i].text);
	ck_assert_str_eq(a.name, want);
}
END_TEST

START_TEST(test_other_names)
{
	struct net_addr a;

	/* Not resolved here (left to a SOCKS proxy). */
	memset(&a, 0, sizeof(a));
	strcpy(a.host, "clamd.example");
	a.port = 3310;
	net_name(&a);
	ck_assert_str_eq(a.name, "clamd.example:3310");

	/* A literal written differently from the canonical text. */
	set_addr(&a, "0:0:0:0:0:0:0:1", "00000000000000000000000000000001");
	net_name(&a);
	ck_assert_str_eq(a.name, "0:0:0:0:0:0:0:1[::1]:3310");

	memset(&a, 0, sizeof(a));
	a.is_unix = 1;
	strcpy(a.host, "/run/clamav/clamd.ctl");
	net_name(&a);
	ck_assert_str_eq(a.name, "unix:/run/clamav/clamd.ctl");
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_address_text, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_other_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(net_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
