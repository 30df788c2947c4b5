/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-idle: the floor the idle ring of 64 relays is measured against.
 *
 *	bench-idle N INTERVAL_MS
 *		N processes in a ring on 127.0.0.1, each with one UDP socket:
 *		every INTERVAL_MS (on the same grid of the monotonic clock as
 *		quilt-relay's keep-alives) each sends a 6-byte datagram to
 *		each of its two neighbours and reads theirs.  The N are its
 *		children; they end when it is killed.
 *
 * One process per node, one send and one receive wakeup per neighbour an
 * interval, nothing else: what a keep-alive of a third of a 3 s dead time
 * costs a mesh of N on this host at the least, whatever carries it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NMAX 1024

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec * 1000LL + t.tv_nsec / 1000000);
}

static void
die(const char *what)
{
	fprintf(stderr, "bench-idle: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
node(int s, const struct sockaddr_in *l, const struct sockaddr_in *r,
    long long every)
{
	long long next = (now_ms() / every + 1) * every;
	char b[64];

	for (;;) {
		struct pollfd f = {s, POLLIN, 0};
		long long t = now_ms();

		if (poll(&f, 1, next > t ? (int)(next - t) : 0) > 0)
			while (recv(s, b, sizeof(b), MSG_DONTWAIT) > 0)
				;
		if ((t = now_ms()) >= next) {
			(void)sendto(s, "alive", 6, 0, (const void *)l,
			    sizeof(*l));
			(void)sendto(s, "alive", 6, 0, (const void *)r,
			    sizeof(*r));
			next = (t / every + 1) * every;
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct sockaddr_in a[NMAX];
	static int s[NMAX];
	long long every;
	int n;

	if (argc != 3 || (n = atoi(argv[1])) < 3 || n > NMAX ||
	    (every = atoll(argv[2])) < 1) {
		fprintf(stderr,
		    "usage: bench-idle N INTERVAL_MS (3 <= N <= %d)\n", NMAX);
		return (64);
	}
	for (int i = 0; i < n; i++) {
		socklen_t len = sizeof(a[i]);

		memset(&a[i], 0, sizeof(a[i]));
		a[i].sin_family = AF_INET;
		a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((s[i] = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
		    bind(s[i], (struct sockaddr *)&a[i], sizeof(a[i])) == -1 ||
		    getsockname(s[i], (struct sockaddr *)&a[i], &len) == -1)
			die("socket");
	}
	for (int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == -1)
			die("fork");
		if (p == 0) {
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			for (int j = 0; j < n; j++)
				if (j != i)
					close(s[j]);
			node(s[i], &a[(i + n - 1) % n], &a[(i + 1) % n], every);
		}
	}
	for (int i = 0; i < n; i++)
		close(s[i]);
	for (;;)
		pause();
}
