/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/link: a link that has sent some data
 * frames (and holds more, one of them large so that writes are partial)
 * reads arbitrary bytes from its peer through a socket pair, in chunks,
 * and handles the frames as quilt-send does: acks go to link_ack with the
 * number as parsed, pings are answered with a control frame, msgs are
 * formatted; a hello with a resume point stands for a reconnect (a new
 * socket pair, link_reset, link_rewind).  Checked: link_ack and
 * link_rewind either succeed with the counts they were given or fail with
 * EPROTO leaving the link as it was; the queue's offsets stay ordered; and
 * everything the link writes parses, on the peer's side, into whole frames
 * (a control frame never cuts a data frame).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fmt.h"
#include "frame.h"
#include "link.h"
#include "wire.h"

#define OUTMAX (8 * 1024 * 1024)

static struct link L;
static int fds[2];
static char *out; /* what the peer has read */
static size_t outn;
static char part[40000];

static void
invariants(void)
{
	size_t off = L.q.start;

	if (L.q.start > L.qs || L.qs > L.q.end || L.q.end > L.q.cap ||
	    L.bound < L.q.start || L.bound > L.q.end ||
	    L.n_acked > L.n_queued || buf_len(&L.q) > L.window ||
	    L.n_bound < L.n_acked || L.n_bound > L.n_queued ||
	    L.n_queued - L.n_acked > L.szmask + 1)
		abort();
	/* The ring of sizes: the frames as they lie in q, bound at one. */
	for (uint64_t k = L.n_acked; k < L.n_queued; k++) {
		if (k == L.n_bound && off != L.bound)
			abort();
		off += L.sz[k & L.szmask];
	}
	if (off != L.q.end || (L.n_bound == L.n_queued && L.bound != off))
		abort();
}

static void
queue(size_t len)
{
	size_t n = wire_msg1_size(0, len);
	char *w;

	if ((w = link_reserve(&L, n)) == NULL)
		return;
	wire_put_msg1_fast(w, part, len);
	link_commit(&L, n);
	invariants();
}

/* The peer reads what the link wrote. */
static void
drain_peer(void)
{
	ssize_t r;

	while (
	    outn < OUTMAX && (r = read(fds[1], out + outn, OUTMAX - outn)) > 0)
		outn += r;
}

static void
flush(void)
{
	if (link_pending(&L) > 0 && link_flush(&L) == -1 && errno != EAGAIN)
		abort();
	invariants();
	drain_peer();
}

static void
ack(const char *p, size_t n)
{
	unsigned long long v;
	struct link before = L;

	if (frame_part_num(p, n, UINT64_MAX, &v) == -1)
		return;
	if (link_ack(&L, v) == 0) {
		if (L.n_acked != v || v < before.n_acked)
			abort();
		if (v > before.n_acked && buf_len(&L.q) >= buf_len(&before.q))
			abort();
	} else if (errno != EPROTO || L.n_acked != before.n_acked ||
	    L.q.start != before.q.start || L.qs != before.qs ||
	    L.q.end != before.q.end) {
		abort();
	}
	invariants();
}

/*
 * A hello with a resume point: taken as the hello of a new connection, as
 * quilt-send sees it after a reconnect (on a running connection a hello
 * ends the session).  What was in flight goes with the old connection;
 * the peer starts a new stream.  Returns 1 when it reconnected.
 */
