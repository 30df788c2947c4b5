/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * One peer connection over any byte stream: what has arrived from the peer,
 * the control frames to send (acks, pongs, bye: unnumbered, sent ahead of
 * data but only between two data frames), and the numbered data frames,
 * kept from the moment they are queued until the peer acknowledges them so
 * that they can be sent again after a reconnect.
 *
 * Message counts are absolute over a session, so "ack N" and "resume from
 * N" mean the same thing on every connection of that session.
 */
#ifndef QUILT_LINK_H
#define QUILT_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct udpconn;

struct link {
	int fd;
	struct buf in; /* bytes from the peer, frames parsed in place */
	struct buf ctl; /* control frames to write */
	/* Data frames: q.base[q.start..qs) sent, waiting for the ack;
	 * q.base[qs..q.end) not yet sent.  bound is a frame boundary <= qs,
	 * pushed forward when a control frame must go between two frames. */
	struct buf q;
	size_t qs, bound;
	/* The size of each data frame in q, message k's at sz[k & szmask]
	 * (n_acked <= k < n_queued), so that acks, rewinds and bound move
	 * without reading the frames again.  Allocated with the first frame;
	 * when it is full the window is. */
	uint32_t *sz;
	size_t szmask;
	uint64_t n_bound; /* messages before bound */
	size_t window; /* most bytes of data frames held */
	size_t maxin; /* the largest frame taken from the peer */
	uint64_t n_queued, n_acked;
	uint64_t bytes_in, bytes_out;

	/* Sealed (-k): records on the wire, frames in in/ctl/q as above. */
	struct seal *seal;
	struct buf win, wout; /* ciphertext from and to the peer */
	/* Frames in two pieces gathered into one record (SEAL_RECORD_MAX
	 * bytes): this link's, so that no other link's record can be built
	 * in it. */
	unsigned char *plain;
	int final_due; /* our stream ends after what is queued */
	int final_sent, final_in;

	/* udp: the connection whose reliable channel carries the stream
	 * (udpsock.h), or NULL: then fd is a socket and the stream is its. */
	struct udpconn *uc;
};

/*
 * Set up a link on fd (may be -1 until connected).  maxin bounds frames from
 * the peer; window bounds the data frames held (it is raised to hold at least
 * one frame of maxout bytes).  -1 ENOMEM.
 */
int link_init(struct link *l, int fd, size_t maxin, size_t window,
    size_t maxout);
void link_free(struct link *l);

/* The peer takes frames of up to maxout bytes: hold at least one. */
void link_set_peer_max(struct link *l, size_t maxout);

/* Hold at most window bytes of data frames (at least one frame of maxout). */
void link_set_window(struct link *l, size_t window, size_t maxout);

/*
 * From now on the link is sealed with s (it takes s).  Bytes already read
 * past the handshake are ciphertext.  -1 ENOMEM.
 */
int link_seal(struct link *l, struct seal *s);

/*
 * The last thing we send: a sealed link ends its stream with a FINAL record
 * once what is queued is out; nothing can be queued after it (EPIPE).
 */
static inline void
link_end(struct link *l)
{
	l->final_due = 1;
}

/* Forget what is in flight on the old connection; keep the data frames. */
void link_reset(struct link *l, int fd);

/*
 * Close the connection: its fd, and over udp: its engine, which delivers
 * what it holds and ends (udpconn_release).  fd becomes -1.
 */
void link_close(struct link *l);

/* Our end of the stream, the other direction still open: SHUT_WR. */
void link_shutdown(struct link *l);

/*
 * Does the fd wait for POLLOUT?  Over a stream, while bytes wait to be
 * written; over udp, only while the socket's buffer is full (the engine
 * takes the bytes, and its acknowledgements come in as input).
 */
int link_wants_out(const struct link *l);

/*
 * Over udp: milliseconds until link_flush must run again for the
 * engine's timers (resends, keep-alives, the time-out), or -1: never, and
 * always over a stream.
 */
