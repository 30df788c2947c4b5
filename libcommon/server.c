/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int
server_table_init(struct server_table *t, size_t n, long long max_age)
{
	if ((t->s = calloc(n, sizeof(*t->s))) == NULL)
		return (-1);
	t->n = n;
	t->max_age = max_age;
	return (0);
}

void
server_table_free(struct server_table *t)
{
	free(t->s);
	t->s = NULL;
	t->n = 0;
}

/* The session sid, or NULL: nothing changed. */
static struct server_sess *
peek(struct server_table *t, const unsigned char sid[WIRE_SID_LEN])
{
	for (size_t i = 0; i < t->n; i++)
		if (t->s[i].used && memcmp(t->s[i].sid, sid, WIRE_SID_LEN) == 0)
			return (&t->s[i]);
	return (NULL);
}

struct server_sess *
server_sess_find(struct server_table *t, const unsigned char sid[WIRE_SID_LEN],
    uint64_t from, long long now, int *known)
{
	struct server_sess *s, *victim = NULL, *empty = NULL;

	if ((s = peek(t, sid)) != NULL) {
		*known = 1;
		s->used = now;
		return (s);
	}
	/*
	 * A free slot, else an idle session (the table is bounded): one that
	 * took nothing first, since a new one would be the same (peers that
	 * say hello and nothing else must not push out those that resume),
	 * then the oldest.
	 */
	for (size_t i = 0; i < t->n; i++) {
		s = &t->s[i];
		if (!s->used ||
		    (s->owner == NULL && now - s->used > t->max_age)) {
			victim = empty = s;
			break;
		}
		if (s->owner != NULL)
			continue;
		if (victim == NULL || s->used < victim->used)
			victim = s;
		if (s->taken == s->start &&
		    (empty == NULL || s->used < empty->used))
			empty = s;
	}
	if (empty != NULL)
		victim = empty;
	if (victim == NULL)
		return (NULL);
	*known = 0;
	memcpy(victim->sid, sid, WIRE_SID_LEN);
	victim->taken = victim->written = victim->start = from;
	victim->used = now;
	victim->owner = NULL;
	victim->gen++;
	return (victim);
}

void *
server_sess_claim(struct server_sess *s, void *owner)
{
	void *old = s->owner;

	s->owner = owner;
	return (old == owner ? NULL : old);
}

void
server_hs_init(struct server_hs *h)
{
	memset(h, 0, sizeof(*h));
	h->state = SERVER_HELLO;
}

void
server_hs_free(struct server_hs *h)
{
	seal_free(h->seal);
	h->seal = NULL;
	free(h->transcript);
	h->transcript = NULL;
}

/* Refuse: the error frame at out, the code and reason in h. */
static enum server_state __attribute__((format(printf, 5, 6)))
refuse(struct server_hs *h, enum wire_refusal code, char *out, size_t *outlen,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	h->code = code;
	*outlen = wire_put_error(out, WIRE_HELLO_MAX, h->why, code);
	server_hs_free(h);
	return (h->state = SERVER_REFUSED);
}

/* The peer's hello: check it, find its session, answer with ours. */
static enum server_state
hello(struct server_hs *h, const struct server_conf *c, struct server_table *t,
    void *owner, long long now, const char *frame, size_t flen,
    const char *body, size_t len, char *out, size_t *outlen)
{
	struct wire_hello me, *peer = &h->peer;
	struct server_sess *s = NULL;
	struct wire_msg m;
	uint64_t from;
	size_t n;

	if (wire_decode(body, len, &m) == -1 || m.cmd != W_HELLO)
		return (
		    refuse(h, WR_HELLO, out, outlen, "expected a quilt hello"));
	if (wire_get_hello(&m, peer) == -1)
		return (
		    refuse(h, wire_hello_fault_code(peer->fault), out, outlen,
			"bad hello: %s", wire_hello_fault_str(peer->fault)));
	memset(&me, 0, sizeof(me));
	me.vmin = WIRE_VMIN;
	me.vmax = WIRE_VMAX;
	/* clang-format off */
	if (wire_version(&me, peer) == 0)
		return (refuse(h, WR_VERSION, out, outlen,
		    "no common protocol version (this listener speaks %u-%u, the peer %u-%u)",
		    me.vmin, me.vmax, peer->vmin, peer->vmax));
	if (peer->sealed && c->nkeys == 0)
		return (refuse(h, WR_SEALED, out, outlen,
		    "the peer is sealed (-k) and this listener is not"));
	if (!peer->sealed && c->nkeys > 0)
		return (refuse(h, WR_PLAIN, out, outlen,
		    "this listener is sealed (-k) and the peer is not"));
	/* clang-format on */
	from = peer->from < 0 ? 0 : peer->from;
	if (c->nkeys == 0) {
		s = server_sess_find(t, peer->sid, from, now, &h->known);
		if (s == NULL)
			return (refuse(h, WR_FULL, out, outlen,
			    "too many live sessions"));
		h->resume = s->taken;
	} else {
		/* Sealed: only looked at until the key is proven. */
		const struct server_sess *p = peek(t, peer->sid);

		h->resume = p != NULL ? p->taken : from;
	}
	memcpy(me.node, c->node, sizeof(me.node));
	memcpy(me.sid, peer->sid, WIRE_SID_LEN);
	me.maxmsg = c->maxmsg;
	me.from = -1;
	me.resume = h->resume;
	me.idle = c->idle;
	me.handler = c->handler;
	memcpy(me.relay, c->relay, sizeof(me.relay));
	if (c->nkeys > 0) {
		if ((h->seal = seal_new(0)) == NULL)
			return (
			    refuse(h, WR_BUSY, out, outlen, "out of memory"));
		me.sealed = 1;
		seal_pk_hex(h->seal, me.kx);
	}
	n = wire_put_hello(out, &me);
	if (c->nkeys > 0) {
		/* Both hellos as they went over the wire: the transcript. */
		if ((h->transcript = malloc(flen + n)) == NULL)
			return (
			    refuse(h, WR_BUSY, out, outlen, "out of memory"));
		memcpy(h->transcript, frame, flen);
		memcpy(h->transcript + flen, out, n);
		h->tlen = flen + n;
	}
	*outlen = n;
	if (c->nkeys > 0)
		return (h->state = SERVER_CONFIRM);
	h->sess = s;
	h->displaced = server_sess_claim(s, owner);
	return (h->state = SERVER_OPEN);
}

