/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/acl: rules as users write them for --allow and
 * --deny, the ones refused, and which peers a set of rules permits (IPv4,
 * IPv6, IPv4-mapped IPv6, Unix).  TAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "acl.h"
#include "tcase.h"

/* The peer s (an IPv4 or IPv6 address, or "unix") as accept() gives it. */
static socklen_t
peer(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(s, "unix") == 0) {
		ss->ss_family = AF_UNIX;
		return (sizeof(struct sockaddr_un));
	}
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(40000);
		return (sizeof(*in));
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) != 1)
		abort();
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(40000);
	return (sizeof(*in6));
}

/* Rules "+P" (allow) and "-P" (deny), NULL-ended; then 1 when added. */
static int
build(struct acl *a, const char *const *rules)
{
	const char *why;

	memset(a, 0, sizeof(*a));
	for (; *rules != NULL; rules++)
		if (acl_add(a, (*rules)[0] == '-', *rules + 1, &why) == -1)
			return (0);
	return (1);
}

struct verdict {
	const char *rules[6];
	const char *peer;
	int permitted;
};

/* clang-format off */
static const struct verdict verdicts[] = {
	{ {NULL}, "10.0.0.1", 1 },
	{ {NULL}, "::1", 1 },
	{ {"+127.0.0.0/8", NULL}, "127.0.0.2", 1 },
	{ {"+127.0.0.0/8", NULL}, "10.0.0.1", 0 },
	{ {"+127.0.0.0/8", NULL}, "::1", 0 },
	{ {"+127.0.0.0/8", NULL}, "::ffff:127.0.0.2", 1 },
	{ {"+127.0.0.0/8", NULL}, "::ffff:10.0.0.1", 0 },
	{ {"-127.0.0.2", NULL}, "127.0.0.2", 0 },
	{ {"-127.0.0.2", NULL}, "127.0.0.3", 1 },
	{ {"-127.0.0.2", NULL}, "::ffff:127.0.0.2", 0 },
	{ {"-127.0.0.2", NULL}, "::1", 1 },
	/* deny wins, whatever the order */
	{ {"+127.0.0.0/8", "-127.0.0.2", NULL}, "127.0.0.2", 0 },
	{ {"-127.0.0.2", "+127.0.0.0/8", NULL}, "127.0.0.2", 0 },
	{ {"+127.0.0.0/8", "-127.0.0.2", NULL}, "127.0.0.3", 1 },
	{ {"+127.0.0.0/8", "-127.0.0.2", NULL}, "192.0.2.1", 0 },
	{ {"+127.0.0.0/8", "+::1", NULL}, "::1", 1 },
	{ {"+2001:db8::/32", NULL}, "2001:db8:ffff::1", 1 },
	{ {"+2001:db8::/32", NULL}, "2001:db9::1", 0 },
	{ {"+2001:db8::/32", NULL}, "::1", 0 },
	{ {"-::1", NULL}, "::1", 0 },
	{ {"-::1", NULL}, "127.0.0.1", 1 },
	/* ::/0 is every IPv6 peer, and no IPv4 one, mapped or not */
	{ {"-::/0", NULL}, "2001:db8::1", 0 },
	{ {"-::/0", NULL}, "127.0.0.1", 1 },
	{ {"-::/0", NULL}, "::ffff:127.0.0.1", 1 },
	{ {"-0.0.0.0/0", NULL}, "::ffff:192.0.2.1", 0 },
	{ {"-0.0.0.0/0", NULL}, "::1", 1 },
	/* the mapped form of a rule is the IPv4 rule */
	{ {"-::ffff:10.0.0.0/104", NULL}, "10.9.9.9", 0 },
	{ {"-::ffff:10.0.0.0/104", NULL}, "11.0.0.1", 1 },
	{ {"+::ffff:127.0.0.1", NULL}, "::ffff:127.0.0.1", 1 },
	/* bits past the length are ignored; odd lengths */
	{ {"+10.1.2.3/8", NULL}, "10.200.0.1", 1 },
	{ {"+192.0.2.128/25", NULL}, "192.0.2.129", 1 },
	{ {"+192.0.2.128/25", NULL}, "192.0.2.127", 0 },
	{ {"+2001:db8::/33", NULL}, "2001:db8:7fff::1", 1 },
	{ {"+2001:db8::/33", NULL}, "2001:db8:8000::1", 0 },
	{ {"+fe80::1/127", NULL}, "fe80::", 1 },
	{ {"+fe80::1/127", NULL}, "fe80::2", 0 },
	/* Unix peers are never refused */
	{ {"+127.0.0.0/8", NULL}, "unix", 1 },
	{ {"-0.0.0.0/0", "-::/0", NULL}, "unix", 1 },
};

