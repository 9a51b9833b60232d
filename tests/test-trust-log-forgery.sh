#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What a client sends reaches the broker's log escaped: an export name
# or meta context export with a newline (and other control bytes) in
# it cannot start a line of its own that looks like the broker's.
# Checked with -v, so the debug lines that name exports are written
# too.  (The meta context export used to be logged as sent.)
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
d=$(tmpdir)
start_nbdbroker -U "$d/sock" -v memory size=1M

/usr/bin/python3 - "$d/sock" <<'PY'
import sys
import nbdraw
from nbdraw import *
sock = sys.argv[1]
forged = b"x\nnbdbroker[1]: error: FORGED LINE\r\x1b[2K"

# SET_META_CONTEXT for one export, GO for another: the broker logs that
# the contexts do not apply, naming both exports.
c = nbdraw.Raw(sock)
c.greet()
assert c.opt(OPT_STRUCTURED_REPLY)[-1][0] == REP_ACK
c.opt(OPT_SET_META_CONTEXT, Raw.meta_data(forged, [b"base:allocation"]))
r = c.go(b"")
assert r[-1][0] == REP_ACK, r
c.request(CMD_READ, 0, 512, cookie=1)
c.chunks()

# Exports named with it: GO, INFO, EXPORT_NAME.
for opt in (OPT_INFO, OPT_GO):
    c = nbdraw.Raw(sock)
    c.greet()
    c.go(forged, opt=opt)
c = nbdraw.Raw(sock)
c.greet()
c.export_name(forged)
c.request(CMD_DISC)
PY
sleep 1
cat "$d/sock.log"
grep -F 'meta context was set for export' "$d/sock.log"
grep -F 'x\x0anbdbroker[1]: error: FORGED LINE\x0d\x1b[2K' "$d/sock.log"
not grep -q "^nbdbroker\[1\]" "$d/sock.log"
not grep -qP '\r|\x1b' "$d/sock.log"
