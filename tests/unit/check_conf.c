/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of conf.c: every error class with its exact message and line,
 * the server forms, Sun option files, line endings, and the round trip of
 * conf_print() through conf_load().
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define DATA	"tests/unit/data/conf"

/* load: conf_load_fd() on the n bytes at s, named "t.ini". */
static int
loadn(const char *s, size_t n, struct conf *c, struct why *w)
{
	FILE *f = tmpfile();
	int r;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, n, f), n);
	rewind(f);
	memset(w, 0, sizeof(*w));
	r = conf_load_fd(c, fileno(f), "t.ini", w);
	fclose(f);
	return r;
}

static int
load(const char *s, struct conf *c, struct why *w)
{
	return loadn(s, strlen(s), c, w);
}

#define OK(t_, c_) do {						\
	struct why w_;							\
	int r_ = load((t_), (c_), &w_);				\
	ck_assert_msg(r_ == 0, "unexpected error: %s", w_.text);	\
} while (0)

#define ERR(t_, m_) do {						\
	struct conf c_;							\
	struct why w_;							\
	ck_assert_int_eq(load((t_), &c_, &w_), -1);			\
	ck_assert_str_eq(w_.text, (m_));				\
} while (0)

/* A [clamd] section with one server, then the line(s) under test. */
#define BASE "[clamd]\nserver = h\n"

static void
expect_same(const struct conf *a, const struct conf *b)
{
	unsigned i;

	ck_assert_uint_eq(a->nserver, b->nserver);
	for (i = 0; i < a->nserver; i++) {
		ck_assert_int_eq(a->server[i].is_unix, b->server[i].is_unix);
		ck_assert_str_eq(a->server[i].host, b->server[i].host);
		ck_assert_uint_eq(a->server[i].port, b->server[i].port);
	}
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_int_eq(a->protocol, b->protocol);
	ck_assert_int_eq(a->balance, b->balance);
	ck_assert_str_eq(a->state_file, b->state_file);
	ck_assert_uint_eq(a->retry_dead_s, b->retry_dead_s);
	ck_assert_uint_eq(a->connect_timeout_ms, b->connect_timeout_ms);
	ck_assert_uint_eq(a->timeout_ms, b->timeout_ms);
	ck_assert_uint_eq(a->chunk_size, b->chunk_size);
	ck_assert_uint_eq(a->max_pings, b->max_pings);
	ck_assert_uint_eq(a->ping_interval_ms, b->ping_interval_ms);
	ck_assert_str_eq(a->socks_host, b->socks_host);
	ck_assert_uint_eq(a->socks_port, b->socks_port);
	ck_assert_int_eq(a->socks_version, b->socks_version);
	ck_assert_str_eq(a->socks_user, b->socks_user);
	ck_assert_int_eq(a->remote_dns, b->remote_dns);
	ck_assert_uint_eq(a->buffer_size, b->buffer_size);
	ck_assert_uint_eq(a->max_size, b->max_size);
	ck_assert_int_eq(a->on_oversize, b->on_oversize);
	ck_assert_int_eq(a->mode, b->mode);
	ck_assert_str_eq(a->field, b->field);
	ck_assert_str_eq(a->verdict, b->verdict);
	ck_assert_int_eq(a->format, b->format);
	ck_assert_str_eq(a->output, b->output);
	ck_assert_int_eq(a->on_error, b->on_error);
	ck_assert_int_eq(a->debug, b->debug);
	ck_assert_int_eq(a->syslog, b->syslog);
	ck_assert_str_eq(a->ident, b->ident);
}

/* print_load: conf_print(a), then read that text back into b. */
static void
print_load(const struct conf *a, struct conf *b, char **text)
{
	static struct out o;
	FILE *f = tmpfile();
	struct why w;
	long len;

	ck_assert_ptr_nonnull(f);
	o = (struct out)OUT_INIT(fileno(f));
	conf_print(a, &o);
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(len = ftell(f), 0);
	rewind(f);
	ck_assert_ptr_nonnull(*text = malloc((size_t)len + 1));
	ck_assert_uint_eq(fread(*text, 1, (size_t)len, f), (size_t)len);
	(*text)[len] = '\0';
	fclose(f);
	memset(&w, 0, sizeof(w));
	ck_assert_msg(loadn(*text, (size_t)len, b, &w) == 0, "%s\n%s", w.text,
	    *text);
}

START_TEST(test_defaults)
{
	struct conf c;

	OK(BASE, &c);
	ck_assert_int_eq(c.sun, 0);
	ck_assert_str_eq(c.file, "t.ini");
	ck_assert_uint_eq(c.nserver, 1);
	ck_assert_str_eq(c.server[0].host, "h");
	ck_assert_uint_eq(c.server[0].port, 0);
	ck_assert_uint_eq(c.server[0].line, 2);
	ck_assert_uint_eq(c.port, 3310);
	ck_assert_int_eq(c.protocol, PROTO_INSTREAM);
	ck_assert_int_eq(c.balance, BALANCE_ROUND_ROBIN);
	ck_assert_str_eq(c.state_file, "/run/clamhook.state");
	ck_assert_uint_eq(c.retry_dead_s, 30);
	ck_assert_uint_eq(c.connect_timeout_ms, 3000);
	ck_assert_uint_eq(c.timeout_ms, 60000);
	ck_assert_uint_eq(c.chunk_size, 8192);
	ck_assert_uint_eq(c.max_pings, 6);
	ck_assert_uint_eq(c.ping_interval_ms, 30000);
	ck_assert_str_eq(c.socks_host, "");
	ck_assert_uint_eq(c.socks_port, 1080);
	ck_assert_int_eq(c.socks_version, 5);
	ck_assert_str_eq(c.socks_user, "");
	ck_assert_str_eq(c.socks_pass, "");
	ck_assert_int_eq(c.remote_dns, 1);
	ck_assert_uint_eq(c.buffer_size, 65536);
	ck_assert_uint_eq(c.max_size, 26214400);
	ck_assert_int_eq(c.on_oversize, OVERSIZE_TRUNCATE);
	ck_assert_int_eq(c.mode, 1);
	ck_assert_str_eq(c.field, "Virus-Test");
	ck_assert_str_eq(c.verdict, "");
	ck_assert_int_eq(c.format, FORMAT_LINE);
	ck_assert_str_eq(c.output, "-");
	ck_assert_int_eq(c.on_error, ON_ERROR_TEMPFAIL);
	ck_assert_int_eq(c.debug, 0);
	ck_assert_int_eq(c.syslog, 0);
	ck_assert_str_eq(c.ident, "clamhook");
}
END_TEST

static const char full[] =
    "; every key, none at its default\n"
    "[clamd]\n"
    "server = 10.0.0.1:3311, [2001:db8::2]\n"
    "port = 3312\n"
    "protocol = stream\n"
    "balance = failover\n"
    "state_file = /var/run/ch.state\n"
    "retry_dead_s = 0\n"
    "connect_timeout_ms = 1\n"
    "timeout_ms = 86400000\n"
    "chunk_size = 1M\n"
    "max_pings = 100000\n"
    "ping_interval_ms = 0\n"
    "\n"
    "[socks]\n"
    "server = [::1]:9050\n"
    "version = 4a\n"
    "username = someone\n"
    "password =\n"
    "remote_dns = no\n"
    "\n"
    "[message]\n"
    "buffer_size = 16M\n"
    "max_size = 1\n"
    "on_oversize = reject\n"
    "\n"
    "[verdict]\n"
    "mode = 3\n"
    "field = X-Virus ; a comment\n"
    "verdict = discard # not a comment\n"
    "format = shell\n"
    "output = fd:65535\n"
    "on_error = accept\n"
    "\n"
    "[log]\n"
    "debug = 2\n"
    "syslog = yes\n"
    "ident = clamhook-test\n";

