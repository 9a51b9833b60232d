#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every way a worker can break the RPC protocol (tests/lib/fake-worker.c):
# the fake worker serves a disk correctly and misbehaves on each
# request that touches one byte.  For each misbehaviour, one client
# (the victim) sends such a request while another (the bystander) has
# 64 requests of its own in flight.  The broker survives; a worker
# that broke the protocol is killed, named in the log with what it
# did, and replaced; only the victim's request fails (EIO, after the
# replays), or succeeds where the misbehaviour is not a violation; the
# bystander sees nothing (no error, its data intact); the victim's
# connection and new ones keep working.
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires_nbd_python
requires_fake_worker

d=$(tmpdir)
truncate -s 16M "$d/disk"
poison=$((1024 * 1024))

# MODE COMMAND VICTIM-GETS LOG-LINE ("-": the worker must not be killed)
cases=$(cat <<'EOF'
exit             read          eio      exited with status 2
garbage          read          eio      protocol violation: bad frame \(Message too long\)
oversized        read          eio      protocol violation: bad frame \(Message too long\)
huge-length      read          eio      protocol violation: bad frame \(Message too long\)
zero-length      read          eio      protocol violation: bad frame \(Message too long\)
close-mid-frame  read          eio      RPC socket closed|exited with status 2
unknown-id       read          eio      protocol violation: Reply with unknown id
duplicate        read          ok       protocol violation: Reply with unknown id
extents-on-read  read          eio      protocol violation: NBD_CMD_READ reply carries extents
extents-beyond   block-status  clipped  -
extents-flood    block-status  eio      protocol violation: bad frame \(it would take more memory to decode than any real message\)
extents-zero     block-status  eio      protocol violation: block status extent 0 has length 0 type 0x0
extents-type     block-status  eio      protocol violation: block status extent 0 has length 4096 type 0x80
extents-mismatch block-status  eio      protocol violation: block status reply with 2 lengths and 1 types
bad-errno        read          eio      protocol violation: Reply with errno -5
unknown-errno    read          eio      -
hang             read          eio      NBD_CMD_READ offset=1048576 count=4096 took longer than [0-9]+000 ms: killing the worker
wrong-way        read          eio      protocol violation: unexpected Request in state 2
hello-again      read          eio      protocol violation: unexpected Hello in state 2
log-flood        read          ok       -
stderr-flood     read          ok       -
send-fds         read          ok       -
EOF
)

n=0
while read -r mode cmd expect pattern; do
	sock=$d/$mode.sock
	# The floods send 100000 messages before their reply: the time the
	# broker takes to read and drop them is not under test (under
	# valgrind it exceeds the hang cases' timeout).
	timeout=$((2 * slow))
	case $mode in *-flood) timeout=$((30 * slow)) ;; esac
	NBDBROKER_WORKER=$(fake_worker "$d" "$mode" --offset=$poison \
	    --disk="$d/disk") \
	    start_nbdbroker -U "$sock" --replays 1 --intensity 1000/60s \
	    --request-timeout "${timeout}s" memory size=1M
	if [ "$mode" = send-fds ]; then
		# Count the broker's descriptors once its spare worker is up
		# (spare.c starts it after the first worker's Ready; its
		# socket, stderr pipe, pidfd and doorbell are the broker's),
		# which can be after the socket appears (under valgrind).
		for _ in $(seq $((100 * slow))); do
			[ "$(grep -c 'broker speaks protocol' "$sock.log")" \
			    -ge 2 ] && break
			sleep 0.1
		done
		[ "$(grep -c 'broker speaks protocol' "$sock.log")" -ge 2 ]
	fi
	fds_before=$(fd_count "$nbdbroker_pid")
	/usr/bin/python3 "$testlib/hostile.py" victim \
	    "$(nbd_uri "$sock")" "$poison" "$cmd" "$expect"
	kill -0 "$nbdbroker_pid"		# the broker is alive
	if [ "$pattern" = - ]; then
		if grep -E 'protocol violation|restarting the worker' \
		    "$sock.log"; then
			echo "$mode: the worker should not have been killed"
			exit 1
		fi
	else
		grep -E -- "$pattern" "$sock.log"
		grep -F 'restarting the worker' "$sock.log"
		# The victim's request alone was failed, after 2 deaths.
		if [ "$expect" = eio ]; then
			grep -E "conn [0-9]+: NBD_CMD_(READ|BLOCK_STATUS) \
offset=$poison count=4096 has brought down 2 workers: failing it with EIO" \
			    "$sock.log"
			test "$(grep -c 'has brought down' "$sock.log")" -eq 1
		fi
	fi
	case $mode in
	log-flood)
		# 100000 Log messages: at most the burst (200) reach the log.
		lines=$(grep -c 'plugin=fake\] LLLL' "$sock.log" || true)
		[ "$lines" -ge 100 ]
		[ "$lines" -le 200 ]
		;;
	stderr-flood)
		lines=$(grep -c 'plugin=fake\] EEEE' "$sock.log" || true)
		[ "$lines" -ge 100 ]
		[ "$lines" -le 200 ]
		;;
	send-fds)
		# The 8 descriptors sent with the reply went nowhere: the
		# broker's plain read() discards them.
		test "$(fd_count "$nbdbroker_pid")" -eq "$fds_before"
		;;
	esac
	n=$((n + 1))
done <<< "$cases"
test "$n" -eq 22
