/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_REPLY_H
#define CLAMHOOK_REPLY_H

#include <stddef.h>

/*
 * clamd replies (clamd(8)).  A reply to a z-command ends with NUL; clamd may
 * also end a line with newline ("COMMAND READ TIMED OUT" always does), so
 * either ends a reply.  A reply may arrive split across any number of
 * reads, and is at most REPLY_MAX bytes: anything longer is a protocol
 * error.
 *
 *	[ID ": "] SUBJECT ": " "OK"			clean
 *	[ID ": "] SUBJECT ": " NAME " FOUND"		infected
 *	[ID ": "] [SUBJECT ": "] TEXT " ERROR"		clamd error
 *	[ID ": "] "COMMAND READ TIMED OUT"		clamd error
 *	[ID ": "] "UNKNOWN COMMAND"			clamd error
 *	"PONG"						PING answer
 *	anything else (VERSION text)			REPLY_TEXT
 *
 * SUBJECT is "stream" (INSTREAM and STREAM) or "fd[N]" (FILDES).
 */
#define REPLY_MAX 1024

/* Incremental assembly of one reply from the bytes a socket gives. */
struct reply {
	char line[REPLY_MAX + 1];	/* NUL-terminated once complete */
	size_t len;
	int done;
};

/* reply_init: start a new reply. */
void reply_init(struct reply *r);

/*
 * reply_feed: take bytes from p[0..n).  Sets *used to how many were taken
 * (the rest belong to a later reply).  Returns 1 when the reply is complete
 * (its terminator taken, not stored), 0 when more bytes are needed, -1 when
 * it is longer than REPLY_MAX.
 */
int reply_feed(struct reply *r, const void *p, size_t n, size_t *used);

enum reply_kind {
	REPLY_OK,		/* clean */
	REPLY_FOUND,		/* infected; name holds the signature */
	REPLY_ERROR,		/* "... ERROR"; name holds clamd's text */
	REPLY_SIZE_LIMIT,	/* "INSTREAM size limit exceeded. ERROR" */
	REPLY_READ_TIMEOUT,	/* "COMMAND READ TIMED OUT" */
	REPLY_UNKNOWN_COMMAND,	/* "UNKNOWN COMMAND" (e.g. STREAM on 0.104+) */
	REPLY_PONG,		/* "PONG" */
	REPLY_TEXT,		/* anything else; only VERSION expects it */
};

/* What a reply is about: SUBJECT ": " before its verdict or error. */
enum reply_subject {
	SUBJECT_NONE,
	SUBJECT_STREAM,		/* "stream": INSTREAM and STREAM */
	SUBJECT_FD,		/* "fd[N]": FILDES */
};

struct reply_result {
	enum reply_kind kind;
	enum reply_subject subject;
	unsigned long id;	/* IDSESSION request number, 0 when none */
	const char *name;	/* into the reply: signature or error text */
	size_t namelen;
};

/*
 * reply_parse: classify a complete reply (line[0..len)).  Never fails: what
 * fits no form is REPLY_TEXT, which callers other than VERSION treat as a
 * protocol error.  A FOUND with an empty name is REPLY_TEXT, never clean.
 * res->name points into line.
 */
void reply_parse(const char *line, size_t len, struct reply_result *res);

#endif
