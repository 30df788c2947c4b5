/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread client protocol, both directions (see spread.h and
 * shared/spread/PROTOCOL.md): codes, byte order, daemon and group names,
 * messages after the set-up, their classes and membership bodies.  The
 * set-up of a session is spread_session.c's, requests written as text
 * spread_req.c's.  Every count read from the wire is checked against the
 * bytes present and against a caller's bound before use.
 */
#include "spread.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
#define E(name, text) { SPREAD_##name, #name, text }
static const struct {
	int code;
	const char *name;
	const char *text;
} errtab[] = {
	E(ACCEPT_SESSION,	"session accepted"),
	E(ILLEGAL_SPREAD,	"not a Spread daemon name (PORT or PORT@HOST)"),
	E(COULD_NOT_CONNECT,	"could not connect to the daemon"),
	E(REJECT_QUOTA,		"the daemon has too many sessions"),
	E(REJECT_NO_NAME,	"the daemon did not get a private name"),
	E(REJECT_ILLEGAL_NAME,	"the daemon refused the private name"),
	E(REJECT_NOT_UNIQUE,	"private name already in use on the daemon"),
	E(REJECT_VERSION,	"protocol version refused"),
	E(CONNECTION_CLOSED,	"connection closed by the daemon"),
	E(REJECT_AUTH,		"authentication refused"),
	E(ILLEGAL_SESSION,	"illegal session"),
	E(ILLEGAL_SERVICE,	"illegal service type"),
	E(ILLEGAL_MESSAGE,	"malformed message from the daemon"),
	E(ILLEGAL_GROUP,	"illegal group name"),
	E(BUFFER_TOO_SHORT,	"buffer too short"),
	E(GROUPS_TOO_SHORT,	"group buffer too short"),
	E(MESSAGE_TOO_LONG,	"message too long"),
	E(NET_ERROR_ON_SESSION,	"network error on the session"),
	E(SP_BUG,		"internal error"),
	E(ILLEGAL_TIME,		"illegal time"),
};
#undef E
/* clang-format on */

const char *
spread_errname(int code)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return (errtab[i].name);
	return (NULL);
}

const char *
spread_errtext(int code)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return (errtab[i].text);
	return ("unknown error code");
}

/* ------------------------------------------------------------------ */

static uint32_t
get32(const uint8_t *p, int big)
{
	if (big)
		return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3]);
	return ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0]);
}

void
spread_put32(uint8_t *p, uint32_t v, int big)
{
	if (big) {
		p[0] = v >> 24;
		p[1] = v >> 16;
		p[2] = v >> 8;
		p[3] = v;
	} else {
		p[0] = v;
		p[1] = v >> 8;
		p[2] = v >> 16;
		p[3] = v >> 24;
	}
}

int
spread_host_big(void)
{
	const uint32_t one = 1;

	return (*(const uint8_t *)&one == 0);
}

/* ------------------------------------------------------------------ */

int
spread_addr_parse(const char *name, struct spread_addr *a)
{
	const char *p, *at;
	unsigned long port = 0;

	memset(a, 0, sizeof(*a));
	if (name == NULL || *name == '\0')
		name = "4803";
	for (p = name; *p >= '0' && *p <= '9'; p++) {
		port = port * 10 + (*p - '0');
		if (port > 65535)
			goto bad;
	}
	if (p == name || port == 0)
		goto bad;
	a->port = port;
	if (*p == '\0') {
		a->is_unix = 1;
		snprintf(a->path, sizeof(a->path), "/tmp/%lu", port);
		return (0);
	}
	if (*p != '@')
		goto bad;
	at = p + 1;
	if (*at == '\0' || strlen(at) >= sizeof(a->host))
		goto bad;
	/* Brackets are not Spread's syntax, but harmless to accept. */
	if (at[0] == '[' && at[strlen(at) - 1] == ']' && strlen(at) > 2) {
		memcpy(a->host, at + 1, strlen(at) - 2);
		a->host[strlen(at) - 2] = '\0';
	} else
		strcpy(a->host, at);
	return (0);
bad:
	errno = EINVAL;
	return (-1);
}

