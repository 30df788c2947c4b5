/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Unit tests of libcommon/spreadd, the daemon's side of a Spread session.
 * The client bytes of every capture in tests/spread/vectors (the 47 real
 * exchanges) go into the state machine, and what it answers is compared
 * byte for byte with what the real daemon answered; every message the
 * daemons sent is built again with the encoders and compared byte for
 * byte.  Where the codec answers otherwise on purpose (PROTOCOL.md 11.2),
 * the table `differ` says what it must answer instead.  Then every split
 * of the input, each malformed header of sections 8 and 11.2, big-endian
 * clients and the encoders' limits.  TAP output.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spread.h"
#include "spreadd.h"
#include "tcase.h"
#include "../helpers/spread-vec.h"

static char vecdir[4096];

static void
hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < cap; i++)
		o += snprintf(out + o, cap - o, "%s%02x", i ? " " : "", p[i]);
	if (o + 4 >= cap && cap > 4)
		strcpy(out + cap - 5, "...");
}

/* ------------------------------------------------------------------ */
/* The captures: the hex dumps, the strace of file 33, who closed first. */

struct capture {
	char name[256];
	struct vec_file vf;
	int eof[64]; /* per connection: the client closed before the daemon */
	char version[3]; /* from "Daemon: Spread X.Y.Z" */
	const char *methods; /* "" where the daemon offered none (37) */
};

/* strace -xx lines: sendto is client->daemon, recvfrom daemon->client. */
static void
load_strace(const char *path, struct vec_file *vf)
{
	FILE *f = fopen(path, "r");
	char line[8192];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		int dir = strncmp(line, "sendto(", 7) == 0 ? 0 :
		    strncmp(line, "recvfrom(", 9) == 0	   ? 1 :
							     -1;
		const char *q = strchr(line, '"');

		if (dir < 0 || q == NULL)
			continue;
		if (vf->n == 0) {
			vf->c = calloc(1, sizeof(*vf->c));
			if (vf->c == NULL)
				abort();
			vf->n = 1;
		}
		for (q++; q[0] == '\\' && q[1] == 'x'; q += 4)
			vec_push(&vf->c[0].s[dir],
			    vec_hex(q[2]) << 4 | vec_hex(q[3]));
	}
	fclose(f);
	for (int d = 0; d < 2 && vf->n; d++)
		vf->c[0].s[d].declared = vf->c[0].s[d].len;
}

static int
cap_load(const char *file, struct capture *c)
{
	char path[8192], line[8192];
	FILE *f;
	int i = 0;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", file);
	snprintf(path, sizeof(path), "%s/%s", vecdir, file);
	if (vec_load(path, &c->vf) == -1)
		return (-1);
	if (c->vf.n == 0)
		load_strace(path, &c->vf);
	c->version[0] = 5, c->version[1] = 0, c->version[2] = 1;
	c->methods = "NULL ";
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, "Spread "), *fc, *fd;
		unsigned a, b, d;

		if (strncmp(line, "Daemon:", 7) == 0 && p != NULL &&
		    sscanf(p, "Spread %u.%u.%u", &a, &b, &d) == 3)
			c->version[0] = a, c->version[1] = b, c->version[2] = d;
		if (strncmp(line, "Daemon:", 7) == 0 &&
		    strstr(line, "AllowedAuthMethods = \"\"") != NULL)
			c->methods = "";
		if (strncmp(line, "Connection control:", 19) != 0 || i >= 64)
			continue;
		fc = strstr(line, "from client");
		fd = strstr(line, "from daemon");
		c->eof[i++] = fc != NULL && (fd == NULL || fc < fd);
	}
	fclose(f);
	return (0);
}

/* ------------------------------------------------------------------ */
/* A room: the names of one daemon, and a session fed as a room feeds it. */

struct names {
	char n[64][SPREAD_MAX_PRIVATE + 1];
	int count, calls;
};

static int
claim(void *arg, const char *name, size_t len)
{
	struct names *t = arg;

	t->calls++;
	if (strlen(name) != len)
		abort();
	for (int i = 0; i < t->count; i++)
		if (strcmp(t->n[i], name) == 0)
			return (-1);
	if (t->count < 64)
		strcpy(t->n[t->count++], name);
	return (0);
}

struct rec {
	int kind, code;
	size_t at; /* input offset of what it took */
	struct spreadd_req req; /* views into the input */
};

struct run {
	struct spreadd s;
	struct spreadd_conf conf;
	char daemon[SPREAD_MAX_PROC + 1];
	uint8_t out[4096]; /* handshake replies, in order */
	size_t outlen;
	struct rec ev[512];
	int nev;
	int failed; /* spreadd_input returned -1 */
	enum spreadd_err err;
	int err_errno;
	size_t taken;
	size_t maxheld; /* the most bytes a "need more" left waiting */
	int copies; /* hand each call a copy of exactly the held bytes */
	struct names before; /* the daemon's names when the session began */
	size_t setup; /* the capture's set-up bytes from the daemon */
	int stale; /* events with a code or reply bytes they should not have */
};

static void
run_init(struct run *r, struct names *t, const char *daemon, const uint8_t v[3],
    const char *methods, unsigned in, unsigned ik)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->daemon, sizeof(r->daemon), "%s", daemon);
	r->conf.daemon = r->daemon;
	r->conf.major = v[0];
	r->conf.minor = v[1];
	r->conf.patch = v[2];
	r->conf.methods = methods;
	r->conf.claim = claim;
	if (spreadd_init(&r->s, &r->conf, t, in, ik) == -1)
		abort();
}

static void
record(struct run *r, const struct spreadd_ev *ev, const uint8_t *base,
    const uint8_t *p)
{
	struct rec *e;

	if (ev->len > 0 && r->outlen + ev->len <= sizeof(r->out)) {
		memcpy(r->out + r->outlen, ev->reply, ev->len);
		r->outlen += ev->len;
	}
	if (r->nev == 512)
		return;
	e = &r->ev[r->nev++];
	e->kind = ev->kind;
	e->code = ev->code;
	e->at = r->taken;
	memset(&e->req, 0, sizeof(e->req));
	/* Only a refusal has a code; only the set-up replies have bytes. */
	if ((ev->kind != SPREADD_REFUSE && ev->code != 0) ||
	    (ev->kind > SPREADD_REFUSE && ev->len != 0))
		r->stale++;
	if (ev->kind < SPREADD_MCAST || ev->kind > SPREADD_KILL)
		return;
	e->req = ev->req;
	/* Views into a copy are moved back onto the input. */
	e->req.groups = base + r->taken + (ev->req.groups - p);
	e->req.data = base + r->taken + (ev->req.data - p);
}

/* The room has in[0..avail): it takes what the session takes. */
static void
run_feed(struct run *r, const uint8_t *in, size_t avail)
{
	struct spreadd_ev ev;
	const uint8_t *p;
	uint8_t *copy = NULL;
	ssize_t n;

	while (!r->failed && r->taken < avail) {
		size_t held = avail - r->taken;

		p = in + r->taken;
		if (r->copies) /* exactly the held bytes */
			p = copy = (uint8_t *)tc_exact(p, held);
		memset(&ev, 0xa5, sizeof(ev));
		n = spreadd_input(&r->s, p, held, &ev);
		if (n > 0)
			record(r, &ev, in, p);
		free(copy);
		copy = NULL;
		if (n == -1) {
			r->failed = 1;
			r->err = r->s.err;
			r->err_errno = errno;
			break;
		}
		if (n == 0) {
			if (held > r->maxheld)
				r->maxheld = held;
			break;
		}
		r->taken += n;
	}
}

/* The client's bytes stop: what a room does at its end or timeout. */
static void
run_end(struct run *r, const uint8_t *in, size_t len, int eof)
{
	struct spreadd_ev ev;

	if (r->failed || r->s.state == SPREADD_DONE)
		return;
	spreadd_end(&r->s, in + r->taken, len - r->taken, eof, &ev);
	record(r, &ev, in, in + r->taken);
}

/* ------------------------------------------------------------------ */
/* Every connection of every capture. */

/*
 * Where the codec answers otherwise than the daemon of the capture, on
 * purpose: what it must answer instead (hex) and why.
 */
/* clang-format off */
static const struct {
	const char *file;
	int conn;
	const char *want;
	const char *why;
} differ[] = {
	{"25", 1, "05 4e 55 4c 4c 20",
	    "a hello in two writes is taken whole (11.2: more tolerant)"},
	{"26", 1,
	    "05 4e 55 4c 4c 20 01 05 00 01 0f 23 70 69 70 65 23 6c 6f 63 61 "
	    "6c 68 6f 73 74",
	    "a hello and choice in one write: Spread's name read took auth "
	    "bytes"},
	{"34", 1,
	    "05 4e 55 4c 4c 20 01 05 00 01 0c 23 70 23 6c 6f 63 61 6c 68 6f "
	    "73 74",
	    "the same, a 1-byte name"},
	{"34", 2,
	    "05 4e 55 4c 4c 20 01 05 00 01 14 23 70 69 70 65 6c 69 6e 65 64 "
	    "23 6c 6f 63 61 6c 68 6f 73 74",
	    "the same, a 9-byte name"},
	{"34", 23,
	    "05 4e 55 4c 4c 20 01 05 00 01 11 23 61 75 74 68 32 33 23 6c 6f "
	    "63 61 6c 68 6f 73 74",
	    "three NULL slots: 5.0.1 read past them; 4.4.0 accepts, as we do"},
	{"35", 1,
	    "05 4e 55 4c 4c 20 01 04 04 00 0c 23 70 23 6c 6f 63 61 6c 68 6f "
	    "73 74",
	    "a hello and choice in one write, 1-byte name"},
	{"35", 2,
	    "05 4e 55 4c 4c 20 01 04 04 00 14 23 70 69 70 65 6c 69 6e 65 64 "
	    "23 6c 6f 63 61 6c 68 6f 73 74",
	    "the same, a 9-byte name"},
	{"36", 1,
	    "05 4e 55 4c 4c 20 01 04 00 00 0c 23 70 23 6c 6f 63 61 6c 68 6f "
	    "73 74",
	    "a hello and choice in one write, 1-byte name"},
	{"36", 2,
	    "05 4e 55 4c 4c 20 01 04 00 00 14 23 70 69 70 65 6c 69 6e 65 64 "
	    "23 6c 6f 63 61 6c 68 6f 73 74",
	    "the same, a 9-byte name"},
	{"36", 6, "", "4.0's -7 to a client that closes at once: 5.0's none"},
	{"36", 8, "", "4.0's -4 to a hello cut short: 5.0's silent close"},
	{"36", 12, "", "the same"},
	{"36", 14, "", "the same"},
	{"36", 23,
	    "05 4e 55 4c 4c 20 01 04 00 00 11 23 61 75 74 68 32 33 23 6c 6f "
	    "63 61 6c 68 6f 73 74",
	    "three NULL slots: 4.0.0 read past them; 4.4.0 accepts, as we do"},
};
/* clang-format on */

