/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_CONF_H
#define CLAMHOOK_CONF_H

#include <limits.h>
#include <stdint.h>

#include "fmt.h"
#include "why.h"

/*
 * The parsed configuration: SPEC §2.  The only global state of clamhook
 * besides the ring's storage.  Every string is a fixed array; a value that
 * does not fit is a configuration error, never truncated.
 */
#define CONF_SERVERS_MAX 16
#define CONF_NAME_MAX 255	/* host names, SOCKS user and password */
#define CONF_SUN_PATH_MAX 107	/* sizeof(sun_path) - 1 on Linux */

/* The values of the CHOICE keys, in the order of their names in conf.c. */
enum conf_protocol { PROTO_INSTREAM, PROTO_FILDES, PROTO_STREAM };
enum conf_balance { BALANCE_ROUND_ROBIN, BALANCE_FAILOVER };
enum conf_oversize { OVERSIZE_TRUNCATE, OVERSIZE_ACCEPT, OVERSIZE_REJECT,
	OVERSIZE_TEMPFAIL };
enum conf_format { FORMAT_LINE, FORMAT_JAMES, FORMAT_MILTER, FORMAT_SHELL };
enum conf_on_error { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT };
enum conf_messages { MESSAGES_NONE, MESSAGES_INFECTED, MESSAGES_ALL };

/* One `server` entry as written, before name resolution. */
struct conf_server {
	int is_unix;			/* "unix:/path" */
	char host[CONF_NAME_MAX + 1];	/* name, address literal, or path */
	unsigned port;			/* 0: none given, use [clamd] port */
	unsigned line;			/* where it was given */
};

/*
 * The keys of SPEC §2, one line each, in the order --check-config prints
 * them; the fields of struct conf, the defaults, the parser's table and
 * the printer all follow from this list (conf.c), so a new key is one line
 * here plus its checks.
 *
 *	X(section, key, field, type, default, min, max, choices)
 *
 * type: UINT (unsigned, min..max), SIZE (uint64_t, min..max, K/M/G
 * suffixes), CHOICE (int, one of conf.c's table choices), BOOL (int), STR,
 * IDENT (no blanks), OUTPUT ("-", "fd:N" or a path) and SECRET (printed as
 * "(set)"), each char[max + 1]; SERVERS and PROXY take a field declared
 * beside the list.  The Sun option names map onto these keys (conf.c).
 */
#define CONF_KEYS(X) \
	X(clamd, server, server, SERVERS, 0, 0, 0, 0) \
	X(clamd, port, port, UINT, 3310, 1, 65535, 0) \
	X(clamd, protocol, protocol, CHOICE, PROTO_INSTREAM, 0, 0, protocols) \
	X(clamd, balance, balance, CHOICE, BALANCE_ROUND_ROBIN, 0, 0, \
	    balances) \
	X(clamd, state_file, state_file, STR, "/run/clamhook.state", 0, \
	    PATH_MAX - 1, 0) \
	X(clamd, retry_dead_s, retry_dead_s, UINT, 30, 0, 86400, 0) \
	X(clamd, connect_timeout_ms, connect_timeout_ms, UINT, 3000, 1, \
	    3600000, 0) \
	X(clamd, timeout_ms, timeout_ms, UINT, 60000, 1, 86400000, 0) \
	X(clamd, chunk_size, chunk_size, SIZE, 8192, 1024, 1048576, 0) \
	X(clamd, max_pings, max_pings, UINT, 6, 1, 100000, 0) \
	X(clamd, ping_interval_ms, ping_interval_ms, UINT, 30000, 0, 3600000, \
	    0) \
	X(clamd, max_db_age_days, max_db_age_days, UINT, 7, 0, 3650, 0) \
	X(socks, server, socks_host, PROXY, 0, 0, 0, 0) \
	X(socks, version, socks_version, CHOICE, 5, 0, 0, socks_versions) \
	X(socks, username, socks_user, STR, "", 0, CONF_NAME_MAX, 0) \
	X(socks, password, socks_pass, SECRET, "", 0, CONF_NAME_MAX, 0) \
	X(socks, remote_dns, remote_dns, BOOL, 1, 0, 1, 0) \
	X(message, buffer_size, buffer_size, SIZE, 65536, 4096, 16777216, 0) \
	X(message, max_size, max_size, SIZE, 26214400, 0, CONF_SIZE_MAX, 0) \
	X(message, on_oversize, on_oversize, CHOICE, OVERSIZE_TRUNCATE, 0, 0, \
	    oversizes) \
	X(verdict, mode, mode, UINT, 1, 0, 3, 0) \
	X(verdict, field, field, STR, "Virus-Test", 0, CONF_NAME_MAX, 0) \
	X(verdict, verdict, verdict, STR, "", 0, CONF_NAME_MAX, 0) \
	X(verdict, format, format, CHOICE, FORMAT_LINE, 0, 0, formats) \
	X(verdict, output, output, OUTPUT, "-", 0, PATH_MAX - 1, 0) \
	X(verdict, on_error, on_error, CHOICE, ON_ERROR_TEMPFAIL, 0, 0, \
	    on_errors) \
	X(log, debug, debug, UINT, 0, 0, 2, 0) \
	X(log, syslog, syslog, BOOL, 0, 0, 1, 0) \
	X(log, ident, ident, IDENT, "clamhook", 0, 63, 0) \
	X(log, messages, messages, CHOICE, MESSAGES_INFECTED, 0, 0, \
	    messages_choices)

