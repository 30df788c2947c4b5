/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "dnssd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static int
is_alnum(int c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'));
}

/* Printable, not a space: what an interface or a domain name is made of. */
static int
graph_ok(struct dnssd_str s, size_t max)
{
	if (s.len == 0 || s.len > max)
		return (0);
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] <= ' ' ||
		    (unsigned char)s.p[i] >= 127)
			return (0);
	return (1);
}

int
dnssd_name_ok(struct dnssd_str s)
{
	size_t i = 0, n = 0;

	if (s.len == 0 || s.len > DNSSD_NAME_MAX)
		return (0);
	while (i < s.len) {
		unsigned char c = s.p[i];

		if (c == '\\') {
			unsigned v = 0;

			if (i + 1 < s.len &&
			    (s.p[i + 1] == '.' || s.p[i + 1] == '\\')) {
				i += 2;
			} else {
				/* \DDD: a byte in decimal, never 0 */
				if (s.len - i < 4)
					return (0);
				for (int k = 1; k <= 3; k++) {
					if (s.p[i + k] < '0' ||
					    s.p[i + k] > '9')
						return (0);
					v = v * 10 + (s.p[i + k] - '0');
				}
				if (v == 0 || v > 255)
					return (0);
				i += 4;
			}
		} else if (is_alnum(c) || c == '-' || c == '_') {
			i++;
		} else {
			return (0);
		}
		n++;
	}
	return (n <= 63);
}

/* PORT: decimal as printf's %u writes it, 0..65535. */
static int
port_parse(struct dnssd_str s, uint16_t *port)
{
	unsigned v = 0;

	if (s.len == 0 || s.len > 5 || (s.len > 1 && s.p[0] == '0'))
		return (-1);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return (-1);
		v = v * 10 + (s.p[i] - '0');
	}
	if (v > 65535)
		return (-1);
	*port = v;
	return (0);
}

/* ADDR: an IPv4 or IPv6 address as inet_ntop writes it: 4, 6, or 0. */
static int
addr_family(struct dnssd_str s)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if (s.len == 0 || s.len >= sizeof(tmp) || memchr(s.p, '\0', s.len))
		return (0);
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1)
		return (4);
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return (6);
	return (0);
}

int
dnssd_parse(const char *line, size_t len, struct dnssd_line *r)
{
	struct dnssd_str f[8];
	const char *p, *end = line + len;
	int nf;

	memset(r, 0, sizeof(*r));
	if (len < 2 || line[1] != ';' ||
	    (line[0] != '+' && line[0] != '-' && line[0] != '='))
		goto bad;
	r->ev = line[0];
	/* + and -: five fields, the last to the end; =: eight, each ended by
	 * ';', then TXT, which may hold ';' itself. */
	nf = r->ev == '=' ? 8 : 5;
	p = line + 2;
	for (int i = 0; i < nf; i++) {
		const char *s = memchr(p, ';', end - p);

		if (r->ev != '=' && i == nf - 1) {
			if (s != NULL)
				goto bad;
			s = end;
		} else if (s == NULL) {
			goto bad;
		}
		f[i].p = p;
		f[i].len = s - p;
		p = s + (s < end);
	}
	r->ifname = f[0];
	r->name = f[2];
	r->type = f[3];
	r->domain = f[4];
	r->key.p = f[0].p;
	r->key.len = f[4].p + f[4].len - f[0].p;
	if (f[1].len == 4 && memcmp(f[1].p, "IPv4", 4) == 0)
		r->family = 4;
	else if (f[1].len == 4 && memcmp(f[1].p, "IPv6", 4) == 0)
		r->family = 6;
	else
		goto bad;
	if (!graph_ok(r->ifname, DNSSD_IF_MAX) || !dnssd_name_ok(r->name) ||
	    !graph_ok(r->type, DNSSD_DOMAIN_MAX) ||
	    !graph_ok(r->domain, DNSSD_DOMAIN_MAX))
		goto bad;
	if (r->ev != '=')
		return (0);
	r->host = f[5];
	r->addr = f[6];
	r->txt.p = p;
	r->txt.len = end - p;
	if (!graph_ok(r->host, DNSSD_DOMAIN_MAX) ||
	    (r->addr_family = addr_family(r->addr)) == 0 ||
	    port_parse(f[7], &r->port) == -1)
		goto bad;
	return (0);
bad:
	memset(r, 0, sizeof(*r));
	errno = EBADMSG;
	return (-1);
}

int
dnssd_txt(struct dnssd_str txt, const char *key, struct dnssd_str *v)
{
	const char *p = txt.p, *e = txt.p + txt.len;
	size_t kl = strlen(key);
	int found = 0;

	while (p < e) {
		const char *s, *q;

		if (*p != '"')
			goto bad;
		s = q = p + 1;
		/* Its end: a '"' before " \"" or the end of the field. */
		for (;;) {
			if (q >= e || (q = memchr(q, '"', e - q)) == NULL)
				goto bad;
			if (q + 1 == e ||
			    (e - q >= 3 && q[1] == ' ' && q[2] == '"'))
				break;
			q++;
		}
		if (!found && (size_t)(q - s) > kl && memcmp(s, key, kl) == 0 &&
		    s[kl] == '=') {
			v->p = s + kl + 1;
			v->len = q - v->p;
			found = 1;
		}
		p = q + 1 == e ? e : q + 2;
	}
	return (found);
bad:
	errno = EBADMSG;
	return (-1);
}
