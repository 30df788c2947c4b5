/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of quilt-relay's rooms (built from cmd/quilt-relay/ without
 * main.c): the node table when memory runs out, duplicates by message id,
 * link state due to a relay peer whose queue is full, routes from link
 * state, and the reader's refusal of frames a child may not say.  TAP.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/quilt-relay/alive.h"
#include "../../cmd/quilt-relay/children.h"
#include "../../cmd/quilt-relay/conns.h"
#include "../../cmd/quilt-relay/e2e.h"
#include "../../cmd/quilt-relay/flood.h"
#include "../../cmd/quilt-relay/hops.h"
#include "../../cmd/quilt-relay/local.h"
#include "../../cmd/quilt-relay/lsdb.h"
#include "../../cmd/quilt-relay/nodes.h"
#include "../../cmd/quilt-relay/reader.h"
#include "frame.h"
#include "log.h"
#include "tcase.h"

struct conf conf;
struct counters ctr;
struct loop loop;

static int fail_after = -1; /* allocations that succeed, then none */

static void *
test_calloc(size_t n, size_t size)
{
	if (fail_after == 0)
		return (NULL);
	if (fail_after > 0)
		fail_after--;
	return (calloc(n, size));
}

static pid_t
no_spawn(const char *prog, char *const argv[], int *fd, int *fd3)
{
	errno = EAGAIN;
	return (-1);
}

static void
setup(void)
{
	static int once;

	if (!once) {
		once = 1;
		log_init("t_relay");
		log_level = 0;
		conf.maxmsg = 65536;
		snprintf(conf.me, sizeof(conf.me), "me");
		conf.melen = 2;
		snprintf(conf.inst, sizeof(conf.inst), "0001");
		if (loop_init(&loop) == -1 ||
		    children_init(on_listen_child, on_peer) == -1 ||
		    local_init(-1) == -1)
			abort();
		L.spawn = no_spawn;
	}
	nodes_init("me");
	ls_init("0001");
	flood_init();
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used)
			peer_free(&H.p[i]);
	memset(&H, 0, sizeof(H));
	if (e2e_init(1) == -1)
		abort();
	memset(&ctr, 0, sizeof(ctr));
}

static int
t_alloc_fails(void)
{
	int a, b;

	setup();
	N.alloc = test_calloc;
	fail_after = 1;
	CHECK((a = node_get("first", 5)) == 1);
	/* The second node's table cannot be made: no node, no crash. */
	CHECK(node_get("second", 6) == -1);
	CHECK(node_find("second", 6) == -1);
	CHECK(N.count == 2);
	/* Later, with memory, it is made; ids are checked at once. */
	fail_after = -1;
	CHECK((b = node_get("second", 6)) == 2);
	CHECK(dedup_seen(b, 7) == 0);
	CHECK(dedup_seen(b, 7) == 1);
	CHECK(dedup_seen(a, 7) == 0);
	N.alloc = calloc;
	return (0);
}

static int
t_dedup(void)
{
	int o;

	setup();
	o = node_get("o", 1);
	CHECK(dedup_seen(o, 100) == 0);
	CHECK(dedup_seen(o, 100) == 1);
	CHECK(dedup_seen(o, 99) == 0);
	CHECK(dedup_seen(o, 101) == 0);
	/* Far below the highest: counted as seen. */
	CHECK(dedup_seen(o, 101 + DEDUP_BITS) == 0);
	CHECK(dedup_seen(o, 101) == 1);
	CHECK(dedup_seen(o, 102) == 0); /* in the window, never seen */
	CHECK(dedup_seen(o, 102) == 1);
	/* Taken back, it is new again. */
	dedup_unsee(o, 101 + DEDUP_BITS);
	CHECK(dedup_seen(o, 101 + DEDUP_BITS) == 0);
	/* A new life starts again. */
	dedup_reset(o);
	CHECK(dedup_seen(o, 5) == 0);
	CHECK(dedup_seen(o, 5) == 1);
	return (0);
}

