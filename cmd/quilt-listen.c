/*
 * quilt-listen: accept quilt senders and write what they send to standard
 * output, acknowledging each message once write(2) has taken it (Quilt's
 * IncomingThread); with -e, one handler process per connection (Kamaelia's
 * ConnectedServer, as tcpserver does it); with -R, plain byte streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

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
#include "server.h"
#include "sink.h"
#include "wire.h"

#define OUT_CHUNK (1024 * 1024)
#define WINDOW (4 * 1024 * 1024)
#define HELLO_TIMEOUT_MS 5000
#define DRAIN_TIMEOUT_MS 5000
#define LINGER_MS 2000
#define SESS_MAX 1024
#define SESS_AGE_MS (3600 * 1000LL)
#define MARKS 4096
#define CHILD_BATCH (256 * 1024) /* -C: bytes of frames per batch */

struct opts {
	enum fmt fmt;
	int raw, backlog, maxconn;
	const char *cmd, *ready;
	const char *child; /* -C: quilt-relay's incoming side, instance */
	const char *keyfile[2];
	int nkeys;
	size_t maxmsg;
	char node[WIRE_NODE_MAX + 1];
	/* "N:NODE,3:msg,": how a message named to us starts (a relay
	 * passes a client's on to us as it is). */
	char mine[WIRE_NODE_MAX + 16];
	size_t minelen;
};

enum cstate { C_HELLO, C_CONFIRM, C_OPEN, C_LINGER, C_CLOSED };

struct conn {
	unsigned id;
	uint64_t serial; /* -C: the router's name for it */
	int reported; /* -C: "open" was said */
	int fd;
	enum cstate state;
	struct link link;
	char remote[ADDR_STRLEN];
	struct sockaddr_storage la, ra;
	socklen_t lalen, ralen;
	long long deadline; /* hello or linger */
	struct server_hs shake; /* the handshake; shake.peer: its hello */
	struct server_sess *sess;
	uint64_t acked; /* the last "ack N" sent */
	int blocked; /* waits for room in its output */
	int peer_bye, bye_sent, rd_eof, wr_shut;

	/* -e: the handler and its two pipes. */
	pid_t pid;
	int hin, hout; /* our ends */
	struct sink hs; /* towards its standard input */
	struct buf hbuf; /* from its standard output */
	int hout_eof, exited, status, exit_sent, hin_dead;
};

static struct {
	struct opts o;
	struct loop loop;
	int lfd;
	struct addr a;
	char bound[ADDR_STRLEN];
	struct sink out;
	struct conn **conns; /* nslots: a handler may outlive its socket */
	int nslots, nconns, nlive;
	struct server_table sess;
	struct server_conf hs;
	unsigned char keys[SERVER_KEYS][SEAL_KEYLEN];
	int escaped, warned_escape;
	int stopping;
	long long drain_deadline, hello_ms;
	uint64_t serial;
	struct buf rin; /* -C: frames from the router */
	struct sink cout; /* -C: clients' frames, on fd 3 */
} S;

static void conn_process(struct conn *c);
static void conn_settle(struct conn *c);
static struct sink *child_sink(const struct conn *c);
static int dest_ok(const struct wire_msg *m);
static void conn_fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_refuse(struct conn *c, enum wire_refusal code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static noreturn void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: quilt-listen [-0NqRvV] [-b backlog] [-c maxconn] "
	    "[-e command] [-k keyfile]\n"
	    "                    [-M size] [-n node] [-P file] [address]\n");
	exit(status);
}

static long long
env_ms(const char *name, long long def)
{
	const char *e = getenv(name);
	long long v = e ? atoll(e) : 0;

	return (v > 0 ? v : def);
}

/* ---- output ------------------------------------------------------------ */

static void
written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	struct server_sess *s = &S.sess.s[id];

	if (s->gen != gen)
		return;
	s->written = count;
}

static void
flush_out(void)
{
	if (S.o.child && sink_flush(&S.cout, written, NULL) == -1 &&
	    errno != EAGAIN)
		exit(0); /* the router is gone */
	if (sink_flush(&S.out, written, NULL) == -1 && errno != EAGAIN) {
		if (errno == EPIPE)
			log_diex(EX_IOERR, "stdout: the reader went away");
		log_die(EX_IOERR, "stdout");
	}
}

/* ---- -C: the incoming side of quilt-relay ------------------------------ */

/*
 * The router's stream for a connection: relays' frames on standard output,
 * clients' on fd 3, so that the router can hold back clients (when too
 * much of theirs is in flight) and still take the relays' answers.
 */
static struct sink *
child_sink(const struct conn *c)
{
	return (c->shake.peer.relay[0] ? &S.out : &S.cout);
}

/*
 * A frame for the router: every frame of a relay peer but its acks, bye
 * and error (all numbered), a client's msg for any node (numbered), and a
 * client's ping for another node.  The whole frame (len bytes at frame)
 * goes, so that the router can pass it on as it is.  1 when taken, 0 when
 * it is not for the router, -1 when the output is full.
 */
static int
child_frame(struct conn *c, const struct wire_msg *m, const char *frame,
    size_t len)
{
	struct sink *sk = child_sink(c);
	struct cmsg cm = {.type = CM_FRAME, .conn = c->serial};
	int counted;

	if (c->shake.peer.relay[0])
		counted = m->cmd != W_ACK && m->cmd != W_BYE &&
		    m->cmd != W_ERROR;
	else if (m->cmd == W_MSG)
		counted = 1;
	else if (m->cmd == W_PING && !dest_ok(m))
		counted = 0;
	else
		return (0);
	cm.n = counted ? c->sess->taken + 1 : 0;
	cm.data.p = frame;
	cm.data.len = len;
	if (sk->count == sk->cap || cmsg_sink(sk, &cm) == -1)
		return (-1);
	if (counted)
		c->sess->taken++;
	return (1);
}

/*
 * The numbered frames at the head of c's input, as many as follow each
 * other, in one ["frames", CONN, K, FRAMES] to the router: one frame and
 * one copy per batch, not per message.  1 when some went, 0 when the next
 * frame is not one of them, -1 when the output is full.
 */
