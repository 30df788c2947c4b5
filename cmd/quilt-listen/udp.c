/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen over udp: one socket for every connection.  A datagram from
 * an address that has a connection goes to its engine; any other is a
 * connect request for the engine's stateless listener (libcommon/udp.h):
 * a COOKIE back, nothing kept, until the request comes again with it.
 * Then the connection is made as conns.c makes one for an accepted socket
 * (its fd the read end of its bell, libcommon/udpsock.h), the client's
 * hello is handed to it, and conn.c's handshake (server.c) answers: its
 * hello goes back in ACCEPT, or its refusal's reason in REJECT (full,
 * version, key).  Sealed, the key the client proves beside its hello is
 * the one the keys are derived with, and our confirmation rides in
 * ACCEPT.  From then on conn.c runs the connection as it runs a TCP one,
 * through its link; this file feeds the engines, sends what they give,
 * runs their timers, writes unreliable messages out, and frees each
 * engine once it has ended.
 *
 * Nothing here waits for a peer to authenticate, so the handshake pool
 * and its limit per address that hold TCP peers (conns.c) have nothing
 * to bound: before its cookie comes back a source costs no state, and
 * the request with its cookie is answered at once, ACCEPT or REJECT;
 * sealed, the session is claimed only once the key proof checks.  What
 * a connection holds from then on is a slot of -c, as over TCP.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "listen.h"
#include "log.h"
#include "net.h"
#include "seal.h"

/* What this file keeps of a connection (udpconn's owner). */
struct uinfo {
	struct udpl *u;
	struct conn *c; /* while its link has it */
	char remote[ADDR_STRLEN];
	uint64_t taken0; /* the session's messages when it opened */
	uint64_t msgs_in, umsgs_in, udropped, replies;
	uint64_t pending, peak_pending; /* taken, not yet acknowledged */
	int said_dead;
};

/* --- connections by address ----------------------------------------------- */

/* The address as a key: family, port, address bytes. */
static size_t
addr_key(const struct sockaddr_storage *ss, unsigned char k[24])
{
	memset(k, 0, 24);
	k[0] = (unsigned char)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		memcpy(k + 2, &in->sin_port, 2);
		memcpy(k + 4, &in->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		memcpy(k + 2, &in6->sin6_port, 2);
		memcpy(k + 4, &in6->sin6_addr, 16);
		memcpy(k + 20, &in6->sin6_scope_id, 4);
	}
	return (24);
}

static size_t
addr_hash(const struct udpl *u, const struct sockaddr_storage *ss)
{
	unsigned char k[24];
	uint64_t h = 1469598103934665603ULL;

	addr_key(ss, k);
	for (int i = 0; i < 24; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return ((size_t)(h ^ h >> 29) & u->hmask);
}

static int
addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	unsigned char ka[24], kb[24];

	addr_key(a, ka);
	addr_key(b, kb);
	return (memcmp(ka, kb, 24) == 0);
}

static struct udpconn *
lookup(const struct udpl *u, const struct sockaddr_storage *from)
{
	struct udpconn *uc = u->hash[addr_hash(u, from)];

	while (uc != NULL && !addr_same(&uc->peer, from))
		uc = uc->hnext;
	return (uc);
}

static void
hash_del(struct udpl *u, struct udpconn *uc)
{
	struct udpconn **pp = &u->hash[addr_hash(u, &uc->peer)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == uc) {
			*pp = uc->hnext;
			uc->hnext = NULL;
			return;
		}
}

/* --- set-up ------------------------------------------------------------------
 */

int
udpl_init(struct udpl *u, struct conns *cs, int fd,
    const struct sockaddr_storage *la, socklen_t lalen)
{
	size_t n = 64;
	uint64_t now = udpsock_now();

	memset(u, 0, sizeof(*u));
	u->cs = cs;
	u->la = *la;
	u->lalen = lalen;
	udpsock_params(&u->p, cs->o->maxmsg);
	while (n < 2 * (size_t)cs->o->maxconn && n < 65536)
		n *= 2;
	u->hmask = n - 1;
	if ((u->hash = calloc(n, sizeof(*u->hash))) == NULL ||
	    (u->l = udp_listener_new(now)) == NULL ||
	    udpsock_init(&u->sock, fd, u->p.mtu, 0) == -1)
		return (-1);
	u->tick_at = udp_listener_tick(u->l, now);
	return (0);
}

