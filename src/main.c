/* SPDX-License-Identifier: ISC */
/*
 * clamhook: stream one message (or several) to clamd, write the verdict,
 * and tell the MTA hook by the exit status what to do (SPEC §3):
 * 0 clean, 1 infected, 75 anything else, 78 a bad config under -t.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "batch.h"
#include "conf.h"
#include "dest.h"
#include "exit.h"
#include "fmt.h"
#include "health.h"
#include "input.h"
#include "log.h"
#include "pool.h"
#include "scan.h"
#include "verdict.h"
#include "version.h"

static struct conf conf;
/*
 * The servers resolved from it (about 50 KiB, nearly all of it room for
 * addresses a run seldom fills): static, so that the stack stays small
 * and only what is written is paid for.
 */
static struct pool pool;
/* The ring over its storage, allocated once: reachable until exit. */
static struct ring ring;
/*
 * Where the verdict goes: static like the pointers the signal handler
 * keeps into it, and off the stack (its temporary's name is PATH_MAX).
 */
static struct dest out;
/* When clamhook started: a single message's deadline counts from it. */
static ms_t started;

static const char usage_text[] =
    "usage: clamhook [-c FILE] [-o DEST] [-f FORMAT] [-d N] [FILE...]\n"
    "       clamhook -p|--ping [-c FILE]\n"
    "       clamhook -s|--self-test [-c FILE]\n"
    "       clamhook -t|--check-config [-c FILE]\n"
    "       clamhook --status [-c FILE] [-d 1]\n"
    "       clamhook -V|--version | -h|--help\n"
    "  -c, --config FILE   INI file (default $CLAMHOOK_CONFIG, else "
    "/etc/clamhook.ini)\n"
    "  -o, --output DEST   verdict destination: path, FIFO, fd:N or -\n"
    "  -f, --format FORMAT verdict format: line, james, milter or shell\n"
    "  -d, --debug N       0 none, 1 steps, 2 steps and traffic\n"
    "exit: 0 clean, 1 infected, 75 temporary failure, "
    "78 invalid config (-t)\n";

/* say: text to descriptor fd in one write; a failure is not reported. */
static void
say(int fd, const char *text)
{
	struct out o = OUT_INIT(fd);

	out_write(&o, text, strlen(text));
	(void)out_flush(&o);
}

/* SIGTERM, SIGINT, SIGHUP: no temporary file, no verdict, status 75. */
static void
on_signal(int sig)
{
	static const char msg[] = "clamhook: interrupted by a signal: "
	    "no verdict, temporary failure\n";
	ssize_t n;

	(void)sig;
	dest_signal_cleanup();
	n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(EX_TEMPFAIL);
}

static void
set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* A file-size limit fails a write (75) instead of killing the run. */
	sigaction(SIGXFSZ, &sa, NULL);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* block_signals: from the verdict's commit on, the status is decided. */
