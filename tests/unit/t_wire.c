/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/wire: the quilt protocol on top of frames.
 * Decoding of [dest, cmd, args...], the sizes of msg frames, the hello
 * (every field round-trips, unknown keys are ignored, a missing or
 * malformed field is EPROTO), version negotiation, node names and control
 * frames.  TAP output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "tcase.h"
#include "wire.h"

/* Parse the frame at f[0..n) (exactly one) and decode it. */
static int
decode_frame(const char *f, size_t n, struct wire_msg *m)
{
	const char *body;
	size_t len;

	if (frame_parse(f, n, n, &body, &len) != (ssize_t)n)
		return (-1);
	return (wire_decode(body, len, m));
}

static int
t_decode(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		enum wire_cmd cmd;
	} names[] = {
		{ "hello", W_HELLO }, { "msg", W_MSG }, { "ack", W_ACK },
		{ "ping", W_PING }, { "pong", W_PONG }, { "bye", W_BYE },
		{ "exit", W_EXIT }, { "error", W_ERROR },
		{ "server-connect", W_SERVER_CONNECT }, { "route", W_ROUTE },
		{ "nop", W_NOP }, { "nopx", W_UNKNOWN },
		{ "MSG", W_UNKNOWN }, { "ms", W_UNKNOWN }, { "msgx", W_UNKNOWN },
		{ "", W_UNKNOWN }, { "hello\n", W_UNKNOWN },
	};
	/* clang-format on */
	struct wire_msg m;
	char body[256], *o, *b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		o = frame_put_str(body, "node-1");
		o = frame_put_str(o, names[i].name);
		o = frame_put_str(o, "arg");
		b = tc_exact(body, o - body);
		CHECK(wire_decode(b, o - body, &m) == 0);
		CHECKF(m.cmd == names[i].cmd, "\"%s\": %d", names[i].name,
		    m.cmd);
		CHECK(m.destlen == 6 && memcmp(m.dest, "node-1", 6) == 0);
		CHECK(m.namelen == strlen(names[i].name) &&
		    memcmp(m.name, names[i].name, m.namelen) == 0);
		CHECK(m.argslen == 6 && memcmp(m.args, "3:arg,", 6) == 0);
		free(b);
	}
	/* No args; args that are not parts are not checked here. */
	b = tc_exact("0:,3:bye,", 9);
	CHECK(wire_decode(b, 9, &m) == 0 && m.cmd == W_BYE && m.argslen == 0 &&
	    m.destlen == 0);
	free(b);
	b = tc_exact("0:,3:ack,junk", 13);
	CHECK(wire_decode(b, 13, &m) == 0 && m.cmd == W_ACK && m.argslen == 4);
	free(b);
	/* Fewer than two parts, or not parts. */
	{
		static const char *bad[] = {"", "0:,", "3:all,", "0:,3:ack",
		    "0:,3:ac,", "x", "0:,x", "00:,3:ack,", ":,3:ack,"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			size_t n = strlen(bad[i]);

			b = tc_exact(bad[i], n);
			errno = 0;
			CHECKF(wire_decode(b, n, &m) == -1 && errno == EBADMSG,
			    "\"%s\"", bad[i]);
			free(b);
		}
	}
	return (0);
}

