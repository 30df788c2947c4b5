/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "hops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "lsdb.h"
#include "nodes.h"
#include "wire.h"

struct hops H;

int
peer_new(const char *addr, int fixed)
{
	struct peer *p;
	int i;

	for (i = 0; i < PEERS_MAX && H.p[i].used; i++)
		;
	if (i == PEERS_MAX)
		return (-1);
	p = &H.p[i];
	memset(p, 0, sizeof(*p));
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->fixed = fixed;
	p->nidx = -1;
	p->fd = -1;
	if (link_init(&p->l, -1, conf.maxmsg + 1024, 2 * PEER_WINDOW,
		conf.maxmsg + 1024) == -1)
		return (-1);
	p->used = 1;
	if (i >= H.n)
		H.n = i + 1;
	return (i);
}

void
peer_free(struct peer *p)
{
	link_free(&p->l);
	free(p->lq);
	p->lq = NULL;
	p->used = 0;
}

int
peer_of(const char *node)
{
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && H.p[i].up && strcmp(H.p[i].node, node) == 0)
			return (i);
	return (-1);
}

int
over_limit(const struct peer *p, size_t body)
{
	if (p->maxmsg == 0 || body <= p->maxmsg)
		return (0);
	ctr.oversize++;
	return (1);
}

int
peer_queue(struct peer *p, const char *frame, size_t n)
{
	const char *body;
	size_t blen;
	char *w;

	if (n > p->maxmsg && frame_parse(frame, n, n, &body, &blen) > 0 &&
	    over_limit(p, blen))
		return (1);
	if ((w = link_reserve(&p->l, n)) == NULL)
		return (-1);
	memcpy(w, frame, n);
	link_commit(&p->l, n);
	p->sent++;
	return (0);
}

int
lq_room(struct peer *p)
{
	if (p->lq == NULL && (p->lq = calloc(WQ_MAX, sizeof(*p->lq))) == NULL)
		return (0);
	return (p->lq_count < WQ_MAX);
}

void
lq_push(struct peer *p, int origin, uint64_t id, uint32_t n, int want,
    uint64_t serial, uint64_t k)
{
	struct lmeta *e;

	if (p->lq_count > 0) {
		e = &p->lq[(p->lq_head + p->lq_count - 1) % WQ_MAX];
		if (e->origin == origin && e->want == want &&
		    e->id + e->n == id && e->serial == serial &&
		    (serial == 0 || e->k + e->n == k) &&
		    e->n <= UINT32_MAX - n) {
			e->n += n;
			return;
		}
	}
	e = &p->lq[(p->lq_head + p->lq_count++) % WQ_MAX];
	e->origin = origin;
	e->id = id;
	e->n = n;
	e->want = want;
	e->serial = serial;
	e->k = k;
}

int
leaf_queue(struct peer *p, int origin, uint64_t id, int want, uint64_t serial,
    uint64_t k, const char *parts, size_t plen)
{
	size_t body = WIRE_MSG_PREFIX_LEN + plen, sz = frame_size(body);
	char *w;

	if (over_limit(p, body))
		return (1);
	if (!lq_room(p) || (w = link_reserve(&p->l, sz)) == NULL)
		return (-1);
	wire_put_msgn_fast(w, parts, plen);
	link_commit(&p->l, sz);
	lq_push(p, origin, id, 1, want, serial, k);
	p->sent++;
	return (0);
}

void
peer_budget(const struct peer *p, int transit, size_t *bytes, size_t *frames)
{
	size_t cap = transit ? 2 * PEER_WINDOW : PEER_WINDOW;
	size_t keep = transit ? 0 : (p->l.szmask + 1) / 2;
	size_t used = buf_len(&p->l.q) + 64, fr = link_room_frames(&p->l);

	*bytes = used < cap ? cap - used : 0;
	*frames = fr > keep ? fr - keep : 0;
	/* A leaf's records of runs fill before its ring when no run joins
	 * the one before it: then it takes nothing more, as when full. */
	if (!p->relay && p->lq_count >= WQ_MAX)
		*frames = 0;
}

static int
peer_room(const struct peer *p, size_t n, int transit)
{
	size_t bytes, frames;

	peer_budget(p, transit, &bytes, &frames);
	return (n <= bytes && frames > 0);
}

int
room_for(int d, size_t n, int transit)
{
	if (d >= 0) {
		if (d == 0 || ls_via(d) == -1)
			return (1);
		return (peer_room(&H.p[ls_via(d)], n, transit));
	}
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (p->used && p->up && !peer_room(p, n, transit))
			return (0);
	}
	return (1);
}

int
hop_forward(int d, const char *frame, size_t n)
{
	int via;

	if (d <= 0 || (via = ls_via(d)) == -1) {
		ctr.noroute++;
		return (0);
	}
	if (!H.p[via].relay)
		return (0); /* a leaf: only messages (forward.c) */
	switch (peer_queue(&H.p[via], frame, n)) {
	case -1:
		return (-1);
	case 0:
		ctr.fwd++;
	}
	return (0);
}

int
peer_acked(struct peer *p, uint64_t v, hop_written_fn *written, void *arg)
{
	v += p->base;
	if (v <= p->l.n_acked || v > p->l.n_queued)
		return (-1);
	if (!p->relay && p->lq != NULL) {
		for (uint64_t j = p->l.n_acked; j < v && p->lq_count;) {
			struct lmeta *e = &p->lq[p->lq_head];
			uint64_t t = e->n < v - j ? e->n : v - j;

			j += t;
			if (e->want && p->nidx > 0)
				written(p, e, t, arg);
			if (t < e->n) {
				e->id += t;
				e->k += t;
				e->n -= t;
			} else {
				p->lq_head = (p->lq_head + 1) % WQ_MAX;
				p->lq_count--;
			}
		}
	}
	p->acked_total += v - p->l.n_acked;
	return (link_ack(&p->l, v));
}

int
hops_links(short *node, short *peer)
{
	int n = 0;

	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && H.p[i].up && H.p[i].nidx > 0) {
			node[n] = H.p[i].nidx;
			peer[n++] = i;
		}
	return (n);
}

int
hops_idle(void)
{
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && H.p[i].up &&
		    H.p[i].l.n_acked != H.p[i].l.n_queued)
			return (0);
	return (1);
}
