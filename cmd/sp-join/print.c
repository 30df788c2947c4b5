/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-join's standard output: messages and memberships in the chosen format
 * (data lines, -f fields, -m kinds, -j JSON, -0, -N), queued in pr->out
 * for the loop to write.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "frame.h"
#include "join.h"
#include "log.h"

int
print_init(struct printer *pr)
{
	if (buf_init(&pr->out, 65536, PRINT_OUT_MAX) == -1 ||
	    buf_init(&pr->part, 4096, 3 * SESSION_IN_MAX) == -1)
		return (-1);
	return (0);
}

static void
reserve(struct buf *b, size_t n)
{
	if (buf_reserve(b, n) == -1)
		log_diex(EX_SOFTWARE, "out of memory for output");
}

/* Append one part (a netstring) to the scratch body. */
static void
part(struct printer *pr, const void *p, size_t len)
{
	reserve(&pr->part, frame_size(len));
	pr->part.end = frame_put(buf_tail(&pr->part), p, len) - pr->part.base;
}

static void
part_str(struct printer *pr, const char *s)
{
	part(pr, s, strlen(s));
}

/* A list of 32-byte names, joined by spaces (never in a legal name). */
static void
part_names(struct printer *pr, const uint8_t *names, size_t count)
{
	size_t len = 0, n;
	char *o;

	for (size_t i = 0; i < count; i++)
		len += (i > 0) + spread_name_len(names + i * SPREAD_GROUP_SIZE);
	reserve(&pr->part, frame_size(len));
	o = buf_tail(&pr->part);
	o += frame_put_hdr(o, len);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			*o++ = ' ';
		n = spread_name_len(names + i * SPREAD_GROUP_SIZE);
		memcpy(o, names + i * SPREAD_GROUP_SIZE, n);
		o += n;
	}
	*o++ = ',';
	pr->part.end = o - pr->part.base;
}

/* Write the scratch body of parts as one message in the chosen format. */
static void
emit_parts(struct printer *pr)
{
	int esc = 0;
	ssize_t n;

	reserve(&pr->out, fmt_bound(buf_len(&pr->part)));
	n = fmt_put(pr->fmt, buf_tail(&pr->out), buf_data(&pr->part),
	    buf_len(&pr->part), &esc);
	if (n == -1)
		log_diex(EX_SOFTWARE, "cannot format a message");
	pr->out.end += n;
	pr->part.start = pr->part.end = 0;
	if (esc && !pr->escaped_warned) {
		pr->escaped_warned = 1;
		log_warnx("%s", FMT_ESCAPED_WARNING);
	}
}

static void
out_str(struct printer *pr, const char *s)
{
	size_t n = strlen(s);

	reserve(&pr->out, n);
	memcpy(buf_tail(&pr->out), s, n);
	pr->out.end += n;
}

static void
out_json(struct printer *pr, const void *p, size_t len)
{
	reserve(&pr->out, 6 * len + 2);
	pr->out.end += fmt_json(buf_tail(&pr->out), p, len);
}

static void
out_json_str(struct printer *pr, const void *p, size_t len)
{
	out_str(pr, "\"");
	out_json(pr, p, len);
	out_str(pr, "\"");
}

static void
out_json_names(struct printer *pr, const uint8_t *names, size_t count)
{
	out_str(pr, "[");
	for (size_t i = 0; i < count; i++) {
		const uint8_t *f = names + i * SPREAD_GROUP_SIZE;

		if (i > 0)
			out_str(pr, ",");
		out_json_str(pr, f, spread_name_len(f));
	}
	out_str(pr, "]");
}

static void
service_text(uint32_t type, char *buf, size_t cap)
{
	const char *s = spread_service_name(type);

	if (s == NULL)
		snprintf(buf, cap, "0x%x", (unsigned)type);
	else
		snprintf(buf, cap, "%s%s", s,
		    type & SPREAD_SELF_DISCARD ? "+self-discard" : "");
}