#define CONF_SIZE_MAX ((uint64_t)1 << 62)
/* A file verdict's temporary adds ".", "." and 6 characters (dest.c). */
#define CONF_TMP_EXTRA 8

#define CONF_FIELD(sec, key, field, type, def, min, max, choices) \
	CONF_FIELD_##type(field, max)
#define CONF_FIELD_UINT(f, max) unsigned f;
#define CONF_FIELD_SIZE(f, max) uint64_t f;
#define CONF_FIELD_CHOICE(f, max) int f;
#define CONF_FIELD_BOOL(f, max) int f;
#define CONF_FIELD_STR(f, max) char f[(max) + 1];
#define CONF_FIELD_IDENT(f, max) CONF_FIELD_STR(f, max)
#define CONF_FIELD_OUTPUT(f, max) CONF_FIELD_STR(f, max)
#define CONF_FIELD_SECRET(f, max) CONF_FIELD_STR(f, max)
#define CONF_FIELD_SERVERS(f, max)
#define CONF_FIELD_PROXY(f, max)

struct conf {
	const char *file;		/* the file read: the caller's name */
	int sun;			/* read as a Sun option file (§2.1) */

	/* [clamd] server: the entries as written */
	struct conf_server server[CONF_SERVERS_MAX];
	unsigned nserver;
	/* [socks] server, or Sun SOCKS_HOST and SOCKS_PORT: "" = direct */
	char socks_host[CONF_NAME_MAX + 1];
	unsigned socks_port;

	CONF_KEYS(CONF_FIELD)
};

/* conf_defaults: the defaults of SPEC §2 (no server). */
void conf_defaults(struct conf *c);

/*
 * conf_load: reset c to the defaults, then read path (kept as c->file:
 * it must outlive c): an INI file (§2) or, when it has no section header,
 * a Sun option file (§2.1).  Checks every
 * value and every combination that cannot work.  Returns 0, or -1 with
 * w->text "FILE:LINE: what is wrong" (or "FILE: what is wrong" when no line
 * applies, e.g. the file cannot be opened or lacks a server).
 */
int conf_load(struct conf *c, const char *path, struct why *w);

/*
 * conf_load_fd: as conf_load, from fd's current offset, which must be
 * seekable (the file is read twice); name is used in messages.  For tests
 * and fuzzing.
 */
int conf_load_fd(struct conf *c, int fd, const char *name, struct why *w);

/*
 * conf_check: the checks of combinations, to run again after command-line
 * overrides.  Returns 0 or -1 with w set ("FILE: ...").
 */
int conf_check(const struct conf *c, struct why *w);

/*
 * conf_set: one key of the INI given on the command line as option opt
 * (e.g. "-f" for [verdict] format), parsed as the INI's value is.  Returns
 * 0 or -1 with w set ("-f: format: ...").  Run conf_check afterwards.
 */
int conf_set(struct conf *c, const char *opt, const char *section,
    const char *name, const char *value, struct why *w);

/*
 * conf_print: write the effective settings to o as an INI file that
 * conf_load reads back to the same settings (--check-config).  The SOCKS
 * password is shown as "(set)".
 */
void conf_print(const struct conf *c, struct out *o);

#endif
