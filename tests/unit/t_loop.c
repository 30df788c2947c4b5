/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/loop: callbacks of ready fds with what they are
 * ready for, loop_want and loop_del taking effect at once (also for an fd
 * made ready in the same round), signals handed to their callbacks from the
 * loop through the self-pipe and never from the handler, and the timeout
 * of loop_once.  TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "loop.h"
#include "net.h"
#include "tcase.h"

#define MAXFD 256

static struct loop L;
static struct {
	int calls, revents, fd;
	void *arg;
} seen[MAXFD];
static int order[16], norder;

static void
on_fd(void *arg, int fd, int revents)
{
	if (fd < 0 || fd >= MAXFD)
		return;
	seen[fd].calls++;
	seen[fd].revents |= revents;
	seen[fd].fd = fd;
	seen[fd].arg = arg;
	if (norder < 16)
		order[norder++] = fd;
}

static void
reset(void)
{
	memset(seen, 0, sizeof(seen));
	norder = 0;
}

static int
setup(int fds[2])
{
	reset();
	if (loop_init(&L) == -1)
		return (-1);
	return (pipe2(fds, O_NONBLOCK | O_CLOEXEC));
}

static void
teardown(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
	free(L.ent);
	free(L.pfd);
	free(L.pgen);
}

/* A readable fd: its callback, with its arg and POLLIN; nothing else. */
static int
t_ready(void)
{
	int fds[2], tag;

	CHECK(setup(fds) == 0);
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, &tag) == 0);
	CHECK(loop_once(&L, 0) == 0);
	CHECK(seen[fds[0]].calls == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(loop_once(&L, 1000) == 0);
	CHECK(seen[fds[0]].calls == 1);
	CHECK(seen[fds[0]].revents & POLLIN);
	CHECK(seen[fds[0]].arg == &tag);
	/* Level-triggered: still readable, called again. */
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 2);
	/* A writable end, registered for POLLOUT. */
	CHECK(loop_add(&L, fds[1], POLLOUT, on_fd, NULL) == 0);
	CHECK(loop_once(&L, 0) == 0);
	CHECK(seen[fds[1]].calls == 1 && (seen[fds[1]].revents & POLLOUT));
	/* The other end closed: POLLHUP reaches the reader. */
	loop_del(&L, fds[1]);
	close(fds[1]);
	fds[1] = open("/dev/null", O_WRONLY);
	reset();
	CHECK(loop_once(&L, 1000) == 0);
	CHECK(seen[fds[0]].calls == 1);
	CHECK(seen[fds[0]].revents & (POLLIN | POLLHUP));
	teardown(fds);
	return (0);
}

/* loop_want: 0 is registered but idle; events change at once. */
static int
t_want(void)
{
	int fds[2];

	CHECK(setup(fds) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(loop_add(&L, fds[0], 0, on_fd, NULL) == 0);
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 0);
	loop_want(&L, fds[0], POLLIN);
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 1);
	loop_want(&L, fds[0], 0);
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 1);
	/* An fd never added: loop_want is a no-op, not a crash. */
	loop_want(&L, 200, POLLIN);
	loop_want(&L, -1, POLLIN);
	CHECK(loop_once(&L, 0) == 0);
	teardown(fds);
	return (0);
}

/* loop_del: no more callbacks, even with data waiting. */
static int
t_del(void)
{
	int fds[2];

	CHECK(setup(fds) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, NULL) == 0);
	loop_del(&L, fds[0]);
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 0);
	/* Added again: called again. */
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, NULL) == 0);
	CHECK(loop_once(&L, 0) == 0 && seen[fds[0]].calls == 1);
	teardown(fds);
	return (0);
}

/*
 * Two fds ready in one round.  The first callback deletes the second (as
 * when closing a connection's other fd), or deletes it and adds the same
 * number again for something new (a new connection took the number): the
 * old readiness is not delivered to the new owner in this round.
 */
static int pa[2], pb[2], mode;

static void
first(void *arg, int fd, int revents)
{
	on_fd(arg, fd, revents);
	if (mode >= 1)
		loop_del(&L, pb[0]);
	if (mode == 2)
		(void)loop_add(&L, pb[0], POLLIN, on_fd, &mode);
}

static int
t_del_in_round(void)
{
	CHECK(setup(pa) == 0);
	CHECK(pipe2(pb, O_NONBLOCK) == 0);
	for (mode = 0; mode <= 2; mode++) {
		reset();
		CHECK(loop_init(&L) == 0);
		CHECK(write(pa[1], "x", 1) == 1 && write(pb[1], "x", 1) == 1);
		CHECK(pa[0] < pb[0]); /* polled in fd order: a first */
		CHECK(loop_add(&L, pa[0], POLLIN, first, NULL) == 0);
		CHECK(loop_add(&L, pb[0], POLLIN, on_fd, NULL) == 0);
		CHECK(loop_once(&L, 1000) == 0);
		CHECK(seen[pa[0]].calls == 1);
		CHECKF(seen[pb[0]].calls == (mode == 0), "mode %d: %d calls",
		    mode, seen[pb[0]].calls);
		if (mode == 2) {
			char c[8];

			/* The new owner is called from the next round on. */
			(void)!read(pa[0], c, sizeof(c));
			CHECK(loop_once(&L, 0) == 0);
			CHECK(
			    seen[pb[0]].calls == 1 && seen[pb[0]].arg == &mode);
		}
		/* Empty both pipes for the next mode. */
		{
			char c[8];

			(void)!read(pa[0], c, sizeof(c));
			(void)!read(pb[0], c, sizeof(c));
		}
		free(L.ent);
		free(L.pfd);
		free(L.pgen);
	}
	CHECK(loop_init(&L) == 0);
	close(pb[0]);
	close(pb[1]);
	teardown(pa);
	return (0);
}

