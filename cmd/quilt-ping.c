/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-ping: round trips to a quilt node, as iputils ping(8) prints them
 * (Quilt's ping/pong).  Exit 0 when a reply came, 1 when none did (or, with
 * -c and -w, fewer than COUNT by the deadline), 2 on any other error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "client.h"
#include "fmt.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "proc.h"
#include "seal.h"
#include "udpsock.h"
#include "wire.h"

#define RING 65536
#define MAXSIZE 65536

static struct {
	struct addr a;
	const char *addrstr, *dest, *keyfile;
	unsigned char key[SEAL_KEYLEN];
	int json, quiet;
	int stamp; /* -D: each line starts with the time of day */
	int outstanding; /* -O: say when a ping had no answer yet */
	int headed; /* the PING line was printed */
	long long count; /* 0: until interrupted */
	long long interval_ms, timeout_ms, deadline_ms;
	size_t size;
	char *payload;

	struct loop loop;
	struct link link;
	struct wire_hello me, peer;
	long long start_us, deadline_at;
	long long sent_us[RING]; /* by sequence number, 0 when answered */
	uint64_t transmitted, received;
	long long next_send_us, last_send_us;
	long long last_out_us; /* a ping or a nop */
	double tmin, tmax, tsum, tsum2;
	int interrupted;
} S;

/* clang-format off */
static const struct opt options[] = {
	{'c', "count", "count", "stop after COUNT pings (with -w: COUNT replies)"},
	{'D', "unix-time", NULL, "start each line with the time ([seconds.micro])"},
	{'d', "to", "node", "ping the node NODE of a relay mesh"},
	{'i', "interval", "seconds", "seconds between pings (default 1)"},
	{'j', "json", NULL, "JSON lines"},
	{'k', "key", "keyfile", "seal the connection with the key in KEYFILE"},
	{'O', "outstanding", NULL, "say when a ping had no reply before the next"},
	{'q', "quiet", NULL, "the summary only"},
	{'s', "size", "size", "bytes of payload in each ping (default 56)"},
	{'v', "verbose", NULL, "more on stderr"},
	{'W', "timeout", "seconds", "how long to wait for a reply (default 10)"},
	{'w', "deadline", "seconds", "stop after SECONDS, whatever was sent"},
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
/* Usage errors exit 2, as iputils ping's do (quilt-ping uses 0, 1, 2). */
static const struct opt_prog prog = {
	"usage: quilt-ping [-DjOqvV] [-c count] [-d node] [-i interval] [-k keyfile] [-s size] [-W timeout] [-w deadline] address",
	options, 2,
};
/* clang-format on */

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
}

/* Sealed: our FINAL record, so the listener sees an end, not a cut. */
static void
end_stream(void)
{
	struct pollfd pfd = {.fd = S.link.fd, .events = POLLOUT};

	/* udp: the engine's end, so the listener sees one. */
	if (S.link.uc != NULL) {
		udpconn_end(S.link.uc, 1000);
		return;
	}
	if (S.link.seal == NULL || S.link.fd == -1)
		return;
	link_end(&S.link);
	for (int i = 0; i < 10 && link_pending(&S.link) > 0; i++) {
		if (link_flush(&S.link) == -1 && errno != EAGAIN)
			return;
		if (link_pending(&S.link) > 0)
			(void)poll(&pfd, 1, 100);
	}
}

static noreturn void
summary(void)
{
	long long elapsed = (now_us() - S.start_us) / 1000;
	unsigned loss = S.transmitted ?
	    (unsigned)((S.transmitted - S.received) * 100 / S.transmitted) :
	    0;
	double avg = 0, mdev = 0;

	if (S.received) {
		avg = S.tsum / S.received;
		mdev = S.tsum2 / S.received - avg * avg;
		mdev = mdev > 0 ? sqrt(mdev) : 0;
	}
	/* clang-format off */
	if (S.json) {
		printf("{\"kind\":\"summary\",\"transmitted\":%" PRIu64 ",\"received\":%" PRIu64 ",\"loss_pct\":%u,\"time_ms\":%lld",
		    S.transmitted, S.received, loss, elapsed);
		if (S.received)
			printf(",\"min_ms\":%.3f,\"avg_ms\":%.3f,\"max_ms\":%.3f,\"mdev_ms\":%.3f",
			    S.tmin, avg, S.tmax, mdev);
		printf("}\n");
	} else {
		printf("%s--- %s ping statistics ---\n", S.headed ? "\n" : "",
		    S.addrstr);
		printf("%" PRIu64 " packets transmitted, %" PRIu64 " received, %u%% packet loss, time %lldms\n",
		    S.transmitted, S.received, loss, elapsed);
		if (S.received)
			printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
			    S.tmin, avg, S.tmax, mdev);
	}
	/* clang-format on */
	fflush(stdout);
	end_stream();
	/* As iputils: with -c and -w, fewer than COUNT replies is 1 too. */
	exit(S.received == 0 ||
		    (S.count && S.deadline_ms &&
			S.received < (uint64_t)S.count) ?
		1 :
		0);
}

