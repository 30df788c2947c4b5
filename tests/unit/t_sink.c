/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/sink: the promise that a message is acknowledged
 * only once write(2) has taken it.  The sink writes into a real pipe, kept
 * small so that writes are short or refused, and read by a slow reader.
 * Each acknowledgement is checked, at the moment done() is called, against
 * the bytes the pipe has taken so far (what the reader got plus what is
 * still in the pipe): never a message whose last byte is not in.  After
 * each flush, the counts are checked to be exactly the written ones.
 * TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "frame.h"
#include "sink.h"
#include "tcase.h"

#define NSRC 3
#define MAXMSG 4096 /* messages per source in one case */
#define PIPE_SIZE 16384
#define NBATCH 8192

/* One case's world: the pipe, what was appended, what was acknowledged. */
static struct world {
	int rfd, wfd;
	uint64_t got; /* bytes the reader has taken out of the pipe */
	uint64_t filler; /* bytes of ours, not the sink's, put in first */
	uint64_t count[NSRC]; /* messages appended per source */
	uint64_t end[NSRC][MAXMSG + 1]; /* end[s][c]: where message c ends */
	uint64_t acked[NSRC]; /* the last count done() reported */
	struct {
		unsigned id;
		uint64_t count, pos;
	} marks[NBATCH]; /* every sink_mark: what a whole batch counts */
	int nmarks;
	int calls; /* done() calls */
	int bad; /* done() saw a count it must not report */
	char why[256];
} W;

static int
world_init(void)
{
	int fds[2];

	memset(&W, 0, sizeof(W));
	W.rfd = W.wfd = -1;
	if (pipe2(fds, O_NONBLOCK) == -1)
		return (-1);
	W.rfd = fds[0];
	W.wfd = fds[1];
	/* A pipe of a few pages: big batches are written in part. */
	if (fcntl(W.wfd, F_SETPIPE_SZ, PIPE_SIZE) == -1)
		return (-1);
	return (0);
}

static void
world_free(struct sink *s)
{
	sink_free(s);
	if (W.rfd != -1)
		close(W.rfd);
	if (W.wfd != -1)
		close(W.wfd);
	W.rfd = W.wfd = -1;
}

/* Bytes write(2) has taken: read by the reader, or still in the pipe. */
static uint64_t
taken(void)
{
	int inpipe = 0;

	if (W.rfd == -1 || ioctl(W.rfd, FIONREAD, &inpipe) == -1)
		inpipe = 0;
	return (W.got + (uint64_t)inpipe - W.filler);
}

/* The highest count of source id whose message has all its bytes in. */
static uint64_t
written_count(unsigned id, uint64_t upto)
{
	uint64_t c = 0;

	while (c < W.count[id] && W.end[id][c + 1] <= upto)
		c++;
	return (c);
}

/* The done callback: checked against the pipe at the moment it is called. */
static void
done(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	uint64_t t = taken();

	(void)arg;
	W.calls++;
	if (W.bad)
		return;
	if (id >= NSRC || gen != id + 100) {
		W.bad = 1;
		snprintf(W.why, sizeof(W.why), "done(%u, %u): no such source",
		    id, gen);
	} else if (count > W.count[id] || count < W.acked[id]) {
		W.bad = 1;
		snprintf(W.why, sizeof(W.why),
		    "source %u: count %llu after %llu, %llu appended", id,
		    (unsigned long long)count, (unsigned long long)W.acked[id],
		    (unsigned long long)W.count[id]);
	} else if (count > 0 && W.end[id][count] > t) {
		W.bad = 1;
		snprintf(W.why, sizeof(W.why),
		    "source %u: message %llu acknowledged, ends at byte %llu, write(2) has taken %llu",
		    id, (unsigned long long)count,
		    (unsigned long long)W.end[id][count],
		    (unsigned long long)t);
	} else
		W.acked[id] = count;
}

