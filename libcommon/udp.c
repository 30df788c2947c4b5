/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

/* Datagram types (the low 4 bits of byte 0). */
#define T_CONNECT 1
#define T_COOKIE 2
#define T_ACCEPT 3
#define T_REJECT 4
#define T_DATA 5
#define T_ABORT 6

/* Frames of a DATA datagram. */
#define F_PAD 0
#define F_ACK 1
#define F_STREAM 2
#define F_UMSG 3
#define F_UFRAG 4
#define F_PING 5
#define F_CLOSE 6

#define HDR 9 /* type, receiver id, packet number */
#define TAG SEAL_DG_ABYTES
#define ACKLEN 23
#define STREAMHDR 7
#define UMSGHDR 7
#define UFRAGHDR 15
#define COOKIELEN 20
#define SHORTLEN 6 /* REJECT and ABORT */
#define COOKIE_DG (5 + COOKIELEN)

/* CONNECT and ACCEPT: where each field is. */
#define C_ID 5
#define C_MAXMSG 9
#define C_MAXDG 13
#define C_PN 15
#define C_OFF 19
#define C_WIN 23
#define C_COOKIE 27
#define C_HLEN 47
#define C_HELLO 49
#define A_HLEN 27
#define A_HELLO 29
#define PBLOCK 22 /* bytes 5-26 of CONNECT and ACCEPT: the parameters */
#define HSAD (HDR + 2 * PBLOCK)
/* A packet number this far past the largest seen is not believed. */
#define PN_JUMP (1u << 20)

#define PKT_SEGS 4 /* stream segments one packet carries at most */
#define REPLAY_BITS 1024
#define GRAN 1000 /* timer granularity, us */
#define FRAG_MIN 512 /* the smallest fragment size taken */
#define FASTLOSS 3 /* packets acknowledged past one that is lost */

#define P_OUT 1 /* in flight: neither acknowledged nor lost */
#define P_LOST 2
#define P_CLOSE 4 /* carried our CLOSE */

#define S_FLIGHT 1
#define S_LOST 2
#define S_ACKED 3

/* Bytes at absolute offsets [lo, hi), in a ring of cap (a power of two). */
struct ring {
	unsigned char *b;
	size_t cap;
	uint64_t lo, hi;
};

/* One packet sent that asked for an acknowledgement. */
struct pkt {
	uint64_t pn, sent;
	uint32_t size;
	uint8_t flags, nseg;
	uint32_t seg[PKT_SEGS]; /* low 32 bits of segment ids */
};

/* A piece of the stream, resent with the same bounds until acknowledged. */
struct seg {
	uint64_t off, pn; /* pn: its latest transmission */
	uint32_t len;
	uint8_t state;
};

struct range {
	uint64_t lo, hi;
};

struct udp {
	struct udp_params p;
	int client;
	enum udp_state state;
	enum udp_why why;
	enum udp_reason reason;
	uint32_t id, peer_id;
	size_t peer_maxmsg, mtu, segmax, umsgmax, ufragmax;
	struct seal_dg *seal;
	int confirmed; /* an authenticated datagram came from the peer */
	/* A sealed datagram's additional data: its header, then both ends'
	 * parameters as CONNECT and ACCEPT carried them (the client's
	 * first), so that altering them on the way breaks every seal. */
	unsigned char ad[HSAD];

	/* Handshake. */
	unsigned char hello[UDP_HELLO_MAX], peer_hello[UDP_HELLO_MAX];
	size_t hellolen, peer_hellolen;
	unsigned char cookie[COOKIELEN];
	uint64_t hs_next, hs_sent;
	unsigned hs_count, hs_since; /* requests sent; since the last reply */
	uint32_t peer_first_pn, peer_first_off, peer_win;
	int accept_due;
	unsigned accepts;
	int final_due, final_abort, final_close; /* the last datagram */

	uint64_t last_recv, last_ping, last_elic;

