#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# An API 2 plugin whose can_fua says NATIVE gets the FUA flag itself,
# on pwrite, trim and zero, and no extra flush; one that says EMULATE
# gets a flush after the write instead.  (tests/plugins/recorder-v2.c
# logs every callback with its flags.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires qemu-io --version

plugin=$(test_plugin recorder-v2)
d=$(tmpdir)

: > "$d/calls"
start_nbdbroker -U "$d/sock" "$plugin" size=1M log="$d/calls"

/usr/bin/python3 - "$d/sock" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
assert h.can_fua() and h.can_trim() and h.can_zero() and h.can_fast_zero()
h.pwrite(b"\x01" * 512, 0, nbd.CMD_FLAG_FUA)
h.pwrite(b"\x02" * 512, 512)
h.trim(4096, 8192, nbd.CMD_FLAG_FUA)
h.zero(4096, 16384, nbd.CMD_FLAG_FUA)
h.zero(4096, 20480, nbd.CMD_FLAG_FUA | nbd.CMD_FLAG_NO_HOLE)
h.zero(4096, 24576, nbd.CMD_FLAG_FAST_ZERO)
h.flush()
assert h.pread(1024, 0) == b"\x01" * 512 + b"\x02" * 512
h.shutdown()
PY

cat > "$d/expected" <<'EOF2'
pwrite off=0 count=512 flags=fua
pwrite off=512 count=512 flags=none
trim off=8192 count=4096 flags=fua
zero off=16384 count=4096 flags=fua,may_trim
zero off=20480 count=4096 flags=fua
zero off=24576 count=4096 flags=may_trim,fast_zero
flush flags=none
pread off=0 count=1024 flags=none
EOF2
diff -u "$d/expected" "$d/calls"

# qemu-io's "write -f" reaches the plugin as a FUA write, too.
: > "$d/calls"
qemu-io -f raw "$(nbd_uri "$d/sock")" -c 'write -f -P 0x33 65536 4096'
cat "$d/calls"
grep -Fx 'pwrite off=65536 count=4096 flags=fua' "$d/calls"
test "$(grep -c '^pwrite' "$d/calls")" -eq 1

# fua=emulate: the flag is taken away and a flush follows the write.
: > "$d/emu-calls"
start_nbdbroker -U "$d/emu" "$plugin" size=1M log="$d/emu-calls" fua=emulate
/usr/bin/python3 - "$d/emu" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
assert h.can_fua()
h.pwrite(b"\x01" * 512, 0, nbd.CMD_FLAG_FUA)
h.pwrite(b"\x02" * 512, 512)
h.zero(512, 1024, nbd.CMD_FLAG_FUA)
h.shutdown()
PY
cat > "$d/expected" <<'EOF2'
pwrite off=0 count=512 flags=none
flush flags=none
pwrite off=512 count=512 flags=none
zero off=1024 count=512 flags=may_trim
flush flags=none
EOF2
diff -u "$d/expected" "$d/emu-calls"
