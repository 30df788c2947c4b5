/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * What the harnesses built from quilt-relay's rooms without main.c share
 * (fuzz_relay, fuzz_sd): no children (a peer's quilt-send never starts),
 * an exit() from inside the rooms is a finding, and the rooms set up as
 * the relay named me of instance inst.  Included once, by the harness.
 */
#ifndef QUILT_FUZZ_ROOMS_H
#define QUILT_FUZZ_ROOMS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Set while the input is fed: an exit then aborts, naming the harness. */
static int in_target;
static const char *rooms_harness;
static FILE *rooms_report; /* where findings go: the real stderr */

static pid_t
rooms_no_spawn(const char *prog, char *const argv[], int *fd, int *fd3)
{
	(void)prog, (void)argv, (void)fd, (void)fd3;
	errno = EAGAIN;
	return (-1);
}

static void
rooms_exit_check(void)
{
	if (in_target) {
		/* The bytes were enough to stop a router. */
		fprintf(rooms_report, "%s: exit() from inside the rooms\n",
		    rooms_harness);
		abort();
	}
}

/* The relay's rooms, its local side on devnull; aborts if one fails. */
static void
rooms_init(const char *harness, int devnull, const char *me, const char *inst,
    uint64_t maxmsg)
{
	rooms_harness = harness;
	if (rooms_report == NULL)
		rooms_report = stderr;
	atexit(rooms_exit_check);
	conf.fmt = FMT_LINE;
	conf.maxmsg = maxmsg;
	snprintf(conf.me, sizeof(conf.me), "%s", me);
	conf.melen = strlen(me);
	snprintf(conf.inst, sizeof(conf.inst), "%s", inst);
	if (loop_init(&loop) == -1 || local_init(devnull) == -1 ||
	    clients_init() == -1 || ping_init() == -1 ||
	    children_init(on_listen_child, on_peer) == -1)
		abort();
	L.spawn = rooms_no_spawn;
}

#endif