START_TEST(test_full)
{
	struct conf c;

	OK(full, &c);
	ck_assert_uint_eq(c.nserver, 2);
	ck_assert_str_eq(c.server[0].host, "10.0.0.1");
	ck_assert_uint_eq(c.server[0].port, 3311);
	ck_assert_int_eq(c.server[1].is_unix, 0);
	ck_assert_str_eq(c.server[1].host, "2001:db8::2");
	ck_assert_uint_eq(c.server[1].port, 0);
	ck_assert_uint_eq(c.server[1].line, 3);
	ck_assert_uint_eq(c.port, 3312);
	ck_assert_int_eq(c.protocol, PROTO_STREAM);
	ck_assert_int_eq(c.balance, BALANCE_FAILOVER);
	ck_assert_str_eq(c.state_file, "/var/run/ch.state");
	ck_assert_uint_eq(c.retry_dead_s, 0);
	ck_assert_uint_eq(c.connect_timeout_ms, 1);
	ck_assert_uint_eq(c.timeout_ms, 86400000);
	ck_assert_uint_eq(c.chunk_size, 1048576);
	ck_assert_uint_eq(c.max_pings, 100000);
	ck_assert_uint_eq(c.ping_interval_ms, 0);
	ck_assert_str_eq(c.socks_host, "::1");
	ck_assert_uint_eq(c.socks_port, 9050);
	ck_assert_int_eq(c.socks_version, 4);
	ck_assert_str_eq(c.socks_user, "someone");
	ck_assert_int_eq(c.remote_dns, 0);
	ck_assert_uint_eq(c.buffer_size, 16777216);
	ck_assert_uint_eq(c.max_size, 1);
	ck_assert_int_eq(c.on_oversize, OVERSIZE_REJECT);
	ck_assert_int_eq(c.mode, 3);
	ck_assert_str_eq(c.field, "X-Virus");
	ck_assert_str_eq(c.verdict, "discard # not a comment");
	ck_assert_int_eq(c.format, FORMAT_SHELL);
	ck_assert_str_eq(c.output, "fd:65535");
	ck_assert_int_eq(c.on_error, ON_ERROR_ACCEPT);
	ck_assert_int_eq(c.debug, 2);
	ck_assert_int_eq(c.syslog, 1);
	ck_assert_str_eq(c.ident, "clamhook-test");
}
END_TEST

START_TEST(test_syntax)
{
	struct conf c;

	ERR("[clamd]\nserver h\n", "t.ini:2: syntax error: expected "
	    "'key = value'");
	ERR("[clamd\nserver = h\n", "t.ini:1: syntax error: missing ']' in "
	    "section header");
	ERR("[clamd ;x]\nserver = h\n", "t.ini:1: syntax error: missing ']' "
	    "in section header");
	ERR("[clamd] x\nserver = h\n", "t.ini:1: syntax error: text after "
	    "']'");
	ERR("port = 1\n[clamd]\nserver = h\n", "t.ini:1: key 'port' before "
	    "any [section]");
	ERR(BASE "= 1\n", "t.ini:3: unknown key '' in [clamd]");

	/* Comments, blanks, ':' as delimiter, sections in any case. */
	OK("# c\n\n[ CLAMD ] ; c\n  ; c\nServer: h\nPORT = 3311 ; c\n", &c);
	ck_assert_uint_eq(c.port, 3311);
	ck_assert_str_eq(c.server[0].host, "h");
	ck_assert_uint_eq(c.server[0].line, 5);
	OK("[clamd]\nserver = h\n[clamd]\nport = 1\n", &c);
	ck_assert_uint_eq(c.port, 1);
	ERR(BASE "port = 3311;c\n", "t.ini:3: port: '3311;c' is not a "
	    "number (1..65535)");
}
END_TEST

START_TEST(test_sections)
{
	ERR(BASE "[foo]\nx = 1\n", "t.ini:3: unknown section [foo]");
	ERR(BASE "[bar]\n", "t.ini:3: unknown section [bar]");
	ERR(BASE "[bar]\n[log]\ndebug = 1\n", "t.ini:3: unknown section "
	    "[bar]");
	ERR(BASE "[]\n", "t.ini:3: unknown section []");
	ERR(BASE "[a\x01]\n", "t.ini:3: unknown section [a?]");
}
END_TEST

START_TEST(test_keys)
{
	ERR(BASE "foo = 1\n", "t.ini:3: unknown key 'foo' in [clamd]");
	ERR(BASE "[socks]\nport = 1\n", "t.ini:4: unknown key 'port' in "
	    "[socks]");
	ERR(BASE "[log]\n\n; c\nDebuG = 1\nverbose = yes\n",
	    "t.ini:7: unknown key 'verbose' in [log]");
}
END_TEST

START_TEST(test_duplicates)
{
	struct conf c;

	ERR(BASE "port = 1\n\nport = 2\n", "t.ini:5: duplicate key 'port' "
	    "(first at line 3)");
	ERR(BASE "port = 1\nPort = 2\n", "t.ini:4: duplicate key 'port' "
	    "(first at line 3)");
	ERR(BASE "port = 1\n[log]\n[clamd]\nport = 2\n", "t.ini:6: duplicate "
	    "key 'port' (first at line 3)");
	ERR("[verdict]\nfield = a\nfield = b\n", "t.ini:3: duplicate key "
	    "'field' (first at line 2)");
	ERR("[clamd]\nserver = h\n[socks]\nserver = p\nserver = q\n",
	    "t.ini:5: duplicate key 'server' (first at line 4)");

	/* server is repeatable. */
	OK(BASE "server = i\nserver = j\n", &c);
	ck_assert_uint_eq(c.nserver, 3);
	ck_assert_str_eq(c.server[2].host, "j");
	ck_assert_uint_eq(c.server[2].line, 4);
}
END_TEST

START_TEST(test_continuation)
{
	struct conf c;

	/* Joined with one space, comments and blank lines between. */
	OK(BASE "[verdict]\nfield = a\n  b ; c\n\n; x\n\tc d\n", &c);
	ck_assert_str_eq(c.field, "a b c d");
	OK(BASE "[verdict]\nverdict =\n  x\n", &c);
	ck_assert_str_eq(c.verdict, "x");

	/* For [clamd] server, each line is a list of its own. */
	ERR("[clamd]\nserver = a,\n  b\n", "t.ini:2: server: empty entry in "
	    "list");
	OK("[clamd]\nserver = a\n  b, c:1\n", &c);
	ck_assert_uint_eq(c.nserver, 3);
	ck_assert_str_eq(c.server[2].host, "c");
	ck_assert_uint_eq(c.server[2].port, 1);
	ck_assert_uint_eq(c.server[1].line, 3);

	/* "server =" alone opens continuation lines; else it is empty. */
	OK("[clamd]\nserver =\n\ta\n  b:1\n", &c);
	ck_assert_uint_eq(c.nserver, 2);
	ck_assert_str_eq(c.server[0].host, "a");
	ck_assert_uint_eq(c.server[0].line, 3);
	ERR("[clamd]\nserver =\nport = 1\n", "t.ini:2: server: empty value");
	ERR("[clamd]\nserver =\n\n; x\n", "t.ini:2: server: empty value");
	ERR("[clamd]\nserver =\n[log]\n", "t.ini:2: server: empty value");
	ERR(BASE "server =\nserver = b\n", "t.ini:3: server: empty value");

	/* Re-checked as a whole, and not a duplicate. */
	ERR(BASE "port = 33\n  10\n", "t.ini:4: port: '33 10' is not a "
	    "number (1..65535)");
	ERR(BASE "[log]\nsyslog = yes\n  no\n", "t.ini:5: syslog: 'yes no' "
	    "is not a boolean (yes/no, true/false, on/off, 1/0)");
	ERR(BASE "[log]\nident = a\n  b\n", "t.ini:5: ident: only printable "
	    "characters without blanks allowed");

	/* As in inih, an indented "[section]" after a key continues it. */
	ERR(BASE "[verdict]\nfield = a\n [log]\ndebug = 1\n", "t.ini:6: "
	    "unknown key 'debug' in [verdict]");
}
END_TEST

