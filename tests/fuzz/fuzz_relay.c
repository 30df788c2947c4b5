/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of quilt-relay's router, without sockets or children:
 * built from the rooms of cmd/quilt-relay/ without main.c, their state set
 * up as main() does, as a node n2 of a small mesh: relay peers n1 and n3
 * up, a leaf peer lf up, a relay peer n4 down (reached through n3), a node
 * n5 known and unreachable; connections from the listen child of relays
 * n1, n3 and n4 (n4 has no link back yet) and of a client.  Standard output
 * and the listen child's side are /dev/null; children cannot be started
 * (the spawner of children.c is one that fails), so that a server-connect
 * adds a peer whose child never runs.
 *
 * After the target, time passes: links said down are down, and then every
 * record's life is over (lsa_tick past the maximum age: records dropped,
 * routes again, our own record made again).
 *
 * The first byte of the input picks the target and how it runs:
 *   bits 0-2  0, 6: frames of the listen child, to listen_frame
 *             1, 7: frames of a connection, to conn_frame (relay_frame for
 *                   a relay: route, msg, done, ping, pong, server-connect,
 *                   alive)
 *             2: frames of a quilt-send child, to peer_report
 *             3: standard input, to clients_stdin
 *             4: a control command line, to control_answer
 *             5: a script: netstrings, each a first byte (as above, its
 *                bits 0-2 and 5-6) and that target's bytes, in one state
 *   bits 3-4  output format (and stdin's): lines, -0, -N, -j
 *   bits 5-6  which connection, or which peer (see conn_of, peer_sel); for
 *             standard input, 1 leaves it open (no end of input yet)
 *   bit 7     afterwards, every control command on the state reached
 * The rest are the target's bytes: a stream of frames, as the program
 * reads them, except for 3 and 4.
 *
 * When a frame must wait for room (-1), everything queued is written and
 * acknowledged, as the event loop would get it done, and the frame is
 * tried again; a frame that still waits then would wait for ever: abort.
 * State is set up again for every input, so that each input stands alone
 * and memory does not grow.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../../cmd/quilt-relay/alive.h"
#include "../../cmd/quilt-relay/children.h"
#include "../../cmd/quilt-relay/clients.h"
#include "../../cmd/quilt-relay/conns.h"
#include "../../cmd/quilt-relay/control.h"
#include "../../cmd/quilt-relay/e2e.h"
#include "../../cmd/quilt-relay/flood.h"
#include "../../cmd/quilt-relay/forward.h"
#include "../../cmd/quilt-relay/hops.h"
#include "../../cmd/quilt-relay/local.h"
#include "../../cmd/quilt-relay/lsdb.h"
#include "../../cmd/quilt-relay/nodes.h"
#include "../../cmd/quilt-relay/ping.h"
#include "../../cmd/quilt-relay/reader.h"
#include "log.h"
#include "net.h"

/* What main.c defines. */
struct conf conf;
struct counters ctr;
struct loop loop;

#include "rooms.h"

static FILE *report; /* the real standard error */

/* Small, so that inputs reach the limits; -DFUZZ_MAXMSG=... for others. */
#ifndef FUZZ_MAXMSG
#define FUZZ_MAXMSG (64 * 1024)
#endif
#define ME "n2"
#define MY_INST "000660d795e9d3b9db86"

static FILE *devnull_f;
static int devnull_fd = -1;
static void
once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	log_init("quilt-relay");
	log_level = 2; /* the messages are formatted too */
	if ((devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    (devnull_f = fopen("/dev/null", "w")) == NULL)
		abort();
	/* Diagnostics go nowhere (sanitizer reports still go to fd 2). */
	report = rooms_report = stderr;
	if (getenv("FUZZ_RELAY_LOG") == NULL)
		stderr = devnull_f;
	conf.listen = "127.0.0.1:0";
	rooms_init("fuzz_relay", devnull_fd, ME, MY_INST, FUZZ_MAXMSG);
	L.fd = devnull_fd; /* lc_to writes only when there is one */
	L.l.fd = L.fd;
}

static int
fake_node(const char *name, const char *inst, uint64_t seq)
{
	int n = node_get(name, strlen(name));

	if (n == -1)
		abort();
	snprintf(LS.n[n].cur.inst, sizeof(LS.n[n].cur.inst), "%s", inst);
	LS.n[n].cur.seq = seq;
	snprintf(LS.n[n].cur.addr, sizeof(LS.n[n].cur.addr), "127.0.0.1:%d",
	    30000 + n);
	return (n);
}

static void
fake_link(int u, int v)
{
	if (LS.n[u].cur.nnbr < NBR_MAX)
		LS.n[u].cur.nbr[LS.n[u].cur.nnbr++] = v;
}

static void
fake_peer(int i, const char *addr, const char *node, int relay, int up,
    int fixed)
{
	struct peer *p;

	if (peer_new(addr, fixed) != i)
		abort();
	p = &H.p[i];
	snprintf(p->node, sizeof(p->node), "%s", node);
	p->backoff = 100;
	p->relay = relay;
	p->up = up;
	p->maxmsg = conf.maxmsg;
	p->nidx = node_find(node, strlen(node));
}

static void
fake_conn(uint64_t serial, const char *node, const char *inst)
{
	if (conn_open(serial, L.gen, node, strlen(node), inst, strlen(inst)) ==
	    NULL)
		abort();
}

/* The state of a running n2, the same for every input. */
static void
reset(int oformat)
{
	int n1, n3, n4, n5;

	nodes_init(ME);
	ls_init(MY_INST);
	alive_init(3000);
	flood_init();
	LS.myseq = 4;
	n1 = fake_node("n1", "000660d795e8950834b4", 1);
	n3 = fake_node("n3", "000660d795ea87b9b0f9", 2);
	n4 = fake_node("n4", "000660d796d26f6e7b14", 1);
	(void)fake_node("lf", "", 0); /* a leaf: no link state */
	n5 = fake_node("n5", "000660d790000000000a", 7);
	fake_link(n1, 0);
	fake_link(n3, 0);
	fake_link(n3, n4);
	fake_link(n4, n3);
	fake_link(n5, n4); /* n4 does not list n5: no route */

	for (int i = 0; i < H.n; i++)
		if (H.p[i].used)
			peer_free(&H.p[i]);
	memset(&H, 0, sizeof(H));
	fake_peer(0, "127.0.0.1:37997", "n1", 1, 1, 1);
	fake_peer(1, "127.0.0.1:38959", "n3", 1, 1, 0);
	H.p[1].maxmsg = 1024; /* a smaller -M: frames over it stay */
	fake_peer(2, "127.0.0.1:40001", "lf", 0, 1, 0);
	fake_peer(3, "127.0.0.1:35981", "n4", 1, 0, 0);
	snprintf(L.bound, sizeof(L.bound), "127.0.0.1:42155");
	routes_update();
	lsa_self();
	LS.n[0].cur.seq = LS.myseq;

	conns_init();
	fake_conn(1, "n1", "000660d795e8950834b4");
	fake_conn(2, "n3", "000660d795ea87b9b0f9");
	fake_conn(3, "vm", "");
	fake_conn(4, "n4", "000660d796d26f6e7b14");

	L.l.in.start = L.l.in.end = 0;
	L.l.ctl.start = L.l.ctl.end = 0;
	L.c.in.start = L.c.in.end = 0;
	L.blocked = L.cblocked = 0;
	L.boff = L.cboff = (struct resume){0, 0};

	conf.json = oformat == 3;
	conf.fmt = oformat == 3 ? FMT_LINE : (enum fmt)oformat;
	if (local_init(devnull_fd) == -1 || e2e_init((uint64_t)1 << 40) == -1 ||
	    ping_init() == -1)
		abort();
	memset(&ctr, 0, sizeof(ctr));
}

/*
 * What the event loop gets done while a frame waits: standard output
 * written, dones sent, every peer's frames sent and acknowledged (through
 * peer_report, as its quilt-send child says it), the listen child's
 * control frames written.
 */
static void
drain(void)
{
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 16 && !sink_empty(&LO.out); i++)
			if (local_flush(e2e_written) == -1)
				abort();
		e2e_flush();
		for (int i = 0; i < H.n; i++) {
			struct peer *p = &H.p[i];
			char ack[48], num[24];
			size_t d;

			if (!p->used)
				continue;
			lsa_flush(p);
			p->l.ctl.start = p->l.ctl.end = 0;
			if (p->l.n_queued == p->l.n_acked)
				continue;
			p->l.qs = p->l.q.end; /* all sent */
			d = frame_u64(num, p->l.n_queued - p->base);
			if (peer_report(p, ack,
				snprintf(ack, sizeof(ack), "3:ack,%zu:%s,", d,
				    num)) == -1)
				abort();
		}
	}
	L.l.ctl.start = L.l.ctl.end = 0;
}

