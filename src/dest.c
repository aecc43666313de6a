/* SPDX-License-Identifier: ISC */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dest.h"

#define TMP_TRIES 64   /* names tried before giving up on EEXIST */
#define TMP_SUFFIX 6   /* random characters after ".NAME." */
#define FIFO_NAP_MS 25 /* between opens of a FIFO with no reader */
#define TICK_MS 50     /* a blocked write is interrupted this often */

_Static_assert(2 + TMP_SUFFIX == CONF_TMP_EXTRA, "conf.c checks the names");

/*
 * The temporary file of the current destination, for the signal handler.
 * Points into that struct dest while a temporary exists, NULL otherwise.
 */
static const char *volatile sig_tmp;

/*
 * The final path of a file destination until the verdict is committed: a
 * signal before then removes what an earlier run left there (fail closed).
 */
static const char *volatile sig_path;


static int
open_fd(struct dest *v, int fd, struct why *w)
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
	uint64_t x = 0, now = (uint64_t)io_now();
	int i;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x))
		x = 0;
	x = mix64(x ^ mix64(now ^ (uint64_t)getpid() << 40 ^ try ^
	    (uintptr_t)p));
	for (i = 0; i < TMP_SUFFIX; i++) {
		p[i] = set[x % (sizeof(set) - 1)];
		x /= sizeof(set) - 1;
	}
}

/* Create ".BASE.XXXXXX" beside v->path, mode 0644 less the umask. */
static int
open_tmp(struct dest *v, struct why *w)
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
		sigset_t term, old;

		tmp_suffix(v->tmp + dirlen + 1 + baselen + 1, try);
		/* Created and named for the handler with no signal between. */
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigaddset(&term, SIGINT);
		sigaddset(&term, SIGHUP);
		sigprocmask(SIG_BLOCK, &term, &old);
		v->fd = open(v->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
		err = errno;
		if (v->fd != -1)
			sig_tmp = v->tmp;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (v->fd != -1)
			return 0;
		if (err != EEXIST && err != EINTR)
			break;
	}
	v->tmp[0] = '\0';
	return why_errno(w, err, "verdict %s: cannot create temporary file",
	    v->path);
}

static void
drop_tmp(struct dest *v)
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
dest_open(struct dest *v, const char *dest, unsigned timeout_ms,
    struct why *w)
{
	struct stat st;
	size_t len = strlen(dest);
	int fd;

	/* A descriptor until known otherwise: dest_abort leaves it be. */
	v->kind = DEST_FD;
	v->path = dest;
	v->fd = -1;
	v->timeout_ms = timeout_ms;
	v->deadline = io_after(timeout_ms);
	v->follow = 0;
	if (strcmp(dest, "-") == 0) {
		v->path = "standard output";
		return open_fd(v, STDOUT_FILENO, w);
	}
	if (strncmp(dest, "fd:", 3) == 0) {
		if (parse_fd(dest + 3, &fd) == -1)
			return why_set(w,
			    "verdict %.32s: bad descriptor number", dest);
		return open_fd(v, fd, w);
	}
	if (len == 0)
		return why_set(w, "verdict: empty destination");
	if (len >= sizeof(v->tmp))
		return why_set(w, "verdict %.64s...: path too long", dest);
	v->tmp[0] = '\0';
	if (lstat(dest, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return why_set(w, "verdict %s: is a directory", dest);
		/* /dev/stdout, /dev/console: written through the link. */
		v->follow = S_ISLNK(st.st_mode);
		if (v->follow && stat(dest, &st) < 0)
			st.st_mode = S_IFREG;
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			v->kind = DEST_FIFO;
			return 0;
		}
		v->follow = 0;
	}
	v->kind = DEST_FILE;
	/* Until it is committed, a signal removes an earlier verdict. */
	sig_path = v->path;
	return open_tmp(v, w);
}

