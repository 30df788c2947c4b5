#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Flags, usage, version and every exit status of quilt-listen, quilt-send
# and quilt-ping, each with its cause (STYLE.md's table, cli-spec).

load helpers/common

# ---- -h, -V, usage errors ------------------------------------------------

ALL_PROGRAMS="quilt-listen quilt-send quilt-ping quilt-relay quilt-keygen sp-join sp-mcast"

# usage_status PROGRAM: the exit status of its usage errors.
usage_status() {
	if [ "$1" = quilt-ping ]; then echo 2; else echo 64; fi
}

# usage_of PROGRAM: its usage, the lines of --help before the options.
usage_of() {
	command "$1" --help | sed '/^  -/,$d; /^      --/,$d'
}

# usage_error PROGRAM FAULT ARGS...: PROGRAM ARGS fails with its usage
# status, nothing on stdout, and on stderr exactly "PROGRAM: FAULT" and
# its usage.
usage_error() {
	local p=$1 fault=$2
	shift 2
	run --separate-stderr command "$p" "$@"
	echo "$p $*: $status"
	echo "$stderr"
	[ "$status" -eq "$(usage_status "$p")" ]
	[ -z "$output" ]
	[ "$stderr" = "$p: $fault"$'\n'"$(usage_of "$p")" ]
}

@test "every program: --help and -h print the usage and every option, one a line, on stdout; exit 0" {
	local p n
	for p in $ALL_PROGRAMS; do
		run --separate-stderr command "$p" --help
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[[ ${lines[0]} == "usage: $p "* ]]
		# each option a line "  -x, --name[=ARG]  help" or
		# "      --name  help" (long only)
		n=$(echo "$output" | grep -cE '^  (-[0-9A-Za-z], |    )--[a-z-]+(=[A-Z]+)?  +[^ ]')
		[ "$n" -ge 3 ]
		[ "$n" -eq "$(echo "$output" | grep -cE '^  -|^      --')" ]
		echo "$output" | grep -qx '  -h, --help  *print this help and exit'
		echo "$output" | grep -qx '  -V, --version  *print the version and exit'
		[ "$(command "$p" -h)" = "$output" ]
	done
	# the rows of quilt-send, exactly: every flag a user may give
	run command quilt-send --help
	[ "$(echo "$output" | sed -n 's/^  \(-., \)\{0,1\} *\(--[a-z-]*\).*/\2/p' | tr '\n' ' ')" = \
		"--null --all --to --json --key --max-size --netstring --node --quiet --reconnect --unreliable --verbose --deadline --exit-status --help --version --syslog --timestamps " ]
	echo "$output" | grep -q '^  -w, --deadline=SECONDS  *give up after SECONDS$'
}

