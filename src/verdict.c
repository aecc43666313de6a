/* SPDX-License-Identifier: ISC */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "exit.h"
#include "fmt.h"
#include "verdict.h"
#include "version.h"

/*
 * A record under construction: buf[0..len) with room for a NUL kept back.
 * Once full, every later append is dropped and render fails as a whole.
 */
struct rec {
	char *buf;
	size_t room;
	size_t len;
	int full;
};

static void
put(struct rec *r, const char *s, size_t n)
{
	if (r->full || n > r->room - r->len) {
		r->full = 1;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void
put_str(struct rec *r, const char *s)
{
	put(r, s, strlen(s));
}

/*
 * put_text: append s (size bytes at most, up to a NUL) reduced to printable
 * ASCII and to max bytes; with shq, each single quote becomes '\'' so the
 * text can sit between single quotes in sh(1).
 */
static void
put_text(struct rec *r, const char *s, size_t size, size_t max, int shq)
{
	size_t i;

	for (i = 0; i < size && i < max && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7e)
			ch = '?';
		if (shq && ch == '\'')
			put(r, "'\\''", 4);
		else
			put(r, (const char *)&ch, 1);
	}
}

static void
put_u64(struct rec *r, uint64_t n)
{
	char d[24];

	put(r, d,
	    (size_t)fmt_s(d, sizeof(d), "%llu", (unsigned long long)n));
}

static void
put_i64(struct rec *r, int64_t n)
{
	char d[24];

	put(r, d, (size_t)fmt_s(d, sizeof(d), "%lld", (long long)n));
}

/* The file name and a TAB that start each line for several files (§5.4). */
static void
put_prefix(struct rec *r, const char *file)
{
	if (file == NULL)
		return;
	put_text(r, file, SIZE_MAX, OUTCOME_TEXT_MAX, 0);
	put(r, "\t", 1);
}

/* The result string (§4.1): "FIELD: False", "FIELD: True ; NAME". */
static void
put_result(struct rec *r, const struct conf *c, const struct outcome *o,
    int shq)
{
	put_text(r, c->field, sizeof(c->field), OUTCOME_TEXT_MAX, shq);
	if (c->field[0] != '\0')
		put(r, ": ", 2);
	if (o->result == RESULT_INFECTED) {
		put_str(r, "True ; ");
		put_text(r, o->virus, sizeof(o->virus), OUTCOME_TEXT_MAX, shq);
	} else
		put_str(r, "False");
}

/*
 * The mode's string (§4.1).  Partial and skipped count as clean; an error
 * reached no verdict and has none.  A mode outside 0..3 reads as 1, the
 * default.
 */
static void
put_verdict(struct rec *r, const struct conf *c, const struct outcome *o,
    int shq)
{
	int infected = o->result == RESULT_INFECTED;

	if (o->result == RESULT_ERROR)
		return;
	switch (c->mode) {
	case 0:
		if (infected)
			put_text(r, c->verdict, sizeof(c->verdict),
			    OUTCOME_TEXT_MAX, shq);
		break;
	case 2:
		put_result(r, c, o, shq);
		break;
	case 3:
		if (infected)
			put_result(r, c, o, shq);
		else
			put_text(r, c->verdict, sizeof(c->verdict),
			    OUTCOME_TEXT_MAX, shq);
		break;
	default:
		if (infected)
			put_result(r, c, o, shq);
		break;
	}
}

static const char *
result_name(enum outcome_result res)
{
	switch (res) {
	case RESULT_CLEAN:
		return "clean";
	case RESULT_INFECTED:
		return "infected";
	case RESULT_PARTIAL:
		return "partial";
	case RESULT_SKIPPED:
		return "skipped";
	default:
		return "error";
	}
}

/* One KEY='value' line; value is a C string of at most size bytes. */
static void
put_var(struct rec *r, const char *key, const char *value, size_t size,
    size_t max)
{
	put_str(r, key);
	put(r, "='", 2);
	put_text(r, value, size, max, 1);
	put(r, "'\n", 2);
}

static void
render_shell(struct rec *r, const struct conf *c, const struct outcome *o,
    const char *file)
{
	if (file != NULL)
		put_var(r, "CLAMHOOK_FILE", file, SIZE_MAX, OUTCOME_TEXT_MAX);
	put_var(r, "CLAMHOOK_RESULT", result_name(o->result), SIZE_MAX,
	    OUTCOME_TEXT_MAX);
	put_var(r, "CLAMHOOK_VIRUS", o->virus, sizeof(o->virus),
	    OUTCOME_TEXT_MAX);
	put_str(r, "CLAMHOOK_VERDICT='");
	put_verdict(r, c, o, 1);
	put(r, "'\n", 2);
	put_var(r, "CLAMHOOK_SERVER", o->server, sizeof(o->server),
	    sizeof(o->server) - 1);
	put_str(r, "CLAMHOOK_BYTES='");
	put_u64(r, o->bytes);
	put_str(r, "'\nCLAMHOOK_SENT='");
	put_u64(r, o->sent);
	put_str(r, "'\nCLAMHOOK_MS='");
	put_i64(r, o->ms);
	put(r, "'\n", 2);
	put_var(r, "CLAMHOOK_ERROR", o->error, sizeof(o->error),
	    OUTCOME_TEXT_MAX);
}

static void
render_milter(struct rec *r, const struct outcome *o, const char *file)
{
	put_prefix(r, file);
	put_str(r, "X-Virus-Scanned: clamhook ");
	put_text(r, CLAMHOOK_VERSION, SIZE_MAX, OUTCOME_TEXT_MAX, 0);
	put(r, "\n", 1);
	put_prefix(r, file);
	put_str(r, "X-Virus-Status: ");
	switch (o->result) {
	case RESULT_INFECTED:
		put_str(r, "Infected (");
		put_text(r, o->virus, sizeof(o->virus), OUTCOME_TEXT_MAX, 0);
		put(r, ")", 1);
		break;
	case RESULT_PARTIAL:
		put_str(r, "Clean (partial)");
		break;
	case RESULT_SKIPPED:
		put_str(r, "Not scanned (oversize)");
		break;
	default:
		put_str(r, "Clean");
		break;
	}
	put(r, "\n", 1);
}

void
verdict_sanitize(char *dst, const char *src, size_t n)
{
	size_t i;

	if (n > OUTCOME_TEXT_MAX)
		n = OUTCOME_TEXT_MAX;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
	}
	dst[n] = '\0';
}

