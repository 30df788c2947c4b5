/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/udp: the udp: transport's engine, two (or three)
 * of them joined through a simulated network this program controls: a
 * seeded generator drops, duplicates, delays and reorders datagrams; time
 * is simulated (microseconds), so minutes of keep-alives and timeouts take
 * milliseconds.  An optional bottleneck (a rate and a drop-tail queue)
 * makes the congestion control's work visible.  TAP output.
 *
 *   t_udp            the tests
 *   t_udp bench [N]  CPU per 64-byte reliable message through two engines
 *                    joined in memory, no sockets, no loss
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seal.h"
#include "tcase.h"
#include "udp.h"

#define NEP 4
#define MAXCONN 4
#define DGMAX 65536
#define SEC 1000000ULL
#define MS 1000ULL

/* --- the simulated network ---------------------------------------------- */

struct dg {
	uint64_t at, seq;
	int from, to;
	size_t len;
	unsigned char *b;
};

struct ep {
	int server, gone;
	struct udp_params par;
	/* A client: its connection; its handshake when sealed. */
	struct udp *c;
	struct seal *hs;
	unsigned char hello[128];
	size_t hellolen;
	int autostart;
	/* A listener: its connections, by the peer's address. */
	struct udp_listener *l;
	struct udp *conns[MAXCONN];
	int peer[MAXCONN];
	int nconn;
	enum udp_reason reject; /* refuse every request with it */
	const unsigned char *psk; /* sealed */
};

struct sim {
	uint64_t now, seq;
	struct dg *q;
	size_t nq, capq;
	unsigned loss, dup, reorder; /* per 10000 */
	uint64_t delay, jitter;
	uint64_t rate, busy; /* a bottleneck: bytes a second, or 0 */
	size_t qlimit;
	int (*filter)(struct sim *, int from, int to, unsigned char *b,
	    size_t len);
	void *arg;
	struct ep ep[NEP];
	int nep;
	unsigned long long rng;
	uint64_t sent, dropped, bottleneck_drops;
	unsigned same; /* steps without time moving */
};

static unsigned char psk1[SEAL_KEYLEN] = "quilt udp test key, 32 bytes...";
static unsigned char psk2[SEAL_KEYLEN] = "quilt udp test key, another one";

static unsigned
rnd(struct sim *s, unsigned upper)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (upper ? (unsigned)(s->rng % upper) : 0);
}

static int
dg_before(const struct dg *a, const struct dg *b)
{
	return (a->at < b->at || (a->at == b->at && a->seq < b->seq));
}

