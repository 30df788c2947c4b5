/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The control socket (as ospfd's control.c): a Unix socket whose clients
 * send one command line ("peers", "routes", "nodes", "counters", "dot", or
 * "json COMMAND") and read the answer.  It is served without ever waiting
 * for a client: a request line is gathered as it comes, the answer
 * written as the socket takes it; CTL_MAX clients at once, each with
 * CTL_DEADLINE_MS for all of it.  And its client: quilt-relay -Q.
 */
#ifndef QUILT_RELAY_CONTROL_H
#define QUILT_RELAY_CONTROL_H

#include <stdio.h>

#define CTL_MAX 8
#define CTL_LINE 128
#define CTL_DEADLINE_MS 5000

/*
 * Its path once open, DIR/quilt-relay-NAME.ctl, where DIR is
 * $XDG_RUNTIME_DIR, else /run/user/UID, else $TMPDIR/quilt-UID (0700, ours);
 * "" before.
 */
extern char ctl_path[108];

/*
 * Open the socket, replacing one a dead relay of this name left; -1 with
 * *why (ctl_path names the path, or the directory, at fault).
 */
int control_open(const char **why);

/* Close it and its clients, and remove it. */
void control_close(void);

/* Clients past their deadline go; *next gets the next deadline. */
void control_tick(long long now, long long *next);

/* The answer to one request line ("json COMMAND" or "COMMAND"), to f. */
void control_answer(FILE *f, const char *line);

/* SIGUSR1: the counters, as "counters" answers them, in one line to say. */
void control_say_counters(void (*say)(const char *, ...));

/*
 * quilt-relay -Q: ask the relay whose control socket ctl is (unix:PATH,
 * a ready file with a "control" line, or a node name) and print its answer.
 * Returns the exit status.
 */
int control_client(const char *ctl, const char *cmd, int json);

#endif
