#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img convert copies a 64 MiB image (random data around a zeroed
# stretch, which qemu-img sends as write-zeroes) into the memory plugin
# and back out; the copy must equal the original byte for byte.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires qemu-img --version

d=$(tmpdir)
head -c 24M /dev/urandom > "$d/src.img"
head -c 16M /dev/zero >> "$d/src.img"
head -c 24M /dev/urandom >> "$d/src.img"
test "$(stat -c %s "$d/src.img")" -eq $((64 * 1024 * 1024))

start_nbdbroker -U "$d/sock" memory size=64M
uri=$(nbd_uri "$d/sock")

qemu-img convert -p -n -f raw -O raw "$d/src.img" "$uri"
qemu-img convert -p -f raw -O raw "$uri" "$d/out.img"
test "$(stat -c %s "$d/out.img")" -eq $((64 * 1024 * 1024))
cmp "$d/src.img" "$d/out.img"

# And qemu-img agrees with itself.
qemu-img compare -f raw -F raw "$d/src.img" "$uri"
