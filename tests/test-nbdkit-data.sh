#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's data plugin (Debian's .so) served by nbdbroker: a data string
# with spaces and no '=' is its magic parameter, size= pads it, writes
# stay in the worker, and `data` alone (no bundled plugin of that name)
# finds nbdkit's plugin.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-io --version
requires_nbdkit_plugin data

d=$(tmpdir)
start_nbdbroker -U "$d/sock" data ' ( 0x55 0xAA )*2048 @0x3000 "Hello" ' \
    size=1M
uri=$(nbd_uri "$d/sock")
grep -F "plugin data ready" "$d/sock.log"

test "$(nbdinfo --size "$uri")" -eq 1048576
nbdcopy "$uri" "$d/copy.img"
test "$(od -An -tx1 -N 4 "$d/copy.img")" = " 55 aa 55 aa"
test "$(od -An -tx1 -j 4094 -N 4 "$d/copy.img")" = " 55 aa 00 00"
test "$(dd if="$d/copy.img" bs=1 skip=$((0x3000)) count=5 2>/dev/null)" = Hello
test "$(od -An -tx1 -j $((1048576 - 2)) -N 2 "$d/copy.img")" = " 00 00"

qemu-io -f raw -c "write -P 0x66 8k 4k" -c "read -P 0x66 8k 4k" \
    -c "read -P 0 16k 4k" "$uri"

# The plugin keeps 32k pages: the data and the write share the first.
check_map "$uri" "m == [[0, 32768, 0], [32768, 1015808, 3]]"

# The same string read-only.
start_nbdbroker -U "$d/ro" -r nbdkit:data ' ( 0x55 0xAA )*2048 '
test "$(nbdinfo --size "$(nbd_uri "$d/ro")")" -eq 4096
nbdinfo --json "$(nbd_uri "$d/ro")" | grep '"is_read_only": true'
