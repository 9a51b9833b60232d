#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark still works: tests/bench/compare-nbdkit.sh --smoke (each
# workload for 1 s against nbdbroker and nbdkit) prints a table with one
# row per workload, all seven, whose cells are numbers, writes a CSV of
# every run and a PNG chart; the other comparisons (nbdkit's memory .so,
# isolation = connection) run too; a bad option, an unknown workload and
# a server that does not start make it fail.  Nothing here says how fast
# anything must be: the machine is shared, and timings are noise.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fio_nbd
requires nbdkit memory --version
requires /usr/bin/python3 --version

d=$(tmpdir)
bench=$abs_top_srcdir/tests/bench/compare-nbdkit.sh

# check_table OUT N [WORKLOAD...]: OUT holds exactly N table rows, one
# for each WORKLOAD (all seven if none are named) in that order, and
# every cell after the name is a number (ratios end in x).
check_table() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
out, n, want = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
all7 = ["read-256k-qd16", "write-256k-qd16", "randread-4k-qd1",
        "randread-4k-qd16", "randwrite-4k-qd1", "randwrite-4k-qd16",
        "randrw70-4k-qd8"]
want = want or all7
rows = [l.split() for l in open(out) if l.split() and l.split()[0] in all7]
names = [r[0] for r in rows]
if len(rows) != n or names != want:
    sys.exit("table rows %s, expected %d: %s" % (names, n, want))
for r in rows:
    if len(r) != 15:
        sys.exit("row %s: %d cells, expected 15" % (r, len(r)))
    for c in r[1:]:
        float(c[:-1] if c.endswith("x") else c)
    # The machine's idle share, in percent.
    for c in r[12:14]:
        if not 0 <= float(c) <= 100:
            sys.exit("row %s: idle %s is not a percentage" % (r[0], c))
    # One round per side: the spread of a single round is 1.
    if r[14] != "1.00x":
        sys.exit("row %s: spread %s with one round" % (r[0], r[14]))
for k in ("load at start:", "load at end:"):
    if not any(l.startswith(k) and "nproc" in l for l in open(out)):
        sys.exit("no line '%s ... nproc N'" % k)
# What a wake-up costs here, measured (make builds the probe).
import re
if not any(re.match(r"wake-ups \(futex round trip between two threads\): "
                    r"[0-9.]+ us on one CPU, ([0-9.]+|-) us across two$",
                    l) for l in open(out)):
    sys.exit("no 'wake-ups (...): X us on one CPU, Y us across two' line")
PY
}

# The full smoke run, with the CSV and the chart.
"$bench" --smoke --csv "$d/raw.csv" --png "$d/ratios.png" > "$d/out"
cat "$d/out"
check_table "$d/out" 7

# The CSV: a header, then one row per workload and server (one round),
# with a positive I/O count and numbers where numbers belong.
/usr/bin/python3 - "$d/raw.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if len(rows) != 14:
    sys.exit("%d CSV rows, expected 14" % len(rows))
if sorted({r["side"] for r in rows}) != ["A", "B"]:
    sys.exit("CSV sides: %s" % {r["side"] for r in rows})
for r in rows:
    for k in ("window_s", "mib_s", "iops", "ios", "cpu_s",
              "cpu_us_per_io", "ctxsw", "ctxsw_per_io",
              "ctxsw_voluntary", "ctxsw_involuntary", "load1",
              "idle_pct"):
        float(r[k])
    if not 0 <= float(r["idle_pct"]) <= 100:
        sys.exit("CSV row: idle_pct is not a percentage: %s" % r)
    if float(r["ios"]) <= 0 or float(r["window_s"]) <= 0:
        sys.exit("CSV row without I/O: %s" % r)
    if int(r["ctxsw"]) != (int(r["ctxsw_voluntary"]) +
                           int(r["ctxsw_involuntary"])):
        sys.exit("CSV row: ctxsw is not the sum of its parts: %s" % r)
PY

if command -v gnuplot >/dev/null; then
	head -c 8 "$d/ratios.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'
else
	skip_part "the chart (gnuplot is not installed)"
fi

# nbdkit's memory plugin under both servers; isolation = connection
# against the default.  One workload each, to keep the test short.
"$bench" --smoke --plugin=nbdkit-so -w randrw70-4k-qd8 > "$d/so.out"
cat "$d/so.out"
check_table "$d/so.out" 1 randrw70-4k-qd8
grep -q '^A = nbdbroker nbdkit:memory, B = nbdkit memory' "$d/so.out"

"$bench" --smoke --isolation=connection -w randwrite-4k-qd1,randread-4k-qd1 \
    > "$d/iso.out"
cat "$d/iso.out"
check_table "$d/iso.out" 2 randread-4k-qd1 randwrite-4k-qd1
grep -q '^A = nbdbroker --isolation connection memory' "$d/iso.out"

# A/B of an environment variable the broker reads at start.
"$bench" --smoke --env-b=NBDBROKER_CLIENT_SPIN_US=0 -w randread-4k-qd1 \
    > "$d/env.out"
cat "$d/env.out"
check_table "$d/env.out" 1 randread-4k-qd1
grep -q '^A = nbdbroker memory, B = nbdbroker memory (NBDBROKER_CLIENT_SPIN_US=0)' \
    "$d/env.out"

# The report from a CSV of two rounds: medians, ratios and the spread
# (A's rounds 100 and 150 IOPS, B's 200 and 220: the wider is A's 1.5).
cat > "$d/two.csv" <<'CSV'
workload,side,server,round,window_s,mib_s,iops,ios,cpu_s,cpu_us_per_io,ctxsw,ctxsw_per_io,ctxsw_voluntary,ctxsw_involuntary,load1
randread-4k-qd1,A,a,1,1,0.39,100,100,0.001,10,100,1,100,0,0.5
randread-4k-qd1,B,b,1,1,0.78,200,200,0.001,5,100,0.5,100,0,0.5
randread-4k-qd1,A,a,2,1,0.59,150,150,0.001,10,100,1,100,0,0.5
randread-4k-qd1,B,b,2,1,0.86,220,220,0.001,5,100,0.5,100,0,0.5
CSV
/usr/bin/python3 "$abs_top_srcdir/tests/bench/measure.py" report \
    "$d/two.csv" a b > "$d/two.out"
cat "$d/two.out"
grep -Eq '^randread-4k-qd1 +0\.5 +0\.8 +125 +210 +0\.60x .* 1\.50x$' \
    "$d/two.out"

# --help prints the usage; it fails when it should.
"$bench" --help > "$d/help"
grep -q -- '--isolation=connection' "$d/help"
not "$bench" --smoke -w no-such-workload
not "$bench" --smoke --rounds=0
not "$bench" --smoke --no-such-option
not "$bench" --smoke --isolation=plugin
not "$bench" --smoke --env-b=NOT-A-NAME
NBDBROKER=/bin/false not "$bench" --smoke -w randread-4k-qd1
