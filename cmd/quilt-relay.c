/*
 * quilt-relay: a node of a mesh (Quilt's QuiltServer, ProcessorThread and
 * QuiltProtocol as processes).  The router here is joined by socket pairs
 * to a quilt-listen child (the incoming side) and to one quilt-send child
 * per outgoing peer; the children speak the framing, the router routes.
 * It holds every frame a next hop has not acknowledged, so a child that
 * dies loses nothing: it is started again and the frames are sent again
 * (the destination drops duplicates by message id).
 *
 * Between relays every frame is numbered data (quilt-protocol(5)):
 *   ["", "route", NODE, INSTANCE, SEQ, ADDR, NEIGHBOUR...]   link state
 *   ["", "server-connect", ADDR]                            connect back
 *   [DEST, "msg", ORIGIN, HOPS, ID, FLAGS, PART...]          DEST or "all"
 *   [ORIGIN, "done", WRITER, HOPS, ID...]                    end to end
 *   [ORIGIN, "lost", NODE, HOPS, ID]                         NODE cannot
 *   [DEST, "ping", ORIGIN, HOPS, TAG, SEQ, PAYLOAD]
 *   [ORIGIN, "pong", NODE, HOPS, TAG, SEQ, DISTANCE, PAYLOAD]
 * HOPS is two digits, counted up at each relay, so that a frame is passed
 * on as it came, with those two bytes changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "addr.h"
#include "buf.h"
#include "cmsg.h"
#include "fmt.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "ready.h"
#include "seal.h"
#include "sink.h"
#include "wire.h"

#define NODES_MAX 256
#define NBR_MAX 64
#define PEERS_MAX 64
#define HOP_LIMIT 32
#define PEND_MAX 65536 /* end-to-end messages in flight (a power of 2) */
#define DEDUP_BITS 65536 /* per origin (a power of 2) */
#define WQ_MAX 65536 /* local messages waiting for write(2) */
#define LPING_MAX 256
#define PEER_WINDOW (8 * 1024 * 1024)
#define IN_CHUNK (256 * 1024)
#define BACKOFF_MIN 100
#define BACKOFF_MAX 5000
#define STOP_MS 2000
#define DONE_BATCH 128
/* A child restarted keeps its link "up" this long, so routes stay. */
#define RESTART_GRACE_MS 2000
/* A link its child says is down stays a route this long: a relay's
 * incoming side restarted is back well within it (restart 100 ms). */
#define DOWN_GRACE_MS 500
/* The largest frame of the listen child: a batch of frames of a connection
 * (CMSG_BATCH bytes, and the frame that ends it, of up to -M). */
#define LISTEN_FRAME_MAX (S.maxmsg + CMSG_BATCH + 4096)

/* Message ids, as ranges FIRST-LAST (they mostly come in order). */
struct rbatch {
	uint64_t r[DONE_BATCH][2];
	int n;
};

struct node {
	char name[WIRE_NODE_MAX + 1];
	size_t namelen;
	char inst[WIRE_INST_MAX + 1]; /* of its link state; "" for a leaf */
	uint64_t seq;
	char addr[ADDR_STRLEN];
	int nnbr;
	short nbr[NBR_MAX];
	/* Routing: the peer to send through, -1 when unreachable. */
	int via, dist;
	/* A second instance of this name whose state still changes: its
	 * record, passed on as it came (so that twins hear of each other). */
	char oinst[WIRE_INST_MAX + 1];
	uint64_t oseq;
	char oaddr[ADDR_STRLEN];
	int onbr_n;
	short onbr[NBR_MAX];
	/* Duplicate names: another instance of our own name. */
	char dup_inst[WIRE_INST_MAX + 1];
	uint64_t dup_seq;
	/* Messages from this origin already taken. */
	char dd_inst[WIRE_INST_MAX + 1];
	uint64_t dd_top;
	uint64_t *dd_bits; /* made with the node */
	int dd_any; /* an id was taken */
	/* done ids for this origin, sent in batches. */
	struct rbatch done;
	int used;
};

/*
 * What a run of frames queued to a leaf was, for "done" when the leaf acks
 * it: n messages of origin numbered from id.  A run a client of ours sent
 * straight to this leaf (serial not 0) is answered to that client as its
 * messages k, k + 1, ... with no end-to-end record of its own.
 */
struct lmeta {
	short origin;
	uint8_t want;
	uint32_t n;
	uint64_t id, serial, k;
};

struct peer {
	char addr[ADDR_STRLEN];
	int used, fixed;
	pid_t pid;
	int fd;
	struct link l;
	uint64_t base; /* n_acked when its child started */
	int up, relay;
	char node[WIRE_NODE_MAX + 1];
	int nidx;
	size_t maxmsg;
	long long started, restart_at, backoff;
	long long down_at; /* its child died: down unless up again by then */
	int reported; /* its child said up or down once */
	uint64_t sent, acked_total;
	/* Leaf: one entry per data frame in l.q, oldest first. */
	struct lmeta *lq;
	size_t lq_head, lq_count;
	/* Relay: link state records still to send it (node i's current
	 * record, and the record of a second instance of node i): written
	 * into its queue when there is room, whatever their size. */
	uint8_t lsa_due[NODES_MAX / 8], olsa_due[NODES_MAX / 8];
};

/* A connection to our listen child, by its serial. */
struct conn {
	uint64_t serial;
	unsigned gen; /* of the listen child it came through */
	char node[WIRE_NODE_MAX + 1];
	char inst[WIRE_INST_MAX + 1];
	int relay, used;
};
#define CONNS_MAX 1024

/* A message of a client in flight end to end, by id. */
struct pend {
	uint64_t id, serial, k;
	short left, dest;
	uint8_t used, all, nlost;
};

/* For an "all" message: the nodes still to write it, and those lost. */
struct pend_map {
	uint8_t want[NODES_MAX / 8], lost[NODES_MAX / 8];
};

/* A run of frames taken in part: the bytes and the frames done. */
struct resume {
	size_t off;
	uint64_t done;
};

struct lping {
	short origin;
	uint64_t tag;
	char seq[24];
	int hops, used;
};

static struct {
	/* Options. */
	enum fmt fmt;
	int json, verbose;
	const char *listen, *announce, *ready;
	const char *keyfile[2];
	int nkeys;
	size_t maxmsg;
	char me[WIRE_NODE_MAX + 1];
	char inst[WIRE_INST_MAX + 1];
	char exe_dir[PATH_MAX];

	struct loop loop;
	int stopping;
	long long stop_deadline;

	/* The nodes; 0 is this one. */
	struct node nodes[NODES_MAX];
	int nnodes;
	uint64_t myseq;
	int dup_reported, dup_answers;

	struct peer peers[PEERS_MAX];
	int npeers;

	/* The listen child. */
	struct {
		pid_t pid;
		int fd, cfd;
		/* Relays' frames (and our words to it) on l, clients' on c:
		 * clients can wait while relays' frames go on. */
		struct link l, c;
		char bound[ADDR_STRLEN];
		long long started, restart_at, backoff;
		int blocked, cblocked;
		/* Where to go on in a run of frames that waited. */
		struct resume boff, cboff;
		/* Bytes at the head of l and c that a dead child wrote. */
		size_t stale, cstale;
		unsigned gen;
	} L;
	struct conn conns[CONNS_MAX];

	/* Control socket. */
	int cfd;
	char ctlpath[108];
	int ready_done;

	/* Local side. */
	struct buf in;
	int in_eof;
	struct sink out;
	uint64_t out_count, out_written;
	struct {
		short origin;
		uint8_t want;
		uint64_t id;
	} * wq;
	size_t wq_head, wq_count;
	int escaped;

	/* End to end. */
	struct pend *pend;
	struct pend_map *maps; /* beside pend, made for the first "all" */
	uint64_t next_id;

	struct lping lpings[LPING_MAX];
	unsigned lping_next;

	/* Client answers, batched: ["", "done", NODE, K...] to serial. */
	struct {
		uint64_t serial;
		int node;
		uint64_t k[DONE_BATCH][2];
		int n;
	} cd;

	/* Counters. */
	uint64_t c_in, c_local_in, c_fwd, c_delivered, c_dup, c_hops, c_noroute,
	    c_oversize, c_bad, c_restarts;

	char *msgbuf; /* one message being made */
	size_t msgbuf_len;
	char *partbuf; /* a line of standard input as a part */
	char **argpeers; /* started once we listen: they learn where */
	int nargpeers, peers_started;

	char scratch[4096];
} S;

static void route_all(void);
static struct conn *conn_find(uint64_t serial);
static int peer_of(const char *node);
static void client_lost(uint64_t serial, uint64_t k, const char *dest,
    size_t dl);
static void flood_lsa(int except);

static noreturn void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: quilt-relay [-0NjqvV] [-A address] [-k keyfile] [-l "
	    "address] "
	    "[-M size]\n"
	    "                   [-P file] -n name [peer ...]\n"
	    "       quilt-relay [-j] -Q control command\n");
	exit(status);
}

/* ---- nodes ------------------------------------------------------------- */

static int
node_find(const char *name, size_t len)
{
	static int last;

	/* Messages come in runs for one node: try the last one first. */
	if (last < S.nnodes && S.nodes[last].namelen == len &&
	    memcmp(S.nodes[last].name, name, len) == 0)
		return (last);
	for (int i = 0; i < S.nnodes; i++)
		if (S.nodes[i].used && S.nodes[i].namelen == len &&
		    memcmp(S.nodes[i].name, name, len) == 0)
			return (last = i);
	return (-1);
}

static int
node_get(const char *name, size_t len)
{
	int i = node_find(name, len);

	if (i != -1)
		return (i);
	if (!wire_node_ok(name, len) || S.nnodes == NODES_MAX)
		return (-1);
	i = S.nnodes;
	memset(&S.nodes[i], 0, sizeof(S.nodes[i]));
	/* Its table of message ids taken, now, so that a message never
	 * waits for memory (nor is taken for new when there is none). */
	if ((S.nodes[i].dd_bits = calloc(DEDUP_BITS / 64, 8)) == NULL)
		return (-1);
	S.nnodes++;
	memcpy(S.nodes[i].name, name, len);
	S.nodes[i].namelen = len;
	S.nodes[i].used = 1;
	S.nodes[i].via = -1;
	S.nodes[i].dist = -1;
	return (i);
}

static int
bit_get(const uint8_t *b, int i)
{
	return (b[i / 8] >> (i % 8) & 1);
}

static void
bit_set(uint8_t *b, int i, int v)
{
	if (v)
		b[i / 8] |= 1 << (i % 8);
	else
		b[i / 8] &= ~(1 << (i % 8));
}

/* Is node w still to write message e?  Lost for it? */
static int
pend_want(const struct pend *e, int w)
{
	return (e->all ? bit_get(S.maps[e - S.pend].want, w) :
			 w == e->dest && e->left > 0);
}

static int
pend_lost(const struct pend *e, int w)
{
	return (e->all ? bit_get(S.maps[e - S.pend].lost, w) :
			 w == e->dest && e->nlost > 0);
}

/* Node w wrote it (lost 0), or cannot (lost 1). */
static void
pend_clear(struct pend *e, int w, int lost)
{
	if (e->all) {
		bit_set(S.maps[e - S.pend].want, w, 0);
		if (lost)
			bit_set(S.maps[e - S.pend].lost, w, 1);
	}
	if (lost)
		e->nlost++;
	e->left--;
}

/*
 * Has the message id of origin o been taken already?  Marks it taken.  A
 * window of DEDUP_BITS ids below the highest seen; older ids count as seen.
 */
static int
dedup_seen(int o, uint64_t id)
{
	struct node *n = &S.nodes[o];
	uint64_t *b;

	b = n->dd_bits;
	if (!n->dd_any) {
		n->dd_any = 1;
		n->dd_top = id;
		b[(id % DEDUP_BITS) / 64] |= 1ULL << (id % 64);
		return (0);
	}
	if (id > n->dd_top) {
		if (id - n->dd_top >= DEDUP_BITS)
			memset(b, 0, DEDUP_BITS / 8);
		else
			for (uint64_t x = n->dd_top + 1; x < id; x++)
				b[(x % DEDUP_BITS) / 64] &= ~(1ULL << (x % 64));
		n->dd_top = id;
		b[(id % DEDUP_BITS) / 64] |= 1ULL << (id % 64);
		return (0);
	}
	if (n->dd_top - id >= DEDUP_BITS)
		return (1);
	if (b[(id % DEDUP_BITS) / 64] & (1ULL << (id % 64)))
		return (1);
	b[(id % DEDUP_BITS) / 64] |= 1ULL << (id % 64);
	return (0);
}

/* ---- children ---------------------------------------------------------- */

static void
find_exe_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", S.exe_dir,
	    sizeof(S.exe_dir) - 1);
	char *slash;

	if (n <= 0) {
		S.exe_dir[0] = '\0';
		return;
	}
	S.exe_dir[n] = '\0';
	if ((slash = strrchr(S.exe_dir, '/')) != NULL)
		*slash = '\0';
}

/*
 * Start prog with argv on a socket pair: its standard input and output are
 * its end, ours comes back in *fd.  The pid, or -1.
 */
static pid_t
spawn(const char *prog, char *const argv[], int *fd, int *fd3)
{
	int sv[2], sv3[2] = {-1, -1};
	pid_t pid;
	char path[PATH_MAX + 64];

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
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1 ||
		    (fd3 && dup2(sv3[1], 3) == -1))
			_exit(EX_OSERR);
		snprintf(path, sizeof(path), "%s/%s", S.exe_dir, prog);
		if (S.exe_dir[0] && access(path, X_OK) == 0)
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

static void on_listen_child(void *arg, int fd, int revents);
static void on_peer(void *arg, int fd, int revents);

static void
common_args(char **av, int *n, char *max)
{
	snprintf(max, 24, "%zu", S.maxmsg);
	av[(*n)++] = "-C";
	av[(*n)++] = S.inst;
	if (!S.verbose)
		av[(*n)++] = "-q";
	av[(*n)++] = "-n";
	av[(*n)++] = S.me;
	av[(*n)++] = "-M";
	av[(*n)++] = max;
}

static void
listen_start(void)
{
	char *av[20], max[24];
	int n = 0;

	av[n++] = "quilt-listen";
	common_args(av, &n, max);
	av[n++] = "-c";
	av[n++] = "256";
	for (int k = 0; k < S.nkeys; k++) {
		av[n++] = "-k";
		av[n++] = (char *)S.keyfile[k];
	}
	av[n++] = (char *)(S.L.bound[0] ? S.L.bound : S.listen);
	av[n] = NULL;
	S.L.pid = spawn("quilt-listen", av, &S.L.fd, &S.L.cfd);
	if (S.L.pid == -1)
		log_die(EX_OSERR, "start quilt-listen");
	S.L.started = net_now_ms();
	/* What the last one wrote and we have not taken yet stays in the
	 * input buffers, ahead of what this one writes (see reap). */
	S.L.l.fd = S.L.fd;
	S.L.l.ctl.start = S.L.l.ctl.end = 0;
	S.L.c.fd = S.L.cfd;
	loop_add(&S.loop, S.L.fd, POLLIN, on_listen_child, &S.L.l);
	loop_add(&S.loop, S.L.cfd, POLLIN, on_listen_child, &S.L.c);
}

