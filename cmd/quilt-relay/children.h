/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The children: the quilt-listen -C child (our incoming side) and a
 * quilt-send -C child per outgoing peer, each joined to the router by a
 * socket pair, in a process group of its own, started again with backoff
 * when it dies.  Whatever a dead listen child had written (and so
 * acknowledged to its peers) is taken in and handled before what its
 * successor writes.  Also the router's words to the listen child: "to"
 * and "drop" (cmsg.h).
 */
#ifndef QUILT_RELAY_CHILDREN_H
#define QUILT_RELAY_CHILDREN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "link.h"
#include "loop.h"
#include "relay.h"

struct peer;

/* A child restarted keeps its link "up" this long, so routes stay. */
#define RESTART_GRACE_MS 2000

/* Where to go on in a run of frames that waited for room. */
struct resume {
	size_t off;
	uint64_t done;
};

/* Start prog with argv on a socket pair (and fd 3 on a second one when
 * fd3 is not NULL): the pid, or -1. */
typedef pid_t spawn_fn(const char *prog, char *const argv[], int *fd, int *fd3);

struct lchild {
	pid_t pid;
	int fd, cfd;
	/* Relays' frames (and our words to it) on l, clients' on c: clients
	 * can wait while relays' frames go on. */
	struct link l, c;
	char bound[ADDR_STRLEN];
	long long started, restart_at, backoff;
	int blocked, cblocked;
	struct resume boff, cboff;
	/* Bytes at the head of l and c that a dead child wrote. */
	size_t stale, cstale;
	unsigned gen;
	/* How children are started (a test program puts its own). */
	spawn_fn *spawn;
	char exe_dir[PATH_MAX];
	/* The listening socket systemd gave us (LISTEN_FDS), or -1: each
	 * listen child gets it as its fd 4 (--listen-fd 4). */
	int lfd;
	/* What handles the children's frames (reader.c), given by main. */
	loop_fn *on_listen, *on_peer;
};

extern struct lchild L;

/* -1 ENOMEM.  The programs are looked for beside our own executable. */
int children_init(loop_fn *on_listen, loop_fn *on_peer);

void listen_start(void);

/* The listen child's fds are closed (it is dead, or we stop). */
void listen_closed(void);

/* Consumed n bytes of link l that may be a dead child's. */
void listen_took(struct link *l, size_t n);

/* A new peer at addr, its child started: its index, or -1. */
int peer_add(const char *addr, int fixed);

/* Its child is gone, its slot freed (the caller took it down first). */
void peer_remove(struct peer *p);

/* The peer's fd closed: its child is gone or mad (SIGCHLD restarts it). */
void peer_close_fd(struct peer *p);

/*
 * The peer's connection is dead though nothing closed it (alive.c): its
 * child is ended and started again at once, quietly, to connect anew; the
 * frames it held go to the new one.
 */
void peer_restart(struct peer *p);

/* What a reap found. */
enum reaped {
	REAPED_NONE,
	REAPED_LISTEN,
	REAPED_LISTEN_NEVER, /* it died before it was bound: fatal */
	REAPED_PEER,
};

/* Child pid ended with status st: take it in, schedule its restart. */
enum reaped children_reaped(pid_t pid, int st, int stopping);

/* Start what is due; *next gets the time of the next restart. */
void children_tick(long long now, long long *next);

/* SIGTERM to every child, and close their fds. */
void children_stop(void);

/* ["to", CONN, FRAME]: a frame for the peer of connection serial. */
void lc_to(uint64_t serial, const char *frame, size_t n);

/* ["drop", CONN, WHY]. */
void lc_drop(uint64_t serial, const char *why);

#endif
