/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * A log of numbered records for the Spread daemon's order: the events
 * ordered and not yet stable (by their number in the view), and our own
 * events not yet ordered (by our number).  Bytes are kept in arrival
 * order in one buffer; an index finds a record by its number.  Bounded in
 * records and in bytes: a full log takes nothing more.
 */
#ifndef QUILT_RELAY_SD_LOG_H
#define QUILT_RELAY_SD_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct slog_ent {
	uint64_t seq, off; /* off: absolute, in all the bytes ever put */
	uint32_t len;
	uint8_t used;
};

struct slog {
	struct buf b;
	uint64_t base; /* the absolute offset of buf_data(&b) */
	struct slog_ent *idx; /* by seq % size */
	uint64_t *arr; /* the records in arrival order: their numbers */
	unsigned size, ahead, acount;
	size_t maxbytes;
};

/* size records (a power of 2), maxbytes bytes: -1 ENOMEM. */
int slog_init(struct slog *l, unsigned size, size_t maxbytes);
void slog_free(struct slog *l);

/* Forget every record. */
void slog_clear(struct slog *l);

/*
 * Put record seq (a copy of p[0..n), or n bytes the caller writes at
 * slog_get's pointer when p is NULL): 0, 1 when it is there already, -1
 * when the log is full (in records or bytes, or seq is too far).
 */
int slog_put(struct slog *l, uint64_t seq, const void *p, size_t n);

/* Record seq: 0 with *p and *n (valid until the log changes), or -1. */
int slog_get(const struct slog *l, uint64_t seq, const char **p, size_t *n);

/* Drop the records numbered up to seq. */
void slog_trim(struct slog *l, uint64_t seq);

/* Records held. */
static inline unsigned
slog_count(const struct slog *l)
{
	return (l->acount);
}

#endif
