/* SPDX-License-Identifier: ISC */
/*
 * Fuzz the configuration reader with arbitrary files (INI or Sun option
 * files).  Checked:
 *   - a failure is one line "fuzz.ini: ..." (or "fuzz.ini:LINE: ...");
 *   - a success passes conf_check again, and conf_print's output (what
 *     --check-config shows) loads back and prints the same again.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "why.h"

#define NAME "fuzz.ini"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf c1, c2;

/* open_bytes: a descriptor reading the n bytes at p, or -1. */
static int
open_bytes(const void *p, size_t n)
{
	int fd = memfd_create("conf", 0);

	if (fd >= 0 && (pwrite(fd, p, n, 0) != (ssize_t)n)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
check_why(const struct why *w)
{
	size_t n;

	n = strnlen(w->text, sizeof(w->text));
	if (n == sizeof(w->text) || strncmp(w->text, NAME ":", 9) != 0 ||
	    memchr(w->text, '\n', n) != NULL)
		abort();
}

/* print: conf_print into a fresh heap buffer; *n its length. */
static char *
print(const struct conf *c, size_t *n)
{
	static struct out o;
	char *buf = NULL;
	off_t end;
	int fd;

	if ((fd = memfd_create("print", 0)) < 0)
		return NULL;
	o = (struct out)OUT_INIT(fd);
	conf_print(c, &o);
	if (out_flush(&o) == 0 && (end = lseek(fd, 0, SEEK_END)) >= 0 &&
	    (buf = malloc((size_t)end + 1)) != NULL) {
		*n = (size_t)end;
		if (pread(fd, buf, *n, 0) != end) {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct why w;
	char *p1, *p2;
	size_t n1, n2;
	int fd, rc;

	if (size > 64 * 1024)
		return 0;
	if ((fd = open_bytes(data, size)) < 0)
		return 0;
	memset(&w, 0, sizeof(w));
	rc = conf_load_fd(&c1, fd, NAME, &w);
	close(fd);
	if (rc != 0) {
		if (rc != -1)
			abort();
		check_why(&w);
		return 0;
	}
	if (conf_check(&c1, &w) != 0)
		abort();
	if (c1.nserver == 0 || c1.nserver > CONF_SERVERS_MAX)
		abort();

	/* --check-config's output is a configuration with the same settings */
	if ((p1 = print(&c1, &n1)) == NULL)
		return 0;
	if ((fd = open_bytes(p1, n1)) < 0) {
		free(p1);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	rc = conf_load_fd(&c2, fd, NAME, &w);
	close(fd);
	if (rc != 0) {
		fprintf(stderr, "conf_print output does not load: %s\n%.*s",
		    w.text, (int)n1, p1);
		abort();
	}
	if ((p2 = print(&c2, &n2)) == NULL) {
		free(p1);
		return 0;
	}
	if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
		fprintf(stderr,
		    "conf_print differs after a reload:\n%.*s\n"
		    "----\n%.*s",
		    (int)n1, p1, (int)n2, p2);
		abort();
	}
	free(p1);
	free(p2);
	return 0;
}
