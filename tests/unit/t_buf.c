/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/buf: room at the tail made by moving the data
 * down or by growing, never past max (ENOBUFS); fill and drain over real
 * pipes with short reads and writes, EAGAIN, end of file, and EINTR
 * retried.  TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "tcase.h"

/* Fill b with n bytes 0, 1, 2... from k on. */
static int
put_seq(struct buf *b, size_t n, unsigned k)
{
	char c[4096];

	while (n > 0) {
		size_t m = n < sizeof(c) ? n : sizeof(c);

		for (size_t i = 0; i < m; i++)
			c[i] = (char)(k++ & 0xff);
		if (buf_append(b, c, m) == -1)
			return (-1);
		n -= m;
	}
	return (0);
}

/* Whether b's data is n bytes k, k + 1... */
static int
is_seq(const struct buf *b, size_t n, unsigned k)
{
	if (buf_len(b) != n)
		return (0);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf_data(b)[i] != ((k + i) & 0xff))
			return (0);
	return (1);
}

static int
t_init(void)
{
	struct buf b;

	CHECK(buf_init(&b, 0, 100) == 0);
	CHECK(b.base == NULL && b.cap == 0 && buf_len(&b) == 0);
	buf_free(&b);
	/* cap is bounded by max. */
	CHECK(buf_init(&b, 4096, 1000) == 0);
	CHECK(b.cap == 1000 && b.base != NULL);
	buf_free(&b);
	CHECK(b.base == NULL && b.cap == 0);
	return (0);
}

/* Enough room: reserve changes nothing. */
static int
t_reserve_room(void)
{
	struct buf b;
	char *base;

	CHECK(buf_init(&b, 1024, 1 << 20) == 0);
	CHECK(put_seq(&b, 100, 0) == 0);
	buf_consume(&b, 10);
	base = b.base;
	CHECK(buf_reserve(&b, 900) == 0);
	CHECK(b.base == base && b.start == 10 && b.cap == 1024);
	CHECK(is_seq(&b, 90, 10));
	buf_free(&b);
	return (0);
}

/* Little data after much was consumed: it moves down, no growth. */
static int
t_move_down(void)
{
	struct buf b;

	CHECK(buf_init(&b, 1024, 1 << 20) == 0);
	CHECK(put_seq(&b, 1000, 0) == 0);
	buf_consume(&b, 900);
	CHECK(buf_room(&b) == 24);
	CHECK(buf_reserve(&b, 500) == 0);
	CHECKF(b.cap == 1024 && b.start == 0 && b.end == 100,
	    "cap %zu start %zu end %zu", b.cap, b.start, b.end);
	CHECK(is_seq(&b, 100, 900));
	CHECK(buf_room(&b) >= 500);
	buf_free(&b);
	return (0);
}

/* Most of it in use: it grows (doubling) instead, data kept. */
static int
t_grow(void)
{
	struct buf b;

	CHECK(buf_init(&b, 1024, 1 << 20) == 0);
	CHECK(put_seq(&b, 1000, 0) == 0);
	buf_consume(&b, 100);
	/* 900 bytes, over half of 1024: moving down would not last. */
	CHECK(buf_reserve(&b, 200) == 0);
	CHECKF(b.cap == 2048 && b.start == 0, "cap %zu start %zu", b.cap,
	    b.start);
	CHECK(is_seq(&b, 900, 100));
	/* A big need doubles as many times as it takes. */
	CHECK(buf_reserve(&b, 10000) == 0);
	CHECKF(b.cap == 16384, "cap %zu", b.cap);
	CHECK(is_seq(&b, 900, 100));
	/* From nothing: 4096 at least. */
	buf_free(&b);
	CHECK(buf_init(&b, 0, 1 << 20) == 0);
	CHECK(buf_reserve(&b, 1) == 0 && b.cap == 4096);
	buf_free(&b);
	return (0);
}

/*
 * Room there would be by moving the data down, but more than cap >> spread
 * of it in use: it grows instead (a link's queue of frames not yet
 * acknowledged, spread 3, would otherwise move megabytes for each ack).
 */
static int
t_spread(void)
{
	struct buf b;

	CHECK(buf_init(&b, 1024, 1 << 20) == 0);
	CHECK(put_seq(&b, 900, 0) == 0);
	buf_consume(&b, 300);
	/* 600 in use of 1024, 424 free in all: over half, so it grows. */
	CHECK(buf_reserve(&b, 300) == 0);
	CHECKF(b.cap == 2048 && b.start == 0, "cap %zu start %zu", b.cap,
	    b.start);
	CHECK(is_seq(&b, 600, 300));
	buf_free(&b);
	/* Spread 3: an eighth.  128 bytes in use of 1024 move down... */
	CHECK(buf_init(&b, 1024, 1 << 20) == 0);
	b.spread = 3;
	CHECK(put_seq(&b, 1000, 0) == 0);
	buf_consume(&b, 872);
	CHECK(buf_reserve(&b, 500) == 0);
	CHECKF(b.cap == 1024 && b.start == 0, "cap %zu start %zu", b.cap,
	    b.start);
	CHECK(is_seq(&b, 128, 872 & 0xff));
	/* ...129 do not. */
	CHECK(put_seq(&b, 872, 1000 & 0xff) == 0);
	buf_consume(&b, 871);
	CHECK(buf_reserve(&b, 500) == 0);
	CHECKF(b.cap == 2048, "cap %zu", b.cap);
	CHECK(is_seq(&b, 129, (872 + 871) & 0xff));
	buf_free(&b);
	return (0);
}

