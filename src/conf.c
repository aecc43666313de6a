/* SPDX-License-Identifier: ISC */
/*
 * The configuration file: SPEC §2 (INI, parsed by the system's inih) and
 * §2.1 (Sun Messaging Server option files).
 *
 * inih is used as packaged, with its default knobs: a 200-byte line
 * buffer, ';' comments inline after a blank, indented lines continuing the
 * value above, no handler call for a section without keys.  It hides what
 * must be errors here, so every raw line first goes through conf_reader(),
 * which counts lines, rejects long lines and NUL bytes, checks section
 * headers and tells the handler whether the line continues the previous
 * key.  The handler then works from a table of (section, name).
 *
 * Rules beyond SPEC §2, for the README:
 * - a line holds at most LINE_MAX_CONTENT (198) bytes besides its "\n" or
 *   "\r\n": what inih reads whole into its buffer, in every version;
 * - numbers are unsigned decimal, without sign, blanks or junk; sizes
 *   (chunk_size, buffer_size, max_size, MAXMESSAGESIZE) take a K, M or G
 *   suffix, either case, for KiB, MiB, GiB;
 * - enum and boolean values are case-insensitive; booleans are yes/no,
 *   true/false, on/off, 1/0;
 * - a continuation line joins its value to the key's with one space and the
 *   whole is checked again; for [clamd] server it is one more list, and
 *   "server =" with nothing after it is the start of such lines (a name
 *   too long for "server = NAME" fits on a line of its own);
 * - [clamd] server and [socks] server: HOST, HOST:PORT, [IPV6]:PORT, [IPV6]
 *   or a bare IPv6 literal (no port: more than one ':'); [clamd] server also
 *   unix:/absolute/path; a SOCKS server without port uses 1080, and is not
 *   named "unix" (with its port, "unix:1080" reads as a socket);
 * - [verdict] output: "-", "fd:N" with N 0..65535, or a path (write
 *   "./fd:x" for a file named so);
 * - a file without any section header but with at least one option line
 *   is a Sun option file; an empty one is read as INI (and lacks a server).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* inih's buffer must also hold the "\n" and the terminating NUL. */
#define LINE_MAX_CONTENT (INI_MAX_LINE - 2)

#define SOCKS_PORT	1080
#define SHOWN_MAX	40	/* bytes of a bad value quoted */

enum section { SEC_NONE, SEC_clamd, SEC_socks, SEC_message, SEC_verdict,
	SEC_log, SEC_SUN };

static const char *const section_names[] = {
	"", "clamd", "socks", "message", "verdict", "log"
};

enum type {
	T_UINT,		/* decimal number in [min, max] */
	T_SIZE,		/* the same, with a K, M or G suffix */
	T_CHOICE,	/* one of choices[]; stores its value */
	T_BOOL,
	T_STR,		/* at most max bytes at off */
	T_IDENT,	/* printable, no blanks, at most max bytes at off */
	T_OUTPUT,	/* "-", "fd:N" or a path, at off */
	T_SECRET,	/* as T_STR, printed as "(set)" */
	T_SERVERS,	/* [clamd] server: a list, repeatable */
	T_PROXY,	/* [socks] server */
	T_HOST		/* Sun HOST and SOCKS_HOST: a host, no port */
};

/* Every key: those of CONF_KEYS, in its order, then the Sun ones. */
enum kid {
#define KID(sec, key, field, type, def, min, max, choices) K_##sec##_##key,
	CONF_KEYS(KID)
#undef KID
	K_SUN_HOST, K_SUN_SOCKS_HOST, K_SUN_SOCKS_PORT, K_COUNT
};

/* A name and the value it stands for, of a CHOICE key. */
struct choice {
	const char *name;
	int value;
};

static const struct choice protocols[] = { { "instream", PROTO_INSTREAM },
	{ "fildes", PROTO_FILDES }, { "stream", PROTO_STREAM }, { NULL, 0 } };
static const struct choice balances[] = {
	{ "round-robin", BALANCE_ROUND_ROBIN }, { "failover", BALANCE_FAILOVER },
	{ NULL, 0 } };
static const struct choice socks_versions[] = { { "5", 5 }, { "4a", 4 },
	{ NULL, 0 } };
static const struct choice oversizes[] = {
	{ "truncate", OVERSIZE_TRUNCATE }, { "accept", OVERSIZE_ACCEPT },
	{ "reject", OVERSIZE_REJECT }, { "tempfail", OVERSIZE_TEMPFAIL },
	{ NULL, 0 } };
static const struct choice formats[] = { { "line", FORMAT_LINE },
	{ "james", FORMAT_JAMES }, { "milter", FORMAT_MILTER },
	{ "shell", FORMAT_SHELL }, { NULL, 0 } };
static const struct choice on_errors[] = { { "tempfail", ON_ERROR_TEMPFAIL },
	{ "accept", ON_ERROR_ACCEPT }, { NULL, 0 } };
static const struct choice messages_choices[] = { { "none", MESSAGES_NONE },
	{ "infected", MESSAGES_INFECTED }, { "all", MESSAGES_ALL },
	{ NULL, 0 } };

/* A key: 40 bytes (a table of them is part of every binary). */
struct key {
	const char *name;
	const struct choice *choices;	/* T_CHOICE */
	uint64_t min, max;		/* numbers; strings: max length */
	uint16_t off, size;		/* the field in struct conf */
	uint8_t sec;			/* enum section */
	uint8_t id;			/* enum kid */
	uint8_t type;			/* enum type */
};

