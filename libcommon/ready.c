/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "ready.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int
ready_write(const char *path, const char *line)
{
	char tmp[PATH_MAX], buf[1024];
	const char *slash = strrchr(path, '/');
	int fd, n, len, e;

	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.%ld.tmp",
	    slash ? (int)(slash - path + 1) : 0, path, slash ? slash + 1 : path,
	    (long)getpid());
	len = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n >= (int)sizeof(tmp) || len >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1)
		return (-1);
	if (write(fd, buf, len) != len || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		e = errno ? errno : EIO;
		unlink(tmp);
		errno = e;
		return (-1);
	}
	/* Ours until we exit, whichever way. */
	if (proc_own(path) == -1) {
		e = errno;
		unlink(path);
		errno = e;
		return (-1);
	}
	return (0);
}
