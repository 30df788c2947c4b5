/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "conns.h"

#include <stdio.h>
#include <string.h>

#include "nodes.h"

struct conns C;

void
conns_init(void)
{
	memset(&C, 0, sizeof(C));
}

struct conn *
conn_find(uint64_t serial)
{
	/* Its own slot, else where it went (see conn_open). */
	if (C.c[C.last].used && C.c[C.last].serial == serial)
		return (&C.c[C.last]);
	for (int i = 0, j = serial % CONNS_MAX; i < CONNS_MAX;
	     i++, j = (j + 1) % CONNS_MAX)
		if (C.c[j].used && C.c[j].serial == serial) {
			C.last = j;
			return (&C.c[j]);
		}
	return (NULL);
}

struct conn *
conn_open(uint64_t serial, unsigned gen, const char *node, size_t nodelen,
    const char *inst, size_t instlen)
{
	struct conn *c = &C.c[serial % CONNS_MAX];

	for (int i = 0; c->used && i < CONNS_MAX; i++)
		c = &C.c[(serial + i) % CONNS_MAX];
	if (c->used || nodelen > WIRE_NODE_MAX || instlen > WIRE_INST_MAX)
		return (NULL);
	c->used = 1;
	c->serial = serial;
	c->gen = gen;
	memcpy(c->node, node, nodelen);
	c->node[nodelen] = '\0';
	memcpy(c->inst, inst, instlen);
	c->inst[instlen] = '\0';
	c->relay = instlen > 0;
	c->nidx = c->relay ? node_get(node, nodelen) : -1;
	if (c->relay)
		C.changes++;
	return (c);
}

void
conn_close(struct conn *c)
{
	c->used = 0;
	if (c->relay)
		C.changes++;
}

int
conn_from(const char *node)
{
	for (int i = 0; i < CONNS_MAX; i++)
		if (C.c[i].used && C.c[i].relay &&
		    strcmp(C.c[i].node, node) == 0)
			return (1);
	return (0);
}

struct conn *
conn_twin(const struct conn *c)
{
	for (int i = 0; i < CONNS_MAX; i++) {
		struct conn *d = &C.c[i];

		if (d->used && d != c && d->relay &&
		    strcmp(d->node, c->node) == 0 &&
		    strcmp(d->inst, c->inst) != 0)
			return (d);
	}
	return (NULL);
}

void
conns_forget_others(unsigned gen)
{
	for (int i = 0; i < CONNS_MAX; i++)
		if (C.c[i].used && C.c[i].gen != gen)
			conn_close(&C.c[i]);
}
