/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "seal.h"
#include "udpsock.h"
#include "wire.h"

#define LINK_READ_CHUNK (256 * 1024)
/* One entry of the ring of frame sizes for every 64 bytes of the window:
 * a window of small messages is seldom limited by the ring first. */
#define LINK_FRAME_BYTES 64
#define LINK_RING_MIN 1024

/* Size the ring of frame sizes to the window, while it is not allocated. */
static void
size_ring(struct link *l)
{
	size_t n = LINK_RING_MIN;

	if (l->sz != NULL)
		return;
	while (n < l->window / LINK_FRAME_BYTES)
		n *= 2;
	l->szmask = n - 1;
}

int
link_init(struct link *l, int fd, size_t maxin, size_t window, size_t maxout)
{
	size_t big = frame_size(maxout + 64);

	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->maxin = maxin;
	l->window = window > big ? window : big;
	size_ring(l);
	if (buf_init(&l->in, 0, frame_size(maxin) + LINK_READ_CHUNK) == -1 ||
	    buf_init(&l->ctl, 0, 2 * frame_size(maxin + 64) + 65536) == -1 ||
	    buf_init(&l->q, 0, 4 * l->window) == -1)
		return (-1);
	return (0);
}

void
link_free(struct link *l)
{
	buf_free(&l->in);
	buf_free(&l->ctl);
	buf_free(&l->q);
	free(l->sz);
	l->sz = NULL;
	buf_free(&l->win);
	buf_free(&l->wout);
	free(l->plain);
	l->plain = NULL;
	seal_free(l->seal);
	l->seal = NULL;
	if (l->uc != NULL) {
		udpconn_release(l->uc);
		l->uc = NULL;
	}
}

#define WIRE_BUF (4 * (SEAL_RECORD_MAX + SEAL_ABYTES + SEAL_LENLEN))

int
link_seal(struct link *l, struct seal *s)
{
	seal_free(l->seal);
	l->seal = s;
	l->final_due = l->final_sent = l->final_in = 0;
	buf_free(&l->win);
	buf_free(&l->wout);
	if (buf_init(&l->win, WIRE_BUF, WIRE_BUF) == -1 ||
	    buf_init(&l->wout, WIRE_BUF, WIRE_BUF) == -1 ||
	    (l->plain == NULL && (l->plain = malloc(SEAL_RECORD_MAX)) == NULL))
		return (-1);
	/* What came after the handshake is already ciphertext. */
	if (buf_len(&l->in) > 0)
		buf_append(&l->win, buf_data(&l->in), buf_len(&l->in));
	l->in.start = l->in.end = 0;
	/* Records are opened into in: room for many, so that the part of a
	 * frame left at the end is moved down rarely. */
	(void)buf_reserve(&l->in,
	    16 * SEAL_RECORD_MAX < l->in.max ? 16 * SEAL_RECORD_MAX :
					       l->in.max);
	return (0);
}

void
link_set_peer_max(struct link *l, size_t maxout)
{
	size_t big = frame_size(maxout + 64);

	if (l->window < big)
		l->window = big;
	/* Four times the window: the data held is moved down at most once
	 * for every three times its size appended. */
	if (l->q.max < 4 * l->window)
		l->q.max = 4 * l->window;
	size_ring(l);
}

void
link_set_window(struct link *l, size_t window, size_t maxout)
{
	l->window = window;
	l->q.max = 4 * window > l->q.cap ? 4 * window : l->q.cap;
	link_set_peer_max(l, maxout);
}

void
link_reset(struct link *l, int fd)
{
	if (l->uc != NULL) {
		udpconn_release(l->uc);
		l->uc = NULL;
	}
	l->fd = fd;
	l->in.start = l->in.end = 0;
	l->ctl.start = l->ctl.end = 0;
	l->final_due = l->final_sent = l->final_in = 0;
	seal_free(l->seal);
	l->seal = NULL;
	buf_free(&l->win);
	buf_free(&l->wout);
	free(l->plain);
	l->plain = NULL;
}

void
link_close(struct link *l)
{
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->uc != NULL) {
		udpconn_release(l->uc);
		l->uc = NULL;
	}
}

