/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: transport's sockets and clock, shared by the programs: around
 * the engine of udp.h, which never touches either.
 *
 *   udpsock   a datagram socket with a batch of datagrams each way, so
 *             that one recvmmsg and one sendmmsg carry many
 *   udpconn   one connection on it: its engine, where its datagrams go,
 *             the quilt stream its link carries over the engine's
 *             reliable channel (link.c calls udpconn_read and
 *             udpconn_write), and how a listener's program is woken for it
 *   udpconn_open   the client's handshake, client.c's twin
 *
 * A link's stream over the reliable channel: its bytes (quilt frames, as
 * TCP would carry them) go in engine messages of at most UDPSOCK_CHUNK
 * bytes, a frame wherever it falls; the receiving link parses them as it
 * parses a TCP stream.  Unreliable messages are one quilt msg frame each.
 *
 * A client owns its connection's socket (connected to the listener: the
 * kernel drops datagrams from any other source, and a port with nobody is
 * "Connection refused").  A listener's one socket carries all its
 * connections, and its program (cmd/quilt-listen/udp.c) feeds each engine
 * what comes from that connection's address; each connection then has a
 * pipe whose read end stands for it in the loop as a TCP socket would: it
 * is made readable (the bell) when the engine has something for the
 * reader, and never polls writable, so a program written for sockets
 * waits on it as it waits on one.  Nothing here prints or exits.
 */
#ifndef QUILT_UDPSOCK_H
#define QUILT_UDPSOCK_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "client.h"
#include "seal.h"
#include "udp.h"
#include "wire.h"

#define UDPSOCK_BATCH 64
/* Stream bytes one engine message carries at most. */
#define UDPSOCK_CHUNK (64 * 1024)
/* What the socket buffers are asked for (the kernel may give less). */
#define UDPSOCK_BUF (4 * 1024 * 1024)

/* The engine's clock: CLOCK_MONOTONIC in microseconds. */
uint64_t udpsock_now(void);

/*
 * The engine's parameters for a program that takes frames of maxmsg bytes
 * (-M): the defaults of udp.h, with QUILT_UDP_KEEPALIVE and
 * QUILT_UDP_TIMEOUT (milliseconds) from the environment when set.
 */
void udpsock_params(struct udp_params *p, size_t maxmsg);

struct udpsock {
	int fd;
	int connected; /* a client's: send without an address */
	size_t mtu; /* the largest datagram taken; a longer one is cut */
	/* Received: n datagrams, i-th at rm[i] (its length rm[i].msg_len,
	 * its source rfrom[i] of rm[i].msg_hdr.msg_namelen bytes). */
	unsigned char *rbuf;
	struct mmsghdr rm[UDPSOCK_BATCH];
	struct iovec riov[UDPSOCK_BATCH];
	struct sockaddr_storage rfrom[UDPSOCK_BATCH];
	/* To send: sm[first..n), not yet taken by the kernel. */
	unsigned char *sbuf;
	struct mmsghdr sm[UDPSOCK_BATCH];
	struct iovec siov[UDPSOCK_BATCH];
	struct sockaddr_storage sto[UDPSOCK_BATCH];
	unsigned sfirst, sn;
	int blocked; /* the kernel took no more: wait for POLLOUT */
	int refused; /* connected: an ICMP error said nobody is there */
	uint64_t send_errors; /* datagrams the kernel refused (lost) */
};

/*
 * A socket of ours (non-blocking, bound or connected) with batches for
 * datagrams of up to mtu bytes.  -1 ENOMEM.
 */
int udpsock_init(struct udpsock *s, int fd, size_t mtu, int connected);
/* Free the batches (not the fd: its owner closes it). */
void udpsock_free(struct udpsock *s);

/*
 * One recvmmsg: how many datagrams came (> 0), 0 when none waits, or -1
 * with errno (ECONNREFUSED: an ICMP error on a client's socket).
 */
int udpsock_recv(struct udpsock *s);

static inline unsigned char *
udpsock_dg(struct udpsock *s, int i, size_t *len)
{
	*len = s->rm[i].msg_len;
	return ((unsigned char *)s->riov[i].iov_base);
}

/*
 * Room for one more datagram to send (s->mtu bytes), or NULL when the
 * batch is full and the kernel takes no more for now.  udpsock_queue then
 * queues the len bytes written there, for to (tolen bytes; ignored on a
 * connected socket).
 */
