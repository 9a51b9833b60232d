#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Errors that help: a client whose export cannot be opened hears
# NBD_REP_ERR_UNKNOWN only when the export does not exist; when it
# exists but the server failed to open it (here: the sandbox denied the
# plugin its file), NBD_REP_ERR_POLICY with a message that says the
# server failed, and no internal detail.  The broker's log line for the
# failure says what the sandbox denied, which policy and which setting
# would allow it.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires_sandbox
requires_enforce
requires nbdinfo --version
requires_nbdkit_plugin file

d=$(shared_tmpdir)
truncate -s 1M "$d/disk.img" "$d/other.img"
chmod 0666 "$d/disk.img" "$d/other.img"
mkdir "$d/images"
chmod 0755 "$d/images"
truncate -s 1M "$d/images/a.img"
chmod 0666 "$d/images/a.img"

# The policy grants another file than the one served: the plugin's
# open is denied by Landlock while serving.
sed "s|\${file?} \${dir?}|$d/other.img|" \
    "$policy_dir/nbdkit-file.policy" > "$d/other.policy"
grep -q "^read = $d/other.img\$" "$d/other.policy"
start_nbdbroker -U "$d/deny.sock" --policy "$d/other.policy" \
    nbdkit:file file="$d/disk.img"

# The reply, byte for byte: POLICY, and what it says.
/usr/bin/python3 - "$d/deny.sock" <<'PY'
import sys
from nbdraw import Raw, REP_ERR_POLICY
c = Raw(sys.argv[1])
c.greet()
r = c.go(b"")
assert r == [(REP_ERR_POLICY, b"the server failed to open the export")], r
PY
# What libnbd makes of it: not "no export".
out=$(nbdinfo "$(nbd_uri "$d/deny.sock")" 2>&1 || true)
echo "$out"
not grep -q "no export" <<<"$out"
grep -q "Operation not supported" <<<"$out"
/usr/bin/python3 - "$(nbd_uri "$d/deny.sock")" <<'PY'
import nbd, sys
h = nbd.NBD()
try:
    h.connect_uri(sys.argv[1])
    raise SystemExit("connected to an export the server cannot open")
except nbd.Error as e:
    assert "policy prevents" in e.string, e.string
PY
# The log: the open failure names the denied path, the policy and the
# setting that would allow it.
grep -Eq "warning: conn [0-9]+: export '': open failed: Permission denied: the sandbox denied it: worker [0-9]+ \(plugin [^)]*file\): sandbox: serving openat $d/disk.img \((read|read\+write)\) is outside policy $d/other.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] (read|write); path=$d/disk.img access=[a-z+]+ stage=serving policy=$d/other.policy key=(read|write)$" \
    "$d/deny.sock.log"

# An export that does not exist (dir=, no such file): UNKNOWN, as
# before, and nothing said of the sandbox.
start_nbdbroker -U "$d/dir.sock" nbdkit:file dir="$d/images"
test "$(nbdinfo --size "$(nbd_uri "$d/dir.sock" a.img)")" -eq $((1024 * 1024))
/usr/bin/python3 - "$d/dir.sock" <<'PY'
import sys
from nbdraw import Raw, REP_ERR_UNKNOWN
c = Raw(sys.argv[1])
c.greet()
r = c.go(b"nosuch.img")
assert r == [(REP_ERR_UNKNOWN, b"")], r
PY
out=$(nbdinfo "$(nbd_uri "$d/dir.sock" nosuch.img)" 2>&1 || true)
echo "$out"
grep -q "No such file or directory" <<<"$out"
grep -q "export 'nosuch.img': open failed: No such file or directory$" \
    "$d/dir.sock.log"
not grep -q "sandbox denied it" "$d/dir.sock.log"
