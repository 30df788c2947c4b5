#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# The half-close table of quilt-listen(1): what each side sees at each end
# of input, one test per row, in framed mode (quilt-send) and in raw mode
# (-R, with nc or rawclient, a client that reports each end it sees).
#
#   row  event                          the other side sees
#   1    client ends its input          handler: end of input; it can still answer
#   2    handler closes its stdout      client: end of replies; it can still send
#   3    handler exits                  connection ends; quilt-send -x gets its status
#   4    client is cut (kill -9)        handler: end of input
#   5    both directions ended          connection ends though the handler lives on

load helpers/common

count_then_answer='n=0; while read -r l; do n=$((n + 1)); done; echo "saw EOF after $n"'

# ---- row 1 ---------------------------------------------------------------------------

@test "row 1 framed: the client's end of input reaches the handler, which still answers" {
	start_listener -e "$count_then_answer" 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" a b c
	[ "$status" -eq 0 ]
	[ "$output" = "saw EOF after 3" ]
}

@test "row 1 raw: nc -N's end of input reaches the handler, which still answers" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e "$count_then_answer" 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" < <(printf 'a\nb\nc\n')
	[ "$status" -eq 0 ]
	[ "$output" = "saw EOF after 3" ]
}

# ---- row 2 ---------------------------------------------------------------------------

early_close="echo early; exec >&-; cat >'\$T_/h.in'; echo done >'\$T_/h.done'"

@test "row 2 framed: the handler closes its stdout; the sender goes on sending, then ends cleanly" {
	start_listener -e "${early_close//\$T_/$T}" 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo one >&5
	wait_for file_has "$T/send.out" '^early$'
	wait_for file_has "$T/h.in" '^one$'
	# replies are over; messages still go through
	echo two >&5
	wait_for file_has "$T/h.in" '^two$'
	proc_alive "$spid"
	exec 5>&-
	wait_exit "$spid"
	[ "$status" -eq 0 ]
	wait_for "[ -e '$T/h.done' ]"
	[ "$(cat "$T/h.in")" = "$(printf 'one\ntwo')" ]
	[ "$(cat "$T/send.out")" = early ]
}

@test "row 2 raw: the handler closes its stdout; the client sees the end and can still send" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e "${early_close//\$T_/$T}" 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg client rawclient -m "$T/client.eof" "$ADDR"
	cpid=$BGPID
	exec 5>"$T/in"
	echo one >&5
	wait_for "[ -e '$T/client.eof' ]"
	echo two >&5
	wait_for file_has "$T/h.in" '^two$'
	proc_alive "$cpid"
	exec 5>&-
	wait_exit "$cpid"
	[ "$status" -eq 0 ]
	wait_for "[ -e '$T/h.done' ]"
	[ "$(cat "$T/h.in")" = "$(printf 'one\ntwo')" ]
	[ "$(cat "$T/client.out")" = early ]
}

# ---- row 3 ---------------------------------------------------------------------------

@test "row 3 framed: the handler exits; the connection ends and quilt-send -x returns its status" {
	start_listener -e 'read -r l; echo "got $l"; exit 3' 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send -x "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo first >&5
	# its input is still open: only the handler's exit can end it
	wait_exit "$spid"
	exec 5>&-
	[ "$status" -eq 3 ]
	[ "$(cat "$T/send.out")" = "got first" ]
}

@test "row 3 framed: without -x, a handler's exit with the input all sent is exit 0" {
	start_listener -e 'cat >/dev/null; exit 5' 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" a b
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-send -x "$ADDR" a b
	[ "$status" -eq 5 ]
}

@test "row 3 raw: the handler exits; the client sees the end, and the connection is gone for sending too" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e 'read -r l; echo "got $l"; exit 3' 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg client rawclient -m "$T/client.eof" "$ADDR"
	cpid=$BGPID
	exec 5>"$T/in"
	echo first >&5
	wait_for "[ -e '$T/client.eof' ]"
	[ "$(cat "$T/client.out")" = "got first" ]
	# unlike row 2, what it sends now has nowhere to go: reset
	echo more >&5
	wait_exit "$cpid"
	exec 5>&-
	[ "$status" -eq 3 ]
	wait_for "[ \$(tcp_established $PORT) -eq 0 ]"
}

# ---- row 4 ---------------------------------------------------------------------------

@test "row 4 framed: the sender is killed (-9); the handler sees end of input" {
	start_listener -e "cat >'$T/h.in'; echo eof >'$T/h.eof'" 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo before-cut >&5
	wait_for file_has "$T/h.in" '^before-cut$'
	kill -KILL "$spid"
	wait_for "[ -e '$T/h.eof' ]"
	exec 5>&-
	proc_alive "$LPID"
}

@test "row 4 raw: the client is killed (-9); the handler sees end of input" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e "cat >'$T/h.in'; echo eof >'$T/h.eof'" 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg client rawclient "$ADDR"
	cpid=$BGPID
	exec 5>"$T/in"
	echo before-cut >&5
	wait_for file_has "$T/h.in" '^before-cut$'
	kill -KILL "$cpid"
	wait_for "[ -e '$T/h.eof' ]"
	exec 5>&-
	proc_alive "$LPID"
}

# ---- row 5 ---------------------------------------------------------------------------

# The handler closes its output, reads to the end, then lives on (its pid
# goes to the teardown list).
lingering="echo \$\$ >>'\$T_/pids'; exec >&-; cat >'\$T_/h.in'; exec tail -f /dev/null"

@test "row 5 framed: both directions ended; the sender is done though the handler lives on" {
	start_listener -e "${lingering//\$T_/$T}" 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" x y
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for "[ \$(tcp_established $PORT) -eq 0 ]"
	[ "$(cat "$T/h.in")" = "$(printf 'x\ny')" ]
}

@test "row 5 raw: both directions ended; the connection is closed though the handler lives on" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e "${lingering//\$T_/$T}" 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" < <(printf 'x\ny\n')
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for "[ \$(tcp_established $PORT) -eq 0 ]"
	[ "$(cat "$T/h.in")" = "$(printf 'x\ny')" ]
}
