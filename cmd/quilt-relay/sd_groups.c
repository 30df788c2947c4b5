/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_groups.h"

#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "sd_sess.h"

struct sd_groups GR;

#define HASH_SIZE (2 * SD_GROUPS_MAX) /* a power of 2 */

/* FNV-1a over the name. */
static uint32_t
hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return (h);
}

void
groups_free(void)
{
	if (GR.g != NULL)
		for (uint32_t i = 0; i < HASH_SIZE; i++)
			free(GR.g[i].m);
	free(GR.g);
	free(GR.names);
	memset(&GR, 0, sizeof(GR));
}

int
groups_init(int32_t proc_id, int32_t time)
{
	groups_free();
	GR.proc_id = proc_id;
	GR.time = time;
	GR.big = spread_host_big();
	if ((GR.g = calloc(HASH_SIZE, sizeof(*GR.g))) == NULL)
		return (-1);
	return (0);
}

/* The slot of name, or the empty one where it would go. */
static struct sd_group *
slot(const char *name, size_t len)
{
	uint32_t i = hash(name, len) & (HASH_SIZE - 1);

	for (;; i = (i + 1) & (HASH_SIZE - 1)) {
		struct sd_group *g = &GR.g[i];

		if (g->name[0] == '\0' ||
		    (strlen(g->name) == len && memcmp(g->name, name, len) == 0))
			return (g);
	}
}

struct sd_group *
group_find(const char *name, size_t len)
{
	struct sd_group *g;

	if (len == 0 || len >= SPREAD_GROUP_SIZE)
		return (NULL);
	g = slot(name, len);
	return (g->name[0] ? g : NULL);
}

/*
 * Remove g from the table: later groups of its probe chain move up (no
 * tombstones, so that a lookup ends at the first empty slot).
 */
static void
group_delete(struct sd_group *g)
{
	uint32_t i = g - GR.g, j = i;

	free(g->m);
	memset(g, 0, sizeof(*g));
	GR.ngroups--;
	for (;;) {
		uint32_t k;

		j = (j + 1) & (HASH_SIZE - 1);
		if (GR.g[j].name[0] == '\0')
			return;
		k = hash(GR.g[j].name, strlen(GR.g[j].name)) & (HASH_SIZE - 1);
		/* Does j's home lie cyclically in (i, j]?  Then it stays. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		GR.g[i] = GR.g[j];
		memset(&GR.g[j], 0, sizeof(GR.g[j]));
		i = j;
	}
}

/* Spread's canonical order: by daemon, then by name ("#name#daemon"). */
static int
member_cmp(const char *a, const char *b)
{
	const char *da = strchr(a + 1, '#'), *db = strchr(b + 1, '#');
	int c;

	if (da == NULL || db == NULL)
		return (strcmp(a, b));
	if ((c = strcmp(da + 1, db + 1)) != 0)
		return (c);
	c = memcmp(a + 1, b + 1,
	    (size_t)(da - a - 1) < (size_t)(db - b - 1) ? (size_t)(da - a - 1) :
							  (size_t)(db - b - 1));
	if (c != 0)
		return (c);
	return ((da - a) - (db - b));
}

static int
member_find(const struct sd_group *g, const char *name)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->m[i].name, name) == 0)
			return (i);
	return (-1);
}

/* The member names of g, for a membership message; -1 ENOMEM. */
static int
names_of(const struct sd_group *g)
{
	if (g->n > GR.namescap) {
		const char **p = realloc(GR.names, g->n * sizeof(*p));

		if (p == NULL)
			return (-1);
		GR.names = p;
		GR.namescap = g->n;
	}
	for (int i = 0; i < g->n; i++)
		GR.names[i] = g->m[i].name;
	return (0);
}

/* The membership message of n bytes at msg to every local member of g
 * that asked for them (and to also, a session no longer a member). */
static void
to_members(const struct sd_group *g, const uint8_t *msg, size_t n, int also)
{
	char *w;

	for (int i = -1; i < g->n; i++) {
		int s = i < 0 ? also : g->m[i].sess;

		if (s < 0 || SS.s[s].fd == -1 || !SS.s[s].sd.membership)
			continue;
		if ((w = sess_reserve(s, n)) == NULL)
			continue;
		memcpy(w, msg, n);
		sess_commit(s, n);
	}
}

