/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libcommon/udpsock: the hellos of the udp: handshake as the programs make
 * and check them (plain and sealed, the key proof, a wrong key, an
 * altered hello), and a link's stream over two engines joined in memory:
 * written in chunks, read into a small buffer, carried across reads.
 */
#include <errno.h>
#include <string.h>

#include "frame.h"
#include "seal.h"
#include "server.h"
#include "tcase.h"
#include "udpsock.h"
#include "wire.h"

static const unsigned char key1[SEAL_KEYLEN] =
    "t_udpsock: the first key, 32 by.";
static const unsigned char key2[SEAL_KEYLEN] =
    "t_udpsock: the other key, 32 by.";

static void
client_hello(struct wire_hello *me)
{
	memset(me, 0, sizeof(*me));
	me->vmin = WIRE_VMIN;
	me->vmax = WIRE_VMAX;
	strcpy(me->node, "cli");
	memset(me->sid, 3, sizeof(me->sid));
	me->maxmsg = 65536;
	me->from = 0;
	me->resume = -1;
}

/*
 * The listener's side of a CONNECT hello h[0..n) with keys (nkeys, key2
 * first when swap): its ACCEPT hello at out, as quilt-listen builds it.
 * Its size, or 0 when it refuses.
 */
static size_t
listener_answer(const char *h, size_t n, int nkeys, int swap, char *out)
{
	const unsigned char *keys[2] = {swap ? key2 : key1, swap ? key1 : key2};
	unsigned char prf[SEAL_PROOFLEN], pk[SEAL_PKLEN], tag[SEAL_TAGLEN];
	unsigned char hdr[SEAL_HDRLEN] = {0};
	struct server_conf conf;
	struct server_table t;
	struct server_hs hs;
	const char *rest, *body;
	size_t f, restlen, blen, outlen = 0;
	int owner, k;
	enum server_state st;

	memset(&conf, 0, sizeof(conf));
	strcpy(conf.node, "lis");
	conf.maxmsg = 65536;
	for (k = 0; k < nkeys; k++)
		conf.key[k] = keys[k];
	conf.nkeys = nkeys;
	if (udpsock_split_hello((const unsigned char *)h, n, &f, &rest,
		&restlen) == -1 ||
	    server_table_init(&t, 4, 1000) == -1)
		return (0);
	server_hs_init(&hs);
	(void)frame_parse(h, f, WIRE_HELLO_MAX, &body, &blen);
	st = server_frame(&hs, &conf, &t, &owner, 1, h, f, body, blen, out,
	    &outlen);
	if (st == SERVER_CONFIRM) {
		if (udpsock_get_proof(rest, restlen, prf) == -1 ||
		    seal_unhex(pk, sizeof(pk), hs.peer.kx,
			strlen(hs.peer.kx)) == -1) {
			outlen = 0;
			goto out;
		}
		for (k = 0; k < nkeys; k++)
			if (seal_proof_check(keys[k], pk, prf) == 0)
				break;
		if (k == nkeys ||
		    seal_derive(hs.seal, keys[k], pk, hs.transcript, hs.tlen) ==
			-1) {
			outlen = 0;
			goto out;
		}
		seal_tag(hs.seal, tag);
		outlen += wire_put_confirm(out + outlen, tag, hdr);
	} else if (st != SERVER_OPEN) {
		outlen = 0;
	}
out:
	server_hs_free(&hs);
	server_table_free(&t);
	return (outlen);
}

static int
t_plain(void)
{
	struct wire_hello me, peer;
	struct seal_dg *dg = (struct seal_dg *)1;
	char h[2 * WIRE_HELLO_MAX], a[2 * WIRE_HELLO_MAX], why[256];
	size_t n, hlen, an;

	client_hello(&me);
	n = udpsock_connect_hello(h, &me, NULL, NULL, &hlen);
	CHECK(n == hlen && n <= UDP_HELLO_MAX);
	CHECK((an = listener_answer(h, n, 0, 0, a)) > 0);
	CHECK(udpsock_check_accept((unsigned char *)a, an, h, hlen, NULL, NULL,
		  &me, &peer, &dg, why, sizeof(why)) == CLIENT_OK);
	CHECK(dg == NULL);
	CHECK(strcmp(peer.node, "lis") == 0 && peer.maxmsg == 65536);
	/* A sealed listener: refused before any answer. */
	CHECK(listener_answer(h, n, 1, 0, a) == 0);
	return (0);
}

