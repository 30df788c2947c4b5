/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: engine's listener (udp.h): the stateless side of the handshake.
 * A connect request with no connection is answered from the datagram
 * alone: a COOKIE (a MAC under a secret rotated every UDP_COOKIE_LIFE_S,
 * seal.c's), a REJECT, or, with a good cookie, a request for the program
 * to udp_accept (udp.c) or udp_reject.
 */
#include "udp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

struct udp_listener {
	struct seal_cookie *k;
	uint64_t rotate_at;
};

struct udp_listener *
udp_listener_new(uint64_t now)
{
	struct udp_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return (NULL);
	if ((l->k = seal_cookie_new()) == NULL) {
		free(l);
		errno = ENOMEM;
		return (NULL);
	}
	l->rotate_at = now + UDP_COOKIE_LIFE_S * 1000000ULL;
	return (l);
}

void
udp_listener_free(struct udp_listener *l)
{
	if (l == NULL)
		return;
	seal_cookie_free(l->k);
	free(l);
}

uint64_t
udp_listener_tick(struct udp_listener *l, uint64_t now)
{
	if (now >= l->rotate_at) {
		seal_cookie_rotate(l->k);
		l->rotate_at = now + UDP_COOKIE_LIFE_S * 1000000ULL;
	}
	return (l->rotate_at);
}

#define FROM_MAX 128

/* What a cookie binds: its time, the client id, the source address. */
static size_t
cookie_input(unsigned char *m, uint32_t t, uint32_t id, const void *from,
    size_t fromlen)
{
	put32(m, t);
	put32(m + 4, id);
	memcpy(m + 8, from, fromlen);
	return (8 + fromlen);
}

enum udp_verdict
udp_listen(const struct udp_listener *l, const void *from, size_t fromlen,
    const void *dg, size_t len, uint64_t now,
    unsigned char reply[UDP_REPLY_MAX], size_t *replylen,
    struct udp_request *req)
{
	const unsigned char *b = dg;
	unsigned char m[8 + FROM_MAX];
	uint32_t id, t, secs = (uint32_t)(now / 1000000);
	size_t hl, ml;

	if (len < UDP_CONNECT_SIZE || fromlen > FROM_MAX ||
	    (b[0] & 15) != T_CONNECT || get32(b + 1) != 0 ||
	    (id = get32(b + C_ID)) == 0)
		return (UDP_DROP);
	if (b[0] >> 4 != UDP_VERSION) {
		/* bytes 0-8 mean the same in every version */
		*replylen = udp_reject(&(struct udp_request){.id = id},
		    UDP_R_VERSION, reply, UDP_REPLY_MAX);
		return (UDP_REPLY);
	}
	if (len != UDP_CONNECT_SIZE)
		return (UDP_DROP);
	t = get32(b + C_COOKIE);
	ml = cookie_input(m, t, id, from, fromlen);
	if (secs - t > UDP_COOKIE_LIFE_S ||
	    seal_cookie_check(l->k, b + C_COOKIE + 4, m, ml) == -1) {
		reply[0] = UDP_VERSION << 4 | T_COOKIE;
		put32(reply + 1, id);
		put32(reply + 5, secs);
		ml = cookie_input(m, secs, id, from, fromlen);
		seal_cookie_mac(l->k, reply + 9, m, ml);
		*replylen = COOKIE_DG;
		return (UDP_REPLY);
	}
	hl = get16(b + C_HLEN);
	if (hl > UDP_HELLO_MAX || get16(b + C_MAXDG) < UDP_MTU_MIN ||
	    get32(b + C_MAXMSG) == 0)
		return (UDP_DROP);
	req->id = id;
	req->maxmsg = get32(b + C_MAXMSG);
	req->maxdgram = get16(b + C_MAXDG);
	req->first_pn = get32(b + C_PN);
	req->first_off = get32(b + C_OFF);
	req->window = get32(b + C_WIN);
	req->hello = b + C_HELLO;
	req->hellolen = hl;
	return (UDP_REQUEST);
}

size_t
udp_reject(const struct udp_request *req, enum udp_reason reason,
    unsigned char *reply, size_t cap)
{
	if (cap < SHORTLEN)
		return (0);
	reply[0] = UDP_VERSION << 4 | T_REJECT;
	put32(reply + 1, req->id);
	reply[5] = (unsigned char)reason;
	return (SHORTLEN);
}

int
udp_peek(const void *dg, size_t len, uint32_t *id, int *type)
{
	const unsigned char *b = dg;

	if (len < 5 || b[0] >> 4 != UDP_VERSION)
		return (-1);
	*id = get32(b + 1);
	*type = b[0] & 15;
	return (0);
}