/* A relay peer p up, named node, with a queue that takes frames. */
static struct peer *
relay_peer(const char *node)
{
	int i = peer_new("127.0.0.1:1", 1);
	struct peer *p;

	if (i == -1)
		abort();
	p = &H.p[i];
	snprintf(p->node, sizeof(p->node), "%s", node);
	p->nidx = node_get(node, strlen(node));
	p->up = p->relay = 1;
	p->maxmsg = conf.maxmsg;
	return (p);
}

/* Count the route frames queued to p and not yet acknowledged. */
static int
routes_queued(struct peer *p)
{
	const char *data = buf_data(&p->l.q), *body;
	size_t off = 0, n = buf_len(&p->l.q), blen;
	struct wire_msg m;
	ssize_t f;
	int k = 0;

	while (off < n &&
	    (f = frame_parse(data + off, n - off, n, &body, &blen)) > 0) {
		if (wire_decode(body, blen, &m) == 0 && m.cmd == W_ROUTE)
			k++;
		off += f;
	}
	return (k);
}

static int
t_lsa_waits_for_room(void)
{
	struct peer *p;
	char *w;
	size_t big;
	int before;

	setup();
	p = relay_peer("b");
	/* Fill its queue to the last byte (its window). */
	big = p->l.window - 8;
	CHECK((w = link_reserve(&p->l, big)) != NULL);
	memset(w, 'x', big);
	link_commit(&p->l, big);
	before = routes_queued(p);
	links_changed(-1);
	CHECK(routes_queued(p) == before); /* nothing fitted */
	CHECK(p->lsa_due[0] & 1); /* ours is due */
	/* The big frame is sent and acknowledged: the record goes out. */
	p->l.qs = p->l.q.end;
	CHECK(link_ack(&p->l, p->l.n_queued) == 0);
	lsa_flush(p);
	CHECK(!(p->lsa_due[0] & 1));
	CHECK(buf_len(&p->l.q) > 0);
	return (0);
}

static int
t_lsa_any_size(void)
{
	struct peer *p, *q;
	char name[WIRE_NODE_MAX + 1];
	size_t sz;

	setup();
	p = relay_peer("b");
	/* 63 more peers with names of 64 characters: a record of 4 KiB and
	 * more, which no fixed buffer of the router holds. */
	for (int i = 0; i < NBR_MAX - 1; i++) {
		snprintf(name, sizeof(name), "%02d%062d", i, 0);
		q = relay_peer(name);
		q->relay = 0;
	}
	lsa_self();
	sz = ls_frame(0, LS_CUR, NULL, 0, 0);
	CHECKF(sz > 4096, "%zu", sz);
	links_changed(-1);
	CHECK(routes_queued(p) == 1);
	CHECK(buf_len(&p->l.q) >= sz);
	return (0);
}

static int
t_routes(void)
{
	short node[2], peer[2];
	int a, b, c, n;

	setup();
	a = node_get("a", 1);
	b = node_get("b", 1);
	c = node_get("c", 1);
	/* a and b are our links; a lists us and c, c lists a. */
	strcpy(LS.n[a].cur.inst, "01");
	LS.n[a].cur.nbr[0] = 0;
	LS.n[a].cur.nbr[1] = c;
	LS.n[a].cur.nnbr = 2;
	strcpy(LS.n[c].cur.inst, "02");
	LS.n[c].cur.nbr[0] = a;
	LS.n[c].cur.nnbr = 1;
	node[0] = a, peer[0] = 5;
	node[1] = b, peer[1] = 6;
	CHECK(ls_route(node, peer, 2) == 0);
	CHECK(ls_via(a) == 5 && LS.n[a].dist == 1);
	CHECK(ls_via(b) == 6 && LS.n[b].dist == 1); /* a leaf */
	CHECK(ls_via(c) == 5 && LS.n[c].dist == 2);
	/* c stops listing a: one link end is not enough. */
	LS.n[c].cur.nnbr = 0;
	CHECK((n = ls_route(node, peer, 2)) == 1);
	CHECK(ls_via(c) == -1);
	return (0);
}

/* Node's record (inst, seq, life: -1 for none said; the neighbours nbr,
 * NULL-terminated) to ls_input at now: its bits, -1 malformed. */
