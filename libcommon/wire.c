/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "seal.h"

/* clang-format off */
#define CMD(s, c) { s, sizeof(s) - 1, c }
static const struct {
	const char *name;
	size_t len;
	enum wire_cmd cmd;
} cmds[] = {
	CMD("msg",		W_MSG),
	CMD("ack",		W_ACK),
	CMD("ping",		W_PING),
	CMD("pong",		W_PONG),
	CMD("bye",		W_BYE),
	CMD("exit",		W_EXIT),
	CMD("hello",		W_HELLO),
	CMD("error",		W_ERROR),
	CMD("server-connect",	W_SERVER_CONNECT),
	CMD("route",		W_ROUTE),
	CMD("done",		W_DONE),
	CMD("lost",		W_LOST),
	CMD("duplicate",	W_DUPLICATE),
	CMD("nop",		W_NOP),
	CMD("alive",		W_ALIVE),
};
#undef CMD
/* clang-format on */

int
wire_decode(const char *body, size_t len, struct wire_msg *m)
{
	struct frame_iter it;

	frame_iter_init(&it, body, len);
	if (frame_next_part(&it, &m->dest, &m->destlen) != 1 ||
	    frame_next_part(&it, &m->name, &m->namelen) != 1) {
		errno = EBADMSG;
		return (-1);
	}
	m->args = it.p;
	m->argslen = it.n;
	m->cmd = W_UNKNOWN;
	/* msg first: every message is one (a relay decodes each). */
	if (m->namelen == 3 && memcmp(m->name, "msg", 3) == 0) {
		m->cmd = W_MSG;
		return (0);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].len == m->namelen &&
		    memcmp(cmds[i].name, m->name, m->namelen) == 0) {
			m->cmd = cmds[i].cmd;
			break;
		}
	}
	return (0);
}

/* "0:," or "N:dest," then "3:msg," */
static size_t
msg_head_size(size_t destlen)
{
	return (frame_size(destlen) + 6);
}

static char *
put_msg_head(char *out, size_t bodylen, const char *dest, size_t destlen)
{
	out += frame_put_hdr(out, bodylen);
	out = frame_put(out, dest, destlen);
	memcpy(out, "3:msg,", 6);
	return (out + 6);
}

size_t
wire_msg1_body(size_t destlen, size_t len)
{
	return (msg_head_size(destlen) + frame_size(len));
}

size_t
wire_msgn_body(size_t destlen, size_t partslen)
{
	return (msg_head_size(destlen) + partslen);
}

size_t
wire_msg1_size(size_t destlen, size_t len)
{
	return (frame_size(msg_head_size(destlen) + frame_size(len)));
}

char *
wire_put_msg1(char *out, const char *dest, size_t destlen, const char *p,
    size_t len)
{
	out = put_msg_head(out, msg_head_size(destlen) + frame_size(len), dest,
	    destlen);
	out = frame_put(out, p, len);
	*out++ = ',';
	return (out);
}

size_t
wire_msgn_size(size_t destlen, size_t partslen)
{
	return (frame_size(msg_head_size(destlen) + partslen));
}

char *
wire_put_msgn(char *out, const char *dest, size_t destlen, const char *parts,
    size_t partslen)
{
	out = put_msg_head(out, msg_head_size(destlen) + partslen, dest,
	    destlen);
	memcpy(out, parts, partslen);
	out += partslen;
	*out++ = ',';
	return (out);
}

size_t
wire_put_ctl(char *out, size_t cap, const char *cmd, const char *const *args,
    const void *bin, size_t binlen)
{
	return (wire_put_ctl_to(out, cap, "", cmd, args, bin, binlen));
}

size_t
wire_put_ctl_to(char *out, size_t cap, const char *dest, const char *cmd,
    const char *const *args, const void *bin, size_t binlen)
{
	size_t body = frame_size(strlen(dest)) + frame_size(strlen(cmd)), total;
	char *o;

	for (int i = 0; args && args[i]; i++)
		body += frame_size(strlen(args[i]));
	if (bin)
		body += frame_size(binlen);
	total = frame_size(body);
	if (total > cap)
		return (total);
	o = out + frame_put_hdr(out, body);
	o = frame_put_str(o, dest);
	o = frame_put_str(o, cmd);
	for (int i = 0; args && args[i]; i++)
		o = frame_put_str(o, args[i]);
	if (bin)
		o = frame_put(o, bin, binlen);
	*o++ = ',';
	return (o - out);
}

