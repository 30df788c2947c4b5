/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/pool: the limit per key, a full pool naming the
 * oldest entry of the key that holds the most, keys of addresses (an
 * IPv4-mapped IPv6 address is its IPv4 one; the port does not count), and
 * the counts per key against a plain model through many random adds and
 * deletes.  TAP output.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "tcase.h"

static struct pool_key
key(unsigned n)
{
	struct sockaddr_in sin;
	struct pool_key k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000000 + n);
	pool_key_addr(&k, (struct sockaddr *)&sin);
	return (k);
}

static int
t_per_key(void)
{
	struct pool p;
	struct pool_key a = key(2), b = key(3);
	int o[8];
	void *v;

	CHECK(pool_init(&p, 8, 3, 100) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(pool_add(&p, &a, &o[i], i, &v) >= 0);
	CHECK(pool_count(&p, &a) == 3);
	CHECK(pool_add(&p, &a, &o[3], 3, &v) == POOL_REFUSED);
	CHECK(pool_add(&p, &b, &o[4], 4, &v) >= 0);
	CHECK(pool_count(&p, &a) == 3 && pool_count(&p, &b) == 1 && p.n == 4);
	pool_free(&p);
	return (0);
}

static int
t_full(void)
{
	struct pool p;
	struct pool_key a = key(2), b = key(3), c = key(1), d = key(4),
			e = key(5);
	int o[8], i, ia0;
	void *v = NULL;

	/* a: three entries (the oldest at 10), b: one, older than all. */
	CHECK(pool_init(&p, 4, 0, 100) == 0);
	CHECK(pool_add(&p, &b, &o[0], 5, &v) >= 0);
	CHECK((ia0 = pool_add(&p, &a, &o[1], 10, &v)) >= 0);
	CHECK(pool_add(&p, &a, &o[2], 11, &v) >= 0);
	CHECK(pool_add(&p, &a, &o[3], 12, &v) >= 0);
	CHECK(pool_add(&p, &c, &o[4], 20, &v) == POOL_EVICT && v == &o[1]);
	pool_del(&p, ia0);
	CHECK(pool_count(&p, &a) == 2 && p.n == 3);
	CHECK((i = pool_add(&p, &c, &o[4], 20, &v)) == ia0);
	/* a: 2 (11, 12), b: 1 (5), c: 1 (20): a's oldest goes to a second
	 * of c's only once it is older than the grace: else c would hold
	 * as many as a did, and they would push each other out in turn. */
	CHECK(pool_add(&p, &c, &o[5], 21, &v) == POOL_REFUSED);
	CHECK(pool_add(&p, &c, &o[5], 111, &v) == POOL_EVICT && v == &o[2]);
	/* Ties: the key whose oldest entry is the oldest. */
	pool_free(&p);
	CHECK(pool_init(&p, 4, 0, 100) == 0);
	CHECK(pool_add(&p, &a, &o[0], 7, &v) >= 0);
	CHECK(pool_add(&p, &b, &o[1], 3, &v) >= 0);
	CHECK(pool_add(&p, &a, &o[2], 8, &v) >= 0);
	CHECK(pool_add(&p, &b, &o[3], 9, &v) >= 0);
	CHECK(pool_add(&p, &c, &o[4], 20, &v) == POOL_EVICT && v == &o[1]);
	CHECK(pool_oldest(&p, &i) == &o[1] && i == 1);
	/* A newcomer of the key that holds the most is refused. */
	CHECK(pool_add(&p, &a, &o[4], 500, &v) == POOL_REFUSED);
	pool_free(&p);
	/* Every key one entry (many addresses): the oldest makes room once
	 * it is past the grace, as a handshake that should be done. */
	CHECK(pool_init(&p, 4, 0, 100) == 0);
	CHECK(pool_add(&p, &a, &o[0], 1, &v) >= 0);
	CHECK(pool_add(&p, &b, &o[1], 2, &v) >= 0);
	CHECK(pool_add(&p, &c, &o[2], 3, &v) >= 0);
	CHECK(pool_add(&p, &d, &o[3], 4, &v) >= 0);
	CHECK(pool_add(&p, &e, &o[4], 50, &v) == POOL_REFUSED);
	CHECK(pool_add(&p, &e, &o[4], 101, &v) == POOL_EVICT && v == &o[0]);
	pool_free(&p);
	return (0);
}

static int
t_keys(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct pool_key k4, k6, k6b, ku, ku2;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1000);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	pool_key_addr(&k4, (struct sockaddr *)&sin);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(2000);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	pool_key_addr(&k6, (struct sockaddr *)&sin6);
	CHECK(memcmp(&k4, &k6, sizeof(k4)) == 0);
	inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr);
	pool_key_addr(&k6, (struct sockaddr *)&sin6);
	inet_pton(AF_INET6, "2001:db8::8", &sin6.sin6_addr);
	pool_key_addr(&k6b, (struct sockaddr *)&sin6);
	CHECK(memcmp(&k4, &k6, sizeof(k4)) != 0);
	CHECK(memcmp(&k6, &k6b, sizeof(k6)) != 0);
	pool_key_uid(&ku, 1000);
	pool_key_uid(&ku2, 1001);
	CHECK(memcmp(&ku, &ku2, sizeof(ku)) != 0);
	CHECK(memcmp(&ku, &k4, sizeof(ku)) != 0);
	return (0);
}

/* Random adds and deletes over few keys (many collisions) against a model. */
static int
t_model(void)
{
	enum { MAX = 64, KEYS = 40 };
	struct pool p;
	int slot[MAX], who[MAX], model[KEYS], o[MAX], used = 0;
	void *v;

	CHECK(pool_init(&p, MAX, 5, 100) == 0);
	memset(model, 0, sizeof(model));
	for (int i = 0; i < MAX; i++)
		slot[i] = -1;
	srandom(14);
	for (int step = 0; step < 200000; step++) {
		int j = random() % MAX, kn = random() % KEYS;
		struct pool_key k = key(kn * 7919);

		if (slot[j] >= 0) {
			struct pool_key kk = key(who[j] * 7919);

			pool_del(&p, slot[j]);
			model[who[j]]--;
			used--;
			slot[j] = -1;
			CHECK(pool_count(&p, &kk) == (size_t)model[who[j]]);
			continue;
		}
		int r = pool_add(&p, &k, &o[j], step, &v);

		if (model[kn] >= 5) {
			CHECK(r == POOL_REFUSED);
			continue;
		}
		CHECK(r >= 0 && used < MAX);
		slot[j] = r;
		who[j] = kn;
		model[kn]++;
		used++;
		CHECK(pool_count(&p, &k) == (size_t)model[kn]);
		CHECK(p.n == (size_t)used);
	}
	for (int kn = 0; kn < KEYS; kn++) {
		struct pool_key k = key(kn * 7919);

		CHECK(pool_count(&p, &k) == (size_t)model[kn]);
	}
	pool_free(&p);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "at most per_key entries of one key; others still come in", t_per_key },
	{ "full: the oldest of the key holding the most goes, if it holds more, or as many and is past the grace",
	    t_full },
	{ "keys: the address alone; IPv4-mapped is IPv4; Unix user ids", t_keys },
	{ "counts per key follow a model through 200000 adds and deletes", t_model },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
