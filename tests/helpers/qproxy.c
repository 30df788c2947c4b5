/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * qproxy: a TCP (or Unix socket) forwarding proxy with injected faults, for
 * the tests of reconnection, resume and (later) sealing.
 *
 *   qproxy [-v] [-P readyfile] [-p port] [-n nconn] [-w dumpfile]
 *          [-s source] [-f fault]... [listen_addr] target_addr
 *
 * It listens on listen_addr (default 127.0.0.1:0; -p PORT replaces its
 * port, so a test can restart a killed proxy on the port of the first one),
 * writes its address ("127.0.0.1:PORT") to the ready file, and forwards
 * every accepted connection to target_addr, bytes both ways, carrying
 * half-closes through.  Many connections, concurrent or one after another.
 *
 * Faults (-f, may be repeated; offsets count from 0 in each connection's
 * own stream; -n N applies them to the first N connections only):
 *   cut=N           forward N bytes client->server, then close both sides
 *   flip=N          xor 0x01 into byte N of the client->server stream
 *   flipback=N      the same for the server->client stream
 *   replay=OFF:LEN  once bytes OFF..OFF+LEN-1 (client->server) have passed,
 *                   send them again
 *   drop=OFF:LEN    drop bytes OFF..OFF+LEN-1 of the client->server stream
 *   lose=NODE:NBR   lose one link-state update between two relays: the
 *                   first route record of NODE (client->server) that no
 *                   longer lists NBR, after one (on any connection) that
 *                   did, is dropped whole, once; see below.  It goes alone,
 *                   with no other fault.
 *
 * lose= and the acknowledged stream.  Every frame one relay sends another
 * is numbered by its place in the session (quilt-protocol(5), Relays), and
 * the listener acknowledges the first N with "ack N": a frame taken out of
 * the stream leaves the listener's count one short of the sender's, and a
 * cut is made good by resending what was not acknowledged.  A lost update,
 * with the link kept up and nothing sent again, therefore needs the
 * acknowledgements forged as well: once frame D (in the session) is lost,
 * every "ack N" from the server with N >= D-1 is passed on as "ack N+1",
 * so that the sender takes the lost frame as written and the two counts
 * agree.  The frames are split at their netstring bounds (the client's
 * hello gives the count it starts from, from=N; a frame other than ack,
 * bye, error, alive and nop is numbered); one of more than HOLD_MAX bytes
 * (a message) streams through, numbered.  A sealed hello (sealed=1), or
 * bytes that are not netstrings, turn it off for that connection: they
 * pass as they are.  A later connection of the same session is not
 * renumbered (the tests keep the link up).  Each route record of NODE that
 * passes, and the one lost, is said on stderr with its neighbours:
 *   qproxy: connection N: route of NODE, sequence S (NBR...): passed|lost
 *
 * A target that resets its connection (ECONNRESET, EPIPE) has the
 * client's reset too, as a listener refusing a peer resets it.
 *
 * -s SOURCE binds its connections to the target to that address first
 * ("127.0.0.2:0", "[::1]:0"): how a test shows a listener a peer at an
 * address other than 127.0.0.1, for --allow and --deny.
 *
 * -w FILE appends every byte forwarded client->server (after the faults,
 * all connections) to FILE: a capture, e.g. to check that a sealed session
 * shows no message text.
 *
 * -v prints one line per connection on stderr when it ends:
 *   qproxy: connection N: C bytes client->server, S bytes server->client
 */
#include <poll.h>

#include "frame.h"
#include "helper.h"

#define MAXCONN 128
#define BUFSZ 65536
#define MAXFAULT 16
#define MAXREPLAY (1 << 20)
/* lose=: a frame up to this size is held until it is whole (at most
 * MAXREPLAY: what is held goes out past BUFSZ, in the replay's room). */
#define HOLD_MAX 65536
/* The parts of a route frame looked at: its head (6), 64 neighbours, its
 * options. */
#define NBR_PARTS 80

enum { F_CUT, F_FLIP, F_FLIPBACK, F_REPLAY, F_DROP, F_LOSE };

