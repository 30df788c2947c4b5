/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread client <-> daemon protocol (Spread 4.0 to 5.0), both
 * directions, so that the client programs (sp-join, sp-mcast) and a daemon
 * side (quilt-relay -s) share one codec.  Written from the protocol
 * description in shared/spread/PROTOCOL.md and the captures beside it; no
 * Spread code.
 *
 * A session opens with a hello (client), an authentication offer (daemon),
 * an authentication choice (client) and an accept or reject reply (daemon).
 * Then both directions carry messages: a 48-byte header whose integers are
 * in the sender's byte order (told by a marker in the type), then, for a
 * daemon's reject, the original type, then 32-byte group names, then data.
 *
 * Decoders work on the bytes that have arrived so far: they return the
 * bytes they take (> 0), 0 when more are needed, or -1 with errno EBADMSG
 * (malformed), EMSGSIZE (over a limit) or EPROTO (a value the protocol does
 * not allow).  Decoded messages are views into the caller's bytes.  Nothing
 * here allocates, prints or exits.
 */
#ifndef QUILT_SPREAD_H
#define QUILT_SPREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Type bits (PROTOCOL.md section 4). */
#define SPREAD_UNRELIABLE_MESS 0x00000001u
#define SPREAD_RELIABLE_MESS 0x00000002u
#define SPREAD_FIFO_MESS 0x00000004u
#define SPREAD_CAUSAL_MESS 0x00000008u
#define SPREAD_AGREED_MESS 0x00000010u
#define SPREAD_SAFE_MESS 0x00000020u
#define SPREAD_REGULAR_MESS 0x0000003fu
#define SPREAD_SELF_DISCARD 0x00000040u
#define SPREAD_CAUSED_BY_JOIN 0x00000100u
#define SPREAD_CAUSED_BY_LEAVE 0x00000200u
#define SPREAD_CAUSED_BY_DISCONNECT 0x00000400u
#define SPREAD_CAUSED_BY_NETWORK 0x00000800u
#define SPREAD_CAUSE_MASK 0x00000f00u
#define SPREAD_REG_MEMB_MESS 0x00001000u
#define SPREAD_TRANSITION_MESS 0x00002000u
#define SPREAD_MEMBERSHIP_MESS 0x00003f00u
#define SPREAD_JOIN_MESS 0x00010000u
#define SPREAD_LEAVE_MESS 0x00020000u
#define SPREAD_KILL_MESS 0x00040000u
#define SPREAD_REJECT_MESS 0x00400000u
#define SPREAD_ENDIAN_MARK 0x80000080u

/* Reply codes and the library's error codes (PROTOCOL.md 2.5). */
#define SPREAD_ACCEPT_SESSION 1
#define SPREAD_ILLEGAL_SPREAD (-1)
#define SPREAD_COULD_NOT_CONNECT (-2)
#define SPREAD_REJECT_QUOTA (-3)
#define SPREAD_REJECT_NO_NAME (-4)
#define SPREAD_REJECT_ILLEGAL_NAME (-5)
#define SPREAD_REJECT_NOT_UNIQUE (-6)
#define SPREAD_REJECT_VERSION (-7)
#define SPREAD_CONNECTION_CLOSED (-8)
#define SPREAD_REJECT_AUTH (-9)
#define SPREAD_ILLEGAL_SESSION (-11)
#define SPREAD_ILLEGAL_SERVICE (-12)
#define SPREAD_ILLEGAL_MESSAGE (-13)
#define SPREAD_ILLEGAL_GROUP (-14)
#define SPREAD_BUFFER_TOO_SHORT (-15)
#define SPREAD_GROUPS_TOO_SHORT (-16)
#define SPREAD_MESSAGE_TOO_LONG (-17)
#define SPREAD_NET_ERROR_ON_SESSION (-18)
#define SPREAD_SP_BUG (-19)
#define SPREAD_ILLEGAL_TIME (-20)