static void
heap_push(struct sim *s, struct dg d)
{
	size_t i;

	if (s->nq == s->capq) {
		s->capq = s->capq ? 2 * s->capq : 1024;
		if ((s->q = realloc(s->q, s->capq * sizeof(*s->q))) == NULL)
			abort();
	}
	i = s->nq++;
	s->q[i] = d;
	while (i > 0 && dg_before(&s->q[i], &s->q[(i - 1) / 2])) {
		struct dg t = s->q[i];

		s->q[i] = s->q[(i - 1) / 2];
		s->q[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct dg
heap_pop(struct sim *s)
{
	struct dg top = s->q[0];
	size_t i = 0;

	s->q[0] = s->q[--s->nq];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->nq && dg_before(&s->q[l], &s->q[m]))
			m = l;
		if (r < s->nq && dg_before(&s->q[r], &s->q[m]))
			m = r;
		if (m == i)
			break;
		struct dg t = s->q[i];
		s->q[i] = s->q[m];
		s->q[m] = t;
		i = m;
	}
	return (top);
}

static void
sim_init(struct sim *s, unsigned long long seed)
{
	memset(s, 0, sizeof(*s));
	s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	s->now = 1000 * SEC; /* not 0: the cookies' clock */
	s->delay = 10 * MS;
	s->jitter = 15 * MS;
}

static void
net_send(struct sim *s, int from, int to, const unsigned char *b, size_t len)
{
	unsigned copies = 1;

	s->sent++;
	if (s->ep[from].gone || s->ep[to].gone) {
		s->dropped++;
		return;
	}
	if (s->filter != NULL &&
	    s->filter(s, from, to, (unsigned char *)b, len)) {
		s->dropped++;
		return;
	}
	if (rnd(s, 10000) < s->loss) {
		s->dropped++;
		return;
	}
	if (rnd(s, 10000) < s->dup)
		copies = 2;
	for (unsigned i = 0; i < copies; i++) {
		struct dg d = {.from = from, .to = to, .len = len};
		uint64_t at = s->now;

		if (s->rate) {
			uint64_t backlog = s->busy > s->now ?
			    (s->busy - s->now) * s->rate / SEC :
			    0;

			if (backlog + len > s->qlimit) {
				s->bottleneck_drops++;
				continue;
			}
			s->busy = (s->busy > s->now ? s->busy : s->now) +
			    len * SEC / s->rate;
			at = s->busy;
		}
		d.at = at + s->delay;
		if (rnd(s, 10000) < s->reorder || i > 0)
			d.at += 1 + rnd(s, (unsigned)s->jitter);
		d.seq = s->seq++;
		if ((d.b = malloc(len)) == NULL)
			abort();
		memcpy(d.b, b, len);
		heap_push(s, d);
	}
}

/* A client at address a, asking the listener at address to. */
static struct udp *
sim_client(struct sim *s, int a, int to, const struct udp_params *p, int sealed,
    const unsigned char *psk)
{
	struct ep *e = &s->ep[a];

	e->par = *p;
	e->autostart = 1;
	e->peer[0] = to;
	e->psk = sealed ? psk : NULL;
	if (sealed) {
		char hex[2 * SEAL_PKLEN + 1];

		e->hs = seal_new(1);
		seal_pk_hex(e->hs, hex);
		e->hello[0] = 'C';
		memcpy(e->hello + 1, hex, 2 * SEAL_PKLEN);
		e->hellolen = 1 + 2 * SEAL_PKLEN;
	} else {
		memcpy(e->hello, "client hello", 12);
		e->hellolen = 12;
	}
	e->c = udp_connect(p, e->hello, e->hellolen, s->now);
	if (s->nep <= a)
		s->nep = a + 1;
	return (e->c);
}

static void
sim_server(struct sim *s, int a, const struct udp_params *p, int sealed,
    const unsigned char *psk)
{
	struct ep *e = &s->ep[a];

	e->server = 1;
	e->par = *p;
	e->l = udp_listener_new(s->now);
	e->psk = sealed ? psk : NULL;
	if (s->nep <= a)
		s->nep = a + 1;
}

static void
sim_free(struct sim *s)
{
	for (int i = 0; i < s->nep; i++) {
		struct ep *e = &s->ep[i];

		udp_free(e->c);
		seal_free(e->hs);
		udp_listener_free(e->l);
		for (int k = 0; k < e->nconn; k++)
			udp_free(e->conns[k]);
	}
	while (s->nq > 0)
		free(heap_pop(s).b);
	free(s->q);
}

/* The listener's program: accept (sealed: derive, confirm) or reject. */
static void
server_request(struct sim *s, struct ep *e, int from,
    const struct udp_request *req)
{
	unsigned char hello[1 + 2 * SEAL_PKLEN + SEAL_TAGLEN], reply[64];
	unsigned char t[512], pk[SEAL_PKLEN];
	struct seal_dg *dg = NULL;
	size_t hl = 12;
	struct udp *c;
	int k;

	if (e->reject != UDP_R_NONE) {
		size_t n = udp_reject(req, e->reject, reply, sizeof(reply));

		net_send(s, from >= 0 ? (int)(e - s->ep) : 0, from, reply, n);
		return;
	}
	memcpy(hello, "server hello", 12);
	if (e->psk != NULL) {
		struct seal *hs = seal_new(0);
		char hex[2 * SEAL_PKLEN + 1];

		if (req->hellolen != 1 + 2 * SEAL_PKLEN ||
		    req->hello[0] != 'C' ||
		    seal_unhex(pk, SEAL_PKLEN, (const char *)req->hello + 1,
			2 * SEAL_PKLEN) == -1)
			abort();
		seal_pk_hex(hs, hex);
		hello[0] = 'S';
		memcpy(hello + 1, hex, 2 * SEAL_PKLEN);
		memcpy(t, req->hello, req->hellolen);
		memcpy(t + req->hellolen, hello, 1 + 2 * SEAL_PKLEN);
		if (seal_derive(hs, e->psk, pk, t,
			req->hellolen + 1 + 2 * SEAL_PKLEN) == -1)
			abort();
		seal_tag(hs, hello + 1 + 2 * SEAL_PKLEN);
		hl = sizeof(hello);
		dg = seal_dg_new(hs);
		seal_free(hs);
	}
	c = udp_accept(&e->par, req, hello, hl, dg, s->now);
	if (c == NULL)
		abort();
	for (k = 0; k < e->nconn && e->peer[k] != from; k++)
		;
	if (k < e->nconn)
		udp_free(e->conns[k]);
	else if (e->nconn == MAXCONN)
		abort();
	else
		e->nconn++;
	e->conns[k] = c;
	e->peer[k] = from;
}

/* The client's program, once accepted: check the hello, start. */
static void
client_accepted(struct sim *s, struct ep *e)
{
	const unsigned char *h;
	struct seal_dg *dg = NULL;
	unsigned char t[512], pk[SEAL_PKLEN];
	size_t n;

	h = udp_peer_hello(e->c, &n);
	if (e->psk != NULL) {
		if (n != 1 + 2 * SEAL_PKLEN + SEAL_TAGLEN || h[0] != 'S' ||
		    seal_unhex(pk, SEAL_PKLEN, (const char *)h + 1,
			2 * SEAL_PKLEN) == -1)
			abort();
		memcpy(t, e->hello, e->hellolen);
		memcpy(t + e->hellolen, h, 1 + 2 * SEAL_PKLEN);
		if (seal_derive(e->hs, e->psk, pk, t,
			e->hellolen + 1 + 2 * SEAL_PKLEN) == -1)
			abort();
		if (seal_check(e->hs, h + 1 + 2 * SEAL_PKLEN) == -1) {
			udp_abort(e->c, UDP_R_KEY);
			return;
		}
		dg = seal_dg_new(e->hs);
	}
	(void)udp_start(e->c, dg, s->now);
}

static void
deliver(struct sim *s, struct dg *d)
{
	struct ep *e = &s->ep[d->to];
	unsigned char reply[UDP_REPLY_MAX];
	struct udp_request req;
	size_t rl;
	int k;

	if (e->gone)
		return;
	if (!e->server) {
		if (e->c == NULL)
			return;
		(void)udp_input(e->c, d->b, d->len, s->now);
		if (e->autostart && udp_state(e->c, NULL, NULL) == UDP_ACCEPTED)
			client_accepted(s, e);
		return;
	}
	for (k = 0; k < e->nconn && e->peer[k] != d->from; k++)
		;
	if (k < e->nconn && udp_input(e->conns[k], d->b, d->len, s->now) == 0)
		return;
	switch (udp_listen(e->l, &d->from, sizeof(d->from), d->b, d->len,
	    s->now, reply, &rl, &req)) {
	case UDP_REPLY:
		net_send(s, d->to, d->from, reply, rl);
		break;
	case UDP_REQUEST:
		server_request(s, e, d->from, &req);
		break;
	case UDP_DROP:
		break;
	}
}

static void
pump_one(struct sim *s, int a, int to, struct udp *c)
{
	static unsigned char b[DGMAX];
	size_t n;
	int i = 0;

	while ((n = udp_output(c, b, sizeof(b), s->now)) > 0) {
		net_send(s, a, to, b, n);
		if (++i > 1000000)
			abort(); /* it never stops */
	}
}

static void
pump(struct sim *s)
{
	for (int a = 0; a < s->nep; a++) {
		struct ep *e = &s->ep[a];

		if (e->gone)
			continue;
		if (e->c != NULL)
			pump_one(s, a, e->peer[0], e->c);
		for (int k = 0; k < e->nconn; k++)
			pump_one(s, a, e->peer[k], e->conns[k]);
	}
}

/*
 * One step: send what is due, move time to the next event, deliver what
 * arrives by then.  -1 when nothing will ever happen again; the program
 * aborts when time stops moving (an engine that spins).
 */
static int
step(struct sim *s, uint64_t limit)
{
	uint64_t t = UDP_NEVER, before = s->now;

	pump(s);
	if (s->nq > 0)
		t = s->q[0].at;
	for (int a = 0; a < s->nep; a++) {
		struct ep *e = &s->ep[a];

		if (e->gone)
			continue;
		if (e->c != NULL && udp_deadline(e->c) < t)
			t = udp_deadline(e->c);
		for (int k = 0; k < e->nconn; k++)
			if (udp_deadline(e->conns[k]) < t)
				t = udp_deadline(e->conns[k]);
	}
	if (t == UDP_NEVER)
		return (-1);
	if (t > limit)
		t = limit;
	if (t > s->now)
		s->now = t;
	while (s->nq > 0 && s->q[0].at <= s->now) {
		struct dg d = heap_pop(s);

		deliver(s, &d);
		free(d.b);
	}
	if (s->now == before) {
		if (++s->same > 100000) {
			fprintf(stderr, "t_udp: time stopped at %llu\n",
			    (unsigned long long)s->now);
			abort();
		}
	} else {
		s->same = 0;
	}
	return (0);
}

/* The listener's connection with the peer at address from, or NULL. */
static struct udp *
srv_conn(struct sim *s, int srv, int from)
{
	for (int k = 0; k < s->ep[srv].nconn; k++)
		if (s->ep[srv].peer[k] == from)
			return (s->ep[srv].conns[k]);
	return (NULL);
}

/* Run until both ends are open (or limit). */
static int
open_pair(struct sim *s, struct udp *a, int srv, int from, uint64_t limit)
{
	while (s->now < limit) {
		struct udp *b = srv_conn(s, srv, from);

		if (udp_state(a, NULL, NULL) == UDP_OPEN && b != NULL &&
		    udp_state(b, NULL, NULL) == UDP_OPEN)
			return (0);
		if (udp_state(a, NULL, NULL) == UDP_DEAD)
			return (-1);
		if (step(s, limit) == -1)
			return (-1);
	}
	return (-1);
}

/* --- messages that say who they are --------------------------------------- */

static unsigned char mbuf[1 << 22];

/* Message k: k in its first 4 bytes (when it has them), then a pattern. */
static const unsigned char *
msg(uint32_t k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mbuf[i] = (unsigned char)(k * 7 + i * 13 + (i >> 8));
	if (n >= 4)
		memcpy(mbuf, &k, 4);
	return (mbuf);
}

/* Is m[0..n) message k of size want? */
static int
msg_is(const unsigned char *m, size_t n, uint32_t k, size_t want)
{
	if (n != want)
		return (0);
	if (n >= 4 && memcmp(m, &k, 4) != 0)
		return (0);
	for (size_t i = n >= 4 ? 4 : 0; i < n; i++)
		if (m[i] != (unsigned char)(k * 7 + i * 13 + (i >> 8)))
			return (0);
	return (1);
}

/* The number in a message (of 4 bytes or more). */
static uint32_t
msg_num(const unsigned char *m)
{
	uint32_t k;

	memcpy(&k, m, 4);
	return (k);
}

static size_t
size_of(uint32_t k, size_t max)
{
	/* Mostly small, some over a datagram, a few large. */
	uint32_t h = k * 2654435761u;

	if (h % 17 == 0)
		return (4 + h % max);
	if (h % 5 == 0)
		return (4 + h % 3000);
	return (4 + h % 200);
}

static struct udp_params
params(void)
{
	struct udp_params p;

	udp_params_default(&p);
	return (p);
}

/*
 * A sends n reliable messages to B (and B m to A) through s; each end
 * checks that it gets every one exactly once, in order, intact.  0, or 1
 * with the failure noted.
 */
static int
transfer(struct sim *s, struct udp *a, struct udp *b, uint32_t n, uint32_t m,
    size_t maxsz, uint64_t limit)
{
	uint32_t sa = 0, sb = 0, ga = 0, gb = 0, ub = 0;

	while ((ga < m || gb < n) && s->now < limit) {
		const void *p;
		ssize_t r;
		int rel;

		while (sa < n) {
			size_t z = size_of(sa, maxsz);

			if (udp_send(a, msg(sa, z), z, 1) == -1) {
				CHECKF(errno == ENOBUFS, "send: %s",
				    strerror(errno));
				break;
			}
			sa++;
		}
		while (sb < m) {
			size_t z = size_of(sb + 7, maxsz);

			if (udp_send(b, msg(sb, z), z, 1) == -1) {
				CHECKF(errno == ENOBUFS, "send: %s",
				    strerror(errno));
				break;
			}
			sb++;
		}
		while ((r = udp_recv(b, &p, &rel)) >= 0) {
			if (!rel) { /* t_wrap's, numbered */
				CHECK(r == 8 && msg_num(p) >= ub);
				ub = msg_num(p) + 1;
				continue;
			}
			CHECKF(gb < n && msg_is(p, r, gb, size_of(gb, maxsz)),
			    "B got message %zd bytes, expected number %u "
			    "(%zu bytes)",
			    r, gb, size_of(gb, maxsz));
			gb++;
		}
		CHECKF(errno == EAGAIN, "recv B: %s", strerror(errno));
		while ((r = udp_recv(a, &p, &rel)) >= 0) {
			CHECK(rel);
			CHECKF(ga < m &&
				msg_is(p, r, ga, size_of(ga + 7, maxsz)),
			    "A got a wrong message at %u", ga);
			ga++;
		}
		CHECKF(errno == EAGAIN, "recv A: %s", strerror(errno));
		CHECK(step(s, limit) == 0);
	}
	CHECKF(gb == n && ga == m, "B has %u of %u, A %u of %u by %llu s", gb,
	    n, ga, m, (unsigned long long)(s->now / SEC));
	return (0);
}

/* --- the wire, read here as quilt-protocol(5) describes it ---------------- */

/*
 * An unsealed DATA datagram's frames: does it carry stream bytes (*bytes
 * of them, the first at offset *off)?
 */
static int
has_stream(const unsigned char *b, size_t len, size_t *bytes, uint32_t *off)
{
	size_t i = 9;
	int found = 0;

	*bytes = 0;
	if (len < 9 || b[0] != 0x15)
		return (0);
	while (i < len) {
		switch (b[i]) {
		case 1:
			i += 23;
			break;
		case 2:
			if (!found && off != NULL)
				*off = (uint32_t)b[i + 1] << 24 |
				    (uint32_t)b[i + 2] << 16 |
				    (uint32_t)b[i + 3] << 8 | b[i + 4];
			found = 1;
			*bytes += (size_t)b[i + 5] << 8 | b[i + 6];
			i += 7 + ((size_t)b[i + 5] << 8 | b[i + 6]);
			break;
		case 3:
			i += 7 + ((size_t)b[i + 5] << 8 | b[i + 6]);
			break;
		case 4:
			i += 15 + (size_t)(b[i + 9] << 8 | b[i + 10]);
			break;
		case 5:
			i += 1;
			break;
		case 6:
			i += 2;
			break;
		default:
			return (found);
		}
	}
	return (found);
}

/* --- the cases ------------------------------------------------------------ */

/*
 * The handshake by hand: CONNECT is 1200 bytes; the listener answers a
 * cookie of 25 without a byte of memory per request (10000 requests from
 * as many addresses); the cookie'd request is taken; ACCEPT is no larger
 * than the request; the hellos cross; a message goes each way.
 */
static int
t_handshake(void)
{
	struct udp_params p = params();
	unsigned char b[DGMAX], cookied[UDP_CONNECT_SIZE], reply[UDP_REPLY_MAX];
	struct udp_listener *l = udp_listener_new(5 * SEC);
	struct udp *c = udp_connect(&p, "hello from C", 12, 5 * SEC), *s;
	struct udp_request req;
	struct mallinfo2 before, after;
	uint64_t now = 5 * SEC;
	size_t n, rl, hl;
	const void *m;
	const char *h;
	int rel, from = 42;

	CHECK(l != NULL && c != NULL);
	n = udp_output(c, b, sizeof(b), now);
	CHECKF(n == UDP_CONNECT_SIZE, "CONNECT of %zu bytes", n);
	CHECK(udp_output(c, b + 2000, sizeof(b) - 2000, now) == 0);
	before = mallinfo2();
	for (int i = 0; i < 10000; i++) {
		int a = 1000 + i;

		CHECK(udp_listen(l, &a, sizeof(a), b, n, now, reply, &rl,
			  &req) == UDP_REPLY);
		CHECKF(rl == 25 && rl < n, "reply of %zu", rl);
	}
	after = mallinfo2();
	CHECKF(after.uordblks == before.uordblks &&
		after.hblkhd == before.hblkhd,
	    "the listener's heap went from %zu to %zu bytes", before.uordblks,
	    after.uordblks);
	CHECK(udp_listen(l, &from, sizeof(from), b, n, now, reply, &rl, &req) ==
	    UDP_REPLY);
	CHECK(udp_input(c, reply, rl, now + 1000) == 0);
	n = udp_output(c, cookied, sizeof(b), now + 1000);
	CHECKF(n == UDP_CONNECT_SIZE, "second CONNECT of %zu bytes", n);
	CHECK(udp_listen(l, &from, sizeof(from), cookied, n, now + 2000, reply,
		  &rl, &req) == UDP_REQUEST);
	CHECK(req.hellolen == 12 && memcmp(req.hello, "hello from C", 12) == 0);
	/* A reject is small too. */
	CHECK(udp_reject(&req, UDP_R_FULL, reply, sizeof(reply)) <= n);
	s = udp_accept(&p, &req, "hello from S", 12, NULL, now + 2000);
	CHECK(s != NULL);
	n = udp_output(s, b, sizeof(b), now + 2000);
	CHECKF(n > 0 && n <= UDP_CONNECT_SIZE, "ACCEPT of %zu bytes", n);
	CHECK(udp_input(c, b, n, now + 3000) == 0);
	CHECK(udp_state(c, NULL, NULL) == UDP_ACCEPTED);
	h = udp_peer_hello(c, &hl);
	CHECK(h != NULL && hl == 12 && memcmp(h, "hello from S", 12) == 0);
	/* A second CONNECT (the ACCEPT was lost) is answered again. */
	CHECK(udp_input(s, cookied, UDP_CONNECT_SIZE, now + 3000) == 0);
	n = udp_output(s, b, sizeof(b), now + 3000);
	CHECKF(n > 0 && n <= UDP_CONNECT_SIZE && b[0] == 0x13,
	    "ACCEPT again: %zu bytes, type %#x", n, b[0]);
	CHECK(udp_start(c, NULL, now + 3000) == 0);
	CHECK(udp_send(c, "up", 2, 1) == 0);
	CHECK(udp_send(s, "down", 4, 1) == 0);
	for (int i = 0; i < 4; i++) {
		while ((n = udp_output(c, b, sizeof(b), now + 4000)) > 0)
			CHECK(udp_input(s, b, n, now + 4000) == 0);
		while ((n = udp_output(s, b, sizeof(b), now + 4000)) > 0)
			CHECK(udp_input(c, b, n, now + 4000) == 0);
	}
	CHECK(udp_recv(s, &m, &rel) == 2 && rel && memcmp(m, "up", 2) == 0);
	CHECK(udp_recv(c, &m, &rel) == 4 && memcmp(m, "down", 4) == 0);
	CHECK(udp_recv(c, &m, &rel) == -1 && errno == EAGAIN);
	/* After the client's first datagram, a CONNECT is not answered. */
	CHECK(udp_input(s, cookied, UDP_CONNECT_SIZE, now + 5000) == 0);
	n = udp_output(s, b, sizeof(b), now + 5000);
	CHECK(n == 0 || b[0] != 0x13);
	/* A CONNECT from the same address with another id: a new client. */
	cookied[8] ^= 1;
	CHECK(udp_input(s, cookied, UDP_CONNECT_SIZE, now + 5000) == 1);
	udp_free(c);
	udp_free(s);
	udp_listener_free(l);
	return (0);
}

/*
 * A cookie is good only from the address it was given to, for the same
 * client id, unaltered, for UDP_COOKIE_LIFE_S seconds and one rotation of
 * the secret; another version is told so in 6 bytes; a short request is
 * dropped.
 */
static int
t_cookie(void)
{
	struct udp_params p = params();
	unsigned char b[DGMAX], good[UDP_CONNECT_SIZE], bad[UDP_CONNECT_SIZE];
	unsigned char reply[UDP_REPLY_MAX];
	uint64_t now = 77 * SEC;
	struct udp_listener *l = udp_listener_new(now);
	struct udp *c = udp_connect(&p, "hi", 2, now);
	struct udp_request req;
	size_t n, rl;
	int from = 7, other = 8;

	n = udp_output(c, b, sizeof(b), now);
	CHECK(udp_listen(l, &from, sizeof(from), b, n, now, reply, &rl, &req) ==
	    UDP_REPLY);
	CHECK(udp_input(c, reply, rl, now) == 0);
	CHECK(udp_output(c, good, sizeof(b), now) == UDP_CONNECT_SIZE);
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE,
		  now + SEC, reply, &rl, &req) == UDP_REQUEST);
	/* another address */
	CHECK(udp_listen(l, &other, sizeof(other), good, UDP_CONNECT_SIZE,
		  now + SEC, reply, &rl, &req) == UDP_REPLY);
	CHECK(reply[0] == 0x12 && rl == 25);
	/* each byte of the cookie, and the client id, altered */
	for (int i = 5; i < 47; i++) {
		if (i >= 9 && i < 27)
			continue; /* not bound: sizes, checked later */
		memcpy(bad, good, sizeof(bad));
		bad[i] ^= 0x10;
		CHECKF(udp_listen(l, &from, sizeof(from), bad, UDP_CONNECT_SIZE,
			   now + SEC, reply, &rl, &req) == UDP_REPLY,
		    "byte %d altered and taken", i);
	}
	/* too old; from the future */
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE,
		  now + (UDP_COOKIE_LIFE_S + 1) * SEC, reply, &rl,
		  &req) == UDP_REPLY);
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE,
		  now - 2 * SEC, reply, &rl, &req) == UDP_REPLY);
	/* one rotation keeps it, two do not */
	CHECK(udp_listener_tick(l, now + 31 * SEC) > now + 31 * SEC);
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE,
		  now + 2 * SEC, reply, &rl, &req) == UDP_REQUEST);
	udp_listener_tick(l, now + 62 * SEC);
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE,
		  now + 2 * SEC, reply, &rl, &req) == UDP_REPLY);
	/* another version: REJECT (version), 6 bytes */
	memcpy(bad, good, sizeof(bad));
	bad[0] = 0x21;
	CHECK(udp_listen(l, &from, sizeof(from), bad, UDP_CONNECT_SIZE, now,
		  reply, &rl, &req) == UDP_REPLY);
	CHECK(rl == 6 && reply[0] == 0x14 && reply[5] == UDP_R_VERSION);
	/* short, or not a CONNECT: nothing */
	CHECK(udp_listen(l, &from, sizeof(from), good, UDP_CONNECT_SIZE - 1,
		  now, reply, &rl, &req) == UDP_DROP);
	memcpy(bad, good, sizeof(bad));
	bad[0] = 0x15;
	CHECK(udp_listen(l, &from, sizeof(from), bad, UDP_CONNECT_SIZE, now,
		  reply, &rl, &req) == UDP_DROP);
	udp_free(c);
	udp_listener_free(l);
	return (0);
}

