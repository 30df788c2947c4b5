/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The command-line helpers of opt.h.  Every failure here is the user's, so
 * it ends the program with the status the program chose (its struct
 * opt_prog's, or opt_key's arguments).
 */
#include "opt.h"

#include "fmt.h"
#include "log.h"
#include "seal.h"
#include "wire.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXOPTS 64

const char *opt_cur;

static struct {
	const struct opt_prog *p;
	char shorts[2 * MAXOPTS + 3];
	struct option longs[MAXOPTS + 1];
	char cur[80]; /* opt_cur's text */
} O;

static int
status(void)
{
	if (O.p == NULL)
		abort(); /* a usage error before opt_next: ours */
	return (O.p->status);
}

void
opt_usage(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Always shown, as log_diex, and on stderr even with --syslog: the
	 * one who typed it is there. */
	fprintf(stderr, "%s: %s\n%s\n", log_prog, line, O.p ? O.p->usage : "");
	fflush(stderr);
	exit(status());
}

void
opt_extra(const char *s)
{
	opt_usage("extra operand '%s'", s);
}

static const struct opt *
row_of(int ch)
{
	for (const struct opt *o = O.p->opts; o->name != NULL; o++)
		if (o->ch == ch)
			return (o);
	return (NULL);
}

/* The table as getopt_long wants it: "+:" and the letters, the longs. */
static void
build(const struct opt_prog *p)
{
	char *s = O.shorts;
	int n = 0;

	O.p = p;
	*s++ = '+';
	*s++ = ':';
	for (const struct opt *o = p->opts; o->name != NULL; o++) {
		if (n == MAXOPTS)
			abort(); /* a table too long: MAXOPTS is ours */
		if (o->ch < OPT_LONG) {
			*s++ = (char)o->ch;
			if (o->arg)
				*s++ = ':';
		}
		O.longs[n].name = o->name;
		O.longs[n].has_arg = o->arg ? required_argument : no_argument;
		O.longs[n].flag = NULL;
		O.longs[n].val = o->ch;
		n++;
	}
	*s = '\0';
	memset(&O.longs[n], 0, sizeof(O.longs[n]));
}

/* "=KEYFILE" for the argument named "keyfile", as --help shows it. */
static const char *
argname(const struct opt *o)
{
	static char a[40];
	size_t i = 0;

	if (o->arg == NULL)
		return ("");
	a[i++] = '=';
	for (const char *p = o->arg; *p != '\0' && i < sizeof(a) - 1; p++)
		a[i++] = (char)toupper((unsigned char)*p);
	a[i] = '\0';
	return (a);
}

static void
help(void)
{
	char left[64];
	int w = 0, n;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			printf("%s\n", O.p->usage);
		for (const struct opt *o = O.p->opts; o->name != NULL; o++) {
			if (o->help == NULL)
				continue;
			if (o->ch < OPT_LONG)
				n = snprintf(left, sizeof(left), "-%c, --%s%s",
				    o->ch, o->name, argname(o));
			else
				n = snprintf(left, sizeof(left), "    --%s%s",
				    o->name, argname(o));
			if (pass == 0 && n > w)
				w = n;
			if (pass == 1)
				printf("  %-*s  %s\n", w, left, o->help);
		}
	}
	exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 74);
}

/* What the user typed of a long option: "--name" without "=value". */
static const char *
typed(const char *arg)
{
	size_t n = strcspn(arg, "=");

	snprintf(O.cur, sizeof(O.cur), "%.*s", (int)n, arg);
	return (O.cur);
}

/* getopt_long's '?' and ':', said in one line, with the usage line. */
static noreturn void
bad(int ch, char *argv[])
{
	const char *last = argv[optind - 1];
	int isl = strncmp(last, "--", 2) == 0;

	if (ch == ':') {
		if (isl && row_of(optopt) != NULL)
			opt_usage("missing argument to --%s",
			    row_of(optopt)->name);
		opt_usage("missing argument to -%c", optopt);
	}
	if (optopt != 0 && row_of(optopt) != NULL && isl)
		opt_usage("option --%s takes no argument",
		    row_of(optopt)->name);
	if (optopt != 0)
		opt_usage(optopt > ' ' && optopt < 127 ?
			"unknown option -%c" :
			"unknown option -\\x%02x",
		    optopt);
	/* An unknown or ambiguous long option. */
	{
		char names[256] = "";
		const char *t = typed(last) + 2;
		size_t tl = strlen(t);
		int n = 0;

		for (const struct opt *o = O.p->opts; o->name != NULL; o++) {
			size_t k = strlen(names);

			if (tl == 0 || strncmp(o->name, t, tl) != 0)
				continue;
			snprintf(names + k, sizeof(names) - k, "%s--%s",
			    n++ ? ", " : "", o->name);
		}
		if (n > 1)
			opt_usage("ambiguous option %s (%s)", O.cur, names);
		opt_usage("unknown option %s", O.cur);
	}
}

