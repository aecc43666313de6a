/* SPDX-License-Identifier: ISC */
/*
 * clamhook: stream one message (or several) to clamd, write the verdict,
 * and tell the MTA hook by the exit status what to do (SPEC §3):
 * 0 clean, 1 infected, 75 anything else, 78 a bad config under -t.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "batch.h"
#include "conf.h"
#include "log.h"
#include "pool.h"
#include "scan.h"
#include "verdict.h"
#include "version.h"

#define EX_CLEAN 0
#define EX_INFECTED 1
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

static struct conf conf;
/* The ring over its storage, allocated once: reachable until exit. */
static struct ring ring;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: clamhook [-c FILE] [-o DEST] [-d N] [FILE...]\n"
	    "       clamhook -p|--ping [-c FILE]\n"
	    "       clamhook -s|--self-test [-c FILE]\n"
	    "       clamhook -t|--check-config [-c FILE]\n"
	    "       clamhook -V|--version | -h|--help\n"
	    "  -c, --config FILE   INI file (default $CLAMHOOK_CONFIG, else "
	    "/etc/clamhook.ini)\n"
	    "  -o, --output DEST   verdict destination: path, FIFO, fd:N or -\n"
	    "  -d, --debug N       0 none, 1 steps, 2 steps and traffic\n"
	    "exit: 0 clean, 1 infected, 75 temporary failure, "
	    "78 invalid config (-t)\n");
}

/* SIGTERM, SIGINT, SIGHUP: no temporary file, no verdict, status 75. */
static void
on_signal(int sig)
{
	static const char msg[] = "clamhook: interrupted by a signal: "
	    "no verdict, temporary failure\n";
	ssize_t n;

	(void)sig;
	verdict_signal_cleanup();
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
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_WRONLY) != fd)
			_exit(EX_TEMPFAIL);
	}
}

/*
 * drop_stale: a scan that fails before its verdict is opened still leaves
 * no verdict of an earlier run at a file destination (§4.3).  out is
 * main()'s, so the signal handler never sees a dead stack frame.
 */
static void
drop_stale(struct verdict_out *out, const char *dest)
{
	struct why w;

	if (dest == NULL || *dest == '\0')
		return;
	(void)verdict_open(out, dest, 0, &w);
	verdict_abort(out);
}

/* What the records of a run have come to. */
struct run {
	struct verdict_out *out;
	int status;		/* worst so far: 75 over 1 over 0 */
	int batch;		/* several files: records carry the name */
	int unwritten;		/* a record could not be written whole */
};

/* record: one message's outcome: log it, render it, write it. */
static int
record(void *ctx, const char *file, struct outcome *o)
{
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
	if (st == EX_TEMPFAIL || (run->status != EX_TEMPFAIL &&
	    st > run->status))
		run->status = st;
	len = verdict_render(&conf, o, run->batch ? file : NULL, rec,
	    sizeof(rec));
	if (len <= 0)
		return 0;
	log_step("verdict: %.*s", len - 1, rec);
	if (verdict_write(run->out, rec, (size_t)len, &w) < 0) {
		log_error("%s", w.text);
		run->status = EX_TEMPFAIL;
		run->unwritten = 1;
		return -1;
	}
	return 0;
}

/*
 * unscanned: the outcome of a message no server can be asked about: an
 * error, after reading standard input to its end so that the process
 * feeding clamhook sees no broken pipe.
 */
