/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen, one concern a file:
 *   main.c     options, set-up, the loop, signals, exit status
 *   conns.c    the table of connections: accepting, each turn of the
 *              loop, what concerns them all
 *   conn.c     one connection: the handshake (libcommon/server.c), framed
 *              messages to the output, acknowledgements, its end
 *   handler.c  -e: the handler processes, their UCSPI environment, the
 *              half-close both ways
 *   raw.c      -R: plain byte streams
 *   child.c    -C: quilt-relay's incoming side, in cmsg frames
 *   udp.c      udp: the socket of every connection, their engines, the
 *              handshake's cookies and answers, unreliable messages
 * Calls run one way: main.c -> udp.c -> conns.c -> conn.c -> handler.c,
 * raw.c, child.c -> libcommon.  A lower file that must tell a higher one
 * returns a value, or calls a callback it was given (the loop callbacks of a
 * handler's pipes are conn.c's, handed to handler_spawn; the sinks' done
 * callback is conn_written).  Each function is described where it is
 * defined.
 */
#ifndef QUILT_LISTEN_H
#define QUILT_LISTEN_H

#include <sys/socket.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "addr.h"
#include "buf.h"
#include "cmsg.h"
#include "fmt.h"
#include "link.h"
#include "loop.h"
#include "pool.h"
#include "server.h"
#include "sink.h"
#include "udp.h"
#include "udpsock.h"
#include "wire.h"

#define OUT_CHUNK (1024 * 1024)
#define WINDOW (4 * 1024 * 1024)
#define HELLO_TIMEOUT_MS 5000
#define DRAIN_TIMEOUT_MS 5000
#define LINGER_MS 2000
/* -i: the default idle time. */
#define IDLE_MS 60000
/* How long a connection that has said its hello waits for a slot. */
#define SLOT_WAIT_MS 10000
/* The pools of connections without a slot (pool.h): as large as -c,
 * within these bounds; one address holds at most a quarter of one. */
#define POOL_MIN 64
#define POOL_MAX 1024
/* A full pool drops an entry of an address that holds as many as the
 * newcomer's would only once it is this old (pool.h). */
#define POOL_GRACE_MS 1000
/* Sessions kept beyond those of the connections that can be open or
 * waiting, for resumes. */
#define SESS_MAX 1024
#define SESS_AGE_MS (3600 * 1000LL)
/* Lines a second that say why a peer was refused or dropped; the rest
 * are counted, and the count said (all with -v). */
#define WARN_PER_SEC 10
/* accept(2) out of descriptors: try again after this. */
#define ACCEPT_PAUSE_MS 100
#define MARKS 4096
/* -j: the most a message's line takes besides its parts (conn.c). */
#define JSON_HEAD (96 + 6 * (ADDR_STRLEN + WIRE_NODE_MAX))

/* The command line: set by main.c, read by every file. */
struct opts {
	enum fmt fmt;
	int json; /* -j: JSON lines on standard output */
	int raw, backlog, maxconn;
	long long idle_ms; /* -i: 0 for none */
	const char *cmd, *ready;
	const char *child; /* -C: quilt-relay's incoming side, instance */
	const char *keyfile[SERVER_KEYS];
	int nkeys;
	size_t maxmsg;
	char node[WIRE_NODE_MAX + 1];
	/* "N:NODE,3:msg,": how a message named to us starts (a relay
	 * passes a client's on to us as it is). */
	char mine[WIRE_NODE_MAX + 16];
	size_t minelen;
	struct acl acl; /* --allow, --deny */
	int listen_fd; /* --listen-fd: quilt-relay's socket for us, or -1 */
};

/* -e: a connection's handler process and its two pipes (handler.c). */
struct handler {
	struct loop *loop;
	pid_t pid; /* 0: none, or it has been reaped */
	int in, out; /* our ends of its standard input and output, or -1 */
	struct sink s; /* towards its standard input */
	struct buf b; /* from its standard output */
	int out_eof, exited, status, in_dead;
};

