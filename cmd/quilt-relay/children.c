/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "children.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cmsg.h"
#include "conns.h"
#include "hops.h"
#include "log.h"
#include "net.h"

#define BACKOFF_MIN 100
#define BACKOFF_MAX 5000
/* The largest frame of the listen child: a batch of frames of a connection
 * (CMSG_BATCH bytes, and the frame that ends it, of up to -M). */
#define LISTEN_FRAME_MAX (conf.maxmsg + CMSG_BATCH + 4096)

struct lchild L;

static pid_t
spawn(const char *prog, char *const argv[], int *fd, int *fd3)
{
	int sv[2], sv3[2] = {-1, -1};
	char path[PATH_MAX + 64];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return (-1);
	if (fd3 &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv3) == -1) {
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		if (fd3) {
			close(sv3[0]);
			close(sv3[1]);
		}
		return (-1);
	}
	if (pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Its own process group: a ^C is for the router alone. */
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		/* L.lfd is above 4 (main moved it there): not overwritten. */
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1 ||
		    (fd3 && dup2(sv3[1], 3) == -1) ||
		    (fd3 && L.lfd != -1 && dup2(L.lfd, 4) == -1))
			_exit(EX_OSERR);
		snprintf(path, sizeof(path), "%s/%s", L.exe_dir, prog);
		if (L.exe_dir[0] && access(path, X_OK) == 0)
			execv(path, argv);
		execvp(prog, argv);
		log_warn("exec %s", prog);
		_exit(EX_UNAVAILABLE);
	}
	close(sv[1]);
	*fd = sv[0];
	(void)fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	if (fd3) {
		close(sv3[1]);
		*fd3 = sv3[0];
		(void)fcntl(*fd3, F_SETFL, fcntl(*fd3, F_GETFL) | O_NONBLOCK);
	}
	return (pid);
}

int
children_init(loop_fn *on_listen, loop_fn *on_peer)
{
	ssize_t n;
	char *slash;

	memset(&L, 0, sizeof(L));
	L.fd = L.cfd = L.lfd = -1;
	L.backoff = BACKOFF_MIN;
	L.spawn = spawn;
	L.on_listen = on_listen;
	L.on_peer = on_peer;
	if ((n = readlink("/proc/self/exe", L.exe_dir, sizeof(L.exe_dir) - 1)) >
	    0) {
		L.exe_dir[n] = '\0';
		if ((slash = strrchr(L.exe_dir, '/')) != NULL)
			*slash = '\0';
	} else {
		L.exe_dir[0] = '\0';
	}
	if (link_init(&L.l, -1, LISTEN_FRAME_MAX, 0, 0) == -1 ||
	    link_init(&L.c, -1, LISTEN_FRAME_MAX, 0, 0) == -1)
		return (-1);
	return (0);
}

/*
 * The arguments every child takes: -C INSTANCE [-q] [--syslog]
 * [--timestamps] -n NAME -M SIZE.
 */
static void
common_args(char **av, int *n, char *max)
{
	snprintf(max, 24, "%zu", conf.maxmsg);
	av[(*n)++] = "-C";
	av[(*n)++] = conf.inst;
	if (!conf.verbose)
		av[(*n)++] = "-q";
	if (log_to_syslog())
		av[(*n)++] = "--syslog";
	if (log_timestamps)
		av[(*n)++] = "--timestamps";
	av[(*n)++] = "-n";
	av[(*n)++] = conf.me;
	av[(*n)++] = "-M";
	av[(*n)++] = max;
}

