#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-listen: the ready file, port selection, address families, many
# senders, -b/-c, the hello timeout, -e handlers and their environment, -R
# raw mode, bad peers, and controlled shutdown (SIGTERM/SIGINT, the drain
# deadline).

load helpers/common

# A handler that prints its UCSPI environment, one VAR=value a line.
ucspi_tcp='cat >/dev/null
for v in PROTO TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT QUILTREMOTENODE; do
	eval "echo $v=\${$v-unset}"
done'

# ---- ready file, addresses, ports -------------------------------------------

@test "ready file: one line 127.0.0.1:PORT, written by rename, removed on a clean exit" {
	mkdir "$T/r"
	env --default-signal=INT quilt-listen ${QUILT_SEAL_KEY:+-k "$QUILT_SEAL_KEY"} \
		-P "$T/r/ready" 127.0.0.1:0 \
		>"$T/listen.out" 2>"$T/listen.err" </dev/null 3>&- &
	LPID=$!
	track "$LPID"
	wait_ready "$T/r/ready" "$LPID" listen
	[ "$(wc -l <"$T/r/ready")" -eq 1 ]
	addr=$(cat "$T/r/ready")
	[[ $addr =~ ^127\.0\.0\.1:([0-9]+)$ ]]
	port=${BASH_REMATCH[1]}
	[ "$port" -gt 0 ]
	[ "$port" -le 65535 ]
	# no temporary file left beside it
	[ "$(ls -A "$T/r")" = ready ]
	grep -qx "quilt-listen: listening on $addr" "$T/listen.err"
	# the address works as written
	run quilt-send "$addr" hello
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ ! -e "$T/r/ready" ]
	[ "$(ls -A "$T/r")" = "" ]
	[ "$(cat "$T/listen.out")" = hello ]
}

@test "-q: the listening line is not said" {
	start_listener -q 127.0.0.1:0
	run quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ ! -s "$T/listen.err" ]
}

@test "SIGINT is a clean exit too: 0, ready file removed" {
	start_listener 127.0.0.1:0
	run quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	kill -INT "$LPID"
	wait_exit "$LPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/listen.ready" ]
}

@test "port 0 gives a different free port each time" {
	start_listener 127.0.0.1:0
	a=$PORT
	LNAME=l2 start_listener 127.0.0.1:0
	[ "$a" != "$PORT" ]
}

@test "a MIN-MAX range binds a free port inside it" {
	lo=$((20000 + RANDOM % 9000))
	hi=$((lo + 99))
	start_listener "127.0.0.1:$lo-$hi"
	[[ $ADDR =~ ^127\.0\.0\.1:[0-9]+$ ]]
	[ "$PORT" -ge "$lo" ]
	[ "$PORT" -le "$hi" ]
	p1=$PORT
	LNAME=l2 start_listener "127.0.0.1:$lo-$hi"
	[ "$PORT" -ge "$lo" ]
	[ "$PORT" -le "$hi" ]
	[ "$PORT" != "$p1" ]
	run quilt-send "$ADDR" ranged
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/l2.out")" = ranged ]
}

@test "default address :1601 (skipped when the port is taken here)" {
	# It runs quilt-listen in the background itself: the sealed pass's
	# wrapper would put a shell between the test and the program.
	skip_if_sealed "starts its own background listener"
	if nc -z 127.0.0.1 1601 2>/dev/null; then
		skip "port 1601 is in use on this machine"
	fi
	quilt-listen -P "$T/ready" >"$T/listen.out" 2>"$T/listen.err" \
		</dev/null 3>&- &
	LPID=$!
	track "$LPID"
	wait_for "[ -s '$T/ready' ] || ! proc_alive $LPID"
	if [ ! -s "$T/ready" ]; then
		wait "$LPID" || rc=$?
		if [ "${rc:-0}" -eq 71 ] && grep -q 'in use' "$T/listen.err"; then
			skip "port 1601 is in use on this machine"
		fi
		cat "$T/listen.err"
		false
	fi
	[ "$(cat "$T/ready")" = ":1601" ]
	run quilt-send :1601 to-default
	[ "$status" -eq 0 ]
	run quilt-send 1601 port-only
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = "$(printf 'to-default\nport-only')" ]
}

