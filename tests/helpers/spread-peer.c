/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * spread-peer: a scripted Spread daemon for the sp-join / sp-mcast tests.
 *
 *   spread-peer -P READY [-6U] [-n CONNS] [-w N] [-l LOG] -v CAPTURE [-c K]
 *   spread-peer -P READY [-6U] [-n CONNS] [-w N] [-l LOG] -m MODE
 *
 * It listens on 127.0.0.1, port 0 (with -6 on ::1; with -U on a Unix
 * socket /tmp/N for a free N) and writes the Spread name of its address
 * ("PORT@127.0.0.1", "PORT@::1" or "N") to READY.  Then it serves CONNS
 * connections (default 1), one after the other.
 *
 * With -v it answers with the daemon's bytes of connection K (default 1)
 * of a capture of tests/spread/vectors: the authentication offer once the
 * client's hello is in, the reply once its choice is in, and the rest of
 * the daemon's stream once the client has sent N messages (-w, default 0).
 * A refusal in the capture ends the connection after its byte.
 *
 * With -m it plays one of these scripts instead:
 *   quota          REJECT_QUOTA at once, before the hello (not captured)
 *   close          read the hello, then close
 *   silent         accept and never answer
 *   offer-foo      offer "FOO " only: no NULL authentication
 *   garbage-offer  an offer length of 91
 *   garbage-reply  accept with a private group of 64 bytes
 *   accept         accept as "#NAME#peer" ("#r1-1#peer" for no name)
 *   drop           accept, then close after N messages
 *   bad-header     accept, then after N messages a header whose byte-order
 *                  marker has one bit of two
 *   old-daemon     accept as a 2.0.0 daemon
 *   deaf           accept, then read nothing more until killed
 *   loop           accept, then be the daemon of this one client: a join
 *                  answered with its membership (group id 1.2.N, N
 *                  counting the group's changes), a leave with the
 *                  self-leave notice, a message to a group it is in or
 *                  to its own private group sent back unless it asked
 *                  for self-discard; all in the order of the requests
 *
 * LOG gets one line per thing the client sent: "hello 5.0.1 flags 0x01
 * name alice", "choice NULL", "join G", "leave G", "kill", "mcast SERVICE
 * TYPE G1,G2 DATA" (DATA with \xHH for bytes outside 0x21..0x7e), "close",
 * or "bad ..." for bytes that do not decode.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spread.h"
#include "spread-vec.h"

static FILE *logf;
static char unix_path[108];

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "spread-peer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	if (unix_path[0])
		unlink(unix_path);
	exit(2);
}

