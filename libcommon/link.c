#include "link.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wire.h"

#define LINK_READ_CHUNK (256 * 1024)

int
link_init(struct link *l, int fd, size_t maxin, size_t window, size_t maxout)
{
	size_t big = frame_size(maxout + 64);

	l->fd = fd;
	l->maxin = maxin;
	l->window = window > big ? window : big;
	l->qs = l->bound = 0;
	l->n_queued = l->n_acked = 0;
	l->bytes_in = l->bytes_out = 0;
	if (buf_init(&l->in, 0, frame_size(maxin) + LINK_READ_CHUNK) == -1 ||
	    buf_init(&l->ctl, 0, 2 * frame_size(maxin + 64) + 65536) == -1 ||
	    buf_init(&l->q, 0, 2 * l->window) == -1)
		return (-1);
	return (0);
}

void
link_free(struct link *l)
{
	buf_free(&l->in);
	buf_free(&l->ctl);
	buf_free(&l->q);
}

void
link_set_peer_max(struct link *l, size_t maxout)
{
	size_t big = frame_size(maxout + 64);

	if (l->window < big)
		l->window = big;
	/* Twice the window: moving the data down stays rare. */
	if (l->q.max < 2 * l->window)
		l->q.max = 2 * l->window;
}

void
link_set_window(struct link *l, size_t window, size_t maxout)
{
	l->window = window;
	l->q.max = 2 * window > l->q.cap ? 2 * window : l->q.cap;
	link_set_peer_max(l, maxout);
}

void
link_reset(struct link *l, int fd)
{
	l->fd = fd;
	l->in.start = l->in.end = 0;
	l->ctl.start = l->ctl.end = 0;
}

/* Length of the frame our own code wrote at p (it is well formed). */
static size_t
own_frame_size(const char *p)
{
	size_t v = 0, i = 0;

	while (p[i] != ':')
		v = v * 10 + (p[i++] - '0');
	return (i + 1 + v + 1);
}

char *
link_reserve(struct link *l, size_t n)
{
	size_t before = l->q.start;

	if (buf_len(&l->q) + n > l->window)
		return (NULL);
	if (buf_room(&l->q) < n) {
		if (buf_reserve(&l->q, n) == -1)
			return (NULL);
		/* buf_reserve moves the data to the front. */
		l->qs -= before - l->q.start;
		l->bound -= before - l->q.start;
	}
	return (buf_tail(&l->q));
}

int
link_ctl(struct link *l, const char *frame, size_t n)
{
	return (buf_append(&l->ctl, frame, n));
}

int
link_ctlv(struct link *l, const char *cmd, const char *const *args,
    const void *bin, size_t binlen)
{
	size_t n = wire_put_ctl(NULL, 0, cmd, args, bin, binlen);

	if (buf_reserve(&l->ctl, n) == -1)
		return (-1);
	wire_put_ctl(buf_tail(&l->ctl), n, cmd, args, bin, binlen);
	l->ctl.end += n;
	return (0);
}

int
link_ack(struct link *l, uint64_t n)
{
	size_t off = l->q.start;

	if (n < l->n_acked || n > l->n_queued) {
		errno = EPROTO;
		return (-1);
	}
	for (uint64_t k = l->n_acked; k < n; k++) {
		if (off >= l->qs) {
			errno = EPROTO;	/* acknowledges what was not sent */
			return (-1);
		}
		off += own_frame_size(l->q.base + off);
		if (off > l->qs) {
			errno = EPROTO;	/* a frame not wholly sent */
			return (-1);
		}
	}
	l->n_acked = n;
	l->q.start = off;
	if (l->bound < off)
		l->bound = off;
	if (l->q.start == l->q.end)
		l->q.start = l->q.end = l->qs = l->bound = 0;
	return (0);
}

int
link_rewind(struct link *l, uint64_t n)
{
	size_t off = l->q.start;

	if (n < l->n_acked || n > l->n_queued) {
		errno = EPROTO;
		return (-1);
	}
	for (uint64_t k = l->n_acked; k < n; k++)
		off += own_frame_size(l->q.base + off);
	l->qs = l->bound = off;
	return (0);
}

ssize_t
link_flush(struct link *l)
{
	struct iovec iov[2];
	size_t clen = buf_len(&l->ctl), dend = l->q.end;
	int n = 0;
	ssize_t w;

	if (clen > 0) {
		/* A control frame may only go between two data frames. */
		while (l->bound < l->qs)
			l->bound += own_frame_size(l->q.base + l->bound);
		if (l->bound == l->qs) {
			iov[n].iov_base = buf_data(&l->ctl);
			iov[n++].iov_len = clen;
		} else {
			dend = l->bound;
			clen = 0;
		}
	}
	if (dend > l->qs) {
		iov[n].iov_base = l->q.base + l->qs;
		iov[n++].iov_len = dend - l->qs;
	}
	if (n == 0)
		return (0);
	do
		w = writev(l->fd, iov, n);
	while (w == -1 && errno == EINTR);
	if (w <= 0)
		return (w);
	l->bytes_out += w;
	if (clen > 0) {
		size_t c = (size_t)w < clen ? (size_t)w : clen;

		buf_consume(&l->ctl, c);
		l->qs += w - c;
	} else {
		l->qs += w;
	}
	return (w);
}

ssize_t
link_read(struct link *l)
{
	ssize_t n = buf_fill(&l->in, l->fd, LINK_READ_CHUNK);

	if (n > 0)
		l->bytes_in += n;
	return (n);
}
