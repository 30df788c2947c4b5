/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The longest rule: an IPv6 address in full with an IPv4 tail, "/128". */
#define RULE_MAX (INET6_ADDRSTRLEN + 4)

static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    0xff};

static int
fail(int e, const char **why, const char *reason)
{
	*why = reason;
	errno = e;
	return (-1);
}

/* Clear the bits of addr past bits (of len bytes). */
static void
mask(unsigned char *addr, int len, int bits)
{
	for (int i = 0; i < len; i++) {
		int keep = bits - 8 * i;

		if (keep >= 8)
			continue;
		addr[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int
acl_add(struct acl *a, int deny, const char *s, const char **why)
{
	char host[RULE_MAX + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	struct acl_rule r;
	int bits, max;

	if (a->n == ACL_MAX)
		return (fail(ENOSPC, why, "too many rules"));
	if (hl == 0 || hl > RULE_MAX)
		return (fail(EINVAL, why, "not an IPv4 or IPv6 address"));
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&r, 0, sizeof(r));
	if (inet_pton(AF_INET, host, r.addr) == 1) {
		r.v4 = 1;
		max = 32;
	} else if (inet_pton(AF_INET6, host, r.addr) == 1) {
		max = 128;
	} else {
		return (fail(EINVAL, why, "not an IPv4 or IPv6 address"));
	}
	bits = max;
	if (slash) {
		const char *p = slash + 1;

		/* 0..max in decimal, without a sign or a leading zero. */
		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
		    strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
			return (fail(EINVAL, why, "bad prefix length"));
		bits = 0;
		for (; *p != '\0'; p++)
			bits = bits * 10 + (*p - '0');
		if (bits > max)
			return (fail(EINVAL, why,
			    r.v4 ? "prefix length must be 0..32" :
				   "prefix length must be 0..128"));
	}
	if (!r.v4 && bits >= 96 && memcmp(r.addr, mapped, 12) == 0) {
		/* ::ffff:a.b.c.d/N is the IPv4 rule a.b.c.d/(N-96). */
		memmove(r.addr, r.addr + 12, 4);
		memset(r.addr + 4, 0, 12);
		r.v4 = 1;
		bits -= 96;
	}
	mask(r.addr, r.v4 ? 4 : 16, bits);
	r.bits = (unsigned char)bits;
	r.deny = deny != 0;
	a->r[a->n++] = r;
	if (!deny)
		a->nallow++;
	return (0);
}

static int
matches(const struct acl_rule *r, const unsigned char *addr, int v4)
{
	unsigned char m[16];

	if (r->v4 != v4)
		return (0);
	memcpy(m, addr, v4 ? 4 : 16);
	mask(m, v4 ? 4 : 16, r->bits);
	return (memcmp(m, r->addr, v4 ? 4 : 16) == 0);
}

int
acl_permits(const struct acl *a, const struct sockaddr *sa, socklen_t len)
{
	unsigned char addr[16];
	int v4, allowed = 0;

	if (a->n == 0)
		return (1);
	if (sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		v4 = 1;
	} else if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)
					     ->sin6_addr.s6_addr;

		v4 = memcmp(b, mapped, 12) == 0;
		memcpy(addr, v4 ? b + 12 : b, v4 ? 4 : 16);
	} else {
		return (1); /* not IP: the socket's permissions decide */
	}
	for (int i = 0; i < a->n; i++) {
		if (!matches(&a->r[i], addr, v4))
			continue;
		if (a->r[i].deny)
			return (0);
		allowed = 1;
	}
	return (a->nallow == 0 || allowed);
}
