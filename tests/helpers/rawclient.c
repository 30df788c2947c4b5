/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * rawclient: a plain byte-stream client that shows exactly what it sees of
 * each end of a connection, for the half-close tests of quilt-listen -R
 * (nc hides some of it).
 *
 *   rawclient [-m markfile] address
 *
 * Copies standard input to the socket; at end of input it shuts the
 * socket down for writing (SHUT_WR) and keeps reading.  Copies the socket
 * to standard output; at the server's end of stream it creates the mark
 * file, closes standard output and keeps sending its input.
 *
 * Exit status: 0 when both directions ended cleanly (its own SHUT_WR sent,
 * the server's end received); 3 when the connection was reset or closed
 * under it while it still had input to send (stderr says which); 2 on
 * other errors.
 */
#include <poll.h>

#include "helper.h"

static void
mark_eof(const char *mark)
{
	int fd;

	if (mark == NULL)
		return;
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		h_die("%s", mark);
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct qaddr a;
	const char *mark = NULL;
	char buf[65536];
	int ch, s, in_open = 1, net_open = 1;

	h_prog = "rawclient";
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+m:")) != -1) {
		switch (ch) {
		case 'm':
			mark = optarg;
			break;
		default:
			fprintf(stderr,
			    "usage: rawclient [-m markfile] address\n");
			exit(64);
		}
	}
	if (optind + 1 != argc)
		h_diex("need one address");
	if (h_parse_addr(argv[optind], &a) == -1)
		h_diex("bad address: %s", argv[optind]);
	if ((s = h_connect(&a)) == -1)
		h_die("connect %s", argv[optind]);

	while (in_open || net_open) {
		struct pollfd pfd[2];
		ssize_t r;

		pfd[0].fd = in_open ? 0 : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = s;
		pfd[1].events = net_open ? POLLIN : 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			h_die("poll");
		}
		if (net_open &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = read(s, buf, sizeof(buf));
			if (r > 0) {
				if (h_write_all(1, buf, (size_t)r) == -1)
					h_die("write stdout");
			} else if (r == 0) {
				net_open = 0;
				close(1);
				mark_eof(mark);
			} else if (errno == ECONNRESET) {
				fprintf(stderr,
				    "rawclient: connection reset by the server\n");
				exit(3);
			} else if (errno != EAGAIN && errno != EINTR) {
				h_die("read");
			}
		} else if (!net_open && in_open &&
		    (pfd[1].revents & (POLLHUP | POLLERR))) {
			/* Gone both ways before we finished sending. */
			fprintf(stderr,
			    "rawclient: connection closed by the server while sending\n");
			exit(3);
		}
		if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
			r = read(0, buf, sizeof(buf));
			if (r > 0) {
				if (h_write_all(s, buf, (size_t)r) == -1) {
					fprintf(stderr,
					    "rawclient: write: %s\n",
					    strerror(errno));
					exit(3);
				}
			} else if (r == 0) {
				in_open = 0;
				shutdown(s, SHUT_WR);
			} else if (errno != EINTR && errno != EAGAIN) {
				h_die("read stdin");
			}
		}
	}
	return (0);
}
