/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "fmt.h"

#include <errno.h>
#include <string.h>

#include "frame.h"

ssize_t
fmt_next(enum fmt f, const char *p, size_t n, int eof, size_t max,
    const char **data, size_t *len)
{
	const char *e;
	ssize_t r;

	if (f == FMT_NET) {
		r = frame_parse(p, n, max, data, len);
		if (r == 0 && eof && n > 0) {
			errno = EBADMSG; /* cut in the middle */
			return (-1);
		}
		if (r > 0 && frame_count_parts(*data, *len) == -1) {
			errno = EBADMSG;
			return (-1);
		}
		return (r);
	}
	if (n == 0)
		return (0);
	e = memchr(p, f == FMT_LINE ? '\n' : '\0', n < max + 1 ? n : max + 1);
	if (e == NULL) {
		if (n > max) {
			errno = EMSGSIZE;
			return (-1);
		}
		if (!eof || n == 0)
			return (0);
		*data = p;
		*len = n;
		return (n);
	}
	*data = p;
	*len = e - p;
	return (e - p + 1);
}

static size_t
put_escaped(char *out, const char *p, size_t len)
{
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		switch (p[i]) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\0':
			*o++ = '\\';
			*o++ = '0';
			break;
		default:
			*o++ = p[i];
		}
	}
	return (o - out);
}

size_t
fmt_put_part(enum fmt f, char *out, const char *p, size_t len, int *escaped)
{
	char term = f == FMT_NUL ? '\0' : '\n';
	size_t n;

	if (f == FMT_NET) {
		/* A one-part message: the netstring of the netstring. */
		size_t inner = frame_size(len);
		char *o = out + frame_put_hdr(out, inner);

		o = frame_put(o, p, len);
		*o++ = ',';
		return (o - out);
	}
	if (memchr(p, term, len) == NULL) {
		memcpy(out, p, len);
		out[len] = term;
		return (len + 1);
	}
	*escaped = 1;
	n = put_escaped(out, p, len);
	out[n] = term;
	return (n + 1);
}

/*
 * Lines and NUL records: the parts (after first, when there is one)
 * joined by TABs, every part escaped when any of them holds a TAB or the
 * terminator.
 */
static ssize_t
put_joined(enum fmt f, char *out, const char *first, size_t firstlen,
    const char *body, size_t len, int *escaped)
{
	struct frame_iter it;
	const char *p;
	size_t n;
	char term = f == FMT_NUL ? '\0' : '\n';
	char *o = out;
	int r, esc = 0, i = 0;

	if (first != NULL &&
	    (memchr(first, term, firstlen) != NULL ||
		memchr(first, '\t', firstlen) != NULL))
		esc = 1;
	frame_iter_init(&it, body, len);
	while ((r = frame_next_part(&it, &p, &n)) == 1)
		if (memchr(p, term, n) != NULL || memchr(p, '\t', n) != NULL)
			esc = 1;
	if (r == -1)
		return (-1);
	frame_iter_init(&it, body, len);
	for (;;) {
		if (first != NULL) {
			p = first;
			n = firstlen;
			first = NULL;
		} else if (frame_next_part(&it, &p, &n) != 1) {
			break;
		}
		if (i++ > 0)
			*o++ = '\t';
		if (esc) {
			o += put_escaped(o, p, n);
		} else {
			memcpy(o, p, n);
			o += n;
		}
	}
	*o++ = term;
	if (esc)
		*escaped = 1;
	return (o - out);
}

ssize_t
fmt_put(enum fmt f, char *out, const char *body, size_t len, int *escaped)
{
	struct frame_iter it;
	const char *p;
	size_t n;

	if (f == FMT_NET) {
		if (frame_count_parts(body, len) == -1)
			return (-1);
		return (frame_put(out, body, len) - out);
	}
	/* Common case first: one part. */
	frame_iter_init(&it, body, len);
	if (frame_next_part(&it, &p, &n) == 1 && it.n == 0)
		return (fmt_put_part(f, out, p, n, escaped));

	return (put_joined(f, out, NULL, 0, body, len, escaped));
}

ssize_t
fmt_put_from(enum fmt f, char *out, const char *from, size_t fromlen,
    const char *body, size_t len, int *escaped)
{
	char *o;

	if (f == FMT_NET) {
		if (frame_count_parts(body, len) == -1)
			return (-1);
		o = out + frame_put_hdr(out, frame_size(fromlen) + len);
		o = frame_put(o, from, fromlen);
		memcpy(o, body, len);
		o += len;
		*o++ = ',';
		return (o - out);
	}
	return (put_joined(f, out, from, fromlen, body, len, escaped));
}

/*
 * The length of the UTF-8 sequence that starts p[0..n): 1 to 4, or 0 when
 * it is not valid (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF, no cut sequence).
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t k;

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return (0);
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < k || p[1] < lo || p[1] > hi)
		return (0);
	for (size_t i = 2; i < k; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (k);
}

int
fmt_utf8_ok(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, k;

	while (i < len) {
		/* ASCII runs, the common case, a byte at a time. */
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(u + i, len - i)) == 0)
			return (0);
		i += k;
	}
	return (1);
}

size_t
fmt_json(char *out, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	char *o = out;
	size_t k;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];

		switch (c) {
		case '"':
			*o++ = '\\';
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 15];
				o += 6;
			} else if (c < 0x80) {
				*o++ = c;
			} else if ((k = utf8_seq(u + i, len - i)) == 0) {
				/* Not UTF-8: the replacement character. */
				memcpy(o, "\\ufffd", 6);
				o += 6;
			} else {
				memcpy(o, u + i, k);
				o += k;
				i += k - 1;
			}
		}
	}
	return (o - out);
}

const char *
fmt_json_str(char *out, size_t cap, const char *s, size_t len)
{
	if (len > (cap - 1) / 6)
		len = (cap - 1) / 6;
	out[fmt_json(out, s, len)] = '\0';
	return (out);
}

size_t
fmt_base64(char *out, const char *p, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)p;
	char *o = out;
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned v = u[i] << 16 | u[i + 1] << 8 | u[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		unsigned v = u[i] << 16 | (i + 1 < len ? u[i + 1] << 8 : 0);

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return (o - out);
}

ssize_t
fmt_put_json(char *out, const char *head, size_t headlen, const char *body,
    size_t len)
{
	struct frame_iter it;
	const char *p;
	size_t n;
	int text = 1, first = 1, r;
	char *o = out;

	/* Text only when every part is UTF-8: one field, one type. */
	frame_iter_init(&it, body, len);
	while ((r = frame_next_part(&it, &p, &n)) == 1)
		if (text && !fmt_utf8_ok(p, n))
			text = 0;
	if (r == -1) {
		errno = EBADMSG;
		return (-1);
	}
	memcpy(o, head, headlen);
	o += headlen;
	memcpy(o, text ? "\"parts\":[" : "\"parts_b64\":[", text ? 9 : 13);
	o += text ? 9 : 13;
	frame_iter_init(&it, body, len);
	while (frame_next_part(&it, &p, &n) == 1) {
		if (!first)
			*o++ = ',';
		first = 0;
		*o++ = '"';
		o += text ? fmt_json(o, p, n) : fmt_base64(o, p, n);
		*o++ = '"';
	}
	memcpy(o, "]}\n", 3);
	return (o + 3 - out);
}
