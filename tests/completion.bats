#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# scripts/bash-completion: the candidates for a few command lines, one
# completion per program, and its flags kept in step with each program's
# options (what its --help lists, and the hidden ones it takes) and man page.

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

# long_of PROGRAM: the long options of its completion, one a line, sorted
# ("--name", or "--name=" when it takes a value).
long_of() {
	# shellcheck disable=SC2086
	bash -c 'source "$1" || exit 1
		f=$(declare -f "$2")
		f=${f#*long=$3}
		echo ${f%%$3*}' _ "$COMPLETION" "_${1//-/_}" "'" |
		tr ' ' '\n' | sed '/^$/d' | sort
}

# hidden_of PROGRAM: the hidden letters of its completion, as "x" or "x:".
hidden_of() {
	bash -c 'source "$1" && declare -f "$2"' _ "$COMPLETION" "_${1//-/_}" |
		sed -n "s/.*local short='[^']*' hidden='\([^']*\)'.*/\1/p"
}

# help_opts PROGRAM: the options its --help lists, one a line, sorted:
# the letter ("x", or "x:" when it takes an argument) and the long name
# ("--name", or "--name=").
help_opts() {
	"$1" --help | awk '/^ +-/ {
		i = 1
		c = ""
		if ($1 ~ /^-.,$/) { c = substr($1, 2, 1); i = 2 }
		l = $i
		a = l ~ /=/
		sub(/=.*/, "=", l)
		if (c != "") print c (a ? ":" : "")
		print l
	}' | sort
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
	[ "$output" = "-0 -a -N -d -h -j -k -M -n -q -r -U -v -V -w -x" ]
	run comp quilt-relay -
	[ "$output" = "-0 -A -D -h -j -k -l -M -N -n -P -Q -q -s -v -V -W" ]
	run comp quilt-mesh -
	[ "$output" = "-6 -d -H -k -s" ]
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
	# -Q NODE: the relays whose control sockets are in XDG_RUNTIME_DIR
	python3 -c 'import socket, sys
for n in sys.argv[1:]:
	socket.socket(socket.AF_UNIX).bind(n)' "$T/quilt-relay-n7.ctl" "$T/quilt-relay-m1.ctl"
	: >"$T/quilt-relay-x1.ctl"
	(cd "$T/d1" && XDG_RUNTIME_DIR=$T comp quilt-relay -Q n) >"$T/c"
	[ "$(cat "$T/c")" = n7 ]
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

@test "long options complete, their values too (--key=FILE, --key FILE, --service=)" {
	: >"$T/key1"
	run comp quilt-send --re
	[ "$output" = --reconnect ]
	run comp quilt-ping --t
	[ "$output" = "--to --timeout --timestamps" ]
	run comp quilt-listen --key "$T/k"
	[ "$output" = "$T/key1" ]
	run comp quilt-listen "--key=$T/k"
	[ "$output" = "--key=$T/key1" ]
	run comp sp-mcast --service=sa
	[ "$output" = --service=safe ]
	run comp quilt-relay --query "$T/n1.ready" ''
	[ "$output" = "peers routes nodes counters dot groups" ]
}

@test "every program has a completion whose flags are the ones its --help lists (and hidden: the ones it takes unlisted), and cover its SYNOPSIS and man page" {
	local p n=0 g offered page f h x want
	for p in $(programs); do
		n=$((n + 1))
		bash -c 'source "$1" && complete -p "$2"' _ "$COMPLETION" "$p" |
			grep -qx "complete -F _${p//-/_} $p"
		page=$QUILT_TOP/man/$p.1
		[ -f "$page" ]
		if [ "$p" = quilt-mesh ]; then
			# a script: its getopts string
			g=$(sed -n 's/^while getopts \([^ ]*\) .*/\1/p' "$QUILT_TOP/scripts/mesh")
			[ -n "$g" ]
			[ "$(optset "$g")" = "$(optset "$(spec_of "$p")")" ]
		else
			h=$(help_opts "$p")
			want=$(echo "$h" | grep -v '^--')
			echo "$p: --help ${want//$'\n'/ }, completion $(spec_of "$p") hidden $(hidden_of "$p")"
			[ "$(optset "$(echo "$want" | tr -d '\n')$(hidden_of "$p")")" = "$(optset "$(spec_of "$p")")" ]
			[ "$(echo "$h" | grep '^--')" = "$(long_of "$p")" ]
			# a hidden flag is taken (not "unknown option"), with an
			# argument when the completion says so
			for x in $(optset "$(hidden_of "$p")"); do
				run --separate-stderr "$p" "-${x%:}"
				[[ $stderr != *"unknown option"* ]]
				if [ "${x#?}" = : ]; then
					[[ $stderr == "$p: missing argument to -${x%:}"* ]]
				fi
			done
			# every long name is in the man page's options
			for x in $(echo "$h" | grep '^--'); do
				x=${x%=}
				grep '^\.It ' "$page" |
					grep -qE "Fl [\\]-${x#--}( |\$)" || {
					echo "$p: $x is not in $page"
					false
				}
			done
		fi
		offered=$(comp "$p" -)
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
