/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "relay.h"
#include "sd_groups.h"
#include "sd_order.h"
#include "sd_sess.h"
#include "sd_view.h"

int sd_port;

struct sd_counters sdc;

static struct {
	int tcp, unx; /* listening sockets, or -1 */
	char path[108]; /* the Unix socket we made, to remove */
	int full; /* every slot taken: the listeners wait */
} IO = {-1, -1, "", 0};

static void on_accept(void *arg, int fd, int revents);
static void on_sess(void *arg, int fd, int revents);

/*
 * The Unix socket /tmp/PORT: one a dead daemon left (nobody answers) is
 * replaced; one that answers belongs to a live daemon and is never taken
 * over.  -1 with why.
 */
static int
unix_listen(const char *path, const char **why)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*why = "path too long";
		return (-1);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		*why = "a live daemon is listening there";
		errno = EADDRINUSE;
		return (-1);
	}
	if (errno == ECONNREFUSED)
		unlink(path); /* a dead one's: ours now */
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 64) == -1) {
		*why = strerror(errno);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	return (fd);
}

int
sd_open(const char *spec, const char **why)
{
	char host[ADDR_STRLEN + 8];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct addr a;
	unsigned port;
	int gai, only_tcp = strchr(spec, ':') != NULL;

	if (only_tcp)
		snprintf(host, sizeof(host), "%s", spec);
	else
		snprintf(host, sizeof(host), "127.0.0.1:%s", spec);
	if (addr_parse(host, 1, &a, why) == -1 || a.kind != ADDR_TCP ||
	    a.port_lo != a.port_hi) {
		if (a.kind != ADDR_TCP || a.port_lo != a.port_hi)
			*why = "not a TCP port or HOST:PORT";
		errno = EINVAL;
		return (-1);
	}
	if ((IO.tcp = net_listen(&a, SOCK_STREAM, 64, &ss, &sslen, &gai)) ==
	    -1) {
		*why = gai ? "the host did not resolve" : strerror(errno);
		return (-1);
	}
	addr_host_port((struct sockaddr *)&ss, sslen, host, sizeof(host),
	    &port);
	sd_port = (int)port;
	if (!only_tcp) {
		snprintf(IO.path, sizeof(IO.path), "/tmp/%d", sd_port);
		if ((IO.unx = unix_listen(IO.path, why)) == -1) {
			IO.path[0] = '\0';
			close(IO.tcp);
			IO.tcp = -1;
			return (-1);
		}
		/* Ours: it goes when we exit, whichever way. */
		if (proc_own(IO.path) == -1) {
			*why = strerror(errno);
			return (-1);
		}
	}
	if (sess_init(conf.me) == -1) {
		*why = "the node name is longer than Spread's 19 characters";
		return (-1);
	}
	if (groups_init(O.v.proc_id, O.v.time) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	loop_add(&loop, IO.tcp, POLLIN, on_accept, NULL);
	if (IO.unx != -1)
		loop_add(&loop, IO.unx, POLLIN, on_accept, NULL);
	return (0);
}

void
sd_close(void)
{
	if (IO.tcp != -1) {
		loop_del(&loop, IO.tcp);
		close(IO.tcp);
		IO.tcp = -1;
	}
	if (IO.unx != -1) {
		loop_del(&loop, IO.unx);
		close(IO.unx);
		IO.unx = -1;
	}
	if (IO.path[0]) {
		proc_remove(IO.path);
		IO.path[0] = '\0';
	}
}

static void
on_accept(void *arg, int fd, int revents)
{
	for (int burst = 0; burst < 64; burst++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK),
		    i;

		if (c == -1)
			return;
		(void)net_setup_fd(c);
		if ((i = sess_new(c)) == -1) {
			close(c); /* full: as Spread, it is closed */
			continue;
		}
		if (loop_add(&loop, c, POLLIN, on_sess, &SS.s[i]) == -1)
			sess_release(i);
	}
}

/* Session i's disconnect into the order, if it takes it now (else
 * sd_tick tries again). */
