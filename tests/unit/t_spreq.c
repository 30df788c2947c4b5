/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of spread_req_parse (libcommon/spread): the requests sp-join
 * -i reads, in the text form (a line or a -0 record) and the parts form
 * (-N), and the line that explains a refusal.  TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "spread.h"
#include "tcase.h"

static struct spread_req r;

/* Parse a copy of exactly n bytes (the sanitizers see any overread). */
static int
parse(const char *s, size_t n, int parts)
{
	char *c = tc_exact(s, n);
	int rc;

	errno = 0;
	rc = spread_req_parse(c, n, parts, &r);
	/* r.data points into the copy: keep it as an offset. */
	if (rc == 0 && r.data != NULL)
		r.data = s + (r.data - c);
	free(c);
	return (rc);
}

static int
text(const char *s)
{
	return (parse(s, strlen(s), 0));
}

/* The body of a -N message whose parts are the strings given. */
static size_t
body(char *out, size_t cap, int n, const char *const *p, const size_t *len)
{
	char *o = out;

	for (int i = 0; i < n; i++) {
		size_t l = len ? len[i] : strlen(p[i]);

		if ((size_t)(o - out) + frame_size(l) > cap)
			abort();
		o = frame_put(o, p[i], l);
	}
	return (o - out);
}

/* A failure whose line is exactly why, with errno err. */
static int
refused(int rc, int err, const char *why)
{
	CHECKF(rc == -1, "accepted");
	CHECKF(errno == err, "errno %d", errno);
	CHECKF(strcmp(r.why, why) == 0, "why: %s", r.why);
	return (0);
}

static int
t_join_leave(void)
{
	CHECK(text("join chat") == 0);
	CHECK(r.kind == SPREAD_REQ_JOIN && r.ngroups == 1);
	CHECK(strcmp(r.groups[0], "chat") == 0);
	CHECK(text("leave $~") == 0);
	CHECK(r.kind == SPREAD_REQ_LEAVE && strcmp(r.groups[0], "$~") == 0);
	CHECK(text("join GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG") == 0); /* 31 */
	return (0);
}

static int
t_msg(void)
{
	CHECK(text("msg agreed 7 g hello, big world ") == 0);
	CHECK(r.kind == SPREAD_REQ_MSG);
	CHECK(r.service == SPREAD_AGREED_MESS && r.mess_type == 7);
	CHECK(r.ngroups == 1 && strcmp(r.group[0], "g") == 0);
	CHECK(r.len == 17 && memcmp(r.data, "hello, big world ", 17) == 0);
	CHECK(text("msg safe+self-discard -32768 a,#p#d,b  two") == 0);
	CHECK(r.service == (SPREAD_SAFE_MESS | SPREAD_SELF_DISCARD));
	CHECK(r.mess_type == -32768);
	CHECK(r.ngroups == 3 && strcmp(r.group[1], "#p#d") == 0 &&
	    strcmp(r.group[2], "b") == 0);
	CHECK(r.len == 4 && memcmp(r.data, " two", 4) == 0);
	/* No text, or an empty one: an empty message. */
	CHECK(text("msg fifo 32767 g") == 0 && r.len == 0);
	CHECK(text("msg unreliable -0 g ") == 0 && r.len == 0 &&
	    r.mess_type == 0);
	CHECK(parse("msg reliable 1 g a\0b\nc", 22, 0) == 0);
	CHECK(r.len == 5 && memcmp(r.data, "a\0b\nc", 5) == 0);
	CHECK(text("msg causal 0 g x") == 0 && r.service == SPREAD_CAUSAL_MESS);
	CHECK(text("msg unreliable 0 g x") == 0 &&
	    r.service == SPREAD_UNRELIABLE_MESS);
	return (0);
}

