# SPDX-License-Identifier: BSD-3-Clause
#
# The measuring half of compare-nbdkit.sh: it runs one fio job against
# one server while it samples, from /proc, the CPU time and the context
# switches of every thread of the server's processes (the server and
# all its descendants: the broker and its workers, or nbdkit), and it
# turns the runs into the table, the CSV and the chart data.  It never
# starts or stops a server; the shell script does that.
#
# Usage:
#   measure.py workloads
#       the workload names, one a line, in table order
#   measure.py run RAW WORKLOAD SIDE NAME ROUND SOCK PID RUNTIME SIZE
#       run WORKLOAD for RUNTIME seconds (plus a ramp) on the export at
#       Unix socket SOCK of the server whose pid is PID, and append one
#       row to the CSV file RAW (SIDE is A or B, NAME the server's label)
#   measure.py report RAW NAME_A NAME_B [--plot-data FILE]
#       print the table of medians and ratios A/B; with --plot-data,
#       write the ratios for gnuplot to FILE
#
# How a run is measured.  fio (nbd engine, one connection) runs the
# job; meanwhile the server's threads are read every SAMPLE_S seconds:
# /proc/PID/task/TID/schedstat (time on CPU, ns) and .../status
# (voluntary + involuntary context switches).  The window is the part
# of fio's measured time (after its ramp) minus a margin at each end,
# located from fio's report: it ends at fio's timestamp and lasts
# job_runtime.  The machine's idle share (every CPU, /proc/stat's idle
# and iowait over all its time) is read with each sample too: a server
# that waits on wake-ups leaves CPUs idle that one doing work would
# use (docs/benchmarks.md).  A thread's share is its last value seen in the window
# minus its value at the window's first sample (0 if it was born later),
# so a thread that ends during the window (a connection's threads end at
# disconnect) still counts up to its last sample.  The I/Os in the window
# are fio's IOPS times the window's length.

import csv
import json
import os
import statistics
import subprocess
import sys
import time

MiB = 1024 * 1024
SAMPLE_S = 0.1          # thread sampling period
TREE_EVERY = 5          # rescan the process tree every 5 samples
FIO_GRACE_S = 60        # fio's time to connect and disconnect

# name: (fio rw, block size, queue depth, extra fio options)
WORKLOADS = [
    ("read-256k-qd16", "read", "256k", 16, []),
    ("write-256k-qd16", "write", "256k", 16, []),
    ("randread-4k-qd1", "randread", "4k", 1, []),
    ("randread-4k-qd16", "randread", "4k", 16, []),
    ("randwrite-4k-qd1", "randwrite", "4k", 1, []),
    ("randwrite-4k-qd16", "randwrite", "4k", 16, []),
    ("randrw70-4k-qd8", "randrw", "4k", 8, ["--rwmixread=70"]),
]
# Run only when named (-w): not part of the default seven.
EXTRA_WORKLOADS = [
    ("randread-4k-qd8", "randread", "4k", 8, []),
]

FIELDS = ["workload", "side", "server", "round", "window_s", "mib_s",
          "iops", "ios", "cpu_s", "cpu_us_per_io", "ctxsw",
          "ctxsw_per_io", "ctxsw_voluntary", "ctxsw_involuntary",
          "load1", "idle_pct"]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def fail(msg):
    print("measure.py: " + msg, file=sys.stderr)
    sys.exit(1)


def read_file(path):
    """The contents of a /proc file, or None if it has gone."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def process_tree(roots):
    """The pids in roots and all their descendants that exist now."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = read_file("/proc/%s/stat" % d)
        if st is None:
            continue
        # The command name may hold spaces and parentheses: the fields
        # after it start after the last ')'.
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out = set()
    todo = [p for p in roots if os.path.isdir("/proc/%d" % p)]
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(children.get(p, []))
    return out


def thread_cpu_ns(pid, tid):
    """A thread's time on CPU in ns: schedstat if the kernel has it,
    else utime + stime from stat (clock ticks, coarser)."""
    ss = read_file("/proc/%d/task/%s/schedstat" % (pid, tid))
    if ss:
        return int(ss.split()[0])
    st = read_file("/proc/%d/task/%s/stat" % (pid, tid))
    if st is None:
        return None
    f = st.rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000000000 // CLK_TCK


def thread_ctxsw(pid, tid):
    """A thread's (voluntary, involuntary) context switches: it blocked,
    or it was preempted (which grows with the machine's load)."""
    status = read_file("/proc/%d/task/%s/status" % (pid, tid))
    if status is None:
        return None
    vol = invol = 0
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches"):
            vol = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt_switches"):
            invol = int(line.split()[1])
    return vol, invol


