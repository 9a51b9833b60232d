#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A [filesystem] path grants what the broker resolved when it loaded
# the policy, at every worker start.  Whoever may change the directory
# that holds a granted file can swap the file for a symbolic link (here
# to /) and provoke a restart: the next worker must not get rights on
# the link's target.  It fails to start instead, and the broker's log
# names the path, the policy and what changed.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
set -e
set -x

requires_sandbox

d=$(shared_tmpdir)
chmod 755 "$d"
mkdir "$d/images"
echo "the image" > "$d/images/disk.img"
chmod 644 "$d/images/disk.img"

cat > "$d/image.policy" <<EOP
format = nbdbroker-policy/1
[syscalls]
startup-allow = @file-read
kill = @escape @mount @module @debug @exec @subprocess @io-uring @keyring
[filesystem]
startup-read = \${image}
EOP

# 1. The image itself is readable at start-up, nothing else is.
start_nbdbroker -U "$d/ok.sock" --policy "$d/image.policy" "$hostile_so" \
    image="$d/images/disk.img" attack=open path="$d/images/disk.img" \
    when=get_ready
grep -q "hostile: open: succeeded: the image" "$d/ok.sock.log"

start_nbdbroker -U "$d/sock" --policy "$d/image.policy" "$hostile_so" \
    image="$d/images/disk.img" attack=open path=/etc/passwd when=get_ready
pid0=$(worker_pid)
grep -q "hostile: open: blocked: Permission denied$" "$d/sock.log"
[ "$(nbd_read "$d/sock" 0 4)" = "DATA " ]

# 2. The image becomes a link to /, and the worker dies.
rm "$d/images/disk.img"
ln -s / "$d/images/disk.img"
kill -9 "$pid0"
wait_for_log "$d/sock.log" "sandbox failed: landlock: $d/images/disk.img \\(policy $d/image.policy\\): .*symbolic link"
not grep -q "hostile: open: succeeded" "$d/sock.log"
# The broker did not start anything with the link's rights.
for _ in $(seq 20); do
	not grep -q "hostile: open: succeeded" "$d/sock.log"
	sleep 0.1
done
kill -0 "$nbdbroker_pid"

# 3. Another file in its place (a different inode) fails the same way.
rm "$d/images/disk.img"
echo "another image" > "$d/images/disk.img"
start_nbdbroker -U "$d/sock2" --policy "$d/image.policy" "$hostile_so" \
    image="$d/images/disk.img" attack=open path="$d/images/disk.img" \
    when=get_ready
pid0=$(worker_pid)
grep -q "hostile: open: succeeded: another image" "$d/sock2.log"
mv "$d/images/disk.img" "$d/images/old.img"
echo "a third image" > "$d/images/disk.img"
kill -9 "$pid0"
wait_for_log "$d/sock2.log" "sandbox failed: landlock: $d/images/disk.img \\(policy $d/image.policy\\): another file is in its place; .*inode"
not grep -q "hostile: open: succeeded: a third image" "$d/sock2.log"
