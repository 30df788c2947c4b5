#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-relay's keep-alives and dead timer (-W): a neighbour that stops
# answering without closing anything (its host stopped, its link cut, every
# packet of it dropped, its router alone stopped) is declared dead within
# -W, routes go round it, and nothing is written twice once it is back; a
# relay busy with a stream, its queues full, is never declared dead; with
# 2% of the packets of every host dropped no link is; Spread members behind
# a cut link see the network change.  The meshes across hosts run one relay
# per simulated host (scripts/hosts); those tests skip, saying why, where
# hosts cannot be made.

load helpers/relay
load helpers/hosts
load helpers/spread
load helpers/sd

QUILT_NEEDS="quilt-relay quilt-keygen sp-join sp-mcast"

# relay_teardown: helpers/relay's teardown (the relays, then what the test
# started), which this file's replaces: the hosts go first.
eval "relay_teardown() $(declare -f teardown | tail -n +2)"
teardown() {
	local st=0
	teardown_hosts || st=1
	relay_teardown
	return "$st"
}

# relay_in HOST NAME ARGS...: start_relay NAME, in HOST, listening on that
# host's address; sets RPID and RADDR.
relay_in() {
	local h=$1 name=$2 ready=$T/$2.ready
	shift 2
	[ -p "$T/$name.in" ] || mkfifo "$T/$name.in"
	rm -f "$ready"
	"$HOSTS" exec "$h" env --default-signal=INT,QUIT quilt-relay -n "$name" \
		-l "198.18.0.$h:0" -P "$ready" "$@" \
		<>"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" 3>&- 4>&- &
	RPID=$!
	track "$RPID"
	wait_ready "$ready" "$RPID" "$name" || return 1
	note_ctl "$ready"
	RADDR=$(head -n 1 "$ready")
}

# ring_hosts N: hosts 1..N, relay nI in host I peering with n(I-1), and
# nN with n1 too.
ring_hosts() {
	local n=$1 i prev=''
	setup_hosts "$n"
	for ((i = 1; i <= n; i++)); do
		if [ "$i" -eq "$n" ]; then
			relay_in "$i" "n$i" "$prev" "$(addr n1)"
		else
			relay_in "$i" "n$i" $prev
		fi
		prev=$RADDR
	done
}

# counter_of NODE NAME: a counter of relay NODE.
counter_of() {
	ctl "$1" counters | awk -F'\t' -v n="$2" '$1 == n { print $2 }'
}

# ms_since T0: milliseconds since T0 (microseconds of EPOCHREALTIME).
ms_since() {
	echo $(((${EPOCHREALTIME/./} - $1) / 1000))
}

