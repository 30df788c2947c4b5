/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "udpsock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "link.h"
#include "net.h"
#include "seal.h"

uint64_t
udpsock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

static uint64_t
env_us(const char *name, uint64_t def)
{
	const char *e = getenv(name);
	long long v = e ? atoll(e) : 0;

	return (v > 0 && v < 86400000LL ? (uint64_t)v * 1000 : def);
}

void
udpsock_params(struct udp_params *p, size_t maxmsg)
{
	size_t m = frame_size(maxmsg + 64);

	udp_params_default(p);
	/* Unreliable messages are whole frames; stream chunks are smaller
	 * than UDPSOCK_CHUNK. */
	if (m < UDPSOCK_CHUNK)
		m = UDPSOCK_CHUNK;
	p->maxmsg = m < UDP_MSG_MAX ? m : UDP_MSG_MAX;
	p->keepalive_us = env_us("QUILT_UDP_KEEPALIVE", p->keepalive_us);
	p->idle_us = env_us("QUILT_UDP_TIMEOUT", p->idle_us);
	if (p->keepalive_us >= p->idle_us)
		p->keepalive_us = p->idle_us / 4 ? p->idle_us / 4 : 1;
}

/* --- the socket and its batches ------------------------------------------ */

int
udpsock_init(struct udpsock *s, int fd, size_t mtu, int connected)
{
	int sz = UDPSOCK_BUF;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->mtu = mtu;
	s->connected = connected;
	s->rbuf = malloc(UDPSOCK_BATCH * mtu);
	s->sbuf = malloc(UDPSOCK_BATCH * mtu);
	if (s->rbuf == NULL || s->sbuf == NULL) {
		udpsock_free(s);
		errno = ENOMEM;
		return (-1);
	}
	/* Room for bursts: the kernel caps it (net.core.rmem_max). */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	for (int i = 0; i < UDPSOCK_BATCH; i++) {
		s->riov[i].iov_base = s->rbuf + i * mtu;
		s->siov[i].iov_base = s->sbuf + i * mtu;
	}
	return (0);
}

void
udpsock_free(struct udpsock *s)
{
	free(s->rbuf);
	free(s->sbuf);
	s->rbuf = s->sbuf = NULL;
}

int
udpsock_recv(struct udpsock *s)
{
	int n;

	for (int i = 0; i < UDPSOCK_BATCH; i++) {
		struct msghdr *h = &s->rm[i].msg_hdr;

		s->riov[i].iov_len = s->mtu;
		h->msg_name = &s->rfrom[i];
		h->msg_namelen = sizeof(s->rfrom[i]);
		h->msg_iov = &s->riov[i];
		h->msg_iovlen = 1;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		h->msg_flags = 0;
	}
	do
		n = recvmmsg(s->fd, s->rm, UDPSOCK_BATCH, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == ECONNREFUSED)
			s->refused = 1;
		return (errno == EAGAIN ? 0 : -1);
	}
	/* A datagram longer than we take is cut: none of it is taken. */
	for (int i = 0; i < n; i++)
		if (s->rm[i].msg_hdr.msg_flags & MSG_TRUNC)
			s->rm[i].msg_len = 0;
	return (n);
}

unsigned char *
udpsock_room(struct udpsock *s)
{
	if (s->sn == UDPSOCK_BATCH && udpsock_flush(s) == -1)
		return (NULL);
	return (s->sbuf + s->sn * s->mtu);
}

void
udpsock_queue(struct udpsock *s, size_t len, const void *to, socklen_t tolen)
{
	struct msghdr *h = &s->sm[s->sn].msg_hdr;

	memset(h, 0, sizeof(*h));
	s->siov[s->sn].iov_len = len;
	h->msg_iov = &s->siov[s->sn];
	h->msg_iovlen = 1;
	if (!s->connected) {
		memcpy(&s->sto[s->sn], to, tolen);
		h->msg_name = &s->sto[s->sn];
		h->msg_namelen = tolen;
	}
	s->sn++;
}

int
udpsock_flush(struct udpsock *s)
{
	while (s->sfirst < s->sn) {
		int r = sendmmsg(s->fd, s->sm + s->sfirst, s->sn - s->sfirst,
		    MSG_DONTWAIT);

		if (r > 0) {
			s->sfirst += r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			s->blocked = 1;
			return (-1);
		}
		if (errno == ECONNREFUSED)
			s->refused = 1;
		/* Lost, as on a network (ECONNREFUSED: an ICMP error for an
		 * earlier datagram; the reader hears of it too). */
		s->send_errors++;
		s->sfirst++;
	}
	s->sfirst = s->sn = 0;
	s->blocked = 0;
	return (0);
}

