/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The relay hello: a datagram from one relay's router to a neighbour's
 * router over UDP (quilt-relay(1) KEEP-ALIVES, quilt-protocol(5) RELAY
 * HELLO), so that an idle link is kept alive without waking the children.
 * Binary, big-endian, one datagram each:
 *
 *   0  4  "qrh1"              the version tag
 *   4  1  flags               RHELLO_HEARS, RHELLO_SEALED; others 0
 *   5  1  FROM's length       1..WIRE_NODE_MAX
 *   6  1  TO's length         1..WIRE_NODE_MAX
 *   7  1  0
 *   8  4  MS                  the sender's dead time, MESH_ALIVE_MIN..MAX
 *  12  8  COUNTER             grows with every hello of the sender
 *  20     FROM, TO            node names ([A-Za-z0-9._-])
 *         MAC                 RHELLO_MACLEN bytes when RHELLO_SEALED: over
 *                             every byte before it (seal.h, seal_hmac)
 *
 * Nothing follows; a datagram of any other length is malformed.
 */
#ifndef QUILT_RHELLO_H
#define QUILT_RHELLO_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define RHELLO_TAG "qrh1"
#define RHELLO_HEAD 20
#define RHELLO_MACLEN 16
#define RHELLO_MAX (RHELLO_HEAD + 2 * WIRE_NODE_MAX + RHELLO_MACLEN)
/* The sender has had a good hello of the receiver lately. */
#define RHELLO_HEARS 0x01
/* A MAC follows. */
#define RHELLO_SEALED 0x02

struct rhello {
	unsigned flags;
	uint32_t ms;
	uint64_t counter;
	/* Views into the datagram (decode) or the caller's (encode). */
	const char *from, *to;
	size_t fromlen, tolen;
	/* Decode: the MAC and the length of what it covers (sealed). */
	const unsigned char *mac;
	size_t covered;
};

/*
 * Encode h into out (cap bytes): the length of the datagram, with room
 * for the MAC left at its end when h->flags has RHELLO_SEALED (the bytes
 * it covers are the length less RHELLO_MACLEN); -1 with EINVAL when a
 * field is out of range, EMSGSIZE when cap is too small.
 */
int rhello_encode(unsigned char *out, size_t cap, const struct rhello *h);

/*
 * Decode the datagram p of n bytes into h (views into p): 0, or -1 with
 * EBADMSG (wrong tag, length, flag, name or dead time).  The MAC is not
 * checked here.
 */
int rhello_decode(const unsigned char *p, size_t n, struct rhello *h);

#endif