/*
 * A listener that is full says so, and the client is dead with the
 * reason; a client that finds the listener's key confirmation wrong
 * aborts, and the listener's connection dies with that reason.
 */
static int
t_reject(void)
{
	struct udp_params p = params();
	enum udp_why why;
	enum udp_reason reason;
	struct sim s;
	struct udp *c, *b;

	sim_init(&s, 3);
	sim_server(&s, 0, &p, 0, NULL);
	s.ep[0].reject = UDP_R_FULL;
	c = sim_client(&s, 1, 0, &p, 0, NULL);
	while (udp_state(c, NULL, NULL) != UDP_DEAD && s.now < 1100 * SEC)
		CHECK(step(&s, 1100 * SEC) == 0);
	CHECK(udp_state(c, &why, &reason) == UDP_DEAD);
	CHECKF(why == UDP_WHY_REJECTED && reason == UDP_R_FULL,
	    "why %d reason %d", why, reason);
	CHECK(s.ep[0].nconn == 0);
	sim_free(&s);

	sim_init(&s, 4);
	sim_server(&s, 0, &p, 1, psk1);
	c = sim_client(&s, 1, 0, &p, 1, psk2);
	while (udp_state(c, NULL, NULL) != UDP_DEAD && s.now < 1100 * SEC)
		CHECK(step(&s, 1100 * SEC) == 0);
	CHECK(udp_state(c, &why, &reason) == UDP_DEAD);
	CHECK(why == UDP_WHY_ABORTED && reason == UDP_R_KEY);
	for (int i = 0; i < 10; i++)
		(void)step(&s, s.now + 100 * MS);
	b = srv_conn(&s, 0, 1);
	CHECK(b != NULL);
	CHECK(udp_state(b, &why, &reason) == UDP_DEAD);
	CHECKF(why == UDP_WHY_PEER_CLOSED && reason == UDP_R_KEY,
	    "why %d reason %d", why, reason);
	sim_free(&s);
	return (0);
}

