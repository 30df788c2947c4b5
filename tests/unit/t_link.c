/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/link: one peer connection over a socket pair.
 * Data frames are queued, written, read and parsed on the other side;
 * acknowledgements drop them; a rewind sends them again; a control frame
 * never cuts a data frame in two; the window bounds what is held.
 * TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "link.h"
#include "tcase.h"
#include "wire.h"

#define MAXIN (4 * 1024 * 1024)

static int fds[2] = {-1, -1};
static struct link A, B; /* A sends data frames, B reads them */

/* What B has seen: each frame's command and its first part (the first
 * SEEN_MAX frames; n stops at SEEN_MAX + 1). */
#define SEEN_MAX 4096
struct seen {
	int n;
	enum wire_cmd cmd[SEEN_MAX];
	char arg[SEEN_MAX][24];
	size_t size[SEEN_MAX];
};

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int
setup(size_t window, int sndbuf)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1)
		return (-1);
	nonblock(fds[0]);
	nonblock(fds[1]);
	if (sndbuf > 0)
		setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
	if (link_init(&A, fds[0], MAXIN, window, 0) == -1 ||
	    link_init(&B, fds[1], MAXIN, window, 0) == -1)
		return (-1);
	return (0);
}

static void
teardown(void)
{
	link_free(&A);
	link_free(&B);
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* Queue message number k on A: ["", "msg", "#k" padded to len bytes]. */
static int
queue_msg(struct link *l, int k, size_t len)
{
	static char part[2 * 1024 * 1024];
	size_t n = wire_msg1_size(0, len);
	char *w;
	int h;

	if ((w = link_reserve(l, n)) == NULL)
		return (-1);
	h = snprintf(part, sizeof(part), "#%d", k);
	memset(part + h, '.', len > (size_t)h ? len - h : 0);
	if (wire_put_msg1_fast(w, part, len) != w + n)
		abort();
	link_commit(l, n);
	return (0);
}

static int
queue_ctl(struct link *l, const char *cmd, const char *arg)
{
	const char *args[] = {arg, NULL};

	return (link_ctlv(l, cmd, args, NULL, 0));
}

/* Parse what B has read into s; -1 on a malformed frame. */
static int
parse_in(struct seen *s)
{
	const char *body, *p;
	size_t len, n;
	ssize_t f;

	while ((f = link_frame(&B, 0, &body, &len)) > 0) {
		struct wire_msg m;
		struct frame_iter it;

		if (wire_decode(body, len, &m) == -1)
			return (-1);
		if (s->n == SEEN_MAX) {
			/* Counted, not kept. */
			s->n++;
			link_take(&B, f);
			continue;
		}
		if (s->n > SEEN_MAX) {
			link_take(&B, f);
			continue;
		}
		s->cmd[s->n] = m.cmd;
		s->size[s->n] = f;
		s->arg[s->n][0] = '\0';
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) == 1) {
			if (n > 20)
				n = 20;
			/* "#12...." -> "#12" */
			while (n > 0 && p[n - 1] == '.')
				n--;
			memcpy(s->arg[s->n], p, n);
			s->arg[s->n][n] = '\0';
		}
		s->n++;
		link_take(&B, f);
	}
	return (f == 0 ? 0 : -1);
}

/* Read what B can now read. */
static int
read_b(struct seen *s)
{
	ssize_t r;

	while ((r = link_read(&B)) > 0)
		if (parse_in(s) == -1)
			return (-1);
	if (r == -1 && errno != EAGAIN)
		return (-1);
	return (parse_in(s));
}

/* Flush A and read B until A has nothing left to write. */
static int
pump(struct seen *s)
{
	for (int i = 0; i < 100000; i++) {
		if (link_pending(&A) > 0 && link_flush(&A) == -1 &&
		    errno != EAGAIN) {
			tc_fail("flush: %s", strerror(errno));
			return (-1);
		}
		if (read_b(s) == -1) {
			tc_fail("read: %s (%d frames)", strerror(errno), s->n);
			return (-1);
		}
		if (link_pending(&A) == 0)
			return (read_b(s));
	}
	tc_fail("pump: %zu bytes still to write", link_pending(&A));
	return (-1);
}

static int
is_msg(const struct seen *s, int i, int k)
{
	char want[24];

	snprintf(want, sizeof(want), "#%d", k);
	return (i < s->n && i < SEEN_MAX && s->cmd[i] == W_MSG &&
	    strcmp(s->arg[i], want) == 0);
}

