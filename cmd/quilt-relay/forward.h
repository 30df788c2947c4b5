/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Forwarding: a message for the mesh, written here when it is for us (or
 * all), passed on otherwise, once per destination (duplicates dropped by
 * message id), within the hop limit; runs of a relay's messages passing
 * through go on in one copy; the relay frames that come in, dispatched;
 * and what a link that goes down had in flight, sent the new way.
 */
#ifndef QUILT_RELAY_FORWARD_H
#define QUILT_RELAY_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "conns.h"
#include "hops.h"
#include "mesh.h"
#include "wire.h"

/* A message of the mesh, decoded, and where its HOPS digits are. */
struct fmsg {
	int origin; /* node index */
	struct mesh_msg m;
	char *hopsp; /* in the caller's buffer */
};

/*
 * Route the message m (decoded from frame, flen bytes, x) that came from
 * peer index from_peer (-1: a client of ours, or our standard input).  -1
 * when a queue or our output is full: nothing was done, the caller waits;
 * else 0.
 */
int route_msg(const struct wire_msg *m, struct fmsg *x, char *frame,
    size_t flen, int from_peer);

/*
 * A run of a relay's frames from connection c at frames[0..len) (in the
 * caller's buffer: HOPS is written in place).  The bytes taken, *taken
 * the frames; 0 when the first frame is not a message of the mesh (the
 * caller passes it to relay_frame); -1 when it must wait for room.
 */
ssize_t relay_run(struct conn *c, char *frames, size_t len, uint64_t *taken);

/*
 * One frame from a relay (peer index from, -1 when its link back is not
 * up yet), its body in frame: 0 done, -1 wait for room, -2 not a relay
 * frame this room knows (the caller decides: server-connect, or drop).
 */
int relay_frame(char *frame, size_t flen, const char *body, size_t blen,
    int from);

/* The link to p is down: routes go round it; what it held goes too. */
void peer_down(struct peer *p);

/*
 * Frames of the Spread daemons (FLAGS "s") for us go to this callback,
 * given by main when -s is on (else they are dropped): origin, and the
 * parts after FLAGS.  It returns 0, or -1 when the frame must wait.
 */
typedef int spread_in_fn(int origin, const char *parts, size_t plen);
extern spread_in_fn *fwd_spread_in;

/*
 * A frame of ours for the Spread daemon of node d (-1: every relay), its
 * parts after FLAGS "s" the n netstrings of p[i] (len[i] bytes), then
 * the parts raw[0..rawlen) as they are (netstrings already): 0 sent, -1
 * when there is no room on the way now (nothing was sent).
 */
int spread_send(int d, int n, const char *const *p, const size_t *len,
    const char *raw, size_t rawlen);

#endif
