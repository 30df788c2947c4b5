/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/spread: the codec against the bytes of the real
 * captures in tests/spread/vectors/ (every stream of every capture is
 * decoded, each field checked against the capture's own annotations, and
 * each unit re-encoded to the same bytes), plus the encoders, limits and
 * malformed input.  TAP output.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spread.h"
#include "../helpers/spread-vec.h"

static char vecdir[4096];
static int have_vectors;
static char why[512]; /* the first failure of a case */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fail("%s:%d: %s", __FILE__, __LINE__, #c);             \
			return (1);                                            \
		}                                                              \
	} while (0)

static void
fail(const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static int
load(const char *name, struct vec_file *vf)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", vecdir, name);
	return (vec_load(path, vf));
}

/* ------------------------------------------------------------------ */

static int
t_errnames(void)
{
	/* clang-format off */
	static const struct {
		int code;
		const char *name;
	} want[] = {
		{ 1, "ACCEPT_SESSION" }, { -1, "ILLEGAL_SPREAD" },
		{ -2, "COULD_NOT_CONNECT" }, { -3, "REJECT_QUOTA" },
		{ -4, "REJECT_NO_NAME" }, { -5, "REJECT_ILLEGAL_NAME" },
		{ -6, "REJECT_NOT_UNIQUE" }, { -7, "REJECT_VERSION" },
		{ -8, "CONNECTION_CLOSED" }, { -9, "REJECT_AUTH" },
		{ -11, "ILLEGAL_SESSION" }, { -12, "ILLEGAL_SERVICE" },
		{ -13, "ILLEGAL_MESSAGE" }, { -14, "ILLEGAL_GROUP" },
		{ -15, "BUFFER_TOO_SHORT" }, { -16, "GROUPS_TOO_SHORT" },
		{ -17, "MESSAGE_TOO_LONG" }, { -18, "NET_ERROR_ON_SESSION" },
		{ -19, "SP_BUG" }, { -20, "ILLEGAL_TIME" },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *n = spread_errname(want[i].code);

		CHECK(n != NULL && strcmp(n, want[i].name) == 0);
		CHECK(spread_errtext(want[i].code) != NULL);
	}
	CHECK(spread_errname(-10) == NULL);
	CHECK(spread_errname(0) == NULL);
	CHECK(spread_errname(-21) == NULL);
	return (0);
}

static int
same(const char *a, const char *b)
{
	return (strcmp(a, b) == 0);
}

/* Each failure of spread_session_open: the words shown and what it was. */
static int
t_setup_errors(void)
{
	struct spread_addr tcp, un;
	struct spread_setup_err e;
	char want[128];

	CHECK(spread_addr_parse("4803@nowhere.invalid", &tcp) == 0);
	CHECK(spread_addr_parse("4803", &un) == 0);

	spread_setup_error(&e, &tcp, SPREAD_COULD_NOT_CONNECT, ENXIO,
	    "Name or service not known");
	CHECK(e.fault == SPREAD_FAULT_RESOLVE);
	CHECK(same(e.text,
	    "COULD_NOT_CONNECT: resolve nowhere.invalid: Name or service not known"));
	spread_setup_error(&e, &tcp, SPREAD_COULD_NOT_CONNECT, ETIMEDOUT,
	    "timed out");
	CHECK(e.fault == SPREAD_FAULT_TIMEOUT);
	CHECK(same(e.text, "COULD_NOT_CONNECT: timed out"));
	spread_setup_error(&e, &un, SPREAD_COULD_NOT_CONNECT, ENOENT, NULL);
	CHECK(e.fault == SPREAD_FAULT_REFUSED);
	CHECK(strcmp(e.name, "COULD_NOT_CONNECT") == 0);
	snprintf(want, sizeof(want), "COULD_NOT_CONNECT: /tmp/4803: %s",
	    strerror(ENOENT));
	CHECK(same(e.text, want));
	spread_setup_error(&e, &tcp, SPREAD_COULD_NOT_CONNECT, ECONNREFUSED,
	    NULL);
	CHECK(e.fault == SPREAD_FAULT_REFUSED);
	CHECK(strncmp(e.text, "COULD_NOT_CONNECT: ", 19) == 0 &&
	    strcmp(e.text + 19, strerror(ECONNREFUSED)) == 0);
	spread_setup_error(&e, &tcp, SPREAD_COULD_NOT_CONNECT, EMFILE, NULL);
	CHECK(e.fault == SPREAD_FAULT_RESOURCE);
	spread_setup_error(&e, &tcp, SPREAD_CONNECTION_CLOSED, EPROTO,
	    "the daemon's reply is not the Spread protocol");
	CHECK(e.fault == SPREAD_FAULT_PROTOCOL);
	CHECK(same(e.text,
	    "CONNECTION_CLOSED: the daemon's reply is not the Spread protocol"));
	spread_setup_error(&e, &tcp, SPREAD_CONNECTION_CLOSED, 0, NULL);
	CHECK(e.fault == SPREAD_FAULT_REFUSED);
	CHECK(
	    same(e.text, "CONNECTION_CLOSED: connection closed by the daemon"));
	spread_setup_error(&e, &tcp, SPREAD_REJECT_NOT_UNIQUE, 0,
	    spread_errtext(SPREAD_REJECT_NOT_UNIQUE));
	CHECK(e.fault == SPREAD_FAULT_REFUSED);
	CHECK(same(e.text,
	    "REJECT_NOT_UNIQUE: private name already in use on the daemon"));
	spread_setup_error(&e, &tcp, -10, 0, NULL);
	CHECK(e.fault == SPREAD_FAULT_PROTOCOL && e.name == NULL);
	CHECK(same(e.text, "the daemon answered with unknown code -10"));
	return (0);
}