/* --- a connection ----------------------------------------------------------
 */

struct udpconn *
udpconn_new(struct udp *u, struct udpsock *sock, int own, const void *peer,
    socklen_t len, int bell)
{
	struct udpconn *uc = calloc(1, sizeof(*uc));

	if (uc == NULL)
		return (NULL);
	uc->u = u;
	uc->sock = sock;
	uc->own = own;
	memcpy(&uc->peer, peer, len);
	uc->peerlen = len;
	uc->bell[0] = uc->bell[1] = -1;
	if (bell && pipe2(uc->bell, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(uc);
		return (NULL);
	}
	return (uc);
}

void
udpconn_free(struct udpconn *uc)
{
	if (uc == NULL)
		return;
	udp_free(uc->u);
	for (int i = 0; i < 2; i++)
		if (uc->bell[i] != -1)
			close(uc->bell[i]);
	if (uc->own) {
		udpsock_free(uc->sock);
		free(uc->sock);
	}
	free(uc->carry);
	free(uc);
}

void
udpconn_release(struct udpconn *uc)
{
	uc->linked = 0;
	/* The link closed the bell's read end (its fd). */
	uc->bell[0] = -1;
	if (uc->own) {
		udpconn_free(uc);
		return;
	}
	if (uc->u != NULL)
		udp_close(uc->u, udpsock_now());
	if (uc->released != NULL)
		uc->released(uc);
}

void
udpconn_shutdown(struct udpconn *uc)
{
	if (uc->u == NULL)
		return;
	udp_close(uc->u, udpsock_now());
	if (uc->own) {
		(void)udpconn_output(uc, udpsock_now());
		(void)udpsock_flush(uc->sock);
	}
}

void
udpconn_abort(struct udpconn *uc, enum udp_reason reason)
{
	if (uc->u == NULL || udp_state(uc->u, NULL, NULL) == UDP_DEAD)
		return;
	udp_abort(uc->u, reason);
	if (uc->own) {
		(void)udpconn_output(uc, udpsock_now());
		(void)udpsock_flush(uc->sock);
	}
}

void
udpconn_ring(struct udpconn *uc)
{
	if (uc->rung || uc->bell[1] == -1)
		return;
	(void)!write(uc->bell[1], "", 1);
	uc->rung = 1;
}

static void
unring(struct udpconn *uc)
{
	char b[16];

	if (!uc->rung || uc->bell[0] == -1)
		return;
	while (read(uc->bell[0], b, sizeof(b)) > 0)
		;
	uc->rung = 0;
}

int
udpconn_news(const struct udpconn *uc)
{
	size_t rel, unrel;

	if (uc->u == NULL || !uc->linked)
		return (0);
	if (uc->carry_at < uc->carry_len || udp_readable(uc->u))
		return (1);
	if (uc->full) {
		udp_pending(uc->u, &rel, &unrel);
		return (rel <= uc->sndbuf / 2);
	}
	return (0);
}

/* The errno that says how a dead connection ended; 0 for a clean end. */
static int
end_errno(const struct udpconn *uc)
{
	enum udp_why why;
	enum udp_reason reason;

	if (udp_state(uc->u, &why, &reason) != UDP_DEAD)
		return (EAGAIN);
	switch (why) {
	case UDP_WHY_CLOSED:
		return (0);
	case UDP_WHY_PEER_CLOSED:
		return (reason == UDP_R_NONE ? 0 : ECONNRESET);
	case UDP_WHY_TIMEOUT:
		return (ETIMEDOUT);
	case UDP_WHY_PROTOCOL:
		return (EPROTO);
	default:
		return (ECONNABORTED);
	}
}

int
udpconn_output(struct udpconn *uc, uint64_t now)
{
	unsigned char *b;
	size_t n;

	if (uc->u == NULL)
		return (0);
	for (;;) {
		if ((b = udpsock_room(uc->sock)) == NULL)
			return (-1);
		if ((n = udp_output(uc->u, b, uc->sock->mtu, now)) == 0)
			break;
		udpsock_queue(uc->sock, n, &uc->peer, uc->peerlen);
	}
	return (0);
}

int
udpconn_wait_ms(const struct udpconn *uc, uint64_t now)
{
	uint64_t d;

	if (uc->u == NULL || (d = udp_deadline(uc->u)) == UDP_NEVER)
		return (-1);
	if (d <= now)
		return (0);
	d = (d - now + 999) / 1000;
	return (d > 3600000 ? 3600000 : (int)d);
}

void
udpconn_peaks(struct udpconn *uc)
{
	struct udp_stats st;

	udp_stats(uc->u, &st);
	if (st.pending_acks > uc->peak_pending)
		uc->peak_pending = st.pending_acks;
	if (st.reorder > uc->peak_reorder)
		uc->peak_reorder = st.reorder;
}

/* A client's socket: every datagram that waits, into the engine. */
static int
client_input(struct udpconn *uc, uint64_t now)
{
	struct udpsock *s = uc->sock;
	int n, seen = 0;

	for (int k = 0; k < 64; k++) {
		if ((n = udpsock_recv(s)) == -1)
			return (-1);
		for (int i = 0; i < n; i++) {
			size_t len;
			unsigned char *d = udpsock_dg(s, i, &len);

			(void)udp_input(uc->u, d, len, now);
		}
		seen += n;
		if (n < UDPSOCK_BATCH)
			break;
	}
	if (seen > 0)
		udpconn_peaks(uc);
	return (0);
}

ssize_t
udpconn_read(struct udpconn *uc, struct buf *in)
{
	uint64_t now = udpsock_now();
	size_t got = 0, cap = uc->own ? SIZE_MAX : 4 * UDPSOCK_CHUNK;
	const void *m;
	ssize_t r;
	int rel, stop = EAGAIN;

	if (uc->u == NULL) {
		errno = EAGAIN;
		return (-1);
	}
	uc->full = 0; /* woken for it: the writer tries again after */
	if (uc->own) {
		if (client_input(uc, now) == -1 && errno == ECONNREFUSED)
			return (-1);
		/* Acknowledgements and window updates go at once. */
		(void)udpconn_output(uc, now);
		(void)udpsock_flush(uc->sock);
	}
	while (got < cap) {
		size_t room;

		/* What did not fit last time goes first. */
		if (uc->carry_at < uc->carry_len) {
			size_t k = uc->carry_len - uc->carry_at;

			if (buf_reserve(in, 1) == -1)
				break;
			room = buf_room(in);
			if (k > room)
				k = room;
			memcpy(buf_tail(in), uc->carry + uc->carry_at, k);
			in->end += k;
			uc->carry_at += k;
			got += k;
			if (uc->carry_at < uc->carry_len)
				break;
			continue;
		}
		if (in->max - buf_len(in) == 0)
			break;
		(void)buf_reserve(in,
		    in->max - buf_len(in) < UDPSOCK_CHUNK ?
			in->max - buf_len(in) :
			UDPSOCK_CHUNK);
		if ((r = udp_recv(uc->u, &m, &rel)) == -1) {
			stop = errno;
			break;
		}
		if (!rel) {
			if (uc->umsg != NULL)
				uc->umsg(uc->umsg_arg, m, r);
			else
				uc->udropped++;
			continue;
		}
		room = buf_room(in);
		if ((size_t)r > room) {
			if (uc->carry == NULL &&
			    (uc->carry = malloc(UDPSOCK_CHUNK)) == NULL)
				return (-1);
			memcpy(uc->carry, (const char *)m + room, r - room);
			uc->carry_at = 0;
			uc->carry_len = r - room;
			r = room;
		}
		memcpy(buf_tail(in), m, r);
		in->end += r;
		got += r;
	}
	if (got > 0) {
		if (uc->own)
			(void)udpconn_output(uc, now); /* the window moved */
		return ((ssize_t)got);
	}
	switch (stop) {
	case EMSGSIZE:
		errno = EPROTO;
		return (-1);
	case EPIPE: /* dead, and nothing of it is left */
		uc->told = 1;
		if ((stop = end_errno(uc)) == 0)
			return (0);
		errno = stop == EAGAIN ? EPIPE : stop;
		return (-1);
	case EAGAIN:
		break;
	default:
		errno = stop;
		return (-1);
	}
	if (uc->own && uc->sock->refused) {
		errno = ECONNREFUSED;
		return (-1);
	}
	if (!udpconn_news(uc))
		unring(uc);
	errno = EAGAIN;
	return (-1);
}

ssize_t
udpconn_write(struct udpconn *uc, const struct iovec *iov, int n)
{
	uint64_t now = udpsock_now();
	size_t taken = 0, offered = 0;
	int err, stop = 0;

	if (uc->u == NULL) {
		errno = EAGAIN;
		return (-1);
	}
	uc->full = 0;
	for (int i = 0; i < n && !stop; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len, chunk = UDPSOCK_CHUNK;

		offered += left;
		while (left > 0) {
			size_t k = left < chunk ? left : chunk;

			if (udp_send(uc->u, p, k, 1) == 0) {
				p += k;
				left -= k;
				taken += k;
				continue;
			}
			stop = 1;
			if (errno != ENOBUFS)
				break;
			/* Full: a smaller piece may still fit. */
			if (k <= 4096) {
				uc->full = 1;
				break;
			}
			chunk = k / 2;
			stop = 0;
		}
	}
	if (uc->own) {
		(void)udpconn_output(uc, now);
		(void)udpsock_flush(uc->sock);
		udpconn_peaks(uc);
	}
	if (taken > 0)
		return ((ssize_t)taken);
	if ((err = end_errno(uc)) != EAGAIN) {
		errno = err ? err : EPIPE;
		return (-1);
	}
	if (uc->own && uc->sock->refused) {
		errno = ECONNREFUSED;
		return (-1);
	}
	if (offered == 0)
		return (0);
	errno = EAGAIN;
	return (-1);
}

int
udpconn_unreliable(struct udpconn *uc, const void *m, size_t len)
{
	if (uc->u == NULL) {
		errno = EPIPE;
		return (-1);
	}
	if (udp_send(uc->u, m, len, 0) == -1) {
		if (errno == ENOTCONN)
			errno = EPIPE;
		return (-1);
	}
	return (0);
}

size_t
udpconn_unsent(const struct udpconn *uc)
{
	size_t rel, unrel;

	if (uc->u == NULL)
		return (0);
	udp_pending(uc->u, &rel, &unrel);
	return (unrel);
}

void
udpconn_end(struct udpconn *uc, int timeout_ms)
{
	struct pollfd pfd = {.fd = uc->sock->fd, .events = POLLIN};
	uint64_t until = udpsock_now() + (uint64_t)timeout_ms * 1000;

	if (uc->u == NULL)
		return;
	udp_close(uc->u, udpsock_now());
	for (;;) {
		uint64_t now = udpsock_now();
		int w;

		(void)udpconn_output(uc, now);
		(void)udpsock_flush(uc->sock);
		if (udp_state(uc->u, NULL, NULL) == UDP_DEAD || now >= until)
			return;
		w = udpconn_wait_ms(uc, now);
		if (w == -1 || (uint64_t)w * 1000 > until - now)
			w = (int)((until - now + 999) / 1000);
		pfd.events = POLLIN | (uc->sock->blocked ? POLLOUT : 0);
		if (poll(&pfd, 1, w) > 0 &&
		    client_input(uc, udpsock_now()) == -1 &&
		    errno == ECONNREFUSED)
			return;
	}
}

void
udpsock_counters(char *out, size_t cap, const struct udpconn *uc,
    const struct udpsock_msgs *m, int json)
{
	struct udp_stats st;

	udp_stats(uc->u, &st);
	/* clang-format off */
	snprintf(out, cap, json ?
	    "{\"datagrams_out\":%" PRIu64 ",\"datagrams_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"messages_out\":%" PRIu64 ",\"messages_in\":%" PRIu64 ",\"unreliable_out\":%" PRIu64 ",\"unreliable_in\":%" PRIu64 ",\"resends\":%" PRIu64 ",\"pending_acks\":%" PRIu64 ",\"pending_acks_max\":%" PRIu64 ",\"reorder_queue\":%" PRIu64 ",\"reorder_queue_max\":%" PRIu64 ",\"keepalives_out\":%" PRIu64 ",\"keepalives_in\":%" PRIu64 ",\"rtt_ms\":%.3f,\"dropped_bad\":%" PRIu64 ",\"dropped_wrong_id\":%" PRIu64 ",\"dropped_forged\":%" PRIu64 ",\"dropped_replayed\":%" PRIu64 "}" :
	    "datagrams out %" PRIu64 " in %" PRIu64 ", bytes out %" PRIu64 " in %" PRIu64 ", messages out %" PRIu64 " in %" PRIu64 ", unreliable out %" PRIu64 " in %" PRIu64 ", resends %" PRIu64 ", pending acks %" PRIu64 " (at most %" PRIu64 "), reorder queue %" PRIu64 " (at most %" PRIu64 "), keep-alives out %" PRIu64 " in %" PRIu64 ", rtt %.3f ms, dropped bad %" PRIu64 ", wrong id %" PRIu64 ", forged %" PRIu64 ", replayed %" PRIu64,
	    st.dgrams_out, st.dgrams_in, st.bytes_out, st.bytes_in, m->out,
	    m->in, m->uout, m->uin, st.resends, m->pending, m->peak_pending,
	    st.reorder, uc->peak_reorder, st.keepalives_out, st.keepalives_in,
	    st.srtt_us / 1000.0, st.drop_bad, st.drop_id, st.drop_auth,
	    st.drop_replay);
	/* clang-format on */
}

/* --- the client's handshake ------------------------------------------------
 */

int
udpsock_split_hello(const unsigned char *h, size_t len, size_t *hello,
    const char **next, size_t *nextlen)
{
	const char *body;
	size_t blen;
	ssize_t f = frame_parse((const char *)h, len, WIRE_HELLO_MAX, &body,
	    &blen);

	if (f <= 0)
		return (-1);
	*hello = f;
	*next = (const char *)h + f;
	*nextlen = len - f;
	return (0);
}

const char *
udpsock_reason_str(enum udp_reason r)
{
	switch (r) {
	case UDP_R_NONE:
		return ("closed");
	case UDP_R_FULL:
		return ("the listener is full (-c)");
	case UDP_R_VERSION:
		return ("no common protocol version");
	case UDP_R_KEY:
		/* clang-format off */
		return ("authentication failed: the listener does not take this key, or one end is sealed (-k) and the other is not");
		/* clang-format on */
	case UDP_R_PROTOCOL:
		return ("a protocol error");
	default:
		return ("refused");
	}
}

/* Say why into why; the class is the caller's. */
static enum client_err __attribute__((format(printf, 4, 5)))
say(enum client_err e, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return (e);
}

int
udpsock_get_proof(const char *p, size_t n, unsigned char proof[SEAL_PROOFLEN])
{
	struct frame_iter it;
	struct wire_msg m;
	const char *body, *part;
	size_t blen, len;
	ssize_t f = frame_parse(p, n, WIRE_HELLO_MAX, &body, &blen);

	/* A whole frame, and nothing after it. */
	if (f <= 0 || (size_t)f != n || wire_decode(body, blen, &m) == -1 ||
	    m.destlen != 0 || m.namelen != 5 || memcmp(m.name, "proof", 5) != 0)
		return (-1);
	frame_iter_init(&it, m.args, m.argslen);
	if (frame_next_part(&it, &part, &len) != 1 ||
	    seal_unhex(proof, SEAL_PROOFLEN, part, len) == -1 ||
	    frame_next_part(&it, &part, &len) != 0)
		return (-1);
	return (0);
}

enum client_err
udpsock_check_accept(const unsigned char *h, size_t hl, const char *mine,
    size_t minelen, struct seal *s, const unsigned char *psk,
    const struct wire_hello *me, struct wire_hello *peer, struct seal_dg **dg,
    char *why, size_t whylen)
{
	unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN], hdr[SEAL_HDRLEN];
	char transcript[2 * UDP_HELLO_MAX];
	const char *body, *rest;
	size_t f, blen, restlen;
	struct wire_msg m = {.cmd = W_UNKNOWN};

	*dg = NULL;
	if (h == NULL || hl > UDP_HELLO_MAX || minelen > UDP_HELLO_MAX ||
	    udpsock_split_hello(h, hl, &f, &rest, &restlen) == -1)
		return (say(CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer: not a netstring"));
	(void)frame_parse((const char *)h, f, WIRE_HELLO_MAX, &body, &blen);
	if (wire_decode(body, blen, &m) == -1 || wire_get_hello(&m, peer) == -1)
		return (say(CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer: %s",
		    wire_hello_fault_str(
			m.cmd == W_HELLO ? peer->fault : WH_PROTO)));
	if (wire_version(me, peer) == 0)
		return (say(CLIENT_PROTOCOL, why, whylen,
		    "no common protocol version (we speak %u-%u, the peer %u-%u)",
		    me->vmin, me->vmax, peer->vmin, peer->vmax));
	if (peer->sealed != me->sealed)
		return (say(CLIENT_PROTOCOL, why, whylen, "%s",
		    peer->sealed ? "the peer is sealed (-k) and we are not" :
				   "the peer is not sealed (no -k)"));
	if (s == NULL)
		return (CLIENT_OK);
	/* Its confirmation follows its hello. */
	if (frame_parse(rest, restlen, WIRE_HELLO_MAX, &body, &blen) <= 0 ||
	    wire_decode(body, blen, &m) == -1 ||
	    wire_get_confirm(&m, tag, hdr) == -1)
		return (say(CLIENT_PROTOCOL, why, whylen,
		    "bad confirmation from the peer"));
	memcpy(transcript, mine, minelen);
	memcpy(transcript + minelen, h, f);
	if (seal_unhex(pk, sizeof(pk), peer->kx, strlen(peer->kx)) == -1 ||
	    seal_derive(s, psk, pk, transcript, minelen + f) == -1)
		return (say(CLIENT_PROTOCOL, why, whylen,
		    "bad key exchange from the peer"));
	/* clang-format off */
	if (seal_check(s, tag) == -1)
		return (say(CLIENT_AUTH, why, whylen,
		    "authentication failed: the peer does not hold this key, or the handshake was altered"));
	/* clang-format on */
	if ((*dg = seal_dg_new(s)) == NULL)
		return (say(CLIENT_OSERR, why, whylen, "out of memory"));
	return (CLIENT_OK);
}

/* What a REJECT's reason is to the program (its exit status). */
static enum client_err
reject_class(enum udp_reason r)
{
	switch (r) {
	case UDP_R_FULL:
		return (CLIENT_TEMPFAIL);
	case UDP_R_VERSION:
	case UDP_R_PROTOCOL:
		return (CLIENT_PROTOCOL);
	case UDP_R_KEY:
		return (CLIENT_AUTH);
	default:
		return (CLIENT_UNAVAILABLE);
	}
}

/*
 * The handshake on a connected socket until deadline (ms): the engine
 * asks, the listener answers.
 */
static enum client_err
handshake(struct udpconn *uc, long long deadline, const char *mine,
    size_t minelen, struct seal *s, const unsigned char *psk,
    const struct wire_hello *me, struct wire_hello *peer, char *why,
    size_t whylen)
{
	struct pollfd pfd = {.fd = uc->sock->fd, .events = POLLIN};
	enum udp_reason reason;
	enum udp_why w;
	enum client_err e;
	struct seal_dg *dg;

	for (;;) {
		uint64_t now = udpsock_now();
		long long left = deadline - net_now_ms();
		int wait;

		(void)udpconn_output(uc, now);
		(void)udpsock_flush(uc->sock);
		if (uc->sock->refused)
			return (say(CLIENT_UNAVAILABLE, why, whylen, "%s",
			    strerror(ECONNREFUSED)));
		switch (udp_state(uc->u, &w, &reason)) {
		case UDP_ACCEPTED: {
			size_t hl = 0;
			const unsigned char *h = udp_peer_hello(uc->u, &hl);

			e = udpsock_check_accept(h, hl, mine, minelen, s, psk,
			    me, peer, &dg, why, whylen);
			if (e != CLIENT_OK) {
				/* Tell it, in the clear: it believes an
				 * ABORT only now. */
				udp_abort(uc->u,
				    e == CLIENT_AUTH ? UDP_R_KEY :
						       UDP_R_PROTOCOL);
				(void)udpconn_output(uc, udpsock_now());
				(void)udpsock_flush(uc->sock);
				return (e);
			}
			if (udp_start(uc->u, dg, udpsock_now()) == -1)
				return (say(CLIENT_OSERR, why, whylen, "%s",
				    strerror(errno)));
			(void)udpconn_output(uc, udpsock_now());
			(void)udpsock_flush(uc->sock);
			return (CLIENT_OK);
		}
		case UDP_DEAD:
			if (w == UDP_WHY_REJECTED)
				return (say(reject_class(reason), why, whylen,
				    "refused: %s", udpsock_reason_str(reason)));
			return (say(CLIENT_TEMPFAIL, why, whylen, "timed out"));
		default:
			break;
		}
		if (left <= 0)
			return (say(CLIENT_TEMPFAIL, why, whylen, "timed out"));
		wait = udpconn_wait_ms(uc, now);
		if (wait == -1 || wait > left)
			wait = (int)left;
		pfd.events = POLLIN | (uc->sock->blocked ? POLLOUT : 0);
		if (poll(&pfd, 1, wait) > 0 &&
		    client_input(uc, udpsock_now()) == -1) {
			if (errno == ECONNREFUSED)
				return (say(CLIENT_UNAVAILABLE, why, whylen,
				    "%s", strerror(errno)));
			return (say(CLIENT_OSERR, why, whylen, "%s",
			    strerror(errno)));
		}
	}
}

size_t
udpsock_connect_hello(char *out, struct wire_hello *me, struct seal *s,
    const unsigned char *psk, size_t *hlen)
{
	unsigned char pk[SEAL_PKLEN], proof[SEAL_PROOFLEN];
	char hex[2 * SEAL_PROOFLEN + 1];
	const char *args[] = {hex, NULL};
	size_t n;

	me->sealed = s != NULL;
	if (s != NULL)
		seal_pk_hex(s, me->kx);
	n = *hlen = wire_put_hello(out, me);
	if (s != NULL) {
		(void)seal_unhex(pk, sizeof(pk), me->kx, strlen(me->kx));
		seal_proof(psk, pk, proof);
		seal_hex(hex, proof, sizeof(proof));
		n += wire_put_ctl(out + n, UDP_HELLO_MAX - n, "proof", args,
		    NULL, 0);
	}
	return (n);
}

enum client_err
udpconn_open(const struct addr *a, int timeout_ms, struct link *l,
    const struct wire_hello *me0, struct wire_hello *peer,
    const unsigned char *psk, size_t maxmsg, char *why, size_t whylen)
{
	long long deadline = net_now_ms() + timeout_ms;
	struct wire_hello me = *me0;
	struct addrinfo hints, *res, *ai;
	struct udp_params p;
	char port[8], hello[2 * WIRE_HELLO_MAX];
	enum client_err e = CLIENT_UNAVAILABLE;
	int gai;

	link_reset(l, -1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", a->port_lo);
	if ((gai = getaddrinfo(a->host[0] ? a->host : NULL, port, &hints,
		 &res)) != 0) {
		snprintf(why, whylen, "resolve %s: %s", a->host,
		    gai_strerror(gai));
		return (gai == EAI_AGAIN ? CLIENT_TEMPFAIL : CLIENT_NOHOST);
	}
	udpsock_params(&p, maxmsg);
	snprintf(why, whylen, "%s", strerror(ECONNREFUSED));
	/* Each address in turn, while it refuses at once. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct udpsock *sock = calloc(1, sizeof(*sock));
		struct seal *s = NULL;
		struct udpconn *uc = NULL;
		struct udp *u;
		size_t n, hlen;
		int fd;

		fd = socket(ai->ai_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (sock == NULL || fd == -1 ||
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    udpsock_init(sock, fd, p.mtu, 1) == -1 ||
		    (psk != NULL && (s = seal_new(1)) == NULL)) {
			e = say(errno == ENOMEM || errno == EMFILE ?
				CLIENT_OSERR :
				CLIENT_UNAVAILABLE,
			    why, whylen, "%s", strerror(errno));
			if (fd != -1)
				close(fd);
			if (sock != NULL)
				udpsock_free(sock);
			free(sock);
			continue;
		}
		n = udpsock_connect_hello(hello, &me, s, psk, &hlen);
		u = udp_connect(&p, hello, n, udpsock_now());
		if (u == NULL ||
		    (uc = udpconn_new(u, sock, 1, ai->ai_addr, ai->ai_addrlen,
			 0)) == NULL) {
			udp_free(u);
			udpsock_free(sock);
			free(sock);
			seal_free(s);
			close(fd);
			e = say(CLIENT_OSERR, why, whylen, "out of memory");
			break;
		}
		uc->sndbuf = p.sndbuf;
		e = handshake(uc, deadline, hello, hlen, s, psk, &me, peer, why,
		    whylen);
		seal_free(s);
		if (e == CLIENT_OK) {
			/* The link has both now. */
			l->fd = fd;
			l->uc = uc;
			uc->linked = 1;
			link_set_peer_max(l, peer->maxmsg);
			break;
		}
		udpconn_free(uc);
		close(fd);
		if (e != CLIENT_UNAVAILABLE)
			break;
	}
	freeaddrinfo(res);
	return (e);
}
