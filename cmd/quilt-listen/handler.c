/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen -e: one handler process per connection (Kamaelia's
 * ConnectedServer, as tcpserver does it), run by /bin/sh -c in a process
 * group of its own, with the connection as two pipes and the UCSPI
 * environment; and the half-close carried through both ways: the end of
 * the sender's input reaches the handler's standard input, the end of the
 * handler's output reaches the sender.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "net.h"

void
handler_init(struct handler *h)
{
	memset(h, 0, sizeof(*h));
	h->in = h->out = -1;
}

static void
setenv_num(const char *name, unsigned long v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lu", v);
	setenv(name, s, 1);
}

/* In the child: PROTO and the addresses of the connection (UCSPI). */
static void
ucspi_env(const struct conn *c, int raw)
{
	char host[128];
	unsigned port;

	if (c->ra.ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		setenv("PROTO", "UNIX", 1);
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) ==
		    0) {
			setenv_num("UNIXREMOTEEUID", cr.uid);
			setenv_num("UNIXREMOTEEGID", cr.gid);
			setenv_num("UNIXREMOTEPID", cr.pid);
		}
	} else {
		/* udp: the same four, named UDP... (the local address is the
		 * one the listener bound). */
		const char *pr = c->link.uc != NULL ? "UDP" : "TCP";
		char name[16];

		setenv("PROTO", pr, 1);
		addr_host_port((const struct sockaddr *)&c->la, c->lalen, host,
		    sizeof(host), &port);
		snprintf(name, sizeof(name), "%sLOCALIP", pr);
		setenv(name, host, 1);
		snprintf(name, sizeof(name), "%sLOCALPORT", pr);
		setenv_num(name, port);
		addr_host_port((const struct sockaddr *)&c->ra, c->ralen, host,
		    sizeof(host), &port);
		snprintf(name, sizeof(name), "%sREMOTEIP", pr);
		setenv(name, host, 1);
		snprintf(name, sizeof(name), "%sREMOTEPORT", pr);
		setenv_num(name, port);
	}
	if (!raw)
		setenv("QUILTREMOTENODE", c->shake.peer.node, 1);
}

/*
 * Start c's handler: its pipes go into the loop with the callbacks given
 * (on_in when its standard input takes more, on_out when its output has
 * something), both with arg.  0, or -1 with errno.
 */
int
handler_spawn(struct handler *h, const struct conn *c, struct loop *loop,
    loop_fn *on_in, loop_fn *on_out, void *arg)
{
	const struct opts *o = c->cs->o;
	int in[2], out[2];
	pid_t pid;

	h->loop = loop;
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
		ucspi_env(c, o->raw);
		execl("/bin/sh", "sh", "-c", o->cmd, (char *)NULL);
		_exit(127);
	}
	/* The parent keeps the write end of in and the read end of out. */
	close(in[0]);
	close(out[1]);
	h->pid = pid;
	h->in = in[1];
	h->out = out[0];
	if (net_setup_fd(h->in) == -1 || net_setup_fd(h->out) == -1)
		return (-1);
	if (sink_init(&h->s, h->in, 0, fmt_bound(o->maxmsg) + OUT_CHUNK,
		MARKS) == -1 ||
	    buf_init(&h->b, 0, o->maxmsg + 65536) == -1)
		return (-1);
	h->s.term = o->raw ? -1 : fmt_term(o->fmt);
	loop_add(loop, h->in, 0, on_in, arg);
	loop_add(loop, h->out, POLLIN, on_out, arg);
	return (0);
}

static void
close_out(struct handler *h)
{
	loop_del(h->loop, h->out);
	close(h->out);
	h->out = -1;
	h->out_eof = 1;
}

/* Its standard input ends: it sees end of input. */
void
handler_close_in(struct handler *h)
{
	if (h->in == -1)
		return;
	loop_del(h->loop, h->in);
	close(h->in);
	h->in = -1;
}

/* One read of its standard output: 1 when that has ended (now closed). */
int
handler_read(struct handler *h)
{
	ssize_t r = buf_fill(&h->b, h->out, 65536);

	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		close_out(h);
		return (1);
	}
	return (0);
}

/*
 * Write to its standard input; done(arg, ...) for the messages written.
 * When it stops reading, what is queued is not acknowledged.
 */
void
handler_flush(struct handler *h, sink_done_fn *done, void *arg)
{
	if (sink_flush(&h->s, done, arg) == -1 && errno != EAGAIN) {
		h->in_dead = 1;
		h->s.b.start = h->s.b.end = 0;
		h->s.count = 0;
		handler_close_in(h);
	}
}

/* It was reaped with this wait status. */
void
handler_exited(struct handler *h, int status)
{
	h->pid = 0;
	h->exited = 1;
	h->status = WIFEXITED(status) ? WEXITSTATUS(status) :
					128 + WTERMSIG(status);
	/* Take what it wrote before it went; a grandchild may hold the pipe
	 * open, so do not wait for its end. */
	if (h->out != -1) {
		while (buf_fill(&h->b, h->out, 65536) > 0)
			;
		close_out(h);
	}
}

