#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What a worker restart means for nbdkit plugins, which do not declare
# their durability (the worker's table by plugin name decides): the
# file plugin is persistent and memory volatile, pattern stateless, and
# random stateless too because the broker pins its seed.  The worker is
# killed with SIGKILL under a connected client.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires_nbd_python
requires_nbdkit_plugin file memory pattern random

d=$(shared_tmpdir)	# nbdkit's file plugin opens the file while serving

# client URI EXPECT: write, SIGKILL the worker, go on; EXPECT is
# "same" (no error, data still there) or "eio" (errors from then on).
client() {
	local w
	w=$(worker_pids)
	test -n "$w"
	/usr/bin/python3 - "$1" "$2" "$w" <<'PY'
import nbd, os, signal, sys, time
uri, expect, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = nbd.NBD()
h.connect_uri(uri)
before = h.pread(4096, 65536)
if not h.is_read_only():
    h.pwrite(b"\x5a" * 4096, 65536)
    before = b"\x5a" * 4096
os.kill(worker, signal.SIGKILL)
time.sleep(0.2)
try:
    after = h.pread(4096, 65536)
except nbd.Error as e:
    assert expect == "eio" and e.errno == "EIO", (expect, e.errno)
    print("EIO after the restart, as expected")
    sys.exit(0)
assert expect == "same", "no error for a volatile plugin"
assert after == before, "data changed across the restart"
if not h.is_read_only():
    h.pwrite(b"\xa5" * 512, 0)
    assert h.pread(512, 0) == b"\xa5" * 512
PY
	test "$(worker_pids)" != "$w"
}

truncate -s 1M "$d/disk.img"
chmod 0666 "$d/disk.img"
start_nbdbroker -U "$d/file" nbdkit:file "$d/disk.img"
client "$(nbd_uri "$d/file")" same
grep -E "re-opening [0-9]+ connection" "$d/file.log"
test "$(od -An -tx1 -j 65536 -N 2 "$d/disk.img")" = " 5a 5a"

start_nbdbroker -U "$d/mem" nbdkit:memory 1M
client "$(nbd_uri "$d/mem")" eio
grep -F "data written to the volatile plugin was lost" "$d/mem.log"
# A new connection gets a fresh disk.
/usr/bin/python3 - "$(nbd_uri "$d/mem")" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.pread(4096, 65536) == bytes(4096)
PY

start_nbdbroker -U "$d/pat" nbdkit:pattern 1M
client "$(nbd_uri "$d/pat")" same

start_nbdbroker -U "$d/rnd" -r nbdkit:random 1M
client "$(nbd_uri "$d/rnd")" same
