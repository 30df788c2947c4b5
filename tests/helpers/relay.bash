# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared functions of the quilt-relay suites (relay*.bats).  Load with
#	load helpers/relay
# after which setup and teardown start and stop relays and meshes as the
# suites expect, and start_relay, mesh_up, ctl, wait_routes... are there.

load helpers/common

QUILT_NEEDS="quilt-relay quilt-ping quilt-keygen"
MESH=$QUILT_TOP/scripts/mesh

setup() {
	setup_quilt
	skip_if_sealed "the relay suite seals its meshes itself (-k)"
	: >"$T/meshes"
	: >"$T/ctls"
	M=''
}

# Meshes first (scripts/mesh -s: SIGCONT, SIGTERM, SIGKILL what is left),
# with the stderr of their relays when the test failed; then the processes
# the test started; then the control sockets that relays killed with kill -9
# left (in $T, the XDG_RUNTIME_DIR of the test, unless it gave another).
teardown() {
	local d f ctls=()
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		while read -r d; do
			[ -d "$d" ] || continue
			"$MESH" -s "$d" 2>/dev/null || true
			[ -z "${BATS_TEST_COMPLETED:-}" ] || continue
			for f in "$d"/*.err; do
				[ -s "$f" ] || continue
				echo "--- ${d##*/}/${f##*/}:"
				tail -n 20 "$f"
			done
		done <"$T/meshes"
		mapfile -t ctls <"$T/ctls"
	fi
	teardown_quilt
	for f in "${ctls[@]}"; do
		[ -S "$f" ] && rm -f "$f"
	done
	return 0
}

# note_ctl READY: remember the control socket of a relay (removed in
# teardown if a kill -9 left it behind).
note_ctl() {
	local c
	c=$(sed -n 's/^control unix://p' "$1")
	[ -n "$c" ] && echo "$c" >>"$T/ctls"
	return 0
}

# start_relay NAME ARGS...: quilt-relay -n NAME -P $T/NAME.ready ARGS in the
# background.  Its standard input is the FIFO $T/NAME.in opened read-write,
# so the relay never sees its end and `echo 'b hi' >$T/NAME.in` feeds it;
# stdout goes to $ROUT (default $T/NAME.out), stderr to $T/NAME.err.  Waits
# for the ready file; sets RPID and RADDR (its listen address).
start_relay() {
	local name=$1 ready=$T/$1.ready
	shift
	[ -p "$T/$name.in" ] || mkfifo "$T/$name.in"
	rm -f "$ready"
	env --default-signal=INT,QUIT quilt-relay -n "$name" -P "$ready" "$@" \
		<>"$T/$name.in" >"${ROUT:-$T/$name.out}" 2>"$T/$name.err" 3>&- 4>&- &
	RPID=$!
	track "$RPID"
	wait_ready "$ready" "$RPID" "$name" || return 1
	note_ctl "$ready"
	RADDR=$(head -n 1 "$ready")
}

# mesh_up [-k KEY] SHAPE N: scripts/mesh -d $T/$MNAME (default mesh); checks
# that it says the directory on stdout and nothing else; sets M.
mesh_up() {
	local out f
	M=$T/${MNAME:-mesh}
	echo "$M" >>"$T/meshes"
	if ! out=$("$MESH" -d "$M" "$@" 2>"$T/${MNAME:-mesh}.err"); then
		echo "scripts/mesh $* failed:" >&2
		cat "$T/${MNAME:-mesh}.err" >&2
		return 1
	fi
	if [ "$out" != "$M" ]; then
		echo "scripts/mesh printed '$out', not '$M'" >&2
		return 1
	fi
	for f in "$M"/n*.ready; do note_ctl "$f"; done
}

# ready_of NODE: NODE's ready file: in the mesh $M, else in $T.
ready_of() {
	if [ -n "${M:-}" ] && [ -e "$M/$1.ready" ]; then
		echo "$M/$1.ready"
	else
		echo "$T/$1.ready"
	fi
}

# addr NODE: NODE's listen address (first line of its ready file).
addr() {
	head -n 1 "$(ready_of "$1")"
}

# pid_of NODE: the pid of mesh node NODE.
pid_of() {
	cat "$M/$1.pid"
}

# ctl NODE COMMAND: quilt-relay -Q on NODE's ready file.
ctl() {
	quilt-relay -Q "$(ready_of "$1")" "${@:2}"
}

# tabs LINE...: the lines with their words joined by TABs (the control
# commands' output is TAB-separated).
tabs() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | tr ' ' '\t'
}

# routes_are NODE LINE...: NODE's routes are exactly LINE... (wait_for).
routes_are() {
	local node=$1
	shift
	[ "$(ctl "$node" routes 2>/dev/null)" = "$(tabs "$@")" ]
}

# wait_routes [-t SECONDS] NODE LINE...: wait, bounded, until NODE's routes
# are exactly LINE...; on failure show what they are.
wait_routes() {
	local t=$WAIT_TIMEOUT node
	if [ "$1" = -t ]; then
		t=$2
		shift 2
	fi
	node=$1
	shift
	if ! wait_for -t "$t" routes_are "$node" "$@"; then
		echo "routes of $node after ${t}s:" >&2
		ctl "$node" routes >&2
		echo "expected:" >&2
		tabs "$@" >&2
		return 1
	fi
}

# children PID: "pid args" of PID's children, one a line.
children() {
	ps -o pid=,args= --ppid "$1" | sed 's/^ *//'
}

# send_child PID: the pid of the one quilt-send -C child of relay PID.
send_child() {
	children "$1" | awk '$2 ~ /(^|\/)quilt-send$/ && $3 == "-C" { n++; p = $1 }
		END { if (n == 1) print p; else exit 1 }'
}

# count_children PID PROGRAM: how many PROGRAM -C children relay PID has.
count_children() {
	children "$1" | awk -v p="$2" '$2 ~ ("(^|/)" p "$") && $3 == "-C"' | wc -l
}

# sorted_is FILE LINE...: the lines of FILE, sorted, are exactly LINE...
# (sorted too).
sorted_is() {
	local f=$1
	shift
	[ "$(sort "$f")" = "$(printf '%s\n' "$@" | sort)" ]
}

# client_hello NODE: a client's plaintext hello (quilt-protocol(5)).
client_hello() {
	msgns '' hello quilt 1-1 "node=$1" \
		session=00112233445566778899aabbccddeeff max=65536 sealed=0 from=0
}

# relay_hello NODE INSTANCE: the plaintext hello of a relay's outgoing side
# (relay=INSTANCE, hex): what follows it on that connection is taken as
# relay frames (quilt-protocol(5)).
relay_hello() {
	msgns '' hello quilt 1-1 "node=$1" \
		session=00112233445566778899aabbccddeeff max=65536 sealed=0 from=0 \
		"relay=$2"
}

# restart_n2 ADDR PEER: mesh node n2 started again on ADDR with PEER, its
# output in $T/n2b.out and stderr in $T/n2b.err; its pid in $M/n2.pid.
restart_n2() {
	rm -f "$M/n2.ready"
	env --default-signal=INT,QUIT quilt-relay -n n2 -l "$1" -P "$M/n2.ready" "$2" \
		<>"$M/n2.in" >"$T/n2b.out" 2>"$T/n2b.err" 3>&- 4>&- &
	RPID=$!
	track "$RPID"
	echo "$RPID" >"$M/n2.pid"
	wait_ready "$M/n2.ready" "$RPID" n2b || return 1
	note_ctl "$M/n2.ready"
}

