#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The bundled plugins run sandboxed by default, each under its own
# policy, and real clients (qemu-img, qemu-io, nbdinfo, nbdsh) get
# right answers.  The workers really are confined: seccomp filters,
# no_new_privs, no capabilities, a private network namespace and, when
# the broker is root, the user nobody.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox
requires qemu-img --version
requires qemu-io --version
requires nbdinfo --version

d=$(tmpdir)

# check_confined PID: the worker's kernel-visible state.
check_confined() {
	local st=/proc/$1/status
	cat "$st"
	grep -q "^Seccomp:[[:space:]]*2$" "$st"
	grep -q "^Seccomp_filters:[[:space:]]*2$" "$st"
	grep -q "^NoNewPrivs:[[:space:]]*1$" "$st"
	grep -q "^CapEff:[[:space:]]*0000000000000000$" "$st"
	grep -q "^CapPrm:[[:space:]]*0000000000000000$" "$st"
	[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	if [ "$(id -u)" -eq 0 ]; then
		grep -q "^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534" "$st"
		grep -q "^CapBnd:[[:space:]]*0000000000000000$" "$st" ||
		    grep -q "^CapBnd:[[:space:]]*0000000000000006$" "$st"
	fi
}

head -c 8M /dev/urandom > "$d/random.img"

# memory
start_nbdbroker -U "$d/mem.sock" memory size=64M
grep -q "plugin memory: sandbox policy $policy_dir/memory.policy (enforce)" \
    "$d/mem.sock.log"
check_confined "$(worker_pid)"
uri=$(nbd_uri "$d/mem.sock")
qemu-img convert -n -f raw -O raw "$d/random.img" "$uri"
qemu-img convert -f raw -O raw "$uri" "$d/back.img"
cmp -n 8388608 "$d/random.img" "$d/back.img"
[ "$(stat -c %s "$d/back.img")" -eq 67108864 ]
qemu-io -f raw -c 'write -P 0x55 16M 1M' -c 'read -P 0x55 16M 1M' \
    -c 'discard 16M 64k' -c 'read -P 0 16M 64k' -c 'write -z 20M 1M' \
    -c 'read -P 0 20M 1M' -c flush "$uri"
nbdinfo --json "$uri" > "$d/mem.json"
grep -q '"export-size": 67108864' "$d/mem.json"
nbdsh -u "$uri" -c '
h.pwrite(b"x" * 4096, 1 << 20, nbd.CMD_FLAG_FUA)
assert h.pread(4096, 1 << 20) == b"x" * 4096
h.zero(4096, 1 << 20)
assert h.pread(4096, 1 << 20) == bytearray(4096)
h.trim(65536, 0)
h.flush()'

# file: a root-only image in a private directory works too (opened
# at start-up, before the switch to nobody takes effect).
mkdir -m 700 "$d/private"
cp "$d/random.img" "$d/private/disk.img"
chmod 600 "$d/private/disk.img"
start_nbdbroker -U "$d/file.sock" file "$d/private/disk.img"
grep -q "plugin file: sandbox policy $policy_dir/file.policy (enforce)" \
    "$d/file.sock.log"
check_confined "$(worker_pid)"
uri=$(nbd_uri "$d/file.sock")
nbdinfo --json "$uri" > "$d/file.json"
grep -q '"export-size": 8388608' "$d/file.json"
grep -q '"is_read_only": false' "$d/file.json"
qemu-img convert -f raw -O raw "$uri" "$d/back2.img"
cmp "$d/random.img" "$d/back2.img"
qemu-io -f raw -c 'write -P 0xaa 1M 64k' -c 'read -P 0xaa 1M 64k' \
    -c 'write -z 2M 64k' -c 'discard 3M 64k' -c flush "$uri"
cmp -n 65536 -i 0:1048576 <(head -c 65536 /dev/zero | tr '\0' '\252') \
    "$d/private/disk.img"
nbdsh -u "$uri" -c '
h.pwrite(b"hello file", 0, nbd.CMD_FLAG_FUA)
assert h.pread(10, 0) == b"hello file"
h.flush()'
[ "$(head -c 10 "$d/private/disk.img")" = "hello file" ]
# A second connection at the same time, and a read-only server.
nbdsh -u "$uri" -c 'assert h.pread(10, 0) == b"hello file"'
start_nbdbroker -U "$d/ro.sock" -r file "$d/private/disk.img"
nbdinfo --json "$(nbd_uri "$d/ro.sock")" > "$d/ro.json"
grep -q '"is_read_only": true' "$d/ro.json"
[ "$(nbd_read "$d/ro.sock" 0 10)" = "DATA hello file" ]

# null
start_nbdbroker -U "$d/null.sock" null size=1G
check_confined "$(worker_pid)"
uri=$(nbd_uri "$d/null.sock")
nbdinfo --json "$uri" > "$d/null.json"
grep -q '"export-size": 1073741824' "$d/null.json"
qemu-img convert -n -f raw -O raw "$d/random.img" "$uri"
qemu-io -f raw -c 'read -P 0 0 1M' "$uri"
nbdsh -u "$uri" -c 'assert h.pread(4096, 1 << 29) == bytearray(4096)'

# pattern: each 8-byte word holds its own offset, big-endian.
start_nbdbroker -U "$d/pattern.sock" pattern size=1M
check_confined "$(worker_pid)"
uri=$(nbd_uri "$d/pattern.sock")
nbdsh -u "$uri" -c '
import struct
b = h.pread(64, 4096)
assert [struct.unpack(">Q", b[i:i+8])[0] for i in range(0, 64, 8)] == \
    list(range(4096, 4160, 8)), b'
qemu-img convert -f raw -O raw "$uri" "$d/pattern.img"
[ "$(stat -c %s "$d/pattern.img")" -eq 1048576 ]
[ "$(od -An -tx1 -j 8 -N 8 "$d/pattern.img" | tr -d ' ')" = 0000000000000008 ]