@test "every program: --version prints what -V does, and exits 0" {
	local p
	for p in $ALL_PROGRAMS; do
		run --separate-stderr command "$p" --version
		[ "$status" -eq 0 ]
		[[ $output =~ ^$p\ \(quilt\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
		[ "$(command "$p" -V)" = "$output" ]
	done
}

@test "every program: an unknown option is one line naming it and the usage line (no getopt line), 64 (quilt-ping 2)" {
	local p
	for p in $ALL_PROGRAMS; do
		usage_error "$p" "unknown option --foo" --foo x
		usage_error "$p" "unknown option --foo" --foo=bar x
		usage_error "$p" "unknown option -Z" -Z x
	done
	# a letter inside a cluster, after a long option with a value
	usage_error quilt-send "unknown option -Z" --key=x -qZ 127.0.0.1:1
}

@test "a missing argument, an argument to a flag that takes none, an ambiguous prefix: one line each" {
	usage_error quilt-send "missing argument to -w" -w
	usage_error quilt-send "missing argument to --deadline" --deadline
	usage_error quilt-send "missing argument to --deadline" --dead
	usage_error quilt-send "option --all takes no argument" --all=yes 127.0.0.1:1
	usage_error quilt-ping "ambiguous option --s (--size, --syslog)" --s 1 127.0.0.1:1
	usage_error quilt-listen "missing argument to -P" -qP
	usage_error sp-mcast "missing argument to --type" --type
}

@test "a bad value names the option as typed: 'quilt-send: -w: not a number: 'x''" {
	usage_error quilt-send "-w: not a number: 'x'" -w x 127.0.0.1:1
	usage_error quilt-send "--deadline: not a number: '1s'" --deadline=1s 127.0.0.1:1
	usage_error quilt-send "-w: deadline must be 0.001..2147483.000 seconds: 0" -w 0 127.0.0.1:1
	usage_error quilt-listen "--max-conns: connection limit must be 1..100000: 0" --max-conns 0
	usage_error quilt-listen "-M: not a size: '1X'" -M 1X
	usage_error quilt-ping "--count: not a number: ''" --count= 127.0.0.1:1
	usage_error sp-mcast "-T: message type must be -32768..32767: 70000" -T 70000 g1
	usage_error quilt-send "option --deadline given twice" -w 1 --deadline 2 127.0.0.1:1
	usage_error quilt-send "option -w given twice" --deadline 1 -w 2 127.0.0.1:1
}

@test "an operand too many or missing says which" {
	usage_error quilt-ping "extra operand 'x'" 127.0.0.1:1 x
	usage_error quilt-listen "extra operand 'b'" 127.0.0.1:0 b
	usage_error quilt-keygen "extra operand 'b'" "$T/a" b
	[ ! -e "$T/a" ]
	usage_error quilt-relay "extra operand 'routes'" -Q "$T/r.ready" peers routes
	usage_error quilt-send "missing the address operand"
	usage_error quilt-ping "missing the address operand" -c 1
	usage_error quilt-keygen "missing the file operand"
	usage_error sp-join "missing the group operand" -m
	usage_error sp-mcast "missing the group operand" -x
}

@test "long options do what their letters do: a listener, a sender and a pinger given only long names" {
	local ready=$T/long.ready
	# (command: the program itself is $!, even in the sealed pass)
	command quilt-listen --quiet --ready-file="$ready" --max-conns 3 \
		--node=lnode --max-size=1K 127.0.0.1:0 \
		>"$T/long.out" 2>"$T/long.err" </dev/null 3>&- 4>&- &
	LPID=$!
	track "$LPID"
	wait_ready "$ready" "$LPID" long
	ADDR=$(cat "$ready")
	run --separate-stderr command quilt-send --node=me --deadline 10 --null -- "$ADDR" < <(printf 'a\0b\0')
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(tr '\n' '|' <"$T/long.out")" = "a|b|" ]
	# --max-size reached the listener's hello: 65 for a message over it
	run --separate-stderr command quilt-send "$ADDR" "$(head -c 2000 /dev/zero | tr '\0' x)"
	[ "$status" -eq 65 ]
	run --separate-stderr command quilt-ping --count=2 --interval 0 --quiet --to lnode "$ADDR"
	[ "$status" -eq 0 ]
	[[ $output == *"2 packets transmitted, 2 received, 0% packet loss"* ]]
	[[ $output != *"bytes from"* ]]
	stop_listener
	[ "$status" -eq 0 ]
	[ ! -s "$T/long.err" ]
}

@test "--timestamps: each diagnostic line starts with the UTC time" {
	local t0 ts
	t0=$(date -u +%s)
	run --separate-stderr quilt-send --timestamps -w 5 127.0.0.1:1 x
	echo "$stderr"
	[ "$status" -eq 69 ]
	[[ $stderr =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\ quilt-send:\ connect\ 127\.0\.0\.1:1:\ Connection\ refused$ ]]
	ts=$(date -u -d "${stderr%%.*}" +%s)
	[ "$ts" -ge "$t0" ] && [ "$ts" -le $((t0 + 60)) ]
	# a relay's children stamp their lines too
	start_helper b bindonly
	quilt-relay -v --timestamps -n r1 -l 127.0.0.1:0 -P "$T/r1.ready" "$HADDR" \
		</dev/null >/dev/null 2>"$T/r1.err" 3>&- 4>&- &
	track $!
	wait_ready "$T/r1.ready" $! r1
	wait_for file_has "$T/r1.err" 'quilt-send: connect'
	grep 'quilt-send: connect' "$T/r1.err" | head -n 1 |
		grep -qE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z quilt-send: connect'
	! grep -vqE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z quilt-(relay|send|listen): ' "$T/r1.err"
}

# in_syslog_ns SCRIPT: run SCRIPT (bash) in a mount namespace of its own
# whose /dev holds only null and log, a datagram socket whose every message
# is appended to $T/syslog, a line each: the machine's /dev is left alone, and the test
# needs no syslog daemon.
in_syslog_ns() {
	if ! unshare -m true 2>/dev/null || ! command -v python3 >/dev/null; then
		skip "needs unshare -m (root) and python3"
	fi
	unshare -m bash -c '
		set -e
		mount --make-rprivate /
		mount -t tmpfs none /dev
		mknod -m 666 /dev/null c 1 3
		rm -f "$1/logready"
		mkfifo "$1/logready"
		exec 7<>"$1/logready"
		# the reader says when /dev/log is bound, and ends once
		# $1/syslog has the lines the script counted in $1/want (or
		# after 10 s of silence)
		python3 -c "
import socket, sys
want = int(open(sys.argv[1] + \"/want\").read())
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
s.settimeout(10)
open(sys.argv[1] + \"/logready\", \"w\").write(\"ready\\n\")
try:
    n = open(sys.argv[1] + \"/syslog\", \"rb\").read().count(b\"\\n\")
except FileNotFoundError:
    n = 0
with open(sys.argv[1] + \"/syslog\", \"ab\", buffering=0) as f:
    while n < want:
        try:
            f.write(s.recv(65536) + b\"\\n\")
        except socket.timeout:
            break
        n += 1
" "$1" &
		rx=$!
		read -r -t 10 -u 7 _
		[ -S /dev/log ]
		rc=0
		bash -c "$2" || rc=$?
		wait $rx
		exit $rc' _ "$T" "$1"
}

@test "--syslog: diagnostics go to syslog (daemon facility, name[pid], priority), not stderr; usage errors stay on stderr" {
	echo 1 >"$T/want"
	run --separate-stderr in_syslog_ns "quilt-send --syslog -w 5 127.0.0.1:1 x"
	[ "$status" -eq 69 ]
	[ -z "$stderr" ]
	cat "$T/syslog"
	# daemon (3) * 8 + warning (4) = 28
	grep -qE '^<28>.* quilt-send\[[0-9]+\]: connect 127\.0\.0\.1:1: Connection refused$' "$T/syslog"
	# fatal: err (3), 27
	echo 2 >"$T/want"
	run --separate-stderr in_syslog_ns "quilt-listen --syslog -k $T/none 127.0.0.1:0"
	[ "$status" -eq 66 ]
	[ -z "$stderr" ]
	grep -qE "^<27>.* quilt-listen\[[0-9]+\]: key file $T/none: No such file or directory$" "$T/syslog"
	usage_error quilt-send "unknown option -Z" --syslog -Z
}

@test "every program: -h prints its usage on stdout and exits 0" {
	for p in quilt-listen quilt-send quilt-ping; do
		run --separate-stderr "$p" -h
		[ "$status" -eq 0 ]
		[[ $output == *"$p"* ]]
		[ -z "$stderr" ]
	done
}

@test "every program: -V prints 'PROG (quilt) VERSION' and exits 0" {
	for p in quilt-listen quilt-send quilt-ping; do
		run --separate-stderr "$p" -V
		[ "$status" -eq 0 ]
		[[ $output =~ ^$p\ \(quilt\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	done
}

@test "quilt-listen and quilt-send: an unknown flag is 64 with the usage on stderr" {
	for p in quilt-listen quilt-send; do
		run --separate-stderr "$p" -Z 127.0.0.1:1
		[ "$status" -eq 64 ]
		[ -z "$output" ]
		[[ $stderr == *"$p"* ]]
	done
}

@test "quilt-ping: an unknown flag is 2 (ping's convention) with the usage on stderr" {
	run --separate-stderr quilt-ping -Z 127.0.0.1:1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == *quilt-ping* ]]
}

@test "quilt-send and quilt-ping: a missing address operand is a usage error" {
	run --separate-stderr quilt-send
	[ "$status" -eq 64 ]
	[[ $stderr == *quilt-send* ]]
	run --separate-stderr quilt-ping
	[ "$status" -eq 2 ]
	[[ $stderr == *quilt-ping* ]]
}

@test "a value option given twice: 'PROG: option -X given twice'" {
	run --separate-stderr quilt-listen -c 1 -c 2 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-listen: option -c given twice"* ]]
	run --separate-stderr quilt-send -w 1 -w 2 127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-send: option -w given twice"* ]]
	run --separate-stderr quilt-ping -c 1 -c 2 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ $stderr == "quilt-ping: option -c given twice"* ]]
}

@test "numbers out of range: 'PROG: WHAT must be LO..HI: VALUE'" {
	run --separate-stderr quilt-listen -c 0 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr =~ ^quilt-listen:\ .*must\ be\ 1\.\.100000:\ 0 ]]
	run --separate-stderr quilt-listen -b 65536 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr =~ ^quilt-listen:\ .*must\ be\ 1\.\.65535:\ 65536 ]]
	run --separate-stderr quilt-listen -c abc 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-listen: -c: not a number: 'abc'"* ]]
	run --separate-stderr quilt-listen -M 10 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr =~ ^quilt-listen:\ .*must\ be\ .*:\ 10 ]]
	run --separate-stderr quilt-listen -M 2G 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr =~ ^quilt-listen:\ .*must\ be\ .*:\ 2G ]]
	run --separate-stderr quilt-send -w 0 127.0.0.1:1 x
	[ "$status" -eq 64 ]
	[[ $stderr =~ ^quilt-send:\ .*must\ be\ .*:\ 0 ]]
	run --separate-stderr quilt-ping -c 0 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ $stderr =~ ^quilt-ping:\ .*must\ be\ .*:\ 0 ]]
	run --separate-stderr quilt-ping -s 65537 127.0.0.1:1
	[ "$status" -eq 2 ]
	[[ $stderr =~ ^quilt-ping:\ .*must\ be\ 0\.\.65536:\ 65537 ]]
}

