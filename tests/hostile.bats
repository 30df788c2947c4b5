#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Hostile and careless peers, careless operators (issue 14): descriptors
# 0-2 closed at start, files left behind, Unix sockets across a crash,
# idle and half-open connections, the pool of connections that have not
# finished their handshake and its limit per address, the sealed session
# table, and a sender that gets through while all of that goes on.
#
# Attackers are tests/helpers/hostile, bound to 127.0.0.2-9; the sender is
# on 127.0.0.1.  Every wait is a bounded poll of an observable state.

load helpers/relay
load helpers/spread

QUILT_NEEDS="quilt-relay quilt-ping quilt-keygen sp-join sp-mcast"

# closed SPEC PROG ARGS...: run PROG ARGS with the redirections SPEC (say
# '>&-') applied to it alone; output and status as bats' run gives them.
closed() {
	local spec=$1
	shift
	run --separate-stderr bash -c 'exec "$@" '"$spec" closed "$@"
}

# fd_is PID FD TARGET: /proc/PID/fd/FD points to TARGET.
fd_is() {
	[ "$(readlink "/proc/$1/fd/$2")" = "$3" ]
}

# ---- descriptors 0, 1, 2 ---------------------------------------------------

@test "fds 0 and 2 closed at start get /dev/null: quilt-listen listens on a socket of its own, quilt-send and quilt-ping work" {
	quilt-listen -P "$T/l.ready" 127.0.0.1:0 <&- 2>&- >"$T/l.out" 3>&- 4>&- &
	lpid=$!
	track "$lpid"
	wait_ready "$T/l.ready" "$lpid" l
	fd_is "$lpid" 0 /dev/null
	fd_is "$lpid" 2 /dev/null
	addr=$(head -n 1 "$T/l.ready")
	closed '<&- 2>&-' quilt-send "$addr" one two
	[ "$status" -eq 0 ]
	closed '<&- 2>&-' quilt-ping -c 1 "$addr"
	[ "$status" -eq 0 ]
	[[ $output == *"1 packets transmitted, 1 received"* ]]
	kill -TERM "$lpid"
	wait_exit "$lpid"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/l.out")" = "$(printf 'one\ntwo')" ]
}

@test "fds 0 and 2 closed at start: quilt-relay takes /dev/null, obeys SIGTERM (exit 0) and removes its ready file and control socket" {
	env --default-signal=INT,QUIT quilt-relay -n r -l 127.0.0.1:0 \
		-P "$T/r.ready" <&- 2>&- >"$T/r.out" 3>&- 4>&- &
	rpid=$!
	track "$rpid"
	wait_ready "$T/r.ready" "$rpid" r
	note_ctl "$T/r.ready"
	ctlsock=$(sed -n 's/^control unix://p' "$T/r.ready")
	[ -S "$ctlsock" ]
	fd_is "$rpid" 0 /dev/null
	fd_is "$rpid" 2 /dev/null
	kill -TERM "$rpid"
	wait_exit "$rpid" 10
	[ "$status" -eq 0 ]
	[ ! -e "$T/r.ready" ]
	[ ! -e "$ctlsock" ]
}

@test "fds 0 and 2 closed at start: sp-join and sp-mcast take /dev/null; quilt-keygen writes its key file" {
	start_relay d -l 127.0.0.1:0 -s 0
	port=$(sed -n 's/^spread //p' "$T/d.ready")
	echo "/tmp/$port" >>"$T/ctls"
	sp-join -s "$port" -P "$T/j.ready" g <&- 2>&- >"$T/j.out" 3>&- 4>&- &
	jpid=$!
	track "$jpid"
	wait_ready "$T/j.ready" "$jpid" j
	fd_is "$jpid" 0 /dev/null
	fd_is "$jpid" 2 /dev/null
	closed '<&- 2>&-' sp-mcast -s "$port" g -- hello
	[ "$status" -eq 0 ]
	wait_for file_has "$T/j.out" '^hello$'
	closed '<&- >&- 2>&-' quilt-keygen "$T/k"
	[ "$status" -eq 0 ]
	[ "$(wc -c <"$T/k")" -eq 65 ]
	grep -qE '^[0-9a-f]{64}$' "$T/k"
}

