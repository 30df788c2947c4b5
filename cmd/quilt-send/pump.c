/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-send's input: standard input (lines, -0 or -N) or the operands,
 * each message framed once, in place, into the link's window of frames
 * not yet acknowledged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "send.h"

/*
 * Queue as many input messages as the window takes.  0 when it must wait
 * (for input, or for room); otherwise the exit status of a message that
 * cannot be sent, with why saying so.
 */
int
pump(struct input *in, struct sess *s, const struct opts *o, char *why,
    size_t whylen)
{
	size_t peer = s->peer.maxmsg, dl = o->dest ? strlen(o->dest) : 0;
	const char *d = o->dest ? o->dest : "";
	int net = o->fmt == FMT_NET && !in->args;

	for (;;) {
		const char *p;
		size_t len, fsz, body;
		ssize_t r;
		char *w;

		if (in->args) {
			if (in->argi == in->nargs) {
				in->eof = 1;
				return (0);
			}
			p = in->args[in->argi];
			len = strlen(p);
			r = 0;
		} else {
			r = fmt_next(o->fmt, buf_data(&in->in),
			    buf_len(&in->in), in->eof, peer, &p, &len);
			in->need_more = r == 0;
			if (r == 0)
				return (0);
			/* clang-format off */
			if (r == -1 && errno == EMSGSIZE)
				snprintf(why, whylen, "stdin: message exceeds the peer's limit of %zu bytes", peer);
			else if (r == -1 && in->eof && frame_parse(buf_data(&in->in), buf_len(&in->in), peer, &p, &len) == 0)
				snprintf(why, whylen, "stdin: malformed netstring: the last one is cut short");
			else if (r == -1)
				snprintf(why, whylen, "stdin: malformed netstring");
			/* clang-format on */
			if (r == -1)
				return (EX_DATAERR);
		}
		body = net ? wire_msgn_body(dl, len) : wire_msg1_body(dl, len);
		if (body > peer) {
			/* clang-format off */
			snprintf(why, whylen, "message of %zu bytes (%zu with its envelope) exceeds the peer's limit of %zu",
			    len, body, peer);
			/* clang-format on */
			return (EX_DATAERR);
		}
		fsz = frame_size(body);
		/* Enough is queued ahead of the writer (the sealing): more
		 * would only be copied out of the cache before it is read.
		 * -U: the frame goes to the engine's own queue (udp.c). */
		if (o->unreliable) {
			if ((w = udp_room(s, fsz)) == NULL) {
				snprintf(why, whylen, "out of memory");
				return (EX_OSERR);
			}
		} else if (link_unsent(&s->link) >= AHEAD ||
		    (w = link_reserve(&s->link, fsz)) == NULL) {
			return (0);
		}
		if (net)
			wire_put_msgn(w, d, dl, p, len);
		else if (dl == 0)
			wire_put_msg1_fast(w, p, len);
		else
			wire_put_msg1(w, d, dl, p, len);
		if (!o->unreliable)
			link_commit(&s->link, fsz);
		else if (udp_queue(s, fsz) == -1)
			return (0); /* full: the same message again later */
		s->bytes_msg += len;
		if (in->args)
			in->argi++;
		else
			buf_consume(&in->in, r);
	}
}
