/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "clients.h"

#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "e2e.h"
#include "forward.h"
#include "hops.h"
#include "local.h"
#include "lsdb.h"
#include "nodes.h"
#include "ping.h"

static struct {
	char *msg; /* one message of ours being made */
	size_t cap;
	/* What client_run keeps of a run while it checks it. */
	uint32_t sz[RUN_MAX], bd[RUN_MAX], io[RUN_MAX], il[RUN_MAX];
} CL;

int
clients_init(void)
{
	free(CL.msg);
	CL.cap = conf.maxmsg + 4096;
	if ((CL.msg = malloc(CL.cap)) == NULL)
		return (-1);
	return (0);
}

int
client_msg(const struct wire_msg *m, uint64_t serial, uint64_t k)
{
	int all = is_all(m->dest, m->destlen);
	int d = m->destlen == 0 ? 0 : all ? -1 : node_find(m->dest, m->destlen);
	const char *dest = m->destlen ? m->dest : conf.me;
	size_t dl = m->destlen ? m->destlen : conf.melen;
	size_t body, sz;
	struct pend *e = NULL;
	struct wire_msg mm;
	struct fmsg x;

	if (!e2e_room(E.next_id))
		return (-1); /* too much in flight: wait */
	if (d > 0 && ls_via(d) != -1 && !H.p[ls_via(d)].relay) {
		/* For a leaf next to us: as the leaf takes it, it is done
		 * (client_run takes most of these, a run at a time). */
		struct peer *p = &H.p[ls_via(d)];

		if (over_limit(p, WIRE_MSG_PREFIX_LEN + m->argslen)) {
			if (k)
				e2e_client_lost(serial, k, p->node,
				    strlen(p->node));
			return (0);
		}
		if (!room_for(d, m->argslen + 16, 0) ||
		    leaf_queue(p, 0, E.next_id, k != 0, serial, k, m->args,
			m->argslen) == -1)
			return (-1);
		E.next_id++;
		ctr.in++;
		ctr.fwd++;
		return (0);
	}
	if (k && d > 0 && ls_via(d) == -1) {
		/* Known, and gone: lost at once. */
		if ((e = e2e_new(serial, k, 0, d)) == NULL)
			return (-1);
		E.next_id++;
		e2e_lost_at(e, d);
		return (0);
	}
	body = mesh_msg_body(dl, conf.melen, frame_digits(E.next_id),
	    m->argslen);
	sz = frame_size(body);
	if (d > 0 && ls_via(d) != -1 && over_limit(&H.p[ls_via(d)], body)) {
		/* The next relay takes less (its -M): lost at once. */
		if (k)
			e2e_client_lost(serial, k, dest, dl);
		return (0);
	}
	if (d != 0 && !room_for(d, sz, 0))
		return (-1);
	if (sz > CL.cap)
		return (0); /* over our limit: the listener checked it */
	mesh_put_msg(CL.msg, body, dest, dl, conf.me, conf.melen, 0, E.next_id,
	    k != 0 ? 'e' : '-', m->args, m->argslen, &x.hopsp);
	/* What get_fmsg would find in it, without parsing it. */
	mm.cmd = W_MSG;
	mm.dest = dest;
	mm.destlen = dl;
	x.origin = 0;
	x.m.hops = 0;
	x.m.id = E.next_id;
	x.m.want = k != 0;
	x.m.flags = k != 0 ? 'e' : '-';
	x.m.spread = 0;
	x.m.parts = CL.msg + sz - 1 - m->argslen;
	x.m.plen = m->argslen;
	if (k && (e = e2e_new(serial, k, all, d)) == NULL)
		return (-1);
	if (route_msg(&mm, &x, CL.msg, sz, -1) == -1) {
		/* Room was checked: only our own output can be full. */
		if (e)
			e->used = 0;
		return (-1);
	}
	E.next_id++;
	if (e)
		e2e_settle(e);
	ctr.in++;
	return (0);
}

