#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --metrics: /metrics, scraped with curl, counts exactly what happened
# while clients ran: requests, bytes and errors by command, latency
# counts, connections, a worker killed with SIGKILL (a death by signal
# and a start), a tripwire (a death by tripwire: the deadly read taken
# back once and, with --replays 0, failed with EIO).  Then scrapers
# that connect and never read, or never send a request, must not stall
# the broker: another NBD client keeps getting answers, scrapes beyond
# the slots are refused and counted, a silent scraper is dropped at
# its deadline, and scraping works again afterwards.  Over TCP, a
# scraper with a tiny receive window that reads late still gets the
# whole response (the broker wrote it piecemeal, without waiting).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires curl --version
requires_sandbox

d=$(tmpdir)
chmod 755 "$d"
"$NBDBROKER" --help > "$d/help"
grep -q -- "--metrics unix:PATH|\[ADDR:\]PORT" "$d/help"
sock=$d/nbd.sock
msock=$d/metrics.sock

start_nbdbroker -U "$sock" --metrics="unix:$msock" --replays 0 \
    "$hostile_so" attack=exec export=attack
wait_for_socket "$msock" 10

# scrape FILE: /metrics into FILE, checking the HTTP side too.
scrape() {
	curl -sf --max-time $((10 * slow)) --unix-socket "$msock" \
	    http://localhost/metrics -o "$1"
	grep -q '^# TYPE nbdbroker_requests_total counter$' "$1"
}
# val FILE SERIES: the value of SERIES (name and labels as printed).
val() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}
# val0 FILE SERIES: the same, 0 if absent (errors appear once seen).
val0() {
	val "$1" "$2" || echo 0
}
# delta A B SERIES
delta() {
	echo $(($(val "$2" "$3") - $(val "$1" "$3")))
}
# expect_delta A B SERIES N
expect_delta() {
	local got
	got=$(delta "$1" "$2" "$3")
	if [ "$got" != "$4" ]; then
		echo "$0: $3 moved by $got, expected $4" >&2
		diff "$1" "$2" >&2 || true
		return 1
	fi
}