void
handler_free(struct handler *h)
{
	handler_close_in(h);
	if (h->out != -1)
		close_out(h);
	sink_free(&h->s);
	buf_free(&h->b);
}

/* Replies: the handler's output, as messages back to the sender. */
void
handler_replies(struct conn *c)
{
	const struct opts *o = c->cs->o;
	struct handler *h = &c->h;
	const char *p;
	size_t len, fsz;
	ssize_t r;
	char *w;

	if (o->raw) {
		/* Raw: its bytes go to the socket as they are. */
		if (buf_len(&h->b) > 0 && c->fd != -1 &&
		    buf_append(&c->link.ctl, buf_data(&h->b), buf_len(&h->b)) ==
			0)
			buf_consume(&h->b, buf_len(&h->b));
		if (c->fd == -1)
			h->b.start = h->b.end = 0;
		return;
	}
	for (;;) {
		r = fmt_next(o->fmt, buf_data(&h->b), buf_len(&h->b),
		    h->out_eof,
		    c->shake.peer.maxmsg ? c->shake.peer.maxmsg : o->maxmsg, &p,
		    &len);
		if (r == 0)
			return;
		if (r == -1) {
			log_warnx("%s: handler output: %s", c->remote,
			    errno == EMSGSIZE ?
				"message over the peer's limit" :
				"malformed netstring");
			h->b.start = h->b.end = 0;
			return;
		}
		if (c->fd == -1 || c->state != C_OPEN) {
			buf_consume(&h->b, r); /* nobody to send to */
			continue;
		}
		fsz = o->fmt == FMT_NET ? wire_msgn_size(0, len) :
					  wire_msg1_size(0, len);
		if ((w = link_reserve(&c->link, fsz)) == NULL)
			return;
		if (o->fmt == FMT_NET)
			wire_put_msgn(w, "", 0, p, len);
		else
			wire_put_msg1(w, "", 0, p, len);
		link_commit(&c->link, fsz);
		buf_consume(&h->b, r);
	}
}

/* The end of the sender's input reaches the handler, once it is all in. */
void
handler_input_end(struct conn *c)
{
	if (c->h.in != -1 && sink_empty(&c->h.s) &&
	    (c->rd_eof || c->peer_bye || c->cs->stopping) &&
	    buf_len(&c->link.in) == 0)
		handler_close_in(&c->h);
}

/*
 * Framed: the handler's end reaches the sender, as bye once its output
 * has ended and is sent, then exit STATUS once it has exited.  1 when all
 * of it is out: the connection may half-close.
 */
int
handler_end(struct conn *c)
{
	struct handler *h = &c->h;

	if (!c->bye_sent && (handler_output_done(h) || h->exited) &&
	    !link_unsent(&c->link) && h->out == -1) {
		(void)link_ctlv(&c->link, "bye", NULL, NULL, 0);
		c->bye_sent = 1;
	}
	if (c->bye_sent && h->exited && !c->exit_sent) {
		char st[8];
		const char *args[] = {st, NULL};

		snprintf(st, sizeof(st), "%d", h->status);
		(void)link_ctlv(&c->link, "exit", args, NULL, 0);
		c->exit_sent = 1;
	}
	return (c->exit_sent && link_pending(&c->link) == 0);
}

/*
 * Raw: the handler's output ended and sent is our half-close; the
 * connection ends when both directions have, or the handler has exited and
 * all it wrote is sent.  1 when it ends.
 */
int
handler_raw_end(struct conn *c)
{
	struct handler *h = &c->h;

	if (handler_output_done(h) && buf_len(&c->link.ctl) == 0 &&
	    !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
	return ((c->rd_eof && c->wr_shut) ||
	    (h->exited && handler_output_done(h) &&
		buf_len(&c->link.ctl) == 0));
}

/* The socket is gone: the handler still gets what is queued, then EOF. */
void
handler_closed(struct conn *c)
{
	if (c->h.in != -1 && sink_empty(&c->h.s))
		handler_close_in(&c->h);
	if (c->h.out != -1 && !c->h.exited)
		loop_want(c->h.loop, c->h.out, POLLIN);
}

/*
 * What its pipes wait for: its input while something is queued for it,
 * its output while the link has room for replies.
 */
void
handler_want(struct conn *c)
{
	struct handler *h = &c->h;

	if (h->in != -1)
		loop_want(h->loop, h->in, sink_empty(&h->s) ? 0 : POLLOUT);
	if (h->out != -1)
		loop_want(h->loop, h->out,
		    buf_len(&c->link.q) < c->link.window / 2 &&
			    buf_len(&c->link.ctl) < 4 * OUT_CHUNK ?
			POLLIN :
			0);
}
