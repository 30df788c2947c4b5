/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Spread requests written as text (spread.h): what sp-join -i reads, one
 * record a request, checked whole, with a message that names what is
 * wrong.
 */
#include "spread.h"

#include "frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Requests written as text. */

struct word {
	const char *p;
	size_t n;
};

/* The words of the parts form go up to here: one more says "too many". */
#define REQ_WORDS 6
/* A quoted word: 40 bytes of it, each up to 4 ("\\xHH"), quotes, "...". */
#define REQ_QUOTE (2 + 40 * 4 + 3 + 1)

/*
 * Split a record into at most REQ_WORDS words.  Text form: at single
 * spaces, the fifth word being the rest of the record.  Parts form: one
 * word a part.  Returns the count, or -1 when the parts do not fill the
 * body.
 */
static int
req_words(const char *p, size_t n, int parts, struct word *w)
{
	struct frame_iter it;
	const char *sp;
	int k = 0;

	if (parts) {
		frame_iter_init(&it, p, n);
		while (k < REQ_WORDS) {
			int r = frame_next_part(&it, &w[k].p, &w[k].n);

			if (r == 0)
				return (k);
			if (r == -1)
				return (-1);
			k++;
		}
		return (k);
	}
	if (n == 0)
		return (0);
	while (k < 4 && (sp = memchr(p, ' ', n)) != NULL) {
		w[k].p = p;
		w[k++].n = sp - p;
		n -= sp - p + 1;
		p = sp + 1;
	}
	w[k].p = p;
	w[k++].n = n;
	return (k);
}

/* A word as a C string literal for a message: quoted, escaped, cut. */
static void
req_quote(char *out, size_t cap, const char *p, size_t n)
{
	size_t o = 0, i;

	out[o++] = '"';
	/* Each byte takes up to 4; the end up to 5 ("\"...\0"). */
	for (i = 0; i < n && i < 40 && o + 4 + 5 <= cap; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o++] = '"';
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int __attribute__((format(printf, 3, 4)))
req_fail(struct spread_req *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	errno = err;
	return (-1);
}

static int
word_is(const struct word *w, const char *s)
{
	return (w->n == strlen(s) && memcmp(w->p, s, w->n) == 0);
}

static int
req_service(const struct word *w, uint32_t *service)
{
	static const char sd[] = "+self-discard";
	char name[16];
	const char *plus = memchr(w->p, '+', w->n);
	size_t n = plus ? (size_t)(plus - w->p) : w->n;

	if (n >= sizeof(name) ||
	    (plus &&
		!(w->n - n == strlen(sd) && memcmp(plus, sd, w->n - n) == 0)))
		return (-1);
	memcpy(name, w->p, n);
	name[n] = '\0';
	if ((*service = spread_service_parse(name)) == 0)
		return (-1);
	if (plus)
		*service |= SPREAD_SELF_DISCARD;
	return (0);
}

static int
req_type(const struct word *w, int *type)
{
	size_t i = w->n > 0 && w->p[0] == '-';
	long v = 0;

	if (i == w->n || w->n - i > 6)
		return (-1);
	for (; i < w->n; i++) {
		if (w->p[i] < '0' || w->p[i] > '9')
			return (-1);
		v = v * 10 + (w->p[i] - '0');
	}
	if (w->p[0] == '-')
		v = -v;
	if (v < -32768 || v > 32767)
		return (-1);
	*type = v;
	return (0);
}

/* One group name into r->groups[i]; dest: a private group will do. */
static int
req_group(struct spread_req *r, int i, const char *p, size_t n, int dest)
{
	char q[REQ_QUOTE];

	if (dest ? !spread_dest_valid(p, n) : !spread_group_valid(p, n)) {
		req_quote(q, sizeof(q), p, n);
		return (req_fail(r, EINVAL,
		    "group %s: ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'%s",
		    q, dest ? ", or a private group #name#daemon" : ""));
	}
	memcpy(r->groups[i], p, n);
	r->groups[i][n] = '\0';
	r->group[i] = r->groups[i];
	return (0);
}

static int
req_dests(struct spread_req *r, const struct word *w)
{
	const char *p = w->p, *end = w->p + w->n, *c;
	int count = 1;

	for (c = p; (c = memchr(c, ',', end - c)) != NULL; c++)
		count++;
	if (count > SPREAD_MAX_GROUPS) {
		return (req_fail(r, EINVAL,
		    "%d groups: ILLEGAL_GROUP: at most %d groups per message",
		    count, SPREAD_MAX_GROUPS));
	}
	for (r->ngroups = 0; r->ngroups < count; r->ngroups++) {
		if ((c = memchr(p, ',', end - p)) == NULL)
			c = end;
		if (req_group(r, r->ngroups, p, c - p, 1) == -1)
			return (-1);
		p = c + 1;
	}
	return (0);
}

int
spread_req_parse(const char *p, size_t n, int parts, struct spread_req *r)
{
	struct word w[REQ_WORDS];
	char q[REQ_QUOTE];
	int k = req_words(p, n, parts, w);
	size_t max;

	r->kind = SPREAD_REQ_NONE;
	r->ngroups = 0;
	r->data = NULL;
	r->len = 0;
	r->why[0] = '\0';
	if (k == -1)
		return (req_fail(r, EINVAL, "not a sequence of parts"));
	if (k == 0)
		return (0);
	if (word_is(&w[0], "join") || word_is(&w[0], "leave")) {
		int join = w[0].p[0] == 'j';

		if (k != 2)
			return (req_fail(r, EINVAL,
			    "%s takes one group: %s GROUP",
			    join ? "join" : "leave", join ? "join" : "leave"));
		if (req_group(r, 0, w[1].p, w[1].n, 0) == -1)
			return (-1);
		r->ngroups = 1;
		r->kind = join ? SPREAD_REQ_JOIN : SPREAD_REQ_LEAVE;
		return (0);
	}
	if (!word_is(&w[0], "msg")) {
		req_quote(q, sizeof(q), w[0].p, w[0].n);
		return (req_fail(r, EINVAL,
		    "unknown command %s: join, leave or msg", q));
	}
	if (k < 4 || k > 5)
		return (req_fail(r, EINVAL,
		    "msg takes a service, a type, groups and a text: msg SERVICE TYPE GROUP[,GROUP...] TEXT"));
	if (req_service(&w[1], &r->service) == -1) {
		req_quote(q, sizeof(q), w[1].p, w[1].n);
		return (req_fail(r, EINVAL,
		    "service %s: ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without",
		    q));
	}
	if (req_type(&w[2], &r->mess_type) == -1) {
		req_quote(q, sizeof(q), w[2].p, w[2].n);
		return (req_fail(r, EINVAL,
		    "message type %s: must be -32768..32767", q));
	}
	if (req_dests(r, &w[3]) == -1)
		return (-1);
	/* No text: an empty one at the end of the record, never NULL. */
	r->data = k == 5 ? w[4].p : p + n;
	r->len = k == 5 ? w[4].n : 0;
	max = SPREAD_MAX_BODY - (size_t)r->ngroups * SPREAD_GROUP_SIZE;
	if (r->len > max) {
		return (req_fail(r, EMSGSIZE,
		    "MESSAGE_TOO_LONG: %zu bytes at most to %d group%s (32 x groups + data <= %d)",
		    max, r->ngroups, r->ngroups > 1 ? "s" : "",
		    SPREAD_MAX_BODY));
	}
	r->kind = SPREAD_REQ_MSG;
	return (0);
}
