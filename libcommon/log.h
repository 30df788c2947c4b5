/*
 * Diagnostics on stderr, prefixed with the program name, and the few
 * command-line helpers every program shares.  This is the one module of
 * libcommon that prints and exits: the programs call it, the codecs do not.
 */
#ifndef QUILT_LOG_H
#define QUILT_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/* Verbosity: 0 with -q (fatal errors only), 1 by default, 2 with -v. */
extern int log_level;
extern const char *log_prog;
/* The exit status of usage errors: 64, except quilt-ping's 2. */
extern int log_usage_status;

/* Remember the program name (basename of argv0) for every message. */
void log_init(const char *argv0);

/* "prog: msg: strerror(errno)" / "prog: msg".  Shown unless -q. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Shown only with -v. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fatal: always shown, then exit(status). */
noreturn void log_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
noreturn void log_diex(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parse a whole decimal integer in [lo, hi]; anything else is fatal:
 * "prog: WHAT must be LO..HI: S", exit 64.
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
 * (st_noinput: 66, quilt-ping 2) or holds something else (st_config: 78),
 * saying why; a warning when group or others may read it.
 */
void opt_key(const char *path, unsigned char *key, int st_noinput,
    int st_config);

/* A node name for -n or -d ([A-Za-z0-9._-]{1,64}, never "all"), or fatal. */
const char *opt_node(const char *s);

/* -0 or -N (ch) into *f; the two together are a usage error. */
enum fmt;
void opt_format(enum fmt *f, int ch);

/* A value option given twice is a usage error. */
void opt_once(int *seen, int ch);

/* Print the version line for -V and exit 0. */
noreturn void print_version(void);

#endif