def machine_idle():
    """(idle, total) jiffies of every CPU so far: /proc/stat's cpu line,
    idle and iowait over user to steal."""
    f = read_file("/proc/stat").splitlines()[0].split()
    v = [int(x) for x in f[1:9]]
    return v[3] + v[4], sum(v)


def sample(pids):
    """{(pid, tid): (cpu ns, voluntary, involuntary context switches)}
    for every thread now."""
    out = {}
    for p in pids:
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            cpu = thread_cpu_ns(p, t)
            cs = thread_ctxsw(p, t)
            if cpu is not None and cs is not None:
                out[(p, t)] = (cpu,) + cs
    return out


def fio_args(sock, workload, runtime, ramp, size):
    name, rw, bs, qd, extra = workload
    return ["fio", "--name=" + name, "--ioengine=nbd",
            "--uri=nbd+unix:///?socket=" + sock,
            "--rw=" + rw, "--bs=" + bs, "--iodepth=%d" % qd,
            "--size=" + size, "--time_based",
            "--runtime=%g" % runtime, "--ramp_time=%g" % ramp,
            "--norandommap", "--randrepeat=0",
            "--output-format=json"] + extra


def window_deltas(samples, start, end):
    """CPU seconds, voluntary and involuntary context switches, the
    length of the window from the first sample at or after start to the
    last at or before end, and the machine's idle share (percent)."""
    inside = [s for s in samples if start <= s[0] <= end]
    if len(inside) < 2:
        fail("only %d samples inside the %.2f s window: fio ran too "
             "briefly or the machine is too busy" % (len(inside),
                                                      end - start))
    t0, first, idle0 = inside[0]
    last = {}
    for _, threads, _ in inside:
        last.update(threads)
    d = [0, 0, 0]
    for k, v in last.items():
        base = first.get(k, (0, 0, 0))
        for i in range(3):
            d[i] += v[i] - base[i]
    idle1 = inside[-1][2]
    total = idle1[1] - idle0[1]
    idle = 100.0 * (idle1[0] - idle0[0]) / total if total > 0 else 0.0
    return d[0] / 1e9, d[1], d[2], inside[-1][0] - t0, idle