@test "a closed data descriptor is one line and exit 74 (quilt-ping: 2), before anything is sent or bound" {
	start_listener 127.0.0.1:0
	closed '>&-' quilt-listen -P "$T/x.ready" 127.0.0.1:0
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-listen: standard output is closed" ]
	[ ! -e "$T/x.ready" ]
	closed '<&-' quilt-send "$ADDR"
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-send: standard input is closed" ]
	closed '>&-' quilt-send "$ADDR" lost
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-send: standard output is closed" ]
	closed '>&-' quilt-ping -c 1 "$ADDR"
	[ "$status" -eq 2 ]
	[ "$stderr" = "quilt-ping: standard output is closed" ]
	closed '>&-' quilt-relay -n r -l 127.0.0.1:0
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-relay: standard output is closed" ]
	closed '>&-' sp-join -s 1 g
	[ "$status" -eq 74 ]
	[ "$stderr" = "sp-join: standard output is closed" ]
	closed '<&-' sp-join -i -s 1 g
	[ "$status" -eq 74 ]
	[ "$stderr" = "sp-join: standard input is closed" ]
	closed '<&-' sp-mcast -s 1 g
	[ "$status" -eq 74 ]
	[ "$stderr" = "sp-mcast: standard input is closed" ]
	closed '>&-' quilt-keygen -
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-keygen: standard output is closed" ]
	# nothing was sent
	stop_listener
	[ ! -s "$T/listen.out" ]
	# with -e, quilt-listen's own output is not used: closed is fine
	quilt-listen -e cat -P "$T/e.ready" 127.0.0.1:0 >&- 2>"$T/e.err" &
	epid=$!
	track "$epid"
	wait_ready "$T/e.ready" "$epid" e
	run quilt-send "$(head -n 1 "$T/e.ready")" echoed
	[ "$status" -eq 0 ]
	[ "$output" = echoed ]
}

# ---- files left behind, Unix sockets across a crash --------------------------

@test "quilt-listen: a fatal error (74: the reader of its output gone) removes the ready file and its Unix socket" {
	mkfifo "$T/out"
	head -n 1 <"$T/out" >"$T/got" 3>&- 4>&- &
	hpid=$!
	track "$hpid"
	LOUT=$T/out start_listener unix:"$T/l.sock"
	[ -S "$T/l.sock" ]
	run quilt-send unix:"$T/l.sock" first
	[ "$status" -eq 0 ]
	wait_exit "$hpid"
	[ "$(cat "$T/got")" = first ]
	run quilt-send -w 5 unix:"$T/l.sock" second
	wait_exit "$LPID"
	[ "$status" -eq 74 ]
	grep -q '^quilt-listen: stdout: the reader went away$' "$T/listen.err"
	[ ! -e "$T/listen.ready" ]
	[ ! -e "$T/l.sock" ]
}

@test "quilt-relay: a fatal error (74: the reader of its output gone) removes its ready file, control socket, /tmp/PORT of -s, and its listen child's Unix socket" {
	mkfifo "$T/rout"
	head -n 1 <"$T/rout" >"$T/got" 3>&- 4>&- &
	hpid=$!
	track "$hpid"
	ROUT=$T/rout start_relay r -l unix:"$T/r.sock" -s 0
	port=$(sed -n 's/^spread //p' "$T/r.ready")
	echo "/tmp/$port" >>"$T/ctls"
	ctlsock=$(sed -n 's/^control unix://p' "$T/r.ready")
	[ -S "/tmp/$port" ] && [ -S "$ctlsock" ] && [ -S "$T/r.sock" ]
	run quilt-send -d r unix:"$T/r.sock" first
	[ "$status" -eq 0 ]
	wait_exit "$hpid"
	[ "$(cut -f2 "$T/got")" = first ]
	run quilt-send -w 5 -d r unix:"$T/r.sock" second
	wait_exit "$RPID"
	[ "$status" -eq 74 ]
	grep -q '^quilt-relay: stdout: the reader went away$' "$T/r.err"
	[ ! -e "$T/r.ready" ]
	[ ! -e "$ctlsock" ]
	[ ! -e "/tmp/$port" ]
	wait_for -t 5 "[ ! -e '$T/r.sock' ]"
}

