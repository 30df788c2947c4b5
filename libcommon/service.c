/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Where the notifications go: sun_path empty when nowhere. */
static struct {
	struct sockaddr_un sun;
	socklen_t len;
} N;

/* A whole decimal number without sign or leading zero, below 2^31. */
static long
number(const char *s)
{
	long v = 0;

	if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return (-1);
		v = v * 10 + (*s - '0');
	}
	return (v);
}

int
service_take_fd(int fd, int udp, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int), sslen = sizeof(ss);
	int type = 0, acc = 0, flags;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
		*why = "not a socket";
		return (-1);
	}
	len = sizeof(acc);
	if (udp && type == SOCK_DGRAM) {
		/* udp: a bound IP datagram socket */
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
			*why = "not a listening stream socket or a UDP socket";
			return (-1);
		}
	} else if (type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 ||
	    !acc) {
		*why = udp ? "not a listening stream socket or a UDP socket" :
			     "not a listening stream socket";
		return (-1);
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		*why = "cannot be made non-blocking and close-on-exec";
		return (-1);
	}
	return (0);
}

static int
listen_fd(int *fd, int udp, const char **why)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	long n;

	*fd = -1;
	if (fds == NULL)
		return (0);
	/* A variable for another process (our parent's, say) is not ours. */
	if (pid == NULL || number(pid) != (long)getpid())
		return (0);
	if ((n = number(fds)) < 0) {
		*why = "LISTEN_FDS is not a number";
		return (-1);
	}
	if (n == 0)
		return (0);
	if (n > 1) {
		*why = "LISTEN_FDS passes more than one socket";
		return (-1);
	}
	if (service_take_fd(3, udp, why) == -1) {
		*why = udp ?
		    "fd 3 is not a listening stream socket or a UDP socket" :
		    "fd 3 is not a listening stream socket";
		return (-1);
	}
	*fd = 3;
	return (1);
}

int
service_listen_fd(int *fd, int udp, const char **why)
{
	int r = listen_fd(fd, udp, why);

	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return (r);
}

int
service_notify_init(const char **why)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n;
	int r = 0;

	memset(&N, 0, sizeof(N));
	if (s == NULL)
		return (0);
	n = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || n < 2) {
		*why = "NOTIFY_SOCKET is not a path or an @abstract name";
		r = -1;
	} else if (n >= sizeof(N.sun.sun_path)) {
		*why = "NOTIFY_SOCKET is too long";
		r = -1;
	} else {
		N.sun.sun_family = AF_UNIX;
		memcpy(N.sun.sun_path, s, n);
		if (s[0] == '@')
			N.sun.sun_path[0] = '\0'; /* abstract: no NUL after */
		N.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		    (s[0] == '/'));
	}
	unsetenv("NOTIFY_SOCKET");
	return (r);
}

int
service_notify(const char *state)
{
	ssize_t n, len = (ssize_t)strlen(state);
	int fd, e;

	if (N.len == 0)
		return (0);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	n = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&N.sun,
	    N.len);
	e = errno;
	close(fd);
	if (n != len) {
		errno = n == -1 ? e : EMSGSIZE;
		return (-1);
	}
	return (0);
}