/*
 * 5% of datagrams lost, 1% duplicated, 20% delayed past others: 20000
 * messages one way and 5000 the other, sizes from 4 bytes to 60 KB, all
 * delivered once, in order, intact; and the loss was real.
 */
static int
t_lossy(void)
{
	struct udp_params p = params();
	struct udp_stats sa, sb;
	struct sim s;
	struct udp *a, *b;

	sim_init(&s, 5);
	s.loss = 500;
	s.dup = 100;
	s.reorder = 2000;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	if (transfer(&s, a, b, 20000, 5000, 60000, 3000 * SEC))
		return (1);
	udp_stats(a, &sa);
	udp_stats(b, &sb);
	CHECKF(sa.resends > 100 && sb.drop_replay > 10 && sb.reorder == 0,
	    "resends %llu, duplicates dropped %llu",
	    (unsigned long long)sa.resends, (unsigned long long)sb.drop_replay);
	CHECK(sa.msgs_out == 20000 && sb.msgs_in == 20000);
	/* Losses are found from acknowledgements, rarely by the timer. */
	CHECKF(sa.timeouts * 50 < sa.resends, "%llu timeouts for %llu resends",
	    (unsigned long long)sa.timeouts, (unsigned long long)sa.resends);
	CHECK(sa.srtt_us > 15 * MS && sa.srtt_us < 60 * MS);
	sim_free(&s);
	return (0);
}

/*
 * Packet numbers, stream offsets and unreliable numbers start within 1000
 * of 2^32 and cross it under 5% loss: everything arrives in order.
 */
