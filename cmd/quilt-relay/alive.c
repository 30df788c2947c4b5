/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "alive.h"

#include <stdio.h>
#include <string.h>

#include "children.h"
#include "conns.h"
#include "forward.h"
#include "hops.h"
#include "log.h"
#include "net.h"

struct alive A;

void
alive_init(long long wait_ms)
{
	memset(&A, 0, sizeof(A));
	A.wait_ms = wait_ms;
	A.every_ms = wait_ms / ALIVE_PER_WAIT;
	A.allow = ALIVE_SLACK_MS;
	A.next_check = 0;
}

/* Is p's link timed: up, to a relay? */
static int
timed(const struct peer *p)
{
	return (p->up && p->relay && p->nidx > 0);
}

/*
 * Nothing from p's relay for silent ms of our clock: its connections to
 * us are dropped, our link to it goes down, our child to it starts again.
 */
static void
dead(struct peer *p, long long silent)
{
	char why[64];

	log_warnx("%s: nothing from %s for %lld ms: its link is down", p->addr,
	    p->node, silent);
	ctr.dead++;
	A.dead[p->nidx] = 1;
	snprintf(why, sizeof(why), "nothing from you for %lld ms", silent);
	for (int i = 0; i < CONNS_MAX; i++)
		if (C.c[i].used && C.c[i].relay && C.c[i].nidx == p->nidx)
			lc_drop(C.c[i].serial, why);
	peer_down(p);
	peer_restart(p);
}

/*
 * Hellos of relay nidx have come within an interval and a quarter.  Looked
 * at on our own intervals only (the hellos are read then): the last one
 * is an interval old or less, give or take the two routers' lateness; when
 * they stop, we know it at most two intervals and a quarter after the
 * last, three quarters of an interval before the dead time.
 */
int
alive_hears(int nidx)
{
	return (nidx > 0 && A.hello_seen[nidx] &&
	    A.clock - A.hello_at[nidx] < A.every_ms + A.every_ms / 4);
}

/* Relay nidx hears our hellos, and we hear its: no in-band keep-alive
 * is needed to it. */
static int
relies(int nidx)
{
	return (alive_hears(nidx) && A.hello_hears[nidx]);
}

static void
send_one(struct peer *p)
{
	char f[64];
	size_t sz = mesh_put_alive(f, sizeof(f), A.wait_ms);

	/* (A full queue of control frames: one is on its way.) */
	if (link_ctl(&p->l, f, sz) == 0)
		ctr.alive_out++;
}

static void
send_all(void)
{
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		/* Held links too: the other side waits for this one to come
		 * up its way. */
		if (!p->used || !(p->up || p->held) || !p->relay || p->fd == -1)
			continue;
		if (p->up && !p->held && relies(p->nidx))
			continue; /* our hellos do it */
		send_one(p);
	}
}

/* Relay nidx's in-band keep-alives were left out and must not be now:
 * one to each of its links at once, not at the next interval. */
static void
send_now(int nidx)
{
	A.relied[nidx] = 0;
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (p->used && (p->up || p->held) && p->relay && p->fd != -1 &&
		    p->nidx == nidx)
			send_one(p);
	}
}

/* soon: the earlier of it and t (-1: none yet). */
static void
sooner(long long *soon, long long t)
{
	if (*soon == -1 || t < *soon)
		*soon = t;
}

int
alive_tick(long long now, long long *next)
{
	long long d = now - A.last, soon = -1;
	uint8_t on[NODES_MAX / 8] = {0};
	/* The hellos were read just now (main.c): whether they still come
	 * is looked at only then. */
	int relays = 0, due = 0, looked = alive_due(now);

	if (A.wait_ms <= 0)
		return (0);
	if (A.last != 0 && A.ready && d > 0)
		A.clock += d < A.allow ? d : A.allow;
	A.last = now;
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];

		if (p->used && timed(p))
			on[p->nidx / 8] |= 1 << (p->nidx % 8);
	}
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];
		long long wait, silent;

		if (!p->used || p->nidx <= 0)
			continue;
		if ((p->up || p->held) && p->relay)
			relays++;
		if (!timed(p)) {
			/* Not up: its time does not run. */
			if (!(on[p->nidx / 8] & 1 << (p->nidx % 8)))
				A.heard[p->nidx] = A.clock;
			continue;
		}
		wait = A.wait_ms > A.says[p->nidx] ? A.wait_ms :
						     A.says[p->nidx];
		silent = A.clock - A.heard[p->nidx];
		if (silent >= wait) {
			dead(p, silent);
			A.heard[p->nidx] = A.clock;
			continue;
		}
		/* The soonest it can be due, were we reading all along. */
		sooner(&soon, now + wait - silent);
		/* (Whether its hellos still come is looked at on our next
		 * interval, not before: alive_hears.) */
		if (!looked)
			continue;
		if (relies(p->nidx))
			A.relied[p->nidx] = 1;
		else if (A.relied[p->nidx])
			send_now(p->nidx);
	}
	if (relays > 0) {
		if (now >= A.next_send) {
			due = 1;
			send_all();
			/* On multiples of the interval of the monotonic clock:
			 * the relays of one host send together, and the
			 * wakeups of their keep-alives' ways come back to back
			 * rather than one by one (as the kernel rounds its own
			 * timers to batch them): an idle ring of 64 on one
			 * host took a quarter less CPU. */
			A.next_send = (now / A.every_ms + 1) * A.every_ms;
		}
		sooner(&soon, A.next_send);
	}
	A.next_check = soon;
	if (soon != -1)
		sooner(next, soon);
	return (due);
}

int
alive_due(long long now)
{
	return (A.next_check != -1 && now >= A.next_check);
}

void
alive_poll(int ready, int timeout_ms)
{
	A.ready = ready;
	A.allow = (timeout_ms > 0 ? timeout_ms : 0) + ALIVE_SLACK_MS;
}

int
alive_in(int nidx, const struct wire_msg *m)
{
	uint64_t ms;

	if (mesh_get_alive(m, &ms) == -1)
		return (-1);
	ctr.alive_in++;
	if (nidx <= 0)
		return (0);
	A.says[nidx] = (uint32_t)ms;
	/* It relied on our hellos and sends in-band again: it no longer
	 * hears them (or ours of it were late).  Ours go in-band too, at
	 * once (once: send_now ends the reliance), until its hellos say it
	 * hears ours again. */
	if (A.relied[nidx]) {
		A.hello_hears[nidx] = 0;
		send_now(nidx);
	}
	if (!A.dead[nidx])
		return (0);
	A.dead[nidx] = 0;
	return (1);
}

long long
alive_clock_now(void)
{
	long long d = net_now_ms() - A.last;

	if (A.last == 0 || !A.ready || d <= 0)
		return (A.clock);
	return (A.clock + (d < A.allow ? d : A.allow));
}

int
alive_hello(int nidx, uint32_t ms, int hears, long long at)
{
	if (at > A.heard[nidx])
		A.heard[nidx] = at;
	A.says[nidx] = ms;
	if (!A.hello_seen[nidx] || at > A.hello_at[nidx])
		A.hello_at[nidx] = at;
	A.hello_seen[nidx] = 1;
	A.hello_hears[nidx] = (uint8_t)(hears != 0);
	/* It no longer hears ours: our in-band keep-alives go again. */
	if (!hears && A.relied[nidx])
		send_now(nidx);
	if (!A.dead[nidx])
		return (0);
	A.dead[nidx] = 0;
	return (1);
}
