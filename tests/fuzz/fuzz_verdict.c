/* SPDX-License-Identifier: ISC */
/*
 * Fuzz the verdict writer with what a clamd can put in a verdict: a virus
 * name, an error text, and (several files) a file name, all raw bytes.
 * The mode and format come from the input (the replay of a corpus renders
 * each file in all sixteen); checked:
 *   - verdict_sanitize keeps printable ASCII, turns the rest into '?',
 *     stops at 255 bytes;
 *   - a record holds no byte outside 0x20..0x7e but '\n' and '\t', and
 *     ends with a newline;
 *   - shell: every line is ^[A-Z_]+='([^']|'\\'')*'$ and the quoted virus
 *     name reads back as the sanitised one;
 *   - james, milter: every line starts with "X-" (after "NAME\t");
 *   - line, james, milter: nothing for a failed scan; line: the mode's
 *     string of SPEC §4.1 exactly;
 *   - a small buffer gives -1 or a record that fits, never an overflow.
 *
 * Input: byte 0 result (bits 0-2), mode (3-4), format (5-6) and whether a
 * file name is given (7), byte 1 small-buffer size, 24 bytes of
 * sizes and time, then six fields each as a 2-byte big-endian length and
 * its bytes: virus, error, file, field, verdict, server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint64_t
take_u64(struct cursor *c)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8 && c->n > 0; i++, c->p++, c->n--)
		v = v << 8 | *c->p;
	return v;
}

static size_t
take_field(struct cursor *c, const uint8_t **out)
{
	size_t len;

	if (c->n < 2) {
		*out = c->p;
		c->p += c->n;
		c->n = 0;
		return 0;
	}
	len = (size_t)c->p[0] << 8 | c->p[1];
	c->p += 2;
	c->n -= 2;
	if (len > c->n)
		len = c->n;
	*out = c->p;
	c->p += len;
	c->n -= len;
	return len;
}

/* cstr: a C string of at most cap - 1 bytes from raw bytes, up to a NUL. */
static void
cstr(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* san: what the renderer must show for a C string: printable, <= max. */
static void
san(char *dst, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++)
		dst[i] =
		    (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ?
		    '?' :
		    s[i];
	dst[i] = '\0';
}

static void
check_sanitize(const uint8_t *p, size_t n)
{
	char out[OUTCOME_TEXT_MAX + 2];
	size_t i, k;

	memset(out, 'Z', sizeof(out));
	verdict_sanitize(out, (const char *)p, n);
	k = n < OUTCOME_TEXT_MAX ? n : OUTCOME_TEXT_MAX;
	if (out[k] != '\0' || out[OUTCOME_TEXT_MAX + 1] != 'Z')
		abort();
	for (i = 0; i < k; i++)
		if (out[i] != (p[i] >= 0x20 && p[i] <= 0x7e ? (char)p[i] : '?'))
			abort();
}

/* shell_line: ^[A-Z_]+='([^']|'\\'')*'$ on p[0..n). */
static int
shell_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '_'))
		i++;
	if (i == 0 || i + 1 >= n || p[i] != '=' || p[i + 1] != '\'')
		return 0;
	for (i += 2; i < n; i++) {
		if (p[i] != '\'')
			continue;
		if (i + 1 == n)
			return 1;
		if (n - i >= 4 && memcmp(p + i, "'\\''", 4) == 0) {
			i += 3;
			continue;
		}
		return 0;
	}
	return 0;
}

/* shell_value: the unquoted value of a well-formed line into dst. */
static void
shell_value(const char *p, size_t n, char *dst, size_t cap)
{
	size_t i, k = 0;

	i = (size_t)((const char *)memchr(p, '=', n) - p) + 2;
	for (; i + 1 < n && k + 1 < cap; i++) {
		if (p[i] == '\'') {
			dst[k++] = '\'';
			i += 3;
		} else
			dst[k++] = p[i];
	}
	dst[k] = '\0';
}

