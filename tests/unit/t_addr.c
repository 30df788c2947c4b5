/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/addr: addresses as users write them, for a
 * listener and for a sender, and socket addresses written back.  TAP
 * output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "tcase.h"

/* How an address parses; kind -1: refused. */
struct want {
	const char *s;
	int listener;
	int kind;
	const char *host, *path;
	unsigned lo, hi;
};

static int
check_parse(const struct want *w)
{
	struct addr a;
	const char *why = NULL;
	int r;

	memset(&a, 'Z', sizeof(a));
	errno = 0;
	r = addr_parse(w->s, w->listener, &a, &why);
	if (w->kind == -1) {
		CHECKF(r == -1 && errno == EINVAL && why != NULL &&
			*why != '\0',
		    "\"%s\" (%s) accepted", w->s,
		    w->listener ? "listener" : "sender");
		return (0);
	}
	CHECKF(r == 0, "\"%s\" (%s) refused: %s", w->s,
	    w->listener ? "listener" : "sender", why ? why : "?");
	CHECKF((int)a.kind == w->kind, "\"%s\": kind %d", w->s, a.kind);
	if (w->kind == ADDR_UNIX) {
		CHECKF(strcmp(a.path, w->path) == 0, "\"%s\": path \"%s\"",
		    w->s, a.path);
		return (0);
	}
	CHECKF(strcmp(a.host, w->host) == 0, "\"%s\": host \"%s\"", w->s,
	    a.host);
	CHECKF(a.port_lo == w->lo && a.port_hi == w->hi, "\"%s\": ports %u-%u",
	    w->s, a.port_lo, a.port_hi);
	return (0);
}

#define T ADDR_TCP
#define U ADDR_UNIX
#define D ADDR_UDP
#define NO -1

/* clang-format off */
static const struct want accepted[] = {
	{ "host:80", 0, T, "host", NULL, 80, 80 },
	{ "host:80", 1, T, "host", NULL, 80, 80 },
	{ "127.0.0.1:7000", 0, T, "127.0.0.1", NULL, 7000, 7000 },
	{ "my-host.example:65535", 0, T, "my-host.example", NULL, 65535,
	    65535 },
	{ "h:1", 0, T, "h", NULL, 1, 1 },
	{ "[::1]:80", 0, T, "::1", NULL, 80, 80 },
	{ "[::1]:80", 1, T, "::1", NULL, 80, 80 },
	{ "[fe80::1%lo]:80", 0, T, "fe80::1%lo", NULL, 80, 80 },
	{ "[::ffff:1.2.3.4]:9", 0, T, "::ffff:1.2.3.4", NULL, 9, 9 },
	{ ":80", 0, T, "", NULL, 80, 80 },
	{ ":80", 1, T, "", NULL, 80, 80 },
	{ "80", 0, T, "", NULL, 80, 80 },
	{ "80", 1, T, "", NULL, 80, 80 },
	{ "1601", 1, T, "", NULL, 1601, 1601 },
	{ "unix:/tmp/x", 0, U, NULL, "/tmp/x", 0, 0 },
	{ "unix:/tmp/x", 1, U, NULL, "/tmp/x", 0, 0 },
	{ "unix:rel/sock", 0, U, NULL, "rel/sock", 0, 0 },
	{ "udp:h:1", 0, D, "h", NULL, 1, 1 },
	{ "udp:h:1", 1, D, "h", NULL, 1, 1 },
	{ "udp:[::1]:5", 0, D, "::1", NULL, 5, 5 },
	{ "udp::9", 1, D, "", NULL, 9, 9 },
	{ "udp:9", 0, D, "", NULL, 9, 9 },
	/* Listener only: ranges and port 0. */
	{ "1000-2000", 1, T, "", NULL, 1000, 2000 },
	{ ":1000-2000", 1, T, "", NULL, 1000, 2000 },
	{ "h:1000-1000", 1, T, "h", NULL, 1000, 1000 },
	{ "[::1]:1-65535", 1, T, "::1", NULL, 1, 65535 },
	{ "0", 1, T, "", NULL, 0, 0 },
	{ ":0", 1, T, "", NULL, 0, 0 },
	{ "h:0", 1, T, "h", NULL, 0, 0 },
	{ "udp:h:0", 1, D, "h", NULL, 0, 0 },
};
/* clang-format on */