/*
 * C_HELLO and C_CONFIRM: in the handshake pool (before the hello, sealed
 * before the key is proven); C_WAIT: the handshake done, in the waiting
 * pool until a slot of -c is free, our last handshake frame held; C_OPEN
 * and C_LINGER hold a slot.
 */
enum cstate { C_HELLO, C_CONFIRM, C_WAIT, C_OPEN, C_LINGER, C_CLOSED };

struct conns;

/* One connection (conn.c). */
struct conn {
	struct conns *cs; /* the table it is in, and what it shares */
	unsigned id;
	uint64_t serial; /* -C: the router's name for it */
	int reported; /* -C: "open" was said */
	int fd;
	enum cstate state;
	struct link link;
	char remote[ADDR_STRLEN];
	struct sockaddr_storage la, ra;
	socklen_t lalen, ralen;
	long long deadline; /* hello, slot wait or linger */
	struct pool_key key; /* its address, for the pools */
	int hs_slot, wait_slot; /* its entry in a pool, or -1 */
	int has_slot; /* it holds one of the -c slots */
	char *held; /* C_WAIT: our last handshake frame, sent once open */
	size_t heldlen;
	/* -i: since when nothing was received while it was read from */
	long long rx_at;
	int reading;
	struct server_hs shake; /* the handshake; shake.peer: its hello */
	struct server_sess *sess;
	uint64_t acked; /* the last "ack N" sent */
	char *jhead; /* -j: its messages' first fields, made at the first */
	size_t jheadlen;
	int blocked; /* waits for room in its output */
	int peer_bye, bye_sent, exit_sent, rd_eof, wr_shut;
	struct handler h;
};

/* -C: the router's streams (child.c). */
struct child {
	struct sink *out; /* fd 1, main's standard output: relays' frames */
	struct sink cout; /* fd 3: clients' frames */
	struct buf rin; /* fd 0: what the router says */
};

/* The connections and what they share: set up by main.c, run by conn.c. */
struct conns {
	const struct opts *o;
	struct loop *loop;
	struct sink *out; /* standard output */
	struct child *child; /* -C, or NULL */
	struct server_table *sess;
	const struct server_conf *hs;
	const char *bound; /* our address, a Unix peer's name */
	struct conn **slot; /* nslots: a handler may outlive its socket */
	int nslots, nconns;
	int nlive; /* connections whose socket is open */
	int nopen; /* connections holding one of the -c slots */
	struct pool handshakes; /* in their handshake */
	struct pool waiting; /* handshake done, waiting for a slot */
	long long accept_pause; /* accept(2) ran out of fds: not before */
	long long warn_sec; /* the second of the lines below */
	int warned, unsaid; /* lines said in it; and not said */
	uint64_t serial; /* the last connection's number */
	unsigned long long accepted, refused; /* refused: --allow, --deny */
	long long hello_ms;
	int stopping;
	int escaped; /* a message had to be escaped on output */
	/* What SIGUSR1, -v at the end and -j's summary say. */
	struct {
		uint64_t conns; /* accepted */
		uint64_t messages, bytes; /* taken for the output, and the
					   * bytes of output they made */
		uint64_t written; /* of which written, so acknowledged */
	} ctr;
};

/* udp: the transport's side (udp.c), over the one socket. */
struct udpl {
	struct conns *cs;
	struct udpsock sock;
	struct sockaddr_storage la; /* the address bound */
	socklen_t lalen;
	struct udp_listener *l;
	struct udp_params p;
	uint64_t tick_at;
	struct udpconn *all; /* every connection, live or ending */
	struct udpconn **hash; /* by the peer's address */
	size_t hmask;
	int stopping;
	/* Requests answered with a cookie, accepted, refused; datagrams
	 * for no connection, dropped. */
	uint64_t cookies, accepted, refused, dropped;
};

/* Waiting for something with a deadline: the hello, a slot, or the
 * peer's close. */
static inline int
conn_timed(const struct conn *c)
{
	return (c->state == C_HELLO || c->state == C_CONFIRM ||
	    c->state == C_WAIT || c->state == C_LINGER);
}