size_t
wire_put_hello(char *out, const struct wire_hello *h)
{
	char ver[32], node[80], sid[sizeof("session=") + 2 * WIRE_SID_LEN],
	    max[40], sealed[16], from[40], resume[40], handler[16], kx[80],
	    relay[sizeof("relay=") + WIRE_INST_MAX], idle[40];
	const char *args[14];
	int n = 0;

	snprintf(ver, sizeof(ver), "%u-%u", h->vmin, h->vmax);
	snprintf(node, sizeof(node), "node=%s", h->node);
	memcpy(sid, "session=", 8);
	seal_hex(sid + 8, h->sid, WIRE_SID_LEN);
	snprintf(max, sizeof(max), "max=%" PRIu64, h->maxmsg);
	snprintf(sealed, sizeof(sealed), "sealed=%d", h->sealed ? 1 : 0);
	args[n++] = WIRE_PROTO;
	args[n++] = ver;
	args[n++] = node;
	args[n++] = sid;
	args[n++] = max;
	args[n++] = sealed;
	if (h->from >= 0) {
		snprintf(from, sizeof(from), "from=%" PRId64, h->from);
		args[n++] = from;
	}
	if (h->resume >= 0) {
		snprintf(resume, sizeof(resume), "resume=%" PRId64, h->resume);
		args[n++] = resume;
	}
	if (h->kx[0]) {
		snprintf(kx, sizeof(kx), "kx=%s", h->kx);
		args[n++] = kx;
	}
	if (h->handler) {
		snprintf(handler, sizeof(handler), "handler=1");
		args[n++] = handler;
	}
	if (h->relay[0]) {
		snprintf(relay, sizeof(relay), "relay=%s", h->relay);
		args[n++] = relay;
	}
	if (h->idle > 0) {
		snprintf(idle, sizeof(idle), "idle=%" PRIu64, h->idle);
		args[n++] = idle;
	}
	args[n] = NULL;
	return (wire_put_ctl(out, WIRE_HELLO_MAX, "hello", args, NULL, 0));
}

static int
keyis(const char *p, size_t len, const char *key, const char **val,
    size_t *vlen)
{
	size_t k = strlen(key);

	if (len <= k || memcmp(p, key, k) != 0 || p[k] != '=')
		return (0);
	*val = p + k + 1;
	*vlen = len - k - 1;
	return (1);
}

int
wire_get_hello(const struct wire_msg *m, struct wire_hello *h)
{
	struct frame_iter it;
	const char *p, *v;
	size_t n, vn;
	unsigned long long x, y;
	int have_node = 0, have_sid = 0;

	memset(h, 0, sizeof(*h));
	h->from = h->resume = -1;
	frame_iter_init(&it, m->args, m->argslen);
	h->fault = WH_PROTO;
	if (m->cmd != W_HELLO || frame_next_part(&it, &p, &n) != 1 ||
	    n != strlen(WIRE_PROTO) || memcmp(p, WIRE_PROTO, n) != 0)
		goto bad;
	/* "VMIN-VMAX" */
	h->fault = WH_VERSION;
	if (frame_next_part(&it, &p, &n) != 1 ||
	    (v = memchr(p, '-', n)) == NULL ||
	    frame_part_num(p, v - p, 65535, &x) == -1 ||
	    frame_part_num(v + 1, n - (v - p) - 1, 65535, &y) == -1 || x > y ||
	    x == 0)
		goto bad;
	h->vmin = x;
	h->vmax = y;
	for (;;) {
		int r = frame_next_part(&it, &p, &n);

		if (r == 0)
			break;
		h->fault = WH_PARTS;
		if (r == -1)
			goto bad;
		if (keyis(p, n, "node", &v, &vn)) {
			h->fault = WH_NODE;
			if (!wire_node_ok(v, vn))
				goto bad;
			memcpy(h->node, v, vn);
			h->node[vn] = '\0';
			have_node = 1;
		} else if (keyis(p, n, "session", &v, &vn)) {
			h->fault = WH_SESSION;
			if (seal_unhex(h->sid, WIRE_SID_LEN, v, vn) == -1)
				goto bad;
			have_sid = 1;
		} else if (keyis(p, n, "max", &v, &vn)) {
			h->fault = WH_MAX;
			if (frame_part_num(v, vn, UINT64_MAX, &x) == -1 ||
			    x < 64)
				goto bad;
			h->maxmsg = x;
		} else if (keyis(p, n, "sealed", &v, &vn)) {
			h->fault = WH_SEALED;
			if (vn != 1 || (*v != '0' && *v != '1'))
				goto bad;
			h->sealed = *v == '1';
		} else if (keyis(p, n, "from", &v, &vn)) {
			h->fault = WH_FROM;
			if (frame_part_num(v, vn, INT64_MAX, &x) == -1)
				goto bad;
			h->from = x;
		} else if (keyis(p, n, "resume", &v, &vn)) {
			h->fault = WH_RESUME;
			if (frame_part_num(v, vn, INT64_MAX, &x) == -1)
				goto bad;
			h->resume = x;
		} else if (keyis(p, n, "kx", &v, &vn)) {
			unsigned char pk[32];

			h->fault = WH_KX;
			if (seal_unhex(pk, sizeof(pk), v, vn) == -1)
				goto bad;
			memcpy(h->kx, v, vn);
			h->kx[vn] = '\0';
		} else if (keyis(p, n, "handler", &v, &vn)) {
			h->handler = vn == 1 && *v == '1';
		} else if (keyis(p, n, "relay", &v, &vn)) {
			h->fault = WH_RELAY;
			if (!wire_inst_ok(v, vn))
				goto bad;
			memcpy(h->relay, v, vn);
			h->relay[vn] = '\0';
		} else if (keyis(p, n, "idle", &v, &vn)) {
			h->fault = WH_IDLE;
			if (frame_part_num(v, vn, WIRE_IDLE_MAX, &x) == -1)
				goto bad;
			h->idle = x;
		}
	}
	h->fault = WH_OK;
	if (!have_node)
		h->fault = WH_NODE;
	else if (!have_sid)
		h->fault = WH_SESSION;
	else if (h->maxmsg == 0)
		h->fault = WH_MAX;
	else if (h->sealed && !h->kx[0])
		h->fault = WH_KX;
	if (h->fault != WH_OK)
		goto bad;
	return (0);
bad:
	errno = EPROTO;
	return (-1);
}