@test "sp-join: its daemon gone (a fatal end), the ready file is removed" {
	start_relay d -l 127.0.0.1:0 -s 0
	dpid=$RPID
	port=$(sed -n 's/^spread //p' "$T/d.ready")
	echo "/tmp/$port" >>"$T/ctls"
	start_join j -s "$port" -P "$T/j.ready" g
	wait_ready "$T/j.ready" "$JPID" j
	kill -KILL "$dpid"
	wait_exit "$JPID"
	[ "$status" -ne 0 ]
	[ ! -e "$T/j.ready" ]
}

@test "unix: a socket file a killed listener left is replaced at start; a live one is never taken over (71, one line); nor a file that is not a socket" {
	start_listener unix:"$T/s"
	kill -KILL "$LPID"
	wait_exit "$LPID"
	[ -S "$T/s" ]
	LNAME=l2 start_listener unix:"$T/s"
	run quilt-send unix:"$T/s" after-restart
	[ "$status" -eq 0 ]
	closed '' quilt-listen unix:"$T/s"
	[ "$status" -eq 71 ]
	[ "$stderr" = "quilt-listen: bind unix:$T/s: Address already in use: a live listener answers there, or the file is not a socket" ]
	# the live one still has its socket
	run quilt-send unix:"$T/s" still-there
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/l2.out")" = "$(printf 'after-restart\nstill-there')" ]
	echo data >"$T/f"
	closed '' quilt-listen unix:"$T/f"
	[ "$status" -eq 71 ]
	[ "$(cat "$T/f")" = data ]
}

# The first listener writes into a fifo read by a gate that stops after
# 50000 lines (the data decides when the crash comes); a restarted listener
# writes to a file of its own (as send.bats does over TCP).
@test "unix: kill -9 of the listener at 50000 lines, restarted on its path: quilt-send -r writes every message, duplicates only within the window" {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 50000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener unix:"$T/c.sock"
	seq 1 100000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -r -v unix:"$T/c.sock"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -KILL "$LPID"
	wait_exit "$LPID"
	kill -CONT "$gpid"
	LNAME=listen2 start_listener unix:"$T/c.sock"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 0 ]
	[ "$(counter reconnects "$T/send.err")" -ge 1 ]
	stop_listener
	[ "$status" -eq 0 ]
	wait_exit "$gpid"
	# 1..K from the first listener, then J..100000 from the second
	k=$(count_lines "$T/gate.out")
	head -n "$k" "$T/gate.out" | cmp - <(seq 1 "$k")
	j=$(head -n 1 "$T/listen2.out")
	echo "first listener wrote 1..$k, the second from $j"
	[ "$k" -ge 50000 ]
	[ "$j" -ge 1 ] && [ "$j" -le $((k + 1)) ]
	cmp "$T/listen2.out" <(seq "$j" 100000)
	[ $((k - j + 1)) -le "$(counter resends "$T/send.err")" ]
}

@test "unix: a relay's listen child killed with kill -9 is restarted on the same path, and takes connections again" {
	start_relay r -l unix:"$T/r.sock"
	run quilt-send -d r unix:"$T/r.sock" before
	[ "$status" -eq 0 ]
	old=$(children "$RPID" | awk '$2 ~ /(^|\/)quilt-listen$/ && $3 == "-C" { print $1 }')
	[ -n "$old" ]
	kill -KILL "$old"
	wait_for "children $RPID | awk '\$2 ~ /(^|\\/)quilt-listen\$/ && \$3 == \"-C\" && \$1 != $old { f = 1 } END { exit !f }'"
	run quilt-send -r -w 10 -d r unix:"$T/r.sock" after
	[ "$status" -eq 0 ]
	wait_for file_has "$T/r.out" 'after$'
	[ "$(cut -f2 "$T/r.out")" = "$(printf 'before\nafter')" ]
	! grep -q 'Address already in use' "$T/r.err"
	# one restart was enough
	[ "$(grep -c 'quilt-listen (unix:.*): .*restarting' "$T/r.err")" -eq 1 ]
}

# ---- idle time, the end before the hello ------------------------------------