void
link_shutdown(struct link *l)
{
	if (l->uc != NULL)
		udpconn_shutdown(l->uc);
	else if (l->fd != -1)
		shutdown(l->fd, SHUT_WR);
}

int
link_wants_out(const struct link *l)
{
	if (l->uc != NULL)
		return (udpconn_blocked(l->uc));
	return (link_pending(l) > 0);
}

int
link_wait_ms(const struct link *l)
{
	if (l->uc == NULL)
		return (-1);
	return (udpconn_wait_ms(l->uc, udpsock_now()));
}

int
link_buffered(const struct link *l)
{
	return (l->uc != NULL && l->uc->u != NULL &&
	    (l->uc->carry_at < l->uc->carry_len || udp_readable(l->uc->u)));
}

char *
link_reserve(struct link *l, size_t n)
{
	size_t before = l->q.start;

	if (l->final_due || buf_len(&l->q) + n > l->window ||
	    link_room_frames(l) == 0)
		return (NULL);
	if (l->sz == NULL &&
	    (l->sz = malloc((l->szmask + 1) * sizeof(*l->sz))) == NULL)
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

void
link_commit_n(struct link *l, const uint32_t *sizes, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		l->sz[l->n_queued++ & l->szmask] = sizes[i];
		l->q.end += sizes[i];
	}
}

int
link_ctl(struct link *l, const char *frame, size_t n)
{
	if (l->final_due) {
		errno = EPIPE; /* our stream has ended */
		return (-1);
	}
	return (buf_append(&l->ctl, frame, n));
}

int
link_ctlv(struct link *l, const char *cmd, const char *const *args,
    const void *bin, size_t binlen)
{
	return (link_ctlv_to(l, "", cmd, args, bin, binlen));
}

int
link_ctlv_to(struct link *l, const char *dest, const char *cmd,
    const char *const *args, const void *bin, size_t binlen)
{
	size_t n = wire_put_ctl_to(NULL, 0, dest, cmd, args, bin, binlen);

	if (l->final_due) {
		errno = EPIPE; /* our stream has ended */
		return (-1);
	}
	if (buf_reserve(&l->ctl, n) == -1)
		return (-1);
	wire_put_ctl_to(buf_tail(&l->ctl), n, dest, cmd, args, bin, binlen);
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
	for (uint64_t k = l->n_acked; k < n; k++)
		off += l->sz[k & l->szmask];
	if (off > l->qs) {
		errno = EPROTO; /* acknowledges what was not wholly sent */
		return (-1);
	}
	l->n_acked = n;
	l->q.start = off;
	if (l->bound < off) {
		l->bound = off;
		l->n_bound = n;
	}
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
		off += l->sz[k & l->szmask];
	l->qs = l->bound = off;
	l->n_bound = n;
	return (0);
}

/*
 * What goes out next, in order: control frames, then data frames (only at
 * a frame boundary may control frames go first).  Fills iov (2 entries);
 * *clen is the control part.
 */
