/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "reader.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "alive.h"
#include "children.h"
#include "clients.h"
#include "cmsg.h"
#include "conns.h"
#include "e2e.h"
#include "flood.h"
#include "forward.h"
#include "hops.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "ping.h"

/* A link its child says is down stays a route this long: a relay's
 * incoming side restarted is back well within it (restart 100 ms). */
#define DOWN_GRACE_MS 500

/* ["", "server-connect", ADDR] from relay c: connect back to it. */
static void
server_connect(struct conn *c, const struct wire_msg *m)
{
	char addr[ADDR_STRLEN];
	struct mesh_str a;
	struct addr parsed;
	const char *why;

	if (mesh_get_addr(m, &a) == -1)
		return;
	memcpy(addr, a.p, a.len);
	addr[a.len] = '\0';
	if (addr_parse(addr, 0, &parsed, &why) == -1) {
		log_warnx("%s: server-connect to a bad address %s: %s", c->node,
		    addr, why);
		return;
	}
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used)
			continue;
		if (strcmp(p->addr, addr) == 0)
			return; /* connected, or trying */
		if (p->up && strcmp(p->node, c->node) == 0)
			return;
		if (!p->up && !p->fixed && strcmp(p->node, c->node) == 0) {
			/* It is back at another address. */
			log_info("%s: now at %s", c->node, addr);
			peer_down(p);
			peer_remove(p);
			break;
		}
	}
	log_info("%s: server-connect: connecting back to %s", c->node, addr);
	(void)peer_add(addr, 0);
}

int
conn_frame(struct conn *c, uint64_t k, char *frame, size_t flen,
    const char *body, size_t blen)
{
	struct wire_msg m;
	int r;

	if (c->relay) {
		r = relay_frame(frame, flen, body, blen, peer_of(c->node));
		if (r != -2)
			return (r);
		if (wire_decode(body, blen, &m) == 0) {
			if (m.cmd == W_SERVER_CONNECT) {
				server_connect(c, &m);
				return (0);
			}
			if (m.cmd == W_ALIVE &&
			    (r = alive_in(c->nidx, &m)) != -1) {
				if (r == 1)
					revive(c->nidx);
				return (0);
			}
		}
		ctr.bad++;
		lc_drop(c->serial, "unknown or malformed frame");
		return (0);
	}
	if (wire_decode(body, blen, &m) == -1)
		return (0);
	return (client_frame(c, k, &m));
}

/*
 * Two relays of one name connected to us at once, each of its own
 * instance: both are alive.  Say so here, and tell both (["",
 * "duplicate", OTHER-INSTANCE]).
 */
static void
twins(struct conn *c)
{
	struct conn *d = conn_twin(c);
	char f[WIRE_INST_MAX + 64];
	size_t sz;

	if (d == NULL)
		return;
	log_warnx("two relays named %s are alive (instances %s and %s)",
	    c->node, d->inst, c->inst);
	if ((sz = mesh_put_ctl1(f, sizeof(f), "duplicate", d->inst)) <=
	    sizeof(f))
		lc_to(c->serial, f, sz);
	if ((sz = mesh_put_ctl1(f, sizeof(f), "duplicate", c->inst)) <=
	    sizeof(f))
		lc_to(d->serial, f, sz);
}

/* Connection serial is gone. */
static void
conn_closed(uint64_t serial)
{
	struct conn *c = conn_find(serial);

	if (c == NULL)
		return;
	conn_close(c);
	/* Its way in gone too: the relay is gone. */
	if (c->relay && !conn_from(c->node))
		for (int i = 0; i < H.n; i++)
			if (H.p[i].used && H.p[i].up && H.p[i].down_at &&
			    strcmp(H.p[i].node, c->node) == 0)
				peer_down(&H.p[i]);
	e2e_forget(serial);
}

/*
 * A run of frames of connection c, numbered from k, at frames[0..len) (in
 * our buffer), taken from boff on: a run to a leaf or relay next to us at
 * once, any other frame alone.  0 done; -1 wait (boff says where).
 */
static int
conn_frames(struct conn *c, uint64_t k, char *frames, size_t len,
    struct resume *boff)
{
	uint64_t serial = c->serial;

	k += boff->done;
	for (size_t off = boff->off; off < len;) {
		uint64_t nf = 1;
		const char *body;
		size_t blen;
		ssize_t f;

		f = c->relay ? relay_run(c, frames + off, len - off, &nf) :
			       client_run(c, k, frames + off, len - off, &nf);
		if (f == 0) {
			nf = 1;
			f = frame_parse(frames + off, len - off, len, &body,
			    &blen);
			if (f <= 0)
				return (0);
			if (conn_frame(c, k, frames + off, f, body, blen) == -1)
				f = -1;
		}
		if (f == -1) {
			/* Go on from here when there is room. */
			boff->off = off;
			return (-1);
		}
		if (conn_find(serial) != c)
			return (0);
		off += f;
		k += nf;
		boff->done += nf;
	}
	return (0);
}

