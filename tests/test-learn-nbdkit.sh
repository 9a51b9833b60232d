#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --learn-policy with nbdkit's file, split and sh plugins (Debian's .so
# files) and the scratch test plugin (a temporary file, threads): each
# learned policy serves the same workload under enforce, with real
# clients, and denies what the workload did not do.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/learn.sh"
set -e
set -x

requires_sandbox
requires nbdcopy --version
requires qemu-io --version
requires_nbdkit_plugin file split sh

# nbdkit's plugins open their files while serving, as the worker's
# user (nobody, when the tests run as root).
d=$(shared_tmpdir)
head -c 4M /dev/urandom > "$d/data.img"
truncate -s 8M "$d/disk.img"
chmod 0666 "$d/disk.img"

# file: the bare word is the magic key's value, ${file} in the policy.
copy='nbdcopy "'"$d"'/data.img" "$uri" && nbdcopy "$uri" "'"$d"'/back.img"'
learn_run "$d/file.policy" "$copy" nbdkit:file "$d/disk.img"
policy_has "$d/file.policy" read '${file}'
policy_has "$d/file.policy" write '${file}'
policy_has "$d/file.policy" allow openat
cmp -n 4194304 "$d/data.img" "$d/back.img"
rm "$d/back.img"
truncate -s 0 "$d/disk.img"
truncate -s 8M "$d/disk.img"
enforce_run "$d/file.policy" "$copy" nbdkit:file "$d/disk.img"
cmp -n 4194304 "$d/data.img" "$d/back.img"
# --check-policy shows what ${file} resolves to.
grep -F "$d/disk.img" "$d/file.policy.check"

# split: two files, both given as file=: literal paths (a parameter
# given twice is no single ${NAME}).
truncate -s 4M "$d/s1" "$d/s2"
chmod 0666 "$d/s1" "$d/s2"
# (Writes go to the first file only: nbdkit 1.32's split plugin, as
# Debian ships it, writes to later files at the export's offset, not
# the file's, learning or not.)
io='qemu-io -f raw -c "write -P 0x33 1M 1M" -c "read -P 0x33 1M 1M" \
    -c "read -P 0 5M 1M" "$uri" >"'"$d"'/io.out" &&
    ! grep -q "verification failed" "'"$d"'/io.out"'
learn_run "$d/split.policy" "$io" nbdkit:split "file=$d/s1" "file=$d/s2"
policy_has "$d/split.policy" read "$d/s1"
policy_has "$d/split.policy" read "$d/s2"
policy_has "$d/split.policy" write "$d/s1"
enforce_run "$d/split.policy" "$io" nbdkit:split "file=$d/s1" "file=$d/s2"
# A third file was not learned: Landlock refuses it.
truncate -s 4M "$d/s3"
chmod 0666 "$d/s3"
not enforce_run "$d/split.policy" "$io" nbdkit:split "file=$d/s1" \
    "file=$d/s3"
grep -q "Permission denied" "$d/split.policy.enforce.log"

# scratch: a configuration file read at start-up, a scratch file made
# (and unlinked) in dir= for each connection, a thread per write.
scratch_so=$(test_plugin nbdbroker-scratch-plugin)
mkdir "$d/scratch" "$d/scratch2"
chmod 0777 "$d/scratch" "$d/scratch2"
echo 8388608 > "$d/scratch.conf"
chmod 0644 "$d/scratch.conf"
rw='nbdsh -u "$uri" -c "
import threading
def w(i):
    h2 = nbd.NBD()
    h2.connect_uri(\"$uri\")
    h2.pwrite(bytes([i]) * 65536, i * 65536)
    assert h2.pread(65536, i * 65536) == bytes([i]) * 65536
ts = [threading.Thread(target=w, args=(i,)) for i in range(1, 5)]
[t.start() for t in ts]
[t.join() for t in ts]
assert h.get_size() == 8388608"'
learn_run "$d/scratch.policy" "$rw" "$scratch_so" "dir=$d/scratch" \
    "conf=$d/scratch.conf"
policy_has "$d/scratch.policy" read '${dir}'
policy_has "$d/scratch.policy" write '${dir}'
policy_has "$d/scratch.policy" startup-read '${conf}'
not policy_has "$d/scratch.policy" read '${conf}'
policy_has "$d/scratch.policy" allow unlink
# Threads are the worker's own need: not in the learned policy.
not policy_has "$d/scratch.policy" allow clone
not policy_has "$d/scratch.policy" allow @threads
enforce_run "$d/scratch.policy" "$rw" "$scratch_so" "dir=$d/scratch" \
    "conf=$d/scratch.conf"
# The policy follows ${dir}: another directory serves too...
enforce_run "$d/scratch.policy" "$rw" "$scratch_so" "dir=$d/scratch2" \
    "conf=$d/scratch.conf"
# ...and a bare word sets dir (the plugin's magic_config_key, which has
# no usual policy to say so: its worker's Ready does), so the learned
# policy names the key and grants ${dir}, not the literal directory.
learn_run "$d/scratch-bare.policy" "$rw" "$scratch_so" "$d/scratch" \
    "conf=$d/scratch.conf"
grep -qx 'magic-config-key = dir' "$d/scratch-bare.policy"
policy_has "$d/scratch-bare.policy" write '${dir}'
not policy_has "$d/scratch-bare.policy" write "$d/scratch"
enforce_run "$d/scratch-bare.policy" "$rw" "$scratch_so" "$d/scratch2" \
    "conf=$d/scratch.conf"

# sh: a script run for every callback (a process, programs run, each
# with the interpreter and dynamic loader the kernel runs too: exec
# grants), and a temporary directory made at start-up and removed at
# unload.
cat > "$d/disk.sh" <<'SH'
#!/bin/sh
case "$1" in
get_size) echo 1M ;;
pread) dd if=/dev/zero count="$3" iflag=count_bytes 2>/dev/null ;;
can_write) exit 0 ;;
pwrite) cat >/dev/null ;;
*) exit 2 ;;
esac
SH
chmod 0755 "$d/disk.sh"
sh_io='nbdsh -u "$uri" -c "
h.pwrite(b\"x\" * 4096, 0)
assert h.pread(4096, 0) == bytes(4096)"'
learn_run "$d/sh.policy" "$sh_io" nbdkit:sh "$d/disk.sh"
policy_has "$d/sh.policy" exec '${script}' ||
    policy_has "$d/sh.policy" exec "$d/disk.sh"
policy_has "$d/sh.policy" exec "$(realpath /bin/sh)"
policy_has "$d/sh.policy" allow execve
not grep -q "^kill = .*@exec" "$d/sh.policy"
enforce_run "$d/sh.policy" "$sh_io" nbdkit:sh "$d/disk.sh"
# The learned programs only: a script that runs another one fails.
sed -i 's|^get_size) echo 1M ;;|get_size) /usr/bin/id >\&2 \&\& echo 1M ;;|' \
    "$d/disk.sh"
not enforce_run "$d/sh.policy" "$sh_io" nbdkit:sh "$d/disk.sh"
grep -q "/usr/bin/id: Permission denied" "$d/sh.policy.enforce.log"