static void
line_of(char *buf, size_t len)
{
	/* "[verdict]\nverdict = xxx...\n" with a line of len bytes. */
	strcpy(buf, BASE "[verdict]\nverdict = ");
	memset(buf + strlen(buf), 'x', len - strlen("verdict = "));
	buf[strlen(BASE "[verdict]\n") + len] = '\0';
	strcat(buf, "\n");
}

START_TEST(test_long_lines)
{
	struct conf c;
	char buf[512];

	line_of(buf, 198);
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.verdict), 188);
	line_of(buf, 199);
	ERR(buf, "t.ini:4: line too long (at most 198 bytes)");
	line_of(buf, 250);
	ERR(buf, "t.ini:4: line too long (at most 198 bytes)");

	/* The end of line is not part of the line. */
	line_of(buf, 198);
	buf[strlen(buf) - 1] = '\0';
	strcat(buf, "\r\n");
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.verdict), 188);
	buf[strlen(buf) - 2] = '\0';
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.verdict), 188);

	/* A long comment is a long line too. */
	memset(buf, ';', 300);
	buf[300] = '\0';
	ERR(buf, "t.ini:1: line too long (at most 198 bytes)");
}
END_TEST

START_TEST(test_nul)
{
	struct conf c;
	struct why w;
	static const char t1[] = BASE "po\0rt = 1\n";
	static const char t2[] = "\0";
	static const char t3[] = BASE "port = 1\n\0";

	ck_assert_int_eq(loadn(t1, sizeof(t1) - 1, &c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini:3: NUL byte in line");
	ck_assert_int_eq(loadn(t2, sizeof(t2) - 1, &c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini:1: NUL byte in line");
	ck_assert_int_eq(loadn(t3, sizeof(t3) - 1, &c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini:4: NUL byte in line");
}
END_TEST

START_TEST(test_numbers)
{
	struct conf c;

	ERR(BASE "port = abc\n", "t.ini:3: port: 'abc' is not a number "
	    "(1..65535)");
	ERR(BASE "port = 12abc\n", "t.ini:3: port: '12abc' is not a number "
	    "(1..65535)");
	ERR(BASE "port = -1\n", "t.ini:3: port: '-1' is not a number "
	    "(1..65535)");
	ERR(BASE "port = +1\n", "t.ini:3: port: '+1' is not a number "
	    "(1..65535)");
	ERR(BASE "port = 0x10\n", "t.ini:3: port: '0x10' is not a number "
	    "(1..65535)");
	ERR(BASE "port = 1 2\n", "t.ini:3: port: '1 2' is not a number "
	    "(1..65535)");
	ERR(BASE "port = 1K\n", "t.ini:3: port: '1K' is not a number "
	    "(1..65535)");
	ERR(BASE "port =\n", "t.ini:3: port: empty value (1..65535)");
	ERR(BASE "port = 0\n", "t.ini:3: port: '0' is out of range "
	    "(1..65535)");
	ERR(BASE "port = 65536\n", "t.ini:3: port: '65536' is out of range "
	    "(1..65535)");
	ERR(BASE "port = 99999999999999999999999\n", "t.ini:3: port: "
	    "'99999999999999999999999' is out of range (1..65535)");
	ERR(BASE "port = 4294967297\n", "t.ini:3: port: '4294967297' is out "
	    "of range (1..65535)");
	ERR(BASE "retry_dead_s = 86401\n", "t.ini:3: retry_dead_s: '86401' "
	    "is out of range (0..86400)");
	ERR(BASE "connect_timeout_ms = 0\n", "t.ini:3: connect_timeout_ms: "
	    "'0' is out of range (1..3600000)");
	ERR(BASE "timeout_ms = 86400001\n", "t.ini:3: timeout_ms: "
	    "'86400001' is out of range (1..86400000)");
	ERR(BASE "max_pings = 0\n", "t.ini:3: max_pings: '0' is out of range "
	    "(1..100000)");
	ERR(BASE "ping_interval_ms = 3600001\n", "t.ini:3: ping_interval_ms: "
	    "'3600001' is out of range (0..3600000)");
	ERR(BASE "[verdict]\nmode = 4\n", "t.ini:4: mode: '4' is out of range "
	    "(0..3)");
	ERR(BASE "[log]\ndebug = 3\n", "t.ini:4: debug: '3' is out of range "
	    "(0..2)");

	OK(BASE "port = 00065535\n", &c);
	ck_assert_uint_eq(c.port, 65535);
}
END_TEST

START_TEST(test_sizes)
{
	struct conf c;

	OK(BASE "chunk_size = 1K\n[message]\nbuffer_size = 4k\n"
	    "max_size = 4G\n", &c);
	ck_assert_uint_eq(c.chunk_size, 1024);
	ck_assert_uint_eq(c.buffer_size, 4096);
	ck_assert_uint_eq(c.max_size, 4294967296ULL);
	OK(BASE "chunk_size = 1m\n[message]\nbuffer_size = 16M\n"
	    "max_size = 4294967296G\n", &c);
	ck_assert_uint_eq(c.chunk_size, 1048576);
	ck_assert_uint_eq(c.buffer_size, 16777216);
	ck_assert_uint_eq(c.max_size, 4611686018427387904ULL);
	OK(BASE "[message]\nmax_size = 4611686018427387904\n", &c);
	ck_assert_uint_eq(c.max_size, 4611686018427387904ULL);

	ERR(BASE "chunk_size = 1023\n", "t.ini:3: chunk_size: '1023' is out "
	    "of range (1024..1048576)");
	ERR(BASE "chunk_size = 2M\n", "t.ini:3: chunk_size: '2M' is out of "
	    "range (1024..1048576)");
	ERR(BASE "chunk_size = 1KB\n", "t.ini:3: chunk_size: '1KB' is not a "
	    "size (1024..1048576, K/M/G suffix allowed)");
	ERR(BASE "chunk_size = K\n", "t.ini:3: chunk_size: 'K' is not a "
	    "size (1024..1048576, K/M/G suffix allowed)");
	ERR(BASE "chunk_size = 1T\n", "t.ini:3: chunk_size: '1T' is not a "
	    "size (1024..1048576, K/M/G suffix allowed)");
	ERR(BASE "chunk_size =\n", "t.ini:3: chunk_size: empty value "
	    "(1024..1048576, K/M/G suffix allowed)");
	ERR(BASE "[message]\nbuffer_size = 4095\n", "t.ini:4: buffer_size: "
	    "'4095' is out of range (4096..16777216)");
	ERR(BASE "[message]\nbuffer_size = 16777217\n", "t.ini:4: "
	    "buffer_size: '16777217' is out of range (4096..16777216)");
	ERR(BASE "[message]\nmax_size = 4611686018427387905\n", "t.ini:4: "
	    "max_size: '4611686018427387905' is out of range "
	    "(0..4611686018427387904)");
	ERR(BASE "[message]\nmax_size = 4294967297G\n", "t.ini:4: "
	    "max_size: '4294967297G' is out of range "
	    "(0..4611686018427387904)");
	ERR(BASE "[message]\nmax_size = 18446744073709551615G\n", "t.ini:4: "
	    "max_size: '18446744073709551615G' is out of range "
	    "(0..4611686018427387904)");
	ERR(BASE "[message]\nmax_size = 18446744073709551616\n", "t.ini:4: "
	    "max_size: '18446744073709551616' is out of range "
	    "(0..4611686018427387904)");
}
END_TEST

START_TEST(test_enums)
{
	struct conf c;

	ERR(BASE "protocol = tcp\n", "t.ini:3: protocol: 'tcp' is not one of "
	    "instream, fildes, stream");
	ERR(BASE "protocol =\n", "t.ini:3: protocol: '' is not one of "
	    "instream, fildes, stream");
	ERR(BASE "balance = random\n", "t.ini:3: balance: 'random' is not one "
	    "of round-robin, failover");
	ERR(BASE "[socks]\nversion = 4\n", "t.ini:4: version: '4' is not one "
	    "of 5, 4a");
	ERR(BASE "[message]\non_oversize = drop\n", "t.ini:4: on_oversize: "
	    "'drop' is not one of truncate, accept, reject, tempfail");
	ERR(BASE "[verdict]\nformat = json\n", "t.ini:4: format: 'json' is "
	    "not one of line, james, milter, shell");
	ERR(BASE "[verdict]\non_error = reject\n", "t.ini:4: on_error: "
	    "'reject' is not one of tempfail, accept");

	OK(BASE "protocol = Stream\nbalance = FAILOVER\n[socks]\n"
	    "version = 4A\n[message]\non_oversize = tempfail\n[verdict]\n"
	    "format = milter\n", &c);
	ck_assert_int_eq(c.protocol, PROTO_STREAM);
	ck_assert_int_eq(c.balance, BALANCE_FAILOVER);
	ck_assert_int_eq(c.socks_version, 4);
	ck_assert_int_eq(c.on_oversize, OVERSIZE_TEMPFAIL);
	ck_assert_int_eq(c.format, FORMAT_MILTER);
	OK(BASE "[message]\non_oversize = accept\n[verdict]\n"
	    "format = james\n", &c);
	ck_assert_int_eq(c.on_oversize, OVERSIZE_ACCEPT);
	ck_assert_int_eq(c.format, FORMAT_JAMES);
}
END_TEST

START_TEST(test_bools)
{
	static const char *yes[] = { "yes", "true", "on", "1", "YES", "On" };
	static const char *no[] = { "no", "false", "off", "0", "No", "FALSE" };
	struct conf c;
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(buf, sizeof(buf), BASE "[log]\nsyslog = %s\n[socks]\n"
		    "remote_dns = %s\n", yes[i], no[i]);
		OK(buf, &c);
		ck_assert_int_eq(c.syslog, 1);
		ck_assert_int_eq(c.remote_dns, 0);
	}
	ERR(BASE "[log]\nsyslog = maybe\n", "t.ini:4: syslog: 'maybe' is not "
	    "a boolean (yes/no, true/false, on/off, 1/0)");
	ERR(BASE "[log]\nsyslog =\n", "t.ini:4: syslog: '' is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)");
	ERR(BASE "[socks]\nremote_dns = 2\n", "t.ini:4: remote_dns: '2' is "
	    "not a boolean (yes/no, true/false, on/off, 1/0)");
}
END_TEST

/*
 * cont: head, then "key = " and a value of len bytes of fill, cut into
 * continuation lines of at most 150 bytes.  Returns the line number of the
 * file where the value first exceeds limit bytes, or 0.
 */
static unsigned
cont(char *buf, const char *head, const char *key, size_t len, char fill,
    size_t limit)
{
	size_t rem = len, have = 0, n, o;
	unsigned line = 0, at = 0;
	const char *s;

	for (s = head; *s != '\0'; s++)
		if (*s == '\n')
			line++;
	sprintf(buf, "%s%s = ", head, key);
	for (; rem > 0; line++) {
		if (have > 0) {
			strcat(buf, "\n  ");
			rem--;
			have++;
		}
		n = rem > 150 ? 150 : rem;
		if (rem - n == 1)
			n--;
		o = strlen(buf);
		memset(buf + o, fill, n);
		buf[o + n] = '\0';
		rem -= n;
		have += n;
		if (at == 0 && have > limit)
			at = line + 1;
	}
	strcat(buf, "\n");
	return at;
}

START_TEST(test_strings)
{
	struct conf c;
	static char buf[8192];
	char msg[128];
	unsigned line;

	cont(buf, BASE "[verdict]\n", "field", 255, 'f', 255);
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.field), 255);
	ck_assert_uint_eq(cont(buf, BASE "[verdict]\n", "field", 256, 'f',
	    255), 5);
	ERR(buf, "t.ini:5: field: too long (at most 255 bytes)");
	cont(buf, BASE "[verdict]\n", "verdict", 256, 'v', 255);
	ERR(buf, "t.ini:5: verdict: too long (at most 255 bytes)");
	cont(buf, BASE "[socks]\nserver = p\n", "username", 256, 'u', 255);
	ERR(buf, "t.ini:6: username: too long (at most 255 bytes)");
	cont(buf, BASE "[socks]\nserver = p\nusername = u\n", "password",
	    256, 'p', 255);
	ERR(buf, "t.ini:7: password: too long (at most 255 bytes)");
	cont(buf, BASE "[socks]\n", "server", 256, 's', 255);
	ERR(buf, "t.ini:5: server: host name too long (at most 255 bytes)");

	/* PATH_MAX - 1 fits state_file, PATH_MAX does not. */
	ck_assert_uint_eq(cont(buf, BASE, "state_file", PATH_MAX - 1, '/',
	    PATH_MAX - 1), 0);
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.state_file), PATH_MAX - 1);
	line = cont(buf, BASE, "state_file", PATH_MAX, '/', PATH_MAX - 1);
	snprintf(msg, sizeof(msg), "t.ini:%u: state_file: too long "
	    "(at most %d bytes)", line, PATH_MAX - 1);
	ERR(buf, msg);
	line = cont(buf, BASE "[verdict]\n", "output", PATH_MAX + 300, '/',
	    PATH_MAX - 1);
	ck_assert_uint_gt(line, 4);
	snprintf(msg, sizeof(msg), "t.ini:%u: output: too long "
	    "(at most %d bytes)", line, PATH_MAX - 1);
	ERR(buf, msg);

	ERR(BASE "[log]\nident = " "0123456789012345678901234567890123456789"
	    "012345678901234567890123\n", "t.ini:4: ident: too long (at most "
	    "63 bytes)");
	OK(BASE "[log]\nident = " "0123456789012345678901234567890123456789"
	    "01234567890123456789012\n", &c);
	ck_assert_uint_eq(strlen(c.ident), 63);
	ERR(BASE "[log]\nident = a b\n", "t.ini:4: ident: only printable "
	    "characters without blanks allowed");
	ERR(BASE "[log]\nident = caf\xc3\xa9\n", "t.ini:4: ident: only "
	    "printable characters without blanks allowed");
	ERR(BASE "[log]\nident =\n", "t.ini:4: ident: empty value");
	ERR(BASE "[verdict]\nfield = a\x01" "b\n", "t.ini:4: field: control "
	    "character in value");

	/* Empty strings are allowed where SPEC §2 says what they mean. */
	OK(BASE "state_file =\n[verdict]\nfield =\nverdict =\n", &c);
	ck_assert_str_eq(c.state_file, "");
	ck_assert_str_eq(c.field, "");
}
END_TEST

START_TEST(test_output)
{
	struct conf c;

	OK(BASE "[verdict]\noutput = fd:0\n", &c);
	ck_assert_str_eq(c.output, "fd:0");
	OK(BASE "[verdict]\noutput = /var/spool/verdict\n", &c);
	ck_assert_str_eq(c.output, "/var/spool/verdict");
	OK(BASE "[verdict]\noutput = -\n", &c);
	ck_assert_str_eq(c.output, "-");
	OK(BASE "[verdict]\noutput = ./fd:x\n", &c);
	ck_assert_str_eq(c.output, "./fd:x");
	ERR(BASE "[verdict]\noutput = fd:65536\n", "t.ini:4: output: "
	    "'fd:65536' is not fd:N (N 0..65535)");
	ERR(BASE "[verdict]\noutput = fd:-1\n", "t.ini:4: output: 'fd:-1' "
	    "is not fd:N (N 0..65535)");
	ERR(BASE "[verdict]\noutput = fd:\n", "t.ini:4: output: 'fd:' is not "
	    "fd:N (N 0..65535)");
	ERR(BASE "[verdict]\noutput = fd:3x\n", "t.ini:4: output: 'fd:3x' "
	    "is not fd:N (N 0..65535)");
	ERR(BASE "[verdict]\noutput =\n", "t.ini:4: output: empty value");
}
END_TEST

START_TEST(test_servers)
{
	struct conf c;
	char buf[1024];
	int i;

	OK("[clamd]\nserver = h\nserver = clamd.example.com:3311\n"
	    "server = 192.0.2.1:1\nserver = [2001:db8::1]:65535\n"
	    "server = ::1\nserver = fe80::1:2:3\nserver = [::1]\n"
	    "server = unix:/run/clamav/clamd.ctl\nserver = 192.0.2.2\n", &c);
	ck_assert_uint_eq(c.nserver, 9);
	ck_assert_str_eq(c.server[1].host, "clamd.example.com");
	ck_assert_uint_eq(c.server[1].port, 3311);
	ck_assert_str_eq(c.server[2].host, "192.0.2.1");
	ck_assert_uint_eq(c.server[2].port, 1);
	ck_assert_str_eq(c.server[3].host, "2001:db8::1");
	ck_assert_uint_eq(c.server[3].port, 65535);
	ck_assert_str_eq(c.server[4].host, "::1");
	ck_assert_uint_eq(c.server[4].port, 0);
	ck_assert_str_eq(c.server[5].host, "fe80::1:2:3");
	ck_assert_uint_eq(c.server[5].port, 0);
	ck_assert_str_eq(c.server[6].host, "::1");
	ck_assert_uint_eq(c.server[6].port, 0);
	ck_assert_int_eq(c.server[7].is_unix, 1);
	ck_assert_str_eq(c.server[7].host, "/run/clamav/clamd.ctl");
	ck_assert_uint_eq(c.server[7].port, 0);
	ck_assert_int_eq(c.server[8].is_unix, 0);
	ck_assert_uint_eq(c.server[8].line, 10);

	OK("[clamd]\nserver = a ,b:2,\t[::1]:3 , unix:/x y\n", &c);
	ck_assert_uint_eq(c.nserver, 4);
	ck_assert_str_eq(c.server[0].host, "a");
	ck_assert_str_eq(c.server[1].host, "b");
	ck_assert_uint_eq(c.server[1].port, 2);
	ck_assert_str_eq(c.server[2].host, "::1");
	ck_assert_uint_eq(c.server[2].port, 3);
	ck_assert_str_eq(c.server[3].host, "/x y");

	ERR("[clamd]\nserver = a,,b\n", "t.ini:2: server: empty entry in "
	    "list");
	ERR("[clamd]\nserver = a,\n", "t.ini:2: server: empty entry in "
	    "list");
	ERR("[clamd]\nserver = , a\n", "t.ini:2: server: empty entry in "
	    "list");
	ERR("[clamd]\nserver =\n", "t.ini:2: server: empty value");
	ERR("[clamd]\nserver = h:0\n", "t.ini:2: server: '0' is not a port "
	    "(1..65535)");
	ERR("[clamd]\nserver = h:65536\n", "t.ini:2: server: '65536' is not "
	    "a port (1..65535)");
	ERR("[clamd]\nserver = h:\n", "t.ini:2: server: '' is not a port "
	    "(1..65535)");
	ERR("[clamd]\nserver = h:x\n", "t.ini:2: server: 'x' is not a port "
	    "(1..65535)");
	ERR("[clamd]\nserver = :1\n", "t.ini:2: server: '' is not a host "
	    "name or address");
	ERR("[clamd]\nserver = [::1\n", "t.ini:2: server: missing ']' after "
	    "IPv6 address in '[::1'");
	ERR("[clamd]\nserver = [::1]x\n", "t.ini:2: server: text after ']' "
	    "in '[::1]x'");
	ERR("[clamd]\nserver = [::1]:\n", "t.ini:2: server: '' is not a port "
	    "(1..65535)");
	ERR("[clamd]\nserver = [zz]:1\n", "t.ini:2: server: 'zz' is not an "
	    "IPv6 address");
	ERR("[clamd]\nserver = []:1\n", "t.ini:2: server: '' is not an "
	    "IPv6 address");
	ERR("[clamd]\nserver = 1:2:3:zz\n", "t.ini:2: server: '1:2:3:zz' is "
	    "not an IPv6 address (write [ADDRESS]:PORT)");
	ERR("[clamd]\nserver = ho/st\n", "t.ini:2: server: 'ho/st' is not a "
	    "host name or address");
	ERR("[clamd]\nserver = unix:run/x\n", "t.ini:2: server: unix socket "
	    "path must be absolute");
	ERR("[clamd]\nserver = unix:\n", "t.ini:2: server: unix socket path "
	    "must be absolute");

	/* sun_path holds 107 bytes and a NUL. */
	snprintf(buf, sizeof(buf), "[clamd]\nserver = unix:/%0106d\n", 0);
	OK(buf, &c);
	ck_assert_uint_eq(strlen(c.server[0].host), 107);
	snprintf(buf, sizeof(buf), "[clamd]\nserver = h\nserver = "
	    "unix:/%0107d\n", 0);
	ERR(buf, "t.ini:3: server: unix socket path too long (at most 107 "
	    "bytes)");

	/* At most CONF_SERVERS_MAX. */
	strcpy(buf, "[clamd]\nserver = h0");
	for (i = 1; i < CONF_SERVERS_MAX; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ",h%d",
		    i);
	strcat(buf, "\n");
	OK(buf, &c);
	ck_assert_uint_eq(c.nserver, CONF_SERVERS_MAX);
	strcat(buf, "server = h\n");
	ERR(buf, "t.ini:3: server: too many servers (at most 16)");
}
END_TEST

START_TEST(test_socks)
{
	struct conf c;

	/* "unix:1080" would read as a socket: no proxy named "unix". */
	ERR(BASE "[socks]\nserver = unix\n", "t.ini:4: server: 'unix' reads "
	    "as a unix: socket; give the proxy's address");
	ERR("HOST=h\nSOCKS_HOST=unix\n", "t.ini:2: SOCKS_HOST: 'unix' reads "
	    "as a unix: socket; give the proxy's address");
	OK(BASE "[socks]\nserver = proxy\n", &c);
	ck_assert_str_eq(c.socks_host, "proxy");
	ck_assert_uint_eq(c.socks_port, 1080);
	OK(BASE "[socks]\nserver = 192.0.2.9:1081\nusername = u\n"
	    "password = p w\n", &c);
	ck_assert_str_eq(c.socks_host, "192.0.2.9");
	ck_assert_uint_eq(c.socks_port, 1081);
	ck_assert_str_eq(c.socks_user, "u");
	ck_assert_str_eq(c.socks_pass, "p w");
	OK(BASE "[socks]\nserver =\n", &c);
	ck_assert_str_eq(c.socks_host, "");
	OK(BASE "[socks]\nserver = [::1]:1\nversion = 4a\nusername = u\n",
	    &c);
	ck_assert_str_eq(c.socks_host, "::1");
	ck_assert_int_eq(c.socks_version, 4);

	ERR(BASE "[socks]\nserver = unix:/x\n", "t.ini:4: server: must be a "
	    "host name or address, not a unix: socket");
	ERR(BASE "[socks]\nserver = p:0\n", "t.ini:4: server: '0' is not a "
	    "port (1..65535)");
	ERR(BASE "[socks]\nserver = a b\n", "t.ini:4: server: 'a b' is not "
	    "a host name or address");
}
END_TEST

START_TEST(test_combinations)
{
	struct conf c;
	struct why w;

	ERR("[clamd]\nport = 1\n", "t.ini: no [clamd] server given");
	ERR("; nothing\n", "t.ini: no [clamd] server given");
	ERR("", "t.ini: no [clamd] server given");
	ERR(BASE "protocol = fildes\n", "t.ini:3: protocol fildes needs a "
	    "unix: server");
	OK(BASE "protocol = fildes\nserver = unix:/s\n", &c);
	ERR("[clamd]\nserver = h, unix:/run/c.sock\n[socks]\nserver = p\n",
	    "t.ini:2: a unix: server cannot be reached through a SOCKS "
	    "proxy");
	ERR(BASE "[socks]\nserver = p\npassword = x\n", "t.ini:5: SOCKS "
	    "password given without a username");
	ERR(BASE "[socks]\nserver = p\nversion = 4a\nusername = u\n"
	    "password = x\n", "t.ini:7: SOCKS 4a takes no password (only a "
	    "username)");
	ERR(BASE "[socks]\nserver = p\nversion = 4a\npassword = x\n",
	    "t.ini:6: SOCKS password given without a username");

	/* conf_check after command-line changes: no line to name. */
	OK(BASE, &c);
	ck_assert_int_eq(conf_check(&c, &w), 0);
	c.protocol = PROTO_FILDES;
	ck_assert_int_eq(conf_check(&c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini: protocol fildes needs a unix: "
	    "server");
	c.protocol = PROTO_INSTREAM;
	strcpy(c.socks_pass, "x");
	ck_assert_int_eq(conf_check(&c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini: SOCKS password given without a "
	    "username");
	c.nserver = 0;
	ck_assert_int_eq(conf_check(&c, &w), -1);
	ck_assert_str_eq(w.text, "t.ini: no [clamd] server given");
	ck_assert_int_eq(conf_check(&c, NULL), -1);
}
END_TEST

START_TEST(test_line_endings)
{
	struct conf c;

	OK("[clamd]\r\nserver = a , b:2\r\nport = 3311\r\n\r\n[verdict]\r\n"
	    "field = X-V\r\n  more\r\n", &c);
	ck_assert_uint_eq(c.nserver, 2);
	ck_assert_str_eq(c.server[1].host, "b");
	ck_assert_uint_eq(c.port, 3311);
	ck_assert_str_eq(c.field, "X-V more");
	ERR("[clamd]\r\nserver = h\r\nport = 1\r\nport = 2\r\n", "t.ini:4: "
	    "duplicate key 'port' (first at line 3)");

	/* No newline at the end. */
	OK("[clamd]\nserver = h\nport = 7", &c);
	ck_assert_uint_eq(c.port, 7);

	/* A UTF-8 BOM, with either line ending. */
	OK("\xef\xbb\xbf[clamd]\nserver = h\n", &c);
	ck_assert_str_eq(c.server[0].host, "h");
	OK("\xef\xbb\xbf[clamd]\r\nserver = h\r\n", &c);
	ck_assert_str_eq(c.server[0].host, "h");
	OK("\xef\xbb\xbfHOST=h\r\n", &c);
	ck_assert_int_eq(c.sun, 1);
	ERR("\xef\xbb\xbf[clamd]\nserver = h\nx = 1\n", "t.ini:3: unknown key "
	    "'x' in [clamd]");
	ERR(BASE "\xef\xbb\xbf[log]\n", "t.ini:3: syntax error: expected "
	    "'key = value'");
}
END_TEST

START_TEST(test_sun)
{
	struct conf c;

	OK("! ClamAV plug-in options\n"
	    "!\n"
	    "HOST=clamd.example.com\n"
	    "port=3311\n"
	    "\n"
	    "Debug=1\n"
	    "# inih comments work too\n"
	    "FIELD=X-Virus-Test\n"
	    "MAXMESSAGESIZE=2000000\n"
	    "MODE=3\n"
	    "   ! indented comment\n"
	    "VERDICT=discard\n"
	    "SOCKS_HOST=proxy.example.com\n"
	    "SOCKS_PORT=1081\n", &c);
	ck_assert_int_eq(c.sun, 1);
	ck_assert_uint_eq(c.nserver, 1);
	ck_assert_str_eq(c.server[0].host, "clamd.example.com");
	ck_assert_uint_eq(c.server[0].port, 0);
	ck_assert_uint_eq(c.server[0].line, 3);
	ck_assert_uint_eq(c.port, 3311);
	ck_assert_int_eq(c.debug, 1);
	ck_assert_str_eq(c.field, "X-Virus-Test");
	ck_assert_uint_eq(c.max_size, 2000000);
	ck_assert_int_eq(c.mode, 3);
	ck_assert_str_eq(c.verdict, "discard");
	ck_assert_str_eq(c.socks_host, "proxy.example.com");
	ck_assert_uint_eq(c.socks_port, 1081);
	ck_assert_int_eq(c.socks_version, 5);

	/* Sun defaults. */
	OK("HOST=192.0.2.1\n", &c);
	ck_assert_int_eq(c.sun, 1);
	ck_assert_uint_eq(c.max_size, 1048576);
	ck_assert_int_eq(c.on_oversize, OVERSIZE_TRUNCATE);
	ck_assert_uint_eq(c.port, 3310);
	ck_assert_int_eq(c.mode, 1);
	OK("host = ::1\n", &c);
	ck_assert_str_eq(c.server[0].host, "::1");

	ERR("!c\n!c\nHOST=h\nBAD=1\n", "t.ini:4: unknown option 'BAD'");
	ERR("!c\nPORT=1\n", "t.ini: no HOST given");
	ERR("HOST=h:1\n", "t.ini:1: HOST: a host name or address without "
	    "port (the port goes in PORT)");
	ERR("HOST=unix:/x\n", "t.ini:1: HOST: must be a host name or "
	    "address, not a unix: socket");
	ERR("HOST=\n", "t.ini:1: HOST: empty value");
	ERR("HOST=a\nhost=b\n", "t.ini:2: duplicate option 'HOST' (first at "
	    "line 1)");
	ERR("HOST=a\nDEBUG=3\n", "t.ini:2: DEBUG: '3' is out of range "
	    "(0..2)");
	ERR("HOST=a\nMODE=4\n", "t.ini:2: MODE: '4' is out of range (0..3)");
	ERR("HOST=a\nPORT=x\n", "t.ini:2: PORT: 'x' is not a number "
	    "(1..65535)");
	ERR("HOST=a\nSOCKS_HOST=p:1\n", "t.ini:2: SOCKS_HOST: a host name or "
	    "address without port (the port goes in SOCKS_PORT)");
	ERR("HOST=a\nfoo\n", "t.ini:2: syntax error: expected 'key = "
	    "value'");
	ERR("HOST=a\n!x\n\x01\n", "t.ini:3: syntax error: expected 'key = "
	    "value'");
}
END_TEST

START_TEST(test_files)
{
	char dir[] = "/tmp/check_conf.XXXXXX", path[PATH_MAX], msg[PATH_MAX +
	    64];
	struct conf c;
	struct why w;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.ini", dir);
	ck_assert_int_eq(conf_load(&c, path, &w), -1);
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", path,
	    strerror(ENOENT));
	ck_assert_str_eq(w.text, msg);

	ck_assert_int_eq(conf_load(&c, dir, &w), -1);
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", dir,
	    strerror(EISDIR));
	ck_assert_str_eq(w.text, msg);

	snprintf(path, sizeof(path), "%s/c.ini", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("[clamd]\nserver = h\nport = x\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(&c, path, &w), -1);
	snprintf(msg, sizeof(msg), "%s:3: port: 'x' is not a number "
	    "(1..65535)", path);
	ck_assert_str_eq(w.text, msg);

	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(path, 0), 0);
		ck_assert_int_eq(conf_load(&c, path, &w), -1);
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path,
		    strerror(EACCES));
		ck_assert_str_eq(w.text, msg);
	}
	unlink(path);
	rmdir(dir);

	ck_assert_msg(access(DATA "/full.ini", R_OK) == 0, "%s: run from "
	    "the top of the tree", DATA);
	ck_assert_int_eq(conf_load(&c, DATA "/full.ini", &w), 0);
	ck_assert_uint_eq(c.nserver, 3);
	ck_assert_str_eq(c.file, DATA "/full.ini");
	ck_assert_int_eq(conf_load(&c, DATA "/sun.conf", &w), 0);
	ck_assert_int_eq(c.sun, 1);
}
END_TEST

