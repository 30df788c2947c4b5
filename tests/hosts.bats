#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# scripts/hosts, the simulated hosts the mesh tests run on: each check is
# one a user would make with real programs (quilt-listen, quilt-send, ping,
# nc, dbus, avahi).  Needs root; every test skips, saying why, where hosts
# cannot be made.

load helpers/common
load helpers/hosts

setup() {
	setup_quilt
}

teardown() {
	teardown_hosts
	teardown_quilt
}

# listen_remote_ip HOST ADDRESS: a listener in HOST whose handler reads
# one message (so that it is acknowledged before the handler exits) and
# replies with the sender's address as the listener saw it (TCPREMOTEIP).
listen_remote_ip() {
	listen_in "$1" -q -e 'read -r m && echo "$TCPREMOTEIP"' "$2"
}

# echo_session: an echo server in host 1 (quilt-listen -R -e cat) and an
# nc in host 2 connected to it; the test writes to nc on fd 5 (the FIFO
# $T/nc.in) and reads its output in $T/nc.out; "one" has made the trip.
echo_session() {
	listen_in 1 -q -R -e cat 198.18.0.1:0
	mkfifo "$T/nc.in"
	exec 5<>"$T/nc.in"
	"$HOSTS" exec 2 nc 198.18.0.1 "$PORT" <"$T/nc.in" >"$T/nc.out" \
		2>"$T/nc.err" 3>&- 4>&- 5>&- &
	track $!
	echo one >&5
	wait_for file_has "$T/nc.out" '^one$'
}

# no_run_left DIR PREFIX: nothing of a run is left: no namespace with its
# prefix, no mount under its directory, no directory.
no_run_left() {
	local d=$1 p=$2
	run ip netns list
	[[ $output != *"$p-"* ]]
	run grep -F " $d" /proc/self/mountinfo
	[ "$status" -eq 1 ]
	[ ! -e "$d" ]
}

# root_state: what the machine's own namespace has that a run could have
# left there: veths, bridges, nftables tables.
root_state() {
	ip -o link show type veth | cut -d' ' -f2
	ip -o link show type bridge | cut -d' ' -f2
	nft list tables
}

@test "two hosts reach each other over IPv4 and IPv6, each from its own address" {
	setup_hosts 2
	[ "$(hosts addr 1)" = 198.18.0.1 ]
	[ "$(hosts addr 2 6)" = 2001:2::2 ]

	listen_remote_ip 1 198.18.0.1:0
	run hosts exec 2 quilt-send "$ADDR" hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 198.18.0.2 ]

	LNAME=l6 listen_remote_ip 1 '[2001:2::1]:0'
	[[ $ADDR == '[2001:2::1]:'* ]]
	run hosts exec 2 quilt-send "$ADDR" hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 2001:2::2 ]

	# and the other way round
	LNAME=l2 listen_remote_ip 2 '[2001:2::2]:0'
	run hosts exec 1 quilt-send "$ADDR" hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 2001:2::1 ]
	run hosts exec 1 ping -c 1 -W 5 198.18.0.2
	[ "$status" -eq 0 ]
}

@test "a host reaches nothing outside the set: no route out, and every loopback is its own" {
	local a
	setup_hosts 2
	run hosts exec 1 ip route show default
	[ -z "$output" ]
	run hosts exec 1 ip -6 route show default
	[ -z "$output" ]
	# the machine's own addresses, and any address outside the set
	for a in $(ip -o -4 addr show scope global | awk '{ print $4 }' |
		cut -d/ -f1 | grep -v '^198\.1[89]\.') 192.0.2.1; do
		run hosts exec 1 ping -c 1 -W 1 "$a"
		[ "$status" -eq 2 ]
		[[ $output == *"Network is unreachable"* ]]
	done
	for a in $(ip -o -6 addr show scope global | awk '{ print $4 }' |
		cut -d/ -f1 | grep -v '^2001:2:') 2001:db8::1; do
		run hosts exec 1 ping -c 1 -W 1 "$a"
		[ "$status" -eq 2 ]
		[[ $output == *"Network is unreachable"* ]]
	done

	# 127.0.0.1 of host 2 is host 2's: host 1 is refused
	LNAME=lo2 listen_in 2 127.0.0.1:0
	run hosts exec 2 quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	run hosts exec 1 quilt-send "$ADDR" x
	[ "$status" -eq 69 ]
	[[ $output == "quilt-send: connect 127.0.0.1:$PORT: Connection refused"* ]]
	# and so is the machine's
	start_listener 127.0.0.1:0
	run quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	run hosts exec 1 quilt-send "$ADDR" x
	[ "$status" -eq 69 ]
}

