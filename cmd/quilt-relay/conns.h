/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The connections of the listen child, by its serial for them: the node
 * at the other end, and whether it is a relay (its outgoing side: what
 * comes on it is relay frames) or a client.
 */
#ifndef QUILT_RELAY_CONNS_H
#define QUILT_RELAY_CONNS_H

#include <stdint.h>

#include "relay.h"

struct conn {
	uint64_t serial;
	unsigned gen; /* of the listen child it came through */
	char node[WIRE_NODE_MAX + 1];
	char inst[WIRE_INST_MAX + 1];
	int relay, used;
	int nidx; /* a relay's node index (-1: none, the table is full) */
};

struct conns {
	struct conn c[CONNS_MAX];
	int last; /* the last found */
	unsigned changes; /* counts relays' connections opened and closed */
};

extern struct conns C;

void conns_init(void);

/* The connection of that serial, or NULL. */
struct conn *conn_find(uint64_t serial);

/* A new one in its own slot or the next free one (a relay's node is put in
 * the node table); NULL when all are used. */
struct conn *conn_open(uint64_t serial, unsigned gen, const char *node,
    size_t nodelen, const char *inst, size_t instlen);

/* Connection c is over. */
void conn_close(struct conn *c);

/* A relay named node is connected to us (its outgoing side)? */
int conn_from(const char *node);

/* Another relay of c's name, of another instance, connected: or NULL. */
struct conn *conn_twin(const struct conn *c);

/* Forget the connections of listen children other than gen. */
void conns_forget_others(unsigned gen);

#endif