/* The listen child said something we do not take: drop it (restarted). */
static void
listen_mad(const char *what)
{
	log_warnx(
	    "a malformed frame from the listen child (%s): it is restarted",
	    what);
	ctr.bad++;
	listen_closed();
	if (L.pid > 0)
		kill(L.pid, SIGTERM);
}

int
listen_frame(char *frame, const char *body, size_t blen, struct resume *boff)
{
	enum cmsg_chan ch = CM_FROM_LISTEN;
	char *base = frame;
	struct cmsg m;
	struct conn *c;

	if (cmsg_decode(ch, body, blen, &m) == -1)
		return (-2);
	switch (m.type) {
	case CM_FRAMES:
		if ((c = conn_find(m.conn)) == NULL)
			return (0);
		if (c->relay)
			alive_heard(c->nidx);
		/* m.data is a view into the frame, which we may write (HOPS
		 * goes up in place): reach it from the frame's start */
		return (conn_frames(c, m.n, base + (m.data.p - base),
		    m.data.len, boff));
	case CM_FRAME: {
		const char *fb;
		size_t fbl;

		if ((c = conn_find(m.conn)) == NULL)
			return (0);
		if (c->relay)
			alive_heard(c->nidx);
		(void)frame_parse(m.data.p, m.data.len, m.data.len, &fb, &fbl);
		return (conn_frame(c, m.n, base + (m.data.p - base), m.data.len,
		    fb, fbl));
	}
	case CM_OPEN:
		if ((c = conn_open(m.conn, L.gen, m.node.p, m.node.len,
			 m.inst.p, m.inst.len)) == NULL) {
			lc_drop(m.conn, "too many connections");
			return (0);
		}
		if (c->relay)
			twins(c);
		return (0);
	case CM_CLOSE:
		conn_closed(m.conn);
		return (0);
	case CM_LISTENING:
		if (!L.bound[0]) {
			memcpy(L.bound, m.text.p, m.text.len);
			L.bound[m.text.len] = '\0';
		}
		return (0);
	default:
		return (-2);
	}
}

void
process_listen(struct link *l)
{
	int *blocked = l == &L.l ? &L.blocked : &L.cblocked;
	struct resume *boff = l == &L.l ? &L.boff : &L.cboff;
	const char *body;
	size_t len;
	ssize_t f;
	int r;

	*blocked = 0;
	while ((f = link_frame(l, 0, &body, &len)) > 0) {
		if ((r = listen_frame(buf_data(&l->in), body, len, boff)) ==
		    -1) {
			*blocked = 1;
			return;
		}
		boff->off = 0;
		boff->done = 0;
		link_take(l, f);
		listen_took(l, f);
		if (r == -2) {
			listen_mad("an unknown verb or a wrong arity");
			return;
		}
	}
	if (f == -1) {
		l->in.start = l->in.end = 0;
		listen_mad(
		    errno == EMSGSIZE ? "over the limit" : "not a netstring");
	}
}

void
on_listen_child(void *arg, int fd, int revents)
{
	struct link *l = arg;
	int *blocked = l == &L.l ? &L.blocked : &L.cblocked;
	ssize_t r;

	if ((revents & POLLOUT) && l == &L.l)
		(void)link_flush(l);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)) || *blocked)
		return;
	r = link_read(l);
	process_listen(l);
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		listen_closed();
		if (L.pid > 0)
			kill(L.pid, SIGTERM);
	}
}

/* Leaf p wrote the first t messages of run e: "done" in its name to
 * whoever waits (batched in b for origin *cur). */
struct leaf_answers {
	struct rbatch b;
	int cur;
};

static void
leaf_wrote(struct peer *p, const struct lmeta *e, uint64_t t, void *arg)
{
	struct leaf_answers *la = arg;

	if (e->serial != 0) {
		/* A client's run: answered to it, if it is still there. */
		if (conn_find(e->serial) != NULL)
			e2e_client_done(e->serial, p->nidx, e->k, e->k + t - 1);
		return;
	}
	for (uint64_t i = 0; i < t; i++) {
		if (e->origin == 0) {
			e2e_answer(p->nidx, e->id + i, 0);
			continue;
		}
		if (la->b.n > 0 && e->origin != la->cur)
			e2e_send_answer(la->cur, p->nidx, 0, &la->b);
		la->cur = e->origin;
		if (rb_add(&la->b, e->id + i) == -1) {
			e2e_send_answer(la->cur, p->nidx, 0, &la->b);
			(void)rb_add(&la->b, e->id + i);
		}
	}
}

/* The link to p is up: its relay learns where we are and what we know. */
static void
link_up(struct peer *p, const char *local)
{
	p->up = 1;
	p->down_at = 0;
	log_info("%s: link to %s up", p->addr, p->node);
	if (p->relay)
		announce(p, local);
	links_changed(p - H.p);
}

