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

#endif
