#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's parsing helpers behave as in nbdkit: the same accepted forms,
# results and error texts.  tests/plugins/nbdkit-parse-plugin.c logs one
# line per parse; the lines must equal nbdkit-parse.expected (recorded
# from nbdkit 1.32.5) and, when nbdkit is installed, what nbdkit itself
# prints for the same command line.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
requires_enforce
set -x

d=$(tmpdir)
p=$(test_plugin nbdkit-parse-plugin)
printf 'secret\n\n' > "$d/pw1"
: > "$d/pw2"
cd "$d"

args=(
	size=1G size=1g size=1024 size=0 size=-0 size=1M size=1.5M size=1GB
	size=1GiB size=-1 size= size=abc size=1x "size= 12" size=+5
	size=9223372036854775807 size=9223372036854775808 size=8E
	size=8191P size=8192P size=1s size=2S size=3b size=0x10 size=1k
	size=1T size=1P size=1E size=7E size=010 "size=1 G" "size=1G "
	size=- size=-99999999999999999999
	bool=1 bool=true bool=TRUE bool=t bool=yes bool=Y bool=on bool=0
	bool=false bool=f bool=no bool=N bool=off bool=OFF bool= bool=2
	bool=maybe "bool= true"
	int=0 int=-1 int=2147483647 int=2147483648 int=-2147483648
	int=-2147483649 int=0x10 int=010 int=08 int= int=abc int=1a
	"int= 1" "int=1 " int=+3 int=-0x10 int=0x int=- "int=- 1"
	unsigned=0 unsigned=-1 unsigned=4294967295 unsigned=4294967296
	"unsigned= -1" unsigned=0x10 unsigned= unsigned=abc "unsigned= +1"
	unsigned=--1
	int8_t=127 int8_t=128 int8_t=-128 int8_t=-129 uint8_t=255
	uint8_t=256 uint8_t=-0 uint8_t=0x100 int16_t=32767 int16_t=32768
	uint16_t=65535 uint16_t=65536 int32_t=-2147483648
	int32_t=2147483648 uint32_t=4294967295 uint32_t=4294967296
	int64_t=9223372036854775807 int64_t=9223372036854775808
	int64_t=-9223372036854775808 int64_t=-9223372036854775809
	int64_t=99999999999999999999x uint64_t=18446744073709551615
	uint64_t=18446744073709551616 uint64_t=-1 uint64_t=0xffffffffffffffff
	password=plain password=+pw1 password=+pw2 password=+nosuch
	password=
)

# The server exits once the plugin has parsed everything.
if "$NBDBROKER" -f -U "$d/sock" "$p" "${args[@]}" 2> "$d/broker.log"; then
	echo "$0: the server did not fail at config_complete" >&2
	exit 1
fi
# (Not the worker's note that the test policy keeps it running as root.)
sed -n 's/^.*\[worker [0-9]* plugin=[^]]*\] //p' "$d/broker.log" |
    grep -v 'sandbox: policy .* user = keep' > "$d/got"
diff -u "$abs_top_srcdir/tests/nbdkit-parse.expected" "$d/got"

if command -v nbdkit >/dev/null; then
	if nbdkit -f -U "$d/sock" "$p" "${args[@]}" 2> "$d/nbdkit.log"; then
		echo "$0: nbdkit did not fail at config_complete" >&2
		exit 1
	fi
	sed -n 's/^nbdkit: error: //p' "$d/nbdkit.log" > "$d/nbdkit"
	diff -u "$d/nbdkit" "$d/got"
else
	skip_part "the same messages from nbdkit: nbdkit is not installed"
fi
