/* SPDX-License-Identifier: ISC */
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dial.h"
#include "fmt.h"
#include "log.h"
#include "socks.h"

int
dial_init(struct dial *d, const struct conf *c, struct why *w)
{
	struct conf_server ps;
	struct why e;

	d->c = c;
	d->has_proxy = 0;
	if (c->socks_host[0] == '\0')
		return 0;
	memset(&ps, 0, sizeof(ps));
	strcpy(ps.host, c->socks_host);
	ps.port = c->socks_port;
	if (net_resolve(&ps, 1080, 1, AF_UNSPEC, &d->proxy, 1, &e) < 0)
		return why_set(w, "SOCKS proxy %s", e.text);
	d->has_proxy = 1;
	return 0;
}

int
dial_connect(const struct dial *d, const struct net_addr *a, ms_t deadline,
    struct why *w)
{
	ms_t cd = io_min(deadline, io_after(d->c->connect_timeout_ms));
	struct why e;
	int fd;

	if (!d->has_proxy) {
		log_step("connect %s", a->name);
		if ((fd = net_connect(a, cd, &e)) < 0)
			return why_set(w, "%s: %s", a->name, e.text);
		return fd;
	}
	log_step("connect %s via SOCKS%s proxy %s", a->name,
	    d->c->socks_version == 5 ? "5" : "4a", d->proxy.name);
	if ((fd = net_connect(&d->proxy, cd, &e)) < 0)
		return why_set(w, "%s: SOCKS proxy %s: %s", a->name,
		    d->proxy.name, e.text);
	if (socks_handshake(fd, d->c, a, cd, &e) < 0) {
		close(fd);
		return why_set(w, "%s: SOCKS proxy %s: %s", a->name,
		    d->proxy.name, e.text);
	}
	return fd;
}

/*
 * data_host: the IPv4 address at which clamd 0.103 takes a STREAM data
 * connection for a command connection to a: it listens for data on every
 * IPv4 address and on no IPv6 one.  A Unix socket and ::1 give 127.0.0.1,
 * an IPv4-mapped address its IPv4 part; another IPv6 address has none.
 * Returns 1 with *in set, 0 for a name the proxy resolves, or -1.
 */
static int
data_host(const struct net_addr *a, struct in_addr *in)
{
	const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->sa)->
	    sin6_addr;

	if (a->is_unix || (a->sa.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(v6))) {
		in->s_addr = htonl(INADDR_LOOPBACK);
		return 1;
	}
	if (a->salen == 0)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		*in = ((const struct sockaddr_in *)&a->sa)->sin_addr;
		return 1;
	}
	if (IN6_IS_ADDR_V4MAPPED(v6)) {
		memcpy(&in->s_addr, v6->s6_addr + 12, 4);
		return 1;
	}
	return -1;
}

int
dial_port(const struct dial *d, const struct net_addr *a, unsigned port,
    ms_t deadline, struct why *w)
{
	struct sockaddr_in *sin;
	struct net_addr b = *a;
	struct in_addr in;
	int r;

	if ((r = data_host(a, &in)) < 0)
		return why_set(w, "%s: clamd takes STREAM data on IPv4 only, "
		    "and this server is IPv6", a->name);
	b.port = port;
	if (r > 0) {
		b.is_unix = 0;
		if (a->is_unix || a->sa.ss_family != AF_INET) {
			const unsigned char *q = (const void *)&in.s_addr;

			fmt_s(b.host, sizeof(b.host), "%u.%u.%u.%u", q[0],
			    q[1], q[2], q[3]);
		}
		memset(&b.sa, 0, sizeof(b.sa));
		sin = (struct sockaddr_in *)&b.sa;
		sin->sin_family = AF_INET;
		sin->sin_addr = in;
		sin->sin_port = htons((uint16_t)port);
		b.salen = sizeof(*sin);
	}
	net_name(&b);
	return dial_connect(d, &b, deadline, w);
}
