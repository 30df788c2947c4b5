/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "discover.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "children.h"
#include "conns.h"
#include "dnssd.h"
#include "forward.h"
#include "hops.h"
#include "log.h"
#include "net.h"

#define SERVICE "_quilt._tcp"
/* Services of our mesh remembered (an address of a relay each). */
#define SVC_MAX 128
/* IFACE;PROTO;NAME;TYPE;DOMAIN of a service, as avahi-browse writes it. */
#define KEY_MAX 400
/* A line of a child; a longer one is dropped whole. */
#define CHILD_LINE 4096
/* Links this room looks after: made, or made by the other relay. */
#define MINE_MAX 16
#define BACKOFF_MIN 1000
#define BACKOFF_MAX 30000
/* A child that lived this long starts again after BACKOFF_MIN. */
#define CALM_MS 10000
/* The links are looked at this often without news (a link that came up,
 * or one that another room removed as a duplicate)... */
#define LOOK_MS 1000
/* ...and this long after news, so that the news of a moment (a relay's
 * IPv6 and IPv4 addresses) is taken together. */
#define SETTLE_MS 300
/* A link up whose relay has had no connection to us this long is one way
 * only (its relay let it go): longer than a send child's restart. */
#define LONELY_MS 2000

struct dchild {
	const char *prog;
	char *argv[12];
	pid_t pid;
	int fd;
	long long started, restart_at, backoff;
	char buf[CHILD_LINE];
	size_t len;
	int skip; /* in a line too long for buf: dropped to its LF */
	char why[200]; /* the last thing it said that was not news */
	int again; /* stopped by us, to be started again */
	void (*line)(struct dchild *c, const char *p, size_t n);
};

/* A relay of our mesh at one address, as one service of the browse. */
struct svc {
	int used;
	char key[KEY_MAX];
	size_t keylen;
	char node[WIRE_NODE_MAX + 1];
	char addr[ADDR_STRLEN];
	/* The lower the better: IPv4, IPv6, IPv6 link-local, loopback (a
	 * relay of this host: reached at its network address too, which
	 * works whatever address it listens on). */
	int rank;
};

/*
 * A link to a relay of the mesh: its peer is the one at addr that is not
 * fixed.  Made by us, or by the relay (it connected to us, and we back:
 * server-connect), or its service went while it was up.
 */
struct mine {
	int used, made;
	char node[WIRE_NODE_MAX + 1];
	char addr[ADDR_STRLEN];
	long long lonely; /* since when its relay has had no connection to
			     us; 0 while it has one */
};

static struct {
	struct dchild pub, browse;
	struct svc s[SVC_MAX];
	struct mine m[MINE_MAX];
	int started, stopping;
	int quiet; /* a failure was said: say no more until Avahi answers */
	int answered; /* avahi-publish said the service is published */
	int dirty, full_said;
	long long look_at;
	char name[64], port[8], txt_mesh[72], txt_node[72];
} D;

int
discover_mesh_ok(const char *s)
{
	return (wire_node_ok(s, strlen(s)));
}

static int
is(struct dnssd_str s, const char *z)
{
	return (s.len == strlen(z) && memcmp(s.p, z, s.len) == 0);
}

static void
timer_min(long long *next, long long t)
{
	if (*next == -1 || t < *next)
		*next = t;
}

/* The peer at addr (not fixed, when mine), or -1. */
static int
peer_at(const char *addr, int mine)
{
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && (!mine || !H.p[i].fixed) &&
		    strcmp(H.p[i].addr, addr) == 0)
			return (i);
	return (-1);
}

/* The services (and so the relays) we know of. */

/* Look after the link at addr to node (made: we made it): 0, or -1 when
 * there is no room. */
static int
mine_add(const char *node, const char *addr, int made)
{
	int free = -1;

	for (int j = 0; j < MINE_MAX; j++) {
		if (D.m[j].used && strcmp(D.m[j].addr, addr) == 0)
			return (0);
		if (!D.m[j].used && free == -1)
			free = j;
	}
	if (free == -1)
		return (-1);
	D.m[free].used = 1;
	D.m[free].made = made;
	D.m[free].lonely = 0;
	snprintf(D.m[free].node, sizeof(D.m[free].node), "%s", node);
	snprintf(D.m[free].addr, sizeof(D.m[free].addr), "%s", addr);
	return (0);
}

