/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_IO_H
#define CLAMHOOK_IO_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Deadlines, not timeouts.  A deadline is an absolute time in milliseconds on
 * CLOCK_MONOTONIC; every blocking helper takes one and never extends it, so a
 * peer that drips one byte a second cannot keep clamhook waiting.
 */
typedef int64_t ms_t;

/*
 * Files are opened without O_CLOEXEC: clamhook runs no other program, and
 * musl's open() pays one more system call (fcntl) for the flag.  Sockets
 * and pipes take it in their own call, which costs nothing.
 */

#define IO_NEVER INT64_MAX

/* io_now: the monotonic clock in milliseconds. */
ms_t io_now(void);

/* io_wall: the time of day, in seconds since the epoch (dead marks). */
long long io_wall(void);

/* io_after: the deadline ms milliseconds from now. */
ms_t io_after(ms_t ms);

/* io_min: the earlier of two deadlines. */
ms_t io_min(ms_t a, ms_t b);

/*
 * io_poll: poll() until one of fds is ready or the deadline passes.  On
 * EINTR the clock is read again and only what is left is waited for.
 * Returns the number of ready descriptors, 0 when the deadline passed, -1 on
 * error (errno set).
 */
int io_poll(struct pollfd *fds, nfds_t n, ms_t deadline);

/*
 * io_wait: io_poll on one descriptor.  Returns its revents (> 0), 0 when the
 * deadline passed, -1 on error.
 */
int io_wait(int fd, short events, ms_t deadline);

/*
 * io_nonblock: set or clear O_NONBLOCK without touching the other flags.
 * Returns 0 or -1 (errno).
 */
int io_nonblock(int fd, int on);

/*
 * io_read: read at most len bytes from fd, waiting until it is readable.
 * Works on blocking and non-blocking descriptors.  Returns the count (> 0),
 * 0 at end of file, -1 on error with errno set (ETIMEDOUT when the deadline
 * passed first).
 */
ssize_t io_read(int fd, void *buf, size_t len, ms_t deadline);

/*
 * io_read_exact: read exactly len bytes.  Returns len, or fewer when end of
 * file came first (the peer closed), or -1 on error (errno; ETIMEDOUT).
 */
ssize_t io_read_exact(int fd, void *buf, size_t len, ms_t deadline);

/*
 * io_write_all: write all len bytes, waiting for POLLOUT as needed.
 * Returns 0, or -1 on error (errno: ETIMEDOUT, EPIPE, ...).
 */
int io_write_all(int fd, const void *buf, size_t len, ms_t deadline);

#endif