# The format: a HELP and a TYPE line for each family, no other
# comment, every sample a number; other paths are 404.
scrape "$d/s0"
grep -q '^nbdbroker_info{version="[^"]*",plugin="hostile"} 1$' "$d/s0"
not grep -Ev '^(# (HELP|TYPE) nbdbroker_[a-z_]+ .+|nbdbroker_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.+Inf]+)$' "$d/s0"
[ "$(val "$d/s0" 'nbdbroker_worker_starts_total{plugin="hostile"}')" = 1 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$msock" \
    http://localhost/other)
[ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    --unix-socket "$msock" http://localhost/metrics)
[ "$code" = 405 ]

# Clients run while we scrape: 200 reads of 512 bytes, then one out of
# bounds (libnbd's strict mode off, so the broker refuses it: EINVAL).
/usr/bin/python3 - "$sock" <<'PY' &
import nbd, sys, time
h = nbd.NBD()
h.set_strict_mode(0)
h.connect_uri("nbd+unix:///?socket=" + sys.argv[1])
for i in range(200):
    h.pread(512, 4096)
    if i % 20 == 0:
        time.sleep(0.05)
try:
    h.pread(512, 1 << 40)
    sys.exit("out-of-bounds read succeeded")
except nbd.Error as e:
    assert e.errnum == 22, e
h.shutdown()
PY
cpid=$!
for i in 1 2 3; do
	scrape "$d/during$i"
done
wait "$cpid"
scrape "$d/s1"
expect_delta "$d/s0" "$d/s1" 'nbdbroker_requests_total{command="read"}' 201
expect_delta "$d/s0" "$d/s1" 'nbdbroker_requests_total{command="write"}' 0
expect_delta "$d/s0" "$d/s1" 'nbdbroker_requests_total{command="disc"}' 1
expect_delta "$d/s0" "$d/s1" \
    'nbdbroker_request_bytes_total{command="read"}' $((200 * 512))
expect_delta "$d/s0" "$d/s1" \
    'nbdbroker_request_duration_seconds_count{command="read"}' 200
expect_delta "$d/s0" "$d/s1" \
    'nbdbroker_request_duration_seconds_bucket{command="read",le="+Inf"}' 200
[ "$(val "$d/s1" 'nbdbroker_request_errors_total{errno="EINVAL"}')" = 1 ]
expect_delta "$d/s0" "$d/s1" nbdbroker_connections_total 1
# A scrape in the middle saw some of it, never more than all of it.
n=$(val "$d/during3" 'nbdbroker_requests_total{command="read"}')
[ "$n" -le 201 ]

# A worker killed with SIGKILL while idle: one death by signal, one
# start, nothing replayed.
pid0=$(worker_pid)
kill -9 "$pid0"
wait_for_log "$sock.log" "worker $pid0 .*killed by signal 9"
for _ in $(seq $((100 * slow))); do
	scrape "$d/s2"
	[ "$(val "$d/s2" 'nbdbroker_workers{plugin="hostile"}')" = 1 ] &&
	    [ "$(delta "$d/s1" "$d/s2" \
	    'nbdbroker_worker_starts_total{plugin="hostile"}')" = 1 ] && break
	sleep 0.1
done
expect_delta "$d/s1" "$d/s2" \
    'nbdbroker_worker_deaths_total{plugin="hostile",cause="signal"}' 1
expect_delta "$d/s1" "$d/s2" \
    'nbdbroker_worker_starts_total{plugin="hostile"}' 1
for c in exit tripwire timeout protocol retired; do
	expect_delta "$d/s1" "$d/s2" \
	    "nbdbroker_worker_deaths_total{plugin=\"hostile\",cause=\"$c\"}" 0
done
expect_delta "$d/s1" "$d/s2" 'nbdbroker_replays_total{plugin="hostile"}' 0

# A tripwire: the read at offset 0 of export "attack" makes the worker
# exec.  It was alone in flight: taken back once, and with --replays 0
# failed with EIO; the next worker serves.
pid1=$(worker_pid)
[ "$pid1" != "$pid0" ]
out=$(nbd_read "$sock" 0 64 attack)
[ "$out" = "ERROR EIO" ]
wait_for_log "$sock.log" "worker $pid1 killed by its sandbox"
# The log lines' tails say the same (tests/test-log-format.sh for more).
wait_for_log "$sock.log" "failing it with EIO; the export stays up plugin=hostile worker=$pid1 policy=[^ ]+ export=attack errno=EIO\$"
wait_for_log "$sock.log" "worker $pid1 .*killed by its sandbox: .* plugin=hostile worker=$pid1 cause=tripwire policy=[^ ]+\$"
for _ in $(seq $((100 * slow))); do
	scrape "$d/s3"
	[ "$(val "$d/s3" 'nbdbroker_workers{plugin="hostile"}')" = 1 ] &&
	    [ "$(delta "$d/s2" "$d/s3" \
	    'nbdbroker_worker_starts_total{plugin="hostile"}')" = 1 ] && break
	sleep 0.1
done
expect_delta "$d/s2" "$d/s3" \
    'nbdbroker_worker_deaths_total{plugin="hostile",cause="tripwire"}' 1
expect_delta "$d/s2" "$d/s3" \
    'nbdbroker_worker_deaths_total{plugin="hostile",cause="signal"}' 0
expect_delta "$d/s2" "$d/s3" 'nbdbroker_replays_total{plugin="hostile"}' 1
expect_delta "$d/s2" "$d/s3" 'nbdbroker_poison_eio_total{plugin="hostile"}' 1
expect_delta "$d/s2" "$d/s3" 'nbdbroker_requests_total{command="read"}' 1
[ $(($(val0 "$d/s3" 'nbdbroker_request_errors_total{errno="EIO"}') -
    $(val0 "$d/s2" 'nbdbroker_request_errors_total{errno="EIO"}'))) = 1 ]
[ "$(nbd_read "$sock" 4096)" = "DATA " ]

# Bad scrapers: 4 that send a request and never read, then 12 (more
# than the 8 slots) that never send one.  Meanwhile an NBD
# client gets 100 answers promptly; then the silent ones are dropped
# at their deadline (10 s) and scraping works again.
/usr/bin/python3 - "$sock" "$msock" "$slow" <<'PY'
import nbd, socket, sys, time
sock, msock, slow = sys.argv[1], sys.argv[2], int(sys.argv[3])
idle = []
# First the ones that ask and never read (the broker writes the
# response without waiting for them), then the silent ones.
for i in range(4):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(msock)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    idle.append(s)
time.sleep(0.5)
for i in range(12):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(msock)
    idle.append(s)
h = nbd.NBD()
h.connect_uri("nbd+unix:///?socket=" + sock)
t = time.monotonic()
for i in range(100):
    h.pread(512, 4096)
took = time.monotonic() - t
assert took < 5 * slow, "100 reads took %.1f s" % took
h.shutdown()
# The first 8 silent ones hold the slots; the broker closes them at
# their deadline: EOF, not a hang.
for s in idle[4:12]:
    s.settimeout(20 * slow)
    assert s.recv(1) == b"", "a silent scraper got data"
for s in idle:
    s.close()
PY
scrape "$d/s4"
n=$(val "$d/s4" nbdbroker_metrics_refused_total)
[ "$n" -ge 4 ]
expect_delta "$d/s3" "$d/s4" 'nbdbroker_requests_total{command="read"}' 101
kill -0 "$nbdbroker_pid"

# TCP, on loopback: a scraper whose receive window is tiny sends its
# request and reads nothing for 2 s (the broker holds what it could
# not write yet) while an NBD client is served; then it reads the
# whole response, as long as Content-Length says.
port=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_nbdbroker -U "$d/tcp.sock" --metrics="127.0.0.1:$port" memory size=1M
/usr/bin/python3 - "$d/tcp.sock" "$port" "$slow" <<'PY'
import nbd, socket, sys, time
sock, port, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
h = nbd.NBD()
h.connect_uri("nbd+unix:///?socket=" + sock)
t = time.monotonic()
for i in range(100):
    h.pwrite(b"x" * 4096, 0)
assert time.monotonic() - t < 5 * slow
time.sleep(2)
s.settimeout(10 * slow)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, body = data.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.0 200 OK\r\n"), head
clen = [l for l in head.split(b"\r\n") if l.startswith(b"Content-Length: ")]
assert int(clen[0].split(b": ")[1]) == len(body), (clen, len(body))
assert len(body) > 8192, len(body)	# more than the window
assert body.endswith(b"\nnbdbroker_metrics_scrapes_total 0\n"), body[-200:]
h.shutdown()
PY