static int
child_batch(struct conn *c)
{
	const char *data = buf_data(&c->link.in), *body;
	size_t have = buf_len(&c->link.in), off = 0, len;
	struct sink *sk = child_sink(c);
	struct cmsg cm = {.type = CM_FRAMES, .conn = c->serial};
	uint64_t count = 0;

	if (c->peer_bye)
		return (0);
	while (off < have && off < CHILD_BATCH) {
		ssize_t f = frame_parse(data + off, have - off, c->link.maxin,
		    &body, &len);
		struct wire_msg m;

		if (f <= 0)
			break;
		if (wire_msg_head(body, len) != 0)
			m.cmd = W_MSG;
		else if (wire_decode(body, len, &m) == -1)
			break;
		if (c->shake.peer.relay[0] ?
			m.cmd == W_ACK || m.cmd == W_BYE || m.cmd == W_ERROR :
			m.cmd != W_MSG)
			break;
		off += f;
		count++;
	}
	if (count == 0)
		return (0);
	/* The frames go as they lie in the input: the one copy is the
	 * sink's. */
	cm.n = c->sess->taken + 1;
	cm.data.p = data;
	cm.data.len = off;
	if (sk->count == sk->cap || cmsg_sink(sk, &cm) == -1)
		return (-1);
	link_take(&c->link, off);
	c->sess->taken += count;
	return (1);
}

/*
 * Frames from the router: to (a frame for a connection's peer) and drop
 * (end it with an error).  One for a connection that has ended since is
 * late, not wrong; anything cmsg does not take is fatal.
 */
static void
on_router(void *arg, int fd, int revents)
{
	const char *body;
	struct cmsg m;
	size_t len;
	ssize_t r, f;

	r = buf_fill(&S.rin, 0, 65536);
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS))
		exit(0); /* the router is gone: so are we */
	while ((f = frame_parse(buf_data(&S.rin), buf_len(&S.rin), S.rin.max,
		    &body, &len)) > 0) {
		if (cmsg_decode(CM_TO_LISTEN, body, len, &m) == -1)
			log_diex(EX_SOFTWARE,
			    "a malformed frame from the router");
		for (int j = 0; j < S.nslots; j++) {
			struct conn *c = S.conns[j];

			if (c == NULL || c->serial != m.conn ||
			    c->state != C_OPEN)
				continue;
			if (m.type == CM_TO) {
				(void)link_ctl(&c->link, m.data.p, m.data.len);
				conn_settle(c);
			} else {
				conn_fail(c, "%.*s", (int)m.text.len, m.text.p);
			}
			break;
		}
		buf_consume(&S.rin, f);
	}
	if (f == -1)
		log_diex(EX_SOFTWARE, "a malformed frame from the router");
}

/* ---- connections ------------------------------------------------------- */

static void
conn_ack(struct conn *c)
{
	char n[24];
	const char *args[] = {n, NULL};

	if (c->sess == NULL || c->state != C_OPEN ||
	    c->sess->written == c->acked)
		return;
	c->acked = c->sess->written;
	snprintf(n, sizeof(n), "%" PRIu64, c->acked);
	(void)link_ctlv(&c->link, "ack", args, NULL, 0);
}

static void
conn_free(struct conn *c)
{
	if (c->fd != -1 || c->pid > 0)
		return;
	if (c->hin != -1) {
		loop_del(&S.loop, c->hin);
		close(c->hin);
	}
	if (c->hout != -1) {
		loop_del(&S.loop, c->hout);
		close(c->hout);
	}
	link_free(&c->link);
	server_hs_free(&c->shake);
	sink_free(&c->hs);
	buf_free(&c->hbuf);
	S.conns[c->id] = NULL;
	free(c);
	S.nconns--;
}

/* Close the socket now; the handler side may live on until it exits. */
static void
conn_close(struct conn *c)
{
	if (c->fd != -1) {
		loop_del(&S.loop, c->fd);
		close(c->fd);
		c->fd = -1;
		S.nlive--;
	}
	c->state = C_CLOSED;
	if (c->reported) {
		struct cmsg cm = {.type = CM_CLOSE, .conn = c->serial};

		(void)cmsg_sink(child_sink(c), &cm);
		c->reported = 0;
	}
	if (c->sess != NULL) {
		server_sess_release(c->sess);
		c->sess = NULL;
	}
	/* A handler sees the end of its input once what is queued is in. */
	if (c->hin != -1 && sink_empty(&c->hs)) {
		loop_del(&S.loop, c->hin);
		close(c->hin);
		c->hin = -1;
	}
	/* Freed by run() once its handler is gone too: callers still hold c. */
}

/*
 * Say why in an error frame, then close once it is out.  During the
 * handshake the frame carries the code of the refusal, so that the client
 * need not read the text.
 */
static void
conn_vfail(struct conn *c, enum wire_refusal code, const char *fmt, va_list ap)
{
	char why[256];
	const char *args[] = {why, wire_refusal_name(code), NULL};

	vsnprintf(why, sizeof(why), fmt, ap);
	log_warnx("%s: %s%s", c->remote, wire_refusal_lead(code), why);
	if (code == WR_NONE)
		args[1] = NULL;
	if (!S.o.raw && c->fd != -1) {
		c->link.ctl.start = c->link.ctl.end = 0;
		c->link.qs = c->link.q.end; /* nothing more of ours */
		(void)link_ctlv(&c->link, "error", args, NULL, 0);
		(void)link_flush(&c->link);
	}
	conn_close(c);
}

static void
conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vfail(c, WR_NONE, fmt, ap);
	va_end(ap);
}

static void
conn_refuse(struct conn *c, enum wire_refusal code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vfail(c, code, fmt, ap);
	va_end(ap);
}

/*
 * The connection broke (err: the errno of the read or write, 0 for an end
 * of stream).  A sealed stream that ends without its FINAL record was cut,
 * and that is worth saying even without -v.
 */
