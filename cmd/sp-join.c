/*
 * sp-join: connect to a Spread daemon, join groups and print every message
 * received (and with -m every membership change) on standard output.  With
 * -i it also reads requests on standard input (join, leave, msg) and sends
 * them on the same session, so that its own messages come back to it and
 * FIFO order and self-discard cover them.
 *
 * It always asks the daemon for membership messages, because its own joins
 * are confirmed only by them (-P waits for that; -e waits for the
 * self-leave notices); without -m it does not print them.  It reads the
 * daemon continuously, whatever standard input brings: the daemon drops a
 * session that lets 1000 messages pile up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "fmt.h"
#include "frame.h"
#include "log.h"
#include "opt.h"
#include "ready.h"
#include "spread.h"

#define IN_MAX (4u << 20) /* input buffer */
#define MSG_MAX (IN_MAX - 65536) /* the largest message we take */
#define OUT_MAX (64u << 20)
#define OUT_PAUSE (8u << 20) /* stop reading the daemon above this */
/* -i: the longest request (a msg to 100 groups of 31 bytes, a whole body). */
#define REQ_MAX (SPREAD_MAX_BODY + 4096)
#define TX_HIGH (1u << 20) /* stop reading requests above this */
#define TX_MAX (64u << 20)

struct opts {
	const char *daemon;
	const char *name;
	const char *ready;
	enum fmt fmt;
	int memb, fields, json;
	int input; /* -i */
	int end; /* -e: leave and exit at the end of the input */
	char **groups;
	int ngroups;
};

/* A group this session joined, or was told to on the command line. */
struct group {
	char name[SPREAD_GROUP_SIZE];
	int member; /* a join sent, and no leave since */
	int argv; /* named on the command line: -P waits for it */
	int confirmed; /* argv: the daemon has shown us in it */
	int joining; /* a join sent, its membership not seen yet */
	int leaving; /* leaves sent whose self-leave notice has not come */
};

struct state {
	struct opts *o;
	struct spread_addr addr;
	struct spread_session s;
	struct buf in, out, tx, part;
	struct buf req; /* -i: standard input */
	struct spread_req r; /* the request being sent */
	struct group *g;
	int ng, gcap;
	int nconfirmed; /* argv groups confirmed */
	int leaving; /* self-leave notices still to come */
	unsigned long long recno; /* records of standard input */
	unsigned long long sent, received;
	int in_eof, in_done, draining;
	int ready_written;
	int escaped_warned;
	int stdout_nb; /* we set O_NONBLOCK on stdout */
	int stdout_flags;
};

static int sigpipe_fd[2] = {-1, -1};

/*
 * The set-up failed: spread.c says what happened, and the exit status is
 * ours (STYLE.md): a name that did not resolve 68, a timeout 75, our own
 * resources 71, a daemon that does not speak the protocol 76, any other
 * refusal 69.
 */
static noreturn void
setup_failed(const char *daemon, const struct spread_addr *a, int code,
    const char *detail)
{
	struct spread_setup_err e;
	int status = EX_UNAVAILABLE;

	spread_setup_error(&e, a, code, errno, detail);
	switch (e.fault) {
	case SPREAD_FAULT_RESOLVE:
		status = EX_NOHOST;
		break;
	case SPREAD_FAULT_TIMEOUT:
		status = EX_TEMPFAIL;
		break;
	case SPREAD_FAULT_RESOURCE:
		status = EX_OSERR;
		break;
	case SPREAD_FAULT_PROTOCOL:
		status = EX_PROTOCOL;
		break;
	case SPREAD_FAULT_REFUSED:
		break;
	}
	log_diex(status, "%s: %s", daemon, e.text);
}

static void
usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: sp-join [-0Nfjmqv] [-P file] [-s daemon] [-u private] group ...\n"
	    "       sp-join -i [-0Nefjmqv] [-P file] [-s daemon] [-u private] [group ...]\n");
	exit(status);
}

static void
on_signal(int sig)
{
	int e = errno;
	unsigned char c = sig;

	(void)write(sigpipe_fd[1], &c, 1);
	errno = e;
}

/* ------------------------------------------------------------------ */
/* Output. */

static void
restore_stdout(struct state *st)
{
	if (st->stdout_nb) {
		fcntl(1, F_SETFL, st->stdout_flags);
		st->stdout_nb = 0;
	}
}

