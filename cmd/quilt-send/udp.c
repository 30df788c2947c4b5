/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-send over udp: the unreliable messages of -U (whole msg frames on
 * the engine's unreliable channel, never numbered nor acknowledged), and
 * the transport's counters for -v.  The session itself (the handshake,
 * the stream of frames, reconnects) is main.c's, through the link, as over
 * TCP.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "send.h"
#include "udpsock.h"

/* Room for an unreliable frame of n bytes (grown once, then reused). */
char *
udp_room(struct sess *s, size_t n)
{
	if (n > s->ucap) {
		char *p = realloc(s->uframe, n);

		if (p == NULL)
			return (NULL);
		s->uframe = p;
		s->ucap = n;
	}
	return (s->uframe);
}

/*
 * Queue the frame of n bytes written at udp_room: 0, or -1 when the
 * engine's queue is full or the connection is gone (the link says which
 * on its next read or flush).
 */
int
udp_queue(struct sess *s, size_t n)
{
	if (s->link.uc == NULL ||
	    udpconn_unreliable(s->link.uc, s->uframe, n) == -1)
		return (-1);
	s->usent++;
	return (0);
}

/* Unreliable frames given to the engine and not yet sent. */
size_t
udp_unsent(const struct sess *s)
{
	return (s->link.uc != NULL ? udpconn_unsent(s->link.uc) : 0);
}

/*
 * -v: the transport's counters of the last connection, legume's and
 * more, on one line after the session's.  Pending acks are messages sent
 * and not yet acknowledged as written (and the most there were); the
 * reorder queue, the gaps in what came in (and the most).  udp_keep
 * keeps them when the connection goes (a cut), as a line and as JSON for
 * -j's summary (ujson); udp_counters says the line.
 */
void
udp_keep(struct sess *s, uint64_t replies)
{
	const struct udpconn *uc = s->link.uc;
	struct udpsock_msgs m = {
	    .out = s->link.n_queued + s->usent,
	    .in = replies,
	    .uout = s->usent,
	    .pending = s->link.n_queued - s->link.n_acked,
	    .peak_pending = s->peak_pending,
	};

	if (uc != NULL && uc->u != NULL) {
		udpsock_counters(s->ucounters, sizeof(s->ucounters), uc, &m, 0);
		udpsock_counters(s->ujson, sizeof(s->ujson), uc, &m, 1);
	}
}

void
udp_counters(struct sess *s, uint64_t replies, void (*say)(const char *, ...))
{
	udp_keep(s, replies);
	if (s->ucounters[0] != '\0')
		say("udp: %s", s->ucounters);
}
