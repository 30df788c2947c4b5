/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_order.h"

#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "hops.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "sd_groups.h"
#include "sd_sess.h"

#define SD_LOG_MAX (64 * 1024 * 1024)
#define SD_PEND_MAX (16 * 1024 * 1024)
/* Ours not ordered this long goes again; a gap this long is asked for. */
#define SD_RESUB_MS 500
#define SD_NACK_MS 100
/* The sequencer says what is stable at least this often while any is not. */
#define SD_STABLE_MS 100

struct sd_order O;

size_t
ev_size(const struct sd_ev *e)
{
	size_t n = frame_size(1) + frame_size(e->sender.len);

	switch (e->kind) {
	case SD_JOIN:
	case SD_LEAVE:
		return (n + frame_size(e->group.len));
	case SD_MCAST:
		return (n + frame_size(frame_digits(e->type)) + frame_size(4) +
		    frame_size(SPREAD_GROUP_SIZE * (size_t)e->ngroups) +
		    frame_size(e->len));
	}
	return (n);
}

char *
ev_put(char *o, const struct sd_ev *e)
{
	char k = (char)e->kind, num[24];

	o = frame_put(o, &k, 1);
	o = frame_put(o, e->sender.p, e->sender.len);
	switch (e->kind) {
	case SD_JOIN:
	case SD_LEAVE:
		return (frame_put(o, e->group.p, e->group.len));
	case SD_MCAST:
		o = frame_put(o, num, frame_u64(num, e->type));
		o = frame_put(o, e->hint, 4);
		o = frame_put(o, e->groups,
		    SPREAD_GROUP_SIZE * (size_t)e->ngroups);
		return (frame_put(o, e->data, e->len));
	}
	return (o);
}

int
ev_get(struct frame_iter *it, struct sd_ev *e)
{
	struct mesh_str k, t, h, g, d;
	unsigned long long type;

	memset(e, 0, sizeof(*e));
	if (frame_next_part(it, &k.p, &k.len) != 1 || k.len != 1 ||
	    frame_next_part(it, &e->sender.p, &e->sender.len) != 1 ||
	    e->sender.len == 0 || e->sender.len >= SPREAD_GROUP_SIZE ||
	    e->sender.p[0] != '#')
		return (-1);
	e->kind = k.p[0];
	switch (e->kind) {
	case SD_JOIN:
	case SD_LEAVE:
		if (frame_next_part(it, &e->group.p, &e->group.len) != 1 ||
		    e->group.len == 0 || e->group.len >= SPREAD_GROUP_SIZE ||
		    memchr(e->group.p, '\0', e->group.len) != NULL)
			return (-1);
		break;
	case SD_DISC:
		break;
	case SD_MCAST:
		if (frame_next_part(it, &t.p, &t.len) != 1 ||
		    frame_part_num(t.p, t.len, UINT32_MAX, &type) == -1 ||
		    frame_next_part(it, &h.p, &h.len) != 1 || h.len != 4 ||
		    frame_next_part(it, &g.p, &g.len) != 1 ||
		    g.len % SPREAD_GROUP_SIZE != 0 ||
		    g.len > SPREAD_GROUP_SIZE * SPREAD_MAX_GROUPS ||
		    frame_next_part(it, &d.p, &d.len) != 1 ||
		    spread_service_name(type & ~SPREAD_SELF_DISCARD) == NULL)
			return (-1);
		e->type = (uint32_t)type;
		memcpy(e->hint, h.p, 4);
		e->ngroups = (int)(g.len / SPREAD_GROUP_SIZE);
		e->groups = (const uint8_t *)g.p;
		e->data = (const uint8_t *)d.p;
		e->len = d.len;
		/* Every name ends inside its field. */
		for (int i = 0; i < e->ngroups; i++)
			if (memchr(g.p + SPREAD_GROUP_SIZE * i, '\0',
				SPREAD_GROUP_SIZE) == NULL)
				return (-1);
		break;
	default:
		return (-1);
	}
	return (frame_next_part(it, &t.p, &t.len) == 0 ? 0 : -1);
}