/* Limits (PROTOCOL.md section 7). */
#define SPREAD_DEFAULT_PORT 4803
#define SPREAD_HEADER_SIZE 48
#define SPREAD_GROUP_SIZE 32 /* a name field; names are 1..31 bytes */
#define SPREAD_MAX_PRIVATE 10 /* private name */
#define SPREAD_MAX_PROC 19 /* daemon name */
#define SPREAD_MAX_GROUPS 100 /* destinations of one message */
/* 32 * groups + data: what every daemon version delivers without dying. */
#define SPREAD_MAX_BODY 143152
#define SPREAD_AUTH_SLOTS 3
#define SPREAD_AUTH_NAME 30
#define SPREAD_AUTH_CHOICE (SPREAD_AUTH_SLOTS * SPREAD_AUTH_NAME)
#define SPREAD_MAX_AUTH_LIST 90
/* hello: 3 version bytes, flags, length, name. */
#define SPREAD_HELLO_MAX (5 + SPREAD_MAX_PRIVATE)
/* accept: code, 3 version bytes, length, a name of up to 31 bytes. */
#define SPREAD_ACCEPT_MAX (5 + SPREAD_GROUP_SIZE - 1)

/* Hello flags. */
#define SPREAD_HELLO_MEMBERSHIP 0x01
#define SPREAD_HELLO_PRIORITY 0x10

/*
 * The Spread name of a reply or error code ("REJECT_AUTH",
 * "CONNECTION_CLOSED"...), or NULL for a code Spread does not define.
 */
const char *spread_errname(int code);

/* What a code means, in a few words ("private name already in use"). */
const char *spread_errtext(int code);

/* ------------------------------------------------------------------ */
/* Daemon names. */

struct spread_addr {
	int is_unix; /* 1: Unix socket at path; 0: TCP host:port */
	unsigned port;
	char host[256]; /* TCP: as written, without brackets */
	char path[108]; /* Unix: "/tmp/PORT" */
};

/*
 * Parse a daemon name as Spread reads it: "PORT" is the Unix socket
 * /tmp/PORT, "PORT@HOST" is TCP to HOST (a name, an IPv4 or an IPv6
 * literal written without brackets); NULL or "" is "4803".  PORT is
 * 1..65535.  0 on success, -1 with EINVAL (Spread's ILLEGAL_SPREAD).
 */
int spread_addr_parse(const char *name, struct spread_addr *a);

/* ------------------------------------------------------------------ */
/* Names. */

/* A private name: 1..10 bytes, each 0x24..0x7e.  1 if valid, else 0. */
int spread_private_valid(const char *s, size_t len);

/* A group name to join or leave: 1..31 bytes, each 0x24..0x7e. */
int spread_group_valid(const char *s, size_t len);

/*
 * A private group "#priv#daemon": priv 1..10 and daemon 1..19 bytes of
 * 0x24..0x7e.  1 if it is one, else 0.
 */
int spread_private_group_valid(const char *s, size_t len);

/* A multicast destination: a group name or a private group. */
int spread_dest_valid(const char *s, size_t len);

/*
 * The length of a 32-byte name field: up to its first NUL, at most 32
 * (the daemon accepts and echoes names with no NUL).
 */
size_t spread_name_len(const uint8_t field[SPREAD_GROUP_SIZE]);

/* ------------------------------------------------------------------ */
/* Connection set-up. */

struct spread_hello {
	uint8_t major, minor, patch;
	int has_patch; /* decoded: the version carries a patch byte */
	uint8_t flags; /* SPREAD_HELLO_MEMBERSHIP | priority << 4 */
	uint8_t name_len; /* as announced: 0 asks the daemon for one */
	char name[256]; /* NUL-terminated copy of the name bytes */
};

/* Whether a client of this version sends a patch byte (> 3.14). */
int spread_version_has_patch(unsigned major, unsigned minor);
/* Whether a client of this version has the auth step (>= 3.16.0). */
int spread_version_has_auth(unsigned major, unsigned minor, unsigned patch);
/* Whether the accept reply to it has a patch byte (>= 3.15.0). */
int spread_version_reply_patch(unsigned major, unsigned minor, unsigned patch);

/*
 * Encode a hello (version h->major.minor.patch, with the patch byte when
 * the version has one; flags; the name of h->name_len bytes, at most 10).
 * Returns the bytes written or -1 (EMSGSIZE: no room or name too long).
 */
ssize_t spread_hello_encode(uint8_t *buf, size_t cap,
    const struct spread_hello *h);

/*
 * Decode a hello (daemon side).  A version below 3.1.0 decodes as the
 * two version bytes alone (the daemon reads no more).  A name length
 * above 10 or a name byte outside 0x24..0x7e is decoded all the same:
 * judging it is the daemon's job.
 */
ssize_t spread_hello_decode(const uint8_t *p, size_t n, struct spread_hello *h);

/*
 * The daemon's authentication offer: a length byte then the method
 * names, each followed by a space.  A negative length byte is an error
 * code instead (the connection is refused).
 */
