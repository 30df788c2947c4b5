/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * A Spread session's set-up (see spread.h and shared/spread/PROTOCOL.md):
 * the codec of its four steps, for both ends (hello, authentication offer,
 * choice, accept or reject), and a client's blocking set-up over a socket
 * with a deadline, and what a failed one was.  Every count read from the
 * wire is checked against the bytes present and against a caller's bound
 * before use.
 */
#include "spread.h"

#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* The set-up's four steps, both ends. */

int
spread_version_has_patch(unsigned major, unsigned minor)
{
	return (major * 10000 + minor * 100 > 31400);
}

int
spread_version_has_auth(unsigned major, unsigned minor, unsigned patch)
{
	return (major * 10000 + minor * 100 + patch >= 31600);
}

int
spread_version_reply_patch(unsigned major, unsigned minor, unsigned patch)
{
	return (major * 10000 + minor * 100 + patch >= 31500);
}

ssize_t
spread_hello_encode(uint8_t *buf, size_t cap, const struct spread_hello *h)
{
	size_t n = 0, need;
	int patch = spread_version_has_patch(h->major, h->minor);

	need = 4 + patch + h->name_len;
	if (h->name_len > SPREAD_MAX_PRIVATE || cap < need) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[n++] = h->major;
	buf[n++] = h->minor;
	if (patch)
		buf[n++] = h->patch;
	buf[n++] = h->flags;
	buf[n++] = h->name_len;
	memcpy(buf + n, h->name, h->name_len);
	return (n + h->name_len);
}

ssize_t
spread_hello_decode(const uint8_t *p, size_t n, struct spread_hello *h)
{
	size_t hdr;

	memset(h, 0, sizeof(*h));
	if (n < 2)
		return (0);
	h->major = p[0];
	h->minor = p[1];
	/* Below 3.1.0 the daemon answers after the version bytes. */
	if (h->major * 10000 + h->minor * 100 < 30100)
		return (2);
	h->has_patch = spread_version_has_patch(h->major, h->minor);
	hdr = 2 + h->has_patch + 2;
	if (n < hdr)
		return (0);
	if (h->has_patch)
		h->patch = p[2];
	h->flags = p[hdr - 2];
	h->name_len = p[hdr - 1];
	/* A length the daemon refuses: it reads no name. */
	if (h->name_len > SPREAD_MAX_PRIVATE)
		return (hdr);
	if (n < hdr + h->name_len)
		return (0);
	memcpy(h->name, p + hdr, h->name_len);
	h->name[h->name_len] = '\0';
	return (hdr + h->name_len);
}

ssize_t
spread_offer_encode(uint8_t *buf, size_t cap, const char *methods)
{
	size_t len = strlen(methods);

	if (len > SPREAD_MAX_AUTH_LIST || cap < len + 1) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[0] = len;
	memcpy(buf + 1, methods, len);
	return (len + 1);
}

ssize_t
spread_offer_decode(const uint8_t *p, size_t n, struct spread_offer *o)
{
	memset(o, 0, sizeof(*o));
	if (n < 1)
		return (0);
	if ((int8_t)p[0] < 0) {
		o->code = (int8_t)p[0];
		return (1);
	}
	if (p[0] > SPREAD_MAX_AUTH_LIST) {
		errno = EPROTO;
		return (-1);
	}
	if (n < 1 + (size_t)p[0])
		return (0);
	o->len = p[0];
	memcpy(o->methods, p + 1, o->len);
	o->methods[o->len] = '\0';
	return (1 + o->len);
}

int
spread_offer_has(const struct spread_offer *o, const char *method)
{
	size_t ml = strlen(method), i = 0;

	/* Each name is followed by one space. */
	while (i < o->len) {
		const char *sp = memchr(o->methods + i, ' ', o->len - i);
		size_t end = sp ? (size_t)(sp - o->methods) : o->len;

		if (end - i == ml && memcmp(o->methods + i, method, ml) == 0)
			return (1);
		i = end + 1;
	}
	return (0);
}

ssize_t
spread_choice_encode(uint8_t *buf, size_t cap, const char *const *m, int count)
{
	if (cap < SPREAD_AUTH_CHOICE || count < 0 ||
	    count > SPREAD_AUTH_SLOTS) {
		errno = EMSGSIZE;
		return (-1);
	}
	memset(buf, 0, SPREAD_AUTH_CHOICE);
	for (int i = 0; i < count; i++) {
		size_t len = strlen(m[i]);

		if (len == 0 || len >= SPREAD_AUTH_NAME) {
			errno = EMSGSIZE;
			return (-1);
		}
		memcpy(buf + i * SPREAD_AUTH_NAME, m[i], len);
	}
	return (SPREAD_AUTH_CHOICE);
}

