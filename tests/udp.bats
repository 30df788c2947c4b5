#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# The udp: transport (quilt-protocol(5) Datagrams) through the programs:
# quilt-listen udp:, quilt-send udp: (and -U), quilt-ping udp:, relays over
# udp:; the handshake's answers (accepted, or refused with a reason: full,
# version, key; no answer larger than the request, nothing kept before the
# cookie), exactly once in order under loss, duplication and reordering
# (tests/helpers/udpproxy), fragments, keep-alives and the time-out, flow
# control, sharing, bad datagrams, sealing, and the -v counters.

load helpers/common
load helpers/udp

QUILT_NEEDS="quilt-ping quilt-relay quilt-keygen"

setup() {
	setup_quilt
	for p in udpproxy udppeer; do
		[ -x "$QUILT_HELPERS/$p" ] || {
			echo "setup: $QUILT_HELPERS/$p is not built (make units)" >&2
			return 1
		}
	done
}

# ---- addresses, both families, the programs --------------------------------------

@test "udp:127.0.0.1:0: the ready file says udp:127.0.0.1:PORT; quilt-send exits 0 once all are written" {
	start_listener udp:127.0.0.1:0
	[[ $ADDR =~ ^udp:127\.0\.0\.1:[0-9]+$ ]]
	grep -q "listening on $ADDR" "$T/listen.err"
	run --separate-stderr quilt-send "$ADDR" one 'two words' three
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = "$(printf 'one\ntwo words\nthree')" ]
}

@test "IPv6: udp:[::1]:0 receives, answers pings, and a handler sees PROTO=UDP and its UDP variables" {
	have_ipv6 || skip "no IPv6 loopback"
	start_listener -e 'env | grep -E "^(PROTO|UDP[A-Z]*|QUILTREMOTENODE)=" | sort; cat' 'udp:[::1]:0'
	[[ $ADDR =~ ^udp:\[::1\]:[0-9]+$ ]]
	run --separate-stderr quilt-send -n sixer "$ADDR" hello
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PROTO=UDP" ]
	[ "${lines[1]}" = "QUILTREMOTENODE=sixer" ]
	[ "${lines[2]}" = "UDPLOCALIP=::1" ]
	[ "${lines[3]}" = "UDPLOCALPORT=$PORT" ]
	[ "${lines[4]}" = "UDPREMOTEIP=::1" ]
	[[ ${lines[5]} =~ ^UDPREMOTEPORT=[0-9]+$ ]]
	[ "${lines[6]}" = hello ]
	run quilt-ping -c 2 -i 0.05 "$ADDR"
	[ "$status" -eq 0 ]
	[[ ${lines[1]} =~ ^56\ bytes\ from\ .*:\ seq=1\ hops=0\ time= ]]
}

@test "udp::0 binds every interface and writes udp::PORT, which a sender takes as loopback" {
	start_listener udp::0
	[[ $ADDR =~ ^udp::[0-9]+$ ]]
	run quilt-send "$ADDR" wildcard
	[ "$status" -eq 0 ]
	run quilt-send "udp:127.0.0.1:$PORT" four
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'wildcard\nfour')" ]
}

@test "quilt-ping udp: prints a line per reply (hops=0) and the summary; -q the summary only" {
	start_listener -n lis udp:127.0.0.1:0
	run quilt-ping -c 3 -i 0.02 "$ADDR"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PING $ADDR (lis) 56 bytes of data." ]
	[[ ${lines[3]} =~ ^56\ bytes\ from\ lis:\ seq=3\ hops=0\ time=[0-9.]+\ ms$ ]]
	[ "${lines[5]%%,*}" = "3 packets transmitted" ]
	run quilt-ping -q -c 2 -i 0.02 -s 3000 "$ADDR"
	[ "$status" -eq 0 ]
	[[ $output == *"2 packets transmitted, 2 received, 0% packet loss"* ]]
}

@test "-R over udp:, and a port range's bad syntax: usage errors (64)" {
	run quilt-listen -R udp:127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $output == *"-R is for stream sockets"* ]]
	run quilt-send udp:127.0.0.1:1-9 x
	[ "$status" -eq 64 ]
}

# ---- reliable: exactly once, in order ----------------------------------------------