static void
reserve(struct buf *b, size_t n)
{
	if (buf_reserve(b, n) == -1)
		log_diex(EX_SOFTWARE, "out of memory for output");
}

/* Append one part (a netstring) to the scratch body. */
static void
part(struct state *st, const void *p, size_t len)
{
	reserve(&st->part, frame_size(len));
	st->part.end = frame_put(buf_tail(&st->part), p, len) - st->part.base;
}

static void
part_str(struct state *st, const char *s)
{
	part(st, s, strlen(s));
}

/* A list of 32-byte names, joined by spaces (never in a legal name). */
static void
part_names(struct state *st, const uint8_t *names, size_t count)
{
	size_t len = 0, n;
	char *o;

	for (size_t i = 0; i < count; i++)
		len += (i > 0) + spread_name_len(names + i * SPREAD_GROUP_SIZE);
	reserve(&st->part, frame_size(len));
	o = buf_tail(&st->part);
	o += frame_put_hdr(o, len);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			*o++ = ' ';
		n = spread_name_len(names + i * SPREAD_GROUP_SIZE);
		memcpy(o, names + i * SPREAD_GROUP_SIZE, n);
		o += n;
	}
	*o++ = ',';
	st->part.end = o - st->part.base;
}

/* Write the scratch body of parts as one message in the chosen format. */
static void
emit_parts(struct state *st)
{
	int esc = 0;
	ssize_t n;

	reserve(&st->out, fmt_bound(buf_len(&st->part)));
	n = fmt_put(st->o->fmt, buf_tail(&st->out), buf_data(&st->part),
	    buf_len(&st->part), &esc);
	if (n == -1)
		log_diex(EX_SOFTWARE, "cannot format a message");
	st->out.end += n;
	st->part.start = st->part.end = 0;
	if (esc && !st->escaped_warned) {
		st->escaped_warned = 1;
		log_warnx("%s", FMT_ESCAPED_WARNING);
	}
}

static void
out_str(struct state *st, const char *s)
{
	size_t n = strlen(s);

	reserve(&st->out, n);
	memcpy(buf_tail(&st->out), s, n);
	st->out.end += n;
}

static void
out_json(struct state *st, const void *p, size_t len)
{
	reserve(&st->out, 6 * len + 2);
	st->out.end += fmt_json(buf_tail(&st->out), p, len);
}

static void
out_json_str(struct state *st, const void *p, size_t len)
{
	out_str(st, "\"");
	out_json(st, p, len);
	out_str(st, "\"");
}

static void
out_json_names(struct state *st, const uint8_t *names, size_t count)
{
	out_str(st, "[");
	for (size_t i = 0; i < count; i++) {
		const uint8_t *f = names + i * SPREAD_GROUP_SIZE;

		if (i > 0)
			out_str(st, ",");
		out_json_str(st, f, spread_name_len(f));
	}
	out_str(st, "]");
}

static void
service_text(uint32_t type, char *buf, size_t cap)
{
	const char *s = spread_service_name(type);

	if (s == NULL)
		snprintf(buf, cap, "0x%x", (unsigned)type);
	else
		snprintf(buf, cap, "%s%s", s,
		    type & SPREAD_SELF_DISCARD ? "+self-discard" : "");
}

static void
print_msg(struct state *st, const struct spread_msg *m)
{
	char svc[64], num[32];
	const uint8_t *sender = m->h.name;
	size_t slen = spread_name_len(sender);
	int endian = m->h.hint_big != spread_host_big();

	service_text(m->h.type, svc, sizeof(svc));
	if (st->o->json) {
		out_str(st, "{\"kind\":\"msg\",\"service\":\"");
		out_str(st, svc);
		out_str(st, "\",\"sender\":");
		out_json_str(st, sender, slen);
		out_str(st, ",\"groups\":");
		out_json_names(st, m->groups, m->h.num_groups);
		snprintf(num, sizeof(num), ",\"msg_type\":%d",
		    spread_mess_type(m->h.hint));
		out_str(st, num);
		out_str(st, endian ? ",\"endian\":1" : ",\"endian\":0");
		out_str(st, ",\"data\":");
		out_json_str(st, m->data, m->h.data_len);
		out_str(st, "}\n");
		return;
	}
	if (st->o->memb)
		part_str(st, "msg");
	if (st->o->fields) {
		part_str(st, svc);
		part(st, sender, slen);
		part_names(st, m->groups, m->h.num_groups);
		snprintf(num, sizeof(num), "%d", spread_mess_type(m->h.hint));
		part_str(st, num);
		part_str(st, endian ? "1" : "0");
	}
	part(st, m->data, m->h.data_len);
	emit_parts(st);
}

