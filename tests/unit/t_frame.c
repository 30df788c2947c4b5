/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/frame: the netstring codec.  Messages of parts
 * round-trip; any split of a stream gives the same frames; a length over the
 * limit is refused while its digits are read; malformed lengths, bodies and
 * parts are EBADMSG.  Small inputs are parsed from blocks of their exact
 * size, so that a read past the end shows under SAN=address.  TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "tcase.h"

/* frame_parse on an exact copy of s[0..n). */
static ssize_t
parse(const char *s, size_t n, size_t max, size_t *off, size_t *len)
{
	char *c = tc_exact(s, n);
	const char *body = NULL;
	ssize_t r;

	*off = *len = (size_t)-1;
	errno = 0;
	r = frame_parse(c, n, max, &body, len);
	if (r > 0)
		*off = body - c;
	free(c);
	return (r);
}

static ssize_t
parses(const char *s, size_t max, size_t *off, size_t *len)
{
	return (parse(s, strlen(s), max, off, len));
}

/* Encode a message of np parts at out; returns its size. */
static size_t
encode(char *out, const char *const *parts, const size_t *lens, size_t np)
{
	size_t body = 0;
	char *o;

	for (size_t i = 0; i < np; i++)
		body += frame_size(lens[i]);
	o = out + frame_put_hdr(out, body);
	for (size_t i = 0; i < np; i++)
		o = frame_put(o, parts[i], lens[i]);
	*o++ = ',';
	return (o - out);
}

/* Parts of assorted lengths across the digit boundaries, binary bytes. */
static char partbuf[12][20000];
static size_t partlen[12];

static void
make_parts(void)
{
	static const size_t lens[12] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999,
	    10000, 3, 2};

	for (int i = 0; i < 12; i++) {
		partlen[i] = lens[i];
		for (size_t k = 0; k < lens[i]; k++)
			partbuf[i][k] = (char)tc_rand(256);
	}
	/* Bytes that mean something in the format, inside a part. */
	memcpy(partbuf[10], "1:,", 3);
	memcpy(partbuf[11], ":,", 2);
}

static int
t_roundtrip(void)
{
	static char msg[200000];
	const char *parts[12];
	size_t lens[12];

	make_parts();
	/* Messages of 0 to 12 parts, each set starting at a different part. */
	for (size_t np = 0; np <= 12; np++) {
		for (size_t first = 0; first < 12; first++) {
			struct frame_iter it;
			const char *body, *p;
			size_t n, len, size, i;
			ssize_t r;

			for (i = 0; i < np; i++) {
				parts[i] = partbuf[(first + i) % 12];
				lens[i] = partlen[(first + i) % 12];
			}
			size = encode(msg, parts, lens, np);
			errno = 0;
			r = frame_parse(msg, size, size, &body, &len);
			CHECKF(r == (ssize_t)size, "np %zu: %zd of %zu", np, r,
			    size);
			CHECK(body > msg && body + len + 1 == msg + size);
			CHECK(frame_size(len) == size);
			CHECK(frame_count_parts(body, len) == (int)np);
			frame_iter_init(&it, body, len);
			for (i = 0; i < np; i++) {
				CHECK(frame_next_part(&it, &p, &n) == 1);
				CHECKF(n == lens[i] &&
					memcmp(p, parts[i], n) == 0,
				    "part %zu of %zu", i, np);
			}
			CHECK(frame_next_part(&it, &p, &n) == 0);
			CHECK(frame_next_part(&it, &p, &n) == 0);
			/* The limit is the body's length: exactly at it. */
			CHECK(frame_parse(msg, size, len, &body, &len) ==
			    (ssize_t)size);
			if (len > 0) {
				errno = 0;
				CHECK(frame_parse(msg, size, len - 1, &body,
					  &n) == -1 &&
				    errno == EMSGSIZE);
			}
		}
	}
	/* The example of DESIGN.md. */
	{
		const char *p3[] = {"all", "say", "hi"};
		size_t l3[] = {3, 3, 2};

		CHECK(encode(msg, p3, l3, 3) == 21);
		CHECK(memcmp(msg, "17:3:all,3:say,2:hi,,", 21) == 0);
	}
	return (0);
}

