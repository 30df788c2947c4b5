#include "sd_view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"
#include "log.h"
#include "conns.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "sd_groups.h"
#include "sd_order.h"
#include "sd_sess.h"

/* A change of the relays waits this long for link state to settle; a
 * step of the flush not answered is asked again this often. */
#define VIEW_SETTLE_MS 100
#define VIEW_RETRY_MS 500
/* Local memberships and the table go in chunks of about this many bytes. */
#define CHUNK (60 * 1024)
#define CHUNKS_MAX 1024
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
	int old; /* its old view: F.old[old] */
	uint64_t applied, stable, pend;
	uint32_t otag;
	uint8_t got[CHUNKS_MAX / 8];
	int ngot, total;
};

/* A member of the new table, as the coordinator sorts it. */
struct tent {
	char group[SPREAD_GROUP_SIZE], member[SPREAD_GROUP_SIZE];
	uint32_t tag;
	struct spreadd_gid gid; /* the group's, as its member's view has it */
	int netchg; /* the group lost members in that view */
};

static struct {
	/* The newest proposal we follow. */
	uint64_t pe;
	int pc; /* its coordinator, a node index */
	int pn;
	short pm[NODES_MAX];
	char pinst[NODES_MAX][WIRE_INST_MAX + 1];
	int phase; /* 0 none, 1 state sent, 2 old view applied, 3 installed */
	uint64_t top_epoch;
	long long settle_at;
	unsigned routes_gen; /* LS.gen when we last looked */
	unsigned conns_gen; /* C.changes then */
	/* A member's copy of the new table, chunk by chunk. */
	struct buf tab;
	size_t toff[CHUNKS_MAX], tlen[CHUNKS_MAX];
	uint8_t tgot[CHUNKS_MAX / 8];
	int ttotal, tngot;
	int32_t tproc, ttime;
	/* The coordinator of proposal pe. */
	int coord;
	struct msta ms[NODES_MAX];
	struct oldv old[OLD_MAX];
	struct tent *t;
	int tn, tcap;
	struct buf chunks; /* the table's chunks, encoded */
	size_t coff[CHUNKS_MAX], clen[CHUNKS_MAX];
	int nchunks;
	int union_sent, table_sent;
	int32_t nproc, ntime;
	long long retry_at;
} F;

static void coord_reset(void);

static int
bget(const uint8_t *b, int i)
{
	return (b[i / 8] >> (i % 8) & 1);
}

static void
bset(uint8_t *b, int i)
{
	b[i / 8] |= 1 << (i % 8);
}

/* FNV-1a, for tags and the membership's proc_id. */
static uint32_t
fnv(const void *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 16777619u;
	return (h);
}

static uint32_t
view_tag(uint64_t e, const char *c)
{
	return (fnv(c, strlen(c), fnv(&e, sizeof(e), 2166136261u)));
}

static int
by_name(const void *a, const void *b)
{
	return (
	    strcmp(node_name(*(const short *)a), node_name(*(const short *)b)));
}

/* The relays that serve Spread and reach us, we included, by name. */
static int
candidates(short *mem)
{
	int n = 0;

	mem[n++] = 0;
	/* A neighbour counts once it lists us too and its own connection
	 * to us is up: a link that works one way only (its way to us cut)
	 * reaches nobody both ways. */
	for (int i = 1; i < N.count && n < NODES_MAX; i++)
		if (ls_via(i) != -1 && (LS.n[i].cur.opts & LS_OPT_SPREAD) &&
		    LS.n[i].cur.inst[0] &&
		    (LS.n[i].dist > 1 ||
			(ls_lists(i, 0) && conn_from(node_name(i)))))
			mem[n++] = i;
	qsort(mem, n, sizeof(short), by_name);
	return (n);
}

static const char *
inst_of(int node)
{
	return (node == 0 ? conf.inst : LS.n[node].cur.inst);
}

