/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness of libcommon/fmt: fmt_next in the format the first
 * byte picks, over arbitrary bytes, then fmt_put of every record in all
 * three formats.  Checked: a record lies inside the input and has no
 * terminator inside; input received in two pieces gives the same records;
 * fmt_put never writes past fmt_bound; its output has the terminator only
 * at the end, reads back to the parts (splitting at TABs and undoing the
 * escapes), and says it escaped exactly when the rule says so; -N output
 * reads back to the same body; fmt_json's output is a valid JSON string
 * body in UTF-8 that reads back to the input when it is UTF-8; fmt_put_json
 * stays in its bound, is UTF-8, and its parts (or parts_b64) read back to
 * the message's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "frame.h"

#define MAXR 4096

struct recs {
	size_t nr;
	size_t off[MAXR], len[MAXR];
	size_t end;
	int err;
};

static char *
exact(const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	return (c);
}

/* Take records; bytes up to cut arrive first (eof not yet), then all. */
static void
take(enum fmt f, const char *p, size_t n, size_t cut, size_t max,
    struct recs *res)
{
	size_t at = 0;
	char term = f == FMT_NUL ? '\0' : '\n';

	res->nr = 0;
	res->err = 0;
	for (int phase = cut ? 0 : 1; phase < 2; phase++) {
		size_t arrived = phase == 0 ? cut : n;
		int eof = phase == 1;

		for (;;) {
			char *c = exact(p + at, arrived - at);
			const char *d;
			size_t len;
			ssize_t r;
			int e;

			errno = 0;
			r = fmt_next(f, c, arrived - at, eof, max, &d, &len);
			e = errno;
			if (r > 0 &&
			    (d < c || d + len > c + r ||
				(size_t)r > arrived - at || len > max))
				abort();
			if (r > 0 && f != FMT_NET) {
				if (d != c || memchr(d, term, len) != NULL)
					abort();
				if (!((size_t)r == len + 1 && c[len] == term) &&
				    !((size_t)r == len && eof && at + r == n))
					abort();
			}
			if (r > 0 && f == FMT_NET &&
			    frame_count_parts(d, len) < 0)
				abort();
			if (r > 0) {
				if (res->nr == MAXR)
					abort();
				res->off[res->nr] = at + (d - c);
				res->len[res->nr] = len;
				res->nr++;
				at += r;
			}
			free(c);
			if (r == 0)
				break;
			if (r < 0) {
				if (e != EMSGSIZE && e != EBADMSG)
					abort();
				res->err = e;
				res->end = at;
				return;
			}
		}
	}
	res->end = at;
}

/* Undo fmt's escapes in s[0..n) into out; -1 on a bad escape. */
static ssize_t
unescape(const char *s, size_t n, char *out)
{
	char *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == n)
			return (-1);
		switch (s[i]) {
		case '\\':
			*o++ = '\\';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case '0':
			*o++ = '\0';
			break;
		default:
			return (-1);
		}
	}
	return (o - out);
}

/* Check fmt_put's output in the line or NUL format against the parts. */
static void
check_text(enum fmt f, const char *out, size_t r, const char *body, size_t blen,
    int esc)
{
	char term = f == FMT_NUL ? '\0' : '\n';
	struct frame_iter it;
	const char *p, *t = out, *end = out + r - 1;
	size_t n, np = 0;
	int need = 0;

	if (r == 0 || out[r - 1] != term || memchr(out, term, r - 1) != NULL)
		abort();
	np = frame_count_parts(body, blen);
	frame_iter_init(&it, body, blen);
	while (frame_next_part(&it, &p, &n) == 1)
		if (memchr(p, term, n) || (np > 1 && memchr(p, '\t', n)))
			need = 1;
	if (esc != need)
		abort();
	if (np == 0) {
		if (r != 1)
			abort();
		return;
	}
	frame_iter_init(&it, body, blen);
	for (size_t i = 0; i < np; i++) {
		const char *tab;
		size_t fl;

		if (frame_next_part(&it, &p, &n) != 1)
			abort();
		if (np == 1)
			tab = end;
		else if ((tab = memchr(t, '\t', end - t)) == NULL)
			tab = end;
		if (i + 1 == np && tab != end)
			abort();
		fl = tab - t;
		if (esc) {
			char *u = malloc(fl ? fl : 1);
			ssize_t k = unescape(t, fl, u);

			if (k != (ssize_t)n || memcmp(u, p, n) != 0)
				abort();
			free(u);
		} else if (fl != n || memcmp(t, p, n) != 0)
			abort();
		t = tab + 1;
	}
}

/*
 * Read the JSON string inside o[0..k) back into b (which has room): its
 * length, or abort when it is not what fmt_json writes.
 */
static size_t
unjson(const char *o, size_t k, char *back)
{
	char *b = back;

	for (size_t i = 0; i < k; i++) {
		unsigned char c = o[i];

		if (c < 0x20 || c == '"')
			abort();
		if (c != '\\') {
			*b++ = c;
			continue;
		}
		if (++i == k)
			abort();
		switch (o[i]) {
		case '"':
			*b++ = '"';
			break;
		case '\\':
			*b++ = '\\';
			break;
		case 'n':
			*b++ = '\n';
			break;
		case 'r':
			*b++ = '\r';
			break;
		case 't':
			*b++ = '\t';
			break;
		case 'u': {
			unsigned v = 0;

			if (i + 4 >= k)
				abort();
			if (memcmp(o + i + 1, "fffd", 4) == 0) {
				memcpy(b, "\xef\xbf\xbd", 3);
				b += 3;
				i += 4;
				break;
			}
			if (o[i + 1] != '0' || o[i + 2] != '0')
				abort();
			for (int j = 3; j <= 4; j++) {
				char h = o[i + j];

				if (h >= '0' && h <= '9')
					v = v * 16 + h - '0';
				else if (h >= 'a' && h <= 'f')
					v = v * 16 + h - 'a' + 10;
				else
					abort();
			}
			*b++ = v;
			i += 4;
			break;
		}
		default:
			abort();
		}
	}
	return (b - back);
}

