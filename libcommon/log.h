/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Diagnostics on stderr (or syslog), prefixed with the program name.  With
 * opt.c, the one module of libcommon that prints and exits: the programs
 * call it, the codecs do not.  The exit status is always the caller's.
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
 * --timestamps: each line on stderr starts with the UTC time,
 * "2026-11-22T10:11:12.123456Z ".
 */
extern int log_timestamps;

/* Remember the program name (basename of argv0) for every message. */
void log_init(const char *argv0);

/*
 * --syslog: from now on every message goes to syslog(3), facility daemon,
 * tagged with the program name and pid (fatal errors at LOG_ERR, warnings
 * at LOG_WARNING, -v's at LOG_INFO), and no longer to stderr.
 */
void log_syslog(void);
/* Whether log_syslog was called (a parent passes it to its children). */
int log_to_syslog(void);

/* "prog: msg: strerror(errno)" / "prog: msg".  Shown unless -q. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Shown only with -v. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Shown even with -q: what the user asked for (SIGUSR1's counters). */
void log_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fatal: always shown, then exit(status). */
noreturn void log_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
noreturn void log_diex(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