static void
disc(int i)
{
	struct sd_sess *s = &SS.s[i];
	struct sd_ev e;

	memset(&e, 0, sizeof(e));
	e.kind = SD_DISC;
	e.sender.p = s->sd.group;
	e.sender.len = s->sd.group_len;
	if (order_submit(&e, i, s->gen) == 0)
		s->disc = 0;
}

/*
 * The session is over: closed now; its disconnect goes into the order
 * when it was open (its groups learn it), else its slot is free at once.
 */
static void
drop(int i, const char *why)
{
	struct sd_sess *s = &SS.s[i];

	if (s->fd != -1) {
		if (why != NULL)
			sdc.dropped++;
		if (why != NULL)
			log_info("spread: %s: dropped: %s",
			    s->sd.group_len ? s->sd.group : "a client", why);
		loop_del(&loop, s->fd);
		sess_close(i);
	}
	if (!s->open) {
		sess_release(i);
		return;
	}
	s->disc = 1;
	disc(i);
}

/* A reply of the handshake: queued as a message. */
static void
reply(int i, const uint8_t *p, size_t n)
{
	char *w;

	if (n == 0 || (w = sess_reserve(i, n)) == NULL)
		return;
	memcpy(w, p, n);
	sess_commit(i, n);
}

/*
 * What session i has sent, as far as the order takes it: at most SD_BURST
 * requests a turn of the loop, so that sessions take turns and their
 * messages interleave in the order as they were sent.
 */
static void
process(int i)
{
	struct sd_sess *s = &SS.s[i];
	int burst = 0;

	s->blocked = 0;
	s->more = 0;
	while (s->fd != -1 && buf_len(&s->in) > 0 && !s->drop) {
		struct spreadd_ev ev;
		struct sd_ev e;
		ssize_t r = spreadd_input(&s->sd,
		    (const uint8_t *)buf_data(&s->in), buf_len(&s->in), &ev);

		if (r == 0)
			return;
		if (r == -1) {
			drop(i, spreadd_strerror(s->sd.err));
			return;
		}
		if (burst++ == SD_BURST) {
			s->more = 1; /* the rest at the next turn */
			return;
		}
		memset(&e, 0, sizeof(e));
		e.sender.p = s->sd.group;
		e.sender.len = s->sd.group_len;
		switch (ev.kind) {
		case SPREADD_REPLY:
			reply(i, ev.reply, ev.len);
			break;
		case SPREADD_ACCEPT:
			reply(i, ev.reply, ev.len);
			s->open = 1;
			break;
		case SPREADD_REFUSE:
			reply(i, ev.reply, ev.len);
			s->drop = 1;
			s->why = NULL; /* refused: Spread's code says why */
			break;
		case SPREADD_MCAST:
			e.kind = SD_MCAST;
			e.type = ev.req.type;
			memcpy(e.hint, ev.req.hint, 4);
			e.ngroups = ev.req.ngroups;
			e.groups = ev.req.groups;
			e.data = ev.req.data;
			e.len = ev.req.len;
			goto submit;
		case SPREADD_JOIN:
		case SPREADD_LEAVE:
			e.kind = ev.kind == SPREADD_JOIN ? SD_JOIN : SD_LEAVE;
			e.group.p = (const char *)ev.req.groups;
			e.group.len = strnlen(e.group.p, SPREAD_GROUP_SIZE);
		submit:
			if (order_submit(&e, i, s->gen) == -1) {
				s->blocked =
				    1; /* taken again when there is room */
				return;
			}
			break;
		case SPREADD_KILL:
		case SPREADD_CLOSED:
			buf_consume(&s->in, r);
			drop(i, NULL);
			return;
		}
		buf_consume(&s->in, r);
	}
}