static int
t_msg_sizes(void)
{
	static char part[3000], out[4000], out2[4000], dest[80];
	struct wire_msg m;
	size_t argslen;

	for (size_t i = 0; i < sizeof(part); i++)
		part[i] = "ab,:9\n"[i % 6];
	memset(dest, 'd', sizeof(dest));
	/* Every length across the boundaries where the digits change. */
	for (size_t dl = 0; dl <= 70; dl += dl < 12 ? 1 : 29) {
		for (size_t len = 0; len <= 2100; len++) {
			char *e = wire_put_msg1(out, dest, dl, part, len);
			const char *body, *p;
			size_t blen, n;
			struct frame_iter it;

			CHECKF((size_t)(e - out) == wire_msg1_size(dl, len),
			    "dest %zu part %zu: %zu written, size %zu", dl, len,
			    (size_t)(e - out), wire_msg1_size(dl, len));
			CHECK(frame_parse(out, e - out, e - out, &body,
				  &blen) == e - out);
			CHECK(blen == wire_msg1_body(dl, len));
			CHECK(
			    wire_decode(body, blen, &m) == 0 && m.cmd == W_MSG);
			CHECK(m.destlen == dl && memcmp(m.dest, dest, dl) == 0);
			frame_iter_init(&it, m.args, m.argslen);
			CHECK(frame_next_part(&it, &p, &n) == 1 && n == len &&
			    memcmp(p, part, len) == 0);
			CHECK(frame_next_part(&it, &p, &n) == 0);
			CHECK(wire_msg_head(body, blen) ==
			    (dl <= WIRE_NODE_MAX ? blen - m.argslen : 0));
			if (dl == 0) {
				char *e2 = wire_put_msg1_fast(out2, part, len);

				CHECK(e2 - out2 == e - out &&
				    memcmp(out, out2, e - out) == 0);
				CHECK(wire_is_msg(body, blen, &argslen) ==
				    body + WIRE_MSG_PREFIX_LEN);
				CHECK(argslen == frame_size(len));
			} else {
				CHECK(
				    wire_is_msg(body, blen, &argslen) == NULL);
			}

			/* The same part as a body of parts, through msgn. */
			{
				char parts[3100];
				size_t pl = frame_put(parts, part, len) - parts;

				e = wire_put_msgn(out2, dest, dl, parts, pl);
				CHECK((size_t)(e - out2) ==
				    wire_msgn_size(dl, pl));
				CHECK(wire_msgn_body(dl, pl) == blen);
				CHECK(e - out2 ==
					(ssize_t)wire_msg1_size(dl, len) &&
				    memcmp(out, out2, e - out2) == 0);
			}
		}
	}
	/* Several parts, and none. */
	{
		char parts[64], *o = parts, *e;
		const char *body;
		size_t blen;

		o = frame_put_str(o, "a");
		o = frame_put_str(o, "");
		o = frame_put_str(o, "ccc");
		e = wire_put_msgn(out, "n1", 2, parts, o - parts);
		CHECK((size_t)(e - out) == wire_msgn_size(2, o - parts));
		CHECK(e - out == 28 &&
		    memcmp(out, "24:2:n1,3:msg,1:a,0:,3:ccc,,", 28) == 0);
		e = wire_put_msgn(out, "", 0, parts, 0);
		CHECK(e - out == 12 && memcmp(out, "9:0:,3:msg,,", 12) == 0);
		CHECK((size_t)(e - out) == wire_msgn_size(0, 0));
		CHECK(frame_parse(out, 12, 12, &body, &blen) == 12);
		CHECK(
		    wire_is_msg(body, blen, &argslen) != NULL && argslen == 0);
	}
	return (0);
}

/* wire_msg_head: the head of [DEST, "msg", ...], or 0, on short bodies
 * too (every body here is as long as the string, no NUL after it). */
