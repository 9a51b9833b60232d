#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# systemd socket activation: started with LISTEN_FDS/LISTEN_PID by a
# small launcher, the server serves on the sockets it was given (a Unix
# and a TCP one here), refuses -U/-p/-i/-s/--run with them, leaves the
# socket file alone at exit, and ignores a LISTEN_PID that is not its
# own.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires nbdinfo --version
requires /usr/bin/python3 --version

d=$(tmpdir)
launcher="$testlib/socket-activate.py"

SOCKET_ACTIVATE_PORTS="$d/ports" /usr/bin/python3 "$launcher" \
    "unix:$d/sock" tcp:127.0.0.1:0 -- \
    "$NBDBROKER" -P "$d/pid" memory size=3M 2> "$d/log" &
pid=$!
cleanup_fn _stop_server "$pid" "$d/log"
for _ in $(seq 300); do
	[ -s "$d/pid" ] && break
	sleep 0.1
done
# -f is implied: the pid is the launcher's, which exec'd the server.
[ "$(cat "$d/pid")" = "$pid" ]
port=$(cat "$d/ports")

nbdinfo --size "nbd+unix:///?socket=$d/sock" | grep -qx 3145728
nbdinfo --size "nbd://127.0.0.1:$port/" | grep -qx 3145728
grep -q 'socket activation: listening on 2 inherited socket' "$d/log"
grep -q "serving memory on nbd+unix:///?socket=$d/sock" "$d/log"

kill "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
not kill -0 "$pid" 2>/dev/null
[ -S "$d/sock" ]		# systemd's socket, not ours to remove

# Listening options make no sense with sockets given.
if /usr/bin/python3 "$launcher" "unix:$d/sock2" -- \
    "$NBDBROKER" -U "$d/other" memory size=1M 2> "$d/err"; then
	echo "-U was accepted with socket activation" >&2
	exit 1
fi
grep -q 'socket activation (LISTEN_FDS=1): -U, -p' "$d/err"

# LISTEN_PID naming another process: not for us, -U is used.
LISTEN_PID=1 LISTEN_FDS=1 start_nbdbroker -U "$d/plain2" memory size=1M
nbdinfo --size "nbd+unix:///?socket=$d/plain2" | grep -qx 1048576
grep -q 'LISTEN_PID=1 is not this process' "$d/plain2.log"
