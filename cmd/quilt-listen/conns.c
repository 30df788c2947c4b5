/*
 * quilt-listen's table of connections: accepting while there is a free
 * slot, the turn of the loop over every connection, and what concerns them
 * all (a frame from the router, a reaped handler, stopping).  What happens
 * on one connection is conn.c's.
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

/* Room for nslots connections (twice -c: a handler may outlive its
 * socket).  -1 ENOMEM. */
int
conns_init(struct conns *cs)
{
	cs->nslots = 2 * cs->o->maxconn;
	cs->slot = calloc(cs->nslots, sizeof(*cs->slot));
	return (cs->slot == NULL ? -1 : 0);
}

/* A free slot: accept more (what waits stays in the backlog). */
int
conns_room(const struct conns *cs)
{
	return (cs->nlive < cs->o->maxconn && cs->nconns < cs->nslots);
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
	if (link_init(&c->link, fd, o->raw ? o->maxmsg + 1 : o->maxmsg, WINDOW,
		0) == -1) {
		close(fd);
		free(c);
		return (NULL);
	}
	cs->nlive++;
	loop_add(cs->loop, fd, POLLIN, conn_event, c);
	return (c);
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

/* Accept what waits on lfd, as far as there are slots. */
void
conns_accept(struct conns *cs, int lfd)
{
	struct conn *c;
	int cfd, id;

	for (int burst = 0; burst < 64 && conns_room(cs); burst++) {
		struct sockaddr_storage ra;
		socklen_t ralen = sizeof(ra);

		cfd = accept4(lfd, (struct sockaddr *)&ra, &ralen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd == -1) {
			if (errno != EAGAIN && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warn("accept");
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
		conn_start(c);
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
	if (id == cs->nslots || !conns_room(cs)) {
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
	long long next = -1;

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
		if (conn_timed(c) && (next == -1 || c->deadline < next))
			next = c->deadline;
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

/* Stopping: every connection finishes what it has. */
void
conns_stop(struct conns *cs)
{
	cs->stopping = 1;
	for (int i = 0; i < cs->nslots; i++)
		if (cs->slot[i] != NULL)
			conn_settle(cs->slot[i]);
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