static int
t_addr(void)
{
	struct spread_addr a;

	CHECK(spread_addr_parse("4803", &a) == 0 && a.is_unix &&
	    strcmp(a.path, "/tmp/4803") == 0 && a.port == 4803);
	CHECK(spread_addr_parse(NULL, &a) == 0 && a.is_unix &&
	    strcmp(a.path, "/tmp/4803") == 0);
	CHECK(spread_addr_parse("", &a) == 0 && a.is_unix && a.port == 4803);
	CHECK(spread_addr_parse("4803@localhost", &a) == 0 && !a.is_unix &&
	    strcmp(a.host, "localhost") == 0 && a.port == 4803);
	CHECK(spread_addr_parse("4803@127.0.0.1", &a) == 0 && !a.is_unix &&
	    strcmp(a.host, "127.0.0.1") == 0);
	CHECK(spread_addr_parse("4803@::1", &a) == 0 && !a.is_unix &&
	    strcmp(a.host, "::1") == 0);
	CHECK(spread_addr_parse("1@fe80::1:2", &a) == 0 &&
	    strcmp(a.host, "fe80::1:2") == 0 && a.port == 1);
	CHECK(spread_addr_parse("65535@h", &a) == 0 && a.port == 65535);
	errno = 0;
	CHECK(spread_addr_parse("abc", &a) == -1 && errno == EINVAL);
	CHECK(spread_addr_parse("localhost:4803", &a) == -1);
	CHECK(spread_addr_parse("0", &a) == -1);
	CHECK(spread_addr_parse("65536", &a) == -1);
	CHECK(spread_addr_parse("4803@", &a) == -1);
	CHECK(spread_addr_parse("@host", &a) == -1);
	CHECK(spread_addr_parse("48a3", &a) == -1);
	CHECK(spread_addr_parse("-1", &a) == -1);
	return (0);
}

static int
t_names(void)
{
	char g32[33];

	CHECK(spread_private_valid("alice", 5));
	CHECK(spread_private_valid("abcdefghij", 10));
	CHECK(!spread_private_valid("abcdefghijk", 11));
	CHECK(!spread_private_valid("", 0));
	CHECK(!spread_private_valid("bad name", 8));
	CHECK(!spread_private_valid("a#b", 3)); /* '#' is 0x23 */
	CHECK(spread_private_valid("$~", 2));
	CHECK(!spread_private_valid("a\x7f", 2));
	memset(g32, 'G', 32);
	g32[32] = '\0';
	CHECK(!spread_group_valid(g32, 32));
	CHECK(spread_group_valid(g32, 31));
	CHECK(!spread_group_valid("a b", 3));
	CHECK(!spread_group_valid("", 0));
	CHECK(!spread_group_valid("\xc3\xa9", 2));
	CHECK(spread_private_group_valid("#alice#localhost", 16));
	CHECK(!spread_private_group_valid("#alice#", 7));
	CHECK(!spread_private_group_valid("##localhost", 11));
	CHECK(!spread_private_group_valid("#abcdefghijk#h", 14));
	CHECK(!spread_private_group_valid("#a#12345678901234567890", 23));
	CHECK(spread_private_group_valid("#a#1234567890123456789", 22));
	CHECK(spread_dest_valid("#m1#localhost", 13));
	CHECK(spread_dest_valid("svc", 3));
	CHECK(!spread_dest_valid("#x", 2));
	memcpy(g32, "abc\0garbage", 11);
	CHECK(spread_name_len((uint8_t *)g32) == 3);
	memset(g32, 'G', 32);
	CHECK(spread_name_len((uint8_t *)g32) == 32);
	return (0);
}

/* The set-up bytes of capture 01 (libspread 5.0.1, "alice"). */
static int
t_setup_bytes(void)
{
	struct vec_file vf;
	struct spread_hello h = {.major = 5, .minor = 0, .patch = 1};
	static const char *const null_auth[] = {"NULL"};
	uint8_t b[256];
	struct spread_accept a;
	ssize_t n;

	CHECK(load("01-connect-no-membership.txt", &vf) == 0 && vf.n == 1);
	h.name_len = 5;
	memcpy(h.name, "alice", 5);
	n = spread_hello_encode(b, sizeof(b), &h);
	CHECK(n == 10 && memcmp(b, vf.c[0].s[0].b, 10) == 0);
	CHECK(spread_choice_encode(b, sizeof(b), null_auth, 1) == 90 &&
	    memcmp(b, vf.c[0].s[0].b + 10, 90) == 0);
	CHECK(spread_offer_encode(b, sizeof(b), "NULL ") == 6 &&
	    memcmp(b, vf.c[0].s[1].b, 6) == 0);
	memset(&a, 0, sizeof(a));
	a.major = 5;
	a.patch = 1;
	a.has_patch = 1;
	strcpy(a.private_group, "#alice#localhost");
	CHECK(spread_accept_encode(b, sizeof(b), &a) == 21 &&
	    memcmp(b, vf.c[0].s[1].b + 6, 21) == 0);
	CHECK(spread_kill_encode(b, sizeof(b), "#alice#localhost") == 80 &&
	    memcmp(b, vf.c[0].s[0].b + 100, 80) == 0);
	vec_free(&vf);

	/* Priority and membership flags; the hello of an old client. */
	h.flags = SPREAD_HELLO_MEMBERSHIP | SPREAD_HELLO_PRIORITY;
	n = spread_hello_encode(b, sizeof(b), &h);
	CHECK(n == 10 && b[3] == 0x11);
	h.major = 3;
	h.minor = 13;
	CHECK(spread_hello_encode(b, sizeof(b), &h) == 9);
	h.name_len = 11;
	CHECK(spread_hello_encode(b, sizeof(b), &h) == -1 && errno == EMSGSIZE);
	CHECK(!spread_version_has_patch(3, 14) &&
	    spread_version_has_patch(3, 15));
	CHECK(!spread_version_has_auth(3, 15, 9) &&
	    spread_version_has_auth(3, 16, 0));
	CHECK(spread_version_reply_patch(3, 15, 0) &&
	    !spread_version_reply_patch(3, 14, 9));
	return (0);
}

