/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/* libcommon/rhello: the relays' hello datagram, and its MAC (seal.h). */
#include <errno.h>
#include <string.h>

#include "rhello.h"
#include "seal.h"
#include "tcase.h"

static struct rhello
sample(unsigned flags)
{
	struct rhello h;

	memset(&h, 0, sizeof(h));
	h.flags = flags;
	h.ms = 3000;
	h.counter = 0x0102030405060708ULL;
	h.from = "a";
	h.fromlen = 1;
	h.to = "relay-b.1";
	h.tolen = 9;
	return (h);
}

static int
t_round(void)
{
	static const unsigned char want[] = "qrh1\x01\x01\x09\x00"
					    "\x00\x00\x0b\xb8"
					    "\x01\x02\x03\x04\x05\x06\x07\x08"
					    "arelay-b.1";
	unsigned char b[RHELLO_MAX];
	struct rhello h = sample(RHELLO_HEARS), g;
	int n = rhello_encode(b, sizeof(b), &h);

	CHECKF(n == (int)sizeof(want) - 1, "%d", n);
	CHECK(memcmp(b, want, sizeof(want) - 1) == 0);
	CHECK(rhello_decode(b, (size_t)n, &g) == 0);
	CHECK(g.flags == RHELLO_HEARS && g.ms == 3000 &&
	    g.counter == h.counter && g.mac == NULL);
	CHECK(g.fromlen == 1 && memcmp(g.from, "a", 1) == 0);
	CHECK(g.tolen == 9 && memcmp(g.to, "relay-b.1", 9) == 0);
	return (0);
}

static int
t_sealed(void)
{
	unsigned char b[RHELLO_MAX], psk[2][SEAL_KEYLEN], other[1][SEAL_KEYLEN];
	struct rhello h = sample(RHELLO_SEALED), g;
	struct seal_hmac *k, *k2, *ko;
	int n;

	CHECK(seal_init() == 0);
	memset(psk[0], 1, SEAL_KEYLEN);
	memset(psk[1], 2, SEAL_KEYLEN);
	memset(other[0], 2, SEAL_KEYLEN);
	k = seal_hmac_new(psk, 1);
	k2 = seal_hmac_new(psk, 2);
	ko = seal_hmac_new(other, 1);
	CHECK(k != NULL && k2 != NULL && ko != NULL);
	n = rhello_encode(b, sizeof(b), &h);
	CHECKF(n == RHELLO_HEAD + 10 + RHELLO_MACLEN, "%d", n);
	seal_hmac_make(k, b + n - RHELLO_MACLEN, b, (size_t)n - RHELLO_MACLEN);
	CHECK(rhello_decode(b, (size_t)n, &g) == 0);
	CHECK(g.mac == b + n - RHELLO_MACLEN && g.covered == (size_t)n - 16);
	CHECK(seal_hmac_check(k, g.mac, b, g.covered) == 0);
	/* Either of two keys takes it; another key does not. */
	CHECK(seal_hmac_check(k2, g.mac, b, g.covered) == 0);
	CHECK(seal_hmac_check(ko, g.mac, b, g.covered) == -1);
	/* A changed byte (the counter) fails. */
	b[19] ^= 1;
	CHECK(seal_hmac_check(k, g.mac, b, g.covered) == -1);
	seal_hmac_free(k);
	seal_hmac_free(k2);
	seal_hmac_free(ko);
	return (0);
}

static int
t_bad(void)
{
	unsigned char b[RHELLO_MAX + 1], c[RHELLO_MAX + 1];
	struct rhello h = sample(0), g;
	int n = rhello_encode(b, sizeof(b), &h);
	static const struct {
		int at;
		unsigned char v;
	} flips[] = {
	    {0, 'Q'}, /* tag */
	    {3, '2'}, /* version */
	    {4, 0x04}, /* unknown flag */
	    {4, RHELLO_SEALED}, /* says a MAC follows: too short */
	    {5, 0}, /* empty FROM */
	    {5, 2}, /* lengths do not add up */
	    {7, 1}, /* reserved */
	    {8, 0xff}, /* dead time over MESH_ALIVE_MAX */
	    {11, 0}, /* dead time under MESH_ALIVE_MIN */
	    {20, '/'}, /* a name with a slash */
	};

	CHECK(n > 0);
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(c, b, (size_t)n);
		if (flips[i].at == 11)
			c[10] = 0;
		c[flips[i].at] = flips[i].v;
		errno = 0;
		CHECKF(rhello_decode(c, (size_t)n, &g) == -1 &&
			errno == EBADMSG,
		    "flip %zu", i);
	}
	CHECK(rhello_decode(b, (size_t)n - 1, &g) == -1);
	b[n] = 'x';
	CHECK(rhello_decode(b, (size_t)n + 1, &g) == -1);
	CHECK(rhello_decode(b, 3, &g) == -1);
	/* Encode refuses what decode would. */
	h.ms = 5;
	CHECK(rhello_encode(b, sizeof(b), &h) == -1 && errno == EINVAL);
	h = sample(0);
	h.tolen = 0;
	CHECK(rhello_encode(b, sizeof(b), &h) == -1 && errno == EINVAL);
	h = sample(0);
	CHECK(rhello_encode(b, RHELLO_HEAD + 9, &h) == -1 && errno == EMSGSIZE);
	return (0);
}

static const struct tcase cases[] = {
    {"a hello encodes byte for byte and decodes back", t_round},
    {"a sealed hello's MAC checks under its key (either of two), not another, not changed",
	t_sealed},
    {"malformed hellos are EBADMSG; encode refuses out of range fields", t_bad},
};

int
main(void)
{
	return (TC_RUN(cases));
}
