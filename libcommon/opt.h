/*
 * Command-line helpers every program shares: numbers, sizes and seconds,
 * node names, the -0/-N format, options given twice, -V, and the key file
 * of -k.  Like log.c, and unlike the codecs, these print and exit: a bad
 * option ends the program at once.  The statuses are the caller's: usage
 * errors exit with log_usage_status (log.h), which a program sets before
 * parsing when it does not use 64; opt_key takes its two statuses.
 */
#ifndef QUILT_OPT_H
#define QUILT_OPT_H

#include <stdnoreturn.h>

/*
 * Parse a whole decimal integer in [lo, hi]; anything else is fatal:
 * "prog: WHAT must be LO..HI: S", exit log_usage_status.
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

/* A value option given twice is a usage error. */
void opt_once(int *seen, int ch);

/* Print the version line for -V (the program then exits 0). */
void print_version(void);

#endif
