/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The udp: engine's byte rings (udp_int.h): every queue of a connection,
 * each way, is bytes at absolute offsets [lo, hi) in a power-of-two ring
 * that grows when asked for room and is given back when empty.
 */
#include "udp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
udp_ring_in(struct ring *r, uint64_t off, const void *p, size_t n)
{
	size_t i = off & (r->cap - 1), k = r->cap - i;

	if (n <= k) {
		memcpy(r->b + i, p, n);
	} else {
		memcpy(r->b + i, p, k);
		memcpy(r->b, (const unsigned char *)p + k, n - k);
	}
}

void
udp_ring_out(const struct ring *r, uint64_t off, void *p, size_t n)
{
	size_t i = off & (r->cap - 1), k = r->cap - i;

	if (n <= k) {
		memcpy(p, r->b + i, n);
	} else {
		memcpy(p, r->b + i, k);
		memcpy((unsigned char *)p + k, r->b, n - k);
	}
}

int
udp_ring_reserve(struct ring *r, uint64_t span)
{
	struct ring n = *r;

	if (span <= r->cap)
		return (0);
	n.cap = r->cap ? r->cap : 4096;
	while (n.cap < span)
		n.cap <<= 1;
	if ((n.b = malloc(n.cap)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	if (r->cap != 0) {
		for (uint64_t o = r->lo; o < r->hi;) {
			size_t i = o & (r->cap - 1),
			       k = umin(r->cap - i, r->hi - o);

			udp_ring_in(&n, o, r->b + i, k);
			o += k;
		}
		free(r->b);
	}
	*r = n;
	return (0);
}

int
udp_ring_push(struct ring *r, const void *m, size_t n, size_t bound)
{
	unsigned char l[4];
	size_t k = vput(l, n), used = r->hi - r->lo;

	if (used != 0 && used + k + n > bound) {
		errno = ENOBUFS;
		return (-1);
	}
	if (udp_ring_reserve(r, used + k + n) == -1)
		return (-1);
	udp_ring_in(r, r->hi, l, k);
	udp_ring_in(r, r->hi + k, m, n);
	r->hi += k + n;
	return (0);
}
