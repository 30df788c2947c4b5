#!/usr/bin/env bats
# sp-join and sp-mcast against a real Spread daemon (4.0.0, 4.4.0 or
# 5.0.1, built outside this repository), and against Spread's own spuser.
# Skipped unless SPREAD_PREFIX names an installation ($SPREAD_PREFIX/sbin/
# spread, $SPREAD_PREFIX/bin/spuser).  One daemon serves the whole file;
# each test uses its own group and private names.

load helpers/common
load helpers/spread
load helpers/spread-daemon

setup_file() {
	if [ -n "${SPREAD_PREFIX:-}" ] && [ -x "$SPREAD_PREFIX/sbin/spread" ]; then
		spread_start
	fi
}

teardown_file() {
	spread_stop
}

setup() {
	spread_skip_unless
	QUILT_NEEDS="sp-join sp-mcast" setup_quilt
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
