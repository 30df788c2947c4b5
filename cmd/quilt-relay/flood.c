#include "flood.h"

#include <stdio.h>
#include <string.h>

#include "children.h"
#include "e2e.h"
#include "log.h"
#include "lsdb.h"
#include "nodes.h"

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

/*
 * A record never waits for a buffer of ours: it is written where it goes,
 * at its size, or stays due until the queue has room (the run loop calls
 * this for every relay peer).
 */
void
lsa_flush(struct peer *p)
{
	if (!p->used || !p->up || !p->relay)
		return;
	for (int n = 0; n < N.count; n++) {
		for (int old = 0; old < 2; old++) {
			uint8_t *due = old ? p->olsa_due : p->lsa_due;
			size_t sz;
			char *w;

			if (!bit_get(due, n))
				continue;
			sz = ls_frame(n, old, NULL, 0);
			if ((w = link_reserve(&p->l, sz)) == NULL)
				return;
			ls_frame(n, old, w, sz);
			link_commit(&p->l, sz);
			p->sent++;
			bit_set(due, n, 0);
		}
	}
}

static void
due(int n, int old, int except)
{
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (p->used && p->up && p->relay && i != except) {
			bit_set(old ? p->olsa_due : p->lsa_due, n, 1);
			lsa_flush(p);
		}
	}
}

void
flood_node(int n, int except)
{
	due(n, 0, except);
}

void
lsa_self(void)
{
	short node[PEERS_MAX], peer[PEERS_MAX];
	int n = hops_links(node, peer);

	ls_self(node, n, L.bound, conf.spread ? LS_OPT_SPREAD : 0);
}

void
flood_lsa(int except)
{
	lsa_self();
	flood_node(0, except);
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
	LS.myseq++;
	routes_update();
	flood_lsa(except);
}

void
route_in(const struct wire_msg *m, int from)
{
	struct mesh_route r;
	int n, what;

	if (mesh_get_route(m, &r) == -1 || (what = ls_input(&r, &n)) == -1) {
		ctr.bad++;
		log_warnx("%s: a malformed route frame",
		    from >= 0 ? H.p[from].addr : "a relay");
		return;
	}
	if (what & LS_TWIN)
		log_warnx(
		    "another relay named %s is alive (instance %s; this one is %s)",
		    conf.me, LS.dup_inst, conf.inst);
	if (what & LS_SELF)
		flood_lsa(-1);
	if (what & LS_OLD)
		due(n, 1, from);
	if (what & LS_NEW) {
		routes_update();
		flood_node(n, from);
	}
}

void
announce(struct peer *p, const char *local)
{
	char addr[ADDR_STRLEN], f[ADDR_STRLEN + 64];
	size_t sz;

	if (conf.announce) {
		snprintf(addr, sizeof(addr), "%s", conf.announce);
	} else if (strncmp(L.bound, "unix:", 5) == 0 || !local[0]) {
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
	}
	sz = mesh_put_ctl1(f, sizeof(f), "server-connect", addr);
	if (sz <= sizeof(f))
		(void)peer_queue(p, f, sz);
	/* Everything we know, so that it routes at once. */
	lsa_self();
	for (int i = 0; i < N.count; i++)
		if (LS.n[i].cur.inst[0])
			bit_set(p->lsa_due, i, 1);
	lsa_flush(p);
}