@test "10^6 messages on one connection: each written once, in order; the counters say so" {
	start_listener -v udp:127.0.0.1:0
	seq 1 1000000 >"$T/in"
	run --separate-stderr quilt-send -v "$ADDR" <"$T/in"
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	[ "$(counter sent "$T/send.err")" -eq 1000000 ]
	[ "$(counter acknowledged "$T/send.err")" -eq 1000000 ]
	[ "$(udp_counter "$T/send.err" "messages out")" -eq 1000000 ]
	[ "$(udp_counter "$T/send.err" "pending acks")" -eq 0 ]
	[ "$(udp_counter "$T/send.err" "pending acks at most")" -gt 0 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
	[ "$(udp_counter "$T/listen.err" "messages in")" -eq 1000000 ]
	# every datagram the listener had came from the sender
	[ "$(udp_counter "$T/listen.err" "datagrams in")" -le "$(udp_counter "$T/send.err" "datagrams out")" ]
	[ "$(udp_counter "$T/listen.err" "bytes in")" -gt 6888896 ]
}

@test "5% lost, 1% duplicated, 2% reordered: 200000 messages exactly once, in order; resends counted" {
	start_listener -v udp:127.0.0.1:0
	start_udpproxy -s 11 -l 0.05 -d 0.01 -r 0.02 "${ADDR#udp:}"
	seq 1 200000 >"$T/in"
	run --separate-stderr quilt-send -v -w 60 "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	stop_udpproxy
	stop_listener
	cmp "$T/in" "$T/listen.out"
	[ "$(proxy_count lost)" -gt 0 ]
	[ "$(udp_counter "$T/send.err" resends)" -gt 0 ]
	[ "$(udp_counter "$T/listen.err" "reorder queue at most")" -gt 0 ]
	[ "$(udp_counter "$T/listen.err" replayed)" -gt 0 ]
}

@test "-v counters are real: over a link of 20 ms each way the round trip is at least 40 ms; what one end sent, the other received" {
	start_listener -v udp:127.0.0.1:0
	start_udpproxy -L 20 "${ADDR#udp:}"
	seq 1 3000 >"$T/in"
	run --separate-stderr quilt-send -v -w 60 "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	stop_listener
	stop_udpproxy
	cmp "$T/in" "$T/listen.out"
	[ "$(udp_counter "$T/send.err" rtt)" -ge 40 ]
	[ "$(udp_counter "$T/listen.err" rtt)" -ge 40 ]
	[ "$(udp_counter "$T/send.err" "messages out")" -eq 3000 ]
	[ "$(udp_counter "$T/listen.err" "messages in")" -eq 3000 ]
	[ "$(udp_counter "$T/send.err" "pending acks")" -eq 0 ]
	[ "$(udp_counter "$T/send.err" "pending acks at most")" -gt 0 ]
	# the sender's datagrams and bytes are the listener's, but for the
	# requests of the handshake (1200 bytes each: two, the second
	# bringing the cookie back; a third if a busy machine held an answer
	# a second) the connection did not exist for; the listener's are the
	# sender's, but for the cookie (25 bytes each)
	sdo=$(udp_counter "$T/send.err" "datagrams out")
	ldi=$(udp_counter "$T/listen.err" "datagrams in")
	sbo=$(udp_counter "$T/send.err" "bytes out")
	lbi=$(udp_counter "$T/listen.err" "bytes in")
	sdi=$(udp_counter "$T/send.err" "datagrams in")
	ldo=$(udp_counter "$T/listen.err" "datagrams out")
	sbi=$(udp_counter "$T/send.err" "bytes in")
	lbo=$(udp_counter "$T/listen.err" "bytes out")
	# and but for what came after the listener's connection had gone (a
	# resend a loaded machine made late: "datagrams for no connection")
	nc=$(sed -n 's/.*; datagrams for no connection \([0-9]*\),.*/\1/p' "$T/listen.err" | tail -n 1)
	echo "sender out $sdo/$sbo in $sdi/$sbi; listener in $ldi/$lbi out $ldo/$lbo, for no connection $nc"
	[ "$ldi" -gt 20 ]
	req=$((sdo - ldi - nc))
	[ "$req" -ge 2 ]
	[ "$req" -le 4 ]
	if [ "$nc" -eq 0 ]; then
		[ $((sbo - lbi)) -eq $((1200 * req)) ]
	else
		[ $((sbo - lbi - 1200 * req)) -ge "$nc" ]
		[ $((sbo - lbi - 1200 * req)) -le $((1500 * nc)) ]
	fi
	[ $((sdi - ldo)) -le 3 ]
	# the sender counts every one of the listener's, unless a machine so
	# loaded that the sender's timers ran out (it resent what was not lost)
	# ended its CLOSE by its timer too (three time-outs: udp_close, udp.h):
	# then the listener's last answers come after the sender counted
	if [ "$(udp_counter "$T/send.err" resends)" -eq 0 ]; then
		[ $((sdi - ldo)) -ge 1 ]
		[ $((sbi - lbo)) -eq $((25 * (sdi - ldo))) ]
	else
		[ $((sbi - lbo)) -le $((25 * 3)) ]
	fi
	[ "$lbi" -gt 3000 ]
}

@test "-j's summaries over udp: carry the transport's counters, the numbers -v says; SIGUSR1 says the listener's requests" {
	start_listener -j udp:127.0.0.1:0
	run --separate-stderr quilt-send -j -v "$ADDR" one two three
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	sum=$(printf '%s\n' "$output" | tail -n 1)
	[ "$(jq -c '[.kind, .sent, .acknowledged, .status, .udp.messages_out, .udp.unreliable_out, .udp.pending_acks, .udp.pending_acks_max > 0]' <<<"$sum")" = \
		'["summary",3,3,0,3,0,0,true]' ]
	for c in "datagrams out" "datagrams in" "bytes out" "bytes in" "resends" "keep-alives out"; do
		k=${c// /_}
		[ "$(jq ".udp.${k//-/}" <<<"$sum")" -eq "$(udp_counter "$T/send.err" "$c")" ]
	done
	[ "$(jq -r '.udp | keys_unsorted | join(" ")' <<<"$sum")" = \
		"datagrams_out datagrams_in bytes_out bytes_in messages_out messages_in unreliable_out unreliable_in resends pending_acks pending_acks_max reorder_queue reorder_queue_max keepalives_out keepalives_in rtt_ms dropped_bad dropped_wrong_id dropped_forged dropped_replayed" ]
	# SIGUSR1: the listener's requests line beside its counters
	wait_for "kill -USR1 $LPID && file_has '$T/listen.err' '^quilt-listen: udp: requests answered with a cookie [1-9][0-9]*, accepted 1, refused 0; '"
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 "$T/listen.out" | jq -c '[.kind, .connections, .messages, .written, .udp.accepted, .udp.refused, .udp.cookies >= 1, (.udp | keys_unsorted)]')" = \
		'["summary",1,3,3,1,0,true,["cookies","accepted","refused","no_connection","not_sent"]]' ]
}

@test "sealed: forged, cut, replayed, misaddressed and spoofed datagrams are dropped and counted, never written" {
	quilt-keygen "$T/key"
	start_listener -v -k "$T/key" udp:127.0.0.1:0
	start_udpproxy -s 5 -d 0.03 -f 0.03 -t 0.03 -i 0.03 -S 0.03 "${ADDR#udp:}"
	seq 1 100000 >"$T/in"
	run --separate-stderr quilt-send -v -k "$T/key" -w 60 "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_udpproxy
	stop_listener
	cmp "$T/in" "$T/listen.out"
	[ "$(proxy_count forged)" -gt 0 ]
	# each bad copy is counted where it was dropped
	[ "$(udp_counter "$T/listen.err" forged)" -gt 0 ]
	[ "$(udp_counter "$T/listen.err" replayed)" -gt 0 ]
	[ "$(udp_counter "$T/listen.err" "wrong id")" -gt 0 ]
	[ "$(listener_said "$T/listen.err" "no connection")" -gt 0 ]
}

@test "unsealed: datagrams with another connection id, from another source, or garbage, are dropped; the connection goes on" {
	start_listener -v udp:127.0.0.1:0
	start_udpproxy -s 3 -i 0.05 -S 0.05 "${ADDR#udp:}"
	seq 1 50000 >"$T/in"
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send -v -w 60 "$UPADDR"
	sp=$BGPID
	{
		head -n 20000 "$T/in"
		wait_for "lines_at_least '$T/listen.out' 20000"
		# garbage from a source of its own: bash's /dev/udp
		for i in 1 2 3 4 5; do
			printf '\x15\x00\x00\x00\x01garbage %d' "$i" >"/dev/udp/127.0.0.1/$PORT"
		done
		printf 'x' >"/dev/udp/127.0.0.1/$PORT"
		tail -n +20001 "$T/in"
	} >"$T/fifo"
	wait_exit "$sp"
	[ "$status" -eq 0 ]
	stop_udpproxy
	stop_listener
	cmp "$T/in" "$T/listen.out"
	[ "$(udp_counter "$T/listen.err" "wrong id")" -gt 0 ]
	[ "$(listener_said "$T/listen.err" "no connection")" -ge 6 ]
}

# ---- fragments ------------------------------------------------------------------------

@test "messages larger than a datagram, under 5% loss: each arrives whole; a lost piece is resent alone" {
	start_listener -M 200000 udp:127.0.0.1:0
	start_udpproxy -s 9 -l 0.05 -1 "${ADDR#udp:}"
	awk 'BEGIN { for (i = 0; i < 10; i++) { s = substr("abcdefghij", i + 1, 1)
		while (length(s) < 60000) s = s s; print substr(s, 1, 60000) } }' >"$T/in"
	run --separate-stderr quilt-send -v -w 60 "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	stop_udpproxy
	stop_listener
	cmp "$T/in" "$T/listen.out"
	sent=$(udp_counter "$T/send.err" "datagrams out")
	resends=$(udp_counter "$T/send.err" resends)
	lost=$(proxy_count lost)
	# about 450 datagrams; what was resent is about what was lost, not
	# the ~45 datagrams of each message that lost one
	[ "$sent" -ge 430 ]
	[ "$lost" -gt 0 ]
	[ "$resends" -ge "$lost" ]
	[ "$resends" -le $((3 * lost + 10)) ]
}

@test "-M over udp: a message over the listener's limit is refused by the sender (65) once those before it are written; the listener lets the connection go at once" {
	# a time-out longer than the wait: only the sender's CLOSE ends it
	export QUILT_UDP_TIMEOUT=60000
	start_listener -v -M 100 udp:127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" ok "$(head -c 200 /dev/zero | tr '\0' x)" never
	[ "$status" -eq 65 ]
	[ "$stderr" = "quilt-send: message of 200 bytes (214 with its envelope) exceeds the peer's limit of 100; the 1 message before it was sent and acknowledged" ]
	# acknowledged means written; the connection ends then (its
	# counters are said), not at the time-out
	[ "$(cat "$T/listen.out")" = ok ]
	wait_for "file_has '$T/listen.err' ': udp: datagrams out '"
	# and one that gives up at its deadline (1) does the same
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send -w 0.5 "$ADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	echo late >&5
	wait_exit "$sp"
	[ "$status" -eq 1 ]
	exec 5>&-
	grep -q "deadline reached" "$T/send.err"
	wait_for "[ \$(grep -c ': udp: datagrams out ' '$T/listen.err') -eq 2 ]"
	[ "$(grep -c 'connection cut' "$T/listen.err")" -eq 1 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = "ok
late" ]
}

# ---- -U: unreliable ---------------------------------------------------------------------

@test "-U under loss, duplication and reordering: exit 0 once all are sent; what arrives is intact, in order, never twice" {
	start_listener -v udp:127.0.0.1:0
	start_udpproxy -s 17 -l 0.05 -d 0.05 -r 0.05 "${ADDR#udp:}"
	seq 1 20000 >"$T/in"
	run --separate-stderr quilt-send -U -v "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	echo "$stderr" >"$T/send.err"
	[ "$(counter sent "$T/send.err")" -eq 20000 ]
	[ "$(udp_counter "$T/send.err" "unreliable out")" -eq 20000 ]
	stop_udpproxy
	stop_listener
	n=$(count_lines "$T/listen.out")
	[ "$n" -gt 0 ]
	[ "$n" -le 20000 ]
	# some were lost on the way, and none came twice or out of order
	[ "$(proxy_count lost)" -gt 0 ]
	increasing "$T/listen.out"
	# whole lines only, each one of the input
	[ -z "$(grep -vxE '[0-9]+' "$T/listen.out" | head -n 3)" ]
	[ "$(tail -n 1 "$T/listen.out")" -le 20000 ]
	[ "$(udp_counter "$T/listen.err" "unreliable in")" -eq "$n" ]
}

@test "-U: a message larger than a datagram arrives whole or not at all" {
	start_listener udp:127.0.0.1:0
	start_udpproxy -s 23 -l 0.02 "${ADDR#udp:}"
	awk 'BEGIN { y = "y"; while (length(y) < 6000) y = y y
		for (i = 1; i <= 40; i++) printf "%05d%s\n", i, substr(y, 1, 6000) }' >"$T/in"
	run quilt-send -U "$UPADDR" <"$T/in"
	[ "$status" -eq 0 ]
	stop_udpproxy
	stop_listener
	[ "$(count_lines "$T/listen.out")" -gt 0 ]
	# every line written is one of the input's, whole
	[ -z "$(grep -vxF -f "$T/in" "$T/listen.out" | head -n 1)" ]
	cut -c 1-5 "$T/listen.out" | increasing /dev/stdin
}

@test "-U with -r, with a TCP address, with -a or -d: usage errors (64), one line and the usage" {
	local usage
	usage=$(quilt-send --help | sed -n '/^usage:/p')
	run --separate-stderr quilt-send -U -r udp:127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-send: -U and -r are exclusive: unreliable messages are not resent"$'\n'"$usage" ]
	run --separate-stderr quilt-send --unreliable 127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-send: -U is for udp: addresses: a stream has no unreliable messages"$'\n'"$usage" ]
	run --separate-stderr quilt-send -U -d n1 udp:127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-send: -U and -a/-d are exclusive: a relay takes reliable messages only"$'\n'"$usage" ]
	run --separate-stderr quilt-send --unrel -a udp:127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-send: -U and -a/-d are exclusive: a relay takes reliable messages only"$'\n'"$usage" ]
}

# ---- the handshake: accepted, or refused with a reason --------------------------------

@test "-c 1: a second client is refused as the listener is full: quilt-send 75, quilt-ping 2, with the reason" {
	start_listener -c 1 udp:127.0.0.1:0
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg first quilt-send -v "$ADDR"
	exec 5>"$T/fifo"
	echo first >&5
	wait_for "lines_at_least '$T/listen.out' 1"
	run quilt-send "$ADDR" second
	[ "$status" -eq 75 ]
	[ "$output" = "quilt-send: $ADDR: refused: the listener is full (-c)" ]
	run quilt-ping -c 1 "$ADDR"
	[ "$status" -eq 2 ]
	[ "$output" = "quilt-ping: $ADDR: refused: the listener is full (-c)" ]
	exec 5>&-
	wait_exit "$BGPID"
	[ "$status" -eq 0 ]
	# its slot is free again
	run quilt-send "$ADDR" third
	[ "$status" -eq 0 ]
}

@test "a wrong key, or one end sealed and the other not: refused with the reason (76, quilt-ping 2); both say why" {
	quilt-keygen "$T/k1"
	quilt-keygen "$T/k2"
	start_listener -k "$T/k1" udp:127.0.0.1:0
	run quilt-send -k "$T/k2" "$ADDR" wrong
	[ "$status" -eq 76 ]
	[[ $output == "quilt-send: $ADDR: refused: authentication failed"* ]]
	run quilt-send "$ADDR" plain
	[ "$status" -eq 76 ]
	run quilt-ping -k "$T/k2" -c 1 "$ADDR"
	[ "$status" -eq 2 ]
	[[ $output == *"refused: authentication failed"* ]]
	grep -q "refused: authentication failed: the key it proves is none of ours" "$T/listen.err"
	grep -q "this listener is sealed (-k) and the peer is not" "$T/listen.err"
	# the right key, and a listener that takes two while one is rotated
	run quilt-send -k "$T/k1" "$ADDR" right
	[ "$status" -eq 0 ]
	LNAME=two start_listener -k "$T/k1" -k "$T/k2" udp:127.0.0.1:0
	run quilt-send -k "$T/k2" "$ADDR" rotated
	[ "$status" -eq 0 ]
	[ "$(cat "$T/two.out")" = rotated ]
	run quilt-send -k "$T/k1" "$ADDR" old
	[ "$status" -eq 0 ]
}

@test "--deny over udp: a refused address gets no answer at all (no cookie), counted; an allowed one is served" {
	LNAME=d start_listener -v --allow 127.0.0.0/8 --deny 127.0.0.1 udp:127.0.0.1:0
	QUILT_CONNECT_TIMEOUT=1000 run --separate-stderr quilt-send "$ADDR" x
	[ "$status" -eq 75 ]
	[[ $stderr == *"timed out"* ]]
	stop_listener
	[ "$status" -eq 0 ]
	[ ! -s "$T/d.out" ]
	grep -qE '^quilt-listen: udp:127\.0\.0\.1:[0-9]+: refused \(--allow, --deny\)$' "$T/d.err"
	[ "$(listener_said "$T/d.err" cookie)" -eq 0 ]
	n=$(grep -c 'refused (--allow, --deny)$' "$T/d.err")
	grep -qx "quilt-listen: connections $n, refused $n (--allow, --deny)" "$T/d.err"
	# the rules as over TCP: --deny of another address leaves us served
	LNAME=a start_listener -v --allow 127.0.0.0/8 --deny 127.0.0.2 udp:127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" y
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/a.out")" = y ]
	grep -qx 'quilt-listen: connections 1, refused 0 (--allow, --deny)' "$T/a.err"
}

