/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Link state flooding (as ospfd's lsupdate.c): records due to each relay
 * peer are written into its queue as room allows, never dropped; a route
 * frame from a peer is taken into the link state database and flooded on;
 * a link that comes up is told everything we know.  Our own record is
 * made again every refresh interval (jittered a little, so that relays
 * started together spread out), and records whose life is over are
 * dropped, here, on the timer the loop gives lsa_tick.
 */
#ifndef QUILT_RELAY_FLOOD_H
#define QUILT_RELAY_FLOOD_H

#include "hops.h"
#include "wire.h"

/* Nothing flooded yet: the refresh timer, the address we announced. */
void flood_init(void);

/* The records due to relay peer p, into its queue as far as there is room. */
void lsa_flush(struct peer *p);

/* Node n's record to every relay peer but peer index except (-1: none). */
void flood_node(int n, int except);

/*
 * Our own record made again from our links (and our address): 1 when
 * what it says changed (a new sequence number), else 0.
 */
int lsa_self(void);

/* Our own record, made again from our links, to every relay peer but
 * except (to all of them when it changed). */
void flood_lsa(int except);

/* Routes again from the link state; what lost its way is answered lost. */
void routes_update(void);

/* Our links changed: routes, and our record, flooded. */
void links_changed(int except);

/* ["", "route", ...] from relay peer index from (-1: not known). */
void route_in(const struct wire_msg *m, int from);

/* A relay peer came up: server-connect (our address), then every record. */
void announce(struct peer *p, const char *local);

/*
 * A relay peer's session is up but its link held (declared dead, its
 * router yet to speak): server-connect alone, unnumbered, so that a relay
 * that has no way to us of its own (it let go of one) makes one, and its
 * keep-alives come by it.
 */
void announce_held(struct peer *p, const char *local);

/*
 * At time now: records whose life is over dropped (routes again), and our
 * own made again when the refresh interval is over.  *next (-1: none) is
 * lowered to when it is to be called again.
 */
void lsa_tick(long long now, long long *next);

#endif
