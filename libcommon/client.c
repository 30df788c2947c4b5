/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "net.h"
#include "seal.h"

/* Write all of p within the deadline; -1 with errno. */
static int
write_all(int fd, const char *p, size_t n, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (net_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return (-1);
		}
		(void)poll(&pfd, 1, (int)(deadline - net_now_ms()));
	}
	return (0);
}

/* Close the connection and say why (a printf format). */
static enum client_err __attribute__((format(printf, 5, 6)))
fail(struct link *l, enum client_err e, char *why, size_t whylen,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (l->fd != -1) {
		close(l->fd);
		l->fd = -1;
	}
	return (e);
}

/*
 * Read one whole frame of the handshake: its size (> 0) with *body, or 0
 * with *e and why set.
 */
static ssize_t
read_frame(struct link *l, long long deadline, const char **body, size_t *len,
    enum client_err *e, char *why, size_t whylen)
{
	struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
	ssize_t r;

	for (;;) {
		r = link_frame(l, WIRE_HELLO_MAX, body, len);
		if (r > 0)
			return (r);
		if (r == -1) {
			*e = fail(l, CLIENT_PROTOCOL, why, whylen,
			    "bad hello from the peer: %s",
			    errno == EMSGSIZE ? "a frame over 1024 bytes" :
						"not a netstring");
			return (0);
		}
		if (net_now_ms() >= deadline) {
			*e = fail(l, CLIENT_TEMPFAIL, why, whylen, "timed out");
			return (0);
		}
		(void)poll(&pfd, 1, (int)(deadline - net_now_ms()));
		r = link_read(l);
		if (r == 0) {
			*e = fail(l, CLIENT_PROTOCOL, why, whylen,
			    "the peer closed the connection during the hello");
			return (0);
		}
		if (r == -1 && errno != EAGAIN) {
			*e = fail(l, CLIENT_UNAVAILABLE, why, whylen, "%s",
			    strerror(errno));
			return (0);
		}
	}
}

/*
 * An error frame from the peer, refusing us: the class of the failure from
 * its code (never from its words, which are for people), its text as the
 * reason.
 */
static int
is_error(const struct wire_msg *m, struct link *l, enum client_err *e,
    char *why, size_t whylen)
{
	enum wire_refusal code;
	const char *text;
	size_t n;

	if (wire_get_error(m, &text, &n, &code) == -1)
		return (0);
	switch (code) {
	case WR_AUTH:
		*e = CLIENT_AUTH;
		break;
	case WR_FULL:
	case WR_BUSY:
		*e = CLIENT_UNAVAILABLE;
		break;
	default:
		*e = CLIENT_PROTOCOL;
		break;
	}
	(void)fail(l, *e, why, whylen, "refused: %s%.*s",
	    wire_refusal_lead(code), (int)(n > 200 ? 200 : n), text);
	return (1);
}

/*
 * The sealed half of the handshake, after both hellos: derive, send our
 * confirmation and stream header, check the listener's.
 */
static enum client_err
confirm(struct link *l, long long deadline, struct seal *s,
    const unsigned char *psk, const struct wire_hello *peer,
    const char *transcript, size_t tlen, char *why, size_t whylen)
{
	unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN], hdr[SEAL_HDRLEN];
	char frame[WIRE_HELLO_MAX];
	struct wire_msg m;
	const char *body;
	size_t len, n;
	enum client_err e;
	ssize_t r;

	if (seal_unhex(pk, sizeof(pk), peer->kx, strlen(peer->kx)) == -1 ||
	    seal_derive(s, psk, pk, transcript, tlen) == -1)
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad key exchange from the peer"));
	seal_tag(s, tag);
	seal_push_init(s, hdr);
	n = wire_put_confirm(frame, tag, hdr);
	if (write_all(l->fd, frame, n, deadline) == -1)
		return (fail(l,
		    errno == ETIMEDOUT ? CLIENT_TEMPFAIL : CLIENT_UNAVAILABLE,
		    why, whylen, "%s",
		    errno == ETIMEDOUT ? "timed out" : strerror(errno)));
	if ((r = read_frame(l, deadline, &body, &len, &e, why, whylen)) == 0)
		return (e);
	if (wire_decode(body, len, &m) == -1)
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad confirmation from the peer"));
	if (is_error(&m, l, &e, why, whylen))
		return (e);
	if (wire_get_confirm(&m, tag, hdr) == -1)
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad confirmation from the peer"));
	/* clang-format off */
	if (seal_check(s, tag) == -1 || seal_pull_init(s, hdr) == -1)
		return (fail(l, CLIENT_AUTH, why, whylen,
		    "authentication failed: the peer does not hold this key, or the handshake was altered"));
	/* clang-format on */
	link_take(l, r);
	return (CLIENT_OK);
}

