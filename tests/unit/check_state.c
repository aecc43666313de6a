/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of state.c: the file is read and written a piece at a time,
 * so a table of every server, far longer than a piece, must come back as
 * it went in, whatever line meets a piece's end; an older file loads; a
 * corrupt one (a NUL, a line longer than any written, a bad word) loads as
 * an empty state; a write shorter than the file truncates it; and the
 * lock is released and taken again on a descriptor kept open.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

static char path[] = "/tmp/check_state.XXXXXX";
static int fd = -1;

static void
setup(void)
{
	ck_assert_int_ge(fd = mkstemp(path), 0);
}

static void
teardown(void)
{
	close(fd);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
}

/* put: the file's text replaced by t. */
static void
put(const char *t, size_t n)
{
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, t, n, 0), (ssize_t)n);
}

/* the file's text into buf (cap bytes); returns its length. */
static size_t
text(char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* a state with every server, their names and errors of every length. */
static void
full(struct state *s)
{
	memset(s, 0, sizeof(*s));
	s->next = 18446744073709551615u;
	s->since = 1700000000;
	for (int i = 0; i < COUNT_N; i++)
		s->count[i] = (uint64_t)i * 1000003u;
	for (int i = 0; i < STATE_SERVERS_MAX; i++) {
		char name[sizeof(s->server[0].name)];
		size_t len = 1 + (size_t)i * 37 % (sizeof(name) - 1);
		struct state_server *e;

		memset(name, 'a' + i % 26, len);
		name[len] = '\0';
		name[0] = (char)('0' + i / 10);
		name[1 % len] = (char)('0' + i % 10);
		ck_assert_ptr_nonnull(e = state_server(s, name, 1));
		e->dead_until = i % 3 == 0 ? 1700000100 + i : 0;
		e->ok_at = i % 2 == 0 || i % 5 == 0 ? 1700000200 + i : 0;
		if (i % 5 != 0) {
			e->error_at = 1600000000 + i;
			memset(e->error, 'e', (size_t)i * 7 % STATE_ERROR_MAX);
			e->error[i * 7 % STATE_ERROR_MAX] = '\0';
		}
	}
}

START_TEST(test_round_trip)
{
	static struct state a, b;
	static char t1[65536], t2[65536];
	struct why w;
	size_t n;

	full(&a);
	ck_assert_int_eq(state_write(fd, path, &a, &w), 0);
	n = text(t1, sizeof(t1));
	ck_assert_uint_gt(n, 16 * 1024);	/* many pieces */
	ck_assert_int_eq(state_read(fd, path, &b, &w), 0);
	ck_assert_int_eq((int)b.size, (int)n);
	ck_assert_int_eq(b.n, STATE_SERVERS_MAX);
	ck_assert(b.next == a.next && b.since == a.since);
	ck_assert_mem_eq(b.count, a.count, sizeof(a.count));
	for (int i = 0; i < a.n; i++) {
		const struct state_server *e = &a.server[i];
		const struct state_server *f = state_server(&b, e->name, 0);

		ck_assert_ptr_nonnull(f);
		ck_assert(f->dead_until == e->dead_until &&
		    f->ok_at == e->ok_at && f->error_at == e->error_at);
		ck_assert_str_eq(f->error, e->error);
	}
	/* What was read writes the same bytes. */
	ck_assert_int_eq(state_write(fd, path, &b, &w), 0);
	ck_assert_uint_eq(text(t2, sizeof(t2)), n);
	ck_assert_str_eq(t2, t1);
}
END_TEST

/* Every place of a line's end against a piece's end: a first line padded. */
START_TEST(test_every_split)
{
	static char t[4096];
	struct state s;
	struct why w;

	for (int pad = 0; pad < 1100; pad += 1) {
		int n = snprintf(t, sizeof(t), "clamhook-state 1\n%*snext 7\n"
		    "counts 5 1 2 3 4 5\nok 9 unix:/run/clamd.ctl\n", pad, "");

		for (int i = 17; i < 17 + pad; i++)
			t[i] = '\n';	/* empty lines */
		put(t, (size_t)n);
		ck_assert_msg(state_read(fd, path, &s, &w) == 0, "pad %d: %s",
		    pad, w.text);
		ck_assert(s.next == 7 && s.since == 5 && s.count[4] == 5);
		ck_assert_int_eq(s.n, 1);
		ck_assert(s.server[0].ok_at == 9);
	}
}
END_TEST

START_TEST(test_older_and_unended)
{
	struct state s;
	struct why w;
	const char *t = "clamhook-state 1\nnext 5\ndead 99 127.0.0.1:9";

	put(t, strlen(t));
	ck_assert_int_eq(state_read(fd, path, &s, &w), 0);
	ck_assert(s.next == 5 && s.since == 0);
	ck_assert(state_dead_until(&s, "127.0.0.1:9") == 99);
	put("", 0);
	ck_assert_int_eq(state_read(fd, path, &s, &w), 0);
	ck_assert(s.next == 0 && s.n == 0 && s.size == 0);
}
END_TEST

START_TEST(test_corrupt)
{
	static const char *bad[] = {
		"clamhook-state 2\nnext 5\n",
		"next 5\n",
		"clamhook-state 1\nnext 5x\n",
		"clamhook-state 1\ncounts 12 x\n",
		"clamhook-state 1\ncounts 12 1 2 3 4\n",
		"clamhook-state 1\nok 12\n",
		"clamhook-state 1\nerror 12 a.example:3310\n",
		"clamhook-state 1\nmaybe 12 a\n",
	};
	static char t[4096];
	struct state s;
	struct why w;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(bad[i], strlen(bad[i]));
		ck_assert_msg(state_read(fd, path, &s, &w) < 0, "%s", bad[i]);
		ck_assert(s.next == 0 && s.since == 0 && s.n == 0);
		ck_assert(strstr(w.text, ": corrupt") != NULL);
		ck_assert_int_eq((int)s.size, -1);
	}
	/* A NUL byte, in the first piece and in a later one. */
	for (size_t at = 20; at < 3000; at += 1490) {
		memset(t, '\n', sizeof(t));
		memcpy(t, "clamhook-state 1\n", 17);
		t[at] = '\0';
		put(t, sizeof(t));
		ck_assert_int_lt(state_read(fd, path, &s, &w), 0);
	}
	/* A line longer than any clamhook writes. */
	memset(t, 'x', sizeof(t));
	memcpy(t, "clamhook-state 1\nok 1 ", 22);
	put(t, sizeof(t));
	ck_assert_int_lt(state_read(fd, path, &s, &w), 0);
	/* Not read to its end, the file is replaced whole when written. */
	s.next = 2;
	ck_assert_int_eq(state_write(fd, path, &s, &w), 0);
	ck_assert_uint_eq(text(t, sizeof(t)), 24);
	ck_assert_str_eq(t, "clamhook-state 1\nnext 2\n");
}
END_TEST

