/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * notifysink: the service manager's end of the readiness protocol, for the
 * tests of NOTIFY_SOCKET: a Unix datagram socket at a path, or at an
 * abstract name written "@name", whose datagrams it prints.
 *
 *   notifysink [-P readyfile] [-n count] [-t seconds] socket
 *
 * Binds the socket (a path is removed first), writes the socket's name to
 * the ready file (so a test starts the program under test only once it
 * can be told), then prints each datagram as one line, its bytes, a TAB
 * and the sender's process id (SO_PASSCRED, as systemd checks
 * NotifyAccess=main), flushed at once.  Exits 0 after count datagrams
 * (default: never), 2 when seconds pass first (default 60).
 */
#include <poll.h>
#include <stddef.h>
#include <time.h>

#include "helper.h"

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	const char *ready = NULL, *name;
	long count = -1, secs = 60, got = 0;
	socklen_t len;
	time_t end;
	int ch, fd, one = 1;

	h_prog = "notifysink";
	while ((ch = getopt(argc, argv, "+n:P:t:")) != -1) {
		switch (ch) {
		case 'n':
			count = atol(optarg);
			break;
		case 'P':
			ready = optarg;
			break;
		case 't':
			secs = atol(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: notifysink [-P readyfile] "
			    "[-n count] [-t seconds] socket\n");
			exit(64);
		}
	}
	if (optind + 1 != argc)
		h_diex("one socket operand");
	name = argv[optind];
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(name) < 2 || strlen(name) >= sizeof(sun.sun_path) ||
	    (name[0] != '/' && name[0] != '@'))
		h_diex("bad socket name: %s", name);
	memcpy(sun.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		unlink(name);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		h_die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == -1)
		h_die("SO_PASSCRED");
	if (bind(fd, (struct sockaddr *)&sun, len) == -1)
		h_die("bind %s", name);
	h_write_ready(ready, name);
	end = time(NULL) + secs;
	while (count < 0 || got < count) {
		char buf[4096], cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = {buf, sizeof(buf) - 1};
		struct msghdr mh;
		struct cmsghdr *cm;
		struct pollfd p = {fd, POLLIN, 0};
		long pid = -1;
		ssize_t n;
		int left = (int)(end - time(NULL));

		if (left <= 0 || poll(&p, 1, left * 1000) == 0)
			h_diex("%ld datagrams in %ld seconds", got, secs);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		if ((n = recvmsg(fd, &mh, 0)) == -1) {
			if (errno == EINTR)
				continue;
			h_die("recvmsg");
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		     cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;

				memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
				pid = uc.pid;
			}
		printf("%.*s\t%ld\n", (int)n, buf, pid);
		fflush(stdout);
		got++;
	}
	return (0);
}
