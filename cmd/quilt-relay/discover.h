/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Discovery on the local network by DNS-SD (-D MESH), through Avahi's
 * command-line tools run as children, so that no library of Avahi's is
 * linked: avahi-publish publishes this relay as a _quilt._tcp service
 * (named after its node; TXT "mesh=MESH" and "node=NODE"; the port it
 * listens on), and avahi-browse -p -r -k reports the relays of the
 * network, parsed by libcommon/dnssd.  Of the relays of our mesh it
 * connects to at most DISCOVER_LINKS: those whose names follow ours, in
 * strcmp order and round from the last to the first, so that every relay
 * has a link to the next and the relays that see each other are one mesh
 * (link state does the rest).  A link to a relay that is no longer among
 * them, or whose service went, is let go once it is down, or once the
 * links wanted are all up.
 *
 * Each child writes its standard output and error into one pipe of ours,
 * runs in a process group of its own, is started again with backoff when
 * it dies, and ends with us: SIGTERM when we stop, PR_SET_PDEATHSIG when
 * we are killed (so the service is withdrawn).  Where Avahi does not
 * answer, one line says so and the relay runs on without discovery,
 * trying again now and then.
 */
#ifndef QUILT_RELAY_DISCOVER_H
#define QUILT_RELAY_DISCOVER_H

#include <sys/types.h>

#define DISCOVER_LINKS 3

/* A mesh name for -D: a node name's characters ([A-Za-z0-9._-]{1,64}). */
int discover_mesh_ok(const char *s);

/* Start the children; we listen (L.bound is known). */
void discover_start(void);

/* Start the children that are due, and make or let go links when what is
 * known changed; *next gets the time of the next thing to do. */
void discover_tick(long long now, long long *next);

/* Child pid ended with status st: 1 if it was one of ours (its last words
 * taken in, its restart scheduled), else 0. */
int discover_reaped(pid_t pid, int st);

/* We stop: SIGTERM to the children (the service is withdrawn), their pipes
 * closed, nothing started again. */
void discover_stop(void);

#endif
