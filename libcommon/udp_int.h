/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Inside the udp: engine (udp.h): what its files share, and nothing a
 * program sees.  Only these include it:
 *   udp.c           a connection: parameters, set-up, the peer's half of
 *                   the handshake, the program's questions, the end
 *   udp_receiver.c  datagrams in (udp_input): the replay window, the
 *                   frames, the stream's reassembly, unreliable messages;
 *                   udp_recv
 *   udp_sender.c    datagrams out (udp_output): segments and packets in
 *                   flight, acknowledgements taken, loss, RTO, NewReno,
 *                   the timers; udp_send
 *   udp_listen.c    the listener's stateless side: cookies, udp_listen
 *   udp_ring.c      the byte rings every queue is
 * Calls run one way: udp_receiver.c calls udp_sender.c (an ACK taken, a
 * round trip, the timers rearmed) and udp.c (the peer's parameters from
 * ACCEPT); udp_sender.c, udp.c and udp_listen.c call only udp_ring.c,
 * seal.c and what is inline below.  Sealing is seal.c's (the only file
 * with <sodium.h>): the sender seals DATA, the receiver opens it, the
 * listener's cookies are its MACs.
 */
#ifndef QUILT_UDP_INT_H
#define QUILT_UDP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "seal.h"
#include "udp.h"

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

/*
 * The length at off of a ring holding avail bytes there: the size of the
 * length (1-4) with *v; 0 when it is not all there; -1 when it is longer
 * than 4 bytes.
 */
static inline int
udp_ring_vget(const struct ring *r, uint64_t off, uint64_t avail, size_t *v)
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

/* Give the memory back when the ring is empty and larger than keep. */
static inline void
udp_ring_trim(struct ring *r, size_t keep)
{
	if (r->lo == r->hi && r->cap > keep) {
		free(r->b);
		r->b = NULL;
		r->cap = 0;
	}
}

/* --- time ----------------------------------------------------------------- */

static inline uint64_t
udp_rto(const struct udp *c)
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

static inline void
udp_die(struct udp *c, enum udp_why why, enum udp_reason reason)
{
	if (c->state == UDP_DEAD)
		return;
	c->state = UDP_DEAD;
	c->why = why;
	c->reason = reason;
	c->rto_at = c->tlp_at = c->loss_at = 0;
}

/* --- across the engine's files -------------------------------------------- */

/* udp_ring.c: bytes in and out at absolute offsets (no bounds checked). */
void udp_ring_in(struct ring *r, uint64_t off, const void *p, size_t n);
void udp_ring_out(const struct ring *r, uint64_t off, void *p, size_t n);
/* Room for the offsets [lo, lo + span), keeping [lo, hi).  -1 ENOMEM. */
int udp_ring_reserve(struct ring *r, uint64_t span);
/* Queue a message (its length, then its bytes) within bound: 0, or -1
 * with ENOBUFS (over bound, and not alone) or ENOMEM. */
int udp_ring_push(struct ring *r, const void *m, size_t n, size_t bound);

/* udp.c: the peer's half of the handshake is known (CONNECT or ACCEPT). */
void udp_set_peer(struct udp *c, uint32_t id, uint32_t maxmsg, uint32_t maxdg,
    uint32_t first_pn, uint32_t first_off, uint32_t win);

/* udp_sender.c: a round trip measured (us); the retransmission and
 * tail-probe timers set from the state; an ACK frame taken (checked by
 * the receiver already: ACKLEN bytes at f). */
void udp_rtt_sample(struct udp *c, uint64_t r);
void udp_rearm(struct udp *c);
void udp_on_ack(struct udp *c, const unsigned char *f, uint64_t now);

#endif
