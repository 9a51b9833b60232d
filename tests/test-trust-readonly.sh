#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# -r is the broker's promise, not the worker's.  A worker that answers
# every Open with write, trim, zero and FUA (the fake worker does, -r
# or not) still gives the client a read-only export: no write-side
# flag is advertised, and a raw client that sends WRITE, TRIM and
# WRITE_ZEROES anyway gets EPERM from the broker, which forwards none
# of them (the worker's disk stays as it was).  Under -r the bundled
# file plugin opens its image read-only, and the policy resolved for
# it grants no write.  (The broker used to advertise whatever the
# worker said and forward the writes, and the file plugin held the
# image open for writing.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(shared_tmpdir)
# Not zeros: a TRIM or WRITE_ZEROES that got through would show.
head -c 1M /dev/urandom > "$d/disk"
cp "$d/disk" "$d/disk.orig"

# A worker that claims it can write, under -r.
NBDBROKER_WORKER=$(fake_worker "$d" good --disk="$d/disk") \
    start_nbdbroker -U "$d/fake.sock" -r memory size=1M
nbdsh -u "$(nbd_uri "$d/fake.sock")" -c '
assert h.is_read_only()
assert not h.can_trim()
assert not h.can_zero()
assert not h.can_fast_zero()
assert not h.can_fua()
assert h.can_flush()
assert h.pread(4096, 0) == open("'"$d/disk.orig"'", "rb").read(4096)
'
/usr/bin/python3 - "$d/fake.sock" "$d/disk.orig" <<'PY'
import sys
import nbdraw
from nbdraw import *

first = open(sys.argv[2], "rb").read(4096)
c = nbdraw.connect(sys.argv[1])
READ_ONLY, SEND_FUA, SEND_TRIM = 1 << 1, 1 << 3, 1 << 5
SEND_WRITE_ZEROES, SEND_FAST_ZERO = 1 << 6, 1 << 11
assert c.eflags & READ_ONLY, hex(c.eflags)
for f in (SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, SEND_FAST_ZERO):
    assert not c.eflags & f, (hex(c.eflags), f)
# Sent anyway: each must be refused by the broker itself.
c.request(CMD_WRITE, 0, 4096, cookie=1, payload=b"\xff" * 4096)
assert c.simple_reply() == (EPERM, 1, b""), "WRITE"
c.request(CMD_TRIM, 0, 4096, cookie=2)
assert c.simple_reply() == (EPERM, 2, b""), "TRIM"
c.request(CMD_WRITE_ZEROES, 0, 4096, cookie=3)
assert c.simple_reply() == (EPERM, 3, b""), "WRITE_ZEROES"
c.request(CMD_READ, 0, 4096, cookie=4)
assert c.simple_reply(4096) == (0, 4, first)
PY
# Nothing reached the worker's disk.
cmp "$d/disk" "$d/disk.orig"

# The file plugin under -r: the image is open read-only in the worker,
# though its owner could write it.
head -c 1M /dev/urandom > "$d/disk.img"
chmod 0666 "$d/disk.img"
cp "$d/disk.img" "$d/disk.orig"
start_nbdbroker -U "$d/file.sock" -r file "$d/disk.img"
nbdsh -u "$(nbd_uri "$d/file.sock")" -c 'assert h.is_read_only()'
pid=$(worker_pids)
test -n "$pid"
found=0
for fd in "/proc/$pid/fd/"*; do
	[ "$(readlink "$fd")" = "$d/disk.img" ] || continue
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}")
	echo "worker fd ${fd##*/}: flags $flags"
	# O_ACCMODE: 0 is O_RDONLY.
	test $((8#$flags & 3)) -eq 0
	found=$((found + 1))
done
test "$found" -ge 1
cmp "$d/disk.img" "$d/disk.orig"

# ... by its own choice (nbdbroker_read_only), not only because the
# policy leaves it no write grant: with Landlock off, the same.
sed 's/^landlock = required$/landlock = off/' \
    "$abs_top_srcdir/policy/file.policy" > "$d/nolandlock.policy"
grep -qx "landlock = off" "$d/nolandlock.policy"
start_nbdbroker -U "$d/nl.sock" -r --policy "$d/nolandlock.policy" \
    file "$d/disk.img"
nbdsh -u "$(nbd_uri "$d/nl.sock")" -c 'assert h.is_read_only()'
pid=$(worker_pids)
test -n "$pid"
found=0
for fd in "/proc/$pid/fd/"*; do
	[ "$(readlink "$fd")" = "$d/disk.img" ] || continue
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}")
	echo "worker fd ${fd##*/} (no Landlock): flags $flags"
	test $((8#$flags & 3)) -eq 0
	found=$((found + 1))
done
test "$found" -ge 1

# The policy the worker gets under -r has no write rule on the image
# (file.policy grants startup-write = ${file} otherwise).
policy=$abs_top_srcdir/policy/file.policy
"$NBDBROKER" --check-policy "$policy" file "$d/disk.img" > "$d/rw.txt"
"$NBDBROKER" -r --check-policy "$policy" file "$d/disk.img" > "$d/ro.txt"
cat "$d/rw.txt" "$d/ro.txt"
grep -E "write.*$d/disk.img|$d/disk.img.*write" "$d/rw.txt"
not grep -E "write.*$d/disk.img|$d/disk.img.*write" "$d/ro.txt"
grep -F "$d/disk.img" "$d/ro.txt"
