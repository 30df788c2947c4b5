/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"

long long
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
}

int
net_setup_fd(int fd)
{
	int on = 1, fl;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return (-1);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return (0);
}

static int
resolve(const struct addr *a, int type, int passive, struct addrinfo **res,
    int *gai)
{
	struct addrinfo hints;
	char port[8];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(port, sizeof(port), "%u", a->port_lo);
	r = getaddrinfo(a->host[0] ? a->host : NULL, port, &hints, res);
	if (r != 0) {
		*gai = r;
		errno = r == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return (-1);
	}
	return (0);
}

/*
 * A socket file at un that nobody answers on (connect refused): one a dead
 * process left.  A live listener (connected, or its backlog full), a file
 * that is not a socket, or anything unsure: not stale.
 */
static int
unix_stale(const struct sockaddr_un *un, socklen_t len, int type)
{
	struct stat st;
	int fd, r, e;

	if (lstat(un->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return (0);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) ==
	    -1)
		return (0);
	r = connect(fd, (const struct sockaddr *)un, len);
	e = errno;
	close(fd);
	return (r == -1 && e == ECONNREFUSED);
}

static int
bind_unix(const struct addr *a, int type, int backlog,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	int fd, r;

	memset(ss, 0, sizeof(*ss));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, a->path);
	*sslen = sizeof(*un);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	r = bind(fd, (struct sockaddr *)un, *sslen);
	/* A dead listener's socket is replaced; a live one's never. */
	if (r == -1 && errno == EADDRINUSE && unix_stale(un, *sslen, type)) {
		(void)unlink(un->sun_path);
		r = bind(fd, (struct sockaddr *)un, *sslen);
	}
	if (r == -1 || (type == SOCK_STREAM && listen(fd, backlog) == -1) ||
	    net_setup_fd(fd) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

/* Try one port on the resolved addresses; -1 with errno of the last try. */
static int
bind_port(const struct addr *a, int type, int backlog, unsigned port,
    struct sockaddr_storage *ss, socklen_t *sslen, int *gai)
{
	struct addrinfo *res, *ai;
	struct addr tmp = *a;
	int fd = -1, on = 1, off = 0, e = EADDRNOTAVAIL;

	tmp.port_lo = port;
	if (resolve(&tmp, type, 1, &res, gai) == -1)
		return (-1);
	/* All interfaces: prefer one dual-stack IPv6 socket. */
	for (int pass = 0; pass < 2 && fd == -1; pass++) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if ((pass == 0) != (ai->ai_family == AF_INET6))
				continue;
			fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd == -1) {
				e = errno;
				continue;
			}
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
			if (ai->ai_family == AF_INET6 && a->host[0] == '\0')
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &off, sizeof(off));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    (type != SOCK_STREAM || listen(fd, backlog) == 0) &&
			    net_setup_fd(fd) == 0)
				break;
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = e;
		return (-1);
	}
	*sslen = sizeof(*ss);
	getsockname(fd, (struct sockaddr *)ss, sslen);
	return (fd);
}

int
net_listen(const struct addr *a, int type, int backlog,
    struct sockaddr_storage *ss, socklen_t *sslen, int *gai)
{
	unsigned span, start;
	int fd = -1;

	*gai = 0;
	if (a->kind == ADDR_UNIX)
		return (bind_unix(a, type, backlog, ss, sslen));
	if (a->port_lo == a->port_hi)
		return (
		    bind_port(a, type, backlog, a->port_lo, ss, sslen, gai));
	/* A random free port in the range, as Kamaelia's TCPServer did. */
	span = a->port_hi - a->port_lo + 1;
	start = seal_uniform(span);
	for (unsigned i = 0; i < span; i++) {
		fd = bind_port(a, type, backlog,
		    a->port_lo + (start + i) % span, ss, sslen, gai);
		if (fd != -1 || errno != EADDRINUSE)
			break;
	}
	return (fd);
}

static int
connect_one(int family, int type, const struct sockaddr *sa, socklen_t len,
    long long deadline)
{
	struct pollfd pfd;
	int fd, err = 0, r;
	socklen_t elen = sizeof(err);

	if ((fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return (-1);
	if (connect(fd, sa, len) == 0)
		goto done;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		long long left = deadline - net_now_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r == -1 && errno != EINTR)
			goto fail;
		if (r > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
done:
	if (net_setup_fd(fd) == -1)
		goto fail;
	return (fd);
fail:
	r = errno;
	close(fd);
	errno = r;
	return (-1);
}

int
net_connect(const struct addr *a, int timeout_ms, int *gai)
{
	long long deadline = net_now_ms() + timeout_ms;
	struct addrinfo *res, *ai;
	int fd = -1, e = ECONNREFUSED;

	*gai = 0;
	if (a->kind == ADDR_UNIX) {
		struct sockaddr_un un;

		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		strcpy(un.sun_path, a->path);
		return (connect_one(AF_UNIX, SOCK_STREAM,
		    (struct sockaddr *)&un, sizeof(un), deadline));
	}
	if (resolve(a, SOCK_STREAM, 0, &res, gai) == -1)
		return (-1);
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = connect_one(ai->ai_family, SOCK_STREAM, ai->ai_addr,
		    ai->ai_addrlen, deadline);
		if (fd == -1)
			e = errno;
		if (fd == -1 && errno == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = e;
	return (fd);
}
