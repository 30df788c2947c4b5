/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "hello.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "alive.h"
#include "children.h"
#include "hops.h"
#include "log.h"
#include "net.h"
#include "reader.h"
#include "rhello.h"

/* Datagrams taken in one recvmmsg, and batches in one drain: what a full
 * mesh's hellos of an interval or two take, and bounded against a flood
 * (what is left waits for the next; the in-band way is there). */
#define HELLO_BATCH 32
#define HELLO_BATCHES 16

/* An address reduced to what a source is compared by: IPv4 as mapped. */
struct where {
	unsigned char ip[16];
	unsigned port;
};

static struct {
	int fd, family;
	struct seal_hmac *key;
	uint64_t counter;
	/* By node index: the last counter taken from it; what our last
	 * hello to it said (RHELLO_HEARS). */
	uint64_t last[NODES_MAX];
	uint8_t said[NODES_MAX];
	/* One batch out (a hello to each peer) and one in. */
	unsigned char out[PEERS_MAX][RHELLO_MAX];
	struct sockaddr_storage to[PEERS_MAX];
	struct iovec oiov[PEERS_MAX];
	struct mmsghdr omsg[PEERS_MAX];
	unsigned char in[HELLO_BATCH][RHELLO_MAX + 1];
	struct sockaddr_storage from[HELLO_BATCH];
	struct iovec iiov[HELLO_BATCH];
	struct mmsghdr imsg[HELLO_BATCH];
	/* Each one's arrival time (SO_TIMESTAMPNS). */
	union {
		char b[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[HELLO_BATCH];
	/* Our clock (alive.c) at the last drain: nothing drained since came
	 * before it, whatever the wall clock says (a router stopped does not
	 * count the time it did not read). */
	long long drained;
} G = {.fd = -1};

int
hello_init(const unsigned char key[][SEAL_KEYLEN], int n)
{
	G.fd = -1;
	if (n > 0 && (G.key = seal_hmac_new(key, n)) == NULL)
		return (-1);
	return (0);
}

/*
 * The next counter: the time of day in µs, or one more than the last
 * when the clock has not moved on (or stepped back): above any of an
 * earlier life of ours, and close to the time, so that a counter forged
 * far ahead (without -k) would be the only way to stop our hellos.
 */
static uint64_t
next_counter(void)
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
	G.counter = us > G.counter ? us : G.counter + 1;
	return (G.counter);
}

static int
where_of(const struct sockaddr *sa, struct where *w)
{
	memset(w, 0, sizeof(*w));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		w->ip[10] = w->ip[11] = 0xff;
		memcpy(w->ip + 12, &in->sin_addr, 4);
		w->port = ntohs(in->sin_port);
		return (0);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)
		    sa;

		memcpy(w->ip, &in6->sin6_addr, 16);
		w->port = ntohs(in6->sin6_port);
		return (0);
	}
	return (-1);
}

/*
 * A peer's address as our socket sends to it: a numeric IP and a port
 * (a name would need a resolver on the way; its in-band keep-alives
 * carry it).  Its length, or 0.
 */
static socklen_t
sockaddr_of(const char *s, struct sockaddr_storage *ss)
{
	struct addr a;
	const char *why;
	struct in_addr v4;
	struct in6_addr v6;

	if (addr_parse(s, 0, &a, &why) == -1 || a.kind != ADDR_TCP ||
	    a.port_lo == 0 || a.port_lo != a.port_hi)
		return (0);
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a.host, &v4) == 1) {
		if (G.family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)ss;

			in->sin_family = AF_INET;
			in->sin_addr = v4;
			in->sin_port = htons((uint16_t)a.port_lo);
			return (sizeof(*in));
		}
		memset(&v6, 0, sizeof(v6));
		v6.s6_addr[10] = v6.s6_addr[11] = 0xff;
		memcpy(&v6.s6_addr[12], &v4, 4);
	} else if (inet_pton(AF_INET6, a.host, &v6) != 1 ||
	    G.family != AF_INET6)
		return (0);
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = v6;
		in6->sin6_port = htons((uint16_t)a.port_lo);
		return (sizeof(*in6));
	}
}