/* clang-format off */
static const struct want refused[] = {
	{ "1000-2000", 0, NO, NULL, NULL, 0, 0 },
	{ "h:1000-2000", 0, NO, NULL, NULL, 0, 0 },
	{ "0", 0, NO, NULL, NULL, 0, 0 },
	{ ":0", 0, NO, NULL, NULL, 0, 0 },
	{ "h:0", 0, NO, NULL, NULL, 0, 0 },
	{ "1:2:3", 0, NO, NULL, NULL, 0, 0 },
	{ "1:2:3", 1, NO, NULL, NULL, 0, 0 },
	{ "::1:80", 0, NO, NULL, NULL, 0, 0 },
	{ "fe80::1:80", 1, NO, NULL, NULL, 0, 0 },
	{ "h:65536", 0, NO, NULL, NULL, 0, 0 },
	{ "65536", 1, NO, NULL, NULL, 0, 0 },
	{ "99999", 1, NO, NULL, NULL, 0, 0 },
	{ "100000", 1, NO, NULL, NULL, 0, 0 },
	{ "", 0, NO, NULL, NULL, 0, 0 },
	{ "", 1, NO, NULL, NULL, 0, 0 },
	{ "unix:", 0, NO, NULL, NULL, 0, 0 },
	{ "unix:", 1, NO, NULL, NULL, 0, 0 },
	{ "h:", 0, NO, NULL, NULL, 0, 0 },
	{ ":", 1, NO, NULL, NULL, 0, 0 },
	{ "h", 0, NO, NULL, NULL, 0, 0 },
	{ "h:x", 0, NO, NULL, NULL, 0, 0 },
	{ "h:-1", 1, NO, NULL, NULL, 0, 0 },
	{ "h:+80", 0, NO, NULL, NULL, 0, 0 },
	{ "h:80 ", 0, NO, NULL, NULL, 0, 0 },
	{ "h:8 0", 0, NO, NULL, NULL, 0, 0 },
	{ "[::1]", 0, NO, NULL, NULL, 0, 0 },
	{ "[::1]80", 0, NO, NULL, NULL, 0, 0 },
	{ "[::1:80", 0, NO, NULL, NULL, 0, 0 },
	{ "[]:80", 0, NO, NULL, NULL, 0, 0 },
	{ "[::1]:", 0, NO, NULL, NULL, 0, 0 },
	{ "2000-1000", 1, NO, NULL, NULL, 0, 0 },
	{ "0-10", 1, NO, NULL, NULL, 0, 0 },
	{ "1000-", 1, NO, NULL, NULL, 0, 0 },
	{ "-1000", 1, NO, NULL, NULL, 0, 0 },
	{ "1000-70000", 1, NO, NULL, NULL, 0, 0 },
	{ "1-2-3", 1, NO, NULL, NULL, 0, 0 },
	{ "udp:", 0, NO, NULL, NULL, 0, 0 },
	{ "udp:h:", 0, NO, NULL, NULL, 0, 0 },
	{ "udp:1:2:3", 0, NO, NULL, NULL, 0, 0 },
	{ "udp:h:0", 0, NO, NULL, NULL, 0, 0 },
};
/* clang-format on */

static int
t_accepted(void)
{
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (check_parse(&accepted[i]) != 0)
			return (1);
	return (0);
}

static int
t_refused(void)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (check_parse(&refused[i]) != 0)
			return (1);
	return (0);
}

