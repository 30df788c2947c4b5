/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/server: the listener's half of the handshake,
 * driven with frames alone.  A hello is answered with ours (session echoed,
 * resume, limits); each fault is refused with its code; the session table
 * resumes, evicts (count and age) and refuses when every slot is live; a
 * reconnect displaces the old connection; sealed, a confirmation made with
 * either of two keys is taken and answered with one the client checks, and
 * any other key or an altered hello is refused "auth".
 * TAP output.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "seal.h"
#include "server.h"
#include "tcase.h"
#include "wire.h"

#define NOW 1000000LL

static const unsigned char SID1[WIRE_SID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    11, 12, 13, 14, 15, 16};
static const unsigned char SID2[WIRE_SID_LEN] = {2};

static unsigned char K1[SEAL_KEYLEN], K2[SEAL_KEYLEN], K3[SEAL_KEYLEN];

static struct server_conf
conf(int nkeys)
{
	struct server_conf c;

	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "lis");
	c.maxmsg = 4096;
	c.key[0] = K1;
	c.key[1] = K2;
	c.nkeys = nkeys;
	return (c);
}

/* A client's hello, whole, at out; its size. */
static size_t
client_hello(char *out, const unsigned char *sid, int64_t from, const char *kx)
{
	struct wire_hello h;

	memset(&h, 0, sizeof(h));
	h.vmin = WIRE_VMIN;
	h.vmax = WIRE_VMAX;
	snprintf(h.node, sizeof(h.node), "cli");
	memcpy(h.sid, sid, WIRE_SID_LEN);
	h.maxmsg = 1000;
	h.from = from;
	h.resume = -1;
	if (kx != NULL) {
		h.sealed = 1;
		snprintf(h.kx, sizeof(h.kx), "%s", kx);
	}
	return (wire_put_hello(out, &h));
}

/* Feed one whole frame to the handshake; the state it returns. */
static enum server_state
feed(struct server_hs *h, const struct server_conf *c, struct server_table *t,
    void *owner, long long now, const char *f, size_t n, char *out,
    size_t *outlen)
{
	const char *body;
	size_t len;
	char *e = tc_exact(f, n);
	enum server_state st;

	if (frame_parse(e, n, WIRE_HELLO_MAX, &body, &len) != (ssize_t)n)
		abort();
	st = server_frame(h, c, t, owner, now, e, n, body, len, out, outlen);
	free(e);
	return (st);
}

/* out holds a hello: decode it into *h. */
static int
reply_hello(const char *out, size_t n, struct wire_hello *h)
{
	const char *body;
	size_t len;
	struct wire_msg m;

	return (
	    frame_parse(out, n, WIRE_HELLO_MAX, &body, &len) == (ssize_t)n &&
		    wire_decode(body, len, &m) == 0 &&
		    wire_get_hello(&m, h) == 0 ?
		0 :
		-1);
}

/* out holds an error frame: its code, and its text has want in it. */
static int
reply_error(const char *out, size_t n, enum wire_refusal code, const char *want)
{
	const char *body, *text;
	size_t len, tl;
	struct wire_msg m;
	enum wire_refusal got;

	CHECK(frame_parse(out, n, WIRE_HELLO_MAX, &body, &len) == (ssize_t)n);
	CHECK(wire_decode(body, len, &m) == 0);
	CHECK(wire_get_error(&m, &text, &tl, &got) == 0);
	CHECKF(got == code, "code %s, not %s", wire_refusal_name(got),
	    wire_refusal_name(code));
	CHECKF(memmem(text, tl, want, strlen(want)) != NULL, "\"%.*s\"",
	    (int)tl, text);
	return (0);
}

