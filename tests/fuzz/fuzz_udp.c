/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/udp, the udp: transport's engine.  A
 * client A and a listener's connection B, opened by a real handshake
 * (cookie, accept; sealed with a real key exchange when the first byte is
 * odd), joined by two queues of datagrams that the rest of the input
 * plays with, one operation a byte:
 *   0, 1   A, B queues a reliable message (2 bytes: its size)
 *   2      A queues an unreliable message (2 bytes: its size)
 *   3, 4   A, B puts every datagram it has to send on its queue
 *   5, 6   the first datagram of A's, B's queue (1 byte: what befalls it):
 *          delivered, dropped, delivered twice, moved to the back, a byte
 *          flipped (1 byte: where), cut short (1 byte: to how much)
 *   7      time passes (2 bytes: milliseconds)
 *   8      a datagram from the input (1 byte: to A or B, with its id, as a
 *          DATA with the next packet number; 1 byte: its length)
 *   9      both read everything they have
 *   10     udp_listen: a datagram from the input (1 byte: its length)
 *   11     A closes, or B aborts (1 byte)
 * Checked: nothing crashes or spins; no message is over the limit; the
 * listener never takes a request without its cookie and never answers
 * with more than it got; and, unless a datagram was altered or made up on
 * an unsealed connection, each end gets the reliable messages of the other
 * exactly once, in order, intact, and unreliable ones intact and in order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "udp.h"

#define QMAX 64
#define MSGMAX 70000
#define NMSG 512
#define DGMAX 2048

struct q {
	unsigned char *b[QMAX];
	size_t len[QMAX];
	int n;
};

struct side {
	struct udp *c;
	struct q out; /* datagrams it sent, not yet delivered */
	uint32_t sent, got; /* reliable messages */
	size_t size[NMSG];
	uint32_t usent, ugot_last;
	size_t usize[NMSG];
	int uany;
};

static const unsigned char psk[SEAL_KEYLEN] = "fuzz_udp: a key of 32 bytes...";
static unsigned char buf[MSGMAX];
static uint64_t now;
static int tainted, sealed;

static const unsigned char *
msg(uint32_t k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(k * 31 + i * 7);
	memcpy(buf, &k, 4);
	return (buf);
}

static void
check_msg(const unsigned char *m, size_t n, uint32_t k, size_t want)
{
	if (tainted)
		return;
	if (n != want || memcmp(m, &k, 4) != 0)
		abort();
	for (size_t i = 4; i < n; i++)
		if (m[i] != (unsigned char)(k * 31 + i * 7))
			abort();
}

