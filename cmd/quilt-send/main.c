/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-send: send messages to a quilt listener and wait until every one is
 * written at the other end (Quilt's OutgoingThread as a process).  This
 * file: options, the session (connect, reconnect with -r and resume), the
 * loop, the end of the run and its exit status; send.h names the others.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "opt.h"
#include "proc.h"
#include "seal.h"
#include "send.h"
#include "udpsock.h"

/* What client_open's failures exit with (STYLE.md). */
static const int client_status[] = {
    [CLIENT_OK] = 0,
    [CLIENT_NOHOST] = EX_NOHOST,
    [CLIENT_TEMPFAIL] = EX_TEMPFAIL,
    [CLIENT_UNAVAILABLE] = EX_UNAVAILABLE,
    [CLIENT_OSERR] = EX_OSERR,
    [CLIENT_PROTOCOL] = EX_PROTOCOL,
    [CLIENT_AUTH] = EX_PROTOCOL,
};

/* One struct per concern (send.h), and main.c's own, M. */
static struct opts O;
static struct sess S;
static struct input In;
static struct replies R;
static struct e2e E;
static struct {
	/* A message of the input that cannot be sent: the ones before it
	 * still go, then this is the exit status. */
	int bad;
	uint64_t bad_after;
	char bad_why[256];
	struct loop loop;
	unsigned char key[SEAL_KEYLEN];
	long long deadline; /* of the whole run, 0 for none */
	int progress; /* a progress line on a terminal */
	long long next_progress;
	uint64_t acked_said; /* -C: what the router was last told */
	/* The listener's idle time: when we last sent a byte (out_seen:
	 * bytes_out then). */
	long long out_at;
	uint64_t out_seen;
	/* The progress line's rate: where the last one was. */
	long long rate_at;
	uint64_t rate_acked, rate_bytes;
	int rate_shown;
} M;

static void on_sock(void *arg, int fd, int revents);

/* clang-format off */
static const struct opt options[] = {
	{'0', "null", NULL, "messages end with NUL, not newline (input and replies)"},
	{'a', "all", NULL, "to every node of a relay mesh, each once"},
	{'C', "child", "instance", NULL}, /* quilt-relay's child mode */
	{'d', "to", "node", "to the node NODE of a relay mesh"},
	{'j', "json", NULL, "replies, and a summary at the end, as JSON lines"},
	{'k', "key", "keyfile", "seal the connection with the key in KEYFILE"},
	{'M', "max-size", "size", "the largest reply taken (K, M, G)"},
	{'N', "netstring", NULL, "messages are netstrings of parts"},
	{'n', "node", "node", "our node name"},
	{'q', "quiet", NULL, "only fatal errors on stderr"},
	{'r', "reconnect", NULL, "reconnect and resume after a lost connection"},
	{'U', "unreliable", NULL, "messages that may be lost, never resent (udp: only)"},
	{'v', "verbose", NULL, "progress and counters on stderr"},
	{'w', "deadline", "seconds", "give up after SECONDS"},
	{'x', "exit-status", NULL, "exit with the handler's exit status"},
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: quilt-send [-0jNqrUvVx] [-a | -d node] [-k keyfile] [-M size] [-n node] [-w seconds] address [message ...]",
	options, EX_USAGE,
};
/* clang-format on */

/* The counters: -v at the end, SIGUSR1 (as dd does) whenever. */
static void
counters(void (*say)(const char *, ...))
{
	/* clang-format off */
	say("sent %" PRIu64 " messages (%" PRIu64 " bytes), acknowledged %" PRIu64 ", replies %" PRIu64 ", round trips %" PRIu64 ", resends %" PRIu64 ", reconnects %" PRIu64,
	    S.link.n_queued + S.usent, S.bytes_msg, S.link.n_acked, R.in, S.acks,
	    S.resends, S.reconnects);
	/* clang-format on */
	udp_counters(&S, R.in, say);
}

/*
 * Giving up on an error: over udp:, a listener hears no end of stream
 * from the kernel when we exit, so tell it (it would hold the connection
 * until its time-out).
 */
static void
give_up(void)
{
	if (S.link.uc != NULL)
		udpconn_abort(S.link.uc, UDP_R_REFUSED);
}

static void
on_usr1(void *arg, int sig)
{
	if (M.progress && M.rate_shown)
		fputc('\n', stderr); /* below the progress line */
	counters(log_say);
	M.next_progress = 0;
}

/*
 * -j: the summary, the last line of standard output, after the replies
 * (a second at most for them; not at all once the reader is gone).
 */
static void
json_summary(int status)
{
	char line[1536];
	long long until = net_now_ms() + 1000;
	int n;
	char *w;

	/* over udp:, the transport's counters, as -v says them */
	if (S.a.kind == ADDR_UDP)
		udp_keep(&S, R.in);
	/* clang-format off */
	n = snprintf(line, sizeof(line),
	    "{\"kind\":\"summary\",\"sent\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"acknowledged\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"round_trips\":%" PRIu64 ",\"resends\":%" PRIu64 ",\"reconnects\":%" PRIu64 "%s%s,\"status\":%d}\n",
	    S.link.n_queued + S.usent, S.bytes_msg, S.link.n_acked, R.in, S.acks,
	    S.resends, S.reconnects, S.ujson[0] ? ",\"udp\":" : "", S.ujson,
	    status);
	/* clang-format on */
	if (R.out.fd != 1 || (w = sink_reserve(&R.out, n)) == NULL)
		return;
	memcpy(w, line, n);
	sink_commit(&R.out, n);
	while (!sink_empty(&R.out) && net_now_ms() < until) {
		struct pollfd pfd = {.fd = 1, .events = POLLOUT};

		if (sink_flush(&R.out, replies_written, &R) == -1 &&
		    errno != EAGAIN)
			return;
		if (!sink_empty(&R.out))
			(void)poll(&pfd, 1, 100);
	}
}

static noreturn void
finish(int status)
{
	seal_wipe(M.key, sizeof(M.key));
	if (status != 0)
		give_up();
	if (M.progress && M.rate_shown)
		fputc('\n', stderr);
	if (O.json)
		json_summary(status);
	counters(log_info);
	exit(status);
}

/* what: "connection lost" or "deadline reached"; cause may be NULL. */
static noreturn void
lost(const char *what, const char *cause)
{
	uint64_t n = S.link.n_queued - S.link.n_acked;

	/* clang-format off */
	if (E.on) {
		n = S.link.n_queued - E.done - E.lost;
		log_warnx("%s: %s: %" PRIu64 " message%s not confirmed as written by %s%s%s%s%s",
		    S.addrstr, what, n, n == 1 ? "" : "s",
		    O.all ? "every node" : O.dest,
		    In.eof ? "" : ", the rest of the input not sent",
		    cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
		e2e_unreached(&E, S.addrstr, O.all);
		finish(1);
	}
	log_warnx("%s: %s: %" PRIu64 " message%s not acknowledged%s%s%s%s",
	    S.addrstr, what, n, n == 1 ? "" : "s",
	    In.eof ? "" : ", the rest of the input not sent",
	    cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
	/* clang-format on */
	finish(1);
}

/* -C: what goes to the router must go; it reads us, or it is broken. */
static void
to_router(int r)
{
	if (r == -1)
		log_diex(EX_SOFTWARE, "the router does not read");
}

static void
flush_out(void)
{
	if (sink_flush(&R.out, replies_written, &R) == -1 && errno != EAGAIN) {
		if (errno == EPIPE) {
			/* | head: stop quietly, as cat does. */
			R.out.fd = -1; /* no summary for a reader gone */
			finish(S.link.n_acked == S.link.n_queued ? 0 : 1);
		}
		log_die(EX_IOERR, "stdout");
	}
}

static long long
connect_timeout(void)
{
	const char *e = getenv("QUILT_CONNECT_TIMEOUT");
	long long t = e ? atoll(e) : CONNECT_TIMEOUT_MS;

	if (t <= 0)
		t = CONNECT_TIMEOUT_MS;
	if (M.deadline && M.deadline - net_now_ms() < t)
		t = M.deadline - net_now_ms();
	return (t > 0 ? t : 1);
}

/*
 * -C over TCP: data the relay has not acknowledged within
 * QUILT_TCP_USER_TIMEOUT ms (the router puts its dead time there) ends
 * the connection, as the router's dead timer would, even while its
 * hellos over UDP (quilt-relay(1) KEEP-ALIVES) keep the link alive.
 */
static void
user_timeout(int fd)
{
	const char *e = getenv("QUILT_TCP_USER_TIMEOUT");
	long long ms = e ? atoll(e) : 0;
	unsigned t;

	if (ms <= 0 || ms > 2147483647LL)
		return;
	t = (unsigned)ms;
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof(t)) == -1)
		log_info("TCP_USER_TIMEOUT: %s", strerror(errno));
}

/*
 * Connect and exchange hellos.  0 when the session is up; otherwise the
 * exit status of the failure, already reported.
 */
static int
setup(void)
{
	char why[256];
	enum client_err e;

	S.me.from = S.link.n_acked;
	if (S.a.kind == ADDR_UDP)
		e = udpconn_open(&S.a, (int)connect_timeout(), &S.link, &S.me,
		    &S.peer, O.keyfile ? M.key : NULL, O.maxmsg, why,
		    sizeof(why));
	else
		e = client_open(&S.a, (int)connect_timeout(), &S.link, &S.me,
		    &S.peer, O.keyfile ? M.key : NULL, why, sizeof(why));
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
		return (client_status[e]);
	}
	if (O.child && S.a.kind == ADDR_TCP)
		user_timeout(S.link.fd);
	if (S.peer.resume < 0)
		S.peer.resume = S.link.n_acked;
	if (link_rewind(&S.link, S.peer.resume) == -1) {
		/* clang-format off */
		log_warnx("%s: the peer resumes from message %" PRId64 " of %" PRIu64,
		    S.addrstr, S.peer.resume, S.link.n_queued);
		/* clang-format on */
		link_close(&S.link);
		return (EX_PROTOCOL);
	}
	S.resends += S.link.n_queued - S.peer.resume;
	S.up = 1;
	M.out_at = net_now_ms();
	M.out_seen = S.link.bytes_out;
	if (O.json) {
		char n[6 * WIRE_NODE_MAX + 1];

		/* -j: what each reply of this connection says of it */
		R.headlen = snprintf(R.head, sizeof(R.head),
		    "{\"kind\":\"msg\",\"conn\":%" PRIu64 ",\"node\":\"%s\",",
		    S.reconnects + 1,
		    fmt_json_str(n, sizeof(n), S.peer.node,
			strnlen(S.peer.node, WIRE_NODE_MAX)));
	}
	if (O.child)
		to_router(child_up(&R.out, &S));
	return (0);
}

