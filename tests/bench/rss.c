/* SPDX-License-Identifier: ISC */
/*
 * rss OUTFILE CMD...: run CMD as a traced child and, when it exits (its
 * memory still mapped: PTRACE_EVENT_EXIT), write "VmHWM RssAnon RssFile"
 * from /proc/PID/status, in KiB, to OUTFILE ("-1 -1 -1" when unreadable).
 * Exits as CMD did.  The child's own figures: wait4's ru_maxrss would
 * carry the forking parent's high-water mark across execve.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static long
field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p == NULL ? -1 : strtol(p + strlen(name), NULL, 10);
}

static void
report(pid_t pid, long v[3])
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	v[0] = field(buf, "VmHWM:");
	v[1] = field(buf, "RssAnon:");
	v[2] = field(buf, "RssFile:");
}

int
main(int argc, char **argv)
{
	long v[3] = { -1, -1, -1 };
	pid_t pid;
	int st, sig, fd;

	if (argc < 3)
		return 126;
	if ((pid = fork()) == -1)
		return 126;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1)
			_exit(126);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, &st, 0) == -1) {
			if (errno == EINTR)
				continue;
			return 126;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		sig = WSTOPSIG(st);
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			report(pid, v);
			sig = 0;
		} else if (sig == SIGTRAP) {
			/* The stop after execve: from now on, report the exit. */
			ptrace(PTRACE_SETOPTIONS, pid, NULL,
			    (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
			sig = 0;
		}
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	if ((fd = open(argv[1], O_WRONLY | O_TRUNC)) != -1) {
		dprintf(fd, "%ld %ld %ld\n", v[0], v[1], v[2]);
		close(fd);
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