@test "a wildcard bind :0 writes ':PORT'; a sender's ':PORT' and 'PORT' mean loopback" {
	start_listener :0
	[[ $ADDR =~ ^:[0-9]+$ ]]
	run quilt-send ":$PORT" colon
	[ "$status" -eq 0 ]
	run quilt-send "$PORT" bare
	[ "$status" -eq 0 ]
	run quilt-send "127.0.0.1:$PORT" v4
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'colon\nbare\nv4')" ]
}

@test "IPv6: [::1]:0 writes [::1]:PORT and receives" {
	have_ipv6 || skip "no IPv6 loopback (::1) on this machine"
	start_listener '[::1]:0'
	[[ $ADDR =~ ^\[::1\]:[0-9]+$ ]]
	run quilt-send "$ADDR" six
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = six ]
}

@test "IPv6: a handler sees TCPLOCALIP and TCPREMOTEIP ::1" {
	have_ipv6 || skip "no IPv6 loopback (::1) on this machine"
	start_listener -e "$ucspi_tcp" '[::1]:0'
	run --separate-stderr quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = PROTO=TCP ]
	[ "${lines[1]}" = TCPLOCALIP=::1 ]
	[ "${lines[2]}" = "TCPLOCALPORT=$PORT" ]
	[ "${lines[3]}" = TCPREMOTEIP=::1 ]
}

@test "unix:/path writes unix:/path and receives" {
	start_listener "unix:$T/sock"
	[ "$ADDR" = "unix:$T/sock" ]
	[ -S "$T/sock" ]
	run quilt-send "$ADDR" over-unix
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = over-unix ]
}

# ---- many senders, -b, -c, hello timeout ------------------------------------

@test "8 concurrent senders x 20000 messages: each written exactly once, never interleaved" {
	start_listener 127.0.0.1:0
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		seq -f "sender$i message %.0f" 1 20000 >"$T/in.$i"
		mkfifo "$T/fifo.$i"
		BG_IN=$T/fifo.$i start_bg "send$i" quilt-send "$ADDR"
		pids+=("$BGPID")
	done
	# every sender is connected; now all feed at once
	for i in 1 2 3 4 5 6 7 8; do
		cat "$T/in.$i" >"$T/fifo.$i" 3>&- &
	done
	for p in "${pids[@]}"; do
		wait_exit "$p"
		[ "$status" -eq 0 ]
	done
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(count_lines "$T/listen.out")" -eq 160000 ]
	[ -z "$(sort "$T/listen.out" | uniq -d | head -n 3)" ]
	cmp <(sort "$T/listen.out") <(sort "$T"/in.?)
	# one sender's messages keep their order
	for i in 1 2 3 4 5 6 7 8; do
		grep "^sender$i " "$T/listen.out" | cmp - "$T/in.$i"
	done
}

@test "-b sets the backlog (1..65535) and the listener works with -b 1" {
	start_listener -b 1 127.0.0.1:0
	run quilt-send "$ADDR" a b c
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'a\nb\nc')" ]
}

@test "-c 1: a second connection waits until the first has ended" {
	start_listener -c 1 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg s1 quilt-send "$ADDR"
	s1=$BGPID
	exec 5>"$T/in"
	echo first >&5
	wait_for file_has "$T/listen.out" '^first$'
	# the slot is held: a second sender is not served before its timeout
	QUILT_CONNECT_TIMEOUT=400 run --separate-stderr quilt-send "$ADDR" second
	[ "$status" -eq 75 ]
	exec 5>&-
	wait_exit "$s1"
	[ "$status" -eq 0 ]
	run quilt-send "$ADDR" third
	[ "$status" -eq 0 ]
	stop_listener
	grep -v '^second$' "$T/listen.out" >"$T/got"
	[ "$(cat "$T/got")" = "$(printf 'first\nthird')" ]
}

