#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Block sizes a worker reports are checked like the rest of what it
# says: a minimum that is not a power of two or above 64 KiB, a
# preferred size out of order, a maximum below the preferred size or
# not a multiple of the minimum is a protocol violation.  The worker is
# killed and replaced (here only the first lies), and no client ever
# sees the lie.  (Only the maximum used to be clamped; the rest went to
# clients as the worker said.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(tmpdir)
# What a client is told in NBD_INFO_BLOCK_SIZE, read raw (libnbd might
# ignore sizes it finds invalid): MIN/PREF/MAX.
raw_block_sizes() { # SOCKET
	/usr/bin/python3 - "$1" <<'PY'
import struct, sys
import nbdraw
from nbdraw import *
c = nbdraw.Raw(sys.argv[1])
c.greet()
for rtype, d in c.go(b"", infos=[INFO_BLOCK_SIZE], opt=OPT_INFO):
    if rtype == REP_INFO and struct.unpack(">H", d[:2])[0] == INFO_BLOCK_SIZE:
        print("%d/%d/%d" % struct.unpack(">III", d[2:14]))
PY
}

# MIN/PREF/MAX the first worker reports
cases="3/4096/33554432 131072/131072/33554432 65536/65536/4096 512/256/4096 4096/4096/6144 0/4096/0"
for bs in $cases; do
	sock=$d/bs-${bs//\//-}.sock
	NBDBROKER_WORKER=$(fake_worker "$d" good --instances=1 \
	    --block-size="$bs") \
	    start_nbdbroker -U "$sock" --intensity 1000/60s memory size=1M
	seen=$(raw_block_sizes "$sock")
	echo "the client was told $seen (the worker said $bs)"
	[ -n "$seen" ]
	[ "$seen" != "$bs" ]
	BS=$bs nbdsh -u "$(nbd_uri "$sock")" -c '
import os
mn = h.get_block_size(nbd.SIZE_MINIMUM)
pf = h.get_block_size(nbd.SIZE_PREFERRED)
mx = h.get_block_size(nbd.SIZE_MAXIMUM)
print("block sizes %d/%d/%d" % (mn, pf, mx))
assert mn >= 1 and mn <= 65536 and mn & (mn - 1) == 0
assert pf >= mn and pf & (pf - 1) == 0
assert mx >= pf and mx % mn == 0
assert "%d/%d/%d" % (mn, pf, mx) != os.environ["BS"]
assert h.pread(512, 0) == bytes(512)
'
	grep -F "protocol violation: OpenReply with invalid block sizes ${bs}" \
	    "$sock.log"
	kill -0 "$nbdbroker_pid"
done

# Sizes that follow the rules reach the client as the worker said.
NBDBROKER_WORKER=$(fake_worker "$d" good --block-size=512/65536/1048576) \
    start_nbdbroker -U "$d/ok.sock" memory size=1M
[ "$(raw_block_sizes "$d/ok.sock")" = 512/65536/1048576 ]
nbdsh -u "$(nbd_uri "$d/ok.sock")" -c '
assert h.get_block_size(nbd.SIZE_MINIMUM) == 512
assert h.get_block_size(nbd.SIZE_PREFERRED) == 65536
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 1048576
'
not grep -q "protocol violation" "$d/ok.sock.log"