ssize_t
spread_choice_decode(const uint8_t *p, size_t n, struct spread_choice *c)
{
	memset(c, 0, sizeof(*c));
	if (n < SPREAD_AUTH_CHOICE)
		return (0);
	/* The list ends at the first empty slot; never past the third. */
	for (int i = 0; i < SPREAD_AUTH_SLOTS; i++) {
		const uint8_t *s = p + i * SPREAD_AUTH_NAME;
		const uint8_t *z = memchr(s, 0, SPREAD_AUTH_NAME);
		size_t len = z ? (size_t)(z - s) : SPREAD_AUTH_NAME;

		if (len == 0)
			break;
		memcpy(c->method[i], s, len);
		c->method[i][len] = '\0';
		c->count++;
	}
	return (SPREAD_AUTH_CHOICE);
}

ssize_t
spread_accept_encode(uint8_t *buf, size_t cap, const struct spread_accept *a)
{
	size_t len = strlen(a->private_group), n = 0;

	if (len >= SPREAD_GROUP_SIZE || cap < 5 + len) {
		errno = EMSGSIZE;
		return (-1);
	}
	buf[n++] = SPREAD_ACCEPT_SESSION;
	buf[n++] = a->major;
	buf[n++] = a->minor;
	if (a->has_patch)
		buf[n++] = a->patch;
	buf[n++] = len;
	memcpy(buf + n, a->private_group, len);
	return (n + len);
}

ssize_t
spread_accept_decode(const uint8_t *p, size_t n, int with_patch,
    struct spread_accept *a)
{
	size_t hdr = with_patch ? 5 : 4;

	memset(a, 0, sizeof(*a));
	if (n < 1)
		return (0);
	if ((int8_t)p[0] < 0) {
		a->code = (int8_t)p[0];
		return (1);
	}
	if (p[0] != SPREAD_ACCEPT_SESSION) {
		errno = EPROTO;
		return (-1);
	}
	if (n < hdr)
		return (0);
	if ((int8_t)p[1] < 0 || (int8_t)p[2] < 0 ||
	    (with_patch && (int8_t)p[3] < 0) ||
	    p[hdr - 1] >= SPREAD_GROUP_SIZE) {
		errno = EPROTO;
		return (-1);
	}
	a->code = SPREAD_ACCEPT_SESSION;
	a->major = p[1];
	a->minor = p[2];
	a->has_patch = with_patch;
	a->patch = with_patch ? p[3] : 0;
	a->len = p[hdr - 1];
	if (n < hdr + a->len)
		return (0);
	memcpy(a->private_group, p + hdr, a->len);
	a->private_group[a->len] = '\0';
	return (hdr + a->len);
}

/* ------------------------------------------------------------------ */
/* Client session set-up. */

/* Wait for events on fd until the deadline: 1 ready, 0 timed out. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline - net_now_ms();
		if (left <= 0)
			return (0);
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return (1);
		if (r == -1 && errno != EINTR)
			return (-1);
	}
}

/*
 * Connect to the daemon through net.c, as every quilt client does; a name
 * that did not resolve is errno ENXIO with *detail saying why, as
 * spread_session_open promises.
 */
static int
connect_daemon(const struct spread_addr *a, int timeout_ms, const char **detail)
{
	struct addr na;
	int fd, gai, one = 1;

	memset(&na, 0, sizeof(na));
	if (a->is_unix) {
		na.kind = ADDR_UNIX;
		snprintf(na.path, sizeof(na.path), "%s", a->path);
	} else {
		na.kind = ADDR_TCP;
		snprintf(na.host, sizeof(na.host), "%s", a->host);
		na.port_lo = na.port_hi = a->port;
	}
	if ((fd = net_connect(&na, timeout_ms, &gai)) == -1) {
		if (gai != 0) {
			*detail = gai == EAI_SYSTEM ? strerror(errno) :
						      gai_strerror(gai);
			errno = ENXIO;
		}
		return (-1);
	}
	/* A session idle for long must notice a daemon that went away. */
	if (!a->is_unix)
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
		    sizeof(one));
	return (fd);
}

/* Read exactly n bytes: 1 done, 0 end of file, -1 error or timeout. */
static int
read_exact(int fd, uint8_t *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r == 0)
			return (0);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return (-1);
		switch (wait_fd(fd, POLLIN, deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return (-1);
		case -1:
			return (-1);
		}
	}
	return (1);
}

static int
write_all(int fd, const uint8_t *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno != EAGAIN)
			return (-1);
		switch (wait_fd(fd, POLLOUT, deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return (-1);
		case -1:
			return (-1);
		}
	}
	return (0);
}

