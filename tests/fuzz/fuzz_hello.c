/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/wire: wire_decode and wire_get_hello on
 * arbitrary bytes, taken both as a frame body and as a whole frame.
 * Checked: the decoded views lie inside the body; a msg recognised by its
 * prefix decodes as a msg with the same args; a hello that decodes has
 * valid fields and round-trips through wire_put_hello to the same struct;
 * the numbered commands' first part parses as a number as the programs
 * read it; a hello that fails names a fault.  The whole frame also goes to
 * the listener's half of the handshake (server.c), plain and sealed: it
 * answers with a hello that decodes, or refuses with an error frame that
 * carries a code, and never claims a session it refused (nor, sealed, one
 * whose key is not proven yet).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "server.h"
#include "wire.h"

static int
same_hello(const struct wire_hello *a, const struct wire_hello *b)
{
	return (a->vmin == b->vmin && a->vmax == b->vmax &&
	    strcmp(a->node, b->node) == 0 &&
	    memcmp(a->sid, b->sid, WIRE_SID_LEN) == 0 &&
	    a->maxmsg == b->maxmsg && a->sealed == b->sealed &&
	    a->from == b->from && a->resume == b->resume &&
	    a->handler == b->handler);
}

static void
inside(const char *b, size_t n, const char *p, size_t len)
{
	if (p < b || p + len > b + n)
		abort();
}

static void
body(const char *data, size_t n)
{
	char *b = malloc(n ? n : 1);
	struct wire_msg m;
	struct wire_hello h, g;
	const char *args;
	size_t alen = 0;

	if (b == NULL)
		abort();
	memcpy(b, data, n);
	args = wire_is_msg(b, n, &alen);
	if (wire_decode(b, n, &m) == -1) {
		if (errno != EBADMSG)
			abort();
		/* The msg prefix is two whole parts. */
		if (args != NULL)
			abort();
		free(b);
		return;
	}
	inside(b, n, m.dest, m.destlen);
	inside(b, n, m.name, m.namelen);
	inside(b, n, m.args, m.argslen);
	if (m.args + m.argslen != b + n)
		abort();
	if (args != NULL &&
	    (m.cmd != W_MSG || m.destlen != 0 || m.args != args ||
		m.argslen != alen))
		abort();
	frame_count_parts(m.args, m.argslen);
	if (m.cmd == W_ACK || m.cmd == W_EXIT || m.cmd == W_PING) {
		struct frame_iter it;
		const char *p;
		size_t pn;
		unsigned long long v;

		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &pn) == 1) {
			inside(m.args, m.argslen, p, pn);
			if (frame_part_num(p, pn, 255, &v) == 0 && v > 255)
				abort();
			(void)frame_part_num(p, pn, UINT64_MAX, &v);
		}
	}
	if (wire_get_hello(&m, &h) == 0) {
		char out[WIRE_HELLO_MAX];
		const char *fb;
		size_t k, flen;
		struct wire_msg m2;

		if (m.cmd != W_HELLO || h.vmin < 1 || h.vmin > h.vmax ||
		    h.vmax > 65535 || h.maxmsg < 64 ||
		    (h.sealed != 0 && h.sealed != 1) ||
		    (h.handler != 0 && h.handler != 1) || h.from < -1 ||
		    h.resume < -1 || !wire_node_ok(h.node, strlen(h.node)))
			abort();
		if (wire_version(&h, &h) != h.vmax)
			abort();
		k = wire_put_hello(out, &h);
		if (k > WIRE_HELLO_MAX)
			abort();
		if (frame_parse(out, k, WIRE_HELLO_MAX, &fb, &flen) !=
			(ssize_t)k ||
		    wire_decode(fb, flen, &m2) == -1 || m2.cmd != W_HELLO ||
		    m2.destlen != 0 || wire_get_hello(&m2, &g) == -1 ||
		    !same_hello(&h, &g))
			abort();
	} else if (errno != EPROTO || h.fault == WH_OK ||
	    wire_hello_fault_str(h.fault) == NULL ||
	    wire_hello_fault_code(h.fault) == WR_NONE)
		abort();
	free(b);
}

/* The answer of server_frame at out: a hello, a confirm wait, or an error. */
static void
handshake(const char *frame, size_t flen, const char *fb, size_t blen,
    int nkeys)
{
	static const unsigned char key[SEAL_KEYLEN];
	struct server_conf c;
	struct server_table t;
	struct server_hs h;
	char out[WIRE_HELLO_MAX];
	const char *ob, *text;
	size_t olen = 0, len, tl;
	struct wire_msg m;
	struct wire_hello r;
	enum wire_refusal code;
	enum server_state st;
	int owner;

	if (seal_init() == -1)
		abort();
	memset(&c, 0, sizeof(c));
	memcpy(c.node, "fuzz", 5);
	c.maxmsg = 1024;
	c.key[0] = key;
	c.nkeys = nkeys;
	if (server_table_init(&t, 2, 1000) == -1)
		abort();
	server_hs_init(&h);
	st = server_frame(&h, &c, &t, &owner, 1, frame, flen, fb, blen, out,
	    &olen);
	if (olen > WIRE_HELLO_MAX ||
	    frame_parse(out, olen, WIRE_HELLO_MAX, &ob, &len) !=
		(ssize_t)olen ||
	    wire_decode(ob, len, &m) == -1)
		abort();
	switch (st) {
	case SERVER_REFUSED:
		if (wire_get_error(&m, &text, &tl, &code) == -1 ||
		    code == WR_NONE || code != h.code || h.sess != NULL ||
		    t.s[0].owner != NULL || t.s[1].owner != NULL)
			abort();
		break;
	case SERVER_OPEN:
	case SERVER_CONFIRM:
		/* Sealed, nothing is claimed until the key is proven. */
		if ((st == SERVER_CONFIRM) != (nkeys > 0) ||
		    wire_get_hello(&m, &r) == -1 || r.sealed != (nkeys > 0) ||
		    (st == SERVER_OPEN &&
			(h.sess == NULL || h.sess->owner != &owner)) ||
		    (st == SERVER_CONFIRM &&
			(h.sess != NULL || t.s[0].owner != NULL ||
			    t.s[1].owner != NULL)))
			abort();
		break;
	default:
		abort();
	}
	server_hs_free(&h);
	server_table_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *fb;
	size_t flen;
	ssize_t k;
	char *c;

	/* The bytes as a body... */
	body(p, size);
	/* ...and as a frame, as a peer's first frame is read. */
	c = malloc(size ? size : 1);
	memcpy(c, p, size);
	if ((k = frame_parse(c, size, WIRE_HELLO_MAX, &fb, &flen)) > 0) {
		body(fb, flen);
		handshake(c, k, fb, flen, 0);
		handshake(c, k, fb, flen, 1);
	}
	free(c);
	return (0);
}
