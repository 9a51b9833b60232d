#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# If the export looks different after a worker restart (here: the file
# behind the file plugin changed size while no worker ran), connected
# clients must not silently see a different disk: their requests fail
# and they are disconnected, with a log line saying why.  New clients
# see the new size.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
truncate -s 8M "$d/disk"
# One death is restarted at once; the second waits 250 ms or more.
start_nbdbroker -U "$d/sock" --intensity 1/60s file file="$d/disk"

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" "$d/disk" <<'PY'
import errno, nbd, os, signal, subprocess, sys, time
uri, broker, disk = sys.argv[1], sys.argv[2], sys.argv[3]

def kill_worker():
    w = subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                       capture_output=True, text=True).stdout.split()
    os.kill(int(w[0]), signal.SIGKILL)

h = nbd.NBD(); h.connect_uri(uri)
assert h.get_size() == 8 << 20
kill_worker()
time.sleep(0.1)
assert h.pread(512, 0) == b"\0" * 512		# restart 1: invisible
kill_worker()					# restart 2: backs off
os.truncate(disk, 16 << 20)
time.sleep(1.5)
try:
    h.pread(512, 0)
    raise SystemExit("read on a changed export succeeded")
except nbd.Error as e:
    print("after change:", e)
n = nbd.NBD(); n.connect_uri(uri)
assert n.get_size() == 16 << 20
PY
grep "changed across a worker restart (size 8388608 -> 16777216" "$d/sock.log"
