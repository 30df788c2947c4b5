/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Byte queues.  Data lives in base[start..end); room to fill is
 * base[end..cap).  A queue grows on demand up to max and never past it: a
 * full queue stops reading from its source, which is the whole of flow
 * control.  Short reads and writes are normal.
 */
#ifndef QUILT_BUF_H
#define QUILT_BUF_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *base;
	size_t start, end, cap, max;
	/* Moves its data down rather than grow while at most cap >> spread
	 * is used (buf_init: 1, half).  A queue that holds much (a link's
	 * unacknowledged frames) takes more, so that it moves its data
	 * seldom. */
	unsigned spread;
};

/* Allocate cap bytes now (may be 0), allow growth to max.  -1 ENOMEM. */
int buf_init(struct buf *b, size_t cap, size_t max);
void buf_free(struct buf *b);

static inline char *
buf_data(const struct buf *b)
{
	return (b->base + b->start);
}

static inline size_t
buf_len(const struct buf *b)
{
	return (b->end - b->start);
}

static inline char *
buf_tail(const struct buf *b)
{
	return (b->base + b->end);
}

static inline size_t
buf_room(const struct buf *b)
{
	return (b->cap - b->end);
}

/* Drop n bytes from the front. */
static inline void
buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

/*
 * Make room for need more bytes at the tail, moving data to the front or
 * growing up to max.  0 on success; -1 with ENOBUFS when data + need would
 * exceed max, ENOMEM when growing fails.
 */
int buf_reserve(struct buf *b, size_t need);

/*
 * One read(2) into the room at the tail (making at least min bytes of room
 * first when it can).  Returns bytes read, 0 at end of file, -1 with errno
 * (EAGAIN: poll again; ENOBUFS: the queue is full).  Retries EINTR.
 */
ssize_t buf_fill(struct buf *b, int fd, size_t min);

/* One write(2) of the data; returns bytes written or -1 (EAGAIN...). */
ssize_t buf_drain(struct buf *b, int fd);

/* Append n bytes; -1 ENOBUFS when they do not fit under max. */
int buf_append(struct buf *b, const void *p, size_t n);

#endif
