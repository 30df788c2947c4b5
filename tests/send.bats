#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-send: messages from arguments and from stdin in the three formats,
# acknowledged delivery, replies, -x, -v, a closed stdout, exactly once
# across a lost connection (-r through a proxy killed and restarted), at
# least once across a crash of the listener, and flow control.

load helpers/common

# ---- arguments and input formats -------------------------------------------------

@test "arguments are messages of one part each; exit 0 once all are acknowledged" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" one 'two words' three
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'one\ntwo words\nthree')" ]
}

@test "empty input: nothing sent, exit 0" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" </dev/null
	[ "$status" -eq 0 ]
	stop_listener
	[ ! -s "$T/listen.out" ]
}

@test "stdin lines: one part per line, taken verbatim; an empty line is an empty part" {
	start_listener 127.0.0.1:0
	printf 'first\n\n  spaced  \nback\\slash\nlast\n' >"$T/in"
	run --separate-stderr quilt-send "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
}

@test "100000 lines are written exactly once and in order" {
	start_listener 127.0.0.1:0
	seq 1 100000 >"$T/in"
	run --separate-stderr quilt-send -v "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	[ "$(counter sent <(echo "$stderr"))" -eq 100000 ]
	[ "$(counter acknowledged <(echo "$stderr"))" -eq 100000 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
}

@test "-0: NUL-terminated records both ways; a LF inside a record is kept" {
	start_listener -0 127.0.0.1:0
	printf 'one\0two\nlines\0\0last\0' >"$T/in"
	run --separate-stderr quilt-send -0 "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
}

@test "-N: netstrings both ways, binary-safe, messages of several parts" {
	start_listener -N 127.0.0.1:0
	{
		msgns hello
		msgns from alice 'hi there'
		msgns ''
		printf '13:1:\0,6:a\0b\ncd,,'
		msgns "$(printf 'tab\there')" x
	} >"$T/in"
	run --separate-stderr quilt-send -N "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
}

@test "-0 in, -N out: a record with a LF inside arrives whole, without escaping" {
	start_listener -N 127.0.0.1:0
	printf 'two\nlines\0plain\0' >"$T/in"
	run --separate-stderr quilt-send -0 "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	cmp <(msgns "$(printf 'two\nlines')"; msgns plain) "$T/listen.out"
	[ "$(grep -c escaped "$T/listen.err")" -eq 0 ]
}

@test "-N in, lines out: the parts of a message are joined by TABs" {
	start_listener 127.0.0.1:0
	{ msgns alice 'hi there'; msgns a b c; msgns solo; } >"$T/in"
	run --separate-stderr quilt-send -N "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'alice\thi there\na\tb\tc\nsolo')" ]
	[ "$(grep -c escaped "$T/listen.err")" -eq 0 ]
}

@test "lines out: a message the format cannot carry is escaped, with one warning" {
	start_listener 127.0.0.1:0
	printf 'two\nlines\0back\\slash\nlf\0plain\\kept\0' >"$T/in"
	run --separate-stderr quilt-send -0 "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-send -N "$ADDR" < <(msgns "$(printf 'a\tb')" c)
	[ "$status" -eq 0 ]
	stop_listener
	printf '%s\n' 'two\nlines' 'back\\slash\nlf' 'plain\kept' 'a\tb	c' >"$T/want"
	cmp "$T/want" "$T/listen.out"
	[ "$(grep -c '^quilt-listen: some messages were escaped; use -N for lossless output' "$T/listen.err")" -eq 1 ]
}

@test "lines out: a TAB inside a message of one part is written verbatim" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" "$(printf 'tab\there')"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'tab\there')" ]
	[ "$(grep -c escaped "$T/listen.err")" -eq 0 ]
}

@test "-0 out: a message with a NUL inside is escaped as \\0" {
	start_listener -0 127.0.0.1:0
	printf '7:4:a\0bc,,' >"$T/in"
	run --separate-stderr quilt-send -N "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_listener
	cmp <(printf 'a\\0bc\0') "$T/listen.out"
	grep -q '^quilt-listen: some messages were escaped' "$T/listen.err"
}

