/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of spread_req_parse (libcommon/spread): the requests
 * of sp-join -i, in the form the first byte picks (text or parts).
 * Checked: a request that parses is one Spread takes (legal names, 1..100
 * destinations, a service bit, a 16-bit type, the body limit) and
 * encodes; its text lies inside the input; a message written back in the
 * text form parses to the same request; a refusal sets EINVAL or EMSGSIZE
 * and explains itself in one printable line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spread.h"

static struct spread_req r, back;
static uint8_t enc[SPREAD_HEADER_SIZE + SPREAD_MAX_BODY];
static char line[SPREAD_MAX_BODY + 4096];

static void
check_ok(const char *p, size_t n)
{
	uint32_t s = r.service & ~SPREAD_SELF_DISCARD;
	size_t o;

	switch (r.kind) {
	case SPREAD_REQ_NONE:
		return;
	case SPREAD_REQ_JOIN:
	case SPREAD_REQ_LEAVE:
		if (r.ngroups != 1 ||
		    !spread_group_valid(r.groups[0], strlen(r.groups[0])))
			abort();
		return;
	case SPREAD_REQ_MSG:
		break;
	default:
		abort();
	}
	if (r.ngroups < 1 || r.ngroups > SPREAD_MAX_GROUPS || s == 0 ||
	    (s & (s - 1)) != 0 || (s & ~SPREAD_REGULAR_MESS) != 0 ||
	    (r.service & ~(SPREAD_REGULAR_MESS | SPREAD_SELF_DISCARD)) != 0 ||
	    r.mess_type < -32768 || r.mess_type > 32767 ||
	    (size_t)r.ngroups * SPREAD_GROUP_SIZE + r.len > SPREAD_MAX_BODY)
		abort();
	if (r.data == NULL || r.data < p || r.data + r.len > p + n)
		abort();
	for (int i = 0; i < r.ngroups; i++)
		if (r.group[i] != r.groups[i] ||
		    !spread_dest_valid(r.group[i], strlen(r.group[i])))
			abort();
	if (spread_mcast_encode(enc, sizeof(enc), "#me#d", r.service, r.group,
		r.ngroups, r.mess_type, r.data,
		r.len) != (ssize_t)spread_mcast_size(r.ngroups, r.len))
		abort();
	/* Written back as a line, it reads the same. */
	o = (size_t)snprintf(line, sizeof(line), "msg %s%s %d ",
	    spread_service_name(r.service),
	    r.service & SPREAD_SELF_DISCARD ? "+self-discard" : "",
	    r.mess_type);
	for (int i = 0; i < r.ngroups; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s",
		    i ? "," : "", r.group[i]);
	line[o++] = ' ';
	memcpy(line + o, r.data, r.len);
	if (spread_req_parse(line, o + r.len, 0, &back) != 0 ||
	    back.kind != r.kind || back.service != r.service ||
	    back.mess_type != r.mess_type || back.ngroups != r.ngroups ||
	    back.len != r.len || memcmp(back.data, r.data, r.len) != 0)
		abort();
	for (int i = 0; i < r.ngroups; i++)
		if (strcmp(back.group[i], r.group[i]) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n, len;
	char *c;

	if (size < 1)
		return (0);
	n = size - 1;
	if ((c = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(c, p, n);
	errno = 0;
	if (spread_req_parse(c, n, data[0] & 1, &r) == 0)
		check_ok(c, n);
	else {
		len = strnlen(r.why, sizeof(r.why));
		if ((errno != EINVAL && errno != EMSGSIZE) || len == 0 ||
		    len == sizeof(r.why))
			abort();
		for (size_t i = 0; i < len; i++)
			if (r.why[i] < 0x20 || r.why[i] > 0x7e)
				abort();
	}
	free(c);
	return (0);
}