/* Requests built by the encoders are the bytes libspread sent. */
static int
t_request_bytes(void)
{
	struct vec_file vf;
	uint8_t b[512];
	const char *g[] = {"svc"};
	const uint8_t *cd;
	size_t off;

	if (spread_host_big()) {
		fail("skip: the captures are little-endian");
		return (0);
	}
	CHECK(load("12-join-leave-self.txt", &vf) == 0 && vf.n == 1);
	cd = vf.c[0].s[0].b;
	CHECK(spread_join_encode(b, sizeof(b), "#joiner#localhost", "grpA") ==
		80 &&
	    memcmp(b, cd + 101, 80) == 0);
	CHECK(spread_leave_encode(b, sizeof(b), "#joiner#localhost", "grpA") ==
		80 &&
	    memcmp(b, cd + 181, 80) == 0);
	/* Its KILL has stack bytes after the NUL: only the name counts. */
	CHECK(spread_kill_encode(b, sizeof(b), "#joiner#localhost") == 80 &&
	    memcmp(b, cd + 261, 48 + 18) == 0);
	vec_free(&vf);

	/* AGREED, mess_type 5, "agreed" to svc from #snd#localhost. */
	CHECK(load("13-multicast-service-types.txt", &vf) == 0 && vf.n >= 1);
	cd = NULL;
	for (int i = 0; i < vf.n && cd == NULL; i++) {
		struct vec_stream *s = &vf.c[i].s[0];

		for (off = 0; off + 86 <= s->len; off++)
			if (memcmp(s->b + off, "\x90\x00\x00\x80#snd#", 9) ==
				0 &&
			    memcmp(s->b + off + 80, "agreed", 6) == 0) {
				cd = s->b + off;
				break;
			}
	}
	CHECK(cd != NULL);
	CHECK(spread_mcast_encode(b, sizeof(b), "#snd#localhost",
		  SPREAD_AGREED_MESS, g, 1, 5, "agreed", 6) == 86 &&
	    memcmp(b, cd, 86) == 0);
	vec_free(&vf);
	return (0);
}

static int
t_mcast_limits(void)
{
	static uint8_t b[SPREAD_MAX_BODY + 4096];
	static char data[SPREAD_MAX_BODY + 1];
	const char *g[SPREAD_MAX_GROUPS + 1];
	struct spread_msg m;

	for (int i = 0; i <= SPREAD_MAX_GROUPS; i++)
		g[i] = "grp";
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_AGREED_MESS, g,
		  1, 0, data, SPREAD_MAX_BODY - 32) == SPREAD_MAX_BODY + 48);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_AGREED_MESS, g,
		  1, 0, data, SPREAD_MAX_BODY - 31) == -1 &&
	    errno == EMSGSIZE);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_SAFE_MESS, g,
		  100, 0, data, SPREAD_MAX_BODY - 3200) > 0);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_SAFE_MESS, g,
		  100, 0, data, SPREAD_MAX_BODY - 3199) == -1 &&
	    errno == EMSGSIZE);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_SAFE_MESS, g,
		  101, 0, "x", 1) == -1 &&
	    errno == EMSGSIZE);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", 0, g, 1, 0, "x", 1) ==
		-1 &&
	    errno == EINVAL);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_SELF_DISCARD, g,
		  1, 0, "x", 1) == -1 &&
	    errno == EINVAL);
	CHECK(
	    spread_mcast_encode(b, sizeof(b), "#a#b",
		SPREAD_AGREED_MESS | SPREAD_SAFE_MESS, g, 1, 0, "x", 1) == -1 &&
	    errno == EINVAL);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b",
		  SPREAD_AGREED_MESS | SPREAD_REJECT_MESS, g, 1, 0, "x",
		  1) == -1 &&
	    errno == EINVAL);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_AGREED_MESS, g,
		  0, 0, "x", 1) == -1 &&
	    errno == EINVAL);
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_AGREED_MESS, g,
		  1, 32768, "x", 1) == -1 &&
	    errno == EINVAL);
	g[0] = "a b";
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b", SPREAD_AGREED_MESS, g,
		  1, 0, "x", 1) == -1 &&
	    errno == EINVAL);
	g[0] = "#priv#daemon";
	CHECK(spread_mcast_encode(b, sizeof(b), "#a#b",
		  SPREAD_FIFO_MESS | SPREAD_SELF_DISCARD, g, 1, -32768, "x",
		  1) == 48 + 32 + 1);
	CHECK(spread_msg_decode(b, 81, 1 << 20, &m) == 81);
	CHECK(m.h.type == (SPREAD_FIFO_MESS | SPREAD_SELF_DISCARD));
	CHECK(spread_mess_type(m.h.hint) == -32768);
	CHECK(m.h.big == spread_host_big() && m.h.hint_big == m.h.big);
	CHECK(spread_join_encode(b, sizeof(b), "#a#b", "a b") == -1);
	CHECK(spread_join_encode(b, sizeof(b), "#a#b", "#priv#d") == -1);
	CHECK(spread_leave_encode(b, sizeof(b), "#a#b", "") == -1);
	return (0);
}

