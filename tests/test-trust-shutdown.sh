#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A worker cannot stop the server unless the policy says it may.
# nbdbroker_shutdown() (a ShutdownRequest) is refused, and logged,
# under a policy without allow-shutdown = yes: every client goes on.
# With allow-shutdown = yes it stops the server, gracefully; under
# isolation = connection it ends only the connection of the worker that
# asked, never another tenant's.  (Any worker used to end the server.)
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker
hostile_plugins

d=$(shared_tmpdir)
poison=$((1024 * 1024))

# Two clients read; one read makes the worker ask for a shutdown.
victim_and_bystander() { # SOCKET
	/usr/bin/python3 - "$1" "$poison" <<'PY'
import sys, time
import nbd
uri = "nbd+unix:///?socket=" + sys.argv[1]
poison = int(sys.argv[2])
a = nbd.NBD()
a.connect_uri(uri)
b = nbd.NBD()
b.connect_uri(uri)
try:
    a.pread(4096, poison)
    print("victim: read done")
except nbd.Error as e:
    print("victim: read failed: %s" % e)
time.sleep(1)
for i in range(20):
    assert b.pread(4096, i * 4096) is not None
print("bystander: 20 reads done")
b.shutdown()
PY
}

# 1. A worker under the default policy (no allow-shutdown) asks.
NBDBROKER_WORKER=$(fake_worker "$d" shutdown --offset=$poison) \
    start_nbdbroker -U "$d/fake.sock" memory size=16M
victim_and_bystander "$d/fake.sock"
kill -0 "$nbdbroker_pid"
grep -E "worker [0-9]+ asked to shut the server down: refused \(the policy [^ ]*/memory.policy does not allow it: allow-shutdown = no\)" \
    "$d/fake.sock.log"
not grep -q "shutting down" "$d/fake.sock.log"
nbdsh -u "$(nbd_uri "$d/fake.sock")" -c 'assert h.pread(512, 0) == bytes(512)'

# A worker that asks again and again is logged once.
NBDBROKER_WORKER=$(fake_worker "$d" shutdown --offset=0) \
    start_nbdbroker -U "$d/again.sock" memory size=16M
nbdsh -u "$(nbd_uri "$d/again.sock")" -c '
for i in range(50):
    h.pread(512, 0)
'
kill -0 "$nbdbroker_pid"
test "$(grep -c 'asked to shut the server down' "$d/again.sock.log")" -eq 1

# Policies that allow it.
sed 's/^format = nbdbroker-policy\/1$/&\nallow-shutdown = yes/' \
    "$policy_dir/default.policy" > "$d/shutdown.policy"
grep -qx "allow-shutdown = yes" "$d/shutdown.policy"
"$NBDBROKER" --check-policy "$d/shutdown.policy" | grep -E "allow-shutdown.*yes"

# 2. Allowed, one worker for everybody: the server stops gracefully.
start_nbdbroker -U "$d/yes.sock" --policy "$d/shutdown.policy" \
    "$hostile_so" attack=shutdown
spid=$nbdbroker_pid
nbdsh -u "$(nbd_uri "$d/yes.sock")" -c '
try:
    h.pread(512, 0)
except nbd.Error:
    pass
' || true
for _ in $(seq $((50 * slow))); do
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.1
done
not kill -0 "$spid" 2>/dev/null
wait "$spid"		# exit status 0: a graceful shutdown
grep -E "worker [0-9]+ asked to shut the server down: allowed by the policy" \
    "$d/yes.sock.log"
grep -q "shutting down: the plugin asked to shut down" "$d/yes.sock.log"

# 3. Allowed, one worker per connection: only the asking worker's
# connection ends; another tenant keeps its connection.
start_nbdbroker -U "$d/iso.sock" --isolation connection \
    --policy "$d/shutdown.policy" "$hostile_so" attack=shutdown \
    export=victim
/usr/bin/python3 - "$d/iso.sock" <<'PY'
import sys, time
import nbd
sock = sys.argv[1]
b = nbd.NBD()
b.connect_uri("nbd+unix:///bystander?socket=" + sock)
a = nbd.NBD()
a.connect_uri("nbd+unix:///victim?socket=" + sock)
try:
    a.pread(512, 0)
    a.pread(512, 0)
except nbd.Error as e:
    print("victim: %s" % e)
time.sleep(1)
for i in range(20):
    b.pread(512, i * 512)
print("bystander: 20 reads after the victim's worker asked")
c = nbd.NBD()
c.connect_uri("nbd+unix:///bystander?socket=" + sock)
c.pread(512, 0)
print("a new client is served")
b.shutdown()
c.shutdown()
PY
kill -0 "$nbdbroker_pid"
grep -E "worker [0-9]+ asked to shut the server down: its connection only \(isolation = connection\)" \
    "$d/iso.sock.log"
not grep -q "shutting down" "$d/iso.sock.log"