/* --- what comes from a connection --------------------------------------------
 */

/* The link let it go: what it did is kept for the counters. */
static void
released(struct udpconn *uc)
{
	struct uinfo *in = uc->owner;
	struct conn *c = in->c;

	if (c != NULL && c->sess != NULL) {
		in->msgs_in = c->sess->taken - in->taken0;
		in->pending = c->sess->taken - c->acked;
	}
	if (c != NULL)
		in->replies = c->link.n_queued;
	in->c = NULL;
}

/*
 * An unreliable message (one msg frame): written out as a reliable one
 * is, unnumbered and never acknowledged; dropped when there is no room
 * for it, or nobody to take it (a relay takes reliable messages only).
 */
static void
unreliable(void *arg, const char *m, size_t len)
{
	struct udpconn *uc = arg;
	struct uinfo *in = uc->owner;
	struct conn *c = in->c;
	struct conns *cs;
	const struct opts *o;
	const char *body, *args;
	size_t blen, alen;
	struct sink *sk;
	ssize_t k;
	char *w;

	if (c == NULL || c->state != C_OPEN || c->sess == NULL ||
	    c->cs->child != NULL)
		goto drop;
	cs = c->cs;
	o = cs->o;
	if (frame_parse(m, len, o->maxmsg, &body, &blen) != (ssize_t)len)
		goto drop;
	if ((args = wire_is_msg(body, blen, &alen)) == NULL) {
		if (blen < o->minelen || memcmp(body, o->mine, o->minelen) != 0)
			goto drop;
		args = body + o->minelen;
		alen = blen - o->minelen;
	}
	sk = o->cmd ? &c->h.s : cs->out;
	if ((o->cmd && (c->h.in_dead || c->h.exited || c->h.in == -1)) ||
	    sk->count == sk->cap ||
	    (w = sink_reserve(sk, fmt_bound(alen))) == NULL)
		goto drop;
	if ((k = fmt_put(o->fmt, w, args, alen, &cs->escaped)) == -1)
		goto drop;
	sink_commit(sk, k);
	/* A mark of its own, no session's (gen never matches), so that a
	 * batch written in part counts none of these as acknowledged. */
	(void)sink_mark(sk, c->sess - cs->sess->s, ~c->sess->gen, 0, 0);
	in->umsgs_in++;
	return;
drop:
	in->udropped++;
}

/* --- the handshake
 * ------------------------------------------------------------ */

/* A refusal's code as a REJECT's reason. */
static enum udp_reason
reason_of(enum wire_refusal code)
{
	switch (code) {
	case WR_VERSION:
		return (UDP_R_VERSION);
	case WR_SEALED:
	case WR_PLAIN:
	case WR_CONFIRM:
	case WR_AUTH:
		return (UDP_R_KEY);
	case WR_FULL:
	case WR_BUSY:
		return (UDP_R_FULL);
	case WR_NONE:
		return (UDP_R_REFUSED);
	default:
		return (UDP_R_PROTOCOL);
	}
}

static void
reply(struct udpl *u, const void *b, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	unsigned char *w = udpsock_room(&u->sock);

	if (w == NULL)
		return; /* lost, as on a network: it will ask again */
	memcpy(w, b, len);
	udpsock_queue(&u->sock, len, to, tolen);
}

static void
refuse(struct udpl *u, const struct udp_request *req, enum udp_reason r,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	unsigned char b[UDP_REPLY_MAX];
	size_t n = udp_reject(req, r, b, sizeof(b));

	u->refused++;
	reply(u, b, n, to, tolen);
}

/*
 * Sealed: the key the client proves (the proof frame after its hello),
 * the keys derived with it, our confirmation after our hello at out.
 * The key's index, with *dg the datagrams' seal; -1 when no key fits.
 */
static int
sealed(struct udpl *u, struct conn *c, const char *proof, size_t prooflen,
    char *out, size_t *outlen, struct seal_dg **dg)
{
	const struct server_conf *hs = u->cs->hs;
	unsigned char pk[SEAL_PKLEN], prf[SEAL_PROOFLEN], tag[SEAL_TAGLEN];
	unsigned char hdr[SEAL_HDRLEN];
	int k;

	if (udpsock_get_proof(proof, prooflen, prf) == -1 ||
	    seal_unhex(pk, sizeof(pk), c->shake.peer.kx,
		strlen(c->shake.peer.kx)) == -1)
		return (-1);
	for (k = 0; k < hs->nkeys; k++)
		if (seal_proof_check(hs->key[k], pk, prf) == 0)
			break;
	if (k == hs->nkeys || c->shake.seal == NULL ||
	    seal_derive(c->shake.seal, hs->key[k], pk, c->shake.transcript,
		c->shake.tlen) == -1)
		return (-1);
	seal_tag(c->shake.seal, tag);
	memset(hdr, 0, sizeof(hdr)); /* no stream: datagrams are sealed */
	*outlen = wire_put_confirm(out, tag, hdr);
	if ((*dg = seal_dg_new(c->shake.seal)) == NULL)
		return (-1);
	return (k);
}