static int
t_plain(void)
{
	struct server_conf c = conf(0);
	struct server_table t;
	struct server_hs h;
	struct wire_hello r;
	char in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	size_t n, olen;
	int owner;

	CHECK(server_table_init(&t, 4, 1000) == 0);
	c.handler = 1;
	snprintf(c.relay, sizeof(c.relay), "00ff");
	server_hs_init(&h);
	n = client_hello(in, SID1, 0, NULL);
	CHECK(feed(&h, &c, &t, &owner, NOW, in, n, out, &olen) == SERVER_OPEN);
	CHECK(h.state == SERVER_OPEN && h.seal == NULL && !h.known);
	CHECK(h.sess != NULL && h.sess->owner == &owner && h.displaced == NULL);
	CHECK(strcmp(h.peer.node, "cli") == 0 && h.peer.maxmsg == 1000);
	CHECK(reply_hello(out, olen, &r) == 0);
	CHECK(strcmp(r.node, "lis") == 0 && r.maxmsg == 4096 &&
	    memcmp(r.sid, SID1, WIRE_SID_LEN) == 0 && r.resume == 0 &&
	    r.from == -1 && r.handler == 1 && !r.sealed &&
	    strcmp(r.relay, "00ff") == 0);
	/* Nothing after the handshake. */
	CHECK(
	    feed(&h, &c, &t, &owner, NOW, in, n, out, &olen) == SERVER_REFUSED);
	server_hs_free(&h);
	server_table_free(&t);
	return (0);
}

static int
t_faults(void)
{
	static const struct {
		const char *args[8];
		int nkeys;
		enum wire_refusal code;
		const char *why;
	} c[] = {
	    {{"quilt", "1-1", "node=a", "max=100", NULL}, 0, WR_SESSION,
		"bad hello: the session field"},
	    {{"quilt", "1-1", "node=a", "session=00", "max=100", NULL}, 0,
		WR_SESSION, "bad hello: the session field"},
	    {{"quilt", "1-1", "node=a",
		 "session=000102030405060708090a0b0c0d0e0f", "max=63", NULL},
		0, WR_SIZE, "bad hello: the max field"},
	    {{"quilt", "1-1", "node=a b",
		 "session=000102030405060708090a0b0c0d0e0f", "max=100", NULL},
		0, WR_HELLO, "bad hello: the node field"},
	    {{"quilt", "1-x", NULL}, 0, WR_VERSION,
		"bad hello: the version range"},
	    {{"quilx", "1-1", NULL}, 0, WR_HELLO,
		"bad hello: not a quilt hello"},
	    {{"quilt", "7-9", "node=a",
		 "session=000102030405060708090a0b0c0d0e0f", "max=100", NULL},
		0, WR_VERSION,
		"no common protocol version (this listener speaks 1-1, the peer 7-9)"},
	    {{"quilt", "1-1", "node=a",
		 "session=000102030405060708090a0b0c0d0e0f", "max=100",
		 "sealed=1",
		 "kx=0000000000000000000000000000000000000000000000000000000000000000",
		 NULL},
		0, WR_SEALED,
		"the peer is sealed (-k) and this listener is not"},
	    {{"quilt", "1-1", "node=a",
		 "session=000102030405060708090a0b0c0d0e0f", "max=100", NULL},
		1, WR_PLAIN,
		"this listener is sealed (-k) and the peer is not"},
	};
	struct server_table t;
	char in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	size_t n, olen;
	int owner;

	CHECK(server_table_init(&t, 4, 1000) == 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct server_conf cf = conf(c[i].nkeys);
		struct server_hs h;

		server_hs_init(&h);
		n = wire_put_ctl(in, sizeof(in), "hello", c[i].args, NULL, 0);
		CHECKF(feed(&h, &cf, &t, &owner, NOW, in, n, out, &olen) ==
			SERVER_REFUSED,
		    "case %zu", i);
		CHECKF(h.code == c[i].code && strstr(h.why, c[i].why) != NULL,
		    "case %zu: %s", i, h.why);
		if (reply_error(out, olen, c[i].code, c[i].why) != 0)
			return (1);
		/* A refused hello claims nothing. */
		CHECK(h.sess == NULL && h.seal == NULL);
		server_hs_free(&h);
	}
	/* Not a hello at all. */
	{
		struct server_conf cf = conf(0);
		struct server_hs h;

		server_hs_init(&h);
		n = wire_put_ctl(in, sizeof(in), "msg",
		    (const char *[]){"x", NULL}, NULL, 0);
		CHECK(feed(&h, &cf, &t, &owner, NOW, in, n, out, &olen) ==
			SERVER_REFUSED &&
		    h.code == WR_HELLO);
		if (reply_error(out, olen, WR_HELLO, "expected a quilt hello"))
			return (1);
	}
	for (size_t i = 0; i < t.n; i++)
		CHECK(t.s[i].owner == NULL);
	server_table_free(&t);
	return (0);
}

