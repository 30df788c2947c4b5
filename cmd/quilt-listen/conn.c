/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * One connection of quilt-listen: the handshake (server.c decides), the
 * frames of a quilt peer written to standard output (or to a handler, or
 * to the router) and acknowledged once write(2) has taken them, and its
 * end.  Raw streams, handlers and the router are raw.c's, handler.c's and
 * child.c's; the table of connections is conns.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmsg.h"
#include "listen.h"
#include "log.h"
#include "net.h"

/*
 * A sink's done callback (arg: the table of connections): a session's
 * messages were written, so they can be acknowledged.
 */
void
conn_written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	struct conns *cs = arg;
	struct server_sess *s = &cs->sess->s[id];

	if (s->gen != gen)
		return;
	if (count > s->written)
		cs->ctr.written += count - s->written;
	s->written = count;
}

/*
 * -j: the fields every message of c starts with (its connection's number,
 * the peer's address and node name) into head (JSON_HEAD bytes); returns
 * their length.
 */
static size_t
json_head(const struct conn *c, char *head)
{
	char a[6 * ADDR_STRLEN + 1], n[6 * WIRE_NODE_MAX + 1];
	const char *node = c->shake.peer.node;
	int k;

	k = snprintf(head, JSON_HEAD,
	    "{\"kind\":\"msg\",\"conn\":%" PRIu64
	    ",\"peer\":\"%s\",\"node\":\"%s\",",
	    c->serial, fmt_json_str(a, sizeof(a), c->remote, strlen(c->remote)),
	    fmt_json_str(n, sizeof(n), node, strnlen(node, WIRE_NODE_MAX)));
	return ((size_t)k);
}

/*
 * -j: the message m of c as a JSON line at w (which has room for
 * fmt_json_bound(m->argslen) + JSON_HEAD bytes): its head, made once a
 * connection (they do not change once it is open), then its parts.
 */
static ssize_t
put_json(struct conn *c, char *w, const struct wire_msg *m)
{
	char tmp[JSON_HEAD];

	if (c->jhead == NULL && (c->jhead = malloc(JSON_HEAD)) != NULL)
		c->jheadlen = json_head(c, c->jhead);
	if (c->jhead != NULL)
		return (fmt_put_json(w, c->jhead, c->jheadlen, m->args,
		    m->argslen));
	/* No memory for it: made for this message alone. */
	return (fmt_put_json(w, tmp, json_head(c, tmp), m->args, m->argslen));
}

static void
conn_ack(struct conn *c)
{
	char n[24];
	const char *args[] = {n, NULL};

	if (c->sess == NULL || c->state != C_OPEN ||
	    c->sess->written == c->acked)
		return;
	c->acked = c->sess->written;
	snprintf(n, sizeof(n), "%" PRIu64, c->acked);
	(void)link_ctlv(&c->link, "ack", args, NULL, 0);
}

/* Free c once both its socket and its handler are gone: 1 when it was. */
int
conn_free(struct conn *c)
{
	if (c->fd != -1 || c->h.pid > 0)
		return (0);
	free(c->held);
	free(c->jhead);
	handler_free(&c->h);
	link_free(&c->link);
	server_hs_free(&c->shake);
	free(c);
	return (1);
}

/* Close the socket now; the handler side may live on until it exits. */
void
conn_close(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->fd != -1) {
		loop_del(cs->loop, c->fd);
		link_close(&c->link); /* c->fd is the link's */
		c->fd = -1;
		cs->nlive--;
	}
	if (c->has_slot) {
		c->has_slot = 0;
		cs->nopen--;
	}
	if (c->hs_slot != -1) {
		pool_del(&cs->handshakes, c->hs_slot);
		c->hs_slot = -1;
	}
	if (c->wait_slot != -1) {
		pool_del(&cs->waiting, c->wait_slot);
		c->wait_slot = -1;
	}
	c->state = C_CLOSED;
	if (c->reported) {
		child_close(cs->child, c);
		c->reported = 0;
	}
	if (c->sess != NULL) {
		server_sess_release(c->sess);
		c->sess = NULL;
	}
	/* A handler sees the end of its input once what is queued is in. */
	if (c->h.in != -1 && sink_empty(&c->h.s))
		handler_close_in(&c->h);
	/* Freed by conns_tick() (conn_free) once its handler is gone too:
	 * callers still hold c. */
}

