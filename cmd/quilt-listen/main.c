/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen: accept quilt senders and write what they send to standard
 * output, acknowledging each message once write(2) has taken it (Quilt's
 * IncomingThread); with -e, one handler process per connection (Kamaelia's
 * ConnectedServer, as tcpserver does it); with -R, plain byte streams;
 * with -C, the incoming side of quilt-relay.  This file: options, set-up,
 * the loop, signals and the exit status; listen.h names the others.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmsg.h"
#include "listen.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "proc.h"
#include "ready.h"
#include "seal.h"
#include "service.h"

/* What main.c holds: the listening socket, standard output, the loop. */
static struct {
	struct opts o;
	struct loop loop;
	int lfd;
	struct addr a;
	char bound[ADDR_STRLEN];
	struct sockaddr_storage la; /* what was bound */
	socklen_t lalen;
	struct sink out; /* standard output */
	struct conns cs;
	struct server_table sess;
	struct server_conf hs;
	unsigned char keys[SERVER_KEYS][SEAL_KEYLEN];
	struct child child; /* -C */
	struct udpl udp; /* udp: */
	int warned_escape;
	int inherited; /* the socket was given to us: not ours to remove */
	long long drain_deadline;
} L;

/* Long-only options of quilt-listen. */
enum { OPT_ALLOW = OPT_PROG, OPT_DENY, OPT_LISTEN_FD };

/* clang-format off */
static const struct opt options[] = {
	{'0', "null", NULL, "messages end with NUL, not newline"},
	{'b', "backlog", "backlog", "the listen backlog (default 20)"},
	{'C', "child", "instance", NULL}, /* quilt-relay's child mode */
	{'c', "max-conns", "maxconn", "the most connections at once (default 40)"},
	{'e', "exec", "command", "run COMMAND (sh -c) for each connection"},
	{'i', "idle", "seconds", "close a connection quiet for SECONDS (default 60; 0: never)"},
	{'j', "json", NULL, "JSON lines: each message with its connection; a summary"},
	{'k', "key", "keyfile", "seal connections with the key in KEYFILE (twice: either)"},
	{'M', "max-size", "size", "the largest message taken (K, M, G; default 16M)"},
	{'N', "netstring", NULL, "messages are netstrings of parts"},
	{'n', "node", "node", "our node name"},
	{'P', "ready-file", "file", "write the bound address to FILE once listening"},
	{'q', "quiet", NULL, "only fatal errors on stderr"},
	{'R', "raw", NULL, "plain byte streams, no quilt protocol"},
	{'v', "verbose", NULL, "connections and counters on stderr"},
	{OPT_ALLOW, "allow", "prefix", "accept only peers in PREFIX (and other --allow)"},
	{OPT_DENY, "deny", "prefix", "refuse peers in PREFIX, whatever --allow says"},
	{OPT_LISTEN_FD, "listen-fd", "fd", NULL}, /* quilt-relay's socket */
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: quilt-listen [-0jNqRvV] [-b backlog] [-c maxconn] [-e command] [-i seconds] [-k keyfile] [-M size] [-n node] [-P file] [address]",
	options, EX_USAGE,
};
/* clang-format on */

static long long
env_ms(const char *name, long long def)
{
	const char *e = getenv(name);
	long long v = e ? atoll(e) : 0;

	return (v > 0 ? v : def);
}

static void
flush_out(void)
{
	if (L.o.child && child_flush(&L.child, conn_written, &L.cs) == -1)
		exit(0); /* the router is gone */
	if (sink_flush(&L.out, conn_written, &L.cs) == -1 && errno != EAGAIN) {
		if (errno == EPIPE)
			log_diex(EX_IOERR, "stdout: the reader went away");
		log_die(EX_IOERR, "stdout");
	}
}

static void
on_stdout(void *arg, int fd, int revents)
{
	flush_out();
}

static void
on_accept(void *arg, int fd, int revents)
{
	conns_accept(&L.cs, fd);
}

