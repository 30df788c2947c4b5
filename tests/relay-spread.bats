#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-relay -s: the embedded Spread daemon.  Its doors (-s PORT, 0,
# HOST:PORT, /tmp/PORT stale or live), one relay's groups and services,
# membership messages, bad and slow clients, groups across a mesh (a relay
# killed, a link cut and restored, a relay restarted), -Q groups.  Clients
# are sp-join and sp-mcast; each wait is a bounded poll of what they print.

load helpers/relay
load helpers/spread
load helpers/spread-session
load helpers/sd

QUILT_NEEDS="quilt-relay sp-join sp-mcast"

# ---- doors -------------------------------------------------------------------

@test "-s 0: a free port in the ready file ('spread PORT'); 127.0.0.1:PORT and /tmp/PORT both serve; SIGTERM removes /tmp/PORT" {
	start_sd r
	rpid=$RPID
	[[ $SDP =~ ^[0-9]+$ ]]
	[ "$(sed -n 3p "$T/r.ready")" = "spread $SDP" ]
	[ -S "/tmp/$SDP" ]
	member a "$SDP@127.0.0.1" g
	member b "$SDP" g
	run --separate-stderr sp-mcast -s "$SDP" g -- over-unix
	[ "$status" -eq 0 ]
	run --separate-stderr sp-mcast -s "$SDP@127.0.0.1" g -- over-tcp
	[ "$status" -eq 0 ]
	wait_for "[ \$(grep -c '^msg' $T/a.out) -eq 2 ] && [ \$(grep -c '^msg' $T/b.out) -eq 2 ]"
	[ "$(grep '^msg' "$T/a.out")" = "$(printf 'msg\tover-unix\nmsg\tover-tcp')" ]
	kill -TERM "$rpid"
	wait_exit "$rpid"
	[ "$status" -eq 0 ]
	[ ! -e "/tmp/$SDP" ]
}

@test "-s PORT: a stale /tmp/PORT left by a dead daemon is replaced; a live one is never taken over (exit 71)" {
	start_sd first
	port=$SDP
	fpid=$RPID
	kill -KILL "$fpid"
	wait_exit "$fpid"
	[ -S "/tmp/$port" ] # left behind by kill -9
	start_relay second -l 127.0.0.1:0 -s "$port"
	echo "/tmp/$port" >>"$T/ctls"
	[ "$(sd_port second)" = "$port" ]
	member a "$port" g
	# a third on the same port: the TCP port is taken, and so is the socket
	run --separate-stderr quilt-relay -n third -l 127.0.0.1:0 -s "$port"
	[ "$status" -eq 71 ]
	[[ $stderr == "quilt-relay: -s $port: "* ]]
	[ -S "/tmp/$port" ]
	run --separate-stderr sp-mcast -s "$port" g -- still-here
	[ "$status" -eq 0 ]
	wait_for "grep -q still-here $T/a.out"
}

@test "-s HOST:PORT: that TCP address alone, no /tmp/PORT" {
	start_relay r -l 127.0.0.1:0 -s 127.0.0.1:0
	port=$(sd_port r)
	[ ! -e "/tmp/$port" ]
	member a "$port@127.0.0.1" g
	run --separate-stderr sp-mcast -s "$port@127.0.0.1" g -- hi
	[ "$status" -eq 0 ]
	wait_for "grep -q '^msg	hi' $T/a.out"
}

@test "-s: a node name longer than Spread's 19-character daemon name is 64; a bad port is 64" {
	run --separate-stderr quilt-relay -n abcdefghijklmnopqrst -l 127.0.0.1:0 -s 0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-relay: -s: the node name abcdefghijklmnopqrst is longer than a Spread daemon's name may be (19)"* ]]
	run --separate-stderr quilt-relay -n r -l 127.0.0.1:0 -s 70000
	[ "$status" -eq 64 ]
	run --separate-stderr quilt-relay -n r -l 127.0.0.1:0 -s 0 -s 0
	[ "$status" -eq 64 ]
}

# ---- one relay ---------------------------------------------------------------