void
verdict_outcome(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->result = RESULT_ERROR;
}

void
verdict_add_error(struct outcome *o, const char *what)
{
	char buf[OUTCOME_TEXT_MAX + 3 + WHY_MAX];
	size_t n = strlen(o->error);

	fmt_s(buf, sizeof(buf), "%s%s%s", o->error, n ? "; " : "", what);
	verdict_sanitize(o->error, buf, strlen(buf));
}

int
verdict_status(const struct conf *c, const struct outcome *o)
{
	switch (o->result) {
	case RESULT_CLEAN:
	case RESULT_PARTIAL:
	case RESULT_SKIPPED:
		return EX_CLEAN;
	case RESULT_INFECTED:
		return EX_INFECTED;
	default:
		return c->on_error == ON_ERROR_ACCEPT ? EX_CLEAN : EX_TEMPFAIL;
	}
}

int
verdict_render(const struct conf *c, const struct outcome *o, const char *file,
    char *buf, size_t cap)
{
	struct rec r = { buf, cap > 0 ? cap - 1 : 0, 0, cap == 0 };

	if (c->format == FORMAT_SHELL)
		render_shell(&r, c, o, file);
	else if (o->result == RESULT_ERROR)
		;
	else if (c->format == FORMAT_MILTER)
		render_milter(&r, o, file);
	else if (c->format == FORMAT_JAMES) {
		put_prefix(&r, file);
		put_str(&r,
		    o->result == RESULT_INFECTED ?
			"X-MessageIsInfected: true\n" :
			"X-MessageIsInfected: false\n");
	} else {
		put_prefix(&r, file);
		put_verdict(&r, c, o, 0);
		put(&r, "\n", 1);
	}
	if (r.full || r.len > INT_MAX)
		return -1;
	buf[r.len] = '\0';
	return (int)r.len;
}
