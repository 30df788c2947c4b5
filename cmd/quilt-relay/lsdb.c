/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "lsdb.h"

#include <limits.h>
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
	LS.next_expiry = LLONG_MAX;
	ls_intervals(LS_REFRESH_DEF, LS_REFRESH_DEF * LS_MAXAGE_FACTOR);
}

void
ls_intervals(long long refresh, long long maxage)
{
	LS.refresh = refresh;
	LS.maxage = maxage;
}

static int
listed(const short *nbr, int n, int v)
{
	for (int i = 0; i < n; i++)
		if (nbr[i] == v)
			return (1);
	return (0);
}

int
ls_lists(int u, int v)
{
	return (listed(LS.n[u].cur.nbr, LS.n[u].cur.nnbr, v));
}

static void
soon(long long t)
{
	if (t < LS.next_expiry)
		LS.next_expiry = t;
}

int
ls_self(const short *nbr, int n, const char *addr, int opts, long long now)
{
	struct lsrec *me = &LS.n[0].cur;
	short list[NBR_MAX];
	int k = 0, changed;

	for (int i = 0; i < n && k < NBR_MAX; i++)
		if (nbr[i] > 0 && !LS.n[nbr[i]].gone &&
		    !listed(list, k, nbr[i]))
			list[k++] = nbr[i];
	changed = me->opts != opts || me->nnbr != k ||
	    strcmp(me->addr, addr) != 0;
	for (int i = 0; i < k && !changed; i++)
		changed = !listed(me->nbr, me->nnbr, list[i]);
	if (changed) {
		/* Never two contents under one sequence number. */
		LS.myseq++;
		me->opts = opts;
		me->nnbr = k;
		memcpy(me->nbr, list, k * sizeof(list[0]));
		snprintf(me->addr, sizeof(me->addr), "%s", addr);
	}
	if (me->seq != LS.myseq) {
		me->seq = LS.myseq;
		LS.orig_at = now;
	}
	return (changed);
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
	uint8_t linked[NODES_MAX] = {0};

	for (int i = 0; i < N.count; i++) {
		before[i] = LS.n[i].via;
		LS.n[i].via = LS.n[i].dist = -1;
	}
	LS.n[0].dist = 0;
	/* A link that is new is a new chance for a node taken for gone:
	 * its record is on its way.  One that stayed up while the node's
	 * record ran out leads nowhere. */
	for (int i = 0; i < n; i++)
		if (node[i] > 0) {
			linked[node[i]] = 1;
			if (!LS.n[node[i]].linked)
				LS.n[node[i]].gone = 0;
		}
	for (int i = 0; i < N.count; i++)
		LS.n[i].linked = linked[i];
	/* Our own links, by name. */
	for (int i = 0; i < n; i++) {
		if (node[i] <= 0 || LS.n[node[i]].dist != -1 ||
		    LS.n[node[i]].gone)
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
			if (LS.n[v].cur.inst[0] ? !ls_lists(v, u) :
						  LS.n[v].gone)
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
	LS.gen++;
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
	rec->opts = 0;
	while ((k = frame_next_part(&it, &q, &ql)) == 1) {
		if (ql == 7 && memcmp(q, "+spread", 7) == 0) {
			rec->opts |= LS_OPT_SPREAD;
			continue;
		}
		if ((v = node_get(q, ql)) == -1 || rec->nnbr == NBR_MAX ||
		    listed(rec->nbr, rec->nnbr, v))
			continue;
		rec->nbr[rec->nnbr++] = v;
	}
	return (k);
}

static void
take_head(const struct mesh_route *r, struct lsrec *rec, long long expires)
{
	memcpy(rec->inst, r->inst.p, r->inst.len);
	rec->inst[r->inst.len] = '\0';
	memcpy(rec->addr, r->addr.p, r->addr.len);
	rec->addr[r->addr.len] = '\0';
	rec->seq = r->seq;
	rec->expires = expires;
	soon(expires);
}

static void
clear(struct lsrec *rec)
{
	rec->inst[0] = '\0';
	rec->nnbr = 0;
	rec->opts = 0;
}

static int
is_dead(const struct lsnode *x, const char *inst, uint64_t seq)
{
	return (x->dead_inst[0] && x->dead_seq == seq &&
	    strcmp(x->dead_inst, inst) == 0);
}

static void
set_dead(struct lsnode *x, const char *inst, uint64_t seq, long long now)
{
	snprintf(x->dead_inst, sizeof(x->dead_inst), "%s", inst);
	x->dead_seq = seq;
	x->dead_until = now + LS.maxage;
	soon(x->dead_until);
}

/* The record ran out or was withdrawn: the second instance's, if any, is
 * all there is; else the node is gone. */
static void
drop_cur(struct lsnode *x, long long now)
{
	if (x->old.inst[0] && x->old.expires > now) {
		x->cur = x->old;
		clear(&x->old);
		return;
	}
	clear(&x->cur);
	clear(&x->old);
	x->gone = 1;
}

/* A withdrawal (life 0) of node n's record (inst, seq): from then on no
 * copy of it is taken, and the record goes if we hold it, or an older
 * one of that instance. */
static int
withdraw(struct lsnode *x, const char *inst, uint64_t seq, long long now)
{
	int out = LS_DEAD;

	if (is_dead(x, inst, seq) ||
	    (x->cur.inst[0] && strcmp(x->cur.inst, inst) == 0 &&
		x->cur.seq > seq))
		return (0); /* nothing new */
	set_dead(x, inst, seq, now);
	if (x->old.inst[0] && strcmp(x->old.inst, inst) == 0 &&
	    x->old.seq <= seq)
		clear(&x->old);
	if (x->cur.inst[0] && strcmp(x->cur.inst, inst) == 0) {
		drop_cur(x, now);
		out |= LS_NEW;
	}
	return (out);
}

/* Withdraw a record about us that is newer than our own, and make ours
 * again, newer: it goes out after the withdrawal. */
static int
age_early(const char *inst, uint64_t seq, long long now)
{
	set_dead(&LS.n[0], inst, seq, now);
	LS.myseq++;
	return (LS_DEAD | LS_SELF);
}

/*
 * A record with our name.  Our own coming back is nothing; one of our own
 * instance further on than we are, or of a later instance, is withdrawn
 * at once (it is forged, or left by a relay of our name that is gone),
 * unless it goes on after that: then it is a second live relay of our
 * name, as is one of an earlier instance whose state changes.
 */
static int
self_input(const struct mesh_route *r, const char *inst, long long life,
    long long now)
{
	struct lsnode *me = &LS.n[0];
	int cmp = mesh_inst_cmp(inst, strlen(inst), me->cur.inst,
	    strlen(me->cur.inst));
	int out = 0;

	if (life == 0) {
		/* Our record withdrawn by another: make it again, newer. */
		if (cmp == 0 && r->seq >= LS.myseq &&
		    !is_dead(me, inst, r->seq)) {
			LS.myseq++;
			return (LS_SELF);
		}
		return (0);
	}
	if (is_dead(me, inst, r->seq))
		return (0); /* a late copy of what we withdrew */
	if (cmp == 0)
		return (r->seq > LS.myseq ? age_early(inst, r->seq, now) : 0);
	if (cmp > 0) {
		if (!(me->dead_inst[0] && strcmp(me->dead_inst, inst) == 0 &&
			r->seq > me->dead_seq) &&
		    !(LS.dup_reported && strcmp(LS.dup_inst, inst) == 0))
			return (age_early(inst, r->seq, now));
		/* It went on after we withdrew it: alive. */
		snprintf(LS.dup_inst, sizeof(LS.dup_inst), "%s", inst);
		LS.dup_seq = r->seq;
		if (!LS.dup_reported) {
			LS.dup_reported = 1;
			return (LS_TWIN);
		}
		return (0);
	}
	/* An earlier instance: one of our past lives, whose state never
	 * changes again, or a second live relay with our name, whose state
	 * does. */
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

int
ls_input(const struct mesh_route *r, int *node, long long now)
{
	char inst[WIRE_INST_MAX + 1];
	struct lsnode *x;
	struct lsrec *cur, *old;
	short was[NBR_MAX];
	int n, nwas, newer, cmp;
	long long life = r->life;

	memcpy(inst, r->inst.p, r->inst.len);
	inst[r->inst.len] = '\0';
	/* No record lives longer than our maximum age, whatever it says. */
	if (life < 0 || life > LS.maxage)
		life = LS.maxage;
	if ((*node = n = node_get(r->node.p, r->node.len)) == -1)
		return (-1);
	if (n == 0)
		return (self_input(r, inst, life, now));
	x = &LS.n[n];
	if (life == 0)
		return (withdraw(x, inst, r->seq, now));
	if (is_dead(x, inst, r->seq))
		return (0);
	cur = &x->cur;
	old = &x->old;
	cmp = cur->inst[0] ?
	    mesh_inst_cmp(inst, r->inst.len, cur->inst, strlen(cur->inst)) :
	    1;
	newer = cmp > 0 || (cmp == 0 && r->seq > cur->seq);
	if (!newer) {
		/* An older instance: a past life, or a twin.  Its news is
		 * passed on (so that the twins hear of each other), once. */
		if (cmp == 0 ||
		    (strcmp(inst, old->inst) == 0 && r->seq <= old->seq))
			return (0);
		take_head(r, old, now + life);
		return (take_nbrs(r, old) == -1 ? -1 : LS_OLD);
	}
	if (cur->inst[0] && cmp != 0)
		*old = *cur;
	nwas = cur->inst[0] ? cur->nnbr : 0;
	memcpy(was, cur->nbr, nwas * sizeof(was[0]));
	if (strcmp(x->ids_inst, inst) != 0) {
		dedup_reset(n); /* a new life: its message ids start again */
		snprintf(x->ids_inst, sizeof(x->ids_inst), "%s", inst);
	}
	take_head(r, cur, now + life);
	if (take_nbrs(r, cur) == -1)
		return (-1);
	x->gone = 0;
	/* A relay lists a node anew: its link to it is new. */
	for (int i = 0; i < cur->nnbr; i++)
		if (!listed(was, nwas, cur->nbr[i]))
			LS.n[cur->nbr[i]].gone = 0;
	return (LS_NEW);
}

int
ls_expire(long long now, long long *next)
{
	int dropped = 0;

	if (now >= LS.next_expiry) {
		LS.next_expiry = LLONG_MAX;
		for (int n = 0; n < N.count; n++) {
			struct lsnode *x = &LS.n[n];

			if (n > 0 && x->cur.inst[0] && now >= x->cur.expires) {
				drop_cur(x, now);
				dropped = 1;
			}
			if (n > 0 && x->old.inst[0] && now >= x->old.expires)
				clear(&x->old);
			if (x->dead_inst[0] && now >= x->dead_until)
				x->dead_inst[0] = '\0';
			if (n > 0 && x->cur.inst[0])
				soon(x->cur.expires);
			if (n > 0 && x->old.inst[0])
				soon(x->old.expires);
			if (x->dead_inst[0])
				soon(x->dead_until);
		}
	}
	if (LS.next_expiry != LLONG_MAX &&
	    (*next == -1 || LS.next_expiry < *next))
		*next = LS.next_expiry;
	return (dropped);
}

void
ls_shift(long long d)
{
	for (int n = 0; n < N.count; n++) {
		LS.n[n].cur.expires += d;
		LS.n[n].old.expires += d;
		LS.n[n].dead_until += d;
	}
	LS.orig_at += d;
	if (LS.next_expiry != LLONG_MAX)
		LS.next_expiry += d;
}

int
ls_has(int n, int kind)
{
	switch (kind) {
	case LS_CUR:
		return (LS.n[n].cur.inst[0] != '\0');
	case LS_OLDREC:
		return (LS.n[n].old.inst[0] != '\0');
	default:
		return (LS.n[n].dead_inst[0] != '\0');
	}
}

size_t
ls_frame(int n, int kind, char *out, size_t cap, long long now)
{
	const struct lsrec *rec = kind == LS_OLDREC ? &LS.n[n].old :
						      &LS.n[n].cur;
	const char *nbr[NBR_MAX + 1];
	long long life;
	int k = 0;

	if (kind == LS_DEADREC)
		return (mesh_put_route(out, cap, node_name(n),
		    LS.n[n].dead_inst, LS.n[n].dead_seq, "", NULL, 0, 0));
	for (int i = 0; i < rec->nnbr; i++)
		nbr[k++] = node_name(rec->nbr[i]);
	if (rec->opts & LS_OPT_SPREAD)
		nbr[k++] = "+spread";
	/* The life it has left; at least 1 ms: 0 would withdraw it. */
	life = n == 0 ? LS.maxage - (now - LS.orig_at) : rec->expires - now;
	if (life < 1)
		life = 1;
	if (life > LS.maxage)
		life = LS.maxage;
	return (mesh_put_route(out, cap, node_name(n), rec->inst, rec->seq,
	    rec->addr, nbr, k, life));
}
