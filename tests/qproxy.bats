#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# The fault proxy of the test suite (tests/helpers/qproxy.c) does what the
# other suites rely on: forwards both ways, carries half-closes, serves one
# connection after another, restarts on a given port, and injects exactly
# the faults asked for.  Driven with rawclient against quilt-listen -R.

load helpers/common

# A raw listener whose handler keeps what it receives, and answers "ok".
start_sink() {
	start_listener -R -e "cat >'$T/got.'\$TCPREMOTEPORT; echo ok" 127.0.0.1:0
}

# got: what the one connection so far delivered to the handler.
got() {
	cat "$T"/got.*
}

@test "qproxy: forwards both ways and carries the client's half-close" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf 'hello\nproxy\n')
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'hello\nproxy')" ]
}

@test "qproxy: one connection after another, and -v counts the bytes" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy -v "$ADDR"
	for i in 1 2 3; do
		run timeout 10 rawclient "$PXADDR" < <(echo "round $i")
		[ "$status" -eq 0 ]
		[ "$output" = "round $i" ]
	done
	wait_for "[ \$(grep -c 'bytes client->server' '$T/proxy.err') -eq 3 ]"
	grep -q '^qproxy: connection 3: 8 bytes client->server, 8 bytes server->client$' "$T/proxy.err"
}

@test "qproxy -f cut=N: N bytes reach the server, then both sides are closed" {
	start_sink
	start_proxy -f cut=5 "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf '0123456789\n')
	wait_for "[ -e '$T'/got.* ] && [ \"\$(got)\" = 01234 ]"
}

@test "qproxy -f flip=N and drop=OFF:LEN alter the client's stream there only" {
	start_sink
	start_proxy -f flip=2 -f drop=5:2 "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf '0123456789\n')
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ "$(got)" = 01334789 ]
}

@test "qproxy -f replay=OFF:LEN sends those bytes a second time" {
	start_sink
	start_proxy -f replay=2:3 "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf '0123456789\n')
	[ "$status" -eq 0 ]
	[ "$(got)" = 0123423456789 ]
}

@test "qproxy -f flipback=N alters the server's stream" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy -f flipback=1 "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf 'abc\n')
	[ "$status" -eq 0 ]
	[ "$output" = acc ]
}

@test "qproxy -n 1: the faults hit the first connection only" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy -n 1 -f flipback=0 "$ADDR"
	run timeout 10 rawclient "$PXADDR" < <(printf 'bbc\n')
	[ "$output" = cbc ]
	run timeout 10 rawclient "$PXADDR" < <(printf 'bbc\n')
	[ "$output" = bbc ]
}

@test "qproxy -p PORT: killed, it starts again on the same port" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy "$ADDR"
	port=$PXPORT
	run timeout 10 rawclient "$PXADDR" < <(echo before)
	[ "$output" = before ]
	kill -KILL "$PXPID"
	wait_exit "$PXPID"
	start_proxy -p "$port" "$ADDR"
	[ "$PXPORT" = "$port" ]
	run timeout 10 rawclient "$PXADDR" < <(echo after)
	[ "$output" = after ]
}

@test "qproxy -f lose=NODE:NBR: NODE's first route record without NBR, after one with it, is taken out whole, once; the server's acks from it on count it; a message over 64 KiB streams through, numbered" {
	start_listener -R -e cat 127.0.0.1:0
	start_proxy -v -f lose=n2:n1 "$ADDR"
	printf -v big '%70000s' ''
	hello=$(msgns '' hello quilt 1-1 node=n2 \
		session=00112233445566778899aabbccddeeff max=16777216 sealed=0 \
		from=0 relay=abc)
	r1=$(msgns '' route n2 abc 1 198.18.0.2:1 n1 n3 +life=6000)
	alive=$(msgns '' alive 1000)
	msg=$(msgns n3 msg n2 00 1 - "${big// /x}")
	other=$(msgns '' route n4 abd 1 198.18.0.4:1 n2 +life=6000)
	r2=$(msgns '' route n2 abc 2 198.18.0.2:1 n3 +life=6000)
	r3=$(msgns '' route n2 abc 3 198.18.0.2:1 n3 +life=6000)
	# (the echo's acks: the lost record was the 4th numbered frame,
	# the alive is not numbered)
	acks=$(msgns '' ack 2)$(msgns '' ack 3)$(msgns '' ack 4)$(msgns '' ack 5)
	run timeout 10 rawclient "$PXADDR" < <(printf '%s' "$hello$r1$alive$msg$other$r2$r3$acks")
	[ "$status" -eq 0 ]
	want=$hello$r1$alive$msg$other$r3
	want+=$(msgns '' ack 2)$(msgns '' ack 4)$(msgns '' ack 5)$(msgns '' ack 6)
	[ "$output" = "$want" ]
	sent=$hello$r1$alive$msg$other$r3$acks
	wait_for file_has "$T/proxy.err" 'bytes client->server'
	[ "$(cat "$T/proxy.err")" = "qproxy: connection 1: route of n2, sequence 1 (n1 n3): passed
qproxy: connection 1: route of n2, sequence 2 (n3): lost
qproxy: connection 1: route of n2, sequence 3 (n3): passed
qproxy: connection 1: ${#sent} bytes client->server, ${#want} bytes server->client" ]
}
