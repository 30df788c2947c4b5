/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Access control by the peer's address, as ncat's --allow and --deny: a
 * rule is an IPv4 or IPv6 prefix ("127.0.0.0/8", "2001:db8::/32"; a bare
 * address is a /32 or a /128).  A peer is refused when a --deny rule
 * matches it, or when there are --allow rules and none matches it: deny
 * wins.  IPv4-mapped IPv6 peers (::ffff:a.b.c.d, on a dual-stack socket)
 * match IPv4 rules and only them; a rule written in the mapped form
 * (::ffff:10.0.0.0/104) is the IPv4 rule it names.  Peers that are not
 * IP (Unix sockets) are never refused: the socket's file permissions say
 * who connects.  Bits past the prefix length are ignored (10.1.2.3/8 is
 * 10.0.0.0/8).
 */
#ifndef QUILT_ACL_H
#define QUILT_ACL_H

#include <sys/socket.h>

#define ACL_MAX 64

struct acl_rule {
	unsigned char addr[16]; /* IPv4: the first 4 bytes */
	unsigned char bits; /* the prefix length */
	unsigned char v4, deny;
};

/* Zeroed: no rules, every peer permitted. */
struct acl {
	struct acl_rule r[ACL_MAX];
	int n, nallow;
};

/*
 * Add the rule s (an address, or address/length: no names, no brackets)
 * as a deny rule when deny is set, else an allow rule.  0, or -1 with
 * EINVAL (s malformed) or ENOSPC (ACL_MAX rules already) and *why set to
 * a short reason for the user.
 */
int acl_add(struct acl *a, int deny, const char *s, const char **why);

/* 1 when the peer at sa is permitted, 0 when it is refused. */
int acl_permits(const struct acl *a, const struct sockaddr *sa, socklen_t len);

/* 1 when there is a rule at all. */
static inline int
acl_any(const struct acl *a)
{
	return (a->n > 0);
}

#endif