struct fault {
	int kind;
	unsigned long long off, len;
};

/* One direction: bytes read from src, waiting to be written to dst. */
struct dir {
	char buf[BUFSZ + MAXREPLAY];
	size_t head, tail; /* pending = buf[head..tail) */
	unsigned long long in; /* stream offset of the next byte read */
	unsigned long long out; /* bytes written to dst */
	int eof; /* src said end of stream */
	int shut; /* dst was shut down for writing */
};

/* lose=: one direction's frames, split at their netstring bounds. */
struct split {
	char hold[HOLD_MAX];
	size_t nhold; /* bytes of the frame under way held */
	size_t need; /* its whole size; 0 while its length is read */
	unsigned long long stream; /* bytes of a large frame still to pass */
	unsigned long long frames; /* whole frames so far (0: the hello) */
	int off; /* not frames (sealed, or not netstrings): bytes pass */
};

struct conn {
	int cfd, sfd;
	int id;
	int faulty;
	int cut; /* cut=N reached: close once flushed */
	int sreset; /* the target reset its side: reset the client's */
	struct dir c2s, s2c;
	char *replay; /* captured bytes for replay */
	size_t nreplay;
	int replayed;
	/* lose=: the frames each way, the session's count the client's
	 * hello started from, its numbered frames since, and the number of
	 * the frame lost on this connection (0: none). */
	struct split *fc2s, *fs2c;
	unsigned long long base, numbered, lost_at;
};

static struct fault faults[MAXFAULT];
static int nfaults;
/* lose=NODE:NBR, once NBR was listed, once the record was lost. */
static const char *lose_node, *lose_nbr;
static int lose_seen, lose_done;
static struct conn *conns[MAXCONN];
static int verbose;
static int dumpfd = -1;

/* -w: append the n bytes at p to the dump file. */
static void
dump(const char *p, size_t n)
{
	ssize_t w;

	while (dumpfd != -1 && n > 0) {
		if ((w = write(dumpfd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			h_die("dump file");
		}
		p += w;
		n -= (size_t)w;
	}
}

static unsigned long long
num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != ':'))
		h_diex("bad %s: %s", what, s);
	return (v);
}

static void
add_fault(const char *s)
{
	struct fault *f;
	const char *eq = strchr(s, '=');
	const char *colon;

	if (nfaults == MAXFAULT)
		h_diex("too many faults");
	if (eq == NULL)
		h_diex("bad fault: %s", s);
	f = &faults[nfaults++];
	if (strncmp(s, "cut=", 4) == 0)
		f->kind = F_CUT;
	else if (strncmp(s, "flip=", 5) == 0)
		f->kind = F_FLIP;
	else if (strncmp(s, "flipback=", 9) == 0)
		f->kind = F_FLIPBACK;
	else if (strncmp(s, "replay=", 7) == 0)
		f->kind = F_REPLAY;
	else if (strncmp(s, "drop=", 5) == 0)
		f->kind = F_DROP;
	else if (strncmp(s, "lose=", 5) == 0)
		f->kind = F_LOSE;
	else
		h_diex("unknown fault: %s", s);
	if (f->kind == F_LOSE) {
		char *nbr;

		if ((lose_node = strdup(eq + 1)) == NULL)
			h_die("strdup");
		if ((nbr = strchr(lose_node, ':')) == NULL ||
		    nbr == lose_node || nbr[1] == '\0')
			h_diex("fault needs NODE:NBR: %s", s);
		*nbr = '\0';
		lose_nbr = nbr + 1;
		return;
	}
	f->off = num(eq + 1, "fault offset");
	f->len = 1;
	if (f->kind == F_REPLAY || f->kind == F_DROP) {
		if ((colon = strchr(eq + 1, ':')) == NULL)
			h_diex("fault needs OFF:LEN: %s", s);
		f->len = num(colon + 1, "fault length");
		if (f->kind == F_REPLAY && (f->len == 0 || f->len > MAXREPLAY))
			h_diex("replay length must be 1..%d", MAXREPLAY);
	}
}

