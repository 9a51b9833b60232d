#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's memory plugin (Debian's .so, unmodified) served by nbdbroker:
# a bare SIZE goes to its magic key, the flags are what the plugin
# announces, and writes, zeroes and trims read back through qemu-io,
# nbdsh and nbdcopy.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-io --version
requires nbdcopy --version
requires_nbd_python
requires_nbdkit_plugin memory

d=$(tmpdir)
start_nbdbroker -U "$d/sock" nbdkit:memory 64M
uri=$(nbd_uri "$d/sock")
grep -F "plugin memory ready in worker" "$d/sock.log" |
    grep -F "(nbdkit plugin, API 2, thread model parallel)"

nbdinfo --json "$uri" > "$d/info.json"
/usr/bin/python3 - "$d/info.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["export-size"] == 64 * 1024 * 1024, e["export-size"]
assert e["is_read_only"] is False
for k in ("can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero",
          "can_multi_conn", "can_cache"):
    assert e[k] is True, k
PY

qemu-io -f raw \
    -c "write -P 0x55 0 1M" \
    -c "write -P 0xaa 1M 64k" \
    -c "write -z 2M 1M" \
    -c "write -P 0x11 3M 1M" \
    -c "discard 3M 1M" \
    -c "write -f -P 0x22 63M 1M" \
    -c "flush" \
    -c "read -P 0x55 0 1M" \
    -c "read -P 0xaa 1M 64k" \
    -c "read -P 0 1088k 960k" \
    -c "read -P 0 2M 2M" \
    -c "read -P 0x22 63M 1M" \
    "$uri"

# A second client sees the same disk (one worker serves both).
/usr/bin/python3 - "$uri" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.pread(4, 0) == b"\x55" * 4
assert h.pread(4, 1024 * 1024) == b"\xaa" * 4
h.pwrite(b"hello", 10 * 1024 * 1024)
h.flush()
assert h.pread(5, 10 * 1024 * 1024) == b"hello"
h.shutdown()
PY

nbdcopy "$uri" "$d/copy.img"
test "$(stat -c %s "$d/copy.img")" -eq $((64 * 1024 * 1024))
test "$(dd if="$d/copy.img" bs=1 skip=$((10 * 1024 * 1024)) count=5 2>/dev/null)" = hello

# Unwritten areas are holes, written ones data (what nbdkit reports).
check_map "$uri" "m == [[0, 1114112, 0], [1114112, 9371648, 3],
    [10485760, 32768, 0], [10518528, 55541760, 3],
    [66060288, 1048576, 0]]"
