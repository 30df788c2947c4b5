#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-listen and quilt-relay as services: the listening socket from
# systemd's socket activation (systemd-socket-activate, LISTEN_FDS), the
# readiness datagrams on NOTIFY_SOCKET (a socket notifysink makes), and
# --allow / --deny (peers at 127.0.0.2 and friends through qproxy -s, ::1,
# IPv4-mapped peers on a dual-stack socket).

load helpers/relay

# activate NAME SOCKET [-E VAR=VALUE] CMD...: systemd-socket-activate -l
# SOCKET CMD in the background (stdout $T/NAME.out, stderr $T/NAME.err),
# waiting until it listens; it runs CMD, in its own process, at the first
# connection, with LISTEN_* and the variables of -E alone.  Sets SAPID.
activate() {
	local name=$1 sock=$2
	shift 2
	command -v systemd-socket-activate >/dev/null ||
		skip "no systemd-socket-activate (apt-get install systemd)"
	start_bg "$name" systemd-socket-activate -l "$sock" "$@"
	SAPID=$BGPID
	wait_for "file_has '$T/$name.err' '^Listening on ' || ! proc_alive $SAPID"
	file_has "$T/$name.err" '^Listening on '
}

# exe_of PID: the program PID runs.
exe_of() {
	basename "$(readlink "/proc/$1/exe")"
}

# listen_child PID: the pid of relay PID's quilt-listen child.
listen_child() {
	children "$1" | awk '$2 ~ /quilt-listen$/ { print $1 }'
}

# new_listen_child PID OLD: relay PID has a listen child, not OLD.
new_listen_child() {
	local c
	c=$(listen_child "$1")
	[ -n "$c" ] && [ "$c" != "$2" ]
}

# udp_activate NAME CMD...: as systemd does for a ListenDatagram= socket,
# CMD with a UDP socket bound to 127.0.0.1:0 as fd 3, LISTEN_FDS=1 and
# LISTEN_PID its own pid (python3 binds and execs; systemd-socket-activate
# takes no port 0); the port goes to $T/NAME.port.  Sets SAPID.
udp_activate() {
	local name=$1
	shift
	start_bg "$name" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execvp(sys.argv[2], sys.argv[2:])' "$T/$name.port" "$@"
	SAPID=$BGPID
}

# sink NAME SOCKET: notifysink on SOCKET, printing to $T/NAME.out.
sink() {
	start_helper "$1" notifysink "$2"
	NSPID=$HPID
}

@test "systemd-socket-activate: quilt-listen takes the socket at the first connection, says where, writes what comes and leaves the socket to its owner" {
	activate sa "$T/sa.sock" quilt-listen -P "$T/l.ready"
	run quilt-send "unix:$T/sa.sock" hello 'second message'
	[ "$status" -eq 0 ]
	[ "$(exe_of "$SAPID")" = quilt-listen ]
	[ "$(cat "$T/l.ready")" = "unix:$T/sa.sock" ]
	[ "$(cat "$T/sa.out")" = "hello
second message" ]
	grep -qx "quilt-listen: listening on unix:$T/sa.sock" "$T/sa.err"
	kill -TERM "$SAPID"
	wait_exit "$SAPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/l.ready" ]
	[ -S "$T/sa.sock" ]
}

@test "socket activation and NOTIFY_SOCKET are for quilt-listen alone: its handler sees neither" {
	sink ns "$T/notify"
	activate sa "$T/sa.sock" -E "NOTIFY_SOCKET=$T/notify" \
		quilt-listen -e "env >'$T/h.env'; cat >/dev/null"
	run quilt-send "unix:$T/sa.sock" one
	[ "$status" -eq 0 ]
	wait_for file_has "$T/h.env" '^PROTO=UNIX$'
	run grep -cE '^(LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES|NOTIFY_SOCKET)=' "$T/h.env"
	[ "$output" = 0 ]
	wait_for lines_at_least "$T/ns.out" 1
	[ "$(cat "$T/ns.out")" = "READY=1	$SAPID" ]
}

