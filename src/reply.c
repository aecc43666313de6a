/* SPDX-License-Identifier: ISC */
#include <limits.h>
#include <string.h>

#include "reply.h"

/*
 * clamd writes its replies with (clamd/session.c):
 *
 *	conn_reply_single	[ID ": "] [PATH ": "] STATUS TERM
 *	conn_reply		[ID ": "] [PATH ": "] MSG " " STATUS TERM
 *	conn_reply_virus	[ID ": "] PATH ": " VIRNAME " FOUND" TERM
 *
 * with ID printed by "%u", PATH "stream" for INSTREAM/STREAM and "fd[N]"
 * for FILDES, and TERM NUL (z-commands) or newline (n-commands, and the
 * command read timeout).  What this file accepts, byte for byte:
 *
 *	reply    = [id ": "] body
 *	id       = 1*DIGIT			; value <= ULONG_MAX
 *	body     = "PONG"
 *		 / "COMMAND READ TIMED OUT"
 *		 / "UNKNOWN COMMAND"
 *		 / [subject ": "] errtext " ERROR"	; errtext non-empty
 *		 / subject ": " "OK"
 *		 / subject ": " name " FOUND"		; name non-empty
 *	subject  = "stream" / "fd[" 1*DIGIT "]"
 *
 * Anything else is REPLY_TEXT.  The subject of an OK or FOUND ends at the
 * first ": " of the body: virus names never hold ": ", and a name that did
 * would still be taken whole ("stream: a: b FOUND" is FOUND "a: b").  The
 * name is everything between that ": " and the last " FOUND", taken as
 * clamd wrote it: "stream: OK FOUND" is FOUND "OK", a name with control
 * bytes is still FOUND (the verdict writer sanitises it).  No trimming:
 * "stream: OK " and "stream:  FOUND" fit no form.
 *
 * An ERROR may come with any prefix (FILDES errors have none, others name a
 * path); a known subject is cut from the text, anything else stays in it.
 * "INSTREAM size limit exceeded." is the one error text told apart.
 *
 * What res->name holds: FOUND the signature; ERROR and SIZE_LIMIT clamd's
 * text; READ_TIMEOUT, UNKNOWN_COMMAND, PONG and TEXT the body (the line
 * after any id); OK an empty string at the end of the line.  Never NULL.
 */

#define LIT(s) (s), (sizeof(s) - 1)

static int
is(const char *p, size_t n, const char *lit, size_t litlen)
{
	return n == litlen && memcmp(p, lit, n) == 0;
}

static int
ends(const char *p, size_t n, const char *lit, size_t litlen)
{
	return n >= litlen && memcmp(p + n - litlen, lit, litlen) == 0;
}

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * id_prefix: the length of a leading `1*DIGIT ": "` whose value fits an
 * unsigned long, stored in *id; 0 when there is none.
 */
static size_t
id_prefix(const char *p, size_t n, unsigned long *id)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < n && isdig(p[i]); i++) {
		if (v > (ULONG_MAX - (unsigned long)(p[i] - '0')) / 10)
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (i == 0 || n - i < 2 || p[i] != ':' || p[i + 1] != ' ')
		return 0;
	*id = v;
	return i + 2;
}

/* subject: p[0..n) as "stream" or "fd[" 1*DIGIT "]", else SUBJECT_NONE. */
static enum reply_subject
subject(const char *p, size_t n)
{
	size_t i;

	if (is(p, n, LIT("stream")))
		return SUBJECT_STREAM;
	if (n < 5 || memcmp(p, "fd[", 3) != 0 || p[n - 1] != ']')
		return SUBJECT_NONE;
	for (i = 3; i < n - 1; i++)
		if (!isdig(p[i]))
			return SUBJECT_NONE;
	return SUBJECT_FD;
}

/* subject_end: the offset of the first ": " in p[0..n), or n. */
static size_t
subject_end(const char *p, size_t n)
{
	const char *c;

	c = memchr(p, ':', n);
	while (c != NULL && (size_t)(c - p) + 1 < n) {
		if (c[1] == ' ')
			return (size_t)(c - p);
		c = memchr(c + 1, ':', n - (size_t)(c + 1 - p));
	}
	return n;
}

void
reply_init(struct reply *r)
{
	r->line[0] = '\0';
	r->len = 0;
	r->done = 0;
}

/*
 * r->done is 0 while a reply is assembled, 1 once complete and -1 after an
 * overlong one; the last two stick until reply_init.  An overlong reply
 * keeps its first REPLY_MAX bytes in line, for the error message.
 */
int
reply_feed(struct reply *r, const void *p, size_t n, size_t *used)
{
	const unsigned char *s = p;
	size_t i, room, lim;

	*used = 0;
	if (r->done != 0)
		return r->done;
	room = REPLY_MAX - r->len;
	lim = n < room + 1 ? n : room + 1;
	for (i = 0; i < lim; i++)
		if (s[i] == '\0' || s[i] == '\n')
			break;
	if (i == lim && lim > room) {
		memcpy(r->line + r->len, s, room);
		r->len = REPLY_MAX;
		r->line[r->len] = '\0';
		*used = room;
		r->done = -1;
		return -1;
	}
	memcpy(r->line + r->len, s, i);
	r->len += i;
	r->line[r->len] = '\0';
	if (i == n) {
		*used = n;
		return 0;
	}
	*used = i + 1;
	r->done = 1;
	return 1;
}

void
reply_parse(const char *line, size_t len, struct reply_result *res)
{
	const char *b;
	size_t n, sub, off;

	res->id = 0;
	off = id_prefix(line, len, &res->id);
	b = line + off;
	n = len - off;

	res->kind = REPLY_TEXT;
	res->subject = SUBJECT_NONE;
	res->name = b;
	res->namelen = n;

	if (is(b, n, LIT("PONG"))) {
		res->kind = REPLY_PONG;
		return;
	}
	if (is(b, n, LIT("COMMAND READ TIMED OUT"))) {
		res->kind = REPLY_READ_TIMEOUT;
		return;
	}
	if (is(b, n, LIT("UNKNOWN COMMAND"))) {
		res->kind = REPLY_UNKNOWN_COMMAND;
		return;
	}

	sub = subject_end(b, n);
	if (ends(b, n, LIT(" ERROR")) && n > sizeof(" ERROR") - 1) {
		n -= sizeof(" ERROR") - 1;
		if (sub + 2 < n && (res->subject = subject(b, sub)) !=
		    SUBJECT_NONE) {
			b += sub + 2;
			n -= sub + 2;
		}
		res->kind = REPLY_ERROR;
		if (is(b, n, LIT("INSTREAM size limit exceeded.")))
			res->kind = REPLY_SIZE_LIMIT;
		res->name = b;
		res->namelen = n;
		return;
	}

	if (sub == n || (res->subject = subject(b, sub)) == SUBJECT_NONE)
		return;
	b += sub + 2;
	n -= sub + 2;
	if (is(b, n, LIT("OK"))) {
		res->kind = REPLY_OK;
		res->name = line + len;
		res->namelen = 0;
		return;
	}
	if (ends(b, n, LIT(" FOUND")) && n > sizeof(" FOUND") - 1) {
		res->kind = REPLY_FOUND;
		res->name = b;
		res->namelen = n - (sizeof(" FOUND") - 1);
	}
}