/* A session resumes where it was; a new one starts at the sender's from. */
static int
t_resume(void)
{
	struct server_conf c = conf(0);
	struct server_table t;
	struct server_hs h;
	struct wire_hello r;
	char in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	size_t n, olen;
	int a, b;

	CHECK(server_table_init(&t, 4, 1000) == 0);
	server_hs_init(&h);
	n = client_hello(in, SID1, 7, NULL);
	CHECK(feed(&h, &c, &t, &a, NOW, in, n, out, &olen) == SERVER_OPEN);
	CHECK(!h.known && h.sess->taken == 7 && h.sess->written == 7);
	CHECK(reply_hello(out, olen, &r) == 0 && r.resume == 7);
	h.sess->taken = 12;
	h.sess->written = 10;
	/* The same session from another connection, the first still open:
	 * the new one wins. */
	server_hs_init(&h);
	n = client_hello(in, SID1, 9, NULL);
	CHECK(feed(&h, &c, &t, &b, NOW + 1, in, n, out, &olen) == SERVER_OPEN);
	CHECK(h.known && h.displaced == &a && h.sess->owner == &b);
	CHECK(h.sess->taken == 12 && h.sess->written == 10);
	CHECK(reply_hello(out, olen, &r) == 0 && r.resume == 12);
	/* Once released, a reconnect displaces nobody. */
	server_sess_release(h.sess);
	server_hs_init(&h);
	CHECK(feed(&h, &c, &t, &a, NOW + 2, in, n, out, &olen) == SERVER_OPEN);
	CHECK(h.known && h.displaced == NULL && h.sess->owner == &a);
	server_table_free(&t);
	return (0);
}

/* Bounded by count: full of live sessions refuses "full"; an idle one is
 * evicted, one past its age first, else the one unused the longest. */
static int
t_table(void)
{
	struct server_table t;
	struct server_sess *s[3], *x;
	unsigned char sid[WIRE_SID_LEN];
	unsigned gen;
	int known, o[3];

	CHECK(server_table_init(&t, 3, 1000) == 0);
	for (int i = 0; i < 3; i++) {
		memset(sid, 'a' + i, sizeof(sid));
		s[i] = server_sess_find(&t, sid, 0, NOW + i, &known);
		CHECK(s[i] != NULL && !known);
		CHECK(server_sess_claim(s[i], &o[i]) == NULL);
	}
	memset(sid, 'z', sizeof(sid));
	CHECK(server_sess_find(&t, sid, 0, NOW + 10, &known) == NULL);
	/* Known ones are found even when every slot is live. */
	memset(sid, 'b', sizeof(sid));
	CHECK(server_sess_find(&t, sid, 0, NOW + 11, &known) == s[1] && known);
	/* Two idle: the one unused the longest goes (s[2], at NOW + 2, not
	 * s[1], used at NOW + 11). */
	server_sess_release(s[1]);
	server_sess_release(s[2]);
	gen = s[2]->gen;
	memset(sid, 'z', sizeof(sid));
	x = server_sess_find(&t, sid, 5, NOW + 20, &known);
	CHECK(x == s[2] && !known && x->taken == 5 && x->written == 5 &&
	    x->gen == gen + 1 && x->owner == NULL);
	/* The first idle one past its age goes, without looking for the
	 * oldest (s[1], older, also past it). */
	server_sess_claim(x, &o[2]);
	server_sess_release(s[0]);
	s[0]->used = NOW + 10;
	s[1]->used = NOW + 5;
	memset(sid, 'y', sizeof(sid));
	x = server_sess_find(&t, sid, 0, NOW + 1100, &known);
	CHECK(x == s[0]);
	/* None past its age: the one unused the longest goes. */
	t.max_age = 5000;
	s[1]->used = NOW + 1050;
	s[0]->used = NOW + 1090;
	memset(sid, 'x', sizeof(sid));
	x = server_sess_find(&t, sid, 0, NOW + 1100, &known);
	CHECK(x == s[1]);
	server_sess_release(s[0]);
	s[0]->used = NOW + 1080; /* now s[0] is the oldest */
	memset(sid, 'w', sizeof(sid));
	x = server_sess_find(&t, sid, 0, NOW + 1100, &known);
	CHECK(x == s[0]);
	/* Of two idle, one that took nothing goes before an older one that
	 * did: a new session would be the same as it. */
	server_sess_release(s[0]);
	server_sess_release(s[1]);
	s[0]->used = NOW + 1090;
	s[0]->taken = s[0]->start + 5;
	s[1]->used = NOW + 1095;
	s[1]->taken = s[1]->start;
	memset(sid, 'v', sizeof(sid));
	x = server_sess_find(&t, sid, 0, NOW + 1100, &known);
	CHECK(x == s[1]);
	server_sess_claim(x, &o[1]);
	/* And the table says it with the handshake's refusal. */
	{
		struct server_conf c = conf(0);
		struct server_hs h;
		char in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
		size_t n, olen;

		server_sess_claim(s[0], &o[0]);
		server_sess_claim(s[1], &o[1]);
		CHECK(s[2]->owner != NULL);
		server_hs_init(&h);
		n = client_hello(in, SID2, 0, NULL);
		CHECK(feed(&h, &c, &t, &o[0], NOW + 1300, in, n, out, &olen) ==
		    SERVER_REFUSED);
		if (reply_error(out, olen, WR_FULL, "too many live sessions"))
			return (1);
	}
	server_table_free(&t);
	return (0);
}