/* Growth stops at max; past it, ENOBUFS and nothing changes. */
static int
t_max(void)
{
	struct buf b;
	char *base;
	size_t cap;

	CHECK(buf_init(&b, 1024, 5000) == 0);
	CHECK(put_seq(&b, 1000, 0) == 0);
	CHECK(buf_reserve(&b, 3000) == 0);
	CHECKF(b.cap == 4096, "cap %zu", b.cap);
	CHECK(buf_reserve(&b, 4000) == 0);
	CHECKF(b.cap == 5000, "cap %zu (max 5000)", b.cap);
	CHECK(put_seq(&b, 4000, 1000 & 0xff) == 0);
	CHECK(buf_len(&b) == 5000 && buf_room(&b) == 0);
	base = b.base;
	cap = b.cap;
	errno = 0;
	CHECK(buf_reserve(&b, 1) == -1 && errno == ENOBUFS);
	errno = 0;
	CHECK(buf_append(&b, "x", 1) == -1 && errno == ENOBUFS);
	CHECK(b.base == base && b.cap == cap && is_seq(&b, 5000, 0));
	/* At max, data moves down even when most of it is in use. */
	buf_consume(&b, 10);
	CHECK(buf_reserve(&b, 10) == 0);
	CHECK(b.cap == 5000 && b.start == 0 && is_seq(&b, 4990, 10));
	/* Exactly max fits; one more does not. */
	CHECK(buf_append(&b, "0123456789", 10) == 0 && buf_len(&b) == 5000);
	buf_consume(&b, buf_len(&b));
	CHECK(b.start == 0 && b.end == 0);
	errno = 0;
	CHECK(buf_reserve(&b, 5001) == -1 && errno == ENOBUFS);
	buf_free(&b);
	return (0);
}

static int
nbpipe(int fds[2])
{
	return (pipe2(fds, O_NONBLOCK));
}

/* Short reads: fill takes what is there, EAGAIN when nothing, 0 at EOF. */
static int
t_fill(void)
{
	struct buf b;
	int fds[2];
	char c[3000];

	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (char)(i & 0xff);
	CHECK(nbpipe(fds) == 0);
	CHECK(buf_init(&b, 0, 1 << 20) == 0);
	errno = 0;
	CHECK(buf_fill(&b, fds[0], 1024) == -1 && errno == EAGAIN);
	CHECK(b.cap >= 1024 && buf_len(&b) == 0);
	CHECK(write(fds[1], c, 100) == 100);
	CHECK(buf_fill(&b, fds[0], 1024) == 100);
	CHECK(write(fds[1], c + 100, 2900) == 2900);
	CHECK(buf_fill(&b, fds[0], 1024) == 2900);
	CHECK(is_seq(&b, 3000, 0));
	errno = 0;
	CHECK(buf_fill(&b, fds[0], 1024) == -1 && errno == EAGAIN);
	close(fds[1]);
	CHECK(buf_fill(&b, fds[0], 1024) == 0);
	CHECK(is_seq(&b, 3000, 0));
	close(fds[0]);
	buf_free(&b);
	return (0);
}

/*
 * A read never goes past max: the queue grows to max and reads into it,
 * ENOBUFS once full, and moves its data down when min fits under max;
 * when min does not fit, it reads into the room there is.
 */
static int
t_fill_full(void)
{
	struct buf b;
	int fds[2];
	char c[1500];

	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (char)(i & 0xff);
	CHECK(nbpipe(fds) == 0);
	CHECK(buf_init(&b, 0, 700) == 0);
	CHECK(write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c));
	CHECK(buf_fill(&b, fds[0], 100) == 700);
	CHECK(b.cap == 700 && is_seq(&b, 700, 0));
	errno = 0;
	CHECK(buf_fill(&b, fds[0], 1) == -1 && errno == ENOBUFS);
	buf_consume(&b, 200);
	CHECK(buf_fill(&b, fds[0], 100) == 200);
	CHECK(b.start == 0 && is_seq(&b, 700, 200));
	buf_consume(&b, 600);
	CHECK(buf_reserve(&b, 600) == 0 && b.start == 0);
	CHECK(buf_room(&b) == 600);
	/* 100 + 650 > 700: not min, but the 600 bytes of room are read. */
	CHECK(buf_fill(&b, fds[0], 650) == 600);
	CHECK(is_seq(&b, 700, 800));
	/* No room at the tail, room at the front, min not under max: the
	 * data moves down and the room is read into. */
	CHECK(write(fds[1], c, 600) == 600);
	buf_consume(&b, 600);
	CHECK(buf_room(&b) == 0 && b.start == 600);
	CHECKF(buf_fill(&b, fds[0], 650) == 600, "start %zu end %zu", b.start,
	    b.end);
	CHECK(b.start == 0 && buf_len(&b) == 700);
	b.end = 100;
	CHECK(is_seq(&b, 100, (800 + 600) & 0xff));
	close(fds[0]);
	close(fds[1]);
	buf_free(&b);
	return (0);
}