@test "quilt-listen: -R with -k is a usage error (64)" {
	run --separate-stderr quilt-listen -R -k /dev/null 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == quilt-listen:* ]]
}

@test "quilt-listen: -R with -N is a usage error (64)" {
	run --separate-stderr quilt-listen -R -N -P "$T/never" 127.0.0.1:0
	[ "$status" -eq 64 ]
	[[ $stderr == quilt-listen:* ]]
	[ ! -e "$T/never" ]
}

@test "quilt-listen: a malformed address or range is a usage error (64)" {
	# (not ports: malformed on purpose)
	lo=127.0.0.1
	for a in "$lo:99999" "$lo:abc" '[::1' "$lo:2000-1000"; do
		run --separate-stderr quilt-listen -P "$T/never" "$a"
		echo "$a: $status $stderr"
		[ "$status" -eq 64 ]
		[[ $stderr == quilt-listen:* ]]
		[ ! -e "$T/never" ]
	done
}

@test "options come before operands: an operand that looks like a flag is a message" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" -v -- -x
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stop_listener
	[ "$(cat "$T/listen.out")" = "$(printf -- '-v\n--\n-x')" ]
}

# ---- quilt-listen exit statuses ---------------------------------------------

@test "quilt-listen: a port already in use is 71 'quilt-listen: bind ADDR: Address already in use'" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-listen -P "$T/second" "127.0.0.1:$PORT"
	[ "$status" -eq 71 ]
	[[ $stderr == "quilt-listen: bind 127.0.0.1:$PORT: Address already in use"* ]]
	[ ! -e "$T/second" ]
	# a listener that failed leaves the ready file of the one that runs alone
	run --separate-stderr quilt-listen -P "$T/listen.ready" "127.0.0.1:$PORT"
	[ "$status" -eq 71 ]
	[ "$(cat "$T/listen.ready")" = "$ADDR" ]
}

