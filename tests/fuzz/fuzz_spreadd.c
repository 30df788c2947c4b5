/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/spreadd, the daemon's side of a Spread
 * session.  The first two bytes choose the daemon (version and auth offer),
 * whether every name is taken, whether the client closes or times out, and
 * how the rest is cut; the rest is a client's bytes.  They go into one
 * session whole and into another in pieces, each piece a copy of exactly
 * the bytes a room would hold (so the sanitizers see any read past them):
 * both must give the same replies and requests.  Checked as well: replies
 * are what the protocol allows where they are; every request is inside
 * the input, within the limits, with legal names; a regular message built
 * from it decodes with the client codec to the same fields; memberships
 * built from a join decode too.  Seeds: the client streams of the
 * captures, and the malformed headers of t_spreadd.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spread.h"
#include "spreadd.h"

struct ev {
	int kind, code;
	size_t at, len;
	uint8_t reply[SPREADD_REPLY_MAX];
	struct spreadd_req req; /* views moved onto the input */
};

struct run {
	struct spreadd s;
	struct ev ev[64];
	int nev, failed;
	enum spreadd_err err;
	size_t taken;
};

static int
claim_free(void *arg, const char *name, size_t len)
{
	if (strlen(name) != len || len < 1 || len > SPREAD_MAX_PRIVATE)
		abort();
	return (0);
}

static int
claim_taken(void *arg, const char *name, size_t len)
{
	claim_free(arg, name, len);
	return (-1);
}

static void
check_req(const struct spreadd *s, const struct spreadd_ev *ev,
    const uint8_t *p, size_t n)
{
	static uint8_t out[SPREADD_IN_MAX];
	const struct spreadd_req *r = &ev->req;
	struct spread_msg m;
	ssize_t k;

	if (r->size > n || r->size > SPREADD_IN_MAX || r->groups != p + 48 ||
	    r->data != r->groups + 32 * (size_t)r->ngroups ||
	    r->data + r->len != p + r->size ||
	    32 * (size_t)r->ngroups + r->len > SPREAD_MAX_BODY)
		abort();
	for (int i = 0; ev->kind != SPREADD_KILL && i < r->ngroups; i++) {
		const char *g = (const char *)r->groups + 32 * i;

		if (memchr(g, 0, 32) == NULL ||
		    !spread_dest_valid(g, strlen(g)) ||
		    (ev->kind != SPREADD_MCAST &&
			!spread_group_valid(g, strlen(g))))
			abort();
	}
	switch (ev->kind) {
	case SPREADD_MCAST:
		if (r->ngroups < 1 || r->ngroups > 100 ||
		    spread_service_name(r->type) == NULL)
			abort();
		for (int big = 0; big < 2; big++) {
			k = spreadd_put_msg(out, sizeof(out), big, s->group, r);
			if (k != (ssize_t)r->size ||
			    spread_msg_decode(out, k, sizeof(out), &m) != k ||
			    m.h.type != r->type || m.h.big != big ||
			    m.h.num_groups != r->ngroups ||
			    (size_t)m.h.data_len != r->len ||
			    memcmp(out + 40, r->hint, 4) != 0 ||
			    spread_mess_type(m.h.hint) != r->mess_type ||
			    strcmp((const char *)m.h.name, s->group) != 0 ||
			    memcmp(m.groups, r->groups, 32 * r->ngroups) != 0 ||
			    memcmp(m.data, r->data, r->len) != 0)
				abort();
		}
		break;
	case SPREADD_JOIN:
	case SPREADD_LEAVE: {
		const char *g = (const char *)r->groups;
		const char *mem[2] = {s->group, "#other#node"};
		struct spreadd_gid gid = {r->mess_type, (int32_t)r->size, 1};
		struct spread_memb b;

		if (r->ngroups != 1 || r->len != 0)
			abort();
		k = spreadd_put_light(out, sizeof(out), r->big,
		    SPREAD_CAUSED_BY_JOIN, g, &gid, mem, 2, s->group);
		if (k != 48 + 64 + 56 ||
		    spread_msg_decode(out, k, sizeof(out), &m) != k ||
		    spread_memb_decode(&m, &b) != 0 || b.num_vs_sets != 1 ||
		    b.local_offset != 0 || b.time != (int32_t)r->size ||
		    strcmp((const char *)m.h.name, g) != 0)
			abort();
		k = spreadd_put_transition(out, sizeof(out), !r->big, g, &gid);
		if (k != 60 || spread_msg_decode(out, k, 60, &m) != 60 ||
		    spread_memb_decode(&m, &b) != 0 || b.index != 1 ||
		    !spread_is_transition(m.h.type))
			abort();
		k = spreadd_put_self_leave(out, sizeof(out), r->big, g);
		if (k != 48 || spread_msg_decode(out, k, 48, &m) != 48 ||
		    !spread_is_self_leave(m.h.type))
			abort();
		break;
	}
	case SPREADD_KILL:
		if (r->ngroups > 1 || r->len != 0 || s->state != SPREADD_DONE)
			abort();
		break;
	default:
		abort();
	}
}

