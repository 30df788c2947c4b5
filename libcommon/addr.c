/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_port(const char *s, unsigned *v)
{
	unsigned long x = 0;

	if (*s == '\0' || strlen(s) > 5)
		return (-1);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		x = x * 10 + (*s - '0');
	}
	if (x > 65535)
		return (-1);
	*v = x;
	return (0);
}

int
addr_parse(const char *s, int listener, struct addr *a, const char **why)
{
	const char *port, *dash;
	char pbuf[16];

	memset(a, 0, sizeof(*a));
	a->kind = ADDR_TCP;
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		a->kind = ADDR_UNIX;
		if (*s == '\0') {
			*why = "empty socket path";
			goto bad;
		}
		if (strlen(s) >= sizeof(a->path)) {
			*why = "socket path too long";
			goto bad;
		}
		strcpy(a->path, s);
		return (0);
	}
	if (strncmp(s, "udp:", 4) == 0) {
		s += 4;
		a->kind = ADDR_UDP;
	}
	if (*s == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL || e[1] != ':' ||
		    (size_t)(e - s - 1) >= sizeof(a->host) || e == s + 1) {
			*why = "expected [v6addr]:port";
			goto bad;
		}
		memcpy(a->host, s + 1, e - s - 1);
		port = e + 2;
	} else if ((port = strrchr(s, ':')) != NULL) {
		if (memchr(s, ':', port - s) != NULL) {
			*why =
			    "an IPv6 address goes in brackets: [v6addr]:port";
			goto bad;
		}
		if ((size_t)(port - s) >= sizeof(a->host)) {
			*why = "host name too long";
			goto bad;
		}
		memcpy(a->host, s, port - s);
		port++;
	} else {
		port = s;
	}
	if ((dash = strchr(port, '-')) != NULL) {
		if (!listener || (size_t)(dash - port) >= sizeof(pbuf)) {
			*why = "a port range is for listeners";
			goto bad;
		}
		memcpy(pbuf, port, dash - port);
		pbuf[dash - port] = '\0';
		if (parse_port(pbuf, &a->port_lo) == -1 ||
		    parse_port(dash + 1, &a->port_hi) == -1 ||
		    a->port_lo == 0 || a->port_lo > a->port_hi) {
			*why = "bad port range";
			goto bad;
		}
		return (0);
	}
	if (parse_port(port, &a->port_lo) == -1) {
		*why = "bad port";
		goto bad;
	}
	a->port_hi = a->port_lo;
	if (a->port_lo == 0 && !listener) {
		*why = "port 0 is for listeners";
		goto bad;
	}
	return (0);
bad:
	errno = EINVAL;
	return (-1);
}

void
addr_host_port(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostlen, unsigned *port)
{
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, hostlen);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
			    hostlen);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, host, hostlen);
		*port = ntohs(in6->sin6_port);
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		size_t n = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) :
		    0;

		if (n >= hostlen)
			n = hostlen - 1;
		memcpy(host, un->sun_path, n);
		host[n] = '\0';
		host[strnlen(host, n)] = '\0';
	} else {
		snprintf(host, hostlen, "?");
	}
}

char *
addr_str(char *out, const struct sockaddr *sa, socklen_t len)
{
	char host[128];
	unsigned port;

	addr_host_port(sa, len, host, sizeof(host), &port);
	if (sa->sa_family == AF_UNIX)
		snprintf(out, ADDR_STRLEN, "unix:%s", host);
	else if (strchr(host, ':') != NULL)
		snprintf(out, ADDR_STRLEN, "[%s]:%u", host, port);
	else
		snprintf(out, ADDR_STRLEN, "%s:%u", host, port);
	return (out);
}