static int
gather(struct link *l, struct iovec *iov, size_t *clenp)
{
	size_t clen = buf_len(&l->ctl), dend = l->q.end;
	int n = 0;

	if (clen > 0) {
		/* A control frame may only go between two data frames. */
		while (l->bound < l->qs)
			l->bound += l->sz[l->n_bound++ & l->szmask];
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
	*clenp = clen;
	return (n);
}

/* w bytes of what gather gave are gone. */
static void
consumed(struct link *l, size_t w, size_t clen)
{
	size_t c = w < clen ? w : clen;

	buf_consume(&l->ctl, c);
	l->qs += w - c;
}

/* Sealed: turn queued frames into records, as many as wout takes. */
static void
seal_some(struct link *l)
{
	struct iovec iov[2];
	const void *src;
	size_t clen, m;
	int n;

	while (buf_room(&l->wout) + l->wout.start >=
	    SEAL_RECORD_MAX + SEAL_ABYTES + SEAL_LENLEN) {
		if (buf_reserve(&l->wout,
			SEAL_RECORD_MAX + SEAL_ABYTES + SEAL_LENLEN) == -1)
			return;
		n = gather(l, iov, &clen);
		m = 0;
		src = l->plain;
		/* One piece (the usual case): seal it where it lies. */
		if (n >= 1 && (iov[0].iov_len >= SEAL_RECORD_MAX || n == 1)) {
			src = iov[0].iov_base;
			m = iov[0].iov_len < SEAL_RECORD_MAX ? iov[0].iov_len :
							       SEAL_RECORD_MAX;
		} else {
			for (int i = 0; i < n && m < SEAL_RECORD_MAX; i++) {
				size_t k = iov[i].iov_len;

				if (k > SEAL_RECORD_MAX - m)
					k = SEAL_RECORD_MAX - m;
				memcpy(l->plain + m, iov[i].iov_base, k);
				m += k;
			}
		}
		if (m == 0) {
			if (!l->final_due || l->final_sent)
				return;
			l->final_sent = 1; /* the end of our stream */
		}
		l->wout.end += seal_record(l->seal,
		    (unsigned char *)buf_tail(&l->wout), src, m,
		    m == 0 && l->final_sent);
		consumed(l, m, clen);
	}
}

ssize_t
link_flush(struct link *l)
{
	struct iovec iov[2];
	size_t clen;
	int n;
	ssize_t w;

	if (l->uc != NULL) {
		/* udp: the engine takes what its buffer has room for. */
		n = gather(l, iov, &clen);
		w = udpconn_write(l->uc, iov, n);
		if (w > 0) {
			l->bytes_out += w;
			consumed(l, w, clen);
		}
		return (w);
	}
	if (l->seal) {
		seal_some(l);
		if (buf_len(&l->wout) == 0)
			return (0);
		w = buf_drain(&l->wout, l->fd);
		if (w > 0) {
			l->bytes_out += w;
			seal_some(l);
		}
		return (w);
	}
	if ((n = gather(l, iov, &clen)) == 0)
		return (0);
	do
		w = writev(l->fd, iov, n);
	while (w == -1 && errno == EINTR);
	if (w <= 0)
		return (w);
	l->bytes_out += w;
	consumed(l, w, clen);
	return (w);
}

/* Sealed: open the records that have arrived, as far as in has room. */
static int
open_some(struct link *l)
{
	size_t used;
	ssize_t m;
	int final;

	while (buf_len(&l->win) > 0) {
		if (l->final_in) {
			errno = EBADMSG; /* nothing may follow the end */
			return (-1);
		}
		if (buf_room(&l->in) < SEAL_RECORD_MAX &&
		    buf_reserve(&l->in, SEAL_RECORD_MAX) == -1)
			return (0); /* in is full: read it first */
		m = seal_open(l->seal, (unsigned char *)buf_tail(&l->in),
		    buf_data(&l->win), buf_len(&l->win), &used, &final);
		if (m == -2)
			return (0);
		if (m == -1)
			return (-1);
		l->in.end += m;
		buf_consume(&l->win, used);
		l->final_in = final;
	}
	return (0);
}

ssize_t
link_read(struct link *l)
{
	ssize_t n;

	if (l->uc != NULL) {
		n = udpconn_read(l->uc, &l->in);
		if (n > 0)
			l->bytes_in += n;
		return (n);
	}
	if (l->seal) {
		if (open_some(l) == -1)
			return (-1);
		/* Room for a whole record: a part of one moves to the front. */
		n = buf_fill(&l->win, l->fd,
		    SEAL_RECORD_MAX + SEAL_ABYTES + SEAL_LENLEN);
		if (n > 0)
			l->bytes_in += n;
		if (n == -1 && errno == ENOBUFS)
			n = 1; /* in is full: say "data" and let it drain */
		if (n > 0 && open_some(l) == -1)
			return (-1);
		if (n == 0 && !l->final_in) {
			errno = EPIPE; /* cut before the FINAL record */
			return (-1);
		}
		return (n);
	}
	n = buf_fill(&l->in, l->fd, LINK_READ_CHUNK);
	if (n > 0)
		l->bytes_in += n;
	return (n);
}
