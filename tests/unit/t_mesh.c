/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/mesh: the frames between relays and a relay's
 * answers to its clients.  Each encoder's frame decodes back to what was
 * put in; HOPS has one parser; malformed frames are EBADMSG.  TAP.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "mesh.h"
#include "tcase.h"
#include "wire.h"

/* Parse the one frame at f[0..n) into *m; its body in *body. */
static int
decode(const char *f, size_t n, const char **body, struct wire_msg *m)
{
	size_t len;

	if (frame_parse(f, n, n, body, &len) != (ssize_t)n)
		return (-1);
	return (wire_decode(*body, len, m));
}

static int
is(struct mesh_str s, const char *want)
{
	return (s.len == strlen(want) && memcmp(s.p, want, s.len) == 0);
}

static int
t_hops(void)
{
	CHECK(mesh_hops("00", 2) == 0);
	CHECK(mesh_hops("07", 2) == 7);
	CHECK(mesh_hops("99", 2) == 99);
	CHECK(mesh_hops("9", 1) == -1);
	CHECK(mesh_hops("100", 3) == -1);
	CHECK(mesh_hops("a1", 2) == -1);
	CHECK(mesh_hops("1/", 2) == -1);
	return (0);
}

static int
t_msg(void)
{
	char f[256], *hp, *e;
	const char *body;
	struct wire_msg m;
	struct mesh_msg x;
	size_t b = mesh_msg_body(2, 5, 3, 6), sz = frame_size(b);

	e = mesh_put_msg(f, b, "n5", 2, "relay", 5, 7, 123, 'e', "2:hi,,", 6,
	    &hp);
	CHECK((size_t)(e - f) == sz);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_MSG);
	CHECK(mesh_get_msg(body, &m, &x) == 0);
	CHECK(is(x.origin, "relay") && x.hops == 7 && x.id == 123 && x.want);
	CHECK(x.plen == 6 && memcmp(x.parts, "2:hi,,", 6) == 0);
	CHECK(body + x.hops_at == hp && memcmp(hp, "07", 2) == 0);
	mesh_set_hops(hp, 31);
	CHECK(mesh_get_msg(body, &m, &x) == 0 && x.hops == 31);
	/* FLAGS "-": nobody waits. */
	mesh_put_msg(f, b, "n5", 2, "relay", 5, 0, 123, '-', "2:hi,,", 6, NULL);
	CHECK(decode(f, sz, &body, &m) == 0 && mesh_get_msg(body, &m, &x) == 0);
	CHECK(!x.want && !x.spread && x.hops == 0);
	/* FLAGS "s": a frame of the Spread daemons. */
	mesh_put_msg(f, b, "n5", 2, "relay", 5, 0, 123, 's', "2:hi,,", 6, NULL);
	CHECK(decode(f, sz, &body, &m) == 0 && mesh_get_msg(body, &m, &x) == 0);
	CHECK(!x.want && x.spread && x.flags == 's');
	return (0);
}

/* The body of the frame of parts p (NULL-terminated) into m. */
static const char *
frame_of(char *buf, const char *const *p, struct wire_msg *m)
{
	char body[512], *o = body;
	const char *b;
	size_t n;

	for (; *p; p++)
		o = frame_put_str(o, *p);
	n = frame_put(buf, body, o - body) - buf;
	if (decode(buf, n, &b, m) == -1)
		return (NULL);
	return (b);
}

