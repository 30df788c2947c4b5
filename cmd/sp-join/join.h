/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-join's rooms, each with its own state:
 *
 *   main.c     options, set-up, the loop, the end and its exit status
 *   session.c  the Spread session: what the daemon sends (handed to the
 *              printer), the requests we send, the groups we are in
 *   print.c    standard output in the chosen format
 *   input.c    -i: requests on standard input
 *
 * Calls run one way: main -> session -> print, main -> input.  A room that
 * must end the program returns an exit status (its message said) and
 * main.c ends it.
 */
#ifndef SP_JOIN_H
#define SP_JOIN_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "fmt.h"
#include "spread.h"

/* ------------------------------------------------------------------ */
/* print.c */

#define PRINT_OUT_MAX (64u << 20)

struct printer {
	enum fmt fmt;
	int memb, fields, json; /* -m, -f, -j */
	struct buf out; /* waiting for standard output */
	struct buf part; /* scratch: the parts of one message */
	int escaped_warned;
};

/* The buffers; -1 ENOMEM. */
int print_init(struct printer *pr);

/* Queue a regular message, or a membership message with its body. */
void print_msg(struct printer *pr, const struct spread_msg *m);
void print_memb(struct printer *pr, const struct spread_msg *m,
    const struct spread_memb *b, const char *reason);

/* ------------------------------------------------------------------ */
/* session.c */

#define SESSION_IN_MAX (4u << 20) /* the daemon's bytes not yet taken */

/* A group this session joined, or was told to on the command line. */
struct group {
	char name[SPREAD_GROUP_SIZE];
	int member; /* a join sent, and no leave since */
	int argv; /* named on the command line: -P waits for it */
	int confirmed; /* argv: the daemon has shown us in it */
	int joining; /* a join sent, its membership not seen yet */
	int leaving; /* leaves sent whose self-leave notice has not come */
};

struct session {
	const char *daemon; /* its name, for messages */
	struct spread_session s; /* the fd and the daemon's reply */
	struct buf in; /* from the daemon */
	struct buf tx; /* to the daemon */
	struct printer *pr; /* where messages go (borrowed) */
	size_t pause; /* stop taking messages while pr->out holds this */
	struct group *g;
	int ng, gcap;
	int nargv, nconfirmed; /* operand groups, and those confirmed */
	int leaving; /* self-leave notices still to come */
	unsigned long long sent, received;
};

/* The buffers, once s is open; -1 ENOMEM. */
int session_init(struct session *ss, const char *daemon, struct printer *pr,
    size_t pause);

/*
 * Join a group (argv: an operand, which -P waits for), leave one, leave
 * all: queued on tx.  A join of a group it is in, or a leave of one it is
 * not in, queues nothing (the daemon would ignore it).
 */
void session_join(struct session *ss, const char *group, int argv);
void session_leave(struct session *ss, const char *group);
void session_leave_all(struct session *ss);

/* Queue a request of -i (the message copied into tx). */
void session_request(struct session *ss, const struct spread_req *r);

/* Whether the daemon has confirmed every operand group. */
int session_ready(const struct session *ss);

/*
 * Read what the daemon sent (one read) and hand every whole message on,
 * unless pr->out is above the pause.  0, or an exit status once the
 * session cannot go on (its message said).
 */
int session_read(struct session *ss);

/* Take the messages already read (after a pause).  0 or an exit status. */
int session_parse(struct session *ss);

/* Write what tx holds (one write).  0 or an exit status. */
int session_write(struct session *ss);

/*
 * Leave every group, disconnect, and give the daemon up to two seconds
 * per write to take it all; then close.
 */
void session_close(struct session *ss);

/* ------------------------------------------------------------------ */
/* input.c */

/* The longest request: a msg to 100 groups of 31 bytes, a whole body. */
#define INPUT_REQ_MAX (SPREAD_MAX_BODY + 4096)

struct input {
	enum fmt fmt;
	struct buf buf;
	size_t taken; /* bytes of the record last returned */
	unsigned long long recno;
	int eof; /* standard input ended */
	int done; /* and every record of it was taken */
	struct spread_req r;
	char why[400]; /* a bad record: "stdin: line N: ..." */
};

/* The buffer; -1 ENOMEM. */
int input_init(struct input *in, enum fmt fmt);

/* One read of standard input: bytes, 0 at its end, -1 with errno. */
ssize_t input_fill(struct input *in);

/*
 * The next request: 1 with *r, valid until the next call; 0 when more
 * input is needed, or at the end (in->done set); -1 for a bad record,
 * in->why saying which and why.
 */
int input_next(struct input *in, const struct spread_req **r);

#endif
