/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of fmt.c: every conversion, flag, width, precision and length
 * clamhook uses, against fixed texts and against the C library's snprintf;
 * truncation and the return value; the buffered output and its errors.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fmt.h"

/* The format strings below are built at run time. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

#define IS(want, ...) do {						\
	char b_[256];							\
	int n_ = fmt_s(b_, sizeof(b_), __VA_ARGS__);			\
	ck_assert_str_eq(b_, (want));					\
	ck_assert_int_eq(n_, (int)strlen(want));			\
} while (0)

START_TEST(test_fixed)
{
	IS("", "%s", "");
	IS("plain text", "plain text");
	IS("100%", "100%%");
	IS("a b", "%s %s", "a", "b");
	IS("[x]", "[%c]", 'x');
	IS("[  x]", "[%3c]", 'x');
	IS("[x  ]", "[%-3c]", 'x');
	IS("0 -7 42", "%d %d %u", 0, -7, 42u);
	IS("ff FF 0", "%x %X %x", 255u, 255u, 0u);
	IS("0A", "%02X", 10u);
	IS("00", "%02X", 0u);
	IS("[  -42]", "[%5d]", -42);
	IS("[-42  ]", "[%-5d]", -42);
	IS("[-0042]", "[%05d]", -42);
	IS("[  007]", "[%5.3d]", 7);
	IS("[]", "[%.0d]", 0);
	IS("[0]", "[%.*d]", -1, 0);
	IS("1.005", "%lld.%03lld", 1LL, 5LL);
	IS("12.345", "%lld.%03lld", 12LL, 345LL);
	IS("abc", "%.3s", "abcdef");
	IS("ab", "%.*s", 2, "abcdef");
	IS("abcdef", "%.*s", -1, "abcdef");
	IS("", "%.0s", "abc");
	IS("[  ab]", "[%4.2s]", "abcdef");
	IS("[ab  ]", "[%-4s]", "ab");
	IS("[abcdef]", "[%2s]", "abcdef");
	IS("x\n", "%.60s\n", "x");
	IS("4294967295", "%u", UINT_MAX);
	IS("-2147483648", "%d", INT_MIN);
	IS("2147483647", "%d", INT_MAX);
	IS("-9223372036854775808", "%lld", LLONG_MIN);
	IS("9223372036854775807", "%lld", LLONG_MAX);
	IS("18446744073709551615", "%llu", ULLONG_MAX);
	IS("ffffffffffffffff", "%llx", ULLONG_MAX);
	IS("-1 18446744073709551615", "%ld %lu", -1L, (unsigned long)-1);
	IS("42 -3", "%zu %zd", (size_t)42, (ssize_t)-3);
	IS("x 64", "%s %" PRIu64, "x", (uint64_t)64);
}
END_TEST

/*
 * against_libc: format f (one conversion c, its precision from the
 * arguments when star) on a range of values, with snprintf as the oracle.
 */
static void
against_libc(const char *f, const char *c, int star, int p)
{
	static const long long sv[] = { 0, 1, -1, 9, -10, 4096, INT_MAX,
		INT_MIN, LONG_MAX, LONG_MIN, LLONG_MAX, LLONG_MIN };
	static const unsigned long long uv[] = { 0, 1, 15, 16, 65535,
		UINT_MAX, ULONG_MAX, ULLONG_MAX };
	static const char *const strs[] = { "", "a", "hello",
		"twenty-six bytes of text.." };
	char want[128], got[128];
	int nw, ng;

#define ARG(v) do {							\
	if (star) {							\
		nw = snprintf(want, sizeof(want), f, p, v);		\
		ng = fmt_s(got, sizeof(got), f, p, v);			\
	} else {							\
		nw = snprintf(want, sizeof(want), f, v);		\
		ng = fmt_s(got, sizeof(got), f, v);			\
	}								\
	ck_assert_msg(nw == ng && strcmp(want, got) == 0,		\
	    "%s (%d): \"%s\" (%d), want \"%s\" (%d)", f, p, got, ng,	\
	    want, nw);							\
} while (0)

	for (size_t k = 0; k < sizeof(sv) / sizeof(sv[0]); k++) {
		long long v = sv[k];
		unsigned long long u = uv[k % 8];

		if (strcmp(c, "d") == 0)
			ARG((int)v);
		else if (strcmp(c, "ld") == 0)
			ARG((long)v);
		else if (strcmp(c, "lld") == 0)
			ARG(v);
		else if (strcmp(c, "zd") == 0)
			ARG((ssize_t)v);
		else if (strcmp(c, "lu") == 0)
			ARG((unsigned long)u);
		else if (strcmp(c, "llu") == 0 || strcmp(c, "llx") == 0)
			ARG(u);
		else if (strcmp(c, "zu") == 0)
			ARG((size_t)u);
		else if (*c == 's')
			ARG(strs[k % 4]);
		else if (*c == 'c')
			ARG((int)"aZ~!"[k % 4]);
		else
			ARG((unsigned)u);
	}
#undef ARG
}