/* ------------------------------------------------------------------ */

int
spread_name_legal(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x24 || (unsigned char)s[i] > 0x7e)
			return (0);
	return (1);
}

int
spread_private_valid(const char *s, size_t len)
{
	return (
	    len >= 1 && len <= SPREAD_MAX_PRIVATE && spread_name_legal(s, len));
}

int
spread_group_valid(const char *s, size_t len)
{
	return (
	    len >= 1 && len < SPREAD_GROUP_SIZE && spread_name_legal(s, len));
}

int
spread_private_group_valid(const char *s, size_t len)
{
	const char *hash;
	size_t plen;

	if (len < 4 || len >= SPREAD_GROUP_SIZE || s[0] != '#')
		return (0);
	hash = memchr(s + 1, '#', len - 1);
	if (hash == NULL)
		return (0);
	plen = hash - (s + 1);
	return (spread_private_valid(s + 1, plen) && len - plen - 2 >= 1 &&
	    len - plen - 2 <= SPREAD_MAX_PROC &&
	    spread_name_legal(hash + 1, len - plen - 2));
}

int
spread_dest_valid(const char *s, size_t len)
{
	return (
	    spread_group_valid(s, len) || spread_private_group_valid(s, len));
}

size_t
spread_name_len(const uint8_t field[SPREAD_GROUP_SIZE])
{
	const uint8_t *z = memchr(field, 0, SPREAD_GROUP_SIZE);

	return (z ? (size_t)(z - field) : SPREAD_GROUP_SIZE);
}

/* ------------------------------------------------------------------ */

uint32_t
spread_hint(int mess_type, int big)
{
	return (((uint32_t)mess_type << 8 & 0x00ffff00u) |
	    (big ? 0 : SPREAD_ENDIAN_MARK));
}

int
spread_mess_type(uint32_t hint)
{
	return ((int16_t)(uint16_t)(hint >> 8 & 0xffff));
}

ssize_t
spread_header_decode(const uint8_t *p, size_t n, struct spread_header *h)
{
	int b0, b3;

	if (n < SPREAD_HEADER_SIZE)
		return (0);
	/* The marker reads the same in both orders: its two bits tell. */
	b0 = p[0] & 0x80;
	b3 = p[3] & 0x80;
	if ((b0 == 0) != (b3 == 0)) {
		errno = EBADMSG;
		return (-1);
	}
	h->big = b0 == 0;
	h->type = get32(p, h->big) & ~SPREAD_ENDIAN_MARK;
	memcpy(h->name, p + 4, SPREAD_GROUP_SIZE);
	h->num_groups = (int32_t)get32(p + 36, h->big);
	h->hint_big = !((p[40] & 0x80) && (p[43] & 0x80));
	h->hint = get32(p + 40, h->hint_big);
	h->data_len = (int32_t)get32(p + 44, h->big);
	return (SPREAD_HEADER_SIZE);
}

void
spread_header_encode(uint8_t p[SPREAD_HEADER_SIZE],
    const struct spread_header *h)
{
	spread_put32(p, h->type | (h->big ? 0 : SPREAD_ENDIAN_MARK), h->big);
	memcpy(p + 4, h->name, SPREAD_GROUP_SIZE);
	spread_put32(p + 36, (uint32_t)h->num_groups, h->big);
	spread_put32(p + 40, h->hint, h->hint_big);
	spread_put32(p + 44, (uint32_t)h->data_len, h->big);
}

static int
has_old_type(uint32_t type)
{
	/*
	 * The daemon's own rejects keep no service bit; a message a client
	 * sent with REJECT_MESS beside a service bit is echoed unchanged,
	 * without the extra field.
	 */
	return ((type & SPREAD_REJECT_MESS) && !(type & SPREAD_REGULAR_MESS));
}

