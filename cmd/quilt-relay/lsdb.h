/*
 * Link state and routes (as ospfd's rde_spf.c): each relay's record (its
 * instance, sequence number, address and neighbours), the record of a
 * second live instance of the same name (a twin, or a restarted relay's
 * past life), and the routes computed from them: for each node the next
 * hop (a peer index) and the distance.  Leaves have no record: a leaf is
 * reached through the relays that list it.
 */
#ifndef QUILT_RELAY_LSDB_H
#define QUILT_RELAY_LSDB_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "mesh.h"
#include "relay.h"

struct lsrec {
	char inst[WIRE_INST_MAX + 1]; /* "" for none (a leaf) */
	uint64_t seq;
	char addr[ADDR_STRLEN];
	int nnbr;
	short nbr[NBR_MAX];
};

struct lsnode {
	struct lsrec cur, old;
	int via, dist; /* -1, -1: unreachable */
};

struct lsdb {
	struct lsnode n[NODES_MAX];
	uint64_t myseq;
	/* Another instance of our own name, heard of in link state. */
	char dup_inst[WIRE_INST_MAX + 1];
	uint64_t dup_seq;
	int dup_reported, dup_answers;
};

extern struct lsdb LS;

/* Our own node (0) is instance inst; nothing else is known. */
void ls_init(const char *inst);

/* The next hop towards node d (a peer index), or -1. */
static inline int
ls_via(int d)
{
	return (LS.n[d].via);
}

/* Does u's record list v? */
int ls_lists(int u, int v);

/* Our own record: the neighbours given (node indices), our address. */
void ls_self(const short *nbr, int n, const char *addr);

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
#define LS_SELF 4 /* news of our twin: flood our own record again */
#define LS_TWIN 8 /* our twin is alive: say so once */

/*
 * Take a route frame: the bits above, with *node the node it is about; -1
 * when it is malformed (a name in it is not one, or no room for its node).
 */
int ls_input(const struct mesh_route *r, int *node);

/*
 * Node n's record (old: the second instance's) as a route frame: its size;
 * written at out only when it fits in cap.
 */
size_t ls_frame(int n, int old, char *out, size_t cap);

#endif
