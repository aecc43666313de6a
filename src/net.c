/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fmt.h"
#include "net.h"

/*
 * ip_text: the address at a (4 or 16 bytes) as musl's inet_ntop(3) writes
 * it, which would bring the whole of printf along: IPv6 in hex groups, the
 * last 32 bits dotted after ::ffff:, and the longest run of ":0" text, if
 * it covers two groups, as "::".  Counted in text, a run inside the
 * address is one ':' longer than one at either end, so it wins a tie.
 */
static void
ip_text(char *buf, size_t size, int v6, const unsigned char *a)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	char t[INET6_ADDRSTRLEN];
	size_t i, j, n = 0, best = 0, max = 0;

	if (!v6) {
		fmt_s(buf, size, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	for (i = 0; i < 16; i += 2) {
		if (i == 12 && memcmp(a, mapped, sizeof(mapped)) == 0) {
			fmt_s(t + n, sizeof(t) - n, ":%u.%u.%u.%u", a[12],
			    a[13], a[14], a[15]);
			break;
		}
		n += (size_t)fmt_s(t + n, sizeof(t) - n, i == 0 ? "%x" : ":%x",
		    (unsigned)(a[i] << 8 | a[i + 1]));
	}
	for (i = 0; t[i] != '\0'; i++) {
		if (i > 0 && t[i] != ':')
			continue;
		for (j = 0; t[i + j] == ':' || t[i + j] == '0'; j++)
			;
		if (j > max) {
			best = i;
			max = j;
		}
	}
	if (max >= 4) {
		t[best] = t[best + 1] = ':';
		memmove(t + best + 2, t + best + max, i - best - max + 1);
	}
	fmt_s(buf, size, "%s", t);
}

void
net_name(struct net_addr *a)
{
	char ip[INET6_ADDRSTRLEN] = "";
	const void *src = NULL;
	int is_v6 = 0;

	if (a->is_unix) {
		fmt_s(a->name, sizeof(a->name), "unix:%s", a->host);
		return;
	}
	if (a->salen != 0 && a->sa.ss_family == AF_INET) {
		src = &((const struct sockaddr_in *)&a->sa)->sin_addr;
	} else if (a->salen != 0 && a->sa.ss_family == AF_INET6) {
		src = &((const struct sockaddr_in6 *)&a->sa)->sin6_addr;
		is_v6 = 1;
	}
	if (src != NULL)
		ip_text(ip, sizeof(ip), is_v6, src);
	if (src == NULL || strcmp(ip, a->host) == 0)
		fmt_s(a->name, sizeof(a->name), is_v6 ? "[%s]:%u" : "%s:%u",
		    a->host, a->port);
	else
		fmt_s(a->name, sizeof(a->name), "%s[%s]:%u", a->host, ip,
		    a->port);
}

/*
 * literal: a->sa from an IPv4 or IPv6 address literal (no scope), with
 * a->port.  Returns 1, or 0 when host is no such literal.  getaddrinfo
 * would give the same address, at the price of a heap allocation.
 */
static int
literal(struct net_addr *a, const char *host)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)a->port);
		a->salen = sizeof(*in);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a->port);
		a->salen = sizeof(*in6);
		return 1;
	}
	return 0;
}