static int
hello(const struct wire_msg *m)
{
	struct wire_hello h;
	struct link before;
	int nf[2], sndbuf = 4096;

	if (wire_get_hello(m, &h) == -1 || h.resume < 0)
		return (0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, nf) == -1)
		abort();
	fcntl(nf[0], F_SETFL, O_NONBLOCK);
	fcntl(nf[1], F_SETFL, O_NONBLOCK);
	setsockopt(nf[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	close(fds[0]);
	close(fds[1]);
	fds[0] = nf[0];
	fds[1] = nf[1];
	outn = 0;
	link_reset(&L, fds[0]);
	if (buf_len(&L.in) != 0 || buf_len(&L.ctl) != 0)
		abort();
	before = L;
	if (link_rewind(&L, h.resume) == 0) {
		if ((uint64_t)h.resume < before.n_acked ||
		    (uint64_t)h.resume > before.n_queued)
			abort();
		/* From the end: nothing left unsent. */
		if ((uint64_t)h.resume == L.n_queued && link_unsent(&L))
			abort();
	} else if (errno != EPROTO || L.qs != before.qs ||
	    L.n_acked != before.n_acked) {
		abort();
	} else {
		/* quilt-send gives up; here, resend all that is held. */
		if (link_rewind(&L, L.n_acked) == -1)
			abort();
	}
	invariants();
	return (1);
}

/* Handle what has arrived; -1 when the link would be dropped. */
static int
handle(void)
{
	const char *body, *p;
	size_t len, n;
	ssize_t f;

	while ((f = link_frame(&L, 0, &body, &len)) > 0) {
		struct wire_msg m;
		struct frame_iter it;

		if (body < buf_data(&L.in) ||
		    body + len > buf_data(&L.in) + buf_len(&L.in) ||
		    len > L.maxin)
			abort();
		if (wire_decode(body, len, &m) == -1)
			return (-1);
		frame_iter_init(&it, m.args, m.argslen);
		switch (m.cmd) {
		case W_ACK:
			if (frame_next_part(&it, &p, &n) == 1)
				ack(p, n);
			break;
		case W_HELLO:
			/* The rest went with the old connection. */
			if (hello(&m))
				return (0);
			break;
		case W_PING:
			if (frame_next_part(&it, &p, &n) == 1) {
				char seq[24];
				const char *args[] = {seq, "fuzz", "0", NULL};

				snprintf(seq, sizeof(seq), "%.*s",
				    (int)(n < 20 ? n : 20), p);
				if (frame_next_part(&it, &p, &n) != 1)
					n = 0;
				(void)link_ctlv(&L, "pong", args, p, n);
			}
			break;
		case W_MSG: {
			char *o = malloc(fmt_bound(m.argslen));
			int esc = 0;
			ssize_t k = fmt_put(FMT_LINE, o, m.args, m.argslen,
			    &esc);

			if (k > (ssize_t)fmt_bound(m.argslen))
				abort();
			free(o);
			break;
		}
		default:
			break;
		}
		link_take(&L, f);
		invariants();
	}
	return (f == 0 ? 0 : -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 3;
	size_t n, chunk, maxin;
	int sndbuf = 4096, dead = 0;

	if (size < 3)
		return (0);
	n = size - 3;
	maxin = data[1] < 128 ? 64 + (size_t)data[1] * 8 : 1 << 16;
	chunk = 1 + data[2];
	if (out == NULL && (out = malloc(OUTMAX)) == NULL)
		abort();
	memset(part, 'x', sizeof(part));
	outn = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1)
		abort();
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (link_init(&L, fds[0], maxin, 1 << 17, 0) == -1)
		abort();

	/* Frames sent before the peer's bytes, then frames held unsent,
	 * one of them large. */
	for (int i = 0; i < (data[0] & 15); i++)
		queue(i * 37 % 300);
	for (int i = 0; i < 20 && link_pending(&L) > 0; i++)
		flush();
	for (int i = 0; i < (data[0] >> 4 & 7); i++)
		queue(i * 101 % 500);
	if (data[0] & 0x80)
		queue(sizeof(part));
	flush();

	for (size_t at = 0; at < n && !dead; at += chunk) {
		size_t k = n - at < chunk ? n - at : chunk;
		ssize_t r;

		if (write(fds[1], p + at, k) != (ssize_t)k)
			abort();
		while ((r = link_read(&L)) > 0)
			;
		if (r == -1 && errno != EAGAIN)
			abort();
		if (handle() == -1)
			dead = 1;
		if (at / chunk % 2 == 1) {
			flush();
			queue(at % 200);
		}
	}
	/* Write everything out; the peer must see whole frames. */
	for (int i = 0; i < 1000 && link_pending(&L) > 0; i++)
		flush();
	if (link_pending(&L) > 0)
		abort();
	drain_peer();
	{
		size_t at = 0;

		while (at < outn) {
			const char *b;
			size_t len;
			struct wire_msg m;
			ssize_t r = frame_parse(out + at, outn - at, 1 << 20,
			    &b, &len);

			if (r <= 0 || wire_decode(b, len, &m) == -1 ||
			    (m.cmd != W_MSG && m.cmd != W_PONG))
				abort();
			at += r;
		}
	}
	link_free(&L);
	close(fds[0]);
	close(fds[1]);
	return (0);
}
