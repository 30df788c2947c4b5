#!/usr/bin/env bats
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
