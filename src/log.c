/* SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "io.h"
#include "log.h"

static int level;
static int use_syslog;
static const char *ident = "clamhook";
static ms_t start;

void
log_init(int debug, int syslog_on, const char *name)
{
	level = debug;
	if (name != NULL && *name != '\0')
		ident = name;
	if (start == 0)
		start = io_now();
	if (syslog_on && !use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	use_syslog = syslog_on;
}

int
log_level(void)
{
	return level;
}

/* emit: one line to stderr (with a timestamp for steps) and syslog. */
static void
emit(int prio, const char *tag, int stamp, const char *fmt, va_list ap)
{
	char line[1024];
	ms_t t;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (stamp) {
		t = io_now() - start;
		fprintf(stderr, "%s: [%lld.%03lld] %s%s\n", ident,
		    (long long)(t / 1000), (long long)(t % 1000), tag, line);
	} else {
		fprintf(stderr, "%s: %s%s\n", ident, tag, line);
	}
	if (use_syslog)
		syslog(prio, "%s%s", tag, line);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_ERR, "", 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_WARNING, "warning: ", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (level >= 1) {
		emit(LOG_INFO, "", 1, fmt, ap);
	} else if (use_syslog) {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(LOG_INFO, "%s", line);
	}
	va_end(ap);
}

void
log_step(const char *fmt, ...)
{
	va_list ap;

	if (level < 1)
		return;
	va_start(ap, fmt);
	emit(LOG_DEBUG, "", 1, fmt, ap);
	va_end(ap);
}

void
log_traffic(const char *dir, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	char esc[820];
	size_t i, o = 0, shown = n < 200 ? n : 200;

	if (level < 2)
		return;
	for (i = 0; i < shown; i++) {
		unsigned char c = b[i];

		if (c == '\0') {
			esc[o++] = '\\';
			esc[o++] = '0';
		} else if (c == '\n') {
			esc[o++] = '\\';
			esc[o++] = 'n';
		} else if (c == '\\') {
			esc[o++] = '\\';
			esc[o++] = '\\';
		} else if (c >= 0x20 && c < 0x7f) {
			esc[o++] = (char)c;
		} else {
			esc[o++] = '\\';
			esc[o++] = 'x';
			esc[o++] = hex[c >> 4];
			esc[o++] = hex[c & 15];
		}
	}
	esc[o] = '\0';
	log_step("%s %zu bytes \"%s\"%s", dir, n, esc, n > shown ? "..." : "");
}
