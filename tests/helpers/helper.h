/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Shared bits of the C test peers in tests/helpers/: addresses, sockets,
 * the ready file, full writes.  Header-only (static inline) because every
 * tests/helpers/NAME.c is linked on its own into $(BUILD)/helpers/NAME.
 *
 * Addresses: "host:port", "[v6]:port", ":port" / "port" (127.0.0.1),
 * "unix:/path".  Only numeric hosts and "localhost" are expected here.
 */
#ifndef QUILT_TEST_HELPER_H
#define QUILT_TEST_HELPER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *h_prog = "helper";

static inline void __attribute__((noreturn, format(printf, 1, 2)))
h_die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "%s: ", h_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e != 0)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	exit(2);
}

static inline void __attribute__((noreturn, format(printf, 1, 2)))
h_diex(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", h_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

struct qaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* Parse an address; port "0" is allowed.  Returns 0, or -1 on bad syntax. */
static inline int
h_parse_addr(const char *s, struct qaddr *a)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;

		if (strlen(s + 5) >= sizeof(un->sun_path) || s[5] == '\0')
			return (-1);
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, s + 5);
		a->len = sizeof(*un);
		a->family = AF_UNIX;
		return (0);
	}
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL || e[1] != ':')
			return (-1);
		n = (size_t)(e - s - 1);
		if (n >= sizeof(host))
			return (-1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		port = e + 2;
	} else if ((port = strrchr(s, ':')) != NULL) {
		n = (size_t)(port - s);
		if (n >= sizeof(host))
			return (-1);
		memcpy(host, s, n);
		host[n] = '\0';
		port++;
	} else {
		host[0] = '\0';
		port = s;
	}
	if (host[0] == '\0')
		strcpy(host, "127.0.0.1");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return (-1);
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	a->family = res->ai_family;
	freeaddrinfo(res);
	return (0);
}

/* Replace the port of an inet address. */
static inline void
h_set_port(struct qaddr *a, int port)
{
	if (a->family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else if (a->family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* "127.0.0.1:PORT", "[::1]:PORT" or "unix:/path" of a bound socket. */
static inline void
h_sock_name(int fd, char *buf, size_t sz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		h_die("getsockname");
	if (ss.ss_family == AF_UNIX) {
		snprintf(buf, sz, "unix:%s",
		    ((struct sockaddr_un *)&ss)->sun_path);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, sz, "%s:%d", host, ntohs(in->sin_port));
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, sz, "[%s]:%d", host, ntohs(in6->sin6_port));
	}
}

/* A bound (and, when backlog > 0, listening) stream socket. */
static inline int
h_bind(const struct qaddr *a, int backlog, int reuse)
{
	int fd, one = 1;

	if ((fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		h_die("socket");
	if (reuse && a->family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		h_die("bind");
	if (backlog > 0 && listen(fd, backlog) == -1)
		h_die("listen");
	return (fd);
}

/*
 * A stream socket connected to a, from the source address src when it is
 * not NULL (port 0: any); -1 with errno set.
 */
static inline int
h_connect_from(const struct qaddr *a, const struct qaddr *src)
{
	int fd, one = 1;

	if ((fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if ((src != NULL &&
		bind(fd, (const struct sockaddr *)&src->ss, src->len) == -1) ||
	    connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return (-1);
	}
	if (a->family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (fd);
}

/* A connected stream socket, or -1 with errno set. */
static inline int
h_connect(const struct qaddr *a)
{
	return (h_connect_from(a, NULL));
}

/* Write all of buf; -1 on error (EAGAIN is waited for with poll). */
static inline int
h_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/* Write "line\n" to path atomically (a temporary file renamed). */
static inline void
h_write_ready(const char *path, const char *line)
{
	char tmp[4096];
	FILE *f;

	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		h_die("%s", tmp);
	fprintf(f, "%s\n", line);
	if (fclose(f) != 0)
		h_die("%s", tmp);
	if (rename(tmp, path) == -1)
		h_die("rename %s", path);
}

#endif
