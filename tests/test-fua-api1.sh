#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# An API 1 plugin never sees flags: a FUA write, trim or zero reaches
# it as the plain call followed at once by a flush, and a write without
# FUA gets no flush.  The same holds when its can_fua claims NATIVE,
# which an API 1 pwrite cannot honour.  (tests/plugins/recorder-v1.c
# logs every callback.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
cat > "$d/expected" <<'EOF2'
pwrite off=0 count=512
flush
pwrite off=512 count=512
trim off=8192 count=4096
flush
zero off=16384 count=4096 may_trim=1
flush
zero off=20480 count=4096 may_trim=0
flush
flush
pread off=0 count=1024
EOF2

for p in recorder-v1 recorder-v1-fua; do
	plugin=$(test_plugin "$p")
	: > "$d/$p.calls"
	start_nbdbroker -U "$d/$p.sock" "$plugin" size=1M log="$d/$p.calls"
	grep -F "plugin $p ready" "$d/$p.sock.log"
	grep -F "(API 1," "$d/$p.sock.log"

	/usr/bin/python3 - "$d/$p.sock" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
assert h.can_fua() and h.can_flush() and h.can_trim() and h.can_zero()
# Zeroes are native (the plugin has zero), so they cannot fail fast.
assert not h.can_fast_zero()
h.pwrite(b"\x01" * 512, 0, nbd.CMD_FLAG_FUA)
h.pwrite(b"\x02" * 512, 512)
h.trim(4096, 8192, nbd.CMD_FLAG_FUA)
h.zero(4096, 16384, nbd.CMD_FLAG_FUA)
h.zero(4096, 20480, nbd.CMD_FLAG_FUA | nbd.CMD_FLAG_NO_HOLE)
h.flush()
assert h.pread(1024, 0) == b"\x01" * 512 + b"\x02" * 512
h.shutdown()
PY
	diff -u "$d/expected" "$d/$p.calls"
done
