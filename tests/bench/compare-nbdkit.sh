#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Benchmark nbdbroker against nbdkit (or against itself in another
# configuration) with fio's nbd engine: seven workloads, both servers in
# the same run on the same machine, their rounds interleaved.  For each
# workload it prints throughput (MiB/s, IOPS), server CPU per I/O and
# context switches per I/O (every thread of the server's processes:
# broker and workers, or nbdkit) for both sides and the ratios A/B.
# tests/bench/measure.py runs fio and samples /proc; this script starts
# and stops the servers and decides the order of the runs.  make check
# runs it only as --smoke (tests/test-bench-smoke.sh), which checks that
# it works, never how fast anything is.  How to run it and read it:
# tests/bench/README.md.
#
# Usage: tests/bench/compare-nbdkit.sh [OPTIONS]   (from the build tree;
# it runs ./nbdbroker, or $NBDBROKER)
#   --plugin=bundled    A: nbdbroker with our memory plugin (default)
#   --plugin=nbdkit-so  A: nbdbroker with nbdkit's memory plugin .so
#                       (nbdkit:memory); B is always `nbdkit memory`
#   --isolation=connection  A: nbdbroker --isolation connection,
#                       B: nbdbroker (default isolation), same plugin
#   -m MODE             the old spelling: memory (= --plugin=bundled),
#                       nbdkit-so, or sandbox (A: our memory plugin
#                       sandboxed, B: under tests/policies/unconfined.policy)
#   --no-poll           A: nbdbroker as it is, B: the same with
#                       NBDBROKER_SPIN_US=0 (no polling of the rings'
#                       completions at queue depth 1), same plugin
#   --env-b=NAME=VALUE  A: nbdbroker as it is, B: the same with the
#                       environment variable NAME set to VALUE (the A/B
#                       switch for a tunable read once at start, such
#                       as NBDBROKER_CLIENT_SPIN_US=0), same plugin
#   --broker-b=PATH     A: nbdbroker as built, B: the nbdbroker at PATH
#                       (another build tree's ./nbdbroker, e.g. of main,
#                       with its own worker), same plugin: a change A/B
#                       in one run
#   -t, --runtime=S     seconds per run after a ramp (default 10)
#   -s, --size=SIZE     export size (default 256M)
#   -r, --rounds=N      runs per server and workload; the table shows
#                       medians (default 3)
#   -w, --workloads=LIST  comma-separated names (default: the seven
#                       listed by `measure.py workloads`; `measure.py
#                       workloads --all` adds those run only when named)
#   --csv=FILE          write every run's raw numbers to FILE
#   --png=FILE          draw the ratios as a bar chart (needs gnuplot;
#                       without it the chart is skipped with a warning)
#   --smoke             1 s runs, one round, a 64M export (unless given
#                       otherwise): checks that the script works; its
#                       figures mean nothing

set -euo pipefail
export PATH=/usr/bin:$PATH

# usage [STATUS]: print the usage from the header; on stderr and exit 2
# unless STATUS is 0 (--help).
usage() {
	if [ "${1:-2}" = 0 ]; then
		sed -n '/^# Usage:/,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
	fi
	sed -n '/^# Usage:/,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "$0: $*" >&2
	exit 1
}

runtime=
size=
rounds=
workloads=
plugin=bundled
compare=nbdkit
csv=
png=
smoke=0
envb=

# Options take their value as --opt=VALUE, --opt VALUE or -o VALUE.
while [ $# -gt 0 ]; do
	opt=$1
	val=
	case "$opt" in
	--*=*) val=${opt#*=}; opt=${opt%%=*} ;;
	-[tsrwm]|--runtime|--size|--rounds|--workloads|--plugin|\
	--isolation|--csv|--png|--env-b|--broker-b)
		[ $# -ge 2 ] || usage
		val=$2
		shift ;;
	esac
	shift
	case "$opt" in
	-t|--runtime) runtime=$val ;;
	-s|--size) size=$val ;;
	-r|--rounds) rounds=$val ;;
	-w|--workloads) workloads=$val ;;
	--plugin) plugin=$val ;;
	--isolation)
		[ "$val" = connection ] ||
		    die "--isolation: only 'connection' (compared with the default)"
		compare=isolation ;;
	-m)
		case "$val" in
		memory) plugin=bundled ;;
		nbdkit-so) plugin=nbdkit-so ;;
		sandbox) compare=sandbox ;;
		*) die "-m: unknown mode '$val'" ;;
		esac ;;
	--csv) csv=$val ;;
	--png) png=$val ;;
	--smoke) smoke=1 ;;
	--no-poll) compare=envb; envb=NBDBROKER_SPIN_US=0 ;;
	--env-b)
		[[ "$val" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] ||
		    die "--env-b: '$val' is not NAME=VALUE"
		compare=envb
		envb=$val ;;
	--broker-b)
		compare=brokerb
		broker_b=$val ;;
	-h|--help) usage 0 ;;
	*) echo "$0: unknown option '$opt'" >&2; usage ;;
	esac