@test "quilt-listen: a range whose every port is taken is 71" {
	start_helper b bindonly
	p=${HADDR##*:}
	run --separate-stderr quilt-listen -P "$T/second" "127.0.0.1:$p-$p"
	[ "$status" -eq 71 ]
	[[ $stderr == quilt-listen:* ]]
}

@test "quilt-listen: a failing standard output is 74, and the message is not acknowledged (sender 1)" {
	LOUT=/dev/full start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" lost
	[ "$status" -eq 1 ]
	[[ $stderr == "quilt-send: $ADDR: connection lost: 1 message"*" not acknowledged"* ]]
	wait_exit "$LPID"
	[ "$status" -eq 74 ]
	grep -q '^quilt-listen: ' "$T/listen.err"
}

# ---- quilt-send exit statuses ------------------------------------------------

@test "quilt-send: a name that does not resolve is 68 'quilt-send: resolve HOST'" {
	run --separate-stderr quilt-send nosuch.invalid:1601 x
	if [ "$status" -eq 75 ]; then
		skip "no DNS resolver reachable here (75: $stderr)"
	fi
	[ "$status" -eq 68 ]
	[[ $stderr == "quilt-send: resolve nosuch.invalid"* ]]
}

@test "quilt-send: a port bound but not listening is 69 'quilt-send: connect ADDR: Connection refused'" {
	start_helper b bindonly
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 69 ]
	[[ $stderr == "quilt-send: connect $HADDR: Connection refused"* ]]
}