static int
t_parts(void)
{
	const char *msg[] = {"msg", "fifo", "-5", "g1,g2", "a\nb\0c d"};
	size_t len[] = {3, 4, 2, 5, 7};
	const char *join[] = {"join", "g"};
	const char *three[] = {"join", "g", "h"};
	char b[256];
	size_t n;

	n = body(b, sizeof(b), 5, msg, len);
	CHECK(parse(b, n, 1) == 0);
	CHECK(r.kind == SPREAD_REQ_MSG && r.service == SPREAD_FIFO_MESS);
	CHECK(r.mess_type == -5 && r.ngroups == 2);
	CHECK(r.len == 7 && memcmp(r.data, "a\nb\0c d", 7) == 0);
	n = body(b, sizeof(b), 4, msg, len);
	CHECK(parse(b, n, 1) == 0 && r.len == 0);
	n = body(b, sizeof(b), 2, join, NULL);
	CHECK(parse(b, n, 1) == 0 && r.kind == SPREAD_REQ_JOIN);
	/* A space inside a part is a byte of it, not a separator. */
	msg[4] = "msg agreed 0 g x";
	n = body(b, sizeof(b), 1, &msg[4], NULL);
	CHECK(refused(parse(b, n, 1), EINVAL,
		  "unknown command \"msg agreed 0 g x\": join, leave or msg") ==
	    0);
	n = body(b, sizeof(b), 3, three, NULL);
	CHECK(refused(parse(b, n, 1), EINVAL,
		  "join takes one group: join GROUP") == 0);
	CHECK(refused(parse("3:abc", 5, 1), EINVAL,
		  "not a sequence of parts") == 0);
	CHECK(parse("", 0, 1) == 0 && r.kind == SPREAD_REQ_NONE);
	return (0);
}

static int
t_empty(void)
{
	CHECK(text("") == 0 && r.kind == SPREAD_REQ_NONE);
	return (0);
}

/* Text-form records and the line each refusal gives. */
static const struct {
	const char *in;
	int err;
	const char *why;
} refusals[] = {
    {"part chat", EINVAL, "unknown command \"part\": join, leave or msg"},
    {" join g", EINVAL, "unknown command \"\": join, leave or msg"},
    {"join", EINVAL, "join takes one group: join GROUP"},
    {"leave a b", EINVAL, "leave takes one group: leave GROUP"},
    {"join  g", EINVAL, "join takes one group: join GROUP"},
    {"join #a#b", EINVAL,
	"group \"#a#b\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'"},
    {"join GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG", EINVAL,
	"group \"GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'"},
    {"join g\r", EINVAL,
	"group \"g\\x0d\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'"},
    {"msg agreed 0", EINVAL,
	"msg takes a service, a type, groups and a text: msg SERVICE TYPE GROUP[,GROUP...] TEXT"},
    {"msg fast 0 g x", EINVAL,
	"service \"fast\": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without"},
    {"msg agreed+ 0 g x", EINVAL,
	"service \"agreed+\": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without"},
    {"msg +self-discard 0 g x", EINVAL,
	"service \"+self-discard\": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without"},
    {"msg AGREED 0 g x", EINVAL,
	"service \"AGREED\": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without"},
    {"msg agreed 32768 g x", EINVAL,
	"message type \"32768\": must be -32768..32767"},
    {"msg agreed -32769 g x", EINVAL,
	"message type \"-32769\": must be -32768..32767"},
    {"msg agreed +1 g x", EINVAL, "message type \"+1\": must be -32768..32767"},
    {"msg agreed - g x", EINVAL, "message type \"-\": must be -32768..32767"},
    {"msg agreed 0000001 g x", EINVAL,
	"message type \"0000001\": must be -32768..32767"},
    {"msg agreed 0 a,,b x", EINVAL,
	"group \"\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~', or a private group #name#daemon"},
    {"msg agreed 0 a, x", EINVAL,
	"group \"\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~', or a private group #name#daemon"},
};

static int
t_refusals(void)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		int rc = text(refusals[i].in);

		CHECKF(rc == -1 && errno == refusals[i].err &&
			strcmp(r.why, refusals[i].why) == 0,
		    "\"%s\": %d, errno %d, %s", refusals[i].in, rc, errno,
		    r.why);
	}
	return (0);
}