@test "-c 2 with 10 concurrent senders: the others wait in the backlog, all are served exactly once" {
	start_listener -c 2 127.0.0.1:0
	pids=()
	for i in $(seq 1 10); do
		seq -f "s$i-%.0f" 1 2000 >"$T/in.$i"
		BG_IN=$T/in.$i start_bg "send$i" quilt-send "$ADDR"
		pids+=("$BGPID")
	done
	for p in "${pids[@]}"; do
		wait_exit "$p"
		[ "$status" -eq 0 ]
	done
	stop_listener
	[ "$(count_lines "$T/listen.out")" -eq 20000 ]
	cmp <(sort "$T/listen.out") <(sort "$T"/in.*)
}

@test "hello timeout: 45 idle connections that never say hello do not lock it" {
	QUILT_HELLO_TIMEOUT=300 start_listener -v 127.0.0.1:0
	# From 127.0.0.2-4, 15 each: all are held in the handshake pool (64,
	# 16 an address), none refused busy, and none counts against the
	# sender on 127.0.0.1.
	start_helper idle idleconn -n 45 -s 2-4 "$ADDR"
	idle=$HPID
	[ "$(cat "$T/idle.ready")" = "connected 45" ]
	run --separate-stderr quilt-send "$ADDR" got-through
	[ "$status" -eq 0 ]
	# and every idle one was dropped by the listener, for its hello
	wait_exit "$idle"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/idle.out")" = "dropped 45" ]
	stop_listener
	[ "$(cat "$T/listen.out")" = got-through ]
	[ "$(grep -Ec '^quilt-listen: 127\.0\.0\.[234]:[0-9]+: no hello in time$' "$T/listen.err")" -eq 45 ]
	! grep -q busy "$T/listen.err"
}

# ---- bad peers ---------------------------------------------------------------

@test "garbage from a client drops that connection only; the listener says why and goes on" {
	start_listener 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" < <(printf 'GET / HTTP/1.0\r\n\r\n')
	[ "$status" -ne 124 ]
	proc_alive "$LPID"
	run quilt-send "$ADDR" after-garbage
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = after-garbage ]
	grep -q '^quilt-listen: ' <(grep -v 'listening on' "$T/listen.err")
}

@test "a frame length over the limit is refused while its digits are read" {
	start_listener -M 1K 127.0.0.1:0
	# never finishes the length: only the digit check can end this
	mkfifo "$T/in"
	BG_IN=$T/in start_bg client rawclient -m "$T/closed" "$ADDR"
	exec 5>"$T/in"
	printf '99999999999999999999999999' >&5
	# the listener ends the connection with our side still open
	wait_for "[ -e '$T/closed' ]"
	exec 5>&-
	proc_alive "$LPID"
	run quilt-send "$ADDR" still-here
	[ "$status" -eq 0 ]
}

@test "a client with no common version gets a one-line error frame and is closed; both say why" {
	start_listener 127.0.0.1:0
	hello=$(quilt_hello 9-9 future)
	run timeout 10 nc 127.0.0.1 "$PORT" < <(printf '%s' "$hello")
	[ "$status" -ne 124 ]
	[[ $output == *error* ]]
	grep -v 'listening on' "$T/listen.err" | grep -qi version
}

@test "a hello with a bad field is refused with the field named and its code" {
	start_listener 127.0.0.1:0
	for f in 'session=xyz|the session field is missing or not 32 hex digits|session' \
		'max=10|the max field is missing, malformed or under 64|size' \
		'node=a/b|the node field is missing or not a node name|hello'; do
		IFS='|' read -r field text code <<<"$f"
		hello=$(msgns '' hello quilt 1-1 node=n session=00112233445566778899aabbccddeeff \
			max=1000 sealed=0 "$field")
		run timeout 10 nc 127.0.0.1 "$PORT" < <(printf '%s' "$hello")
		[ "$status" -ne 124 ]
		echo "$field: $output"
		[[ $output == *"5:error,$(ns "bad hello: $text")$(ns "$code")," ]]
		grep -q ": bad hello: $text\$" "$T/listen.err"
	done
}

