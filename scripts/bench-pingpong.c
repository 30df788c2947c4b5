/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-pingpong: the minimal C TCP ping-pong quilt-ping is measured against.
 *
 *	bench-pingpong server READYFILE
 *		listens on 127.0.0.1:0, writes the port to READYFILE, echoes
 *		one connection until it ends
 *	bench-pingpong client PORT COUNT SIZE INTERVAL
 *		COUNT round trips of SIZE bytes, one every INTERVAL seconds
 *		(as ping -i), and prints each round trip in ms, one a line
 *
 * Blocking sockets, TCP_NODELAY, one write and reads until SIZE bytes are
 * back: the floor a user-space round trip over loopback can reach.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
die(const char *what)
{
	fprintf(stderr, "bench-pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
readfull(int s, char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(s, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (r == 0)
			return (0);
		p += r;
		n -= (size_t)r;
	}
	return (1);
}

static void
nodelay(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		die("TCP_NODELAY");
}

static int
server(const char *ready)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[65536], tmp[4096];
	ssize_t r;
	FILE *f;
	int ls, s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sin, &len) == -1)
		die("listen");
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%d\n", ntohs(sin.sin_port)) < 0 || fclose(f) == EOF ||
	    rename(tmp, ready) == -1)
		die(ready);
	if ((s = accept(ls, NULL, NULL)) == -1)
		die("accept");
	nodelay(s);
	while ((r = read(s, buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (write(s, buf, r) != r)
			die("write");
	}
	return (0);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static int
client(int port, long count, long size, double interval)
{
	struct sockaddr_in sin;
	struct timespec ts;
	double *rtt, t0, next;
	char *buf;
	long i;
	int s;

	if ((rtt = calloc(count, sizeof(*rtt))) == NULL ||
	    (buf = calloc(1, size ? size : 1)) == NULL)
		die("calloc");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	nodelay(s);
	next = now();
	for (i = 0; i < count; i++) {
		t0 = now();
		if (write(s, buf, size) != size)
			die("write");
		if (readfull(s, buf, size) != 1)
			die("read");
		rtt[i] = (now() - t0) * 1000;
		next += interval;
		if (interval > 0 && (t0 = next - now()) > 0) {
			ts.tv_sec = (time_t)t0;
			ts.tv_nsec = (long)((t0 - ts.tv_sec) * 1e9);
			while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
				;
		}
	}
	close(s);
	for (i = 0; i < count; i++)
		printf("%.4f\n", rtt[i]);
	return (fflush(stdout) == EOF);
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return (server(argv[2]));
	if (argc == 6 && strcmp(argv[1], "client") == 0) {
		int port = atoi(argv[2]);
		long count = atol(argv[3]), size = atol(argv[4]);
		double interval = atof(argv[5]);

		if (port < 1 || port > 65535 || count < 1 || size < 0 ||
		    size > 65536 || interval < 0) {
			fprintf(stderr, "bench-pingpong: bad arguments\n");
			return (64);
		}
		return (client(port, count, size, interval));
	}
	fprintf(stderr, "usage: bench-pingpong server READYFILE | "
	    "client PORT COUNT SIZE INTERVAL\n");
	return (64);
}
