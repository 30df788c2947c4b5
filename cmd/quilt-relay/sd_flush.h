/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The flush that installs a new view (sd_view.h has its frames): the
 * proposal this relay follows, and, on the relay that proposed it (the
 * lowest name of the candidates), its coordination: the members' old
 * views gathered, each sent what of its old view it lacks and where the
 * regular part ends, their memberships merged into the new table, sent
 * in chunks, and each member's "done" awaited.
 *
 * sd_view.c, above, keeps the members' side and hands the coordinator
 * the frames addressed to it; a frame to ourselves goes back up through
 * the function flush_init was given.
 */
#ifndef QUILT_RELAY_SD_FLUSH_H
#define QUILT_RELAY_SD_FLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "relay.h"

/* Local memberships and the table go in chunks of about this many bytes. */
#define FLUSH_CHUNK (60 * 1024)
#define FLUSH_CHUNKS_MAX 1024
/* A step of the flush not answered is asked again this often. */
#define FLUSH_RETRY_MS 500

/* The newest proposal we follow: its epoch, coordinator and members. */
struct sd_prop {
	uint64_t pe;
	int pc; /* its coordinator, a node index */
	int pn;
	short pm[NODES_MAX];
	char pinst[NODES_MAX][WIRE_INST_MAX + 1];
	uint64_t top_epoch; /* the newest epoch seen */
};

extern struct sd_prop P;

/* Chunks received: a bit each. */
static inline int
bget(const uint8_t *b, int i)
{
	return (b[i / 8] >> (i % 8) & 1);
}

static inline void
bset(uint8_t *b, int i)
{
	b[i / 8] |= 1 << (i % 8);
}

/* Forget the coordination and the proposal; frames to node 0 (us) go to
 * self_in. */
void flush_init(int (*self_in)(int origin, const char *parts, size_t plen));

/* A frame of the flush to node (0: us, at once). */
void flush_send(int node, int n, const char *const *p, const size_t *l,
    const char *raw, size_t rawlen);

/* The head of a flush frame, VERB, NE, NC (ebuf: 24 bytes); 3 parts. */
int flush_head(const char **p, size_t *l, const char *verb, char *ebuf);

/* FNV-1a, for tags and the membership's proc_id. */
uint32_t flush_fnv(const void *p, size_t n, uint32_t h);

/* The tag of view (epoch e, coordinator c). */
uint32_t flush_tag(uint64_t e, const char *c);

/* The instance of relay node as its link state says (ours for 0). */
const char *flush_inst(int node);

/* The member of the proposal that relay node is, or -1. */
int flush_member(int node);

/* We coordinate: start a proposal of these relays (by name, we first),
 * or stop (a newer coordinator). */
void coord_start(const short *mem, int n);
void coord_reset(void);
int coord_active(void);

/* We coordinate the proposal of exactly these relays. */
int coord_proposes(const short *mem, int n);

/* The frames to the coordinator, after NE and NC (the proposal we
 * follow): fmsg (OE, OC, GSEQ, then the record), fstate, fmemb, fdone. */
void coord_msg(int origin, uint64_t oe, const char *oc, size_t ocl,
    uint64_t gseq, const char *rec, size_t n);
void coord_state(int origin, struct frame_iter *it);
void coord_memb(int origin, struct frame_iter *it);
void coord_done(int origin);

/* Of member k: the first of its events the new view's sequencer
 * expects. */
uint64_t coord_pend(int k);

/* Whoever has not answered is asked again. */
void coord_tick(long long now, long long *next);

#endif
