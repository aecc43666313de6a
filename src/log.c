/* SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fmt.h"
#include "io.h"
#include "log.h"

static int level;
static int use_syslog;
static const char *ident = "clamhook";
static ms_t start;
static int logfd = -1;

/*
 * Syslog without libc's syslog(3), which drags time zone code into a
 * static binary: one datagram to /dev/log in the form every syslogd
 * takes (RFC 3164 without a timestamp: the daemon adds its own):
 *
 *	<PRI>IDENT[PID]: TEXT		PRI = facility mail (2) * 8 + severity
 */
enum { LOG_ERR = 3, LOG_WARNING = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

#ifdef CLAMHOOK_CLEAN_UP
static void
sys_log_close(void)
{
	close(logfd);
}
#endif

static void
sys_log(int severity, const char *tag, const char *text)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX,
		.sun_path = "/dev/log" };
	char msg[1200];
	int n;

	if (logfd < 0) {
		logfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (logfd < 0)
			return;
		if (connect(logfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(logfd);
			logfd = -1;
			return;
		}
#ifdef CLAMHOOK_CLEAN_UP
		/* Kept to the end, and closed then for valgrind's count. */
		atexit(sys_log_close);
#endif
	}
	n = fmt_s(msg, sizeof(msg), "<%d>%s[%d]: %s%s", 2 * 8 + severity,
	    ident, (int)getpid(), tag, text);
	if (n > 0)
		send(logfd, msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
log_init(int debug, int syslog_on, const char *name)
{
	level = debug;
	if (name != NULL && *name != '\0')
		ident = name;
	/* The clock only for the timestamps of debug lines. */
	if (start == 0 && level >= 1)
		start = io_now();
	use_syslog = syslog_on;
}

int
log_level(void)
{
	return level;
}

/* format: fmt_v, then nothing a peer sent reaches a terminal raw. */
static void
format(char *line, size_t size, const char *fmt, va_list ap)
{
	fmt_v(line, size, fmt, ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/*
 * emit: one line to stderr in one write (with a timestamp for steps), and
 * to syslog.
 */
static void
emit(int prio, const char *tag, int stamp, const char *fmt, va_list ap)
{
	struct out err = OUT_INIT(2);
	char line[1024];
	ms_t t;

	format(line, sizeof(line), fmt, ap);
	if (stamp) {
		t = io_now() - start;
		out_printf(&err, "%s: [%lld.%03lld] %s%s\n", ident,
		    (long long)(t / 1000), (long long)(t % 1000), tag, line);
	} else {
		out_printf(&err, "%s: %s%s\n", ident, tag, line);
	}
	(void)out_flush(&err);
	if (use_syslog)
		sys_log(prio, tag, line);
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

		format(line, sizeof(line), fmt, ap);
		sys_log(LOG_INFO, "", line);
	}
	va_end(ap);
}

void
log_step_(const char *fmt, ...)
{
	va_list ap;

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
