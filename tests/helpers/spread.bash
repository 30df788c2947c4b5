# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared functions of the Spread client suites (sp-clients.bats,
# sp-interop.bats).  Load after helpers/common.
#
# VEC is the folder of the Spread captures, tests/spread/vectors (a copy of
# shared/spread/vectors kept in the repository); need_vectors fails a test
# when it is missing, since a checkout always has it.

VEC=${VEC:-$QUILT_TOP/tests/spread/vectors}

need_vectors() {
	if [ ! -d "$VEC" ]; then
		echo "no Spread captures at $VEC" >&2
		return 1
	fi
}

# cap NN: the capture file whose name starts with NN.
cap() {
	local f
	for f in "$VEC/$1"-*.txt; do
		echo "$f"
		return 0
	done
	return 1
}

# start_peer ARGS...: the scripted Spread daemon (spread-peer -P ... ARGS),
# logging what the client sends to $T/peer.log; sets SP (its Spread name,
# "PORT@127.0.0.1" or "PORT") and PEERPID.
start_peer() {
	start_helper peer spread-peer -l "$T/peer.log" "$@" || return 1
	SP=$HADDR PEERPID=$HPID
}

# peer_log: what the client sent, as spread-peer logged it.
peer_log() {
	cat "$T/peer.log"
}

# start_join NAME ARGS...: sp-join ARGS in the background, stdout in
# $T/NAME.out, stderr in $T/NAME.err, SIGINT restored (a shell ignores it in
# background jobs); sets JPID.
start_join() {
	local name=$1
	shift
	env --default-signal=INT sp-join "$@" </dev/null >"$T/$name.out" \
		2>"$T/$name.err" 3>&- 4>&- &
	JPID=$!
	track "$JPID"
}

# stop_join [SIGNAL]: signal sp-join (TERM by default) and wait for it;
# its status in $status.
stop_join() {
	kill -"${1:-TERM}" "$JPID"
	wait_exit "$JPID"
}
