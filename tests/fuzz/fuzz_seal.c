/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/seal and the sealed handshake frames.
 * The first byte picks what the rest is:
 *   even: a frame body as the handshake reads it: wire_decode, then as a
 *         hello (its kx into seal_derive, as quilt-listen does) and as a
 *         confirmation (wire_get_confirm, and the hex parts through
 *         seal_unhex as client.c does; the tag checked, the header into
 *         seal_pull_init).  Checked: errors are -1 with the documented
 *         errno, nothing crashes.
 *   odd:  a script building a stream of sealed records after a real
 *         handshake between two seal objects made here: genuine records
 *         (plaintext from the input, FINAL or not), raw bytes, flipped
 *         bytes; the stream then goes through seal_open as link.c reads
 *         it.  Checked: an untouched stream opens to exactly the
 *         plaintexts sealed, up to its FINAL record; a touched one may
 *         fail only with EBADMSG; lengths and *used are consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "seal.h"
#include "wire.h"

#define STREAM_MAX (1 << 20)
#define MAXREC 512

static const unsigned char psk[SEAL_KEYLEN] = "0123456789abcdef0123456789abcde";

static void
frames(const uint8_t *d, size_t n)
{
	unsigned char tag[WIRE_TAGLEN], hdr[WIRE_STREAMHDR], pk[SEAL_PKLEN];
	char *b = malloc(n ? n : 1);
	struct frame_iter it;
	struct wire_msg m;
	struct wire_hello h;
	struct seal *s;
	const char *p1, *p2;
	size_t n1, n2;

	if (b == NULL)
		abort();
	memcpy(b, d, n);
	if (wire_decode(b, n, &m) == -1) {
		if (errno != EBADMSG)
			abort();
		free(b);
		return;
	}
	if ((s = seal_new(0)) == NULL)
		abort();
	if (wire_get_hello(&m, &h) == 0) {
		if (h.kx[0] != '\0' &&
		    seal_unhex(pk, sizeof(pk), h.kx, strlen(h.kx)) == 0) {
			if (seal_derive(s, psk, pk, b, n) == -1 &&
			    errno != EPROTO)
				abort();
		} else if (errno != EINVAL && h.kx[0] != '\0') {
			abort();
		}
	} else if (errno != EPROTO) {
		abort();
	}
	if (wire_get_confirm(&m, tag, hdr) == 0) {
		(void)seal_check(s, tag);
		(void)seal_pull_init(s, hdr);
	} else if (errno != EPROTO) {
		abort();
	}
	/* As client.c and quilt-listen read it, part by part. */
	frame_iter_init(&it, m.args, m.argslen);
	if (frame_next_part(&it, &p1, &n1) == 1 &&
	    frame_next_part(&it, &p2, &n2) == 1 &&
	    seal_unhex(tag, sizeof(tag), p1, n1) == 0 &&
	    seal_unhex(hdr, sizeof(hdr), p2, n2) == 0) {
		(void)seal_check(s, tag);
		(void)seal_pull_init(s, hdr);
	}
	seal_free(s);
	free(b);
}

/* A real handshake between a client c and a listener l. */
static void
handshake(struct seal **cp, struct seal **lp)
{
	static const char transcript[] = "a hello, then the other hello";
	unsigned char cpk[SEAL_PKLEN], lpk[SEAL_PKLEN], tag[SEAL_TAGLEN],
	    hdr[SEAL_HDRLEN];
	char hex[2 * SEAL_PKLEN + 1];
	struct seal *c = seal_new(1), *l = seal_new(0);

	if (c == NULL || l == NULL)
		abort();
	seal_pk_hex(c, hex);
	if (seal_unhex(cpk, sizeof(cpk), hex, strlen(hex)) == -1)
		abort();
	seal_pk_hex(l, hex);
	if (seal_unhex(lpk, sizeof(lpk), hex, strlen(hex)) == -1)
		abort();
	if (seal_derive(c, psk, lpk, transcript, sizeof(transcript)) == -1 ||
	    seal_derive(l, psk, cpk, transcript, sizeof(transcript)) == -1)
		abort();
	seal_tag(c, tag);
	if (seal_check(l, tag) == -1)
		abort();
	seal_tag(l, tag);
	if (seal_check(c, tag) == -1)
		abort();
	seal_push_init(c, hdr);
	if (seal_pull_init(l, hdr) == -1)
		abort();
	*cp = c;
	*lp = l;
}