static const char *const good[] = {
	"127.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0", "::/0",
	"10.0.0.1", "10.0.0.1/32", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8/128",
	"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
};

static const char *const bad[] = {
	"", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/08",
	"127.0.0.0/-1", "127.0.0.0/+8", "127.0.0.0/8/8", "127.0.0.0/ 8",
	"127.0.0.0 /8", "127.0.0.0/1000", "localhost", "127.1", "127.0.0.256",
	"[::1]", "[::1]/128", "::1%lo", "1:2:3:4:5:6:7:8:9", "10.0.0.0/8x",
	"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:ffff/128",
	"0x7f.0.0.1",
};
/* clang-format on */

static int
t_verdicts(void)
{
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		const struct verdict *v = &verdicts[i];
		struct sockaddr_storage ss;
		struct acl a;
		socklen_t len = peer(v->peer, &ss);

		CHECKF(build(&a, v->rules), "case %zu: a rule refused", i);
		CHECKF(acl_permits(&a, (struct sockaddr *)&ss, len) ==
			v->permitted,
		    "case %zu (%s%s%s): %s %s", i,
		    v->rules[0] ? v->rules[0] : "",
		    v->rules[0] && v->rules[1] ? " " : "",
		    v->rules[0] && v->rules[1] ? v->rules[1] : "", v->peer,
		    v->permitted ? "refused" : "permitted");
	}
	return (0);
}

static int
t_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct acl a;
		const char *why = NULL;

		memset(&a, 0, sizeof(a));
		CHECKF(acl_add(&a, 0, good[i], &why) == 0 && a.n == 1 &&
			a.nallow == 1 && acl_any(&a),
		    "\"%s\" refused: %s", good[i], why ? why : "?");
	}
	return (0);
}

static int
t_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct acl a;
		const char *why = NULL;

		memset(&a, 0, sizeof(a));
		errno = 0;
		CHECKF(acl_add(&a, 1, bad[i], &why) == -1 && errno == EINVAL &&
			why != NULL && *why != '\0' && a.n == 0,
		    "\"%s\" taken", bad[i]);
	}
	return (0);
}

static int
t_full(void)
{
	struct acl a;
	const char *why = NULL;

	memset(&a, 0, sizeof(a));
	for (int i = 0; i < ACL_MAX; i++)
		CHECK(acl_add(&a, i & 1, "10.0.0.0/8", &why) == 0);
	CHECK(a.n == ACL_MAX && a.nallow == ACL_MAX / 2);
	errno = 0;
	CHECK(acl_add(&a, 0, "10.0.0.0/8", &why) == -1 && errno == ENOSPC);
	CHECK(strcmp(why, "too many rules") == 0);
	return (0);
}

static int
t_why(void)
{
	struct acl a;
	const char *why = NULL;

	memset(&a, 0, sizeof(a));
	CHECK(acl_add(&a, 0, "127.0.0.0/33", &why) == -1);
	CHECKF(strcmp(why, "prefix length must be 0..32") == 0, "%s", why);
	CHECK(acl_add(&a, 0, "::/129", &why) == -1);
	CHECKF(strcmp(why, "prefix length must be 0..128") == 0, "%s", why);
	CHECK(acl_add(&a, 0, "example.org", &why) == -1);
	CHECKF(strcmp(why, "not an IPv4 or IPv6 address") == 0, "%s", why);
	CHECK(acl_add(&a, 0, "10.0.0.0/x", &why) == -1);
	CHECKF(strcmp(why, "bad prefix length") == 0, "%s", why);
	return (0);
}

static const struct tcase cases[] = {
    {"which peers a set of rules permits (v4, v6, mapped, unix)", t_verdicts},
    {"rules as users write them are taken", t_good},
    {"malformed rules are refused with a reason, nothing added", t_bad},
    {"at most ACL_MAX rules: ENOSPC past them", t_full},
    {"the reasons name the fault", t_why},
};

int
main(void)
{
	return (TC_RUN(cases));
}
