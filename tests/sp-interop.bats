#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# sp-join and sp-mcast against a real Spread daemon (4.0.0, 4.4.0 or
# 5.0.1, built outside this repository), and against Spread's own spuser.
# Skipped unless SPREAD_PREFIX names an installation ($SPREAD_PREFIX/sbin/
# spread, $SPREAD_PREFIX/bin/spuser).  One daemon serves the whole file;
# each test uses its own group and private names.

load helpers/common
load helpers/spread
load helpers/spread-daemon
load helpers/spread-session

setup_file() {
	if [ "${SPREAD_DAEMON:-}" = quilt ] ||
		{ [ -n "${SPREAD_PREFIX:-}" ] && [ -x "$SPREAD_PREFIX/sbin/spread" ]; }; then
		spread_start
	fi
}

teardown_file() {
	spread_stop
}

setup() {
	spread_skip_unless
	QUILT_NEEDS="sp-join sp-mcast" setup_quilt
	# The daemon under test.  The sp-join -i tests below use only $D and
	# the private groups the sessions are given (their ready files), so
	# that they run against any daemon of the Spread protocol.
	D=$SPREAD_PORT@127.0.0.1
	G=g$BATS_TEST_NUMBER		# this test's group
	N=$BATS_TEST_NUMBER		# suffix of its private names
}

# join_ready NAME ARGS...: sp-join -P ... ARGS in the background, waiting
# until the daemon has confirmed its joins.
join_ready() {
	local name=$1
	shift
	start_join "$name" -P "$T/$name.ready" "$@"
	wait_ready "$T/$name.ready" "$JPID" "$name"
}

@test "sp-mcast -> sp-join: every service type, message type, sender" {
	local s
	join_ready rx -f -s "$D" -u "rx$N" "$G"
	[ "$(cat "$T/rx.ready")" = "#rx$N#localhost" ]
	for s in unreliable reliable fifo causal agreed safe; do
		sp-mcast -s "$D" -u "tx$N" -t "$s" -T -3 "$G" -- "m-$s"
	done
	wait_for lines_at_least "$T/rx.out" 6
	stop_join
	[ "$status" -eq 0 ]
	[ "$(cat "$T/rx.out")" = "$(for s in unreliable reliable fifo causal agreed safe; do
		printf '%s\t#tx%s#localhost\t%s\t-3\t0\tm-%s\n' "$s" "$N" "$G" "$s"
	done)" ]
}

