/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * bench-enet: the ENet peer of scripts/bench, for the udp: transport's
 * rows: reliable messages over loopback, as a user of ENet would send
 * them (one channel, ENET_PACKET_FLAG_RELIABLE, default host settings).
 *
 *	bench-enet pair N SIZE
 *		a receiver (a child) and a sender in one run: N reliable
 *		messages of SIZE bytes; prints the rate, from the first send
 *		to the receiver's last message, and both ends' CPU
 *	bench-enet recv READYFILE
 *		binds 127.0.0.1 on a free port, writes "127.0.0.1:PORT" to
 *		READYFILE, writes each message + LF to standard output until
 *		an empty message, says the count on stderr
 *	bench-enet send HOST:PORT INFILE
 *		sends each line of INFILE (without its LF) as one message,
 *		then an empty one, and waits until the receiver has them all
 *
 * ENet queues without bound: the sender keeps at most WINDOW messages
 * queued and unacknowledged, as a program must to bound its memory (see
 * WINDOW).
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <enet/enet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * ENet keeps at most 64 KiB of reliable data in flight and walks its
 * queues on every service call, so a long queue makes it slower, not
 * faster: the sender keeps about 32 KiB of messages queued, topping it up
 * every BATCH messages (measured best on loopback: 512 of 64 B, 32 of
 * 1 KiB).  ENET_WINDOW and ENET_BATCH (environment) override both.
 */
static long WINDOW, BATCH;
#define OUTBUF (256 * 1024)

static void
die(const char *what)
{
	fprintf(stderr, "bench-enet: %s: %s\n", what,
	    errno ? strerror(errno) : "failed");
	exit(1);
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec + t.tv_nsec / 1e9);
}

static double
cpu(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
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

/* A host on 127.0.0.1, port 0: its port. */
static ENetHost *
bind_host(unsigned *port)
{
	ENetAddress a;
	ENetHost *h;

	enet_address_set_host(&a, "127.0.0.1");
	a.port = 0;
	if ((h = enet_host_create(&a, 1, 1, 0, 0)) == NULL)
		die("enet_host_create");
	if (enet_socket_get_address(h->socket, &a) != 0)
		die("enet_socket_get_address");
	*port = a.port;
	return (h);
}

/*
 * Receive until n messages (n < 0: until an empty one); write each + LF
 * to fd when fd >= 0.  Returns the count.
 */
static long
receive(ENetHost *h, long n, int fd)
{
	char *out = fd >= 0 ? malloc(OUTBUF) : NULL;
	size_t used = 0;
	long count = 0;
	ENetEvent ev;
	int done = 0;

	while (!done) {
		int r = enet_host_service(h, &ev, 100);

		while (r > 0) {
			if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
				size_t len = ev.packet->dataLength;

				if (n < 0 && len == 0)
					done = 1;
				else
					count++;
				if (out != NULL && len > 0) {
					if (used + len + 1 > OUTBUF) {
						writeall(fd, out, used);
						used = 0;
					}
					if (len + 1 > OUTBUF) {
						writeall(fd,
						    (char *)ev.packet->data, len);
						writeall(fd, "\n", 1);
					} else {
						memcpy(out + used,
						    ev.packet->data, len);
						out[used + len] = '\n';
						used += len + 1;
					}
				}
				enet_packet_destroy(ev.packet);
				if (n >= 0 && count == n)
					done = 1;
			} else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
				done = 1;
			}
			if (done)
				break;
			r = enet_host_check_events(h, &ev);
		}
		if (r < 0)
			die("enet_host_service");
	}
	if (out != NULL) {
		writeall(fd, out, used);
		free(out);
	}
	/* Let the last acknowledgements go. */
	enet_host_flush(h);
	return (count);
}

static ENetPeer *
connect_to(ENetHost **h, const char *host, unsigned port)
{
	ENetAddress a;
	ENetEvent ev;
	ENetPeer *p;

	if ((*h = enet_host_create(NULL, 1, 1, 0, 0)) == NULL)
		die("enet_host_create");
	enet_address_set_host(&a, host);
	a.port = port;
	if ((p = enet_host_connect(*h, &a, 1, 0)) == NULL)
		die("enet_host_connect");
	if (enet_host_service(*h, &ev, 5000) <= 0 ||
	    ev.type != ENET_EVENT_TYPE_CONNECT)
		die("connect");
	return (p);
}

/* Queued and unacknowledged messages (a walk of ENet's lists). */
static size_t
held(ENetPeer *p)
{
	return (enet_list_size(&p->outgoingCommands) +
	    enet_list_size(&p->sentReliableCommands));
}

/*
 * Wait for the peer's datagrams (acknowledgements make no event, so a
 * service call with a timeout would sleep through them), then take them.
 */
static void
wait_acks(ENetHost *h)
{
	enet_uint32 cond = ENET_SOCKET_WAIT_RECEIVE;
	ENetEvent ev;

	if (enet_socket_wait(h->socket, &cond, 1) != 0)
		die("enet_socket_wait");
	while (enet_host_service(h, &ev, 0) > 0)
		;
}

