/* SPDX-License-Identifier: ISC */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "verdict.h"
#include "version.h"

#define TMP_TRIES 64   /* names tried before giving up on EEXIST */
#define TMP_SUFFIX 6   /* random characters after ".NAME." */
#define FIFO_NAP_MS 25 /* between opens of a FIFO with no reader */

/*
 * The temporary file of the current verdict_out, for the signal handler.
 * Points into that verdict_out while a temporary exists, NULL otherwise.
 */
static const char *volatile sig_tmp;

/*
 * The final path of a file destination until the verdict is committed: a
 * signal before then removes what an earlier run left there (fail closed).
 */
static const char *volatile sig_path;

/*
 * A record under construction: buf[0..len) with room for a NUL kept back.
 * Once full, every later append is dropped and render fails as a whole.
 */
struct rec {
	char *buf;
	size_t room;
	size_t len;
	int full;
};

static void
put(struct rec *r, const char *s, size_t n)
{
	if (r->full || n > r->room - r->len) {
		r->full = 1;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void
put_str(struct rec *r, const char *s)
{
	put(r, s, strlen(s));
}

/*
 * put_text: append s (size bytes at most, up to a NUL) reduced to printable
 * ASCII and to max bytes; with shq, each single quote becomes '\'' so the
 * text can sit between single quotes in sh(1).
 */
static void
put_text(struct rec *r, const char *s, size_t size, size_t max, int shq)
{
	size_t i;

	for (i = 0; i < size && i < max && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7e)
			ch = '?';
		if (shq && ch == '\'')
			put(r, "'\\''", 4);
		else
			put(r, (const char *)&ch, 1);
	}
}

static void
put_u64(struct rec *r, uint64_t n)
{
	char d[24];

	put(r, d,
	    (size_t)fmt_s(d, sizeof(d), "%llu", (unsigned long long)n));
}

static void
put_i64(struct rec *r, int64_t n)
{
	char d[24];

	put(r, d, (size_t)fmt_s(d, sizeof(d), "%lld", (long long)n));
}

/* The file name and a TAB that start each line for several files (§5.4). */
static void
put_prefix(struct rec *r, const char *file)
{
	if (file == NULL)
		return;
	put_text(r, file, SIZE_MAX, OUTCOME_TEXT_MAX, 0);
	put(r, "\t", 1);
}

/* The result string (§4.1): "FIELD: False", "FIELD: True ; NAME". */
static void
put_result(struct rec *r, const struct conf *c, const struct outcome *o,
    int shq)
{
	put_text(r, c->field, sizeof(c->field), OUTCOME_TEXT_MAX, shq);
	if (c->field[0] != '\0')
		put(r, ": ", 2);
	if (o->result == RESULT_INFECTED) {
		put_str(r, "True ; ");
		put_text(r, o->virus, sizeof(o->virus), OUTCOME_TEXT_MAX, shq);
	} else
		put_str(r, "False");
}

/*
 * The mode's string (§4.1).  Partial and skipped count as clean; an error
 * reached no verdict and has none.  A mode outside 0..3 reads as 1, the
 * default.
 */
static void
put_verdict(struct rec *r, const struct conf *c, const struct outcome *o,
    int shq)
{
	int infected = o->result == RESULT_INFECTED;

	if (o->result == RESULT_ERROR)
		return;
	switch (c->mode) {
	case 0:
		if (infected)
			put_text(r, c->verdict, sizeof(c->verdict),
			    OUTCOME_TEXT_MAX, shq);
		break;
	case 2:
		put_result(r, c, o, shq);
		break;
	case 3:
		if (infected)
			put_result(r, c, o, shq);
		else
			put_text(r, c->verdict, sizeof(c->verdict),
			    OUTCOME_TEXT_MAX, shq);
		break;
	default:
		if (infected)
			put_result(r, c, o, shq);
		break;
	}
}

static const char *
result_name(enum outcome_result res)
{
	switch (res) {
	case RESULT_CLEAN:
		return "clean";
	case RESULT_INFECTED:
		return "infected";
	case RESULT_PARTIAL:
		return "partial";
	case RESULT_SKIPPED:
		return "skipped";
	default:
		return "error";
	}
}

/* One KEY='value' line; value is a C string of at most size bytes. */
static void
put_var(struct rec *r, const char *key, const char *value, size_t size,
    size_t max)
{
	put_str(r, key);
	put(r, "='", 2);
	put_text(r, value, size, max, 1);
	put(r, "'\n", 2);
}

static void
render_shell(struct rec *r, const struct conf *c, const struct outcome *o,
    const char *file)
{
	if (file != NULL)
		put_var(r, "CLAMHOOK_FILE", file, SIZE_MAX, OUTCOME_TEXT_MAX);
	put_var(r, "CLAMHOOK_RESULT", result_name(o->result), SIZE_MAX,
	    OUTCOME_TEXT_MAX);
	put_var(r, "CLAMHOOK_VIRUS", o->virus, sizeof(o->virus),
	    OUTCOME_TEXT_MAX);
	put_str(r, "CLAMHOOK_VERDICT='");
	put_verdict(r, c, o, 1);
	put(r, "'\n", 2);
	put_var(r, "CLAMHOOK_SERVER", o->server, sizeof(o->server),
	    sizeof(o->server) - 1);
	put_str(r, "CLAMHOOK_BYTES='");
	put_u64(r, o->bytes);
	put_str(r, "'\nCLAMHOOK_SENT='");
	put_u64(r, o->sent);
	put_str(r, "'\nCLAMHOOK_MS='");
	put_i64(r, o->ms);
	put(r, "'\n", 2);
	put_var(r, "CLAMHOOK_ERROR", o->error, sizeof(o->error),
	    OUTCOME_TEXT_MAX);
}

static void
render_milter(struct rec *r, const struct outcome *o, const char *file)
{
	put_prefix(r, file);
	put_str(r, "X-Virus-Scanned: clamhook ");
	put_text(r, CLAMHOOK_VERSION, SIZE_MAX, OUTCOME_TEXT_MAX, 0);
	put(r, "\n", 1);
	put_prefix(r, file);
	put_str(r, "X-Virus-Status: ");
	switch (o->result) {
	case RESULT_INFECTED:
		put_str(r, "Infected (");
		put_text(r, o->virus, sizeof(o->virus), OUTCOME_TEXT_MAX, 0);
		put(r, ")", 1);
		break;
	case RESULT_PARTIAL:
		put_str(r, "Clean (partial)");
		break;
	case RESULT_SKIPPED:
		put_str(r, "Not scanned (oversize)");
		break;
	default:
		put_str(r, "Clean");
		break;
	}
	put(r, "\n", 1);
}

void
verdict_sanitize(char *dst, const char *src, size_t n)
{
	size_t i;

	if (n > OUTCOME_TEXT_MAX)
		n = OUTCOME_TEXT_MAX;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
	}
	dst[n] = '\0';
}

