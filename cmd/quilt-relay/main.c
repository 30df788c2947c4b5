/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-relay: a node of a mesh (Quilt's QuiltServer, ProcessorThread and
 * QuiltProtocol as processes).  The router here is joined by socket pairs
 * to a quilt-listen child (the incoming side) and to one quilt-send child
 * per outgoing peer; the children speak the framing, the router routes.
 * It holds every frame a next hop has not acknowledged, so a child that
 * dies loses nothing: it is started again and the frames are sent again
 * (the destination drops duplicates by message id).  relay.h names the
 * rooms of the router; this one holds the options, the set-up, the loop,
 * the signals and the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>

#include "addr.h"
#include "alive.h"
#include "children.h"
#include "clients.h"
#include "conns.h"
#include "control.h"
#include "discover.h"
#include "e2e.h"
#include "flood.h"
#include "hello.h"
#include "forward.h"
#include "hops.h"
#include "local.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "opt.h"
#include "proc.h"
#include "ping.h"
#include "reader.h"
#include "ready.h"
#include "sd_io.h"
#include "sd_view.h"
#include "sd_order.h"
#include "seal.h"
#include "service.h"

#define STOP_MS 2000

struct conf conf;
struct counters ctr;
struct loop loop;

/* Long-only options of quilt-relay. */
enum { OPT_ALLOW = OPT_PROG, OPT_DENY };

static struct {
	int stopping;
	long long stop_deadline;
	int ready_done;
	char **argpeers; /* started once we listen: they learn where */
	int nargpeers, peers_started;
} M;

/* clang-format off */
static const struct opt options[] = {
	{'0', "null", NULL, "messages end with NUL, not newline"},
	{'A', "announce", "address", "the address other relays reach us at"},
	{'D', "discover", "mesh", "find the relays of MESH here by DNS-SD (Avahi)"},
	{'j', "json", NULL, "JSON lines (output, -Q answers)"},
	{'k', "key", "keyfile", "seal every link with the key in KEYFILE (twice: either)"},
	{'l', "listen", "address", "where to listen (default :1601)"},
	{'M', "max-size", "size", "the largest message taken (K, M, G; default 16M)"},
	{'N', "netstring", NULL, "messages are netstrings of parts"},
	{'n', "node", "name", "the node name of this relay; required"},
	{'P', "ready-file", "file", "write the addresses to FILE once listening"},
	{'Q', "query", "control", "ask the relay whose control socket is CONTROL"},
	{'q', "quiet", NULL, "only fatal errors on stderr"},
	{'s', "spread", "port", "serve Spread clients on PORT too"},
	{'v', "verbose", NULL, "links, routes and counters on stderr"},
	{'W', "dead-time", "seconds", "a neighbour silent this long is dead (default 3)"},
	{OPT_ALLOW, "allow", "prefix", "accept only peers in PREFIX (and other --allow)"},
	{OPT_DENY, "deny", "prefix", "refuse peers in PREFIX, whatever --allow says"},
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: quilt-relay [-0NjqvV] [-A address] [-D mesh] [-k keyfile] [-l address] [-M size] [-P file] [-s port] [-W seconds] -n name [peer ...]\n"
	"       quilt-relay [-j] -Q control command",
	options, EX_USAGE,
};
/* clang-format on */

static void
remove_files(void)
{
	if (conf.ready && M.ready_done)
		proc_remove(conf.ready);
	control_close();
	if (conf.spread)
		sd_close();
}

static void
on_stdin(void *arg, int fd, int revents)
{
	if (local_read() == 0)
		loop_del(&loop, 0);
}