/*
 * Say why, on standard error and in an error frame to the peer, then close
 * once the frame is out.  During the handshake the frame carries the code
 * of the refusal (WR_NONE after it), so that the client need not read the
 * text.
 */
static void
end(struct conn *c, void (*say)(const char *, ...), enum wire_refusal code,
    const char *why)
{
	struct conns *cs = c->cs;
	long long sec = net_now_ms() / 1000;
	char frame[512];
	size_t n;

	/* A flood of bad peers must not become a flood of lines: some a
	 * second, and how many were not said (conns_tick says it). */
	if (say == log_warnx && log_level < 2) {
		if (sec != cs->warn_sec) {
			cs->warn_sec = sec;
			cs->warned = 0;
		}
		if (cs->warned++ >= WARN_PER_SEC) {
			cs->unsaid++;
			say = log_info;
		}
	}
	say("%s: %s%s", c->remote, wire_refusal_lead(code), why);
	if (!c->cs->o->raw && c->fd != -1) {
		c->link.ctl.start = c->link.ctl.end = 0;
		c->link.qs = c->link.q.end; /* nothing more of ours */
		n = wire_put_error(frame, sizeof(frame), why, code);
		if (n <= sizeof(frame))
			(void)link_ctl(&c->link, frame, n);
		(void)link_flush(&c->link);
	}
	conn_close(c);
}

static void
conn_end(struct conn *c, enum wire_refusal code, const char *why)
{
	end(c, log_warnx, code, why);
}

/*
 * The same for a peer that did nothing wrong, but has no room here (full,
 * busy), said only with -v: under a flood there would be a line for each.
 */
void
conn_refuse(struct conn *c, enum wire_refusal code, const char *why)
{
	end(c, log_info, code, why);
}

/* The same after the handshake: the peer broke the protocol. */
void
conn_fail(struct conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	conn_end(c, WR_NONE, why);
}

/*
 * The connection broke (err: the errno of the read or write, 0 for an end
 * of stream).  A sealed stream that ends without its FINAL record was cut,
 * and that is worth saying even without -v.
 */
static void
conn_broken(struct conn *c, int err)
{
	if (c->link.seal != NULL && !c->link.final_in)
		log_warnx("%s: the sealed stream was cut before its end (%s)",
		    c->remote,
		    err && err != EPIPE ? strerror(err) : "no final record");
	else if (err)
		log_info("%s: %s", c->remote, strerror(err));
}

static void
begin_linger(struct conn *c)
{
	if (c->wr_shut)
		return;
	/* Sealed: the FINAL record ends our stream, and nothing follows it;
	 * the half-close waits until it is out. */
	if (c->link.seal != NULL) {
		link_end(&c->link);
		if (link_flush(&c->link) == -1 && errno != EAGAIN) {
			conn_broken(c, errno);
			conn_close(c);
			return;
		}
		if (link_pending(&c->link) > 0) {
			loop_want(c->cs->loop, c->fd, POLLIN | POLLOUT);
			return;
		}
	}
	link_shutdown(&c->link);
	c->wr_shut = 1;
	c->state = C_LINGER;
	c->deadline = net_now_ms() + LINGER_MS;
}

/* The loop's callbacks for a handler's pipes, given to handler_spawn. */
static void
on_handler_out(void *arg, int fd, int revents)
{
	struct conn *c = arg;

	(void)handler_read(&c->h);
	conn_settle(c);
}

static void
on_handler_in(void *arg, int fd, int revents)
{
	struct conn *c = arg;

	handler_flush(&c->h, conn_written, c->cs);
	conn_settle(c);
}

static int
spawn(struct conn *c)
{
	if (handler_spawn(&c->h, c, c->cs->loop, on_handler_in, on_handler_out,
		c) == -1) {
		log_warn("%s: handler", c->remote);
		conn_close(c);
		return (-1);
	}
	return (0);
}

/* The peer is who it says: the router hears of it, a handler starts. */
static void
conn_ready(struct conn *c)
{
	c->state = C_OPEN;
	if (c->cs->child != NULL) {
		child_open(c->cs->child, c);
		c->reported = 1;
	}
	if (c->cs->o->cmd != NULL)
		(void)spawn(c);
}

