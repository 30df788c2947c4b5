#!/usr/bin/env bats
# scripts/bash-completion: the candidates for a few command lines, one
# completion per program, and its flags kept in step with each program's
# getopt string and man page SYNOPSIS.

load helpers/common

COMPLETION=$QUILT_TOP/scripts/bash-completion

# comp PROGRAM WORD...: run PROGRAM's completion function, in a bash of its
# own, with the cursor on the last WORD; prints the candidates on one line.
comp() {
	local f=_${1//-/_}
	bash -c 'source "$1" || exit 1
		f=$2
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		"$f" || exit 1
		echo "${COMPREPLY[*]}"' _ "$COMPLETION" "$f" "$@"
}

# programs: every program of cmd/, and quilt-mesh.
programs() {
	local f
	for f in "$QUILT_TOP"/cmd/*.c "$QUILT_TOP"/cmd/*/main.c; do
		[ -f "$f" ] || continue
		f=${f#"$QUILT_TOP"/cmd/}
		echo "${f%%[./]*}"
	done
	echo quilt-mesh
}

# letters WORD...: the flag letters of WORDs (-a -bc), sorted, one line.
letters() {
	echo "$*" | tr -d ' -' | fold -w 1 | sort | tr -d '\n'
}

# optset GETOPT: its flags one per line, "x" or "x:" (takes an argument),
# sorted.
optset() {
	echo "${1#+}" | sed 's/\(.\)/\n\1/g; s/\n:/:/g' | sed '/^$/d' | sort
}

# spec_of PROGRAM: short and hidden of its completion function, joined.
spec_of() {
	bash -c 'source "$1" && declare -f "$2"' _ "$COMPLETION" "_${1//-/_}" |
		sed -n "s/.*local short='\([^']*\)' hidden='\([^']*\)'.*/\1\2/p"
}

# getopt_of PROGRAM: the getopt string in its source.
getopt_of() {
	if [ "$1" = quilt-mesh ]; then
		sed -n 's/^while getopts \([^ ]*\) .*/\1/p' "$QUILT_TOP/scripts/mesh"
		return
	fi
	grep -ohE 'getopt(_long)?\(argc, argv, "[^"]*"' \
		"$QUILT_TOP/cmd/$1.c" "$QUILT_TOP"/cmd/"$1"/*.c 2>/dev/null |
		sed 's/.*"\(.*\)"/\1/'
}

# synopsis_flags PAGE: the flags of a man page's SYNOPSIS (.Fl x, and
# .Fl a | d), one word per flag group.
synopsis_flags() {
	awk '/^\.Sh SYNOPSIS/ { s = 1; next }
	/^\.Sh/ { s = 0 }
	s {
		m = ""
		for (i = 1; i <= NF; i++) {
			f = $i
			sub(/^\./, "", f)
			if (f ~ /^[A-Z][a-z]$/) { m = f; continue }
			if (m == "Fl" && f ~ /^[A-Za-z0-9]+$/) { print f; m = "Fl-" }
			else if (m == "Fl-" && f == "|") m = "Fl"
		}
	}' "$1"
}

@test "sp-mcast -t a completes to agreed; -qt to every service type; after -- nothing" {
	run comp sp-mcast -t a
	[ "$status" -eq 0 ]
	[ "$output" = agreed ]
	run comp sp-mcast -qt ''
	[ "$output" = "unreliable reliable fifo causal agreed safe" ]
	run comp sp-mcast -t agreed g1 -- ''
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "quilt-relay -Q CONTROL completes the control commands, and only there" {
	run comp quilt-relay -Q "$T/n1.ready" ''
	[ "$output" = "peers routes nodes counters dot groups" ]
	run comp quilt-relay -jQ "$T/n1.ready" ro
	[ "$output" = routes ]
	run comp quilt-relay -Q"$T/n1.ready" c
	[ "$output" = counters ]
	run comp quilt-relay -n n1 -l 127.0.0.1:0 ''
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "flags: every flag a user may give, the parent's -C left out" {
	run comp quilt-send -
	[ "$output" = "-0 -a -N -d -h -k -M -n -q -r -U -v -V -w -x" ]
	run comp quilt-relay -
	[ "$output" = "-0 -A -h -j -k -l -M -N -n -P -Q -q -s -v -V" ]
	run comp quilt-mesh -
	[ "$output" = "-d -k -s" ]
	run comp quilt-listen -q -R
	[ "$output" = -R ]
	# an operand ends the options ('+'): no flags after it
	run comp quilt-send 127.0.0.1:1 -
	[ -z "$output" ]
}

@test "files for -k, -P, -Q and quilt-keygen's file; commands for -e; directories for quilt-mesh -d and -s" {
	mkdir "$T/d1"
	: >"$T/key1"
	for w in "quilt-listen -k" "quilt-send -k" "quilt-ping -k" "quilt-relay -P" \
		"sp-join -P" "quilt-mesh -k" "quilt-keygen -f"; do
		# shellcheck disable=SC2086
		run comp $w "$T/k"
		[ "$output" = "$T/key1" ]
	done
	run comp quilt-relay -Q "$T/d"
	[ "$output" = "$T/d1" ]
	run comp quilt-mesh -s "$T/"
	[ "$output" = "$T/d1" ]
	run comp quilt-mesh -d "$T/d1" -k "$T/key1" ''
	[ "$output" = "line ring star full" ]
	run comp quilt-mesh ri
	[ "$output" = ring ]
	run comp quilt-mesh line ''
	[ -z "$output" ]
	run comp quilt-listen -e 'bas'
	[[ " $output " == *" bash "* ]]
}

@test "every program has a completion whose flags (offered or hidden) are its getopt string's, and cover its SYNOPSIS" {
	local p n=0 g offered page f
	for p in $(programs); do
		n=$((n + 1))
		bash -c 'source "$1" && complete -p "$2"' _ "$COMPLETION" "$p" |
			grep -qx "complete -F _${p//-/_} $p"
		g=$(getopt_of "$p")
		if [ -z "$g" ]; then
			echo "no getopt string found for $p"
			false
		fi
		offered=$(comp "$p" -)
		echo "$p: getopt $g, completion $(spec_of "$p")"
		[ "$(optset "$g")" = "$(optset "$(spec_of "$p")")" ]
		page=$QUILT_TOP/man/$p.1
		[ -f "$page" ]
		for f in $(letters "$(synopsis_flags "$page")" | fold -w 1); do
			[[ " $offered " == *" -$f "* ]] || {
				echo "$p: -$f of its SYNOPSIS is not completed"
				false
			}
		done
	done
	[ "$n" -ge 8 ]
}
