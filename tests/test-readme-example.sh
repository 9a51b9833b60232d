#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The example plugin in README.md ("Writing a plugin") compiles warning-
# free with the command the README gives, loads, and serves a working
# disk: the README stays true.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
cc=${CC:-cc}
requires "$cc" --version

d=$(tmpdir)
readme=$abs_top_srcdir/README.md
# The C block that follows the marker comment.
awk '/<!-- readme-example-plugin/ { found = 1; next }
     found && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$readme" > "$d/ramdisk.c"
test -s "$d/ramdisk.c"
grep -F 'NBDBROKER_REGISTER_PLUGIN(plugin)' "$d/ramdisk.c"

# As in the README (gcc -shared -fPIC -Wall -I sdk), plus -Werror and
# the build tree's sdk for the generated version header.
"$cc" -shared -fPIC -Wall -Werror \
	-I "$abs_top_srcdir/sdk" -I "$abs_top_builddir/sdk" \
	-o "$d/ramdisk.so" "$d/ramdisk.c"

start_nbdbroker -U "$d/sock" "$d/ramdisk.so" 4M
grep -F 'plugin ramdisk ready' "$d/sock.log"

/usr/bin/python3 - "$d/sock" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
assert h.get_size() == 4 * 1024 * 1024, h.get_size()
assert h.can_fua() and not h.is_read_only()
assert not h.can_trim()
h.pwrite(b"\x42" * 65536, 65536, nbd.CMD_FLAG_FUA)
h.zero(4096, 65536)
assert h.pread(65536, 65536) == bytes(4096) + b"\x42" * 61440
assert h.pread(4096, 0) == bytes(4096)
h.shutdown()
PY