static int
set_nonblock(int fd)
{
	return (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
}

/* Is part p (n bytes) the string s? */
static int
is(const char *p, size_t n, const char *s)
{
	return (n == strlen(s) && memcmp(p, s, n) == 0);
}

/* The first max parts of a frame's body into part[]: how many there are
 * (max at most), or -1 when they do not fill it. */
static int
parts(const char *body, size_t len, const char **part, size_t *plen, int max)
{
	struct frame_iter it;
	const char *p;
	size_t n;
	int k = 0, r;

	frame_iter_init(&it, body, len);
	while ((r = frame_next_part(&it, &p, &n)) == 1)
		if (k < max) {
			part[k] = p;
			plen[k++] = n;
		}
	return (r == -1 ? -1 : k);
}

/* The decimal digits that start the n bytes at p, as a number. */
static unsigned long long
dec(const char *p, size_t n)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < n && i < 20 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	return (v);
}

/* The client's hello: sealed, frames are not seen; from=N, the count the
 * session starts from. */
static void
hello_in(struct conn *c, const char **part, const size_t *plen, int k)
{
	for (int i = 3; i < k; i++) {
		if (is(part[i], plen[i], "sealed=1"))
			c->fc2s->off = c->fs2c->off = 1;
		if (plen[i] > 5 && memcmp(part[i], "from=", 5) == 0)
			c->base = dec(part[i] + 5, plen[i] - 5);
	}
}

/*
 * A route frame (parts part[0..k)) from the client, numbered `number`:
 * 1 when it is to be lost.  Only NODE's records count (a withdrawal,
 * +life=0, is none).
 */
static int
route_in(struct conn *c, const char **part, const size_t *plen, int k,
    unsigned long long number)
{
	char nbrs[NBR_PARTS * 66] = "";
	size_t nb = 0;
	int lists = 0;

	if (k < 6 || !is(part[2], plen[2], lose_node))
		return (0);
	for (int i = 6; i < k; i++) {
		if (is(part[i], plen[i], "+life=0"))
			return (0);
		if (plen[i] > 0 && part[i][0] == '+')
			continue;
		lists |= is(part[i], plen[i], lose_nbr);
		nb += (size_t)snprintf(nbrs + nb, sizeof(nbrs) - nb, "%s%.*s",
		    nb ? " " : "", (int)(plen[i] < 64 ? plen[i] : 64), part[i]);
	}
	if (lists)
		lose_seen = 1;
	fprintf(stderr,
	    "qproxy: connection %d: route of %s, sequence %.*s (%s): %s\n",
	    c->id, lose_node, (int)plen[4], part[4], nbrs,
	    !lists && lose_seen && !lose_done ? "lost" : "passed");
	if (lists || !lose_seen || lose_done)
		return (0);
	lose_done = 1;
	c->lost_at = number;
	return (1);
}

/*
 * A whole frame f (n bytes) of one direction: written at out as it is,
 * not at all (lost), or (an ack past the lost frame) one higher.  Returns
 * the bytes written.
 */
static size_t
frame_out(struct conn *c, int c2s, struct split *s, const char *f, size_t n,
    char *out)
{
	const char *body, *part[NBR_PARTS];
	size_t len, plen[NBR_PARTS];
	int k;

	if (frame_parse(f, n, n, &body, &len) != (ssize_t)n ||
	    (k = parts(body, len, part, plen, NBR_PARTS)) < 2) {
		s->off = 1; /* not a quilt frame: bytes from now on */
		memcpy(out, f, n);
		return (n);
	}
	if (s->frames++ == 0) {
		if (c2s)
			hello_in(c, part, plen, k);
	} else if (c2s && !is(part[1], plen[1], "ack") &&
	    !is(part[1], plen[1], "bye") && !is(part[1], plen[1], "error") &&
	    !is(part[1], plen[1], "alive") && !is(part[1], plen[1], "nop")) {
		c->numbered++;
		if (is(part[1], plen[1], "route") &&
		    route_in(c, part, plen, k, c->base + c->numbered))
			return (0);
	} else if (!c2s && c->lost_at != 0 && k == 3 &&
	    is(part[1], plen[1], "ack") &&
	    dec(part[2], plen[2]) + 1 >= c->lost_at) {
		char num[24], b[64], *e;
		int d = snprintf(num, sizeof(num), "%llu",
		    dec(part[2], plen[2]) + 1);

		e = frame_put(b, part[0], plen[0]);
		e = frame_put(e, "ack", 3);
		e = frame_put(e, num, (size_t)d);
		return ((size_t)(frame_put(out, b, (size_t)(e - b)) - out));
	}
	memcpy(out, f, n);
	return (n);
}

