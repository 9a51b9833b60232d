#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# NBD_OPT_STARTTLS at the option level, with a raw client: the replies
# the spec asks for under --tls=require, on and off, state negotiated
# in clear forgotten after TLS, and plaintext injected behind STARTTLS
# refused.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_tls
requires /usr/bin/python3 -c 'import ssl'

d=$(tmpdir)
make_certs "$d/pki"
start_nbdbroker -U "$d/req" --tls=require --tls-certificates="$d/pki" \
    memory size=1M
start_nbdbroker -U "$d/on" --tls=on --tls-certificates="$d/pki" \
    memory size=1M
start_nbdbroker -U "$d/off" memory size=1M

/usr/bin/python3 - "$d" <<'PY'
import struct, sys, time
from nbdraw import *

d = sys.argv[1]
ca = d + "/pki/ca-cert.pem"
TLS_REQD = [(REP_ERR_TLS_REQD, b"")]
INVALID = [(REP_ERR_INVALID, b"")]

# --tls=require: everything but STARTTLS and ABORT is refused.
c = Raw(d + "/req")
assert c.greet() == 3
assert c.opt(OPT_LIST) == TLS_REQD
assert c.opt(OPT_STRUCTURED_REPLY) == TLS_REQD
assert c.go(b"") == TLS_REQD
assert c.go(b"", opt=OPT_INFO) == TLS_REQD
assert c.opt(OPT_LIST_META_CONTEXT, Raw.meta_data()) == TLS_REQD
assert c.opt(99) == TLS_REQD          # unknown options too
assert c.opt(OPT_ABORT) == [(REP_ACK, b"")]
assert c.closed()

# ... and NBD_OPT_EXPORT_NAME, which cannot fail politely, hangs up.
c = Raw(d + "/req")
c.greet()
c.send_opt(OPT_EXPORT_NAME, b"")
assert c.closed()

# STARTTLS with data is invalid; then a real one; a second is invalid.
c = Raw(d + "/req")
c.greet()
assert c.opt(OPT_STARTTLS, b"x") == INVALID
c.starttls(ca)
assert c.opt(OPT_STARTTLS) == INVALID
l = c.opt(OPT_LIST)
assert l[-1] == (REP_ACK, b"") and l[0][0] == REP_SERVER, l
r = c.go(b"", [INFO_BLOCK_SIZE])
assert r[-1] == (REP_ACK, b""), r
size, eflags = Raw.export_info(r)
assert size == 1 << 20
# Transmission over TLS: write, then read back (simple replies).
c.request(CMD_WRITE, 4096, 5, cookie=7, payload=b"hello")
assert c.simple_reply() == (0, 7, b"")
c.request(CMD_READ, 4094, 9, cookie=8)
assert c.simple_reply(9) == (0, 8, b"\0\0hello\0\0")
c.request(CMD_DISC)
assert c.closed()

# What was negotiated in clear is forgotten after STARTTLS.
c = Raw(d + "/on")
c.greet()
assert c.opt(OPT_STRUCTURED_REPLY) == [(REP_ACK, b"")]
q = c.opt(OPT_SET_META_CONTEXT, Raw.meta_data(b"", [b"base:allocation"]))
assert q[-1] == (REP_ACK, b"") and q[0][0] == REP_META_CONTEXT, q
c.starttls(ca)
# Structured replies are off again: meta contexts are invalid ...
assert c.opt(OPT_LIST_META_CONTEXT, Raw.meta_data()) == INVALID
r = c.go(b"")
size, eflags = Raw.export_info(r)
assert not eflags & (1 << 7), hex(eflags)  # no NBD_FLAG_SEND_DF
# ... READ gets a simple reply and block status is not available.
c.request(CMD_READ, 0, 4, cookie=1)
assert c.simple_reply(4) == (0, 1, b"\0" * 4)
c.request(CMD_BLOCK_STATUS, 0, 4096, cookie=2)
assert c.simple_reply() == (EINVAL, 2, b"")
c.request(CMD_DISC)
assert c.closed()

# --tls=on: a client may stay in clear.
c = Raw(d + "/on")
c.greet()
r = c.go(b"")
assert r[-1] == (REP_ACK, b"")
c.request(CMD_READ, 0, 4, cookie=1)
assert c.simple_reply(4) == (0, 1, b"\0" * 4)
c.request(CMD_DISC)
assert c.closed()

# Plaintext sent behind STARTTLS (before our ACK could arrive) would be
# taken as coming from inside TLS: the connection is dropped instead.
c = Raw(d + "/on")
c.greet()
c.send(struct.pack(">QII", OPTS_MAGIC, OPT_STARTTLS, 0) +
       struct.pack(">QII", OPTS_MAGIC, OPT_STRUCTURED_REPLY, 0))
try:
    o, rtype, data = c.reply()
except Closed:
    pass
assert c.closed()

# --tls=off: STARTTLS is refused by policy; the session goes on.
c = Raw(d + "/off")
c.greet()
assert c.opt(OPT_STARTTLS) == [(REP_ERR_POLICY, b"")]
assert c.opt(OPT_STRUCTURED_REPLY) == [(REP_ACK, b"")]
assert c.opt(OPT_ABORT) == [(REP_ACK, b"")]

# A client that is not fixed-newstyle cannot use TLS: under require it
# can only send NBD_OPT_EXPORT_NAME, which is refused by hanging up.
c = Raw(d + "/req")
c.greet(cflags=0)
c.send_opt(OPT_EXPORT_NAME, b"")
assert c.closed()
print("ok")
PY

# The server survived all of it.
nbdinfo --size "nbds+unix:///?socket=$d/req&tls-certificates=$d/pki" | \
    grep -qx 1048576
grep -q 'client sent more data before TLS began' "$d/on.log"
