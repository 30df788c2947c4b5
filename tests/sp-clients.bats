#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# sp-join and sp-mcast against a scripted Spread daemon (tests/helpers/
# spread-peer) that replays the daemon's bytes of the real captures in
# tests/spread/vectors, or plays a refusal script.  The peer logs what the
# client sent, so every test sees both sides.

load helpers/common
load helpers/spread
load helpers/spread-session

setup() {
	QUILT_NEEDS="sp-join sp-mcast" setup_quilt
	if [ ! -x "$QUILT_HELPERS/spread-peer" ]; then
		echo "spread-peer is not built (make units)" >&2
		return 1
	fi
}

nul_count() {
	tr -cd '\0' <"$1" | wc -c
}

# --- connect rejections, one per refusal of PROTOCOL.md section 2 -------

@test "REJECT_NOT_UNIQUE: private name in use (capture 05), exit 69" {
	need_vectors
	start_peer -v "$(cap 05)" -c 2
	run sp-join -s "$SP" -u dup g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: REJECT_NOT_UNIQUE: private name already in use on the daemon" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name dup" ]
}

@test "REJECT_ILLEGAL_NAME from the daemon (capture 06), exit 69" {
	need_vectors
	start_peer -v "$(cap 06)"
	run sp-mcast -s "$SP" -u nice g -- x
	[ "$status" -eq 69 ]
	[ "${output%%:*}" = "sp-mcast" ]
	[[ $output == "sp-mcast: $SP: REJECT_ILLEGAL_NAME: "* ]]
}

@test "REJECT_ILLEGAL_NAME for an 11-byte name announcement (capture 07)" {
	need_vectors
	start_peer -v "$(cap 07)"
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[[ $output == "sp-join: $SP: REJECT_ILLEGAL_NAME: "* ]]
}

@test "REJECT_AUTH after the choice (capture 08), exit 69" {
	need_vectors
	start_peer -v "$(cap 08)"
	run sp-join -s "$SP" -u authx g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: REJECT_AUTH: authentication refused" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name authx
choice NULL" ]
}

@test "REJECT_VERSION (capture 09), exit 69" {
	need_vectors
	start_peer -v "$(cap 09)"
	run sp-mcast -s "$SP" g -- x
	[ "$status" -eq 69 ]
	[ "$output" = "sp-mcast: $SP: REJECT_VERSION: protocol version refused" ]
}

@test "REJECT_AUTH after an empty offer (capture 37): no choice is sent" {
	need_vectors
	start_peer -v "$(cap 37)"
	run sp-join -s "$SP" -u noau g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: REJECT_AUTH: the daemon allows no authentication" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name noau" ]
}

@test "REJECT_NO_NAME of a 4.0.0 daemon (capture 36), exit 69" {
	need_vectors
	start_peer -v "$(cap 36)" -c 8
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[[ $output == "sp-join: $SP: REJECT_NO_NAME: "* ]]
}

@test "REJECT_VERSION of a 4.0.0 daemon (capture 36), exit 69" {
	need_vectors
	start_peer -v "$(cap 36)" -c 6
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[[ $output == "sp-join: $SP: REJECT_VERSION: "* ]]
}

@test "REJECT_QUOTA sent before the hello, exit 69" {
	start_peer -m quota
	run sp-mcast -s "$SP" g -- x
	[ "$status" -eq 69 ]
	[ "$output" = "sp-mcast: $SP: REJECT_QUOTA: the daemon has too many sessions" ]
}

@test "no NULL authentication offered: REJECT_AUTH, no choice sent" {
	start_peer -m offer-foo
	run sp-join -s "$SP" -u a g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: REJECT_AUTH: the daemon does not offer NULL authentication" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name a
close" ]
}

@test "a daemon that closes after the hello: CONNECTION_CLOSED, exit 69" {
	start_peer -m close
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: CONNECTION_CLOSED: the daemon closed the connection" ]
}

@test "a daemon that never answers: COULD_NOT_CONNECT timed out, exit 75" {
	start_peer -m silent
	QUILT_CONNECT_TIMEOUT=300 run sp-mcast -s "$SP" g -- x
	[ "$status" -eq 75 ]
	[ "$output" = "sp-mcast: $SP: COULD_NOT_CONNECT: timed out" ]
}

@test "an offer that is not Spread: exit 76" {
	start_peer -m garbage-offer
	run sp-join -s "$SP" g
	[ "$status" -eq 76 ]
	[[ $output == "sp-join: $SP: CONNECTION_CLOSED: "* ]]
}

