#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live upgrade (issue 16): each reason to refuse a reload keeps the old
# worker serving the connected client, with a log line saying why: a
# new build with a different size, one with a capability fewer, one
# that fails its configuration, one that is no plugin at all, a policy
# the plugin cannot start under, a policy that does not parse.  After
# all that, a good build is still taken.  Then the volatile memory
# plugin: refused while it holds data, taken when forced (SIGUSR2), and
# the data is gone as the log says: the connection that wrote it gets
# errors, a new one a fresh disk.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
v1=$(test_plugin reload-v1)
v2=$(test_plugin reload-v2)
bigger=$(test_plugin reload-bigger)
notrim=$(test_plugin reload-notrim)
failconfig=$(test_plugin reload-failconfig)

d=$(tmpdir)
truncate -s 4M "$d/disk"
install -m 0755 "$v1" "$d/reload.so"
cp "$abs_top_srcdir/tests/policies/reload.policy" "$d/reload.policy"
start_nbdbroker -U "$d/sock" --policy "$d/reload.policy" \
    "$d/reload.so" file="$d/disk"

# Each case: install (by rename), SIGHUP, wait for the refusal, and
# check that the client connected all along still reads what it wrote.
/usr/bin/python3 - "$d" "$nbdbroker_pid" "$v1" "$v2" "$bigger" "$notrim" \
    "$failconfig" <<'PY'
import nbd, os, re, shutil, signal, sys, time
d, broker, v1, v2, bigger, notrim, failconfig = sys.argv[1:]
broker = int(broker)
slow = int(os.environ["slow"])
log = d + "/sock.log"

def put(src, dst):
    shutil.copy(src, dst + ".new")
    os.rename(dst + ".new", dst)

def count(pat):
    with open(log, errors="replace") as f:
        return len([l for l in f if re.search(pat, l)])

def reload(pat, sig=signal.SIGHUP):
    """Signal the broker; wait until a new line matches pat."""
    n = count(pat)
    os.kill(broker, sig)
    end = time.monotonic() + 20 * slow
    while count(pat) <= n:
        assert time.monotonic() < end, "no new line matching " + pat
        time.sleep(0.05)
    # The reload is over (its last line) before the next one begins.
    time.sleep(0.2)

h = nbd.NBD()
h.connect_unix(d + "/sock")
size = h.get_size()
assert size == 4 << 20, size
assert h.can_trim()
data = os.urandom(64 << 10)
h.pwrite(data, 1 << 20)
h.flush()
def check():
    assert h.pread(len(data), 1 << 20) == data
    h.pwrite(b"\x5a" * 4096, 0)
    assert h.pread(4096, 0) == b"\x5a" * 4096

refused = r"reload: plugin reload: refused, worker \d+ keeps serving: "
cases = [
    (bigger, None, refused + r"export '' \(conn \d+\) differs on the new "
     r"worker: size 4194304 -> 5242880"),
    (notrim, None, refused + r"export '' .* differs on the new worker: "
     r"size 4194304 -> 4194304, caps 0x[0-9a-f]+ -> 0x[0-9a-f]+"),
    (failconfig, None, refused + r"the new worker failed: .*this build "
     r"fails its configuration"),
    ("garbage", None, refused + r"the new worker failed"),
    # Landlock required, the disk not granted: the plugin's start-up
    # open fails (or, without Landlock, the worker cannot start).
    (v2, "[filesystem]\nlandlock = required\nstartup-read = /usr/share\n",
     refused + r"the new worker failed"),
    # Not a policy at all: refused before any worker starts.
    (v2, "[syscalls\n", r"reload: refused, the workers keep serving: "
     r".*reload\.policy"),
]
good = open(d + "/reload.policy").read()
base = good.replace("[filesystem]\nlandlock = off\n", "")
for so, policy, pat in cases:
    if so == "garbage":
        with open(d + "/garbage.so", "w") as f:
            f.write("not an ELF file\n")
        so = d + "/garbage.so"
    put(so, d + "/reload.so")
    if policy is not None:
        with open(d + "/policy.new", "w") as f:
            f.write(base + policy)
        os.rename(d + "/policy.new", d + "/reload.policy")
    reload(pat)
    check()
    assert h.get_size() == size
    if policy is not None:
        with open(d + "/policy.new", "w") as f:
            f.write(good)
        os.rename(d + "/policy.new", d + "/reload.policy")

# Refusals leave the reload working: the next good build is taken.
put(v2, d + "/reload.so")
reload(r"reload: plugin reload: switched: worker \d+ -> \d+, version 2\.0")
check()
h.shutdown()
h2 = nbd.NBD()
h2.connect_unix(d + "/sock")
assert h2.pread(len(data), 1 << 20) == data
h2.shutdown()
print("refusals ok")
PY
# Each refusal was counted.
grep -c 'refused, worker' "$d/sock.log"
[ "$(grep -c 'refused, worker' "$d/sock.log")" -eq 5 ]

# The memory plugin keeps its data in the worker.
start_nbdbroker -U "$d/mem" memory size=16M
/usr/bin/python3 - "$d" "$nbdbroker_pid" <<'PY'
import errno, nbd, os, re, signal, sys, time
d, broker = sys.argv[1], int(sys.argv[2])
slow = int(os.environ["slow"])
log = d + "/mem.log"

def wait_for(pat, n):
    end = time.monotonic() + 20 * slow
    while True:
        with open(log, errors="replace") as f:
            if len([l for l in f if re.search(pat, l)]) >= n:
                return
        assert time.monotonic() < end, "no line matching " + pat
        time.sleep(0.05)

h = nbd.NBD()
h.connect_unix(d + "/mem")
h.pwrite(b"\xab" * 65536, 0)
# Nothing written yet is nothing to lose: a clean memory disk reloads.
# Written: refused, and the message says how to force.
os.kill(broker, signal.SIGHUP)
wait_for(r"reload: plugin memory: refused, worker \d+ keeps serving: the "
         r"plugin keeps its data in its worker \(durability volatile\) and it "
         r"has accepted writes.*send SIGUSR2 \(kill -USR2 %d\)" % broker, 1)
assert h.pread(65536, 0) == b"\xab" * 65536
# Forced: switched, the data dropped, as the log says.
os.kill(broker, signal.SIGUSR2)
wait_for(r"reload: plugin memory: switched: worker \d+ -> \d+, .*volatile "
         r"data dropped \(forced\)", 1)
wait_for(r"data written to the volatile plugin was dropped with worker", 1)
try:
    h.pread(65536, 0)
    raise AssertionError("the old connection still reads")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
h2 = nbd.NBD()
h2.connect_unix(d + "/mem")
assert h2.pread(65536, 0) == bytes(65536)	# a fresh disk
h2.shutdown()
print("volatile ok")
PY
