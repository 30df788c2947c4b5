/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conns.h"
#include "forward.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "sd_groups.h"
#include "sd_flush.h"
#include "sd_order.h"
#include "sd_sess.h"

/* A change of the relays waits this long for link state to settle. */
#define VIEW_SETTLE_MS 100

/* The members' side of the flush (the proposal, P, is sd_flush.c's). */
static struct {
	int phase; /* 0 none, 1 state sent, 2 old view applied, 3 installed */
	long long settle_at;
	unsigned routes_gen; /* LS.gen when we last looked */
	unsigned conns_gen; /* C.changes then */
	/* Our copy of the new table, chunk by chunk. */
	struct buf tab;
	size_t toff[FLUSH_CHUNKS_MAX], tlen[FLUSH_CHUNKS_MAX];
	uint8_t tgot[FLUSH_CHUNKS_MAX / 8];
	int ttotal, tngot;
	int32_t tproc, ttime;
} F;

static int
by_name(const void *a, const void *b)
{
	return (
	    strcmp(node_name(*(const short *)a), node_name(*(const short *)b)));
}

/*
 * Whether relay i reaches us by the links the records list: from i, a
 * relay x goes on to y when each lists the other (as routes are made);
 * it comes to us only from a relay that lists us and whose own
 * connection to us is up.
 */
static int
reaches_us(int i)
{
	short q[NODES_MAX];
	uint8_t seen[NODES_MAX] = {0};
	int head = 0, tail = 0;

	q[tail++] = (short)i;
	seen[i] = 1;
	while (head < tail) {
		int x = q[head++];
		const struct lsrec *r = &LS.n[x].cur;

		if (!r->inst[0])
			continue; /* a leaf lists nobody */
		for (int k = 0; k < r->nnbr; k++) {
			int y = r->nbr[k];

			if (y == 0) {
				if (conn_from(node_name(x)))
					return (1);
				continue;
			}
			if (y > 0 && y < NODES_MAX && !seen[y] &&
			    ls_lists(y, x)) {
				seen[y] = 1;
				q[tail++] = (short)y;
			}
		}
	}
	return (0);
}

/* The relays that serve Spread and reach us, we included, by name. */
static int
candidates(short *mem)
{
	int n = 0;

	mem[n++] = 0;
	/* A neighbour counts once it lists us too and its own connection
	 * to us is up, or once it reaches us another way: a link that works
	 * one way only (its way to us cut, or not back yet after a cut)
	 * reaches nobody both ways, but a relay it leaves is not lost while
	 * a way round stands. */
	for (int i = 1; i < N.count && n < NODES_MAX; i++)
		if (ls_via(i) != -1 && (LS.n[i].cur.opts & LS_OPT_SPREAD) &&
		    LS.n[i].cur.inst[0] && (LS.n[i].dist > 1 || reaches_us(i)))
			mem[n++] = i;
	qsort(mem, n, sizeof(short), by_name);
	return (n);
}

/* Do the candidates differ from the view installed? */
static int
changed(const short *mem, int n)
{
	if (n != O.v.n)
		return (1);
	for (int i = 0; i < n; i++)
		if (mem[i] != O.v.mem[i] ||
		    strcmp(flush_inst(mem[i]), O.v.inst[i]) != 0)
			return (1);
	return (0);
}

void
view_init(void)
{
	struct timespec ts;

	/* Again (a test program's next input): what the last held goes. */
	flush_init(view_in);
	buf_free(&F.tab);
	memset(&F, 0, sizeof(F));
	clock_gettime(CLOCK_REALTIME, &ts);
	O.v.epoch = 1;
	O.v.coord = 0;
	O.v.n = 1;
	O.v.mem[0] = 0;
	snprintf(O.v.inst[0], sizeof(O.v.inst[0]), "%s", conf.inst);
	O.v.proc_id = (int32_t)(flush_fnv(conf.me, conf.melen, 2166136261u) &
	    0x7fffffff);
	O.v.time = (int32_t)ts.tv_sec;
	O.v.tag = flush_tag(1, conf.me);
	O.v.single = 1;
	P.top_epoch = 1;
	P.pe = 1;
	P.pc = 0;
	F.phase = 3;
}

