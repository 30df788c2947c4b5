/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-util: small helpers for scripts/bench.
 *
 *	bench-util gen COUNT SIZE FILE	COUNT lines of SIZE payload bytes + LF
 *	bench-util port			a free TCP port on 127.0.0.1 (racy:
 *					the caller retries if it is taken)
 *	bench-util check COUNT SIZE FILE	exit 0 when FILE is exactly what
 *					gen COUNT SIZE wrote, else say what differs
 *	bench-util wait BYTES SECONDS FILE... [-- PID...]
 *					exit 0 once every FILE holds BYTES
 *					(checked every millisecond); 1 after
 *					SECONDS, or as soon as a PID has gone,
 *					saying how far each file got
 *
 * Line i (from 0) starts with i in 12 decimal digits, then letters, so a
 * lost, duplicated or reordered line is seen by check.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
die(const char *what)
{
	fprintf(stderr, "bench-util: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "bench-util: %s must be %ld..%ld: %s\n", what,
		    lo, hi, s);
		exit(64);
	}
	return (v);
}

/* Fills line with line number i's content; len is payload + 1. */
static void
fill(char *line, long i, long size)
{
	char num[24];
	long k;

	snprintf(num, sizeof(num), "%012ld", i);
	for (k = 0; k < size; k++)
		line[k] = k < 12 ? num[k] : 'a' + (char)((i + k) % 26);
	line[size] = '\n';
}

static int
gen(long count, long size, const char *path)
{
	size_t cap = 1 << 20, used = 0;
	char *buf, *line;
	long i;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		die(path);
	if (cap < (size_t)size + 1)
		cap = (size_t)size + 1;
	if ((buf = malloc(cap)) == NULL || (line = malloc(size + 1)) == NULL)
		die("malloc");
	for (i = 0; i < count; i++) {
		if (used + size + 1 > cap) {
			if (write(fd, buf, used) != (ssize_t)used)
				die(path);
			used = 0;
		}
		fill(buf + used, i, size);
		used += size + 1;
	}
	if (write(fd, buf, used) != (ssize_t)used)
		die(path);
	if (close(fd) == -1)
		die(path);
	return (0);
}

static int
check(long count, long size, const char *path)
{
	struct stat st;
	char *p, *line;
	long i, want = count * (size + 1);
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		die(path);
	if (st.st_size != want) {
		printf("%lld bytes, want %ld (%.0f lines of %ld)\n",
		    (long long)st.st_size, want,
		    (double)st.st_size / (size + 1), size);
		return (1);
	}
	if (want == 0)
		return (0);
	p = mmap(NULL, want, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED || (line = malloc(size + 1)) == NULL)
		die("mmap");
	for (i = 0; i < count; i++) {
		fill(line, i, size);
		if (memcmp(p + i * (size + 1), line, size + 1) != 0) {
			printf("line %ld differs (got %.12s)\n", i + 1,
			    p + i * (size + 1));
			return (1);
		}
	}
	return (0);
}

static int
port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		die("port");
	printf("%d\n", ntohs(sin.sin_port));
	close(s);
	return (0);
}

/*
 * Until every file has reached want bytes: how a receiver that writes to a
 * tmpfs file is seen to be done without a reader in its way (a pipe to
 * head -c would be a fourth process copying every byte).
 */
static int
waitfor(long want, long secs, char **files, int n, char **pids, int npids)
{
	struct timespec ms = {0, 1000000}, t0, t;
	struct stat st;
	int k, done;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (done = 0, k = 0; k < n; k++)
			if (stat(files[k], &st) == 0 && st.st_size >= want)
				done++;
		if (done == n)
			return (0);
		for (k = 0; k < npids; k++)
			if (kill((pid_t)atol(pids[k]), 0) == -1 &&
			    errno == ESRCH)
				break;
		if (k < npids) {
			printf("process %s has ended; ", pids[k]);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec -
			t0.tv_nsec >=
		    secs * 1000000000L)
			break;
		nanosleep(&ms, NULL);
	}
	for (k = 0; k < n; k++)
		printf("%s: %lld of %ld bytes\n", files[k],
		    stat(files[k], &st) == 0 ? (long long)st.st_size : -1LL,
		    want);
	return (1);
}

int
main(int argc, char *argv[])
{
	if (argc == 5 && strcmp(argv[1], "gen") == 0)
		return (gen(num(argv[2], 0, 1L << 40, "count"),
		    num(argv[3], 1, 1 << 26, "size"), argv[4]));
	if (argc == 5 && strcmp(argv[1], "check") == 0)
		return (check(num(argv[2], 0, 1L << 40, "count"),
		    num(argv[3], 1, 1 << 26, "size"), argv[4]));
	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return (port());
	if (argc >= 5 && strcmp(argv[1], "wait") == 0) {
		int nf = 0;

		while (4 + nf < argc && strcmp(argv[4 + nf], "--") != 0)
			nf++;
		if (nf == 0)
			return (64);
		return (waitfor(num(argv[2], 0, 1L << 40, "bytes"),
		    num(argv[3], 1, 3600, "seconds"), argv + 4, nf,
		    argv + 5 + nf, 4 + nf < argc ? argc - 5 - nf : 0));
	}
	fprintf(stderr,
	    "usage: bench-util gen|check COUNT SIZE FILE | port | "
	    "wait BYTES SECONDS FILE...\n");
	return (64);
}
