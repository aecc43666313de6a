/* SPDX-License-Identifier: ISC */
/*
 * minimal: the least an INSTREAM client must do, the benchmark's floor.
 *	minimal HOST:PORT|/unix/socket [FILE] <MESSAGE
 * Connect, send zINSTREAM and the message (FILE, else standard input) as
 * chunks of what each read gave, the zero-length chunk, read the reply to
 * its NUL, print it and a newline.
 * Exit 0 for OK, 1 for FOUND, 75 for anything else.  No checks beyond.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static char buf[1 << 16];

int
main(int argc, char **argv)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in in = { .sin_family = AF_INET };
	char *colon = argc > 1 ? strrchr(argv[1], ':') : NULL;
	uint32_t len;
	struct iovec iov[2] = { { &len, 4 }, { buf, 0 } };
	ssize_t n;
	size_t got = 0;
	int fd;

	if (argc < 2 || (argc > 2 && (fd = open(argv[2], O_RDONLY)) < 0) ||
	    (argc > 2 && dup2(fd, 0) < 0))
		return 75;
	if (argv[1][0] == '/') {
		strncpy(un.sun_path, argv[1], sizeof(un.sun_path) - 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0)
			return 75;
	} else {
		*colon = '\0';
		in.sin_port = htons((uint16_t)atoi(colon + 1));
		inet_pton(AF_INET, argv[1], &in.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&in, sizeof(in)) < 0)
			return 75;
	}
	if (write(fd, "zINSTREAM", 10) != 10)
		return 75;
	do {
		if ((n = read(0, buf, sizeof(buf))) < 0)
			return 75;
		len = htonl((uint32_t)n);
		iov[1].iov_len = (size_t)n;
		if (writev(fd, iov, 2) != 4 + n)
			return 75;
	} while (n > 0);
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got,
	    sizeof(buf) - 1 - got)) > 0 && memchr(buf + got, 0, (size_t)n) ==
	    NULL)
		got += (size_t)n;
	if (n <= 0)
		return 75;
	got = strlen(buf);
	n = strcmp(buf, "stream: OK") == 0 ? 0 :
	    strstr(buf, " FOUND") != NULL ? 1 : 75;
	buf[got] = '\n';
	(void)!write(1, buf, got + 1);
	return (int)n;
}