/* ["up", NODE, INST, MAXMSG, LOCAL] */
static void
peer_up(struct peer *p, const struct cmsg *m)
{
	char node[WIRE_NODE_MAX + 1], local[ADDR_STRLEN];
	int i = p - H.p, other;

	memcpy(node, m->node.p, m->node.len);
	node[m->node.len] = '\0';
	memcpy(local, m->text.p, m->text.len);
	local[m->text.len] = '\0';
	p->reported = 1;
	if (strcmp(node, conf.me) == 0) {
		log_warnx("%s: that is this node (%s)", p->addr, conf.me);
		if (!p->fixed) {
			peer_down(p);
			peer_remove(p);
		}
		return;
	}
	other = peer_of(node);
	if (other != -1 && other != i) {
		/* Two links to one node: keep one. */
		struct peer *o = &H.p[other];

		if (!p->fixed || o->fixed) {
			log_info("%s: already linked to %s", p->addr, node);
			peer_down(p);
			peer_remove(p);
			return;
		}
		peer_down(o);
		peer_remove(o);
	}
	if (p->up && p->down_at && strcmp(p->node, node) == 0) {
		/* Its restarted child is through: nothing changed. */
		p->down_at = 0;
		if (p->relay)
			announce(p, local);
		return;
	}
	snprintf(p->node, sizeof(p->node), "%s", node);
	p->relay = m->inst.len > 0;
	p->maxmsg = m->n;
	p->nidx = node_get(node, strlen(node));
	p->down_at = 0;
	if (p->relay && alive_dead(p->nidx)) {
		/* Its listen child answers; its router has yet to. */
		log_info("%s: session with %s up; waiting for its keep-alive",
		    p->addr, node);
		snprintf(p->local, sizeof(p->local), "%s", local);
		p->held = 1;
		announce_held(p, local);
		return;
	}
	link_up(p, local);
}

void
revive(int nidx)
{
	log_warnx("%s answers again", node_name(nidx));
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used || !p->held || p->nidx != nidx)
			continue;
		p->held = 0;
		if (peer_of(p->node) == -1)
			link_up(p, p->local);
		else if (!p->fixed)
			peer_remove(p); /* two links to one node: keep one */
	}
}

/* ["frame", BODY]: a frame the peer sent back (not an ack). */
static void
peer_said(struct peer *p, const struct cmsg *c)
{
	struct frame_iter it;
	struct wire_msg m;
	struct mesh_str s;
	const char *t;
	size_t tl;

	if (wire_decode(c->data.p, c->data.len, &m) == -1)
		return;
	if (m.cmd == W_PONG && !p->relay) {
		leaf_pong(p, &m);
	} else if (m.cmd == W_DUPLICATE) {
		if (mesh_get_inst(&m, &s) == -1 || LS.dup_reported ||
		    (s.len == strlen(conf.inst) &&
			memcmp(s.p, conf.inst, s.len) == 0))
			return;
		log_warnx(
		    "another relay named %s is alive (instance %.*s; this one is %s)",
		    conf.me, (int)s.len, s.p, conf.inst);
		LS.dup_reported = 1;
	} else if (m.cmd == W_ERROR) {
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &t, &tl) != 1)
			t = "", tl = 0;
		log_warnx("%s: the peer says: %.*s", p->addr, (int)tl, t);
	}
}

int
peer_report(struct peer *p, const char *body, size_t blen)
{
	struct leaf_answers la = {.cur = -1};
	struct cmsg m;

	if (cmsg_decode(CM_FROM_SEND, body, blen, &m) == -1)
		return (-1);
	switch (m.type) {
	case CM_ACK:
		/* An ack that goes back or too far is old news: ignored. */
		(void)peer_acked(p, m.n, leaf_wrote, &la);
		if (la.b.n > 0)
			e2e_send_answer(la.cur, p->nidx, 0, &la.b);
		return (0);
	case CM_UP:
		peer_up(p, &m);
		return (0);
	case CM_DOWN:
		p->reported = 1;
		p->held = 0;
		/* The peer's own link to us still up: only its incoming side
		 * went, and it is restarting.  Else the relay is gone. */
		if (!p->up)
			return (0);
		if (!conn_from(p->node)) {
			peer_down(p);
			return (0);
		}
		if (!p->down_at || p->down_at > net_now_ms() + DOWN_GRACE_MS)
			p->down_at = net_now_ms() + DOWN_GRACE_MS;
		return (0);
	case CM_PEER:
		peer_said(p, &m);
		return (0);
	default:
		return (-1);
	}
}

void
on_peer(void *arg, int fd, int revents)
{
	struct peer *p = arg;
	const char *body;
	size_t len;
	ssize_t r, f;
	int mad = 0;

	if (revents & POLLOUT)
		(void)link_flush(&p->l);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	r = link_read(&p->l);
	while ((f = link_frame(&p->l, 0, &body, &len)) > 0) {
		mad = peer_report(p, body, len) == -1;
		if (!p->used || p->fd != fd)
			return;
		link_take(&p->l, f);
		if (mad)
			break;
	}
	if (mad || f == -1)
		log_warnx(
		    "%s: a malformed frame from its quilt-send child: it is restarted",
		    p->addr);
	if (mad || f == -1 || r == 0 ||
	    (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		/* The child is gone, or mad: SIGCHLD restarts it. */
		peer_close_fd(p);
		if (p->up && !p->down_at)
			p->down_at = net_now_ms() + RESTART_GRACE_MS;
		if (p->pid > 0)
			kill(p->pid, SIGTERM);
	}
}
