/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The daemon's side of one Spread client session (PROTOCOL.md sections 2,
 * 3, 5, 6, 8 and 11.2), as a codec and a state machine: no sockets, no
 * group tables, no routing.  quilt-relay -s owns the sockets and the
 * groups; this file turns a client's bytes into replies and requests, and
 * builds what a daemon sends to a client.
 *
 * Input works on the bytes that have arrived, as frame.h does: the room
 * keeps a client's unconsumed bytes and calls spreadd_input() again with
 * them and whatever came after; the same bytes give the same answer, so
 * any split of the input (byte by byte included) gives the same replies
 * and requests.  A decoded request is a view into those bytes, valid
 * until the room consumes them.  The room never needs more than
 * SPREADD_IN_MAX bytes buffered: a header announcing a larger message is
 * refused as soon as its 48 bytes are there.
 *
 * Replies are byte-identical to a Spread 4.4/5.0 daemon's (the captures
 * in tests/spread/vectors), with two differences that 11.2 allows: a
 * hello may arrive in pieces, or in one write with the auth choice
 * (Spread closes or answers -5 when its fixed-size reads come up short or
 * take auth bytes: a matter of timing), and the auth choice is read in its
 * three slots only.  4.0's -4 and -7 to a client that closes early are
 * not sent.  Requests are checked more strictly than Spread does (section
 * 11.2); a request that fails is an error the room answers by dropping
 * the session without a word, as Spread does.
 *
 * Nothing here allocates, prints or exits.
 */
#ifndef QUILT_SPREADD_H
#define QUILT_SPREADD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spread.h"

/* Buffered input a session may need: one whole message of the limit. */
#define SPREADD_IN_MAX (SPREAD_HEADER_SIZE + SPREAD_MAX_BODY)
/* A handshake reply: the longest is an offer of 90 bytes of methods. */
#define SPREADD_REPLY_MAX (1 + SPREAD_MAX_AUTH_LIST)
/* An invented private name: "r<0..9998>-<k>" cut to 9 characters. */
#define SPREADD_INVENT_MAX 9

/* What the room tells every session of this daemon. */
struct spreadd_conf {
	const char *daemon; /* this daemon's name: 1..19 bytes 0x24..0x7e */
	uint8_t major, minor, patch; /* the version the accept announces */
	/*
	 * The auth offer, each method name followed by one space: "NULL ".
	 * "" offers nothing (every session is then refused with 00 f7).
	 * Only methods that exchange no bytes of their own may be listed.
	 */
	const char *methods;
	/*
	 * Claim a private name (len bytes, NUL-terminated) for the session
	 * whose arg is given: 0 if it was free, and the room now holds it for
	 * that session (s->claimed); -1 if another session of this daemon
	 * holds it.  The room releases a claimed name when it drops the
	 * session, whatever the reason.
	 */
	int (*claim)(void *arg, const char *name, size_t len);
};

enum spreadd_state {
	SPREADD_HELLO, /* waiting for the hello */
	SPREADD_CHOICE, /* offer sent, waiting for the 90-byte auth choice */
	SPREADD_OPEN, /* accepted: requests */
	SPREADD_DONE, /* refused, killed, failed or closed: nothing more */
};

/* Why a session was dropped: spreadd_input() returned -1. */
enum spreadd_err {
	SPREADD_E_NONE,
	/*
	 * type: not exactly one service bit (optionally with SELF_DISCARD),
	 * or exactly one of JOIN, LEAVE, KILL, plus the byte-order mark and
	 * nothing else (REJECT_MESS, GROUPS_MESS, the causes...).  EPROTO
	 */
	SPREADD_E_TYPE,
	/* sender: not this session's private group before its NUL.  EPROTO */
	SPREADD_E_SENDER,
	/*
	 * num_groups: a multicast's not 1..100, a join's or leave's not 1, a
	 * kill's not 0 or 1.  EBADMSG
	 */
	SPREADD_E_NGROUPS,
	/* hint: a bit outside 0x80ffff80, or half its mark.  EPROTO */
	SPREADD_E_HINT,
	/* data_len: negative, or not 0 for a join, leave or kill.  EBADMSG */
	SPREADD_E_DATALEN,
	/* 32 * num_groups + data_len over SPREAD_MAX_BODY (143152). EMSGSIZE */
	SPREADD_E_SIZE,
	/*
	 * a group name empty, with no NUL in its 32 bytes, or with a byte
	 * outside 0x24..0x7e (a multicast may also name a private group
	 * "#priv#daemon").  EBADMSG
	 */
	SPREADD_E_GROUP,
};