static void
block_signals(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

/*
 * ensure_std: descriptors 0-2 closed by a careless parent would be taken
 * by the first open(): point them at /dev/null.  0 is opened write-only:
 * a message read from a closed standard input fails (EBADF) instead of
 * passing as an empty, clean one.
 */
static void
ensure_std(void)
{
	struct pollfd pf[3] = { { .fd = 0 }, { .fd = 1 }, { .fd = 2 } };

	/* One poll for the three: a closed one is POLLNVAL. */
	while (poll(pf, 3, 0) < 0)
		if (errno != EINTR)
			_exit(EX_TEMPFAIL);
	for (int fd = 0; fd < 3; fd++)
		if ((pf[fd].revents & POLLNVAL) &&
		    open("/dev/null", O_WRONLY) != fd)
			_exit(EX_TEMPFAIL);
}

/*
 * drop_stale: a scan that fails before its verdict is opened still leaves
 * no verdict of an earlier run at a file destination (§4.3).  dest_abort
 * leaves the signal handler no pointer into the local out.
 */
static void
drop_stale(const char *dest)
{
	struct dest out;
	struct why w;

	if (dest == NULL || *dest == '\0')
		return;
	(void)dest_open(&out, dest, 0, &w);
	dest_abort(&out);
}

/* What the records of a run have come to. */
struct run {
	struct dest *out;
	int status;		/* worst so far: 75 over 1 over 0 */
	int batch;		/* several files: records carry the name */
	int unwritten;		/* a record could not be written whole */
	uint64_t count[COUNT_N];	/* the messages, by what they came to */
};

/*
 * log_message: [log] messages: one line per message (§7), key=value words
 * in a fixed order, the virus name's blanks made '_' so that each word
 * stays one; file last, in a batch.
 */
static void
log_message(const char *file, const struct outcome *o)
{
	static const char *const results[] = { "clean", "infected",
		"partial", "skipped", "error" };
	char virus[sizeof(o->virus)];

	if (conf.messages == MESSAGES_NONE || (conf.messages ==
	    MESSAGES_INFECTED && (o->result == RESULT_CLEAN ||
	    o->result == RESULT_ERROR)))
		return;
	strcpy(virus, o->virus[0] != '\0' ? o->virus : "-");
	for (char *c = virus; *c != '\0'; c++)
		if (*c == ' ')
			*c = '_';
	log_info("message result=%s virus=%s server=%s bytes=%" PRIu64
	    " ms=%" PRId64 "%s%s", results[o->result], virus,
	    o->server[0] != '\0' ? o->server : "-", o->bytes, o->ms,
	    file != NULL ? " file=" : "", file != NULL ? file : "");
}

/* record: one message's outcome: log it, render it, write it. */
static int
record(void *ctx, const char *file, struct outcome *o)
{
	/* What a message comes to in the counts (§9). */
	static const enum state_count by_result[] = { COUNT_CLEAN,
		COUNT_INFECTED, COUNT_PARTIAL, COUNT_SKIPPED, COUNT_FAILED };
	struct run *run = ctx;
	char rec[VERDICT_RECORD_MAX];
	struct why w;
	int st = verdict_status(&conf, o), len;

	if (o->result == RESULT_ERROR)
		log_error("%s", o->error);
	else
		log_step("result: %s%s (%s)",
		    o->result == RESULT_INFECTED ? "infected: " :
		    o->result == RESULT_PARTIAL ? "partial" :
		    o->result == RESULT_SKIPPED ? "skipped" : "clean",
		    o->virus, o->server[0] ? o->server : "no server");
	log_message(run->batch ? file : NULL, o);
	if (st == EX_TEMPFAIL || (run->status != EX_TEMPFAIL &&
	    st > run->status))
		run->status = st;
	len = verdict_render(&conf, o, run->batch ? file : NULL, rec,
	    sizeof(rec));
	if (len > 0) {
		log_step("verdict: %.*s", len - 1, rec);
		run->out->deadline = o->deadline;
		if (dest_write(run->out, rec, (size_t)len, &w) < 0) {
			log_error("%s", w.text);
			run->status = EX_TEMPFAIL;
			run->unwritten = 1;
			run->count[COUNT_FAILED]++;
			return -1;
		}
	}
	run->count[by_result[o->result]]++;
	return 0;
}

/*
 * drain_stdin: when path is standard input (NULL or "-"), read it to its
 * end (at most until the deadline) so that the process feeding clamhook
 * sees no broken pipe.  Returns the bytes read.
 */
static uint64_t
drain_stdin(const char *path)
{
	struct input in;
	struct why ignored;
	ms_t deadline = started + conf.timeout_ms;

	if ((path != NULL && strcmp(path, "-") != 0) ||
	    input_open(&in, NULL, 0, deadline, &ignored) < 0)
		return 0;
	input_drain(&in, deadline, &ignored);
	return in.total;
}

/*
 * unscanned: the outcome of a message no server can be asked about: an
 * error, after its standard input was read to the end.
 */
static int
unscanned(struct run *run, const char *path, const struct why *why)
{
	struct outcome o;

	verdict_outcome(&o);
	o.deadline = started + conf.timeout_ms;
	verdict_add_error(&o, why->text);
	o.bytes = drain_stdin(path);
	return record(run, path, &o);
}

/* The command line. */
struct args {
	const char *cfile;
	const char *output;	/* -o, or NULL */
	const char *format;	/* -f, or NULL */
	int debug;		/* -d, or -1 */
	int action;		/* 'p', 's', 't', 'S' (--status), 0: scan */
	char **files;
	int nfiles;
};

/* usage_error: after the error line, the synopsis.  Returns 75. */
static int
usage_error(void)
{
	say(2, usage_text);
	return EX_TEMPFAIL;
}

/*
 * The long options, each the same as a short one.  As with getopt_long(3):
 * "--name=VALUE" or "--name VALUE", and a name may be shortened to any
 * prefix that is no other option's.
 */
static const struct {
	const char *name;
	char ch;
} longopts[] = {
	{ "config", 'c' }, { "output", 'o' }, { "format", 'f' },
	{ "debug", 'd' },
	{ "ping", 'p' }, { "self-test", 's' }, { "check-config", 't' },
	{ "status", 'S' },
	{ "version", 'V' }, { "help", 'h' },
};

#define TAKES_VALUE(ch) \
	((ch) == 'c' || (ch) == 'o' || (ch) == 'f' || (ch) == 'd')

/*
 * long_option: the short letter of "--NAME[=VALUE]" (s after the dashes)
 * with *value set to VALUE or NULL, or 0 when NAME is unknown or ambiguous.
 */
static int
long_option(const char *s, const char **value)
{
	size_t len = (size_t)(strchrnul(s, '=') - s), i;
	int ch = 0, n = 0;

	for (i = 0; i < sizeof(longopts) / sizeof(longopts[0]); i++) {
		if (strncmp(longopts[i].name, s, len) != 0)
			continue;
		ch = longopts[i].ch;
		if (longopts[i].name[len] == '\0') {
			n = 1;
			break;
		}
		n++;
	}
	*value = s[len] == '=' ? s + len + 1 : NULL;
	return n == 1 ? ch : 0;
}

/*
 * option: one option ch with its value (NULL when it takes none).  Returns
 * -1 to go on, or the exit status.
 */
static int
option(struct args *a, int ch, const char *value)
{
	switch (ch) {
	case 'c':
		a->cfile = value;
		break;
	case 'o':
		a->output = value;
		break;
	case 'f':
		a->format = value;
		break;
	case 'd':
		if (value[0] < '0' || value[0] > '2' || value[1] != '\0') {
			log_error("-d: debug level must be 0, 1 or 2, not "
			    "\"%.40s\"", value);
			return EX_TEMPFAIL;
		}
		a->debug = value[0] - '0';
		break;
	case 'p':
	case 's':
	case 't':
	case 'S':
		if (a->action != 0 && a->action != ch) {
			log_error("-p, -s, -t and --status exclude each other");
			return EX_TEMPFAIL;
		}
		a->action = ch;
		break;
	case 'V':
		say(1, "clamhook " CLAMHOOK_VERSION "\n");
		return EX_CLEAN;
	case 'h':
		say(1, usage_text);
		return EX_CLEAN;
	default:
		log_error("unknown option -%c", ch);
		return usage_error();
	}
	return -1;
}

/*
 * parse_args: the command line into a, the way getopt_long(3) reads it:
 * "-pd1" is "-p -d 1", "-cFILE" is "-c FILE", options and operands may
 * come in any order, "--" ends the options, "-" alone is an operand
 * (standard input).  The operands are moved to the front of argv + 1, in
 * their order.  Returns -1 to go on, or the exit status (-V, -h, a usage
 * error).
 */
static int
parse_args(int argc, char **argv, struct args *a)
{
	const char *arg, *value;
	int i, n = 0, ch, st;

	a->cfile = getenv("CLAMHOOK_CONFIG");
	if (a->cfile == NULL || *a->cfile == '\0')
		a->cfile = "/etc/clamhook.ini";
	a->output = NULL;
	a->format = NULL;
	a->debug = -1;
	a->action = 0;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0') {
			argv[1 + n++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				argv[1 + n++] = argv[i];
			break;
		}
		if (arg[1] == '-') {
			if ((ch = long_option(arg + 2, &value)) == 0) {
				log_error("unknown option %.60s", arg);
				return usage_error();
			}
			if (!TAKES_VALUE(ch) && value != NULL) {
				log_error("unknown option -%c", ch);
				return usage_error();
			}
			if (TAKES_VALUE(ch) && value == NULL &&
			    (value = argv[++i]) == NULL) {
				log_error("option -%c needs an argument", ch);
				return usage_error();
			}
			if ((st = option(a, ch, value)) >= 0)
				return st;
			continue;
		}
		for (arg++; *arg != '\0'; arg++) {
			ch = *arg;
			value = NULL;
			if (ch == 'S') {	/* --status has no short form */
				log_error("unknown option -S");
				return usage_error();
			}
			if (TAKES_VALUE(ch) && (value = arg[1] != '\0' ?
			    arg + 1 : argv[++i]) == NULL) {
				log_error("option -%c needs an argument", ch);
				return usage_error();
			}
			if ((st = option(a, ch, value)) >= 0)
				return st;
			if (value != NULL)
				break;
		}
	}
	a->files = argv + 1;
	a->nfiles = n;
	if (a->action != 0 && a->nfiles > 0) {
		log_error("-%c takes no FILE", a->action);
		return EX_TEMPFAIL;
	}
	return -1;
}