# silent_ring FAULT UNDO: a ring of 4, one relay a host, n1 reaching n3
# through n2; FAULT silences n2's host (hosts FAULT 2), then 2000 messages
# quilt-send -w 10 -d n3 from n1 are each written once by n3 (round by
# n4); UNDO gives the host back, the routes go through n2 again, and a
# message after them through n2 finds nothing written twice.
silent_ring() {
	local fault=$1 undo=$2 t0 a1
	ring_hosts 4
	full=("n2 n2 1" "n3 n2 2" "n4 n4 1")
	wait_routes n1 "${full[@]}"
	wait_routes n3 "n1 n2 2" "n2 n2 1" "n4 n4 1"
	a1=$(addr n1)
	seq 2000 >"$T/in"
	t0=${EPOCHREALTIME/./}
	hosts $fault
	# (sent at once: the first go to n2, and wait for the dead timer)
	run --separate-stderr hosts exec 1 quilt-send -w 10 -d n3 "$a1" <"$T/in"
	echo "$stderr"
	[ "$status" -eq 0 ]
	echo "all written $(ms_since "$t0") ms after the fault"
	# the documented bound is -W, 3 s; 6 s allows a loaded machine
	wait_routes -t 6 n1 "n3 n4 2" "n4 n4 1"
	wait_routes -t 6 n3 "n1 n4 2" "n4 n4 1"
	echo "routed round n2 $(ms_since "$t0") ms after the fault"
	[ "$(counter_of n1 dead)" -eq 1 ]
	[ "$(counter_of n3 dead)" -eq 1 ]
	grep -q "nothing from n2 for [0-9]* ms: its link is down" "$T/n1.err"
	sed 's/^/n1\t/' "$T/in" | cmp - "$T/n3.out"
	# n2 back: the routes through it again, and n1's messages that
	# waited in n2 (or for it) are not written again
	hosts $undo
	t0=${EPOCHREALTIME/./}
	wait_routes n1 "${full[@]}"
	wait_routes n3 "n1 n2 2" "n2 n2 1" "n4 n4 1"
	echo "through n2 again $(ms_since "$t0") ms after it was back"
	run --separate-stderr hosts exec 1 quilt-send -w 10 -d n3 "$a1" last
	[ "$status" -eq 0 ]
	{
		sed 's/^/n1\t/' "$T/in"
		printf 'n1\tlast\n'
	} | cmp - "$T/n3.out"
	echo "n3 dropped $(counter_of n3 duplicates) duplicates"
	[ "$(counter_of n1 dead)" -eq 1 ]
	[ "$(counter_of n3 dead)" -eq 1 ]
	grep -q "n2 answers again" "$T/n1.err"
}

@test "a relay's host stopped (SIGSTOP, every process) in a ring of 4 hosts: declared dead, quilt-send -w 10 -d round it exits 0, each of 2000 messages written once; after SIGCONT routes through it again, nothing written twice" {
	silent_ring "stop 2" "cont 2"
	# what n2 had taken in while stopped went on to n3 once it could:
	# the copies that came second were dropped
	[ "$(counter_of n3 duplicates)" -gt 0 ]
	# n2 never counted the time it was stopped against its neighbours
	[ "$(counter_of n2 dead)" -eq 0 ]
}

@test "a relay's host link cut in a ring of 4 hosts: declared dead, quilt-send -w 10 -d round it exits 0, each of 2000 messages written once; restored, routes through it again, nothing written twice" {
	silent_ring "cut 2" "restore 2"
	# n2 heard nothing either: its two links went down on its side too
	[ "$(counter_of n2 dead)" -eq 2 ]
}

@test "every packet of a relay's host dropped (loss 100) in a ring of 4 hosts: declared dead, quilt-send -w 10 -d round it exits 0, each of 2000 messages written once; loss 0, routes through it again, nothing written twice" {
	silent_ring "loss 2 100" "loss 2 0"
	[ "$(counter_of n2 dead)" -eq 2 ]
}

# line_hosts N: hosts 1..N, relay nI in host I peering with n(I-1).
line_hosts() {
	local n=$1 i prev=''
	setup_hosts "$n"
	for ((i = 1; i <= n; i++)); do
		relay_in "$i" "n$i" $prev
		prev=$RADDR
	done
}

