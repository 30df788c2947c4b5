/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "sd_sess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "seal.h"

struct sd_sessions SS;

/* Spread's rule: a private name is unique among this daemon's sessions. */
static int
claim(void *arg, const char *name, size_t len)
{
	struct sd_sess *me = arg;

	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (s != me && s->used && s->sd.claimed &&
		    strlen(s->sd.name) == len &&
		    memcmp(s->sd.name, name, len) == 0)
			return (-1);
	}
	return (0);
}

int
sess_init(const char *daemon)
{
	memset(&SS, 0, sizeof(SS));
	for (int i = 0; i < SD_SESS_MAX; i++)
		SS.s[i].fd = -1;
	if (strlen(daemon) > SPREAD_MAX_PROC)
		return (-1);
	snprintf(SS.daemon, sizeof(SS.daemon), "%s", daemon);
	SS.conf.daemon = SS.daemon;
	/* The version Spread 5.0.1 announces: clients check it. */
	SS.conf.major = 5;
	SS.conf.minor = 0;
	SS.conf.patch = 1;
	SS.conf.methods = "NULL ";
	SS.conf.claim = claim;
	return (0);
}

int
sess_new(int fd)
{
	struct sd_sess *s;
	unsigned char r[2];
	int i;

	for (i = 0; i < SD_SESS_MAX && SS.s[i].used; i++)
		;
	if (i == SD_SESS_MAX)
		return (-1);
	s = &SS.s[i];
	{
		unsigned gen = s->gen + 1;

		memset(s, 0, sizeof(*s));
		s->gen = gen;
	}
	s->fd = -1;
	if ((s->ends = calloc(2 * SD_QUEUE_MSGS + 1, sizeof(*s->ends))) ==
		NULL ||
	    buf_init(&s->in, 0, SPREADD_IN_MAX + 65536) == -1 ||
	    buf_init(&s->out, 0, 2 * SD_QUEUE_BYTES + SPREADD_IN_MAX + 4096) ==
		-1) {
		free(s->ends);
		buf_free(&s->in);
		return (-1);
	}
	/* An invented name: a random number, and a number of our own, as
	 * Spread makes it of its own and the socket's. */
	seal_random(r, sizeof(r));
	(void)spreadd_init(&s->sd, &SS.conf, s,
	    ((unsigned)r[0] << 8 | r[1]) % 9999, SS.invent_k++ % 1000);
	s->fd = fd;
	s->used = 1;
	s->deadline = net_now_ms() + SD_HELLO_MS;
	if (i >= SS.n)
		SS.n = i + 1;
	SS.live++;
	sdc.sessions++;
	return (i);
}

void
sess_close(int i)
{
	struct sd_sess *s = &SS.s[i];

	if (s->fd == -1)
		return;
	close(s->fd);
	s->fd = -1;
	free(s->ends);
	s->ends = NULL;
	s->qcount = 0;
	if (s->congested) {
		s->congested = 0;
		SS.congested--;
	}
	buf_free(&s->in);
	buf_free(&s->out);
	SS.live--;
}

void
sess_release(int i)
{
	struct sd_sess *s = &SS.s[i];

	sess_close(i);
	s->used = 0;
	s->open = 0;
	s->sd.claimed = 0;
	while (SS.n > 0 && !SS.s[SS.n - 1].used)
		SS.n--;
}

char *
sess_reserve(int i, size_t n)
{
	struct sd_sess *s = &SS.s[i];

	if (s->drop)
		return (NULL);
	if (s->qcount == 2 * SD_QUEUE_MSGS ||
	    buf_len(&s->out) + n > 2 * SD_QUEUE_BYTES + SPREADD_IN_MAX ||
	    (buf_room(&s->out) < n && buf_reserve(&s->out, n) == -1)) {
		s->drop = 1;
		s->why = "it does not read: its queue is full";
		return (NULL);
	}
	return (buf_tail(&s->out));
}

void
sess_commit(int i, size_t n)
{
	struct sd_sess *s = &SS.s[i];

	s->out.end += n;
	s->queued += n;
	s->ends[(s->qhead + s->qcount++) % (2 * SD_QUEUE_MSGS + 1)] = s->queued;
	if (!s->congested &&
	    (s->qcount >= SD_QUEUE_MSGS ||
		buf_len(&s->out) >= SD_QUEUE_BYTES)) {
		s->congested = 1;
		s->stalled_at = net_now_ms();
		SS.congested++;
	}
}

/* Its queue was written from: congested no more, or not stalled. */
static void
progress(struct sd_sess *s)
{
	if (!s->congested)
		return;
	s->stalled_at = net_now_ms();
	if (s->qcount < SD_QUEUE_MSGS / 2 &&
	    buf_len(&s->out) < SD_QUEUE_BYTES / 2) {
		s->congested = 0;
		SS.congested--;
	}
}

int
sess_flush(int i)
{
	struct sd_sess *s = &SS.s[i];
	ssize_t w;

	if (buf_len(&s->out) == 0)
		return (0);
	if ((w = buf_drain(&s->out, s->fd)) == -1)
		return (errno == EAGAIN ? 0 : -1);
	s->written += w;
	while (s->qcount > 0 && s->ends[s->qhead] <= s->written) {
		s->qhead = (s->qhead + 1) % (2 * SD_QUEUE_MSGS + 1);
		s->qcount--;
	}
	if (w > 0)
		progress(s);
	return (0);
}

int
sess_by_group(const char *name, size_t len)
{
	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (s->fd != -1 && s->open && s->sd.group_len == len &&
		    memcmp(s->sd.group, name, len) == 0)
			return (i);
	}
	return (-1);
}

int
sess_by_group_any(const char *name, size_t len)
{
	for (int i = 0; i < SS.n; i++) {
		struct sd_sess *s = &SS.s[i];

		if (s->used && s->open && s->sd.group_len == len &&
		    memcmp(s->sd.group, name, len) == 0)
			return (i);
	}
	return (-1);
}
