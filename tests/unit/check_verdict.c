/* SPDX-License-Identifier: ISC */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "dest.h"
#include "verdict.h"
#include "version.h"

/*
 * Rendering: every format x mode x result against the exact bytes the
 * rules of SPEC §4 give (the expect table), then hostile names, then the
 * destinations of §4.3 in a private directory under /tmp.
 */

#define FIELD "Virus-Test"
#define VERDICT "REJECT"
#define VIRUS "Eicar-Test-Signature"

static char rbuf[VERDICT_RECORD_MAX];

static void
set_conf(struct conf *c, int mode, enum conf_format format)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->format = format;
	c->on_error = ON_ERROR_TEMPFAIL;
	strcpy(c->field, FIELD);
	strcpy(c->verdict, VERDICT);
}

/* The outcome each result stands for in the expected table. */
static void
set_outcome(struct outcome *o, enum outcome_result res)
{
	memset(o, 0, sizeof(*o));
	o->result = res;
	switch (res) {
	case RESULT_CLEAN:
		strcpy(o->server, "127.0.0.1:3310");
		o->bytes = o->sent = 1234;
		o->ms = 12;
		break;
	case RESULT_INFECTED:
		strcpy(o->virus, VIRUS);
		strcpy(o->server, "127.0.0.1:3310");
		o->bytes = o->sent = 1234;
		o->ms = 15;
		break;
	case RESULT_PARTIAL:
		strcpy(o->server, "unix:/run/clamd.ctl");
		o->bytes = 5000;
		o->sent = 4096;
		o->ms = 20;
		break;
	case RESULT_SKIPPED:
		o->bytes = 99999;
		break;
	case RESULT_ERROR:
		strcpy(o->error, "no server answered");
		o->bytes = 1234;
		o->ms = 3000;
		break;
	}
}

static int
render(const struct conf *c, const struct outcome *o, const char *file)
{
	int n = verdict_render(c, o, file, rbuf, sizeof(rbuf));

	ck_assert_int_ge(n, 0);
	ck_assert_uint_eq(strlen(rbuf), (size_t)n);
	return n;
}