int link_wait_ms(const struct link *l);

/* Over udp: the engine holds what link_read would give (a client's
 * socket is not readable for it). */
int link_buffered(const struct link *l);

/*
 * Room for a data frame of n bytes: a pointer to write it at, or NULL when
 * the window is full (in bytes or in frames, see link_room_frames).  Then
 * link_commit(l, n) queues it as one message.
 */
char *link_reserve(struct link *l, size_t n);

static inline void
link_commit(struct link *l, size_t n)
{
	l->sz[l->n_queued++ & l->szmask] = (uint32_t)n;
	l->q.end += n;
}

/* How many more data frames the window takes, whatever their bytes. */
static inline size_t
link_room_frames(const struct link *l)
{
	return (l->szmask + 1 - (size_t)(l->n_queued - l->n_acked));
}

/*
 * A batch: count frames (at most link_room_frames) of sizes[] bytes, written
 * one after the other where link_reserve(l, their total) said, queued as
 * count messages.
 */
void link_commit_n(struct link *l, const uint32_t *sizes, size_t count);

/* Queue a control frame (already encoded).  -1 ENOBUFS when full. */
int link_ctl(struct link *l, const char *frame, size_t n);

/* Queue ["", cmd, args...] as a control frame (see wire_put_ctl). */
int link_ctlv(struct link *l, const char *cmd, const char *const *args,
    const void *bin, size_t binlen);

/* Queue [dest, cmd, args...] as a control frame. */
int link_ctlv_to(struct link *l, const char *dest, const char *cmd,
    const char *const *args, const void *bin, size_t binlen);

/*
 * The peer has written the first n messages: drop them.  -1 with EPROTO
 * when n goes backwards or past what was sent.
 */
int link_ack(struct link *l, uint64_t n);

/* After a reconnect: send again from message n (n_acked <= n <= n_queued). */
int link_rewind(struct link *l, uint64_t n);

/* Bytes waiting to be written. */
static inline size_t
link_pending(const struct link *l)
{
	return (buf_len(&l->ctl) + (l->q.end - l->qs) + buf_len(&l->wout) +
	    (l->seal && l->final_due && !l->final_sent));
}

/* Bytes of data frames not yet written (0: none). */
static inline size_t
link_unsent(const struct link *l)
{
	return (l->q.end - l->qs);
}

/*
 * Write what can be written in one writev.  Bytes written, or -1 (EAGAIN).
 * Over udp: what the engine takes, and a client's datagrams due; -1 with
 * the errno of the end once the connection is dead (see udpconn_read).
 */
ssize_t link_flush(struct link *l);

/*
 * One read from the peer.  Bytes read, 0 at end of stream, -1 (EAGAIN).
 * Sealed: -1 with EBADMSG when a record is forged, altered, replayed or
 * reordered, or arrives after the FINAL one (nothing of it is delivered);
 * the end of the stream without the FINAL record is -1 with EPIPE.
 * Over udp: see udpconn_read (0 at a clean end, ETIMEDOUT when the peer
 * went silent...).
 */
ssize_t link_read(struct link *l);

/*
 * The next whole frame from the peer: its size (> 0) with *body and *len
 * pointing into the link's buffer, valid until link_take; 0 for "need
 * more"; -1 with EMSGSIZE or EBADMSG.  max 0 means the link's maxin.
 */
static inline ssize_t link_frame(struct link *l, size_t max, const char **body,
    size_t *len);

/* Done with the frame of n bytes that link_frame returned. */
static inline void
link_take(struct link *l, size_t n)
{
	buf_consume(&l->in, n);
}

#include "frame.h"

static inline ssize_t
link_frame(struct link *l, size_t max, const char **body, size_t *len)
{
	return (frame_parse(buf_data(&l->in), buf_len(&l->in),
	    max ? max : l->maxin, body, len));
}

#endif