/* One client session. */
struct spreadd {
	const struct spreadd_conf *conf;
	void *arg; /* given to conf->claim */
	enum spreadd_state state;
	enum spreadd_err err; /* why the last -1 */
	unsigned invent_n, invent_k; /* the numbers of an invented name */
	/* From the hello: */
	uint8_t major, minor, patch; /* the client's version */
	uint8_t flags; /* bit 0: membership messages wanted; priority << 4 */
	int membership; /* flags bit 0: send it membership messages */
	int auth; /* the client has the auth step (>= 3.16.0) */
	int reply_patch; /* the accept has the patch byte (>= 3.15.0) */
	int claimed; /* the room holds name for this session */
	char name[SPREAD_MAX_PRIVATE + 1]; /* private name, maybe invented */
	char group[SPREAD_GROUP_SIZE]; /* "#name#daemon", once accepted */
	size_t group_len;
};

enum spreadd_kind {
	SPREADD_REPLY = 1, /* send reply: the auth offer */
	SPREADD_ACCEPT, /* send reply: the session is open (s->group) */
	SPREADD_REFUSE, /* send reply (maybe nothing), then close */
	SPREADD_MCAST, /* a multicast: req */
	SPREADD_JOIN, /* req.groups holds the group */
	SPREADD_LEAVE, /* req.groups holds the group */
	SPREADD_KILL, /* the client disconnects: close */
	SPREADD_CLOSED, /* spreadd_end() of an open session: as a kill */
};

/*
 * A client's request, or (filled by the room) a regular message to
 * deliver.  Pointers are views into the client's bytes.
 */
struct spreadd_req {
	uint32_t type; /* its type bits, mark cleared: a service bit and
			  maybe SPREAD_SELF_DISCARD, or JOIN, LEAVE, KILL */
	uint8_t hint[4]; /* as the client wrote them: passed on untouched */
	int mess_type; /* the signed 16 bits the hint carries */
	int big; /* the client wrote its integers big-endian */
	int ngroups;
	/*
	 * ngroups fields of 32 bytes.  Every name a multicast, join or leave
	 * names ends with a NUL inside its field, so (const char *)groups +
	 * 32 * i is a C string; what follows its NUL is passed on untouched.
	 * A kill's field is not looked at.
	 */
	const uint8_t *groups;
	const uint8_t *data;
	size_t len;
	size_t size; /* bytes the whole request takes */
};

struct spreadd_ev {
	enum spreadd_kind kind;
	int code; /* REFUSE: the Spread code sent (-5, -6, -7, -9), 0: none */
	size_t len; /* REPLY, ACCEPT, REFUSE: bytes of reply to send */
	uint8_t reply[SPREADD_REPLY_MAX];
	struct spreadd_req req; /* MCAST, JOIN, LEAVE, KILL */
};

/*
 * Start a session of conf (borrowed, as arg, for the session's life).
 * invent_n (0..9998, random in Spread) and invent_k (Spread's socket
 * number) make the name of a client that sends an empty one.  0, or -1
 * EINVAL if conf's daemon name or methods are not valid.
 */
int spreadd_init(struct spreadd *s, const struct spreadd_conf *conf, void *arg,
    unsigned invent_n, unsigned invent_k);

/*
 * Take what p[0..n) holds.  Returns the bytes taken (> 0) with *ev set;
 * 0 when more bytes are needed (or the session is done); -1 when a
 * request breaks the rules: s->err says which (spreadd_strerror), errno
 * is EPROTO, EBADMSG or EMSGSIZE, and the room drops the session without
 * sending anything (PROTOCOL.md 8).  -1 again for every later call.
 *
 * The set-up, in the order Spread checks it: a version below 3.1.0 is
 * refused (-7) after its two bytes; a name length over 10 (-5) after
 * the hello's header; a name with a byte outside 0x24..0x7e (-5), then
 * one conf->claim refuses (-6), once the whole hello is there.  An empty
 * name is invented (spreadd_invent) and claimed the same way.  A client
 * from 3.16.0 gets the offer (SPREADD_REPLY; with no method offered,
 * REFUSE with 00 f7), then the choice: its three slots up to the first
 * empty one, each a method offered (a method twice is fine); none, or
 * one not offered, is refused (-9).  An older client is accepted at once.
 */