/* -D: "[1796607477.165314] ", the time of day, as iputils ping -D. */
static void
stamp(void)
{
	struct timespec ts;

	if (!S.stamp || S.json)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("[%lld.%06ld] ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
}

/* -O: before the next ping, the last one if it had no answer yet. */
static void
no_answer_yet(void)
{
	uint64_t seq = S.transmitted;

	if (!S.outstanding || S.quiet || seq == 0 || S.sent_us[seq % RING] == 0)
		return;
	if (S.json) {
		printf("{\"kind\":\"no_answer\",\"seq\":%" PRIu64 "}\n", seq);
	} else {
		stamp();
		printf("no answer yet for seq=%" PRIu64 "\n", seq);
	}
	fflush(stdout);
}

static void
on_signal(void *arg, int sig)
{
	summary();
}

static void
send_ping(void)
{
	char seq[24];
	const char *args[] = {seq, NULL};
	long long t = now_us();

	no_answer_yet();
	S.transmitted++;
	snprintf(seq, sizeof(seq), "%" PRIu64, S.transmitted);
	S.sent_us[S.transmitted % RING] = t;
	S.last_send_us = S.last_out_us = t;
	if (link_ctlv_to(&S.link, S.dest ? S.dest : "", "ping", args, S.payload,
		S.size) == -1 ||
	    (link_flush(&S.link) == -1 && errno != EAGAIN))
		log_die(2, "%s", S.addrstr);
}

/* A pong from a ping(8)-like point of view: ignore what is not ours. */
static void
pong(const struct wire_msg *m)
{
	struct frame_iter it;
	const char *p, *node, *hops;
	size_t n, nodelen, hopslen, plen = 0;
	unsigned long long seq, nhops;
	double ms;
	long long t = now_us();

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &p, &n) != 1 ||
	    frame_part_num(p, n, UINT64_MAX, &seq) == -1 ||
	    frame_next_part(&it, &node, &nodelen) != 1 ||
	    frame_next_part(&it, &hops, &hopslen) != 1 ||
	    frame_part_num(hops, hopslen, 255, &nhops) == -1 || seq == 0 ||
	    seq > S.transmitted || S.transmitted - seq >= RING ||
	    S.sent_us[seq % RING] == 0)
		return;
	if (frame_next_part(&it, &p, &plen) != 1)
		plen = 0;
	ms = (t - S.sent_us[seq % RING]) / 1000.0;
	S.sent_us[seq % RING] = 0;
	S.received++;
	if (S.received == 1 || ms < S.tmin)
		S.tmin = ms;
	if (ms > S.tmax)
		S.tmax = ms;
	S.tsum += ms;
	S.tsum2 += ms * ms;
	if (nodelen > WIRE_NODE_MAX)
		nodelen = WIRE_NODE_MAX;
	if (S.json) {
		char j[6 * WIRE_NODE_MAX + 1], when[40] = "";

		j[fmt_json(j, node, nodelen)] = '\0';
		if (S.stamp) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			snprintf(when, sizeof(when),
			    ",\"unix_time\":%lld.%06ld", (long long)ts.tv_sec,
			    ts.tv_nsec / 1000);
		}
		/* clang-format off */
		printf("{\"kind\":\"reply\",\"seq\":%llu,\"node\":\"%s\",\"hops\":%llu,\"bytes\":%zu,\"time_ms\":%.3f%s}\n",
		    seq, j, nhops, plen, ms, when);
		/* clang-format on */
	} else if (!S.quiet) {
		stamp();
		printf("%zu bytes from %.*s: seq=%llu hops=%llu time=%.3f ms\n",
		    plen, (int)nodelen, node, seq, nhops, ms);
	}
	fflush(stdout);
}

