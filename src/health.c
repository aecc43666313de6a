/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clamd.h"
#include "exit.h"
#include "health.h"
#include "input.h"
#include "log.h"
#include "request.h"
#include "state.h"

/* The EICAR test file, stored masked so that no scanner flags clamhook. */
static const unsigned char eicar_masked[68] = {
	0xfd, 0x90, 0xea, 0x84, 0xf5, 0x80, 0xe5, 0xe4, 0xf5, 0xfe, 0x91,
	0xf9, 0xf5, 0xff, 0xfd, 0x90, 0x91, 0x8d, 0xf5, 0xfb, 0x8c, 0x92,
	0xe6, 0xe6, 0x8c, 0x92, 0xd8, 0x81, 0xe0, 0xec, 0xe6, 0xe4, 0xf7,
	0x88, 0xf6, 0xf1, 0xe4, 0xeb, 0xe1, 0xe4, 0xf7, 0xe1, 0x88, 0xe4,
	0xeb, 0xf1, 0xec, 0xf3, 0xec, 0xf7, 0xf0, 0xf6, 0x88, 0xf1, 0xe0,
	0xf6, 0xf1, 0x88, 0xe3, 0xec, 0xe9, 0xe0, 0x84, 0x81, 0xed, 0x8e,
	0xed, 0x8f,
};

/*
 * self_test_one: the test string to server i.  Returns REQUEST_FINAL with
 * o set, or another end with w set.
 */
static enum request_end
self_test_one(struct pool *p, int i, struct ring *r, struct outcome *o,
    struct why *w)
{
	volatile unsigned char mask = 0xa5;
	unsigned char eicar[sizeof(eicar_masked)];
	ms_t deadline = io_after(p->c->timeout_ms);
	struct input in;
	enum request_end st;
	int fd;

	/* Unmasked only here, at run time, through a volatile mask. */
	for (size_t j = 0; j < sizeof(eicar); j++)
		eicar[j] = eicar_masked[j] ^ mask;
	input_memory(&in, "self-test", r, eicar, sizeof(eicar));
	memset(eicar, 0, sizeof(eicar));
	verdict_outcome(o);
	if ((fd = dial_connect(&p->dial, &p->addr[i], deadline, w)) < 0)
		return REQUEST_NEXT;
	st = request_run(p, i, fd, 0, &in, r, deadline, o, w);
	close(fd);
	return st;
}

int
health_self_test(struct pool *p, struct ring *r, struct out *out)
{
	int bad = 0;

	for (int i = 0; i < p->n; i++) {
		struct outcome o;
		struct why w;
		enum request_end st = self_test_one(p, i, r, &o, &w);

		if (st == REQUEST_FINAL && o.result == RESULT_INFECTED) {
			out_printf(out, "%s: FOUND %s\n", p->addr[i].name,
			    o.virus);
			continue;
		}
		bad++;
		if (st == REQUEST_FINAL)
			log_error("self-test: %s did not detect the EICAR test "
			    "file", p->addr[i].name);
		else {
			verdict_add_error(&o, w.text);	/* sanitised */
			log_error("self-test: %s", o.error);
		}
	}
	(void)out_flush(out);
	return bad ? EX_TEMPFAIL : EX_CLEAN;
}

/*
 * db_date: the signature database's date in a VERSION answer,
 * "ClamAV 1.4.6/27000/Fri Jul 14 02:40:00 2017" (ctime(3) on clamd's
 * host, read as UTC: a day's error at most), in seconds since the epoch;
 * -1 when the answer has none (clamd without a daily database).
 */