enum client_err
client_open(const struct addr *a, int timeout_ms, struct link *l,
    const struct wire_hello *me0, struct wire_hello *peer,
    const unsigned char *psk, char *why, size_t whylen)
{
	long long deadline = net_now_ms() + timeout_ms;
	char hello[WIRE_HELLO_MAX], transcript[2 * WIRE_HELLO_MAX];
	struct wire_hello mine = *me0, *me = &mine;
	struct seal *s = NULL;
	struct wire_msg m;
	const char *body;
	size_t len, hlen;
	enum client_err e;
	ssize_t r;
	int fd, gai;

	fd = net_connect(a, timeout_ms, &gai);
	link_reset(l, fd);
	if (fd == -1) {
		if (gai != 0) {
			snprintf(why, whylen, "resolve %s: %s", a->host,
			    gai_strerror(gai));
			return (
			    gai == EAI_AGAIN ? CLIENT_TEMPFAIL : CLIENT_NOHOST);
		}
		snprintf(why, whylen, "%s",
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
		if (errno == ETIMEDOUT)
			return (CLIENT_TEMPFAIL);
		return (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM ?
			CLIENT_OSERR :
			CLIENT_UNAVAILABLE);
	}
	me->sealed = psk != NULL;
	if (psk != NULL) {
		if ((s = seal_new(1)) == NULL)
			return (fail(l, CLIENT_OSERR, why, whylen,
			    "out of memory"));
		seal_pk_hex(s, me->kx);
	}
	hlen = wire_put_hello(hello, me);
	if (write_all(fd, hello, hlen, deadline) == -1)
		goto ioerr;
	if ((r = read_frame(l, deadline, &body, &len, &e, why, whylen)) == 0)
		goto out;
	if (wire_decode(body, len, &m) == -1) {
		e = fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer: %s",
		    wire_hello_fault_str(WH_PROTO));
		goto out;
	}
	if (is_error(&m, l, &e, why, whylen))
		goto out;
	if (wire_get_hello(&m, peer) == -1) {
		e = fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer: %s",
		    wire_hello_fault_str(peer->fault));
		goto out;
	}
	/* The transcript: both hellos as they were on the wire. */
	memcpy(transcript, hello, hlen);
	memcpy(transcript + hlen, buf_data(&l->in), r);
	link_take(l, r);
	if (wire_version(me, peer) == 0) {
		/* clang-format off */
		e = fail(l, CLIENT_PROTOCOL, why, whylen,
		    "no common protocol version (we speak %u-%u, the peer %u-%u)",
		    me->vmin, me->vmax, peer->vmin, peer->vmax);
		/* clang-format on */
		goto out;
	}
	if (peer->sealed != me->sealed) {
		e = fail(l, CLIENT_PROTOCOL, why, whylen, "%s",
		    peer->sealed ? "the peer is sealed (-k) and we are not" :
				   "the peer is not sealed (no -k)");
		goto out;
	}
	if (s != NULL) {
		e = confirm(l, deadline, s, psk, peer, transcript, hlen + r,
		    why, whylen);
		if (e != CLIENT_OK)
			goto out;
		if (link_seal(l, s) == -1) {
			s = NULL;
			e = fail(l, CLIENT_OSERR, why, whylen, "out of memory");
			goto out;
		}
		s = NULL; /* the link has it now */
	}
	link_set_peer_max(l, peer->maxmsg);
	return (CLIENT_OK);
ioerr : {
	int timedout = errno == ETIMEDOUT;

	e = fail(l, timedout ? CLIENT_TEMPFAIL : CLIENT_UNAVAILABLE, why,
	    whylen, "%s", timedout ? "timed out" : strerror(errno));
}
out:
	seal_free(s);
	return (e);
}
