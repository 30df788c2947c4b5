# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared functions of the quilt bats suites.  Load with
#	load helpers/common
# Every test gets setup_quilt / teardown_quilt through the default setup()
# and teardown() below (a file that defines its own calls them itself).
#
# Rules the suites keep (STYLE.md, tests): programs from $QUILT_BIN, test
# peers from $QUILT_HELPERS, loopback only, port 0 and ready files, never a
# sleep to wait for a state: wait_for is the one bounded poll.

bats_require_minimum_version 1.5.0

# A test that hangs fails instead of holding the whole run.
: "${BATS_TEST_TIMEOUT:=90}"
export LC_ALL=C

QUILT_TOP=${QUILT_TOP:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
QUILT_BIN=${QUILT_BIN:-$QUILT_TOP/bin}
QUILT_HELPERS=${QUILT_HELPERS:-$QUILT_TOP/build/helpers}
# Default bound of wait_for, seconds.  Generous: a loaded CI machine is slow,
# and a test only waits this long when it is failing anyway.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-20}

setup() { setup_quilt; }
teardown() { teardown_quilt; }

# setup_quilt: PATH with the programs and helpers first, a per-test
# directory $T (short, under /tmp: Unix socket paths are limited to 108
# bytes), and the list of background processes to stop in teardown.
setup_quilt() {
	local p
	PATH="$QUILT_BIN:$QUILT_HELPERS:$PATH"
	for p in quilt-listen quilt-send ${QUILT_NEEDS:-}; do
		if [ ! -x "$QUILT_BIN/$p" ]; then
			echo "setup_quilt: $QUILT_BIN/$p is not built (make all)" >&2
			return 1
		fi
	done
	for p in qproxy bindonly gate idleconn rawclient rawpeer; do
		if [ ! -x "$QUILT_HELPERS/$p" ]; then
			echo "setup_quilt: $QUILT_HELPERS/$p is not built (make units)" >&2
			return 1
		fi
	done
	T=$(mktemp -d /tmp/qt.XXXXXX)
	# A relay's control socket goes there, not in the user's own one.
	export XDG_RUNTIME_DIR=$T
	: >"$T/pids"
	LPID='' ADDR='' PORT=''
}

# track PID...: stop these processes in teardown.
track() {
	local p
	for p in "$@"; do echo "$p" >>"$T/pids"; done
}

# proc_alive PID: the process exists and is not a zombie.
proc_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(proc_state "$1") || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# proc_state PID: the one-letter state of /proc/PID/stat (R S D T Z...).
proc_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	echo "${s%% *}"
}

# proc_stopped PID: the process is stopped (SIGSTOP, or stopped itself).
proc_stopped() {
	[ "$(proc_state "$1")" = T ]
}

# all_gone PID...: none of these processes is alive any more.
all_gone() {
	local p
	for p in "$@"; do
		proc_alive "$p" && return 1
	done
	return 0
}

# teardown_quilt: SIGCONT then SIGTERM every tracked process, SIGKILL what
# is left after a bounded wait, show the stderr files of a failed test,
# remove $T.
teardown_quilt() {
	local p pids=() f
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	while read -r p; do
		[ -n "$p" ] && pids+=("$p")
	done <"$T/pids"
	for p in "${pids[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	wait_for -t 2 all_gone "${pids[@]}" 2>/dev/null || true
	for p in "${pids[@]}"; do
		proc_alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for f in "$T"/*.err; do
			[ -s "$f" ] || continue
			echo "--- ${f##*/}:"
			tail -n 20 "$f"
		done
	fi
	rm -rf "$T"
}

