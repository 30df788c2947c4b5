# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared functions of the udp: transport's suite.  Load after
# helpers/common:
#	load helpers/udp

# start_udpproxy ARGS...: udpproxy -v -P $T/uproxy.ready ARGS (faults, seed,
# target); sets UPPID and UPADDR ("udp:127.0.0.1:PORT").  Its counts go to
# $T/uproxy.err when it is stopped (SIGTERM).
start_udpproxy() {
	start_helper uproxy udpproxy -v "$@" || return 1
	UPPID=$HPID UPADDR=udp:$HADDR
}

# stop_udpproxy: SIGTERM, and wait for its counts.
stop_udpproxy() {
	kill -TERM "$UPPID"
	wait_exit "$UPPID"
}

# proxy_count WHAT: a count from udpproxy's last line ("lost", "forged"...).
proxy_count() {
	local re="([0-9]+) $1"
	[[ $(tail -n 1 "$T/uproxy.err") =~ $re ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# udp_counter FILE WHAT: a number from the last -v "udp:" counters line in
# FILE (quilt-send's, or a connection's of quilt-listen).  WHAT names it as
# the line does: "datagrams out", "datagrams in", "messages in",
# "resends", "pending acks", "pending acks at most", "reorder queue at
# most", "keep-alives out", "keep-alives in", "rtt" (whole ms),
# "dropped bad", "wrong id", "forged", "replayed".
udp_counter() {
	local line re
	line=$(grep -E ': udp: datagrams out ' "$1" | tail -n 1)
	case $2 in
	*" in") re="${2% in} out [0-9]+ in ([0-9]+)" ;;
	*" at most") re="${2% at most} [0-9]+ \(at most ([0-9]+)\)" ;;
	*) re="$2 ([0-9]+)" ;;
	esac
	[[ $line =~ $re ]] || {
		echo "udp_counter: no '$2' in: $line" >&2
		return 1
	}
	echo "${BASH_REMATCH[1]}"
}

# listener_said FILE WHAT: a number from quilt-listen's last "udp:
# requests..." line ("cookie", "accepted", "refused", "no connection").
listener_said() {
	local line re
	line=$(grep -E 'udp: requests answered' "$1" | tail -n 1)
	re="$2 ([0-9]+)"
	[[ $line =~ $re ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# increasing FILE: every line is a number greater than the one before (a
# subset of seq, in order, none twice).
increasing() {
	awk 'NR > 1 && $1 + 0 <= prev { bad = 1; exit } { prev = $1 + 0 } END { exit bad }' "$1"
}
