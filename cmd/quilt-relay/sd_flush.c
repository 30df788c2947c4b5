/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_flush.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "sd_groups.h"
#include "sd_order.h"

/* Old views that merge into one new view at most. */
#define OLD_MAX 8

struct oldv {
	uint64_t e;
	char c[WIRE_NODE_MAX + 1];
	struct slog log;
	uint64_t last, maxstable, minapplied, cut;
	int used;
};

/* What the coordinator knows of each member of its proposal. */
struct msta {
	int state, memb, done;
	int old; /* its old view: K.old[old] */
	uint64_t applied, stable, pend;
	uint32_t otag;
	uint8_t got[FLUSH_CHUNKS_MAX / 8];
	int ngot, total;
};

/* A member of the new table, as the coordinator sorts it. */
struct tent {
	char group[SPREAD_GROUP_SIZE], member[SPREAD_GROUP_SIZE];
	uint32_t tag;
	struct spreadd_gid gid; /* the group's, as its member's view has it */
	int netchg; /* the group lost members in that view */
};

struct sd_prop P;

/* The coordinator of proposal P.pe. */
static struct {
	int coord;
	struct msta ms[NODES_MAX];
	struct oldv old[OLD_MAX];
	struct tent *t;
	int tn, tcap;
	struct buf chunks; /* the table's chunks, encoded */
	size_t coff[FLUSH_CHUNKS_MAX], clen[FLUSH_CHUNKS_MAX];
	int nchunks;
	int union_sent, table_sent;
	int32_t nproc, ntime;
	long long retry_at;
} K;

static int (*to_self)(int, const char *, size_t);

uint32_t
flush_fnv(const void *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 16777619u;
	return (h);
}

uint32_t
flush_tag(uint64_t e, const char *c)
{
	return (flush_fnv(c, strlen(c), flush_fnv(&e, sizeof(e), 2166136261u)));
}

const char *
flush_inst(int node)
{
	return (node == 0 ? conf.inst : LS.n[node].cur.inst);
}

int
flush_member(int node)
{
	for (int k = 0; k < P.pn; k++)
		if (P.pm[k] == node)
			return (k);
	return (-1);
}

void
flush_init(int (*self_in)(int, const char *, size_t))
{
	coord_reset();
	free(K.t);
	memset(&K, 0, sizeof(K));
	memset(&P, 0, sizeof(P));
	to_self = self_in;
}

void
flush_send(int node, int n, const char *const *p, const size_t *l,
    const char *raw, size_t rawlen)
{
	size_t sz = rawlen;
	char *b, *o;

	if (node != 0) {
		(void)spread_send(node, n, p, l, raw, rawlen);
		return;
	}
	for (int i = 0; i < n; i++)
		sz += frame_size(l[i]);
	if ((b = malloc(sz ? sz : 1)) == NULL)
		return;
	o = b;
	for (int i = 0; i < n; i++)
		o = frame_put(o, p[i], l[i]);
	if (rawlen > 0)
		memcpy(o, raw, rawlen);
	(void)to_self(0, b, sz);
	free(b);
}

int
flush_head(const char **p, size_t *l, const char *verb, char *ebuf)
{
	p[0] = verb;
	l[0] = strlen(verb);
	p[1] = ebuf;
	l[1] = frame_u64(ebuf, P.pe);
	p[2] = node_name(P.pc);
	l[2] = N.n[P.pc].namelen;
	return (3);
}

static void
fstart_to(int k)
{
	const char *p[3 + 2 * NODES_MAX];
	size_t l[3 + 2 * NODES_MAX];
	char e[24];
	int n = flush_head(p, l, "fstart", e);

	for (int i = 0; i < P.pn; i++) {
		p[n] = node_name(P.pm[i]);
		l[n++] = N.n[P.pm[i]].namelen;
		p[n] = P.pinst[i];
		l[n++] = strlen(P.pinst[i]);
	}
	flush_send(P.pm[k], n, p, l, NULL, 0);
}

void
coord_reset(void)
{
	for (int i = 0; i < OLD_MAX; i++)
		if (K.old[i].used) {
			slog_free(&K.old[i].log);
			K.old[i].used = 0;
		}
	memset(K.ms, 0, sizeof(K.ms));
	K.tn = 0;
	buf_free(&K.chunks);
	K.nchunks = 0;
	K.union_sent = K.table_sent = 0;
	K.coord = 0;
}