static int
t_send_receive(void)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	CHECK(setup(1 << 20, 0) == 0);
	CHECK(link_pending(&A) == 0 && !link_unsent(&A));
	for (int k = 0; k < 5; k++)
		CHECK(queue_msg(&A, k, 10 + k * 10) == 0);
	CHECK(A.n_queued == 5 && A.n_acked == 0);
	CHECK(link_unsent(&A) && link_pending(&A) == buf_len(&A.q));
	CHECK(pump(&s) == 0);
	CHECK(s.n == 5);
	for (int k = 0; k < 5; k++)
		CHECKF(is_msg(&s, k, k), "frame %d is %d \"%s\"", k, s.cmd[k],
		    s.arg[k]);
	CHECK(!link_unsent(&A) && A.bytes_out == B.bytes_in);
	/* Sent but not acknowledged: still held. */
	CHECK(buf_len(&A.q) == A.bytes_out);
	/* A control frame from B reaches A. */
	CHECK(queue_ctl(&B, "ack", "5") == 0);
	CHECK(link_pending(&B) == 17 && link_flush(&B) == 17);
	CHECK(link_read(&A) == 17);
	{
		const char *body;
		size_t len;
		struct wire_msg m;

		CHECK(link_frame(&A, 0, &body, &len) == 17);
		CHECK(wire_decode(body, len, &m) == 0 && m.cmd == W_ACK);
		link_take(&A, 17);
		CHECK(buf_len(&A.in) == 0);
		CHECK(link_frame(&A, 0, &body, &len) == 0);
	}
	/* End of stream. */
	shutdown(fds[1], SHUT_WR);
	CHECK(link_read(&A) == 0);
	teardown();
	return (0);
}

static int
t_ack(void)
{
	static struct seen s;
	size_t total, first;

	memset(&s, 0, sizeof(s));
	CHECK(setup(1 << 20, 0) == 0);
	for (int k = 0; k < 4; k++)
		CHECK(queue_msg(&A, k, 100) == 0);
	CHECK(pump(&s) == 0 && s.n == 4);
	total = buf_len(&A.q);
	first = s.size[0];
	CHECK(link_ack(&A, 0) == 0 && A.n_acked == 0);
	CHECK(link_ack(&A, 1) == 0 && A.n_acked == 1);
	CHECK(buf_len(&A.q) == total - first);
	CHECK(link_ack(&A, 1) == 0 && A.n_acked == 1); /* again: no-op */
	CHECK(link_ack(&A, 3) == 0 && A.n_acked == 3);
	CHECK(buf_len(&A.q) == s.size[3]);
	/* Backwards. */
	errno = 0;
	CHECK(link_ack(&A, 2) == -1 && errno == EPROTO && A.n_acked == 3);
	/* Past what was queued. */
	errno = 0;
	CHECK(link_ack(&A, 5) == -1 && errno == EPROTO && A.n_acked == 3);
	errno = 0;
	CHECK(link_ack(&A, UINT64_MAX) == -1 && errno == EPROTO);
	/* Queued but not written yet. */
	CHECK(queue_msg(&A, 4, 100) == 0 && queue_msg(&A, 5, 100) == 0);
	errno = 0;
	CHECK(link_ack(&A, 5) == -1 && errno == EPROTO && A.n_acked == 3);
	errno = 0;
	CHECK(link_ack(&A, 6) == -1 && errno == EPROTO);
	CHECK(link_ack(&A, 4) == 0 && buf_len(&A.q) == 2 * s.size[0]);
	CHECK(
	    pump(&s) == 0 && s.n == 6 && is_msg(&s, 4, 4) && is_msg(&s, 5, 5));
	CHECK(link_ack(&A, 6) == 0 && buf_len(&A.q) == 0 && A.q.start == 0);
	CHECK(link_pending(&A) == 0);
	/* Queue again after the queue emptied. */
	CHECK(queue_msg(&A, 6, 7) == 0 && pump(&s) == 0 && is_msg(&s, 6, 6));
	CHECK(link_ack(&A, 7) == 0);
	teardown();
	return (0);
}

/* Fill the socket: write a frame larger than the socket can hold. */
static int
half_written(size_t big)
{
	ssize_t w;

	CHECK(queue_msg(&A, 0, big) == 0);
	w = link_flush(&A);
	CHECKF(w > 0 && (size_t)w < wire_msg1_size(0, big), "wrote %zd", w);
	/* Until the socket is full. */
	while (link_flush(&A) > 0)
		;
	CHECK(errno == EAGAIN);
	CHECK(A.qs > 0 && A.qs < wire_msg1_size(0, big));
	return (0);
}