static void
on_sock(void *arg, int fd, int revents)
{
	struct wire_msg m;
	const char *body;
	size_t len;
	ssize_t r, f;

	if (revents & POLLOUT)
		if (link_flush(&S.link) == -1 && errno != EAGAIN)
			log_die(2, "%s", S.addrstr);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	r = link_read(&S.link);
	if (r == -1 && errno == EAGAIN)
		return;
	/* clang-format off */
	if (r == -1 && errno == EBADMSG)
		log_diex(2, "%s: integrity check failed: a sealed record was altered, replayed or forged",
		    S.addrstr);
	/* clang-format on */
	while ((f = link_frame(&S.link, 0, &body, &len)) > 0) {
		if (wire_decode(body, len, &m) == -1)
			log_diex(2, "%s: malformed frame from the peer",
			    S.addrstr);
		if (m.cmd == W_PONG) {
			pong(&m);
		} else if (m.cmd == W_ERROR) {
			struct frame_iter it;
			const char *p = "";
			size_t n = 0;

			frame_iter_init(&it, m.args, m.argslen);
			(void)frame_next_part(&it, &p, &n);
			log_warnx("%s: the peer says: %.*s", S.addrstr, (int)n,
			    p);
			if (S.received == 0)
				exit(2);
			summary();
		}
		/* Acks, byes: nothing to do for a pinger. */
		link_take(&S.link, f);
	}
	if (f == -1)
		log_diex(2, "%s: malformed frame from the peer", S.addrstr);
	if (r == 0 || r == -1) {
		log_warnx("%s: %s", S.addrstr,
		    r == 0 ? "connection closed" : strerror(errno));
		summary();
	}
}

