/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_LOG_H
#define CLAMHOOK_LOG_H

#include <stddef.h>

/*
 * Logging (SPEC §7).  Errors: one line "IDENT: ..." on standard error, and
 * to syslog (facility mail) when asked.  Steps (debug >= 1) and traffic
 * (debug >= 2) carry a timestamp in seconds since start.
 */

/* log_init: the level, syslog on or off, and the ident (kept, not copied). */
void log_init(int debug, int use_syslog, const char *ident);

/* log_error: one error line. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_warn: one warning line (same channel as errors). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_info: a notice worth keeping (a partial scan): to syslog when on,
 * to standard error only when debug >= 1, so success stays quiet.
 */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_step: a step, when debug >= 1.  A macro: at debug 0 nothing is
 * called, so a scan's stack is no deeper for the steps it does not log.
 */
void log_step_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_step(...) \
	do { \
		if (log_level() >= 1) \
			log_step_(__VA_ARGS__); \
	} while (0)

/*
 * log_traffic: protocol bytes, when debug >= 2: dir is "->" or "<-", the
 * bytes are escaped (\0, \n, \xNN), at most 200 of them shown.
 */
void log_traffic(const char *dir, const void *p, size_t n);

/* log_level: the debug level in force. */
int log_level(void);

#endif