static int
take(const char *node, const char *inst, uint64_t seq, long long life,
    long long now, const char *const *nbr)
{
	char f[2048];
	const char *body;
	size_t sz, blen;
	struct wire_msg m;
	struct mesh_route r;
	int k = 0, n;

	while (nbr != NULL && nbr[k] != NULL)
		k++;
	sz = mesh_put_route(f, sizeof(f), node, inst, seq, "127.0.0.1:1", nbr,
	    k, life);
	if (sz > sizeof(f) || frame_parse(f, sz, sz, &body, &blen) <= 0 ||
	    wire_decode(body, blen, &m) == -1 || mesh_get_route(&m, &r) == -1)
		abort();
	return (ls_input(&r, &n, now));
}

#define NB(...) ((const char *const[]){__VA_ARGS__, NULL})
#define FF32 "ffffffffffffffffffffffffffffffff"

/* Routes with our one link to node a (through peer 5). */
static int
route_via(int a)
{
	short node[1] = {a}, peer[1] = {5};

	return (ls_route(node, peer, 1));
}

static int
t_ageing(void)
{
	long long next = -1;
	int a, b;

	setup();
	ls_intervals(1000, 3000);
	a = node_get("a", 1);
	b = node_get("b", 1);
	CHECK(take("a", "01", 1, 3000, 1000, NB("me", "b")) == LS_NEW);
	CHECK(take("b", "02", 1, 3000, 1000, NB("a")) == LS_NEW);
	CHECK(route_via(a) == 0 && ls_via(b) == 5 && LS.n[b].dist == 2);
	CHECK(ls_expire(3999, &next) == 0 && next == 4000);
	/* a's refresh comes; b's does not. */
	CHECK(take("a", "01", 2, 3000, 2000, NB("me", "b")) == LS_NEW);
	next = -1;
	CHECK(ls_expire(4000, &next) == 1 && next == 5000);
	CHECK(!ls_has(b, LS_CUR) && LS.n[b].gone);
	/* a still lists it: b is no leaf of a's, it is gone. */
	CHECK(route_via(a) == 1 && ls_via(b) == -1);
	CHECK(take("a", "01", 3, 3000, 4500, NB("me", "b")) == LS_NEW);
	CHECK(route_via(a) == 0 && ls_via(b) == -1);
	/* a lists it anew (a link of a's that came up): on its way. */
	CHECK(take("a", "01", 4, 3000, 4600, NB("me")) == LS_NEW);
	CHECK(take("a", "01", 5, 3000, 4700, NB("me", "b")) == LS_NEW);
	CHECK(route_via(a) == 0 && ls_via(b) == 5);
	/* Its own record brings it back too; no life lives longer than
	 * our maximum age, and none said is our maximum age. */
	CHECK(take("b", "02", 2, 100000000, 5000, NB("a")) == LS_NEW);
	CHECK(LS.n[b].cur.expires == 8000 && !LS.n[b].gone);
	CHECK(take("b", "02", 3, -1, 6000, NB("a")) == LS_NEW);
	CHECK(LS.n[b].cur.expires == 9000);
	/* A life of 1 ms is over 1 ms later. */
	CHECK(take("b", "02", 4, 1, 6000, NB("a")) == LS_NEW);
	next = -1;
	CHECK(ls_expire(6001, &next) == 1 && !ls_has(b, LS_CUR));
	return (0);
}

static int
t_gone_link(void)
{
	short node[1], peer[1] = {5};
	long long next = -1;
	int a;

	setup();
	ls_intervals(1000, 3000);
	node[0] = a = node_get("a", 1);
	CHECK(take("a", "01", 1, 1000, 0, NB("me")) == LS_NEW);
	CHECK(ls_route(node, peer, 1) == 0 && ls_via(a) == 5);
	CHECK(ls_self(node, 1, "x", 0, 0) == 1 && LS.n[0].cur.nnbr == 1);
	/* Its record runs out while our link to it stays up (a host that
	 * vanished without a word): not even we reach it, nor list it. */
	CHECK(ls_expire(1000, &next) == 1);
	CHECK(ls_route(node, peer, 1) == 1 && ls_via(a) == -1);
	CHECK(ls_self(node, 1, "x", 0, 1000) == 1 && LS.n[0].cur.nnbr == 0);
	/* Its record comes: back. */
	CHECK(take("a", "01", 2, 1000, 1100, NB("me")) == LS_NEW);
	CHECK(ls_route(node, peer, 1) == 0 && ls_via(a) == 5);
	CHECK(ls_self(node, 1, "x", 0, 1100) == 1 && LS.n[0].cur.nnbr == 1);
	/* Gone again; the link goes down and up: a new link, a new chance
	 * (its record is on its way). */
	next = -1;
	CHECK(ls_expire(2100, &next) == 1);
	CHECK(ls_route(node, peer, 1) == 1 && ls_via(a) == -1);
	CHECK(ls_route(node, peer, 0) == 0);
	CHECK(ls_route(node, peer, 1) == 0 && ls_via(a) == 5);
	return (0);
}

