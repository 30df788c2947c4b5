/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * udpproxy: a UDP forwarding proxy that loses, duplicates and reorders
 * datagrams with a seeded generator, for the loss tests of the udp:
 * transport (this kernel has no netem, and nftables can drop but not
 * reorder).
 *
 *   udpproxy [-1v] [-P readyfile] [-p port] [-s seed] [-l loss] [-d dup]
 *            [-r reorder] [-D ms] [-L ms] [-f forge] [-t cut] [-i id]
 *            [-S spoof] [listen_addr] target_addr
 *
 * It binds listen_addr (default 127.0.0.1:0; -p PORT replaces its port),
 * writes its address ("127.0.0.1:PORT") to the ready file, and forwards
 * each datagram to target_addr from a socket of its own per client source
 * address (as a NAT would: the target sees one source per client), and the
 * answers back to that client.  At most 64 clients; one silent for a
 * minute is forgotten.
 *
 * Faults, each a fraction of the datagrams (0 to 1), drawn from a
 * generator seeded with -s (default 1), both ways (-1: client to target
 * only):
 *   -l F   lost
 *   -d F   duplicated (the copy follows after up to 2 x the delay)
 *   -r F   reordered: held back 1 to 2 x the delay (-D, default 5 ms)
 *          while the others pass
 *   -L MS  every datagram held MS ms, both ways (a link's latency: the
 *          round trip is at least 2 x MS); the faults above come on top
 * and, for the tests of bad datagrams, a copy of the datagram that goes
 * as well as the datagram itself (which is not lost for it):
 *   -f F   forged: one byte after the 9 of the header flipped
 *   -t F   cut short: 1 to 8 bytes less
 *   -i F   another connection id (bytes 1-4 flipped), from the right source
 *   -S F   from another source address (client to target only)
 * SIGUSR1 toggles a blackout (everything lost both ways: a peer that
 * vanishes).  -v prints the counts on stderr at the end (SIGTERM, SIGINT):
 *   udpproxy: N forwarded, N lost, N duplicated, N reordered, N forged,
 *   N cut, N misaddressed, N spoofed
 */
#include <poll.h>
#include <time.h>

#include "helper.h"

#define MAXCL 64
#define DGMAX 65536
#define MAXHELD 4096
#define IDLE_MS 60000

struct client {
	struct sockaddr_storage ss;
	socklen_t len;
	int fd; /* to the target; -1: a free slot */
	long long seen;
};

struct held {
	long long at;
	int fd; /* send on it */
	struct sockaddr_storage to;
	socklen_t tolen; /* 0: fd is connected */
	size_t len;
	unsigned char *b;
};

static struct client cl[MAXCL];
static struct held held[MAXHELD];
static int nheld;
static unsigned long long rng = 1;
static double loss, dupl, reorder, forge, cut, badid, spoof;
static int spoof_fd = -1;
static long long delay_ms = 5, latency_ms;
static int oneway, verbose;
static volatile sig_atomic_t stop, blackout;
static unsigned long long n_fwd, n_lost, n_dup, n_reord, n_forge, n_cut,
    n_badid, n_spoof;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	blackout = !blackout;
}

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* A uniform number in [0, 1). */
static double
draw(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((rng >> 11) * (1.0 / 9007199254740992.0));
}

static double
fraction(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1)
		h_diex("%s must be a fraction from 0 to 1: %s", what, s);
	return (v);
}

static void
send_now(int fd, const void *b, size_t len, const struct sockaddr_storage *to,
    socklen_t tolen)
{
	/* A full socket buffer loses the datagram, as a network would. */
	if (tolen)
		(void)sendto(fd, b, len, 0, (const struct sockaddr *)to, tolen);
	else
		(void)send(fd, b, len, 0);
	n_fwd++;
}

static void
hold(long long at, int fd, const void *b, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	struct held *h;

	if (nheld == MAXHELD) {
		n_lost++;
		return;
	}
	h = &held[nheld++];
	h->at = at;
	h->fd = fd;
	h->tolen = tolen;
	if (tolen)
		memcpy(&h->to, to, tolen);
	h->len = len;
	if ((h->b = malloc(len ? len : 1)) == NULL)
		h_die("malloc");
	memcpy(h->b, b, len);
}

