/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/fmt: the three formats of standard input and
 * output (lines, -0 records, -N netstrings), the escaping rule of DESIGN.md
 * section 2, fmt_bound and fmt_json.  TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "frame.h"
#include "tcase.h"

/* fmt_next on an exact copy; *off is where the data starts. */
static ssize_t
next(enum fmt f, const char *s, size_t n, int eof, size_t max, size_t *off,
    size_t *len)
{
	char *c = tc_exact(s, n);
	const char *d = NULL;
	ssize_t r;

	*off = *len = (size_t)-1;
	errno = 0;
	r = fmt_next(f, c, n, eof, max, &d, len);
	if (r > 0)
		*off = d - c;
	free(c);
	return (r);
}

/* Take all the records of s[0..n) at eof; returns their count or -1. */
static int
records(enum fmt f, const char *s, size_t n, size_t max, size_t *offs,
    size_t *lens)
{
	size_t at = 0;
	int k = 0;

	for (;;) {
		size_t off, len;
		ssize_t r = next(f, s + at, n - at, 1, max, &off, &len);

		if (r == 0)
			return (k);
		if (r < 0)
			return (-1);
		offs[k] = at + off;
		lens[k] = len;
		k++;
		at += r;
	}
}

static int
t_lines(void)
{
	size_t off, len, offs[8], lens[8];

	CHECK(next(FMT_LINE, "abc\n", 4, 0, 100, &off, &len) == 4 && off == 0 &&
	    len == 3);
	CHECK(next(FMT_LINE, "abc", 3, 0, 100, &off, &len) == 0);
	CHECK(next(FMT_LINE, "", 0, 0, 100, &off, &len) == 0);
	CHECK(next(FMT_LINE, "", 0, 1, 100, &off, &len) == 0);
	/* An empty line is an empty part. */
	CHECK(next(FMT_LINE, "\nx\n", 3, 0, 100, &off, &len) == 1 && len == 0);
	/* A last line without LF counts at eof. */
	CHECK(next(FMT_LINE, "abc", 3, 1, 100, &off, &len) == 3 && len == 3);
	CHECK(records(FMT_LINE, "a\n\nbc\nd", 7, 100, offs, lens) == 4);
	CHECK(lens[0] == 1 && lens[1] == 0 && lens[2] == 2 && lens[3] == 1);
	CHECK(offs[2] == 3 && offs[3] == 6);
	CHECK(records(FMT_LINE, "a\n\n", 3, 100, offs, lens) == 2);
	/* NUL and TAB are data in a line. */
	CHECK(
	    next(FMT_LINE, "a\0\tb\n", 5, 0, 100, &off, &len) == 5 && len == 4);
	/* max bytes are fine, one more is EMSGSIZE, with or without LF. */
	CHECK(next(FMT_LINE, "abcd\n", 5, 0, 4, &off, &len) == 5 && len == 4);
	CHECK(next(FMT_LINE, "abcd", 4, 0, 4, &off, &len) == 0);
	CHECK(next(FMT_LINE, "abcd", 4, 1, 4, &off, &len) == 4);
	CHECK(next(FMT_LINE, "abcde\n", 6, 0, 4, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(next(FMT_LINE, "abcde", 5, 0, 4, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(next(FMT_LINE, "abcde", 5, 1, 4, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(next(FMT_LINE, "\n", 1, 0, 0, &off, &len) == 1 && len == 0);
	CHECK(next(FMT_LINE, "a\n", 2, 0, 0, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	return (0);
}

static int
t_nul(void)
{
	size_t off, len, offs[8], lens[8];

	CHECK(next(FMT_NUL, "abc\0", 4, 0, 100, &off, &len) == 4 && len == 3);
	CHECK(next(FMT_NUL, "a\nb\0", 4, 0, 100, &off, &len) == 4 && len == 3);
	CHECK(next(FMT_NUL, "a\nb\n", 4, 0, 100, &off, &len) == 0);
	CHECK(next(FMT_NUL, "a\nb\n", 4, 1, 100, &off, &len) == 4 && len == 4);
	CHECK(next(FMT_NUL, "\0", 1, 0, 100, &off, &len) == 1 && len == 0);
	CHECK(records(FMT_NUL, "x\0\0yz", 5, 100, offs, lens) == 3);
	CHECK(lens[0] == 1 && lens[1] == 0 && lens[2] == 2 && offs[2] == 3);
	CHECK(next(FMT_NUL, "abcd\0", 5, 0, 4, &off, &len) == 5);
	CHECK(next(FMT_NUL, "abcde\0", 6, 0, 4, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(next(FMT_NUL, "abcde", 5, 1, 4, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	return (0);
}

static int
t_net(void)
{
	size_t off, len, offs[8], lens[8];

	CHECK(next(FMT_NET, "9:3:abc,0:,,", 12, 0, 100, &off, &len) == 12 &&
	    off == 2 && len == 9);
	CHECK(next(FMT_NET, "0:,", 3, 0, 100, &off, &len) == 3 && len == 0);
	/* The body must be parts. */
	CHECK(next(FMT_NET, "3:abc,", 6, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "4:1:a,,", 7, 0, 100, &off, &len) == 7);
	CHECK(next(FMT_NET, "5:1:a,x,", 8, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "4:2:a,,", 7, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	/* Malformed netstrings. */
	CHECK(next(FMT_NET, "01:a,", 5, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "4:1:a,;", 7, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "abc\n", 4, 0, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	/* Cut at eof. */
	CHECK(next(FMT_NET, "9:3:abc,", 8, 0, 100, &off, &len) == 0);
	CHECK(next(FMT_NET, "9:3:abc,", 8, 1, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "9", 1, 1, 100, &off, &len) == -1 &&
	    errno == EBADMSG);
	CHECK(next(FMT_NET, "", 0, 1, 100, &off, &len) == 0);
	/* Over max, known from the digits. */
	CHECK(next(FMT_NET, "101:", 4, 0, 100, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(next(FMT_NET, "1000", 4, 0, 100, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(
	    records(FMT_NET, "4:1:a,,0:,6:0:,0:,,", 19, 100, offs, lens) == 3);
	CHECK(lens[0] == 4 && lens[1] == 0 && lens[2] == 6 && offs[2] == 12);
	return (0);
}

/* fmt_put of the message of parts, into a block of fmt_bound bytes. */
static int
put(enum fmt f, const char *const *parts, size_t np, char *out, size_t *n,
    int *escaped)
{
	char body[4096], *o = body, *w;
	ssize_t r;

	for (size_t i = 0; i < np; i++)
		o = frame_put(o, parts[i], strlen(parts[i]));
	w = malloc(fmt_bound(o - body));
	r = fmt_put(f, w, body, o - body, escaped);
	if (r >= 0) {
		if ((size_t)r > fmt_bound(o - body))
			abort();
		memcpy(out, w, r);
		*n = r;
	}
	free(w);
	return (r < 0 ? -1 : 0);
}

/* A table of messages (parts split at '|', since NUL can't be in a C
 * string the character '@' stands for NUL) and what each format writes. */
/* clang-format off */
static const struct {
	const char *parts;
	const char *line, *nul;	/* '@' for NUL */
	int esc_line, esc_nul;
} outs[] = {
	{ "abc", "abc\n", "abc@", 0, 0 },
	{ "", "\n", "@", 0, 0 },
	{ "a|b", "a\tb\n", "a\tb@", 0, 0 },
	{ "a||c", "a\t\tc\n", "a\t\tc@", 0, 0 },
	{ "|", "\t\n", "\t@", 0, 0 },
	/* A TAB in a one-part message is fine. */
	{ "a\tb", "a\tb\n", "a\tb@", 0, 0 },
	/* A backslash alone is written as it is. */
	{ "a\\b", "a\\b\n", "a\\b@", 0, 0 },
	{ "a\\b|c", "a\\b\tc\n", "a\\b\tc@", 0, 0 },
	/* LF: escaped in lines, not in -0. */
	{ "a\nb", "a\\nb\n", "a\nb@", 1, 0 },
	{ "a\n\\\tb", "a\\n\\\\\\tb\n", "a\n\\\tb@", 1, 0 },
	{ "x|a\nb", "x\ta\\nb\n", "x\ta\nb@", 1, 0 },
	/* NUL: escaped in -0, not in lines. */
	{ "a@b", "a@b\n", "a\\0b@", 0, 1 },
	{ "a@\\b|c", "a@\\b\tc\n", "a\\0\\\\b\tc@", 0, 1 },
	/* TAB in a message of several parts: escaped in both. */
	{ "a\tb|c", "a\\tb\tc\n", "a\\tb\tc@", 1, 1 },
	{ "a\\|b\t", "a\\\\\tb\\t\n", "a\\\\\tb\\t@", 1, 1 },
	{ "a|b\n@\\", "a\tb\\n\\0\\\\\n", "a\tb\\n\\0\\\\@", 1, 1 },
};
/* clang-format on */

/* "a|b" to an array of parts, '@' to NUL; lens in plens. */
static size_t
split(const char *s, char store[][64], size_t *plens)
{
	size_t np = 0, k = 0;

	for (const char *c = s;; c++) {
		if (*c == '|' || *c == '\0') {
			plens[np++] = k;
			k = 0;
			if (*c == '\0')
				break;
			continue;
		}
		store[np][k++] = *c == '@' ? '\0' : *c;
	}
	return (np);
}

static void
unat(char *dst, const char *s, size_t *n)
{
	*n = strlen(s);
	for (size_t i = 0; i < *n; i++)
		dst[i] = s[i] == '@' ? '\0' : s[i];
}

static int
t_put(void)
{
	static const enum fmt fmts[3] = {FMT_LINE, FMT_NUL, FMT_NET};

	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		char store[8][64], body[1024], *o = body, want[256], *w;
		size_t plens[8], np = split(outs[i].parts, store, plens), wn;

		for (size_t k = 0; k < np; k++)
			o = frame_put(o, store[k], plens[k]);
		for (int fi = 0; fi < 3; fi++) {
			enum fmt f = fmts[fi];
			int esc = 0, wesc;
			ssize_t r;

			if (f == FMT_NET) {
				wn = frame_put(want, body, o - body) - want;
				wesc = 0;
			} else {
				unat(want,
				    f == FMT_LINE ? outs[i].line : outs[i].nul,
				    &wn);
				wesc = f == FMT_LINE ? outs[i].esc_line :
						       outs[i].esc_nul;
			}
			w = malloc(fmt_bound(o - body));
			r = fmt_put(f, w, body, o - body, &esc);
			CHECKF(r == (ssize_t)wn && memcmp(w, want, wn) == 0,
			    "message %zu format %d: %zd bytes \"%.*s\"", i, fi,
			    r, r > 0 ? (int)r : 0, w);
			CHECKF(esc == wesc, "message %zu format %d: escaped %d",
			    i, fi, esc);
			/* *escaped is never cleared. */
			esc = 1;
			CHECK(fmt_put(f, w, body, o - body, &esc) == r &&
			    esc == 1);
			free(w);

			/* A one-part message through fmt_put_part too. */
			if (np == 1) {
				esc = 0;
				w = malloc(fmt_bound(plens[0]));
				if (f == FMT_NET)
					wn = frame_put(want, body, o - body) -
					    want;
				r = fmt_put_part(f, w, store[0], plens[0],
				    &esc);
				CHECKF(r == (ssize_t)wn &&
					memcmp(w, want, wn) == 0,
				    "part %zu format %d", i, fi);
				CHECK(esc == wesc);
				free(w);
			}
		}
	}
	return (0);
}

static int
t_put_net(void)
{
	static const char *p2[] = {"all", "say", "hi"};
	char out[256];
	size_t n;
	int esc = 0;

	CHECK(put(FMT_NET, p2, 3, out, &n, &esc) == 0);
	CHECK(n == 21 && memcmp(out, "17:3:all,3:say,2:hi,,", 21) == 0);
	CHECK(esc == 0);
	CHECK(fmt_put_part(FMT_NET, out, "abc", 3, &esc) == 9 &&
	    memcmp(out, "6:3:abc,,", 9) == 0);
	CHECK(fmt_put_part(FMT_NET, out, "", 0, &esc) == 6 &&
	    memcmp(out, "3:0:,,", 6) == 0);
	CHECK(fmt_put_part(FMT_NET, out, "\n\0\t", 3, &esc) == 9 &&
	    memcmp(out, "6:3:\n\0\t,,", 9) == 0 && esc == 0);
	/* What fmt_put writes in -N, fmt_next reads back. */
	{
		const char *d;
		size_t len;

		CHECK(put(FMT_NET, p2, 3, out, &n, &esc) == 0);
		CHECK(
		    fmt_next(FMT_NET, out, n, 0, 100, &d, &len) == (ssize_t)n);
		CHECK(len == 17 && memcmp(d, "3:all,3:say,2:hi,", 17) == 0);
		CHECK(put(FMT_NET, NULL, 0, out, &n, &esc) == 0);
		CHECK(n == 3 && memcmp(out, "0:,", 3) == 0);
	}
	return (0);
}

static int
t_put_bad(void)
{
	static const char *bad[] = {"abc", "3:abc", "3:abc,x", "01:a,", "2:a,",
	    "1:a,1", ":,"};
	char out[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int f = FMT_LINE; f <= FMT_NET; f++) {
			char *b = tc_exact(bad[i], strlen(bad[i]));
			int esc = 0;

			errno = 0;
			CHECKF(fmt_put(f, out, b, strlen(bad[i]), &esc) == -1 &&
				errno == EBADMSG,
			    "\"%s\" format %d", bad[i], f);
			free(b);
		}
	}
	return (0);
}

static int
t_bound(void)
{
	static const char alpha[] = {'a', '\\', '\n', '\t', '\0', ':', ',',
	    '0'};
	char parts[64][64];
	size_t plens[64];

	for (int k = 0; k < 20000; k++) {
		size_t np = tc_rand(k % 10 == 0 ? 60 : 6), n = 0, bl;
		char body[64 * 80], *o = body, *out;

		for (size_t i = 0; i < np; i++) {
			/* Often empty parts: the TABs cost the most then. */
			plens[i] = tc_rand(3) == 0 ? 0 : tc_rand(40);
			for (size_t b = 0; b < plens[i]; b++)
				parts[i][b] = k % 3 == 0 ?
				    '\\' :
				    alpha[tc_rand(sizeof(alpha))];
			o = frame_put(o, parts[i], plens[i]);
		}
		bl = o - body;
		for (int f = FMT_LINE; f <= FMT_NET; f++) {
			int esc = 0;
			ssize_t r;

			out = malloc(fmt_bound(bl));
			r = fmt_put(f, out, body, bl, &esc);
			CHECKF(r > 0 && (size_t)r <= fmt_bound(bl),
			    "%zd of %zu", r, fmt_bound(bl));
			free(out);
			if (np >= 1) {
				out = malloc(fmt_bound(plens[0]));
				n = fmt_put_part(f, out, parts[0], plens[0],
				    &esc);
				CHECK(n > 0 && n <= fmt_bound(plens[0]));
				free(out);
			}
		}
	}
	/* The worst cases: all backslashes, many empty parts. */
	{
		char body[3 * 1000], *o = body, *out;
		int esc;

		for (int i = 0; i < 1000; i++)
			o = frame_put(o, "", 0);
		out = malloc(fmt_bound(o - body));
		CHECK(fmt_put(FMT_LINE, out, body, o - body, &esc) == 1000);
		free(out);
		memset(body, '\\', 1000);
		out = malloc(fmt_bound(1000));
		CHECK(
		    fmt_put_part(FMT_LINE, out, body, 1000, &esc) == 1000 + 1);
		body[0] = '\n';
		CHECK(fmt_put_part(FMT_LINE, out, body, 1000, &esc) == 2001);
		CHECK(fmt_put_part(FMT_NET, out, body, 1000, &esc) ==
		    frame_size(frame_size(1000)));
		free(out);
	}
	return (0);
}

/* Read a JSON string's inside back to bytes; -1 if it is not valid. */
static ssize_t
unjson(const char *s, size_t n, char *out)
{
	char *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c == '"')
			return (-1);
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (++i == n)
			return (-1);
		switch (s[i]) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			unsigned v = 0;

			if (i + 4 >= n)
				return (-1);
			for (int k = 1; k <= 4; k++) {
				char h = s[i + k];

				v = v * 16 +
				    (h >= '0' && h <= '9' ? h - '0' :
					    h >= 'a' && h <= 'f' ?
							    h - 'a' + 10 :
					    h >= 'A' && h <= 'F' ?
							    h - 'A' + 10 :
							    99);
				if (v > 0xffff)
					return (-1);
			}
			if (v == 0xfffd) {
				/* fmt_json's replacement, as UTF-8 */
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
				i += 4;
				break;
			}
			if (v > 0xff)
				return (-1); /* fmt_json only escapes bytes */
			*o++ = v;
			i += 4;
			break;
		}
		default:
			return (-1);
		}
	}
	return (o - out);
}

static int
t_json(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} c[] = {
		{ "abc", 3, "abc" },
		{ "", 0, "" },
		{ "a\"b", 3, "a\\\"b" },
		{ "a\\b", 3, "a\\\\b" },
		{ "\n\r\t", 3, "\\n\\r\\t" },
		{ "\0", 1, "\\u0000" },
		{ "\x01\x1f", 2, "\\u0001\\u001f" },
		{ "\b\f", 2, "\\u0008\\u000c" },
		{ "\x7f", 1, "\\u007f" },
		{ " ~/", 3, " ~/" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		/* not UTF-8: each byte of it is U+FFFD */
		{ "a\xff" "b", 3, "a\\ufffdb" },
		{ "\xc3", 1, "\\ufffd" },
		{ "\xc0\x80", 2, "\\ufffd\\ufffd" },
		{ "\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd" },
		{ "\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd" },
		{ "\xe2\x82\xac\xf0\x9f\x98\x80", 7, "\xe2\x82\xac\xf0\x9f\x98\x80" },
	};
	/* clang-format on */
	char out[64], back[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = fmt_json(out, c[i].in, c[i].n);

		CHECKF(n == strlen(c[i].out) && memcmp(out, c[i].out, n) == 0,
		    "case %zu: \"%.*s\"", i, (int)n, out);
	}
	/* Every byte: valid inside quotes, reads back the same, 6x bound. */
	for (int k = 0; k < 256; k++) {
		char b = (char)k;
		size_t n = fmt_json(out, &b, 1);

		CHECK(n >= 1 && n <= 6);
		if ((unsigned char)b < 0x80)
			CHECK(unjson(out, n, back) == 1 && back[0] == b);
		else
			CHECK(n == 6 && memcmp(out, "\\ufffd", 6) == 0);
	}
	{
		char in[256], *o = malloc(6 * 256), *r = malloc(256);
		size_t n;

		for (int i = 0; i < 128; i++)
			in[i] = (char)i;
		n = fmt_json(o, in, 128);
		CHECK(n <= 6 * 128);
		CHECK(unjson(o, n, r) == 128 && memcmp(r, in, 128) == 0);
		free(o);
		free(r);
	}
	return (0);
}

static int
t_utf8(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		size_t n;
		int ok;
	} c[] = {
		{ "", 0, 1 }, { "abc", 3, 1 }, { "\0", 1, 1 },
		{ "caf\xc3\xa9", 5, 1 }, { "\xe2\x82\xac", 3, 1 },
		{ "\xf0\x9f\x98\x80", 4, 1 }, { "\xf4\x8f\xbf\xbf", 4, 1 },
		{ "\xef\xbf\xbf", 3, 1 }, { "\xed\x9f\xbf", 3, 1 },
		{ "\x80", 1, 0 }, { "\xff", 1, 0 }, { "\xc3", 1, 0 },
		{ "\xc3(", 2, 0 }, { "\xc0\x80", 2, 0 }, { "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\x80", 3, 0 }, { "\xe0\x9f\xbf", 3, 0 },
		{ "\xed\xa0\x80", 3, 0 }, { "\xf0\x8f\xbf\xbf", 4, 0 },
		{ "\xf4\x90\x80\x80", 4, 0 }, { "\xf5\x80\x80\x80", 4, 0 },
		{ "\xe2\x82", 2, 0 }, { "a\xe2\x82\xac" "b\xe2", 6, 0 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		CHECKF(fmt_utf8_ok(c[i].in, c[i].n) == c[i].ok, "case %zu", i);
	return (0);
}

static int
t_base64(void)
{
	/* RFC 4648's test vectors, and every byte. */
	static const char *v[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="},
	    {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"}};
	char out[400], all[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = fmt_base64(out, v[i][0], strlen(v[i][0]));

		CHECKF(n == strlen(v[i][1]) && memcmp(out, v[i][1], n) == 0 &&
			n == fmt_b64_len(strlen(v[i][0])),
		    "case %zu", i);
	}
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	CHECK(fmt_base64(out, all, 256) == fmt_b64_len(256));
	CHECK(memcmp(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44) ==
	    0);
	CHECK(memcmp(out + 336, "/P3+/w==", 8) == 0);
	return (0);
}

static int
t_put_json(void)
{
	/* clang-format off */
	static const struct {
		const char *body;
		const char *out;
	} c[] = {
		{ "8:5:hello,", "{\"k\":1,\"parts\":[\"hello\"]}\n" },
		{ "9:1:a,2:b\",,", "{\"k\":1,\"parts\":[\"a\",\"b\\\"\"]}\n" },
		{ "0:", NULL },
		{ "3:0:,,", "{\"k\":1,\"parts\":[\"\"]}\n" },
		/* one part not UTF-8: every part in base64 */
		{ "9:1:a,2:\xff\xfe,", "{\"k\":1,\"parts_b64\":[\"YQ==\",\"//4=\"]}\n" },
		{ "4:1:\x80,", "{\"k\":1,\"parts_b64\":[\"gA==\"]}\n" },
		{ "5:2:\xc3\xa9,", "{\"k\":1,\"parts\":[\"\xc3\xa9\"]}\n" },
	};
	/* clang-format on */
	char out[256];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *b = c[i].body;
		const char *colon = strchr(b, ':');
		size_t blen = strtoul(b, NULL, 10);
		ssize_t n = fmt_put_json(out, "{\"k\":1,", 7, colon + 1, blen);

		if (c[i].out == NULL) {
			/* "0:" is not a netstring of parts: an empty body,
			 * fine; a body of garbage is not. */
			CHECK(n > 0);
			continue;
		}
		CHECKF(n == (ssize_t)strlen(c[i].out) &&
			memcmp(out, c[i].out, n) == 0 &&
			(size_t)n <= fmt_json_bound(blen) + 7,
		    "case %zu: %.*s", i, (int)(n > 0 ? n : 0), out);
	}
	errno = 0;
	CHECK(fmt_put_json(out, "{", 1, "1:a", 3) == -1 && errno == EBADMSG);
	return (0);
}

static int
t_roundtrip_lines(void)
{
	/* An unescaped one-part message written in lines reads back whole. */
	static const char *msgs[] = {"hello", "", "a\tb", "a\\nb", "x y z"};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		char out[64];
		size_t n, off, len;
		int esc = 0;

		n = fmt_put_part(FMT_LINE, out, msgs[i], strlen(msgs[i]), &esc);
		CHECK(esc == 0);
		CHECK(next(FMT_LINE, out, n, 0, 100, &off, &len) == (ssize_t)n);
		CHECK(len == strlen(msgs[i]) && memcmp(out, msgs[i], len) == 0);
		n = fmt_put_part(FMT_NUL, out, msgs[i], strlen(msgs[i]), &esc);
		CHECK(next(FMT_NUL, out, n, 0, 100, &off, &len) == (ssize_t)n);
		CHECK(len == strlen(msgs[i]));
	}
	return (0);
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "lines: LF-terminated, last one at eof, empty line, max",
	    t_lines },
	{ "-0: NUL-terminated records", t_nul },
	{ "-N: netstrings of parts; malformed, cut, oversize", t_net },
	{ "fmt_put/fmt_put_part exact outputs and the escaping rule",
	    t_put },
	{ "-N output is the netstring of the body", t_put_net },
	{ "a body that is not parts is EBADMSG in every format", t_put_bad },
	{ "fmt_bound is never exceeded", t_bound },
	{ "fmt_json escaping; not UTF-8 is U+FFFD", t_json },
	{ "fmt_utf8_ok: RFC 3629, overlongs, surrogates, cut", t_utf8 },
	{ "fmt_base64: RFC 4648 vectors", t_base64 },
	{ "fmt_put_json: parts, or parts_b64 when not UTF-8", t_put_json },
	{ "what fmt_put writes, fmt_next reads back", t_roundtrip_lines },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