static int
t_sealed(void)
{
	struct wire_hello me, peer;
	struct seal *s;
	struct seal_dg *dg;
	char h[2 * WIRE_HELLO_MAX], a[2 * WIRE_HELLO_MAX], why[256];
	size_t n, hlen, an;

	/* One key; then two, the client's second, as while rotating. */
	for (int swap = 0; swap < 2; swap++) {
		CHECK((s = seal_new(1)) != NULL);
		client_hello(&me);
		n = udpsock_connect_hello(h, &me, s, key1, &hlen);
		CHECK(n > hlen && n <= UDP_HELLO_MAX);
		CHECK((an = listener_answer(h, n, 1 + swap, swap, a)) > 0);
		dg = NULL;
		CHECKF(udpsock_check_accept((unsigned char *)a, an, h, hlen, s,
			   key1, &me, &peer, &dg, why,
			   sizeof(why)) == CLIENT_OK,
		    "%s", why);
		CHECK(dg != NULL && peer.sealed);
		seal_dg_free(dg);
		seal_free(s);
	}
	return (0);
}

static int
t_wrong_key(void)
{
	struct wire_hello me;
	struct seal *s;
	char h[2 * WIRE_HELLO_MAX], a[2 * WIRE_HELLO_MAX];
	size_t n, hlen;

	CHECK((s = seal_new(1)) != NULL);
	client_hello(&me);
	n = udpsock_connect_hello(h, &me, s, key2, &hlen);
	/* The proof checks with none of the listener's keys. */
	CHECK(listener_answer(h, n, 1, 0, a) == 0);
	/* No proof at all. */
	CHECK(listener_answer(h, hlen, 1, 0, a) == 0);
	seal_free(s);
	return (0);
}

static int
t_altered(void)
{
	struct wire_hello me, peer;
	struct seal *s;
	struct seal_dg *dg = NULL;
	char h[2 * WIRE_HELLO_MAX], a[2 * WIRE_HELLO_MAX], why[256];
	size_t n, hlen, an;
	char *p;

	CHECK((s = seal_new(1)) != NULL);
	client_hello(&me);
	n = udpsock_connect_hello(h, &me, s, key1, &hlen);
	CHECK((an = listener_answer(h, n, 1, 0, a)) > 0);
	/* The listener's node name altered on the way: a valid hello, but
	 * not the one the keys were derived over. */
	CHECK((p = memmem(a, an, "node=lis", 8)) != NULL);
	p[7] = 'x';
	CHECK(udpsock_check_accept((unsigned char *)a, an, h, hlen, s, key1,
		  &me, &peer, &dg, why, sizeof(why)) == CLIENT_AUTH);
	CHECK(dg == NULL);
	CHECK(strncmp(why, "authentication failed", 21) == 0);
	seal_free(s);
	return (0);
}