/* A stream of messages and where each frame's body lies in it. */
struct stream {
	char *p;
	size_t n, nf;
	size_t off[64], len[64], size[64];
};

static void
make_stream(struct stream *s, int big)
{
	const char *parts[4];
	size_t lens[4], n = 0;
	/* clang-format off */
	static const size_t shapes[][4] = {
		{ 1, 0 }, { 2, 10, 3 }, { 1, 9 }, { 0 }, { 3, 0, 0, 0 },
		{ 1, 999 }, { 1, 995 }, { 2, 99, 100 }, { 1, 1 },
		{ 1, 9999 }, { 1, 9990 }, { 1, 2 }, { 2, 3, 11 },
	};
	/* clang-format on */
	size_t nshapes = sizeof(shapes) / sizeof(shapes[0]);

	s->p = malloc(200000);
	s->nf = 0;
	for (size_t k = 0; k < nshapes; k++) {
		size_t np = shapes[k][0];
		int large = 0;

		for (size_t i = 0; i < np; i++) {
			lens[i] = shapes[k][i + 1];
			if (lens[i] >= 900)
				large = 1;
			parts[i] = partbuf[i % 12];
			if (lens[i] > 20000)
				abort();
		}
		if (large && !big)
			continue;
		for (size_t i = 0; i < np; i++) {
			char *q = malloc(lens[i] + 1);

			for (size_t b = 0; b < lens[i]; b++)
				q[b] = "0123456789:,x"[tc_rand(13)];
			parts[i] = q;
		}
		{
			size_t sz = encode(s->p + n, parts, lens, np);
			const char *body;
			size_t len;

			if (frame_parse(s->p + n, sz, sz, &body, &len) !=
			    (ssize_t)sz)
				abort();
			s->off[s->nf] = body - s->p;
			s->len[s->nf] = len;
			s->size[s->nf] = sz;
			s->nf++;
			n += sz;
		}
		for (size_t i = 0; i < np; i++)
			free((void *)parts[i]);
	}
	s->n = n;
}

/*
 * A receiver: bytes arrive in chunks (cut at the given points); after each
 * chunk it parses from the start of what it has not consumed yet.  The
 * bytes past what has arrived are in memory too (the rest of the stream),
 * as stale data would be in a reused buffer: the parser must not look.
 * Returns 0 when the frames are those of the whole parse.
 */
static int
receive(const struct stream *s, const size_t *cuts, size_t ncuts, size_t max)
{
	size_t arrived = 0, consumed = 0, nf = 0;

	for (size_t c = 0; c <= ncuts; c++) {
		arrived = c < ncuts ? cuts[c] : s->n;
		for (;;) {
			const char *body;
			size_t len, n = arrived - consumed;
			ssize_t r;

			errno = 0;
			r = frame_parse(s->p + consumed, n, max, &body, &len);
			if (r == 0)
				break;
			CHECKF(r > 0, "at %zu of %zu bytes: %s", consumed,
			    arrived, strerror(errno));
			CHECKF((size_t)r <= n,
			    "frame of %zd bytes from %zu arrived, at offset %zu",
			    r, n, consumed);
			CHECKF(nf < s->nf, "extra frame at %zu", consumed);
			CHECKF((size_t)r == s->size[nf] &&
				(size_t)(body - s->p) == s->off[nf] &&
				len == s->len[nf],
			    "frame %zu differs (%zd bytes, want %zu)", nf, r,
			    s->size[nf]);
			consumed += r;
			nf++;
		}
	}
	CHECKF(nf == s->nf && consumed == s->n, "%zu frames of %zu", nf, s->nf);
	return (0);
}