/* clang-format off */
static const struct {
	const char *str;
	enum wire_refusal code;
} faults[] = {
	[WH_OK] =	{ "no fault", WR_NONE },
	[WH_PROTO] =	{ "not a quilt hello", WR_HELLO },
	[WH_VERSION] =	{ "the version range is malformed", WR_VERSION },
	[WH_NODE] =	{ "the node field is missing or not a node name", WR_HELLO },
	[WH_SESSION] =	{ "the session field is missing or not 32 hex digits", WR_SESSION },
	[WH_MAX] =	{ "the max field is missing, malformed or under 64", WR_SIZE },
	[WH_SEALED] =	{ "the sealed field is neither 0 nor 1", WR_HELLO },
	[WH_KX] =	{ "the kx field is missing or not 64 hex digits", WR_HELLO },
	[WH_FROM] =	{ "the from field is malformed", WR_HELLO },
	[WH_RESUME] =	{ "the resume field is malformed", WR_HELLO },
	[WH_RELAY] =	{ "the relay field is not an instance id", WR_HELLO },
	[WH_IDLE] =	{ "the idle field is malformed or over a day", WR_HELLO },
	[WH_PARTS] =	{ "its parts do not fill the frame", WR_HELLO },
};

static const char *const refusals[] = {
	[WR_NONE] = "",
	[WR_HELLO] = "hello",
	[WR_VERSION] = "version",
	[WR_SIZE] = "size",
	[WR_SESSION] = "session",
	[WR_SEALED] = "sealed",
	[WR_PLAIN] = "plain",
	[WR_CONFIRM] = "confirm",
	[WR_AUTH] = "auth",
	[WR_FULL] = "full",
	[WR_BUSY] = "busy",
};
/* clang-format on */

const char *
wire_hello_fault_str(enum wire_hello_fault f)
{
	return ((unsigned)f < sizeof(faults) / sizeof(faults[0]) ?
		faults[f].str :
		"malformed");
}

enum wire_refusal
wire_hello_fault_code(enum wire_hello_fault f)
{
	return ((unsigned)f < sizeof(faults) / sizeof(faults[0]) ?
		faults[f].code :
		WR_HELLO);
}

const char *
wire_refusal_name(enum wire_refusal r)
{
	return ((unsigned)r < sizeof(refusals) / sizeof(refusals[0]) ?
		refusals[r] :
		"");
}

const char *
wire_refusal_lead(enum wire_refusal r)
{
	return (r == WR_AUTH ? "authentication failed: " : "");
}

