/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/dnssd: the lines of avahi-browse -p -r -k
 * that quilt-relay -D reads from its browse child.  The input is cut into
 * lines at each LF, as the relay cuts its child's output, and each line is
 * parsed from a block of its exact size.  Checked: a line that parses is
 * spelt again, field by field from the views, into the same bytes (the
 * format has one spelling); every view lies inside the line; the key is
 * IFACE to DOMAIN; a TXT value found lies inside the TXT field, right
 * after its "KEY=".  The whole input is also taken as a TXT field.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssd.h"

static void
inside(struct dnssd_str s, const char *p, size_t n)
{
	if (s.len > 0 && (s.p < p || s.p + s.len > p + n))
		abort();
}

static char *
put(char *o, struct dnssd_str s)
{
	memcpy(o, s.p, s.len);
	return (o + s.len);
}

static void
txt_check(struct dnssd_str t, const char *key)
{
	struct dnssd_str v = {NULL, 0};
	size_t kl = strlen(key);
	int r = dnssd_txt(t, key, &v);

	if (r == -1 && errno != EBADMSG)
		abort();
	if (r == 1) {
		inside(v, t.p, t.len);
		if (v.p - t.p < (ptrdiff_t)kl + 2 || v.p[-1] != '=' ||
		    memcmp(v.p - 1 - kl, key, kl) != 0 ||
		    v.p + v.len >= t.p + t.len || v.p[v.len] != '"')
			abort();
	}
	if (r != -1 && r != 0 && r != 1)
		abort();
}

static void
one(const char *line, size_t n)
{
	char *c = malloc(n ? n : 1), *re, *o;
	struct dnssd_line r;
	char port[8];

	if (c == NULL)
		abort();
	memcpy(c, line, n);
	if (dnssd_parse(c, n, &r) == -1) {
		if (errno != EBADMSG || r.ev != 0)
			abort();
		free(c);
		return;
	}
	if ((re = malloc(n + 16)) == NULL)
		abort();
	inside(r.ifname, c, n);
	inside(r.name, c, n);
	inside(r.type, c, n);
	inside(r.domain, c, n);
	inside(r.key, c, n);
	inside(r.host, c, n);
	inside(r.addr, c, n);
	inside(r.txt, c, n);
	if (!dnssd_name_ok(r.name) || (r.family != 4 && r.family != 6) ||
	    r.key.p != r.ifname.p ||
	    r.key.p + r.key.len != r.domain.p + r.domain.len)
		abort();
	o = re;
	*o++ = r.ev;
	*o++ = ';';
	o = put(o, r.ifname);
	*o++ = ';';
	o = put(o, (struct dnssd_str){r.family == 4 ? "IPv4" : "IPv6", 4});
	*o++ = ';';
	o = put(o, r.name);
	*o++ = ';';
	o = put(o, r.type);
	*o++ = ';';
	o = put(o, r.domain);
	if (r.ev == '=') {
		if (r.addr_family != 4 && r.addr_family != 6)
			abort();
		*o++ = ';';
		o = put(o, r.host);
		*o++ = ';';
		o = put(o, r.addr);
		*o++ = ';';
		snprintf(port, sizeof(port), "%u", r.port);
		o = put(o, (struct dnssd_str){port, strlen(port)});
		*o++ = ';';
		o = put(o, r.txt);
		txt_check(r.txt, "mesh");
		txt_check(r.txt, "node");
	} else if (r.ev != '+' && r.ev != '-') {
		abort();
	} else if (r.host.len || r.addr.len || r.txt.len || r.port ||
	    r.addr_family) {
		abort();
	}
	if ((size_t)(o - re) != n || memcmp(re, c, n) != 0)
		abort();
	free(re);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *e = p + size;
	char *c;

	while (p < e) {
		const char *nl = memchr(p, '\n', e - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		one(p, n);
		p += n + 1;
	}
	if ((c = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(c, data, size);
	txt_check((struct dnssd_str){c, size}, "mesh");
	txt_check((struct dnssd_str){c, size}, "");
	free(c);
	return (0);
}