static int
t_ack_partial(void)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	/* The peer cannot have written a frame it has not wholly received. */
	CHECK(setup(8 << 20, 4096) == 0);
	CHECK(half_written(1 << 20) == 0);
	CHECK(queue_msg(&A, 1, 10) == 0);
	errno = 0;
	CHECK(link_ack(&A, 1) == -1 && errno == EPROTO);
	CHECK(A.n_acked == 0);
	CHECK(
	    pump(&s) == 0 && s.n == 2 && is_msg(&s, 0, 0) && is_msg(&s, 1, 1));
	CHECK(link_ack(&A, 2) == 0);
	teardown();
	return (0);
}

static int
t_rewind(void)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	CHECK(setup(1 << 20, 0) == 0);
	for (int k = 0; k < 6; k++)
		CHECK(queue_msg(&A, k, 10 + k * 50) == 0);
	CHECK(pump(&s) == 0 && s.n == 6);
	CHECK(link_ack(&A, 2) == 0);
	/* Out of range: below the acknowledged, past the queued. */
	errno = 0;
	CHECK(link_rewind(&A, 1) == -1 && errno == EPROTO);
	errno = 0;
	CHECK(link_rewind(&A, 7) == -1 && errno == EPROTO);
	/* From message 4: exactly 4 and 5 again. */
	CHECK(link_rewind(&A, 4) == 0 && link_unsent(&A));
	s.n = 0;
	CHECK(pump(&s) == 0);
	CHECKF(s.n == 2 && is_msg(&s, 0, 4) && is_msg(&s, 1, 5), "%d frames",
	    s.n);
	/* From the end: nothing. */
	CHECK(link_rewind(&A, 6) == 0 && !link_unsent(&A) &&
	    link_pending(&A) == 0);
	/* A new connection, from message 2 (everything not acknowledged). */
	link_free(&B);
	close(fds[0]);
	close(fds[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	nonblock(fds[0]);
	nonblock(fds[1]);
	/* A control frame still waiting goes with the old connection. */
	CHECK(queue_ctl(&A, "ping", "1") == 0);
	link_reset(&A, fds[0]);
	CHECK(buf_len(&A.ctl) == 0 && buf_len(&A.in) == 0);
	CHECK(link_init(&B, fds[1], MAXIN, 1 << 20, 0) == 0);
	CHECK(link_rewind(&A, 2) == 0);
	s.n = 0;
	CHECK(pump(&s) == 0);
	CHECKF(s.n == 4 && is_msg(&s, 0, 2) && is_msg(&s, 1, 3) &&
		is_msg(&s, 2, 4) && is_msg(&s, 3, 5),
	    "%d frames", s.n);
	CHECK(link_ack(&A, 6) == 0 && buf_len(&A.q) == 0);
	teardown();
	return (0);
}

static int
t_ctl_between(void)
{
	static struct seen s;
	size_t big = 1 << 20;

	memset(&s, 0, sizeof(s));
	CHECK(setup(8 << 20, 4096) == 0);
	CHECK(half_written(big) == 0);
	CHECK(queue_msg(&A, 1, 10) == 0);
	/* An ack to send while frame 0 is half written. */
	CHECK(queue_ctl(&A, "ack", "7") == 0);
	CHECK(pump(&s) == 0);
	CHECKF(s.n == 3, "%d frames", s.n);
	CHECKF(is_msg(&s, 0, 0) && s.size[0] == wire_msg1_size(0, big),
	    "first: %d \"%s\"", s.cmd[0], s.arg[0]);
	CHECKF(s.cmd[1] == W_ACK && strcmp(s.arg[1], "7") == 0,
	    "second: %d \"%s\"", s.cmd[1], s.arg[1]);
	CHECK(is_msg(&s, 2, 1));
	CHECK(buf_len(&B.in) == 0 && A.bytes_out == B.bytes_in);
	teardown();
	return (0);
}

static int
t_ctl_first(void)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	/* Between two frames, a control frame goes ahead of the data. */
	CHECK(setup(1 << 20, 0) == 0);
	CHECK(queue_msg(&A, 0, 10) == 0 && queue_msg(&A, 1, 10) == 0);
	CHECK(queue_ctl(&A, "ack", "3") == 0);
	CHECK(queue_ctl(&A, "pong", "9") == 0);
	CHECK(pump(&s) == 0 && s.n == 4);
	CHECK(s.cmd[0] == W_ACK && s.cmd[1] == W_PONG);
	CHECK(is_msg(&s, 2, 0) && is_msg(&s, 3, 1));
	teardown();
	return (0);
}

