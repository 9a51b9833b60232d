#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpora in corpus/NAME/ (fuzz-NAME.c say what the
input formats are).  The seeds are checked in; run this again only
when an input format changes:  ./make-seeds.py [DIR]  (default: the
directory this script is in).  Each seed is a valid or nearly valid
conversation, so the fuzzers start deep in the protocol."""

import os
import struct
import sys

OPTS_MAGIC = 0x49484156454F5054
REQ_MAGIC = 0x25609513

# NBD options and commands.
EXPORT_NAME, ABORT, LIST, PEEK, STARTTLS, INFO, GO, STRUCTURED, \
    LIST_META, SET_META, EXTENDED = range(1, 12)
READ, WRITE, DISC, FLUSH, TRIM, CACHE, ZERO, BLOCK_STATUS = range(8)
FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO = 1, 2, 4, 8, 16


def opt(o, data=b"", magic=OPTS_MAGIC, length=None):
    return struct.pack(">QII", magic, o,
                       len(data) if length is None else length) + data


def name_infos(name=b"", infos=(1, 2, 3)):
    return struct.pack(">I", len(name)) + name + \
        struct.pack(">H", len(infos)) + b"".join(struct.pack(">H", i)
                                                 for i in infos)


def meta(name=b"", queries=(b"base:allocation",)):
    return struct.pack(">I", len(name)) + name + \
        struct.pack(">I", len(queries)) + \
        b"".join(struct.pack(">I", len(q)) + q for q in queries)


def req(cmd, offset=0, count=0, flags=0, cookie=1, payload=None,
        magic=REQ_MAGIC):
    b = struct.pack(">IHHQQI", magic, flags, cmd, cookie, offset, count)
    if payload is None and cmd == WRITE:
        payload = bytes([0x5a]) * count
    return b + (payload or b"")


def handshake_seeds():
    cf = struct.pack(">I", 3)            # FIXED_NEWSTYLE | NO_ZEROES
    go = opt(STRUCTURED) + opt(SET_META, meta()) + opt(GO, name_infos())
    tx = req(READ, 0, 4096) + req(WRITE, 4096, 512, cookie=2) + \
        req(BLOCK_STATUS, 0, 65536, cookie=3) + req(DISC)
    s = {
        "export-name": cf + opt(EXPORT_NAME) + req(READ, 0, 512) +
        req(DISC),
        "export-name-zeroes": struct.pack(">I", 1) + opt(EXPORT_NAME,
                                                         b"disk"),
        "go-structured-meta": cf + go + tx,
        "info-then-go": cf + opt(INFO, name_infos(b"a")) +
        opt(GO, name_infos(b"a", ())) + tx,
        "list-then-go": cf + opt(LIST) + opt(GO, name_infos()) + tx,
        "list-meta": cf + opt(STRUCTURED) +
        opt(LIST_META, meta(b"", ())) +
        opt(LIST_META, meta(b"x", (b"base:", b"qemu:dirty"))) +
        opt(SET_META, meta(b"y")) + opt(GO, name_infos(b"z")) + tx,
        "abort": cf + opt(ABORT),
        "unsupported": cf + opt(STARTTLS) + opt(EXTENDED) + opt(PEEK) +
        opt(99, b"junk") + opt(GO, name_infos()),
        "bad-option-data": cf + opt(LIST, b"x") + opt(STRUCTURED, b"y") +
        opt(GO, b"\0\0\0\x09abc") + opt(INFO, b"\0") +
        opt(SET_META, meta()) + opt(GO, name_infos(b"a\0b")),
        "oversized-option": cf + opt(GO, b"", length=0x7fffffff),
        "bad-magic": cf + opt(GO, name_infos(), magic=0x1122334455667788),
        "old-client": struct.pack(">I", 0) + opt(GO, name_infos()),
        "unknown-client-flags": struct.pack(">I", 0xffffffff),
        "export-name-nul": cf + opt(EXPORT_NAME, b"a\0"),
        "name-4096": cf + opt(GO, name_infos(b"n" * 4096)),
    }
    out = {}
    for name, data in s.items():
        out[name] = bytes([0, 0]) + data
    out["chunked-1"] = bytes([0, 1]) + cf + go + tx
    out["chunked-7-two-clients"] = bytes([0x40, 7]) + cf + go + tx
    out["per-connection"] = bytes([0x01, 0]) + cf + go + tx
    out["open-fails"] = bytes([0x04, 0]) + cf + opt(GO, name_infos()) + \
        opt(EXPORT_NAME)
    out["list-fails"] = bytes([0x08, 0]) + cf + opt(LIST) + \
        opt(GO, name_infos())
    out["no-read"] = bytes([0x20, 0]) + cf + opt(LIST) * 200
    return out


def transmission_seeds():
    # f0: 1 structured, 2 meta, 4 readonly, 8 export-name, 16 no-read,
    # 32 per-connection, 64 lifo, 128 zeroes.  f1: caps.  f2: fua 0-1,
    # cache 2-3, errors 4-5, size 6-7.  f3: block_max 0-1, block_min
    # 2-3, chunk 4-7.  f4: more clients 0-2, they do not read 3.
    mib = 1024 * 1024
    every = req(READ, 0, 4096) + req(WRITE, 4096, 4096, cookie=2) + \
        req(WRITE, 0, 512, FUA, cookie=3) + req(FLUSH, cookie=4) + \
        req(TRIM, 0, 65536, cookie=5) + req(ZERO, 0, 4096, NO_HOLE, 6) + \
        req(ZERO, 8192, 4096, FAST_ZERO, 7) + req(CACHE, 0, mib, cookie=8) + \
        req(BLOCK_STATUS, 0, mib, REQ_ONE, 9) + \
        req(BLOCK_STATUS, 4096, 8192, cookie=10) + \
        req(READ, mib - 512, 512, DF, 11) + req(DISC)
    s = {}

    def T(name, cfg, data):
        s[name] = bytes(cfg) + (b"" if len(cfg) == 5 else b"\0") + data

    T("all-commands", (0x03, 0xff, 0x06 | 0x40, 0), every)
    T("simple-replies", (0x00, 0xff, 0x06 | 0x40, 0), every)
    T("readonly", (0x07, 0xff, 0x40, 0), every)
    T("export-name", (0x08, 0x7f, 0x42, 0), every)
    T("errors-eio", (0x03, 0xff, 0x56, 0), every)
    T("errors-all", (0x03, 0xff, 0x76, 0), every)
    T("no-caps", (0x03, 0x00, 0x40, 0), every)
    T("size-zero", (0x03, 0xff, 0x06, 0), every)
    T("size-huge", (0x03, 0xff, 0xc6, 0),
      req(READ, (1 << 63) - 4096, 4096) +
      req(WRITE, (1 << 63) - 1, 2, cookie=2) +
      req(READ, 2**64 - 512, 512, cookie=3))
    T("block-max-4k", (0x03, 0xff, 0x46, 0x01),
      req(READ, 0, 8192) + req(WRITE, 0, 8192, cookie=2) +
      req(READ, 0, 4096, cookie=3))
    T("out-of-range", (0x03, 0xff, 0x46, 0),
      req(WRITE, mib, 4096) + req(READ, mib, 1, cookie=2) +
      req(WRITE, mib - 1, 2, cookie=3) + req(ZERO, 2**64 - 1, 1, cookie=4) +
      req(READ, 0, 0, cookie=5) + req(WRITE, 0, 0, cookie=6))
    T("bad-flags", (0x03, 0xff, 0x46, 0),
      req(READ, 0, 512, 0x8000) + req(WRITE, 0, 512, NO_HOLE, 2) +
      req(FLUSH, 0, 1, cookie=3) + req(CACHE, 0, 512, FAST_ZERO, 4) +
      req(42, 0, 512, cookie=5) + req(9, cookie=6) +
      req(BLOCK_STATUS, 0, 512, DF, 7))
    T("unknown-commands", (0x03, 0xff, 0x46, 0),
      b"".join(req(c, 0, 512, cookie=c) for c in range(8, 20)))
    T("bad-magic", (0x03, 0xff, 0x46, 0),
      req(READ, 0, 512) + req(READ, 0, 512, magic=0x12345678))
    T("payload-longer", (0x03, 0xff, 0x46, 0),
      req(WRITE, 0, 512, payload=b"x" * 600) + req(READ, 0, 512))
    T("payload-short", (0x03, 0xff, 0x46, 0),
      req(WRITE, 0, 4096, payload=b"y" * 100))
    T("big-write", (0x03, 0xff, 0x46, 0x80),
      req(WRITE, 0, 64 * 1024, cookie=1) + req(READ, 0, 64 * 1024, 0, 2))
    T("many-reads", (0x01, 0xff, 0x46, 0),
      b"".join(req(READ, (i % 64) * 4096, 4096, cookie=i)
               for i in range(140)))
    T("no-read", (0x13, 0xff, 0x46, 0),
      b"".join(req(READ, 0, 65536, cookie=i) for i in range(100)))
    T("per-connection-lifo", (0x63, 0xff, 0x46, 0x20), every)
    T("clients-compete", (0x01, 0xff, 0x86, 0, 0x07),
      req(READ, 0, 32 * mib) + req(WRITE, 0, 65536, cookie=2) +
      req(READ, 4096, 65536, cookie=3))
    # The clients that do not read fill the arena with their replies,
    # several of them wait for more, and the first client's replies
    # free space while they do.
    T("clients-compete-no-read", (0x01, 0xff, 0x86, 0, 0x0f),
      b"".join(req(READ, 0, 4 * mib, cookie=i) for i in range(24)))
    T("drain-then-more", (0x07, 0xff, 0x46, 0),
      req(WRITE, 0, 3000, cookie=1) + req(TRIM, 0, 512, cookie=2) +
      req(READ, 0, 512, cookie=3))
    return s


# fuzz-worker operations (enum op in fuzz-worker.c).
(RUN, ANSWER, ANSWER_ALL, AUTO, RAW, FRAME, LENGTH, REPLY, OPEN_REPLY,
 EXPORT_LIST, CLOSE_REPLY, LOG, HELLO, READY, FAILED, SHUTDOWN, WRONG_WAY,
 EXIT, REAP_NOW, STDERR, SEND_FD, TICK, FIRE_TIMERS, SPAWN_FAIL, CLIENT_NEW,
 CLIENT_REQUEST, CLIENT_CLOSE, CLIENT_READING, SELECT_WORKER,
 LOG_FLOOD, RINGS, RING) = range(32)
Q0 = 0            # id of the first queued message
STALE = 0xf0      # an id answered already
NOID = 0xf9


def creq(k, cmd, off=0, count=3, payload=0, flags=0):
    """Client k sends cmd (offset and count are table indexes)."""
    return bytes([CLIENT_REQUEST, k, cmd, flags, off, count, payload])


def varint(v):
    b = b""
    while True:
        b += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if v == 0:
            return b


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def frame(body, idsel=Q0):
    return bytes([FRAME]) + struct.pack(">H", len(body)) + body + \
        bytes([idsel])


def worker_seeds():
    # Header: f (1 per-connection, 2 manual start-up, 4 timeout,
    # 8-16 replays, 32-64 durability, 128 low intensity), c0 (first
    # client's handshake: 1 GO, 4 structured, 8 meta).
    h = bytes([0x10 | 0x40, 1 | 4 | 8])
    go = h + bytes([RUN, ANSWER_ALL, RUN])      # the first client's Open
    read = creq(0, READ)
    ok = bytes([RUN, ANSWER_ALL, RUN])
    reply_ok = bytes([REPLY, 0, 0, Q0])
    s = {
        "answer-read": go + read + bytes([RUN]) + reply_ok + bytes([RUN]),
        "answer-everything": go + read + creq(0, WRITE, 0, 3) +
        creq(0, FLUSH, 0, 0) + creq(0, BLOCK_STATUS, 0, 4) + ok,
        "unknown-id": go + read + bytes([RUN, REPLY, 0, 0, 0xf8]) +
        struct.pack(">Q", 0xdeadbeef) + bytes([RUN]) + ok,
        "duplicate-reply": go + read + bytes([RUN, ANSWER, 0, REPLY, 0, 0,
                                            STALE, RUN]) + ok,
        "reply-to-open": h + bytes([CLIENT_NEW, 1, RUN, REPLY, 0, 0, Q0,
                                    RUN]) + ok,
        "extents-beyond-range": go + creq(0, BLOCK_STATUS, 0, 3) +
        bytes([RUN, REPLY, 3, 0, 6, 0, 0x80, 0, 0, 0x10, 0, 1, 1, Q0,
               RUN]) + ok,
        "extents-zero-length": go + creq(0, BLOCK_STATUS, 0, 3) +
        bytes([RUN, REPLY, 2, 0, 0, 0, 3, 1, Q0, RUN]) + ok,
        "extents-bad-type": go + creq(0, BLOCK_STATUS, 0, 3) +
        bytes([RUN, REPLY, 1, 0, 3, 7, Q0, RUN]) + ok,
        "extents-count-mismatch": go + creq(0, BLOCK_STATUS, 0, 3) +
        bytes([RUN, REPLY, 8 | 2, 0, 3, 0, 3, 0, Q0, RUN]) + ok,
        "extents-on-read": go + read + bytes([RUN, REPLY, 1, 0, 3, 0, Q0,
                                             RUN]) + ok,
        "reply-bad-errno": go + read + bytes([RUN, REPLY, 0, 13, Q0, RUN,
                                             REPLY, 0, 15, Q0]) + ok,
        "garbage": go + read + bytes([RUN, RAW, 8]) + b"\xff" * 8 +
        bytes([RUN]) + ok,
        "oversized-length": go + read + bytes([RUN, LENGTH, 1, RUN]) + ok,
        "zero-length": go + read + bytes([RUN, LENGTH, 0, RUN]) + ok,
        "max-length-then-close": go + read + bytes([RUN, LENGTH, 3, RAW, 3]) +
        b"abc" + bytes([EXIT, 0, RUN]) + ok,
        "close-mid-frame": go + read + bytes([RUN, RAW, 6, 0, 0, 0, 9, 0x08,
                                             0x01, EXIT, 0x89, RUN]) + ok,
        "no-body": go + read + bytes([RUN]) + frame(b"", Q0) + bytes([RUN]) +
        ok,
        "raw-reply-frame": go + read + bytes([RUN]) +
        frame(field(101, b"\x08\x05"), Q0) + bytes([RUN]) + ok,
        "raw-log-frame": h + bytes([RUN]) +
        frame(field(200, b"\x08\x03" + field(2, b"hello\0world")), NOID) +
        bytes([RUN]) + ok,
        "unknown-field": go + read + bytes([RUN]) +
        frame(field(150, b"xyz") + field(101, b""), Q0) + bytes([RUN]) + ok,
        "open-reply-changes-size": go + read + bytes([RUN, EXIT, 0x89, RUN,
                                                     OPEN_REPLY, 0, 3, 0, 0x01,
                                                     0, 0, 0, 0, 0, Q0, RUN,
                                                     AUTO]) + ok,
        "open-reply-oversized-name": h + bytes([CLIENT_NEW, 5, RUN,
                                                OPEN_REPLY, 0, 0, 0, 0xff, 0,
                                                0x40, 0, 6, 5, Q0, RUN]) + ok,
        "open-reply-bad": h + bytes([CLIENT_NEW, 5, RUN, OPEN_REPLY, 0x10,
                                     2, 0, 0, 0, 0x3f, 5, 0, 0, Q0, RUN,
                                     AUTO]) + ok,
        "export-list": bytes([0x10, 3 | 4]) + bytes([RUN, EXPORT_LIST, 0x20,
                                                     2, 3, 4, Q0, RUN]) + ok,
        "export-list-many": bytes([0x10, 3 | 4]) +
        bytes([RUN, EXPORT_LIST, 0x10 | 0x20, 0, 0, 0, Q0, RUN]) + ok,
        "export-list-oversized": bytes([0x10, 3]) +
        bytes([RUN, EXPORT_LIST, 0x40, 6, 6, 0, Q0, RUN]) + ok,
        "log-levels": h + bytes([LOG, 3, 3, NOID, LOG, 7, 5, NOID, LOG, 0xff,
                                 0, 0, 0, 9, 1, NOID, LOG, 6, 7, NOID, RUN]) +
        read + ok,
        "log-flood": h + bytes([LOG_FLOOD, 0xff, RUN, LOG_FLOOD, 0x40, RUN]) +
        read + ok,
        "stderr": h + bytes([STDERR, 20]) + b"line one\nline two\n\0\xff" +
        bytes([STDERR, 3]) + b"abc" + bytes([RUN]) + read + ok,
        "send-fd": go + read + bytes([RUN, SEND_FD, 0, RUN]) + ok,
        "send-fd-with-frame": go + read + bytes([RUN, SEND_FD, 4, 0, 0, 0,
                                                0x40, RUN]) + ok,
        "wrong-way": h + bytes([WRONG_WAY, 0, NOID, RUN]) + read + ok,
        "hello-twice": h + bytes([HELLO, 0, 1, NOID, RUN]) + read + ok,
        "ready-twice": h + bytes([READY, 0, NOID, RUN]) + read + ok,
        "shutdown-request": go + read + bytes([RUN, SHUTDOWN, NOID, RUN,
                                              CLIENT_NEW, 1]) + ok,
        "exit-with-requests": go + read + creq(0, WRITE, 0, 3) +
        bytes([RUN, EXIT, 0x89, RUN]) + ok,
        "reap-before-eof": go + read + bytes([RUN, REAP_NOW, RUN]) + ok,
        "kill-loop": bytes([0x10 | 0x80, 1 | 4 | 8, RUN, ANSWER_ALL]) + read +
        bytes([RUN, EXIT, 0x89, RUN, FIRE_TIMERS, RUN, EXIT, 0x89, RUN,
               FIRE_TIMERS, RUN, EXIT, 0x86, RUN, FIRE_TIMERS, RUN]) + ok,
        "spawn-fails": go + read + bytes([RUN, SPAWN_FAIL, 2, EXIT, 0x89,
                                         RUN, FIRE_TIMERS, RUN]) + ok,
        "timeout": bytes([0x10 | 0x04, 1 | 4 | 8, RUN, ANSWER_ALL]) + read +
        bytes([RUN, TICK, 8, RUN, TICK, 8, RUN, ANSWER_ALL]) + ok,
        "timeout-no-worker": bytes([0x10 | 0x04, 1 | 4 | 8, RUN,
                                    ANSWER_ALL]) + read +
        bytes([RUN, SPAWN_FAIL, 3, EXIT, 0x89, RUN, TICK, 8, RUN]) + ok,
        "manual-startup": bytes([0x10 | 0x02, 1 | 4 | 8]) +
        bytes([RUN, HELLO, 0, 1, Q0, RUN, READY, 0, Q0, RUN]) + read + ok,
        "bad-version": bytes([0x10 | 0x02, 1]) +
        bytes([RUN, HELLO, 0x80 | 99, 0, Q0, RUN]) + ok,
        "ready-invalid": bytes([0x10 | 0x02, 1]) +
        bytes([RUN, ANSWER, 0, RUN, READY, 1 | 2 | 4, 6, 9, 9, Q0, RUN]) + ok,
        "failed": bytes([0x10 | 0x02, 1]) +
        bytes([RUN, ANSWER, 0, RUN, FAILED, 3, 3, Q0, FAILED, 3, 3, Q0, RUN,
               READY, 0, NOID, RUN]) + ok,
        "per-connection": bytes([0x11, 1 | 4 | 8, RUN, ANSWER_ALL]) + read +
        bytes([RUN, CLIENT_NEW, 1, RUN, EXIT, 0x89, RUN]) + creq(1, READ) +
        bytes([RUN, CLIENT_CLOSE, 0]) + ok,
        "volatile-writes-lost": bytes([0x60, 1 | 4 | 8, RUN, ANSWER_ALL]) +
        creq(0, WRITE, 0, 3) + bytes([RUN, ANSWER_ALL, RUN, EXIT, 0x89,
                                      RUN]) + read + ok,
        "suspects": go + read + creq(0, READ, 1) + creq(0, READ, 7) +
        bytes([RUN, EXIT, 0x89, RUN, RUN, EXIT, 0x89, RUN]) + ok,
        "client-stops-mid-payload": go + creq(0, WRITE, 0, 5, 1) +
        bytes([RUN, CLIENT_CLOSE, 0, RUN]) + ok,
        "client-not-reading": h + bytes([CLIENT_READING, 0]) +
        b"".join(creq(0, READ, 0, 4) for _ in range(20)) + ok,
        "client-bad-requests": go + creq(0, 0xf5) + creq(0, WRITE, 5, 3, 2) +
        creq(0, READ, 0, 0) + ok,
        "many-clients": h + b"".join(bytes([CLIENT_NEW, v])
                                     for v in (0, 1, 2, 3, 5, 13, 16)) +
        bytes([RUN]) + creq(3, READ) + creq(4, BLOCK_STATUS) + ok,
    }
    # The rings: Hello and Config answered by hand, after RINGS, so the
    # worker's Ready says it serves them; then the first client's Open.
    hr = bytes([0x10 | 0x40 | 0x02, 1 | 4 | 8, RINGS, 1, ANSWER_ALL, RUN,
                ANSWER_ALL, RUN])
    auto = bytes([RUN, AUTO, RUN])
    s.update({
        "rings-answer-everything": hr + read + creq(0, WRITE, 0, 3) +
        creq(0, FLUSH, 0, 0) + creq(0, BLOCK_STATUS, 0, 4) +
        creq(0, ZERO, 0, 3) + auto,
        "ring-answer": hr + read + bytes([RUN, RING, 0x40, 0, 0]) + auto,
        "ring-unknown-id": hr + read + bytes([RUN, RING, 0x40, 0xc0]) +
        struct.pack(">Q", 0xdeadbeef) + bytes([0]) + auto,
        "ring-stale-id": hr + read + bytes([RUN, RING, 0x40, 0, 0, RUN,
                                            RING, 0x41, 0x80, 0]) + auto,
        "ring-bad-errno": hr + read + bytes([RUN, RING, 0x40, 0, 13]) +
        auto,
        "ring-tail-ahead": hr + read + bytes([RUN, RING, 0x43, 5]) + auto,
        "ring-tail-anywhere": hr + read + bytes([RUN, RING, 0x44]) +
        struct.pack(">I", 0x80000000) + auto,
        "ring-sq-head": hr + read + bytes([RUN, RING, 0x45, 0x7f]) + auto,
        "ring-doorbell": hr + read + bytes([RUN, RING, 0x47, 1, RUN, RING,
                                            0x47, 0]) + auto,
    })
    return s


def write_all(top, name, seeds):
    d = os.path.join(top, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in sorted(seeds.items()):
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.abspath(__file__))
    write_all(top, "handshake", handshake_seeds())
    write_all(top, "transmission", transmission_seeds())
    write_all(top, "worker", worker_seeds())


main()
