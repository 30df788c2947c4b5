/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Reader of the annotated Spread captures in tests/spread/vectors/, for the
 * unit test (t_spread) and the scripted peer (spread-peer).  Header only, so
 * each program includes its own copy; not a helper program of its own.
 *
 * A capture holds TCP connections; each shows its two reassembled byte
 * streams under "Decoded client->daemon stream (N bytes):" and "Decoded
 * daemon->client stream (N bytes):", as hex dump lines
 * "      0000  05 00 01 ...  |...|" with "^ ..." annotation lines after the
 * bytes they describe.  We keep the bytes and the annotations, each with the
 * stream length at the point it was written.
 */
#ifndef SPREAD_VEC_H
#define SPREAD_VEC_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vec_note {
	size_t at; /* stream bytes before it */
	char *text; /* after "^ " */
};

struct vec_stream {
	uint8_t *b;
	size_t len, cap;
	size_t declared; /* "(N bytes)" */
	struct vec_note *notes;
	size_t nnotes, notecap;
};

struct vec_conn {
	struct vec_stream s[2]; /* 0: client->daemon, 1: daemon->client */
};

struct vec_file {
	struct vec_conn *c;
	int n;
};

static void
vec_push(struct vec_stream *s, uint8_t v)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->b = realloc(s->b, s->cap);
		if (s->b == NULL)
			abort();
	}
	s->b[s->len++] = v;
}

static void
vec_note(struct vec_stream *s, const char *text)
{
	size_t l = strlen(text);

	if (s->nnotes == s->notecap) {
		s->notecap = s->notecap ? 2 * s->notecap : 32;
		s->notes = realloc(s->notes, s->notecap * sizeof(*s->notes));
		if (s->notes == NULL)
			abort();
	}
	while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == '\r'))
		l--;
	s->notes[s->nnotes].at = s->len;
	s->notes[s->nnotes].text = strndup(text, l);
	s->nnotes++;
}

static int
vec_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* A hex dump line: spaces, 4 hex digits, 2 spaces, pairs, then '|'. */
static int
vec_dump_line(struct vec_stream *s, const char *l)
{
	const char *p = l;
	int i;

	while (*p == ' ')
		p++;
	if (p - l < 4)
		return (0);
	for (i = 0; i < 4; i++)
		if (vec_hex(p[i]) < 0)
			return (0);
	p += 4;
	if (p[0] != ' ' || p[1] != ' ')
		return (0);
	p += 2;
	while (vec_hex(p[0]) >= 0 && vec_hex(p[1]) >= 0 && p[2] == ' ') {
		vec_push(s, vec_hex(p[0]) << 4 | vec_hex(p[1]));
		p += 3;
	}
	return (1);
}

/* 0 on success, -1 if the file cannot be read. */
static int
vec_load(const char *path, struct vec_file *vf)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	struct vec_stream *cur = NULL;

	memset(vf, 0, sizeof(*vf));
	if (f == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p;
		int dir = -1;

		if (strncmp(line, "Decoded client->daemon stream", 29) == 0)
			dir = 0;
		else if (strncmp(line, "Decoded daemon->client", 22) == 0)
			dir = 1;
		if (dir == 0 || (dir == 1 && vf->n == 0)) {
			vf->c = realloc(vf->c, (vf->n + 1) * sizeof(*vf->c));
			if (vf->c == NULL)
				abort();
			memset(&vf->c[vf->n], 0, sizeof(vf->c[0]));
			vf->n++;
		}
		if (dir >= 0) {
			cur = &vf->c[vf->n - 1].s[dir];
			p = strchr(line, '(');
			cur->declared = p ? strtoul(p + 1, NULL, 10) : 0;
			continue;
		}
		if (cur == NULL)
			continue;
		if (line[0] != ' ' && line[0] != '\n') {
			cur = NULL; /* "Connection control", "=====" */
			continue;
		}
		for (p = line; *p == ' '; p++)
			;
		if (p[0] == '^' && p[1] == ' ')
			vec_note(cur, p + 2);
		else
			vec_dump_line(cur, line);
	}
	fclose(f);
	return (0);
}

static void
vec_free(struct vec_file *vf)
{
	for (int i = 0; i < vf->n; i++)
		for (int d = 0; d < 2; d++) {
			struct vec_stream *s = &vf->c[i].s[d];

			for (size_t j = 0; j < s->nnotes; j++)
				free(s->notes[j].text);
			free(s->notes);
			free(s->b);
		}
	free(vf->c);
	memset(vf, 0, sizeof(*vf));
}

/*
 * The first note in (lo, hi] of stream s that starts with prefix, or NULL.
 * *from lets a caller walk repeated notes (start it at 0).
 */
__attribute__((unused)) static const char *
vec_find(const struct vec_stream *s, size_t lo, size_t hi, const char *prefix,
    size_t *from)
{
	size_t pl = strlen(prefix);

	for (size_t i = from ? *from : 0; i < s->nnotes; i++)
		if (s->notes[i].at > lo && s->notes[i].at <= hi &&
		    strncmp(s->notes[i].text, prefix, pl) == 0) {
			if (from)
				*from = i + 1;
			return (s->notes[i].text + pl);
		}
	return (NULL);
}

#endif
