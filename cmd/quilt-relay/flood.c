/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "flood.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "children.h"
#include "e2e.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"

/* Woken this much later than asked: the relay did not run meanwhile. */
#define STALL_MS 250

static struct {
	long long next_refresh; /* 0: not yet set */
	long long expect; /* when lsa_tick asked to be called again */
	uint64_t rnd; /* the jitter's xorshift state */
	/* The address we last announced: our record's when we listen on
	 * every interface (where peers reached us from). */
	char addr[ADDR_STRLEN];
} F;

void
flood_init(void)
{
	memset(&F, 0, sizeof(F));
}

static int
bit_get(const uint8_t *b, int i)
{
	return (b[i / 8] >> (i % 8) & 1);
}

static void
bit_set(uint8_t *b, int i, int v)
{
	if (v)
		b[i / 8] |= 1 << (i % 8);
	else
		b[i / 8] &= ~(1 << (i % 8));
}

static uint8_t *
due_map(struct peer *p, int kind)
{
	switch (kind) {
	case LS_CUR:
		return (p->lsa_due);
	case LS_OLDREC:
		return (p->olsa_due);
	default:
		return (p->dlsa_due);
	}
}

static int
any_due(const struct peer *p)
{
	for (size_t i = 0; i < sizeof(p->lsa_due); i++)
		if (p->lsa_due[i] | p->olsa_due[i] | p->dlsa_due[i])
			return (1);
	return (0);
}

/*
 * A record never waits for a buffer of ours: it is written where it goes,
 * at its size, or stays due until the queue has room (the run loop calls
 * this for every relay peer).  A node's withdrawal goes before its record,
 * so that a record made after a withdrawal is never overtaken by it.
 */
void
lsa_flush(struct peer *p)
{
	static const int order[] = {LS_DEADREC, LS_CUR, LS_OLDREC};
	long long now = -1;

	if (!p->used || !p->up || !p->relay || !any_due(p))
		return;
	for (int n = 0; n < N.count; n++) {
		for (int k = 0; k < 3; k++) {
			uint8_t *due = due_map(p, order[k]);
			size_t sz;
			char *w;

			if (!bit_get(due, n))
				continue;
			if (!ls_has(n, order[k])) {
				bit_set(due, n, 0); /* gone meanwhile */
				continue;
			}
			if (now == -1)
				now = net_now_ms();
			sz = ls_frame(n, order[k], NULL, 0, now);
			if ((w = link_reserve(&p->l, sz)) == NULL)
				return;
			ls_frame(n, order[k], w, sz, now);
			link_commit(&p->l, sz);
			p->sent++;
			bit_set(due, n, 0);
		}
	}
}

static void
due(int n, int kind, int except)
{
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (p->used && p->up && p->relay && i != except) {
			bit_set(due_map(p, kind), n, 1);
			lsa_flush(p);
		}
	}
}

void
flood_node(int n, int except)
{
	due(n, LS_CUR, except);
}

/* Where we listen without its transport ("udp:"), or NULL for unix:. */
static const char *
bound_host(void)
{
	if (strncmp(L.bound, "unix:", 5) == 0)
		return (NULL);
	return (L.bound + (strncmp(L.bound, "udp:", 4) == 0 ? 4 : 0));
}

/* Listening on every interface, the address says nothing a peer can use. */
static int
wildcard(const char *a)
{
	if (strncmp(a, "udp:", 4) == 0)
		a += 4;
	return (a[0] == ':' || strncmp(a, "0.0.0.0:", 8) == 0 ||
	    strncmp(a, "[::]:", 5) == 0);
}

int
lsa_self(void)
{
	short node[PEERS_MAX], peer[PEERS_MAX];
	int n = hops_links(node, peer);
	const char *addr = L.bound;

	if (wildcard(L.bound) && F.addr[0])
		addr = F.addr;
	return (ls_self(node, n, addr, conf.spread ? LS_OPT_SPREAD : 0,
	    net_now_ms()));
}

void
flood_lsa(int except)
{
	/* A change is news to the peer just linked too. */
	if (lsa_self())
		except = -1;
	flood_node(0, except);
}

/* Our record again: flooded when it says something new. */
static void
self_update(void)
{
	if (lsa_self())
		flood_node(0, -1);
}

void
routes_update(void)
{
	short node[PEERS_MAX], peer[PEERS_MAX];
	int n = hops_links(node, peer);

	if (ls_route(node, peer, n) > 0)
		e2e_reroute();
}

void
links_changed(int except)
{
	routes_update();
	flood_lsa(except);
}