done
# Options given explicitly win over --smoke's settings.
if [ "$smoke" = 1 ]; then
	: "${runtime:=1}" "${rounds:=1}" "${size:=64M}"
else
	: "${runtime:=10}" "${rounds:=3}" "${size:=256M}"
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds: '$rounds' is not a count"
[[ "$runtime" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    die "--runtime: '$runtime' is not a number of seconds"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
measure=("/usr/bin/python3" "$here/measure.py")
nbdbroker=${NBDBROKER:-$top/nbdbroker}
[ -x "$nbdbroker" ] || die "build first ($nbdbroker missing)"
command -v fio >/dev/null || die "fio is required"
fio --enghelp 2>/dev/null | grep -qw nbd || die "fio lacks the nbd engine"
if [ "$compare" = brokerb ]; then
	[ -x "$broker_b" ] || die "--broker-b: '$broker_b' is not an executable"
fi
if [ "$compare" = nbdkit ]; then
	command -v nbdkit >/dev/null || die "nbdkit is required"
fi

all=$("${measure[@]}" workloads --all)
if [ -z "$workloads" ]; then
	mapfile -t wl < <("${measure[@]}" workloads)
else
	IFS=, read -r -a wl <<<"$workloads"
	for w in "${wl[@]}"; do
		grep -qx -- "$w" <<<"$all" ||
		    die "unknown workload '$w' (known: $(tr "\n" " " <<<"$all"))"
	done
fi

draw=0
if [ -n "$png" ]; then
	if command -v gnuplot >/dev/null; then
		draw=1
	else
		echo "$0: gnuplot is not installed: no chart" \
		    "(Debian: apt-get install gnuplot-nox)" >&2
	fi
fi

case "$plugin" in
bundled) plug=(memory "size=$size") ;;
nbdkit-so) plug=(nbdkit:memory "size=$size") ;;
*) die "--plugin: '$plugin' is neither bundled nor nbdkit-so" ;;
esac

tmp=$(mktemp -d)
# With --isolation=connection each fio connection gets a new worker
# and so an empty memory disk: both servers are then restarted before
# every run and neither is filled, so both start each run empty.
fresh=0
case "$compare" in
nbdkit)
	name_a="nbdbroker ${plug[0]}"
	a_cmd=("$nbdbroker" -f -U "$tmp/A.sock" "${plug[@]}")
	name_b="nbdkit memory"
	b_cmd=(nbdkit -f -U "$tmp/B.sock" memory "size=$size")
	;;
isolation)
	name_a="nbdbroker --isolation connection ${plug[0]}"
	a_cmd=("$nbdbroker" -f -U "$tmp/A.sock" --isolation connection
	    "${plug[@]}")
	name_b="nbdbroker ${plug[0]}"
	b_cmd=("$nbdbroker" -f -U "$tmp/B.sock" "${plug[@]}")
	fresh=1
	;;
envb)
	name_a="nbdbroker ${plug[0]}"
	a_cmd=("$nbdbroker" -f -U "$tmp/A.sock" "${plug[@]}")
	name_b="nbdbroker ${plug[0]} ($envb)"
	b_cmd=(env "$envb" "$nbdbroker" -f -U "$tmp/B.sock" "${plug[@]}")
	;;
brokerb)
	name_a="nbdbroker ${plug[0]}"
	a_cmd=("$nbdbroker" -f -U "$tmp/A.sock" "${plug[@]}")
	name_b="nbdbroker ${plug[0]} ($broker_b)"
	# The other tree's ./nbdbroker finds its own worker.
	b_cmd=(env -u NBDBROKER_WORKER "$broker_b" -f -U "$tmp/B.sock"
	    "${plug[@]}")
	;;
sandbox)
	name_a="nbdbroker ${plug[0]} (sandboxed)"
	a_cmd=("$nbdbroker" -f -U "$tmp/A.sock" "${plug[@]}")
	name_b="nbdbroker ${plug[0]} (unconfined.policy)"
	b_cmd=("$nbdbroker" -f -U "$tmp/B.sock"
	    --policy "$top/tests/policies/unconfined.policy" "${plug[@]}")
	;;
esac

