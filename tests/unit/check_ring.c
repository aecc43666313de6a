/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/*
 * Every test stores the byte pat(o) at stream offset o, so any byte read
 * back can be checked against the offset it claims to be.
 */
static unsigned char
pat(uint64_t o)
{
	return (unsigned char)((o * 2654435761u) >> 7 ^ (o >> 32));
}

static void
fill(unsigned char *d, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = pat(off + i);
}

/* put n pattern bytes starting at r->wr; returns how many were taken. */
static size_t
put_pat(struct ring *r, size_t n)
{
	unsigned char tmp[4096];

	ck_assert_uint_le(n, sizeof(tmp));
	fill(tmp, r->wr, n);
	return ring_put(r, tmp, n);
}

/* check the next n unsent bytes hold the pattern, through ring_peek. */
static void
check_unsent(const struct ring *r, size_t n)
{
	struct iovec iov[2];
	uint64_t o = r->rd;
	size_t got, k, i, bad = 0;
	const unsigned char *p;

	got = ring_peek(r, iov, n);
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(iov[0].iov_len + iov[1].iov_len, n);
	for (k = 0; k < 2; k++) {
		p = iov[k].iov_base;
		for (i = 0; i < iov[k].iov_len; i++, o++)
			bad += p[i] != pat(o);
	}
	ck_assert_uint_eq(bad, 0);
}

START_TEST(test_empty)
{
	unsigned char buf[16];
	struct ring r;
	struct iovec iov[2];
	size_t len;
	unsigned char *p;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(ring_unsent(&r), 0);
	ck_assert_uint_eq(ring_peek(&r, iov, 100), 0);
	ck_assert_uint_eq(iov[0].iov_len, 0);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	p = ring_space(&r, &len);
	ck_assert_ptr_eq(p, buf);
	ck_assert_uint_eq(len, sizeof(buf));
	ck_assert_int_eq(ring_rewind(&r), 0);
	ck_assert_uint_eq(ring_put(&r, "x", 0), 0);
	ck_assert_uint_eq(ring_unsent(&r), 0);
}
END_TEST

START_TEST(test_put_peek_consume)
{
	unsigned char buf[16];
	struct ring r;
	struct iovec iov[2];

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(ring_put(&r, "hello", 5), 5);
	ck_assert_uint_eq(ring_unsent(&r), 5);
	ck_assert_uint_eq(ring_peek(&r, iov, 3), 3);
	ck_assert_ptr_eq(iov[0].iov_base, buf);
	ck_assert_uint_eq(iov[0].iov_len, 3);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	ring_consume(&r, 3);
	ck_assert_uint_eq(ring_unsent(&r), 2);
	ck_assert_uint_eq(ring_peek(&r, iov, 100), 2);
	ck_assert_mem_eq(iov[0].iov_base, "lo", 2);
	ring_consume(&r, 2);
	ck_assert_uint_eq(ring_unsent(&r), 0);
	ck_assert_uint_eq(r.keep, 0);
}
END_TEST

START_TEST(test_full)
{
	unsigned char buf[16];
	struct ring r;
	size_t len;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 10), 10);
	/* partial put: only the free room is taken */
	ck_assert_uint_eq(put_pat(&r, 10), 6);
	ck_assert_uint_eq(ring_unsent(&r), 16);
	ring_space(&r, &len);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(put_pat(&r, 1), 0);
	check_unsent(&r, 16);
	/* full of unsent bytes: nothing is reclaimed, nothing lost */
	ck_assert_uint_eq(r.keep, 0);
	ck_assert_int_eq(ring_rewind(&r), 0);
}
END_TEST

