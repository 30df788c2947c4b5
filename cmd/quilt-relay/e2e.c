/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "e2e.h"

#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "conns.h"
#include "hops.h"
#include "lsdb.h"
#include "nodes.h"

struct e2e E;

/* The largest answer: a node name, 5 parts, DONE_BATCH ranges. */
#define ANSWER_MAX (2 * WIRE_NODE_MAX + 64 + DONE_BATCH * (WIRE_RANGE_MAX + 4))
/* A client's lost names at most this many nodes. */
#define LOST_NAMES 40

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

int
rb_add(struct rbatch *b, uint64_t id)
{
	if (b->n > 0 && b->r[b->n - 1][1] + 1 == id) {
		b->r[b->n - 1][1] = id;
		return (0);
	}
	if (b->n == DONE_BATCH)
		return (-1);
	b->r[b->n][0] = b->r[b->n][1] = id;
	b->n++;
	return (0);
}

int
e2e_init(uint64_t first_id)
{
	free(E.pend);
	free(E.maps);
	memset(&E, 0, sizeof(E));
	E.next_id = first_id;
	if ((E.pend = calloc(PEND_MAX, sizeof(*E.pend))) == NULL)
		return (-1);
	return (0);
}

/* Is node w still to write message e?  Lost for it? */
static int
pend_want(const struct pend *e, int w)
{
	return (e->all ? bit_get(E.maps[e - E.pend].want, w) :
			 w == e->dest && e->left > 0);
}

static int
pend_lost(const struct pend *e, int w)
{
	return (e->all ? bit_get(E.maps[e - E.pend].lost, w) :
			 w == e->dest && e->nlost > 0);
}

/* Node w wrote it (lost 0), or cannot (lost 1). */
static void
pend_clear(struct pend *e, int w, int lost)
{
	if (e->all) {
		bit_set(E.maps[e - E.pend].want, w, 0);
		if (lost)
			bit_set(E.maps[e - E.pend].lost, w, 1);
	}
	if (lost)
		e->nlost++;
	e->left--;
}

/* ["", "done", NODE, K...] to the client, the batch so far. */
static void
cd_flush(void)
{
	char f[ANSWER_MAX];
	size_t sz;

	if (E.cd.b.n == 0)
		return;
	sz = mesh_put_answer(f, sizeof(f), NULL, 0,
	    E.cd.node < 0 ? "all" : node_name(E.cd.node), E.cd.b.r, E.cd.b.n);
	if (sz <= sizeof(f))
		lc_to(E.cd.serial, f, sz);
	E.cd.b.n = 0;
}

void
e2e_client_done(uint64_t serial, int node, uint64_t first, uint64_t last)
{
	struct rbatch *b = &E.cd.b;

	if (b->n > 0 && (E.cd.serial != serial || E.cd.node != node))
		cd_flush();
	if (b->n > 0 && b->r[b->n - 1][1] + 1 == first) {
		b->r[b->n - 1][1] = last;
		return;
	}
	if (b->n == DONE_BATCH)
		cd_flush();
	E.cd.serial = serial;
	E.cd.node = node;
	b->r[b->n][0] = first;
	b->r[b->n][1] = last;
	b->n++;
}

/* ["", "lost", K, NODE...] to the client. */
static void
client_lost_names(uint64_t serial, uint64_t k, const struct mesh_str *names,
    int n)
{
	char f[64 + LOST_NAMES * (WIRE_NODE_MAX + 4)];
	size_t sz;

	cd_flush();
	sz = mesh_put_client_lost(f, sizeof(f), k, names, n);
	if (sz <= sizeof(f))
		lc_to(serial, f, sz);
}

void
e2e_client_lost(uint64_t serial, uint64_t k, const char *dest, size_t dl)
{
	struct mesh_str name = {dest, dl > WIRE_NODE_MAX ? WIRE_NODE_MAX : dl};

	client_lost_names(serial, k, &name, 1);
}

