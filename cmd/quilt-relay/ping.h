/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Pings across the mesh: a client's ping for a node becomes ours, a relay
 * answers the pings for it with a pong that counts the hops, and a leaf,
 * which answers pings itself, is asked on the way (we remember for whom).
 */
#ifndef QUILT_RELAY_PING_H
#define QUILT_RELAY_PING_H

#include <stddef.h>
#include <stdint.h>

#include "hops.h"
#include "wire.h"

/* -1 ENOMEM. */
int ping_init(void);

/* [DEST, "ping", ORIGIN, HOPS, TAG, SEQ, PAYLOAD] in frame (ours to
 * write: HOPS goes up in place).  Malformed ones are counted. */
void mesh_ping_in(char *frame, size_t flen, const char *body,
    const struct wire_msg *m);

/* [ORIGIN, "pong", NODE, HOPS, TAG, SEQ, DISTANCE, PAYLOAD], the same. */
void mesh_pong_in(char *frame, size_t flen, const char *body,
    const struct wire_msg *m);

/* A client's [DEST, "ping", SEQ, PAYLOAD] on connection serial. */
void client_ping(const struct wire_msg *m, uint64_t serial);

/* A pong from leaf p: ["", "pong", TAG, NODE, HOPS, PAYLOAD]. */
void leaf_pong(struct peer *p, const struct wire_msg *m);

#endif