/* A header written in either byte order reads back the same. */
static int
t_header_orders(void)
{
	struct spread_header h, d;
	uint8_t p[SPREAD_HEADER_SIZE];

	for (int big = 0; big < 2; big++)
		for (int hb = 0; hb < 2; hb++) {
			memset(&h, 0, sizeof(h));
			h.type = SPREAD_SAFE_MESS | SPREAD_SELF_DISCARD;
			memcpy(h.name, "#x#y", 4);
			h.num_groups = 3;
			h.data_len = 70000;
			h.big = big;
			h.hint_big = hb;
			h.hint = spread_hint(-2, hb);
			spread_header_encode(p, &h);
			CHECK(spread_header_decode(p, 47, &d) == 0);
			CHECK(spread_header_decode(p, 48, &d) == 48);
			CHECK(d.type == h.type && d.big == big &&
			    d.hint_big == hb && d.num_groups == 3 &&
			    d.data_len == 70000 &&
			    spread_mess_type(d.hint) == -2 &&
			    memcmp(d.name, h.name, 32) == 0);
			CHECK(p[0] == (big ? 0 : 0xe0) &&
			    p[3] == (big ? 0x60 : 0x80));
		}
	/* -2 goes out as 80 fe ff 80 from a little-endian sender. */
	CHECK(spread_hint(-2, 0) == 0x80fffe80u);
	CHECK(spread_hint(4660, 1) == 0x00123400u);
	return (0);
}

static int
t_malformed(void)
{
	uint8_t p[256];
	struct spread_msg m;
	struct spread_header h;
	struct spread_offer o;
	struct spread_accept a;
	struct spread_memb b;

	memset(p, 0, sizeof(p));
	p[0] = 0x90; /* one marker bit without the other */
	CHECK(spread_header_decode(p, 48, &h) == -1 && errno == EBADMSG);
	memset(p, 0, sizeof(p));
	p[0] = 0x90;
	p[3] = 0x80;
	p[36] = 0xff;
	p[37] = 0xff;
	p[38] = 0xff;
	p[39] = 0xff; /* num_groups -1 */
	CHECK(spread_msg_decode(p, 48, 1 << 20, &m) == -1 && errno == EBADMSG);
	p[36] = p[37] = p[38] = p[39] = 0;
	p[47] = 0x80; /* data_len negative */
	CHECK(spread_msg_decode(p, 48, 1 << 20, &m) == -1 && errno == EBADMSG);
	p[47] = 0x01; /* 16 MiB: over the bound */
	CHECK(spread_msg_decode(p, 48, 1 << 20, &m) == -1 && errno == EMSGSIZE);
	p[47] = 0;
	p[44] = 10;
	CHECK(spread_msg_decode(p, 57, 1 << 20, &m) == 0);
	CHECK(spread_msg_decode(p, 58, 1 << 20, &m) == 58);

	p[0] = 91;
	CHECK(spread_offer_decode(p, 200, &o) == -1 && errno == EPROTO);
	p[0] = 0xfd;
	CHECK(spread_offer_decode(p, 1, &o) == 1 && o.code == -3);
	p[0] = 5;
	memcpy(p + 1, "NULL ", 5);
	CHECK(spread_offer_decode(p, 5, &o) == 0);
	CHECK(spread_offer_decode(p, 6, &o) == 6 &&
	    spread_offer_has(&o, "NULL") && !spread_offer_has(&o, "NUL") &&
	    !spread_offer_has(&o, "IP"));
	memcpy(p, "\x01\x05\x00\x01\x20", 5); /* a name of 32 */
	CHECK(spread_accept_decode(p, 100, 1, &a) == -1 && errno == EPROTO);
	memcpy(p, "\x01\x85\x00\x01\x02", 5); /* a negative version */
	CHECK(spread_accept_decode(p, 100, 1, &a) == -1 && errno == EPROTO);
	memcpy(p, "\x02", 1);
	CHECK(spread_accept_decode(p, 100, 1, &a) == -1 && errno == EPROTO);
	memcpy(p, "\xf7", 1);
	CHECK(spread_accept_decode(p, 1, 1, &a) == 1 && a.code == -9);
	memcpy(p, "\x01\x05\x00\x02#a", 6); /* no patch byte */
	CHECK(spread_accept_decode(p, 6, 0, &a) == 6 &&
	    strcmp(a.private_group, "#a") == 0 && !a.has_patch);

	/* A membership body whose sets do not fit. */
	memset(&m, 0, sizeof(m));
	m.h.type = SPREAD_REG_MEMB_MESS | SPREAD_CAUSED_BY_JOIN;
	memset(p, 0, sizeof(p));
	p[12] = 1; /* one set */
	p[20] = 2; /* of two members, with room for one */
	m.data = p;
	m.h.data_len = 56;
	CHECK(spread_memb_decode(&m, &b) == -1 && errno == EBADMSG);
	p[20] = 1;
	CHECK(spread_memb_decode(&m, &b) == 0 && b.num_vs_sets == 1);
	p[16] = 4; /* a local offset inside a set */
	CHECK(spread_memb_decode(&m, &b) == -1);
	p[16] = 0;
	m.h.data_len = 57; /* a byte after the sets */
	CHECK(spread_memb_decode(&m, &b) == -1);
	m.h.data_len = 19;
	CHECK(spread_memb_decode(&m, &b) == -1);
	m.h.type = SPREAD_TRANSITION_MESS;
	m.h.data_len = 12;
	CHECK(spread_memb_decode(&m, &b) == 0 && b.has_gid);
	m.h.data_len = 11;
	CHECK(spread_memb_decode(&m, &b) == -1);
	m.h.type = SPREAD_CAUSED_BY_LEAVE;
	m.h.data_len = 0;
	CHECK(spread_memb_decode(&m, &b) == 0 && !b.has_gid);
	m.h.type = SPREAD_AGREED_MESS;
	CHECK(spread_memb_decode(&m, &b) == -1);
	return (0);
}

