/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/acl: the bytes up to the first newline
 * are rules (separated by spaces; a leading '-' makes a deny rule), the
 * rest peers of 17 bytes each (a family byte: even IPv4, odd IPv6; then
 * the address).  Checked: a rule is taken or refused with EINVAL and a
 * reason, and never more than ACL_MAX are kept; a rule taken reads the
 * same whatever follows it; for every peer, the rules taken as allow
 * rules alone permit exactly what the same rules as deny rules refuse;
 * an IPv4 peer and its IPv4-mapped IPv6 form get the same verdict; a
 * Unix peer is always permitted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "acl.h"

#define RULES_MAX 4096

static socklen_t
peer(const uint8_t *p, struct sockaddr_storage *ss, int mapped)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if ((p[0] & 1) == 0 && !mapped) {
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, p + 1, 4);
		return (sizeof(*in));
	}
	in6->sin6_family = AF_INET6;
	if ((p[0] & 1) == 0) {
		in6->sin6_addr.s6_addr[10] = 0xff;
		in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(in6->sin6_addr.s6_addr + 12, p + 1, 4);
	} else {
		memcpy(in6->sin6_addr.s6_addr, p + 1, 16);
	}
	return (sizeof(*in6));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acl as, allow, deny, again;
	char rules[RULES_MAX + 1], *save, *tok;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rl = nl ? (size_t)(nl - data) : size;
	const uint8_t *p = nl ? nl + 1 : data + size;
	size_t rest = (size_t)(data + size - p);
	struct sockaddr_storage ss;
	struct sockaddr_un un;
	socklen_t len;

	if (rl > RULES_MAX)
		return (0);
	memcpy(rules, data, rl);
	rules[rl] = '\0';
	memset(&as, 0, sizeof(as));
	memset(&allow, 0, sizeof(allow));
	memset(&deny, 0, sizeof(deny));
	for (tok = strtok_r(rules, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		int d = tok[0] == '-';
		const char *why = NULL;
		int n = as.n;

		errno = 0;
		if (acl_add(&as, d, tok + d, &why) == -1) {
			if (why == NULL || *why == '\0' ||
			    (errno != EINVAL && errno != ENOSPC) || as.n != n)
				abort();
			continue;
		}
		if (as.n != n + 1 || as.n > ACL_MAX)
			abort();
		/* The same rule alone, as allow and as deny. */
		if (acl_add(&allow, 0, tok + d, &why) == -1 ||
		    acl_add(&deny, 1, tok + d, &why) == -1)
			abort();
		memset(&again, 0, sizeof(again));
		if (acl_add(&again, d, tok + d, &why) == -1 ||
		    memcmp(&again.r[0], &as.r[n], sizeof(again.r[0])) != 0)
			abort();
	}
	if (as.n > ACL_MAX)
		abort();
	for (; rest >= 17; p += 17, rest -= 17) {
		int v;

		len = peer(p, &ss, 0);
		v = acl_permits(&as, (struct sockaddr *)&ss, len);
		if (v != 0 && v != 1)
			abort();
		if (allow.n > 0 &&
		    acl_permits(&allow, (struct sockaddr *)&ss, len) ==
			acl_permits(&deny, (struct sockaddr *)&ss, len))
			abort();
		if ((p[0] & 1) == 0) {
			socklen_t ml = peer(p, &ss, 1);

			if (acl_permits(&as, (struct sockaddr *)&ss, ml) != v)
				abort();
		}
	}
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	if (acl_permits(&as, (struct sockaddr *)&un, sizeof(un)) != 1)
		abort();
	return (0);
}
