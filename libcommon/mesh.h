/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The frames relays send each other, and the answers a relay gives its
 * clients (quilt-protocol(5)), one decoder and one encoder each:
 *
 *   [DEST, "msg", ORIGIN, HOPS, ID, FLAGS, PART...]    DEST: a node or "all"
 *   ["", "route", NODE, INSTANCE, SEQ, ADDR, NEIGHBOUR..., OPTION...]
 *                                                      link state
 *   [ORIGIN, "done", WRITER, HOPS, RANGE...]           WRITER wrote them
 *   [ORIGIN, "lost", NODE, HOPS, RANGE...]             NODE never will
 *   [DEST, "ping", ORIGIN, HOPS, TAG, SEQ, PAYLOAD]
 *   [ORIGIN, "pong", NODE, HOPS, TAG, SEQ, DISTANCE, PAYLOAD]
 *   ["", "server-connect", ADDR]                       connect back to me
 *   ["", "duplicate", INSTANCE]                        a twin of your name
 *   ["", "alive", MS]            a router's keep-alive; MS: its dead time
 * to a client of the relay:
 *   ["", "done", NODE, RANGE...]     NODE ("all": every node) wrote them
 *   ["", "lost", K, NODE...]         message K not written by those nodes
 *   ["", "pong", SEQ, NODE, HOPS, PAYLOAD]
 *
 * HOPS is always two digits, counted up at each relay, so that a relay can
 * pass a frame on as it came with those two bytes changed: decoders give
 * their offset in the body (hops_at), and mesh_set_hops writes them where
 * the caller, who owns the buffer, says.  A RANGE is "K" or "FIRST-LAST"
 * (wire_get_range).  Decoders take the args of a decoded frame (struct
 * wire_msg) and return 0, or -1 with EBADMSG; views point into the body.
 */
#ifndef QUILT_MESH_H
#define QUILT_MESH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "wire.h"

#define MESH_HOP_LIMIT 32

struct mesh_str {
	const char *p;
	size_t len;
};

/* Two digits "00".."99": their value, or -1. */
int mesh_hops(const char *p, size_t len);

/* Write h (0..99) as two digits at p. */
static inline void
mesh_set_hops(char *p, int h)
{
	p[0] = '0' + h / 10;
	p[1] = '0' + h % 10;
}

/* [DEST, "msg", ORIGIN, HOPS, ID, FLAGS, PART...] */
struct mesh_msg {
	struct mesh_str origin;
	int hops;
	size_t hops_at; /* offset of the HOPS digits in the body */
	uint64_t id;
	char flags; /* FLAGS: 'e' the origin waits for the outcome, '-'
		       not, 's' a frame of the Spread daemons (-s) */
	int want; /* flags == 'e' */
	int spread; /* flags == 's' */
	const char *parts; /* the body of parts, as it came */
	size_t plen;
};

/* body is the frame's body (m was decoded from it). */
int mesh_get_msg(const char *body, const struct wire_msg *m,
    struct mesh_msg *x);

/* The body bytes of such a frame with an ID of idlen digits. */
size_t mesh_msg_body(size_t destlen, size_t originlen, size_t idlen,
    size_t plen);

/*
 * Write that whole frame (frame_size(body) bytes, body from
 * mesh_msg_body) at out, HOPS hops, FLAGS flags ('e', '-' or 's');
 * returns the end.  *hops_out gets where its HOPS digits are.
 */
char *mesh_put_msg(char *out, size_t body, const char *dest, size_t destlen,
    const char *origin, size_t originlen, int hops, uint64_t id, char flags,
    const char *parts, size_t plen, char **hops_out);

/*
 * ["", "route", NODE, INSTANCE, SEQ, ADDR, NEIGHBOUR..., OPTION...]: an
 * OPTION is a part that starts with '+' (no node name does).  The one the
 * codec reads is "+life=MS", the milliseconds the record has left to live
 * (0: it is withdrawn); a record without it has life -1.
 */
#define MESH_LIFE_MAX 4294967295LL
struct mesh_route {
	struct mesh_str node, inst, addr;
	uint64_t seq;
	long long life; /* 0..MESH_LIFE_MAX, or -1: none said */
	struct frame_iter nbrs; /* neighbours and options: frame_next_part */
};

/*
 * INSTANCE must be an instance id, ADDR shorter than ADDR_STRLEN, and a
 * "+life=" option, if any, one number 0..MESH_LIFE_MAX, given once.
 */
int mesh_get_route(const struct wire_msg *m, struct mesh_route *r);

/*
 * The whole frame, with "+life=MS" last unless life is -1: its size;
 * written at out only when it fits in cap.
 */
