/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-send -C: an outgoing side of quilt-relay.  Standard input and
 * output are one socket pair to the router: the router's frames come in
 * whole and go on as they are, numbered; what the child tells the router
 * (up, down, ack, and the peer's frames that are the router's business) is
 * a cmsg frame (libcommon/cmsg.h, quilt-protocol(5) "Relay children").
 * Each function that writes to the router returns -1 when it is not read
 * (its sink is full): a broken router.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

#include "cmsg.h"
#include "mesh.h"
#include "send.h"

/* The session is up: the peer's name, instance, limit; our address. */
int
child_up(struct sink *out, const struct sess *s)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char local[ADDR_STRLEN] = "";
	struct cmsg m = {.type = CM_UP, .n = s->peer.maxmsg};

	if (getsockname(s->link.fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family != AF_UNIX)
		addr_str(local, (struct sockaddr *)&ss, sslen);
	m.node.p = s->peer.node;
	m.node.len = strlen(s->peer.node);
	m.inst.p = s->peer.relay;
	m.inst.len = strlen(s->peer.relay);
	m.text.p = local;
	m.text.len = strlen(local);
	return (cmsg_sink(out, &m));
}

/* The connection was lost; the child reconnects. */
int
child_down(struct sink *out, const char *why)
{
	struct cmsg m = {.type = CM_DOWN};

	m.text.p = why;
	m.text.len = strlen(why);
	return (cmsg_sink(out, &m));
}

/* The peer has acknowledged the first n frames. */
int
child_ack(struct sink *out, uint64_t n)
{
	struct cmsg m = {.type = CM_ACK, .n = n};

	return (cmsg_sink(out, &m));
}

/* A frame's body from the peer: pongs, errors, the router's business. */
int
child_peer(struct sink *out, const char *body, size_t len)
{
	struct cmsg m = {.type = CM_PEER, .data = {body, len}};

	return (cmsg_sink(out, &m));
}

/*
 * Frames from the router, passed on as they are: a run of data frames in
 * one copy (a plain listener's pings go on their own, unnumbered).  1 when
 * some were taken, 0 when it must wait (input or window); otherwise the
 * exit status of a frame the router should not have sent, with why.
 */
static int
pump_some(struct input *in, struct sess *s, const struct opts *o, char *why,
    size_t whylen)
{
	const char *data = buf_data(&in->in), *body;
	size_t have = buf_len(&in->in), off = 0, len, room, frames;
	uint32_t sizes[1024];
	size_t count = 0;
	struct wire_msg m;
	ssize_t r = 0;
	char *w;

	room = s->link.window > buf_len(&s->link.q) ?
	    s->link.window - buf_len(&s->link.q) :
	    0;
	frames = link_room_frames(&s->link);
	if (frames > sizeof(sizes) / sizeof(sizes[0]))
		frames = sizeof(sizes) / sizeof(sizes[0]);
	while (off < have) {
		r = frame_parse(data + off, have - off, o->maxmsg, &body, &len);
		if (r <= 0)
			break;
		if (len > s->peer.maxmsg) {
			snprintf(why, whylen,
			    "%s: a frame of %zu bytes is over the peer's limit",
			    s->addrstr, len);
			return (EX_DATAERR);
		}
		if (!s->peer.relay[0] && wire_msg_head(body, len) == 0) {
			if (wire_decode(body, len, &m) == -1)
				goto malformed;
			if (m.cmd == W_PING)
				break;
		}
		/* The router's keep-alive for a relay goes unnumbered, ahead
		 * of what waits in the window. */
		if (s->peer.relay[0] && mesh_is_alive(body, len))
			break;
		if (count > 0 && (off + r > room || count == frames))
			break;
		off += r;
		sizes[count++] = r;
	}
	if (r == -1)
		goto malformed;
	if (count > 0) {
		if ((w = link_reserve(&s->link, off)) == NULL)
			return (0);
		memcpy(w, data, off);
		link_commit_n(&s->link, sizes, count);
		buf_consume(&in->in, off);
		return (1);
	}
	if (r > 0) {
		/* A ping for a plain listener, which answers it itself (the
		 * router sent it unnumbered too), or a keep-alive. */
		if (link_ctl(&s->link, data, r) == -1)
			return (0);
		buf_consume(&in->in, r);
		return (1);
	}
	in->need_more = 1;
	return (0);
malformed:
	snprintf(why, whylen, "a malformed frame from the router");
	return (EX_SOFTWARE);
}

/*
 * Queue what the router sent, as far as the window takes it: 0 when it
 * must wait, or the exit status of a frame it should not have sent.
 */
int
child_pump(struct input *in, struct sess *s, const struct opts *o, char *why,
    size_t whylen)
{
	int r;

	while ((r = pump_some(in, s, o, why, whylen)) == 1)
		;
	return (r);
}
