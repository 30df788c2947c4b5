/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-zmq: the ZeroMQ PUSH/PULL peer of scripts/bench, doing the same
 * file-to-file work as quilt-send | quilt-listen: each line of a file is one
 * message; the receiver writes each message as a line.
 *
 *	bench-zmq pull READYFILE
 *		binds tcp://127.0.0.1:*, writes the endpoint to READYFILE,
 *		writes each message + LF to standard output until an empty
 *		message, says the count on stderr
 *	bench-zmq push ENDPOINT INFILE
 *		sends each line of INFILE (without its LF) as one message,
 *		then an empty message, and waits until all are delivered
 *
 * ZeroMQ's own batching is used as a user would get it: default options.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define OUTBUF (256 * 1024)

static void
die(const char *what)
{
	fprintf(stderr, "bench-zmq: %s: %s\n", what,
	    errno ? zmq_strerror(errno) : "failed");
	exit(1);
}

static void
writeall(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static int
pull(const char *ready)
{
	char ep[256], tmp[4096], *buf;
	size_t eplen = sizeof(ep), used = 0;
	long count = 0;
	void *ctx, *s;
	zmq_msg_t m;
	FILE *f;
	int fd = 1;

	if ((buf = malloc(OUTBUF)) == NULL)
		die("malloc");
	if ((ctx = zmq_ctx_new()) == NULL ||
	    (s = zmq_socket(ctx, ZMQ_PULL)) == NULL ||
	    zmq_bind(s, "tcp://127.0.0.1:*") == -1 ||
	    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &eplen) == -1)
		die("bind");
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", ep) < 0 ||
	    fclose(f) == EOF || rename(tmp, ready) == -1)
		die(ready);
	zmq_msg_init(&m);
	for (;;) {
		size_t len;

		if (zmq_msg_recv(&m, s, 0) == -1) {
			if (errno == EINTR)
				continue;
			die("recv");
		}
		if ((len = zmq_msg_size(&m)) == 0)
			break;
		if (used + len + 1 > OUTBUF) {
			writeall(fd, buf, used);
			used = 0;
		}
		if (len + 1 > OUTBUF) {
			writeall(fd, zmq_msg_data(&m), len);
			writeall(fd, "\n", 1);
		} else {
			memcpy(buf + used, zmq_msg_data(&m), len);
			used += len;
			buf[used++] = '\n';
		}
		count++;
	}
	writeall(fd, buf, used);
	zmq_msg_close(&m);
	zmq_close(s);
	zmq_ctx_term(ctx);
	fprintf(stderr, "bench-zmq: received %ld messages\n", count);
	return (0);
}

static int
push(const char *ep, const char *in)
{
	const char *p, *end, *nl;
	struct stat st;
	void *ctx, *s;
	int fd, linger = -1;

	if ((fd = open(in, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		die(in);
	p = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
	    : "";
	if (p == MAP_FAILED)
		die("mmap");
	madvise((void *)p, st.st_size, MADV_SEQUENTIAL);
	end = p + st.st_size;
	if ((ctx = zmq_ctx_new()) == NULL ||
	    (s = zmq_socket(ctx, ZMQ_PUSH)) == NULL ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_connect(s, ep) == -1)
		die("connect");
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		while (zmq_send(s, p, nl - p, 0) == -1)
			if (errno != EINTR)
				die("send");
		p = nl + 1;
	}
	while (zmq_send(s, "", 0, 0) == -1)
		if (errno != EINTR)
			die("send");
	zmq_close(s);
	zmq_ctx_term(ctx);	/* returns once everything is delivered */
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "pull") == 0)
		return (pull(argv[2]));
	if (argc == 4 && strcmp(argv[1], "push") == 0)
		return (push(argv[2], argv[3]));
	fprintf(stderr, "usage: bench-zmq pull READYFILE | "
	    "push ENDPOINT INFILE\n");
	return (64);
}