@test "a listener that refuses the version: quilt-send 76, quilt-ping 2, saying so" {
	start_helper rej udppeer -m reject -r 2
	run quilt-send "udp:$HADDR" x
	[ "$status" -eq 76 ]
	[ "$output" = "quilt-send: udp:$HADDR: refused: no common protocol version" ]
	run quilt-ping -c 1 "udp:$HADDR"
	[ "$status" -eq 2 ]
	[ "$output" = "quilt-ping: udp:$HADDR: refused: no common protocol version" ]
}

@test "answers: a COOKIE of 25 bytes to a request without one, ACCEPT or REJECT (version) with it, REJECT to another datagram version; none larger than the 1200-byte request" {
	start_listener -v udp:127.0.0.1:0
	run --separate-stderr udppeer -m probe "${ADDR#udp:}"
	[ "$output" = "cookie 25" ]
	run --separate-stderr udppeer -m probe -c "${ADDR#udp:}"
	[ "${lines[0]}" = "cookie 25" ]
	[[ ${lines[1]} =~ ^accept\ [0-9]+$ ]]
	[ "${lines[1]#accept }" -lt 1200 ]
	hello=$(msgns '' hello quilt 9-9 node=probe session=00112233445566778899aabbccddeeff max=65536 sealed=0 from=0)
	run --separate-stderr udppeer -m probe -c -H "$hello" "${ADDR#udp:}"
	[ "${lines[1]}" = "reject 2 6" ]
	run --separate-stderr udppeer -m probe -V 2 "${ADDR#udp:}"
	[ "$output" = "reject 2 6" ]
	grep -q "no common protocol version (this listener speaks 1-1, the peer 9-9)" "$T/listen.err"
}

