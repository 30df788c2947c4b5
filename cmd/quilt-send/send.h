/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-send, one concern a file:
 *   main.c   options, the session (connect, reconnect, resume), the loop,
 *            the end of the run and its exit status
 *   pump.c   standard input or the operands, as msg frames on the link
 *   peer.c   the frames that come back: acks, replies to standard
 *            output, a relay's end-to-end outcome, pings, exit, error
 *   child.c  -C: quilt-relay's outgoing side, in cmsg frames
 *   udp.c    udp: -U's unreliable messages, the transport's counters
 * Calls run one way: main.c -> pump.c, peer.c, child.c, udp.c ->
 * libcommon.  A
 * lower file says what ended the run by its return value (an exit status,
 * the message already said), and main.c ends it.
 */
#ifndef QUILT_SEND_H
#define QUILT_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "fmt.h"
#include "link.h"
#include "sink.h"
#include "wire.h"

/* One read of standard input: with the frames queued ahead of the writer
 * and the records being written, it stays in a core's L2 cache (1 MiB
 * did not: plain 64 KiB messages went 20% slower). */
#define IN_CHUNK (256 * 1024)
#define WINDOW (8 * 1024 * 1024)
/* Queued and not yet written (sealed): what fits in the cache beside it. */
#define AHEAD (256 * 1024)
#define MIN_WINDOW (256 * 1024)
#define CONNECT_TIMEOUT_MS 10000
#define LOST_SHOWN 8
/* -j: the most a reply's line takes besides its parts. */
#define JSON_HEAD (64 + 6 * WIRE_NODE_MAX)

/* The command line: set by main.c, read by every file. */
struct opts {
	enum fmt fmt;
	int json; /* -j: replies and the summary as JSON lines */
	int reconnect, use_exit, all;
	int unreliable; /* -U: msg frames on udp's unreliable channel */
	const char *dest, *keyfile;
	const char *child; /* -C: an outgoing side of quilt-relay */
	size_t maxmsg;
	char node[WIRE_NODE_MAX + 1];
	long long wait_ms; /* -w, 0 for none */
};

/* The session with the listener, across its connections (main.c). */
struct sess {
	struct addr a;
	const char *addrstr;
	struct link link;
	struct wire_hello me, peer;
	int up; /* a session was set up once */
	int bye_sent, peer_bye, got_exit, exit_status;
	uint64_t bytes_msg, acks, resends, reconnects;
	/* udp (udp.c): -U's frame being queued, how many went; the most
	 * messages that waited for their acknowledgement at once. */
	char *uframe;
	size_t ucap;
	uint64_t usent, peak_pending;
	char ucounters[768]; /* -v: those of the last connection */
	char ujson[768]; /* -j's summary: the same */
};

/* What is sent: standard input, or the operands (pump.c). */
struct input {
	struct buf in;
	int eof;
	int need_more; /* the next message is not all in yet */
	char **args;
	int nargs, argi;
};

/* A handler's replies, to standard output (peer.c writes them). */
struct replies {
	enum fmt fmt;
	int json;
	char head[JSON_HEAD]; /* -j: a reply's fields but its parts */
	size_t headlen;
	struct sink out;
	uint64_t in; /* taken from the peer */
	uint64_t written; /* taken by write(2): what we acknowledge */
	int ack_due, escaped;
};

/* -d/-a through a relay: the end-to-end outcome of each message. */
struct e2e {
	int on;
	uint64_t done, lost;
	char names[LOST_SHOWN][WIRE_NODE_MAX + 1]; /* of nodes not reached */
	int nnames, more;
};

/* pump.c */
int pump(struct input *in, struct sess *s, const struct opts *o, char *why,
    size_t whylen);

/* peer.c */
int peer_frame(struct sess *s, struct replies *r, struct e2e *e,
    const struct wire_msg *m);
void replies_written(void *arg, unsigned id, unsigned gen, uint64_t count);
void e2e_unreached(struct e2e *e, const char *addrstr, int all);

/* udp.c */
char *udp_room(struct sess *s, size_t n);
int udp_queue(struct sess *s, size_t n);
size_t udp_unsent(const struct sess *s);
void udp_keep(struct sess *s, uint64_t replies);
void udp_counters(struct sess *s, uint64_t replies,
    void (*say)(const char *, ...));

/* child.c */
int child_up(struct sink *out, const struct sess *s);
int child_down(struct sink *out, const char *why);
int child_ack(struct sink *out, uint64_t n);
int child_peer(struct sink *out, const char *body, size_t len);
int child_pump(struct input *in, struct sess *s, const struct opts *o,
    char *why, size_t whylen);

#endif
