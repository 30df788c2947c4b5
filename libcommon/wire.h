/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/* clang-format off */
/*
 * The quilt protocol on top of frames.  Every frame is a message
 * [destination, cmd, args...]; destination is a node name, "all", or empty
 * for the peer at the other end.  quilt-protocol(5) is the reference.
 *
 *   hello  "quilt" "VMIN-VMAX" key=value...  first frame each way
 *   confirm TAG HEADER                       sealed: the key confirmation
 *   msg    part...                           numbered data, acknowledged
 *   ack    N                                 the peer's first N are written
 *   ping   SEQ PAYLOAD  ->  pong SEQ NODE HOPS PAYLOAD
 *   bye                                      no more msg from this side
 *   nop                                      nothing: keeps a quiet
 *                                            connection under the
 *                                            listener's idle time
 *   exit   STATUS                            the -e handler's exit status
 *   error  TEXT [CODE]                       then the sender closes; CODE
 *                                            during the handshake
 *
 * A relay (quilt-relay) says so in its hello (relay=INSTANCE) and tells a
 * sender of -d/-a what became of its messages end to end:
 *   done   NODE K...    NODE (or "all": every node) wrote messages K...
 *   lost   K NODE...    message K could not reach those nodes
 * Between relays every frame is numbered; see quilt-protocol(5).
 */
/* clang-format on */
#ifndef QUILT_WIRE_H
#define QUILT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"

#define WIRE_PROTO "quilt"
#define WIRE_VMIN 1
#define WIRE_VMAX 1
#define WIRE_NODE_MAX 64
#define WIRE_SID_LEN 16
/* A relay's instance id: up to 32 lowercase hex digits. */
#define WIRE_INST_MAX 32
/* Frames before the hello is done are small. */
#define WIRE_HELLO_MAX 1024
/* The longest idle time a hello may state, in ms: a day. */
#define WIRE_IDLE_MAX 86400000

enum wire_cmd {
	W_UNKNOWN,
	W_HELLO,
	W_MSG,
	W_ACK,
	W_PING,
	W_PONG,
	W_BYE,
	W_EXIT,
	W_ERROR,
	W_SERVER_CONNECT,
	W_ROUTE,
	W_DONE,
	W_LOST,
	W_DUPLICATE,
	W_NOP,
	W_ALIVE,
};

/* A decoded frame: views into its body. */
struct wire_msg {
	enum wire_cmd cmd;
	const char *dest, *name, *args;
	size_t destlen, namelen, argslen;
};

/*
 * Split a frame body into destination, command and the rest (args, still a
 * sequence of parts, not checked here).  0, or -1 with EBADMSG when the body
 * does not start with two parts.
 */
int wire_decode(const char *body, size_t len, struct wire_msg *m);

/* The start of the body of a msg frame for the peer at the other end. */
#define WIRE_MSG_PREFIX "0:,3:msg,"
#define WIRE_MSG_PREFIX_LEN 9

/*
 * A msg for the peer at the other end, the hot path: the body of parts
 * after the prefix, or NULL when the frame is something else.
 */
static inline const char *
wire_is_msg(const char *body, size_t len, size_t *argslen)
{
	if (len < WIRE_MSG_PREFIX_LEN ||
	    memcmp(body, WIRE_MSG_PREFIX, WIRE_MSG_PREFIX_LEN) != 0)
		return (NULL);
	*argslen = len - WIRE_MSG_PREFIX_LEN;
	return (body + WIRE_MSG_PREFIX_LEN);
}

/*
 * A msg for any destination, [DEST, "msg", ...], known without a full
 * decode (a relay passes a client's on as it is): the size of the head
 * "N:DEST,3:msg," before the args, or 0 when the frame is something else.
 * A destination longer than a node name is left to wire_decode.
 */
static inline size_t
wire_msg_head(const char *body, size_t len)
{
	size_t d, i;

	if (len < WIRE_MSG_PREFIX_LEN || (unsigned)(body[0] - '0') > 9)
		return (0);
	if (body[1] == ':' && body[0] != '0') {
		d = body[0] - '0';
		i = 2;
	} else if ((unsigned)(body[1] - '0') <= 9 && body[0] != '0' &&
	    body[2] == ':') {
		d = (body[0] - '0') * 10 + (body[1] - '0');
		i = 3;
	} else {
		return (body[0] == '0' && body[1] == ':' &&
			    memcmp(body, WIRE_MSG_PREFIX,
				WIRE_MSG_PREFIX_LEN) == 0 ?
			WIRE_MSG_PREFIX_LEN :
			0);
	}
	i += d;
	if (d > WIRE_NODE_MAX || len < i + 7 || body[i] != ',' ||
	    memcmp(body + i + 1, "3:msg,", 6) != 0)
		return (0);
	return (i + 7);
}