@test "sp-mcast -> sp-join: lines from standard input, and -N both ways" {
	join_ready rx -N -s "$D" "$G"
	printf 'one\ntwo\tT\n' | sp-mcast -s "$D" "$G"
	{ msgns "a
b"; msgns ""; } | sp-mcast -N -s "$D" "$G"
	wait_for file_has "$T/rx.out" '3:0:,,$'
	stop_join
	[ "$(cat "$T/rx.out")" = "$(msgns one)$(msgns "two	T")$(msgns "a
b")$(msgns "")" ]
}

@test "membership events on join, leave and disconnect" {
	join_ready obs -m -s "$D" -u "obs$N" "$G"
	join_ready p1 -s "$D" -u "p1$N" "$G"
	stop_join TERM			# leaves, then disconnects
	[ "$status" -eq 0 ]
	join_ready p2 -s "$D" -u "p2$N" "$G"
	kill -KILL "$JPID"		# gone without a word
	wait_for lines_at_least "$T/obs.out" 5
	[ "$(cut -f1,2,3,5,6 "$T/obs.out")" = "$(printf '%s\n' \
		"memb	join	$G	#obs$N#localhost	#obs$N#localhost" \
		"memb	join	$G	#obs$N#localhost #p1$N#localhost	#p1$N#localhost" \
		"memb	leave	$G	#obs$N#localhost	#p1$N#localhost" \
		"memb	join	$G	#obs$N#localhost #p2$N#localhost	#p2$N#localhost" \
		"memb	disconnect	$G	#obs$N#localhost	#p2$N#localhost")" ]
	# The group id: the same daemon membership, index 1 to 5.
	[ "$(cut -f4 "$T/obs.out" | cut -d. -f3 | tr '\n' ' ')" = "1 2 3 4 5 " ]
}

@test "sp-join -j -m: membership and messages as JSON lines" {
	join_ready rx -j -m -s "$D" -u "rx$N" "$G"
	sp-mcast -s "$D" -u "tx$N" -T 9 "$G" -- 'say "hi"'
	wait_for lines_at_least "$T/rx.out" 2
	stop_join
	[[ $(sed -n 1p "$T/rx.out") == '{"kind":"memb","reason":"join","group":"'"$G"'","group_id":['* ]]
	[ "$(sed -n 2p "$T/rx.out")" = '{"kind":"msg","service":"agreed","sender":"#tx'"$N"'#localhost","groups":["'"$G"'"],"msg_type":9,"endian":0,"data":"say \"hi\""}' ]
}

@test "multigroup: one message to two groups, one copy per receiver" {
	join_ready a -f -s "$D" "$G-a"
	join_ready b -f -s "$D" "$G-b"
	join_ready ab -f -s "$D" "$G-a" "$G-b"
	sp-mcast -s "$D" -u "tx$N" "$G-a" "$G-b" nobody -- multi
	sp-mcast -s "$D" -u "tx$N" "$G-b" -- end
	for j in b ab; do wait_for file_has "$T/$j.out" "end\$"; done
	wait_for lines_at_least "$T/a.out" 1
	[ "$(cat "$T/a.out")" = "agreed	#tx$N#localhost	$G-a $G-b nobody	0	0	multi" ]
	[ "$(cat "$T/ab.out")" = "agreed	#tx$N#localhost	$G-a $G-b nobody	0	0	multi
agreed	#tx$N#localhost	$G-b	0	0	end" ]
	[ "$(cat "$T/b.out")" = "$(cat "$T/ab.out")" ]
}

@test "self-discard: receivers see the flag; the sender's own copy is dropped" {
	join_ready rx -f -s "$D" "$G"
	sp-mcast -s "$D" -u "tx$N" -x "$G" -- sd
	# A message to its own private group comes back to sp-mcast, which
	# ignores it; with -x the daemon sends it nothing.
	sp-mcast -s "$D" -u "tx$N" "#tx$N#localhost" -- to-self
	sp-mcast -s "$D" -u "tx$N" -x "#tx$N#localhost" -- to-self
	wait_for lines_at_least "$T/rx.out" 1
	stop_join
	[ "$(cat "$T/rx.out")" = "agreed+self-discard	#tx$N#localhost	$G	0	0	sd" ]
}

@test "private group: a point-to-point message to sp-join" {
	join_ready rx -f -s "$D" -u "rx$N" "$G"
	sp-mcast -s "$D" -u "tx$N" -t fifo "$(cat "$T/rx.ready")" -- p2p
	wait_for lines_at_least "$T/rx.out" 1
	stop_join
	[ "$(cat "$T/rx.out")" = "fifo	#tx$N#localhost	#rx$N#localhost	0	0	p2p" ]
}

@test "the Unix socket /tmp/PORT and the largest body" {
	local max=$((143152 - 32))
	join_ready rx -N -s "$SPREAD_PORT" "$G"
	head -c $max /dev/zero | tr '\0' x | sp-mcast -s "$SPREAD_PORT" "$G"
	sp-mcast -s "$SPREAD_PORT" "$G" -- end
	wait_for file_has "$T/rx.out" "3:end,,\$"
	stop_join
	[ "$(wc -c <"$T/rx.out")" -eq $((7 + 7 + max + 2 + 9)) ]
	kill -0 "$SPREAD_PID"	# the daemon is alive
}

@test "a private name in use: REJECT_NOT_UNIQUE from the daemon, exit 69" {
	join_ready rx -s "$D" -u "dup$N" "$G"
	run sp-mcast -s "$D" -u "dup$N" "$G" -- x
	[ "$status" -eq 69 ]
	[ "$output" = "sp-mcast: $D: REJECT_NOT_UNIQUE: private name already in use on the daemon" ]
}

@test "spuser -> sp-join, and sp-mcast -> spuser" {
	[ -x "$SPREAD_PREFIX/bin/spuser" ] || skip "no spuser in $SPREAD_PREFIX/bin"
	join_ready rx -f -s "$D" "$G"
	printf 'j %s\ns %s\nfrom-spuser\nq\n' "$G" "$G" |
		"$SPREAD_PREFIX/bin/spuser" -u "spa$N" -s "$D" >"$T/spa.out" 2>&1
	wait_for file_has "$T/rx.out" from-spuser
	stop_join
	[ "$(cat "$T/rx.out")" = "safe	#spa$N#localhost	$G	1	0	from-spuser\\n" ]

	mkfifo "$T/spu.in"
	exec 5<>"$T/spu.in"
	"$SPREAD_PREFIX/bin/spuser" -u "spb$N" -s "$D" <"$T/spu.in" \
		>"$T/spb.out" 2>&1 3>&- &
	track $!
	echo "j $G" >&5
	wait_for file_has "$T/spb.out" "Due to the JOIN of #spb$N#localhost"
	sp-mcast -s "$D" -u "tx$N" -t fifo -T -5 "$G" -- hello-spuser
	wait_for file_has "$T/spb.out" "hello-spuser"
	echo q >&5
	exec 5>&-
	grep -q "received FIFO message from #tx$N#localhost, of type -5, (endian 0) to 1 groups" "$T/spb.out"
	grep -q "(12 bytes): hello-spuser" "$T/spb.out"
}

# --- sp-join -i: one session that receives and sends -------------------

@test "sp-join -i: a coprocess joins, says something in its group, reads it back" {
	coproc SJ { exec sp-join -i -f -u "co$N" -s "$D" 2>"$T/co.err" 3>&- 4>&-; }
	track "$SJ_PID"
	echo "join $G" >&"${SJ[1]}"
	echo "msg agreed -4 $G hello, me" >&"${SJ[1]}"
	read -r -t "$WAIT_TIMEOUT" line <&"${SJ[0]}"
	[[ $line == "agreed	#co$N#"*"	$G	-4	0	hello, me" ]]
	local pid=$SJ_PID
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$status" -eq 0 ]
	[ ! -s "$T/co.err" ]
}

@test "sp-join -i: self-discard keeps its own copy away, others get it" {
	join_ready rx -f -s "$D" "$G"
	start_session s -s "$D" "$G"
	say s "msg agreed+self-discard 1 $G not-to-me" "msg agreed 2 $G to-all"
	wait_for lines_at_least "$T/s.out" 1
	wait_for lines_at_least "$T/rx.out" 2
	local S
	S=$(pg s)
	stop_session s
	[ "$status" -eq 0 ]
	[ "$(cat "$T/s.out")" = to-all ]
	[ "$(cat "$T/rx.out")" = "agreed+self-discard	$S	$G	1	0	not-to-me
agreed	$S	$G	2	0	to-all" ]
}

@test "sp-join -i -e: 1000 of its own FIFO messages come back in order" {
	{ echo "join $G"; seq -f "msg fifo 0 $G %g" 1000; } >"$T/in"
	run --separate-stderr sp-join -i -e -s "$D" <"$T/in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$(seq 1000)" ]
}

@test "sp-join -i -m: a join during the session, others' joins, its leave" {
	start_session a -m -s "$D" -u "a$N"
	say a "join $G"
	wait_for lines_at_least "$T/a.out" 1
	join_ready b -s "$D" -u "b$N" "$G"
	wait_for lines_at_least "$T/a.out" 2
	say a "leave $G"
	wait_for lines_at_least "$T/a.out" 3
	local A B
	A=$(pg a) B=$(cat "$T/b.ready")
	stop_session a
	[ "$status" -eq 0 ]
	[ "$(cut -f1,2,3,5,6 "$T/a.out")" = "$(printf '%s\n' \
		"memb	join	$G	$A	$A" \
		"memb	join	$G	$A $B	$B" \
		"memb	self-leave	$G		")" ]
}

@test "sp-join -i: after its leave, no more messages of the group" {
	start_session a -m -f -s "$D" "$G" "$G-2"
	start_session b -s "$D"
	say b "msg fifo 0 $G one"
	wait_for file_has "$T/a.out" 'one$'
	say a "leave $G"
	wait_for file_has "$T/a.out" "self-leave	$G"
	# b's messages keep their order: had a still been in $G, "two"
	# would come before "three".
	say b "msg fifo 0 $G two" "msg fifo 0 $G-2 three"
	wait_for file_has "$T/a.out" 'three$'
	stop_session a
	[ "$(grep -c '^msg' "$T/a.out")" -eq 2 ]
	[ "$(grep '^msg' "$T/a.out" | cut -f7)" = "one
three" ]
}

@test "sp-join -i: at the end of its input it goes on receiving" {
	start_session a -m -s "$D"
	say a "join $G"
	wait_for lines_at_least "$T/a.out" 1
	end_input a
	sp-mcast -s "$D" "$G" -- after-the-end
	wait_for file_has "$T/a.out" 'after-the-end$'
	proc_alive "$(spid a)"
	stop_session a
	[ "$status" -eq 0 ]
}

@test "sp-join -i: a bad request: what came before is sent, exit 65" {
	join_ready rx -s "$D" "$G"
	run --separate-stderr sp-join -i -s "$D" < <(printf '%s\n' \
		"msg safe 0 $G sent" "msg safe zero $G not-sent")
	[ "$status" -eq 65 ]
	[ "$stderr" = 'sp-join: stdin: line 2: message type "zero": must be -32768..32767' ]
	sp-mcast -s "$D" "$G" -- end
	wait_for file_has "$T/rx.out" '^end$'
	[ "$(cat "$T/rx.out")" = "sent
end" ]
}

@test "sp-join -i -N: a text with a newline and a NUL" {
	local rc=0
	{ ns msg; ns agreed; ns 0; ns "$G"; printf '5:a\nb\0c,'; } >"$T/parts"
	{
		msgns join "$G"
		printf '%d:' "$(wc -c <"$T/parts")"
		cat "$T/parts"
		printf ','
	} >"$T/in"
	sp-join -i -e -N -s "$D" <"$T/in" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s "$T/err" ]
	printf '8:5:a\nb\0c,,' >"$T/want"
	cmp "$T/want" "$T/out"
}

@test "two sp-join -i sessions talk: one order of both, and a private reply" {
	start_session a -m -f -s "$D" -u "a$N" "$G"
	start_session b -m -f -s "$D" -u "b$N" "$G"
	wait_for "grep -c '^memb' '$T/a.out' | grep -qx 2"
	local A B i
	A=$(pg a) B=$(pg b)
	for i in 1 2 3; do
		say a "msg agreed 0 $G a$i"
		say b "msg agreed 0 $G b$i"
	done
	wait_for "[ \$(grep -c '^msg' '$T/a.out') -ge 6 ]"
	wait_for "[ \$(grep -c '^msg' '$T/b.out') -ge 6 ]"
	# AGREED: both see the six in the same order.
	[ "$(grep '^msg' "$T/a.out")" = "$(grep '^msg' "$T/b.out")" ]
	[ "$(grep '^msg' "$T/a.out" | cut -f3 | sort | uniq -c | tr -s ' ')" = "$(printf ' 3 %s\n 3 %s' "$A" "$B" | sort)" ]
	# a asks b, on b's private group; b answers on a's.
	say a "msg fifo 5 $B ping?"
	wait_for file_has "$T/b.out" 'ping\?$'
	say b "msg fifo 6 $A pong!"
	wait_for file_has "$T/a.out" 'pong!$'
	[ "$(grep 'ping?$' "$T/b.out")" = "msg	fifo	$A	$B	5	0	ping?" ]
	[ "$(grep 'pong!$' "$T/a.out")" = "msg	fifo	$B	$A	6	0	pong!" ]
	stop_session b
	[ "$status" -eq 0 ]
	wait_for file_has "$T/a.out" "^memb	leave	$G"
	stop_session a
	[ "$status" -eq 0 ]
}

@test "spflooder: 2000 messages of 1000 bytes to a member that counts them all" {
	[ -x "$SPREAD_PREFIX/bin/spflooder" ] || skip "no spflooder in $SPREAD_PREFIX/bin"
	join_ready rx -s "$D" -u "rx$N" flooder
	run --separate-stderr "$SPREAD_PREFIX/bin/spflooder" -u "fl$N" -s "$D" -m 2000 -b 1000 -wo
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/rx.out" 2000
	stop_join
	[ "$(count_lines "$T/rx.out")" -eq 2000 ]
}