static void
peer_start(int i)
{
	struct peer *p = &S.peers[i];
	char *av[20], max[24];
	int n = 0;

	av[n++] = "quilt-send";
	common_args(av, &n, max);
	if (S.nkeys > 0) {
		av[n++] = "-k";
		av[n++] = (char *)S.keyfile[0];
	}
	av[n++] = p->addr;
	av[n] = NULL;
	p->pid = spawn("quilt-send", av, &p->fd, NULL);
	if (p->pid == -1) {
		log_warn("start quilt-send %s", p->addr);
		p->restart_at = net_now_ms() + BACKOFF_MAX;
		return;
	}
	p->started = net_now_ms();
	p->restart_at = 0;
	/* What the old child had not got acknowledged goes again. */
	link_reset(&p->l, p->fd);
	p->l.in.start = p->l.in.end = 0;
	p->l.ctl.start = p->l.ctl.end = 0;
	(void)link_rewind(&p->l, p->l.n_acked);
	p->base = p->l.n_acked;
	loop_add(&S.loop, p->fd, POLLIN, on_peer, p);
}

static int
peer_add(const char *addr, int fixed)
{
	struct peer *p;
	int i;

	for (i = 0; i < PEERS_MAX && S.peers[i].used; i++)
		;
	if (i == PEERS_MAX) {
		log_warnx("%s: too many peers (%d)", addr, PEERS_MAX);
		return (-1);
	}
	p = &S.peers[i];
	memset(p, 0, sizeof(*p));
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->used = 1;
	p->fixed = fixed;
	p->nidx = -1;
	p->fd = -1;
	p->backoff = BACKOFF_MIN;
	if (link_init(&p->l, -1, S.maxmsg + 1024, 2 * PEER_WINDOW,
		S.maxmsg + 1024) == -1)
		log_die(EX_OSERR, "memory");
	if (i >= S.npeers)
		S.npeers = i + 1;
	peer_start(i);
	return (i);
}

static void
peer_close_fd(struct peer *p)
{
	if (p->fd != -1) {
		loop_del(&S.loop, p->fd);
		close(p->fd);
		p->fd = -1;
	}
}

/* The peer's link is gone (its child died, or it is removed). */
static void requeue(struct peer *p);

static void
peer_down(struct peer *p)
{
	p->down_at = 0;
	if (!p->up)
		return;
	p->up = 0;
	log_info("%s: link to %s down", p->addr, p->node);
	S.myseq++;
	route_all();
	flood_lsa(-1);
	requeue(p);
}

static void
peer_remove(struct peer *p)
{
	peer_down(p);
	peer_close_fd(p);
	if (p->pid > 0)
		kill(p->pid, SIGTERM);
	link_free(&p->l);
	free(p->lq);
	p->used = 0;
}

/* ---- frames out -------------------------------------------------------- */

/*
 * Is a frame of body bytes over next hop p's limit (its -M smaller than
 * ours)?  Such a frame is never sent to it (its side could only refuse
 * it, a relay's send child by dying): counted here, as it is dropped.
 */
static int
over_limit(const struct peer *p, size_t body)
{
	if (p->maxmsg == 0 || body <= p->maxmsg)
		return (0);
	S.c_oversize++;
	return (1);
}

/*
 * Queue a whole frame as numbered data to peer p: 0, or -1 when it is
 * full, 1 when it is over the peer's limit (dropped).
 */
static int
peer_queue(struct peer *p, const char *frame, size_t n)
{
	const char *body;
	size_t blen;
	char *w;

	if (n > p->maxmsg && frame_parse(frame, n, n, &body, &blen) > 0 &&
	    over_limit(p, blen))
		return (1);
	if ((w = link_reserve(&p->l, n)) == NULL)
		return (-1);
	memcpy(w, frame, n);
	link_commit(&p->l, n);
	p->sent++;
	return (0);
}

/* Room for one more run in p's records (made on first use)? */
static int
lq_room(struct peer *p)
{
	if (p->lq == NULL && (p->lq = calloc(WQ_MAX, sizeof(*p->lq))) == NULL)
		return (0);
	return (p->lq_count < WQ_MAX);
}

/* Record n frames queued to leaf p (lq_room said yes): a run goes on. */
static void
lq_push(struct peer *p, int origin, uint64_t id, uint32_t n, int want,
    uint64_t serial, uint64_t k)
{
	struct lmeta *e;

	if (p->lq_count > 0) {
		e = &p->lq[(p->lq_head + p->lq_count - 1) % WQ_MAX];
		if (e->origin == origin && e->want == want &&
		    e->id + e->n == id && e->serial == serial &&
		    (serial == 0 || e->k + e->n == k) &&
		    e->n <= UINT32_MAX - n) {
			e->n += n;
			return;
		}
	}
	e = &p->lq[(p->lq_head + p->lq_count++) % WQ_MAX];
	e->origin = origin;
	e->id = id;
	e->n = n;
	e->want = want;
	e->serial = serial;
	e->k = k;
}

/*
 * A leaf takes ["", "msg", PART...]: remember which message it was (and,
 * for a client's, which k of which connection to answer).  0, -1 when
 * there is no room, 1 when it is over the leaf's limit (dropped).
 */
static int
leaf_queue(struct peer *p, int origin, uint64_t id, int want, uint64_t serial,
    uint64_t k, const char *parts, size_t plen)
{
	size_t body = WIRE_MSG_PREFIX_LEN + plen, sz = frame_size(body);
	char *w;

	if (over_limit(p, body))
		return (1);
	if (!lq_room(p) || (w = link_reserve(&p->l, sz)) == NULL)
		return (-1);
	wire_put_msgn_fast(w, parts, plen);
	link_commit(&p->l, sz);
	lq_push(p, origin, id, 1, want, serial, k);
	p->sent++;
	return (0);
}

/* A control frame to the listen child's connection serial. */
static void
to_conn(uint64_t serial, const char *frame, size_t n)
{
	char s[24];
	const char *p[] = {"to", s, frame};
	size_t l[] = {2, 0, n};
	size_t sz;

	l[1] = frame_u64(s, serial);
	sz = frame_putv(NULL, 0, 3, p, l);
	if (S.L.fd == -1 || buf_reserve(&S.L.l.ctl, sz) == -1)
		return;
	frame_putv(buf_tail(&S.L.l.ctl), sz, 3, p, l);
	S.L.l.ctl.end += sz;
}

static void
drop_conn(uint64_t serial, const char *why)
{
	char s[24], f[512];
	const char *p[] = {"drop", s, why};
	size_t sz;

	snprintf(s, sizeof(s), "%" PRIu64, serial);
	sz = frame_putv(f, sizeof(f), 3, p, NULL);
	if (sz <= sizeof(f))
		(void)link_ctl(&S.L.l, f, sz);
}

/*
 * Client answers: flush the batch of "done", ["", "done", NODE, K...]
 * where a K may be a range FIRST-LAST (messages mostly finish in order).
 */
static void
cd_flush(void)
{
	char *f = S.scratch, nums[DONE_BATCH][48];
	const char *p[DONE_BATCH + 3];
	size_t sz;
	int n = 0;

	if (S.cd.n == 0)
		return;
	p[n++] = "";
	p[n++] = "done";
	p[n++] = S.cd.node < 0 ? "all" : S.nodes[S.cd.node].name;
	for (int i = 0; i < S.cd.n; i++) {
		size_t d = frame_u64(nums[i], S.cd.k[i][0]);

		if (S.cd.k[i][1] != S.cd.k[i][0]) {
			nums[i][d] = '-';
			frame_u64(nums[i] + d + 1, S.cd.k[i][1]);
		}
		p[n++] = nums[i];
	}
	sz = frame_putv(f, sizeof(S.scratch), n, p, NULL);
	if (sz <= sizeof(S.scratch))
		to_conn(S.cd.serial, f, sz);
	S.cd.n = 0;
}

/* Messages first to last of client serial were written by node (-1:
 * every node). */
static void
cd_range(uint64_t serial, int node, uint64_t first, uint64_t last)
{
	if (S.cd.n > 0 && (S.cd.serial != serial || S.cd.node != node))
		cd_flush();
	if (S.cd.n > 0 && S.cd.k[S.cd.n - 1][1] + 1 == first) {
		S.cd.k[S.cd.n - 1][1] = last;
		return;
	}
	if (S.cd.n == DONE_BATCH)
		cd_flush();
	S.cd.serial = serial;
	S.cd.node = node;
	S.cd.k[S.cd.n][0] = first;
	S.cd.k[S.cd.n][1] = last;
	S.cd.n++;
}

static void
cd_add(uint64_t serial, int node, uint64_t k)
{
	cd_range(serial, node, k, k);
}

/* A message of a client has its outcome: tell the client. */
static void
pend_finish(struct pend *e)
{
	if (e->nlost == 0) {
		cd_add(e->serial, e->all ? -1 : e->dest, e->k);
	} else {
		char *f = S.scratch, k[24];
		const char *p[3 + NODES_MAX];
		int n = 0;
		size_t sz;

		cd_flush();
		snprintf(k, sizeof(k), "%" PRIu64, e->k);
		p[n++] = "";
		p[n++] = "lost";
		p[n++] = k;
		for (int i = 0; i < S.nnodes && n < 3 + 40; i++)
			if (pend_lost(e, i))
				p[n++] = S.nodes[i].name;
		sz = frame_putv(f, sizeof(S.scratch), n, p, NULL);
		if (sz <= sizeof(S.scratch))
			to_conn(e->serial, f, sz);
	}
	e->used = 0;
}

/* Node w wrote message id of ours (lost 0), or cannot (lost 1). */
static void
pend_answer(int w, uint64_t id, int lost)
{
	struct pend *e = &S.pend[id % PEND_MAX];

	if (!e->used || e->id != id || !pend_want(e, w))
		return;
	pend_clear(e, w, lost);
	if (e->left == 0)
		pend_finish(e);
}

/* After a change of routes: what can no longer be reached is lost. */
static void
pend_reroute(void)
{
	/* Clients' runs to a leaf next to us that is gone. */
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (!p->used || p->relay || p->nidx <= 0 ||
		    S.nodes[p->nidx].via != -1)
			continue;
		for (size_t j = 0; j < p->lq_count; j++) {
			struct lmeta *e = &p->lq[(p->lq_head + j) % WQ_MAX];

			if (!e->want || e->serial == 0)
				continue;
			if (conn_find(e->serial) != NULL)
				for (uint32_t t = 0; t < e->n; t++)
					client_lost(e->serial, e->k + t,
					    p->node, strlen(p->node));
			e->want = 0;
		}
	}
	for (size_t i = 0; i < PEND_MAX; i++) {
		struct pend *e = &S.pend[i];

		if (!e->used)
			continue;
		for (int w = 0; w < S.nnodes && e->left > 0; w++) {
			if (!pend_want(e, w) || w == 0 || S.nodes[w].via != -1)
				continue;
			pend_clear(e, w, 1);
			if (e->left == 0)
				pend_finish(e);
		}
	}
}

/* ---- routing ----------------------------------------------------------- */

static int
lists(int u, int v)
{
	for (int i = 0; i < S.nodes[u].nnbr; i++)
		if (S.nodes[u].nbr[i] == v)
			return (1);
	return (0);
}

static int
by_name(const void *a, const void *b)
{
	return (strcmp(S.nodes[*(const short *)a].name,
	    S.nodes[*(const short *)b].name));
}

/*
 * Breadth first from here over the links both ends list (a leaf, which
 * has no link state, is reached through the relays that list it).
 */
static void
route_all(void)
{
	short q[NODES_MAX], first[NODES_MAX];
	int head = 0, tail = 0, nq = 0, before[NODES_MAX];

	for (int i = 0; i < S.nnodes; i++) {
		before[i] = S.nodes[i].via;
		S.nodes[i].via = -1;
		S.nodes[i].dist = -1;
	}
	S.nodes[0].dist = 0;
	/* Our own links: the peers that are up, by name. */
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (!p->used || !p->up || p->nidx <= 0 ||
		    S.nodes[p->nidx].dist != -1)
			continue;
		S.nodes[p->nidx].dist = 1;
		S.nodes[p->nidx].via = i;
		first[nq++] = p->nidx;
	}
	qsort(first, nq, sizeof(short), by_name);
	for (int i = 0; i < nq; i++)
		q[tail++] = first[i];
	while (head < tail) {
		int u = q[head++];
		short next[NBR_MAX];
		int nn = 0;

		if (!S.nodes[u].inst[0])
			continue; /* a leaf: nothing beyond */
		for (int j = 0; j < S.nodes[u].nnbr; j++) {
			int v = S.nodes[u].nbr[j];

			if (S.nodes[v].dist != -1)
				continue;
			if (S.nodes[v].inst[0] && !lists(v, u))
				continue;
			next[nn++] = v;
		}
		qsort(next, nn, sizeof(short), by_name);
		for (int j = 0; j < nn; j++) {
			int v = next[j];

			if (S.nodes[v].dist != -1)
				continue;
			S.nodes[v].dist = S.nodes[u].dist + 1;
			S.nodes[v].via = S.nodes[u].via;
			q[tail++] = v;
		}
	}
	for (int i = 1; i < S.nnodes; i++)
		if (before[i] != -1 && S.nodes[i].via == -1) {
			pend_reroute();
			break;
		}
}

/*
 * Node n's link state record (old: the second instance's) as a frame into
 * buf (cap bytes); its size, written only when it fits.
 */
static size_t
lsa_frame(int n, int old, char *buf, size_t cap)
{
	struct node *x = &S.nodes[n];
	const char *p[6 + NBR_MAX];
	const short *nbr = old ? x->onbr : x->nbr;
	int nn = old ? x->onbr_n : x->nnbr;
	char seq[24];
	int k = 0;

	p[k++] = "";
	p[k++] = "route";
	p[k++] = x->name;
	p[k++] = old ? x->oinst : x->inst;
	frame_u64(seq, old ? x->oseq : x->seq);
	p[k++] = seq;
	p[k++] = old ? x->oaddr : x->addr;
	for (int i = 0; i < nn; i++)
		p[k++] = S.nodes[nbr[i]].name;
	return (frame_putv(buf, cap, k, p, NULL));
}

/* Make our own node's link state from the peers that are up. */
static void
lsa_self(void)
{
	struct node *me = &S.nodes[0];

	me->nnbr = 0;
	for (int i = 0; i < S.npeers && me->nnbr < NBR_MAX; i++) {
		struct peer *p = &S.peers[i];

		if (p->used && p->up && p->nidx > 0 && !lists(0, p->nidx))
			me->nbr[me->nnbr++] = p->nidx;
	}
	me->seq = S.myseq;
	snprintf(me->addr, sizeof(me->addr), "%s", S.L.bound);
}

/*
 * The records due to relay peer p, into its queue as far as there is room
 * (a record is never dropped: what does not fit now goes when the queue
 * drains, at the next call).  Counted as sent data like any frame.
 */
static void
lsa_flush(struct peer *p)
{
	if (!p->used || !p->up || !p->relay)
		return;
	for (int n = 0; n < S.nnodes; n++) {
		for (int old = 0; old < 2; old++) {
			uint8_t *due = old ? p->olsa_due : p->lsa_due;
			size_t sz;
			char *w;

			if (!bit_get(due, n))
				continue;
			sz = lsa_frame(n, old, NULL, 0);
			if ((w = link_reserve(&p->l, sz)) == NULL)
				return;
			lsa_frame(n, old, w, sz);
			link_commit(&p->l, sz);
			p->sent++;
			bit_set(due, n, 0);
		}
	}
}

