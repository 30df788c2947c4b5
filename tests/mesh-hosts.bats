#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-relay on simulated hosts (scripts/hosts, scripts/mesh -H): link
# state that ages and comes back, that one forged record cannot poison,
# whose update lost on the wire (tests/helpers/qproxy -f lose) the next
# refresh makes good, a partition and its heal, the addresses relays
# announce across hosts, sealed links across hosts.  Where the ageing is
# what is shown, the relays run with short intervals (QUILT_RELAY_REFRESH,
# quilt-relay(1)).  Needs root; every test on hosts skips, saying why, where
# hosts cannot be made.

load helpers/relay
load helpers/hosts

# relay.bash's setup and teardown under other names: these add the hosts,
# destroyed last whatever became of the test.
eval "relay_$(declare -f setup)"
eval "relay_$(declare -f teardown)"
setup() {
	relay_setup
}
teardown() {
	relay_teardown
	teardown_hosts
}

F32=ffffffffffffffffffffffffffffffff
SEQ_MAX=18446744073709551615

# dot_of NODE...: the DOT of a line of these nodes, as -Q dot gives it.
dot_of() {
	local i
	echo 'graph quilt {'
	printf '\t"%s";\n' "$@"
	for ((i = 1; i < $#; i++)); do
		printf '\t"%s" -- "%s";\n' "${!i}" "${@:i+1:1}"
	done
	echo '}'
}

# count_routes NODE N: NODE routes to N nodes (a wait_for condition).
count_routes() {
	[ "$(ctl "$1" routes 2>/dev/null | wc -l)" -eq "$2" ]
}

# start_relay_in HOST NAME ARGS...: start_relay, in HOST.
start_relay_in() {
	local h=$1 name=$2 ready=$T/$2.ready
	shift 2
	[ -p "$T/$name.in" ] || mkfifo "$T/$name.in"
	rm -f "$ready"
	"$HOSTS" exec "$h" env --default-signal=INT,QUIT quilt-relay -n "$name" \
		-P "$ready" "$@" <>"$T/$name.in" >"$T/$name.out" \
		2>"$T/$name.err" 3>&- 4>&- &
	RPID=$!
	track "$RPID"
	wait_ready "$ready" "$RPID" "$name" || return 1
	note_ctl "$ready"
	RADDR=$(head -n 1 "$ready")
}

@test "link state ages: a relay whose cable is pulled, or whose host stops, leaves every routing table and dot within the maximum age (4 s), and is back once it is (a dead time of 60 s: keep-alives do not find it first)" {
	setup_hosts 3
	# (a maximum age of 4 refreshes, not 3: room for a loaded machine)
	export QUILT_RELAY_REFRESH=1 QUILT_RELAY_MAXAGE=4
	# a line n1 - n2 - n3, one a host, whose dead time (-W 60) is far
	# beyond this test: what takes n3 away is its record running out
	start_relay_in 1 n1 -W 60 -l 198.18.0.1:0
	start_relay_in 2 n2 -W 60 -l 198.18.0.2:0 "$(addr n1)"
	start_relay_in 3 n3 -W 60 -l 198.18.0.3:0 "$(addr n2)"
	wait_routes n1 "n2 n2 1" "n3 n2 2"
	wait_routes n2 "n1 n1 1" "n3 n3 1"

	hosts cut 3
	# Nothing is closed (n2's connection to n3 waits for TCP, which
	# does not give up for minutes, and for the dead time): n3's record,
	# no longer refreshed, runs out.
	wait_routes -t 7 n1 "n2 n2 1"
	wait_routes -t 7 n2 "n1 n1 1"
	[ "$(ctl n1 dot)" = "$(dot_of n1 n2)" ]
	[ "$(ctl n2 dot)" = "$(dot_of n1 n2)" ]
	run hosts exec 2 ss -Htn state established dst 198.18.0.3
	[ "${#lines[@]}" -ge 1 ]
	[ "$(ctl n1 nodes | awk -F'\t' '$1 == "n3" { print $4 }')" = unreachable ]

	hosts restore 3
	# (TCP sends again at its next retransmission, up to a few seconds)
	wait_routes -t 15 n1 "n2 n2 1" "n3 n2 2"
	wait_routes n2 "n1 n1 1" "n3 n3 1"
	wait_routes n3 "n1 n2 2" "n2 n2 1"

	# A host that hangs: its processes stop, the kernel still answers.
	hosts stop 3
	wait_routes -t 7 n1 "n2 n2 1"
	wait_routes -t 7 n2 "n1 n1 1"
	[ "$(ctl n2 dot)" = "$(dot_of n1 n2)" ]
	hosts cont 3
	# its refresh is overdue: it goes at once
	wait_routes -t 3 n1 "n2 n2 1" "n3 n2 2"
	run hosts exec 1 quilt-send -w 10 -d n3 "$(addr n1)" back
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/n3.out")" = "$(printf 'n1\tback')" ]
}

@test "a forged record of the largest order for a live relay (instance of 32 f's, sequence 2^64-1, no links), from a peer that leaves at once: n3 withdraws it and every route is back within the refresh interval (2 s; the maximum age is 6 s)" {
	setup_hosts 5
	export QUILT_RELAY_REFRESH=2
	mesh_up -H "$HDIR" ring 4
	for i in 1 2 3 4; do
		wait_for count_routes "n$i" 3
	done
	inst3=$(ctl n1 nodes | awk -F'\t' '$1 == "n3" { print $2 }')
	[ "${#inst3}" -eq 20 ]
	# From host 5, a relay's outgoing side to n1 (relay=...), two
	# records: the largest there is, for n3; and the "ffffffff" that
	# sorted last as a string, for n2, now an earlier instance than any
	# relay's (kept aside, routed by nobody).
	{
		relay_hello evil 0123456789abcdef
		msgns '' route n2 ffffffff 1 ''
		msgns '' route n3 "$F32" "$SEQ_MAX" ''
	} >"$T/forged"
	run hosts exec 5 timeout 10 rawclient "$(addr n1)" <"$T/forged"
	[ "$status" -eq 0 ]
	# n1 took it and flooded it on: n3 heard of it, and said so once
	wait_for -t 10 file_has "$M/n3.err" 'withdrawn$'
	[ "$(grep -c 'withdrawn$' "$M/n3.err")" -eq 1 ]
	# (by way of a neighbour, n2 or n4, which flooded it on)
	grep -qE "^quilt-relay: a record of n3 newer than its own \(instance $F32, sequence $SEQ_MAX\) came by way of 198\.18\.0\.[24]:[0-9]+: withdrawn\$" "$M/n3.err"
	for i in 1 2 3 4; do
		wait_for -t 2 count_routes "n$i" 3
	done
	for i in 1 2 4; do
		[ "$(ctl "n$i" nodes | awk -F'\t' '$1 == "n3" { print $2 }')" = "$inst3" ]
	done
	run hosts exec 1 quilt-send -w 10 -d n3 "$(addr n1)" through
	[ "$status" -eq 0 ]
	run hosts exec 3 quilt-send -w 10 -d n2 "$(addr n3)" back
	[ "$status" -eq 0 ]
	[ "$(cat "$M/n2.out")" = "$(printf 'n3\tback')" ]
	[ "$(cat "$M/n3.out")" = "$(printf 'n1\tthrough')" ]
	! grep -q 'withdrawn\|another relay' "$M/n2.err"
}

# dot_graph "NODE..." "A B"...: the DOT of these nodes and links (each
# "A B" with A before B), as -Q dot gives it.
dot_graph() {
	local e a b
	echo 'graph quilt {'
	for e in $1; do
		printf '\t"%s";\n' "$e"
	done
	shift
	for e in "$@"; do
		read -r a b <<<"$e"
		printf '\t"%s" -- "%s";\n' "$a" "$b"
	done
	echo '}'
}

# passed_seq NODE: the sequence number of the last route record of NODE
# that qproxy -f lose= let through (the proxy's stderr, $T/proxy.err).
passed_seq() {
	sed -n "s/^qproxy: connection 1: route of $1, sequence \([0-9]*\) (.*): passed\$/\1/p" \
		"$T/proxy.err" | tail -n 1
}

# refreshed NODE SEQ: the last record of NODE that the proxy let through
# is newer than SEQ and lists what the one before it did: NODE made it
# again, unchanged, at its refresh interval (a wait_for condition).
refreshed() {
	sed -n "s/^qproxy: connection 1: route of $1, sequence \([0-9]*\) \((.*)\): passed\$/\1 \2/p" \
		"$T/proxy.err" | tail -n 2 | awk -v s="$2" '
		{ seq = $1; sub(/^[0-9]+ /, ""); same = $0 == last; last = $0 }
		END { exit !(NR == 2 && same && seq > s) }'
}

@test "a link-state update lost on the wire (qproxy -f lose: n2's record without n1, dropped whole between hosts, the acks made to count it): n3 keeps the route to n1 after n2 and n4 dropped it, and loses it within the refresh interval (3 s) at n2's next record, n1's own still held (maximum age 60 s)" {
	setup_hosts 5
	export QUILT_RELAY_REFRESH=3 QUILT_RELAY_MAXAGE=60
	# A star round n2, one a host, the dead time (-W 60) beyond the test:
	# n2 sends its frames to n3 through the proxy on host 5, the only way
	# n3 hears of n2's links (n3 answers on a connection of its own,
	# straight to n2).  n1's record, which lists n2, lives for a minute.
	start_relay_in 3 n3 -W 60 -l 198.18.0.3:0
	start_in 5 proxy qproxy -P "$T/proxy.ready" -v -f lose=n2:n1 \
		198.18.0.5:0 "$(addr n3)"
	wait_ready "$T/proxy.ready" "$BGPID" proxy
	start_relay_in 2 n2 -W 60 -l 198.18.0.2:0 "$(head -n 1 "$T/proxy.ready")"
	start_relay_in 1 n1 -W 60 -l 198.18.0.1:0 "$(addr n2)"
	n1pid=$RPID
	start_relay_in 4 n4 -W 60 -l 198.18.0.4:0 "$(addr n2)"
	wait_routes n3 "n1 n2 2" "n2 n2 1" "n4 n2 2"
	wait_routes n4 "n1 n2 2" "n2 n2 1" "n3 n2 2"
	wait_routes n2 "n1 n1 1" "n3 n3 1" "n4 n4 1"
	inst1=$(ctl n3 nodes | awk -F'\t' '$1 == "n1" { print $2 }')
	[ "${#inst1}" -eq 20 ]

	# n1 goes just after a refresh of n2's, so that n2's news is lost
	# well before its next refresh (2.7 to 3 s after this one): the time
	# there is to see n3 wrong, on a loaded machine too.
	wait_for -t 6 refreshed n2 "$(passed_seq n2)"
	s=$(passed_seq n2)
	kill -KILL "$n1pid"
	wait_for file_has "$T/proxy.err" "^qproxy: connection 1: route of n2, sequence $((s + 1)) \\(n3 n4\\): lost\$"
	wait_routes n2 "n3 n3 1" "n4 n4 1"
	wait_routes n4 "n2 n2 1" "n3 n2 2"
	# n3 still has n2's record of before, which lists n1.
	routes_are n3 "n1 n2 2" "n2 n2 1" "n4 n2 2"
	[ "$(ctl n3 dot)" = "$(dot_graph "n1 n2 n3 n4" "n1 n2" "n2 n3" "n2 n4")" ]
	[ "$(ctl n4 dot)" = "$(dot_graph "n2 n3 n4" "n2 n3" "n2 n4")" ]

	wait_for -t 3 routes_are n3 "n2 n2 1" "n4 n2 2"
	[ "$(ctl n3 dot)" = "$(dot_graph "n2 n3 n4" "n2 n3" "n2 n4")" ]
	# What mended it is n2's next record, the refresh: the first of n2's
	# after the one lost (nothing was sent again) ...
	run awk '/: lost$/ { getline; print; exit }' "$T/proxy.err"
	[ "$output" = "qproxy: connection 1: route of n2, sequence $((s + 2)) (n3 n4): passed" ]
	# ... not n1's record running out, nor withdrawn: n3 still has it.
	[ "$(ctl n3 nodes | awk -F'\t' '$1 == "n1" { print $2, $4 }')" = "$inst1 unreachable" ]
	# The link stayed up: one connection through the proxy, never ended,
	# and n2 has every frame it sent to n3 acknowledged, the lost one too.
	run -1 grep -v '^qproxy: connection 1: route of n2, ' "$T/proxy.err"
	wait_for "ctl n2 peers | awk -F'\t' '\$1 == \"n3\" && \$3 == \"up\" && \$5 == \$6 { f = 1 } END { exit !f }'"
	[ "$(ctl n3 counters | awk -F'\t' '$1 == "malformed" { print $2 }')" = 0 ]
}

@test "a partition of 6 hosts into halves: each routes inside; quilt-send -a under way exits 1 naming n4, n5, n6; one started after exits 0; after the heal every route and -a reach all" {
	setup_hosts 6
	mesh_up -H "$HDIR" ring 6
	for i in 1 2 3 4 5 6; do
		wait_for count_routes "n$i" 5
	done
	mkfifo "$T/sa.in"
	exec 5<>"$T/sa.in"
	"$HOSTS" exec 1 quilt-send -w 60 -a "$(addr n1)" <"$T/sa.in" \
		>"$T/sa.out" 2>"$T/sa.err" 3>&- 4>&- 5>&- &
	sa=$!
	track "$sa"
	printf 'pre%d\n' 1 2 3 >&5
	for i in 1 2 3 4 5 6; do
		wait_for file_has "$M/n$i.out" 'pre3$'
	done
	# The far half hangs first, so that what is sent now is on its way
	# to n4, n5 and n6, not written, when the mesh splits.
	hosts stop 4
	hosts stop 5
	hosts stop 6
	printf 'mid%d\n' 1 2 >&5
	for i in 1 2 3; do
		wait_for file_has "$M/n$i.out" 'mid2$'
	done
	hosts split -r 1 2 3
	hosts cont 4
	hosts cont 5
	hosts cont 6
	wait_routes n1 "n2 n2 1" "n3 n2 2"
	wait_routes n2 "n1 n1 1" "n3 n3 1"
	wait_routes n3 "n1 n2 2" "n2 n2 1"
	wait_routes n4 "n5 n5 1" "n6 n5 2"
	wait_routes n5 "n4 n4 1" "n6 n6 1"
	wait_routes n6 "n4 n5 2" "n5 n5 1"
	echo post >&5
	exec 5>&-
	wait_exit "$sa" 30
	cat "$T/sa.err"
	[ "$status" -eq 1 ]
	[ "$(cat "$T/sa.err")" = "quilt-send: $(addr n1): 2 messages not written by: n4, n5, n6" ]
	for i in 1 2 3; do
		[ "$(cut -f2 "$M/n$i.out")" = "$(printf '%s\n' pre1 pre2 pre3 mid1 mid2 post)" ]
	done

	# Inside each half, as before.
	run hosts exec 5 quilt-send -w 10 -d n6 "$(addr n4)" inside
	[ "$status" -eq 0 ]
	run hosts exec 2 quilt-send -w 10 -a "$(addr n2)" after
	echo "$output"
	[ "$status" -eq 0 ]
	for i in 1 2 3; do
		[ "$(grep -c '^n2	after$' "$M/n$i.out")" -eq 1 ]
	done
	for i in 4 5 6; do
		! grep -q after "$M/n$i.out"
	done

	hosts join
	for i in 1 2 3 4 5 6; do
		wait_for count_routes "n$i" 5
	done
	wait_routes n1 "n2 n2 1" "n3 n2 2" "n4 n2 3" "n5 n6 2" "n6 n6 1"
	run hosts exec 4 quilt-send -w 10 -a "$(addr n4)" healed
	echo "$output"
	[ "$status" -eq 0 ]
	for i in 1 2 3 4 5 6; do
		[ "$(grep -c '^n4	healed$' "$M/n$i.out")" -eq 1 ]
	done
}

@test "server-connect across hosts: relays listening on every interface announce the address the other host reached them at, over IPv4 and IPv6, never 127.0.0.1 or 0.0.0.0; messages cross both" {
	setup_hosts 3
	start_relay_in 1 a -l :0
	[[ $RADDR == :* ]]
	pa=${RADDR#:}
	start_relay_in 2 b -l :0 "198.18.0.1:$pa"
	pb=${RADDR#:}
	start_relay_in 3 c -l :0 "[2001:2::1]:$pa"
	pc=${RADDR#:}
	wait_routes a "b b 1" "c c 1"
	wait_routes b "a a 1" "c a 2"
	ctl a peers | cut -f1-4 | sort >"$T/peers"
	cat "$T/peers"
	[ "$(cat "$T/peers")" = "$(tabs "b 198.18.0.2:$pb up relay" "c [2001:2::3]:$pc up relay")" ]
	# Each record says that address, too (a's, the one it was reached
	# at last: either).
	[ "$(ctl c nodes | awk -F'\t' '$1 == "b" { print $3 }')" = "198.18.0.2:$pb" ]
	[ "$(ctl b nodes | awk -F'\t' '$1 == "c" { print $3 }')" = "[2001:2::3]:$pc" ]
	aaddr=$(ctl b nodes | awk -F'\t' '$1 == "a" { print $3 }')
	[[ $aaddr == "198.18.0.1:$pa" || $aaddr == "[2001:2::1]:$pa" ]]
	run hosts exec 2 quilt-send -w 10 -d c "198.18.0.2:$pb" 'from b'
	[ "$status" -eq 0 ]
	run hosts exec 3 quilt-send -w 10 -d b "[2001:2::3]:$pc" 'from c'
	[ "$status" -eq 0 ]
	[ "$(cat "$T/c.out")" = "$(printf 'b\tfrom b')" ]
	[ "$(cat "$T/b.out")" = "$(printf 'c\tfrom c')" ]
}

@test "sealed links across hosts (-k), over IPv6 (scripts/mesh -6 -H): -d across two links is written; a sender without the key is refused (76)" {
	setup_hosts 4
	quilt-keygen "$T/key"
	mesh_up -k "$T/key" -6 -H "$HDIR" line 3
	[[ $(addr n1) == '[2001:2::1]:'* ]]
	wait_routes n1 "n2 n2 1" "n3 n2 2"
	ctl n2 peers | cut -f1-3 | sort >"$T/peers"
	[ "$(cut -f1,3 "$T/peers")" = "$(tabs "n1 up" "n3 up")" ]
	! grep -q '127\.0\.0\.1\|\[::1\]' "$T/peers"
	run hosts exec 4 quilt-send -k "$T/key" -w 10 -d n3 "$(addr n1)" sealed
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$M/n3.out")" = "$(printf 'n1\tsealed')" ]
	run hosts exec 4 quilt-send -w 10 -d n3 "$(addr n1)" plain
	[ "$status" -eq 76 ]
	[ "$(cat "$M/n3.out")" = "$(printf 'n1\tsealed')" ]
}

@test "QUILT_RELAY_REFRESH and QUILT_RELAY_MAXAGE out of bounds: one line and the usage, exit 64" {
	local usage
	usage=$(quilt-relay --help | sed '/^  -/,$d')
	QUILT_RELAY_REFRESH=0.05 run -64 --separate-stderr quilt-relay -n a -l 127.0.0.1:0
	[ "$stderr" = "quilt-relay: QUILT_RELAY_REFRESH must be 0.100..3600.000 seconds: 0.05"$'\n'"$usage" ]
	QUILT_RELAY_REFRESH=1 QUILT_RELAY_MAXAGE=1.5 run -64 --separate-stderr quilt-relay -n a -l 127.0.0.1:0
	[ "$stderr" = "quilt-relay: QUILT_RELAY_MAXAGE (at least twice the refresh) must be 2.000..10800.000 seconds: 1.5"$'\n'"$usage" ]
	QUILT_RELAY_REFRESH=x run -64 --separate-stderr quilt-relay -n a -l 127.0.0.1:0
	[ "$stderr" = "quilt-relay: QUILT_RELAY_REFRESH: not a number: 'x'"$'\n'"$usage" ]
	[ -z "$output" ]
}
