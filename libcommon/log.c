/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>
#include <time.h>

int log_level = 1;
const char *log_prog = "quilt";
int log_timestamps;
static int to_syslog;

void
log_init(const char *argv0)
{
	const char *s;

	if (argv0 == NULL)
		return;
	s = strrchr(argv0, '/');
	log_prog = s ? s + 1 : argv0;
}

void
log_syslog(void)
{
	if (!to_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = 1;
}

int
log_to_syslog(void)
{
	return (to_syslog);
}

static void
vlog(int pri, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (log_timestamps && !to_syslog) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof(line) - n, ".%06ldZ ",
		    (long)tv.tv_usec);
	}
	/* One write per line, so lines of concurrent processes stay whole. */
	if (!to_syslog)
		n += snprintf(line + n, sizeof(line) - n, "%s: ", log_prog);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (err)
		n += snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(err));
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (to_syslog) {
		line[n] = '\0';
		syslog(pri, "%s", line);
		return;
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, 0, fmt, ap);
	va_end(ap);
}

void
log_die(int status, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, e, fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_diex(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(status);
}