ssize_t
spread_msg_decode(const uint8_t *p, size_t n, size_t max, struct spread_msg *m)
{
	ssize_t r;
	uint64_t size;
	size_t off;

	memset(m, 0, sizeof(*m));
	if ((r = spread_header_decode(p, n, &m->h)) <= 0)
		return (r);
	if (m->h.num_groups < 0 || m->h.data_len < 0) {
		errno = EBADMSG;
		return (-1);
	}
	m->has_old_type = has_old_type(m->h.type);
	size = SPREAD_HEADER_SIZE + (m->has_old_type ? 4 : 0) +
	    (uint64_t)m->h.num_groups * SPREAD_GROUP_SIZE +
	    (uint64_t)m->h.data_len;
	if (size > max) {
		errno = EMSGSIZE;
		return (-1);
	}
	if (n < size)
		return (0);
	off = SPREAD_HEADER_SIZE;
	if (m->has_old_type) {
		m->old_type = get32(p + off, m->h.big) & ~SPREAD_ENDIAN_MARK;
		off += 4;
	}
	m->groups = p + off;
	off += (size_t)m->h.num_groups * SPREAD_GROUP_SIZE;
	m->data = p + off;
	m->size = size;
	return (size);
}

ssize_t
spread_msg_encode(uint8_t *buf, size_t cap, const struct spread_msg *m)
{
	size_t off = SPREAD_HEADER_SIZE, glen, size;

	if (m->h.num_groups < 0 || m->h.data_len < 0) {
		errno = EINVAL;
		return (-1);
	}
	glen = (size_t)m->h.num_groups * SPREAD_GROUP_SIZE;
	size = off + (m->has_old_type ? 4 : 0) + glen + m->h.data_len;
	if (cap < size) {
		errno = EMSGSIZE;
		return (-1);
	}
	spread_header_encode(buf, &m->h);
	if (m->has_old_type) {
		spread_put32(buf + off,
		    m->old_type | (m->h.big ? 0 : SPREAD_ENDIAN_MARK),
		    m->h.big);
		off += 4;
	}
	if (glen)
		memcpy(buf + off, m->groups, glen);
	off += glen;
	if (m->h.data_len)
		memcpy(buf + off, m->data, m->h.data_len);
	return (size);
}

static void
put_name(uint8_t field[SPREAD_GROUP_SIZE], const char *s)
{
	size_t len = strlen(s);

	memset(field, 0, SPREAD_GROUP_SIZE);
	memcpy(field, s, len < SPREAD_GROUP_SIZE ? len : SPREAD_GROUP_SIZE - 1);
}

size_t
spread_mcast_size(int ngroups, size_t len)
{
	return (SPREAD_HEADER_SIZE + (size_t)ngroups * SPREAD_GROUP_SIZE + len);
}

static void
request_header(struct spread_header *h, const char *sender, uint32_t type,
    int ngroups, uint32_t hint, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->big = spread_host_big();
	h->hint_big = h->big;
	h->type = type;
	put_name(h->name, sender);
	h->num_groups = ngroups;
	h->hint = hint;
	h->data_len = (int32_t)len;
}

ssize_t
spread_mcast_encode(uint8_t *buf, size_t cap, const char *sender,
    uint32_t service, const char *const *groups, int ngroups, int mess_type,
    const void *data, size_t len)
{
	struct spread_header h;
	uint32_t s = service & ~SPREAD_SELF_DISCARD;
	size_t size, off;

	/* Exactly one service bit: the daemon kills a session for more. */
	if (s == 0 || (s & (s - 1)) != 0 || (s & ~SPREAD_REGULAR_MESS) != 0 ||
	    mess_type < -32768 || mess_type > 32767 || ngroups < 1 ||
	    strlen(sender) >= SPREAD_GROUP_SIZE) {
		errno = EINVAL;
		return (-1);
	}
	if (ngroups > SPREAD_MAX_GROUPS ||
	    len > SPREAD_MAX_BODY - (size_t)ngroups * SPREAD_GROUP_SIZE) {
		errno = EMSGSIZE;
		return (-1);
	}
	for (int i = 0; i < ngroups; i++)
		if (!spread_dest_valid(groups[i], strlen(groups[i]))) {
			errno = EINVAL;
			return (-1);
		}
	size = spread_mcast_size(ngroups, len);
	if (cap < size) {
		errno = EMSGSIZE;
		return (-1);
	}
	request_header(&h, sender, service, ngroups,
	    spread_hint(mess_type, spread_host_big()), len);
	spread_header_encode(buf, &h);
	off = SPREAD_HEADER_SIZE;
	for (int i = 0; i < ngroups; i++, off += SPREAD_GROUP_SIZE)
		put_name(buf + off, groups[i]);
	if (len)
		memcpy(buf + off, data, len);
	return (size);
}

