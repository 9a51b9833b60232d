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

# check_map URI PYEXPR: the server offers block status (base:allocation)
# on URI, and PYEXPR, a Python expression over m (the nbdinfo --map of
# URI as [offset, length, type] lists, neighbours of one type merged),
# is true.  Returns 1, saying which, when either is not so: missing
# block status is a failure, never a reason to check nothing.
#
# check_map --no-extents URI SIZE: the caller says the plugin has no
# extents callback.  Block status must still be offered (the broker
# answers it for every plugin), with all SIZE bytes as one data extent.
check_map() {
	local uri want

	if [ "$1" = --no-extents ]; then
		uri=$2
		want="m == [[0, $3, 0]]"
	else
		uri=$1
		want=$2
	fi
	if ! nbdinfo --json "$uri" | /usr/bin/python3 -c '
import json, sys
e = json.load(sys.stdin)["exports"][0]
c = e.get("contexts", [])
if "base:allocation" not in c:
    sys.exit("check_map: %s offers no base:allocation (meta contexts: %r):"
             " block status is missing" % (sys.argv[1], c))' "$uri"; then
		return 1
	fi
	nbdinfo --map --json "$uri" | /usr/bin/python3 -c '
import json, sys
m = []
for e in json.load(sys.stdin):
    if m and m[-1][2] == e["type"] and m[-1][0] + m[-1][1] == e["offset"]:
        m[-1][1] += e["length"]
    else:
        m.append([e["offset"], e["length"], e["type"]])
if not eval("(" + sys.argv[1] + ")"):
    sys.exit("check_map: map %r: not %s" % (m, sys.argv[1]))' "$want"
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

# copy_through_crash DIR MARKER: the test's server at DIR/sock serves
# 16 MiB of nbdkit's pattern from a plugin or filter that crashes once
# (SIGSEGV) during the copy and then creates MARKER.  nbdcopy's copy
# must come out exact, the log DIR/sock.log must show the crash and
# the connection re-opened, and another worker must serve now.
copy_through_crash() {
	local d=$1 marker=$2 before after
	before=$(worker_pids)
	test -n "$before"
	pattern_file $((16 * 1048576)) "$d/want.img"
	nbdcopy --request-size=65536 --connections=1 "$(nbd_uri "$d/sock")" \
	    "$d/got.img"
	cmp "$d/want.img" "$d/got.img"
	test -e "$marker"
	grep -E "worker $before .*(signal 11|Segmentation)" "$d/sock.log"
	grep -E "re-opening [0-9]+ connection" "$d/sock.log"
	after=$(worker_pids)
	test -n "$after"
	test "$after" != "$before"
}

# pattern_reads URI: one connection to URI reads 8 bytes at each of
# the first ten 4 KiB blocks, which must hold nbdkit's pattern: a
# client that stays connected across a crash must see nothing of it.
pattern_reads() {
	/usr/bin/python3 - "$1" <<'PY'
import nbd, struct, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
for i in range(10):
    off = i * 4096
    assert h.pread(8, off) == struct.pack(">Q", off), i
PY
}

# Tests that compare nbdkit and nbdbroker serving the same thing
# (test-nbdkit-filters.sh, test-nbdkit-plugins-all.sh) run one server
# at a time, each on its own copy of the inputs in $src.
#
# cmp_start nbdkit|nbdbroker W ARGS...: start that server on W/sock,
# logging to W/log; $spid is its pid.  Fails (server stopped) if the
# socket does not come.
cmp_start() {
	local srv=$1 w=$2
	shift 2
	rm -f "$w/sock"
	if [ "$srv" = nbdkit ]; then
		nbdkit -f -U "$w/sock" "$@" 2>"$w/log" &
	else
		"$NBDBROKER" -f -U "$w/sock" "$@" 2>"$w/log" &
	fi
	spid=$!
	if ! wait_for_socket "$w/sock" $((20 * slow)); then
		cmp_stop
		return 1
	fi
}

# cmp_stop: stop the server cmp_start started.
cmp_stop() {
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}

# cmp_workdir NAME SERVER: a fresh copy of $src for one server, so that
# what one server's client writes does not change what the other
# serves; prints its path ($d/run/NAME.SERVER).
cmp_workdir() {
	local w=$d/run/$1.$2
	rm -rf "$w"
	cp -a "$src" "$w"
	echo "$w"
}
