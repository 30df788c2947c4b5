/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "children.h"
#include "flood.h"
#include "fmt.h"
#include "hops.h"
#include "log.h"
#include "lsdb.h"
#include "net.h"
#include "nodes.h"
#include "proc.h"
#include "sd.h"
#include "sd_view.h"
#include "wire.h"

char ctl_path[108];

static struct {
	int fd;
	struct ctl_client {
		int fd;
		char line[CTL_LINE];
		size_t len;
		char *out; /* the answer, from open_memstream */
		size_t outlen, outoff;
		long long deadline;
	} k[CTL_MAX];
} CT = {.fd = -1};

static int
by_name(const void *a, const void *b)
{
	return (
	    strcmp(node_name(*(const short *)a), node_name(*(const short *)b)));
}

static void
peers(FILE *f, int json)
{
	for (int i = 0; i < H.n; i++) {
		struct peer *p = &H.p[i];
		char a[6 * sizeof(p->addr) + 1];

		if (!p->used)
			continue;
		/* clang-format off */
		fprintf(f, json ?
		    "{\"node\":\"%s\",\"address\":\"%s\",\"state\":\"%s\",\"kind\":\"%s\",\"sent\":%" PRIu64 ",\"acked\":%" PRIu64 "}\n" :
		    "%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n",
		    p->node[0] ? p->node : "-",
		    json ? fmt_json_str(a, sizeof(a), p->addr, strlen(p->addr)) :
			   p->addr,
		    p->up ? "up" : "down",
		    p->relay ? "relay" : "leaf", p->sent, p->acked_total);
		/* clang-format on */
	}
}

static void
nodes(FILE *f, int json, int routes)
{
	short idx[NODES_MAX];
	int n = 0;

	for (int i = 1; i < N.count; i++)
		if (!routes || ls_via(i) != -1)
			idx[n++] = i;
	if (!routes)
		idx[n++] = 0;
	qsort(idx, n, sizeof(short), by_name);
	for (int j = 0; j < n; j++) {
		const struct lsnode *x = &LS.n[idx[j]];
		const char *hop = x->via == -1 ? "-" : H.p[x->via].node;
		const char *inst = x->cur.inst[0] ? x->cur.inst : "-";
		const char *addr = x->cur.addr[0] ? x->cur.addr : "-";
		int up = idx[j] == 0 || x->via != -1;
		/* a relay's address and instance come from its route: any
		 * bytes */
		char ja[6 * ADDR_STRLEN + 1], ji[6 * WIRE_INST_MAX + 1];

		if (idx[j] == 0)
			inst = conf.inst, addr = L.bound;
		if (json) {
			addr = fmt_json_str(ja, sizeof(ja), addr, strlen(addr));
			inst = fmt_json_str(ji, sizeof(ji), inst, strlen(inst));
		}
		/* clang-format off */
		if (routes)
			fprintf(f, json ?
			    "{\"node\":\"%s\",\"next\":\"%s\",\"distance\":%d}\n" :
			    "%s\t%s\t%d\n",
			    node_name(idx[j]), hop, x->dist);
		else
			fprintf(f, json ?
			    "{\"node\":\"%s\",\"instance\":\"%s\",\"address\":\"%s\",\"reachable\":%s}\n" :
			    "%s\t%s\t%s\t%s\n",
			    node_name(idx[j]), inst, addr,
			    json ? (up ? "true" : "false") :
				   (up ? "reachable" : "unreachable"));
		/* clang-format on */
	}
}

/*
 * The counters, by name, into c[0..COUNTERS_MAX); returns how many (-s's
 * with -s only).  A row added beyond COUNTERS_MAX is left out, never
 * written past c's end.
 */
#define COUNTERS_MAX 48

struct counter {
	const char *name;
	uint64_t v;
};

