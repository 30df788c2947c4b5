/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "flood.h"
#include "local.h"
#include "log.h"
#include "lsdb.h"
#include "nodes.h"
#include "ping.h"

spread_in_fn *fwd_spread_in;

/* What relay_run keeps of a run while it checks it (not on the stack: it
 * is RUN_MAX frames long). */
static struct {
	uint32_t sz[RUN_MAX], fs[RUN_MAX], hp[RUN_MAX], po[RUN_MAX],
	    pl[RUN_MAX];
	uint64_t ids[RUN_MAX];
} run;

int
route_msg(const struct wire_msg *m, struct fmsg *x, char *frame, size_t flen,
    int from_peer)
{
	int d, all = is_all(m->dest, m->destlen);

	if (x->m.hops >= HOP_LIMIT) {
		ctr.hops++;
		return (0);
	}
	d = all ? -1 : node_find(m->dest, m->destlen);
	if (!all && d == -1) {
		ctr.noroute++;
		return (0);
	}
	if (!room_for(d, flen, from_peer != -1))
		return (-1);
	if (x->origin == 0 && from_peer != -1) {
		ctr.dup++; /* ours, come back round a cycle */
		return (0);
	}
	if (x->origin != 0 && dedup_seen(x->origin, x->m.id)) {
		ctr.dup++;
		return (0);
	}
	if ((all || d == 0) && x->m.spread) {
		/* For our Spread daemon (ours is not sent back to us). */
		if (x->origin != 0 && fwd_spread_in != NULL &&
		    fwd_spread_in(x->origin, x->m.parts, x->m.plen) == -1) {
			dedup_unsee(x->origin, x->m.id);
			return (-1);
		}
		if (!all)
			return (0);
	} else if (all || d == 0) {
		if (local_write(x->origin, x->m.want, x->m.id, x->m.parts,
			x->m.plen) == -1) {
			/* Taken back: it is seen again when it comes again. */
			if (x->origin != 0)
				dedup_unsee(x->origin, x->m.id);
			return (-1);
		}
		if (!all)
			return (0);
	}
	mesh_set_hops(x->hopsp, x->m.hops + 1);
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used || !p->up || i == from_peer)
			continue;
		if (!all && ls_via(d) != i)
			continue;
		if (x->m.spread && !p->relay)
			continue; /* a leaf has no Spread daemon */
		if (p->relay ? peer_queue(p, frame, flen) == 1 :
			       (all || p->nidx == d) &&
			    leaf_queue(p, x->origin, x->m.id, x->m.want, 0, 0,
				x->m.parts, x->m.plen) == 1) {
			/* Over its limit.  When it is the destination, no
			 * copy of the message can ever be written: say so. */
			if (!all && p->nidx == d && x->origin != 0 &&
			    x->m.want) {
				struct rbatch b = {.r = {{x->m.id, x->m.id}},
				    .n = 1};

				e2e_send_answer(x->origin, d, 1, &b);
			}
			continue;
		}
		ctr.fwd++;
	}
	return (0);
}

/* Decode [DEST, "msg", ORIGIN, ...] of frame into x: 0, or -1. */
static int
get_fmsg(char *frame, const char *body, const struct wire_msg *m,
    struct fmsg *x)
{
	if (mesh_get_msg(body, m, &x->m) == -1 ||
	    (x->origin = node_get(x->m.origin.p, x->m.origin.len)) == -1)
		return (-1);
	/* body is a view into frame, which is ours to write */
	x->hopsp = frame + (body - frame) + x->m.hops_at;
	return (0);
}

/*
 * The fast way for a run of a relay's messages passing through: [DEST,
 * "msg", ORIGIN, HOPS, ID, FLAGS, PART...] frames with the same DEST,
 * ORIGIN and FLAGS.  To a relay they go on as they came, HOPS one more (in
 * place), in one copy; to the leaf DEST as ["", "msg", PART...], with one
 * record for the run (their IDs following each other).  The run ends
 * before a frame seen already, at the hop limit, or for elsewhere; a
 * message that starts no run goes alone, through route_msg.
 */