	/* Packets received: the replay window and what to acknowledge. */
	uint64_t rx_largest, rx_largest_at, rx_floor;
	int rx_any;
	uint64_t replay[REPLAY_BITS / 64];
	uint64_t ack_bits;
	unsigned ack_pending;
	int ack_now;
	uint64_t ack_deadline;

	/* The reliable stream received: rr.lo taken by the program, rr.hi
	 * the highest byte stored; islands past rcv_nxt. */
	struct ring rr;
	uint64_t rcv_nxt, rcv_edge, rcv_adv;
	size_t rwin;
	struct range isl[UDP_GAPS_MAX];
	unsigned nisl;
	int rbroken;
	size_t rel, urel; /* bytes of the message last returned */
	unsigned char *scratch;
	size_t scratchcap;

	/* Unreliable received: queued messages; one being reassembled. */
	struct ring urq;
	uint64_t urcv_last;
	unsigned char *fb;
	uint64_t *fbits;
	size_t fbcap, fbitscap;
	uint64_t fseq;
	uint32_t ftotal, fsize, fcount, fgot;
	int factive;

	/* The reliable stream sent: sr.lo..snd_una acknowledged but not
	 * yet counted in messages; snd_nxt the next new byte. */
	struct ring sr;
	uint64_t snd_una, snd_nxt, snd_max, snd_edge, walk;
	uint64_t msgs_acked;
	struct seg *segs;
	uint64_t seg_head, seg_next, lost_hint;
	unsigned n_lost;

	/* Unreliable to send: uq holds messages, ufrag_at is how much of
	 * the first has gone as fragments. */
	struct ring uq;
	uint64_t usnd_seq;
	size_t ufrag_at;

	/* Packets sent. */
	struct pkt *pkts;
	uint64_t pmask;
	uint64_t pn_first, pn_next, pn_oldest, largest_acked;
	int any_acked;
	unsigned n_out;
	uint64_t inflight, cwnd, ssthresh, recovery_start;

	/* Round trips and timers. */
	uint64_t srtt, rttvar, min_rtt, latest_rtt;
	int have_rtt;
	unsigned backoff;
	uint64_t rto_start, rto_at, loss_at, tlp_at;
	int tlp_done, ping_due, ka_due;
	uint64_t close_at;
	int close_sent;

	struct udp_stats st;
};

struct udp_listener {
	struct seal_cookie *k;
	uint64_t rotate_at;
};

/* --- bytes ---------------------------------------------------------------- */

