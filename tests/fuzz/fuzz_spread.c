/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/spread: every decoder on the same bytes.
 * Whatever decodes must re-encode to the bytes it came from, a message
 * must not decode from fewer bytes than it takes, and nothing may read
 * outside the input (the sanitizers watch).  Seeds: the daemon's and the
 * clients' streams of the captures in tests/spread/vectors.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spread.h"

static void
check_msgs(const uint8_t *p, size_t n)
{
	static uint8_t re[1 << 17];
	struct spread_msg m, w;
	struct spread_memb b;
	size_t off = 0, vo, at;
	uint32_t count;
	const uint8_t *names;
	ssize_t r;

	while (off < n) {
		r = spread_msg_decode(p + off, n - off, sizeof(re), &m);
		if (r <= 0)
			return;
		/* One byte fewer is "need more". */
		if (spread_msg_decode(p + off, (size_t)r - 1, sizeof(re), &w) !=
		    0)
			abort();
		if (spread_msg_encode(re, sizeof(re), &m) != r)
			abort();
		if (m.has_old_type) {
			/* old_type is re-marked in the header's order. */
			if (memcmp(re, p + off, 48) != 0 ||
			    memcmp(re + 52, p + off + 52, r - 52) != 0)
				abort();
		} else if (memcmp(re, p + off, r) != 0)
			abort();
		spread_is_regular(m.h.type);
		spread_service_name(m.h.type);
		spread_memb_reason(m.h.type);
		spread_name_len(m.h.name);
		if (spread_memb_decode(&m, &b) == 0) {
			vo = 0;
			while (
			    spread_vs_next(&b, &vo, &at, &count, &names) == 1)
				for (uint32_t i = 0; i < count; i++)
					spread_name_len(names + 32 * (size_t)i);
			r = spread_memb_encode(re, sizeof(re), &b);
			if (r != m.h.data_len || memcmp(re, m.data, r) != 0)
				abort();
		}
		off += m.size;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct spread_hello h;
	struct spread_offer o;
	struct spread_choice c;
	struct spread_accept a;
	struct spread_addr ad;
	uint8_t re[256];
	char s[300];
	ssize_t r;

	if ((r = spread_hello_decode(p, n, &h)) > 2 &&
	    h.name_len <= SPREAD_MAX_PRIVATE) {
		if (spread_hello_encode(re, sizeof(re), &h) != r ||
		    memcmp(re, p, r) != 0)
			abort();
		spread_private_valid(h.name, h.name_len);
	}
	if ((r = spread_offer_decode(p, n, &o)) > 1) {
		if (spread_offer_encode(re, sizeof(re), o.methods) != r &&
		    memchr(o.methods, 0, o.len) == NULL)
			abort();
		spread_offer_has(&o, "NULL");
	}
	if (spread_choice_decode(p, n, &c) > 0 && c.count > 3)
		abort();
	for (int wp = 0; wp < 2; wp++)
		if ((r = spread_accept_decode(p, n, wp, &a)) > 1 &&
		    memchr(a.private_group, 0, a.len) == NULL) {
			if (spread_accept_encode(re, sizeof(re), &a) != r ||
			    memcmp(re, p, r) != 0)
				abort();
		}
	check_msgs(p, n);

	/* The same bytes as a daemon name and as names. */
	if (n < sizeof(s)) {
		memcpy(s, p, n);
		s[n] = '\0';
		if (spread_addr_parse(s, &ad) == 0 && ad.port == 0)
			abort();
		spread_dest_valid(s, strlen(s));
		spread_group_valid(s, strlen(s));
		spread_service_parse(s);
	}
	return (0);
}