START_TEST(test_wrap)
{
	unsigned char buf[16];
	struct ring r;
	struct iovec iov[2];
	size_t len;
	unsigned char *p;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 16), 16);
	ring_consume(&r, 12);
	/* full of 12 sent and 4 unsent: room comes from the sent ones */
	p = ring_space(&r, &len);
	ck_assert_ptr_eq(p, buf);
	ck_assert_uint_eq(len, 12);
	ck_assert_uint_eq(r.keep, 12);
	ck_assert_uint_eq(put_pat(&r, 7), 7);
	/* 4 bytes at the end of storage, 7 at its start */
	ck_assert_uint_eq(ring_peek(&r, iov, 100), 11);
	ck_assert_ptr_eq(iov[0].iov_base, buf + 12);
	ck_assert_uint_eq(iov[0].iov_len, 4);
	ck_assert_ptr_eq(iov[1].iov_base, buf);
	ck_assert_uint_eq(iov[1].iov_len, 7);
	check_unsent(&r, 11);
	/* a max inside the first span gives one span */
	ck_assert_uint_eq(ring_peek(&r, iov, 3), 3);
	ck_assert_uint_eq(iov[0].iov_len, 3);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	/* a max inside the second span cuts it */
	ck_assert_uint_eq(ring_peek(&r, iov, 6), 6);
	ck_assert_uint_eq(iov[0].iov_len, 4);
	ck_assert_uint_eq(iov[1].iov_len, 2);
	ring_consume(&r, 4);
	ck_assert_uint_eq(ring_peek(&r, iov, 100), 7);
	ck_assert_ptr_eq(iov[0].iov_base, buf);
	ck_assert_uint_eq(iov[1].iov_len, 0);
	check_unsent(&r, 7);
}
END_TEST

START_TEST(test_space_contiguous)
{
	unsigned char buf[16];
	struct ring r;
	size_t len;
	unsigned char *p;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 16), 16);
	ring_consume(&r, 16);
	p = ring_space(&r, &len);
	/* all sent: everything is given back, from the start of storage */
	ck_assert_ptr_eq(p, buf);
	ck_assert_uint_eq(len, 16);
	fill(p, r.wr, 10);
	ring_commit(&r, 10);
	ring_consume(&r, 10);
	p = ring_space(&r, &len);
	/* 6 free at the end of storage, 10 sent and held: not reclaimed */
	ck_assert_ptr_eq(p, buf + 10);
	ck_assert_uint_eq(len, 6);
	ck_assert_uint_eq(r.keep, 16);
	fill(p, r.wr, 6);
	ring_commit(&r, 6);
	p = ring_space(&r, &len);
	ck_assert_ptr_eq(p, buf);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(r.keep, 26);
	check_unsent(&r, 6);
}
END_TEST

START_TEST(test_reclaim_only_when_needed)
{
	unsigned char buf[16];
	struct ring r;
	size_t len;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 8), 8);
	ring_consume(&r, 8);
	ring_space(&r, &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(r.keep, 0);
	ck_assert_uint_eq(put_pat(&r, 8), 8);
	ck_assert_uint_eq(r.keep, 0);
	/* exactly full: still everything held */
	ck_assert_int_eq(ring_rewind(&r), 0);
	ck_assert_uint_eq(ring_unsent(&r), 16);
	check_unsent(&r, 16);
	ring_consume(&r, 16);
	/* the next byte needs room: now the sent bytes go */
	ck_assert_uint_eq(put_pat(&r, 1), 1);
	ck_assert_uint_eq(r.keep, 16);
	ck_assert_int_eq(ring_rewind(&r), -1);
	check_unsent(&r, 1);
}
END_TEST

START_TEST(test_put_reclaims_midway)
{
	unsigned char buf[16];
	struct ring r;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 12), 12);
	ring_consume(&r, 5);
	/* 4 free, then 5 sent reclaimed: 9 taken of 20 */
	ck_assert_uint_eq(put_pat(&r, 20), 9);
	ck_assert_uint_eq(r.keep, 5);
	ck_assert_uint_eq(ring_unsent(&r), 16);
	check_unsent(&r, 16);
}
END_TEST

