/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: engine (udp.h), one connection: its parameters, its making by
 * udp_connect or udp_accept, the peer's half of the handshake, udp_start,
 * the program's questions (state, counters) and its end.  Datagrams in
 * are udp_receiver.c's, datagrams out udp_sender.c's, the listener's
 * cookies udp_listen.c's (udp_int.h).
 */
#include "udp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

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

void
udp_set_peer(struct udp *c, uint32_t id, uint32_t maxmsg, uint32_t maxdg,
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

/* --- the listener's new connection ---------------------------------------- */

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
	udp_set_peer(c, req->id, req->maxmsg, req->maxdgram, req->first_pn,
	    req->first_off, req->window);
	put_params(c->ad + HDR, req->id, req->maxmsg, req->maxdgram,
	    req->first_pn, req->first_off, req->window);
	c->accept_due = 1;
	return (c);
}

/* --- the program's questions and the end ---------------------------------- */

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
	udp_die(c, UDP_WHY_ABORTED, reason);
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
	st->rto_us = udp_rto(c);
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
