#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Sealed links (-k, issue 3): quilt-keygen; a sealed session and what a
# capture of it shows; fail closed on a wrong key, a plaintext peer, a hello
# altered in flight, a record flipped, replayed, out of order or cut (the
# faults come from qproxy); key rotation; key file checks; the warning of an
# unauthenticated listener on a non-loopback address.  No key ever appears
# in any output: teardown greps every file of the test for every key.

load helpers/common

setup() {
	QUILT_NEEDS="quilt-keygen quilt-ping" setup_quilt
}

teardown() {
	local rc=0
	no_key_leak || rc=1
	teardown_quilt
	return "$rc"
}

# keygen NAME: a new key in $T/NAME.key.
keygen() {
	quilt-keygen "$T/$1.key"
}

# no_key_leak: no key of $T/*.key appears in any other file of $T (the
# stdout and stderr of every program, the captures).
no_key_leak() {
	local k hex
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	for k in "$T"/*.key; do
		[ -f "$k" ] || continue
		hex=$(head -c 64 "$k")
		[[ $hex =~ ^[0-9a-f]{64}$ ]] || continue
		if grep -rlaF --exclude='*.key' -- "$hex" "$T" >&2; then
			echo "no_key_leak: the key of $k appears in the files above" >&2
			return 1
		fi
	done
}

# no_key_in KEYFILE TEXT...: the key's hex is in none of the texts.
no_key_in() {
	local hex t
	hex=$(head -c 64 "$1")
	shift
	for t in "$@"; do
		if [[ $t == *"$hex"* ]]; then
			echo "no_key_in: the key is in: $t" >&2
			return 1
		fi
	done
}

# peer_lines: the lines of the listener's stderr about a peer (all but
# "listening on").
peer_lines() {
	grep -v ': listening on ' "$T/${LNAME:-listen}.err" || true
}

# handshake_len DUMP: bytes of the two plaintext frames a sealed client
# sends first (its hello, its confirmation), netstrings "N:...,".
handshake_len() {
	local off=0 n
	for _ in hello confirm; do
		n=$(tail -c +$((off + 1)) "$1" | head -c 12)
		n=${n%%:*}
		[[ $n =~ ^[0-9]+$ ]] || return 1
		off=$((off + ${#n} + 1 + n + 1))
	done
	echo "$off"
}

# records DUMP: "OFFSET LENGTH" of each sealed record of a client->server
# capture (LENGTH counts the 4-byte length prefix).
records() {
	local size off b0 b1 b2 b3 n
	size=$(stat -c %s "$1")
	off=$(handshake_len "$1")
	while [ "$off" -lt "$size" ]; do
		read -r b0 b1 b2 b3 < <(od -An -tu1 -j "$off" -N 4 "$1")
		n=$(((b0 << 24 | b1 << 16 | b2 << 8 | b3) + 4))
		echo "$off $n"
		off=$((off + n))
	done
}

# offset_of DUMP STRING: the offset of the first STRING in DUMP.
offset_of() {
	local o
	o=$(grep -boaF -- "$2" "$1" | head -n 1)
	[ -n "$o" ] || return 1
	echo "${o%%:*}"
}

# feed TEXT: write TEXT into the fifo on fd 5 (a subshell: no SIGPIPE for
# the test when the reader is gone).
feed() {
	(printf '%s' "$1" >&5) 2>/dev/null || true
}

# gated_send ADDR [ARGS...]: quilt-send -v -k $T/a.key -n nodeA ARGS ADDR
# reading a fifo: lines 1-3 first; once the listener has written them (so
# they are in a record of their own, and acknowledged), two more lines and
# the end of input.  With GATE_NOWAIT set, no wait (a fault in the first
# record).  Status in $status, stderr in $T/send.err.
gated_send() {
	local addr=$1
	shift
	rm -f "$T/in"
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send -v -k "$T/a.key" -n nodeA "$@" "$addr"
	exec 5>"$T/in"
	feed $'1\n2\n3\n'
	if [ -z "${GATE_NOWAIT:-}" ]; then
		wait_for lines_at_least "$T/listen.out" 3 || {
			exec 5>&-
			return 1
		}
	fi
	feed $'four ZQXJ\nfive ZQXJ\n'
	exec 5>&-
	wait_exit "$BGPID"
}

# fault_setup: a sealed listener (-v), and a reference run of gated_send
# through a clean proxy capturing the client's bytes; sets REC (the
# "OFFSET LENGTH" lines of its records), R1 R1LEN, R2 R2LEN (the records
# of lines 1-3 and of the last two lines), RLAST (the offset of the last,
# FINAL, record), and starts a new listener for the faulty run.
fault_setup() {
	keygen a
	LOUT=$T/listen.out LNAME=ref start_listener -v -k "$T/a.key" 127.0.0.1:0
	start_proxy -w "$T/ref.dump" "$ADDR"
	gated_send "$PXADDR"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3\nfour ZQXJ\nfive ZQXJ')" ]
	stop_listener
	REC=$(records "$T/ref.dump")
	read -r R1 R1LEN < <(sed -n 1p <<<"$REC")
	read -r R2 R2LEN < <(sed -n 2p <<<"$REC")
	read -r RLAST _ < <(tail -n 1 <<<"$REC")
	[ "$(wc -l <<<"$REC")" -ge 3 ]
	rm -f "$T/listen.out"
	start_listener -v -k "$T/a.key" 127.0.0.1:0
}

# sender_failed: quilt-send failed on a record the listener refused: 76
# once it reads the listener's error, 1 when the closed connection comes
# first (a test of its own asks for 76).
sender_failed() {
	[ "$status" -eq 76 ] || [ "$status" -eq 1 ]
}

# acked_prefix: with N the "acknowledged" counter of quilt-send, the first N
# input lines are the first N lines of the listener's output.
acked_prefix() {
	local n
	n=$(counter acknowledged "$T/send.err")
	[ "$(head -n "$n" "$T/listen.out")" = "$(printf '1\n2\n3\nfour ZQXJ\nfive ZQXJ\n' | head -n "$n")" ]
}

# ---- quilt-keygen ----------------------------------------------------------

@test "quilt-keygen FILE: 64 hex characters and a newline, mode 0600; two keys differ" {
	run --separate-stderr quilt-keygen "$T/a.key"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(stat -c %a "$T/a.key")" = 600 ]
	[ "$(stat -c %s "$T/a.key")" -eq 65 ]
	grep -qxE '[0-9a-f]{64}' "$T/a.key"
	[ "$(tail -c 1 "$T/a.key" | od -An -c | tr -d ' ')" = '\n' ]
	quilt-keygen "$T/b.key"
	[ "$(cat "$T/a.key")" != "$(cat "$T/b.key")" ]
}

@test "quilt-keygen: an existing file is refused without -f (64) and left as it was" {
	echo 'precious' >"$T/a.key"
	chmod 644 "$T/a.key"
	run --separate-stderr quilt-keygen "$T/a.key"
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-keygen: $T/a.key"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$(cat "$T/a.key")" = precious ]
	[ "$(stat -c %a "$T/a.key")" = 644 ]
}

@test "quilt-keygen -f replaces a key, and the new file is 0600" {
	quilt-keygen "$T/a.key"
	cp "$T/a.key" "$T/old.key"
	chmod 644 "$T/a.key"
	run --separate-stderr quilt-keygen -f "$T/a.key"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	grep -qxE '[0-9a-f]{64}' "$T/a.key"
	[ "$(cat "$T/a.key")" != "$(cat "$T/old.key")" ]
	[ "$(stat -c %a "$T/a.key")" = 600 ]
}

@test "quilt-keygen -: the key on standard output, and it works as a key file" {
	run --separate-stderr quilt-keygen -
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output =~ ^[0-9a-f]{64}$ ]]
	(umask 077 && quilt-keygen - >"$T/a.key")
	[ "$(stat -c %s "$T/a.key")" -eq 65 ]
	[ "$(head -c 64 "$T/a.key")" != "$output" ]
	start_listener -k "$T/a.key" 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/a.key" "$ADDR" hello
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "quilt-keygen: no operand, two operands, an unknown option: 64" {
	run --separate-stderr quilt-keygen
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-keygen: missing the file operand"$'\n'"usage: quilt-keygen"* ]]
	run --separate-stderr quilt-keygen "$T/a" "$T/b"
	[ "$status" -eq 64 ]
	run --separate-stderr quilt-keygen -z "$T/a"
	[ "$status" -eq 64 ]
	[ ! -e "$T/a" ]
}

# ---- a sealed session ------------------------------------------------------

@test "sealed: quilt-send delivers; a capture shows no message text, a plaintext one does" {
	keygen a
	start_listener -v -k "$T/a.key" 127.0.0.1:0
	start_proxy -w "$T/sealed.dump" "$ADDR"
	run --separate-stderr quilt-send -k "$T/a.key" "$PXADDR" 'attack at dawn ZQXJ' 'second ZQXJ'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'attack at dawn ZQXJ\nsecond ZQXJ')" ]
	grep -q ': sealed with key 1$' "$T/listen.err"
	[ -s "$T/sealed.dump" ]
	[ "$(grep -caF ZQXJ "$T/sealed.dump")" -eq 0 ]
	grep -qaF 'confirm' "$T/sealed.dump"
	# The same through a plaintext link: the capture shows the text, so the
	# check above is not vacuous.
	LNAME=plain start_listener 127.0.0.1:0
	start_proxy -w "$T/plain.dump" "$ADDR"
	run --separate-stderr quilt-send "$PXADDR" 'attack at dawn ZQXJ'
	[ "$status" -eq 0 ]
	grep -qaF 'attack at dawn ZQXJ' "$T/plain.dump"
}

@test "sealed: 20000 lines from stdin, in order, exactly once" {
	keygen a
	start_listener -k "$T/a.key" 127.0.0.1:0
	seq 1 20000 >"$T/input"
	run --separate-stderr quilt-send -v -k "$T/a.key" "$ADDR" <"$T/input"
	[ "$status" -eq 0 ]
	[ "$(counter acknowledged <(echo "$stderr"))" -eq 20000 ]
	stop_listener
	cmp "$T/input" "$T/listen.out"
}

@test "sealed: quilt-ping -k gets its replies; the capture shows no payload" {
	keygen a
	start_listener -k "$T/a.key" 127.0.0.1:0
	start_proxy -w "$T/ping.dump" "$ADDR"
	run --separate-stderr quilt-ping -c 2 -i 0.01 -k "$T/a.key" "$PXADDR"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "PING $PXADDR"* ]]
	[[ $output == *"2 packets transmitted, 2 received"* ]]
	[ "$(grep -caF 'ping' "$T/ping.dump")" -eq 0 ]
	[ ! -s "$T/listen.out" ]
}

@test "sealed: a handler (-e) gets the messages and its replies come back" {
	keygen a
	start_listener -k "$T/a.key" -e 'while read -r l; do echo "got $l"; done' 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/a.key" "$ADDR" one two
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'got one\ngot two')" ]
}

# ---- fail closed at the handshake -----------------------------------------

@test "wrong key: quilt-send 76, quilt-ping 2, one line each; the listener says why and writes nothing" {
	keygen a
	keygen b
	start_listener -k "$T/a.key" 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/b.key" "$ADDR" 'not for you'
	[ "$status" -eq 76 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-send: $ADDR: refused: authentication failed"* ]]
	run --separate-stderr quilt-ping -c 1 -k "$T/b.key" "$ADDR"
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-ping: $ADDR: refused: authentication failed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 2 ]
	[ "$(peer_lines | grep -c ': authentication failed')" -eq 2 ]
}

@test "plaintext client to a sealed listener: 76 (ping 2), one line, nothing written" {
	keygen a
	start_listener -k "$T/a.key" 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" 'in the clear'
	[ "$status" -eq 76 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-send: $ADDR: refused: this listener is sealed (-k) and the peer is not"* ]]
	run --separate-stderr quilt-ping -c 1 "$ADDR"
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-ping: $ADDR: refused: this listener is sealed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | grep -c ': this listener is sealed (-k) and the peer is not$')" -eq 2 ]
	[ "$(peer_lines | wc -l)" -eq 2 ]
}

@test "sealed client to a plaintext listener: 76 (ping 2), one line, nothing written" {
	keygen a
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/a.key" "$ADDR" 'sealed'
	[ "$status" -eq 76 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-send: $ADDR: refused: the peer is sealed (-k) and this listener is not"* ]]
	run --separate-stderr quilt-ping -c 1 -k "$T/a.key" "$ADDR"
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-ping: $ADDR: refused: the peer is sealed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 2 ]
}

# hello_fault FAULT: a sealed send of one message through a proxy with
# FAULT; it must fail closed: 76, one line, nothing written, one line from
# the listener.
hello_fault() {
	start_proxy -f "$1" "$ADDR"
	run --separate-stderr quilt-send -k "$T/a.key" -n nodeA "$PXADDR" 'altered ZQXJ'
	[ "$status" -eq 76 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-send: $PXADDR: "* ]]
}

# hello_ref: a sealed listener and a reference capture of a clean session.
hello_ref() {
	keygen a
	start_listener -k "$T/a.key" 127.0.0.1:0
	start_proxy -w "$T/ref.dump" "$ADDR"
	run --separate-stderr quilt-send -k "$T/a.key" -n nodeA "$PXADDR" 'clean'
	[ "$status" -eq 0 ]
	stop_listener
	rm -f "$T/listen.out" "$T/listen.err"
	start_listener -k "$T/a.key" 127.0.0.1:0
}

@test "a hello altered in flight: the node name (bound into the keys): 76, nothing written" {
	hello_ref
	off=$(offset_of "$T/ref.dump" 'node=nodeA')
	hello_fault flip=$((off + 5))
	[[ $stderr == "quilt-send: $PXADDR: refused: authentication failed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 1 ]
	[ "$(peer_lines | grep -c ': authentication failed: ')" -eq 1 ]
}

@test "a hello altered in flight: the version: 76, nothing written" {
	hello_ref
	off=$(offset_of "$T/ref.dump" ',5:quilt,')
	# ",5:quilt,3:1-1,": the first version digit
	hello_fault flip=$((off + 11))
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 1 ]
}

@test "a hello altered in flight: the sealed flag (a downgrade): 76, nothing written" {
	hello_ref
	off=$(offset_of "$T/ref.dump" 'sealed=1')
	hello_fault flip=$((off + 7))
	[[ $stderr == "quilt-send: $PXADDR: refused: this listener is sealed (-k) and the peer is not"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 1 ]
}

@test "the listener's hello altered in flight (its node name): 76, nothing written" {
	hello_ref
	# The listener's hello has the layout of the sender's up to the node
	# name, "NNN:0:,5:hello,5:quilt,3:1-1,10:node=": with a node name as
	# long as nodeA, at the same offset.
	stop_listener
	rm -f "$T/listen.out" "$T/listen.err"
	start_listener -k "$T/a.key" -n lstnr 127.0.0.1:0
	off=$(offset_of "$T/ref.dump" 'node=nodeA')
	hello_fault flipback=$((off + 5))
	[[ $stderr == "quilt-send: $PXADDR: refused: authentication failed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(peer_lines | wc -l)" -eq 1 ]
	[ "$(peer_lines | grep -c ': authentication failed: ')" -eq 1 ]
}

@test "the listener's confirmation altered in flight: 76, nothing written" {
	hello_ref
	stop_listener
	rm -f "$T/listen.out" "$T/listen.err"
	start_listener -k "$T/a.key" -n lstnr 127.0.0.1:0
	# Its confirmation (138 bytes) follows its hello (under 200 bytes with
	# this node name): byte 250 is in the confirmation's tag or header.
	hello_fault flipback=250
	[ "$stderr" = "quilt-send: $PXADDR: bad confirmation from the peer" ] ||
		[[ $stderr == "quilt-send: $PXADDR: authentication failed"* ]]
	stop_listener
	[ ! -s "$T/listen.out" ]
}

# ---- fail closed on records -------------------------------------------------

@test "a byte flipped in a record: integrity check failed; nothing of it written, what came before is" {
	fault_setup
	start_proxy -f flip=$((R2 + R2LEN / 2)) "$ADDR"
	gated_send "$PXADDR"
	sender_failed
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
	acked_prefix
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "a byte flipped in a record: quilt-send is told and exits 76" {
	fault_setup
	start_proxy -f flip=$((R2 + R2LEN / 2)) "$ADDR"
	gated_send "$PXADDR"
	[ "$status" -eq 76 ]
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
}

@test "a byte flipped in the length prefix of a record: nothing of it written" {
	fault_setup
	# The low bit of the length's last byte: one byte more or less.
	start_proxy -f flip=$((R2 + 3)) "$ADDR"
	gated_send "$PXADDR"
	sender_failed
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
	acked_prefix
}

@test "a byte flipped in the first record: nothing written at all" {
	fault_setup
	start_proxy -f flip=$((R1 + R1LEN - 1)) "$ADDR"
	GATE_NOWAIT=1 gated_send "$PXADDR"
	sender_failed
	[ "$(counter acknowledged "$T/send.err")" -eq 0 ]
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "a byte flipped in a record of the listener: quilt-send says integrity check failed, 76" {
	fault_setup
	# The listener's records start after its hello and confirmation; its
	# ack of lines 1-3 is the first.  Flip the last byte it sends before
	# the sender's second batch: any byte past the plaintext frames.
	start_proxy -v -w "$T/f.dump" "$ADDR"
	run --separate-stderr quilt-send -k "$T/a.key" -n nodeA "$PXADDR" probe
	[ "$status" -eq 0 ]
	# qproxy -v said how many bytes the listener sent on that connection.
	# Its last record is the empty FINAL one (a 4-byte length and a
	# 17-byte tag); the one before it carries its bye, which the sender
	# must open before it may exit: flip the byte before last of that one.
	# (A byte of FINAL itself may never be read: the sender has its
	# answers and goes.)
	wait_for file_has "$T/proxy.err" 'connection 1: '
	back=$(sed -n 's/.*, \([0-9]*\) bytes server->client$/\1/p' "$T/proxy.err" | head -n 1)
	start_proxy -f flipback=$((back - 21 - 2)) "$ADDR"
	run --separate-stderr quilt-send -k "$T/a.key" -n nodeA "$PXADDR" probe
	[ "$status" -eq 76 ]
	[[ $stderr == "quilt-send: $PXADDR: integrity check failed"* ]]
}

@test "a record replayed: integrity check failed; its lines written once, nothing of the copy" {
	fault_setup
	# The copy follows the record at once: the listener may read both in
	# one go and write neither (nothing was acknowledged yet).
	start_proxy -f "replay=$R1:$R1LEN" "$ADDR"
	GATE_NOWAIT=1 gated_send "$PXADDR"
	sender_failed
	stop_listener
	out=$(cat "$T/listen.out")
	[ -z "$out" ] || [ "$out" = "$(printf '1\n2\n3')" ]
	acked_prefix
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "the last data record replayed: written once at most, what was acknowledged before is written" {
	fault_setup
	start_proxy -f "replay=$R2:$R2LEN" "$ADDR"
	gated_send "$PXADDR"
	sender_failed
	stop_listener
	out=$(cat "$T/listen.out")
	[ "$out" = "$(printf '1\n2\n3')" ] ||
		[ "$out" = "$(printf '1\n2\n3\nfour ZQXJ\nfive ZQXJ')" ]
	acked_prefix
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "a record out of order (the one before it dropped): nothing after the gap written" {
	fault_setup
	# Drop the record of the last two lines: the next record (the bye)
	# arrives in its place.
	start_proxy -f "drop=$R2:$R2LEN" "$ADDR"
	gated_send "$PXADDR"
	sender_failed
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
	acked_prefix
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "the first record dropped: the second out of order, nothing written" {
	fault_setup
	start_proxy -f "drop=$R1:$R1LEN" "$ADDR"
	GATE_NOWAIT=1 gated_send "$PXADDR"
	sender_failed
	stop_listener
	[ ! -s "$T/listen.out" ]
	[ "$(grep -c ': integrity check failed: ' "$T/listen.err")" -eq 1 ]
}

@test "a cut in the middle of a record: the partial record is not delivered, the acknowledged ones are" {
	fault_setup
	start_proxy -f cut=$((R2 + R2LEN / 2)) "$ADDR"
	gated_send "$PXADDR"
	[ "$status" -eq 1 ]
	[[ $(head -n 1 "$T/send.err") == "quilt-send: $PXADDR: connection lost: "* ]]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
	acked_prefix
}

@test "a cut inside the length prefix of a record: nothing of it delivered" {
	fault_setup
	start_proxy -f cut=$((R2 + 2)) "$ADDR"
	gated_send "$PXADDR"
	[ "$status" -eq 1 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3')" ]
	acked_prefix
}

@test "a cut before the final record: whole records delivered, and the listener says the stream was cut" {
	fault_setup
	start_proxy -f "cut=$RLAST" "$ADDR"
	gated_send "$PXADDR"
	# (0 when the listener's acknowledgement and bye got through first)
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	# the listener has seen the cut (its connection is gone) before it is stopped
	wait_for "[ \$(tcp_established $PORT) -eq 0 ]"
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3\nfour ZQXJ\nfive ZQXJ')" ]
	acked_prefix
	# Not a clean end: said on stderr, -v or not.
	grep -qiE ': .*(cut|truncat)' "$T/listen.err"
}

@test "a cut in the middle of the final record: the whole records before it delivered" {
	fault_setup
	start_proxy -f cut=$((RLAST + 6)) "$ADDR"
	gated_send "$PXADDR"
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	# the listener has seen the cut (its connection is gone) before it is stopped
	wait_for "[ \$(tcp_established $PORT) -eq 0 ]"
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf '1\n2\n3\nfour ZQXJ\nfive ZQXJ')" ]
	acked_prefix
}

# ---- key rotation ------------------------------------------------------------

@test "quilt-send -r: a listener back with another key ends the run with 76, saying why" {
	keygen a
	keygen b
	start_listener -k "$T/a.key" "unix:$T/l.sock"
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send -r -k "$T/a.key" "unix:$T/l.sock"
	spid=$BGPID
	exec 5>"$T/in"
	echo one >&5
	wait_for file_has "$T/listen.out" '^one$'
	stop_listener
	[ "$status" -eq 0 ]
	LNAME=listen2 start_listener -k "$T/b.key" "unix:$T/l.sock"
	wait_exit "$spid"
	exec 5>&-
	cat "$T/send.err"
	[ "$status" -eq 76 ]
	[ "$(cat "$T/send.err")" = "quilt-send: unix:$T/l.sock: refused: authentication failed: the peer does not hold the key, or the handshake was altered" ]
}

@test "rotation: a listener with -k old -k new takes either key and refuses a third (76)" {
	keygen old
	keygen new
	keygen other
	start_listener -v -k "$T/old.key" -k "$T/new.key" 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/old.key" "$ADDR" 'with old'
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-send -k "$T/new.key" "$ADDR" 'with new'
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-ping -c 1 -k "$T/new.key" "$ADDR"
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-send -k "$T/other.key" "$ADDR" 'with other'
	[ "$status" -eq 76 ]
	[[ $stderr == "quilt-send: $ADDR: refused: authentication failed"* ]]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf 'with old\nwith new')" ]
	[ "$(grep -c ': sealed with key 1$' "$T/listen.err")" -eq 1 ]
	[ "$(grep -c ': sealed with key 2$' "$T/listen.err")" -eq 2 ]
}

@test "rotation: -k given three times is a usage error (64)" {
	keygen a
	run --separate-stderr quilt-listen -k "$T/a.key" -k "$T/a.key" -k "$T/a.key" 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-listen: option -k given more than twice"* ]]
	run --separate-stderr quilt-send -k "$T/a.key" -k "$T/a.key" 127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-send: option -k given twice"* ]]
}

# ---- key file checks -----------------------------------------------------------

@test "key file missing: 66 (quilt-ping: 2), the path and the reason" {
	run --separate-stderr quilt-send -k "$T/none.key" 127.0.0.1:1 x
	[ "$status" -eq 66 ]
	[ "$stderr" = "quilt-send: key file $T/none.key: No such file or directory" ]
	run --separate-stderr quilt-listen -k "$T/none.key" 127.0.0.1:0
	[ "$status" -eq 66 ]
	[ "$stderr" = "quilt-listen: key file $T/none.key: No such file or directory" ]
	run --separate-stderr quilt-ping -k "$T/none.key" 127.0.0.1:1
	[ "$status" -eq 2 ]
	[ "$stderr" = "quilt-ping: key file $T/none.key: No such file or directory" ]
}

@test "key file unreadable (a directory): 66" {
	mkdir "$T/dir.key"
	run --separate-stderr quilt-send -k "$T/dir.key" 127.0.0.1:1 x
	[ "$status" -eq 66 ]
	[[ $stderr == "quilt-send: key file $T/dir.key: "* ]]
}

@test "key file with the wrong content: 78, saying what is wrong; the content is not shown" {
	hex=$(quilt-keygen -)
	printf '%s\n' "${hex:0:63}" >"$T/short.key"
	printf '%sg\n' "${hex:0:63}" >"$T/nonhex.key"
	printf '%s\n\n' "$hex" >"$T/extra.key"
	printf '%s0\n' "$hex" >"$T/long.key"
	: >"$T/empty.key"
	chmod 600 "$T"/*.key
	for k in short extra long empty; do
		run --separate-stderr quilt-send -k "$T/$k.key" 127.0.0.1:1 x
		[ "$status" -eq 78 ]
		[ "$stderr" = "quilt-send: key file $T/$k.key: expected 64 hex characters and an optional newline" ]
		no_key_in "$T/extra.key" "$stderr" "$output"
	done
	run --separate-stderr quilt-send -k "$T/nonhex.key" 127.0.0.1:1 x
	[ "$status" -eq 78 ]
	[ "$stderr" = "quilt-send: key file $T/nonhex.key: not hex" ]
	[[ $stderr != *"${hex:0:16}"* ]]
	run --separate-stderr quilt-listen -k "$T/short.key" 127.0.0.1:0
	[ "$status" -eq 78 ]
	[[ $stderr == "quilt-listen: key file $T/short.key: expected 64 hex"* ]]
	run --separate-stderr quilt-ping -k "$T/nonhex.key" 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ $stderr == "quilt-ping: key file $T/nonhex.key: not hex"* ]]
}

@test "key file without its final newline, or in capitals: accepted" {
	keygen a
	head -c 64 "$T/a.key" >"$T/nonl.key"
	tr a-f A-F <"$T/a.key" >"$T/caps.key"
	chmod 600 "$T/nonl.key" "$T/caps.key"
	start_listener -k "$T/a.key" 127.0.0.1:0
	run --separate-stderr quilt-send -k "$T/nonl.key" "$ADDR" one
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr quilt-send -k "$T/caps.key" "$ADDR" two
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "key file readable by group or others: one warning, and it still works" {
	keygen a
	chmod 640 "$T/a.key"
	start_listener -k "$T/a.key" 127.0.0.1:0
	[ "$(grep -c "quilt-listen: key file $T/a.key: readable by group or others" "$T/listen.err")" -eq 1 ]
	chmod 604 "$T/a.key"
	run --separate-stderr quilt-send -k "$T/a.key" "$ADDR" 'still works'
	[ "$status" -eq 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "quilt-send: key file $T/a.key: readable by group or others"* ]]
	run --separate-stderr quilt-ping -c 1 -k "$T/a.key" "$ADDR"
	[ "$status" -eq 0 ]
	[[ $stderr == "quilt-ping: key file $T/a.key: readable by group or others"* ]]
	stop_listener
	[ "$(cat "$T/listen.out")" = 'still works' ]
}

@test "the key never appears in any output: -v, -h, errors, refusals" {
	keygen a
	keygen b
	start_listener -v -k "$T/a.key" 127.0.0.1:0
	outs=()
	run --separate-stderr quilt-send -v -k "$T/a.key" "$ADDR" one
	[ "$status" -eq 0 ]
	outs+=("$output" "$stderr")
	run --separate-stderr quilt-send -v -k "$T/b.key" "$ADDR" one
	[ "$status" -eq 76 ]
	outs+=("$output" "$stderr")
	run --separate-stderr quilt-ping -v -c 1 -k "$T/a.key" "$ADDR"
	[ "$status" -eq 0 ]
	outs+=("$output" "$stderr")
	run --separate-stderr quilt-ping -v -c 1 -k "$T/b.key" "$ADDR"
	[ "$status" -eq 2 ]
	outs+=("$output" "$stderr")
	run --separate-stderr quilt-send -k "$T/a.key" -z "$ADDR" one
	[ "$status" -eq 64 ]
	outs+=("$output" "$stderr")
	stop_listener
	no_key_in "$T/a.key" "${outs[@]}"
	no_key_in "$T/b.key" "${outs[@]}"
	# and teardown greps the listener's files for both keys
}

# ---- listener: the unauthenticated warning, -R -----------------------------

@test "a listener on all interfaces without -k warns once that it is unauthenticated" {
	start_listener :0
	run --separate-stderr quilt-send "127.0.0.1:$PORT" one
	[ "$status" -eq 0 ]
	run --separate-stderr quilt-send "127.0.0.1:$PORT" two
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(grep -c 'is not a loopback address and there is no -k' "$T/listen.err")" -eq 1 ]
	grep -q '^quilt-listen: :[0-9]* is not a loopback address and there is no -k: any peer that reaches it is accepted$' "$T/listen.err"
}

@test "a listener on all interfaces with -k, or on the loopback without: no such warning" {
	keygen a
	start_listener -k "$T/a.key" :0
	run --separate-stderr quilt-send -k "$T/a.key" "127.0.0.1:$PORT" one
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(grep -c 'loopback' "$T/listen.err")" -eq 0 ]
	LNAME=lo start_listener 127.0.0.1:0
	stop_listener
	[ "$(grep -c 'loopback' "$T/lo.err")" -eq 0 ]
}

@test "-R with -k is a usage error (64)" {
	keygen a
	run --separate-stderr quilt-listen -R -k "$T/a.key" 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-listen: -R and -k are exclusive"* ]]
	run --separate-stderr quilt-listen -k "$T/a.key" -R 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-listen: -R and -k are exclusive"* ]]
}