static int
counter_table(struct counter *c)
{
	const struct {
		const char *name;
		uint64_t v;
		int spread; /* shown with -s only */
	} all[] = {
	    {"messages_in", ctr.in, 0},
	    {"local_in", ctr.local_in, 0},
	    {"forwarded", ctr.fwd, 0},
	    {"delivered", ctr.delivered, 0},
	    {"duplicates", ctr.dup, 0},
	    {"hop_limit", ctr.hops, 0},
	    {"no_route", ctr.noroute, 0},
	    {"oversize", ctr.oversize, 0},
	    {"malformed", ctr.bad, 0},
	    {"restarts", ctr.restarts, 0},
	    {"keepalives_sent", ctr.alive_out, 0},
	    {"keepalives_received", ctr.alive_in, 0},
	    {"hello_sent", ctr.hello_out, 0},
	    {"hello_received", ctr.hello_in, 0},
	    {"hello_dropped", ctr.hello_drop, 0},
	    {"dead", ctr.dead, 0},
	    {"spread_sessions", sdc.sessions, 1},
	    {"spread_dropped", sdc.dropped, 1},
	    {"spread_messages", sdc.mcasts, 1},
	    {"spread_delivered", sdc.delivered, 1},
	    {"spread_joins", sdc.joins, 1},
	    {"spread_leaves", sdc.leaves, 1},
	    {"spread_views", sdc.views, 1},
	    {"spread_held", sdc.held, 1},
	};
	int n = 0;

	_Static_assert(sizeof(all) / sizeof(all[0]) <= COUNTERS_MAX,
	    "COUNTERS_MAX holds every counter");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < COUNTERS_MAX;
	     i++)
		if (!all[i].spread || conf.spread) {
			c[n].name = all[i].name;
			c[n++].v = all[i].v;
		}
	return (n);
}

static void
counters(FILE *f, int json)
{
	struct counter c[COUNTERS_MAX];
	int n = counter_table(c);

	for (int i = 0; i < n; i++)
		fprintf(f,
		    json ? "{\"name\":\"%s\",\"value\":%" PRIu64 "}\n" :
			   "%s\t%" PRIu64 "\n",
		    c[i].name, c[i].v);
}

void
control_say_counters(void (*say)(const char *, ...))
{
	struct counter c[COUNTERS_MAX];
	int n = counter_table(c);
	char line[COUNTERS_MAX * 48];
	size_t k = 0;

	line[0] = '\0';
	for (int i = 0; i < n && k < sizeof(line); i++)
		k += snprintf(line + k, sizeof(line) - k, "%s%s %" PRIu64,
		    i ? ", " : "", c[i].name, c[i].v);
	say("counters: %s", line);
}

/* Nodes we can reach (and us), and the links both ends list (a leaf's
 * from its relay), as Graphviz DOT. */
static void
dot(FILE *f)
{
	short idx[NODES_MAX];
	int n = 0;

	lsa_self();
	for (int i = 0; i < N.count; i++)
		if (i == 0 || ls_via(i) != -1)
			idx[n++] = i;
	qsort(idx, n, sizeof(short), by_name);
	fprintf(f, "graph quilt {\n");
	for (int j = 0; j < n; j++)
		fprintf(f, "\t\"%s\";\n", node_name(idx[j]));
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++) {
			int u = idx[a], v = idx[b];
			int ru = u == 0 || LS.n[u].cur.inst[0];
			int rv = v == 0 || LS.n[v].cur.inst[0];
			int uv = ru && ls_lists(u, v),
			    vu = rv && ls_lists(v, u);

			if (strcmp(node_name(u), node_name(v)) >= 0)
				continue;
			if ((uv && vu) || (uv && !rv) || (vu && !ru))
				fprintf(f, "\t\"%s\" -- \"%s\";\n",
				    node_name(u), node_name(v));
		}
	fprintf(f, "}\n");
}

