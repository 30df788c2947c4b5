/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sig_wfd = -1;

static void
on_signal(int sig)
{
	unsigned char c = sig;
	int e = errno;

	(void)!write(sig_wfd, &c, 1);
	errno = e;
}

static void
sig_ready(void *arg, int fd, int revents)
{
	struct loop *l = arg;
	unsigned char c[64];
	ssize_t n;

	while ((n = read(fd, c, sizeof(c))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (c[i] < 65 && l->sigfn[c[i]])
				l->sigfn[c[i]](l->sigarg[c[i]], c[i]);
}

int
loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->sigfd[0] = l->sigfd[1] = -1;
	return (0);
}

static int
grow(struct loop *l, int fd)
{
	int ncap = l->cap ? l->cap : 64;
	void *e, *p, *g;

	while (ncap <= fd)
		ncap *= 2;
	if ((e = realloc(l->ent, ncap * sizeof(*l->ent))) == NULL)
		return (-1);
	l->ent = e;
	memset(l->ent + l->cap, 0, (ncap - l->cap) * sizeof(*l->ent));
	if ((p = realloc(l->pfd, ncap * sizeof(*l->pfd))) == NULL)
		return (-1);
	l->pfd = p;
	if ((g = realloc(l->pgen, ncap * sizeof(*l->pgen))) == NULL)
		return (-1);
	l->pgen = g;
	l->cap = ncap;
	return (0);
}

int
loop_add(struct loop *l, int fd, short events, loop_fn *fn, void *arg)
{
	if (fd >= l->cap && grow(l, fd) == -1)
		return (-1);
	l->ent[fd].fn = fn;
	l->ent[fd].arg = arg;
	l->ent[fd].events = events;
	l->ent[fd].gen++;
	return (0);
}

void
loop_want(struct loop *l, int fd, short events)
{
	if (fd >= 0 && fd < l->cap)
		l->ent[fd].events = events;
}

void
loop_del(struct loop *l, int fd)
{
	if (fd >= 0 && fd < l->cap) {
		l->ent[fd].fn = NULL;
		l->ent[fd].events = 0;
		l->ent[fd].gen++;
	}
}

int
loop_signal(struct loop *l, int sig, loop_sig_fn *fn, void *arg)
{
	struct sigaction sa;

	if (l->sigfd[0] == -1) {
		if (pipe2(l->sigfd, O_NONBLOCK | O_CLOEXEC) == -1)
			return (-1);
		sig_wfd = l->sigfd[1];
		if (loop_add(l, l->sigfd[0], POLLIN, sig_ready, l) == -1)
			return (-1);
	}
	l->sigfn[sig] = fn;
	l->sigarg[sig] = arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return (sigaction(sig, &sa, NULL));
}

int
loop_once(struct loop *l, int timeout_ms)
{
	int n = 0, r;

	for (int fd = 0; fd < l->cap; fd++) {
		if (l->ent[fd].fn == NULL || l->ent[fd].events == 0)
			continue;
		l->pfd[n].fd = fd;
		l->pfd[n].events = l->ent[fd].events;
		l->pfd[n].revents = 0;
		l->pgen[n] = l->ent[fd].gen;
		n++;
	}
	r = poll(l->pfd, n, timeout_ms);
	if (r == -1)
		return (errno == EINTR ? 0 : -1);
	for (int i = 0; i < n && r > 0; i++) {
		int fd = l->pfd[i].fd;
		struct loop_ent *e = &l->ent[fd];

		if (l->pfd[i].revents == 0)
			continue;
		r--;
		/* Closed by a callback, or its number taken by another fd. */
		if (e->fn == NULL || e->gen != l->pgen[i])
			continue;
		e->fn(e->arg, fd, l->pfd[i].revents);
	}
	return (0);
}
