/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread daemon's doors: the listening sockets (-s PORT: 127.0.0.1:PORT
 * and the Unix socket /tmp/PORT, where Spread's clients look; -s HOST:PORT:
 * that TCP address only), and each session's bytes through the daemon side
 * of the protocol, its requests submitted as events, its queue written.
 * A session broken, refused, killed or too slow is dropped; its groups
 * learn it as a disconnect.
 */
#ifndef QUILT_RELAY_SD_IO_H
#define QUILT_RELAY_SD_IO_H

/* The TCP port the daemon listens on once open. */
extern int sd_port;

/*
 * Open the daemon on spec ("PORT", "0" for any free port, or
 * "HOST:PORT"): 0, or -1 with why set (errno too).
 */
int sd_open(const char *spec, const char **why);

/* Stop: no more sessions; the Unix socket removed. */
void sd_close(void);

/* Deadlines, sessions that waited, dropped sessions, output to write;
 * *next gets the time of the next deadline. */
void sd_tick(long long now, long long *next);

#endif
