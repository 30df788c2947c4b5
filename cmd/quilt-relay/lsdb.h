/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Link state and routes (as ospfd's rde_spf.c and rde_lsdb.c): each
 * relay's record (its instance, sequence number, address and neighbours),
 * the record of a second live instance of the same name (a twin, or a
 * restarted relay's past life), the record last withdrawn (flushed), and
 * the routes computed from them: for each node the next hop (a peer index)
 * and the distance.  Leaves have no record: a leaf is reached through the
 * relays that list it.
 *
 * Records age (as OSPF's LS age): each is taken with the life it has left
 * ("+life=MS", at most our maximum age) and is dropped when that is over,
 * unless a newer one came first; each relay makes its own again every
 * refresh interval, so a live relay's record never runs out, and one that
 * vanished without a word is forgotten everywhere within the maximum age.
 * Records are ordered by instance, as a number, then by sequence number;
 * of two copies of one record, a withdrawn one (life 0) is the newer.  A
 * record about ourselves newer than our own is withdrawn by us at once
 * (OSPF's premature ageing) and followed by our own, newer.
 */
#ifndef QUILT_RELAY_LSDB_H
#define QUILT_RELAY_LSDB_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "mesh.h"
#include "relay.h"

/*
 * A record's options, after its neighbours as parts that are not node
 * names (a relay that does not know one skips it): "+spread", the relay
 * serves Spread clients (-s) and takes part in their order.
 */
#define LS_OPT_SPREAD 1

/* The intervals' defaults and bounds, in milliseconds (quilt-relay(1),
 * ENVIRONMENT): a refresh interval, and a maximum age above it. */
#define LS_REFRESH_DEF 600000
#define LS_REFRESH_MIN 100
#define LS_REFRESH_MAX 3600000
#define LS_MAXAGE_FACTOR 3 /* the default maximum age, in refreshes */
#define LS_MAXAGE_MAX 10800000

struct lsrec {
	char inst[WIRE_INST_MAX + 1]; /* "" for none (a leaf) */
	int opts;
	uint64_t seq;
	long long expires; /* when its life is over (ms, monotonic) */
	char addr[ADDR_STRLEN];
	int nnbr;
	short nbr[NBR_MAX];
};

struct lsnode {
	struct lsrec cur, old;
	/* The record last withdrawn: its copies are not taken again while
	 * it is held. */
	char dead_inst[WIRE_INST_MAX + 1]; /* "" for none */
	uint64_t dead_seq;
	long long dead_until;
	/* A relay whose record ran out or was withdrawn, and that no relay
	 * has listed anew since (nor we linked to anew): it is no leaf, and
	 * is not reached until a record of its own comes. */
	uint8_t gone;
	uint8_t linked; /* one of our own links at the last ls_route */
	/* The instance whose message ids the node table follows. */
	char ids_inst[WIRE_INST_MAX + 1];
	int via, dist; /* -1, -1: unreachable */
};

struct lsdb {
	struct lsnode n[NODES_MAX];
	unsigned gen; /* counts the times routes were computed */
	uint64_t myseq;
	long long orig_at; /* when our record took its sequence number */
	long long refresh, maxage; /* the intervals, ms */
	long long next_expiry; /* the earliest life or hold to end */
	/* Another instance of our own name, heard of in link state. */
	char dup_inst[WIRE_INST_MAX + 1];
	uint64_t dup_seq;
	int dup_reported, dup_answers;
};

extern struct lsdb LS;

/*
 * Our own node (0) is instance inst; nothing else is known.  The
 * intervals are the defaults (ls_intervals sets others).
 */
void ls_init(const char *inst);

/* The refresh interval and the maximum age, ms (checked by the caller). */
void ls_intervals(long long refresh, long long maxage);

/* The next hop towards node d (a peer index), or -1. */
static inline int
ls_via(int d)
{
	return (LS.n[d].via);
}

/* Does u's record list v? */
int ls_lists(int u, int v);

/*
 * Our own record, at time now: the neighbours given (node indices; those
 * gone are left out), our address, our options.  Returns 1 when that
 * changed what it says (its sequence number is then a new one), else 0.
 */
int ls_self(const short *nbr, int n, const char *addr, int opts, long long now);

/*
 * Breadth first from here over the links both ends list, our own links
 * being the n pairs (node[i], via peer[i]).  Returns how many nodes that
 * had a route have none now (the caller answers what was on its way to
 * them).
 */
int ls_route(const short *node, const short *peer, int n);

/* What a route frame asks of the flooder (bits). */
#define LS_NEW 1 /* node's record changed: routes, and flood it */
#define LS_OLD 2 /* a second instance's news: flood its old record */
#define LS_SELF 4 /* flood our own record again (a new sequence number) */
#define LS_TWIN 8 /* our twin is alive: say so once */
#define LS_DEAD 16 /* node's record was withdrawn: flood the withdrawal */

/*
 * Take a route frame at time now: the bits above, with *node the node it
 * is about; -1 when it is malformed (a name in it is not one, or no room
 * for its node).  With LS_DEAD and LS_SELF for node 0, the withdrawal is
 * to go out before our own record.
 */
int ls_input(const struct mesh_route *r, int *node, long long now);

/*
 * Lives and holds that are over at time now: records dropped (their
 * nodes gone), withdrawals forgotten.  Returns 1 when a record was
 * dropped (routes, and our own record, may change), else 0.  *next is
 * lowered to when the next one ends.
 */
int ls_expire(long long now, long long *next);

/*
 * Every life and hold later by d ms: the time this relay did not run
 * (stopped, or starved of CPU) does not age what it holds, since what
 * would have refreshed it waits unread.
 */
void ls_shift(long long d);

/* Node n's records, as ls_frame and the flooder name them. */
#define LS_CUR 0
#define LS_OLDREC 1
#define LS_DEADREC 2

/* Is there such a record to send? */
int ls_has(int n, int kind);

/*
 * Node n's record of that kind as a route frame, with the life it has
 * left at now: its size; written at out only when it fits in cap.
 */
size_t ls_frame(int n, int kind, char *out, size_t cap, long long now);

#endif