static void
conn_broken(struct conn *c, int err)
{
	if (c->link.seal != NULL && !c->link.final_in)
		log_warnx("%s: the sealed stream was cut before its end (%s)",
		    c->remote,
		    err && err != EPIPE ? strerror(err) : "no final record");
	else if (err)
		log_info("%s: %s", c->remote, strerror(err));
}

static void
begin_linger(struct conn *c)
{
	if (c->wr_shut)
		return;
	/* Sealed: the FINAL record ends our stream, and nothing follows it;
	 * the half-close waits until it is out. */
	if (c->link.seal != NULL) {
		link_end(&c->link);
		if (link_flush(&c->link) == -1 && errno != EAGAIN) {
			conn_broken(c, errno);
			conn_close(c);
			return;
		}
		if (link_pending(&c->link) > 0) {
			loop_want(&S.loop, c->fd, POLLIN | POLLOUT);
			return;
		}
	}
	shutdown(c->fd, SHUT_WR);
	c->wr_shut = 1;
	c->state = C_LINGER;
	c->deadline = net_now_ms() + LINGER_MS;
}

static void
on_handler_out(void *arg, int fd, int revents)
{
	struct conn *c = arg;
	ssize_t r = buf_fill(&c->hbuf, fd, 65536);

	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		c->hout_eof = 1;
		loop_del(&S.loop, fd);
		close(fd);
		c->hout = -1;
	}
	conn_settle(c);
}

/* Write to the handler's standard input. */
static void
hin_flush(struct conn *c)
{
	if (sink_flush(&c->hs, written, NULL) == -1 && errno != EAGAIN) {
		/* It stopped reading: what is queued is not acknowledged. */
		c->hin_dead = 1;
		c->hs.b.start = c->hs.b.end = 0;
		c->hs.count = 0;
		loop_del(&S.loop, c->hin);
		close(c->hin);
		c->hin = -1;
	}
}

static void
on_handler_in(void *arg, int fd, int revents)
{
	struct conn *c = arg;

	hin_flush(c);
	conn_settle(c);
}

static void
setenv_num(const char *name, unsigned long v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lu", v);
	setenv(name, s, 1);
}

static int
spawn(struct conn *c)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) == -1)
		return (-1);
	if (pipe2(out, O_CLOEXEC) == -1) {
		close(in[0]);
		close(in[1]);
		return (-1);
	}
	if ((pid = fork()) == -1) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return (-1);
	}
	if (pid == 0) {
		char host[128];
		unsigned port;
		sigset_t none;

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(126);
		if (c->ra.ss_family == AF_UNIX) {
			struct ucred cr;
			socklen_t len = sizeof(cr);

			setenv("PROTO", "UNIX", 1);
			if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr,
				&len) == 0) {
				setenv_num("UNIXREMOTEEUID", cr.uid);
				setenv_num("UNIXREMOTEEGID", cr.gid);
				setenv_num("UNIXREMOTEPID", cr.pid);
			}
		} else {
			setenv("PROTO", "TCP", 1);
			addr_host_port((struct sockaddr *)&c->la, c->lalen,
			    host, sizeof(host), &port);
			setenv("TCPLOCALIP", host, 1);
			setenv_num("TCPLOCALPORT", port);
			addr_host_port((struct sockaddr *)&c->ra, c->ralen,
			    host, sizeof(host), &port);
			setenv("TCPREMOTEIP", host, 1);
			setenv_num("TCPREMOTEPORT", port);
		}
		if (!S.o.raw)
			setenv("QUILTREMOTENODE", c->shake.peer.node, 1);
		execl("/bin/sh", "sh", "-c", S.o.cmd, (char *)NULL);
		_exit(127);
	}
	/* The parent keeps the write end of in and the read end of out. */
	close(in[0]);
	close(out[1]);
	c->pid = pid;
	c->hin = in[1];
	c->hout = out[0];
	if (net_setup_fd(c->hin) == -1 || net_setup_fd(c->hout) == -1)
		return (-1);
	if (sink_init(&c->hs, c->hin, 0, fmt_bound(S.o.maxmsg) + OUT_CHUNK,
		MARKS) == -1 ||
	    buf_init(&c->hbuf, 0, S.o.maxmsg + 65536) == -1)
		return (-1);
	c->hs.term = S.o.raw ? -1 : fmt_term(S.o.fmt);
	loop_add(&S.loop, c->hin, 0, on_handler_in, c);
	loop_add(&S.loop, c->hout, POLLIN, on_handler_out, c);
	return (0);
}

/* The handler, once the peer is who it says. */
static void
conn_ready(struct conn *c)
{
	c->state = C_OPEN;
	if (S.o.child) {
		struct cmsg cm = {.type = CM_OPEN, .conn = c->serial};

		cm.node.p = c->shake.peer.node;
		cm.node.len = strlen(c->shake.peer.node);
		cm.inst.p = c->shake.peer.relay;
		cm.inst.len = strlen(c->shake.peer.relay);
		cm.text.p = c->remote;
		cm.text.len = strlen(c->remote);
		(void)cmsg_sink(child_sink(c), &cm);
		c->reported = 1;
	}
	if (S.o.cmd != NULL && spawn(c) == -1) {
		log_warn("%s: handler", c->remote);
		conn_close(c);
	}
}

/*
 * A frame of the handshake (f bytes, taken here): the peer's hello, or,
 * sealed, its key confirmation.  server.c decides; here its answer is sent,
 * a session resumed elsewhere is ended, and the link sealed.
 */
