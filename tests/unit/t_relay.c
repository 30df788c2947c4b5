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
	sz = ls_frame(0, 0, NULL, 0);
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
    {"the reader refuses what a child may not say (verb, arity)",
	t_reader_refuses},
    {"dead timer: counts only turns that read relays, each no more than "
     "its poll and a little; a dead relay's link waits for its keep-alive",
	t_dead_timer},
};

int
main(void)
{
	return (TC_RUN(cases));
}
