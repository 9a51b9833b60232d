#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Option negotiation: NBD_OPT_LIST shows the default export "", and
# NBD_OPT_INFO followed by NBD_OPT_GO on the same connection reports
# the same export and then serves it.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires nbdinfo --version

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=8M

nbdinfo --list --json "$(nbd_uri "$d/sock")" > "$d/list.json"
cat "$d/list.json"
/usr/bin/python3 - "$d/list.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
names = [e["export-name"] for e in j["exports"]]
assert names == [""], names
assert j["exports"][0]["export-size"] == 8 * 1024 * 1024
PY

/usr/bin/python3 - "$d/sock" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.set_opt_mode(True)
h.set_full_info(True)
h.connect_unix(sys.argv[1])
assert h.aio_is_negotiating()

names = []
n = h.opt_list(lambda name, desc: names.append(name) or 0)
assert n == 1 and names == [""], (n, names)

h.set_export_name("")
h.opt_info()
assert h.get_size() == 8 * 1024 * 1024
assert h.get_canonical_export_name() == ""
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 32 * 1024 * 1024
assert h.aio_is_negotiating()       # INFO does not leave negotiation

# Asking twice is fine, and the list can be asked for again.
h.opt_info()
names.clear()
assert h.opt_list(lambda name, desc: names.append(name) or 0) == 1

h.opt_go()
assert h.aio_is_ready()
assert h.get_size() == 8 * 1024 * 1024
h.pwrite(b"\x17" * 4096, 4096)
assert h.pread(4096, 4096) == b"\x17" * 4096
h.shutdown()

# NBD_OPT_ABORT ends negotiation cleanly.
h = nbd.NBD()
h.set_opt_mode(True)
h.connect_unix(sys.argv[1])
h.opt_abort()
assert h.aio_is_closed(), "not closed after NBD_OPT_ABORT"
PY