int
sd_nums(struct frame_iter *it, uint64_t *v, int n)
{
	const char *p;
	size_t l;
	unsigned long long x;

	for (int i = 0; i < n; i++) {
		if (frame_next_part(it, &p, &l) != 1 ||
		    frame_part_num(p, l, UINT64_MAX, &x) == -1)
			return (-1);
		v[i] = x;
	}
	return (0);
}

int
sd_view_parts(const char **p, size_t *l, char *ebuf)
{
	l[0] = frame_u64(ebuf, O.v.epoch);
	p[0] = ebuf;
	p[1] = node_name(O.v.coord);
	l[1] = N.n[O.v.coord].namelen;
	return (2);
}

/* Is this frame's view ours?  Its E and C from it. */
static int
our_view(struct frame_iter *it)
{
	uint64_t e;
	const char *c;
	size_t cl;

	return (sd_nums(it, &e, 1) == 0 && e == O.v.epoch &&
	    frame_next_part(it, &c, &cl) == 1 && cl == N.n[O.v.coord].namelen &&
	    memcmp(c, node_name(O.v.coord), cl) == 0);
}

int
order_init(void)
{
	slog_free(&O.ord);
	slog_free(&O.pend);
	for (int o = 0; o < NODES_MAX; o++)
		if (O.subq[o] != NULL) {
			slog_free(O.subq[o]);
			free(O.subq[o]);
		}
	memset(&O, 0, sizeof(O));
	if (slog_init(&O.ord, SD_WINDOW, SD_LOG_MAX) == -1 ||
	    slog_init(&O.pend, SD_PEND, SD_PEND_MAX) == -1)
		return (-1);
	O.next_rseq = O.pend_first = 1;
	O.next_gseq = 1;
	O.expect[0] = 1;
	O.v.n = 1;
	O.v.mem[0] = 0;
	O.v.single = 1;
	return (0);
}

void
order_apply(const char *p, size_t n)
{
	struct frame_iter it;
	struct mesh_str origin;
	uint64_t v[3];
	struct sd_ev e;
	int from = -1;

	frame_iter_init(&it, p, n);
	if (frame_next_part(&it, &origin.p, &origin.len) != 1 ||
	    sd_nums(&it, v, 3) == -1 || ev_get(&it, &e) == -1)
		return; /* checked when it came */
	if (origin.len == conf.melen &&
	    memcmp(origin.p, conf.me, conf.melen) == 0) {
		from = sess_of((int)v[1], (unsigned)v[2]);
		/* Ours is ordered: no longer pending. */
		if (v[0] >= O.pend_first) {
			slog_trim(&O.pend, v[0]);
			O.pend_first = v[0] + 1;
			O.pend_since = net_now_ms();
		}
	}
	groups_apply(&e, from);
}

int
order_is_safe(const char *p, size_t n)
{
	struct frame_iter it;
	struct mesh_str s;
	uint64_t v[3];
	struct sd_ev e;

	frame_iter_init(&it, p, n);
	if (frame_next_part(&it, &s.p, &s.len) != 1 ||
	    sd_nums(&it, v, 3) == -1 || ev_get(&it, &e) == -1)
		return (0);
	return (e.kind == SD_MCAST && (e.type & SPREAD_SAFE_MESS));
}

void
order_deliver(void)
{
	const char *p;
	size_t n;
	int safe_waits = 0;

	/* A session congested: nothing more until it reads (sd_io.c comes
	 * back here then). */
	while (
	    SS.congested == 0 && slog_get(&O.ord, O.applied + 1, &p, &n) == 0) {
		if (O.applied + 1 > O.stable && order_is_safe(p, n)) {
			safe_waits = 1;
			break;
		}
		O.applied++;
		order_apply(p, n);
	}
	if (O.recvd < O.applied)
		O.recvd = O.applied;
	while (slog_get(&O.ord, O.recvd + 1, &p, &n) == 0)
		O.recvd++;
	/* Held: what is here in order behind a SAFE message not yet stable
	 * (counted, not walked: this runs once for each event received). */
	O.held = safe_waits ? O.recvd - O.applied : 0;
	sdc.held = O.held;
	if (O.top < O.recvd)
		O.top = O.recvd;
	slog_trim(&O.ord, O.stable < O.applied ? O.stable : O.applied);
}