/*
 * lose=: the n bytes at in, of one direction, into out, frame by frame:
 * a frame is held until it is whole, then frame_out says what goes; one
 * too large to hold goes as it comes (a message: numbered).  Returns the
 * bytes written at out: at most what was held before, the n bytes, and
 * two more for each ack (of at least 13 bytes) made one higher.
 */
static size_t
split(struct conn *c, int c2s, const char *in, size_t n, char *out)
{
	struct split *s = c2s ? c->fc2s : c->fs2c;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = in[i];

		if (s->off || s->stream > 0) {
			out[k++] = ch;
			if (s->stream > 0)
				s->stream--;
			continue;
		}
		s->hold[s->nhold++] = ch;
		if (s->need == 0 && ch == ':' && s->nhold > 1) {
			unsigned long long len = dec(s->hold, s->nhold - 1);

			s->need = s->nhold + (size_t)len + 1;
			if (len + s->nhold + 1 > HOLD_MAX) {
				/* A message: numbered, and let through. */
				if (c2s && s->frames++ > 0)
					c->numbered++;
				s->stream = len + 1;
				memcpy(out + k, s->hold, s->nhold);
				k += s->nhold;
				s->nhold = s->need = 0;
			}
		} else if (s->need == 0 &&
		    (ch < '0' || ch > '9' || s->nhold > FRAME_HDR_MAX - 1 ||
			(s->nhold == 2 && s->hold[0] == '0'))) {
			s->off = 1; /* not a netstring: bytes from now on */
			memcpy(out + k, s->hold, s->nhold);
			k += s->nhold;
			s->nhold = 0;
		} else if (s->need != 0 && s->nhold == s->need) {
			k += frame_out(c, c2s, s, s->hold, s->nhold, out + k);
			s->nhold = s->need = 0;
		}
	}
	return (k);
}

/*
 * Apply the faults to the n bytes in `in`, read at stream offset d->in,
 * appending what is to be forwarded to d->buf at d->tail.  drop removes
 * bytes, replay appends a second copy once its range has passed, cut=N
 * keeps only the bytes before offset N and marks the connection for
 * closing once they are written.
 */
static void
apply(struct conn *c, struct dir *d, int c2s, const char *in, size_t n)
{
	char *out = d->buf + d->tail;
	unsigned long long start = d->in;
	size_t i, k = 0;
	int j;

	if (!c->faulty) {
		memcpy(out, in, n);
		if (c2s)
			dump(out, n);
		d->tail += n;
		return;
	}
	if (lose_node != NULL) {
		k = split(c, c2s, in, n, out);
		if (c2s)
			dump(out, k);
		d->tail += k;
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned long long o = start + i;
		int drop = 0;
		char ch = in[i];

		for (j = 0; j < nfaults; j++) {
			struct fault *f = &faults[j];

			if (f->kind == F_CUT && c2s && o >= f->off)
				drop = c->cut = 1;
			else if (f->kind == F_FLIP && c2s && o == f->off)
				ch ^= 0x01;
			else if (f->kind == F_FLIPBACK && !c2s && o == f->off)
				ch ^= 0x01;
			else if (f->kind == F_DROP && c2s && o >= f->off &&
			    o < f->off + f->len)
				drop = 1;
		}
		if (drop)
			continue;
		out[k++] = ch;
		for (j = 0; j < nfaults; j++) {
			struct fault *f = &faults[j];

			if (f->kind != F_REPLAY || !c2s || c->replayed)
				continue;
			if (o >= f->off && o < f->off + f->len)
				c->replay[c->nreplay++] = ch;
			if (o + 1 == f->off + f->len) {
				/* Room: MAXREPLAY spare bytes past BUFSZ. */
				memcpy(out + k, c->replay, c->nreplay);
				k += c->nreplay;
				c->replayed = 1;
			}
		}
	}
	for (j = 0; j < nfaults; j++)
		if (faults[j].kind == F_CUT && c2s &&
		    start + n >= faults[j].off)
			c->cut = 1;
	if (c2s)
		dump(out, k);
	d->tail += k;
}