# wait_for [-t SECONDS] CMD...: THE bounded poll.  Re-runs CMD (one string is
# eval'd, several words are run as a command) every 20 ms until it succeeds;
# fails with a message after SECONDS (default $WAIT_TIMEOUT, fractions
# allowed), bounded in time and in the number of tries.
wait_for() {
	local t=$WAIT_TIMEOUT now end tries=0 max us
	if [ "$1" = -t ]; then
		t=$2
		shift 2
	fi
	# seconds (maybe "0.5") to microseconds, without forking
	if [[ $t == *.* ]]; then
		us=${t#*.}000000
		now=${t%%.*}
		us=$((10#${now:-0} * 1000000 + 10#${us:0:6}))
	else
		us=$((t * 1000000))
	fi
	now=${EPOCHREALTIME/./}
	end=$((now + us))
	max=$((us / 20000 + 2))
	while :; do
		if [ $# -eq 1 ]; then
			eval "$1" && return 0
		else
			"$@" && return 0
		fi
		now=${EPOCHREALTIME/./}
		tries=$((tries + 1))
		if [ "$now" -ge "$end" ] || [ "$tries" -ge "$max" ]; then
			break
		fi
		sleep 0.02
	done
	echo "wait_for: still false after ${t}s: $*" >&2
	return 1
}

# count_lines FILE: complete lines in FILE (0 when it does not exist).
count_lines() {
	local n
	if [ ! -e "$1" ]; then
		echo 0
		return 0
	fi
	n=$(wc -l <"$1")
	echo "${n// /}"
}

# lines_at_least FILE N: FILE has at least N lines (a wait_for condition).
lines_at_least() {
	[ "$(count_lines "$1")" -ge "$2" ]
}

# file_has FILE REGEX: a wait_for condition on the content of FILE.
file_has() {
	[ -e "$1" ] && grep -qE -- "$2" "$1"
}

# wait_exit PID [SECONDS]: wait, bounded, for a background child to end;
# its exit status goes into $status (as bats' run does).
wait_exit() {
	local pid=$1 t=${2:-$WAIT_TIMEOUT}
	if ! wait_for -t "$t" "! proc_alive $pid"; then
		echo "wait_exit: process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) still running" >&2
		return 1
	fi
	status=0
	# (2>/dev/null: no "Killed" job notice for a process the test killed)
	wait "$pid" 2>/dev/null || status=$?
}

# start_bg NAME CMD...: run CMD in the background, stdin from $BG_IN (default
# /dev/null), stdout to $T/NAME.out, stderr to $T/NAME.err; sets BGPID and
# tracks it.  The fds of bats (3 and up) are closed for it.
start_bg() {
	local name=$1 run=()
	shift
	# Sealed pass: the program itself is BGPID, not a shell running the
	# wrapper function (a test may kill -9 it).
	if [ -n "${QUILT_SEAL_KEY:-}" ]; then
		case $1 in
		quilt-listen | quilt-send | quilt-ping)
			run=(command)
			set -- "$1" -k "$QUILT_SEAL_KEY" "${@:2}"
			;;
		esac
	fi
	"${run[@]}" "$@" <"${BG_IN:-/dev/null}" >"$T/$name.out" 2>"$T/$name.err" 3>&- 4>&- &
	BGPID=$!
	track "$BGPID"
}

# wait_ready FILE PID WHAT: wait until FILE is written; fail early, with the
# stderr of WHAT, when PID has died first.
wait_ready() {
	local file=$1 pid=$2 what=$3 rc
	if ! wait_for "[ -s '$file' ] || ! proc_alive $pid"; then
		echo "wait_ready: $what wrote no $file" >&2
		return 1
	fi
	if [ ! -s "$file" ]; then
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		echo "wait_ready: $what exited ($rc) before writing $file:" >&2
		cat "$T/$what.err" >&2 2>/dev/null
		return 1
	fi
}

# start_listener ARGS...: quilt-listen -P $T/NAME.ready ARGS in the
# background, NAME being $LNAME (default "listen").  Stdout goes to $LOUT
# (default $T/NAME.out; may be a fifo whose reader is already started),
# stderr to $T/NAME.err.  Waits for the ready file; sets ADDR (its
# content), PORT (the port of a TCP address) and LPID.  SIGINT and SIGQUIT
# are reset to their defaults (a shell ignores them in background jobs).
start_listener() {
	local name=${LNAME:-listen}
	local ready=$T/$name.ready out=${LOUT:-$T/$name.out}
	local seal=()
	if [ -n "${QUILT_SEAL_KEY:-}" ]; then
		seal=(-k "$QUILT_SEAL_KEY")
	fi
	rm -f "$ready"
	env --default-signal=INT,QUIT quilt-listen "${seal[@]}" -P "$ready" "$@" \
		<"${BG_IN:-/dev/null}" >"$out" 2>"$T/$name.err" 3>&- 4>&- &
	LPID=$!
	track "$LPID"
	wait_ready "$ready" "$LPID" "$name" || return 1
	ADDR=$(head -n 1 "$ready")
	PORT=''
	case $ADDR in
	unix:*) ;;
	*) PORT=${ADDR##*:} ;;
	esac
}

# start_helper NAME HELPER ARGS...: a test peer of tests/helpers that takes
# -P READYFILE; waits for it; sets HPID and HADDR (the ready file's line).
start_helper() {
	local name=$1 helper=$2
	shift 2
	rm -f "$T/$name.ready"
	"$helper" -P "$T/$name.ready" "$@" </dev/null >"$T/$name.out" \
		2>"$T/$name.err" 3>&- 4>&- &
	HPID=$!
	track "$HPID"
	wait_ready "$T/$name.ready" "$HPID" "$name" || return 1
	HADDR=$(head -n 1 "$T/$name.ready")
}

# start_proxy ARGS...: qproxy -P $T/proxy.ready ARGS (faults, -p PORT,
# target); sets PXPID, PXADDR, PXPORT.
start_proxy() {
	start_helper proxy qproxy "$@" || return 1
	PXPID=$HPID PXADDR=$HADDR PXPORT=${HADDR##*:}
}

# stop_listener [PID]: SIGTERM and wait (bounded); status in $status.
stop_listener() {
	local pid=${1:-$LPID}
	kill -TERM "$pid"
	wait_exit "$pid"
}

# vm_hwm PID: peak resident set size in kB (VmHWM of /proc/PID/status).
vm_hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# have_ipv6: the loopback has ::1.
have_ipv6() {
	[ -r /proc/net/if_inet6 ] &&
		grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

# ns STRING: a netstring (byte length: LC_ALL=C).
ns() {
	printf '%d:%s,' "${#1}" "$1"
}

# msgns PART...: one -N message, a netstring of the parts' netstrings.
msgns() {
	local body='' p
	for p in "$@"; do body+=$(ns "$p"); done
	ns "$body"
}

# tcp_rx_queue PORT: bytes waiting, unread, in the receive queues of the
# established TCP sockets whose local port is PORT (/proc/net/tcp{,6}): how
# a test sees that a stopped listener has been sent data.
tcp_rx_queue() {
	local hex sum=0 sl local rem st queues rest
	hex=$(printf '%04X' "$1")
	while read -r sl local rem st queues rest; do
		[ "$st" = 01 ] && [ "${local##*:}" = "$hex" ] || continue
		sum=$((sum + 16#${queues#*:}))
	done < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null)
	echo "$sum"
}

# fd_pos PID FD: the file offset of PID's fd FD (a regular file it reads).
fd_pos() {
	awk '/^pos:/ { print $2 }' "/proc/$1/fdinfo/$2" 2>/dev/null
}

# stalled PID FD: a wait_for condition, true once the read offset of PID's
# fd FD has stayed the same for 300 ms of polling (the process is blocked,
# e.g. by flow control further down).  State in STALL_POS / STALL_T.
stalled() {
	local p now
	p=$(fd_pos "$1" "$2")
	[ -n "$p" ] || return 1
	now=${EPOCHREALTIME/./}
	if [ "$p" = "${STALL_POS:-}" ]; then
		[ $((now - STALL_T)) -ge 300000 ]
		return
	fi
	STALL_POS=$p STALL_T=$now
	return 1
}

# counter NAME FILE: a number from the -v counters line of quilt-send in
# FILE ("sent", "acknowledged", "replies", "round trips", "resends",
# "reconnects").
counter() {
	local line
	line=$(grep -E '^quilt-send: sent [0-9]+ messages' "$2" | tail -n 1)
	case $1 in
	sent) line=${line#*sent } ;;
	*) line=${line#*, "$1" } ;;
	esac
	line=${line%%[!0-9]*}
	[ -n "$line" ] || return 1
	echo "$line"
}

# quilt_hello VERSIONS NODE: a listener's hello frame as quilt-protocol
# describes it (for rawpeer: a fake peer that says hello and then nothing,
# or speaks a version nobody else does).
quilt_hello() {
	msgns '' hello quilt "$1" "node=$2" \
		session=00112233445566778899aabbccddeeff max=16777216 sealed=0 resume=0
}

# tcp_established PORT: count of established TCP sockets with local or
# remote port PORT.
tcp_established() {
	local hex n=0 sl local rem st rest
	hex=$(printf '%04X' "$1")
	while read -r sl local rem st rest; do
		[ "$st" = 01 ] || continue
		if [ "${local##*:}" = "$hex" ] || [ "${rem##*:}" = "$hex" ]; then
			n=$((n + 1))
		fi
	done < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null)
	echo "$n"
}

# The sealed pass: tests/run runs the suites of the point-to-point programs a
# second time with QUILT_SEAL_KEY set to a key file.  Then start_listener and
# these functions run quilt-listen, quilt-send and quilt-ping with -k that
# key (a program started through env or timeout gets no key), and a
# test that cannot work sealed calls skip_if_sealed.
if [ -n "${QUILT_SEAL_KEY:-}" ]; then
	quilt-listen() { command quilt-listen -k "$QUILT_SEAL_KEY" "$@"; }
	quilt-send() { command quilt-send -k "$QUILT_SEAL_KEY" "$@"; }
	quilt-ping() { command quilt-ping -k "$QUILT_SEAL_KEY" "$@"; }
	# for bash -c and script(1), whose shell is bash
	export -f quilt-listen quilt-send quilt-ping
fi

# skip_if_sealed REASON: skip this test in the sealed pass (raw mode, crafted
# plaintext protocol bytes, errors only a plaintext link can have).
skip_if_sealed() {
	if [ -n "${QUILT_SEAL_KEY:-}" ]; then
		skip "sealed pass: $1"
	fi
}