@test "sealed: a request whose hello has no key proof, or a bad one, is refused for the key (REJECT 3); the listener goes on" {
	quilt-keygen "$T/key"
	start_listener -k "$T/key" udp:127.0.0.1:0
	kx=$(printf 'ab%.0s' $(seq 1 32))
	hello=$(msgns '' hello quilt 1-1 node=probe session=00112233445566778899aabbccddeeff max=65536 sealed=1 "kx=$kx" from=0)
	run --separate-stderr udppeer -m probe -c -H "$hello" "${ADDR#udp:}"
	[ "${lines[1]}" = "reject 3 6" ]
	run --separate-stderr udppeer -m probe -c -H "$hello$(msgns '' proof 000102030405060708090a0b0c0d0e0f)" "${ADDR#udp:}"
	[ "${lines[1]}" = "reject 3 6" ]
	run --separate-stderr udppeer -m probe -c -H "$hello$(msgns '' proof xyz)" "${ADDR#udp:}"
	[ "${lines[1]}" = "reject 3 6" ]
	run quilt-send -k "$T/key" "$ADDR" 'still here'
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = 'still here' ]
	[ "$(grep -c 'the key it proves is none of ours' "$T/listen.err")" -eq 3 ]
}

@test "2000 requests without a cookie, each from its own port: only cookies back, no connection made, nothing kept" {
	start_listener -v udp:127.0.0.1:0
	before=$(vm_hwm "$LPID")
	run --separate-stderr udppeer -m probe -n 2000 "${ADDR#udp:}"
	[ "$status" -eq 0 ]
	[[ $stderr =~ answers\ ([0-9]+)\ bytes\ ([0-9]+),\ largest\ 25$ ]]
	[ "${BASH_REMATCH[1]}" -ge 1900 ]
	# 25 bytes for each 1200: no amplification
	[ "${BASH_REMATCH[2]}" -le $((25 * 2000)) ]
	after=$(vm_hwm "$LPID")
	[ $((after - before)) -lt 1024 ]
	stop_listener
	[ "$(listener_said "$T/listen.err" accepted)" -eq 0 ]
	[ "$(listener_said "$T/listen.err" cookie)" -ge 1900 ]
	! grep -q connected "$T/listen.err"
}

