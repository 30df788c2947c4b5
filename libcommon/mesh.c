/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "mesh.h"

#include <errno.h>
#include <string.h>

#include "addr.h"

static int
bad(void)
{
	errno = EBADMSG;
	return (-1);
}

int
mesh_hops(const char *p, size_t len)
{
	if (len != 2 || (unsigned)(p[0] - '0') > 9 ||
	    (unsigned)(p[1] - '0') > 9)
		return (-1);
	return ((p[0] - '0') * 10 + (p[1] - '0'));
}

/* The next n parts of it into s[]: 0, or -1. */
static int
parts(struct frame_iter *it, struct mesh_str *s, int n)
{
	for (int i = 0; i < n; i++)
		if (frame_next_part(it, &s[i].p, &s[i].len) != 1)
			return (-1);
	return (0);
}

int
mesh_get_msg(const char *body, const struct wire_msg *m, struct mesh_msg *x)
{
	struct frame_iter it;
	struct mesh_str s[4];
	unsigned long long v;

	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 4) == -1 || !wire_node_ok(s[0].p, s[0].len) ||
	    (x->hops = mesh_hops(s[1].p, s[1].len)) == -1 ||
	    frame_part_num(s[2].p, s[2].len, UINT64_MAX, &v) == -1)
		return (bad());
	x->origin = s[0];
	x->hops_at = s[1].p - body;
	x->id = v;
	x->flags = s[3].len == 1 ? s[3].p[0] : '-';
	x->want = x->flags == 'e';
	x->spread = x->flags == 's';
	x->parts = it.p;
	x->plen = it.n;
	return (0);
}

size_t
mesh_msg_body(size_t destlen, size_t originlen, size_t idlen, size_t plen)
{
	return (frame_size(destlen) + frame_size(3) + frame_size(originlen) +
	    frame_size(2) + frame_size(idlen) + frame_size(1) + plen);
}

char *
mesh_put_msg(char *out, size_t body, const char *dest, size_t destlen,
    const char *origin, size_t originlen, int hops, uint64_t id, char flags,
    const char *parts, size_t plen, char **hops_out)
{
	char num[24];
	size_t idl = frame_u64(num, id);

	out += frame_put_hdr(out, body);
	out = frame_put(out, dest, destlen);
	out = frame_put(out, "msg", 3);
	out = frame_put(out, origin, originlen);
	memcpy(out, "2:", 2);
	mesh_set_hops(out + 2, hops);
	if (hops_out != NULL)
		*hops_out = out + 2;
	out[4] = ',';
	out = frame_put(out + 5, num, idl);
	out = frame_put(out, &flags, 1);
	memmove(out, parts, plen); /* the parts may be in place already */
	out[plen] = ',';
	return (out + plen + 1);
}

/* "+life=" and its number. */
#define LIFE_OPT "+life="
#define LIFE_OPT_LEN (sizeof(LIFE_OPT) - 1)

int
mesh_get_route(const struct wire_msg *m, struct mesh_route *r)
{
	struct frame_iter it, opt;
	struct mesh_str s[4];
	unsigned long long v, life;
	const char *p;
	size_t n;
	int k;

	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 4) == -1 || !wire_node_ok(s[0].p, s[0].len) ||
	    !wire_inst_ok(s[1].p, s[1].len) ||
	    frame_part_num(s[2].p, s[2].len, UINT64_MAX, &v) == -1 ||
	    s[3].len >= ADDR_STRLEN)
		return (bad());
	r->node = s[0];
	r->inst = s[1];
	r->seq = v;
	r->addr = s[3];
	r->nbrs = it;
	r->life = -1;
	opt = it;
	while ((k = frame_next_part(&opt, &p, &n)) == 1) {
		if (n < LIFE_OPT_LEN || memcmp(p, LIFE_OPT, LIFE_OPT_LEN) != 0)
			continue;
		if (r->life != -1 ||
		    frame_part_num(p + LIFE_OPT_LEN, n - LIFE_OPT_LEN,
			MESH_LIFE_MAX, &life) == -1)
			return (bad());
		r->life = (long long)life;
	}
	return (k == -1 ? bad() : 0);
}