@test "-n sets the node name; a bad node name is a usage error" {
	start_listener -e 'cat >/dev/null; echo "$QUILTREMOTENODE"' 127.0.0.1:0
	run --separate-stderr quilt-send -n my-node.1 "$ADDR" x
	[ "$status" -eq 0 ]
	[ "$output" = my-node.1 ]
	for bad in all 'has space' '' "$(printf '%065d' 0)"; do
		run --separate-stderr quilt-send -n "$bad" "$ADDR" x
		[ "$status" -eq 64 ]
		[[ $stderr == quilt-send:* ]]
	done
}

# ---- replies, -x, -v, closed stdout ---------------------------------------------

@test "replies of a -e handler are printed, in the sender's format (-N)" {
	start_listener -N -e cat 127.0.0.1:0
	{ msgns a b; msgns "$(printf 'line\nbreak')"; } >"$T/in"
	run --separate-stderr quilt-send -N "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/in")" ]
}

@test "-x: quilt-send exits with the handler's exit status; without -x, 0" {
	start_listener -e 'cat >/dev/null; echo bye; exit 7' 127.0.0.1:0
	run --separate-stderr quilt-send -x "$ADDR" x
	[ "$status" -eq 7 ]
	[ "$output" = bye ]
	run --separate-stderr quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	[ "$output" = bye ]
	LNAME=l0 start_listener -e 'cat >/dev/null' 127.0.0.1:0
	run --separate-stderr quilt-send -x "$ADDR" x
	[ "$status" -eq 0 ]
}

@test "-v: one counters line on stderr at exit" {
	start_listener -e 'cat >/dev/null; echo r1; echo r2' 127.0.0.1:0
	run --separate-stderr quilt-send -v "$ADDR" a bb ccc
	[ "$status" -eq 0 ]
	echo "$stderr"
	[[ $stderr =~ (^|$'\n')quilt-send:\ sent\ 3\ messages\ \([0-9]+\ bytes\),\ acknowledged\ 3,\ replies\ 2,\ round\ trips\ [0-9]+,\ resends\ 0,\ reconnects\ 0($'\n'|$) ]]
	[ "$(grep -c '^quilt-send: sent ' <<<"$stderr")" -eq 1 ]
	[ "$output" = "$(printf 'r1\nr2')" ]
}

@test "a closed stdout (| head -n1) ends it quietly" {
	start_listener -e 'cat >/dev/null; seq 1 500000' 127.0.0.1:0
	run bash -c 'quilt-send "$1" x 2>"$2/send.err" | head -n 1
		echo "quilt-send exited ${PIPESTATUS[0]}" >"$2/rc"' _ "$ADDR" "$T"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	cat "$T/rc"
	[ ! -s "$T/send.err" ]
	# a quiet end: success or the plain SIGPIPE death, never an error status
	grep -Eq 'exited (0|141)$' "$T/rc"
}

# ---- exactly once across a lost connection (-r) -------------------------------

@test "-r: a connection cut mid-stream by the proxy; 100000 messages written exactly once, exit 0" {
	start_listener 127.0.0.1:0
	# the first connection is cut after 300000 bytes, the next ones are not
	start_proxy -n 1 -f cut=300000 "$ADDR"
	seq 1 100000 >"$T/in"
	run --separate-stderr quilt-send -r -v "$PXADDR" <"$T/in"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(counter reconnects <(echo "$stderr"))" -ge 1 ]
	stop_listener
	[ "$status" -eq 0 ]
	cmp "$T/in" "$T/listen.out"
}

@test "-r: the proxy killed at 50000 lines and restarted on its port; 100000 messages exactly once, exit 0" {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 50000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	start_proxy "$ADDR"
	port=$PXPORT
	seq 1 100000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -r -v "$PXADDR"
	spid=$BGPID
	# the data decides when: 50000 lines out, the rest held mid-stream
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -KILL "$PXPID"
	wait_exit "$PXPID"
	start_proxy -p "$port" "$ADDR"
	[ "$PXPORT" = "$port" ]
	kill -CONT "$gpid"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 0 ]
	[ "$(counter reconnects "$T/send.err")" -ge 1 ]
	stop_listener
	[ "$status" -eq 0 ]
	wait_exit "$gpid"
	cmp "$T/in" "$T/gate.out"
}