static int
t_msg_head(void)
{
	/* clang-format off */
	static const struct {
		const char *body;
		size_t head;
	} c[] = {
		{ "0:,3:msg,", 9 },
		{ "0:,3:msg,1:x,", 9 },
		{ "1:a,3:msg,", 10 },
		{ "3:dst,3:msg,2:hi,", 12 },
		{ "10:abcdefghij,3:msg,", 20 },
		{ "3:dst,4:ping,1:1,", 0 },
		{ "3:dst,3:msh,", 0 },
		{ "3:dst;3:msg,", 0 },
		{ "03:dst,3:msg,", 0 },
		{ "00:,3:msg,", 0 },
		{ "0:,3:msg", 0 },
		{ "3:dst,3:msg", 0 },
		{ "x:dst,3:msg,", 0 },
		{ ":dst,3:msg,", 0 },
		{ "4:dst,3:msg,", 0 },
		{ "2:dst,3:msg,", 0 },
		{ "0:", 0 },
		{ "", 0 },
	};
	/* clang-format on */
	char big[200];
	size_t n;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		/* Exactly the bytes: ASan sees a read past them. */
		char *b = malloc(strlen(c[i].body) + 1);

		memcpy(b, c[i].body, strlen(c[i].body));
		CHECKF(wire_msg_head(b, strlen(c[i].body)) == c[i].head,
		    "%s: %zu", c[i].body, wire_msg_head(b, strlen(c[i].body)));
		free(b);
	}
	/* A destination of 64 bytes (a node name's most) is one, 65 not. */
	for (size_t dl = 63; dl <= 66; dl++) {
		char d[80];

		memset(d, 'n', dl);
		n = frame_put(frame_put(big, d, dl), "msg", 3) - big;
		CHECK(wire_msg_head(big, n) == (dl <= WIRE_NODE_MAX ? n : 0));
	}
	return (0);
}

static struct wire_hello
hello_sample(void)
{
	struct wire_hello h;

	memset(&h, 0, sizeof(h));
	h.vmin = 1;
	h.vmax = 1;
	strcpy(h.node, "alpha");
	for (int i = 0; i < WIRE_SID_LEN; i++)
		h.sid[i] = (unsigned char)(0xf0 + i * 7);
	h.maxmsg = 16777216;
	h.from = h.resume = -1;
	return (h);
}

static int
same_hello(const struct wire_hello *a, const struct wire_hello *b)
{
	return (a->vmin == b->vmin && a->vmax == b->vmax &&
	    strcmp(a->node, b->node) == 0 &&
	    memcmp(a->sid, b->sid, WIRE_SID_LEN) == 0 &&
	    a->maxmsg == b->maxmsg && a->sealed == b->sealed &&
	    a->from == b->from && a->resume == b->resume &&
	    a->handler == b->handler && a->idle == b->idle);
}

/* Encode h, parse the frame from an exact block and decode it into g. */
static int
hello_trip(const struct wire_hello *h, struct wire_hello *g)
{
	char out[WIRE_HELLO_MAX], *b;
	struct wire_msg m;
	size_t n = wire_put_hello(out, h);
	int r;

	if (n == 0 || n > WIRE_HELLO_MAX)
		return (-1);
	b = tc_exact(out, n);
	r = decode_frame(b, n, &m);
	if (r == 0 && m.cmd != W_HELLO)
		r = -1;
	if (r == 0)
		r = wire_get_hello(&m, g);
	free(b);
	return (r);
}

static int hello_args(const char *const *, struct wire_hello *);

#define SID "session=000102030405060708090a0b0c0d0e0f"

