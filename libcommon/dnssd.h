/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The lines of avahi-browse -p -r -k (parsable, resolved, service types as
 * they are): what quilt-relay -D reads from its browse child.  Fields are
 * separated by ';':
 *
 *   +;IFACE;PROTO;NAME;TYPE;DOMAIN                     a service appeared
 *   -;IFACE;PROTO;NAME;TYPE;DOMAIN                     it went
 *   =;IFACE;PROTO;NAME;TYPE;DOMAIN;HOST;ADDR;PORT;TXT  it was resolved
 *
 * PROTO is IPv4 or IPv6, the protocol the service was seen on (ADDR may be
 * of either family).  NAME comes escaped (avahi_escape_label: letters,
 * digits, '-' and '_' as they are, "\." and "\\", and "\DDD" in decimal
 * for every other byte), so it holds no ';'; TYPE, DOMAIN and HOST are
 * domain names in the same escaped form.  PORT is decimal, 0..65535.  TXT
 * is each string of the record in double quotes, separated by one space,
 * as it came: not escaped, so a string may hold '"', ';' or a LF (which
 * cuts the line in two: neither half parses as a resolved line, or the
 * first half has a TXT cut short).
 *
 * Anything else on the child's output (its diagnostics on stderr share the
 * pipe) is not a service line.  The parser checks every field, allocates
 * nothing and returns views into the line.
 */
#ifndef QUILT_DNSSD_H
#define QUILT_DNSSD_H

#include <stddef.h>
#include <stdint.h>

/* The longest escaped service name (63 bytes, each "\DDD"). */
#define DNSSD_NAME_MAX (63 * 4)
/* The longest domain name field (TYPE, DOMAIN, HOST), escaped. */
#define DNSSD_DOMAIN_MAX 1014
/* The longest interface name (IFNAMSIZ - 1), or "n/a". */
#define DNSSD_IF_MAX 15

struct dnssd_str {
	const char *p;
	size_t len;
};

struct dnssd_line {
	char ev; /* '+', '-' or '=' */
	int family; /* 4 or 6: PROTO */
	struct dnssd_str ifname, name, type, domain;
	/* IFACE to DOMAIN: the same service in its +, - and = lines. */
	struct dnssd_str key;
	/* '=' only; else empty and port 0. */
	struct dnssd_str host, addr, txt;
	int addr_family; /* 4 or 6: ADDR, 0 when not '=' */
	uint16_t port;
};

/*
 * Parse one line, without its LF: 0, or -1 with EBADMSG when it is not a
 * service line of the forms above.  The views in *r point into line.
 */
int dnssd_parse(const char *line, size_t len, struct dnssd_line *r);

/*
 * The value of the string "KEY=VALUE" in a TXT field (the first one that
 * has that key, compared exactly): 1 with *v set, 0 when no string has it,
 * -1 with EBADMSG when txt is not quoted strings separated by spaces.
 * A string ends at a '"' followed by " \"" or by the end of the field.
 */
int dnssd_txt(struct dnssd_str txt, const char *key, struct dnssd_str *v);

/* Is s.len bytes at s.p an escaped service name (1 to 63 bytes once
 * unescaped, every escape well formed)? */
int dnssd_name_ok(struct dnssd_str s);

#endif