static int
t_splits(void)
{
	struct stream s;
	size_t cut;
	int r = 0;

	make_parts();
	make_stream(&s, 1);
	for (cut = 0; cut <= s.n && r == 0; cut++)
		r = receive(&s, &cut, 1, 100000);
	if (r != 0)
		tc_fail("split at %zu", cut - 1);
	free(s.p);
	return (r);
}

static int
t_two_splits(void)
{
	struct stream s;
	size_t cuts[2];
	int r = 0;

	/* Every pair of cut points, on the stream without the long frames. */
	make_parts();
	make_stream(&s, 0);
	for (cuts[0] = 0; cuts[0] <= s.n && r == 0; cuts[0]++)
		for (cuts[1] = cuts[0]; cuts[1] <= s.n && r == 0; cuts[1]++)
			r = receive(&s, cuts, 2, 100000);
	free(s.p);
	return (r);
}

static int
t_bytewise(void)
{
	struct stream s;
	size_t *cuts;
	int r;

	make_parts();
	make_stream(&s, 1);
	cuts = malloc(s.n * sizeof(*cuts));
	for (size_t i = 0; i < s.n; i++)
		cuts[i] = i + 1;
	r = receive(&s, cuts, s.n, 100000);
	free(cuts);
	free(s.p);
	return (r);
}

static int
t_bytewise_exact(void)
{
	struct stream s;
	size_t consumed = 0, nf = 0;

	/* Byte by byte, each time from a block of exactly what arrived. */
	make_parts();
	make_stream(&s, 0);
	for (size_t arrived = 1; arrived <= s.n; arrived++) {
		for (;;) {
			size_t off, len, n = arrived - consumed;
			ssize_t r = parse(s.p + consumed, n, 100000, &off,
			    &len);

			if (r == 0)
				break;
			CHECKF(r > 0 && (size_t)r <= n, "%zd from %zu bytes", r,
			    n);
			CHECK(nf < s.nf && (size_t)r == s.size[nf] &&
			    consumed + off == s.off[nf] && len == s.len[nf]);
			consumed += r;
			nf++;
		}
	}
	CHECK(nf == s.nf && consumed == s.n);
	free(s.p);
	return (0);
}

