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

enum conf_protocol { PROTO_INSTREAM, PROTO_FILDES, PROTO_STREAM };
enum conf_balance { BALANCE_ROUND_ROBIN, BALANCE_FAILOVER };
enum conf_oversize { OVERSIZE_TRUNCATE, OVERSIZE_ACCEPT, OVERSIZE_REJECT,
	OVERSIZE_TEMPFAIL };
enum conf_format { FORMAT_LINE, FORMAT_JAMES, FORMAT_MILTER, FORMAT_SHELL };
enum conf_on_error { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT };

/* One `server` entry as written, before name resolution. */
struct conf_server {
	int is_unix;			/* "unix:/path" */
	char host[CONF_NAME_MAX + 1];	/* name, address literal, or path */
	unsigned port;			/* 0: none given, use [clamd] port */
	unsigned line;			/* where it was given */
};

struct conf {
	char file[PATH_MAX];		/* the file read */
	int sun;			/* read as a Sun option file (§2.1) */

	/* [clamd] */
	struct conf_server server[CONF_SERVERS_MAX];
	unsigned nserver;
	unsigned port;
	enum conf_protocol protocol;
	enum conf_balance balance;
	char state_file[PATH_MAX];	/* "" = none */
	unsigned retry_dead_s;
	unsigned connect_timeout_ms;
	unsigned timeout_ms;
	unsigned chunk_size;
	unsigned max_pings;
	unsigned ping_interval_ms;

	/* [socks] */
	char socks_host[CONF_NAME_MAX + 1];	/* "" = direct */
	unsigned socks_port;
	int socks_version;			/* 5, or 4 for 4a */
	char socks_user[CONF_NAME_MAX + 1];
	char socks_pass[CONF_NAME_MAX + 1];
	int remote_dns;

	/* [message] */
	uint64_t buffer_size;
	uint64_t max_size;		/* 0 = no limit */
	enum conf_oversize on_oversize;

	/* [verdict] */
	int mode;			/* 0..3 */
	char field[CONF_NAME_MAX + 1];
	char verdict[CONF_NAME_MAX + 1];
	enum conf_format format;
	char output[PATH_MAX];		/* path, "fd:N" or "-" */
	enum conf_on_error on_error;

	/* [log] */
	int debug;			/* 0..2 */
	int syslog;
	char ident[64];
};

/* conf_defaults: the defaults of SPEC §2 (no server). */
void conf_defaults(struct conf *c);

/*
 * conf_load: reset c to the defaults, then read path: an INI file (§2) or,
 * when it has no section header, a Sun option file (§2.1).  Checks every
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
 * conf_print: write the effective settings to o as an INI file that
 * conf_load reads back to the same settings (--check-config).  The SOCKS
 * password is shown as "(set)".
 */
void conf_print(const struct conf *c, struct out *o);

#endif
