/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread daemons' view: which relays serve Spread (-s, "+spread" in
 * their link state) and reach each other, and its installation when that
 * changes.  The relay of the lowest name among them coordinates a flush:
 *
 *   ["fstart", NE, NC, NODE, INST...]         coordinator: a new view
 *   ["fmsg", NE, NC, OE, OC, GSEQ, RECORD...]  an event of an old view
 *   ["fstate", NE, NC, OE, OC, APPLIED, STABLE]   member: its old view
 *   ["funion", NE, NC, CUT, LAST, COUNT]     coordinator: apply to LAST
 *   ["fmemb", NE, NC, IDX, TOTAL, PEND, TAG, GROUP, MEMBER...]  members
 *   ["ftable", NE, NC, IDX, TOTAL, PROC, TIME, (GROUP, MEMBER, TAG)...]
 *   ["fdone", NE, NC]                         member: installed
 *
 * Every member sends what it holds of its old view; the coordinator sends
 * each the events of its old view it lacks, and where the regular part
 * ends (CUT: before the first SAFE message not known stable).  A member
 * applies them, sends TRANSITION to the groups that lost members, applies
 * the rest, sends its local memberships; the coordinator merges them into
 * the new table, and each member installs it, sending CAUSED_BY_NETWORK
 * memberships where a group changed.  Then the coordinator orders the new
 * view's events.  A member that does not answer is asked again; a newer
 * proposal replaces an older one.
 */
#ifndef QUILT_RELAY_SD_VIEW_H
#define QUILT_RELAY_SD_VIEW_H

#include <stddef.h>
#include <stdio.h>

/* Our first view: we alone. */
void view_init(void);

/* A frame of the Spread daemons from relay origin (the parts after FLAGS
 * "s"): 0 taken, -1 wait (main gives this to forward.c). */
int view_in(int origin, const char *parts, size_t plen);

/* Timers of the flush and of the order; a change of the relays that
 * reach us is seen here (lsdb.h's generation of routes). */
void view_tick(long long now, long long *next);

/* "-Q groups": the view, then the groups. */
void view_show(FILE *f, int json);

#endif