/* A light membership message of g for changed (cause JOIN, LEAVE or
 * DISCONNECT) to its local members. */
static void
light(const struct sd_group *g, uint32_t cause, const char *changed, int also)
{
	size_t cap = SPREAD_HEADER_SIZE + SPREAD_GROUP_SIZE * (size_t)g->n + 64;
	uint8_t small[4096], *buf = cap <= sizeof(small) ? small : malloc(cap);
	ssize_t n;

	if (buf == NULL || names_of(g) == -1)
		goto out;
	n = spreadd_put_light(buf, cap, GR.big, cause, g->name, &g->gid,
	    GR.names, g->n, changed);
	if (n > 0)
		to_members(g, buf, n, also);
out:
	if (buf != small)
		free(buf);
}

static void
join(const struct sd_ev *e, const char *sender, int from)
{
	struct sd_group *g;
	struct sd_member *m;
	int at;

	if ((g = group_find(e->group.p, e->group.len)) == NULL) {
		if (GR.ngroups == SD_GROUPS_MAX || e->group.len == 0 ||
		    e->group.len >= SPREAD_GROUP_SIZE)
			return;
		g = slot(e->group.p, e->group.len);
		memcpy(g->name, e->group.p, e->group.len);
		g->gid.proc_id = GR.proc_id;
		g->gid.time = GR.time;
		g->gid.index = 0;
		GR.ngroups++;
	} else if (member_find(g, sender) != -1) {
		return; /* joined already: Spread says nothing */
	}
	if (GR.nmembers == SD_MEMBERS_MAX)
		goto empty;
	if (g->n == g->cap) {
		int cap = g->cap ? 2 * g->cap : 4;
		struct sd_member *nm = realloc(g->m, cap * sizeof(*nm));

		if (nm == NULL)
			goto empty;
		g->m = nm;
		g->cap = cap;
	}
	for (at = 0; at < g->n && member_cmp(g->m[at].name, sender) < 0; at++)
		;
	memmove(&g->m[at + 1], &g->m[at], (g->n - at) * sizeof(*m));
	m = &g->m[at];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", sender);
	m->sess = from;
	g->n++;
	GR.nmembers++;
	g->gid.index++;
	sdc.joins++;
	light(g, SPREAD_CAUSED_BY_JOIN, sender, -1);
	return;
empty:
	if (g->n == 0)
		group_delete(g);
}

/* Member at of g leaves (cause LEAVE or DISCONNECT). */
static void
leave_at(struct sd_group *g, int at, uint32_t cause)
{
	char who[SPREAD_GROUP_SIZE];
	int s = g->m[at].sess;

	memcpy(who, g->m[at].name, sizeof(who));
	memmove(&g->m[at], &g->m[at + 1], (g->n - at - 1) * sizeof(g->m[0]));
	g->n--;
	GR.nmembers--;
	sdc.leaves++;
	if (cause == SPREAD_CAUSED_BY_LEAVE && s >= 0 && SS.s[s].fd != -1 &&
	    SS.s[s].sd.membership) {
		uint8_t notice[SPREAD_HEADER_SIZE];
		ssize_t n = spreadd_put_self_leave(notice, sizeof(notice),
		    GR.big, g->name);
		char *w;

		if (n > 0 && (w = sess_reserve(s, n)) != NULL) {
			memcpy(w, notice, n);
			sess_commit(s, n);
		}
	}
	if (g->n == 0) {
		group_delete(g); /* joined again, it starts over at index 1 */
		return;
	}
	g->gid.index++;
	light(g, cause, who, -1);
}

static void
leave(const struct sd_ev *e, const char *sender)
{
	struct sd_group *g = group_find(e->group.p, e->group.len);
	int at;

	if (g == NULL || (at = member_find(g, sender)) == -1)
		return; /* not a member: Spread says nothing */
	leave_at(g, at, SPREAD_CAUSED_BY_LEAVE);
}

