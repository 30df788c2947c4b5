/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen -C: the incoming side of quilt-relay.  Standard input and
 * output are one socket pair to the router, descriptor 3 another; every
 * frame either way is one of libcommon/cmsg.h, encoded and decoded there
 * (quilt-protocol(5), "Relay children").  Relays' frames go on standard
 * output, clients' on descriptor 3, so that the router can hold back
 * clients (when too much of theirs is in flight) and still take the
 * relays' answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "cmsg.h"
#include "listen.h"

/*
 * Set up the router's streams; out is standard output.  Returns the first
 * connection number: from our start time, so that a listen child started
 * again never reuses its predecessor's, which the router may still be
 * working through.  -1 ENOMEM.
 */
int
child_init(struct child *ch, struct sink *out, size_t maxmsg, uint64_t *serial)
{
	struct timespec ts;

	ch->out = out;
	if (buf_init(&ch->rin, 65536, 4 * 65536 + 2 * maxmsg) == -1 ||
	    sink_init(&ch->cout, 3, 0, fmt_bound(maxmsg) + OUT_CHUNK, MARKS) ==
		-1)
		return (-1);
	ch->cout.term = -1;
	(void)fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	clock_gettime(CLOCK_REALTIME, &ts);
	*serial = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return (0);
}

/* Bound: the address, for the ready file the router writes. */
void
child_listening(struct child *ch, const char *bound)
{
	struct cmsg m = {.type = CM_LISTENING};

	m.text.p = bound;
	m.text.len = strlen(bound);
	(void)cmsg_sink(ch->out, &m);
}

/* The router's stream for c: a relay's, or a client's. */
struct sink *
child_sink(struct child *ch, const struct conn *c)
{
	return (c->shake.peer.relay[0] ? ch->out : &ch->cout);
}

/* c has finished its handshake. */
void
child_open(struct child *ch, const struct conn *c)
{
	struct cmsg m = {.type = CM_OPEN, .conn = c->serial};

	m.node.p = c->shake.peer.node;
	m.node.len = strlen(c->shake.peer.node);
	m.inst.p = c->shake.peer.relay;
	m.inst.len = strlen(c->shake.peer.relay);
	m.text.p = c->remote;
	m.text.len = strlen(c->remote);
	(void)cmsg_sink(child_sink(ch, c), &m);
}

/* c has ended. */
void
child_close(struct child *ch, const struct conn *c)
{
	struct cmsg m = {.type = CM_CLOSE, .conn = c->serial};

	(void)cmsg_sink(child_sink(ch, c), &m);
}

/* A relay's frames that are not numbered: its router's keep-alives go on
 * to our router, the others (nop, the connection's keep-alive, among them)
 * are ours. */
static int
relay_unnumbered(enum wire_cmd c)
{
	return (c == W_ACK || c == W_BYE || c == W_ERROR || c == W_ALIVE ||
	    c == W_NOP);
}

/*
 * A frame for the router: every frame of a relay peer but its acks, bye,
 * error and nop (numbered, but for its keep-alives), a client's msg for any
 * node (numbered), and a client's ping for another node (mine: the ping
 * is not for us).  The whole frame (len bytes at frame) goes, so that the
 * router can pass it on as it is.  1 when taken, 0 when it is not for the
 * router, -1 when the output is full.
 */
int
child_frame(struct child *ch, struct conn *c, const struct wire_msg *m,
    int mine, const char *frame, size_t len)
{
	struct sink *sk = child_sink(ch, c);
	struct cmsg cm = {.type = CM_FRAME, .conn = c->serial};
	int counted;

	/* A keep-alive is the connection's: the router never sees it. */
	if (c->shake.peer.relay[0] && m->cmd == W_NOP)
		return (0);
	if (c->shake.peer.relay[0])
		counted = !relay_unnumbered(m->cmd);
	else if (m->cmd == W_MSG)
		counted = 1;
	else if (m->cmd == W_PING && !mine)
		counted = 0;
	else
		return (0);
	cm.n = counted ? c->sess->taken + 1 : 0;
	cm.data.p = frame;
	cm.data.len = len;
	if (sk->count == sk->cap || cmsg_sink(sk, &cm) == -1)
		return (-1);
	if (counted)
		c->sess->taken++;
	return (1);
}

/*
 * The numbered frames at the head of c's input, as many as follow each
 * other, in one ["frames", CONN, K, FRAMES] to the router: one frame and
 * one copy per batch, not per message.  1 when some went (taken from the
 * input), 0 when the next frame is not one of them, -1 when the output is
 * full.
 */
int
child_batch(struct child *ch, struct conn *c)
{
	const char *data = buf_data(&c->link.in), *body;
	size_t have = buf_len(&c->link.in), off = 0, len;
	struct sink *sk = child_sink(ch, c);
	struct cmsg cm = {.type = CM_FRAMES, .conn = c->serial};
	uint64_t count = 0;

	if (c->peer_bye)
		return (0);
	while (off < have && off < CMSG_BATCH) {
		ssize_t f = frame_parse(data + off, have - off, c->link.maxin,
		    &body, &len);
		struct wire_msg m;

		if (f <= 0)
			break;
		if (wire_msg_head(body, len) != 0)
			m.cmd = W_MSG;
		else if (wire_decode(body, len, &m) == -1)
			break;
		if (c->shake.peer.relay[0] ? relay_unnumbered(m.cmd) :
					     m.cmd != W_MSG)
			break;
		off += f;
		count++;
	}
	if (count == 0)
		return (0);
	/* The frames go as they lie in the input: the one copy is the
	 * sink's. */
	cm.n = c->sess->taken + 1;
	cm.data.p = data;
	cm.data.len = off;
	if (sk->count == sk->cap || cmsg_sink(sk, &cm) == -1)
		return (-1);
	link_take(&c->link, off);
	c->sess->taken += count;
	return (1);
}

/* One read from the router: 0 when it has gone (its end closed). */
int
child_read(struct child *ch)
{
	ssize_t r = buf_fill(&ch->rin, 0, 65536);

	return (!(r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)));
}

/*
 * The next frame from the router, decoded into *m (views into the buffer,
 * valid until child_take): its size, 0 when more must be read, -1 when it
 * is malformed or no cmsg of that stream (fatal: the router is broken).
 */
ssize_t
child_next(struct child *ch, struct cmsg *m)
{
	const char *body;
	size_t len;
	ssize_t f;

	f = frame_parse(buf_data(&ch->rin), buf_len(&ch->rin), ch->rin.max,
	    &body, &len);
	if (f > 0 && cmsg_decode(CM_TO_LISTEN, body, len, m) == -1)
		return (-1);
	return (f);
}

/* Done with the frame of n bytes child_next gave. */
void
child_take(struct child *ch, size_t n)
{
	buf_consume(&ch->rin, n);
}

/*
 * Write the clients' frames queued for the router; done(arg, ...) for
 * those written.  -1 when the router has gone.
 */
int
child_flush(struct child *ch, sink_done_fn *done, void *arg)
{
	return (
	    sink_flush(&ch->cout, done, arg) == -1 && errno != EAGAIN ? -1 : 0);
}
