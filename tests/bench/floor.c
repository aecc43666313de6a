/* SPDX-License-Identifier: ISC */
/*
 * floor: the least an INSTREAM client can do, the benchmark's baseline.
 *
 *	floor HOST:PORT|/unix/socket [FILE]
 *
 * Connect, send zINSTREAM, read the message (FILE or standard input) in
 * 8192-byte reads and send each as one chunk with one writev (4-byte
 * big-endian length, then the bytes), send the zero-length chunk, read the
 * reply to its NUL and print it.  No configuration, no deadlines, no
 * checks beyond what it takes not to lie: any failure exits 75.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK 8192

static int
dial(const char *addr)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_un un;
	} u;
	socklen_t len;
	const char *colon;
	int fd;

	memset(&u, 0, sizeof(u));
	if (addr[0] == '/') {
		u.un.sun_family = AF_UNIX;
		strncpy(u.un.sun_path, addr, sizeof(u.un.sun_path) - 1);
		len = sizeof(u.un);
	} else {
		char host[64];
		size_t n;

		if ((colon = strrchr(addr, ':')) == NULL ||
		    (n = (size_t)(colon - addr)) >= sizeof(host))
			return -1;
		memcpy(host, addr, n);
		host[n] = '\0';
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &u.in.sin_addr) != 1)
			return -1;
		len = sizeof(u.in);
	}
	if ((fd = socket(u.sa.sa_family, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, &u.sa, len) < 0)
		return -1;
	return fd;
}

static int
sendv(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);

		if (k < 0)
			return -1;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static unsigned char buf[CHUNK];
	static const char cmd[] = "zINSTREAM";
	char reply[1024];
	unsigned char hdr[4];
	struct iovec iov[2];
	size_t got = 0;
	ssize_t n;
	int fd, in = 0;

	if (argc < 2 || argc > 3)
		return 75;
	if (argc == 3 && (in = open(argv[2], O_RDONLY)) < 0)
		return 75;
	if ((fd = dial(argv[1])) < 0)
		return 75;
	if (write(fd, cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
		return 75;
	for (;;) {
		size_t len = 0;

		while (len < CHUNK && (n = read(in, buf + len,
		    CHUNK - len)) > 0)
			len += (size_t)n;
		if (n < 0)
			return 75;
		hdr[0] = (unsigned char)(len >> 24);
		hdr[1] = (unsigned char)(len >> 16);
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		iov[0].iov_base = hdr;
		iov[0].iov_len = 4;
		iov[1].iov_base = buf;
		iov[1].iov_len = len;
		if (sendv(fd, iov, 2) < 0)
			return 75;
		if (len == 0)
			break;
	}
	while (got < sizeof(reply) - 1 &&
	    (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
		got += (size_t)n;
		if (reply[got - 1] == '\0' || reply[got - 1] == '\n')
			break;
	}
	if (got == 0)
		return 75;
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	puts(reply);
	return 0;
}