int
verdict_status(const struct conf *c, const struct outcome *o)
{
	switch (o->result) {
	case RESULT_CLEAN:
	case RESULT_PARTIAL:
	case RESULT_SKIPPED:
		return 0;
	case RESULT_INFECTED:
		return 1;
	default:
		return c->on_error == ON_ERROR_ACCEPT ? 0 : 75;
	}
}

int
verdict_render(const struct conf *c, const struct outcome *o, const char *file,
    char *buf, size_t cap)
{
	struct rec r = { buf, cap > 0 ? cap - 1 : 0, 0, cap == 0 };

	if (c->format == FORMAT_SHELL)
		render_shell(&r, c, o, file);
	else if (o->result == RESULT_ERROR)
		;
	else if (c->format == FORMAT_MILTER)
		render_milter(&r, o, file);
	else if (c->format == FORMAT_JAMES) {
		put_prefix(&r, file);
		put_str(&r,
		    o->result == RESULT_INFECTED ?
			"X-MessageIsInfected: true\n" :
			"X-MessageIsInfected: false\n");
	} else {
		put_prefix(&r, file);
		put_verdict(&r, c, o, 0);
		put(&r, "\n", 1);
	}
	if (r.full || r.len > INT_MAX)
		return -1;
	buf[r.len] = '\0';
	return (int)r.len;
}

/*
 * Destinations.
 */

static int
open_fd(struct verdict_out *v, int fd, struct why *w)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return why_errno(w, errno, "verdict %s", v->path);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return why_set(w, "verdict %s: not open for writing", v->path);
	v->fd = fd;
	return 0;
}

/* "fd:N": N decimal, 0..INT_MAX, nothing after it. */
static int
parse_fd(const char *s, int *fd)
{
	long long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > INT_MAX)
			return -1;
	}
	*fd = (int)n;
	return 0;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Fill the TMP_SUFFIX characters at p.  O_EXCL makes a guessed name
 * harmless; the randomness only keeps a hostile neighbour in a shared
 * directory from making every try collide.
 */
