/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-listen -R: no quilt protocol, each connection a plain byte stream,
 * so that nc, telnet or any TCP client can talk to it.  Without -e, data
 * from concurrent connections goes to standard output whole records (lines
 * or NUL records) at a time; with -e, to the handler as it comes.
 */
#include <errno.h>
#include <string.h>

#include "listen.h"

/*
 * What has come on c: its records to standard output, or its bytes to the
 * handler, as far as that takes them (c->blocked when it waits for room).
 * -1 with EMSGSIZE for a record over the limit: the caller ends c.
 */
int
raw_process(struct conn *c)
{
	const struct opts *o = c->cs->o;
	struct sink *out = c->cs->out;
	struct buf *in = &c->link.in;
	const char *p;
	size_t len;
	ssize_t r;
	char *w;

	c->blocked = 0;
	if (o->cmd) {
		if (c->h.in == -1) {
			in->start = in->end = 0;
			return (0);
		}
		if (buf_len(in) == 0)
			return (0);
		if ((w = sink_reserve(&c->h.s, buf_len(in))) == NULL) {
			c->blocked = 1;
			return (0);
		}
		memcpy(w, buf_data(in), buf_len(in));
		sink_commit(&c->h.s, buf_len(in));
		buf_consume(in, buf_len(in));
		return (0);
	}
	for (;;) {
		r = fmt_next(o->fmt, buf_data(in), buf_len(in), c->rd_eof,
		    o->maxmsg, &p, &len);
		if (r == 0)
			return (0);
		if (r == -1) {
			errno = EMSGSIZE;
			return (-1);
		}
		if ((w = sink_reserve(out, len + 1)) == NULL) {
			c->blocked = 1;
			return (0);
		}
		memcpy(w, p, len);
		w[len] = o->fmt == FMT_NUL ? '\0' : '\n';
		sink_commit(out, len + 1);
		buf_consume(in, r);
	}
}

/*
 * Without -e, c ends at the end of its input (or when stopping) once what
 * came is written: 1 when it does.  (With -e, handler_raw_end decides.)
 */
int
raw_end(const struct conn *c)
{
	return ((c->rd_eof || c->cs->stopping) && !c->blocked);
}