/* Client bytes the codec refuses: the first request that breaks a rule. */
/* clang-format off */
static const struct {
	const char *file;
	int conn, last; /* connections conn..last (0: conn alone) */
	enum spreadd_err err;
	const char *why;
} refused[] = {
	{"18", 1, 0, SPREADD_E_GROUP, "a 32-byte group name with no NUL"},
	{"20", 1, 0, SPREADD_E_TYPE, "AGREED|SAFE"},
	{"20", 2, 0, SPREADD_E_TYPE, "no service bit"},
	{"20", 3, 0, SPREADD_E_TYPE, "JOIN|AGREED"},
	{"20", 4, 0, SPREADD_E_TYPE, "AGREED|SELF_DISCARD|0x100 (Spread: taken)"},
	{"21", 1, 0, SPREADD_E_SENDER, "another session's name"},
	{"21", 2, 0, SPREADD_E_SENDER, "another daemon's name"},
	{"22", 1, 0, SPREADD_E_NGROUPS, "101 groups"},
	{"22", 2, 0, SPREADD_E_NGROUPS, "num_groups -1"},
	{"22", 3, 0, SPREADD_E_SIZE, "data_len 144001"},
	{"22", 4, 0, SPREADD_E_HINT, "hint 0x80000081"},
	{"38", 2, 0, SPREADD_E_TYPE, "AGREED|0x100 (Spread: skips its policy)"},
	{"40", 2, 0, SPREADD_E_TYPE, "AGREED|REJECT_MESS (Spread: echoed)"},
	{"41", 2, 12, SPREADD_E_TYPE, "type bits Spread passes on"},
	{"43", 1, 0, SPREADD_E_NGROUPS, "JOIN with num_groups 0"},
	{"46", 1, 0, SPREADD_E_TYPE, "AGREED|REJECT_MESS that libspread sent"},
	{"44", 2, 0, SPREADD_E_TYPE, "AGREED|GROUPS_MESS (Spread: crashes)"},
};
/* clang-format on */

struct tally {
	int files, conns, same, differ, refused, requests;
	int regular, memb, trans, leave, tails;
	int rejects, bits, dropped; /* what we would not have sent */
	size_t maxheld;
};

static struct tally all;
static struct capture caps[64];
static int ncaps;
/* Every session's run, kept for the deliveries. */
static struct run *runs[64][64];

static int
load_all(void)
{
	DIR *d;
	struct dirent *e;
	char *names[128];
	int nn = 0;

	if (ncaps > 0)
		return (0);
	if ((d = opendir(vecdir)) == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL && nn < 128)
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
		    e->d_name[1] >= '0' && e->d_name[1] <= '9' &&
		    e->d_name[2] == '-' && strcmp(e->d_name, "00-INDEX.txt"))
			names[nn++] = strdup(e->d_name);
	closedir(d);
	for (int i = 0; i < nn; i++)
		for (int j = i + 1; j < nn; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	for (int i = 0; i < nn && ncaps < 64; i++) {
		if (cap_load(names[i], &caps[ncaps]) == 0)
			ncaps++;
		free(names[i]);
	}
	return (0);
}

/*
 * The daemon's set-up bytes at the start of dc, by the client decoders:
 * how many there are, and the daemon name, version and private group of
 * an accept.
 */
static size_t
setup_len(const struct vec_stream *dc, int auth, int rpatch, char *daemon,
    uint8_t v[3], char *priv)
{
	struct spread_offer o;
	struct spread_accept a;
	size_t off = 0;
	ssize_t r;

	if (auth) {
		if ((r = spread_offer_decode(dc->b, dc->len, &o)) <= 0)
			return (0);
		off = r;
		if (o.code < 0)
			return (off);
		if (o.len == 0)
			return (off + (off < dc->len));
	}
	r = spread_accept_decode(dc->b + off, dc->len - off, rpatch, &a);
	if (r <= 0)
		return (off);
	if (a.code == SPREAD_ACCEPT_SESSION) {
		const char *h = strchr(a.private_group + 1, '#');

		v[0] = a.major, v[1] = a.minor, v[2] = a.patch;
		if (h != NULL) {
			snprintf(daemon, SPREAD_MAX_PROC + 1, "%s", h + 1);
			memcpy(priv, a.private_group + 1,
			    h - a.private_group - 1);
			priv[h - a.private_group - 1] = '\0';
		}
	}
	return (off + r);
}

/* Run one connection's client bytes through a session; compare. */
static int
check_conn(struct capture *c, int ci, struct names *t)
{
	const struct vec_stream *cd = &c->vf.c[ci].s[0],
				*dc = &c->vf.c[ci].s[1];
	struct run *r;
	struct spread_hello h;
	char daemon[SPREAD_MAX_PROC + 1] = "localhost", priv[32] = "";
	char got[512], want[512];
	uint8_t v[3];
	unsigned in = 0, ik = 0;
	int auth = 1, rpatch = 1, ref = -1;
	size_t slen;

	memcpy(v, c->version, 3);
	if (spread_hello_decode(cd->b, cd->len, &h) > 2) {
		auth = spread_version_has_auth(h.major, h.minor, h.patch);
		rpatch = spread_version_reply_patch(h.major, h.minor, h.patch);
	}
	slen = setup_len(dc, auth, rpatch, daemon, v, priv);
	/* An invented name: Spread's random number and socket. */
	if (h.name_len == 0 && priv[0] == 'r')
		sscanf(priv, "r%u-%u", &in, &ik);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	runs[c - caps][ci] = r;
	run_init(r, t, daemon, v, c->methods, in, ik);
	r->before = *t;
	r->setup = slen;
	run_feed(r, cd->b, cd->len);
	run_end(r, cd->b, cd->len, c->eof[ci]);
	all.conns++;
	if (r->stale) {
		tc_fail("%s#%d: %d events with a stale code or length", c->name,
		    ci + 1, r->stale);
		return (1);
	}
	if (r->maxheld > all.maxheld)
		all.maxheld = r->maxheld;

	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
		if (strncmp(c->name, differ[i].file, 2) == 0 &&
		    ci + 1 == differ[i].conn) {
			hex(got, sizeof(got), r->out, r->outlen);
			if (strcmp(got, differ[i].want) != 0) {
				tc_fail("%s#%d (%s): answered [%s], want [%s]",
				    c->name, ci + 1, differ[i].why, got,
				    differ[i].want);
				return (1);
			}
			hex(got, sizeof(got), dc->b, slen);
			if (strcmp(got, differ[i].want) == 0) {
				tc_fail(
				    "%s#%d: listed as different, but it is the same",
				    c->name, ci + 1);
				return (1);
			}
			all.differ++;
			ref = -2;
		}
	if (ref == -1) {
		if (r->outlen != slen ||
		    (slen > 0 && memcmp(r->out, dc->b, slen) != 0)) {
			hex(got, sizeof(got), r->out, r->outlen);
			hex(want, sizeof(want), dc->b, slen);
			tc_fail("%s#%d: answered [%s], the daemon [%s]",
			    c->name, ci + 1, got, want);
			return (1);
		}
		all.same++;
	}

	/* The requests: every one taken, or the listed one refused. */
	ref = -1;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strncmp(c->name, refused[i].file, 2) == 0 &&
		    ci + 1 >= refused[i].conn &&
		    ci + 1 <=
			(refused[i].last ? refused[i].last : refused[i].conn))
			ref = (int)i;
	if (ref >= 0) {
		if (!r->failed || r->err != refused[ref].err) {
			tc_fail("%s#%d (%s): err %d (%s), want %d", c->name,
			    ci + 1, refused[ref].why, r->failed ? r->err : 0,
			    spreadd_strerror(r->err), refused[ref].err);
			return (1);
		}
		all.refused++;
	} else if (r->failed) {
		tc_fail("%s#%d: refused at %zu: %s", c->name, ci + 1, r->taken,
		    spreadd_strerror(r->err));
		return (1);
	}
	for (int i = 0; i < r->nev; i++) {
		struct spread_msg m;
		const struct rec *e = &r->ev[i];

		if (e->kind < SPREADD_MCAST || e->kind > SPREADD_KILL)
			continue;
		/* The client codec reads the same message. */
		if (spread_msg_decode(cd->b + e->at, cd->len - e->at,
			SPREADD_IN_MAX, &m) != (ssize_t)e->req.size ||
		    m.groups != e->req.groups || m.data != e->req.data ||
		    m.h.num_groups != e->req.ngroups ||
		    (size_t)m.h.data_len != e->req.len ||
		    m.h.type != e->req.type || m.h.big != e->req.big ||
		    spread_mess_type(m.h.hint) != e->req.mess_type ||
		    memcmp(cd->b + e->at + 40, e->req.hint, 4) != 0) {
			tc_fail(
			    "%s#%d: request at %zu differs from the client codec's",
			    c->name, ci + 1, e->at);
			return (1);
		}
		all.requests++;
	}
	return (0);
}

