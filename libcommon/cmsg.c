/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "cmsg.h"

#include <errno.h>
#include <string.h>

#include "addr.h"
#include "frame.h"
#include "sink.h"
#include "wire.h"

/* What a part of a verb is, and where it goes in struct cmsg. */
enum field {
	F_END,
	F_CONN, /* conn: a number */
	F_N, /* n: a number */
	F_NODE, /* node: a node name */
	F_INST, /* inst: "" or an instance id */
	F_ADDR, /* text: shorter than ADDR_STRLEN */
	F_WHY, /* text: anything */
	F_FRAME, /* data: exactly one netstring */
	F_BYTES, /* data: anything (frames, or a frame's body) */
};

#define NFIELDS 4

/* clang-format off */
static const struct verb {
	enum cmsg_type type;
	enum cmsg_chan chan;
	const char *name;
	enum field f[NFIELDS];
} verbs[] = {
	/* The hot ones first: the decoder tries them in this order. */
	{ CM_FRAMES,	CM_FROM_LISTEN,	"frames",	{ F_CONN, F_N, F_BYTES } },
	{ CM_ACK,	CM_FROM_SEND,	"ack",		{ F_N } },
	{ CM_TO,	CM_TO_LISTEN,	"to",		{ F_CONN, F_FRAME } },
	{ CM_FRAME,	CM_FROM_LISTEN,	"frame",	{ F_CONN, F_N, F_FRAME } },
	{ CM_PEER,	CM_FROM_SEND,	"frame",	{ F_BYTES } },
	{ CM_OPEN,	CM_FROM_LISTEN,	"open",		{ F_CONN, F_NODE, F_INST, F_ADDR } },
	{ CM_CLOSE,	CM_FROM_LISTEN,	"close",	{ F_CONN } },
	{ CM_LISTENING,	CM_FROM_LISTEN,	"listening",	{ F_ADDR } },
	{ CM_DROP,	CM_TO_LISTEN,	"drop",		{ F_CONN, F_WHY } },
	{ CM_UP,	CM_FROM_SEND,	"up",		{ F_NODE, F_INST, F_N, F_ADDR } },
	{ CM_DOWN,	CM_FROM_SEND,	"down",		{ F_WHY } },
};
/* clang-format on */

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb *
verb_of(enum cmsg_type t)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].type == t)
			return (&verbs[i]);
	return (NULL);
}

const char *
cmsg_name(enum cmsg_type t)
{
	const struct verb *v = verb_of(t);

	return (v ? v->name : "?");
}

static int
field_get(enum field f, const char *p, size_t len, struct cmsg *m)
{
	unsigned long long v;
	const char *b;
	size_t bl;

	switch (f) {
	case F_CONN:
	case F_N:
		if (frame_part_num(p, len, UINT64_MAX, &v) == -1)
			return (-1);
		*(f == F_CONN ? &m->conn : &m->n) = v;
		return (0);
	case F_NODE:
		if (!wire_node_ok(p, len))
			return (-1);
		m->node.p = p;
		m->node.len = len;
		return (0);
	case F_INST:
		if (len > 0 && !wire_inst_ok(p, len))
			return (-1);
		m->inst.p = p;
		m->inst.len = len;
		return (0);
	case F_ADDR:
		if (len >= ADDR_STRLEN)
			return (-1);
		/* FALLTHROUGH */
	case F_WHY:
		m->text.p = p;
		m->text.len = len;
		return (0);
	case F_FRAME:
		if (len == 0 ||
		    frame_parse(p, len, len, &b, &bl) != (ssize_t)len)
			return (-1);
		/* FALLTHROUGH */
	case F_BYTES:
		m->data.p = p;
		m->data.len = len;
		return (0);
	case F_END:
		break;
	}
	return (-1);
}

int
cmsg_decode(enum cmsg_chan ch, const char *body, size_t len, struct cmsg *m)
{
	struct frame_iter it;
	const struct verb *v = NULL;
	const char *p;
	size_t n;

	memset(m, 0, sizeof(*m));
	frame_iter_init(&it, body, len);
	if (frame_next_part(&it, &p, &n) != 1)
		goto bad;
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].chan == ch && strlen(verbs[i].name) == n &&
		    memcmp(verbs[i].name, p, n) == 0) {
			v = &verbs[i];
			break;
		}
	if (v == NULL)
		goto bad;
	m->type = v->type;
	for (int i = 0; i < NFIELDS && v->f[i] != F_END; i++)
		if (frame_next_part(&it, &p, &n) != 1 ||
		    field_get(v->f[i], p, n, m) == -1)
			goto bad;
	/* Exactly the parts the verb has. */
	if (frame_next_part(&it, &p, &n) != 0)
		goto bad;
	return (0);
bad:
	errno = EBADMSG;
	return (-1);
}

/* The parts of m; nums holds the decimal numbers they point into. */
static int
parts_of(const struct cmsg *m, const char **p, size_t *l, char nums[2][24])
{
	const struct verb *v = verb_of(m->type);
	int k = 0, d = 0;

	if (v == NULL)
		return (-1);
	p[k] = v->name;
	l[k++] = strlen(v->name);
	for (int i = 0; i < NFIELDS && v->f[i] != F_END; i++, k++) {
		const struct cmsg_str *s = NULL;

		switch (v->f[i]) {
		case F_CONN:
		case F_N:
			l[k] = frame_u64(nums[d],
			    v->f[i] == F_CONN ? m->conn : m->n);
			p[k] = nums[d++];
			continue;
		case F_NODE:
			s = &m->node;
			break;
		case F_INST:
			s = &m->inst;
			break;
		case F_ADDR:
		case F_WHY:
			s = &m->text;
			break;
		case F_FRAME:
		case F_BYTES:
			s = &m->data;
			break;
		case F_END:
			break;
		}
		p[k] = s->p ? s->p : "";
		l[k] = s->p ? s->len : 0;
	}
	return (k);
}

size_t
cmsg_put(char *out, size_t cap, const struct cmsg *m)
{
	const char *p[1 + NFIELDS];
	size_t l[1 + NFIELDS];
	char nums[2][24];
	int n = parts_of(m, p, l, nums);

	if (n == -1)
		return (SIZE_MAX);
	return (frame_putv(out, cap, n, p, l));
}

int
cmsg_sink(struct sink *s, const struct cmsg *m)
{
	const char *p[1 + NFIELDS];
	size_t l[1 + NFIELDS];
	char nums[2][24];
	int n = parts_of(m, p, l, nums);

	if (n == -1) {
		errno = EINVAL;
		return (-1);
	}
	return (sink_putv(s, n, p, l));
}