# idle_cuts FILE ADDR: how many "nothing received" lines FILE (a listener's
# -v stderr) has for peers of address ADDR.
idle_cuts() {
	grep -cE "^quilt-listen: $2:[0-9]+: nothing received for [0-9]+ ms: closed\$" "$1"
}

@test "-i: a peer that says its hello and then nothing, or nothing at all, is closed after the idle time, not before; a raw peer too" {
	start_listener -v -i 0.5 127.0.0.1:0
	start_helper h hostile -v -m hello -n 2 -s 2-2 "$ADDR"
	start_helper i hostile -v -m idle -n 2 -s 3-3 "$ADDR"
	wait_for "lines_at_least '$T/h.out' 2 && lines_at_least '$T/i.out' 2"
	[ "$(idle_cuts "$T/listen.err" 127.0.0.2)" -ge 2 ]
	[ "$(idle_cuts "$T/listen.err" 127.0.0.3)" -ge 2 ]
	# after the idle time, and long before the hello timeout (5 s)
	sed -nE 's/.*nothing received for ([0-9]+) ms: closed$/\1/p' "$T/listen.err" >"$T/ms"
	cat "$T/ms"
	[ "$(awk '$1 < 500 || $1 >= 4000' "$T/ms" | wc -l)" -eq 0 ]
	LNAME=raw start_listener -R -v -i 0.5 127.0.0.1:0
	start_helper r hostile -v -m idle -n 1 -s 4-4 "$ADDR"
	wait_for lines_at_least "$T/r.out" 1
	[ "$(idle_cuts "$T/raw.err" 127.0.0.4)" -ge 1 ]
}

@test "-i: a quiet sender keeps its connection with nop frames (tail -f | quilt-send), before and after its bye, while an idle peer beside it is cut" {
	export GO=$T/go
	start_listener -v -i 1 -e 'cat; for i in $(seq 600); do [ -e "$GO" ] && break; sleep 0.05; done; echo late' 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send -v "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo first >&5
	wait_for file_has "$T/send.out" '^first$'
	# an idle peer beside it, cut three times: three idle times pass (it
	# must not hold the pipe's writing end)
	start_helper h hostile -v -m hello -n 1 -s 2-2 "$ADDR" 5>&-
	wait_for lines_at_least "$T/h.out" 3
	echo second >&5
	wait_for file_has "$T/send.out" '^second$'
	# its input ends: bye; the handler goes on, three idle times more
	exec 5>&-
	: >"$T/h.out"
	wait_for lines_at_least "$T/h.out" 3
	touch "$GO"
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/send.out")" = "$(printf 'first\nsecond\nlate')" ]
	[ "$(idle_cuts "$T/listen.err" 127.0.0.1)" -eq 0 ]
	[ "$(idle_cuts "$T/listen.err" 127.0.0.2)" -ge 6 ]
}

@test "an end of stream before the hello frees the connection's place at once, not at the hello timeout" {
	QUILT_HELLO_TIMEOUT=60000 start_listener -v 127.0.0.1:0
	base=$(ls "/proc/$LPID/fd" | wc -l)
	start_helper idle idleconn -n 12 "$ADDR"
	wait_for "[ \$(ls /proc/$LPID/fd | wc -l) -ge $((base + 12)) ]"
	kill -TERM "$HPID"
	wait_for -t 5 "[ \$(ls /proc/$LPID/fd | wc -l) -le $base ]"
	[ "$(grep -c ': closed before its hello$' "$T/listen.err")" -eq 12 ]
}

@test "a peer that ends inside a frame frees its slot at once (-c 2: peers that send half a frame and close, over and over); a sender gets through" {
	start_listener -v -c 2 127.0.0.1:0
	start_helper p hostile -m partial -n 2 -s 2-2 -w 50 "$ADDR"
	wait_for "[ \$(grep -c '^quilt-listen: 127\.0\.0\.2:[0-9]*: connection cut inside a frame\$' '$T/listen.err') -ge 6 ]"
	run timeout 20 quilt-send -w 10 "$ADDR" through
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = through ]
}

# ---- the handshake pool ---------------------------------------------------------

