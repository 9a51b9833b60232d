#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Limits against abuse, and how they refuse: export names (4096 bytes
# fine, 4097 refused, NUL refused), option data, options per
# negotiation (1024, then disconnect, the server serving others),
# requests in flight per connection (reading pauses, nothing is lost),
# payload size (32 MiB; a larger WRITE is refused and its payload
# skipped), meta contexts chosen for another export, unknown commands.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=64M

/usr/bin/python3 - "$d/sock" <<'PY'
import nbd, struct, sys
from nbdraw import *
sock = sys.argv[1]
M = 1 << 20
INVALID = [(REP_ERR_INVALID, b"")]

# Export names: 4096 bytes is the limit the spec sets.
h = nbd.NBD()
h.set_export_name("n" * 4096)
h.connect_unix(sock)
assert h.get_size() == 64 * M
h.shutdown()
c = Raw(sock)
c.greet()
assert c.go(b"n" * 4097, opt=OPT_INFO) == INVALID
assert c.go(b"n" * 4097) == INVALID
assert c.go(b"a\0b") == INVALID
r = c.go(b"n" * 4096, opt=OPT_INFO)
assert r[-1] == (REP_ACK, b""), r
assert c.opt(OPT_ABORT) == [(REP_ACK, b"")]
for name in (b"n" * 4097, b"a\0b"):
    c = Raw(sock)
    c.greet()
    c.send_opt(OPT_EXPORT_NAME, name)  # no error reply exists: hang up
    assert c.closed(), name

# Option data is capped (32 KiB): more is abuse, the server hangs up
# without reading it.
c = Raw(sock)
c.greet()
c.send_opt(OPT_LIST, length=40000)
assert c.closed()

# 1024 options per negotiation; the 1025th ends the connection.
h = nbd.NBD()
h.set_opt_mode(True)
h.connect_unix(sock)       # sent NBD_OPT_STRUCTURED_REPLY: option 1
assert h.get_structured_replies_negotiated()
for i in range(1023):
    h.opt_list(lambda name, desc: 0)
try:
    h.opt_list(lambda name, desc: 0)
    raise AssertionError("option 1025 was answered")
except nbd.Error:
    pass

# Meta contexts chosen for another export do not apply to the one
# entered: no block status.
c = Raw(sock)
c.greet()
assert c.opt(OPT_STRUCTURED_REPLY) == [(REP_ACK, b"")]
r = c.opt(OPT_SET_META_CONTEXT, Raw.meta_data(b"other", [b"base:allocation"]))
assert r == [(REP_META_CONTEXT, struct.pack(">I", 1) + b"base:allocation"),
             (REP_ACK, b"")], r
assert c.go(b"")[-1] == (REP_ACK, b"")
c.request(CMD_BLOCK_STATUS, 0, 4096, cookie=5)
r = c.any_reply()
assert r[:4] == ("chunk", 1, REPLY_TYPE_ERROR, 5), r
assert struct.unpack(">IH", r[4][:6]) == (EINVAL, 0), r

# Payload size: READ and WRITE up to 32 MiB; over that EINVAL (the
# WRITE's payload is read and dropped), and the stream stays in step.
c.request(CMD_READ, 0, 32 * M + 1, cookie=6)
r = c.any_reply()
assert r[:4] == ("chunk", 1, REPLY_TYPE_ERROR, 6), r
assert struct.unpack(">I", r[4][:4])[0] == EINVAL
c.request(CMD_WRITE, 0, 32 * M + 1, cookie=7, payload=b"w" * (32 * M + 1))
assert c.any_reply() == ("simple", EINVAL, 7, b"")
c.request(CMD_WRITE, 0, 32 * M, cookie=8, payload=b"v" * (32 * M))
assert c.any_reply() == ("simple", 0, 8, b"")
c.request(CMD_READ, 32 * M - 2, 2, cookie=9)
r = c.any_reply()
assert r[:4] == ("chunk", 1, REPLY_TYPE_OFFSET_DATA, 9), r
assert r[4] == struct.pack(">Q", 32 * M - 2) + b"vv", r

# Out of range and unknown commands: errors, not disconnects.
c.request(CMD_WRITE, 64 * M - 1, 2, cookie=10, payload=b"xx")
assert c.any_reply() == ("simple", ENOSPC, 10, b"")
c.request(42, 0, 0, cookie=11)
assert c.any_reply() == ("simple", EINVAL, 11, b"")

# Requests in flight: 1000 reads sent without reading a reply (reading
# pauses at the cap); every one is answered, once.
N = 1000
c.send(b"".join(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ,
                            1000 + i, 4096 * i, 4096) for i in range(N)))
seen = set()
for i in range(N):
    r = c.any_reply()
    assert r[0] == "chunk" and r[2] == REPLY_TYPE_OFFSET_DATA, r[:4]
    assert r[1] & 1 and len(r[4]) == 8 + 4096
    seen.add(r[3])
assert seen == set(range(1000, 1000 + N))

# A bad request magic: the stream cannot be trusted, hang up.
c.send(struct.pack(">IHHQQI", 0x12345678, 0, CMD_READ, 1, 0, 512))
assert c.closed()
print("ok")
PY

# The server is still serving, and said why it dropped the abusers.
nbdinfo --size "$(nbd_uri "$d/sock")" | grep -qx 67108864
grep -q 'more than 1024 options' "$d/sock.log"
grep -q 'option length 40000 exceeds' "$d/sock.log"
grep -q 'name longer than 4096' "$d/sock.log"
