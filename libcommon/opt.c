/*
 * The command-line helpers of opt.h.  Every failure here is the user's, so
 * it ends the program with the status the program chose (log_usage_status,
 * or opt_key's arguments).
 */
#include "opt.h"

#include "fmt.h"
#include "log.h"
#include "seal.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long
parse_num(const char *s, long long lo, long long hi, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi ||
	    *s == ' ' || *s == '+')
		log_diex(log_usage_status, "%s must be %lld..%lld: %s", what,
		    lo, hi, s);
	return (v);
}

long long
parse_ms(const char *s, long long lo_ms, long long hi_ms, const char *what)
{
	long long ip = 0, frac = 0, scale = 1000;
	const char *p = s;

	if (*p == '\0')
		goto bad;
	while (*p >= '0' && *p <= '9') {
		ip = ip * 10 + (*p++ - '0');
		if (ip > 1000000000LL)
			goto bad;
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
		goto bad;
	ip = ip * 1000 + frac;
	if (ip < lo_ms || ip > hi_ms)
		goto bad;
	return (ip);
bad:
	log_diex(log_usage_status,
	    "%s must be %lld.%03lld..%lld.%03lld seconds: %s", what,
	    lo_ms / 1000, lo_ms % 1000, hi_ms / 1000, hi_ms % 1000, s);
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
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    v > hi / mul || v * mul < lo || v * mul > hi)
		log_diex(log_usage_status, "%s must be %lld..%lld bytes: %s",
		    what, lo, hi, s);
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
		log_diex(log_usage_status,
		    "bad node name: %s (want 1 to 64 of A-Z a-z 0-9 . _ -, not \"all\")",
		    s);
	return (s);
}

void
opt_format(enum fmt *f, int ch)
{
	enum fmt want = ch == '0' ? FMT_NUL : FMT_NET;

	if (*f != FMT_LINE && *f != want)
		log_diex(log_usage_status, "-0 and -N cannot be used together");
	*f = want;
}

void
opt_once(int *seen, int ch)
{
	if (*seen)
		log_diex(log_usage_status, "option -%c given twice", ch);
	*seen = 1;
}

void
print_version(void)
{
	printf("%s (quilt) %s\n", log_prog, QUILT_VERSION);
}