def run(raw, wname, side, server, rnd, sock, pid, runtime, size):
    """Run one workload once against one server and append its row."""
    workload = [w for w in WORKLOADS + EXTRA_WORKLOADS if w[0] == wname]
    if not workload:
        fail("unknown workload %s" % wname)
    runtime = float(runtime)
    ramp = min(1.0, runtime / 5)
    margin = min(0.5, runtime * 0.15)
    args = fio_args(sock, workload[0], runtime, ramp, size)
    fio = subprocess.Popen(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    samples = []
    pids = set()
    n = 0
    # A server that stops answering must not hang the benchmark.
    deadline = time.monotonic() + ramp + runtime + FIO_GRACE_S
    while fio.poll() is None:
        if time.monotonic() > deadline:
            fio.kill()
            fio.wait()
            fail("%s on %s: fio still running %d s after its end: killed"
                 % (wname, server, FIO_GRACE_S))
        if n % TREE_EVERY == 0:
            pids = process_tree([int(pid)])
        samples.append((time.time(), sample(pids), machine_idle()))
        n += 1
        time.sleep(SAMPLE_S)
    out, err = fio.communicate()
    if fio.returncode != 0 or "{" not in out:
        fail("%s on %s: fio failed (exit %d): %s" %
             (wname, server, fio.returncode, err.strip()))
    report = json.loads(out[out.index("{"):])
    job = report["jobs"][0]
    if job["error"] != 0:
        fail("%s on %s: fio: error %d" % (wname, server, job["error"]))
    ops = [job["read"], job["write"]]
    iops = sum(o["iops"] for o in ops)
    mib_s = sum(o["bw_bytes"] for o in ops) / MiB
    end = report["timestamp_ms"] / 1000.0
    start = end - job["job_runtime"] / 1000.0
    cpu_s, vol, invol, secs, idle = window_deltas(samples, start + margin,
                                                  end - margin)
    cs = vol + invol
    ios = iops * secs
    if ios <= 0:
        fail("%s on %s: no I/O completed" % (wname, server))
    row = {
        "workload": wname, "side": side, "server": server, "round": rnd,
        "window_s": "%.3f" % secs, "mib_s": "%.2f" % mib_s,
        "iops": "%.1f" % iops, "ios": "%.0f" % ios,
        "cpu_s": "%.4f" % cpu_s,
        "cpu_us_per_io": "%.3f" % (cpu_s / ios * 1e6),
        "ctxsw": "%d" % cs, "ctxsw_per_io": "%.4f" % (cs / ios),
        "ctxsw_voluntary": "%d" % vol, "ctxsw_involuntary": "%d" % invol,
        "load1": read_file("/proc/loadavg").split()[0],
        "idle_pct": "%.1f" % idle,
    }
    new = not os.path.exists(raw) or os.path.getsize(raw) == 0
    with open(raw, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def ratio(a, b):
    return "%.2fx" % (a / b) if b > 0 else "-"


def report(raw, name_a, name_b, plot_data=None):
    """Print one row per workload: the medians of both sides over the
    rounds and the ratios A/B; optionally write the ratios for gnuplot."""
    with open(raw, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        fail("%s: no runs" % raw)
    rounds = len({r["round"] for r in rows})

    def med(wname, side, field):
        # A CSV of an older measure.py may lack a column (idle_pct).
        v = [float(r[field]) for r in rows
             if r["workload"] == wname and r["side"] == side and
             r.get(field) not in (None, "")]
        return statistics.median(v) if v else None

    def pct(v):
        return "-" if v is None else "%.1f" % v

    def spread(wname):
        # The wider of the two sides' fastest / slowest round.
        s = 1.0
        for side in ("A", "B"):
            v = [float(r["iops"]) for r in rows
                 if r["workload"] == wname and r["side"] == side]
            if v and min(v) > 0:
                s = max(s, max(v) / min(v))
        return "%.2fx" % s

    print("A = %s, B = %s; medians of %d round%s" %
          (name_a, name_b, rounds, "" if rounds == 1 else "s"))
    print("cpu/IO: microseconds of server CPU per I/O; cs/IO: context"
          " switches per I/O;")
    print("speed, cpu, ctxsw: ratios A/B (speed above 1: A is faster;"
          " cpu, ctxsw below 1: A is cheaper)")
    print("idle: percent of the machine's CPU time left idle during the"
          " runs (fio's and")
    print("  the server's waits for wake-ups show here)")
    print("spread: one side's fastest round over its slowest (the wider"
          " side's); a speed ratio")
    print("  closer to 1 than the spread is within this run's noise")
    hdr = ("%-18s %9s %9s %8s %8s %6s %8s %8s %6s %7s %7s %6s %6s %6s "
           "%6s" %
           ("workload", "MiB/s A", "MiB/s B", "IOPS A", "IOPS B",
            "speed", "cpu/IO A", "cpu/IO B", "cpu", "cs/IO A", "cs/IO B",
            "ctxsw", "idle A", "idle B", "spread"))
    print(hdr)
    plot = []
    for wname, *_ in WORKLOADS + EXTRA_WORKLOADS:
        a = {f: med(wname, "A", f) for f in
             ("mib_s", "iops", "cpu_us_per_io", "ctxsw_per_io",
              "idle_pct")}
        b = {f: med(wname, "B", f) for f in a}
        if a["iops"] is None or b["iops"] is None:
            continue
        rs = (ratio(a["mib_s"], b["mib_s"]),
              ratio(a["cpu_us_per_io"], b["cpu_us_per_io"]),
              ratio(a["ctxsw_per_io"], b["ctxsw_per_io"]))
        print("%-18s %9.1f %9.1f %8.0f %8.0f %6s %8.1f %8.1f %6s "
              "%7.2f %7.2f %6s %6s %6s %6s" %
              (wname, a["mib_s"], b["mib_s"], a["iops"], b["iops"], rs[0],
               a["cpu_us_per_io"], b["cpu_us_per_io"], rs[1],
               a["ctxsw_per_io"], b["ctxsw_per_io"], rs[2],
               pct(a["idle_pct"]), pct(b["idle_pct"]), spread(wname)))
        plot.append((wname,) + tuple(r.rstrip("x").replace("-", "0")
                                     for r in rs))
    if plot_data:
        with open(plot_data, "w") as f:
            f.write("# workload speed cpu ctxsw (A/B)\n")
            for p in plot:
                f.write("%s %s %s %s\n" % p)


def main(argv):
    if len(argv) == 2 and argv[1] == "workloads":
        for w in WORKLOADS:
            print(w[0])
    elif len(argv) == 3 and argv[1:] == ["workloads", "--all"]:
        for w in WORKLOADS + EXTRA_WORKLOADS:
            print(w[0])
    elif len(argv) == 11 and argv[1] == "run":
        run(*argv[2:])
    elif len(argv) in (5, 7) and argv[1] == "report":
        plot_data = None
        if len(argv) == 7:
            if argv[5] != "--plot-data":
                fail("report: unknown option %s" % argv[5])
            plot_data = argv[6]
        report(argv[2], argv[3], argv[4], plot_data)
    else:
        fail("usage: see the comment at the top of this file")


if __name__ == "__main__":
    main(sys.argv)
