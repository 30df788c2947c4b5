/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Everything that touches libsodium: randomness, hex, key files, and the
 * sealed links of -k.  The only file that includes <sodium.h>.
 *
 * The handshake (quilt-protocol(5) describes it for reviewers): each side
 * sends an ephemeral X25519 public key (crypto_kx) in its plaintext hello.
 * The hellos, byte for byte, form the transcript.  The session keys are
 * keyed BLAKE2b (crypto_generichash) of the X25519 session key, a label
 * and the transcript hash, keyed with the pre-shared key: so only holders
 * of the key get them, every hello field is bound into them, and the
 * ephemeral keys give forward secrecy.  Each side then proves it has them
 * with a confirmation tag over the transcript, checked in constant time
 * before anything else is accepted, and opens a
 * crypto_secretstream_xchacha20poly1305 stream per direction whose records
 * carry batches of frames; the last one is tagged FINAL so that a cut is
 * never taken for an end.
 */
#ifndef QUILT_SEAL_H
#define QUILT_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SEAL_KEYLEN 32
#define SEAL_PKLEN 32
#define SEAL_TAGLEN 32
#define SEAL_HDRLEN 24
#define SEAL_ABYTES 17
/* Plaintext bytes in one record at most; the record's length prefix. */
#define SEAL_RECORD_MAX 65536
#define SEAL_LENLEN 4

/* Initialise libsodium once; -1 if it cannot be. */
int seal_init(void);

/* Fill p with n random bytes. */
void seal_random(void *p, size_t n);

/* A uniformly random number in [0, upper). */
unsigned seal_uniform(unsigned upper);

/* Write 2n hex characters and a NUL at out. */
void seal_hex(char *out, const void *p, size_t n);

/* Read exactly 2n hex characters into p; -1 if they are not. */
int seal_unhex(void *p, size_t n, const char *hex, size_t hexlen);

/* Wipe n bytes. */
void seal_wipe(void *p, size_t n);

/*
 * Read a key file: 64 hex characters and an optional final newline.
 * 0 on success; -1 with errno ENOENT/EACCES/... (cannot read it: the
 * caller's 66) or EINVAL (wrong content, why says what: 78).  *loose is
 * set when group or others may read it.  The key buffer holds the key
 * until seal_wipe.
 */
int seal_key_load(const char *path, unsigned char key[SEAL_KEYLEN], int *loose,
    const char **why);

/* Write a new key as 64 hex characters and a newline into out[65+1]. */
void seal_key_new_hex(char out[2 * SEAL_KEYLEN + 2]);

struct seal;

/* A new handshake with a fresh ephemeral key pair.  NULL on ENOMEM. */
struct seal *seal_new(int client);
/* Wipe and free. */
void seal_free(struct seal *s);

/* Our ephemeral public key, as 64 hex characters and a NUL. */
void seal_pk_hex(const struct seal *s, char out[2 * SEAL_PKLEN + 1]);

/*
 * Derive the session keys from the peer's public key, the pre-shared key
 * and the transcript (the client's hello frame then the listener's), and
 * our confirmation tag.  -1 with EPROTO when the peer's key is unusable.
 * May be called again with another pre-shared key (key rotation).
 */
int seal_derive(struct seal *s, const unsigned char psk[SEAL_KEYLEN],
    const unsigned char peer_pk[SEAL_PKLEN], const void *transcript,
    size_t tlen);

/* Our confirmation tag (after seal_derive). */
void seal_tag(const struct seal *s, unsigned char tag[SEAL_TAGLEN]);

/* Does the peer's tag match?  Constant time.  0 yes, -1 no. */
int seal_check(const struct seal *s, const unsigned char tag[SEAL_TAGLEN]);

/* Start our stream: the header to send.  Start the peer's from its. */
void seal_push_init(struct seal *s, unsigned char hdr[SEAL_HDRLEN]);
int seal_pull_init(struct seal *s, const unsigned char hdr[SEAL_HDRLEN]);

/*
 * Seal m[0..mlen) (mlen <= SEAL_RECORD_MAX) as one record at out:
 * a 4-byte big-endian length, then the ciphertext (mlen + SEAL_ABYTES).
 * final marks the end of the stream.  Returns the bytes written.
 */
size_t seal_record(struct seal *s, unsigned char *out, const void *m,
    size_t mlen, int final);

/*
 * Open the first record of c[0..clen) into out (SEAL_RECORD_MAX bytes):
 * its plaintext length (>= 0), with *used the bytes of c it took and
 * *final set on the last record; -2 when c holds no whole record yet; -1
 * with EBADMSG when it is forged, altered, replayed, reordered or too long.
 */