void
route_in(const struct wire_msg *m, int from)
{
	struct mesh_route r;
	int n, what;

	if (mesh_get_route(m, &r) == -1 ||
	    (what = ls_input(&r, &n, net_now_ms())) == -1) {
		ctr.bad++;
		log_warnx("%s: a malformed route frame",
		    from >= 0 ? H.p[from].addr : "a relay");
		return;
	}
	if (what & LS_TWIN)
		log_warnx(
		    "another relay named %s is alive (instance %s; this one is %s)",
		    conf.me, LS.dup_inst, conf.inst);
	/* Our own withdrawal of a record about us goes back to whoever
	 * sent it too; then our own record, newer. */
	if ((what & LS_DEAD) && n == 0)
		log_warnx("a record of %s newer than its own (instance %s, "
			  "sequence %" PRIu64 ") came by way of %s: withdrawn",
		    conf.me, LS.n[0].dead_inst, LS.n[0].dead_seq,
		    from >= 0 ? H.p[from].addr : "a relay it has no link to");
	if (what & LS_DEAD)
		due(n, LS_DEADREC, n == 0 ? -1 : from);
	if (what & LS_SELF)
		flood_lsa(-1);
	if (what & LS_OLD)
		due(n, LS_OLDREC, from);
	if (what & LS_NEW) {
		routes_update();
		flood_node(n, from);
		self_update(); /* a node we link to may be back */
	}
}

/* The server-connect frame for p's relay, into f: where it reaches us. */
static size_t
where_we_are(char *f, size_t cap, const char *local)
{
	char addr[ADDR_STRLEN];
	const char *b = bound_host();

	if (conf.announce) {
		snprintf(addr, sizeof(addr), "%s", conf.announce);
	} else if (b == NULL || !local[0] ||
	    (!wildcard(b) && strncmp(b, "127.", 4) != 0 &&
		strncmp(b, "[::1]:", 6) != 0)) {
		/* Where we listen, when that is one address: the local
		 * address of a connection may be another of the host's. */
		snprintf(addr, sizeof(addr), "%s", L.bound);
	} else {
		/* The local address of the outgoing connection, with our
		 * listen port (and udp: when we listen there): where the
		 * peer reaches us. */
		const char *port = strrchr(L.bound, ':'), *lc;
		const char *udp = strncmp(L.bound, "udp:", 4) == 0 ? "udp:" :
								     "";

		lc = strrchr(local, ':');
		snprintf(addr, sizeof(addr), "%s%.*s%s", udp, (int)(lc - local),
		    local, port);
		if (wildcard(L.bound))
			snprintf(F.addr, sizeof(F.addr), "%s", addr);
	}
	return (mesh_put_ctl1(f, cap, "server-connect", addr));
}

void
announce(struct peer *p, const char *local)
{
	char f[ADDR_STRLEN + 64];
	size_t sz = where_we_are(f, sizeof(f), local);

	if (sz <= sizeof(f))
		(void)peer_queue(p, f, sz);
	/* Everything we know, so that it routes at once. */
	lsa_self();
	for (int i = 0; i < N.count; i++) {
		if (ls_has(i, LS_DEADREC))
			bit_set(p->dlsa_due, i, 1);
		if (ls_has(i, LS_CUR))
			bit_set(p->lsa_due, i, 1);
	}
	lsa_flush(p);
}

void
announce_held(struct peer *p, const char *local)
{
	char f[ADDR_STRLEN + 64];
	size_t sz = where_we_are(f, sizeof(f), local);

	if (sz <= sizeof(f))
		(void)link_ctl(&p->l, f, sz);
}

/* Up to a tenth less than the interval, so that relays started together
 * spread their refreshes out: never more, which is the promise. */
static long long
jitter(long long interval)
{
	if (F.rnd == 0) {
		for (const char *c = conf.inst; *c; c++)
			F.rnd = F.rnd * 31 + (unsigned char)*c;
		F.rnd |= 1;
	}
	F.rnd ^= F.rnd << 13;
	F.rnd ^= F.rnd >> 7;
	F.rnd ^= F.rnd << 17;
	return (interval - (long long)(F.rnd % (uint64_t)(interval / 10 + 1)));
}

void
lsa_tick(long long now, long long *next)
{
	long long mine = -1;

	if (F.expect != 0 && now > F.expect + STALL_MS)
		ls_shift(now - F.expect);
	if (ls_expire(now, &mine)) {
		routes_update();
		self_update(); /* a node we link to may be gone */
	}
	if (F.next_refresh == 0)
		F.next_refresh = now + jitter(LS.refresh);
	if (now >= F.next_refresh) {
		LS.myseq++;
		flood_lsa(-1);
		F.next_refresh = now + jitter(LS.refresh);
	}
	if (mine == -1 || F.next_refresh < mine)
		mine = F.next_refresh;
	F.expect = mine;
	if (*next == -1 || mine < *next)
		*next = mine;
}