static int
t_bad_accept(void)
{
	struct wire_hello me, peer;
	struct seal_dg *dg = NULL;
	char h[2 * WIRE_HELLO_MAX], why[256];
	size_t hlen;
	const char *v9 = "103:0:,5:hello,5:quilt,3:9-9,8:node=lis,"
			 "40:session=03030303030303030303030303030303,"
			 "9:max=65536,8:sealed=0,,";

	client_hello(&me);
	(void)udpsock_connect_hello(h, &me, NULL, NULL, &hlen);
	CHECK(udpsock_check_accept((const unsigned char *)"12:not a hello!", 15,
		  h, hlen, NULL, NULL, &me, &peer, &dg, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	CHECK(udpsock_check_accept((const unsigned char *)v9, strlen(v9), h,
		  hlen, NULL, NULL, &me, &peer, &dg, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	CHECKF(strncmp(why, "no common protocol version", 26) == 0, "%s", why);
	return (0);
}

static int
t_proof_frame(void)
{
	unsigned char prf[SEAL_PROOFLEN];
	const char
	    *good = "47:0:,5:proof,32:000102030405060708090a0b0c0d0e0f,,";

	CHECK(udpsock_get_proof(good, strlen(good), prf) == 0);
	CHECK(prf[0] == 0 && prf[15] == 15);
	CHECK(udpsock_get_proof(good, strlen(good) - 1, prf) == -1);
	CHECK(udpsock_get_proof("", 0, prf) == -1);
	CHECK(udpsock_get_proof("9:0:,3:bye,,", 12, prf) == -1);
	return (0);
}

/* Two engines joined in memory: every datagram due goes across. */
static void
exchange(struct udp *a, struct udp *b, uint64_t now)
{
	unsigned char d[2048];
	size_t n;
	int moved;

	do {
		moved = 0;
		while ((n = udp_output(a, d, sizeof(d), now)) > 0) {
			(void)udp_input(b, d, n, now);
			moved = 1;
		}
		while ((n = udp_output(b, d, sizeof(d), now)) > 0) {
			(void)udp_input(a, d, n, now);
			moved = 1;
		}
	} while (moved);
}

static int
t_stream(void)
{
	struct udp_params p;
	struct udp_listener *l;
	struct udp_request req;
	struct udpsock sa, sb;
	struct udpconn *ua, *ub;
	struct udp *a, *b;
	struct buf in;
	unsigned char d[2048], reply[UDP_REPLY_MAX];
	static char sent[3000000];
	size_t n, rl, w = 0, r = 0;
	uint64_t now = 1000000;
	int from = 1;

	for (size_t i = 0; i < sizeof(sent); i++)
		sent[i] = (char)(i * 7 + i / 1000);
	udpsock_params(&p, 65536);
	CHECK((l = udp_listener_new(now)) != NULL);
	CHECK((a = udp_connect(&p, "h", 1, now)) != NULL);
	n = udp_output(a, d, sizeof(d), now);
	CHECK(udp_listen(l, &from, sizeof(from), d, n, now, reply, &rl, &req) ==
	    UDP_REPLY);
	(void)udp_input(a, reply, rl, now);
	n = udp_output(a, d, sizeof(d), now);
	CHECK(udp_listen(l, &from, sizeof(from), d, n, now, reply, &rl, &req) ==
	    UDP_REQUEST);
	CHECK((b = udp_accept(&p, &req, "H", 1, NULL, now)) != NULL);
	n = udp_output(b, d, sizeof(d), now);
	(void)udp_input(a, d, n, now);
	CHECK(udp_start(a, NULL, now) == 0);
	/* Sockets that are never used: these connections are not a
	 * client's, so nothing is sent on them. */
	CHECK(udpsock_init(&sa, -1, p.mtu, 1) == 0);
	CHECK(udpsock_init(&sb, -1, p.mtu, 1) == 0);
	CHECK((ua = udpconn_new(a, &sa, 0, &from, sizeof(from), 0)) != NULL);
	CHECK((ub = udpconn_new(b, &sb, 0, &from, sizeof(from), 0)) != NULL);
	ua->sndbuf = ub->sndbuf = p.sndbuf;
	ua->linked = ub->linked = 1;
	/* A small input: chunks do not fit whole, and wait. */
	CHECK(buf_init(&in, 0, 10007) == 0);
	for (int turn = 0; r < sizeof(sent) && turn < 100000; turn++) {
		struct iovec iov[2];
		size_t k = (turn * 7919) % 200000 + 1;
		ssize_t got;

		if (k > sizeof(sent) - w)
			k = sizeof(sent) - w;
		iov[0].iov_base = sent + w;
		iov[0].iov_len = k / 2;
		iov[1].iov_base = sent + w + k / 2;
		iov[1].iov_len = k - k / 2;
		got = udpconn_write(ua, iov, 2);
		CHECKF(got >= 0 || errno == EAGAIN, "write: %s",
		    strerror(errno));
		if (got > 0)
			w += got;
		exchange(a, b, now += 100);
		while ((got = udpconn_read(ub, &in)) > 0) {
			CHECK(memcmp(buf_data(&in), sent + r, got) == 0);
			r += got;
			buf_consume(&in, got);
		}
		CHECKF(errno == EAGAIN, "read: %s", strerror(errno));
	}
	CHECKF(r == sizeof(sent), "read %zu of %zu", r, sizeof(sent));
	/* Both ends closed: each reader sees a clean end. */
	udp_close(a, now);
	udp_close(b, now);
	exchange(a, b, now += 100);
	CHECK(udpconn_read(ub, &in) == 0);
	CHECK(udpconn_read(ua, &in) == 0);
	buf_free(&in);
	udpconn_free(ua);
	udpconn_free(ub);
	udpsock_free(&sa);
	udpsock_free(&sb);
	udp_listener_free(l);
	return (0);
}

static int
t_counters(void)
{
	struct udp_params p;
	struct udpsock sk;
	struct udpconn *uc;
	struct udpsock_msgs m = {.out = 5,
	    .in = 4,
	    .uout = 3,
	    .uin = 2,
	    .pending = 1,
	    .peak_pending = 9};
	char line[500];
	int from = 1;

	udp_params_default(&p);
	CHECK(udpsock_init(&sk, -1, p.mtu, 1) == 0);
	CHECK((uc = udpconn_new(udp_connect(&p, "h", 1, 1), &sk, 0, &from,
		   sizeof(from), 0)) != NULL);
	udpsock_counters(line, sizeof(line), uc, &m, 0);
	CHECKF(strstr(line,
		   "messages out 5 in 4, unreliable out 3 in 2, "
		   "resends 0, pending acks 1 (at most 9), ") != NULL,
	    "%s", line);
	CHECK(
	    strncmp(line, "datagrams out 0 in 0, bytes out 0 in 0,", 39) == 0);
	CHECK(strstr(line,
		  ", dropped bad 0, wrong id 0, forged 0, "
		  "replayed 0") != NULL);
	/* -j's summary: the same numbers as one JSON object */
	udpsock_counters(line, sizeof(line), uc, &m, 1);
	CHECKF(strstr(line,
		   "\"messages_out\":5,\"messages_in\":4,"
		   "\"unreliable_out\":3,\"unreliable_in\":2,"
		   "\"resends\":0,\"pending_acks\":1,"
		   "\"pending_acks_max\":9,") != NULL,
	    "%s", line);
	CHECK(
	    strncmp(line, "{\"datagrams_out\":0,\"datagrams_in\":0,", 36) == 0);
	CHECK(strcmp(line + strlen(line) - 21, "\"dropped_replayed\":0}") == 0);
	udpconn_free(uc);
	udpsock_free(&sk);
	return (0);
}

int
main(void)
{
	static const struct tcase cases[] = {
	    {"plain: the CONNECT hello is answered, the ACCEPT hello "
	     "taken",
		t_plain},
	    {"sealed: the proof names the key (of two), the confirmation "
	     "checks, a seal comes out",
		t_sealed},
	    {"sealed: a wrong key, or no proof, is refused by the "
	     "listener",
		t_wrong_key},
	    {"sealed: an ACCEPT hello altered on the way fails the "
	     "confirmation",
		t_altered},
	    {"an ACCEPT that is no hello, or of another version, is a "
	     "protocol failure",
		t_bad_accept},
	    {"the proof frame: whole, 16 bytes of hex, nothing after it",
		t_proof_frame},
	    {"3 MB written in pieces through two engines comes out whole, "
	     "in order, through a 10 KB input",
		t_stream},
	    {"the counters line names every counter", t_counters},
	};

	if (seal_init() == -1)
		return (1);
	return (tc_run(cases, sizeof(cases) / sizeof(cases[0])));
}