START_TEST(test_rewind)
{
	unsigned char buf[64];
	struct ring r;

	ring_init(&r, buf, sizeof(buf));
	/* a message shorter than the ring, partly sent */
	ck_assert_uint_eq(put_pat(&r, 40), 40);
	ring_consume(&r, 30);
	ck_assert_int_eq(ring_rewind(&r), 0);
	ck_assert_uint_eq(r.rd, 0);
	ck_assert_uint_eq(ring_unsent(&r), 40);
	check_unsent(&r, 40);
	/* all sent, then the rest of a 64-byte message: still whole */
	ring_consume(&r, 40);
	ck_assert_uint_eq(put_pat(&r, 24), 24);
	ring_consume(&r, 24);
	ck_assert_int_eq(ring_rewind(&r), 0);
	check_unsent(&r, 64);
	/* a second rewind after a partial resend */
	ring_consume(&r, 33);
	ck_assert_int_eq(ring_rewind(&r), 0);
	check_unsent(&r, 64);
	/* a 65th byte overwrites the start: no more rewind */
	ring_consume(&r, 64);
	ck_assert_uint_eq(put_pat(&r, 1), 1);
	ck_assert_int_eq(ring_rewind(&r), -1);
	ck_assert_uint_eq(r.rd, 64);
	check_unsent(&r, 1);
	/* reset starts a new message at offset 0 */
	ring_reset(&r);
	ck_assert_uint_eq(ring_unsent(&r), 0);
	ck_assert_int_eq(ring_rewind(&r), 0);
	ck_assert_uint_eq(put_pat(&r, 64), 64);
	check_unsent(&r, 64);
}
END_TEST

START_TEST(test_rewind_fails_when_unsent_blocks)
{
	unsigned char buf[8];
	struct ring r;

	ring_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(put_pat(&r, 8), 8);
	ring_consume(&r, 3);
	/* full with 3 sent: a put reclaims them */
	ck_assert_uint_eq(put_pat(&r, 5), 3);
	ck_assert_int_eq(ring_rewind(&r), -1);
	check_unsent(&r, 8);
}
END_TEST

START_TEST(test_beyond_4gib_set)
{
	unsigned char buf[100]; /* not a power of two: the modulo path */
	struct ring r;
	struct iovec iov[2];
	const uint64_t base = (UINT64_C(5) << 30) + 37;
	size_t len;

	ring_init(&r, buf, sizeof(buf));
	r.keep = r.rd = r.wr = base;
	ck_assert_uint_eq((size_t)(base % 100), 57);
	ring_space(&r, &len);
	ck_assert_uint_eq(len, 43);
	ck_assert_uint_eq(put_pat(&r, 60), 60);
	ck_assert_uint_eq(ring_peek(&r, iov, 1000), 60);
	ck_assert_ptr_eq(iov[0].iov_base, buf + 57);
	ck_assert_uint_eq(iov[0].iov_len, 43);
	ck_assert_uint_eq(iov[1].iov_len, 17);
	check_unsent(&r, 60);
	ring_consume(&r, 60);
	ck_assert_uint_eq(put_pat(&r, 100), 100);
	ck_assert_uint_eq(r.keep, base + 60);
	check_unsent(&r, 100);
	ck_assert_int_eq(ring_rewind(&r), -1);
}
END_TEST

START_TEST(test_beyond_4gib_loop)
{
	static unsigned char buf[1 << 16];
	struct ring r;
	struct iovec iov[2];
	const uint64_t total = (UINT64_C(1) << 32) + 12345;
	uint64_t o = 0;
	unsigned char *p;
	size_t len, n;

	/* 4 GiB through a 64 KiB ring, by ring_space and ring_commit */
	ring_init(&r, buf, sizeof(buf));
	while (o < total) {
		p = ring_space(&r, &len);
		ck_assert_uint_gt(len, 0);
		n = total - o < len ? (size_t)(total - o) : len;
		if (n > 40000)
			n = 40000;
		p[0] = pat(o);
		p[n - 1] = pat(o + n - 1);
		ring_commit(&r, n);
		o += n;
		ck_assert_uint_eq(ring_peek(&r, iov, SIZE_MAX), n);
		ck_assert_uint_eq(((unsigned char *)iov[0].iov_base)[0],
		    pat(o - n));
		ring_consume(&r, n);
	}
	ck_assert(r.wr == total);
	ck_assert(r.rd == total);
	ck_assert(r.wr > UINT32_MAX);
	ck_assert_uint_eq(ring_unsent(&r), 0);
	ck_assert_int_eq(ring_rewind(&r), -1);
	ck_assert_uint_eq(put_pat(&r, 100), 100);
	check_unsent(&r, 100);
}
END_TEST

/*
 * A reference model of the contract, on plain integers: the ring must agree
 * with it after every call, and every held byte must be the pattern.
 */
struct model {
	uint64_t keep, rd, wr;
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t
rndn(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % (n + 1));
}