static void
plog(const char *fmt, ...)
{
	va_list ap;

	if (logf == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(logf, fmt, ap);
	va_end(ap);
	fputc('\n', logf);
	fflush(logf);
}

static void
on_term(int sig)
{
	if (unix_path[0])
		unlink(unix_path);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* The client's bytes. */

struct conn {
	int fd;
	uint8_t buf[1 << 20];
	size_t len;
	int eof;
};

/* Read more of the client's bytes; 0 at end of file. */
static int
more(struct conn *c)
{
	ssize_t n;

	if (c->eof || c->len == sizeof(c->buf))
		return (0);
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		c->eof = 1;
		return (0);
	}
	c->len += n;
	return (1);
}

static void
take(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void
send_bytes(struct conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return; /* the client went away: its business */
		p += w;
		n -= w;
	}
}

static void
name_of(char *out, const uint8_t *f)
{
	size_t l = spread_name_len(f);

	memcpy(out, f, l);
	out[l] = '\0';
}

static void
log_msg(const struct spread_msg *m)
{
	char g[SPREAD_GROUP_SIZE + 1], line[4096];
	size_t o = 0;
	uint32_t t = m->h.type;

	if (t == SPREAD_JOIN_MESS || t == SPREAD_LEAVE_MESS) {
		name_of(g, m->groups);
		plog("%s %s", t == SPREAD_JOIN_MESS ? "join" : "leave", g);
		return;
	}
	if (t == SPREAD_KILL_MESS) {
		plog("kill");
		return;
	}
	o += snprintf(line + o, sizeof(line) - o, "mcast %s%s %d ",
	    spread_service_name(t) ? spread_service_name(t) : "?",
	    t & SPREAD_SELF_DISCARD ? "+self-discard" : "",
	    spread_mess_type(m->h.hint));
	for (int i = 0; i < m->h.num_groups && o < sizeof(line) - 64; i++) {
		name_of(g, m->groups + 32 * (size_t)i);
		o += snprintf(line + o, sizeof(line) - o, "%s%s", i ? "," : "",
		    g);
	}
	line[o++] = ' ';
	for (int i = 0; i < m->h.data_len && o < sizeof(line) - 8; i++) {
		uint8_t b = m->data[i];

		if (b > 0x20 && b < 0x7f && b != '\\')
			line[o++] = b;
		else
			o += snprintf(line + o, sizeof(line) - o, "\\x%02x", b);
	}
	line[o] = '\0';
	if (m->h.data_len > 200)
		plog("mcast %s %d groups=%d len=%d",
		    spread_service_name(t) ? spread_service_name(t) : "?",
		    spread_mess_type(m->h.hint), m->h.num_groups,
		    m->h.data_len);
	else
		plog("%s", line);
}

/* Read and log client messages until count are in (or the end). */
static int
read_msgs(struct conn *c, int count)
{
	struct spread_msg m;
	ssize_t r;
	int seen = 0;

	for (;;) {
		while ((r = spread_msg_decode(c->buf, c->len, sizeof(c->buf),
			    &m)) > 0) {
			log_msg(&m);
			take(c, r);
			if (++seen == count)
				return (seen);
		}
		if (r == -1) {
			plog("bad message");
			c->len = 0;
		}
		if (!more(c))
			return (seen);
	}
}

static int
read_hello(struct conn *c, struct spread_hello *h)
{
	ssize_t r;

	while ((r = spread_hello_decode(c->buf, c->len, h)) == 0)
		if (!more(c)) {
			plog("close");
			return (-1);
		}
	plog("hello %d.%d.%d flags 0x%02x name %s", h->major, h->minor,
	    h->patch, h->flags, h->name);
	take(c, r);
	return (0);
}

static int
read_choice(struct conn *c)
{
	struct spread_choice ch;

	while (spread_choice_decode(c->buf, c->len, &ch) == 0)
		if (!more(c)) {
			plog("close");
			return (-1);
		}
	plog("choice %s%s%s%s%s", ch.method[0], ch.count > 1 ? " " : "",
	    ch.method[1], ch.count > 2 ? " " : "", ch.method[2]);
	take(c, SPREAD_AUTH_CHOICE);
	return (0);
}

static void
finish(struct conn *c)
{
	read_msgs(c, -1);
	plog("close");
}

/* ------------------------------------------------------------------ */

static void
serve_capture(struct conn *c, const struct vec_stream *dc, int wait)
{
	struct spread_hello h;
	struct spread_offer o;
	struct spread_accept a;
	size_t off = 0;
	ssize_t r;

	if (read_hello(c, &h) == -1)
		return;
	r = spread_offer_decode(dc->b, dc->len, &o);
	if (r <= 0)
		die("the capture has no offer");
	send_bytes(c, dc->b, r);
	off = r;
	if (o.code < 0)
		return;
	if (o.len == 0 && off < dc->len) { /* the refusal follows */
		send_bytes(c, dc->b + off, dc->len - off);
		return;
	}
	if (read_choice(c) == -1)
		return;
	r = spread_accept_decode(dc->b + off, dc->len - off, 1, &a);
	if (r <= 0)
		die("the capture has no reply");
	send_bytes(c, dc->b + off, r);
	off += r;
	if (a.code != SPREAD_ACCEPT_SESSION)
		return;
	if (wait > 0 && read_msgs(c, wait) < wait) {
		plog("close");
		return;
	}
	send_bytes(c, dc->b + off, dc->len - off);
	finish(c);
}

/* Accept the session; its private group into pg.  -1: the client left. */
static int
accept_session(struct conn *c, struct spread_hello *h, int major, char *pg)
{
	uint8_t b[128];
	struct spread_accept a = {.major = major, .has_patch = 1};
	ssize_t n;

	n = spread_offer_encode(b, sizeof(b), "NULL ");
	send_bytes(c, b, n);
	if (read_choice(c) == -1)
		return (-1);
	snprintf(a.private_group, sizeof(a.private_group), "#%.10s#peer",
	    h->name_len ? h->name : "r1-1");
	snprintf(pg, SPREAD_GROUP_SIZE, "%s", a.private_group);
	n = spread_accept_encode(b, sizeof(b), &a);
	send_bytes(c, b, n);
	return (0);
}

/* ------------------------------------------------------------------ */
/* loop: the daemon of one client. */

#define LOOP_GROUPS 256

struct loop {
	char pg[SPREAD_GROUP_SIZE];
	int ng;
	struct {
		uint8_t name[SPREAD_GROUP_SIZE]; /* a name field */
		int member, index;
	} g[LOOP_GROUPS];
	uint8_t out[SPREAD_HEADER_SIZE + SPREAD_MAX_GROUPS * SPREAD_GROUP_SIZE +
	    SPREAD_MAX_BODY];
};

static int
loop_group(struct loop *l, const uint8_t *field)
{
	for (int i = 0; i < l->ng; i++)
		if (memcmp(l->g[i].name, field, SPREAD_GROUP_SIZE) == 0)
			return (i);
	if (l->ng == LOOP_GROUPS)
		die("more than %d groups", LOOP_GROUPS);
	memcpy(l->g[l->ng].name, field, SPREAD_GROUP_SIZE);
	return (l->ng++);
}

/* A message from "the daemon", in this host's byte order. */
static void
loop_send(struct conn *c, struct loop *l, uint32_t type, const uint8_t *name,
    const uint8_t *groups, int ngroups, const uint8_t *data, size_t len)
{
	struct spread_msg m = {.groups = groups, .data = data};
	ssize_t n;

	m.h.type = type;
	memcpy(m.h.name, name, SPREAD_GROUP_SIZE);
	m.h.num_groups = ngroups;
	m.h.big = m.h.hint_big = spread_host_big();
	m.h.hint = spread_hint(0, m.h.big);
	m.h.data_len = len;
	if ((n = spread_msg_encode(l->out, sizeof(l->out), &m)) == -1)
		die("encode");
	send_bytes(c, l->out, n);
}

static void
loop_request(struct conn *c, struct loop *l, const struct spread_msg *m)
{
	uint8_t pg[SPREAD_GROUP_SIZE] = {0}, body[20 + 4 + SPREAD_GROUP_SIZE];
	struct spread_memb b = {.proc_id = 1, .time = 2, .has_gid = 1};
	int deliver = 0;
	ssize_t n;

	memcpy(pg, l->pg, strlen(l->pg));
	if (m->h.type == SPREAD_JOIN_MESS || m->h.type == SPREAD_LEAVE_MESS) {
		int i = loop_group(l, m->groups), join;

		join = m->h.type == SPREAD_JOIN_MESS;
		if (l->g[i].member == join)
			return; /* the daemon ignores it */
		l->g[i].member = join;
		l->g[i].index++;
		if (!join) {
			loop_send(c, l, SPREAD_CAUSED_BY_LEAVE, l->g[i].name,
			    NULL, 0, NULL, 0);
			return;
		}
		b.index = l->g[i].index;
		b.num_vs_sets = 1;
		b.big = spread_host_big();
		n = spread_vs_encode(body + 20, sizeof(body) - 20, 1, pg,
		    b.big);
		b.vs = body + 20;
		b.vs_len = n;
		n = spread_memb_encode(body, sizeof(body), &b);
		loop_send(c, l, SPREAD_REG_MEMB_MESS | SPREAD_CAUSED_BY_JOIN,
		    l->g[i].name, pg, 1, body, n);
		return;
	}
	if (!spread_is_regular(m->h.type) || (m->h.type & SPREAD_SELF_DISCARD))
		return;
	for (int k = 0; k < m->h.num_groups; k++) {
		const uint8_t *f = m->groups + (size_t)k * SPREAD_GROUP_SIZE;

		if (memcmp(f, pg, SPREAD_GROUP_SIZE) == 0)
			deliver = 1;
		for (int i = 0; i < l->ng; i++)
			if (l->g[i].member &&
			    memcmp(f, l->g[i].name, SPREAD_GROUP_SIZE) == 0)
				deliver = 1;
	}
	if (deliver) {
		/* The sender's bytes as they came, hint and all. */
		if ((n = spread_msg_encode(l->out, sizeof(l->out), m)) == -1)
			die("encode");
		send_bytes(c, l->out, n);
	}
}

static void
serve_loop(struct conn *c, const char *pg)
{
	static struct loop l;
	struct spread_msg m;
	ssize_t r;

	memset(&l, 0, sizeof(l));
	snprintf(l.pg, sizeof(l.pg), "%s", pg);
	for (;;) {
		while ((r = spread_msg_decode(c->buf, c->len, sizeof(c->buf),
			    &m)) > 0) {
			log_msg(&m);
			loop_request(c, &l, &m);
			take(c, r);
		}
		if (r == -1) {
			plog("bad message");
			return;
		}
		if (!more(c)) {
			plog("close");
			return;
		}
	}
}

static void
serve_mode(struct conn *c, const char *mode, int wait)
{
	struct spread_hello h;
	uint8_t b[128];
	char pg[SPREAD_GROUP_SIZE];

	if (strcmp(mode, "quota") == 0) {
		send_bytes(c, (const uint8_t *)"\xfd", 1);
		return;
	}
	if (strcmp(mode, "silent") == 0) {
		while (more(c))
			;
		return;
	}
	if (read_hello(c, &h) == -1 || strcmp(mode, "close") == 0)
		return;
	if (strcmp(mode, "offer-foo") == 0) {
		send_bytes(c, (const uint8_t *)"\004FOO ", 5);
		finish(c);
		return;
	}
	if (strcmp(mode, "garbage-offer") == 0) {
		send_bytes(c, (const uint8_t *)"\x5b", 1);
		finish(c);
		return;
	}
	if (strcmp(mode, "garbage-reply") == 0) {
		send_bytes(c, (const uint8_t *)"\005NULL ", 6);
		if (read_choice(c) == -1)
			return;
		memset(b, 'x', sizeof(b));
		memcpy(b, "\x01\x05\x00\x01\x40", 5);
		send_bytes(c, b, 5 + 64);
		finish(c);
		return;
	}
	if (accept_session(c, &h, strcmp(mode, "old-daemon") == 0 ? 2 : 5,
		pg) == -1)
		return;
	if (strcmp(mode, "loop") == 0) {
		serve_loop(c, pg);
		return;
	}
	if (strcmp(mode, "deaf") == 0) {
		plog("deaf");
		for (;;)
			pause();
	}
	if (strcmp(mode, "accept") == 0 || strcmp(mode, "old-daemon") == 0) {
		finish(c);
		return;
	}
	if (read_msgs(c, wait) < wait) {
		plog("close");
		return;
	}
	if (strcmp(mode, "drop") == 0) {
		plog("drop");
		return;
	}
	if (strcmp(mode, "bad-header") == 0) {
		memset(b, 0, 48);
		b[0] = 0x90; /* 0x80 in byte 0, none in byte 3 */
		send_bytes(c, b, 48);
		finish(c);
		return;
	}
	die("unknown mode %s", mode);
}

int
main(int argc, char *argv[])
{
	const char *ready = NULL, *capture = NULL, *mode = NULL,
		   *logpath = NULL;
	int ch, conns = 1, k = 1, wait = 0, use_unix = 0, use_v6 = 0, lfd;
	struct vec_file vf = {0};
	char name[128], tmp[4200];
	struct conn *c;
	FILE *f;

	while ((ch = getopt(argc, argv, "6c:l:m:n:P:Uv:w:")) != -1) {
		switch (ch) {
		case '6':
			use_v6 = 1;
			break;
		case 'c':
			k = atoi(optarg);
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			conns = atoi(optarg);
			break;
		case 'P':
			ready = optarg;
			break;
		case 'U':
			use_unix = 1;
			break;
		case 'v':
			capture = optarg;
			break;
		case 'w':
			wait = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: spread-peer -P ready [-U] [-n conns] [-w n] [-l log] -v capture [-c k] | -m mode\n");
			return (2);
		}
	}
	if (ready == NULL || (capture == NULL) == (mode == NULL))
		die("need -P and one of -v, -m");
	if (capture != NULL) {
		if (vec_load(capture, &vf) == -1)
			die("%s", capture);
		if (k < 1 || k > vf.n)
			die("%s has %d connections", capture, vf.n);
	}
	if (logpath != NULL && (logf = fopen(logpath, "w")) == NULL)
		die("%s", logpath);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	if (use_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		srand(getpid() ^ time(NULL));
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		for (int i = 0;; i++) {
			int n = 20000 + rand() % 40000;

			if (i == 100)
				die("no free /tmp/N");
			snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/%d",
			    n);
			if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) ==
			    0) {
				snprintf(unix_path, sizeof(unix_path), "%s",
				    sun.sun_path);
				snprintf(name, sizeof(name), "%d", n);
				break;
			}
		}
	} else if (use_v6) {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
		socklen_t sl = sizeof(sin6);

		sin6.sin6_addr = in6addr_loopback;
		lfd = socket(AF_INET6, SOCK_STREAM, 0);
		if (lfd == -1 ||
		    bind(lfd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1 ||
		    getsockname(lfd, (struct sockaddr *)&sin6, &sl) == -1)
			die("bind ::1");
		snprintf(name, sizeof(name), "%d@::1", ntohs(sin6.sin6_port));
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sin);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd == -1 ||
		    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1)
			die("bind");
		snprintf(name, sizeof(name), "%d@127.0.0.1",
		    ntohs(sin.sin_port));
	}
	if (listen(lfd, 16) == -1)
		die("listen");
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", name) < 0 ||
	    fclose(f) != 0 || rename(tmp, ready) == -1)
		die("%s", ready);

	if ((c = malloc(sizeof(*c))) == NULL)
		die("malloc");
	for (int i = 0; i < conns; i++) {
		memset(c, 0, sizeof(*c));
		if ((c->fd = accept(lfd, NULL, NULL)) == -1)
			die("accept");
		if (capture != NULL)
			serve_capture(c, &vf.c[k - 1].s[1], wait);
		else
			serve_mode(c, mode, wait);
		close(c->fd);
	}
	if (unix_path[0])
		unlink(unix_path);
	vec_free(&vf);
	free(c);
	return (0);
}