static int
t_classify(void)
{
	CHECK(strcmp(spread_service_name(0x10), "agreed") == 0);
	CHECK(strcmp(spread_service_name(0x50), "agreed") == 0);
	CHECK(spread_service_name(0x30) == NULL);
	CHECK(spread_service_name(0x40) == NULL);
	CHECK(spread_service_parse("unreliable") == 1);
	CHECK(spread_service_parse("safe") == 0x20);
	CHECK(spread_service_parse("AGREED") == 0);
	CHECK(strcmp(spread_memb_reason(0x1100), "join") == 0);
	CHECK(strcmp(spread_memb_reason(0x1200), "leave") == 0);
	CHECK(strcmp(spread_memb_reason(0x1400), "disconnect") == 0);
	CHECK(strcmp(spread_memb_reason(0x1800), "network") == 0);
	CHECK(strcmp(spread_memb_reason(0x2000), "transition") == 0);
	CHECK(strcmp(spread_memb_reason(0x200), "self-leave") == 0);
	CHECK(spread_memb_reason(0x10) == NULL);
	CHECK(spread_memb_reason(0x400200) == NULL);
	CHECK(spread_is_reject(0x400000) && !spread_is_regular(0x400010));
	CHECK(spread_is_regular(0x110) && spread_is_membership(0x110));
	return (0);
}

/* ------------------------------------------------------------------ */
/* Every stream of every capture. */

struct tally {
	int files, conns, units, msgs, notes, partial;
};

static int
note_int(const struct vec_stream *s, size_t lo, size_t hi, const char *pfx,
    long long *v)
{
	const char *t = vec_find(s, lo, hi, pfx, NULL);

	if (t == NULL)
		return (0);
	*v = strtoll(t, NULL, 0);
	return (1);
}

/* The quoted text of a note ("grpA" in `group[0] = "grpA"`). */
static int
note_str(const char *t, char q, char *out, size_t cap)
{
	const char *e;

	if (t == NULL || *t != q || (e = strchr(t + 1, q)) == NULL ||
	    (size_t)(e - t - 1) >= cap)
		return (0);
	memcpy(out, t + 1, e - t - 1);
	out[e - t - 1] = '\0';
	return (1);
}

static int
same_name(const uint8_t *field, const char *s)
{
	size_t l = spread_name_len(field);

	return (l == strlen(s) && memcmp(field, s, l) == 0);
}

/* Check one decoded message against the notes of its bytes. */
static int
check_msg(const char *where, const struct vec_stream *s, size_t off,
    const struct spread_msg *m, struct tally *t)
{
	size_t lo = off, hi = off + m->size, from;
	long long v;
	char txt[64], pfx[32];
	const char *n;
	uint8_t *re;
	ssize_t r;

	if (note_int(s, lo, hi, "type  = ", &v)) {
		t->notes++;
		if ((uint32_t)v !=
		    (m->h.type | (m->h.big ? 0 : SPREAD_ENDIAN_MARK))) {
			fail("%s@%zu: type 0x%x, capture says 0x%llx", where,
			    off, (unsigned)m->h.type, v);
			return (1);
		}
	}
	if ((n = vec_find(s, lo, hi, "name  = ", NULL)) != NULL &&
	    note_str(n, '"', txt, sizeof(txt))) {
		t->notes++;
		if (!same_name(m->h.name, txt)) {
			fail("%s@%zu: name differs from \"%s\"", where, off,
			    txt);
			return (1);
		}
	}
	if ((n = vec_find(s, lo, hi, "num_groups = ", NULL)) != NULL) {
		const char *mt = strstr(n, "mess_type="),
			   *dl = strstr(n, "data_len = ");

		t->notes++;
		if (atoi(n) != m->h.num_groups || mt == NULL || dl == NULL ||
		    atoi(mt + 10) != spread_mess_type(m->h.hint) ||
		    atoi(dl + 11) != m->h.data_len ||
		    (strstr(n, "big-endian") != NULL) != m->h.hint_big) {
			fail("%s@%zu: counts differ from \"%s\"", where, off,
			    n);
			return (1);
		}
	}
	if (note_int(s, lo, hi, "old_type = ", &v)) {
		t->notes++;
		if (!m->has_old_type ||
		    (uint32_t)v !=
			(m->old_type | (m->h.big ? 0 : SPREAD_ENDIAN_MARK))) {
			fail("%s@%zu: old_type differs", where, off);
			return (1);
		}
	}
	for (int i = 0; i < m->h.num_groups; i++) {
		snprintf(pfx, sizeof(pfx), "group[%d] = ", i);
		n = vec_find(s, lo, hi, pfx, NULL);
		if (n == NULL)
			continue;
		t->notes++;
		if (!note_str(n, '"', txt, sizeof(txt)) ||
		    !same_name(m->groups + 32 * (size_t)i, txt)) {
			fail("%s@%zu: %s differs", where, off, pfx);
			return (1);
		}
	}
	/* Re-encoded, the message is the same bytes. */
	if ((re = malloc(m->size)) == NULL)
		abort();
	r = spread_msg_encode(re, m->size, m);
	if (r != (ssize_t)m->size || memcmp(re, s->b + off, m->size) != 0) {
		free(re);
		fail("%s@%zu: re-encoded message differs", where, off);
		return (1);
	}
	if (spread_is_membership(m->h.type) && !spread_is_regular(m->h.type)) {
		struct spread_memb b;
		size_t vo = 0, at;
		uint32_t count;
		const uint8_t *names;

		if (spread_memb_decode(m, &b) == -1) {
			free(re);
			fail("%s@%zu: membership body does not decode", where,
			    off);
			return (1);
		}
		if ((n = vec_find(s, lo, hi, "group_id = {proc_id=", NULL)) !=
		    NULL) {
			const char *tm = strstr(n, "time="),
				   *ix = strstr(n, "index=");

			t->notes++;
			if (!b.has_gid || atoll(n) != (uint32_t)b.proc_id ||
			    tm == NULL || ix == NULL ||
			    atoll(tm + 5) != (uint32_t)b.time ||
			    atoll(ix + 6) != (uint32_t)b.index) {
				free(re);
				fail("%s@%zu: group id differs", where, off);
				return (1);
			}
		}
		if ((n = vec_find(s, lo, hi, "num_vs_sets = ", NULL)) != NULL) {
			const char *lo2 = strstr(n, "local_vs_set_offset = ");

			t->notes++;
			if ((uint32_t)atoll(n) != b.num_vs_sets || !lo2 ||
			    (uint32_t)atoll(lo2 + 22) != b.local_offset) {
				free(re);
				fail("%s@%zu: vs counts differ", where, off);
				return (1);
			}
		}
		from = 0;
		while (spread_vs_next(&b, &vo, &at, &count, &names) == 1)
			for (uint32_t i = 0; i < count; i++) {
				n = vec_find(s, lo, hi, "vs member ", &from);
				if (n == NULL)
					continue;
				t->notes++;
				if (!note_str(n, '"', txt, sizeof(txt)) ||
				    !same_name(names + 32 * (size_t)i, txt)) {
					free(re);
					fail("%s@%zu: vs member differs", where,
					    off);
					return (1);
				}
			}
		r = spread_memb_encode(re, m->size, &b);
		if (r != m->h.data_len || memcmp(re, m->data, r) != 0) {
			free(re);
			fail("%s@%zu: re-encoded body differs", where, off);
			return (1);
		}
	}
	free(re);
	t->msgs++;
	return (0);
}