static void
check_model(const struct ring *r, const struct model *m)
{
	uint64_t o;
	size_t bad = 0;

	ck_assert(r->keep == m->keep);
	ck_assert(r->rd == m->rd);
	ck_assert(r->wr == m->wr);
	for (o = m->keep; o < m->wr; o++)
		bad += r->buf[o % r->cap] != pat(o);
	ck_assert_uint_eq(bad, 0);
}

static void
model_run(size_t cap, unsigned long ops, uint64_t seed)
{
	unsigned char *buf, tmp[600];
	struct ring r;
	struct model m = { 0, 0, 0 };
	struct iovec iov[2];
	unsigned long i;
	size_t n, len, exp, fr, run, k;
	unsigned char *p;
	int rc;

	rng_state = seed;
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	ring_init(&r, buf, cap);
	for (i = 0; i < ops; i++) {
		switch (rnd() % 8) {
		case 0:
		case 1: /* put */
			n = rndn(sizeof(tmp));
			fill(tmp, m.wr, n);
			if (n > cap - (m.wr - m.keep))
				m.keep = m.rd;
			exp = cap - (size_t)(m.wr - m.keep);
			if (exp > n)
				exp = n;
			ck_assert_uint_eq(ring_put(&r, tmp, n), exp);
			m.wr += exp;
			break;
		case 2: /* space, then commit part of it */
			fr = cap - (size_t)(m.wr - m.keep);
			if (fr == 0) {
				m.keep = m.rd;
				fr = cap - (size_t)(m.wr - m.keep);
			}
			run = cap - (size_t)(m.wr % cap);
			exp = fr < run ? fr : run;
			p = ring_space(&r, &len);
			ck_assert_uint_eq(len, exp);
			ck_assert_ptr_eq(p, buf + m.wr % cap);
			n = rndn(len);
			fill(p, m.wr, n);
			ring_commit(&r, n);
			m.wr += n;
			break;
		case 3:
		case 4: /* peek, then send part of it */
			k = rndn(700);
			exp = (size_t)(m.wr - m.rd);
			if (exp > k)
				exp = k;
			ck_assert_uint_eq(ring_peek(&r, iov, k), exp);
			ck_assert_uint_eq(iov[0].iov_len + iov[1].iov_len, exp);
			ck_assert_ptr_eq(iov[0].iov_base, buf + m.rd % cap);
			if (iov[1].iov_len > 0) {
				ck_assert_ptr_eq(iov[1].iov_base, buf);
				ck_assert_uint_eq(m.rd % cap + iov[0].iov_len,
				    cap);
			}
			check_unsent(&r, exp);
			n = rndn(exp);
			ring_consume(&r, n);
			m.rd += n;
			break;
		case 5: /* send whatever is there */
			n = ring_unsent(&r);
			ck_assert(n == m.wr - m.rd);
			ring_consume(&r, n);
			m.rd += n;
			break;
		case 6:
			rc = ring_rewind(&r);
			ck_assert_int_eq(rc, m.keep == 0 ? 0 : -1);
			if (rc == 0)
				m.rd = 0;
			break;
		case 7:
			if (rnd() % 64 == 0) {
				ring_reset(&r);
				m.keep = m.rd = m.wr = 0;
			}
			break;
		}
		check_model(&r, &m);
	}
	free(buf);
}

START_TEST(test_model_pow2)
{
	model_run(1024, 100000, UINT64_C(0x9e3779b97f4a7c15));
}
END_TEST

START_TEST(test_model_odd)
{
	model_run(1000, 100000, UINT64_C(0x2545f4914f6cdd1d));
}
END_TEST

START_TEST(test_model_tiny)
{
	model_run(1, 20000, 7);
	model_run(3, 20000, 11);
}
END_TEST

static Suite *
ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_put_peek_consume);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_wrap);
	tcase_add_test(tc, test_space_contiguous);
	tcase_add_test(tc, test_reclaim_only_when_needed);
	tcase_add_test(tc, test_put_reclaims_midway);
	tcase_add_test(tc, test_rewind);
	tcase_add_test(tc, test_rewind_fails_when_unsent_blocks);
	tcase_add_test(tc, test_beyond_4gib_set);
	tcase_add_test(tc, test_beyond_4gib_loop);
	tcase_add_test(tc, test_model_pow2);
	tcase_add_test(tc, test_model_odd);
	tcase_add_test(tc, test_model_tiny);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