void
print_msg(struct printer *pr, const struct spread_msg *m)
{
	char svc[64], num[32];
	const uint8_t *sender = m->h.name;
	size_t slen = spread_name_len(sender);
	int endian = m->h.hint_big != spread_host_big();

	service_text(m->h.type, svc, sizeof(svc));
	if (pr->json) {
		out_str(pr, "{\"kind\":\"msg\",\"service\":\"");
		out_str(pr, svc);
		out_str(pr, "\",\"sender\":");
		out_json_str(pr, sender, slen);
		out_str(pr, ",\"groups\":");
		out_json_names(pr, m->groups, m->h.num_groups);
		snprintf(num, sizeof(num), ",\"msg_type\":%d",
		    spread_mess_type(m->h.hint));
		out_str(pr, num);
		out_str(pr, endian ? ",\"endian\":1" : ",\"endian\":0");
		/* Not UTF-8: base64, in a field of its own, unaltered. */
		if (fmt_utf8_ok((const char *)m->data, m->h.data_len)) {
			out_str(pr, ",\"data\":");
			out_json_str(pr, m->data, m->h.data_len);
		} else {
			out_str(pr, ",\"data_b64\":\"");
			reserve(&pr->out, fmt_b64_len(m->h.data_len));
			pr->out.end += fmt_base64(buf_tail(&pr->out),
			    (const char *)m->data, m->h.data_len);
			out_str(pr, "\"");
		}
		out_str(pr, "}\n");
		return;
	}
	if (pr->memb)
		part_str(pr, "msg");
	if (pr->fields) {
		part_str(pr, svc);
		part(pr, sender, slen);
		part_names(pr, m->groups, m->h.num_groups);
		snprintf(num, sizeof(num), "%d", spread_mess_type(m->h.hint));
		part_str(pr, num);
		part_str(pr, endian ? "1" : "0");
	}
	part(pr, m->data, m->h.data_len);
	emit_parts(pr);
}

void
print_memb(struct printer *pr, const struct spread_msg *m,
    const struct spread_memb *b, const char *reason)
{
	char gid[64] = "";
	const uint8_t *group = m->h.name, *names, *local = NULL;
	size_t glen = spread_name_len(group), off = 0, at;
	uint32_t count, nlocal = 0;

	if (b->has_gid)
		snprintf(gid, sizeof(gid), "%d.%d.%d", (int)b->proc_id,
		    (int)b->time, (int)b->index);
	while (spread_vs_next(b, &off, &at, &count, &names) == 1)
		if (at == b->local_offset) {
			local = names;
			nlocal = count;
		}
	if (pr->json) {
		char num[96];

		out_str(pr, "{\"kind\":\"memb\",\"reason\":\"");
		out_str(pr, reason);
		out_str(pr, "\",\"group\":");
		out_json_str(pr, group, glen);
		if (b->has_gid) {
			snprintf(num, sizeof(num), ",\"group_id\":[%d,%d,%d]",
			    (int)b->proc_id, (int)b->time, (int)b->index);
			out_str(pr, num);
		}
		out_str(pr, ",\"members\":");
		out_json_names(pr, m->groups, m->h.num_groups);
		out_str(pr, ",\"changed\":");
		out_json_names(pr, local, nlocal);
		out_str(pr, ",\"vs_sets\":[");
		off = 0;
		for (int i = 0;
		     spread_vs_next(b, &off, &at, &count, &names) == 1; i++) {
			if (i > 0)
				out_str(pr, ",");
			out_json_names(pr, names, count);
		}
		out_str(pr, "]}\n");
		return;
	}
	part_str(pr, "memb");
	part_str(pr, reason);
	part(pr, group, glen);
	part_str(pr, gid);
	part_names(pr, m->groups, m->h.num_groups);
	part_names(pr, local, nlocal);
	emit_parts(pr);
}