START_TEST(test_write_truncates)
{
	static char t[8192];
	struct state s;
	struct why w;

	memset(t, '\n', sizeof(t));
	memcpy(t, "clamhook-state 1\nnext 3\n", 24);
	put(t, sizeof(t));
	ck_assert_int_eq(state_read(fd, path, &s, &w), 0);
	s.next = 4;
	ck_assert_int_eq(state_write(fd, path, &s, &w), 0);
	ck_assert_uint_eq(text(t, sizeof(t)), 24);
	ck_assert_str_eq(t, "clamhook-state 1\nnext 4\n");
}
END_TEST

/* holds: another open file description cannot take the lock now. */
static int
holds(void)
{
	int other = open(path, O_RDWR);
	int busy;

	ck_assert_int_ge(other, 0);
	busy = flock(other, LOCK_EX | LOCK_NB) < 0;
	close(other);
	return busy;
}

START_TEST(test_lock_kept_open)
{
	struct why w;
	struct stat st;
	int a;

	/* missing: made, 0644 */
	unlink(path);
	ck_assert_int_lt(state_lock(path, 1, 0, 0, &w), 0);
	ck_assert_int_ge(a = state_lock(path, 0, 0, 0, &w), 0);
	ck_assert_int_eq(fstat(a, &st), 0);
	ck_assert(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
	ck_assert(holds());
	/* unlocked, open for the run's next update, and locked again */
	state_unlock(a);
	ck_assert(!holds());
	ck_assert_int_eq(state_relock(a, path, 0, 0, &w), 0);
	ck_assert(holds());
	/* busy elsewhere: one try, then a wait, each named */
	state_unlock(a);
	{
		int b = state_lock(path, 0, 0, 0, &w);
		char busy[64];

		ck_assert_int_ge(b, 0);
		snprintf(busy, sizeof(busy), "state file %s: cannot lock: busy",
		    path);
		ck_assert_int_lt(state_relock(a, path, 0, 0, &w), 0);
		ck_assert_str_eq(w.text, busy);
		ck_assert_int_lt(state_relock(a, path, 30, IO_NEVER, &w), 0);
		ck_assert_str_eq(w.text, busy);
		state_close(b);
	}
	ck_assert_int_eq(state_relock(a, path, 0, 0, &w), 0);
	state_close(a);
	ck_assert(!holds());
	/* never a folder (to write: open's EISDIR), never a device */
	ck_assert_int_lt(state_lock("/tmp", 1, 0, 0, &w), 0);
	ck_assert_str_eq(w.text, "state file /tmp: not a regular file");
	ck_assert_int_lt(state_lock("/dev/null", 0, 0, 0, &w), 0);
	ck_assert_str_eq(w.text, "state file /dev/null: not a regular file");
}
END_TEST

static Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_every_split);
	tcase_add_test(tc, test_older_and_unended);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_write_truncates);
	tcase_add_test(tc, test_lock_kept_open);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