ssize_t
relay_run(struct conn *c, char *frames, size_t len, uint64_t *taken)
{
	const char *ib, *q;
	size_t ibl, hl, ql, off = 0, out = 0, n = 0, bytes, fr, i, fsz;
	unsigned long long v;
	struct frame_iter it;
	struct wire_msg m;
	struct fmsg x;
	struct peer *p;
	ssize_t f;
	char *w, *h;
	int d, via, leaf, from;

	f = frame_parse(frames, len, len, &ib, &ibl);
	if (f <= 0 || wire_msg_head(ib, ibl) == 0 ||
	    wire_decode(ib, ibl, &m) == -1 ||
	    get_fmsg(frames, ib, &m, &x) == -1)
		return (0);
	*taken = 1;
	from = peer_of(c->node);
	if (x.origin == 0 || x.m.hops >= HOP_LIMIT || m.destlen == 0 ||
	    is_all(m.dest, m.destlen) ||
	    (d = node_find(m.dest, m.destlen)) <= 0 ||
	    (via = ls_via(d)) == -1 || !H.p[via].up || via == from ||
	    ((leaf = !H.p[via].relay) &&
		(H.p[via].nidx != d || !lq_room(&H.p[via]))))
		return (route_msg(&m, &x, frames, f, from) == -1 ? -1 : f);
	p = &H.p[via];
	peer_budget(p, 1, &bytes, &fr);
	if (fr > RUN_MAX)
		fr = RUN_MAX;
	/* Each frame after the first: the same "N:DEST,3:msg,N:ORIGIN,"
	 * head, then "2:HH,", the ID, and the same FLAGS. */
	hl = x.hopsp - 2 - ib;
	run.hp[0] = x.hopsp - frames;
	run.ids[0] = x.m.id;
	run.po[0] = x.m.parts - frames;
	run.pl[0] = x.m.plen;
	while (n < fr) {
		if (n > 0) {
			int hops;

			if (off == len)
				break;
			f = frame_parse(frames + off, len - off, len - off, &q,
			    &ibl);
			if (f <= 0 || ibl < hl + 5 || memcmp(q, ib, hl) != 0)
				break;
			/* q is a view into frames, which is ours */
			h = frames + (q - frames) + hl;
			if (h[0] != '2' || h[1] != ':' || h[4] != ',' ||
			    (hops = mesh_hops(h + 2, 2)) == -1 ||
			    hops >= HOP_LIMIT)
				break;
			frame_iter_init(&it, h + 5, ibl - hl - 5);
			if (frame_next_part(&it, &q, &ql) != 1 ||
			    frame_part_num(q, ql, UINT64_MAX, &v) == -1 ||
			    frame_next_part(&it, &q, &ql) != 1 || ql != 1 ||
			    q[0] != x.m.flags || (leaf && v != run.ids[0] + n))
				break;
			run.hp[n] = h + 2 - frames;
			run.ids[n] = v;
			run.po[n] = it.p - frames;
			run.pl[n] = it.n;
		}
		fsz = leaf ? frame_size(WIRE_MSG_PREFIX_LEN + run.pl[n]) :
			     (size_t)f;
		if (out + fsz > bytes ||
		    (leaf ? WIRE_MSG_PREFIX_LEN + run.pl[n] : ibl) > p->maxmsg)
			break;
		run.fs[n] = f;
		run.sz[n++] = fsz;
		off += f;
		out += fsz;
	}
	if (n == 0) {
		/* Not even the first: wait, unless the peer refuses it. */
		if ((leaf ? WIRE_MSG_PREFIX_LEN + run.pl[0] : ibl) > p->maxmsg)
			return (
			    route_msg(&m, &x, frames, f, from) == -1 ? -1 : f);
		return (-1);
	}
	f = run.fs[0];
	if ((w = link_reserve(&p->l, out)) == NULL)
		return (-1);
	/* Now that nothing can fail: each id seen, the run cut at the
	 * first one seen before (route_msg drops it). */
	for (i = 0, off = 0, out = 0; i < n; i++) {
		if (dedup_seen(x.origin, run.ids[i]))
			break;
		h = frames + run.hp[i];
		mesh_set_hops(h, mesh_hops(h, 2) + 1);
		if (leaf)
			wire_put_msgn_fast(w + out, frames + run.po[i],
			    run.pl[i]);
		off += run.fs[i];
		out += run.sz[i];
	}
	if (i == 0) {
		ctr.dup++; /* as route_msg counts it */
		return (f);
	}
	if (!leaf)
		memcpy(w, frames, off);
	link_commit_n(&p->l, run.sz, i);
	if (leaf)
		lq_push(p, x.origin, run.ids[0], i, x.m.want, 0, 0);
	p->sent += i;
	ctr.fwd += i;
	*taken = i;
	return (off);
}

/* [ORIGIN, done|lost, NODE, HOPS, RANGE...]: ours, or passed on. */
static int
answer_in(char *frame, size_t flen, const char *body, const struct wire_msg *m)
{
	struct mesh_answer a;
	uint64_t id, last;
	long budget = PEND_MAX;
	int o = node_find(m->dest, m->destlen), w, r;

	if (mesh_get_answer(body, m, &a) == -1 ||
	    (w = node_get(a.node.p, a.node.len)) == -1)
		return (-2);
	if (o != 0) {
		if (o == -1 || a.hops >= HOP_LIMIT)
			return (0);
		if (!room_for(o, flen, 1))
			return (-1);
		/* body is a view into frame, which is ours to write */
		mesh_set_hops(frame + (body - frame) + a.hops_at, a.hops + 1);
		return (hop_forward(o, frame, flen));
	}
	while ((r = mesh_next_range(&a, &id, &last)) == 1) {
		/* Only our last PEND_MAX ids can be in flight, and a frame
		 * answers each at most once: the work is bounded by what we
		 * sent, whatever the ranges say. */
		if (last >= E.next_id)
			last = E.next_id - 1;
		if (id + PEND_MAX < E.next_id)
			id = E.next_id - PEND_MAX;
		for (; id <= last && budget > 0; id++, budget--)
			e2e_answer(w, id, a.lost);
	}
	return (0);
}