/* Do the candidates differ from the view installed? */
static int
changed(const short *mem, int n)
{
	if (n != O.v.n)
		return (1);
	for (int i = 0; i < n; i++)
		if (mem[i] != O.v.mem[i] ||
		    strcmp(inst_of(mem[i]), O.v.inst[i]) != 0)
			return (1);
	return (0);
}

void
view_init(void)
{
	struct timespec ts;

	/* Again (a test program's next input): what the last held goes. */
	coord_reset();
	buf_free(&F.tab);
	free(F.t);
	memset(&F, 0, sizeof(F));
	clock_gettime(CLOCK_REALTIME, &ts);
	O.v.epoch = 1;
	O.v.coord = 0;
	O.v.n = 1;
	O.v.mem[0] = 0;
	snprintf(O.v.inst[0], sizeof(O.v.inst[0]), "%s", conf.inst);
	O.v.proc_id = (int32_t)(fnv(conf.me, conf.melen, 2166136261u) &
	    0x7fffffff);
	O.v.time = (int32_t)ts.tv_sec;
	O.v.tag = view_tag(1, conf.me);
	O.v.single = 1;
	F.top_epoch = 1;
	F.pe = 1;
	F.pc = 0;
	F.phase = 3;
}

/* A frame of the flush to node (0: us, at once). */
static void
vsend(int node, int n, const char *const *p, const size_t *l, const char *raw,
    size_t rawlen)
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
	(void)view_in(0, b, sz);
	free(b);
}

/* The head of a flush frame: VERB, NE, NC. */
static int
head(const char **p, size_t *l, const char *verb, char *ebuf)
{
	p[0] = verb;
	l[0] = strlen(verb);
	p[1] = ebuf;
	l[1] = frame_u64(ebuf, F.pe);
	p[2] = node_name(F.pc);
	l[2] = N.n[F.pc].namelen;
	return (3);
}

/* ---- the coordinator --------------------------------------------------- */

static void
fstart_to(int k)
{
	const char *p[3 + 2 * NODES_MAX];
	size_t l[3 + 2 * NODES_MAX];
	char e[24];
	int n = head(p, l, "fstart", e);

	for (int i = 0; i < F.pn; i++) {
		p[n] = node_name(F.pm[i]);
		l[n++] = N.n[F.pm[i]].namelen;
		p[n] = F.pinst[i];
		l[n++] = strlen(F.pinst[i]);
	}
	vsend(F.pm[k], n, p, l, NULL, 0);
}

static void
coord_reset(void)
{
	for (int i = 0; i < OLD_MAX; i++)
		if (F.old[i].used) {
			slog_free(&F.old[i].log);
			F.old[i].used = 0;
		}
	memset(F.ms, 0, sizeof(F.ms));
	F.tn = 0;
	buf_free(&F.chunks);
	F.nchunks = 0;
	F.union_sent = F.table_sent = 0;
	F.coord = 0;
}

