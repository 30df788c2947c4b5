/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The daemon's side of a Spread client session (see spreadd.h and
 * PROTOCOL.md sections 2, 5, 6, 8 and 11.2).  Every count a client sends is
 * checked against the limits before it is used, and nothing is kept of its
 * bytes: a request is a view into the room's buffer.
 */
#include "spreadd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Whether the offer lists method (each name is followed by a space). */
static int
offered(const char *methods, const char *method)
{
	size_t ml = strlen(method);

	while (*methods != '\0') {
		const char *sp = strchr(methods, ' ');

		if ((size_t)(sp - methods) == ml &&
		    memcmp(methods, method, ml) == 0)
			return (1);
		methods = sp + 1;
	}
	return (0);
}

/* Names of 1..29 legal bytes, each followed by exactly one space. */
static int
methods_valid(const char *m)
{
	size_t len = strlen(m);

	if (len > SPREAD_MAX_AUTH_LIST)
		return (0);
	while (*m != '\0') {
		const char *sp = strchr(m, ' ');

		if (sp == NULL || sp == m || sp - m >= SPREAD_AUTH_NAME ||
		    !spread_name_legal(m, sp - m))
			return (0);
		m = sp + 1;
	}
	return (1);
}

int
spreadd_init(struct spreadd *s, const struct spreadd_conf *conf, void *arg,
    unsigned invent_n, unsigned invent_k)
{
	size_t dl = conf->daemon ? strlen(conf->daemon) : 0;

	memset(s, 0, sizeof(*s));
	s->state = SPREADD_DONE;
	if (dl < 1 || dl > SPREAD_MAX_PROC ||
	    !spread_name_legal(conf->daemon, dl) || conf->methods == NULL ||
	    !methods_valid(conf->methods) || conf->claim == NULL) {
		errno = EINVAL;
		return (-1);
	}
	s->conf = conf;
	s->arg = arg;
	s->invent_n = invent_n;
	s->invent_k = invent_k;
	s->state = SPREADD_HELLO;
	return (0);
}

size_t
spreadd_invent(char *out, unsigned n, unsigned k)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "r%u-%u", n, k);

	/* Spread cuts it: with socket 1000, r2599-1000 is r2599-100. */
	if (len > SPREADD_INVENT_MAX)
		len = SPREADD_INVENT_MAX;
	memcpy(out, tmp, len);
	out[len] = '\0';
	return (len);
}

const char *
spreadd_strerror(enum spreadd_err e)
{
	switch (e) {
	case SPREADD_E_NONE:
		return ("no error");
	case SPREADD_E_TYPE:
		return ("type is not one service or one of join, leave, kill");
	case SPREADD_E_SENDER:
		return ("sender is not the session's private group");
	case SPREADD_E_NGROUPS:
		return ("group count out of range");
	case SPREADD_E_HINT:
		return ("hint has bits outside 0x80ffff80");
	case SPREADD_E_DATALEN:
		return ("data length out of range");
	case SPREADD_E_SIZE:
		return ("message larger than 143152 bytes");
	case SPREADD_E_GROUP:
		return ("illegal or unterminated group name");
	}
	return ("unknown error");
}

/* ------------------------------------------------------------------ */
/* Set-up. */

static void
refuse(struct spreadd *s, struct spreadd_ev *ev, int code)
{
	ev->kind = SPREADD_REFUSE;
	ev->code = code;
	ev->len = 0;
	if (code != 0)
		ev->reply[ev->len++] = (uint8_t)(int8_t)code;
	s->state = SPREADD_DONE;
}

static void
accept_session(struct spreadd *s, struct spreadd_ev *ev)
{
	const struct spreadd_conf *c = s->conf;
	size_t nl = strlen(s->name), dl = strlen(c->daemon), n = 0;

	/* #name#daemon: at most 1 + 10 + 1 + 19 = 31 bytes. */
	s->group[0] = '#';
	memcpy(s->group + 1, s->name, nl);
	s->group[1 + nl] = '#';
	memcpy(s->group + 2 + nl, c->daemon, dl);
	s->group_len = 2 + nl + dl;
	s->group[s->group_len] = '\0';

	ev->kind = SPREADD_ACCEPT;
	ev->reply[n++] = SPREAD_ACCEPT_SESSION;
	ev->reply[n++] = c->major;
	ev->reply[n++] = c->minor;
	if (s->reply_patch)
		ev->reply[n++] = c->patch;
	ev->reply[n++] = (uint8_t)s->group_len;
	memcpy(ev->reply + n, s->group, s->group_len);
	ev->len = n + s->group_len;
	s->state = SPREADD_OPEN;
}