static void
check_json(const char *p, size_t n)
{
	char *o = malloc(6 * n + 1), *back = malloc(6 * n + 1);
	size_t k = fmt_json(o, p, n), bl;

	if (k > 6 * n || !fmt_utf8_ok(o, k))
		abort();
	bl = unjson(o, k, back);
	if (fmt_utf8_ok(p, n) && (bl != n || memcmp(back, p, n) != 0))
		abort();
	if (!fmt_utf8_ok(back, bl))
		abort();
	free(o);
	free(back);
}

static int
unb64(int c)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *f = c ? strchr(a, c) : NULL;

	return (f ? (int)(f - a) : -1);
}

/* fmt_put_json of a body of parts: read its parts back, compare. */
static void
check_put_json(const char *body, size_t blen)
{
	char *out = malloc(fmt_json_bound(blen) + 3), *back = malloc(blen + 8);
	ssize_t r = fmt_put_json(out, "{\"k\":", 5, body, blen);
	struct frame_iter it;
	const char *p, *q, *end;
	size_t n;
	int b64;

	if (r == -1)
		abort(); /* the callers give a sequence of parts */
	if ((size_t)r > fmt_json_bound(blen) + 5 || !fmt_utf8_ok(out, r) ||
	    memcmp(out + r - 3, "]}\n", 3) != 0)
		abort();
	b64 = memcmp(out + 5, "\"parts_b64\":[", 13) == 0;
	if (!b64 && memcmp(out + 5, "\"parts\":[", 9) != 0)
		abort();
	q = out + 5 + (b64 ? 13 : 9);
	end = out + r - 3;
	frame_iter_init(&it, body, blen);
	while (frame_next_part(&it, &p, &n) == 1) {
		const char *close;
		size_t bl = 0;

		if (*q == ',')
			q++;
		if (*q++ != '"')
			abort();
		/* the closing quote: the first one not escaped */
		for (close = q; close < end && *close != '"'; close++)
			if (*close == '\\')
				close++;
		if (close >= end)
			abort();
		if (b64) {
			unsigned v = 0;
			int bits = 0;

			if ((close - q) % 4 != 0)
				abort();
			for (const char *c = q; c < close && *c != '='; c++) {
				int d = unb64(*c);

				if (d < 0)
					abort();
				v = v << 6 | d;
				if ((bits += 6) >= 8) {
					bits -= 8;
					back[bl++] = (char)(v >> bits);
				}
			}
		} else {
			bl = unjson(q, close - q, back);
		}
		if (bl != n || memcmp(back, p, n) != 0)
			abort();
		q = close + 1;
	}
	if (q != end)
		abort();
	free(out);
	free(back);
}

static void
check_put(const char *body, size_t blen, const char *part, size_t plen)
{
	for (int g = FMT_LINE; g <= FMT_NET; g++) {
		char *out = malloc(fmt_bound(blen)), *b = exact(body, blen);
		int esc = 0;
		ssize_t r = fmt_put(g, out, b, blen, &esc);

		if (r <= 0 || (size_t)r > fmt_bound(blen))
			abort();
		if (g == FMT_NET) {
			const char *d;
			size_t len;

			check_put_json(body, blen);

			if (esc ||
			    fmt_next(FMT_NET, out, r, 1, blen, &d, &len) != r ||
			    len != blen || memcmp(d, body, blen) != 0)
				abort();
		} else
			check_text(g, out, r, body, blen, esc);
		/* A one-part message: fmt_put_part writes the same. */
		if (part != NULL) {
			char *o2 = malloc(fmt_bound(plen)),
			     *pc = exact(part, plen);
			int esc2 = 0;
			size_t r2 = fmt_put_part(g, o2, pc, plen, &esc2);

			if (r2 > fmt_bound(plen) || r2 != (size_t)r ||
			    memcmp(o2, out, r) != 0 || esc2 != esc)
				abort();
			free(o2);
			free(pc);
		}
		free(out);
		free(b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recs all, split;
	const char *p = (const char *)data + 2;
	enum fmt f;
	size_t n, cut, max;

	if (size < 2)
		return (0);
	n = size - 2;
	f = data[0] % 3;
	cut = n ? (data[0] / 3) * n / 85 : 0;
	if (cut > n)
		cut = n;
	max = data[1] < 250 ? data[1] : 1 << 20;

	take(f, p, n, 0, max, &all);
	take(f, p, n, cut, max, &split);
	if (all.nr != split.nr || all.end != split.end || all.err != split.err)
		abort();
	for (size_t i = 0; i < all.nr; i++) {
		const char *d = p + all.off[i];
		size_t len = all.len[i];

		if (split.off[i] != all.off[i] || split.len[i] != len)
			abort();
		if (f == FMT_NET) {
			struct frame_iter it;
			const char *q;
			size_t qn;

			frame_iter_init(&it, d, len);
			if (frame_count_parts(d, len) == 1 &&
			    frame_next_part(&it, &q, &qn) == 1)
				check_put(d, len, q, qn);
			else
				check_put(d, len, NULL, 0);
		} else {
			char *body = malloc(frame_size(len));

			frame_put(body, d, len);
			check_put(body, frame_size(len), d, len);
			free(body);
		}
		check_json(d, len);
	}
	return (0);
}