void
control_answer(FILE *f, const char *line)
{
	int json = strncmp(line, "json ", 5) == 0;
	const char *cmd = json ? line + 5 : line;

	if (strcmp(cmd, "peers") == 0)
		peers(f, json);
	else if (strcmp(cmd, "routes") == 0 || strcmp(cmd, "nodes") == 0)
		nodes(f, json, cmd[0] == 'r');
	else if (strcmp(cmd, "counters") == 0)
		counters(f, json);
	else if (strcmp(cmd, "dot") == 0)
		dot(f);
	else if (strcmp(cmd, "groups") == 0 && conf.spread)
		view_show(f, json);
	else if (strcmp(cmd, "groups") == 0)
		fprintf(f,
		    "error: groups: this relay is not a Spread daemon (no -s)\n");
	else
		fprintf(f,
		    "error: unknown command '%s' (peers, routes, nodes, counters, dot, groups)\n",
		    cmd);
}

static void
ctl_close(struct ctl_client *k)
{
	loop_del(&loop, k->fd);
	close(k->fd);
	k->fd = -1;
	free(k->out);
	k->out = NULL;
}

static void
on_client(void *arg, int fd, int revents)
{
	struct ctl_client *k = arg;
	ssize_t r;

	if (k->out == NULL) {
		char *nl;
		FILE *f;

		r = read(fd, k->line + k->len, sizeof(k->line) - 1 - k->len);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			ctl_close(k);
			return;
		}
		if (r > 0)
			k->len += r;
		k->line[k->len] = '\0';
		if ((nl = strpbrk(k->line, "\r\n")) == NULL) {
			if (k->len == sizeof(k->line) - 1)
				ctl_close(k); /* no command is that long */
			return;
		}
		*nl = '\0';
		if ((f = open_memstream(&k->out, &k->outlen)) == NULL) {
			ctl_close(k);
			return;
		}
		control_answer(f, k->line);
		if (fclose(f) != 0) {
			ctl_close(k);
			return;
		}
		k->outoff = 0;
		loop_want(&loop, fd, POLLOUT);
	}
	while (k->outoff < k->outlen) {
		r = write(fd, k->out + k->outoff, k->outlen - k->outoff);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0)
			break;
		k->outoff += r;
	}
	ctl_close(k);
}

static void
on_accept(void *arg, int fd, int revents)
{
	for (int i = 0; i < CTL_MAX; i++) {
		struct ctl_client *k = &CT.k[i];

		if (k->fd != -1)
			continue;
		if ((k->fd = accept4(fd, NULL, NULL,
			 SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1)
			return;
		k->len = 0;
		k->out = NULL;
		k->deadline = net_now_ms() + CTL_DEADLINE_MS;
		if (loop_add(&loop, k->fd, POLLIN, on_client, k) == -1) {
			close(k->fd);
			k->fd = -1;
			return;
		}
	}
}

void
control_tick(long long now, long long *next)
{
	int busy = 0;

	for (int i = 0; i < CTL_MAX; i++) {
		struct ctl_client *k = &CT.k[i];

		if (k->fd == -1)
			continue;
		if (now >= k->deadline) {
			ctl_close(k);
			continue;
		}
		busy++;
		if (*next == -1 || k->deadline < *next)
			*next = k->deadline;
	}
	if (CT.fd != -1)
		loop_want(&loop, CT.fd, busy < CTL_MAX ? POLLIN : 0);
}

/*
 * The directory of control sockets: $XDG_RUNTIME_DIR, else /run/user/UID
 * when it exists (both the user's own, made by the session manager), else
 * $TMPDIR/quilt-UID (TMPDIR /tmp when unset), made 0700 here and used only
 * when it is a directory of ours that nobody else may enter: in a shared
 * /tmp, someone else could have made it first.  With make set, that last
 * one is made when missing.  0, or -1 with *why.
 */
static int
control_dir(char *dir, size_t len, int make, const char **why)
{
	const char *e = getenv("XDG_RUNTIME_DIR"), *tmp = getenv("TMPDIR");
	struct stat st;

	*why = "path too long";
	if (e != NULL && e[0] == '/')
		return ((size_t)snprintf(dir, len, "%s", e) < len ? 0 : -1);
	snprintf(dir, len, "/run/user/%lu", (unsigned long)geteuid());
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return (0);
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, len, "%s/quilt-%lu", tmp,
		(unsigned long)geteuid()) >= len)
		return (-1);
	if (make && mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*why = strerror(errno);
		return (-1);
	}
	if (lstat(dir, &st) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		*why = "not a directory of ours with mode 0700";
		return (-1);
	}
	return (0);
}

