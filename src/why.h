/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_WHY_H
#define CLAMHOOK_WHY_H

/*
 * A reason for a failure, carried from the helper that saw it to main(),
 * which alone prints and exits.  Helpers never print: they fill a why and
 * return -1.
 */
#define WHY_MAX 512

struct why {
	char text[WHY_MAX];
};

/*
 * why_set: format the reason into w (truncated to WHY_MAX - 1 bytes).
 * Returns -1, so a helper can end with "return why_set(w, ...);".
 * w may be NULL.
 */
int why_set(struct why *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * why_errno: like why_set, then ": " and strerror(err).
 */
int why_errno(struct why *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
