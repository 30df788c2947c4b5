/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * What quilt-send takes from the listener: acknowledgements, a handler's
 * replies (to standard output, acknowledged in turn once written), a
 * relay's end-to-end outcome of -d and -a (done, lost), pings, the
 * handler's exit status, and errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "send.h"

/* The sink's done callback (arg: the replies): they were written. */
void
replies_written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	struct replies *r = arg;

	r->written = count;
	r->ack_due = 1;
}

/* Remember a node that could not be reached, once, for the last word. */
static void
lost_node(struct e2e *e, const char *p, size_t n)
{
	for (int i = 0; i < e->nnames; i++)
		if (strlen(e->names[i]) == n && memcmp(e->names[i], p, n) == 0)
			return;
	if (e->nnames == LOST_SHOWN || n > WIRE_NODE_MAX) {
		e->more = 1;
		return;
	}
	memcpy(e->names[e->nnames], p, n);
	e->names[e->nnames++][n] = '\0';
}

/* Through a relay: name the nodes that could not be reached. */
void
e2e_unreached(struct e2e *e, const char *addrstr, int all)
{
	char list[LOST_SHOWN * (WIRE_NODE_MAX + 2) + 8] = "";

	if (e->lost == 0)
		return;
	/* In name order, whatever order the news came in. */
	qsort(e->names, e->nnames, sizeof(e->names[0]),
	    (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < e->nnames; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, e->names[i]);
	}
	if (e->more)
		strcat(list, ", ...");
	/* clang-format off */
	if (all)
		log_warnx("%s: %" PRIu64 " message%s not written by: %s",
		    addrstr, e->lost, e->lost == 1 ? "" : "s", list);
	else
		log_warnx("%s: node %s is unreachable: %" PRIu64 " message%s not delivered",
		    addrstr, list, e->lost, e->lost == 1 ? "" : "s");
	/* clang-format on */
}

/* ["", "done", NODE, K...]: NODE (or all) wrote them.  0, or -1. */
static int
done(struct sess *s, struct e2e *e, const struct wire_msg *m)
{
	struct frame_iter it;
	const char *p;
	size_t n;
	int k;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &p, &n) != 1)
		return (-1);
	while ((k = frame_next_part(&it, &p, &n)) == 1) {
		uint64_t first, last;

		/* K, or a range FIRST-LAST. */
		if (wire_get_range(p, n, s->link.n_queued, &first, &last) ==
			-1 ||
		    first == 0 ||
		    e->done + e->lost + (last - first) >= s->link.n_queued)
			return (-1);
		e->done += last - first + 1;
	}
	return (k == -1 ? -1 : 0);
}

/* ["", "lost", K, NODE...]: not written by those nodes.  0, or -1. */
static int
lost(struct sess *s, struct e2e *e, const struct wire_msg *m)
{
	struct frame_iter it;
	unsigned long long v;
	const char *p;
	size_t n;
	int k;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &p, &n) != 1 ||
	    frame_part_num(p, n, s->link.n_queued, &v) == -1 || v == 0 ||
	    e->done + e->lost >= s->link.n_queued)
		return (-1);
	e->lost++;
	while ((k = frame_next_part(&it, &p, &n)) == 1)
		lost_node(e, p, n);
	return (k == -1 ? -1 : 0);
}

/*
 * A reply of the handler, to standard output.  0, -1 when it is malformed,
 * -2 when there is no room (it cannot happen: replies are not read while
 * standard output is backed up).
 */
static int
reply(struct replies *r, const struct wire_msg *m)
{
	ssize_t k;
	char *w;

	if ((w = sink_reserve(&r->out,
		 r->json ? fmt_json_bound(m->argslen) + r->headlen :
			   fmt_bound(m->argslen))) == NULL)
		return (-2);
	k = r->json ?
	    fmt_put_json(w, r->head, r->headlen, m->args, m->argslen) :
	    fmt_put(r->fmt, w, m->args, m->argslen, &r->escaped);
	if (k == -1)
		return (-1);
	sink_commit(&r->out, k);
	r->in++;
	(void)sink_mark(&r->out, 0, 0, r->in, 1);
	return (0);
}

/*
 * A frame from the listener, decoded.  0 when taken; otherwise the exit
 * status that ends the run (76), the reason said.
 */
int
peer_frame(struct sess *s, struct replies *r, struct e2e *e,
    const struct wire_msg *m)
{
	struct frame_iter it;
	unsigned long long v;
	const char *p;
	size_t n;

	switch (m->cmd) {
	case W_DONE:
	case W_LOST:
		if (!e->on)
			break;
		if ((m->cmd == W_DONE ? done(s, e, m) : lost(s, e, m)) == -1)
			goto bad;
		return (0);
	case W_ACK:
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, UINT64_MAX, &v) == -1 ||
		    link_ack(&s->link, v) == -1)
			goto bad;
		s->acks++;
		return (0);
	case W_MSG:
		switch (reply(r, m)) {
		case -1:
			goto bad;
		case -2:
			log_warnx("reply buffer full");
			return (EX_SOFTWARE);
		}
		return (0);
	case W_PING: {
		char seq[24];
		const char *args[] = {seq, s->me.node, "0", NULL};

		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			goto bad;
		snprintf(seq, sizeof(seq), "%.*s", (int)(n < 20 ? n : 20), p);
		if (frame_next_part(&it, &p, &n) != 1)
			p = "", n = 0;
		link_ctlv(&s->link, "pong", args, p, n);
		return (0);
	}
	case W_PONG:
		return (0);
	case W_BYE:
		s->peer_bye = 1;
		return (0);
	case W_EXIT:
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, 255, &v) == -1)
			goto bad;
		s->got_exit = 1;
		s->exit_status = v;
		return (0);
	case W_ERROR:
		frame_iter_init(&it, m->args, m->argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			p = "", n = 0;
		log_warnx("%s: the peer says: %.*s", s->addrstr, (int)n, p);
		return (EX_PROTOCOL);
	default:
		break;
	}
	log_warnx("%s: unexpected '%.*s' from the peer", s->addrstr,
	    (int)(m->namelen > 32 ? 32 : m->namelen), m->name);
	return (EX_PROTOCOL);
bad:
	log_warnx("%s: malformed frame from the peer", s->addrstr);
	return (EX_PROTOCOL);
}