/* Its handshake is under way: the peer has not earned a slot yet. */
static inline int
conn_shaking(const struct conn *c)
{
	return (c->state == C_HELLO || c->state == C_CONFIRM);
}

/* conns.c: the table of connections. */
size_t conns_pool_size(int maxconn);
int conns_init(struct conns *cs);
int conns_room(const struct conns *cs, long long now);
int conns_can_open(const struct conns *cs, long long now);
void conns_accept(struct conns *cs, int lfd);
struct conn *conns_add(struct conns *cs, int fd,
    const struct sockaddr_storage *ra, socklen_t ralen,
    const struct sockaddr_storage *la, socklen_t lalen);
long long conns_tick(struct conns *cs, long long now);
void conns_router(struct conns *cs, const struct cmsg *m);
void conns_reaped(struct conns *cs, pid_t pid, int status);
void conns_stop(struct conns *cs);
int conns_empty(const struct conns *cs);
int conns_kill_handlers(struct conns *cs);

/* conn.c: one connection. */
void conn_event(void *arg, int fd, int revents);
void conn_start(struct conn *c);
void conn_refuse(struct conn *c, enum wire_refusal code, const char *why);
void conn_open(struct conn *c);
void conn_settle(struct conn *c);
void conn_close(struct conn *c);
void conn_fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int conn_free(struct conn *c);
int conn_expired(struct conn *c, long long now);
long long conn_deadline(const struct conn *c);
int conn_waits(const struct conn *c);
void conn_router(struct conn *c, const struct cmsg *m);
void conn_reaped(struct conn *c, int status);
void conn_written(void *arg, unsigned id, unsigned gen, uint64_t count);
int conn_udp_open(struct conn *c, int key);

/* handler.c: a connection's handler. */
void handler_init(struct handler *h);
int handler_spawn(struct handler *h, const struct conn *c, struct loop *loop,
    loop_fn *on_in, loop_fn *on_out, void *arg);
int handler_read(struct handler *h);
void handler_flush(struct handler *h, sink_done_fn *done, void *arg);
void handler_exited(struct handler *h, int status);
void handler_close_in(struct handler *h);
void handler_free(struct handler *h);
void handler_replies(struct conn *c);
void handler_input_end(struct conn *c);
int handler_end(struct conn *c);
int handler_raw_end(struct conn *c);
void handler_closed(struct conn *c);
void handler_want(struct conn *c);

/* Its output has ended and all of it is queued for the peer. */
static inline int
handler_output_done(const struct handler *h)
{
	return (h->out_eof && buf_len(&h->b) == 0);
}

/* udp.c: the udp: transport. */
int udpl_init(struct udpl *u, struct conns *cs, int fd,
    const struct sockaddr_storage *la, socklen_t lalen);
void udpl_event(void *arg, int fd, int revents);
long long udpl_tick(struct udpl *u, long long now);
void udpl_stop(struct udpl *u);
int udpl_empty(const struct udpl *u);
void udpl_counters(const struct udpl *u, void (*say)(const char *, ...));
void udpl_counters_json(const struct udpl *u, char *out, size_t cap);

/* raw.c: -R. */
int raw_process(struct conn *c);
int raw_end(const struct conn *c);

/* child.c: -C, the router's streams. */
int child_init(struct child *ch, struct sink *out, size_t maxmsg,
    uint64_t *serial);
void child_listening(struct child *ch, const char *bound);
struct sink *child_sink(struct child *ch, const struct conn *c);
void child_open(struct child *ch, const struct conn *c);
void child_close(struct child *ch, const struct conn *c);
int child_frame(struct child *ch, struct conn *c, const struct wire_msg *m,
    int mine, const char *frame, size_t len);
int child_batch(struct child *ch, struct conn *c);
int child_read(struct child *ch);
ssize_t child_next(struct child *ch, struct cmsg *m);
void child_take(struct child *ch, size_t n);
int child_flush(struct child *ch, sink_done_fn *done, void *arg);

#endif
