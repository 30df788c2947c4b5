/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread client protocol, both directions (see spread.h and
 * shared/spread/PROTOCOL.md).  Every count read from the wire is checked
 * against the bytes present and against a caller's bound before use.
 */
#include "spread.h"

#include "frame.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int
spread_version_has_patch(unsigned major, unsigned minor)
{
	return (major * 10000 + minor * 100 > 31400);
}

int
spread_version_has_auth(unsigned major, unsigned minor, unsigned patch)
{
	return (major * 10000 + minor * 100 + patch >= 31600);
}

int
spread_version_reply_patch(unsigned major, unsigned minor, unsigned patch)
{
	return (major * 10000 + minor * 100 + patch >= 31500);
}

ssize_t
spread_hello_encode(uint8_t *buf, size_t cap, const struct spread_hello *h)
{
	size_t n = 0, need;
	int patch = spread_version_has_patch(h->major, h->minor);

	need = 4 + patch + h->name_len;
	if (h->name_len > SPREAD_MAX_PRIVATE || cap < need) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[n++] = h->major;
	buf[n++] = h->minor;
	if (patch)
		buf[n++] = h->patch;
	buf[n++] = h->flags;
	buf[n++] = h->name_len;
	memcpy(buf + n, h->name, h->name_len);
	return (n + h->name_len);
}

ssize_t
spread_hello_decode(const uint8_t *p, size_t n, struct spread_hello *h)
{
	size_t hdr;

	memset(h, 0, sizeof(*h));
	if (n < 2)
		return (0);
	h->major = p[0];
	h->minor = p[1];
	/* Below 3.1.0 the daemon answers after the version bytes. */
	if (h->major * 10000 + h->minor * 100 < 30100)
		return (2);
	h->has_patch = spread_version_has_patch(h->major, h->minor);
	hdr = 2 + h->has_patch + 2;
	if (n < hdr)
		return (0);
	if (h->has_patch)
		h->patch = p[2];
	h->flags = p[hdr - 2];
	h->name_len = p[hdr - 1];
	/* A length the daemon refuses: it reads no name. */
	if (h->name_len > SPREAD_MAX_PRIVATE)
		return (hdr);
	if (n < hdr + h->name_len)
		return (0);
	memcpy(h->name, p + hdr, h->name_len);
	h->name[h->name_len] = '\0';
	return (hdr + h->name_len);
}

ssize_t
spread_offer_encode(uint8_t *buf, size_t cap, const char *methods)
{
	size_t len = strlen(methods);

	if (len > SPREAD_MAX_AUTH_LIST || cap < len + 1) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[0] = len;
	memcpy(buf + 1, methods, len);
	return (len + 1);
}

ssize_t
spread_offer_decode(const uint8_t *p, size_t n, struct spread_offer *o)
{
	memset(o, 0, sizeof(*o));
	if (n < 1)
		return (0);
	if ((int8_t)p[0] < 0) {
		o->code = (int8_t)p[0];
		return (1);
	}
	if (p[0] > SPREAD_MAX_AUTH_LIST) {
		errno = EPROTO;
		return (-1);
	}
	if (n < 1 + (size_t)p[0])
		return (0);
	o->len = p[0];
	memcpy(o->methods, p + 1, o->len);
	o->methods[o->len] = '\0';
	return (1 + o->len);
}

int
spread_offer_has(const struct spread_offer *o, const char *method)
{
	size_t ml = strlen(method), i = 0;

	/* Each name is followed by one space. */
	while (i < o->len) {
		const char *sp = memchr(o->methods + i, ' ', o->len - i);
		size_t end = sp ? (size_t)(sp - o->methods) : o->len;

		if (end - i == ml && memcmp(o->methods + i, method, ml) == 0)
			return (1);
		i = end + 1;
	}
	return (0);
}

ssize_t
spread_choice_encode(uint8_t *buf, size_t cap, const char *const *m, int count)
{
	if (cap < SPREAD_AUTH_CHOICE || count < 0 ||
	    count > SPREAD_AUTH_SLOTS) {
		errno = EMSGSIZE;
		return (-1);
	}
	memset(buf, 0, SPREAD_AUTH_CHOICE);
	for (int i = 0; i < count; i++) {
		size_t len = strlen(m[i]);

		if (len == 0 || len >= SPREAD_AUTH_NAME) {
			errno = EMSGSIZE;
			return (-1);
		}
		memcpy(buf + i * SPREAD_AUTH_NAME, m[i], len);
	}
	return (SPREAD_AUTH_CHOICE);
}

