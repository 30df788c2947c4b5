/*
 * quilt-send: send messages to a quilt listener and wait until every one is
 * written at the other end (Quilt's OutgoingThread as a process).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "client.h"
#include "cmsg.h"
#include "fmt.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "seal.h"
#include "sink.h"
#include "wire.h"

/* One read of standard input: with the frames queued ahead of the writer
 * and the records being written, it stays in a core's L2 cache (1 MiB
 * did not: plain 64 KiB messages went 20% slower). */
#define IN_CHUNK (256 * 1024)
#define WINDOW (8 * 1024 * 1024)
/* Queued and not yet written (sealed): what fits in the cache beside it. */
#define AHEAD (256 * 1024)
#define MIN_WINDOW (256 * 1024)
#define CONNECT_TIMEOUT_MS 10000
#define LOST_SHOWN 8

struct opts {
	enum fmt fmt;
	int reconnect, use_exit, all;
	const char *dest, *keyfile;
	const char *child; /* -C: an outgoing side of quilt-relay */
	size_t maxmsg;
	char node[WIRE_NODE_MAX + 1];
	long long wait_ms; /* -w, 0 for none */
};

static struct {
	struct opts o;
	struct addr a;
	const char *addrstr;
	struct loop loop;
	struct link link;
	struct wire_hello me, peer;
	unsigned char key[SEAL_KEYLEN];
	int up; /* a session was set up once */
	long long deadline; /* of the whole run, 0 for none */

	/* Input: standard input, or the operands. */
	struct buf in;
	int in_eof;
	char **args;
	int nargs, argi;

	/* Replies from a handler, written to standard output. */
	struct sink out;
	uint64_t replies_in, replies_out;
	int ack_due, escaped, out_dead;

	int need_more;
	int bye_sent, peer_bye, got_exit, exit_status;
	uint64_t bytes_msg, acks, resends, reconnects;
	int progress;
	long long next_progress;

	/* -C: what the router was last told of acks. */
	uint64_t acked_said;

	/* -d/-a through a relay: the end-to-end outcome of each message. */
	int e2e;
	uint64_t e2e_done, e2e_lost;
	char lost[LOST_SHOWN][WIRE_NODE_MAX + 1];
	int nlost, lost_more;
} S;

static noreturn void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: quilt-send [-0NqrvVx] [-a | -d node] [-k keyfile] [-M "
	    "size] "
	    "[-n node]\n"
	    "                  [-w seconds] address [message ...]\n");
	exit(status);
}

static void
counters(void)
{
	if (log_level < 2)
		return;
	log_info("sent %" PRIu64 " messages (%" PRIu64 " bytes), "
		 "acknowledged %" PRIu64 ", replies %" PRIu64
		 ", round trips %" PRIu64 ", resends %" PRIu64
		 ", reconnects %" PRIu64,
	    S.link.n_queued, S.bytes_msg, S.link.n_acked, S.replies_in, S.acks,
	    S.resends, S.reconnects);
}

static noreturn void
finish(int status)
{
	seal_wipe(S.key, sizeof(S.key));
	if (S.progress)
		fputc('\n', stderr);
	counters();
	exit(status);
}

/* Through a relay: name the nodes that could not be reached. */
static void
unreached(void)
{
	char list[LOST_SHOWN * (WIRE_NODE_MAX + 2) + 8] = "";

	if (S.e2e_lost == 0)
		return;
	/* In name order, whatever order the news came in. */
	qsort(S.lost, S.nlost, sizeof(S.lost[0]),
	    (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < S.nlost; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, S.lost[i]);
	}
	if (S.lost_more)
		strcat(list, ", ...");
	if (S.o.all)
		log_warnx("%s: %" PRIu64 " message%s not written by: %s",
		    S.addrstr, S.e2e_lost, S.e2e_lost == 1 ? "" : "s", list);
	else
		log_warnx("%s: node %s is unreachable: %" PRIu64 " message%s "
			  "not delivered",
		    S.addrstr, list, S.e2e_lost, S.e2e_lost == 1 ? "" : "s");
}

