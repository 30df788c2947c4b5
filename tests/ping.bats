#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt-ping against quilt-listen: iputils-style lines and summary,
# -c -i -W -w -s -q -j -D -O, exit 0/1/2 (1 also for -c with -w short of
# COUNT), over TCP (IPv4, IPv6) and Unix sockets.

QUILT_NEEDS=quilt-ping
load helpers/common

# check_ping_output COUNT SIZE ADDR NODE: $output is the full iputils-style
# report of COUNT replies of SIZE bytes from NODE, all received, with a
# summary that agrees with the lines (min, avg, max, population mdev), a
# blank line before the summary as iputils prints it.
check_ping_output() {
	local count=$1 size=$2 addr=$3 node=$4 i l
	echo "$output"
	mapfile -t l <<<"$output"
	[ "${#l[@]}" -eq $((count + 5)) ]
	[ "${l[0]}" = "PING $addr ($node) $size bytes of data." ]
	for ((i = 1; i <= count; i++)); do
		[[ ${l[i]} =~ ^$size\ bytes\ from\ $node:\ seq=$i\ hops=0\ time=[0-9]+\.[0-9]{3}\ ms$ ]]
	done
	[ -z "${l[count + 1]}" ]
	[ "${l[count + 2]}" = "--- $addr ping statistics ---" ]
	[[ ${l[count + 3]} =~ ^$count\ packets\ transmitted,\ $count\ received,\ 0%\ packet\ loss,\ time\ [0-9]+ms$ ]]
	[[ ${l[count + 4]} =~ ^rtt\ min/avg/max/mdev\ =\ [0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3}\ ms$ ]]
	# the summary is computed from the times (mdev: population std. dev.)
	printf '%s\n' "${lines[@]}" | awk '
		/ bytes from / { t = $0; sub(/.*time=/, "", t); t += 0
			n++; s += t; s2 += t * t
			if (n == 1 || t < mn) mn = t; if (n == 1 || t > mx) mx = t }
		/^rtt / { split($4, v, "/") }
		END {
			avg = s / n; var = s2 / n - avg * avg; if (var < 0) var = 0
			md = sqrt(var)
			ok = (v[1] - mn < 0.0015 && mn - v[1] < 0.0015) &&
			     (v[3] - mx < 0.0015 && mx - v[3] < 0.0015) &&
			     (v[2] - avg < 0.002 && avg - v[2] < 0.002) &&
			     (v[4] - md < 0.003 && md - v[4] < 0.003) &&
			     v[1] <= v[2] && v[2] <= v[3]
			if (!ok) printf "summary %s/%s/%s/%s, from the lines %.3f/%.3f/%.3f/%.3f\n", v[1], v[2], v[3], v[4], mn, avg, mx, md
			exit !ok
		}'
}

@test "lines and summary as iputils ping: seq, node, hops, time; min/avg/max/mdev" {
	start_listener -n pnode 127.0.0.1:0
	run --separate-stderr quilt-ping -c 3 -i 0.05 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 3 56 "$ADDR" pnode
	[ -z "$stderr" ]
}

@test "the listener answers pings itself: nothing reaches its output" {
	start_listener 127.0.0.1:0
	run quilt-ping -c 2 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	run quilt-send "$ADDR" real
	[ "$status" -eq 0 ]
	stop_listener
	[ "$(cat "$T/listen.out")" = real ]
}

@test "a listener with -e answers pings itself; the handler sees none of them" {
	start_listener -n hnode -e "cat >>'$T/h.in'" 127.0.0.1:0
	run --separate-stderr quilt-ping -c 2 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 2 56 "$ADDR" hnode
	stop_listener
	[ ! -s "$T/h.in" ]
}

@test "the default node name is the host name's first label" {
	node=$(hostname)
	node=${node%%.*}
	[[ $node =~ ^[A-Za-z0-9._-]{1,64}$ ]] || skip "host name '$node' needs sanitizing"
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-ping -c 1 "$ADDR"
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == "56 bytes from $node: seq=1 "* ]]
}

@test "-s sets the payload size: 100, 0 and 65536 bytes" {
	start_listener -n s 127.0.0.1:0
	run --separate-stderr quilt-ping -c 2 -i 0.01 -s 100 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 2 100 "$ADDR" s
	run --separate-stderr quilt-ping -c 1 -s 0 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 1 0 "$ADDR" s
	run --separate-stderr quilt-ping -c 1 -s 65536 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 1 65536 "$ADDR" s
}

@test "-q: as iputils, the PING line, a blank line and the summary" {
	start_listener -n qn 127.0.0.1:0
	run --separate-stderr quilt-ping -q -c 3 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	echo "$output"
	mapfile -t l <<<"$output"
	[ "${#l[@]}" -eq 5 ]
	[ "${l[0]}" = "PING $ADDR (qn) 56 bytes of data." ]
	[ -z "${l[1]}" ]
	[ "${l[2]}" = "--- $ADDR ping statistics ---" ]
	[[ ${l[3]} =~ ^3\ packets\ transmitted,\ 3\ received,\ 0%\ packet\ loss,\ time\ [0-9]+ms$ ]]
	[[ ${l[4]} == "rtt min/avg/max/mdev = "* ]]
}

