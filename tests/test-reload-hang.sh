#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live upgrade (issue 16), the timeout path: a reload drains the old
# worker, which hangs on a request.  After the request timeout the old
# worker is treated as hung (killed), and what it had in flight is
# replayed on the new one: the hung read returns the right data, the
# write sent during the switch (held in the pending queue) lands after
# it, and the log counts one request replayed.  And a next worker that
# hangs while it is checked: the reload gives up after 30 s, refused.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
truncate -s 16M "$d/disk"
printf 'hung, then replayed' | dd of="$d/disk" bs=1 seek=1048576 \
    conv=notrunc status=none
# The first request covering 1M hangs; its replay finds $d/hung and
# succeeds.
start_nbdbroker -U "$d/sock" --request-timeout 2s "$plugin" \
    file="$d/disk" mode=hang offset=1048576 once="$d/hung"

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" "$d" <<'PY'
import nbd, os, re, signal, sys, time
uri, broker, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
slow = int(os.environ["slow"])
log = d + "/sock.log"

def wait_for(pat):
    end = time.monotonic() + 30 * slow
    while True:
        with open(log, errors="replace") as f:
            if any(re.search(pat, l) for l in f):
                return
        assert time.monotonic() < end, "no line matching " + pat
        time.sleep(0.05)

h = nbd.NBD()
h.connect_uri(uri)
buf = nbd.Buffer(19)
hung = h.aio_pread(buf, 1 << 20)
while not os.path.exists(d + "/hung"):	# the worker took it
    h.poll(0)
    time.sleep(0.01)
t = time.monotonic()
os.kill(broker, signal.SIGHUP)
wait_for(r"reload: plugin crash: new worker \d+ ready")
time.sleep(0.2)
# Sent while the old worker drains: held, then run on the new one.
w = h.aio_pwrite(b"\x22" * 4096, 2 << 20)
while not h.aio_command_completed(hung):
    h.poll(100)
    assert time.monotonic() - t < 30 * slow, "the hung read never ended"
assert buf.to_bytearray() == b"hung, then replayed", buf.to_bytearray()
while not h.aio_command_completed(w):
    h.poll(100)
el = time.monotonic() - t
print("hung read answered after %.2f s" % el)
assert el >= 1.5, el			# the request timeout, not sooner
assert h.pread(4096, 2 << 20) == b"\x22" * 4096
wait_for(r"reload: plugin crash: worker \d+ did not finish what it had in "
         r"flight .*: replaying 1 request\(s\) on the new worker")
wait_for(r"reload: plugin crash: switched: worker \d+ -> \d+, .* 0 "
         r"request\(s\) finished on the old worker, 1 replayed")
h.shutdown()
print("ok")
PY

# The next worker hangs in its open (request-timeout 0: nothing kills
# it): after 30 s the check gives up, the reload is refused and the old
# worker, which served all along, goes on.
touch "$d/fixed"
start_nbdbroker -U "$d/open.sock" --request-timeout 0 "$plugin" \
    file="$d/disk" mode=hang at=open unless="$d/fixed"
/usr/bin/python3 - "$(nbd_uri "$d/open.sock")" "$nbdbroker_pid" "$d" <<'PY'
import nbd, os, re, signal, sys, time
uri, broker, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
slow = int(os.environ["slow"])
log = d + "/open.sock.log"
h = nbd.NBD()
h.connect_uri(uri)
h.pwrite(b"\x33" * 4096, 0)
os.unlink(d + "/fixed")			# from now on, opens hang
os.kill(broker, signal.SIGHUP)
t = time.monotonic()
pat = (r"reload: plugin crash: refused, worker \d+ keeps serving: the new "
       r"worker \d+ did not answer within 30 s")
while True:
    assert h.pread(4096, 0) == b"\x33" * 4096	# served meanwhile
    with open(log, errors="replace") as f:
        if any(re.search(pat, l) for l in f):
            break
    assert time.monotonic() - t < 30 + 20 * slow, "no refusal"
    time.sleep(0.5)
assert time.monotonic() - t >= 29, time.monotonic() - t
assert h.pread(4096, 0) == b"\x33" * 4096
h.shutdown()
print("check timeout ok")
PY