/* The sequencer's stable: what every member of the view holds. */
static void
seq_stable(void)
{
	uint64_t s = O.next_gseq - 1;

	for (int i = 0; i < O.v.n; i++) {
		int m = O.v.mem[i];

		if (m != 0 && O.have[m] < s)
			s = O.have[m];
	}
	if (s > O.stable) {
		O.stable = s;
		order_deliver();
	}
}

/*
 * The sequencer orders origin's event rseq (its record rec: SESS, GEN,
 * EV...): 0, or -1 when it must wait (the window, or no room to send).
 */
static int
seq_order(int origin, uint64_t rseq, const char *rec, size_t rlen)
{
	const char *p[6];
	size_t l[6], n;
	char e[24], g[24], s[24], r[24], *w;
	const char *stored;

	if (rseq != O.expect[origin])
		return (0); /* seen, or out of order: it comes again */
	n = frame_size(N.n[origin].namelen) + frame_size(frame_digits(rseq)) +
	    rlen;
	if (O.next_gseq - O.stable >= SD_WINDOW - 1 ||
	    (!O.v.single && !room_for(-1, n + 256, 0)) ||
	    slog_put(&O.ord, O.next_gseq, NULL, n) != 0)
		return (-1);
	(void)slog_get(&O.ord, O.next_gseq, &stored, &n);
	/* stored is our log's own record, written once here */
	w = buf_data(&O.ord.b) + (stored - buf_data(&O.ord.b));
	w = frame_put(w, node_name(origin), N.n[origin].namelen);
	w = frame_put(w, r, frame_u64(r, rseq));
	memcpy(w, rec, rlen);
	if (!O.v.single) {
		sd_view_parts(p + 1, l + 1, e);
		p[0] = "ord";
		l[0] = 3;
		p[3] = g;
		l[3] = frame_u64(g, O.next_gseq);
		p[4] = s;
		l[4] = frame_u64(s, O.stable);
		(void)spread_send(-1, 5, p, l, stored, n);
		O.stable_sent = O.stable;
	}
	O.expect[origin]++;
	O.next_gseq++;
	O.have[0] = O.next_gseq - 1;
	if (O.v.single || O.v.n == 1)
		O.stable = O.next_gseq - 1;
	order_deliver();
	return (0);
}

/* The sequencer's queue of origin o's submissions (ours: O.pend). */
static struct slog *
queue_of(int o)
{
	if (o == 0)
		return (&O.pend);
	if (O.subq[o] == NULL) {
		if ((O.subq[o] = calloc(1, sizeof(struct slog))) == NULL)
			return (NULL);
		if (slog_init(O.subq[o], SD_PEND, SD_PEND_MAX) == -1) {
			free(O.subq[o]);
			O.subq[o] = NULL;
			return (NULL);
		}
	}
	return (O.subq[o]);
}

/*
 * The sequencer's turn: what waits is ordered, SD_BURST events of each
 * relay in turn, so that concurrent senders interleave however their
 * submissions came.  1 when some still wait.
 */
static int
seq_turn(void)
{
	int more = 0;

	for (int k = 0; k < O.v.n; k++) {
		int o = O.v.mem[(k + O.turn) % O.v.n];
		struct slog *q = o == 0 ? &O.pend : O.subq[o];
		const char *rec;
		size_t n;

		if (q == NULL)
			continue;
		for (int b = 0; b < SD_BURST; b++) {
			if (slog_get(q, O.expect[o], &rec, &n) == -1)
				break;
			if (seq_order(o, O.expect[o], rec, n) == -1)
				return (1); /* the window: later */
			if (o != 0)
				slog_trim(q, O.expect[o] - 1);
		}
		if (slog_get(q, O.expect[o], &rec, &n) == 0)
			more = 1;
	}
	O.turn++;
	return (more);
}

void
order_queues_clear(void)
{
	for (int o = 0; o < NODES_MAX; o++)
		if (O.subq[o] != NULL)
			slog_clear(O.subq[o]);
}