static void
print_memb(struct state *st, const struct spread_msg *m,
    const struct spread_memb *b, const char *reason)
{
	char gid[64] = "";
	const uint8_t *group = m->h.name, *names, *local = NULL;
	size_t glen = spread_name_len(group), off = 0, at;
	uint32_t count, nlocal = 0;

	if (b->has_gid)
		snprintf(gid, sizeof(gid), "%d.%d.%d", (int)b->proc_id,
		    (int)b->time, (int)b->index);
	while (spread_vs_next(b, &off, &at, &count, &names) == 1)
		if (at == b->local_offset) {
			local = names;
			nlocal = count;
		}
	if (st->o->json) {
		char num[96];

		out_str(st, "{\"kind\":\"memb\",\"reason\":\"");
		out_str(st, reason);
		out_str(st, "\",\"group\":");
		out_json_str(st, group, glen);
		if (b->has_gid) {
			snprintf(num, sizeof(num), ",\"group_id\":[%d,%d,%d]",
			    (int)b->proc_id, (int)b->time, (int)b->index);
			out_str(st, num);
		} else
			out_str(st, ",\"group_id\":null");
		out_str(st, ",\"members\":");
		out_json_names(st, m->groups, m->h.num_groups);
		out_str(st, ",\"changed\":");
		out_json_names(st, local, nlocal);
		out_str(st, ",\"vs_sets\":[");
		off = 0;
		for (int i = 0;
		     spread_vs_next(b, &off, &at, &count, &names) == 1; i++) {
			if (i > 0)
				out_str(st, ",");
			out_json_names(st, names, count);
		}
		out_str(st, "]}\n");
		return;
	}
	part_str(st, "memb");
	part_str(st, reason);
	part(st, group, glen);
	part_str(st, gid);
	part_names(st, m->groups, m->h.num_groups);
	part_names(st, local, nlocal);
	emit_parts(st);
}

/* ------------------------------------------------------------------ */
/* Groups. */

static struct group *
group_find(struct state *st, const char *name, size_t len)
{
	for (int i = 0; i < st->ng; i++)
		if (strlen(st->g[i].name) == len &&
		    memcmp(st->g[i].name, name, len) == 0)
			return (&st->g[i]);
	return (NULL);
}

/* A new entry, in the place of one that no longer matters if any. */
static struct group *
group_add(struct state *st, const char *name)
{
	struct group *g = NULL;

	for (int i = 0; i < st->ng && g == NULL; i++)
		if (!st->g[i].member && !st->g[i].argv && !st->g[i].leaving)
			g = &st->g[i];
	if (g == NULL) {
		if (st->ng == st->gcap) {
			int cap = st->gcap ? 2 * st->gcap : 16;
			struct group *n = reallocarray(st->g, cap, sizeof(*n));

			if (n == NULL)
				log_die(EX_OSERR, "malloc");
			st->g = n;
			st->gcap = cap;
		}
		g = &st->g[st->ng++];
	}
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	return (g);
}

/* ------------------------------------------------------------------ */

static noreturn void finish(struct state *st, int status);

/* The ready file: written to a hidden temporary beside it, then renamed. */
static void
write_ready(struct state *st)
{
	if (ready_write(st->o->ready, st->s.reply.private_group) == -1) {
		log_warn("ready file %s", st->o->ready);
		finish(st, EX_OSERR);
	}
	st->ready_written = 1;
}

static void
remove_ready(struct state *st)
{
	if (st->ready_written) {
		unlink(st->o->ready);
		st->ready_written = 0;
	}
}

static int
has_member(const struct spread_msg *m, const char *pg)
{
	size_t len = strlen(pg);

	for (int i = 0; i < m->h.num_groups; i++) {
		const uint8_t *f = m->groups + (size_t)i * SPREAD_GROUP_SIZE;

		if (spread_name_len(f) == len && memcmp(f, pg, len) == 0)
			return (1);
	}
	return (0);
}

