#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-relay -D MESH: relays find each other on the local network by
# DNS-SD (_quilt._tcp), through Avahi's avahi-publish and avahi-browse run
# as children.  Simulated hosts (scripts/hosts create -m) each run their
# own dbus and avahi-daemon; a test skips, saying why, where hosts or Avahi
# cannot be had.

load helpers/relay
load helpers/hosts

setup() {
	setup_quilt
	: >"$T/ctls"
	M=''
}

# The relays first, with SIGTERM (they withdraw and remove their control
# sockets); then every process of the hosts, with SIGKILL; then what a
# relay killed with kill -9 left in /tmp.
teardown() {
	local p pids=() c st=0
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		mapfile -t pids <"$T/pids"
		for p in "${pids[@]}"; do
			kill -CONT "$p" 2>/dev/null
			kill -TERM "$p" 2>/dev/null
		done
		wait_for -t 5 all_gone "${pids[@]}" 2>/dev/null
	fi
	teardown_hosts || st=1
	if [ -n "${T:-}" ] && [ -f "$T/ctls" ]; then
		while read -r c; do
			[ -S "$c" ] && rm -f "$c"
		done <"$T/ctls"
	fi
	teardown_quilt
	return "$st"
}

# need_avahi: skip unless the daemons and tools are installed.
need_avahi() {
	local c
	for c in dbus-daemon avahi-daemon avahi-publish avahi-browse; do
		command -v "$c" >/dev/null ||
			skip "$c is not installed (scripts/deps --discovery)"
	done
}

# avahi_up HOST...: a system bus and an avahi-daemon in each HOST, on its
# eth0 alone, with no resource limits (avahi-daemon -D returns once it is
# on the bus).
avahi_up() {
	local h
	cat >"$T/avahi-daemon.conf" <<'EOF'
[server]
use-ipv4=yes
use-ipv6=yes
allow-interfaces=eth0
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF
	for h in "$@"; do
		hosts exec "$h" sh -c "mkdir -p /run/dbus && dbus-daemon --system --fork &&
			avahi-daemon -D --no-chroot -f '$T/avahi-daemon.conf'"
	done
}

# relay_in HOST NAME ARGS...: quilt-relay -n NAME -P $T/NAME.ready ARGS in
# HOST (RPID is the relay itself, also in $T/NAME.pid); waits for the
# ready file unless NOWAIT is set.
relay_in() {
	local h=$1 name=$2
	shift 2
	rm -f "$T/$name.ready"
	start_in "$h" "$name" env --default-signal=INT,QUIT \
		quilt-relay -n "$name" -P "$T/$name.ready" "$@"
	RPID=$BGPID
	echo "$RPID" >"$T/$name.pid"
	[ -n "${NOWAIT:-}" ] || relay_ready "$name"
}

# relay_ready NAME: wait for the ready file of relay NAME.
relay_ready() {
	wait_ready "$T/$1.ready" "$(cat "$T/$1.pid")" "$1" || return 1
	note_ctl "$T/$1.ready"
}

# relays_in N: relays n1..nN with -D lab, one in each host 1..N, started
# together.
relays_in() {
	local i
	for ((i = 1; i <= $1; i++)); do
		NOWAIT=1 relay_in "$i" "n$i" -l :0 -D lab
	done
	for ((i = 1; i <= $1; i++)); do
		relay_ready "n$i" || return 1
	done
}

# port_of NAME: the port NAME listens on.
port_of() {
	local a
	a=$(head -n 1 "$T/$1.ready")
	echo "${a##*:}"
}

# listed HOST NAME...: the relays of mesh lab that avahi-browse -p -t -r
# shows in HOST (over IPv4), exactly NAME..., each with its host, address,
# port and TXT.
listed() {
	local h=$1 n want=()
	shift
	for n in "$@"; do
		want+=("=;eth0;IPv4;$n;_quilt._tcp;local;h${n#n}.local;198.18.0.${n#n};$(port_of "$n");\"node=$n\" \"mesh=lab\"")
	done
	[ "$(hosts exec "$h" avahi-browse -p -t -r _quilt._tcp 2>/dev/null |
		grep '^=;eth0;IPv4;' | sort)" = "$(printf '%s\n' "${want[@]}" | sort)" ]
}