struct spread_offer {
	int code; /* 0, or the negative error code sent */
	size_t len;
	char methods[SPREAD_MAX_AUTH_LIST + 1]; /* "NULL " */
};

/* Encode the offer of a method list ("NULL "); -1 EMSGSIZE if too long. */
ssize_t spread_offer_encode(uint8_t *buf, size_t cap, const char *methods);

/*
 * Decode an offer (client side).  A negative byte decodes as one byte
 * with o->code set.  A length above 90: EPROTO.
 */
ssize_t spread_offer_decode(const uint8_t *p, size_t n, struct spread_offer *o);

/* Whether the offered list holds the method name. */
int spread_offer_has(const struct spread_offer *o, const char *method);

/*
 * The client's choice: exactly 90 bytes, three slots of 30 bytes each
 * holding a method name, NUL padded.  Encode up to 3 names (each 1..29
 * bytes); returns 90 or -1 (EMSGSIZE).
 */
ssize_t spread_choice_encode(uint8_t *buf, size_t cap, const char *const *m,
    int count);

/* The choice decoded: names in order up to the first empty slot. */
struct spread_choice {
	int count;
	char method[SPREAD_AUTH_SLOTS][SPREAD_AUTH_NAME + 1];
};

ssize_t spread_choice_decode(const uint8_t *p, size_t n,
    struct spread_choice *c);

/*
 * The daemon's reply: 0x01, the daemon's version (the patch byte only for
 * clients >= 3.15.0), the length of the private group and the name, with
 * no NUL.  Or one negative error byte.
 */
struct spread_accept {
	int code; /* SPREAD_ACCEPT_SESSION or an error code */
	uint8_t major, minor, patch;
	int has_patch;
	size_t len;
	char private_group[SPREAD_GROUP_SIZE]; /* NUL-terminated */
};

/* Encode an accept (a->code is ignored); -1 EMSGSIZE if the name > 31. */
ssize_t spread_accept_encode(uint8_t *buf, size_t cap,
    const struct spread_accept *a);

/*
 * Decode a reply; with_patch says whether the daemon sends the patch
 * byte (whether the client's version is >= 3.15.0).  A code other than 1
 * decodes as one byte with a->code set.  A negative version byte or a
 * name length of 32 or more: EPROTO.
 */
ssize_t spread_accept_decode(const uint8_t *p, size_t n, int with_patch,
    struct spread_accept *a);

/* ------------------------------------------------------------------ */
/* Messages. */

struct spread_header {
	uint32_t type; /* the type bits, the byte-order marker cleared */
	uint8_t name[SPREAD_GROUP_SIZE]; /* raw field */
	int32_t num_groups;
	uint32_t hint; /* as its first sender wrote it, marker included */
	int32_t data_len;
	int big; /* the header's integers were big-endian */
	int hint_big; /* the hint was big-endian */
};

/* 1 on a big-endian host. */
int spread_host_big(void);

/* Every byte of a name is one Spread allows (0x24..0x7e). */
int spread_name_legal(const char *s, size_t len);

/* v at p, four bytes, big-endian or little. */
void spread_put32(uint8_t *p, uint32_t v, int big);

/*
 * The hint of a message type: ((type << 8) & 0xffff00) plus the marker
 * of byte order big (0 or 1).
 */
uint32_t spread_hint(int mess_type, int big);

/* The signed 16-bit message type a hint carries. */
int spread_mess_type(uint32_t hint);

/*
 * Decode a 48-byte header.  The byte order comes from the marker in type
 * (both bits set: little-endian, both clear: big-endian; one alone:
 * EBADMSG); the hint's order from its own marker (anything but both bits
 * set counts as big-endian, as Spread's library reads it).  Returns 48,
 * 0 when fewer bytes are there, or -1.
 */
ssize_t spread_header_decode(const uint8_t *p, size_t n,
    struct spread_header *h);

/* Write a header in byte order h->big (hint in h->hint_big). */
void spread_header_encode(uint8_t p[SPREAD_HEADER_SIZE],
    const struct spread_header *h);

/* A whole message: a view into the bytes it was decoded from. */
struct spread_msg {
	struct spread_header h;
	int has_old_type; /* a reject: the original type follows */
	uint32_t old_type; /* marker cleared */
	const uint8_t *groups; /* num_groups fields of 32 bytes */
	const uint8_t *data; /* data_len bytes */
	size_t size; /* bytes the whole message takes */
};

