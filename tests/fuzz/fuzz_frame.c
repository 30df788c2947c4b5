/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/frame: frame_parse and the parts of each
 * frame over arbitrary bytes.  The first byte picks a split point, the
 * second the limit.  Checked: a frame lies inside the input and re-encodes
 * to the same bytes (the format has one spelling per message); its parts
 * fill the body or the body is refused; the input received in two pieces,
 * and byte by byte, gives the same frames and the same final answer as the
 * whole.  Every parse reads from a block of the exact size, so the
 * sanitizers see a read past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MAXF 4096

struct result {
	size_t nf;
	size_t off[MAXF], len[MAXF], size[MAXF];
	size_t end; /* where parsing stopped */
	int err; /* errno of the -1 there, 0 for "need more" */
};

static ssize_t
parse_exact(const char *p, size_t n, size_t max, size_t *off, size_t *len)
{
	char *c = malloc(n ? n : 1);
	const char *body;
	ssize_t r;
	int e;

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	r = frame_parse(c, n, max, &body, len);
	if (r > 0) {
		if ((size_t)r > n || body < c + 1 || body + *len + 1 != c + r ||
		    body[-1] != ':' || c[r - 1] != ',')
			abort();
		*off = body - c;
	} else if (r < 0 && errno != EMSGSIZE && errno != EBADMSG)
		abort();
	e = errno;
	free(c);
	errno = e;
	return (r);
}

static void
check_parts(const char *body, size_t len)
{
	char *b = malloc(len ? len : 1), *re = malloc(len + 1);
	struct frame_iter it;
	const char *p;
	size_t n, at = 0;
	int r, count = 0, c;

	if (b == NULL || re == NULL)
		abort();
	memcpy(b, body, len);
	c = frame_count_parts(b, len);
	frame_iter_init(&it, b, len);
	while ((r = frame_next_part(&it, &p, &n)) == 1) {
		if (p < b || p + n > b + len)
			abort();
		/* The part's netstring, written again, is where it was. */
		if ((size_t)(frame_put(re + at, p, n) - re) - at !=
		    frame_size(n))
			abort();
		at += frame_size(n);
		if (at > len)
			abort();
		count++;
	}
	if (r == 0) {
		if (c != count || at != len || memcmp(re, b, len) != 0)
			abort();
	} else if (r != -1 || errno != EBADMSG || c != -1) {
		abort();
	}
	free(b);
	free(re);
}

static void
whole(const char *p, size_t n, size_t max, struct result *res)
{
	size_t at = 0;

	res->nf = 0;
	res->err = 0;
	for (;;) {
		size_t off, len;
		ssize_t r = parse_exact(p + at, n - at, max, &off, &len);

		if (r <= 0) {
			res->err = r == 0 ? 0 : errno;
			break;
		}
		if (len > max || res->nf == MAXF)
			abort();
		res->off[res->nf] = at + off;
		res->len[res->nf] = len;
		res->size[res->nf] = r;
		res->nf++;
		/* One spelling: writing the body again gives the same bytes. */
		{
			char *re = malloc(frame_size(len));

			if (frame_put(re, p + at + off, len) != re + r ||
			    memcmp(re, p + at, r) != 0)
				abort();
			free(re);
		}
		check_parts(p + at + off, len);
		at += r;
	}
	res->end = at;
}

/* Bytes arrive cut at the points cuts[0..ncuts); compare with res. */
static void
incremental(const char *p, size_t n, size_t max, const size_t *cuts,
    size_t ncuts, const struct result *res)
{
	size_t consumed = 0, nf = 0;

	for (size_t c = 0; c <= ncuts; c++) {
		size_t arrived = c < ncuts ? cuts[c] : n;

		for (;;) {
			size_t off, len;
			ssize_t r = parse_exact(p + consumed,
			    arrived - consumed, max, &off, &len);
			const char *b2;
			size_t len2;
			int e = errno;

			/* In place, with the bytes yet to come right after:
			 * the parser must not look at them. */
			if (frame_parse(p + consumed, arrived - consumed, max,
				&b2, &len2) != r ||
			    (r > 0 &&
				(b2 != p + consumed + off || len2 != len)) ||
			    (r < 0 && errno != e))
				abort();
			errno = e;
			if (r == 0)
				break;
			if (r < 0) {
				/* An error is final: the whole agrees. */
				if (nf != res->nf || consumed != res->end ||
				    errno != res->err)
					abort();
				return;
			}
			if (nf >= res->nf || consumed + off != res->off[nf] ||
			    len != res->len[nf] || (size_t)r != res->size[nf])
				abort();
			consumed += r;
			nf++;
		}
	}
	if (nf != res->nf || consumed != res->end || res->err != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result res;
	const char *p = (const char *)data + 2;
	size_t n, max, cut;

	if (size < 2)
		return (0);
	n = size - 2;
	cut = n ? data[0] * n / 255 : 0;
	/* Small limits reach EMSGSIZE; 255 is the largest. */
	if (data[1] < 200)
		max = data[1];
	else if (data[1] == 255)
		max = FRAME_LIMIT_MAX;
	else
		max = (size_t)(data[1] - 199) * 1000;
	whole(p, n, max, &res);
	incremental(p, n, max, &cut, 1, &res);
	if (n <= 512) {
		size_t *cuts = calloc(n ? n : 1, sizeof(*cuts));

		if (cuts == NULL)
			abort();

		for (size_t i = 0; i < n; i++)
			cuts[i] = i + 1;
		incremental(p, n, max, cuts, n, &res);
		free(cuts);
	}
	/* The same bytes as a numeric part. */
	{
		unsigned long long v, lim = max;
		size_t len = n < 24 ? n : 24;
		char *c = malloc(len ? len : 1);

		memcpy(c, p, len);
		if (frame_part_num(c, len, lim, &v) == 0) {
			char s[32];
			size_t k = 0;
			unsigned long long x = v;

			if (v > lim)
				abort();
			do
				s[31 - k++] = '0' + x % 10;
			while ((x /= 10) != 0);
			if (k != len || memcmp(s + 32 - k, c, k) != 0)
				abort();
		}
		free(c);
	}
	return (0);
}