/* ["sub", E, C, RSEQ] and the record, to the sequencer. */
static int
sub_send(uint64_t rseq, const char *rec, size_t rlen)
{
	const char *p[4];
	size_t l[4];
	char e[24], r[24];

	p[0] = "sub";
	l[0] = 3;
	sd_view_parts(p + 1, l + 1, e);
	p[3] = r;
	l[3] = frame_u64(r, rseq);
	return (spread_send(O.v.coord, 4, p, l, rec, rlen));
}

int
order_submit(const struct sd_ev *e, int from, unsigned gen)
{
	char num[24], *w;
	const char *rec;
	size_t n;

	if (SS.congested > 0 && e->kind != SD_DISC)
		return (-1); /* a session does not read: wait */
	if (O.v.single && !O.v.flushing) {
		groups_apply(e, from);
		return (0);
	}
	if (O.v.flushing)
		return (-1);
	n = frame_size(frame_digits((uint64_t)from)) +
	    frame_size(frame_digits(gen)) + ev_size(e);
	if (O.v.coord != 0 && !room_for(O.v.coord, n + 256, 0))
		return (-1);
	if (slog_put(&O.pend, O.next_rseq, NULL, n) != 0)
		return (-1);
	(void)slog_get(&O.pend, O.next_rseq, &rec, &n);
	/* rec is our log's own record, written once here */
	w = buf_data(&O.pend.b) + (rec - buf_data(&O.pend.b));
	w = frame_put(w, num, frame_u64(num, (uint64_t)from));
	w = frame_put(w, num, frame_u64(num, gen));
	ev_put(w, e);
	if (slog_count(&O.pend) == 1)
		O.pend_since = net_now_ms();
	/* The sequencer takes ours from O.pend in its turn (seq_turn). */
	if (O.v.coord != 0)
		(void)sub_send(O.next_rseq, rec, n);
	O.next_rseq++;
	return (0);
}

void
order_resubmit(void)
{
	const char *rec;
	size_t n;

	for (uint64_t r = O.pend_first; O.v.coord != 0 && r < O.next_rseq;
	     r++) {
		if (slog_get(&O.pend, r, &rec, &n) == -1)
			continue;
		if (sub_send(r, rec, n) == -1)
			break;
	}
	O.pend_since = net_now_ms();
}

/* Resend ordered FROM..TO to relay d. */
static void
resend(int d, uint64_t from, uint64_t to)
{
	const char *p[5], *rec;
	size_t l[5], n;
	char e[24], g[24], s[24];

	if (to >= O.next_gseq)
		to = O.next_gseq - 1;
	p[0] = "ord";
	l[0] = 3;
	sd_view_parts(p + 1, l + 1, e);
	p[4] = s;
	l[4] = frame_u64(s, O.stable);
	for (uint64_t x = from; x <= to && x - from < 4096; x++) {
		if (slog_get(&O.ord, x, &rec, &n) == -1)
			continue;
		p[3] = g;
		l[3] = frame_u64(g, x);
		if (spread_send(d, 5, p, l, rec, n) == -1)
			return;
	}
}

int
order_in(int origin, const char *verb, size_t vlen, struct frame_iter *it)
{
	uint64_t v[4];

#define IS(s) (vlen == sizeof(s) - 1 && memcmp(verb, s, vlen) == 0)
	if (!our_view(it))
		return (0); /* another view's: old news */
	if (IS("sub")) {
		struct slog *q;

		if (O.v.coord != 0 || sd_nums(it, v, 1) == -1)
			return (O.v.coord != 0 ? 0 : -2);
		if (v[0] < O.expect[origin])
			return (0); /* ordered already */
		if ((q = queue_of(origin)) == NULL ||
		    slog_put(q, v[0], it->p, it->n) == -1)
			return (-1); /* the queue is full: it waits */
		return (0);
	}
	if (IS("ord")) {
		struct frame_iter rec;
		struct mesh_str o;
		uint64_t rv[3];
		struct sd_ev e;

		if (sd_nums(it, v, 2) == -1)
			return (-2);
		rec = *it;
		if (frame_next_part(&rec, &o.p, &o.len) != 1 ||
		    sd_nums(&rec, rv, 3) == -1 || ev_get(&rec, &e) == -1)
			return (-2);
		if (O.v.coord == 0 || v[0] <= O.applied)
			return (0);
		if (slog_put(&O.ord, v[0], it->p, it->n) == -1)
			return (0); /* full: asked for again later */
		if (v[1] > O.stable)
			O.stable = v[1];
		if (v[0] > O.top)
			O.top = v[0];
		order_deliver();
		return (0);
	}
	if (IS("have")) {
		if (sd_nums(it, v, 1) == -1)
			return (-2);
		if (O.v.coord == 0 && v[0] > O.have[origin] &&
		    v[0] < O.next_gseq) {
			O.have[origin] = v[0];
			seq_stable();
		}
		return (0);
	}
	if (IS("stable")) {
		if (sd_nums(it, v, 2) == -1)
			return (-2);
		if (O.v.coord != 0) {
			if (v[0] > O.stable)
				O.stable = v[0];
			if (v[1] > O.top)
				O.top = v[1];
			order_deliver();
		}
		return (0);
	}
	if (IS("nack")) {
		if (sd_nums(it, v, 2) == -1)
			return (-2);
		if (O.v.coord == 0 && v[0] <= v[1])
			resend(origin, v[0], v[1]);
		return (0);
	}
#undef IS
	return (-2);
}