static int
t_bad(void)
{
	static const char *const bad_msg[][9] = {
	    {"n", "msg", "o", "1", "5", "e", NULL}, /* HOPS one digit */
	    {"n", "msg", "o", "01", "x", "e", NULL}, /* ID */
	    {"n", "msg", "all", "01", "5", "e", NULL}, /* ORIGIN */
	    {"n", "msg", "o", "01", "5", NULL}, /* no FLAGS */
	};
	char buf[1024];
	const char *b;
	struct wire_msg m;
	struct mesh_msg x;
	struct mesh_route r;
	struct mesh_answer a;
	struct mesh_ping pi;
	struct mesh_pong po;
	struct mesh_str s;

	for (size_t i = 0; i < sizeof(bad_msg) / sizeof(bad_msg[0]); i++) {
		CHECK((b = frame_of(buf, bad_msg[i], &m)) != NULL);
		errno = 0;
		CHECKF(mesh_get_msg(b, &m, &x) == -1 && errno == EBADMSG,
		    "msg %zu", i);
	}
	b = frame_of(buf,
	    (const char *[]){"", "route", "n", "XY", "1", "a", NULL}, &m);
	CHECK(mesh_get_route(&m, &r) == -1);
	b = frame_of(buf,
	    (const char *[]){"", "route", "n", "ab", "-1", "a", NULL}, &m);
	CHECK(mesh_get_route(&m, &r) == -1);
	b = frame_of(buf, (const char *[]){"o", "done", "w", "0x", "5", NULL},
	    &m);
	CHECK(mesh_get_answer(b, &m, &a) == -1);
	b = frame_of(buf, (const char *[]){"o", "done", "w", "00", "9-5", NULL},
	    &m);
	CHECK(mesh_get_answer(b, &m, &a) == 0);
	{
		uint64_t f1, l1;

		CHECK(mesh_next_range(&a, &f1, &l1) == -1);
	}
	b = frame_of(buf,
	    (const char *[]){"d", "ping", "o", "00", "t",
		"123456789012345678901", "p", NULL},
	    &m);
	CHECK(mesh_get_ping(b, &m, &pi) == -1); /* SEQ over 20 */
	b = frame_of(buf,
	    (const char *[]){"o", "pong", "n", "00", "t", "1", "x", "p", NULL},
	    &m);
	CHECK(mesh_get_pong(b, &m, &po) == -1); /* DISTANCE */
	b = frame_of(buf,
	    (const char *[]){"o", "pong", "n", "00", "t", "1", "2", NULL}, &m);
	CHECK(mesh_get_pong(b, &m, &po) == -1); /* no PAYLOAD */
	b = frame_of(buf, (const char *[]){"", "duplicate", "zz", NULL}, &m);
	CHECK(mesh_get_inst(&m, &s) == -1);
	b = frame_of(buf, (const char *[]){"", "server-connect", "", NULL}, &m);
	CHECK(mesh_get_addr(&m, &s) == -1);
	b = frame_of(buf,
	    (const char *[]){"", "server-connect", "a", "b", NULL}, &m);
	CHECK(mesh_get_addr(&m, &s) == -1);
	(void)b;
	return (0);
}

static int
t_route(void)
{
	const char *nbr[] = {"a", "bb", "ccc"};
	char f[256];
	const char *body, *p;
	size_t sz = mesh_put_route(NULL, 0, "node", "00ff", 42,
		   "127.0.0.1:4000", nbr, 3, -1),
	       n;
	struct wire_msg m;
	struct mesh_route r;

	CHECK(sz <= sizeof(f));
	CHECK(
	    mesh_put_route(f, sz - 1, "node", "00ff", 42, "x", nbr, 3, -1) > 0);
	CHECK(mesh_put_route(f, sizeof(f), "node", "00ff", 42, "127.0.0.1:4000",
		  nbr, 3, -1) == sz);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_ROUTE);
	CHECK(mesh_get_route(&m, &r) == 0);
	CHECK(is(r.node, "node") && is(r.inst, "00ff") && r.seq == 42);
	CHECK(is(r.addr, "127.0.0.1:4000"));
	for (int i = 0; i < 3; i++)
		CHECK(frame_next_part(&r.nbrs, &p, &n) == 1 &&
		    n == strlen(nbr[i]) && memcmp(p, nbr[i], n) == 0);
	CHECK(frame_next_part(&r.nbrs, &p, &n) == 0);
	return (0);
}