static void
check_reply(const struct spreadd *s, const struct spreadd_ev *ev)
{
	switch (ev->kind) {
	case SPREADD_REPLY:
		if (ev->len < 2 || ev->reply[0] != ev->len - 1 ||
		    s->state != SPREADD_CHOICE)
			abort();
		break;
	case SPREADD_ACCEPT:
		if (ev->reply[0] != 1 || s->state != SPREADD_OPEN ||
		    s->group_len > 31 || s->group[0] != '#' ||
		    ev->len != 4u + s->reply_patch + s->group_len ||
		    memcmp(ev->reply + ev->len - s->group_len, s->group,
			s->group_len) != 0 ||
		    !spread_private_group_valid(s->group, s->group_len))
			abort();
		break;
	case SPREADD_REFUSE:
		/* One error byte, or 00 f7 after an empty offer, or none. */
		if (s->state != SPREADD_DONE || ev->len > 2 ||
		    (ev->len == 1 && (int8_t)ev->reply[0] != ev->code) ||
		    (ev->len == 2 && (ev->reply[0] != 0 || ev->code != -9)) ||
		    (ev->len == 0 && ev->code != 0) ||
		    (ev->code != 0 && ev->code != -5 && ev->code != -6 &&
			ev->code != -7 && ev->code != -9))
			abort();
		break;
	default:
		break;
	}
}

/* Feed in[0..avail) as a room holding the bytes not yet taken. */
static void
feed(struct run *r, const uint8_t *in, size_t avail, int copy)
{
	struct spreadd_ev ev;
	ssize_t k;

	while (!r->failed && r->taken < avail) {
		size_t held = avail - r->taken;
		uint8_t *c = NULL;
		const uint8_t *p = in + r->taken;

		if (copy) {
			if ((c = malloc(held)) == NULL)
				abort();
			memcpy(c, p, held);
			p = c;
		}
		k = spreadd_input(&r->s, p, held, &ev);
		if (k > (ssize_t)held)
			abort();
		if (k > 0) {
			struct ev *e;

			check_reply(&r->s, &ev);
			if (ev.kind >= SPREADD_MCAST && ev.kind <= SPREADD_KILL)
				check_req(&r->s, &ev, p, held);
			if (r->nev == 64) {
				free(c);
				r->failed = 2; /* enough: stop both alike */
				return;
			}
			e = &r->ev[r->nev++];
			memset(e, 0, sizeof(*e));
			e->kind = ev.kind;
			e->code = ev.code;
			e->at = r->taken;
			e->len = ev.len;
			memcpy(e->reply, ev.reply, ev.len);
			if (ev.kind >= SPREADD_MCAST &&
			    ev.kind <= SPREADD_KILL) {
				e->req = ev.req;
				e->req.groups = in + r->taken +
				    (ev.req.groups - p);
				e->req.data = in + r->taken + (ev.req.data - p);
			}
			r->taken += k;
		}
		free(c);
		if (k == -1) {
			if (errno != EPROTO && errno != EBADMSG &&
			    errno != EMSGSIZE)
				abort();
			r->failed = 1;
			r->err = r->s.err;
			if (r->err == SPREADD_E_NONE ||
			    spreadd_input(&r->s, in, avail, &ev) != -1)
				abort();
		}
		if (k <= 0)
			break;
	}
}

static int
same(const struct run *a, const struct run *b)
{
	if (a->nev != b->nev || a->failed != b->failed || a->err != b->err ||
	    a->taken != b->taken || a->s.state != b->s.state)
		return (0);
	for (int i = 0; i < a->nev; i++) {
		const struct ev *x = &a->ev[i], *y = &b->ev[i];

		if (x->kind != y->kind || x->code != y->code ||
		    x->at != y->at || x->len != y->len ||
		    memcmp(x->reply, y->reply, x->len) ||
		    memcmp(&x->req, &y->req, sizeof(x->req)))
			return (0);
	}
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct spreadd_conf confs[4][2] = {
	    {{"localhost", 5, 0, 1, "NULL ", claim_free},
		{"localhost", 5, 0, 1, "NULL ", claim_taken}},
	    {{"node-with-19-chars-", 4, 0, 0, "NULL ", claim_free},
		{"node-with-19-chars-", 4, 0, 0, "NULL ", claim_taken}},
	    {{"a", 4, 4, 0, "", claim_free}, {"a", 4, 4, 0, "", claim_taken}},
	    {{"x", 5, 0, 1, "NULL IP ", claim_free},
		{"x", 5, 0, 1, "NULL IP ", claim_taken}},
	};
	static struct run a, b;
	const struct spreadd_conf *conf;
	struct spreadd_ev ea, eb;
	uint32_t seed;
	size_t n, at;
	int eof;

	if (size < 2)
		return (0);
	conf = &confs[data[0] & 3][(data[0] >> 2) & 1];
	eof = (data[0] >> 3) & 1;
	seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	n = size - 2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (spreadd_init(&a.s, conf, NULL, seed % 9999, seed) == -1 ||
	    spreadd_init(&b.s, conf, NULL, seed % 9999, seed) == -1)
		abort();
	feed(&a, data, n, 0);
	/* Pieces of 1..16 bytes, from the seed. */
	for (at = 0; at < n;) {
		seed = seed * 1103515245u + 12345u;
		at += 1 + (seed >> 16) % 16;
		feed(&b, data, at < n ? at : n, 1);
	}
	if (!same(&a, &b))
		abort();
	if (a.failed)
		return (0);
	spreadd_end(&a.s, data + a.taken, n - a.taken, eof, &ea);
	spreadd_end(&b.s, data + b.taken, n - b.taken, eof, &eb);
	if (ea.kind != eb.kind || ea.len != eb.len || ea.code != eb.code ||
	    memcmp(ea.reply, eb.reply, ea.len) != 0 ||
	    a.s.state != SPREADD_DONE)
		abort();
	if (ea.kind == SPREADD_REFUSE)
		check_reply(&a.s, &ea);
	else if (ea.kind != SPREADD_CLOSED)
		abort();
	return (0);
}