@test "cut: the host is unreachable and its connection waits; restore: the same connection flows again" {
	setup_hosts 3
	echo_session
	hosts cut 1
	echo two >&5
	run hosts exec 1 ip -o link show dev eth0
	[[ $output == *NO-CARRIER* ]]
	run hosts exec 2 ping -c 1 -W 0.5 198.18.0.1
	[ "$status" -eq 1 ]
	# the others still reach each other
	run hosts exec 2 ping -c 1 -W 5 198.18.0.3
	[ "$status" -eq 0 ]
	# and "two", sent half a second ago at least, has had no echo
	! file_has "$T/nc.out" '^two$'

	hosts restore 1
	# at once: restore has waited for the link
	run hosts exec 2 ping -c 1 -W 5 198.18.0.1
	[ "$status" -eq 0 ]
	run hosts exec 2 ping -c 1 -W 5 2001:2::1
	[ "$status" -eq 0 ]
	# nothing was closed: TCP retransmits "two" on the same connection
	wait_for file_has "$T/nc.out" '^two$'
	[ "$(grep -c . "$T/nc.out")" -eq 2 ]
}

@test "stop: a host's processes hold their connections open and do not answer; cont: they answer" {
	setup_hosts 2
	echo_session
	hosts stop 1
	proc_stopped "$LPID"
	echo two >&5
	# "two" reached host 1: it waits, unread, at the listener's socket
	wait_for "[ \$(tcp_rx_queue_in 1 $PORT) -gt 0 ]"
	run ! wait_for -t 0.3 file_has "$T/nc.out" '^two$'
	run hosts exec 2 ss -Htn state established dst 198.18.0.1
	[ "${#lines[@]}" -eq 1 ]

	hosts cont 1
	wait_for file_has "$T/nc.out" '^two$'
	! proc_stopped "$LPID"
}

@test "loss: 100 drops everything, 0 nothing, 30 about that share of packets each way" {
	local rx
	setup_hosts 2
	# (first without loss: both hosts know each other's MAC address from
	# now on, so that what drops the pings below is the rule, not ARP)
	run hosts exec 2 ping -q -c 3 -i 0.01 -W 5 198.18.0.1
	[ "$status" -eq 0 ]
	hosts loss 1 100
	run hosts exec 2 ping -q -c 3 -i 0.01 -W 0.5 198.18.0.1
	[ "$status" -eq 1 ]
	[[ $output == *"3 packets transmitted, 0 received"* ]]
	hosts loss 1 0
	run hosts exec 2 ping -q -c 3 -i 0.01 -W 5 198.18.0.1
	[ "$status" -eq 0 ]
	[[ $output == *"3 packets transmitted, 3 received"* ]]

	# A round trip crosses host 1's link twice: it comes back with
	# probability 0.7^2 = 0.49.  Of 200, Binomial(200, 0.49) replies:
	# mean 98, standard deviation 7.1; 50..150 holds but for 3e-12.
	# (ARP is dropped too, as on a real lossy link: the pings above keep
	# both hosts' entries fresh for far longer than 200 x 2 ms.)
	hosts loss 1 30
	run hosts exec 2 ping -q -c 200 -i 0.002 -W 2 198.18.0.1
	echo "$output"
	rx=$(echo "$output" | sed -n 's/^200 packets transmitted, \([0-9]*\) received.*/\1/p')
	[ "$rx" -ge 50 ]
	[ "$rx" -le 150 ]
}