ssize_t spreadd_input(struct spreadd *s, const uint8_t *p, size_t n,
    struct spreadd_ev *ev);

/*
 * The client's bytes stopped with p[0..n) not taken: eof 1 when it
 * closed its side, 0 when the room gave up waiting (Spread waits 1 s for
 * a hello).  Before the accept *ev is a SPREADD_REFUSE with what Spread
 * 5.0 sends then: -5 for a name cut short (with none of it there, only
 * at eof), -9 for an auth choice cut short (with none of it there, only
 * at eof), else nothing.  An open session gives SPREADD_CLOSED.  The
 * session is done.
 */
void spreadd_end(struct spreadd *s, const uint8_t *p, size_t n, int eof,
    struct spreadd_ev *ev);

/* What an error means, in a few words ("sender is not the session's"). */
const char *spreadd_strerror(enum spreadd_err e);

/*
 * The invented name "r<n>-<k>" cut to 9 characters into out (at least
 * SPREADD_INVENT_MAX + 1 bytes); returns its length.
 */
size_t spreadd_invent(char *out, unsigned n, unsigned k);

/* ------------------------------------------------------------------ */
/*
 * What the daemon sends, in byte order big (the daemon's own:
 * spread_host_big()) with that order's mark in the type.  Each returns
 * the bytes written, or -1 with EMSGSIZE when cap is too small, EINVAL
 * for a name that does not fit its 32-byte field (31 bytes at most).
 */

/*
 * A regular message: r->type (one service bit, maybe SELF_DISCARD; else
 * EINVAL), the sender's private group (zero-padded: not what followed the
 * NUL of the request's field), r's 0..100 groups, hint and data as the
 * sender wrote them.  Its size is r->size.
 */
ssize_t spreadd_put_msg(uint8_t *buf, size_t cap, int big, const char *sender,
    const struct spreadd_req *r);

/* A group id: the daemons' membership id (proc_id, time) and index. */
struct spreadd_gid {
	int32_t proc_id, time, index;
};

/* A set of members that went through a change together. */
struct spreadd_vs {
	const char *const *names; /* private groups */
	int count;
};

/* A regular membership message. */
struct spreadd_memb {
	uint32_t cause; /* SPREAD_CAUSED_BY_JOIN, _LEAVE, _DISCONNECT... */
	const char *group;
	struct spreadd_gid gid;
	const char *const *members; /* after the change, in canonical order */
	int nmembers;
	const struct spreadd_vs *vs; /* nvs sets */
	int nvs;
	int local; /* the receiver's set (its index in vs): network only */
};

/* Bytes a regular membership message of m takes. */
size_t spreadd_memb_size(const struct spreadd_memb *m);

/*
 * A regular membership message: REG_MEMB_MESS | m->cause (one of the
 * four, else EINVAL), the group in the name field, the members, then the
 * body: gid, the sets and the offset of set m->local.  For a network
 * change give the sets that came through it together (in the order of
 * their former membership ids) and the receiver's; for a join, leave or
 * disconnect spreadd_put_light() builds the one set.
 */
ssize_t spreadd_put_memb(uint8_t *buf, size_t cap, int big,
    const struct spreadd_memb *m);

/*
 * A join, leave or disconnect of one member: REG_MEMB_MESS | cause, the
 * members after the change, and the 56-byte body whose one set holds
 * only changed, at offset 0.
 */
ssize_t spreadd_put_light(uint8_t *buf, size_t cap, int big, uint32_t cause,
    const char *group, const struct spreadd_gid *gid,
    const char *const *members, int nmembers, const char *changed);

/*
 * The transitional signal: TRANSITION_MESS, no members, a body of the
 * group's old id (its last regular membership's).  60 bytes.
 */
ssize_t spreadd_put_transition(uint8_t *buf, size_t cap, int big,
    const char *group, const struct spreadd_gid *old);

/* The notice to a member that left: CAUSED_BY_LEAVE alone, no body. 48. */
ssize_t spreadd_put_self_leave(uint8_t *buf, size_t cap, int big,
    const char *group);

#endif