static void
send_lsa(struct peer *p, int n)
{
	bit_set(p->lsa_due, n, 1);
	lsa_flush(p);
}

/* Our link state (or node n's, except to peer except) to every relay peer. */
static void
flood_node(int n, int except)
{
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (p->used && p->up && p->relay && i != except)
			send_lsa(p, n);
	}
}

static void
flood_lsa(int except)
{
	lsa_self();
	flood_node(0, except);
}

/* ["", "route", NODE, INSTANCE, SEQ, ADDR, NEIGHBOUR...] from peer pi. */
static void
handle_route(const struct wire_msg *m, int pi)
{
	struct frame_iter it;
	const char *p[4];
	size_t l[4];
	unsigned long long seq;
	char inst[WIRE_INST_MAX + 1];
	struct node *x;
	int n, newer;

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 4; i++)
		if (frame_next_part(&it, &p[i], &l[i]) != 1)
			goto bad;
	if (!wire_inst_ok(p[1], l[1]) ||
	    frame_part_num(p[2], l[2], UINT64_MAX, &seq) == -1 ||
	    l[3] >= ADDR_STRLEN)
		goto bad;
	memcpy(inst, p[1], l[1]);
	inst[l[1]] = '\0';
	if (l[0] == strlen(S.me) && memcmp(p[0], S.me, l[0]) == 0) {
		/* Our name.  Our own link state coming back is nothing; another
		 * instance's is either one of our past lives, whose state never
		 * changes again, or a second live relay with our name, whose
		 * state does. */
		struct node *me = &S.nodes[0];

		if (strcmp(inst, S.inst) == 0)
			return;
		if (strcmp(me->dup_inst, inst) == 0 && seq > me->dup_seq &&
		    !S.dup_reported) {
			log_warnx("another relay named %s is alive (instance "
				  "%s;"
				  " this one is %s)",
			    S.me, inst, S.inst);
			S.dup_reported = 1;
		}
		if (strcmp(me->dup_inst, inst) != 0 || seq > me->dup_seq) {
			snprintf(me->dup_inst, sizeof(me->dup_inst), "%s",
			    inst);
			me->dup_seq = seq;
			/* Say we are here, a few times: a live twin answers. */
			if (S.dup_answers < 3) {
				S.dup_answers++;
				S.myseq++;
				flood_lsa(-1);
			}
		}
		return;
	}
	if ((n = node_get(p[0], l[0])) == -1)
		goto bad;
	x = &S.nodes[n];
	newer = !x->inst[0] || strcmp(inst, x->inst) > 0 ||
	    (strcmp(inst, x->inst) == 0 && seq > x->seq);
	if (!newer) {
		/* An older instance: a past life, or a twin.  Its news is
		 * passed on (so that the twins hear of each other), once. */
		if (strcmp(inst, x->inst) == 0 ||
		    (strcmp(inst, x->oinst) == 0 && seq <= x->oseq))
			return;
		snprintf(x->oinst, sizeof(x->oinst), "%s", inst);
		x->oseq = seq;
		memcpy(x->oaddr, p[3], l[3]);
		x->oaddr[l[3]] = '\0';
		x->onbr_n = 0;
		for (;;) {
			const char *q;
			size_t ql;
			int r = frame_next_part(&it, &q, &ql), v;

			if (r == 0)
				break;
			if (r == -1)
				goto bad;
			if ((v = node_get(q, ql)) == -1 || x->onbr_n == NBR_MAX)
				continue;
			x->onbr[x->onbr_n++] = v;
		}
		for (int i = 0; i < S.npeers; i++) {
			struct peer *pr = &S.peers[i];

			if (pr->used && pr->up && pr->relay && i != pi) {
				bit_set(pr->olsa_due, n, 1);
				lsa_flush(pr);
			}
		}
		return;
	}
	if (x->inst[0] && strcmp(inst, x->inst) != 0) {
		memcpy(x->oinst, x->inst, sizeof(x->oinst));
		x->oseq = x->seq;
		memcpy(x->oaddr, x->addr, sizeof(x->oaddr));
		memcpy(x->onbr, x->nbr, sizeof(x->onbr));
		x->onbr_n = x->nnbr;
	}
	if (strcmp(inst, x->inst) != 0) {
		/* A new life: its message ids start again. */
		memset(x->dd_bits, 0, DEDUP_BITS / 8);
		x->dd_any = 0;
	}
	snprintf(x->inst, sizeof(x->inst), "%s", inst);
	x->seq = seq;
	memcpy(x->addr, p[3], l[3]);
	x->addr[l[3]] = '\0';
	x->nnbr = 0;
	for (;;) {
		const char *q;
		size_t ql;
		int r = frame_next_part(&it, &q, &ql), v;

		if (r == 0)
			break;
		if (r == -1)
			goto bad;
		if ((v = node_get(q, ql)) == -1 || x->nnbr == NBR_MAX)
			continue;
		x->nbr[x->nnbr++] = v;
	}
	route_all();
	flood_node(n, pi);
	return;
bad:
	S.c_bad++;
	log_warnx("%s: a malformed route frame",
	    pi >= 0 ? S.peers[pi].addr : "a relay");
}

/* ---- the mesh ---------------------------------------------------------- */

/*
 * Send the whole frame (a relay frame) towards node d; -1 when the next
 * hop's queue is full (the caller waits), 0 otherwise (sent or dropped).
 */
static int
forward(int d, const char *frame, size_t n)
{
	int via;

	if (d <= 0 || (via = S.nodes[d].via) == -1) {
		S.c_noroute++;
		return (0);
	}
	if (!S.peers[via].relay)
		return (0); /* a leaf: only messages, see send_msg */
	switch (peer_queue(&S.peers[via], frame, n)) {
	case -1:
		return (-1);
	case 0:
		S.c_fwd++;
	}
	return (0);
}

/*
 * What p's queue takes now (see room_for), in bytes and in frames, which
 * the link bounds too: what enters the mesh may fill half of the window
 * and half of the ring of frame sizes, what passes through all of them.
 */
static void
peer_budget(const struct peer *p, int transit, size_t *bytes, size_t *frames)
{
	size_t cap = transit ? 2 * PEER_WINDOW : PEER_WINDOW;
	size_t keep = transit ? 0 : (p->l.szmask + 1) / 2;
	size_t used = buf_len(&p->l.q) + 64, fr = link_room_frames(&p->l);

	*bytes = used < cap ? cap - used : 0;
	*frames = fr > keep ? fr - keep : 0;
	/* A leaf's records of runs fill before its ring when no run joins
	 * the one before it: then it takes nothing more, as when full. */
	if (!p->relay && p->lq_count >= WQ_MAX)
		*frames = 0;
}

/* Room in p's queue for a frame of n bytes? */
static int
peer_room(const struct peer *p, size_t n, int transit)
{
	size_t bytes, frames;

	peer_budget(p, transit, &bytes, &frames);
	return (n <= bytes && frames > 0);
}

/*
 * Room in every queue a frame for d may go to?  d -1: all of them; 0 (us)
 * or a node with no route: none to check.  What enters the mesh here (a
 * client's, our standard input's) may fill half of a queue; what passes
 * through (transit) the whole of it.  So the mesh cannot wedge itself
 * with every queue full of new messages: the frames in transit, and the
 * answers that free the senders, still have room.
 */
static int
room_for(int d, size_t n, int transit)
{
	if (d >= 0) {
		if (d == 0 || S.nodes[d].via == -1)
			return (1);
		return (peer_room(&S.peers[S.nodes[d].via], n, transit));
	}
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (!p->used || !p->up)
			continue;
		if (!peer_room(p, n, transit))
			return (0);
	}
	return (1);
}

static int
room(int d, size_t n)
{
	return (room_for(d, n, 0));
}

/* Add id to b: 0, or -1 when b is full (send it, then add). */
static int
rb_add(struct rbatch *b, uint64_t id)
{
	if (b->n > 0 && b->r[b->n - 1][1] + 1 == id) {
		b->r[b->n - 1][1] = id;
		return (0);
	}
	if (b->n == DONE_BATCH)
		return (-1);
	b->r[b->n][0] = b->r[b->n][1] = id;
	b->n++;
	return (0);
}

/*
 * [ORIGIN, "done", WRITER, HOPS, ID-or-RANGE...] towards origin o, or with
 * lost, [ORIGIN, "lost", NODE, HOPS, ID...]: w will never write them.  When
 * the queue towards o is full nothing is sent: the sender learns it at its
 * deadline.
 */
static void
send_answer(int o, int w, int lost, struct rbatch *b)
{
	char *f = S.scratch, nums[DONE_BATCH][48];
	const char *p[DONE_BATCH + 5];
	int k = 0;
	size_t sz;

	p[k++] = S.nodes[o].name;
	p[k++] = lost ? "lost" : "done";
	p[k++] = S.nodes[w].name;
	p[k++] = "00";
	for (int i = 0; i < b->n; i++) {
		size_t d = frame_u64(nums[i], b->r[i][0]);

		if (b->r[i][1] != b->r[i][0]) {
			nums[i][d] = '-';
			frame_u64(nums[i] + d + 1, b->r[i][1]);
		}
		p[k++] = nums[i];
	}
	b->n = 0;
	sz = frame_putv(f, sizeof(S.scratch), k, p, NULL);
	if (sz <= sizeof(S.scratch))
		(void)forward(o, f, sz);
}

/* Batch a "done" for message id of origin o, written here. */
static void
done_add(int o, uint64_t id)
{
	if (o == 0) {
		pend_answer(0, id, 0);
		return;
	}
	if (rb_add(&S.nodes[o].done, id) == -1) {
		send_answer(o, 0, 0, &S.nodes[o].done);
		(void)rb_add(&S.nodes[o].done, id);
	}
}

static void
flush_dones(void)
{
	for (int o = 1; o < S.nnodes; o++)
		if (S.nodes[o].done.n > 0)
			send_answer(o, 0, 0, &S.nodes[o].done);
	cd_flush();
}

/* -j: {"from":NAME,"data":TEXT} or "data":[PART,...] and a newline. */
static ssize_t
put_json(char *out, const char *name, size_t nl, const char *parts, size_t plen)
{
	int np = frame_count_parts(parts, plen);
	struct frame_iter it;
	const char *p;
	size_t n;
	char *o = out;

	if (np == -1)
		return (-1);
	memcpy(o, "{\"from\":\"", 9);
	o += 9;
	o += fmt_json(o, name, nl);
	memcpy(o, "\",\"data\":", 9);
	o += 9;
	if (np != 1)
		*o++ = '[';
	frame_iter_init(&it, parts, plen);
	for (int i = 0; frame_next_part(&it, &p, &n) == 1; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		o += fmt_json(o, p, n);
		*o++ = '"';
	}
	if (np != 1)
		*o++ = ']';
	*o++ = '}';
	*o++ = '\n';
	return (o - out);
}

/*
 * Write a message for this node to standard output: [origin, part...] in
 * the chosen format, straight from the frame.  -1 when the output is full.
 */
static int
write_local(int origin, int want, uint64_t id, const char *parts, size_t plen)
{
	const struct node *x = &S.nodes[origin];
	/* Each part takes at least 3 bytes of plen ("0:,"), and JSON at most
	 * 6 bytes a byte and 4 more a part. */
	size_t need = S.json ? 6 * (plen + x->namelen) + 40 :
			       fmt_bound(plen + x->namelen + 16);
	char *w;
	ssize_t k;

	if (S.wq_count == WQ_MAX || (w = sink_reserve(&S.out, need)) == NULL)
		return (-1);
	k = S.json ? put_json(w, x->name, x->namelen, parts, plen) :
		     fmt_put_from(S.fmt, w, x->name, x->namelen, parts, plen,
			 &S.escaped);
	if (k == -1)
		return (0); /* not a sequence of parts: dropped */
	sink_commit(&S.out, k);
	S.out_count++;
	(void)sink_mark(&S.out, 0, 0, S.out_count, 1);
	{
		size_t t = (S.wq_head + S.wq_count++) % WQ_MAX;

		S.wq[t].origin = origin;
		S.wq[t].want = want;
		S.wq[t].id = id;
	}
	S.c_delivered++;
	return (0);
}

static void
local_written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	while (S.out_written < count && S.wq_count > 0) {
		size_t h = S.wq_head;

		if (S.wq[h].want)
			done_add(S.wq[h].origin, S.wq[h].id);
		S.wq_head = (h + 1) % WQ_MAX;
		S.wq_count--;
		S.out_written++;
	}
}

static int
two_digits(const char *p, size_t n)
{
	return (
	    n == 2 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9');
}

struct mmsg {
	int origin, hops, want;
	uint64_t id;
	const char *parts;
	size_t plen;
	char *hopsp; /* the two digits in the frame */
};

/* Parse [DEST, "msg", ORIGIN, HOPS, ID, FLAGS, PART...]'s args. */
static int
parse_mmsg(const struct wire_msg *m, struct mmsg *x)
{
	struct frame_iter it;
	const char *p[4];
	size_t l[4];
	unsigned long long v;

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 4; i++)
		if (frame_next_part(&it, &p[i], &l[i]) != 1)
			return (-1);
	if ((x->origin = node_get(p[0], l[0])) == -1 || !two_digits(p[1], l[1]))
		return (-1);
	x->hops = (p[1][0] - '0') * 10 + (p[1][1] - '0');
	x->hopsp = (char *)p[1];
	if (frame_part_num(p[2], l[2], UINT64_MAX, &v) == -1)
		return (-1);
	x->id = v;
	x->want = l[3] == 1 && p[3][0] == 'e';
	x->parts = it.p;
	x->plen = it.n;
	return (0);
}

static void
put_hops(char *p, int h)
{
	p[0] = '0' + h / 10;
	p[1] = '0' + h % 10;
}

/*
 * A message for the mesh, as a relay frame.  Delivered here when it is
 * for us (or all), passed on otherwise.  -1 when a queue is full: nothing
 * was done, the caller waits.
 */
static int
route_msg(const struct wire_msg *m, struct mmsg *x, char *frame, size_t flen,
    int from_peer)
{
	int d, all = m->destlen == 3 && memcmp(m->dest, "all", 3) == 0;

	if (x->hops >= HOP_LIMIT) {
		S.c_hops++;
		return (0);
	}
	d = all ? -1 : node_find(m->dest, m->destlen);
	if (!all && d == -1) {
		S.c_noroute++;
		return (0);
	}
	if (!room_for(d, flen, from_peer != -1))
		return (-1);
	if (x->origin == 0 && from_peer != -1) {
		S.c_dup++; /* ours, come back round a cycle */
		return (0);
	}
	if (x->origin != 0 && dedup_seen(x->origin, x->id)) {
		S.c_dup++;
		return (0);
	}
	if (all || d == 0) {
		if (write_local(x->origin, x->want, x->id, x->parts, x->plen) ==
		    -1) {
			/* Taken back: it is seen again when it comes again. */
			if (x->origin != 0)
				S.nodes[x->origin]
				    .dd_bits[(x->id % DEDUP_BITS) / 64] &= ~(
				    1ULL << (x->id % 64));
			return (-1);
		}
		if (!all)
			return (0);
	}
	put_hops(x->hopsp, x->hops + 1);
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (!p->used || !p->up || i == from_peer)
			continue;
		if (!all && S.nodes[d].via != i)
			continue;
		if (p->relay ? peer_queue(p, frame, flen) == 1 :
			       (all || p->nidx == d) &&
			    leaf_queue(p, x->origin, x->id, x->want, 0, 0,
				x->parts, x->plen) == 1) {
			/* Over its limit.  When it is the destination, no
			 * copy of the message can ever be written: say so. */
			if (!all && p->nidx == d && x->origin != 0 && x->want) {
				struct rbatch b = {.r = {{x->id, x->id}},
				    .n = 1};

				send_answer(x->origin, d, 1, &b);
			}
			continue;
		}
		S.c_fwd++;
	}
	return (0);
}

