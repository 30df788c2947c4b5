#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Careless operators and peers (issues 14 and 16): where a relay's control
# socket lives and what a kill -9 leaves of it, hello faults that say which,
# quilt-send -N with a truncated last netstring.

load helpers/relay

# ---- the control socket ------------------------------------------------------

@test "control socket: XDG_RUNTIME_DIR/quilt-relay-NAME.ctl, 0600; after kill -9 the relay of that name replaces it and -Q NAME asks it; a live one is never taken (71)" {
	start_relay r -l 127.0.0.1:0
	[ "$(sed -n 2p "$T/r.ready")" = "control unix:$T/quilt-relay-r.ctl" ]
	[ "$(stat -c %a "$T/quilt-relay-r.ctl")" = 600 ]
	run --separate-stderr quilt-relay -Q r counters
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	# a second relay named r while r lives: refused, r's socket untouched
	run --separate-stderr quilt-relay -n r -l 127.0.0.1:0 </dev/null
	[ "$status" -eq 71 ]
	[ "$stderr" = "quilt-relay: control socket $T/quilt-relay-r.ctl: in use: a relay of this name is running" ]
	run quilt-relay -Q r counters
	[ "$status" -eq 0 ]
	kill -KILL "$RPID"
	wait_exit "$RPID"
	[ -S "$T/quilt-relay-r.ctl" ]
	run --separate-stderr quilt-relay -Q r counters
	[ "$status" -eq 69 ]
	[ "$stderr" = "quilt-relay: connect unix:$T/quilt-relay-r.ctl: Connection refused" ]
	start_relay r -l 127.0.0.1:0
	run quilt-relay -Q r counters
	[ "$status" -eq 0 ]
	kill -TERM "$RPID"
	wait_exit "$RPID"
	[ "$status" -eq 0 ]
	[ ! -e "$T/quilt-relay-r.ctl" ]
}

@test "control socket: without XDG_RUNTIME_DIR or /run/user/UID, in TMPDIR/quilt-UID made 0700; one open to others, or not a directory, is refused (71)" {
	uid=$(id -u)
	[ ! -d "/run/user/$uid" ] || skip "/run/user/$uid exists: it would be used"
	mkdir "$T/tmp"
	d=$T/tmp/quilt-$uid
	export -n XDG_RUNTIME_DIR
	unset XDG_RUNTIME_DIR
	TMPDIR=$T/tmp start_relay r -l 127.0.0.1:0
	[ "$(sed -n 2p "$T/r.ready")" = "control unix:$d/quilt-relay-r.ctl" ]
	[ "$(stat -c '%a %u' "$d")" = "700 $uid" ]
	run env TMPDIR="$T/tmp" quilt-relay -Q r counters
	[ "$status" -eq 0 ]
	kill -TERM "$RPID"
	wait_exit "$RPID"
	[ ! -e "$d/quilt-relay-r.ctl" ]
	chmod 0755 "$d"
	run --separate-stderr env TMPDIR="$T/tmp" quilt-relay -n r -l 127.0.0.1:0 </dev/null
	[ "$status" -eq 71 ]
	[ "$stderr" = "quilt-relay: control socket $d: not a directory of ours with mode 0700" ]
	rmdir "$d"
	ln -s "$T" "$d"
	run --separate-stderr env TMPDIR="$T/tmp" quilt-relay -n r -l 127.0.0.1:0 </dev/null
	[ "$status" -eq 71 ]
	[ "$stderr" = "quilt-relay: control socket $d: not a directory of ours with mode 0700" ]
}

# ---- descriptors ------------------------------------------------------------

@test "quilt-listen -P F unix:PATH with its output closed: 74, one line, and neither F nor PATH is left" {
	run --separate-stderr timeout 20 bash -c 'exec quilt-listen -P "$1/l.ready" unix:"$1/l.sock" >&-' _ "$T"
	[ "$status" -eq 74 ]
	[ "$stderr" = "quilt-listen: standard output is closed" ]
	[ ! -e "$T/l.ready" ]
	[ ! -e "$T/l.sock" ]
}

# ---- quilt-send's input ------------------------------------------------------

@test "quilt-send -N: a last netstring cut short is 65 once the complete ones before it are written and acknowledged, saying how many" {
	LOUT=$T/out start_listener -N 127.0.0.1:0
	run --separate-stderr quilt-send -N "$ADDR" < <(printf '4:1:a,,5:2:bb,,7:5:ab')
	[ "$status" -eq 65 ]
	[ "$stderr" = "quilt-send: stdin: malformed netstring: the last one is cut short; the 2 messages before it were sent and acknowledged" ]
	# acknowledged means written: they are there before the listener stops
	[ "$(cat "$T/out")" = "4:1:a,,5:2:bb,," ]
	# malformed in the middle, or over the peer's limit: the same, the
	# rest of the input not sent
	run --separate-stderr quilt-send -N "$ADDR" < <(printf '4:1:c,,x4:1:d,,')
	[ "$status" -eq 65 ]
	[ "$stderr" = "quilt-send: stdin: malformed netstring; the 1 message before it was sent and acknowledged" ]
	[ "$(cat "$T/out")" = "4:1:a,,5:2:bb,,4:1:c,," ]
	# nothing complete: nothing sent, 65 all the same
	run --separate-stderr quilt-send -N "$ADDR" < <(printf '7:5:ab')
	[ "$status" -eq 65 ]
	[ "$stderr" = "quilt-send: stdin: malformed netstring: the last one is cut short; the 0 messages before it were sent and acknowledged" ]
	stop_listener
	[ "$(cat "$T/out")" = "4:1:a,,5:2:bb,,4:1:c,," ]
}