static int
hellos_ok(const struct peer *p)
{
	return (p->used && p->relay && (p->up || p->held) && p->nidx > 0);
}

/* One good hello h from s that came at our clock's at: 0, or -1
 * (dropped). */
static int
take(const struct rhello *h, const unsigned char *dg, const struct sockaddr *s,
    long long at)
{
	struct where src, w;
	struct sockaddr_storage ss;
	int nidx = -1;

	/* Sealed when we are, and under our key. */
	if ((G.key != NULL) != ((h->flags & RHELLO_SEALED) != 0))
		return (-1);
	if (G.key != NULL &&
	    seal_hmac_check(G.key, h->mac, dg, h->covered) == -1)
		return (-1);
	if (h->tolen != conf.melen || memcmp(h->to, conf.me, h->tolen) != 0 ||
	    where_of(s, &src) == -1)
		return (-1);
	/* From a relay with a link up (or held), at its address. */
	for (int i = 0; i < H.n && nidx == -1; i++) {
		const struct peer *p = &H.p[i];

		if (hellos_ok(p) && strlen(p->node) == h->fromlen &&
		    memcmp(p->node, h->from, h->fromlen) == 0 &&
		    sockaddr_of(p->addr, &ss) != 0 &&
		    where_of((struct sockaddr *)&ss, &w) == 0 &&
		    memcmp(&w, &src, sizeof(w)) == 0)
			nidx = p->nidx;
	}
	/* Never one we had, nor an older one. */
	if (nidx == -1 || h->counter <= G.last[nidx])
		return (-1);
	G.last[nidx] = h->counter;
	if (alive_hello(nidx, h->ms, h->flags & RHELLO_HEARS, at) == 1)
		revive(nidx);
	return (0);
}

/* When datagram i of the batch came, by our clock: now (clock c, wall
 * clock wall in ns) less its age, and not before the last drain. */
static long long
came(int i, long long c, long long wall)
{
	struct msghdr *mh = &G.imsg[i].msg_hdr;
	long long at = c;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		struct timespec ts;
		long long age;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SO_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		age = (wall - (ts.tv_sec * 1000000000LL + ts.tv_nsec)) /
		    1000000;
		if (age > 0)
			at = c - age;
	}
	return (at > G.drained ? at : G.drained);
}

