#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-io writes (plain and FUA), write-zeroes and discards through the
# memory plugin; reads verify every region holds exactly the expected
# byte pattern afterwards, including across a reconnect.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires qemu-io --version

d=$(tmpdir)
start_nbdbroker -U "$d/sock" memory size=16M
uri=$(nbd_uri "$d/sock")

# qemu-io may exit 0 even when a command failed: check its output too.
qio() {
	local out
	out=$(qemu-io -f raw "$uri" "$@" 2>&1) || {
		echo "$out"
		return 1
	}
	echo "$out"
	if grep -Ei 'fail|error|verification' <<<"$out"; then
		return 1
	fi
}

qio -c 'write -P 0x11 0 1M' \
    -c 'write -f -P 0x22 1M 1M' \
    -c 'write -P 0x33 2M 2M' \
    -c 'write -z 2M 512k' \
    -c 'write -f -z 3M 64k' \
    -c 'discard 3584k 512k' \
    -c 'write -P 0x44 8191k 2k'

# Read back in a new connection.
qio -c 'read -P 0x11 0 1M' \
    -c 'read -P 0x22 1M 1M' \
    -c 'read -P 0 2M 512k' \
    -c 'read -P 0x33 2560k 512k' \
    -c 'read -P 0 3M 64k' \
    -c 'read -P 0x33 3136k 448k' \
    -c 'read -P 0 3584k 512k' \
    -c 'read -P 0 4M 4095k' \
    -c 'read -P 0x44 8191k 2k' \
    -c 'read -P 0 8193k 7M' \
    -c 'read -P 0 15M 1M'

# The check above must be able to fail: a wrong pattern is noticed.
if qio -c 'read -P 0x55 0 4k'; then
	echo "$0: a wrong read -P pattern was not noticed" >&2
	exit 1
fi