# ---- keep-alives and the time-out -----------------------------------------------------

@test "an idle connection stays up past the time-out: keep-alives both ways" {
	export QUILT_UDP_TIMEOUT=600 QUILT_UDP_KEEPALIVE=100
	start_listener -v udp:127.0.0.1:0
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send -v "$ADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	echo before >&5
	wait_for "lines_at_least '$T/listen.out' 1"
	# idle for three times the time-out (600 ms): until quilt-send,
	# asked with SIGUSR1, counts 18 keep-alives sent (100 ms apart)
	wait_for -t 60 "kill -USR1 $sp && [ \"\$(udp_counter '$T/send.err' 'keep-alives out' 2>/dev/null)\" -ge 18 ]"
	echo after >&5
	exec 5>&-
	wait_exit "$sp"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'before\nafter')" ]
	[ "$(udp_counter "$T/send.err" "keep-alives out")" -ge 5 ]
	[ "$(udp_counter "$T/send.err" "keep-alives in")" -ge 5 ]
	[ "$(udp_counter "$T/listen.err" "keep-alives out")" -ge 5 ]
	! grep -q "timed out" "$T/listen.err" "$T/send.err"
}

@test "a peer that vanishes is declared dead after the time-out: quilt-send exits 1 saying so, the listener says it is gone" {
	export QUILT_UDP_TIMEOUT=500 QUILT_UDP_KEEPALIVE=100
	start_listener -v udp:127.0.0.1:0
	start_udpproxy "${ADDR#udp:}"
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send "$UPADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	echo one >&5
	wait_for "lines_at_least '$T/listen.out' 1"
	kill -USR1 "$UPPID" # a blackout: nothing passes either way
	echo two >&5
	wait_exit "$sp" 10
	[ "$status" -eq 1 ]
	exec 5>&-
	grep -q "connection lost: 1 message not acknowledged.*(Connection timed out)" "$T/send.err"
	wait_for "file_has '$T/listen.err' 'no datagram from the peer for 500 ms: it is gone'"
}