static int
t_hello_roundtrip(void)
{
	struct wire_hello h = hello_sample(), g;
	char out[WIRE_HELLO_MAX];

	CHECK(hello_trip(&h, &g) == 0 && same_hello(&h, &g));
	/* What the frame looks like. */
	{
		size_t n = wire_put_hello(out, &h);
		const char *want =
		    "0:,5:hello,5:quilt,3:1-1,10:node=alpha,"
		    "40:session=f0f7fe050c131a21282f363d444b5259,12:max=16777216,"
		    "8:sealed=0,";
		char hdr[16];
		size_t hn = frame_put_hdr(hdr, strlen(want));

		CHECKF(n == hn + strlen(want) + 1 &&
			memcmp(out, hdr, hn) == 0 &&
			memcmp(out + hn, want, strlen(want)) == 0,
		    "%.*s", (int)n, out);
	}
	/* Every field at its edges. */
	h.vmin = 1;
	h.vmax = 65535;
	memset(h.node, 'N', WIRE_NODE_MAX);
	h.node[WIRE_NODE_MAX] = '\0';
	memset(h.sid, 0, sizeof(h.sid));
	h.maxmsg = UINT64_MAX;
	/* sealed=1 needs the key exchange fields: see t_hello_bad_fields
	 * for the values of sealed that are refused. */
	h.from = INT64_MAX;
	h.resume = 0;
	h.handler = 1;
	h.idle = WIRE_IDLE_MAX;
	CHECK(hello_trip(&h, &g) == 0 && same_hello(&h, &g));
	h.idle = 1;
	CHECK(hello_trip(&h, &g) == 0 && same_hello(&h, &g));
	h.idle = 0;
	h.vmin = h.vmax = 65535;
	strcpy(h.node, "a");
	memset(h.sid, 0xff, sizeof(h.sid));
	h.maxmsg = 64;
	h.sealed = 0;
	h.from = 0;
	h.resume = INT64_MAX;
	h.handler = 0;
	CHECK(hello_trip(&h, &g) == 0 && same_hello(&h, &g));
	/* sealed=1, with a key exchange value: parsed, written, parsed. */
	{
		const char *args[] = {"quilt", "1-1", "node=s", SID, "max=1000",
		    "sealed=1",
		    "kx=00112233445566778899aabbcc"
		    "ddeeff00112233445566778899aabbccddeeff",
		    NULL};
		struct wire_hello s;

		CHECK(hello_args(args, &s) == 0 && s.sealed == 1);
		CHECK(hello_trip(&s, &g) == 0 && same_hello(&s, &g) &&
		    g.sealed == 1);
	}
	strcpy(h.node, "x.y_z-0");
	h.from = 12345;
	h.resume = -1;
	h.vmin = 2;
	h.vmax = 7;
	CHECK(hello_trip(&h, &g) == 0 && same_hello(&h, &g));
	return (0);
}

/* A hello from the given args (NULL-terminated), decoded. */
static int
hello_args(const char *const *args, struct wire_hello *h)
{
	char out[WIRE_HELLO_MAX], *b;
	struct wire_msg m;
	size_t n = wire_put_ctl(out, sizeof(out), "hello", args, NULL, 0);
	int r;

	if (n > sizeof(out))
		return (-2);
	b = tc_exact(out, n);
	r = decode_frame(b, n, &m);
	errno = 0;
	if (r == 0)
		r = wire_get_hello(&m, h);
	free(b);
	return (r);
}

static int
t_hello_unknown(void)
{
	const char *args[] = {"quilt", "1-3", "color=blue", "node=n1", "x", "",
	    "=", "node", "max", "=1", SID, "max=64", "later=1=2", "zzz=\n",
	    NULL};
	struct wire_hello h;

	CHECK(hello_args(args, &h) == 0);
	CHECK(strcmp(h.node, "n1") == 0 && h.maxmsg == 64 && h.vmin == 1 &&
	    h.vmax == 3 && h.sid[15] == 0x0f && h.from == -1 &&
	    h.resume == -1 && h.sealed == 0 && h.handler == 0);
	return (0);
}

static int
t_hello_missing(void)
{
	/* clang-format off */
	static const char *const sets[][8] = {
		{ "quilt", "1-1", SID, "max=100" },		/* no node */
		{ "quilt", "1-1", "node=a", "max=100" },	/* no session */
		{ "quilt", "1-1", "node=a", SID },		/* no max */
		{ "quilt", "1-1" },
		{ "quilt" },
		{ NULL },
	};
	/* clang-format on */
	struct wire_hello h;

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		CHECKF(hello_args(sets[i], &h) == -1 && errno == EPROTO,
		    "set %zu", i);
	}
	return (0);
}