/* The end-to-end record of our message id for a client, or NULL (full). */
static struct pend *
pend_new(uint64_t serial, uint64_t k, int all, int d)
{
	struct pend *e = &S.pend[S.next_id % PEND_MAX];

	if (e->used)
		return (NULL);
	e->id = S.next_id;
	e->serial = serial;
	e->k = k;
	e->all = all;
	e->dest = d;
	e->nlost = 0;
	e->left = 0;
	if (all) {
		struct pend_map *pm;

		if (S.maps == NULL &&
		    (S.maps = calloc(PEND_MAX, sizeof(*S.maps))) == NULL)
			return (NULL);
		pm = &S.maps[e - S.pend];
		memset(pm, 0, sizeof(*pm));
		for (int i = 0; i < S.nnodes; i++)
			if (i == 0 || S.nodes[i].via != -1) {
				bit_set(pm->want, i, 1);
				e->left++;
			}
	} else {
		e->left = 1;
	}
	e->used = 1;
	return (e);
}

/* The body of our message [DEST, "msg", US, HOPS, ID, FLAGS, PART...]. */
static size_t
own_msg_body(size_t dl, size_t idl, size_t plen)
{
	return (frame_size(dl) + frame_size(3) +
	    frame_size(S.nodes[0].namelen) + frame_size(2) + frame_size(idl) +
	    frame_size(1) + plen);
}

/*
 * Write that frame (body bytes, own_msg_body) at out, HOPS "00"; returns
 * where its parts start, *hopsp where its HOPS digits are.
 */
static char *
put_own_msg(char *out, size_t body, const char *dest, size_t dl, const char *id,
    size_t idl, int want, const char *parts, size_t plen, char **hopsp)
{
	char *o = out + frame_put_hdr(out, body);

	o = frame_put(o, dest, dl);
	o = frame_put(o, "msg", 3);
	o = frame_put(o, S.me, S.nodes[0].namelen);
	*hopsp = o + 2;
	o = frame_put(o, "00", 2);
	o = frame_put(o, id, idl);
	o = frame_put(o, want ? "e" : "-", 1);
	memcpy(o, parts, plen);
	o[plen] = ',';
	return (o);
}

/*
 * A client's [DEST, "msg", PART...] number k on connection serial (k 0:
 * nobody waits for the outcome).  Becomes our message [DEST, "msg", US,
 * "00", ID, FLAGS, PART...].  -1 when it must wait (too much in flight, or
 * no room on the way).
 */
static int
client_msg(const struct wire_msg *m, uint64_t serial, uint64_t k)
{
	int all = m->destlen == 3 && memcmp(m->dest, "all", 3) == 0;
	int d = m->destlen == 0 ? 0 : all ? -1 : node_find(m->dest, m->destlen);
	const char *dest = m->destlen ? m->dest : S.me;
	size_t dl = m->destlen ? m->destlen : S.nodes[0].namelen;
	char id[24], *f, *o;
	size_t body, sz, idl;
	struct pend *e = NULL;
	struct wire_msg mm;
	struct mmsg x;

	if (S.pend[S.next_id % PEND_MAX].used)
		return (-1); /* too much in flight: wait */
	if (d > 0 && S.nodes[d].via != -1 && !S.peers[S.nodes[d].via].relay) {
		/* For a leaf next to us: as the leaf takes it, it is done
		 * (client_run takes most of these, a run at a time). */
		struct peer *p = &S.peers[S.nodes[d].via];

		if (over_limit(p, WIRE_MSG_PREFIX_LEN + m->argslen)) {
			if (k)
				client_lost(serial, k, p->node,
				    strlen(p->node));
			return (0);
		}
		if (!room(d, m->argslen + 16) ||
		    leaf_queue(p, 0, S.next_id, k != 0, serial, k, m->args,
			m->argslen) == -1)
			return (-1);
		S.next_id++;
		S.c_in++;
		S.c_fwd++;
		return (0);
	}
	if (k && d > 0 && S.nodes[d].via == -1) {
		/* Known, and gone: lost at once. */
		e = pend_new(serial, k, 0, d);
		pend_clear(e, d, 1);
		S.next_id++;
		pend_finish(e);
		return (0);
	}
	idl = frame_u64(id, S.next_id);
	body = own_msg_body(dl, idl, m->argslen);
	sz = frame_size(body);
	if (d > 0 && S.nodes[d].via != -1 &&
	    over_limit(&S.peers[S.nodes[d].via], body)) {
		/* The next relay takes less (its -M): lost at once. */
		if (k)
			client_lost(serial, k, dest, dl);
		return (0);
	}
	if (d != 0 && !room(d, sz))
		return (-1);
	if (sz > S.msgbuf_len)
		return (0); /* over our limit: the listener checked it */
	f = S.msgbuf;
	o = put_own_msg(f, body, dest, dl, id, idl, k != 0, m->args, m->argslen,
	    &x.hopsp);
	/* What parse_mmsg would find in it, without parsing it. */
	mm.cmd = W_MSG;
	mm.dest = dest;
	mm.destlen = dl;
	x.origin = 0;
	x.hops = 0;
	x.id = S.next_id;
	x.want = k != 0;
	x.parts = o;
	x.plen = m->argslen;
	if (k)
		e = pend_new(serial, k, all, d);
	if (route_msg(&mm, &x, f, sz, -1) == -1) {
		/* Room was checked: only our own output can be full. */
		if (e)
			e->used = 0;
		return (-1);
	}
	S.next_id++;
	if (e && e->left == 0)
		pend_finish(e);
	S.c_in++;
	return (0);
}

/* Unknown destination for a client: answer lost at once. */
static void
client_lost(uint64_t serial, uint64_t k, const char *dest, size_t dl)
{
	char kk[24], name[WIRE_NODE_MAX + 1];
	const char *p[] = {"", "lost", kk, name};
	char *f = S.scratch;
	size_t sz;

	snprintf(kk, sizeof(kk), "%" PRIu64, k);
	snprintf(name, sizeof(name), "%.*s",
	    (int)(dl > WIRE_NODE_MAX ? WIRE_NODE_MAX : dl), dest);
	cd_flush();
	sz = frame_putv(f, sizeof(S.scratch), 4, p, NULL);
	if (sz <= sizeof(S.scratch))
		to_conn(serial, f, sz);
}

/* ---- pings ------------------------------------------------------------- */

static void
send_pong(int origin, const char *node, const char *tag, size_t tl,
    const char *seq, size_t sl, int dist, const char *pay, size_t pl)
{
	char d[8], *f = S.scratch;
	const char *p[] = {S.nodes[origin].name, "pong", node, "00", tag, seq,
	    d, pay};
	size_t l[] = {strlen(p[0]), 4, strlen(node), 2, tl, sl, 0, pl};
	size_t sz;

	l[6] = snprintf(d, sizeof(d), "%d", dist);
	if (origin == 0) {
		/* Our own client's: ["", "pong", SEQ, NODE, HOPS, PAYLOAD]. */
		const char *q[] = {"", "pong", seq, node, d, pay};
		size_t ql[] = {0, 4, sl, strlen(node), l[6], pl};
		unsigned long long serial;

		if (frame_part_num(tag, tl, UINT64_MAX, &serial) == -1)
			return;
		sz = frame_putv(f, sizeof(S.scratch), 6, q, ql);
		if (sz <= sizeof(S.scratch))
			to_conn(serial, f, sz);
		return;
	}
	sz = frame_putv(f, sizeof(S.scratch), 8, p, l);
	if (sz <= sizeof(S.scratch))
		(void)forward(origin, f, sz);
}

/* [DEST, "ping", ORIGIN, HOPS, TAG, SEQ, PAYLOAD] */
static void
mesh_ping(const struct wire_msg *m, char *frame, size_t flen)
{
	struct frame_iter it;
	const char *p[5];
	size_t l[5];
	int o, d, hops;

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 5; i++)
		if (frame_next_part(&it, &p[i], &l[i]) != 1)
			goto bad;
	if ((o = node_get(p[0], l[0])) == -1 || l[1] != 2 || l[3] > 20 ||
	    p[1][0] < '0' || p[1][0] > '9' || p[1][1] < '0' || p[1][1] > '9')
		goto bad;
	hops = (p[1][0] - '0') * 10 + (p[1][1] - '0');
	if ((d = node_find(m->dest, m->destlen)) == 0) {
		send_pong(o, S.me, p[2], l[2], p[3], l[3], hops, p[4], l[4]);
		return;
	}
	if (d == -1 || hops >= HOP_LIMIT || S.nodes[d].via == -1) {
		S.c_noroute++;
		return;
	}
	if (!S.peers[S.nodes[d].via].relay) {
		/* A leaf answers pings itself: ask it, remember for whom. */
		struct lping *lp = &S.lpings[S.lping_next % LPING_MAX];
		char tag[24];
		const char *q[] = {"", "ping", tag, p[4]};
		size_t ql[] = {0, 4, 0, l[4]};
		char *f = S.scratch;
		size_t sz;

		lp->origin = o;
		lp->tag = 0;
		frame_part_num(p[2], l[2], UINT64_MAX,
		    (unsigned long long *)&lp->tag);
		snprintf(lp->seq, sizeof(lp->seq), "%.*s", (int)l[3], p[3]);
		lp->hops = hops + 1;
		lp->used = 1;
		ql[2] = snprintf(tag, sizeof(tag), "%u",
		    S.lping_next % LPING_MAX);
		S.lping_next++;
		sz = frame_putv(f, sizeof(S.scratch), 4, q, ql);
		if (sz <= sizeof(S.scratch))
			(void)link_ctl(&S.peers[S.nodes[d].via].l, f, sz);
		return;
	}
	put_hops((char *)p[1], hops + 1);
	(void)forward(d, frame, flen);
	return;
bad:
	S.c_bad++;
}

/* [ORIGIN, "pong", NODE, HOPS, TAG, SEQ, DISTANCE, PAYLOAD] */
static void
mesh_pong(const struct wire_msg *m, char *frame, size_t flen)
{
	struct frame_iter it;
	const char *p[6];
	size_t l[6];
	unsigned long long tag;
	int o = node_find(m->dest, m->destlen), hops;

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 6; i++)
		if (frame_next_part(&it, &p[i], &l[i]) != 1)
			goto bad;
	if (l[1] != 2 || p[1][0] < '0' || p[1][0] > '9' || p[1][1] < '0' ||
	    p[1][1] > '9')
		goto bad;
	hops = (p[1][0] - '0') * 10 + (p[1][1] - '0');
	if (o == 0) {
		const char *q[] = {"", "pong", p[3], p[0], p[4], p[5]};
		size_t ql[] = {0, 4, l[3], l[0], l[4], l[5]};
		char *f = S.scratch;
		size_t sz;

		if (frame_part_num(p[2], l[2], UINT64_MAX, &tag) == -1)
			goto bad;
		sz = frame_putv(f, sizeof(S.scratch), 6, q, ql);
		if (sz <= sizeof(S.scratch))
			to_conn(tag, f, sz);
		return;
	}
	if (hops >= HOP_LIMIT)
		return;
	put_hops((char *)p[1], hops + 1);
	(void)forward(o, frame, flen);
	return;
bad:
	S.c_bad++;
}

/* A client's [DEST, "ping", SEQ, PAYLOAD] on connection serial. */
static void
client_ping(const struct wire_msg *m, uint64_t serial)
{
	struct frame_iter it;
	const char *seq, *pay;
	size_t sl, pl, sz;
	char tag[24];
	int d;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &seq, &sl) != 1 || sl > 20)
		return;
	if (frame_next_part(&it, &pay, &pl) != 1)
		pay = "", pl = 0;
	d = node_find(m->dest, m->destlen);
	if (d == -1 || S.nodes[d].via == -1)
		return; /* unanswered, as ping(8) over a dead route */
	{
		/* As if it had come from the mesh for its destination (in
		 * msgbuf: mesh_ping writes what it sends in scratch). */
		const char *p[] = {m->dest, "ping", S.me, "00", tag, seq, pay};
		size_t l[] = {m->destlen, 4, S.nodes[0].namelen, 2, 0, sl, pl};
		const char *body;
		size_t blen;
		struct wire_msg mm;

		l[4] = frame_u64(tag, serial);
		sz = frame_putv(S.msgbuf, S.msgbuf_len, 7, p, l);
		if (sz > S.msgbuf_len ||
		    frame_parse(S.msgbuf, sz, sz, &body, &blen) <= 0 ||
		    wire_decode(body, blen, &mm) == -1)
			return;
		mesh_ping(&mm, S.msgbuf, sz);
	}
}

/* A pong from a leaf (["", "pong", TAG, NODE, HOPS, PAYLOAD]). */
static void
leaf_pong(struct peer *pr, const struct wire_msg *m)
{
	struct frame_iter it;
	const char *p[4];
	size_t l[4];
	unsigned long long t;
	struct lping *lp;
	char tag[24];
	int tl;

	frame_iter_init(&it, m->args, m->argslen);
	for (int i = 0; i < 3; i++)
		if (frame_next_part(&it, &p[i], &l[i]) != 1)
			return;
	if (frame_next_part(&it, &p[3], &l[3]) != 1)
		p[3] = "", l[3] = 0;
	if (frame_part_num(p[0], l[0], LPING_MAX - 1, &t) == -1)
		return;
	lp = &S.lpings[t];
	if (!lp->used)
		return;
	lp->used = 0;
	tl = snprintf(tag, sizeof(tag), "%" PRIu64, lp->tag);
	send_pong(lp->origin, pr->node, tag, tl, lp->seq, strlen(lp->seq),
	    lp->hops, p[3], l[3]);
}

/*
 * A relay link is down: what it had not acknowledged goes the new way too
 * (it stays queued for the link as well; the destination drops whichever
 * copy comes second).  Messages for all have reached the others already.
 */
static void
requeue(struct peer *p)
{
	size_t off = p->l.q.start;

	if (!p->relay)
		return;
	while (off < p->l.q.end) {
		const char *body;
		size_t blen;
		ssize_t f = frame_parse(p->l.q.base + off, p->l.q.end - off,
		    p->l.q.end - off, &body, &blen);
		struct wire_msg m;
		int d, via;

		if (f <= 0)
			break;
		if (wire_decode(body, blen, &m) == 0 && m.destlen > 0 &&
		    (d = node_find(m.dest, m.destlen)) > 0 &&
		    (via = S.nodes[d].via) != -1 && &S.peers[via] != p) {
			if (S.peers[via].relay) {
				(void)peer_queue(&S.peers[via],
				    p->l.q.base + off, f);
			} else if (m.cmd == W_MSG) {
				struct mmsg x;

				if (parse_mmsg(&m, &x) == 0)
					(void)leaf_queue(&S.peers[via],
					    x.origin, x.id, x.want, 0, 0,
					    x.parts, x.plen);
			}
		}
		off += f;
	}
}

/* ---- frames in --------------------------------------------------------- */