static int
t_ctl_many_partial(void)
{
	static struct seen s;
	int sent = 0, got_msgs = 0;

	memset(&s, 0, sizeof(s));
	/* Many frames of assorted sizes through a small socket buffer,
	 * control frames queued after every partial write: the stream must
	 * parse into whole frames, data in order. */
	CHECK(setup(64 << 20, 4096) == 0);
	for (int round = 0; round < 200; round++) {
		size_t len = 10 + (round * 7919) % 70000;

		if (link_reserve(&A, wire_msg1_size(0, len)) != NULL)
			CHECK(queue_msg(&A, sent++, len) == 0);
		if (link_flush(&A) == -1)
			CHECK(errno == EAGAIN);
		if (round % 3 == 0)
			CHECK(queue_ctl(&A, "pong", "x") == 0);
		if (round % 2 == 0)
			CHECK(read_b(&s) == 0);
		if (s.n > 200) {
			CHECK(s.n <= SEEN_MAX);
			for (int i = 0; i < s.n; i++)
				if (s.cmd[i] == W_MSG)
					CHECK(is_msg(&s, i, got_msgs++));
				else
					CHECK(s.cmd[i] == W_PONG);
			s.n = 0;
		}
	}
	CHECK(pump(&s) == 0 && s.n <= SEEN_MAX);
	for (int i = 0; i < s.n; i++)
		if (s.cmd[i] == W_MSG)
			CHECKF(is_msg(&s, i, got_msgs++), "frame %d: \"%s\"", i,
			    s.arg[i]);
		else
			CHECK(s.cmd[i] == W_PONG);
	CHECK(got_msgs == sent && A.bytes_out == B.bytes_in);
	teardown();
	return (0);
}

static int
t_window(void)
{
	static struct seen s;
	size_t fs = wire_msg1_size(0, 100);
	int k = 0;

	memset(&s, 0, sizeof(s));
	CHECK(setup(1000, 0) == 0);
	CHECK(A.window == 1000);
	while (queue_msg(&A, k, 100) == 0)
		k++;
	CHECKF((size_t)k == 1000 / fs, "%d frames of %zu", k, fs);
	CHECK(buf_len(&A.q) <= 1000 && buf_len(&A.q) + fs > 1000);
	CHECK(link_reserve(&A, fs) == NULL);
	/* Smaller frames may still fit. */
	CHECK(link_reserve(&A, 1000 - buf_len(&A.q)) != NULL);
	CHECK(link_reserve(&A, 1000 - buf_len(&A.q) + 1) == NULL);
	/* Written is not enough: acknowledged frees room. */
	CHECK(pump(&s) == 0 && s.n == k);
	CHECK(link_reserve(&A, fs) == NULL);
	CHECK(link_ack(&A, 1) == 0);
	CHECK(queue_msg(&A, k, 100) == 0);
	CHECK(link_reserve(&A, fs) == NULL);
	CHECK(pump(&s) == 0 && link_ack(&A, A.n_queued) == 0);
	CHECK(buf_len(&A.q) == 0);
	/* Sliding: the data moves down in the buffer now and then, with
	 * frames sent and not yet sent in it; the boundary between them
	 * must move with it. */
	k++;
	for (int round = 0; round < 100; round++) {
		CHECK(queue_msg(&A, k, 100) == 0);
		CHECK(link_flush(&A) > 0);
		CHECK(queue_msg(&A, k + 1, 100) == 0);
		CHECK(queue_msg(&A, k + 2, 100) == 0);
		s.n = 0;
		CHECK(pump(&s) == 0);
		CHECKF(s.n == 3 && is_msg(&s, 0, k) && is_msg(&s, 2, k + 2),
		    "round %d: %d frames, \"%s\"", round, s.n,
		    s.n ? s.arg[0] : "");
		k += 3;
		/* Keep the last frame held, as if its ack were late. */
		CHECK(link_ack(&A, A.n_queued - 1) == 0);
	}
	CHECK(link_ack(&A, A.n_queued) == 0 && buf_len(&A.q) == 0);
	teardown();

	/* The window holds at least one frame of the peer's limit. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	CHECK(link_init(&A, fds[0], MAXIN, 10, 5000) == 0);
	CHECK(link_init(&B, fds[1], MAXIN, 10, 0) == 0);
	CHECK(A.window >= frame_size(5000 + 64));
	CHECK(queue_msg(&A, 0, 5000 - 20) == 0);
	CHECK(link_reserve(&A, wire_msg1_size(0, 5000 - 20)) == NULL);
	link_set_peer_max(&A, 100000);
	CHECK(A.window >= frame_size(100000 + 64));
	CHECK(link_reserve(&A, A.window - buf_len(&A.q)) != NULL);
	CHECK(link_reserve(&A, A.window - buf_len(&A.q) + 1) == NULL);
	teardown();
	return (0);
}

static int
t_frame_limit(void)
{
	char big[64];
	const char *body;
	size_t len;
	int n;

	/* A frame over the link's maxin is refused while its length is read. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	nonblock(fds[1]);
	CHECK(link_init(&A, fds[0], 1000, 1 << 16, 0) == 0);
	CHECK(link_init(&B, fds[1], 1000, 1 << 16, 0) == 0);
	n = snprintf(big, sizeof(big), "1001:");
	CHECK(write(fds[0], big, n) == n);
	CHECK(link_read(&B) == n);
	errno = 0;
	CHECK(link_frame(&B, 0, &body, &len) == -1 && errno == EMSGSIZE);
	/* A smaller limit for this frame. */
	CHECK(link_frame(&B, 2000, &body, &len) == 0);
	errno = 0;
	CHECK(link_frame(&B, 10, &body, &len) == -1 && errno == EMSGSIZE);
	link_take(&B, n);
	CHECK(write(fds[0], "3:abc;", 6) == 6 && link_read(&B) == 6);
	errno = 0;
	CHECK(link_frame(&B, 0, &body, &len) == -1 && errno == EBADMSG);
	link_take(&B, 6);
	CHECK(link_read(&B) == -1 && errno == EAGAIN);
	teardown();
	return (0);
}