unsigned char *udpsock_room(struct udpsock *s);
void udpsock_queue(struct udpsock *s, size_t len, const void *to,
    socklen_t tolen);

/*
 * sendmmsg what is queued.  0 when all of it went (a datagram the kernel
 * refuses for another reason than a full buffer is lost, as on a
 * network, and counted), -1 with EAGAIN when some must wait for POLLOUT.
 */
int udpsock_flush(struct udpsock *s);

/* Unreliable messages received, for the program (see udpconn_read). */
typedef void udpconn_umsg_fn(void *arg, const char *m, size_t len);

struct udpconn {
	struct udp *u; /* the engine; NULL while a listener answers */
	struct udpsock *sock;
	int own; /* a client's: the socket is this connection's alone */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	int bell[2]; /* a listener's: read end for the loop, write end */
	int rung;
	int linked; /* a link carries its stream */
	int full; /* the engine's send buffer was full: ring when it is not */
	size_t sndbuf; /* that buffer's size (udp_params) */
	int told; /* the end was given to the reader */
	/* A stream chunk that did not all fit in the link's input. */
	unsigned char *carry;
	size_t carry_at, carry_len;
	udpconn_umsg_fn *umsg;
	void *umsg_arg;
	uint64_t udropped; /* unreliable messages no program took */
	uint64_t peak_pending, peak_reorder; /* the highest seen */
	void *owner; /* the program's */
	void (*released)(struct udpconn *); /* its link let it go */
	struct udpconn *next, *hnext; /* the program's lists */
};

/*
 * A connection to peer (len bytes) on sock, with engine u (taken; may be
 * NULL and set later).  own: a client's, whose socket (and batches) go
 * with it; bell: make its pipe (a listener's).  NULL with errno.
 */
struct udpconn *udpconn_new(struct udp *u, struct udpsock *sock, int own,
    const void *peer, socklen_t len, int bell);

/* Free it all (a client's socket struct too, not the socket's fd). */
void udpconn_free(struct udpconn *uc);

/*
 * Its link lets it go (link_close, link_free): a client's is freed; a
 * listener's engine ends cleanly (udp_close: what is queued is delivered)
 * and the program frees it once it is dead (udpconn_done).  The bell's
 * read end was the link's fd: closed by the link.
 */
void udpconn_release(struct udpconn *uc);

/* Our end of the stream (a half-close): udp_close. */
void udpconn_shutdown(struct udpconn *uc);

/*
 * A client that gives up (its program exits on an error): one CLOSE with
 * the reason goes at once, so that the listener lets the connection go
 * now and not after its time-out.  Nothing when it is already dead.
 */
void udpconn_abort(struct udpconn *uc, enum udp_reason reason);

/*
 * The link's read: stream bytes appended to in (as much as in takes; the
 * rest of a chunk waits here), unreliable messages handed to umsg (or
 * dropped and counted without one).  A client's socket is read first.
 * Bytes appended (> 0); 0 at a clean end; -1 with EAGAIN (nothing now,
 * and a listener's bell is cleared), ETIMEDOUT (the peer was silent past
 * the time-out), ECONNRESET (it closed with a reason), ECONNABORTED,
 * EPROTO (it sent a message over our limit) or ECONNREFUSED.
 */
ssize_t udpconn_read(struct udpconn *uc, struct buf *in);

/*
 * The link's write: the bytes of iov[0..n) given to the reliable channel,
 * as much as its send buffer takes; then a client's datagrams are sent.
 * Bytes taken (n 0: none to give, 0), or -1 with EAGAIN (the buffer is
 * full: the reader is woken when it is not), or an errno as for
 * udpconn_read once the connection is dead.
 */
ssize_t udpconn_write(struct udpconn *uc, const struct iovec *iov, int n);

/*
 * Queue one unreliable message (a whole quilt frame).  0, or -1 with
 * ENOBUFS (its queue is full: udpconn_output empties it), EMSGSIZE or
 * EPIPE.
 */
int udpconn_unreliable(struct udpconn *uc, const void *m, size_t len);

/* Bytes given to the unreliable channel and not yet sent. */
size_t udpconn_unsent(const struct udpconn *uc);