static void
q_push(struct q *q, const unsigned char *b, size_t len)
{
	if (q->n == QMAX)
		return; /* lost */
	if ((q->b[q->n] = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(q->b[q->n], b, len);
	q->len[q->n++] = len;
}

static void
q_pop(struct q *q)
{
	free(q->b[0]);
	memmove(q->b, q->b + 1, (q->n - 1) * sizeof(q->b[0]));
	memmove(q->len, q->len + 1, (q->n - 1) * sizeof(q->len[0]));
	q->n--;
}

static void
q_free(struct q *q)
{
	while (q->n > 0)
		q_pop(q);
}

static void
pump(struct side *s)
{
	static unsigned char d[DGMAX];
	size_t n;
	int i = 0;

	while ((n = udp_output(s->c, d, sizeof(d), now)) > 0) {
		if (n > 1400)
			abort();
		q_push(&s->out, d, n);
		if (++i > 100000)
			abort();
	}
}

/* Give a copy of len bytes of b to s (the engine may write on it). */
static void
input(struct side *s, const unsigned char *b, size_t len)
{
	unsigned char *c = malloc(len ? len : 1);

	if (c == NULL)
		abort();
	memcpy(c, b, len);
	(void)udp_input(s->c, c, len, now);
	free(c);
}

static void
drain(struct side *s, struct side *from)
{
	const void *m;
	ssize_t r;
	int rel;

	while ((r = udp_recv(s->c, &m, &rel)) >= 0) {
		if ((size_t)r > MSGMAX)
			abort();
		if (rel) {
			if (!tainted && s->got >= from->sent)
				abort();
			if (s->got < NMSG)
				check_msg(m, r, s->got, from->size[s->got]);
			s->got++;
		} else if (!tainted) {
			uint32_t k;

			if (r < 4)
				abort();
			memcpy(&k, m, 4);
			if (k >= from->usent || (s->uany && k <= s->ugot_last))
				abort();
			check_msg(m, r, k, from->usize[k]);
			s->ugot_last = k;
			s->uany = 1;
		}
	}
	if (errno != EAGAIN && errno != EPIPE &&
	    (errno != EMSGSIZE || !tainted))
		abort();
}

static void
send_msg(struct side *s, size_t n, int reliable)
{
	if (reliable) {
		if (s->sent >= NMSG)
			return;
		if (udp_send(s->c, msg(s->sent, n), n, 1) == 0)
			s->size[s->sent++] = n;
	} else {
		if (s->usent >= NMSG)
			return;
		if (udp_send(s->c, msg(s->usent, n), n, 0) == 0)
			s->usize[s->usent++] = n;
	}
}

/* Open A and B through the listener, as the programs would. */
static int
open_pair(struct side *a, struct side *b, struct udp_listener *l, int sealed)
{
	struct udp_params p;
	struct seal *ha = NULL, *hb = NULL;
	unsigned char d[DGMAX], reply[UDP_REPLY_MAX], pk[SEAL_PKLEN];
	char hello_a[80] = "A", hello_b[80] = "B", t[160];
	struct udp_request req;
	const unsigned char *h;
	size_t n, rl, hl;
	int from = 1, ok = -1;

	udp_params_default(&p);
	p.maxmsg = MSGMAX;
	p.sndbuf = p.rcvbuf = 200000;
	p.flight = 64;
	p.fixed = 1;
	p.id = 0x0a0a0a0a;
	p.first_pn = 0xfffffff0u;
	p.first_off = 0xffffff00u;
	if (sealed) {
		ha = seal_new(1);
		hb = seal_new(0);
		seal_pk_hex(ha, hello_a + 1);
		seal_pk_hex(hb, hello_b + 1);
	}
	a->c = udp_connect(&p, hello_a, strlen(hello_a), now);
	n = udp_output(a->c, d, sizeof(d), now);
	if (udp_listen(l, &from, sizeof(from), d, n, now, reply, &rl, &req) !=
	    UDP_REPLY)
		abort();
	(void)udp_input(a->c, reply, rl, now);
	n = udp_output(a->c, d, sizeof(d), now);
	if (udp_listen(l, &from, sizeof(from), d, n, now, reply, &rl, &req) !=
	    UDP_REQUEST)
		abort();
	p.id = 0x0b0b0b0b;
	p.first_pn = 0x10;
	p.first_off = 0x7ffffff0u;
	if (sealed) {
		memcpy(t, req.hello, req.hellolen);
		memcpy(t + req.hellolen, hello_b, strlen(hello_b));
		if (seal_unhex(pk, sizeof(pk), (const char *)req.hello + 1,
			req.hellolen - 1) == -1 ||
		    seal_derive(hb, psk, pk, t,
			req.hellolen + strlen(hello_b)) == -1)
			abort();
	}
	b->c = udp_accept(&p, &req, hello_b, strlen(hello_b),
	    sealed ? seal_dg_new(hb) : NULL, now);
	n = udp_output(b->c, d, sizeof(d), now);
	(void)udp_input(a->c, d, n, now);
	if (udp_state(a->c, NULL, NULL) != UDP_ACCEPTED)
		abort();
	h = udp_peer_hello(a->c, &hl);
	if (sealed) {
		memcpy(t, hello_a, strlen(hello_a));
		memcpy(t + strlen(hello_a), h, hl);
		if (seal_unhex(pk, sizeof(pk), (const char *)h + 1, hl - 1) ==
			-1 ||
		    seal_derive(ha, psk, pk, t, strlen(hello_a) + hl) == -1)
			abort();
	}
	if (udp_start(a->c, sealed ? seal_dg_new(ha) : NULL, now) == 0)
		ok = 0;
	seal_free(ha);
	seal_free(hb);
	return (ok);
}

/* What befalls the first datagram of q on its way to "to". */
static void
befall(struct side *to, struct q *q, unsigned what, unsigned arg)
{
	unsigned char *b = q->b[0];
	size_t len = q->len[0];

	switch (what % 6) {
	case 0:
		input(to, b, len);
		break;
	case 1:
		break;
	case 2:
		input(to, b, len);
		input(to, b, len);
		break;
	case 3:
		q_push(q, b, len);
		break;
	case 4:
		if (len > 0) {
			b[arg % len] ^= 1 << (what % 8);
			tainted |= !sealed;
			input(to, b, len);
		}
		break;
	case 5:
		if (len > 0) {
			tainted |= !sealed;
			input(to, b, arg % len);
		}
		break;
	}
	q_pop(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct side A, B;
	static int init;
	const uint8_t *d = data, *e = data + size;
	struct udp_listener *l;

	if (!init) {
		if (seal_init() == -1)
			abort();
		init = 1;
	}
	if (size < 1)
		return (0);
	sealed = *d++ & 1;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	now = 1000000000;
	tainted = 0;
	l = udp_listener_new(now);
	if (open_pair(&A, &B, l, sealed) == -1)
		abort();
	while (d < e) {
		unsigned op = *d++;
		unsigned v = 0;

		switch (op % 12) {
		case 0:
		case 1:
		case 2:
			if (e - d >= 2)
				v = d[0] << 8 | d[1];
			d += e - d >= 2 ? 2 : e - d;
			send_msg(op % 12 == 1 ? &B : &A,
			    4 + v % 8000 * (v & 0x8000 ? 8 : 1), op % 12 != 2);
			break;
		case 3:
			pump(&A);
			break;
		case 4:
			pump(&B);
			break;
		case 5:
		case 6: {
			struct side *from = op % 12 == 5 ? &A : &B;
			unsigned what = d < e ? *d++ : 0, arg = 0;

			if (what % 6 >= 4)
				arg = d < e ? *d++ : 0;
			if (from->out.n > 0)
				befall(from == &A ? &B : &A, &from->out, what,
				    arg);
			break;
		}
		case 7:
			if (e - d >= 2)
				v = d[0] << 8 | d[1];
			d += e - d >= 2 ? 2 : e - d;
			now += (uint64_t)v * 1000;
			break;
		case 8: {
			unsigned how = d < e ? *d++ : 0, n = d < e ? *d++ : 0;
			struct side *to = how & 1 ? &B : &A;
			unsigned char g[300];
			struct udp_stats st;

			n = n < (unsigned)(e - d) ? n : (unsigned)(e - d);
			memcpy(g, d, n);
			d += n;
			if (how & 2 && n >= 9) {
				uint32_t id = to == &A ? 0x0a0a0a0a :
							 0x0b0b0b0b;

				udp_stats(to == &A ? B.c : A.c, &st);
				g[0] = 0x15;
				g[1] = id >> 24;
				g[2] = id >> 16;
				g[3] = id >> 8;
				g[4] = id;
				if (how & 4) {
					g[5] = st.pn_next >> 24;
					g[6] = st.pn_next >> 16;
					g[7] = st.pn_next >> 8;
					g[8] = st.pn_next;
				}
			}
			tainted |= !sealed;
			input(to, g, n);
			break;
		}
		case 9:
			drain(&A, &B);
			drain(&B, &A);
			break;
		case 10: {
			unsigned n = d < e ? *d++ : 0;
			unsigned char g[UDP_CONNECT_SIZE + 8],
			    reply[UDP_REPLY_MAX];
			struct udp_request req;
			size_t rl = 0;
			int from = 2;

			n = n * 5 < (unsigned)(e - d) ? n * 5 :
							(unsigned)(e - d);
			memset(g, 0, sizeof(g));
			memcpy(g, d, n < sizeof(g) ? n : sizeof(g));
			d += n;
			/* also a full-sized request, padded */
			if (n > 0 && n < UDP_CONNECT_SIZE && (g[0] & 0x80))
				n = UDP_CONNECT_SIZE;
			switch (udp_listen(l, &from, sizeof(from), g,
			    n < sizeof(g) ? n : sizeof(g), now, reply, &rl,
			    &req)) {
			case UDP_REQUEST:
				abort(); /* a cookie made up */
			case UDP_REPLY:
				if (rl > n || rl > UDP_REPLY_MAX)
					abort();
				break;
			case UDP_DROP:
				break;
			}
			break;
		}
		case 11:
			if (d < e && (*d++ & 1))
				udp_abort(B.c, UDP_R_REFUSED);
			else
				udp_close(A.c, now);
			break;
		}
		{
			struct udp_stats st;

			udp_stats(A.c, &st);
			if (st.held_in > 200000 + MSGMAX + 4 ||
			    st.unacked > 200000 + MSGMAX + 4)
				abort();
		}
	}
	drain(&A, &B);
	drain(&B, &A);
	udp_free(A.c);
	udp_free(B.c);
	q_free(&A.out);
	q_free(&B.out);
	udp_listener_free(l);
	return (0);
}
