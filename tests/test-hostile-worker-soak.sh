#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# 10,000 worker misbehaviours in about 30 s (SOAK_EVENTS: how many).
# The fake worker in chaos mode breaks the protocol in one of eleven
# ways (exit, garbage, three bad frame lengths, half a frame, an
# unknown id, a duplicate reply, a bad errno, a Request and a Hello
# sent back) whenever a request touches the poison byte, a different
# way in each worker.  A victim client sends such requests one after
# another; a bystander keeps writing and reading back its own data.
# Every misbehaviour gets the worker killed and replaced (no backoff:
# --intensity 1000/1s; the broker keeps a ring of the last 1001 death
# times, 8 KiB, so that RssAnon is not seen growing while a larger
# ring is first written).  The broker's memory and descriptors are
# sampled every 1000 deaths (/proc/PID/status): the descriptors must
# not change; its private memory (RssAnon) must stay flat (under 128
# KiB of growth from the 1000th to the last death); its shared memory
# (RssShmem: the two payload arenas, whose pages the slot allocator
# touches in turn) must stay within the arenas' 128 MiB; the bystander
# must never see an error.  With the spare worker (the default): a
# spare is made once a restart's replay is over, so in the storm one
# may or may not be running (4 descriptors more or less); each sample
# is taken with the storm paused, once the worker and its spare both
# run (the fake worker does not hold, so its spares are never used:
# each restart discards one and spawns, which the soak exercises too).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker
d=$(tmpdir)
truncate -s 16M "$d/disk"
events=${SOAK_EVENTS:-$((10000 / ${NBDBROKER_TEST_SLOW:-1}))}
poison=$((1024 * 1024))
NBDBROKER_WORKER=$(fake_worker "$d" chaos --offset=$poison --disk="$d/disk") \
    start_nbdbroker -U "$d/sock" --intensity 1000/1s \
    memory size=1M

/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$nbdbroker_pid" "$d/sock.log" \
    "$poison" "$events" "$slow" <<'PY'
import errno, os, sys, time
import nbd
uri, pid, log, poison, events = sys.argv[1], int(sys.argv[2]), \
    sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
slow = int(sys.argv[6])

def settle():
    # The storm is paused (no poison request in flight): wait for the
    # worker and its spare, then for the broker to finish the spawn.
    deadline = time.monotonic() + 10 * slow
    while time.monotonic() < deadline:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            if len(f.read().split()) == 2:
                break
        time.sleep(0.01)
    else:
        raise AssertionError("no spare worker within %d s" % (10 * slow))
    time.sleep(0.1 * slow)

def mem_kib():
    m = {}
    for line in open("/proc/%d/status" % pid):
        k, v = line.split(":", 1)
        if k in ("VmRSS", "RssAnon", "RssShmem"):
            m[k] = int(v.split()[0])
    return m["VmRSS"], m["RssAnon"], m["RssShmem"]

def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))

def deaths():
    with open(log, "rb") as f:
        return f.read().count(b"restarting the worker")

victim = nbd.NBD()
victim.connect_uri(uri)
bystander = nbd.NBD()
bystander.connect_uri(uri)
samples = []
t0 = time.monotonic()
n = fails = ok = checked = 0
every = max(events // 10, 100)
next_sample = every
while True:
    # The bystander writes a block and reads it back around each one.
    blk = (n % 64) * 65536 + 4 * 1024 * 1024
    data = bytes([n & 0xff]) * 65536
    c = bystander.aio_pwrite(data, blk)
    try:
        victim.pread(4096, poison)
        ok += 1                        # the duplicate-reply worker
    except nbd.Error as e:
        assert e.errnum == errno.EIO, e.errnum
        fails += 1
    while not bystander.aio_command_completed(c):
        bystander.poll(-1)
    assert bystander.pread(65536, blk) == data
    checked += 1
    n += 1
    if n % 100 == 0:
        dn = deaths()
        if dn >= next_sample:
            settle()
            samples.append((dn,) + mem_kib() + (nfds(),
                                                time.monotonic() - t0))
            print("%6d deaths: VmRSS %6d KiB (RssAnon %5d, RssShmem "
                  "%6d), %3d fds, %5.1f s" % samples[-1], flush=True)
            next_sample += every
        if dn >= events:
            break
print("%d poison requests (%d EIO, %d answered before the worker was "
      "killed), %d bystander writes checked, no bystander error" %
      (n, fails, ok, checked))
growth = samples[-1][2] - samples[0][2]
print("RssAnon growth from %d to %d deaths: %d KiB; RssShmem at most "
      "%d KiB" % (samples[0][0], samples[-1][0], growth,
                  max(s[3] for s in samples)))
assert all(s[4] == samples[0][4] for s in samples), \
    "descriptor count changed"
assert growth < 128 or os.environ["measure_rss"] == "0", growth
assert max(s[3] for s in samples) <= 2 * 64 * 1024 + 1024 or \
    os.environ["measure_rss"] == "0"
PY