@test "one relay: every service, the message type and the sender reach the members with -f; messages and memberships in order" {
	start_sd r
	member a "$SDP" -f g1
	member b "$SDP" -f g1 g2
	for s in unreliable reliable fifo causal agreed safe; do
		sp-mcast -s "$SDP" -u tx -t "$s" -T 7 g1 -- "$s"
	done
	sp-mcast -s "$SDP" -u tx -T -32768 g2 -- only-b
	wait_for "[ \$(grep -c '^msg' $T/b.out) -eq 7 ]"
	wait_for "[ \$(grep -c '^msg' $T/a.out) -eq 6 ]"
	grep '^msg' "$T/b.out" >"$T/b.msgs"
	cat >"$T/want" <<-EOF
		msg	unreliable	#tx#r	g1	7	0	unreliable
		msg	reliable	#tx#r	g1	7	0	reliable
		msg	fifo	#tx#r	g1	7	0	fifo
		msg	causal	#tx#r	g1	7	0	causal
		msg	agreed	#tx#r	g1	7	0	agreed
		msg	safe	#tx#r	g1	7	0	safe
		msg	agreed	#tx#r	g2	-32768	0	only-b
	EOF
	diff "$T/want" "$T/b.msgs"
	diff <(head -n 6 "$T/want") <(grep '^msg' "$T/a.out")
	# memberships: a joined g1, then b joined g1 and g2
	[ "$(memb_lines a)" = "$(printf 'memb\tjoin\tg1\t\t#a#r\t#a#r\nmemb\tjoin\tg1\t\t#a#r #b#r\t#b#r')" ]
	[ "$(memb_lines b)" = "$(printf 'memb\tjoin\tg1\t\t#a#r #b#r\t#b#r\nmemb\tjoin\tg2\t\t#b#r\t#b#r')" ]
}

@test "one relay: a message to several groups reaches a member of them all once; a private group reaches that session alone" {
	start_sd r
	member a "$SDP" g1 g2 g3
	member b "$SDP" g2
	sp-mcast -s "$SDP" -u tx g1 g2 g3 -- to-three
	sp-mcast -s "$SDP" -u tx "#b#r" -- to-b
	sp-mcast -s "$SDP" -u tx "#a#r" g3 -- to-a-twice
	sp-mcast -s "$SDP" -u tx g9 -- nobody
	sp-mcast -s "$SDP" -u tx g1 -- last
	wait_for "grep -q last $T/a.out"
	[ "$(grep '^msg' "$T/a.out")" = "$(printf 'msg\tto-three\nmsg\tto-a-twice\nmsg\tlast')" ]
	wait_for "[ \$(grep -c '^msg' $T/b.out) -eq 2 ]"
	[ "$(grep '^msg' "$T/b.out")" = "$(printf 'msg\tto-three\nmsg\tto-b')" ]
}

@test "one relay: memberships only to sessions that asked (-m); a leave and a disconnect as Spread says them; group ids the same at every member, and a group joined again starts at index 1" {
	start_sd r
	member a "$SDP" g
	start_join quiet -u quiet -s "$SDP" -P "$T/quiet.jready" g
	qpid=$JPID
	wait_ready "$T/quiet.jready" "$qpid" quiet
	member b "$SDP" g
	bpid=$J_b
	member c "$SDP" g
	cpid=$J_c
	# b leaves cleanly (SIGTERM: leave, then disconnect); c is killed
	kill -TERM "$bpid"
	wait_exit "$bpid"
	kill -KILL "$cpid"
	wait_for "[ \$(grep -c '^memb' $T/a.out) -eq 6 ]" || { cat $T/a.out; false; }
	cat >"$T/want" <<-EOF
		memb	join	g		#a#r	#a#r
		memb	join	g		#a#r #quiet#r	#quiet#r
		memb	join	g		#a#r #b#r #quiet#r	#b#r
		memb	join	g		#a#r #b#r #c#r #quiet#r	#c#r
		memb	leave	g		#a#r #c#r #quiet#r	#b#r
		memb	disconnect	g		#a#r #quiet#r	#c#r
	EOF
	diff "$T/want" <(memb_lines a)
	[ ! -s "$T/quiet.out" ]
	# b saw its own join and the one after; its ids match a's
	[ "$(gids b g)" = "$(gids a g | sed -n '3,4p')" ]
	# the index goes up by one a change
	gids a g | awk -F. 'NR > 1 && $3 != last + 1 { exit 1 } { last = $3 }'
	# everyone leaves: the group is gone, and starts again at 1
	kill -TERM "$J_a" "$qpid"
	wait_exit "$J_a"
	wait_for "! quilt-relay -Q $T/r.ready groups | grep -q '^g	'"
	member d "$SDP" g
	[ "$(gids d g)" = "$(gids a g | head -n 1)" ]
}