static void
tx(struct state *st, const uint8_t *p, ssize_t n)
{
	if (n < 0 || buf_append(&st->tx, p, n) == -1)
		log_diex(EX_SOFTWARE, "cannot queue a request");
}

static void
send_join(struct state *st, struct group *g)
{
	uint8_t req[SPREAD_REQUEST_SIZE];

	tx(st, req,
	    spread_join_encode(req, sizeof(req), st->s.reply.private_group,
		g->name));
	g->member = 1;
	g->joining = 1;
}

/* Its self-leave notice will tell when the daemon has done it. */
static void
send_leave(struct state *st, struct group *g)
{
	uint8_t req[SPREAD_REQUEST_SIZE];

	tx(st, req,
	    spread_leave_encode(req, sizeof(req), st->s.reply.private_group,
		g->name));
	g->member = 0;
	g->leaving++;
	st->leaving++;
}

/*
 * Leave every group, disconnect, flush stdout with blocking writes, and
 * exit.  The requests before go first: what standard input asked is sent.
 */
static noreturn void
finish(struct state *st, int status)
{
	uint8_t req[SPREAD_REQUEST_SIZE];
	const char *pg = st->s.reply.private_group;
	struct pollfd pfd;
	ssize_t n;

	for (int i = 0; i < st->ng; i++)
		if (st->g[i].member)
			send_leave(st, &st->g[i]);
	tx(st, req, spread_kill_encode(req, sizeof(req), pg));
	/* The requests are small: give the daemon two seconds at most. */
	pfd.fd = st->s.fd;
	pfd.events = POLLOUT;
	while (buf_len(&st->tx) > 0 && poll(&pfd, 1, 2000) > 0)
		if (buf_drain(&st->tx, st->s.fd) == -1 && errno != EAGAIN)
			break;
	close(st->s.fd);
	restore_stdout(st);
	while (buf_len(&st->out) > 0) {
		n = buf_drain(&st->out, 1);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
	}
	remove_ready(st);
	if (st->o->input)
		log_info("sent %llu messages, received %llu", st->sent,
		    st->received);
	exit(status);
}

/* A fatal condition after the session exists: disconnect, then exit. */
static noreturn void
fatal(struct state *st, int status, const char *fmt, const char *a,
    const char *b)
{
	log_warnx(fmt, a, b);
	finish(st, status);
}

/* A membership that shows us in its group: our join has been done. */
static void
joined(struct state *st, const struct spread_msg *m)
{
	struct group *g = group_find(st, (const char *)m->h.name,
	    spread_name_len(m->h.name));

	if (g == NULL)
		return;
	if (g->joining) {
		g->joining = 0;
		log_info("joined %s", g->name);
	}
	if (g->argv && !g->confirmed) {
		g->confirmed = 1;
		st->nconfirmed++;
	}
	if (st->nconfirmed == st->o->ngroups && st->o->ready &&
	    !st->ready_written)
		write_ready(st);
}

static void
left(struct state *st, const struct spread_msg *m)
{
	struct group *g = group_find(st, (const char *)m->h.name,
	    spread_name_len(m->h.name));

	if (g != NULL && g->leaving > 0) {
		g->leaving--;
		st->leaving--;
		log_info("left %s", g->name);
	}
}

static void
handle(struct state *st, const struct spread_msg *m)
{
	struct spread_memb b;
	const char *reason;
	const char *d = st->o->daemon;

	if (spread_is_reject(m->h.type)) {
		char g[SPREAD_GROUP_SIZE + 1] = "";

		if (m->h.num_groups > 0) {
			memcpy(g, m->groups, spread_name_len(m->groups));
			g[spread_name_len(m->groups)] = '\0';
		}
		fatal(st, EX_UNAVAILABLE,
		    spread_is_regular(m->old_type) ?
			"%s: REJECT_MESS: the daemon refused a message to %s" :
			"%s: REJECT_MESS: the daemon refused a request for group %s",
		    d, g);
	}
	if (spread_is_regular(m->h.type)) {
		st->received++;
		print_msg(st, m);
		return;
	}
	if (!spread_is_membership(m->h.type)) {
		log_info("ignored a message of type 0x%x", (unsigned)m->h.type);
		return;
	}
	if (spread_memb_decode(m, &b) == -1)
		fatal(st, EX_PROTOCOL, "%s: ILLEGAL_MESSAGE: %s", d,
		    "malformed membership message from the daemon");
	reason = spread_memb_reason(m->h.type);
	if (reason == NULL)
		reason = "unknown";
	if (spread_is_reg_memb(m->h.type) &&
	    has_member(m, st->s.reply.private_group))
		joined(st, m);
	if (spread_is_self_leave(m->h.type))
		left(st, m);
	if (st->o->memb)
		print_memb(st, m, &b, reason);
}