static long long
db_date(const char *v)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *d = strchr(v, '/'), *m;
	long long y, mo, day, hh, mi, ss, era, yoe, doy;
	char *end;

	if (d == NULL || (d = strchr(d + 1, '/')) == NULL ||
	    strlen(d + 1) < 24 || d[4] != ' ' || d[8] != ' ')
		return -1;
	for (m = months; *m != '\0' && strncmp(m, d + 5, 3) != 0; m += 3)
		continue;
	if (*m == '\0')
		return -1;
	mo = (m - months) / 3 + 1;
	day = strtol(d + 9, &end, 10);
	if (*end != ' ' || (hh = strtol(end + 1, &end, 10), *end != ':') ||
	    (mi = strtol(end + 1, &end, 10), *end != ':') ||
	    (ss = strtol(end + 1, &end, 10), *end != ' ') ||
	    (y = strtol(end + 1, &end, 10), *end != '\0') || day < 1 ||
	    day > 31 || y < 1970)
		return -1;
	/* Days from the civil date (the proleptic Gregorian calendar). */
	y -= mo <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	return ((era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy -
	    719468) * 24 + hh) * 3600 + mi * 60 + ss;
}

/*
 * db_age: server i's database age in whole days from its VERSION answer
 * v, -1 when unknown; older than max_db_age_days is a warning.
 */
static long long
db_age(const struct pool *p, int i, const char *v)
{
	long long t = db_date(v), age;
	unsigned max = p->c->max_db_age_days;

	if (t < 0)
		return -1;
	age = (io_wall() - t) / 86400;
	if (max > 0 && age > (long long)max)
		log_warn("%s: signature database is %lld days old, older than "
		    "max_db_age_days (%u): is freshclam updating it?",
		    p->addr[i].name, age, max);
	return age;
}

/*
 * version_of: server i's VERSION answer into v (OUTCOME_TEXT_MAX + 1),
 * sanitised.  Returns 0 or -1 (e set).
 */
static int
version_of(struct pool *p, int i, char *v, ms_t deadline, struct why *e)
{
	struct reply r;
	int fd = dial_connect(&p->dial, &p->addr[i], deadline, e), st;

	if (fd < 0)
		return -1;
	st = clamd_command(fd, "VERSION", &r, deadline, e);
	close(fd);
	if (st == 0)
		verdict_sanitize(v, r.line, r.len);
	return st;
}

/*
 * ping_once: PING, then VERSION, on server i; the answer printed to out.
 * Returns 0 or -1 (w set).
 */
static int
ping_once(struct pool *p, int i, struct out *out, struct why *w)
{
	const struct net_addr *a = &p->addr[i];
	/* A try: connect and PING, each within connect_timeout_ms. */
	ms_t deadline = io_after(p->c->connect_timeout_ms);
	char v[OUTCOME_TEXT_MAX + 1];
	struct reply r;
	struct why e;
	int fd, st;

	if ((fd = dial_connect(&p->dial, a, deadline, w)) < 0)
		return -1;
	st = clamd_command(fd, "PING", &r, deadline, &e);
	close(fd);
	if (st < 0)
		return why_set(w, "%s: %s", a->name, e.text);
	if (strcmp(r.line, "PONG") != 0) {
		verdict_sanitize(v, r.line, r.len);
		return why_set(w, "%s: answered \"%.60s\" to PING", a->name, v);
	}
	/* clamd closes after each command outside a session: reconnect. */
	if (version_of(p, i, v, deadline, &e) == 0)
		(void)db_age(p, i, v);
	else
		fmt_s(v, sizeof(v), "PONG (VERSION failed: %.200s)", e.text);
	out_printf(out, "%s: %s\n", a->name, v);
	return 0;
}

int
health_ping(struct pool *p, struct out *out)
{
	const struct conf *c = p->c;
	int bad = 0;

	for (int i = 0; i < p->n; i++) {
		struct why w;
		unsigned t;

		for (t = 0; t < c->max_pings; t++) {
			if (t > 0)
				poll(NULL, 0, (int)c->ping_interval_ms);
			if (ping_once(p, i, out, &w) == 0)
				break;
			log_step("ping %u/%u: %s", t + 1, c->max_pings, w.text);
		}
		if (t == c->max_pings) {
			bad++;
			log_error("ping: no PONG after %u tries: %s", t, w.text);
		}
	}
	(void)out_flush(out);
	return bad ? EX_TEMPFAIL : EX_CLEAN;
}

