#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdinfo --json sees the size and flags the memory plugin announces.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version
requires_nbd_python

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=64M

nbdinfo --json "$(nbd_uri "$d/sock")" > "$d/info.json"
cat "$d/info.json"
/usr/bin/python3 - "$d/info.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["protocol"] == "newstyle-fixed", j["protocol"]
assert j["structured"] is True
e = j["exports"][0]
assert e["export-size"] == 64 * 1024 * 1024, e["export-size"]
assert e["is_read_only"] is False
for k in ("can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero",
          "can_multi_conn", "can_df"):
    assert e[k] is True, k
assert e["block_size_maximum"] == 32 * 1024 * 1024
PY

# -r makes it read-only and takes away the write-side flags.
start_nbdbroker -U "$d/ro" -r memory size=1M
nbdinfo --json "$(nbd_uri "$d/ro")" > "$d/ro.json"
/usr/bin/python3 - "$d/ro.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["is_read_only"] is True
assert e["can_trim"] is False and e["can_zero"] is False
assert e["can_fua"] is False
assert e["export-size"] == 1048576
PY
