/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * gate: copy standard input to standard output, and stop itself (SIGSTOP)
 * right after the Nth line has been written, so a test can act at a point
 * in the stream chosen by the data, not by the clock ("kill the proxy
 * once 50000 lines are out").  SIGCONT lets it carry on; nothing read
 * is lost or reordered.  The reader it stands for is then blocked, so
 * whatever writes into its input is held by flow control.
 *
 *   gate -n N [-m markfile]
 *
 * The mark file is created just before stopping.  Exits 0 at end of input.
 */
#include "helper.h"

int
main(int argc, char *argv[])
{
	static char buf[65536];
	const char *mark = NULL;
	long long left = -1;
	int ch;

	h_prog = "gate";
	while ((ch = getopt(argc, argv, "+m:n:")) != -1) {
		switch (ch) {
		case 'm':
			mark = optarg;
			break;
		case 'n':
			left = atoll(optarg);
			break;
		default:
			fprintf(stderr, "usage: gate -n N [-m markfile]\n");
			exit(64);
		}
	}
	if (left < 0)
		h_diex("-n N is required");
	for (;;) {
		ssize_t r = read(0, buf, sizeof(buf));
		size_t off = 0;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			h_die("read");
		}
		if (r == 0)
			return (0);
		/* Find the line that makes N, if it is in this chunk. */
		while (left > 0 && off < (size_t)r) {
			char *nl = memchr(buf + off, '\n', (size_t)r - off);

			if (nl == NULL)
				break;
			off = (size_t)(nl - buf) + 1;
			if (--left == 0)
				break;
		}
		if (left == 0 && off > 0) {
			int fd;

			if (h_write_all(1, buf, off) == -1)
				h_die("write");
			if (mark != NULL) {
				fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC,
				    0644);
				if (fd == -1)
					h_die("%s", mark);
				close(fd);
			}
			left = -1; /* once */
			raise(SIGSTOP);
		} else
			off = 0;
		if (h_write_all(1, buf + off, (size_t)r - off) == -1)
			h_die("write");
	}
}