/*
 * c has a slot of -c now (it waited for one, or one was free): our last
 * handshake frame goes (our hello, or sealed our confirmation, after which
 * the link is sealed), and the peer is served.
 */
void
conn_open(struct conn *c)
{
	struct conns *cs = c->cs;
	char *frame = c->held;
	size_t flen = c->heldlen;

	if (c->wait_slot != -1) {
		pool_del(&cs->waiting, c->wait_slot);
		c->wait_slot = -1;
	}
	c->held = NULL;
	c->has_slot = 1;
	cs->nopen++;
	if (cs->hs->nkeys == 0) {
		(void)link_ctl(&c->link, frame, flen);
	} else if (buf_len(&c->link.ctl) > 0 ||
	    buf_append(&c->link.ctl, frame, flen) == -1 ||
	    link_flush(&c->link) != (ssize_t)flen) {
		/* Our confirmation, the last plaintext, goes ahead of the
		 * first record, whole. */
		conn_end(c, WR_BUSY, "could not send the key confirmation");
		goto out;
	} else if (link_seal(&c->link, server_take_seal(&c->shake)) == -1) {
		conn_end(c, WR_BUSY, "out of memory");
		goto out;
	} else {
		log_info("%s: sealed with key %d", c->remote, c->shake.key + 1);
	}
	c->reading = 0; /* the idle time starts now */
	conn_ready(c);
out:
	free(frame);
}

/*
 * c's handshake is done and its session claimed (server.c said
 * SERVER_OPEN): out of the handshake pool, and a connection of the same
 * session still open here is ended.
 */
static void
session_taken(struct conn *c)
{
	struct conns *cs = c->cs;
	struct conn *old = c->shake.displaced;

	pool_del(&cs->handshakes, c->hs_slot);
	c->hs_slot = -1;
	c->sess = c->shake.sess;
	/* A reconnect of a session still open here: the new one wins (and
	 * so has the slot the old one had). */
	if (old != NULL) {
		log_info("%s: session resumed from %s", old->remote, c->remote);
		old->sess = NULL;
		conn_close(old);
	}
	/* Acks sent on a lost connection may never have arrived: start from
	 * what the sender says it has, so the next ack covers the rest. */
	c->acked = c->shake.peer.from >= 0 &&
		(uint64_t)c->shake.peer.from < c->sess->written ?
	    (uint64_t)c->shake.peer.from :
	    c->sess->written;
	link_set_peer_max(&c->link, c->shake.peer.maxmsg);
	log_info("%s: node %s, session %s, from message %" PRIu64, c->remote,
	    c->shake.peer.node, c->shake.known ? "resumed" : "new",
	    c->sess->taken);
}

/*
 * The handshake is done (server.c said SERVER_OPEN; frame is our last
 * frame of it): a session resumed elsewhere is ended, and c takes a free
 * slot of -c, or waits for one.
 */
static void
handshake_done(struct conn *c, const char *frame, size_t flen)
{
	struct conns *cs = c->cs;
	void *victim;
	int i;

	session_taken(c);
	if ((c->held = malloc(flen)) == NULL) {
		conn_end(c, WR_BUSY, "out of memory");
		return;
	}
	memcpy(c->held, frame, flen);
	c->heldlen = flen;
	/* Those that waited first go first. */
	if (cs->nopen < cs->o->maxconn && cs->waiting.n == 0) {
		conn_open(c);
		return;
	}
	while ((i = pool_add(&cs->waiting, &c->key, c, net_now_ms(),
		    &victim)) == POOL_EVICT)
		conn_refuse(victim, WR_FULL,
		    "every connection slot is taken, and too many wait");
	if (i == POOL_REFUSED) {
		conn_refuse(c, WR_FULL,
		    "every connection slot is taken, and too many wait");
		return;
	}
	c->wait_slot = i;
	c->state = C_WAIT;
	c->deadline = net_now_ms() + SLOT_WAIT_MS;
	log_info("%s: waiting for a free slot", c->remote);
}

/*
 * A frame of the handshake (f bytes, taken here): the peer's hello, or,
 * sealed, its key confirmation.  server.c decides; here its answer is sent.
 */
