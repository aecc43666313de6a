/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

/*
 * Every reply form, as clamd writes it (clamd/session.c) and as it must
 * not be mistaken.  name NULL: the body itself (TEXT and the fixed words);
 * "" for OK.  bare: the case is itself about the id prefix, so it is not
 * also run with one.
 */
struct pcase {
	const char *line;
	enum reply_kind kind;
	const char *name;
	int bare;
};

static const struct pcase pcases[] = {
	{ "stream: OK", REPLY_OK, "", 0 },
	{ "fd[7]: OK", REPLY_OK, "", 0 },
	{ "fd[1234567890123]: OK", REPLY_OK, "", 0 },
	{ "stream: Win.Test.Sig-1 FOUND", REPLY_FOUND, "Win.Test.Sig-1", 0 },
	{ "stream: Win.Test.Sig-1.UNOFFICIAL FOUND", REPLY_FOUND,
	    "Win.Test.Sig-1.UNOFFICIAL", 0 },
	{ "fd[12]: Heuristics.Limits.Exceeded.MaxFileSize FOUND", REPLY_FOUND,
	    "Heuristics.Limits.Exceeded.MaxFileSize", 0 },
	{ "stream: OK FOUND", REPLY_FOUND, "OK", 0 },
	{ "stream: (null) FOUND", REPLY_FOUND, "(null)", 0 },
	{ "stream: a b FOUND", REPLY_FOUND, "a b", 0 },
	{ "stream: a: b FOUND", REPLY_FOUND, "a: b", 0 },
	{ "stream: X FOUND FOUND", REPLY_FOUND, "X FOUND", 0 },
	{ "stream: ERROR FOUND", REPLY_FOUND, "ERROR", 0 },
	{ "stream: \x01\x1b[31m\x7f\xff FOUND", REPLY_FOUND,
	    "\x01\x1b[31m\x7f\xff", 0 },
	{ "stream:  x FOUND", REPLY_FOUND, " x", 0 },
	{ "INSTREAM size limit exceeded. ERROR", REPLY_SIZE_LIMIT,
	    "INSTREAM size limit exceeded.", 0 },
	{ "stream: INSTREAM size limit exceeded. ERROR", REPLY_SIZE_LIMIT,
	    "INSTREAM size limit exceeded.", 0 },
	{ "INSTREAM size limit exceeded ERROR", REPLY_ERROR,
	    "INSTREAM size limit exceeded", 0 },
	{ "stream: Can't allocate memory ERROR", REPLY_ERROR,
	    "Can't allocate memory", 0 },
	{ "fd[9]: lstat() failed: No such file or directory. ERROR",
	    REPLY_ERROR, "lstat() failed: No such file or directory.", 0 },
	{ "FILDES: didn't receive file descriptor. ERROR", REPLY_ERROR,
	    "FILDES: didn't receive file descriptor.", 0 },
	{ "/var/tmp/x: Access denied. ERROR", REPLY_ERROR,
	    "/var/tmp/x: Access denied.", 0 },
	{ "Command invalid inside IDSESSION. ERROR", REPLY_ERROR,
	    "Command invalid inside IDSESSION.", 0 },
	{ "stream: OK ERROR", REPLY_ERROR, "OK", 0 },
	{ "stream: ERROR", REPLY_ERROR, "stream:", 0 },
	{ "x ERROR", REPLY_ERROR, "x", 0 },
	{ "COMMAND READ TIMED OUT", REPLY_READ_TIMEOUT, NULL, 0 },
	{ "UNKNOWN COMMAND", REPLY_UNKNOWN_COMMAND, NULL, 0 },
	{ "PONG", REPLY_PONG, NULL, 0 },

	{ "", REPLY_TEXT, NULL, 0 },
	{ "ClamAV 1.0.7/27000/Wed Nov 20 09:30:36 2024", REPLY_TEXT, NULL, 0 },
	{ "stream: FOUND", REPLY_TEXT, NULL, 0 },
	{ "stream:  FOUND", REPLY_TEXT, NULL, 0 },
	{ "stream: OK ", REPLY_TEXT, NULL, 0 },
	{ "stream:OK", REPLY_TEXT, NULL, 0 },
	{ "stream:  OK", REPLY_TEXT, NULL, 0 },
	{ "stream: ok", REPLY_TEXT, NULL, 0 },
	{ "STREAM: ok", REPLY_TEXT, NULL, 0 },
	{ "STREAM: OK", REPLY_TEXT, NULL, 0 },
	{ " stream: OK", REPLY_TEXT, NULL, 0 },
	{ "stream: OK\r", REPLY_TEXT, NULL, 0 },
	{ "stream: X FOUND\r", REPLY_TEXT, NULL, 0 },
	{ "stream: X found", REPLY_TEXT, NULL, 0 },
	{ "stream: XFOUND", REPLY_TEXT, NULL, 0 },
	{ "/tmp/file: OK", REPLY_TEXT, NULL, 0 },
	{ "/tmp/file: X FOUND", REPLY_TEXT, NULL, 0 },
	{ "fd[]: OK", REPLY_TEXT, NULL, 0 },
	{ "fd[x]: OK", REPLY_TEXT, NULL, 0 },
	{ "fd[1: OK", REPLY_TEXT, NULL, 0 },
	{ "fd[-1]: OK", REPLY_TEXT, NULL, 0 },
	{ "fd: OK", REPLY_TEXT, NULL, 0 },
	{ "streams: OK", REPLY_TEXT, NULL, 0 },
	{ "OK", REPLY_TEXT, NULL, 0 },
	{ "FOUND", REPLY_TEXT, NULL, 0 },
	{ "X FOUND", REPLY_TEXT, NULL, 0 },
	{ "ERROR", REPLY_TEXT, NULL, 0 },
	{ " ERROR", REPLY_TEXT, NULL, 0 },
	{ "x ERROR ", REPLY_TEXT, NULL, 0 },
	{ "PONG ", REPLY_TEXT, NULL, 0 },
	{ "pong", REPLY_TEXT, NULL, 0 },
	{ "COMMAND READ TIMED OUT.", REPLY_TEXT, NULL, 0 },
	{ "UNKNOWN COMMAND ", REPLY_TEXT, NULL, 0 },
	{ "stream: OK\x01", REPLY_TEXT, NULL, 0 },

	{ "99999999999999999999999: stream: OK", REPLY_TEXT, NULL, 1 },
	{ "1:stream: OK", REPLY_TEXT, NULL, 1 },
	{ "1 : stream: OK", REPLY_TEXT, NULL, 1 },
	{ "-1: stream: OK", REPLY_TEXT, NULL, 1 },
	{ "+1: stream: OK", REPLY_TEXT, NULL, 1 },
	{ ": stream: OK", REPLY_TEXT, NULL, 1 },
};

