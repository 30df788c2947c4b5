/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * End-to-end records: what became of the messages of our clients (-d, -a)
 * that went into the mesh under our message ids, and the answers, in
 * batches of ranges: "done" from the relays next to where a message was
 * written, "done" and "lost" to our clients.
 */
#ifndef QUILT_RELAY_E2E_H
#define QUILT_RELAY_E2E_H

#include <stdint.h>

#include "mesh.h"
#include "relay.h"

/* Message ids, as ranges FIRST-LAST (they mostly come in order). */
struct rbatch {
	uint64_t r[DONE_BATCH][2];
	int n;
};

/* Add id to b: 0, or -1 when b is full (send it, then add). */
int rb_add(struct rbatch *b, uint64_t id);

/* A message of a client in flight end to end, by id. */
struct pend {
	uint64_t id, serial, k;
	short left, dest;
	uint8_t used, all, nlost;
};

/* For an "all" message: the nodes still to write it, and those lost. */
struct pend_map {
	uint8_t want[NODES_MAX / 8], lost[NODES_MAX / 8];
};

struct e2e {
	struct pend *pend; /* PEND_MAX, by id */
	struct pend_map *maps; /* beside pend, made for the first "all" */
	uint64_t next_id; /* our next message id */
	/* "done" for messages of origin o written here, batched. */
	struct rbatch done[NODES_MAX];
	/* Answers to a client, batched: ["", "done", NODE, K...]. */
	struct {
		uint64_t serial;
		int node; /* -1: all */
		struct rbatch b;
	} cd;
};

extern struct e2e E;

/* first_id: our first message id (a new life starts above the old). */
int e2e_init(uint64_t first_id);

/* Can message id be recorded (its slot is free)? */
static inline int
e2e_room(uint64_t id)
{
	return (!E.pend[id % PEND_MAX].used);
}

/*
 * Record our message E.next_id for client serial's message k, for node d
 * (all: every node reachable now); NULL when out of memory.  The caller
 * moves next_id on once the message went.
 */
struct pend *e2e_new(uint64_t serial, uint64_t k, int all, int d);

/* Node w cannot write e (it is known and gone); finish when none is left. */
void e2e_lost_at(struct pend *e, int w);

/* Tell e's client when nobody is left to write it. */
void e2e_settle(struct pend *e);

/* Node w wrote our message id (lost 0), or never will (lost 1). */
void e2e_answer(int w, uint64_t id, int lost);

/*
 * Routes changed and some nodes have none: what was on its way to them is
 * lost, and the clients are told.
 */
void e2e_reroute(void);

/* Message id of origin o was written here: "done" to o, batched. */
void e2e_written(int o, uint64_t id);

/*
 * [ORIGIN, done|lost, WRITER, "00", RANGE...] towards origin o for b's ids,
 * written (lost 0) or never to be (lost 1) by w; b is emptied.  When the
 * queue towards o is full nothing is sent: the sender learns it at its
 * deadline.
 */
void e2e_send_answer(int o, int w, int lost, struct rbatch *b);

/* Messages first..last of client serial written by node (-1: all). */
void e2e_client_done(uint64_t serial, int node, uint64_t first, uint64_t last);

/* Client serial's message k is lost: dest never writes it. */
void e2e_client_lost(uint64_t serial, uint64_t k, const char *dest, size_t dl);

/* Send every batch. */
void e2e_flush(void);

/* Client serial is gone: nobody waits for its messages. */
void e2e_forget(uint64_t serial);

#endif