/*
 * A sealed handshake against a client made of seal.c: its hello, then its
 * confirmation with key k; the server's answer checked as client.c does.
 * 0 when it opened and checked, 1 on a failed CHECK, 2 refused (*code).
 */
static int
sealed(const unsigned char *k, int nkeys, int alter, enum wire_refusal *code,
    int *which)
{
	struct server_conf c = conf(nkeys);
	struct server_table t;
	struct server_hs h;
	struct seal *cs;
	struct wire_hello r;
	unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN], hdr[SEAL_HDRLEN];
	char kx[2 * SEAL_PKLEN + 1], in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	char transcript[2 * WIRE_HELLO_MAX], conf_frame[WIRE_HELLO_MAX];
	size_t n, olen, clen;
	const char *body;
	size_t len;
	struct wire_msg m;
	int owner, ret = 0;

	CHECK(server_table_init(&t, 4, 1000) == 0);
	CHECK((cs = seal_new(1)) != NULL);
	seal_pk_hex(cs, kx);
	server_hs_init(&h);
	n = client_hello(in, SID1, 0, kx);
	CHECK(
	    feed(&h, &c, &t, &owner, NOW, in, n, out, &olen) == SERVER_CONFIRM);
	/* Nothing claimed before the key is proven. */
	CHECK(h.seal != NULL && h.sess == NULL);
	for (size_t i = 0; i < t.n; i++)
		CHECK(t.s[i].used == 0);
	CHECK(reply_hello(out, olen, &r) == 0 && r.sealed && r.kx[0]);
	/* The client's transcript: its hello as sent, then the reply. */
	memcpy(transcript, in, n);
	memcpy(transcript + n, out, olen);
	if (alter)
		transcript[n + 10] ^= 1;
	CHECK(seal_unhex(pk, sizeof(pk), r.kx, strlen(r.kx)) == 0);
	CHECK(seal_derive(cs, k, pk, transcript, n + olen) == 0);
	seal_tag(cs, tag);
	seal_push_init(cs, hdr);
	clen = wire_put_confirm(conf_frame, tag, hdr);
	switch (feed(&h, &c, &t, &owner, NOW, conf_frame, clen, out, &olen)) {
	case SERVER_OPEN:
		*which = h.key;
		CHECK(h.transcript == NULL);
		CHECK(h.sess != NULL && h.sess->owner == &owner);
		CHECK(frame_parse(out, olen, WIRE_HELLO_MAX, &body, &len) ==
		    (ssize_t)olen);
		CHECK(wire_decode(body, len, &m) == 0);
		CHECK(wire_get_confirm(&m, tag, hdr) == 0);
		CHECK(seal_check(cs, tag) == 0 && seal_pull_init(cs, hdr) == 0);
		{
			struct seal *ss = server_take_seal(&h);

			CHECK(ss != NULL && h.seal == NULL);
			seal_free(ss);
		}
		break;
	case SERVER_REFUSED:
		*code = h.code;
		CHECK(h.seal == NULL && h.transcript == NULL);
		CHECK(h.sess == NULL);
		if (reply_error(out, olen, h.code, "") != 0)
			return (1);
		ret = 2;
		break;
	default:
		CHECK(!"a state after the confirmation");
	}
	server_hs_free(&h);
	seal_free(cs);
	server_table_free(&t);
	return (ret);
}