int
relay_frame(char *frame, size_t flen, const char *body, size_t blen, int from)
{
	struct wire_msg m;
	struct fmsg x;

	if (wire_decode(body, blen, &m) == -1)
		return (-2);
	switch (m.cmd) {
	case W_MSG:
		if (get_fmsg(frame, body, &m, &x) == -1)
			return (-2);
		return (route_msg(&m, &x, frame, flen, from));
	case W_DONE:
	case W_LOST:
		return (answer_in(frame, flen, body, &m));
	case W_PING:
		mesh_ping_in(frame, flen, body, &m);
		return (0);
	case W_PONG:
		mesh_pong_in(frame, flen, body, &m);
		return (0);
	case W_ROUTE:
		route_in(&m, from);
		return (0);
	default:
		return (-2);
	}
}

/*
 * A relay link is down: what it had not acknowledged goes the new way too
 * (it stays queued for the link as well; the destination drops whichever
 * copy comes second).  Messages for all have reached the others already.
 */
static void
requeue(struct peer *p)
{
	size_t off = p->l.q.start;

	if (!p->relay)
		return;
	while (off < p->l.q.end) {
		char *frame = p->l.q.base + off;
		const char *body;
		size_t blen;
		ssize_t f = frame_parse(frame, p->l.q.end - off,
		    p->l.q.end - off, &body, &blen);
		struct wire_msg m;
		struct fmsg x;
		int d, via;

		if (f <= 0)
			break;
		if (wire_decode(body, blen, &m) == 0 && m.destlen > 0 &&
		    (d = node_find(m.dest, m.destlen)) > 0 &&
		    (via = ls_via(d)) != -1 && &H.p[via] != p) {
			if (H.p[via].relay) {
				(void)peer_queue(&H.p[via], frame, f);
			} else if (m.cmd == W_MSG &&
			    get_fmsg(frame, body, &m, &x) == 0 && !x.m.spread) {
				(void)leaf_queue(&H.p[via], x.origin, x.m.id,
				    x.m.want, 0, 0, x.m.parts, x.m.plen);
			}
		}
		off += f;
	}
}

void
peer_down(struct peer *p)
{
	p->down_at = 0;
	if (!p->up)
		return;
	p->up = 0;
	log_info("%s: link to %s down", p->addr, p->node);
	links_changed(-1);
	requeue(p);
}

/* A frame of ours being made for spread_send (-M and a little). */
static char *sbuf;
static size_t scap;

int
spread_send(int d, int n, const char *const *p, const size_t *len,
    const char *raw, size_t rawlen)
{
	const char *dest = d < 0 ? "all" : node_name(d);
	size_t dl = d < 0 ? 3 : N.n[d].namelen, plen = 0, body, sz;
	struct wire_msg m;
	struct fmsg x;
	char *o;

	for (int i = 0; i < n; i++)
		plen += frame_size(len[i]);
	plen += rawlen;
	body = mesh_msg_body(dl, conf.melen, frame_digits(E.next_id), plen);
	sz = frame_size(body);
	if (sz > scap) {
		char *b = realloc(sbuf, sz);

		if (b == NULL)
			return (-1);
		sbuf = b;
		scap = sz;
	}
	if (!room_for(d, sz, 0))
		return (-1);
	/* The parts first, where mesh_put_msg puts them (it copies them
	 * there itself when they are elsewhere: here they are in place). */
	o = sbuf + sz - 1 - plen;
	for (int i = 0; i < n; i++)
		o = frame_put(o, p[i], len[i]);
	if (rawlen > 0)
		memcpy(o, raw, rawlen);
	mesh_put_msg(sbuf, body, dest, dl, conf.me, conf.melen, 0, E.next_id,
	    's', sbuf + sz - 1 - plen, plen, &x.hopsp);
	m.cmd = W_MSG;
	m.dest = dest;
	m.destlen = dl;
	x.origin = 0;
	x.m.hops = 0;
	x.m.id = E.next_id;
	x.m.want = 0;
	x.m.spread = 1;
	x.m.flags = 's';
	x.m.parts = sbuf + sz - 1 - plen;
	x.m.plen = plen;
	if (route_msg(&m, &x, sbuf, sz, -1) == -1)
		return (-1);
	E.next_id++;
	return (0);
}