@test "-r across a blackout longer than the time-out: reconnects and resumes, each message written once" {
	export QUILT_UDP_TIMEOUT=500 QUILT_UDP_KEEPALIVE=100
	start_listener -v udp:127.0.0.1:0
	start_udpproxy "${ADDR#udp:}"
	seq 1 50000 >"$T/in"
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send -v -r -w 60 "$UPADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	head -n 20000 "$T/in" >&5
	wait_for "lines_at_least '$T/listen.out' 20000"
	kill -USR1 "$UPPID"
	tail -n +20001 "$T/in" >&5
	exec 5>&-
	wait_for "file_has '$T/listen.err' 'it is gone'"
	kill -USR1 "$UPPID" # the network is back
	wait_exit "$sp" 30
	[ "$status" -eq 0 ]
	stop_listener
	cmp "$T/in" "$T/listen.out"
	[ "$(counter reconnects "$T/send.err")" -ge 1 ]
}

# ---- flow and congestion ----------------------------------------------------------------

@test "a stalled reader: the sender stops, both ends stay small; then everything arrives" {
	mkfifo "$T/out"
	cat "$T/out" >"$T/got" &
	reader=$!
	track "$reader"
	LOUT=$T/out start_listener udp:127.0.0.1:0
	kill -STOP "$reader"
	yes "$(head -c 999 /dev/zero | tr '\0' x)" | head -n 60000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	sp=$BGPID
	wait_for -t 30 stalled "$sp" 0
	[ "$(vm_hwm "$sp")" -lt 65536 ]
	[ "$(vm_hwm "$LPID")" -lt 65536 ]
	# held: what the listener's window, the engines and the link take
	pos=$(fd_pos "$sp" 0)
	[ "$pos" -lt 40000000 ]
	kill -CONT "$reader"
	wait_exit "$sp" 60
	[ "$status" -eq 0 ]
	stop_listener
	wait "$reader"
	cmp "$T/in" "$T/got"
}

