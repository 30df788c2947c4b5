/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * udppeer: the far end of the udp: transport's handshake, made up, for the
 * tests of what a listener answers and what a client does with answers.
 * It builds its datagrams with the engine (libcommon/udp.h), so that they
 * are right where they are meant to be, and wrong only where told.
 *
 *   udppeer -m reject [-P readyfile] [-r reason] [listen_addr]
 *	a listener that answers every CONNECT with REJECT(reason) (default
 *	2, the version): 6 bytes, the client's id
 *   udppeer -m probe [-c] [-V version] [-H hello] [-n count] target
 *	a client: count CONNECTs (default 1), each from a socket of its own,
 *	without a cookie; with -c, each sent again with the cookie it got.
 *	-V puts another version in the first byte, -H another hello (the
 *	bytes given; default a quilt hello of this version).  Prints one
 *	line per answer, "cookie LEN", "reject REASON LEN", "accept LEN", or
 *	"none" after a second of silence; then, on stderr, "sent N bytes B,
 *	answers N bytes B, largest L".
 */
#include <poll.h>
#include <time.h>

#include "helper.h"
#include "udp.h"

static uint64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000);
}

static int
reject_peer(const char *laddr, const char *ready, int reason)
{
	struct qaddr la;
	static unsigned char b[65536];
	char name[256];
	int fd;

	if (h_parse_addr(laddr, &la) == -1 || la.family == AF_UNIX)
		h_diex("bad listen address: %s", laddr);
	if ((fd = socket(la.family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		h_die("socket");
	if (bind(fd, (const struct sockaddr *)&la.ss, la.len) == -1)
		h_die("bind %s", laddr);
	h_sock_name(fd, name, sizeof(name));
	h_write_ready(ready, name);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, b, sizeof(b), 0,
		    (struct sockaddr *)&from, &fl);
		unsigned char r[6];

		if (n < 9 || (b[0] & 15) != 1)
			continue;
		r[0] = (unsigned char)(UDP_VERSION << 4 | 4);
		memcpy(r + 1, b + 5, 4); /* the client's id */
		r[5] = (unsigned char)reason;
		(void)sendto(fd, r, sizeof(r), 0, (struct sockaddr *)&from, fl);
	}
}

/* The next datagram from fd within a second: its length, or -1. */
static ssize_t
answer(int fd, unsigned char *b, size_t cap)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, 1000) <= 0)
		return (-1);
	return (recv(fd, b, cap, 0));
}

static void
say(const unsigned char *b, ssize_t n)
{
	if (n < 0)
		printf("none\n");
	else if (n >= 1 && (b[0] & 15) == 2)
		printf("cookie %zd\n", n);
	else if (n >= 6 && (b[0] & 15) == 4)
		printf("reject %u %zd\n", b[5], n);
	else if (n >= 1 && (b[0] & 15) == 3)
		printf("accept %zd\n", n);
	else
		printf("other %zd\n", n);
	fflush(stdout);
}

static int
probe(const char *taddr, int cookie, int version, const char *hello, long count)
{
	static const char def[] =
	    "115:0:,5:hello,5:quilt,3:1-1,10:node=probe,"
	    "40:session=00112233445566778899aabbccddeeff,9:max=65536,"
	    "8:sealed=0,6:from=0,,";
	static unsigned char d[2048], b[65536];
	unsigned long long sent = 0, sbytes = 0, got = 0, gbytes = 0,
			   largest = 0;
	struct udp_params p;
	struct qaddr ta;

	if (h_parse_addr(taddr, &ta) == -1 || ta.family == AF_UNIX)
		h_diex("bad target address: %s", taddr);
	if (hello == NULL)
		hello = def;
	udp_params_default(&p);
	for (long i = 0; i < count; i++) {
		struct udp *u = udp_connect(&p, hello, strlen(hello), now_us());
		int fd = socket(ta.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		size_t n;
		ssize_t r;

		if (u == NULL || fd == -1 ||
		    connect(fd, (const struct sockaddr *)&ta.ss, ta.len) == -1)
			h_die("udp_connect");
		for (int round = 0; round < 1 + cookie; round++) {
			if ((n = udp_output(u, d, sizeof(d), now_us())) == 0)
				break;
			if (version != UDP_VERSION)
				d[0] = (unsigned char)(version << 4 |
				    (d[0] & 15));
			if (send(fd, d, n, 0) != (ssize_t)n)
				h_die("send");
			sent++;
			sbytes += n;
			r = answer(fd, b, sizeof(b));
			if (count == 1)
				say(b, r);
			if (r < 0)
				break;
			got++;
			gbytes += r;
			if ((unsigned long long)r > largest)
				largest = r;
			(void)udp_input(u, b, r, now_us());
		}
		udp_free(u);
		close(fd);
	}
	fprintf(stderr,
	    "udppeer: sent %llu bytes %llu, answers %llu bytes %llu, "
	    "largest %llu\n",
	    sent, sbytes, got, gbytes, largest);
	return (0);
}

int
main(int argc, char *argv[])
{
	const char *mode = NULL, *ready = NULL, *hello = NULL;
	int ch, cookie = 0, reason = UDP_R_VERSION, version = UDP_VERSION;
	long count = 1;

	h_prog = "udppeer";
	while ((ch = getopt(argc, argv, "+cH:m:n:P:r:V:")) != -1) {
		switch (ch) {
		case 'c':
			cookie = 1;
			break;
		case 'H':
			hello = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'P':
			ready = optarg;
			break;
		case 'r':
			reason = atoi(optarg);
			break;
		case 'V':
			version = atoi(optarg);
			break;
		default:
			h_diex(
			    "usage: see the comment at the top of udppeer.c");
		}
	}
	argc -= optind;
	argv += optind;
	if (mode != NULL && strcmp(mode, "reject") == 0)
		return (reject_peer(argc > 0 ? argv[0] : "127.0.0.1:0", ready,
		    reason));
	if (mode != NULL && strcmp(mode, "probe") == 0 && argc == 1)
		return (probe(argv[0], cookie, version, hello, count));
	h_diex("usage: udppeer -m reject|probe ...");
}