/* After a cut: with -r, reconnect with backoff until the deadline. */
static void
cut(const char *why)
{
	long long backoff = 50;
	int st;

	if (S.link.fd != -1) {
		loop_del(&M.loop, S.link.fd);
		udp_keep(&S, R.in);
		link_close(&S.link);
	}
	/* The end-to-end outcome is the connection's: no resume for it. */
	if (!O.reconnect || E.on)
		lost("connection lost", why);
	log_info("%s: connection lost%s%s; reconnecting", S.addrstr,
	    why ? ": " : "", why ? why : "");
	if (O.child) {
		to_router(child_down(&R.out, why ? why : "connection lost"));
		flush_out();
	}
	for (;;) {
		/* -C: the router's end closing ends us, even now. */
		struct pollfd pfd = {.fd = 0, .events = POLLRDHUP};

		if (M.deadline && net_now_ms() >= M.deadline)
			lost("deadline reached", why);
		if (poll(&pfd, O.child ? 1 : 0, (int)backoff) > 0 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			finish(0);
		if ((backoff *= 2) > (O.child ? 1000 : 2000))
			backoff = O.child ? 1000 : 2000;
		st = setup();
		if (st == 0)
			break;
		if (st == EX_PROTOCOL)
			finish(st);
	}
	S.reconnects++;
	S.bye_sent = 0;
	loop_add(&M.loop, S.link.fd, POLLIN, on_sock, NULL);
}

/*
 * Sealed: end our stream with its FINAL record, the last thing we send,
 * so the listener can tell our end from a cut.  Bounded: a second at most.
 */
static void
end_stream(void)
{
	struct pollfd pfd = {.fd = S.link.fd, .events = POLLOUT};
	long long until = net_now_ms() + 1000;

	/* udp: the engine's end, acknowledged by the listener. */
	if (S.link.uc != NULL) {
		udpconn_end(S.link.uc, 1000);
		return;
	}
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

/*
 * The handler has exited and said so: nothing more will be taken, whatever
 * input is left (ssh's rule).  Its status with -x; else 0 when everything
 * sent was acknowledged.
 */
static void
handler_gone(void)
{
	uint64_t n = S.link.n_queued - S.link.n_acked;

	if (!(S.peer.handler && S.got_exit && S.peer_bye))
		return;
	while (!sink_empty(&R.out)) {
		struct pollfd pfd = {.fd = 1, .events = POLLOUT};

		flush_out();
		(void)poll(&pfd, 1, 1000);
	}
	if (R.escaped)
		log_warnx(FMT_ESCAPED_WARNING);
	end_stream();
	if (O.use_exit)
		finish(S.exit_status);
	if (n > 0) {
		/* clang-format off */
		log_warnx("%s: the handler exited: %" PRIu64 " message%s not acknowledged",
		    S.addrstr, n, n == 1 ? "" : "s");
		/* clang-format on */
		finish(1);
	}
	finish(0);
}

/*
 * A listener that closes a connection quiet for its idle time (its hello
 * says how long) is sent a nop when a third of it has passed with nothing
 * sent: a quiet input (tail -f) or a long handler keeps its connection.
 * Returns how long until the next one may be due (ms), or -1.
 */
static long long
keep_alive(long long now)
{
	long long every = (long long)(S.peer.idle / 3);

	if (S.link.fd == -1 || S.peer.idle == 0 || S.link.final_due)
		return (-1);
	if (every < 1)
		every = 1;
	if (S.link.bytes_out != M.out_seen || link_pending(&S.link) > 0) {
		M.out_seen = S.link.bytes_out;
		M.out_at = now;
	} else if (now - M.out_at >= every) {
		(void)link_ctlv(&S.link, "nop", NULL, NULL, 0);
		M.out_at = now;
	}
	return (M.out_at + every - now);
}

/* A frame from the listener: the router's (-C), or the peer's. */
static void
frame(const char *body, size_t len)
{
	struct wire_msg m;
	int st;

	if (wire_decode(body, len, &m) == -1) {
		log_warnx("%s: malformed frame from the peer", S.addrstr);
		finish(EX_PROTOCOL);
	}
	if (O.child && m.cmd != W_ACK && m.cmd != W_BYE && m.cmd != W_PING) {
		/* Pongs, errors: the router's business. */
		to_router(child_peer(&R.out, body, len));
		if (m.cmd == W_ERROR) {
			flush_out();
			finish(EX_PROTOCOL);
		}
		return;
	}
	if ((st = peer_frame(&S, &R, &E, &m)) != 0)
		finish(st);
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
		/* clang-format off */
		log_warnx("%s: integrity check failed: a sealed record was altered, replayed or forged",
		    S.addrstr);
		/* clang-format on */
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
		frame(body, len);
		link_take(&S.link, f);
	}
	handler_gone();
	if (r == 0 || r == -1) {
		const char *why = r == 0 ? "connection lost" : strerror(errno);

		/* Everything acknowledged and the peer done: a clean end. */
		if (In.eof && S.link.n_acked == S.link.n_queued &&
		    (S.peer_bye || !S.peer.handler) &&
		    (!E.on || E.done + E.lost == S.link.n_queued)) {
			if (E.lost)
				finish(
				    (e2e_unreached(&E, S.addrstr, O.all), 1));
			end_stream();
			flush_out();
			finish(O.use_exit && S.got_exit ? S.exit_status : 0);
		}
		cut(r == 0 ? NULL : why);
	}
}

static void
on_stdin(void *arg, int fd, int revents)
{
	ssize_t r = buf_fill(&In.in, 0, IN_CHUNK);

	if (r == 0 && O.child)
		finish(0); /* the router is gone */
	if (r == 0)
		In.eof = 1;
	else if (r == -1 && errno != EAGAIN && errno != ENOBUFS)
		log_die(EX_IOERR, "stdin");
}

static void
on_stdout(void *arg, int fd, int revents)
{
	flush_out();
}

/* "12.3 k" and the like: a rate in 4 to 6 characters. */
static void
si(char *out, size_t cap, double v)
{
	const char *u = "";

	if (v >= 1e9)
		v /= 1e9, u = " G";
	else if (v >= 1e6)
		v /= 1e6, u = " M";
	else if (v >= 1e3)
		v /= 1e3, u = " k";
	else
		u = " ";
	snprintf(out, cap,
	    v < 10	? "%.2f%s" :
		v < 100 ? "%.1f%s" :
			  "%.0f%s",
	    v, u);
}

/*
 * On a terminal, once a second: what is sent and acknowledged, and the
 * rate over the last second (messages acknowledged, bytes sent).
 */
static void
progress(long long now)
{
	char mr[24], br[24];
	double dt;

	if (!M.progress || now < M.next_progress)
		return;
	M.next_progress = now + 1000;
	if (M.rate_at == 0) {
		M.rate_at = now;
		return;
	}
	dt = (now - M.rate_at) / 1000.0;
	si(mr, sizeof(mr), (S.link.n_acked - M.rate_acked) / dt);
	si(br, sizeof(br), (S.bytes_msg - M.rate_bytes) / dt);
	M.rate_at = now;
	M.rate_acked = S.link.n_acked;
	M.rate_bytes = S.bytes_msg;
	/* clang-format off */
	fprintf(stderr,
	    "\rquilt-send: %" PRIu64 " sent, %" PRIu64 " acknowledged, %smsg/s, %sB/s   ",
	    S.link.n_queued, S.link.n_acked, mr, br);
	/* clang-format on */
	fflush(stderr);
	M.rate_shown = 1;
}

static int
done(void)
{
	if (!In.eof || S.link.n_acked != S.link.n_queued || !S.bye_sent ||
	    link_pending(&S.link) > 0 || !sink_empty(&R.out))
		return (0);
	if (E.on && E.done + E.lost < S.link.n_queued)
		return (0);
	/* The peer's bye follows the handler's last reply (a relay has no
	 * handler and says no bye: the sender closes). */
	if (!S.peer_bye && !S.peer.relay[0])
		return (0);
	if (S.peer.handler && O.use_exit && !S.got_exit)
		return (0);
	return (1);
}

static int
run(void)
{
	char why[256];
	int st;

	for (;;) {
		long long now = net_now_ms(), wait = -1, ka;
		short ev = POLLIN;

		st = 0;
		if (O.child)
			st = child_pump(&In, &S, &O, why, sizeof(why));
		else if (!M.bad)
			st = pump(&In, &S, &O, why, sizeof(why));
		if (st == EX_DATAERR && !O.child) {
			/* The input ends there; what came before is sent. */
			M.bad = st;
			M.bad_after = S.link.n_queued + S.usent;
			snprintf(M.bad_why, sizeof(M.bad_why), "%s", why);
			In.eof = 1;
			In.argi = In.nargs;
			buf_consume(&In.in, buf_len(&In.in));
		} else if (st != 0) {
			give_up();
			log_diex(st, "%s", why);
		}
		/* -U: bye once every unreliable message has gone. */
		if (In.eof && !S.bye_sent && !link_unsent(&S.link) &&
		    !O.child && udp_unsent(&S) == 0 &&
		    (In.args ? In.argi == In.nargs : buf_len(&In.in) == 0)) {
			link_ctlv(&S.link, "bye", NULL, NULL, 0);
			S.bye_sent = 1;
		}
		flush_out();
		if (R.ack_due) {
			char n[24];
			const char *args[] = {n, NULL};

			snprintf(n, sizeof(n), "%" PRIu64, R.written);
			link_ctlv(&S.link, "ack", args, NULL, 0);
			R.ack_due = 0;
		}
		ka = keep_alive(now);
		/* udp: every turn, for the engine's timers too. */
		if ((link_pending(&S.link) > 0 || S.link.uc != NULL) &&
		    link_flush(&S.link) == -1 && errno != EAGAIN) {
			cut(strerror(errno));
			continue;
		}
		if (S.link.n_queued - S.link.n_acked > S.peak_pending)
			S.peak_pending = S.link.n_queued - S.link.n_acked;
		if (O.child && S.link.n_acked != M.acked_said) {
			to_router(child_ack(&R.out, S.link.n_acked));
			M.acked_said = S.link.n_acked;
			flush_out();
		}
		if (done()) {
			end_stream();
			if (R.escaped)
				log_warnx(FMT_ESCAPED_WARNING);
			if (E.lost) {
				e2e_unreached(&E, S.addrstr, O.all);
				return (1);
			}
			if (M.bad) {
				/* -U's are sent, never acknowledged */
				log_warnx("%s; the %" PRIu64
					  " message%s before it %s sent%s",
				    M.bad_why, M.bad_after,
				    M.bad_after == 1 ? "" : "s",
				    M.bad_after == 1 ? "was" : "were",
				    O.unreliable ? "" : " and acknowledged");
				return (M.bad);
			}
			return (O.use_exit && S.got_exit ? S.exit_status : 0);
		}
		/* Replies wait while standard output is backed up. */
		if (buf_len(&R.out.b) > IN_CHUNK)
			ev = 0;
		if (link_wants_out(&S.link))
			ev |= POLLOUT;
		loop_want(&M.loop, S.link.fd, ev);
		/* udp: what the engine holds is read without waiting for
		 * the socket, which has nothing more to say. */
		if ((ev & POLLIN) && link_buffered(&S.link)) {
			on_sock(NULL, S.link.fd, POLLIN);
			continue;
		}
		wait = link_wait_ms(&S.link);
		/* Read more input only when the window has room for it. */
		if (!In.args)
			loop_want(&M.loop, 0,
			    !In.eof && In.need_more &&
				    buf_len(&S.link.q) < S.link.window / 2 ?
				POLLIN :
				0);
		loop_want(&M.loop, 1, sink_empty(&R.out) ? 0 : POLLOUT);
		if (M.deadline) {
			if (now >= M.deadline)
				lost("deadline reached", NULL);
			if (wait == -1 || M.deadline - now < wait)
				wait = M.deadline - now;
		}
		if (M.progress) {
			progress(now);
			if (wait == -1 || wait > 1000)
				wait = 1000;
		}
		if (ka >= 0 && (wait == -1 || ka < wait))
			wait = ka;
		if (loop_once(&M.loop, (int)wait) == -1)
			log_die(EX_OSERR, "poll");
	}
}

/* Our hello, the buffers, the first connection; the loop is next. */
static void
start(void)
{
	int st;

	S.me.vmin = WIRE_VMIN;
	S.me.vmax = WIRE_VMAX;
	memcpy(S.me.node, O.node, sizeof(S.me.node));
	seal_random(S.me.sid, sizeof(S.me.sid));
	S.me.maxmsg = O.maxmsg;
	S.me.resume = -1;
	if (O.child)
		snprintf(S.me.relay, sizeof(S.me.relay), "%s", O.child);
	if (O.wait_ms)
		M.deadline = net_now_ms() + O.wait_ms;
	R.fmt = O.fmt;
	R.json = O.json;
	if (loop_init(&M.loop) == -1 ||
	    link_init(&S.link, -1, O.maxmsg, WINDOW, 0) == -1 ||
	    sink_init(&R.out, 1, 0,
		(O.json ? fmt_json_bound(O.maxmsg) + JSON_HEAD :
			  fmt_bound(O.maxmsg)) +
		    IN_CHUNK,
		4) == -1 ||
	    loop_signal(&M.loop, SIGUSR1, on_usr1, NULL) == -1)
		log_die(EX_OSERR, "memory");
	/* The frames not yet acknowledged: moved down when at most an
	 * eighth of the queue, so that bulk is not copied twice. */
	S.link.q.spread = 3;

	if ((st = setup()) != 0) {
		/* A relay's outgoing side keeps trying; the router restarts
		 * it when the peer refuses it. */
		if (!O.child || st == EX_PROTOCOL) {
			seal_wipe(M.key, sizeof(M.key));
			exit(st);
		}
		S.peer.maxmsg = O.maxmsg;
	}
	E.on = O.dest && S.peer.relay[0];
	/* Only a reconnect needs the key again. */
	if (!O.reconnect)
		seal_wipe(M.key, sizeof(M.key));
	/* Now the peer's limit is known: size the window and input to it, so
	 * that a small -M at the other end keeps both ends small. */
	{
		size_t f = frame_size(S.peer.maxmsg + 64);
		size_t w = 4 * f < MIN_WINDOW ? MIN_WINDOW : 4 * f;

		link_set_window(&S.link, w < WINDOW ? w : WINDOW,
		    S.peer.maxmsg);
		if (buf_init(&In.in, f < IN_CHUNK ? f : IN_CHUNK,
			S.peer.maxmsg + IN_CHUNK) == -1)
			log_die(EX_OSERR, "memory");
	}
	In.need_more = 1;
	if (!In.args) {
		sink_nonblock_std(0);
		loop_add(&M.loop, 0, POLLIN, on_stdin, NULL);
	}
	sink_nonblock_std(1);
	loop_add(&M.loop, 1, 0, on_stdout, NULL);
	if (S.link.fd == -1)
		cut("not connected");
	else
		loop_add(&M.loop, S.link.fd, POLLIN, on_sock, NULL);
	M.progress = log_level >= 1 && isatty(2);
}

int
main(int argc, char *argv[])
{
	struct opts *o = &O;
	const char *why;
	int ch, seen_M = 0, seen_n = 0, seen_w = 0, seen_d = 0, seen_k = 0;
	/* Before anything is opened: no socket of ours on fd 0, 1 or 2. */
	int stdclosed = proc_std();

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(EX_OSERR, "/dev/null");
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	o->fmt = FMT_LINE;
	o->maxmsg = 16 * 1024 * 1024;
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
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
				opt_usage("-C: bad instance id");
			o->child = optarg;
			o->reconnect = 1;
			o->fmt = FMT_NET;
			break;
		case 'd':
			opt_once(&seen_d, ch);
			o->dest = opt_node(optarg);
			break;
		case 'j':
			o->json = 1;
			break;
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
			o->unreliable = 1;
			break;
		case 'v':
			log_level = 2;
			break;
		case 'w':
			opt_once(&seen_w, ch);
			o->wait_ms = parse_ms(optarg, 1, 2147483000LL,
			    "deadline");
			break;
		case 'x':
			o->use_exit = 1;
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		opt_usage("missing the address operand");
	if (o->all && o->dest)
		opt_usage("-a and -d are exclusive");
	if (o->all)
		o->dest = "all";
	S.addrstr = argv[0];
	if (addr_parse(argv[0], 0, &S.a, &why) == -1)
		opt_usage("bad address %s: %s", argv[0], why);
	/* clang-format off */
	if (o->unreliable && S.a.kind != ADDR_UDP)
		opt_usage("-U is for udp: addresses: a stream has no unreliable messages");
	if (o->unreliable && o->reconnect)
		opt_usage("-U and -r are exclusive: unreliable messages are not resent");
	if (o->unreliable && o->dest)
		opt_usage("-U and -a/-d are exclusive: a relay takes reliable messages only");
	if (o->child && (argc > 1 || o->dest || o->wait_ms || o->use_exit || o->json))
		opt_usage("-C is quilt-relay's child mode: no messages, -a, -d, -j, -w or -x");
	/* clang-format on */
	if (argc > 1) {
		In.args = argv + 1;
		In.nargs = argc - 1;
	}
	/* Input and replies: /dev/null would lose them without a word. */
	if ((stdclosed & PROC_STDIN) && (argc == 1 || o->child))
		log_diex(EX_IOERR, "standard input is closed");
	if (stdclosed & PROC_STDOUT)
		log_diex(EX_IOERR, "standard output is closed");
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	if (!o->node[0])
		wire_default_node(o->node);
	if (o->keyfile)
		opt_key(o->keyfile, M.key, EX_NOINPUT, EX_CONFIG);

	start();
	finish(run());
}