/* ---- the members ------------------------------------------------------- */

/* Held records of the old view, then our state, to the coordinator. */
static void
state_to_coord(void)
{
	const char *p[8], *rec;
	size_t l[8], n;
	char e[24], oe[24], g[24], a[24], b[24];
	uint64_t from = O.stable < O.applied ? O.stable : O.applied;

	flush_head(p, l, "fmsg", e);
	p[3] = oe;
	l[3] = frame_u64(oe, O.v.epoch);
	p[4] = node_name(O.v.coord);
	l[4] = N.n[O.v.coord].namelen;
	for (uint64_t x = from + 1; x <= O.top; x++) {
		if (slog_get(&O.ord, x, &rec, &n) == -1)
			continue;
		p[5] = g;
		l[5] = frame_u64(g, x);
		flush_send(P.pc, 6, p, l, rec, n);
	}
	flush_head(p, l, "fstate", e);
	p[3] = oe;
	l[3] = frame_u64(oe, O.v.epoch);
	p[4] = node_name(O.v.coord);
	l[4] = N.n[O.v.coord].namelen;
	p[5] = a;
	l[5] = frame_u64(a, O.applied);
	p[6] = b;
	l[6] = frame_u64(b, O.stable);
	flush_send(P.pc, 7, p, l, NULL, 0);
}

struct memb_out {
	struct buf b;
	size_t off[FLUSH_CHUNKS_MAX], len[FLUSH_CHUNKS_MAX];
	int n;
};

static int
memb_add(void *arg, const struct sd_group *g, const char *member)
{
	struct memb_out *mo = arg;
	const char *group = g->name;
	size_t gl = strlen(group), ml = strlen(member);
	char n[4][24];
	size_t nl[4], need;
	char *o;

	nl[0] = frame_u64(n[0], (uint32_t)g->gid.proc_id);
	nl[1] = frame_u64(n[1], (uint32_t)g->gid.time);
	nl[2] = frame_u64(n[2], (uint32_t)g->gid.index);
	nl[3] = frame_u64(n[3], (uint64_t)g->netchg);
	need = frame_size(gl) + frame_size(ml);
	for (int x = 0; x < 4; x++)
		need += frame_size(nl[x]);

	if (mo->n == 0 || buf_len(&mo->b) - mo->off[mo->n - 1] >= FLUSH_CHUNK) {
		if (mo->n == FLUSH_CHUNKS_MAX)
			return (-1);
		mo->off[mo->n++] = buf_len(&mo->b);
	}
	if (buf_reserve(&mo->b, need) == -1)
		return (-1);
	o = buf_tail(&mo->b);
	o = frame_put(o, group, gl);
	o = frame_put(o, member, ml);
	for (int x = 0; x < 4; x++)
		o = frame_put(o, n[x], nl[x]);
	mo->b.end += need;
	mo->len[mo->n - 1] = buf_len(&mo->b) - mo->off[mo->n - 1];
	return (0);
}

/* Our local memberships, in chunks, to the coordinator. */
static void
memb_to_coord(void)
{
	struct memb_out mo;
	const char *p[7];
	size_t l[7];
	char e[24], a[24], b[24], c[24], d[24];

	memset(&mo, 0, sizeof(mo));
	if (buf_init(&mo.b, 0,
		(size_t)FLUSH_CHUNKS_MAX * (FLUSH_CHUNK + 256)) == -1)
		return;
	if (groups_local(memb_add, &mo) == -1)
		log_warnx(
		    "spread: too many memberships here for a view change");
	if (mo.n == 0) {
		mo.off[0] = mo.len[0] = 0;
		mo.n = 1;
	}
	flush_head(p, l, "fmemb", e);
	p[4] = b;
	l[4] = frame_u64(b, mo.n);
	p[5] = c;
	l[5] = frame_u64(c, O.pend_first);
	p[6] = d;
	l[6] = frame_u64(d, O.v.tag);
	for (int i = 0; i < mo.n; i++) {
		p[3] = a;
		l[3] = frame_u64(a, i);
		flush_send(P.pc, 7, p, l, buf_data(&mo.b) + mo.off[i],
		    mo.len[i]);
	}
	buf_free(&mo.b);
}

