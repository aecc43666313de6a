#!/bin/sh
# SPDX-License-Identifier: ISC
# The runner of `make check-valgrind`: clamhook (a glibc build) under
# valgrind's memcheck.  A memory error or a definite leak makes the exit
# status 99, which no test expects; each run's report goes to its own file
# in $CLAMHOOK_VALGRIND_LOGS (stderr stays clamhook's own), where the
# suite's end checks that no descriptor was left open (conftest.py).
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --track-fds=yes \
	--log-file="${CLAMHOOK_VALGRIND_LOGS:?}/vg.%p" "$@"