/* A client's frame number k on connection c, decoded. */
static int
client_frame(struct conn *c, uint64_t k, const struct wire_msg *m)
{
	if (m->cmd == W_PING) {
		client_ping(m, c->serial);
		return (0);
	}
	if (m->cmd != W_MSG)
		return (0);
	if (m->destlen != 0 &&
	    !(m->destlen == 3 && memcmp(m->dest, "all", 3) == 0) &&
	    node_find(m->dest, m->destlen) == -1) {
		/* No such node, as far as we know. */
		if (!wire_node_ok(m->dest, m->destlen)) {
			drop_conn(c->serial, "bad destination");
			return (0);
		}
		client_lost(c->serial, k, m->dest, m->destlen);
		return (0);
	}
	/* Followed end to end only when it names a node (-d, -a): for the
	 * peer at the other end, its acknowledgement is the word. */
	return (client_msg(m, c->serial, m->destlen ? k : 0));
}

/*
 * A client's frames (len bytes) numbered from k on connection c, a run at a
 * time: the messages that follow each other for one node.  For a leaf next
 * to us, [LEAF, "msg", PART...] frames go on as they came (a plain
 * listener takes its own name as the destination), in one copy, with one
 * record for the run; the leaf's acknowledgements answer the client.  For
 * a node through a relay, each becomes ours, [DEST, "msg", US, "01", ID,
 * "e", PART...], written straight into the link, with its end-to-end
 * record.  Any other message goes alone, through client_frame.  The bytes
 * taken (*taken the frames); 0 when the first frame is not a message
 * (conn_frame takes it), -1 when it must wait for room.
 */
#define RUN_MAX 4096
static ssize_t
client_run(struct conn *c, uint64_t k, const char *frames, size_t len,
    uint64_t *taken)
{
	static uint32_t sz[RUN_MAX], bd[RUN_MAX], io[RUN_MAX], il[RUN_MAX];
	const char *ib, *head;
	size_t ibl, hl, off = 0, out = 0, n = 0, bytes, fr, fsz, body = 0;
	char id[24], *w, *hops;
	struct wire_msg m;
	struct peer *p;
	ssize_t f;
	int d, relay;

	f = frame_parse(frames, len, len, &ib, &ibl);
	if (f <= 0 || wire_decode(ib, ibl, &m) == -1 || m.cmd != W_MSG)
		return (0);
	*taken = 1;
	if (m.destlen == 0 ||
	    (m.destlen == 3 && memcmp(m.dest, "all", 3) == 0) ||
	    (d = node_find(m.dest, m.destlen)) <= 0 || S.nodes[d].via == -1 ||
	    !S.peers[S.nodes[d].via].up)
		return (client_frame(c, k, &m) == -1 ? -1 : f);
	p = &S.peers[S.nodes[d].via];
	relay = p->relay;
	peer_budget(p, 0, &bytes, &fr);
	if (fr > RUN_MAX)
		fr = RUN_MAX;
	if (!relay && !lq_room(p))
		fr = 0;
	/* Each frame after the first: the same "N:DEST,3:msg," head. */
	head = ib;
	hl = m.args - ib;
	while (n < fr) {
		if (n > 0) {
			if (off == len)
				break;
			f = frame_parse(frames + off, len - off, len - off, &ib,
			    &ibl);
			if (f <= 0 || ibl < hl || memcmp(ib, head, hl) != 0)
				break;
		}
		body = ibl;
		if (relay) {
			if (S.pend[(S.next_id + n) % PEND_MAX].used)
				break;
			body = own_msg_body(m.destlen,
			    frame_digits(S.next_id + n), ibl - hl);
		}
		fsz = frame_size(body);
		if (body > p->maxmsg || out + fsz > bytes)
			break;
		io[n] = ib - frames;
		il[n] = ibl;
		bd[n] = body;
		sz[n++] = fsz;
		off += f;
		out += fsz;
	}
	if (n == 0) {
		/* Not even the first: wait, unless the peer refuses it. */
		if (body > p->maxmsg)
			return (client_frame(c, k, &m) == -1 ? -1 : f);
		return (-1);
	}
	if ((w = link_reserve(&p->l, out)) == NULL)
		return (-1);
	if (!relay) {
		memcpy(w, frames, off);
		lq_push(p, 0, S.next_id, n, 1, c->serial, k);
		S.next_id += n;
	} else {
		for (size_t i = 0; i < n; i++, S.next_id++) {
			(void)put_own_msg(w, bd[i], m.dest, m.destlen, id,
			    frame_u64(id, S.next_id), 1, frames + io[i] + hl,
			    il[i] - hl, &hops);
			put_hops(hops, 1); /* one hop, as route_msg */
			w += sz[i];
			(void)pend_new(c->serial, k + i, 0, d);
		}
	}
	link_commit_n(&p->l, sz, n);
	*taken = n;
	S.c_in += n;
	S.c_fwd += n;
	p->sent += n;
	return (off);
}

/*
 * The fast way for a run of a relay's messages passing through: [DEST,
 * "msg", ORIGIN, HOPS, ID, FLAGS, PART...] frames with the same DEST,
 * ORIGIN and FLAGS.  To a relay they go on as they came, HOPS one more (in
 * place), in one copy; to the leaf DEST as ["", "msg", PART...], with one
 * record for the run (their IDs following each other).  The run ends
 * before a frame seen already, at the hop limit, or for elsewhere; a
 * message that starts no run goes alone, through route_msg.  The bytes
 * taken (*taken the frames); 0 when the first frame is not a message
 * (relay_frame takes it), -1 when it must wait for room.
 */
static ssize_t
relay_run(struct conn *c, char *frames, size_t len, uint64_t *taken)
{
	static uint32_t sz[RUN_MAX], fs[RUN_MAX], hp[RUN_MAX], po[RUN_MAX],
	    pl[RUN_MAX];
	static uint64_t ids[RUN_MAX];
	const char *ib, *q;
	size_t ibl, hl, ql, off = 0, out = 0, n = 0, bytes, fr, i, fsz;
	unsigned long long v;
	struct frame_iter it;
	struct wire_msg m;
	struct mmsg x;
	struct peer *p;
	ssize_t f;
	char *w, *h;
	int d, via, leaf, from;

	f = frame_parse(frames, len, len, &ib, &ibl);
	if (f <= 0 || wire_msg_head(ib, ibl) == 0 ||
	    wire_decode(ib, ibl, &m) == -1 || parse_mmsg(&m, &x) == -1)
		return (0);
	*taken = 1;
	from = peer_of(c->node);
	if (x.origin == 0 || x.hops >= HOP_LIMIT || m.destlen == 0 ||
	    (m.destlen == 3 && memcmp(m.dest, "all", 3) == 0) ||
	    (d = node_find(m.dest, m.destlen)) <= 0 ||
	    (via = S.nodes[d].via) == -1 || !S.peers[via].up || via == from ||
	    ((leaf = !S.peers[via].relay) &&
		(S.peers[via].nidx != d || !lq_room(&S.peers[via]))))
		return (route_msg(&m, &x, frames, f, from) == -1 ? -1 : f);
	p = &S.peers[via];
	peer_budget(p, 1, &bytes, &fr);
	if (fr > RUN_MAX)
		fr = RUN_MAX;
	/* Each frame after the first: the same "N:DEST,3:msg,N:ORIGIN,"
	 * head, then "2:HH,", the ID, and the same FLAGS. */
	hl = x.hopsp - 2 - ib;
	hp[0] = x.hopsp - frames;
	ids[0] = x.id;
	po[0] = x.parts - frames;
	pl[0] = x.plen;
	while (n < fr) {
		if (n > 0) {
			if (off == len)
				break;
			f = frame_parse(frames + off, len - off, len - off, &q,
			    &ibl);
			if (f <= 0 || ibl < hl + 5 || memcmp(q, ib, hl) != 0)
				break;
			h = (char *)q + hl;
			if (h[0] != '2' || h[1] != ':' || h[4] != ',' ||
			    !two_digits(h + 2, 2) ||
			    (h[2] - '0') * 10 + (h[3] - '0') >= HOP_LIMIT)
				break;
			frame_iter_init(&it, h + 5, ibl - hl - 5);
			if (frame_next_part(&it, &q, &ql) != 1 ||
			    frame_part_num(q, ql, UINT64_MAX, &v) == -1 ||
			    frame_next_part(&it, &q, &ql) != 1 ||
			    (ql == 1 && q[0] == 'e') != x.want ||
			    (leaf && v != ids[0] + n))
				break;
			hp[n] = h + 2 - frames;
			ids[n] = v;
			po[n] = it.p - frames;
			pl[n] = it.n;
		}
		fsz = leaf ? frame_size(WIRE_MSG_PREFIX_LEN + pl[n]) :
			     (size_t)f;
		if (out + fsz > bytes ||
		    (leaf ? WIRE_MSG_PREFIX_LEN + pl[n] : ibl) > p->maxmsg)
			break;
		fs[n] = f;
		sz[n++] = fsz;
		off += f;
		out += fsz;
	}
	if (n == 0) {
		/* Not even the first: wait, unless the peer refuses it. */
		if ((leaf ? WIRE_MSG_PREFIX_LEN + pl[0] : ibl) > p->maxmsg)
			return (
			    route_msg(&m, &x, frames, f, from) == -1 ? -1 : f);
		return (-1);
	}
	f = fs[0];
	if ((w = link_reserve(&p->l, out)) == NULL)
		return (-1);
	/* Now that nothing can fail: each id seen, the run cut at the
	 * first one seen before (route_msg drops it). */
	for (i = 0, off = 0, out = 0; i < n; i++) {
		if (dedup_seen(x.origin, ids[i]))
			break;
		h = frames + hp[i];
		put_hops(h, (h[0] - '0') * 10 + (h[1] - '0') + 1);
		if (leaf)
			wire_put_msgn_fast(w + out, frames + po[i], pl[i]);
		off += fs[i];
		out += sz[i];
	}
	if (i == 0) {
		S.c_dup++; /* as route_msg counts it */
		return (f);
	}
	if (!leaf)
		memcpy(w, frames, off);
	link_commit_n(&p->l, sz, i);
	if (leaf)
		lq_push(p, x.origin, ids[0], i, x.want, 0, 0);
	p->sent += i;
	S.c_fwd += i;
	*taken = i;
	return (off);
}

/* A frame that came from relay peer pi (via the listen child). */
static int
relay_frame(char *frame, size_t flen, const char *body, size_t blen, int from)
{
	struct wire_msg m;
	struct mmsg x;

	if (wire_decode(body, blen, &m) == -1)
		return (-2);
	switch (m.cmd) {
	case W_MSG:
		if (parse_mmsg(&m, &x) == -1)
			return (-2);
		return (route_msg(&m, &x, frame, flen, from));
	case W_DONE:
	case W_LOST: {
		struct frame_iter it;
		const char *p[2];
		size_t l[2];
		int o = node_find(m.dest, m.destlen), w, hops;
		unsigned long long id;
		long budget = PEND_MAX;

		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p[0], &l[0]) != 1 ||
		    frame_next_part(&it, &p[1], &l[1]) != 1 ||
		    !two_digits(p[1], l[1]) || (w = node_get(p[0], l[0])) == -1)
			return (-2);
		hops = (p[1][0] - '0') * 10 + (p[1][1] - '0');
		if (o != 0) {
			if (o == -1 || hops >= HOP_LIMIT)
				return (0);
			if (!room_for(o, flen, 1))
				return (-1);
			put_hops((char *)p[1], hops + 1);
			return (forward(o, frame, flen));
		}
		for (;;) {
			const char *q, *dash;
			size_t ql;
			int r = frame_next_part(&it, &q, &ql);
			unsigned long long last;

			if (r != 1)
				break;
			if ((dash = memchr(q, '-', ql)) == NULL) {
				if (frame_part_num(q, ql, UINT64_MAX, &id) ==
				    -1)
					break;
				last = id;
			} else if (frame_part_num(q, dash - q, UINT64_MAX,
				       &id) == -1 ||
			    frame_part_num(dash + 1, ql - (dash - q) - 1,
				UINT64_MAX, &last) == -1 ||
			    last < id)
				break;
			/* Only our last PEND_MAX ids can be in flight, and a
			 * frame answers each at most once: the work is bounded
			 * by what we sent, whatever the ranges say. */
			if (last >= S.next_id)
				last = S.next_id - 1;
			if (id + PEND_MAX < S.next_id)
				id = S.next_id - PEND_MAX;
			for (; id <= last && budget > 0; id++, budget--)
				pend_answer(w, id, m.cmd == W_LOST);
		}
		return (0);
	}
	case W_PING:
		mesh_ping(&m, frame, flen);
		return (0);
	case W_PONG:
		mesh_pong(&m, frame, flen);
		return (0);
	case W_ROUTE:
		handle_route(&m, from);
		return (0);
	default:
		return (-2);
	}
}

/* A relay named node connected to us (its outgoing side)? */
static int
conn_from(const char *node)
{
	for (int i = 0; i < CONNS_MAX; i++)
		if (S.conns[i].used && S.conns[i].relay &&
		    strcmp(S.conns[i].node, node) == 0)
			return (1);
	return (0);
}

static struct conn *
conn_find(uint64_t serial)
{
	static int last;

	/* Its own slot, else where it went (see "open"). */
	if (S.conns[last].used && S.conns[last].serial == serial)
		return (&S.conns[last]);
	for (int i = 0, j = serial % CONNS_MAX; i < CONNS_MAX;
	     i++, j = (j + 1) % CONNS_MAX)
		if (S.conns[j].used && S.conns[j].serial == serial) {
			last = j;
			return (&S.conns[j]);
		}
	return (NULL);
}

/* The peer (outgoing side) to the node a listen connection came from. */
static int
peer_of(const char *node)
{
	for (int i = 0; i < S.npeers; i++)
		if (S.peers[i].used && S.peers[i].up &&
		    strcmp(S.peers[i].node, node) == 0)
			return (i);
	return (-1);
}

static void
server_connect(struct conn *c, const struct wire_msg *m)
{
	struct frame_iter it;
	const char *a;
	size_t al;
	char addr[ADDR_STRLEN];
	struct addr parsed;
	const char *why;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &a, &al) != 1 || al == 0 || al >= sizeof(addr))
		return;
	memcpy(addr, a, al);
	addr[al] = '\0';
	if (addr_parse(addr, 0, &parsed, &why) == -1) {
		log_warnx("%s: server-connect to a bad address %s: %s", c->node,
		    addr, why);
		return;
	}
	for (int i = 0; i < S.npeers; i++) {
		struct peer *p = &S.peers[i];

		if (!p->used)
			continue;
		if (strcmp(p->addr, addr) == 0)
			return; /* connected, or trying */
		if (p->up && strcmp(p->node, c->node) == 0)
			return;
		if (!p->up && !p->fixed && strcmp(p->node, c->node) == 0) {
			/* It is back at another address. */
			log_info("%s: now at %s", c->node, addr);
			peer_remove(p);
			break;
		}
	}
	log_info("%s: server-connect: connecting back to %s", c->node, addr);
	(void)peer_add(addr, 0);
}

/*
 * Two relays of one name connected to us at once, each of its own
 * instance: both are alive.  Say so here, and tell both
 * (["", "duplicate", OTHER-INSTANCE]).
 */
