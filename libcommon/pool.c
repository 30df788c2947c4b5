/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "pool.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
pool_key_addr(struct pool_key *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->b[0] = 4;
		memcpy(k->b + 1, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)
						->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			k->b[0] = 4;
			memcpy(k->b + 1, a->s6_addr + 12, 4);
		} else {
			k->b[0] = 6;
			memcpy(k->b + 1, a->s6_addr, 16);
		}
	}
}

void
pool_key_uid(struct pool_key *k, uid_t uid)
{
	memset(k, 0, sizeof(*k));
	k->b[0] = 1;
	memcpy(k->b + 1, &uid, sizeof(uid));
}

static size_t
hash(const struct pool_key *k)
{
	uint64_t h = 14695981039346656037ULL;

	for (int i = 0; i < POOL_KEYLEN; i++) {
		h ^= k->b[i];
		h *= 1099511628211ULL;
	}
	return ((size_t)(h ^ (h >> 29)));
}

/* Where k's count is, or the empty slot where it would go (the table is
 * never more than half full). */
static size_t
find(const struct pool *p, const struct pool_key *k)
{
	size_t m = p->nslots - 1, i = hash(k) & m;

	while (
	    p->count[i].n != 0 && memcmp(&p->count[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & m;
	return (i);
}

/* Empty slot i, moving back what probed past it (no tombstones). */
static void
unset(struct pool *p, size_t i)
{
	size_t m = p->nslots - 1, j = i, home;

	p->count[i].n = 0;
	for (;;) {
		j = (j + 1) & m;
		if (p->count[j].n == 0)
			return;
		home = hash(&p->count[j].key) & m;
		/* i lies between its home and j: it may move back to i. */
		if (((j - home) & m) >= ((j - i) & m)) {
			p->count[i] = p->count[j];
			p->count[j].n = 0;
			i = j;
		}
	}
}

int
pool_init(struct pool *p, size_t max, size_t per_key, long long grace)
{
	memset(p, 0, sizeof(*p));
	p->max = max;
	p->per_key = per_key;
	p->grace = grace;
	for (p->nslots = 16; p->nslots < 2 * max; p->nslots *= 2)
		;
	p->e = calloc(max, sizeof(*p->e));
	p->count = calloc(p->nslots, sizeof(*p->count));
	if (p->e == NULL || p->count == NULL) {
		pool_free(p);
		return (-1);
	}
	return (0);
}

void
pool_free(struct pool *p)
{
	free(p->e);
	free(p->count);
	p->e = NULL;
	p->count = NULL;
	p->n = p->max = 0;
}

size_t
pool_count(const struct pool *p, const struct pool_key *k)
{
	return (p->count[find(p, k)].n);
}

/* The entry to drop: the oldest of the key that holds the most. */
static size_t
victim_of(const struct pool *p)
{
	size_t best = 0, best_n = 0;

	for (size_t i = 0; i < p->max; i++) {
		size_t n;

		if (p->e[i].owner == NULL)
			continue;
		n = pool_count(p, &p->e[i].key);
		if (n > best_n ||
		    (n == best_n && p->e[i].since < p->e[best].since)) {
			best = i;
			best_n = n;
		}
	}
	return (best);
}

int
pool_add(struct pool *p, const struct pool_key *k, void *owner, long long now,
    void **victim)
{
	size_t c = find(p, k), have = p->count[c].n, i;

	if (p->per_key > 0 && have >= p->per_key)
		return (POOL_REFUSED);
	if (p->n >= p->max) {
		size_t v = victim_of(p), vn = pool_count(p, &p->e[v].key);

		if (vn > have + 1 ||
		    (vn == have + 1 && now - p->e[v].since >= p->grace)) {
			*victim = p->e[v].owner;
			return (POOL_EVICT);
		}
		return (POOL_REFUSED);
	}
	for (i = 0; p->e[i].owner != NULL; i++)
		;
	p->e[i].key = *k;
	p->e[i].since = now;
	p->e[i].owner = owner;
	p->n++;
	p->count[c].key = *k;
	p->count[c].n = have + 1;
	return ((int)i);
}

void
pool_del(struct pool *p, int i)
{
	size_t c;

	if (i < 0 || (size_t)i >= p->max || p->e[i].owner == NULL)
		return;
	c = find(p, &p->e[i].key);
	if (--p->count[c].n == 0)
		unset(p, c);
	p->e[i].owner = NULL;
	p->n--;
}

void *
pool_oldest(const struct pool *p, int *i)
{
	void *o = NULL;
	long long since = 0;

	for (size_t j = 0; j < p->max; j++)
		if (p->e[j].owner != NULL &&
		    (o == NULL || p->e[j].since < since)) {
			o = p->e[j].owner;
			since = p->e[j].since;
			*i = (int)j;
		}
	return (o);
}