static void
conn_close(struct conn *c)
{
	if (verbose)
		fprintf(stderr,
		    "qproxy: connection %d: %llu bytes client->server, %llu bytes server->client\n",
		    c->id, c->c2s.out, c->s2c.out);
	if (c->sreset) {
		struct linger rst = {1, 0};

		setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	}
	close(c->cfd);
	close(c->sfd);
	free(c->replay);
	free(c->fc2s);
	free(c->fs2c);
	free(c);
}

/* Read from src into d; returns -1 when the connection must end. */
static int
dir_read(struct conn *c, struct dir *d, int src, int c2s)
{
	static char in[BUFSZ];
	ssize_t r;
	size_t room;

	if (d->head == d->tail)
		d->head = d->tail = 0;
	if (d->tail >= BUFSZ || d->eof || c->cut)
		return (0);
	room = BUFSZ - d->tail;
	r = read(src, in, room);
	if (r == -1 && errno == ECONNRESET && src == c->sfd)
		c->sreset = 1;
	if (r == -1)
		return (errno == EAGAIN || errno == EINTR ? 0 : -1);
	if (r == 0) {
		d->eof = 1;
		return (0);
	}
	apply(c, d, c2s, in, (size_t)r);
	d->in += (unsigned long long)r;
	return (0);
}

static int
dir_write(struct dir *d, int dst)
{
	ssize_t w;

	if (d->head < d->tail) {
		w = write(dst, d->buf + d->head, d->tail - d->head);
		if (w == -1)
			return (errno == EAGAIN || errno == EINTR ? 0 : -1);
		d->head += (size_t)w;
		d->out += (unsigned long long)w;
		/* Empty again: make room, or a full buffer never reads more. */
		if (d->head == d->tail)
			d->head = d->tail = 0;
	}
	if (d->head == d->tail && d->eof && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = 1;
	}
	return (0);
}