int
spread_session_open(struct spread_session *s, const struct spread_addr *a,
    const char *name, int flags, int timeout_ms, int *code, const char **detail)
{
	long long deadline = net_now_ms() + timeout_ms;
	struct spread_hello h = {.major = 5, .minor = 0, .patch = 1};
	struct spread_offer o;
	uint8_t buf[128];
	size_t need;
	ssize_t n;
	int fd, r, err;
	static const char *const null_auth[] = {"NULL"};

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	*code = SPREAD_COULD_NOT_CONNECT;
	*detail = NULL;
	if ((fd = connect_daemon(a, timeout_ms, detail)) == -1)
		return (-1);

	/* The hello must go in one write: the daemon reads it at once. */
	h.flags = flags;
	if (strlen(name) > SPREAD_MAX_PRIVATE) {
		*code = SPREAD_REJECT_ILLEGAL_NAME;
		*detail = "private name longer than 10 bytes";
		errno = EINVAL;
		goto fail;
	}
	h.name_len = strlen(name);
	memcpy(h.name, name, h.name_len);
	n = spread_hello_encode(buf, sizeof(buf), &h);
	if (write_all(fd, buf, n, deadline) == -1)
		goto io;

	/* Read exactly what the reply takes, never a byte of what follows. */
	if ((r = read_exact(fd, buf, 1, deadline)) != 1)
		goto rd;
	need = (int8_t)buf[0] < 0 ? 0 : buf[0];
	if (need > SPREAD_MAX_AUTH_LIST)
		goto garbage;
	if (need > 0 && (r = read_exact(fd, buf + 1, need, deadline)) != 1)
		goto rd;
	if (spread_offer_decode(buf, 1 + need, &o) <= 0)
		goto garbage;
	if (o.code < 0) {
		*code = o.code;
		*detail = spread_errtext(o.code);
		errno = 0;
		goto fail;
	}
	if (!spread_offer_has(&o, "NULL")) {
		/* An empty offer is followed by the daemon's REJECT_AUTH. */
		*code = SPREAD_REJECT_AUTH;
		*detail = o.len == 0 ?
		    "the daemon allows no authentication" :
		    "the daemon does not offer NULL authentication";
		errno = 0;
		goto fail;
	}
	n = spread_choice_encode(buf, sizeof(buf), null_auth, 1);
	if (write_all(fd, buf, n, deadline) == -1)
		goto io;

	if ((r = read_exact(fd, buf, 1, deadline)) != 1)
		goto rd;
	if ((int8_t)buf[0] < 0) {
		*code = (int8_t)buf[0];
		*detail = spread_errtext(*code);
		errno = 0;
		goto fail;
	}
	if (buf[0] != SPREAD_ACCEPT_SESSION)
		goto garbage;
	if ((r = read_exact(fd, buf + 1, 4, deadline)) != 1)
		goto rd;
	need = buf[4];
	if (need >= SPREAD_GROUP_SIZE)
		goto garbage;
	if (need > 0 && (r = read_exact(fd, buf + 5, need, deadline)) != 1)
		goto rd;
	if (spread_accept_decode(buf, 5 + need, 1, &s->reply) <= 0 ||
	    s->reply.len == 0)
		goto garbage;
	if (s->reply.major < 3) {
		*code = SPREAD_REJECT_VERSION;
		*detail = "the daemon's version is older than 3";
		errno = 0;
		goto fail;
	}
	s->fd = fd;
	*code = SPREAD_ACCEPT_SESSION;
	return (0);
rd:
	if (r == 0) {
		*code = SPREAD_CONNECTION_CLOSED;
		*detail = "the daemon closed the connection";
		errno = 0;
		goto fail;
	}
io:
	*code = errno == ETIMEDOUT ? SPREAD_COULD_NOT_CONNECT :
				     SPREAD_CONNECTION_CLOSED;
	*detail = errno == ETIMEDOUT ? "timed out" : strerror(errno);
	goto fail;
garbage:
	*code = SPREAD_CONNECTION_CLOSED;
	*detail = "the daemon's reply is not the Spread protocol";
	errno = EPROTO;
fail:
	err = errno;
	close(fd);
	errno = err;
	return (-1);
}

void
spread_setup_error(struct spread_setup_err *e, const struct spread_addr *a,
    int code, int err, const char *detail)
{
	e->name = spread_errname(code);
	e->fault = SPREAD_FAULT_REFUSED;
	if (e->name == NULL) {
		e->fault = SPREAD_FAULT_PROTOCOL;
		snprintf(e->text, sizeof(e->text),
		    "the daemon answered with unknown code %d", code);
		return;
	}
	if (code == SPREAD_COULD_NOT_CONNECT && err == ENXIO) {
		e->fault = SPREAD_FAULT_RESOLVE;
		snprintf(e->text, sizeof(e->text), "%s: resolve %s: %s",
		    e->name, a->host, detail ? detail : "unknown error");
	} else if (code == SPREAD_COULD_NOT_CONNECT && err == ETIMEDOUT) {
		e->fault = SPREAD_FAULT_TIMEOUT;
		snprintf(e->text, sizeof(e->text), "%s: timed out", e->name);
	} else if (code == SPREAD_COULD_NOT_CONNECT) {
		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM)
			e->fault = SPREAD_FAULT_RESOURCE;
		snprintf(e->text, sizeof(e->text), "%s: %s%s%s", e->name,
		    a->is_unix ? a->path : "", a->is_unix ? ": " : "",
		    strerror(err));
	} else {
		if (code == SPREAD_CONNECTION_CLOSED && err == EPROTO)
			e->fault = SPREAD_FAULT_PROTOCOL;
		snprintf(e->text, sizeof(e->text), "%s: %s", e->name,
		    detail ? detail : spread_errtext(code));
	}
}
