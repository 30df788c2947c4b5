/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * A client's messages: [DEST, "msg", PART...] from a connection of the
 * listen child, or from our standard input, become our messages of the
 * mesh [DEST, "msg", US, HOPS, ID, FLAGS, PART...] with their end-to-end
 * records; runs for one next hop go on in one copy.
 */
#ifndef QUILT_RELAY_CLIENTS_H
#define QUILT_RELAY_CLIENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conns.h"
#include "wire.h"

/* -1 ENOMEM. */
int clients_init(void);

/*
 * A client's [DEST, "msg", PART...] number k on connection serial (k 0:
 * nobody waits for the outcome: our standard input, or a message for the
 * relay itself).  0 taken (sent, written, or answered lost); -1 when it
 * must wait (too much in flight, or no room on the way).
 */
int client_msg(const struct wire_msg *m, uint64_t serial, uint64_t k);

/* Frame number k of client connection c, decoded: 0 done, -1 wait. */
int client_frame(struct conn *c, uint64_t k, const struct wire_msg *m);

/*
 * A run of client c's frames numbered from k at frames[0..len): the
 * messages that follow each other for one node next to us, or through a
 * relay next to us, in one copy.  The bytes taken (*taken the frames); 0
 * when the first frame starts no run (the caller gives it to
 * client_frame); -1 when it must wait for room.
 */
ssize_t client_run(struct conn *c, uint64_t k, const char *frames, size_t len,
    uint64_t *taken);

/* Standard input's messages into the mesh, as far as there is room. */
void clients_stdin(void);

#endif