@test "2% of the packets of every host dropped, a line of 4 hosts: 100000 messages quilt-send -d each way across three hops are written once each, in order; no link is declared dead (the loss lasting two dead times at least)" {
	line_hosts 4
	wait_routes n1 "n2 n2 1" "n3 n2 2" "n4 n2 3"
	wait_routes n4 "n1 n3 3" "n2 n3 2" "n3 n3 1"
	for i in 1 2 3 4; do
		hosts loss "$i" 2
	done
	# (the hellos: one from each neighbour an interval, whichever way
	# the keep-alives go)
	k1=$(counter_of n1 hello_received)
	k2=$(counter_of n2 hello_received)
	k3=$(counter_of n3 hello_received)
	k4=$(counter_of n4 hello_received)
	seq 100000 >"$T/in"
	BG_IN=$T/in start_in 1 s1 quilt-send -w 120 -d n4 "$(addr n1)"
	s1=$BGPID
	BG_IN=$T/in start_in 4 s4 quilt-send -w 120 -d n1 "$(addr n4)"
	s4=$BGPID
	t0=${EPOCHREALTIME/./}
	wait_exit "$s1" 130
	cat "$T/s1.err"
	[ "$status" -eq 0 ]
	wait_exit "$s4" 130
	cat "$T/s4.err"
	[ "$status" -eq 0 ]
	echo "both done in $(ms_since "$t0") ms"
	sed 's/^/n1\t/' "$T/in" | cmp - "$T/n4.out"
	sed 's/^/n4\t/' "$T/in" | cmp - "$T/n1.out"
	# the loss lasts two dead times at least: 6 hellos from each
	# neighbour (two for n2 and n3), a third of one apart
	wait_for "[ \$(counter_of n1 hello_received) -ge $((k1 + 6)) ] &&
		[ \$(counter_of n2 hello_received) -ge $((k2 + 12)) ] &&
		[ \$(counter_of n3 hello_received) -ge $((k3 + 12)) ] &&
		[ \$(counter_of n4 hello_received) -ge $((k4 + 6)) ]"
	for i in 1 2 3 4; do
		echo "n$i: $(ctl "n$i" counters | grep -E '^(keepalives|hello|dead|restarts)' | tr '\t\n' '= ')"
		[ "$(counter_of "n$i" dead)" -eq 0 ]
		[ "$(grep -c 'nothing from' "$T/n$i.err")" -eq 0 ]
	done
	# the loss was real: TCP sent segments again
	hosts exec 1 nstat -az TcpRetransSegs
	[ "$(hosts exec 1 nstat -az TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')" -gt 0 ]
}

# ring_lo N ARGS...: a ring of N relays on 127.0.0.1 (start_relay), each
# started with ARGS, nI peering with n(I-1), nN with n1 too; their pids
# in RPIDS[I].
ring_lo() {
	local n=$1 i prev=()
	shift
	RPIDS=()
	for ((i = 1; i <= n; i++)); do
		[ "$i" -eq "$n" ] && prev+=("$(addr n1)")
		start_relay "n$i" -l 127.0.0.1:0 "$@" "${prev[@]}"
		RPIDS[i]=$RPID
		prev=("$RADDR")
	done
}

@test "a relay whose router alone is stopped (its listen child goes on, answering hellos and taking frames) is declared dead within -W 1.5; routes go round it; SIGCONT: routes through it again" {
	ring_lo 4 -W 1.5
	full=("n2 n2 1" "n3 n2 2" "n4 n4 1")
	wait_routes n1 "${full[@]}"
	wait_routes n3 "n1 n2 2" "n2 n2 1" "n4 n4 1"
	p2=${RPIDS[2]}
	[ "$(count_children "$p2" quilt-send)" -eq 2 ]
	lc=$(children "$p2" | awk '$2 ~ /(^|\/)quilt-listen$/ && $3 == "-C" { print $1 }')
	[ -n "$lc" ]
	t0=${EPOCHREALTIME/./}
	kill -STOP "$p2"
	# documented: at most -W after it last spoke; 3 s more for a loaded
	# machine
	wait_routes -t 4.5 n1 "n3 n4 2" "n4 n4 1"
	wait_routes -t 4.5 n3 "n1 n4 2" "n4 n4 1"
	echo "routed round n2 $(ms_since "$t0") ms after SIGSTOP"
	# its listen child ran all along (its send children were told they
	# are dead, and wait for it to start them again)
	proc_alive "$lc"
	[ "$(proc_state "$lc")" != T ]
	[ "$(counter_of n1 dead)" -eq 1 ]
	[ "$(counter_of n3 dead)" -eq 1 ]
	# n1's child connects to n2 again, and n2's listen child answers it;
	# the link stays down until n2's router speaks
	run --separate-stderr quilt-send -w 10 -d n3 "$(addr n1)" round
	[ "$status" -eq 0 ]
	[ "$(cat "$T/n3.out")" = "$(printf 'n1\tround')" ]
	routes_are n1 "n3 n4 2" "n4 n4 1"
	kill -CONT "$p2"
	wait_routes n1 "${full[@]}"
	wait_routes n3 "n1 n2 2" "n2 n2 1" "n4 n4 1"
	grep -q '^quilt-relay: n2 answers again$' "$T/n1.err"
	run --separate-stderr quilt-send -w 10 -d n3 "$(addr n1)" through
	[ "$status" -eq 0 ]
	[ "$(cat "$T/n3.out")" = "$(printf 'n1\tround\nn1\tthrough')" ]
	[ "$(counter_of n2 dead)" -eq 0 ]
}

