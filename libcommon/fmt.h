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
 * Write p[0..len) as the inside of a JSON string (no quotes), escaping what
 * JSON requires; out needs 6 * len bytes.  Returns the bytes written.
 */
size_t fmt_json(char *out, const char *p, size_t len);

/* The warning to print once when fmt_put escaped something. */
#define FMT_ESCAPED_WARNING                                                    \
	"some messages were escaped; use -N for lossless output"

#endif