/* The client's first frame to conn.c, as a TCP client's would come. */
static struct conn *
new_conn(struct udpl *u, struct udpconn *uc, const struct udp_request *req,
    size_t hl)
{
	struct uinfo *in = calloc(1, sizeof(*in));
	struct conn *c;

	if (in == NULL)
		return (NULL);
	in->u = u;
	c = conns_add(u->cs, uc->bell[0], &uc->peer, uc->peerlen, &u->la,
	    u->lalen);
	uc->bell[0] = -1; /* the conn's fd now */
	if (c == NULL) {
		free(in);
		return (NULL);
	}
	in->c = c;
	snprintf(in->remote, sizeof(in->remote), "%s", c->remote);
	uc->owner = in;
	uc->released = released;
	uc->umsg = unreliable;
	uc->umsg_arg = uc;
	uc->sndbuf = u->p.sndbuf;
	c->link.fd = c->fd;
	c->link.uc = uc;
	uc->linked = 1;
	if (buf_append(&c->link.in, req->hello, hl) == -1) {
		conn_close(c);
		return (NULL);
	}
	conn_settle(c);
	return (c);
}

/*
 * --allow, --deny: a datagram from a refused address, with no connection,
 * is dropped unanswered (no cookie: nothing to say, nothing kept) and
 * counted as a refused TCP peer is.
 */
static int
permitted(struct udpl *u, const struct sockaddr_storage *from, socklen_t len)
{
	char who[ADDR_STRLEN];

	if (acl_permits(&u->cs->o->acl, (const struct sockaddr *)from, len))
		return (1);
	u->cs->accepted++;
	u->cs->refused++;
	addr_str(who, (const struct sockaddr *)from, len);
	/* A relay's child speaks only when the relay has -v. */
	if (u->cs->child)
		log_warnx("udp:%s: refused (--allow, --deny)", who);
	else
		log_info("udp:%s: refused (--allow, --deny)", who);
	return (0);
}

