/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/dnssd: the lines of avahi-browse -p -r -k.  The
 * lines avahi-browse 0.8 printed on simulated hosts parse field by field;
 * its diagnostics, lines cut short, bad escapes, addresses and ports are
 * EBADMSG; TXT strings are found by key, with ';', '"' and spaces inside.
 * TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssd.h"
#include "tcase.h"

static int
is(struct dnssd_str s, const char *want)
{
	return (s.len == strlen(want) && memcmp(s.p, want, s.len) == 0);
}

/* Parse a copy of exactly the line's size (the views point into it). */
static char *cur;

static int
parse(const char *line, struct dnssd_line *r)
{
	free(cur);
	cur = tc_exact(line, strlen(line));
	return (dnssd_parse(cur, strlen(line), r));
}

static int
t_seen(void)
{
	struct dnssd_line r;

	CHECK(
	    parse("+;eth0;IPv6;n1\\032x\\059y\\.z;_quilt._tcp;local", &r) == 0);
	CHECK(r.ev == '+' && r.family == 6 && is(r.ifname, "eth0"));
	CHECK(is(r.name, "n1\\032x\\059y\\.z") && is(r.type, "_quilt._tcp") &&
	    is(r.domain, "local"));
	CHECK(is(r.key, "eth0;IPv6;n1\\032x\\059y\\.z;_quilt._tcp;local"));
	CHECK(r.host.len == 0 && r.txt.len == 0 && r.port == 0 &&
	    r.addr_family == 0);
	CHECK(parse("-;eth0;IPv4;n2;_quilt._tcp;local", &r) == 0);
	CHECK(r.ev == '-' && r.family == 4 &&
	    is(r.key, "eth0;IPv4;n2;_quilt._tcp;local"));
	CHECK(parse("=;eth0;IPv4;n1;_quilt._tcp;local;h1.local;198.18.0.1;7000;"
		    "\"node=n1\" \"mesh=lab\"",
		  &r) == 0);
	CHECK(r.ev == '=' && r.family == 4 &&
	    is(r.key, "eth0;IPv4;n1;_quilt._tcp;local"));
	CHECK(is(r.host, "h1.local") && is(r.addr, "198.18.0.1") &&
	    r.addr_family == 4 && r.port == 7000);
	CHECK(is(r.txt, "\"node=n1\" \"mesh=lab\""));
	CHECK(
	    parse("=;eth0;IPv6;n1;_quilt._tcp;local;h1.local;2001:2::1;65535;",
		&r) == 0);
	CHECK(r.family == 6 && r.addr_family == 6 && r.port == 65535 &&
	    r.txt.len == 0);
	/* IPv4 seen over IPv6, port 0, a TXT with ';' in it. */
	CHECK(parse("=;n/a;IPv6;x;_quilt._tcp;local;h;10.0.0.1;0;\"a;b\"",
		  &r) == 0);
	CHECK(r.addr_family == 4 && r.port == 0 && is(r.txt, "\"a;b\""));
	free(cur);
	cur = NULL;
	return (0);
}