static int
t_withdraw(void)
{
	long long next = -1;
	int x;

	setup();
	ls_intervals(1000, 3000);
	x = node_get("x", 1);
	CHECK(take("x", "05", 3, -1, 0, NB("me")) == LS_NEW);
	CHECK(take("x", "05", 2, 0, 0, NULL) == 0); /* older than ours */
	CHECK(take("x", "05", 3, 0, 0, NULL) == (LS_DEAD | LS_NEW));
	CHECK(!ls_has(x, LS_CUR) && ls_has(x, LS_DEADREC) && LS.n[x].gone);
	CHECK(take("x", "05", 3, 0, 0, NULL) == 0); /* not news */
	CHECK(take("x", "05", 3, -1, 10, NB("me")) == 0); /* a late copy */
	CHECK(take("x", "05", 4, -1, 10, NB("me")) == LS_NEW);
	CHECK(!LS.n[x].gone);
	/* A later instance withdrawn: the earlier one is all there is. */
	CHECK(take("x", "06", 1, -1, 20, NB("me")) == LS_NEW);
	CHECK(ls_has(x, LS_OLDREC) && strcmp(LS.n[x].cur.inst, "06") == 0);
	CHECK(take("x", "06", 1, 0, 30, NULL) == (LS_DEAD | LS_NEW));
	CHECK(strcmp(LS.n[x].cur.inst, "05") == 0 && LS.n[x].cur.seq == 4);
	CHECK(!ls_has(x, LS_OLDREC));
	/* Of another instance than the one held, a withdrawal takes
	 * nothing away, and is passed on. */
	CHECK(take("x", "07", 9, 0, 40, NULL) == LS_DEAD);
	CHECK(strcmp(LS.n[x].cur.inst, "05") == 0);
	/* Held for the maximum age: no copy is taken until then. */
	(void)ls_expire(3039, &next);
	CHECK(ls_has(x, LS_DEADREC));
	CHECK(take("x", "07", 9, -1, 3039, NB("me")) == 0);
	(void)ls_expire(3040, &next);
	CHECK(!ls_has(x, LS_DEADREC));
	CHECK(take("x", "07", 9, -1, 3040, NB("me")) == LS_NEW);
	return (0);
}

static int
t_premature(void)
{
	uint64_t s;

	setup();
	ls_intervals(1000, 3000);
	s = LS.myseq;
	/* The largest record there is, about us: withdrawn, then ours. */
	CHECK(take("me", FF32, UINT64_MAX, -1, 0, NULL) == (LS_DEAD | LS_SELF));
	CHECK(LS.myseq == s + 1 && ls_has(0, LS_DEADREC));
	CHECK(strcmp(LS.n[0].dead_inst, FF32) == 0);
	CHECK(take("me", FF32, UINT64_MAX, -1, 10, NULL) == 0); /* a copy */
	CHECK(take("me", FF32, UINT64_MAX, 0, 10, NULL) == 0); /* ours */
	CHECK(LS.myseq == s + 1);
	/* Our own instance further on than we are: the same. */
	CHECK(take("me", "0001", s + 100, -1, 20, NULL) == (LS_DEAD | LS_SELF));
	CHECK(LS.myseq == s + 2);
	CHECK(take("me", "0001", s + 2, -1, 20, NULL) == 0); /* ours */
	/* Our record withdrawn by another: made again, newer. */
	CHECK(take("me", "0001", s + 2, 0, 30, NULL) == LS_SELF);
	CHECK(LS.myseq == s + 3);
	CHECK(take("me", "0001", s + 1, 0, 30, NULL) == 0); /* older */
	/* A later instance that goes on after it was withdrawn is a second
	 * relay of our name: said once, not withdrawn again. */
	CHECK(take("me", "ff00", 5, -1, 40, NULL) == (LS_DEAD | LS_SELF));
	CHECK(take("me", "ff00", 6, -1, 50, NULL) == LS_TWIN);
	CHECK(strcmp(LS.dup_inst, "ff00") == 0);
	CHECK(take("me", "ff00", 7, -1, 60, NULL) == 0);
	return (0);
}

