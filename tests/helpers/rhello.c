/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * rhello: relay hello datagrams (libcommon/rhello.h) made up, for the
 * tests of what a relay drops.  Built with the codec and seal_hmac, so
 * that a datagram is right where it is meant to be, and wrong only where
 * told; sent from any IPv4 source address and port (a raw socket: root),
 * so that one can come from a relay's own address.
 *
 *   rhello [-bgHu] [-c counter] [-k keyfile] [-n count] src dst from to
 *	src, dst: IPv4 address:port.  -c: the counter (default the time of
 *	day in µs, as a relay's); -k: sealed with the MAC of that mesh key;
 *	-b: the MAC's last byte flipped; -u: unsealed even with -k; -g: 20
 *	bytes that are no hello instead; -H: the flag "hears you"; -n: the
 *	same datagram count times (default 1), 0.1 s apart.  Prints the
 *	counter it used.
 */
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <time.h>

#include "helper.h"
#include "rhello.h"
#include "seal.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rhello [-bgHu] [-c counter] [-k keyfile] "
	    "[-n count] src dst from to\n");
	exit(64);
}

static struct sockaddr_in
v4(const char *s)
{
	struct qaddr a;

	if (h_parse_addr(s, &a) == -1 || a.family != AF_INET)
		h_diex("not an IPv4 address and port: %s", s);
	return (*(struct sockaddr_in *)&a.ss);
}

int
main(int argc, char *argv[])
{
	unsigned char
	    dg[sizeof(struct iphdr) + sizeof(struct udphdr) + RHELLO_MAX];
	unsigned char *p = dg + sizeof(struct iphdr) + sizeof(struct udphdr);
	struct iphdr *ip = (struct iphdr *)dg;
	struct udphdr *udp = (struct udphdr *)(dg + sizeof(struct iphdr));
	unsigned char key[1][SEAL_KEYLEN];
	const char *keyfile = NULL, *why;
	struct sockaddr_in src, dst;
	struct rhello h;
	struct timespec ts;
	int ch, bad = 0, garbage = 0, hears = 0, unsealed = 0, count = 1, fd,
		on = 1, loose, len;
	unsigned long long counter;

	h_prog = "rhello";
	clock_gettime(CLOCK_REALTIME, &ts);
	counter = (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000;
	while ((ch = getopt(argc, argv, "bc:gHk:n:u")) != -1) {
		switch (ch) {
		case 'b':
			bad = 1;
			break;
		case 'c':
			counter = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			garbage = 1;
			break;
		case 'H':
			hears = 1;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'u':
			unsealed = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || count < 1 || count > 1000)
		usage();
	src = v4(argv[0]);
	dst = v4(argv[1]);
	memset(&h, 0, sizeof(h));
	h.flags = (hears ? RHELLO_HEARS : 0) |
	    (keyfile && !unsealed ? RHELLO_SEALED : 0);
	h.ms = 3000;
	h.counter = counter;
	h.from = argv[2];
	h.fromlen = strlen(argv[2]);
	h.to = argv[3];
	h.tolen = strlen(argv[3]);
	if (garbage) {
		memset(p, 'x', 20);
		len = 20;
	} else if ((len = rhello_encode(p, RHELLO_MAX, &h)) == -1)
		h_die("rhello_encode");
	if (h.flags & RHELLO_SEALED) {
		struct seal_hmac *k;

		if (seal_init() == -1 ||
		    seal_key_load(keyfile, key[0], &loose, &why) == -1)
			h_diex("key %s: %s", keyfile, why ? why : "unreadable");
		if ((k = seal_hmac_new(key, 1)) == NULL)
			h_die("seal_hmac_new");
		seal_hmac_make(k, p + len - RHELLO_MACLEN, p,
		    (size_t)len - RHELLO_MACLEN);
		if (bad)
			p[len - 1] ^= 1;
		seal_hmac_free(k);
	}
	memset(ip, 0, sizeof(*ip));
	ip->ihl = 5;
	ip->version = 4;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src.sin_addr.s_addr;
	ip->daddr = dst.sin_addr.s_addr;
	ip->tot_len = htons(
	    (uint16_t)(sizeof(*ip) + sizeof(*udp) + (size_t)len));
	memset(udp, 0, sizeof(*udp));
	udp->source = src.sin_port;
	udp->dest = dst.sin_port;
	udp->len = htons((uint16_t)(sizeof(*udp) + (size_t)len));
	udp->check = 0; /* none: allowed over IPv4 */
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) == -1)
		h_die("raw socket");
	for (int i = 0; i < count; i++) {
		struct timespec gap = {0, 100 * 1000000};

		if (i > 0)
			nanosleep(&gap, NULL);
		if (sendto(fd, dg, sizeof(*ip) + sizeof(*udp) + (size_t)len, 0,
			(struct sockaddr *)&dst, sizeof(dst)) == -1)
			h_die("sendto");
	}
	printf("%llu\n", counter);
	return (0);
}