static int
t_hello_bad_fields(void)
{
	/* clang-format off */
	static const char *const bad[] = {
		"node=", "node=all", "node=a b", "node=a/b",
		"node=0123456789012345678901234567890123456789012345678901234567890123X",
		"session=", "session=00", "session=0001020304050607080g0a0b0c0d0e0f",
		"session=000102030405060708090a0b0c0d0e0f00",
		"max=", "max=63", "max=0", "max=-1", "max=0100",
		"max=18446744073709551616", "max=x",
		"sealed=", "sealed=2", "sealed=11", "sealed=yes",
		"from=", "from=-1", "from=9223372036854775808", "from=01",
		"resume=", "resume=-1", "resume=x",
	};
	/* clang-format on */
	struct wire_hello h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = {"quilt", "1-1", "node=n", SID, "max=1000",
		    bad[i], NULL};

		CHECKF(hello_args(args, &h) == -1 && errno == EPROTO, "\"%s\"",
		    bad[i]);
	}
	/* Not a quilt hello at all. */
	{
		const char *a1[] = {"quilx", "1-1", "node=n", SID, "max=1000",
		    NULL};
		const char *a2[] = {"QUILT", "1-1", "node=n", SID, "max=1000",
		    NULL};
		char out[256];
		struct wire_msg m;
		size_t n;

		CHECK(hello_args(a1, &h) == -1 && errno == EPROTO);
		CHECK(hello_args(a2, &h) == -1 && errno == EPROTO);
		/* A well-formed hello under another command name. */
		n = wire_put_ctl(out, sizeof(out), "hellO",
		    (const char *[]){"quilt", "1-1", "node=n", SID, "max=1000",
			NULL},
		    NULL, 0);
		CHECK(decode_frame(out, n, &m) == 0 && m.cmd == W_UNKNOWN);
		errno = 0;
		CHECK(wire_get_hello(&m, &h) == -1 && errno == EPROTO);
	}
	/* handler=1 is the only yes. */
	{
		const char *args[] = {"quilt", "1-1", "node=n", SID, "max=1000",
		    "handler=2", NULL};

		CHECK(hello_args(args, &h) == 0 && h.handler == 0);
		args[5] = "handler=1";
		CHECK(hello_args(args, &h) == 0 && h.handler == 1);
	}
	return (0);
}

static int
t_hello_version(void)
{
	/* clang-format off */
	static const struct {
		const char *v;
		unsigned lo, hi;	/* 0: refused */
	} c[] = {
		{ "1-1", 1, 1 }, { "1-2", 1, 2 }, { "3-65535", 3, 65535 },
		{ "2-1", 0, 0 }, { "0-1", 0, 0 }, { "0-0", 0, 0 },
		{ "x", 0, 0 }, { "1", 0, 0 }, { "1-", 0, 0 }, { "-1", 0, 0 },
		{ "-", 0, 0 }, { "", 0, 0 }, { "01-1", 0, 0 }, { "1-01", 0, 0 },
		{ "1-65536", 0, 0 }, { "1-1-1", 0, 0 }, { "1--1", 0, 0 },
		{ " 1-1", 0, 0 }, { "1-1 ", 0, 0 }, { "a-b", 0, 0 },
	};
	/* clang-format on */
	struct wire_hello h;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *args[] = {"quilt", c[i].v, "node=n", SID,
		    "max=1000", NULL};
		int r = hello_args(args, &h);

		if (c[i].lo)
			CHECKF(r == 0 && h.vmin == c[i].lo && h.vmax == c[i].hi,
			    "\"%s\"", c[i].v);
		else
			CHECKF(r == -1 && errno == EPROTO, "\"%s\" accepted",
			    c[i].v);
	}
	return (0);
}