static void
parse_str(const char *s, struct reply_result *res)
{
	memset(res, 0x5a, sizeof(*res));
	reply_parse(s, strlen(s), res);
}

static void
check_case(const struct pcase *c, const char *line, size_t bodyoff,
    unsigned long id)
{
	struct reply_result res;
	const char *want = c->name != NULL ? c->name : line + bodyoff;
	const char *end;
	int same;

	parse_str(line, &res);
	ck_assert_msg(res.kind == c->kind, "\"%s\": kind %d, want %d", line,
	    (int)res.kind, (int)c->kind);
	ck_assert_msg(res.id == id, "\"%s\": id %lu, want %lu", line, res.id,
	    id);
	ck_assert_ptr_nonnull(res.name);
	same = res.namelen == strlen(want) &&
	    memcmp(res.name, want, res.namelen) == 0;
	ck_assert_msg(same, "\"%s\": name \"%.*s\", want \"%s\"", line,
	    (int)res.namelen, res.name, want);
	end = line + strlen(line);
	ck_assert(res.name >= line && res.name + res.namelen <= end);
}

START_TEST(test_parse_forms)
{
	const struct pcase *c = &pcases[_i];

	check_case(c, c->line, 0, 0);
}
END_TEST

START_TEST(test_parse_forms_with_id)
{
	const struct pcase *c = &pcases[_i];
	char line[REPLY_MAX + 1];
	int n;

	if (c->bare)
		return;
	n = snprintf(line, sizeof(line), "42: %s", c->line);
	ck_assert_int_lt(n, (int)sizeof(line));
	check_case(c, line, 4, 42);
	n = snprintf(line, sizeof(line), "%lu: %s", ULONG_MAX, c->line);
	check_case(c, line, (size_t)n - strlen(c->line), ULONG_MAX);
	n = snprintf(line, sizeof(line), "0: %s", c->line);
	check_case(c, line, 3, 0);
}
END_TEST