int
net_resolve(const struct conf_server *s, unsigned default_port, int resolve,
    int family, struct net_addr *out, int max, struct why *w)
{
	struct addrinfo hints, *res, *ai;
	char port[8];
	int n = 0, e;
	struct net_addr a;

	if (max < 1)
		return why_set(w, "%s: too many servers", s->host);
	memset(&a, 0, sizeof(a));
	a.is_unix = s->is_unix;
	a.port = s->port != 0 ? s->port : default_port;
	if (strlen(s->host) >= sizeof(a.host))
		return why_set(w, "%.40s...: name too long", s->host);
	strcpy(a.host, s->host);

	if (s->is_unix) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a.sa;

		if (strlen(s->host) >= sizeof(un->sun_path))
			return why_set(w, "unix:%s: path longer than %zu bytes",
			    s->host, sizeof(un->sun_path) - 1);
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, s->host);
		a.salen = sizeof(*un);
		net_name(&a);
		out[0] = a;
		return 1;
	}

	if (literal(&a, s->host)) {
		net_name(&a);
		out[0] = a;
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (resolve ? 0 : AI_NUMERICHOST);
	fmt_s(port, sizeof(port), "%u", a.port);
	e = getaddrinfo(s->host, port, &hints, &res);
	if (e == EAI_NONAME && !resolve) {
		/* A name for the proxy to resolve (SOCKS remote DNS). */
		a.salen = 0;
		net_name(&a);
		out[0] = a;
		return 1;
	}
	if (e != 0)
		return why_set(w, "%s: %s%s", s->host,
		    e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e),
		    family == AF_INET ? " (looked up for IPv4 only)" : "");
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		int dup = 0;

		if (ai->ai_addrlen > sizeof(a.sa))
			continue;
		for (int i = 0; i < n; i++)
			if (out[i].salen == ai->ai_addrlen &&
			    memcmp(&out[i].sa, ai->ai_addr, ai->ai_addrlen) == 0)
				dup = 1;
		if (dup)
			continue;
		memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
		a.salen = ai->ai_addrlen;
		net_name(&a);
		out[n++] = a;
	}
#ifdef CLAMHOOK_CLEAN_UP
	/* Otherwise res is left to exit: see heap.c. */
	freeaddrinfo(res);
#endif
	if (n == 0)
		return why_set(w, "%s: no usable address", s->host);
	return n;
}

int
net_connect(const struct net_addr *a, ms_t deadline, struct why *w)
{
	int fd, err = 0, r, one = 1;
	socklen_t len = sizeof(err);

	if (a->salen == 0)
		return why_set(w, "%s: name not resolved", a->name);
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return why_errno(w, errno, "socket");
	/*
	 * A request is several writes (the command, the chunks, the end)
	 * answered at its end only.  With Nagle's algorithm each small write
	 * after the first waits for the peer's delayed ACK, about 40 ms a
	 * request on a kept-open connection (an IDSESSION batch).
	 */
	if (!a->is_unix)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	while (connect(fd, (const struct sockaddr *)&a->sa, a->salen) < 0) {
		/*
		 * A Unix socket whose listener's backlog is full answers
		 * EAGAIN and does not connect in the background: try again
		 * shortly, until the deadline.
		 */
		if (a->is_unix && errno == EAGAIN && io_now() < deadline) {
			poll(NULL, 0, 10);
			continue;
		}
		/*
		 * POSIX: an interrupted connect() goes on in the background;
		 * asking again tells how it stands (EALREADY, EISCONN), or
		 * starts it where the call never reached the kernel.
		 */
		if (errno == EINTR && io_now() < deadline)
			continue;
		if (errno == EISCONN)
			return fd;
		if (errno != EINPROGRESS && errno != EALREADY) {
			err = errno == EAGAIN ? ETIMEDOUT : errno;
			close(fd);
			return why_errno(w, err, "connect");
		}
		break;
	}
	if (a->is_unix)
		return fd;
	r = io_wait(fd, POLLOUT, deadline);
	if (r <= 0) {
		err = r == 0 ? ETIMEDOUT : errno;
		close(fd);
		return r == 0 ? why_set(w, "connect: timed out") :
		    why_errno(w, err, "connect");
	}
	/*
	 * How did it end?  Asking connect() again returns the pending error
	 * as the call's own errno (EISCONN once connected); SO_ERROR, which
	 * some emulators hand over untranslated (qemu-mipsel), only when
	 * that says nothing.
	 */
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == 0 ||
	    errno == EISCONN)
		return fd;
	err = errno;
	if (err == EALREADY || err == EINPROGRESS || err == EINTR) {
		int soerr = 0;

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr == 0)
			return fd;
		err = soerr;
	}
	close(fd);
	return why_errno(w, err, "connect");
}