void
e2e_settle(struct pend *e)
{
	if (e->left > 0)
		return;
	if (e->nlost == 0) {
		e2e_client_done(e->serial, e->all ? -1 : e->dest, e->k, e->k);
	} else {
		struct mesh_str names[LOST_NAMES];
		int n = 0;

		for (int i = 0; i < N.count && n < LOST_NAMES; i++)
			if (pend_lost(e, i)) {
				names[n].p = node_name(i);
				names[n++].len = N.n[i].namelen;
			}
		client_lost_names(e->serial, e->k, names, n);
	}
	e->used = 0;
}

void
e2e_lost_at(struct pend *e, int w)
{
	pend_clear(e, w, 1);
	e2e_settle(e);
}

void
e2e_answer(int w, uint64_t id, int lost)
{
	struct pend *e = &E.pend[id % PEND_MAX];

	if (!e->used || e->id != id || !pend_want(e, w))
		return;
	pend_clear(e, w, lost);
	e2e_settle(e);
}

struct pend *
e2e_new(uint64_t serial, uint64_t k, int all, int d)
{
	struct pend *e = &E.pend[E.next_id % PEND_MAX];

	if (e->used)
		return (NULL);
	e->id = E.next_id;
	e->serial = serial;
	e->k = k;
	e->all = all;
	e->dest = d;
	e->nlost = 0;
	e->left = 0;
	if (all) {
		struct pend_map *pm;

		if (E.maps == NULL &&
		    (E.maps = calloc(PEND_MAX, sizeof(*E.maps))) == NULL)
			return (NULL);
		pm = &E.maps[e - E.pend];
		memset(pm, 0, sizeof(*pm));
		for (int i = 0; i < N.count; i++)
			if (i == 0 || ls_via(i) != -1) {
				bit_set(pm->want, i, 1);
				e->left++;
			}
	} else {
		e->left = 1;
	}
	e->used = 1;
	return (e);
}

void
e2e_reroute(void)
{
	/* Clients' runs to a leaf next to us that is gone. */
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used || p->relay || p->nidx <= 0 ||
		    ls_via(p->nidx) != -1)
			continue;
		for (size_t j = 0; j < p->lq_count; j++) {
			struct lmeta *e = &p->lq[(p->lq_head + j) % WQ_MAX];

			if (!e->want || e->serial == 0)
				continue;
			if (conn_find(e->serial) != NULL)
				for (uint32_t t = 0; t < e->n; t++)
					e2e_client_lost(e->serial, e->k + t,
					    p->node, strlen(p->node));
			e->want = 0;
		}
	}
	for (size_t i = 0; i < PEND_MAX; i++) {
		struct pend *e = &E.pend[i];

		if (!e->used)
			continue;
		for (int w = 1; w < N.count && e->left > 0; w++) {
			if (!pend_want(e, w) || ls_via(w) != -1)
				continue;
			pend_clear(e, w, 1);
			e2e_settle(e);
		}
	}
}

void
e2e_send_answer(int o, int w, int lost, struct rbatch *b)
{
	char f[ANSWER_MAX];
	size_t sz = mesh_put_answer(f, sizeof(f), node_name(o), lost,
	    node_name(w), b->r, b->n);

	b->n = 0;
	if (sz <= sizeof(f))
		(void)hop_forward(o, f, sz);
}

void
e2e_written(int o, uint64_t id)
{
	if (o == 0) {
		e2e_answer(0, id, 0);
		return;
	}
	if (rb_add(&E.done[o], id) == -1) {
		e2e_send_answer(o, 0, 0, &E.done[o]);
		(void)rb_add(&E.done[o], id);
	}
}

void
e2e_flush(void)
{
	for (int o = 1; o < N.count; o++)
		if (E.done[o].n > 0)
			e2e_send_answer(o, 0, 0, &E.done[o]);
	cd_flush();
}

void
e2e_forget(uint64_t serial)
{
	for (size_t i = 0; i < PEND_MAX; i++)
		if (E.pend[i].used && E.pend[i].serial == serial)
			E.pend[i].used = 0;
}