static void
done_to_coord(void)
{
	const char *p[3];
	size_t l[3];
	char e[24];

	flush_head(p, l, "fdone", e);
	flush_send(P.pc, 3, p, l, NULL, 0);
}

/* Relays of our old view that are not in the proposal (or come back as
 * another instance): the lost, for groups_transition. */
static int
lost(const char *d, size_t dl)
{
	for (int i = 0; i < O.v.n; i++) {
		int x = O.v.mem[i], k;

		if (N.n[x].namelen != dl || memcmp(node_name(x), d, dl) != 0)
			continue;
		k = flush_member(x);
		return (k == -1 || strcmp(P.pinst[k], O.v.inst[i]) != 0);
	}
	return (0); /* not of our old view: not ours to drop */
}

/* Apply our old view to last (regular to cut, TRANSITION, the rest). */
static void
apply_union(uint64_t cut, uint64_t last)
{
	const char *rec;
	size_t n;

	for (uint64_t g = O.applied + 1; g <= cut; g++)
		if (slog_get(&O.ord, g, &rec, &n) == 0) {
			O.applied = g;
			order_apply(rec, n);
		}
	groups_transition(lost);
	for (uint64_t g = (O.applied > cut ? O.applied : cut) + 1; g <= last;
	     g++)
		if (slog_get(&O.ord, g, &rec, &n) == 0)
			order_apply(rec, n);
	if (last > O.applied)
		O.applied = last;
}

/* The table is whole: install the new view. */
static void
install(void)
{
	struct sd_entry *e = NULL;
	int n = 0, cap = 0;

	for (int c = 0; c < F.ttotal; c++) {
		struct frame_iter it;
		struct mesh_str g, m;
		uint64_t tv[4];

		frame_iter_init(&it, buf_data(&F.tab) + F.toff[c], F.tlen[c]);
		while (frame_next_part(&it, &g.p, &g.len) == 1 &&
		    frame_next_part(&it, &m.p, &m.len) == 1 &&
		    sd_nums(&it, tv, 4) == 0) {
			if (n == cap) {
				struct sd_entry *ne = realloc(e,
				    (cap = cap ? 2 * cap : 256) * sizeof(*e));

				if (ne == NULL)
					break;
				e = ne;
			}
			e[n].group = g;
			e[n].member = m;
			e[n].vtag = (uint32_t)tv[0];
			e[n].gid.proc_id = (int32_t)(uint32_t)tv[1];
			e[n].gid.time = (int32_t)(uint32_t)tv[2];
			e[n++].gid.index = (int32_t)(uint32_t)tv[3];
		}
	}
	groups_install(e, n, F.tproc, F.ttime);
	free(e);
	slog_clear(&O.ord);
	order_queues_clear();
	O.applied = O.recvd = O.top = O.stable = O.have_sent = 0;
	O.stable_sent = 0;
	O.next_gseq = 1;
	O.v.epoch = P.pe;
	O.v.coord = P.pc;
	O.v.n = P.pn;
	for (int k = 0; k < P.pn; k++) {
		O.v.mem[k] = P.pm[k];
		snprintf(O.v.inst[k], sizeof(O.v.inst[k]), "%s", P.pinst[k]);
		O.have[P.pm[k]] = 0;
		O.expect[P.pm[k]] = P.pc == 0 ? coord_pend(k) : 0;
	}
	O.v.proc_id = F.tproc;
	O.v.time = F.ttime;
	O.v.tag = flush_tag(P.pe, node_name(P.pc));
	O.v.single = P.pn == 1;
	O.v.flushing = 0;
	F.phase = 3;
	buf_free(&F.tab);
	sdc.views++;
	log_info("spread: view of %d relays installed (epoch %llu, by %s)",
	    P.pn, (unsigned long long)P.pe, node_name(P.pc));
	order_resubmit();
}

