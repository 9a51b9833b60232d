# SPDX-License-Identifier: BSD-3-Clause
#
# What a client sees of an export, as one line of JSON, for the tests
# that serve the same command line under nbdkit and nbdbroker
# (test-nbdkit-filter*.sh) and compare:
#
#   filter-probe.py URI [--export NAME] [--no-write] [--list] [--data]
#                   [--read BYTES] [--tls PSKFILE] [--no-extents]
#
# the export list (--list), size, read-only flag, every can_* flag,
# block sizes, a hash of the first 8M (--read: of fewer bytes; and of
# each 1M chunk that cannot be read, its errno), a write of 4K at 4K
# read back (unless --no-write or read-only), flush and write zeroes
# where offered, and the block status of the first 4M, clipped
# to what was asked and merged (nbdkit may describe past the end of a
# request, the broker clips; both are allowed).  Block sizes are
# compared as the broker offers them: it always advertises some (no
# preference is 1/4096 and no maximum), and never more than its 32M
# request limit.  --data leaves out the flags and block sizes, for two
# different plugins (nbdkit's and nbdbroker's own) that should hold
# the same data.  --no-extents leaves out block status (for a plugin
# whose extents crash nbdkit itself).  A connection that fails gives {"connect": "refused"}.
import errno
import hashlib
import json
import sys

import nbd

args = sys.argv[1:]
uri = args.pop(0)
export = None
write = True
list_exports = False
data_only = False
read_max = 8 << 20
tls_psk = None
extents = True
while args:
    a = args.pop(0)
    if a == "--export":
        export = args.pop(0)
    elif a == "--no-write":
        write = False
    elif a == "--list":
        list_exports = True
    elif a == "--data":
        data_only = True
    elif a == "--read":
        read_max = int(args.pop(0))
    elif a == "--tls":
        tls_psk = args.pop(0)
    elif a == "--no-extents":
        extents = False
    else:
        sys.exit("filter-probe.py: unknown option %s" % a)


def err_name(e):
    return errno.errorcode.get(e.errnum, str(e.errnum))


out = {}
h = nbd.NBD()
if tls_psk is not None:
    h.set_tls(nbd.TLS_REQUIRE)
    h.set_tls_psk_file(tls_psk)
    h.set_tls_username("alice")
if export is not None:
    h.set_export_name(export)
h.add_meta_context("base:allocation")
try:
    if list_exports:
        names = []
        h.set_opt_mode(True)
        h.connect_uri(uri)
        h.opt_list(lambda name, desc: names.append(name) or 0)
        out["list"] = sorted(names)
        h.opt_go()
    else:
        h.connect_uri(uri)
except nbd.Error:
    print(json.dumps({"connect": "refused"}))
    sys.exit(0)

size = h.get_size()
out["size"] = size
out["ro"] = h.is_read_only()
for f in ["can_flush", "can_trim", "can_zero", "can_fast_zero",
          "can_multi_conn", "can_cache", "can_fua", "is_rotational"]:
    out[f] = getattr(h, f)()
block = [h.get_block_size(k) for k in
         (nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM)]
if block == [0, 0, 0]:
    block = [1, 4096, 2**32 - 1]
out["block"] = block[:2] + [min(block[2], 32 << 20)]

md = hashlib.sha256()
off, n = 0, min(size, read_max)
while off < n:
    c = min(1 << 20, n - off)
    try:
        md.update(h.pread(c, off))
    except nbd.Error as e:
        md.update(("read error %s" % err_name(e)).encode())
    off += c
out["data"] = md.hexdigest()[:16]

if write and not out["ro"] and size >= 16384:
    w = {}
    try:
        h.pwrite(b"\xa5" * 4096, 4096)
        w["pwrite"] = hashlib.sha256(h.pread(4096, 4096)).hexdigest()[:8]
    except nbd.Error as e:
        w["pwrite"] = err_name(e)
    if out["can_fua"]:
        try:
            h.pwrite(b"\x5a" * 4096, 8192, nbd.CMD_FLAG_FUA)
            w["fua"] = "ok"
        except nbd.Error as e:
            w["fua"] = err_name(e)
    if out["can_zero"]:
        try:
            h.zero(4096, 4096)
            w["zero"] = hashlib.sha256(h.pread(4096, 4096)).hexdigest()[:8]
        except nbd.Error as e:
            w["zero"] = err_name(e)
    if out["can_flush"]:
        try:
            h.flush()
            w["flush"] = "ok"
        except nbd.Error as e:
            w["flush"] = err_name(e)
    out["write"] = w

if extents and h.can_meta_context("base:allocation"):
    want = min(size, 4 << 20)
    ext = []
    pos = 0

    def cb(meta, start, entries, err):
        global pos
        for i in range(0, len(entries), 2):
            length, flags = entries[i], entries[i + 1]
            length = min(length, want - pos)
            if length <= 0:
                break
            if ext and ext[-1][1] == flags:
                ext[-1][0] += length
            else:
                ext.append([length, flags])
            pos += length
        return 0

    try:
        while pos < want:
            before = pos
            h.block_status(want - pos, pos, cb)
            if pos == before:
                break
        out["extents"] = ext
    except nbd.Error as e:
        out["extents"] = err_name(e)

h.shutdown()
if data_only:
    out = {k: v for k, v in out.items()
           if k in ("size", "ro", "data", "write", "extents", "list")}
print(json.dumps(out, sort_keys=True))