@test "a reply with a 64-byte private group: exit 76" {
	start_peer -m garbage-reply
	run sp-mcast -s "$SP" g -- x
	[ "$status" -eq 76 ]
	[[ $output == "sp-mcast: $SP: CONNECTION_CLOSED: "* ]]
}

@test "a daemon older than 3: REJECT_VERSION, exit 69" {
	start_peer -m old-daemon
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[[ $output == "sp-join: $SP: REJECT_VERSION: "* ]]
}

@test "connection refused: COULD_NOT_CONNECT, exit 69" {
	start_peer -m quota
	run sp-mcast -s "$SP" g -- x
	wait_exit "$PEERPID"
	run sp-join -s "$SP" g
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: COULD_NOT_CONNECT: Connection refused" ]
}

@test "a Unix socket that is not there: COULD_NOT_CONNECT, exit 69" {
	local n=$((20000 + RANDOM % 40000))
	while [ -e "/tmp/$n" ]; do n=$((n + 1)); done
	run sp-join -s "$n" g
	[ "$status" -eq 69 ]
	[[ $output == "sp-join: $n: COULD_NOT_CONNECT: /tmp/$n: "* ]]
}

@test "a host that does not resolve: exit 68" {
	run sp-mcast -s 4803@nosuch.invalid g -- x
	[ "$status" -eq 68 ]
	[[ $output == "sp-mcast: 4803@nosuch.invalid: COULD_NOT_CONNECT: resolve nosuch.invalid: "* ]]
}

@test "ILLEGAL_SPREAD: a daemon name Spread does not read, exit 64" {
	# host:port is not how Spread names a daemon (no connection is made)
	h=localhost
	for s in x "$h:4803" 4803@ 0 65536 -1; do
		run sp-join -s "$s" g
		[ "$status" -eq 64 ]
		[ "${lines[0]}" = "sp-join: $s: ILLEGAL_SPREAD: not a Spread daemon name (PORT or PORT@HOST)" ]
		[[ ${lines[1]} == "usage: "* ]]
	done
}

# --- sp-join -------------------------------------------------------------

@test "sp-join -m: own join, -P once confirmed, self-leave, clean exit (capture 12)" {
	need_vectors
	start_peer -w 1 -v "$(cap 12)"
	start_join join -m -s "$SP" -P "$T/ready" grpA
	wait_for "[ -s '$T/ready' ]"
	[ "$(cat "$T/ready")" = "#joiner#localhost" ]
	wait_for lines_at_least "$T/join.out" 2
	stop_join
	[ "$status" -eq 0 ]
	[ ! -e "$T/ready" ]
	[ "$(cat "$T/join.out")" = "$(printf 'memb\tjoin\tgrpA\t482711334.1795313128.1\t#joiner#localhost\t#joiner#localhost\nmemb\tself-leave\tgrpA\t\t\t')" ]
	[ ! -s "$T/join.err" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name 
choice NULL
join grpA
leave grpA
kill
close" ]
}

@test "sp-join: a ready file that cannot be written, exit 71 after a clean leave" {
	need_vectors
	start_peer -w 1 -v "$(cap 12)"
	run sp-join -s "$SP" -P "$T/no/such/ready" grpA
	[ "$status" -eq 71 ]
	[ "$output" = "sp-join: ready file $T/no/such/ready: No such file or directory" ]
	wait_exit "$PEERPID"
	[ "$(tail -n 3 "$T/peer.log")" = "leave grpA
kill
close" ]
}

@test "sp-join: data lines by default, every service type (capture 13)" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join -s "$SP" -P "$T/ready" svc
	wait_for lines_at_least "$T/join.out" 8
	stop_join INT
	[ "$status" -eq 0 ]
	[ "$(cat "$T/join.out")" = "unreliable
reliable
fifo
causal
agreed
safe
agreed-selfdiscard
neg-msgtype" ]
	[ "$(cat "$T/ready" 2>/dev/null)" = "" ]
}

@test "sp-join -f: service, sender, groups, type, endian, data" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join -f -s "$SP" svc
	wait_for lines_at_least "$T/join.out" 8
	stop_join
	[ "$status" -eq 0 ]
	[ "$(sed -n '1p;7p;8p' "$T/join.out")" = "$(printf 'unreliable\t#snd#localhost\tsvc\t1\t0\tunreliable\nagreed+self-discard\t#snd#localhost\tsvc\t7\t0\tagreed-selfdiscard\nsafe\t#snd#localhost\tsvc\t-2\t0\tneg-msgtype')" ]
}

@test "sp-join -m -f: every line starts with msg or memb" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join -m -f -s "$SP" svc
	wait_for lines_at_least "$T/join.out" 10
	stop_join
	[ "$status" -eq 0 ]
	[ "$(cut -f1 "$T/join.out" | sort | uniq -c | tr -s ' ')" = " 2 memb
 8 msg" ]
	[ "$(sed -n 2p "$T/join.out")" = "$(printf 'memb\tjoin\tsvc\t482711334.1795313128.2\t#rcv#localhost #snd#localhost\t#snd#localhost')" ]
	[ "$(sed -n 3p "$T/join.out")" = "$(printf 'msg\tunreliable\t#snd#localhost\tsvc\t1\t0\tunreliable')" ]
}

@test "sp-join -j: JSON lines for messages and membership" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join -j -m -s "$SP" svc
	wait_for lines_at_least "$T/join.out" 10
	stop_join
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p "$T/join.out")" = '{"kind":"memb","reason":"join","group":"svc","group_id":[482711334,1795313128,1],"members":["#rcv#localhost"],"changed":["#rcv#localhost"],"vs_sets":[["#rcv#localhost"]]}' ]
	[ "$(sed -n 10p "$T/join.out")" = '{"kind":"msg","service":"safe","sender":"#snd#localhost","groups":["svc"],"msg_type":-2,"endian":0,"data":"neg-msgtype"}' ]
}