@test "-Q groups: the view and every group with its id and members, in text and with -j" {
	start_sd r
	member a "$SDP" g1 g2
	member b "$SDP" g2
	run --separate-stderr ctl r groups
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(echo "$output" | sed -n 1p | cut -f1,3,4)" = "$(printf 'view\tr\tr')" ]
	[ "$(echo "$output" | sed -n '2,$p' | cut -f1,3-)" = "$(printf 'g1\t#a#r\ng2\t#a#r\t#b#r')" ]
	run --separate-stderr quilt-relay -j -Q "$T/r.ready" groups
	[ "$status" -eq 0 ]
	echo "$output" | sed -n 3p | grep -qE '^\{"group":"g2","id":\[[0-9]+,[0-9]+,2\],"members":\["#a#r","#b#r"\]\}$'
	run --separate-stderr quilt-relay -Q "$T/r.ready" bogus
	[ "$status" -eq 64 ]
}

@test "a relay without -s: -Q groups says it is no Spread daemon (64)" {
	start_relay r -l 127.0.0.1:0
	run --separate-stderr ctl r groups
	[ "$status" -eq 64 ]
	[ "$stderr" = "quilt-relay: groups: this relay is not a Spread daemon (no -s)" ]
}

# ---- bad and slow clients ----------------------------------------------------

# hello NAME: a 5.0.1 client's hello and its auth choice (NULL).
hello() {
	printf '\x05\x00\x01\x01%b%s' "\\x$(printf '%02x' ${#1})" "$1"
	printf 'NULL'
	head -c 86 /dev/zero
}

# le32 N: N as 4 bytes, little-endian (two's complement).
le32() {
	local n=$(($1 & 0xffffffff))
	printf '%b' "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' \
		$((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))"
}

