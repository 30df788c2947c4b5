/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The three formats of standard input and output, the same in every
 * program: lines (one part per LF-terminated line), NUL-terminated records
 * (-0), and netstrings (-N: one message is one netstring whose body is the
 * netstrings of its parts).
 *
 * Output in the line and NUL formats joins the parts of a message with TABs.
 * A message is written as it is unless a part holds a byte the format cannot
 * carry (LF in lines, NUL in -0, TAB in a part of a message of several
 * parts); then the whole message is escaped: '\\' as "\\\\", LF as "\\n",
 * TAB as "\\t", NUL as "\\0".  -N is lossless.
 */
#ifndef QUILT_FMT_H
#define QUILT_FMT_H

#include <stddef.h>
#include <sys/types.h>

enum fmt { FMT_LINE, FMT_NUL, FMT_NET };

/*
 * Take the next input message from p[0..n).  In the line and NUL formats
 * the message has one part, the record without its terminator; with eof
 * set, a last record without a terminator counts.  In -N the message is a
 * netstring whose body must be a sequence of parts.  Returns the bytes taken
 * (> 0) with *data and *len pointing into p (the part, or the body of parts);
 * 0 when more input is needed (or, at eof, when there is none left); -1 with
 * errno EMSGSIZE for a record over max, EBADMSG for a malformed netstring.
 */
ssize_t fmt_next(enum fmt f, const char *p, size_t n, int eof, size_t max,
    const char **data, size_t *len);

/* The byte that ends each output message: LF, NUL, or -1 for -N. */
static inline int
fmt_term(enum fmt f)
{
	return (f == FMT_LINE ? '\n' : f == FMT_NUL ? '\0' : -1);
}

/* The most bytes fmt_put or fmt_put_part may write for len bytes of input. */
static inline size_t
fmt_bound(size_t len)
{
	return (2 * len + 24);
}

/*
 * Write the message whose body of parts is body[0..len) in format f at out
 * (which has fmt_bound(len) bytes).  Returns the bytes written, or -1 with
 * EBADMSG when the body is not a sequence of parts.  Sets *escaped when it
 * had to escape the message.
 */
ssize_t fmt_put(enum fmt f, char *out, const char *body, size_t len,
    int *escaped);

/*
 * The same for the message [from, parts of body...]: a relay's output, the
 * sender's name first (fmt_bound(fromlen + len + 16) bytes at out).
 */
ssize_t fmt_put_from(enum fmt f, char *out, const char *from, size_t fromlen,
    const char *body, size_t len, int *escaped);

/* Same for a message of the one part p[0..len). */
size_t fmt_put_part(enum fmt f, char *out, const char *p, size_t len,
    int *escaped);

/*
 * JSON (-j).  Whatever the bytes, what these write is valid JSON text in
 * UTF-8, which any parser takes.
 *
 * fmt_json: p[0..len) as the inside of a JSON string (no quotes), escaping
 * what JSON requires; a byte that is not part of valid UTF-8 becomes
 * U+FFFD, so this is for names and text that may be shown altered; out
 * needs 6 * len bytes.  Returns the bytes written.
 */
size_t fmt_json(char *out, const char *p, size_t len);

/* Whether p[0..len) is valid UTF-8 (RFC 3629). */
int fmt_utf8_ok(const char *p, size_t len);

/*
 * fmt_json into out[0..cap) with a NUL after it, of at most (cap - 1) / 6
 * bytes of s (names are short); returns out, for printf's "%s".
 */
const char *fmt_json_str(char *out, size_t cap, const char *s, size_t len);

/* p[0..len) in base64 (RFC 4648, padded); out needs fmt_b64_len(len). */
size_t fmt_base64(char *out, const char *p, size_t len);
static inline size_t
fmt_b64_len(size_t len)
{
	return ((len + 2) / 3 * 4);
}

/*
 * -j: the message whose body of parts is body[0..len), as one JSON line:
 * head[0..headlen) (the object's start and its other fields, "{...,"),
 * then "parts":["...",...] when every part is valid UTF-8, else
 * "parts_b64":["base64",...] (nothing is altered), then "}" and LF.  out
 * needs fmt_json_bound(len) + headlen bytes.  Returns the bytes written, or
 * -1 with EBADMSG when the body is not a sequence of parts.
 */
ssize_t fmt_put_json(char *out, const char *head, size_t headlen,
    const char *body, size_t len);
static inline size_t
fmt_json_bound(size_t len)
{
	/* a part of n bytes takes n + 3 or more of len ("0:,") and at most
	 * 6n + 3 of the output (quotes and comma) */
	return (6 * len + 32);
}

/* The warning to print once when fmt_put escaped something. */
#define FMT_ESCAPED_WARNING                                                    \
	"some messages were escaped; use -N for lossless output"

#endif
