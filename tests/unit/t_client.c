/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/client: client_open against a listener scripted
 * in a child process on a Unix socket.  The child answers with server.c
 * (plain, sealed with one of two keys), or with fixed frames: a refusal and
 * its code, a hello with a bad field or no common version, nothing at all,
 * or a close.  Checked: the class client_open returns (from the refusal's
 * code, never its words) and the reason it gives; a sealed session carries
 * data both ways.
 * TAP output.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "client.h"
#include "frame.h"
#include "link.h"
#include "seal.h"
#include "server.h"
#include "tcase.h"
#include "wire.h"

static char path[108];
static unsigned char K1[SEAL_KEYLEN], K2[SEAL_KEYLEN];

/* What the scripted listener does with a connection. */
enum script {
	S_SERVER, /* answer with server.c */
	S_SAY, /* read the hello, write the bytes given, wait for the close */
	S_SILENT, /* read the hello, say nothing */
	S_CLOSE, /* read the hello, close */
};

/* Read one whole frame, blocking, into b (cap bytes): its size, or -1. */
static ssize_t
read_frame(int fd, char *b, size_t cap, size_t *have, const char **body,
    size_t *len)
{
	ssize_t f, r;

	for (;;) {
		f = frame_parse(b, *have, cap, body, len);
		if (f != 0)
			return (f);
		if ((r = read(fd, b + *have, cap - *have)) <= 0)
			return (-1);
		*have += r;
	}
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			_exit(3);
		p += w;
		n -= w;
	}
}

/*
 * The listener's side of one connection, in the child.  With server.c, a
 * sealed session ends with one ping from the listener in a record, which
 * the test reads through the client's link.
 */
static void
listener(int fd, enum script sc, const char *say, int nkeys)
{
	char in[4 * WIRE_HELLO_MAX], out[WIRE_HELLO_MAX];
	const char *body;
	size_t have = 0, len, olen;
	ssize_t f;

	if ((f = read_frame(fd, in, sizeof(in), &have, &body, &len)) <= 0)
		_exit(2);
	switch (sc) {
	case S_SAY:
		write_all(fd, say, strlen(say));
		/* FALLTHROUGH */
	case S_SILENT:
		while (read(fd, in, sizeof(in)) > 0)
			;
		_exit(0);
	case S_CLOSE:
		_exit(0);
	case S_SERVER:
		break;
	}
	{
		struct server_conf c;
		struct server_table t;
		struct server_hs h;
		struct link l;
		enum server_state st;
		int owner;

		memset(&c, 0, sizeof(c));
		snprintf(c.node, sizeof(c.node), "lis");
		c.maxmsg = 5000;
		c.key[0] = K1;
		c.key[1] = K2;
		c.nkeys = nkeys;
		if (server_table_init(&t, 4, 1000) == -1)
			_exit(2);
		server_hs_init(&h);
		for (;;) {
			st = server_frame(&h, &c, &t, &owner, 1, in, f, body,
			    len, out, &olen);
			write_all(fd, out, olen);
			memmove(in, in + f, have - f);
			have -= f;
			if (st != SERVER_CONFIRM)
				break;
			if ((f = read_frame(fd, in, sizeof(in), &have, &body,
				 &len)) <= 0)
				_exit(2);
		}
		if (st == SERVER_OPEN && h.state == SERVER_OPEN && nkeys > 0) {
			const char *args[] = {"7", "lis", "0", NULL};

			if (link_init(&l, fd, 5000, 65536, 0) == -1 ||
			    link_seal(&l, server_take_seal(&h)) == -1)
				_exit(2);
			(void)link_ctlv(&l, "pong", args, "sealed", 6);
			while (link_pending(&l) > 0)
				if (link_flush(&l) == -1)
					_exit(2);
		}
		while (read(fd, in, sizeof(in)) > 0)
			;
		_exit(0);
	}
}

/*
 * client_open to a listener that does sc; its class, with the reason in
 * why and the peer's hello in *peer.  psk: seal with that key.  The link is
 * left open for the caller (l->fd), who closes it.
 */