static void
flush_stdout(void)
{
	if (local_flush(e2e_written) == -1 && errno != EAGAIN) {
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

static void
reap(void *arg, int sig)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (!(conf.mesh && discover_reaped(pid, st)) &&
		    children_reaped(pid, st, M.stopping) == REAPED_LISTEN_NEVER)
			log_diex(EX_OSERR,
			    "quilt-listen could not listen on %s", conf.listen);
}

/* SIGUSR1, as dd: the counters on stderr, and go on. */
static void
on_usr1(void *arg, int sig)
{
	control_say_counters(log_say);
}

static void
stop(void *arg, int sig)
{
	if (M.stopping) {
		remove_files();
		proc_remove_all();
		_exit(1);
	}
	M.stopping = 1;
	M.stop_deadline = net_now_ms() + STOP_MS;
	(void)service_notify("STOPPING=1");
	/* Withdrawn from the network first. */
	if (conf.mesh)
		discover_stop();
	/* No more in: the listen child goes first (and the hellos). */
	listen_closed();
	hello_close();
	remove_files();
}

static noreturn void
finish(void)
{
	long long until = net_now_ms() + 1000;

	children_stop();
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
	if (LO.escaped)
		log_warnx(FMT_ESCAPED_WARNING);
	if (conf.verbose)
		log_info("messages in %" PRIu64 " (local %" PRIu64
			 "), forwarded %" PRIu64 ", delivered %" PRIu64
			 ", duplicates %" PRIu64 ", no route %" PRIu64
			 ", restarts %" PRIu64,
		    ctr.in, ctr.local_in, ctr.fwd, ctr.delivered, ctr.dup,
		    ctr.noroute, ctr.restarts);
	exit(0);
}

/* Time first, so that a later life sorts after an earlier one; our
 * message ids start above the last life's too.  The first id. */
static uint64_t
make_instance(void)
{
	struct timespec ts;
	unsigned char r[2];
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	seal_random(r, sizeof(r));
	us = (uint64_t)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
	snprintf(conf.inst, sizeof(conf.inst), "%016llx%02x%02x",
	    (unsigned long long)us, r[0], r[1]);
	return (us << 8);
}

/*
 * The link state's refresh interval and maximum age, from the environment
 * (quilt-relay(1), ENVIRONMENT): seconds, fractions allowed.
 */
static void
intervals(void)
{
	const char *r = getenv("QUILT_RELAY_REFRESH");
	const char *m = getenv("QUILT_RELAY_MAXAGE");
	long long refresh = LS_REFRESH_DEF, maxage;

	if (r != NULL && *r != '\0')
		refresh = parse_ms(r, LS_REFRESH_MIN, LS_REFRESH_MAX,
		    "QUILT_RELAY_REFRESH");
	maxage = refresh * LS_MAXAGE_FACTOR;
	if (maxage > LS_MAXAGE_MAX)
		maxage = LS_MAXAGE_MAX;
	if (m != NULL && *m != '\0')
		maxage = parse_ms(m, 2 * refresh, LS_MAXAGE_MAX,
		    "QUILT_RELAY_MAXAGE (at least twice the refresh)");
	ls_intervals(refresh, maxage);
}

/*
 * Ready once every peer of the command line was tried: up, or down for
 * now (its child keeps trying), so that a script that starts sending at
 * once finds the links that can be up.
 */
static int
fixed_reported(void)
{
	for (int i = 0; i < H.n; i++)
		if (H.p[i].used && H.p[i].fixed && !H.p[i].reported &&
		    H.p[i].pid > 0)
			return (0);
	return (1);
}

static void
ready(void)
{
	char line[2 * ADDR_STRLEN + 128];

	if (conf.spread)
		snprintf(line, sizeof(line), "%s\ncontrol unix:%s\nspread %d",
		    L.bound, ctl_path, sd_port);
	else
		snprintf(line, sizeof(line), "%s\ncontrol unix:%s", L.bound,
		    ctl_path);
	if (conf.ready && ready_write(conf.ready, line) == -1)
		log_die(EX_OSERR, "ready file %s", conf.ready);
	M.ready_done = 1;
	if (service_notify("READY=1") == -1)
		log_warn("NOTIFY_SOCKET");
	log_warnx("%s listening on %s", conf.me, L.bound);
}

static noreturn void
run(void)
{
	for (;;) {
		long long now = net_now_ms(), next = -1;
		int timeout, looked;

		if (M.stopping &&
		    ((sink_empty(&LO.out) && hops_idle()) ||
			now >= M.stop_deadline))
			finish();
		if (!M.stopping) {
			children_tick(now, &next);
			lsa_tick(now, &next);
		}
		looked = alive_due(now);
		if (looked)
			hello_drain();
		hello_tick(alive_tick(now, &next), looked);
		if (!M.peers_started && L.bound[0]) {
			/* Now they can be told where we are. */
			M.peers_started = 1;
			hello_open();
			for (int i = 0; i < M.nargpeers; i++)
				(void)peer_add(M.argpeers[i], 1);
			if (conf.mesh)
				discover_start();
		}
		if (!M.ready_done && L.bound[0] && fixed_reported())
			ready();
		for (int i = 0; i < H.n; i++) {
			struct peer *p = &H.p[i];

			if (!p->used || !p->down_at)
				continue;
			if (now >= p->down_at)
				peer_down(p);
			else if (next == -1 || p->down_at < next)
				next = p->down_at;
		}
		/* Frames that waited for room. */
		if (L.blocked && L.fd != -1)
			process_listen(&L.l);
		if (L.cblocked && L.cfd != -1)
			process_listen(&L.c);
		if (!LO.in_eof || buf_len(&LO.in) > 0)
			clients_stdin();
		flush_stdout();
		e2e_flush();
		/* The Spread daemon's timers and sessions: what it queues to
		 * the next hops goes out with the rest, just below. */
		if (conf.spread)
			sd_tick(now, &next);
		if (conf.mesh && !M.stopping)
			discover_tick(now, &next);
		for (int i = 0; i < H.n; i++) {
			struct peer *p = &H.p[i];

			if (!p->used || p->fd == -1)
				continue;
			lsa_flush(p); /* what waited for room */
			if (link_pending(&p->l) > 0)
				(void)link_flush(&p->l);
			loop_want(&loop, p->fd,
			    POLLIN | (link_pending(&p->l) ? POLLOUT : 0));
		}
		if (L.fd != -1) {
			if (link_pending(&L.l) > 0)
				(void)link_flush(&L.l);
			loop_want(&loop, L.fd,
			    (L.blocked ? 0 : POLLIN) |
				(link_pending(&L.l) ? POLLOUT : 0));
		}
		if (L.cfd != -1)
			loop_want(&loop, L.cfd, L.cblocked ? 0 : POLLIN);
		if (!LO.in_eof)
			loop_want(&loop, 0,
			    buf_len(&LO.in) < IN_CHUNK ? POLLIN : 0);
		loop_want(&loop, 1, sink_empty(&LO.out) ? 0 : POLLOUT);
		if ((L.blocked || L.cblocked) &&
		    (next == -1 || next > now + 10))
			next = now + 10;
		control_tick(now, &next);
		if (M.stopping && (next == -1 || M.stop_deadline < next))
			next = M.stop_deadline;
		timeout = next == -1 ? -1 : (int)(next > now ? next - now : 0);
		alive_poll(L.fd != -1 && !L.blocked, timeout);
		if (loop_once(&loop, timeout) == -1)
			log_die(EX_OSERR, "poll");
	}
}

static int
is_control_command(const char *s)
{
	static const char *const cmds[] = {"peers", "routes", "nodes",
	    "counters", "dot", "groups"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(s, cmds[i]) == 0)
			return (1);
	return (0);
}

int
main(int argc, char *argv[])
{
	const char *ctl = NULL, *why;
	struct addr a;
	struct acl acl;
	int lfd, ch, seen_A = 0, seen_D = 0, seen_l = 0, seen_M = 0, seen_n = 0,
		     seen_P = 0, seen_Q = 0, seen_s = 0, seen_W = 0;
	/* Before anything is opened: no socket of ours on fd 0, 1 or 2. */
	int stdclosed = proc_std();

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(EX_OSERR, "/dev/null");
	signal(SIGPIPE, SIG_IGN);
	conf.fmt = FMT_LINE;
	conf.maxmsg = 16 * 1024 * 1024;
	conf.listen = ":1601";
	conf.wait_ms = ALIVE_WAIT_MS;
	memset(&acl, 0, sizeof(acl));
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
		switch (ch) {
		case OPT_ALLOW:
		case OPT_DENY:
			/* Checked here; the listen child applies them. */
			if (acl_add(&acl, ch == OPT_DENY, optarg, &why) == -1)
				opt_usage("%s %s: %s", opt_cur, optarg, why);
			conf.acl[conf.nacl++] = ch == OPT_DENY ? "--deny" :
								 "--allow";
			conf.acl[conf.nacl++] = optarg;
			break;
		case '0':
		case 'N':
			opt_format(&conf.fmt, ch);
			break;
		case 'A':
			opt_once(&seen_A, ch);
			if (addr_parse(optarg, 0, &a, &why) == -1)
				opt_usage("bad address %s: %s", optarg, why);
			conf.announce = optarg;
			break;
		case 'D':
			opt_once(&seen_D, ch);
			if (!discover_mesh_ok(optarg))
				opt_usage(
				    "bad mesh name: %s (want 1 to 64 of A-Z a-z 0-9 . _ -, not \"all\")",
				    optarg);
			conf.mesh = optarg;
			break;
		case 'j':
			conf.json = 1;
			break;
		case 'k':
			if (conf.nkeys == 2)
				opt_usage("option %s given more than twice",
				    opt_cur);
			conf.keyfile[conf.nkeys++] = optarg;
			break;
		case 'l':
			opt_once(&seen_l, ch);
			conf.listen = optarg;
			break;
		case 'M':
			opt_once(&seen_M, ch);
			conf.maxmsg = parse_size(optarg, 64, FRAME_LIMIT_MAX,
			    "message limit");
			break;
		case 'n':
			opt_once(&seen_n, ch);
			snprintf(conf.me, sizeof(conf.me), "%s",
			    opt_node(optarg));
			conf.melen = strlen(conf.me);
			break;
		case 'P':
			opt_once(&seen_P, ch);
			conf.ready = optarg;
			break;
		case 'Q':
			opt_once(&seen_Q, ch);
			ctl = optarg;
			break;
		case 'q':
			log_level = 0;
			break;
		case 's':
			opt_once(&seen_s, ch);
			conf.spread = optarg;
			break;
		case 'v':
			log_level = 2;
			conf.verbose = 1;
			break;
		case 'W':
			opt_once(&seen_W, ch);
			conf.wait_ms = parse_ms(optarg, ALIVE_WAIT_MIN,
			    ALIVE_WAIT_MAX, "dead time");
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	/* Messages for this node (or -Q's answer) go there; a closed
	 * standard input is only no local messages. */
	if (stdclosed & PROC_STDOUT)
		log_diex(EX_IOERR, "standard output is closed");
	if (ctl) {
		if (argc < 1)
			opt_usage("missing the control command operand");
		if (argc > 1)
			opt_extra(argv[1]);
		if (!is_control_command(argv[0]))
			opt_usage(
			    "unknown control command '%s' (peers, routes, nodes, counters, dot, groups)",
			    argv[0]);
		return (control_client(ctl, argv[0], conf.json));
	}
	if (!conf.me[0])
		opt_usage("-n NAME is required");
	if (conf.json && conf.fmt != FMT_LINE)
		opt_usage("-j and -0/-N are exclusive");
	/* systemd's: for us, not for the children. */
	if (service_notify_init(&why) == -1)
		log_warnx("%s: not telling the service manager we are ready",
		    why);
	switch (service_listen_fd(&lfd, 0, &why)) {
	case -1:
		log_diex(EX_USAGE, "socket activation: %s", why);
	case 1:
		if (seen_l)
			opt_usage(
			    "-l and a socket from systemd (LISTEN_FDS) are exclusive");
		/* Above the fds a child is given (0, 1, 3, 4). */
		{
			int high = fcntl(lfd, F_DUPFD_CLOEXEC, 10);

			if (high == -1)
				log_die(EX_OSERR, "LISTEN_FDS");
			close(lfd);
			lfd = high;
		}
		break;
	}
	if (addr_parse(conf.listen, 1, &a, &why) == -1)
		opt_usage("bad address %s: %s", conf.listen, why);
	if (conf.mesh && a.kind != ADDR_TCP)
		opt_usage(
		    "-D: %s: discovery publishes a TCP port, not a Unix socket",
		    conf.listen);
	for (int i = 0; i < argc; i++) {
		if (addr_parse(argv[i], 0, &a, &why) == -1)
			opt_usage("bad peer address %s: %s", argv[i], why);
	}
	if (argc > PEERS_MAX)
		opt_usage("too many peers (at most %d)", PEERS_MAX);
	if (conf.spread && conf.melen > SPREAD_MAX_PROC)
		opt_usage(
		    "-s: the node name %s is longer than a Spread daemon's name may be (%d)",
		    conf.me, SPREAD_MAX_PROC);
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	{
		unsigned char key[2][SEAL_KEYLEN];

		/* Checked here, so that a bad key is one clear error; the
		 * children read it themselves; the hellos' MAC key is
		 * derived from it. */
		for (int k = 0; k < conf.nkeys; k++)
			opt_key(conf.keyfile[k], key[k], EX_NOINPUT, EX_CONFIG);
		if (hello_init(key, conf.nkeys) == -1)
			log_die(EX_OSERR, "memory");
		seal_wipe(key, sizeof(key));
	}
	/* Everything the router allocates, at its size for -M, before it
	 * runs: nothing per message later. */
	nodes_init(conf.me);
	conns_init();
	if (loop_init(&loop) == -1 || e2e_init(make_instance()) == -1 ||
	    local_init(1) == -1 || clients_init() == -1 || ping_init() == -1 ||
	    children_init(on_listen_child, on_peer) == -1)
		log_die(EX_OSERR, "memory");
	L.lfd = lfd;
	ls_init(conf.inst);
	intervals();
	flood_init();
	alive_init(conf.wait_ms);
	{
		char ms[24];

		/* For our quilt-send children (quilt-relay(1), KEEP-ALIVES). */
		snprintf(ms, sizeof(ms), "%lld", conf.wait_ms);
		if (setenv("QUILT_TCP_USER_TIMEOUT", ms, 1) == -1)
			log_die(EX_OSERR, "setenv");
	}
	if (loop_signal(&loop, SIGCHLD, reap, NULL) == -1 ||
	    loop_signal(&loop, SIGTERM, stop, NULL) == -1 ||
	    loop_signal(&loop, SIGINT, stop, NULL) == -1 ||
	    loop_signal(&loop, SIGHUP, stop, NULL) == -1 ||
	    loop_signal(&loop, SIGUSR1, on_usr1, NULL) == -1)
		log_die(EX_OSERR, "signals");
	if (control_open(&why) == -1)
		log_diex(EX_OSERR, "control socket %s: %s", ctl_path, why);
	if (conf.spread) {
		const char *why;

		if (order_init() == -1)
			log_die(EX_OSERR, "memory");
		view_init();
		if (sd_open(conf.spread, &why) == -1)
			log_diex(errno == EINVAL ? EX_USAGE : EX_OSERR,
			    "-s %s: %s", conf.spread, why);
		fwd_spread_in = view_in;
	}
	listen_start();
	M.argpeers = argv;
	M.nargpeers = argc;
	sink_nonblock_std(0);
	loop_add(&loop, 0, POLLIN, on_stdin, NULL);
	sink_nonblock_std(1);
	loop_add(&loop, 1, 0, on_stdout, NULL);
	run();
}