/* A connect request with a good cookie, from an address without one. */
static void
request(struct udpl *u, const struct sockaddr_storage *from, socklen_t len,
    const struct udp_request *req, uint64_t now)
{
	char hello[UDP_HELLO_MAX];
	const char *proof, *rest;
	size_t hl, ours, restlen, prooflen, clen = 0;
	struct seal_dg *dg = NULL;
	struct udpconn *uc;
	struct conn *c;
	int key = -1;

	u->cs->accepted++; /* as a TCP connection accepted, before its hello */
	if (u->stopping) {
		refuse(u, req, UDP_R_REFUSED, from, len);
		return;
	}
	if (!conns_can_open(u->cs, net_now_ms())) {
		char a[ADDR_STRLEN];

		addr_str(a, (const struct sockaddr *)from, len);
		log_info("udp:%s: refused: the listener is full (-c)", a);
		refuse(u, req, UDP_R_FULL, from, len);
		return;
	}
	if (udpsock_split_hello(req->hello, req->hellolen, &hl, &proof,
		&prooflen) == -1) {
		char a[ADDR_STRLEN];

		addr_str(a, (const struct sockaddr *)from, len);
		log_warnx("udp:%s: refused: a malformed hello", a);
		refuse(u, req, UDP_R_PROTOCOL, from, len);
		return;
	}
	if ((uc = udpconn_new(NULL, &u->sock, 0, from, len, 1)) == NULL) {
		refuse(u, req, UDP_R_FULL, from, len);
		return;
	}
	if ((c = new_conn(u, uc, req, hl)) == NULL) {
		free(uc->owner);
		udpconn_free(uc);
		refuse(u, req, UDP_R_FULL, from, len);
		return;
	}
	if (c->state == C_CLOSED) {
		/* conn.c refused it, and said why. */
		refuse(u, req, reason_of(c->shake.code), from, len);
		goto gone;
	}
	/* Our hello is the first frame it queued. */
	if (udpsock_split_hello((unsigned char *)buf_data(&c->link.ctl),
		buf_len(&c->link.ctl), &ours, &rest, &restlen) == -1 ||
	    ours > sizeof(hello)) {
		conn_close(c);
		refuse(u, req, UDP_R_PROTOCOL, from, len);
		goto gone;
	}
	memcpy(hello, buf_data(&c->link.ctl), ours);
	if (c->state == C_CONFIRM &&
	    (key = sealed(u, c, proof, prooflen, hello + ours, &clen, &dg)) ==
		-1) {
		/* clang-format off */
		log_warnx("%s: refused: authentication failed: the key it proves is none of ours", c->remote);
		/* clang-format on */
		conn_close(c);
		refuse(u, req, UDP_R_KEY, from, len);
		goto gone;
	}
	/* Proven: the session is claimed now, not at the hello. */
	if (key >= 0 && conn_udp_open(c, key) == -1) {
		seal_dg_free(dg);
		refuse(u, req, reason_of(c->shake.code), from, len);
		goto gone;
	}
	if (ours + clen > UDP_HELLO_MAX ||
	    (uc->u = udp_accept(&u->p, req, hello, ours + clen, dg, now)) ==
		NULL) {
		log_warn("%s", c->remote);
		conn_close(c);
		refuse(u, req, UDP_R_FULL, from, len);
		goto gone;
	}
	buf_consume(&c->link.ctl, ours);
	uc->next = u->all;
	u->all = uc;
	{
		size_t h = addr_hash(u, &uc->peer);

		uc->hnext = u->hash[h];
		u->hash[h] = uc;
	}
	u->accepted++;
	((struct uinfo *)uc->owner)->taken0 = c->sess ? c->sess->taken : 0;
	conn_settle(c); /* what it queued after its hello */
	(void)udpconn_output(uc, now);
	return;
gone:
	/* Closed: its link let uc go, which was never in the tables. */
	free(uc->owner);
	udpconn_free(uc);
}

/* --- the socket
 * ---------------------------------------------------------------- */

static void
input(struct udpl *u)
{
	uint64_t now = udpsock_now();
	unsigned char rb[UDP_REPLY_MAX];

	struct udpconn *last = NULL;

	/* A bounded number of batches a turn: the other fds get theirs. */
	for (int k = 0; k < 16; k++) {
		int n = udpsock_recv(&u->sock);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct sockaddr_storage *from = &u->sock.rfrom[i];
			socklen_t fl = u->sock.rm[i].msg_hdr.msg_namelen;
			struct udp_request req;
			struct udpconn *uc;
			size_t len, rl;
			unsigned char *d = udpsock_dg(&u->sock, i, &len);

			if ((uc = lookup(u, from)) != NULL &&
			    udp_input(uc->u, d, len, now) == 0) {
				if (last != NULL && last != uc)
					udpconn_peaks(last);
				last = uc;
				continue;
			}
			if (uc == NULL && !permitted(u, from, fl))
				continue;
			switch (udp_listen(u->l, from, fl, d, len, now, rb, &rl,
			    &req)) {
			case UDP_DROP:
				if (uc == NULL)
					u->dropped++;
				break;
			case UDP_REPLY:
				u->cookies++;
				reply(u, rb, rl, from, fl);
				break;
			case UDP_REQUEST:
				if (uc != NULL) {
					/* A new client where the old one
					 * was: that one is gone. */
					hash_del(u, uc);
					udp_abort(uc->u, UDP_R_NONE);
				}
				request(u, from, fl, &req, now);
				break;
			}
		}
		if (n < UDPSOCK_BATCH)
			break;
	}
	if (last != NULL)
		udpconn_peaks(last);
}

/* The loop's callback for the socket (arg: the udpl). */
void
udpl_event(void *arg, int fd, int revents)
{
	struct udpl *u = arg;

	if (revents & POLLOUT)
		(void)udpsock_flush(&u->sock);
	if (revents & (POLLIN | POLLERR))
		input(u);
}