static int
t_captures(void)
{
	CHECK(load_all() == 0);
	for (int f = 0; f < ncaps; f++) {
		struct names t;

		memset(&t, 0, sizeof(t));
		all.files++;
		for (int ci = 0; ci < caps[f].vf.n; ci++)
			if (check_conn(&caps[f], ci, &t))
				return (1);
	}
	printf("# %d captures, %d connections\n", all.files, all.conns);
	printf("# answered byte for byte: %d; otherwise on purpose: %d\n",
	    all.same, all.differ);
	printf("# requests taken: %d; sessions dropped as listed: %d\n",
	    all.requests, all.refused);
	printf("# the most bytes held for more: %zu\n", all.maxheld);
	CHECK(all.files == 47 && all.conns == 145 && all.requests == 97);
	CHECK(all.differ == (int)(sizeof(differ) / sizeof(differ[0])));
	{
		int want = 0;

		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]);
		     i++)
			want += refused[i].last ?
			    refused[i].last - refused[i].conn + 1 :
			    1;
		CHECK(all.refused == want);
	}
	CHECK(all.maxheld <= SPREADD_IN_MAX);
	return (0);
}

static const char *handshakes[] = {"01", "02", "03", "04", "05", "06", "07",
    "08", "09", "10", "11", "25", "26", "28", "33", "34", "35", "36", "37"};

