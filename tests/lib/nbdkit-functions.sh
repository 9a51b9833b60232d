# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2154 # functions.sh sets abs_top_*, nbdbroker_pid...
#
# Helpers for tests/test-nbdkit-*.sh, the tests of hosting nbdkit
# plugins.  Sourced after functions.sh.

# Where Debian's nbdkit package puts its plugins (set by make check
# from configure; this default is for running a test by hand).
: "${NBDKIT_PLUGINDIR:=/usr/lib/x86_64-linux-gnu/nbdkit/plugins}"
export NBDKIT_PLUGINDIR

# requires_nbdkit_plugin NAME...: skip unless nbdkit's plugins are here.
requires_nbdkit_plugin() {
	local n
	for n in "$@"; do
		if [ ! -r "$NBDKIT_PLUGINDIR/nbdkit-$n-plugin.so" ]; then
			echo "$0: test skipped: nbdkit's $n plugin is not" \
			    "installed in $NBDKIT_PLUGINDIR" >&2
			exit 77
		fi
	done
}

# check_map URI PYEXPR: PYEXPR, a Python expression over m (the
# nbdinfo --map of URI as [offset, length, type] lists, neighbours of
# one type merged), must be true.  Block status (base:allocation) is
# not in the broker yet: until it is, this says so and checks nothing.
check_map() {
	local uri=$1 want=$2
	if ! nbdinfo --json "$uri" | /usr/bin/python3 -c '
import json, sys
e = json.load(sys.stdin)["exports"][0]
sys.exit(0 if "base:allocation" in e.get("contexts", []) else 1)'; then
		echo "$0: nbdinfo --map check skipped: the server does not" \
		    "offer base:allocation (block status not implemented yet)" >&2
		return 0
	fi
	nbdinfo --map --json "$uri" | /usr/bin/python3 -c '
import json, sys
m = []
for e in json.load(sys.stdin):
    if m and m[-1][2] == e["type"] and m[-1][0] + m[-1][1] == e["offset"]:
        m[-1][1] += e["length"]
    else:
        m.append([e["offset"], e["length"], e["type"]])
assert eval("(" + sys.argv[1] + ")"), "map %r: not %s" % (m, sys.argv[1])' "$want"
}

# pattern_file SIZE FILE: nbdkit's pattern (each 8-byte word holds its
# own offset, big-endian) for SIZE bytes into FILE.
pattern_file() {
	/usr/bin/python3 -c '
import struct, sys
n = int(sys.argv[1])
b = b"".join(struct.pack(">Q", i) for i in range(0, n + 7, 8))[:n]
open(sys.argv[2], "wb").write(b)' "$1" "$2"
}
