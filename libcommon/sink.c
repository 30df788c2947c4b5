#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
sink_init(struct sink *s, int fd, size_t cap, size_t max, unsigned nmarks)
{
	s->fd = fd;
	s->appended = s->written = 0;
	s->head = s->count = 0;
	s->cap = nmarks;
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
sink_mark(struct sink *s, unsigned id, unsigned gen, uint64_t count)
{
	struct sink_mark *m;

	if (s->count > 0) {
		m = &s->marks[(s->head + s->count - 1) % s->cap];
		/* The same source again: move its mark instead of adding. */
		if (m->id == id && m->gen == gen) {
			m->pos = s->appended;
			m->count = count;
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
	m->id = id;
	m->gen = gen;
	s->count++;
	return (0);
}

ssize_t
sink_flush(struct sink *s, sink_done_fn *done, void *arg)
{
	ssize_t n = 0;

	if (buf_len(&s->b) > 0) {
		n = buf_drain(&s->b, s->fd);
		if (n == -1)
			return (-1);
		s->written += n;
	}
	while (s->count > 0 && s->marks[s->head].pos <= s->written) {
		struct sink_mark m = s->marks[s->head];

		s->head = (s->head + 1) % s->cap;
		s->count--;
		done(arg, m.id, m.gen, m.count);
	}
	return (n);
}

static int saved_fl[3] = { -1, -1, -1 };

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
