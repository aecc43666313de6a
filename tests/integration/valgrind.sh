#!/bin/sh
# SPDX-License-Identifier: ISC
# The runner of `make check-valgrind`: valgrind.sh LOGDIR PROGRAM [ARG...]
# runs clamhook (a glibc build) under valgrind's memcheck.  A memory error
# or a definite leak makes the exit status 99, which no test expects; each
# run's report goes to its own file in LOGDIR (stderr stays clamhook's
# own), where the suite's end checks that no descriptor was left open
# (conftest.py).  The directory is an argument, not the environment, so
# that the MTA hook and Postfix's pipe(8), which clear it, keep it.  Each
# run writes into a folder of its own, LOGDIR/run.XXXXXXXX/vg.PID: over a
# long suite process ids come round again, and a report named by its pid
# alone would then be overwritten, or (LOGDIR is sticky, 1777) not be
# writable by another user.
logs=${1:?usage: valgrind.sh LOGDIR PROGRAM [ARG...]}
shift
run=$(mktemp -d "$logs/run.XXXXXXXX") || exit 75
exec valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --track-fds=yes \
	--log-file="$run/vg.%p" "$@"