START_TEST(test_round_trip)
{
	struct conf a, b, d;
	char *text = NULL, buf[256], in[1024];

	/* Defaults, then every key changed. */
	OK(BASE, &a);
	print_load(&a, &b, &text);
	expect_same(&a, &b);
	free(text);

	OK(full, &a);
	print_load(&a, &b, &text);
	expect_same(&a, &b);
	ck_assert_ptr_nonnull(strstr(text, "\nserver = [2001:db8::2]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nserver = [::1]:9050\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npassword =\n"));
	free(text);

	/* The printed text prints the same again. */
	OK("[clamd]\nserver = ::1, [::2]:5, h:7, unix:/s\nprotocol = fildes\n"
	    "[socks]\nusername = u\npassword = secret\n"
	    "[verdict]\noutput = /tmp/v\n", &a);
	print_load(&a, &b, &text);
	ck_assert_ptr_nonnull(strstr(text, "\npassword = (set)\n"));
	ck_assert_str_eq(b.socks_pass, "(set)");
	strcpy(b.socks_pass, a.socks_pass);
	expect_same(&a, &b);
	free(text);

	/* Values too long for one line come back whole. */
	memset(buf, 'a', 100);
	buf[100] = ' ';
	memset(buf + 101, 'b', 100);
	strcpy(buf + 201, " c  c");
	snprintf(in, sizeof(in), BASE "[verdict]\nverdict = %.100s ;x\n"
	    "  %.100s\n\n\t%s ;y\n", buf, buf + 101, buf + 202);
	OK(in, &a);
	ck_assert_str_eq(a.verdict, buf);
	print_load(&a, &b, &text);
	expect_same(&a, &b);
	ck_assert_ptr_nonnull(strstr(text, "\nverdict = aaaa"));
	ck_assert_ptr_nonnull(strstr(text, "a\n\tbbbb"));
	free(text);

	/* A value that starts with ';' is not printed as a comment. */
	OK(BASE "state_file =;x ;y\n[log]\nident=;z\n", &a);
	ck_assert_str_eq(a.state_file, ";x");
	print_load(&a, &b, &text);
	expect_same(&a, &b);
	free(text);

	/* Long names without a space, as they can be read. */
	memset(buf, 'p', 197);
	buf[197] = '\0';
	snprintf(in, sizeof(in), "[clamd]\nserver=%.191s\nserver = h\n"
	    "\t%s\nstate_file =\n\t%s\n[socks]\nserver=%.185s:1\n", buf,
	    buf, buf, buf);
	OK(in, &a);
	ck_assert_uint_eq(strlen(a.server[0].host), 191);
	ck_assert_uint_eq(strlen(a.server[2].host), 197);
	ck_assert_uint_eq(strlen(a.state_file), 197);
	ck_assert_uint_eq(strlen(a.socks_host), 185);
	print_load(&a, &b, &text);
	expect_same(&a, &b);
	free(text);

	/*
	 * A Sun HOST as long as its line allows (193 bytes) is too long for
	 * "server=NAME": it prints on a continuation line of its own.
	 */
	snprintf(in, sizeof(in), "HOST=%.193s\nPORT=7\n", buf);
	OK(in, &a);
	ck_assert_uint_eq(strlen(a.server[0].host), 193);
	print_load(&a, &b, &text);
	ck_assert_ptr_nonnull(strstr(text, "[clamd]\nserver =\n\tpppp"));
	expect_same(&a, &b);
	free(text);

	/* A Sun file prints as INI. */
	OK("HOST=h\nPORT=1\nSOCKS_HOST=p\nMAXMESSAGESIZE=5\n", &a);
	print_load(&a, &b, &text);
	ck_assert_int_eq(b.sun, 0);
	expect_same(&a, &b);
	free(text);
	print_load(&b, &d, &text);
	expect_same(&b, &d);
	free(text);
}
END_TEST