static void
check_record(const struct conf *c, const struct outcome *o, const char *file,
    const char *rec, int len)
{
	char want[1024], got[1024], prefix[OUTCOME_TEXT_MAX + 2];
	char fsan[CONF_NAME_MAX + 1], vsan[CONF_NAME_MAX + 1];
	const char *line, *end, *body;
	size_t i, n, plen = 0, nlines = 0;
	int infected = o->result == RESULT_INFECTED;

	if (len < 0 || len >= VERDICT_RECORD_MAX)
		abort();
	for (i = 0; i < (size_t)len; i++) {
		unsigned char ch = (unsigned char)rec[i];

		if ((ch < 0x20 || ch > 0x7e) && ch != '\n' && ch != '\t')
			abort();
	}
	if (len == 0) {
		/* only a failed scan renders nothing, and only then */
		if (c->format == FORMAT_SHELL || o->result != RESULT_ERROR)
			abort();
		return;
	}
	if (o->result == RESULT_ERROR && c->format != FORMAT_SHELL)
		abort();
	if (rec[len - 1] != '\n')
		abort();
	if (file != NULL && c->format != FORMAT_SHELL) {
		san(prefix, file, OUTCOME_TEXT_MAX);
		plen = strlen(prefix);
		prefix[plen++] = '\t';
		prefix[plen] = '\0';
	}

	for (line = rec; line < rec + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(rec + len - line));
		n = (size_t)(end - line);
		nlines++;
		if (c->format == FORMAT_SHELL) {
			if (!shell_line(line, n))
				abort();
			if (n > 15 &&
			    memcmp(line, "CLAMHOOK_VIRUS='", 16) == 0) {
				shell_value(line, n, got, sizeof(got));
				if (strcmp(got, o->virus) != 0)
					abort();
			}
			continue;
		}
		if (n < plen || memcmp(line, prefix, plen) != 0)
			abort();
		body = line + plen;
		n -= plen;
		if (c->format != FORMAT_LINE &&
		    (n < 2 || memcmp(body, "X-", 2) != 0))
			abort();
		if (c->format == FORMAT_JAMES &&
		    (n != (infected ? 25 : 26) ||
			memcmp(body,
			    infected ? "X-MessageIsInfected: true" :
				       "X-MessageIsInfected: false",
			    n) != 0))
			abort();
		if (c->format == FORMAT_LINE &&
		    (o->result == RESULT_CLEAN || infected)) {
			san(fsan, c->field, OUTCOME_TEXT_MAX);
			san(vsan, c->verdict, OUTCOME_TEXT_MAX);
			want[0] = '\0';
			if ((c->mode == 0 && infected) ||
			    (c->mode == 3 && !infected))
				strcpy(want, vsan);
			else if (c->mode == 2 || infected) {
				strcpy(want, fsan);
				if (fsan[0] != '\0')
					strcat(want, ": ");
				strcat(want, infected ? "True ; " : "False");
				if (infected)
					strcat(want, o->virus);
			}
			if (n != strlen(want) || memcmp(body, want, n) != 0)
				abort();
		}
	}
	if ((c->format == FORMAT_LINE || c->format == FORMAT_JAMES) &&
	    nlines != 1)
		abort();
	if (c->format == FORMAT_MILTER && nlines != 2)
		abort();
}

/*
 * render: one mode and format, into a buffer that always suffices and into
 * an exact-size heap buffer of small bytes, where an overflow is caught.
 */
static void
render(struct conf *c, const struct outcome *o, const char *fp, int mode,
    int fmt, size_t small)
{
	static char buf[VERDICT_RECORD_MAX];
	char *sbuf;
	int len;

	c->mode = mode;
	c->format = (enum conf_format)fmt;
	len = verdict_render(c, o, fp, buf, sizeof(buf));
	check_record(c, o, fp, buf, len);

	if ((sbuf = malloc(small > 0 ? small : 1)) == NULL)
		return;
	len = verdict_render(c, o, fp, sbuf, small);
	if (len != -1) {
		if (len < 0 || (size_t)len >= small)
			abort();
		check_record(c, o, fp, sbuf, len);
	}
	free(sbuf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	struct outcome o;
	struct cursor cur = { data, size };
	const uint8_t *virus, *error, *file, *field, *verdict, *server;
	size_t nvirus, nerror, nfile, nfield, nverdict, nserver, small;
	char fname[1024];
	const char *fp;
	int flags;
#ifdef FUZZ_REPLAY
	int k;
#endif

	if (size < 2)
		return 0;
	flags = data[0];
	small = data[1];
	cur.p += 2;
	cur.n -= 2;

	memset(&o, 0, sizeof(o));
	o.result = (enum outcome_result)((flags & 7) % 5);
	o.bytes = take_u64(&cur);
	o.sent = take_u64(&cur);
	o.ms = (int64_t)take_u64(&cur);
	nvirus = take_field(&cur, &virus);
	nerror = take_field(&cur, &error);
	nfile = take_field(&cur, &file);
	nfield = take_field(&cur, &field);
	nverdict = take_field(&cur, &verdict);
	nserver = take_field(&cur, &server);

	check_sanitize(virus, nvirus);
	check_sanitize(error, nerror);
	verdict_sanitize(o.virus, (const char *)virus, nvirus);
	verdict_sanitize(o.error, (const char *)error, nerror);
	cstr(o.server, sizeof(o.server), server, nserver);
	cstr(fname, sizeof(fname), file, nfile);
	fp = flags & 0x80 ? fname : NULL;

	conf_defaults(&c);
	cstr(c.field, sizeof(c.field), field, nfield);
	cstr(c.verdict, sizeof(c.verdict), verdict, nverdict);

#ifdef FUZZ_REPLAY
	for (k = 0; k < 16; k++) /* a corpus file: every mode and format */
		render(&c, &o, fp, k & 3, k >> 2, small);
#else
	render(&c, &o, fp, flags >> 3 & 3, flags >> 5 & 3, small);
#endif
	return 0;
}