/* Bytes outside the printable range are shown as \xHH, long words cut. */
static int
t_quoting(void)
{
	char line[200];

	CHECK(
	    refused(parse("bad\"\\\x01\xff", 7, 0), EINVAL,
		"unknown command \"bad\\x22\\x5c\\x01\\xff\": join, leave or msg") ==
	    0);
	memset(line, 'x', sizeof(line));
	CHECK(
	    refused(parse(line, sizeof(line), 0), EINVAL,
		"unknown command \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"...: join, leave or msg") ==
	    0);
	memset(line, 0, sizeof(line));
	memcpy(line, "join ", 5);
	CHECK(
	    refused(parse(line, sizeof(line), 0), EINVAL,
		"group \"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"...: ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'") ==
	    0);
	return (0);
}

/* 100 destinations are taken, 101 refused; the body limit is exact. */
static int
t_limits(void)
{
	static char line[SPREAD_MAX_BODY + 1024];
	size_t n, max1 = SPREAD_MAX_BODY - 32, max2 = SPREAD_MAX_BODY - 64;

	n = (size_t)snprintf(line, sizeof(line), "msg agreed 0 g0");
	for (int i = 1; i < 100; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",g%d", i);
	CHECK(parse(line, n, 0) == 0 && r.ngroups == 100 && r.len == 0);
	CHECK(strcmp(r.group[99], "g99") == 0);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ",g100 x");
	CHECK(
	    refused(parse(line, n, 0), EINVAL,
		"101 groups: ILLEGAL_GROUP: at most 100 groups per message") ==
	    0);

	n = (size_t)snprintf(line, sizeof(line), "msg agreed 0 g ");
	memset(line + n, 'y', max1 + 1);
	CHECK(parse(line, n + max1, 0) == 0 && r.len == max1);
	CHECK(
	    refused(parse(line, n + max1 + 1, 0), EMSGSIZE,
		"MESSAGE_TOO_LONG: 143120 bytes at most to 1 group (32 x groups + data <= 143152)") ==
	    0);
	n = (size_t)snprintf(line, sizeof(line), "msg agreed 0 g,h ");
	memset(line + n, 'y', max2 + 1);
	CHECK(parse(line, n + max2, 0) == 0 && r.len == max2);
	CHECK(
	    refused(parse(line, n + max2 + 1, 0), EMSGSIZE,
		"MESSAGE_TOO_LONG: 143088 bytes at most to 2 groups (32 x groups + data <= 143152)") ==
	    0);
	return (0);
}

/* What parses encodes: spread_mcast_encode takes every message. */
static int
t_encodes(void)
{
	static uint8_t out[SPREAD_HEADER_SIZE + SPREAD_MAX_BODY];
	struct spread_msg m;

	CHECK(text("msg safe+self-discard -2 a,#p#d x y") == 0);
	CHECK(spread_mcast_encode(out, sizeof(out), "#me#d", r.service, r.group,
		  r.ngroups, r.mess_type, r.data,
		  r.len) == (ssize_t)spread_mcast_size(2, 3));
	CHECK(spread_msg_decode(out, sizeof(out), sizeof(out), &m) > 0);
	CHECK(m.h.type == (SPREAD_SAFE_MESS | SPREAD_SELF_DISCARD));
	CHECK(spread_mess_type(m.h.hint) == -2 && m.h.num_groups == 2);
	CHECK(memcmp(m.data, "x y", 3) == 0);
	return (0);
}

static const struct tcase cases[] = {
    {"join and leave take one group", t_join_leave},
    {"msg: service, self-discard, type, destinations, text with spaces", t_msg},
    {"the parts form: the same words, any bytes in the text", t_parts},
    {"an empty record is no request", t_empty},
    {"every refusal names what is wrong", t_refusals},
    {"a word in a refusal is quoted, escaped and cut", t_quoting},
    {"100 destinations and the body limit, exactly", t_limits},
    {"a parsed message encodes", t_encodes},
};

int
main(void)
{
	return (TC_RUN(cases));
}