@test "two senders share one listener: when one has had 100000 written, the other has had at least 25000" {
	start_listener -v udp:127.0.0.1:0
	seq -f 'a%.0f' 1 150000 >"$T/in.a"
	seq -f 'b%.0f' 1 150000 >"$T/in.b"
	mkfifo "$T/fa" "$T/fb"
	BG_IN=$T/fa start_bg a quilt-send "$ADDR"
	pa=$BGPID
	BG_IN=$T/fb start_bg b quilt-send "$ADDR"
	pb=$BGPID
	exec 5>"$T/fa" 6>"$T/fb"
	# Both connected before either has input, then both with messages
	# under way before the listener takes any (it is stopped until each
	# sender, asked with SIGUSR1, has sent 1000): on a loaded machine a
	# sender or its input starting late is not the other's unfairness.
	wait_for "[ \$(grep -c ': connected$' '$T/listen.err') -eq 2 ]"
	kill -STOP "$LPID"
	cat "$T/in.a" >&5 &
	cat "$T/in.b" >&6 &
	exec 5>&- 6>&-
	for p in a b; do
		pid=$pa
		[ "$p" = b ] && pid=$pb
		wait_for "kill -USR1 $pid && [ \"\$(sed -n 's/^quilt-send: sent \([0-9]*\) messages.*/\1/p' '$T/$p.err' | tail -n 1)\" -ge 1000 ]"
	done
	kill -CONT "$LPID"
	wait_exit "$pa" 60
	[ "$status" -eq 0 ]
	wait_exit "$pb" 60
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(count_lines "$T/listen.out")" -eq 300000 ]
	run awk '/^a/ { a++ } /^b/ { b++ }
		(a == 100000 && b < 25000) || (b == 100000 && a < 25000) { print NR ": a " a ", b " b; bad = 1; exit }
		END { exit bad }' "$T/listen.out"
	[ "$status" -eq 0 ]
	cmp <(grep '^a' "$T/listen.out") "$T/in.a"
	cmp <(grep '^b' "$T/listen.out") "$T/in.b"
}