static int
t_wrap(void)
{
	struct udp_params p = params(), q;
	struct udp_stats sa, sb;
	struct sim s;
	struct udp *a, *b;

	p.fixed = 1;
	p.id = 0x1234;
	p.first_pn = 0xffffffffu - 700;
	p.first_off = 0xffffffffu - 999;
	q = p;
	q.id = 0x5678;
	q.first_pn = 0xffffffffu - 400;
	q.first_off = 0xffffffffu - 10;
	sim_init(&s, 6);
	s.loss = 500;
	s.reorder = 1000;
	sim_server(&s, 0, &q, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	for (uint32_t k = 0; k < 50; k++)
		CHECK(udp_send(a, msg(k, 8), 8, 0) == 0);
	if (transfer(&s, a, b, 8000, 3000, 3000, 3000 * SEC))
		return (1);
	udp_stats(a, &sa);
	udp_stats(b, &sb);
	CHECKF(sa.pn_next > 1ULL << 32 && sb.pn_next > 1ULL << 32,
	    "packet numbers %#llx %#llx", (unsigned long long)sa.pn_next,
	    (unsigned long long)sb.pn_next);
	CHECK(sa.resends > 0 && sb.resends > 0);
	CHECK(sb.umsgs_in > 30);
	sim_free(&s);
	return (0);
}

struct tenth {
	size_t count, bytes;
	uint32_t off;
	uint64_t lost_at, again_at;
};

/* The filter of t_fragment: drop A's 10th datagram with stream bytes. */
static int
drop_tenth(struct sim *s, int from, int to, unsigned char *b, size_t len)
{
	struct tenth *t = s->arg;
	size_t bytes;
	uint32_t off;

	(void)to;
	if (from != 1 || !has_stream(b, len, &bytes, &off))
		return (0);
	if (++t->count == 10) {
		t->bytes = bytes;
		t->off = off;
		t->lost_at = s->now;
		return (1);
	}
	if (t->count > 10 && off == t->off && t->again_at == 0)
		t->again_at = s->now;
	return (0);
}

/*
 * A 300 KB message spans some 220 datagrams; the 10th is lost: it alone
 * is sent again (its bytes and no more), and the message is whole.
 */
static int
t_fragment(void)
{
	struct udp_params p = params();
	struct udp_stats sa;
	struct sim s;
	struct udp *a, *b;
	struct tenth t;
	const void *m;
	ssize_t r;
	int rel;

	sim_init(&s, 7);
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	memset(&t, 0, sizeof(t));
	s.filter = drop_tenth;
	s.arg = &t;
	CHECK(udp_send(a, msg(99, 300000), 300000, 1) == 0);
	while ((r = udp_recv(b, &m, &rel)) == -1 && errno == EAGAIN &&
	    s.now < 1100 * SEC)
		CHECK(step(&s, 1100 * SEC) == 0);
	CHECK(r == 300000 && rel && msg_is(m, r, 99, 300000));
	udp_stats(a, &sa);
	CHECKF(t.count > 200, "%zu datagrams", t.count);
	CHECKF(sa.resends == 1 && sa.bytes_resent == t.bytes && t.bytes > 1000,
	    "resent %llu segments, %llu bytes; the one lost had %zu",
	    (unsigned long long)sa.resends, (unsigned long long)sa.bytes_resent,
	    t.bytes);
	/* Found lost from the acknowledgements of the ones after it, a
	 * round trip or two (20 ms each) later, not by the timer (200 ms). */
	CHECKF(t.again_at > t.lost_at && t.again_at - t.lost_at <= 60 * MS,
	    "sent again after %llu us",
	    (unsigned long long)(t.again_at - t.lost_at));
	sim_free(&s);
	return (0);
}

/*
 * Unreliable messages through 10% loss, 5% duplication and reordering:
 * some are lost (a large one loses a fragment: dropped whole), none comes
 * twice or after a later one, every one arrives intact.
 */
static int
t_unreliable(void)
{
	struct udp_params p = params();
	struct udp_stats sb;
	struct sim s;
	struct udp *a, *b;
	uint32_t sent = 0, got = 0, last = 0, big = 0;
	int any = 0;

	sim_init(&s, 8);
	s.loss = 1000;
	s.dup = 500;
	s.reorder = 3000;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	while (s.now < 1200 * SEC && (sent < 5000 || s.nq > 0)) {
		const void *m;
		ssize_t r;
		int rel;

		/* a few each step, so they spread over many datagrams */
		for (int i = 0; i < 3 && sent < 5000; i++) {
			size_t z = sent % 7 == 0 ? 5000 : 4 + sent % 300;

			if (udp_send(a, msg(sent, z), z, 0) == -1) {
				CHECK(errno == ENOBUFS);
				break;
			}
			sent++;
		}
		while ((r = udp_recv(b, &m, &rel)) >= 0) {
			uint32_t k = msg_num(m);

			CHECK(!rel);
			CHECKF(!any || k > last, "%u after %u", k, last);
			CHECKF(msg_is(m, r, k, k % 7 == 0 ? 5000 : 4 + k % 300),
			    "message %u altered", k);
			big += r == 5000;
			last = k;
			any = 1;
			got++;
		}
		if (step(&s, 1200 * SEC) == -1)
			break;
	}
	udp_stats(b, &sb);
	CHECKF(sent == 5000 && got < sent && got > sent / 2 && big > 50,
	    "sent %u, got %u (%u large)", sent, got, big);
	CHECKF(sb.udrop_late > 0 && sb.udrop_frag > 0,
	    "late %llu, incomplete %llu", (unsigned long long)sb.udrop_late,
	    (unsigned long long)sb.udrop_frag);
	sim_free(&s);
	return (0);
}

/* Drop B's next datagram to A, once. */
static int
drop_once_from_b(struct sim *s, int from, int to, unsigned char *b, size_t len)
{
	int *lost = s->arg;

	(void)to;
	(void)b;
	(void)len;
	if (from == 0 && *lost == 0) {
		*lost = 1;
		return (1);
	}
	return (0);
}

/*
 * B does not read for a minute while A writes as fast as it is let: A's
 * send buffer stays within sndbuf (udp_send says ENOBUFS), B holds at
 * most its window, nothing more is sent than B can take, and the
 * connection stays up (window probes); then B reads everything in order,
 * though the acknowledgement that opened its window was lost.
 */
static int
t_stalled(void)
{
	struct udp_params p = params();
	struct udp_stats sa, sb;
	struct sim s;
	struct udp *a, *b;
	uint32_t sent = 0, got = 0, stuck;
	uint64_t stop, out_mid = 0, moved = 0;
	int lost = 0;

	p.sndbuf = 200000;
	p.rcvbuf = 100000;
	sim_init(&s, 9);
	s.loss = 100;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	stop = s.now + 60 * SEC;
	while (s.now < stop) {
		while (udp_send(a, msg(sent, 1000), 1000, 1) == 0)
			sent++;
		CHECK(errno == ENOBUFS);
		udp_stats(a, &sa);
		udp_stats(b, &sb);
		CHECKF(sa.unacked <= p.sndbuf, "A holds %llu",
		    (unsigned long long)sa.unacked);
		CHECKF(sb.held_in <= p.rcvbuf, "B holds %llu",
		    (unsigned long long)sb.held_in);
		if (out_mid == 0 && s.now > stop - 30 * SEC)
			out_mid = sa.bytes_out;
		CHECK(step(&s, stop) == 0);
	}
	udp_stats(a, &sa);
	udp_stats(b, &sb);
	CHECK(udp_state(a, NULL, NULL) == UDP_OPEN);
	CHECK(udp_state(b, NULL, NULL) == UDP_OPEN);
	CHECKF(sb.drop_window == 0, "%llu segments past the window",
	    (unsigned long long)sb.drop_window);
	CHECKF(sent < 350 && sa.bytes_out - out_mid < 20000,
	    "sent %u messages, %llu bytes in the last 30 s", sent,
	    (unsigned long long)(sa.bytes_out - out_mid));
	/* B reads now; the acknowledgement that opens the window is lost:
	 * the next keep-alive exchange gives it again. */
	s.filter = drop_once_from_b;
	s.arg = &lost;
	stuck = sent;
	while (got < sent + 100 && s.now < stop + 100 * SEC) {
		const void *m;
		ssize_t r;
		int rel;

		while (sent < got + 300 &&
		    udp_send(a, msg(sent, 1000), 1000, 1) == 0)
			sent++;
		while ((r = udp_recv(b, &m, &rel)) >= 0) {
			CHECK(msg_is(m, r, got, 1000));
			got++;
		}
		if (got > stuck && moved == 0)
			moved = s.now;
		CHECK(step(&s, stop + 100 * SEC) == 0);
	}
	CHECKF(got >= sent - 300 && got >= 400, "got %u of %u", got, sent);
	CHECKF(lost == 1 && moved - stop < 2 * SEC,
	    "moving again %llu us after the reader (%d lost)",
	    (unsigned long long)(moved - stop), lost);
	sim_free(&s);
	return (0);
}

struct rto_log {
	int on; /* drop everything */
	uint64_t at[64];
	int n;
};

static int
blackhole(struct sim *s, int from, int to, unsigned char *b, size_t len)
{
	struct rto_log *g = s->arg;
	size_t bytes;

	(void)to;
	if (!g->on)
		return (0);
	if (from == 1 && has_stream(b, len, &bytes, NULL) && g->n < 64)
		g->at[g->n++] = s->now;
	return (1);
}

/*
 * The path goes dark with a message in flight: it is sent again after
 * the RTO, then after twice that, four times... (RFC 6298's backoff, up
 * to rto_max); when the path comes back it arrives, and the RTO comes
 * down again from the next measured round trip.
 */
static int
t_rto(void)
{
	struct udp_params p = params();
	struct udp_stats sa;
	struct rto_log g;
	struct sim s;
	struct udp *a, *b;
	const void *m;
	ssize_t r;
	int rel;

	p.keepalive_us = 1000 * SEC;
	p.idle_us = 2000 * SEC;
	p.rto_max_us = 20 * SEC;
	memset(&g, 0, sizeof(g));
	sim_init(&s, 10);
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	if (transfer(&s, a, b, 50, 50, 100, 1100 * SEC))
		return (1);
	s.filter = blackhole;
	s.arg = &g;
	g.on = 1;
	CHECK(udp_send(a, "lost in the dark", 16, 1) == 0);
	while (s.now < 1300 * SEC && g.n < 9)
		CHECK(step(&s, 1300 * SEC) == 0);
	CHECKF(g.n == 9, "%d sends", g.n);
	/* the first RTO is the rto_min of 200 ms (the round trip is 20) */
	CHECKF(g.at[1] - g.at[0] >= 200 * MS && g.at[1] - g.at[0] < 300 * MS,
	    "first RTO %llu us", (unsigned long long)(g.at[1] - g.at[0]));
	for (int i = 2; i < g.n; i++) {
		uint64_t d0 = g.at[i - 1] - g.at[i - 2],
			 d1 = g.at[i] - g.at[i - 1];

		CHECKF(d1 == 20 * SEC ||
			(d1 >= 2 * d0 - 2 * MS && d1 <= 2 * d0 + 2 * MS),
		    "resend %d after %llu us, the one before after %llu", i,
		    (unsigned long long)d1, (unsigned long long)d0);
	}
	CHECK(g.at[8] - g.at[7] == 20 * SEC);
	udp_stats(a, &sa);
	CHECK(sa.timeouts >= 7 && sa.rto_us == 20 * SEC);
	g.on = 0;
	while ((r = udp_recv(b, &m, &rel)) == -1 && s.now < 1400 * SEC)
		CHECK(step(&s, 1400 * SEC) == 0);
	CHECK(r == 16 && memcmp(m, "lost in the dark", 16) == 0);
	if (transfer(&s, a, b, 20, 0, 100, 1500 * SEC))
		return (1);
	udp_stats(a, &sa);
	CHECKF(sa.rto_us < SEC, "RTO %llu us after",
	    (unsigned long long)sa.rto_us);
	sim_free(&s);
	return (0);
}

/*
 * Idle for ten minutes, the connection stays up on keep-alives (both
 * ways counted); then B vanishes, and A says its peer is dead after the
 * idle time (10 s), not before and not much after.
 */
static int
t_keepalive(void)
{
	struct udp_params p = params();
	struct udp_stats sa, sb;
	enum udp_why why;
	struct sim s;
	struct udp *a, *b;
	uint64_t gone;

	sim_init(&s, 11);
	s.loss = 500;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	while (s.now < 1660 * SEC)
		CHECK(step(&s, 1660 * SEC) == 0);
	CHECK(udp_state(a, NULL, NULL) == UDP_OPEN);
	CHECK(udp_state(b, NULL, NULL) == UDP_OPEN);
	udp_stats(a, &sa);
	udp_stats(b, &sb);
	CHECKF(sa.keepalives_out + sb.keepalives_out > 300 &&
		sa.keepalives_in + sb.keepalives_in > 250,
	    "keep-alives out %llu+%llu, in %llu+%llu",
	    (unsigned long long)sa.keepalives_out,
	    (unsigned long long)sb.keepalives_out,
	    (unsigned long long)sa.keepalives_in,
	    (unsigned long long)sb.keepalives_in);
	s.ep[0].gone = 1;
	gone = s.now;
	while (udp_state(a, NULL, NULL) != UDP_DEAD && s.now < gone + 60 * SEC)
		if (step(&s, gone + 60 * SEC) == -1)
			break;
	CHECK(udp_state(a, &why, NULL) == UDP_DEAD && why == UDP_WHY_TIMEOUT);
	CHECKF(s.now - gone >= 9 * SEC && s.now - gone <= 10 * SEC + 10 * MS,
	    "dead after %llu us", (unsigned long long)(s.now - gone));
	sim_free(&s);
	return (0);
}

struct capture {
	int take; /* keep the next datagram from A with stream bytes */
	unsigned char b[DGMAX];
	size_t len;
};

static int
capture(struct sim *s, int from, int to, unsigned char *b, size_t len)
{
	struct capture *k = s->arg;

	(void)to;
	if (from == 1 && k->take && len > 200 && b[0] == 0x15) {
		memcpy(k->b, b, len);
		k->len = len;
		k->take = 0;
		return (1); /* held back: delivered by hand */
	}
	return (0);
}

/*
 * Sealed: a datagram replayed, one with a byte altered (every part of
 * it: header, ciphertext, tag), one cut short, one sealed with another
 * connection's key: each dropped and counted, nothing of it delivered;
 * the genuine one still goes through, and everything arrives once.
 */
static int
t_sealed(void)
{
	struct udp_params p = params();
	struct udp_stats sb, sb0;
	unsigned long long nbad;
	struct capture k;
	struct sim s;
	struct udp *a, *b;
	unsigned char bad[DGMAX];
	uint64_t auth0, replay0;

	sim_init(&s, 12);
	s.loss = 200;
	sim_server(&s, 0, &p, 1, psk1);
	a = sim_client(&s, 1, 0, &p, 1, psk1);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	if (transfer(&s, a, b, 300, 300, 3000, 1100 * SEC))
		return (1);
	memset(&k, 0, sizeof(k));
	s.filter = capture;
	s.arg = &k;
	k.take = 1;
	CHECK(udp_send(a, msg(1, 1000), 1000, 1) == 0);
	while (k.take)
		CHECK(step(&s, 1200 * SEC) == 0);
	udp_stats(b, &sb0);
	udp_stats(b, &sb);
	auth0 = sb.drop_auth;
	replay0 = sb.drop_replay;
	/* every byte after the id altered in turn, then cut short: the
	 * packet number's bytes may make it an old one (a replay) */
	nbad = 0;
	for (size_t i = 5; i < k.len; i++) {
		memcpy(bad, k.b, k.len);
		bad[i] ^= 1 << (i % 8);
		CHECK(udp_input(b, bad, k.len, s.now) == 0);
		nbad++;
	}
	for (size_t n = 0; n < k.len; n += 7) {
		memcpy(bad, k.b, k.len);
		CHECK(udp_input(b, bad, n, s.now) == 0);
		nbad++;
	}
	udp_stats(b, &sb);
	CHECKF(sb.drop_auth - auth0 + sb.drop_replay - replay0 + sb.drop_bad -
			sb0.drop_bad ==
		    nbad &&
		sb.drop_auth - auth0 > nbad - 20,
	    "of %llu: %llu dropped as forged, %llu as replays, %llu bad", nbad,
	    (unsigned long long)(sb.drop_auth - auth0),
	    (unsigned long long)(sb.drop_replay - replay0),
	    (unsigned long long)(sb.drop_bad - sb0.drop_bad));
	CHECK(sb.msgs_in == 300);
	replay0 = sb.drop_replay;
	/* the genuine one, then again */
	memcpy(bad, k.b, k.len);
	CHECK(udp_input(b, bad, k.len, s.now) == 0);
	memcpy(bad, k.b, k.len);
	CHECK(udp_input(b, bad, k.len, s.now) == 0);
	udp_stats(b, &sb);
	CHECKF(sb.drop_replay == replay0 + 1, "replays %llu",
	    (unsigned long long)(sb.drop_replay - replay0));
	{
		const void *m;
		int rel;

		CHECK(
		    udp_recv(b, &m, &rel) == 1000 && msg_is(m, 1000, 1, 1000));
	}
	/* a wrong id is dropped before anything */
	memcpy(bad, k.b, k.len);
	bad[2] ^= 1;
	CHECK(udp_input(b, bad, k.len, s.now) == 0);
	udp_stats(b, &sb);
	CHECK(sb.drop_id == 1);
	s.filter = NULL;
	if (transfer(&s, a, b, 100, 100, 3000, 1300 * SEC))
		return (1);
	sim_free(&s);
	return (0);
}

/* Alter the ACCEPT's first stream offset on the way. */
static int
alter_accept(struct sim *s, int from, int to, unsigned char *b, size_t len)
{
	(void)s;
	(void)from;
	(void)to;
	if (len > 30 && b[0] == 0x13)
		b[22] ^= 4;
	return (0);
}

/*
 * Sealed, an ACCEPT whose parameters are altered on the way (here where
 * the listener's stream starts, which would shift every message): the
 * hellos are intact, so the keys agree, but every datagram's seal covers
 * the parameters each end saw: nothing is ever delivered, and the client
 * gives up after the idle time.
 */
static int
t_sealed_params(void)
{
	struct udp_params p = params();
	struct udp_stats sa;
	struct sim s;
	struct udp *a, *b;
	enum udp_why why;
	const void *m;
	int rel;

	sim_init(&s, 17);
	s.filter = alter_accept;
	sim_server(&s, 0, &p, 1, psk1);
	a = sim_client(&s, 1, 0, &p, 1, psk1);
	while (srv_conn(&s, 0, 1) == NULL)
		CHECK(step(&s, 1100 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	CHECK(udp_send(b, "shifted?", 8, 1) == 0);
	while (udp_state(a, NULL, NULL) != UDP_DEAD && s.now < 1100 * SEC) {
		if (udp_state(a, NULL, NULL) == UDP_OPEN)
			(void)udp_send(a, "hello?", 6, 1);
		CHECK(udp_recv(a, &m, &rel) == -1);
		CHECK(udp_recv(b, &m, &rel) == -1);
		if (step(&s, 1100 * SEC) == -1)
			break;
	}
	udp_stats(a, &sa);
	CHECK(udp_state(a, &why, NULL) == UDP_DEAD && why == UDP_WHY_TIMEOUT);
	CHECKF(sa.drop_auth > 0 && sa.msgs_in == 0, "%llu forged, %llu in",
	    (unsigned long long)sa.drop_auth, (unsigned long long)sa.msgs_in);
	sim_free(&s);
	return (0);
}

/*
 * Two clients send as fast as they may through one bottleneck (4 MB/s, a
 * queue of 60 KB) to one listener, the second starting half a second
 * later: when one has had 100000 messages written, the other has had at
 * least 25000 (the test of quilt-listen, here on the engine).
 */
static int
t_fair(void)
{
	struct udp_params p = params();
	struct sim s;
	struct udp *a, *c, *b1, *b2;
	uint32_t sent[2] = {0, 0}, got[2] = {0, 0};
	uint64_t start;

	sim_init(&s, 13);
	s.rate = 4000000;
	s.qlimit = 60000;
	s.delay = 10 * MS;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	start = s.now;
	c = NULL;
	while (
	    got[0] < 100000 && got[1] < 100000 && s.now < start + 100 * SEC) {
		struct udp *cl[2] = {a, c}, *sv[2];
		const void *m;
		ssize_t r;
		int rel;

		if (c == NULL && s.now >= start + 500 * MS)
			c = sim_client(&s, 2, 0, &p, 0, NULL);
		sv[0] = srv_conn(&s, 0, 1);
		sv[1] = srv_conn(&s, 0, 2);
		for (int i = 0; i < 2; i++) {
			if (cl[i] == NULL ||
			    udp_state(cl[i], NULL, NULL) != UDP_OPEN)
				continue;
			while (udp_send(cl[i], msg(sent[i], 500), 500, 1) == 0)
				sent[i]++;
			while (sv[i] != NULL &&
			    (r = udp_recv(sv[i], &m, &rel)) >= 0) {
				CHECK(msg_is(m, r, got[i], 500));
				got[i]++;
			}
		}
		CHECK(step(&s, start + 100 * SEC) == 0);
	}
	b1 = srv_conn(&s, 0, 1);
	b2 = srv_conn(&s, 0, 2);
	/* A controller that backs off keeps the queue's losses rare. */
	CHECKF(s.bottleneck_drops * 50 < s.sent,
	    "%llu of %llu datagrams dropped at the bottleneck",
	    (unsigned long long)s.bottleneck_drops, (unsigned long long)s.sent);
	CHECK(b1 != NULL && b2 != NULL);
	CHECKF((got[0] >= 100000 || got[1] >= 100000) && got[0] >= 25000 &&
		got[1] >= 25000,
	    "got %u and %u by %llu s, %llu bottleneck drops", got[0], got[1],
	    (unsigned long long)((s.now - start) / SEC),
	    (unsigned long long)s.bottleneck_drops);
	/* and the bottleneck was full: the controller had work to do */
	CHECK(s.bottleneck_drops > 10);
	CHECKF((s.now - start) < 35 * SEC, "%llu s for %u messages",
	    (unsigned long long)((s.now - start) / SEC), got[0] + got[1]);
	sim_free(&s);
	return (0);
}

/*
 * Malformed, truncated and spoofed datagrams in the middle of a transfer:
 * short, another version, an unknown type, the wrong id, frames cut short
 * or of unknown types, acknowledgements of packets never sent, random
 * bytes: each dropped and counted, and the transfer goes on unharmed.
 */
static int
t_garbage(void)
{
	struct udp_params p = params();
	struct udp_stats sb0, sb;
	struct sim s;
	struct udp *a, *b;
	unsigned char g[2000];
	uint32_t id;
	int type;
	unsigned n = 0;

	sim_init(&s, 14);
	s.loss = 300;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	if (transfer(&s, a, b, 100, 100, 1000, 1100 * SEC))
		return (1);
	/* the id B expects, from a datagram of A's */
	{
		unsigned char d[DGMAX];
		size_t len;

		CHECK(udp_send(a, "x", 1, 1) == 0);
		len = udp_output(a, d, sizeof(d), s.now);
		CHECK(udp_peek(d, len, &id, &type) == 0 && type == 5);
		CHECK(udp_input(b, d, len, s.now) == 0);
	}
	udp_stats(b, &sb0);
	for (int i = 0; i < 3000; i++) {
		size_t len = 1 + rnd(&s, 1400);

		for (size_t j = 0; j < len; j++)
			g[j] = (unsigned char)rnd(&s, 256);
		switch (i % 8) {
		case 0: /* random */
			break;
		case 1: /* right id, random frames */
		case 2:
			g[0] = 0x15;
			if (len >= 5) {
				g[1] = id >> 24;
				g[2] = id >> 16;
				g[3] = id >> 8;
				g[4] = id;
			}
			/* never a frame that parses: the first is cut */
			if (len > 9)
				g[9] = 0x02, len = len < 16 ? len : 16;
			break;
		case 3: /* an unknown frame type */
			g[0] = 0x15;
			memcpy(g + 1,
			    (unsigned char[]){id >> 24, id >> 16, id >> 8, id},
			    4);
			len = len < 12 ? 12 : len;
			g[9] = 7 + rnd(&s, 200);
			break;
		case 4: /* an ACK of packets never sent */
			g[0] = 0x15;
			memcpy(g + 1,
			    (unsigned char[]){id >> 24, id >> 16, id >> 8, id},
			    4);
			len = 9 + 23;
			g[9] = 1;
			g[10] ^= 0x80; /* far from anything sent */
			break;
		case 5: /* short */
			len = i % 5;
			break;
		case 6: /* another version, another type */
			g[0] = (unsigned char)(i % 16 == 6 ? 0x25 : 0x1f);
			break;
		case 7: /* the handshake's types, late */
			g[0] = 0x10 | (1 + i % 4);
			len = i % 2 ? 25 : 6;
			memcpy(g + 1,
			    (unsigned char[]){id >> 24, id >> 16, id >> 8, id},
			    4);
			break;
		}
		CHECK(udp_input(b, g, len, s.now) == 0 || (g[0] & 15) == 1);
		n++;
		if (i % 100 == 0)
			(void)step(&s, 1200 * SEC);
	}
	udp_stats(b, &sb);
	CHECKF(sb.drop_bad + sb.drop_id + sb.drop_replay - sb0.drop_bad -
		    sb0.drop_id - sb0.drop_replay >=
		n - 400,
	    "bad %llu, id %llu, replay %llu of %u",
	    (unsigned long long)(sb.drop_bad - sb0.drop_bad),
	    (unsigned long long)(sb.drop_id - sb0.drop_id),
	    (unsigned long long)(sb.drop_replay - sb0.drop_replay), n);
	CHECK(
	    sb.drop_id - sb0.drop_id > 100 && sb.drop_bad - sb0.drop_bad > 100);
	{
		const void *m;
		int rel;

		while (udp_recv(b, &m, &rel) == -1 && errno == EAGAIN)
			CHECK(step(&s, 1300 * SEC) == 0);
	}
	CHECK(udp_state(b, NULL, NULL) == UDP_OPEN);
	if (transfer(&s, a, b, 500, 500, 3000, 1400 * SEC))
		return (1);
	sim_free(&s);
	return (0);
}

/*
 * A clean end under loss: A queues 3000 messages and closes; B reads them
 * all; A is dead (closed) once B has acknowledged the CLOSE, B dead with
 * the peer's reason "none"; neither sends anything more.
 */
static int
t_close(void)
{
	struct udp_params p = params();
	enum udp_why why;
	enum udp_reason reason;
	struct sim s;
	struct udp *a, *b;
	uint32_t sent = 0, got = 0;

	sim_init(&s, 15);
	s.loss = 500;
	sim_server(&s, 0, &p, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	while (sent < 3000 && udp_send(a, msg(sent, 300), 300, 1) == 0)
		sent++;
	CHECK(sent == 3000);
	udp_close(a, s.now);
	CHECK(udp_send(a, "late", 4, 1) == -1 && errno == EPIPE);
	while (s.now < 1200 * SEC) {
		const void *m;
		ssize_t r;
		int rel;

		while ((r = udp_recv(b, &m, &rel)) >= 0) {
			CHECK(msg_is(m, r, got, 300));
			got++;
		}
		if (udp_state(a, NULL, NULL) == UDP_DEAD &&
		    udp_state(b, NULL, NULL) == UDP_DEAD && errno == EPIPE)
			break;
		if (step(&s, 1200 * SEC) == -1)
			break;
	}
	CHECK(got == 3000);
	CHECK(udp_state(a, &why, NULL) == UDP_DEAD && why == UDP_WHY_CLOSED);
	CHECK(udp_state(b, &why, &reason) == UDP_DEAD &&
	    why == UDP_WHY_PEER_CLOSED && reason == UDP_R_NONE);
	CHECK(udp_deadline(a) == UDP_NEVER && udp_deadline(b) == UDP_NEVER);
	sim_free(&s);
	return (0);
}

/*
 * udp_send's errors: ENOTCONN before the connection is open, EMSGSIZE
 * over the peer's maxmsg (1 MiB here; 1 MiB itself goes, larger than the
 * 64 KB receive window, which opens for it), ENOBUFS when full.
 */
static int
t_limits(void)
{
	struct udp_params p = params(), q;
	struct sim s;
	struct udp *a, *b;
	const void *m;
	ssize_t r;
	int rel;

	q = p;
	q.maxmsg = 1 << 20;
	q.rcvbuf = 65536;
	sim_init(&s, 16);
	sim_server(&s, 0, &q, 0, NULL);
	a = sim_client(&s, 1, 0, &p, 0, NULL);
	CHECK(udp_send(a, "x", 1, 1) == -1 && errno == ENOTCONN);
	CHECK(open_pair(&s, a, 0, 1, 1060 * SEC) == 0);
	b = srv_conn(&s, 0, 1);
	CHECK(udp_peer_maxmsg(a) == 1 << 20);
	CHECK(udp_send(a, msg(1, (1 << 20) + 1), (1 << 20) + 1, 1) == -1 &&
	    errno == EMSGSIZE);
	CHECK(udp_send(a, msg(1, (1 << 20) + 1), (1 << 20) + 1, 0) == -1 &&
	    errno == EMSGSIZE);
	CHECK(udp_send(a, msg(2, 1 << 20), 1 << 20, 1) == 0);
	CHECK(udp_send(a, "x", 1, 1) == -1 && errno == ENOBUFS);
	while ((r = udp_recv(b, &m, &rel)) == -1 && errno == EAGAIN &&
	    s.now < 1200 * SEC)
		CHECK(step(&s, 1200 * SEC) == 0);
	CHECK(r == 1 << 20 && msg_is(m, r, 2, 1 << 20));
	/* and one over a datagram on the unreliable channel, no loss */
	CHECK(udp_send(a, msg(3, 100000), 100000, 0) == 0);
	while ((r = udp_recv(b, &m, &rel)) == -1 && errno == EAGAIN &&
	    s.now < 1300 * SEC)
		CHECK(step(&s, 1300 * SEC) == 0);
	CHECK(r == 100000 && !rel && msg_is(m, r, 3, 100000));
	sim_free(&s);
	return (0);
}

/* --- bench ---------------------------------------------------------------- */

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (t.tv_sec + t.tv_nsec / 1e9);
}

/* Two engines in memory, no loss: CPU per message of size z, both ends. */
static int
bench(unsigned long n, size_t z, int sealed)
{
	struct udp_params p = params();
	struct sim s;
	struct udp *a, *b;
	static unsigned char d[DGMAX];
	unsigned char payload[65536];
	unsigned long sent = 0, got = 0;
	uint64_t dgs = 0;
	double t0;

	memset(payload, 'x', sizeof(payload));
	sim_init(&s, 1);
	s.delay = 0;
	sim_server(&s, 0, &p, sealed, psk1);
	a = sim_client(&s, 1, 0, &p, sealed, psk1);
	if (open_pair(&s, a, 0, 1, 1060 * SEC) == -1)
		return (1);
	b = srv_conn(&s, 0, 1);
	t0 = cpu_now();
	while (got < n) {
		const void *m;
		int rel;
		size_t k;

		while (sent < n && udp_send(a, payload, z, 1) == 0)
			sent++;
		while ((k = udp_output(a, d, sizeof(d), s.now)) > 0) {
			udp_input(b, d, k, s.now);
			dgs++;
		}
		while (udp_recv(b, &m, &rel) >= 0)
			got++;
		while ((k = udp_output(b, d, sizeof(d), s.now)) > 0)
			udp_input(a, d, k, s.now);
		s.now += 1;
	}
	t0 = cpu_now() - t0;
	printf("%s%zu B messages: %lu in %.3f s CPU, %.1f ns a message, "
	       "%.2f M/s, %.1f messages a datagram\n",
	    sealed ? "sealed " : "", z, n, t0, t0 * 1e9 / n, n / t0 / 1e6,
	    (double)n / dgs);
	sim_free(&s);
	return (0);
}

static const struct tcase cases[] = {
    {"handshake: a cookie first, no state before it, replies no larger "
     "than the request",
	t_handshake},
    {"cookie: bound to the address, the id and the time; old ones refused",
	t_cookie},
    {"reject with a reason (full); a client aborts on a wrong key", t_reject},
    {"5% loss, 1% duplication, reordering: exactly once, in order", t_lossy},
    {"packet numbers and offsets cross 2^32 under loss", t_wrap},
    {"a lost fragment of a large message is resent alone", t_fragment},
    {"unreliable: lost or delivered whole, never twice or out of order",
	t_unreliable},
    {"a stalled reader bounds the sender's and its own memory", t_stalled},
    {"RTO backs off exponentially and recovers", t_rto},
    {"keep-alives hold an idle connection; a vanished peer is dead after "
     "the idle time",
	t_keepalive},
    {"sealed: replayed, forged, truncated datagrams dropped and counted",
	t_sealed},
    {"sealed: altered handshake parameters break every seal", t_sealed_params},
    {"two senders through one bottleneck share it", t_fair},
    {"malformed and spoofed datagrams do not disturb a connection", t_garbage},
    {"a clean close after everything is delivered", t_close},
    {"send limits: ENOTCONN, EMSGSIZE, ENOBUFS; a message over the window",
	t_limits},
};

int
main(int argc, char *argv[])
{
	if (seal_init() == -1)
		return (1);
	if (argc > 1 && strcmp(argv[1], "bench") == 0) {
		unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) :
					     3000000;

		return (bench(n, 64, 0) || bench(n / 10, 1024, 0) ||
		    bench(n / 3, 64, 1));
	}
	return (TC_RUN(cases));
}