static void
disconnect(const char *sender)
{
	/* Every group it is in; a group deleted moves others up, so the
	 * slot is looked at again. */
	for (uint32_t i = 0; i < HASH_SIZE; i++) {
		struct sd_group *g = &GR.g[i];
		int at;

		while (g->name[0] && (at = member_find(g, sender)) != -1)
			leave_at(g, at, SPREAD_CAUSED_BY_DISCONNECT);
	}
}

/* Deliver to session s (once per event), the message of size bytes. */
static void
deliver_to(int s, const struct sd_ev *e, const char *sender, int from,
    const struct spreadd_req *r, char **first)
{
	struct sd_sess *ss = &SS.s[s];
	char *w;

	if (ss->fd == -1 || !ss->open || ss->mark == GR.stamp)
		return;
	ss->mark = GR.stamp;
	if (s == from && (e->type & SPREAD_SELF_DISCARD))
		return;
	if ((w = sess_reserve(s, r->size)) == NULL)
		return;
	if (*first == NULL) {
		if (spreadd_put_msg((uint8_t *)w, r->size, GR.big, sender, r) ==
		    -1)
			return;
		*first = w;
	} else {
		memcpy(w, *first, r->size);
	}
	sess_commit(s, r->size);
	sdc.delivered++;
}

static void
mcast(const struct sd_ev *e, const char *sender, int from)
{
	struct spreadd_req r;
	char *first = NULL;
	size_t dl = strlen(SS.daemon);

	memset(&r, 0, sizeof(r));
	r.type = e->type;
	memcpy(r.hint, e->hint, 4);
	r.ngroups = e->ngroups;
	r.groups = e->groups;
	r.data = e->data;
	r.len = e->len;
	r.size = SPREAD_HEADER_SIZE + SPREAD_GROUP_SIZE * (size_t)e->ngroups +
	    e->len;
	GR.stamp++;
	sdc.mcasts++;
	for (int i = 0; i < e->ngroups; i++) {
		const char *name = (const char *)e->groups +
		    SPREAD_GROUP_SIZE * i;
		size_t len = strnlen(name, SPREAD_GROUP_SIZE);
		struct sd_group *g;

		if (name[0] == '#') {
			/* A private group: "#name#daemon", ours if daemon is.
			 */
			const char *d = memchr(name + 1, '#', len - 1);
			int s;

			if (d != NULL && (size_t)(name + len - d - 1) == dl &&
			    memcmp(d + 1, SS.daemon, dl) == 0 &&
			    (s = sess_by_group(name, len)) != -1)
				deliver_to(s, e, sender, from, &r, &first);
			continue;
		}
		if ((g = group_find(name, len)) == NULL)
			continue;
		for (int k = 0; k < g->n; k++)
			if (g->m[k].sess >= 0)
				deliver_to(g->m[k].sess, e, sender, from, &r,
				    &first);
	}
}

void
groups_apply(const struct sd_ev *e, int from)
{
	char sender[SPREAD_GROUP_SIZE];

	if (e->sender.len == 0 || e->sender.len >= sizeof(sender))
		return;
	memcpy(sender, e->sender.p, e->sender.len);
	sender[e->sender.len] = '\0';
	switch (e->kind) {
	case SD_MCAST:
		mcast(e, sender, from);
		break;
	case SD_JOIN:
		join(e, sender, from);
		break;
	case SD_LEAVE:
		leave(e, sender);
		break;
	case SD_DISC:
		disconnect(sender);
		if (from >= 0)
			sess_release(from);
		break;
	}
}

static int
by_name(const void *a, const void *b)
{
	return (strcmp((*(struct sd_group *const *)a)->name,
	    (*(struct sd_group *const *)b)->name));
}

