/*
 * Everything that touches libsodium: randomness and hex now, the sealed
 * links (-k) later.  The only file that includes <sodium.h>.
 */
#ifndef QUILT_SEAL_H
#define QUILT_SEAL_H

#include <stddef.h>

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

#endif