int
main(int argc, char *argv[])
{
	struct qaddr la, ta, sa, *src = NULL;
	const char *ready = NULL, *laddr = "127.0.0.1:0", *taddr;
	char name[256];
	int ch, lfd, port = -1, nconn = 0, limit = -1, i;

	h_prog = "qproxy";
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+f:n:p:P:s:vw:")) != -1) {
		switch (ch) {
		case 'f':
			add_fault(optarg);
			break;
		case 'n':
			limit = (int)num(optarg, "connection count");
			break;
		case 'p':
			port = (int)num(optarg, "port");
			break;
		case 'P':
			ready = optarg;
			break;
		case 's':
			if (h_parse_addr(optarg, &sa) == -1)
				h_diex("bad source address: %s", optarg);
			src = &sa;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			dumpfd = open(optarg,
			    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (dumpfd == -1)
				h_die("%s", optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: qproxy [-v] [-P readyfile] [-p port] [-n nconn] [-w dumpfile] [-s source] [-f fault]... [listen_addr] target_addr\n");
			exit(64);
		}
	}
	if (lose_node != NULL && nfaults > 1)
		h_diex("lose= goes alone, with no other fault");
	argc -= optind;
	argv += optind;
	if (argc == 2)
		laddr = *argv++;
	else if (argc != 1)
		h_diex("need [listen_addr] target_addr");
	taddr = argv[0];
	if (h_parse_addr(laddr, &la) == -1)
		h_diex("bad listen address: %s", laddr);
	if (h_parse_addr(taddr, &ta) == -1)
		h_diex("bad target address: %s", taddr);
	if (port >= 0)
		h_set_port(&la, port);
	lfd = h_bind(&la, 128, 1);
	set_nonblock(lfd);
	h_sock_name(lfd, name, sizeof(name));
	h_write_ready(ready, name);

	for (;;) {
		struct pollfd pfd[1 + 2 * MAXCONN];
		int idx[1 + 2 * MAXCONN];
		int n = 0, live = 0;

		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < MAXCONN; i++) {
			struct conn *c = conns[i];

			if (c == NULL)
				continue;
			live++;
			/* client side: read c2s, write s2c */
			pfd[n].fd = c->cfd;
			pfd[n].events = 0;
			if (!c->c2s.eof && !c->cut && c->c2s.tail < BUFSZ)
				pfd[n].events |= POLLIN;
			if (c->s2c.head < c->s2c.tail)
				pfd[n].events |= POLLOUT;
			idx[n++] = i;
			pfd[n].fd = c->sfd;
			pfd[n].events = 0;
			if (!c->s2c.eof && !c->cut && c->s2c.tail < BUFSZ)
				pfd[n].events |= POLLIN;
			if (c->c2s.head < c->c2s.tail)
				pfd[n].events |= POLLOUT;
			idx[n++] = i;
		}
		if (live == MAXCONN)
			pfd[0].events = 0;
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			h_die("poll");
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (cfd >= 0) {
				int sfd = h_connect_from(&ta, src);
				struct conn *c;

				nconn++;
				if (sfd == -1) {
					if (verbose)
						fprintf(stderr,
						    "qproxy: connect %s: %s\n",
						    taddr, strerror(errno));
					close(cfd);
				} else {
					c = calloc(1, sizeof(*c));
					if (c == NULL)
						h_die("malloc");
					c->replay = malloc(MAXREPLAY);
					c->fc2s = calloc(1, sizeof(*c->fc2s));
					c->fs2c = calloc(1, sizeof(*c->fs2c));
					if (c->replay == NULL ||
					    c->fc2s == NULL || c->fs2c == NULL)
						h_die("malloc");
					c->cfd = cfd;
					c->sfd = sfd;
					c->id = nconn;
					c->faulty = limit < 0 || nconn <= limit;
					set_nonblock(cfd);
					set_nonblock(sfd);
					for (i = 0; i < MAXCONN; i++)
						if (conns[i] == NULL)
							break;
					conns[i] = c;
				}
			}
		}
		for (i = 1; i < n; i += 2) {
			struct conn *c = conns[idx[i]];
			short cr = pfd[i].revents, sr = pfd[i + 1].revents;
			int bad = 0;

			if ((cr | sr) & POLLERR)
				bad = -1;
			if (sr & POLLERR)
				c->sreset = 1;
			if (cr & (POLLIN | POLLHUP))
				bad |= dir_read(c, &c->c2s, c->cfd, 1);
			if (sr & (POLLIN | POLLHUP))
				bad |= dir_read(c, &c->s2c, c->sfd, 0);
			/*
			 * A hang-up on a side that has sent its end and still
			 * has nothing to receive: that peer is gone for good.
			 */
			if ((cr & POLLHUP) && c->c2s.eof && !c->s2c.shut &&
			    c->s2c.head == c->s2c.tail)
				bad = -1;
			if ((sr & POLLHUP) && c->s2c.eof && !c->c2s.shut &&
			    c->c2s.head == c->c2s.tail)
				bad = -1;
			if (dir_write(&c->c2s, c->sfd) == -1) {
				bad = -1;
				if (errno == ECONNRESET || errno == EPIPE)
					c->sreset = 1;
			}
			bad |= dir_write(&c->s2c, c->cfd);
			if (c->cut && c->c2s.head == c->c2s.tail)
				bad = -1;
			if (bad || (c->c2s.shut && c->s2c.shut)) {
				conns[idx[i]] = NULL;
				conn_close(c);
			}
		}
	}
}