/* Every combination of flags, width, precision and conversion. */
START_TEST(test_against_libc)
{
	static const char *const flags[] = { "", "-", "0", "-0" };
	static const char *const widths[] = { "", "1", "4", "21", "25" };
	static const char *const precs[] = { "", ".0", ".1", ".3", ".22",
		".*" };
	static const char *const convs[] = { "d", "ld", "lld", "zd", "u",
		"lu", "llu", "zu", "x", "X", "llx", "s", "c" };
	size_t fi, wi, pi, ci;
	char f[32];

	for (fi = 0; fi < sizeof(flags) / sizeof(flags[0]); fi++) {
		for (wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
			for (pi = 0; pi < sizeof(precs) / sizeof(precs[0]);
			    pi++) {
				for (ci = 0; ci < sizeof(convs) /
				    sizeof(convs[0]); ci++) {
					const char *c = convs[ci];
					int star = *precs[pi] == '.' &&
					    precs[pi][1] == '*';

					/* C leaves these undefined */
					if ((*c == 's' || *c == 'c') &&
					    strchr(flags[fi], '0') != NULL)
						continue;
					if (*c == 'c' && *precs[pi] != '\0')
						continue;
					snprintf(f, sizeof(f), "<%%%s%s%s%s>",
					    flags[fi], widths[wi], precs[pi],
					    c);
					for (int p = -1; p <= 7; p += 4)
						against_libc(f, c, star, p);
				}
			}
		}
	}
}
END_TEST

/* At every cap: what fits, a NUL, and the length of the whole. */
START_TEST(test_truncation)
{
	static const char whole[] = "id -123456 [  abc] ff";
	char buf[sizeof(whole) + 8];
	size_t cap, i;
	int n;

	for (cap = 0; cap <= sizeof(buf); cap++) {
		memset(buf, '#', sizeof(buf));
		n = fmt_s(buf, cap, "%s %d [%5s] %x", "id", -123456, "abc",
		    255u);
		ck_assert_int_eq(n, (int)strlen(whole));
		if (cap == 0) {
			ck_assert_int_eq(buf[0], '#');
			continue;
		}
		i = cap - 1 < strlen(whole) ? cap - 1 : strlen(whole);
		ck_assert_int_eq(memcmp(buf, whole, i), 0);
		ck_assert_int_eq(buf[i], '\0');
		for (i++; i < sizeof(buf); i++)
			ck_assert_int_eq(buf[i], '#');
	}
	n = fmt_s(NULL, 0, "%llu", ULLONG_MAX);
	ck_assert_int_eq(n, 20);
}
END_TEST

/* read_all: what fd holds from offset 0. */
static size_t
read_all(int fd, char *buf, size_t size)
{
	ssize_t n;

	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, buf, size);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

START_TEST(test_out)
{
	static struct out o;
	static char big[3 * OUT_SIZE + 17], back[2 * sizeof(big) + 64];
	FILE *f = tmpfile();
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(f);
	fd = fileno(f);
	o = (struct out)OUT_INIT(fd);
	out_printf(&o, "%s %d\n", "one", 1);
	ck_assert_uint_eq(read_all(fd, back, sizeof(back)), 0);
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_uint_eq(read_all(fd, back, sizeof(back)), 6);
	ck_assert_int_eq(memcmp(back, "one 1\n", 6), 0);

	/* More than the buffer holds, through write and printf. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	o = (struct out)OUT_INIT(fd);
	out_write(&o, "<", 1);
	out_write(&o, big, sizeof(big));
	out_printf(&o, "%.*s>", (int)sizeof(big), big);
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_uint_eq(read_all(fd, back, sizeof(back)),
	    2 * sizeof(big) + 2);
	ck_assert_int_eq(back[0], '<');
	ck_assert_int_eq(memcmp(back + 1, big, sizeof(big)), 0);
	ck_assert_int_eq(memcmp(back + 1 + sizeof(big), big, sizeof(big)), 0);
	ck_assert_int_eq(back[2 * sizeof(big) + 1], '>');
	fclose(f);
}
END_TEST

START_TEST(test_out_errors)
{
	static struct out o;
	int fd;

	/* A closed descriptor: the error stays, later text is dropped. */
	ck_assert_int_ge(fd = open("/dev/null", O_WRONLY), 0);
	close(fd);
	o = (struct out)OUT_INIT(fd);
	out_printf(&o, "lost\n");
	ck_assert_int_eq(out_flush(&o), -1);
	ck_assert_int_eq(o.err, EBADF);
	out_printf(&o, "also lost\n");
	ck_assert_uint_eq(o.len, 0);
	ck_assert_int_eq(out_flush(&o), -1);

	/* A full device, found when the buffer fills. */
	if ((fd = open("/dev/full", O_WRONLY)) < 0)
		return;
	o = (struct out)OUT_INIT(fd);
	for (int i = 0; i < OUT_SIZE; i++)
		out_write(&o, "xy", 2);
	ck_assert_int_eq(o.err, ENOSPC);
	ck_assert_int_eq(out_flush(&o), -1);
	close(fd);

	/* Nothing to write is no error. */
	o = (struct out)OUT_INIT(-1);
	ck_assert_int_eq(out_flush(&o), 0);
}
END_TEST

static Suite *
fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_against_libc);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_out);
	tcase_add_test(tc, test_out_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