static void
on_sess(void *arg, int fd, int revents)
{
	struct sd_sess *s = arg;
	int i = s - SS.s;
	ssize_t r;

	if ((revents & POLLOUT) && sess_flush(i) == -1) {
		drop(i, "the connection broke");
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)) || s->blocked || s->more)
		return;
	r = buf_fill(&s->in, fd, 65536);
	if (r == -1 && (errno == EAGAIN || errno == ENOBUFS))
		r = 1;
	process(i);
	if (s->fd != -1 && (r == 0 || r == -1)) {
		struct spreadd_ev ev;

		/* Its end: what Spread says to a hello cut short, or a
		 * disconnect of an open session. */
		spreadd_end(&s->sd, (const uint8_t *)buf_data(&s->in),
		    buf_len(&s->in), 1, &ev);
		if (ev.kind == SPREADD_REFUSE && ev.len > 0) {
			reply(i, ev.reply, ev.len);
			(void)sess_flush(i);
		}
		drop(i, NULL);
	}
}

void
sd_tick(long long now, long long *next)
{
	int was;

	if (IO.tcp == -1 && SS.n == 0)
		return;
	/* What waits: disconnects for the order, hellos past their time,
	 * requests the order could not take. */
	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (!s->used)
			continue;
		if (s->disc) {
			disc(i);
			if (s->disc && (*next == -1 || now + 10 < *next))
				*next = now + 10; /* the order is full: soon */
			continue;
		}
		if (s->fd == -1)
			continue;
		if (s->sd.state != SPREADD_OPEN &&
		    s->sd.state != SPREADD_DONE && !s->drop) {
			if (now >= s->deadline) {
				struct spreadd_ev ev;

				spreadd_end(&s->sd,
				    (const uint8_t *)buf_data(&s->in),
				    buf_len(&s->in), 0, &ev);
				if (ev.kind == SPREADD_REFUSE && ev.len > 0) {
					reply(i, ev.reply, ev.len);
					(void)sess_flush(i);
				}
				drop(i, NULL);
				continue;
			}
			if (*next == -1 || s->deadline < *next)
				*next = s->deadline;
		}
		if (s->blocked || s->more)
			process(i);
		if (s->more && (*next == -1 || now < *next))
			*next = now;
	}
	view_tick(now, next);
	was = SS.congested;
	/* Then what every session has to write, after all that was applied
	 * (a delivery reaches sessions before and after the one that made
	 * it). */
	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (!s->used || s->fd == -1)
			continue;
		if (buf_len(&s->out) > 0 && sess_flush(i) == -1) {
			s->drop = 1;
			s->why = "the connection broke";
		}
		if (s->congested && !s->drop) {
			/* A queue that does not move: it does not read. */
			if (now - s->stalled_at >= SD_STALL_MS) {
				s->drop = 1;
				s->why = "it does not read: its queue is full";
			} else if (*next == -1 ||
			    s->stalled_at + SD_STALL_MS < *next) {
				*next = s->stalled_at + SD_STALL_MS;
			}
		}
		if (s->drop && (buf_len(&s->out) == 0 || s->why != NULL)) {
			/* Dropped once every queue was looked at: its
			 * disconnect reaches sessions before it too, and the
			 * loop comes round at once to write that. */
			if (*next == -1 || now < *next)
				*next = now;
			continue;
		}
		loop_want(&loop, s->fd,
		    (s->blocked ? 0 : POLLIN) |
			(buf_len(&s->out) ? POLLOUT : 0));
	}
	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (s->used && s->fd != -1 && s->drop &&
		    (buf_len(&s->out) == 0 || s->why != NULL))
			drop(i, s->why);
	}
	/* Nobody congested any more: what waited is delivered, and the
	 * sessions that waited are read again, at once. */
	if (SS.congested == 0 && (was > 0 || O.applied < O.recvd)) {
		order_deliver();
		if (*next == -1 || now < *next)
			*next = now;
	}
	IO.full = SS.live >= SD_SESS_MAX - 1;
	if (IO.tcp != -1)
		loop_want(&loop, IO.tcp, IO.full ? 0 : POLLIN);
	if (IO.unx != -1)
		loop_want(&loop, IO.unx, IO.full ? 0 : POLLIN);
}