/*
 * Decode one message.  Negative counts: EBADMSG.  A message of more than
 * max bytes: EMSGSIZE (so a reader's buffer is bounded).  A reject
 * (REJECT_MESS without a service bit) carries old_type; a message a client
 * sent with REJECT_MESS set next to a service bit comes back unchanged and
 * without it (PROTOCOL.md 6.3).
 */
ssize_t spread_msg_decode(const uint8_t *p, size_t n, size_t max,
    struct spread_msg *m);

/*
 * Encode a whole message from m (header, old_type if has_old_type, the
 * groups and data m points at).  Returns m's size or -1 EMSGSIZE.
 */
ssize_t spread_msg_encode(uint8_t *buf, size_t cap, const struct spread_msg *m);

/*
 * Client requests, in this host's byte order.  sender is the session's
 * private group.
 *
 * A multicast: service is exactly one of the six service bits, optionally
 * with SPREAD_SELF_DISCARD (else EINVAL, Spread's ILLEGAL_SERVICE); 1..100
 * destinations, each a group or private group name (else EINVAL,
 * ILLEGAL_GROUP); 32 * groups + len <= SPREAD_MAX_BODY (else EMSGSIZE,
 * MESSAGE_TOO_LONG).  Returns the bytes written, or -1 (EMSGSIZE also when
 * cap is too small: check spread_mcast_size first).
 */
size_t spread_mcast_size(int ngroups, size_t len);
ssize_t spread_mcast_encode(uint8_t *buf, size_t cap, const char *sender,
    uint32_t service, const char *const *groups, int ngroups, int mess_type,
    const void *data, size_t len);

/* Join, leave (one group name, 1..31 legal bytes) and disconnect. */
#define SPREAD_REQUEST_SIZE (SPREAD_HEADER_SIZE + SPREAD_GROUP_SIZE)
ssize_t spread_join_encode(uint8_t *buf, size_t cap, const char *sender,
    const char *group);
ssize_t spread_leave_encode(uint8_t *buf, size_t cap, const char *sender,
    const char *group);
ssize_t spread_kill_encode(uint8_t *buf, size_t cap, const char *sender);

/* ------------------------------------------------------------------ */
/* Classification of a received message (PROTOCOL.md section 4). */

int spread_is_regular(uint32_t type); /* a service bit, no REJECT */
int spread_is_membership(uint32_t type); /* 0x3f00, no REJECT */
int spread_is_reg_memb(uint32_t type);
int spread_is_transition(uint32_t type);
int spread_is_self_leave(uint32_t type); /* LEAVE cause alone */
int spread_is_reject(uint32_t type);

/*
 * The service of a type: "unreliable".."safe" when exactly one service
 * bit is set, else NULL.
 */
const char *spread_service_name(uint32_t type);

/* A service by name ("agreed"); 0 if unknown. */
uint32_t spread_service_parse(const char *s);

/*
 * The reason of a membership message: "join", "leave", "disconnect",
 * "network", "transition", "self-leave", or NULL.
 */
const char *spread_memb_reason(uint32_t type);

/* ------------------------------------------------------------------ */
/* Membership bodies, in the daemon's byte order (the header's). */

struct spread_memb {
	int32_t proc_id, time, index; /* the group id */
	int has_gid; /* regular membership or transitional */
	uint32_t num_vs_sets;
	uint32_t local_offset; /* bytes from the first vs_set */
	const uint8_t *vs; /* the vs_sets, vs_len bytes */
	size_t vs_len;
	int big;
};

/*
 * Decode the body of a membership message m.  A regular membership:
 * group id, set count, local offset, then the sets (each a count and that
 * many 32-byte names), which must fill the body and the offset must name
 * one of them.  A transitional signal: the group id alone.  A self-leave:
 * no body.  0 on success, -1 EBADMSG.
 */
int spread_memb_decode(const struct spread_msg *m, struct spread_memb *b);

/*
 * Walk the vs_sets: *off starts at 0.  Returns 1 with the set's byte
 * offset in *at, its member count and names, 0 at the end.
 */
int spread_vs_next(const struct spread_memb *b, size_t *off, size_t *at,
    uint32_t *count, const uint8_t **names);

/*
 * Encode a membership body (daemon side) in byte order b->big: nothing
 * when !b->has_gid (a self-leave); the group id alone when b->vs is NULL
 * (a transitional signal); else the group id, num_vs_sets, local_offset
 * and the vs_len bytes of sets at b->vs (built with spread_vs_encode).
 * Returns the bytes or -1 EMSGSIZE.
 */
ssize_t spread_memb_encode(uint8_t *buf, size_t cap,
    const struct spread_memb *b);

