# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# shellcheck shell=bash
# sp-join -i sessions for the Spread suites: the test writes requests into
# a session's standard input, a fifo it holds open on a descriptor of its
# own, and reads what the session printed in $T/NAME.out.  The daemon is
# whatever the caller names with -s (a scripted peer, Spread, quilt-relay
# -s).  Load after helpers/common and helpers/spread.
#
#   start_session a -m -s "$D"	# sp-join -i -P $T/a.ready -m -s "$D"
#   say a 'join chat' 'msg agreed 0 chat hello'
#   wait_for file_has "$T/a.out" hello
#   end_input a			# end of its standard input
#   stop_session a		# SIGTERM, status in $status

# start_session NAME ARGS...: sp-join -i -P $T/NAME.ready ARGS in the
# background, standard input the fifo $T/NAME.in, stdout $T/NAME.out,
# stderr $T/NAME.err, SIGINT restored.  Returns once the ready file is
# written (the session is set up and its operand groups joined); sets JPID.
# Sessions started later do not inherit this one's descriptor, so that
# end_input is its end of input.
start_session() {
	local name=$1 fd f closes=''
	shift
	rm -f "$T/$name.in" "$T/$name.ready"
	mkfifo "$T/$name.in"
	for f in ${SESS_FDS:-}; do closes+=" $f>&-"; done
	# The child's open of the fifo waits for ours, below.
	eval 'env --default-signal=INT sp-join -i -P "$T/$name.ready" "$@" \
		<"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" 3>&- 4>&-'"$closes"' &'
	JPID=$!
	track "$JPID"
	exec {fd}>"$T/$name.in"
	printf -v "SESS_IN_$name" %s "$fd"
	printf -v "SESS_PID_$name" %s "$JPID"
	SESS_FDS="${SESS_FDS:-} $fd"
	wait_ready "$T/$name.ready" "$JPID" "$name"
}

# say NAME LINE...: write each LINE and a newline to NAME's standard input.
say() {
	local v=SESS_IN_$1
	shift
	printf '%s\n' "$@" >&"${!v}"
}

# say_raw NAME FORMAT [ARGS...]: printf FORMAT ARGS to NAME's standard
# input, as it is (-0 and -N requests, NUL bytes).
say_raw() {
	local v=SESS_IN_$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >&"${!v}"
}

# end_input NAME: close the test's end of NAME's standard input.
end_input() {
	local v=SESS_IN_$1 fd
	fd=${!v}
	exec {fd}>&-
}

# pg NAME: the private group of session NAME ("#name#daemon").
pg() {
	head -n 1 "$T/$1.ready"
}

# spid NAME: the process id of session NAME.
spid() {
	local v=SESS_PID_$1
	echo "${!v}"
}

# stop_session NAME [SIGNAL]: signal it (TERM by default) and wait; its
# status in $status.
stop_session() {
	local pid
	pid=$(spid "$1")
	kill -"${2:-TERM}" "$pid"
	wait_exit "$pid"
}