/* sh_var: NAME='VALUE' and a newline, each ' quoted as the shell needs. */
static void
sh_var(struct out *out, const char *name, const char *value)
{
	out_printf(out, "%s='", name);
	for (const char *c = value; *c != '\0'; c++) {
		if (*c == '\'')
			out_write(out, "'\\''", 4);
		else
			out_write(out, c, 1);
	}
	out_write(out, "'\n", 2);
}

/* sh_num: NAME='N'. */
static void
sh_num(struct out *out, const char *name, long long n)
{
	out_printf(out, "%s='%lld'\n", name, n);
}

/*
 * stats_of: server i's STATS answer (several lines, up to NUL or "END")
 * into buf; threads gets its THREADS line, queue its QUEUE count.
 * Returns 0 or -1 (e set).
 */
static int
stats_of(struct pool *p, int i, char *threads, size_t size, long long *queue,
    ms_t deadline, struct why *e)
{
	char buf[4096], *t, *q;
	size_t len = 0;
	ssize_t n;
	int fd = dial_connect(&p->dial, &p->addr[i], deadline, e);

	if (fd < 0)
		return -1;
	if (io_write_all(fd, "zSTATS", 7, deadline) < 0) {
		close(fd);
		return why_errno(e, errno, "sending zSTATS");
	}
	while (len < sizeof(buf) - 1 && memchr(buf, '\0', len) == NULL &&
	    (n = io_read(fd, buf + len, sizeof(buf) - 1 - len, deadline)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if ((t = strstr(buf, "THREADS: ")) == NULL ||
	    (q = strstr(buf, "QUEUE: ")) == NULL)
		return why_set(e, "no THREADS and QUEUE in the STATS answer");
	t += 9;
	fmt_s(threads, size, "%.*s", (int)strcspn(t, "\n"), t);
	*queue = strtoll(q + 7, NULL, 10);
	return 0;
}

/* server_report: -d 1: what server i says of itself, as KEY_... lines. */
static void
server_report(struct pool *p, int i, const char *key, struct out *out)
{
	ms_t deadline = io_after(p->c->connect_timeout_ms);
	char v[OUTCOME_TEXT_MAX + 1], name[64], threads[128];
	long long queue = 0, age;
	const char *d;
	struct why e;

	fmt_s(name, sizeof(name), "%s_VERSION", key);
	if (version_of(p, i, v, deadline, &e) < 0) {
		log_warn("%s: VERSION: %s", p->addr[i].name, e.text);
		return;
	}
	sh_var(out, name, v);
	age = db_age(p, i, v);
	d = strchr(v, '/');
	fmt_s(name, sizeof(name), "%s_DB_VERSION", key);
	out_printf(out, "%s='%.*s'\n", name, d != NULL ?
	    (int)strcspn(d + 1, "/") : 0, d != NULL ? d + 1 : "");
	fmt_s(name, sizeof(name), "%s_DB_AGE_DAYS", key);
	if (age >= 0)
		sh_num(out, name, age);
	else
		sh_var(out, name, "");
	if (stats_of(p, i, threads, sizeof(threads), &queue, deadline,
	    &e) < 0) {
		log_warn("%s: STATS: %s", p->addr[i].name, e.text);
		return;
	}
	fmt_s(name, sizeof(name), "%s_THREADS", key);
	sh_var(out, name, threads);
	fmt_s(name, sizeof(name), "%s_QUEUE", key);
	sh_num(out, name, queue);
}

/*
 * read_state: the state file into s, for reading only: 0, or -1 when it
 * cannot be read (logged; s empty).  A missing file is an empty state.
 */
static int
read_state(const struct conf *c, struct state *s)
{
	struct why w;
	int fd = state_lock(c->state_file, 1, STATE_LOCK_MS, IO_NEVER, &w);

	s->n = 0;
	s->since = 0;
	memset(s->count, 0, sizeof(s->count));
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		log_error("%s", w.text);
		return -1;
	}
	if (state_read(fd, c->state_file, s, &w) < 0)
		log_warn("%s: counts start again at the next message", w.text);
	state_close(fd);
	return 0;
}

/* ago: "N s ago" of t into buf, or "never". */
static const char *
ago(char *buf, size_t size, long long t)
{
	if (t == 0)
		return "never";
	fmt_s(buf, size, "%lld s ago", io_wall() - t);
	return buf;
}

/* server_status: server i's lines from the state s. */
static void
server_status(struct pool *p, int i, struct state *s, struct out *out)
{
	static const struct state_server none;
	const struct state_server *e = state_server(s, p->addr[i].name, 0);
	long long now = io_wall();
	char key[32], name[64], a1[32], a2[32];
	int dead;

	if (e == NULL)
		e = &none;
	dead = e->dead_until > now;
	out_printf(out, "# %s: %s", p->addr[i].name, dead ? "dead" : "alive");
	if (dead)
		out_printf(out, " for %lld s more", e->dead_until - now);
	out_printf(out, "; answered %s; last error %s%s%s\n",
	    ago(a1, sizeof(a1), e->ok_at), ago(a2, sizeof(a2), e->error_at),
	    e->error_at != 0 ? ": " : "", e->error);
	fmt_s(key, sizeof(key), "CLAMHOOK_SERVER_%d", i + 1);
	sh_var(out, key, p->addr[i].name);
	fmt_s(name, sizeof(name), "%s_STATE", key);
	sh_var(out, name, dead ? "dead" : "alive");
	fmt_s(name, sizeof(name), "%s_DEAD_UNTIL", key);
	sh_num(out, name, dead ? e->dead_until : 0);
	fmt_s(name, sizeof(name), "%s_LAST_OK", key);
	sh_num(out, name, e->ok_at);
	fmt_s(name, sizeof(name), "%s_LAST_ERROR_AT", key);
	sh_num(out, name, e->error_at);
	fmt_s(name, sizeof(name), "%s_LAST_ERROR", key);
	sh_var(out, name, e->error);
	if (log_level() >= 1)
		server_report(p, i, key, out);
}

int
health_status(struct pool *p, struct out *out)
{
	static const char *const names[COUNT_N] = { "CLEAN", "INFECTED",
		"PARTIAL", "SKIPPED", "FAILED" };
	static struct state s;	/* large, seldom filled: off the stack */
	const struct conf *c = p->c;
	uint64_t all = 0;
	char key[32];
	int st = 0;

	sh_var(out, "CLAMHOOK_STATE_FILE", c->state_file);
	if (c->state_file[0] == '\0')
		out_printf(out, "# no state_file: no counts and no dead marks "
		    "are kept\n");
	else
		st = read_state(c, &s);
	if (c->state_file[0] != '\0' && st == 0) {
		for (int k = 0; k < COUNT_N; k++)
			all += s.count[k];
		out_printf(out, "# messages counted since %s\n",
		    s.since != 0 ? ago(key, sizeof(key), s.since) :
		    "the next one (none yet)");
		sh_num(out, "CLAMHOOK_SINCE", s.since);
		sh_num(out, "CLAMHOOK_SCANNED", (long long)all);
		for (int k = 0; k < COUNT_N; k++) {
			fmt_s(key, sizeof(key), "CLAMHOOK_%s", names[k]);
			sh_num(out, key, (long long)s.count[k]);
		}
	} else {
		s.n = 0;
	}
	sh_num(out, "CLAMHOOK_SERVERS", p->n);
	for (int i = 0; i < p->n; i++)
		server_status(p, i, &s, out);
	return out_flush(out) == 0 && st == 0 ? EX_CLEAN : EX_TEMPFAIL;
}
