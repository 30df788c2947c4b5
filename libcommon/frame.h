/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Netstrings (DJB): a decimal length without leading zeros, ':', the bytes,
 * ','.  A message is a netstring whose body is a sequence of netstrings, its
 * parts, which fill the body exactly: ["all","say","hi"] is
 * "17:3:all,3:say,2:hi,,".  This is the one frame format of quilt, on pipes
 * and on the wire.
 *
 * The parser works on whatever bytes have arrived: called again on the same
 * bytes plus more, it gives the same answer, so any split of the input gives
 * the same frames.  Nothing here allocates.
 */
#ifndef QUILT_FRAME_H
#define QUILT_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* The longest length prefix: 10 digits and the colon. */
#define FRAME_HDR_MAX 11
/* The largest limit a frame may have (lengths are read into 10 digits). */
#define FRAME_LIMIT_MAX (1024UL * 1024 * 1024)

/*
 * Parse one netstring at p[0..n).  Returns the bytes it takes (> 0) and
 * points *body and *len into p; 0 when more bytes are needed; -1 with errno
 * EMSGSIZE when the length exceeds max (known while its digits are read,
 * before any body arrives), EBADMSG when it is malformed (no digits, a
 * leading zero, a byte other than a digit before ':', no ',' after the body).
 */
ssize_t frame_parse(const char *p, size_t n, size_t max, const char **body,
    size_t *len);

/* Walk the parts of a message body. */
struct frame_iter {
	const char *p;
	size_t n;
};

static inline void
frame_iter_init(struct frame_iter *it, const char *body, size_t len)
{
	it->p = body;
	it->n = len;
}

/*
 * The next part: 1 with *part and *len set, 0 at the end of the body, -1 with
 * errno EBADMSG when the parts do not fill the body exactly.
 */
int frame_next_part(struct frame_iter *it, const char **part, size_t *len);

/* Check that a body is a sequence of parts; returns their count or -1. */
int frame_count_parts(const char *body, size_t len);

/* Decimal digits of v. */
static inline size_t
frame_digits(uint64_t v)
{
	size_t d = 1;

	while (v >= 100) {
		v /= 100;
		d += 2;
	}
	return (d + (v >= 10));
}

/* Bytes a netstring of a body of len bytes takes. */
static inline size_t
frame_size(size_t len)
{
	return (frame_digits(len) + 1 + len + 1);
}

/*
 * v in decimal, its frame_digits(v) digits ending just before end: two
 * digits a division (frame headers and the relay's ids are on hot paths).
 */
static inline void
frame_put_dec(char *end, uint64_t v)
{
	static const char d2[] = "0001020304050607080910111213141516171819"
				 "2021222324252627282930313233343536373839"
				 "4041424344454647484950515253545556575859"
				 "6061626364656667686970717273747576777879"
				 "8081828384858687888990919293949596979899";

	for (; v >= 100; v /= 100) {
		end -= 2;
		memcpy(end, d2 + 2 * (v % 100), 2);
	}
	if (v >= 10)
		memcpy(end - 2, d2 + 2 * v, 2);
	else
		end[-1] = '0' + v;
}

/* Write "len:" at out; returns the bytes written (at most FRAME_HDR_MAX). */
static inline size_t
frame_put_hdr(char *out, size_t len)
{
	size_t d = frame_digits(len);

	frame_put_dec(out + d, len);
	out[d] = ':';
	return (d + 1);
}

/* Write the whole netstring of p[0..len) at out; returns the end. */
static inline char *
frame_put(char *out, const void *p, size_t len)
{
	out += frame_put_hdr(out, len);
	memcpy(out, p, len);
	out[len] = ',';
	return (out + len + 1);
}

/* Same, for a NUL-terminated string. */
static inline char *
frame_put_str(char *out, const char *s)
{
	return (frame_put(out, s, strlen(s)));
}

/*
 * A frame whose body is the n parts p[i] of len[i] bytes (len NULL: the
 * parts are strings).  Returns its size; writes it at out only when it fits
 * in cap.
 */
size_t frame_putv(char *out, size_t cap, int n, const char *const *p,
    const size_t *len);

/*
 * v in decimal at out (up to 20 digits and a NUL); returns the digits.
 * For the hot paths, where snprintf costs more than the rest.
 */
static inline size_t
frame_u64(char *out, uint64_t v)
{
	size_t n = frame_digits(v);

	frame_put_dec(out + n, v);
	out[n] = '\0';
	return (n);
}

/* Parse a whole part as a decimal number in [0, max]; -1 if it is not. */
int frame_part_num(const char *p, size_t len, unsigned long long max,
    unsigned long long *v);

#endif