/*
 * Arbitrary bytes must give 0 or a message, never a crash or a read out of
 * bounds (run under valgrind).
 */
START_TEST(test_garbage)
{
	static const char alphabet[] = "[]=:;#! \t\r\n\n\n,.:/\\clamdserv"
	    "erportunix:fildeslogHOSTPORT\xef\xbb\xbf\0\x01\xff" "0123456789";
	static char buf[700];
	unsigned long x = 12345;
	struct conf c;
	struct why w;
	size_t n, i;
	int r, k;

	for (k = 0; k < 3000; k++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		n = (x >> 33) % sizeof(buf);
		for (i = 0; i < n; i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			if ((x >> 60) == 0)
				buf[i] = (char)(x >> 40);
			else
				buf[i] = alphabet[(x >> 33) %
				    (sizeof(alphabet) - 1)];
		}
		if (k % 4 == 0 && n > 20)
			memcpy(buf, "[clamd]\nserver = h\n", 19);
		r = loadn(buf, n, &c, &w);
		ck_assert(r == 0 || r == -1);
		if (r == -1)
			ck_assert_ptr_nonnull(strstr(w.text, "t.ini"));
	}
}
END_TEST

/* SPEC §5.1: STREAM cannot see clamd's size limit; max_size guards it. */
START_TEST(test_stream_needs_max_size)
{
	struct conf c;

	ERR(BASE "protocol = stream\n[message]\nmax_size = 0\n",
	    "t.ini:5: protocol stream needs max_size (at or below clamd's "
	    "StreamMaxLength): STREAM cannot tell a cut message");
	/* The line named is the max_size's, wherever protocol is. */
	ERR("[message]\nmax_size = 0\n" BASE "protocol = stream\n",
	    "t.ini:2: protocol stream needs max_size (at or below clamd's "
	    "StreamMaxLength): STREAM cannot tell a cut message");
	OK(BASE "protocol = stream\n", &c);
	ck_assert_uint_eq(c.max_size, 26214400);
	OK(BASE "protocol = instream\n[message]\nmax_size = 0\n", &c);
}
END_TEST