static int
t_ctl_full(void)
{
	static struct seen s;
	int k = 0;

	/* The control queue is bounded too: full is ENOBUFS, not growth. */
	memset(&s, 0, sizeof(s));
	CHECK(setup(1 << 16, 0) == 0);
	while (queue_ctl(&A, "pong", "123456789") == 0)
		CHECK(++k < 1000000);
	CHECK(errno == ENOBUFS);
	CHECK(buf_len(&A.ctl) <= A.ctl.max && k > 0);
	CHECK(link_ctl(&A, "9:0:,3:bye,,", 12) == -1 && errno == ENOBUFS);
	/* Written out, they were whole frames; then there is room again. */
	for (int i = 0; i < 100 && link_pending(&A) > 0; i++) {
		CHECK(pump(&s) == 0);
		s.n = 0;
	}
	CHECK(link_pending(&A) == 0 && A.bytes_out == B.bytes_in);
	CHECK(link_ctl(&A, "9:0:,3:bye,,", 12) == 0);
	CHECK(pump(&s) == 0 && s.n == 1 && s.cmd[0] == W_BYE);
	teardown();
	return (0);
}

/* Queue messages k..k+count-1 of len + i % 7 bytes as one batch. */
static int
queue_batch(struct link *l, int k, int count, size_t len)
{
	static char part[256];
	uint32_t sizes[64];
	size_t total = 0;
	char *w;

	if (count > 64 || (size_t)count > link_room_frames(l))
		return (-1);
	for (int i = 0; i < count; i++)
		total += sizes[i] = wire_msg1_size(0, len + i % 7);
	if ((w = link_reserve(l, total)) == NULL)
		return (-1);
	for (int i = 0; i < count; i++) {
		size_t n = len + i % 7;
		int h = snprintf(part, sizeof(part), "#%d", k + i);

		memset(part + h, '.', n > (size_t)h ? n - h : 0);
		w = wire_put_msg1_fast(w, part, n);
	}
	link_commit_n(l, sizes, count);
	return (0);
}

