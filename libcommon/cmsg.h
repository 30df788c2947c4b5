/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The frames between quilt-relay's router and its children (quilt-listen -C
 * and quilt-send -C), in the manner of OpenBSD's imsg: each is a netstring
 * of parts whose first part names it, every one has one encoder and one
 * decoder here, and the decoder checks the arity and every field.  An
 * unknown verb or a wrong arity is an error (the router drops that child,
 * which is started again), never ignored.
 *
 *   listen child -> router (fd 1: relays' frames, fd 3: clients')
 *     listening ADDR                   bound; its address for the ready file
 *     open      CONN NODE INST REMOTE  a peer finished its hello
 *                                      (INST "": a client, not a relay)
 *     frames    CONN K FRAMES          frames numbered K, K+1, ... in a row
 *     frame     CONN K FRAME           one frame (K 0: not numbered)
 *     close     CONN
 *   router -> listen child
 *     to        CONN FRAME             a frame for that connection's peer
 *     drop      CONN WHY               end it with an error frame
 *   send child -> router
 *     up        NODE INST MAXMSG LOCAL the session is set up
 *     down      WHY                    the connection was lost (retrying)
 *     ack       N                      the peer wrote our first N frames
 *     frame     BODY                   a frame's body from the peer
 *   router -> send child: the frames to send, as they are.
 *
 * quilt-protocol(5) describes them for whoever writes another router.
 */
#ifndef QUILT_CMSG_H
#define QUILT_CMSG_H

#include <stddef.h>
#include <stdint.h>

struct sink;

/*
 * A "frames" batch holds frames of one connection until it reaches this
 * many bytes (the last frame may take it past, by up to one frame): the
 * router's frame limit for its listen child is -M plus this.
 */
#define CMSG_BATCH (256 * 1024)

/* Which stream a frame is on: the same verb may mean two things. */
enum cmsg_chan {
	CM_FROM_LISTEN,
	CM_TO_LISTEN,
	CM_FROM_SEND,
};

enum cmsg_type {
	CM_LISTENING = 1,
	CM_OPEN,
	CM_FRAMES,
	CM_FRAME,
	CM_CLOSE,
	CM_TO,
	CM_DROP,
	CM_UP,
	CM_DOWN,
	CM_ACK,
	CM_PEER, /* "frame BODY" from a send child */
};

struct cmsg_str {
	const char *p;
	size_t len;
};

/*
 * A decoded frame: views into its body (valid as long as the body), or
 * what to encode.  The fields each verb uses:
 *   listening  text=ADDR
 *   open       conn, node, inst, text=REMOTE
 *   frames     conn, n=K, data=FRAMES
 *   frame      conn, n=K, data=FRAME
 *   close      conn
 *   to         conn, data=FRAME
 *   drop       conn, text=WHY
 *   up         node, inst, n=MAXMSG, text=LOCAL
 *   down       text=WHY
 *   ack        n
 *   peer       data=BODY
 */
struct cmsg {
	enum cmsg_type type;
	uint64_t conn, n;
	struct cmsg_str node, inst, text, data;
};

/*
 * Decode the body of a frame read on channel ch.  0, or -1 with EBADMSG
 * when the verb is unknown on that channel, the arity is wrong, or a field
 * is malformed: a number that is not one, a node name or an instance id
 * that is not one, an address longer than ADDR_STRLEN, a FRAME that is not
 * exactly one netstring.  FRAMES is left to the reader, who parses it as it
 * goes (it is the hot path).
 */
int cmsg_decode(enum cmsg_chan ch, const char *body, size_t len,
    struct cmsg *m);

/* Encode m: its size; written at out only when it fits in cap. */
size_t cmsg_put(char *out, size_t cap, const struct cmsg *m);

/* Append m to a sink: 0, or -1 when the sink is full. */
int cmsg_sink(struct sink *s, const struct cmsg *m);

/* The verb of a type, for messages. */
const char *cmsg_name(enum cmsg_type t);

#endif