/* The route frames queued to p past its first skip bytes: "node inst
 * life" each ("0", "+", "-": none said), in order. */
static void
queued(struct peer *p, size_t skip, char *out, size_t cap)
{
	const char *data = buf_data(&p->l.q), *body, *q;
	size_t off = skip, n = buf_len(&p->l.q), blen, ql, o = 0;
	struct wire_msg m;
	struct mesh_route r;
	ssize_t f;

	out[0] = '\0';
	while (off < n &&
	    (f = frame_parse(data + off, n - off, n, &body, &blen)) > 0) {
		off += f;
		if (wire_decode(body, blen, &m) == -1 || m.cmd != W_ROUTE ||
		    mesh_get_route(&m, &r) == -1)
			continue;
		o += snprintf(out + o, cap - o, "%s%.*s %.*s %s", o ? ", " : "",
		    (int)r.node.len, r.node.p, (int)r.inst.len, r.inst.p,
		    r.life == 0	   ? "0" :
			r.life > 0 ? "+" :
				     "-");
		while (frame_next_part(&r.nbrs, &q, &ql) == 1)
			;
	}
}

static int
t_flood_withdrawal(void)
{
	struct peer *p;
	char f[512], got[512];
	const char *body;
	size_t sz, blen;
	struct wire_msg m;
	size_t skip;
	int from;

	setup();
	p = relay_peer("b");
	from = p - H.p;
	lsa_self();
	skip = buf_len(&p->l.q);
	/* b passes on a forged record of ours: our withdrawal of it goes
	 * back to b too, then our own record, newer. */
	sz = mesh_put_route(f, sizeof(f), "me", FF32, UINT64_MAX, "", NULL, 0,
	    -1);
	CHECK(frame_parse(f, sz, sz, &body, &blen) > 0 &&
	    wire_decode(body, blen, &m) == 0);
	route_in(&m, from);
	queued(p, skip, got, sizeof(got));
	CHECKF(strcmp(got, "me " FF32 " 0, me 0001 +") == 0, "%s", got);
	return (0);
}

static int
t_frame_life(void)
{
	char f[512];
	const char *body;
	size_t sz, blen;
	struct wire_msg m;
	struct mesh_route r;
	short node[1];

	setup();
	ls_intervals(1000, 3000);
	node[0] = node_get("a", 1);
	(void)ls_self(node, 1, "x", 0, 1000);
	sz = ls_frame(0, LS_CUR, f, sizeof(f), 1500);
	CHECK(frame_parse(f, sz, sz, &body, &blen) > 0 &&
	    wire_decode(body, blen, &m) == 0 && mesh_get_route(&m, &r) == 0);
	CHECKF(r.life == 2500, "%lld", r.life);
	CHECK(take("a", "0a", 1, 2000, 1000, NB("me")) == LS_NEW);
	sz = ls_frame(node[0], LS_CUR, f, sizeof(f), 2500);
	CHECK(frame_parse(f, sz, sz, &body, &blen) > 0 &&
	    wire_decode(body, blen, &m) == 0 && mesh_get_route(&m, &r) == 0);
	CHECKF(r.life == 500, "%lld", r.life);
	/* Past its end (not yet dropped): 1 ms, never 0, which withdraws. */
	sz = ls_frame(node[0], LS_CUR, f, sizeof(f), 9000);
	CHECK(frame_parse(f, sz, sz, &body, &blen) > 0 &&
	    wire_decode(body, blen, &m) == 0 && mesh_get_route(&m, &r) == 0);
	CHECK(r.life == 1);
	return (0);
}