/* ["fstart", NE, NC, NODE, INST...] */
static void
on_fstart(int origin, uint64_t ne, struct frame_iter *it)
{
	short pm[NODES_MAX];
	char pinst[NODES_MAX][WIRE_INST_MAX + 1];
	struct mesh_str nm, in;
	int pn = 0, me = 0, newer, same;

	while (frame_next_part(it, &nm.p, &nm.len) == 1) {
		int x;

		if (frame_next_part(it, &in.p, &in.len) != 1 ||
		    in.len > WIRE_INST_MAX || pn == NODES_MAX ||
		    (x = node_get(nm.p, nm.len)) == -1)
			return;
		pm[pn] = x;
		memcpy(pinst[pn], in.p, in.len);
		pinst[pn][in.len] = '\0';
		if (x == 0 && strcmp(pinst[pn], conf.inst) == 0)
			me = 1;
		pn++;
	}
	if (!me)
		return;
	newer = ne > P.pe ||
	    (ne == P.pe && origin != P.pc &&
		strcmp(node_name(origin), node_name(P.pc)) < 0);
	same = ne == P.pe && origin == P.pc;
	if (!newer && !same)
		return; /* an older proposal */
	/* Asked again: answered again. */
	if (same && F.phase == 1) {
		state_to_coord();
		return;
	}
	if (same && F.phase == 2) {
		memb_to_coord();
		return;
	}
	if (same && F.phase == 3) {
		if (O.v.epoch == ne)
			done_to_coord();
		return;
	}
	if (origin != 0 && coord_active())
		coord_reset(); /* a newer coordinator: ours is over */
	P.pe = ne;
	P.pc = origin;
	P.pn = pn;
	memcpy(P.pm, pm, sizeof(pm[0]) * pn);
	memcpy(P.pinst, pinst, sizeof(pinst[0]) * pn);
	if (ne > P.top_epoch)
		P.top_epoch = ne;
	F.phase = 1;
	O.v.flushing = 1;
	buf_free(&F.tab);
	memset(F.tgot, 0, sizeof(F.tgot));
	F.ttotal = F.tngot = 0;
	state_to_coord();
}

