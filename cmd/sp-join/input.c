/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-join -i: requests on standard input, one a line (-0 a record, -N a
 * netstring), parsed by spread_req_parse.  Not made non-blocking: the loop
 * reads it once after poll says so.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "frame.h"
#include "join.h"

int
input_init(struct input *in, enum fmt fmt)
{
	in->fmt = fmt;
	return (buf_init(&in->buf, 65536, INPUT_REQ_MAX + 65536));
}

ssize_t
input_fill(struct input *in)
{
	ssize_t n = buf_fill(&in->buf, 0, 65536);

	if (n == 0)
		in->eof = 1;
	return (n);
}

static int
bad(struct input *in, const char *why)
{
	snprintf(in->why, sizeof(in->why), "stdin: %s %llu: %s",
	    in->fmt == FMT_LINE ? "line" : "record", in->recno, why);
	return (-1);
}

int
input_next(struct input *in, const struct spread_req **r)
{
	const char *rec, *body;
	size_t len, blen;
	ssize_t n;
	int net = in->fmt == FMT_NET;
	char why[64];

	buf_consume(&in->buf, in->taken);
	in->taken = 0;
	if (in->done)
		return (0);
	n = fmt_next(in->fmt, buf_data(&in->buf), buf_len(&in->buf), in->eof,
	    INPUT_REQ_MAX, &rec, &len);
	if (n == 0) {
		in->done = in->eof;
		return (0);
	}
	in->recno++;
	if (n == -1 && errno == EMSGSIZE) {
		snprintf(why, sizeof(why),
		    "MESSAGE_TOO_LONG: longer than %u bytes",
		    (unsigned)INPUT_REQ_MAX);
		return (bad(in, why));
	}
	if (n == -1 && net && in->eof &&
	    frame_parse(buf_data(&in->buf), buf_len(&in->buf), INPUT_REQ_MAX,
		&body, &blen) == 0)
		return (bad(in, "truncated at the end of the input"));
	if (n == -1)
		return (
		    bad(in, net ? "malformed netstring" : "malformed record"));
	if (spread_req_parse(rec, len, net, &in->r) == -1)
		return (bad(in, in->r.why));
	in->taken = n;
	*r = &in->r;
	return (1);
}
