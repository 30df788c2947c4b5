/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The embedded Spread daemon (quilt-relay -s): what its rooms share.
 *
 *   sd_io.c      the listening sockets, each client's bytes through the
 *                daemon side of the Spread protocol (libcommon/spreadd.c)
 *   sd_view.c    the view: which relays serve Spread and reach us; the
 *                members' side of the flush that installs a new one
 *   sd_flush.c   the proposal followed, and the flush's coordinator
 *   sd_order.c   one total order of every event across the relays of the
 *                current view: a sequencer, stability for SAFE
 *   sd_groups.c  the groups and their members; an ordered event applied:
 *                messages and membership messages delivered to sessions
 *   sd_sess.c    the sessions, their private names and output queues
 *   sd_log.c     the numbered records the order and the flush hold
 *
 * Calls run down this list.  An event is what a client asks (join, leave,
 * disconnect, multicast); every relay of the view applies the same events
 * in the same order, so the group tables agree and every member delivers
 * the same sequence.
 */
#ifndef QUILT_RELAY_SD_H
#define QUILT_RELAY_SD_H

#include <stddef.h>
#include <stdint.h>

#include "mesh.h"
#include "spread.h"

/* Sessions served at once (Spread allows 997). */
#define SD_SESS_MAX 1000
/*
 * A session whose queue holds this many messages, or bytes, is congested:
 * the daemon delivers nothing more and takes no more requests until it
 * reads (a slow reader slows the writers).  One congested for SD_STALL_MS
 * without reading a byte is dropped, as Spread drops a client that does
 * not read, and the others go on.  A queue never holds more than twice.
 */
#define SD_QUEUE_MSGS 1000
#define SD_QUEUE_BYTES (2 * 1024 * 1024)
#define SD_STALL_MS 5000
/* Requests of one session taken a turn of the loop. */
#define SD_BURST 64
/* Spread waits this long for a client's hello. */
#define SD_HELLO_MS 1000
/* Groups, and memberships in all, that the daemon holds at most. */
#define SD_GROUPS_MAX 65536
#define SD_MEMBERS_MAX 1000000

enum sd_kind {
	SD_JOIN = 'j',
	SD_LEAVE = 'l',
	SD_DISC = 'd',
	SD_MCAST = 'm',
};

/* An event: views into whoever holds its bytes. */
struct sd_ev {
	int kind;
	struct mesh_str sender; /* "#private#daemon" */
	struct mesh_str group; /* JOIN, LEAVE */
	/* MCAST: */
	uint32_t type; /* a service bit, maybe SPREAD_SELF_DISCARD */
	uint8_t hint[4]; /* as the sender wrote it */
	int ngroups;
	const uint8_t *groups; /* ngroups fields of 32 bytes */
	const uint8_t *data;
	size_t len;
};

/* Counters of the daemon ("-Q counters"). */
struct sd_counters {
	uint64_t sessions, dropped, mcasts, delivered, joins, leaves, views,
	    held;
};

extern struct sd_counters sdc;

#endif
