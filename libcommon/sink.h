/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * An output that acknowledges: a byte queue towards a pipe or file
 * (standard output, a handler's standard input) that remembers, per batch,
 * which source's messages end where, so that the messages of a source are
 * acknowledged once write(2) has taken them, and not before.
 */
#ifndef QUILT_SINK_H
#define QUILT_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct sink_mark {
	uint64_t pos; /* absolute byte position of the batch end */
	uint64_t count; /* the source's message count at that point */
	uint64_t npending; /* messages in the batch */
	uint64_t part; /* of which already written */
	unsigned id, gen; /* the source */
};

struct sink {
	int fd;
	struct buf b;
	uint64_t appended, written;
	struct sink_mark *marks;
	unsigned head, count, cap;
	/* Records end with this byte (LF, NUL) so that a batch written in
	 * part is acknowledged in part; -1 when they do not (netstrings). */
	int term;
};

/* Called by sink_flush for each source whose messages got written. */
typedef void sink_done_fn(void *arg, unsigned id, unsigned gen, uint64_t count);

/* -1 ENOMEM. */
int sink_init(struct sink *s, int fd, size_t cap, size_t max, unsigned nmarks);
void sink_free(struct sink *s);

/* Room for n bytes at the tail, or NULL (the sink is full: stop reading). */
static inline char *
sink_reserve(struct sink *s, size_t n)
{
	if (buf_room(&s->b) < n && buf_reserve(&s->b, n) == -1)
		return (NULL);
	return (buf_tail(&s->b));
}

static inline void
sink_commit(struct sink *s, size_t n)
{
	s->b.end += n;
	s->appended += n;
}

/*
 * Append a frame of the n parts p[i] of len[i] bytes (len NULL: strings),
 * as frame_putv writes it.  -1 when the sink is full (the caller waits).
 */
int sink_putv(struct sink *s, int n, const char *const *p, const size_t *len);

/*
 * Source id/gen has, after what is now appended, count messages in; n of
 * them were appended since its last mark.  -1 ENOBUFS when the ring of
 * marks is full (flush first).
 */
int sink_mark(struct sink *s, unsigned id, unsigned gen, uint64_t count,
    uint64_t n);

/* Nothing left to write? */
static inline int
sink_empty(const struct sink *s)
{
	return (buf_len(&s->b) == 0);
}

/*
 * One write of what is queued; then done() for every batch now written,
 * and for the records written so far of a batch written in part.
 * Bytes written, or -1 with errno (EAGAIN: poll again; EPIPE...).
 */
ssize_t sink_flush(struct sink *s, sink_done_fn *done, void *arg);

/*
 * Make a standard fd non-blocking when it is a pipe or a socket (a full
 * pipe must never stop the event loop); the old flags come back at exit.
 */
void sink_nonblock_std(int fd);

#endif