/*
 * The service at addr went (or is not watched any more): a link there
 * that another room made (the relay connected to us first, and we back
 * to it) is ours to let go too, once it is down.
 */
static void
adopt(const char *node, const char *addr)
{
	if (peer_at(addr, 1) != -1)
		(void)mine_add(node, addr, 0);
}

static void
svc_forget(struct dnssd_str key)
{
	for (int i = 0; i < SVC_MAX; i++) {
		struct svc *s = &D.s[i];

		if (s->used && s->keylen == key.len &&
		    memcmp(s->key, key.p, key.len) == 0) {
			log_info("-D %s: %s at %s went", conf.mesh, s->node,
			    s->addr);
			adopt(s->node, s->addr);
			s->used = 0;
			D.dirty = 1;
		}
	}
}

static void
svc_resolved(const struct dnssd_line *r)
{
	struct dnssd_str mesh, node;
	struct svc *s = NULL;
	char addr[ADDR_STRLEN];
	int rank;

	/* Not (or no longer) a relay of ours: as if it went. */
	if (dnssd_txt(r->txt, "mesh", &mesh) != 1 || !is(mesh, conf.mesh) ||
	    dnssd_txt(r->txt, "node", &node) != 1 ||
	    !wire_node_ok(node.p, node.len) || is(node, conf.me) ||
	    r->port == 0 || r->key.len > KEY_MAX) {
		svc_forget(r->key);
		return;
	}
	if (r->addr_family == 4) {
		rank = r->addr.len > 4 && memcmp(r->addr.p, "127.", 4) == 0 ?
		    3 :
		    0;
		snprintf(addr, sizeof(addr), "%.*s:%u", (int)r->addr.len,
		    r->addr.p, r->port);
	} else if (r->addr.len >= 4 && strncasecmp(r->addr.p, "fe80", 4) == 0) {
		/* Link-local: only through the interface it was seen on. */
		rank = 2;
		snprintf(addr, sizeof(addr), "[%.*s%%%.*s]:%u",
		    (int)r->addr.len, r->addr.p, (int)r->ifname.len,
		    r->ifname.p, r->port);
	} else {
		rank = is(r->addr, "::1") ? 3 : 1;
		snprintf(addr, sizeof(addr), "[%.*s]:%u", (int)r->addr.len,
		    r->addr.p, r->port);
	}
	for (int i = 0; i < SVC_MAX; i++) {
		struct svc *t = &D.s[i];

		if (t->used && t->keylen == r->key.len &&
		    memcmp(t->key, r->key.p, r->key.len) == 0) {
			s = t;
			break;
		}
		if (!t->used && s == NULL)
			s = t;
	}
	if (s == NULL) {
		if (!D.full_said)
			log_warnx("-D %s: more than %d services of the mesh: "
				  "the others are not looked at",
			    conf.mesh, SVC_MAX);
		D.full_said = 1;
		return;
	}
	if (!s->used)
		log_info("-D %s: %.*s is at %s", conf.mesh, (int)node.len,
		    node.p, addr);
	s->used = 1;
	memcpy(s->key, r->key.p, r->key.len);
	s->keylen = r->key.len;
	memcpy(s->node, node.p, node.len);
	s->node[node.len] = '\0';
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->rank = rank;
	D.dirty = 1;
}

/* The address to reach node at (its best service), or NULL. */
static const char *
svc_addr(const char *node)
{
	const struct svc *best = NULL;

	for (int i = 0; i < SVC_MAX; i++) {
		const struct svc *s = &D.s[i];

		if (s->used && strcmp(s->node, node) == 0 &&
		    (best == NULL || s->rank < best->rank ||
			(s->rank == best->rank &&
			    strcmp(s->addr, best->addr) < 0)))
			best = s;
	}
	return (best ? best->addr : NULL);
}

/* The links. */

static int
peer_room(void)
{
	if (H.n < PEERS_MAX)
		return (1);
	for (int i = 0; i < H.n; i++)
		if (!H.p[i].used)
			return (1);
	return (0);
}