int
view_in(int origin, const char *parts, size_t plen)
{
	struct frame_iter it;
	struct mesh_str verb, c;
	uint64_t v[5];

	frame_iter_init(&it, parts, plen);
	if (frame_next_part(&it, &verb.p, &verb.len) != 1)
		return (0);
#define IS(s) (verb.len == sizeof(s) - 1 && memcmp(verb.p, s, verb.len) == 0)
	if (!(verb.len > 1 && verb.p[0] == 'f'))
		return (order_in(origin, verb.p, verb.len, &it) == -1 ? -1 : 0);
	/* The flush: NE, NC, and its coordinator is who says so (fstart) or
	 * who we follow (the others). */
	if (sd_nums(&it, v, 1) == -1 || frame_next_part(&it, &c.p, &c.len) != 1)
		return (0);
	if (IS("fstart")) {
		if (c.len == N.n[origin].namelen &&
		    memcmp(c.p, node_name(origin), c.len) == 0)
			on_fstart(origin, v[0], &it);
		return (0);
	}
	if (v[0] != P.pe || c.len != N.n[P.pc].namelen ||
	    memcmp(c.p, node_name(P.pc), c.len) != 0)
		return (0); /* not the proposal we follow */
	if (IS("fmsg")) {
		struct mesh_str oc;

		if (sd_nums(&it, v, 1) == -1 ||
		    frame_next_part(&it, &oc.p, &oc.len) != 1 ||
		    sd_nums(&it, v + 1, 1) == -1)
			return (0);
		/* to the coordinator: a member's record (ours too) */
		coord_msg(origin, v[0], oc.p, oc.len, v[1], it.p, it.n);
		/* to a member: a record of its old view it lacks */
		if (origin == P.pc && F.phase == 1 && v[0] == O.v.epoch &&
		    v[1] > O.applied)
			(void)slog_put(&O.ord, v[1], it.p, it.n);
		return (0);
	}
	if (IS("fstate")) {
		coord_state(origin, &it);
		return (0);
	}
	if (IS("funion")) {
		uint64_t have = 0;
		const char *rec;
		size_t n;

		if (origin != P.pc || F.phase != 1 || sd_nums(&it, v, 3) == -1)
			return (0);
		for (uint64_t g = O.applied + 1; g <= v[1]; g++)
			have += slog_get(&O.ord, g, &rec, &n) == 0;
		if (have < v[2])
			return (
			    0); /* records still on their way: asked again */
		apply_union(v[0], v[1]);
		F.phase = 2;
		memb_to_coord();
		return (0);
	}
	if (IS("fmemb")) {
		coord_memb(origin, &it);
		return (0);
	}
	if (IS("ftable")) {
		if (origin != P.pc || F.phase != 2 ||
		    sd_nums(&it, v, 4) == -1 || v[1] == 0 ||
		    v[1] > FLUSH_CHUNKS_MAX || v[0] >= v[1] ||
		    bget(F.tgot, (int)v[0]))
			return (0);
		if (F.tab.base == NULL &&
		    buf_init(&F.tab, 0,
			(size_t)FLUSH_CHUNKS_MAX * (FLUSH_CHUNK + 256)) == -1)
			return (0);
		if (buf_append(&F.tab, it.p, it.n) == -1)
			return (0);
		F.toff[v[0]] = buf_len(&F.tab) - it.n;
		F.tlen[v[0]] = it.n;
		bset(F.tgot, (int)v[0]);
		F.ttotal = (int)v[1];
		F.tproc = (int32_t)(uint32_t)v[2];
		F.ttime = (int32_t)(uint32_t)v[3];
		if (++F.tngot == F.ttotal) {
			install();
			done_to_coord();
		}
		return (0);
	}
	if (IS("fdone")) {
		coord_done(origin);
		return (0);
	}
#undef IS
	return (0);
}

void
view_tick(long long now, long long *next)
{
	/* Routes changed since we looked: are the relays the same? */
	if (F.routes_gen != LS.gen || F.conns_gen != C.changes) {
		short mem[NODES_MAX];
		int n = candidates(mem);

		F.routes_gen = LS.gen;
		F.conns_gen = C.changes;
		if (changed(mem, n) && F.settle_at == 0)
			F.settle_at = now + VIEW_SETTLE_MS;
	}
	if (F.settle_at && now >= F.settle_at) {
		short mem[NODES_MAX];
		int n = candidates(mem);

		F.settle_at = 0;
		/* The lowest name coordinates; the others wait for it. */
		if (changed(mem, n) && !coord_proposes(mem, n) && mem[0] == 0) {
			F.phase = 0; /* its fstart to us is a new proposal */
			coord_start(mem, n);
		}
	}
	if (F.settle_at && (*next == -1 || F.settle_at < *next))
		*next = F.settle_at;
	coord_tick(now, next);
	order_tick(now, next);
}

void
view_show(FILE *f, int json)
{
	if (json) {
		fprintf(f, "{\"view\":%llu,\"coordinator\":\"%s\",\"relays\":[",
		    (unsigned long long)O.v.epoch, node_name(O.v.coord));
		for (int k = 0; k < O.v.n; k++)
			fprintf(f, "%s\"%s\"", k ? "," : "",
			    node_name(O.v.mem[k]));
		fprintf(f, "]}\n");
	} else {
		fprintf(f, "view\t%llu\t%s", (unsigned long long)O.v.epoch,
		    node_name(O.v.coord));
		for (int k = 0; k < O.v.n; k++)
			fprintf(f, "\t%s", node_name(O.v.mem[k]));
		fprintf(f, "\n");
	}
	groups_show(f, json);
}