static int
t_oversize(void)
{
	const char *big = "99999999:";
	size_t off, len;

	/* With max 1000, "9999" is already too long: no colon needed. */
	for (size_t n = 1; n <= strlen(big); n++) {
		ssize_t r = parse(big, n, 1000, &off, &len);

		if (n <= 3)
			CHECKF(r == 0, "prefix %zu: %zd", n, r);
		else
			CHECKF(r == -1 && errno == EMSGSIZE,
			    "prefix %zu: %zd %s", n, r, strerror(errno));
	}
	CHECK(parses("99999999", 1000, &off, &len) == -1 && errno == EMSGSIZE);
	CHECK(parses("1001", 1000, &off, &len) == -1 && errno == EMSGSIZE);
	CHECK(parses("1001:", 1000, &off, &len) == -1 && errno == EMSGSIZE);
	CHECK(parses("1000", 1000, &off, &len) == 0);
	CHECK(parses("1000:", 1000, &off, &len) == 0);
	CHECK(parses("1000:abc", 1000, &off, &len) == 0);
	CHECK(parses("2:ab,", 1, &off, &len) == -1 && errno == EMSGSIZE);
	CHECK(parses("1:a,", 1, &off, &len) == 4);
	CHECK(parses("0:,", 0, &off, &len) == 3 && len == 0);
	CHECK(parses("1:a,", 0, &off, &len) == -1 && errno == EMSGSIZE);
	/* 11 digits are too many whatever the limit. */
	CHECK(parses("10000000000", FRAME_LIMIT_MAX, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(parses("1073741825:", FRAME_LIMIT_MAX, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(parses("1073741824:", FRAME_LIMIT_MAX, &off, &len) == 0);
	CHECK(parses("99999999999999999999999", (size_t)-1, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	/* The default limit, 16 MiB. */
	CHECK(parses("16777217:", 16777216, &off, &len) == -1 &&
	    errno == EMSGSIZE);
	CHECK(parses("16777216:", 16777216, &off, &len) == 0);
	return (0);
}

static int
t_leading_zero(void)
{
	size_t off, len;

	CHECK(parses("01:a,", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("00:,", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("00", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("001:a,", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("0100:", 1000, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("0:,", 100, &off, &len) == 3 && off == 2 && len == 0);
	CHECK(parses("0:,0:,", 100, &off, &len) == 3);
	CHECK(parses("0", 100, &off, &len) == 0);
	CHECK(parses("0:", 100, &off, &len) == 0);
	CHECK(parses("10:0123456789,", 100, &off, &len) == 14 && len == 10);
	return (0);
}

static int
t_no_comma(void)
{
	size_t off, len;

	CHECK(parses("1:ab", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("3:abc;", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("0:x", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("0::", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("12345:", 100000, &off, &len) == 0);
	{
		char m[1100];

		memcpy(m, "1000:", 5);
		memset(m + 5, 'a', 1000);
		m[1005] = 'a';
		CHECK(parse(m, 1005, 2000, &off, &len) == 0);
		CHECK(
		    parse(m, 1006, 2000, &off, &len) == -1 && errno == EBADMSG);
		m[1005] = ',';
		CHECK(parse(m, 1006, 2000, &off, &len) == 1006 && off == 5 &&
		    len == 1000);
	}
	return (0);
}

static int
t_non_digit(void)
{
	/* clang-format off */
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{ "a:", 2 }, { "1a:", 3 }, { " 1:a,", 5 }, { "-1:a,", 5 },
		{ "+1:a,", 5 }, { "1 :a,", 5 }, { "1\0:", 3 }, { "x", 1 },
		{ ",", 1 }, { "1.0:a,", 6 }, { "\xd9\xa1:a,", 6 }, { "\xff", 1 },
		{ "12345x:", 7 }, { "1234x", 5 }, { "9a", 2 },
	};
	/* clang-format on */
	size_t off, len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(parse(bad[i].s, bad[i].n, 100000, &off, &len) == -1 &&
			errno == EBADMSG,
		    "case %zu", i);
	return (0);
}

static int
t_empty_length(void)
{
	size_t off, len;

	CHECK(parses(":", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses(":,", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses(":abc,", 100, &off, &len) == -1 && errno == EBADMSG);
	CHECK(parses("", 100, &off, &len) == 0);
	return (0);
}

static int
t_parts_fill(void)
{
	/* clang-format off */
	static const struct {
		const char *body;
		int count;
	} c[] = {
		{ "", 0 },
		{ "0:,", 1 },
		{ "3:abc,", 1 },
		{ "3:abc,0:,1:x,", 3 },
		{ "3:abc,x", -1 },		/* trailing garbage */
		{ "3:abc,1", -1 },		/* a part cut short */
		{ "3:abc,1:", -1 },
		{ "5:abc,", -1 },		/* a part overrunning */
		{ "3:abc", -1 },		/* no comma */
		{ "3:abcd", -1 },
		{ "01:a,", -1 },		/* leading zero */
		{ ":,", -1 },
		{ "x", -1 },
		{ ",", -1 },
		{ "1:a,,", -1 },
		{ "10:abc,", -1 },
		{ "1:a,12345", -1 },
		{ "1:a,99999999999", -1 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = strlen(c[i].body);
		char *b = tc_exact(c[i].body, n);
		struct frame_iter it;
		const char *p;
		size_t plen;
		int r, k = 0;

		CHECKF(frame_count_parts(b, n) == c[i].count, "\"%s\"",
		    c[i].body);
		frame_iter_init(&it, b, n);
		while ((r = frame_next_part(&it, &p, &plen)) == 1) {
			CHECK(p >= b && p + plen <= b + n);
			k++;
		}
		if (c[i].count == -1)
			CHECKF(r == -1 && errno == EBADMSG, "\"%s\"",
			    c[i].body);
		else
			CHECKF(r == 0 && k == c[i].count, "\"%s\"", c[i].body);
		free(b);
	}
	return (0);
}

static int
t_part_num(void)
{
	/* clang-format off */
	static const struct {
		const char *s;
		unsigned long long max;
		int ok;
		unsigned long long v;
	} c[] = {
		{ "0", 10, 1, 0 },
		{ "1", 10, 1, 1 },
		{ "10", 10, 1, 10 },
		{ "11", 10, 0, 0 },
		{ "65535", 65535, 1, 65535 },
		{ "65536", 65535, 0, 0 },
		{ "99999", 65535, 0, 0 },
		{ "18446744073709551615", ~0ULL, 1, ~0ULL },
		{ "18446744073709551616", ~0ULL, 0, 0 },
		{ "99999999999999999999", ~0ULL, 0, 0 },
		{ "100000000000000000000", ~0ULL, 0, 0 },
		{ "9223372036854775807", 9223372036854775807ULL, 1,
		    9223372036854775807ULL },
		{ "9223372036854775808", 9223372036854775807ULL, 0, 0 },
		{ "255", 255, 1, 255 },
		{ "256", 255, 0, 0 },
		{ "", 10, 0, 0 },
		{ "00", 10, 0, 0 },
		{ "01", 10, 0, 0 },
		{ "-1", 10, 0, 0 },
		{ "+1", 10, 0, 0 },
		{ " 1", 10, 0, 0 },
		{ "1 ", 10, 0, 0 },
		{ "1a", 10, 0, 0 },
		{ "0x1", 10, 0, 0 },
		/* A limit below 10: the single digit must be checked too. */
		{ "5", 5, 1, 5 },
		{ "6", 5, 0, 0 },
		{ "7", 5, 0, 0 },
		{ "9", 0, 0, 0 },
		{ "1", 0, 0, 0 },
		{ "0", 0, 1, 0 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = strlen(c[i].s);
		char *b = tc_exact(c[i].s, n);
		unsigned long long v = 12345;
		int r = frame_part_num(b, n, c[i].max, &v);

		free(b);
		if (c[i].ok)
			CHECKF(r == 0 && v == c[i].v,
			    "\"%s\" max %llu: %d %llu", c[i].s, c[i].max, r, v);
		else
			CHECKF(r == -1, "\"%s\" max %llu: accepted as %llu",
			    c[i].s, c[i].max, v);
	}
	return (0);
}

static int
t_size(void)
{
	static const size_t lens[] = {0, 9, 10, 99, 100, 1000000};
	char hdr[FRAME_HDR_MAX + 1];
	char *body = malloc(1000000), *out = malloc(1000000 + 32);

	memset(body, 'q', 1000000);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *e = frame_put(out, body, lens[i]);
		const char *b;
		size_t len;

		CHECKF((size_t)(e - out) == frame_size(lens[i]),
		    "%zu: %zu written, frame_size %zu", lens[i],
		    (size_t)(e - out), frame_size(lens[i]));
		CHECK(frame_parse(out, e - out, lens[i], &b, &len) == e - out);
		CHECK(len == lens[i]);
	}
	/* frame_digits and the header at every power of ten. */
	for (size_t v = 1, d = 1; d <= 19; v *= 10, d++) {
		int n;

		CHECKF(frame_digits(v) == d, "%zu", v);
		CHECKF(frame_digits(v - 1) == (d == 1 ? 1 : d - 1), "%zu",
		    v - 1);
		if (d <= FRAME_HDR_MAX - 1) {
			char want[32];

			n = snprintf(want, sizeof(want), "%zu:", v);
			CHECK(frame_put_hdr(hdr, v) == (size_t)n);
			CHECK(memcmp(hdr, want, n) == 0);
			n = snprintf(want, sizeof(want), "%zu:", v - 1);
			CHECK(frame_put_hdr(hdr, v - 1) == (size_t)n);
			CHECK(memcmp(hdr, want, n) == 0);
		}
	}
	CHECK(frame_put_hdr(hdr, FRAME_LIMIT_MAX) <= FRAME_HDR_MAX);
	CHECK(frame_put_str(out, "hi") - out == 5 &&
	    memcmp(out, "2:hi,", 5) == 0);
	free(body);
	free(out);
	return (0);
}

static int
t_random(void)
{
	static const char alpha[] = "0123456789:,a";
	char in[64];

	/* Short random strings over the bytes of the format: whatever the
	 * answer, a frame lies inside the input. */
	for (int k = 0; k < 200000; k++) {
		size_t n = tc_rand(sizeof(in)), off, len;
		ssize_t r;

		for (size_t i = 0; i < n; i++)
			in[i] = alpha[tc_rand(sizeof(alpha) - 1)];
		r = parse(in, n, 1 + tc_rand(40), &off, &len);
		if (r > 0) {
			CHECKF((size_t)r <= n && off + len + 1 == (size_t)r,
			    "\"%.*s\": %zd", (int)n, in, r);
			CHECK(in[r - 1] == ',' && in[off - 1] == ':');
		} else {
			CHECK(r == 0 || errno == EBADMSG || errno == EMSGSIZE);
		}
		{
			char *b = tc_exact(in, n);

			frame_count_parts(b, n);
			free(b);
		}
	}
	return (0);
}

/* frame_u64(x) is what printf("%llu") writes: 0 or 1. */
static int
u64_is_printf(uint64_t x)
{
	char a[24], b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)x);
	CHECKF(frame_u64(a, x) == strlen(b) && strcmp(a, b) == 0, "%s for %s",
	    a, b);
	return (0);
}

/* frame_u64 writes what printf("%llu") does, for every digit count. */
static int
t_u64(void)
{
	uint64_t v = 1;

	for (uint64_t x = 0; x < 20000; x++)
		if (u64_is_printf(x))
			return (1);
	for (int d = 1; d <= 20; d++, v *= 10)
		for (uint64_t x = v - 1; x <= v + 1; x++)
			if (u64_is_printf(x))
				return (1);
	v = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 20000; i++) {
		v ^= v << 13;
		v ^= v >> 7;
		v ^= v << 17;
		if (u64_is_printf(v))
			return (1);
	}
	return (u64_is_printf(UINT64_MAX));
}

/* clang-format off */
static const struct tcase cases[] = {
	{ "roundtrip of messages of parts", t_roundtrip },
	{ "every split point of the input gives the same frames", t_splits },
	{ "every pair of split points gives the same frames", t_two_splits },
	{ "byte by byte gives the same frames", t_bytewise },
	{ "byte by byte from blocks of the exact size", t_bytewise_exact },
	{ "oversize length is refused while reading its digits",
	    t_oversize },
	{ "leading zeros are EBADMSG, 0:, is fine", t_leading_zero },
	{ "missing comma is EBADMSG", t_no_comma },
	{ "non-digit in the length is EBADMSG", t_non_digit },
	{ "empty length is EBADMSG", t_empty_length },
	{ "parts must fill the body exactly", t_parts_fill },
	{ "frame_part_num edge cases", t_part_num },
	{ "frame_size agrees with frame_put", t_size },
	{ "random short inputs stay inside the input", t_random },
	{ "frame_u64 is printf's %llu", t_u64 },
};
/* clang-format on */

int
main(void)
{
	return (TC_RUN(cases));
}
