/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "frame.h"
#include "log.h"
#include "lsdb.h"
#include "nodes.h"
#include "relay.h"

struct local LO;

int
local_init(int outfd)
{
	/* Again (a test program resets its state): what was, goes. */
	free(LO.wq);
	free(LO.partbuf);
	buf_free(&LO.in);
	sink_free(&LO.out);
	memset(&LO, 0, sizeof(LO));
	if ((LO.wq = calloc(WQ_MAX, sizeof(*LO.wq))) == NULL ||
	    (LO.partbuf = malloc(conf.maxmsg + FRAME_HDR_MAX + 1)) == NULL ||
	    buf_init(&LO.in, IN_CHUNK, conf.maxmsg + IN_CHUNK) == -1 ||
	    sink_init(&LO.out, outfd, 0,
		fmt_json_bound(conf.maxmsg) + 32 + 6 * WIRE_NODE_MAX + IN_CHUNK,
		4096) == -1)
		return (-1);
	LO.out.term = conf.fmt == FMT_NET ? -1 :
	    conf.json			  ? '\n' :
					    fmt_term(conf.fmt);
	return (0);
}

/*
 * -j: {"kind":"msg","from":NAME,"parts":[...]} (or "parts_b64", when a
 * part is not UTF-8) and a newline.
 */
static ssize_t
put_json(char *out, const char *name, size_t nl, const char *parts, size_t plen)
{
	char head[32 + 6 * WIRE_NODE_MAX];
	int k;

	k = snprintf(head, sizeof(head), "{\"kind\":\"msg\",\"from\":\"");
	k += fmt_json(head + k, name, nl < WIRE_NODE_MAX ? nl : WIRE_NODE_MAX);
	memcpy(head + k, "\",", 2);
	return (fmt_put_json(out, head, k + 2, parts, plen));
}

int
local_write(int origin, int want, uint64_t id, const char *parts, size_t plen)
{
	const struct node *x = &N.n[origin];
	size_t need = conf.json ?
	    fmt_json_bound(plen) + 32 + 6 * WIRE_NODE_MAX :
	    fmt_bound(plen + x->namelen + 16);
	size_t t;
	ssize_t k;
	char *w;

	if (LO.wq_count == WQ_MAX || (w = sink_reserve(&LO.out, need)) == NULL)
		return (-1);
	k = conf.json ? put_json(w, x->name, x->namelen, parts, plen) :
			fmt_put_from(conf.fmt, w, x->name, x->namelen, parts,
			    plen, &LO.escaped);
	if (k == -1)
		return (0); /* not a sequence of parts: dropped */
	sink_commit(&LO.out, k);
	LO.out_count++;
	(void)sink_mark(&LO.out, 0, 0, LO.out_count, 1);
	t = (LO.wq_head + LO.wq_count++) % WQ_MAX;
	LO.wq[t].origin = origin;
	LO.wq[t].want = want;
	LO.wq[t].id = id;
	ctr.delivered++;
	return (0);
}

/* sink_flush's callback: count messages are written in all. */
static void
on_written(void *arg, unsigned id, unsigned gen, uint64_t count)
{
	local_written_fn *written = (local_written_fn *)arg;

	while (LO.out_written < count && LO.wq_count > 0) {
		size_t h = LO.wq_head;

		if (LO.wq[h].want)
			written(LO.wq[h].origin, LO.wq[h].id);
		LO.wq_head = (h + 1) % WQ_MAX;
		LO.wq_count--;
		LO.out_written++;
	}
}

int
local_flush(local_written_fn *written)
{
	if (sink_flush(&LO.out, on_written, (void *)written) == -1)
		return (-1);
	return (0);
}

int
local_read(void)
{
	ssize_t r = buf_fill(&LO.in, 0, IN_CHUNK);

	if (r == 0 || (r == -1 && errno != EAGAIN && errno != ENOBUFS)) {
		LO.in_eof = 1;
		return (0);
	}
	return (1);
}

int
local_next(struct wire_msg *m)
{
	for (;;) {
		const char *p, *dest, *rest;
		size_t len, dl, rl;
		ssize_t r = fmt_next(conf.fmt, buf_data(&LO.in),
		    buf_len(&LO.in), LO.in_eof, conf.maxmsg, &p, &len);
		int d;

		if (r == 0)
			return (0);
		if (r == -1) {
			log_warnx("stdin: %s: the rest of the input is ignored",
			    errno == EMSGSIZE ? "a message over the limit" :
						"a malformed netstring");
			LO.in.start = LO.in.end = 0;
			LO.in_eof = 1;
			return (0);
		}
		if (conf.fmt == FMT_NET) {
			struct frame_iter it;

			frame_iter_init(&it, p, len);
			if (frame_next_part(&it, &dest, &dl) != 1) {
				log_warnx(
				    "stdin: a message with no destination");
				buf_consume(&LO.in, r);
				continue;
			}
			rest = it.p;
			rl = it.n;
		} else {
			size_t i;

			for (i = 0; i < len && p[i] != ' ' && p[i] != '\t'; i++)
				;
			dest = p;
			dl = i;
			rest = i < len ? p + i + 1 : p + len;
			rl = i < len ? len - i - 1 : 0;
		}
		if (!is_all(dest, dl) && !wire_node_ok(dest, dl)) {
			log_warnx(
			    "stdin: '%.*s' is not a node name: the line is dropped",
			    (int)(dl > 64 ? 64 : dl), dest);
			buf_consume(&LO.in, r);
			continue;
		}
		if (!is_all(dest, dl) && (d = node_find(dest, dl)) != 0 &&
		    (d == -1 || ls_via(d) == -1)) {
			log_warnx(
			    "stdin: no route to %.*s: the message is dropped",
			    (int)dl, dest);
			buf_consume(&LO.in, r);
			continue;
		}
		/* As a client's [dest, "msg", part...] with nobody waiting:
		 * -N gives its parts as they are, a line becomes one. */
		m->cmd = W_MSG;
		m->dest = dest;
		m->destlen = dl;
		if (conf.fmt == FMT_NET) {
			m->args = rest;
			m->argslen = rl;
		} else {
			m->args = LO.partbuf;
			m->argslen = frame_put(LO.partbuf, rest, rl) -
			    LO.partbuf;
		}
		LO.taken = r;
		return (1);
	}
}

void
local_take(void)
{
	buf_consume(&LO.in, LO.taken);
	LO.taken = 0;
}
