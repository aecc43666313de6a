/* SPDX-License-Identifier: ISC */
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dial.h"
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
	if (net_resolve(&ps, 1080, 1, &d->proxy, 1, &e) < 0)
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

int
dial_port(const struct dial *d, const struct net_addr *a, unsigned port,
    ms_t deadline, struct why *w)
{
	struct net_addr b = *a;

	if (b.is_unix)
		return why_set(w, "%s: a Unix socket has no ports", b.name);
	b.port = port;
	if (b.salen != 0) {
		if (b.sa.ss_family == AF_INET)
			((struct sockaddr_in *)&b.sa)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&b.sa)->sin6_port = htons(port);
	}
	net_name(&b);
	return dial_connect(d, &b, deadline, w);
}