static int
t_refused(void)
{
	static const char *const bad[] = {
	    "",
	    "+",
	    "+;",
	    "Failed to create client object: Daemon not running",
	    "Established under name 'n1'",
	    "*;eth0;IPv4;n1;_quilt._tcp;local",
	    "+eth0;IPv4;n1;_quilt._tcp;local",
	    "+;eth0;IPv4;n1;_quilt._tcp",
	    "+;eth0;IPv4;n1;_quilt._tcp;local;extra",
	    "+;eth0;IPv5;n1;_quilt._tcp;local",
	    "+;eth0;ipv4;n1;_quilt._tcp;local",
	    "+;;IPv4;n1;_quilt._tcp;local",
	    "+;a-very-long-ifname;IPv4;n1;_quilt._tcp;local",
	    "+;eth 0;IPv4;n1;_quilt._tcp;local",
	    "+;eth0;IPv4;;_quilt._tcp;local",
	    "+;eth0;IPv4;n 1;_quilt._tcp;local",
	    "+;eth0;IPv4;n.1;_quilt._tcp;local",
	    "+;eth0;IPv4;n\\;_quilt._tcp;local",
	    "+;eth0;IPv4;n\\03;_quilt._tcp;local",
	    "+;eth0;IPv4;n\\000;_quilt._tcp;local",
	    "+;eth0;IPv4;n\\256;_quilt._tcp;local",
	    "+;eth0;IPv4;n\\x41;_quilt._tcp;local",
	    "+;eth0;IPv4;(null);_quilt._tcp;local",
	    "+;eth0;IPv4;n1;;local",
	    "+;eth0;IPv4;n1;_quilt._tcp;",
	    "+;eth0;IPv4;n1;_quilt._tcp;lo cal",
	    "=;eth0;IPv4;n1;_quilt._tcp;local",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1.local;198.18.0.1;7000",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1.local;198.18.0.1",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;;198.18.0.1;7000;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.256;7000;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;fe80::1%eth0;7000;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;h1.local;7000;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.1;65536;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.1;07000;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.1;-1;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.1;;",
	    "=;eth0;IPv4;n1;_quilt._tcp;local;h1;198.18.0.1;123456;",
	};
	struct dnssd_line r;
	char name[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECKF(parse(bad[i], &r) == -1 && errno == EBADMSG, "%s",
		    bad[i]);
		CHECK(r.ev == 0 && r.key.p == NULL);
	}
	/* 63 bytes once unescaped, and no more. */
	strcpy(name, "+;eth0;IPv4;");
	for (int i = 0; i < 63; i++)
		strcat(name, "\\032");
	strcat(name, ";_quilt._tcp;local");
	CHECK(parse(name, &r) == 0 && r.name.len == 63 * 4);
	strcpy(name, "+;eth0;IPv4;x");
	for (int i = 0; i < 63; i++)
		strcat(name, "a");
	strcat(name, ";_quilt._tcp;local");
	CHECK(parse(name, &r) == -1);
	/* A NUL inside is not a line of avahi-browse. */
	{
		static const char nul[] =
		    "+;eth0;IPv4;n\0001;_quilt._tcp;local";

		free(cur);
		cur = tc_exact(nul, sizeof(nul) - 1);
		CHECK(dnssd_parse(cur, sizeof(nul) - 1, &r) == -1);
	}
	free(cur);
	cur = NULL;
	return (0);
}

static int
txt(const char *field, const char *key, const char *want)
{
	char *c = tc_exact(field, strlen(field));
	struct dnssd_str t = {c, strlen(field)}, v = {NULL, 0};
	int r = dnssd_txt(t, key, &v), ok;

	if (want == NULL)
		ok = r == 0;
	else if (strcmp(want, "BAD") == 0)
		ok = r == -1 && errno == EBADMSG;
	else
		ok = r == 1 && is(v, want);
	free(c);
	return (ok);
}

static int
t_txt(void)
{
	CHECK(txt("\"node=n1\" \"mesh=lab\"", "mesh", "lab"));
	CHECK(txt("\"node=n1\" \"mesh=lab\"", "node", "n1"));
	CHECK(txt("\"node=n1\" \"mesh=lab\"", "mes", NULL));
	CHECK(txt("\"node=n1\" \"mesh=lab\"", "esh", NULL));
	CHECK(txt("\"meshy=x\" \"mesh=\"", "mesh", ""));
	CHECK(txt("\"mesh=a\" \"mesh=b\"", "mesh", "a"));
	CHECK(txt("", "mesh", NULL));
	CHECK(txt("\"\"", "mesh", NULL));
	CHECK(txt("\"mesh=a;b\" \"x\"", "mesh", "a;b"));
	CHECK(txt("\"mesh=a\"b\"", "mesh", "a\"b"));
	CHECK(txt("\"mesh=a b\" \"c\"", "mesh", "a b"));
	CHECK(txt("\"x\" \"mesh=a\" \"y\"", "mesh", "a"));
	CHECK(txt("\"mesh=lab", "mesh", "BAD"));
	CHECK(txt("mesh=lab", "mesh", "BAD"));
	CHECK(txt("\"mesh=lab\" ", "mesh", "BAD"));
	CHECK(txt("\"mesh=lab\"  \"x\"", "mesh", "lab\"  \"x"));
	CHECK(txt("\"", "mesh", "BAD"));
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "the lines avahi-browse printed parse field by field", t_seen },
	{ "diagnostics, short lines, bad escapes, addresses, ports: EBADMSG",
	    t_refused },
	{ "TXT strings by key, with ';', '\"' and spaces inside", t_txt },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