/* One call that may have to wait; it must get through once drained. */
#define NO_STALL(call)                                                         \
	do {                                                                   \
		if ((call) == -1) {                                            \
			drain();                                               \
			if ((call) == -1) {                                    \
				fprintf(report,                                \
				    "fuzz_relay: %s waits for room that "      \
				    "draining everything does not make\n",     \
				    #call);                                    \
				abort();                                       \
			}                                                      \
		}                                                              \
	} while (0)

/* A private copy, so that reading past the input is seen. */
static char *
copy(const uint8_t *data, size_t size)
{
	char *c = malloc(size ? size : 1);

	if (c == NULL)
		abort();
	memcpy(c, data, size);
	return (c);
}

/* Frames from the listen child, as process_listen takes them. */
static void
t_listen(char *b, size_t n)
{
	const char *body;
	size_t off = 0, len;
	ssize_t f;

	L.boff = (struct resume){0, 0};
	while (off < n &&
	    (f = frame_parse(b + off, n - off, L.l.maxin, &body, &len)) > 0) {
		struct resume was = {(size_t)-1, 0};

		/* A run of frames goes on from L.boff: it must move. */
		while (listen_frame(b + off, body, len, &L.boff) == -1) {
			if (L.boff.off == was.off && L.boff.done == was.done) {
				fprintf(report,
				    "fuzz_relay: listen_frame waits for room that draining everything does not make\n");
				abort();
			}
			was = L.boff;
			drain();
		}
		L.boff = (struct resume){0, 0};
		off += f;
	}
}

static struct conn *
conn_of(int sel)
{
	static const uint64_t serial[] = {1, 2, 4, 3};

	return (conn_find(serial[sel & 3]));
}

/* Frames of one connection, numbered as the listen child numbers them. */
static void
t_relay(int sel, char *b, size_t n)
{
	const char *body;
	size_t off = 0, len;
	ssize_t f;
	uint64_t k = 1;
	struct conn *c = conn_of(sel);

	while (c != NULL && off < n &&
	    (f = frame_parse(b + off, n - off, conf.maxmsg + 4096, &body,
		 &len)) > 0) {
		NO_STALL(conn_frame(c, k, b + off, f, body, len));
		k++;
		off += f;
		if (conn_of(sel) != c)
			break;
	}
}

static struct peer *
peer_sel(int sel)
{
	static const int idx[] = {0, 2, 1, 3};

	return (&H.p[idx[sel & 3]]);
}

/* Frames from a quilt-send child, as on_peer takes them. */
static void
t_peer(int sel, char *b, size_t n)
{
	const char *body;
	size_t off = 0, len;
	ssize_t f;
	struct peer *p = peer_sel(sel);

	while (p->used && off < n &&
	    (f = frame_parse(b + off, n - off, p->l.maxin, &body, &len)) > 0) {
		if (peer_report(p, body, len) == -1)
			break; /* its child is dropped */
		off += f;
	}
}

/* Standard input, then its end (bit 5: after a first look without it). */
static void
t_stdin(int sel, const char *b, size_t n)
{
	size_t room = LO.in.max - buf_len(&LO.in);

	if (n > room)
		n = room;
	if (buf_append(&LO.in, b, n) == -1)
		abort();
	LO.in_eof = !(sel & 1);
	clients_stdin();
	LO.in_eof = 1;
	clients_stdin();
	while (buf_len(&LO.in) > 0) {
		size_t before = buf_len(&LO.in);

		drain();
		clients_stdin();
		if (buf_len(&LO.in) == before) {
			fprintf(report,
			    "fuzz_relay: standard input stays unread after its end, with room\n");
			abort();
		}
	}
}

/* A control connection's line, as the control socket reads it. */
static void
t_ctl(const char *b, size_t n)
{
	char line[CTL_LINE];

	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	memcpy(line, b, n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	control_answer(devnull_f, line);
	fflush(devnull_f);
}

static void
ctl_all(void)
{
	static const char *const cmds[] = {"peers", "routes", "nodes",
	    "counters", "dot", "json peers", "json routes", "json nodes",
	    "json counters", "json dot"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		control_answer(devnull_f, cmds[i]);
	fflush(devnull_f);
}

static void target(int sel, char *b, size_t n, int depth);

/* Netstrings, each a selector byte and a target's bytes. */
static void
t_script(char *b, size_t n, int depth)
{
	const char *body;
	size_t off = 0, len;
	ssize_t f;

	while (off < n &&
	    (f = frame_parse(b + off, n - off, n, &body, &len)) > 0) {
		/* body is a view into b, which is ours to write */
		if (len > 0)
			target((uint8_t)body[0], b + (body - b) + 1, len - 1,
			    depth + 1);
		off += f;
	}
}

static void
target(int sel, char *b, size_t n, int depth)
{
	int t = sel & 7, var = sel >> 5 & 3;

	switch (t) {
	case 0:
	case 6:
		t_listen(b, n);
		break;
	case 1:
	case 7:
		t_relay(var, b, n);
		break;
	case 2:
		t_peer(var, b, n);
		break;
	case 3:
		t_stdin(var, b, n);
		break;
	case 4:
		t_ctl(b, n);
		break;
	case 5:
		if (depth == 0)
			t_script(b, n, depth);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b;

	if (size < 1)
		return (0);
	once();
	in_target = 1;
	reset(data[0] >> 3 & 3);
	b = copy(data + 1, size - 1);
	target(data[0], b, size - 1, 0);
	/* Time passes: a link said down stays down after its grace; then
	 * every record's life is over, and ours is made again. */
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && H.p[i].down_at)
			peer_down(&H.p[i]);
	drain();
	{
		long long next = -1;

		lsa_tick(net_now_ms() + LS.maxage + 1, &next);
	}
	drain();
	if (data[0] & 0x80)
		ctl_all();
	free(b);
	in_target = 0;
	return (0);
}