/* fds above the first table (64) make it grow; all still served. */
static int
t_grow(void)
{
	int fds[2], hi;

	CHECK(setup(fds) == 0);
	CHECK((hi = fcntl(fds[0], F_DUPFD_CLOEXEC, 200)) >= 200);
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, NULL) == 0);
	CHECK(loop_add(&L, hi, POLLIN, on_fd, NULL) == 0);
	CHECK(L.cap > hi);
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(loop_once(&L, 1000) == 0);
	CHECK(seen[fds[0]].calls == 1 && seen[hi].calls == 1);
	CHECK(norder == 2 && order[0] == fds[0] && order[1] == hi);
	close(hi);
	teardown(fds);
	return (0);
}

/* Signals: not handled in the handler, but from the loop, each its own. */
static volatile int sig_calls[65];
static void *sig_arg;

static void
on_sig(void *arg, int sig)
{
	if (sig > 0 && sig < 65)
		sig_calls[sig]++;
	sig_arg = arg;
}

static int
t_signals(void)
{
	int fds[2], tag;
	long long t0;

	CHECK(setup(fds) == 0);
	memset((void *)sig_calls, 0, sizeof(sig_calls));
	CHECK(loop_signal(&L, SIGUSR1, on_sig, &tag) == 0);
	CHECK(loop_signal(&L, SIGUSR2, on_sig, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	/* The handler only wrote to the self-pipe. */
	CHECK(sig_calls[SIGUSR1] == 0);
	CHECK(loop_once(&L, 1000) == 0);
	CHECK(sig_calls[SIGUSR1] == 1 && sig_calls[SIGUSR2] == 0);
	CHECK(sig_arg == &tag);
	/* Both, in one round; nothing left over after. */
	CHECK(raise(SIGUSR2) == 0 && raise(SIGUSR1) == 0);
	CHECK(loop_once(&L, 1000) == 0);
	CHECK(sig_calls[SIGUSR1] == 2 && sig_calls[SIGUSR2] == 1);
	t0 = net_now_ms();
	CHECK(loop_once(&L, 50) == 0);
	CHECK(sig_calls[SIGUSR1] == 2 && sig_calls[SIGUSR2] == 1);
	CHECK(net_now_ms() - t0 >= 40);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(L.sigfd[0]);
	close(L.sigfd[1]);
	teardown(fds);
	return (0);
}

/*
 * A signal that arrives while poll waits: loop_once returns 0 (not -1
 * with EINTR), and the signal's callback runs in this round or the next.
 */
static int
t_signal_in_poll(void)
{
	struct itimerval it;
	int fds[2], rounds = 0;
	long long t0;

	CHECK(setup(fds) == 0);
	memset((void *)sig_calls, 0, sizeof(sig_calls));
	CHECK(loop_signal(&L, SIGALRM, on_sig, NULL) == 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 30 * 1000;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	t0 = net_now_ms();
	while (sig_calls[SIGALRM] == 0 && net_now_ms() - t0 < 5000) {
		CHECK(loop_once(&L, 5000) == 0);
		rounds++;
	}
	CHECK(sig_calls[SIGALRM] == 1);
	CHECKF(rounds <= 2, "%d rounds", rounds);
	/* Woken by the signal, not by the 5 s timeout. */
	CHECK(net_now_ms() - t0 < 2000);
	signal(SIGALRM, SIG_DFL);
	close(L.sigfd[0]);
	close(L.sigfd[1]);
	teardown(fds);
	return (0);
}

/* The timeout: 0 returns at once, N waits about N ms when nothing comes. */
static int
t_timeout(void)
{
	int fds[2];
	long long t0, dt;

	CHECK(setup(fds) == 0);
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, NULL) == 0);
	t0 = net_now_ms();
	CHECK(loop_once(&L, 0) == 0);
	CHECK(net_now_ms() - t0 < 50);
	t0 = net_now_ms();
	CHECK(loop_once(&L, 120) == 0);
	dt = net_now_ms() - t0;
	CHECKF(dt >= 110 && dt < 2000, "%lld ms", dt);
	CHECK(seen[fds[0]].calls == 0);
	/* No fd at all: still a timer. */
	loop_del(&L, fds[0]);
	t0 = net_now_ms();
	CHECK(loop_once(&L, 60) == 0);
	dt = net_now_ms() - t0;
	CHECKF(dt >= 50 && dt < 2000, "%lld ms", dt);
	/* Data before the timeout ends the wait at once. */
	CHECK(loop_add(&L, fds[0], POLLIN, on_fd, NULL) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	t0 = net_now_ms();
	CHECK(loop_once(&L, 5000) == 0);
	CHECK(net_now_ms() - t0 < 1000 && seen[fds[0]].calls == 1);
	teardown(fds);
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "a ready fd: its callback, arg and revents; POLLOUT; POLLHUP",
	    t_ready },
	{ "loop_want: 0 is idle, a change takes effect at once", t_want },
	{ "loop_del: no more callbacks; added again, called again", t_del },
	{ "an fd deleted, or deleted and re-added, by a callback in the "
	  "same round is not called with the old events", t_del_in_round },
	{ "fds past the first table are served", t_grow },
	{ "signals reach their callbacks from the loop, not the handler",
	    t_signals },
	{ "a signal during poll: loop_once returns 0, callback runs",
	    t_signal_in_poll },
	{ "timeouts: 0 at once, N ms when idle, data ends the wait", t_timeout },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