int
main(int argc, char *argv[])
{
	const char *why;
	char whybuf[256];
	int ch, seen[128] = {0};
	enum client_err e;
	/* Before anything is opened: no socket of ours on fd 0, 1 or 2. */
	int stdclosed = proc_std();

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(2, "/dev/null");
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	S.interval_ms = 1000;
	S.timeout_ms = 10000;
	S.size = 56;
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
		if (ch > 0 && ch < 128 && strchr("cdiksWw", ch))
			opt_once(&seen[ch], ch);
		switch (ch) {
		case 'c':
			S.count = parse_num(optarg, 1, 1000000000LL, "count");
			break;
		case 'D':
			S.stamp = 1;
			break;
		case 'd':
			S.dest = opt_node(optarg);
			break;
		case 'i':
			S.interval_ms = parse_ms(optarg, 0, 3600000,
			    "interval");
			break;
		case 'j':
			S.json = 1;
			break;
		case 'k':
			S.keyfile = optarg;
			break;
		case 'O':
			S.outstanding = 1;
			break;
		case 'q':
			S.quiet = 1;
			break;
		case 's':
			S.size = parse_num(optarg, 0, MAXSIZE, "size");
			break;
		case 'v':
			log_level = 2;
			break;
		case 'W':
			S.timeout_ms = parse_ms(optarg, 1, 3600000, "timeout");
			break;
		case 'w':
			S.deadline_ms = parse_ms(optarg, 1, 2147483000LL,
			    "deadline");
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		opt_usage("missing the address operand");
	if (argc > 1)
		opt_extra(argv[1]);
	/* The replies are its output (2: every error but "no reply"). */
	if (stdclosed & PROC_STDOUT)
		log_diex(2, "standard output is closed");
	S.addrstr = argv[0];
	if (addr_parse(argv[0], 0, &S.a, &why) == -1)
		opt_usage("bad address %s: %s", argv[0], why);
	if (seal_init() == -1 || (S.payload = malloc(S.size + 1)) == NULL)
		log_die(2, "setup");
	for (size_t i = 0; i < S.size; i++)
		S.payload[i] = 'a' + i % 26;
	if (S.keyfile)
		opt_key(S.keyfile, S.key, 2, 2);
	S.me.vmin = WIRE_VMIN;
	S.me.vmax = WIRE_VMAX;
	wire_default_node(S.me.node);
	seal_random(S.me.sid, sizeof(S.me.sid));
	S.me.maxmsg = 2 * MAXSIZE;
	S.me.from = 0;
	S.me.resume = -1;
	if (loop_init(&S.loop) == -1 ||
	    link_init(&S.link, -1, 2 * MAXSIZE, 0, 0) == -1)
		log_die(2, "memory");

	S.start_us = now_us();
	if (S.deadline_ms)
		S.deadline_at = S.start_us + S.deadline_ms * 1000;
	if (S.a.kind == ADDR_UDP)
		e = udpconn_open(&S.a,
		    S.deadline_ms && S.deadline_ms < S.timeout_ms ?
			(int)S.deadline_ms :
			(int)S.timeout_ms,
		    &S.link, &S.me, &S.peer, S.keyfile ? S.key : NULL,
		    2 * MAXSIZE, whybuf, sizeof(whybuf));
	else
		e = client_open(&S.a,
		    S.deadline_ms && S.deadline_ms < S.timeout_ms ?
			(int)S.deadline_ms :
			(int)S.timeout_ms,
		    &S.link, &S.me, &S.peer, S.keyfile ? S.key : NULL, whybuf,
		    sizeof(whybuf));
	seal_wipe(S.key, sizeof(S.key)); /* never needed again */
	if (e == CLIENT_TEMPFAIL && strcmp(whybuf, "timed out") == 0) {
		/* A silent peer is "no reply", as ping(8) to a silent host:
		 * the first ping went unanswered with the hello. */
		log_warnx("%s: no answer within %lld ms", S.addrstr,
		    S.deadline_ms && S.deadline_ms < S.timeout_ms ?
			S.deadline_ms :
			S.timeout_ms);
		S.transmitted = 1;
		summary();
	}
	if (e != CLIENT_OK) {
		log_warnx("%s: %s", S.addrstr, whybuf);
		exit(2);
	}
	if (loop_add(&S.loop, S.link.fd, POLLIN, on_sock, NULL) == -1 ||
	    loop_signal(&S.loop, SIGINT, on_signal, NULL) == -1 ||
	    loop_signal(&S.loop, SIGTERM, on_signal, NULL) == -1)
		log_die(2, "setup");
	/* As iputils, -q too: the header, then the summary after a blank. */
	if (!S.json) {
		printf("PING %s (%s) %zu bytes of data.\n", S.addrstr,
		    S.peer.node, S.size);
		S.headed = 1;
	}
	S.start_us = now_us();
	S.next_send_us = S.start_us;
	for (;;) {
		long long t = now_us(), wait;
		int outstanding = S.transmitted > S.received;

		if (S.deadline_at && t >= S.deadline_at)
			summary();
		if (S.count && S.deadline_ms) {
			/* -c with -w, as iputils: ping until COUNT replies
			 * came (or the deadline). */
			if (S.received >= (uint64_t)S.count)
				summary();
		}
		if (S.count && !S.deadline_ms &&
		    S.transmitted >= (uint64_t)S.count) {
			/* All sent: wait for the replies, at most -W. */
			if (!outstanding ||
			    t - S.last_send_us >= S.timeout_ms * 1000)
				summary();
			wait = S.last_send_us + S.timeout_ms * 1000 - t;
		} else if (S.interval_ms == 0 && outstanding &&
		    t - S.last_send_us < S.timeout_ms * 1000) {
			/* -i 0: one ping in flight, the next on its reply. */
			wait = S.last_send_us + S.timeout_ms * 1000 - t;
		} else if (t >= S.next_send_us) {
			send_ping();
			S.next_send_us += S.interval_ms * 1000;
			if (S.next_send_us < t)
				S.next_send_us = t;
			continue;
		} else {
			wait = S.next_send_us - t;
		}
		/* Pings further apart than a third of the listener's idle
		 * time: a nop between them keeps the connection. */
		if (S.peer.idle > 0) {
			long long every = (long long)S.peer.idle * 1000 / 3;

			if (t - S.last_out_us >= every) {
				(void)link_ctlv(&S.link, "nop", NULL, NULL, 0);
				if (link_flush(&S.link) == -1 &&
				    errno != EAGAIN)
					log_die(2, "%s", S.addrstr);
				S.last_out_us = t;
			}
			if (S.last_out_us + every - t < wait)
				wait = S.last_out_us + every - t;
		}
		if (S.deadline_at && S.deadline_at - t < wait)
			wait = S.deadline_at - t;
		/* udp: the engine's timers, and what it holds already. */
		if (S.link.uc != NULL) {
			int w = link_wait_ms(&S.link);

			if (link_flush(&S.link) == -1 && errno != EAGAIN)
				log_die(2, "%s", S.addrstr);
			if (link_buffered(&S.link)) {
				on_sock(NULL, S.link.fd, POLLIN);
				continue;
			}
			if (w != -1 && (long long)w * 1000 < wait)
				wait = (long long)w * 1000;
		}
		loop_want(&S.loop, S.link.fd,
		    POLLIN | (link_wants_out(&S.link) ? POLLOUT : 0));
		if (loop_once(&S.loop, (int)((wait + 999) / 1000)) == -1)
			log_die(2, "poll");
	}
}
