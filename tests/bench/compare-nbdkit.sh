#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Benchmark nbdbroker against nbdkit with fio's nbd engine, in the same
# run, on the same machine, and print each figure with the ratio.
# Not part of `make check`: timings on a shared machine are noisy, so
# compare the ratios of one run, not absolute numbers across runs.
#
# Usage: tests/bench/compare-nbdkit.sh [-t SECONDS] [-s SIZE] [-m MODE]
#   MODE: memory (default: our memory plugin vs `nbdkit memory`)
#         nbdkit-so (nbdkit's memory plugin .so under both servers)
#         sandbox (our memory plugin with and without the sandbox; needs
#                  policy support)
# Run from the build tree (it uses ./nbdbroker).

set -euo pipefail
export PATH=/usr/bin:$PATH

runtime=10
size=1G
mode=memory
while getopts "t:s:m:" o; do
	case "$o" in
	t) runtime=$OPTARG ;;
	s) size=$OPTARG ;;
	m) mode=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-s SIZE] [-m MODE]" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
nbdbroker=${NBDBROKER:-$top/nbdbroker}
[ -x "$nbdbroker" ] || { echo "$0: build first ($nbdbroker missing)" >&2; exit 2; }
command -v fio >/dev/null || { echo "$0: fio is required" >&2; exit 2; }
command -v nbdkit >/dev/null || { echo "$0: nbdkit is required" >&2; exit 2; }
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "$0: fio lacks the nbd engine" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

wait_sock() {
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
	echo "$0: server did not create $1" >&2; exit 1
}

nbdkit_memory_so=/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-memory-plugin.so

case "$mode" in
memory)
	a_name=nbdbroker; a_cmd=("$nbdbroker" -f -U "$tmp/a.sock" memory "size=$size")
	b_name=nbdkit;    b_cmd=(nbdkit -f -U "$tmp/b.sock" memory "size=$size")
	;;
nbdkit-so)
	a_name="nbdbroker+nbdkit-memory.so"; a_cmd=("$nbdbroker" -f -U "$tmp/a.sock" "$nbdkit_memory_so" "size=$size")
	b_name="nbdkit+nbdkit-memory.so";    b_cmd=(nbdkit -f -U "$tmp/b.sock" "$nbdkit_memory_so" "size=$size")
	;;
sandbox)
	a_name="sandboxed"; a_cmd=("$nbdbroker" -f -U "$tmp/a.sock" memory "size=$size")
	b_name="no-sandbox"; b_cmd=("$nbdbroker" -f -U "$tmp/b.sock" --policy "$top/tests/policies/unconfined.policy" memory "size=$size")
	;;
*) echo "$0: unknown mode $mode" >&2; exit 2 ;;
esac

"${a_cmd[@]}" 2>"$tmp/a.log" & pids+=($!)
"${b_cmd[@]}" 2>"$tmp/b.log" & pids+=($!)
wait_sock "$tmp/a.sock"
wait_sock "$tmp/b.sock"

# fio job: NAME RW BS DEPTH -> prints IOPS and MiB/s
run_fio() {
	local sock=$1 rw=$2 bs=$3 depth=$4
	fio --name=bench --ioengine=nbd --uri="nbd+unix:///?socket=$sock" \
	    --rw="$rw" --bs="$bs" --iodepth="$depth" --size="$size" \
	    --runtime="$runtime" --time_based --ramp_time=1 \
	    --output-format=json 2>/dev/null | sed -n "/^{/,\$p" |
	/usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
op = j["read"] if j["read"]["io_bytes"] > 0 else j["write"]
print("%.0f %.1f" % (op["iops"], op["bw_bytes"] / 1048576.0))'
}

# Fill the disks first so reads touch real data.
for s in "$tmp/a.sock" "$tmp/b.sock"; do
	fio --name=fill --ioengine=nbd --uri="nbd+unix:///?socket=$s" \
	    --rw=write --bs=1M --iodepth=8 --size="$size" >/dev/null 2>&1
done

printf '%-28s %14s %14s %8s\n' "workload" "$a_name" "$b_name" "ratio"
for w in "read 256k 16" "write 256k 16" "randread 4k 1" "randread 4k 16" "randwrite 4k 16"; do
	# shellcheck disable=SC2086 # split into RW BS DEPTH
	set -- $w
	# Each server twice, in the order A B B A, and the mean of the
	# two: a burst of load from elsewhere on the machine then hits
	# both sides about equally.
	a1=$(run_fio "$tmp/a.sock" "$1" "$2" "$3")
	b1=$(run_fio "$tmp/b.sock" "$1" "$2" "$3")
	b2=$(run_fio "$tmp/b.sock" "$1" "$2" "$3")
	a2=$(run_fio "$tmp/a.sock" "$1" "$2" "$3")
	read -r ia ma ib mb < <(/usr/bin/python3 -c "
a1, a2, b1, b2 = [list(map(float, x.split())) for x in ('$a1', '$a2', '$b1', '$b2')]
print('%.0f %.1f %.0f %.1f' % ((a1[0] + a2[0]) / 2, (a1[1] + a2[1]) / 2,
                               (b1[0] + b2[0]) / 2, (b1[1] + b2[1]) / 2))")
	ratio=$(/usr/bin/python3 -c "print('%.2f' % ($ia / $ib if $ib else 0))")
	printf '%-28s %8s IOPS %8s IOPS %8s\n' "$1 bs=$2 qd=$3" "$ia" "$ib" "${ratio}x"
	printf '%-28s %8s MiB/s %7s MiB/s\n' "" "$ma" "$mb"
done
