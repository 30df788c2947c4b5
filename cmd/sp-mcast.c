/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * sp-mcast: multicast messages to Spread groups, from the arguments after
 * "--" or else from standard input, then disconnect.
 *
 * Everything a real daemon would choke on is refused here, before a byte
 * of it is sent: more than 100 groups, a group name a library would not
 * send, a body (32 x groups + data) over the 143152 bytes every daemon
 * version survives.  It connects when the first message is ready, so input
 * refused at once sends nothing at all.  At the end it sends the
 * disconnect, then waits for the daemon to close its side: the daemon has
 * then taken every message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fmt.h"
#include "frame.h"
#include "log.h"
#include "opt.h"
#include "proc.h"
#include "net.h"
#include "spread.h"
#include "spclient.h"

#define TX_HIGH (1u << 20) /* stop reading input above this */
#define RX_MAX (4u << 20)
#define CLOSE_WAIT_MS 5000

struct opts {
	const char *daemon;
	const char *name;
	uint32_t service;
	int mess_type;
	enum fmt fmt;
	const char **groups;
	int ngroups;
	char **msgs; /* after "--"; NULL: standard input */
	int nmsgs;
};

struct state {
	struct opts *o;
	struct spread_addr addr;
	struct spread_session s;
	struct buf in, tx, rx;
	uint8_t *enc; /* one encoded message */
	size_t enc_cap;
	unsigned long long sent, bytes;
	int in_eof;
	unsigned long long inno; /* input messages seen */
	int connected, timeout;
	int stop, failed; /* bad input: send what came before, then 65 */
};

/* clang-format off */
static const struct opt options[] = {
	{'0', "null", NULL, "input messages end with NUL, not newline"},
	{'N', "netstring", NULL, "input messages are netstrings of parts"},
	{'q', "quiet", NULL, "only fatal errors on stderr"},
	{'s', "daemon", "daemon", "the Spread daemon (default 4803)"},
	{'T', "type", "msgtype", "the message type, -32768..32767 (default 0)"},
	{'t', "service", "service", "unreliable, reliable, fifo, causal, agreed (default) or safe"},
	{'u', "private", "private", "our private name"},
	{'v', "verbose", NULL, "counters on stderr"},
	{'x', "self-discard", NULL, "our own messages are not delivered to us"},
	OPT_ROWS_HELP,
	OPT_ROWS_LOG,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: sp-mcast [-0Nqvx] [-s daemon] [-T msgtype] [-t service] [-u private] group ... [-- message ...]",
	options, EX_USAGE,
};
/* clang-format on */

/* The largest data a message to ngroups groups may carry. */
static size_t
max_data(int ngroups)
{
	return (SPREAD_MAX_BODY - (size_t)ngroups * SPREAD_GROUP_SIZE);
}

static void
too_long(struct opts *o, const char *what, unsigned long long n, size_t len)
{
	log_diex(EX_DATAERR,
	    "%s %llu of %zu bytes: MESSAGE_TOO_LONG: %zu bytes at most to %d group%s (32 x groups + data <= %d)",
	    what, n, len, max_data(o->ngroups), o->ngroups,
	    o->ngroups > 1 ? "s" : "", SPREAD_MAX_BODY);
}

static void
disconnect(struct state *st)
{
	uint8_t req[SPREAD_REQUEST_SIZE];
	ssize_t n = spread_kill_encode(req, sizeof(req),
	    st->s.reply.private_group);

	if (n > 0)
		(void)buf_append(&st->tx, req, n);
}

/* Look at what the daemon sends us: only a refusal matters. */
static void
check_rx(struct state *st)
{
	struct spread_msg m;
	ssize_t r;

	while ((r = spread_msg_decode((uint8_t *)buf_data(&st->rx),
		    buf_len(&st->rx), RX_MAX, &m)) > 0) {
		if (spread_is_reject(m.h.type)) {
			char g[SPREAD_GROUP_SIZE + 1] = "";
			size_t l = m.h.num_groups > 0 ?
			    spread_name_len(m.groups) :
			    0;

			memcpy(g, m.groups, l);
			g[l] = '\0';
			log_diex(EX_UNAVAILABLE,
			    "%s: REJECT_MESS: the daemon refused a message to %s",
			    st->o->daemon, g);
		}
		buf_consume(&st->rx, r); /* a message to us: not ours */
	}
	if (r == -1)
		log_diex(EX_PROTOCOL,
		    "%s: ILLEGAL_MESSAGE: malformed message from the daemon",
		    st->o->daemon);
}

/* Connect on the first message: bad input refused before it sends nothing. */
static void
connect_daemon(struct state *st)
{
	const char *detail;
	int code;

	if (spread_session_open(&st->s, &st->addr, st->o->name, 0, st->timeout,
		&code, &detail) == -1)
		spclient_setup_failed(st->o->daemon, &st->addr, code, detail);
	st->connected = 1;
	log_info("connected to %s as %s (Spread %d.%d.%d)", st->o->daemon,
	    st->s.reply.private_group, st->s.reply.major, st->s.reply.minor,
	    st->s.reply.patch);
}

