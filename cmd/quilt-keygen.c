/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * quilt-keygen: write a new key for -k: 32 random bytes as 64 hex
 * characters and a newline, in a file only its owner can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "proc.h"
#include "seal.h"

/* clang-format off */
static const struct opt options[] = {
	{'f', "force", NULL, "replace FILE if it exists"},
	OPT_ROWS_HELP,
	{0, NULL, NULL, NULL},
};
static const struct opt_prog prog = {
	"usage: quilt-keygen [-fV] file | -", options, EX_USAGE,
};
/* clang-format on */

int
main(int argc, char *argv[])
{
	char hex[2 * SEAL_KEYLEN + 2];
	int ch, force = 0, fd, flags;
	size_t len = 2 * SEAL_KEYLEN + 1;
	ssize_t w;
	/* Before anything is opened: no key file on fd 0, 1 or 2. */
	int stdclosed = proc_std();

	log_init(argv[0]);
	if (stdclosed == -1)
		log_die(EX_OSERR, "/dev/null");
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where it happens */
	while ((ch = opt_next(argc, argv, &prog)) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		default:
			abort(); /* a row of options[] not handled here */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		opt_usage("missing the file operand");
	if (argc > 1)
		opt_extra(argv[1]);
	if ((stdclosed & PROC_STDOUT) && strcmp(argv[0], "-") == 0)
		log_diex(EX_IOERR, "standard output is closed");
	if (seal_init() == -1)
		log_die(EX_SOFTWARE, "libsodium");
	if (strcmp(argv[0], "-") == 0) {
		fd = 1;
	} else {
		/* Never replace a key by accident: -f says so. */
		flags = O_WRONLY | O_CREAT | O_CLOEXEC |
		    (force ? O_TRUNC : O_EXCL);
		if ((fd = open(argv[0], flags, 0600)) == -1)
			log_die(errno == EEXIST ? EX_USAGE : EX_OSERR, "%s%s",
			    argv[0],
			    errno == EEXIST ? " (use -f to replace it)" : "");
		if (force && fchmod(fd, 0600) == -1)
			log_die(EX_OSERR, "%s", argv[0]);
	}
	seal_key_new_hex(hex);
	w = write(fd, hex, len);
	seal_wipe(hex, sizeof(hex));
	if (w != (ssize_t)len || (fd != 1 && close(fd) == -1))
		log_die(fd == 1 ? EX_IOERR : EX_OSERR, "%s", argv[0]);
	return (0);
}