@test "a busy relay: 1000000 messages a -> b -> c, c's output stopped so that every queue on the way fills and stays full for four dead times (-W 2): no relay is declared dead; c's output goes on: each written once, in order" {
	mkfifo "$T/cout"
	BG_IN=$T/cout start_bg gate gate -n 300000 -m "$T/gated"
	gpid=$BGPID
	# (-W 2, not 1: while the stream flows, a relay starved of the CPU
	# for a dead time on a loaded machine is rightly taken for dead)
	ROUT=$T/cout start_relay c -l 127.0.0.1:0 -W 2
	start_relay b -l 127.0.0.1:0 -W 2 "$RADDR"
	start_relay a -l 127.0.0.1:0 -W 2 "$RADDR"
	wait_routes a "b b 1" "c b 2"
	wait_routes c "a b 2" "b b 1"
	# a's standard input: no end-to-end window holds it back, only the
	# queues on the way
	seq 1000000 >"$T/in"
	sed 's/^/c /' "$T/in" >"$T/lines"
	BG_IN=$T/lines start_bg feed sh -c 'exec cat >"$1"' sh "$T/a.in"
	fpid=$BGPID
	# the data decides: c has written 300000 and its reader stops; then
	# the feed stops too, every queue between them full
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	wait_for -t 30 stalled "$fpid" 0
	ctl b peers | tee "$T/bpeers"
	[ "$(awk -F'\t' '$1 == "c" { print $5 - $6 }' "$T/bpeers")" -gt 100000 ]
	# four dead times by a's clock: 12 hellos (one an interval, whichever
	# way the keep-alives go) a third of one apart
	k0=$(counter_of a hello_sent)
	wait_for "[ \$(counter_of a hello_sent) -ge $((k0 + 12)) ]"
	for r in a b c; do
		echo "$r: $(ctl "$r" counters | grep -E '^(keepalives|hello|dead)' | tr '\t\n' '= ')"
		[ "$(counter_of "$r" dead)" -eq 0 ]
	done
	# nothing moved meanwhile
	proc_stopped "$gpid"
	[ "$(count_lines "$T/gate.out")" -eq 300000 ]
	kill -CONT "$gpid"
	wait_exit "$fpid" 60
	[ "$status" -eq 0 ]
	wait_for -t 60 lines_at_least "$T/gate.out" 1000000
	sed 's/^/a\t/' "$T/in" | cmp - "$T/gate.out"
	for r in a b c; do
		[ "$(counter_of "$r" dead)" -eq 0 ]
		[ "$(counter_of "$r" restarts)" -eq 0 ]
	done
}