/* Append one record of source id: a line (term) or a netstring frame. */
static int
append(struct sink *s, unsigned id, size_t len)
{
	char rec[512];
	const char *p[1] = {rec};
	size_t l[1];
	int h;

	if (len >= sizeof(rec) || W.count[id] >= MAXMSG)
		return (-1);
	h = snprintf(rec, sizeof(rec), "%u-%llu", id,
	    (unsigned long long)W.count[id] + 1);
	/* Netstrings are binary: 0xff bytes, so no byte passes for a record's
	 * end there. */
	memset(rec + h, s->term != -1 ? 'x' : 0xff,
	    len > (size_t)h ? len - h : 0);
	l[0] = len > (size_t)h ? len : (size_t)h;
	if (s->term != -1) {
		char *w;

		if ((w = sink_reserve(s, l[0] + 1)) == NULL)
			return (-1);
		memcpy(w, rec, l[0]);
		w[l[0]] = (char)s->term;
		sink_commit(s, l[0] + 1);
	} else if (sink_putv(s, 1, p, l) == -1)
		return (-1);
	W.count[id]++;
	W.end[id][W.count[id]] = s->appended;
	return (0);
}

/* A batch of n records of source id, then its mark. */
static int
batch(struct sink *s, unsigned id, int n, size_t len)
{
	for (int i = 0; i < n; i++)
		if (append(s, id, len) == -1)
			return (-1);
	if (sink_mark(s, id, id + 100, W.count[id], n) == -1)
		return (-1);
	if (W.nmarks < NBATCH) {
		W.marks[W.nmarks].id = id;
		W.marks[W.nmarks].count = W.count[id];
		W.marks[W.nmarks].pos = s->appended;
		W.nmarks++;
	}
	return (0);
}

/* The count of source id's last whole batch that ends by upto. */
static uint64_t
batch_count(unsigned id, uint64_t upto)
{
	uint64_t c = 0;

	for (int i = 0; i < W.nmarks && W.marks[i].pos <= upto; i++)
		if (W.marks[i].id == id)
			c = W.marks[i].count;
	return (c);
}

/* The reader takes up to max bytes out of the pipe. */
static void
reader(size_t max)
{
	char b[8192];
	ssize_t r;

	while (max > 0) {
		r = read(W.rfd, b, max < sizeof(b) ? max : sizeof(b));
		if (r <= 0)
			return;
		W.got += r;
		max -= r;
	}
}

/* After a flush: every source acknowledged exactly as far as written. */
static int
exact(const struct sink *s, int partial)
{
	uint64_t t = taken();

	for (unsigned id = 0; id < NSRC; id++) {
		/* Without a terminator, a batch counts once it is whole. */
		uint64_t want = partial ? written_count(id, t) :
					  batch_count(id, t);

		if (W.acked[id] != want)
			return (-1);
	}
	return (0);
}

static int
t_none_before_write(void)
{
	struct sink s;
	char fill[PIPE_SIZE];
	ssize_t r;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 16) == 0);
	s.term = '\n';
	/* The pipe is full: write(2) takes nothing. */
	memset(fill, 'f', sizeof(fill));
	while ((r = write(W.wfd, fill, sizeof(fill))) > 0)
		W.filler += r; /* taken() counts only the sink's bytes */
	CHECK(errno == EAGAIN);
	CHECK(batch(&s, 0, 10, 20) == 0);
	CHECK(batch(&s, 1, 10, 20) == 0);
	CHECK(W.calls == 0);
	errno = 0;
	CHECK(sink_flush(&s, done, NULL) == -1 && errno == EAGAIN);
	CHECKF(W.calls == 0, "%d calls", W.calls);
	CHECK(!sink_empty(&s));
	/* The reader takes the filler: now everything goes. */
	reader(W.filler);
	CHECK(taken() == 0);
	CHECK(sink_flush(&s, done, NULL) > 0);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(W.acked[0] == 10 && W.acked[1] == 10);
	CHECK(sink_empty(&s));
	world_free(&s);
	return (0);
}

/*
 * Random batches of three sources into the small pipe, the reader taking
 * a little after each flush.  term: records end with it, so a batch
 * written in part is acknowledged in part; else (netstrings) a batch is
 * acknowledged once its last byte is in.
 */