declare -A pid=()
cleanup() {
	local p
	for p in "${pid[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_server A|B: start that side's server and wait for its socket.
start_server() {
	local side=$1 i
	local -a cmd
	if [ "$side" = A ]; then cmd=("${a_cmd[@]}"); else cmd=("${b_cmd[@]}"); fi
	rm -f "$tmp/$side.sock"
	"${cmd[@]}" 2>>"$tmp/$side.log" &
	pid[$side]=$!
	for ((i = 0; i < 300; i++)); do
		[ -S "$tmp/$side.sock" ] && return 0
		kill -0 "${pid[$side]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/$side.log" >&2
	die "server $side (${cmd[*]}) did not start"
}

# stop_server A|B
stop_server() {
	local side=$1
	kill "${pid[$side]}"
	wait "${pid[$side]}" 2>/dev/null || true
	unset "pid[$side]"
}

# fill A|B: write the whole disk once, so that reads read data.
fill() {
	(cd "$tmp" && fio --name=fill --ioengine=nbd \
	    --uri="nbd+unix:///?socket=$tmp/$1.sock" --rw=write --bs=1M \
	    --iodepth=8 --size="$size" --output="$tmp/fill.out") ||
	    die "filling server $1 failed: $(cat "$tmp/fill.out")"
}

# measure_run WORKLOAD A|B ROUND
measure_run() {
	local w=$1 side=$2 r=$3 name
	if [ "$side" = A ]; then name=$name_a; else name=$name_b; fi
	echo "$w round $r: $name" >&2
	if [ "$fresh" = 1 ]; then
		start_server "$side"
	fi
	(cd "$tmp" && "${measure[@]}" run "$tmp/raw.csv" "$w" "$side" \
	    "$name" "$r" "$tmp/$side.sock" "${pid[$side]}" "$runtime" \
	    "$size") || die "$w on $name failed"
	if [ "$fresh" = 1 ]; then
		stop_server "$side"
	fi
}

machine() {
	echo "$1: $(uptime | sed 's/^ *//'); nproc $(nproc)"
}

# What a wake-up costs on this machine (tests/bench/wake-cost.c), on one
# CPU and across two: where the second is ten times the first (an idle
# vCPU halts at once), every hand-off between processes on different
# CPUs pays it, and the table is read in that light.
wake_cost() {
	local w r
	# Beside this script (built in the source tree), else in the tree
	# of the nbdbroker run.
	w=$here/wake-cost
	[ -x "$w" ] || w=$(dirname "$nbdbroker")/tests/bench/wake-cost
	if [ ! -x "$w" ]; then
		echo "wake-ups: not measured ($w missing: run make)"
	elif r=$("$w") && [[ "$r" =~ ^same_cpu_us=([0-9.]+)\ cross_cpu_us=([0-9.]+|-)$ ]]; then
		echo "wake-ups (futex round trip between two threads):" \
		    "${BASH_REMATCH[1]} us on one CPU," \
		    "${BASH_REMATCH[2]} us across two"
	else
		echo "wake-ups: not measured ($w failed)"
	fi
}

echo "compare-nbdkit.sh: A = $name_a; B = $name_b"
echo "$(fio --version), $(nbdkit --version 2>/dev/null || echo 'no nbdkit')," \
    "export $size, $runtime s per run, $rounds round(s), rounds interleaved"
machine "load at start"
wake_cost

if [ "$fresh" = 0 ]; then
	for side in A B; do
		start_server $side
		fill $side
	done
fi

# Interleave the servers: A B in odd rounds, B A in even ones, so that
# load from elsewhere on the machine drifts onto both sides alike.
for w in "${wl[@]}"; do
	for ((r = 1; r <= rounds; r++)); do
		if ((r % 2)); then order="A B"; else order="B A"; fi
		for side in $order; do
			measure_run "$w" "$side" "$r"
		done
	done
done

machine "load at end"
echo
"${measure[@]}" report "$tmp/raw.csv" "$name_a" "$name_b" \
    --plot-data "$tmp/ratios.dat"

if [ -n "$csv" ]; then
	cp "$tmp/raw.csv" "$csv"
fi
if [ "$draw" = 1 ]; then
	gnuplot <<EOF || die "gnuplot failed to draw $png"
set terminal pngcairo size 1000,560 noenhanced font ',10'
set output '$png'
set title "A = $name_a, B = $name_b\n" . \
    "($runtime s runs, medians of $rounds; $(nproc) CPUs," . \
    " load $(cut -d' ' -f1 /proc/loadavg) at the end)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel 'A / B'
set yrange [0:*]
set grid ytics
set key top left
set xtics font ',9'
plot '$tmp/ratios.dat' using 2:xtic(1) \
	title 'throughput (above 1: A faster)', \
     '' using 3 title 'CPU per I/O (below 1: A cheaper)', \
     '' using 4 title 'context switches per I/O', \
     1 with lines lc rgb 'black' dt 2 notitle
EOF
	echo "chart: $png"
elif [ -n "$png" ]; then
	echo "$0: no chart (gnuplot is not installed)" >&2
fi