@test "quilt-send: a stopped listener is 75 'quilt-send: ADDR: timed out' (QUILT_CONNECT_TIMEOUT)" {
	start_listener 127.0.0.1:0
	kill -STOP "$LPID"
	t0=${EPOCHREALTIME/./}
	QUILT_CONNECT_TIMEOUT=500 run --separate-stderr quilt-send "$ADDR" x
	t1=${EPOCHREALTIME/./}
	[ "$status" -eq 75 ]
	[[ $stderr == "quilt-send: $ADDR: timed out"* ]]
	# bounded by the override, not by the 10 s default
	[ $((t1 - t0)) -lt 5000000 ]
}

@test "quilt-send: -w shorter than the connect timeout gives 75 at -w" {
	start_listener 127.0.0.1:0
	kill -STOP "$LPID"
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-send -w 0.4 "$ADDR" x
	t1=${EPOCHREALTIME/./}
	[ "$status" -eq 75 ]
	[[ $stderr == "quilt-send: $ADDR: timed out"* ]]
	[ $((t1 - t0)) -lt 5000000 ]
}

@test "quilt-send: a peer answering garbage is 76 'quilt-send: ADDR: ...'" {
	start_helper peer rawpeer -s 'garbage, not a hello\n'
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 76 ]
	[[ $stderr == "quilt-send: $HADDR: "* ]]
}

@test "quilt-send: a peer with no common protocol version is 76 and says why" {
	start_helper peer rawpeer -s "$(quilt_hello 9-9 future)"
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 76 ]
	[[ $stderr == "quilt-send: $HADDR: "* ]]
	[[ $stderr == *version* ]]
}

@test "quilt-send: a refusal coded auth says authentication failed, whatever its text: 76" {
	start_helper peer rawpeer -s "$(msgns '' error 'key mismatch' auth)"
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 76 ]
	[ "$stderr" = "quilt-send: $HADDR: refused: authentication failed: key mismatch" ]
	run --separate-stderr quilt-ping -c 1 "$HADDR"
	[ "$status" -eq 2 ]
	[ "$stderr" = "quilt-ping: $HADDR: refused: authentication failed: key mismatch" ]
}

@test "quilt-send: a refusal coded full (no room for the session) is 69, not 76" {
	start_helper peer rawpeer -s "$(msgns '' error 'too many live sessions' full)"
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 69 ]
	[ "$stderr" = "quilt-send: connect $HADDR: refused: too many live sessions" ]
}

@test "quilt-send: a refusal without a code is 76 and shows its text" {
	start_helper peer rawpeer -s "$(msgns '' error 'authentication is not the point')"
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 76 ]
	[ "$stderr" = "quilt-send: $HADDR: refused: authentication is not the point" ]
}

@test "quilt-send: a listener's hello with a bad field is 76 and names the field" {
	skip_if_sealed "rawpeer's hello is a plaintext one"
	start_helper peer rawpeer -s "$(msgns '' hello quilt 1-1 node=small \
		session=00112233445566778899aabbccddeeff max=10 sealed=0 resume=0)"
	run --separate-stderr quilt-send "$HADDR" x
	[ "$status" -eq 76 ]
	[ "$stderr" = "quilt-send: $HADDR: bad hello from the peer: the max field is missing, malformed or under 64" ]
}

