#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdcopy (several connections, many requests in flight) copies 256 MiB
# of random data into the memory plugin and back out unchanged.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdcopy --version

d=$(tmpdir)
head -c 256M /dev/urandom > "$d/src.img"

start_nbdbroker -U "$d/sock" memory size=256M
uri=$(nbd_uri "$d/sock")

nbdcopy --flush "$d/src.img" "$uri"
nbdcopy "$uri" "$d/out.img"
test "$(stat -c %s "$d/out.img")" -eq $((256 * 1024 * 1024))
cmp "$d/src.img" "$d/out.img"