static ssize_t
request(uint8_t *buf, size_t cap, const char *sender, uint32_t type,
    const char *group)
{
	struct spread_header h;

	if (cap < SPREAD_REQUEST_SIZE || strlen(sender) >= SPREAD_GROUP_SIZE) {
		errno = EMSGSIZE;
		return (-1);
	}
	request_header(&h, sender, type, 1, spread_hint(0, spread_host_big()),
	    0);
	spread_header_encode(buf, &h);
	put_name(buf + SPREAD_HEADER_SIZE, group);
	return (SPREAD_REQUEST_SIZE);
}

ssize_t
spread_join_encode(uint8_t *buf, size_t cap, const char *sender,
    const char *group)
{
	if (!spread_group_valid(group, strlen(group))) {
		errno = EINVAL;
		return (-1);
	}
	return (request(buf, cap, sender, SPREAD_JOIN_MESS, group));
}

ssize_t
spread_leave_encode(uint8_t *buf, size_t cap, const char *sender,
    const char *group)
{
	if (!spread_group_valid(group, strlen(group))) {
		errno = EINVAL;
		return (-1);
	}
	return (request(buf, cap, sender, SPREAD_LEAVE_MESS, group));
}

ssize_t
spread_kill_encode(uint8_t *buf, size_t cap, const char *sender)
{
	/* The group field holds the own private group; it is ignored. */
	return (request(buf, cap, sender, SPREAD_KILL_MESS, sender));
}

/* ------------------------------------------------------------------ */

int
spread_is_reject(uint32_t type)
{
	return ((type & SPREAD_REJECT_MESS) != 0);
}

int
spread_is_regular(uint32_t type)
{
	return ((type & SPREAD_REGULAR_MESS) && !spread_is_reject(type));
}

int
spread_is_membership(uint32_t type)
{
	return ((type & SPREAD_MEMBERSHIP_MESS) && !spread_is_reject(type));
}

int
spread_is_reg_memb(uint32_t type)
{
	return (spread_is_membership(type) && (type & SPREAD_REG_MEMB_MESS));
}

int
spread_is_transition(uint32_t type)
{
	return (spread_is_membership(type) && (type & SPREAD_TRANSITION_MESS) &&
	    !(type & SPREAD_REG_MEMB_MESS));
}

int
spread_is_self_leave(uint32_t type)
{
	return (spread_is_membership(type) && (type & SPREAD_CAUSED_BY_LEAVE) &&
	    !(type & (SPREAD_REG_MEMB_MESS | SPREAD_TRANSITION_MESS)));
}

static const struct {
	uint32_t bit;
	const char *name;
} services[] = {
    {SPREAD_UNRELIABLE_MESS, "unreliable"},
    {SPREAD_RELIABLE_MESS, "reliable"},
    {SPREAD_FIFO_MESS, "fifo"},
    {SPREAD_CAUSAL_MESS, "causal"},
    {SPREAD_AGREED_MESS, "agreed"},
    {SPREAD_SAFE_MESS, "safe"},
};

const char *
spread_service_name(uint32_t type)
{
	uint32_t s = type & SPREAD_REGULAR_MESS;

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (s == services[i].bit)
			return (services[i].name);
	return (NULL);
}

uint32_t
spread_service_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(s, services[i].name) == 0)
			return (services[i].bit);
	return (0);
}