/*
 * How far the hello in p[0..n) goes: the bytes it takes (> 0) once Spread
 * would act on it, else 0 with *stage saying what is missing: 0 the
 * version or header, 1 name bytes (*have of them there).
 */
static size_t
hello_size(const uint8_t *p, size_t n, int *stage, size_t *have)
{
	size_t hdr;
	unsigned v;

	*stage = 0;
	*have = 0;
	if (n < 2)
		return (0);
	v = p[0] * 10000u + p[1] * 100u;
	if (v < 30100)
		return (2); /* refused after the version bytes */
	hdr = spread_version_has_patch(p[0], p[1]) ? 5 : 4;
	if (n < hdr)
		return (0);
	if (p[hdr - 1] > SPREAD_MAX_PRIVATE)
		return (hdr); /* refused without reading the name */
	if (n < hdr + p[hdr - 1]) {
		*stage = 1;
		*have = n - hdr;
		return (0);
	}
	return (hdr + p[hdr - 1]);
}

static ssize_t
hello(struct spreadd *s, const uint8_t *p, size_t n, struct spreadd_ev *ev)
{
	const struct spreadd_conf *c = s->conf;
	size_t size, have, hdr, len;
	int stage;

	if ((size = hello_size(p, n, &stage, &have)) == 0)
		return (0);
	s->major = p[0];
	s->minor = p[1];
	if (size == 2) {
		refuse(s, ev, SPREAD_REJECT_VERSION);
		return (2);
	}
	hdr = spread_version_has_patch(p[0], p[1]) ? 5 : 4;
	s->patch = hdr == 5 ? p[2] : 0;
	s->flags = p[hdr - 2];
	s->membership = s->flags & SPREAD_HELLO_MEMBERSHIP;
	s->auth = spread_version_has_auth(s->major, s->minor, s->patch);
	s->reply_patch = spread_version_reply_patch(s->major, s->minor,
	    s->patch);
	len = p[hdr - 1];
	/* Spread's order: the length, the bytes, then uniqueness. */
	if (len > SPREAD_MAX_PRIVATE ||
	    !spread_name_legal((const char *)p + hdr, len)) {
		refuse(s, ev, SPREAD_REJECT_ILLEGAL_NAME);
		return (size);
	}
	if (len == 0)
		len = spreadd_invent(s->name, s->invent_n, s->invent_k);
	else {
		memcpy(s->name, p + hdr, len);
		s->name[len] = '\0';
	}
	if (c->claim(s->arg, s->name, len) == -1) {
		refuse(s, ev, SPREAD_REJECT_NOT_UNIQUE);
		return (size);
	}
	s->claimed = 1;
	if (!s->auth) {
		/* Before 3.16 there is no auth step: the accept at once. */
		accept_session(s, ev);
		return (size);
	}
	if (c->methods[0] == '\0') {
		/* Nothing to offer: the refusal follows the empty offer. */
		refuse(s, ev, SPREAD_REJECT_AUTH);
		ev->reply[0] = 0;
		ev->reply[1] = (uint8_t)(int8_t)SPREAD_REJECT_AUTH;
		ev->len = 2;
		return (size);
	}
	ev->kind = SPREADD_REPLY;
	ev->len = (size_t)spread_offer_encode(ev->reply, sizeof(ev->reply),
	    c->methods);
	s->state = SPREADD_CHOICE;
	return (size);
}

static ssize_t
choice(struct spreadd *s, const uint8_t *p, size_t n, struct spreadd_ev *ev)
{
	struct spread_choice ch;

	/* Three slots up to the first empty one, never past the third. */
	if (spread_choice_decode(p, n, &ch) == 0)
		return (0);
	for (int i = 0; i < ch.count; i++)
		if (!offered(s->conf->methods, ch.method[i])) {
			ch.count = 0;
			break;
		}
	if (ch.count == 0)
		refuse(s, ev, SPREAD_REJECT_AUTH);
	else
		accept_session(s, ev);
	return (SPREAD_AUTH_CHOICE);
}

void
spreadd_end(struct spreadd *s, const uint8_t *p, size_t n, int eof,
    struct spreadd_ev *ev)
{
	size_t have;
	int stage;

