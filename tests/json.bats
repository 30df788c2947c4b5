#!/usr/bin/env bats
# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# -j: JSON lines that any parser takes, whatever the bytes.  Random
# messages (any bytes, ASCII with quotes and backslashes, valid UTF-8 of
# every plane, control characters) go through quilt-listen -j, quilt-send
# -j (a handler's replies), quilt-relay -j and sp-join -j; every line must
# parse with Python's json.loads and with jq, each field keep one type, and
# the parts read back (as text, or from parts_b64 when a part is not UTF-8)
# be exactly the bytes sent.

load helpers/common
load helpers/relay
load helpers/spread

QUILT_NEEDS="quilt-relay sp-join sp-mcast"

setup() {
	setup_quilt
	: >"$T/meshes"
	: >"$T/ctls"
	# A seed a run, said on failure, so that a failure can be replayed.
	SEED=${JSON_SEED:-$RANDOM$RANDOM}
	echo "seed $SEED (JSON_SEED=$SEED to replay)"
}

# gen N MAXPARTS: N random messages of 1..MAXPARTS parts as -N netstrings
# in $T/in.ns, and the same, a message a line, each part in hex, in
# $T/want.
gen() {
	python3 - "$SEED" "$1" "$2" "$T/in.ns" "$T/want" <<'EOF'
import random, sys
seed, n, maxparts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
def uchar():
    lo, hi = r.choice([(0, 0x80), (0x80, 0x800), (0x800, 0xd800),
                       (0xe000, 0x10000), (0x10000, 0x110000)])
    return chr(r.randrange(lo, hi))
def part():
    k, n = r.randrange(5), r.randrange(0, 100)
    if k == 0:
        return bytes(r.randrange(256) for _ in range(n))
    if k == 1:
        return bytes(r.choice(b'ab "\\\t/\x7f{}[],:') for _ in range(n))
    if k == 2:
        return ''.join(uchar() for _ in range(n // 3)).encode()
    if k == 3:
        # UTF-8 with one bad byte in it: cut, overlong or surrogate
        s = ''.join(uchar() for _ in range(n // 4)).encode()
        i = r.randrange(len(s) + 1)
        return s[:i] + r.choice([b'\xc3', b'\xc0\xaf', b'\xed\xa0\x80',
                                 b'\xf4\x90\x80\x80', b'\xff', b'\x80']) + s[i:]
    return bytes(r.randrange(32) for _ in range(n))
def ns(b):
    return b'%d:%s,' % (len(b), b)
with open(sys.argv[4], 'wb') as f, open(sys.argv[5], 'w') as w:
    for _ in range(n):
        parts = [part() for _ in range(r.randrange(1, maxparts + 1))]
        f.write(ns(b''.join(ns(p) for p in parts)))
        w.write(' '.join(p.hex() or '-' for p in parts) + '\n')
EOF
}

# check FILE KIND HEAD...: every line of FILE parses with json.loads and jq;
# the lines of kind KIND ("msg" or "sp") in order carry the messages of
# $T/want (parts or parts_b64; sp-join's data or data_b64), parts_b64
# exactly when a part is not UTF-8; each HEAD field is there with one type
# ("conn:int", "node:str"); a summary line, if any, has numbers only.
check() {
	local file=$1 kind=$2 n
	shift 2
	python3 - "$file" "$T/want" "$kind" "$@" <<'EOF'
import base64, json, sys
file, want, kind, heads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
types = {'int': int, 'str': str}
want = [[bytes.fromhex(h) if h != '-' else b'' for h in l.split()]
        for l in open(want)]
got = []
def utf8(b):
    try:
        b.decode('utf-8')
        return True
    except UnicodeDecodeError:
        return False
for i, line in enumerate(open(file, 'rb'), 1):
    o = json.loads(line)        # bytes: the UTF-8 must be valid too
    assert isinstance(o, dict), (i, o)
    if o.get('kind') == 'summary':
        assert all(isinstance(v, int) for k, v in o.items() if k != 'kind'), o
        continue
    for h in heads:
        k, t = h.split(':')
        assert isinstance(o[k], types[t]) and not isinstance(o[k], bool), (i, k, o)
    if kind == 'sp':
        assert ('data' in o) != ('data_b64' in o), (i, o)
        if 'data' in o:
            assert isinstance(o['data'], str)
            parts = [o['data'].encode()]
        else:
            assert isinstance(o['data_b64'], str)
            parts = [base64.b64decode(o['data_b64'], validate=True)]
            assert not utf8(parts[0]), (i, 'base64 of UTF-8', o)
    else:
        assert o['kind'] == 'msg', (i, o)
        assert ('parts' in o) != ('parts_b64' in o), (i, o)
        if 'parts' in o:
            assert all(isinstance(p, str) for p in o['parts']), (i, o)
            parts = [p.encode() for p in o['parts']]
        else:
            assert all(isinstance(p, str) for p in o['parts_b64']), (i, o)
            parts = [base64.b64decode(p, validate=True) for p in o['parts_b64']]
            assert not all(utf8(p) for p in parts), (i, 'base64 of UTF-8', o)
    got.append(parts)
assert len(got) == len(want), ('messages', len(got), len(want))
for i, (g, w) in enumerate(zip(got, want), 1):
    assert g == w, ('message', i, g, w)
print('%d messages checked' % len(got))
EOF
	# jq reads every line as JSON too, and as many
	n=$(jq -c . <"$file" | wc -l)
	[ "$n" -eq "$(count_lines "$file")" ]
}

@test "quilt-listen -j and quilt-send -j: random bytes give JSON lines json.loads and jq take; parts read back exact; the summaries" {
	gen 300 3
	start_listener -j 127.0.0.1:0
	run --separate-stderr quilt-send -N -n snd "$ADDR" <"$T/in.ns"
	[ "$status" -eq 0 ]
	stop_listener
	[ "$status" -eq 0 ]
	check "$T/listen.out" msg conn:int peer:str node:str
	# conn and node as the sender was; the summary is the last line
	[ "$(jq -r 'select(.kind == "msg") | "\(.conn) \(.node)"' "$T/listen.out" | sort -u)" = "1 snd" ]
	# output_bytes: the bytes of the lines before it
	[ "$(tail -n 1 "$T/listen.out" | jq -c .)" = \
		"$(jq -c '{kind: "summary", connections: 1, messages: 300, output_bytes: ., written: 300}' \
			< <(head -n -1 "$T/listen.out" | wc -c))" ]
	# the replies of a handler that echoes each message: the same bytes
	LNAME=echo start_listener -N -e cat 127.0.0.1:0
	run --separate-stderr quilt-send -N -j "$ADDR" <"$T/in.ns"
	[ "$status" -eq 0 ]
	echo "$output" >"$T/send.json"
	check "$T/send.json" msg conn:int node:str
	[ "$(tail -n 1 "$T/send.json" | jq -c '[.kind, .sent, .acknowledged, .replies, .status]')" = '["summary",300,300,300,0]' ]
}

@test "quilt-listen -j, three connections one after another: each line names its own connection, peer and node (made once a connection)" {
	start_listener -j 127.0.0.1:0
	for i in 1 2 3; do
		run quilt-send -n "s$i" "$ADDR" "a$i" "b$i" "c$i"
		[ "$status" -eq 0 ]
	done
	stop_listener
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.kind == "msg") | "\(.conn) \(.node) \(.parts[0])"' "$T/listen.out")" = \
		"$(printf '1 s1 a1\n1 s1 b1\n1 s1 c1\n2 s2 a2\n2 s2 b2\n2 s2 c2\n3 s3 a3\n3 s3 b3\n3 s3 c3')" ]
	# one peer a connection, three in all (each its own source port)
	[ "$(jq -r 'select(.kind == "msg") | "\(.conn) \(.peer)"' "$T/listen.out" | sort -u | wc -l)" -eq 3 ]
	[ "$(jq -r 'select(.kind == "msg") | .peer' "$T/listen.out" | sort -u | grep -c '^127\.0\.0\.1:[0-9][0-9]*$')" -eq 3 ]
}

@test "quilt-relay -j and sp-join -j: random bytes, parsed by json.loads and jq, read back exact" {
	gen 200 3
	start_relay r -j -l 127.0.0.1:0 -s 0
	run --separate-stderr quilt-send -N -d r -n snd "$RADDR" <"$T/in.ns"
	[ "$status" -eq 0 ]
	check "$T/r.out" msg from:str
	# a leaf's messages come from its relay
	[ "$(jq -r .from "$T/r.out" | sort -u)" = r ]
	# sp-join: one part a message (sp-mcast -N sends each part)
	gen 200 1
	sp=$(sed -n 's/^spread //p' "$T/r.ready")
	start_join j -j -P "$T/j.ready" -s "$sp" g
	wait_ready "$T/j.ready" "$JPID" j
	run --separate-stderr sp-mcast -N -s "$sp" g <"$T/in.ns"
	[ "$status" -eq 0 ]
	wait_for lines_at_least "$T/j.out" 200
	check "$T/j.out" sp sender:str msg_type:int endian:int
}

@test "quilt-relay -Q groups -j: group and member names with a backslash are escaped" {
	# a Spread group name may hold '\' (0x24..0x7e): -Q groups -j escapes it
	start_relay r -l 127.0.0.1:0 -s 0
	sp=$(sed -n 's/^spread //p' "$T/r.ready")
	start_join j -P "$T/j.ready" -u 'a\b' -s "$sp" 'g\x'
	wait_ready "$T/j.ready" "$JPID" j
	run --separate-stderr quilt-relay -j -Q "$T/r.ready" groups
	[ "$status" -eq 0 ]
	echo "$output"
	echo "$output" | python3 -c 'import json, sys; [json.loads(l) for l in sys.stdin]'
	[ "$(echo "$output" | jq -r 'select(.group) | .group')" = 'g\x' ]
	[ "$(echo "$output" | jq -r 'select(.group) | .members[0]')" = '#a\b#r' ]
}
