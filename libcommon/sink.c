/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "frame.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
sink_init(struct sink *s, int fd, size_t cap, size_t max, unsigned nmarks)
{
	s->fd = fd;
	s->appended = s->written = 0;
	s->head = s->count = 0;
	s->cap = nmarks;
	s->term = -1;
	if ((s->marks = calloc(nmarks, sizeof(*s->marks))) == NULL)
		return (-1);
	return (buf_init(&s->b, cap, max));
}

void
sink_free(struct sink *s)
{
	buf_free(&s->b);
	free(s->marks);
	s->marks = NULL;
}

int
sink_mark(struct sink *s, unsigned id, unsigned gen, uint64_t count, uint64_t n)
{
	struct sink_mark *m;

	if (s->count > 0) {
		m = &s->marks[(s->head + s->count - 1) % s->cap];
		/* The same source again: move its mark instead of adding. */
		if (m->id == id && m->gen == gen) {
			m->pos = s->appended;
			m->count = count;
			m->npending += n;
			return (0);
		}
	}
	if (s->count == s->cap) {
		errno = ENOBUFS;
		return (-1);
	}
	m = &s->marks[(s->head + s->count) % s->cap];
	m->pos = s->appended;
	m->count = count;
	m->part = 0;
	m->npending = n;
	m->id = id;
	m->gen = gen;
	s->count++;
	return (0);
}

/* Records ending in p[0..n). */
static uint64_t
count_terms(const char *p, size_t n, int term)
{
	const char *e = p + n;
	uint64_t k = 0;

	while (p < e && (p = memchr(p, term, e - p)) != NULL) {
		k++;
		p++;
	}
	return (k);
}

ssize_t
sink_flush(struct sink *s, sink_done_fn *done, void *arg)
{
	uint64_t from = s->written;
	ssize_t n = 0;

	if (buf_len(&s->b) > 0) {
		do
			n = write(s->fd, buf_data(&s->b), buf_len(&s->b));
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return (-1);
		s->written += n;
	}
	while (s->count > 0 && s->marks[s->head].pos <= s->written) {
		struct sink_mark m = s->marks[s->head];

		s->head = (s->head + 1) % s->cap;
		s->count--;
		from = m.pos;
		done(arg, m.id, m.gen, m.count);
	}
	/* A batch written in part: its whole records are written too. */
	if (s->count > 0 && s->term != -1 && s->written > from) {
		struct sink_mark *m = &s->marks[s->head];
		size_t off = from - (s->written - n);
		uint64_t k = count_terms(buf_data(&s->b) + off,
		    s->written - from, s->term);

		/* count - part of the batch's own are still to come. */
		if (k > 0) {
			m->part += k;
			done(arg, m->id, m->gen,
			    m->count - m->npending + m->part);
		}
	}
	if (n > 0)
		buf_consume(&s->b, n);
	return (n);
}

static int saved_fl[3] = {-1, -1, -1};

static void
restore_std(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (saved_fl[fd] != -1)
			(void)fcntl(fd, F_SETFL, saved_fl[fd]);
}

void
sink_nonblock_std(int fd)
{
	struct stat st;
	int fl;

	if (fd < 0 || fd > 2 || fstat(fd, &st) == -1 ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_NONBLOCK))
		return;
	if (saved_fl[0] == -1 && saved_fl[1] == -1 && saved_fl[2] == -1)
		atexit(restore_std);
	saved_fl[fd] = fl;
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
sink_putv(struct sink *s, int n, const char *const *p, const size_t *len)
{
	size_t sz = frame_putv(NULL, 0, n, p, len);
	char *w;

	if ((w = sink_reserve(s, sz)) == NULL)
		return (-1);
	frame_putv(w, sz, n, p, len);
	sink_commit(s, sz);
	return (0);
}