/* One vs_set: the count, then count 32-byte names from names. */
ssize_t spread_vs_encode(uint8_t *buf, size_t cap, uint32_t count,
    const uint8_t *names, int big);

/* ------------------------------------------------------------------ */
/* Requests written as text: what sp-join -i reads. */

/*
 * A record is one of
 *	join GROUP
 *	leave GROUP
 *	msg SERVICE TYPE DEST[,DEST...] [TEXT]
 * In the text form (parts 0) the words are separated by one space each
 * and TEXT is the rest of the record, any bytes, spaces included; with
 * nothing after DEST the text is empty.  In the parts form (parts 1) the
 * record is the body of a netstring message whose parts are the words,
 * TEXT one part of any bytes.  SERVICE is unreliable, reliable, fifo,
 * causal, agreed or safe, optionally followed by "+self-discard"; TYPE a
 * decimal -32768..32767; GROUP 1..31 bytes of 0x24..0x7e; a DEST a group
 * or a private group, 1..100 of them, and 32 x DESTs + TEXT at most
 * SPREAD_MAX_BODY.  An empty record (no byte, or no part) is
 * SPREAD_REQ_NONE.
 */
enum spread_req_kind {
	SPREAD_REQ_NONE,
	SPREAD_REQ_JOIN,
	SPREAD_REQ_LEAVE,
	SPREAD_REQ_MSG,
};

struct spread_req {
	enum spread_req_kind kind;
	uint32_t service; /* msg: one service bit, maybe SELF_DISCARD */
	int mess_type;
	int ngroups; /* join and leave: 1 */
	char groups[SPREAD_MAX_GROUPS][SPREAD_GROUP_SIZE]; /* NUL-terminated */
	const char *group[SPREAD_MAX_GROUPS]; /* groups[i], to encode */
	const char *data; /* msg: TEXT, a view into the record (never NULL) */
	size_t len;
	char why[320]; /* after a failure: what is wrong, in a line */
};

/*
 * Parse the record p[0..n) into r.  0 on success; -1 with errno EINVAL
 * (not the grammar, or a name, service, type or count of destinations
 * Spread refuses) or EMSGSIZE (TEXT too long for its destinations), r->why
 * saying which in Spread's words ("group \"a b\": ILLEGAL_GROUP: ...").
 */
int spread_req_parse(const char *p, size_t n, int parts, struct spread_req *r);

/* ------------------------------------------------------------------ */
/* A client session over a socket (blocking set-up with a deadline). */

struct spread_session {
	int fd;
	struct spread_accept reply; /* daemon version, private group */
};

/*
 * Connect to a, send the hello (version 5.0.1, flags, private name, which
 * may be empty), agree on NULL authentication and read the reply, all
 * within timeout_ms.  0 on success with s->fd non-blocking.  On failure
 * -1 with *code a Spread code (COULD_NOT_CONNECT with errno: ETIMEDOUT,
 * ECONNREFUSED, ENOENT..., or ENXIO for a host name that did not
 * resolve; CONNECTION_CLOSED with errno 0 for a close, EPROTO for
 * garbage; or the daemon's rejection code) and detail pointing at a few
 * words of explanation.
 */
int spread_session_open(struct spread_session *s, const struct spread_addr *a,
    const char *name, int flags, int timeout_ms, int *code,
    const char **detail);

/* What a failed set-up was, for the program to pick its exit status. */
enum spread_fault {
	SPREAD_FAULT_REFUSED, /* refused, unreachable, closed, or rejected */
	SPREAD_FAULT_RESOLVE, /* the daemon's host name did not resolve */
	SPREAD_FAULT_TIMEOUT, /* no connection or answer within the timeout */
	SPREAD_FAULT_RESOURCE, /* out of fds, memory or buffers on our side */
	SPREAD_FAULT_PROTOCOL, /* the daemon's bytes are not the protocol */
};

struct spread_setup_err {
	enum spread_fault fault;
	const char *name; /* Spread's name of the code, NULL if it has none */
	char text[512]; /* "REJECT_NOT_UNIQUE: private name already in..." */
};

/*
 * Describe a failure of spread_session_open from its code and detail and
 * the errno it left (err): e->text is what to write after the daemon's
 * name ("COULD_NOT_CONNECT: /tmp/4803: No such file or directory",
 * "the daemon answered with unknown code -10"), e->fault what happened.
 */
void spread_setup_error(struct spread_setup_err *e, const struct spread_addr *a,
    int code, int err, const char *detail);

#endif
