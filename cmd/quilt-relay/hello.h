/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Hellos: keep-alives from router to router as UDP datagrams (rhello.h),
 * as OSPF's hellos or BFD's packets, so that an idle link wakes only the
 * two routers, not a send child, TCP and a listen child besides.  The
 * router binds a UDP socket on the address and port its listen child
 * listens on (a TCP address only: not unix:, not udp:), and each interval
 * sends every relay with a link up (or held) whose address is a numeric
 * IP:port a hello: our name, its name, our dead time, a counter that only
 * grows, whether we hear its hellos, and with -k a MAC under a key
 * derived from the mesh key.  A good hello counts as a frame of that
 * relay (alive.c); alive.c leaves out the in-band keep-alives of a relay
 * that hears ours and whose hellos we hear, and sends them again the
 * moment that stops, so UDP that does not get through (a firewall, a
 * NAT, an older relay) costs nothing but the in-band path.
 */
#ifndef QUILT_RELAY_HELLO_H
#define QUILT_RELAY_HELLO_H

#include "relay.h"
#include "seal.h"

/* The mesh keys (-k), n of them (0: hellos unsealed).  -1 ENOMEM. */
int hello_init(const unsigned char key[][SEAL_KEYLEN], int n);

/* The listen child is bound at L.bound: bind the hellos' socket beside
 * it.  A failure is said once (-v) and leaves the in-band way alone. */
void hello_open(void);

/*
 * Before alive_tick, when it is due (alive_due): take the hellos that came
 * since the last time, each as of when it came.  The socket is not polled:
 * hellos wake nobody.
 */
void hello_drain(void);

/*
 * After alive_tick: the hellos due (due: alive_tick said keep-alives
 * were), and, when the hellos were read in this turn (looked), one at
 * once to a relay whose hellos have stopped coming, so that it knows
 * ours are not heard.
 */
void hello_tick(int due, int looked);

/* The socket is closed (we stop). */
void hello_close(void);

#endif
