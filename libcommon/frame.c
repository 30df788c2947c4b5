/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "frame.h"

#include <errno.h>
#include <limits.h>

ssize_t
frame_parse(const char *p, size_t n, size_t max, const char **body, size_t *len)
{
	size_t i, v = 0;

	/* Common case: a short length, whole, within the limit. */
	if (n >= 4 && (unsigned)(p[0] - '1') < 9) {
		v = p[0] - '0';
		for (i = 1; i < 6 && i < n && (unsigned)(p[i] - '0') < 10; i++)
			v = v * 10 + (p[i] - '0');
		if (i < 6 && i < n && p[i] == ':' && v <= max) {
			if (n - i - 1 < v + 1)
				return (0);
			if (p[i + 1 + v] != ',') {
				errno = EBADMSG;
				return (-1);
			}
			*body = p + i + 1;
			*len = v;
			return (i + 1 + v + 1);
		}
		v = 0;
	}
	/* The limit is checked digit by digit: a huge length fails early. */
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == ':')
			break;
		if (c < '0' || c > '9' || (i == 1 && p[0] == '0')) {
			errno = EBADMSG;
			return (-1);
		}
		v = v * 10 + (c - '0');
		if (v > max || i >= FRAME_HDR_MAX - 1) {
			errno = EMSGSIZE;
			return (-1);
		}
	}
	if (i == n)
		return (0);
	if (i == 0) {
		errno = EBADMSG;
		return (-1);
	}
	if (n - i - 1 < v + 1)
		return (0);
	if (p[i + 1 + v] != ',') {
		errno = EBADMSG;
		return (-1);
	}
	*body = p + i + 1;
	*len = v;
	return (i + 1 + v + 1);
}

int
frame_next_part(struct frame_iter *it, const char **part, size_t *len)
{
	ssize_t r;

	if (it->n == 0)
		return (0);
	r = frame_parse(it->p, it->n, it->n, part, len);
	if (r <= 0) {
		errno = EBADMSG;
		return (-1);
	}
	it->p += r;
	it->n -= r;
	return (1);
}

int
frame_count_parts(const char *body, size_t len)
{
	struct frame_iter it;
	const char *p;
	size_t n;
	int r, count = 0;

	frame_iter_init(&it, body, len);
	while ((r = frame_next_part(&it, &p, &n)) == 1)
		count++;
	return (r == 0 ? count : -1);
}

int
frame_part_num(const char *p, size_t len, unsigned long long max,
    unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
		return (-1);
	/* Up to 19 digits cannot overflow: no division on the hot path. */
	for (i = 0; i < len && i < 19; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		x = x * 10 + (p[i] - '0');
	}
	if (len == 20) {
		if (p[19] < '0' || p[19] > '9' ||
		    x > (ULLONG_MAX - (p[19] - '0')) / 10)
			return (-1);
		x = x * 10 + (p[19] - '0');
	}
	if (x > max)
		return (-1);
	*v = x;
	return (0);
}

size_t
frame_putv(char *out, size_t cap, int n, const char *const *p,
    const size_t *len)
{
	size_t body = 0, sz;

	for (int i = 0; i < n; i++)
		body += frame_size(len ? len[i] : strlen(p[i]));
	sz = frame_size(body);
	if (sz > cap)
		return (sz);
	out += frame_put_hdr(out, body);
	for (int i = 0; i < n; i++)
		out = frame_put(out, p[i], len ? len[i] : strlen(p[i]));
	*out = ',';
	return (sz);
}