static void
records(const uint8_t *d, size_t n)
{
	static unsigned char
	    stream[STREAM_MAX + SEAL_LENLEN + SEAL_ABYTES + SEAL_RECORD_MAX],
	    plain[STREAM_MAX], out[SEAL_RECORD_MAX];
	size_t poff[MAXREC], plen[MAXREC], slen = 0, pl = 0, i = 0, off, used;
	int pfinal[MAXREC], nrec = 0, touched = 0, opened = 0, final;
	struct seal *c, *l;
	ssize_t r = 0;

	handshake(&c, &l);
	while (i < n && slen < STREAM_MAX) {
		unsigned op = d[i++];
		size_t k, j;

		switch (op % 4) {
		case 0: /* a genuine record of the next k bytes */
		case 1:
			if (i + 2 > n || nrec == MAXREC)
				goto feed;
			k = ((size_t)d[i] << 8 | d[i + 1]) % 1024;
			if (op & 0x40)
				k = SEAL_RECORD_MAX - (k % 3);
			i += 2;
			if (pl + k > sizeof(plain))
				goto feed;
			for (j = 0; j < k; j++)
				plain[pl + j] = i < n ? d[(i + j) % n] : j;
			poff[nrec] = pl;
			plen[nrec] = k;
			pfinal[nrec] = (op & 0x80) != 0;
			slen += seal_record(c, stream + slen, plain + pl, k,
			    pfinal[nrec]);
			pl += k;
			nrec++;
			break;
		case 2: /* raw bytes */
			if (i >= n)
				goto feed;
			k = d[i++] % 64;
			for (j = 0; j < k && i < n; j++)
				stream[slen++] = d[i++];
			touched = 1;
			break;
		case 3: /* flip a byte */
			if (i + 3 > n || slen == 0)
				goto feed;
			k = (size_t)d[i] << 16 | (size_t)d[i + 1] << 8 |
			    d[i + 2];
			k %= slen;
			stream[k] ^= 1 << (op >> 5);
			i += 3;
			touched = 1;
			break;
		}
	}
feed:
	off = 0;
	while (off < slen) {
		/* A record not yet whole is "need more", nothing else. */
		r = seal_open(l, out, stream + off,
		    slen - off < 3 ? slen - off : 3, &used, &final);
		if (r != -2)
			abort();
		r = seal_open(l, out, stream + off, slen - off, &used, &final);
		if (r == -2)
			break;
		if (r == -1) {
			if (errno != EBADMSG || !touched)
				abort();
			break;
		}
		if (used > slen - off || r > SEAL_RECORD_MAX ||
		    used != (size_t)r + SEAL_LENLEN + SEAL_ABYTES)
			abort();
		if (!touched) {
			if (opened >= nrec || (size_t)r != plen[opened] ||
			    memcmp(out, plain + poff[opened], r) != 0 ||
			    final != pfinal[opened])
				abort();
		}
		opened++;
		off += used;
		if (final)
			break; /* link.c refuses anything after it */
	}
	/* Untouched: every record up to the first FINAL opened. */
	if (!touched) {
		int want = 0;

		while (want < nrec && !pfinal[want])
			want++;
		want = want < nrec ? want + 1 : nrec;
		if (opened != want)
			abort();
	}
	seal_free(c);
	seal_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int init;

	if (!init) {
		if (seal_init() == -1)
			abort();
		init = 1;
	}
	if (n == 0)
		return (0);
	if (d[0] % 2 == 0)
		frames(d + 1, n - 1);
	else
		records(d + 1, n - 1);
	return (0);
}