size_t
mesh_put_route(char *out, size_t cap, const char *node, const char *inst,
    uint64_t seq, const char *addr, const char *const *nbr, int nnbr,
    long long life)
{
	const char *head[6];
	char num[24], opt[LIFE_OPT_LEN + 24];
	size_t body = 0, sz, optlen = 0;

	head[0] = "";
	head[1] = "route";
	head[2] = node;
	head[3] = inst;
	frame_u64(num, seq);
	head[4] = num;
	head[5] = addr;
	if (life >= 0) {
		memcpy(opt, LIFE_OPT, LIFE_OPT_LEN);
		optlen = LIFE_OPT_LEN +
		    frame_u64(opt + LIFE_OPT_LEN, (uint64_t)life);
		body += frame_size(optlen);
	}
	for (int i = 0; i < 6; i++)
		body += frame_size(strlen(head[i]));
	for (int i = 0; i < nnbr; i++)
		body += frame_size(strlen(nbr[i]));
	sz = frame_size(body);
	if (sz > cap)
		return (sz);
	out += frame_put_hdr(out, body);
	for (int i = 0; i < 6; i++)
		out = frame_put_str(out, head[i]);
	for (int i = 0; i < nnbr; i++)
		out = frame_put_str(out, nbr[i]);
	if (life >= 0)
		out = frame_put(out, opt, optlen);
	*out = ',';
	return (sz);
}

int
mesh_inst_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	while (alen > 0 && *a == '0')
		a++, alen--;
	while (blen > 0 && *b == '0')
		b++, blen--;
	if (alen != blen)
		return (alen < blen ? -1 : 1);
	/* Lowercase hex digits sort as their values. */
	c = memcmp(a, b, alen);
	return (c < 0 ? -1 : c > 0);
}

int
mesh_get_answer(const char *body, const struct wire_msg *m,
    struct mesh_answer *a)
{
	struct frame_iter it;
	struct mesh_str s[2];

	if (m->cmd != W_DONE && m->cmd != W_LOST)
		return (bad());
	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 2) == -1 || !wire_node_ok(s[0].p, s[0].len) ||
	    (a->hops = mesh_hops(s[1].p, s[1].len)) == -1)
		return (bad());
	a->lost = m->cmd == W_LOST;
	a->node = s[0];
	a->hops_at = s[1].p - body;
	a->ranges = it;
	return (0);
}

int
mesh_next_range(struct mesh_answer *a, uint64_t *first, uint64_t *last)
{
	const char *p;
	size_t n;
	int r = frame_next_part(&a->ranges, &p, &n);

	if (r != 1)
		return (r == 0 ? 0 : bad());
	if (wire_get_range(p, n, UINT64_MAX, first, last) == -1)
		return (bad());
	return (1);
}

size_t
mesh_put_answer(char *out, size_t cap, const char *origin, int lost,
    const char *node, const uint64_t (*r)[2], int n)
{
	const char *cmd = lost ? "lost" : "done";
	char range[WIRE_RANGE_MAX];
	size_t body = 0, sz;

	body += frame_size(origin ? strlen(origin) : 0) + frame_size(4) +
	    frame_size(strlen(node)) + (origin ? frame_size(2) : 0);
	for (int i = 0; i < n; i++)
		body += frame_size(wire_put_range(range, r[i][0], r[i][1]));
	sz = frame_size(body);
	if (sz > cap)
		return (sz);
	out += frame_put_hdr(out, body);
	out = frame_put_str(out, origin ? origin : "");
	out = frame_put(out, cmd, 4);
	out = frame_put_str(out, node);
	if (origin)
		out = frame_put(out, "00", 2);
	for (int i = 0; i < n; i++)
		out = frame_put(out, range,
		    wire_put_range(range, r[i][0], r[i][1]));
	*out = ',';
	return (sz);
}

int
mesh_get_ping(const char *body, const struct wire_msg *m, struct mesh_ping *p)
{
	struct frame_iter it;
	struct mesh_str s[5];

	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 5) == -1 || !wire_node_ok(s[0].p, s[0].len) ||
	    (p->hops = mesh_hops(s[1].p, s[1].len)) == -1 || s[3].len > 20)
		return (bad());
	p->origin = s[0];
	p->hops_at = s[1].p - body;
	p->tag = s[2];
	p->seq = s[3];
	p->payload = s[4];
	return (0);
}

size_t
mesh_put_ping(char *out, size_t cap, const char *dest, size_t destlen,
    const char *origin, const char *tag, size_t taglen, const char *seq,
    size_t seqlen, const char *payload, size_t paylen)
{
	const char *p[] = {dest, "ping", origin, "00", tag, seq, payload};
	size_t l[] = {destlen, 4, strlen(origin), 2, taglen, seqlen, paylen};

	return (frame_putv(out, cap, 7, p, l));
}

