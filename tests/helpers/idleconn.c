/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * idleconn: open N connections that never send a byte (a peer that never
 * says hello), then wait until the server has closed every one of them.
 *
 *   idleconn [-n N] [-s FIRST-LAST] [-P readyfile] address   (default N = 45)
 *
 * -s binds connection i to 127.0.0.(FIRST + i % (LAST - FIRST + 1)), so that
 * they come from other addresses than the test's own peers on 127.0.0.1.
 * Once all N are connected, writes "connected N" to the ready file (or to
 * stdout).  Exits 0 when the server has closed all N (the hello timeout
 * did its work), printing "dropped N" on stdout.
 */
#include <poll.h>

#include "helper.h"

#define MAXN 1000

int
main(int argc, char *argv[])
{
	struct qaddr a, src;
	struct pollfd pfd[MAXN];
	const char *ready = NULL;
	char line[64];
	int ch, i, n = 45, open_, first = 0, last = 0;

	h_prog = "idleconn";
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+n:P:s:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'P':
			ready = optarg;
			break;
		case 's':
			if (sscanf(optarg, "%d-%d", &first, &last) != 2 ||
			    first < 1 || last < first || last > 254)
				h_diex("-s FIRST-LAST: 127.0.0.FIRST to LAST");
			break;
		default:
			fprintf(stderr,
			    "usage: idleconn [-n N] [-s FIRST-LAST] [-P readyfile] address\n");
			exit(64);
		}
	}
	if (optind + 1 != argc || n < 1 || n > MAXN)
		h_diex("need one address and 1 <= N <= %d", MAXN);
	if (h_parse_addr(argv[optind], &a) == -1)
		h_diex("bad address: %s", argv[optind]);
	for (i = 0; i < n; i++) {
		char from[32];

		if (first > 0) {
			snprintf(from, sizeof(from), "127.0.0.%d:0",
			    first + i % (last - first + 1));
			if (h_parse_addr(from, &src) == -1)
				h_diex("bad address: %s", from);
		}
		if ((pfd[i].fd = h_connect_from(&a, first > 0 ? &src : NULL)) ==
		    -1)
			h_die("connect %s (#%d)", argv[optind], i + 1);
		pfd[i].events = POLLIN;
	}
	snprintf(line, sizeof(line), "connected %d", n);
	if (ready != NULL)
		h_write_ready(ready, line);
	else {
		printf("%s\n", line);
		fflush(stdout);
	}
	for (open_ = n; open_ > 0;) {
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			h_die("poll");
		}
		for (i = 0; i < n; i++) {
			char buf[4096];
			ssize_t r;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf));
			if (r > 0)
				continue; /* an error line: fine */
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_--;
		}
	}
	printf("dropped %d\n", n);
	return (0);
}