static void
handshake(struct conn *c, const char *body, size_t len, size_t f)
{
	struct conns *cs = c->cs;
	char frame[WIRE_HELLO_MAX];
	enum server_state st;
	size_t flen;

	st = server_frame(&c->shake, cs->hs, cs->sess, c, net_now_ms(),
	    buf_data(&c->link.in), f, body, len, frame, &flen);
	if (st == SERVER_REFUSED) {
		conn_end(c, c->shake.code, c->shake.why);
		return;
	}
	link_take(&c->link, f);
	if (st == SERVER_CONFIRM) {
		/* Sealed: our hello; the key confirmation comes next. */
		(void)link_ctl(&c->link, frame, flen);
		link_set_peer_max(&c->link, c->shake.peer.maxmsg);
		c->state = C_CONFIRM;
		return;
	}
	handshake_done(c, frame, flen);
}

/*
 * udp: the transport has finished a sealed handshake (udp.c: the key was
 * proven beside the hello in CONNECT, our confirmation went in ACCEPT,
 * every datagram is sealed from now on): its session is claimed and c is
 * open, with that key, 0; or -1, c ended for want of room in the session
 * table (c->shake.code says which).
 */
int
conn_udp_open(struct conn *c, int key)
{
	struct conns *cs = c->cs;
	char err[WIRE_HELLO_MAX];
	size_t n;

	/* The key is proven: its session is claimed now (server.h). */
	if (server_proven(&c->shake, cs->sess, c, net_now_ms(), key, err, &n) !=
	    SERVER_OPEN) {
		conn_end(c, c->shake.code, c->shake.why);
		return (-1);
	}
	session_taken(c);
	server_hs_free(&c->shake);
	/* udp: has no waiting pool: request() asked conns_can_open first. */
	c->has_slot = 1;
	cs->nopen++;
	log_info("%s: sealed with key %d", c->remote, key + 1);
	c->reading = 0; /* the idle time starts now */
	conn_ready(c);
	return (0);
}

/* A destination that is us: the peer at the other end, all, our name. */
static int
dest_ok(const struct opts *o, const struct wire_msg *m)
{
	return (m->destlen == 0 ||
	    (m->destlen == 3 && memcmp(m->dest, "all", 3) == 0) ||
	    (m->destlen == strlen(o->node) &&
		memcmp(m->dest, o->node, m->destlen) == 0));
}

/*
 * A frame of an open connection, other than a msg for us that is written
 * out: 0 when handled, -1 when c has ended.
 */
static int
control(struct conn *c, const struct wire_msg *m)
{
	const struct opts *o = c->cs->o;
	struct frame_iter it;
	unsigned long long v;
	const char *p;
	size_t n;

	switch (m->cmd) {
	case W_ACK:
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, UINT64_MAX, &v) == -1 ||
		    link_ack(&c->link, v) == -1) {
			conn_fail(c, "bad ack");
			return (-1);
		}
		return (0);
	case W_PING: {
		char seq[24];
		const char *args[] = {seq, o->node, "0", NULL};

		/* A node of a mesh is for quilt-relay to reach. */
		if (!dest_ok(o, m)) {
			conn_fail(c, "no route to %.*s",
			    (int)(m->destlen > WIRE_NODE_MAX ? WIRE_NODE_MAX :
							       m->destlen),
			    m->dest);
			return (-1);
		}
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1 || n > 20) {
			conn_fail(c, "bad ping");
			return (-1);
		}
		memcpy(seq, p, n);
		seq[n] = '\0';
		if (frame_next_part(&it, &p, &n) != 1)
			p = "", n = 0;
		(void)link_ctlv(&c->link, "pong", args, p, n);
		return (0);
	}
	case W_PONG:
	case W_NOP:
		return (0);
	case W_BYE:
		c->peer_bye = 1;
		return (0);
	case W_ERROR:
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			p = "", n = 0;
		log_warnx("%s: the peer says: %.*s", c->remote, (int)n, p);
		conn_close(c);
		return (-1);
	default:
		conn_fail(c, "unknown command '%.*s'",
		    (int)(m->namelen > 32 ? 32 : m->namelen), m->name);
		return (-1);
	}
}

/*
 * Frames from a framed peer, as far as the output takes them: the
 * handshake's, then messages to the output (standard output, the handler,
 * or the router), acknowledged once written.
 */
