/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen's table of connections: accepting, the two pools of those
 * without a slot of -c (in their handshake; done and waiting), giving the
 * slots as they free up, the turn of the loop over every connection, and
 * what concerns them all (a frame from the router, a reaped handler,
 * stopping).  What happens on one connection is conn.c's.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "net.h"

/* The size of each pool for -c maxconn (pool.h). */
size_t
conns_pool_size(int maxconn)
{
	return (maxconn < POOL_MIN ? POOL_MIN :
		maxconn > POOL_MAX ? POOL_MAX :
				     (size_t)maxconn);
}

/*
 * Room for nslots connections: twice -c (a handler may outlive its socket)
 * and both pools; raw mode has no handshake, so no pools.  -1 ENOMEM.
 */
int
conns_init(struct conns *cs)
{
	size_t p = conns_pool_size(cs->o->maxconn);

	cs->nslots = 2 * cs->o->maxconn;
	if (!cs->o->raw) {
		cs->nslots += 2 * p;
		if (pool_init(&cs->handshakes, p, p / 4, POOL_GRACE_MS) == -1 ||
		    pool_init(&cs->waiting, p, 0, POOL_GRACE_MS) == -1)
			return (-1);
	}
	cs->slot = calloc(cs->nslots, sizeof(*cs->slot));
	return (cs->slot == NULL ? -1 : 0);
}

/*
 * Accept more: a quilt peer goes to the handshake pool (which makes room
 * for it if it must), a raw one needs a free slot of -c; what waits stays
 * in the backlog.
 */
int
conns_room(const struct conns *cs, long long now)
{
	return (cs->nconns < cs->nslots && now >= cs->accept_pause &&
	    (!cs->o->raw || cs->nopen < cs->o->maxconn));
}

/*
 * A new connection on fd, accepted from ra, for slot id: set up and in the
 * loop, or NULL (fd closed) when it could not be.  la: its local address
 * (NULL: the socket's); its name is ra's after prefix.
 */