	memset(ev, 0, sizeof(*ev));
	switch (s->state) {
	case SPREADD_HELLO:
		/*
		 * Spread reads the name once: a read that comes up short is
		 * -5, and so is end of file; nothing yet is a silent close.
		 */
		if (hello_size(p, n, &stage, &have) == 0 && stage == 1 &&
		    (have > 0 || eof))
			refuse(s, ev, SPREAD_REJECT_ILLEGAL_NAME);
		else
			refuse(s, ev, 0);
		break;
	case SPREADD_CHOICE:
		/* Its one read of 90 bytes, short: -9 (end of file alike). */
		refuse(s, ev, n > 0 || eof ? SPREAD_REJECT_AUTH : 0);
		break;
	case SPREADD_OPEN:
		ev->kind = SPREADD_CLOSED;
		break;
	case SPREADD_DONE:
		refuse(s, ev, 0);
		break;
	}
	s->state = SPREADD_DONE;
}

/* ------------------------------------------------------------------ */
/* Requests. */

static ssize_t
drop(struct spreadd *s, enum spreadd_err e)
{
	s->err = e;
	s->state = SPREADD_DONE;
	switch (e) {
	case SPREADD_E_SIZE:
		errno = EMSGSIZE;
		break;
	case SPREADD_E_NGROUPS:
	case SPREADD_E_DATALEN:
	case SPREADD_E_GROUP:
		errno = EBADMSG;
		break;
	default:
		errno = EPROTO;
		break;
	}
	return (-1);
}

/*
 * Exactly one service bit (SELF_DISCARD beside it allowed), or exactly one
 * of JOIN, LEAVE, KILL, and no other bit: the kind, else 0.
 */
static int
kind_of(uint32_t t)
{
	uint32_t svc = t & SPREAD_REGULAR_MESS;

	if (svc != 0 && (svc & (svc - 1)) == 0 &&
	    (t & ~(SPREAD_REGULAR_MESS | SPREAD_SELF_DISCARD)) == 0)
		return (SPREADD_MCAST);
	if (t == SPREAD_JOIN_MESS)
		return (SPREADD_JOIN);
	if (t == SPREAD_LEAVE_MESS)
		return (SPREADD_LEAVE);
	if (t == SPREAD_KILL_MESS)
		return (SPREADD_KILL);
	return (0);
}

/*
 * A multicast names 1..100 groups, a join or leave one; a kill's field is
 * ignored, and Spread's library fills one where a raw client may send none.
 */
static int
ngroups_ok(int k, int32_t n)
{
	switch (k) {
	case SPREADD_MCAST:
		return (n >= 1 && n <= SPREAD_MAX_GROUPS);
	case SPREADD_KILL:
		return (n == 0 || n == 1);
	default:
		return (n == 1);
	}
}

/*
 * Each name ends with a NUL in its field and is a group name (a multicast
 * may also name a private group).  A kill's field is the client's own
 * name, which Spread does not look at either.
 */
static int
groups_ok(int k, const uint8_t *g, int ngroups)
{
	for (int i = 0; i < ngroups; i++, g += SPREAD_GROUP_SIZE) {
		const uint8_t *z = memchr(g, 0, SPREAD_GROUP_SIZE);
		size_t len = z ? (size_t)(z - g) : 0;
		const char *s = (const char *)g;

		if (z == NULL ||
		    !(k == SPREADD_MCAST ? spread_dest_valid(s, len) :
					   spread_group_valid(s, len)))
			return (0);
	}
	return (1);
}