/* -C: what the router says; a frame cmsg does not take is fatal. */
static void
on_router(void *arg, int fd, int revents)
{
	struct cmsg m;
	ssize_t f;

	if (!child_read(&L.child))
		exit(0); /* the router is gone: so are we */
	while ((f = child_next(&L.child, &m)) > 0) {
		conns_router(&L.cs, &m);
		child_take(&L.child, f);
	}
	if (f == -1)
		log_diex(EX_SOFTWARE, "a malformed frame from the router");
}

static void
reap(void *arg, int sig)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		conns_reaped(&L.cs, pid, st);
}

/* The ready file and our Unix socket (they go at exit in any case). */
static void
remove_files(void)
{
	proc_remove(L.o.ready);
	if (L.a.kind == ADDR_UNIX)
		proc_remove(L.a.path);
}

/* SIGTERM, SIGINT, SIGHUP: stop accepting, finish; a second: now. */
static void
stop(void *arg, int sig)
{
	if (L.cs.stopping) {
		proc_remove_all();
		_exit(1);
	}
	L.drain_deadline = net_now_ms() +
	    env_ms("QUILT_DRAIN_TIMEOUT", DRAIN_TIMEOUT_MS);
	log_info("stopping: writing what was received");
	(void)service_notify("STOPPING=1");
	if (L.a.kind == ADDR_UDP) {
		/* The socket stays: its connections end on it. */
		udpl_stop(&L.udp);
		if (L.o.ready)
			unlink(L.o.ready);
	} else if (L.lfd != -1) {
		loop_del(&L.loop, L.lfd);
		close(L.lfd);
		remove_files();
		L.lfd = -1;
	}
	conns_stop(&L.cs);
}

/* The counters, on stderr (SIGUSR1, as dd does; -v at the end). */
static void
counters(void (*say)(const char *, ...))
{
	/* clang-format off */
	say("%" PRIu64 " connection%s (%d open), %" PRIu64 " message%s received (%" PRIu64 " bytes of output), %" PRIu64 " written",
	    L.cs.ctr.conns, L.cs.ctr.conns == 1 ? "" : "s", L.cs.nlive,
	    L.cs.ctr.messages, L.cs.ctr.messages == 1 ? "" : "s",
	    L.cs.ctr.bytes, L.cs.ctr.written);
	/* clang-format on */
	if (L.a.kind == ADDR_UDP)
		udpl_counters(&L.udp, say);
}

static void
on_usr1(void *arg, int sig)
{
	counters(log_say);
}

/*
 * -j, at the end: the summary as the last line of standard output, once
 * everything before it is written (bounded by the drain deadline).
 */
static void
json_summary(void)
{
	char line[512], udp[256] = "";
	int n;
	char *w;

	/* over udp:, what the listener did with requests, as -v says it */
	if (L.a.kind == ADDR_UDP) {
		memcpy(udp, ",\"udp\":", 7);
		udpl_counters_json(&L.udp, udp + 7, sizeof(udp) - 7);
	}
	/* clang-format off */
	n = snprintf(line, sizeof(line),
	    "{\"kind\":\"summary\",\"connections\":%" PRIu64 ",\"messages\":%" PRIu64 ",\"output_bytes\":%" PRIu64 ",\"written\":%" PRIu64 "%s}\n",
	    L.cs.ctr.conns, L.cs.ctr.messages, L.cs.ctr.bytes,
	    L.cs.ctr.written, udp);
	/* clang-format on */
	if ((w = sink_reserve(&L.out, n)) == NULL)
		return;
	memcpy(w, line, n);
	sink_commit(&L.out, n);
	while (!sink_empty(&L.out)) {
		struct pollfd pfd = {.fd = 1, .events = POLLOUT};

		flush_out();
		if (!sink_empty(&L.out) && net_now_ms() >= L.drain_deadline)
			return;
		(void)poll(&pfd, 1, 100);
	}
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_UNIX)
		return (1);
	if (ss->ss_family == AF_INET)
		return (
		    (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >>
			24) == 127);
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)
						->sin6_addr;

		return (IN6_IS_ADDR_LOOPBACK(a) ||
		    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127));
	}
	return (0);
}

static int
all_done(void)
{
	return (sink_empty(&L.out) &&
	    (!L.o.child || sink_empty(&L.child.cout)) && conns_empty(&L.cs) &&
	    (L.a.kind != ADDR_UDP || udpl_empty(&L.udp)));
}