@test "Spread groups on three hosts (quilt-relay -s): c's link cut: the members on a and b get TRANSITION, then CAUSED_BY_NETWORK with the two of them, and c's member with itself alone; restored: one CAUSED_BY_NETWORK with all three, and no second TRANSITION" {
	setup_hosts 3
	relay_in 1 a -s 0
	aaddr=$RADDR pa=$(sd_port a)
	relay_in 2 b -s 0 "$aaddr"
	baddr=$RADDR pb=$(sd_port b)
	relay_in 3 c -s 0 "$aaddr" "$baddr"
	pc=$(sd_port c)
	echo "/tmp/$pa" >>"$T/ctls"
	echo "/tmp/$pb" >>"$T/ctls"
	echo "/tmp/$pc" >>"$T/ctls"
	for r in a b c; do
		wait_for "ctl $r groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	done
	# (through /tmp/PORT: a Unix socket reaches into the hosts)
	member ma "$pa" g
	member mb "$pb" g
	member mc "$pc" g
	wait_for "grep -q '#ma#a #mb#b #mc#c' $T/ma.out"
	wait_for "grep -q '#ma#a #mb#b #mc#c' $T/mc.out"
	old=$(gids ma g | tail -n 1)
	hosts cut 3
	for m in ma mb mc; do
		wait_for "grep -q '^memb	network' $T/$m.out"
		tail -n 2 "$T/$m.out" >"$T/$m.tail"
		[ "$(sed -n 1p "$T/$m.tail")" = "$(printf 'memb\ttransition\tg\t%s\t\t' "$old")" ]
	done
	[ "$(sed -n 2p "$T/ma.tail" | cut -f1-3,5,6)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b\t#ma#a #mb#b')" ]
	[ "$(sed -n 2p "$T/mb.tail" | cut -f1-3,5,6)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b\t#ma#a #mb#b')" ]
	[ "$(sed -n 2p "$T/mc.tail" | cut -f1-3,5,6)" = "$(printf 'memb\tnetwork\tg\t#mc#c\t#mc#c')" ]
	new=$(gids ma g | tail -n 1)
	[ "$new" != "$old" ]
	[ "$(gids mb g | tail -n 1)" = "$new" ]
	[ "$(counter_of a dead)" -eq 1 ]
	[ "$(counter_of b dead)" -eq 1 ]
	[ "$(counter_of c dead)" -eq 2 ]
	# each side goes on alone
	sp-mcast -s "$pa" g -- ab-only
	wait_for "grep -q ab-only $T/mb.out"
	hosts restore 3
	for m in ma mb mc; do
		wait_for "[ \$(grep -c '^memb	network' $T/$m.out) -eq 2 ]"
		[ "$(tail -n 1 "$T/$m.out" | cut -f1-3,5)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b #mc#c')" ]
		[ "$(grep -c '^memb	transition' "$T/$m.out")" -eq 1 ]
	done
	[ "$(tail -n 1 "$T/ma.out" | cut -f4)" = "$(tail -n 1 "$T/mc.out" | cut -f4)" ]
	[ "$(grep -c ab-only "$T/mc.out")" -eq 0 ]
	sp-mcast -s "$pc" g -- together
	wait_for "grep -q together $T/ma.out"
	wait_for "grep -q together $T/mb.out"
}

@test "-W: 0.5 to 3600 seconds, fractions allowed; below, above, not a number, or twice: 64 with the reason and the usage" {
	local w why usage
	usage=$(quilt-relay --help | sed '/^  -/,$d')
	for w in 0.4 3601 --dead-time=3601 abc 1.5s; do
		case $w in
		abc | 1.5s) why="-W: not a number: '$w'" ;;
		--*) why="--dead-time: dead time must be 0.500..3600.000 seconds: ${w#*=}" ;;
		*) why="-W: dead time must be 0.500..3600.000 seconds: $w" ;;
		esac
		if [[ $w == --* ]]; then
			run --separate-stderr quilt-relay -n x -l 127.0.0.1:0 "$w"
		else
			run --separate-stderr quilt-relay -n x -l 127.0.0.1:0 -W "$w"
		fi
		[ "$status" -eq 64 ]
		[ "$stderr" = "quilt-relay: $why"$'\n'"$usage" ]
	done
	run --separate-stderr quilt-relay -n x -l 127.0.0.1:0 -W 1 -W 2
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-relay: option -W given twice"$'\n'"$usage" ]
	# in range: it runs
	start_relay x -l 127.0.0.1:0 -W 0.5
	start_relay y -l 127.0.0.1:0 -W 3600 "$RADDR"
	wait_routes x "y y 1"
}