static ssize_t
request(struct spreadd *s, const uint8_t *p, size_t n, struct spreadd_ev *ev)
{
	struct spread_header h;
	struct spreadd_req *r = &ev->req;
	int k;
	const uint8_t *z;
	uint64_t body;
	size_t len, glen;

	if (n < SPREAD_HEADER_SIZE)
		return (0);
	/* Half a byte-order mark decodes as an error: a type error here. */
	if (spread_header_decode(p, n, &h) == -1 || (k = kind_of(h.type)) == 0)
		return (drop(s, SPREADD_E_TYPE));
	/* Spread reads the sender up to its NUL, byte 31 forced to 0. */
	z = memchr(h.name, 0, SPREAD_GROUP_SIZE - 1);
	len = z ? (size_t)(z - h.name) : SPREAD_GROUP_SIZE - 1;
	if (len != s->group_len || memcmp(h.name, s->group, len) != 0)
		return (drop(s, SPREADD_E_SENDER));
	if (!ngroups_ok(k, h.num_groups))
		return (drop(s, SPREADD_E_NGROUPS));
	/* The hint's bytes, either order: 8x ?? ?? 8x with x 0, or 0x00. */
	if ((p[40] & 0x7f) != 0 || (p[43] & 0x7f) != 0 ||
	    (p[40] & 0x80) != (p[43] & 0x80))
		return (drop(s, SPREADD_E_HINT));
	if (h.data_len < 0 || (k != SPREADD_MCAST && h.data_len != 0))
		return (drop(s, SPREADD_E_DATALEN));
	glen = (size_t)h.num_groups * SPREAD_GROUP_SIZE;
	body = glen + (uint64_t)h.data_len;
	if (body > SPREAD_MAX_BODY)
		return (drop(s, SPREADD_E_SIZE));
	/* The names as soon as they are there, before the data. */
	if (n < SPREAD_HEADER_SIZE + glen)
		return (0);
	if (k != SPREADD_KILL &&
	    !groups_ok(k, p + SPREAD_HEADER_SIZE, h.num_groups))
		return (drop(s, SPREADD_E_GROUP));
	if (n < SPREAD_HEADER_SIZE + body)
		return (0);

	memset(r, 0, sizeof(*r));
	r->type = h.type;
	memcpy(r->hint, p + 40, 4);
	r->mess_type = spread_mess_type(h.hint);
	r->big = h.big;
	r->ngroups = h.num_groups;
	r->groups = p + SPREAD_HEADER_SIZE;
	r->data = r->groups + glen;
	r->len = (size_t)h.data_len;
	r->size = SPREAD_HEADER_SIZE + body;
	ev->kind = k;
	if (k == SPREADD_KILL)
		s->state = SPREADD_DONE;
	return ((ssize_t)r->size);
}

ssize_t
spreadd_input(struct spreadd *s, const uint8_t *p, size_t n,
    struct spreadd_ev *ev)
{
	/* What no event sets; reply and req only where they are meant. */
	ev->code = 0;
	ev->len = 0;
	switch (s->state) {
	case SPREADD_HELLO:
		return (hello(s, p, n, ev));
	case SPREADD_CHOICE:
		return (choice(s, p, n, ev));
	case SPREADD_OPEN:
		return (request(s, p, n, ev));
	case SPREADD_DONE:
		break;
	}
	if (s->err != SPREADD_E_NONE)
		return (drop(s, s->err));
	return (0);
}

/* ------------------------------------------------------------------ */
/* What the daemon sends. */

static int
put_name(uint8_t field[SPREAD_GROUP_SIZE], const char *s)
{
	size_t len = strlen(s);

	if (len >= SPREAD_GROUP_SIZE) {
		errno = EINVAL;
		return (-1);
	}
	memcpy(field, s, len);
	memset(field + len, 0, SPREAD_GROUP_SIZE - len);
	return (0);
}

/* The header, in order big with its mark; the hint is the daemon's. */
static int
put_header(uint8_t *p, int big, uint32_t type, const char *name, int ngroups,
    size_t len)
{
	if (put_name(p + 4, name) == -1)
		return (-1);
	spread_put32(p, type | (big ? 0 : SPREAD_ENDIAN_MARK), big);
	spread_put32(p + 36, (uint32_t)ngroups, big);
	spread_put32(p + 40, big ? 0 : SPREAD_ENDIAN_MARK, big);
	spread_put32(p + 44, (uint32_t)len, big);
	return (0);
}

static int
room(size_t cap, size_t size)
{
	if (cap < size) {
		errno = EMSGSIZE;
		return (0);
	}
	return (1);
}

