#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The policy's restart settings decide, and the command line overrides
# them: [restart] request-timeout kills a hung worker; isolation =
# connection gives each client a worker; durability = volatile makes
# the broker treat even the stateless null plugin's writes as lost.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
# The crash plugin's test policy, plus [restart] and isolation.
{
	sed -n '/^format/,/^\[network\]/p' \
	    "$abs_top_srcdir/tests/policies/crash.policy" |
	    sed '$d' | sed 's/^format = .*/&\nisolation = connection/'
	printf '[network]\nallow = none\n[restart]\nrequest-timeout = 1s\n'
	printf 'replays = 0\nintensity = 100/60s\n'
} > "$d/crash.policy"
cat "$d/crash.policy"
truncate -s 1M "$d/disk"

start_nbdbroker -U "$d/a" --policy "$d/crash.policy" "$plugin" \
    file="$d/disk" mode=hang offset=0
/usr/bin/python3 - "$(nbd_uri "$d/a")" "$nbdbroker_pid" <<'PY'
import errno, nbd, os, subprocess, sys, time
slow = int(os.environ["slow"])
uri, broker = sys.argv[1], sys.argv[2]
hs = [nbd.NBD() for _ in range(2)]
for h in hs:
    h.connect_uri(uri)
w = subprocess.run(["pgrep", "-c", "-P", broker, "-f", "nbdbroker-worker"],
                   capture_output=True, text=True).stdout.strip()
assert w == "2", w			# isolation = connection
t = time.monotonic()
try:
    hs[0].pread(512, 0)			# hangs every time; replays = 0
    raise SystemExit("hung read succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
el = time.monotonic() - t
print("EIO after %.1f s" % el)
# request-timeout = 1s, not 30s: the slack grows under valgrind, but
# never to the 30 s default.
assert el < min(1 + 3 * slow, 20), el
assert hs[1].pread(512, 4096) == b"\0" * 512
PY
grep "took longer than 1000 ms" "$d/a.log"

# The command line wins over the policy.
start_nbdbroker -U "$d/b" --policy "$d/crash.policy" --isolation plugin \
    "$plugin" file="$d/disk"
/usr/bin/python3 - "$(nbd_uri "$d/b")" "$nbdbroker_pid" <<'PY'
import nbd, subprocess, sys
uri, broker = sys.argv[1], sys.argv[2]
hs = [nbd.NBD() for _ in range(3)]
for h in hs:
    h.connect_uri(uri)
w = subprocess.run(["pgrep", "-c", "-P", broker, "-f", "nbdbroker-worker"],
                   capture_output=True, text=True).stdout.strip()
assert w == "1", w
PY

# durability = volatile overrides the null plugin's "stateless".
{
	sed '/^format/a durability = volatile' \
	    "$abs_top_srcdir/policy/null.policy"
} > "$d/null.policy"
start_nbdbroker -U "$d/c" --policy "$d/null.policy" null size=1M
/usr/bin/python3 - "$(nbd_uri "$d/c")" "$nbdbroker_pid" <<'PY'
import errno, nbd, os, signal, subprocess, sys, time
uri, broker = sys.argv[1], sys.argv[2]
h = nbd.NBD(); h.connect_uri(uri)
h.pwrite(b"x" * 512, 0)
w = subprocess.run(["pgrep", "-P", broker, "-f", "nbdbroker-worker"],
                   capture_output=True, text=True).stdout.split()
os.kill(int(w[0]), signal.SIGKILL)
time.sleep(0.5)
try:
    h.pread(512, 0)
    raise SystemExit("read after the loss succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
PY
grep "data written to the volatile plugin was lost" "$d/c.log"
