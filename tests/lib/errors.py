# SPDX-License-Identifier: BSD-3-Clause
#
# Driven by test-errors.sh: sends requests the server must refuse and
# checks the exact errno of each refusal, and that the connection keeps
# working afterwards.  libnbd is put in non-strict mode so it sends
# what it would normally refuse itself; what libnbd cannot send at all
# (unknown commands, unknown flags, a header without its payload) goes
# through the raw client nbdraw.py.
#
# Usage: errors.py SECTION SOCKET   (sections: see SECTIONS below)

import errno
import select
import struct
import sys

import nbd

import nbdraw
from nbdraw import CMD_READ, CMD_WRITE

MiB = 1024 * 1024


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def connect(sock, structured=True):
    h = nbd.NBD()
    h.set_strict_mode(0)
    h.set_request_structured_replies(structured)
    h.connect_unix(sock)
    return h


class Alive:
    """Checks a connection still works: a write and a read of a fresh
    pattern (or only a read of known data on read-only exports)."""

    def __init__(self, h, offset=0, writable=True):
        self.h, self.offset, self.writable = h, offset, writable
        self.n = 0
        self.expect = h.pread(4096, offset)

    def check(self, after):
        h = self.h
        if self.writable:
            self.n += 1
            self.expect = bytes([self.n % 251 + 1]) * 4096
            h.pwrite(self.expect, self.offset)
        try:
            got = h.pread(4096, self.offset)
        except nbd.Error as e:
            fail("connection broken after %s: %s" % (after, e))
        if got != self.expect:
            fail("data wrong after %s" % after)


def refused(alive, what, want, fn):
    """fn() must fail with errno want; then the connection must work."""
    try:
        fn()
    except nbd.Error as e:
        if e.errnum != want:
            fail("%s: errno %s (%s), want %s" % (
                what, e.errnum, e, errno.errorcode[want]))
        print("ok: %s -> %s" % (what, errno.errorcode[want]))
    else:
        fail("%s: succeeded, want %s" % (what, errno.errorcode[want]))
    alive.check(what)