/* what: "connection lost" or "deadline reached"; cause may be NULL. */
static noreturn void
lost(const char *what, const char *cause)
{
	uint64_t n = S.link.n_queued - S.link.n_acked;

	if (S.e2e) {
		n = S.link.n_queued - S.e2e_done - S.e2e_lost;
		log_warnx("%s: %s: %" PRIu64 " message%s not confirmed as "
			  "written by %s%s%s%s%s",
		    S.addrstr, what, n, n == 1 ? "" : "s",
		    S.o.all ? "every node" : S.o.dest,
		    S.in_eof ? "" : ", the rest of the input not sent",
		    cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
		unreached();
		finish(1);
	}

	log_warnx("%s: %s: %" PRIu64 " message%s not acknowledged%s%s%s%s",
	    S.addrstr, what, n, n == 1 ? "" : "s",
	    S.in_eof ? "" : ", the rest of the input not sent",
	    cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
	finish(1);
}

static long long
connect_timeout(void)
{
	const char *e = getenv("QUILT_CONNECT_TIMEOUT");
	long long t = e ? atoll(e) : CONNECT_TIMEOUT_MS;

	if (t <= 0)
		t = CONNECT_TIMEOUT_MS;
	if (S.deadline && S.deadline - net_now_ms() < t)
		t = S.deadline - net_now_ms();
	return (t > 0 ? t : 1);
}

/* -C: a frame to the router (standard output, a socket pair). */
static void
child_emit(const struct cmsg *m)
{
	if (cmsg_sink(&S.out, m) == -1)
		log_diex(EX_SOFTWARE, "the router does not read");
}

/* -C: the session is up: the peer's name, instance, limit; our address. */
static void
child_up(void)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char local[ADDR_STRLEN] = "";
	struct cmsg m = {.type = CM_UP, .n = S.peer.maxmsg};

	if (getsockname(S.link.fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family != AF_UNIX)
		addr_str(local, (struct sockaddr *)&ss, sslen);
	m.node.p = S.peer.node;
	m.node.len = strlen(S.peer.node);
	m.inst.p = S.peer.relay;
	m.inst.len = strlen(S.peer.relay);
	m.text.p = local;
	m.text.len = strlen(local);
	child_emit(&m);
}

/*
 * Connect and exchange hellos.  0 when the session is up; otherwise the
 * exit status of the failure, already reported.
 */
static int
setup(void)
{
	static const int status[] = {
	    [CLIENT_OK] = 0,
	    [CLIENT_NOHOST] = EX_NOHOST,
	    [CLIENT_TEMPFAIL] = EX_TEMPFAIL,
	    [CLIENT_UNAVAILABLE] = EX_UNAVAILABLE,
	    [CLIENT_OSERR] = EX_OSERR,
	    [CLIENT_PROTOCOL] = EX_PROTOCOL,
	    [CLIENT_AUTH] = EX_PROTOCOL,
	};
	char why[256];
	enum client_err e;

	S.me.from = S.link.n_acked;
	e = client_open(&S.a, (int)connect_timeout(), &S.link, &S.me, &S.peer,
	    S.o.keyfile ? S.key : NULL, why, sizeof(why));
	if (e != CLIENT_OK) {
		/* While reconnecting (-r), failed tries are only progress;
		 * a refusal that ends the run (76) is always said. */
		int fatal = e == CLIENT_PROTOCOL || e == CLIENT_AUTH;
		void (*say)(const char *, ...) = S.up && !fatal ? log_info :
								  log_warnx;

		if (e == CLIENT_NOHOST ||
		    (e == CLIENT_TEMPFAIL && strncmp(why, "resolve ", 8) == 0))
			say("%s", why);
		else if (e == CLIENT_UNAVAILABLE || e == CLIENT_OSERR)
			say("connect %s: %s", S.addrstr, why);
		else
			say("%s: %s", S.addrstr, why);
		return (status[e]);
	}
	if (S.peer.resume < 0)
		S.peer.resume = S.link.n_acked;
	if (link_rewind(&S.link, S.peer.resume) == -1) {
		log_warnx("%s: the peer resumes from message %" PRId64
			  " of %" PRIu64,
		    S.addrstr, S.peer.resume, S.link.n_queued);
		close(S.link.fd);
		S.link.fd = -1;
		return (EX_PROTOCOL);
	}
	S.resends += S.link.n_queued - S.peer.resume;
	S.up = 1;
	if (S.o.child)
		child_up();
	return (0);
}

static void on_sock(void *arg, int fd, int revents);
static void flush_out(void);
static void handler_gone(void);
static void end_stream(void);

/* After a cut: with -r, reconnect with backoff until the deadline. */
static void
cut(const char *why)
{
	long long backoff = 50;
	int st;

	if (S.link.fd != -1) {
		loop_del(&S.loop, S.link.fd);
		close(S.link.fd);
		S.link.fd = -1;
	}
	/* The end-to-end outcome is the connection's: no resume for it. */
	if (!S.o.reconnect || S.e2e)
		lost("connection lost", why);
	log_info("%s: connection lost%s%s; reconnecting", S.addrstr,
	    why ? ": " : "", why ? why : "");
	if (S.o.child) {
		struct cmsg m = {.type = CM_DOWN};

		m.text.p = why ? why : "connection lost";
		m.text.len = strlen(m.text.p);
		child_emit(&m);
		flush_out();
	}
	for (;;) {
		/* -C: the router's end closing ends us, even now. */
		struct pollfd pfd = {.fd = 0, .events = POLLRDHUP};

		if (S.deadline && net_now_ms() >= S.deadline)
			lost("deadline reached", why);
		if (poll(&pfd, S.o.child ? 1 : 0, (int)backoff) > 0 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			finish(0);
		if ((backoff *= 2) > (S.o.child ? 1000 : 2000))
			backoff = S.o.child ? 1000 : 2000;
		st = setup();
		if (st == 0)
			break;
		if (st == EX_PROTOCOL)
			finish(st);
	}
	S.reconnects++;
	S.bye_sent = 0;
	loop_add(&S.loop, S.link.fd, POLLIN, on_sock, NULL);
}

/*
 * -C: frames from the router, passed on as they are: a run of data frames
 * in one copy (a plain listener's pings go on their own, unnumbered).
 * 1 when some were taken, 0 when it must wait (input or window).
 */
static int
child_pump(void)
{
	const char *data = buf_data(&S.in), *body;
	size_t have = buf_len(&S.in), off = 0, len, room, frames;
	uint32_t sizes[1024];
	size_t count = 0;
	struct wire_msg m;
	ssize_t r = 0;
	char *w;

	room = S.link.window > buf_len(&S.link.q) ?
	    S.link.window - buf_len(&S.link.q) :
	    0;
	frames = link_room_frames(&S.link);
	if (frames > sizeof(sizes) / sizeof(sizes[0]))
		frames = sizeof(sizes) / sizeof(sizes[0]);
	while (off < have) {
		r = frame_parse(data + off, have - off, S.o.maxmsg, &body,
		    &len);
		if (r <= 0)
			break;
		if (len > S.peer.maxmsg)
			log_diex(EX_DATAERR,
			    "%s: a frame of %zu bytes is over "
			    "the peer's limit",
			    S.addrstr, len);
		if (!S.peer.relay[0] && wire_msg_head(body, len) == 0) {
			if (wire_decode(body, len, &m) == -1)
				log_diex(EX_SOFTWARE,
				    "a malformed frame from "
				    "the router");
			if (m.cmd == W_PING)
				break;
		}
		if (count > 0 && (off + r > room || count == frames))
			break;
		off += r;
		sizes[count++] = r;
	}
	if (r == -1)
		log_diex(EX_SOFTWARE, "a malformed frame from the router");
	if (count > 0) {
		if ((w = link_reserve(&S.link, off)) == NULL)
			return (0);
		memcpy(w, data, off);
		link_commit_n(&S.link, sizes, count);
		buf_consume(&S.in, off);
		return (1);
	}
	if (r > 0) {
		/* A ping for a plain listener, which answers it itself; the
		 * router sent it unnumbered too. */
		if (link_ctl(&S.link, data, r) == -1)
			return (0);
		buf_consume(&S.in, r);
		return (1);
	}
	S.need_more = 1;
	return (0);
}

/* Queue as many input messages as the window takes. */
static void
pump(void)
{
	size_t peer = S.peer.maxmsg, dl = S.o.dest ? strlen(S.o.dest) : 0;
	const char *d = S.o.dest ? S.o.dest : "";

	for (;;) {
		const char *p;
		size_t len, fsz, body;
		ssize_t r;
		char *w;

		if (S.o.child) {
			if (child_pump() == 0)
				return;
			continue;
		}
		if (S.args) {
			if (S.argi == S.nargs) {
				S.in_eof = 1;
				return;
			}
			p = S.args[S.argi];
			len = strlen(p);
			r = 0;
		} else {
			r = fmt_next(S.o.fmt, buf_data(&S.in), buf_len(&S.in),
			    S.in_eof, peer, &p, &len);
			S.need_more = r == 0;
			if (r == 0)
				return;
			if (r == -1) {
				if (errno == EMSGSIZE)
					log_diex(EX_DATAERR,
					    "stdin: message "
					    "exceeds the peer's limit of %zu "
					    "bytes",
					    peer);
				log_diex(EX_DATAERR,
				    "stdin: malformed "
				    "netstring");
			}
		}
		if (S.o.fmt == FMT_NET && !S.args)
			body = wire_msgn_body(dl, len);
		else
			body = wire_msg1_body(dl, len);
		if (body > peer)
			log_diex(EX_DATAERR,
			    "message of %zu bytes (%zu with its "
			    "envelope) exceeds the peer's limit of %zu",
			    len, body, peer);
		fsz = frame_size(body);
		/* Enough is queued ahead of the writer (the sealing): more
		 * would only be copied out of the cache before it is read. */
		if (link_unsent(&S.link) >= AHEAD ||
		    (w = link_reserve(&S.link, fsz)) == NULL)
			return;
		if (S.o.fmt == FMT_NET && !S.args)
			wire_put_msgn(w, d, dl, p, len);
		else if (dl == 0)
			wire_put_msg1_fast(w, p, len);
		else
			wire_put_msg1(w, d, dl, p, len);
		link_commit(&S.link, fsz);
		S.bytes_msg += len;
		if (S.args)
			S.argi++;
		else
			buf_consume(&S.in, r);
	}
}

static void
replies_written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	S.replies_out = count;
	S.ack_due = 1;
}

static void
flush_out(void)
{
	if (S.out_dead)
		return;
	if (sink_flush(&S.out, replies_written, NULL) == -1 &&
	    errno != EAGAIN) {
		if (errno == EPIPE) {
			/* | head: stop quietly, as cat does. */
			finish(S.link.n_acked == S.link.n_queued ? 0 : 1);
		}
		log_die(EX_IOERR, "stdout");
	}
}

/* Remember a node that could not be reached, once, for the last word. */
static void
lost_node(const char *p, size_t n)
{
	for (int i = 0; i < S.nlost; i++)
		if (strlen(S.lost[i]) == n && memcmp(S.lost[i], p, n) == 0)
			return;
	if (S.nlost == LOST_SHOWN || n > WIRE_NODE_MAX) {
		S.lost_more = 1;
		return;
	}
	memcpy(S.lost[S.nlost], p, n);
	S.lost[S.nlost++][n] = '\0';
}

static void
handle_frame(const char *body, size_t len)
{
	struct wire_msg m;
	struct frame_iter it;
	const char *p;
	size_t n;
	unsigned long long v;
	char *w;
	ssize_t k;

	if (wire_decode(body, len, &m) == -1)
		goto bad;
	if (S.o.child && m.cmd != W_ACK && m.cmd != W_BYE && m.cmd != W_PING) {
		struct cmsg cm = {.type = CM_PEER, .data = {body, len}};

		/* Pongs, errors: the router's business. */
		child_emit(&cm);
		if (m.cmd == W_ERROR) {
			flush_out();
			finish(EX_PROTOCOL);
		}
		return;
	}
	switch (m.cmd) {
	case W_DONE:
		/* ["", "done", NODE, K...]: NODE (or all) wrote them. */
		if (!S.e2e)
			goto unexpected;
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			goto bad;
		while ((k = frame_next_part(&it, &p, &n)) == 1) {
			uint64_t first, last;

			/* K, or a range FIRST-LAST. */
			if (wire_get_range(p, n, S.link.n_queued, &first,
				&last) == -1 ||
			    first == 0 ||
			    S.e2e_done + S.e2e_lost + (last - first) >=
				S.link.n_queued)
				goto bad;
			S.e2e_done += last - first + 1;
		}
		if (k == -1)
			goto bad;
		break;
	case W_LOST:
		/* ["", "lost", K, NODE...]: not written by those nodes. */
		if (!S.e2e)
			goto unexpected;
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, S.link.n_queued, &v) == -1 || v == 0 ||
		    S.e2e_done + S.e2e_lost >= S.link.n_queued)
			goto bad;
		S.e2e_lost++;
		while ((k = frame_next_part(&it, &p, &n)) == 1)
			lost_node(p, n);
		if (k == -1)
			goto bad;
		break;
	case W_ACK:
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, UINT64_MAX, &v) == -1 ||
		    link_ack(&S.link, v) == -1)
			goto bad;
		S.acks++;
		break;
	case W_MSG:
		if ((w = sink_reserve(&S.out, fmt_bound(m.argslen))) == NULL)
			log_diex(EX_SOFTWARE, "reply buffer full");
		if ((k = fmt_put(S.o.fmt, w, m.args, m.argslen, &S.escaped)) ==
		    -1)
			goto bad;
		sink_commit(&S.out, k);
		S.replies_in++;
		(void)sink_mark(&S.out, 0, 0, S.replies_in, 1);
		break;
	case W_PING:
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			goto bad;
		{
			char seq[24];
			const char *args[] = {seq, S.me.node, "0", NULL};

			snprintf(seq, sizeof(seq), "%.*s",
			    (int)(n < 20 ? n : 20), p);
			if (frame_next_part(&it, &p, &n) != 1)
				p = "", n = 0;
			link_ctlv(&S.link, "pong", args, p, n);
		}
		break;
	case W_PONG:
		break;
	case W_BYE:
		S.peer_bye = 1;
		break;
	case W_EXIT:
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1 ||
		    frame_part_num(p, n, 255, &v) == -1)
			goto bad;
		S.got_exit = 1;
		S.exit_status = v;
		break;
	case W_ERROR:
		frame_iter_init(&it, m.args, m.argslen);
		if (frame_next_part(&it, &p, &n) != 1)
			p = "", n = 0;
		log_warnx("%s: the peer says: %.*s", S.addrstr, (int)n, p);
		finish(EX_PROTOCOL);
	default:
	unexpected:
		log_warnx("%s: unexpected '%.*s' from the peer", S.addrstr,
		    (int)(m.namelen > 32 ? 32 : m.namelen), m.name);
		finish(EX_PROTOCOL);
	}
	return;
