/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "rhello.h"

#include <errno.h>
#include <string.h>

#include "mesh.h"

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return (v);
}

static int
name_ok(const char *s, size_t len)
{
	return (len >= 1 && len <= WIRE_NODE_MAX && wire_node_ok(s, len));
}

int
rhello_encode(unsigned char *out, size_t cap, const struct rhello *h)
{
	size_t n;

	if ((h->flags & ~(unsigned)(RHELLO_HEARS | RHELLO_SEALED)) != 0 ||
	    !name_ok(h->from, h->fromlen) || !name_ok(h->to, h->tolen) ||
	    h->ms < MESH_ALIVE_MIN || h->ms > MESH_ALIVE_MAX) {
		errno = EINVAL;
		return (-1);
	}
	n = RHELLO_HEAD + h->fromlen + h->tolen +
	    (h->flags & RHELLO_SEALED ? RHELLO_MACLEN : 0);
	if (n > cap) {
		errno = EMSGSIZE;
		return (-1);
	}
	memcpy(out, RHELLO_TAG, 4);
	out[4] = (unsigned char)h->flags;
	out[5] = (unsigned char)h->fromlen;
	out[6] = (unsigned char)h->tolen;
	out[7] = 0;
	put32(out + 8, h->ms);
	put64(out + 12, h->counter);
	memcpy(out + RHELLO_HEAD, h->from, h->fromlen);
	memcpy(out + RHELLO_HEAD + h->fromlen, h->to, h->tolen);
	if (h->flags & RHELLO_SEALED)
		memset(out + n - RHELLO_MACLEN, 0, RHELLO_MACLEN);
	return ((int)n);
}

int
rhello_decode(const unsigned char *p, size_t n, struct rhello *h)
{
	size_t want;

	memset(h, 0, sizeof(*h));
	if (n < RHELLO_HEAD || memcmp(p, RHELLO_TAG, 4) != 0 ||
	    (p[4] & ~(RHELLO_HEARS | RHELLO_SEALED)) != 0 || p[7] != 0)
		goto bad;
	h->flags = p[4];
	h->fromlen = p[5];
	h->tolen = p[6];
	want = RHELLO_HEAD + h->fromlen + h->tolen +
	    (h->flags & RHELLO_SEALED ? RHELLO_MACLEN : 0);
	if (n != want)
		goto bad;
	h->ms = (uint32_t)get(p + 8, 4);
	h->counter = get(p + 12, 8);
	h->from = (const char *)p + RHELLO_HEAD;
	h->to = h->from + h->fromlen;
	if (!name_ok(h->from, h->fromlen) || !name_ok(h->to, h->tolen) ||
	    h->ms < MESH_ALIVE_MIN || h->ms > MESH_ALIVE_MAX)
		goto bad;
	if (h->flags & RHELLO_SEALED) {
		h->covered = n - RHELLO_MACLEN;
		h->mac = p + h->covered;
	}
	return (0);
bad:
	memset(h, 0, sizeof(*h));
	errno = EBADMSG;
	return (-1);
}