size_t
wire_put_error(char *out, size_t cap, const char *text, enum wire_refusal code)
{
	const char *args[] = {text, wire_refusal_name(code), NULL};

	if (code == WR_NONE)
		args[1] = NULL;
	return (wire_put_ctl(out, cap, "error", args, NULL, 0));
}

int
wire_get_error(const struct wire_msg *m, const char **text, size_t *len,
    enum wire_refusal *code)
{
	struct frame_iter it;
	const char *p;
	size_t n;

	if (m->cmd != W_ERROR) {
		errno = EPROTO;
		return (-1);
	}
	*text = "";
	*len = 0;
	*code = WR_NONE;
	frame_iter_init(&it, m->args, m->argslen);
	if (frame_next_part(&it, text, len) != 1) {
		*text = "";
		*len = 0;
		return (0);
	}
	if (frame_next_part(&it, &p, &n) != 1)
		return (0);
	for (size_t i = 1; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strlen(refusals[i]) == n && memcmp(refusals[i], p, n) == 0)
			*code = (enum wire_refusal)i;
	return (0);
}

size_t
wire_put_confirm(char *out, const unsigned char tag[WIRE_TAGLEN],
    const unsigned char hdr[WIRE_STREAMHDR])
{
	char taghex[2 * WIRE_TAGLEN + 1], hdrhex[2 * WIRE_STREAMHDR + 1];
	const char *args[] = {taghex, hdrhex, NULL};

	seal_hex(taghex, tag, WIRE_TAGLEN);
	seal_hex(hdrhex, hdr, WIRE_STREAMHDR);
	return (wire_put_ctl(out, WIRE_HELLO_MAX, "confirm", args, NULL, 0));
}

int
wire_get_confirm(const struct wire_msg *m, unsigned char tag[WIRE_TAGLEN],
    unsigned char hdr[WIRE_STREAMHDR])
{
	struct frame_iter it;
	const char *p1, *p2;
	size_t n1, n2;

	frame_iter_init(&it, m->args, m->argslen);
	if (m->namelen != 7 || memcmp(m->name, "confirm", 7) != 0 ||
	    frame_next_part(&it, &p1, &n1) != 1 ||
	    frame_next_part(&it, &p2, &n2) != 1 ||
	    seal_unhex(tag, WIRE_TAGLEN, p1, n1) == -1 ||
	    seal_unhex(hdr, WIRE_STREAMHDR, p2, n2) == -1) {
		errno = EPROTO;
		return (-1);
	}
	return (0);
}

unsigned
wire_version(const struct wire_hello *a, const struct wire_hello *b)
{
	unsigned lo = a->vmin > b->vmin ? a->vmin : b->vmin;
	unsigned hi = a->vmax < b->vmax ? a->vmax : b->vmax;

	return (lo <= hi ? hi : 0);
}

int
wire_inst_ok(const char *s, size_t len)
{
	if (len < 1 || len > WIRE_INST_MAX)
		return (0);
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

int
wire_node_ok(const char *s, size_t len)
{
	if (len < 1 || len > WIRE_NODE_MAX ||
	    (len == 3 && memcmp(s, "all", 3) == 0))
		return (0);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return (0);
	}
	return (1);
}

void
wire_default_node(char *out)
{
	char host[256];
	size_t n = 0;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0; host[i] && host[i] != '.' && n < WIRE_NODE_MAX; i++)
		if (wire_node_ok(&host[i], 1))
			out[n++] = host[i];
	if (n == 0 || (n == 3 && memcmp(out, "all", 3) == 0)) {
		memcpy(out, "quilt", 5);
		n = 5;
	}
	out[n] = '\0';
}

int
wire_get_range(const char *p, size_t n, uint64_t max, uint64_t *first,
    uint64_t *last)
{
	const char *dash = memchr(p, '-', n);
	unsigned long long a, b;

	if (dash == NULL) {
		if (frame_part_num(p, n, max, &a) == -1)
			return (-1);
		b = a;
	} else if (frame_part_num(p, dash - p, max, &a) == -1 ||
	    frame_part_num(dash + 1, n - (dash - p) - 1, max, &b) == -1 ||
	    b < a) {
		return (-1);
	}
	*first = a;
	*last = b;
	return (0);
}

size_t
wire_put_range(char *out, uint64_t first, uint64_t last)
{
	char num[24];
	size_t d = frame_u64(num, first);

	memcpy(out, num, d);
	if (last == first)
		return (d);
	out[d] = '-';
	frame_u64(num, last);
	memcpy(out + d + 1, num, frame_digits(last));
	return (d + 1 + frame_digits(last));
}