const char *
spread_memb_reason(uint32_t type)
{
	if (spread_is_reg_memb(type)) {
		if (type & SPREAD_CAUSED_BY_JOIN)
			return ("join");
		if (type & SPREAD_CAUSED_BY_LEAVE)
			return ("leave");
		if (type & SPREAD_CAUSED_BY_DISCONNECT)
			return ("disconnect");
		if (type & SPREAD_CAUSED_BY_NETWORK)
			return ("network");
		return (NULL);
	}
	if (spread_is_transition(type))
		return ("transition");
	if (spread_is_self_leave(type))
		return ("self-leave");
	return (NULL);
}

/* ------------------------------------------------------------------ */

int
spread_memb_decode(const struct spread_msg *m, struct spread_memb *b)
{
	const uint8_t *p = m->data;
	size_t len = (size_t)m->h.data_len, off, at;
	uint32_t count;
	const uint8_t *names;
	int found = 0;

	memset(b, 0, sizeof(*b));
	b->big = m->h.big;
	if (!spread_is_membership(m->h.type))
		goto bad;
	if (len == 0 && !spread_is_reg_memb(m->h.type) &&
	    !spread_is_transition(m->h.type))
		return (0); /* the self-leave notice has no body */
	if (len < 12)
		goto bad;
	b->proc_id = (int32_t)get32(p, b->big);
	b->time = (int32_t)get32(p + 4, b->big);
	b->index = (int32_t)get32(p + 8, b->big);
	b->has_gid = 1;
	if (!spread_is_reg_memb(m->h.type)) {
		if (len != 12)
			goto bad;
		return (0);
	}
	if (len < 20)
		goto bad;
	b->num_vs_sets = get32(p + 12, b->big);
	b->local_offset = get32(p + 16, b->big);
	b->vs = p + 20;
	b->vs_len = len - 20;
	/* The sets must fill the body, and the offset must name one. */
	off = 0;
	for (uint32_t i = 0; i < b->num_vs_sets; i++) {
		if (spread_vs_next(b, &off, &at, &count, &names) != 1)
			goto bad;
		if (at == b->local_offset)
			found = 1;
	}
	if (off != b->vs_len || (b->num_vs_sets > 0 && !found))
		goto bad;
	return (0);
bad:
	errno = EBADMSG;
	return (-1);
}

int
spread_vs_next(const struct spread_memb *b, size_t *off, size_t *at,
    uint32_t *count, const uint8_t **names)
{
	uint32_t c;

	if (*off >= b->vs_len || b->vs_len - *off < 4)
		return (0);
	c = get32(b->vs + *off, b->big);
	if (c > (b->vs_len - *off - 4) / SPREAD_GROUP_SIZE)
		return (0);
	*at = *off;
	*count = c;
	*names = b->vs + *off + 4;
	*off += 4 + (size_t)c * SPREAD_GROUP_SIZE;
	return (1);
}

ssize_t
spread_memb_encode(uint8_t *buf, size_t cap, const struct spread_memb *b)
{
	size_t size;

	if (!b->has_gid)
		return (0);
	size = b->vs ? 20 + b->vs_len : 12;
	if (cap < size) {
		errno = EMSGSIZE;
		return (-1);
	}
	spread_put32(buf, (uint32_t)b->proc_id, b->big);
	spread_put32(buf + 4, (uint32_t)b->time, b->big);
	spread_put32(buf + 8, (uint32_t)b->index, b->big);
	if (b->vs == NULL)
		return (12);
	spread_put32(buf + 12, b->num_vs_sets, b->big);
	spread_put32(buf + 16, b->local_offset, b->big);
	if (b->vs_len)
		memmove(buf + 20, b->vs, b->vs_len);
	return (size);
}

ssize_t
spread_vs_encode(uint8_t *buf, size_t cap, uint32_t count, const uint8_t *names,
    int big)
{
	size_t size = 4 + (size_t)count * SPREAD_GROUP_SIZE;

	if (cap < size) {
		errno = EMSGSIZE;
		return (-1);
	}
	spread_put32(buf, count, big);
	if (count)
		memmove(buf + 4, names, size - 4);
	return (size);
}