/*
 * SPEC §4.3: a file verdict's temporary ".NAME.XXXXXX" must be a name.
 * The checks of combinations see -o too: set output as main() does.
 */
START_TEST(test_output_room_for_temporary)
{
	char msg[256];
	struct conf c;
	struct why w;

	OK(BASE, &c);
	memset(c.output, 'v', 5 + NAME_MAX - 8);
	memcpy(c.output, "/tmp/", 5);
	c.output[5 + NAME_MAX - 8] = '\0';
	ck_assert_int_eq(conf_check(&c, &w), 0);
	c.output[5 + NAME_MAX - 8] = 'v';
	c.output[5 + NAME_MAX - 7] = '\0';
	ck_assert_int_eq(conf_check(&c, &w), -1);
	snprintf(msg, sizeof(msg), "t.ini: output: a file name of at most "
	    "%d bytes, and a path of at most %d: the verdict is written to "
	    "\".NAME.XXXXXX\" beside it first", NAME_MAX - 8, PATH_MAX - 9);
	ck_assert_str_eq(w.text, msg);
	/* No temporary for a descriptor, standard output or a device. */
	OK(BASE "[verdict]\noutput = fd:3\n", &c);
	OK(BASE "[verdict]\noutput = /dev/null\n", &c);
}
END_TEST