static int
t_long(void)
{
	char s[600], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct addr a;
	const char *why;

	/* The longest unix path that fits, and one byte more. */
	memcpy(s, "unix:", 5);
	memset(s + 5, 'p', sizeof(path) - 1);
	s[5 + sizeof(path) - 1] = '\0';
	CHECK(addr_parse(s, 0, &a, &why) == 0 &&
	    strlen(a.path) == sizeof(path) - 1);
	s[5 + sizeof(path) - 1] = 'p';
	s[5 + sizeof(path)] = '\0';
	CHECK(addr_parse(s, 0, &a, &why) == -1 && errno == EINVAL);
	/* Host names up to the buffer, and past it. */
	memset(s, 'h', 255);
	strcpy(s + 255, ":80");
	CHECK(addr_parse(s, 0, &a, &why) == 0 && strlen(a.host) == 255);
	memset(s, 'h', 256);
	strcpy(s + 256, ":80");
	CHECK(addr_parse(s, 0, &a, &why) == -1 && errno == EINVAL);
	s[0] = '[';
	memset(s + 1, 'a', 300);
	strcpy(s + 301, "]:80");
	CHECK(addr_parse(s, 0, &a, &why) == -1 && errno == EINVAL);
	/* A long range. */
	CHECK(addr_parse("0000000000001-2", 1, &a, &why) == -1);
	CHECK(addr_parse("1-0000000000002", 1, &a, &why) == -1);
	return (0);
}

static int
t_str(void)
{
	char out[ADDR_STRLEN], host[128];
	unsigned port;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(40123);
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	CHECK(strcmp(addr_str(out, (void *)&in, sizeof(in)),
		  "127.0.0.1:40123") == 0);
	addr_host_port((void *)&in, sizeof(in), host, sizeof(host), &port);
	CHECK(strcmp(host, "127.0.0.1") == 0 && port == 40123);
	in.sin_port = htons(0);
	inet_pton(AF_INET, "0.0.0.0", &in.sin_addr);
	CHECK(strcmp(addr_str(out, (void *)&in, sizeof(in)), "0.0.0.0:0") == 0);

	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(1601);
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	CHECK(strcmp(addr_str(out, (void *)&in6, sizeof(in6)), "[::1]:1601") ==
	    0);
	addr_host_port((void *)&in6, sizeof(in6), host, sizeof(host), &port);
	CHECK(strcmp(host, "::1") == 0 && port == 1601);
	inet_pton(AF_INET6, "2001:db8::42:1", &in6.sin6_addr);
	in6.sin6_port = htons(65535);
	CHECK(strcmp(addr_str(out, (void *)&in6, sizeof(in6)),
		  "[2001:db8::42:1]:65535") == 0);
	/* IPv4-mapped: written as IPv4. */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
	in6.sin6_port = htons(80);
	CHECK(strcmp(addr_str(out, (void *)&in6, sizeof(in6)), "10.1.2.3:80") ==
	    0);
	addr_host_port((void *)&in6, sizeof(in6), host, sizeof(host), &port);
	CHECK(strcmp(host, "10.1.2.3") == 0 && port == 80);

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/tmp/q.sock");
	CHECK(strcmp(addr_str(out, (void *)&un,
			 offsetof(struct sockaddr_un, sun_path) +
			     strlen(un.sun_path) + 1),
		  "unix:/tmp/q.sock") == 0);
	/* The length without the NUL, and the whole structure. */
	CHECK(strcmp(addr_str(out, (void *)&un,
			 offsetof(struct sockaddr_un, sun_path) +
			     strlen(un.sun_path)),
		  "unix:/tmp/q.sock") == 0);
	CHECK(strcmp(addr_str(out, (void *)&un, sizeof(un)),
		  "unix:/tmp/q.sock") == 0);
	/* An unnamed socket (the client end of a connection). */
	CHECK(strcmp(addr_str(out, (void *)&un, sizeof(sa_family_t)),
		  "unix:") == 0);
	/* The longest path, not NUL-terminated in sun_path. */
	memset(un.sun_path, 'p', sizeof(un.sun_path));
	addr_str(out, (void *)&un, sizeof(un));
	CHECK(strncmp(out, "unix:ppp", 8) == 0 && strlen(out) < ADDR_STRLEN);
	CHECK(strlen(out) == 5 + sizeof(un.sun_path));
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "addr_parse: accepted forms", t_accepted },
	{ "addr_parse: refused forms", t_refused },
	{ "addr_parse: long paths and host names", t_long },
	{ "addr_str: IPv4, IPv6, v4-mapped, unix", t_str },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