ssize_t
spread_choice_decode(const uint8_t *p, size_t n, struct spread_choice *c)
{
	memset(c, 0, sizeof(*c));
	if (n < SPREAD_AUTH_CHOICE)
		return (0);
	/* The list ends at the first empty slot; never past the third. */
	for (int i = 0; i < SPREAD_AUTH_SLOTS; i++) {
		const uint8_t *s = p + i * SPREAD_AUTH_NAME;
		const uint8_t *z = memchr(s, 0, SPREAD_AUTH_NAME);
		size_t len = z ? (size_t)(z - s) : SPREAD_AUTH_NAME;

		if (len == 0)
			break;
		memcpy(c->method[i], s, len);
		c->method[i][len] = '\0';
		c->count++;
	}
	return (SPREAD_AUTH_CHOICE);
}

ssize_t
spread_accept_encode(uint8_t *buf, size_t cap, const struct spread_accept *a)
{
	size_t len = strlen(a->private_group), n = 0;

	if (len >= SPREAD_GROUP_SIZE || cap < 5 + len) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[n++] = SPREAD_ACCEPT_SESSION;
	buf[n++] = a->major;
	buf[n++] = a->minor;
	if (a->has_patch)
		buf[n++] = a->patch;
	buf[n++] = len;
	memcpy(buf + n, a->private_group, len);
	return (n + len);
}

ssize_t
spread_accept_decode(const uint8_t *p, size_t n, int with_patch,
    struct spread_accept *a)
{
	size_t hdr = with_patch ? 5 : 4;

