/* SPDX-License-Identifier: ISC */
/*
 * Fuzz the clamd reply reader: the input is what a clamd (or anything
 * listening on its port) sends.  It is fed to reply_feed whole, byte by
 * byte and in pseudo-random splits; the three must assemble the same
 * replies.  Each complete reply, and the raw input, goes to reply_parse,
 * whose result must fit the forms of reply.h: nothing but
 * [ID ": "] SUBJECT ": OK" is ever clean.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

#define REC_MAX 20000

struct rec {
	int rc; /* 1 complete, -1 overlong */
	size_t len;
	uint64_t hash;
};

struct pass {
	struct rec rec[REC_MAX];
	size_t n;
};

static struct pass passes[3];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
fnv(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	while (n-- > 0)
		h = (h ^ *s++) * 1099511628211ULL;
	return h;
}

static int
digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* ok_form: line is ^([0-9]+: )?(stream|fd\[[0-9]+\]): OK$ */
static int
ok_form(const char *p, size_t n)
{
	const char *c;
	size_t i;

	c = memchr(p, ':', n);
	if (c != NULL && digits(p, (size_t)(c - p)) &&
	    (size_t)(c - p) + 1 < n && c[1] == ' ') {
		i = (size_t)(c - p) + 2;
		p += i;
		n -= i;
	}
	if (n == 10 && memcmp(p, "stream: OK", 10) == 0)
		return 1;
	if (n < 9 || memcmp(p, "fd[", 3) != 0 ||
	    memcmp(p + n - 5, "]: OK", 5) != 0)
		return 0;
	return digits(p + 3, n - 8);
}

static int
ends(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(p + n - k, lit, k) == 0;
}

static void
check_parse(const char *line, size_t len)
{
	struct reply_result res;

	memset(&res, 0xa5, sizeof(res));
	reply_parse(line, len, &res);
	if (res.name == NULL || res.name < line || res.namelen > len ||
	    res.name + res.namelen > line + len)
		abort();
	switch (res.kind) {
	case REPLY_OK:
		if (!ok_form(line, len) || res.namelen != 0)
			abort();
		break;
	case REPLY_FOUND:
		if (res.namelen == 0 || !ends(line, len, " FOUND") ||
		    res.name + res.namelen != line + len - 6)
			abort();
		break;
	case REPLY_ERROR:
	case REPLY_SIZE_LIMIT:
		if (!ends(line, len, " ERROR"))
			abort();
		if (res.kind == REPLY_SIZE_LIMIT &&
		    memmem(line, len, "INSTREAM size limit exceeded.", 29) ==
			NULL)
			abort();
		break;
	case REPLY_READ_TIMEOUT:
		if (!ends(line, len, "COMMAND READ TIMED OUT"))
			abort();
		break;
	case REPLY_UNKNOWN_COMMAND:
		if (!ends(line, len, "UNKNOWN COMMAND"))
			abort();
		break;
	case REPLY_PONG:
		if (!ends(line, len, "PONG"))
			abort();
		break;
	case REPLY_TEXT:
		break;
	default:
		abort();
	}
}

/*
 * feed: run the input through reply_feed in pieces chosen by how (0 whole,
 * 1 byte by byte, 2 pseudo-random), recording each reply.
 */
static void
feed(const uint8_t *data, size_t size, int how, struct pass *ps)
{
	struct reply r;
	uint64_t seed = fnv(data, size) | 1;
	size_t off = 0, start = 0, piece, used;
	int rc;

	ps->n = 0;
	reply_init(&r);
	while (off < size) {
		if (how == 0)
			piece = size - off;
		else if (how == 1)
			piece = 1;
		else {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			piece = 1 + (size_t)(seed % 700);
			if (piece > size - off)
				piece = size - off;
		}
		while (piece > 0) {
			used = (size_t)-1;
			rc = reply_feed(&r, data + off, piece, &used);
			if (used > piece)
				abort();
			off += used;
			piece -= used;
			if (rc == 0) {
				if (piece != 0 || r.len > REPLY_MAX)
					abort();
				break;
			}
			if (rc != 1 && rc != -1)
				abort();
			if (r.len > REPLY_MAX || r.line[r.len] != '\0')
				abort();
			if (rc == 1) {
				/* the line is the input minus its terminator */
				if (used == 0 || off - start != r.len + 1 ||
				    memcmp(r.line, data + start, r.len) != 0 ||
				    (data[off - 1] != '\0' &&
					data[off - 1] != '\n') ||
				    memchr(r.line, '\0', r.len) != NULL ||
				    memchr(r.line, '\n', r.len) != NULL)
					abort();
				check_parse(r.line, r.len);
			} else if (r.len != REPLY_MAX)
				abort();
			if (ps->n < REC_MAX) {
				ps->rec[ps->n].rc = rc;
				ps->rec[ps->n].len = r.len;
				ps->rec[ps->n].hash = fnv(r.line, r.len);
				ps->n++;
			}
			if (rc == -1)
				return; /* the client gives up here */
			reply_init(&r);
			start = off;
		}
	}
	/* an unfinished reply is never complete: no terminator came */
	if (r.done != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply r;
	size_t used, k;
	char *copy;
	int i;

	reply_init(&r);
	if (reply_feed(&r, "", 0, &used) != 0 || used != 0)
		abort();

	for (i = 0; i < 3; i++)
		feed(data, size, i, &passes[i]);
	for (i = 1; i < 3; i++) {
		if (passes[i].n != passes[0].n)
			abort();
		for (k = 0; k < passes[0].n; k++)
			if (passes[i].rec[k].rc != passes[0].rec[k].rc ||
			    passes[i].rec[k].len != passes[0].rec[k].len ||
			    passes[i].rec[k].hash != passes[0].rec[k].hash)
				abort();
	}

	/* reply_parse on the raw bytes, NULs and newlines included */
	if (size <= 4 * REPLY_MAX) {
		copy = malloc(size + 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		copy[size] = '\0';
		check_parse(copy, size);
		free(copy);
	}
	return 0;
}
