#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two tracing filters (tests/plugins/nbdkit-trace-filter.c, built as
# trace1 and trace2 against nbdkit's header) stacked above nbdkit's
# memory plugin record every callback they get, from .load to .unload:
# nbdbroker must call them in the order nbdkit does (load, get_ready,
# after_fork and prepare from the innermost; config, open, finalize,
# close and cleanup from the outermost; unload after the plugin's),
# with the same arguments (what a filter passes down: read-only, the
# export name; the final thread model; FUA).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires nbdkit --version
requires_nbd_python
requires_nbdkit_plugin memory
t1=$(test_filter trace1)
t2=$(test_filter trace2)

d=$(shared_tmpdir)
# run SERVER NAME [PARAMS...]: serve memory under trace1 and trace2,
# run a client, stop; the callbacks are in $d/NAME.SERVER.
run() {
	local srv=$1 name=$2 plugin=memory pid
	shift 2
	local trace=$d/$name.$srv
	: > "$trace"
	chmod 0666 "$trace"
	rm -f "$d/sock"
	[ "$srv" = nbdbroker ] && plugin=nbdkit:memory
	if [ "$srv" = nbdkit ]; then
		nbdkit -f -U "$d/sock" --filter="$t1" --filter="$t2" memory 1M \
		    trace1-file="$trace" trace2-file="$trace" "$@" \
		    2>"$trace.log" &
	else
		"$NBDBROKER" -f -U "$d/sock" --filter="$t1" --filter="$t2" \
		    "$plugin" 1M trace1-file="$trace" trace2-file="$trace" \
		    "$@" 2>"$trace.log" &
	fi
	pid=$!
	wait_for_socket "$d/sock" 20
	/usr/bin/python3 - "$(nbd_uri "$d/sock")" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pread(512, 0)
if not h.is_read_only():
    h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA)
    h.flush()
    h.zero(512, 512)
h.shutdown()
PY
	kill "$pid"
	wait "$pid" || true
	cat "$trace.log" >&2
	sed -i "s|$trace|TRACEFILE|" "$trace"
}

for srv in nbdkit nbdbroker; do
	run $srv plain
	# trace2 opens the plugin read-only, trace1 passes export "bar" on.
	run $srv passed trace2-readonly=true trace1-export=bar
done
diff -u "$d/plain.nbdkit" "$d/plain.nbdbroker"
diff -u "$d/passed.nbdkit" "$d/passed.nbdbroker"

# The orders this is about are there (so that the diff compared them).
grep -E ' (load|unload|finalize|cleanup)$| prepare ' "$d/plain.nbdbroker" \
    > "$d/lifecycle"
cat > "$d/lifecycle.want" <<'EOF2'
TRACE trace2 prepare readonly=0
TRACE trace1 prepare readonly=0
TRACE trace1 finalize
TRACE trace2 finalize
TRACE trace1 cleanup
TRACE trace2 cleanup
TRACE trace2 unload
TRACE trace1 unload
EOF2
diff -u "$d/lifecycle.want" "$d/lifecycle"
# .load comes before .config opens the file: it is on stderr only.
for srv in nbdkit nbdbroker; do
	grep -o 'TRACE trace[12] load$' "$d/plain.$srv.log" > "$d/load.$srv"
done
printf 'TRACE trace2 load\nTRACE trace1 load\n' | diff -u - "$d/load.nbdkit"
diff -u "$d/load.nbdkit" "$d/load.nbdbroker"
grep -x "TRACE trace1 pwrite fua=1" "$d/plain.nbdbroker"
grep -x "TRACE trace1 get_ready 3" "$d/plain.nbdbroker"
grep -x "TRACE trace2 open readonly=0 export=bar" "$d/passed.nbdbroker"