/* conf_set: a key from the command line, parsed as the INI's. */
START_TEST(test_set)
{
	struct conf c;
	struct why w;

	OK(BASE "[verdict]\nformat = line\n", &c);
	ck_assert_int_eq(conf_set(&c, "-f", "verdict", "format", "MILTER",
	    &w), 0);
	ck_assert_int_eq(c.format, FORMAT_MILTER);
	ck_assert_int_eq(conf_set(&c, "-f", "verdict", "format", "xml", &w),
	    -1);
	ck_assert_str_eq(w.text, "-f: format: 'xml' is not one of line, "
	    "james, milter, shell");
	ck_assert_int_eq(c.format, FORMAT_MILTER);
	ck_assert_int_eq(conf_set(&c, "-x", "verdict", "colour", "1", &w),
	    -1);
	ck_assert_str_eq(w.text, "-x: no key colour in [verdict]");
	ck_assert_int_eq(conf_set(&c, "-x", "nowhere", "format", "1", &w),
	    -1);
	ck_assert_str_eq(w.text, "-x: no key format in [nowhere]");
}
END_TEST

/*
 * The file is read twice (the first pass tells INI from a Sun option
 * file): from where the descriptor stood, kept in memory when it fits
 * the 1 KiB buffer, else read again; so a pipe serves up to 1 KiB.
 */