void
listen_start(void)
{
	char *av[24 + 2 * ACL_MAX], max[24];
	int n = 0;

	av[n++] = "quilt-listen";
	common_args(av, &n, max);
	av[n++] = "-c";
	av[n++] = "256";
	for (int k = 0; k < conf.nkeys; k++) {
		av[n++] = "-k";
		av[n++] = (char *)conf.keyfile[k];
	}
	for (int i = 0; i < conf.nacl; i++)
		av[n++] = (char *)conf.acl[i];
	if (L.lfd != -1) {
		av[n++] = "--listen-fd";
		av[n++] = "4";
	} else {
		av[n++] = (char *)(L.bound[0] ? L.bound : conf.listen);
	}
	av[n] = NULL;
	L.pid = L.spawn("quilt-listen", av, &L.fd, &L.cfd);
	if (L.pid == -1)
		log_die(EX_OSERR, "start quilt-listen");
	L.started = net_now_ms();
	/* What the last one wrote and we have not taken yet stays in the
	 * input buffers, ahead of what this one writes (see children_reaped).
	 */
	L.l.fd = L.fd;
	L.l.ctl.start = L.l.ctl.end = 0;
	L.c.fd = L.cfd;
	loop_add(&loop, L.fd, POLLIN, L.on_listen, &L.l);
	loop_add(&loop, L.cfd, POLLIN, L.on_listen, &L.c);
}

void
listen_closed(void)
{
	if (L.fd != -1) {
		loop_del(&loop, L.fd);
		close(L.fd);
		L.fd = -1;
	}
	if (L.cfd != -1) {
		loop_del(&loop, L.cfd);
		close(L.cfd);
		L.cfd = -1;
	}
}

/* The frames of the dead child are all taken: forget its connections. */
static void
stale_done(void)
{
	if (L.stale == 0 && L.cstale == 0)
		conns_forget_others(L.gen);
}

void
listen_took(struct link *l, size_t n)
{
	size_t *stale = l == &L.l ? &L.stale : &L.cstale;

	if (*stale == 0)
		return;
	*stale = *stale > n ? *stale - n : 0;
	if (*stale == 0)
		stale_done();
}

/*
 * The listen child died.  What it wrote before it went was acknowledged to
 * its peers: take all of it in (the socket buffers are small beside ours),
 * drop a frame it had not finished (not acknowledged: sent again), and let
 * it be handled before what its successor writes.  Its connections stay
 * known until then; its successor numbers its own from its start time, so
 * the two do not meet.
 */
static void
listen_drain(void)
{
	struct link *ls[] = {&L.l, &L.c};

	for (int i = 0; i < 2; i++) {
		struct link *l = ls[i];
		size_t off = 0, n, blen;
		const char *body;
		ssize_t f;

		if (l->fd != -1)
			while (link_read(l) > 0)
				;
		n = buf_len(&l->in);
		while (off < n &&
		    (f = frame_parse(buf_data(&l->in) + off, n - off, l->maxin,
			 &body, &blen)) > 0)
			off += f;
		l->in.end = l->in.start + off;
		*(i == 0 ? &L.stale : &L.cstale) = off;
	}
	listen_closed();
	L.gen++;
	stale_done();
}

static void
peer_start(int i)
{
	struct peer *p = &H.p[i];
	char *av[20], max[24];
	int n = 0;

	av[n++] = "quilt-send";
	common_args(av, &n, max);
	if (conf.nkeys > 0) {
		av[n++] = "-k";
		av[n++] = (char *)conf.keyfile[0];
	}
	av[n++] = p->addr;
	av[n] = NULL;
	p->pid = L.spawn("quilt-send", av, &p->fd, NULL);
	if (p->pid == -1) {
		log_warn("start quilt-send %s", p->addr);
		p->pid = 0;
		p->restart_at = net_now_ms() + BACKOFF_MAX;
		return;
	}
	p->started = net_now_ms();
	p->restart_at = 0;
	p->held = 0;
	/* What the old child had not got acknowledged goes again. */
	link_reset(&p->l, p->fd);
	p->l.in.start = p->l.in.end = 0;
	p->l.ctl.start = p->l.ctl.end = 0;
	(void)link_rewind(&p->l, p->l.n_acked);
	p->base = p->l.n_acked;
	loop_add(&loop, p->fd, POLLIN, L.on_peer, p);
}

int
peer_add(const char *addr, int fixed)
{
	int i = peer_new(addr, fixed);

	if (i == -1) {
		log_warnx("%s: too many peers (%d), or no memory", addr,
		    PEERS_MAX);
		return (-1);
	}
	H.p[i].backoff = BACKOFF_MIN;
	peer_start(i);
	return (i);
}

