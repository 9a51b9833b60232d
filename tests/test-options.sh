#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Option haggling and the commands it enables, through libnbd: LIST,
# INFO (block sizes, canonical name), LIST_META_CONTEXT with and without
# queries, GO, block status with and without REQ_ONE, structured and
# simple replies, multi-conn, DF, CACHE and FAST_ZERO, and the old
# NBD_OPT_EXPORT_NAME way in.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/mem" memory size=1M
truncate -s 1M "$d/disk"
start_nbdbroker -U "$d/file" file file="$d/disk"
start_nbdbroker -U "$d/ro" -r memory size=1M

/usr/bin/python3 - "$d" <<'PY'
import errno, nbd, sys
d = sys.argv[1]
M = 1 << 20

def opt_handle(sock, name=""):
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.set_export_name(name)
    h.connect_unix(sock)
    return h

def metas(h, queries):
    h.clear_meta_contexts()
    for q in queries:
        h.add_meta_context(q)
    got = []
    n = h.opt_list_meta_context(lambda name: got.append(name))
    assert n == len(got), (n, got)
    return got

# LIST: the plugin's one default export.
h = opt_handle(d + "/mem")
exports = []
h.opt_list(lambda name, desc: exports.append((name, desc)))
assert exports == [("", "")], exports

# INFO: size, flags, block sizes, the canonical name; then GO.
h.set_full_info(True)
h.opt_info()
assert h.get_size() == M
assert h.get_canonical_export_name() == ""
assert h.get_block_size(nbd.SIZE_MINIMUM) == 1
assert h.get_block_size(nbd.SIZE_PREFERRED) == 4096
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 32 * M
assert h.can_multi_conn() and h.can_fast_zero() and h.can_df()
assert not h.can_cache()          # memory has no cache callback

# Meta contexts: everything, a namespace, an exact name, none of ours.
assert metas(h, []) == ["base:allocation"]
assert metas(h, ["base:"]) == ["base:allocation"]
assert metas(h, ["base:allocation"]) == ["base:allocation"]
assert metas(h, ["x-nbdbroker:nothing"]) == []
assert metas(h, ["x-foo:", "base:allocation"]) == ["base:allocation"]

h.clear_meta_contexts()
h.add_meta_context("base:allocation")
h.opt_go()
assert h.can_meta_context("base:allocation")
assert h.get_structured_replies_negotiated()

# Block status: data [0,64K) and [128K,192K), holes elsewhere.
h.pwrite(b"x" * 65536, 0)
h.pwrite(b"y" * 65536, 131072)
def bs(count, offset, flags=0):
    got = []
    def cb(meta, off, entries, err):
        assert meta == "base:allocation"
        got.append((off, list(entries)))
    h.block_status(count, offset, cb, flags)
    assert len(got) == 1, got
    assert got[0][0] == offset
    return got[0][1]
assert bs(M, 0) == [65536, 0, 65536, 3, 65536, 0, 851968, 3]
assert bs(M, 0, nbd.CMD_FLAG_REQ_ONE) == [65536, 0]
assert bs(100000, 32768, nbd.CMD_FLAG_REQ_ONE) == [32768, 0]
assert bs(100000, 32768) == [32768, 0, 65536, 3, 1696, 0]
# Ranges are clipped to what was asked for.
assert bs(1, M - 1) == [1, 3]

# DF on reads; FAST_ZERO (memory zeroes cheaply); FUA; trim.
chunks = []
def chunk(sub, off, status, err):
    chunks.append((bytes(sub), off, status))
    return 0
h.pread_structured(65536, 0, chunk, nbd.CMD_FLAG_DF)
assert chunks == [(b"x" * 65536, 0, nbd.READ_DATA)], len(chunks)
h.zero(65536, 0, nbd.CMD_FLAG_FAST_ZERO)
assert h.pread(4, 0) == b"\0" * 4
h.pwrite(b"z" * 512, 512, nbd.CMD_FLAG_FUA)
h.flush()
h.trim(65536, 131072)
assert bs(M, 0) == [65536, 0, 983040, 3]
h.shutdown()

# Simple replies: no structured replies, hence no DF, no block status.
h = nbd.NBD()
h.set_request_structured_replies(False)
h.add_meta_context("base:allocation")
h.connect_unix(d + "/mem")
assert not h.get_structured_replies_negotiated()
assert not h.can_df()
assert not h.can_meta_context("base:allocation")
assert h.pread(512, 512) == b"z" * 512
h.set_strict_mode(0)                 # let bad requests reach the server
for call in (lambda: h.pread(512, M),             # beyond the end
             lambda: h.pread_structured(512, 0, lambda *a: 0,
                                        nbd.CMD_FLAG_DF),
             lambda: h.block_status(512, 0, lambda *a: 0)):
    try:
        call()
        raise AssertionError("accepted")
    except nbd.Error as e:
        assert e.errno == "EINVAL", e
assert h.pread(4, 512) == b"z" * 4     # the connection goes on
h.shutdown()

# Errors come back in structured ERROR chunks with the right errno.
h = nbd.NBD()
h.connect_unix(d + "/ro")
h.set_strict_mode(0)
assert h.is_read_only()
for call, want in ((lambda: h.pwrite(b"a", 0), "EPERM"),
                   (lambda: h.pread(2, M - 1), "EINVAL"),
                   (lambda: h.zero(512, 0), "EPERM")):
    try:
        call()
        raise AssertionError("accepted")
    except nbd.Error as e:
        assert e.errno == want, (e, want)
h.shutdown()

# The file plugin caches (posix_fadvise) and zeroes; CACHE works.
h = nbd.NBD()
h.connect_unix(d + "/file")
assert h.can_cache() and h.can_zero()
h.cache(65536, 0)
h.pwrite(b"f" * 4096, 4096)
h.zero(4096, 4096)
assert h.pread(4096, 4096) == b"\0" * 4096
h.shutdown()

# Without fixed newstyle the client can only use NBD_OPT_EXPORT_NAME;
# the same limits and data apply.
h = nbd.NBD()
h.set_handshake_flags(0)
h.connect_unix(d + "/mem")
assert h.get_protocol() == "newstyle"
assert h.get_size() == M
assert h.pread(512, 512) == b"z" * 512
h.pwrite(b"q" * (32 * M >> 5), 0)
h.shutdown()

# NBD_OPT_ABORT ends the session politely.
h = opt_handle(d + "/mem")
h.opt_abort()
assert h.aio_is_closed()
print("ok")
PY