/* The bad copies of -f, -t, -i and -S, sent at once. */
static void
bad_copies(int fd, const unsigned char *b, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen, int upstream)
{
	static unsigned char c[DGMAX];

	if (len > 9 && draw() < forge) {
		memcpy(c, b, len);
		c[9 + (size_t)(draw() * (len - 9))] ^= 0x20;
		send_now(fd, c, len, to, tolen);
		n_forge++;
	}
	if (len > 9 && draw() < cut) {
		size_t k = 1 + (size_t)(draw() * 8);

		send_now(fd, b, len > 9 + k ? len - k : 9, to, tolen);
		n_cut++;
	}
	if (len > 5 && draw() < badid) {
		memcpy(c, b, len);
		c[1] ^= 0x5a;
		c[4] ^= 0xa5;
		send_now(fd, c, len, to, tolen);
		n_badid++;
	}
	if (upstream && spoof_fd != -1 && draw() < spoof) {
		send_now(spoof_fd, b, len, NULL, 0);
		n_spoof++;
	}
}

/* One datagram on its way: lost, held back, doubled, or sent. */
static void
forward(int faulty, int fd, const void *b, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	long long t = now_ms() + latency_ms;

	if (faulty && !blackout)
		bad_copies(fd, b, len, to, tolen, tolen == 0);

	if (blackout || (faulty && draw() < loss)) {
		n_lost++;
		return;
	}
	if (faulty && draw() < reorder) {
		n_reord++;
		hold(t + delay_ms + (long long)(draw() * delay_ms) + 1, fd, b,
		    len, to, tolen);
	} else if (latency_ms > 0) {
		hold(t, fd, b, len, to, tolen);
	} else {
		send_now(fd, b, len, to, tolen);
	}
	if (faulty && draw() < dupl) {
		n_dup++;
		hold(t + (long long)(draw() * 2 * delay_ms) + 1, fd, b, len, to,
		    tolen);
	}
}

static void
release(void)
{
	long long t = now_ms();

	for (int i = 0; i < nheld;) {
		if (held[i].at <= t) {
			send_now(held[i].fd, held[i].b, held[i].len,
			    &held[i].to, held[i].tolen);
			free(held[i].b);
			held[i] = held[--nheld];
		} else {
			i++;
		}
	}
}

static int
next_timeout(void)
{
	long long t = now_ms(), first = -1;

	for (int i = 0; i < nheld; i++)
		if (first == -1 || held[i].at < first)
			first = held[i].at;
	if (first == -1)
		return (1000);
	return (first <= t ? 0 : (int)(first - t));
}

/* The slot of a client, a new one, or -1 when all are taken. */
static int
client_of(const struct sockaddr_storage *ss, socklen_t len,
    const struct qaddr *target)
{
	long long t = now_ms();
	int free_slot = -1;

	for (int i = 0; i < MAXCL; i++) {
		if (cl[i].fd != -1 && t - cl[i].seen > IDLE_MS) {
			for (int k = 0; k < nheld;)
				if (held[k].fd == cl[i].fd) {
					free(held[k].b);
					held[k] = held[--nheld];
				} else {
					k++;
				}
			close(cl[i].fd);
			cl[i].fd = -1;
		}
		if (cl[i].fd != -1 && cl[i].len == len &&
		    memcmp(&cl[i].ss, ss, len) == 0) {
			cl[i].seen = t;
			return (i);
		}
		if (cl[i].fd == -1 && free_slot == -1)
			free_slot = i;
	}
	if (free_slot == -1)
		return (-1);
	cl[free_slot].fd = socket(target->family,
	    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cl[free_slot].fd == -1)
		h_die("socket");
	if (connect(cl[free_slot].fd, (const struct sockaddr *)&target->ss,
		target->len) == -1)
		h_die("connect");
	memcpy(&cl[free_slot].ss, ss, len);
	cl[free_slot].len = len;
	cl[free_slot].seen = t;
	return (free_slot);
}