@test "LISTEN_PID of another process is not ours; two sockets, fd 3 no listening socket, LISTEN_FDS not a number, a socket and an address: exit 64, one line" {
	LISTEN_PID=1 LISTEN_FDS=1 start_listener 127.0.0.1:0
	[[ $ADDR == 127.0.0.1:* ]]
	run quilt-send "$ADDR" still-binds
	[ "$status" -eq 0 ]

	run -64 --separate-stderr bash -c 'LISTEN_PID=$$ LISTEN_FDS=2 exec quilt-listen'
	[ "$stderr" = "quilt-listen: socket activation: LISTEN_FDS passes more than one socket" ]
	run -64 --separate-stderr bash -c 'exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec quilt-listen'
	[ "$stderr" = "quilt-listen: socket activation: fd 3 is not a listening stream socket or a UDP socket" ]
	run -64 --separate-stderr bash -c 'LISTEN_PID=$$ LISTEN_FDS=x exec quilt-relay -n n1'
	[ "$stderr" = "quilt-relay: socket activation: LISTEN_FDS is not a number" ]

	activate sa "$T/sa.sock" quilt-listen 127.0.0.1:0
	run quilt-send "unix:$T/sa.sock" x
	[ "$status" -ne 0 ]
	wait_exit "$SAPID"
	[ "$status" -eq 64 ]
	grep -qx 'quilt-listen: an address operand and a socket from systemd (LISTEN_FDS) are exclusive' "$T/sa.err"

	activate ra "$T/ra.sock" quilt-relay -n n1 -l 127.0.0.1:0
	run quilt-send "unix:$T/ra.sock" x
	[ "$status" -ne 0 ]
	wait_exit "$SAPID"
	[ "$status" -eq 64 ]
	grep -qx 'quilt-relay: -l and a socket from systemd (LISTEN_FDS) are exclusive' "$T/ra.err"
}

@test "a UDP socket from the service manager (ListenDatagram=): quilt-listen serves udp: on it, says udp:ADDRESS, ends on SIGTERM leaving it; quilt-relay refuses one, and -R on one is a usage error: exit 64, one line" {
	local seal=()
	[ -n "${QUILT_SEAL_KEY:-}" ] && seal=(-k "$QUILT_SEAL_KEY")
	udp_activate ua quilt-listen "${seal[@]}" -P "$T/ua.ready"
	wait_ready "$T/ua.ready" "$SAPID" ua
	port=$(cat "$T/ua.port")
	[ "$(cat "$T/ua.ready")" = "udp:127.0.0.1:$port" ]
	[ "$(exe_of "$SAPID")" = quilt-listen ]
	run quilt-send "udp:127.0.0.1:$port" hello 'second message'
	[ "$status" -eq 0 ]
	[ "$(cat "$T/ua.out")" = "hello
second message" ]
	grep -qx "quilt-listen: listening on udp:127.0.0.1:$port" "$T/ua.err"
	kill -TERM "$SAPID"
	wait_exit "$SAPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/ua.ready" ]

	udp_activate ur quilt-relay -n n1
	wait_exit "$SAPID"
	[ "$status" -eq 64 ]
	[ "$(cat "$T/ur.err")" = "quilt-relay: socket activation: fd 3 is not a listening stream socket" ]
	udp_activate uR quilt-listen -R
	wait_exit "$SAPID"
	[ "$status" -eq 64 ]
	grep -qx 'quilt-listen: -R is for stream sockets: udp: carries quilt messages only (the socket from systemd is a UDP one)' "$T/uR.err"
}