static int
t_version(void)
{
	/* clang-format off */
	static const struct {
		unsigned amin, amax, bmin, bmax, want;
	} c[] = {
		{ 1, 1, 1, 1, 1 }, { 1, 3, 2, 5, 3 }, { 2, 5, 1, 3, 3 },
		{ 1, 1, 2, 2, 0 }, { 2, 2, 1, 1, 0 }, { 1, 10, 4, 4, 4 },
		{ 4, 4, 1, 10, 4 }, { 1, 2, 2, 3, 2 }, { 3, 4, 1, 2, 0 },
		{ 1, 65535, 65535, 65535, 65535 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct wire_hello a = hello_sample(), b = hello_sample();

		a.vmin = c[i].amin;
		a.vmax = c[i].amax;
		b.vmin = c[i].bmin;
		b.vmax = c[i].bmax;
		CHECKF(wire_version(&a, &b) == c[i].want, "case %zu", i);
		CHECKF(wire_version(&b, &a) == c[i].want, "case %zu", i);
	}
	return (0);
}

static int
t_node_ok(void)
{
	static const char *good[] = {"a", "A", "0", "node-1", "n.example_2",
	    "alL", "all1", "_", ".", "-",
	    "0123456789012345678901234567890123456789012345678901234567890123"};
	static const char *bad[] = {"", "all", "a b", "a/b", "a:b", "é", "a\n",
	    "a,", "a\t",
	    "01234567890123456789012345678901234567890123456789012345678901234"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *b = tc_exact(good[i], strlen(good[i]));

		CHECKF(wire_node_ok(b, strlen(good[i])), "\"%s\"", good[i]);
		free(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *b = tc_exact(bad[i], strlen(bad[i]));

		CHECKF(!wire_node_ok(b, strlen(bad[i])), "\"%s\"", bad[i]);
		free(b);
	}
	/* A NUL inside is not a name byte. */
	CHECK(!wire_node_ok("a\0b", 3));
	/* The length counts, not the NUL. */
	CHECK(wire_node_ok("allx", 3) == 0 && wire_node_ok("allx", 2) == 1);
	{
		char n[WIRE_NODE_MAX + 1];

		memset(n, 'z', sizeof(n));
		wire_default_node(n);
		CHECK(strlen(n) <= WIRE_NODE_MAX && wire_node_ok(n, strlen(n)));
	}
	return (0);
}

static int
t_ctl(void)
{
	char out[256];
	size_t n;
	struct wire_msg m;

	n = wire_put_ctl(out, sizeof(out), "ack", (const char *[]){"5", NULL},
	    NULL, 0);
	CHECK(n == 17 && memcmp(out, "13:0:,3:ack,1:5,,", 17) == 0);
	n = wire_put_ctl(out, sizeof(out), "bye", NULL, NULL, 0);
	CHECK(n == 12 && memcmp(out, "9:0:,3:bye,,", 12) == 0);
	n = wire_put_ctl(out, sizeof(out), "pong",
	    (const char *[]){"7", "node", "0", NULL}, "\0\n,", 3);
	CHECK(n == 35 &&
	    memcmp(out, "31:0:,4:pong,1:7,4:node,1:0,3:\0\n,,,", 35) == 0);
	CHECK(decode_frame(out, n, &m) == 0 && m.cmd == W_PONG &&
	    frame_count_parts(m.args, m.argslen) == 4);
	n = wire_put_ctl(out, sizeof(out), "ping", (const char *[]){"1", NULL},
	    "", 0);
	CHECK(n == 21 && memcmp(out, "17:0:,4:ping,1:1,0:,,", 21) == 0);
	/* Too small: the size is returned and nothing is written. */
	memset(out, 'Z', sizeof(out));
	n = wire_put_ctl(out, 16, "ack", (const char *[]){"5", NULL}, NULL, 0);
	CHECK(n == 17 && out[0] == 'Z' && out[16] == 'Z');
	CHECK(wire_put_ctl(NULL, 0, "bye", NULL, NULL, 0) == 12);
	n = wire_put_ctl(out, 17, "ack", (const char *[]){"5", NULL}, NULL, 0);
	CHECK(n == 17 && memcmp(out, "13:0:,3:ack,1:5,,", 17) == 0);
	/* Six arguments and a binary part of 1000 bytes. */
	{
		char bin[1000], big[1200];
		const char *args[] = {"a", "bb", "", "dddd", "e", "f", NULL};

		memset(bin, 0, sizeof(bin));
		n = wire_put_ctl(big, sizeof(big), "error", args, bin,
		    sizeof(bin));
		CHECK(n < sizeof(big));
		CHECK(decode_frame(big, n, &m) == 0 && m.cmd == W_ERROR &&
		    frame_count_parts(m.args, m.argslen) == 7);
	}
	return (0);
}

/* Each bad or missing field is named, with the code that refuses it. */
static int
t_hello_faults(void)
{
	static const struct {
		const char *field;
		enum wire_hello_fault fault;
		enum wire_refusal code;
	} c[] = {
	    {"session=00", WH_SESSION, WR_SESSION},
	    {"max=63", WH_MAX, WR_SIZE},
	    {"node=a/b", WH_NODE, WR_HELLO},
	    {"sealed=2", WH_SEALED, WR_HELLO},
	    {"sealed=1", WH_KX, WR_HELLO}, /* sealed, no kx */
	    {"kx=00", WH_KX, WR_HELLO},
	    {"from=x", WH_FROM, WR_HELLO},
	    {"resume=x", WH_RESUME, WR_HELLO},
	    {"relay=XY", WH_RELAY, WR_HELLO},
	    {"idle=x", WH_IDLE, WR_HELLO},
	    {"idle=86400001", WH_IDLE, WR_HELLO},
	};
	struct wire_hello h;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *args[] = {"quilt", "1-1", "node=n", SID, "max=1000",
		    c[i].field, NULL};

		CHECKF(hello_args(args, &h) == -1 && h.fault == c[i].fault,
		    "%s: fault %d", c[i].field, (int)h.fault);
		CHECKF(wire_hello_fault_code(h.fault) == c[i].code, "%s",
		    c[i].field);
		CHECK(strlen(wire_hello_fault_str(h.fault)) > 8);
	}
	{
		const char *nover[] = {"quilt", "2-1", "node=n", SID,
		    "max=1000", NULL};
		const char *noproto[] = {"quilx", "1-1", NULL};
		const char *nosid[] = {"quilt", "1-1", "node=n", "max=1000",
		    NULL};
		const char *nomax[] = {"quilt", "1-1", "node=n", SID, NULL};
		const char *nonode[] = {"quilt", "1-1", SID, "max=99", NULL};

		CHECK(hello_args(nover, &h) == -1 && h.fault == WH_VERSION &&
		    wire_hello_fault_code(h.fault) == WR_VERSION);
		CHECK(hello_args(noproto, &h) == -1 && h.fault == WH_PROTO);
		CHECK(hello_args(nosid, &h) == -1 && h.fault == WH_SESSION);
		CHECK(hello_args(nomax, &h) == -1 && h.fault == WH_MAX);
		CHECK(hello_args(nonode, &h) == -1 && h.fault == WH_NODE);
		CHECK(strstr(wire_hello_fault_str(WH_SESSION), "session"));
	}
	return (0);
}

/* ["", "error", TEXT, CODE] both ways; no code, or an unknown one: none. */
static int
t_error_frames(void)
{
	static const enum wire_refusal codes[] = {WR_NONE, WR_HELLO, WR_VERSION,
	    WR_SIZE, WR_SESSION, WR_SEALED, WR_PLAIN, WR_CONFIRM, WR_AUTH,
	    WR_FULL, WR_BUSY};
	char out[256];
	struct wire_msg m;
	enum wire_refusal code;
	const char *text;
	size_t n, len;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		n = wire_put_error(out, sizeof(out), "why not", codes[i]);
		CHECK(n <= sizeof(out));
		CHECK(decode_frame(out, n, &m) == 0 && m.cmd == W_ERROR);
		CHECK(wire_get_error(&m, &text, &len, &code) == 0);
		CHECKF(code == codes[i], "code %d came back as %d",
		    (int)codes[i], (int)code);
		CHECK(len == 7 && memcmp(text, "why not", 7) == 0);
		CHECK(frame_count_parts(m.args, m.argslen) ==
		    (codes[i] == WR_NONE ? 1 : 2));
	}
	n = wire_put_ctl(out, sizeof(out), "error",
	    (const char *[]){"x", "no-such-code", NULL}, NULL, 0);
	CHECK(decode_frame(out, n, &m) == 0 &&
	    wire_get_error(&m, &text, &len, &code) == 0 && code == WR_NONE);
	n = wire_put_ctl(out, sizeof(out), "error", NULL, NULL, 0);
	CHECK(decode_frame(out, n, &m) == 0 &&
	    wire_get_error(&m, &text, &len, &code) == 0 && len == 0 &&
	    code == WR_NONE);
	n = wire_put_ctl(out, sizeof(out), "bye", NULL, NULL, 0);
	CHECK(decode_frame(out, n, &m) == 0 &&
	    wire_get_error(&m, &text, &len, &code) == -1);
	CHECK(strcmp(wire_refusal_lead(WR_AUTH), "authentication failed: ") ==
		0 &&
	    strcmp(wire_refusal_lead(WR_SEALED), "") == 0);
	CHECK(strcmp(wire_refusal_name(WR_AUTH), "auth") == 0);
	return (0);
}