static int
slow_reader(int term)
{
	struct sink s;
	unsigned last = NSRC;
	int flushes = 0, short_writes = 0, refused = 0;
	ssize_t n;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 64) == 0);
	s.term = term;
	tc_seed = 0x5eed0000ULL + (unsigned)term;
	while (W.count[0] + W.count[1] + W.count[2] < 3 * MAXMSG - 300) {
		unsigned id = tc_rand(NSRC);
		int k = 1 + tc_rand(60);

		/* Netstrings: another source each time, so no mark moves. */
		if (term == -1 && id == last)
			id = (id + 1) % NSRC;
		if (W.count[id] + k > MAXMSG)
			continue;
		if (buf_len(&s.b) < 200000) {
			CHECK(batch(&s, id, k, 1 + tc_rand(300)) == 0);
			last = id;
		}
		{
			uint64_t before[NSRC];
			size_t queued = buf_len(&s.b);

			memcpy(before, W.acked, sizeof(before));
			n = sink_flush(&s, done, NULL);
			flushes++;
			CHECKF(!W.bad, "%s", W.why);
			if (n == -1) {
				CHECK(errno == EAGAIN);
				CHECK(memcmp(before, W.acked, sizeof(before)) ==
				    0);
				refused++;
			} else if ((size_t)n < queued)
				short_writes++;
		}
		CHECKF(exact(&s, term != -1) == 0,
		    "after flush %d: acked %llu %llu %llu, written %llu %llu %llu",
		    flushes, (unsigned long long)W.acked[0],
		    (unsigned long long)W.acked[1],
		    (unsigned long long)W.acked[2],
		    (unsigned long long)written_count(0, taken()),
		    (unsigned long long)written_count(1, taken()),
		    (unsigned long long)written_count(2, taken()));
		reader(tc_rand(6000));
	}
	/* The reader catches up: everything is acknowledged, no more. */
	for (int i = 0; i < 1000 && !sink_empty(&s); i++) {
		reader(SIZE_MAX);
		n = sink_flush(&s, done, NULL);
		CHECK(n >= 0 || errno == EAGAIN);
	}
	reader(SIZE_MAX);
	CHECK(sink_empty(&s));
	CHECKF(!W.bad, "%s", W.why);
	for (unsigned i = 0; i < NSRC; i++)
		CHECKF(W.acked[i] == W.count[i], "source %u: %llu of %llu", i,
		    (unsigned long long)W.acked[i],
		    (unsigned long long)W.count[i]);
	CHECK(W.got == s.appended);
	/* The case did what it is for: writes were short and refused. */
	CHECKF(short_writes > 10 && refused > 10, "%d short, %d refused",
	    short_writes, refused);
	world_free(&s);
	return (0);
}

static int
t_slow_reader_lines(void)
{
	return (slow_reader('\n'));
}

static int
t_slow_reader_nul(void)
{
	return (slow_reader('\0'));
}

static int
t_slow_reader_netstrings(void)
{
	return (slow_reader(-1));
}

/*
 * One batch of 1000 lines of 100 bytes into a pipe of 16384: the first
 * write takes 16384 bytes, 163 whole lines and a part of the 164th; done
 * says 163, not 164 and not 0.
 */
static int
t_partial_batch_lines(void)
{
	struct sink s;
	ssize_t n;
	uint64_t want;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 16) == 0);
	s.term = '\n';
	CHECK(batch(&s, 0, 1000, 99) == 0);
	n = sink_flush(&s, done, NULL);
	CHECKF(n > 0 && n < 100000, "%zd", n);
	CHECKF(!W.bad, "%s", W.why);
	want = (uint64_t)n / 100;
	CHECKF(W.acked[0] == want, "acked %llu, %zd bytes written",
	    (unsigned long long)W.acked[0], n);
	CHECK(W.calls == 1);
	/* Nothing more written: nothing more acknowledged, no call. */
	CHECK(sink_flush(&s, done, NULL) == -1 && errno == EAGAIN);
	CHECK(W.calls == 1);
	/* The reader takes 150 bytes: a page is not freed, nothing moves. */
	reader(150);
	(void)sink_flush(&s, done, NULL);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(W.acked[0] == written_count(0, taken()));
	while (!sink_empty(&s)) {
		reader(SIZE_MAX);
		n = sink_flush(&s, done, NULL);
		CHECK(n >= 0 || errno == EAGAIN);
		CHECKF(!W.bad, "%s", W.why);
		CHECK(W.acked[0] == written_count(0, taken()));
	}
	CHECK(W.acked[0] == 1000);
	world_free(&s);
	return (0);
}