static void
handshake(struct conn *c, const char *body, size_t len, size_t f)
{
	char frame[WIRE_HELLO_MAX];
	enum server_state was = c->shake.state, st;
	size_t flen;

	st = server_frame(&c->shake, &S.hs, &S.sess, c, net_now_ms(),
	    buf_data(&c->link.in), f, body, len, frame, &flen);
	if (st == SERVER_REFUSED) {
		conn_refuse(c, c->shake.code, "%s", c->shake.why);
		return;
	}
	link_take(&c->link, f);
	if (was == SERVER_HELLO) {
		struct conn *old = c->shake.displaced;

		c->sess = c->shake.sess;
		/* A reconnect of a session still open here: the new one
		 * wins. */
		if (old != NULL) {
			log_info("%s: session resumed from %s", old->remote,
			    c->remote);
			old->sess = NULL;
			conn_close(old);
		}
		/* Acks sent on a lost connection may never have arrived:
		 * start from what the sender says it has, so the next ack
		 * covers the rest. */
		c->acked = c->shake.peer.from >= 0 &&
			(uint64_t)c->shake.peer.from < c->sess->written ?
		    (uint64_t)c->shake.peer.from :
		    c->sess->written;
		(void)link_ctl(&c->link, frame, flen);
		link_set_peer_max(&c->link, c->shake.peer.maxmsg);
		log_info("%s: node %s, session %s, from message %" PRIu64,
		    c->remote, c->shake.peer.node,
		    c->shake.known ? "resumed" : "new", c->sess->taken);
		if (st == SERVER_CONFIRM) {
			c->state = C_CONFIRM;
			return;
		}
		conn_ready(c);
		return;
	}
	/* Our confirmation, the last plaintext: queued ahead of the first
	 * record. */
	if (buf_len(&c->link.ctl) > 0 ||
	    buf_append(&c->link.ctl, frame, flen) == -1 ||
	    link_flush(&c->link) != (ssize_t)flen) {
		conn_refuse(c, WR_BUSY, "could not send the key confirmation");
		return;
	}
	if (link_seal(&c->link, server_take_seal(&c->shake)) == -1) {
		conn_refuse(c, WR_BUSY, "out of memory");
		return;
	}
	log_info("%s: sealed with key %d", c->remote, c->shake.key + 1);
	conn_ready(c);
}

static int
dest_ok(const struct wire_msg *m)
{
	return (m->destlen == 0 ||
	    (m->destlen == 3 && memcmp(m->dest, "all", 3) == 0) ||
	    (m->destlen == strlen(S.o.node) &&
		memcmp(m->dest, S.o.node, m->destlen) == 0));
}

/* Frames from a framed peer, as far as the output takes them. */
static void
process_framed(struct conn *c)
{
	struct sink *sk = S.o.cmd ? &c->hs : S.o.child ? child_sink(c) : &S.out;
	struct server_sess *s = c->sess;
	uint64_t before = s ? s->taken : 0;
	struct frame_iter it;
	struct wire_msg m;
	unsigned long long v;
	const char *body, *p;
	size_t len, n;
	ssize_t f, k;
	char *w;

	c->blocked = 0;
	while (c->state == C_OPEN || c->state == C_HELLO ||
	    c->state == C_CONFIRM) {
		f = link_frame(&c->link,
		    c->state != C_OPEN ? WIRE_HELLO_MAX : 0, &body, &len);
		if (f == 0)
			break;
		if (f == -1) {
			conn_refuse(c, c->state == C_OPEN ? WR_NONE : WR_HELLO,
			    "%s",
			    errno == EMSGSIZE ? "frame over the message limit" :
						"malformed frame");
			return;
		}
		if (c->state == C_HELLO || c->state == C_CONFIRM) {
			handshake(c, body, len, f);
			if (c->state != C_OPEN && c->state != C_CONFIRM)
				return;
			s = c->sess;
			before = s->taken;
			continue;
		}
		if (S.o.child) {
			switch (child_batch(c)) {
			case 1:
				continue;
			case -1:
				c->blocked = 1;
				goto out;
			}
		}
		/* A msg for us: [], or our name (from a relay). */
		if ((m.args = wire_is_msg(body, len, &m.argslen)) == NULL &&
		    len >= S.o.minelen &&
		    memcmp(body, S.o.mine, S.o.minelen) == 0) {
			m.args = body + S.o.minelen;
			m.argslen = len - S.o.minelen;
		}
		if (m.args != NULL) {
			m.cmd = W_MSG;
			m.dest = "";
			m.destlen = 0;
		} else if (wire_decode(body, len, &m) == -1) {
			conn_fail(c, "malformed message");
			return;
		}
		if (S.o.child) {
			if (m.cmd == W_MSG && c->peer_bye) {
				conn_fail(c, "message after bye");
				return;
			}
			switch (child_frame(c, &m, buf_data(&c->link.in), f)) {
			case 1:
				link_take(&c->link, f);
				continue;
			case -1:
				c->blocked = 1;
				goto out;
			}
		}
		switch (m.cmd) {
		case W_MSG:
			if (c->peer_bye) {
				conn_fail(c, "message after bye");
				return;
			}
			if (!dest_ok(&m)) {
				conn_fail(c, "no route to %.*s", (int)m.destlen,
				    m.dest);
				return;
			}
			if (c->hin_dead || (S.o.cmd && c->exited)) {
				/* Nobody takes it: it stays unacknowledged. */
				break;
			}
			if (sk->count == sk->cap ||
			    (w = sink_reserve(sk, fmt_bound(m.argslen))) ==
				NULL) {
				c->blocked = 1;
				goto out;
			}
			k = fmt_put(S.o.fmt, w, m.args, m.argslen, &S.escaped);
			if (k == -1) {
				conn_fail(c, "malformed message");
				return;
			}
			sink_commit(sk, k);
			s->taken++;
			break;
		case W_ACK:
			frame_iter_init(&it, m.args, m.argslen);
			if (frame_next_part(&it, &p, &n) != 1 ||
			    frame_part_num(p, n, UINT64_MAX, &v) == -1 ||
			    link_ack(&c->link, v) == -1) {
				conn_fail(c, "bad ack");
				return;
			}
			break;
		case W_PING: {
			char seq[24];
			const char *args[] = {seq, S.o.node, "0", NULL};

			/* A node of a mesh is for quilt-relay to reach. */
			if (!dest_ok(&m)) {
				conn_fail(c, "no route to %.*s",
				    (int)(m.destlen > WIRE_NODE_MAX ?
					    WIRE_NODE_MAX :
					    m.destlen),
				    m.dest);
				return;
			}
			frame_iter_init(&it, m.args, m.argslen);
			if (frame_next_part(&it, &p, &n) != 1 || n > 20) {
				conn_fail(c, "bad ping");
				return;
			}
			memcpy(seq, p, n);
			seq[n] = '\0';
			if (frame_next_part(&it, &p, &n) != 1)
				p = "", n = 0;
			(void)link_ctlv(&c->link, "pong", args, p, n);
			break;
		}
		case W_PONG:
			break;
		case W_BYE:
			c->peer_bye = 1;
			break;
		case W_ERROR:
			frame_iter_init(&it, m.args, m.argslen);
			if (frame_next_part(&it, &p, &n) != 1)
				p = "", n = 0;
			log_warnx("%s: the peer says: %.*s", c->remote, (int)n,
			    p);
			conn_close(c);
			return;
		default:
			conn_fail(c, "unknown command '%.*s'",
			    (int)(m.namelen > 32 ? 32 : m.namelen), m.name);
			return;
		}
		link_take(&c->link, f);
	}
out:
	if (s != NULL && s->taken != before)
		(void)sink_mark(sk, s - S.sess.s, s->gen, s->taken,
		    s->taken - before);
}

