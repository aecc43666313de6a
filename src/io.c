/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

/*
 * read_clock: the system call itself, not the vDSO.  clamhook reads the clock
 * a few dozen times a run; musl's first vDSO call looks the symbol up and
 * maps the vDSO's data page, which costs more than all those calls (about
 * 100 us of a 2 ms run under a virtual machine monitor: README,
 * Performance).
 */
static void
read_clock(clockid_t id, struct timespec *ts)
{
#ifdef SYS_clock_gettime
	if (syscall(SYS_clock_gettime, id, ts) != 0)
		ts->tv_sec = ts->tv_nsec = 0;
#else
	/* 32-bit musl, 64-bit time_t: the C library picks the right call. */
	if (clock_gettime(id, ts) != 0)
		ts->tv_sec = ts->tv_nsec = 0;
#endif
}

ms_t
io_now(void)
{
	struct timespec ts;

	read_clock(CLOCK_MONOTONIC, &ts);
	return (ms_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
io_wall(void)
{
	struct timespec ts;

	read_clock(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

ms_t
io_after(ms_t ms)
{
	return io_now() + ms;
}

ms_t
io_min(ms_t a, ms_t b)
{
	return a < b ? a : b;
}

int
io_poll(struct pollfd *fds, nfds_t n, ms_t deadline)
{
	for (;;) {
		ms_t left = deadline == IO_NEVER ? -1 : deadline - io_now();
		int r;

		if (deadline != IO_NEVER && left < 0)
			left = 0;
		if (left > 86400000)
			left = 86400000;
		r = poll(fds, n, (int)left);
		if (r >= 0) {
			if (r == 0 && deadline != IO_NEVER && io_now() < deadline)
				continue;	/* woke early: wait for the rest */
			return r;
		}
		if (errno != EINTR)
			return -1;
	}
}

int
io_wait(int fd, short events, ms_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = io_poll(&p, 1, deadline);

	return r > 0 ? p.revents : r;
}

int
io_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (on ? (fl & O_NONBLOCK) != 0 : (fl & O_NONBLOCK) == 0)
		return 0;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

ssize_t
io_read(int fd, void *buf, size_t len, ms_t deadline)
{
	for (;;) {
		ssize_t n;
		int r = io_wait(fd, POLLIN, deadline);

		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

ssize_t
io_read_exact(int fd, void *buf, size_t len, ms_t deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = io_read(fd, (char *)buf + got, len - got, deadline);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
io_write_all(int fd, const void *buf, size_t len, ms_t deadline)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n < 0 && errno == EAGAIN) {
			int r = io_wait(fd, POLLOUT, deadline);

			if (r < 0)
				return -1;
			if (r == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
	}
	return 0;
}