/*
 * Write the frame ["", "msg", p[0..len)] at out (wire_msg1_size(0, len)
 * bytes); returns the end.
 */
static inline char *
wire_put_msg1_fast(char *out, const char *p, size_t len)
{
	size_t body = WIRE_MSG_PREFIX_LEN + frame_size(len);

	out += frame_put_hdr(out, body);
	memcpy(out, WIRE_MSG_PREFIX, WIRE_MSG_PREFIX_LEN);
	out += WIRE_MSG_PREFIX_LEN;
	out += frame_put_hdr(out, len);
	memcpy(out, p, len);
	out += len;
	out[0] = ',';
	out[1] = ',';
	return (out + 2);
}

/*
 * The same for a body of parts (a relay passing a message to a plain
 * listener): ["", "msg", parts...] at out, wire_msgn_size(0, len) bytes.
 */
static inline char *
wire_put_msgn_fast(char *out, const char *parts, size_t len)
{
	out += frame_put_hdr(out, WIRE_MSG_PREFIX_LEN + len);
	memcpy(out, WIRE_MSG_PREFIX, WIRE_MSG_PREFIX_LEN);
	memcpy(out + WIRE_MSG_PREFIX_LEN, parts, len);
	out[WIRE_MSG_PREFIX_LEN + len] = ',';
	return (out + WIRE_MSG_PREFIX_LEN + len + 1);
}

/* Body bytes of a frame [dest, "msg", one part of len bytes]. */
size_t wire_msg1_body(size_t destlen, size_t len);
/* Whole frame bytes of the same. */
size_t wire_msg1_size(size_t destlen, size_t len);
char *wire_put_msg1(char *out, const char *dest, size_t destlen, const char *p,
    size_t len);

/* The same for [dest, "msg", parts...] where parts is a body of parts. */
size_t wire_msgn_body(size_t destlen, size_t partslen);
size_t wire_msgn_size(size_t destlen, size_t partslen);
char *wire_put_msgn(char *out, const char *dest, size_t destlen,
    const char *parts, size_t partslen);

/*
 * A control frame ["", cmd, args...] from up to 6 string arguments (NULL
 * ends them) and, optionally, one binary last part.  Returns its size;
 * writes it only when it fits in cap.
 */
size_t wire_put_ctl(char *out, size_t cap, const char *cmd,
    const char *const *args, const void *bin, size_t binlen);

/* The same for [dest, cmd, args...]: a ping for a node of a mesh. */
size_t wire_put_ctl_to(char *out, size_t cap, const char *dest, const char *cmd,
    const char *const *args, const void *bin, size_t binlen);

/*
 * What wire_get_hello found wrong in a hello, so that whoever refuses it
 * can say which field it was.
 */
enum wire_hello_fault {
	WH_OK,
	WH_PROTO, /* not a hello of the quilt protocol */
	WH_VERSION, /* the version range */
	WH_NODE,
	WH_SESSION,
	WH_MAX,
	WH_SEALED, /* the sealed flag */
	WH_KX, /* sealed without a key exchange, or a malformed one */
	WH_FROM,
	WH_RESUME,
	WH_RELAY,
	WH_IDLE,
	WH_PARTS, /* parts that do not fill the frame */
};

struct wire_hello {
	unsigned vmin, vmax;
	char node[WIRE_NODE_MAX + 1];
	unsigned char sid[WIRE_SID_LEN];
	uint64_t maxmsg;
	int sealed;
	/* Sender: how many of its messages the listener has acknowledged
	 * ("from", where it resends from if the session is unknown).
	 * Listener: how many messages of the session it has taken ("resume",
	 * where the sender goes on), and whether a handler answers.
	 * -1 when absent. */
	int64_t from, resume;
	int handler;
	/* Sealed: our ephemeral X25519 public key, 64 hex digits, or "". */
	char kx[2 * 32 + 1];
	/* A relay (quilt-relay's children): its instance id, hex, or "". */
	char relay[WIRE_INST_MAX + 1];
	/* Listener: the milliseconds of silence after which it closes a
	 * connection (its -i), so that the sender keeps a quiet one alive
	 * with nop frames; 0 when absent (no limit). */
	uint64_t idle;
	/* After wire_get_hello failed: what was wrong. */
	enum wire_hello_fault fault;
};