/* Raw mode: whole records to standard output, or bytes to the handler. */
static void
process_raw(struct conn *c)
{
	struct buf *in = &c->link.in;
	const char *p;
	size_t len;
	ssize_t r;
	char *w;

	c->blocked = 0;
	if (S.o.cmd) {
		if (c->hin == -1) {
			in->start = in->end = 0;
			return;
		}
		if (buf_len(in) == 0)
			return;
		if ((w = sink_reserve(&c->hs, buf_len(in))) == NULL) {
			c->blocked = 1;
			return;
		}
		memcpy(w, buf_data(in), buf_len(in));
		sink_commit(&c->hs, buf_len(in));
		buf_consume(in, buf_len(in));
		return;
	}
	for (;;) {
		r = fmt_next(S.o.fmt, buf_data(in), buf_len(in), c->rd_eof,
		    S.o.maxmsg, &p, &len);
		if (r == 0)
			return;
		if (r == -1) {
			conn_fail(c,
			    "record longer than the limit of %zu bytes",
			    S.o.maxmsg);
			return;
		}
		if ((w = sink_reserve(&S.out, len + 1)) == NULL) {
			c->blocked = 1;
			return;
		}
		memcpy(w, p, len);
		w[len] = S.o.fmt == FMT_NUL ? '\0' : '\n';
		sink_commit(&S.out, len + 1);
		buf_consume(in, r);
	}
}

static void
conn_process(struct conn *c)
{
	if (S.o.raw)
		process_raw(c);
	else
		process_framed(c);
}

/* Replies: the handler's output, as messages back to the sender. */
static void
queue_replies(struct conn *c)
{
	const char *p;
	size_t len, fsz;
	ssize_t r;
	char *w;

	if (S.o.raw) {
		/* Raw: its bytes go to the socket as they are. */
		if (buf_len(&c->hbuf) > 0 && c->fd != -1 &&
		    buf_append(&c->link.ctl, buf_data(&c->hbuf),
			buf_len(&c->hbuf)) == 0)
			buf_consume(&c->hbuf, buf_len(&c->hbuf));
		if (c->fd == -1)
			c->hbuf.start = c->hbuf.end = 0;
		return;
	}
	for (;;) {
		r = fmt_next(S.o.fmt, buf_data(&c->hbuf), buf_len(&c->hbuf),
		    c->hout_eof,
		    c->shake.peer.maxmsg ? c->shake.peer.maxmsg : S.o.maxmsg,
		    &p, &len);
		if (r == 0)
			return;
		if (r == -1) {
			log_warnx("%s: handler output: %s", c->remote,
			    errno == EMSGSIZE ?
				"message over the peer's limit" :
				"malformed netstring");
			c->hbuf.start = c->hbuf.end = 0;
			return;
		}
		if (c->fd == -1 || c->state != C_OPEN) {
			buf_consume(&c->hbuf, r); /* nobody to send to */
			continue;
		}
		fsz = S.o.fmt == FMT_NET ? wire_msgn_size(0, len) :
					   wire_msg1_size(0, len);
		if ((w = link_reserve(&c->link, fsz)) == NULL)
			return;
		if (S.o.fmt == FMT_NET)
			wire_put_msgn(w, "", 0, p, len);
		else
			wire_put_msg1(w, "", 0, p, len);
		link_commit(&c->link, fsz);
		buf_consume(&c->hbuf, r);
	}
}

static int
handler_output_done(struct conn *c)
{
	return (c->hout_eof && buf_len(&c->hbuf) == 0);
}