@test "-j: one JSON object per reply and one for the summary" {
	start_listener -n jnode 127.0.0.1:0
	run --separate-stderr quilt-ping -j -c 2 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	num='[0-9]+(\.[0-9]+)?'
	for i in 1 2; do
		[[ ${lines[i - 1]} =~ ^\{\"kind\":\"reply\",\"seq\":$i,\"node\":\"jnode\",\"hops\":0,\"bytes\":56,\"time_ms\":$num\}$ ]]
	done
	[[ ${lines[2]} =~ ^\{\"kind\":\"summary\",\"transmitted\":2,\"received\":2,\"loss_pct\":0,\"time_ms\":$num,\"min_ms\":$num,\"avg_ms\":$num,\"max_ms\":$num,\"mdev_ms\":$num\}$ ]]
	printf '%s\n' "${lines[@]}" | jq -e . >/dev/null
}

@test "-j with no reply: the summary says 100% loss, exit 1" {
	skip_if_sealed "rawpeer's hello is a plaintext one"
	start_helper peer rawpeer -s "$(quilt_hello 1-1 mute)"
	run --separate-stderr quilt-ping -j -c 1 -W 0.3 "$HADDR"
	[ "$status" -eq 1 ]
	echo "$output"
	[[ ${lines[-1]} =~ ^\{\"kind\":\"summary\",\"transmitted\":1,\"received\":0,\"loss_pct\":100 ]]
}

@test "-c and -i: COUNT replies, INTERVAL apart" {
	start_listener 127.0.0.1:0
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-ping -c 3 -i 0.3 "$ADDR"
	t1=${EPOCHREALTIME/./}
	[ "$status" -eq 0 ]
	[ "$(grep -c ' bytes from ' <<<"$output")" -eq 3 ]
	# three pings, two intervals between them
	[ $((t1 - t0)) -ge 550000 ]
	[[ $output =~ time\ ([0-9]+)ms ]]
	[ "${BASH_REMATCH[1]}" -ge 550 ]
}

@test "-w: the deadline ends an endless run, exit 0 when replies came" {
	start_listener 127.0.0.1:0
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-ping -i 0.1 -w 1 "$ADDR"
	t1=${EPOCHREALTIME/./}
	echo "$output"
	[ "$status" -eq 0 ]
	[ $((t1 - t0)) -ge 900000 ]
	[ $((t1 - t0)) -lt 5000000 ]
	[[ $output =~ ([0-9]+)\ packets\ transmitted,\ ([0-9]+)\ received ]]
	[ "${BASH_REMATCH[1]}" -ge 5 ]
	[ "${BASH_REMATCH[1]}" -le 12 ]
	[ "${BASH_REMATCH[2]}" -ge 5 ]
}

@test "-W: a reply that does not come within TIMEOUT is lost; none at all is exit 1" {
	skip_if_sealed "rawpeer's hello is a plaintext one"
	start_helper peer rawpeer -s "$(quilt_hello 1-1 mute)"
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-ping -c 2 -i 0.1 -W 0.3 "$HADDR"
	t1=${EPOCHREALTIME/./}
	echo "$output"
	[ "$status" -eq 1 ]
	[ $((t1 - t0)) -lt 5000000 ]
	[[ $output == *"2 packets transmitted, 0 received, 100% packet loss"* ]]
	[[ $output != *rtt* ]]
}

@test "some replies lost, some received: exit 0, the loss counted" {
	start_listener 127.0.0.1:0
	# the listener is stopped after the first reply, so the rest are lost
	start_bg ping quilt-ping -c 3 -i 0.5 -W 0.3 "$ADDR"
	ppid_=$BGPID
	wait_for file_has "$T/ping.out" 'seq=1 '
	kill -STOP "$LPID"
	wait_exit "$ppid_"
	kill -CONT "$LPID"
	cat "$T/ping.out"
	[ "$status" -eq 0 ]
	grep -Eq '^3 packets transmitted, 1 received, [0-9.]+% packet loss' "$T/ping.out"
}

@test "over a Unix socket" {
	start_listener -n u "unix:$T/sock"
	run --separate-stderr quilt-ping -c 2 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 2 56 "unix:$T/sock" u
}

@test "over IPv6 [::1]" {
	have_ipv6 || skip "no IPv6 loopback (::1) on this machine"
	start_listener -n six '[::1]:0'
	run --separate-stderr quilt-ping -c 2 -i 0.01 "$ADDR"
	[ "$status" -eq 0 ]
	check_ping_output 2 56 "$ADDR" six
}

@test "exit 2 on errors: refused, and usage errors" {
	start_helper b bindonly
	run --separate-stderr quilt-ping -c 1 "$HADDR"
	[ "$status" -eq 2 ]
	[[ $stderr == quilt-ping:* ]]
	for bad in '-i -1' '-i abc' '-W 0' '-w 0' '-c 1 -c 2' '-Z'; do
		# shellcheck disable=SC2086
		run --separate-stderr quilt-ping $bad 127.0.0.1:1
		echo "$bad: $status $stderr"
		[ "$status" -eq 2 ]
		[[ $stderr == quilt-ping:* ]]
	done
}

@test "-i 0: one ping in flight, the next sent as soon as the reply is in" {
	start_listener -n z 127.0.0.1:0
	t0=${EPOCHREALTIME/./}
	run --separate-stderr quilt-ping -q -c 200 -i 0 "$ADDR"
	t1=${EPOCHREALTIME/./}
	[ "$status" -eq 0 ]
	echo "$output"
	[[ ${lines[2]} =~ ^200\ packets\ transmitted,\ 200\ received,\ 0%\ packet\ loss ]]
	# not paced by any interval: 200 round trips on loopback take well under 5 s
	[ $((t1 - t0)) -lt 5000000 ]
}

@test "-c with -w, as iputils: pings until COUNT replies; fewer by the deadline is exit 1" {
	start_listener 127.0.0.1:0
	run --separate-stderr quilt-ping -c 3 -w 20 -i 0.01 "$ADDR"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"3 packets transmitted, 3 received, 0% packet loss"* ]]
	# one reply, then the listener stops answering: 1 of 3 by the deadline
	start_bg ping quilt-ping -c 3 -w 2.5 -i 0.5 "$ADDR"
	ppid_=$BGPID
	wait_for file_has "$T/ping.out" 'seq=1 '
	kill -STOP "$LPID"
	wait_exit "$ppid_"
	kill -CONT "$LPID"
	cat "$T/ping.out"
	[ "$status" -eq 1 ]
	# it went on pinging past COUNT, as iputils does with a deadline
	[[ $(cat "$T/ping.out") =~ ([0-9]+)\ packets\ transmitted,\ 1\ received ]]
	[ "${BASH_REMATCH[1]}" -gt 3 ]
}

@test "-O: a ping with no answer when the next is sent is said; -D: each line starts with the time" {
	skip_if_sealed "rawpeer's hello is a plaintext one"
	start_helper peer rawpeer -s "$(quilt_hello 1-1 mute)"
	t0=$(date +%s)
	run --separate-stderr quilt-ping -O -D -c 3 -i 0.1 -W 0.2 "$HADDR"
	t1=$(date +%s)
	echo "$output"
	[ "$status" -eq 1 ]
	# before the 2nd and the 3rd ping; the 3rd is lost with no next one
	[ "$(grep -c 'no answer yet' <<<"$output")" -eq 2 ]
	[[ $(sed -n 2p <<<"$output") =~ ^\[([0-9]+)\.[0-9]{6}\]\ no\ answer\ yet\ for\ seq=1$ ]]
	[ "${BASH_REMATCH[1]}" -ge "$t0" ] && [ "${BASH_REMATCH[1]}" -le "$t1" ]
	[[ $(sed -n 3p <<<"$output") =~ ^\[[0-9]+\.[0-9]{6}\]\ no\ answer\ yet\ for\ seq=2$ ]]
	[[ $output == *"3 packets transmitted, 0 received, 100% packet loss"* ]]
	# -j: an object of its own kind
	run --separate-stderr quilt-ping -j -O -c 2 -i 0.1 -W 0.2 "$HADDR"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '{"kind":"no_answer","seq":1}' ]
	[ "$(printf '%s\n' "${lines[@]}" | jq -c .kind | tr '\n' ' ')" = '"no_answer" "summary" ' ]
	# -q says nothing of it
	run --separate-stderr quilt-ping -q -O -c 2 -i 0.1 -W 0.2 "$HADDR"
	[ "$status" -eq 1 ]
	[[ $output != *"no answer"* ]]
}

@test "-D: reply lines start with the time of day, in microseconds; -j gives it as unix_time" {
	start_listener -n dn 127.0.0.1:0
	t0=$(date +%s)
	run --separate-stderr quilt-ping -D -c 2 -i 0.01 "$ADDR"
	t1=$(date +%s)
	echo "$output"
	[ "$status" -eq 0 ]
	for i in 1 2; do
		[[ ${lines[i]} =~ ^\[([0-9]+)\.[0-9]{6}\]\ 56\ bytes\ from\ dn:\ seq=$i\ hops=0\ time= ]]
		[ "${BASH_REMATCH[1]}" -ge "$t0" ] && [ "${BASH_REMATCH[1]}" -le "$t1" ]
	done
	[ "${lines[0]}" = "PING $ADDR (dn) 56 bytes of data." ]
	run --separate-stderr quilt-ping -j -D -c 1 "$ADDR"
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.kind == "reply") | .unix_time | floor' <<<"${lines[0]}")" -ge "$t0" ]
}
