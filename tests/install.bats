#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# make install / make uninstall honour PREFIX and DESTDIR; what is installed
# works from there.

load helpers/common

QUILT_NEEDS=quilt-relay

# programs: every program of cmd/ (cmd/NAME.c or cmd/NAME/main.c).
programs() {
	local f
	for f in "$QUILT_TOP"/cmd/*.c "$QUILT_TOP"/cmd/*/main.c; do
		[ -f "$f" ] || continue
		f=${f#"$QUILT_TOP"/cmd/}
		echo "${f%%[./]*}"
	done
}

# install_to DEST PREFIX: make install, quietly unless it fails.
install_to() {
	run make -s -C "$QUILT_TOP" install DESTDIR="$1" PREFIX="$2"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "make install puts every program, quilt-mesh, man page, completion and unit under DESTDIR/PREFIX; uninstall removes them" {
	top=$QUILT_TOP
	dest=$T/stage
	install_to "$dest" /opt/q
	n=0
	for name in $(programs) quilt-mesh; do
		[ -x "$dest/opt/q/bin/$name" ]
		c=$dest/opt/q/share/bash-completion/completions/$name
		[ -f "$c" ]
		grep -q "^complete -F _${name//-/_} $name\$" "$c"
		n=$((n + 1))
	done
	[ "$n" -ge 8 ]
	[ -f "$dest/opt/q/share/man/man1/quilt-mesh.1" ]
	for m in "$top"/man/*.[157]; do
		s=${m##*.}
		[ -f "$dest/opt/q/share/man/man$s/$(basename "$m")" ]
	done
	for u in quilt-listen@.service quilt-listen@.socket quilt-relay@.service; do
		[ -f "$dest/opt/q/lib/systemd/system/$u" ]
	done
	# the units run the programs of PREFIX
	grep -qx 'ExecStart=/opt/q/bin/quilt-listen $OPTIONS' \
		"$dest/opt/q/lib/systemd/system/quilt-listen@.service"
	[ "$(cat "$dest"/opt/q/lib/systemd/system/* | grep -c /usr/bin)" -eq 0 ]
	"$dest/opt/q/bin/quilt-send" -V | grep -q '^quilt-send (quilt) '
	run make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/opt/q
	[ "$status" -eq 0 ]
	find "$dest" ! -type d
	[ -z "$(find "$dest" ! -type d)" ]
}

@test "installed quilt-mesh runs the quilt-relay beside it, not the tree's, and names itself" {
	dest=$T/stage
	install_to "$dest" /usr
	mv "$dest/usr/bin" "$T/b"
	run --separate-stderr env -u QUILT_BIN PATH=/usr/bin:/bin "$T/b/quilt-mesh" -d "$T/m" line 2
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "$T/m" ]
	# shellcheck disable=SC2046
	track $(cat "$T"/m/n*.pid)
	# the relays are the installed ones
	pid=$(cat "$T/m/n1.pid")
	[ "$(readlink "/proc/$pid/exe")" = "$T/b/quilt-relay" ]
	[ "$("$T/b/quilt-relay" -Q "$T/m/n1.ready" routes | cut -f 1)" = n2 ]
	run env -u QUILT_BIN "$T/b/quilt-mesh" -s "$T/m"
	[ "$status" -eq 0 ]
	run --separate-stderr env -u QUILT_BIN "$T/b/quilt-mesh" hexagon 2
	[ "$status" -eq 64 ]
	[[ $stderr == "quilt-mesh: unknown shape: hexagon"* ]]
	# without a quilt-relay beside it or on PATH: 69
	rm "$T/b/quilt-relay"
	run --separate-stderr env -u QUILT_BIN PATH=/usr/bin:/bin "$T/b/quilt-mesh" line 2
	[ "$status" -eq 69 ]
	[[ $stderr == "quilt-mesh: "*"not found"* ]]
}

@test "bash-completion finds each installed program's completion through its link" {
	bc=/usr/share/bash-completion/bash_completion
	[ -r "$bc" ] || skip "bash-completion is not installed"
	dest=$T/stage
	install_to "$dest" /usr
	for name in $(programs) quilt-mesh; do
		# bash-completion looks in each XDG_DATA_DIRS/bash-completion
		run env -u BASH_COMPLETION_USER_DIR HOME="$T" XDG_DATA_HOME="$T/none" \
			XDG_DATA_DIRS="$dest/usr/share" bash -c '
			source "$1" || exit 1
			if declare -F _comp_load >/dev/null; then
				_comp_load "$2"
			else
				__load_completion "$2"
			fi
			complete -p "$2"' _ "$bc" "$name"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "${lines[-1]}" = "complete -F _${name//-/_} $name" ]
	done
}