static void
parse_input(struct state *st)
{
	struct spread_msg m;
	ssize_t r;

	while ((r = spread_msg_decode((uint8_t *)buf_data(&st->in),
		    buf_len(&st->in), MSG_MAX, &m)) > 0) {
		handle(st, &m);
		buf_consume(&st->in, r);
		if (buf_len(&st->out) >= OUT_PAUSE)
			return;
	}
	if (r == -1)
		fatal(st, EX_PROTOCOL, "%s: ILLEGAL_MESSAGE: %s", st->o->daemon,
		    errno == EMSGSIZE ? "message from the daemon too large" :
					"malformed message from the daemon");
}

/* ------------------------------------------------------------------ */
/* -i: requests on standard input. */

/*
 * A record that is not a request: say which and why (even with -q), send
 * what came before it, leave, disconnect, exit 65.
 */
static noreturn void
bad_input(struct state *st, const char *why)
{
	log_level = 1;
	log_warnx("stdin: %s %llu: %s",
	    st->o->fmt == FMT_LINE ? "line" : "record", st->recno, why);
	finish(st, EX_DATAERR);
}

/*
 * A join of a group it is in, or a leave of one it is not in, sends
 * nothing: the daemon would ignore it, and the leaves still to be
 * confirmed stay counted right.
 */
static void
request(struct state *st, const struct spread_req *r)
{
	struct group *g;
	size_t size;
	ssize_t n;

	switch (r->kind) {
	case SPREAD_REQ_NONE:
		break;
	case SPREAD_REQ_JOIN:
		g = group_find(st, r->groups[0], strlen(r->groups[0]));
		if (g == NULL)
			g = group_add(st, r->groups[0]);
		if (!g->member)
			send_join(st, g);
		break;
	case SPREAD_REQ_LEAVE:
		g = group_find(st, r->groups[0], strlen(r->groups[0]));
		if (g != NULL && g->member)
			send_leave(st, g);
		break;
	case SPREAD_REQ_MSG:
		size = spread_mcast_size(r->ngroups, r->len);
		if (buf_reserve(&st->tx, size) == -1)
			log_diex(EX_SOFTWARE, "cannot queue a message");
		n = spread_mcast_encode((uint8_t *)buf_tail(&st->tx), size,
		    st->s.reply.private_group, r->service, r->group, r->ngroups,
		    r->mess_type, r->data, r->len);
		if (n == -1)
			log_diex(EX_SOFTWARE, "cannot encode a message");
		st->tx.end += n;
		st->sent++;
		break;
	}
}

/* -e, at the end of the input: leave, then wait for the notices. */
static void
start_draining(struct state *st)
{
	for (int i = 0; i < st->ng; i++)
		if (st->g[i].member)
			send_leave(st, &st->g[i]);
	st->draining = 1;
}

/*
 * Turn every whole record of the input buffer into requests, in one queue:
 * one write to the daemon carries them all.  Stops while the queue is
 * above TX_HIGH, so that a fast writer cannot grow it without bound.
 */