static int
t_lost_update(void)
{
	int x, c;

	setup();
	ls_intervals(1000, 3000);
	x = node_get("x", 1);
	c = node_get("c", 1);
	CHECK(take("x", "01", 5, -1, 0, NB("me")) == LS_NEW);
	CHECK(route_via(x) == 0 && ls_via(c) == -1);
	/* Its update (6: c is a leaf of x) never comes; its refresh (7) says
	 * the same, and is taken: within one refresh interval. */
	CHECK(take("x", "01", 7, -1, 1000, NB("me", "c")) == LS_NEW);
	CHECK(route_via(x) == 0 && ls_via(c) == 5 && LS.n[c].dist == 2);
	CHECK(take("x", "01", 6, -1, 1001, NB("me")) == 0); /* too late */
	CHECK(route_via(x) == 0 && ls_via(c) == 5);
	return (0);
}

/* The frame of parts p (NULL-terminated) to the reader. */
static int
to_reader(int listen, const char *const *p)
{
	char buf[512], *o = buf, *e;
	const char *body;
	size_t len;
	struct resume r = {0, 0};
	int res;

	for (; *p; p++)
		o = frame_put_str(o, *p);
	e = malloc(o - buf + 16);
	len = frame_put(e, buf, o - buf) - e;
	if (frame_parse(e, len, len, &body, &len) <= 0)
		abort();
	res = listen ? listen_frame(e, body, len, &r) :
		       peer_report(&H.p[0], body, len);
	free(e);
	return (res);
}

static int
t_reader_refuses(void)
{
	static const char *const bad_listen[][6] = {
	    {"hello", NULL},
	    {"frames", "1", "1", NULL},
	    {"open", "1", "x", "", NULL},
	    {"close", "x", NULL},
	    {"ack", "1", NULL},
	};
	static const char *const bad_send[][6] = {
	    {"up", "n", "", "64", NULL},
	    {"ack", "x", NULL},
	    {"frames", "1", "1", "", NULL},
	    {"open", "1", "n", "", "x", NULL},
	};

	setup();
	(void)relay_peer("b");
	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++)
		CHECKF(to_reader(1, bad_listen[i]) == -2, "listen %zu", i);
	for (size_t i = 0; i < sizeof(bad_send) / sizeof(bad_send[0]); i++)
		CHECKF(to_reader(0, bad_send[i]) == -1, "send %zu", i);
	/* What they may say is taken. */
	CHECK(to_reader(1, (const char *[]){"close", "7", NULL}) == 0);
	CHECK(to_reader(0, (const char *[]){"down", "cut", NULL}) == 0);
	return (0);
}

/*
 * Turns of the loop from *t, dt ms apart, each polling ready (or not) with
 * timeout ms; what alive_tick asks for is ignored (the turns are fixed).
 */
static void
turns(long long *t, int n, long long dt, int ready, int timeout)
{
	for (int i = 0; i < n; i++) {
		long long next = -1;

		alive_tick(*t, &next);
		alive_poll(ready, timeout);
		*t += dt;
	}
}

/* Is z among the n bytes at p? */
static int
has(const char *p, size_t n, const char *z)
{
	size_t zl = strlen(z);

	for (size_t i = 0; i + zl <= n; i++)
		if (memcmp(p + i, z, zl) == 0)
			return (1);
	return (0);
}