static int
t_route_life(void)
{
	const char *nbr[] = {"a", "+spread"};
	static const char *const bad[][9] = {
	    {"", "route", "n", "ab", "1", "x", "+life=", NULL},
	    {"", "route", "n", "ab", "1", "x", "+life=01", NULL},
	    {"", "route", "n", "ab", "1", "x", "+life=-1", NULL},
	    {"", "route", "n", "ab", "1", "x", "+life=4294967296", NULL},
	    {"", "route", "n", "ab", "1", "x", "+life=5", "+life=5", NULL},
	    {"", "route", "n", "ab", "1", "x", "a", "+life=5x", NULL},
	};
	char f[256], buf[1024];
	const char *body, *p;
	size_t sz, n;
	struct wire_msg m;
	struct mesh_route r;

	sz = mesh_put_route(f, sizeof(f), "node", "ff", UINT64_MAX, "", nbr, 2,
	    0);
	CHECK(sz <= sizeof(f));
	CHECK(decode(f, sz, &body, &m) == 0 && mesh_get_route(&m, &r) == 0);
	CHECK(r.life == 0 && r.seq == UINT64_MAX && is(r.addr, ""));
	/* The neighbours' walk sees the options too, the life last. */
	CHECK(frame_next_part(&r.nbrs, &p, &n) == 1 && n == 1);
	CHECK(frame_next_part(&r.nbrs, &p, &n) == 1 && n == 7);
	CHECK(frame_next_part(&r.nbrs, &p, &n) == 1 && n == 7 &&
	    memcmp(p, "+life=0", 7) == 0);
	CHECK(frame_next_part(&r.nbrs, &p, &n) == 0);
	sz = mesh_put_route(f, sizeof(f), "node", "ff", 1, "", nbr, 1,
	    MESH_LIFE_MAX);
	CHECK(decode(f, sz, &body, &m) == 0 && mesh_get_route(&m, &r) == 0);
	CHECK(r.life == MESH_LIFE_MAX);
	/* Said nowhere: -1; an option of another name is not looked at. */
	CHECK(frame_of(buf,
		  (const char *[]){"", "route", "n", "ab", "1", "x", "+lifex",
		      "+other=1", NULL},
		  &m) != NULL);
	CHECK(mesh_get_route(&m, &r) == 0 && r.life == -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(frame_of(buf, bad[i], &m) != NULL);
		errno = 0;
		CHECKF(mesh_get_route(&m, &r) == -1 && errno == EBADMSG,
		    "bad %zu", i);
	}
	return (0);
}

static int
t_inst_order(void)
{
	static const char *const up[] = {"0", "1", "9", "a", "f", "10", "ff",
	    "100", "0006620057fbf8fe06a0", "0006620057fbf8fe06a1",
	    "10000000000000000000", "ffffffffffffffffffffffffffffffff"};
	const size_t nup = sizeof(up) / sizeof(up[0]);

	for (size_t i = 0; i < nup; i++)
		for (size_t j = 0; j < nup; j++) {
			int c = mesh_inst_cmp(up[i], strlen(up[i]), up[j],
			    strlen(up[j]));

			CHECKF((i < j && c < 0) || (i == j && c == 0) ||
				(i > j && c > 0),
			    "%s against %s: %d", up[i], up[j], c);
		}
	/* Leading zeros do not count. */
	CHECK(mesh_inst_cmp("000a", 4, "a", 1) == 0);
	CHECK(mesh_inst_cmp("00", 2, "0", 1) == 0);
	CHECK(mesh_inst_cmp("0fff", 4, "1000", 4) < 0);
	return (0);
}

static int
t_answer(void)
{
	const uint64_t r[3][2] = {{1, 1}, {5, 9}, {UINT64_MAX, UINT64_MAX}};
	char f[512];
	const char *body;
	struct wire_msg m;
	struct mesh_answer a;
	uint64_t first, last;
	size_t sz;

	sz = mesh_put_answer(f, sizeof(f), "orig", 1, "writer", r, 3);
	CHECK(sz <= sizeof(f));
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_LOST);
	CHECK(mesh_get_answer(body, &m, &a) == 0);
	CHECK(a.lost && is(a.node, "writer") && a.hops == 0);
	CHECK(m.destlen == 4 && memcmp(m.dest, "orig", 4) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(mesh_next_range(&a, &first, &last) == 1 &&
		    first == r[i][0] && last == r[i][1]);
	CHECK(mesh_next_range(&a, &first, &last) == 0);
	/* A client's done: ["", "done", NODE, RANGE...]. */
	sz = mesh_put_answer(f, sizeof(f), NULL, 0, "all", r, 2);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_DONE);
	CHECK(m.destlen == 0 && frame_count_parts(m.args, m.argslen) == 3);
	return (0);
}