static void
send_msg(struct state *st, const char *data, size_t len)
{
	ssize_t n;

	if (!st->connected)
		connect_daemon(st);
	n = spread_mcast_encode(st->enc, st->enc_cap, st->s.reply.private_group,
	    st->o->service, st->o->groups, st->o->ngroups, st->o->mess_type,
	    data, len);
	if (n == -1 || buf_append(&st->tx, st->enc, n) == -1)
		log_diex(EX_SOFTWARE, "cannot encode a message");
	st->sent++;
	st->bytes += len;
}

/*
 * Bad input: say so (even with -q), stop reading, send the messages that
 * came before it, disconnect, and exit 65.
 */
static void
bad_input(struct state *st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int level = log_level;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_level = 1;
	log_warnx("%s", msg);
	log_level = level;
	st->failed = EX_DATAERR;
	st->stop = 1;
}

/* Take every whole input message out of the input buffer. */
static void
parse_input(struct state *st)
{
	const char *data, *part;
	size_t len, plen;
	ssize_t r;
	size_t max = max_data(st->o->ngroups);
	int ng = st->o->ngroups;

	while (!st->stop && buf_len(&st->tx) < TX_HIGH) {
		r = fmt_next(st->o->fmt, buf_data(&st->in), buf_len(&st->in),
		    st->in_eof, st->o->fmt == FMT_NET ? max + 32 : max, &data,
		    &len);
		if (r == 0)
			return;
		st->inno++;
		if (r == -1 && errno == EMSGSIZE)
			len = max + 1;
		else if (r == -1) {
			bad_input(st,
			    "stdin: message %llu: malformed netstring",
			    st->inno);
			return;
		} else if (st->o->fmt == FMT_NET) {
			struct frame_iter it;

			frame_iter_init(&it, data, len);
			if (frame_next_part(&it, &part, &plen) != 1 ||
			    frame_next_part(&it, &data, &len) != 0) {
				bad_input(st,
				    "stdin: message %llu: not one part (sp-mcast sends one part per message)",
				    st->inno);
				return;
			}
			data = part;
			len = plen;
		}
		if (len > max) {
			bad_input(st,
			    "stdin: message %llu: MESSAGE_TOO_LONG: %zu bytes at most to %d group%s (32 x groups + data <= %d)",
			    st->inno, max, ng, ng > 1 ? "s" : "",
			    SPREAD_MAX_BODY);
			return;
		}
		send_msg(st, data, len);
		buf_consume(&st->in, r);
	}
}

static void
lost(struct state *st, int err)
{
	log_diex(EX_UNAVAILABLE, "%s: CONNECTION_CLOSED: %s", st->o->daemon,
	    err ? strerror(err) : "the daemon closed the connection");
}

/*
 * One poll loop: input in (when there is room), messages out, the daemon's
 * side read (a refusal, or its close).  After the last message, the
 * disconnect, then the daemon's close.
 */
