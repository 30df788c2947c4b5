/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Command-line helpers every program shares: the option table and its
 * parser (short and long options, --help, --version, usage errors), numbers,
 * sizes and seconds, node names, the -0/-N format, options given twice, and
 * the key file of -k.  Like log.c, and unlike the codecs, these print and
 * exit: a bad option ends the program at once.  The statuses are the
 * caller's: usage errors exit with the status its struct opt_prog names;
 * opt_key takes its two.
 */
#ifndef QUILT_OPT_H
#define QUILT_OPT_H

#include <stdnoreturn.h>

/*
 * One option of a program: its letter, or a value from OPT_LONG up for an
 * option with a long name only; the long name (without "--"); the name of
 * its argument in --help, or NULL when it takes none; one line of help, or
 * NULL for an option that is taken but not listed (a parent's child mode).
 */
struct opt {
	int ch;
	const char *name;
	const char *arg;
	const char *help;
};

/* Long-only options: the shared ones, then each program's own. */
enum {
	OPT_LONG = 256,
	OPT_SYSLOG = OPT_LONG,
	OPT_TIMESTAMPS,
	OPT_PROG /* the first value a program may use for its own */
};

/*
 * The rows every program has (opt_next handles them: -h and --help print
 * the usage and every listed option on stdout and exit 0, -V and --version
 * the version) and those of every program that logs (--syslog, --timestamps:
 * log.h).
 */
/* clang-format off */
#define OPT_ROWS_HELP \
	{'h', "help", NULL, "print this help and exit"}, \
	{'V', "version", NULL, "print the version and exit"}
#define OPT_ROWS_LOG \
	{OPT_SYSLOG, "syslog", NULL, "diagnostics to syslog (facility daemon), not stderr"}, \
	{OPT_TIMESTAMPS, "timestamps", NULL, "diagnostics on stderr start with the UTC time"}
/* clang-format on */

/*
 * A program's options: its usage (the SYNOPSIS, "usage: PROG ...", one line
 * a form, no final newline), its table (ending with a row whose name is
 * NULL), and the exit status of a usage error.
 */
struct opt_prog {
	const char *usage;
	const struct opt *opts;
	int status;
};

/*
 * The next option of argv, as getopt_long(3) with '+' (options end at the
 * first operand or at --): its letter or long-only value, with optarg set
 * when it takes an argument; -1 at the end, optind then at the first
 * operand.  Handles the rows of OPT_ROWS_HELP and OPT_ROWS_LOG itself.
 * Anything else is a usage error: "PROG: unknown option --foo" (or
 * "missing argument to -w", "option --raw takes no argument", "ambiguous
 * option --s (--size, --syslog)") and the usage line, on stderr; exit
 * p->status.  getopt's own messages are off (opterr = 0).
 */
int opt_next(int argc, char *argv[], const struct opt_prog *p);

/*
 * A usage error: "PROG: FAULT" and the usage line on stderr, exit with the
 * status of the struct opt_prog given to opt_next (which must come first).
 */
noreturn void opt_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* An operand too many: "PROG: extra operand 'S'", as opt_usage. */
noreturn void opt_extra(const char *s);

/*
 * The option being parsed as the user typed it ("-w", "--deadline"), for
 * messages; NULL once opt_next has returned -1.
 */
extern const char *opt_cur;

/*
 * Parse a whole decimal integer in [lo, hi]; anything else is a usage
 * error naming the option being parsed: "PROG: -c: not a number: 'x'",
 * "PROG: -c: WHAT must be LO..HI: S" (WHAT alone outside options, for an
 * environment variable).
 */
long long parse_num(const char *s, long long lo, long long hi,
    const char *what);

/* Parse seconds with an optional fraction ("1", "0.2") into milliseconds. */
long long parse_ms(const char *s, long long lo_ms, long long hi_ms,
    const char *what);

/*
 * Parse a size with an optional K, M or G suffix (powers of 1024)
 * into bytes, in [lo, hi]; fatal like parse_num.
 */
long long parse_size(const char *s, long long lo, long long hi,
    const char *what);

/*
 * Read the key file of -k into key (32 bytes); fatal when it cannot be read
 * (exit st_noinput) or holds something else (exit st_config), saying why; a
 * warning when group or others may read it.
 */
void opt_key(const char *path, unsigned char *key, int st_noinput,
    int st_config);

/* A node name for -n or -d ([A-Za-z0-9._-]{1,64}, never "all"), or fatal. */
const char *opt_node(const char *s);

/* -0 or -N (ch) into *f; the two together are a usage error. */
enum fmt;
void opt_format(enum fmt *f, int ch);

/* A value option given twice is a usage error ("option -c given twice"). */
void opt_once(int *seen, int ch);

/* Print the version line for -V and exit 0. */
noreturn void print_version(void);

#endif