void
peer_close_fd(struct peer *p)
{
	if (p->fd != -1) {
		loop_del(&loop, p->fd);
		close(p->fd);
		p->fd = -1;
	}
}

void
peer_restart(struct peer *p)
{
	peer_close_fd(p);
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		p->ended = 1;
	}
}

void
peer_remove(struct peer *p)
{
	peer_close_fd(p);
	if (p->pid > 0)
		kill(p->pid, SIGTERM);
	peer_free(p);
}

enum reaped
children_reaped(pid_t pid, int st, int stopping)
{
	long long now = net_now_ms();
	const char *why = WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited";

	if (pid == L.pid) {
		L.pid = 0;
		listen_drain();
		if (stopping)
			return (REAPED_LISTEN);
		if (!L.bound[0])
			return (REAPED_LISTEN_NEVER);
		if (now - L.started > 10000)
			L.backoff = BACKOFF_MIN;
		log_warnx("quilt-listen (%s): %s; restarting in %lld ms",
		    L.bound, why, L.backoff);
		L.restart_at = now + L.backoff;
		if ((L.backoff *= 2) > BACKOFF_MAX)
			L.backoff = BACKOFF_MAX;
		ctr.restarts++;
		return (REAPED_LISTEN);
	}
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used || p->pid != pid)
			continue;
		p->pid = 0;
		peer_close_fd(p);
		if (stopping)
			return (REAPED_PEER);
		if (p->ended) {
			p->ended = 0;
			p->restart_at = now;
			return (REAPED_PEER);
		}
		/* What it held, we hold: routes stay while it comes back,
		 * and the frames go again to the new one. */
		if (p->up && !p->down_at)
			p->down_at = now + RESTART_GRACE_MS;
		if (now - p->started > 10000)
			p->backoff = BACKOFF_MIN;
		log_warnx("quilt-send (%s): %s%s; restarting in %lld ms",
		    p->addr, why,
		    WIFEXITED(st) && WEXITSTATUS(st) == EX_PROTOCOL ?
			" (refused)" :
			"",
		    p->backoff);
		p->restart_at = now + p->backoff;
		if ((p->backoff *= 2) > BACKOFF_MAX)
			p->backoff = BACKOFF_MAX;
		ctr.restarts++;
		return (REAPED_PEER);
	}
	return (REAPED_NONE);
}

void
children_tick(long long now, long long *next)
{
	if (L.fd == -1 && L.pid == 0) {
		if (now >= L.restart_at)
			listen_start();
		else if (*next == -1 || L.restart_at < *next)
			*next = L.restart_at;
	}
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (!p->used || p->pid != 0 || p->fd != -1)
			continue;
		if (now >= p->restart_at)
			peer_start(i);
		else if (*next == -1 || p->restart_at < *next)
			*next = p->restart_at;
	}
}

void
children_stop(void)
{
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used) {
			peer_close_fd(&H.p[i]);
			if (H.p[i].pid > 0)
				kill(H.p[i].pid, SIGTERM);
		}
	listen_closed();
	if (L.pid > 0)
		kill(L.pid, SIGTERM);
}

void
lc_to(uint64_t serial, const char *frame, size_t n)
{
	struct cmsg m = {.type = CM_TO, .conn = serial, .data = {frame, n}};
	size_t sz = cmsg_put(NULL, 0, &m);

	if (L.fd == -1 || buf_reserve(&L.l.ctl, sz) == -1)
		return;
	cmsg_put(buf_tail(&L.l.ctl), sz, &m);
	L.l.ctl.end += sz;
}

void
lc_drop(uint64_t serial, const char *why)
{
	struct cmsg m = {.type = CM_DROP,
	    .conn = serial,
	    .text = {why, strlen(why)}};
	size_t sz = cmsg_put(NULL, 0, &m);

	if (L.fd == -1 || buf_reserve(&L.l.ctl, sz) == -1)
		return;
	cmsg_put(buf_tail(&L.l.ctl), sz, &m);
	L.l.ctl.end += sz;
}