@test "split: the halves do not reach each other, silently; split -r: connections across are reset and new ones refused; join: whole again" {
	setup_hosts 3
	echo_session
	hosts split 1
	run hosts exec 2 ping -c 1 -W 0.5 198.18.0.1
	[ "$status" -eq 1 ]
	run hosts exec 2 ping -c 1 -W 0.5 2001:2::1
	[ "$status" -eq 1 ]
	run hosts exec 2 ping -c 1 -W 5 198.18.0.3
	[ "$status" -eq 0 ]
	# silently, as a cut: the connection across waits
	run hosts exec 2 ss -Htn state established dst 198.18.0.1
	[ "${#lines[@]}" -eq 1 ]

	hosts split -r 1
	run hosts exec 2 ss -Htn state established dst 198.18.0.1
	[ "${#lines[@]}" -eq 0 ]
	run hosts exec 1 ss -Htn state established dst 198.18.0.2
	[ "${#lines[@]}" -eq 0 ]
	run hosts exec 2 timeout 5 nc -z 198.18.0.1 "$PORT"
	[ "$status" -eq 1 ]
	run hosts exec 2 timeout 5 nc -z 2001:2::1 "$PORT"
	[ "$status" -eq 1 ]
	run hosts exec 2 ping -c 1 -W 0.5 198.18.0.1
	[ "$status" -eq 1 ]
	run hosts exec 3 ping -c 1 -W 5 198.18.0.2
	[ "$status" -eq 0 ]

	hosts join
	run hosts exec 2 timeout 5 nc -z 198.18.0.1 "$PORT"
	[ "$status" -eq 0 ]
	# IPv6 again, once host 2 finds host 1's link address anew: the
	# split -r dropped the neighbour advertisements, and the entry it
	# marked failed may take a probe or two more than one ping waits
	wait_for -t 20 "hosts exec 2 ping -c 1 -W 2 2001:2::1 >/dev/null"
}

@test "destroy leaves nothing behind after a test that failed, in its body or in its setup" {
	local before line d p pid runs pids
	skip_unless_hosts -m
	before=$(root_state)
	# A suite of its own whose two tests fail after making a host (with
	# -m), processes in it, and stopping, cutting it and making it lossy.  (Its
	# tests are written TEST: bats would read @test here as its own.  It
	# takes this file's answer of check: HOSTS_CHECK_DIR.)
	sed 's/^TEST /@test /' >"$T/failing.bats" <<'EOF'
load "$QUILT_TOP/tests/helpers/common"
load "$QUILT_TOP/tests/helpers/hosts"
setup() {
	setup_quilt
	setup_hosts -m 1
	echo "$HDIR $(hosts ns 1)" >>"$RECORD"
	"$HOSTS" exec 1 sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
	echo "$!" >>"$RECORD.pids"
	"$HOSTS" exec 1 sh -c 'echo x >/run/x; sleep 1001' </dev/null >/dev/null 2>&1 3>&- &
	echo "$!" >>"$RECORD.pids"
	hosts stop 1
	hosts cut 1
	hosts loss 1 30
	[ "$BATS_TEST_NUMBER" -eq 1 ]	# the second test fails here
}
teardown() {
	teardown_hosts
	teardown_quilt
}
TEST "a test that fails in its body" {
	false
}
TEST "a test that fails in its setup" {
	:
}
EOF
	# (bats' own front end, in a clean environment: this run's bats
	# variables, and its libexec first in PATH, are not for that one)
	run env -i PATH="$PATH" HOME="$HOME" QUILT_TOP="$QUILT_TOP" \
		QUILT_BIN="$QUILT_BIN" QUILT_HELPERS="$QUILT_HELPERS" \
		HOSTS_CHECK_DIR="$BATS_FILE_TMPDIR" RECORD="$T/record" \
		"$BATS_ROOT/bin/bats" --tap "$T/failing.bats"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"not ok 1 a test that fails in its body"* ]]
	[[ $output == *"not ok 2 a test that fails in its setup"* ]]
	mapfile -t runs <"$T/record"
	mapfile -t pids <"$T/record.pids"
	[ "${#runs[@]}" -eq 2 ]
	[ "${#pids[@]}" -eq 4 ]
	for line in "${runs[@]}"; do
		d=${line% *} p=${line#* }
		no_run_left "$d" "${p%-h1}"
		run hosts -d "$d" destroy	# again: nothing to do
		[ "$status" -eq 0 ]
	done
	for pid in "${pids[@]}"; do
		! proc_alive "$pid"
	done
	[ "$(root_state)" = "$before" ]
}

