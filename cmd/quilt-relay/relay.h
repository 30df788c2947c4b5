/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-relay: what every room of the router shares, and nothing else: the
 * bounds, the options (read only once main has set them), the counters,
 * the event loop.  Each room has its own header and its own state; see
 * README's layout and quilt-relay(1).
 *
 * The rooms, from the top down (a call only ever goes down this list, or
 * sideways within one line; a lower room tells a higher one by a return
 * value or a callback it was given):
 *   main.c                      options, set-up, the loop, signals, exit
 *   reader.c control.c          the one reader of child frames; the
 *   discover.c hello.c          control socket; discovery by DNS-SD (-D);
 *                               keep-alives as UDP datagrams (hellos)
 *   clients.c forward.c ping.c  a client's messages (and standard
 *   flood.c alive.c             input's); frames passing through; pings;
 *                               link state flooding; keep-alives and the
 *                               dead timer of relays' links
 *   e2e.c children.c conns.c    end-to-end records; the children and their
 *   local.c                     links; connections of the listen child;
 *                               standard input and output
 *   hops.c lsdb.c nodes.c       next hops and their queues; link state and
 *                               routes; the node table and duplicates
 * and below them libcommon's codecs (cmsg.h: router and children; mesh.h:
 * relay frames; wire.h, frame.h).
 */
#ifndef QUILT_RELAY_H
#define QUILT_RELAY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "fmt.h"
#include "loop.h"
#include "mesh.h"
#include "wire.h"

#define NODES_MAX 256
#define NBR_MAX 64
#define PEERS_MAX 64
#define HOP_LIMIT MESH_HOP_LIMIT
#define CONNS_MAX 1024
/* Our messages in flight end to end (a power of 2). */
#define PEND_MAX 65536
/* Local messages waiting for write(2); records of runs queued to a leaf. */
#define WQ_MAX 65536
/* Ids in one done or lost answer. */
#define DONE_BATCH 128
/* What enters the mesh here may fill this much of a next hop's queue,
 * what passes through twice as much (hops.c, room_for). */
#define PEER_WINDOW (8 * 1024 * 1024)
#define IN_CHUNK (256 * 1024)
/* Frames of one run taken at once (clients.c, forward.c). */
#define RUN_MAX 4096

struct conf {
	enum fmt fmt;
	int json, verbose;
	const char *listen, *announce, *ready;
	const char *keyfile[2];
	int nkeys;
	size_t maxmsg;
	char me[WIRE_NODE_MAX + 1];
	size_t melen;
	char inst[WIRE_INST_MAX + 1];
	const char *spread; /* -s: the Spread daemon's address, or NULL */
	long long wait_ms; /* -W: a silent relay's link is dead after it */
	const char *mesh; /* -D: the mesh name to discover, or NULL */
	/* --allow and --deny as given, for the listen child: "--allow" or
	 * "--deny" and the prefix, in pairs. */
	const char *acl[2 * ACL_MAX];
	int nacl;
};

/* What the control command "counters" shows. */
struct counters {
	uint64_t in, local_in, fwd, delivered, dup, hops, noroute, oversize,
	    bad, restarts, alive_out, alive_in, hello_out, hello_in, hello_drop,
	    dead;
};

/* Defined by main.c (and by the test programs built without it). */
extern struct conf conf;
extern struct counters ctr;
extern struct loop loop;

static inline int
is_all(const char *p, size_t n)
{
	return (n == 3 && p[0] == 'a' && p[1] == 'l' && p[2] == 'l');
}

#endif