/* Encode a hello frame into out (WIRE_HELLO_MAX bytes); returns its size. */
size_t wire_put_hello(char *out, const struct wire_hello *h);

/*
 * Decode the args of a hello; -1 with EPROTO when it is not a quilt hello
 * or a field is missing or malformed, h->fault saying which.  Unknown keys
 * are ignored (later versions).
 */
int wire_get_hello(const struct wire_msg *m, struct wire_hello *h);

/* What a fault is, for a message: "the session field is missing or ...". */
const char *wire_hello_fault_str(enum wire_hello_fault f);

/*
 * Why a listener refuses a peer during the handshake: the CODE of its error
 * frame ["", "error", TEXT, CODE], so that the client knows a wrong key from
 * a protocol fault or a full listener without reading TEXT, which is for
 * people.  quilt-protocol(5) lists them.  An error frame without a code
 * (after the handshake), or with one this version does not know, is
 * WR_NONE.
 */
enum wire_refusal {
	WR_NONE,
	WR_HELLO, /* "hello": not a quilt hello, or a field malformed */
	WR_VERSION, /* "version": no common version, or a malformed range */
	WR_SIZE, /* "size": no message limit, or one under 64 */
	WR_SESSION, /* "session": no session id, or a malformed one */
	WR_SEALED, /* "sealed": the peer is sealed, the listener is not */
	WR_PLAIN, /* "plain": the listener is sealed, the peer is not */
	WR_CONFIRM, /* "confirm": not a key confirmation */
	WR_AUTH, /* "auth": the confirmation checks with none of its keys */
	WR_FULL, /* "full": every session of its table is live */
	WR_BUSY, /* "busy": out of memory, for now */
};

/* The code that refuses a hello with that fault. */
enum wire_refusal wire_hello_fault_code(enum wire_hello_fault f);

/* A code's name on the wire ("" for WR_NONE). */
const char *wire_refusal_name(enum wire_refusal r);

/*
 * How a refusal's TEXT is shown, by both ends: after this lead, which is
 * "authentication failed: " for WR_AUTH (the class a reader must know,
 * whatever the peer's words) and "" for the others, whose TEXT says it all.
 */
const char *wire_refusal_lead(enum wire_refusal r);

/*
 * An error frame ["", "error", TEXT, CODE] (without CODE for WR_NONE):
 * its size; written only when it fits in cap.
 */
size_t wire_put_error(char *out, size_t cap, const char *text,
    enum wire_refusal code);

/*
 * The parts of an error frame: its TEXT (empty when it has none) and the
 * code of its CODE part.  -1 with EPROTO when m is not an error.
 */
int wire_get_error(const struct wire_msg *m, const char **text, size_t *len,
    enum wire_refusal *code);

/*
 * The key confirmation of a sealed handshake: ["", "confirm", TAG, HEADER]
 * in hex.  wire_put_confirm returns the frame's size (out has
 * WIRE_HELLO_MAX bytes); wire_get_confirm 0, or -1 with EPROTO.
 */
#define WIRE_TAGLEN 32
#define WIRE_STREAMHDR 24
size_t wire_put_confirm(char *out, const unsigned char tag[WIRE_TAGLEN],
    const unsigned char hdr[WIRE_STREAMHDR]);
int wire_get_confirm(const struct wire_msg *m, unsigned char tag[WIRE_TAGLEN],
    unsigned char hdr[WIRE_STREAMHDR]);

/* The highest version both ranges share, or 0 for none. */
unsigned wire_version(const struct wire_hello *a, const struct wire_hello *b);

/* Node names: [A-Za-z0-9._-]{1,64}, never "all". */
int wire_node_ok(const char *s, size_t len);

/* Instance ids: [0-9a-f]{1,32}. */
int wire_inst_ok(const char *s, size_t len);

/*
 * Message numbers as done and lost frames carry them: "K", or a range
 * "FIRST-LAST" with FIRST <= LAST (numbers mostly finish in order).
 * wire_get_range: 0, or -1 when the part is neither or a number is over
 * max.  wire_put_range writes one at out (at most WIRE_RANGE_MAX bytes, no
 * NUL) and returns its length: "K" when first == last.
 */
#define WIRE_RANGE_MAX 41
int wire_get_range(const char *p, size_t n, uint64_t max, uint64_t *first,
    uint64_t *last);
size_t wire_put_range(char *out, uint64_t first, uint64_t last);

/* A default node name from the host name; out has WIRE_NODE_MAX + 1. */
void wire_default_node(char *out);

#endif