/*
 * load_config: read the INI, apply -d, -o and -f, check the whole, start the
 * log.  Every problem is reported before a byte of a message is read, and
 * a verdict an earlier run left behind is removed.  Returns -1 to go on,
 * or the exit status (75, or 78 under --check-config).
 */
static int
load_config(const struct args *a)
{
	int bad = a->action == 't' ? EX_CONFIG : EX_TEMPFAIL;
	struct why w;

	if (conf_load(&conf, a->cfile, &w) < 0) {
		log_error("%s", w.text);
		if (a->action == 0)
			drop_stale(a->output);
		return bad;
	}
	if (a->debug >= 0)
		conf.debug = a->debug;
	if (a->output != NULL) {
		if (strlen(a->output) >= sizeof(conf.output) ||
		    *a->output == '\0') {
			log_error("-o: bad destination");
			return bad;
		}
		strcpy(conf.output, a->output);
	}
	if ((a->format != NULL && conf_set(&conf, "-f", "verdict", "format",
	    a->format, &w) < 0) || conf_check(&conf, &w) < 0) {
		log_error("%s", w.text);
		if (a->action == 0)
			drop_stale(conf.output);
		return bad;
	}
	log_init(conf.debug, conf.syslog, conf.ident);
	log_step("config %s read%s", conf.file, conf.sun ?
	    " (Sun option file)" : "");
	return -1;
}

