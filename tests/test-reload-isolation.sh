#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live upgrade (issue 16) with isolation = connection: each
# connection's worker is a backend of its own, and a reload replaces
# them all; the connections keep their data and new ones get the new
# build.  The metrics count the switches and the refusals.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires nbdinfo --version
requires curl --version
v1=$(test_plugin reload-v1)
v2=$(test_plugin reload-v2)
bigger=$(test_plugin reload-bigger)

d=$(tmpdir)
truncate -s 4M "$d/disk"
install -m 0755 "$v1" "$d/reload.so"
sed 's/^format = .*/&\nisolation = connection/' \
    "$abs_top_srcdir/tests/policies/reload.policy" > "$d/reload.policy"
start_nbdbroker -U "$d/sock" --metrics="unix:$d/metrics" \
    --policy "$d/reload.policy" "$d/reload.so" file="$d/disk"

/usr/bin/python3 - "$d" "$nbdbroker_pid" "$v2" "$bigger" <<'PY'
import nbd, os, re, shutil, signal, subprocess, sys, time
d, broker, v2, bigger = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
slow = int(os.environ["slow"])
log = d + "/sock.log"

def count(pat):
    with open(log, errors="replace") as f:
        return len([l for l in f if re.search(pat, l)])

def wait_for(pat, n):
    end = time.monotonic() + 20 * slow
    while count(pat) < n:
        assert time.monotonic() < end, "no %d lines matching %s" % (n, pat)
        time.sleep(0.05)

def put(src):
    shutil.copy(src, d + "/reload.so.new")
    os.rename(d + "/reload.so.new", d + "/reload.so")

hs = []
for i in range(2):
    h = nbd.NBD()
    h.connect_unix(d + "/sock")
    h.pwrite(bytes([0x30 + i]) * 65536, i * 65536)
    hs.append(h)
w = subprocess.run(["pgrep", "-c", "-P", str(broker), "-f",
                    "nbdbroker-worker"], capture_output=True, text=True)
assert w.stdout.strip() == "2", w.stdout	# a worker each

# A build that changes the size: both refused, both keep serving.
put(bigger)
os.kill(broker, signal.SIGHUP)
wait_for(r"reload: refused: the workers keep serving", 1)
assert count(r"reload: plugin reload: refused, worker \d+ keeps serving: "
             r"export '' .* differs") == 2
# A good one: both switched.
put(v2)
os.kill(broker, signal.SIGHUP)
wait_for(r"reload: done: 2 worker\(s\) switched, 0 refused", 1)
assert count(r"reload: plugin reload: switched: .* version 2\.0") == 2
for i, h in enumerate(hs):
    for j in range(2):
        assert h.pread(65536, j * 65536) == bytes([0x30 + j]) * 65536
    h.shutdown()
print("ok")
PY
nbdinfo "$(nbd_uri "$d/sock")" | tee "$d/info"
grep -F "description: reload 2.0" "$d/info"
curl -sf --max-time $((10 * slow)) --unix-socket "$d/metrics" \
    http://localhost/metrics > "$d/m"
grep '^nbdbroker_reloads_total' "$d/m"
grep -qx 'nbdbroker_reloads_total{plugin=".*",result="switched"} 2' "$d/m"
grep -qx 'nbdbroker_reloads_total{plugin=".*",result="refused"} 2' "$d/m"