void
groups_show(FILE *f, int json)
{
	struct sd_group **all = calloc(GR.ngroups ? GR.ngroups : 1,
	    sizeof(*all));
	int n = 0;

	if (all == NULL)
		return;
	for (uint32_t i = 0; i < HASH_SIZE && n < GR.ngroups; i++)
		if (GR.g[i].name[0])
			all[n++] = &GR.g[i];
	qsort(all, n, sizeof(*all), by_name);
	for (int i = 0; i < n; i++) {
		struct sd_group *g = all[i];

		if (json) {
			/* Names may hold '\\' (0x24..0x7e). */
			char j[6 * SPREAD_GROUP_SIZE + 1];

			fprintf(f,
			    "{\"group\":\"%s\",\"id\":[%d,%d,%d],\"members\":[",
			    fmt_json_str(j, sizeof(j), g->name,
				strlen(g->name)),
			    g->gid.proc_id, g->gid.time, g->gid.index);
			for (int k = 0; k < g->n; k++)
				fprintf(f, "%s\"%s\"", k ? "," : "",
				    fmt_json_str(j, sizeof(j), g->m[k].name,
					strlen(g->m[k].name)));
			fprintf(f, "]}\n");
			continue;
		}
		fprintf(f, "%s\t%d.%d.%d", g->name, g->gid.proc_id, g->gid.time,
		    g->gid.index);
		for (int k = 0; k < g->n; k++)
			fprintf(f, "\t%s", g->m[k].name);
		fprintf(f, "\n");
	}
	free(all);
}

/* The daemon of member name "#private#daemon". */
static const char *
daemon_of(const char *name, size_t *len)
{
	const char *d = strchr(name + 1, '#');

	if (d == NULL) {
		*len = 0;
		return ("");
	}
	*len = strlen(d + 1);
	return (d + 1);
}

static int
has_lost(const struct sd_group *g, int (*lost)(const char *, size_t))
{
	for (int k = 0; k < g->n; k++) {
		size_t dl;
		const char *d = daemon_of(g->m[k].name, &dl);

		if (lost(d, dl))
			return (1);
	}
	return (0);
}

void
groups_transition(int (*lost)(const char *daemon, size_t len))
{
	for (uint32_t i = 0; i < HASH_SIZE; i++) {
		struct sd_group *g = &GR.g[i];

	again:
		if (!g->name[0] || !has_lost(g, lost))
			continue;
		if (!g->netchg) {
			uint8_t msg[SPREAD_HEADER_SIZE + 16];
			ssize_t n = spreadd_put_transition(msg, sizeof(msg),
			    GR.big, g->name, &g->gid);

			if (n > 0)
				to_members(g, msg, n, -1);
		}
		g->netchg = 1;
		for (int k = 0; k < g->n;) {
			size_t dl;
			const char *d = daemon_of(g->m[k].name, &dl);

			if (!lost(d, dl)) {
				k++;
				continue;
			}
			memmove(&g->m[k], &g->m[k + 1],
			    (g->n - k - 1) * sizeof(g->m[0]));
			g->n--;
			GR.nmembers--;
		}
		if (g->n == 0) {
			group_delete(g); /* the slot may be filled again */
			goto again;
		}
	}
}

int
groups_local(int (*fn)(void *, const struct sd_group *, const char *),
    void *arg)
{
	for (uint32_t i = 0; i < HASH_SIZE; i++) {
		struct sd_group *g = &GR.g[i];

		if (!g->name[0])
			continue;
		for (int k = 0; k < g->n; k++) {
			size_t dl;
			const char *d = daemon_of(g->m[k].name, &dl);

			if (dl == strlen(SS.daemon) &&
			    memcmp(d, SS.daemon, dl) == 0 &&
			    fn(arg, g, g->m[k].name) == -1)
				return (-1);
		}
	}
	return (0);
}

