/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: engine's receiving half (udp_int.h): udp_input takes every
 * datagram of a connection (the handshake's answers, ABORT, DATA); a DATA
 * one is opened (sealed), checked against the replay window, its frames
 * checked whole before any is acted on, then the stream reassembled past
 * its gaps, unreliable messages and their fragments kept, and what to
 * acknowledge noted (udp_sender.c writes the ACK; an ACK received goes to
 * it).  udp_recv hands the program what came, and opens the window.
 */
#include "udp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

/* --- receiving: the stream and unreliable messages ------------------------ */

/* Stream bytes [off, off + n): stored, joined to what is there. */
static void
stream_in(struct udp *c, uint64_t off, const unsigned char *p, size_t n)
{
	uint64_t end = off + n;
	unsigned i;

	if (end <= c->rcv_nxt || n == 0)
		return;
	if (off < c->rcv_nxt) {
		p += c->rcv_nxt - off;
		off = c->rcv_nxt;
	}
	if (end > c->rcv_edge) {
		c->st.drop_window++;
		return;
	}
	if (udp_ring_reserve(&c->rr, c->rcv_edge - c->rr.lo) == -1)
		return; /* as if lost: it will come again */
	if (off == c->rcv_nxt) {
		udp_ring_in(&c->rr, off, p, end - off);
		c->rcv_nxt = end;
		/* Islands reached join the stream. */
		for (i = 0; i < c->nisl && c->isl[i].lo <= c->rcv_nxt; i++)
			c->rcv_nxt = umax(c->rcv_nxt, c->isl[i].hi);
		if (i > 0) {
			memmove(c->isl, c->isl + i,
			    (c->nisl - i) * sizeof(c->isl[0]));
			c->nisl -= i;
		}
	} else {
		/* An island: find where it goes, merge with neighbours. */
		unsigned j;

		for (i = 0; i < c->nisl && c->isl[i].hi < off; i++)
			;
		for (j = i; j < c->nisl && c->isl[j].lo <= end; j++)
			;
		if (i == j) {
			if (c->nisl == UDP_GAPS_MAX) {
				c->st.drop_window++;
				return;
			}
			memmove(c->isl + i + 1, c->isl + i,
			    (c->nisl - i) * sizeof(c->isl[0]));
			c->isl[i].lo = off;
			c->isl[i].hi = end;
			c->nisl++;
		} else {
			c->isl[i].lo = umin(c->isl[i].lo, off);
			c->isl[i].hi = umax(c->isl[j - 1].hi, end);
			memmove(c->isl + i + 1, c->isl + j,
			    (c->nisl - j) * sizeof(c->isl[0]));
			c->nisl -= j - i - 1;
		}
		udp_ring_in(&c->rr, off, p, end - off);
	}
	c->rr.hi = umax(c->rr.hi, end);
}

static void
ufrag_reset(struct udp *c)
{
	c->factive = 0;
	if (c->fbcap > 1024 * 1024) {
		free(c->fb);
		c->fb = NULL;
		c->fbcap = 0;
	}
}

/* A whole unreliable message, in order: keep it for udp_recv. */
static void
umsg_deliver(struct udp *c, uint64_t seq, const void *p, size_t n)
{
	c->urcv_last = seq;
	if (udp_ring_push(&c->urq, p, n, c->p.urcvbuf) == -1)
		c->st.udrop_full++;
}

static void
umsg_in(struct udp *c, uint32_t low, const unsigned char *p, size_t n)
{
	uint64_t seq = widen(c->urcv_last, low);

	if (seq <= c->urcv_last) {
		c->st.udrop_late++;
		return;
	}
	if (c->factive && c->fseq < seq) {
		c->st.udrop_frag++;
		ufrag_reset(c);
	}
	umsg_deliver(c, seq, p, n);
}

static void
ufrag_in(struct udp *c, const unsigned char *f, const unsigned char *p,
    size_t n)
{
	uint64_t seq = widen(c->urcv_last, get32(f + 1));
	uint32_t total = get32(f + 5), size = get16(f + 9), idx = get32(f + 11);

	if (seq <= c->urcv_last || (c->factive && seq < c->fseq)) {
		c->st.udrop_late++;
		return;
	}
	if (c->factive && seq > c->fseq) {
		c->st.udrop_frag++;
		ufrag_reset(c);
	}
	if (!c->factive) {
		size_t nf = (total + size - 1) / size, w = (nf + 63) / 64;

		if (total > c->fbcap) {
			free(c->fb);
			c->fbcap = 0;
			if ((c->fb = malloc(total)) == NULL)
				return;
			c->fbcap = total;
		}
		if (w > c->fbitscap) {
			free(c->fbits);
			c->fbitscap = 0;
			if ((c->fbits = malloc(w * 8)) == NULL)
				return;
			c->fbitscap = w;
		}
		memset(c->fbits, 0, w * 8);
		c->fseq = seq;
		c->ftotal = total;
		c->fsize = size;
		c->fcount = (uint32_t)nf;
		c->fgot = 0;
		c->factive = 1;
	} else if (total != c->ftotal || size != c->fsize) {
		c->st.drop_bad++;
		return;
	}
	if (c->fbits[idx / 64] & 1ULL << (idx % 64)) {
		c->st.udrop_late++;
		return;
	}
	c->fbits[idx / 64] |= 1ULL << (idx % 64);
	memcpy(c->fb + (size_t)idx * size, p, n);
	if (++c->fgot == c->fcount) {
		umsg_deliver(c, seq, c->fb, total);
		ufrag_reset(c);
	}
}

/*
 * The frames of a DATA datagram: checked (apply 0) or acted on (apply 1).
 * 0, or -1 when one is malformed.  *elic: one asks for an acknowledgement.
 */
static int
frames(struct udp *c, const unsigned char *p, size_t n, int apply, uint64_t now,
    int *elic)
{
	const unsigned char *e = p + n;
	size_t len;

	while (p < e && c->state != UDP_DEAD) {
		size_t left = e - p;

		switch (*p) {
		case F_PAD:
			return (0);
		case F_ACK:
			if (left < ACKLEN)
				return (-1);
			if (!apply) {
				uint32_t back = (uint32_t)(c->pn_next - 1) -
				    get32(p + 1);
				uint64_t cum = widen(c->snd_una, get32(p + 15));

				/* Only packets we sent, stream we sent. */
				if (c->pn_next == c->pn_first ||
				    back > c->pn_next - 1 - c->pn_first ||
				    cum > c->snd_max ||
				    widen(cum, get32(p + 19)) < cum)
					return (-1);
			} else {
				udp_on_ack(c, p, now);
			}
			p += ACKLEN;
			break;
		case F_STREAM:
			if (left < STREAMHDR ||
			    (len = get16(p + 5)) > left - STREAMHDR)
				return (-1);
			if (apply)
				stream_in(c, widen(c->rcv_nxt, get32(p + 1)),
				    p + STREAMHDR, len);
			*elic = 1;
			p += STREAMHDR + len;
			break;
		case F_UMSG:
			if (left < UMSGHDR ||
			    (len = get16(p + 5)) > left - UMSGHDR ||
			    len > c->p.maxmsg)
				return (-1);
			if (apply)
				umsg_in(c, get32(p + 1), p + UMSGHDR, len);
			*elic = 1;
			p += UMSGHDR + len;
			break;
		case F_UFRAG: {
			uint32_t total, size, idx;

			if (left < UFRAGHDR)
				return (-1);
			total = get32(p + 5);
			size = get16(p + 9);
			idx = get32(p + 11);
			if (total == 0 || total > c->p.maxmsg ||
			    size < FRAG_MIN || total <= size ||
			    idx >= (total + size - 1) / size)
				return (-1);
			len = umin(size, total - (uint64_t)idx * size);
			if (len > left - UFRAGHDR)
				return (-1);
			if (apply)
				ufrag_in(c, p, p + UFRAGHDR, len);
			*elic = 1;
			p += UFRAGHDR + len;
			break;
		}
		case F_PING:
			if (apply)
				c->st.keepalives_in++;
			*elic = 1;
			p++;
			break;
		case F_CLOSE:
			if (left < 2)
				return (-1);
			if (apply) {
				c->final_due = 1; /* acknowledge it */
				udp_die(c, UDP_WHY_PEER_CLOSED,
				    (enum udp_reason)p[1]);
			}
			*elic = 1;
			p += 2;
			break;
		default:
			return (-1);
		}
	}
	return (0);
}

/* Packet pn (authentic) is in: the replay window and acknowledgements. */
static void
mark_received(struct udp *c, uint64_t pn, uint64_t now, int elic)
{
	int gap = 0;

	if (!c->rx_any || pn > c->rx_largest) {
		if (c->rx_any) {
			uint64_t d = pn - c->rx_largest;

			gap = d > 1;
			if (d < 64)
				c->ack_bits = c->ack_bits << d |
				    1ULL << (d - 1);
			else
				c->ack_bits = d == 64 ? 1ULL << 63 : 0;
			if (d >= REPLAY_BITS)
				memset(c->replay, 0, sizeof(c->replay));
			else
				for (uint64_t q = c->rx_largest + 1; q < pn;
				     q++)
					c->replay[(q % REPLAY_BITS) / 64] &= ~(
					    1ULL << (q % 64));
		} else {
			gap = pn != c->rx_floor;
		}
		c->rx_largest = pn;
		c->rx_largest_at = now;
		c->rx_any = 1;
	} else {
		uint64_t k = c->rx_largest - pn;

		gap = 1;
		if (k <= 64)
			c->ack_bits |= 1ULL << (k - 1);
	}
	c->replay[(pn % REPLAY_BITS) / 64] |= 1ULL << (pn % 64);
	if (elic) {
		if (c->ack_pending++ == 0)
			c->ack_deadline = now + c->p.ack_delay_us;
		if (gap)
			c->ack_now = 1;
	}
}

static int
replayed(const struct udp *c, uint64_t pn)
{
	if (pn < c->rx_floor)
		return (1);
	if (!c->rx_any || pn > c->rx_largest)
		return (0);
	if (c->rx_largest - pn >= REPLAY_BITS)
		return (1);
	return ((c->replay[(pn % REPLAY_BITS) / 64] >> (pn % 64)) & 1);
}

static void
data_in(struct udp *c, unsigned char *b, size_t len, uint64_t now)
{
	uint64_t pn;
	size_t n;
	int elic = 0;

	if (c->state != UDP_OPEN && c->state != UDP_CLOSING) {
		c->st.drop_bad++;
		return;
	}
	if (len < HDR + (c->seal ? TAG : 0)) {
		if (c->seal)
			c->st.drop_auth++;
		else
			c->st.drop_bad++;
		return;
	}
	n = len - HDR;
	pn = widen(c->rx_any ? c->rx_largest + 1 : c->rx_floor, get32(b + 5));
	if (replayed(c, pn)) {
		c->st.drop_replay++;
		return;
	}
	if (c->rx_any && pn > c->rx_largest + PN_JUMP) {
		c->st.drop_bad++;
		return;
	}
	if (c->seal) {
		ssize_t r;

		memcpy(c->ad, b, HDR);
		r = seal_dg_open(c->seal, pn, c->ad, HSAD, b + HDR, n);

		if (r < 0) {
			c->st.drop_auth++;
			return;
		}
		n = (size_t)r;
	}
	if (frames(c, b + HDR, n, 0, now, &elic) == -1) {
		c->st.drop_bad++;
		return;
	}
	mark_received(c, pn, now, elic);
	c->last_recv = now;
	if (!c->confirmed) {
		c->confirmed = 1;
		c->accept_due = 0;
		/* A round trip from our ACCEPT, when it went once. */
		if (!c->client && c->accepts == 1)
			udp_rtt_sample(c, since(now, c->hs_sent));
	}
	(void)frames(c, b + HDR, n, 1, now, &elic);
	if (c->state != UDP_DEAD)
		udp_rearm(c);
}

/* --- udp_input ------------------------------------------------------------ */

static void
accept_in(struct udp *c, const unsigned char *b, size_t len, uint64_t now)
{
	size_t hl;
	uint32_t id = get32(b + C_ID), maxdg = get16(b + C_MAXDG);

	if (len < A_HELLO || (hl = get16(b + A_HLEN)) > UDP_HELLO_MAX ||
	    len < A_HELLO + hl || id == 0 || maxdg < UDP_MTU_MIN ||
	    get32(b + C_MAXMSG) == 0) {
		c->st.drop_bad++;
		return;
	}
	udp_set_peer(c, id, get32(b + C_MAXMSG), maxdg, get32(b + C_PN),
	    get32(b + C_OFF), get32(b + C_WIN));
	memcpy(c->ad + HDR + PBLOCK, b + C_ID, PBLOCK);
	memcpy(c->peer_hello, b + A_HELLO, hl);
	c->peer_hellolen = hl;
	if (c->hs_since == 1)
		udp_rtt_sample(c, since(now, c->hs_sent));
	c->state = UDP_ACCEPTED;
}

int
udp_input(struct udp *c, void *dg, size_t len, uint64_t now)
{
	unsigned char *b = dg;
	int type;

	c->st.dgrams_in++;
	c->st.bytes_in += len;
	if (len < HDR - 4 || b[0] >> 4 != UDP_VERSION) {
		c->st.drop_bad++;
		return (0);
	}
	type = b[0] & 15;
	if (type == T_CONNECT) {
		/* A client asking again: our ACCEPT was lost. */
		if (c->client || len != UDP_CONNECT_SIZE || get32(b + 1) != 0) {
			c->st.drop_bad++;
			return (0);
		}
		if (get32(b + C_ID) != c->peer_id)
			return (1);
		if (!c->confirmed && c->state == UDP_OPEN)
			c->accept_due = 1;
		return (0);
	}
	if (get32(b + 1) != c->id) {
		c->st.drop_id++;
		return (0);
	}
	switch (type) {
	case T_COOKIE:
		if (!c->client || c->state != UDP_CONNECTING ||
		    len != COOKIE_DG) {
			c->st.drop_bad++;
			break;
		}
		memcpy(c->cookie, b + 5, COOKIELEN);
		if (c->hs_since == 1)
			udp_rtt_sample(c, since(now, c->hs_sent));
		c->hs_next = now; /* ask again at once, with it */
		c->hs_since = 0;
		c->last_recv = now;
		break;
	case T_ACCEPT:
		if (!c->client || c->state != UDP_CONNECTING) {
			c->st.drop_bad++;
			break;
		}
		c->last_recv = now;
		accept_in(c, b, len, now);
		break;
	case T_REJECT:
		if (!c->client || c->state != UDP_CONNECTING ||
		    len != SHORTLEN) {
			c->st.drop_bad++;
			break;
		}
		udp_die(c, UDP_WHY_REJECTED, (enum udp_reason)b[5]);
		break;
	case T_ABORT:
		/* In the clear: only from a client that never sent anything
		 * authentic. */
		if (c->client || c->confirmed || len != SHORTLEN ||
		    c->state == UDP_DEAD) {
			c->st.drop_bad++;
			break;
		}
		udp_die(c, UDP_WHY_PEER_CLOSED, (enum udp_reason)b[5]);
		break;
	case T_DATA:
		data_in(c, b, len, now);
		break;
	default:
		c->st.drop_bad++;
		break;
	}
	return (0);
}

/* --- the program's side --------------------------------------------------- */

/* A view of [off, off + n): in place when it does not wrap. */
static const unsigned char *
ring_view(struct udp *c, const struct ring *r, uint64_t off, size_t n)
{
	size_t i = off & (r->cap - 1);

	if (n <= r->cap - i)
		return (r->b + i);
	if (n > c->scratchcap) {
		unsigned char *s = realloc(c->scratch, n);

		if (s == NULL)
			return (NULL);
		c->scratch = s;
		c->scratchcap = n;
	}
	udp_ring_out(r, off, c->scratch, n);
	return (c->scratch);
}

/* Taking bytes opens the window: say so when it has moved enough. */
static void
window_moved(struct udp *c)
{
	uint64_t edge = c->rr.lo + c->rwin;

	if (edge > c->rcv_edge)
		c->rcv_edge = edge;
	if (c->rcv_edge - c->rcv_adv >= c->rwin / 4)
		c->ack_now = 1;
}

ssize_t
udp_recv(struct udp *c, const void **m, int *reliable)
{
	uint64_t avail;
	size_t n = 0;
	int k;

	if (c->urel) {
		c->urq.lo += c->urel;
		c->urel = 0;
		udp_ring_trim(&c->urq, c->p.urcvbuf);
	}
	if (c->rel) {
		c->rr.lo += c->rel;
		c->rel = 0;
		window_moved(c);
	}
	if (c->urq.lo < c->urq.hi) {
		k = udp_ring_vget(&c->urq, c->urq.lo, c->urq.hi - c->urq.lo,
		    &n);
		if ((*m = ring_view(c, &c->urq, c->urq.lo + k, n)) == NULL) {
			errno = ENOMEM;
			return (-1);
		}
		c->urel = k + n;
		*reliable = 0;
		c->st.umsgs_in++;
		return ((ssize_t)n);
	}
	avail = c->rcv_nxt - c->rr.lo;
	if (c->rbroken || avail == 0) {
		if (c->rr.lo == c->rr.hi && c->nisl == 0 &&
		    c->rr.cap > 2 * c->p.rcvbuf &&
		    c->rcv_edge - c->rr.lo <= c->p.rcvbuf) {
			c->rwin = c->p.rcvbuf;
			udp_ring_trim(&c->rr, 0);
		}
		errno = c->state == UDP_DEAD || c->rbroken ? EPIPE : EAGAIN;
		return (-1);
	}
	k = udp_ring_vget(&c->rr, c->rr.lo, avail, &n);
	if (k < 0 || n > c->p.maxmsg) {
		c->rbroken = 1;
		if (c->state != UDP_DEAD) {
			c->final_due = c->final_close = 1;
			udp_die(c, UDP_WHY_PROTOCOL, UDP_R_PROTOCOL);
		}
		errno = EMSGSIZE;
		return (-1);
	}
	if (k == 0 || k + n > avail) {
		/* A message larger than the window: open it that far. */
		if (k > 0 && k + n > c->rwin) {
			if (udp_ring_reserve(&c->rr, k + n) == -1)
				return (-1);
			c->rwin = k + n;
			window_moved(c);
		}
		errno = c->state == UDP_DEAD ? EPIPE : EAGAIN;
		return (-1);
	}
	if ((*m = ring_view(c, &c->rr, c->rr.lo + k, n)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	c->rel = k + n;
	*reliable = 1;
	c->st.msgs_in++;
	/* Back to the usual window once a large message is taken (the
	 * edge given stays where it is). */
	c->rwin = c->p.rcvbuf;
	return ((ssize_t)n);
}

int
udp_readable(const struct udp *c)
{
	return (c->urq.hi - c->urq.lo > c->urel ||
	    c->rcv_nxt - c->rr.lo > c->rel || c->state == UDP_DEAD);
}
