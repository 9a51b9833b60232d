#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The spare worker (issue 12): a crash restart starts the spare made
# earlier (its pid, logged when it was made, is the new worker's); a
# spare that dies by itself is replaced a restart period later, not at
# once (no crash loop, no restart counted); after SIGHUP the spare
# made before is discarded and a crash restart runs the new build.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires nbdinfo --version
requires curl --version
v1=$(test_plugin reload-v1)
v2=$(test_plugin reload-v2)

d=$(tmpdir)
truncate -s 4M "$d/disk"
install -m 0755 "$v1" "$d/reload.so"
# A restart period of 3 s: the next spare after a failed one.
start_nbdbroker -U "$d/sock" -v --intensity 100/3s \
    --metrics="unix:$d/metrics" \
    --policy "$abs_top_srcdir/tests/policies/reload.policy" \
    "$d/reload.so" file="$d/disk"

/usr/bin/python3 - "$d" "$nbdbroker_pid" "$v2" <<'PY'
import nbd, os, re, shutil, signal, subprocess, sys, time
d, broker, v2 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
slow = int(os.environ["slow"])
log = d + "/sock.log"

def lines(pat):
    with open(log, errors="replace") as f:
        return [m for m in (re.search(pat, l) for l in f) if m]

def wait_for(pat, n):
    end = time.monotonic() + 20 * slow
    while len(lines(pat)) < n:
        assert time.monotonic() < end, "no %d lines matching %s" % (n, pat)
        time.sleep(0.02)
    return lines(pat)[n - 1]

def serving():
    w = subprocess.run(["pgrep", "-P", str(broker), "-f",
                        "nbdbroker-worker"], capture_output=True,
                       text=True).stdout.split()
    assert len(w) == 1, w
    return int(w[0])

def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().decode(errors="replace")

def gone(pid):
    end = time.monotonic() + 10 * slow
    while os.path.exists("/proc/%d" % pid):
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(") ")[1].startswith("Z"):
                break
        assert time.monotonic() < end, "process %d still there" % pid
        time.sleep(0.02)

STARTED = r"spare worker (\d+) started"
h = nbd.NBD()
h.connect_unix(d + "/sock")
h.pwrite(b"\x5a" * 65536, 0)

# 1. The spare is held: no plugin loaded, named nbdbroker-spare.
spare = int(wait_for(STARTED, 1).group(1))
assert cmdline(spare).startswith("nbdbroker-spare (broker %d)" % broker), \
    cmdline(spare)
old = serving()
assert old != spare
os.kill(old, signal.SIGKILL)
assert h.pread(65536, 0) == b"\x5a" * 65536
m = wait_for(r"spare worker (\d+) takes over", 1)
assert int(m.group(1)) == spare, (m.group(1), spare)
wait_for(r"worker %d \(instance \d+\) ready \d+ ms after the last one "
         r"died" % spare, 1)
assert serving() == spare

# 2. A spare that dies by itself: logged, no restart, replaced once a
# restart period (3 s) later, not before.
spare2 = int(wait_for(STARTED, 2).group(1))
restarts = len(lines(r"restarting the worker"))
t = time.monotonic()
os.kill(spare2, signal.SIGKILL)
wait_for(r"plugin reload: spare worker %d killed by signal 9.*next spare "
         r"starts in 3 s" % spare2, 1)
spare3 = int(wait_for(STARTED, 3).group(1))
assert time.monotonic() - t >= 2.5, time.monotonic() - t
assert len(lines(r"restarting the worker")) == restarts
assert serving() == spare	# the serving worker was never touched
assert h.pread(65536, 0) == b"\x5a" * 65536

# 3. SIGHUP with a new build: the spare made before is discarded, the
# next one is made after the switch, and a crash restart (through it)
# runs the new build.
shutil.copy(v2, d + "/reload.so.new")
os.rename(d + "/reload.so.new", d + "/reload.so")
os.kill(broker, signal.SIGHUP)
wait_for(r"reload: done: 1 worker\(s\) switched, 0 refused", 1)
gone(spare3)
spare4 = int(wait_for(STARTED, 4).group(1))
assert spare4 != spare3
os.kill(serving(), signal.SIGKILL)
assert h.pread(65536, 0) == b"\x5a" * 65536
m = wait_for(r"spare worker (\d+) takes over", 2)
assert int(m.group(1)) == spare4, (m.group(1), spare4)
h.shutdown()
print("ok")
PY
nbdinfo "$(nbd_uri "$d/sock")" | tee "$d/info"
grep -F "description: reload 2.0" "$d/info"
curl -sf --max-time $((10 * slow)) --unix-socket "$d/metrics" \
    http://localhost/metrics > "$d/m"
grep '^nbdbroker_spares_total\|^nbdbroker_workers ' "$d/m"
grep -qx 'nbdbroker_spares_total{plugin=".*",result="used"} 2' "$d/m"
grep -qx 'nbdbroker_spares_total{plugin=".*",result="failed"} 1' "$d/m"
grep -qx 'nbdbroker_workers{plugin=".*"} 1' "$d/m"
