/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_NET_H
#define CLAMHOOK_NET_H

#include <sys/socket.h>

#include "conf.h"
#include "io.h"
#include "why.h"

/*
 * One place to connect to: a resolved TCP address, a Unix socket, or a host
 * name left for a SOCKS proxy to resolve (salen == 0).
 */
struct net_addr {
	int is_unix;
	char host[CONF_NAME_MAX + 1];	/* as configured: name or path */
	unsigned port;
	struct sockaddr_storage sa;
	socklen_t salen;		/* 0: not resolved here */
	char name[CONF_NAME_MAX + 64];	/* for messages: "host[addr]:port" */
};

/*
 * net_resolve: turn a configured server into at most max addresses (a host
 * name with several addresses gives several).  default_port applies when
 * s->port is 0.  With resolve 0, a host name is kept unresolved for the
 * proxy; literals are always parsed.  family AF_INET keeps a name's IPv4
 * addresses only (AF_UNSPEC: all).  Returns the count (>= 1), or -1 with
 * w set ("clamd.example: name not found").
 */
int net_resolve(const struct conf_server *s, unsigned default_port,
    int resolve, int family, struct net_addr *out, int max, struct why *w);

/*
 * net_name: set a->name from the rest: "host:port", "[v6]:port",
 * "name[addr]:port" or "unix:/path".
 */
void net_name(struct net_addr *a);

/*
 * net_connect: a non-blocking connect to a resolved address (EINPROGRESS,
 * POLLOUT, SO_ERROR), bounded by the deadline.  The socket is returned in
 * blocking mode = off (O_NONBLOCK set) and close-on-exec.  Returns the
 * descriptor, or -1 with w set ("connect: Connection refused",
 * "connect: timed out").
 */
int net_connect(const struct net_addr *a, ms_t deadline, struct why *w);

#endif