static const struct expect {
	enum conf_format format;
	int mode;
	enum outcome_result result;
	const char *rec;
} expect[] = {
	{ FORMAT_LINE, 0, RESULT_CLEAN, "\n" },
	{ FORMAT_LINE, 0, RESULT_INFECTED, "REJECT\n" },
	{ FORMAT_LINE, 0, RESULT_PARTIAL, "\n" },
	{ FORMAT_LINE, 0, RESULT_SKIPPED, "\n" },
	{ FORMAT_LINE, 0, RESULT_ERROR, "" },
	{ FORMAT_LINE, 1, RESULT_CLEAN, "\n" },
	{ FORMAT_LINE, 1, RESULT_INFECTED,
	    "Virus-Test: True ; Eicar-Test-Signature\n" },
	{ FORMAT_LINE, 1, RESULT_PARTIAL, "\n" },
	{ FORMAT_LINE, 1, RESULT_SKIPPED, "\n" },
	{ FORMAT_LINE, 1, RESULT_ERROR, "" },
	{ FORMAT_LINE, 2, RESULT_CLEAN, "Virus-Test: False\n" },
	{ FORMAT_LINE, 2, RESULT_INFECTED,
	    "Virus-Test: True ; Eicar-Test-Signature\n" },
	{ FORMAT_LINE, 2, RESULT_PARTIAL, "Virus-Test: False\n" },
	{ FORMAT_LINE, 2, RESULT_SKIPPED, "Virus-Test: False\n" },
	{ FORMAT_LINE, 2, RESULT_ERROR, "" },
	{ FORMAT_LINE, 3, RESULT_CLEAN, "REJECT\n" },
	{ FORMAT_LINE, 3, RESULT_INFECTED,
	    "Virus-Test: True ; Eicar-Test-Signature\n" },
	{ FORMAT_LINE, 3, RESULT_PARTIAL, "REJECT\n" },
	{ FORMAT_LINE, 3, RESULT_SKIPPED, "REJECT\n" },
	{ FORMAT_LINE, 3, RESULT_ERROR, "" },
	{ FORMAT_JAMES, 0, RESULT_CLEAN, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 0, RESULT_INFECTED, "X-MessageIsInfected: true\n" },
	{ FORMAT_JAMES, 0, RESULT_PARTIAL, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 0, RESULT_SKIPPED, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 0, RESULT_ERROR, "" },
	{ FORMAT_JAMES, 1, RESULT_CLEAN, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 1, RESULT_INFECTED, "X-MessageIsInfected: true\n" },
	{ FORMAT_JAMES, 1, RESULT_PARTIAL, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 1, RESULT_SKIPPED, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 1, RESULT_ERROR, "" },
	{ FORMAT_JAMES, 2, RESULT_CLEAN, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 2, RESULT_INFECTED, "X-MessageIsInfected: true\n" },
	{ FORMAT_JAMES, 2, RESULT_PARTIAL, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 2, RESULT_SKIPPED, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 2, RESULT_ERROR, "" },
	{ FORMAT_JAMES, 3, RESULT_CLEAN, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 3, RESULT_INFECTED, "X-MessageIsInfected: true\n" },
	{ FORMAT_JAMES, 3, RESULT_PARTIAL, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 3, RESULT_SKIPPED, "X-MessageIsInfected: false\n" },
	{ FORMAT_JAMES, 3, RESULT_ERROR, "" },
	{ FORMAT_MILTER, 0, RESULT_CLEAN,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean\n" },
	{ FORMAT_MILTER, 0, RESULT_INFECTED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Infected (Eicar-Test-Signature)\n" },
	{ FORMAT_MILTER, 0, RESULT_PARTIAL,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean (partial)\n" },
	{ FORMAT_MILTER, 0, RESULT_SKIPPED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Not scanned (oversize)\n" },
	{ FORMAT_MILTER, 0, RESULT_ERROR, "" },
	{ FORMAT_MILTER, 1, RESULT_CLEAN,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean\n" },
	{ FORMAT_MILTER, 1, RESULT_INFECTED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Infected (Eicar-Test-Signature)\n" },
	{ FORMAT_MILTER, 1, RESULT_PARTIAL,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean (partial)\n" },
	{ FORMAT_MILTER, 1, RESULT_SKIPPED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Not scanned (oversize)\n" },
	{ FORMAT_MILTER, 1, RESULT_ERROR, "" },
	{ FORMAT_MILTER, 2, RESULT_CLEAN,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean\n" },
	{ FORMAT_MILTER, 2, RESULT_INFECTED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Infected (Eicar-Test-Signature)\n" },
	{ FORMAT_MILTER, 2, RESULT_PARTIAL,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean (partial)\n" },
	{ FORMAT_MILTER, 2, RESULT_SKIPPED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Not scanned (oversize)\n" },
	{ FORMAT_MILTER, 2, RESULT_ERROR, "" },
	{ FORMAT_MILTER, 3, RESULT_CLEAN,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean\n" },
	{ FORMAT_MILTER, 3, RESULT_INFECTED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Infected (Eicar-Test-Signature)\n" },
	{ FORMAT_MILTER, 3, RESULT_PARTIAL,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Clean (partial)\n" },
	{ FORMAT_MILTER, 3, RESULT_SKIPPED,
	    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION "\n"
	    "X-Virus-Status: Not scanned (oversize)\n" },
	{ FORMAT_MILTER, 3, RESULT_ERROR, "" },
	{ FORMAT_SHELL, 0, RESULT_CLEAN,
	    "CLAMHOOK_RESULT='clean'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='12'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 0, RESULT_INFECTED,
	    "CLAMHOOK_RESULT='infected'\n"
	    "CLAMHOOK_VIRUS='Eicar-Test-Signature'\n"
	    "CLAMHOOK_VERDICT='REJECT'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='15'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 0, RESULT_PARTIAL,
	    "CLAMHOOK_RESULT='partial'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER='unix:/run/clamd.ctl'\n"
	    "CLAMHOOK_BYTES='5000'\n"
	    "CLAMHOOK_SENT='4096'\n"
	    "CLAMHOOK_MS='20'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 0, RESULT_SKIPPED,
	    "CLAMHOOK_RESULT='skipped'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='99999'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='0'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 0, RESULT_ERROR,
	    "CLAMHOOK_RESULT='error'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='3000'\n"
	    "CLAMHOOK_ERROR='no server answered'\n" },
	{ FORMAT_SHELL, 1, RESULT_CLEAN,
	    "CLAMHOOK_RESULT='clean'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='12'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 1, RESULT_INFECTED,
	    "CLAMHOOK_RESULT='infected'\n"
	    "CLAMHOOK_VIRUS='Eicar-Test-Signature'\n"
	    "CLAMHOOK_VERDICT='Virus-Test: True ; Eicar-Test-Signature'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='15'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 1, RESULT_PARTIAL,
	    "CLAMHOOK_RESULT='partial'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER='unix:/run/clamd.ctl'\n"
	    "CLAMHOOK_BYTES='5000'\n"
	    "CLAMHOOK_SENT='4096'\n"
	    "CLAMHOOK_MS='20'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 1, RESULT_SKIPPED,
	    "CLAMHOOK_RESULT='skipped'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='99999'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='0'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 1, RESULT_ERROR,
	    "CLAMHOOK_RESULT='error'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='3000'\n"
	    "CLAMHOOK_ERROR='no server answered'\n" },
	{ FORMAT_SHELL, 2, RESULT_CLEAN,
	    "CLAMHOOK_RESULT='clean'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='Virus-Test: False'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='12'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 2, RESULT_INFECTED,
	    "CLAMHOOK_RESULT='infected'\n"
	    "CLAMHOOK_VIRUS='Eicar-Test-Signature'\n"
	    "CLAMHOOK_VERDICT='Virus-Test: True ; Eicar-Test-Signature'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='15'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 2, RESULT_PARTIAL,
	    "CLAMHOOK_RESULT='partial'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='Virus-Test: False'\n"
	    "CLAMHOOK_SERVER='unix:/run/clamd.ctl'\n"
	    "CLAMHOOK_BYTES='5000'\n"
	    "CLAMHOOK_SENT='4096'\n"
	    "CLAMHOOK_MS='20'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 2, RESULT_SKIPPED,
	    "CLAMHOOK_RESULT='skipped'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='Virus-Test: False'\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='99999'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='0'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 2, RESULT_ERROR,
	    "CLAMHOOK_RESULT='error'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='3000'\n"
	    "CLAMHOOK_ERROR='no server answered'\n" },
	{ FORMAT_SHELL, 3, RESULT_CLEAN,
	    "CLAMHOOK_RESULT='clean'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='REJECT'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='12'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 3, RESULT_INFECTED,
	    "CLAMHOOK_RESULT='infected'\n"
	    "CLAMHOOK_VIRUS='Eicar-Test-Signature'\n"
	    "CLAMHOOK_VERDICT='Virus-Test: True ; Eicar-Test-Signature'\n"
	    "CLAMHOOK_SERVER='127.0.0.1:3310'\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='1234'\n"
	    "CLAMHOOK_MS='15'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 3, RESULT_PARTIAL,
	    "CLAMHOOK_RESULT='partial'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='REJECT'\n"
	    "CLAMHOOK_SERVER='unix:/run/clamd.ctl'\n"
	    "CLAMHOOK_BYTES='5000'\n"
	    "CLAMHOOK_SENT='4096'\n"
	    "CLAMHOOK_MS='20'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 3, RESULT_SKIPPED,
	    "CLAMHOOK_RESULT='skipped'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT='REJECT'\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='99999'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='0'\n"
	    "CLAMHOOK_ERROR=''\n" },
	{ FORMAT_SHELL, 3, RESULT_ERROR,
	    "CLAMHOOK_RESULT='error'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='3000'\n"
	    "CLAMHOOK_ERROR='no server answered'\n" },
};

#define NEXPECT (int)(sizeof(expect) / sizeof(expect[0]))

START_TEST(test_matrix)
{
	const struct expect *e = &expect[_i];
	struct conf c;
	struct outcome o;
	char want[VERDICT_RECORD_MAX];
	const char *p;
	size_t k;
	int n;

	set_conf(&c, e->mode, e->format);
	set_outcome(&o, e->result);
	n = render(&c, &o, NULL);
	ck_assert_str_eq(rbuf, e->rec);
	ck_assert_int_eq(n, (int)strlen(e->rec));

	/* Several files (§5.4): the same record, each line prefixed. */
	k = 0;
	if (e->format == FORMAT_SHELL)
		k = (size_t)snprintf(want, sizeof(want),
		    "CLAMHOOK_FILE='msg 1.eml'\n%s", e->rec);
	else
		for (p = e->rec; *p != '\0'; p++) {
			if (p == e->rec || p[-1] == '\n')
				k += (size_t)snprintf(want + k,
				    sizeof(want) - k, "msg 1.eml\t");
			want[k++] = *p;
		}
	want[k] = '\0';
	render(&c, &o, "msg 1.eml");
	ck_assert_str_eq(rbuf, want);
}
END_TEST

START_TEST(test_matrix_complete)
{
	int seen[4][4][5];
	int i, f, m, r;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NEXPECT; i++)
		seen[expect[i].format][expect[i].mode][expect[i].result]++;
	for (f = 0; f < 4; f++)
		for (m = 0; m < 4; m++)
			for (r = 0; r < 5; r++)
				ck_assert_int_eq(seen[f][m][r], 1);
}
END_TEST

START_TEST(test_empty_field)
{
	struct conf c;
	struct outcome o;

	set_conf(&c, 2, FORMAT_LINE);
	c.field[0] = '\0';
	set_outcome(&o, RESULT_CLEAN);
	render(&c, &o, NULL);
	ck_assert_str_eq(rbuf, "False\n");
	set_outcome(&o, RESULT_PARTIAL);
	render(&c, &o, NULL);
	ck_assert_str_eq(rbuf, "False\n");
	set_outcome(&o, RESULT_INFECTED);
	render(&c, &o, NULL);
	ck_assert_str_eq(rbuf, "True ; " VIRUS "\n");
	c.mode = 3;
	render(&c, &o, "a");
	ck_assert_str_eq(rbuf, "a\tTrue ; " VIRUS "\n");
	c.format = FORMAT_SHELL;
	render(&c, &o, NULL);
	ck_assert_ptr_nonnull(
	    strstr(rbuf, "\nCLAMHOOK_VERDICT='True ; " VIRUS "'\n"));
	/* An empty verdict string in mode 3 gives an empty line. */
	set_conf(&c, 3, FORMAT_LINE);
	c.verdict[0] = '\0';
	set_outcome(&o, RESULT_CLEAN);
	render(&c, &o, NULL);
	ck_assert_str_eq(rbuf, "\n");
}
END_TEST

START_TEST(test_failed_file)
{
	struct conf c;
	struct outcome o;
	enum conf_format f;
	int n;

	set_outcome(&o, RESULT_ERROR);
	for (f = FORMAT_LINE; f <= FORMAT_MILTER; f++) {
		set_conf(&c, 2, f);
		n = verdict_render(&c, &o, "x.eml", rbuf, sizeof(rbuf));
		ck_assert_int_eq(n, 0);
		ck_assert_str_eq(rbuf, "");
	}
	set_conf(&c, 2, FORMAT_SHELL);
	render(&c, &o, "x.eml");
	ck_assert_str_eq(rbuf,
	    "CLAMHOOK_FILE='x.eml'\n"
	    "CLAMHOOK_RESULT='error'\n"
	    "CLAMHOOK_VIRUS=''\n"
	    "CLAMHOOK_VERDICT=''\n"
	    "CLAMHOOK_SERVER=''\n"
	    "CLAMHOOK_BYTES='1234'\n"
	    "CLAMHOOK_SENT='0'\n"
	    "CLAMHOOK_MS='3000'\n"
	    "CLAMHOOK_ERROR='no server answered'\n");
}
END_TEST

START_TEST(test_status)
{
	struct conf c;
	struct outcome o;

	set_conf(&c, 1, FORMAT_LINE);
	set_outcome(&o, RESULT_CLEAN);
	ck_assert_int_eq(verdict_status(&c, &o), 0);
	set_outcome(&o, RESULT_PARTIAL);
	ck_assert_int_eq(verdict_status(&c, &o), 0);
	set_outcome(&o, RESULT_SKIPPED);
	ck_assert_int_eq(verdict_status(&c, &o), 0);
	set_outcome(&o, RESULT_INFECTED);
	ck_assert_int_eq(verdict_status(&c, &o), 1);
	set_outcome(&o, RESULT_ERROR);
	ck_assert_int_eq(verdict_status(&c, &o), 75);
	c.on_error = ON_ERROR_ACCEPT;
	ck_assert_int_eq(verdict_status(&c, &o), 0);
	set_outcome(&o, RESULT_INFECTED);
	ck_assert_int_eq(verdict_status(&c, &o), 1);
}
END_TEST

START_TEST(test_sanitize)
{
	static const char ascii[] = " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~";
	char out[OUTCOME_TEXT_MAX + 1];
	char big[4096];
	size_t i;

	verdict_sanitize(out, "", 0);
	ck_assert_str_eq(out, "");
	verdict_sanitize(out, "Win.Test.EICAR_HDB-1", 20);
	ck_assert_str_eq(out, "Win.Test.EICAR_HDB-1");
	verdict_sanitize(out, "a\nb\rc\td\0e\x1b[0m\x7f\x80\xff~ ", 15);
	ck_assert_str_eq(out, "a?b?c?d?e?[0m??");
	verdict_sanitize(out, "\xc3\xa9t\xc3\xa9", 5);
	ck_assert_str_eq(out, "??t??");
	verdict_sanitize(out, ascii, sizeof(ascii) - 1);
	ck_assert_str_eq(out, ascii);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	verdict_sanitize(out, big, sizeof(big));
	ck_assert_uint_eq(strlen(out), OUTCOME_TEXT_MAX);
	ck_assert_int_eq(memcmp(out, big, OUTCOME_TEXT_MAX), 0);
	verdict_sanitize(out, big, OUTCOME_TEXT_MAX);
	ck_assert_uint_eq(strlen(out), OUTCOME_TEXT_MAX);
}
END_TEST

/*
 * Hostile names: what a clamd (or a file name) might carry.
 */
static const struct hostile {
	const char *s;
	size_t n;
} hostile[] = {
/* clang-format off */
#define H(s) { s, sizeof(s) - 1 }
	H("Bad\nName"),
	H("Bad\r\nX-Virus-Status: Clean"),
	H("it's"),
	H("'; touch pwned; '"),
	H("say \"hi\""),
	H("back\\slash\\"),
	H("$(touch pwned)"),
	H("`touch pwned`"),
	H("${IFS}$HOME$0"),
	H("%s%n%s%n%p"),
	H("\x1b[31mred\x1b]0;title\x07\x1b[0m"),
	H("nul\0inside\0"),
	H("\x80\xfe\xff\xc3\xa9\xe2\x80\xae"),
	H("tab\there"),
	H("\\'\\''"),
	H(""),
#undef H
	/* clang-format on */
};

#define NHOSTILE (int)(sizeof(hostile) / sizeof(hostile[0]))

/* Every byte printable, lines only where the format puts them. */
static void
check_printable(const char *s, int lines, int tabs)
{
	int nl = 0, tab = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			nl++;
		else if (*s == '\t')
			tab++;
		else {
			ck_assert_int_ge((unsigned char)*s, 0x20);
			ck_assert_int_le((unsigned char)*s, 0x7e);
		}
	}
	ck_assert_int_eq(nl, lines);
	ck_assert_int_eq(tab, tabs);
}

/* Put raw bytes into a C string field, unsanitised, as far as they go. */
static void
raw(char *dst, size_t cap, const char *s, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

START_TEST(test_hostile_render)
{
	const struct hostile *h = &hostile[_i];
	char want[1024], name[OUTCOME_TEXT_MAX + 1];
	char cname[OUTCOME_TEXT_MAX + 1];
	struct conf c;
	struct outcome o;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		set_outcome(&o, RESULT_INFECTED);
		if (pass == 0)
			verdict_sanitize(o.virus, h->s, h->n);
		else
			raw(o.virus, sizeof(o.virus), h->s, h->n);
		verdict_sanitize(name, o.virus, strlen(o.virus));
		if (pass == 0)
			ck_assert_str_eq(name, o.virus);

		set_conf(&c, 1, FORMAT_LINE);
		render(&c, &o, NULL);
		snprintf(want, sizeof(want), FIELD ": True ; %s\n", name);
		ck_assert_str_eq(rbuf, want);
		check_printable(rbuf, 1, 0);

		render(&c, &o, o.virus);
		snprintf(want, sizeof(want), "%s\t" FIELD ": True ; %s\n", name,
		    name);
		ck_assert_str_eq(rbuf, want);
		check_printable(rbuf, 1, 1);

		set_conf(&c, 2, FORMAT_MILTER);
		render(&c, &o, NULL);
		snprintf(want, sizeof(want),
		    "X-Virus-Scanned: clamhook " CLAMHOOK_VERSION
		    "\nX-Virus-Status: Infected (%s)\n",
		    name);
		ck_assert_str_eq(rbuf, want);
		check_printable(rbuf, 2, 0);

		/* conf strings too: belt and braces. */
		set_conf(&c, 0, FORMAT_LINE);
		raw(c.verdict, sizeof(c.verdict), h->s, h->n);
		verdict_sanitize(cname, c.verdict, strlen(c.verdict));
		render(&c, &o, NULL);
		snprintf(want, sizeof(want), "%s\n", cname);
		ck_assert_str_eq(rbuf, want);
		raw(c.field, sizeof(c.field), h->s, h->n);
		c.mode = 2;
		render(&c, &o, NULL);
		snprintf(want, sizeof(want), "%s%sTrue ; %s\n", cname,
		    cname[0] != '\0' ? ": " : "", name);
		ck_assert_str_eq(rbuf, want);
		check_printable(rbuf, 1, 0);
	}
}
END_TEST

static char tdir[64];

static void
mk_tdir(void)
{
	strcpy(tdir, "/tmp/check_verdict.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void
rm_tdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
tpath(char *buf, size_t cap, const char *name)
{
	ck_assert_int_lt(snprintf(buf, cap, "%s/%s", tdir, name), (int)cap);
}

static void
put_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

/* The whole file; its length, or -1 when it cannot be opened. */
static ssize_t
get_file(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return -1;
	while ((n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Entries in the test directory, . and .. aside. */
static int
count_entries(void)
{
	DIR *d = opendir(tdir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * Run sh in tdir with argv[2] as the script; its standard output into out.
 * Returns the exit status.
 */
static int
run_sh(const char *script, char *out, size_t cap)
{
	int p[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (chdir(tdir) == -1)
			_exit(126);
		execlp("busybox", "busybox", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (got < cap - 1 && (n = read(p[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static const char show[] =
    ". ./rec && printf '%s\\n' \"$CLAMHOOK_FILE\" \"$CLAMHOOK_RESULT\" "
    "\"$CLAMHOOK_VIRUS\" \"$CLAMHOOK_VERDICT\" \"$CLAMHOOK_SERVER\" "
    "\"$CLAMHOOK_BYTES\" \"$CLAMHOOK_SENT\" \"$CLAMHOOK_MS\" "
    "\"$CLAMHOOK_ERROR\"";

START_TEST(test_hostile_shell)
{
	const struct hostile *h = &hostile[_i];
	char name[OUTCOME_TEXT_MAX + 1], server[512], path[128];
	static char want[4 * VERDICT_RECORD_MAX], got[4 * VERDICT_RECORD_MAX];
	struct conf c;
	struct outcome o;
	int n, st;

	mk_tdir();
	tpath(path, sizeof(path), "rec");
	set_conf(&c, 2, FORMAT_SHELL);
	set_outcome(&o, RESULT_INFECTED);
	verdict_sanitize(o.virus, h->s, h->n);
	n = render(&c, &o, NULL);
	put_file(path, rbuf, (size_t)n);
	st = run_sh(". ./rec; printf %s \"$CLAMHOOK_VIRUS\"", got, sizeof(got));
	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(got, o.virus);

	/* Everything hostile at once, unsanitised where C strings allow. */
	raw(o.virus, sizeof(o.virus), h->s, h->n);
	raw(o.error, sizeof(o.error), h->s, h->n);
	raw(o.server, sizeof(o.server), h->s, h->n);
	raw(c.field, sizeof(c.field), h->s, h->n);
	o.result = RESULT_INFECTED;
	o.ms = -1;
	verdict_sanitize(name, o.virus, strlen(o.virus));
	verdict_sanitize(server, o.server, strlen(o.server));
	n = render(&c, &o, o.virus);
	check_printable(rbuf, 9, 0);
	put_file(path, rbuf, (size_t)n);
	ck_assert_int_eq(run_sh(show, got, sizeof(got)), 0);
	snprintf(want, sizeof(want),
	    "%s\ninfected\n%s\n%s%sTrue ; %s\n%s\n"
	    "1234\n1234\n-1\n%s\n",
	    name, name, name, name[0] != '\0' ? ": " : "", name, server, name);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(access("pwned", F_OK), -1);
	tpath(path, sizeof(path), "pwned");
	ck_assert_int_eq(access(path, F_OK), -1);
	rm_tdir();
}
END_TEST

/* A 4 KiB name, all quotes: truncated to 255, the record still fits. */
START_TEST(test_long_names)
{
	static char big[4096], want[4 * VERDICT_RECORD_MAX],
	    got[4 * VERDICT_RECORD_MAX];
	char name[OUTCOME_TEXT_MAX + 1], path[128];
	struct conf c;
	struct outcome o;
	int n, m, i;

	for (i = 0; i < 2; i++) {
		memset(big, i == 0 ? 'N' : '\'', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		set_conf(&c, 2, FORMAT_LINE);
		set_outcome(&o, RESULT_INFECTED);
		verdict_sanitize(o.virus, big, sizeof(big) - 1);
		ck_assert_uint_eq(strlen(o.virus), OUTCOME_TEXT_MAX);
		memcpy(name, o.virus, sizeof(name));
		n = render(&c, &o, big);
		ck_assert_int_eq(n,
		    255 + 1 + (int)strlen(FIELD ": True ; ") + 255 + 1);

		/* The worst shell record there is. */
		c.format = FORMAT_SHELL;
		raw(c.field, sizeof(c.field), big, sizeof(big));
		raw(o.server, sizeof(o.server), big, sizeof(big));
		raw(o.error, sizeof(o.error), big, sizeof(big));
		o.bytes = o.sent = UINT64_MAX;
		o.ms = INT64_MIN;
		n = render(&c, &o, big);
		ck_assert_int_lt(n, VERDICT_RECORD_MAX);
		ck_assert_int_eq(verdict_render(&c, &o, big, rbuf, (size_t)n),
		    -1);
		ck_assert_int_eq(verdict_render(&c, &o, big, rbuf, 0), -1);
		m = verdict_render(&c, &o, big, rbuf, (size_t)n + 1);
		ck_assert_int_eq(m, n);

		mk_tdir();
		tpath(path, sizeof(path), "rec");
		put_file(path, rbuf, (size_t)n);
		ck_assert_int_eq(run_sh(show, got, sizeof(got)), 0);
		snprintf(want, sizeof(want),
		    "%s\ninfected\n%s\n%s: True ; %s\n"
		    "%.*s\n18446744073709551615\n18446744073709551615\n"
		    "-9223372036854775808\n%s\n",
		    name, name, name, name, (int)sizeof(o.server) - 1, big,
		    name);
		ck_assert_str_eq(got, want);
		rm_tdir();
	}
}
END_TEST

START_TEST(test_small_cap)
{
	struct conf c;
	struct outcome o;
	size_t cap;
	int n;

	set_conf(&c, 2, FORMAT_MILTER);
	set_outcome(&o, RESULT_INFECTED);
	n = render(&c, &o, "f");
	for (cap = 0; cap <= (size_t)n; cap++)
		ck_assert_int_eq(verdict_render(&c, &o, "f", rbuf, cap), -1);
	ck_assert_int_eq(verdict_render(&c, &o, "f", rbuf, cap), n);
}
END_TEST

/*
 * Destinations (§4.3).
 */
static void
check_file(const char *path, const char *want)
{
	char buf[4096];
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(get_file(path, buf, sizeof(buf)),
	    (ssize_t)strlen(want));
	ck_assert_str_eq(buf, want);
}

static void
write_all(struct dest *v, const char *s)
{
	struct why w = { .text = "" };

	ck_assert_msg(dest_write(v, s, strlen(s), &w) == 0, "%s", w.text);
}

START_TEST(test_dest_file)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128];
	struct stat st;

	mk_tdir();
	umask(022);
	tpath(path, sizeof(path), "verdict");
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	ck_assert_int_eq(v.kind, DEST_FILE);
	ck_assert_str_eq(v.path, path);
	ck_assert_int_eq(strncmp(v.tmp, tdir, strlen(tdir)), 0);
	ck_assert_int_eq(strncmp(v.tmp + strlen(tdir), "/.verdict.", 10), 0);
	ck_assert_uint_eq(strlen(v.tmp), strlen(path) + 1 + 7);
	ck_assert_int_eq(access(path, F_OK), -1);
	write_all(&v, "a\n");
	write_all(&v, "b\n");
	ck_assert_int_eq(dest_write(&v, "", 0, &w), 0);
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file(path, "a\nb\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(count_entries(), 1);

	/* Again over the old one, under another umask. */
	umask(027);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "c\n");
	check_file(path, "a\nb\n");
	ck_assert_int_eq(count_entries(), 2);
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file(path, "c\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(count_entries(), 1);
	umask(022);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_relative)
{
	struct dest v;
	struct why w = { .text = "" };

	mk_tdir();
	ck_assert_int_eq(chdir(tdir), 0);
	ck_assert_int_eq(dest_open(&v, "out", 1000, &w), 0);
	ck_assert_int_eq(strncmp(v.tmp, ".out.", 5), 0);
	write_all(&v, "x\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file("out", "x\n");
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_int_eq(chdir("/"), 0);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_symlink)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], other[128];

	mk_tdir();
	tpath(path, sizeof(path), "verdict");
	tpath(other, sizeof(other), "other");
	put_file(other, "old\n", 4);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	ck_assert_int_eq(v.kind, DEST_FILE);
	write_all(&v, "new\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file(path, "new\n");
	check_file(other, "old\n");
	ck_assert_int_eq(count_entries(), 2);

	/* A dangling symlink is replaced too, nothing created at its target. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("nowhere", path), 0);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "new2\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file(path, "new2\n");
	tpath(other, sizeof(other), "nowhere");
	ck_assert_int_eq(access(other, F_OK), -1);
	ck_assert_int_eq(count_entries(), 2);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_hardlink)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], other[128];
	struct stat st;

	mk_tdir();
	tpath(path, sizeof(path), "verdict");
	tpath(other, sizeof(other), "other");
	put_file(other, "old\n", 4);
	ck_assert_int_eq(link(other, path), 0);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "new\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	check_file(path, "new\n");
	check_file(other, "old\n");
	ck_assert_int_eq(stat(other, &st), 0);
	ck_assert_int_eq(st.st_nlink, 1);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_abort)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], other[128];

	mk_tdir();
	tpath(path, sizeof(path), "verdict");
	put_file(path, "Virus-Test: False\n", 18);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "half");
	ck_assert_int_eq(count_entries(), 2);
	dest_abort(&v);
	ck_assert_int_eq(count_entries(), 0);

	/* Nothing written, nothing there: still fine. */
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	dest_abort(&v);
	ck_assert_int_eq(count_entries(), 0);

	/* A symlink at the path goes, its target stays. */
	tpath(other, sizeof(other), "other");
	put_file(other, "keep\n", 5);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	dest_abort(&v);
	ck_assert_int_eq(count_entries(), 1);
	check_file(other, "keep\n");
	rm_tdir();
}
END_TEST

START_TEST(test_dest_errors)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], want[256];

	mk_tdir();
	tpath(path, sizeof(path), "nodir/verdict");
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), -1);
	snprintf(want, sizeof(want),
	    "verdict %s: cannot create temporary "
	    "file: No such file or directory",
	    path);
	ck_assert_str_eq(w.text, want);
	dest_abort(&v);

	/* A directory at the path: an error, and abort leaves it alone. */
	tpath(path, sizeof(path), "dir");
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), -1);
	snprintf(want, sizeof(want), "verdict %s: is a directory", path);
	ck_assert_str_eq(w.text, want);
	dest_abort(&v);
	ck_assert_int_eq(access(path, F_OK), 0);

	tpath(path, sizeof(path), "dir/");
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), -1);
	tpath(path, sizeof(path), "new/");
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), -1);
	snprintf(want, sizeof(want), "verdict %s: not a file name", path);
	ck_assert_str_eq(w.text, want);
	ck_assert_int_eq(dest_open(&v, "", 1000, &w), -1);
	ck_assert_int_eq(count_entries(), 1);

	/* The path turns into a directory before the rename. */
	tpath(path, sizeof(path), "late");
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "x\n");
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(dest_commit(&v, &w), -1);
	ck_assert_int_eq(strncmp(w.text, "verdict ", 8), 0);
	ck_assert_ptr_nonnull(
	    strstr(w.text, ": cannot rename temporary file: "));
	ck_assert_str_eq(v.tmp, "");
	ck_assert_int_eq(count_entries(), 2);
	rm_tdir();
}
END_TEST

/* A directory the process cannot write to, as nobody. */
START_TEST(test_dest_eacces)
{
	struct dest v;
	struct why w = { .text = "" };
	struct passwd *pw;
	char path[128], want[256];
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return;
	pw = getpwnam("nobody");
	ck_assert_ptr_nonnull(pw);
	mk_tdir();
	ck_assert_int_eq(chmod(tdir, 0755), 0);
	tpath(path, sizeof(path), "verdict");
	snprintf(want, sizeof(want),
	    "verdict %s: cannot create temporary "
	    "file: Permission denied",
	    path);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
			_exit(2);
		if (dest_open(&v, path, 1000, &w) != -1)
			_exit(3);
		_exit(strcmp(w.text, want) == 0 ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(count_entries(), 0);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_signal_cleanup)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128];

	mk_tdir();
	tpath(path, sizeof(path), "verdict");
	dest_signal_cleanup();
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	write_all(&v, "x\n");
	ck_assert_int_eq(count_entries(), 1);
	dest_signal_cleanup();
	ck_assert_int_eq(count_entries(), 0);
	dest_abort(&v);

	/* After a commit there is nothing left to clean. */
	ck_assert_int_eq(dest_open(&v, path, 1000, &w), 0);
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	dest_signal_cleanup();
	check_file(path, "");
	rm_tdir();
}
END_TEST

/*
 * A child that opens the FIFO after delay_ms, reads what comes (at most
 * max bytes, or to end of file), and sends it back through the returned
 * descriptor.
 */
static int
fifo_reader(const char *path, int delay_ms, size_t max, pid_t *pid)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		struct timespec ts = { delay_ms / 1000,
			(delay_ms % 1000) * 1000000L };
		char buf[1024];
		size_t got = 0;
		ssize_t n;
		int fd;

		close(p[0]);
		nanosleep(&ts, NULL);
		if ((fd = open(path, O_RDONLY)) == -1)
			_exit(2);
		while (got < max && (n = read(fd, buf + got, max - got)) > 0)
			got += (size_t)n;
		close(fd);
		if (write(p[1], buf, got) != (ssize_t)got)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void
reader_done(int fd, pid_t pid, const char *want)
{
	char buf[1024];
	size_t got = 0;
	ssize_t n;
	int st;

	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(test_fifo)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128];
	struct stat st;
	pid_t pid;
	int fd, fl;

	mk_tdir();
	tpath(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fd = fifo_reader(path, 0, 1000, &pid);
	ck_assert_int_eq(dest_open(&v, path, 2000, &w), 0);
	ck_assert_int_eq(v.kind, DEST_FIFO);
	ck_assert_int_eq(v.fd, -1);
	write_all(&v, "rec1\n");
	fl = fcntl(v.fd, F_GETFL);
	ck_assert_int_eq(fl & O_NONBLOCK, 0);
	ck_assert_int_eq(fl & O_ACCMODE, O_WRONLY);
	write_all(&v, "rec2\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	reader_done(fd, pid, "rec1\nrec2\n");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(count_entries(), 1);
	rm_tdir();
}
END_TEST

START_TEST(test_fifo_late_reader)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128];
	ms_t t0;
	pid_t pid;
	int fd;

	mk_tdir();
	tpath(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fd = fifo_reader(path, 200, 1000, &pid);
	ck_assert_int_eq(dest_open(&v, path, 2000, &w), 0);
	t0 = io_now();
	write_all(&v, "late\n");
	ck_assert_int_ge(io_now() - t0, 150);
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	reader_done(fd, pid, "late\n");
	rm_tdir();
}
END_TEST

START_TEST(test_fifo_no_reader)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], want[256];
	struct stat st;
	ms_t t0, dt;

	mk_tdir();
	tpath(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(dest_open(&v, path, 300, &w), 0);
	t0 = io_now();
	ck_assert_int_eq(dest_write(&v, "x\n", 2, &w), -1);
	dt = io_now() - t0;
	ck_assert_int_ge(dt, 300);
	ck_assert_int_le(dt, 300 + 100);
	snprintf(want, sizeof(want),
	    "verdict %s: no reader on the FIFO "
	    "after 300 ms",
	    path);
	ck_assert_str_eq(w.text, want);
	dest_abort(&v);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));

	/* A timeout of 0 tries once. */
	ck_assert_int_eq(dest_open(&v, path, 0, &w), 0);
	t0 = io_now();
	ck_assert_int_eq(dest_write(&v, "x\n", 2, &w), -1);
	ck_assert_int_le(io_now() - t0, 50);
	dest_abort(&v);
	rm_tdir();
}
END_TEST

START_TEST(test_fifo_reader_gone)
{
	struct dest v;
	struct why w = { .text = "" };
	char path[128], want[256];
	pid_t pid;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	mk_tdir();
	tpath(path, sizeof(path), "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fd = fifo_reader(path, 0, 5, &pid);
	ck_assert_int_eq(dest_open(&v, path, 2000, &w), 0);
	write_all(&v, "one!\n");
	reader_done(fd, pid, "one!\n");
	ck_assert_int_eq(dest_write(&v, "two\n", 4, &w), -1);
	snprintf(want, sizeof(want), "verdict %s: the reader closed the FIFO",
	    path);
	ck_assert_str_eq(w.text, want);
	dest_abort(&v);
	ck_assert_int_eq(count_entries(), 1);
	rm_tdir();
}
END_TEST

START_TEST(test_dest_fd)
{
	struct dest v;
	struct why w = { .text = "" };
	char dest[32], buf[64], want[128];
	int p[2];

	memset(buf, 'z', sizeof(buf));
	ck_assert_int_eq(pipe(p), 0);
	snprintf(dest, sizeof(dest), "fd:%d", p[1]);
	ck_assert_int_eq(dest_open(&v, dest, 1000, &w), 0);
	ck_assert_int_eq(v.kind, DEST_FD);
	ck_assert_int_eq(v.fd, p[1]);
	write_all(&v, "via fd\n");
	ck_assert_int_eq(dest_commit(&v, &w), 0);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 7);
	ck_assert_int_eq(memcmp(buf, "via fd\n", 7), 0);
	ck_assert_int_ne(fcntl(p[1], F_GETFD), -1);

	/* A full pipe is waited for, up to timeout_ms. */
	ck_assert_int_eq(io_nonblock(p[1], 1), 0);
	ck_assert_int_eq(dest_open(&v, dest, 100, &w), 0);
	while (write(p[1], buf, sizeof(buf)) > 0)
		;
	ck_assert_int_eq(dest_write(&v, "x\n", 2, &w), -1);
	snprintf(want, sizeof(want), "verdict %s: not writable after 100 ms",
	    dest);
	ck_assert_str_eq(w.text, want);
	close(p[1]);

	/* Closed, or open for reading only. */
	ck_assert_int_eq(dest_open(&v, dest, 1000, &w), -1);
	snprintf(buf, sizeof(buf), "verdict %s: Bad file descriptor", dest);
	ck_assert_str_eq(w.text, buf);
	snprintf(dest, sizeof(dest), "fd:%d", p[0]);
	ck_assert_int_eq(dest_open(&v, dest, 1000, &w), -1);
	snprintf(buf, sizeof(buf), "verdict %s: not open for writing", dest);
	ck_assert_str_eq(w.text, buf);
	close(p[0]);

	ck_assert_int_eq(dest_open(&v, "-", 1000, &w), 0);
	ck_assert_int_eq(v.kind, DEST_FD);
	ck_assert_int_eq(v.fd, 1);
	ck_assert_int_eq(dest_commit(&v, &w), 0);
}
END_TEST

START_TEST(test_dest_fd_bad)
{
	static const char *bad[] = { "fd:", "fd:x", "fd:1x", "fd:-1", "fd: 1",
		"fd:+1", "fd:2147483648", "fd:99999999999999999999" };
	struct dest v;
	struct why w;
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(dest_open(&v, bad[i], 1000, &w), -1);
		snprintf(want, sizeof(want),
		    "verdict %s: bad descriptor "
		    "number",
		    bad[i]);
		ck_assert_str_eq(w.text, want);
	}
}
END_TEST

static Suite *
verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_loop_test(tc, test_matrix, 0, NEXPECT);
	tcase_add_test(tc, test_matrix_complete);
	tcase_add_test(tc, test_empty_field);
	tcase_add_test(tc, test_failed_file);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_sanitize);
	tcase_add_loop_test(tc, test_hostile_render, 0, NHOSTILE);
	tcase_add_loop_test(tc, test_hostile_shell, 0, NHOSTILE);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_small_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("dest");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_dest_file);
	tcase_add_test(tc, test_dest_relative);
	tcase_add_test(tc, test_dest_symlink);
	tcase_add_test(tc, test_dest_hardlink);
	tcase_add_test(tc, test_dest_abort);
	tcase_add_test(tc, test_dest_errors);
	tcase_add_test(tc, test_dest_eacces);
	tcase_add_test(tc, test_dest_signal_cleanup);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_fifo_late_reader);
	tcase_add_test(tc, test_fifo_no_reader);
	tcase_add_test(tc, test_fifo_reader_gone);
	tcase_add_test(tc, test_dest_fd);
	tcase_add_test(tc, test_dest_fd_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(verdict_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
