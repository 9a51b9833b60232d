#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Eight clients at once, each on its own connection, write disjoint
# 4 MiB regions (many requests in flight, some FUA) and read them back;
# afterwards one more client checks every region holds exactly what
# its writer put there: no request went to the wrong place.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=32M

cat > "$d/client.py" <<'PY'
import os
import random
import struct
import sys
import time
import nbd

REGION = 4 * 1024 * 1024
BLOCK = 64 * 1024

def block(client, j):
    return struct.pack(">IIQ", client, j, 0x6e626462726f6b72) * (BLOCK // 16)

def write_and_verify(sock, client, go):
    h = nbd.NBD()
    h.connect_unix(sock)
    while not os.path.exists(go):      # start together
        time.sleep(0.01)
    base = client * REGION
    order = list(range(REGION // BLOCK))
    random.shuffle(order)
    bufs, cookies = [], []
    for j in order:
        b = nbd.Buffer.from_bytearray(bytearray(block(client, j)))
        bufs.append(b)
        cookies.append(h.aio_pwrite(b, base + j * BLOCK,
                       flags=nbd.CMD_FLAG_FUA if j % 5 == 0 else 0))
        while h.aio_in_flight() >= 16:
            h.poll(-1)
    while h.aio_in_flight() > 0:
        h.poll(-1)
    for c in cookies:
        assert h.aio_command_completed(c)   # raises if it failed
    got = h.pread(REGION, base)
    for j in range(REGION // BLOCK):
        if got[j * BLOCK:(j + 1) * BLOCK] != block(client, j):
            sys.exit("client %d: block %d wrong" % (client, j))
    h.shutdown()

def check_all(sock, nclients):
    h = nbd.NBD()
    h.connect_unix(sock)
    for client in range(nclients):
        got = h.pread(REGION, client * REGION)
        for j in range(REGION // BLOCK):
            if got[j * BLOCK:(j + 1) * BLOCK] != block(client, j):
                sys.exit("final check: client %d block %d wrong" %
                         (client, j))
    h.shutdown()

if sys.argv[1] == "check":
    check_all(sys.argv[2], int(sys.argv[3]))
else:
    write_and_verify(sys.argv[2], int(sys.argv[1]), sys.argv[3])
print(sys.argv[1], "ok")
PY

pids=()
for i in 0 1 2 3 4 5 6 7; do
	/usr/bin/python3 "$d/client.py" "$i" "$d/sock" "$d/go" &
	pids+=($!)
done
sleep 0.5
touch "$d/go"
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=1
done
test "$failed" -eq 0

/usr/bin/python3 "$d/client.py" check "$d/sock" 8