static void
process_framed(struct conn *c)
{
	struct conns *cs = c->cs;
	const struct opts *o = cs->o;
	struct sink *sk = cs->out;
	struct server_sess *s = c->sess;
	uint64_t before = s ? s->taken : 0;
	struct wire_msg m;
	const char *body;
	size_t len;
	ssize_t f, k;
	char *w;

	if (o->cmd)
		sk = &c->h.s;
	else if (cs->child != NULL)
		sk = child_sink(cs->child, c);
	c->blocked = 0;
	while (c->state == C_OPEN || c->state == C_HELLO ||
	    c->state == C_CONFIRM) {
		f = link_frame(&c->link,
		    c->state != C_OPEN ? WIRE_HELLO_MAX : 0, &body, &len);
		if (f == 0)
			break;
		if (f == -1) {
			conn_end(c, c->state == C_OPEN ? WR_NONE : WR_HELLO,
			    errno == EMSGSIZE ? "frame over the message limit" :
						"malformed frame");
			return;
		}
		if (c->state == C_HELLO || c->state == C_CONFIRM) {
			handshake(c, body, len, f);
			if (c->state != C_OPEN && c->state != C_CONFIRM)
				return;
			s = c->sess; /* sealed: none before the key is proven */
			before = s ? s->taken : 0;
			continue;
		}
		if (cs->child != NULL) {
			switch (child_batch(cs->child, c)) {
			case 1:
				continue;
			case -1:
				c->blocked = 1;
				goto out;
			}
		}
		/* A msg for us: [], or our name (from a relay). */
		if ((m.args = wire_is_msg(body, len, &m.argslen)) == NULL &&
		    len >= o->minelen &&
		    memcmp(body, o->mine, o->minelen) == 0) {
			m.args = body + o->minelen;
			m.argslen = len - o->minelen;
		}
		if (m.args != NULL) {
			m.cmd = W_MSG;
			m.dest = "";
			m.destlen = 0;
		} else if (wire_decode(body, len, &m) == -1) {
			conn_fail(c, "malformed message");
			return;
		}
		if (cs->child != NULL) {
			if (m.cmd == W_MSG && c->peer_bye) {
				conn_fail(c, "message after bye");
				return;
			}
			switch (child_frame(cs->child, c, &m, dest_ok(o, &m),
			    buf_data(&c->link.in), f)) {
			case 1:
				link_take(&c->link, f);
				continue;
			case -1:
				c->blocked = 1;
				goto out;
			}
		}
		if (m.cmd != W_MSG) {
			if (control(c, &m) == -1)
				return;
			link_take(&c->link, f);
			continue;
		}
		if (c->peer_bye) {
			conn_fail(c, "message after bye");
			return;
		}
		if (!dest_ok(o, &m)) {
			conn_fail(c, "no route to %.*s", (int)m.destlen,
			    m.dest);
			return;
		}
		/* Nobody takes it (the handler is gone): it stays
		 * unacknowledged. */
		if (!c->h.in_dead && !(o->cmd && c->h.exited)) {
			size_t need = o->json ?
			    fmt_json_bound(m.argslen) + JSON_HEAD :
			    fmt_bound(m.argslen);

			if (sk->count == sk->cap ||
			    (w = sink_reserve(sk, need)) == NULL) {
				c->blocked = 1;
				goto out;
			}
			k = o->json ?
			    put_json(c, w, &m) :
			    fmt_put(o->fmt, w, m.args, m.argslen, &cs->escaped);
			if (k == -1) {
				conn_fail(c, "malformed message");
				return;
			}
			sink_commit(sk, k);
			s->taken++;
			cs->ctr.messages++;
			cs->ctr.bytes += k; /* no second parse of the parts */
		}
		link_take(&c->link, f);
	}
out:
	if (s != NULL && s->taken != before)
		(void)sink_mark(sk, s - cs->sess->s, s->gen, s->taken,
		    s->taken - before);
}

/*
 * Framed, open: acknowledge what is written, and say bye (and the
 * handler's exit) at the end.  0, or -1 when c has ended.
 */
