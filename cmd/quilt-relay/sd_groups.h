/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The Spread daemon's groups: each with its members (private groups, in
 * Spread's canonical order: by daemon, that is by relay name, then by
 * name) and its group id; the ordered events applied to them, with what
 * each local session is to receive: regular messages (one copy per
 * connection, none to a sender that asked for self-discard) and
 * membership messages (only to sessions that asked for them).
 */
#ifndef QUILT_RELAY_SD_GROUPS_H
#define QUILT_RELAY_SD_GROUPS_H

#include <stdint.h>
#include <stdio.h>

#include "sd.h"
#include "spreadd.h"

struct sd_member {
	char name[SPREAD_GROUP_SIZE]; /* "#private#daemon" */
	int sess; /* a session of ours, or -1 */
	uint32_t vtag; /* the view it was in before the last change */
};

struct sd_group {
	char name[SPREAD_GROUP_SIZE];
	struct spreadd_gid gid;
	int netchg; /* it lost members in the view change under way */
	int seen; /* in the new view's table */
	struct sd_member *m;
	int n, cap;
};

struct sd_groups {
	struct sd_group *g; /* SD_GROUPS_MAX slots, by hash */
	int ngroups, nmembers;
	uint64_t stamp; /* of the last delivery: once per session */
	/* The membership id of the daemons' current view. */
	int32_t proc_id, time;
	/* Names of a group's members, for the membership messages. */
	const char **names;
	int namescap;
	int big; /* our byte order */
};

extern struct sd_groups GR;

/* -1 ENOMEM.  Again: the groups before are freed. */
int groups_init(int32_t proc_id, int32_t time);
void groups_free(void);

/* Apply an ordered event; from: the sender's session here, or -1. */
void groups_apply(const struct sd_ev *e, int from);

/* The group of that name, or NULL. */
struct sd_group *group_find(const char *name, size_t len);

/*
 * A view change: the relays for which lost(daemon, len) says so are gone.
 * Each group that had members there: TRANSITION to its local members, the
 * members removed (its new membership comes with groups_install).
 */
void groups_transition(int (*lost)(const char *daemon, size_t len));

/* A member of the new view's table: its group, its name, the tag of the
 * view it came from. */
struct sd_entry {
	struct mesh_str group, member;
	uint32_t vtag;
	struct spreadd_gid gid; /* the group's id in the new view */
};

/*
 * Install the new view's table (n entries, by group, then in canonical
 * order, each with the group's id in the new view): the local members of
 * each group whose members changed here get a CAUSED_BY_NETWORK membership
 * with one set per view its members came from.
 */
void groups_install(const struct sd_entry *e, int n, int32_t proc,
    int32_t time);

/* Our local memberships, for a view change: fn(arg, group, member) for
 * each; stops when fn returns -1. */
int groups_local(int (*fn)(void *, const struct sd_group *, const char *),
    void *arg);

/* The text (or -j) lines of "-Q groups": a group, its members. */
void groups_show(FILE *f, int json);

#endif