/* Messages from off to the end of s; *off is left where they stop. */
static int
replay_msgs(const char *where, const struct vec_stream *s, size_t *off,
    struct tally *t, int *bad)
{
	struct spread_msg m;
	ssize_t r;

	while (*off < s->len) {
		r = spread_msg_decode(s->b + *off, s->len - *off, 1 << 24, &m);
		if (r == 0) {
			if (getenv("T_SPREAD_DEBUG"))
				printf("# partial: %s at %zu\n", where, *off);
			t->partial++;
			return (0);
		}
		if (r == -1) {
			*bad = 1;
			return (0);
		}
		if (check_msg(where, s, *off, &m, t))
			return (1);
		*off += r;
	}
	return (0);
}

static int
replay_conn(const char *file, int ci, const struct vec_conn *c, struct tally *t,
    int *bad)
{
	const struct vec_stream *cd = &c->s[0], *dc = &c->s[1];
	struct spread_hello h;
	struct spread_choice ch;
	struct spread_offer o;
	struct spread_accept a;
	char where[300], txt[64];
	const char *n;
	size_t off = 0;
	ssize_t r;
	uint8_t re[128];
	int auth = 1, rpatch = 1, dbad = 0;

	snprintf(where, sizeof(where), "%s#%d", file, ci + 1);
	if (cd->len != cd->declared || dc->len != dc->declared) {
		fail("%s: %zu/%zu bytes read, %zu/%zu declared", where, cd->len,
		    dc->len, cd->declared, dc->declared);
		return (1);
	}
	t->conns++;

	/* client -> daemon: hello, choice, requests */
	r = spread_hello_decode(cd->b, cd->len, &h);
	if (r > 0) {
		t->units++;
		auth = spread_version_has_auth(h.major, h.minor, h.patch);
		rpatch = spread_version_reply_patch(h.major, h.minor, h.patch);
		if (h.name_len <= SPREAD_MAX_PRIVATE && r > 2) {
			if ((n = vec_find(cd, 0, r, "private name = ", NULL)) !=
				NULL &&
			    note_str(n, '\'', txt, sizeof(txt))) {
				t->notes++;
				if (strcmp(txt, h.name) != 0) {
					fail("%s: private name %s", where,
					    h.name);
					return (1);
				}
			}
			if (spread_hello_encode(re, sizeof(re), &h) != r ||
			    memcmp(re, cd->b, r) != 0) {
				fail("%s: re-encoded hello differs", where);
				return (1);
			}
		}
		off = r;
		if (h.major * 10000 + h.minor * 100 < 30100 ||
		    h.name_len > SPREAD_MAX_PRIVATE)
			off = cd->len; /* the daemon reads no more */
	} else
		off = cd->len;
	if (off < cd->len && auth) {
		r = spread_choice_decode(cd->b + off, cd->len - off, &ch);
		if (r == 0)
			off = cd->len;
		else {
			const char *m[3] = {ch.method[0], ch.method[1],
			    ch.method[2]};

			t->units++;
			if (spread_choice_encode(re, sizeof(re), m, ch.count) ==
				90 &&
			    memcmp(re, cd->b + off, 90) != 0) {
				fail("%s: re-encoded choice differs", where);
				return (1);
			}
			off += 90;
		}
	}
	if (off < cd->len && replay_msgs(where, cd, &off, t, bad))
		return (1);

	/* daemon -> client: offer, reply, messages */
	off = 0;
	if (dc->len == 0)
		return (0);
	if (auth) {
		r = spread_offer_decode(dc->b, dc->len, &o);
		if (r <= 0) {
			fail("%s: offer does not decode", where);
			return (1);
		}
		t->units++;
		off = r;
		if (o.code < 0) {
			n = vec_find(dc, 0, 1, "REJECT code ", NULL);
			if (n == NULL || atoi(n) != o.code ||
			    strstr(n, spread_errname(o.code)) == NULL ||
			    off != dc->len) {
				fail("%s: rejection %d", where, o.code);
				return (1);
			}
			t->notes++;
			return (0);
		}
		if (spread_offer_encode(re, sizeof(re), o.methods) != r ||
		    memcmp(re, dc->b, r) != 0) {
			fail("%s: re-encoded offer differs", where);
			return (1);
		}
	}
	if (off == dc->len)
		return (0);
	r = spread_accept_decode(dc->b + off, dc->len - off, rpatch, &a);
	if (r <= 0) {
		fail("%s: reply does not decode", where);
		return (1);
	}
	t->units++;
	if (a.code != SPREAD_ACCEPT_SESSION) {
		n = vec_find(dc, off, off + 1, "session response ", NULL);
		if (n == NULL)
			n = vec_find(dc, off, off + 1, "REJECT code ", NULL);
		if (n == NULL || atoi(n) != a.code ||
		    strstr(n, spread_errname(a.code)) == NULL ||
		    off + 1 != dc->len) {
			fail("%s: reply %d", where, a.code);
			return (1);
		}
		t->notes++;
		return (0);
	}
	if ((n = vec_find(dc, off, off + r, "private group name = ", NULL)) !=
		NULL &&
	    note_str(n, '\'', txt, sizeof(txt))) {
		t->notes++;
		if (strcmp(txt, a.private_group) != 0) {
			fail("%s: private group %s", where, a.private_group);
			return (1);
		}
	}
	if (spread_accept_encode(re, sizeof(re), &a) != r ||
	    memcmp(re, dc->b + off, r) != 0) {
		fail("%s: re-encoded reply differs", where);
		return (1);
	}
	off += r;
	if (replay_msgs(where, dc, &off, t, &dbad))
		return (1);
	if (dbad) {
		fail("%s: daemon bytes at %zu do not decode", where, off);
		return (1);
	}
	return (0);
}

