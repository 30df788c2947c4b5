/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: engine's sending half (udp_int.h): udp_send queues, udp_output
 * writes every datagram (CONNECT, ACCEPT, DATA with its acknowledgement,
 * resends, unreliable messages and fragments, keep-alives and probes,
 * the last CLOSE or ABORT) and seals DATA; behind it, the segments and
 * packets in flight, what an ACK frame acknowledges, loss (packet and time
 * thresholds), the retransmission timeout (RFC 6298), NewReno's window,
 * and the timers udp_deadline reports.
 */
#include "udp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

/* --- time ----------------------------------------------------------------- */

void
udp_rtt_sample(struct udp *c, uint64_t r)
{
	uint64_t d;

	if (r == 0)
		r = 1;
	c->latest_rtt = r;
	if (!c->have_rtt) {
		c->srtt = r;
		c->rttvar = r / 2;
		c->min_rtt = r;
		c->have_rtt = 1;
	} else {
		c->min_rtt = umin(c->min_rtt, r);
		d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	c->backoff = 0;
}

static int
window_blocked(const struct udp *c)
{
	return (c->snd_nxt < c->sr.hi && c->snd_nxt >= c->snd_edge);
}

void
udp_rearm(struct udp *c)
{
	if (c->n_out > 0 || window_blocked(c))
		c->rto_at = c->rto_start + udp_rto(c);
	else
		c->rto_at = 0;
	c->tlp_at = 0;
	if (c->n_out > 0 && c->have_rtt && !c->tlp_done) {
		uint64_t t = c->last_elic + umax(2 * c->srtt, 2 * GRAN) +
		    c->p.ack_delay_us;

		if (t < c->rto_at)
			c->tlp_at = t;
	}
}

/* --- sending: segments and packets ---------------------------------------- */

static struct seg *
seg_of(struct udp *c, uint32_t low)
{
	uint64_t id = c->seg_head + (uint32_t)(low - (uint32_t)c->seg_head);

	if (id >= c->seg_next)
		return (NULL);
	return (&c->segs[id & c->pmask]);
}

static void
seg_ack(struct udp *c, struct seg *s)
{
	if (s->state == S_LOST)
		c->n_lost--;
	s->state = S_ACKED;
}

/*
 * Segments acknowledged at the head are done: move snd_una, count the
 * messages wholly acknowledged and free their bytes.
 */
static void
seg_advance(struct udp *c)
{
	while (c->seg_head < c->seg_next &&
	    c->segs[c->seg_head & c->pmask].state == S_ACKED)
		c->seg_head++;
	c->snd_una = c->seg_head < c->seg_next ?
	    c->segs[c->seg_head & c->pmask].off :
	    c->snd_nxt;
	while (c->walk < c->snd_una) {
		size_t n;
		int k = udp_ring_vget(&c->sr, c->walk, c->sr.hi - c->walk, &n);

		if (k <= 0 || c->walk + k + n > c->snd_una)
			break;
		c->walk += k + n;
		c->msgs_acked++;
	}
	c->sr.lo = c->walk;
	if (c->lost_hint < c->seg_head)
		c->lost_hint = c->seg_head;
}

static void
lose(struct udp *c, struct pkt *k, uint64_t now, int cc)
{
	k->flags = (k->flags & ~P_OUT) | P_LOST;
	c->n_out--;
	c->inflight -= k->size;
	c->st.lost++;
	for (unsigned i = 0; i < k->nseg; i++) {
		struct seg *s = seg_of(c, k->seg[i]);

		if (s != NULL && s->state == S_FLIGHT && s->pn == k->pn) {
			uint64_t id = c->seg_head +
			    (uint32_t)(k->seg[i] - (uint32_t)c->seg_head);

			s->state = S_LOST;
			c->n_lost++;
			if (id < c->lost_hint)
				c->lost_hint = id;
		}
	}
	if (k->flags & P_CLOSE)
		c->close_sent = 0;
	/* NewReno: halve once per round trip of losses. */
	if (cc && k->sent > c->recovery_start) {
		c->ssthresh = umax(c->cwnd / 2, 2 * c->mtu);
		c->cwnd = c->ssthresh;
		c->recovery_start = now;
	}
}

static void
advance_oldest(struct udp *c)
{
	if (c->n_out == 0) {
		c->pn_oldest = c->pn_next;
		return;
	}
	while (c->pn_oldest < c->pn_next) {
		struct pkt *k = &c->pkts[c->pn_oldest & c->pmask];

		if (k->pn == c->pn_oldest && (k->flags & P_OUT))
			break;
		c->pn_oldest++;
	}
}

/* Packets sent before the largest acknowledged, long enough: lost. */
static void
detect_lost(struct udp *c, uint64_t now)
{
	uint64_t r = umax(c->srtt, c->latest_rtt),
		 delay = umax(r + r / 8, GRAN);

	c->loss_at = 0;
	if (!c->any_acked)
		return;
	for (uint64_t pn = c->pn_oldest; pn < c->largest_acked; pn++) {
		struct pkt *k = &c->pkts[pn & c->pmask];

		if (k->pn != pn || !(k->flags & P_OUT))
			continue;
		if (c->largest_acked - pn >= FASTLOSS || k->sent + delay <= now)
			lose(c, k, now, 1);
		else if (c->loss_at == 0 || k->sent + delay < c->loss_at)
			c->loss_at = k->sent + delay;
	}
	advance_oldest(c);
}

static void
on_rto(struct udp *c, uint64_t now)
{
	if (c->n_out > 0) {
		uint64_t flight = c->inflight;

		c->st.timeouts++;
		for (uint64_t pn = c->pn_oldest; pn < c->pn_next; pn++) {
			struct pkt *k = &c->pkts[pn & c->pmask];

			if (k->pn == pn && (k->flags & P_OUT))
				lose(c, k, now, 0);
		}
		advance_oldest(c);
		c->ssthresh = umax(flight / 2, 2 * c->mtu);
		c->cwnd = c->mtu;
		c->recovery_start = now;
		c->loss_at = 0;
	} else {
		c->ping_due = 1; /* the window is shut: probe it */
	}
	if (udp_rto(c) < c->p.rto_max_us)
		c->backoff++;
	c->rto_start = now;
	c->tlp_done = 0;
	udp_rearm(c);
}

/* One packet acknowledged (or acknowledged again). */
static void
ack_pkt(struct udp *c, uint64_t pn, uint64_t now, int limited)
{
	struct pkt *k = &c->pkts[pn & c->pmask];

	if (k->pn != pn || !(k->flags & (P_OUT | P_LOST)))
		return;
	if (k->flags & P_OUT) {
		c->n_out--;
		c->inflight -= k->size;
		if (k->sent > c->recovery_start && limited) {
			if (c->cwnd < c->ssthresh)
				c->cwnd += k->size;
			else
				c->cwnd += umax(1,
				    (uint64_t)c->mtu * k->size / c->cwnd);
			c->cwnd = umin(c->cwnd, (uint64_t)c->p.flight * c->mtu);
		}
		c->rto_start = now;
		c->tlp_done = 0;
		if ((k->flags & P_CLOSE) && c->state == UDP_CLOSING)
			udp_die(c, UDP_WHY_CLOSED, UDP_R_NONE);
	}
	k->flags = 0;
	for (unsigned i = 0; i < k->nseg; i++) {
		struct seg *s = seg_of(c, k->seg[i]);

		if (s != NULL && s->state != S_ACKED)
			seg_ack(c, s);
	}
}

void
udp_on_ack(struct udp *c, const unsigned char *f, uint64_t now)
{
	uint64_t largest = c->pn_next - 1 -
	    (uint32_t)((uint32_t)(c->pn_next - 1) - get32(f + 1));
	uint64_t delay = (uint64_t)get16(f + 5) * 8, bits = get64(f + 7);
	uint64_t cum = widen(c->snd_una, get32(f + 15));
	uint64_t edge = widen(c->snd_una, get32(f + 19));
	struct pkt *k = &c->pkts[largest & c->pmask];
	int limited = 2 * c->inflight >= c->cwnd;

	if (edge > c->snd_edge && edge - c->snd_una <= 1u << 31)
		c->snd_edge = edge;
	/* An RTT sample from the largest, when it is new: every packet has
	 * its own number, so a resent segment is never mistaken (Karn). */
	if (k->pn == largest && (k->flags & P_OUT) &&
	    (!c->any_acked || largest > c->largest_acked)) {
		uint64_t r = since(now, k->sent);

		if (c->have_rtt && r >= c->min_rtt + delay)
			r -= delay;
		udp_rtt_sample(c, r);
	}
	ack_pkt(c, largest, now, limited);
	while (bits != 0) {
		int i = __builtin_ctzll(bits);

		bits &= bits - 1;
		if (largest - 1 - i >= c->pn_first &&
		    largest >= (uint64_t)i + 1)
			ack_pkt(c, largest - 1 - i, now, limited);
	}
	if (!c->any_acked || largest > c->largest_acked) {
		c->largest_acked = largest;
		c->any_acked = 1;
	}
	/* Cumulative: the stream up to cum is in. */
	while (cum > c->snd_una && c->seg_head < c->seg_next) {
		struct seg *s = &c->segs[c->seg_head & c->pmask];

		if (s->off + s->len > cum)
			break;
		if (s->state != S_ACKED)
			seg_ack(c, s);
		seg_advance(c);
	}
	seg_advance(c);
	if (c->state != UDP_DEAD)
		detect_lost(c, now);
}

/* --- udp_output ----------------------------------------------------------- */

static size_t
put_connect(struct udp *c, unsigned char *b, uint64_t now)
{
	memset(b, 0, UDP_CONNECT_SIZE);
	b[0] = UDP_VERSION << 4 | T_CONNECT;
	memcpy(b + C_ID, c->ad + HDR, PBLOCK);
	memcpy(b + C_COOKIE, c->cookie, COOKIELEN);
	put16(b + C_HLEN, (uint16_t)c->hellolen);
	memcpy(b + C_HELLO, c->hello, c->hellolen);
	c->hs_sent = now;
	c->hs_count++;
	c->hs_since++;
	c->hs_next = now +
	    umin(c->p.rto_init_us << umin(c->hs_count - 1, 16),
		c->p.rto_max_us);
	return (UDP_CONNECT_SIZE);
}

static size_t
put_accept(struct udp *c, unsigned char *b, uint64_t now)
{
	b[0] = UDP_VERSION << 4 | T_ACCEPT;
	put32(b + 1, c->peer_id);
	memcpy(b + C_ID, c->ad + HDR + PBLOCK, PBLOCK);
	put16(b + A_HLEN, (uint16_t)c->hellolen);
	memcpy(b + A_HELLO, c->hello, c->hellolen);
	c->accept_due = 0;
	if (c->accepts++ == 0)
		c->hs_sent = now;
	return (A_HELLO + c->hellolen);
}

static unsigned char *
put_ack(struct udp *c, unsigned char *p, uint64_t now)
{
	uint64_t d = since(now, c->rx_largest_at) / 8;

	p[0] = F_ACK;
	put32(p + 1, (uint32_t)c->rx_largest);
	put16(p + 5, (uint16_t)umin(d, 65535));
	put64(p + 7, c->ack_bits);
	put32(p + 15, (uint32_t)c->rcv_nxt);
	put32(p + 19, (uint32_t)c->rcv_edge);
	c->ack_pending = 0;
	c->ack_now = 0;
	c->ack_deadline = 0;
	c->rcv_adv = c->rcv_edge;
	return (p + ACKLEN);
}

static unsigned char *
put_stream(struct udp *c, unsigned char *p, struct seg *s)
{
	p[0] = F_STREAM;
	put32(p + 1, (uint32_t)s->off);
	put16(p + 5, (uint16_t)s->len);
	udp_ring_out(&c->sr, s->off, p + STREAMHDR, s->len);
	return (p + STREAMHDR + s->len);
}

/* Unreliable messages that fit in [p, e): whole, or fragments. */
static unsigned char *
put_unreliable(struct udp *c, unsigned char *p, unsigned char *e, int *elic)
{
	while (c->uq.lo < c->uq.hi) {
		size_t n = 0, room = e - p;
		int k = udp_ring_vget(&c->uq, c->uq.lo, c->uq.hi - c->uq.lo,
		    &n);

		if (n <= c->umsgmax) {
			if (UMSGHDR + n > room)
				break;
			p[0] = F_UMSG;
			put32(p + 1, (uint32_t)c->usnd_seq);
			put16(p + 5, (uint16_t)n);
			udp_ring_out(&c->uq, c->uq.lo + k, p + UMSGHDR, n);
			p += UMSGHDR + n;
		} else {
			size_t fl = umin(c->ufragmax, n - c->ufrag_at);

			if (UFRAGHDR + fl > room)
				break;
			p[0] = F_UFRAG;
			put32(p + 1, (uint32_t)c->usnd_seq);
			put32(p + 5, (uint32_t)n);
			put16(p + 9, (uint16_t)c->ufragmax);
			put32(p + 11, (uint32_t)(c->ufrag_at / c->ufragmax));
			udp_ring_out(&c->uq, c->uq.lo + k + c->ufrag_at,
			    p + UFRAGHDR, fl);
			p += UFRAGHDR + fl;
			c->ufrag_at += fl;
			*elic = 1;
			if (c->ufrag_at < n)
				break; /* one fragment a packet */
		}
		*elic = 1;
		c->uq.lo += k + n;
		c->ufrag_at = 0;
		c->usnd_seq++;
		c->st.umsgs_out++;
	}
	udp_ring_trim(&c->uq, c->p.usndbuf);
	return (p);
}

static int
close_ready(const struct udp *c)
{
	return (c->state == UDP_CLOSING && !c->close_sent &&
	    c->snd_una == c->sr.hi && c->uq.lo == c->uq.hi);
}

static int
new_data(const struct udp *c)
{
	return (c->snd_nxt < c->sr.hi && c->snd_nxt < c->snd_edge &&
	    c->seg_next - c->seg_head <= c->pmask);
}

/* Seal (or not) and count a DATA datagram whose frames end at p. */
static size_t
finish(struct udp *c, unsigned char *b, unsigned char *p)
{
	size_t n = p - (b + HDR);

	b[0] = UDP_VERSION << 4 | T_DATA;
	put32(b + 1, c->peer_id);
	put32(b + 5, (uint32_t)c->pn_next);
	if (c->seal != NULL) {
		memcpy(c->ad, b, HDR);
		seal_dg_seal(c->seal, c->pn_next, c->ad, HSAD, b + HDR, n);
		n += TAG;
	}
	c->pn_next++;
	return (HDR + n);
}

static size_t
data_out(struct udp *c, unsigned char *b, uint64_t now)
{
	unsigned char *p = b + HDR, *e = b + c->mtu - (c->seal ? TAG : 0);
	int want_ack = c->rx_any &&
	    (c->ack_now || c->rcv_edge - c->rcv_adv >= c->rwin / 4 ||
		(c->ack_pending &&
		    (c->ack_pending >= 2 || now >= c->ack_deadline)));
	int can = c->inflight < c->cwnd || c->ping_due, elic = 0;
	struct pkt *k = &c->pkts[c->pn_next & c->pmask], nk;
	size_t len;

	if (!want_ack && !c->ping_due &&
	    !(can &&
		(c->n_lost || c->uq.lo < c->uq.hi || new_data(c) ||
		    close_ready(c))))
		return (0);
	memset(&nk, 0, sizeof(nk));
	if (can && (k->flags & P_OUT)) /* older than the flight window */
		lose(c, k, now, 1);
	/* A keep-alive or a probe carries our window too: a window update
	 * that was lost is given again within a keep-alive. */
	if (c->rx_any && (want_ack || c->ack_pending || c->ping_due))
		p = put_ack(c, p, now);
	if (can) {
		/* Lost segments first, oldest first, each resent alone. */
		while (c->n_lost && nk.nseg < PKT_SEGS) {
			struct seg *s;

			while (c->lost_hint < c->seg_next &&
			    c->segs[c->lost_hint & c->pmask].state != S_LOST)
				c->lost_hint++;
			if (c->lost_hint >= c->seg_next)
				break;
			s = &c->segs[c->lost_hint & c->pmask];
			if ((size_t)(e - p) < STREAMHDR + s->len)
				break;
			p = put_stream(c, p, s);
			s->state = S_FLIGHT;
			s->pn = c->pn_next;
			c->n_lost--;
			nk.seg[nk.nseg++] = (uint32_t)c->lost_hint;
			c->st.resends++;
			c->st.bytes_resent += s->len;
		}
		p = put_unreliable(c, p, e, &elic);
		if (nk.nseg < PKT_SEGS && new_data(c) &&
		    (size_t)(e - p) > STREAMHDR) {
			size_t room = e - p - STREAMHDR;
			uint64_t n = umin(umin(c->sr.hi, c->snd_edge) -
				c->snd_nxt,
			    umin(room, c->segmax));

			/* Not a sliver when a fuller segment can follow. */
			if (n == room && n < c->segmax / 4 &&
			    c->sr.hi - c->snd_nxt > n)
				n = 0;
			if (n > 0) {
				struct seg
				    *s = &c->segs[c->seg_next & c->pmask];

				s->off = c->snd_nxt;
				s->len = (uint32_t)n;
				s->pn = c->pn_next;
				s->state = S_FLIGHT;
				nk.seg[nk.nseg++] = (uint32_t)c->seg_next++;
				p = put_stream(c, p, s);
				c->snd_nxt += n;
				c->snd_max = umax(c->snd_max, c->snd_nxt);
			}
		}
		if (close_ready(c) && e - p >= 2) {
			p[0] = F_CLOSE;
			p[1] = UDP_R_NONE;
			p += 2;
			c->close_sent = 1;
			if (c->close_at == 0)
				c->close_at = now + 3 * udp_rto(c);
			nk.flags = P_CLOSE;
			elic = 1;
		}
	}
	if (nk.nseg > 0)
		elic = 1;
	if (c->ping_due && !elic && e > p) {
		*p++ = F_PING;
		elic = 1;
		if (c->ka_due)
			c->st.keepalives_out++;
	}
	if (p == b + HDR)
		return (0);
	if (elic) {
		c->ping_due = c->ka_due = 0;
		if (c->n_out == 0)
			c->rto_start = now;
		nk.pn = c->pn_next;
		nk.sent = now;
		nk.flags |= P_OUT;
		c->last_elic = now;
	}
	len = finish(c, b, p);
	if (elic) {
		nk.size = (uint32_t)len;
		*k = nk;
		c->n_out++;
		c->inflight += len;
		udp_rearm(c);
	} else {
		advance_oldest(c);
	}
	return (len);
}

/* The last datagram of a dead connection: ABORT, or CLOSE and an ACK. */
static size_t
final_out(struct udp *c, unsigned char *b, uint64_t now)
{
	unsigned char *p = b + HDR;

	c->final_due = 0;
	if (c->final_abort) {
		b[0] = UDP_VERSION << 4 | T_ABORT;
		put32(b + 1, c->peer_id);
		b[5] = (unsigned char)c->reason;
		return (SHORTLEN);
	}
	if (c->peer_id == 0 || c->mtu == 0)
		return (0);
	if (c->rx_any)
		p = put_ack(c, p, now);
	if (c->final_close) {
		p[0] = F_CLOSE;
		p[1] = (unsigned char)c->reason;
		p += 2;
	}
	if (p == b + HDR)
		return (0);
	return (finish(c, b, p));
}

/* Timers due by now. */
static void
timers(struct udp *c, uint64_t now)
{
	if (since(now, c->last_recv) >= c->p.idle_us) {
		udp_die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
		return;
	}
	if (c->state == UDP_CLOSING && c->close_at && now >= c->close_at &&
	    c->snd_una == c->sr.hi) {
		udp_die(c, UDP_WHY_CLOSED, UDP_R_NONE);
		return;
	}
	if (c->loss_at && now >= c->loss_at)
		detect_lost(c, now);
	if (c->rto_at && now >= c->rto_at)
		on_rto(c, now);
	if (c->tlp_at && now >= c->tlp_at) {
		c->ping_due = 1;
		c->tlp_at = 0;
		c->tlp_done = 1;
	}
	if (since(now, c->last_recv) >= c->p.keepalive_us &&
	    since(now, c->last_ping) >= c->p.keepalive_us) {
		c->ping_due = c->ka_due = 1;
		c->last_ping = now;
	}
}

size_t
udp_output(struct udp *c, void *buf, size_t cap, uint64_t now)
{
	unsigned char *b = buf;
	size_t n = 0;

	if (cap < c->p.mtu)
		return (0);
	switch (c->state) {
	case UDP_CONNECTING:
		if (since(now, c->last_recv) >= c->p.idle_us)
			udp_die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
		else if (now >= c->hs_next)
			n = put_connect(c, b, now);
		break;
	case UDP_ACCEPTED:
		if (since(now, c->last_recv) >= c->p.idle_us)
			udp_die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
		break;
	case UDP_OPEN:
	case UDP_CLOSING:
		timers(c, now);
		if (c->state == UDP_DEAD)
			break;
		if (c->accept_due)
			n = put_accept(c, b, now);
		else
			n = data_out(c, b, now);
		break;
	case UDP_DEAD:
		break;
	}
	if (n == 0 && c->state == UDP_DEAD && c->final_due)
		n = final_out(c, b, now);
	if (n > 0) {
		c->st.dgrams_out++;
		c->st.bytes_out += n;
	}
	return (n);
}

uint64_t
udp_deadline(const struct udp *c)
{
	uint64_t t = UDP_NEVER;

	switch (c->state) {
	case UDP_CONNECTING:
		return (umin(c->hs_next, c->last_recv + c->p.idle_us));
	case UDP_ACCEPTED:
		return (c->last_recv + c->p.idle_us);
	case UDP_DEAD:
		return (c->final_due ? 0 : UDP_NEVER);
	default:
		break;
	}
	if (c->accept_due || (c->ack_now && c->rx_any) || c->ping_due)
		return (0);
	t = umin(t, c->last_recv + c->p.idle_us);
	t = umin(t, umax(c->last_recv, c->last_ping) + c->p.keepalive_us);
	if (c->ack_pending)
		t = umin(t, c->ack_deadline);
	if (c->rto_at)
		t = umin(t, c->rto_at);
	if (c->tlp_at)
		t = umin(t, c->tlp_at);
	if (c->loss_at)
		t = umin(t, c->loss_at);
	if (c->close_at)
		t = umin(t, c->close_at);
	return (t);
}

/* --- the program's side --------------------------------------------------- */

int
udp_send(struct udp *c, const void *m, size_t len, int reliable)
{
	if (c->state != UDP_OPEN) {
		errno = c->state == UDP_CONNECTING || c->state == UDP_ACCEPTED ?
		    ENOTCONN :
		    EPIPE;
		return (-1);
	}
	if (len > c->peer_maxmsg) {
		errno = EMSGSIZE;
		return (-1);
	}
	if (reliable) {
		if (udp_ring_push(&c->sr, m, len, c->p.sndbuf) == -1)
			return (-1);
		c->st.msgs_out++;
		if (window_blocked(c) && c->rto_at == 0)
			udp_rearm(c); /* shut already: probe it on the timer */
	} else {
		if (udp_ring_push(&c->uq, m, len, c->p.usndbuf) == -1)
			return (-1);
	}
	return (0);
}

void
udp_pending(const struct udp *c, size_t *reliable, size_t *unreliable)
{
	*reliable = c->sr.hi - c->snd_una;
	*unreliable = c->uq.hi - c->uq.lo;
}