static enum client_err
open_with(enum script sc, const char *say, int nkeys, const unsigned char *psk,
    int timeout_ms, struct link *l, struct wire_hello *peer, char *why,
    size_t whylen)
{
	struct sockaddr_un sun;
	struct wire_hello me;
	struct addr a;
	const char *e;
	enum client_err r;
	pid_t pid;
	int lfd, fd, st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 1) == -1)
		abort();
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			_exit(2);
		listener(fd, sc, say, nkeys);
	}
	close(lfd);
	memset(&me, 0, sizeof(me));
	me.vmin = WIRE_VMIN;
	me.vmax = WIRE_VMAX;
	snprintf(me.node, sizeof(me.node), "cli");
	seal_random(me.sid, sizeof(me.sid));
	me.maxmsg = 4000;
	me.from = 0;
	me.resume = -1;
	{
		char as[sizeof(path) + 8];

		snprintf(as, sizeof(as), "unix:%s", path);
		if (addr_parse(as, 0, &a, &e) == -1)
			abort();
	}
	why[0] = '\0';
	r = client_open(&a, timeout_ms, l, &me, peer, psk, why, whylen);
	if (r == CLIENT_OK && psk != NULL) {
		const char *body;
		size_t len;
		ssize_t f;

		/* The listener's record: the client's keys open it. */
		while ((f = link_frame(l, 0, &body, &len)) == 0) {
			ssize_t n = link_read(l);

			if (n == 0 || (n == -1 && errno != EAGAIN)) {
				snprintf(why, whylen, "no sealed record");
				r = CLIENT_PROTOCOL;
				break;
			}
			if (n == -1)
				usleep(1000);
		}
		if (f > 0 &&
		    (len != 33 ||
			memcmp(body, "0:,4:pong,1:7,3:lis,1:0,6:sealed,", 33) !=
			    0)) {
			snprintf(why, whylen, "the record is not the pong");
			r = CLIENT_PROTOCOL;
		}
	}
	if (l->fd != -1) {
		close(l->fd);
		l->fd = -1;
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	unlink(path);
	return (r);
}

static int
t_plain(void)
{
	struct link l = {0};
	struct wire_hello peer;
	char why[256];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	CHECKF(open_with(S_SERVER, NULL, 0, NULL, 2000, &l, &peer, why,
		   sizeof(why)) == CLIENT_OK,
	    "%s", why);
	CHECK(strcmp(peer.node, "lis") == 0 && peer.maxmsg == 5000 &&
	    peer.resume == 0 && !peer.sealed);
	link_free(&l);
	return (0);
}

static int
t_sealed(void)
{
	struct link l = {0};
	struct wire_hello peer;
	char why[256];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	/* Either key of a listener that has two. */
	CHECKF(open_with(S_SERVER, NULL, 2, K1, 2000, &l, &peer, why,
		   sizeof(why)) == CLIENT_OK,
	    "%s", why);
	CHECK(peer.sealed);
	link_free(&l);
	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	CHECKF(open_with(S_SERVER, NULL, 2, K2, 2000, &l, &peer, why,
		   sizeof(why)) == CLIENT_OK,
	    "%s", why);
	link_free(&l);
	/* The second key, which this listener does not hold: "auth". */
	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	CHECK(open_with(S_SERVER, NULL, 1, K2, 2000, &l, &peer, why,
		  sizeof(why)) == CLIENT_AUTH);
	/* clang-format off */
	CHECKF(strcmp(why, "refused: authentication failed: the peer does not hold the key, or the handshake was altered") == 0,
	    "%s", why);
	/* clang-format on */
	link_free(&l);
	return (0);
}