# hellos_flow A B: wait until each of relays A and B has taken 3 hellos of
# the other (the second and later say they hear: both ends rely on them).
hellos_flow() {
	wait_for "[ \$(counter_of $1 hello_received) -ge 3 ] &&
		[ \$(counter_of $2 hello_received) -ge 3 ]"
}

@test "hellos: an idle pair of relays on 127.0.0.1 (-W 1.5): once hellos flow both ways, the in-band keep-alives stop (at most one more each in two dead times) while hello_sent and hello_received grow by one an interval" {
	start_relay a -l 127.0.0.1:0 -W 1.5
	start_relay b -l 127.0.0.1:0 -W 1.5 "$RADDR"
	wait_routes a "b b 1"
	wait_routes b "a a 1"
	hellos_flow a b
	for r in a b; do
		eval "k_$r=\$(counter_of $r keepalives_sent)"
		eval "h_$r=\$(counter_of $r hello_sent)"
		eval "g_$r=\$(counter_of $r hello_received)"
		eval "d_$r=\$(counter_of $r hello_dropped)"
	done
	# two dead times: 6 intervals of 0.5 s
	wait_for "[ \$(counter_of a hello_sent) -ge $((h_a + 6)) ] &&
		[ \$(counter_of b hello_sent) -ge $((h_b + 6)) ]"
	for r in a b; do
		echo "$r: $(ctl "$r" counters | grep -E '^(keepalives|hello|dead)' | tr '\t\n' '= ')"
		eval "k=\$k_$r g=\$g_$r d=\$d_$r"
		[ "$(counter_of "$r" keepalives_sent)" -le $((k + 1)) ]
		[ "$(counter_of "$r" hello_received)" -ge $((g + 5)) ]
		[ "$(counter_of "$r" hello_dropped)" -eq "$d" ]
		[ "$(counter_of "$r" dead)" -eq 0 ]
	done
}

# udp_drop HOST CHAIN...: drop every UDP datagram in HOST at the nftables
# hooks CHAIN... (input, output).
udp_drop() {
	local h=$1 c
	shift
	hosts exec "$h" nft add table inet qudp
	for c in "$@"; do
		hosts exec "$h" nft add chain inet qudp "$c" "{ type filter hook $c priority 0; }"
		hosts exec "$h" nft add rule inet qudp "$c" meta l4proto udp drop
	done
}

# udp_cut CHAIN...: two relays on two hosts (-W 2) whose hellos flow; then
# UDP dropped in host 2 at CHAIN...: for three dead times the in-band
# keep-alives carry the link both ways, no link is declared dead, and n2
# takes no hello more.
udp_cut() {
	setup_hosts 2
	relay_in 1 n1 -W 2
	relay_in 2 n2 -W 2 "$RADDR"
	wait_routes n1 "n2 n2 1"
	wait_routes n2 "n1 n1 1"
	hellos_flow n1 n2
	udp_drop 2 "$@"
	h2=$(counter_of n2 hello_received)
	k1=$(counter_of n1 keepalives_received)
	k2=$(counter_of n2 keepalives_received)
	# three dead times: 9 in-band keep-alives each way, 2/3 s apart
	wait_for -t 20 "[ \$(counter_of n1 keepalives_received) -ge $((k1 + 9)) ] &&
		[ \$(counter_of n2 keepalives_received) -ge $((k2 + 9)) ]"
	for r in n1 n2; do
		echo "$r: $(ctl "$r" counters | grep -E '^(keepalives|hello|dead)' | tr '\t\n' '= ')"
		[ "$(counter_of "$r" dead)" -eq 0 ]
		[ "$(grep -c 'nothing from' "$T/$r.err")" -eq 0 ]
	done
	# (one may have been on its way)
	[ "$(counter_of n2 hello_received)" -le $((h2 + 1)) ]
	routes_are n1 "n2 n2 1"
	routes_are n2 "n1 n1 1"
}