@test "a refusal of the version carries the code version" {
	start_listener 127.0.0.1:0
	run timeout 10 nc 127.0.0.1 "$PORT" < <(printf '%s' "$(quilt_hello 9-9 future)")
	[ "$status" -ne 124 ]
	[[ $output == *"5:error,"*"no common protocol version (this listener speaks 1-1, the peer 9-9),7:version,," ]]
}

# ---- -e handlers ---------------------------------------------------------------

@test "-e 'tr a-z A-Z' answers a quilt-send" {
	start_listener -e 'tr a-z A-Z' 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" hello world
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'HELLO\nWORLD')" ]
	[ -z "$stderr" ]
}

@test "-e with 20 concurrent senders: each gets its own replies, and only those" {
	# -c 80: its handshake pool holds 20 from one address (a quarter), so
	# that all 20 from 127.0.0.1 may be in their handshake at once (with
	# -c 40, 16: a listener starved of the CPU refused 4 busy)
	start_listener -c 80 -e 'tr a-z A-Z' 127.0.0.1:0
	pids=()
	for i in $(seq 1 20); do
		seq -f "sender$i line %.0f" 1 500 >"$T/in.$i"
		BG_IN=$T/in.$i start_bg "send$i" quilt-send "$ADDR"
		pids+=("$BGPID")
	done
	for i in $(seq 1 20); do
		wait_exit "${pids[i - 1]}"
		[ "$status" -eq 0 ]
		tr a-z A-Z <"$T/in.$i" | cmp - "$T/send$i.out"
	done
}

@test "-e runs one process per connection" {
	start_listener -e 'cat >/dev/null; echo $$' 127.0.0.1:0
	for i in 1 2 3; do
		run quilt-send "$ADDR" x
		[ "$status" -eq 0 ]
		echo "$output" >>"$T/pids.seen"
	done
	[ "$(sort -u "$T/pids.seen" | wc -l)" -eq 3 ]
}


@test "-e over TCP: the UCSPI variables and QUILTREMOTENODE" {
	start_listener -e "$ucspi_tcp" 127.0.0.1:0
	run --separate-stderr quilt-send -n tester "$ADDR" x
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = PROTO=TCP ]
	[ "${lines[1]}" = TCPLOCALIP=127.0.0.1 ]
	[ "${lines[2]}" = "TCPLOCALPORT=$PORT" ]
	[ "${lines[3]}" = TCPREMOTEIP=127.0.0.1 ]
	[[ ${lines[4]} =~ ^TCPREMOTEPORT=[0-9]+$ ]]
	[ "${lines[4]}" != "TCPREMOTEPORT=$PORT" ]
	[ "${lines[5]}" = QUILTREMOTENODE=tester ]
}

@test "-e on a dual-stack wildcard: IPv4-mapped addresses are shown as IPv4" {
	start_listener -e "$ucspi_tcp" :0
	run --separate-stderr quilt-send -n tester "127.0.0.1:$PORT" x
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = PROTO=TCP ]
	[ "${lines[1]}" = TCPLOCALIP=127.0.0.1 ]
	[ "${lines[3]}" = TCPREMOTEIP=127.0.0.1 ]
}

@test "-e over a Unix socket: PROTO=UNIX and the peer's credentials" {
	start_listener -e 'cat >/dev/null
for v in PROTO UNIXREMOTEEUID UNIXREMOTEEGID UNIXREMOTEPID QUILTREMOTENODE; do
	eval "echo $v=\${$v-unset}"
done' "unix:$T/sock"
	start_bg send quilt-send -n unixer "$ADDR" x
	spid=$BGPID
	wait_exit "$spid"
	[ "$status" -eq 0 ]
	cat "$T/send.out"
	[ "$(cat "$T/send.out")" = "$(printf '%s\n' PROTO=UNIX \
		"UNIXREMOTEEUID=$(id -u)" "UNIXREMOTEEGID=$(id -g)" \
		"UNIXREMOTEPID=$spid" QUILTREMOTENODE=unixer)" ]
}