def section_rw(sock):
    """A writable 64 MiB memory export, structured replies."""
    h = connect(sock)
    size = h.get_size()
    assert size == 64 * MiB, size
    a = Alive(h)
    end = size
    big = 33 * MiB

    refused(a, "read across the end", errno.EINVAL,
            lambda: h.pread(1024, end - 512))
    refused(a, "read at 2^63", errno.EINVAL,
            lambda: h.pread(512, 1 << 63))
    refused(a, "write across the end", errno.ENOSPC,
            lambda: h.pwrite(b"x" * 1024, end - 512))
    refused(a, "write far past the end", errno.ENOSPC,
            lambda: h.pwrite(b"x" * 512, 1 << 62))
    refused(a, "zero across the end", errno.ENOSPC,
            lambda: h.zero(1024, end - 512))
    refused(a, "trim across the end", errno.EINVAL,
            lambda: h.trim(1024, end - 512))
    refused(a, "read of 0 bytes", errno.EINVAL, lambda: h.pread(0, 0))
    refused(a, "write of 0 bytes", errno.EINVAL, lambda: h.pwrite(b"", 0))
    refused(a, "zero of 0 bytes", errno.EINVAL, lambda: h.zero(0, 0))
    # The spec makes FUA valid on every command once advertised.
    assert h.pread(512, 0, nbd.CMD_FLAG_FUA) is not None
    h.flush(nbd.CMD_FLAG_FUA)
    refused(a, "write with NO_HOLE", errno.EINVAL,
            lambda: h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_NO_HOLE))
    refused(a, "trim with FAST_ZERO", errno.EINVAL,
            lambda: h.trim(512, 0, nbd.CMD_FLAG_FAST_ZERO))
    refused(a, "zero with DF", errno.EINVAL,
            lambda: h.zero(512, 0, nbd.CMD_FLAG_DF))
    refused(a, "cache (not advertised by memory)", errno.EINVAL,
            lambda: h.cache(512, 0))
    refused(a, "block status (not negotiated)", errno.EINVAL,
            lambda: h.block_status(512, 0, lambda *args: 0))
    refused(a, "33 MiB read", errno.EINVAL, lambda: h.pread(big, 0))

    # A 33 MiB write: refused, its payload read and thrown away (the
    # connection survives), and nothing of it reaches the disk.
    h.pwrite(b"\x5a" * MiB, 8 * MiB)
    refused(a, "33 MiB write", errno.EINVAL,
            lambda: h.pwrite(b"\xa5" * big, 8 * MiB))
    if h.pread(MiB, 8 * MiB) != b"\x5a" * MiB:
        fail("the refused 33 MiB write changed the disk")
    # Twice in a row, and at exactly the limit it works.
    refused(a, "33 MiB write again", errno.EINVAL,
            lambda: h.pwrite(b"\xa5" * big, 0))
    h.pwrite(b"\x77" * (32 * MiB), 16 * MiB)
    if h.pread(32 * MiB, 16 * MiB) != b"\x77" * (32 * MiB):
        fail("32 MiB write/read round trip")
    a.check("32 MiB write")

    # Many refusals in flight at once, mixed with good requests.
    cookies = []
    wbuf = nbd.Buffer.from_bytearray(bytearray(b"y" * 512))
    rbufs = [nbd.Buffer(512) for _ in range(32)]
    for i in range(32):
        cookies.append(("bad", h.aio_pwrite(wbuf, end)))
        cookies.append(("good", h.aio_pread(rbufs[i], 16 * MiB + i * 512)))
    while h.aio_in_flight() > 0:
        h.poll(-1)
    for kind, c in cookies:
        try:
            h.aio_command_completed(c)
            if kind == "bad":
                fail("aio write past the end succeeded")
        except nbd.Error as e:
            if kind == "good" or e.errnum != errno.ENOSPC:
                fail("aio %s: %s" % (kind, e))
    for b in rbufs:
        if b.to_bytearray() != b"\x77" * 512:
            fail("aio read data")
    a.check("32 refused writes in flight")
    h.shutdown()


def section_ro(sock):
    """The same memory plugin exported with -r."""
    h = connect(sock)
    assert h.is_read_only()
    a = Alive(h, writable=False)
    refused(a, "write to read-only", errno.EPERM,
            lambda: h.pwrite(b"x" * 512, 0))
    refused(a, "write to read-only past the end", errno.EPERM,
            lambda: h.pwrite(b"x" * 512, h.get_size()))
    refused(a, "zero on read-only", errno.EPERM, lambda: h.zero(512, 0))
    refused(a, "trim on read-only", errno.EPERM, lambda: h.trim(512, 0))
    # FUA is not advertised read-only: the flag is refused first.
    refused(a, "FUA write to read-only", errno.EINVAL,
            lambda: h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA))
    h.flush()           # flush is still fine read-only
    h.shutdown()


def section_pattern(sock):
    """pattern: read-only, no flush, cache advertised."""
    h = connect(sock)
    assert not h.can_flush() and h.can_cache()
    a = Alive(h, writable=False)
    if a.expect[:16] != struct.pack(">QQ", 0, 8):
        fail("pattern data")
    refused(a, "flush (not advertised)", errno.EINVAL, lambda: h.flush())
    refused(a, "write to pattern", errno.EPERM,
            lambda: h.pwrite(b"x" * 512, 0))
    h.cache(4096, 0)
    refused(a, "cache across the end", errno.EINVAL,
            lambda: h.cache(1024, h.get_size() - 512))
    h.shutdown()


def section_nocaps(sock):
    """recorder-v2 with trim=no flush=no fua=none."""
    h = connect(sock)
    assert not h.can_trim() and not h.can_flush() and not h.can_fua()
    a = Alive(h)
    refused(a, "trim (not advertised)", errno.EINVAL,
            lambda: h.trim(512, 0))
    refused(a, "flush (not advertised)", errno.EINVAL, lambda: h.flush())
    refused(a, "FUA write (not advertised)", errno.EINVAL,
            lambda: h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA))
    refused(a, "FUA zero (not advertised)", errno.EINVAL,
            lambda: h.zero(512, 0, nbd.CMD_FLAG_FUA))
    h.shutdown()


