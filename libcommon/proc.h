/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * What every program does for its own process, before and after the rest:
 * descriptors 0, 1 and 2 that were closed at start get /dev/null (so that
 * no socket, pipe or file of ours ever lands on one of them, as OpenBSD's
 * daemons do), and the files it made that must not outlive it (ready
 * files, Unix sockets) are removed at exit, whichever exit it is.
 */
#ifndef QUILT_PROC_H
#define QUILT_PROC_H

/* Bits of proc_std's answer: which descriptor was closed. */
#define PROC_STDIN 1
#define PROC_STDOUT 2
#define PROC_STDERR 4

/*
 * Open /dev/null on each of the descriptors 0, 1, 2 that is closed; called
 * first in main, before anything else is opened.  Returns the PROC_* bits of
 * those that were closed (the program decides whether one it uses for data
 * is an error), or -1 with errno when /dev/null could not be opened.
 */
int proc_std(void);

/*
 * path (copied) was made by this process: it is removed when the process
 * exits through exit(3) (not by a child it forked), unless proc_remove
 * came first.  At most PROC_FILES at once.  0, or -1 with ENOMEM or ENOSPC.
 */
#define PROC_FILES 8
int proc_own(const char *path);

/* Remove path now if it is one of ours, and forget it. */
void proc_remove(const char *path);

/* Remove every file still ours, now (before _exit(2), say). */
void proc_remove_all(void);

#endif