bad:
	log_warnx("%s: malformed frame from the peer", S.addrstr);
	finish(EX_PROTOCOL);
}

static void
on_sock(void *arg, int fd, int revents)
{
	const char *body;
	size_t len;
	ssize_t r;

	if (revents & POLLOUT) {
		if (link_flush(&S.link) == -1 && errno != EAGAIN) {
			cut(strerror(errno));
			return;
		}
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	r = link_read(&S.link);
	if (r == -1 && errno == EAGAIN)
		return;
	if (r == -1 && errno == EBADMSG) {
		log_warnx("%s: integrity check failed: a sealed record was "
			  "altered, replayed or forged",
		    S.addrstr);
		finish(EX_PROTOCOL);
	}
	while ((r > 0 || buf_len(&S.link.in) > 0)) {
		ssize_t f = link_frame(&S.link, 0, &body, &len);

		if (f == 0)
			break;
		if (f == -1) {
			log_warnx("%s: malformed frame from the peer",
			    S.addrstr);
			finish(EX_PROTOCOL);
		}
		handle_frame(body, len);
		link_take(&S.link, f);
	}
	handler_gone();
	if (r == 0 || r == -1) {
		const char *why = r == 0 ? "connection lost" : strerror(errno);

		/* Everything acknowledged and the peer done: a clean end. */
		if (S.in_eof && S.link.n_acked == S.link.n_queued &&
		    (S.peer_bye || !S.peer.handler) &&
		    (!S.e2e || S.e2e_done + S.e2e_lost == S.link.n_queued)) {
			if (S.e2e_lost)
				finish((unreached(), 1));
			end_stream();
			flush_out();
			finish(S.o.use_exit && S.got_exit ? S.exit_status : 0);
		}
		cut(r == 0 ? NULL : why);
	}
}

static void
on_stdin(void *arg, int fd, int revents)
{
	ssize_t r = buf_fill(&S.in, 0, IN_CHUNK);

	if (r == 0 && S.o.child)
		finish(0); /* the router is gone */
	if (r == 0)
		S.in_eof = 1;
	else if (r == -1 && errno != EAGAIN && errno != ENOBUFS)
		log_die(EX_IOERR, "stdin");
}

static void
on_stdout(void *arg, int fd, int revents)
{
	flush_out();
}

static void
progress(long long now)
{
	if (!S.progress || now < S.next_progress)
		return;
	S.next_progress = now + 1000;
	fprintf(stderr,
	    "\rquilt-send: %" PRIu64 " sent, %" PRIu64 " acknowledged ",
	    S.link.n_queued, S.link.n_acked);
	fflush(stderr);
}

/*
 * The handler has exited and said so: nothing more will be taken, whatever
 * input is left (ssh's rule).  Its status with -x; else 0 when everything
 * sent was acknowledged.
 */
/*
 * Sealed: end our stream with its FINAL record, the last thing we send,
 * so the listener can tell our end from a cut.  Bounded: a second at most.
 */
static void
end_stream(void)
{
	struct pollfd pfd = {.fd = S.link.fd, .events = POLLOUT};
	long long until = net_now_ms() + 1000;

	if (S.link.seal == NULL || S.link.fd == -1)
		return;
	link_end(&S.link);
	while (link_pending(&S.link) > 0 && net_now_ms() < until) {
		if (link_flush(&S.link) == -1 && errno != EAGAIN)
			return;
		if (link_pending(&S.link) > 0)
			(void)poll(&pfd, 1, 100);
	}
}

static void
handler_gone(void)
{
	uint64_t n = S.link.n_queued - S.link.n_acked;

	if (!(S.peer.handler && S.got_exit && S.peer_bye))
		return;
	while (!sink_empty(&S.out) && !S.out_dead) {
		struct pollfd pfd = {.fd = 1, .events = POLLOUT};

		flush_out();
		(void)poll(&pfd, 1, 1000);
	}
	if (S.escaped)
		log_warnx(FMT_ESCAPED_WARNING);
	end_stream();
	if (S.o.use_exit)
		finish(S.exit_status);
	if (n > 0) {
		log_warnx("%s: the handler exited: %" PRIu64 " message%s not "
			  "acknowledged",
		    S.addrstr, n, n == 1 ? "" : "s");
		finish(1);
	}
	finish(0);
}

static int
done(void)
{
	if (!S.in_eof || S.link.n_acked != S.link.n_queued || !S.bye_sent ||
	    link_pending(&S.link) > 0 || !sink_empty(&S.out))
		return (0);
	if (S.e2e && S.e2e_done + S.e2e_lost < S.link.n_queued)
		return (0);
	/* The peer's bye follows the handler's last reply (a relay has no
	 * handler and says no bye: the sender closes). */
	if (!S.peer_bye && !S.peer.relay[0])
		return (0);
	if (S.peer.handler && S.o.use_exit && !S.got_exit)
		return (0);
	return (1);
}

static int
run(void)
{
	for (;;) {
		long long now = net_now_ms(), wait = -1;
		short ev = POLLIN;

		pump();
		if (S.in_eof && !S.bye_sent && !link_unsent(&S.link) &&
		    !S.o.child &&
		    (S.args ? S.argi == S.nargs : buf_len(&S.in) == 0)) {
			link_ctlv(&S.link, "bye", NULL, NULL, 0);
			S.bye_sent = 1;
		}
		flush_out();
		if (S.ack_due) {
			char n[24];
			const char *args[] = {n, NULL};

			snprintf(n, sizeof(n), "%" PRIu64, S.replies_out);
			link_ctlv(&S.link, "ack", args, NULL, 0);
			S.ack_due = 0;
		}
		if (link_pending(&S.link) > 0 && link_flush(&S.link) == -1 &&
		    errno != EAGAIN) {
			cut(strerror(errno));
			continue;
		}
		if (S.o.child && S.link.n_acked != S.acked_said) {
			struct cmsg m = {.type = CM_ACK, .n = S.link.n_acked};

			child_emit(&m);
			S.acked_said = S.link.n_acked;
			flush_out();
		}
		if (done()) {
			end_stream();
			if (S.escaped)
				log_warnx(FMT_ESCAPED_WARNING);
			if (S.e2e_lost) {
				unreached();
				return (1);
			}
			return (S.o.use_exit && S.got_exit ? S.exit_status : 0);
		}
		/* Replies wait while standard output is backed up. */
		if (buf_len(&S.out.b) > IN_CHUNK)
			ev = 0;
		if (link_pending(&S.link) > 0)
			ev |= POLLOUT;
		loop_want(&S.loop, S.link.fd, ev);
		/* Read more input only when the window has room for it. */
		if (!S.args)
			loop_want(&S.loop, 0,
			    !S.in_eof && S.need_more &&
				    buf_len(&S.link.q) < S.link.window / 2 ?
				POLLIN :
				0);
		loop_want(&S.loop, 1, sink_empty(&S.out) ? 0 : POLLOUT);
		if (S.deadline) {
			if (now >= S.deadline)
				lost("deadline reached", NULL);
			wait = S.deadline - now;
		}
		if (S.progress) {
			progress(now);
			if (wait == -1 || wait > 1000)
				wait = 1000;
		}
		if (loop_once(&S.loop, (int)wait) == -1)
			log_die(EX_OSERR, "poll");
	}
}

int
main(int argc, char *argv[])
{
	struct opts *o = &S.o;
	const char *why;
	int ch, seen_M = 0, seen_n = 0, seen_w = 0, seen_d = 0, seen_k = 0, st;

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	o->fmt = FMT_LINE;
	o->maxmsg = 16 * 1024 * 1024;
	while ((ch = getopt(argc, argv, "+0aC:Nd:hk:M:n:qrUvVw:x")) != -1) {
		switch (ch) {
		case '0':
		case 'N':
			opt_format(&o->fmt, ch);
			break;
		case 'a':
			o->all = 1;
			break;
		case 'C':
			if (!wire_inst_ok(optarg, strlen(optarg)))
				log_diex(EX_USAGE, "-C: bad instance id");
			o->child = optarg;
			o->reconnect = 1;
			o->fmt = FMT_NET;
			break;
		case 'd':
			opt_once(&seen_d, ch);
			o->dest = opt_node(optarg);
			break;
		case 'h':
			usage(0);
		case 'k':
			opt_once(&seen_k, ch);
			o->keyfile = optarg;
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
		case 'q':
			log_level = 0;
			break;
		case 'r':
			o->reconnect = 1;
			break;
		case 'U':
			log_diex(EX_USAGE,
			    "-U is for the udp transport, "
			    "which this build does not have");
		case 'v':
			log_level = 2;
			break;
		case 'V':
			print_version();
		case 'w':
			opt_once(&seen_w, ch);
			o->wait_ms = parse_ms(optarg, 1, 2147483000LL,
			    "deadline");
			break;
		case 'x':
			o->use_exit = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EX_USAGE);
	if (o->all && o->dest)
		log_diex(EX_USAGE, "-a and -d are exclusive");
	if (o->all)
		o->dest = "all";
	S.addrstr = argv[0];
	if (addr_parse(argv[0], 0, &S.a, &why) == -1)
		log_diex(EX_USAGE, "bad address %s: %s", argv[0], why);
	if (S.a.kind == ADDR_UDP)
		log_diex(EX_USAGE, "%s: this build has no udp transport",
		    argv[0]);
	if (o->child && (argc > 1 || o->dest || o->wait_ms || o->use_exit))
		log_diex(EX_USAGE,
		    "-C is quilt-relay's child mode: no messages, "
		    "-a, -d, -w or -x");
	if (argc > 1) {
		S.args = argv + 1;
		S.nargs = argc - 1;
	}
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	if (!o->node[0])
		wire_default_node(o->node);
	if (o->keyfile)
		opt_key(o->keyfile, S.key, EX_NOINPUT, EX_CONFIG);

	S.me.vmin = WIRE_VMIN;
	S.me.vmax = WIRE_VMAX;
	memcpy(S.me.node, o->node, sizeof(S.me.node));
	seal_random(S.me.sid, sizeof(S.me.sid));
	S.me.maxmsg = o->maxmsg;
	S.me.resume = -1;
	if (o->child)
		snprintf(S.me.relay, sizeof(S.me.relay), "%s", o->child);
	if (o->wait_ms)
		S.deadline = net_now_ms() + o->wait_ms;
	if (loop_init(&S.loop) == -1 ||
	    link_init(&S.link, -1, o->maxmsg, WINDOW, 0) == -1 ||
	    sink_init(&S.out, 1, 0, fmt_bound(o->maxmsg) + IN_CHUNK, 4) == -1)
		log_die(EX_OSERR, "memory");
	/* The frames not yet acknowledged: moved down when at most an
	 * eighth of the queue, so that bulk is not copied twice. */
	S.link.q.spread = 3;

	if ((st = setup()) != 0) {
		/* A relay's outgoing side keeps trying; the router restarts
		 * it when the peer refuses it. */
		if (!o->child || st == EX_PROTOCOL) {
			seal_wipe(S.key, sizeof(S.key));
			exit(st);
		}
		S.peer.maxmsg = o->maxmsg;
	}
	S.e2e = o->dest && S.peer.relay[0];
	/* Only a reconnect needs the key again. */
	if (!o->reconnect)
		seal_wipe(S.key, sizeof(S.key));
	/* Now the peer's limit is known: size the window and input to it, so
	 * that a small -M at the other end keeps both ends small. */
	{
		size_t f = frame_size(S.peer.maxmsg + 64);
		size_t w = 4 * f < MIN_WINDOW ? MIN_WINDOW : 4 * f;

		link_set_window(&S.link, w < WINDOW ? w : WINDOW,
		    S.peer.maxmsg);
		if (buf_init(&S.in, f < IN_CHUNK ? f : IN_CHUNK,
			S.peer.maxmsg + IN_CHUNK) == -1)
			log_die(EX_OSERR, "memory");
	}
	S.need_more = 1;
	if (!S.args) {
		sink_nonblock_std(0);
		loop_add(&S.loop, 0, POLLIN, on_stdin, NULL);
	}
	sink_nonblock_std(1);
	loop_add(&S.loop, 1, 0, on_stdout, NULL);
	if (S.link.fd == -1)
		cut("not connected");
	else
		loop_add(&S.loop, S.link.fd, POLLIN, on_sock, NULL);
	S.progress = log_level >= 1 && isatty(2);
	st = run();
	finish(st);
}
