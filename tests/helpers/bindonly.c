/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bindonly: bind a TCP socket and never listen, so a connection to its
 * port is refused (the test of quilt-send's exit status 69).
 *
 *   bindonly [-P readyfile] [address]      (default 127.0.0.1:0)
 *
 * Writes "127.0.0.1:PORT" to the ready file (atomically) or to stdout,
 * then waits until killed.  No SO_REUSEADDR: a listener asked to bind the
 * same port gets EADDRINUSE.
 */
#include "helper.h"

int
main(int argc, char *argv[])
{
	struct qaddr a;
	const char *ready = NULL, *addr = "127.0.0.1:0";
	char name[256];
	int ch;

	h_prog = "bindonly";
	while ((ch = getopt(argc, argv, "+P:")) != -1) {
		switch (ch) {
		case 'P':
			ready = optarg;
			break;
		default:
			fprintf(stderr,
			    "usage: bindonly [-P readyfile] [address]\n");
			exit(64);
		}
	}
	if (optind < argc)
		addr = argv[optind];
	if (h_parse_addr(addr, &a) == -1)
		h_diex("bad address: %s", addr);
	h_sock_name(h_bind(&a, 0, 0), name, sizeof(name));
	if (ready != NULL)
		h_write_ready(ready, name);
	else {
		printf("%s\n", name);
		fflush(stdout);
	}
	for (;;)
		pause();
}