/* A NETWORK membership of g to its local members: a set per tag. */
static void
network(struct sd_group *g)
{
	uint32_t tags[64];
	struct spreadd_vs vs[64];
	const char **names;
	int ntags = 0;
	size_t cap;
	uint8_t *buf;

	if (names_of(g) == -1 ||
	    (names = calloc(g->n ? g->n : 1, sizeof(*names))) == NULL)
		return;
	/* The tags, ascending: the order of the former views. */
	for (int k = 0; k < g->n; k++) {
		int t;

		for (t = 0; t < ntags && tags[t] != g->m[k].vtag; t++)
			;
		if (t == ntags && ntags < 64)
			tags[ntags++] = g->m[k].vtag;
	}
	for (int a = 1; a < ntags; a++)
		for (int b = a; b > 0 && tags[b - 1] > tags[b]; b--) {
			uint32_t x = tags[b];

			tags[b] = tags[b - 1];
			tags[b - 1] = x;
		}
	{
		int at = 0;

		for (int t = 0; t < ntags; t++) {
			vs[t].names = names + at;
			vs[t].count = 0;
			for (int k = 0; k < g->n; k++)
				if (g->m[k].vtag == tags[t])
					names[at + vs[t].count++] = g->m[k]
									.name;
			at += vs[t].count;
		}
	}
	cap = SPREAD_HEADER_SIZE + 2 * SPREAD_GROUP_SIZE * (size_t)g->n + 64 +
	    8 * (size_t)ntags;
	if ((buf = malloc(cap)) == NULL) {
		free(names);
		return;
	}
	for (int k = 0; k < g->n; k++) {
		struct spreadd_memb m;
		int s = g->m[k].sess, t;
		ssize_t len;
		char *w;

		if (s < 0 || SS.s[s].fd == -1 || !SS.s[s].sd.membership)
			continue;
		for (t = 0; t < ntags && tags[t] != g->m[k].vtag; t++)
			;
		memset(&m, 0, sizeof(m));
		m.cause = SPREAD_CAUSED_BY_NETWORK;
		m.group = g->name;
		m.gid = g->gid;
		m.members = GR.names;
		m.nmembers = g->n;
		m.vs = vs;
		m.nvs = ntags;
		m.local = t < ntags ? t : 0;
		if ((len = spreadd_put_memb(buf, cap, GR.big, &m)) <= 0 ||
		    (w = sess_reserve(s, len)) == NULL)
			continue;
		memcpy(w, buf, len);
		sess_commit(s, len);
	}
	free(buf);
	free(names);
}

void
groups_install(const struct sd_entry *e, int n, int32_t proc, int32_t time)
{
	GR.proc_id = proc;
	GR.time = time;
	for (uint32_t i = 0; i < HASH_SIZE; i++)
		GR.g[i].seen = 0;
	for (int i = 0; i < n;) {
		struct sd_group *g;
		struct sd_member *nm;
		int j = i, cnt, same;

		while (j < n && e[j].group.len == e[i].group.len &&
		    memcmp(e[j].group.p, e[i].group.p, e[i].group.len) == 0)
			j++;
		cnt = j - i;
		if (e[i].group.len == 0 ||
		    e[i].group.len >= SPREAD_GROUP_SIZE ||
		    (nm = calloc(cnt, sizeof(*nm))) == NULL) {
			i = j;
			continue;
		}
		for (int k = 0; k < cnt; k++) {
			const struct sd_entry *x = &e[i + k];
			size_t ml = x->member.len < SPREAD_GROUP_SIZE - 1 ?
			    x->member.len :
			    SPREAD_GROUP_SIZE - 1;
			size_t dl;
			const char *d;

			memcpy(nm[k].name, x->member.p, ml);
			nm[k].vtag = x->vtag;
			d = daemon_of(nm[k].name, &dl);
			nm[k].sess = dl == strlen(SS.daemon) &&
				memcmp(d, SS.daemon, dl) == 0 ?
			    sess_by_group_any(nm[k].name, strlen(nm[k].name)) :
			    -1;
		}
		if ((g = group_find(e[i].group.p, e[i].group.len)) == NULL) {
			if (GR.ngroups == SD_GROUPS_MAX) {
				free(nm);
				i = j;
				continue;
			}
			g = slot(e[i].group.p, e[i].group.len);
			memcpy(g->name, e[i].group.p, e[i].group.len);
			GR.ngroups++;
			same = 0;
		} else {
			same = !g->netchg && g->n == cnt;
			for (int k = 0; same && k < cnt; k++)
				same = strcmp(g->m[k].name, nm[k].name) == 0;
		}
		GR.nmembers += cnt - g->n;
		free(g->m);
		g->m = nm;
		g->n = g->cap = cnt;
		g->gid = e[i].gid;
		if (!same)
			network(g);
		g->netchg = 0;
		g->seen = 1;
		i = j;
	}
	/* A group not in the table has no member left anywhere. */
	for (uint32_t i = 0; i < HASH_SIZE; i++)
		while (GR.g[i].name[0] && !GR.g[i].seen)
			group_delete(&GR.g[i]);
}