/* After any event on a connection: move data on and decide what is next. */
static void
conn_settle(struct conn *c)
{
	short ev = 0;

	if (c->pid > 0 || c->hout != -1 || buf_len(&c->hbuf) > 0)
		queue_replies(c);
	if (c->fd != -1 &&
	    (c->state == C_OPEN || c->state == C_HELLO ||
		c->state == C_CONFIRM) &&
	    buf_len(&c->link.in) > 0)
		conn_process(c);
	if (c->hin != -1 && (!sink_empty(&c->hs) || c->hs.count > 0))
		hin_flush(c);
	if (c->state == C_CLOSED && c->fd == -1) {
		if (c->hin != -1 && sink_empty(&c->hs)) {
			loop_del(&S.loop, c->hin);
			close(c->hin);
			c->hin = -1;
		}
		if (c->hout != -1 && !c->exited)
			loop_want(&S.loop, c->hout, POLLIN);
		return;
	}
	if (c->fd == -1)
		return;

	/* The end of the sender's input reaches the handler. */
	if (c->hin != -1 && sink_empty(&c->hs) &&
	    (c->rd_eof || c->peer_bye || S.stopping) &&
	    buf_len(&c->link.in) == 0) {
		loop_del(&S.loop, c->hin);
		close(c->hin);
		c->hin = -1;
	}

	if (S.o.raw) {
		/* Raw: half-close each way, end when both are done. */
		if (S.o.cmd && handler_output_done(c) &&
		    buf_len(&c->link.ctl) == 0 && !c->wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = 1;
		}
		if (!S.o.cmd && (c->rd_eof || S.stopping) && !c->blocked) {
			conn_close(c);
			return;
		}
		if (S.o.cmd &&
		    ((c->rd_eof && c->wr_shut) ||
			(c->exited && handler_output_done(c) &&
			    buf_len(&c->link.ctl) == 0))) {
			conn_close(c);
			return;
		}
	} else if (c->state == C_OPEN) {
		int all_written = c->sess &&
		    c->sess->written == c->sess->taken &&
		    buf_len(&c->link.in) == 0;

		conn_ack(c);
		if (S.o.cmd) {
			if (!c->bye_sent &&
			    (handler_output_done(c) || c->exited) &&
			    !link_unsent(&c->link) && c->hout == -1) {
				(void)link_ctlv(&c->link, "bye", NULL, NULL, 0);
				c->bye_sent = 1;
			}
			if (c->bye_sent && c->exited && !c->exit_sent) {
				char st[8];
				const char *args[] = {st, NULL};

				snprintf(st, sizeof(st), "%d", c->status);
				(void)link_ctlv(&c->link, "exit", args, NULL,
				    0);
				c->exit_sent = 1;
			}
			if (c->exit_sent && link_pending(&c->link) == 0)
				begin_linger(c);
		} else {
			/* -C: the relay's answers (done, pong) may still
			 * come after the client's bye; the client closes. */
			if (S.o.child && c->peer_bye && c->rd_eof) {
				conn_close(c);
				return;
			}
			if (!c->bye_sent && c->peer_bye && all_written &&
			    !S.o.child) {
				(void)link_ctlv(&c->link, "bye", NULL, NULL, 0);
				c->bye_sent = 1;
			}
			if (c->bye_sent && link_pending(&c->link) == 0)
				begin_linger(c);
		}
		/* Stopping: once what was received is written and acked. */
		if (S.stopping && !S.o.cmd && all_written &&
		    link_pending(&c->link) == 0 && c->state == C_OPEN)
			begin_linger(c);
		if (c->rd_eof && c->state == C_OPEN && !c->peer_bye &&
		    buf_len(&c->link.in) == 0) {
			log_info("%s: connection cut", c->remote);
			conn_close(c);
			return;
		}
	}
	if (link_pending(&c->link) > 0 && link_flush(&c->link) == -1 &&
	    errno != EAGAIN) {
		conn_broken(c, errno);
		conn_close(c);
		return;
	}
	/* Everything said, bye included: half-close and wait for the end. */
	if (c->state == C_OPEN && c->bye_sent && link_pending(&c->link) == 0 &&
	    (!S.o.cmd || c->exit_sent))
		begin_linger(c);
	if (c->rd_eof && c->state == C_LINGER) {
		conn_close(c);
		return;
	}
	if (!c->rd_eof && !c->blocked && !S.stopping &&
	    buf_room(&c->link.in) + c->link.in.start +
		    (c->link.in.max - c->link.in.cap) >
		0)
		ev |= POLLIN;
	if (c->state == C_LINGER && !c->rd_eof)
		ev |= POLLIN;
	if (link_pending(&c->link) > 0)
		ev |= POLLOUT;
	loop_want(&S.loop, c->fd, ev);
	if (c->hin != -1)
		loop_want(&S.loop, c->hin, sink_empty(&c->hs) ? 0 : POLLOUT);
	if (c->hout != -1)
		loop_want(&S.loop, c->hout,
		    buf_len(&c->link.q) < c->link.window / 2 &&
			    buf_len(&c->link.ctl) < 4 * OUT_CHUNK ?
			POLLIN :
			0);
}

static void
on_conn(void *arg, int fd, int revents)
{
	struct conn *c = arg;
	ssize_t r;

	if (revents & POLLOUT) {
		if (link_flush(&c->link) == -1 && errno != EAGAIN) {
			conn_broken(c, errno);
			conn_close(c);
			return;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		r = link_read(&c->link);
		if (r == -1 && errno == EBADMSG) {
			/* Nothing of a bad record is delivered, nor after it;
			 * the sender is told, in our own sealed stream. */
			c->link.in.start = c->link.in.end = 0;
			conn_fail(c,
			    "integrity check failed: a sealed record "
			    "was altered, replayed or forged");
			return;
		}
		if (r == 0 ||
		    (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
			c->rd_eof = 1;
			conn_broken(c, r == -1 ? errno : 0);
		}
		if (c->state == C_LINGER) {
			c->link.in.start = c->link.in.end = 0;
			if (c->rd_eof) {
				conn_close(c);
				return;
			}
		}
	}
	conn_settle(c);
}

static void
on_accept(void *arg, int fd, int revents)
{
	struct conn *c;
	int cfd, id;

	/* Only with a free slot: what waits stays in the backlog. */
	for (int burst = 0;
	     burst < 64 && S.nlive < S.o.maxconn && S.nconns < S.nslots;
	     burst++) {
		struct sockaddr_storage ra;
		socklen_t ralen = sizeof(ra);

		cfd = accept4(fd, (struct sockaddr *)&ra, &ralen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd == -1) {
			if (errno != EAGAIN && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warn("accept");
			return;
		}
		for (id = 0; id < S.nslots && S.conns[id] != NULL; id++)
			;
		if (id == S.nslots || (c = calloc(1, sizeof(*c))) == NULL) {
			close(cfd);
			return;
		}
		c->id = id;
		server_hs_init(&c->shake);
		c->serial = ++S.serial;
		c->fd = cfd;
		c->hin = c->hout = -1;
		c->ra = ra;
		c->ralen = ralen;
		c->lalen = sizeof(c->la);
		getsockname(cfd, (struct sockaddr *)&c->la, &c->lalen);
		if (ra.ss_family == AF_UNIX)
			snprintf(c->remote, sizeof(c->remote), "%s", S.bound);
		else
			addr_str(c->remote, (struct sockaddr *)&ra, ralen);
		(void)net_setup_fd(cfd);
		if (link_init(&c->link, cfd,
			S.o.raw ? S.o.maxmsg + 1 : S.o.maxmsg, WINDOW,
			0) == -1) {
			close(cfd);
			free(c);
			return;
		}
		S.conns[id] = c;
		S.nconns++;
		S.nlive++;
		loop_add(&S.loop, cfd, POLLIN, on_conn, c);
		if (S.o.raw) {
			c->state = C_OPEN;
			if (S.o.cmd && spawn(c) == -1) {
				log_warn("%s: handler", c->remote);
				conn_close(c);
				continue;
			}
		} else {
			c->state = C_HELLO;
			c->deadline = net_now_ms() + S.hello_ms;
		}
		log_info("%s: connected", c->remote);
	}
}

static void
reap(void *arg, int sig)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < S.nslots; i++) {
			struct conn *c = S.conns[i];

			if (c == NULL || c->pid != pid)
				continue;
			c->pid = 0;
			c->exited = 1;
			c->status = WIFEXITED(st) ? WEXITSTATUS(st) :
						    128 + WTERMSIG(st);
			/* Take what it wrote before it went; a grandchild may
			 * hold the pipe open, so do not wait for its end. */
			if (c->hout != -1) {
				while (buf_fill(&c->hbuf, c->hout, 65536) > 0)
					;
				loop_del(&S.loop, c->hout);
				close(c->hout);
				c->hout = -1;
				c->hout_eof = 1;
			}
			conn_settle(c);
			break;
		}
	}
}

