# SPDX-License-Identifier: BSD-3-Clause
"""Clients for the hostile worker and client tests (test-hostile-*.sh).

  python3 hostile.py victim URI POISON CMD EXPECT

A bystander connection keeps 32 writes and reads of its own region in
flight, with data checked, while a victim connection sends one request
(CMD: read or block-status) touching byte POISON, which makes the fake
worker misbehave.  EXPECT says what the victim must see: eio (the
request fails with EIO, alone), ok (it succeeds), clipped (block status
succeeds with extents inside the range asked).  The bystander must see
nothing: no error, its data intact.  Exits non-zero with a message
otherwise."""

import errno
import sys
import time

import nbd

MIB = 1024 * 1024
BYSTANDER = 8 * MIB          # the bystander's region
BLOCK = 64 * 1024
NBLOCKS = 32


def block(i, gen):
    return bytes([(i * 7 + gen) & 0xff]) * BLOCK


def drive(handles, deadline):
    """Poll every handle with requests in flight until none has any."""
    while any(h.aio_in_flight() > 0 for h in handles):
        if time.monotonic() > deadline:
            sys.exit("requests still in flight after the deadline")
        for h in handles:
            if h.aio_in_flight() > 0:
                h.poll(10)


def completed(h, cookie):
    """None if the request succeeded, else its errno."""
    try:
        if not h.aio_command_completed(cookie):
            sys.exit("request not complete")
        return None
    except nbd.Error as e:
        return e.errnum


def victim(uri, poison, cmd, expect):
    a = nbd.NBD()
    a.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    a.connect_uri(uri)
    b = nbd.NBD()
    b.connect_uri(uri)
    deadline = time.monotonic() + 60

    # The bystander's writes go out first, then the poison, then reads.
    bufs = [nbd.Buffer.from_bytearray(bytearray(block(i, 1)))
            for i in range(NBLOCKS)]
    writes = [b.aio_pwrite(bufs[i], BYSTANDER + i * BLOCK)
              for i in range(NBLOCKS)]
    extents = []

    def on_extents(meta, offset, entries, err):
        extents.extend(entries)
        return 0

    if cmd == "read":
        poisoned = a.aio_pread(nbd.Buffer(4096), poison)
    elif cmd == "block-status":
        poisoned = a.aio_block_status(4096, poison, on_extents)
    else:
        sys.exit("unknown command " + cmd)
    drive([a, b], deadline)
    errs = [completed(b, c) for c in writes]
    if any(errs):
        sys.exit("bystander writes failed: %s" % errs)
    reads = [(i, nbd.Buffer(BLOCK)) for i in range(NBLOCKS)]
    cookies = [b.aio_pread(buf, BYSTANDER + i * BLOCK) for i, buf in reads]
    drive([b], deadline)
    for (i, buf), c in zip(reads, cookies):
        if completed(b, c) is not None:
            sys.exit("bystander read %d failed" % i)
        if buf.to_bytearray() != block(i, 1):
            sys.exit("bystander read %d: wrong data" % i)

    got = completed(a, poisoned)
    if expect == "eio":
        if got != errno.EIO:
            sys.exit("victim: expected EIO, got %s" % got)
    elif expect in ("ok", "clipped"):
        if got is not None:
            sys.exit("victim: expected success, got errno %s" % got)
        if expect == "clipped":
            total = sum(extents[0::2])
            if total != 4096:
                sys.exit("victim: extents add up to %d, not 4096: %s" %
                         (total, extents))
    else:
        sys.exit("unknown expectation " + expect)
    # The victim's connection still works (it is not the one at fault).
    if a.pread(512, 0) != bytes(512):
        sys.exit("victim: read after the poison returned wrong data")
    # And a new client gets full service.
    c = nbd.NBD()
    c.connect_uri(uri)
    c.pwrite(b"\x5a" * 4096, 2 * MIB)
    if c.pread(4096, 2 * MIB) != b"\x5a" * 4096:
        sys.exit("new client: wrong data")
    c.shutdown()
    b.shutdown()
    a.shutdown()
    print("victim %s: %s as expected; bystander untouched" % (cmd, expect))


def main():
    if sys.argv[1] == "victim":
        victim(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        sys.exit("usage: hostile.py victim URI POISON CMD EXPECT")


main()