/* -v: one connection's counters, at its end. */
static void
counters(const struct udpconn *uc)
{
	const struct uinfo *in = uc->owner;
	struct udpsock_msgs m = {
	    .out = in->replies,
	    .in = in->msgs_in + in->umsgs_in,
	    .uin = in->umsgs_in,
	    .pending = in->pending,
	    .peak_pending = in->peak_pending,
	};
	char line[1024];

	if (log_level < 2)
		return;
	udpsock_counters(line, sizeof(line), uc, &m, 0);
	log_info("%s: udp: %s, unreliable not written %" PRIu64, in->remote,
	    line, in->udropped);
}

/* An engine that has ended and sent its last datagram: gone. */
static void
done(struct udpl *u, struct udpconn *uc, struct udpconn **pp)
{
	*pp = uc->next;
	hash_del(u, uc);
	counters(uc);
	free(uc->owner);
	udpconn_free(uc);
}

/*
 * Once a turn of the loop: wake the connections that have news, send
 * what every engine has due (their timers run there), free those that
 * have ended.  The next deadline (ms, net_now_ms's clock), or -1.
 */
long long
udpl_tick(struct udpl *u, long long nowms)
{
	uint64_t now = udpsock_now(), next = UDP_NEVER;
	struct udpconn **pp = &u->all, *uc;
	int full = 0;

	if (now >= u->tick_at)
		u->tick_at = udp_listener_tick(u->l, now);
	next = u->tick_at;
	while ((uc = *pp) != NULL) {
		struct uinfo *in = uc->owner;
		enum udp_why why;
		uint64_t d;

		/* News for a connection that waits for input: it reads at
		 * once (as the loop would call it once its bell rang), so
		 * that an answer goes out below, in this turn. */
		if (uc->linked && udpconn_news(uc)) {
			struct conn *c = in->c;

			if (c != NULL && c->fd != -1 &&
			    (loop_wanted(u->cs->loop, c->fd) & POLLIN))
				conn_event(c, c->fd, POLLIN);
			if (uc->linked && udpconn_news(uc))
				udpconn_ring(uc);
		}
		if (!full && udpconn_output(uc, now) == -1)
			full = 1;
		if (udp_state(uc->u, &why, NULL) == UDP_DEAD) {
			if (why == UDP_WHY_TIMEOUT && uc->linked &&
			    !in->said_dead) {
				/* clang-format off */
				log_warnx("%s: no datagram from the peer for %" PRIu64 " ms: it is gone (timed out)",
				    in->remote, u->p.idle_us / 1000);
				/* clang-format on */
				in->said_dead = 1;
			}
			if (!uc->linked && udp_deadline(uc->u) == UDP_NEVER) {
				done(u, uc, pp);
				continue;
			}
		}
		if (in->c != NULL && in->c->sess != NULL &&
		    in->c->sess->taken - in->c->acked > in->peak_pending)
			in->peak_pending = in->c->sess->taken - in->c->acked;
		d = udp_deadline(uc->u);
		if (d < next)
			next = d;
		pp = &uc->next;
	}
	if (udpsock_flush(&u->sock) == -1)
		full = 1;
	loop_want(u->cs->loop, u->sock.fd, POLLIN | (full ? POLLOUT : 0));
	/* Blocked: POLLOUT says when to go on. */
	if (next == UDP_NEVER || (full && next <= now))
		return (-1);
	return (next <= now ? nowms :
			      nowms + (long long)((next - now + 999) / 1000));
}

/* Stopping: no new connection (REJECT); those there end on the socket. */
void
udpl_stop(struct udpl *u)
{
	u->stopping = 1;
}

/* No engine is left (each has said its last). */
int
udpl_empty(const struct udpl *u)
{
	return (u->all == NULL);
}

/* -v at exit and SIGUSR1: what the listener did with requests. */
void
udpl_counters(const struct udpl *u, void (*say)(const char *, ...))
{
	/* clang-format off */
	say("udp: requests answered with a cookie %" PRIu64 ", accepted %" PRIu64 ", refused %" PRIu64 "; datagrams for no connection %" PRIu64 ", not sent %" PRIu64,
	    u->cookies, u->accepted, u->refused, u->dropped,
	    u->sock.send_errors);
	/* clang-format on */
}

/* -j's summary: the same, as a JSON object at out (cap bytes). */
void
udpl_counters_json(const struct udpl *u, char *out, size_t cap)
{
	/* clang-format off */
	snprintf(out, cap, "{\"cookies\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"no_connection\":%" PRIu64 ",\"not_sent\":%" PRIu64 "}",
	    u->cookies, u->accepted, u->refused, u->dropped,
	    u->sock.send_errors);
	/* clang-format on */
}
