/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-join: connect to a Spread daemon, join groups and print every message
 * received (and with -m every membership change) on standard output.  With
 * -i it also reads requests on standard input (join, leave, msg) and sends
 * them on the same session, so that its own messages come back to it and
 * FIFO order and self-discard cover them.
 *
 * This file: options, set-up, the loop, and the end with its exit status.
 * The loop reads the daemon continuously, whatever standard input brings:
 * the daemon drops a session that lets 1000 messages pile up.  It stops
 * only while standard output is far behind (OUT_PAUSE).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "../spclient.h"
#include "join.h"
#include "log.h"
#include "opt.h"
#include "proc.h"
#include "ready.h"

#define OUT_PAUSE (8u << 20) /* stop reading the daemon above this */
#define TX_HIGH (1u << 20) /* stop reading requests above this */

struct opts {
	const char *daemon;
	const char *name;
	const char *ready;
	int input; /* -i */
	int end; /* -e: leave and exit at the end of the input */
	char **groups;
	int ngroups;
};

struct state {
	struct opts *o;
	struct spread_addr addr;
	struct session ss;
	struct printer pr;
	struct input in;
	int ended; /* -i: every request of the input taken */
	int draining; /* -e: the leaves are sent, their notices awaited */
	int ready_written;
	int stdout_nb; /* we set O_NONBLOCK on stdout */
	int stdout_flags;
};

static int sigpipe_fd[2] = {-1, -1};

/* clang-format off */
static const struct opt options[] = {
	{'0', "null", NULL, "messages end with NUL, not newline"},
	{'e', "end", NULL, "with -i: leave and disconnect at the end of input"},
	{'f', "fields", NULL, "the fields of each message before its data"},
	{'i', "input", NULL, "read join, leave and msg requests on stdin too"},
	{'j', "json", NULL, "JSON lines"},
	{'m', "membership", NULL, "membership changes too"},
	{'N', "netstring", NULL, "messages are netstrings of parts"},
	{'P', "ready-file", "file", "write FILE once the joins are confirmed"},
	{'q', "quiet", NULL, "only fatal errors on stderr"},
	{'s', "daemon", "daemon", "the Spread daemon (default 4803)"},
	{'u', "private", "private", "our private name"},
	{'v', "verbose", NULL, "more on stderr"},
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: sp-join [-0Nfjmqv] [-P file] [-s daemon] [-u private] group ...\n"
	"       sp-join -i [-0Nefjmqv] [-P file] [-s daemon] [-u private] [group ...]",
	options, EX_USAGE,
};
/* clang-format on */

static void
on_signal(int sig)
{
	int e = errno;
	unsigned char c = sig;

	(void)write(sigpipe_fd[1], &c, 1);
	errno = e;
}

static void
restore_stdout(struct state *st)
{
	if (st->stdout_nb) {
		fcntl(1, F_SETFL, st->stdout_flags);
		st->stdout_nb = 0;
	}
}

/*
 * The end, whatever ends it: leave every group and disconnect (what was
 * queued for the daemon goes first), flush stdout with blocking writes,
 * remove the ready file, exit.
 */
static noreturn void
finish(struct state *st, int status)
{
	ssize_t n;

	session_close(&st->ss);
	restore_stdout(st);
	while (buf_len(&st->pr.out) > 0) {
		n = buf_drain(&st->pr.out, 1);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			break;
	}
	if (st->ready_written)
		proc_remove(st->o->ready);
	if (st->o->input)
		log_info("sent %llu messages, received %llu", st->ss.sent,
		    st->ss.received);
	exit(status);
}

/* The ready file: written to a hidden temporary beside it, then renamed. */
static void
check_ready(struct state *st)
{
	if (st->o->ready == NULL || st->ready_written ||
	    !session_ready(&st->ss))
		return;
	if (ready_write(st->o->ready, st->ss.s.reply.private_group) == -1) {
		log_warn("ready file %s", st->o->ready);
		finish(st, EX_OSERR);
	}
	st->ready_written = 1;
}