@test "sp-join -N and -0: the same messages, framed" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join -N -s "$SP" svc
	wait_for "[ \$(wc -c <'$T/join.out') -ge 100 ]"
	stop_join
	[ "$status" -eq 0 ]
	[ "$(cat "$T/join.out")" = "14:10:unreliable,,11:8:reliable,,7:4:fifo,,9:6:causal,,9:6:agreed,,7:4:safe,,22:18:agreed-selfdiscard,,15:11:neg-msgtype,," ]
	wait_exit "$PEERPID"
	start_peer -w 1 -v "$(cap 13)" -c 1
	start_join join0 -0 -s "$SP" svc
	wait_for "[ \$(nul_count '$T/join0.out') -ge 8 ]"
	stop_join
	[ "$(tr '\0' '\n' <"$T/join0.out" | head -n 2)" = "unreliable
reliable" ]
}

@test "sp-join -m: join, leave and disconnect of others (capture 15)" {
	need_vectors
	start_peer -w 1 -v "$(cap 15)"
	start_join join -m -s "$SP" -P "$T/ready" g
	wait_for lines_at_least "$T/join.out" 7
	stop_join
	[ "$status" -eq 0 ]
	[ "$(cut -f2,4,5 "$T/join.out")" = "$(printf 'join\t482711334.1795313128.1\t#obs#localhost
join\t482711334.1795313128.2\t#obs#localhost #p1#localhost
leave\t482711334.1795313128.3\t#obs#localhost
join\t482711334.1795313128.4\t#obs#localhost #p1#localhost
disconnect\t482711334.1795313128.5\t#obs#localhost
join\t482711334.1795313128.6\t#obs#localhost #p2#localhost
disconnect\t482711334.1795313128.7\t#obs#localhost')" ]
	[ "$(cut -f6 "$T/join.out" | sort -u | tr '\n' ' ')" = "#obs#localhost #p1#localhost #p2#localhost " ]
}

@test "sp-join -m: transitional and network memberships (capture 19)" {
	need_vectors
	start_peer -w 1 -v "$(cap 19)" -c 1
	start_join join -m -s "$SP" net
	wait_for lines_at_least "$T/join.out" 5
	stop_join
	[ "$status" -eq 0 ]
	[ "$(sed -n '3,5p' "$T/join.out")" = "$(printf 'memb\ttransition\tnet\t482711334.1795313317.2\t\t
memb\tnetwork\tnet\t482711334.1795313341.1\t#A#localhost\t#A#localhost
memb\tnetwork\tnet\t482711334.1795313345.1\t#A#localhost #B#peer2\t#A#localhost')" ]
}

@test "sp-join -j: the vs_sets of a merge (capture 19, second client)" {
	need_vectors
	start_peer -w 1 -v "$(cap 19)" -c 2
	start_join join -j -m -s "$SP" net
	wait_for lines_at_least "$T/join.out" 3
	stop_join
	[ "$(sed -n 3p "$T/join.out")" = '{"kind":"memb","reason":"network","group":"net","group_id":[482711334,1795313345,1],"members":["#A#localhost","#B#peer2"],"changed":["#B#peer2"],"vs_sets":[["#B#peer2"],["#A#localhost"]]}' ]
}

@test "sp-join: membership bodies of a big-endian daemon (capture 47)" {
	need_vectors
	start_peer -v "$(cap 47)"
	start_join join -m -s "$SP" beg
	wait_for lines_at_least "$T/join.out" 2
	stop_join
	[ "$status" -eq 0 ]
	[ "$(cat "$T/join.out")" = "$(printf 'memb\tjoin\tbeg\t16909060.168496141.5\t#bec#bigend\t#bec#bigend
memb\ttransition\tbeg\t16909060.168496141.5\t\t')" ]
}

@test "sp-join: a refused join is REJECT_MESS, exit 69 (capture 39)" {
	need_vectors
	start_peer -w 1 -v "$(cap 39)"
	run sp-join -s "$SP" jg
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: REJECT_MESS: the daemon refused a request for group jg" ]
}

@test "sp-join: the daemon dropping the session is CONNECTION_CLOSED, exit 69" {
	start_peer -w 2 -m drop
	run sp-join -s "$SP" a b
	[ "$status" -eq 69 ]
	[ "$output" = "sp-join: $SP: CONNECTION_CLOSED: the daemon closed the connection" ]
}

@test "sp-join: a malformed header from the daemon, exit 76" {
	start_peer -w 1 -m bad-header
	run sp-join -s "$SP" a
	[ "$status" -eq 76 ]
	[ "$output" = "sp-join: $SP: ILLEGAL_MESSAGE: malformed message from the daemon" ]
}

@test "sp-join: a group named twice is joined once; Unix socket daemon name" {
	start_peer -U -m accept
	[[ $SP =~ ^[0-9]+$ ]]
	[ -S "/tmp/$SP" ]
	start_join join -s "$SP" -u me a b a
	wait_for file_has "$T/peer.log" "^join b"
	stop_join
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = "hello 5.0.1 flags 0x01 name me
choice NULL
join a
join b
leave a
leave b
kill
close" ]
}

@test "sp-join: closed stdout ends it quietly, after leave and disconnect" {
	need_vectors
	start_peer -w 1 -v "$(cap 13)" -c 1
	run bash -c "sp-join -s '$SP' svc | head -n 1"
	[ "$status" -eq 0 ]
	[ "$output" = "unreliable" ]
	wait_exit "$PEERPID"
	[ "$(tail -n 3 "$T/peer.log")" = "leave svc
kill
close" ]
}

@test "sp-join: usage errors and option conflicts, exit 64" {
	run sp-join
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-join: missing the group operand" ]
	[[ ${lines[1]} == "usage: sp-join "* ]]
	run sp-join -f -j g
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-join: -f and -j cannot be used together" ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-join -j -N g
	[ "$status" -eq 64 ]
	run sp-join -s 1@h -s 2@h g
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-join: option -s given twice" ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-join "a b"
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = 'sp-join: group "a b": ILLEGAL_GROUP: must be 1..31 bytes from '"'\$' to '~'" ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-join GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG
	[ "$status" -eq 64 ]
	run sp-join -u abcdefghijk g
	[ "$status" -eq 64 ]
	[[ $output == 'sp-join: private name "abcdefghijk": REJECT_ILLEGAL_NAME: '* ]]
	run sp-join -h
	[ "$status" -eq 0 ]
	[[ $output == "usage: sp-join "* ]]
	run sp-join -V
	[ "$output" = "sp-join (quilt) 0.1.0" ]
	run sp-join -e g
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-join: -e needs -i" ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-join -i -j -N
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-join: -j cannot be used with -0 or -N" ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-join -i "a b"
	[ "$status" -eq 64 ]
	[[ $output == 'sp-join: group "a b": ILLEGAL_GROUP: '* ]]
}

# --- sp-join -i: one session that receives and sends -------------------
# Against spread-peer -m loop, the daemon of one client: its joins are
# answered with memberships, its messages to its groups come back.

@test "sp-join -i: a coprocess joins, says something in its group, reads it back" {
	start_peer -m loop
	coproc SJ { exec sp-join -i -u co -s "$SP" 2>"$T/co.err" 3>&- 4>&-; }
	track "$SJ_PID"
	echo 'join chat' >&"${SJ[1]}"
	echo 'msg agreed 3 chat hello, me' >&"${SJ[1]}"
	read -r -t "$WAIT_TIMEOUT" line <&"${SJ[0]}"
	[ "$line" = "hello, me" ]
	local pid=$SJ_PID
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$status" -eq 0 ]
	[ ! -s "$T/co.err" ]
	wait_exit "$PEERPID"
	[ "$(peer_log)" = 'hello 5.0.1 flags 0x01 name co
choice NULL
join chat
mcast agreed 3 chat hello,\x20me
leave chat
kill
close' ]
}

@test "sp-join -i -e: every service, self-discard, types and groups as sent" {
	start_peer -m loop
	run --separate-stderr sp-join -i -e -f -u me -s "$SP" < <(printf '%s\n' \
		'join g' 'msg unreliable 1 g u' 'msg reliable -1 g r' \
		'msg fifo 32767 g f' 'msg causal -32768 g c' \
		'msg agreed+self-discard 0 g not-me' 'msg safe 0 g,other,#me#peer s' \
		'msg agreed 0 other nobody' 'msg fifo 0 #me#peer to  me ' 'msg agreed 0 g')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$(printf '%s\n' \
		'unreliable	#me#peer	g	1	0	u' \
		'reliable	#me#peer	g	-1	0	r' \
		'fifo	#me#peer	g	32767	0	f' \
		'causal	#me#peer	g	-32768	0	c' \
		'safe	#me#peer	g other #me#peer	0	0	s' \
		'fifo	#me#peer	#me#peer	0	0	to  me ' \
		'agreed	#me#peer	g	0	0	')" ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'join g
mcast unreliable 1 g u
mcast reliable -1 g r
mcast fifo 32767 g f
mcast causal -32768 g c
mcast agreed+self-discard 0 g not-me
mcast safe 0 g,other,#me#peer s
mcast agreed 0 other nobody
mcast fifo 0 #me#peer to\x20\x20me\x20
mcast agreed 0 g 
leave g
kill
close' ]
}

@test "sp-join -i -e: 1000 of its own FIFO messages come back in order, then it exits" {
	start_peer -m loop
	{ echo 'join g'; seq -f 'msg fifo 0 g %g' 1000; } >"$T/in"
	run --separate-stderr sp-join -i -e -s "$SP" <"$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(seq 1000)" ]
	wait_exit "$PEERPID"
	[ "$(grep -c '^mcast fifo 0 g ' "$T/peer.log")" -eq 1000 ]
	[ "$(tail -n 3 "$T/peer.log")" = "leave g
kill
close" ]
}

@test "sp-join -i -m: joins and leaves during the session, -P with no group operand" {
	start_peer -m loop
	start_session s -m -u me -s "$SP"
	[ "$(pg s)" = "#me#peer" ]
	[ ! -s "$T/s.out" ]
	say s 'join g1' 'join g2' 'join g1' 'msg agreed 0 g1,g2 both'
	wait_for lines_at_least "$T/s.out" 3
	say s 'leave g1' 'leave g1' 'msg agreed 0 g1 gone' 'msg agreed 0 g2 still'
	wait_for lines_at_least "$T/s.out" 5
	stop_session s
	[ "$status" -eq 0 ]
	[ ! -e "$T/s.ready" ]
	[ "$(cat "$T/s.out")" = "$(printf '%s\n' \
		'memb	join	g1	1.2.1	#me#peer	#me#peer' \
		'memb	join	g2	1.2.1	#me#peer	#me#peer' \
		'msg	both' \
		'memb	self-leave	g1			' \
		'msg	still')" ]
	wait_exit "$PEERPID"
	# A join of a group it is in, a leave of one it is not in: not sent.
	# At the end it leaves what it is in, whether joined by -i or not.
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'join g1
join g2
mcast agreed 0 g1,g2 both
leave g1
mcast agreed 0 g1 gone
mcast agreed 0 g2 still
leave g2
kill
close' ]
}

@test "sp-join -i: -P waits for the operand groups; they are left at the end" {
	start_peer -m loop
	start_session s -s "$SP" -u op opg
	[ "$(pg s)" = "#op#peer" ]
	say s 'join extra' 'msg fifo 0 opg,extra one'
	wait_for lines_at_least "$T/s.out" 1
	stop_session s INT
	[ "$status" -eq 0 ]
	[ "$(cat "$T/s.out")" = one ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'join opg
join extra
mcast fifo 0 opg,extra one
leave opg
leave extra
kill
close' ]
}

@test "sp-join -i -N: a text with a newline and a NUL, both ways" {
	local rc=0
	start_peer -m loop
	printf '11:4:join,1:g,,31:3:msg,6:agreed,1:0,1:g,5:a\nb\0c,,0:,25:3:msg,4:fifo,2:-7,1:g,0:,,' >"$T/in"
	sp-join -i -e -N -s "$SP" <"$T/in" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s "$T/err" ]
	printf '8:5:a\nb\0c,,3:0:,,' >"$T/want"
	cmp "$T/want" "$T/out"
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'join g
mcast agreed 0 g a\x0ab\x00c
mcast fifo -7 g 
leave g
kill
close' ]
}

@test "sp-join -i: a bad request: the ones before are sent, then leave, exit 65" {
	start_peer -m loop
	run --separate-stderr sp-join -i -q -s "$SP" < <(printf '%s\n' \
		'join g' 'msg agreed 0 g ok' '' 'msg agreed 0 g,,h bad' \
		'msg agreed 0 g never')
	[ "$status" -eq 65 ]
	[ "$stderr" = "sp-join: stdin: line 4: group \"\": ILLEGAL_GROUP: must be 1..31 bytes from '\$' to '~', or a private group #name#daemon" ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'join g
mcast agreed 0 g ok
leave g
kill
close' ]
}

@test "sp-join -i: each malformed request is named by its line or record, exit 65" {
	local long
	start_peer -m loop -n 16
	bad() {	# FLAGS INPUT-FORMAT WANTED-STDERR
		run --separate-stderr sp-join -i $1 -s "$SP" < <(printf "$2")
		[ "$status" -eq 65 ] || { echo "status $status for $2: $stderr"; return 1; }
		[ "$stderr" = "sp-join: stdin: $3" ] || { echo "got: $stderr"; return 1; }
	}
	bad '' 'part chat\n' 'line 1: unknown command "part": join, leave or msg'
	bad '' 'join a b\n' 'line 1: join takes one group: join GROUP'
	bad '' '\n\nleave\n' 'line 3: leave takes one group: leave GROUP'
	bad '' 'join #me#peer\n' "line 1: group \"#me#peer\": ILLEGAL_GROUP: must be 1..31 bytes from '\$' to '~'"
	bad '' 'join g\r\n' "line 1: group \"g\\x0d\": ILLEGAL_GROUP: must be 1..31 bytes from '\$' to '~'"
	bad '' 'msg agreed 0\n' 'line 1: msg takes a service, a type, groups and a text: msg SERVICE TYPE GROUP[,GROUP...] TEXT'
	bad '' 'msg fast 0 g x\n' 'line 1: service "fast": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without'
	bad '' 'msg agreed+selfdiscard 0 g x\n' 'line 1: service "agreed+selfdiscard": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe, with +self-discard or without'
	bad '' 'msg agreed 70000 g x\n' 'line 1: message type "70000": must be -32768..32767'
	bad '' "msg agreed 0 $(seq -s, -f 'g%g' 101) x\n" 'line 1: 101 groups: ILLEGAL_GROUP: at most 100 groups per message'
	long=$(head -c 143121 /dev/zero | tr '\0' x)
	bad '' "msg agreed 0 g $long\n" 'line 1: MESSAGE_TOO_LONG: 143120 bytes at most to 1 group (32 x groups + data <= 143152)'
	bad '' "join g\nmsg agreed 0 g $long$long\n" 'line 2: MESSAGE_TOO_LONG: longer than 147248 bytes'
	bad -0 'join g\0join a\nb\0' "record 2: group \"a\\x0ab\": ILLEGAL_GROUP: must be 1..31 bytes from '\$' to '~'"
	bad -N '11:4:join,1:g,,x' 'record 2: malformed netstring'
	bad -N '11:4:join,1:g,,15:4:join' 'record 2: truncated at the end of the input'
	bad -N '15:4:join,1:g,1:h,,' 'record 1: join takes one group: join GROUP'
}

@test "sp-join -i: a message the daemon refuses is REJECT_MESS, exit 69 (capture 38)" {
	need_vectors
	start_peer -w 1 -v "$(cap 38)" -c 2
	run --separate-stderr sp-join -i -u tx -s "$SP" < <(echo 'msg agreed 7 rg denied')
	[ "$status" -eq 69 ]
	[ "$stderr" = "sp-join: $SP: REJECT_MESS: the daemon refused a message to rg" ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = 'mcast agreed 7 rg denied
kill
close' ]
}

@test "sp-join -i: many requests at once go out in few writes" {
	command -v strace >/dev/null || skip "no strace to count the writes"
	start_peer -m loop
	{ echo 'join g'; seq -f 'msg fifo 0 g %g' 1000; } >"$T/in"
	strace -o "$T/trace" -e trace=write,writev,sendto,sendmsg \
		sp-join -i -e -s "$SP" <"$T/in" >"$T/out" 2>"$T/err" ||
		skip "strace cannot trace here: $(head -n 1 "$T/err")"
	[ "$(cat "$T/out")" = "$(seq 1000)" ]
	# Writes on the socket (not stdout, stderr or the signal pipe):
	# 1001 requests and the leave and disconnect, in a few writes.
	local n
	n=$(grep -cE '^(write|writev|sendto|sendmsg)\(([3-9]|[1-9][0-9]+),' "$T/trace")
	echo "writes to the daemon: $n"
	[ "$n" -ge 1 ] && [ "$n" -le 20 ]
}

@test "sp-join -i: a daemon that stops reading stops its input, memory bounded" {
	start_peer -m deaf
	yes 'msg agreed 0 g 0123456789012345678901234567890123456789012345678' |
		head -n 400000 >"$T/in"
	local size pid
	size=$(wc -c <"$T/in")
	sp-join -i -s "$SP" <"$T/in" >"$T/out" 2>"$T/err" 3>&- 4>&- &
	pid=$!
	track "$pid"
	wait_for file_has "$T/peer.log" '^deaf$'
	wait_for stalled "$pid" 0
	# Its queue to the daemon is bounded: most of the input is unread.
	[ "$(fd_pos "$pid" 0)" -lt $((size / 4)) ]
	[ "$(vm_hwm "$pid")" -lt 32768 ]
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$status" -eq 0 ]
}

# --- sp-mcast ------------------------------------------------------------

@test "sp-mcast: every service type, the message type, self-discard" {
	local s
	for s in unreliable reliable fifo causal agreed safe; do
		start_peer -m accept
		run sp-mcast -s "$SP" -u tx -t "$s" -T 7 g -- "m-$s"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		wait_exit "$PEERPID"
		[ "$(peer_log)" = "hello 5.0.1 flags 0x00 name tx
choice NULL
mcast $s 7 g m-$s
kill
close" ]
	done
	start_peer -m accept
	run sp-mcast -s "$SP" -x -T -32768 g -- self
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(sed -n 3p "$T/peer.log")" = 'mcast agreed+self-discard -32768 g self' ]
}

@test "sp-mcast: several groups and a private group are one multigroup message" {
	start_peer -m accept
	run sp-mcast -s "$SP" ga gb '#m1#localhost' nobody -- multi two
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,4p' "$T/peer.log")" = "mcast agreed 0 ga,gb,#m1#localhost,nobody multi
mcast agreed 0 ga,gb,#m1#localhost,nobody two" ]
}

@test "sp-mcast: messages from standard input, lines, -0 and -N" {
	start_peer -m accept
	printf 'one\n\nthree\tT\nlast' | sp-mcast -s "$SP" g
	wait_exit "$PEERPID"
	[ "$(sed -n '3,6p' "$T/peer.log")" = 'mcast agreed 0 g one
mcast agreed 0 g 
mcast agreed 0 g three\x09T
mcast agreed 0 g last' ]
	start_peer -m accept
	printf 'a\nb\0c\0' | sp-mcast -0 -s "$SP" g
	wait_exit "$PEERPID"
	[ "$(sed -n '3,4p' "$T/peer.log")" = 'mcast agreed 0 g a\x0ab
mcast agreed 0 g c' ]
	start_peer -m accept
	{ msgns "x y"; msgns ""; } | sp-mcast -N -s "$SP" g
	wait_exit "$PEERPID"
	[ "$(sed -n '3,5p' "$T/peer.log")" = 'mcast agreed 0 g x\x20y
mcast agreed 0 g 
kill' ]
}

@test "sp-mcast: a message the daemon refuses is REJECT_MESS, exit 69 (capture 38)" {
	need_vectors
	start_peer -w 1 -v "$(cap 38)" -c 2
	run sp-mcast -s "$SP" -u tx rg -- denied
	[ "$status" -eq 69 ]
	[ "$output" = "sp-mcast: $SP: REJECT_MESS: the daemon refused a message to rg" ]
}

@test "an IPv6 daemon name, PORT@::1 without brackets" {
	have_ipv6 || skip "no IPv6 loopback"
	start_peer -6 -m accept
	[[ $SP == *@::1 ]]
	run sp-mcast -s "$SP" -u v6 g -- over-v6
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(sed -n '1p;3p' "$T/peer.log")" = "hello 5.0.1 flags 0x00 name v6
mcast agreed 0 g over-v6" ]
}

@test "sp-mcast -N: a message of two parts, or cut short, is bad input, exit 65" {
	start_peer -m accept
	run sp-mcast -N -s "$SP" g < <(msgns a b)
	[ "$status" -eq 65 ]
	[[ $output == "sp-mcast: stdin: message 1: not one part"* ]]
	run sp-mcast -N -s "$SP" g < <(printf '3:abc')
	[ "$status" -eq 65 ]
	[ "$output" = "sp-mcast: stdin: message 1: malformed netstring" ]
	[ ! -s "$T/peer.log" ]
}

@test "sp-mcast: the largest body is sent, one byte more is refused with no byte sent" {
	local max=$((143152 - 32))
	start_peer -m accept
	head -c $max /dev/zero | tr '\0' x >"$T/max"
	run sp-mcast -s "$SP" g <"$T/max"
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(sed -n 3p "$T/peer.log")" = "mcast agreed 0 groups=1 len=$max" ]
	# One byte more: refused before a connection is even made.
	start_peer -m accept
	{ cat "$T/max"; echo x; } >"$T/over"
	run sp-mcast -s "$SP" g <"$T/over"
	[ "$status" -eq 65 ]
	[ "$output" = "sp-mcast: stdin: message 1: MESSAGE_TOO_LONG: $max bytes at most to 1 group (32 x groups + data <= 143152)" ]
	run sp-mcast -s "$SP" g1 g2 <"$T/max"
	[ "$status" -eq 65 ]
	[ "$output" = "sp-mcast: stdin: message 1: MESSAGE_TOO_LONG: $((max - 32)) bytes at most to 2 groups (32 x groups + data <= 143152)" ]
	[ ! -s "$T/peer.log" ]
	# The longest argument a kernel passes (128 KiB) fits.
	run sp-mcast -s "$SP" g -- ok "$(head -c 131071 /dev/zero | tr '\0' x)"
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(sed -n 4p "$T/peer.log")" = "mcast agreed 0 groups=1 len=131071" ]
}

@test "sp-mcast: bad input after good input: the good is sent, then exit 65" {
	start_peer -m accept
	run bash -c "{ echo ok; head -c 150000 /dev/zero | tr '\\0' x; echo; } | sp-mcast -s '$SP' g"
	[ "$status" -eq 65 ]
	[[ $output == "sp-mcast: stdin: message 2: MESSAGE_TOO_LONG: "* ]]
	wait_exit "$PEERPID"
	# What came before is sent, then a clean disconnect.
	[ "$(sed -n '3,$p' "$T/peer.log")" = "mcast agreed 0 g ok
kill
close" ]
	# Even with -q the refusal is said.
	start_peer -m accept
	run sp-mcast -q -N -s "$SP" g < <(msgns one; printf '9:bad')
	[ "$status" -eq 65 ]
	[ "$output" = "sp-mcast: stdin: message 2: malformed netstring" ]
	wait_exit "$PEERPID"
	[ "$(sed -n '3,$p' "$T/peer.log")" = "mcast agreed 0 g one
kill
close" ]
}

@test "sp-mcast: 100 groups are sent, 101 are refused with no byte sent" {
	local g=() i
	for i in $(seq 101); do g+=("g$i"); done
	start_peer -m accept
	run sp-mcast -s "$SP" "${g[@]}" -- x
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-mcast: 101 groups: ILLEGAL_GROUP: at most 100 groups per message" ]
	[[ ${lines[1]} == "usage: "* ]]
	[ ! -s "$T/peer.log" ]
	run sp-mcast -s "$SP" "${g[@]:0:100}" -- x
	[ "$status" -eq 0 ]
	wait_exit "$PEERPID"
	[ "$(grep -c '^mcast agreed 0 g1,g2,.*,g100 x$' "$T/peer.log")" -eq 1 ]
}

@test "sp-mcast: bad names, types and services are refused, exit 64" {
	start_peer -m accept
	run sp-mcast -s "$SP" "a b" -- x
	[ "$status" -eq 64 ]
	[[ $output == 'sp-mcast: group "a b": ILLEGAL_GROUP: '* ]]
	run sp-mcast -s "$SP" GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG -- x
	[ "$status" -eq 64 ]
	run sp-mcast -s "$SP" '#abcdefghijk#d' -- x
	[ "$status" -eq 64 ]
	run sp-mcast -s "$SP" -u abcdefghijk g -- x
	[ "$status" -eq 64 ]
	[[ $output == 'sp-mcast: private name "abcdefghijk": REJECT_ILLEGAL_NAME: '* ]]
	run sp-mcast -s "$SP" -T 32768 g -- x
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-mcast: -T: message type must be -32768..32767: 32768" ]
	run sp-mcast -s "$SP" -t fast g -- x
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = 'sp-mcast: service "fast": ILLEGAL_SERVICE: must be unreliable, reliable, fifo, causal, agreed or safe' ]
	[[ ${lines[1]} == "usage: "* ]]
	run sp-mcast -s "$SP"
	[ "$status" -eq 64 ]
	[ "${lines[0]}" = "sp-mcast: missing the group operand" ]
	[[ ${lines[1]} == "usage: sp-mcast "* ]]
	[ ! -s "$T/peer.log" ]
}

@test "sp-mcast: the daemon closing the session is CONNECTION_CLOSED, exit 69" {
	start_peer -w 1 -m drop
	run bash -c "{ echo one; while :; do echo more; done; } | sp-mcast -s '$SP' g"
	[ "$status" -eq 69 ]
	[[ $output == "sp-mcast: $SP: CONNECTION_CLOSED: "* ]]
}