static int
t_dead_timer(void)
{
	struct peer *p;
	long long t = 1000000, next = -1;
	char f[64];
	const char *body;
	size_t len = mesh_put_alive(f, sizeof(f), 3000), blen;
	struct conn *c;

	setup();
	conns_init();
	alive_init(3000);
	p = relay_peer("b");
	/* Heard once a second for 10 s: alive. */
	for (int i = 0; i < 10; i++) {
		turns(&t, 20, 50, 1, 50);
		alive_heard(p->nidx);
	}
	CHECK(p->up && ctr.dead == 0);
	/* (no child: no keep-alive queued) */
	CHECK(ctr.alive_out == 0);
	/* Not read for 10 s (our queues full): its time does not run. */
	turns(&t, 1000, 10, 0, 10);
	CHECK(p->up && ctr.dead == 0);
	/* A turn of 10 s (stopped, or busy) after a poll of 500 ms counts
	 * 600 ms; so do four more. */
	turns(&t, 1, 10000, 1, 500);
	turns(&t, 1, 10000, 1, 500);
	turns(&t, 1, 10000, 1, 500);
	turns(&t, 1, 10000, 1, 500);
	turns(&t, 1, 10000, 1, 500);
	CHECK(p->up && ctr.dead == 0);
	/* Read and silent: dead within -W (600 * 5 = 3000 already, or one
	 * more turn). */
	turns(&t, 2, 10, 1, 10);
	CHECKF(!p->up && ctr.dead == 1, "up %d dead %llu", p->up,
	    (unsigned long long)ctr.dead);
	CHECK(alive_dead(p->nidx));
	/* Its session up again: the link waits for its keep-alive. */
	CHECK(to_reader(0,
		  (const char *[]){"up", "b", "0002", "65536", "127.0.0.1:5",
		      NULL}) == 0);
	CHECK(!p->up && p->held);
	/* ...and tells it where we are, unnumbered, so that a relay that let
	 * go of its own way to us makes one, for its keep-alives. */
	CHECK(p->l.ctl.end > p->l.ctl.start);
	CHECK(has(p->l.ctl.base + p->l.ctl.start, p->l.ctl.end - p->l.ctl.start,
	    "14:server-connect,"));
	turns(&t, 1000, 10, 1, 10);
	CHECK(ctr.dead == 1);
	/* A keep-alive on its connection to us: it answers again, and the
	 * reader brings the link up. */
	CHECK((c = conn_open(9, L.gen, "b", 1, "0002", 4)) != NULL);
	CHECK(c->nidx == p->nidx);
	if (frame_parse(f, len, len, &body, &blen) <= 0)
		abort();
	CHECK(conn_frame(c, 0, f, len, body, blen) == 0);
	CHECK(!alive_dead(p->nidx));
	CHECK(p->up && !p->held);
	CHECK(ctr.alive_in == 1 && ctr.bad == 0);
	/* Its own dead time, if longer than ours, would be the link's. */
	CHECK(A.says[p->nidx] == 3000);
	/* A malformed one drops that connection (counted malformed). */
	CHECK(conn_frame(c, 0, "19:0:,5:alive,5:hello,,", 23,
		  "0:,5:alive,5:hello,", 19) == 0);
	CHECK(ctr.bad == 1 && ctr.alive_in == 1);
	conn_close(c);
	(void)next;
	return (0);
}

static const struct tcase cases[] = {
    {"node table: an id table that cannot be allocated makes no node",
	t_alloc_fails},
    {"duplicates by message id: window, take back, new life", t_dedup},
    {"link state refused by a full queue goes once the queue drains",
	t_lsa_waits_for_room},
    {"link state of any size is queued whole (no fixed buffer)",
	t_lsa_any_size},
    {"routes: breadth first over links both ends list; lost counted", t_routes},
    {"link state ages: a record not refreshed runs out; its node is gone "
     "until its record comes or a relay lists it anew",
	t_ageing},
    {"a neighbour whose record ran out while its link stayed up is not "
     "reached, nor listed, until its record comes or the link is new",
	t_gone_link},
    {"withdrawals: of the record held or older, held for the maximum age; "
     "the second instance takes over",
	t_withdraw},
    {"premature ageing: a record about us newer than ours is withdrawn, "
     "then ours; one that goes on is a twin",
	t_premature},
    {"our withdrawal goes to every relay peer, the sender too, before our "
     "record",
	t_flood_withdrawal},
    {"a record is sent with the life it has left, never 0", t_frame_life},
    {"a lost update is made good by the next refresh", t_lost_update},
    {"the reader refuses what a child may not say (verb, arity)",
	t_reader_refuses},
    {"dead timer: counts only turns that read relays, each no more than "
     "its poll and a little; a dead relay's link waits for its keep-alive, "
     "and tells it where we are",
	t_dead_timer},
};

int
main(void)
{
	return (TC_RUN(cases));
}
