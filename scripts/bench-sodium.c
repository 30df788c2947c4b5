/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-sodium: the ceiling of sealed traffic on this machine, printed beside
 * the sealed rows of scripts/bench: libsodium's secretstream (the record
 * layer of -k) sealing and opening 64 KiB records on one core, no I/O.
 *
 *	bench-sodium MIB	prints "PUSH_GBS PULL_GBS VERSION"
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define REC 65536

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

int
main(int argc, char *argv[])
{
	unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_state push, pull;
	unsigned char *m, *c, *d;
	double t0, t1, tpush = 0, tpull = 0;
	long i, n = argc > 1 ? atol(argv[1]) * 16 : 4096;

	if (n < 1 || sodium_init() < 0)
		return (1);
	m = calloc(1, REC);
	c = malloc(REC + crypto_secretstream_xchacha20poly1305_ABYTES);
	d = malloc(REC);
	if (m == NULL || c == NULL || d == NULL)
		return (1);
	crypto_secretstream_xchacha20poly1305_keygen(key);
	crypto_secretstream_xchacha20poly1305_init_push(&push, hdr, key);
	if (crypto_secretstream_xchacha20poly1305_init_pull(&pull, hdr, key))
		return (1);
	for (i = 0; i < n; i++) {
		t0 = now();
		crypto_secretstream_xchacha20poly1305_push(&push, c, NULL, m, REC,
		    NULL, 0, 0);
		t1 = now();
		if (crypto_secretstream_xchacha20poly1305_pull(&pull, d, NULL, NULL,
		    c, REC + crypto_secretstream_xchacha20poly1305_ABYTES, NULL,
		    0) != 0)
			return (1);
		tpull += now() - t1;
		tpush += t1 - t0;
	}
	printf("%.3f %.3f %s\n", (double)REC * n / tpush / 1e9,
	    (double)REC * n / tpull / 1e9, sodium_version_string());
	return (0);
}
