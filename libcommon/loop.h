/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The event loop: one poll(2) over the fds that want something, callbacks,
 * and signals delivered through a self-pipe so that handlers run in the loop
 * and never in signal context.  Timers are the caller's: it passes the time
 * to the next deadline to loop_once (see net_now_ms).
 */
#ifndef QUILT_LOOP_H
#define QUILT_LOOP_H

#include <poll.h>
#include <stddef.h>

typedef void loop_fn(void *arg, int fd, int revents);
typedef void loop_sig_fn(void *arg, int sig);

struct loop_ent {
	loop_fn *fn;
	void *arg;
	short events;
	unsigned gen;
};

struct loop {
	struct loop_ent *ent; /* indexed by fd */
	int cap;
	struct pollfd *pfd;
	unsigned *pgen;
	int npfd;
	int sigfd[2];
	loop_sig_fn *sigfn[65];
	void *sigarg[65];
};

/* 0, or -1 with errno. */
int loop_init(struct loop *l);

/* Watch fd for events (0: registered but idle).  -1 ENOMEM. */
int loop_add(struct loop *l, int fd, short events, loop_fn *fn, void *arg);

/* Change what fd waits for. */
void loop_want(struct loop *l, int fd, short events);

/* What fd waits for now: 0 when nothing, or when it is not watched. */
static inline short
loop_wanted(const struct loop *l, int fd)
{
	if (fd < 0 || fd >= l->cap || l->ent[fd].fn == NULL)
		return (0);
	return (l->ent[fd].events);
}

/* Stop watching fd (before closing it). */
void loop_del(struct loop *l, int fd);

/* Call fn(arg, sig) from the loop when sig arrives.  -1 on error. */
int loop_signal(struct loop *l, int sig, loop_sig_fn *fn, void *arg);

/*
 * Wait at most timeout_ms (-1: no limit) and run the callbacks of the fds
 * that are ready.  Returns 0, or -1 with errno on a poll failure.
 */
int loop_once(struct loop *l, int timeout_ms);

#endif