static void
twins(struct conn *c)
{
	for (int i = 0; i < CONNS_MAX; i++) {
		struct conn *d = &S.conns[i];
		char *f = S.scratch;
		size_t sz;

		if (!d->used || d == c || !d->relay ||
		    strcmp(d->node, c->node) != 0 ||
		    strcmp(d->inst, c->inst) == 0)
			continue;
		log_warnx("two relays named %s are alive (instances %s and %s)",
		    c->node, d->inst, c->inst);
		{
			const char *p[] = {"", "duplicate", d->inst};

			sz = frame_putv(f, sizeof(S.scratch), 3, p, NULL);
			to_conn(c->serial, f, sz);
		}
		{
			const char *p[] = {"", "duplicate", c->inst};

			sz = frame_putv(f, sizeof(S.scratch), 3, p, NULL);
			to_conn(d->serial, f, sz);
		}
		return;
	}
}

/*
 * One frame from the listen child.  0 done; -1 wait (a queue is full, the
 * frame stays).
 */
/*
 * Frame number k (0: not numbered) of connection c: the whole frame and
 * its body.  0 done; -1 wait.
 */
static int
conn_frame(struct conn *c, uint64_t k, char *frame, size_t flen, const char *ib,
    size_t ibl)
{
	struct wire_msg m;
	int r;

	if (c->relay) {
		r = relay_frame(frame, flen, ib, ibl, peer_of(c->node));
		if (r == -2) {
			if (wire_decode(ib, ibl, &m) == 0 &&
			    m.cmd == W_SERVER_CONNECT) {
				server_connect(c, &m);
				return (0);
			}
			S.c_bad++;
			drop_conn(c->serial, "unknown or malformed frame");
			return (0);
		}
		return (r);
	}
	if (wire_decode(ib, ibl, &m) == -1)
		return (0);
	return (client_frame(c, k, &m));
}

static int
listen_frame(char *frame, size_t flen, const char *body, size_t blen,
    struct resume *boff)
{
	struct frame_iter it;
	const char *p[5];
	size_t l[5];
	int n = 0;
	unsigned long long serial, k;
	struct conn *c;

	frame_iter_init(&it, body, blen);
	while (n < 5 && frame_next_part(&it, &p[n], &l[n]) == 1)
		n++;
	if (n == 4 && l[0] == 6 && memcmp(p[0], "frames", 6) == 0) {
		/* A run of frames of one connection, numbered from k. */
		const char *ib;
		size_t ibl;
		ssize_t f;

		if (frame_part_num(p[1], l[1], UINT64_MAX, &serial) == -1 ||
		    frame_part_num(p[2], l[2], UINT64_MAX, &k) == -1 ||
		    (c = conn_find(serial)) == NULL)
			return (0);
		k += boff->done;
		for (size_t off = boff->off; off < l[3];) {
			uint64_t nf = 1;

			/* A run to a leaf or relay next to us, at once. */
			f = c->relay ?
			    relay_run(c, (char *)p[3] + off, l[3] - off, &nf) :
			    client_run(c, k, p[3] + off, l[3] - off, &nf);
			if (f == 0) {
				f = frame_parse(p[3] + off, l[3] - off, l[3],
				    &ib, &ibl);
				if (f <= 0)
					return (0);
				f = conn_frame(c, k, (char *)p[3] + off, f, ib,
					ibl) == -1 ?
				    -1 :
				    f;
			}
			if (f == -1) {
				/* Go on from here when there is room. */
				boff->off = off;
				return (-1);
			}
			if (conn_find(serial) != c)
				return (0);
			off += f;
			k += nf;
			boff->done += nf;
		}
		return (0);
	}
	if (n == 4 && l[0] == 5 && memcmp(p[0], "frame", 5) == 0) {
		const char *ib;
		size_t ibl;

		if (frame_part_num(p[1], l[1], UINT64_MAX, &serial) == -1 ||
		    frame_part_num(p[2], l[2], UINT64_MAX, &k) == -1 ||
		    (c = conn_find(serial)) == NULL ||
		    frame_parse(p[3], l[3], l[3], &ib, &ibl) != (ssize_t)l[3])
			return (0);
		return (conn_frame(c, k, (char *)p[3], l[3], ib, ibl));
	}
	if (n == 5 && l[0] == 4 && memcmp(p[0], "open", 4) == 0) {
		if (frame_part_num(p[1], l[1], UINT64_MAX, &serial) == -1 ||
		    l[2] > WIRE_NODE_MAX)
			return (0);
		/* Its own slot, or the next free one. */
		c = &S.conns[serial % CONNS_MAX];
		for (int i = 0; c->used && i < CONNS_MAX; i++)
			c = &S.conns[(serial + i) % CONNS_MAX];
		if (c->used) {
			drop_conn(serial, "too many connections");
			return (0);
		}
		c->used = 1;
		c->serial = serial;
		c->gen = S.L.gen;
		memcpy(c->node, p[2], l[2]);
		c->node[l[2]] = '\0';
		c->relay = l[3] > 0;
		snprintf(c->inst, sizeof(c->inst), "%.*s",
		    (int)(l[3] > WIRE_INST_MAX ? WIRE_INST_MAX : l[3]), p[3]);
		if (c->relay)
			twins(c);
		return (0);
	}
	if (n == 2 && l[0] == 5 && memcmp(p[0], "close", 5) == 0) {
		if (frame_part_num(p[1], l[1], UINT64_MAX, &serial) == 0 &&
		    (c = conn_find(serial)) != NULL) {
			c->used = 0;
			/* Its way in gone too: the relay is gone. */
			if (c->relay && !conn_from(c->node))
				for (int i = 0; i < S.npeers; i++)
					if (S.peers[i].used && S.peers[i].up &&
					    S.peers[i].down_at &&
					    strcmp(S.peers[i].node, c->node) ==
						0)
						peer_down(&S.peers[i]);
			for (size_t i = 0; i < PEND_MAX; i++)
				if (S.pend[i].used &&
				    S.pend[i].serial == serial)
					S.pend[i].used = 0;
		}
		return (0);
	}
	if (n == 2 && l[0] == 9 && memcmp(p[0], "listening", 9) == 0) {
		if (!S.L.bound[0] && l[1] < sizeof(S.L.bound)) {
			memcpy(S.L.bound, p[1], l[1]);
			S.L.bound[l[1]] = '\0';
		}
		return (0);
	}
	(void)frame;
	(void)flen;
	return (0);
}

/* Announce ourselves to a peer that came up: server-connect, link state. */
static void
announce(struct peer *p, const char *local)
{
	char addr[ADDR_STRLEN], *f = S.scratch;
	const char *q[3] = {"", "server-connect", addr};
	size_t sz;

	if (S.announce) {
		snprintf(addr, sizeof(addr), "%s", S.announce);
	} else if (strncmp(S.L.bound, "unix:", 5) == 0 || !local[0]) {
		snprintf(addr, sizeof(addr), "%s", S.L.bound);
	} else {
		const char *port = strrchr(S.L.bound, ':'),
			   *lc = strrchr(local, ':');

		snprintf(addr, sizeof(addr), "%.*s%s", (int)(lc - local), local,
		    port);
	}
	sz = frame_putv(f, sizeof(S.scratch), 3, q, NULL);
	if (sz <= sizeof(S.scratch))
		(void)peer_queue(p, f, sz);
	/* Everything we know, so that it routes at once. */
	lsa_self();
	for (int i = 0; i < S.nnodes; i++)
		if (S.nodes[i].inst[0])
			send_lsa(p, i);
}

/* A relay tells us another relay with our name is alive. */
static void
twin_told(const struct wire_msg *m)
{
	struct frame_iter it;
	const char *p;
	size_t n;

	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, &p, &n) != 1 || !wire_inst_ok(p, n) ||
	    S.dup_reported)
		return;
	if (n == strlen(S.inst) && memcmp(p, S.inst, n) == 0)
		return;
	log_warnx("another relay named %s is alive (instance %.*s; this one "
		  "is %s)",
	    S.me, (int)n, p, S.inst);
	S.dup_reported = 1;
}

/* A frame from peer p's child: up, down, ack, or a frame from the peer. */
/* Leaf p wrote the first t messages of run e: "done" in its name to
 * whoever waits (batched in b for origin *cur). */
static void
leaf_wrote(struct peer *p, const struct lmeta *e, uint64_t t, struct rbatch *b,
    int *cur)
{
	if (e->serial != 0) {
		/* A client's run: answered to it, if it is still there. */
		if (conn_find(e->serial) != NULL)
			cd_range(e->serial, p->nidx, e->k, e->k + t - 1);
		return;
	}
	for (uint64_t i = 0; i < t; i++) {
		if (e->origin == 0) {
			pend_answer(p->nidx, e->id + i, 0);
			continue;
		}
		if (b->n > 0 && e->origin != *cur)
			send_answer(*cur, p->nidx, 0, b);
		*cur = e->origin;
		if (rb_add(b, e->id + i) == -1) {
			send_answer(*cur, p->nidx, 0, b);
			(void)rb_add(b, e->id + i);
		}
	}
}

static void
peer_report(struct peer *p, const char *body, size_t blen)
{
	struct frame_iter it;
	const char *q[5];
	size_t l[5];
	int n = 0, i = p - S.peers;
	unsigned long long v;

	frame_iter_init(&it, body, blen);
	while (n < 5 && frame_next_part(&it, &q[n], &l[n]) == 1)
		n++;
	if ((n == 5 && l[0] == 2 && memcmp(q[0], "up", 2) == 0) ||
	    (n >= 1 && l[0] == 4 && memcmp(q[0], "down", 4) == 0))
		p->reported = 1;
	if (n == 2 && l[0] == 3 && memcmp(q[0], "ack", 3) == 0) {
		if (frame_part_num(q[1], l[1], UINT64_MAX, &v) == -1)
			return;
		v += p->base;
		if (v <= p->l.n_acked || v > p->l.n_queued)
			return;
		if (!p->relay && p->lq != NULL) {
			/* The leaf wrote them: "done" in its name. */
			struct rbatch b;
			int cur = -1;

			b.n = 0;

			for (uint64_t j = p->l.n_acked; j < v && p->lq_count;) {
				struct lmeta *e = &p->lq[p->lq_head];
				uint64_t t = e->n < v - j ? e->n : v - j;

				j += t;
				if (e->want && p->nidx > 0)
					leaf_wrote(p, e, t, &b, &cur);
				if (t < e->n) {
					e->id += t;
					e->k += t;
					e->n -= t;
				} else {
					p->lq_head = (p->lq_head + 1) % WQ_MAX;
					p->lq_count--;
				}
			}
			if (b.n > 0)
				send_answer(cur, p->nidx, 0, &b);
		}
		p->acked_total += v - p->l.n_acked;
		(void)link_ack(&p->l, v);
		return;
	}
	if (n == 5 && l[0] == 2 && memcmp(q[0], "up", 2) == 0) {
		char node[WIRE_NODE_MAX + 1], local[ADDR_STRLEN];
		int other;

		if (l[1] > WIRE_NODE_MAX || l[4] >= sizeof(local) ||
		    frame_part_num(q[3], l[3], UINT64_MAX, &v) == -1)
			return;
		memcpy(node, q[1], l[1]);
		node[l[1]] = '\0';
		memcpy(local, q[4], l[4]);
		local[l[4]] = '\0';
		if (strcmp(node, S.me) == 0) {
			log_warnx("%s: that is this node (%s)", p->addr, S.me);
			if (!p->fixed)
				peer_remove(p);
			return;
		}
		other = peer_of(node);
		if (other != -1 && other != i) {
			/* Two links to one node: keep one. */
			struct peer *o = &S.peers[other];

			if (!p->fixed || o->fixed) {
				log_info("%s: already linked to %s", p->addr,
				    node);
				peer_remove(p);
				return;
			}
			peer_remove(o);
		}
		if (p->up && p->down_at && strcmp(p->node, node) == 0) {
			/* Its restarted child is through: nothing changed. */
			p->down_at = 0;
			if (p->relay)
				announce(p, local);
			return;
		}
		snprintf(p->node, sizeof(p->node), "%s", node);
		p->relay = l[2] > 0;
		p->maxmsg = v;
		p->nidx = node_get(node, strlen(node));
		p->up = 1;
		p->down_at = 0;
		log_info("%s: link to %s up", p->addr, node);
		if (p->relay)
			announce(p, local);
		S.myseq++;
		route_all();
		flood_lsa(i);
		return;
	}
	if (n >= 1 && l[0] == 4 && memcmp(q[0], "down", 4) == 0) {
		/* The peer's own link to us still up: only its incoming side
		 * went, and it is restarting.  Else the relay is gone. */
		if (!p->up)
			return;
		if (!conn_from(p->node)) {
			peer_down(p);
			return;
		}
		if (!p->down_at || p->down_at > net_now_ms() + DOWN_GRACE_MS)
			p->down_at = net_now_ms() + DOWN_GRACE_MS;
		return;
	}
	if (n == 2 && l[0] == 5 && memcmp(q[0], "frame", 5) == 0) {
		/* ["frame", BODY]: a frame's body from the peer. */
		struct wire_msg m;

		if (wire_decode(q[1], l[1], &m) == -1)
			return;
		if (m.cmd == W_PONG && !p->relay)
			leaf_pong(p, &m);
		else if (m.namelen == 9 && memcmp(m.name, "duplicate", 9) == 0)
			twin_told(&m);
		else if (m.cmd == W_ERROR) {
			struct frame_iter e;
			const char *t;
			size_t tl;

			frame_iter_init(&e, m.args, m.argslen);
			if (frame_next_part(&e, &t, &tl) != 1)
				t = "", tl = 0;
			log_warnx("%s: the peer says: %.*s", p->addr, (int)tl,
			    t);
		}
	}
}

/* ---- event handlers ---------------------------------------------------- */

static void
on_peer(void *arg, int fd, int revents)
{
	struct peer *p = arg;
	const char *body;
	size_t len;
	ssize_t r, f;

	if (revents & POLLOUT)
		(void)link_flush(&p->l);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	r = link_read(&p->l);
	while ((f = link_frame(&p->l, 0, &body, &len)) > 0) {
		peer_report(p, body, len);
		if (!p->used || p->fd != fd)
			return;
		link_take(&p->l, f);
	}
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS) ||
	    f == -1) {
		/* The child is gone, or mad: SIGCHLD restarts it. */
		peer_close_fd(p);
		if (p->up && !p->down_at)
			p->down_at = net_now_ms() + RESTART_GRACE_MS;
		if (p->pid > 0)
			kill(p->pid, SIGTERM);
	}
}

/* Frames from one stream of the listen child, as far as they can go. */
static void listen_stale_done(void);

static void
process_listen(struct link *l, int *blocked, struct resume *boff)
{
	size_t *stale = l == &S.L.l ? &S.L.stale : &S.L.cstale;
	const char *body;
	size_t len;
	ssize_t f;

	*blocked = 0;
	while ((f = link_frame(l, 0, &body, &len)) > 0) {
		if (listen_frame(buf_data(&l->in), f, body, len, boff) == -1) {
			*blocked = 1;
			return;
		}
		boff->off = 0;
		boff->done = 0;
		link_take(l, f);
		if (stale != NULL && *stale > 0) {
			*stale = *stale > (size_t)f ? *stale - f : 0;
			if (*stale == 0)
				listen_stale_done();
		}
	}
	if (f == -1)
		log_warnx("a malformed frame from the listen child");
}

static void listen_closed(void);

/*
 * The listen child died.  What it wrote before it went was acknowledged to
 * its peers: take all of it in (the socket buffers are small beside ours),
 * drop a frame it had not finished (not acknowledged: sent again), and let
 * it be processed before what its successor writes.  Its connections stay
 * known until then; its successor numbers its own from its start time, so
 * the two do not meet.
 */
