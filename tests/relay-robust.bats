#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-relay when something around it is slow, full or large: a control
# client that never finishes its line, link state refused by a next hop's
# full queue, link state larger than any fixed buffer.  Each was a defect:
# the router was held, or the link state was never sent.

load helpers/relay

# ctl_path NODE: the control socket of NODE (from its ready file).
ctl_path() {
	sed -n 's/^control unix://p' "$(ready_of "$1")"
}

@test "control: a client that sends one byte every 0.5 s and never a newline holds nothing; quilt-send -w 10 -d of 1000 messages through the relay exits 0, and -Q answers meanwhile" {
	start_relay b -l 127.0.0.1:0
	start_relay a -l 127.0.0.1:0 "$RADDR"
	aaddr=$RADDR
	wait_routes a "b b 1"
	# the slow client: 60 bytes, one every half second, no newline
	# (its pace is the attack, not a wait)
	{ for i in $(seq 60); do printf x; sleep 0.5; done; } |
		socat -u - "UNIX-CONNECT:$(ctl_path a)" 2>/dev/null &
	track $!
	seq 1000 >"$T/in"
	run --separate-stderr quilt-send -w 10 -d b "$aaddr" <"$T/in"
	echo "$stderr"
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/b.out" 1000
	[ "$(cut -f2 "$T/b.out")" = "$(cat "$T/in")" ]
	run --separate-stderr ctl a routes
	[ "$status" -eq 0 ]
	[ "$output" = "$(tabs "b b 1")" ]
}

@test "control: eight silent clients at once delay a ninth until one of them times out, then it is answered" {
	start_relay a -l 127.0.0.1:0
	p=$(ctl_path a)
	for i in 1 2 3 4 5 6 7 8; do
		sleep 30 | socat -u - "UNIX-CONNECT:$p" 2>/dev/null &
		track $!
	done
	run --separate-stderr timeout 20 quilt-relay -Q "$(ready_of a)" counters
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | awk -F'\t' '$1 == "messages_in" { print $2 }')" = 0 ]
}

@test "link state: a change at a relay whose queue to the next relay is full reaches it once the queue drains" {
	# x is a leaf of a; b writes into a gate that stops after 1000 lines
	LNAME=x start_listener -n x 127.0.0.1:0
	xpid=$LPID xaddr=$ADDR
	mkfifo "$T/bout"
	BG_IN=$T/bout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	# (-M 64K: a's queue to b holds 16 MiB and not a byte more; with the
	# default limit it holds one frame of 16 MiB more, and a small one
	# always fits in that)
	ROUT=$T/bout start_relay b -M 64K -l 127.0.0.1:0
	start_relay a -M 64K -l 127.0.0.1:0 "$RADDR" "$xaddr"
	start_relay c -M 64K -l 127.0.0.1:0 "$RADDR"
	caddr=$RADDR
	wait_routes b "a a 1" "c a 2" "x a 2"
	# c's standard input fills c's queue to a with half of it (no end-to-
	# end window holds it back); at a the messages are in transit and
	# fill all of a's queue to b (small messages fill its ring of frames
	# first, so that not even a small frame fits): the writer stalls
	seq -f 'b %.0f' 3000000 >"$T/in"
	# (into the relay's FIFO, which start_relay holds open)
	cat <"$T/in" >"$T/c.in" 3>&- 4>&- &
	fpid=$!
	track "$fpid"
	wait_for -t 60 stalled "$fpid" 0
	[ "$(fd_pos "$fpid" 0)" -lt "$(stat -c %s "$T/in")" ]
	# a loses x while its queue to b is full: its link state must wait
	kill -KILL "$xpid"
	wait_routes a "b b 1" "c c 1"
	kill -CONT "$gpid"
	wait_exit "$fpid" 120
	wait_for -t 120 lines_at_least "$T/gate.out" 3000000
	wait_routes b "a a 1" "c a 2"
}

@test "link state larger than 4 KiB (62 neighbours of 64-character names) reaches the other relays" {
	start_relay b -l 127.0.0.1:0
	baddr=$RADDR
	peers=() want=("a a 1")
	for i in $(seq 10 71); do
		n=$(printf 'leaf%02d-%057d' "$i" 0)
		LNAME=l$i start_listener -n "$n" 127.0.0.1:0
		peers+=("$ADDR")
		want+=("$n a 2")
	done
	start_relay a -l 127.0.0.1:0 "$baddr" "${peers[@]}"
	wait_routes -t 60 b "${want[@]}"
	# and a message goes there through a
	run --separate-stderr quilt-send -w 20 -d "$(printf 'leaf42-%057d' 0)" "$baddr" hello
	[ "$status" -eq 0 ]
	[ "$(cat "$T/l42.out")" = hello ]
}

@test "-M 64K: 200000 small messages through a relay, in batches of the listen child larger than the limit, are each written once" {
	start_relay b -M 64K -l 127.0.0.1:0
	start_relay a -M 64K -l 127.0.0.1:0 "$RADDR"
	aaddr=$RADDR
	wait_routes a "b b 1"
	seq 200000 >"$T/in"
	run --separate-stderr quilt-send -w 60 -d b "$aaddr" <"$T/in"
	echo "$stderr"
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/b.out" 200000
	[ "$(cut -f2 "$T/b.out")" = "$(cat "$T/in")" ]
	[ ! -s "$T/a.err" ] || ! grep -q malformed "$T/a.err"
	[ "$(ctl a counters | awk -F'\t' '$1 == "restarts" { print $2 }')" -eq 0 ]
}
