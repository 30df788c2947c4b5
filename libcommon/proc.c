/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	char *path[PROC_FILES];
	pid_t pid; /* who registered them: a forked child removes nothing */
	int registered;
} P;

int
proc_std(void)
{
	int closed = 0, fd, n;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lowest free descriptor: this one. */
		if ((n = open("/dev/null", O_RDWR)) == -1)
			return (-1);
		if (n != fd) {
			(void)dup2(n, fd);
			close(n);
		}
		closed |= 1 << fd;
	}
	return (closed);
}

void
proc_remove_all(void)
{
	if (P.pid != getpid())
		return;
	for (int i = 0; i < PROC_FILES; i++)
		if (P.path[i] != NULL) {
			(void)unlink(P.path[i]);
			free(P.path[i]);
			P.path[i] = NULL;
		}
}

int
proc_own(const char *path)
{
	int i, free_at = -1;

	if (P.pid != getpid()) {
		/* A child forked before: what was its parent's is not its. */
		memset(P.path, 0, sizeof(P.path));
		P.pid = getpid();
	}
	for (i = 0; i < PROC_FILES; i++) {
		if (P.path[i] != NULL && strcmp(P.path[i], path) == 0)
			return (0);
		if (P.path[i] == NULL && free_at == -1)
			free_at = i;
	}
	if (free_at == -1) {
		errno = ENOSPC;
		return (-1);
	}
	if (!P.registered) {
		if (atexit(proc_remove_all) != 0) {
			errno = ENOMEM;
			return (-1);
		}
		P.registered = 1;
	}
	if ((P.path[free_at] = strdup(path)) == NULL)
		return (-1);
	return (0);
}

void
proc_remove(const char *path)
{
	if (path == NULL || P.pid != getpid())
		return;
	for (int i = 0; i < PROC_FILES; i++)
		if (P.path[i] != NULL && strcmp(P.path[i], path) == 0) {
			(void)unlink(P.path[i]);
			free(P.path[i]);
			P.path[i] = NULL;
		}
}
