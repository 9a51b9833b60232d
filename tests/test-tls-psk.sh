#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TLS with pre-shared keys: nbdinfo and qemu-img connect with the right
# key; a wrong key or an unknown user fails cleanly and the server goes
# on serving; -s serves TLS on stdin/stdout; a bad key file is a clear
# start-up error.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_tls
requires nbdinfo --version
requires qemu-img --version
requires_nbd_python

d=$(tmpdir)
mkdir -m 0700 "$d/keys" "$d/wrong"
psktool -u alice -p "$d/keys/keys.psk" >/dev/null
psktool -u bob -p "$d/keys/keys.psk" >/dev/null
# Same user, another key; and a user the server does not know.
psktool -u alice -p "$d/wrong/keys.psk" >/dev/null
psktool -u carol -p "$d/wrong/keys.psk" >/dev/null
not cmp -s "$d/keys/keys.psk" "$d/wrong/keys.psk"

start_nbdbroker -U "$d/sock" --tls=require --tls-psk="$d/keys/keys.psk" \
    memory size=4M
psk_uri() { # USER KEYFILE
	echo "nbds+unix://$1@/?socket=$d/sock&tls-psk-file=$2"
}

nbdinfo --json "$(psk_uri alice "$d/keys/keys.psk")" > "$d/a.json"
grep -q '"TLS": true' "$d/a.json"
grep -q '"export-size": 4194304' "$d/a.json"
nbdinfo --size "$(psk_uri bob "$d/keys/keys.psk")" | grep -qx 4194304

# qemu-img reads DIR/keys.psk.
qemu-img info --output=json \
    --object "tls-creds-psk,id=tls0,endpoint=client,dir=$d/keys,username=alice" \
    --image-opts "driver=nbd,path=$d/sock,tls-creds=tls0" > "$d/q.json"
grep -q '"virtual-size": 4194304' "$d/q.json"

# A wrong key, and an unknown user: refused, and nothing else breaks.
if nbdinfo "$(psk_uri alice "$d/wrong/keys.psk")" 2> "$d/wrong.err"; then
	echo "a wrong PSK was accepted" >&2
	exit 1
fi
cat "$d/wrong.err"
if nbdinfo "$(psk_uri carol "$d/wrong/keys.psk")" 2> "$d/carol.err"; then
	echo "an unknown PSK user was accepted" >&2
	exit 1
fi
if qemu-img info \
    --object "tls-creds-psk,id=tls0,endpoint=client,dir=$d/wrong,username=alice" \
    --image-opts "driver=nbd,path=$d/sock,tls-creds=tls0" 2>"$d/qw.err"; then
	echo "qemu-img with a wrong PSK was accepted" >&2
	exit 1
fi
grep -q "PSK user 'alice': .*(wrong key?)" "$d/sock.log"
grep -q "unknown PSK user 'carol'" "$d/sock.log"
nbdinfo --size "$(psk_uri alice "$d/keys/keys.psk")" | grep -qx 4194304

# -s: one client on stdin/stdout, over TLS.
/usr/bin/python3 - "$NBDBROKER" "$d/keys/keys.psk" <<'PY'
import nbd, sys
h = nbd.NBD()
h.set_tls(nbd.TLS_REQUIRE)
h.set_tls_psk_file(sys.argv[2])
h.set_tls_username("bob")
h.connect_command([sys.argv[1], "-s", "--tls=require",
                   "--tls-psk=" + sys.argv[2], "memory", "size=1M"])
assert h.get_tls_negotiated()
h.pwrite(b"x" * 100000, 1000)
assert h.pread(100000, 1000) == b"x" * 100000
h.shutdown()
PY

# Bad key files stop the server at start-up, saying where.
printf 'alice:zz\n' > "$d/bad.psk"
if "$NBDBROKER" -U "$d/bad" --tls-psk="$d/bad.psk" memory size=1M \
    2> "$d/bad.err"; then
	echo "a bad PSK file was accepted" >&2
	exit 1
fi
grep -q "bad.psk:1: " "$d/bad.err"
printf 'alice:00\nalice:11\n' > "$d/dup.psk"
if "$NBDBROKER" -U "$d/bad" --tls-psk="$d/dup.psk" memory size=1M \
    2> "$d/dup.err"; then
	echo "a PSK file with a user twice was accepted" >&2
	exit 1
fi
grep -q "dup.psk:2: user 'alice' appears twice" "$d/dup.err"
if "$NBDBROKER" -U "$d/bad" --tls-psk="$d/keys/keys.psk" \
    --tls-verify-peer memory size=1M 2> "$d/vp.err"; then
	echo "--tls-psk with --tls-verify-peer was accepted" >&2
	exit 1
fi
[ ! -e "$d/bad" ]