static struct conn *
conn_new(struct conns *cs, unsigned id, int fd,
    const struct sockaddr_storage *ra, socklen_t ralen,
    const struct sockaddr_storage *la, socklen_t lalen, const char *prefix)
{
	const struct opts *o = cs->o;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return (NULL);
	}
	c->cs = cs;
	c->id = id;
	server_hs_init(&c->shake);
	handler_init(&c->h);
	c->serial = ++cs->serial;
	cs->ctr.conns++;
	c->fd = fd;
	c->ra = *ra;
	c->ralen = ralen;
	c->lalen = sizeof(c->la);
	if (la != NULL) {
		c->la = *la;
		c->lalen = lalen;
	} else {
		getsockname(fd, (struct sockaddr *)&c->la, &c->lalen);
	}
	if (ra->ss_family == AF_UNIX) {
		snprintf(c->remote, sizeof(c->remote), "%s", cs->bound);
	} else {
		char a[ADDR_STRLEN];

		addr_str(a, (const struct sockaddr *)ra, ralen);
		snprintf(c->remote, sizeof(c->remote), "%s%.150s", prefix, a);
	}
	(void)net_setup_fd(fd);
	c->hs_slot = c->wait_slot = -1;
	if (link_init(&c->link, fd, o->raw ? o->maxmsg + 1 : o->maxmsg, WINDOW,
		0) == -1) {
		close(fd);
		free(c);
		return (NULL);
	}
	if (ra->ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t crlen = sizeof(cr);

		/* A Unix peer is known by its user. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1)
			cr.uid = (uid_t)-1;
		pool_key_uid(&c->key, cr.uid);
	} else {
		pool_key_addr(&c->key, (const struct sockaddr *)ra);
	}
	cs->nlive++;
	loop_add(cs->loop, fd, POLLIN, conn_event, c);
	return (c);
}

/*
 * c, just accepted, into the handshake pool: a pool that is full drops the
 * oldest handshake of the address that holds the most ("busy"), and an
 * address that holds its share already is refused.  0 when c is in.
 */
static int
into_pool(struct conns *cs, struct conn *c, long long now)
{
	void *victim;
	int i;

	while ((i = pool_add(&cs->handshakes, &c->key, c, now, &victim)) ==
	    POOL_EVICT)
		conn_refuse(victim, WR_BUSY,
		    "the listener is busy: too many connections in their handshake");
	if (i == POOL_REFUSED) {
		conn_refuse(c, WR_BUSY,
		    pool_count(&cs->handshakes, &c->key) >=
			    cs->handshakes.per_key ?
			"too many connections in their handshake from this address" :
			"the listener is busy: too many connections in their handshake");
		return (-1);
	}
	c->hs_slot = i;
	return (0);
}

/* --allow, --deny: a refused peer is closed before the hello, counted. */
static int
conns_permit(struct conns *cs, int fd, const struct sockaddr_storage *ra,
    socklen_t ralen)
{
	struct linger rst = {1, 0};
	char who[ADDR_STRLEN];

	cs->accepted++;
	if (acl_permits(&cs->o->acl, (const struct sockaddr *)ra, ralen))
		return (1);
	cs->refused++;
	/* A reset, at once: the peer is refused whatever it has sent. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	addr_str(who, (const struct sockaddr *)ra, ralen);
	/* A relay's child speaks only when the relay has -v. */
	if (cs->child)
		log_warnx("%s: refused (--allow, --deny)", who);
	else
		log_info("%s: refused (--allow, --deny)", who);
	close(fd);
	return (0);
}

/*
 * A connection whose handshake ended now would take a slot of -c at once
 * (none free, or others waiting for one, and it would wait).  udp: has no
 * waiting: its handshake is answered in one datagram.
 */
int
conns_can_open(const struct conns *cs, long long now)
{
	return (conns_room(cs, now) && !cs->stopping &&
	    cs->nopen < cs->o->maxconn && cs->waiting.n == 0);
}

/* Accept what waits on lfd, as far as there are slots. */
void
conns_accept(struct conns *cs, int lfd)
{
	long long now = net_now_ms();
	struct conn *c;
	int cfd, id;

	for (int burst = 0; burst < 64 && conns_room(cs, now); burst++) {
		struct sockaddr_storage ra;
		socklen_t ralen = sizeof(ra);

		cfd = accept4(lfd, (struct sockaddr *)&ra, &ralen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* What waits stays in the backlog; polling
				 * it meanwhile would only spin. */
				log_warn("accept");
				cs->accept_pause = now + ACCEPT_PAUSE_MS;
			} else if (errno != EAGAIN && errno != ECONNABORTED &&
			    errno != EINTR) {
				log_warn("accept");
			}
			return;
		}
		if (!conns_permit(cs, cfd, &ra, ralen))
			continue;
		for (id = 0; id < cs->nslots && cs->slot[id] != NULL; id++)
			;
		if (id == cs->nslots) {
			close(cfd);
			return;
		}
		if ((c = conn_new(cs, id, cfd, &ra, ralen, NULL, 0, "")) ==
		    NULL)
			return;
		cs->slot[id] = c;
		cs->nconns++;
		if (cs->o->raw) {
			c->has_slot = 1;
			cs->nopen++;
		} else if (into_pool(cs, c, now) == -1) {
			continue;
		}
		conn_start(c);
	}
}

/* Free slots of -c go to those that wait, the longest waiting first. */
static void
give_slots(struct conns *cs)
{
	struct conn *c;
	int i;

	while (cs->nopen < cs->o->maxconn && !cs->stopping &&
	    (c = pool_oldest(&cs->waiting, &i)) != NULL) {
		conn_open(c);
		conn_settle(c);
	}
}

/*
 * udp: a connection whose datagrams are the transport's (udp.c); fd (taken)
 * stands for it in the loop, ra and la are its addresses.  It is started,
 * waiting for its hello.  NULL (fd closed) when there is no slot or no
 * memory.
 */