	memset(a, 0, sizeof(*a));
	if (n < 1)
		return (0);
	if ((int8_t)p[0] < 0) {
		a->code = (int8_t)p[0];
		return (1);
	}
	if (p[0] != SPREAD_ACCEPT_SESSION) {
		errno = EPROTO;
		return (-1);
	}
	if (n < hdr)
		return (0);
	if ((int8_t)p[1] < 0 || (int8_t)p[2] < 0 ||
	    (with_patch && (int8_t)p[3] < 0) ||
	    p[hdr - 1] >= SPREAD_GROUP_SIZE) {
		errno = EPROTO;
		return (-1);
	}
	a->code = SPREAD_ACCEPT_SESSION;
	a->major = p[1];
	a->minor = p[2];
	a->has_patch = with_patch;
	a->patch = with_patch ? p[3] : 0;
	a->len = p[hdr - 1];
	if (n < hdr + a->len)
		return (0);
	memcpy(a->private_group, p + hdr, a->len);
	a->private_group[a->len] = '\0';
	return (hdr + a->len);
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

/* ------------------------------------------------------------------ */
/* Requests written as text. */

struct word {
	const char *p;
	size_t n;
};

/* The words of the parts form go up to here: one more says "too many". */
#define REQ_WORDS 6
/* A quoted word: 40 bytes of it, each up to 4 ("\\xHH"), quotes, "...". */
#define REQ_QUOTE (2 + 40 * 4 + 3 + 1)

/*
 * Split a record into at most REQ_WORDS words.  Text form: at single
 * spaces, the fifth word being the rest of the record.  Parts form: one
 * word a part.  Returns the count, or -1 when the parts do not fill the
 * body.
 */
static int
req_words(const char *p, size_t n, int parts, struct word *w)
{
	struct frame_iter it;
	const char *sp;
	int k = 0;

	if (parts) {
		frame_iter_init(&it, p, n);
		while (k < REQ_WORDS) {
			int r = frame_next_part(&it, &w[k].p, &w[k].n);

			if (r == 0)
				return (k);
			if (r == -1)
				return (-1);
			k++;
		}
		return (k);
	}
	if (n == 0)
		return (0);
	while (k < 4 && (sp = memchr(p, ' ', n)) != NULL) {
		w[k].p = p;
		w[k++].n = sp - p;
		n -= sp - p + 1;
		p = sp + 1;
	}
	w[k].p = p;
	w[k++].n = n;
	return (k);
}

/* A word as a C string literal for a message: quoted, escaped, cut. */
static void
req_quote(char *out, size_t cap, const char *p, size_t n)
{
	size_t o = 0, i;

	out[o++] = '"';
	/* Each byte takes up to 4; the end up to 5 ("\"...\0"). */
	for (i = 0; i < n && i < 40 && o + 4 + 5 <= cap; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o++] = '"';
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int __attribute__((format(printf, 3, 4)))
req_fail(struct spread_req *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	errno = err;
	return (-1);
}

static int
word_is(const struct word *w, const char *s)
{
	return (w->n == strlen(s) && memcmp(w->p, s, w->n) == 0);
}

static int
req_service(const struct word *w, uint32_t *service)
{
	static const char sd[] = "+self-discard";
	char name[16];
	const char *plus = memchr(w->p, '+', w->n);
	size_t n = plus ? (size_t)(plus - w->p) : w->n;

	if (n >= sizeof(name) ||
	    (plus &&
		!(w->n - n == strlen(sd) && memcmp(plus, sd, w->n - n) == 0)))
		return (-1);
	memcpy(name, w->p, n);
	name[n] = '\0';
	if ((*service = spread_service_parse(name)) == 0)
		return (-1);
	if (plus)
		*service |= SPREAD_SELF_DISCARD;
	return (0);
}

static int
req_type(const struct word *w, int *type)
{
	size_t i = w->n > 0 && w->p[0] == '-';
	long v = 0;

	if (i == w->n || w->n - i > 6)
		return (-1);
	for (; i < w->n; i++) {
		if (w->p[i] < '0' || w->p[i] > '9')
			return (-1);
		v = v * 10 + (w->p[i] - '0');
	}
	if (w->p[0] == '-')
		v = -v;
	if (v < -32768 || v > 32767)
		return (-1);
	*type = v;
	return (0);
}

/* One group name into r->groups[i]; dest: a private group will do. */
static int
req_group(struct spread_req *r, int i, const char *p, size_t n, int dest)
{
	char q[REQ_QUOTE];

	if (dest ? !spread_dest_valid(p, n) : !spread_group_valid(p, n)) {
		req_quote(q, sizeof(q), p, n);
		return (req_fail(r, EINVAL,
		    "group %s: ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'%s",
		    q, dest ? ", or a private group #name#daemon" : ""));
	}
	memcpy(r->groups[i], p, n);
	r->groups[i][n] = '\0';
	r->group[i] = r->groups[i];
	return (0);
}

static int
req_dests(struct spread_req *r, const struct word *w)
{
	const char *p = w->p, *end = w->p + w->n, *c;
	int count = 1;

	for (c = p; (c = memchr(c, ',', end - c)) != NULL; c++)
		count++;
	if (count > SPREAD_MAX_GROUPS) {
		return (req_fail(r, EINVAL,
		    "%d groups: ILLEGAL_GROUP: at most %d groups per message",
		    count, SPREAD_MAX_GROUPS));
	}
	for (r->ngroups = 0; r->ngroups < count; r->ngroups++) {
		if ((c = memchr(p, ',', end - p)) == NULL)
			c = end;
		if (req_group(r, r->ngroups, p, c - p, 1) == -1)
			return (-1);
		p = c + 1;
	}
	return (0);
}

int
spread_req_parse(const char *p, size_t n, int parts, struct spread_req *r)
{
	struct word w[REQ_WORDS];
	char q[REQ_QUOTE];
	int k = req_words(p, n, parts, w);
	size_t max;

	r->kind = SPREAD_REQ_NONE;
	r->ngroups = 0;
	r->data = NULL;
	r->len = 0;
	r->why[0] = '\0';
	if (k == -1)
		return (req_fail(r, EINVAL, "not a sequence of parts"));
	if (k == 0)
		return (0);
	if (word_is(&w[0], "join") || word_is(&w[0], "leave")) {
		int join = w[0].p[0] == 'j';

		if (k != 2)
			return (req_fail(r, EINVAL,
			    "%s takes one group: %s GROUP",
			    join ? "join" : "leave", join ? "join" : "leave"));
		if (req_group(r, 0, w[1].p, w[1].n, 0) == -1)
			return (-1);
		r->ngroups = 1;
		r->kind = join ? SPREAD_REQ_JOIN : SPREAD_REQ_LEAVE;
		return (0);
	}
	if (!word_is(&w[0], "msg")) {
		req_quote(q, sizeof(q), w[0].p, w[0].n);
		return (req_fail(r, EINVAL,
		    "unknown command %s: join, leave or msg", q));
	}
	if (k < 4 || k > 5)
		return (req_fail(r, EINVAL,
		    "msg takes a service, a type, groups and a text: msg SERVICE TYPE GROUP[,GROUP...] TEXT"));
	if (req_service(&w[1], &r->service) == -1) {
		req_quote(q, sizeof(q), w[1].p, w[1].n);
		return (req_fail(r, EINVAL,
		    "service %s: ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without",
		    q));
	}
	if (req_type(&w[2], &r->mess_type) == -1) {
		req_quote(q, sizeof(q), w[2].p, w[2].n);
		return (req_fail(r, EINVAL,
		    "message type %s: must be -32768..32767", q));
	}
	if (req_dests(r, &w[3]) == -1)
		return (-1);
	/* No text: an empty one at the end of the record, never NULL. */
	r->data = k == 5 ? w[4].p : p + n;
	r->len = k == 5 ? w[4].n : 0;
	max = SPREAD_MAX_BODY - (size_t)r->ngroups * SPREAD_GROUP_SIZE;
	if (r->len > max) {
		return (req_fail(r, EMSGSIZE,
		    "MESSAGE_TOO_LONG: %zu bytes at most to %d group%s (32 x groups + data <= %d)",
		    max, r->ngroups, r->ngroups > 1 ? "s" : "",
		    SPREAD_MAX_BODY));
	}
	r->kind = SPREAD_REQ_MSG;
	return (0);
}

/* ------------------------------------------------------------------ */
/* Client session set-up. */

/* Wait for events on fd until the deadline: 1 ready, 0 timed out. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline - net_now_ms();
		if (left <= 0)
			return (0);
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return (1);
		if (r == -1 && errno != EINTR)
			return (-1);
	}
}

/*
 * Connect to the daemon through net.c, as every quilt client does; a name
 * that did not resolve is errno ENXIO with *detail saying why, as
 * spread_session_open promises.
 */
static int
connect_daemon(const struct spread_addr *a, int timeout_ms, const char **detail)
{
	struct addr na;
	int fd, gai, one = 1;

	memset(&na, 0, sizeof(na));
	if (a->is_unix) {
		na.kind = ADDR_UNIX;
		snprintf(na.path, sizeof(na.path), "%s", a->path);
	} else {
		na.kind = ADDR_TCP;
		snprintf(na.host, sizeof(na.host), "%s", a->host);
		na.port_lo = na.port_hi = a->port;
	}
	if ((fd = net_connect(&na, timeout_ms, &gai)) == -1) {
		if (gai != 0) {
			*detail = gai == EAI_SYSTEM ? strerror(errno) :
						      gai_strerror(gai);
			errno = ENXIO;
		}
		return (-1);
	}
	/* A session idle for long must notice a daemon that went away. */
	if (!a->is_unix)
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
		    sizeof(one));
	return (fd);
}

/* Read exactly n bytes: 1 done, 0 end of file, -1 error or timeout. */
static int
read_exact(int fd, uint8_t *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r == 0)
			return (0);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return (-1);
		switch (wait_fd(fd, POLLIN, deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return (-1);
		case -1:
			return (-1);
		}
	}
	return (1);
}

