# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# Bats helpers: run a real Spread daemon (4.0, 4.4 or 5.0) as a test peer.
#
# The daemon is never part of this repository.  It is built elsewhere and
# found through SPREAD_PREFIX, the prefix it was installed under
# ($SPREAD_PREFIX/sbin/spread).  Without it the tests that need it skip.
#
#   load ../helpers/spread-daemon
#   setup()    { spread_skip_unless; spread_start; }
#   teardown() { spread_stop; }
#   @test ... { sp-join "$SPREAD_PORT@127.0.0.1" ...; }
#
# spread_start runs one daemon named "localhost" alone in segment
# 127.0.0.255:PORT, bound to 127.0.0.1 only (client, daemon and monitor
# interfaces), on a port that was free: TCP PORT for clients, UDP PORT,
# PORT+1 (token) and PORT+2 (4.x send socket), and the UNIX socket
# /tmp/PORT.  It exports
#   SPREAD_PORT  the port (clients use "PORT@127.0.0.1", or "PORT" for
#                the UNIX socket /tmp/PORT)
#   SPREAD_PID   the daemon's process id
#   SPREAD_DIR   its working folder (spread.conf, spread.log)
#   SPREAD_CONF, SPREAD_LOG
# spread_start returns once the daemon listens on TCP and on /tmp/PORT
# and has installed its first membership ("Membership id is" in its log,
# which stdbuf makes line-buffered): before that a daemon takes sessions
# but answers joins and messages only when the membership is formed,
# about 1.8 s after start for 4.4 and 5.0 and 7 s for 4.0.
# Call it from setup or setup_file (not through `run`), and spread_stop
# from the matching teardown, so that spread_stop can reap the daemon.
# As root the daemon runs as uid/gid 65534 (setpriv); otherwise as the
# caller.  Private groups are "#NAME#localhost".

SPREAD_RUN_ID=65534

# With SPREAD_DAEMON=quilt the daemon under test is quilt-relay -s, named
# localhost too (tests/run's second pass of the interop suite): no
# SPREAD_PREFIX needed, and the tests of Spread's own programs skip unless
# it is set as well.
spread_skip_unless() {
	[ "${SPREAD_DAEMON:-}" = quilt ] && return 0
	if [ -z "${SPREAD_PREFIX:-}" ] || [ ! -x "$SPREAD_PREFIX/sbin/spread" ]; then
		skip "SPREAD_PREFIX not set: no Spread daemon to test against"
	fi
}

# spread_start_quilt: quilt-relay -n localhost -s 0 as the daemon.
spread_start_quilt() {
	local dir i
	dir=$(mktemp -d /tmp/quilt-spread.XXXXXX) || return 1
	export SPREAD_DIR=$dir SPREAD_LOG=$dir/relay.log
	"${QUILT_BIN:-$QUILT_TOP/bin}/quilt-relay" -n localhost -l 127.0.0.1:0 -s 0 \
		-P "$dir/ready" </dev/null >/dev/null 2>"$SPREAD_LOG" 3>&- &
	export SPREAD_PID=$!
	for i in $(seq 1 300); do
		if [ -s "$dir/ready" ]; then
			SPREAD_PORT=$(sed -n 's/^spread //p' "$dir/ready")
			export SPREAD_PORT
			return 0
		fi
		_spread_alive "$SPREAD_PID" || break
		sleep 0.05
	done
	echo "spread_start: quilt-relay -s did not start:" >&2
	cat "$SPREAD_LOG" >&2
	spread_stop
	return 1
}