static inline uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static inline uint16_t
get16(const unsigned char *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static inline uint64_t
get64(const unsigned char *p)
{
	return ((uint64_t)get32(p) << 32 | get32(p + 4));
}

static inline void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void
put64(unsigned char *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

/*
 * A 64-bit number from its low 32 bits: the one nearest to near (serial
 * arithmetic); 0 when that would be below 0.
 */
static inline uint64_t
widen(uint64_t near, uint32_t low)
{
	int32_t d = (int32_t)(low - (uint32_t)near);

	if (d < 0 && (uint64_t) - (int64_t)d > near)
		return (0);
	return (near + (uint64_t)(int64_t)d);
}

/* LEB128 lengths of at most 4 bytes. */
static inline size_t
vput(unsigned char *p, size_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return (n);
}

static inline uint64_t
umin(uint64_t a, uint64_t b)
{
	return (a < b ? a : b);
}

static inline uint64_t
umax(uint64_t a, uint64_t b)
{
	return (a > b ? a : b);
}

/* Time since t; 0 when the caller's clock is behind it. */
static inline uint64_t
since(uint64_t now, uint64_t t)
{
	return (now > t ? now - t : 0);
}

/* --- rings ---------------------------------------------------------------- */

static void
ring_in(struct ring *r, uint64_t off, const void *p, size_t n)
{
	size_t i = off & (r->cap - 1), k = r->cap - i;

	if (n <= k) {
		memcpy(r->b + i, p, n);
	} else {
		memcpy(r->b + i, p, k);
		memcpy(r->b, (const unsigned char *)p + k, n - k);
	}
}

static void
ring_out(const struct ring *r, uint64_t off, void *p, size_t n)
{
	size_t i = off & (r->cap - 1), k = r->cap - i;

	if (n <= k) {
		memcpy(p, r->b + i, n);
	} else {
		memcpy(p, r->b + i, k);
		memcpy((unsigned char *)p + k, r->b, n - k);
	}
}

/* Room for the offsets [lo, lo + span), keeping [lo, hi).  -1 ENOMEM. */
static int
ring_reserve(struct ring *r, uint64_t span)
{
	struct ring n = *r;

	if (span <= r->cap)
		return (0);
	n.cap = r->cap ? r->cap : 4096;
	while (n.cap < span)
		n.cap <<= 1;
	if ((n.b = malloc(n.cap)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	if (r->cap != 0) {
		for (uint64_t o = r->lo; o < r->hi;) {
			size_t i = o & (r->cap - 1),
			       k = umin(r->cap - i, r->hi - o);

			ring_in(&n, o, r->b + i, k);
			o += k;
		}
		free(r->b);
	}
	*r = n;
	return (0);
}

/* Give the memory back when the ring is empty and larger than keep. */
static void
ring_trim(struct ring *r, size_t keep)
{
	if (r->lo == r->hi && r->cap > keep) {
		free(r->b);
		r->b = NULL;
		r->cap = 0;
	}
}

/*
 * The length at off of a ring holding avail bytes there: the size of the
 * length (1-4) with *v; 0 when it is not all there; -1 when it is longer
 * than 4 bytes.
 */
static int
ring_vget(const struct ring *r, uint64_t off, uint64_t avail, size_t *v)
{
	size_t x = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char b;

		if ((uint64_t)i >= avail)
			return (0);
		b = r->b[(off + i) & (r->cap - 1)];
		x |= (size_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return (i + 1);
		}
	}
	return (-1);
}

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
	ring_out(r, off, c->scratch, n);
	return (c->scratch);
}

/* Queue a message (its length, then its bytes) within bound. */
static int
ring_push(struct ring *r, const void *m, size_t n, size_t bound)
{
	unsigned char l[4];
	size_t k = vput(l, n), used = r->hi - r->lo;

	if (used != 0 && used + k + n > bound) {
		errno = ENOBUFS;
		return (-1);
	}
	if (ring_reserve(r, used + k + n) == -1)
		return (-1);
	ring_in(r, r->hi, l, k);
	ring_in(r, r->hi + k, m, n);
	r->hi += k + n;
	return (0);
}

/* --- set-up --------------------------------------------------------------- */

/* Our parameters as CONNECT or ACCEPT carries them: PBLOCK bytes. */
static void
put_params(unsigned char *p, uint32_t id, uint32_t maxmsg, uint32_t maxdg,
    uint32_t pn, uint32_t off, uint32_t win)
{
	put32(p, id);
	put32(p + 4, maxmsg);
	put16(p + 8, (uint16_t)maxdg);
	put32(p + 10, pn);
	put32(p + 14, off);
	put32(p + 18, win);
}

void
udp_params_default(struct udp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mtu = UDP_MTU_DEFAULT;
	p->maxmsg = 16 * 1024 * 1024;
	p->sndbuf = p->rcvbuf = 1024 * 1024;
	p->usndbuf = p->urcvbuf = 256 * 1024;
	p->flight = 1024;
	p->idle_us = 10000000;
	p->keepalive_us = 1000000;
	p->rto_init_us = 1000000;
	p->rto_min_us = 200000;
	p->rto_max_us = 60000000;
	p->ack_delay_us = 1000;
}

static int
params_ok(const struct udp_params *p)
{
	return (p->mtu >= UDP_MTU_MIN && p->mtu <= UDP_MTU_MAX &&
	    p->maxmsg >= 1 && p->maxmsg <= UDP_MSG_MAX && p->sndbuf >= 1 &&
	    p->sndbuf <= 1u << 30 && p->rcvbuf >= 1 && p->rcvbuf <= 1u << 30 &&
	    p->usndbuf >= 1 && p->usndbuf <= 1u << 30 && p->urcvbuf >= 1 &&
	    p->urcvbuf <= 1u << 30 && p->flight >= 16 && p->flight <= 65536 &&
	    (p->flight & (p->flight - 1)) == 0 && p->idle_us > 0 &&
	    p->keepalive_us > 0 && p->rto_min_us > 0 &&
	    p->rto_min_us <= p->rto_max_us && p->rto_init_us > 0 &&
	    (!p->fixed || p->id != 0));
}

static struct udp *
conn_new(const struct udp_params *p, int client, uint64_t now)
{
	struct udp *c;

	if (!params_ok(p)) {
		errno = EINVAL;
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->p = *p;
	/* The receive window: at least a datagram's worth. */
	if (c->p.rcvbuf < c->p.mtu)
		c->p.rcvbuf = c->p.mtu;
	c->client = client;
	c->pkts = malloc(sizeof(*c->pkts) * p->flight);
	c->segs = malloc(sizeof(*c->segs) * p->flight);
	if (c->pkts == NULL || c->segs == NULL) {
		free(c->pkts);
		free(c->segs);
		free(c);
		errno = ENOMEM;
		return (NULL);
	}
	for (unsigned i = 0; i < p->flight; i++) {
		c->pkts[i].pn = UINT64_MAX;
		c->pkts[i].flags = 0;
	}
	c->pmask = p->flight - 1;
	if (p->fixed) {
		c->id = p->id;
		c->pn_first = p->first_pn;
		c->snd_una = p->first_off;
	} else {
		uint32_t r[3];

		do
			seal_random(r, sizeof(r));
		while (r[0] == 0);
		c->id = r[0];
		c->pn_first = r[1];
		c->snd_una = r[2];
	}
	c->pn_next = c->pn_oldest = c->pn_first;
	c->usnd_seq = c->pn_first + 1;
	c->snd_nxt = c->snd_max = c->sr.lo = c->sr.hi = c->walk = c->snd_una;
	c->rwin = c->p.rcvbuf;
	put_params(c->ad + HDR + (client ? 0 : PBLOCK), c->id,
	    (uint32_t)c->p.maxmsg, (uint32_t)c->p.mtu, (uint32_t)c->pn_first,
	    (uint32_t)c->snd_una, (uint32_t)c->rwin);
	c->last_recv = c->last_ping = now;
	c->last_elic = now;
	c->state = client ? UDP_CONNECTING : UDP_OPEN;
	return (c);
}

void
udp_free(struct udp *c)
{
	if (c == NULL)
		return;
	seal_dg_free(c->seal);
	free(c->pkts);
	free(c->segs);
	free(c->rr.b);
	free(c->urq.b);
	free(c->sr.b);
	free(c->uq.b);
	free(c->fb);
	free(c->fbits);
	free(c->scratch);
	free(c);
}

/*
 * What a packet carries.  Room is kept for an ACK in every packet, so a
 * segment resent always fits where it first went.
 */
static void
sizes(struct udp *c)
{
	size_t over = HDR + (c->seal ? TAG : 0) + ACKLEN;

	c->segmax = c->mtu - over - STREAMHDR;
	c->umsgmax = c->mtu - over - UMSGHDR;
	c->ufragmax = c->mtu - over - UFRAGHDR;
}

/* The peer's half of the handshake is known. */
static void
set_peer(struct udp *c, uint32_t id, uint32_t maxmsg, uint32_t maxdg,
    uint32_t first_pn, uint32_t first_off, uint32_t win)
{
	c->peer_id = id;
	c->peer_maxmsg = umin(maxmsg, UDP_MSG_MAX);
	c->mtu = umin(c->p.mtu, maxdg);
	c->peer_first_pn = first_pn;
	c->peer_first_off = first_off;
	c->peer_win = win;
	sizes(c);
	c->rx_floor = first_pn;
	c->rcv_nxt = c->rr.lo = c->rr.hi = first_off;
	c->rcv_edge = c->rcv_adv = first_off + c->rwin;
	c->urcv_last = first_pn;
	c->snd_edge = c->snd_una + umin(win, 1u << 30);
	c->cwnd = 10 * c->mtu; /* RFC 6928 */
	c->ssthresh = UINT64_MAX;
}

/* --- time ----------------------------------------------------------------- */

static uint64_t
rto(const struct udp *c)
{
	uint64_t r;

	if (!c->have_rtt)
		r = c->p.rto_init_us;
	else
		r = c->srtt + umax(GRAN, 4 * c->rttvar) + c->p.ack_delay_us;
	r = umax(r, c->p.rto_min_us);
	for (unsigned i = 0; i < c->backoff && r < c->p.rto_max_us; i++)
		r <<= 1;
	return (umin(r, c->p.rto_max_us));
}

static void
rtt_sample(struct udp *c, uint64_t r)
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

/* Set the retransmission and tail-probe timers from the state. */
static void
rearm(struct udp *c)
{
	if (c->n_out > 0 || window_blocked(c))
		c->rto_at = c->rto_start + rto(c);
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

static void
die(struct udp *c, enum udp_why why, enum udp_reason reason)
{
	if (c->state == UDP_DEAD)
		return;
	c->state = UDP_DEAD;
	c->why = why;
	c->reason = reason;
	c->rto_at = c->tlp_at = c->loss_at = 0;
}

/* --- sending: segments and packets --------------------------------------- */

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
		int k = ring_vget(&c->sr, c->walk, c->sr.hi - c->walk, &n);

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
	if (rto(c) < c->p.rto_max_us)
		c->backoff++;
	c->rto_start = now;
	c->tlp_done = 0;
	rearm(c);
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
			die(c, UDP_WHY_CLOSED, UDP_R_NONE);
	}
	k->flags = 0;
	for (unsigned i = 0; i < k->nseg; i++) {
		struct seg *s = seg_of(c, k->seg[i]);

		if (s != NULL && s->state != S_ACKED)
			seg_ack(c, s);
	}
}

/* An ACK frame (checked already). */
static void
on_ack(struct udp *c, const unsigned char *f, uint64_t now)
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
		rtt_sample(c, r);
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
	if (ring_reserve(&c->rr, c->rcv_edge - c->rr.lo) == -1)
		return; /* as if lost: it will come again */
	if (off == c->rcv_nxt) {
		ring_in(&c->rr, off, p, end - off);
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
		ring_in(&c->rr, off, p, end - off);
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
	if (ring_push(&c->urq, p, n, c->p.urcvbuf) == -1)
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
				on_ack(c, p, now);
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
				die(c, UDP_WHY_PEER_CLOSED,
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
			rtt_sample(c, since(now, c->hs_sent));
	}
	(void)frames(c, b + HDR, n, 1, now, &elic);
	if (c->state != UDP_DEAD)
		rearm(c);
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
	set_peer(c, id, get32(b + C_MAXMSG), maxdg, get32(b + C_PN),
	    get32(b + C_OFF), get32(b + C_WIN));
	memcpy(c->ad + HDR + PBLOCK, b + C_ID, PBLOCK);
	memcpy(c->peer_hello, b + A_HELLO, hl);
	c->peer_hellolen = hl;
	if (c->hs_since == 1)
		rtt_sample(c, since(now, c->hs_sent));
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
			rtt_sample(c, since(now, c->hs_sent));
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
		die(c, UDP_WHY_REJECTED, (enum udp_reason)b[5]);
		break;
	case T_ABORT:
		/* In the clear: only from a client that never sent anything
		 * authentic. */
		if (c->client || c->confirmed || len != SHORTLEN ||
		    c->state == UDP_DEAD) {
			c->st.drop_bad++;
			break;
		}
		die(c, UDP_WHY_PEER_CLOSED, (enum udp_reason)b[5]);
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
	ring_out(&c->sr, s->off, p + STREAMHDR, s->len);
	return (p + STREAMHDR + s->len);
}

/* Unreliable messages that fit in [p, e): whole, or fragments. */
static unsigned char *
put_unreliable(struct udp *c, unsigned char *p, unsigned char *e, int *elic)
{
	while (c->uq.lo < c->uq.hi) {
		size_t n = 0, room = e - p;
		int k = ring_vget(&c->uq, c->uq.lo, c->uq.hi - c->uq.lo, &n);

		if (n <= c->umsgmax) {
			if (UMSGHDR + n > room)
				break;
			p[0] = F_UMSG;
			put32(p + 1, (uint32_t)c->usnd_seq);
			put16(p + 5, (uint16_t)n);
			ring_out(&c->uq, c->uq.lo + k, p + UMSGHDR, n);
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
			ring_out(&c->uq, c->uq.lo + k + c->ufrag_at,
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
	ring_trim(&c->uq, c->p.usndbuf);
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
				c->close_at = now + 3 * rto(c);
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
		rearm(c);
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
		die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
		return;
	}
	if (c->state == UDP_CLOSING && c->close_at && now >= c->close_at &&
	    c->snd_una == c->sr.hi) {
		die(c, UDP_WHY_CLOSED, UDP_R_NONE);
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
			die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
		else if (now >= c->hs_next)
			n = put_connect(c, b, now);
		break;
	case UDP_ACCEPTED:
		if (since(now, c->last_recv) >= c->p.idle_us)
			die(c, UDP_WHY_TIMEOUT, UDP_R_NONE);
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
		if (ring_push(&c->sr, m, len, c->p.sndbuf) == -1)
			return (-1);
		c->st.msgs_out++;
		if (window_blocked(c) && c->rto_at == 0)
			rearm(c); /* shut already: probe it on the timer */
	} else {
		if (ring_push(&c->uq, m, len, c->p.usndbuf) == -1)
			return (-1);
	}
	return (0);
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
		ring_trim(&c->urq, c->p.urcvbuf);
	}
	if (c->rel) {
		c->rr.lo += c->rel;
		c->rel = 0;
		window_moved(c);
	}
	if (c->urq.lo < c->urq.hi) {
		k = ring_vget(&c->urq, c->urq.lo, c->urq.hi - c->urq.lo, &n);
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
			ring_trim(&c->rr, 0);
		}
		errno = c->state == UDP_DEAD || c->rbroken ? EPIPE : EAGAIN;
		return (-1);
	}
	k = ring_vget(&c->rr, c->rr.lo, avail, &n);
	if (k < 0 || n > c->p.maxmsg) {
		c->rbroken = 1;
		if (c->state != UDP_DEAD) {
			c->final_due = c->final_close = 1;
			die(c, UDP_WHY_PROTOCOL, UDP_R_PROTOCOL);
		}
		errno = EMSGSIZE;
		return (-1);
	}
	if (k == 0 || k + n > avail) {
		/* A message larger than the window: open it that far. */
		if (k > 0 && k + n > c->rwin) {
			if (ring_reserve(&c->rr, k + n) == -1)
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

void
udp_pending(const struct udp *c, size_t *reliable, size_t *unreliable)
{
	*reliable = c->sr.hi - c->snd_una;
	*unreliable = c->uq.hi - c->uq.lo;
}

void
udp_close(struct udp *c, uint64_t now)
{
	if (c->state == UDP_OPEN) {
		c->state = UDP_CLOSING;
		(void)now;
	} else if (c->state == UDP_CONNECTING || c->state == UDP_ACCEPTED) {
		udp_abort(c, UDP_R_NONE);
	}
}

void
udp_abort(struct udp *c, enum udp_reason reason)
{
	if (c->state == UDP_DEAD)
		return;
	if (c->state == UDP_ACCEPTED)
		c->final_due = c->final_abort = 1;
	else if (c->state != UDP_CONNECTING)
		c->final_due = c->final_close = 1;
	die(c, UDP_WHY_ABORTED, reason);
}

enum udp_state
udp_state(const struct udp *c, enum udp_why *why, enum udp_reason *reason)
{
	if (why != NULL)
		*why = c->why;
	if (reason != NULL)
		*reason = c->reason;
	return (c->state);
}

void
udp_stats(const struct udp *c, struct udp_stats *st)
{
	*st = c->st;
	st->pending_acks = c->st.msgs_out - c->msgs_acked;
	st->unacked = c->sr.hi - c->snd_una;
	st->reorder = c->nisl;
	st->reorder_bytes = 0;
	for (unsigned i = 0; i < c->nisl; i++)
		st->reorder_bytes += c->isl[i].hi - c->isl[i].lo;
	st->srtt_us = c->srtt;
	st->rttvar_us = c->rttvar;
	st->rto_us = rto(c);
	st->cwnd = c->cwnd;
	st->inflight = c->inflight;
	st->held_in = c->rr.hi - c->rr.lo;
	st->uqueued = c->uq.hi - c->uq.lo;
	st->pn_next = c->pn_next;
}

size_t
udp_peer_maxmsg(const struct udp *c)
{
	return (c->peer_maxmsg);
}

const void *
udp_peer_hello(const struct udp *c, size_t *len)
{
	if (!c->client || c->state == UDP_CONNECTING)
		return (NULL);
	*len = c->peer_hellolen;
	return (c->peer_hello);
}

/* --- the client ----------------------------------------------------------- */

struct udp *
udp_connect(const struct udp_params *p, const void *hello, size_t len,
    uint64_t now)
{
	struct udp *c;

	if (len > UDP_HELLO_MAX) {
		errno = EMSGSIZE;
		return (NULL);
	}
	if ((c = conn_new(p, 1, now)) == NULL)
		return (NULL);
	memcpy(c->hello, hello, len);
	c->hellolen = len;
	c->hs_next = now;
	return (c);
}

int
udp_start(struct udp *c, struct seal_dg *seal, uint64_t now)
{
	if (!c->client || c->state != UDP_ACCEPTED) {
		seal_dg_free(seal);
		errno = EINVAL;
		return (-1);
	}
	c->seal = seal;
	sizes(c);
	c->state = UDP_OPEN;
	c->last_recv = now;
	c->ping_due = 1; /* tell the listener we are here */
	return (0);
}

/* --- the listener --------------------------------------------------------- */

struct udp_listener *
udp_listener_new(uint64_t now)
{
	struct udp_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return (NULL);
	if ((l->k = seal_cookie_new()) == NULL) {
		free(l);
		errno = ENOMEM;
		return (NULL);
	}
	l->rotate_at = now + UDP_COOKIE_LIFE_S * 1000000ULL;
	return (l);
}

void
udp_listener_free(struct udp_listener *l)
{
	if (l == NULL)
		return;
	seal_cookie_free(l->k);
	free(l);
}

uint64_t
udp_listener_tick(struct udp_listener *l, uint64_t now)
{
	if (now >= l->rotate_at) {
		seal_cookie_rotate(l->k);
		l->rotate_at = now + UDP_COOKIE_LIFE_S * 1000000ULL;
	}
	return (l->rotate_at);
}

#define FROM_MAX 128

/* What a cookie binds: its time, the client id, the source address. */
static size_t
cookie_input(unsigned char *m, uint32_t t, uint32_t id, const void *from,
    size_t fromlen)
{
	put32(m, t);
	put32(m + 4, id);
	memcpy(m + 8, from, fromlen);
	return (8 + fromlen);
}

enum udp_verdict
udp_listen(const struct udp_listener *l, const void *from, size_t fromlen,
    const void *dg, size_t len, uint64_t now,
    unsigned char reply[UDP_REPLY_MAX], size_t *replylen,
    struct udp_request *req)
{
	const unsigned char *b = dg;
	unsigned char m[8 + FROM_MAX];
	uint32_t id, t, secs = (uint32_t)(now / 1000000);
	size_t hl, ml;

	if (len < UDP_CONNECT_SIZE || fromlen > FROM_MAX ||
	    (b[0] & 15) != T_CONNECT || get32(b + 1) != 0 ||
	    (id = get32(b + C_ID)) == 0)
		return (UDP_DROP);
	if (b[0] >> 4 != UDP_VERSION) {
		/* bytes 0-8 mean the same in every version */
		*replylen = udp_reject(&(struct udp_request){.id = id},
		    UDP_R_VERSION, reply, UDP_REPLY_MAX);
		return (UDP_REPLY);
	}
	if (len != UDP_CONNECT_SIZE)
		return (UDP_DROP);
	t = get32(b + C_COOKIE);
	ml = cookie_input(m, t, id, from, fromlen);
	if (secs - t > UDP_COOKIE_LIFE_S ||
	    seal_cookie_check(l->k, b + C_COOKIE + 4, m, ml) == -1) {
		reply[0] = UDP_VERSION << 4 | T_COOKIE;
		put32(reply + 1, id);
		put32(reply + 5, secs);
		ml = cookie_input(m, secs, id, from, fromlen);
		seal_cookie_mac(l->k, reply + 9, m, ml);
		*replylen = COOKIE_DG;
		return (UDP_REPLY);
	}
	hl = get16(b + C_HLEN);
	if (hl > UDP_HELLO_MAX || get16(b + C_MAXDG) < UDP_MTU_MIN ||
	    get32(b + C_MAXMSG) == 0)
		return (UDP_DROP);
	req->id = id;
	req->maxmsg = get32(b + C_MAXMSG);
	req->maxdgram = get16(b + C_MAXDG);
	req->first_pn = get32(b + C_PN);
	req->first_off = get32(b + C_OFF);
	req->window = get32(b + C_WIN);
	req->hello = b + C_HELLO;
	req->hellolen = hl;
	return (UDP_REQUEST);
}

struct udp *
udp_accept(const struct udp_params *p, const struct udp_request *req,
    const void *hello, size_t len, struct seal_dg *seal, uint64_t now)
{
	struct udp *c;

	if (len > UDP_HELLO_MAX) {
		seal_dg_free(seal);
		errno = EMSGSIZE;
		return (NULL);
	}
	if ((c = conn_new(p, 0, now)) == NULL) {
		seal_dg_free(seal);
		return (NULL);
	}
	c->seal = seal;
	memcpy(c->hello, hello, len);
	c->hellolen = len;
	set_peer(c, req->id, req->maxmsg, req->maxdgram, req->first_pn,
	    req->first_off, req->window);
	put_params(c->ad + HDR, req->id, req->maxmsg, req->maxdgram,
	    req->first_pn, req->first_off, req->window);
	c->accept_due = 1;
	return (c);
}

size_t
udp_reject(const struct udp_request *req, enum udp_reason reason,
    unsigned char *reply, size_t cap)
{
	if (cap < SHORTLEN)
		return (0);
	reply[0] = UDP_VERSION << 4 | T_REJECT;
	put32(reply + 1, req->id);
	reply[5] = (unsigned char)reason;
	return (SHORTLEN);
}

int
udp_peek(const void *dg, size_t len, uint32_t *id, int *type)
{
	const unsigned char *b = dg;

	if (len < 5 || b[0] >> 4 != UDP_VERSION)
		return (-1);
	*id = get32(b + 1);
	*type = b[0] & 15;
	return (0);
}