static int
write_all(int fd, const uint8_t *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno != EAGAIN)
			return (-1);
		switch (wait_fd(fd, POLLOUT, deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return (-1);
		case -1:
			return (-1);
		}
	}
	return (0);
}

int
spread_session_open(struct spread_session *s, const struct spread_addr *a,
    const char *name, int flags, int timeout_ms, int *code, const char **detail)
{
	long long deadline = net_now_ms() + timeout_ms;
	struct spread_hello h = {.major = 5, .minor = 0, .patch = 1};
	struct spread_offer o;
	uint8_t buf[128];
	size_t need;
	ssize_t n;
	int fd, r, err;
	static const char *const null_auth[] = {"NULL"};

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	*code = SPREAD_COULD_NOT_CONNECT;
	*detail = NULL;
	if ((fd = connect_daemon(a, timeout_ms, detail)) == -1)
		return (-1);

	/* The hello must go in one write: the daemon reads it at once. */
	h.flags = flags;
	if (strlen(name) > SPREAD_MAX_PRIVATE) {
		*code = SPREAD_REJECT_ILLEGAL_NAME;
		*detail = "private name longer than 10 bytes";
		errno = EINVAL;
		goto fail;
	}
	h.name_len = strlen(name);
	memcpy(h.name, name, h.name_len);
	n = spread_hello_encode(buf, sizeof(buf), &h);
	if (write_all(fd, buf, n, deadline) == -1)
		goto io;

	/* Read exactly what the reply takes, never a byte of what follows. */
	if ((r = read_exact(fd, buf, 1, deadline)) != 1)
		goto rd;
	need = (int8_t)buf[0] < 0 ? 0 : buf[0];
	if (need > SPREAD_MAX_AUTH_LIST)
		goto garbage;
	if (need > 0 && (r = read_exact(fd, buf + 1, need, deadline)) != 1)
		goto rd;
	if (spread_offer_decode(buf, 1 + need, &o) <= 0)
		goto garbage;
	if (o.code < 0) {
		*code = o.code;
		*detail = spread_errtext(o.code);
		errno = 0;
		goto fail;
	}
	if (!spread_offer_has(&o, "NULL")) {
		/* An empty offer is followed by the daemon's REJECT_AUTH. */
		*code = SPREAD_REJECT_AUTH;
		*detail = o.len == 0 ?
		    "the daemon allows no authentication" :
		    "the daemon does not offer NULL authentication";
		errno = 0;
		goto fail;
	}
	n = spread_choice_encode(buf, sizeof(buf), null_auth, 1);
	if (write_all(fd, buf, n, deadline) == -1)
		goto io;

	if ((r = read_exact(fd, buf, 1, deadline)) != 1)
		goto rd;
	if ((int8_t)buf[0] < 0) {
		*code = (int8_t)buf[0];
		*detail = spread_errtext(*code);
		errno = 0;
		goto fail;
	}
	if (buf[0] != SPREAD_ACCEPT_SESSION)
		goto garbage;
	if ((r = read_exact(fd, buf + 1, 4, deadline)) != 1)
		goto rd;
	need = buf[4];
	if (need >= SPREAD_GROUP_SIZE)
		goto garbage;
	if (need > 0 && (r = read_exact(fd, buf + 5, need, deadline)) != 1)
		goto rd;
	if (spread_accept_decode(buf, 5 + need, 1, &s->reply) <= 0 ||
	    s->reply.len == 0)
		goto garbage;
	if (s->reply.major < 3) {
		*code = SPREAD_REJECT_VERSION;
		*detail = "the daemon's version is older than 3";
		errno = 0;
		goto fail;
	}
	s->fd = fd;
	*code = SPREAD_ACCEPT_SESSION;
	return (0);
rd:
	if (r == 0) {
		*code = SPREAD_CONNECTION_CLOSED;
		*detail = "the daemon closed the connection";
		errno = 0;
		goto fail;
	}
io:
	*code = errno == ETIMEDOUT ? SPREAD_COULD_NOT_CONNECT :
				     SPREAD_CONNECTION_CLOSED;
	*detail = errno == ETIMEDOUT ? "timed out" : strerror(errno);
	goto fail;
garbage:
	*code = SPREAD_CONNECTION_CLOSED;
	*detail = "the daemon's reply is not the Spread protocol";
	errno = EPROTO;
fail:
	err = errno;
	close(fd);
	errno = err;
	return (-1);
}

