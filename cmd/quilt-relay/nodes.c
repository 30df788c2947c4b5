/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "nodes.h"

#include <stdlib.h>
#include <string.h>

struct nodes N;

void
nodes_init(const char *me)
{
	nodes_free();
	memset(&N, 0, sizeof(N));
	N.alloc = calloc;
	N.count = 1;
	N.n[0].namelen = strlen(me);
	memcpy(N.n[0].name, me, N.n[0].namelen);
}

void
nodes_free(void)
{
	for (int i = 0; i < N.count; i++) {
		free(N.n[i].dd_bits);
		N.n[i].dd_bits = NULL;
	}
}

int
node_find(const char *name, size_t len)
{
	int l = N.last;

	if (l < N.count && N.n[l].namelen == len &&
	    memcmp(N.n[l].name, name, len) == 0)
		return (l);
	for (int i = 0; i < N.count; i++)
		if (N.n[i].namelen == len &&
		    memcmp(N.n[i].name, name, len) == 0)
			return (N.last = i);
	return (-1);
}

int
node_get(const char *name, size_t len)
{
	int i = node_find(name, len);
	struct node *x;

	if (i != -1)
		return (i);
	if (!wire_node_ok(name, len) || N.count == NODES_MAX)
		return (-1);
	x = &N.n[N.count];
	memset(x, 0, sizeof(*x));
	/* Its id table now, so that a message never waits for memory, nor
	 * is taken for new when there is none. */
	if ((x->dd_bits = N.alloc(DEDUP_BITS / 64, sizeof(uint64_t))) == NULL)
		return (-1);
	memcpy(x->name, name, len);
	x->namelen = len;
	return (N.count++);
}

static inline uint64_t *
word(const struct node *x, uint64_t id)
{
	return (&x->dd_bits[(id % DEDUP_BITS) / 64]);
}

int
dedup_seen(int o, uint64_t id)
{
	struct node *x = &N.n[o];

	if (!x->dd_any) {
		x->dd_any = 1;
		x->dd_top = id;
		*word(x, id) |= 1ULL << (id % 64);
		return (0);
	}
	if (id > x->dd_top) {
		if (id - x->dd_top >= DEDUP_BITS)
			memset(x->dd_bits, 0, DEDUP_BITS / 8);
		else
			for (uint64_t k = x->dd_top + 1; k < id; k++)
				*word(x, k) &= ~(1ULL << (k % 64));
		x->dd_top = id;
		*word(x, id) |= 1ULL << (id % 64);
		return (0);
	}
	if (x->dd_top - id >= DEDUP_BITS ||
	    (*word(x, id) & (1ULL << (id % 64))))
		return (1);
	*word(x, id) |= 1ULL << (id % 64);
	return (0);
}

void
dedup_unsee(int o, uint64_t id)
{
	*word(&N.n[o], id) &= ~(1ULL << (id % 64));
}

void
dedup_reset(int o)
{
	memset(N.n[o].dd_bits, 0, DEDUP_BITS / 8);
	N.n[o].dd_any = 0;
}
