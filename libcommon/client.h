/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The client side of a quilt connection: connect within a timeout, send our
 * hello, read the peer's, check versions and sealing.  It never prints: it
 * says what failed in why and returns a class the program maps to its exit
 * status.
 */
#ifndef QUILT_CLIENT_H
#define QUILT_CLIENT_H

#include <stddef.h>

#include "addr.h"
#include "link.h"
#include "wire.h"

enum client_err {
	CLIENT_OK,
	CLIENT_NOHOST, /* the name did not resolve */
	CLIENT_TEMPFAIL, /* timed out, or the resolver failed for now */
	CLIENT_UNAVAILABLE, /* refused, unreachable, closed */
	CLIENT_OSERR, /* out of fds, memory */
	CLIENT_PROTOCOL, /* bad hello, no common version, refused by it */
	CLIENT_AUTH, /* sealing: wrong key, or tampered with */
};

/*
 * Open a session to a: on success the link's fd is the connected socket
 * (non-blocking) and *peer holds the peer's hello.  Otherwise the link has no
 * fd and why (whylen bytes) says what went wrong, without the address.
 * With psk (SEAL_KEYLEN bytes) the session is sealed: the handshake of
 * seal.h, then the link carries records.
 */
enum client_err client_open(const struct addr *a, int timeout_ms,
    struct link *l, const struct wire_hello *me, struct wire_hello *peer,
    const unsigned char *psk, char *why, size_t whylen);

#endif
