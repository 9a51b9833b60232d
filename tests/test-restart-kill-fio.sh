#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# fio writes and verifies (crc32c) with several jobs against the file
# plugin while the worker is killed with SIGKILL every 200 ms for 30 s:
# fio must finish with no I/O error and no verify failure, because the
# broker replays what each dead worker had in flight.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_fio_nbd

d=$(tmpdir)
truncate -s 256M "$d/disk"
# Deaths are the test, not a crash loop to back off from.
start_nbdbroker -U "$d/sock" --intensity 100000/60s file file="$d/disk"

killer() {
	local end=$((SECONDS + 30)) n=0 w
	while [ $SECONDS -lt $end ]; do
		sleep 0.2
		for w in $(worker_pids); do
			kill -9 "$w" 2>/dev/null && n=$((n + 1))
		done
	done
	echo "$n" > "$d/kills"
}
killer &
kpid=$!
cleanup_fn kill "$kpid"

fio_verify_storm "$d" "$d/sock"
wait "$kpid"

kills=$(cat "$d/kills")
echo "workers killed: $kills"
[ "$kills" -ge 50 ]	# the killer really ran
# Every death was noticed and followed by a replacement.
grep -c "ready .* ms after the last one died" "$d/sock.log"
[ "$(grep -c 'ready .* ms after the last one died' "$d/sock.log")" -ge 50 ]