/* The handshake captures named in the brief are all there, and checked. */
static int
t_handshake_files(void)
{
	CHECK(load_all() == 0);
	for (size_t i = 0; i < sizeof(handshakes) / sizeof(handshakes[0]);
	     i++) {
		int found = 0;

		for (int f = 0; f < ncaps; f++)
			if (strncmp(caps[f].name, handshakes[i], 2) == 0 &&
			    caps[f].vf.n > 0 && runs[f][0] != NULL &&
			    runs[f][0]->outlen > 0)
				found = 1;
		if (!found) {
			tc_fail("capture %s: no connection answered",
			    handshakes[i]);
			return (1);
		}
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* What the daemons sent, built again. */

static void
name_of(char *out, const uint8_t *field)
{
	size_t l = spread_name_len(field);

	if (l > 31)
		l = 31;
	memcpy(out, field, l);
	out[l] = '\0';
}

/* The request a regular message came from: same type, groups, data. */
static const struct spreadd_req *
origin(int f, const struct spread_msg *m, const char **sender)
{
	char s[32];

	name_of(s, m->h.name);
	*sender = NULL;
	for (int ci = 0; ci < caps[f].vf.n; ci++) {
		struct run *r = runs[f][ci];

		if (r == NULL || strcmp(r->s.group, s) != 0)
			continue;
		if (r->failed)
			*sender = ""; /* a session we dropped */
		for (int i = 0; i < r->nev; i++) {
			const struct spreadd_req *q = &r->ev[i].req;

			if (r->ev[i].kind == SPREADD_MCAST &&
			    q->type == m->h.type &&
			    q->ngroups == m->h.num_groups &&
			    q->len == (size_t)m->h.data_len &&
			    memcmp(q->groups, m->groups,
				32 * (size_t)q->ngroups) == 0 &&
			    memcmp(q->data, m->data, q->len) == 0) {
				*sender = r->s.group;
				return (q);
			}
		}
	}
	return (NULL);
}

static int
rebuild(int f, int ci, const uint8_t *p, const struct spread_msg *m)
{
	static uint8_t b[SPREADD_IN_MAX + 8192];
	static uint8_t clean[SPREADD_IN_MAX];
	static char names[512][32];
	static const char *vp[512];
	struct spreadd_vs vs[64];
	struct spread_memb body;
	char group[32];
	ssize_t n = -2;
	size_t vo = 0, at;
	uint32_t count;
	const uint8_t *vn;
	int nn = 0;

	name_of(group, m->h.name);
	if (spread_is_reject(m->h.type)) {
		all.rejects++; /* a reject (38, 39) or an echo (40, 46) */
		return (0);
	}
	/* Membership of a group named with no NUL (18): a join we refuse. */
	if (spread_is_membership(m->h.type) && !spread_is_regular(m->h.type) &&
	    spread_name_len(m->h.name) == SPREAD_GROUP_SIZE) {
		all.dropped++;
		return (0);
	}
	if (spread_is_regular(m->h.type)) {
		const struct spreadd_req *q;
		const char *sender;

		if ((q = origin(f, m, &sender)) == NULL) {
			/* Type bits we refuse (38, 41): not sent. */
			if (m->h.type &
			    ~(SPREAD_REGULAR_MESS | SPREAD_SELF_DISCARD)) {
				all.bits++;
				return (0);
			}
			/* After a request we refuse (18): not sent. */
			if (sender != NULL) {
				all.dropped++;
				return (0);
			}
			tc_fail("%s#%d: no request for the message at %zu",
			    caps[f].name, ci + 1,
			    (size_t)(p - caps[f].vf.c[ci].s[1].b));
			return (1);
		}
		n = spreadd_put_msg(b, sizeof(b), m->h.big, sender, q);
		/* Spread passes what follows the sender's NUL; we do not. */
		memcpy(clean, p, m->size);
		memset(clean + 4 + strlen(sender), 0, 32 - strlen(sender));
		if (memcmp(clean, p, SPREAD_HEADER_SIZE) != 0)
			all.tails++;
		p = clean;
		all.regular++;
	} else if (spread_memb_decode(m, &body) == -1) {
		tc_fail("%s#%d: membership does not decode", caps[f].name,
		    ci + 1);
		return (1);
	} else if (spread_is_reg_memb(m->h.type)) {
		/* The member list, then each set's names, in names[]. */
		struct spreadd_memb mb = {.cause = m->h.type &
			SPREAD_CAUSE_MASK,
		    .group = group,
		    .gid = {body.proc_id, body.time, body.index},
		    .members = vp,
		    .nmembers = m->h.num_groups,
		    .vs = vs,
		    .local = -1};

		for (int i = 0; i < m->h.num_groups && nn < 512; i++, nn++) {
			name_of(names[nn], m->groups + 32 * i);
			vp[nn] = names[nn];
		}
		while (spread_vs_next(&body, &vo, &at, &count, &vn) == 1 &&
		    mb.nvs < 64) {
			if (at == body.local_offset)
				mb.local = mb.nvs;
			vs[mb.nvs].names = vp + nn;
			vs[mb.nvs].count = (int)count;
			for (uint32_t i = 0; i < count && nn < 512; i++, nn++) {
				name_of(names[nn], vn + 32 * i);
				vp[nn] = names[nn];
			}
			mb.nvs++;
		}
		if (mb.nvs == 1 && mb.local == 0 && m->h.data_len == 56 &&
		    !(m->h.type & SPREAD_CAUSED_BY_NETWORK))
			n = spreadd_put_light(b, sizeof(b), m->h.big, mb.cause,
			    group, &mb.gid, vp, mb.nmembers, vs[0].names[0]);
		else
			n = spreadd_put_memb(b, sizeof(b), m->h.big, &mb);
		all.memb++;
	} else if (spread_is_transition(m->h.type)) {
		struct spreadd_gid g = {body.proc_id, body.time, body.index};

		n = spreadd_put_transition(b, sizeof(b), m->h.big, group, &g);
		all.trans++;
	} else if (spread_is_self_leave(m->h.type)) {
		n = spreadd_put_self_leave(b, sizeof(b), m->h.big, group);
		all.leave++;
	}
	if (n == -2) {
		tc_fail("%s#%d: a daemon message of type 0x%x not built",
		    caps[f].name, ci + 1, (unsigned)m->h.type);
		return (1);
	}
	if (n != (ssize_t)m->size || memcmp(b, p, m->size) != 0) {
		char got[200], want[200];
		size_t k = 0;

		while (n > 0 && k < m->size && b[k] == p[k])
			k++;
		hex(got, sizeof(got), b + k, 16);
		hex(want, sizeof(want), p + k, 16);
		tc_fail(
		    "%s#%d: message at %zu (type 0x%x) built as %zd bytes, differs at %zu: [%s] for [%s]",
		    caps[f].name, ci + 1, (size_t)(p - caps[f].vf.c[ci].s[1].b),
		    (unsigned)m->h.type, n, k, got, want);
		return (1);
	}
	return (0);
}

static int
t_deliveries(void)
{
	CHECK(load_all() == 0);
	CHECK(all.conns > 0); /* t_captures ran */
	for (int f = 0; f < ncaps; f++)
		for (int ci = 0; ci < caps[f].vf.n; ci++) {
			const struct vec_stream *dc = &caps[f].vf.c[ci].s[1];
			struct run *r = runs[f][ci];
			struct spread_msg m;
			size_t off;
			ssize_t n;

			/* Sessions both daemons accepted, after the accept. */
			if (r == NULL || r->s.group_len == 0 ||
			    r->outlen != r->setup ||
			    memcmp(r->out, dc->b, r->setup) != 0)
				continue;
			off = r->setup;
			while (off < dc->len &&
			    (n = spread_msg_decode(dc->b + off, dc->len - off,
				 1 << 24, &m)) > 0) {
				if (rebuild(f, ci, dc->b + off, &m))
					return (1);
				off += n;
			}
			if (off != dc->len) {
				tc_fail(
				    "%s#%d: daemon bytes at %zu do not decode",
				    caps[f].name, ci + 1, off);
				return (1);
			}
		}
	printf("# built again byte for byte: %d regular messages from their "
	       "requests (%d sender fields cleaned after the NUL)\n",
	    all.regular, all.tails);
	printf("# and %d memberships, %d transitional, %d self-leave\n",
	    all.memb, all.trans, all.leave);
	printf("# not ours: %d rejects and echoes, %d with type bits we "
	       "refuse, %d after a request we refuse\n",
	    all.rejects, all.bits, all.dropped);
	CHECK(all.regular == 27 && all.tails == 2 && all.memb == 61 &&
	    all.trans == 3 && all.leave == 8);
	CHECK(all.rejects == 8 && all.bits == 12 && all.dropped == 16);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Splits. */

static int
same_runs(const struct run *a, const struct run *b)
{
	if (a->outlen != b->outlen || memcmp(a->out, b->out, a->outlen) ||
	    a->nev != b->nev || a->failed != b->failed || a->err != b->err ||
	    a->taken != b->taken || a->s.state != b->s.state)
		return (0);
	for (int i = 0; i < a->nev; i++) {
		const struct rec *x = &a->ev[i], *y = &b->ev[i];

		if (x->kind != y->kind || x->code != y->code ||
		    x->at != y->at || x->req.size != y->req.size ||
		    x->req.groups != y->req.groups ||
		    x->req.data != y->req.data || x->req.len != y->req.len ||
		    x->req.type != y->req.type ||
		    memcmp(x->req.hint, y->req.hint, 4) != 0)
			return (0);
	}
	return (1);
}

/* A session set up as ref's was, handed copies of what it holds. */
static void
run_like(struct run *r, struct names *t, const struct run *ref)
{
	uint8_t v[3] = {ref->conf.major, ref->conf.minor, ref->conf.patch};

	run_init(r, t, ref->daemon, v, ref->conf.methods, ref->s.invent_n,
	    ref->s.invent_k);
	r->copies = 1;
}

/* Feed in pieces at the cut points; then the end as the capture had it. */
static void
run_cuts(struct run *r, struct names *t, const struct run *ref,
    const uint8_t *in, size_t len, const size_t *cut, int ncut, int eof)
{
	run_like(r, t, ref);
	for (int i = 0; i < ncut; i++)
		run_feed(r, in, cut[i]);
	run_feed(r, in, len);
	run_end(r, in, len, eof);
}

/*
 * One connection's client bytes: copied whole, byte by byte, cut in two
 * anywhere, and (for the short ones) cut in three anywhere.
 */
static int
split_conn(int f, int ci, long *feeds)
{
	static struct run whole, part;
	const struct vec_stream *cd = &caps[f].vf.c[ci].s[0];
	const struct run *ref = runs[f][ci];
	const char *name = caps[f].name;
	int eof = caps[f].eof[ci];
	/* Long streams: every cut of the first 400 bytes. */
	size_t lim = cd->len < 400 ? cd->len : 400, cut[2];
	struct names t = ref->before;

	run_cuts(&whole, &t, ref, cd->b, cd->len, cut, 0, eof);
	CHECKF(same_runs(&whole, ref), "%s#%d: a copy differs", name, ci + 1);
	t = ref->before;
	run_like(&part, &t, ref);
	for (size_t k = 1; k <= cd->len; k++)
		run_feed(&part, cd->b, k);
	run_end(&part, cd->b, cd->len, eof);
	*feeds += cd->len;
	CHECKF(same_runs(&part, &whole), "%s#%d: byte by byte", name, ci + 1);
	for (cut[0] = 1; cut[0] < lim; cut[0]++) {
		t = ref->before;
		run_cuts(&part, &t, ref, cd->b, cd->len, cut, 1, eof);
		++*feeds;
		CHECKF(same_runs(&part, &whole), "%s#%d: cut at %zu", name,
		    ci + 1, cut[0]);
		for (cut[1] = cut[0] + 1; cut[1] < lim && lim <= 200;
		     cut[1]++) {
			t = ref->before;
			run_cuts(&part, &t, ref, cd->b, cd->len, cut, 2, eof);
			++*feeds;
			CHECKF(same_runs(&part, &whole),
			    "%s#%d: cuts at %zu, %zu", name, ci + 1, cut[0],
			    cut[1]);
		}
	}
	return (0);
}

static int
t_splits(void)
{
	static const char *files[] = {"01", "04", "05", "07", "09", "10", "11",
	    "12", "13", "20", "22", "23", "24", "26", "34", "37", "43"};
	int conns = 0;
	long feeds = 0;

	CHECK(load_all() == 0);
	for (int f = 0; f < ncaps; f++) {
		int want = 0;

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			want |= strncmp(caps[f].name, files[i], 2) == 0;
		for (int ci = 0; want && ci < caps[f].vf.n; ci++) {
			if (runs[f][ci] == NULL)
				continue;
			conns++;
			if (split_conn(f, ci, &feeds))
				return (1);
		}
	}
	printf("# %d connections, %ld splits\n", conns, feeds);
	CHECK(conns == 47);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Set-up cases. */

static const uint8_t v501[3] = {5, 0, 1};
static uint8_t choice_null[90] = "NULL";

/* A session fed bytes: its replies as hex. */
static const char *
answer(struct names *t, const void *hello, size_t hl, const void *more,
    size_t ml, int end, int eof, struct run *r)
{
	static char out[600];
	static uint8_t in[1024];

	memcpy(in, hello, hl);
	if (ml)
		memcpy(in + hl, more, ml);
	run_init(r, t, "localhost", v501, "NULL ", 2599, 1000);
	run_feed(r, in, hl + ml);
	if (end)
		run_end(r, in, hl + ml, eof);
	hex(out, sizeof(out), r->out, r->outlen);
	return (out);
}

#define OFFER "05 4e 55 4c 4c 20"

/* The same, for a 5.0.1 hello with these flags and this name. */
static const char *
answer501(struct names *t, int flags, const char *name, const void *more,
    size_t ml, int end, int eof, struct run *r)
{
	uint8_t h[5 + 255] = {5, 0, 1, (uint8_t)flags, (uint8_t)strlen(name)};

	memcpy(h + 5, name, strlen(name));
	return (answer(t, h, 5 + strlen(name), more, ml, end, eof, r));
}

static int
t_hello_order(void)
{
	static struct run r;
	struct names t;

	/* Version first: 3.0 is refused after two bytes, nothing claimed. */
	memset(&t, 0, sizeof(t));
	CHECK(strcmp(answer(&t, "\x03\x00", 2, NULL, 0, 0, 0, &r), "f9") == 0);
	CHECK(r.taken == 2 && r.s.state == SPREADD_DONE && t.calls == 0 &&
	    r.ev[0].kind == SPREADD_REFUSE && r.ev[0].code == -7);
	CHECK(strcmp(answer(&t, "\x03", 1, NULL, 0, 0, 0, &r), "") == 0);
	CHECK(strcmp(answer(&t, "\x02\x63", 2, NULL, 0, 0, 0, &r), "f9") == 0);
	CHECK(strcmp(answer(&t, "\x03\x01\x00\x04", 4, NULL, 0, 0, 0, &r),
		  "") == 0); /* 3.1: no patch byte, name length 4 */
	/* Length before bytes: 11 bytes of spaces is -5, unclaimed. */
	CHECK(strcmp(answer(&t, "\x05\x00\x01\x01\x0b", 5, NULL, 0, 0, 0, &r),
		  "fb") == 0 &&
	    r.taken == 5 && t.calls == 0);
	CHECK(strcmp(answer(&t, "\x05\x00\x01\x01\xff", 5, NULL, 0, 0, 0, &r),
		  "fb") == 0);
	/* An illegal byte, even in a name that is taken: -5, not -6. */
	strcpy(t.n[t.count++], "a b");
	CHECK(
	    strcmp(answer501(&t, 0x01, "a b", NULL, 0, 0, 0, &r), "fb") == 0 &&
	    t.calls == 0);
	CHECK(strcmp(answer501(&t, 0x01, "a#", NULL, 0, 0, 0, &r), "fb") == 0);
	CHECK(
	    strcmp(answer501(&t, 0x01, "a\x7f", NULL, 0, 0, 0, &r), "fb") == 0);
	CHECK(
	    strcmp(answer501(&t, 0x01, "$~", NULL, 0, 0, 0, &r), OFFER) == 0 &&
	    t.calls == 1 && r.s.claimed);
	/* Taken: -6, and the claim was asked. */
	CHECK(strcmp(answer501(&t, 0x01, "$~", NULL, 0, 0, 0, &r), "fa") == 0 &&
	    t.calls == 2 && !r.s.claimed);
	/* Nothing before the whole hello, however long it waits. */
	CHECK(strcmp(answer(&t, "\x05\x00\x01\x01\x0a_________", 14, NULL, 0, 0,
			 0, &r),
		  "") == 0 &&
	    r.taken == 0 && r.nev == 0);
	/* 10-byte name, flags, priority. */
	CHECK(
	    strcmp(answer501(&t, 0x11, "abcdefghij", choice_null, 90, 0, 0, &r),
		OFFER " 01 05 00 01 15 23 61 62 63 64 65 66 67 68 69 6a 23 "
		      "6c 6f 63 61 6c 68 6f 73 74") == 0);
	CHECK(r.s.membership && r.s.flags == 0x11 &&
	    strcmp(r.s.group, "#abcdefghij#localhost") == 0 &&
	    r.s.group_len == 21 && r.s.state == SPREADD_OPEN);
	/* Old clients: 3.15 has the patch byte both ways; 3.14 neither. */
	CHECK(strcmp(answer(&t, "\x03\x0f\x00\x00\x01x", 6, NULL, 0, 0, 0, &r),
		  "01 05 00 01 0c 23 78 23 6c 6f 63 61 6c 68 6f 73 74") == 0 &&
	    !r.s.membership);
	CHECK(strcmp(answer(&t, "\x03\x0e\x01\x01y", 5, NULL, 0, 0, 0, &r),
		  "01 05 00 0c 23 79 23 6c 6f 63 61 6c 68 6f 73 74") == 0);
	/* 3.15.99 has no auth step; 3.16.0 has. */
	CHECK(strcmp(answer(&t, "\x03\x0f\x63\x00\x01z", 6, NULL, 0, 0, 0, &r),
		  "01 05 00 01 0c 23 7a 23 6c 6f 63 61 6c 68 6f 73 74") == 0);
	CHECK(strcmp(answer(&t, "\x03\x10\x00\x00\x01w", 6, NULL, 0, 0, 0, &r),
		  OFFER) == 0);
	return (0);
}

static int
t_invented(void)
{
	static struct run r;
	struct names t;
	char n[16];

	CHECK(
	    spreadd_invent(n, 2599, 1000) == 9 && strcmp(n, "r2599-100") == 0);
	CHECK(spreadd_invent(n, 5797, 9) == 7 && strcmp(n, "r5797-9") == 0);
	CHECK(spreadd_invent(n, 0, 9) == 4 && strcmp(n, "r0-9") == 0);
	CHECK(spreadd_invent(n, 4294967295u, 4294967295u) == 9 &&
	    strcmp(n, "r42949672") == 0);
	/* An empty name: invented, claimed, accepted. */
	memset(&t, 0, sizeof(t));
	CHECK(strcmp(answer(&t, "\x05\x00\x01\x01\x00", 5, choice_null, 90, 0,
			 0, &r),
		  OFFER " 01 05 00 01 14 23 72 32 35 39 39 2d 31 30 30 23 6c "
			"6f 63 61 6c 68 6f 73 74") == 0);
	CHECK(t.calls == 1 && strcmp(t.n[0], "r2599-100") == 0 &&
	    strcmp(r.s.group, "#r2599-100#localhost") == 0);
	/* Taken (the cut made it collide): -6 as for a name sent. */
	CHECK(strcmp(answer(&t, "\x05\x00\x01\x01\x00", 5, NULL, 0, 0, 0, &r),
		  "fa") == 0);
	return (0);
}

static int
t_auth(void)
{
	static struct run r;
	struct names t;
	uint8_t c[90];
	const char *h = "\x05\x00\x01\x01\x01q";
	struct spreadd_conf conf = {"localhost", 5, 0, 1, "NULL IP ", claim};

	memset(&t, 0, sizeof(t));
	memset(c, 0, 90);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " f7") == 0 &&
	    r.ev[1].kind == SPREADD_REFUSE && r.ev[1].code == -9 &&
	    r.s.claimed);
	t.count = 0;
	memcpy(c, "NULL", 4);
	memcpy(c + 30, "NULL", 4);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r),
		  OFFER " 01 05 00 01 0c 23 71 23 6c 6f 63 61 6c 68 6f 73 "
			"74") == 0);
	/* Three slots full: we stop there (4.4.0 accepted too). */
	t.count = 0;
	memcpy(c + 60, "NULL", 4);
	CHECK(strncmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " 01", 20) == 0);
	/* A slot of 30 bytes and no NUL is not "NULL". */
	t.count = 0;
	memset(c, 0, 90);
	memcpy(c, "NULL", 4);
	memset(c + 30, 'N', 30);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " f7") == 0);
	/* The list ends at the first empty slot. */
	t.count = 0;
	memset(c, 0, 90);
	memcpy(c + 30, "NULL", 4);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " f7") == 0);
	/* One method not offered among offered ones; a prefix of one. */
	t.count = 0;
	memset(c, 0, 90);
	memcpy(c, "NULL", 4);
	memcpy(c + 30, "FOO", 3);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " f7") == 0);
	t.count = 0;
	memset(c, 0, 90);
	memcpy(c, "NUL", 3);
	CHECK(strcmp(answer(&t, h, 6, c, 90, 0, 0, &r), OFFER " f7") == 0);
	/* Nothing before 90 bytes. */
	t.count = 0;
	memcpy(c, "NULL", 4);
	CHECK(strcmp(answer(&t, h, 6, c, 89, 0, 0, &r), OFFER) == 0 &&
	    r.s.state == SPREADD_CHOICE && r.taken == 6);
	/* Another offer: "NULL IP ", and IP chosen. */
	t.count = 0;
	memset(c, 0, 90);
	memcpy(c, "IP", 2);
	run_init(&r, &t, "localhost", v501, "NULL ", 0, 0);
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == 0);
	{
		uint8_t in[96];

		memcpy(in, h, 6);
		memcpy(in + 6, c, 90);
		run_feed(&r, in, 96);
	}
	CHECK(r.outlen == 9 + 17 && memcmp(r.out, "\x08NULL IP \x01", 10) == 0);
	/* Nothing offered: 00 f7 at once, no choice awaited. */
	conf.methods = "";
	t.count = 0;
	run_init(&r, &t, "localhost", v501, "NULL ", 0, 0);
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == 0);
	run_feed(&r, (const uint8_t *)h, 6);
	CHECK(r.outlen == 2 && memcmp(r.out, "\x00\xf7", 2) == 0 &&
	    r.ev[0].kind == SPREADD_REFUSE && r.ev[0].code == -9);
	/* Bad configurations. */
	conf.methods = "NULL";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == -1 && errno == EINVAL);
	conf.methods = "NULL  ";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == -1);
	conf.methods = "NULL ";
	conf.daemon = "12345678901234567890";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == -1);
	conf.daemon = "1234567890123456789";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == 0);
	conf.daemon = "a b";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == -1);
	conf.daemon = "";
	CHECK(spreadd_init(&r.s, &conf, &t, 0, 0) == -1);
	return (0);
}

