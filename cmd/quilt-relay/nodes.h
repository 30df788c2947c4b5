/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The node table: every node this relay has heard of, by index (0 is this
 * one), and, for each origin, which of its message ids were taken already
 * (a message that comes twice, round a cycle or resent after a link was
 * lost, is written once).
 */
#ifndef QUILT_RELAY_NODES_H
#define QUILT_RELAY_NODES_H

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

/* Ids below the highest taken from an origin that are remembered (a power
 * of 2); older ids count as taken. */
#define DEDUP_BITS 65536

struct node {
	char name[WIRE_NODE_MAX + 1];
	size_t namelen;
	uint64_t dd_top; /* the highest id taken */
	uint64_t *dd_bits; /* DEDUP_BITS bits, made with the node */
	int dd_any; /* an id was taken */
};

struct nodes {
	struct node n[NODES_MAX];
	int count;
	int last; /* the last found: messages come in runs for one node */
	/* How a node's id table is allocated (calloc; a test fails it). */
	void *(*alloc)(size_t, size_t);
};

extern struct nodes N;

/* Node 0 is this one, named me. */
void nodes_init(const char *me);
void nodes_free(void);

/* The index of the node named name[0..len), or -1. */
int node_find(const char *name, size_t len);

/*
 * The same, made when it is new: -1 when the name is not a node name, the
 * table is full, or its id table cannot be allocated.
 */
int node_get(const char *name, size_t len);

static inline const char *
node_name(int i)
{
	return (N.n[i].name);
}

/*
 * Has id of origin o (not 0) been taken already?  1 yes; 0 no, and it is
 * taken now.
 */
int dedup_seen(int o, uint64_t id);

/* Take it back (it could not be written): seen again when it comes. */
void dedup_unsee(int o, uint64_t id);

/* A new life of the node: its ids start again. */
void dedup_reset(int o);

#endif