static int
t_ping_pong(void)
{
	char f[256];
	const char *body;
	struct wire_msg m;
	struct mesh_ping p;
	struct mesh_pong q;
	size_t sz;

	sz = mesh_put_ping(f, sizeof(f), "dst", 3, "org", "77", 2, "12", 2,
	    "payload", 7);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_PING);
	CHECK(mesh_get_ping(body, &m, &p) == 0);
	CHECK(is(p.origin, "org") && is(p.tag, "77") && is(p.seq, "12"));
	CHECK(is(p.payload, "payload") && p.hops == 0);
	CHECK(memcmp(body + p.hops_at, "00", 2) == 0);
	sz = mesh_put_pong(f, sizeof(f), "org", "dst", 3, "77", 2, "12", 2, 4,
	    "payload", 7);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_PONG);
	CHECK(mesh_get_pong(body, &m, &q) == 0);
	CHECK(is(q.node, "dst") && q.distance == 4 && is(q.payload, "payload"));
	sz = mesh_put_client_pong(f, sizeof(f), "12", 2, "dst", 3, 4, "p", 1);
	CHECK(sz == strlen("29:0:,4:pong,2:12,3:dst,1:4,1:p,,") &&
	    memcmp(f, "29:0:,4:pong,2:12,3:dst,1:4,1:p,,", sz) == 0);
	return (0);
}

static int
t_client_lost(void)
{
	struct mesh_str names[] = {{"a", 1}, {"bc", 2}};
	char f[128];
	size_t sz = mesh_put_client_lost(f, sizeof(f), 42, names, 2);

	CHECKF(sz == strlen("24:0:,4:lost,2:42,1:a,2:bc,,") &&
		memcmp(f, "24:0:,4:lost,2:42,1:a,2:bc,,", sz) == 0,
	    "%.*s", (int)sz, f);
	return (0);
}

static int
t_alive(void)
{
	char f[64], buf[256];
	const char *body, *b;
	struct wire_msg m;
	uint64_t ms;
	size_t sz = mesh_put_alive(f, sizeof(f), 3000);
	static const char *const bad[][5] = {
	    {"", "alive", NULL}, /* no MS */
	    {"", "alive", "3000", "1", NULL}, /* one too many */
	    {"", "alive", "99", NULL}, /* under 100 ms */
	    {"", "alive", "3600001", NULL}, /* over an hour */
	    {"", "alive", "03000", NULL}, /* a leading zero */
	    {"", "alive", "3e3", NULL},
	    {"n1", "alive", "3000", NULL}, /* for a node */
	};

	CHECK(sz <= sizeof(f));
	CHECK(memcmp(f, "18:0:,5:alive,4:3000,,", sz) == 0);
	CHECK(decode(f, sz, &body, &m) == 0 && m.cmd == W_ALIVE);
	CHECK(mesh_is_alive(body, sz - 4));
	CHECK(mesh_get_alive(&m, &ms) == 0 && ms == 3000);
	sz = mesh_put_alive(f, sizeof(f), MESH_ALIVE_MIN);
	CHECK(decode(f, sz, &body, &m) == 0);
	CHECK(mesh_get_alive(&m, &ms) == 0 && ms == MESH_ALIVE_MIN);
	CHECK(mesh_put_alive(f, 4, 3000) > 4);
	/* what the send child must not take for one */
	CHECK(!mesh_is_alive("0:,5:alivf,", 11));
	CHECK(!mesh_is_alive("0:,5:alive", 10));
	CHECK(!mesh_is_alive("2:n1,5:alive,4:3000,", 20));
	CHECK(!mesh_is_alive("0:,3:msg,5:alive,", 17));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK((b = frame_of(buf, bad[i], &m)) != NULL);
		errno = 0;
		CHECKF(mesh_get_alive(&m, &ms) == -1 && errno == EBADMSG,
		    "alive %zu", i);
	}
	return (0);
}

static const struct tcase cases[] = {
    {"HOPS: two digits, one parser", t_hops},
    {"msg: encode, decode, HOPS in place", t_msg},
    {"malformed relay frames are EBADMSG", t_bad},
    {"route: encode and decode, neighbours walked", t_route},
    {"route: +life=MS, once, a number; none is -1", t_route_life},
    {"instance ids are ordered as numbers", t_inst_order},
    {"done and lost: ranges both ways; a client's done", t_answer},
    {"ping, pong, a client's pong", t_ping_pong},
    {"a client's lost names the nodes", t_client_lost},
    {"alive: encode, decode, told from data at a glance; bad MS refused",
	t_alive},
};

int
main(void)
{
	return (TC_RUN(cases));
}
