/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_WHY_H
#define CLAMHOOK_WHY_H

/*
 * A reason for a failure, carried from the helper that saw it to main(),
 * which alone prints and exits.  Helpers never print: they fill a why and
 * return -1.
 *
 * The class says whose fault it was, which decides what a scan does next
 * (SPEC §5.2): the message's own (stop: no other server can do better),
 * the server's or the way to it (mark it dead, try the next), a reply that
 * makes no sense (the same), or clamd's own error reply (try the next; the
 * server is alive).
 */
#define WHY_MAX 512

enum why_class {
	WHY_SERVER,	/* connect, proxy, transport, deadline: the default */
	WHY_PROTOCOL,	/* a reply that fits no form, or answers another request */
	WHY_CLAMD,	/* clamd answered with an error: alive, but no verdict */
	WHY_INPUT,	/* the message cannot be read, or not sent again */
};

struct why {
	enum why_class cls;
	char text[WHY_MAX];
};

/*
 * why_set: format the reason into w (truncated to WHY_MAX - 1 bytes), of
 * class WHY_SERVER.  Returns -1, so a helper can end with
 * "return why_set(w, ...);".  w may be NULL.
 */
int why_set(struct why *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * why_errno: like why_set, then ": " and strerror(err).
 */
int why_errno(struct why *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* why_as: set w's class.  Returns -1, as why_set does. */
int why_as(struct why *w, enum why_class cls);

#endif
