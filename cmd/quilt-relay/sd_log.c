/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
slog_init(struct slog *l, unsigned size, size_t maxbytes)
{
	memset(l, 0, sizeof(*l));
	l->size = size;
	l->maxbytes = maxbytes;
	if ((l->idx = calloc(size, sizeof(*l->idx))) == NULL ||
	    (l->arr = calloc(size, sizeof(*l->arr))) == NULL ||
	    buf_init(&l->b, 0, maxbytes) == -1) {
		slog_free(l);
		return (-1);
	}
	return (0);
}

void
slog_free(struct slog *l)
{
	free(l->idx);
	free(l->arr);
	buf_free(&l->b);
	l->idx = NULL;
	l->arr = NULL;
}

void
slog_clear(struct slog *l)
{
	memset(l->idx, 0, l->size * sizeof(*l->idx));
	l->base += buf_len(&l->b);
	l->b.start = l->b.end = 0;
	l->ahead = l->acount = 0;
}

static struct slog_ent *
ent(const struct slog *l, uint64_t seq)
{
	struct slog_ent *e = &l->idx[seq & (l->size - 1)];

	return (e->used && e->seq == seq ? e : NULL);
}

int
slog_put(struct slog *l, uint64_t seq, const void *p, size_t n)
{
	struct slog_ent *e = &l->idx[seq & (l->size - 1)];

	if (e->used && e->seq == seq)
		return (1);
	if (e->used || l->acount == l->size ||
	    buf_len(&l->b) + n > l->maxbytes || n > UINT32_MAX) {
		errno = ENOBUFS;
		return (-1);
	}
	/* buf_reserve may move the data down: base stays the absolute
	 * offset of buf_data. */
	if (buf_room(&l->b) < n && buf_reserve(&l->b, n) == -1)
		return (-1);
	e->used = 1;
	e->seq = seq;
	e->off = l->base + buf_len(&l->b);
	e->len = n;
	if (n > 0 && p != NULL)
		memcpy(buf_tail(&l->b), p, n);
	l->b.end += n;
	l->arr[(l->ahead + l->acount++) & (l->size - 1)] = seq;
	return (0);
}

int
slog_get(const struct slog *l, uint64_t seq, const char **p, size_t *n)
{
	const struct slog_ent *e = ent(l, seq);

	if (e == NULL)
		return (-1);
	*p = buf_data(&l->b) + (e->off - l->base);
	*n = e->len;
	return (0);
}

void
slog_trim(struct slog *l, uint64_t seq)
{
	/* Records are freed from the front of the arrival order: one that
	 * came early and is still needed holds the bytes after it. */
	while (l->acount > 0) {
		uint64_t s = l->arr[l->ahead];
		struct slog_ent *e = ent(l, s);
		uint64_t end;

		if (e != NULL && s > seq)
			break;
		if (e != NULL) {
			end = e->off + e->len;
			e->used = 0;
			if (end > l->base) {
				buf_consume(&l->b, end - l->base);
				l->base = end;
			}
		}
		l->ahead = (l->ahead + 1) & (l->size - 1);
		l->acount--;
	}
	if (l->acount == 0) {
		l->base += buf_len(&l->b);
		l->b.start = l->b.end = 0;
	}
}
