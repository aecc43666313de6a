/* SPDX-License-Identifier: ISC */
/*
 * spawn: time commands against each other, one message each, the way an
 * MTA hook runs them: posix_spawn, standard input from a file, wait.
 *
 *	spawn ROUNDS INPUT CMD [ARG...] [-- CMD [ARG...]]...
 *
 * Each round runs every command once, the order rotated from round to
 * round, so a change of load on the machine hits each command alike; a
 * run is timed on CLOCK_MONOTONIC from before posix_spawn to after
 * wait4.  Prints, per command, "cmd K median_us MEDIAN min_us MIN cpu_us
 * CPU ratio RATIO": the median and least wall time, the median CPU time
 * (user and system), and RATIO, the median over the rounds of its wall
 * time over the first command's in the same round; then "status K S" for any run whose
 * exit status differed from its first run's.  Exits 0, or 2 on misuse.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8
#define MAX_ROUNDS 10000

extern char **environ;

static double us[MAX_CMDS][MAX_ROUNDS], cpu[MAX_CMDS][MAX_ROUNDS];
static double ratio[MAX_CMDS][MAX_ROUNDS];

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * run: one command, standard input from input; its status, its wall time
 * and its CPU time (user and system) in microseconds.
 */
static int
run(char **argv, const char *input, double *took, double *used)
{
	struct rusage ru;
	posix_spawn_file_actions_t fa;
	double t0;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		perror(argv[0]);
		exit(2);
	}
	while (wait4(pid, &st, 0, &ru) < 0)
		continue;
	*took = now_us() - t0;
	*used = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	char **cmd[MAX_CMDS];
	int n = 0, rounds, first[MAX_CMDS];

	if (argc < 4 || (rounds = atoi(argv[1])) < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: spawn ROUNDS INPUT CMD [ARG...] "
		    "[-- CMD [ARG...]]...\n");
		return 2;
	}
	cmd[n++] = argv + 3;
	for (int i = 3; i < argc; i++)
		if (strcmp(argv[i], "--") == 0 && n < MAX_CMDS) {
			argv[i] = NULL;
			cmd[n++] = argv + i + 1;
		}
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < n; k++) {
			int c = (k + r) % n, st = run(cmd[c], argv[2], &us[c][r],
			    &cpu[c][r]);

			if (r == 0)
				first[c] = st;
			else if (st != first[c])
				printf("status %d %d\n", c, st);
		}
		for (int c = 0; c < n; c++)
			ratio[c][r] = us[c][r] / us[0][r];
	}
	for (int c = 0; c < n; c++) {
		double m = median(us[c], rounds);

		printf("cmd %d median_us %.0f min_us %.0f cpu_us %.0f ratio "
		    "%.3f\n", c, m, us[c][0], median(cpu[c], rounds),
		    median(ratio[c], rounds));
	}
	return 0;
}
