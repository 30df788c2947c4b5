/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/rhello: any bytes as a relay hello
 * datagram.  Checked: a datagram taken encodes back byte for byte (its
 * MAC bytes aside), its views lie inside it, and one byte more or less is
 * refused; a datagram refused leaves the struct zeroed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rhello.h"

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	unsigned char b[RHELLO_MAX], *c;
	struct rhello h, g;
	int m;

	if (rhello_decode(p, n, &h) == -1) {
		if (errno != EBADMSG || h.from != NULL || h.mac != NULL)
			abort();
		return (0);
	}
	if (n > RHELLO_MAX || h.from < (const char *)p ||
	    h.to + h.tolen > (const char *)p + n)
		abort();
	m = rhello_encode(b, sizeof(b), &h);
	if (m != (int)n)
		abort();
	if (memcmp(b, p, h.mac ? h.covered : n) != 0)
		abort();
	if (rhello_decode(p, n - 1, &g) != -1)
		abort();
	if ((c = malloc(n + 1)) == NULL)
		return (0);
	memcpy(c, p, n);
	c[n] = 0;
	if (rhello_decode(c, n + 1, &g) != -1)
		abort();
	free(c);
	return (0);
}