# child_of PID PROGRAM: the pid of PID's one child running PROGRAM.
child_of() {
	children "$1" | awk -v p="$2" '$2 == p { n++; c = $1 }
		END { if (n == 1) print c; else exit 1 }'
}

# peers_are NAME LINE...: NAME's peers (node and state) are exactly LINE...
peers_are() {
	local n=$1
	shift
	[ "$(ctl "$n" peers | cut -f 1,3 | sort)" = "$(tabs "$@" | sort)" ]
}

# restarts NAME: NAME's restarts counter.
restarts() {
	ctl "$1" counters | awk '$1 == "restarts" { print $2 }'
}

@test "three hosts: relays with -D and no peers converge, and avahi-browse lists them" {
	need_avahi
	setup_hosts -m 3
	avahi_up 1 2 3
	relays_in 3
	wait_routes n1 "n2 n2 1" "n3 n3 1"
	wait_routes n2 "n1 n1 1" "n3 n3 1"
	wait_routes n3 "n1 n1 1" "n2 n2 1"
	# one link to each other relay, whichever side made it first
	for i in 1 2 3; do
		run ctl "n$i" peers
		[ "${#lines[@]}" -eq 2 ]
		[ "$(printf '%s\n' "${lines[@]}" | cut -f 3 | sort -u)" = up ]
	done
	listed 2 n1 n2 n3
	# nothing said on stderr about discovery
	run grep -h -- '-D lab' "$T/n1.err" "$T/n2.err" "$T/n3.err"
	[ "$output" = "" ]
}

@test "eight hosts: each relay connects to the three after it, and link state does the rest" {
	need_avahi
	setup_hosts -m 8
	avahi_up 1 2 3 4 5 6 7 8
	relays_in 8
	# A ring by name: each relay's links are to the three after it (it
	# made them) and the three before it (they did), never to the one
	# opposite, which is two links away.
	for i in 1 2 3 4 5 6 7 8; do
		want=()
		for d in 1 2 3 5 6 7; do
			want+=("n$(((i + d - 1) % 8 + 1)) up")
		done
		wait_for peers_are "n$i" "${want[@]}"
	done
	wait_routes n1 "n2 n2 1" "n3 n3 1" "n4 n4 1" "n5 n2 2" "n6 n6 1" \
		"n7 n7 1" "n8 n8 1"
	wait_routes n5 "n1 n2 2" "n2 n2 1" "n3 n3 1" "n4 n4 1" "n6 n6 1" \
		"n7 n7 1" "n8 n8 1"
}

@test "a relay that stops is withdrawn and forgotten; a dead avahi-browse is started again" {
	need_avahi
	setup_hosts -m 3
	avahi_up 1 2 3
	relays_in 3
	for i in 1 2 3; do
		eval "pid$i=\$(cat \"\$T/n$i.pid\")"
	done
	wait_routes n1 "n2 n2 1" "n3 n3 1"
	wait_routes n2 "n1 n1 1" "n3 n3 1"
	wait_routes n3 "n1 n1 1" "n2 n2 1"

	# n1's avahi-browse killed: another takes its place, and what it
	# reports is acted on below
	old=$(child_of "$pid1" avahi-browse)
	kill -KILL "$old"
	wait_for "b=\$(child_of $pid1 avahi-browse) && [ \"\$b\" != $old ]"
	[ "$(restarts n1)" -ge 1 ]

	# SIGTERM: n3 withdraws (its avahi-publish ends with it)
	pub3=$(child_of "$pid3" avahi-publish)
	kill -TERM "$pid3"
	wait_exit "$pid3"
	[ "$status" -eq 0 ]
	wait_for all_gone "$pub3"
	wait_for listed 1 n1 n2
	wait_routes n1 "n2 n2 1"
	wait_routes n2 "n1 n1 1"
	wait_for peers_are n1 "n2 up"
	wait_for peers_are n2 "n1 up"

	# kill -9: n2's avahi-publish still ends, and n2 is withdrawn
	pub2=$(child_of "$pid2" avahi-publish)
	kill -KILL "$pid2"
	wait_for all_gone "$pub2"
	wait_for listed 1 n1
	wait_routes n1
	wait_for peers_are n1
	# what n1 said about it all, as a user sees it: nothing but the
	# browse child that was killed
	run grep -c -- '-D lab' "$T/n1.err"
	[ "$output" -eq 1 ]
	grep -qx 'quilt-relay: -D lab: avahi-browse: Killed; starting it again in 1000 ms' "$T/n1.err"
}

