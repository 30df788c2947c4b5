#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# make bench's picture: scripts/bench-plot draws the rates by message size
# with gnuplot into a PNG; scripts/bench writes its data and calls it.

load helpers/common

setup() {
	setup_quilt
}

# is_png FILE W H: FILE is a PNG image of W x H pixels (its IHDR chunk).
is_png() {
	[ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	[ "$(od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $1 * 2^24 + $2 * 2^16 + $3 * 256 + $4, $5 * 2^24 + $6 * 2^16 + $7 * 256 + $8 }')" = "$2 $3" ]
}

@test "bench-plot: a PNG of the rates by size, a missing point too; usage 64; no gnuplot is 1, said" {
	run "$QUILT_TOP/scripts/bench-plot"
	[ "$status" -eq 64 ]
	[ "$output" = "usage: scripts/bench-plot data png" ]
	printf 'size\tquilt\tZeroMQ\n64\t1.2e7\t2.5e6\n1024\t1.8e6\t-\n65536\t30000\t22000\n' >"$T/r.tsv"
	# without gnuplot on the PATH: status 1 and the reason
	mkdir "$T/empty"
	run env PATH="$T/empty" /bin/sh "$QUILT_TOP/scripts/bench-plot" "$T/r.tsv" "$T/r.png"
	[ "$status" -eq 1 ]
	[ "$output" = "bench-plot: gnuplot is not installed (scripts/deps --bench)" ]
	[ ! -e "$T/r.png" ]
	command -v gnuplot >/dev/null || skip "gnuplot not installed (scripts/deps --bench)"
	run "$QUILT_TOP/scripts/bench-plot" "$T/r.tsv" "$T/r.png"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	is_png "$T/r.png" 900 900
	# a data file with no contender is refused
	printf 'size\n64\n' >"$T/bad.tsv"
	run "$QUILT_TOP/scripts/bench-plot" "$T/bad.tsv" "$T/bad.png"
	[ "$status" -eq 1 ]
	[ "$output" = "bench-plot: $T/bad.tsv: no contender in the header" ]
}

@test "make bench (64 B group, small): the table, then the plot and its data" {
	command -v gnuplot >/dev/null || skip "gnuplot not installed (scripts/deps --bench)"
	BENCH_ONLY=64 BENCH_N64=20000 BENCH_RUNS=1 BENCH_PLOT=$T/b/rates.png \
		run --separate-stderr "$QUILT_TOP/scripts/bench"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"plot: $T/b/rates.png (rate by message size; data in $T/b/rates.png.tsv)"* ]]
	is_png "$T/b/rates.png" 900 900
	# one row, 64 B: quilt's rate, a number, first
	[ "$(head -n 1 "$T/b/rates.png.tsv" | cut -f1-2)" = "$(printf 'size\tquilt')" ]
	[ "$(count_lines "$T/b/rates.png.tsv")" -eq 2 ]
	[[ $(sed -n 2p "$T/b/rates.png.tsv" | cut -f1-2) =~ ^64$'\t'[0-9.e+]+$ ]]
}