int
control_open(const char **why)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct addr a = {.kind = ADDR_UNIX};
	char dir[sizeof(ctl_path)];
	int gai;

	for (int i = 0; i < CTL_MAX; i++)
		CT.k[i].fd = -1;
	if (control_dir(dir, sizeof(dir), 1, why) == -1) {
		snprintf(ctl_path, sizeof(ctl_path), "%s", dir);
		return (-1);
	}
	if ((size_t)snprintf(ctl_path, sizeof(ctl_path),
		"%s/quilt-relay-%s.ctl", dir, conf.me) >= sizeof(a.path)) {
		*why = "path too long";
		return (-1);
	}
	strcpy(a.path, ctl_path);
	/* A relay of this name killed with kill -9 left it: replaced. */
	if ((CT.fd = net_listen(&a, SOCK_STREAM, 8, &ss, &sslen, &gai)) == -1) {
		*why = errno == EADDRINUSE ?
		    "in use: a relay of this name is running" :
		    strerror(errno);
		return (-1);
	}
	if (proc_own(ctl_path) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	chmod(ctl_path, 0600);
	return (loop_add(&loop, CT.fd, POLLIN, on_accept, NULL));
}

void
control_close(void)
{
	for (int i = 0; i < CTL_MAX; i++)
		if (CT.k[i].fd != -1)
			ctl_close(&CT.k[i]);
	if (CT.fd != -1) {
		loop_del(&loop, CT.fd);
		close(CT.fd);
		CT.fd = -1;
	}
	if (ctl_path[0])
		proc_remove(ctl_path);
}

int
control_client(const char *ctl, const char *cmd, int json)
{
	char path[512], line[256], buf[65536];
	struct sockaddr_un sun;
	FILE *rf;
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s", ctl);
	/* A ready file: its control line. */
	if (strncmp(ctl, "unix:", 5) != 0 && (rf = fopen(ctl, "r")) != NULL) {
		path[0] = '\0';
		while (fgets(line, sizeof(line), rf) != NULL)
			if (strncmp(line, "control ", 8) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(path, sizeof(path), "%s", line + 8);
			}
		fclose(rf);
		if (!path[0])
			log_diex(EX_UNAVAILABLE, "%s: no control line", ctl);
	}
	/* A node name: its socket in the directory control_open uses. */
	if (strncmp(path, "unix:", 5) != 0 && wire_node_ok(ctl, strlen(ctl)) &&
	    access(ctl, F_OK) == -1) {
		char dir[sizeof(ctl_path)];
		const char *why;

		if (control_dir(dir, sizeof(dir), 0, &why) == -1)
			log_diex(EX_UNAVAILABLE, "%s: %s", dir, why);
		snprintf(path, sizeof(path), "unix:%s/quilt-relay-%s.ctl", dir,
		    ctl);
	}
	if (strncmp(path, "unix:", 5) != 0)
		log_diex(EX_USAGE,
		    "%s: not a control address (unix:PATH), ready file or node name",
		    ctl);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path + 5) >= sizeof(sun.sun_path))
		log_diex(EX_USAGE, "%s: path too long", path);
	strcpy(sun.sun_path, path + 5);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		log_die(EX_OSERR, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		log_die(EX_UNAVAILABLE, "connect %s", path);
	n = snprintf(line, sizeof(line), "%s%s\n", json ? "json " : "", cmd);
	if (write(fd, line, n) != n)
		log_die(EX_IOERR, "write %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (strncmp(buf, "error: ", 7) == 0) {
			err = 1;
			fprintf(stderr, "quilt-relay: %.*s", (int)n - 7,
			    buf + 7);
			continue;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			log_die(EX_IOERR, "stdout");
	}
	close(fd);
	if (fflush(stdout) == EOF)
		log_die(EX_IOERR, "stdout");
	return (err ? EX_USAGE : 0);
}