# made_hosts DIR N: create in DIR has made at least N hosts' namespaces.
made_hosts() {
	[ -s "$1/prefix" ] || return 1
	[ "$(ip netns list | grep -c "^$(cat "$1/prefix")-h")" -ge "$2" ]
}

# group_gone PGID: no process of group PGID is left but zombies.
group_gone() {
	! ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

@test "destroy removes what a create killed halfway made; a create interrupted undoes itself" {
	local p pid st=0
	skip_unless_hosts -m
	# A create of its own process group, killed with every command it
	# runs, once it has made hosts (seen by their namespaces).
	new_run
	setsid "$HOSTS" -d "$RUN" create -m 20 >/dev/null 2>&1 3>&- &
	pid=$!
	wait_for made_hosts "$RUN" 3
	kill -KILL -- "-$pid"
	wait "$pid" || true
	wait_for group_gone "$pid"
	p=$(cat "$RUN/prefix")
	run ip netns list
	[[ $output == *"$p-h2"* ]]
	run hosts -d "$RUN" destroy
	[ "$status" -eq 0 ]
	no_run_left "$RUN" "$p"

	# SIGTERM: create removes what it made, and exits 143
	new_run
	"$HOSTS" -d "$RUN" create -m 20 >/dev/null 2>&1 3>&- &
	pid=$!
	wait_for made_hosts "$RUN" 3
	p=$(cat "$RUN/prefix")
	kill -TERM "$pid"
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	no_run_left "$RUN" "$p"
}

@test "two runs side by side do not collide" {
	local a b pa pb
	skip_unless_hosts
	new_run
	a=$RUN
	new_run
	b=$RUN
	"$HOSTS" -d "$a" create 2 >/dev/null 3>&- &
	pa=$!
	"$HOSTS" -d "$b" create 2 >/dev/null 3>&- &
	pb=$!
	wait "$pa"
	wait "$pb"
	[ "$(cat "$a/prefix")" != "$(cat "$b/prefix")" ]

	# the same address in each, two different hosts
	QUILT_HOSTS=$a listen_in 1 198.18.0.1:0
	run hosts -d "$a" exec 2 quilt-send "$ADDR" x
	[ "$status" -eq 0 ]
	run hosts -d "$b" exec 2 quilt-send "$ADDR" x
	[ "$status" -eq 69 ]
	[[ $output == *"Connection refused"* ]]

	run hosts -d "$a" destroy
	[ "$status" -eq 0 ]
	run hosts -d "$b" exec 2 ping -c 1 -W 5 198.18.0.1
	[ "$status" -eq 0 ]
	run ip netns list
	[[ $output == *"$(cat "$b/prefix")-h2"* ]]
}

@test "with -m, /run and the host name are each host's own" {
	setup_hosts -m 2
	hosts exec 1 sh -c 'echo one >/run/quilt-hosts-test'
	run hosts exec 1 cat /run/quilt-hosts-test
	[ "$output" = one ]
	run hosts exec 2 test -e /run/quilt-hosts-test
	[ "$status" -eq 1 ]
	[ ! -e /run/quilt-hosts-test ]
	run hosts exec 2 hostname
	[ "$output" = h2 ]
	# /sys shows the host's interfaces; the working directory is kept
	run hosts exec 1 ls /sys/class/net
	[ "$output" = "$(printf 'eth0\nlo')" ]
	cd "$T"
	run hosts exec 1 pwd
	[ "$output" = "$T" ]
}

@test "with -m, hosts run their own dbus and avahi-daemon and find each other by DNS-SD" {
	local i
	for i in dbus-daemon avahi-daemon avahi-publish avahi-browse; do
		command -v "$i" >/dev/null ||
			skip "$i is not installed (scripts/deps --discovery)"
	done
	setup_hosts -m 2
	for i in 1 2; do
		hosts exec "$i" sh -c 'mkdir -p /run/dbus && dbus-daemon --system --fork'
		hosts exec "$i" avahi-daemon --daemonize
	done
	start_in 1 publish avahi-publish -s quilt-test _quilt._tcp 7000
	wait_for "hosts exec 2 avahi-browse -prt _quilt._tcp 2>/dev/null |
		grep -q '^=;eth0;IPv4;quilt-test;_quilt._tcp;local;h1.local;198.18.0.1;7000;'"
}

@test "usage, operands and exit statuses" {
	skip_unless_hosts
	run hosts
	[ "$status" -eq 64 ]
	[[ ${lines[0]} == "usage: hosts [-d dir] create [-m] N" ]]
	run hosts frob
	[ "$status" -eq 64 ]
	run hosts create 0
	[ "$status" -eq 64 ]
	[ "$output" = "hosts: host count must be 1..200: 0" ]
	run -64 env -u QUILT_HOSTS "$HOSTS" exec 1 true
	[[ $output == "hosts: no run: "* ]]
	run hosts -d /nonexistent/qh exec 1 true
	[ "$status" -eq 66 ]
	[ "$output" = "hosts: /nonexistent/qh: not a run of hosts" ]
	run hosts -d /nonexistent/qh destroy
	[ "$status" -eq 0 ]
	run hosts -d /tmp destroy
	[ "$status" -eq 66 ]
	[ -d /tmp ]

	setup_hosts 2
	run hosts -d "$HDIR" create 2
	[ "$status" -eq 64 ]
	[[ $output == "hosts: $HDIR: exists and is not an empty directory" ]]
	run hosts exec 3 true
	[ "$status" -eq 64 ]
	[ "$output" = "hosts: host must be 1..2: 3" ]
	run hosts exec 1 sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 hosts exec 1 /nonexistent
	run hosts addr 1 5
	[ "$status" -eq 64 ]
	run hosts loss 1 101
	[ "$status" -eq 64 ]
	[ "$output" = "hosts: loss percent must be 0..100: 101" ]
	run -64 hosts split
	run -64 hosts split 3
	[ "$output" = "hosts: host must be 1..2: 3" ]
	run -64 hosts split -r 1 2
	[ "$output" = "hosts: split: every host is on one side" ]
	run -64 hosts join 1

	run hosts check
	[ "$status" -eq 0 ]
	# what a test that cannot make hosts skips with
	run setpriv --reuid=65534 --regid=65534 --clear-groups bash -s check <"$HOSTS"
	[ "$status" -eq 1 ]
	[ "$output" = "hosts: cannot make hosts: not root" ]
	mkdir "$T/bin"
	for c in ip bridge nsenter unshare mount umount awk find stat; do
		ln -s "$(command -v "$c")" "$T/bin/$c"
	done
	run env PATH="$T/bin" "$BASH" "$HOSTS" check
	[ "$status" -eq 1 ]
	[ "$output" = "hosts: cannot make hosts: nft is not installed" ]
	run env PATH="$T/bin" "$BASH" "$HOSTS" create 1
	[ "$status" -eq 69 ]
}