@test "the handshake pool: one address holds a quarter of it (16 with -c 40); the next from it is refused busy; others come in" {
	start_listener -v 127.0.0.1:0
	start_helper h hostile -m idle -n 16 -s 2-2 "$ADDR"
	run timeout 10 nc -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null
	[[ $output == *"5:error,57:too many connections in their handshake from this address,4:busy,," ]]
	run timeout 10 quilt-send -w 5 "$ADDR" through
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = through ]
}

@test "the handshake pool, full (64 with -c 40): the oldest handshake of the address holding the most makes room; a sender gets through" {
	# a backlog for all, and no hello timeout meanwhile
	QUILT_HELLO_TIMEOUT=60000 start_listener -v -b 100 127.0.0.1:0
	start_helper h hostile -v -m idle -n 64 -s 2-5 "$ADDR"
	# the pool is full
	wait_for "[ \$(grep -c ': connected\$' '$T/listen.err') -ge 64 ]"
	start_helper n hostile -v -m idle -n 4 -s 6-6 "$ADDR"
	# four of the first 64 were dropped for the newcomers, and told why
	wait_for "[ \$(grep -c 'the listener is busy: too many connections in their handshake\$' '$T/listen.err') -ge 4 ]"
	[ ! -s "$T/n.out" ]
	! grep -q '^quilt-listen: 127\.0\.0\.6:.*busy' "$T/listen.err"
	run timeout 20 quilt-send -w 10 "$ADDR" through
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = through ]
}

# ---- a sender under attack ------------------------------------------------------

# attacked_send: seq 100000 | quilt-send -w 30 ARGS... $ADDR exits 0 and the
# listener wrote 1..100000 once each, in order.
attacked_send() {
	seq 100000 >"$T/in"
	run timeout 60 quilt-send -w 30 "$@" "$ADDR" <"$T/in"
	echo "$output"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	cmp "$T/in" "$T/listen.out"
}

@test "under attack (40 peers idle after their hello, closers before it, silent ones): quilt-send -w 30 of 100000 messages exits 0, every message once" {
	QUILT_HELLO_TIMEOUT=60000 start_listener -i 2 127.0.0.1:0
	start_helper h hostile -m hello -n 40 -s 2-5 "$ADDR"
	start_helper e hostile -m eof -n 20 -s 6-6 "$ADDR"
	start_helper i hostile -m idle -n 60 -s 7-9 "$ADDR"
	attacked_send
}

@test "under attack (-k, -c 1100: 1024 sealed hellos held unconfirmed, 100 keyless peers in a loop): quilt-send -k -w 30 of 100000 messages exits 0, every message once" {
	quilt-keygen "$T/k"
	# a backlog for the burst of 1024 connections; the handshakes are
	# held open (no hello timeout meanwhile)
	QUILT_HELLO_TIMEOUT=60000 start_listener -k "$T/k" -c 1100 -b 1024 127.0.0.1:0
	start_helper s hostile -m sealed -n 1024 -s 2-5 "$ADDR"
	start_helper k hostile -m keyless -n 100 -s 6-9 "$ADDR"
	attacked_send -k "$T/k"
}

@test "-i: a quiet link between relays is kept with nop frames (QUILT_IDLE_TIMEOUT=1000), while an idle peer beside it is cut" {
	export QUILT_IDLE_TIMEOUT=1000
	start_relay a -v -l 127.0.0.1:0
	a=$RADDR
	start_relay b -v -l 127.0.0.1:0 "$a"
	b=$RADDR
	wait_for "quilt-ping -c 1 -W 1 -d a '$b' >/dev/null 2>&1"
	# three idle times pass: an idle peer of a's is cut three times
	start_helper h hostile -v -m hello -n 1 -s 2-2 "$a"
	wait_for lines_at_least "$T/h.out" 3
	# the links stayed up all along, and answer
	[ "$(grep -c 'link to . down' "$T/a.err" "$T/b.err" | awk -F: '{n += $2} END {print n}')" -eq 0 ]
	run quilt-ping -c 1 -W 5 -d a "$b"
	[ "$status" -eq 0 ]
	run quilt-ping -c 1 -W 5 -d b "$a"
	[ "$status" -eq 0 ]
}