START_TEST(test_parse_id_limits)
{
	struct reply_result res;
	char line[64];

	parse_str("1: stream: OK", &res);
	ck_assert_int_eq(res.kind, REPLY_OK);
	ck_assert_uint_eq(res.id, 1);
	parse_str("0001: stream: OK", &res);
	ck_assert_int_eq(res.kind, REPLY_OK);
	ck_assert_uint_eq(res.id, 1);
	snprintf(line, sizeof(line), "%lu: stream: OK", ULONG_MAX);
	parse_str(line, &res);
	ck_assert_int_eq(res.kind, REPLY_OK);
	ck_assert(res.id == ULONG_MAX);
	/* ULONG_MAX + 1: the last digit of ULONG_MAX is never 9 */
	snprintf(line, sizeof(line), "%lu", ULONG_MAX);
	line[strlen(line) - 1]++;
	strcat(line, ": stream: OK");
	parse_str(line, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 0);
	ck_assert_uint_eq(res.namelen, strlen(line));
	/* ten times ULONG_MAX, roughly */
	snprintf(line, sizeof(line), "%lu0: stream: OK", ULONG_MAX);
	parse_str(line, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 0);
	/* one id only */
	parse_str("1: 2: stream: OK", &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 1);
	ck_assert_uint_eq(res.namelen, 13);
	ck_assert_mem_eq(res.name, "2: stream: OK", 13);
	/* a bare number with nothing after it */
	parse_str("12345", &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 0);
	parse_str("12345: ", &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 12345);
	ck_assert_uint_eq(res.namelen, 0);
}
END_TEST

START_TEST(test_parse_uses_len)
{
	struct reply_result res;
	static const char found[] = "stream: X FOUNDjunk";
	static const char nul[] = "stream: O\0K";

	/* the length decides, not a NUL */
	reply_parse(found, sizeof(found) - 1 - 4, &res);
	ck_assert_int_eq(res.kind, REPLY_FOUND);
	ck_assert_uint_eq(res.namelen, 1);
	ck_assert_int_eq(res.name[0], 'X');
	reply_parse(nul, sizeof(nul) - 1, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	reply_parse("stream: OK", 9, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	reply_parse("stream: OK", 0, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.namelen, 0);
}
END_TEST

/* feed all of s[0..n) at once; returns feed's status. */
static int
feed(struct reply *r, const void *s, size_t n, size_t *used)
{
	reply_init(r);
	return reply_feed(r, s, n, used);
}

START_TEST(test_feed_nul)
{
	struct reply r;
	struct reply_result res;
	size_t used;

	ck_assert_int_eq(feed(&r, "stream: OK\0", 11, &used), 1);
	ck_assert_uint_eq(used, 11);
	ck_assert_uint_eq(r.len, 10);
	ck_assert_str_eq(r.line, "stream: OK");
	ck_assert_int_eq(r.done, 1);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_OK);
}
END_TEST

START_TEST(test_feed_newline)
{
	struct reply r;
	struct reply_result res;
	size_t used;

	ck_assert_int_eq(feed(&r, "COMMAND READ TIMED OUT\n", 23, &used), 1);
	ck_assert_uint_eq(used, 23);
	ck_assert_str_eq(r.line, "COMMAND READ TIMED OUT");
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_READ_TIMEOUT);
	/* whichever terminator comes first */
	ck_assert_int_eq(feed(&r, "PONG\n\0", 6, &used), 1);
	ck_assert_uint_eq(used, 5);
	ck_assert_str_eq(r.line, "PONG");
	ck_assert_int_eq(feed(&r, "PONG\0\n", 6, &used), 1);
	ck_assert_uint_eq(used, 5);
	/* clamd never sends CR: it stays in the line, which is then TEXT */
	ck_assert_int_eq(feed(&r, "stream: OK\r\n", 12, &used), 1);
	ck_assert_uint_eq(used, 12);
	ck_assert_uint_eq(r.len, 11);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
}
END_TEST