static int
framed_end(struct conn *c)
{
	const struct conns *cs = c->cs;
	int all_written = c->sess && c->sess->written == c->sess->taken &&
	    buf_len(&c->link.in) == 0;

	conn_ack(c);
	if (cs->o->cmd) {
		if (handler_end(c))
			begin_linger(c);
	} else {
		/* -C: the relay's answers (done, pong) may still come after
		 * the client's bye; the client closes. */
		if (cs->child != NULL && c->peer_bye && c->rd_eof) {
			conn_close(c);
			return (-1);
		}
		if (!c->bye_sent && c->peer_bye && all_written &&
		    cs->child == NULL) {
			(void)link_ctlv(&c->link, "bye", NULL, NULL, 0);
			c->bye_sent = 1;
		}
		if (c->bye_sent && link_pending(&c->link) == 0)
			begin_linger(c);
	}
	/* Stopping: once what was received is written and acked. */
	if (cs->stopping && !cs->o->cmd && all_written &&
	    link_pending(&c->link) == 0 && c->state == C_OPEN)
		begin_linger(c);
	/* Its end without a bye; what is left unread, when nothing holds
	 * it back, is the start of a frame that will never be whole. */
	if (c->rd_eof && c->state == C_OPEN && !c->peer_bye &&
	    (buf_len(&c->link.in) == 0 || !c->blocked)) {
		log_info("%s: connection cut%s", c->remote,
		    buf_len(&c->link.in) > 0 ? " inside a frame" : "");
		conn_close(c);
		return (-1);
	}
	return (0);
}

/* After any event on a connection: move data on and decide what is next. */
void
conn_settle(struct conn *c)
{
	const struct opts *o = c->cs->o;
	short ev = 0;

	/* Waiting for a slot: nothing is read nor sent; only its end is
	 * watched. */
	if (c->state == C_WAIT) {
		loop_want(c->cs->loop, c->fd, POLLRDHUP);
		return;
	}
	if (c->h.pid > 0 || c->h.out != -1 || buf_len(&c->h.b) > 0)
		handler_replies(c);
	if (c->fd != -1 &&
	    (c->state == C_OPEN || c->state == C_HELLO ||
		c->state == C_CONFIRM) &&
	    buf_len(&c->link.in) > 0) {
		if (!o->raw)
			process_framed(c);
		else if (raw_process(c) == -1)
			conn_fail(c,
			    "record longer than the limit of %zu bytes",
			    o->maxmsg);
	}
	if (c->h.in != -1 && (!sink_empty(&c->h.s) || c->h.s.count > 0))
		handler_flush(&c->h, conn_written, c->cs);
	if (c->state == C_CLOSED && c->fd == -1) {
		handler_closed(c);
		return;
	}
	if (c->fd == -1 || c->state == C_WAIT)
		return;
	/* The end of its stream before its hello was done: it frees its
	 * place at once, not at the hello's deadline. */
	if (c->rd_eof && conn_shaking(c)) {
		log_info("%s: closed before its hello", c->remote);
		conn_close(c);
		return;
	}
	handler_input_end(c);
	if (o->raw) {
		/* Raw: half-close each way, end when both are done. */
		if (o->cmd ? handler_raw_end(c) : raw_end(c)) {
			conn_close(c);
			return;
		}
	} else if (c->state == C_OPEN && framed_end(c) == -1) {
		return;
	}
	if (link_pending(&c->link) > 0 && link_flush(&c->link) == -1 &&
	    errno != EAGAIN) {
		conn_broken(c, errno);
		conn_close(c);
		return;
	}
	/* Everything said, bye included: half-close and wait for the end. */
	if (c->state == C_OPEN && c->bye_sent && link_pending(&c->link) == 0 &&
	    (!o->cmd || c->exit_sent))
		begin_linger(c);
	if (c->rd_eof && c->state == C_LINGER) {
		conn_close(c);
		return;
	}
	if (!c->rd_eof && !c->blocked && !c->cs->stopping &&
	    buf_room(&c->link.in) + c->link.in.start +
		    (c->link.in.max - c->link.in.cap) >
		0)
		ev |= POLLIN;
	if (c->state == C_LINGER && !c->rd_eof)
		ev |= POLLIN;
	if (link_pending(&c->link) > 0)
		ev |= POLLOUT;
	/* -i counts only the time it is read from: a peer held back by our
	 * output is not idle. */
	if (!(ev & POLLIN) || c->state == C_LINGER)
		c->reading = 0;
	else if (!c->reading) {
		c->reading = 1;
		c->rx_at = net_now_ms();
	}
	loop_want(c->cs->loop, c->fd, ev);
	handler_want(c);
}

