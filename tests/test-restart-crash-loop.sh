#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A plugin that dies at every start (a file it needs is gone) makes the
# broker back off (250 ms doubling) without spinning; when the file
# reappears, service resumes and a waiting client is served.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
printf 'abcd' > "$d/disk"
truncate -s 1M "$d/disk"
touch "$d/needed"
# Crashes in get_ready unless $d/needed exists (it does at start-up).
start_nbdbroker -U "$d/sock" --intensity 3/60s \
    "$plugin" file="$d/disk" at=get_ready unless="$d/needed"
rm "$d/needed"
for w in $(worker_pids); do kill -9 "$w"; done

sleep 6
ticks() { awk '{print $14 + $15}' "/proc/$nbdbroker_pid/stat"; }
t0=$(ticks)
sleep 4
t1=$(ticks)
echo "broker CPU during 4 s of crash loop: $((t1 - t0)) ticks"
# At most 0.1 s of CPU (a spinning broker takes 4 s); a restart costs
# more under valgrind, which also sets $slow.
[ $((t1 - t0)) -le $((10 * slow)) ]

grep "next start in 250 ms" "$d/sock.log"
grep "next start in 1000 ms" "$d/sock.log"
deaths=$(grep -cE "info: worker [0-9]+ killed by signal 11" "$d/sock.log")
echo "deaths so far: $deaths"
[ "$deaths" -ge 4 ]
[ "$deaths" -le 12 ]

# Fix it; a client waiting meanwhile gets served.
/usr/bin/python3 - "$(nbd_uri "$d/sock")" "$d/needed" <<'PY' &
import nbd, sys, time
h = nbd.NBD(); h.connect_uri(sys.argv[1])
assert h.pread(4, 0) == b"abcd"
print("served")
PY
client=$!
sleep 1
touch "$d/needed"
wait "$client"
grep -E "ready [0-9]+ ms after the last one died" "$d/sock.log"
