/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * The frame of the unit programs of libcommon: a table of named cases,
 * each returning 0 (passed) or 1 with the first failure noted, printed as
 * TAP; the program exits 1 when a case failed.
 */
#ifndef QUILT_TCASE_H
#define QUILT_TCASE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcase {
	const char *name;
	int (*fn)(void);
};

static char tc_why[1024]; /* the first failure of a case */

static void
tc_fail(const char *fmt, ...)
{
	va_list ap;

	if (tc_why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(tc_why, sizeof(tc_why), fmt, ap);
	va_end(ap);
}

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			tc_fail("%s:%d: %s", __FILE__, __LINE__, #c);          \
			return (1);                                            \
		}                                                              \
	} while (0)

/* The same, with the values that explain the failure. */
#define CHECKF(c, ...)                                                         \
	do {                                                                   \
		if (!(c)) {                                                    \
			char tc_m[512];                                        \
                                                                               \
			snprintf(tc_m, sizeof(tc_m), __VA_ARGS__);             \
			tc_fail("%s:%d: %s: %s", __FILE__, __LINE__, #c,       \
			    tc_m);                                             \
			return (1);                                            \
		}                                                              \
	} while (0)

static int
tc_run(const struct tcase *cases, size_t n)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		tc_why[0] = '\0';
		if (cases[i].fn() != 0) {
			printf("not ok %zu %s\n# %s\n", i + 1, cases[i].name,
			    tc_why);
			failed = 1;
		} else
			printf("ok %zu %s\n", i + 1, cases[i].name);
	}
	return (failed);
}

#define TC_RUN(cases) tc_run((cases), sizeof(cases) / sizeof((cases)[0]))

/* A copy of p[0..n) in a block of exactly n bytes, so that the sanitizers
 * see any read past the end. */
static inline char *
tc_exact(const void *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	if (n)
		memcpy(c, p, n);
	return (c);
}

/* A small deterministic generator: the same cases on every run. */
static unsigned long long tc_seed = 0x9e3779b97f4a7c15ULL;

static inline unsigned
tc_rand(unsigned upper)
{
	tc_seed ^= tc_seed << 13;
	tc_seed ^= tc_seed >> 7;
	tc_seed ^= tc_seed << 17;
	return (upper ? (unsigned)(tc_seed % upper) : 0);
}

#endif
