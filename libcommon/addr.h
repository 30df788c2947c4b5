/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Addresses as users write them: "host:port", "[v6addr]:port", ":port" and
 * "port" (all interfaces for a listener, loopback for a sender),
 * "unix:/path", and the same with "udp:" in front for the udp transport.
 * A listener's port may be 0 (any free port) or a range "MIN-MAX".
 */
#ifndef QUILT_ADDR_H
#define QUILT_ADDR_H

#include <sys/socket.h>
#include <sys/un.h>

enum addr_kind { ADDR_TCP, ADDR_UNIX, ADDR_UDP };

struct addr {
	enum addr_kind kind;
	char host[256]; /* empty: all interfaces / loopback */
	unsigned port_lo, port_hi; /* equal unless a range */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Parse s.  With listener set, ranges and port 0 are allowed.  0, or -1
 * with EINVAL and *why set to a short reason for the user.
 */
int addr_parse(const char *s, int listener, struct addr *a, const char **why);

/*
 * Write a socket address as "127.0.0.1:40123", "[::1]:40123" or
 * "unix:/path" (IPv4-mapped IPv6 addresses written as IPv4).  out has
 * ADDR_STRLEN bytes.  Returns out.
 */
#define ADDR_STRLEN 160
char *addr_str(char *out, const struct sockaddr *sa, socklen_t len);

/* Just the host part ("127.0.0.1", "::1") and the port, for UCSPI. */
void addr_host_port(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostlen, unsigned *port);

#endif