static int
t_sealed(void)
{
	enum wire_refusal code = WR_NONE;
	int which = -1;

	CHECK(sealed(K1, 1, 0, &code, &which) == 0 && which == 0);
	/* Rotation: either of two keys. */
	CHECK(sealed(K1, 2, 0, &code, &which) == 0 && which == 0);
	CHECK(sealed(K2, 2, 0, &code, &which) == 0 && which == 1);
	/* A key it does not hold, a second key it was not given, an altered
	 * hello: "auth". */
	CHECK(sealed(K3, 2, 0, &code, &which) == 2 && code == WR_AUTH);
	CHECK(sealed(K2, 1, 0, &code, &which) == 2 && code == WR_AUTH);
	code = WR_NONE;
	CHECK(sealed(K1, 1, 1, &code, &which) == 2 && code == WR_AUTH);
	return (0);
}

/*
 * A sealed client on table t, as owner: its hello for sid, then, when k is
 * not NULL, its confirmation made with k.  The state after the last frame
 * (h: the handshake, to free).
 */
static enum server_state
sealed_client(struct server_table *t, struct server_hs *h, void *owner,
    const unsigned char *sid, const unsigned char *k, long long now)
{
	struct server_conf c = conf(1);
	struct seal *cs = seal_new(1);
	struct wire_hello r;
	unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN], hdr[SEAL_HDRLEN];
	char kx[2 * SEAL_PKLEN + 1], in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	char transcript[2 * WIRE_HELLO_MAX];
	enum server_state st;
	size_t n, olen;

	if (cs == NULL)
		abort();
	seal_pk_hex(cs, kx);
	server_hs_init(h);
	n = client_hello(in, sid, 0, kx);
	st = feed(h, &c, t, owner, now, in, n, out, &olen);
	if (st != SERVER_CONFIRM || k == NULL) {
		seal_free(cs);
		return (st);
	}
	memcpy(transcript, in, n);
	memcpy(transcript + n, out, olen);
	if (reply_hello(out, olen, &r) == -1 ||
	    seal_unhex(pk, sizeof(pk), r.kx, strlen(r.kx)) == -1 ||
	    seal_derive(cs, k, pk, transcript, n + olen) == -1)
		abort();
	seal_tag(cs, tag);
	seal_push_init(cs, hdr);
	n = wire_put_confirm(in, tag, hdr);
	st = feed(h, &c, t, owner, now, in, n, out, &olen);
	seal_free(cs);
	return (st);
}

/*
 * Sealed: peers that never prove the key take no room in the table, and
 * never displace a live session, even naming its id; a session that took
 * messages between a hello and its confirmation is refused "busy".
 */