# ---- at least once across a crash of the listener -------------------------------

# The first listener writes into a fifo read by a gate that stops after
# 50000 lines (the data decides when the crash comes); a restarted listener
# writes to a file of its own, so each one's output can be checked apart.
crash_setup() {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 50000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	port=$PORT addr=$ADDR
	seq 1 100000 >"$T/in"
}

# first_output_ok FILE: FILE (the crashed listener's output) is 1..K in
# complete lines, maybe followed by a torn start of K+1 (the write(2) that
# kill -9 cut short; not acknowledged).  Prints K.
first_output_ok() {
	local k frag
	k=$(count_lines "$1")
	head -n "$k" "$1" | cmp - <(seq 1 "$k") >&2 || return 1
	frag=$(tail -c +$(($(head -n "$k" "$1" | wc -c) + 1)) "$1")
	if [ -n "$frag" ] && [[ $((k + 1)) != "$frag"* ]]; then
		echo "torn tail '$frag' is not the start of $((k + 1))" >&2
		return 1
	fi
	echo "$k"
}

@test "kill -9 of the listener at 50000 lines, restarted on its port: with -r every message is written, duplicates only within the window" {
	crash_setup
	BG_IN=$T/in start_bg send quilt-send -r -v "$addr"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -KILL "$LPID"
	wait_exit "$LPID"
	kill -CONT "$gpid"
	LNAME=listen2 start_listener "127.0.0.1:$port"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 0 ]
	[ "$(counter reconnects "$T/send.err")" -ge 1 ]
	stop_listener
	[ "$status" -eq 0 ]
	wait_exit "$gpid"
	# 1..K from the first listener, then J..100000 from the second
	k=$(first_output_ok "$T/gate.out")
	j=$(head -n 1 "$T/listen2.out")
	echo "first listener wrote 1..$k, the second from $j"
	[ "$k" -ge 50000 ]
	[ "$j" -ge 1 ]
	[ "$j" -le $((k + 1)) ]
	cmp "$T/listen2.out" <(seq "$j" 100000)
	# the duplicates are messages written but not yet acknowledged at the
	# crash: resent, so within what the sender held (its window)
	[ $((k - j + 1)) -le "$(counter resends "$T/send.err")" ]
}

@test "kill -9 of the listener at 50000 lines: without -r, exit 1 with the count not acknowledged" {
	crash_setup
	BG_IN=$T/in start_bg send quilt-send -v "$addr"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -KILL "$LPID"
	wait_exit "$LPID"
	kill -CONT "$gpid"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 1 ]
	wait_exit "$gpid"
	sent=$(counter sent "$T/send.err")
	acked=$(counter acknowledged "$T/send.err")
	n=$(sed -nE "s/^quilt-send: $addr: connection lost: ([0-9]+) messages? not acknowledged.*/\\1/p" "$T/send.err")
	got=$(count_lines "$T/gate.out")
	echo "sent $sent, acknowledged $acked, not acknowledged $n, written $got"
	[ -n "$n" ]
	[ "$n" -ge 1 ]
	[ "$n" -eq $((sent - acked)) ]
	# every acknowledged message was written, in order, once
	[ "$acked" -le "$got" ]
	first_output_ok "$T/gate.out"
}

@test "-r -w: a listener that never comes back ends the run at the deadline with 1" {
	start_listener 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send -r -w 2 "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo one >&5
	wait_for file_has "$T/listen.out" '^one$'
	kill -KILL "$LPID"
	echo two >&5
	exec 5>&-
	wait_exit "$spid" 10
	cat "$T/send.err"
	[ "$status" -eq 1 ]
	grep -Eq "^quilt-send: $ADDR: .*[0-9]+ messages? not acknowledged" "$T/send.err"
}

# ---- flow control --------------------------------------------------------------

