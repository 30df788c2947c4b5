/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "ping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "frame.h"
#include "lsdb.h"
#include "mesh.h"
#include "nodes.h"

#define LPING_MAX 256

/* A ping we asked a leaf to answer, for its origin. */
struct lping {
	short origin;
	uint64_t tag;
	char seq[24];
	int hops, used;
};

static struct {
	struct lping lp[LPING_MAX];
	unsigned next;
	/* Each builder its own buffer, of -M and a little: a client's ping
	 * as a mesh frame (its payload stays there while a pong or a
	 * leaf's ping is made in out). */
	char *ping, *out;
	size_t cap;
} PG;

int
ping_init(void)
{
	free(PG.ping);
	free(PG.out);
	memset(&PG, 0, sizeof(PG));
	PG.cap = conf.maxmsg + 4096;
	if ((PG.ping = malloc(PG.cap)) == NULL ||
	    (PG.out = malloc(PG.cap)) == NULL)
		return (-1);
	return (0);
}

/* A pong for origin's ping (origin 0: our own client, tag its serial). */
static void
send_pong(int origin, const char *node, size_t nl, struct mesh_str tag,
    struct mesh_str seq, int dist, struct mesh_str pay)
{
	unsigned long long serial;
	size_t sz;

	if (origin == 0) {
		if (frame_part_num(tag.p, tag.len, UINT64_MAX, &serial) == -1)
			return;
		sz = mesh_put_client_pong(PG.out, PG.cap, seq.p, seq.len, node,
		    nl, dist, pay.p, pay.len);
		if (sz <= PG.cap)
			lc_to(serial, PG.out, sz);
		return;
	}
	sz = mesh_put_pong(PG.out, PG.cap, node_name(origin), node, nl, tag.p,
	    tag.len, seq.p, seq.len, dist, pay.p, pay.len);
	if (sz <= PG.cap)
		(void)hop_forward(origin, PG.out, sz);
}

void
mesh_ping_in(char *frame, size_t flen, const char *body,
    const struct wire_msg *m)
{
	struct mesh_ping p;
	int o, d;

	if (mesh_get_ping(body, m, &p) == -1 ||
	    (o = node_get(p.origin.p, p.origin.len)) == -1) {
		ctr.bad++;
		return;
	}
	if ((d = node_find(m->dest, m->destlen)) == 0) {
		send_pong(o, conf.me, conf.melen, p.tag, p.seq, p.hops,
		    p.payload);
		return;
	}
	if (d == -1 || p.hops >= HOP_LIMIT || ls_via(d) == -1) {
		ctr.noroute++;
		return;
	}
	if (!H.p[ls_via(d)].relay) {
		/* A leaf answers pings itself: ask it, remember for whom. */
		struct lping *lp = &PG.lp[PG.next % LPING_MAX];
		unsigned long long t = 0;
		char tag[24];
		const char *q[] = {"", "ping", tag, p.payload.p};
		size_t ql[] = {0, 4, 0, p.payload.len}, sz;

		lp->origin = o;
		frame_part_num(p.tag.p, p.tag.len, UINT64_MAX, &t);
		lp->tag = t;
		snprintf(lp->seq, sizeof(lp->seq), "%.*s", (int)p.seq.len,
		    p.seq.p);
		lp->hops = p.hops + 1;
		lp->used = 1;
		ql[2] = frame_u64(tag, PG.next % LPING_MAX);
		PG.next++;
		sz = frame_putv(PG.out, PG.cap, 4, q, ql);
		if (sz <= PG.cap)
			(void)link_ctl(&H.p[ls_via(d)].l, PG.out, sz);
		return;
	}
	/* body is a view into frame, which is ours to write */
	mesh_set_hops(frame + (body - frame) + p.hops_at, p.hops + 1);
	(void)hop_forward(d, frame, flen);
}

void
mesh_pong_in(char *frame, size_t flen, const char *body,
    const struct wire_msg *m)
{
	struct mesh_pong p;
	unsigned long long tag;
	int o = node_find(m->dest, m->destlen);
	size_t sz;

	if (mesh_get_pong(body, m, &p) == -1) {
		ctr.bad++;
		return;
	}
	if (o == 0) {
		if (frame_part_num(p.tag.p, p.tag.len, UINT64_MAX, &tag) ==
		    -1) {
			ctr.bad++;
			return;
		}
		sz = mesh_put_client_pong(PG.out, PG.cap, p.seq.p, p.seq.len,
		    p.node.p, p.node.len, p.distance, p.payload.p,
		    p.payload.len);
		if (sz <= PG.cap)
			lc_to(tag, PG.out, sz);
		return;
	}
	if (p.hops >= HOP_LIMIT)
		return;
	mesh_set_hops(frame + (body - frame) + p.hops_at, p.hops + 1);
	(void)hop_forward(o, frame, flen);
}

void
client_ping(const struct wire_msg *m, uint64_t serial)
{
	struct frame_iter it;
	const char *seq, *pay, *body;
	size_t sl, pl, sz, blen;
	struct wire_msg mm;
	char tag[24];
	int d;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &seq, &sl) != 1 || sl > 20)
		return;
	if (frame_next_part(&it, &pay, &pl) != 1)
		pay = "", pl = 0;
	d = node_find(m->dest, m->destlen);
	if (d == -1 || ls_via(d) == -1)
		return; /* unanswered, as ping(8) over a dead route */
	/* As if it had come from the mesh for its destination. */
	sz = mesh_put_ping(PG.ping, PG.cap, m->dest, m->destlen, conf.me, tag,
	    frame_u64(tag, serial), seq, sl, pay, pl);
	if (sz > PG.cap || frame_parse(PG.ping, sz, sz, &body, &blen) <= 0 ||
	    wire_decode(body, blen, &mm) == -1)
		return;
	mesh_ping_in(PG.ping, sz, body, &mm);
}

void
leaf_pong(struct peer *pr, const struct wire_msg *m)
{
	struct frame_iter it;
	struct mesh_str p[4], tag, seq;
	unsigned long long t;
	struct lping *lp;
	char num[24];

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 3; i++)
		if (frame_next_part(&it, &p[i].p, &p[i].len) != 1)
			return;
	if (frame_next_part(&it, &p[3].p, &p[3].len) != 1)
		p[3].p = "", p[3].len = 0;
	if (frame_part_num(p[0].p, p[0].len, LPING_MAX - 1, &t) == -1)
		return;
	lp = &PG.lp[t];
	if (!lp->used)
		return;
	lp->used = 0;
	tag.p = num;
	tag.len = frame_u64(num, lp->tag);
	seq.p = lp->seq;
	seq.len = strlen(lp->seq);
	send_pong(lp->origin, pr->node, strlen(pr->node), tag, seq, lp->hops,
	    p[3]);
}