static void
nap(ms_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * timed_write: write(2) that ends by the deadline even on a blocking
 * descriptor: an interval timer interrupts it every TICK_MS (a timer that
 * fired before the write began is followed by the next), and the deadline
 * is checked each time.  Returns what write(2) returns; -1 with ETIMEDOUT
 * at the deadline.
 */
static void
on_tick(int sig)
{
	(void)sig;
}

static ssize_t
timed_write(int fd, const void *p, size_t len, ms_t deadline)
{
	static int ready;
	struct itimerval it = { { 0, TICK_MS * 1000 }, { 0, TICK_MS * 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	ssize_t n;
	int err;

	if (!ready) {
		struct sigaction sa;

		/* No SA_RESTART: the tick must end a blocked write. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_tick;
		sigaction(SIGALRM, &sa, NULL);
		ready = 1;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	while ((n = write(fd, p, len)) < 0 && errno == EINTR &&
	    io_now() < deadline)
		continue;
	err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	if (n < 0 && err == EINTR)
		err = ETIMEDOUT;
	errno = err;
	return n;
}

/*
 * Open the FIFO (or device) for writing.  Non-blocking, open(2) of a FIFO
 * fails with ENXIO while no reader has it open: try again every
 * FIFO_NAP_MS until the deadline.  Then make it blocking so the record
 * goes in one write(2).
 */
static int
open_fifo(struct dest *v, struct why *w)
{
	struct stat st;
	int fd, err;

	for (;;) {
		ms_t left;

		fd = open(v->path, O_WRONLY | O_NONBLOCK | O_NOCTTY |
		    (v->follow ? 0 : O_NOFOLLOW));
		if (fd != -1)
			break;
		if (errno == EINTR)
			continue;
		if (errno != ENXIO)
			return why_errno(w, errno,
			    "verdict %s: cannot open the FIFO", v->path);
		if ((left = v->deadline - io_now()) <= 0)
			return why_set(w,
			    "verdict %s: no reader on the FIFO after %u ms",
			    v->path, v->timeout_ms);
		nap(io_min(left, FIFO_NAP_MS));
	}
	if (fstat(fd, &st) == -1 || !(S_ISFIFO(st.st_mode) ||
	    S_ISCHR(st.st_mode))) {
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
write_fifo(struct dest *v, const char *rec, size_t len, struct why *w)
{
	ssize_t n;

	if (v->fd == -1 && open_fifo(v, w) == -1)
		return -1;
	n = timed_write(v->fd, rec, len, v->deadline);
	if (n == -1 && errno == EPIPE)
		return why_set(w, "verdict %s: the reader closed the FIFO",
		    v->path);
	if (n == -1 && errno == ETIMEDOUT)
		return why_set(w, "verdict %s: not writable after %u ms",
		    v->path, v->timeout_ms);
	if (n == -1)
		return why_errno(w, errno, "verdict %s: cannot write", v->path);
	if ((size_t)n != len)
		return why_set(w, "verdict %s: short write (%zd of %zu bytes)",
		    v->path, n, len);
	return 0;
}

/* write_fd: all of rec to a descriptor, blocking or not, by the deadline. */
static int
write_fd(struct dest *v, const char *rec, size_t len, struct why *w)
{
	while (len > 0) {
		ssize_t n = timed_write(v->fd, rec, len, v->deadline);

		if (n < 0 && errno == EAGAIN) {
			if (io_wait(v->fd, POLLOUT, v->deadline) > 0)
				continue;
			errno = ETIMEDOUT;
		}
		if (n < 0 && errno == ETIMEDOUT)
			return why_set(w, "verdict %s: not writable after %u ms",
			    v->path, v->timeout_ms);
		if (n < 0)
			return why_errno(w, errno, "verdict %s: cannot write",
			    v->path);
		rec += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_file(struct dest *v, const char *rec, size_t len, struct why *w)
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
dest_write(struct dest *v, const char *rec, size_t len, struct why *w)
{
	if (len == 0)
		return 0;
	switch (v->kind) {
	case DEST_FIFO:
		return write_fifo(v, rec, len, w);
	case DEST_FD:
		return write_fd(v, rec, len, w);
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
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return;
	fsync(fd);
	close(fd);
}

int
dest_commit(struct dest *v, struct why *w)
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
dest_abort(struct dest *v)
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
dest_signal_cleanup(void)
{
	const char *p = sig_tmp, *q = sig_path;

	if (p != NULL && p[0] != '\0')
		unlink(p);
	if (q != NULL && q[0] != '\0')
		unlink(q);
}
