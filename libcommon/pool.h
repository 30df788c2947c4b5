/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * A bounded pool of connections that have not yet earned a slot: those
 * still in their handshake (before the hello, or sealed before the key is
 * proven), or, in a second pool, those that finished it and wait for a
 * free slot of -c.  One address may hold at most per_key entries of a pool
 * (0: no such limit), and when a pool is full a newcomer takes the place
 * of the oldest entry of the address that holds the most (the idea of
 * OpenSSH's MaxStartups, aimed at whoever floods), if that address holds
 * more than the newcomer's would, or as many and its entry is older than
 * grace; else the newcomer is refused.  So an honest peer, whose handshake
 * takes a round trip, is not dropped while another address holds more,
 * and addresses that hold alike do not push each other out in turn.  Addresses
 * are keys (struct pool_key): an IPv4 or IPv6 address (IPv4-mapped IPv6 as
 * IPv4), or a Unix peer's user id.  It works on keys alone, no sockets, so that
 * a datagram transport can use it as quilt-listen does.
 */
#ifndef QUILT_POOL_H
#define QUILT_POOL_H

#include <sys/socket.h>
#include <sys/types.h>
#include <stddef.h>

#define POOL_KEYLEN 17

struct pool_key {
	unsigned char b[POOL_KEYLEN]; /* family, then the address */
};

struct pool_ent {
	struct pool_key key;
	long long since; /* the caller's clock when it came */
	void *owner; /* NULL: free */
};

struct pool {
	struct pool_ent *e; /* max entries */
	size_t max, per_key, n;
	long long grace;
	/* How many entries each key holds: open addressing, nslots a power
	 * of two over twice max. */
	struct pool_count {
		struct pool_key key;
		size_t n; /* 0: empty */
	} * count;
	size_t nslots;
};

/* The key of a peer's address (AF_INET, AF_INET6); other families: one
 * key for all. */
void pool_key_addr(struct pool_key *k, const struct sockaddr *sa);
/* The key of a Unix peer: its user id. */
void pool_key_uid(struct pool_key *k, uid_t uid);

/*
 * max entries, per_key at most for one key (0: no limit), grace in the
 * caller's clock (see above).  -1 ENOMEM.
 */
int pool_init(struct pool *p, size_t max, size_t per_key, long long grace);
void pool_free(struct pool *p);

/* What pool_add answers besides an entry's index. */
#define POOL_REFUSED (-1) /* the key holds per_key, or full: refuse it */
#define POOL_EVICT (-2) /* full: drop *victim (pool_del), then add again */

/*
 * A newcomer from k, owner (not NULL), at now: the index of its entry
 * (>= 0), POOL_REFUSED, or POOL_EVICT with *victim the owner of the oldest
 * entry of the key that holds the most (ties: the key whose oldest entry
 * is the oldest), as the rule above says.
 */
int pool_add(struct pool *p, const struct pool_key *k, void *owner,
    long long now, void **victim);

/* Entry i is free again. */
void pool_del(struct pool *p, int i);

/* The owner of the oldest entry, or NULL when the pool is empty. */
void *pool_oldest(const struct pool *p, int *i);

/* How many entries k holds. */
size_t pool_count(const struct pool *p, const struct pool_key *k);

#endif
