#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The policy decides, not a rule built into the worker: the same
# hostile plugin succeeds at exactly what an admin's policy allows
# (reading one file, connecting to one TCP port, a larger allocation),
# and still fails at its neighbours.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(shared_tmpdir)
chmod 755 "$d"
mkdir "$d/pub"
echo "the one allowed file" > "$d/pub/allowed.txt"
echo "a neighbour" > "$d/pub/other.txt"
chmod 644 "$d/pub/allowed.txt" "$d/pub/other.txt"

# 1. Reading one specific file.
cat > "$d/read-one.policy" <<EOP
format = nbdbroker-policy/1
[syscalls]
allow = @file-read
kill = @escape @mount @module @debug @exec @subprocess @io-uring @keyring
[filesystem]
read = $d/pub/allowed.txt
EOP
"$NBDBROKER" --check-policy "$d/read-one.policy" > "$d/check.out"
grep -E "^  path read +$d/pub/allowed.txt +always +line 6$" "$d/check.out"

start_nbdbroker -U "$d/r1.sock" --policy "$d/read-one.policy" \
    "$hostile_so" attack=open path="$d/pub/allowed.txt"
[ "$(nbd_read "$d/r1.sock" 0)" = "DATA the one allowed file" ]
grep -q "hostile: open: succeeded: the one allowed file" "$d/r1.sock.log"
broker_opts=(--policy "$d/read-one.policy")
expect_blocked "$d" "Permission denied" open path="$d/pub/other.txt"
expect_blocked "$d" "Permission denied" open-shadow
expect_blocked "$d" "Permission denied" write path="$d/pub/allowed.txt"
[ "$(cat "$d/pub/allowed.txt")" = "the one allowed file" ]
broker_opts=()
# The default policy does not allow it.
expect_blocked "$d" "Function not implemented" open \
    path="$d/pub/allowed.txt"

# 2. Connecting to one TCP port on 127.0.0.1.
/usr/bin/python3 - "$d" <<'PY' &
import os, socket, sys, threading
d = sys.argv[1]
socks = []
for name in ("a", "b"):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    socks.append((name, s))
    with open(os.path.join(d, "port." + name + ".tmp"), "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(os.path.join(d, "port." + name + ".tmp"),
              os.path.join(d, "port." + name))
def serve(name, s):
    while True:
        c, _ = s.accept()
        data = c.recv(100)
        with open(os.path.join(d, "got." + name), "ab") as f:
            f.write(data)
        c.close()
ts = [threading.Thread(target=serve, args=x, daemon=True) for x in socks]
for t in ts: t.start()
threading.Event().wait(55)
PY
listener=$!
cleanup_fn kill "$listener"
for _ in $(seq 50); do [ -f "$d/port.b" ] && break; sleep 0.1; done
pa=$(cat "$d/port.a")
pb=$(cat "$d/port.b")

cat > "$d/tcp-one.policy" <<EOP
format = nbdbroker-policy/1
[syscalls]
allow = @network
kill = @escape @mount @module @debug @exec @subprocess @io-uring @keyring
[network]
allow = tcp-connect $pa
EOP
start_nbdbroker -U "$d/t1.sock" --policy "$d/tcp-one.policy" \
    "$hostile_so" attack=tcp-connect port="$pa"
[ "$(nbd_read "$d/t1.sock" 0)" = "DATA connected to 127.0.0.1:$pa" ]
for _ in $(seq 50); do [ -s "$d/got.a" ] && break; sleep 0.1; done
[ "$(cat "$d/got.a")" = "hostile" ]
broker_opts=(--policy "$d/tcp-one.policy")
expect_blocked "$d" "Permission denied" tcp-connect port="$pb"
[ ! -e "$d/got.b" ]
broker_opts=()
expect_blocked "$d" "Function not implemented" tcp-connect port="$pa"
[ "$(cat "$d/got.a")" = "hostile" ]

# 3. More memory than the default policy's 512M.
sed 's/^memory = 512M$/memory = 1G/' "$policy_dir/default.policy" > \
    "$d/big.policy"
grep -qx "memory = 1G" "$d/big.policy"
start_nbdbroker -U "$d/m1.sock" --policy "$d/big.policy" \
    "$hostile_so" attack=alloc count=600
[ "$(nbd_read "$d/m1.sock" 0)" = "DATA allocated 600 MiB" ]