size_t mesh_put_route(char *out, size_t cap, const char *node, const char *inst,
    uint64_t seq, const char *addr, const char *const *nbr, int nnbr,
    long long life);

/*
 * The order of instance ids (lowercase hex, at most WIRE_INST_MAX digits)
 * as numbers: "ff" before "100", "0a" equal to "a".  <0, 0 or >0, as
 * strcmp.
 */
int mesh_inst_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* [ORIGIN, "done"|"lost", NODE, HOPS, RANGE...] */
struct mesh_answer {
	int lost;
	struct mesh_str node;
	int hops;
	size_t hops_at;
	struct frame_iter ranges;
};

int mesh_get_answer(const char *body, const struct wire_msg *m,
    struct mesh_answer *a);

/*
 * The next range of an answer: 1 with *first and *last, 0 at the end, -1
 * (EBADMSG) for a part that is not a range.
 */
int mesh_next_range(struct mesh_answer *a, uint64_t *first, uint64_t *last);

/*
 * [ORIGIN, "done" or "lost", NODE, "00", RANGE...] from n ranges r[i][0..1]
 * (a relay's answer), or with origin NULL the client's answer ["",
 * "done", NODE, RANGE...].  Its size; written only when it fits in cap.
 */
size_t mesh_put_answer(char *out, size_t cap, const char *origin, int lost,
    const char *node, const uint64_t (*r)[2], int n);

/* [DEST, "ping", ORIGIN, HOPS, TAG, SEQ, PAYLOAD] */
struct mesh_ping {
	struct mesh_str origin, tag, seq, payload;
	int hops;
	size_t hops_at;
};

/* SEQ at most 20 bytes. */
int mesh_get_ping(const char *body, const struct wire_msg *m,
    struct mesh_ping *p);

size_t mesh_put_ping(char *out, size_t cap, const char *dest, size_t destlen,
    const char *origin, const char *tag, size_t taglen, const char *seq,
    size_t seqlen, const char *payload, size_t paylen);

/* [ORIGIN, "pong", NODE, HOPS, TAG, SEQ, DISTANCE, PAYLOAD] */
struct mesh_pong {
	struct mesh_str node, tag, seq, payload;
	int hops, distance;
	size_t hops_at;
};

int mesh_get_pong(const char *body, const struct wire_msg *m,
    struct mesh_pong *p);

size_t mesh_put_pong(char *out, size_t cap, const char *origin,
    const char *node, size_t nodelen, const char *tag, size_t taglen,
    const char *seq, size_t seqlen, int distance, const char *payload,
    size_t paylen);

/* A client's pong ["", "pong", SEQ, NODE, HOPS, PAYLOAD]. */
size_t mesh_put_client_pong(char *out, size_t cap, const char *seq,
    size_t seqlen, const char *node, size_t nodelen, int hops,
    const char *payload, size_t paylen);

/* A client's lost ["", "lost", K, NODE...] from n node names. */
size_t mesh_put_client_lost(char *out, size_t cap, uint64_t k,
    const struct mesh_str *nodes, int n);

/* ["", "server-connect", ADDR] and ["", "duplicate", INSTANCE]: the one
 * argument (an address shorter than ADDR_STRLEN; an instance id). */
int mesh_get_addr(const struct wire_msg *m, struct mesh_str *addr);
int mesh_get_inst(const struct wire_msg *m, struct mesh_str *inst);
size_t mesh_put_ctl1(char *out, size_t cap, const char *cmd, const char *arg);

/*
 * ["", "alive", MS]: a router's keep-alive on its own connection to a
 * relay, MS its dead time in milliseconds (MESH_ALIVE_MIN..MAX).  It goes
 * unnumbered (a control frame), so a send child must see it among the
 * data frames without decoding them: mesh_is_alive looks at the body's
 * first bytes alone.
 */
#define MESH_ALIVE_MIN 100
#define MESH_ALIVE_MAX 3600000
#define MESH_ALIVE_HEAD "0:,5:alive,"
#define MESH_ALIVE_HEAD_LEN 11

static inline int
mesh_is_alive(const char *body, size_t len)
{
	return (len >= MESH_ALIVE_HEAD_LEN && body[0] == '0' &&
	    memcmp(body, MESH_ALIVE_HEAD, MESH_ALIVE_HEAD_LEN) == 0);
}

int mesh_get_alive(const struct wire_msg *m, uint64_t *ms);

/* The whole frame: its size; written at out only when it fits in cap. */
size_t mesh_put_alive(char *out, size_t cap, uint64_t ms);

#endif
