#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Watching a run: SIGUSR1 makes quilt-listen, quilt-send and quilt-relay say
# their counters on stderr (as dd does) and go on; quilt-send's progress
# line on a terminal (script(1) gives it one) shows a rate; make demo writes
# no colour codes into a pipe.

load helpers/common
load helpers/relay

QUILT_NEEDS="quilt-relay"

setup() {
	setup_quilt
	: >"$T/meshes"
	: >"$T/ctls"
}

# usr1_until PID FILE PATTERN: SIGUSR1 to PID until FILE has a line that
# matches PATTERN (bounded: wait_for's time and tries).
usr1_until() {
	wait_for "kill -USR1 $1 && file_has '$2' '$3'"
}

@test "SIGUSR1: quilt-listen says its counters on stderr (with -q too) and goes on" {
	# even with -q: it was asked for
	start_listener -q -n l 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" one two three
	[ "$status" -eq 0 ]
	# 3 messages, 14 bytes of output, all written (so acknowledged)
	usr1_until "$LPID" "$T/listen.err" \
		'^quilt-listen: 1 connection \([01] open\), 3 messages received \(14 bytes of output\), 3 written$'
	# it goes on: another sender, and the counters say so
	run --separate-stderr quilt-send "$ADDR" four
	[ "$status" -eq 0 ]
	usr1_until "$LPID" "$T/listen.err" \
		'^quilt-listen: 2 connections \([01] open\), 4 messages received \(19 bytes of output\), 4 written$'
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(tr '\n' ' ' <"$T/listen.out")" = "one two three four " ]
}

@test "SIGUSR1: quilt-send says its counters on stderr and goes on; so does quilt-relay" {
	start_listener 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	printf 'a\nbb\n' >&5
	wait_for lines_at_least "$T/listen.out" 2
	usr1_until "$spid" "$T/send.err" \
		'^quilt-send: sent 2 messages \(3 bytes\), acknowledged 2, replies 0, round trips [0-9]+, resends 0, reconnects 0$'
	# it goes on: one more, then the end of the input ends it, status 0
	printf 'ccc\n' >&5
	exec 5>&-
	wait_exit "$spid"
	[ "$status" -eq 0 ]
	[ "$(tr '\n' ' ' <"$T/listen.out")" = "a bb ccc " ]

	# -s 0: the Spread daemon's counters too, every row of the table
	start_relay r -l 127.0.0.1:0 -s 0
	run --separate-stderr quilt-send -d r "$RADDR" hello
	[ "$status" -eq 0 ]
	usr1_until "$RPID" "$T/r.err" \
		'^quilt-relay: counters: messages_in [0-9]+, local_in 0, forwarded 0, delivered 1, duplicates 0, hop_limit 0, no_route 0, oversize 0, malformed 0, restarts 0, keepalives_sent 0, keepalives_received 0, hello_sent 0, hello_received 0, hello_dropped 0, dead 0, spread_sessions 0, spread_dropped 0, spread_messages 0, spread_delivered 0, spread_joins 0, spread_leaves 0, spread_views [0-9]+, spread_held 0$'
	# still there: it answers -Q
	run --separate-stderr quilt-relay -Q "$T/r.ready" counters
	[ "$status" -eq 0 ]
	[[ $output == *"delivered	1"* ]]
}

@test "quilt-send on a terminal: the progress line shows the rate, messages and bytes a second" {
	command -v script >/dev/null || skip "needs script (util-linux)"
	start_listener 127.0.0.1:0
	mkfifo "$T/in"
	# script(1) gives quilt-send a terminal for its stderr
	script -qfec "exec quilt-send $ADDR <'$T/in'" "$T/tty" \
		</dev/null >/dev/null 2>&1 3>&- 4>&- &
	spid=$!
	track "$spid"
	exec 5>"$T/in"
	seq 1000 >&5
	# a line of the second in which the messages were acknowledged
	wait_for "tr '\\r' '\\n' <'$T/tty' | grep -qE '^quilt-send: 1000 sent, 1000 acknowledged, ([1-9][0-9.]*|0\\.(0[1-9]|[1-9][0-9])) k?msg/s, [0-9.]+ [kM]?B/s'"
	exec 5>&-
	wait_exit "$spid"
	[ "$status" -eq 0 ]
	[ "$(count_lines "$T/listen.out")" -eq 1000 ]
}

@test "make demo into a pipe: no colour codes" {
	run bash -c "'$QUILT_TOP/scripts/demo' 2>&1 | cat"
	[ "$status" -eq 0 ]
	[[ $output == *'$ quilt-listen -n demo'* ]]
	[ "$(printf '%s' "$output" | tr -cd '\033' | wc -c)" -eq 0 ]
}
