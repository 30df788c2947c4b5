/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The listener's half of the quilt handshake, beside client.c's half: check
 * the peer's hello (its fields, the version range, the sealing), find or
 * start its session in a table bounded by count and age, build our hello,
 * and, sealed, check the peer's key confirmation with either of up to two
 * keys and answer it.  It works on frames and returns what to send back: no
 * sockets, no clock of its own, nothing printed, so that a datagram
 * transport can drive it as quilt-listen does over a stream.
 */
#ifndef QUILT_SERVER_H
#define QUILT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "wire.h"

/* Keys a listener takes at once: two while one is being rotated. */
#define SERVER_KEYS 2

/* What we are, the same for every handshake. */
struct server_conf {
	char node[WIRE_NODE_MAX + 1];
	uint64_t maxmsg; /* the largest frame body we take */
	int handler; /* a -e handler answers (handler=1) */
	char relay[WIRE_INST_MAX + 1]; /* quilt-relay's listen child, or "" */
	uint64_t idle; /* ms of silence before a connection is closed, or 0 */
	/* -k: nkeys keys of SEAL_KEYLEN bytes, the caller's; 0 unsealed. */
	const unsigned char *key[SERVER_KEYS];
	int nkeys;
};

/* A session: a client's stream of messages, across its connections. */
struct server_sess {
	unsigned char sid[WIRE_SID_LEN];
	uint64_t taken; /* messages taken (appended to the output) */
	uint64_t written; /* of which write(2) took them: acknowledged */
	uint64_t start; /* where it started: taken == start, nothing taken */
	long long used; /* the caller's clock at its last use; 0: free */
	void *owner; /* the connection that has it, or NULL: idle */
	unsigned gen; /* a new one each time the slot gets a new session */
};

/* The table of sessions: n slots, an idle one kept at least max_age ms. */
struct server_table {
	struct server_sess *s;
	size_t n;
	long long max_age;
};

/* -1 ENOMEM. */
int server_table_init(struct server_table *t, size_t n, long long max_age);
void server_table_free(struct server_table *t);

/*
 * The session sid at now (the caller's clock in ms, > 0): the one in the
 * table (*known set, its counts kept), else a new one that starts at from,
 * in a free slot, or one idle past max_age, or the idle one unused the
 * longest of those that took nothing (a new session would be the same),
 * or the idle one unused the longest.  NULL when every slot is live
 * (owned).
 */
struct server_sess *server_sess_find(struct server_table *t,
    const unsigned char sid[WIRE_SID_LEN], uint64_t from, long long now,
    int *known);

/*
 * s is owner's from now on.  Returns the owner it had, a connection of the
 * same session still open (a reconnect: the new one wins, and the caller
 * ends that one without releasing s), or NULL.
 */
void *server_sess_claim(struct server_sess *s, void *owner);

/* Its connection is gone: s is idle, kept for a resume. */
static inline void
server_sess_release(struct server_sess *s)
{
	s->owner = NULL;
}

enum server_state {
	SERVER_HELLO, /* waiting for the peer's hello */
	SERVER_CONFIRM, /* sealed: waiting for its key confirmation */
	SERVER_OPEN, /* done: the peer is who it says */
	SERVER_REFUSED, /* done: the error frame is the last thing to send */
};

/* One handshake: set up with server_hs_init, ended with server_hs_free. */
struct server_hs {
	enum server_state state;
	struct wire_hello peer; /* its hello, as decoded */
	struct server_sess *sess; /* its session, from the hello on */
	void *displaced; /* the owner sess had before (server_sess_claim) */
	int known; /* the session was resumed */
	uint64_t resume; /* sealed: where we said the session resumes */
	int key; /* sealed: which key (0, 1) the peer proved */
	enum wire_refusal code; /* refused: the code... */
	char why[160]; /* ...and the reason, in words */
	struct seal *seal; /* sealed: ours until server_take_seal */
	char *transcript; /* sealed: both hellos, until the confirmation */
	size_t tlen;
};

void server_hs_init(struct server_hs *h);
/* Wipe and free what the handshake still holds. */
void server_hs_free(struct server_hs *h);

/*
 * One frame of the handshake from the peer, owner's connection: frame
 * [0..flen) whole as it came (hellos are kept byte for byte for the
 * transcript), body[0..len) its body; now as for server_sess_find.  Writes
 * the frame to send back at out (WIRE_HELLO_MAX bytes), its size at
 * *outlen, and returns the new state:
 *   SERVER_CONFIRM  out: our hello; the confirmation comes next (sealed)
 *   SERVER_OPEN     out: our hello (plain) or our confirmation (sealed),
 *                   the last plaintext: the stream is sealed after it, with
 *                   server_take_seal
 *   SERVER_REFUSED  out: ["", "error", why, code]; send it and close
 * Once it is SERVER_OPEN, h->sess is the peer's session, claimed for owner,
 * and h->displaced the connection it was taken from, if any; the caller
 * releases it when the connection ends.  Until then nothing is claimed: a
 * sealed peer's hello only looks at the table (where its session resumes,
 * told in our hello), and its session is found and claimed once its
 * confirmation proves the key, so that peers without the key take no room
 * in the table and displace nobody.  A session that took messages between
 * the two (from a connection of the same session) is refused "busy": the
 * resume point told is no longer true.  Called only in SERVER_HELLO and
 * SERVER_CONFIRM.
 */
enum server_state server_frame(struct server_hs *h, const struct server_conf *c,
    struct server_table *t, void *owner, long long now, const char *frame,
    size_t flen, const char *body, size_t len, char *out, size_t *outlen);

/*
 * Sealed, in SERVER_CONFIRM: the peer proved key (an index of c->key) by
 * other means than a confirmation frame (udp: its proof beside the hello),
 * so its session is found and claimed for owner as a confirmation would
 * have it.  SERVER_OPEN (h->sess, h->displaced as above; no frame to send)
 * or SERVER_REFUSED (full, busy: the error frame at out, as above).
 */
enum server_state server_proven(struct server_hs *h, struct server_table *t,
    void *owner, long long now, int key, char *out, size_t *outlen);

/* After SERVER_OPEN, sealed: the stream's seal, now the caller's. */
struct seal *server_take_seal(struct server_hs *h);

#endif
