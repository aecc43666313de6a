/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_DIAL_H
#define CLAMHOOK_DIAL_H

#include "conf.h"
#include "io.h"
#include "net.h"
#include "why.h"

/*
 * The way to a clamd: straight to it, or through the [socks] proxy (SPEC
 * §5.3), chosen once at start and then the same for every connection,
 * the legacy STREAM data connection included.
 */
struct dial {
	const struct conf *c;	/* connect_timeout_ms and [socks] */
	struct net_addr proxy;	/* [socks] server, when has_proxy */
	int has_proxy;
};

/*
 * dial_init: resolve the proxy, when one is set.  Returns 0, or -1 with w
 * set ("SOCKS proxy NAME: name not found").
 */
int dial_init(struct dial *d, const struct conf *c, struct why *w);

/*
 * dial_connect: connect to a, through the proxy when one is set, within
 * connect_timeout_ms and the deadline.  Returns the descriptor, or -1
 * with w naming the server (and the proxy) and the reason.
 */
int dial_connect(const struct dial *d, const struct net_addr *a, ms_t deadline,
    struct why *w);

/*
 * dial_port: as dial_connect, to a's host on another port: the data
 * connection of the legacy STREAM command, which clamd 0.103 takes on IPv4
 * only (SPEC §5.1).  For a Unix socket or ::1 it goes to 127.0.0.1; for an
 * IPv6 server other than those, -1 with w set.
 */
int dial_port(const struct dial *d, const struct net_addr *a, unsigned port,
    ms_t deadline, struct why *w);

#endif