/*
 * Stopping, past the drain deadline: handlers are told to go, and what
 * standard output has not taken is not acknowledged.
 */
static void
drain_expired(void)
{
	int handlers = conns_kill_handlers(&L.cs);

	/* clang-format off */
	if (handlers)
		log_warnx("stopping: drain deadline passed; %d handler%s still running sent SIGTERM",
		    handlers, handlers == 1 ? "" : "s");
	if (!sink_empty(&L.out))
		log_warnx("stopping: drain deadline passed with standard output blocked; what is unwritten is not acknowledged");
	/* clang-format on */
}

static int
run(void)
{
	for (;;) {
		long long now = net_now_ms(), next;

		flush_out();
		next = conns_tick(&L.cs, now);
		if (L.a.kind == ADDR_UDP) {
			long long u = udpl_tick(&L.udp, now);

			if (u != -1 && (next == -1 || u < next))
				next = u;
		}
		if (L.cs.stopping) {
			if (all_done())
				return (0);
			if (now >= L.drain_deadline) {
				drain_expired();
				return (0);
			}
			if (next == -1 || L.drain_deadline < next)
				next = L.drain_deadline;
		}
		if (L.lfd != -1 && L.a.kind != ADDR_UDP)
			loop_want(&L.loop, L.lfd,
			    conns_room(&L.cs, now) ? POLLIN : 0);
		loop_want(&L.loop, 1, sink_empty(&L.out) ? 0 : POLLOUT);
		if (L.o.child)
			loop_want(&L.loop, 3,
			    sink_empty(&L.child.cout) ? 0 : POLLOUT);
		if (L.cs.escaped && !L.warned_escape) {
			log_warnx(FMT_ESCAPED_WARNING);
			L.warned_escape = 1;
		}
		if (loop_once(&L.loop,
			next == -1 ? -1 : (int)(next > now ? next - now : 0)) ==
		    -1)
			log_die(EX_OSERR, "poll");
	}
}

/*
 * L.bound: where L.lfd, an IP socket of L.a.kind, is bound (at ss), in the
 * syntax quilt-send takes: ":PORT" (or "udp::PORT") on every address.
 */
static void
say_bound(const struct sockaddr_storage *ss, socklen_t sslen, int any)
{
	const char *pre = L.a.kind == ADDR_UDP ? "udp:" : "";
	char a[ADDR_STRLEN];
	unsigned port;

	if (any) {
		addr_host_port((const struct sockaddr *)ss, sslen, a, sizeof(a),
		    &port);
		snprintf(L.bound, sizeof(L.bound), "%s:%u", pre, port);
	} else {
		addr_str(a, (const struct sockaddr *)ss, sslen);
		snprintf(L.bound, sizeof(L.bound), "%s%.150s", pre, a);
	}
}

/*
 * The socket systemd (LISTEN_FDS) or quilt-relay (--listen-fd) gave us, in
 * L.lfd: where it is bound, as bind_listener says it.
 */