/* Short writes: drain consumes what the pipe took, keeps the rest. */
static int
t_drain(void)
{
	struct buf b;
	int fds[2], sz;
	char r[65536];
	ssize_t n, got;

	CHECK(nbpipe(fds) == 0);
	CHECK((sz = fcntl(fds[1], F_SETPIPE_SZ, 4096)) == 4096);
	CHECK(buf_init(&b, 0, 1 << 20) == 0);
	CHECK(buf_drain(&b, fds[1]) == 0);
	CHECK(put_seq(&b, 10000, 0) == 0);
	n = buf_drain(&b, fds[1]);
	CHECKF(n == 4096, "%zd", n);
	CHECK(is_seq(&b, 10000 - 4096, 4096 & 0xff));
	errno = 0;
	CHECK(buf_drain(&b, fds[1]) == -1 && errno == EAGAIN);
	CHECK(buf_len(&b) == 10000 - 4096);
	/* The reader takes it; drain goes on where it stopped. */
	got = read(fds[0], r, sizeof(r));
	CHECK(got == 4096);
	while (buf_len(&b) > 0) {
		n = buf_drain(&b, fds[1]);
		CHECK(n > 0 || (n == -1 && errno == EAGAIN));
		n = read(fds[0], r + got, sizeof(r) - got);
		if (n > 0)
			got += n;
	}
	CHECK(got == 10000);
	for (int i = 0; i < 10000; i++)
		CHECK((unsigned char)r[i] == (i & 0xff));
	close(fds[0]);
	errno = 0;
	CHECK(put_seq(&b, 10, 0) == 0);
	signal(SIGPIPE, SIG_IGN);
	CHECK(buf_drain(&b, fds[1]) == -1 && errno == EPIPE);
	CHECK(buf_len(&b) == 10);
	close(fds[1]);
	buf_free(&b);
	return (0);
}

/*
 * EINTR is retried: a read (and a write) that blocks is interrupted by a
 * signal whose handler, without SA_RESTART, makes the call possible; the
 * call must then go through instead of returning EINTR.
 */
static int intr_fd = -1, intr_read;
static volatile sig_atomic_t intr_hits;

static void
on_alarm(int sig)
{
	char c[8192];

	(void)sig;
	intr_hits++;
	if (intr_read)
		(void)!write(intr_fd, "!", 1);
	else
		while (read(intr_fd, c, sizeof(c)) > 0)
			;
}

static int
alarm_in(int ms)
{
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the call gets EINTR */
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return (-1);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = ms * 1000;
	return (setitimer(ITIMER_REAL, &it, NULL));
}

static int
t_eintr(void)
{
	struct buf b;
	int fds[2];
	char c[4096];
	ssize_t n;

	/* Blocking read of an empty pipe; the handler writes one byte. */
	CHECK(pipe(fds) == 0);
	CHECK(buf_init(&b, 0, 1 << 20) == 0);
	intr_fd = fds[1];
	intr_read = 1;
	intr_hits = 0;
	CHECK(alarm_in(50) == 0);
	n = buf_fill(&b, fds[0], 1);
	CHECKF(n == 1, "fill: %zd (%s)", n, n == -1 ? strerror(errno) : "");
	CHECK(intr_hits == 1);
	CHECK(buf_len(&b) == 1 && buf_data(&b)[0] == '!');
	buf_consume(&b, 1);
	/* Blocking write to a full pipe; the handler empties it. */
	CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(fds[1], F_SETPIPE_SZ, 4096) == 4096);
	memset(c, 'c', sizeof(c));
	CHECK(write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c));
	CHECK(buf_append(&b, c, 100) == 0);
	intr_fd = fds[0];
	intr_read = 0;
	intr_hits = 0;
	CHECK(alarm_in(50) == 0);
	n = buf_drain(&b, fds[1]);
	CHECKF(n == 100, "drain: %zd (%s)", n, n == -1 ? strerror(errno) : "");
	CHECK(intr_hits == 1 && buf_len(&b) == 0);
	signal(SIGALRM, SIG_DFL);
	close(fds[0]);
	close(fds[1]);
	buf_free(&b);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "init: nothing allocated for cap 0, cap bounded by max", t_init },
	{ "reserve with room enough changes nothing", t_reserve_room },
	{ "little data left: moved down, not grown", t_move_down },
	{ "much data left: grown by doubling, data kept", t_grow },
	{ "room by moving, but more than cap >> spread in use: it grows",
	    t_spread },
	{ "never past max: ENOBUFS, nothing changed; at max it moves down",
	    t_max },
	{ "fill: short reads, EAGAIN, end of file", t_fill },
	{ "fill stops at max: the room left, then ENOBUFS", t_fill_full },
	{ "drain: short writes keep the rest, EAGAIN, EPIPE", t_drain },
	{ "fill and drain retry EINTR", t_eintr },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
