/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
buf_init(struct buf *b, size_t cap, size_t max)
{
	b->start = b->end = 0;
	b->spread = 1;
	b->cap = cap < max ? cap : max;
	b->max = max;
	b->base = NULL;
	if (b->cap && (b->base = malloc(b->cap)) == NULL)
		return (-1);
	return (0);
}

void
buf_free(struct buf *b)
{
	free(b->base);
	b->base = NULL;
	b->start = b->end = b->cap = 0;
}

int
buf_reserve(struct buf *b, size_t need)
{
	size_t len = b->end - b->start, ncap;
	char *p;

	if (b->cap - b->end >= need)
		return (0);
	if (len + need > b->max) {
		errno = ENOBUFS;
		return (-1);
	}
	/* Moving the data down is cheaper than growing while most is free;
	 * at max it is all there is. */
	if (b->cap - len >= need &&
	    (len <= b->cap >> b->spread || b->cap == b->max)) {
		memmove(b->base, b->base + b->start, len);
		b->start = 0;
		b->end = len;
		return (0);
	}
	/* Grow, at least double (cap < max here), so that a queue that
	 * holds much moves its data seldom. */
	ncap = b->cap ? 2 * b->cap : 4096;
	while (ncap < len + need)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	if (b->start > 0) {
		memmove(b->base, b->base + b->start, len);
		b->start = 0;
		b->end = len;
	}
	if ((p = realloc(b->base, ncap)) == NULL)
		return (-1);
	b->base = p;
	b->cap = ncap;
	return (0);
}

ssize_t
buf_fill(struct buf *b, int fd, size_t min)
{
	ssize_t n;

	/* min does not fit under max: all the room there is, then. */
	if (buf_room(b) < min && buf_reserve(b, min) == -1 &&
	    (errno != ENOBUFS || b->max == buf_len(b) ||
		buf_reserve(b, b->max - buf_len(b)) == -1) &&
	    buf_room(b) == 0)
		return (-1);
	if (buf_room(b) == 0) {
		errno = ENOBUFS;
		return (-1);
	}
	do
		n = read(fd, buf_tail(b), buf_room(b));
	while (n == -1 && errno == EINTR);
	if (n > 0)
		b->end += n;
	return (n);
}

ssize_t
buf_drain(struct buf *b, int fd)
{
	ssize_t n;

	if (buf_len(b) == 0)
		return (0);
	do
		n = write(fd, buf_data(b), buf_len(b));
	while (n == -1 && errno == EINTR);
	if (n > 0)
		buf_consume(b, n);
	return (n);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	memcpy(buf_tail(b), p, n);
	b->end += n;
	return (0);
}