static int
t_ring_full(void)
{
	static struct seen s;
	size_t ring;
	int k = 0;

	memset(&s, 0, sizeof(s));
	/* Small frames: the ring of sizes fills before the bytes do. */
	CHECK(setup(1 << 16, 0) == 0);
	ring = link_room_frames(&A);
	CHECK(ring >= 1024 && ring * wire_msg1_size(0, 5) < A.window);
	while (queue_msg(&A, k, 5) == 0)
		k++;
	CHECKF((size_t)k == ring, "%d frames, ring of %zu", k, ring);
	CHECK(link_room_frames(&A) == 0 && buf_len(&A.q) + 100 < A.window);
	CHECK(link_reserve(&A, 1) == NULL);
	CHECK(queue_batch(&A, k, 1, 5) == -1);
	/* Acknowledged frames free entries, as they free bytes. */
	CHECK(pump(&s) == 0 && s.n == k);
	CHECK(link_ack(&A, 2) == 0 && link_room_frames(&A) == 2);
	CHECK(queue_batch(&A, k, 2, 5) == 0);
	k += 2;
	CHECK(link_room_frames(&A) == 0 && link_reserve(&A, 1) == NULL);
	CHECK(pump(&s) == 0 && s.n == k && is_msg(&s, k - 1, k - 1));
	CHECK(link_ack(&A, A.n_queued) == 0 && buf_len(&A.q) == 0);
	CHECK(link_room_frames(&A) == ring);
	teardown();
	return (0);
}

static int
t_ring_wrap(void)
{
	static struct seen s;
	int k = 0, next = 0;

	memset(&s, 0, sizeof(s));
	/* Many times round the ring, in batches and one by one, with acks
	 * that leave frames held, rewinds after them and control frames
	 * between frames. */
	CHECK(setup(1 << 16, 0) == 0);
	for (int round = 0; round < 200; round++) {
		uint64_t from, held;

		for (int i = 0; i < 5 && link_room_frames(&A) >= 40; i++) {
			CHECK(queue_batch(&A, k, 40, 8 + round % 11) == 0);
			k += 40;
		}
		while (link_room_frames(&A) > 30 &&
		    queue_msg(&A, k, 8 + (k * 7) % 23) == 0)
			k++;
		if (round % 2)
			CHECK(queue_ctl(&A, "pong", "x") == 0);
		s.n = 0;
		CHECK(pump(&s) == 0 && s.n <= SEEN_MAX);
		for (int i = 0; i < s.n; i++)
			if (s.cmd[i] == W_MSG)
				CHECKF(is_msg(&s, i, next++),
				    "round %d, "
				    "frame %d: \"%s\"",
				    round, i, s.arg[i]);
			else
				CHECK(s.cmd[i] == W_PONG);
		CHECK(next == k);
		/* Keep some held, as if their acks were late... */
		held = (round * 13) % 200;
		if (held > A.n_queued - A.n_acked)
			held = A.n_queued - A.n_acked;
		CHECK(link_ack(&A, A.n_queued - held) == 0);
		if (round % 3 != 0)
			continue;
		/* ...and send some of them again, as after a reconnect. */
		from = A.n_acked + (round * 5) % (A.n_queued - A.n_acked + 1);
		CHECK(link_rewind(&A, from) == 0);
		s.n = 0;
		CHECK(pump(&s) == 0);
		CHECKF((uint64_t)s.n == A.n_queued - from,
		    "%d frames again, "
		    "not %llu",
		    s.n, (unsigned long long)(A.n_queued - from));
		for (int i = 0; i < s.n; i++)
			CHECK(is_msg(&s, i, (int)from + i));
		CHECK(link_ack(&A, from) == 0);
	}
	CHECKF(A.n_queued > 20 * (A.szmask + 1), "%llu frames",
	    (unsigned long long)A.n_queued);
	CHECK(link_ack(&A, A.n_queued) == 0 && buf_len(&A.q) == 0);
	teardown();
	return (0);
}

static const struct tcase cases[] = {
    {"reserve, commit, flush; the peer reads whole frames", t_send_receive},
    {"link_ack drops frames; backwards or past the sent is EPROTO", t_ack},
    {"ack of a frame not wholly written is EPROTO", t_ack_partial},
    {"link_rewind resends exactly the frames from message n", t_rewind},
    {"a control frame waits until a half-written frame completes",
	t_ctl_between},
    {"between frames, control frames go ahead of data", t_ctl_first},
    {"many partial writes with control frames: whole frames in order",
	t_ctl_many_partial},
    {"the window: link_reserve returns NULL when full", t_window},
    {"a full control queue is ENOBUFS", t_ctl_full},
    {"link_frame: limit and malformed frames", t_frame_limit},
    {"a full ring of frame sizes is a full window", t_ring_full},
    {"round the ring: batches, late acks, rewinds, control frames",
	t_ring_wrap},
};

int
main(void)
{
	return (TC_RUN(cases));
}