int
mesh_get_pong(const char *body, const struct wire_msg *m, struct mesh_pong *p)
{
	struct frame_iter it;
	struct mesh_str s[5];
	unsigned long long d;

	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 5) == -1 || !wire_node_ok(s[0].p, s[0].len) ||
	    (p->hops = mesh_hops(s[1].p, s[1].len)) == -1 || s[3].len > 20 ||
	    frame_part_num(s[4].p, s[4].len, 999, &d) == -1 ||
	    frame_next_part(&it, &p->payload.p, &p->payload.len) != 1)
		return (bad());
	p->node = s[0];
	p->hops_at = s[1].p - body;
	p->tag = s[2];
	p->seq = s[3];
	p->distance = (int)d;
	return (0);
}

size_t
mesh_put_pong(char *out, size_t cap, const char *origin, const char *node,
    size_t nodelen, const char *tag, size_t taglen, const char *seq,
    size_t seqlen, int distance, const char *payload, size_t paylen)
{
	char d[24];
	const char *p[] = {origin, "pong", node, "00", tag, seq, d, payload};
	size_t l[] = {strlen(origin), 4, nodelen, 2, taglen, seqlen,
	    frame_u64(d, (uint64_t)distance), paylen};

	return (frame_putv(out, cap, 8, p, l));
}

size_t
mesh_put_client_pong(char *out, size_t cap, const char *seq, size_t seqlen,
    const char *node, size_t nodelen, int hops, const char *payload,
    size_t paylen)
{
	char h[24];
	const char *p[] = {"", "pong", seq, node, h, payload};
	size_t l[] = {0, 4, seqlen, nodelen, frame_u64(h, (uint64_t)hops),
	    paylen};

	return (frame_putv(out, cap, 6, p, l));
}

size_t
mesh_put_client_lost(char *out, size_t cap, uint64_t k,
    const struct mesh_str *nodes, int n)
{
	char num[24];
	size_t kl = frame_u64(num, k), body, sz;

	body = frame_size(0) + frame_size(4) + frame_size(kl);
	for (int i = 0; i < n; i++)
		body += frame_size(nodes[i].len);
	sz = frame_size(body);
	if (sz > cap)
		return (sz);
	out += frame_put_hdr(out, body);
	out = frame_put(out, "", 0);
	out = frame_put(out, "lost", 4);
	out = frame_put(out, num, kl);
	for (int i = 0; i < n; i++)
		out = frame_put(out, nodes[i].p, nodes[i].len);
	*out = ',';
	return (sz);
}

/* The one argument of a control frame. */
static int
one_arg(const struct wire_msg *m, struct mesh_str *s)
{
	struct frame_iter it;
	const char *p;
	size_t n;

	frame_iter_init(&it, m->args, m->argslen);
	if (parts(&it, s, 1) == -1 || frame_next_part(&it, &p, &n) != 0)
		return (-1);
	return (0);
}

int
mesh_get_addr(const struct wire_msg *m, struct mesh_str *addr)
{
	if (one_arg(m, addr) == -1 || addr->len == 0 ||
	    addr->len >= ADDR_STRLEN)
		return (bad());
	return (0);
}

int
mesh_get_inst(const struct wire_msg *m, struct mesh_str *inst)
{
	if (one_arg(m, inst) == -1 || !wire_inst_ok(inst->p, inst->len))
		return (bad());
	return (0);
}

size_t
mesh_put_ctl1(char *out, size_t cap, const char *cmd, const char *arg)
{
	const char *p[] = {"", cmd, arg};

	return (frame_putv(out, cap, 3, p, NULL));
}

int
mesh_get_alive(const struct wire_msg *m, uint64_t *ms)
{
	struct mesh_str s;
	unsigned long long v;

	if (m->destlen != 0 || one_arg(m, &s) == -1 ||
	    frame_part_num(s.p, s.len, MESH_ALIVE_MAX, &v) == -1 ||
	    v < MESH_ALIVE_MIN)
		return (bad());
	*ms = v;
	return (0);
}

size_t
mesh_put_alive(char *out, size_t cap, uint64_t ms)
{
	char num[24];

	(void)frame_u64(num, ms);
	return (mesh_put_ctl1(out, cap, "alive", num));
}
