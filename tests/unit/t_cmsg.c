/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/cmsg: the frames between quilt-relay's router and
 * its children.  Every verb round-trips on its channel; a verb of another
 * channel, an unknown verb, a wrong arity or a malformed field is EBADMSG.
 * TAP output.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmsg.h"
#include "frame.h"
#include "sink.h"
#include "tcase.h"

#define S(s) ((struct cmsg_str){(s), sizeof(s) - 1})

static int
same_str(struct cmsg_str a, struct cmsg_str b)
{
	return (a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
}

/* Encode m, parse the frame, decode it on ch: equal field by field. */
static int
roundtrip(enum cmsg_chan ch, const struct cmsg *m)
{
	char out[1024], *e;
	const char *body;
	size_t n = cmsg_put(NULL, 0, m), len;
	struct cmsg d;

	CHECKF(n <= sizeof(out), "%s: %zu bytes", cmsg_name(m->type), n);
	CHECK(cmsg_put(out, sizeof(out), m) == n);
	CHECK(frame_parse(out, n, n, &body, &len) == (ssize_t)n);
	e = tc_exact(body, len);
	CHECKF(cmsg_decode(ch, e, len, &d) == 0, "%s: %.*s", cmsg_name(m->type),
	    (int)len, body);
	CHECK(d.type == m->type && d.conn == m->conn && d.n == m->n);
	CHECK(same_str(d.node, m->node) && same_str(d.inst, m->inst));
	CHECK(same_str(d.text, m->text) && same_str(d.data, m->data));
	free(e);
	return (0);
}

static int
t_roundtrip(void)
{
	/* clang-format off */
	const struct {
		enum cmsg_chan ch;
		struct cmsg m;
	} c[] = {
		{ CM_FROM_LISTEN, { .type = CM_LISTENING, .text = S("127.0.0.1:4000") } },
		{ CM_FROM_LISTEN, { .type = CM_OPEN, .conn = 17, .node = S("n1"),
		    .inst = S("00ab"), .text = S("127.0.0.1:5555") } },
		{ CM_FROM_LISTEN, { .type = CM_OPEN, .conn = UINT64_MAX,
		    .node = S("client"), .text = S("unix:/tmp/x") } },
		{ CM_FROM_LISTEN, { .type = CM_FRAMES, .conn = 1, .n = 3,
		    .data = S("5:0:,0:,5:0:,0:,") } },
		{ CM_FROM_LISTEN, { .type = CM_FRAME, .conn = 2, .n = 0,
		    .data = S("9:0:,3:bye,,") } },
		{ CM_FROM_LISTEN, { .type = CM_CLOSE, .conn = 9 } },
		{ CM_TO_LISTEN, { .type = CM_TO, .conn = 9, .data = S("9:0:,3:bye,,") } },
		{ CM_TO_LISTEN, { .type = CM_DROP, .conn = 9, .text = S("bad destination") } },
		{ CM_FROM_SEND, { .type = CM_UP, .node = S("n2"), .inst = S("ff"),
		    .n = 16777216, .text = S("[::1]:40000") } },
		{ CM_FROM_SEND, { .type = CM_UP, .node = S("leaf"), .n = 64,
		    .text = S("") } },
		{ CM_FROM_SEND, { .type = CM_DOWN, .text = S("connection lost") } },
		{ CM_FROM_SEND, { .type = CM_ACK, .n = 123456789012345ULL } },
		{ CM_FROM_SEND, { .type = CM_PEER, .data = S("0:,4:pong,") } },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (roundtrip(c[i].ch, &c[i].m) != 0)
			return (1);
	return (0);
}

/* The body of a frame of parts p (NULL-terminated), decoded on ch. */
static int
decode_parts(enum cmsg_chan ch, const char *const *p)
{
	char body[1024], *o = body, *e;
	struct cmsg m;
	int r;

	for (; *p; p++)
		o = frame_put_str(o, *p);
	e = tc_exact(body, o - body);
	r = cmsg_decode(ch, e, o - body, &m);
	free(e);
	return (r);
}

static int
t_refused(void)
{
	/* clang-format off */
	static const struct {
		enum cmsg_chan ch;
		const char *p[7];
	} bad[] = {
		/* Unknown, or of another channel. */
		{ CM_FROM_LISTEN, { "nonsense", NULL } },
		{ CM_FROM_LISTEN, { "to", "1", "3:abc,", NULL } },
		{ CM_TO_LISTEN, { "open", "1", "n1", "", "x", NULL } },
		{ CM_FROM_SEND, { "frames", "1", "1", "", NULL } },
		{ CM_FROM_LISTEN, { NULL } },
		{ CM_FROM_LISTEN, { "FRAMES", "1", "1", "", NULL } },
		/* Arity. */
		{ CM_FROM_LISTEN, { "frames", "1", "1", NULL } },
		{ CM_FROM_LISTEN, { "frames", "1", "1", "", "", NULL } },
		{ CM_FROM_LISTEN, { "close", NULL } },
		{ CM_FROM_LISTEN, { "open", "1", "n1", "", NULL } },
		{ CM_FROM_SEND, { "ack", NULL } },
		{ CM_FROM_SEND, { "ack", "1", "2", NULL } },
		{ CM_FROM_SEND, { "up", "n", "", "64", NULL } },
		{ CM_FROM_SEND, { "frame", NULL } },
		/* Fields. */
		{ CM_FROM_LISTEN, { "close", "x", NULL } },
		{ CM_FROM_LISTEN, { "close", "01", NULL } },
		{ CM_FROM_LISTEN, { "close", "", NULL } },
		{ CM_FROM_LISTEN, { "close", "18446744073709551616", NULL } },
		{ CM_FROM_LISTEN, { "open", "1", "all", "", "x", NULL } },
		{ CM_FROM_LISTEN, { "open", "1", "n 1", "", "x", NULL } },
		{ CM_FROM_LISTEN, { "open", "1", "n1", "XYZ", "x", NULL } },
		{ CM_FROM_LISTEN, { "frame", "1", "1", "3:abc", NULL } },
		{ CM_FROM_LISTEN, { "frame", "1", "1", "3:abc,1:x,", NULL } },
		{ CM_FROM_LISTEN, { "frame", "1", "1", "", NULL } },
		{ CM_TO_LISTEN, { "to", "1", "x", NULL } },
		{ CM_FROM_SEND, { "ack", "-1", NULL } },
		{ CM_FROM_SEND, { "up", "n", "", "big", "", NULL } },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECKF(decode_parts(bad[i].ch, bad[i].p) == -1 &&
			errno == EBADMSG,
		    "case %zu (%s) was taken", i,
		    bad[i].p[0] ? bad[i].p[0] : "(empty)");
	}
	return (0);
}

static int
t_long_addr(void)
{
	char addr[200];
	const char *p[] = {"listening", addr, NULL};

	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	CHECK(decode_parts(CM_FROM_LISTEN, p) == -1);
	addr[100] = '\0';
	CHECK(decode_parts(CM_FROM_LISTEN, p) == 0);
	return (0);
}

static int
t_sink(void)
{
	struct sink s;
	struct cmsg m = {.type = CM_CLOSE, .conn = 42};

	CHECK(sink_init(&s, -1, 0, 64, 4) == 0);
	CHECK(cmsg_sink(&s, &m) == 0);
	CHECKF(buf_len(&s.b) == 17 &&
		memcmp(buf_data(&s.b), "13:5:close,2:42,,", 17) == 0,
	    "%.*s", (int)buf_len(&s.b), buf_data(&s.b));
	/* A sink that is full refuses the whole frame. */
	m.type = CM_DROP;
	m.text.p =
	    "0123456789012345678901234567890123456789012345678901234567890";
	m.text.len = strlen(m.text.p);
	CHECK(cmsg_sink(&s, &m) == -1);
	CHECK(buf_len(&s.b) == 17);
	sink_free(&s);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "every verb round-trips on its channel", t_roundtrip },
	{ "unknown verbs, other channels, wrong arity, bad fields: EBADMSG",
	    t_refused },
	{ "an address is shorter than ADDR_STRLEN", t_long_addr },
	{ "cmsg_sink appends one whole frame, or nothing", t_sink },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
