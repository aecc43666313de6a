/* SPDX-License-Identifier: ISC */
/*
 * The heap of a static musl build.
 *
 * clamhook allocates only at start-up (getaddrinfo's results) and exits
 * soon after, so nothing needs giving back.  musl links a bump allocator
 * of under 1 KiB when nothing refers to free() or realloc(), and its
 * general one (about 8 KiB more) otherwise.  inih refers to both (its
 * heap line buffer and ini_parse()'s fclose()), though with its default
 * stack buffer it never calls them.  Defined here, they keep the bump
 * allocator: free() gives nothing back, realloc() only allocates afresh.
 *
 * Built with CLAMHOOK_CLEAN_UP (as busybox's FEATURE_CLEAN_UP), they are
 * not defined and net.c frees getaddrinfo's results, so valgrind and the
 * sanitizers see a clean heap.  Every glibc build (SANITIZE=1, the unit
 * tests, valgrind, fuzzing) and every dynamic link (STATIC=0) defines it:
 * there these would replace the shared C library's own.  A static glibc
 * (or uClibc) libc.a defines free() and realloc() in its malloc, which
 * the link pulls in, so they are for static musl only: <stdlib.h> first,
 * for the C library's own macros.
 */
#include <stdlib.h>

#if !defined(CLAMHOOK_CLEAN_UP) && !defined(__GLIBC__) && \
    !defined(__UCLIBC__)
#include <errno.h>

void
free(void *p)
{
	(void)p;
}

void *
realloc(void *p, size_t n)
{
	if (p == NULL)
		return malloc(n);
	errno = ENOMEM;
	return NULL;
}
#endif