static void
listen_drain(void)
{
	struct link *ls[] = {&S.L.l, &S.L.c};

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
		(i == 0 ? &S.L.stale : &S.L.cstale)[0] = off;
	}
	listen_closed();
	S.L.gen++;
	listen_stale_done();
}

/* The frames of the dead child are all taken: forget its connections. */
static void
listen_stale_done(void)
{
	if (S.L.stale > 0 || S.L.cstale > 0)
		return;
	for (int i = 0; i < CONNS_MAX; i++)
		if (S.conns[i].used && S.conns[i].gen != S.L.gen)
			S.conns[i].used = 0;
}

static void
listen_closed(void)
{
	if (S.L.fd != -1) {
		loop_del(&S.loop, S.L.fd);
		close(S.L.fd);
		S.L.fd = -1;
	}
	if (S.L.cfd != -1) {
		loop_del(&S.loop, S.L.cfd);
		close(S.L.cfd);
		S.L.cfd = -1;
	}
}

static void
on_listen_child(void *arg, int fd, int revents)
{
	struct link *l = arg;
	int *blocked = l == &S.L.l ? &S.L.blocked : &S.L.cblocked;
	ssize_t r;

	if ((revents & POLLOUT) && l == &S.L.l)
		(void)link_flush(l);
	if (!(revents & (POLLIN | POLLHUP | POLLERR)) || *blocked)
		return;
	r = link_read(l);
	process_listen(l, blocked, l == &S.L.l ? &S.L.boff : &S.L.cboff);
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		listen_closed();
		if (S.L.pid > 0)
			kill(S.L.pid, SIGTERM);
	}
}

/* Standard input: "NODE text" or "all text" lines, or -N [dest, part...]. */
static void
process_stdin(void)
{
	for (;;) {
		const char *p, *dest, *rest;
		size_t len, dl, rl;
		ssize_t r = fmt_next(S.fmt, buf_data(&S.in), buf_len(&S.in),
		    S.in_eof, S.maxmsg, &p, &len);
		struct wire_msg m;

		if (r == 0)
			return;
		if (r == -1) {
			log_warnx("stdin: %s: the rest of the input is ignored",
			    errno == EMSGSIZE ? "a message over the limit" :
						"a malformed netstring");
			S.in.start = S.in.end = 0;
			S.in_eof = 1;
			return;
		}
		if (S.fmt == FMT_NET) {
			struct frame_iter it;

			frame_iter_init(&it, p, len);
			if (frame_next_part(&it, &dest, &dl) != 1) {
				log_warnx("stdin: a message with no "
					  "destination");
				buf_consume(&S.in, r);
				continue;
			}
			rest = it.p;
			rl = it.n;
		} else {
			size_t i;

			for (i = 0; i < len && p[i] != ' ' && p[i] != '\t'; i++)
				;
			dest = p;
			dl = i;
			rest = i < len ? p + i + 1 : p + len;
			rl = i < len ? len - i - 1 : 0;
		}
		if (!(dl == 3 && memcmp(dest, "all", 3) == 0) &&
		    !wire_node_ok(dest, dl)) {
			log_warnx("stdin: '%.*s' is not a node name: the line "
				  "is dropped",
			    (int)(dl > 64 ? 64 : dl), dest);
			buf_consume(&S.in, r);
			continue;
		}
		if (!(dl == 3 && memcmp(dest, "all", 3) == 0) &&
		    node_find(dest, dl) != 0 &&
		    (node_find(dest, dl) == -1 ||
			S.nodes[node_find(dest, dl)].via == -1)) {
			log_warnx("stdin: no route to %.*s: the message is "
				  "dropped",
			    (int)dl, dest);
			buf_consume(&S.in, r);
			continue;
		}
		/* As a client's [dest, "msg", part...] with nobody waiting:
		 * -N gives its parts as they are, a line becomes one. */
		m.cmd = W_MSG;
		m.dest = dest;
		m.destlen = dl;
		if (S.fmt == FMT_NET) {
			m.args = rest;
			m.argslen = rl;
		} else {
			m.args = S.partbuf;
			m.argslen = frame_put(S.partbuf, rest, rl) - S.partbuf;
		}
		if (client_msg(&m, 0, 0) == -1)
			return;
		S.c_local_in++;
		buf_consume(&S.in, r);
	}
}

static void
on_stdin(void *arg, int fd, int revents)
{
	ssize_t r = buf_fill(&S.in, 0, IN_CHUNK);

	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		S.in_eof = 1;
		loop_del(&S.loop, 0);
	}
	process_stdin();
}

static void
flush_stdout(void)
{
	if (sink_flush(&S.out, local_written, NULL) == -1 && errno != EAGAIN) {
		if (errno == EPIPE)
			log_diex(EX_IOERR, "stdout: the reader went away");
		log_die(EX_IOERR, "stdout");
	}
}

static void
on_stdout(void *arg, int fd, int revents)
{
	flush_stdout();
}

/* ---- control ----------------------------------------------------------- */

static void
ctl_command(FILE *f, const char *cmd, int json)
{
	if (strcmp(cmd, "peers") == 0) {
		for (int i = 0; i < S.npeers; i++) {
			struct peer *p = &S.peers[i];

			if (!p->used)
				continue;
			fprintf(f,
			    json ? "{\"node\":\"%s\",\"address\":\"%s\","
				   "\"state\":\"%s\",\"kind\":\"%s\","
				   "\"sent\":%" PRIu64 ",\"acked\":%" PRIu64
				   "}\n" :
				   "%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n",
			    p->node[0] ? p->node : "-", p->addr,
			    p->up ? "up" : "down", p->relay ? "relay" : "leaf",
			    p->sent, p->acked_total);
		}
	} else if (strcmp(cmd, "routes") == 0 || strcmp(cmd, "nodes") == 0) {
		short idx[NODES_MAX];
		int n = 0, routes = cmd[0] == 'r';

		for (int i = 1; i < S.nnodes; i++)
			if (S.nodes[i].used &&
			    (!routes || S.nodes[i].via != -1))
				idx[n++] = i;
		if (!routes)
			idx[n++] = 0;
		qsort(idx, n, sizeof(short), by_name);
		for (int j = 0; j < n; j++) {
			struct node *x = &S.nodes[idx[j]];
			const char *hop = x->via == -1 ? "-" :
							 S.peers[x->via].node;
			const char *inst = x->inst[0] ? x->inst : "-";
			const char *addr = x->addr[0] ? x->addr : "-";
			int up = idx[j] == 0 || x->via != -1;

			if (idx[j] == 0)
				inst = S.inst, addr = S.L.bound;
			if (routes)
				fprintf(f,
				    json ? "{\"node\":\"%s\",\"next\":\"%s\","
					   "\"distance\":%d}\n" :
					   "%s\t%s\t%d\n",
				    x->name, hop, x->dist);
			else
				fprintf(f,
				    json ?
					"{\"node\":\"%s\",\"instance\":\"%s\","
					"\"address\":\"%s\",\"reachable\":%s}"
					"\n" :
					"%s\t%s\t%s\t%s\n",
				    x->name, inst, addr,
				    json ? (up ? "true" : "false") :
					   (up ? "reachable" : "unreachable"));
		}
	} else if (strcmp(cmd, "counters") == 0) {
		const struct {
			const char *name;
			uint64_t v;
		} c[] = {
		    {"messages_in", S.c_in},
		    {"local_in", S.c_local_in},
		    {"forwarded", S.c_fwd},
		    {"delivered", S.c_delivered},
		    {"duplicates", S.c_dup},
		    {"hop_limit", S.c_hops},
		    {"no_route", S.c_noroute},
		    {"oversize", S.c_oversize},
		    {"malformed", S.c_bad},
		    {"restarts", S.c_restarts},
		};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
			fprintf(f,
			    json ? "{\"name\":\"%s\",\"value\":%" PRIu64 "}\n" :
				   "%s\t%" PRIu64 "\n",
			    c[i].name, c[i].v);
	} else if (strcmp(cmd, "dot") == 0) {
		/* Nodes we can reach (and us), and the links both ends list
		 * (a leaf's from its relay). */
		short idx[NODES_MAX];
		int n = 0;

		lsa_self();
		for (int i = 0; i < S.nnodes; i++)
			if (i == 0 || S.nodes[i].via != -1)
				idx[n++] = i;
		qsort(idx, n, sizeof(short), by_name);
		fprintf(f, "graph quilt {\n");
		for (int j = 0; j < n; j++)
			fprintf(f, "\t\"%s\";\n", S.nodes[idx[j]].name);
		for (int a = 0; a < n; a++)
			for (int b = 0; b < n; b++) {
				int u = idx[a], v = idx[b];
				int uv = S.nodes[u].inst[0] || u == 0 ?
				    lists(u, v) :
				    0;
				int vu = S.nodes[v].inst[0] || v == 0 ?
				    lists(v, u) :
				    0;
				int leafu = u != 0 && !S.nodes[u].inst[0];
				int leafv = v != 0 && !S.nodes[v].inst[0];

				if (strcmp(S.nodes[u].name, S.nodes[v].name) >=
				    0)
					continue;
				if ((uv && vu) || (uv && leafv) ||
				    (vu && leafu))
					fprintf(f, "\t\"%s\" -- \"%s\";\n",
					    S.nodes[u].name, S.nodes[v].name);
			}
		fprintf(f, "}\n");
	} else {
		fprintf(f,
		    "error: unknown command '%s' (peers, routes, "
		    "nodes, counters, dot)\n",
		    cmd);
	}
}

/* One request line: "COMMAND" or "json COMMAND". */
static void
ctl_line(FILE *f, const char *line)
{
	if (strncmp(line, "json ", 5) == 0)
		ctl_command(f, line + 5, 1);
	else
		ctl_command(f, line, 0);
}

/*
 * The control socket is served as ospfd's control.c serves its own: every
 * client non-blocking, its request line gathered as it comes and its answer
 * written as the socket takes it, so that a slow or silent client never
 * holds the router.  A client has CTL_DEADLINE_MS to send its line and take
 * the answer; CTL_MAX clients at once, more wait in the backlog.
 */
#define CTL_MAX 8
#define CTL_LINE 128
#define CTL_DEADLINE_MS 5000

struct ctl_client {
	int fd;
	char line[CTL_LINE];
	size_t len;
	char *out; /* the answer, from open_memstream */
	size_t outlen, outoff;
	long long deadline;
};

static struct ctl_client ctls[CTL_MAX];

static void
ctl_close(struct ctl_client *k)
{
	loop_del(&S.loop, k->fd);
	close(k->fd);
	k->fd = -1;
	free(k->out);
	k->out = NULL;
}

static void
on_ctl_client(void *arg, int fd, int revents)
{
	struct ctl_client *k = arg;
	ssize_t r;

	if (k->out == NULL) {
		char *nl;
		FILE *f;

		r = read(fd, k->line + k->len, sizeof(k->line) - 1 - k->len);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			ctl_close(k);
			return;
		}
		if (r > 0)
			k->len += r;
		k->line[k->len] = '\0';
		if ((nl = strpbrk(k->line, "\r\n")) == NULL) {
			if (k->len == sizeof(k->line) - 1)
				ctl_close(k); /* no command is that long */
			return;
		}
		*nl = '\0';
		if ((f = open_memstream(&k->out, &k->outlen)) == NULL) {
			ctl_close(k);
			return;
		}
		ctl_line(f, k->line);
		if (fclose(f) != 0) {
			ctl_close(k);
			return;
		}
		k->outoff = 0;
		loop_want(&S.loop, fd, POLLOUT);
	}
	while (k->outoff < k->outlen) {
		r = write(fd, k->out + k->outoff, k->outlen - k->outoff);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0)
			break;
		k->outoff += r;
	}
	ctl_close(k);
}

static void
on_control(void *arg, int fd, int revents)
{
	for (int i = 0; i < CTL_MAX; i++) {
		struct ctl_client *k = &ctls[i];

		if (k->fd != -1)
			continue;
		if ((k->fd = accept4(fd, NULL, NULL,
			 SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1)
			return;
		k->len = 0;
		k->out = NULL;
		k->deadline = net_now_ms() + CTL_DEADLINE_MS;
		if (loop_add(&S.loop, k->fd, POLLIN, on_ctl_client, k) == -1) {
			close(k->fd);
			k->fd = -1;
			return;
		}
	}
}

/* Clients past their deadline go; the socket waits while all are busy. */
static void
ctl_tick(long long now, long long *next)
{
	int busy = 0;

	for (int i = 0; i < CTL_MAX; i++) {
		struct ctl_client *k = &ctls[i];

		if (k->fd == -1)
			continue;
		if (now >= k->deadline) {
			ctl_close(k);
			continue;
		}
		busy++;
		if (*next == -1 || k->deadline < *next)
			*next = k->deadline;
	}
	if (S.cfd != -1)
		loop_want(&S.loop, S.cfd, busy < CTL_MAX ? POLLIN : 0);
}

static int
control_client(const char *ctl, const char *cmd, int json)
{
	char path[512], line[256], buf[65536];
	struct sockaddr_un sun;
	FILE *rf;
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s", ctl);
	/* A ready file: its control line. */
	if (strncmp(ctl, "unix:", 5) != 0 && (rf = fopen(ctl, "r")) != NULL) {
		path[0] = '\0';
		while (fgets(line, sizeof(line), rf) != NULL)
			if (strncmp(line, "control ", 8) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(path, sizeof(path), "%s", line + 8);
			}
		fclose(rf);
		if (!path[0])
			log_diex(EX_UNAVAILABLE, "%s: no control line", ctl);
	}
	if (strncmp(path, "unix:", 5) != 0)
		log_diex(EX_USAGE,
		    "%s: not a control address (unix:PATH) or "
		    "ready file",
		    ctl);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path + 5) >= sizeof(sun.sun_path))
		log_diex(EX_USAGE, "%s: path too long", path);
	strcpy(sun.sun_path, path + 5);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		log_die(EX_OSERR, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		log_die(EX_UNAVAILABLE, "connect %s", path);
	n = snprintf(line, sizeof(line), "%s%s\n", json ? "json " : "", cmd);
	if (write(fd, line, n) != n)
		log_die(EX_IOERR, "write %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (strncmp(buf, "error: ", 7) == 0) {
			err = 1;
			fprintf(stderr, "quilt-relay: %.*s", (int)n - 7,
			    buf + 7);
			continue;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			log_die(EX_IOERR, "stdout");
	}
	close(fd);
	if (fflush(stdout) == EOF)
		log_die(EX_IOERR, "stdout");
	return (err ? EX_USAGE : 0);
}

static void
control_open(void)
{
	struct sockaddr_un sun;
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || !*tmp)
		tmp = "/tmp";
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(S.ctlpath, sizeof(S.ctlpath),
		"%s/quilt-relay-%s-%ld.ctl", tmp, S.me,
		(long)getpid()) >= sizeof(sun.sun_path))
		snprintf(S.ctlpath, sizeof(S.ctlpath),
		    "/tmp/quilt-relay-%ld.ctl", (long)getpid());
	strcpy(sun.sun_path, S.ctlpath);
	unlink(S.ctlpath);
	if ((S.cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(S.cfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(S.cfd, 8) == -1)
		log_die(EX_OSERR, "control socket %s", S.ctlpath);
	chmod(S.ctlpath, 0600);
	(void)fcntl(S.cfd, F_SETFL, fcntl(S.cfd, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < CTL_MAX; i++)
		ctls[i].fd = -1;
	loop_add(&S.loop, S.cfd, POLLIN, on_control, NULL);
}

/* ---- life -------------------------------------------------------------- */

static void
remove_files(void)
{
	if (S.ready && S.ready_done)
		unlink(S.ready);
	if (S.ctlpath[0])
		unlink(S.ctlpath);
}

static void
reap(void *arg, int sig)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		long long now = net_now_ms();
		const char *why = WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) :
						    "exited";

		if (pid == S.L.pid) {
			S.L.pid = 0;
			listen_drain();
			if (S.stopping)
				continue;
			if (!S.L.bound[0])
				log_diex(EX_OSERR,
				    "quilt-listen could not "
				    "listen on %s",
				    S.listen);
			if (now - S.L.started > 10000)
				S.L.backoff = BACKOFF_MIN;
			log_warnx("quilt-listen (%s): %s; restarting in %lld "
				  "ms",
			    S.L.bound, why, S.L.backoff);
			S.L.restart_at = now + S.L.backoff;
			if ((S.L.backoff *= 2) > BACKOFF_MAX)
				S.L.backoff = BACKOFF_MAX;
			S.c_restarts++;
			continue;
		}
		for (int i = 0; i < S.npeers; i++) {
			struct peer *p = &S.peers[i];

			if (!p->used || p->pid != pid)
				continue;
			p->pid = 0;
			peer_close_fd(p);
			if (S.stopping)
				break;
			/* What it held, we hold: routes stay while it comes
			 * back, and the frames go again to the new one. */
			if (p->up && !p->down_at)
				p->down_at = now + RESTART_GRACE_MS;
			if (now - p->started > 10000)
				p->backoff = BACKOFF_MIN;
			log_warnx("quilt-send (%s): %s%s; restarting in %lld "
				  "ms",
			    p->addr, why,
			    WIFEXITED(st) && WEXITSTATUS(st) == EX_PROTOCOL ?
				" (refused)" :
				"",
			    p->backoff);
			p->restart_at = now + p->backoff;
			if ((p->backoff *= 2) > BACKOFF_MAX)
				p->backoff = BACKOFF_MAX;
			S.c_restarts++;
			break;
		}
	}
}