static void
coord_start(const short *mem, int n)
{
	struct timespec ts;

	coord_reset();
	F.coord = 1;
	F.pe = (F.top_epoch > O.v.epoch ? F.top_epoch : O.v.epoch) + 1;
	F.top_epoch = F.pe;
	F.pc = 0;
	F.pn = n;
	for (int i = 0; i < n; i++) {
		F.pm[i] = mem[i];
		snprintf(F.pinst[i], sizeof(F.pinst[i]), "%s", inst_of(mem[i]));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	F.nproc = (int32_t)(fnv(conf.me, conf.melen, 2166136261u) & 0x7fffffff);
	F.ntime = (int32_t)ts.tv_sec;
	F.retry_at = net_now_ms() + VIEW_RETRY_MS;
	F.phase = 0;
	log_info("spread: a new view, %d relays (epoch %llu)", n,
	    (unsigned long long)F.pe);
	for (int k = 0; k < n; k++)
		fstart_to(k);
}

/* The member k of the proposal that relay node is, or -1. */
static int
member_of(int node)
{
	for (int k = 0; k < F.pn; k++)
		if (F.pm[k] == node)
			return (k);
	return (-1);
}

static int
old_of(uint64_t e, const char *c, size_t cl)
{
	int free_slot = -1;

	for (int i = 0; i < OLD_MAX; i++) {
		if (F.old[i].used && F.old[i].e == e &&
		    strlen(F.old[i].c) == cl && memcmp(F.old[i].c, c, cl) == 0)
			return (i);
		if (!F.old[i].used && free_slot == -1)
			free_slot = i;
	}
	if (free_slot == -1 || cl > WIRE_NODE_MAX ||
	    slog_init(&F.old[free_slot].log, SD_WINDOW, 256 * 1024 * 1024) ==
		-1)
		return (-1);
	memset(F.old[free_slot].c, 0, sizeof(F.old[free_slot].c));
	memcpy(F.old[free_slot].c, c, cl);
	F.old[free_slot].e = e;
	F.old[free_slot].used = 1;
	F.old[free_slot].last = 0;
	F.old[free_slot].maxstable = 0;
	F.old[free_slot].minapplied = UINT64_MAX;
	return (free_slot);
}

/* Every member's state is in: where each old view's regular part ends. */
static void
cuts(void)
{
	for (int i = 0; i < OLD_MAX; i++) {
		struct oldv *o = &F.old[i];
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
	struct msta *m = &F.ms[k];
	struct oldv *o = &F.old[m->old];
	const char *p[8], *rec;
	size_t l[8], n;
	char e[24], oe[24], g[24], a[24], b[24], c[24];
	uint64_t count = 0;

	head(p, l, "fmsg", e);
	p[3] = oe;
	l[3] = frame_u64(oe, o->e);
	p[4] = o->c;
	l[4] = strlen(o->c);
	for (uint64_t x = m->applied + 1; x <= o->last; x++) {
		if (slog_get(&o->log, x, &rec, &n) == -1)
			continue;
		p[5] = g;
		l[5] = frame_u64(g, x);
		vsend(F.pm[k], 6, p, l, rec, n);
		count++;
	}
	head(p, l, "funion", e);
	p[3] = a;
	l[3] = frame_u64(a, o->cut);
	p[4] = b;
	l[4] = frame_u64(b, o->last);
	p[5] = c;
	l[5] = frame_u64(c, count);
	vsend(F.pm[k], 6, p, l, NULL, 0);
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
	qsort(F.t, F.tn, sizeof(*F.t), tent_cmp);
	/* A group whose members all come from one view that lost none of
	 * them keeps its id; any other gets the new view's, index 1. */
	for (int i = 0, j; i < F.tn; i = j) {
		int keep = 1;

		for (j = i; j < F.tn && strcmp(F.t[j].group, F.t[i].group) == 0;
		     j++)
			keep &= F.t[j].tag == F.t[i].tag && !F.t[j].netchg;
		for (int k = i; k < j; k++)
			if (!keep) {
				F.t[k].gid.proc_id = F.nproc;
				F.t[k].gid.time = F.ntime;
				F.t[k].gid.index = 1;
			} else {
				F.t[k].gid = F.t[i].gid;
			}
	}
	buf_free(&F.chunks);
	if (buf_init(&F.chunks, 0, (size_t)CHUNKS_MAX * (CHUNK + 256)) == -1)
		return (-1);
	F.nchunks = 0;
	for (int i = 0; i < F.tn || F.nchunks == 0;) {
		size_t start = buf_len(&F.chunks);

		if (F.nchunks == CHUNKS_MAX)
			return (-1);
		while (i < F.tn && buf_len(&F.chunks) - start < CHUNK) {
			const struct tent *t = &F.t[i++];
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
			if (buf_reserve(&F.chunks, need) == -1)
				return (-1);
			o = buf_tail(&F.chunks);
			o = frame_put(o, t->group, gl);
			o = frame_put(o, t->member, ml);
			for (int x = 0; x < 4; x++)
				o = frame_put(o, n[x], nl[x]);
			F.chunks.end += need;
		}
		F.coff[F.nchunks] = start;
		F.clen[F.nchunks++] = buf_len(&F.chunks) - start;
	}
	return (0);
}

static void
table_to(int k)
{
	const char *p[7];
	size_t l[7];
	char e[24], a[24], b[24], c[24], d[24];

	head(p, l, "ftable", e);
	p[4] = b;
	l[4] = frame_u64(b, F.nchunks);
	p[5] = c;
	l[5] = frame_u64(c, (uint64_t)(uint32_t)F.nproc);
	p[6] = d;
	l[6] = frame_u64(d, (uint64_t)(uint32_t)F.ntime);
	for (int i = 0; i < F.nchunks; i++) {
		p[3] = a;
		l[3] = frame_u64(a, i);
		vsend(F.pm[k], 7, p, l, buf_data(&F.chunks) + F.coff[i],
		    F.clen[i]);
	}
}

static void
coord_step(void)
{
	int all;

	if (!F.coord)
		return;
	all = 1;
	for (int k = 0; k < F.pn; k++)
		all &= F.ms[k].state;
	if (all && !F.union_sent) {
		cuts();
		F.union_sent = 1;
		for (int k = 0; k < F.pn; k++)
			union_to(k);
	}
	all = F.union_sent;
	for (int k = 0; k < F.pn; k++)
		all &= F.ms[k].memb;
	if (all && !F.table_sent) {
		if (make_table() == -1) {
			log_warnx(
			    "spread: the table of the new view is too large");
			return;
		}
		F.table_sent = 1;
		for (int k = 0; k < F.pn; k++)
			table_to(k);
	}
	all = F.table_sent;
	for (int k = 0; k < F.pn; k++)
		all &= F.ms[k].done;
	if (all)
		coord_reset();
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

	head(p, l, "fmsg", e);
	p[3] = oe;
	l[3] = frame_u64(oe, O.v.epoch);
	p[4] = node_name(O.v.coord);
	l[4] = N.n[O.v.coord].namelen;
	for (uint64_t x = from + 1; x <= O.top; x++) {
		if (slog_get(&O.ord, x, &rec, &n) == -1)
			continue;
		p[5] = g;
		l[5] = frame_u64(g, x);
		vsend(F.pc, 6, p, l, rec, n);
	}
	head(p, l, "fstate", e);
	p[3] = oe;
	l[3] = frame_u64(oe, O.v.epoch);
	p[4] = node_name(O.v.coord);
	l[4] = N.n[O.v.coord].namelen;
	p[5] = a;
	l[5] = frame_u64(a, O.applied);
	p[6] = b;
	l[6] = frame_u64(b, O.stable);
	vsend(F.pc, 7, p, l, NULL, 0);
}

struct memb_out {
	struct buf b;
	size_t off[CHUNKS_MAX], len[CHUNKS_MAX];
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

	if (mo->n == 0 || buf_len(&mo->b) - mo->off[mo->n - 1] >= CHUNK) {
		if (mo->n == CHUNKS_MAX)
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
	if (buf_init(&mo.b, 0, (size_t)CHUNKS_MAX * (CHUNK + 256)) == -1)
		return;
	if (groups_local(memb_add, &mo) == -1)
		log_warnx(
		    "spread: too many memberships here for a view change");
	if (mo.n == 0) {
		mo.off[0] = mo.len[0] = 0;
		mo.n = 1;
	}
	head(p, l, "fmemb", e);
	p[4] = b;
	l[4] = frame_u64(b, mo.n);
	p[5] = c;
	l[5] = frame_u64(c, O.pend_first);
	p[6] = d;
	l[6] = frame_u64(d, O.v.tag);
	for (int i = 0; i < mo.n; i++) {
		p[3] = a;
		l[3] = frame_u64(a, i);
		vsend(F.pc, 7, p, l, buf_data(&mo.b) + mo.off[i], mo.len[i]);
	}
	buf_free(&mo.b);
}

static void
done_to_coord(void)
{
	const char *p[3];
	size_t l[3];
	char e[24];

	head(p, l, "fdone", e);
	vsend(F.pc, 3, p, l, NULL, 0);
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
		k = member_of(x);
		return (k == -1 || strcmp(F.pinst[k], O.v.inst[i]) != 0);
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
	O.v.epoch = F.pe;
	O.v.coord = F.pc;
	O.v.n = F.pn;
	for (int k = 0; k < F.pn; k++) {
		O.v.mem[k] = F.pm[k];
		snprintf(O.v.inst[k], sizeof(O.v.inst[k]), "%s", F.pinst[k]);
		O.have[F.pm[k]] = 0;
		O.expect[F.pm[k]] = F.pc == 0 ? F.ms[k].pend : 0;
	}
	O.v.proc_id = F.tproc;
	O.v.time = F.ttime;
	O.v.tag = view_tag(F.pe, node_name(F.pc));
	O.v.single = F.pn == 1;
	O.v.flushing = 0;
	F.phase = 3;
	buf_free(&F.tab);
	sdc.views++;
	log_info("spread: view of %d relays installed (epoch %llu, by %s)",
	    F.pn, (unsigned long long)F.pe, node_name(F.pc));
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
	newer = ne > F.pe ||
	    (ne == F.pe && origin != F.pc &&
		strcmp(node_name(origin), node_name(F.pc)) < 0);
	same = ne == F.pe && origin == F.pc;
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
	if (origin != 0 && F.coord)
		coord_reset(); /* a newer coordinator: ours is over */
	F.pe = ne;
	F.pc = origin;
	F.pn = pn;
	memcpy(F.pm, pm, sizeof(pm[0]) * pn);
	memcpy(F.pinst, pinst, sizeof(pinst[0]) * pn);
	if (ne > F.top_epoch)
		F.top_epoch = ne;
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
	int k;

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
	if (v[0] != F.pe || c.len != N.n[F.pc].namelen ||
	    memcmp(c.p, node_name(F.pc), c.len) != 0)
		return (0); /* not the proposal we follow */
	if (IS("fmsg")) {
		struct mesh_str oc;
		int o;

		if (sd_nums(&it, v, 1) == -1 ||
		    frame_next_part(&it, &oc.p, &oc.len) != 1 ||
		    sd_nums(&it, v + 1, 1) == -1)
			return (0);
		if (F.coord && origin != 0 &&
		    (o = old_of(v[0], oc.p, oc.len)) != -1) {
			/* to the coordinator: a member's record */
			if (slog_put(&F.old[o].log, v[1], it.p, it.n) == 0 &&
			    v[1] > F.old[o].last)
				F.old[o].last = v[1];
		}
		if (F.coord && origin == 0 &&
		    (o = old_of(v[0], oc.p, oc.len)) != -1 &&
		    slog_put(&F.old[o].log, v[1], it.p, it.n) >= 0 &&
		    v[1] > F.old[o].last)
			F.old[o].last = v[1];
		/* to a member: a record of its old view it lacks */
		if (origin == F.pc && F.phase == 1 && v[0] == O.v.epoch &&
		    v[1] > O.applied)
			(void)slog_put(&O.ord, v[1], it.p, it.n);
		return (0);
	}
	if (IS("fstate")) {
		struct mesh_str oc;
		int o;

		if (!F.coord || (k = member_of(origin)) == -1 ||
		    sd_nums(&it, v, 1) == -1 ||
		    frame_next_part(&it, &oc.p, &oc.len) != 1 ||
		    sd_nums(&it, v + 1, 2) == -1 ||
		    (o = old_of(v[0], oc.p, oc.len)) == -1)
			return (0);
		F.ms[k].state = 1;
		F.ms[k].old = o;
		F.ms[k].applied = v[1];
		F.ms[k].stable = v[2];
		if (v[2] > F.old[o].maxstable)
			F.old[o].maxstable = v[2];
		if (v[1] > F.old[o].last)
			F.old[o].last = v[1];
		coord_step();
		return (0);
	}
	if (IS("funion")) {
		uint64_t have = 0;
		const char *rec;
		size_t n;

		if (origin != F.pc || F.phase != 1 || sd_nums(&it, v, 3) == -1)
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
		struct mesh_str g, m;

		if (!F.coord || (k = member_of(origin)) == -1 ||
		    sd_nums(&it, v, 4) == -1 || v[1] == 0 ||
		    v[1] > CHUNKS_MAX || v[0] >= v[1] ||
		    bget(F.ms[k].got, (int)v[0]))
			return (0);
		while (frame_next_part(&it, &g.p, &g.len) == 1 &&
		    frame_next_part(&it, &m.p, &m.len) == 1) {
			struct tent *t;
			uint64_t gv[4];

			if (sd_nums(&it, gv, 4) == -1)
				break;
			if (g.len == 0 || g.len >= SPREAD_GROUP_SIZE ||
			    m.len == 0 || m.len >= SPREAD_GROUP_SIZE)
				continue;
			if (F.tn == F.tcap) {
				struct tent *nt = realloc(F.t,
				    (F.tcap ? 2 * F.tcap : 1024) * sizeof(*nt));

				if (nt == NULL)
					return (0);
				F.t = nt;
				F.tcap = F.tcap ? 2 * F.tcap : 1024;
			}
			t = &F.t[F.tn++];
			memset(t, 0, sizeof(*t));
			memcpy(t->group, g.p, g.len);
			memcpy(t->member, m.p, m.len);
			t->tag = (uint32_t)v[3];
			t->gid.proc_id = (int32_t)(uint32_t)gv[0];
			t->gid.time = (int32_t)(uint32_t)gv[1];
			t->gid.index = (int32_t)(uint32_t)gv[2];
			t->netchg = gv[3] != 0;
		}
		bset(F.ms[k].got, (int)v[0]);
		F.ms[k].total = (int)v[1];
		F.ms[k].pend = v[2];
		F.ms[k].otag = (uint32_t)v[3];
		if (++F.ms[k].ngot == F.ms[k].total)
			F.ms[k].memb = 1;
		coord_step();
		return (0);
	}
	if (IS("ftable")) {
		if (origin != F.pc || F.phase != 2 ||
		    sd_nums(&it, v, 4) == -1 || v[1] == 0 ||
		    v[1] > CHUNKS_MAX || v[0] >= v[1] ||
		    bget(F.tgot, (int)v[0]))
			return (0);
		if (F.tab.base == NULL &&
		    buf_init(&F.tab, 0, (size_t)CHUNKS_MAX * (CHUNK + 256)) ==
			-1)
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
		if (F.coord && (k = member_of(origin)) != -1) {
			F.ms[k].done = 1;
			coord_step();
		}
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
		int n = candidates(mem), same = 0;

		F.settle_at = 0;
		if (F.coord && F.pn == n) {
			same = 1;
			for (int k = 0; k < n; k++)
				same &= F.pm[k] == mem[k] &&
				    strcmp(F.pinst[k], inst_of(mem[k])) == 0;
		}
		/* The lowest name coordinates; the others wait for it. */
		if (changed(mem, n) && !same && mem[0] == 0)
			coord_start(mem, n);
	}
	if (F.settle_at && (*next == -1 || F.settle_at < *next))
		*next = F.settle_at;
	if (F.coord) {
		if (now >= F.retry_at) {
			/* Whoever has not answered is asked again. */
			for (int k = 0; k < F.pn; k++) {
				if (!F.ms[k].state)
					fstart_to(k);
				else if (F.union_sent && !F.ms[k].memb)
					union_to(k);
				else if (F.table_sent && !F.ms[k].done)
					table_to(k);
			}
			F.retry_at = now + VIEW_RETRY_MS;
		}
		if (F.coord && (*next == -1 || F.retry_at < *next))
			*next = F.retry_at;
	}
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
