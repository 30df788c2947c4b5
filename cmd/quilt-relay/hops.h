/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Next hops and their queues: the outgoing peers (a relay, or a plain
 * listener: a leaf), each with its queue of numbered frames held until the
 * peer has acknowledged them, so that a send child that dies loses nothing.
 * A leaf's frames are plain ["", "msg", PART...]; the records of runs
 * beside them say whose messages they were, for the answers once written.
 */
#ifndef QUILT_RELAY_HOPS_H
#define QUILT_RELAY_HOPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "link.h"
#include "relay.h"

/*
 * A run of frames queued to a leaf: n messages of origin numbered from id.
 * A run a client of ours sent straight to this leaf (serial not 0) is
 * answered to that client as its messages k, k + 1, ...
 */
struct lmeta {
	short origin;
	uint8_t want;
	uint32_t n;
	uint64_t id, serial, k;
};

struct peer {
	char addr[ADDR_STRLEN];
	int used, fixed;
	/* Its send child (children.c). */
	pid_t pid;
	int fd;
	long long started, restart_at, backoff;
	int reported; /* its child said up or down once */
	int ended; /* we ended its child (peer_restart): start it at once */
	/* Its session is up but its relay was declared dead and has not
	 * spoken since (alive.c): up once it does, announcing local. */
	int held;
	char local[ADDR_STRLEN];
	/* The link to the child; base is n_acked when the child started. */
	struct link l;
	uint64_t base;
	/* The peer, once its child said up. */
	int up, relay;
	char node[WIRE_NODE_MAX + 1];
	int nidx;
	size_t maxmsg;
	long long down_at; /* its child died: down unless up again by then */
	uint64_t sent, acked_total;
	/* Leaf: a record per run of data frames in l.q, oldest first. */
	struct lmeta *lq;
	size_t lq_head, lq_count;
	/* Relay: link state records due to it (flood.c): each node's
	 * record, its second instance's, its withdrawal. */
	uint8_t lsa_due[NODES_MAX / 8], olsa_due[NODES_MAX / 8],
	    dlsa_due[NODES_MAX / 8];
};

struct hops {
	struct peer p[PEERS_MAX];
	int n; /* slots in use are below n */
};

extern struct hops H;

/* A new peer slot for addr (its link allocated): its index, or -1. */
int peer_new(const char *addr, int fixed);
void peer_free(struct peer *p);

/* The peer that is up towards node, or -1. */
int peer_of(const char *node);

/*
 * A frame of body bytes over p's limit (its -M smaller than ours)?  Never
 * sent to it: counted (oversize) as it is dropped.
 */
int over_limit(const struct peer *p, size_t body);

/* Queue a whole frame to p: 0, -1 when full, 1 over its limit (dropped). */
int peer_queue(struct peer *p, const char *frame, size_t n);

/* Room for one more run in leaf p's records (made on first use)? */
int lq_room(struct peer *p);

/* Record n frames queued to leaf p (lq_room said yes). */
void lq_push(struct peer *p, int origin, uint64_t id, uint32_t n, int want,
    uint64_t serial, uint64_t k);

/*
 * Queue ["", "msg", PART...] to leaf p, with its record: 0, -1 when there
 * is no room, 1 over its limit (dropped).
 */
int leaf_queue(struct peer *p, int origin, uint64_t id, int want,
    uint64_t serial, uint64_t k, const char *parts, size_t plen);

/*
 * What p's queue takes now, in bytes and in frames: what enters the mesh
 * here may fill half of it, what passes through (transit) all of it.
 */
void peer_budget(const struct peer *p, int transit, size_t *bytes,
    size_t *frames);

/*
 * Room in every queue a frame of n bytes for node d may go to (d -1: all;
 * 0 or a node with no route: none to check)?  So the mesh cannot wedge
 * with every queue full of new messages: frames in transit, and the
 * answers that free the senders, still have room.
 */
int room_for(int d, size_t n, int transit);

/*
 * Queue a relay frame towards node d: -1 when the next hop's queue is
 * full (the caller waits), 0 otherwise (queued, or dropped: no route, or
 * a leaf, which takes only messages).
 */
int hop_forward(int d, const char *frame, size_t n);

/*
 * The peer acknowledged its first v frames (counted from its child's
 * start): drop them; for a leaf, written(p, run, t, arg) for each run of
 * which t frames were written.  -1 when v goes back or too far.
 */
typedef void hop_written_fn(struct peer *p, const struct lmeta *run, uint64_t t,
    void *arg);
int peer_acked(struct peer *p, uint64_t v, hop_written_fn *written, void *arg);

/* Our own links for routing: node and peer index of the peers up. */
int hops_links(short *node, short *peer);

/* Every frame queued to the peers that are up has been acknowledged. */
int hops_idle(void);

#endif