static void
stop(void *arg, int sig)
{
	if (S.stopping) {
		remove_files();
		_exit(1);
	}
	S.stopping = 1;
	S.stop_deadline = net_now_ms() + STOP_MS;
	/* No more in: the listen child goes first. */
	listen_closed();
	if (S.cfd != -1) {
		loop_del(&S.loop, S.cfd);
		close(S.cfd);
		S.cfd = -1;
	}
	remove_files();
}

static int
all_sent(void)
{
	if (!sink_empty(&S.out))
		return (0);
	for (int i = 0; i < S.npeers; i++)
		if (S.peers[i].used && S.peers[i].up &&
		    S.peers[i].l.n_acked != S.peers[i].l.n_queued)
			return (0);
	return (1);
}

static noreturn void
finish(void)
{
	long long until = net_now_ms() + 1000;

	for (int i = 0; i < S.npeers; i++)
		if (S.peers[i].used) {
			peer_close_fd(&S.peers[i]);
			if (S.peers[i].pid > 0)
				kill(S.peers[i].pid, SIGTERM);
		}
	if (S.L.pid > 0)
		kill(S.L.pid, SIGTERM);
	/* The children go when their socket closes; wait a moment. */
	while (net_now_ms() < until) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid == -1)
			break;
		if (pid == 0) {
			struct timespec ts = {0, 10 * 1000000};

			nanosleep(&ts, NULL);
		}
	}
	remove_files();
	if (S.escaped)
		log_warnx(FMT_ESCAPED_WARNING);
	if (S.verbose)
		log_info("messages in %" PRIu64 " (local %" PRIu64 "), "
			 "forwarded %" PRIu64 ", delivered %" PRIu64
			 ", duplicates %" PRIu64 ", no route %" PRIu64
			 ", restarts %" PRIu64,
		    S.c_in, S.c_local_in, S.c_fwd, S.c_delivered, S.c_dup,
		    S.c_noroute, S.c_restarts);
	exit(0);
}

static void
make_instance(void)
{
	struct timespec ts;
	unsigned char r[2];

	clock_gettime(CLOCK_REALTIME, &ts);
	seal_random(r, sizeof(r));
	/* Time first, so that a later life sorts after an earlier one. */
	snprintf(S.inst, sizeof(S.inst), "%016llx%02x%02x",
	    (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000,
	    r[0], r[1]);
	/* Message ids too: a new life starts above the old one's. */
	S.next_id = ((uint64_t)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000) << 8;
}

/*
 * Ready once every peer of the command line was tried: up, or down for
 * now (its child keeps trying), so that a script that starts sending at
 * once finds the links that can be up.
 */
static int
fixed_reported(void)
{
	for (int i = 0; i < S.npeers; i++)
		if (S.peers[i].used && S.peers[i].fixed &&
		    !S.peers[i].reported && S.peers[i].pid > 0)
			return (0);
	return (1);
}

/* Node 0: this one. */
static void
self_node(void)
{
	S.nnodes = 1;
	snprintf(S.nodes[0].name, sizeof(S.nodes[0].name), "%s", S.me);
	S.nodes[0].namelen = strlen(S.me);
	snprintf(S.nodes[0].inst, sizeof(S.nodes[0].inst), "%s", S.inst);
	S.nodes[0].used = 1;
	S.nodes[0].via = -1;
}

/*
 * Everything the router allocates, at its size for -M, before it runs
 * (nothing per message later); standard output on outfd.  -1 ENOMEM.
 */
static int
state_init(int outfd)
{
	if ((S.pend = calloc(PEND_MAX, sizeof(*S.pend))) == NULL ||
	    (S.wq = calloc(WQ_MAX, sizeof(*S.wq))) == NULL ||
	    (S.msgbuf = malloc(S.msgbuf_len = S.maxmsg + 4096)) == NULL ||
	    (S.partbuf = malloc(S.maxmsg + FRAME_HDR_MAX + 1)) == NULL ||
	    link_init(&S.L.l, -1, LISTEN_FRAME_MAX, 0, 0) == -1 ||
	    link_init(&S.L.c, -1, LISTEN_FRAME_MAX, 0, 0) == -1 ||
	    buf_init(&S.in, IN_CHUNK, S.maxmsg + IN_CHUNK) == -1 ||
	    /* -j writes up to 6 bytes a byte of a message */
	    sink_init(&S.out, outfd, 0, 6 * (S.maxmsg + 128) + IN_CHUNK,
		4096) == -1)
		return (-1);
	S.out.term = S.fmt == FMT_NET ? -1 : S.json ? '\n' : fmt_term(S.fmt);
	return (0);
}

static void
run(void)
{
	for (;;) {
		long long now = net_now_ms(), next = -1;

		if (S.stopping && (all_sent() || now >= S.stop_deadline))
			finish();
		if (!S.stopping && S.L.fd == -1 && S.L.pid == 0 &&
		    now >= S.L.restart_at)
			listen_start();
		if (!S.stopping && S.L.pid == 0 &&
		    (next == -1 || S.L.restart_at < next))
			next = S.L.restart_at;
		if (!S.peers_started && S.L.bound[0]) {
			/* Now they can be told where we are. */
			S.peers_started = 1;
			for (int i = 0; i < S.nargpeers; i++)
				(void)peer_add(S.argpeers[i], 1);
		}
		if (!S.ready_done && S.L.bound[0] && fixed_reported()) {
			char line[2 * ADDR_STRLEN + 128];

			snprintf(line, sizeof(line), "%s\ncontrol unix:%s",
			    S.L.bound, S.ctlpath);
			if (S.ready && ready_write(S.ready, line) == -1)
				log_die(EX_OSERR, "ready file %s", S.ready);
			S.ready_done = 1;
			log_warnx("%s listening on %s", S.me, S.L.bound);
			S.nodes[0].seq = S.myseq;
		}
		for (int i = 0; i < S.npeers; i++) {
			struct peer *p = &S.peers[i];

			if (!p->used)
				continue;
			if (p->down_at) {
				if (now >= p->down_at)
					peer_down(p);
				else if (next == -1 || p->down_at < next)
					next = p->down_at;
			}
			if (!S.stopping && p->pid == 0 && p->fd == -1) {
				if (now >= p->restart_at)
					peer_start(i);
				else if (next == -1 || p->restart_at < next)
					next = p->restart_at;
			}
		}
		/* Frames that waited for room. */
		if (S.L.blocked && S.L.fd != -1)
			process_listen(&S.L.l, &S.L.blocked, &S.L.boff);
		if (S.L.cblocked && S.L.cfd != -1)
			process_listen(&S.L.c, &S.L.cblocked, &S.L.cboff);
		if (!S.in_eof || buf_len(&S.in) > 0)
			process_stdin();
		flush_stdout();
		flush_dones();
		for (int i = 0; i < S.npeers; i++) {
			struct peer *p = &S.peers[i];

			if (p->used && p->fd != -1) {
				lsa_flush(p); /* what waited for room */
				if (link_pending(&p->l) > 0)
					(void)link_flush(&p->l);
				loop_want(&S.loop, p->fd,
				    POLLIN |
					(link_pending(&p->l) ? POLLOUT : 0));
			}
		}
		if (S.L.fd != -1) {
			if (link_pending(&S.L.l) > 0)
				(void)link_flush(&S.L.l);
			loop_want(&S.loop, S.L.fd,
			    (S.L.blocked ? 0 : POLLIN) |
				(link_pending(&S.L.l) ? POLLOUT : 0));
		}
		if (S.L.cfd != -1)
			loop_want(&S.loop, S.L.cfd, S.L.cblocked ? 0 : POLLIN);
		if (!S.in_eof)
			loop_want(&S.loop, 0,
			    buf_len(&S.in) < IN_CHUNK ? POLLIN : 0);
		loop_want(&S.loop, 1, sink_empty(&S.out) ? 0 : POLLOUT);
		if ((S.L.blocked || S.L.cblocked) &&
		    (next == -1 || next > now + 10))
			next = now + 10;
		ctl_tick(now, &next);
		if (S.stopping && (next == -1 || S.stop_deadline < next))
			next = S.stop_deadline;
		if (loop_once(&S.loop,
			next == -1 ? -1 : (int)(next > now ? next - now : 0)) ==
		    -1)
			log_die(EX_OSERR, "poll");
	}
}

int
main(int argc, char *argv[])
{
	const char *ctl = NULL, *why;
	struct addr a;
	int ch, seen_A = 0, seen_l = 0, seen_M = 0, seen_n = 0, seen_P = 0,
		seen_Q = 0;

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	S.fmt = FMT_LINE;
	S.maxmsg = 16 * 1024 * 1024;
	S.listen = ":1601";
	while ((ch = getopt(argc, argv, "+0A:hjk:l:M:Nn:P:Q:qs:vV")) != -1) {
		switch (ch) {
		case '0':
		case 'N':
			opt_format(&S.fmt, ch);
			break;
		case 'A':
			opt_once(&seen_A, ch);
			if (addr_parse(optarg, 0, &a, &why) == -1)
				log_diex(EX_USAGE, "bad address %s: %s", optarg,
				    why);
			S.announce = optarg;
			break;
		case 'h':
			usage(0);
		case 'j':
			S.json = 1;
			break;
		case 'k':
			if (S.nkeys == 2)
				log_diex(EX_USAGE,
				    "option -k given more than "
				    "twice");
			S.keyfile[S.nkeys++] = optarg;
			break;
		case 'l':
			opt_once(&seen_l, ch);
			S.listen = optarg;
			break;
		case 'M':
			opt_once(&seen_M, ch);
			S.maxmsg = parse_size(optarg, 64, FRAME_LIMIT_MAX,
			    "message limit");
			break;
		case 'n':
			opt_once(&seen_n, ch);
			snprintf(S.me, sizeof(S.me), "%s", opt_node(optarg));
			break;
		case 'P':
			opt_once(&seen_P, ch);
			S.ready = optarg;
			break;
		case 'Q':
			opt_once(&seen_Q, ch);
			ctl = optarg;
			break;
		case 'q':
			log_level = 0;
			break;
		case 's':
			log_diex(EX_USAGE,
			    "-s: the Spread-compatible daemon is not "
			    "in this build");
		case 'v':
			log_level = 2;
			S.verbose = 1;
			break;
		case 'V':
			print_version();
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (ctl) {
		if (argc != 1)
			usage(EX_USAGE);
		if (strcmp(argv[0], "peers") != 0 &&
		    strcmp(argv[0], "routes") != 0 &&
		    strcmp(argv[0], "nodes") != 0 &&
		    strcmp(argv[0], "counters") != 0 &&
		    strcmp(argv[0], "dot") != 0)
			log_diex(EX_USAGE,
			    "unknown control command '%s' "
			    "(peers, routes, nodes, counters, dot)",
			    argv[0]);
		return (control_client(ctl, argv[0], S.json));
	}
	if (!S.me[0])
		log_diex(EX_USAGE, "-n NAME is required");
	if (S.json && S.fmt != FMT_LINE)
		log_diex(EX_USAGE, "-j and -0/-N are exclusive");
	if (addr_parse(S.listen, 1, &a, &why) == -1)
		log_diex(EX_USAGE, "bad address %s: %s", S.listen, why);
	if (a.kind == ADDR_UDP)
		log_diex(EX_USAGE, "%s: this build has no udp transport",
		    S.listen);
	for (int i = 0; i < argc; i++) {
		if (addr_parse(argv[i], 0, &a, &why) == -1)
			log_diex(EX_USAGE, "bad peer address %s: %s", argv[i],
			    why);
		if (a.kind == ADDR_UDP)
			log_diex(EX_USAGE,
			    "%s: this build has no udp "
			    "transport",
			    argv[i]);
	}
	if (argc > PEERS_MAX)
		log_diex(EX_USAGE, "too many peers (at most %d)", PEERS_MAX);
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	for (int k = 0; k < S.nkeys; k++) {
		unsigned char key[SEAL_KEYLEN];

		/* Checked here, so that a bad key is one clear error; the
		 * children read it themselves. */
		opt_key(S.keyfile[k], key, EX_NOINPUT, EX_CONFIG);
		seal_wipe(key, sizeof(key));
	}
	find_exe_dir();
	make_instance();
	self_node();
	S.myseq = 1;
	S.L.fd = S.L.cfd = -1;
	S.L.backoff = BACKOFF_MIN;
	S.cfd = -1;
	if (loop_init(&S.loop) == -1 || state_init(1) == -1)
		log_die(EX_OSERR, "memory");
	if (loop_signal(&S.loop, SIGCHLD, reap, NULL) == -1 ||
	    loop_signal(&S.loop, SIGTERM, stop, NULL) == -1 ||
	    loop_signal(&S.loop, SIGINT, stop, NULL) == -1 ||
	    loop_signal(&S.loop, SIGHUP, stop, NULL) == -1)
		log_die(EX_OSERR, "signals");
	control_open();
	listen_start();
	S.argpeers = argv;
	S.nargpeers = argc;
	sink_nonblock_std(0);
	loop_add(&S.loop, 0, POLLIN, on_stdin, NULL);
	sink_nonblock_std(1);
	loop_add(&S.loop, 1, 0, on_stdout, NULL);
	run();
}
