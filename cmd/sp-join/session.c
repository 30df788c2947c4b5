/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-join's Spread session: the requests it sends (joins, leaves, -i's
 * messages, the disconnect) queued in one buffer that the loop writes in
 * one go, and what the daemon sends, taken as it comes and handed to the
 * printer.  It always asks for membership messages: they confirm its joins
 * (for -P) and, as self-leave notices, its leaves (for -e).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "join.h"
#include "log.h"

#define TX_MAX (64u << 20)
/* The largest message we take: the rest of the input buffer. */
#define MSG_MAX (SESSION_IN_MAX - 65536)

int
session_init(struct session *ss, const char *daemon, struct printer *pr,
    size_t pause)
{
	ss->daemon = daemon;
	ss->pr = pr;
	ss->pause = pause;
	if (buf_init(&ss->in, 65536, SESSION_IN_MAX) == -1 ||
	    buf_init(&ss->tx, 4096, TX_MAX) == -1)
		return (-1);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Groups. */

static struct group *
group_find(struct session *ss, const char *name, size_t len)
{
	for (int i = 0; i < ss->ng; i++)
		if (strlen(ss->g[i].name) == len &&
		    memcmp(ss->g[i].name, name, len) == 0)
			return (&ss->g[i]);
	return (NULL);
}

/* A new entry, in the place of one that no longer matters if any. */
static struct group *
group_add(struct session *ss, const char *name)
{
	struct group *g = NULL;

	for (int i = 0; i < ss->ng && g == NULL; i++)
		if (!ss->g[i].member && !ss->g[i].argv && !ss->g[i].leaving)
			g = &ss->g[i];
	if (g == NULL) {
		if (ss->ng == ss->gcap) {
			int cap = ss->gcap ? 2 * ss->gcap : 16;
			struct group *n = reallocarray(ss->g, cap, sizeof(*n));

			if (n == NULL)
				log_die(EX_OSERR, "malloc");
			ss->g = n;
			ss->gcap = cap;
		}
		g = &ss->g[ss->ng++];
	}
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	return (g);
}

/* ------------------------------------------------------------------ */
/* Requests. */

static void
tx(struct session *ss, const uint8_t *p, ssize_t n)
{
	if (n < 0 || buf_append(&ss->tx, p, n) == -1)
		log_diex(EX_SOFTWARE, "cannot queue a request");
}

void
session_join(struct session *ss, const char *group, int argv)
{
	uint8_t req[SPREAD_REQUEST_SIZE];
	struct group *g = group_find(ss, group, strlen(group));

	if (g == NULL)
		g = group_add(ss, group);
	if (argv && !g->argv) {
		g->argv = 1;
		ss->nargv++;
	}
	if (g->member)
		return;
	tx(ss, req,
	    spread_join_encode(req, sizeof(req), ss->s.reply.private_group,
		g->name));
	g->member = 1;
	g->joining = 1;
}

/* Its self-leave notice will tell when the daemon has done it. */
static void
leave(struct session *ss, struct group *g)
{
	uint8_t req[SPREAD_REQUEST_SIZE];

	tx(ss, req,
	    spread_leave_encode(req, sizeof(req), ss->s.reply.private_group,
		g->name));
	g->member = 0;
	g->leaving++;
	ss->leaving++;
}

void
session_leave(struct session *ss, const char *group)
{
	struct group *g = group_find(ss, group, strlen(group));

	if (g != NULL && g->member)
		leave(ss, g);
}

void
session_leave_all(struct session *ss)
{
	for (int i = 0; i < ss->ng; i++)
		if (ss->g[i].member)
			leave(ss, &ss->g[i]);
}

void
session_request(struct session *ss, const struct spread_req *r)
{
	size_t size;
	ssize_t n;

	switch (r->kind) {
	case SPREAD_REQ_NONE:
		break;
	case SPREAD_REQ_JOIN:
		session_join(ss, r->groups[0], 0);
		break;
	case SPREAD_REQ_LEAVE:
		session_leave(ss, r->groups[0]);
		break;
	case SPREAD_REQ_MSG:
		/* Encoded in place: no copy, nothing allocated. */
		size = spread_mcast_size(r->ngroups, r->len);
		if (buf_reserve(&ss->tx, size) == -1)
			log_diex(EX_SOFTWARE, "cannot queue a message");
		n = spread_mcast_encode((uint8_t *)buf_tail(&ss->tx), size,
		    ss->s.reply.private_group, r->service, r->group, r->ngroups,
		    r->mess_type, r->data, r->len);
		if (n == -1)
			log_diex(EX_SOFTWARE, "cannot encode a message");
		ss->tx.end += n;
		ss->sent++;
		break;
	}
}

int
session_ready(const struct session *ss)
{
	return (ss->nconfirmed == ss->nargv);
}

int
session_write(struct session *ss)
{
	if (buf_drain(&ss->tx, ss->s.fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		log_warnx("%s: CONNECTION_CLOSED: %s", ss->daemon,
		    strerror(errno));
		return (EX_UNAVAILABLE);
	}
	return (0);
}

void
session_close(struct session *ss)
{
	uint8_t req[SPREAD_REQUEST_SIZE];
	struct pollfd pfd;

	session_leave_all(ss);
	tx(ss, req,
	    spread_kill_encode(req, sizeof(req), ss->s.reply.private_group));
	/* The requests are small: give the daemon two seconds at most. */
	pfd.fd = ss->s.fd;
	pfd.events = POLLOUT;
	while (buf_len(&ss->tx) > 0 && poll(&pfd, 1, 2000) > 0)
		if (buf_drain(&ss->tx, ss->s.fd) == -1 && errno != EAGAIN)
			break;
	close(ss->s.fd);
	ss->s.fd = -1;
}

/* ------------------------------------------------------------------ */
/* What the daemon sends. */

static int
has_member(const struct spread_msg *m, const char *pg)
{
	size_t len = strlen(pg);

	for (int i = 0; i < m->h.num_groups; i++) {
		const uint8_t *f = m->groups + (size_t)i * SPREAD_GROUP_SIZE;

		if (spread_name_len(f) == len && memcmp(f, pg, len) == 0)
			return (1);
	}
	return (0);
}

/* A membership that shows us in its group: our join has been done. */
static void
joined(struct session *ss, const struct spread_msg *m)
{
	struct group *g = group_find(ss, (const char *)m->h.name,
	    spread_name_len(m->h.name));

	if (g == NULL)
		return;
	if (g->joining) {
		g->joining = 0;
		log_info("joined %s", g->name);
	}
	if (g->argv && !g->confirmed) {
		g->confirmed = 1;
		ss->nconfirmed++;
	}
}

static void
left(struct session *ss, const struct spread_msg *m)
{
	struct group *g = group_find(ss, (const char *)m->h.name,
	    spread_name_len(m->h.name));

	if (g != NULL && g->leaving > 0) {
		g->leaving--;
		ss->leaving--;
		log_info("left %s", g->name);
	}
}

/* One message from the daemon: 0, or the status that ends the session. */
static int
handle(struct session *ss, const struct spread_msg *m)
{
	struct spread_memb b;
	const char *reason;

	if (spread_is_reject(m->h.type)) {
		char g[SPREAD_GROUP_SIZE + 1] = "";

		if (m->h.num_groups > 0) {
			memcpy(g, m->groups, spread_name_len(m->groups));
			g[spread_name_len(m->groups)] = '\0';
		}
		log_warnx(spread_is_regular(m->old_type) ?
			"%s: REJECT_MESS: the daemon refused a message to %s" :
			"%s: REJECT_MESS: the daemon refused a request for group %s",
		    ss->daemon, g);
		return (EX_UNAVAILABLE);
	}
	if (spread_is_regular(m->h.type)) {
		ss->received++;
		print_msg(ss->pr, m);
		return (0);
	}
	if (!spread_is_membership(m->h.type)) {
		log_info("ignored a message of type 0x%x", (unsigned)m->h.type);
		return (0);
	}
	if (spread_memb_decode(m, &b) == -1) {
		log_warnx("%s: ILLEGAL_MESSAGE: %s", ss->daemon,
		    "malformed membership message from the daemon");
		return (EX_PROTOCOL);
	}
	reason = spread_memb_reason(m->h.type);
	if (reason == NULL)
		reason = "unknown";
	if (spread_is_reg_memb(m->h.type) &&
	    has_member(m, ss->s.reply.private_group))
		joined(ss, m);
	if (spread_is_self_leave(m->h.type))
		left(ss, m);
	if (ss->pr->memb)
		print_memb(ss->pr, m, &b, reason);
	return (0);
}

int
session_parse(struct session *ss)
{
	struct spread_msg m;
	ssize_t r;
	int status;

	while ((r = spread_msg_decode((uint8_t *)buf_data(&ss->in),
		    buf_len(&ss->in), MSG_MAX, &m)) > 0) {
		if ((status = handle(ss, &m)) != 0)
			return (status);
		buf_consume(&ss->in, r);
		if (buf_len(&ss->pr->out) >= ss->pause)
			return (0);
	}
	if (r == -1) {
		log_warnx("%s: ILLEGAL_MESSAGE: %s", ss->daemon,
		    errno == EMSGSIZE ? "message from the daemon too large" :
					"malformed message from the daemon");
		return (EX_PROTOCOL);
	}
	return (0);
}

int
session_read(struct session *ss)
{
	ssize_t n = buf_fill(&ss->in, ss->s.fd, 65536);
	int status;

	if (n == 0) {
		if ((status = session_parse(ss)) != 0)
			return (status);
		log_warnx("%s: CONNECTION_CLOSED: %s", ss->daemon,
		    "the daemon closed the connection");
		return (EX_UNAVAILABLE);
	}
	if (n == -1 && errno == ENOBUFS) {
		log_warnx("%s: ILLEGAL_MESSAGE: %s", ss->daemon,
		    "message from the daemon too large");
		return (EX_PROTOCOL);
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		log_warnx("%s: CONNECTION_CLOSED: %s", ss->daemon,
		    strerror(errno));
		return (EX_UNAVAILABLE);
	}
	return (session_parse(ss));
}