@test "NOTIFY_SOCKET: READY=1 from quilt-listen itself once its ready file is there, STOPPING=1 on SIGTERM; at a path and at an @abstract name" {
	local name
	for name in "$T/notify" "@quilt-test-${T##*/}"; do
		rm -f "$T/ns.out" "$T/ns.ready"
		sink ns "$name"
		NOTIFY_SOCKET=$name start_listener 127.0.0.1:0
		wait_for lines_at_least "$T/ns.out" 1
		[ "$(cat "$T/ns.out")" = "READY=1	$LPID" ]
		stop_listener
		[ "$status" -eq 0 ]
		wait_for lines_at_least "$T/ns.out" 2
		[ "$(cat "$T/ns.out")" = "READY=1	$LPID
STOPPING=1	$LPID" ]
		kill "$NSPID"
	done
	# one that is neither: a warning, and it runs
	NOTIFY_SOCKET=nowhere LNAME=bad start_listener 127.0.0.1:0
	grep -qx 'quilt-listen: NOTIFY_SOCKET is not a path or an @abstract name: not telling the service manager we are ready' "$T/bad.err"
}

@test "quilt-relay: the socket from systemd goes to its listen child, and to the next one after a kill -9; READY=1 and STOPPING=1 from the relay alone; the children see none of it" {
	local c1
	sink ns "$T/notify"
	activate n1 "$T/n1.sock" -E "NOTIFY_SOCKET=$T/notify" quilt-relay -n n1 -P "$T/n1.ready"
	run quilt-send -w 20 -d n1 "unix:$T/n1.sock" one
	[ "$status" -eq 0 ]
	[ "$(exe_of "$SAPID")" = quilt-relay ]
	wait_for "[ -s '$T/n1.ready' ]"
	note_ctl "$T/n1.ready"
	[ "$(head -n 1 "$T/n1.ready")" = "unix:$T/n1.sock" ]
	wait_for lines_at_least "$T/ns.out" 1
	[ "$(cat "$T/ns.out")" = "READY=1	$SAPID" ]
	c1=$(listen_child "$SAPID")
	[ -n "$c1" ]
	children "$SAPID" | grep -q -- '-C .* --listen-fd 4$'
	run grep -cE '^(LISTEN_|NOTIFY_SOCKET)' < <(tr '\0' '\n' <"/proc/$c1/environ")
	[ "$output" = 0 ]
	kill -KILL "$c1"
	wait_for new_listen_child "$SAPID" "$c1"
	run quilt-send -w 20 -d n1 "unix:$T/n1.sock" two
	[ "$status" -eq 0 ]
	[ "$(cut -f 2 "$T/n1.out")" = "one
two" ]
	kill -TERM "$SAPID"
	wait_exit "$SAPID"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/ns.out")" = "READY=1	$SAPID
STOPPING=1	$SAPID" ]
	[ -S "$T/n1.sock" ]
}

@test "--deny 127.0.0.2: a peer from 127.0.0.2 is reset before its hello (quilt-send: 69), counted; 127.0.0.1 and 127.0.0.3 are served" {
	start_listener -v --allow 127.0.0.0/8 --deny 127.0.0.2 127.0.0.1:0
	start_proxy -s 127.0.0.2:0 "$ADDR"
	run --separate-stderr quilt-send "$PXADDR" refused
	[ "$status" -eq 69 ]
	[ "$stderr" = "quilt-send: connect $PXADDR: Connection reset by peer" ]
	start_helper p3 qproxy -s 127.0.0.3:0 "$ADDR"
	run quilt-send "$HADDR" 'from 127.0.0.3'
	[ "$status" -eq 0 ]
	run quilt-send "$ADDR" 'from 127.0.0.1'
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(cat "$T/listen.out")" = "from 127.0.0.3
from 127.0.0.1" ]
	[ "$(grep -c 'refused' "$T/listen.err")" -eq 2 ]
	grep -qE '^quilt-listen: 127\.0\.0\.2:[0-9]+: refused \(--allow, --deny\)$' "$T/listen.err"
	grep -qx 'quilt-listen: connections 3, refused 1 (--allow, --deny)' "$T/listen.err"
	# nothing of the refused peer reached the hello
	[ "$(grep -c '127\.0\.0\.2:.*: node ' "$T/listen.err")" -eq 0 ]
}

@test "--allow and --deny over IPv6: ::1 against v6 prefixes, IPv4-mapped peers of a dual-stack socket against v4 ones" {
	have_ipv6 || skip "no IPv6 on the loopback"
	LNAME=a start_listener --allow 2001:db8::/32 '[::1]:0'
	run quilt-send "$ADDR" x
	[ "$status" -eq 69 ]
	LNAME=b start_listener --deny ::1 --allow ::/0 '[::1]:0'
	run quilt-send "$ADDR" x
	[ "$status" -eq 69 ]
	# a v4 rule does not touch a v6 peer
	LNAME=c start_listener --deny 0.0.0.0/0 '[::1]:0'
	run quilt-send "$ADDR" 'v6 served'
	[ "$status" -eq 0 ]
	# dual stack: ::ffff:127.0.0.2 is 127.0.0.2; ::1 is not in 127.0.0.0/8
	LNAME=d start_listener -v --allow 127.0.0.0/8 --deny 127.0.0.2 :0
	start_proxy -s 127.0.0.2:0 "127.0.0.1:$PORT"
	run quilt-send "$PXADDR" x
	[ "$status" -eq 69 ]
	start_helper p3 qproxy -s 127.0.0.3:0 "127.0.0.1:$PORT"
	run quilt-send "$HADDR" 'mapped served'
	[ "$status" -eq 0 ]
	run quilt-send "[::1]:$PORT" x
	[ "$status" -eq 69 ]
	stop_listener
	[ "$(cat "$T/d.out")" = 'mapped served' ]
	grep -qE '^quilt-listen: 127\.0\.0\.2:[0-9]+: refused' "$T/d.err"
	grep -qE '^quilt-listen: \[::1\]:[0-9]+: refused' "$T/d.err"
	grep -qx 'quilt-listen: connections 3, refused 2 (--allow, --deny)' "$T/d.err"
	[ "$(cat "$T/c.out")" = 'v6 served' ]
}

@test "quilt-relay --deny: its listen child resets a client from 127.0.0.2 before the hello, serves 127.0.0.1" {
	start_relay n1 -v --deny 127.0.0.2 -l 127.0.0.1:0
	children "$RPID" | grep -q -- ' --deny 127\.0\.0\.2 127\.0\.0\.1:0$'
	start_proxy -s 127.0.0.2:0 "$RADDR"
	run quilt-send -d n1 "$PXADDR" refused
	[ "$status" -eq 69 ]
	run quilt-send -d n1 "$RADDR" served
	[ "$status" -eq 0 ]
	[ "$(cut -f 2 "$T/n1.out")" = served ]
	grep -qE '^quilt-listen: 127\.0\.0\.2:[0-9]+: refused \(--allow, --deny\)$' "$T/n1.err"
}

@test "a malformed prefix: one line naming it, exit 64 (quilt-listen, quilt-relay); 64 rules at most" {
	run -64 --separate-stderr quilt-listen --allow 10.0.0.0/33
	[ "${stderr%%$'\n'*}" = "quilt-listen: --allow 10.0.0.0/33: prefix length must be 0..32" ]
	run -64 --separate-stderr quilt-listen --deny example.org
	[ "${stderr%%$'\n'*}" = "quilt-listen: --deny example.org: not an IPv4 or IPv6 address" ]
	run -64 --separate-stderr quilt-relay -n n1 --deny ::/129
	[ "${stderr%%$'\n'*}" = "quilt-relay: --deny ::/129: prefix length must be 0..128" ]
	run -64 --separate-stderr quilt-relay -n n1 --allow=127.0.0.1/
	[ "${stderr%%$'\n'*}" = "quilt-relay: --allow 127.0.0.1/: bad prefix length" ]
	local many=() i
	for i in $(seq 65); do many+=(--deny "10.0.$i.0/24"); done
	run -64 --separate-stderr quilt-listen "${many[@]}"
	[ "${stderr%%$'\n'*}" = "quilt-listen: --deny 10.0.65.0/24: too many rules" ]
}