/*
 * The engine's datagrams due by now into the socket's batch (timers run
 * here), and the peaks of its counters.  0, or -1 when the batch is full
 * (flush it, then call again).
 */
int udpconn_output(struct udpconn *uc, uint64_t now);

/* Note the peaks of the engine's pending acks and reorder queue. */
void udpconn_peaks(struct udpconn *uc);

/* When udpconn_output is next due: milliseconds from now, -1 never. */
int udpconn_wait_ms(const struct udpconn *uc, uint64_t now);

/* A listener's: make the bell's read end readable, once. */
void udpconn_ring(struct udpconn *uc);

/* Should its reader be woken: something to read, room after full? */
int udpconn_news(const struct udpconn *uc);

/* A client's socket waits for POLLOUT (a batch the kernel did not take). */
static inline int
udpconn_blocked(const struct udpconn *uc)
{
	return (uc->own && uc->sock->blocked);
}

/*
 * The end of a client's run: udp_close, then its datagrams until the
 * listener has acknowledged the end (or timeout_ms), so that the listener
 * sees an end and not a silence.
 */
void udpconn_end(struct udpconn *uc, int timeout_ms);

/*
 * Open a quilt session over udp: (a->kind ADDR_UDP), client_open's twin:
 * the same hello (me), checked the same way (peer), sealed with psk the
 * same way (the key proof rides in CONNECT with the hello, the listener's
 * confirmation in ACCEPT with its hello).  maxmsg: the frames we take.
 * On success the link's fd is the socket and l->uc its connection (the
 * link takes both); otherwise a class, and why says what failed.  A
 * REJECT is CLIENT_TEMPFAIL (full: -c), CLIENT_PROTOCOL (version),
 * CLIENT_AUTH (key) or CLIENT_UNAVAILABLE.
 */
enum client_err udpconn_open(const struct addr *a, int timeout_ms,
    struct link *l, const struct wire_hello *me, struct wire_hello *peer,
    const unsigned char *psk, size_t maxmsg, char *why, size_t whylen);

/*
 * The counters of -v for a connection, as one line at out (cap bytes):
 * the engine's and the program's (quilt messages out and in, of which
 * unreliable, and those that waited for an acknowledgement: now, and the
 * most at once); with json, the same as one JSON object (for -j's
 * summary).
 */
struct udpsock_msgs {
	uint64_t out, in, uout, uin, pending, peak_pending;
};
void udpsock_counters(char *out, size_t cap, const struct udpconn *uc,
    const struct udpsock_msgs *m, int json);

/*
 * The pieces of udpconn_open and of a listener's answer, apart for the
 * tests.
 *
 * The hello of a CONNECT or an ACCEPT: the hello frame's size *hello and
 * what follows it (next, nextlen).  0, or -1 when it starts with no frame.
 */
int udpsock_split_hello(const unsigned char *h, size_t len, size_t *hello,
    const char **next, size_t *nextlen);

/*
 * Our hello for CONNECT at out (2 x WIRE_HELLO_MAX bytes): me's hello
 * frame (its size at *hlen: the transcript's part), then, sealed (s, our
 * key exchange, and psk), the key proof frame ["", "proof", HEX].  Its
 * size (over UDP_HELLO_MAX: too long for CONNECT).
 */
size_t udpsock_connect_hello(char *out, struct wire_hello *me, struct seal *s,
    const unsigned char *psk, size_t *hlen);

/* The proof frame p[0..n), all of it: 0 with proof, or -1. */
int udpsock_get_proof(const char *p, size_t n,
    unsigned char proof[SEAL_PROOFLEN]);

/*
 * The listener's ACCEPT hello h[0..hl), checked as client.c checks its
 * hello over TCP (the fields, the version, the sealing) and, sealed, its
 * confirmation against our hello frame mine[0..minelen) and psk.
 * CLIENT_OK when the connection may start, with *dg its seal (NULL
 * unsealed); else a class, and why says what failed.
 */
enum client_err udpsock_check_accept(const unsigned char *h, size_t hl,
    const char *mine, size_t minelen, struct seal *s, const unsigned char *psk,
    const struct wire_hello *me, struct wire_hello *peer, struct seal_dg **dg,
    char *why, size_t whylen);

/* What a REJECT's reason says, for people. */
const char *udpsock_reason_str(enum udp_reason r);

#endif