static int
cmpstr(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static struct tally all;
static char badfiles[2048];

static int
t_replay_all(void)
{
	DIR *d = opendir(vecdir);
	struct dirent *e;
	char *names[256];
	int nn = 0, rc = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL && nn < 256)
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
		    strcmp(e->d_name, "00-INDEX.txt") != 0)
			names[nn++] = strdup(e->d_name);
	closedir(d);
	qsort(names, nn, sizeof(names[0]), cmpstr);
	for (int i = 0; i < nn && rc == 0; i++) {
		struct vec_file vf;
		int bad = 0;

		CHECK(load(names[i], &vf) == 0);
		all.files++;
		for (int c = 0; c < vf.n && rc == 0; c++) {
			int b = 0;

			rc = replay_conn(names[i], c, &vf.c[c], &all, &b);
			bad |= b;
		}
		if (bad &&
		    strlen(badfiles) + strlen(names[i]) + 2 <
			sizeof(badfiles)) {
			strcat(badfiles, " ");
			strncat(badfiles, names[i], 2);
		}
		vec_free(&vf);
	}
	for (int i = 0; i < nn; i++)
		free(names[i]);
	if (rc)
		return (1);
	printf(
	    "# %d captures, %d connections, %d set-up units, %d messages decoded and re-encoded, %d annotations matched, %d streams ending inside a unit\n",
	    all.files, all.conns, all.units, all.msgs, all.notes, all.partial);
	printf("# client bytes the codec refuses, by capture:%s\n", badfiles);
	/*
	 * The captures hold 288 messages.  One is refused on purpose: the
	 * header with num_groups -1 in capture 22; another there announces
	 * 144001 data bytes that were never sent, so its stream ends inside
	 * it.  Everything else decodes and re-encodes.
	 */
	CHECK(all.files == 47 && all.msgs == 286 && all.partial == 1 &&
	    all.notes > 1700);
	CHECK(strcmp(badfiles, " 22") == 0);
	return (0);
}

/* Specific fields of specific captures. */
static int
t_bigendian_membership(void)
{
	struct vec_file vf;
	struct spread_msg m;
	struct spread_memb b;
	const struct vec_stream *s;
	size_t off = 6 + 16; /* offer, accept of "#bec#bigend" */

	CHECK(load("47-library-bigendian-membership.txt", &vf) == 0);
	s = &vf.c[0].s[1];
	CHECK(spread_msg_decode(s->b + off, s->len - off, 1 << 20, &m) == 136);
	CHECK(m.h.big && m.h.hint_big && spread_is_reg_memb(m.h.type));
	CHECK(spread_memb_decode(&m, &b) == 0 && b.proc_id == 0x01020304 &&
	    b.time == 0x0a0b0c0d && b.index == 5);
	off += 136;
	CHECK(spread_msg_decode(s->b + off, s->len - off, 1 << 20, &m) == 60);
	CHECK(spread_is_transition(m.h.type) && m.h.num_groups == 0);
	/* libspread swaps this one wrongly; we do not. */
	CHECK(spread_memb_decode(&m, &b) == 0 && b.proc_id == 0x01020304 &&
	    b.time == 0x0a0b0c0d && b.index == 5);
	CHECK(strcmp(spread_memb_reason(m.h.type), "transition") == 0);
	vec_free(&vf);
	return (0);
}

static int
t_network_membership(void)
{
	struct vec_file vf;
	struct spread_msg m;
	struct spread_memb b;
	const struct vec_stream *s;
	size_t off, vo = 0, at;
	uint32_t count;
	const uint8_t *names, *local = NULL;
	int sets = 0;

	CHECK(load("19-partition-and-merge.txt", &vf) == 0 && vf.n == 2);
	s = &vf.c[0].s[1];
	off = 523; /* the merge, as A sees it */
	CHECK(spread_msg_decode(s->b + off, s->len - off, 1 << 20, &m) == 204);
	CHECK(strcmp(spread_memb_reason(m.h.type), "network") == 0);
	CHECK(spread_memb_decode(&m, &b) == 0 && b.num_vs_sets == 2 &&
	    b.local_offset == 36);
	while (spread_vs_next(&b, &vo, &at, &count, &names) == 1) {
		sets++;
		if (at == b.local_offset)
			local = names;
	}
	CHECK(sets == 2 && local != NULL && same_name(local, "#A#localhost"));
	off = 327; /* the transitional signal */
	CHECK(spread_msg_decode(s->b + off, s->len - off, 1 << 20, &m) == 60);
	CHECK(spread_memb_decode(&m, &b) == 0 && b.index == 2 &&
	    b.time == 1795313317);
	vec_free(&vf);
	return (0);
}