int
opt_next(int argc, char *argv[], const struct opt_prog *p)
{
	int ch, idx;

	if (O.p != p)
		build(p);
	opterr = 0;
	for (;;) {
		idx = -1;
		ch = getopt_long(argc, argv, O.shorts, O.longs, &idx);
		if (ch == -1) {
			opt_cur = NULL;
			return (-1);
		}
		if (ch == '?' || ch == ':')
			bad(ch, argv);
		if (idx >= 0)
			snprintf(O.cur, sizeof(O.cur), "--%s",
			    O.longs[idx].name);
		else
			snprintf(O.cur, sizeof(O.cur), "-%c", ch);
		opt_cur = O.cur;
		switch (ch) {
		case 'h':
			if (row_of('h') != NULL)
				help();
			return (ch);
		case 'V':
			if (row_of('V') != NULL)
				print_version();
			return (ch);
		case OPT_SYSLOG:
			log_syslog();
			break;
		case OPT_TIMESTAMPS:
			log_timestamps = 1;
			break;
		default:
			return (ch);
		}
	}
}

/* A value that is not one: "PROG: -w: not a number: 'x'". */
static noreturn void
not_a(const char *kind, const char *s, const char *what)
{
	if (opt_cur)
		opt_usage("%s: not %s: '%s'", opt_cur, kind, s);
	opt_usage("%s: not %s: '%s'", what, kind, s);
}

/* A value out of its range: "PROG: -c: connection limit must be 1..9: 0". */
static noreturn void __attribute__((format(printf, 1, 2)))
range(const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (opt_cur)
		opt_usage("%s: %s", opt_cur, line);
	opt_usage("%s", line);
}

long long
parse_num(const char *s, long long lo, long long hi, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *s == ' ' || *s == '+' ||
	    (*s == '-' && (s[1] < '0' || s[1] > '9')))
		not_a("a number", s, what);
	if (errno != 0 || v < lo || v > hi)
		range("%s must be %lld..%lld: %s", what, lo, hi, s);
	return (v);
}

long long
parse_ms(const char *s, long long lo_ms, long long hi_ms, const char *what)
{
	long long ip = 0, frac = 0, scale = 1000;
	const char *p = s;

	if (*p == '\0')
		not_a("a number", s, what);
	while (*p >= '0' && *p <= '9') {
		ip = ip * 10 + (*p++ - '0');
		if (ip > 1000000000LL)
			ip = 1000000001LL; /* out of range, said below */
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p != '\0' || p == s || (p == s + 1 && *s == '.'))
		not_a("a number", s, what);
	ip = ip * 1000 + frac;
	if (ip < lo_ms || ip > hi_ms)
		range("%s must be %lld.%03lld..%lld.%03lld seconds: %s", what,
		    lo_ms / 1000, lo_ms % 1000, hi_ms / 1000, hi_ms % 1000, s);
	return (ip);
}

long long
parse_size(const char *s, long long lo, long long hi, const char *what)
{
	char *end;
	long long v, mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1024;
			end++;
			break;
		case 'm':
		case 'M':
			mul = 1024 * 1024;
			end++;
			break;
		case 'g':
		case 'G':
			mul = 1024LL * 1024 * 1024;
			end++;
			break;
		}
	}
	if (*s < '0' || *s > '9' || *end != '\0')
		not_a("a size", s, what);
	if (errno != 0 || v > hi / mul || v * mul < lo || v * mul > hi)
		range("%s must be %lld..%lld bytes: %s", what, lo, hi, s);
	return (v * mul);
}

void
opt_key(const char *path, unsigned char *key, int st_noinput, int st_config)
{
	const char *why;
	int loose;

	if (seal_key_load(path, key, &loose, &why) == -1) {
		if (why != NULL)
			log_diex(st_config, "key file %s: %s", path, why);
		log_die(st_noinput, "key file %s", path);
	}
	if (loose)
		log_warnx(
		    "key file %s: readable by group or others; chmod 600 it",
		    path);
}

const char *
opt_node(const char *s)
{
	if (!wire_node_ok(s, strlen(s)))
		range(
		    "bad node name: %s (want 1 to 64 of A-Z a-z 0-9 . _ -, not \"all\")",
		    s);
	return (s);
}

void
opt_format(enum fmt *f, int ch)
{
	enum fmt want = ch == '0' ? FMT_NUL : FMT_NET;

	if (*f != FMT_LINE && *f != want)
		opt_usage("-0 and -N cannot be used together");
	*f = want;
}

void
opt_once(int *seen, int ch)
{
	if (*seen)
		opt_usage("option %s given twice",
		    opt_cur && opt_cur[1] == '-' ?
			opt_cur :
			(char[]){'-', (char)ch, '\0'});
	*seen = 1;
}

void
print_version(void)
{
	printf("%s (quilt) %s\n", log_prog, QUILT_VERSION);
	exit(0);
}