/*
 * map_ring: the ring's storage, made once and touched at once
 * (MAP_POPULATE), so memory is the same for a 1 KiB and a 1 GiB message
 * (SPEC §6).  Returns 0 or -1 (logged).
 */
static int
map_ring(void)
{
	unsigned char *storage = mmap(NULL, (size_t)conf.buffer_size,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
	    -1, 0);

	if (storage == MAP_FAILED) {
		log_error("cannot allocate the %llu-byte ring buffer: %s",
		    (unsigned long long)conf.buffer_size, strerror(errno));
		return -1;
	}
	ring_init(&ring, storage, (size_t)conf.buffer_size);
	return 0;
}

/*
 * abort_run: nothing left behind; every message of the run counts as
 * failed, as the MTA defers them all.  Returns 75.
 */
static int
abort_run(struct run *run)
{
	dest_abort(&out);
	for (int i = 0; i < COUNT_FAILED; i++) {
		run->count[COUNT_FAILED] += run->count[i];
		run->count[i] = 0;
	}
	return EX_TEMPFAIL;
}

/*
 * commit: the verdict committed, or nothing left behind when the run
 * failed (a shell record of a failure is kept, a partly written one
 * never).  Returns the exit status.
 */
static int
commit(struct run *run)
{
	struct why w;

	if (run->status == EX_TEMPFAIL && (conf.format != FORMAT_SHELL ||
	    run->unwritten))
		return abort_run(run);
	block_signals();
	if (dest_commit(&out, &w) < 0) {
		log_error("%s", w.text);
		return abort_run(run);
	}
	log_step("verdict written to %s, exit %d", conf.output, run->status);
	return run->status;
}