int
client_frame(struct conn *c, uint64_t k, const struct wire_msg *m)
{
	if (m->cmd == W_PING) {
		client_ping(m, c->serial);
		return (0);
	}
	if (m->cmd != W_MSG)
		return (0);
	if (m->destlen != 0 && !is_all(m->dest, m->destlen) &&
	    node_find(m->dest, m->destlen) == -1) {
		/* No such node, as far as we know. */
		if (!wire_node_ok(m->dest, m->destlen)) {
			lc_drop(c->serial, "bad destination");
			return (0);
		}
		e2e_client_lost(c->serial, k, m->dest, m->destlen);
		return (0);
	}
	/* Followed end to end only when it names a node (-d, -a): for the
	 * peer at the other end, its acknowledgement is the word. */
	return (client_msg(m, c->serial, m->destlen ? k : 0));
}

/*
 * For a leaf next to us, [LEAF, "msg", PART...] frames go on as they came
 * (a plain listener takes its own name as the destination), in one copy,
 * with one record for the run; the leaf's acknowledgements answer the
 * client.  For a node through a relay, each becomes ours, [DEST, "msg",
 * US, "01", ID, "e", PART...], written straight into the link, with its
 * end-to-end record.
 */
ssize_t
client_run(struct conn *c, uint64_t k, const char *frames, size_t len,
    uint64_t *taken)
{
	const char *ib, *head;
	size_t ibl, hl, off = 0, out = 0, n = 0, bytes, fr, fsz, body = 0;
	struct wire_msg m;
	struct peer *p;
	char *w;
	ssize_t f;
	int d, relay;

	f = frame_parse(frames, len, len, &ib, &ibl);
	if (f <= 0 || wire_decode(ib, ibl, &m) == -1 || m.cmd != W_MSG)
		return (0);
	*taken = 1;
	if (m.destlen == 0 || is_all(m.dest, m.destlen) ||
	    (d = node_find(m.dest, m.destlen)) <= 0 || ls_via(d) == -1 ||
	    !H.p[ls_via(d)].up)
		return (0);
	p = &H.p[ls_via(d)];
	relay = p->relay;
	peer_budget(p, 0, &bytes, &fr);
	if (fr > RUN_MAX)
		fr = RUN_MAX;
	if (!relay && !lq_room(p))
		fr = 0;
	/* Each frame after the first: the same "N:DEST,3:msg," head. */
	head = ib;
	hl = m.args - ib;
	while (n < fr) {
		if (n > 0) {
			if (off == len)
				break;
			f = frame_parse(frames + off, len - off, len - off, &ib,
			    &ibl);
			if (f <= 0 || ibl < hl || memcmp(ib, head, hl) != 0)
				break;
		}
		body = ibl;
		if (relay) {
			if (!e2e_room(E.next_id + n))
				break;
			body = mesh_msg_body(m.destlen, conf.melen,
			    frame_digits(E.next_id + n), ibl - hl);
		}
		fsz = frame_size(body);
		if (body > p->maxmsg || out + fsz > bytes)
			break;
		CL.io[n] = ib - frames;
		CL.il[n] = ibl;
		CL.bd[n] = body;
		CL.sz[n++] = fsz;
		off += f;
		out += fsz;
	}
	if (n == 0) {
		/* Not even the first: wait, unless the peer refuses it. */
		if (body > p->maxmsg)
			return (0);
		return (-1);
	}
	if ((w = link_reserve(&p->l, out)) == NULL)
		return (-1);
	if (!relay) {
		memcpy(w, frames, off);
		lq_push(p, 0, E.next_id, n, 1, c->serial, k);
		E.next_id += n;
	} else {
		for (size_t i = 0; i < n; i++, E.next_id++) {
			mesh_put_msg(w, CL.bd[i], m.dest, m.destlen, conf.me,
			    conf.melen, 1, E.next_id, 'e',
			    frames + CL.io[i] + hl, CL.il[i] - hl, NULL);
			w += CL.sz[i];
			(void)e2e_new(c->serial, k + i, 0, d);
		}
	}
	link_commit_n(&p->l, CL.sz, n);
	*taken = n;
	ctr.in += n;
	ctr.fwd += n;
	p->sent += n;
	return (off);
}

void
clients_stdin(void)
{
	struct wire_msg m;

	while (local_next(&m) == 1) {
		if (client_msg(&m, 0, 0) == -1)
			return;
		ctr.local_in++;
		local_take();
	}
}