static int
t_rejects(void)
{
	struct vec_file vf;
	struct spread_msg m;
	const struct vec_stream *s;
	size_t off = 6 + 6 + 13, n = 0;
	ssize_t r;

	/* A refused join and a refused leave: old_type carries the cause. */
	CHECK(load("39-reject-join-and-leave.txt", &vf) == 0);
	s = &vf.c[0].s[1];
	off = 24;
	r = spread_msg_decode(s->b + off, s->len - off, 1 << 20, &m);
	CHECK(r == 116 && m.has_old_type && spread_is_reject(m.h.type));
	CHECK(m.old_type == SPREAD_CAUSED_BY_JOIN && m.h.num_groups == 2);
	CHECK(same_name(m.groups, "jg") &&
	    same_name(m.groups + 32, "#jl#localhost"));
	vec_free(&vf);

	/* A client's own REJECT bit comes back without old_type. */
	CHECK(load("40-client-sets-reject-bit.txt", &vf) == 0);
	for (int c = 0; c < vf.n; c++) {
		s = &vf.c[c].s[1];
		off = 6 + 18;
		while (off < s->len &&
		    (r = spread_msg_decode(s->b + off, s->len - off, 1 << 20,
			 &m)) > 0) {
			if (spread_is_reject(m.h.type)) {
				CHECK(!m.has_old_type);
				CHECK(m.h.data_len == 10 &&
				    memcmp(m.data, "reject-bit", 10) == 0);
				n++;
			}
			off += r;
		}
		CHECK(off == s->len);
	}
	CHECK(n == 1);
	vec_free(&vf);
	return (0);
}

/* Fed one byte more at a time, a stream gives the same messages. */
static int
t_splits(void)
{
	struct vec_file vf;
	const struct vec_stream *s;
	struct spread_msg m, w;
	size_t off = 6 + 6 + 14, k, msgs = 0;
	ssize_t r;

	CHECK(load("13-multicast-service-types.txt", &vf) == 0);
	s = &vf.c[0].s[1];
	off = 0;
	while (s->b[off] != 0x80 && off < 64)
		off++; /* past the set-up bytes */
	while (off < s->len) {
		CHECK((r = spread_msg_decode(s->b + off, s->len - off, 1 << 20,
			   &w)) > 0);
		for (k = 0; k < (size_t)r; k++)
			CHECK(
			    spread_msg_decode(s->b + off, k, 1 << 20, &m) == 0);
		CHECK(spread_msg_decode(s->b + off, r, 1 << 20, &m) == r &&
		    m.h.type == w.h.type && m.h.data_len == w.h.data_len);
		off += r;
		msgs++;
	}
	CHECK(msgs >= 8);
	vec_free(&vf);
	return (0);
}

/* clang-format off */
static const struct {
	const char *name;
	int (*fn)(void);
	int vectors;
} cases[] = {
	{ "every error code has its Spread name", t_errnames, 0 },
	{ "set-up failures: the words shown and the kind of fault",
	    t_setup_errors, 0 },
	{ "daemon names: PORT, PORT@HOST, IPv6, default, bad", t_addr, 0 },
	{ "private, group and private-group names", t_names, 0 },
	{ "hello, auth choice, offer, accept, kill are capture 01's bytes",
	    t_setup_bytes, 1 },
	{ "join, leave, kill, multicast are the bytes libspread sent",
	    t_request_bytes, 1 },
	{ "multicast limits: service bits, 100 groups, 143152 bytes",
	    t_mcast_limits, 0 },
	{ "header in both byte orders, hint in its own order",
	    t_header_orders, 0 },
	{ "malformed headers, offers, replies and bodies are refused",
	    t_malformed, 0 },
	{ "classification of types, services, reasons", t_classify, 0 },
	{ "every capture: decoded as annotated, re-encoded to its bytes",
	    t_replay_all, 1 },
	{ "big-endian membership and transitional bodies (capture 47)",
	    t_bigendian_membership, 1 },
	{ "network membership: vs_sets and local offset (capture 19)",
	    t_network_membership, 1 },
	{ "reject messages and the echoed REJECT bit (captures 39, 40)",
	    t_rejects, 1 },
	{ "every split of a stream gives the same messages", t_splits, 1 },
};
/* clang-format on */

int
main(void)
{
	const char *top = getenv("QUILT_TOP");
	int failed = 0, n = sizeof(cases) / sizeof(cases[0]);
	DIR *d;

	/* The captures are part of the repository: tests/spread/vectors. */
	snprintf(vecdir, sizeof(vecdir), "%s/tests/spread/vectors",
	    top ? top : ".");
	if ((d = opendir(vecdir)) != NULL) {
		have_vectors = 1;
		closedir(d);
	}
	printf("1..%d\n", n);
	for (int i = 0; i < n; i++) {
		if (cases[i].vectors && !have_vectors) {
			printf("not ok %d %s\n# no Spread captures at %s\n",
			    i + 1, cases[i].name, vecdir);
			failed = 1;
			continue;
		}
		why[0] = '\0';
		if (cases[i].fn() != 0) {
			printf("not ok %d %s\n# %s\n", i + 1, cases[i].name,
			    why);
			failed = 1;
		} else if (strncmp(why, "skip: ", 6) == 0)
			printf("ok %d %s # SKIP %s\n", i + 1, cases[i].name,
			    why + 6);
		else
			printf("ok %d %s\n", i + 1, cases[i].name);
	}
	return (failed);
}