static int
run(struct state *st)
{
	struct pollfd pfd[2];
	int killed = 0, reading = st->o->msgs == NULL;
	long long deadline = 0;
	ssize_t n;

	for (;;) {
		int timeout = -1;

		if (reading && st->in_eof && !st->stop) {
			parse_input(st);
			if (buf_len(&st->in) == 0)
				reading = 0;
			else if (!st->stop && buf_len(&st->tx) < TX_HIGH)
				bad_input(st,
				    "stdin: message %llu: truncated at the end of the input",
				    st->inno + 1);
		}
		if (st->stop)
			reading = 0;
		if (!reading && !st->connected)
			return (0); /* no message: nothing to say */
		if (!reading && !killed) {
			disconnect(st);
			killed = 1;
		}
		if (killed && buf_len(&st->tx) == 0 && deadline == 0) {
			shutdown(st->s.fd, SHUT_WR);
			deadline = net_now_ms() + CLOSE_WAIT_MS;
		}
		if (deadline) {
			timeout = deadline - net_now_ms();
			if (timeout <= 0) {
				log_warnx(
				    "%s: the daemon did not close the session after the disconnect",
				    st->o->daemon);
				return (0);
			}
		}
		pfd[0].fd = reading && !st->in_eof &&
			buf_len(&st->tx) < TX_HIGH ?
		    0 :
		    -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = st->connected ? st->s.fd : -1;
		pfd[1].events = POLLIN | (buf_len(&st->tx) ? POLLOUT : 0);
		if (poll(pfd, 2, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_die(EX_OSERR, "poll");
		}
		if (pfd[0].revents) {
			n = buf_fill(&st->in, 0, 65536);
			if (n == 0)
				st->in_eof = 1;
			else if (n == -1 && errno == ENOBUFS)
				log_diex(EX_SOFTWARE, "input buffer full");
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				log_die(EX_IOERR, "stdin");
			parse_input(st);
		}
		if (pfd[1].revents & POLLOUT) {
			n = buf_drain(&st->tx, st->s.fd);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				lost(st, errno);
			if (reading)
				parse_input(st);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = buf_fill(&st->rx, st->s.fd, 4096);
			if (n == 0 || (n == -1 && errno == ECONNRESET)) {
				check_rx(st);
				if (killed && buf_len(&st->tx) == 0)
					return (0);
				lost(st, n == 0 ? 0 : errno);
			}
			if (n == -1 && errno == ENOBUFS)
				log_diex(EX_PROTOCOL,
				    "%s: ILLEGAL_MESSAGE: message from the daemon too large",
				    st->o->daemon);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				lost(st, errno);
			check_rx(st);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct opts o = {.service = SPREAD_AGREED_MESS, .fmt = FMT_LINE};
	struct state st;
	int ch, seen_s = 0, seen_u = 0, seen_t = 0, seen_T = 0;
	int selfdiscard = 0, i;
	const char *env;
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
			opt_format(&o.fmt, ch);
			break;
		case 'q':
			log_level = 0;
			break;
		case 's':
			opt_once(&seen_s, ch);
			o.daemon = optarg;
			break;
		case 'T':
			opt_once(&seen_T, ch);
			o.mess_type = parse_num(optarg, -32768, 32767,
			    "message type");
			break;
		case 't':
			opt_once(&seen_t, ch);
			if ((o.service = spread_service_parse(optarg)) == 0)
				opt_usage(
				    "service \"%s\": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe",
				    optarg);
			break;
		case 'u':
			opt_once(&seen_u, ch);
			o.name = optarg;
			break;
		case 'v':
			log_level = 2;
			break;
		case 'x':
			selfdiscard = 1;
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	o.groups = (const char **)argv;
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	o.ngroups = i;
	if (i < argc) {
		o.msgs = argv + i + 1;
		o.nmsgs = argc - i - 1;
	}
	if (o.ngroups < 1)
		opt_usage("missing the group operand");
	/* The messages, unless they are operands. */
	if ((stdclosed & PROC_STDIN) && o.msgs == NULL)
		log_diex(EX_IOERR, "standard input is closed");
	if (selfdiscard)
		o.service |= SPREAD_SELF_DISCARD;
	if (o.daemon == NULL)
		o.daemon = "4803";
	if (o.name == NULL)
		o.name = "";

	/* Everything is checked before a byte is sent. */
	memset(&st, 0, sizeof(st));
	st.o = &o;
	st.timeout = 10000;
	if (spread_addr_parse(o.daemon, &st.addr) == -1)
		opt_usage("%s: ILLEGAL_SPREAD: %s", o.daemon,
		    spread_errtext(SPREAD_ILLEGAL_SPREAD));
	if (*o.name != '\0' && !spread_private_valid(o.name, strlen(o.name)))
		opt_usage(
		    "private name \"%s\": REJECT_ILLEGAL_NAME: must be 1..10 bytes from '$' to '~'",
		    o.name);
	if (o.ngroups > SPREAD_MAX_GROUPS)
		opt_usage(
		    "%d groups: ILLEGAL_GROUP: at most %d groups per message",
		    o.ngroups, SPREAD_MAX_GROUPS);
	for (i = 0; i < o.ngroups; i++)
		if (!spread_dest_valid(o.groups[i], strlen(o.groups[i])))
			opt_usage(
			    "group \"%s\": ILLEGAL_GROUP: must be 1..31 bytes from '$' to '~', or a private group #name#daemon",
			    o.groups[i]);
	for (i = 0; i < o.nmsgs; i++)
		if (strlen(o.msgs[i]) > max_data(o.ngroups))
			too_long(&o, "message", i + 1, strlen(o.msgs[i]));
	if ((env = getenv("QUILT_CONNECT_TIMEOUT")) != NULL)
		st.timeout = parse_num(env, 1, 3600000,
		    "QUILT_CONNECT_TIMEOUT");

	st.enc_cap = spread_mcast_size(o.ngroups, max_data(o.ngroups));
	if (buf_init(&st.in, 65536, 2 * SPREAD_MAX_BODY + 65536) == -1 ||
	    buf_init(&st.tx, 65536, TX_HIGH + st.enc_cap + 4096) == -1 ||
	    buf_init(&st.rx, 4096, RX_MAX) == -1 ||
	    (st.enc = malloc(st.enc_cap)) == NULL)
		log_die(EX_OSERR, "malloc");

	for (i = 0; i < o.nmsgs; i++)
		send_msg(&st, o.msgs[i], strlen(o.msgs[i]));
	run(&st);
	if (st.connected)
		close(st.s.fd);
	log_info("sent %llu messages (%llu bytes)", st.sent, st.bytes);
	buf_free(&st.in);
	buf_free(&st.tx);
	buf_free(&st.rx);
	free(st.enc);
	return (st.failed);
}