/* A member's timers: what it holds to the sequencer, gaps asked for. */
static void
member_tick(long long now, long long *next)
{
	const char *p[5];
	size_t l[5];
	char e[24], a[24], b[24];

	p[0] = "have";
	l[0] = 4;
	sd_view_parts(p + 1, l + 1, e);
	/* What we hold, to the sequencer: once a batch. */
	if (O.recvd > O.have_sent) {
		p[3] = a;
		l[3] = frame_u64(a, O.recvd);
		if (spread_send(O.v.coord, 4, p, l, NULL, 0) == 0)
			O.have_sent = O.recvd;
	}
	/* A gap: ask again once it has lasted. */
	if (O.top <= O.recvd) {
		O.gap_since = 0;
		return;
	}
	if (O.gap_since == 0)
		O.gap_since = now;
	if (now - O.gap_since >= SD_NACK_MS) {
		p[0] = "nack";
		p[3] = a;
		l[3] = frame_u64(a, O.recvd + 1);
		p[4] = b;
		l[4] = frame_u64(b, O.top);
		(void)spread_send(O.v.coord, 5, p, l, NULL, 0);
		O.gap_since = now;
	}
	if (*next == -1 || O.gap_since + SD_NACK_MS < *next)
		*next = O.gap_since + SD_NACK_MS;
}

/* The sequencer's: its turn of ordering, and what is stable to all. */
static void
seq_tick(long long now, long long *next)
{
	const char *p[5];
	size_t l[5];
	char e[24], a[24], b[24];

	if (seq_turn() && (*next == -1 || now < *next))
		*next = now; /* more at the next turn */
	if (O.stable > O.stable_sent ||
	    (O.stable < O.next_gseq - 1 && now - O.stable_at >= SD_STABLE_MS)) {
		p[0] = "stable";
		l[0] = 6;
		sd_view_parts(p + 1, l + 1, e);
		p[3] = a;
		l[3] = frame_u64(a, O.stable);
		p[4] = b;
		l[4] = frame_u64(b, O.next_gseq - 1);
		if (spread_send(-1, 5, p, l, NULL, 0) == 0) {
			O.stable_sent = O.stable;
			O.stable_at = now;
		}
	}
	if (O.stable < O.next_gseq - 1 &&
	    (*next == -1 || O.stable_at + SD_STABLE_MS < *next))
		*next = O.stable_at + SD_STABLE_MS;
}

void
order_tick(long long now, long long *next)
{
	if (O.v.single || O.v.flushing)
		return;
	if (O.v.coord == 0)
		seq_tick(now, next);
	else
		member_tick(now, next);
	/* Ours not ordered in time: again, all of it. */
	if (O.v.coord != 0 && O.pend_first < O.next_rseq) {
		if (now - O.pend_since >= SD_RESUB_MS)
			order_resubmit();
		if (*next == -1 || O.pend_since + SD_RESUB_MS < *next)
			*next = O.pend_since + SD_RESUB_MS;
	}
}