static int
t_ranges(void)
{
	/* clang-format off */
	static const struct {
		const char *s;
		uint64_t max, first, last;
		int ok;
	} c[] = {
		{ "7", 100, 7, 7, 1 },
		{ "0", 100, 0, 0, 1 },
		{ "3-9", 100, 3, 9, 1 },
		{ "9-9", 100, 9, 9, 2 },
		{ "18446744073709551615", UINT64_MAX, UINT64_MAX, UINT64_MAX, 1 },
		{ "1-18446744073709551615", UINT64_MAX, 1, UINT64_MAX, 1 },
		{ "9-3", 100, 0, 0, 0 },
		{ "101", 100, 0, 0, 0 },
		{ "1-101", 100, 0, 0, 0 },
		{ "", 100, 0, 0, 0 },
		{ "-", 100, 0, 0, 0 },
		{ "-5", 100, 0, 0, 0 },
		{ "5-", 100, 0, 0, 0 },
		{ "1-2-3", 100, 0, 0, 0 },
		{ "07", 100, 0, 0, 0 },
		{ "1 ", 100, 0, 0, 0 },
	};
	/* clang-format on */
	char out[WIRE_RANGE_MAX], *e;
	uint64_t a, b;
	size_t n;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		e = tc_exact(c[i].s, strlen(c[i].s));
		a = b = 12345;
		CHECKF((wire_get_range(e, strlen(c[i].s), c[i].max, &a, &b) ==
			   0) == (c[i].ok != 0),
		    "\"%s\"", c[i].s);
		free(e);
		if (!c[i].ok)
			continue;
		CHECKF(a == c[i].first && b == c[i].last, "\"%s\"", c[i].s);
		n = wire_put_range(out, a, b);
		if (c[i].ok == 2) /* "9-9" is written "9" */
			continue;
		CHECKF(n == strlen(c[i].s) && memcmp(out, c[i].s, n) == 0,
		    "\"%s\" came back as \"%.*s\"", c[i].s, (int)n, out);
	}
	n = wire_put_range(out, UINT64_MAX - 1, UINT64_MAX);
	CHECK(n == WIRE_RANGE_MAX);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "ranges: K and FIRST-LAST both ways, malformed refused", t_ranges },
	{ "wire_decode: dest, command, args; fewer than two parts",
	    t_decode },
	{ "msg frames: written sizes equal msg1/msgn size and body",
	    t_msg_sizes },
	{ "hello round-trips every field", t_hello_roundtrip },
	{ "hello: unknown keys are ignored", t_hello_unknown },
	{ "hello without node, session or max is EPROTO", t_hello_missing },
	{ "hello: malformed fields are EPROTO", t_hello_bad_fields },
	{ "hello: the field at fault is named, with its refusal code",
	    t_hello_faults },
	{ "error frames carry a refusal code, or none", t_error_frames },
	{ "hello: version ranges", t_hello_version },
	{ "wire_version: the highest shared version", t_version },
	{ "wire_node_ok: [A-Za-z0-9._-]{1,64}, never all", t_node_ok },
	{ "wire_put_ctl", t_ctl },
	{ "wire_msg_head: [DEST, msg, ...] known without a decode", t_msg_head },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
