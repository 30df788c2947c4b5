/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct seal {
	int client;
	unsigned char pk[crypto_kx_PUBLICKEYBYTES];
	unsigned char sk[crypto_kx_SECRETKEYBYTES];
	unsigned char tx[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char rx[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char mytag[SEAL_TAGLEN], peertag[SEAL_TAGLEN];
	crypto_secretstream_xchacha20poly1305_state push, pull;
};

int
seal_init(void)
{
	if (sodium_init() < 0) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

void
seal_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

unsigned
seal_uniform(unsigned upper)
{
	return (randombytes_uniform(upper));
}

void
seal_hex(char *out, const void *p, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

int
seal_unhex(void *p, size_t n, const char *hex, size_t hexlen)
{
	size_t got;

	if (hexlen != 2 * n ||
	    sodium_hex2bin(p, n, hex, hexlen, NULL, &got, NULL) != 0 ||
	    got != n) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

void
seal_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

int
seal_key_load(const char *path, unsigned char key[SEAL_KEYLEN], int *loose,
    const char **why)
{
	char buf[2 * SEAL_KEYLEN + 3];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, e;

	*loose = 0;
	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	*loose = (st.st_mode & 077) != 0;
	n = read(fd, buf, sizeof(buf));
	e = errno;
	close(fd);
	if (n == -1) {
		errno = e;
		return (-1);
	}
	len = n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (n == (ssize_t)sizeof(buf) || len != 2 * SEAL_KEYLEN) {
		*why = "expected 64 hex characters and an optional newline";
		goto bad;
	}
	if (seal_unhex(key, SEAL_KEYLEN, buf, len) == -1) {
		*why = "not hex";
		goto bad;
	}
	sodium_memzero(buf, sizeof(buf));
	return (0);
bad:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(key, SEAL_KEYLEN);
	errno = EINVAL;
	return (-1);
}

void
seal_key_new_hex(char out[2 * SEAL_KEYLEN + 2])
{
	unsigned char k[SEAL_KEYLEN];

	randombytes_buf(k, sizeof(k));
	sodium_bin2hex(out, 2 * SEAL_KEYLEN + 1, k, sizeof(k));
	out[2 * SEAL_KEYLEN] = '\n';
	out[2 * SEAL_KEYLEN + 1] = '\0';
	sodium_memzero(k, sizeof(k));
}

struct seal *
seal_new(int client)
{
	struct seal *s = sodium_malloc(sizeof(*s));

	if (s == NULL)
		return (NULL);
	memset(s, 0, sizeof(*s));
	s->client = client;
	crypto_kx_keypair(s->pk, s->sk);
	return (s);
}

void
seal_free(struct seal *s)
{
	if (s != NULL)
		sodium_free(s); /* wipes it */
}

void
seal_pk_hex(const struct seal *s, char out[2 * SEAL_PKLEN + 1])
{
	sodium_bin2hex(out, 2 * SEAL_PKLEN + 1, s->pk, SEAL_PKLEN);
}

/* out = BLAKE2b-256 keyed with psk over label, shared and th. */
static void
kdf(unsigned char out[32], const unsigned char psk[SEAL_KEYLEN],
    const char *label, const unsigned char *shared, size_t slen,
    const unsigned char th[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, psk, SEAL_KEYLEN, 32);
	crypto_generichash_update(&st, (const unsigned char *)label,
	    strlen(label) + 1);
	crypto_generichash_update(&st, shared, slen);
	crypto_generichash_update(&st, th, 32);
	crypto_generichash_final(&st, out, 32);
}

int
seal_derive(struct seal *s, const unsigned char psk[SEAL_KEYLEN],
    const unsigned char peer_pk[SEAL_PKLEN], const void *transcript,
    size_t tlen)
{
	unsigned char rx[crypto_kx_SESSIONKEYBYTES],
	    tx[crypto_kx_SESSIONKEYBYTES], th[32], both[64];
	int r;

	/* crypto_kx gives one key each way; both go into each derived key,
	 * in client-to-listener order, so the two ends agree. */
	if (s->client)
		r = crypto_kx_client_session_keys(rx, tx, s->pk, s->sk,
		    peer_pk);
	else
		r = crypto_kx_server_session_keys(rx, tx, s->pk, s->sk,
		    peer_pk);
	if (r != 0) {
		errno = EPROTO;
		return (-1);
	}
	memcpy(both, s->client ? tx : rx, 32);
	memcpy(both + 32, s->client ? rx : tx, 32);
	crypto_generichash(th, sizeof(th), transcript, tlen,
	    (const unsigned char *)"quilt transcript", 16);
	kdf(s->client ? s->tx : s->rx, psk, "quilt 1 client to listener", both,
	    64, th);
	kdf(s->client ? s->rx : s->tx, psk, "quilt 1 listener to client", both,
	    64, th);
	kdf(s->client ? s->mytag : s->peertag, psk, "quilt 1 client confirm",
	    both, 64, th);
	kdf(s->client ? s->peertag : s->mytag, psk, "quilt 1 listener confirm",
	    both, 64, th);
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	sodium_memzero(both, sizeof(both));
	return (0);
}

void
seal_tag(const struct seal *s, unsigned char tag[SEAL_TAGLEN])
{
	memcpy(tag, s->mytag, SEAL_TAGLEN);
}

int
seal_check(const struct seal *s, const unsigned char tag[SEAL_TAGLEN])
{
	return (sodium_memcmp(s->peertag, tag, SEAL_TAGLEN) == 0 ? 0 : -1);
}

void
seal_push_init(struct seal *s, unsigned char hdr[SEAL_HDRLEN])
{
	crypto_secretstream_xchacha20poly1305_init_push(&s->push, hdr, s->tx);
	sodium_memzero(s->tx, sizeof(s->tx));
}

int
seal_pull_init(struct seal *s, const unsigned char hdr[SEAL_HDRLEN])
{
	int r = crypto_secretstream_xchacha20poly1305_init_pull(&s->pull, hdr,
	    s->rx);

	sodium_memzero(s->rx, sizeof(s->rx));
	if (r != 0) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
}

size_t
seal_record(struct seal *s, unsigned char *out, const void *m, size_t mlen,
    int final)
{
	unsigned long long clen;
	size_t n = mlen + SEAL_ABYTES;

	out[0] = n >> 24;
	out[1] = n >> 16;
	out[2] = n >> 8;
	out[3] = n;
	crypto_secretstream_xchacha20poly1305_push(&s->push, out + SEAL_LENLEN,
	    &clen, m, mlen, NULL, 0,
	    final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
	return (SEAL_LENLEN + (size_t)clen);
}

ssize_t
seal_open(struct seal *s, unsigned char *out, const void *c, size_t clen,
    size_t *used, int *final)
{
	const unsigned char *p = c;
	unsigned long long mlen;
	unsigned char tag;
	size_t n;

	if (clen < SEAL_LENLEN)
		return (-2);
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n < SEAL_ABYTES || n > SEAL_RECORD_MAX + SEAL_ABYTES) {
		errno = EBADMSG;
		return (-1);
	}
	if (clen < SEAL_LENLEN + n)
		return (-2);
	if (crypto_secretstream_xchacha20poly1305_pull(&s->pull, out, &mlen,
		&tag, p + SEAL_LENLEN, n, NULL, 0) != 0 ||
	    (tag != 0 &&
		tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)) {
		errno = EBADMSG;
		return (-1);
	}
	*used = SEAL_LENLEN + n;
	*final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	return ((ssize_t)mlen);
}

struct seal_dg {
	unsigned char tx[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char rx[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

struct seal_dg *
seal_dg_new(struct seal *s)
{
	static const unsigned char label[] = "quilt 1 datagram";
	struct seal_dg *d = sodium_malloc(sizeof(*d));

	if (d == NULL)
		return (NULL);
	crypto_generichash(d->tx, sizeof(d->tx), label, sizeof(label), s->tx,
	    sizeof(s->tx));
	crypto_generichash(d->rx, sizeof(d->rx), label, sizeof(label), s->rx,
	    sizeof(s->rx));
	sodium_memzero(s->tx, sizeof(s->tx));
	sodium_memzero(s->rx, sizeof(s->rx));
	return (d);
}

void
seal_dg_free(struct seal_dg *d)
{
	if (d != NULL)
		sodium_free(d); /* wipes it */
}

/* The nonce: the packet number, little-endian, then zeros. */
static void
dg_nonce(unsigned char npub[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES],
    uint64_t n)
{
	memset(npub, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	for (int i = 0; i < 8; i++)
		npub[i] = (unsigned char)(n >> (8 * i));
}

void
seal_dg_seal(struct seal_dg *d, uint64_t n, const void *ad, size_t adlen,
    unsigned char *m, size_t mlen)
{
	unsigned char npub[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];

	dg_nonce(npub, n);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(m, m + mlen, NULL,
	    m, mlen, ad, adlen, NULL, npub, d->tx);
}

ssize_t
seal_dg_open(struct seal_dg *d, uint64_t n, const void *ad, size_t adlen,
    unsigned char *c, size_t clen)
{
	unsigned char npub[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];

	if (clen < SEAL_DG_ABYTES) {
		errno = EBADMSG;
		return (-1);
	}
	dg_nonce(npub, n);
	/* The tag is checked first; on failure c is zeroed, never opened. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(c, NULL, c,
		clen - SEAL_DG_ABYTES, c + clen - SEAL_DG_ABYTES, ad, adlen,
		npub, d->rx) != 0) {
		errno = EBADMSG;
		return (-1);
	}
	return ((ssize_t)(clen - SEAL_DG_ABYTES));
}

void
seal_proof(const unsigned char psk[SEAL_KEYLEN],
    const unsigned char pk[SEAL_PKLEN], unsigned char proof[SEAL_PROOFLEN])
{
	static const unsigned char label[] = "quilt 1 udp key proof";
	crypto_generichash_state st;

	crypto_generichash_init(&st, psk, SEAL_KEYLEN, SEAL_PROOFLEN);
	crypto_generichash_update(&st, label, sizeof(label));
	crypto_generichash_update(&st, pk, SEAL_PKLEN);
	crypto_generichash_final(&st, proof, SEAL_PROOFLEN);
}

int
seal_proof_check(const unsigned char psk[SEAL_KEYLEN],
    const unsigned char pk[SEAL_PKLEN],
    const unsigned char proof[SEAL_PROOFLEN])
{
	unsigned char want[SEAL_PROOFLEN];
	int r;

	seal_proof(psk, pk, want);
	r = sodium_memcmp(want, proof, SEAL_PROOFLEN);
	sodium_memzero(want, sizeof(want));
	return (r == 0 ? 0 : -1);
}

struct seal_cookie {
	unsigned char cur[crypto_generichash_KEYBYTES];
	unsigned char prev[crypto_generichash_KEYBYTES];
};

struct seal_cookie *
seal_cookie_new(void)
{
	struct seal_cookie *k = sodium_malloc(sizeof(*k));

	if (k == NULL)
		return (NULL);
	randombytes_buf(k->cur, sizeof(k->cur));
	randombytes_buf(k->prev, sizeof(k->prev));
	return (k);
}

void
seal_cookie_free(struct seal_cookie *k)
{
	if (k != NULL)
		sodium_free(k); /* wipes it */
}

void
seal_cookie_rotate(struct seal_cookie *k)
{
	memcpy(k->prev, k->cur, sizeof(k->prev));
	randombytes_buf(k->cur, sizeof(k->cur));
}

void
seal_cookie_mac(const struct seal_cookie *k,
    unsigned char mac[SEAL_COOKIE_MACLEN], const void *m, size_t n)
{
	crypto_generichash(mac, SEAL_COOKIE_MACLEN, m, n, k->cur,
	    sizeof(k->cur));
}

int
seal_cookie_check(const struct seal_cookie *k,
    const unsigned char mac[SEAL_COOKIE_MACLEN], const void *m, size_t n)
{
	unsigned char a[SEAL_COOKIE_MACLEN], b[SEAL_COOKIE_MACLEN];
	int r;

	crypto_generichash(a, sizeof(a), m, n, k->cur, sizeof(k->cur));
	crypto_generichash(b, sizeof(b), m, n, k->prev, sizeof(k->prev));
	/* Both compared, whichever matches: no early exit to time. */
	r = sodium_memcmp(a, mac, sizeof(a));
	r &= sodium_memcmp(b, mac, sizeof(b));
	return (r == 0 ? 0 : -1);
}

struct seal_hmac {
	unsigned char key[2][crypto_generichash_KEYBYTES];
	int n;
};

struct seal_hmac *
seal_hmac_new(const unsigned char psk[][SEAL_KEYLEN], int n)
{
	static const unsigned char label[] = "quilt 1 relay hello mac";
	struct seal_hmac *k = sodium_malloc(sizeof(*k));

	if (k == NULL)
		return (NULL);
	k->n = n < 1 ? 1 : n > 2 ? 2 : n;
	for (int i = 0; i < k->n; i++)
		crypto_generichash(k->key[i], sizeof(k->key[i]), label,
		    sizeof(label), psk[i], SEAL_KEYLEN);
	return (k);
}

void
seal_hmac_free(struct seal_hmac *k)
{
	if (k != NULL)
		sodium_free(k); /* wipes it */
}

static void
hmac_under(const unsigned char *key, unsigned char mac[SEAL_HMACLEN],
    const void *m, size_t n)
{
	crypto_generichash(mac, SEAL_HMACLEN, m, n, key,
	    crypto_generichash_KEYBYTES);
}

void
seal_hmac_make(const struct seal_hmac *k, unsigned char mac[SEAL_HMACLEN],
    const void *m, size_t n)
{
	hmac_under(k->key[0], mac, m, n);
}

int
seal_hmac_check(const struct seal_hmac *k,
    const unsigned char mac[SEAL_HMACLEN], const void *m, size_t n)
{
	unsigned char want[SEAL_HMACLEN];
	int ok = 0;

	for (int i = 0; i < k->n; i++) {
		hmac_under(k->key[i], want, m, n);
		ok |= sodium_memcmp(want, mac, SEAL_HMACLEN) == 0;
	}
	sodium_memzero(want, sizeof(want));
	return (ok ? 0 : -1);
}