START_TEST(test_read_twice)
{
	static char big[4096];
	const char *small = "[clamd]\nserver = a.example:1\n";
	struct conf c;
	struct why w;
	int fds[2];
	size_t n;

	/* comments push the file past the buffer */
	n = (size_t)snprintf(big, sizeof(big), "[clamd]\n");
	while (n < 2000)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "; %70s\n", "a comment");
	snprintf(big + n, sizeof(big) - n, "server = b.example:2\n");
	for (int i = 0; i < 2; i++) {
		const char *t = i == 0 ? small : big;
		FILE *f = tmpfile();

		ck_assert_ptr_nonnull(f);
		fputs("junk before the start\n", f);
		fputs(t, f);
		fflush(f);
		ck_assert_int_eq(lseek(fileno(f), 22, SEEK_SET), 22);
		ck_assert_msg(conf_load_fd(&c, fileno(f), "t.ini", &w) == 0,
		    "%s", w.text);
		ck_assert_str_eq(c.server[0].host, i == 0 ? "a.example" :
		    "b.example");
		fclose(f);
		/* through a pipe */
		ck_assert_int_eq(pipe(fds), 0);
		ck_assert_int_eq(write(fds[1], t, strlen(t)),
		    (ssize_t)strlen(t));
		close(fds[1]);
		if (i == 0) {
			ck_assert_int_eq(conf_load_fd(&c, fds[0], "p.ini", &w),
			    0);
		} else {
			ck_assert_int_lt(conf_load_fd(&c, fds[0], "p.ini", &w),
			    0);
			ck_assert_str_eq(w.text, "p.ini: cannot read: "
			    "Illegal seek");
		}
		close(fds[0]);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *t = tcase_create("conf");
	SRunner *r;
	int failed;

	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_defaults);
	tcase_add_test(t, test_full);
	tcase_add_test(t, test_syntax);
	tcase_add_test(t, test_sections);
	tcase_add_test(t, test_keys);
	tcase_add_test(t, test_duplicates);
	tcase_add_test(t, test_continuation);
	tcase_add_test(t, test_long_lines);
	tcase_add_test(t, test_nul);
	tcase_add_test(t, test_numbers);
	tcase_add_test(t, test_sizes);
	tcase_add_test(t, test_enums);
	tcase_add_test(t, test_bools);
	tcase_add_test(t, test_strings);
	tcase_add_test(t, test_output);
	tcase_add_test(t, test_servers);
	tcase_add_test(t, test_socks);
	tcase_add_test(t, test_combinations);
	tcase_add_test(t, test_line_endings);
	tcase_add_test(t, test_sun);
	tcase_add_test(t, test_files);
	tcase_add_test(t, test_round_trip);
	tcase_add_test(t, test_garbage);
	tcase_add_test(t, test_stream_needs_max_size);
	tcase_add_test(t, test_output_room_for_temporary);
	tcase_add_test(t, test_set);
	tcase_add_test(t, test_read_twice);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
