#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# The example systemd units of scripts/systemd: systemd-analyze verify finds
# nothing to say about an instance of each (ExecStart= pointed at the built
# programs, as make install points it at PREFIX/bin), and they keep what the
# package promises: socket activation, readiness, the relay's files in its
# runtime directory, the hardening.

load helpers/common

UNITS=$QUILT_TOP/scripts/systemd

@test "systemd-analyze verify: quilt-listen@7000.socket and .service, quilt-relay@n1.socket and .service" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze (apt-get install systemd)"
	mkdir "$T/u"
	for f in "$UNITS"/*.service "$UNITS"/*.socket; do
		sed "s|=/usr/bin/|=$QUILT_BIN/|" "$f" >"$T/u/${f##*/}"
	done
	cd "$T/u"
	run systemd-analyze verify --man=no ./quilt-listen@7000.socket \
		./quilt-listen@7000.service ./quilt-relay@n1.socket ./quilt-relay@n1.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# and it does find a fault: a key it does not know
	sed 's/^NoNewPrivileges=/NoNewPrivilegez=/' quilt-relay@.service >bad@.service
	run systemd-analyze verify --man=no ./bad@n1.service
	[[ $output == *"Unknown key"* ]]
}

@test "the sockets hold the listening sockets for notify services; the relay is named by its instance and keeps its files in its runtime directory" {
	s=$UNITS/quilt-listen@.socket l=$UNITS/quilt-listen@.service r=$UNITS/quilt-relay@.service
	grep -qx 'ListenStream=%I' "$s"
	grep -qx 'Accept=no' "$s"
	grep -qx 'Accept=no' "$UNITS/quilt-relay@.socket"
	grep -qx 'ListenStream=1601' "$UNITS/quilt-relay@.socket"
	grep -qx 'Requires=quilt-listen@%i.socket' "$l"
	grep -qx 'Requires=quilt-relay@%i.socket' "$r"
	# the socket is taken from systemd: no address of their own
	run grep -e '^ExecStart=.* -l ' -e '^ExecStart=.*LISTEN' "$r" "$l"
	[ "$status" -eq 1 ]
	grep -qx 'ExecStart=/usr/bin/quilt-listen $OPTIONS' "$l"
	grep -qx 'EnvironmentFile=/etc/quilt/relay-%i.conf' "$r"
	grep -qx 'RuntimeDirectory=quilt-relay-%i' "$r"
	grep -qx 'RuntimeDirectoryMode=0700' "$r"
	grep -qx 'Environment=XDG_RUNTIME_DIR=%t/quilt-relay-%i' "$r"
	grep -q '^ExecStart=/usr/bin/quilt-relay -n %i .*-P %t/quilt-relay-%i/ready ' "$r"
	for u in "$l" "$r"; do
		for k in Type=notify NotifyAccess=main DynamicUser=yes ProtectSystem=strict \
			PrivateTmp=yes NoNewPrivileges=yes; do
			grep -qx "$k" "$u" || { echo "${u##*/}: no $k"; false; }
		done
	done
}