int
coord_active(void)
{
	return (K.coord);
}

int
coord_proposes(const short *mem, int n)
{
	if (!K.coord || P.pn != n)
		return (0);
	for (int k = 0; k < n; k++)
		if (P.pm[k] != mem[k] ||
		    strcmp(P.pinst[k], flush_inst(mem[k])) != 0)
			return (0);
	return (1);
}

uint64_t
coord_pend(int k)
{
	return (K.ms[k].pend);
}

void
coord_start(const short *mem, int n)
{
	struct timespec ts;

	coord_reset();
	K.coord = 1;
	P.pe = (P.top_epoch > O.v.epoch ? P.top_epoch : O.v.epoch) + 1;
	P.top_epoch = P.pe;
	P.pc = 0;
	P.pn = n;
	for (int i = 0; i < n; i++) {
		P.pm[i] = mem[i];
		snprintf(P.pinst[i], sizeof(P.pinst[i]), "%s",
		    flush_inst(mem[i]));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	K.nproc = (int32_t)(flush_fnv(conf.me, conf.melen, 2166136261u) &
	    0x7fffffff);
	K.ntime = (int32_t)ts.tv_sec;
	K.retry_at = net_now_ms() + FLUSH_RETRY_MS;
	log_info("spread: a new view, %d relays (epoch %llu)", n,
	    (unsigned long long)P.pe);
	for (int k = 0; k < n; k++)
		fstart_to(k);
}

static int
old_of(uint64_t e, const char *c, size_t cl)
{
	int free_slot = -1;

	for (int i = 0; i < OLD_MAX; i++) {
		if (K.old[i].used && K.old[i].e == e &&
		    strlen(K.old[i].c) == cl && memcmp(K.old[i].c, c, cl) == 0)
			return (i);
		if (!K.old[i].used && free_slot == -1)
			free_slot = i;
	}
	if (free_slot == -1 || cl > WIRE_NODE_MAX ||
	    slog_init(&K.old[free_slot].log, SD_WINDOW, 256 * 1024 * 1024) ==
		-1)
		return (-1);
	memset(K.old[free_slot].c, 0, sizeof(K.old[free_slot].c));
	memcpy(K.old[free_slot].c, c, cl);
	K.old[free_slot].e = e;
	K.old[free_slot].used = 1;
	K.old[free_slot].last = 0;
	K.old[free_slot].maxstable = 0;
	K.old[free_slot].minapplied = UINT64_MAX;
	return (free_slot);
}

/* Every member's state is in: where each old view's regular part ends. */
static void
cuts(void)
{
	for (int i = 0; i < OLD_MAX; i++) {
		struct oldv *o = &K.old[i];
		const char *rec;
		size_t n;

		if (!o->used)
			continue;
		o->cut = o->last;
		for (uint64_t g = o->maxstable + 1; g <= o->last; g++)
			if (slog_get(&o->log, g, &rec, &n) == 0 &&
			    order_is_safe(rec, n)) {
				o->cut = g - 1;
				break;
			}
	}
}

/* Member k: what of its old view it lacks, then where to stop. */
static void
union_to(int k)
{
	struct msta *m = &K.ms[k];
	struct oldv *o = &K.old[m->old];
	const char *p[8], *rec;
	size_t l[8], n;
	char e[24], oe[24], g[24], a[24], b[24], c[24];
	uint64_t count = 0;

	flush_head(p, l, "fmsg", e);
	p[3] = oe;
	l[3] = frame_u64(oe, o->e);
	p[4] = o->c;
	l[4] = strlen(o->c);
	for (uint64_t x = m->applied + 1; x <= o->last; x++) {
		if (slog_get(&o->log, x, &rec, &n) == -1)
			continue;
		p[5] = g;
		l[5] = frame_u64(g, x);
		flush_send(P.pm[k], 6, p, l, rec, n);
		count++;
	}
	flush_head(p, l, "funion", e);
	p[3] = a;
	l[3] = frame_u64(a, o->cut);
	p[4] = b;
	l[4] = frame_u64(b, o->last);
	p[5] = c;
	l[5] = frame_u64(c, count);
	flush_send(P.pm[k], 6, p, l, NULL, 0);
}

static int
tent_cmp(const void *a, const void *b)
{
	const struct tent *x = a, *y = b;
	const char *dx = strchr(x->member + 1, '#'),
		   *dy = strchr(y->member + 1, '#');
	int c = strcmp(x->group, y->group);

	if (c != 0)
		return (c);
	if (dx && dy && (c = strcmp(dx + 1, dy + 1)) != 0)
		return (c);
	return (strcmp(x->member, y->member));
}

/* Every member's memberships are in: the table, sorted, in chunks. */
static int
make_table(void)
{
	qsort(K.t, K.tn, sizeof(*K.t), tent_cmp);
	/* A group whose members all come from one view that lost none of
	 * them keeps its id; any other gets the new view's, index 1. */
	for (int i = 0, j; i < K.tn; i = j) {
		int keep = 1;

		for (j = i; j < K.tn && strcmp(K.t[j].group, K.t[i].group) == 0;
		     j++)
			keep &= K.t[j].tag == K.t[i].tag && !K.t[j].netchg;
		for (int k = i; k < j; k++)
			if (!keep) {
				K.t[k].gid.proc_id = K.nproc;
				K.t[k].gid.time = K.ntime;
				K.t[k].gid.index = 1;
			} else {
				K.t[k].gid = K.t[i].gid;
			}
	}
	buf_free(&K.chunks);
	if (buf_init(&K.chunks, 0,
		(size_t)FLUSH_CHUNKS_MAX * (FLUSH_CHUNK + 256)) == -1)
		return (-1);
	K.nchunks = 0;
	for (int i = 0; i < K.tn || K.nchunks == 0;) {
		size_t start = buf_len(&K.chunks);

		if (K.nchunks == FLUSH_CHUNKS_MAX)
			return (-1);
		while (i < K.tn && buf_len(&K.chunks) - start < FLUSH_CHUNK) {
			const struct tent *t = &K.t[i++];
			size_t gl = strlen(t->group), ml = strlen(t->member);
			char n[4][24];
			size_t nl[4], need;
			char *o;

			nl[0] = frame_u64(n[0], t->tag);
			nl[1] = frame_u64(n[1], (uint32_t)t->gid.proc_id);
			nl[2] = frame_u64(n[2], (uint32_t)t->gid.time);
			nl[3] = frame_u64(n[3], (uint32_t)t->gid.index);
			need = frame_size(gl) + frame_size(ml);
			for (int x = 0; x < 4; x++)
				need += frame_size(nl[x]);
			if (buf_reserve(&K.chunks, need) == -1)
				return (-1);
			o = buf_tail(&K.chunks);
			o = frame_put(o, t->group, gl);
			o = frame_put(o, t->member, ml);
			for (int x = 0; x < 4; x++)
				o = frame_put(o, n[x], nl[x]);
			K.chunks.end += need;
		}
		K.coff[K.nchunks] = start;
		K.clen[K.nchunks++] = buf_len(&K.chunks) - start;
	}
	return (0);
}

static void
table_to(int k)
{
	const char *p[7];
	size_t l[7];
	char e[24], a[24], b[24], c[24], d[24];

	flush_head(p, l, "ftable", e);
	p[4] = b;
	l[4] = frame_u64(b, K.nchunks);
	p[5] = c;
	l[5] = frame_u64(c, (uint64_t)(uint32_t)K.nproc);
	p[6] = d;
	l[6] = frame_u64(d, (uint64_t)(uint32_t)K.ntime);
	for (int i = 0; i < K.nchunks; i++) {
		p[3] = a;
		l[3] = frame_u64(a, i);
		flush_send(P.pm[k], 7, p, l, buf_data(&K.chunks) + K.coff[i],
		    K.clen[i]);
	}
}

static void
coord_step(void)
{
	int all;

	if (!K.coord)
		return;
	all = 1;
	for (int k = 0; k < P.pn; k++)
		all &= K.ms[k].state;
	if (all && !K.union_sent) {
		cuts();
		K.union_sent = 1;
		for (int k = 0; k < P.pn; k++)
			union_to(k);
	}
	all = K.union_sent;
	for (int k = 0; k < P.pn; k++)
		all &= K.ms[k].memb;
	if (all && !K.table_sent) {
		if (make_table() == -1) {
			log_warnx(
			    "spread: the table of the new view is too large");
			return;
		}
		K.table_sent = 1;
		for (int k = 0; k < P.pn; k++)
			table_to(k);
	}
	all = K.table_sent;
	for (int k = 0; k < P.pn; k++)
		all &= K.ms[k].done;
	if (all)
		coord_reset();
}

/* A record of a member's old view (ours too). */
void
coord_msg(int origin, uint64_t oe, const char *oc, size_t ocl, uint64_t gseq,
    const char *rec, size_t n)
{
	int o;

	(void)origin;
	if (K.coord && (o = old_of(oe, oc, ocl)) != -1 &&
	    slog_put(&K.old[o].log, gseq, rec, n) >= 0 && gseq > K.old[o].last)
		K.old[o].last = gseq;
}

/* [OE, OC, APPLIED, STABLE] */
void
coord_state(int origin, struct frame_iter *it)
{
	struct mesh_str oc;
	uint64_t v[3];
	int k, o;

	if (!K.coord || (k = flush_member(origin)) == -1 ||
	    sd_nums(it, v, 1) == -1 ||
	    frame_next_part(it, &oc.p, &oc.len) != 1 ||
	    sd_nums(it, v + 1, 2) == -1 ||
	    (o = old_of(v[0], oc.p, oc.len)) == -1)
		return;
	K.ms[k].state = 1;
	K.ms[k].old = o;
	K.ms[k].applied = v[1];
	K.ms[k].stable = v[2];
	if (v[2] > K.old[o].maxstable)
		K.old[o].maxstable = v[2];
	if (v[1] > K.old[o].last)
		K.old[o].last = v[1];
	coord_step();
}

/* [IDX, TOTAL, PEND, TAG, (GROUP, MEMBER, PROC, TIME, INDEX, NETCHG)...] */
void
coord_memb(int origin, struct frame_iter *it)
{
	struct mesh_str g, m;
	uint64_t v[4];
	int k;

	if (!K.coord || (k = flush_member(origin)) == -1 ||
	    sd_nums(it, v, 4) == -1 || v[1] == 0 || v[1] > FLUSH_CHUNKS_MAX ||
	    v[0] >= v[1] || bget(K.ms[k].got, (int)v[0]))
		return;
	while (frame_next_part(it, &g.p, &g.len) == 1 &&
	    frame_next_part(it, &m.p, &m.len) == 1) {
		struct tent *t;
		uint64_t gv[4];

		if (sd_nums(it, gv, 4) == -1)
			break;
		if (g.len == 0 || g.len >= SPREAD_GROUP_SIZE || m.len == 0 ||
		    m.len >= SPREAD_GROUP_SIZE)
			continue;
		if (K.tn == K.tcap) {
			struct tent *nt = realloc(K.t,
			    (K.tcap ? 2 * K.tcap : 1024) * sizeof(*nt));

			if (nt == NULL)
				return;
			K.t = nt;
			K.tcap = K.tcap ? 2 * K.tcap : 1024;
		}
		t = &K.t[K.tn++];
		memset(t, 0, sizeof(*t));
		memcpy(t->group, g.p, g.len);
		memcpy(t->member, m.p, m.len);
		t->tag = (uint32_t)v[3];
		t->gid.proc_id = (int32_t)(uint32_t)gv[0];
		t->gid.time = (int32_t)(uint32_t)gv[1];
		t->gid.index = (int32_t)(uint32_t)gv[2];
		t->netchg = gv[3] != 0;
	}
	bset(K.ms[k].got, (int)v[0]);
	K.ms[k].total = (int)v[1];
	K.ms[k].pend = v[2];
	K.ms[k].otag = (uint32_t)v[3];
	if (++K.ms[k].ngot == K.ms[k].total)
		K.ms[k].memb = 1;
	coord_step();
}

void
coord_done(int origin)
{
	int k;

	if (K.coord && (k = flush_member(origin)) != -1) {
		K.ms[k].done = 1;
		coord_step();
	}
}

void
coord_tick(long long now, long long *next)
{
	if (!K.coord)
		return;
	if (now >= K.retry_at) {
		for (int k = 0; k < P.pn; k++) {
			if (!K.ms[k].state)
				fstart_to(k);
			else if (K.union_sent && !K.ms[k].memb)
				union_to(k);
			else if (K.table_sent && !K.ms[k].done)
				table_to(k);
		}
		K.retry_at = now + FLUSH_RETRY_MS;
	}
	if (*next == -1 || K.retry_at < *next)
		*next = K.retry_at;
}
