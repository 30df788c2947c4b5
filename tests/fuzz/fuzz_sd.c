/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of quilt-relay -s's order and views: the frames the
 * Spread daemons of a mesh send each other (FLAGS "s": sub, ord, have,
 * stable, nack, and the flush: fstart, fmsg, fstate, funion, fmemb,
 * ftable, fdone), fed to view_in() as the router hands them over, built
 * from the rooms of cmd/quilt-relay/ without main.c.
 *
 * The state, set up again for every input: this relay is n2, with relay
 * peers n1 and n3 up (both with +spread), two sessions here (#s1#n2 in g1
 * and g2, #s2#n2 in g2, one of them asking for memberships) and, by the
 * first byte of the input, the view installed:
 *   bit 0: {n1, n2, n3} with n1 the sequencer; else {n2, n3}, n2 (we) the
 *          sequencer
 *   bit 1: every second frame, the timers run (with time moving on)
 * The rest is netstrings, each a first byte (its low bit: from n1 or n3)
 * and the parts of one frame.  Checked: no crash, no read past a frame,
 * no exit; what the rooms keep stays bounded (they are freed each time).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../cmd/quilt-relay/children.h"
#include "../../cmd/quilt-relay/clients.h"
#include "../../cmd/quilt-relay/e2e.h"
#include "../../cmd/quilt-relay/flood.h"
#include "../../cmd/quilt-relay/forward.h"
#include "../../cmd/quilt-relay/hops.h"
#include "../../cmd/quilt-relay/local.h"
#include "../../cmd/quilt-relay/lsdb.h"
#include "../../cmd/quilt-relay/nodes.h"
#include "../../cmd/quilt-relay/ping.h"
#include "../../cmd/quilt-relay/reader.h"
#include "../../cmd/quilt-relay/sd_groups.h"
#include "../../cmd/quilt-relay/sd_order.h"
#include "../../cmd/quilt-relay/sd_sess.h"
#include "../../cmd/quilt-relay/sd_view.h"
#include "log.h"

struct conf conf;
struct counters ctr;
struct loop loop;

#include "rooms.h"

static int devnull = -1;

static void
once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	log_init("quilt-relay");
	log_level = 0;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		abort();
	conf.spread = "0";
	rooms_init("fuzz_sd", devnull, "n2", "00aa", 256 * 1024);
	fwd_spread_in = view_in;
}

static int
relay(const char *name, const char *inst)
{
	int n = node_get(name, strlen(name));

	if (n == -1)
		abort();
	snprintf(LS.n[n].cur.inst, sizeof(LS.n[n].cur.inst), "%s", inst);
	LS.n[n].cur.opts = LS_OPT_SPREAD;
	LS.n[n].cur.nbr[0] = 0;
	LS.n[n].cur.nnbr = 1;
	return (n);
}

static void
peer(int i, const char *name, int n)
{
	struct peer *p;

	if (peer_new("127.0.0.1:1", 1) != i)
		abort();
	p = &H.p[i];
	snprintf(p->node, sizeof(p->node), "%s", name);
	p->relay = p->up = 1;
	p->maxmsg = conf.maxmsg;
	p->nidx = n;
}

/* A session here named name, in the groups given, open. */
static void
session(const char *name, int membership, const char *const *groups)
{
	int fd = dup(devnull), i;
	struct sd_sess *s;
	struct sd_ev e;

	if (fd == -1 || (i = sess_new(fd)) == -1)
		abort();
	s = &SS.s[i];
	s->open = 1;
	s->sd.state = SPREADD_OPEN;
	s->sd.membership = membership;
	snprintf(s->sd.name, sizeof(s->sd.name), "%s", name);
	s->sd.group_len = (size_t)snprintf(s->sd.group, sizeof(s->sd.group),
	    "#%s#n2", name);
	s->sd.claimed = 1;
	for (; *groups != NULL; groups++) {
		memset(&e, 0, sizeof(e));
		e.kind = SD_JOIN;
		e.sender.p = s->sd.group;
		e.sender.len = s->sd.group_len;
		e.group.p = *groups;
		e.group.len = strlen(*groups);
		groups_apply(&e, i);
	}
}

static void
reset(int variant)
{
	int n1, n3;

	for (int i = 0; i < SS.n; i++)
		if (SS.s[i].used)
			sess_release(i);
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used)
			peer_free(&H.p[i]);
	memset(&H, 0, sizeof(H));
	nodes_init("n2");
	ls_init("00aa");
	n1 = relay("n1", "0011");
	n3 = relay("n3", "0033");
	peer(0, "n1", n1);
	peer(1, "n3", n3);
	snprintf(L.bound, sizeof(L.bound), "127.0.0.1:40000");
	routes_update();
	if (e2e_init(1) == -1 || sess_init("n2") == -1 || order_init() == -1)
		abort();
	view_init();
	if (groups_init(O.v.proc_id, O.v.time) == -1)
		abort();
	/* The view: {n1, n2, n3} by n1, or {n2, n3} by us. */
	O.v.epoch = 2;
	O.v.single = 0;
	if (variant & 1) {
		O.v.n = 3;
		O.v.mem[0] = n1, O.v.mem[1] = 0, O.v.mem[2] = n3;
		O.v.coord = n1;
	} else {
		O.v.n = 2;
		O.v.mem[0] = 0, O.v.mem[1] = n3;
		O.v.coord = 0;
		O.expect[n3] = 1;
	}
	for (int k = 0; k < O.v.n; k++)
		snprintf(O.v.inst[k], sizeof(O.v.inst[k]), "%s",
		    O.v.mem[k] == 0 ? "00aa" : LS.n[O.v.mem[k]].cur.inst);
	session("s1", 1, (const char *const[]){"g1", "g2", NULL});
	session("s2", 0, (const char *const[]){"g2", NULL});
	memset(&ctr, 0, sizeof(ctr));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body;
	size_t off = 0, len;
	long long now = 1000000, next;
	ssize_t f;
	char *b;
	int k = 0;

	if (size < 1)
		return (0);
	once();
	in_target = 1;
	reset(data[0]);
	if ((b = malloc(size)) == NULL)
		abort();
	memcpy(b, data + 1, size - 1);
	while (off < size - 1 &&
	    (f = frame_parse(b + off, size - 1 - off, size, &body, &len)) > 0) {
		if (len > 0) {
			char *one = malloc(len - 1 ? len - 1 : 1);

			/* a copy of the exact size: a read past it is seen */
			memcpy(one, body + 1, len - 1);
			(void)view_in(((uint8_t)body[0] & 1) ? 1 : 2, one,
			    len - 1);
			free(one);
		}
		if ((data[0] & 2) && (k++ & 1)) {
			next = -1;
			now += 250;
			view_tick(now, &next);
		}
		off += f;
	}
	for (int i = 0; i < SS.n; i++)
		if (SS.s[i].used)
			SS.s[i].out.start = SS.s[i].out.end = 0;
	free(b);
	in_target = 0;
	return (0);
}