ssize_t seal_open(struct seal *s, unsigned char *out, const void *c,
    size_t clen, size_t *used, int *final);

/*
 * Datagrams (the udp: transport): the same handshake, then each direction
 * has its own crypto_aead_xchacha20poly1305_ietf key, derived from that
 * direction's session key (so never one key for two constructions), and
 * every datagram is sealed alone with its 64-bit packet number as the
 * nonce: the sender never uses a number twice, the receiver keeps the
 * replay window (udp_receiver.c).
 */
#define SEAL_DG_ABYTES 16
struct seal_dg;

/*
 * After seal_derive (instead of seal_push_init and seal_pull_init): the
 * datagram keys of both directions.  s's stream keys are wiped.  NULL with
 * ENOMEM.
 */
struct seal_dg *seal_dg_new(struct seal *s);
/* Wipe and free; NULL is fine. */
void seal_dg_free(struct seal_dg *d);

/*
 * Seal m[0..mlen) in place, its tag (SEAL_DG_ABYTES) written after it,
 * with packet number n, authenticating ad[0..adlen) too.
 */
void seal_dg_seal(struct seal_dg *d, uint64_t n, const void *ad, size_t adlen,
    unsigned char *m, size_t mlen);

/*
 * Open c[0..clen) (ciphertext then tag) in place: the plaintext's length,
 * or -1 with EBADMSG when it is forged, altered, truncated or sealed with
 * another number or key (c's bytes are then lost).
 */
ssize_t seal_dg_open(struct seal_dg *d, uint64_t n, const void *ad,
    size_t adlen, unsigned char *c, size_t clen);

/*
 * udp: a client's proof that it holds the pre-shared key, sent beside its
 * hello in CONNECT: keyed BLAKE2b, under the key, of a label and the
 * client's ephemeral public key.  A listener given two keys (-k twice)
 * learns which one to derive with, and refuses a wrong key at once, before
 * it keeps anything.  It proves nothing fresh (anyone who saw it may send
 * it again): the key confirmation and every sealed datagram do that.
 */
#define SEAL_PROOFLEN 16
void seal_proof(const unsigned char psk[SEAL_KEYLEN],
    const unsigned char pk[SEAL_PKLEN], unsigned char proof[SEAL_PROOFLEN]);
/* Does proof check under psk for pk?  Constant time.  0 yes, -1 no. */
int seal_proof_check(const unsigned char psk[SEAL_KEYLEN],
    const unsigned char pk[SEAL_PKLEN],
    const unsigned char proof[SEAL_PROOFLEN]);

/*
 * The stateless cookies of a udp: listener: a keyed BLAKE2b MAC under a
 * secret that rotates, the one before kept so that a cookie made just
 * before a rotation still checks.
 */
#define SEAL_COOKIE_MACLEN 16
struct seal_cookie;

/* Two fresh random secrets.  NULL with ENOMEM. */
struct seal_cookie *seal_cookie_new(void);
void seal_cookie_free(struct seal_cookie *k);
/* The current secret becomes the previous one; a new current one. */
void seal_cookie_rotate(struct seal_cookie *k);
/* The MAC of m[0..n) under the current secret. */
void seal_cookie_mac(const struct seal_cookie *k,
    unsigned char mac[SEAL_COOKIE_MACLEN], const void *m, size_t n);
/* Does mac match m under either secret?  Constant time.  0 yes, -1 no. */
int seal_cookie_check(const struct seal_cookie *k,
    const unsigned char mac[SEAL_COOKIE_MACLEN], const void *m, size_t n);

/*
 * The MAC of the relays' hello datagrams (rhello.h): keyed BLAKE2b, 16
 * bytes, under a key derived from the mesh key for this use alone (keyed
 * BLAKE2b of a label under the mesh key), so that a hello's MAC is never
 * a MAC of anything else.  With two mesh keys (-k twice), hellos are
 * made under the first and taken under either.
 */
#define SEAL_HMACLEN 16
struct seal_hmac;

/* From the n (1 or 2) mesh keys psk[0..n).  NULL with ENOMEM. */
struct seal_hmac *seal_hmac_new(const unsigned char psk[][SEAL_KEYLEN], int n);
void seal_hmac_free(struct seal_hmac *k);
/* The MAC of m[0..n) under the first key. */
void seal_hmac_make(const struct seal_hmac *k, unsigned char mac[SEAL_HMACLEN],
    const void *m, size_t n);
/* Does mac match m under either key?  Constant time.  0 yes, -1 no. */
int seal_hmac_check(const struct seal_hmac *k,
    const unsigned char mac[SEAL_HMACLEN], const void *m, size_t n);

#endif