static int
by_name(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* Is node among the n of want? */
static int
wanted(const char *const *want, int n, const char *node)
{
	for (int k = 0; k < n; k++)
		if (strcmp(want[k], node) == 0)
			return (1);
	return (0);
}

/*
 * Keep the link of m (peer i)?  A link needs one of its two relays to
 * want it; whichever made it keeps it (the other connected back, and
 * keeps its way while the first keeps its own).  Not wanted here, a link
 * we made is let go once every wanted link is up, so that the mesh stays
 * in one piece meanwhile; one the other relay made, once it let go of its
 * way to us.  Any link down is let go unless wanted at the address its
 * relay has now (a better one may come: an IPv4 one resolved after an
 * IPv6 one); one up whose relay has had no way to us for LONELY_MS is
 * let go too, and made again if wanted, so that no link is left one way
 * only.  A link to a relay whose service went is kept while up.
 */
static int
keep(struct mine *m, int i, int want, int all_up, long long now)
{
	const char *a = svc_addr(m->node);
	const struct peer *p = &H.p[i];

	if (!p->up)
		return (want && a && strcmp(a, m->addr) == 0);
	if (conn_from(m->node))
		m->lonely = 0;
	else if (m->lonely == 0)
		m->lonely = now;
	if (m->lonely && now - m->lonely >= LONELY_MS)
		return (0);
	if (want || a == NULL)
		return (1);
	return (m->made ? !all_up : m->lonely == 0);
}

/*
 * The relays wanted (the DISCOVER_LINKS after us, round): links made to
 * those we have none to, and the links of the mesh looked after.
 */
static void
look(long long now)
{
	const char *known[SVC_MAX], *want[DISCOVER_LINKS];
	int nk = 0, nw = 0, first = 0, all_up;

	for (int i = 0; i < SVC_MAX; i++) {
		if (D.s[i].used && !wanted(known, nk, D.s[i].node))
			known[nk++] = D.s[i].node;
	}
	qsort(known, nk, sizeof(known[0]), by_name);
	while (first < nk && strcmp(known[first], conf.me) < 0)
		first++;
	for (int k = 0; k < nk && nw < DISCOVER_LINKS; k++)
		want[nw++] = known[(first + k) % nk];
	all_up = nw == DISCOVER_LINKS;
	for (int k = 0; k < nw; k++)
		all_up = all_up && peer_of(want[k]) != -1;

	/* The links other relays made to us, when we connected back. */
	for (int i = 0; i < H.n; i++) {
		const struct peer *p = &H.p[i];

		if (p->used && !p->fixed && p->up && p->relay &&
		    wanted(known, nk, p->node))
			(void)mine_add(p->node, p->addr, 0);
	}
	for (int j = 0; j < MINE_MAX; j++) {
		struct mine *m = &D.m[j];
		int i;

		if (!m->used)
			continue;
		if ((i = peer_at(m->addr, 1)) == -1) {
			m->used = 0; /* gone: a second link to one node */
			continue;
		}
		if (keep(m, i, wanted(want, nw, m->node), all_up, now))
			continue;
		log_info("-D %s: letting %s at %s go", conf.mesh, m->node,
		    m->addr);
		peer_down(&H.p[i]);
		peer_remove(&H.p[i]);
		m->used = 0;
	}

	for (int k = 0; k < nw; k++) {
		const char *a = svc_addr(want[k]);

		if (peer_of(want[k]) != -1 || peer_at(a, 0) != -1)
			continue; /* a link, or one on its way */
		if (!peer_room() || mine_add(want[k], a, 1) == -1)
			continue;
		log_info("-D %s: connecting to %s at %s", conf.mesh, want[k],
		    a);
		if (peer_add(a, 0) == -1)
			for (int j = 0; j < MINE_MAX; j++)
				if (D.m[j].used && strcmp(D.m[j].addr, a) == 0)
					D.m[j].used = 0;
	}
}

/* The children. */

/* What a child says that is not news: kept (printable) as why it might
 * die, shown with -v. */
static void
said(struct dchild *c, const char *p, size_t n)
{
	size_t k = n < sizeof(c->why) - 1 ? n : sizeof(c->why) - 1;

	for (size_t i = 0; i < k; i++)
		c->why[i] = (unsigned char)p[i] >= ' ' &&
			(unsigned char)p[i] < 127 ?
		    p[i] :
		    '?';
	c->why[k] = '\0';
	log_info("-D %s: %s: %s", conf.mesh, c->prog, c->why);
}

static void
publish_line(struct dchild *c, const char *p, size_t n)
{
	static const char est[] = "Established under name ";

	if (n >= sizeof(est) - 1 && memcmp(p, est, sizeof(est) - 1) == 0) {
		/* Avahi answers: a later failure is said again. */
		if (D.quiet)
			log_warnx("-D %s: Avahi answers now: %.*s", conf.mesh,
			    (int)n, p);
		else
			log_info("-D %s: %.*s", conf.mesh, (int)n, p);
		D.quiet = 0;
		D.answered = 1;
		return;
	}
	said(c, p, n);
}

static void
browse_line(struct dchild *c, const char *p, size_t n)
{
	static const char unresolved[] = "Failed to resolve service ";
	struct dnssd_line r;

	if (dnssd_parse(p, n, &r) == -1) {
		said(c, p, n);
		/* It never tries that service again (a timeout on a busy
		 * network): its successor will. */
		if (n >= sizeof(unresolved) - 1 &&
		    memcmp(p, unresolved, sizeof(unresolved) - 1) == 0 &&
		    c->pid > 0 && !c->again) {
			c->again = 1;
			kill(c->pid, SIGTERM);
		}
		return;
	}
	if (!is(r.type, SERVICE))
		return;
	if (r.ev == '-')
		svc_forget(r.key);
	else if (r.ev == '=')
		svc_resolved(&r);
}

static void
child_close(struct dchild *c)
{
	if (c->fd == -1)
		return;
	loop_del(&loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

/* One read: 1 took bytes, 0 the end (closed), -1 nothing now. */
static int
child_read(struct dchild *c)
{
	ssize_t r;
	char *p, *e, *nl;

	do
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (r == -1 && errno == EINTR);
	if (r == 0 || (r == -1 && errno != EAGAIN)) {
		child_close(c);
		return (0);
	}
	if (r == -1)
		return (-1);
	c->len += r;
	p = c->buf;
	e = c->buf + c->len;
	while ((nl = memchr(p, '\n', e - p)) != NULL) {
		if (!c->skip)
			c->line(c, p, nl - p);
		c->skip = 0;
		p = nl + 1;
	}
	c->len = e - p;
	memmove(c->buf, p, c->len);
	if (c->len == sizeof(c->buf)) {
		c->skip = 1;
		c->len = 0;
	}
	return (1);
}

static void
on_child(void *arg, int fd, int revents)
{
	(void)child_read(arg);
}

static void
child_start(struct dchild *c, long long now)
{
	pid_t parent = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		goto fail;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		sigset_t all;
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Its own process group: a ^C is for the router alone. */
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
#endif
		if (null == -1 || dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(127);
		(void)close_range(3, ~0U, 0);
		/* Its words, in the language this room reads. */
		setenv("LC_ALL", "C", 1);
		execvp(c->prog, c->argv);
		if (errno == ENOENT)
			dprintf(2,
			    "not found (Debian has it in avahi-utils)\n");
		else
			dprintf(2, "cannot run it: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	if (loop_add(&loop, p[0], POLLIN, on_child, c) == -1) {
		close(p[0]);
		kill(pid, SIGTERM);
		c->pid = pid; /* reaped as it goes; started again then */
		c->started = now;
		return;
	}
	c->pid = pid;
	c->fd = p[0];
	c->len = 0;
	c->skip = 0;
	c->why[0] = '\0';
	c->again = 0;
	c->started = now;
	return;
fail:
	log_warn("-D %s: start %s", conf.mesh, c->prog);
	c->restart_at = now + BACKOFF_MAX;
}

static void
child_init(struct dchild *c, const char *prog,
    void (*line)(struct dchild *, const char *, size_t))
{
	c->prog = prog;
	c->pid = 0;
	c->fd = -1;
	c->backoff = BACKOFF_MIN;
	c->restart_at = 0;
	c->line = line;
}

void
discover_start(void)
{
	const char *colon = strrchr(L.bound, ':');
	char **a;

	if (D.started || colon == NULL)
		return;
	if (strncmp(L.bound, "127.", 4) == 0 ||
	    strncmp(L.bound, "[::1]", 5) == 0)
		log_warnx("-D %s: listening on %s, which no other host reaches",
		    conf.mesh, L.bound);
	snprintf(D.port, sizeof(D.port), "%s", colon + 1);
	/* A service's name is at most 63 bytes; its TXT says the whole. */
	snprintf(D.name, sizeof(D.name), "%.63s", conf.me);
	snprintf(D.txt_mesh, sizeof(D.txt_mesh), "mesh=%s", conf.mesh);
	snprintf(D.txt_node, sizeof(D.txt_node), "node=%s", conf.me);
	child_init(&D.pub, "avahi-publish", publish_line);
	a = D.pub.argv;
	*a++ = "avahi-publish";
	*a++ = "-s";
	*a++ = D.name;
	*a++ = SERVICE;
	*a++ = D.port;
	*a++ = D.txt_mesh;
	*a++ = D.txt_node;
	*a = NULL;
	child_init(&D.browse, "avahi-browse", browse_line);
	a = D.browse.argv;
	*a++ = "avahi-browse";
	*a++ = "-p";
	*a++ = "-r";
	*a++ = "-k";
	*a++ = SERVICE;
	*a = NULL;
	D.started = 1;
	D.look_at = net_now_ms() + LOOK_MS;
}

static void
child_due(struct dchild *c, long long now, long long *next)
{
	if (c->pid != 0 || c->fd != -1)
		return;
	if (now >= c->restart_at)
		child_start(c, now);
	else
		timer_min(next, c->restart_at);
}

void
discover_tick(long long now, long long *next)
{
	if (!D.started || D.stopping)
		return;
	child_due(&D.pub, now, next);
	child_due(&D.browse, now, next);
	if (D.dirty) {
		D.dirty = 0;
		timer_min(&D.look_at, now + SETTLE_MS);
	}
	if (now >= D.look_at) {
		D.look_at = now + LOOK_MS;
		look(now);
	}
	timer_min(next, D.look_at);
}

int
discover_reaped(pid_t pid, int st)
{
	struct dchild *c = NULL;
	char status[64];
	const char *why;
	long long now;

	if (!D.started || pid <= 0)
		return (0);
	if (pid == D.pub.pid)
		c = &D.pub;
	else if (pid == D.browse.pid)
		c = &D.browse;
	else
		return (0);
	c->pid = 0;
	/* Its last words are in the pipe: why it went. */
	while (c->fd != -1 && child_read(c) == 1)
		;
	child_close(c);
	if (D.stopping)
		return (1);
	if (c == &D.browse) {
		/* What it reported is not watched any more: its successor
		 * reports what is still there, and the links to what went
		 * meanwhile are let go once down. */
		for (int i = 0; i < SVC_MAX; i++)
			if (D.s[i].used) {
				adopt(D.s[i].node, D.s[i].addr);
				D.s[i].used = 0;
			}
		D.dirty = 1;
	}
	now = net_now_ms();
	if (now - c->started > CALM_MS)
		c->backoff = BACKOFF_MIN;
	/* Killed, or its last words (else its status). */
	snprintf(status, sizeof(status), "exited %d", WEXITSTATUS(st));
	why = c->why[0] ? c->why : status;
	if (WIFSIGNALED(st))
		why = strsignal(WTERMSIG(st));
	/* Once until Avahi answers again (the two children may fail alike,
	 * and again after each backoff): a child of a discovery that worked
	 * is one thing, Avahi not there another. */
	if (c->again)
		log_info("-D %s: %s started again, to resolve what it could "
			 "not",
		    conf.mesh, c->prog);
	else if (!D.quiet && D.answered)
		log_warnx("-D %s: %s: %s; starting it again in %lld ms",
		    conf.mesh, c->prog, why, c->backoff);
	else if (!D.quiet)
		log_warnx("-D %s: %s: %s; running without discovery until "
			  "Avahi answers",
		    conf.mesh, c->prog, why);
	else
		log_info("-D %s: %s: %s; again in %lld ms", conf.mesh, c->prog,
		    why, c->backoff);
	if (!c->again) {
		D.quiet = 1;
		D.answered = 0;
	}
	ctr.restarts++;
	c->restart_at = now + c->backoff;
	if ((c->backoff *= 2) > BACKOFF_MAX)
		c->backoff = BACKOFF_MAX;
	return (1);
}

void
discover_stop(void)
{
	struct dchild *cs[] = {&D.pub, &D.browse};

	if (!D.started)
		return;
	D.stopping = 1;
	for (int i = 0; i < 2; i++) {
		child_close(cs[i]);
		if (cs[i]->pid > 0)
			kill(cs[i]->pid, SIGTERM);
	}
}