@test "-e handlers run in a process group of their own" {
	start_listener -e 'cat >/dev/null; ps -o pgid= -p $$' 127.0.0.1:0
	run quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	hpgid=$(echo "$output" | tr -d ' ')
	lpgid=$(ps -o pgid= -p "$LPID" | tr -d ' ')
	[ -n "$hpgid" ]
	[ "$hpgid" != "$lpgid" ]
}

# ---- -R raw mode -----------------------------------------------------------------

@test "-R: nc talks to it; lines go to stdout" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" < <(printf 'hello\nfrom nc\n')
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/listen.out" 2
	[ "$(cat "$T/listen.out")" = "$(printf 'hello\nfrom nc')" ]
}

@test "-R -e cat is an echo server for nc" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e cat 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" < <(printf 'echo me\nand me\n')
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'echo me\nand me')" ]
}

@test "-R without -e: concurrent connections are written whole lines at a time" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R 127.0.0.1:0
	pad=$(printf '%060d' 0)
	seq -f "a%.0f $pad" 1 20000 >"$T/in.a"
	seq -f "b%.0f $pad" 1 20000 >"$T/in.b"
	BG_IN=$T/in.a start_bg ca rawclient "$ADDR"
	a=$BGPID
	BG_IN=$T/in.b start_bg cb rawclient "$ADDR"
	b=$BGPID
	wait_exit "$a"
	[ "$status" -eq 0 ]
	wait_exit "$b"
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/listen.out" 40000
	[ "$(count_lines "$T/listen.out")" -eq 40000 ]
	grep '^a' "$T/listen.out" | cmp - "$T/in.a"
	grep '^b' "$T/listen.out" | cmp - "$T/in.b"
}

@test "-R with -e: the UCSPI variables are set too" {
	skip_if_sealed "raw mode (-R) has no protocol to seal"
	start_listener -R -e 'echo "$PROTO $TCPLOCALPORT"' 127.0.0.1:0
	run timeout 10 nc -N 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "TCP $PORT" ]
}

# ---- controlled shutdown -----------------------------------------------------------

@test "SIGTERM mid-stream: exit 0, and every message acknowledged to the sender is in the output" {
	mkfifo "$T/lout"
	# the reader stops itself after 50000 lines: the stream (20 MB, more
	# than every buffer on the way holds) is then held mid-way
	BG_IN=$T/lout start_bg gate gate -n 50000 -m "$T/gated"
	gpid=$BGPID
	LOUT=$T/lout start_listener 127.0.0.1:0
	seq -f "%.0f $(printf '%090d' 0)" 1 200000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -v "$ADDR"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -TERM "$LPID"
	kill -CONT "$gpid"
	wait_exit "$LPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/listen.ready" ]
	wait_exit "$spid"
	sstatus=$status
	wait_exit "$gpid"
	cat "$T/send.err"
	sent=$(counter sent "$T/send.err")
	acked=$(counter acknowledged "$T/send.err")
	got=$(count_lines "$T/gate.out")
	echo "sent $sent, acknowledged $acked, written $got"
	[ "$got" -ge 50000 ]
	[ "$acked" -le "$got" ]
	# written exactly once, whole and in order
	head -n "$got" "$T/in" | cmp - "$T/gate.out"
	if [ "$acked" -lt 200000 ]; then
		[ "$sstatus" -eq 1 ]
		grep -Eq "^quilt-send: $ADDR: connection lost: $((sent - acked)) messages? not acknowledged" "$T/send.err"
	else
		[ "$sstatus" -eq 0 ]
	fi
}