_Static_assert(sizeof(struct conf) <= UINT16_MAX, "struct key's off");

#define FIELD(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define KEY(sec, key, field, type, def, min, max, choices) \
	{ #key, choices, min, max, FIELD(field), SEC_##sec, \
	    K_##sec##_##key, T_##type },

static const struct key keys[] = { CONF_KEYS(KEY) };

/*
 * Sun option files (§2.1): each option is an INI key under its Sun name
 * (messages use that name), or one of three of the Sun form's own.
 */
static const struct {
	const char *name;
	enum kid id;
} sun_names[] = {
	{ "PORT", K_clamd_port }, { "DEBUG", K_log_debug },
	{ "FIELD", K_verdict_field }, { "MAXMESSAGESIZE", K_message_max_size },
	{ "MODE", K_verdict_mode }, { "VERDICT", K_verdict_verdict },
};

static const struct key sun_keys[] = {
	{ "HOST", NULL, 0, 0, FIELD(server), SEC_SUN, K_SUN_HOST, T_HOST },
	{ "SOCKS_HOST", NULL, 0, 0, FIELD(socks_host), SEC_SUN,
	    K_SUN_SOCKS_HOST, T_HOST },
	{ "SOCKS_PORT", NULL, 1, 65535, FIELD(socks_port), SEC_SUN,
	    K_SUN_SOCKS_PORT, T_UINT },
};

/* The state of one read, shared by conf_reader() and conf_handler(). */
struct parse {
	struct conf *c;
	int fd;
	int eof;			/* read() returned 0 */
	size_t inpos, inlen;		/* in[inpos..inlen) not yet taken */
	off_t total;			/* bytes read */
	const char *name;		/* of the file, for messages */
	struct why *w;
	int failed;			/* w holds the first error */
	int sun;			/* §2.1 option file */
	unsigned lineno;		/* of the line inih works on */
	enum section section;
	int prev_name;			/* inih would continue a key */
	int cont;			/* this line continues p->last */
	const struct key *last;		/* key of the last key line */
	unsigned empty_server;		/* "server =" awaiting continuations */
	unsigned seen[K_COUNT];		/* line where each key was set */
	size_t acclen;
	int nul, toolong;		/* of the raw line */
	size_t rawlen;

	/* The buffers, last: each is written before it is read. */
	struct key sun_key;		/* an INI key under its Sun name */
	char in[1024];
	char acc[PATH_MAX + 2];		/* the key's value, joined */
	char contval[LINE_MAX_CONTENT + 1];
	char raw[LINE_MAX_CONTENT + 5];	/* + BOM, '\r' and NUL */
};

static int fail(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static int at(struct why *, const char *, unsigned, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* at: "FILE:LINE: what", or "FILE: what" when line is 0. */
static int
at(struct why *w, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	fmt_v(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line != 0)
		return why_set(w, "%s:%u: %s", file, line, msg);
	return why_set(w, "%s: %s", file, msg);
}

/* fail: record the first error, at the current line.  Returns -1. */
static int
fail(struct parse *p, const char *fmt, ...)
{
	char msg[WHY_MAX];
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = 1;
	va_start(ap, fmt);
	fmt_v(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return at(p->w, p->name, p->lineno, "%s", msg);
}

/* is_blank: isspace() of the C locale, which inih uses. */
static int
is_blank(int ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static const char *
skip_blanks(const char *s)
{
	while (is_blank((unsigned char)*s))
		s++;
	return s;
}

/*
 * find_delim: the first of chars in s, or the start of an inline comment
 * (';' after a blank), or the end: where inih stops.
 */
static const char *
find_delim(const char *s, const char *chars)
{
	int was_blank = 0;

	for (; *s != '\0'; s++) {
		if (chars != NULL && strchr(chars, *s) != NULL)
			break;
		if (was_blank && *s == ';')
			break;
		was_blank = is_blank((unsigned char)*s);
	}
	return s;
}

/*
 * shown: s[0..len) fit to quote in a message: at most SHOWN_MAX bytes,
 * anything but printable ASCII as '?'.
 */
static const char *
shown(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = len > SHOWN_MAX ? SHOWN_MAX : len;

	if (size < SHOWN_MAX + 4)
		return "";
	for (i = 0; i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 1;
	return 0;
}

/*
 * parse_num: s[0..len) as an unsigned decimal number: digits only, no sign,
 * no blanks; with suffixes, one K, M or G (either case) after the digits
 * multiplies by 2^10, 2^20, 2^30.  Returns 0, -1 when it is not such a
 * number, or -2 when it is outside [min, max] (overflow included).
 */
static int
parse_num(const char *s, size_t len, int suffixes, uint64_t min,
    uint64_t max, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	size_t i = 0;
	int over = 0;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (suffixes && i < len) {
		switch (s[i]) {
		case 'k':
		case 'K':
			mul = (uint64_t)1 << 10;
			break;
		case 'm':
		case 'M':
			mul = (uint64_t)1 << 20;
			break;
		case 'g':
		case 'G':
			mul = (uint64_t)1 << 30;
			break;
		default:
			return -1;
		}
		i++;
	}
	if (i != len)
		return -1;
	if (over || v > UINT64_MAX / mul)
		return -2;
	v *= mul;
	if (v < min || v > max)
		return -2;
	*out = v;
	return 0;
}

static int
is_ipv6(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

static int
is_hostname(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * parse_server: one server s[0..len), already trimmed, into o:
 *
 *	unix:/absolute/path	(allow_unix only)
 *	[IPV6]:PORT  [IPV6]  IPV6 (more than one ':')
 *	HOST:PORT  HOST	(a name or an IPv4 address)
 *
 * o->port is 0 when no port is given.  key names the setting in messages.
 */
static int
parse_server(struct parse *p, const char *key, const char *s, size_t len,
    int allow_unix, struct conf_server *o)
{
	const char *host = s, *port = NULL, *e;
	size_t hlen = len, plen = 0, ncolon = 0, i;
	uint64_t n;
	char q[SHOWN_MAX + 4];

	memset(o, 0, sizeof(*o));
	o->line = p->lineno;
	if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
		if (!allow_unix)
			return fail(p, "%s: must be a host name or address, "
			    "not a unix: socket", key);
		s += 5;
		len -= 5;
		if (len == 0 || s[0] != '/')
			return fail(p, "%s: unix socket path must be absolute",
			    key);
		if (len > CONF_SUN_PATH_MAX)
			return fail(p, "%s: unix socket path too long "
			    "(at most %d bytes)", key, CONF_SUN_PATH_MAX);
		if (has_control(s, len))
			return fail(p, "%s: control character in unix socket "
			    "path", key);
		o->is_unix = 1;
		memcpy(o->host, s, len);
		o->host[len] = '\0';
		return 0;
	}
	if (len > 0 && s[0] == '[') {
		if ((e = memchr(s, ']', len)) == NULL)
			return fail(p, "%s: missing ']' after IPv6 address in "
			    "'%s'", key, shown(q, sizeof(q), s, len));
		host = s + 1;
		hlen = (size_t)(e - host);
		if (e + 1 < s + len) {
			if (e[1] != ':')
				return fail(p, "%s: text after ']' in '%s'",
				    key, shown(q, sizeof(q), s, len));
			port = e + 2;
			plen = (size_t)(s + len - port);
		}
		if (!is_ipv6(host, hlen))
			return fail(p, "%s: '%s' is not an IPv6 address", key,
			    shown(q, sizeof(q), host, hlen));
	} else {
		for (i = 0; i < len; i++)
			if (s[i] == ':')
				ncolon++;
		if (ncolon > 1) {
			if (!is_ipv6(s, len))
				return fail(p, "%s: '%s' is not an IPv6 "
				    "address (write [ADDRESS]:PORT)", key,
				    shown(q, sizeof(q), s, len));
		} else {
			if (ncolon == 1) {
				e = memchr(s, ':', len);
				hlen = (size_t)(e - s);
				port = e + 1;
				plen = (size_t)(s + len - port);
			}
			if (hlen > CONF_NAME_MAX)
				return fail(p, "%s: host name too long "
				    "(at most %d bytes)", key, CONF_NAME_MAX);
			if (!is_hostname(s, hlen))
				return fail(p, "%s: '%s' is not a host name or "
				    "address", key, shown(q, sizeof(q), s,
				    hlen));
		}
	}
	if (port != NULL) {
		if (parse_num(port, plen, 0, 1, 65535, &n) < 0)
			return fail(p, "%s: '%s' is not a port (1..65535)",
			    key, shown(q, sizeof(q), port, plen));
		o->port = (unsigned)n;
	}
	memcpy(o->host, host, hlen);
	o->host[hlen] = '\0';
	return 0;
}

/* add_servers: a comma-separated list of [clamd] servers. */
static int
add_servers(struct parse *p, const struct key *k, const char *v)
{
	struct conf *c = p->c;
	const char *s = v, *e, *end;

	if (*v == '\0')
		return fail(p, "%s: empty value", k->name);
	for (;;) {
		e = strchr(s, ',');
		end = e != NULL ? e : s + strlen(s);
		s = skip_blanks(s);
		while (end > s && is_blank((unsigned char)end[-1]))
			end--;
		if (end == s)
			return fail(p, "%s: empty entry in list", k->name);
		if (c->nserver == CONF_SERVERS_MAX)
			return fail(p, "%s: too many servers (at most %d)",
			    k->name, CONF_SERVERS_MAX);
		if (parse_server(p, k->name, s, (size_t)(end - s), 1,
		    &c->server[c->nserver]) < 0)
			return -1;
		c->nserver++;
		if (e == NULL)
			return 0;
		s = e + 1;
	}
}

/* store: v into k's field, a 4-byte or an 8-byte number. */
static void
store(struct conf *c, const struct key *k, uint64_t v)
{
	char *f = (char *)c + k->off;
	unsigned u = (unsigned)v;

	if (k->size == sizeof(v))
		memcpy(f, &v, sizeof(v));
	else
		memcpy(f, &u, sizeof(u));
}

/* fetch: the number in k's field. */
static uint64_t
fetch(const struct conf *c, const struct key *k)
{
	const char *f = (const char *)c + k->off;
	uint64_t v;
	unsigned u;

	if (k->size == sizeof(v)) {
		memcpy(&v, f, sizeof(v));
		return v;
	}
	memcpy(&u, f, sizeof(u));
	return u;
}

static int
set_bool(struct parse *p, const struct key *k, const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	char q[SHOWN_MAX + 4];
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			store(p->c, k, 1);
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			store(p->c, k, 0);
			return 0;
		}
	}
	return fail(p, "%s: '%s' is not a boolean (yes/no, true/false, "
	    "on/off, 1/0)", k->name, shown(q, sizeof(q), v, strlen(v)));
}

static int
set_choice(struct parse *p, const struct key *k, const char *v)
{
	char q[SHOWN_MAX + 4], list[128] = "";
	size_t i, o;

	for (i = 0; k->choices[i].name != NULL; i++)
		if (strcasecmp(v, k->choices[i].name) == 0) {
			store(p->c, k, (unsigned)k->choices[i].value);
			return 0;
		}
	for (i = 0; k->choices[i].name != NULL; i++) {
		o = strlen(list);
		fmt_s(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
		    k->choices[i].name);
	}
	return fail(p, "%s: '%s' is not one of %s", k->name,
	    shown(q, sizeof(q), v, strlen(v)), list);
}

static int
set_num(struct parse *p, const struct key *k, const char *v)
{
	char q[SHOWN_MAX + 4];
	uint64_t n;
	size_t len = strlen(v);
	int sz = k->type == T_SIZE;

	if (len == 0)
		return fail(p, "%s: empty value (%llu..%llu%s)", k->name,
		    (unsigned long long)k->min, (unsigned long long)k->max,
		    sz ? ", K/M/G suffix allowed" : "");
	switch (parse_num(v, len, sz, k->min, k->max, &n)) {
	case 0:
		store(p->c, k, n);
		return 0;
	case -1:
		return fail(p, "%s: '%s' is not a %s (%llu..%llu%s)", k->name,
		    shown(q, sizeof(q), v, len), sz ? "size" : "number",
		    (unsigned long long)k->min, (unsigned long long)k->max,
		    sz ? ", K/M/G suffix allowed" : "");
	default:
		return fail(p, "%s: '%s' is out of range (%llu..%llu)",
		    k->name, shown(q, sizeof(q), v, len),
		    (unsigned long long)k->min, (unsigned long long)k->max);
	}
}

static int
set_str(struct parse *p, const struct key *k, const char *v)
{
	char *dst = (char *)p->c + k->off, q[SHOWN_MAX + 4];
	size_t len = strlen(v), i;
	uint64_t n;

	if (len > k->max)
		return fail(p, "%s: too long (at most %llu bytes)", k->name,
		    (unsigned long long)k->max);
	if (has_control(v, len))
		return fail(p, "%s: control character in value", k->name);
	if (k->type == T_IDENT) {
		if (len == 0)
			return fail(p, "%s: empty value", k->name);
		for (i = 0; i < len; i++)
			if ((unsigned char)v[i] <= ' ' ||
			    (unsigned char)v[i] >= 0x7f)
				return fail(p, "%s: only printable characters "
				    "without blanks allowed", k->name);
	}
	if (k->type == T_OUTPUT) {
		if (len == 0)
			return fail(p, "%s: empty value", k->name);
		if (strncmp(v, "fd:", 3) == 0 &&
		    parse_num(v + 3, len - 3, 0, 0, 65535, &n) < 0)
			return fail(p, "%s: '%s' is not fd:N (N 0..65535)",
			    k->name, shown(q, sizeof(q), v, len));
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/*
 * proxy_host: the SOCKS server s is not named "unix", which with its port
 * would read as a unix: socket.  Returns 0 or -1.
 */
static int
proxy_host(struct parse *p, const struct key *k, const struct conf_server *s)
{
	if (strcmp(s->host, "unix") == 0)
		return fail(p, "%s: 'unix' reads as a unix: socket; give the "
		    "proxy's address", k->name);
	return 0;
}

/* set_host: Sun HOST or SOCKS_HOST: a host name or address, no port. */
static int
set_host(struct parse *p, const struct key *k, const char *v)
{
	struct conf_server s;

	if (*v == '\0')
		return fail(p, "%s: empty value", k->name);
	if (parse_server(p, k->name, v, strlen(v), 0, &s) < 0)
		return -1;
	if (s.port != 0)
		return fail(p, "%s: a host name or address without port "
		    "(the port goes in %s)", k->name,
		    k->id == K_SUN_HOST ? "PORT" : "SOCKS_PORT");
	if (k->id == K_SUN_HOST) {
		p->c->server[0] = s;
		p->c->nserver = 1;
	} else if (proxy_host(p, k, &s) < 0)
		return -1;
	else
		memcpy(p->c->socks_host, s.host, sizeof(s.host));
	return 0;
}

/* set_proxy: [socks] server, HOST:PORT; empty for a direct connection. */
static int
set_proxy(struct parse *p, const struct key *k, const char *v)
{
	struct conf_server s;

	if (*v == '\0') {
		p->c->socks_host[0] = '\0';
		p->c->socks_port = SOCKS_PORT;
		return 0;
	}
	if (parse_server(p, k->name, v, strlen(v), 0, &s) < 0 ||
	    proxy_host(p, k, &s) < 0)
		return -1;
	memcpy(p->c->socks_host, s.host, sizeof(s.host));
	p->c->socks_port = s.port != 0 ? s.port : SOCKS_PORT;
	return 0;
}

static int
set_value(struct parse *p, const struct key *k, const char *v)
{
	switch (k->type) {
	case T_UINT:
	case T_SIZE:
		return set_num(p, k, v);
	case T_CHOICE:
		return set_choice(p, k, v);
	case T_BOOL:
		return set_bool(p, k, v);
	case T_STR:
	case T_IDENT:
	case T_OUTPUT:
	case T_SECRET:
		return set_str(p, k, v);
	case T_SERVERS:
		return add_servers(p, k, v);
	case T_PROXY:
		return set_proxy(p, k, v);
	case T_HOST:
		return set_host(p, k, v);
	}
	return -1;
}

/* find_key: the key name in section sec; a Sun name as p->sun_key. */
static const struct key *
find_key(struct parse *p, enum section sec, const char *name)
{
	size_t i;

	if (sec != SEC_SUN) {
		for (i = 0; i < nitems(keys); i++)
			if (keys[i].sec == sec &&
			    strcasecmp(keys[i].name, name) == 0)
				return &keys[i];
		return NULL;
	}
	for (i = 0; i < nitems(sun_keys); i++)
		if (strcasecmp(sun_keys[i].name, name) == 0)
			return &sun_keys[i];
	for (i = 0; i < nitems(sun_names); i++)
		if (strcasecmp(sun_names[i].name, name) == 0) {
			p->sun_key = keys[sun_names[i].id];
			p->sun_key.sec = SEC_SUN;
			p->sun_key.name = sun_names[i].name;
			return &p->sun_key;
		}
	return NULL;
}

/*
 * conf_handler: inih's callback, once per key line and once per
 * continuation line.  The section comes from conf_reader(), which has
 * checked it; for a continuation, name and value are recomputed there
 * (inih versions differ on comments in continuation lines).
 */
/*
 * no_empty_server: a "server =" line that no continuation line followed is
 * an empty value, reported at its own line.  Returns 0 or -1.
 */
static int
no_empty_server(struct parse *p)
{
	unsigned line = p->lineno;

	if (p->empty_server == 0)
		return 0;
	p->lineno = p->empty_server;
	p->empty_server = 0;
	fail(p, "server: empty value");
	p->lineno = line;
	return -1;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse *p = user;
	const struct key *k;
	char q[SHOWN_MAX + 4];
	size_t len;

	(void)section;
	if (p->failed)
		return 0;
	if (p->cont) {
		if ((k = p->last) == NULL)
			return 0;
		if (k->type == T_SERVERS) {
			p->empty_server = 0;
			return add_servers(p, k, p->contval) == 0;
		}
		len = strlen(p->contval);
		if (p->acclen > 0 && p->acclen < sizeof(p->acc) - 1)
			p->acc[p->acclen++] = ' ';
		if (len > sizeof(p->acc) - 1 - p->acclen)
			len = sizeof(p->acc) - 1 - p->acclen;
		memcpy(p->acc + p->acclen, p->contval, len);
		p->acclen += len;
		p->acc[p->acclen] = '\0';
		return set_value(p, k, p->acc) == 0;
	}

	if (no_empty_server(p) < 0)
		return 0;
	if (p->sun)
		k = find_key(p, SEC_SUN, name);
	else if (p->section != SEC_NONE)
		k = find_key(p, p->section, name);
	else {
		fail(p, "key '%s' before any [section]",
		    shown(q, sizeof(q), name, strlen(name)));
		return 0;
	}
	if (k == NULL) {
		if (p->sun)
			fail(p, "unknown option '%s'",
			    shown(q, sizeof(q), name, strlen(name)));
		else
			fail(p, "unknown key '%s' in [%s]",
			    shown(q, sizeof(q), name, strlen(name)),
			    section_names[p->section]);
		return 0;
	}
	if (p->seen[k->id] != 0 && k->type != T_SERVERS) {
		fail(p, "duplicate %s '%s' (first at line %u)",
		    p->sun ? "option" : "key", k->name, p->seen[k->id]);
		return 0;
	}
	if (p->seen[k->id] == 0)
		p->seen[k->id] = p->lineno;
	p->last = k;
	if (k->type == T_SERVERS && *value == '\0') {
		p->empty_server = p->lineno;
		return 1;
	}
	len = strlen(value);
	if (len > sizeof(p->acc) - 1)
		len = sizeof(p->acc) - 1;
	memcpy(p->acc, value, len);
	p->acc[len] = '\0';
	p->acclen = len;
	return set_value(p, k, p->acc) == 0;
}

/*
 * next_char: the next byte of p->fd, read again after a signal interrupted
 * the read.  Returns it, or -1 at the end, or -2 on a read error (errno).
 */
static int
next_char(struct parse *p)
{
	if (p->inpos == p->inlen) {
		ssize_t n;

		if (p->eof)
			return -1;
		while ((n = read(p->fd, p->in, sizeof(p->in))) < 0 &&
		    errno == EINTR)
			;
		if (n <= 0) {
			p->eof = n == 0;
			return n == 0 ? -1 : -2;
		}
		p->inpos = 0;
		p->inlen = (size_t)n;
		p->total += n;
	}
	return (unsigned char)p->in[p->inpos++];
}

/*
 * read_raw: the next line of p->fd into p->raw, without its "\n" or "\r\n"
 * (and without a UTF-8 BOM on line 1).  Sets p->nul or p->toolong and
 * stops reading there.  Returns 1, 0 at the end, -1 on a read error.
 */
static int
read_raw(struct parse *p)
{
	size_t n = 0;
	int ch;

	p->nul = p->toolong = 0;
	while ((ch = next_char(p)) >= 0 && ch != '\n') {
		if (ch == '\0')
			p->nul = 1;
		else if (n < sizeof(p->raw) - 1)
			p->raw[n++] = (char)ch;
		else
			p->toolong = 1;
		if (p->nul || p->toolong)
			break;
	}
	if (ch == -2)
		return -1;
	if (ch == -1 && n == 0 && !p->nul)
		return 0;
	p->lineno++;
	if (n > 0 && p->raw[n - 1] == '\r')
		n--;
	p->raw[n] = '\0';
	if (p->lineno == 1 && n >= 3 && memcmp(p->raw, "\xef\xbb\xbf", 3) ==
	    0) {
		memmove(p->raw, p->raw + 3, n - 2);
		n -= 3;
	}
	if (n > LINE_MAX_CONTENT)
		p->toolong = 1;
	p->rawlen = n;
	return 1;
}

/*
 * classify: what inih will make of p->raw, decided the way inih does, so
 * that the handler knows a continuation from a key line.  Checks section
 * headers.  Sets *empty when inih must see an empty line instead (a Sun
 * '!' comment).  Returns 0 or -1.
 */
static int
classify(struct parse *p, int *empty)
{
	const char *s = skip_blanks(p->raw), *e, *name;
	char q[SHOWN_MAX + 4];
	size_t i, len;

	p->cont = 0;
	*empty = 0;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (p->sun && *s == '!') {
		*empty = 1;
		return 0;
	}
	if (p->prev_name && s > p->raw) {
		p->cont = 1;
		e = find_delim(s, NULL);
		while (e > s && is_blank((unsigned char)e[-1]))
			e--;
		memcpy(p->contval, s, (size_t)(e - s));
		p->contval[e - s] = '\0';
		return 0;
	}
	if (*s == '[') {
		e = find_delim(s + 1, "]");
		if (*e != ']')
			return fail(p, "syntax error: missing ']' in section "
			    "header");
		name = skip_blanks(s + 1);
		len = (size_t)(e - name);
		while (len > 0 && is_blank((unsigned char)name[len - 1]))
			len--;
		s = skip_blanks(e + 1);
		if (*s != '\0' && *s != ';' && *s != '#')
			return fail(p, "syntax error: text after ']'");
		p->prev_name = 0;
		if (!p->sun)
			for (i = 1; i < nitems(section_names); i++)
				if (strlen(section_names[i]) == len &&
				    strncasecmp(name, section_names[i],
				    len) == 0) {
					p->section = (enum section)i;
					return 0;
				}
		return fail(p, "unknown section [%s]",
		    shown(q, sizeof(q), name, len));
	}
	e = find_delim(s, "=:");
	if (*e != '=' && *e != ':')
		return fail(p, "syntax error: expected 'key = value'");
	p->prev_name = e > s;
	return 0;
}

/*
 * conf_reader: inih's fgets(), one raw line per call, so inih's line count
 * is ours.  Stops inih (returns NULL) at the first error.
 */
static char *
conf_reader(char *buf, int num, void *stream)
{
	struct parse *p = stream;
	int r, empty;

	if (p->failed || num < 2)
		return NULL;
	if ((r = read_raw(p)) <= 0) {
		if (r < 0) {
			p->lineno = 0;
			why_errno(p->w, errno, "%s: cannot read", p->name);
			p->failed = 1;
		}
		return NULL;
	}
	if (p->nul) {
		fail(p, "NUL byte in line");
		return NULL;
	}
	if (p->toolong || p->rawlen + 2 > (size_t)num) {
		fail(p, "line too long (at most %d bytes)",
		    (num - 2) < LINE_MAX_CONTENT ? num - 2 : LINE_MAX_CONTENT);
		return NULL;
	}
	if (classify(p, &empty) < 0)
		return NULL;
	if (empty)
		p->rawlen = 0;
	memcpy(buf, p->raw, p->rawlen);
	buf[p->rawlen] = '\n';
	buf[p->rawlen + 1] = '\0';
	return buf;
}

/*
 * prescan: whether the file has a section header (a line whose first
 * non-blank is '[') and an option line.  Stops at a line the real reading
 * rejects anyway.
 */
static int
prescan(struct parse *p, int *has_section, int *has_option)
{
	const char *s;
	int r;

	*has_section = *has_option = 0;
	while ((r = read_raw(p)) > 0 && !p->nul && !p->toolong) {
		s = skip_blanks(p->raw);
		if (*s == '[')
			*has_section = 1;
		else if (*s != '\0' && strchr(";#!", *s) == NULL)
			*has_option = 1;
	}
	return r < 0 ? -1 : 0;
}

/* choice_name: the name of value v among choices. */
static const char *
choice_name(const struct choice *choices, int v)
{
	for (size_t i = 0; choices[i].name != NULL; i++)
		if (choices[i].value == v)
			return choices[i].name;
	return "?";
}

/*
 * check_output: a file destination's temporary, ".NAME.XXXXXX" beside it
 * (dest.c), must be a possible name: NAME at most NAME_MAX -
 * CONF_TMP_EXTRA bytes, the whole path under PATH_MAX.  A FIFO or a device
 * already there needs no temporary.
 */
static int
check_output(const struct conf *c, const unsigned *seen, struct why *w)
{
	const char *o = c->output, *base = strrchr(o, '/');
	size_t len = strlen(o);
	struct stat st;

	if (strcmp(o, "-") == 0 || strncmp(o, "fd:", 3) == 0 ||
	    (stat(o, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISCHR(st.st_mode))))
		return 0;
	base = base != NULL ? base + 1 : o;
	if (strlen(base) + CONF_TMP_EXTRA > NAME_MAX ||
	    len + CONF_TMP_EXTRA >= PATH_MAX)
		return at(w, c->file, seen ? seen[K_verdict_output] : 0,
		    "output: a file name of at most %d bytes, and a path of at "
		    "most %d: the verdict is written to \".NAME.XXXXXX\" "
		    "beside it first", NAME_MAX - CONF_TMP_EXTRA,
		    PATH_MAX - 1 - CONF_TMP_EXTRA);
	return 0;
}

/*
 * check: the combinations that cannot work.  seen, when known, gives the
 * line of each key for the message.
 */
static int
check(const struct conf *c, const unsigned *seen, struct why *w)
{
	unsigned i, nunix = 0;

	if (c->nserver == 0)
		return at(w, c->file, 0, "no %s given",
		    c->sun ? "HOST" : "[clamd] server");
	for (i = 0; i < c->nserver && i < CONF_SERVERS_MAX; i++) {
		if (!c->server[i].is_unix)
			continue;
		nunix++;
		if (strnlen(c->server[i].host, sizeof(c->server[i].host)) >
		    CONF_SUN_PATH_MAX)
			return at(w, c->file, c->server[i].line, "server: "
			    "unix socket path too long (at most %d bytes)",
			    CONF_SUN_PATH_MAX);
		if (c->socks_host[0] != '\0')
			return at(w, c->file, c->server[i].line, "a unix: "
			    "server cannot be reached through a SOCKS proxy");
	}
	if (c->protocol == PROTO_FILDES && nunix == 0)
		return at(w, c->file, seen ? seen[K_clamd_protocol] : 0,
		    "protocol fildes needs a unix: server");
	if (c->socks_pass[0] != '\0' && c->socks_user[0] == '\0')
		return at(w, c->file, seen ? seen[K_socks_password] : 0,
		    "SOCKS password given without a username");
	if (c->socks_version == 4 && c->socks_pass[0] != '\0')
		return at(w, c->file, seen ? seen[K_socks_password] : 0,
		    "SOCKS 4a takes no password (only a username)");
	/* §5.1: STREAM has no size-limit reply; only max_size guards it. */
	if (c->protocol == PROTO_STREAM && c->max_size == 0)
		return at(w, c->file, seen ? seen[K_message_max_size] : 0,
		    "protocol stream needs max_size (at or below clamd's "
		    "StreamMaxLength): STREAM cannot tell a cut message");
	return check_output(c, seen, w);
}

#define DEFAULT(sec, key, field, type, def, min, max, choices) \
	DEFAULT_##type(field, def)
#define DEFAULT_UINT(f, d) c->f = (d);
#define DEFAULT_SIZE(f, d) DEFAULT_UINT(f, d)
#define DEFAULT_CHOICE(f, d) DEFAULT_UINT(f, d)
#define DEFAULT_BOOL(f, d) DEFAULT_UINT(f, d)
#define DEFAULT_STR(f, d) memcpy(c->f, d, sizeof(d));
#define DEFAULT_IDENT(f, d) DEFAULT_STR(f, d)
#define DEFAULT_OUTPUT(f, d) DEFAULT_STR(f, d)
#define DEFAULT_SECRET(f, d) DEFAULT_STR(f, d)
#define DEFAULT_SERVERS(f, d)
#define DEFAULT_PROXY(f, d)

/*
 * conf_defaults sets every field, touching only the first byte of the
 * long ones: no memset of the whole (about 20 KiB, five pages a run
 * would pay for).
 */
void
conf_defaults(struct conf *c)
{
	c->file = "";
	c->sun = 0;
	c->nserver = 0;
	c->socks_host[0] = '\0';
	c->socks_port = SOCKS_PORT;
	CONF_KEYS(DEFAULT)
}

int
conf_load_fd(struct conf *c, int fd, const char *name, struct why *w)
{
	struct parse p;
	int has_section, has_option, r;

	conf_defaults(c);
	c->file = name;
	/* Not the buffers: a page not touched is a page not paid for. */
	memset(&p, 0, offsetof(struct parse, sun_key));
	p.c = c;
	p.fd = fd;
	p.name = name;
	p.w = w;

	if (prescan(&p, &has_section, &has_option) < 0)
		return why_errno(w, errno, "%s: cannot read", name);
	/* Read again from the start: a file that fit in is still there. */
	if (p.eof && p.total == (off_t)p.inlen) {
		p.inpos = 0;
	} else {
		if (lseek(fd, -p.total, SEEK_CUR) < 0)
			return why_errno(w, errno, "%s: cannot read", name);
		p.eof = 0;
		p.inpos = p.inlen = 0;
	}
	p.lineno = 0;
	if (!has_section && has_option) {
		p.sun = c->sun = 1;
		c->max_size = 1048576;
		c->on_oversize = OVERSIZE_TRUNCATE;
	}

	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (!p.failed && r == 0)
		(void)no_empty_server(&p);
	if (p.failed)
		return -1;
	if (r > 0)
		return at(w, name, (unsigned)r, "syntax error");
	if (r < 0)
		return at(w, name, 0, "cannot parse (inih error %d)", r);
	return check(c, p.seen, w);
}

int
conf_load(struct conf *c, const char *path, struct why *w)
{
	struct stat st;
	int fd, r;

	conf_defaults(c);
	c->file = path;
	if ((fd = open(path, O_RDONLY)) < 0)
		return why_errno(w, errno, "%s: cannot read", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return why_errno(w, EISDIR, "%s: cannot read", path);
	}
	r = conf_load_fd(c, fd, path, w);
	close(fd);
	return r;
}

int
conf_check(const struct conf *c, struct why *w)
{
	return check(c, NULL, w);
}

int
conf_set(struct conf *c, const char *opt, const char *section,
    const char *name, const char *value, struct why *w)
{
	const struct key *k = NULL;
	struct parse p;
	size_t i;

	memset(&p, 0, offsetof(struct parse, sun_key));
	p.c = c;
	p.name = opt;
	p.w = w;
	for (i = 1; i < nitems(section_names); i++)
		if (strcmp(section_names[i], section) == 0)
			k = find_key(&p, (enum section)i, name);
	if (k == NULL)
		return at(w, opt, 0, "no key %s in [%s]", name, section);
	return set_value(&p, k, value) < 0 ? -1 : 0;
}

static int
is_blank_or_comment(int ch)
{
	return ch == '\0' || is_blank(ch) || ch == ';' || ch == '#';
}

/*
 * print_str: "key = value".  A value too long for one line is split at
 * single spaces into continuation lines, which conf_handler() joins back
 * with one space; a value without such a space goes whole on a
 * continuation line of its own, as it may have been read.  A value that
 * starts with ';' follows the '=' directly, or it would be a comment.
 */
static void
print_str(struct out *o, const char *key, const char *v)
{
	size_t room = LINE_MAX_CONTENT - strlen(key) - 3, i, cut;
	const char *sp = *v == ';' ? "" : " ";
	int first = 1;

	out_printf(o, "%s =", key);
	while (strlen(v) > room) {
		cut = 0;
		for (i = room; i > 0; i--)
			if (v[i] == ' ' && !is_blank((unsigned char)v[i - 1]) &&
			    !is_blank_or_comment((unsigned char)v[i + 1])) {
				cut = i;
				break;
			}
		if (cut == 0 && (!first || is_blank_or_comment(
		    (unsigned char)v[0])))
			break;
		out_printf(o, "%s%.*s\n\t", first && cut ? sp : "", (int)cut, v);
		v += cut != 0 ? cut + 1 : 0;
		room = LINE_MAX_CONTENT - 1;
		first = 0;
	}
	out_printf(o, "%s%s\n", first && *v != '\0' ? sp : "", v);
}

/* host_text: a server as conf_load reads it back. */
static void
host_text(char *buf, size_t size, const char *host, unsigned port)
{
	int v6 = strchr(host, ':') != NULL;

	if (port != 0)
		fmt_s(buf, size, "%s%s%s:%u", v6 ? "[" : "", host,
		    v6 ? "]" : "", port);
	else
		fmt_s(buf, size, "%s%s%s", v6 ? "[" : "", host,
		    v6 ? "]" : "");
}

/*
 * print_server: one "server = ENTRY" line; an entry too long for that
 * line goes as "server=ENTRY" or as a continuation line, after another
 * entry or after a "server =" of its own, the ways it can have been read.
 */
static void
print_server(struct out *o, const char *entry, int after)
{
	size_t len = strlen(entry);

	if (len + strlen("server = ") <= LINE_MAX_CONTENT)
		out_printf(o, "server = %s\n", entry);
	else if (len + strlen("server=") <= LINE_MAX_CONTENT)
		out_printf(o, "server=%s\n", entry);
	else
		out_printf(o, "%s\t%s\n", after ? "" : "server =\n", entry);
}

/* print_key: k's line or lines, as conf_load reads them back. */
static void
print_key(const struct conf *c, const struct key *k, struct out *o)
{
	const char *str = (const char *)c + k->off;
	char entry[CONF_NAME_MAX + 16];

	switch (k->type) {
	case T_SERVERS:
		for (unsigned i = 0; i < c->nserver && i < CONF_SERVERS_MAX;
		     i++) {
			if (c->server[i].is_unix)
				fmt_s(entry, sizeof(entry), "unix:%s",
				    c->server[i].host);
			else
				host_text(entry, sizeof(entry),
				    c->server[i].host, c->server[i].port);
			print_server(o, entry, i > 0);
		}
		break;
	case T_PROXY:
		if (c->socks_host[0] != '\0') {
			host_text(entry, sizeof(entry), c->socks_host,
			    c->socks_port);
			print_server(o, entry, 0);
		} else
			out_printf(o, "server =\n");
		break;
	case T_CHOICE:
		out_printf(o, "%s = %s\n", k->name,
		    choice_name(k->choices, (int)fetch(c, k)));
		break;
	case T_BOOL:
		out_printf(o, "%s = %s\n", k->name, fetch(c, k) ? "yes" : "no");
		break;
	case T_SECRET:
		out_printf(o, "%s =%s\n", k->name, *str != '\0' ? " (set)" :
		    "");
		break;
	case T_STR:
	case T_IDENT:
	case T_OUTPUT:
		print_str(o, k->name, str);
		break;
	default:
		out_printf(o, "%s = %llu\n", k->name,
		    (unsigned long long)fetch(c, k));
		break;
	}
}

void
conf_print(const struct conf *c, struct out *o)
{
	enum section sec = SEC_NONE;

	for (size_t i = 0; i < nitems(keys); i++) {
		if (keys[i].sec != sec) {
			sec = keys[i].sec;
			out_printf(o, "%s[%s]\n", i > 0 ? "\n" : "",
			    section_names[sec]);
		}
		print_key(c, &keys[i], o);
	}
}
