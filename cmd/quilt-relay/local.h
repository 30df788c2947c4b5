/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The local side: standard input takes messages for the mesh ("NODE text"
 * or "all text" lines, split at the first space or TAB; or -N netstrings
 * [DEST, PART...]); messages for this node go to standard output with the
 * sender's name first, each one acknowledged end to end once write(2) has
 * taken it.
 */
#ifndef QUILT_RELAY_LOCAL_H
#define QUILT_RELAY_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sink.h"
#include "wire.h"

struct local {
	struct buf in;
	int in_eof;
	struct sink out;
	uint64_t out_count, out_written;
	/* The messages in out not yet written, oldest first. */
	struct {
		short origin;
		uint8_t want;
		uint64_t id;
	} * wq;
	size_t wq_head, wq_count;
	int escaped;
	char *partbuf; /* a line as a part */
	size_t taken; /* bytes of in the message local_next gave takes */
};

extern struct local LO;

/* Standard output on outfd.  -1 ENOMEM. */
int local_init(int outfd);

/*
 * Write a message of origin's (id, want: answer "done" once written) to
 * standard output: [ORIGIN, PART...] in the chosen format.  0, or -1 when
 * the output is full (the caller waits).
 */
int local_write(int origin, int want, uint64_t id, const char *parts,
    size_t plen);

/*
 * One write of standard output; written(origin, id) for each message now
 * written that its origin waits for.  -1 with errno when standard output
 * failed (EAGAIN: poll again).
 */
typedef void local_written_fn(int origin, uint64_t id);
int local_flush(local_written_fn *written);

/* One read of standard input: 0 at its end (or error), else 1. */
int local_read(void);

/*
 * The next input message as a client's [DEST, "msg", PART...] in *m (its
 * views valid until local_take): 1, or 0 when more input is needed.  Bad
 * lines are said on stderr and skipped; a malformed netstring ends the
 * input.
 */
int local_next(struct wire_msg *m);

/* The message local_next gave was taken. */
void local_take(void);

#endif
