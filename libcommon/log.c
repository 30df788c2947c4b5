#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

int log_level = 1;
const char *log_prog = "quilt";
int log_usage_status = EX_USAGE;

void
log_init(const char *argv0)
{
	const char *s;

	if (argv0 == NULL)
		return;
	s = strrchr(argv0, '/');
	log_prog = s ? s + 1 : argv0;
}

static void
vlog(int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	/* One write per line, so lines of concurrent processes stay whole. */
	n = snprintf(line, sizeof(line), "%s: ", log_prog);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (err)
		n += snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(err));
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
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
	vlog(e, fmt, ap);
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
	vlog(0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

void
log_die(int status, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog(e, fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_diex(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
	exit(status);
}
