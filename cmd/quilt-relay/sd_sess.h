/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread daemon's sessions: one a client connection, with its state of
 * the protocol (libcommon/spreadd.h), its input, and its output queue of
 * whole messages.  A queue over SD_QUEUE_MSGS messages or SD_QUEUE_BYTES
 * bytes means a client that does not read: the session is dropped, as
 * Spread drops it, and the others see it disconnect.
 */
#ifndef QUILT_RELAY_SD_SESS_H
#define QUILT_RELAY_SD_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sd.h"
#include "spreadd.h"

struct sd_sess {
	int used; /* the slot is taken (its fd may be closed already) */
	int fd; /* -1: closed, waiting for its disconnect to be applied */
	unsigned gen; /* of the slot: events name a session by both */
	struct spreadd sd;
	struct buf in, out;
	/* The end of each message queued in out, as a count of all the bytes
	 * ever queued: a ring of 2 * SD_QUEUE_MSGS + 1. */
	uint64_t *ends;
	unsigned qhead, qcount;
	uint64_t queued, written;
	long long deadline; /* of the hello */
	uint64_t mark; /* the last delivery that reached it */
	int drop; /* to be dropped (its queue overflowed, or it broke) */
	int blocked; /* its next request waits for the order to take it */
	int more; /* it sent more than a turn's SD_BURST requests */
	int congested; /* its queue is full: see sd.h */
	long long stalled_at; /* congested, and not a byte read since */
	int disc; /* closed: its disconnect waits for the order */
	int open; /* accepted: it may have joined groups */
	const char *why; /* why it is dropped, for the log */
};

struct sd_sessions {
	struct sd_sess s[SD_SESS_MAX];
	int n; /* slots in use are below n */
	int live;
	int congested; /* sessions congested */
	struct spreadd_conf conf;
	char daemon[SPREAD_MAX_PROC + 1];
	unsigned invent_k;
};

extern struct sd_sessions SS;

/* The daemon's name (this relay's node name): 0, or -1 when too long. */
int sess_init(const char *daemon);

/* A new session on fd (non-blocking): its index, or -1 (full, memory). */
int sess_new(int fd);

/*
 * Close session i's connection.  Its slot stays taken (its groups still
 * name it) until sess_release, once its disconnect is applied.
 */
void sess_close(int i);

/* Session i is gone from every group: its slot and name are free. */
void sess_release(int i);

/* Session i of generation gen, if it is still that one: else -1. */
static inline int
sess_of(int i, unsigned gen)
{
	return (
	    i >= 0 && i < SD_SESS_MAX && SS.s[i].used && SS.s[i].gen == gen ?
		i :
		-1);
}

/*
 * Room for one whole message of n bytes at the tail of i's queue, or NULL
 * (the session is then marked to drop).  sess_commit queues it.
 */
char *sess_reserve(int i, size_t n);
void sess_commit(int i, size_t n);

/* Write what i's queue holds: -1 when the connection broke. */
int sess_flush(int i);

/* The local open session whose private group is name[0..len), or -1;
 * sess_by_group_any also finds one closed and not yet released. */
int sess_by_group(const char *name, size_t len);
int sess_by_group_any(const char *name, size_t len);

#endif