/* The client stops: 5.0.1's answers (capture 34), and after. */
static int
t_end(void)
{
	static struct run r;
	struct names t;
	const char *h = "\x05\x00\x01\x01\x04"
			"abcd";

	memset(&t, 0, sizeof(t));
	CHECK(strcmp(answer(&t, h, 0, NULL, 0, 1, 1, &r), "") == 0 &&
	    r.ev[0].kind == SPREADD_REFUSE && r.ev[0].code == 0);
	CHECK(strcmp(answer(&t, h, 4, NULL, 0, 1, 1, &r), "") == 0);
	CHECK(strcmp(answer(&t, h, 5, NULL, 0, 1, 0, &r), "") == 0);
	CHECK(strcmp(answer(&t, h, 5, NULL, 0, 1, 1, &r), "fb") == 0);
	CHECK(strcmp(answer(&t, h, 7, NULL, 0, 1, 0, &r), "fb") == 0);
	CHECK(strcmp(answer(&t, h, 7, NULL, 0, 1, 1, &r), "fb") == 0);
	CHECK(strcmp(answer(&t, h, 9, NULL, 0, 1, 0, &r), OFFER) == 0);
	t.count = 0;
	CHECK(strcmp(answer(&t, h, 9, choice_null, 0, 1, 1, &r), OFFER " f7") ==
	    0);
	t.count = 0;
	CHECK(strcmp(answer(&t, h, 9, choice_null, 0, 1, 0, &r), OFFER) == 0);
	t.count = 0;
	CHECK(strcmp(answer(&t, h, 9, choice_null, 30, 1, 0, &r),
		  OFFER " f7") == 0);
	t.count = 0;
	CHECK(strncmp(answer(&t, h, 9, choice_null, 90, 1, 1, &r), OFFER " 01",
		  9) == 0);
	CHECK(r.ev[r.nev - 1].kind == SPREADD_CLOSED &&
	    r.s.state == SPREADD_DONE);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Requests, well formed and not. */

#define SENDER "#alice#localhost"

/* An open session of "alice". */
static void
open_alice(struct run *r, struct names *t)
{
	static uint8_t in[100];

	memset(t, 0, sizeof(*t));
	memcpy(in,
	    "\x05\x00\x01\x01\x05"
	    "alice",
	    10);
	memset(in + 10, 0, 90);
	memcpy(in + 10, "NULL", 4);
	run_init(r, t, "localhost", v501, "NULL ", 0, 0);
	run_feed(r, in, 100);
	if (r->s.state != SPREADD_OPEN)
		abort();
	/* From here on the input is the requests alone. */
	r->taken = 0;
	r->nev = 0;
	r->outlen = 0;
	r->maxheld = 0;
}

struct hdr {
	uint32_t type; /* with its mark: as on the wire */
	const char *sender;
	int32_t ngroups;
	uint32_t hint; /* with its mark */
	int32_t len;
	int big;
	int hint_big;
};

static size_t
build(uint8_t *b, const struct hdr *h, const char *const *groups, int ng)
{
	struct spread_header sh;

	memset(&sh, 0, sizeof(sh));
	sh.type = h->type & ~SPREAD_ENDIAN_MARK;
	memcpy(sh.name, h->sender, strlen(h->sender));
	sh.num_groups = h->ngroups;
	sh.hint = h->hint;
	sh.data_len = h->len;
	sh.big = h->big;
	sh.hint_big = h->hint_big;
	spread_header_encode(b, &sh);
	/* The type's mark as given, even half of it. */
	for (int i = 0; i < 4; i++)
		b[i] = h->big ? h->type >> (24 - 8 * i) : h->type >> (8 * i);
	for (int i = 0; i < ng; i++) {
		memset(b + 48 + 32 * i, 0, 32);
		memcpy(b + 48 + 32 * i, groups[i],
		    strlen(groups[i]) > 32 ? 32 : strlen(groups[i]));
	}
	return (48 + 32 * (size_t)ng);
}

#define LE 0x80000080u
#define AGREED (SPREAD_AGREED_MESS | LE)
#define HINT5 0x80000580u

static const char *const g1[] = {"grp"};

/* clang-format off */
static const struct bad {
	const char *name;
	struct hdr h;
	const char *group; /* one group field, or none when NULL */
	enum spreadd_err err;
} bad[] = {
    {"two service bits", {AGREED | 0x20, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"no service bit", {LE, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"SELF_DISCARD alone", {LE | 0x40, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"a service bit and JOIN", {AGREED | 0x10000, SENDER, 1, LE, 0, 0, 0},
	"grp", SPREADD_E_TYPE},
    {"JOIN and LEAVE", {LE | 0x30000, SENDER, 1, LE, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"JOIN and SELF_DISCARD", {LE | 0x10040, SENDER, 1, LE, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"KILL and LEAVE", {LE | 0x60000, SENDER, 1, LE, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"REJECT_MESS", {AGREED | 0x400000, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"GROUPS_MESS", {AGREED | 0x80000, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"a cause bit", {AGREED | 0x100, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"REG_MEMB_MESS", {AGREED | 0x1000, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"DROP_RECV", {AGREED | 0x1000000, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"bit 0x40000000", {AGREED | 0x40000000, SENDER, 1, HINT5, 0, 0, 0},
	"grp", SPREADD_E_TYPE},
    {"half a mark (0x80)", {0x00000090, SENDER, 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_TYPE},
    {"half a mark (0x80000000)", {0x80000010, SENDER, 1, HINT5, 0, 0, 0},
	"grp", SPREADD_E_TYPE},
    {"another session's name", {AGREED, "#bob#localhost", 1, HINT5, 0, 0, 0},
	"grp", SPREADD_E_SENDER},
    {"another daemon's name", {AGREED, "#alice#otherhost", 1, HINT5, 0, 0, 0},
	"grp", SPREADD_E_SENDER},
    {"a longer name", {AGREED, "#alice#localhostX", 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_SENDER},
    {"a shorter name", {AGREED, "#alice#localhos", 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_SENDER},
    {"the private name alone", {AGREED, "alice", 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_SENDER},
    {"an empty sender", {AGREED, "", 1, HINT5, 0, 0, 0}, "grp",
	SPREADD_E_SENDER},
    {"a multicast to 0 groups", {AGREED, SENDER, 0, HINT5, 1, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"101 groups", {AGREED, SENDER, 101, HINT5, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"num_groups -1", {AGREED, SENDER, -1, HINT5, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"num_groups INT32_MIN", {AGREED, SENDER, INT32_MIN, HINT5, 0, 0, 0},
	NULL, SPREADD_E_NGROUPS},
    {"JOIN with 0 groups", {LE | 0x10000, SENDER, 0, LE, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"JOIN with 2 groups", {LE | 0x10000, SENDER, 2, LE, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"LEAVE with 0 groups", {LE | 0x20000, SENDER, 0, LE, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"KILL with 2 groups", {LE | 0x40000, SENDER, 2, LE, 0, 0, 0}, NULL,
	SPREADD_E_NGROUPS},
    {"hint bit 0x01", {AGREED, SENDER, 1, 0x80000081, 1, 0, 0}, "grp",
	SPREADD_E_HINT},
    {"hint bit 0x01000000", {AGREED, SENDER, 1, 0x81000080, 1, 0, 0}, "grp",
	SPREADD_E_HINT},
    {"hint with half a mark", {AGREED, SENDER, 1, 0x80000500, 1, 0, 0}, "grp",
	SPREADD_E_HINT},
    {"data_len -1", {AGREED, SENDER, 1, HINT5, -1, 0, 0}, "grp",
	SPREADD_E_DATALEN},
    {"JOIN with data", {LE | 0x10000, SENDER, 1, LE, 1, 0, 0}, "grp",
	SPREADD_E_DATALEN},
    {"LEAVE with data", {LE | 0x20000, SENDER, 1, LE, 4, 0, 0}, "grp",
	SPREADD_E_DATALEN},
    {"KILL with data", {LE | 0x40000, SENDER, 1, LE, 1, 0, 0}, "grp",
	SPREADD_E_DATALEN},
    {"143153 bytes, 1 group", {AGREED, SENDER, 1, HINT5, 143121, 0, 0}, "grp",
	SPREADD_E_SIZE},
    {"143153 bytes, 100 groups", {AGREED, SENDER, 100, HINT5, 139953, 0, 0},
	NULL, SPREADD_E_SIZE},
    {"data_len 144001", {AGREED, SENDER, 1, HINT5, 144001, 0, 0}, "grp",
	SPREADD_E_SIZE},
    {"data_len INT32_MAX", {AGREED, SENDER, 100, HINT5, INT32_MAX, 0, 0},
	NULL, SPREADD_E_SIZE},
    {"an unterminated group", {AGREED, SENDER, 1, HINT5, 0, 0, 0},
	"GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG", SPREADD_E_GROUP},
    {"an unterminated group, 1000 data bytes not there yet",
	{AGREED, SENDER, 1, HINT5, 1000, 0, 0},
	"GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG", SPREADD_E_GROUP},
    {"an empty group", {AGREED, SENDER, 1, HINT5, 0, 0, 0}, "",
	SPREADD_E_GROUP},
    {"a space in a group", {AGREED, SENDER, 1, HINT5, 0, 0, 0}, "a b",
	SPREADD_E_GROUP},
    {"byte 0x7f in a group", {AGREED, SENDER, 1, HINT5, 0, 0, 0}, "a\x7f",
	SPREADD_E_GROUP},
    {"byte 0xc3 in a group", {AGREED, SENDER, 1, HINT5, 0, 0, 0}, "\xc3\xa9",
	SPREADD_E_GROUP},
    {"'#x' to a multicast", {AGREED, SENDER, 1, HINT5, 0, 0, 0}, "#x",
	SPREADD_E_GROUP},
    {"a private group to JOIN", {LE | 0x10000, SENDER, 1, LE, 0, 0, 0},
	"#x#y", SPREADD_E_GROUP},
    {"an unterminated group to LEAVE", {LE | 0x20000, SENDER, 1, LE, 0, 0, 0},
	"GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG", SPREADD_E_GROUP},
    {"big-endian, two service bits", {0x00000030, SENDER, 1, 0x00000500, 0,
					  1, 1},
	"grp", SPREADD_E_TYPE},
    {"big-endian, 101 groups", {0x00000010, SENDER, 101, 0x00000500, 0, 1, 1},
	NULL, SPREADD_E_NGROUPS},
    {"big-endian, 143153 bytes", {0x00000010, SENDER, 1, 0x00000500, 143121,
				      1, 1},
	"grp", SPREADD_E_SIZE},
};
/* clang-format on */

static int
run_bad(const struct bad *c)
{
	static uint8_t b[SPREADD_IN_MAX + 4096];
	static struct run r;
	struct names t;
	const char *const g[] = {c->group};
	size_t len, full;
	int64_t body;

	open_alice(&r, &t);
	len = build(b, &c->h, g, c->group ? 1 : 0);
	body = (int64_t)c->h.ngroups * 32 + c->h.len;
	full = body > 0 && body <= 200000 ? 48 + (size_t)body : len;
	if (full > len)
		memset(b + len, 'd', full - len);
	/* Header errors are known at 48 bytes, names before the data. */
	run_feed(&r, b, c->err == SPREADD_E_GROUP ? len : 48);
	if (!r.failed || r.err != c->err) {
		tc_fail("got %s (%d), want %s (%d)",
		    r.failed ? spreadd_strerror(r.err) : "no error", r.err,
		    spreadd_strerror(c->err), c->err);
		return (1);
	}
	CHECK(r.nev == 0 && r.s.state == SPREADD_DONE);
	CHECK(r.err_errno ==
	    (c->err == SPREADD_E_SIZE ? EMSGSIZE :
		    c->err == SPREADD_E_NGROUPS ||
			c->err == SPREADD_E_DATALEN ||
			c->err == SPREADD_E_GROUP ?
					EBADMSG :
					EPROTO));
	/* And for good: the next call fails the same way. */
	{
		struct spreadd_ev ev;

		errno = 0;
		CHECK(spreadd_input(&r.s, b, full, &ev) == -1 &&
		    r.s.err == c->err && errno != 0);
	}
	return (0);
}

/* The bad headers in order, one a case (tc_run runs cases in order). */
static int
t_bad_next(void)
{
	static size_t next;

	return (run_bad(&bad[next++]));
}

/* What the bad headers are next to: the same requests, well formed. */
static int
t_good_requests(void)
{
	static uint8_t b[SPREADD_IN_MAX + 64];
	static struct run r;
	struct names t;
	const char *g100[100];
	struct hdr h = {AGREED | 0x40, SENDER, 1, 0x80fffe80, 3, 0, 0};
	size_t n;

	/* SELF_DISCARD with each service; mess_type -2. */
	for (uint32_t svc = 1; svc <= 0x20; svc <<= 1) {
		open_alice(&r, &t);
		h.type = LE | svc | 0x40;
		n = build(b, &h, g1, 1);
		memcpy(b + n, "abc", 3);
		run_feed(&r, b, n + 2);
		CHECK(r.nev == 0 && !r.failed);
		run_feed(&r, b, n + 3);
		CHECK(r.nev == 1 && r.ev[0].kind == SPREADD_MCAST &&
		    r.ev[0].req.type == (svc | 0x40) &&
		    r.ev[0].req.mess_type == -2 && r.ev[0].req.len == 3 &&
		    r.ev[0].req.data == b + n && r.ev[0].req.ngroups == 1 &&
		    strcmp((const char *)r.ev[0].req.groups, "grp") == 0 &&
		    memcmp(r.ev[0].req.hint, "\x80\xfe\xff\x80", 4) == 0 &&
		    !r.ev[0].req.big && r.ev[0].req.size == n + 3);
	}
	/* The limit exactly: 1 group and 143120 bytes; 100 and 139952. */
	open_alice(&r, &t);
	h = (struct hdr){AGREED, SENDER, 1, HINT5, 143120, 0, 0};
	n = build(b, &h, g1, 1);
	memset(b + n, 'x', 143120);
	run_feed(&r, b, SPREADD_IN_MAX - 1);
	CHECK(r.nev == 0 && !r.failed);
	run_feed(&r, b, SPREADD_IN_MAX);
	CHECK(r.nev == 1 && r.ev[0].req.size == SPREADD_IN_MAX);
	for (int i = 0; i < 100; i++)
		g100[i] = i % 2 ? "#bob#far" : "grp";
	open_alice(&r, &t);
	h.ngroups = 100;
	h.len = 143152 - 3200;
	n = build(b, &h, g100, 100);
	run_feed(&r, b, n + h.len);
	CHECK(r.nev == 1 && r.ev[0].req.ngroups == 100);
	/* Join and leave of a 31-byte name; KILL with 0 and 1 groups. */
	open_alice(&r, &t);
	h = (struct hdr){LE | SPREAD_JOIN_MESS, SENDER, 1, LE, 0, 0, 0};
	{
		const char *g31[] = {"ggggggggggggggggggggggggggggggg"};

		n = build(b, &h, g31, 1);
		h.type = LE | SPREAD_LEAVE_MESS;
		n += build(b + n, &h, g31, 1);
		h.type = LE | SPREAD_KILL_MESS;
		h.ngroups = 0;
		n += build(b + n, &h, g31, 0);
	}
	run_feed(&r, b, n);
	CHECK(r.nev == 3 && r.ev[0].kind == SPREADD_JOIN &&
	    r.ev[1].kind == SPREADD_LEAVE && r.ev[2].kind == SPREADD_KILL);
	CHECK(strlen((const char *)r.ev[1].req.groups) == 31);
	CHECK(r.s.state == SPREADD_DONE && r.taken == n);
	/* After a kill, nothing more is read. */
	run_feed(&r, b, n + 80);
	CHECK(r.nev == 3 && !r.failed && r.taken == n);
	open_alice(&r, &t);
	h.ngroups = 1;
	n = build(b, &h, (const char *const[]){"\x01\x02 garbage"}, 1);
	run_feed(&r, b, n);
	CHECK(r.nev == 1 && r.ev[0].kind == SPREADD_KILL);
	/* The sender: what follows its NUL is not looked at; byte 31 is
	 * not either (Spread forces it to 0). */
	open_alice(&r, &t);
	h = (struct hdr){AGREED, SENDER, 1, HINT5, 0, 0, 0};
	n = build(b, &h, g1, 1);
	memcpy(b + 4 + 17, "junk", 4);
	b[4 + 31] = 'Z';
	run_feed(&r, b, n);
	CHECK(r.nev == 1 && !r.failed);
	/* A 31-byte private group filling the field, byte 31 not 0. */
	{
		uint8_t in[105];

		memset(&t, 0, sizeof(t));
		memcpy(in,
		    "\x05\x00\x01\x00\x0a"
		    "abcdefghij",
		    15);
		memcpy(in + 15, choice_null, 90);
		run_init(&r, &t, "d234567890123456789", v501, "NULL ", 0, 0);
		run_feed(&r, in, 105);
		CHECK(r.s.state == SPREADD_OPEN && r.s.group_len == 31);
		r.taken = 0;
		r.nev = 0;
		h.sender = "#abcdefghij#d234567890123456789";
		n = build(b, &h, g1, 1);
		b[4 + 31] = 'Z';
		run_feed(&r, b, n);
		CHECK(r.nev == 1 && !r.failed);
	}
	/* Multicast destinations: private groups, names of 31 bytes. */
	open_alice(&r, &t);
	h = (struct hdr){AGREED, SENDER, 3, HINT5, 0, 0, 0};
	n = build(b, &h,
	    (const char *const[]){"#x#y", SENDER,
		"ggggggggggggggggggggggggggggggg"},
	    3);
	memcpy(b + 48 + 10, "after", 5); /* after "#x#y"'s NUL */
	run_feed(&r, b, n);
	CHECK(r.nev == 1 && r.ev[0].req.ngroups == 3 &&
	    memcmp(r.ev[0].req.groups + 10, "after", 5) == 0);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Big-endian clients. */

static void
swap_hdr(uint8_t *p)
{
	for (int f = 0; f < 4; f++) {
		int o = f == 0 ? 0 : 36 + 4 * (f - 1);
		uint8_t t;

		if (f == 2)
			continue; /* the hint keeps its own order */
		t = p[o], p[o] = p[o + 3], p[o + 3] = t;
		t = p[o + 1], p[o + 1] = p[o + 2], p[o + 2] = t;
	}
}

static int
t_bigendian(void)
{
	static uint8_t b[4096], out[4096];
	static struct run r;
	struct names t;
	struct hdr h = {AGREED | 0x40, SENDER, 2, 0x80123480, 5, 0, 0};
	const char *const g[] = {"one", "#bob#localhost"};
	struct spread_msg m;
	size_t n;
	ssize_t k;

	/* The same request in both orders: the same fields, but the hint's
	 * bytes as they came, and big set. */
	open_alice(&r, &t);
	n = build(b, &h, g, 2);
	memcpy(b + n, "hello", 5);
	h.big = 1;
	h.hint_big = 1;
	h.type = SPREAD_AGREED_MESS | 0x40;
	h.hint = 0x00123400;
	build(b + n + 5, &h, g, 2);
	memcpy(b + 2 * n + 5, "hello", 5);
	CHECK(b[n + 5] == 0 && b[n + 5 + 3] == 0x50 && b[n + 5 + 40] == 0 &&
	    b[n + 5 + 41] == 0x12);
	run_feed(&r, b, 2 * (n + 5));
	CHECK(r.nev == 2 && !r.failed);
	CHECK(!r.ev[0].req.big && r.ev[1].req.big);
	for (int i = 0; i < 2; i++)
		CHECK(r.ev[i].kind == SPREADD_MCAST &&
		    r.ev[i].req.type == (SPREAD_AGREED_MESS | 0x40) &&
		    r.ev[i].req.ngroups == 2 && r.ev[i].req.len == 5 &&
		    r.ev[i].req.mess_type == 0x1234 &&
		    memcmp(r.ev[i].req.data, "hello", 5) == 0);
	CHECK(memcmp(r.ev[1].req.hint, "\x00\x12\x34\x00", 4) == 0);

	/* Delivered by a little-endian daemon: its order, the hint as the
	 * big-endian sender wrote it (capture 23). */
	k = spreadd_put_msg(out, sizeof(out), 0, SENDER, &r.ev[1].req);
	CHECK(k == (ssize_t)(n + 5));
	CHECK(memcmp(out, "\xd0\x00\x00\x80", 4) == 0 &&
	    memcmp(out + 40, "\x00\x12\x34\x00", 4) == 0);
	CHECK(spread_msg_decode(out, k, 1 << 20, &m) == k && !m.h.big &&
	    m.h.hint_big && spread_mess_type(m.h.hint) == 0x1234);
	/* And by a big-endian one: the little-endian sender's hint kept. */
	k = spreadd_put_msg(out, sizeof(out), 1, SENDER, &r.ev[0].req);
	CHECK(memcmp(out, "\x00\x00\x00\x50", 4) == 0 &&
	    memcmp(out + 36, "\x00\x00\x00\x02", 4) == 0 &&
	    memcmp(out + 40, "\x80\x34\x12\x80", 4) == 0 &&
	    memcmp(out + 44, "\x00\x00\x00\x05", 4) == 0);
	CHECK(spread_msg_decode(out, k, 1 << 20, &m) == k && m.h.big &&
	    !m.h.hint_big && spread_mess_type(m.h.hint) == 0x1234);

	/* Join, leave and kill, big-endian, split anywhere. */
	open_alice(&r, &t);
	h = (struct hdr){SPREAD_JOIN_MESS, SENDER, 1, 0, 0, 1, 1};
	n = build(b, &h, g, 1);
	h.type = SPREAD_LEAVE_MESS;
	n += build(b + n, &h, g, 1);
	h.type = SPREAD_KILL_MESS;
	n += build(b + n, &h, g + 1, 1);
	for (size_t i = 1; i <= n; i++)
		run_feed(&r, b, i);
	CHECK(r.nev == 3 && r.ev[0].kind == SPREADD_JOIN &&
	    r.ev[1].kind == SPREADD_LEAVE && r.ev[2].kind == SPREADD_KILL &&
	    r.ev[0].req.big && r.taken == n);
	/* A header swapped whole is the same request. */
	open_alice(&r, &t);
	h = (struct hdr){AGREED, SENDER, 1, HINT5, 3, 0, 0};
	n = build(b, &h, g, 1);
	memcpy(b + n, "abc", 3);
	swap_hdr(b);
	b[0] &= 0x7f; /* a big-endian client has no mark */
	b[3] &= 0x7f;
	run_feed(&r, b, n + 3);
	CHECK(r.nev == 1 && r.ev[0].req.big && r.ev[0].req.len == 3 &&
	    r.ev[0].req.mess_type == 5);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Encoders. */

static int
t_encoders(void)
{
	static uint8_t b[8192];
	static struct run r;
	struct names t;
	const char *mem[] = {"#a#n1", "#b#n1", "#c#n2"};
	const char *s1[] = {"#c#n2"}, *s2[] = {"#a#n1", "#b#n1"};
	struct spreadd_vs vs[2] = {{s1, 1}, {s2, 2}};
	struct spreadd_memb m = {SPREAD_CAUSED_BY_NETWORK, "chat", {7, 8, 1},
	    mem, 3, vs, 2, 1};
	struct spread_msg d;
	struct spread_memb body;
	struct spreadd_gid gid = {1, 2, 3};
	struct spreadd_req q;
	char g32[33];

	/* A network change: two sets, the receiver's the second (36). */
	CHECK(spreadd_memb_size(&m) == 48 + 96 + 20 + 36 + 68);
	CHECK(spreadd_put_memb(b, sizeof(b), 0, &m) == 48 + 96 + 124);
	CHECK(spread_msg_decode(b, 268, 1 << 20, &d) == 268);
	CHECK(d.h.type == (SPREAD_REG_MEMB_MESS | SPREAD_CAUSED_BY_NETWORK) &&
	    d.h.num_groups == 3 && d.h.data_len == 124 &&
	    memcmp(b + 40, "\x80\x00\x00\x80", 4) == 0);
	CHECK(spread_memb_decode(&d, &body) == 0 && body.num_vs_sets == 2 &&
	    body.local_offset == 36 && body.proc_id == 7 && body.time == 8 &&
	    body.index == 1);
	m.local = 0;
	CHECK(spreadd_put_memb(b, sizeof(b), 1, &m) == 268);
	CHECK(spread_msg_decode(b, 268, 1 << 20, &d) == 268 && d.h.big);
	CHECK(spread_memb_decode(&d, &body) == 0 && body.local_offset == 0 &&
	    body.proc_id == 7);
	/* Light: 56 bytes of body. */
	CHECK(spreadd_put_light(b, sizeof(b), 0, SPREAD_CAUSED_BY_JOIN, "g",
		  &gid, mem, 3, "#b#n1") == 48 + 96 + 56);
	CHECK(spread_msg_decode(b, 200, 1 << 20, &d) == 200 &&
	    d.h.data_len == 56 &&
	    strcmp(spread_memb_reason(d.h.type), "join") == 0);
	/* Transitional and self-leave. */
	CHECK(spreadd_put_transition(b, sizeof(b), 1, "g", &gid) == 60);
	CHECK(spread_msg_decode(b, 60, 1 << 20, &d) == 60 && d.h.big &&
	    spread_is_transition(d.h.type) &&
	    spread_memb_decode(&d, &body) == 0 && body.index == 3);
	CHECK(spreadd_put_self_leave(b, sizeof(b), 0, "g") == 48);
	CHECK(spread_msg_decode(b, 48, 1 << 20, &d) == 48 &&
	    spread_is_self_leave(d.h.type) && d.h.data_len == 0);
	/* Room: one byte short, everywhere. */
	m.local = 1;
	CHECK(spreadd_put_memb(b, 267, 0, &m) == -1 && errno == EMSGSIZE);
	CHECK(spreadd_put_light(b, 199, 0, SPREAD_CAUSED_BY_JOIN, "g", &gid,
		  mem, 3, "#b#n1") == -1 &&
	    errno == EMSGSIZE);
	CHECK(spreadd_put_transition(b, 59, 0, "g", &gid) == -1);
	CHECK(spreadd_put_self_leave(b, 47, 0, "g") == -1);
	/* Names over 31 bytes. */
	memset(g32, 'g', 32);
	g32[32] = '\0';
	CHECK(spreadd_put_self_leave(b, sizeof(b), 0, g32) == -1 &&
	    errno == EINVAL);
	CHECK(spreadd_put_transition(b, sizeof(b), 0, g32, &gid) == -1);
	s1[0] = g32;
	CHECK(spreadd_put_memb(b, sizeof(b), 0, &m) == -1 && errno == EINVAL);
	s1[0] = "#c#n2";
	m.local = 2;
	CHECK(spreadd_put_memb(b, sizeof(b), 0, &m) == -1 && errno == EINVAL);
	/* A regular message: only what a session may send. */
	open_alice(&r, &t);
	{
		struct hdr h = {AGREED, SENDER, 1, HINT5, 2, 0, 0};
		size_t n = build(b + 4096, &h, g1, 1);

		memcpy(b + 4096 + n, "hi", 2);
		run_feed(&r, b + 4096, n + 2);
		CHECK(r.nev == 1);
		q = r.ev[0].req;
		CHECK(spreadd_put_msg(b, sizeof(b), 0, SENDER, &q) == 82);
		CHECK(memcmp(b, b + 4096, 82) == 0);
		CHECK(spreadd_put_msg(b, 81, 0, SENDER, &q) == -1 &&
		    errno == EMSGSIZE);
		CHECK(spreadd_put_msg(b, sizeof(b), 0, g32, &q) == -1 &&
		    errno == EINVAL);
		q.type = SPREAD_JOIN_MESS;
		CHECK(spreadd_put_msg(b, sizeof(b), 0, SENDER, &q) == -1 &&
		    errno == EINVAL);
		q.type = SPREAD_AGREED_MESS | SPREAD_REJECT_MESS;
		CHECK(spreadd_put_msg(b, sizeof(b), 0, SENDER, &q) == -1);
	}
	/* Error texts. */
	for (int e = SPREADD_E_NONE; e <= SPREADD_E_GROUP; e++)
		CHECK(strcmp(spreadd_strerror(e), "unknown error") != 0);
	return (0);
}

/* Nothing grows: the session's size is fixed, its input bounded. */
static int
t_bounded(void)
{
	static uint8_t b[SPREADD_IN_MAX + 64];
	static struct run r;
	struct names t;
	struct hdr h = {AGREED, SENDER, 1, HINT5, 0x7fffffff, 0, 0};

	CHECK(sizeof(struct spreadd) < 256);
	/* A header announcing 2 GB is refused at its 48th byte. */
	open_alice(&r, &t);
	build(b, &h, g1, 1);
	run_feed(&r, b, 47);
	CHECK(!r.failed && r.maxheld == 47);
	run_feed(&r, b, 48);
	CHECK(r.failed && r.err == SPREADD_E_SIZE);
	CHECK(all.maxheld <= SPREADD_IN_MAX);
	return (0);
}

/* ------------------------------------------------------------------ */

static const struct tcase cases[] = {
    {"every capture's client bytes: the daemon's answers byte for byte, "
     "each difference listed; requests as the client codec reads them",
	t_captures},
    {"handshake captures 01-11, 25, 26, 28, 33-37 all answered",
	t_handshake_files},
    {"every daemon message of the captures built again byte for byte",
	t_deliveries},
    {"every split of the input gives the same answers and requests", t_splits},
    {"hello: version, then name length, bytes, uniqueness; old clients",
	t_hello_order},
    {"invented names r<n>-<k> cut to 9, claimed like others", t_invented},
    {"auth choice: none, twice, three slots, not offered; empty offer", t_auth},
    {"a client that stops mid-hello or mid-choice: 5.0.1's answers", t_end},
    {"well-formed requests next to the bad ones", t_good_requests},
    {"big-endian clients: fields, hint untouched, either daemon order",
	t_bigendian},
    {"encoders: membership, light, transition, self-leave, limits", t_encoders},
    {"bounded: a session is small, a 2 GB header refused at 48 bytes",
	t_bounded},
};

int
main(void)
{
	const char *top = getenv("QUILT_TOP");
	size_t nc = sizeof(cases) / sizeof(cases[0]);
	size_t nb = sizeof(bad) / sizeof(bad[0]);
	struct tcase *all_cases;
	char *names;
	int failed;
	DIR *d;

	/* The captures are part of the repository. */
	snprintf(vecdir, sizeof(vecdir), "%s/tests/spread/vectors",
	    top ? top : ".");
	if ((d = opendir(vecdir)) == NULL) {
		printf("1..1\nnot ok 1 no Spread captures at %s\n", vecdir);
		return (1);
	}
	closedir(d);
	/* The cases, then each malformed header as a case of its own. */
	if ((all_cases = calloc(nc + nb, sizeof(*all_cases))) == NULL ||
	    (names = calloc(nb, 128)) == NULL)
		abort();
	memcpy(all_cases, cases, sizeof(cases));
	for (size_t i = 0; i < nb; i++) {
		snprintf(names + 128 * i, 128, "refused: %s (%s)", bad[i].name,
		    spreadd_strerror(bad[i].err));
		all_cases[nc + i].name = names + 128 * i;
		all_cases[nc + i].fn = t_bad_next;
	}
	failed = tc_run(all_cases, nc + nb);
	free(all_cases);
	free(names);
	for (int f = 0; f < ncaps; f++) {
		for (int ci = 0; ci < 64; ci++)
			free(runs[f][ci]);
		vec_free(&caps[f].vf);
	}
	return (failed);
}