/* The loop's callback for a connection's socket (arg: the conn). */
void
conn_event(void *arg, int fd, int revents)
{
	struct conn *c = arg;
	ssize_t r;

	if (c->state == C_WAIT) {
		if (revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			log_info("%s: closed while it waited for a slot",
			    c->remote);
			conn_close(c);
		}
		return;
	}
	if (revents & POLLOUT) {
		if (link_flush(&c->link) == -1 && errno != EAGAIN) {
			conn_broken(c, errno);
			conn_close(c);
			return;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		r = link_read(&c->link);
		if (r == -1 && errno == EBADMSG) {
			/* Nothing of a bad record is delivered, nor after it;
			 * the sender is told, in our own sealed stream. */
			c->link.in.start = c->link.in.end = 0;
			/* clang-format off */
			conn_fail(c, "integrity check failed: a sealed record was altered, replayed or forged");
			/* clang-format on */
			return;
		}
		if (r > 0)
			c->rx_at = net_now_ms();
		if (r == 0 ||
		    (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
			c->rd_eof = 1;
			conn_broken(c, r == -1 ? errno : 0);
		}
		if (c->state == C_LINGER) {
			c->link.in.start = c->link.in.end = 0;
			if (c->rd_eof) {
				conn_close(c);
				return;
			}
		}
	}
	conn_settle(c);
}

/*
 * Begin: a raw connection is open at once (its handler started), a quilt
 * peer has until the deadline to say hello.  Its slot is taken first: a
 * handler that cannot start closes it, to be freed by conns_tick.
 */
void
conn_start(struct conn *c)
{
	const struct opts *o = c->cs->o;

	/* Read from at once: the idle time runs from now. */
	c->reading = 1;
	c->rx_at = net_now_ms();
	if (o->raw) {
		c->state = C_OPEN;
		if (o->cmd && spawn(c) == -1)
			return;
	} else {
		c->state = C_HELLO;
		c->deadline = c->rx_at + c->cs->hello_ms;
	}
	log_info("%s: connected", c->remote);
}

/* When c must have done something, or -1 (conns_tick's timer). */
long long
conn_deadline(const struct conn *c)
{
	long long d = conn_timed(c) ? c->deadline : -1;
	long long idle = c->cs->o->idle_ms;

	if (idle > 0 && c->reading && c->fd != -1 &&
	    (d == -1 || c->rx_at + idle < d))
		d = c->rx_at + idle;
	return (d);
}

/*
 * Past its deadline (the hello, a slot, the linger after our bye), or
 * read from without a byte for the idle time (-i), c is closed: 1 when it
 * was.
 */
int
conn_expired(struct conn *c, long long now)
{
	long long idle = c->cs->o->idle_ms;

	if (idle > 0 && c->reading && c->fd != -1 && now - c->rx_at >= idle) {
		log_info("%s: nothing received for %lld ms: closed", c->remote,
		    now - c->rx_at);
		conn_close(c);
		return (1);
	}
	if (!conn_timed(c) || now < c->deadline)
		return (0);
	/* clang-format off */
	if (c->state == C_WAIT) {
		char why[96];

		snprintf(why, sizeof(why), "every connection slot is taken (-c %d)",
		    c->cs->o->maxconn);
		conn_refuse(c, WR_FULL, why);
		return (1);
	}
	if (c->state != C_LINGER)
		log_info("%s: no hello in time", c->remote);
	else
		log_info("%s: the peer did not close in time after our bye", c->remote);
	/* clang-format on */
	conn_close(c);
	return (1);
}

/* Something to do without an event: acks to send, output room to use. */
int
conn_waits(const struct conn *c)
{
	return (c->blocked || (c->sess && c->sess->written != c->acked) ||
	    (c->h.in != -1 && c->h.s.count > 0));
}

/*
 * From the router: a frame for c's peer (to), or its end with an error
 * (drop, why); only while c is open (one for a connection that has ended
 * since is late, not wrong).
 */
void
conn_router(struct conn *c, const struct cmsg *m)
{
	if (c->state != C_OPEN)
		return;
	if (m->type == CM_TO) {
		(void)link_ctl(&c->link, m->data.p, m->data.len);
		conn_settle(c);
	} else {
		conn_fail(c, "%.*s", (int)m->text.len, m->text.p);
	}
}

/* Its handler was reaped with this wait status. */
void
conn_reaped(struct conn *c, int status)
{
	handler_exited(&c->h, status);
	conn_settle(c);
}
