#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The crash plugin segfaults on random requests (probability 0.002)
# under fio verify: the client sees no error and no corruption.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fio_nbd
plugin=$(test_plugin nbdbroker-crash-plugin)

d=$(tmpdir)
truncate -s 128M "$d/disk"
start_nbdbroker -U "$d/sock" --intensity 100000/60s --replays 5 \
    "$plugin" file="$d/disk" probability=0.002

run_fio "$d" --name=verify --ioengine=nbd --uri="$(nbd_uri "$d/sock")" \
    --rw=randwrite --bs=4k --iodepth=8 --numjobs=2 \
    --size=32M --offset_increment=64M \
    --verify=crc32c --verify_fatal=1 --group_reporting \
    --output-format=json --output="$d/fio.json"

/usr/bin/python3 - "$d/fio.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, job["error"]
assert job["write"]["total_ios"] == 16384, job["write"]["total_ios"]
assert job["read"]["total_ios"] == 16384, job["read"]["total_ios"]
PY
crashes=$(grep -c "killed by signal 11" "$d/sock.log" || true)
echo "crashes: $crashes"
[ "$crashes" -ge 5 ]	# it really crashed, repeatedly