START_TEST(test_feed_empty)
{
	struct reply r;
	struct reply_result res;
	size_t used;

	ck_assert_int_eq(feed(&r, "\0", 1, &used), 1);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_str_eq(r.line, "");
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.namelen, 0);
	ck_assert_int_eq(feed(&r, "\n", 1, &used), 1);
	ck_assert_uint_eq(r.len, 0);
	/* no bytes at all: more are needed */
	ck_assert_int_eq(feed(&r, "", 0, &used), 0);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(test_feed_missing_terminator)
{
	struct reply r;
	size_t used;

	ck_assert_int_eq(feed(&r, "stream: OK", 10, &used), 0);
	ck_assert_uint_eq(used, 10);
	ck_assert_uint_eq(r.len, 10);
	ck_assert_int_eq(r.done, 0);
	ck_assert_str_eq(r.line, "stream: OK");
	ck_assert_int_eq(reply_feed(&r, "", 0, &used), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(reply_feed(&r, "\0", 1, &used), 1);
	ck_assert_uint_eq(used, 1);
	ck_assert_str_eq(r.line, "stream: OK");
}
END_TEST

START_TEST(test_feed_byte_at_a_time)
{
	static const char msg[] = "17: stream: Win.Test.Sig-1 FOUND";
	struct reply r;
	struct reply_result res;
	size_t i, used;

	reply_init(&r);
	for (i = 0; i < sizeof(msg) - 1; i++) {
		ck_assert_int_eq(reply_feed(&r, msg + i, 1, &used), 0);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(reply_feed(&r, "\0", 1, &used), 1);
	ck_assert_uint_eq(used, 1);
	ck_assert_str_eq(r.line, msg);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_FOUND);
	ck_assert_uint_eq(res.id, 17);
	ck_assert_uint_eq(res.namelen, 14);
	ck_assert_mem_eq(res.name, "Win.Test.Sig-1", 14);
}
END_TEST

START_TEST(test_feed_every_split)
{
	/* a whole reply, a second one, and a byte of a third */
	static const char buf[] = "fd[3]: X FOUND\0PONG\nI";
	const size_t n = sizeof(buf) - 1, end1 = 15, end2 = 20;
	struct reply r;
	size_t a, b, used, off;
	int rc;

	for (a = 0; a <= n; a++) {
		for (b = a; b <= n; b++) {
			size_t cut[4] = { 0, a, b, n };
			int k, got = 0;

			reply_init(&r);
			off = 0;
			for (k = 0; k < 3; k++) {
				while (off < cut[k + 1]) {
					rc = reply_feed(&r, buf + off,
					    cut[k + 1] - off, &used);
					ck_assert_int_ne(rc, -1);
					off += used;
					if (rc == 0) {
						ck_assert_uint_eq(off,
						    cut[k + 1]);
						continue;
					}
					got++;
					if (got == 1) {
						ck_assert_uint_eq(off, end1);
						ck_assert_str_eq(r.line,
						    "fd[3]: X FOUND");
					} else {
						ck_assert_uint_eq(off, end2);
						ck_assert_str_eq(r.line,
						    "PONG");
					}
					reply_init(&r);
				}
			}
			ck_assert_int_eq(got, 2);
			ck_assert_uint_eq(r.len, 1);
			ck_assert_str_eq(r.line, "I");
		}
	}
}
END_TEST

START_TEST(test_feed_two_replies)
{
	static const char buf[] = "1: stream: OK\0"
				  "2: stream: Y FOUND\0";
	struct reply r;
	struct reply_result res;
	size_t used;

	ck_assert_int_eq(feed(&r, buf, sizeof(buf) - 1, &used), 1);
	ck_assert_uint_eq(used, 14);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_OK);
	ck_assert_uint_eq(res.id, 1);
	/* a complete reply takes nothing more until reply_init */
	ck_assert_int_eq(reply_feed(&r, buf + 14, sizeof(buf) - 15, &used), 1);
	ck_assert_uint_eq(used, 0);
	ck_assert_str_eq(r.line, "1: stream: OK");
	ck_assert_int_eq(feed(&r, buf + 14, sizeof(buf) - 15, &used), 1);
	ck_assert_uint_eq(used, sizeof(buf) - 15);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_FOUND);
	ck_assert_uint_eq(res.id, 2);
	ck_assert_mem_eq(res.name, "Y", 1);
}
END_TEST