@test "flow control: a stopped reader blocks the sender, memory stays bounded (-M 64K), then everything arrives" {
	mkfifo "$T/lout" "$T/sin"
	BG_IN=$T/lout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener -M 64K 127.0.0.1:0
	BG_IN=$T/sin start_bg send quilt-send -M 64K -v "$ADDR"
	spid=$BGPID
	exec 6>"$T/sin"
	echo first >&6
	wait_for lines_at_least "$T/gate.out" 1
	base_l=$(vm_hwm "$LPID")
	base_s=$(vm_hwm "$spid")
	seq -f "%.0f $(printf '%050d' 0)" 2 500000 >"$T/big"
	cat <"$T/big" >&6 3>&- &
	cpid=$!
	track "$cpid"
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	# the sender stops reading: its input stays put, well short of the end
	wait_for stalled "$cpid" 0
	[ "$(fd_pos "$cpid" 0)" -lt "$(stat -c %s "$T/big")" ]
	peak_l=$(vm_hwm "$LPID")
	peak_s=$(vm_hwm "$spid")
	echo "listener VmHWM $base_l -> $peak_l kB, sender $base_s -> $peak_s kB"
	if [ -z "${SAN:-}" ]; then
		[ $((peak_l - base_l)) -le 4096 ]
		[ $((peak_s - base_s)) -le 4096 ]
	fi
	kill -CONT "$gpid"
	wait_exit "$cpid"
	exec 6>&-
	wait_exit "$spid"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	wait_exit "$gpid"
	cat <(echo first) "$T/big" | cmp - "$T/gate.out"
}

@test "flow control through a handler: one that stops reading holds the sender; its exit ends the run" {
	start_listener -e "echo \$\$ >'$T/h.pid'; read -r l; echo \"took \$l\"; exec tail -f /dev/null" 127.0.0.1:0
	seq 1 500000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -v "$ADDR"
	spid=$BGPID
	wait_for file_has "$T/send.out" '^took 1$'
	# the handler reads no more: the sender is held, well short of the end
	wait_for stalled "$spid" 0
	[ "$(fd_pos "$spid" 0)" -lt "$(stat -c %s "$T/in")" ]
	proc_alive "$spid"
	hpid=$(cat "$T/h.pid")
	track "$hpid"
	kill -KILL "$hpid"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 1 ]
	grep -Eq "^quilt-send: $ADDR: (connection lost|the handler exited): [0-9]+ messages? not acknowledged" "$T/send.err"
}

@test "-w: the deadline ends a send held by flow control; exit 1 with the count" {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	seq 1 200000 >"$T/in"
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-send -v -w 1 "$ADDR" <"$T/in"
	t1=${EPOCHREALTIME/./}
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ $((t1 - t0)) -ge 900000 ]
	[ $((t1 - t0)) -lt 10000000 ]
	grep -Eq "^quilt-send: $ADDR: .*[0-9]+ messages? not acknowledged" <<<"$stderr"
	[ -e "$T/gated" ]
}

@test "acknowledgements are not held back: with stdout blocked, what was written is acknowledged" {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	seq 1 200000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -v "$ADDR"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	# all quiet: the sender has stopped reading, nothing moves
	wait_for stalled "$spid" 0
	kill -KILL "$LPID"
	wait_exit "$spid"
	[ "$status" -eq 1 ]
	kill -CONT "$gpid"
	wait_exit "$gpid"
	acked=$(counter acknowledged "$T/send.err")
	got=$(count_lines "$T/gate.out")
	echo "written $got, acknowledged $acked"
	[ "$acked" -le "$got" ]
	# every message written before the block was acknowledged (a torn
	# last one, half written, may not be)
	[ "$acked" -ge $((got - 1)) ]
}

@test "a progress line on stderr when it is a terminal, during a long send" {
	command -v script >/dev/null || skip "script(1) is not installed"
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	seq 1 200000 >"$T/in"
	# script gives quilt-send a terminal for stdout and stderr
	# (its shell is $SHELL, maybe not bash, so the sealed pass's exported
	# quilt-send function may be missing: the key is passed explicitly)
	start_bg tty script -qefc "command quilt-send ${QUILT_SEAL_KEY:+-k '$QUILT_SEAL_KEY'} '$ADDR' <'$T/in'" /dev/null
	tpid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	# held by flow control: the line comes back, updated, every second
	wait_for "[ \$(grep -o 'quilt-send: [0-9]' '$T/tty.out' | wc -l) -ge 2 ]"
	kill -CONT "$gpid"
	wait_exit "$tpid"
	[ "$status" -eq 0 ]
	stop_listener
	cmp "$T/in" "$T/gate.out"
}
