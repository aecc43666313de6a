/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_SOCKS_H
#define CLAMHOOK_SOCKS_H

#include <stddef.h>

#include "conf.h"
#include "io.h"
#include "net.h"
#include "why.h"

/*
 * socks_handshake: on fd, already connected to the proxy, ask it to connect
 * to target (SOCKS5, RFC 1928, with RFC 1929 user/password when c sets a
 * user; or SOCKS4a).  A target with salen == 0 is sent by name (ATYP 3, or
 * the 4a name form).  Every reply field is read by its length; nothing of
 * the reply is left in the stream.  Bounded by the deadline.  Returns 0,
 * or -1 with w naming the reason ("SOCKS5 proxy refused: REP 05 connection
 * refused"); the caller adds the proxy's name.
 */
int socks_handshake(int fd, const struct conf *c, const struct net_addr *target,
    ms_t deadline, struct why *w);

/*
 * socks5_reply_len / socks5_reply_check, socks4_reply_check: the parsers of
 * the proxy's replies, separate for the unit tests and the fuzzer.
 *
 * socks5_reply_check(p, n): p holds the first n >= 5 bytes of a CONNECT
 * reply (VER REP RSV ATYP and the first address byte).  Returns the total
 * length of the reply (to read the rest exactly), or -1 with w set.
 */
long socks5_reply_check(const unsigned char *p, size_t n, struct why *w);

/* socks4_reply_check: the 8-byte SOCKS4 reply.  Returns 0 or -1, w set. */
int socks4_reply_check(const unsigned char *p, size_t n, struct why *w);

#endif