static void
commands(struct state *st)
{
	const char *rec, *body;
	size_t len, blen;
	ssize_t r;
	int net = st->o->fmt == FMT_NET;
	char why[64];

	while (!st->in_done && buf_len(&st->tx) < TX_HIGH) {
		r = fmt_next(st->o->fmt, buf_data(&st->req), buf_len(&st->req),
		    st->in_eof, REQ_MAX, &rec, &len);
		if (r == 0) {
			if (!st->in_eof)
				return;
			st->in_done = 1;
			log_info("end of standard input");
			if (st->o->end)
				start_draining(st);
			return;
		}
		st->recno++;
		if (r == -1 && errno == EMSGSIZE) {
			snprintf(why, sizeof(why),
			    "MESSAGE_TOO_LONG: longer than %u bytes",
			    (unsigned)REQ_MAX);
			bad_input(st, why);
		}
		if (r == -1 && net && st->in_eof &&
		    frame_parse(buf_data(&st->req), buf_len(&st->req), REQ_MAX,
			&body, &blen) == 0)
			bad_input(st, "truncated at the end of the input");
		if (r == -1)
			bad_input(st,
			    net ? "malformed netstring" : "malformed record");
		if (spread_req_parse(rec, len, net, &st->r) == -1)
			bad_input(st, st->r.why);
		request(st, &st->r);
		buf_consume(&st->req, r);
	}
}

/* ------------------------------------------------------------------ */

