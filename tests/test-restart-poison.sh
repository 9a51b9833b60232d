#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A request that crashes every worker it reaches fails alone with EIO
# (after --replays attempts), including when it was sent among many
# others, while other requests on the same and on other connections
# succeed.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096 * 16)' > "$d/disk"
start_nbdbroker -U "$d/sock" --replays 2 --intensity 1000/60s \
    "$plugin" file="$d/disk" offset=1048576

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$d/disk" <<'PY'
import errno, nbd, sys
uri, disk = sys.argv[1], sys.argv[2]
data = open(disk, "rb").read()
a = nbd.NBD(); a.connect_uri(uri)
b = nbd.NBD(); b.connect_uri(uri)

# Alone.
try:
    a.pread(4096, 1048576)
    raise SystemExit("poison read succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e.errnum
assert a.pread(4096, 0) == data[:4096]
assert b.pread(4096, 8192) == data[8192:12288]

# Among 31 innocent requests in flight at once, on one connection.
bufs = [nbd.Buffer(4096) for _ in range(32)]
offs = [i * 65536 for i in range(32)]
offs[16] = 40 * 65536			# keep clear of the poison byte
offs[13] = 1048576 - 2048		# covers the poison byte
cookies = [a.aio_pread(bufs[i], offs[i]) for i in range(32)]
failed = []
for i, c in enumerate(cookies):
    while True:
        try:
            if a.aio_command_completed(c):
                assert bufs[i].to_bytearray() == data[offs[i]:offs[i] + 4096], i
                break
        except nbd.Error as e:
            assert e.errnum == errno.EIO, e.errnum
            failed.append(i)
            break
        a.poll(-1)
assert failed == [13], failed
assert b.pread(512, 3 * 65536) == data[3 * 65536:3 * 65536 + 512]
print("poison isolated")
PY
grep "has brought down 3 workers: failing it with EIO" "$d/sock.log"