static void
remove_files(void)
{
	if (S.o.ready)
		unlink(S.o.ready);
	if (S.a.kind == ADDR_UNIX && S.lfd != -1)
		unlink(S.a.path);
}

static void
stop(void *arg, int sig)
{
	if (S.stopping) {
		remove_files();
		_exit(1);
	}
	S.stopping = 1;
	S.drain_deadline = net_now_ms() +
	    env_ms("QUILT_DRAIN_TIMEOUT", DRAIN_TIMEOUT_MS);
	log_info("stopping: writing what was received");
	if (S.lfd != -1) {
		loop_del(&S.loop, S.lfd);
		close(S.lfd);
		remove_files();
		S.lfd = -1;
	}
	for (int i = 0; i < S.nslots; i++)
		if (S.conns[i] != NULL)
			conn_settle(S.conns[i]);
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

static void
on_stdout(void *arg, int fd, int revents)
{
	flush_out();
}

static int
all_done(void)
{
	if (!sink_empty(&S.out) || (S.o.child && !sink_empty(&S.cout)))
		return (0);
	for (int i = 0; i < S.nslots; i++)
		if (S.conns[i] != NULL)
			return (0);
	return (1);
}

static int
run(void)
{
	for (;;) {
		long long now = net_now_ms(), next = -1;
		int any_blocked = 0;

		flush_out();
		for (int i = 0; i < S.nslots; i++) {
			struct conn *c = S.conns[i];

			if (c == NULL)
				continue;
			if (c->state == C_CLOSED) {
				conn_free(c);
				continue;
			}
			if ((c->state == C_HELLO || c->state == C_CONFIRM ||
				c->state == C_LINGER) &&
			    now >= c->deadline) {
				if (c->state != C_LINGER)
					log_info("%s: no hello in time",
					    c->remote);
				else
					log_info("%s: the peer did not close "
						 "in time after our bye",
					    c->remote);
				conn_close(c);
				continue;
			}
			/* Acks for what the last write took; output room for
			 * those that waited for it. */
			if (c->blocked ||
			    (c->sess && c->sess->written != c->acked) ||
			    (c->hin != -1 && c->hs.count > 0))
				conn_settle(c);
			if ((c = S.conns[i]) == NULL)
				continue;
			any_blocked |= c->blocked;
			if (c->state == C_HELLO || c->state == C_CONFIRM ||
			    c->state == C_LINGER)
				if (next == -1 || c->deadline < next)
					next = c->deadline;
		}
		if (S.stopping) {
			if (all_done())
				return (0);
			if (now >= S.drain_deadline) {
				int handlers = 0;

				/* Handlers run in their own process groups. */
				for (int i = 0; i < S.nslots; i++)
					if (S.conns[i] && S.conns[i]->pid > 0) {
						kill(-S.conns[i]->pid, SIGTERM);
						handlers++;
					}
				if (handlers)
					log_warnx("stopping: drain deadline "
						  "passed; %d handler%s still "
						  "running "
						  "sent SIGTERM",
					    handlers, handlers == 1 ? "" : "s");
				if (!sink_empty(&S.out))
					log_warnx("stopping: drain deadline "
						  "passed with standard output "
						  "blocked;"
						  " what is unwritten is not "
						  "acknowledged");
				return (0);
			}
			if (next == -1 || S.drain_deadline < next)
				next = S.drain_deadline;
		}
		if (S.lfd != -1)
			loop_want(&S.loop, S.lfd,
			    S.nlive < S.o.maxconn && S.nconns < S.nslots ?
				POLLIN :
				0);
		loop_want(&S.loop, 1, sink_empty(&S.out) ? 0 : POLLOUT);
		if (S.o.child)
			loop_want(&S.loop, 3,
			    sink_empty(&S.cout) ? 0 : POLLOUT);
		if (S.escaped && !S.warned_escape) {
			log_warnx(FMT_ESCAPED_WARNING);
			S.warned_escape = 1;
		}
		(void)any_blocked;
		if (loop_once(&S.loop,
			next == -1 ? -1 : (int)(next > now ? next - now : 0)) ==
		    -1)
			log_die(EX_OSERR, "poll");
	}
}

int
main(int argc, char *argv[])
{
	struct opts *o = &S.o;
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *why, *addrarg = ":1601";
	int ch, gai, seen_b = 0, seen_c = 0, seen_e = 0, seen_M = 0, seen_n = 0,
		     seen_P = 0;

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	o->fmt = FMT_LINE;
	o->backlog = 20;
	o->maxconn = 40;
	o->maxmsg = 16 * 1024 * 1024;
	while ((ch = getopt(argc, argv, "+0b:C:c:e:hk:M:Nn:P:qRvV")) != -1) {
		switch (ch) {
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
				log_diex(EX_USAGE, "-C: bad instance id");
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
		case 'h':
			usage(0);
		case 'k':
			/* Twice while a key is being rotated: either is good.
			 */
			if (o->nkeys == 2)
				log_diex(EX_USAGE,
				    "option -k given more than "
				    "twice");
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
		case 'V':
			print_version();
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(EX_USAGE);
	if (argc == 1)
		addrarg = argv[0];
	if (o->raw && o->nkeys > 0)
		log_diex(EX_USAGE,
		    "-R and -k are exclusive: raw mode has no "
		    "protocol to seal");
	if (o->child && (o->raw || o->cmd))
		log_diex(EX_USAGE,
		    "-C is quilt-relay's child mode: no -R, no -e");
	if (o->raw && o->fmt == FMT_NET)
		log_diex(EX_USAGE,
		    "-R and -N are exclusive: raw mode has no "
		    "netstrings");
	if (addr_parse(addrarg, 1, &S.a, &why) == -1)
		log_diex(EX_USAGE, "bad address %s: %s", addrarg, why);
	if (S.a.kind == ADDR_UDP)
		log_diex(EX_USAGE, "%s: this build has no udp transport",
		    addrarg);
	if (!o->node[0])
		wire_default_node(o->node);
	o->minelen = frame_put(frame_put(o->mine, o->node, strlen(o->node)),
			 "msg", 3) -
	    o->mine;
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	S.hello_ms = env_ms("QUILT_HELLO_TIMEOUT", HELLO_TIMEOUT_MS);
	for (int k = 0; k < o->nkeys; k++) {
		opt_key(o->keyfile[k], S.keys[k], EX_NOINPUT, EX_CONFIG);
		S.hs.key[k] = S.keys[k];
	}
	S.hs.nkeys = o->nkeys;
	memcpy(S.hs.node, o->node, sizeof(S.hs.node));
	S.hs.maxmsg = o->maxmsg;
	S.hs.handler = o->cmd != NULL;
	if (o->child)
		snprintf(S.hs.relay, sizeof(S.hs.relay), "%s", o->child);

	/* Everything that can fail for want of resources, before the loop. */
	if ((S.conns = calloc(S.nslots = 2 * o->maxconn, sizeof(*S.conns))) ==
		NULL ||
	    server_table_init(&S.sess, SESS_MAX, SESS_AGE_MS) == -1 ||
	    sink_init(&S.out, 1, 0, fmt_bound(o->maxmsg) + OUT_CHUNK, MARKS) ==
		-1 ||
	    loop_init(&S.loop) == -1)
		log_die(EX_OSERR, "memory");
	S.lfd = net_listen(&S.a, SOCK_STREAM, o->backlog, &ss, &sslen, &gai);
	if (S.lfd == -1) {
		if (gai != 0)
			log_diex(EX_NOHOST, "resolve %s: %s", S.a.host,
			    gai_strerror(gai));
		log_die(EX_OSERR, "bind %s", addrarg);
	}
	if (S.a.kind == ADDR_UNIX) {
		snprintf(S.bound, sizeof(S.bound), "unix:%s", S.a.path);
	} else if (S.a.host[0] == '\0') {
		char host[128];
		unsigned port;

		addr_host_port((struct sockaddr *)&ss, sslen, host,
		    sizeof(host), &port);
		snprintf(S.bound, sizeof(S.bound), ":%u", port);
	} else {
		addr_str(S.bound, (struct sockaddr *)&ss, sslen);
	}
	if (loop_add(&S.loop, S.lfd, POLLIN, on_accept, NULL) == -1 ||
	    loop_signal(&S.loop, SIGCHLD, reap, NULL) == -1 ||
	    loop_signal(&S.loop, SIGTERM, stop, NULL) == -1 ||
	    loop_signal(&S.loop, SIGINT, stop, NULL) == -1 ||
	    loop_signal(&S.loop, SIGHUP, stop, NULL) == -1)
		log_die(EX_OSERR, "setup");
	S.out.term = o->raw || o->child ? -1 : fmt_term(o->fmt);
	sink_nonblock_std(1);
	loop_add(&S.loop, 1, 0, on_stdout, NULL);
	if (o->child) {
		struct cmsg cm = {.type = CM_LISTENING};

		/* Standard input and output are one socket pair to the
		 * router: what it says comes in on 0, and its end is ours. */
		if (buf_init(&S.rin, 65536, 4 * 65536 + 2 * o->maxmsg) == -1 ||
		    sink_init(&S.cout, 3, 0, fmt_bound(o->maxmsg) + OUT_CHUNK,
			MARKS) == -1 ||
		    loop_add(&S.loop, 0, POLLIN, on_router, NULL) == -1 ||
		    loop_add(&S.loop, 3, 0, on_stdout, NULL) == -1)
			log_die(EX_OSERR, "memory");
		S.cout.term = -1;
		{
			/* Connection numbers from our start time: a listen
			 * child started again never reuses its predecessor's,
			 * which the router may still be working through. */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			S.serial = (uint64_t)ts.tv_sec * 1000000 +
			    ts.tv_nsec / 1000;
		}
		(void)fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
		cm.text.p = S.bound;
		cm.text.len = strlen(S.bound);
		(void)cmsg_sink(&S.out, &cm);
	}
	if (o->ready && ready_write(o->ready, S.bound) == -1)
		log_die(EX_OSERR, "ready file %s", o->ready);
	log_warnx("listening on %s", S.bound);
	if (o->nkeys == 0 && !is_loopback(&ss))
		log_warnx("%s is not a loopback address and there is no -k: "
			  "any peer that reaches it is accepted",
		    S.bound);
	run();
	seal_wipe(S.keys, sizeof(S.keys));
	remove_files();
	return (0);
}
