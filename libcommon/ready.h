/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Ready files (-P): one line, written to a temporary file in the same
 * directory and renamed, so a script waiting for the file never reads half
 * of it.
 */
#ifndef QUILT_READY_H
#define QUILT_READY_H

/*
 * Write line and a newline to path atomically.  0, or -1 with errno
 * (ENAMETOOLONG, or what open/write/rename said); no temporary file is left.
 * The file is then the process's (proc_own): removed at its exit, or before
 * with proc_remove.
 */
int ready_write(const char *path, const char *line);

#endif