@test "SIGTERM with -e: handlers see end of input and finish, then it exits 0" {
	start_listener -e "cat >'$T/h.in'; echo finished >'$T/h.done'" 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	exec 5>"$T/in"
	echo before-term >&5
	wait_for file_has "$T/h.in" '^before-term$'
	kill -TERM "$LPID"
	wait_for "[ -e '$T/h.done' ]"
	wait_exit "$LPID"
	[ "$status" -eq 0 ]
	exec 5>&-
}

@test "drain deadline: with its stdout blocked, SIGTERM still ends it; nothing unwritten is acknowledged" {
	mkfifo "$T/lout"
	BG_IN=$T/lout start_bg gate gate -n 1000 -m "$T/gated"
	gpid=$BGPID
	QUILT_DRAIN_TIMEOUT=500 LOUT=$T/lout start_listener 127.0.0.1:0
	seq 1 100000 >"$T/in"
	BG_IN=$T/in start_bg send quilt-send -v "$ADDR"
	spid=$BGPID
	wait_for "[ -e '$T/gated' ] && proc_stopped $gpid"
	kill -TERM "$LPID"
	# the reader stays stopped: only the deadline can end the listener
	wait_exit "$LPID" 30
	proc_stopped "$gpid"
	wait_exit "$spid"
	[ "$status" -eq 1 ]
	kill -CONT "$gpid"
	wait_exit "$gpid"
	acked=$(sed -nE 's/.*acknowledged ([0-9]+),.*/\1/p' "$T/send.err")
	got=$(count_lines "$T/gate.out")
	echo "acknowledged $acked, written $got"
	[ -n "$acked" ]
	[ "$acked" -le "$got" ]
	# complete lines, in order; the deadline may leave a torn last one
	# without its LF, never a complete line that was not sent
	head -n "$got" "$T/gate.out" | cmp - <(seq 1 "$got")
}

@test "drain deadline: a handler that does not exit is sent SIGTERM with its process group" {
	# FIFOs nobody writes: the handler and its child block in open(2)
	mkfifo "$T/never" "$T/never2"
	QUILT_DRAIN_TIMEOUT=300 start_listener -e 'echo $$ >"'"$T"'/h.pid"; cat >/dev/null; cat "'"$T"'/never2" & echo $! >"'"$T"'/s.pid"; exec cat "'"$T"'/never"' 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	spid=$BGPID
	echo one >"$T/in"
	wait_for "[ -s '$T/s.pid' ]"
	hpid=$(cat "$T/h.pid")
	cpid=$(cat "$T/s.pid")
	proc_alive "$hpid"
	proc_alive "$cpid"
	kill -TERM "$LPID"
	wait_exit "$LPID"
	[ "$status" -eq 0 ]
	# the handler and what it started are gone, not orphaned
	wait_exit "$hpid"
	wait_exit "$cpid"
	grep -q '^quilt-listen: stopping: drain deadline passed; 1 handler still running sent SIGTERM' "$T/listen.err"
	wait_exit "$spid"
}

# ---- -C: quilt-relay's incoming side -----------------------------------------

@test "-C: a frame from the router with an unknown verb or a wrong arity is fatal (70); a late one is not" {
	for bad in "$(msgns nosuch 1 x)" "$(msgns to 5)" "$(msgns drop 5 why more)" \
		"$(msgns to x "$(msgns '' bye)")" "$(msgns to 5 'not a frame')"; do
		run --separate-stderr quilt-listen -q -C 00ab 127.0.0.1:0 \
			< <(printf '%s' "$bad") 3>"$T/fd3"
		echo "$bad: $status $stderr"
		[ "$status" -eq 70 ]
		[ "$stderr" = "quilt-listen: a malformed frame from the router" ]
	done
	# To a connection it does not have (gone since): not an error; then
	# the router's end closes, and so does the child, with 0.
	run --separate-stderr quilt-listen -q -C 00ab 127.0.0.1:0 \
		< <(printf '%s%s' "$(msgns to 5 "$(msgns '' bye)")" "$(msgns drop 6 bye)") 3>"$T/fd3"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output == *":9:listening,"*"127.0.0.1:"* ]]
}