static void
inherited_listener(struct sockaddr_storage *ss)
{
	socklen_t sslen = sizeof(*ss), tlen = sizeof(int);
	int type = SOCK_STREAM;
	char host[128];
	unsigned port;

	L.inherited = 1;
	if (getsockname(L.lfd, (struct sockaddr *)ss, &sslen) == -1 ||
	    getsockopt(L.lfd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1)
		log_die(EX_OSERR, "getsockname");
	L.lalen = sslen;
	if (ss->ss_family == AF_UNIX) {
		L.a.kind = ADDR_UNIX;
		snprintf(L.bound, sizeof(L.bound), "unix:%s",
		    ((struct sockaddr_un *)ss)->sun_path);
		return;
	}
	/* A datagram socket (service_take_fd took only a UDP one): udp:. */
	L.a.kind = type == SOCK_DGRAM ? ADDR_UDP : ADDR_TCP;
	addr_host_port((struct sockaddr *)ss, sslen, host, sizeof(host), &port);
	say_bound(ss, sslen,
	    strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0);
}

/* Bind, and say where: S.bound in the syntax quilt-send takes. */
static void
bind_listener(const char *addrarg, struct sockaddr_storage *ss)
{
	socklen_t sslen;
	int gai;

	if (L.lfd != -1) {
		inherited_listener(ss);
		return;
	}
	L.lfd = net_listen(&L.a,
	    L.a.kind == ADDR_UDP ? SOCK_DGRAM : SOCK_STREAM, L.o.backlog, ss,
	    &sslen, &gai);
	if (L.lfd == -1) {
		if (gai != 0)
			log_diex(EX_NOHOST, "resolve %s: %s", L.a.host,
			    gai_strerror(gai));
		/* clang-format off */
		if (L.a.kind == ADDR_UNIX && errno == EADDRINUSE)
			log_diex(EX_OSERR, "bind %s: Address already in use: a live listener answers there, or the file is not a socket",
			    addrarg);
		/* clang-format on */
		log_die(EX_OSERR, "bind %s", addrarg);
	}
	if (L.a.kind == ADDR_UNIX) {
		if (proc_own(L.a.path) == -1)
			log_die(EX_OSERR, "%s", L.a.path);
		snprintf(L.bound, sizeof(L.bound), "unix:%s", L.a.path);
	} else {
		say_bound(ss, sslen, L.a.host[0] == '\0');
	}
	L.lalen = sslen;
}

/*
 * Every connection, handler pipe and pool entry is a descriptor: raise
 * the soft limit toward what -c may need (as far as the hard one allows).
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t need = 4 * (rlim_t)L.o.maxconn +
	    (L.o.raw ? 0 : 2 * conns_pool_size(L.o.maxconn)) + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
	    need :
	    rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Keys, what the handshake says of us, the tables: before the loop. */
static void
setup(void)
{
	const struct opts *o = &L.o;
	size_t nsess = SESS_MAX + o->maxconn +
	    (o->raw ? 0 : conns_pool_size(o->maxconn));

	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	for (int k = 0; k < o->nkeys; k++) {
		opt_key(o->keyfile[k], L.keys[k], EX_NOINPUT, EX_CONFIG);
		L.hs.key[k] = L.keys[k];
	}
	L.hs.nkeys = o->nkeys;
	memcpy(L.hs.node, o->node, sizeof(L.hs.node));
	L.hs.maxmsg = o->maxmsg;
	L.hs.handler = o->cmd != NULL;
	L.hs.idle = o->idle_ms;
	if (o->child)
		snprintf(L.hs.relay, sizeof(L.hs.relay), "%s", o->child);
	L.cs.o = o;
	L.cs.loop = &L.loop;
	L.cs.out = &L.out;
	L.cs.sess = &L.sess;
	L.cs.hs = &L.hs;
	L.cs.bound = L.bound;
	L.cs.hello_ms = env_ms("QUILT_HELLO_TIMEOUT", HELLO_TIMEOUT_MS);
	raise_nofile();
	/* Everything that can fail for want of resources, before the loop.
	 * The session table has room for every connection that can be open
	 * or waiting, and SESS_MAX more, idle, for resumes. */
	if (conns_init(&L.cs) == -1 ||
	    server_table_init(&L.sess, nsess, SESS_AGE_MS) == -1 ||
	    sink_init(&L.out, 1, 0,
		(o->json ? fmt_json_bound(o->maxmsg) + JSON_HEAD :
			   fmt_bound(o->maxmsg)) +
		    OUT_CHUNK,
		MARKS) == -1 ||
	    loop_init(&L.loop) == -1)
		log_die(EX_OSERR, "memory");
}

/* The loop's fds and signals, once bound. */
static void
start(void)
{
	const struct opts *o = &L.o;

	if (L.a.kind == ADDR_UDP &&
	    (udpl_init(&L.udp, &L.cs, L.lfd, &L.la, L.lalen) == -1 ||
		loop_add(&L.loop, L.lfd, POLLIN, udpl_event, &L.udp) == -1))
		log_die(EX_OSERR, "udp");
	if (L.a.kind != ADDR_UDP &&
	    loop_add(&L.loop, L.lfd, POLLIN, on_accept, NULL) == -1)
		log_die(EX_OSERR, "setup");
	if (loop_signal(&L.loop, SIGCHLD, reap, NULL) == -1 ||
	    loop_signal(&L.loop, SIGTERM, stop, NULL) == -1 ||
	    loop_signal(&L.loop, SIGINT, stop, NULL) == -1 ||
	    loop_signal(&L.loop, SIGHUP, stop, NULL) == -1 ||
	    loop_signal(&L.loop, SIGUSR1, on_usr1, NULL) == -1)
		log_die(EX_OSERR, "setup");
	L.out.term = o->raw || o->child ? -1 : fmt_term(o->fmt);
	sink_nonblock_std(1);
	loop_add(&L.loop, 1, 0, on_stdout, NULL);
	if (o->child) {
		/* Standard input and output are one socket pair to the
		 * router: what it says comes in on 0, and its end is ours. */
		if (child_init(&L.child, &L.out, o->maxmsg, &L.cs.serial) ==
			-1 ||
		    loop_add(&L.loop, 0, POLLIN, on_router, NULL) == -1 ||
		    loop_add(&L.loop, 3, 0, on_stdout, NULL) == -1)
			log_die(EX_OSERR, "memory");
		L.cs.child = &L.child;
		child_listening(&L.child, L.bound);
	}
}

int
main(int argc, char *argv[])
{
	struct opts *o = &L.o;
	struct sockaddr_storage ss;
	const char *why, *addrarg = ":1601";
	int ch, seen_b = 0, seen_c = 0, seen_e = 0, seen_i = 0, seen_M = 0,
		seen_n = 0, seen_P = 0;
	/* Before anything is opened: no socket of ours on fd 0, 1 or 2. */
	int stdclosed = proc_std();
	int seen_fd = 0;

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(EX_OSERR, "/dev/null");
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	o->fmt = FMT_LINE;
	o->backlog = 20;
	o->maxconn = 40;
	o->idle_ms = IDLE_MS;
	o->maxmsg = 16 * 1024 * 1024;
	o->listen_fd = -1;
	L.lfd = -1;
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
		switch (ch) {
		case OPT_ALLOW:
		case OPT_DENY:
			if (acl_add(&o->acl, ch == OPT_DENY, optarg, &why) ==
			    -1)
				opt_usage("%s %s: %s", opt_cur, optarg, why);
			break;
		case OPT_LISTEN_FD:
			opt_once(&seen_fd, ch);
			o->listen_fd = parse_num(optarg, 3, 1023, "fd");
			break;
		case '0':
		case 'N':
			opt_format(&o->fmt, ch);
			break;
		case 'b':
			opt_once(&seen_b, ch);
			o->backlog = parse_num(optarg, 1, 65535, "backlog");
			break;
		case 'C':
			if (!wire_inst_ok(optarg, strlen(optarg)))
				opt_usage("-C: bad instance id");
			o->child = optarg;
			break;
		case 'c':
			opt_once(&seen_c, ch);
			o->maxconn = parse_num(optarg, 1, 100000,
			    "connection limit");
			break;
		case 'e':
			opt_once(&seen_e, ch);
			o->cmd = optarg;
			break;
		case 'i':
			opt_once(&seen_i, ch);
			o->idle_ms = parse_ms(optarg, 0, WIRE_IDLE_MAX,
			    "idle time");
			break;
		case 'j':
			o->json = 1;
			break;
		case 'k':
			/* Twice while a key is being rotated: either is
			 * good. */
			if (o->nkeys == SERVER_KEYS)
				opt_usage("option %s given more than twice",
				    opt_cur);
			o->keyfile[o->nkeys++] = optarg;
			break;
		case 'M':
			opt_once(&seen_M, ch);
			o->maxmsg = parse_size(optarg, 64, FRAME_LIMIT_MAX,
			    "message limit");
			break;
		case 'n':
			opt_once(&seen_n, ch);
			snprintf(o->node, sizeof(o->node), "%s",
			    opt_node(optarg));
			break;
		case 'P':
			opt_once(&seen_P, ch);
			o->ready = optarg;
			break;
		case 'q':
			log_level = 0;
			break;
		case 'R':
			o->raw = 1;
			break;
		case 'v':
			log_level = 2;
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	/* Without -i, the environment's (a relay's listen child takes it). */
	if (!seen_i && getenv("QUILT_IDLE_TIMEOUT") != NULL)
		o->idle_ms = parse_num(getenv("QUILT_IDLE_TIMEOUT"), 0,
		    WIRE_IDLE_MAX, "QUILT_IDLE_TIMEOUT");
	argc -= optind;
	argv += optind;
	if (argc > 1)
		opt_extra(argv[1]);
	if (argc == 1)
		addrarg = argv[0];
	/* clang-format off */
	if (o->raw && o->nkeys > 0)
		opt_usage("-R and -k are exclusive: raw mode has no protocol to seal");
	if (o->child && (o->raw || o->cmd))
		opt_usage("-C is quilt-relay's child mode: no -R, no -e");
	if (o->raw && o->fmt == FMT_NET)
		opt_usage("-R and -N are exclusive: raw mode has no netstrings");
	if (o->json && (o->fmt != FMT_LINE || o->raw || o->cmd || o->child))
		opt_usage("-j is standard output's format: not with -0, -N, -R, -e or -C");
	/* clang-format on */
	/* Standard output is where messages go (the router's, with -C);
	 * data written to /dev/null would be acknowledged and lost. */
	if ((stdclosed & PROC_STDOUT) && !o->cmd)
		log_diex(EX_IOERR, "standard output is closed");
	if (o->child && (stdclosed & PROC_STDIN))
		log_diex(EX_IOERR, "standard input is closed");
	/* A socket given to us: by systemd, or by quilt-relay. */
	if (service_notify_init(&why) == -1)
		log_warnx("%s: not telling the service manager we are ready",
		    why);
	switch (service_listen_fd(&L.lfd, 1, &why)) {
	case -1:
		log_diex(EX_USAGE, "socket activation: %s", why);
	case 1:
		if (argc == 1)
			opt_usage(
			    "an address operand and a socket from systemd (LISTEN_FDS) are exclusive");
		break;
	}
	if (o->listen_fd != -1) {
		if (argc == 1)
			opt_usage("--listen-fd and an address are exclusive");
		if (service_take_fd(o->listen_fd, 0, &why) == -1)
			log_diex(EX_USAGE, "--listen-fd %d: %s", o->listen_fd,
			    why);
		L.lfd = o->listen_fd;
	}
	/* Given a socket, bind_listener says where it is bound. */
	if (L.lfd == -1 && addr_parse(addrarg, 1, &L.a, &why) == -1)
		opt_usage("bad address %s: %s", addrarg, why);
	/* clang-format off */
	if (L.a.kind == ADDR_UDP && o->raw)
		opt_usage("-R is for stream sockets: udp: carries quilt messages only");
	/* clang-format on */
	if (!o->node[0])
		wire_default_node(o->node);
	o->minelen = frame_put(frame_put(o->mine, o->node, strlen(o->node)),
			 "msg", 3) -
	    o->mine;

	setup();
	bind_listener(addrarg, &ss);
	L.la = ss;
	/* clang-format off */
	if (L.inherited && L.a.kind == ADDR_UDP && o->raw)
		opt_usage("-R is for stream sockets: udp: carries quilt messages only (the socket from systemd is a UDP one)");
	/* clang-format on */
	start();
	if (o->ready && ready_write(o->ready, L.bound) == -1)
		log_die(EX_OSERR, "ready file %s", o->ready);
	if (service_notify("READY=1") == -1)
		log_warn("NOTIFY_SOCKET");
	log_warnx("listening on %s", L.bound);
	/* clang-format off */
	if (o->nkeys == 0 && !is_loopback(&ss))
		log_warnx("%s is not a loopback address and there is no -k: any peer that reaches it is accepted",
		    L.bound);
	/* clang-format on */
	run();
	if (o->json)
		json_summary();
	counters(log_info);
	seal_wipe(L.keys, sizeof(L.keys));
	remove_files();
	if (acl_any(&o->acl))
		log_info("connections %llu, refused %llu (--allow, --deny)",
		    L.cs.accepted, L.cs.refused);
	return (0);
}
