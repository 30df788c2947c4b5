/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Running under a service manager, without libsystemd: the listening
 * socket of systemd's socket activation (LISTEN_FDS, LISTEN_PID: the
 * sockets start at fd 3) and the readiness protocol (NOTIFY_SOCKET names
 * a Unix datagram socket, a path or "@" for an abstract name; each
 * notification is one datagram such as "READY=1").  Both read their
 * variables once and unset them, so that children do not take what was
 * meant for us.
 */
#ifndef QUILT_SERVICE_H
#define QUILT_SERVICE_H

/*
 * The listening socket passed to us: 1 with *fd set (fd 3, taken as
 * service_take_fd does), 0 when none was (no LISTEN_FDS, or LISTEN_PID is
 * another process's), -1 with *why set when LISTEN_FDS is malformed,
 * passes more than one socket, or fd 3 is not a listening stream socket
 * (nor, when udp is set, a bound UDP socket: quilt-listen's udp:).
 * LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES are unset in every case.
 */
int service_listen_fd(int *fd, int udp, const char **why);

/*
 * Check that fd is a listening stream socket (or, when udp is set, an IPv4
 * or IPv6 datagram socket) and make it non-blocking and close-on-exec: 0,
 * or -1 with *why set.
 */
int service_take_fd(int fd, int udp, const char **why);

/*
 * Take NOTIFY_SOCKET (and unset it).  0, also when it is not set; -1 with
 * *why set when it names no socket we can write to ("@name" and "/path"
 * are).
 */
int service_notify_init(const char **why);

/*
 * Send state ("READY=1", "STOPPING=1") as one datagram to the socket
 * NOTIFY_SOCKET named; 0 at once when there was none.  -1 with errno
 * when sending failed.
 */
int service_notify(const char *state);

#endif