START_TEST(test_feed_max)
{
	static char buf[REPLY_MAX + 2];
	struct reply r;
	struct reply_result res;
	size_t used;

	/* exactly REPLY_MAX bytes, then the terminator: fine */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "stream: ", 8);
	memcpy(buf + REPLY_MAX - 6, " FOUND", 6);
	buf[REPLY_MAX] = '\0';
	ck_assert_int_eq(feed(&r, buf, REPLY_MAX + 1, &used), 1);
	ck_assert_uint_eq(used, REPLY_MAX + 1);
	ck_assert_uint_eq(r.len, REPLY_MAX);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_FOUND);
	ck_assert_uint_eq(res.namelen, REPLY_MAX - 14);

	/* the same in two pieces, the terminator alone */
	ck_assert_int_eq(feed(&r, buf, REPLY_MAX, &used), 0);
	ck_assert_uint_eq(used, REPLY_MAX);
	ck_assert_int_eq(reply_feed(&r, "\n", 1, &used), 1);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(r.len, REPLY_MAX);

	/* REPLY_MAX + 1 bytes: too long, whatever follows */
	buf[REPLY_MAX] = 'B';
	buf[REPLY_MAX + 1] = '\0';
	ck_assert_int_eq(feed(&r, buf, REPLY_MAX + 2, &used), -1);
	ck_assert_uint_eq(used, REPLY_MAX);
	ck_assert_uint_eq(r.len, REPLY_MAX);
	ck_assert_int_eq(r.done, -1);
	ck_assert_mem_eq(r.line, "stream: ", 8);
	ck_assert_int_eq(r.line[REPLY_MAX], '\0');
	/* it sticks: the terminator that follows does not complete it */
	ck_assert_int_eq(reply_feed(&r, "\0", 1, &used), -1);
	ck_assert_uint_eq(used, 0);

	/* the extra byte in a later read */
	ck_assert_int_eq(feed(&r, buf, REPLY_MAX, &used), 0);
	ck_assert_int_eq(reply_feed(&r, "B\0", 2, &used), -1);
	ck_assert_uint_eq(used, 0);

	/* one byte at a time */
	reply_init(&r);
	for (used = 0; r.len < REPLY_MAX;) {
		ck_assert_int_eq(reply_feed(&r, "x", 1, &used), 0);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(reply_feed(&r, "x", 1, &used), -1);

	/* reply_init starts afresh */
	ck_assert_int_eq(feed(&r, "PONG\0", 5, &used), 1);
	ck_assert_str_eq(r.line, "PONG");
}
END_TEST