@test "-D where Avahi is not running: one line says so, and the relay runs without it" {
	need_avahi
	setup_hosts -m 1
	relay_in 1 n1 -l :0 -D lab
	# both children failed, then failed again after their backoff
	wait_for "[ \"\$(restarts n1)\" -ge 4 ]"
	run grep -c -- '-D lab' "$T/n1.err"
	[ "$output" -eq 1 ]
	grep -qxE 'quilt-relay: -D lab: avahi-(publish|browse): Failed to create client object: Daemon not running; running without discovery until Avahi answers' "$T/n1.err"
	hosts exec 1 quilt-send -w 10 "198.18.0.1:$(port_of n1)" 'still here'
	# (written by the relay once it has taken it: wait for it)
	wait_for file_has "$T/n1.out" 'still here$'
	[ "$(cat "$T/n1.out")" = "$(printf 'n1\tstill here')" ]
	run ctl n1 routes
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "-D without Avahi's tools: one line says so, and the relay runs without them" {
	start_bg n1 env PATH=/nonexistent "$QUILT_BIN/quilt-relay" -n n1 \
		-l 127.0.0.1:0 -D lab -P "$T/n1.ready"
	wait_ready "$T/n1.ready" "$BGPID" n1
	note_ctl "$T/n1.ready"
	wait_for "[ \"\$(restarts n1)\" -ge 4 ]"
	run grep -- '-D lab' "$T/n1.err"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "quilt-relay: -D lab: listening on $(head -n 1 "$T/n1.ready"), which no other host reaches" ]
	[[ ${lines[1]} =~ ^"quilt-relay: -D lab: avahi-"(publish|browse)": not found (Debian has it in avahi-utils); running without discovery until Avahi answers"$ ]]
	quilt-send -w 10 "$(head -n 1 "$T/n1.ready")" 'still here'
	# (written by the relay once it has taken it: wait for it)
	wait_for file_has "$T/n1.out" 'still here$'
	[ "$(cat "$T/n1.out")" = "$(printf 'n1\tstill here')" ]
}

@test "-D: a bad mesh name, twice, or a Unix socket to listen on is a usage error: 64, the reason and the usage" {
	local usage
	usage=$(quilt-relay --help | sed '/^  -/,$d')
	run -64 --separate-stderr quilt-relay -n n1 -D 'a b'
	[ "$stderr" = 'quilt-relay: bad mesh name: a b (want 1 to 64 of A-Z a-z 0-9 . _ -, not "all")'$'\n'"$usage" ]
	run -64 --separate-stderr quilt-relay -n n1 -D a --discover=b
	[ "$stderr" = "quilt-relay: option --discover given twice"$'\n'"$usage" ]
	run -64 --separate-stderr quilt-relay -n n1 -l "unix:$T/s" -D lab
	[ "$stderr" = "quilt-relay: -D: unix:$T/s: discovery publishes a TCP port, not a Unix socket"$'\n'"$usage" ]
	run -64 --separate-stderr quilt-relay -n n1 -D "$(printf 'x%.0s' {1..65})"
	[[ $stderr == "quilt-relay: bad mesh name: "* ]]
	[ -z "$output" ]
}
