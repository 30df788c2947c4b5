/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-sprtt: the round trip of a Spread group member through its daemon.
 *
 *	bench-sprtt DAEMON SERVICE COUNT [SIZE]
 *		connects to DAEMON (Spread's syntax: PORT is /tmp/PORT,
 *		PORT@HOST is TCP), joins a group of its own, waits until the
 *		daemon confirms the join, then COUNT times multicasts SIZE
 *		bytes (default 16) with SERVICE (agreed, safe...) to that
 *		group and waits for its own copy; prints each round trip in
 *		microseconds, one a line (after 50 that are not printed, which
 *		warm up both ends)
 *
 * The same session sends and receives, as a member that talks in its
 * group: what a chat client does for each line.  One request, then reads
 * until the copy whose sequence number is the one sent comes back.  Built
 * by scripts/bench with libcommon's Spread client codec.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/spread.h"

#define WARMUP 50
#define BUFSZ (1 << 20)

static void
die(const char *what)
{
	fprintf(stderr, "bench-sprtt: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
dies(const char *what)
{
	fprintf(stderr, "bench-sprtt: %s\n", what);
	exit(1);
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "bench-sprtt: %s must be %ld..%ld: %s\n", what,
		    lo, hi, s);
		exit(64);
	}
	return (v);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

/* Waits (10 s at most) until fd is ready for events. */
static void
await(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	while ((r = poll(&p, 1, 10000)) == -1 && errno == EINTR)
		;
	if (r == -1)
		die("poll");
	if (r == 0)
		dies("the daemon did not answer for 10 s");
}

static void
sendall(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				die("write to the daemon");
			await(fd, POLLOUT);
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
}

struct in {
	uint8_t *buf;
	size_t len;
};

/*
 * The next message from the daemon, a view into in->buf valid until the
 * next call; *used is what it takes, for the caller to consume.
 */
static void
next_msg(int fd, struct in *in, struct spread_msg *m, size_t *used)
{
	ssize_t r;

	for (;;) {
		r = spread_msg_decode(in->buf, in->len, BUFSZ, m);
		if (r == -1)
			die("message from the daemon");
		if (r > 0) {
			*used = (size_t)r;
			return;
		}
		if ((r = read(fd, in->buf + in->len, BUFSZ - in->len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				die("read from the daemon");
			await(fd, POLLIN);
			continue;
		}
		if (r == 0)
			dies("the daemon closed the session");
		in->len += (size_t)r;
	}
}

static void
consume(struct in *in, size_t n)
{
	memmove(in->buf, in->buf + n, in->len - n);
	in->len -= n;
}

static int
is_named(const uint8_t field[SPREAD_GROUP_SIZE], const char *s)
{
	size_t len = strlen(s);

	return (spread_name_len(field) == len && memcmp(field, s, len) == 0);
}

int
main(int argc, char *argv[])
{
	struct spread_session s;
	struct spread_addr a;
	struct spread_msg m;
	struct in in;
	const char *detail, *me, *group[1];
	char gname[SPREAD_GROUP_SIZE];
	uint8_t req[256], data[256];
	uint32_t service;
	long count, size, i;
	ssize_t n;
	size_t used;
	double t0, *rtt;
	int code, joined = 0;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
		    "usage: bench-sprtt DAEMON SERVICE COUNT "
		    "[SIZE]\n");
		return (64);
	}
	if (spread_addr_parse(argv[1], &a) == -1)
		dies("the daemon name is not Spread's syntax");
	if ((service = spread_service_parse(argv[2])) == 0)
		dies("unknown service");
	count = num(argv[3], 1, 10000000, "count");
	size = argc == 5 ? num(argv[4], 8, 128, "size") : 16;
	if ((in.buf = malloc(BUFSZ)) == NULL ||
	    (rtt = calloc(count, sizeof(*rtt))) == NULL)
		die("malloc");
	in.len = 0;

	if (spread_session_open(&s, &a, "", SPREAD_HELLO_MEMBERSHIP, 10000,
		&code, &detail) == -1) {
		fprintf(stderr, "bench-sprtt: %s: code %d: %s\n", argv[1], code,
		    detail ? detail : "set-up failed");
		return (1);
	}
	me = s.reply.private_group;
	snprintf(gname, sizeof(gname), "rtt%ld", (long)getpid());
	group[0] = gname;
	if ((n = spread_join_encode(req, sizeof(req), me, gname)) == -1)
		die("join");
	sendall(s.fd, req, (size_t)n);
	while (!joined) {
		next_msg(s.fd, &in, &m, &used);
		if (spread_is_reg_memb(m.h.type) && is_named(m.h.name, gname)) {
			for (int k = 0; k < m.h.num_groups; k++)
				if (is_named(m.groups +
					    (size_t)k * SPREAD_GROUP_SIZE,
					me))
					joined = 1;
		}
		consume(&in, used);
	}

	memset(data, 'x', sizeof(data));
	for (i = -WARMUP; i < count; i++) {
		memcpy(data, &i, sizeof(i));
		n = spread_mcast_encode(req, sizeof(req), me, service, group, 1,
		    0, data, (size_t)size);
		if (n == -1)
			die("multicast");
		t0 = now_us();
		sendall(s.fd, req, (size_t)n);
		for (;;) {
			next_msg(s.fd, &in, &m, &used);
			if (spread_is_regular(m.h.type) &&
			    is_named(m.h.name, me) && m.h.data_len == size &&
			    memcmp(m.data, &i, sizeof(i)) == 0)
				break;
			consume(&in, used);
		}
		consume(&in, used);
		if (i >= 0)
			rtt[i] = now_us() - t0;
	}
	if ((n = spread_kill_encode(req, sizeof(req), me)) != -1)
		sendall(s.fd, req, (size_t)n);
	close(s.fd);
	for (i = 0; i < count; i++)
		printf("%.1f\n", rtt[i]);
	if (fflush(stdout) == EOF)
		die("stdout");
	return (0);
}
