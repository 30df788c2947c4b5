/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of the two codecs between quilt's processes: cmsg (the
 * router and its children) and mesh (relay to relay, and a relay's answers
 * to its clients).  The first byte picks the decoder; the rest is a frame's
 * body, copied into a block of its exact size so that the sanitizers see a
 * read past it.  Checked: what decodes encodes again to a frame that
 * decodes to the same fields (cmsg), views lie inside the body, HOPS
 * offsets point at two digits, ranges walk to their end or an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmsg.h"
#include "frame.h"
#include "mesh.h"
#include "wire.h"

static const char *lo, *hi; /* the body under test */

static void
inside(const void *p, size_t n)
{
	if (n > 0 && ((const char *)p < lo || (const char *)p + n > hi))
		abort();
}

static void
same(struct cmsg_str a, struct cmsg_str b)
{
	if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
		abort();
}

static void
cmsg_case(enum cmsg_chan ch, const char *b, size_t n)
{
	struct cmsg m, d;
	char *out;
	const char *body;
	size_t sz, len;

	if (cmsg_decode(ch, b, n, &m) == -1)
		return;
	inside(m.node.p, m.node.len);
	inside(m.inst.p, m.inst.len);
	inside(m.text.p, m.text.len);
	inside(m.data.p, m.data.len);
	sz = cmsg_put(NULL, 0, &m);
	if ((out = malloc(sz)) == NULL)
		abort();
	if (cmsg_put(out, sz, &m) != sz ||
	    frame_parse(out, sz, sz, &body, &len) != (ssize_t)sz ||
	    cmsg_decode(ch, body, len, &d) == -1)
		abort();
	if (d.type != m.type || d.conn != m.conn || d.n != m.n)
		abort();
	same(d.node, m.node);
	same(d.inst, m.inst);
	same(d.text, m.text);
	same(d.data, m.data);
	free(out);
}

static void
hops_at(const char *body, size_t at)
{
	inside(body + at, 2);
	if (mesh_hops(body + at, 2) == -1)
		abort();
}

static void
mesh_case(const char *b, size_t n)
{
	struct wire_msg m;
	struct mesh_msg x;
	struct mesh_route r;
	struct mesh_answer a;
	struct mesh_ping p;
	struct mesh_pong q;
	struct mesh_str s;
	uint64_t first, last;
	const char *v;
	size_t vl;
	int k;

	if (wire_decode(b, n, &m) == -1)
		return;
	if (mesh_get_msg(b, &m, &x) == 0) {
		hops_at(b, x.hops_at);
		inside(x.parts, x.plen);
	}
	if (mesh_get_route(&m, &r) == 0)
		while ((k = frame_next_part(&r.nbrs, &v, &vl)) == 1)
			inside(v, vl);
	if (mesh_get_answer(b, &m, &a) == 0) {
		hops_at(b, a.hops_at);
		for (int i = 0;
		     i < 1000 && mesh_next_range(&a, &first, &last) == 1; i++)
			if (last < first)
				abort();
	}
	if (mesh_get_ping(b, &m, &p) == 0) {
		hops_at(b, p.hops_at);
		inside(p.payload.p, p.payload.len);
	}
	if (mesh_get_pong(b, &m, &q) == 0)
		hops_at(b, q.hops_at);
	if (mesh_get_addr(&m, &s) == 0)
		inside(s.p, s.len);
	if (mesh_get_inst(&m, &s) == 0 && !wire_inst_ok(s.p, s.len))
		abort();
	/* A keep-alive's MS is in bounds, and the send child's glance at
	 * the body agrees with the decoder. */
	if (m.cmd == W_ALIVE && mesh_get_alive(&m, &first) == 0 &&
	    (first < MESH_ALIVE_MIN || first > MESH_ALIVE_MAX ||
		!mesh_is_alive(b, n)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b;
	size_t n;

	if (size < 1)
		return (0);
	n = size - 1;
	if ((b = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(b, data + 1, n);
	lo = b;
	hi = b + n;
	switch (data[0] & 3) {
	case 0:
		cmsg_case(CM_FROM_LISTEN, b, n);
		break;
	case 1:
		cmsg_case(CM_TO_LISTEN, b, n);
		break;
	case 2:
		cmsg_case(CM_FROM_SEND, b, n);
		break;
	case 3:
		mesh_case(b, n);
		break;
	}
	free(b);
	return (0);
}