@test "quilt-send: the listener gone mid-stream is 1 'connection lost: N messages not acknowledged'" {
	start_listener 127.0.0.1:0
	mkfifo "$T/in"
	BG_IN=$T/in start_bg send quilt-send "$ADDR"
	spid=$BGPID
	exec 5>"$T/in"
	echo one >&5
	wait_for file_has "$T/listen.out" '^one$'
	# Messages sent from now on stay unacknowledged in the stopped
	# listener's receive queue; then it dies.
	kill -STOP "$LPID"
	printf 'two\nthree\n' >&5
	wait_for "[ \$(tcp_rx_queue $PORT) -gt 0 ]"
	kill -KILL "$LPID"
	exec 5>&-
	wait_exit "$spid"
	cat "$T/send.err"
	[ "$status" -eq 1 ]
	grep -Eq "^quilt-send: $ADDR: connection lost: [1-3] messages? not acknowledged" "$T/send.err"
}

@test "quilt-send: malformed netstrings on stdin are 65 'quilt-send: stdin: malformed netstring'" {
	start_listener 127.0.0.1:0
	for bad in '3:ab,' '03:abc,' '5:1:a,,,' 'x' '4:1:ab,,'; do
		run --separate-stderr quilt-send -N "$ADDR" < <(printf '%s' "$bad")
		echo "$bad: $status $stderr"
		[ "$status" -eq 65 ]
		[[ $stderr == "quilt-send: stdin: malformed netstring"* ]]
	done
}

@test "quilt-send: a message over the peer's -M limit is refused locally: 65" {
	start_listener -M 1K 127.0.0.1:0
	big=$(head -c 2000 /dev/zero | tr '\0' x)
	run --separate-stderr quilt-send "$ADDR" "$big"
	[ "$status" -eq 65 ]
	[[ $stderr =~ ^quilt-send:\ message\ of\ 2000\ bytes\ \(2015\ with\ its\ envelope\)\ exceeds\ the\ peer\'s\ limit\ of\ 1024 ]]
	[ ! -s "$T/listen.out" ]
}

@test "quilt-send: its own standard input failing is 74" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-send "$ADDR" </
	[ "$status" -eq 74 ]
	[[ $stderr == quilt-send:* ]]
}

# ---- quilt-ping exit statuses ------------------------------------------------

@test "quilt-ping: refused is 2, with the reason on stderr" {
	start_helper b bindonly
	run --separate-stderr quilt-ping -c 1 "$HADDR"
	[ "$status" -eq 2 ]
	[[ $stderr == quilt-ping:* ]]
	[[ $stderr == *"Connection refused"* ]]
}

@test "quilt-ping: a name that does not resolve is 2" {
	run --separate-stderr quilt-ping -c 1 nosuch.invalid:1601
	[ "$status" -eq 2 ]
	[[ $stderr == quilt-ping:* ]]
}

@test "quilt-ping: a garbage-speaking peer is 2" {
	start_helper peer rawpeer
	run --separate-stderr quilt-ping -c 1 -W 2 "$HADDR"
	[ "$status" -eq 2 ]
	[[ $stderr == quilt-ping:* ]]
}

@test "quilt-ping: no reply (a stopped listener) is 1 with 100% packet loss" {
	start_listener 127.0.0.1:0
	kill -STOP "$LPID"
	QUILT_CONNECT_TIMEOUT=500 run --separate-stderr quilt-ping -c 1 -W 0.5 "$ADDR"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $output == *" 0 received, 100% packet loss"* ]]
	[[ $output != *rtt* ]]
}

@test "quilt-ping: a peer that completes the hello but never answers pings is 1" {
	skip_if_sealed "rawpeer's hello is a plaintext one"
	start_helper peer rawpeer -s "$(quilt_hello 1-1 mute)"
	run --separate-stderr quilt-ping -c 2 -i 0.1 -W 0.3 "$HADDR"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $output == *"2 packets transmitted, 0 received, 100% packet loss"* ]]
	[[ $output != *rtt* ]]
}