# Ports in use on this host (any address, any state), one a line.
_spread_used_ports() {
	local _sl addr _rest p
	cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null |
	while read -r _sl addr _rest; do
		p=${addr##*:}
		[[ $p =~ ^[0-9A-Fa-f]{4}$ ]] && echo $((16#$p))
	done
	return 0
}

# Print a port P with TCP P, UDP P..P+2 and /tmp/P all unused.
# Below the usual ephemeral range (32768-60999) so that clients' own
# ports do not collide with it.
_spread_pick_port() {
	local -A used=()
	local p i
	for p in $(_spread_used_ports); do used[$p]=1; done
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		[ -z "${used[$p]:-}" ] && [ -z "${used[$((p + 1))]:-}" ] &&
			[ -z "${used[$((p + 2))]:-}" ] && [ ! -e "/tmp/$p" ] &&
			{ echo "$p"; return 0; }
	done
	echo "spread_start: no free port found" >&2
	return 1
}

_spread_alive() {	# pid: running and not a zombie
	local st
	[ -r "/proc/$1/stat" ] || return 1
	read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 1
	[ "$st" != Z ]
}

_spread_ready() {	# port: TCP listening on 127.0.0.1 and /tmp/PORT listening
	local hex
	hex=$(printf '0100007F:%04X' "$1")
	awk -v a="$hex" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp &&
		awk -v p="/tmp/$1" '$8 == p && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix
}

spread_start() {
	if [ "${SPREAD_DAEMON:-}" = quilt ]; then
		spread_start_quilt
		return
	fi
	local daemon="${SPREAD_PREFIX:?spread_start: SPREAD_PREFIX not set}/sbin/spread"
	local -a as=() buf=()
	local try port dir i
	if [ ! -x "$daemon" ]; then
		echo "spread_start: $daemon missing" >&2
		return 1
	fi
	if [ "$(id -u)" = 0 ]; then
		as=(setpriv --reuid="$SPREAD_RUN_ID" --regid="$SPREAD_RUN_ID" --clear-groups)
	fi
	# Line-buffered stdout, so that the log shows the membership at once.
	if command -v stdbuf >/dev/null; then
		buf=(stdbuf -oL)
	fi
	for try in 1 2 3 4 5; do
		port=$(_spread_pick_port) || return 1
		# The daemon must read the configuration and may write in its
		# working folder; bats' own temp folders are mode 0700, so a
		# daemon of another uid gets one under /tmp.
		if [ ${#as[@]} -eq 0 ] && [ -n "${BATS_TEST_TMPDIR:-}" ]; then
			dir=$(mktemp -d "$BATS_TEST_TMPDIR/spread.XXXXXX") || return 1
		else
			dir=$(mktemp -d /tmp/quilt-spread.XXXXXX) || return 1
			chmod 0755 "$dir"
			[ ${#as[@]} -eq 0 ] || chown "$SPREAD_RUN_ID:$SPREAD_RUN_ID" "$dir"
		fi
		cat >"$dir/spread.conf" <<-EOF
		Spread_Segment 127.0.0.255:$port {
			localhost 127.0.0.1 {
				D 127.0.0.1
				C 127.0.0.1
				M 127.0.0.1
			}
		}
		EOF
		chmod 0644 "$dir/spread.conf"
		export SPREAD_PORT=$port SPREAD_DIR=$dir
		export SPREAD_CONF=$dir/spread.conf SPREAD_LOG=$dir/spread.log
		# fd 3 is bats' output channel: a daemon holding it would hang bats.
		(cd "$dir" && exec "${as[@]}" "${buf[@]}" "$daemon" -n localhost -c "$SPREAD_CONF") \
			</dev/null >"$SPREAD_LOG" 2>&1 3>&- &
		export SPREAD_PID=$!
		# One bounded poll: up to 15 s, every 50 ms.
		for i in $(seq 1 300); do
			if _spread_ready "$port" && { [ ${#buf[@]} -eq 0 ] ||
				grep -q '^Membership id is' "$SPREAD_LOG"; }; then
				return 0
			fi
			_spread_alive "$SPREAD_PID" || break
			sleep 0.05
		done
		if _spread_alive "$SPREAD_PID"; then
			echo "spread_start: daemon on port $port not ready after 15 s" >&2
			tail -n 20 "$SPREAD_LOG" >&2
			spread_stop
			return 1
		fi
		wait "$SPREAD_PID" 2>/dev/null || true
		# Lost a race for the port: try another one.
		# (/tmp/PORT is left alone: it may be the other daemon's.)
		if grep -qiE 'unable to bind|bind error' "$SPREAD_LOG"; then
			rm -rf "$dir"
			unset SPREAD_PID SPREAD_PORT SPREAD_DIR SPREAD_CONF SPREAD_LOG
			continue
		fi
		echo "spread_start: daemon exited at start:" >&2
		tail -n 20 "$SPREAD_LOG" >&2
		spread_stop
		return 1
	done
	echo "spread_start: no port could be bound after 5 tries" >&2
	return 1
}

spread_stop() {
	local i
	if [ -n "${SPREAD_PID:-}" ]; then
		if _spread_alive "$SPREAD_PID"; then
			kill -TERM "$SPREAD_PID" 2>/dev/null
			for i in $(seq 1 100); do
				_spread_alive "$SPREAD_PID" || break
				sleep 0.05
			done
			_spread_alive "$SPREAD_PID" && kill -KILL "$SPREAD_PID" 2>/dev/null
		fi
		wait "$SPREAD_PID" 2>/dev/null || true
	fi
	if [ -n "${SPREAD_PORT:-}" ]; then
		rm -f "/tmp/$SPREAD_PORT"
	fi
	if [ -n "${SPREAD_DIR:-}" ] && [ -d "$SPREAD_DIR" ]; then
		rm -rf "$SPREAD_DIR"
	fi
	unset SPREAD_PID SPREAD_PORT SPREAD_DIR SPREAD_CONF SPREAD_LOG
	return 0
}
