#!/usr/bin/env bats
# make install / make uninstall honour PREFIX and DESTDIR.

load helpers/common

@test "make install puts every program and man page under DESTDIR/PREFIX; uninstall removes them" {
	top=$QUILT_TOP
	dest=$T/stage
	run make -s -C "$top" install DESTDIR="$dest" PREFIX=/opt/q
	echo "$output"
	[ "$status" -eq 0 ]
	n=0
	for p in "$top"/cmd/*.c; do
		name=$(basename "$p" .c)
		[ -x "$dest/opt/q/bin/$name" ]
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
	for m in "$top"/man/*.[157]; do
		s=${m##*.}
		[ -f "$dest/opt/q/share/man/man$s/$(basename "$m")" ]
	done
	"$dest/opt/q/bin/quilt-send" -V | grep -q '^quilt-send (quilt) '
	run make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/opt/q
	[ "$status" -eq 0 ]
	[ -z "$(find "$dest" -type f)" ]
}
