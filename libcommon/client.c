#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "net.h"

/* Write all of p within the deadline; -1 with errno. */
static int
write_all(int fd, const char *p, size_t n, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (net_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return (-1);
		}
		(void)poll(&pfd, 1, (int)(deadline - net_now_ms()));
	}
	return (0);
}

static enum client_err
fail(struct link *l, enum client_err e, char *why, size_t whylen,
    const char *fmt, const char *a, size_t alen)
{
	if (a != NULL)
		snprintf(why, whylen, fmt, (int)alen, a);
	else
		snprintf(why, whylen, "%s", fmt);
	if (l->fd != -1) {
		close(l->fd);
		l->fd = -1;
	}
	return (e);
}

enum client_err
client_open(const struct addr *a, int timeout_ms, struct link *l,
    const struct wire_hello *me, struct wire_hello *peer, char *why,
    size_t whylen)
{
	long long deadline = net_now_ms() + timeout_ms;
	char hello[WIRE_HELLO_MAX];
	struct pollfd pfd;
	struct wire_msg m;
	const char *body;
	size_t len;
	ssize_t r;
	int fd, gai;

	fd = net_connect(a, timeout_ms, &gai);
	link_reset(l, fd);
	if (fd == -1) {
		if (gai != 0) {
			snprintf(why, whylen, "resolve %s: %s", a->host,
			    gai_strerror(gai));
			return (gai == EAI_AGAIN ? CLIENT_TEMPFAIL :
			    CLIENT_NOHOST);
		}
		snprintf(why, whylen, "%s", errno == ETIMEDOUT ? "timed out" :
		    strerror(errno));
		if (errno == ETIMEDOUT)
			return (CLIENT_TEMPFAIL);
		return (errno == EMFILE || errno == ENFILE || errno ==
		    ENOBUFS || errno == ENOMEM ? CLIENT_OSERR :
		    CLIENT_UNAVAILABLE);
	}
	if (write_all(fd, hello, wire_put_hello(hello, me), deadline) == -1)
		goto ioerr;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = link_frame(l, WIRE_HELLO_MAX, &body, &len);
		if (r > 0)
			break;
		if (r == -1)
			return (fail(l, CLIENT_PROTOCOL, why, whylen,
			    "bad hello from the peer", NULL, 0));
		if (net_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			goto ioerr;
		}
		(void)poll(&pfd, 1, (int)(deadline - net_now_ms()));
		r = link_read(l);
		if (r == 0)
			return (fail(l, CLIENT_PROTOCOL, why, whylen,
			    "the peer closed the connection during the hello",
			    NULL, 0));
		if (r == -1 && errno != EAGAIN)
			goto ioerr;
	}
	if (wire_decode(body, len, &m) == -1)
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer", NULL, 0));
	if (m.cmd == W_ERROR) {
		struct frame_iter it;
		const char *p = "";
		size_t n = 0;

		frame_iter_init(&it, m.args, m.argslen);
		(void)frame_next_part(&it, &p, &n);
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "refused: %.*s", p, n));
	}
	if (wire_get_hello(&m, peer) == -1)
		return (fail(l, CLIENT_PROTOCOL, why, whylen,
		    "bad hello from the peer", NULL, 0));
	link_take(l, r);
	if (wire_version(me, peer) == 0) {
		snprintf(why, whylen, "no common protocol version (we speak "
		    "%u-%u, the peer %u-%u)", me->vmin, me->vmax, peer->vmin,
		    peer->vmax);
		return (fail(l, CLIENT_PROTOCOL, why + strlen(why), 1, "",
		    NULL, 0));
	}
	if (peer->sealed != me->sealed)
		return (fail(l, CLIENT_PROTOCOL, why, whylen, peer->sealed ?
		    "the peer is sealed (-k) and we are not" :
		    "the peer is not sealed", NULL, 0));
	link_set_peer_max(l, peer->maxmsg);
	return (CLIENT_OK);
ioerr:
	{
		int timedout = errno == ETIMEDOUT;

		return (fail(l, timedout ? CLIENT_TEMPFAIL : CLIENT_UNAVAILABLE,
		    why, whylen, timedout ? "timed out" : strerror(errno), NULL,
		    0));
	}
}