ssize_t
spreadd_put_msg(uint8_t *buf, size_t cap, int big, const char *sender,
    const struct spreadd_req *r)
{
	size_t glen, size;

	if (kind_of(r->type) != SPREADD_MCAST || r->ngroups < 0 ||
	    r->ngroups > SPREAD_MAX_GROUPS || r->len > INT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	glen = (size_t)r->ngroups * SPREAD_GROUP_SIZE;
	size = SPREAD_HEADER_SIZE + glen + r->len;
	if (!room(cap, size) ||
	    put_header(buf, big, r->type, sender, r->ngroups, r->len) == -1)
		return (-1);
	/* The sender's hint: its order, its mark, its message type. */
	memcpy(buf + 40, r->hint, 4);
	if (glen)
		memcpy(buf + SPREAD_HEADER_SIZE, r->groups, glen);
	if (r->len)
		memcpy(buf + SPREAD_HEADER_SIZE + glen, r->data, r->len);
	return ((ssize_t)size);
}

size_t
spreadd_memb_size(const struct spreadd_memb *m)
{
	size_t size = SPREAD_HEADER_SIZE + 20;

	size += (size_t)m->nmembers * SPREAD_GROUP_SIZE;
	for (int i = 0; i < m->nvs; i++)
		size += 4 + (size_t)m->vs[i].count * SPREAD_GROUP_SIZE;
	return (size);
}

ssize_t
spreadd_put_memb(uint8_t *buf, size_t cap, int big,
    const struct spreadd_memb *m)
{
	size_t size = spreadd_memb_size(m), off, local = 0, body;
	uint8_t *b;

	if ((m->cause != SPREAD_CAUSED_BY_JOIN &&
		m->cause != SPREAD_CAUSED_BY_LEAVE &&
		m->cause != SPREAD_CAUSED_BY_DISCONNECT &&
		m->cause != SPREAD_CAUSED_BY_NETWORK) ||
	    m->nmembers < 0 || m->nvs < 0 ||
	    (m->nvs > 0 && (m->local < 0 || m->local >= m->nvs))) {
		errno = EINVAL;
		return (-1);
	}
	body = size - SPREAD_HEADER_SIZE -
	    (size_t)m->nmembers * SPREAD_GROUP_SIZE;
	if (!room(cap, size) ||
	    put_header(buf, big, SPREAD_REG_MEMB_MESS | m->cause, m->group,
		m->nmembers, body) == -1)
		return (-1);
	off = SPREAD_HEADER_SIZE;
	for (int i = 0; i < m->nmembers; i++, off += SPREAD_GROUP_SIZE)
		if (put_name(buf + off, m->members[i]) == -1)
			return (-1);
	b = buf + off;
	spread_put32(b, (uint32_t)m->gid.proc_id, big);
	spread_put32(b + 4, (uint32_t)m->gid.time, big);
	spread_put32(b + 8, (uint32_t)m->gid.index, big);
	spread_put32(b + 12, (uint32_t)m->nvs, big);
	off += 20;
	for (int i = 0; i < m->nvs; i++) {
		/* The offset counts from the first set. */
		if (i == m->local)
			local = off - (size_t)(b + 20 - buf);
		spread_put32(buf + off, (uint32_t)m->vs[i].count, big);
		off += 4;
		for (int j = 0; j < m->vs[i].count;
		     j++, off += SPREAD_GROUP_SIZE)
			if (put_name(buf + off, m->vs[i].names[j]) == -1)
				return (-1);
	}
	spread_put32(b + 16, (uint32_t)local, big);
	return ((ssize_t)size);
}

ssize_t
spreadd_put_light(uint8_t *buf, size_t cap, int big, uint32_t cause,
    const char *group, const struct spreadd_gid *gid,
    const char *const *members, int nmembers, const char *changed)
{
	struct spreadd_vs vs = {.names = &changed, .count = 1};
	struct spreadd_memb m = {.cause = cause,
	    .group = group,
	    .gid = *gid,
	    .members = members,
	    .nmembers = nmembers,
	    .vs = &vs,
	    .nvs = 1};

	return (spreadd_put_memb(buf, cap, big, &m));
}

ssize_t
spreadd_put_transition(uint8_t *buf, size_t cap, int big, const char *group,
    const struct spreadd_gid *old)
{
	uint8_t *b = buf + SPREAD_HEADER_SIZE;

	if (!room(cap, SPREAD_HEADER_SIZE + 12) ||
	    put_header(buf, big, SPREAD_TRANSITION_MESS, group, 0, 12) == -1)
		return (-1);
	spread_put32(b, (uint32_t)old->proc_id, big);
	spread_put32(b + 4, (uint32_t)old->time, big);
	spread_put32(b + 8, (uint32_t)old->index, big);
	return (SPREAD_HEADER_SIZE + 12);
}

ssize_t
spreadd_put_self_leave(uint8_t *buf, size_t cap, int big, const char *group)
{
	if (!room(cap, SPREAD_HEADER_SIZE) ||
	    put_header(buf, big, SPREAD_CAUSED_BY_LEAVE, group, 0, 0) == -1)
		return (-1);
	return (SPREAD_HEADER_SIZE);
}
