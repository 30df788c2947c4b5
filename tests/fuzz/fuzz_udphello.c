/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of the udp: handshake's hellos (libcommon/udpsock.c):
 * what rides in an ACCEPT (the listener's hello frame, then, sealed, its
 * confirmation), checked by the client as udpconn_open checks it; and what
 * rides in a CONNECT (the client's hello frame, then, sealed, its key
 * proof), split and read as quilt-listen reads them, the hello frame going
 * to the listener's half of the handshake (server.c).
 *
 * The first byte: bit 0 the ACCEPT side (1) or the CONNECT side (0), bit 1
 * sealed.  The rest is the hello.
 * Checked: nothing crashes or reads past the hello; an ACCEPT is taken only
 * with a hello that decodes, of a version we speak and our sealing, and,
 * sealed, never without a seal; a refused one always says why; a split
 * hello's frame and rest lie inside it; a proof is only ever 16 bytes of
 * hex in a ["", "proof", HEX] frame that is all of what follows the hello.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "seal.h"
#include "server.h"
#include "udpsock.h"
#include "wire.h"

static const unsigned char psk[SEAL_KEYLEN] =
    "fuzz_udphello: a 32-byte key....";

static void
accept_side(const unsigned char *h, size_t n, int sealed)
{
	struct wire_hello me, peer;
	struct seal *s = NULL;
	struct seal_dg *dg = NULL;
	char mine[2 * WIRE_HELLO_MAX], why[256] = "";
	size_t hlen = 0;
	enum client_err e;

	memset(&me, 0, sizeof(me));
	me.vmin = WIRE_VMIN;
	me.vmax = WIRE_VMAX;
	strcpy(me.node, "fuzz");
	memset(me.sid, 7, sizeof(me.sid));
	me.maxmsg = 65536;
	me.from = 0;
	me.resume = -1;
	if (sealed && (s = seal_new(1)) == NULL)
		abort();
	(void)udpsock_connect_hello(mine, &me, s, sealed ? psk : NULL, &hlen);
	memset(&peer, 0, sizeof(peer));
	e = udpsock_check_accept(h, n, mine, hlen, s, sealed ? psk : NULL, &me,
	    &peer, &dg, why, sizeof(why));
	if (e == CLIENT_OK) {
		if (wire_version(&me, &peer) == 0 || peer.sealed != sealed ||
		    (sealed && dg == NULL) || (!sealed && dg != NULL))
			abort();
	} else if (why[0] == '\0' || dg != NULL) {
		abort();
	}
	seal_dg_free(dg);
	seal_free(s);
}

static void
connect_side(const unsigned char *h, size_t n, int sealed)
{
	unsigned char proof[SEAL_PROOFLEN], pk[SEAL_PKLEN];
	struct server_conf conf;
	struct server_table t;
	struct server_hs hs;
	const char *rest, *body;
	size_t f, restlen, blen, outlen;
	char out[WIRE_HELLO_MAX];
	int owner;

	if (udpsock_split_hello(h, n, &f, &rest, &restlen) == -1)
		return;
	if (f == 0 || f > n || rest != (const char *)h + f || restlen != n - f)
		abort();
	if (udpsock_get_proof(rest, restlen, proof) == 0) {
		/* the frame ["", "proof", 32 hex digits], all of the rest */
		if (restlen < 40)
			abort();
	}
	memset(&conf, 0, sizeof(conf));
	strcpy(conf.node, "lis");
	conf.maxmsg = 65536;
	if (sealed) {
		conf.key[0] = psk;
		conf.nkeys = 1;
	}
	if (server_table_init(&t, 4, 1000) == -1)
		abort();
	server_hs_init(&hs);
	(void)frame_parse((const char *)h, f, WIRE_HELLO_MAX, &body, &blen);
	switch (server_frame(&hs, &conf, &t, &owner, 1, (const char *)h, f,
	    body, blen, out, &outlen)) {
	case SERVER_CONFIRM:
		/* Sealed: the proof, when there is one, checks or not. */
		if (!sealed || hs.seal == NULL)
			abort();
		if (udpsock_get_proof(rest, restlen, proof) == 0 &&
		    seal_unhex(pk, sizeof(pk), hs.peer.kx,
			strlen(hs.peer.kx)) == 0)
			(void)seal_proof_check(psk, pk, proof);
		break;
	case SERVER_OPEN:
		if (sealed)
			abort();
		break;
	case SERVER_REFUSED:
		if (hs.code == WR_NONE)
			abort();
		break;
	default:
		abort();
	}
	server_hs_free(&hs);
	server_table_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		if (seal_init() == -1)
			abort();
		init = 1;
	}
	if (size < 1)
		return (0);
	if (data[0] & 1)
		accept_side(data + 1, size - 1, (data[0] >> 1) & 1);
	else
		connect_side(data + 1, size - 1, (data[0] >> 1) & 1);
	return (0);
}
