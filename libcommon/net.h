/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Sockets: listen (port 0, ranges, backlog, dual stack), connect with a
 * timeout, and the few options every connection gets.  Every fd returned is
 * non-blocking and close-on-exec.
 */
#ifndef QUILT_NET_H
#define QUILT_NET_H

#include <sys/socket.h>

#include "addr.h"

/*
 * Bind a listening socket (SOCK_STREAM) or a bound datagram socket
 * (SOCK_DGRAM) for a.  An empty host means all interfaces: IPv6 with
 * IPv4-mapped addresses where the host has IPv6, else IPv4.  A port range
 * tries its ports from a random one on.  A Unix socket file that a dead
 * process left (connect refused) is replaced; one that a live process
 * answers on, or a file that is not a socket, is EADDRINUSE.  Returns the
 * fd with the bound address in *ss, or -1 with errno (and *gai set when
 * resolving failed).
 */
int net_listen(const struct addr *a, int type, int backlog,
    struct sockaddr_storage *ss, socklen_t *sslen, int *gai);

/*
 * Connect to a (stream), trying each resolved address until one answers,
 * within timeout_ms in all.  Returns the fd, or -1 with errno
 * (ECONNREFUSED, ETIMEDOUT, ...) or with *gai set to a getaddrinfo error.
 */
int net_connect(const struct addr *a, int timeout_ms, int *gai);

/* Non-blocking and close-on-exec; TCP_NODELAY on TCP.  -1 on error. */
int net_setup_fd(int fd);

/* Milliseconds of CLOCK_MONOTONIC. */
long long net_now_ms(void);

#endif
