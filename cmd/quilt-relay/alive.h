/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Liveness of the relays next to us, in the shape of ospfd's hello and
 * dead intervals (and RFC 4222's advice that any frame counts, not only
 * hellos): a third of the dead time apart, the router sends every relay
 * it has a link up to a keep-alive ["", "alive", MS] on its own connection,
 * unnumbered, ahead of the data queued there; MS is our dead time (-W).
 * A relay from which no frame at all has come for its link's dead time
 * (the larger of ours and the one it says) is declared dead: its
 * connections to us are dropped, our link to it goes down as if it had
 * closed (routes go round it, what it had not acknowledged goes the new
 * way, our link state is flooded), and our send child to it is started
 * again, to find it when it is back.  That child's session may come up
 * (a relay's listen child answers hellos without its router) but the
 * link stays down until a keep-alive of that relay's router comes:
 * frames a child had queued may still arrive, a keep-alive is made anew
 * by a router that runs.
 *
 * The dead time runs only while this router reads its relays: while the
 * listen child's stream of relays' frames is polled (not held back
 * because a queue of ours is full).  And it runs on a clock of our own
 * that a turn of the loop moves by no more than its poll was allowed to
 * wait and a little: a router that was busy, or stopped, does not count
 * the time it did not read against its neighbours; it reads first, and
 * counts after.
 */
#ifndef QUILT_RELAY_ALIVE_H
#define QUILT_RELAY_ALIVE_H

#include <stdint.h>

#include "relay.h"

/* -W's default and bounds (a relay takes down to mesh.h's MESH_ALIVE_MIN
 * from others; below half a second, a loaded machine's scheduling alone
 * would take links down). */
#define ALIVE_WAIT_MS 3000
#define ALIVE_WAIT_MIN 500
#define ALIVE_WAIT_MAX MESH_ALIVE_MAX
/* A keep-alive every third of the dead time (ospfd's hello and dead
 * intervals are 10 s and 40 s; a keep-alive costs a wakeup of four
 * processes, and TCP's retransmits after a loss take well under the two
 * intervals left). */
#define ALIVE_PER_WAIT 3
/* What a turn of the loop may take besides its poll and still count in
 * full. */
#define ALIVE_SLACK_MS 100

struct alive {
	long long wait_ms, every_ms;
	/* Our clock: the ms during which we read the relays' stream. */
	long long clock;
	long long last; /* the start of the last turn (0: none yet) */
	long long allow; /* the most the last turn may add to clock */
	int ready; /* the relays' stream was polled in the last turn */
	long long next_send;
	/* By node index: clock when a frame last came from that relay, and
	 * the dead time it says (0: not said yet). */
	long long heard[NODES_MAX];
	uint32_t says[NODES_MAX];
	/* Declared dead, and no keep-alive from it since. */
	uint8_t dead[NODES_MAX];
	/* By node index: clock when a good hello datagram (hello.c) last
	 * came from that relay, whether one ever did, whether it said it
	 * hears ours, and whether its in-band keep-alives were left out
	 * the last time we looked. */
	long long hello_at[NODES_MAX];
	uint8_t hello_seen[NODES_MAX], hello_hears[NODES_MAX],
	    relied[NODES_MAX];
	/* The time (monotonic ms) by which alive_tick has something to do
	 * (0: at once; -1: nothing). */
	long long next_check;
};

extern struct alive A;

/* Dead time wait_ms (-W); nothing heard yet. */
void alive_init(long long wait_ms);

/* A frame came from relay nidx (a connection of it to us). */
static inline void
alive_heard(int nidx)
{
	if (nidx > 0)
		A.heard[nidx] = A.clock;
}

/*
 * At the top of a turn of the loop: count the last turn, declare dead
 * the relays silent for their dead time, send the keep-alives due; *next
 * gets the time of the next of these.  1 when keep-alives were due in
 * this turn (the hellos go then too), else 0.
 */
int alive_tick(long long now, long long *next);

/* Just before the poll: whether it reads the relays' stream, and how
 * long it may wait (-1: no limit). */
void alive_poll(int ready, int timeout_ms);

/* Relay nidx was declared dead and has not spoken since: a link to it
 * that comes up waits (reader.c). */
static inline int
alive_dead(int nidx)
{
	return (nidx > 0 && A.dead[nidx]);
}

/*
 * ["", "alive", MS] from relay nidx: 0; 1 when that relay was dead (its
 * links that waited may come up now); -1 when the frame is malformed.
 */
int alive_in(int nidx, const struct wire_msg *m);

/*
 * Is alive_tick due at now: keep-alives to send (our interval), or a dead
 * time to look at?  The hellos are read just before then, not as they
 * come (hello.c), so that they wake nobody.
 */
int alive_due(long long now);

/* Our clock now, within a turn: what the next alive_tick will make it
 * (A.clock is that of the turn's start, which may be a whole poll ago). */
long long alive_clock_now(void);

/*
 * Hellos (hello.c, quilt-relay(1) KEEP-ALIVES): a hello datagram from
 * relay nidx that came at our clock's at is taken like a frame of it:
 * heard then, with its dead time ms, and whether it says it hears our
 * hellos.  Once it does, and as long as its hellos come within an
 * interval and a quarter (looked at on each of our intervals), its in-band
 * keep-alives are left out; the moment that stops, one goes at once, and
 * an in-band keep-alive from it then (it stopped hearing ours) is answered
 * with one at once.  0, or 1 when that relay was dead (as alive_in).
 */
int alive_hello(int nidx, uint32_t ms, int hears, long long at);

/* Have hellos of relay nidx come within the last interval and a quarter
 * (what our hellos to it say)? */
int alive_hears(int nidx);

#endif
