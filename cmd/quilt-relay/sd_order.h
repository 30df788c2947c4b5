/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * One total order of the Spread daemon's events across the relays that
 * serve Spread (-s) and reach each other: the view (sd_view.c makes it).
 * Its coordinator, the relay of the lowest name, is the sequencer: every
 * relay submits its sessions' events to it, it numbers them and sends
 * them to every relay, and each applies them in that order.  A SAFE
 * message is applied only once every relay of the view has it (stable);
 * the others as soon as all before them are.  A number missed is asked
 * again; an event of ours not ordered in time is sent again.  Bounded:
 * SD_WINDOW events ordered and not yet stable, SD_PEND of ours not yet
 * ordered; beyond them the sessions wait.
 *
 *   ["sub", E, C, RSEQ, SESS, GEN, EV...]        ours, to the sequencer
 *   ["ord", E, C, GSEQ, STABLE, ORIGIN, RSEQ, SESS, GEN, EV...]  to all
 *   ["have", E, C, GSEQ]        we hold every event up to GSEQ
 *   ["stable", E, C, GSEQ, TOP] every relay holds them; TOP the last
 *   ["nack", E, C, FROM, TO]    send FROM..TO again
 * E and C name the view (its epoch and coordinator); a frame of another
 * view is dropped.  EV is KIND, SENDER, then GROUP (j, l), nothing (d),
 * or TYPE, HINT, GROUPS, DATA (m).
 */
#ifndef QUILT_RELAY_SD_ORDER_H
#define QUILT_RELAY_SD_ORDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "relay.h"
#include "sd.h"
#include "sd_log.h"

#define SD_WINDOW 65536
#define SD_PEND 8192

/* The view installed: sd_view.c sets it. */
struct sd_view {
	uint64_t epoch;
	int coord; /* node index of the coordinator, the sequencer (0: us) */
	int n;
	short mem[NODES_MAX]; /* node indices, by name */
	char inst[NODES_MAX][WIRE_INST_MAX + 1];
	int32_t proc_id, time;
	uint32_t tag;
	int single; /* we alone */
	int flushing; /* a new view is being made: no new events */
};

struct sd_order {
	struct sd_view v;
	/* Every relay: the events ordered, held until stable and applied. */
	struct slog ord;
	uint64_t applied, recvd, top, stable, have_sent, held;
	long long gap_since;
	/* Our own events not ordered yet. */
	struct slog pend;
	uint64_t next_rseq, pend_first;
	long long pend_since;
	/* The sequencer. */
	uint64_t next_gseq, stable_sent;
	long long stable_at;
	uint64_t expect[NODES_MAX], have[NODES_MAX];
	struct slog *subq[NODES_MAX]; /* each relay's submissions waiting */
	unsigned turn;
};

extern struct sd_order O;

/* -1 ENOMEM. */
int order_init(void);

/*
 * An event of session from (generation gen) here: 0 taken (applied, or on
 * its way to the sequencer), -1 when it must wait (too much in flight, or
 * a view is being made).
 */
int order_submit(const struct sd_ev *e, int from, unsigned gen);

/* A frame of the order (sub, ord, have, stable, nack) from relay origin,
 * its parts after the verb in it: 0, -1 wait, -2 malformed. */
int order_in(int origin, const char *verb, size_t vlen, struct frame_iter *it);

/* Apply what is contiguous and allowed. */
void order_deliver(void);

/* Apply one ordered record ([ORIGIN, RSEQ, SESS, GEN, EV...]). */
void order_apply(const char *p, size_t n);

/* Is an ordered record a SAFE message? */
int order_is_safe(const char *p, size_t n);

/* A new view: the sequencer's queues start again. */
void order_queues_clear(void);

/* Resend ours not ordered (after a new view: to its sequencer). */
void order_resubmit(void);

/* Timers: acknowledgements, stability, gaps, resends. */
void order_tick(long long now, long long *next);

/* An event as parts, its size; a view (valid while p is) back. */
size_t ev_size(const struct sd_ev *e);
char *ev_put(char *o, const struct sd_ev *e);
int ev_get(struct frame_iter *it, struct sd_ev *e);

/* The numbers of a frame: n parts, each a number. */
int sd_nums(struct frame_iter *it, uint64_t *v, int n);

/* Our view's E and C, as parts. */
int sd_view_parts(const char **p, size_t *l, char *ebuf);

#endif
