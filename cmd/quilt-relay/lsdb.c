#include "lsdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"

struct lsdb LS;

void
ls_init(const char *inst)
{
	memset(&LS, 0, sizeof(LS));
	for (int i = 0; i < NODES_MAX; i++)
		LS.n[i].via = LS.n[i].dist = -1;
	snprintf(LS.n[0].cur.inst, sizeof(LS.n[0].cur.inst), "%s", inst);
	LS.myseq = 1;
}

int
ls_lists(int u, int v)
{
	for (int i = 0; i < LS.n[u].cur.nnbr; i++)
		if (LS.n[u].cur.nbr[i] == v)
			return (1);
	return (0);
}

void
ls_self(const short *nbr, int n, const char *addr)
{
	struct lsrec *me = &LS.n[0].cur;

	me->nnbr = 0;
	for (int i = 0; i < n && me->nnbr < NBR_MAX; i++)
		if (!ls_lists(0, nbr[i]))
			me->nbr[me->nnbr++] = nbr[i];
	me->seq = LS.myseq;
	snprintf(me->addr, sizeof(me->addr), "%s", addr);
}

static int
by_name(const void *a, const void *b)
{
	return (
	    strcmp(node_name(*(const short *)a), node_name(*(const short *)b)));
}

int
ls_route(const short *node, const short *peer, int n)
{
	short q[NODES_MAX], first[PEERS_MAX];
	int head = 0, tail = 0, nq = 0, before[NODES_MAX], lost = 0;

	for (int i = 0; i < N.count; i++) {
		before[i] = LS.n[i].via;
		LS.n[i].via = LS.n[i].dist = -1;
	}
	LS.n[0].dist = 0;
	/* Our own links, by name. */
	for (int i = 0; i < n; i++) {
		if (node[i] <= 0 || LS.n[node[i]].dist != -1)
			continue;
		LS.n[node[i]].dist = 1;
		LS.n[node[i]].via = peer[i];
		first[nq++] = node[i];
	}
	qsort(first, nq, sizeof(short), by_name);
	for (int i = 0; i < nq; i++)
		q[tail++] = first[i];
	while (head < tail) {
		int u = q[head++], nn = 0;
		short next[NBR_MAX];

		if (!LS.n[u].cur.inst[0])
			continue; /* a leaf: nothing beyond */
		for (int j = 0; j < LS.n[u].cur.nnbr; j++) {
			int v = LS.n[u].cur.nbr[j];

			if (LS.n[v].dist != -1)
				continue;
			if (LS.n[v].cur.inst[0] && !ls_lists(v, u))
				continue;
			next[nn++] = v;
		}
		qsort(next, nn, sizeof(short), by_name);
		for (int j = 0; j < nn; j++) {
			int v = next[j];

			if (LS.n[v].dist != -1)
				continue;
			LS.n[v].dist = LS.n[u].dist + 1;
			LS.n[v].via = LS.n[u].via;
			q[tail++] = v;
		}
	}
	for (int i = 1; i < N.count; i++)
		if (before[i] != -1 && LS.n[i].via == -1)
			lost++;
	return (lost);
}

/* The neighbours of r into rec (names not yet known are made). */
static int
take_nbrs(const struct mesh_route *r, struct lsrec *rec)
{
	struct frame_iter it = r->nbrs;
	const char *q;
	size_t ql;
	int k, v;

	rec->nnbr = 0;
	while ((k = frame_next_part(&it, &q, &ql)) == 1) {
		if ((v = node_get(q, ql)) == -1 || rec->nnbr == NBR_MAX)
			continue;
		rec->nbr[rec->nnbr++] = v;
	}
	return (k);
}

static void
take_head(const struct mesh_route *r, struct lsrec *rec)
{
	memcpy(rec->inst, r->inst.p, r->inst.len);
	rec->inst[r->inst.len] = '\0';
	memcpy(rec->addr, r->addr.p, r->addr.len);
	rec->addr[r->addr.len] = '\0';
	rec->seq = r->seq;
}

int
ls_input(const struct mesh_route *r, int *node)
{
	char inst[WIRE_INST_MAX + 1];
	struct lsrec *cur, *old;
	int n, newer, cmp, out = 0;

	memcpy(inst, r->inst.p, r->inst.len);
	inst[r->inst.len] = '\0';
	if ((*node = n = node_get(r->node.p, r->node.len)) == -1)
		return (-1);
	if (n == 0) {
		/* Our name.  Our own record coming back is nothing; another
		 * instance's is either one of our past lives, whose state
		 * never changes again, or a second live relay with our name,
		 * whose state does. */
		if (strcmp(inst, LS.n[0].cur.inst) == 0)
			return (0);
		if (strcmp(LS.dup_inst, inst) == 0 && r->seq > LS.dup_seq &&
		    !LS.dup_reported) {
			LS.dup_reported = 1;
			out |= LS_TWIN;
		}
		if (strcmp(LS.dup_inst, inst) != 0 || r->seq > LS.dup_seq) {
			snprintf(LS.dup_inst, sizeof(LS.dup_inst), "%s", inst);
			LS.dup_seq = r->seq;
			/* Say we are here, a few times: a live twin answers. */
			if (LS.dup_answers < 3) {
				LS.dup_answers++;
				LS.myseq++;
				out |= LS_SELF;
			}
		}
		return (out);
	}
	cur = &LS.n[n].cur;
	old = &LS.n[n].old;
	cmp = strcmp(inst, cur->inst);
	newer = !cur->inst[0] || cmp > 0 || (cmp == 0 && r->seq > cur->seq);
	if (!newer) {
		/* An older instance: a past life, or a twin.  Its news is
		 * passed on (so that the twins hear of each other), once. */
		if (cmp == 0 ||
		    (strcmp(inst, old->inst) == 0 && r->seq <= old->seq))
			return (0);
		take_head(r, old);
		return (take_nbrs(r, old) == -1 ? -1 : LS_OLD);
	}
	if (cur->inst[0] && cmp != 0)
		*old = *cur;
	if (cmp != 0)
		dedup_reset(n); /* a new life: its message ids start again */
	take_head(r, cur);
	return (take_nbrs(r, cur) == -1 ? -1 : LS_NEW);
}

size_t
ls_frame(int n, int old, char *out, size_t cap)
{
	const struct lsrec *rec = old ? &LS.n[n].old : &LS.n[n].cur;
	const char *nbr[NBR_MAX];

	for (int i = 0; i < rec->nnbr; i++)
		nbr[i] = node_name(rec->nbr[i]);
	return (mesh_put_route(out, cap, node_name(n), rec->inst, rec->seq,
	    rec->addr, nbr, rec->nnbr));
}
