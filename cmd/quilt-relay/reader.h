/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The one reader of the children's frames (cmsg.h): the listen child's
 * connections (open, frames, frame, close) and its address; each send
 * child's up, down, ack and the frames its peer sends back.  Every frame
 * is decoded with its arity checked; a child that says something else is
 * dropped, and started again.
 */
#ifndef QUILT_RELAY_READER_H
#define QUILT_RELAY_READER_H

#include <stddef.h>
#include <stdint.h>

#include "children.h"
#include "conns.h"
#include "hops.h"
#include "link.h"

/* The loop's callbacks for the listen child's two streams and a peer's. */
void on_listen_child(void *arg, int fd, int revents);
void on_peer(void *arg, int fd, int revents);

/*
 * One frame of the listen child (frame, ours to write; body its body): 0
 * done, -1 wait (a queue is full: the frame stays, boff says how far a run
 * got), -2 the child is mad (a verb it may not say, or a wrong arity).
 */
int listen_frame(char *frame, const char *body, size_t blen,
    struct resume *boff);

/*
 * Frame number k (0: not numbered) of connection c: the whole frame (ours
 * to write) and its body.  0 done; -1 wait.
 */
int conn_frame(struct conn *c, uint64_t k, char *frame, size_t flen,
    const char *body, size_t blen);

/* Relay nidx, declared dead, has spoken (a keep-alive, or a hello of
 * hello.c): its links that waited are up. */
void revive(int nidx);

/* One frame of p's send child: 0, or -1 when it is not one it may say. */
int peer_report(struct peer *p, const char *body, size_t blen);

/* Frames of one of the listen child's streams, as far as they can go
 * (the run loop calls it again for a stream that waited for room). */
void process_listen(struct link *l);

#endif