static void
run(struct state *st)
{
	struct pollfd pfd[4];
	ssize_t n;

	for (;;) {
		int paused = buf_len(&st->out) >= OUT_PAUSE;

		/* -e: every leave confirmed, every message before it in. */
		if (st->draining && st->leaving == 0 && buf_len(&st->tx) == 0)
			finish(st, 0);
		pfd[0].fd = sigpipe_fd[0];
		pfd[0].events = POLLIN;
		/* Paused, the socket is not watched (no POLLHUP spin). */
		pfd[1].fd = paused && buf_len(&st->tx) == 0 ? -1 : st->s.fd;
		pfd[1].events = (paused ? 0 : POLLIN) |
		    (buf_len(&st->tx) ? POLLOUT : 0);
		/* Always watched: a pipe whose reader left reports POLLERR. */
		pfd[2].fd = 1;
		pfd[2].events = buf_len(&st->out) ? POLLOUT : 0;
		pfd[3].fd = st->o->input && !st->in_eof &&
			buf_len(&st->tx) < TX_HIGH ?
		    0 :
		    -1;
		pfd[3].events = POLLIN;
		if (poll(pfd, 4, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_die(EX_OSERR, "poll");
		}
		if (pfd[0].revents)
			finish(st, 0);
		if ((pfd[2].revents & (POLLERR | POLLHUP)) &&
		    !(pfd[2].revents & POLLOUT))
			finish(st, 0); /* | head: a quiet end */
		if (pfd[2].revents & POLLOUT) {
			n = buf_drain(&st->out, 1);
			if (n == -1 && errno == EPIPE)
				finish(st, 0); /* | head: a quiet end */
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				log_warn("stdout");
				finish(st, EX_IOERR);
			}
			if (paused && buf_len(&st->out) < OUT_PAUSE)
				parse_input(st);
		}
		if (pfd[1].revents & POLLOUT) {
			if (buf_drain(&st->tx, st->s.fd) == -1 &&
			    errno != EAGAIN && errno != EINTR)
				fatal(st, EX_UNAVAILABLE,
				    "%s: CONNECTION_CLOSED: %s", st->o->daemon,
				    strerror(errno));
			commands(st); /* room again for what is waiting */
		}
		if (!paused &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = buf_fill(&st->in, st->s.fd, 65536);
			if (n == 0) {
				parse_input(st);
				fatal(st, EX_UNAVAILABLE,
				    "%s: CONNECTION_CLOSED: %s", st->o->daemon,
				    "the daemon closed the connection");
			}
			if (n == -1 && errno == ENOBUFS)
				fatal(st, EX_PROTOCOL,
				    "%s: ILLEGAL_MESSAGE: %s", st->o->daemon,
				    "message from the daemon too large");
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				fatal(st, EX_UNAVAILABLE,
				    "%s: CONNECTION_CLOSED: %s", st->o->daemon,
				    strerror(errno));
			parse_input(st);
		}
		if (pfd[3].revents) {
			n = buf_fill(&st->req, 0, 65536);
			if (n == 0)
				st->in_eof = 1;
			else if (n == -1 && errno != EAGAIN && errno != EINTR) {
				log_warn("stdin");
				finish(st, EX_IOERR);
			}
			commands(st);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct opts o = {.fmt = FMT_LINE};
	struct state st;
	int ch, seen_s = 0, seen_u = 0, seen_p = 0, code, timeout = 10000;
	const char *detail, *env;
	struct sigaction sa;

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	while ((ch = getopt(argc, argv, "+0NefhijmP:qs:u:vV")) != -1) {
		switch (ch) {
		case '0':
		case 'N':
			opt_format(&o.fmt, ch);
			break;
		case 'e':
			o.end = 1;
			break;
		case 'f':
			o.fields = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'i':
			o.input = 1;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'm':
			o.memb = 1;
			break;
		case 'P':
			opt_once(&seen_p, ch);
			o.ready = optarg;
			break;
		case 'q':
			log_level = 0;
			break;
		case 's':
			opt_once(&seen_s, ch);
			o.daemon = optarg;
			break;
		case 'u':
			opt_once(&seen_u, ch);
			o.name = optarg;
			break;
		case 'v':
			log_level = 2;
			break;
		case 'V':
			print_version();
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 && !o.input)
		usage(stderr, EX_USAGE);
	if (o.json && o.fields)
		log_diex(EX_USAGE, "-f and -j cannot be used together");
	if (o.json && o.fmt != FMT_LINE)
		log_diex(EX_USAGE, "-j cannot be used with -0 or -N");
	if (o.end && !o.input)
		log_diex(EX_USAGE, "-e needs -i");
	if (o.daemon == NULL)
		o.daemon = "4803";
	if (o.name == NULL)
		o.name = "";

	memset(&st, 0, sizeof(st));
	st.o = &o;
	if (spread_addr_parse(o.daemon, &st.addr) == -1)
		log_diex(EX_USAGE, "%s: ILLEGAL_SPREAD: %s", o.daemon,
		    spread_errtext(SPREAD_ILLEGAL_SPREAD));
	if (*o.name != '\0' && !spread_private_valid(o.name, strlen(o.name)))
		log_diex(EX_USAGE,
		    "private name \"%s\": REJECT_ILLEGAL_NAME: must be 1..10 bytes from '$' to '~'",
		    o.name);
	/* Joining a group twice is one join: keep the first. */
	o.groups = argv;
	for (int i = 0; i < argc; i++) {
		int dup = 0;

		if (!spread_group_valid(argv[i], strlen(argv[i])))
			log_diex(EX_USAGE,
			    "group \"%s\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'",
			    argv[i]);
		for (int j = 0; j < o.ngroups; j++)
			dup |= strcmp(o.groups[j], argv[i]) == 0;
		if (!dup)
			o.groups[o.ngroups++] = argv[i];
	}
	if ((env = getenv("QUILT_CONNECT_TIMEOUT")) != NULL)
		timeout = parse_num(env, 1, 3600000, "QUILT_CONNECT_TIMEOUT");

	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) == -1)
		log_die(EX_OSERR, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (buf_init(&st.in, 65536, IN_MAX) == -1 ||
	    buf_init(&st.out, 65536, OUT_MAX) == -1 ||
	    buf_init(&st.tx, 4096, TX_MAX) == -1 ||
	    buf_init(&st.part, 4096, 3 * IN_MAX) == -1 ||
	    buf_init(&st.req, o.input ? 65536 : 0, REQ_MAX + 65536) == -1)
		log_die(EX_OSERR, "malloc");

	if (spread_session_open(&st.s, &st.addr, o.name,
		SPREAD_HELLO_MEMBERSHIP, timeout, &code, &detail) == -1)
		setup_failed(o.daemon, &st.addr, code, detail);
	log_info("connected to %s as %s (Spread %d.%d.%d)", o.daemon,
	    st.s.reply.private_group, st.s.reply.major, st.s.reply.minor,
	    st.s.reply.patch);

	/* A terminal is shared with the shell: leave it blocking. */
	if (!isatty(1) && (st.stdout_flags = fcntl(1, F_GETFL)) != -1 &&
	    !(st.stdout_flags & O_NONBLOCK) &&
	    fcntl(1, F_SETFL, st.stdout_flags | O_NONBLOCK) != -1)
		st.stdout_nb = 1;

	for (int i = 0; i < o.ngroups; i++) {
		struct group *g = group_add(&st, o.groups[i]);

		g->argv = 1;
		send_join(&st, g);
	}
	/* -i with no group to wait for: the session is all there is. */
	if (o.ngroups == 0 && o.ready)
		write_ready(&st);
	run(&st);
	return (0);
}
