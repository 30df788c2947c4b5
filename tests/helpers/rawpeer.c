/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * rawpeer: a TCP server that answers every connection with fixed bytes
 * and then reads and discards until the client closes: a peer that does
 * not speak the quilt protocol (garbage, a bad hello), for the tests of
 * exit status 76.
 *
 *   rawpeer [-P readyfile] [-s string] [address]   (default 127.0.0.1:0)
 *
 * The string is sent as given, after C escapes \n \r \t \\ \0 and \xHH
 * are turned into bytes (default "garbage, not a hello\n").  Connections
 * are served one after another.
 */
#include "helper.h"

static size_t
unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s != '\0') {
		if (*s != '\\' || s[1] == '\0') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n':
			out[n++] = '\n';
			s++;
			break;
		case 'r':
			out[n++] = '\r';
			s++;
			break;
		case 't':
			out[n++] = '\t';
			s++;
			break;
		case '0':
			out[n++] = '\0';
			s++;
			break;
		case 'x': {
			char hex[3] = {0};

			if (s[1] != '\0' && s[2] != '\0') {
				hex[0] = s[1];
				hex[1] = s[2];
				out[n++] = (char)strtol(hex, NULL, 16);
				s += 3;
			} else
				out[n++] = *s++;
			break;
		}
		default:
			out[n++] = *s++;
			break;
		}
	}
	return (n);
}

int
main(int argc, char *argv[])
{
	struct qaddr a;
	const char *ready = NULL, *addr = "127.0.0.1:0";
	const char *say = "garbage, not a hello\\n";
	char name[256], *out;
	size_t n;
	int ch, lfd;

	h_prog = "rawpeer";
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+P:s:")) != -1) {
		switch (ch) {
		case 'P':
			ready = optarg;
			break;
		case 's':
			say = optarg;
			break;
		default:
			fprintf(stderr,
			    "usage: rawpeer [-P readyfile] [-s string] [address]\n");
			exit(64);
		}
	}
	if (optind < argc)
		addr = argv[optind];
	if (h_parse_addr(addr, &a) == -1)
		h_diex("bad address: %s", addr);
	if ((out = malloc(strlen(say) + 1)) == NULL)
		h_die("malloc");
	n = unescape(say, out);
	lfd = h_bind(&a, 16, 1);
	h_sock_name(lfd, name, sizeof(name));
	if (ready != NULL)
		h_write_ready(ready, name);
	else {
		printf("%s\n", name);
		fflush(stdout);
	}
	for (;;) {
		char buf[65536];
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			h_die("accept");
		}
		(void)h_write_all(fd, out, n);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
}
