/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: transport's protocol engine: one connection over datagrams, as a
 * state machine apart from sockets and clocks.  It is fed datagrams (bytes)
 * and the time (a monotonic count of microseconds the caller reads), and
 * gives datagrams to send, messages received and its next deadline.  It
 * never calls the network or the clock, never prints and never exits.
 *
 * Two channels between the ends, as legume promised and ENet does:
 *   reliable    a stream of messages, delivered exactly once and in order,
 *               as TCP carries quilt frames: quilt-listen and quilt-send run
 *               the quilt protocol (hello, msg, ack, bye...) over it as over
 *               TCP.  Segments of the stream are resent on loss (SACK-style
 *               evidence, a time threshold, or the retransmission timeout of
 *               RFC 6298); a message larger than a datagram spans segments,
 *               and a lost segment is resent alone.
 *   unreliable  whole messages that may be lost, and are never duplicated,
 *               corrupted or delivered out of order (a late one is dropped).
 *               One over a datagram is split into fragments; a message that
 *               loses a fragment is dropped whole.
 *
 * Congestion control is NewReno's (slow start, halving on loss once per
 * round trip, one segment after a timeout), in bytes; flow control is a
 * window the receiver advertises, so a reader that stalls stops the writer
 * (udp_send says ENOBUFS) and bounds the memory of both.
 *
 * quilt-protocol(5) describes the datagrams; in short (big-endian):
 *
 *   every datagram   byte 0: version (high 4 bits, 1) and type (low 4)
 *                    bytes 1-4: the receiver's connection id (0: none yet)
 *   1 CONNECT   client id[4], max message[4], max datagram[2], first
 *               packet number[4], first stream offset[4], window[4],
 *               cookie[20], hello length[2], hello, zeros: always exactly
 *               UDP_CONNECT_SIZE bytes
 *   2 COOKIE    cookie[20]: "ask again with this" (25 bytes)
 *   3 ACCEPT    listener id, max message, max datagram, first packet
 *               number, first stream offset, window, hello length, hello
 *   4 REJECT    reason (6 bytes)
 *   5 DATA      bytes 5-8 packet number (low 32 bits), then frames; sealed,
 *               the frames are AEAD ciphertext and a 16-byte tag
 *   6 ABORT     reason: a client that refuses the listener's hello, before
 *               it has keys (6 bytes)
 *   frames: ACK largest[4] delay[2] bitmap[8] cumulative[4] window[4],
 *           STREAM offset[4] length[2] bytes, UMSG seq[4] length[2] bytes,
 *           UFRAG seq[4] total[4] size[2] index[4] bytes, PING, CLOSE
 *           reason[1], PADDING (the rest).
 * On the stream each message is a length (LEB128, at most 4 bytes) and its
 * bytes.  Packet numbers, stream offsets and unreliable sequence numbers
 * are 64-bit inside and their low 32 bits on the wire, rebuilt around the
 * expected value (serial-number arithmetic), so they wrap.
 *
 * Handshake (no amplification, no state for spoofed sources): the client
 * sends CONNECT, padded to UDP_CONNECT_SIZE; a listener that has never
 * heard of it answers with udp_listen, which allocates nothing: a COOKIE
 * (a MAC, under a secret the listener rotates, over the source address
 * and port, the client id and a coarse time), or REJECT.  The client sends
 * CONNECT again with the cookie; once it checks, the program sees the
 * client's hello and accepts (udp_accept: ACCEPT with its own hello) or
 * rejects (udp_reject: REJECT with a reason).  Every reply is smaller than
 * the CONNECT it answers.  The hellos are opaque here: quilt's hello frames,
 * checked by the program as over TCP.  Sealed (-k), the program derives the
 * keys from the hellos as over TCP (seal.h: seal_derive, seal_dg_new) and
 * hands them in: every DATA datagram after the handshake is then sealed
 * with crypto_aead_xchacha20poly1305_ietf, its 64-bit packet number the
 * nonce, its header and the parameters of CONNECT and ACCEPT (bytes 5-26 of
 * each: the hellos are in the keys, these in every seal, so nothing of the
 * handshake can be altered on the way) the additional data, and a replay
 * window of 1024 packets: a replayed, forged or truncated datagram is
 * dropped and counted.
 * A client that finds the listener's confirmation wrong says ABORT (key)
 * in the clear; a listener honours it only before the client's first
 * authenticated datagram.
 *
 * Bounds, per connection (every one a parameter, see udp_params):
 *   reliable messages held until acknowledged  sndbuf bytes, or one
 *                                              message alone when larger
 *   reliable bytes received, not yet taken     the receive window: rcvbuf,
 *                                              or one message when larger
 *   unreliable queued to send / received       usndbuf / urcvbuf, or one
 *                                              message alone
 *   an unreliable message being reassembled    maxmsg (one at a time)
 *   packets and segments in flight             flight (each ~40 bytes)
 *   gaps in the reliable stream                UDP_GAPS_MAX ranges
 *   a message across the end of a ring         copied once: maxmsg
 * Each ring is a power of two, so an allocation is at most twice its bound.
 *
 * A program's loop.  Client: udp_connect; then, until it is dead, poll its
 * socket until udp_deadline; udp_input each datagram; in UDP_ACCEPTED check
 * udp_peer_hello as a TCP hello (sealed: seal_derive over both hellos,
 * seal_check the listener's confirmation) and udp_start(c, seal_dg_new(s))
 * or udp_abort(c, UDP_R_KEY); udp_send what it has (ENOBUFS: stop reading
 * input), udp_recv what came; udp_output until 0 into a sendmmsg batch.
 * Listener: a datagram from an address that has a connection goes to its
 * udp_input (1: a new client there: udp_listen it); any other to
 * udp_listen: send UDP_REPLY back; for UDP_REQUEST check the hello and
 * udp_accept (sealed: with seal_dg_new, its confirmation in its hello) or
 * udp_reject; udp_listener_tick on its own deadline.
 *
 * Memory: a message received is a view into the engine's buffers, valid
 * until the next udp_recv, udp_input or udp_free on that connection.
 */
#ifndef QUILT_UDP_H
#define QUILT_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seal.h"

#define UDP_VERSION 1
#define UDP_MTU_DEFAULT 1400 /* datagram payload bytes, as legume's */
#define UDP_MTU_MIN 1200
#define UDP_MTU_MAX 65000
#define UDP_CONNECT_SIZE 1200 /* every CONNECT, padded */
#define UDP_HELLO_MAX 1024 /* the opaque hello of CONNECT and ACCEPT */
#define UDP_REPLY_MAX 64 /* the largest reply udp_listen writes */
#define UDP_MSG_MAX ((1UL << 28) - 1) /* LEB128 in 4 bytes */
#define UDP_GAPS_MAX 128
#define UDP_COOKIE_LIFE_S 30 /* a cookie is good this long */
#define UDP_NEVER UINT64_MAX

/* Why a connect request is refused, or a connection closed (one byte). */
enum udp_reason {
	UDP_R_NONE = 0, /* a clean close */
	UDP_R_FULL = 1, /* the listener has no room (-c) */
	UDP_R_VERSION = 2, /* no common protocol version */
	UDP_R_KEY = 3, /* sealing: wrong key, or one end sealed and not the
			  other */
	UDP_R_PROTOCOL = 4, /* the peer broke the protocol */
	UDP_R_REFUSED = 5, /* any other refusal */
};

enum udp_state {
	UDP_CONNECTING, /* client: asking, until ACCEPT or REJECT */
	UDP_ACCEPTED, /* client: ACCEPT came; the program checks the hello,
			 then udp_start or udp_abort */
	UDP_OPEN,
	UDP_CLOSING, /* udp_close: sending what is queued, then CLOSE */
	UDP_DEAD, /* see udp_state's why; messages received may remain */
};

enum udp_why {
	UDP_WHY_NONE,
	UDP_WHY_CLOSED, /* we closed, and the peer acknowledged everything */
	UDP_WHY_PEER_CLOSED, /* CLOSE or ABORT from the peer, with a reason */
	UDP_WHY_REJECTED, /* REJECT from the listener, with a reason */
	UDP_WHY_TIMEOUT, /* nothing from the peer for idle_us */
	UDP_WHY_PROTOCOL, /* the peer sent a message over our maxmsg */
	UDP_WHY_ABORTED, /* udp_abort */
};

struct udp_params {
	size_t mtu; /* the largest datagram sent or taken: 1200..65000 */
	size_t maxmsg; /* the largest message taken (-M): 1..UDP_MSG_MAX */
	size_t sndbuf, rcvbuf; /* reliable bytes held each way (see above) */
	size_t usndbuf, urcvbuf; /* unreliable bytes queued each way */
	unsigned flight; /* packets in flight at most: a power of two,
			    16..65536 */
	uint64_t idle_us; /* a peer silent this long is dead (10 s) */
	uint64_t keepalive_us; /* silent this long: a keep-alive (1 s) */
	uint64_t rto_init_us, rto_min_us, rto_max_us; /* 1 s, 200 ms, 60 s */
	uint64_t ack_delay_us; /* an acknowledgement waits at most (1 ms) */
	/* Tests: use id, first_pn and first_off as given instead of random
	 * ones (a connection id is never 0). */
	int fixed;
	uint32_t id, first_pn, first_off;
};

/* Counters of one connection, legume's and more. */
struct udp_stats {
	uint64_t bytes_in, bytes_out; /* datagram bytes */
	uint64_t dgrams_in, dgrams_out;
	uint64_t msgs_in, msgs_out; /* reliable messages delivered / sent */
	uint64_t umsgs_in, umsgs_out; /* unreliable */
	uint64_t resends, bytes_resent; /* reliable segments sent again */
	uint64_t lost; /* packets deemed lost */
	uint64_t timeouts; /* retransmission timeouts */
	uint64_t pending_acks; /* reliable messages not yet acknowledged */
	uint64_t unacked; /* their bytes */
	uint64_t reorder, reorder_bytes; /* gaps held, bytes past them */
	uint64_t keepalives_out, keepalives_in;
	uint64_t srtt_us, rttvar_us, rto_us;
	uint64_t cwnd, inflight; /* bytes */
	uint64_t held_in; /* reliable bytes received, not yet taken */
	uint64_t uqueued; /* unreliable bytes queued to send */
	/* Dropped datagrams or frames, never delivered: */
	uint64_t drop_bad; /* malformed or truncated */
	uint64_t drop_id; /* the wrong connection id */
	uint64_t drop_auth; /* sealed: forged, altered or truncated */
	uint64_t drop_replay; /* a packet number seen already, or too old */
	uint64_t drop_window; /* stream bytes past the window we gave */
	uint64_t udrop_late; /* unreliable: late or duplicated */
	uint64_t udrop_full; /* unreliable: no room to keep it */
	uint64_t udrop_frag; /* unreliable: left incomplete, dropped whole */
	uint64_t pn_next; /* the next packet number we send (64 bits) */
};

struct udp;

/* The defaults above. */
void udp_params_default(struct udp_params *p);

/*
 * A client connection sending hello (at most UDP_HELLO_MAX bytes, copied)
 * in its CONNECT, first at now.  NULL with EINVAL (bad parameters),
 * EMSGSIZE (hello too long) or ENOMEM.
 */
struct udp *udp_connect(const struct udp_params *p, const void *hello,
    size_t len, uint64_t now);

/* Free a connection (and the sealing keys it holds); NULL is fine. */
void udp_free(struct udp *c);

/*
 * A datagram from the peer (len bytes at dg, which the engine may
 * overwrite: a sealed one is opened in place).  0: taken, or dropped and
 * counted (bad, spoofed, replayed...); the connection is not disturbed.
 * 1: a connect request that is not for this connection (the peer's
 * address has a new client): give it to udp_listen.
 */
int udp_input(struct udp *c, void *dg, size_t len, uint64_t now);

/*
 * The next datagram to send, written at buf (cap >= the mtu parameter):
 * its size, or 0 when nothing is due now.  Call it until it says 0 after
 * udp_input, udp_send, udp_recv, udp_start or udp_close, and once
 * udp_deadline has passed (timers run here: resends, keep-alives, the
 * peer's death).  Several calls in a row give a batch for sendmmsg.
 */
size_t udp_output(struct udp *c, void *buf, size_t cap, uint64_t now);

/* When udp_output must next be called: an absolute time, or UDP_NEVER. */
uint64_t udp_deadline(const struct udp *c);

/*
 * Queue the message m[0..len) (copied) on the reliable (reliable != 0) or
 * unreliable channel.  0 on success; -1 with ENOBUFS when that channel's
 * buffer is full (stop reading input: udp_output and acknowledgements make
 * room), EMSGSIZE when len is over the peer's maxmsg, ENOTCONN before
 * UDP_OPEN, EPIPE once closing or dead, ENOMEM.
 */
int udp_send(struct udp *c, const void *m, size_t len, int reliable);

/*
 * The next message received: its size (>= 0) with *m pointing at it (see
 * Memory above) and *reliable set; unreliable ones come first.  -1 with
 * EAGAIN when none is ready, EPIPE when the connection is dead and none
 * remains, EMSGSIZE when the peer sent a reliable message over our maxmsg
 * (the connection is then dead: UDP_WHY_PROTOCOL), ENOMEM.
 */
ssize_t udp_recv(struct udp *c, const void **m, int *reliable);

/*
 * Is there something for udp_recv: an unreliable message, reliable bytes
 * in order past what it last returned (maybe not a whole message yet), or
 * the end?  1 yes, 0 no.  A program that is woken to read uses it.
 */
int udp_readable(const struct udp *c);

/*
 * Reliable bytes (messages and their lengths) not yet acknowledged and
 * unreliable ones not yet sent: both 0 means everything queued is out.
 */
void udp_pending(const struct udp *c, size_t *reliable, size_t *unreliable);

/*
 * A clean end: what is queued is sent and acknowledged, then CLOSE; the
 * connection becomes UDP_DEAD (UDP_WHY_CLOSED) when the peer has
 * acknowledged it (or after three retransmission timeouts: every message
 * was acknowledged before).  Nothing more can be sent.
 */
void udp_close(struct udp *c, uint64_t now);

/*
 * Dead at once, telling the peer why (one CLOSE, or ABORT before the
 * client has started): udp_output gives that datagram, then nothing.
 */
void udp_abort(struct udp *c, enum udp_reason reason);

/* The state; *why and *reason (may be NULL) say why it is dead. */
enum udp_state udp_state(const struct udp *c, enum udp_why *why,
    enum udp_reason *reason);

void udp_stats(const struct udp *c, struct udp_stats *st);

/* The largest message the peer takes (0 before it said). */
size_t udp_peer_maxmsg(const struct udp *c);

/*
 * Client, in UDP_ACCEPTED: the listener's hello (a view valid until
 * udp_free).  NULL before.
 */
const void *udp_peer_hello(const struct udp *c, size_t *len);

/*
 * Client, in UDP_ACCEPTED, once the hello checks: open the connection,
 * sealed with seal (taken, even on failure) or not (NULL).  0, or -1 with
 * EINVAL in any other state.
 */
int udp_start(struct udp *c, struct seal_dg *seal, uint64_t now);

/* The listener's side of the handshake: no state per client. */
struct udp_listener;

/* A listener with a fresh cookie secret.  NULL with ENOMEM. */
struct udp_listener *udp_listener_new(uint64_t now);
void udp_listener_free(struct udp_listener *l);

/*
 * Rotate the cookie secret when due (every UDP_COOKIE_LIFE_S seconds; the
 * one before stays good until the next rotation).  Returns when to call it
 * again.
 */
uint64_t udp_listener_tick(struct udp_listener *l, uint64_t now);

enum udp_verdict {
	UDP_DROP, /* not a connect request, or malformed: nothing to do */
	UDP_REPLY, /* send the *replylen bytes at reply back to from */
	UDP_REQUEST, /* a connect request with a good cookie: *req holds it;
			udp_accept it or udp_reject it */
};

struct udp_request {
	uint32_t id, maxmsg, maxdgram, first_pn, first_off, window;
	const unsigned char *hello; /* a view into the datagram */
	size_t hellolen;
};

/*
 * A datagram from a source with no connection: from (fromlen bytes, the
 * address as recvfrom gave it, zeroed padding included) is what the
 * cookie binds.  It allocates and changes nothing (l is const): a
 * COOKIE for a request without a good one (none, bad, another address,
 * too old), REJECT (version) for a request of another version, or
 * UDP_REQUEST.  reply has UDP_REPLY_MAX bytes.
 */
enum udp_verdict udp_listen(const struct udp_listener *l, const void *from,
    size_t fromlen, const void *dg, size_t len, uint64_t now,
    unsigned char reply[UDP_REPLY_MAX], size_t *replylen,
    struct udp_request *req);

/*
 * Accept a request: a new connection (UDP_OPEN) answering with hello (at
 * most UDP_HELLO_MAX bytes, copied) in its ACCEPT, sealed with seal (taken,
 * even on failure) or not (NULL).  NULL with EINVAL, EMSGSIZE or ENOMEM.
 * The request's hello may be gone once it returns.
 */
struct udp *udp_accept(const struct udp_params *p,
    const struct udp_request *req, const void *hello, size_t len,
    struct seal_dg *seal, uint64_t now);

/* Refuse a request: the REJECT to send back (its size; cap >= 6). */
size_t udp_reject(const struct udp_request *req, enum udp_reason reason,
    unsigned char *reply, size_t cap);

/*
 * The receiver's connection id and the type of a datagram (a listener may
 * find connections by id as well as by address).  0, or -1 when it is too
 * short or of another version.
 */
int udp_peek(const void *dg, size_t len, uint32_t *id, int *type);

#endif
