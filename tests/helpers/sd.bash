# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared functions of the suites of quilt-relay -s (relay-spread*.bats).
# Load after helpers/relay and helpers/spread.
#
# start_sd NAME ARGS...: a relay NAME with -s 0 (a free port; the Unix
# socket /tmp/PORT beside it), in $T/NAME.*; sets RPID, RADDR and SDP (its
# Spread port).  Its /tmp/PORT is removed in teardown if a kill left it.
start_sd() {
	local name=$1
	shift
	start_relay "$name" -l 127.0.0.1:0 -s 0 "$@" || return 1
	SDP=$(sd_port "$name")
	[ -n "$SDP" ] || return 1
	echo "/tmp/$SDP" >>"$T/ctls"
}

# sd_port NAME: the Spread port in NAME's ready file.
sd_port() {
	sed -n 's/^spread //p' "$(ready_of "$1")"
}

# member NAME PORT ARGS...: sp-join -m -u NAME -s PORT ARGS in the background,
# output in $T/NAME.out; waits until its joins are confirmed (-P); sets JPID
# and the variable J_NAME to its pid.
member() {
	local name=$1 port=$2
	shift 2
	rm -f "$T/$name.jready"
	start_join "$name" -m -u "$name" -s "$port" -P "$T/$name.jready" "$@"
	printf -v "J_$name" '%s' "$JPID"
	wait_ready "$T/$name.jready" "$JPID" "$name"
}

# lines NAME: the lines NAME printed (0 when none yet).
lines() {
	count_lines "$T/$1.out"
}

# memb_lines NAME: NAME's membership lines without the group ids (which
# only compare for equality, checked apart).
memb_lines() {
	awk -F'\t' '$1 == "memb" { $4 = ""; print }' OFS='\t' "$T/$1.out"
}

# gids NAME GROUP: the group ids NAME saw for GROUP, one a line.
gids() {
	awk -F'\t' -v g="$2" '$1 == "memb" && $3 == g { print $4 }' "$T/$1.out"
}

# sd_counter NAME COUNTER: a counter of relay NAME (-Q counters).
sd_counter() {
	ctl "$1" counters | awk -F'\t' -v n="$2" '$1 == n { print $2 }'
}