enum server_state
server_proven(struct server_hs *h, struct server_table *t, void *owner,
    long long now, int key, char *out, size_t *outlen)
{
	const struct wire_hello *peer = &h->peer;
	struct server_sess *s;

	/* The key is proven: now the session is found, and claimed. */
	s = server_sess_find(t, peer->sid, peer->from < 0 ? 0 : peer->from, now,
	    &h->known);
	if (s == NULL)
		return (
		    refuse(h, WR_FULL, out, outlen, "too many live sessions"));
	/* clang-format off */
	if (s->taken != h->resume)
		return (refuse(h, WR_BUSY, out, outlen,
		    "the session took messages during the handshake; try again"));
	/* clang-format on */
	h->sess = s;
	h->displaced = server_sess_claim(s, owner);
	h->key = key;
	return (h->state = SERVER_OPEN);
}

/*
 * The peer's key confirmation: find the key (of up to two) that it proves,
 * and answer with ours.
 */
static enum server_state
confirm(struct server_hs *h, const struct server_conf *c,
    struct server_table *t, void *owner, long long now, const char *body,
    size_t len, char *out, size_t *outlen)
{
	unsigned char pk[SEAL_PKLEN], tag[SEAL_TAGLEN], hdr[SEAL_HDRLEN];
	struct wire_msg m;
	int k;

	if (wire_decode(body, len, &m) == -1 ||
	    wire_get_confirm(&m, tag, hdr) == -1 ||
	    seal_unhex(pk, sizeof(pk), h->peer.kx, strlen(h->peer.kx)) == -1)
		return (refuse(h, WR_CONFIRM, out, outlen,
		    "expected the key confirmation"));
	for (k = 0; k < c->nkeys; k++)
		if (seal_derive(h->seal, c->key[k], pk, h->transcript,
			h->tlen) == 0 &&
		    seal_check(h->seal, tag) == 0)
			break;
	/* clang-format off */
	if (k == c->nkeys || seal_pull_init(h->seal, hdr) == -1)
		return (refuse(h, WR_AUTH, out, outlen,
		    "the peer does not hold the key, or the handshake was altered"));
	/* clang-format on */
	if (server_proven(h, t, owner, now, k, out, outlen) != SERVER_OPEN)
		return (h->state);
	seal_tag(h->seal, tag);
	seal_push_init(h->seal, hdr);
	*outlen = wire_put_confirm(out, tag, hdr);
	free(h->transcript);
	h->transcript = NULL;
	return (h->state = SERVER_OPEN);
}

enum server_state
server_frame(struct server_hs *h, const struct server_conf *c,
    struct server_table *t, void *owner, long long now, const char *frame,
    size_t flen, const char *body, size_t len, char *out, size_t *outlen)
{
	switch (h->state) {
	case SERVER_HELLO:
		return (hello(h, c, t, owner, now, frame, flen, body, len, out,
		    outlen));
	case SERVER_CONFIRM:
		return (confirm(h, c, t, owner, now, body, len, out, outlen));
	default:
		return (refuse(h, WR_HELLO, out, outlen,
		    "a handshake frame after the handshake"));
	}
}

struct seal *
server_take_seal(struct server_hs *h)
{
	struct seal *s = h->seal;

	h->seal = NULL;
	return (s);
}