static void
tmp_suffix(char *p, unsigned try)
{
	static const char set[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	struct timespec ts;
	uint64_t x = 0;
	int i;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x))
		x = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = mix64(x ^
	    mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
		(uint64_t)getpid() << 40 ^ try ^ (uintptr_t)p));
	for (i = 0; i < TMP_SUFFIX; i++) {
		p[i] = set[x % (sizeof(set) - 1)];
		x /= sizeof(set) - 1;
	}
}

/* Create ".BASE.XXXXXX" beside v->path, mode 0644 less the umask. */
static int
open_tmp(struct verdict_out *v, struct why *w)
{
	const char *slash = strrchr(v->path, '/');
	size_t dirlen = slash != NULL ? (size_t)(slash - v->path) + 1 : 0;
	const char *base = v->path + dirlen;
	size_t baselen = strlen(base);
	unsigned try;
	int err = EEXIST;

	if (baselen == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return why_set(w, "verdict %s: not a file name", v->path);
	if (dirlen + 1 + baselen + 1 + TMP_SUFFIX >= sizeof(v->tmp))
		return why_set(w, "verdict %s: path too long", v->path);
	memcpy(v->tmp, v->path, dirlen);
	v->tmp[dirlen] = '.';
	memcpy(v->tmp + dirlen + 1, base, baselen);
	v->tmp[dirlen + 1 + baselen] = '.';
	v->tmp[dirlen + 1 + baselen + 1 + TMP_SUFFIX] = '\0';
	for (try = 0; try < TMP_TRIES; try++) {
		tmp_suffix(v->tmp + dirlen + 1 + baselen + 1, try);
		v->fd = open(v->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (v->fd != -1) {
			sig_tmp = v->tmp;
			sig_path = v->path;
			return 0;
		}
		err = errno;
		if (err != EEXIST && err != EINTR)
			break;
	}
	v->tmp[0] = '\0';
	return why_errno(w, err, "verdict %s: cannot create temporary file",
	    v->path);
}

static void
drop_tmp(struct verdict_out *v)
{
	if (v->fd != -1) {
		close(v->fd);
		v->fd = -1;
	}
	if (v->tmp[0] != '\0') {
		unlink(v->tmp);
		sig_tmp = NULL;
		v->tmp[0] = '\0';
	}
}

int
verdict_open(struct verdict_out *v, const char *dest, unsigned timeout_ms,
    struct why *w)
{
	struct stat st;
	size_t len = strlen(dest);
	int fd;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->timeout_ms = timeout_ms;
	if (strcmp(dest, "-") == 0) {
		v->kind = DEST_FD;
		strcpy(v->path, "standard output");
		return open_fd(v, STDOUT_FILENO, w);
	}
	if (strncmp(dest, "fd:", 3) == 0) {
		v->kind = DEST_FD;
		if (len >= sizeof(v->path) || parse_fd(dest + 3, &fd) == -1)
			return why_set(w,
			    "verdict %.32s: bad descriptor number", dest);
		memcpy(v->path, dest, len + 1);
		return open_fd(v, fd, w);
	}
	if (len == 0)
		return why_set(w, "verdict: empty destination");
	if (len >= sizeof(v->path))
		return why_set(w, "verdict %.64s...: path too long", dest);
	memcpy(v->path, dest, len + 1);
	if (lstat(dest, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return why_set(w, "verdict %s: is a directory", dest);
		if (S_ISFIFO(st.st_mode)) {
			v->kind = DEST_FIFO;
			return 0;
		}
	}
	v->kind = DEST_FILE;
	return open_tmp(v, w);
}

static void
nap(ms_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Open the FIFO for writing.  Non-blocking, open(2) fails with ENXIO while
 * no reader has it open: try again every FIFO_NAP_MS until timeout_ms has
 * passed.  Then make it blocking so the record goes in one write(2).
 */
static int
open_fifo(struct verdict_out *v, struct why *w)
{
	ms_t deadline = io_after(v->timeout_ms);
	struct stat st;
	int fd, err;

	for (;;) {
		ms_t left;

		fd = open(v->path,
		    O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd != -1)
			break;
		if (errno == EINTR)
			continue;
		if (errno != ENXIO)
			return why_errno(w, errno,
			    "verdict %s: cannot open the FIFO", v->path);
		if ((left = deadline - io_now()) <= 0)
			return why_set(w,
			    "verdict %s: no reader on the FIFO after %u ms",
			    v->path, v->timeout_ms);
		nap(io_min(left, FIFO_NAP_MS));
	}
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return why_set(w, "verdict %s: no longer a FIFO", v->path);
	}
	if (io_nonblock(fd, 0) == -1) {
		err = errno;
		close(fd);
		return why_errno(w, err, "verdict %s", v->path);
	}
	v->fd = fd;
	return 0;
}

static int
write_fifo(struct verdict_out *v, const char *rec, size_t len, struct why *w)
{
	ssize_t n;

	if (v->fd == -1 && open_fifo(v, w) == -1)
		return -1;
	while ((n = write(v->fd, rec, len)) == -1 && errno == EINTR)
		;
	if (n == -1 && errno == EPIPE)
		return why_set(w, "verdict %s: the reader closed the FIFO",
		    v->path);
	if (n == -1)
		return why_errno(w, errno, "verdict %s: cannot write", v->path);
	if ((size_t)n != len)
		return why_set(w, "verdict %s: short write (%zd of %zu bytes)",
		    v->path, n, len);
	return 0;
}

static int
write_file(struct verdict_out *v, const char *rec, size_t len, struct why *w)
{
	while (len > 0) {
		ssize_t n = write(v->fd, rec, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return why_errno(w, errno,
			    "verdict %s: cannot write temporary file", v->path);
		rec += n;
		len -= (size_t)n;
	}
	return 0;
}

int
verdict_write(struct verdict_out *v, const char *rec, size_t len, struct why *w)
{
	if (len == 0)
		return 0;
	switch (v->kind) {
	case DEST_FIFO:
		return write_fifo(v, rec, len, w);
	case DEST_FD:
		if (io_write_all(v->fd, rec, len, io_after(v->timeout_ms)) == 0)
			return 0;
		if (errno == ETIMEDOUT)
			return why_set(w,
			    "verdict %s: not writable after %u ms", v->path,
			    v->timeout_ms);
		return why_errno(w, errno, "verdict %s: cannot write", v->path);
	default:
		if (v->fd == -1)
			return why_set(w, "verdict %s: not open", v->path);
		return write_file(v, rec, len, w);
	}
}

/* Best effort: make the rename itself durable. */
static void
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	fsync(fd);
	close(fd);
}

int
verdict_commit(struct verdict_out *v, struct why *w)
{
	int err;

	if (v->kind == DEST_FD)
		return 0;
	if (v->kind == DEST_FIFO) {
		if (v->fd != -1 && close(v->fd) == -1 && errno != EINTR) {
			err = errno;
			v->fd = -1;
			return why_errno(w, err, "verdict %s", v->path);
		}
		v->fd = -1;
		return 0;
	}
	if (v->fd == -1 || v->tmp[0] == '\0')
		return why_set(w, "verdict %s: not open", v->path);
	if (fsync(v->fd) == -1) {
		err = errno;
		drop_tmp(v);
		return why_errno(w, err,
		    "verdict %s: cannot sync temporary file", v->path);
	}
	err = close(v->fd) == -1 && errno != EINTR ? errno : 0;
	v->fd = -1;
	if (err != 0) {
		drop_tmp(v);
		return why_errno(w, err,
		    "verdict %s: cannot close temporary file", v->path);
	}
	if (rename(v->tmp, v->path) == -1) {
		err = errno;
		drop_tmp(v);
		return why_errno(w, err,
		    "verdict %s: cannot rename temporary file", v->path);
	}
	sig_tmp = NULL;
	sig_path = NULL;
	v->tmp[0] = '\0';
	sync_dir(v->path);
	return 0;
}

void
verdict_abort(struct verdict_out *v)
{
	struct stat st;

	if (v->kind == DEST_FD)
		return;
	drop_tmp(v);
	sig_path = NULL;	/* v may be gone before the process is */
	if (v->kind == DEST_FILE && v->path[0] != '\0' &&
	    lstat(v->path, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(v->path);
}

void
verdict_signal_cleanup(void)
{
	const char *p = sig_tmp, *q = sig_path;

	if (p != NULL && p[0] != '\0')
		unlink(p);
	if (q != NULL && q[0] != '\0')
		unlink(q);
}