/*
 * After the session's turn: a status from it ends the program; else a
 * membership it took may have confirmed the last operand group.
 */
static void
go_on(struct state *st, int status)
{
	if (status != 0)
		finish(st, status);
	check_ready(st);
}

/*
 * -i: every whole request of the input buffer into the session's queue,
 * so that one write to the daemon carries them all; none while the queue
 * is above TX_HIGH, so that a fast writer cannot grow it without bound.
 * A bad request: say so (even with -q), send what came before, exit 65.
 */
static void
commands(struct state *st)
{
	const struct spread_req *r;
	int rc;

	while (!st->in.done && buf_len(&st->ss.tx) < TX_HIGH) {
		rc = input_next(&st->in, &r);
		if (rc == -1) {
			log_level = 1;
			log_warnx("%s", st->in.why);
			finish(st, EX_DATAERR);
		}
		if (rc == 0)
			break;
		session_request(&st->ss, r);
	}
	if (st->in.done && !st->ended) {
		st->ended = 1;
		log_info("end of standard input");
		if (st->o->end) {
			session_leave_all(&st->ss);
			st->draining = 1;
		}
	}
}

static noreturn void
run(struct state *st)
{
	struct pollfd pfd[4];
	ssize_t n;

	for (;;) {
		int paused = buf_len(&st->pr.out) >= OUT_PAUSE;

		/* -e: every leave confirmed, every message before it in. */
		if (st->draining && st->ss.leaving == 0 &&
		    buf_len(&st->ss.tx) == 0)
			finish(st, 0);
		pfd[0].fd = sigpipe_fd[0];
		pfd[0].events = POLLIN;
		/* Paused, the socket is not watched (no POLLHUP spin). */
		pfd[1].fd = paused && buf_len(&st->ss.tx) == 0 ? -1 :
								 st->ss.s.fd;
		pfd[1].events = (paused ? 0 : POLLIN) |
		    (buf_len(&st->ss.tx) ? POLLOUT : 0);
		/* Always watched: a pipe whose reader left reports POLLERR. */
		pfd[2].fd = 1;
		pfd[2].events = buf_len(&st->pr.out) ? POLLOUT : 0;
		pfd[3].fd = st->o->input && !st->in.eof &&
			buf_len(&st->ss.tx) < TX_HIGH ?
		    0 :
		    -1;
		pfd[3].events = POLLIN;
		if (poll(pfd, 4, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_die(EX_OSERR, "poll");
		}
		if (pfd[0].revents)
			finish(st, 0);
		if ((pfd[2].revents & (POLLERR | POLLHUP)) &&
		    !(pfd[2].revents & POLLOUT))
			finish(st, 0); /* | head: a quiet end */
		if (pfd[2].revents & POLLOUT) {
			n = buf_drain(&st->pr.out, 1);
			if (n == -1 && errno == EPIPE)
				finish(st, 0); /* | head: a quiet end */
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				log_warn("stdout");
				finish(st, EX_IOERR);
			}
			if (paused && buf_len(&st->pr.out) < OUT_PAUSE)
				go_on(st, session_parse(&st->ss));
		}
		if (pfd[1].revents & POLLOUT) {
			go_on(st, session_write(&st->ss));
			commands(st); /* room again for what is waiting */
		}
		if (!paused && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			go_on(st, session_read(&st->ss));
		if (pfd[3].revents) {
			n = input_fill(&st->in);
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				log_warn("stdin");
				finish(st, EX_IOERR);
			}
			commands(st);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct opts o = {0};
	struct state st;
	enum fmt fmt = FMT_LINE;
	int ch, seen_s = 0, seen_u = 0, seen_p = 0, code, timeout = 10000;
	int memb = 0, fields = 0, json = 0;
	const char *detail, *env;
	struct sigaction sa;
	/* Before anything is opened: no socket of ours on fd 0, 1 or 2. */
	int stdclosed = proc_std();

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(EX_OSERR, "/dev/null");
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
		switch (ch) {
		case '0':
		case 'N':
			opt_format(&fmt, ch);
			break;
		case 'e':
			o.end = 1;
			break;
		case 'f':
			fields = 1;
			break;
		case 'i':
			o.input = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'm':
			memb = 1;
			break;
		case 'P':
			opt_once(&seen_p, ch);
			o.ready = optarg;
			break;
		case 'q':
			log_level = 0;
			break;
		case 's':
			opt_once(&seen_s, ch);
			o.daemon = optarg;
			break;
		case 'u':
			opt_once(&seen_u, ch);
			o.name = optarg;
			break;
		case 'v':
			log_level = 2;
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 && !o.input)
		opt_usage("missing the group operand");
	/* What it receives, and with -i what it sends. */
	if (stdclosed & PROC_STDOUT)
		log_diex(EX_IOERR, "standard output is closed");
	if ((stdclosed & PROC_STDIN) && o.input)
		log_diex(EX_IOERR, "standard input is closed");
	if (json && fields)
		opt_usage("-f and -j cannot be used together");
	if (json && fmt != FMT_LINE)
		opt_usage("-j cannot be used with -0 or -N");
	if (o.end && !o.input)
		opt_usage("-e needs -i");
	if (o.daemon == NULL)
		o.daemon = "4803";
	if (o.name == NULL)
		o.name = "";

	memset(&st, 0, sizeof(st));
	st.o = &o;
	if (spread_addr_parse(o.daemon, &st.addr) == -1)
		opt_usage("%s: ILLEGAL_SPREAD: %s", o.daemon,
		    spread_errtext(SPREAD_ILLEGAL_SPREAD));
	if (*o.name != '\0' && !spread_private_valid(o.name, strlen(o.name)))
		opt_usage(
		    "private name \"%s\": REJECT_ILLEGAL_NAME: must be 1..10 bytes from '$' to '~'",
		    o.name);
	for (int i = 0; i < argc; i++)
		if (!spread_group_valid(argv[i], strlen(argv[i])))
			opt_usage(
			    "group \"%s\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~'",
			    argv[i]);
	o.groups = argv;
	o.ngroups = argc;
	if ((env = getenv("QUILT_CONNECT_TIMEOUT")) != NULL)
		timeout = parse_num(env, 1, 3600000, "QUILT_CONNECT_TIMEOUT");

	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) == -1)
		log_die(EX_OSERR, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	st.pr.fmt = fmt;
	st.pr.memb = memb;
	st.pr.fields = fields;
	st.pr.json = json;
	if (print_init(&st.pr) == -1 ||
	    session_init(&st.ss, o.daemon, &st.pr, OUT_PAUSE) == -1 ||
	    (o.input && input_init(&st.in, fmt) == -1))
		log_die(EX_OSERR, "malloc");

	if (spread_session_open(&st.ss.s, &st.addr, o.name,
		SPREAD_HELLO_MEMBERSHIP, timeout, &code, &detail) == -1)
		spclient_setup_failed(o.daemon, &st.addr, code, detail);
	log_info("connected to %s as %s (Spread %d.%d.%d)", o.daemon,
	    st.ss.s.reply.private_group, st.ss.s.reply.major,
	    st.ss.s.reply.minor, st.ss.s.reply.patch);

	/* A terminal is shared with the shell: leave it blocking. */
	if (!isatty(1) && (st.stdout_flags = fcntl(1, F_GETFL)) != -1 &&
	    !(st.stdout_flags & O_NONBLOCK) &&
	    fcntl(1, F_SETFL, st.stdout_flags | O_NONBLOCK) != -1)
		st.stdout_nb = 1;

	/* A group named twice is joined once. */
	for (int i = 0; i < o.ngroups; i++)
		session_join(&st.ss, o.groups[i], 1);
	/* -i with no operand: the session is all there is to wait for. */
	check_ready(&st);
	run(&st);
}
