/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * hostile: N peers that attack a quilt listener, each over and over.
 *
 *   hostile [-v] [-m mode] [-n N] [-s FIRST-LAST] [-w MS] [-P readyfile]
 *           address
 *
 * Modes (default idle):
 *   idle     connect and send nothing
 *   eof      connect and close at once (an end before the hello)
 *   hello    say a plain hello, read the answer, then send nothing
 *   sealed   say a sealed hello (a key exchange of random bytes), read the
 *            answer, and never confirm
 *   keyless  the same, then a confirmation made with no key (refused)
 *   mutate   say a plain hello, then a burst of frames with random bytes
 *            changed, cut, or lengths made up; close after 200 ms if the
 *            listener has not
 *   partial  say a plain hello, then the first half of a msg frame, and
 *            close
 * Whenever a peer's connection ends (the listener closed it, refused it,
 * or the peer was done with it) it connects again, after -w MS (default
 * 0; 10 when the connect itself failed).  -s binds peer i to 127.0.0.(FIRST
 * + i % (LAST - FIRST + 1)).  The ready file says "ready N" once each of
 * the N peers has reached its first holding state (connected; answered).
 * On SIGTERM or SIGINT it prints "connects C dropped D" (D: connections
 * the listener ended) and exits 0; with -v it also prints "dropped" as
 * each of those ends.
 */
#include <netinet/ip.h>
#include <poll.h>
#include <time.h>

#include "helper.h"
#include "wire.h"

#define MAXN 4096

enum mode { M_IDLE, M_EOF, M_HELLO, M_SEALED, M_KEYLESS, M_MUTATE, M_PARTIAL };
enum pstate { P_NONE, P_CONNECTING, P_REPLY, P_HOLD };

static struct peer {
	int fd;
	enum pstate st;
	long long at; /* P_NONE: connect again then; P_HOLD (mutate): give up */
	char in[2 * WIRE_HELLO_MAX];
	size_t inlen;
	int reached;
} P[MAXN];

static volatile sig_atomic_t stop;
static int verbose;
static unsigned long long connects, dropped;

static void
on_stop(int sig)
{
	stop = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
}

static void
random_bytes(void *p, size_t n)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)random();
}

static void
hex(char *out, size_t nbytes)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < nbytes; i++) {
		unsigned v = (unsigned)random();

		out[2 * i] = d[v & 15];
		out[2 * i + 1] = d[(v >> 4) & 15];
	}
	out[2 * nbytes] = '\0';
}

/* A hello of ours at out: plain, or sealed with a made-up key exchange. */
static size_t
hello(char *out, int sealed)
{
	struct wire_hello h;

	memset(&h, 0, sizeof(h));
	h.vmin = WIRE_VMIN;
	h.vmax = WIRE_VMAX;
	snprintf(h.node, sizeof(h.node), "hostile");
	random_bytes(h.sid, sizeof(h.sid));
	h.maxmsg = 65536;
	h.from = 0;
	h.resume = -1;
	if (sealed) {
		h.sealed = 1;
		hex(h.kx, 32);
	}
	return (wire_put_hello(out, &h));
}

/* A burst of frames of which most are broken in some way, at out. */
static size_t
mutants(char *out, size_t cap)
{
	static const char *const tmpl[] = {"14:0:,3:msg,6:mutant,,",
	    "10:0:,3:ack,1:9,,", "17:0:,4:ping,1:1,2:xy,,", "8:0:,3:bye,,",
	    "20:0:,3:msg,9:MUTANT\tx,,", "9:0:,3:nop,,"};
	size_t n = 0;

	while (n + 64 < cap) {
		const char *t = tmpl[random() % 6];
		size_t len = strlen(t);

		memcpy(out + n, t, len);
		switch (random() % 5) {
		case 0: /* a byte changed */
			out[n + random() % len] = (char)random();
			break;
		case 1: /* cut short */
			len = 1 + random() % (len - 1);
			break;
		case 2: /* a length made up */
			len = (size_t)snprintf(out + n, 64,
			    "%ld:", random() % 100000);
			break;
		case 3: /* garbage */
			random_bytes(out + n, len);
			break;
		default: /* as it is */
			break;
		}
		n += len;
		if (random() % 8 == 0)
			break;
	}
	return (n);
}

static void
end(struct peer *p, int by_listener, long long again)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->st = P_NONE;
	p->inlen = 0;
	p->at = again;
	if (by_listener) {
		dropped++;
		if (verbose) {
			printf("dropped\n");
			fflush(stdout);
		}
	}
}

static void
start(struct peer *p, const struct qaddr *a, int src, long long now)
{
	int one = 1;

	p->fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (p->fd == -1) {
		p->at = now + 10;
		return;
	}
	if (src > 0 && a->family == AF_INET) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x7f000000u + (unsigned)src);
#ifdef IP_BIND_ADDRESS_NO_PORT
		/* The port is chosen at connect, by the whole 4-tuple. */
		setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(p->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			h_die("bind 127.0.0.%d", src);
	}
	if (connect(p->fd, (const struct sockaddr *)&a->ss, a->len) == -1 &&
	    errno != EINPROGRESS) {
		end(p, 0, now + 10);
		return;
	}
	p->st = P_CONNECTING;
}

