/*
 * Diagnostics on stderr, prefixed with the program name.  With opt.c, the
 * one module of libcommon that prints and exits: the programs call it, the
 * codecs do not.  The exit status is always the caller's.
 */
#ifndef QUILT_LOG_H
#define QUILT_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/*
 * For now log.h brings the option helpers (parse_num, opt_key...) along,
 * so that the programs that include log.h alone still build; a program
 * should include opt.h itself, and this line then goes.
 */
#include "opt.h"

/* Verbosity: 0 with -q (fatal errors only), 1 by default, 2 with -v. */
extern int log_level;
extern const char *log_prog;
/*
 * The exit status of usage errors (opt.h): EX_USAGE (64) unless the program
 * sets another before parsing its options (quilt-ping: 2).
 */
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

#endif