START_TEST(test_feed_binary)
{
	unsigned char buf[4096];
	struct reply r;
	struct reply_result res;
	unsigned long seed = 12345;
	size_t i, j, n, used, off;
	int rc, rounds;

	/* every byte but the two terminators goes into the line */
	for (i = 0, n = 0; i < 256; i++)
		if (i != '\0' && i != '\n')
			buf[n++] = (unsigned char)i;
	buf[n++] = '\0';
	ck_assert_int_eq(feed(&r, buf, n, &used), 1);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(r.len, 254);
	ck_assert_mem_eq(r.line, buf, 254);
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);

	/* random bytes in random reads: never stuck, never past the end */
	for (rounds = 0; rounds < 200; rounds++) {
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (unsigned char)(seed >> 16);
			if (rounds % 2 && buf[i] < 3)
				buf[i] = 'a';
		}
		reply_init(&r);
		for (off = 0; off < sizeof(buf);) {
			seed = seed * 1103515245 + 12345;
			j = (seed >> 16) % 300;
			if (j > sizeof(buf) - off)
				j = sizeof(buf) - off;
			rc = reply_feed(&r, buf + off, j, &used);
			ck_assert_uint_le(used, j);
			ck_assert_uint_le(r.len, REPLY_MAX);
			off += used;
			if (rc == 0) {
				ck_assert_uint_eq(used, j);
				continue;
			}
			reply_parse(r.line, r.len, &res);
			ck_assert_uint_le(res.namelen, r.len);
			if (rc == 1)
				ck_assert(buf[off - 1] == '\0' ||
				    buf[off - 1] == '\n');
			reply_init(&r);
		}
	}
}
END_TEST

START_TEST(test_feed_overflowing_id)
{
	struct reply r;
	struct reply_result res;
	size_t used;
	static const char s[] = "99999999999999999999999: stream: OK";

	ck_assert_int_eq(feed(&r, s, sizeof(s), &used), 1);
	ck_assert_uint_eq(used, sizeof(s));
	reply_parse(r.line, r.len, &res);
	ck_assert_int_eq(res.kind, REPLY_TEXT);
	ck_assert_uint_eq(res.id, 0);
}
END_TEST

/* The subject of a verdict, checked against the request (SPEC §5.1). */
START_TEST(test_parse_subject)
{
	static const struct {
		const char *line;
		enum reply_subject subject;
	} t[] = {
		{ "stream: OK", SUBJECT_STREAM },
		{ "3: stream: X FOUND", SUBJECT_STREAM },
		{ "fd[7]: OK", SUBJECT_FD },
		{ "2: fd[12]: X FOUND", SUBJECT_FD },
		{ "fd[9]: lstat() failed. ERROR", SUBJECT_FD },
		{ "stream: INSTREAM size limit exceeded. ERROR", SUBJECT_STREAM },
		{ "INSTREAM size limit exceeded. ERROR", SUBJECT_NONE },
		{ "fd[]: OK", SUBJECT_NONE },
		{ "fd[x]: OK", SUBJECT_NONE },
		{ "streams: OK", SUBJECT_NONE },
		{ "PONG", SUBJECT_NONE },
	};
	struct reply_result res;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		reply_parse(t[i].line, strlen(t[i].line), &res);
		ck_assert_msg(res.subject == t[i].subject, "%s: %d", t[i].line,
		    res.subject);
	}
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(pcases) / sizeof(pcases[0]));

	tcase_add_loop_test(tc, test_parse_forms, 0, n);
	tcase_add_loop_test(tc, test_parse_forms_with_id, 0, n);
	tcase_add_test(tc, test_parse_id_limits);
	tcase_add_test(tc, test_parse_uses_len);
	tcase_add_test(tc, test_feed_nul);
	tcase_add_test(tc, test_feed_newline);
	tcase_add_test(tc, test_feed_empty);
	tcase_add_test(tc, test_feed_missing_terminator);
	tcase_add_test(tc, test_feed_byte_at_a_time);
	tcase_add_test(tc, test_feed_every_split);
	tcase_add_test(tc, test_feed_two_replies);
	tcase_add_test(tc, test_feed_max);
	tcase_add_test(tc, test_feed_binary);
	tcase_add_test(tc, test_feed_overflowing_id);
	tcase_add_test(tc, test_parse_subject);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reply_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
