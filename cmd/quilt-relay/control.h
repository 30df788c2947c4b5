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

/* Its path (under $TMPDIR, else /tmp) once open; "" before. */
extern char ctl_path[108];

/* Open the socket; -1 with errno. */
int control_open(void);

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
 * or a ready file with a "control" line) and print its answer.  Returns
 * the exit status.
 */
int control_client(const char *ctl, const char *cmd, int json);

#endif