void
hello_drain(void)
{
	struct timespec ts;
	long long c, wall;

	if (G.fd == -1)
		return;
	c = alive_clock_now();
	clock_gettime(CLOCK_REALTIME, &ts);
	wall = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	for (int b = 0; b < HELLO_BATCHES; b++) {
		int n;

		for (int i = 0; i < HELLO_BATCH; i++) {
			G.iiov[i].iov_base = G.in[i];
			G.iiov[i].iov_len = sizeof(G.in[i]);
			memset(&G.imsg[i].msg_hdr, 0,
			    sizeof(G.imsg[i].msg_hdr));
			G.imsg[i].msg_hdr.msg_name = &G.from[i];
			G.imsg[i].msg_hdr.msg_namelen = sizeof(G.from[i]);
			G.imsg[i].msg_hdr.msg_iov = &G.iiov[i];
			G.imsg[i].msg_hdr.msg_iovlen = 1;
			G.imsg[i].msg_hdr.msg_control = G.ctl[i].b;
			G.imsg[i].msg_hdr.msg_controllen = sizeof(G.ctl[i].b);
		}
		n = recvmmsg(G.fd, G.imsg, HELLO_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN, or an ICMP error of a send */
		for (int i = 0; i < n; i++) {
			struct rhello h;

			if (G.imsg[i].msg_len > RHELLO_MAX ||
			    rhello_decode(G.in[i], G.imsg[i].msg_len, &h) ==
				-1 ||
			    take(&h, G.in[i], (struct sockaddr *)&G.from[i],
				came(i, c, wall)) == -1)
				ctr.hello_drop++;
			else
				ctr.hello_in++;
		}
		if (n < HELLO_BATCH)
			break;
	}
	G.drained = c;
}

void
hello_open(void)
{
	struct addr a;
	const char *why, *colon = strrchr(L.bound, ':');
	struct sockaddr_storage ss;
	socklen_t sslen;
	int gai, on = 1;

	if (G.fd != -1 || colon == NULL ||
	    addr_parse(L.bound, 1, &a, &why) == -1 || a.kind != ADDR_TCP)
		return;
	/* Every interface, as the listen child: one dual-stack socket. */
	if (strcmp(a.host, "0.0.0.0") == 0 || strcmp(a.host, "::") == 0)
		a.host[0] = '\0';
	G.fd = net_listen(&a, SOCK_DGRAM, 0, &ss, &sslen, &gai);
	if (G.fd == -1) {
		log_info("hellos: udp %s: %s: keep-alives go in-band only",
		    L.bound, gai ? "cannot resolve" : strerror(errno));
		return;
	}
	G.family = ss.ss_family;
	/* Not polled: read when the dead timer looks (hello_drain), each
	 * stamped with when it came, so that the hellos of the relays next
	 * to us wake us no more than our own interval does. */
	if (setsockopt(G.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) ==
	    -1) {
		log_info(
		    "hellos: SO_TIMESTAMPNS: %s: keep-alives go in-band only",
		    strerror(errno));
		close(G.fd);
		G.fd = -1;
	}
}

void
hello_close(void)
{
	if (G.fd == -1)
		return;
	close(G.fd);
	G.fd = -1;
}

/* Put a hello to p in the batch at slot n: n + 1, or n when p takes none. */
static int
put(const struct peer *p, int n)
{
	struct rhello h;
	socklen_t tl;
	int len;

	if ((tl = sockaddr_of(p->addr, &G.to[n])) == 0)
		return (n);
	memset(&h, 0, sizeof(h));
	h.flags = (alive_hears(p->nidx) ? RHELLO_HEARS : 0) |
	    (G.key != NULL ? RHELLO_SEALED : 0);
	h.ms = (uint32_t)A.wait_ms;
	h.counter = next_counter();
	h.from = conf.me;
	h.fromlen = conf.melen;
	h.to = p->node;
	h.tolen = strlen(p->node);
	if ((len = rhello_encode(G.out[n], sizeof(G.out[n]), &h)) == -1)
		return (n);
	if (G.key != NULL)
		seal_hmac_make(G.key, G.out[n] + len - RHELLO_MACLEN, G.out[n],
		    (size_t)len - RHELLO_MACLEN);
	G.said[p->nidx] = h.flags & RHELLO_HEARS;
	G.oiov[n].iov_base = G.out[n];
	G.oiov[n].iov_len = (size_t)len;
	memset(&G.omsg[n].msg_hdr, 0, sizeof(G.omsg[n].msg_hdr));
	G.omsg[n].msg_hdr.msg_name = &G.to[n];
	G.omsg[n].msg_hdr.msg_namelen = tl;
	G.omsg[n].msg_hdr.msg_iov = &G.oiov[n];
	G.omsg[n].msg_hdr.msg_iovlen = 1;
	return (n + 1);
}

void
hello_tick(int due, int looked)
{
	int n = 0, off = 0;

	if (G.fd == -1)
		return;
	for (int i = 0; i < H.n && n < PEERS_MAX; i++) {
		const struct peer *p = &H.p[i];

		if (!hellos_ok(p))
			continue;
		/* Due; or we said we hear it and no longer do. */
		if (due || (looked && G.said[p->nidx] && !alive_hears(p->nidx)))
			n = put(p, n);
	}
	/* One call for them all; a datagram the kernel refuses (no route,
	 * a full buffer) is skipped: the in-band way carries that link. */
	while (off < n) {
		int r = sendmmsg(G.fd, G.omsg + off, (unsigned)(n - off), 0);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			off++;
			continue;
		}
		ctr.hello_out += (uint64_t)r;
		off += r;
	}
}