/*
 * Two batches, A then B, and a write that ends inside B: A is acknowledged
 * whole, B as far as its whole lines go.  The same with netstrings: A
 * whole, nothing of B.
 */
static int
two_sources(int term)
{
	struct sink s;
	ssize_t n;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 16) == 0);
	s.term = term;
	CHECK(batch(&s, 0, 50, 99) == 0); /* 5000 bytes or so */
	CHECK(batch(&s, 1, 500, 99) == 0); /* past the pipe's end */
	n = sink_flush(&s, done, NULL);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(n > 0 && (uint64_t)n > W.end[0][50] && (uint64_t)n < s.appended);
	CHECK(W.acked[0] == 50);
	if (term != -1)
		CHECKF(W.acked[1] == written_count(1, (uint64_t)n) &&
			W.acked[1] > 0,
		    "B acked %llu", (unsigned long long)W.acked[1]);
	else
		CHECKF(W.acked[1] == 0, "B acked %llu",
		    (unsigned long long)W.acked[1]);
	world_free(&s);
	return (0);
}

static int
t_two_sources_lines(void)
{
	return (two_sources('\n'));
}

static int
t_two_sources_netstrings(void)
{
	return (two_sources(-1));
}

/*
 * The same source twice in a row is one mark: its count is the later one,
 * and a write that covers only the first batch acknowledges, with lines,
 * the lines written, and with netstrings nothing yet (later, never early).
 */
static int
same_source_twice(int term)
{
	struct sink s;
	ssize_t n;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 1) == 0);
	s.term = term;
	CHECK(batch(&s, 2, 100, 99) == 0);
	/* One mark only, and the ring holds one: moving it is no new mark. */
	CHECK(batch(&s, 2, 400, 99) == 0);
	CHECK(s.count == 1);
	n = sink_flush(&s, done, NULL);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(n > 0 && (uint64_t)n > W.end[2][100] && (uint64_t)n < s.appended);
	if (term != -1)
		CHECK(W.acked[2] == written_count(2, (uint64_t)n));
	else
		CHECK(W.acked[2] == 0);
	while (!sink_empty(&s)) {
		reader(SIZE_MAX);
		CHECK(sink_flush(&s, done, NULL) >= 0 || errno == EAGAIN);
	}
	CHECKF(!W.bad, "%s", W.why);
	CHECK(W.acked[2] == 500);
	world_free(&s);
	return (0);
}

static int
t_same_source_lines(void)
{
	return (same_source_twice('\n'));
}

static int
t_same_source_netstrings(void)
{
	return (same_source_twice(-1));
}

/* Records each done() call as it comes, for the generation case. */
static struct {
	unsigned id, gen;
	uint64_t count;
} calls[16];
static int ncalls;

static void
record(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	(void)arg;
	if (ncalls < 16) {
		calls[ncalls].id = id;
		calls[ncalls].gen = gen;
		calls[ncalls].count = count;
	}
	ncalls++;
}

/*
 * A source that comes back under a new generation (a session resumed on
 * a new connection) gets a mark of its own: each generation is told its
 * own count, in order.
 */
static int
t_generations(void)
{
	struct sink s;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 4) == 0);
	s.term = '\n';
	ncalls = 0;
	CHECK(append(&s, 0, 10) == 0 && append(&s, 0, 10) == 0);
	CHECK(sink_mark(&s, 0, 7, 2, 2) == 0);
	CHECK(append(&s, 0, 10) == 0);
	CHECK(sink_mark(&s, 0, 8, 40, 1) == 0);
	CHECK(s.count == 2);
	CHECK(sink_flush(&s, record, NULL) > 0);
	CHECKF(ncalls == 2, "%d calls", ncalls);
	CHECK(calls[0].id == 0 && calls[0].gen == 7 && calls[0].count == 2);
	CHECK(calls[1].id == 0 && calls[1].gen == 8 && calls[1].count == 40);
	world_free(&s);
	return (0);
}

