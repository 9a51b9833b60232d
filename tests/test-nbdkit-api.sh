#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The nbdkit plugin API the worker provides, seen through a real client:
# tests/plugins/nbdkit-api-plugin.c reports in its first bytes what the
# helpers told it.  Covers -D debug flags (set before .load), nbdkit's
# bare-first-parameter rule ("script"), .thread_model, get_ready and
# after_fork, preconnect, list_exports, default_export, export names
# and descriptions, block_size, peer credentials, errno_is_preserved,
# .dump_plugin and .cleanup.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires_nbd_python

d=$(tmpdir)
p=$(test_plugin nbdkit-api-plugin)

"$NBDBROKER" --dump-plugin -D api.scale=3 "$p" hello > "$d/dump"
cat "$d/dump"
grep -x "max_thread_model=parallel" "$d/dump"
grep -x "thread_model=serialize_requests" "$d/dump"
grep -x "errno_is_preserved=1" "$d/dump"
grep -x "durability=unspecified" "$d/dump"
grep -x "api_dump=yes" "$d/dump"
test "$(tail -1 "$d/dump")" = "api_dump=yes"

start_nbdbroker -U "$d/sock" -D api.scale=3 "$p" hello cleanup="$d/cleanup"
u=$(nbd_uri "$d/sock")

nbdinfo --list --json "$u" > "$d/list.json"
nbdinfo --json "$(nbd_uri "$d/sock" b)" > "$d/b.json"
/usr/bin/python3 - "$d/list.json" "$d/b.json" <<'PY'
import json, sys
x = json.load(open(sys.argv[1]))["exports"]
names = sorted(e["export-name"] for e in x)
assert names == ["a", "b"], names
b = json.load(open(sys.argv[2]))["exports"][0]
assert b["export-size"] == 3 * 2 * 1048576, b["export-size"]
assert b["description"] == "description of b", b
assert b["block_size_minimum"] == 512
assert b["block_size_preferred"] == 4096
assert b["block_size_maximum"] == 1048576
PY

/usr/bin/python3 - "$u" "$(nbd_uri "$d/sock" nosuch)" "$(id -u)" <<'PY'
import nbd, os, sys
h = nbd.NBD()
h.set_full_info(True)
h.connect_uri(sys.argv[1])             # "": the default export, "a"
assert h.get_canonical_export_name() == "a", h.get_canonical_export_name()
assert h.get_size() == 3 * 1048576, h.get_size()
info = dict(l.split("=", 1) for l in
            h.pread(1024, 0).rstrip(b"\0").decode().splitlines())
print(info)
want = {"export": "a", "script": "hello", "scale": "3", "load_scale": "3",
        "ready": "1", "forked": "1", "tls": "0", "uid": sys.argv[3],
        "pid": str(os.getpid()), "family": "1", "sleep": "1"}
for k, v in want.items():
    assert info[k] == v, (k, info[k], v)
assert int(info["preconnects"]) >= 1
# errno_is_preserved: the plugin left ENOSPC in errno.
try:
    h.pwrite(b"x" * 512, 0)     # block_size minimum is 512
    raise SystemExit("write succeeded")
except nbd.Error as e:
    assert e.errno == "ENOSPC", e.errno
h.shutdown()

h = nbd.NBD()
try:
    h.connect_uri(sys.argv[2])
    raise SystemExit("export nosuch was served")
except nbd.Error:
    pass
PY
grep -F "api: no export 'nosuch'" "$d/sock.log"

# .cleanup runs when the server stops.
test ! -e "$d/cleanup"
kill "$nbdbroker_pid"
for _ in $(seq 50); do
	test -e "$d/cleanup" && break
	sleep 0.1
done
test "$(cat "$d/cleanup")" = cleanup
