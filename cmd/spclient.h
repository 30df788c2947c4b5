/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * What the two Spread clients, sp-join and sp-mcast, share: the exit
 * status of a set-up that failed.  Here, in cmd/, because only the
 * programs choose exit statuses (STYLE.md).
 */
#ifndef QUILT_SPCLIENT_H
#define QUILT_SPCLIENT_H

#include <errno.h>
#include <stdnoreturn.h>
#include <sysexits.h>

#include "log.h"
#include "spread.h"

/*
 * The set-up failed: spread_session.c says what happened, and the exit
 * status is ours: a name that did not resolve 68, a timeout 75, our own
 * resources 71, a daemon that does not speak the protocol 76, any other
 * refusal 69.
 */
static inline noreturn void
spclient_setup_failed(const char *daemon, const struct spread_addr *a, int code,
    const char *detail)
{
	struct spread_setup_err e;
	int status = EX_UNAVAILABLE;

	spread_setup_error(&e, a, code, errno, detail);
	switch (e.fault) {
	case SPREAD_FAULT_RESOLVE:
		status = EX_NOHOST;
		break;
	case SPREAD_FAULT_TIMEOUT:
		status = EX_TEMPFAIL;
		break;
	case SPREAD_FAULT_RESOURCE:
		status = EX_OSERR;
		break;
	case SPREAD_FAULT_PROTOCOL:
		status = EX_PROTOCOL;
		break;
	case SPREAD_FAULT_REFUSED:
		break;
	}
	log_diex(status, "%s: %s", daemon, e.text);
}

#endif