/* Sealing that does not match, either way: refused, 76's class. */
static int
t_sealing(void)
{
	struct link l = {0};
	struct wire_hello peer;
	char why[256];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	CHECK(open_with(S_SERVER, NULL, 1, NULL, 2000, &l, &peer, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	/* clang-format off */
	CHECKF(strcmp(why, "refused: this listener is sealed (-k) and the peer is not") == 0,
	    "%s", why);
	/* clang-format on */
	CHECK(open_with(S_SERVER, NULL, 0, K1, 2000, &l, &peer, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	/* clang-format off */
	CHECKF(strcmp(why, "refused: the peer is sealed (-k) and this listener is not") == 0,
	    "%s", why);
	/* clang-format on */
	link_free(&l);
	return (0);
}

/* The class comes from the code; the words are only shown. */
static int
t_codes(void)
{
	static const struct {
		const char *text, *code;
		enum client_err want;
		const char *why;
	} c[] = {
	    {"key mismatch", "auth", CLIENT_AUTH,
		"refused: authentication failed: key mismatch"},
	    {"no room", "full", CLIENT_UNAVAILABLE, "refused: no room"},
	    {"later", "busy", CLIENT_UNAVAILABLE, "refused: later"},
	    {"authentication failed", "hello", CLIENT_PROTOCOL,
		"refused: authentication failed"},
	    {"authentication failed", NULL, CLIENT_PROTOCOL,
		"refused: authentication failed"},
	    {"x", "a-code-of-a-later-version", CLIENT_PROTOCOL, "refused: x"},
	    {"v", "version", CLIENT_PROTOCOL, "refused: v"},
	};
	struct link l = {0};
	struct wire_hello peer;
	char why[256], frame[256];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *args[] = {c[i].text, c[i].code, NULL};
		size_t n = wire_put_ctl(frame, sizeof(frame) - 1, "error", args,
		    NULL, 0);
		enum client_err r;

		frame[n] = '\0';
		r = open_with(S_SAY, frame, 0, NULL, 2000, &l, &peer, why,
		    sizeof(why));
		CHECKF(r == c[i].want, "case %zu: %d", i, (int)r);
		CHECKF(strcmp(why, c[i].why) == 0, "case %zu: %s", i, why);
	}
	link_free(&l);
	return (0);
}

/* A hello with a bad field names it; no common version says both ranges. */
static int
t_bad_hello(void)
{
	/* clang-format off */
	static const struct {
		const char *args[8];
		const char *why;
	} c[] = {
		{ { "quilt", "1-1", "node=lis", "session=000102030405060708090a0b0c0d0e0f", "max=10", NULL },
		    "bad hello from the peer: the max field is missing, malformed or under 64" },
		{ { "quilt", "1-1", "node=lis", "max=100", NULL },
		    "bad hello from the peer: the session field is missing or not 32 hex digits" },
		{ { "quilt", "9-9", "node=lis", "session=000102030405060708090a0b0c0d0e0f", "max=100", NULL },
		    "no common protocol version (we speak 1-1, the peer 9-9)" },
		{ { "quilx", NULL }, "bad hello from the peer: not a quilt hello" },
	};
	/* clang-format on */
	struct link l = {0};
	struct wire_hello peer;
	char why[256], frame[512];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = wire_put_ctl(frame, sizeof(frame) - 1, "hello",
		    c[i].args, NULL, 0);

		frame[n] = '\0';
		CHECK(open_with(S_SAY, frame, 0, NULL, 2000, &l, &peer, why,
			  sizeof(why)) == CLIENT_PROTOCOL);
		CHECKF(strcmp(why, c[i].why) == 0, "case %zu: %s", i, why);
	}
	CHECK(open_with(S_SAY, "garbage", 0, NULL, 2000, &l, &peer, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	CHECKF(strcmp(why, "bad hello from the peer: not a netstring") == 0,
	    "%s", why);
	link_free(&l);
	return (0);
}

/* Silence is a timeout; a close is a protocol failure; nobody, refused. */
static int
t_silent_closed(void)
{
	struct link l = {0};
	struct wire_hello peer;
	char why[256];

	CHECK(link_init(&l, -1, 4000, 65536, 0) == 0);
	CHECK(open_with(S_SILENT, NULL, 0, NULL, 200, &l, &peer, why,
		  sizeof(why)) == CLIENT_TEMPFAIL);
	CHECKF(strcmp(why, "timed out") == 0, "%s", why);
	CHECK(open_with(S_CLOSE, NULL, 0, NULL, 2000, &l, &peer, why,
		  sizeof(why)) == CLIENT_PROTOCOL);
	CHECKF(strcmp(why, "the peer closed the connection during the hello") ==
		0,
	    "%s", why);
	{
		struct wire_hello me;
		struct addr a;
		const char *e;
		char as[sizeof(path) + 8];

		memset(&me, 0, sizeof(me));
		me.vmin = me.vmax = 1;
		snprintf(me.node, sizeof(me.node), "cli");
		me.maxmsg = 100;
		me.from = 0;
		me.resume = -1;
		unlink(path);
		snprintf(as, sizeof(as), "unix:%s", path);
		CHECK(addr_parse(as, 0, &a, &e) == 0);
		CHECK(client_open(&a, 500, &l, &me, &peer, NULL, why,
			  sizeof(why)) == CLIENT_UNAVAILABLE);
		CHECK(l.fd == -1);
	}
	link_free(&l);
	return (0);
}

static const struct tcase cases[] = {
    {"a plain session against server.c", t_plain},
    {"sealed: either of the listener's keys; another is CLIENT_AUTH", t_sealed},
    {"sealing that does not match is refused, either way", t_sealing},
    {"a refusal's class comes from its code, never its words", t_codes},
    {"a bad hello names its field; no common version", t_bad_hello},
    {"silence times out, a close fails, nobody there is unavailable",
	t_silent_closed},
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (seal_init() == -1)
		return (1);
	seal_random(K1, sizeof(K1));
	seal_random(K2, sizeof(K2));
	snprintf(path, sizeof(path), "/tmp/t_client.%ld.sock", (long)getpid());
	return (TC_RUN(cases));
}