static int
t_sealed_table(void)
{
	struct server_table t;
	struct server_hs h;
	struct server_sess *s1, *s2;
	unsigned char sid[WIRE_SID_LEN];
	int o1, o2, x;

	CHECK(server_table_init(&t, 2, 1000) == 0);
	for (int i = 0; i < 100; i++) {
		memset(sid, i, sizeof(sid));
		CHECK(sealed_client(&t, &h, &x, sid, NULL, NOW + i) ==
		    SERVER_CONFIRM);
		server_hs_free(&h);
	}
	for (size_t i = 0; i < t.n; i++)
		CHECK(t.s[i].used == 0);
	/* Two that hold the key fill the table. */
	CHECK(sealed_client(&t, &h, &o1, SID1, K1, NOW + 200) == SERVER_OPEN);
	s1 = h.sess;
	server_hs_free(&h);
	CHECK(sealed_client(&t, &h, &o2, SID2, K1, NOW + 201) == SERVER_OPEN);
	s2 = h.sess;
	server_hs_free(&h);
	CHECK(s1 != NULL && s2 != NULL && s1 != s2 && s1->owner == &o1 &&
	    s2->owner == &o2);
	/* One without the key, with s1's id: s1 stays o1's. */
	CHECK(sealed_client(&t, &h, &x, SID1, K3, NOW + 300) == SERVER_REFUSED);
	CHECK(h.code == WR_AUTH && h.sess == NULL && h.displaced == NULL);
	CHECK(s1->owner == &o1);
	/* s2 takes 3 messages between a reconnect's hello and its
	 * confirmation: the resume point it was told is wrong now. */
	{
		struct server_conf c = conf(1);
		struct seal *cs = seal_new(1);
		struct wire_hello r;
		unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN];
		unsigned char hdr[SEAL_HDRLEN];
		char kx[2 * SEAL_PKLEN + 1], in[WIRE_HELLO_MAX];
		char out[WIRE_HELLO_MAX], tr[2 * WIRE_HELLO_MAX];
		size_t n, olen;

		CHECK(cs != NULL);
		seal_pk_hex(cs, kx);
		server_hs_init(&h);
		n = client_hello(in, SID2, 0, kx);
		CHECK(feed(&h, &c, &t, &x, NOW + 400, in, n, out, &olen) ==
		    SERVER_CONFIRM);
		CHECK(reply_hello(out, olen, &r) == 0 && r.resume == 0);
		memcpy(tr, in, n);
		memcpy(tr + n, out, olen);
		CHECK(seal_unhex(pk, sizeof(pk), r.kx, strlen(r.kx)) == 0);
		CHECK(seal_derive(cs, K1, pk, tr, n + olen) == 0);
		seal_tag(cs, tag);
		seal_push_init(cs, hdr);
		s2->taken += 3;
		n = wire_put_confirm(in, tag, hdr);
		CHECK(feed(&h, &c, &t, &x, NOW + 401, in, n, out, &olen) ==
		    SERVER_REFUSED);
		if (reply_error(out, olen, WR_BUSY, "during the handshake"))
			return (1);
		CHECK(s2->owner == &o2);
		seal_free(cs);
	}
	server_table_free(&t);
	return (0);
}

/* Where a confirmation is due, anything else is refused "confirm". */
static int
t_confirm_bad(void)
{
	struct server_conf c = conf(1);
	struct server_table t;
	struct server_hs h;
	struct seal *cs;
	char kx[2 * SEAL_PKLEN + 1], in[WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	size_t n, olen;
	int owner;

	CHECK(server_table_init(&t, 4, 1000) == 0);
	CHECK((cs = seal_new(1)) != NULL);
	seal_pk_hex(cs, kx);
	server_hs_init(&h);
	n = client_hello(in, SID1, 0, kx);
	CHECK(
	    feed(&h, &c, &t, &owner, NOW, in, n, out, &olen) == SERVER_CONFIRM);
	n = wire_put_ctl(in, sizeof(in), "confirm",
	    (const char *[]){"00", "11", NULL}, NULL, 0);
	CHECK(
	    feed(&h, &c, &t, &owner, NOW, in, n, out, &olen) == SERVER_REFUSED);
	if (reply_error(out, olen, WR_CONFIRM, "expected the key confirmation"))
		return (1);
	/* Nothing was claimed. */
	CHECK(h.sess == NULL);
	server_hs_free(&h);
	seal_free(cs);
	server_table_free(&t);
	return (0);
}

static const struct tcase cases[] = {
    {"a plain hello is answered with ours, and opens", t_plain},
    {"sealed: the table is only looked at until the key is proven",
	t_sealed_table},
    {"each fault of a hello is refused with its code and reason", t_faults},
    {"sessions resume; a reconnect displaces the open one", t_resume},
    {"the table: full of live sessions refuses, idle ones are evicted",
	t_table},
    {"sealed: either of two keys; any other, or an altered hello, is auth",
	t_sealed},
    {"sealed: a frame that is not a confirmation is refused", t_confirm_bad},
};

int
main(void)
{
	if (seal_init() == -1)
		return (1);
	seal_random(K1, sizeof(K1));
	seal_random(K2, sizeof(K2));
	seal_random(K3, sizeof(K3));
	return (TC_RUN(cases));
}