/* Send one message, keeping ENet's queue bounded. */
static void
send_one(ENetHost *h, ENetPeer *p, const void *m, size_t len, long *since)
{
	ENetPacket *pk;
	ENetEvent ev;

	if (++*since >= BATCH) {
		*since = 0;
		while (enet_host_service(h, &ev, 0) > 0)
			;
		while (held(p) > WINDOW)
			wait_acks(h);
	}
	if ((pk = enet_packet_create(m, len, ENET_PACKET_FLAG_RELIABLE)) ==
	    NULL)
		die("enet_packet_create");
	if (enet_peer_send(p, 0, pk) != 0)
		die("enet_peer_send");
}

/* Until everything sent is acknowledged, or the child exits. */
static void
drain(ENetHost *h, ENetPeer *p, pid_t child, int *status)
{
	ENetEvent ev;

	for (;;) {
		if (child > 0 && waitpid(child, status, WNOHANG) == child)
			return;
		if (child <= 0 && held(p) == 0)
			return;
		(void)ev;
		wait_acks(h);
	}
}

/* The queue for messages of size bytes (see WINDOW). */
static void
window(size_t size)
{
	const char *w = getenv("ENET_WINDOW"), *b = getenv("ENET_BATCH");

	WINDOW = 32768 / (size + 1);
	WINDOW = WINDOW < 32 ? 32 : WINDOW > 1024 ? 1024 : WINDOW;
	BATCH = WINDOW < 512 ? WINDOW : 512;
	if (w != NULL && atol(w) > 0)
		WINDOW = atol(w);
	if (b != NULL && atol(b) > 0)
		BATCH = atol(b);
}

static int
pair(long n, size_t size)
{
	ENetHost *h, *rh;
	ENetPeer *p;
	unsigned port;
	char *m = malloc(size ? size : 1);
	double t0, t1, c0;
	long since = 0;
	int status = 1;
	pid_t child;

	if (m == NULL)
		die("malloc");
	memset(m, 'x', size);
	window(size);
	rh = bind_host(&port);
	if ((child = fork()) == -1)
		die("fork");
	if (child == 0) {
		long got = receive(rh, n, -1);

		_exit(got == n ? 0 : 1);
	}
	enet_host_destroy(rh);
	p = connect_to(&h, "127.0.0.1", port);
	c0 = cpu(RUSAGE_SELF);
	t0 = now();
	for (long i = 0; i < n; i++) {
		if (size >= sizeof(i))
			memcpy(m, &i, sizeof(i));
		send_one(h, p, m, size, &since);
	}
	enet_host_flush(h);
	drain(h, p, child, &status);
	t1 = now();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-enet: the receiver failed\n");
		return (1);
	}
	printf("enet %zu B: %ld messages in %.3f s: %.0f msg/s, %.1f MB/s; "
	       "CPU sender %.3f s, receiver %.3f s\n",
	    size, n, t1 - t0, n / (t1 - t0), n * (double)size / (t1 - t0) / 1e6,
	    cpu(RUSAGE_SELF) - c0, cpu(RUSAGE_CHILDREN));
	enet_peer_disconnect_now(p, 0);
	enet_host_destroy(h);
	free(m);
	return (0);
}

static int
recv_file(const char *ready)
{
	char tmp[4096];
	ENetHost *h;
	unsigned port;
	long count;
	FILE *f;

	h = bind_host(&port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "127.0.0.1:%u\n", port) < 0 || fclose(f) == EOF ||
	    rename(tmp, ready) == -1)
		die(ready);
	count = receive(h, -1, 1);
	fprintf(stderr, "bench-enet: %ld messages\n", count);
	enet_host_destroy(h);
	return (0);
}

static int
send_file(const char *addr, const char *path)
{
	const char *colon = strrchr(addr, ':');
	char host[256];
	struct stat st;
	ENetHost *h;
	ENetPeer *p;
	char *data, *at, *end;
	long since = 0;
	int fd;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		die("address");
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		die(path);
	data = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) :
			    "";
	if (data == MAP_FAILED)
		die("mmap");
	p = connect_to(&h, host, (unsigned)atoi(colon + 1));
	/* The first line's size stands for all. */
	at = memchr(data, '\n', st.st_size);
	window(at ? (size_t)(at - data) : (size_t)st.st_size);
	for (at = data, end = data + st.st_size; at < end;) {
		char *nl = memchr(at, '\n', end - at);
		size_t len = (nl ? nl : end) - at;

		send_one(h, p, at, len, &since);
		at += len + 1;
	}
	send_one(h, p, "", 0, &since);
	enet_host_flush(h);
	drain(h, p, 0, NULL);
	enet_peer_disconnect_now(p, 0);
	enet_host_destroy(h);
	return (0);
}

int
main(int argc, char *argv[])
{
	if (enet_initialize() != 0)
		die("enet_initialize");
	atexit(enet_deinitialize);
	if (argc == 4 && strcmp(argv[1], "pair") == 0)
		return (pair(atol(argv[2]), (size_t)atol(argv[3])));
	if (argc == 3 && strcmp(argv[1], "recv") == 0)
		return (recv_file(argv[2]));
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return (send_file(argv[2], argv[3]));
	fprintf(stderr, "usage: bench-enet pair N SIZE | recv READYFILE | "
			"send HOST:PORT INFILE\n");
	return (64);
}