@test "hellos: UDP dropped both ways in one host (nftables) once they flow: the in-band keep-alives carry its link at once, no link declared dead in three dead times (-W 2)" {
	udp_cut input output
	# nor does n1 take any more of n2's, in three intervals
	h1=$(counter_of n1 hello_received)
	s1=$(counter_of n1 hello_sent)
	wait_for "[ \$(counter_of n1 hello_sent) -ge $((s1 + 3)) ]"
	[ "$(counter_of n1 hello_received)" -eq "$h1" ]
}

@test "hellos: UDP dropped one way (into one host) once they flow: the in-band keep-alives carry the link both ways, no link declared dead in three dead times (-W 2); the other way's hellos still come" {
	udp_cut input
	h1=$(counter_of n1 hello_received)
	wait_for "[ \$(counter_of n1 hello_received) -ge $((h1 + 2)) ]"
}

@test "hellos: made-up ones are dropped and counted (a wrong source address or port, not for this relay, from no relay with a link, an old counter, no MAC, a bad MAC, not a hello), a good one taken; a relay whose router alone is stopped is declared dead while its hellos are sent again" {
	quilt-keygen "$T/key"
	start_relay a -l 127.0.0.1:0 -W 1.5 -k "$T/key"
	pa=$RPID aaddr=$RADDR
	start_relay b -l 127.0.0.1:0 -W 1.5 -k "$T/key" "$aaddr"
	baddr=$RADDR
	wait_routes a "b b 1"
	wait_routes b "a a 1"
	hellos_flow a b
	# a's router alone stops: its hellos stop (its children go on)
	kill -STOP "$pa"
	wait_for proc_stopped "$pa"
	# b reads its hellos on each of its intervals, just before it sends
	# its own: once it has sent one more, it has read a's last
	s=$(counter_of b hello_sent)
	wait_for "[ \$(counter_of b hello_sent) -gt $s ]"
	r0=$(counter_of b hello_received)
	d0=$(counter_of b hello_dropped)
	# a good one, made up: a's address, the names, the key, a counter
	# of now
	c=$(rhello -k "$T/key" "$aaddr" "$baddr" a b)
	wait_for "[ \$(counter_of b hello_received) -eq $((r0 + 1)) ]"
	rhello -k "$T/key" -c "$c" "$aaddr" "$baddr" a b
	rhello -k "$T/key" -c 1 "$aaddr" "$baddr" a b
	rhello -k "$T/key" "127.0.0.1:$((${aaddr##*:} ^ 1))" "$baddr" a b
	rhello -k "$T/key" "127.0.0.2:${aaddr##*:}" "$baddr" a b
	rhello -k "$T/key" "$aaddr" "$baddr" a c
	rhello -k "$T/key" "$aaddr" "$baddr" x b
	rhello -k "$T/key" -u "$aaddr" "$baddr" a b
	rhello -k "$T/key" -b "$aaddr" "$baddr" a b
	rhello -g "$aaddr" "$baddr" a b
	wait_for "[ \$(counter_of b hello_dropped) -eq $((d0 + 9)) ]"
	[ "$(counter_of b hello_received)" -eq $((r0 + 1)) ]
	# the good one sent again and again keeps nothing alive: a is
	# declared dead within -W of it
	start_bg replay rhello -k "$T/key" -c "$c" -n 50 "$aaddr" "$baddr" a b
	wait_for -t 4.5 "[ \$(counter_of b dead) -eq 1 ]"
	grep -q 'nothing from a for [0-9]* ms: its link is down' "$T/b.err"
	[ "$(counter_of b hello_received)" -eq $((r0 + 1)) ]
	[ "$(counter_of b hello_dropped)" -gt $((d0 + 9)) ]
	kill -CONT "$pa"
}
