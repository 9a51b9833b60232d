#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A client that went away while its write was in flight must not have
# that write run on someone else's connection after a worker restart.
# Client A connects first, B second.  A's write hangs in the plugin, A
# disconnects, the worker is killed.  The new worker re-opens B's
# handle first; in a worker that numbered handles from the same start,
# B's new handle id was A's old one, and A's stale write ran as B.
# The write must not reach the disk at all: A's handle died with the
# worker and nothing re-opened it.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
truncate -s 16M "$d/disk"
start_nbdbroker -U "$d/sock" "$plugin" file="$d/disk" \
    mode=hang hang-ms=600000 offset=65536 once="$d/hung"

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" "$d" <<'PY'
import nbd, os, signal, subprocess, sys, time
uri, broker, d = sys.argv[1], sys.argv[2], sys.argv[3]

# Client A, in a process of its own so that it can vanish abruptly.
a = subprocess.Popen(["/usr/bin/python3", "-c", """
import nbd, sys, time
a = nbd.NBD(); a.connect_uri(sys.argv[1])
print("connected", flush=True)
sys.stdin.readline()
a.aio_pwrite(b"A" * 4096, 65536)	# hangs in the plugin
while True:
    a.poll(1000)
""", uri], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert a.stdout.readline().strip() == "connected"	# first handle
b = nbd.NBD(); b.connect_uri(uri)			# second handle
a.stdin.write("go\n"); a.stdin.flush()
for _ in range(200):
    if os.path.exists(d + "/hung"):
        break
    time.sleep(0.05)
assert os.path.exists(d + "/hung"), "A's write never reached the plugin"
a.kill(); a.wait()			# A is gone, its write in flight
time.sleep(0.3)
w = subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                   capture_output=True, text=True).stdout.split()
os.kill(int(w[0]), signal.SIGKILL)
time.sleep(1)
assert b.pread(4096, 65536) == b"\0" * 4096, "A's write ran after all"
b.pwrite(b"B" * 512, 0)
assert b.pread(512, 0) == b"B" * 512
with open(d + "/disk", "rb") as f:
    f.seek(65536)
    assert f.read(4096) == b"\0" * 4096, "A's write reached the disk"
print("a gone client's write stayed gone")
PY