# field NAME: a 32-byte name field: NAME, then zeros.
field() {
	printf '%s' "$1"
	head -c $((32 - ${#1})) /dev/zero
}

# bad_session WHY TYPE SENDER NGROUPS HINT DATALEN [GROUP [DATA]]: a
# session named bad sends one request with this header, GROUP's 32-byte
# field (given ones are a 32-byte string, or a name zero-padded) and DATA;
# the relay (-v) must drop it saying WHY, and a member a goes on as if
# nothing happened.
bad_session() {
	local why=$1 g=${7:-}
	start_sd r -v
	member a "$SDP" g
	{
		hello bad
		le32 "$2"
		field "$3"
		le32 "$4"
		le32 "$5"
		le32 "$6"
		[ -z "$g" ] || field "$g"
		printf '%s' "${8:-}"
	} | rawclient "127.0.0.1:$SDP" >"$T/bad.out" 2>"$T/bad.err" || true
	wait_for grep -qF -- "spread: #bad#r: dropped: $why" "$T/r.err"
	run --separate-stderr sp-mcast -s "$SDP" g -- after
	[ "$status" -eq 0 ]
	wait_for "grep -q '^msg	after' $T/a.out"
	[ "$(grep -c 'bad#r' "$T/a.out")" -eq 0 ]
	[ "$(grep -c '^msg' "$T/a.out")" -eq 1 ]
	proc_alive "$RPID"
}

TYPE_ERR='type is not one service or one of join, leave, kill'
MARK=$((0x80000080))

@test "bad client: two service bits (AGREED|SAFE) drops that session alone" {
	bad_session "$TYPE_ERR" $((0x800000b0)) '#bad#r' 1 $MARK 2 g hi
}

@test "bad client: GROUPS_MESS (which crashes Spread 5.0.1) drops that session alone" {
	bad_session "$TYPE_ERR" $((0x80080090)) '#bad#r' 1 $MARK 2 g hi
}

@test "bad client: REJECT_MESS set by a client drops that session alone" {
	bad_session "$TYPE_ERR" $((0x80400090)) '#bad#r' 1 $MARK 2 g hi
}

@test "bad client: JOIN and LEAVE at once drops that session alone" {
	bad_session "$TYPE_ERR" $((0x80030080)) '#bad#r' 1 $MARK 0 g
}

@test "bad client: a sender that is not its private group drops that session alone" {
	bad_session "sender is not the session's private group" $((0x80000090)) '#other#r' 1 $MARK 2 g hi
}

@test "bad client: 101 groups drops that session alone" {
	bad_session "group count out of range" $((0x80000090)) '#bad#r' 101 $MARK 0
}

@test "bad client: a negative group count drops that session alone" {
	bad_session "group count out of range" $((0x80000090)) '#bad#r' -1 $MARK 0
}

@test "bad client: a join of two groups drops that session alone" {
	bad_session "group count out of range" $((0x80010080)) '#bad#r' 2 $MARK 0 g
}

@test "bad client: a hint with a bit outside 0x80ffff80 drops that session alone" {
	bad_session "hint has bits outside 0x80ffff80" $((0x80000090)) '#bad#r' 1 $((0x81000080)) 2 g hi
}

@test "bad client: a negative data length drops that session alone" {
	bad_session "data length out of range" $((0x80000090)) '#bad#r' 1 $MARK -5 g
}

@test "bad client: a join with data drops that session alone" {
	bad_session "data length out of range" $((0x80010080)) '#bad#r' 1 $MARK 2 g hi
}

@test "bad client: a body over 143152 bytes (which aborts Spread) drops that session alone" {
	bad_session "message larger than 143152 bytes" $((0x80000090)) '#bad#r' 1 $MARK 143200 g
}

@test "bad client: an unterminated group name drops that session alone" {
	bad_session "illegal or unterminated group name" $((0x80000090)) '#bad#r' 1 $MARK 2 "$(printf 'x%.0s' $(seq 32))" hi
}

@test "bad client: a group name with a space (0x20) drops that session alone" {
	bad_session "illegal or unterminated group name" $((0x80000090)) '#bad#r' 1 $MARK 2 'a b' hi
}

@test "a member that stops reading stops the daemon once 1000 messages wait for it, and is dropped when it has read nothing for 5 s; the others see it disconnect and get every message; the relay stays small" {
	start_sd r
	rpid=$RPID
	member a "$SDP" g
	member slow "$SDP" g
	kill -STOP "$J_slow"
	head -c 20000 /dev/zero | tr '\0' x >"$T/big"
	for i in $(seq 3); do
		seq 1500 | sed "s/\$/ $(cat "$T/big")/" |
			sp-mcast -s "$SDP" -u "tx$i" g >/dev/null
	done
	wait_for "grep -qE '^memb	disconnect	g	[^	]*	#a#r	#slow#r' $T/a.out"
	wait_for "[ \$(grep -c '^msg' $T/a.out) -eq 4500 ]"
	# 4500 messages of 20 KB went through; a's output held them all, the
	# relay at most about 1000 of them for slow before dropping it
	[ "$(vm_hwm "$rpid")" -lt 200000 ]
	kill -CONT "$J_slow"
}

# ---- a mesh ------------------------------------------------------------------

# mesh3: relays a, b, c with -s (b and c peer with a, c with b too), a
# member of g on each: ma, mb, mc.
mesh3() {
	start_sd a "$@"
	pa=$SDP aaddr=$RADDR
	start_sd b "$@" "$aaddr"
	pb=$SDP baddr=$RADDR
	start_sd c "$@" "$aaddr" "$baddr"
	pc=$SDP cpid=$RPID
	wait_for "ctl a groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	wait_for "ctl c groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	wait_for "ctl b groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	member ma "$pa" g
	member mb "$pb" g
	member mc "$pc" g
}

@test "three relays: members on each receive each other's messages once; membership and group ids are the same at every member" {
	mesh3
	sp-mcast -s "$pa" -u xa g -- from-a
	sp-mcast -s "$pb" -u xb g -- from-b
	sp-mcast -s "$pc" -u xc g -- from-c
	for m in ma mb mc; do
		wait_for "[ \$(grep -c '^msg' $T/$m.out) -eq 3 ]"
		[ "$(grep '^msg' "$T/$m.out")" = "$(printf 'msg\tfrom-a\nmsg\tfrom-b\nmsg\tfrom-c')" ]
	done
	# the last membership, ids included, is the same everywhere
	[ "$(grep '^memb' "$T/ma.out" | tail -n 1)" = "$(printf 'memb\tjoin\tg\t%s\t#ma#a #mb#b #mc#c\t#mc#c' "$(gids mc g)")" ]
	[ "$(grep '^memb' "$T/mb.out" | tail -n 1)" = "$(grep '^memb' "$T/ma.out" | tail -n 1)" ]
	[ "$(grep '^memb' "$T/mc.out" | tail -n 1)" = "$(grep '^memb' "$T/ma.out" | tail -n 1)" ]
}

@test "three relays: one killed with kill -9: the members on the others get TRANSITION, then CAUSED_BY_NETWORK with the reduced list and a new group id; restarted, its members join again" {
	mesh3
	old=$(gids ma g | tail -n 1)
	kill -KILL "$cpid"
	for m in ma mb; do
		wait_for "grep -q '^memb	network' $T/$m.out"
		tail -n 2 "$T/$m.out" >"$T/$m.tail"
		[ "$(sed -n 1p "$T/$m.tail")" = "$(printf 'memb\ttransition\tg\t%s\t\t' "$old")" ]
		[ "$(sed -n 2p "$T/$m.tail" | cut -f1-3,5)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b')" ]
	done
	[ "$(sed -n 2p "$T/ma.tail")" != "" ]
	new=$(gids ma g | tail -n 1)
	[ "$new" != "$old" ]
	[ "$(gids mb g | tail -n 1)" = "$new" ]
	[ "${new##*.}" = 1 ]
	# each member's own set: the two that came through together
	[ "$(sed -n 2p "$T/ma.tail" | cut -f6)" = "#ma#a #mb#b" ]
	# c again, a new life: its member joins as a join
	start_sd c "$aaddr"
	wait_for "ctl a groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	member md "$SDP" g
	wait_for "grep -q '^memb	join	g	[^	]*	#ma#a #mb#b #md#c	#md#c' $T/ma.out"
	[ "$(grep -c '^memb' "$T/ma.out")" -eq 6 ]
}

@test "a link cut (the proxy between two relays killed): TRANSITION and CAUSED_BY_NETWORK on each side; restored: one CAUSED_BY_NETWORK with the combined list, and no TRANSITION" {
	start_sd a
	pa=$SDP aaddr=$RADDR
	start_proxy "$aaddr"
	ppid=$PXPID pport=$PXPORT
	start_sd b "$PXADDR"
	pb=$SDP
	wait_for "ctl a groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b'"
	wait_for "ctl b groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b'"
	member ma "$pa" g
	member mb "$pb" g
	wait_for "grep -q '#ma#a #mb#b' $T/ma.out"
	old=$(gids ma g | tail -n 1)
	kill -KILL "$ppid"
	for m in ma mb; do
		wait_for "grep -q '^memb	network' $T/$m.out"
		[ "$(tail -n 2 "$T/$m.out" | sed -n 1p)" = "$(printf 'memb\ttransition\tg\t%s\t\t' "$old")" ]
	done
	[ "$(tail -n 1 "$T/ma.out" | cut -f1-3,5,6)" = "$(printf 'memb\tnetwork\tg\t#ma#a\t#ma#a')" ]
	[ "$(tail -n 1 "$T/mb.out" | cut -f1-3,5,6)" = "$(printf 'memb\tnetwork\tg\t#mb#b\t#mb#b')" ]
	# each side goes on alone
	sp-mcast -s "$pb" g -- b-alone
	wait_for "grep -q b-alone $T/mb.out"
	# the proxy again, on its port: the two views merge
	start_helper proxy2 qproxy -p "$pport" "$aaddr"
	for m in ma mb; do
		wait_for "[ \$(grep -c '^memb	network' $T/$m.out) -eq 2 ]"
		[ "$(tail -n 1 "$T/$m.out" | cut -f1-3,5)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b')" ]
		[ "$(grep -c '^memb	transition' "$T/$m.out")" -eq 1 ]
	done
	[ "$(tail -n 1 "$T/ma.out" | cut -f4)" = "$(tail -n 1 "$T/mb.out" | cut -f4)" ]
	# one set a side: each member's own is its side's
	[ "$(tail -n 1 "$T/ma.out" | cut -f6)" = "#ma#a" ]
	[ "$(tail -n 1 "$T/mb.out" | cut -f6)" = "#mb#b" ]
	[ "$(grep -c b-alone "$T/ma.out")" -eq 0 ]
	sp-mcast -s "$pa" g -- together
	wait_for "grep -q together $T/mb.out"
}

# stop_relay NAME PID: SIGSTOP to the relay and every child of it.
stop_relay() {
	local p
	kill -STOP "$2"
	for p in $(children "$2" | awk '{ print $1 }'); do
		kill -STOP "$p"
	done
}

cont_relay() {
	local p
	for p in $(children "$2" | awk '{ print $1 }'); do
		kill -CONT "$p"
	done
	kill -CONT "$2"
}

@test "SAFE: held while one relay of the view is stopped (counted held at the others), delivered everywhere once it goes on" {
	# (-W 60: a stop this short is no failure, on a loaded machine too)
	mesh3 -W 60
	sp-mcast -s "$pa" g -- before
	for m in ma mb mc; do
		wait_for "grep -q '^msg	before' $T/$m.out"
	done
	stop_relay c "$cpid"
	sp-mcast -s "$pa" -t safe g -- safe-one
	wait_for "[ \"\$(sd_counter a spread_held)\" -ge 1 ] && [ \"\$(sd_counter b spread_held)\" -ge 1 ]"
	for m in ma mb mc; do
		[ "$(grep -c safe-one "$T/$m.out")" -eq 0 ]
	done
	cont_relay c "$cpid"
	for m in ma mb mc; do
		wait_for "grep -q '^msg	safe-one' $T/$m.out"
	done
	[ "$(sd_counter a spread_held)" -eq 0 ]
}

@test "virtual synchrony: a triangle whose link from c to b stalls mid-stream, then c killed: the members on a and b print the same sequence, messages, TRANSITION and CAUSED_BY_NETWORK alike" {
	start_sd a
	pa=$SDP aaddr=$RADDR
	start_sd b "$aaddr"
	pb=$SDP baddr=$RADDR
	start_proxy "$baddr"
	ppid=$PXPID
	start_sd c "$aaddr" "$PXADDR"
	pc=$SDP cpid=$RPID
	for r in a b c; do
		wait_for "ctl $r groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	done
	member ma "$pa" g
	member mb "$pb" g
	member mc "$pc" g
	wait_for "grep -q '#ma#a #mb#b #mc#c' $T/mb.out"
	seq 20000 >"$T/in"
	BG_IN=$T/in start_bg send sp-mcast -s "$pc" -u tx g
	# once b's member has 5000 of them, c's link to b stalls; then c dies
	wait_for "[ \$(grep -c '^msg' $T/mb.out) -ge 5000 ]"
	kill -STOP "$ppid"
	kill -KILL "$cpid"
	for m in ma mb; do
		wait_for "grep -q '^memb	network' $T/$m.out"
	done
	kill -CONT "$ppid"
	# a's first line is its own join alone; then the two are the same
	diff <(tail -n +2 "$T/ma.out") "$T/mb.out"
	[ "$(grep -c '^memb	transition' "$T/mb.out")" -eq 1 ]
	[ "$(tail -n 1 "$T/mb.out" | cut -f1-3,5)" = "$(printf 'memb\tnetwork\tg\t#ma#a #mb#b')" ]
	# what got through came in order, each once
	grep '^msg' "$T/mb.out" | cut -f2 >"$T/got"
	[ "$(sort -n "$T/got" | uniq -d | wc -l)" -eq 0 ]
	sort -n -c "$T/got"
	[ "$(wc -l <"$T/got")" -ge 5000 ]
}

@test "one total order across groups and relays: three members of g1 and g2, one a relay, each sends 10000 AGREED messages alternating groups at once; every member gets all 30000 once, in the same order, each sender's in its order, interleaved" {
	start_sd a
	pa=$SDP aaddr=$RADDR
	start_sd b "$aaddr"
	pb=$SDP baddr=$RADDR
	start_sd c "$aaddr" "$baddr"
	pc=$SDP
	for r in a b c; do
		wait_for "ctl $r groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b	c'"
	done
	start_session sa -u sa -s "$pa" g1 g2
	start_session sb -u sb -s "$pb" g1 g2
	start_session sc -u sc -s "$pc" g1 g2
	for s in sa sb sc; do
		seq 10000 | awk -v s="$s" '{ printf "msg agreed 0 g%d %s %d\n", 2 - NR % 2, s, NR }' >"$T/$s.req"
	done
	# all three joined both groups before any sends (their ready files);
	# the three sessions are stopped until each has its input waiting, so
	# that a loaded machine starting one writer late does not make the
	# run sequential
	cats=() spids=()
	for s in sa sb sc; do
		v=SESS_PID_$s
		spids+=("${!v}")
	done
	kill -STOP "${spids[@]}"
	for s in sa sb sc; do
		v=SESS_IN_$s
		# (4 KiB writes: wchar shows the first at once)
		dd if="$T/$s.req" bs=4096 status=none >&"${!v}" &
		cats+=($!)
	done
	for c in "${cats[@]}"; do
		wait_for "! [ -e /proc/$c/io ] || [ \$(awk '\$1 == \"wchar:\" { print \$2 }' /proc/$c/io) -ge 4096 ]"
	done
	kill -CONT "${spids[@]}"
	wait "${cats[@]}"
	for s in sa sb sc; do
		wait_for -t 120 "[ \$(wc -l <$T/$s.out) -ge 30000 ]"
	done
	[ "$(wc -l <"$T/sa.out")" -eq 30000 ]
	cmp "$T/sa.out" "$T/sb.out"
	cmp "$T/sa.out" "$T/sc.out"
	for s in sa sb sc; do
		[ "$(grep -c "^$s " "$T/sa.out")" -eq 10000 ]
		grep "^$s " "$T/sa.out" | cut -d' ' -f2 | sort -n -c
	done
	# the senders' messages interleave (a sequential run would not)
	switches=$(awk '{ if ($1 != last) n++; last = $1 } END { print n - 1 }' "$T/sa.out")
	echo "switches between senders: $switches"
	[ "$switches" -ge 100 ]
}

@test "-s with sealed links (-k): groups span two relays whose links are sealed" {
	quilt-keygen "$T/key"
	start_sd a -k "$T/key"
	pa=$SDP aaddr=$RADDR
	start_sd b -k "$T/key" "$aaddr"
	pb=$SDP
	wait_for "ctl b groups | head -n 1 | grep -qx 'view	[0-9]*	a	a	b'"
	member ma "$pa" g
	member mb "$pb" g
	sp-mcast -s "$pb" -t safe g -- sealed-hello
	wait_for "grep -q '^msg	sealed-hello' $T/ma.out"
	wait_for "grep -q '^msg	sealed-hello' $T/mb.out"
}