# ---- handlers and relays --------------------------------------------------------------

@test "-e over udp: replies come back, the handler sees the end of input, -x gives its exit status" {
	start_listener -e 'n=0; while read -r l; do n=$((n + 1)); echo "got $l"; done; echo "saw EOF after $n"; exit 3' udp:127.0.0.1:0
	run --separate-stderr quilt-send -x "$ADDR" a b
	[ "$status" -eq 3 ]
	[ "$output" = "$(printf 'got a\ngot b\nsaw EOF after 2')" ]
}

@test "relays over udp: -l udp: and a udp: peer; the link is made back over udp; -d and ping across it" {
	quilt-relay -n n1 -l udp:127.0.0.1:0 -P "$T/n1.ready" </dev/null >"$T/n1.out" 2>"$T/n1.err" 3>&- &
	r1=$!
	track "$r1"
	wait_ready "$T/n1.ready" "$r1" n1
	a1=$(head -n 1 "$T/n1.ready")
	[[ $a1 =~ ^udp:127\.0\.0\.1:[0-9]+$ ]]
	quilt-relay -n n2 -l udp:127.0.0.1:0 -P "$T/n2.ready" "$a1" </dev/null >"$T/n2.out" 2>"$T/n2.err" 3>&- &
	r2=$!
	track "$r2"
	wait_ready "$T/n2.ready" "$r2" n2
	a2=$(head -n 1 "$T/n2.ready")
	# n1 connects back to n2 over udp: (server-connect)
	wait_for "quilt-relay -Q '$T/n1.ready' peers | grep -q '^n2	$a2	up'"
	run quilt-send -w 20 -d n2 "$a1" 'across udp'
	[ "$status" -eq 0 ]
	wait_for "file_has '$T/n2.out' 'across udp'"
	[ "$(cat "$T/n2.out")" = "$(printf 'n1\tacross udp')" ]
	run quilt-ping -c 2 -i 0.05 -d n2 "$a1"
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == *"from n2: seq=1 hops=1 time="* ]]
}

# ---- ends -------------------------------------------------------------------------------

@test "SIGTERM: the listener finishes its udp connections and exits 0" {
	start_listener udp:127.0.0.1:0
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send "$ADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	seq 1 1000 >&5
	wait_for "lines_at_least '$T/listen.out' 1000"
	exec 5>&-
	kill -TERM "$LPID"
	wait_exit "$sp"
	[ "$status" -eq 0 ]
	wait_exit "$LPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/listen.ready" ]
	[ "$(count_lines "$T/listen.out")" -eq 1000 ]
}

@test "a listener killed mid-stream: quilt-send exits 1 at once (the port refuses), saying how many were not acknowledged" {
	start_listener udp:127.0.0.1:0
	mkfifo "$T/fifo"
	BG_IN=$T/fifo start_bg send quilt-send "$ADDR"
	sp=$BGPID
	exec 5>"$T/fifo"
	seq 1 100 >&5
	wait_for "lines_at_least '$T/listen.out' 100"
	kill -KILL "$LPID"
	seq 101 200 >&5
	wait_exit "$sp" 10
	exec 5>&-
	[ "$status" -eq 1 ]
	grep -qE "connection lost: [0-9]+ messages? not acknowledged.*Connection refused" "$T/send.err"
}
