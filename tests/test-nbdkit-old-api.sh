#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit plugins from older nbdkit releases: API version 1 and a
# _struct_size cut at an older member (tests/plugins/nbdkit-old-plugin.c
# built twice: before errno_is_preserved, and before zero as in nbdkit
# 1.0).  They load, serve reads and writes, FUA is emulated with
# flush, and nothing past their struct is used.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires qemu-io --version
requires_nbd_python

d=$(tmpdir)
for v in old oldest; do
	p=$(test_plugin "nbdkit-$v-plugin")
	"$NBDBROKER" --dump-plugin "$p" > "$d/$v.dump"
	cat "$d/$v.dump"
	grep -x "api_version=1" "$d/$v.dump"
	grep -x "nbdkit_plugin=1" "$d/$v.dump"
	grep -x "thread_model=serialize_all_requests" "$d/$v.dump"
	not grep "magic_config_key" "$d/$v.dump"
	not grep "has_get_ready" "$d/$v.dump"
	not grep "has_can_multi_conn" "$d/$v.dump"

	start_nbdbroker -U "$d/$v.sock" "$p"
	u=$(nbd_uri "$d/$v.sock")
	grep -F "plugin old ready" "$d/$v.sock.log" | grep -F "API 1,"
	# Members past the struct: can_multi_conn must not be seen.
	nbdinfo --json "$u" | grep '"can_multi_conn": false'
	nbdinfo --json "$u" | grep '"can_fua": true'

	qemu-io -f raw \
	    -c "read -P 0x01 0 64k" \
	    -c "write -P 0x5a 4k 8k" \
	    -c "write -z 64k 64k" \
	    -c "discard 256k 4k" \
	    -c "read -P 0x5a 4k 8k" \
	    -c "read -P 0 64k 64k" \
	    -c "read -P 0 256k 4k" \
	    -c "read -P 0x01 260k 4k" \
	    "$u"

	# FUA becomes write + flush: the plugin's flush count (its last 8
	# bytes) goes up by one per FUA write and per flush.
	/usr/bin/python3 - "$u" <<'PY'
import nbd, struct, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
size = h.get_size()
count = lambda: struct.unpack(">Q", h.pread(8, size - 8))[0]
n = count()
h.pwrite(b"\x77" * 512, 8192, nbd.CMD_FLAG_FUA)
assert count() == n + 1, (n, count())
h.pwrite(b"\x78" * 512, 8192)
assert count() == n + 1
h.flush()
assert count() == n + 2
assert h.pread(512, 8192) == b"\x78" * 512
PY
done