def section_df(sock):
    """DF needs structured replies."""
    h = connect(sock, structured=True)
    assert h.get_structured_replies_negotiated() and h.can_df()
    h.pread(512, 0, nbd.CMD_FLAG_DF)
    h.shutdown()
    h = connect(sock, structured=False)
    assert not h.get_structured_replies_negotiated() and not h.can_df()
    a = Alive(h)
    refused(a, "DF without structured replies", errno.EINVAL,
            lambda: h.pread(512, 0, nbd.CMD_FLAG_DF))
    refused(a, "read across the end, simple replies", errno.EINVAL,
            lambda: h.pread(1024, h.get_size() - 512))
    h.shutdown()


# Raw NBD, for what libnbd cannot be made to send: nbdraw.connect()
# enters the export with NBD_OPT_GO and nothing else, so replies are
# simple.

def raw_reply(c, cookie, want_err, datalen=0):
    err, got, data = c.simple_reply(datalen)
    if got != cookie:
        fail("reply for cookie %d, want %d" % (got, cookie))
    if err != want_err:
        fail("cookie %d: error %d, want %d" % (cookie, err, want_err))
    return data


def raw_alive(c, cookie):
    c.request(CMD_WRITE, 4096, 512, cookie=cookie, payload=b"\x42" * 512)
    raw_reply(c, cookie, 0)
    c.request(CMD_READ, 4096, 512, cookie=cookie + 1)
    if raw_reply(c, cookie + 1, 0, 512) != b"\x42" * 512:
        fail("raw read back")


def section_raw(sock):
    c = nbdraw.connect(sock, timeout=30)
    assert c.size == 64 * MiB, c.size
    raw_alive(c, 1)

    for cmd in (8, 9, 0x1234):              # RESIZE, unknown, unknown
        c.request(cmd, 0, 512, cookie=10 + cmd)
        raw_reply(c, 10 + cmd, errno.EINVAL)
        print("ok: command %d -> EINVAL" % cmd)
        raw_alive(c, 100 + cmd)

    # An unknown flag on a write: refused, and its payload skipped.
    c.request(CMD_WRITE, 0, 4096, flags=0x8000, cookie=20,
              payload=b"\x99" * 4096)
    raw_reply(c, 20, errno.EINVAL)
    raw_alive(c, 21)
    print("ok: write with flag 0x8000 -> EINVAL, payload skipped")

    # A 33 MiB write: no reply may come before its payload has been
    # read (a client is still sending it and cannot take a reply yet);
    # then EINVAL, and the stream is back in step.
    c.request(CMD_WRITE, 0, 33 * MiB, cookie=30)
    r, _, _ = select.select([c.s], [], [], 0.5)
    if r:
        fail("reply to the 33 MiB write before its payload was sent")
    chunk = b"\xee" * MiB
    for _ in range(33):
        c.send(chunk)
    raw_reply(c, 30, errno.EINVAL)
    raw_alive(c, 31)
    c.request(CMD_READ, 8192, 4096, cookie=33)
    if b"\xee" in raw_reply(c, 33, 0, 4096):
        fail("the refused 33 MiB write reached the disk")
    print("ok: 33 MiB write -> EINVAL after its payload, payload skipped")

    c.request(nbdraw.CMD_DISC, cookie=99)
    c.s.settimeout(10)
    if c.s.recv(1) != b"":
        fail("data after NBD_CMD_DISC")
    c.s.close()


SECTIONS = {
    "rw": section_rw,
    "ro": section_ro,
    "pattern": section_pattern,
    "nocaps": section_nocaps,
    "df": section_df,
    "raw": section_raw,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SECTIONS:
        print("usage: errors.py {%s} SOCKET" % ",".join(SECTIONS),
              file=sys.stderr)
        sys.exit(99)
    SECTIONS[sys.argv[1]](sys.argv[2])
    print("%s: all checks passed" % sys.argv[1])
