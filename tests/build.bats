#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# The build honours the builder's flags: CPPFLAGS (where dpkg-buildflags puts
# -D_FORTIFY_SOURCE=2) reaches every compile, CFLAGS=-O0 keeps the flags the
# code needs.  Builds go to $T, never into the tree's build/ and bin/.

load helpers/common

# compiles OUT: the compile commands (" -c ") of `make -n -B` with ARGS...
compiles() {
	local out=$1
	shift
	make -s -n -B -C "$QUILT_TOP" BUILD="$T/b" BIN="$T/bin" "$@" all units |
		grep -e ' -c ' >"$out"
}

@test "CPPFLAGS=-D_FORTIFY_SOURCE=2 CFLAGS=-O2: a built program calls the fortified _chk functions" {
	# -U first: a compiler that fortifies by default (Ubuntu's) would
	# hide a Makefile that drops CPPFLAGS.  Without CPPFLAGS the same
	# object has no _chk call (the control), with it the program has.
	run make -s -C "$QUILT_TOP" BUILD="$T/plain" CFLAGS="-O2 -U_FORTIFY_SOURCE" \
		"$T/plain/libcommon/log.o"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(nm "$T/plain/libcommon/log.o" | grep -c '_chk$')" -eq 0 ]
	run make -s -C "$QUILT_TOP" BUILD="$T/b" BIN="$T/bin" \
		CPPFLAGS=-D_FORTIFY_SOURCE=2 CFLAGS="-O2 -U_FORTIFY_SOURCE" "$T/bin/quilt-keygen"
	echo "$output"
	[ "$status" -eq 0 ]
	nm -D "$T/bin/quilt-keygen" | grep -E ' U __[a-z]+_chk(@|$)'
	nm "$T/b/libcommon/log.o" | grep -q '_chk$'
}

@test "every compile command of all and units has CPPFLAGS, after CFLAGS and -Ilibcommon" {
	compiles "$T/cc" CPPFLAGS=-DQUILT_CPPFLAGS_PROBE CFLAGS=-O1
	n=$(wc -l <"$T/cc")
	src=$(cd "$QUILT_TOP" && ls libcommon/*.c | wc -l)
	[ "$n" -gt "$src" ]
	if grep -v -e ' -O1 .*-Ilibcommon .*-DQUILT_CPPFLAGS_PROBE ' "$T/cc"; then
		false
	fi
}

@test "make CFLAGS=-O0 keeps the flags the code needs (QCFLAGS)" {
	compiles "$T/cc" CFLAGS=-O0
	[ -s "$T/cc" ]
	if grep -v -e ' -O0 .*-std=c11 .*-Ilibcommon .*-MMD ' "$T/cc"; then
		false
	fi
	[ "$(grep -c -e ' -O2' "$T/cc")" -eq 0 ]
}

@test "every source file carries the license line in its header (LICENSE: ISC)" {
	local f missing=() files=()
	[ "$(head -n 1 "$QUILT_TOP/LICENSE")" = "Copyright (c) 2026 the quilt authors" ]
	cd "$QUILT_TOP"
	mapfile -t files < <(find cmd libcommon tests/unit tests/fuzz tests/helpers \
		scripts man -maxdepth 2 -type f \( -name '*.[ch]' -o -name '*.bash' \
		-o -name '*.[157]' -o -name '*.service' -o -name '*.socket' \) ;
		find tests -maxdepth 2 -name '*.bats'; echo Makefile; echo .ci/run;
		echo tests/run; find scripts -maxdepth 1 -type f ! -name '*.*')
	[ "${#files[@]}" -gt 150 ]
	for f in "${files[@]}"; do
		head -n 3 "$f" | grep -q 'Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC' ||
			missing+=("$f")
	done
	printf 'no license line: %s\n' "${missing[@]}"
	[ "${#missing[@]}" -eq 0 ]
}