void
spread_setup_error(struct spread_setup_err *e, const struct spread_addr *a,
    int code, int err, const char *detail)
{
	e->name = spread_errname(code);
	e->fault = SPREAD_FAULT_REFUSED;
	if (e->name == NULL) {
		e->fault = SPREAD_FAULT_PROTOCOL;
		snprintf(e->text, sizeof(e->text),
		    "the daemon answered with unknown code %d", code);
		return;
	}
	if (code == SPREAD_COULD_NOT_CONNECT && err == ENXIO) {
		e->fault = SPREAD_FAULT_RESOLVE;
		snprintf(e->text, sizeof(e->text), "%s: resolve %s: %s",
		    e->name, a->host, detail ? detail : "unknown error");
	} else if (code == SPREAD_COULD_NOT_CONNECT && err == ETIMEDOUT) {
		e->fault = SPREAD_FAULT_TIMEOUT;
		snprintf(e->text, sizeof(e->text), "%s: timed out", e->name);
	} else if (code == SPREAD_COULD_NOT_CONNECT) {
		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM)
			e->fault = SPREAD_FAULT_RESOURCE;
		snprintf(e->text, sizeof(e->text), "%s: %s%s%s", e->name,
		    a->is_unix ? a->path : "", a->is_unix ? ": " : "",
		    strerror(err));
	} else {
		if (code == SPREAD_CONNECTION_CLOSED && err == EPROTO)
			e->fault = SPREAD_FAULT_PROTOCOL;
		snprintf(e->text, sizeof(e->text), "%s: %s", e->name,
		    detail ? detail : spread_errtext(code));
	}
}