/* The connection is up: what the mode does first. */
static void
connected(struct peer *p, enum mode m, long long now)
{
	char out[WIRE_HELLO_MAX];
	size_t n;

	connects++;
	switch (m) {
	case M_IDLE:
		p->st = P_HOLD;
		p->reached = 1;
		return;
	case M_EOF:
		p->reached = 1;
		end(p, 0, 0);
		return;
	default:
		n = hello(out, m == M_SEALED || m == M_KEYLESS);
		if (write(p->fd, out, n) != (ssize_t)n) {
			end(p, 1, now + 10);
			return;
		}
		p->st = P_REPLY;
	}
}

/* The listener answered our hello (a whole frame is in p->in). */
static void
answered(struct peer *p, enum mode m, long long now)
{
	char out[65536];
	size_t n;

	p->reached = 1;
	p->st = P_HOLD;
	p->at = 0;
	if (m == M_KEYLESS) {
		char tag[65], hdr[49];

		hex(tag, 32);
		hex(hdr, 24);
		n = wire_put_ctl(out, sizeof(out), "confirm",
		    (const char *[]){tag, hdr, NULL}, NULL, 0);
		(void)write(p->fd, out, n);
	} else if (m == M_MUTATE) {
		n = mutants(out, sizeof(out));
		(void)write(p->fd, out, n);
		p->at = now + 200;
	} else if (m == M_PARTIAL) {
		(void)write(p->fd, "30:0:,3:msg,17:half", 19);
		p->at = now; /* closed at the next turn */
	}
}

static void
readable(struct peer *p, enum mode m, long long now)
{
	const char *body;
	size_t len;
	ssize_t r;

	r = read(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		end(p, 1, now);
		return;
	}
	if (p->st != P_REPLY) {
		p->inlen = 0; /* what comes later is not looked at */
		return;
	}
	p->inlen += (size_t)r;
	r = frame_parse(p->in, p->inlen, WIRE_HELLO_MAX, &body, &len);
	if (r > 0)
		answered(p, m, now);
	else if (r == -1 || p->inlen == sizeof(p->in))
		end(p, 1, now);
}

int
main(int argc, char *argv[])
{
	static struct pollfd pfd[MAXN];
	static int idx[MAXN];
	const char *ready = NULL, *ms = "idle";
	struct qaddr a;
	enum mode m;
	int ch, n = 1, first = 0, last = 0, wait_ms = 0, said = 0;
	char line[64];

	h_prog = "hostile";
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	while ((ch = getopt(argc, argv, "+m:n:P:s:vw:")) != -1) {
		switch (ch) {
		case 'm':
			ms = optarg;
			break;
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
		case 'v':
			verbose = 1;
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: hostile [-v] [-m mode] [-n N] [-s FIRST-LAST] [-w MS] [-P readyfile] address\n");
			exit(64);
		}
	}
	if (strcmp(ms, "idle") == 0)
		m = M_IDLE;
	else if (strcmp(ms, "eof") == 0)
		m = M_EOF;
	else if (strcmp(ms, "hello") == 0)
		m = M_HELLO;
	else if (strcmp(ms, "sealed") == 0)
		m = M_SEALED;
	else if (strcmp(ms, "keyless") == 0)
		m = M_KEYLESS;
	else if (strcmp(ms, "mutate") == 0)
		m = M_MUTATE;
	else if (strcmp(ms, "partial") == 0)
		m = M_PARTIAL;
	else
		h_diex("unknown mode %s", ms);
	if (optind + 1 != argc || n < 1 || n > MAXN)
		h_diex("need one address and 1 <= N <= %d", MAXN);
	if (h_parse_addr(argv[optind], &a) == -1)
		h_diex("bad address: %s", argv[optind]);
	srandom((unsigned)getpid() ^ (unsigned)now_ms());
	for (int i = 0; i < n; i++)
		P[i].fd = -1;
	while (!stop) {
		long long now = now_ms(), next = -1;
		int np = 0, reached = 0;

		for (int i = 0; i < n; i++) {
			struct peer *p = &P[i];

			reached += p->reached;
			if (p->st == P_NONE && now >= p->at)
				start(p, &a,
				    first ? first + i % (last - first + 1) : 0,
				    now);
			if (p->st == P_HOLD &&
			    (m == M_MUTATE || m == M_PARTIAL) && p->at &&
			    now >= p->at)
				end(p, 0, now + wait_ms);
			if (p->fd == -1) {
				if (next == -1 || p->at < next)
					next = p->at;
				continue;
			}
			pfd[np].fd = p->fd;
			pfd[np].events = p->st == P_CONNECTING ? POLLOUT :
								 POLLIN;
			idx[np++] = i;
		}
		if (!said && reached == n) {
			snprintf(line, sizeof(line), "ready %d", n);
			h_write_ready(ready, line);
			said = 1;
		}
		if (poll(pfd, (nfds_t)np,
			next == -1 ?
			    100 :
			    (int)(next > now ? next - now : 0)) == -1) {
			if (errno == EINTR)
				continue;
			h_die("poll");
		}
		now = now_ms();
		for (int k = 0; k < np; k++) {
			struct peer *p = &P[idx[k]];
			int err = 0;
			socklen_t elen = sizeof(err);

			if (pfd[k].revents == 0)
				continue;
			if (p->st == P_CONNECTING) {
				if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR,
					&err, &elen) == -1 ||
				    err != 0)
					end(p, 0, now + 10);
				else
					connected(p, m, now);
				if (p->st == P_NONE && p->at < now + wait_ms)
					p->at = now + wait_ms;
				continue;
			}
			readable(p, m, now);
			if (p->st == P_NONE && p->at < now + wait_ms)
				p->at = now + wait_ms;
		}
	}
	printf("connects %llu dropped %llu\n", connects, dropped);
	return (0);
}