/* The ring of marks is full: ENOBUFS, until a flush frees it. */
static int
t_marks_full(void)
{
	struct sink s;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 2) == 0);
	CHECK(batch(&s, 0, 1, 10) == 0);
	CHECK(batch(&s, 1, 1, 10) == 0);
	errno = 0;
	CHECK(sink_mark(&s, 2, 102, 0, 0) == -1 && errno == ENOBUFS);
	/* Not the last source either: a new mark, refused too. */
	errno = 0;
	CHECK(sink_mark(&s, 0, 100, W.count[0], 0) == -1 && errno == ENOBUFS);
	/* The last source again moves its mark: no new one needed. */
	CHECK(batch(&s, 1, 1, 10) == 0);
	CHECK(s.count == 2);
	CHECK(sink_flush(&s, done, NULL) > 0);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(W.acked[0] == 1 && W.acked[1] == 2);
	/* Written, the marks are free again. */
	CHECK(s.count == 0);
	CHECK(batch(&s, 2, 1, 10) == 0);
	CHECK(batch(&s, 0, 1, 10) == 0);
	CHECK(sink_flush(&s, done, NULL) > 0);
	CHECKF(!W.bad, "%s", W.why);
	CHECK(W.acked[2] == 1 && W.acked[0] == 2);
	world_free(&s);
	return (0);
}

/* Over max: sink_reserve and sink_putv refuse, the caller stops reading. */
static int
t_full_sink(void)
{
	struct sink s;
	char big[600];
	const char *p[1] = {big};
	size_t l[1] = {sizeof(big)};

	memset(big, 'b', sizeof(big));
	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1000, 4) == 0);
	CHECK(sink_putv(&s, 1, p, l) == 0);
	CHECK(sink_putv(&s, 1, p, l) == -1);
	CHECK(sink_reserve(&s, 500) == NULL);
	CHECK(sink_reserve(&s, 300) != NULL);
	world_free(&s);
	return (0);
}

/* The reader is gone: EPIPE, and nothing is acknowledged. */
static int
t_epipe(void)
{
	struct sink s;

	CHECK(world_init() == 0);
	CHECK(sink_init(&s, W.wfd, 0, 1 << 20, 4) == 0);
	s.term = '\n';
	CHECK(batch(&s, 0, 10, 20) == 0);
	close(W.rfd);
	W.rfd = -1;
	errno = 0;
	CHECK(sink_flush(&s, done, NULL) == -1 && errno == EPIPE);
	CHECK(W.calls == 0 && W.acked[0] == 0);
	world_free(&s);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "nothing is acknowledged before write(2) takes it",
	    t_none_before_write },
	{ "slow reader, lines: each done() covers bytes in the pipe, and all",
	    t_slow_reader_lines },
	{ "slow reader, NUL-terminated records", t_slow_reader_nul },
	{ "slow reader, netstrings: whole batches only, never early",
	    t_slow_reader_netstrings },
	{ "a batch of lines written in part is acknowledged in part",
	    t_partial_batch_lines },
	{ "two sources, a write ending inside the second (lines)",
	    t_two_sources_lines },
	{ "two sources, a write ending inside the second (netstrings)",
	    t_two_sources_netstrings },
	{ "the same source twice is one mark (lines)", t_same_source_lines },
	{ "the same source twice is one mark (netstrings)",
	    t_same_source_netstrings },
	{ "a new generation of a source is a mark of its own", t_generations },
	{ "ring of marks full: ENOBUFS until a flush", t_marks_full },
	{ "a full sink refuses more", t_full_sink },
	{ "reader gone: EPIPE and no acknowledgement", t_epipe },
};
/* clang-format on */

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return (TC_RUN(cases));
}
