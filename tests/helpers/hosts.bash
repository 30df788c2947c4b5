# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Simulated hosts (scripts/hosts) for the bats suites.  Load after common:
#	load helpers/common
#	load helpers/hosts
#	setup() { setup_quilt; setup_hosts 3; }		# -m: own /run too
#	teardown() { teardown_hosts; teardown_quilt; }
# setup_hosts skips the test, saying why, where hosts cannot be made (not
# root, ip netns or nft missing...).  teardown_hosts destroys the run
# whatever became of the test (passed, failed, skipped, or setup failed
# halfway): bats runs teardown in every case, and the run's directory is
# made before create, so that even a create killed halfway is found.
# It runs before teardown_quilt, which removes $T.

HOSTS=${HOSTS:-$QUILT_TOP/scripts/hosts}
# The runs this test made, destroyed by teardown_hosts.  A test that makes
# a run itself (hosts -d DIR create) adds DIR here before create.
HDIRS=()
HDIR=''

# hosts CMD...: scripts/hosts, on this test's run ($QUILT_HOSTS) unless -d.
hosts() {
	"$HOSTS" "$@"
}

# skip_unless_hosts [-m]: skip the test, with the reason check gives,
# unless this machine can make hosts.  check is asked once per file, or
# once for all the files given the same HOSTS_CHECK_DIR.
skip_unless_hosts() {
	local f=${HOSTS_CHECK_DIR:-$BATS_FILE_TMPDIR}/hosts-check${1:-} why
	if [ ! -e "$f" ]; then
		why=$("$HOSTS" check "$@" 2>&1 >/dev/null) && why=''
		echo "$why" >"$f"
	fi
	why=$(cat "$f")
	if [ -n "$why" ]; then
		skip "${why#hosts: }"
	fi
}

# new_run: a new empty directory for a run, added to HDIRS; in RUN.
new_run() {
	RUN=$(mktemp -d /tmp/qh.XXXXXX)
	HDIRS+=("$RUN")
}

# setup_hosts [-m] N: make hosts 1..N for this test; its directory is
# HDIR and QUILT_HOSTS, so that `hosts exec 1 ...` finds it.
setup_hosts() {
	local m=''
	if [ "$1" = -m ]; then
		m=-m
	fi
	skip_unless_hosts $m
	new_run
	HDIR=$RUN
	export QUILT_HOSTS=$HDIR
	"$HOSTS" -d "$HDIR" create "$@" >/dev/null
}

# teardown_hosts: destroy every run of this test; fails if anything is
# left (destroy says what).
teardown_hosts() {
	local d st=0
	for d in "${HDIRS[@]}"; do
		"$HOSTS" -d "$d" destroy || st=1
	done
	HDIRS=() HDIR=''
	return "$st"
}

# start_in HOST NAME CMD...: start_bg NAME, CMD run in HOST (BGPID is CMD
# itself: hosts exec execs it).
start_in() {
	local h=$1 name=$2
	shift 2
	start_bg "$name" "$HOSTS" exec "$h" "$@"
}

# listen_in HOST ARGS...: start_listener, in HOST: quilt-listen -P
# $T/NAME.ready ARGS (NAME is $LNAME, default "listen"); sets ADDR, PORT,
# LPID.
listen_in() {
	local h=$1 name=${LNAME:-listen}
	shift
	local ready=$T/$name.ready
	rm -f "$ready"
	"$HOSTS" exec "$h" env --default-signal=INT,QUIT quilt-listen \
		-P "$ready" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err" 3>&- 4>&- &
	LPID=$!
	track "$LPID"
	wait_ready "$ready" "$LPID" "$name" || return 1
	ADDR=$(head -n 1 "$ready")
	PORT=${ADDR##*:}
}

# tcp_rx_queue_in HOST PORT: tcp_rx_queue, in HOST (/proc/net is the
# reader's network namespace).
tcp_rx_queue_in() {
	"$HOSTS" exec "$1" bash -c "$(declare -f tcp_rx_queue); tcp_rx_queue $2"
}