int
main(int argc, char *argv[])
{
	const char *ready = NULL, *laddr = "127.0.0.1:0", *taddr;
	struct pollfd pfd[1 + MAXCL];
	struct qaddr la, ta;
	static unsigned char b[DGMAX];
	char name[256];
	int ch, lfd, port = -1;

	h_prog = "udpproxy";
	while ((ch = getopt(argc, argv, "+1d:D:f:i:L:l:p:P:r:s:S:t:v")) != -1) {
		switch (ch) {
		case '1':
			oneway = 1;
			break;
		case 'd':
			dupl = fraction(optarg, "-d");
			break;
		case 'D':
			delay_ms = atoll(optarg);
			if (delay_ms < 1 || delay_ms > 10000)
				h_diex("-D must be 1..10000 ms: %s", optarg);
			break;
		case 'L':
			latency_ms = atoll(optarg);
			if (latency_ms < 0 || latency_ms > 10000)
				h_diex("-L must be 0..10000 ms: %s", optarg);
			break;
		case 'f':
			forge = fraction(optarg, "-f");
			break;
		case 'i':
			badid = fraction(optarg, "-i");
			break;
		case 'l':
			loss = fraction(optarg, "-l");
			break;
		case 'S':
			spoof = fraction(optarg, "-S");
			break;
		case 't':
			cut = fraction(optarg, "-t");
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			ready = optarg;
			break;
		case 'r':
			reorder = fraction(optarg, "-r");
			break;
		case 's':
			rng = strtoull(optarg, NULL, 10) *
				0x9e3779b97f4a7c15ULL +
			    1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr,
			    "usage: udpproxy [-1v] [-P readyfile] [-p port] "
			    "[-s seed] [-l loss] [-d dup] [-r reorder] [-D ms] [-L ms] "
			    "[-f forge] [-t cut] [-i id] [-S spoof] "
			    "[listen_addr] target_addr\n");
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 2) {
		laddr = argv[0];
		taddr = argv[1];
	} else if (argc == 1) {
		taddr = argv[0];
	} else {
		h_diex("one target address, after an optional listen address");
	}
	if (h_parse_addr(laddr, &la) == -1 || la.family == AF_UNIX)
		h_diex("bad listen address: %s", laddr);
	if (h_parse_addr(taddr, &ta) == -1 || ta.family == AF_UNIX)
		h_diex("bad target address: %s", taddr);
	if (port >= 0)
		h_set_port(&la, port);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < MAXCL; i++)
		cl[i].fd = -1;
	if ((lfd = socket(la.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1)
		h_die("socket");
	if (bind(lfd, (const struct sockaddr *)&la.ss, la.len) == -1)
		h_die("bind %s", laddr);
	/* -S: a source of its own, that no client has. */
	if (spoof > 0 &&
	    ((spoof_fd = socket(ta.family,
		  SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1 ||
		connect(spoof_fd, (const struct sockaddr *)&ta.ss, ta.len) ==
		    -1))
		h_die("spoof socket");
	h_sock_name(lfd, name, sizeof(name));
	h_write_ready(ready, name);

	while (!stop) {
		int n = 0, map[1 + MAXCL];

		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < MAXCL; i++) {
			if (cl[i].fd == -1)
				continue;
			pfd[n].fd = cl[i].fd;
			pfd[n].events = POLLIN;
			map[n++] = i;
		}
		if (poll(pfd, n, next_timeout()) == -1 && errno != EINTR)
			h_die("poll");
		release();
		if (stop)
			break;
		for (int k = 0; k < n; k++) {
			if (!(pfd[k].revents & POLLIN))
				continue;
			/* A batch from each socket, then the next. */
			for (int j = 0; j < 64; j++) {
				struct sockaddr_storage ss;
				socklen_t sl = sizeof(ss);
				ssize_t r;

				if (map[k] == -1) {
					int c;

					r = recvfrom(lfd, b, sizeof(b), 0,
					    (struct sockaddr *)&ss, &sl);
					if (r < 0)
						break;
					if ((c = client_of(&ss, sl, &ta)) ==
					    -1) {
						n_lost++;
						continue;
					}
					forward(1, cl[c].fd, b, r, NULL, 0);
				} else {
					struct client *c = &cl[map[k]];

					if (c->fd == -1)
						break;
					r = recv(c->fd, b, sizeof(b), 0);
					if (r < 0)
						break;
					c->seen = now_ms();
					forward(!oneway, lfd, b, r, &c->ss,
					    c->len);
				}
			}
		}
	}
	if (verbose)
		fprintf(stderr,
		    "udpproxy: %llu forwarded, %llu lost, %llu duplicated, "
		    "%llu reordered, %llu forged, %llu cut, %llu misaddressed, "
		    "%llu spoofed\n",
		    n_fwd, n_lost, n_dup, n_reord, n_forge, n_cut, n_badid,
		    n_spoof);
	return (0);
}