static int
unscanned(struct run *run, const char *path, const struct why *why)
{
	struct outcome o;
	struct input in;
	struct why ignored;

	memset(&o, 0, sizeof(o));
	o.result = RESULT_ERROR;
	verdict_sanitize(o.error, why->text, strlen(why->text));
	if ((path == NULL || strcmp(path, "-") == 0) &&
	    input_open(&in, NULL, 0, &ignored) == 0) {
		input_drain(&in, io_after(conf.timeout_ms), &ignored);
		o.bytes = in.total;
	}
	return record(run, path, &o);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "debug", required_argument, NULL, 'd' },
		{ "ping", no_argument, NULL, 'p' },
		{ "self-test", no_argument, NULL, 's' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfile = getenv("CLAMHOOK_CONFIG"), *output = NULL;
	int debug = -1, action = 0, ch, status, nfiles;
	unsigned char *storage;
	struct pool pool;
	struct verdict_out out;
	struct run run;
	struct why w, pool_why;
	int pool_ok;

	ensure_std();
	set_signals();
	if (cfile == NULL || *cfile == '\0')
		cfile = "/etc/clamhook.ini";
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:o:d:pstVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
			if (optarg[0] < '0' || optarg[0] > '2' ||
			    optarg[1] != '\0') {
				log_error("-d: debug level must be 0, 1 or 2, "
				    "not \"%.40s\"", optarg);
				return EX_TEMPFAIL;
			}
			debug = optarg[0] - '0';
			break;
		case 'p':
		case 's':
		case 't':
			if (action != 0 && action != ch) {
				log_error("-p, -s and -t exclude each other");
				return EX_TEMPFAIL;
			}
			action = ch;
			break;
		case 'V':
			printf("clamhook %s\n", CLAMHOOK_VERSION);
			return EX_CLEAN;
		case 'h':
			usage(stdout);
			return EX_CLEAN;
		case ':':
			log_error("option -%c needs an argument", optopt);
			usage(stderr);
			return EX_TEMPFAIL;
		default:
			if (optopt != 0)
				log_error("unknown option -%c", optopt);
			else
				log_error("unknown option %.60s",
				    argv[optind - 1]);
			usage(stderr);
			return EX_TEMPFAIL;
		}
	}
	nfiles = argc - optind;
	if (action != 0 && nfiles > 0) {
		log_error("-%c takes no FILE", action);
		return EX_TEMPFAIL;
	}

	/* Configuration: every problem is reported before a byte is read. */
	if (conf_load(&conf, cfile, &w) < 0) {
		log_error("%s", w.text);
		if (action == 0)
			drop_stale(&out, output);
		return action == 't' ? EX_CONFIG : EX_TEMPFAIL;
	}
	if (debug >= 0)
		conf.debug = debug;
	if (output != NULL) {
		if (strlen(output) >= sizeof(conf.output) || *output == '\0') {
			log_error("-o: bad destination");
			return action == 't' ? EX_CONFIG : EX_TEMPFAIL;
		}
		strcpy(conf.output, output);
	}
	if (conf_check(&conf, &w) < 0) {
		log_error("%s", w.text);
		if (action == 0)
			drop_stale(&out, conf.output);
		return action == 't' ? EX_CONFIG : EX_TEMPFAIL;
	}
	log_init(conf.debug, conf.syslog, conf.ident);
	log_step("config %s read%s", conf.file, conf.sun ?
	    " (Sun option file)" : "");
	if (action == 't') {
		conf_print(&conf, stdout);
		return fflush(stdout) == 0 ? EX_CLEAN : EX_TEMPFAIL;
	}

	/*
	 * The ring's storage, made once and touched at once (MAP_POPULATE):
	 * memory is the same for a 1 KiB and a 1 GiB message (SPEC §6).
	 */
	storage = mmap(NULL, (size_t)conf.buffer_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (storage == MAP_FAILED) {
		log_error("cannot allocate the %llu-byte ring buffer: %s",
		    (unsigned long long)conf.buffer_size, strerror(errno));
		if (action == 0)
			drop_stale(&out, conf.output);
		return EX_TEMPFAIL;
	}
	ring_init(&ring, storage, (size_t)conf.buffer_size);

	pool_ok = pool_init(&pool, &conf, &pool_why) == 0;
	if (!pool_ok && action != 0) {
		log_error("%s", pool_why.text);
		return EX_TEMPFAIL;
	}
	if (action == 'p')
		return scan_ping(&pool);
	if (action == 's')
		return scan_self_test(&pool, &ring);

	if (verdict_open(&out, conf.output, conf.timeout_ms, &w) < 0) {
		log_error("%s", w.text);
		verdict_abort(&out);
		return EX_TEMPFAIL;
	}
	run.out = &out;
	run.status = EX_CLEAN;
	run.batch = nfiles > 1;
	run.unwritten = 0;
	if (!pool_ok) {
		/* No server to ask: every message fails, by the usual rules. */
		for (int i = 0; i < (nfiles > 0 ? nfiles : 1); i++)
			if (unscanned(&run, nfiles > 0 ? argv[optind + i] : NULL,
			    &pool_why) < 0)
				break;
	} else if (nfiles > 1) {
		batch_scan(&pool, argv + optind, nfiles, &ring, record, &run);
	} else {
		const char *path = nfiles == 1 ? argv[optind] : NULL;
		struct input in;
		struct outcome o;

		if (input_open(&in, path, conf.max_size, &w) < 0) {
			memset(&o, 0, sizeof(o));
			o.result = RESULT_ERROR;
			verdict_sanitize(o.error, w.text, strlen(w.text));
		} else {
			scan_message(&pool, &in, &ring, &o);
			input_close(&in);
		}
		record(&run, path, &o);
	}
	status = run.status;
	/* A shell record of a failure is kept, a partly written one never. */
	if (status == EX_TEMPFAIL && (conf.format != FORMAT_SHELL ||
	    run.unwritten)) {
		verdict_abort(&out);
		return EX_TEMPFAIL;
	}
	block_signals();
	if (verdict_commit(&out, &w) < 0) {
		log_error("%s", w.text);
		verdict_abort(&out);
		return EX_TEMPFAIL;
	}
	log_step("verdict written to %s, exit %d", conf.output, status);
	return status;
}