/*
 * scan_all: every message of the command line, each to its record in the
 * destination opened (out), then committed, then counted in the state
 * file.  With no pool (no server could be resolved: no_pool says why)
 * every message fails by the usual rules.  Returns the exit status: the
 * worst of the messages.
 */
static int
scan_all(struct pool *pool, const struct why *no_pool, const struct args *a)
{
	struct run run = { .out = &out, .status = EX_CLEAN,
		.batch = a->nfiles > 1 };
	int n = a->nfiles > 0 ? a->nfiles : 1, st;

	if (pool == NULL) {
		for (int i = 0; i < n; i++)
			if (unscanned(&run, a->nfiles > 0 ? a->files[i] : NULL,
			    no_pool) < 0)
				break;
	} else if (a->nfiles > 1) {
		batch_scan(pool, a->files, a->nfiles, &ring, record, &run);
	} else {
		const char *path = a->nfiles == 1 ? a->files[0] : NULL;
		struct link l;
		struct outcome o;

		scan_direct(&l);
		scan_file(pool, &l, path, started, &ring, &o);
		record(&run, path, &o);
	}
	st = commit(&run);
	/* Counted once the run's fate is sealed: one locked update. */
	pool_record(&conf, pool, run.count, started + conf.timeout_ms);
	return st;
}

/*
 * open_dest: the verdict's destination, before anything can wait (names
 * to resolve, a lock), so that from here on a signal leaves no earlier
 * verdict behind.  When it cannot be opened, standard input is still read
 * to its end.  Returns -1 to go on, or the exit status.
 */
static int
open_dest(const struct args *a)
{
	struct why w;

	if (dest_open(&out, conf.output, conf.timeout_ms, &w) == 0)
		return -1;
	log_error("%s", w.text);
	dest_abort(&out);
	if (a->nfiles == 0)
		(void)drain_stdin(NULL);
	for (int i = 0; i < a->nfiles; i++)
		(void)drain_stdin(a->files[i]);
	return EX_TEMPFAIL;
}

/*
 * report: -t, -p or -s, whose output goes to standard output through a
 * buffer of their own (a scan has none on its stack).  Returns the exit
 * status.
 */
static int
report(int action)
{
	struct out out = OUT_INIT(1);

	if (action == 't') {
		conf_print(&conf, &out);
		/* The Sun manual's null verdict: allowed, but say what it does. */
		if (conf.mode == 0 && conf.verdict[0] == '\0')
			log_warn("%s: mode 0 with an empty verdict: an infected "
			    "message gets the same empty record as a clean "
			    "one; only the exit status tells them apart",
			    conf.file);
	}
	if (action == 'p')
		return health_ping(&pool, &out);
	if (action == 's')
		return health_self_test(&pool, &ring, &out);
	if (action == 'S')
		return health_status(&pool, &out);
	return out_flush(&out) == 0 ? EX_CLEAN : EX_TEMPFAIL;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct why w = { .text = "" };
	int st;

	started = io_now();
	ensure_std();
	set_signals();
	if ((st = parse_args(argc, argv, &a)) >= 0)
		return st;
	if ((st = load_config(&a)) >= 0)
		return st;
	if (a.action == 't')
		return report('t');
	if (a.action == 0 && (st = open_dest(&a)) >= 0)
		return st;
	if (map_ring() < 0) {
		if (a.action == 0)
			dest_abort(&out);
		return EX_TEMPFAIL;
	}
	if (pool_init(&pool, &conf, a.action != 0, started + conf.timeout_ms,
	    &w) < 0) {
		if (a.action == 0)
			return scan_all(NULL, &w, &a);
		log_error("%s", w.text);
		return EX_TEMPFAIL;
	}
	if (a.action != 0)
		return report(a.action);
	return scan_all(&pool, &w, &a);
}