struct conn *
conns_add(struct conns *cs, int fd, const struct sockaddr_storage *ra,
    socklen_t ralen, const struct sockaddr_storage *la, socklen_t lalen)
{
	struct conn *c;
	int id;

	for (id = 0; id < cs->nslots && cs->slot[id] != NULL; id++)
		;
	if (id == cs->nslots || !conns_can_open(cs, net_now_ms())) {
		close(fd);
		return (NULL);
	}
	if ((c = conn_new(cs, id, fd, ra, ralen, la, lalen, "udp:")) == NULL)
		return (NULL);
	cs->slot[id] = c;
	cs->nconns++;
	conn_start(c);
	return (c);
}

/*
 * Once a turn of the loop: free what has ended, end what is past its
 * deadline, and move on what waited for output room or acks.  Returns the
 * next deadline, or -1 for none.
 */
long long
conns_tick(struct conns *cs, long long now)
{
	long long next = -1, d;

	if (!cs->o->raw)
		give_slots(cs);
	for (int i = 0; i < cs->nslots; i++) {
		struct conn *c = cs->slot[i];

		if (c == NULL)
			continue;
		if (c->state == C_CLOSED) {
			if (conn_free(c)) {
				cs->slot[i] = NULL;
				cs->nconns--;
			}
			continue;
		}
		if (conn_expired(c, now))
			continue;
		if (conn_waits(c))
			conn_settle(c);
		if ((d = conn_deadline(c)) != -1 && (next == -1 || d < next))
			next = d;
	}
	if (cs->accept_pause > now && (next == -1 || cs->accept_pause < next))
		next = cs->accept_pause;
	if (cs->unsaid > 0) {
		d = (cs->warn_sec + 1) * 1000;
		if (now >= d) {
			/* clang-format off */
			log_warnx("and %d more peers refused or dropped for a fault in that second (-v shows each)",
			    cs->unsaid);
			/* clang-format on */
			cs->unsaid = 0;
		} else if (next == -1 || d < next) {
			next = d;
		}
	}
	return (next);
}

/* A frame from the router for one connection. */
void
conns_router(struct conns *cs, const struct cmsg *m)
{
	for (int i = 0; i < cs->nslots; i++)
		if (cs->slot[i] != NULL && cs->slot[i]->serial == m->conn) {
			conn_router(cs->slot[i], m);
			return;
		}
}

/* A child process was reaped with this wait status: a handler? */
void
conns_reaped(struct conns *cs, pid_t pid, int status)
{
	for (int i = 0; i < cs->nslots; i++)
		if (cs->slot[i] != NULL && cs->slot[i]->h.pid == pid) {
			conn_reaped(cs->slot[i], status);
			return;
		}
}

/*
 * Stopping: every open connection finishes what it has; those without a
 * slot go now.
 */
void
conns_stop(struct conns *cs)
{
	cs->stopping = 1;
	for (int i = 0; i < cs->nslots; i++) {
		struct conn *c = cs->slot[i];

		if (c == NULL)
			continue;
		if (c->state == C_WAIT)
			conn_refuse(c, WR_BUSY, "the listener is stopping");
		else if (conn_shaking(c))
			conn_close(c);
		else
			conn_settle(c);
	}
}

/* No connection, nor a handler of one, is left. */
int
conns_empty(const struct conns *cs)
{
	for (int i = 0; i < cs->nslots; i++)
		if (cs->slot[i] != NULL)
			return (0);
	return (1);
}

/* SIGTERM to the process group of every handler still running: how many. */
int
conns_kill_handlers(struct conns *cs)
{
	int n = 0;

	for (int i = 0; i < cs->nslots; i++)
		if (cs->slot[i] != NULL && cs->slot[i]->h.pid > 0) {
			kill(-cs->slot[i]->h.pid, SIGTERM);
			n++;
		}
	return (n);
}
