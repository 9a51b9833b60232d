#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Files the worker cannot reach, opened by the broker on its behalf
# (broker/open-behalf.c): an image in a directory only root may enter,
# served by nbdkit's file plugin under its shipped policy while the
# worker runs as nobody; read and written back, and refused for
# writes under -r.  dir= over such a directory.  What must not open:
# a symlink in the granted directory to a file outside it, a path
# outside every grant (deny.c's explanation), a file created where no
# write grant allows it.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires_sandbox
requires_enforce
requires nbdinfo --version
requires qemu-io --version
requires_nbdkit_plugin file
if [ "$(id -u)" != 0 ]; then
	echo "$0: test skipped: the worker switches user only under root" >&2
	exit 77
fi

d=$(shared_tmpdir)
priv=$d/priv			# only root may enter (as /var/lib/libvirt)
mkdir -m 0700 "$priv"
pattern_file $((4 * 1024 * 1024)) "$priv/disk.img"
chmod 0600 "$priv/disk.img"
# The worker's user really cannot reach it.
not setpriv --reuid=nobody --regid=nogroup --clear-groups \
    cat "$priv/disk.img" >/dev/null 2>&1

# file=: read, write back, the writes are in the file.
start_nbdbroker -U "$d/file.sock" nbdkit:file file="$priv/disk.img"
uri=$(nbd_uri "$d/file.sock")
test "$(nbdinfo --size "$uri")" -eq $((4 * 1024 * 1024))
nbdcopy "$uri" "$d/copy.img"
cmp "$priv/disk.img" "$d/copy.img"
qemu-io -f raw -c "write -P 0x5a 1M 64k" -c "flush" "$uri"
test "$(od -An -tx1 -j $((1024 * 1024)) -N 2 "$priv/disk.img")" = " 5a 5a"
test "$(qemu-io -f raw -c "read -P 0x5a 1M 64k" "$uri" | grep -c 'read 65536/65536')" = 1
# Logged once per worker, at info: path, access, policy line.
grep -Eq "info: worker [0-9]+ \(plugin [^)]*file\): sandbox: opened $priv/disk.img \(read\+write\) on the worker's behalf: user nobody cannot reach it; path=$priv/disk.img access=read\+write policy=[^ ]*nbdkit-file.policy line=[0-9]+$" \
    "$d/file.sock.log"
nbdinfo --size "$uri" >/dev/null
[ "$(grep -c "sandbox: opened $priv/disk.img (read+write)" \
    "$d/file.sock.log")" = 1 ]
# The descriptor in the worker, while a client holds it open: the file,
# for read and write, close-on-exec as the plugin asked.
wpid=$(worker_pid)
/usr/bin/python3 - "$uri" "$wpid" "$priv/disk.img" <<'PY'
import nbd, os, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
fds = [f for f in os.listdir("/proc/%s/fd" % sys.argv[2])
       if os.readlink("/proc/%s/fd/%s" % (sys.argv[2], f)) == sys.argv[3]]
assert len(fds) == 1, fds
info = open("/proc/%s/fdinfo/%s" % (sys.argv[2], fds[0])).read()
flags = int(info.split("flags:")[1].split()[0], 8)
assert flags & os.O_ACCMODE == os.O_RDWR, oct(flags)
assert flags & 0o2000000, "no O_CLOEXEC: " + oct(flags)
h.shutdown()
PY

# -r: no write opens at all; writes fail, the file is unchanged.
start_nbdbroker -U "$d/ro.sock" -r nbdkit:file file="$priv/disk.img"
cp "$priv/disk.img" "$d/before.img"
/usr/bin/python3 - "$(nbd_uri "$d/ro.sock")" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.is_read_only()
assert h.pread(8, 8) == b"\0\0\0\0\0\0\0\x08"
try:
    h.pwrite(b"x", 0)
    raise SystemExit("write to a read-only export succeeded")
except nbd.Error as e:
    assert e.errno in ("EPERM", "EROFS"), e.errno
PY
cmp "$priv/disk.img" "$d/before.img"
grep -Eq "sandbox: opened $priv/disk.img \(read\) on the worker's behalf" \
    "$d/ro.sock.log"
not grep -q "sandbox: opened $priv/disk.img (read+write)" "$d/ro.sock.log"

# A filter stacked, its policy merged into the plugin's: the plugin's
# grant still opens the image on the worker's behalf (a merge once
# dropped every rule's line, and with it every such open), and the log
# names the file and line of the grant, not the merged pair.
if [ -r "$NBDKIT_FILTERDIR/nbdkit-cow-filter.so" ]; then
	start_nbdbroker -U "$d/cow.sock" --filter=cow \
	    nbdkit:file file="$priv/disk.img"
	nbdcopy "$(nbd_uri "$d/cow.sock")" "$d/cow-copy.img"
	cmp "$priv/disk.img" "$d/cow-copy.img"
	grep -Eq "sandbox: opened $priv/disk.img \(read\) on the worker's behalf: user nobody cannot reach it; path=$priv/disk.img access=read policy=[^ ]*/nbdkit-file.policy line=[0-9]+\$" \
	    "$d/cow.sock.log"
fi

# dir=: a root-only directory of images, one export per file; a
# symlink in it to a file outside it does not open.
mkdir -m 0700 "$priv/images"
truncate -s 1M "$priv/images/a.img"
printf 'secret' > "$priv/secret.img"
truncate -s 2M "$priv/secret.img"
ln -s "$priv/secret.img" "$priv/images/evil.img"
start_nbdbroker -U "$d/dir.sock" nbdkit:file dir="$priv/images"
test "$(nbdinfo --size "$(nbd_uri "$d/dir.sock" a.img)")" -eq $((1024 * 1024))
qemu-io -f raw -c "write -P 0x11 0 4k" "$(nbd_uri "$d/dir.sock" a.img)"
test "$(od -An -tx1 -N 2 "$priv/images/a.img")" = " 11 11"
not nbdinfo --size "$(nbd_uri "$d/dir.sock" evil.img)"
grep -Eq "warning: worker [0-9]+ \(plugin [^)]*file\): sandbox: serving openat $priv/images/evil.img \(read\+write\): not opened on the worker's behalf: a symbolic link" \
    "$d/dir.sock.log"
not grep -q "sandbox: opened $priv/images/evil.img" "$d/dir.sock.log"
# Nor a FIFO (which would also block the broker).
mkfifo -m 0600 "$priv/images/fifo"
not timeout 20 nbdinfo --size "$(nbd_uri "$d/dir.sock" fifo)"
grep -Eq "sandbox: serving openat $priv/images/fifo \(read\+write\): not opened on the worker's behalf: not a regular file, a directory or a device" \
    "$d/dir.sock.log"
not grep -q "sandbox: opened $priv/secret.img" "$d/dir.sock.log"
test "$(head -c 6 "$priv/secret.img")" = secret

# A path outside every grant: not opened; deny.c says which setting.
sed "s|\${file?} \${dir?}|$priv/images/a.img|" \
    "$policy_dir/nbdkit-file.policy" > "$d/other.policy"
grep -q "^read = $priv/images/a.img\$" "$d/other.policy"
start_nbdbroker -U "$d/out.sock" --policy "$d/other.policy" \
    nbdkit:file file="$priv/disk.img"
not nbdinfo --size "$(nbd_uri "$d/out.sock")"
grep -Eq "sandbox: serving open(at)? $priv/disk.img \(read\+write\) is outside policy $d/other.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] write;" \
    "$d/out.sock.log"
not grep -q "sandbox: opened $priv/disk.img" "$d/out.sock.log"

# open-on-behalf = no: the same grant, but the worker's user's own
# permissions are final: no capabilities at start-up, no open on its
# behalf; the broker says so before the plugin fails.  A file that
# user can reach still serves, opened by the worker itself.
sed 's|^\[filesystem\]$|&\nopen-on-behalf = no|' \
    "$policy_dir/nbdkit-file.policy" > "$d/nobehalf.policy"
grep -q "^open-on-behalf = no\$" "$d/nobehalf.policy"
set +e
timeout $((60 * slow)) "$NBDBROKER" -f -U "$d/nb.sock" \
    --policy "$d/nobehalf.policy" nbdkit:file file="$priv/disk.img" \
    2> "$d/nb.log"
status=$?
set -e
cat "$d/nb.log"
[ "$status" -eq 1 ]
grep -Eq "warning: sandbox policy $d/nobehalf.policy: user nobody cannot reach $priv/disk.img \(line [0-9]+\), and open-on-behalf = no \(line [0-9]+\) keeps the broker from opening it for the worker" \
    "$d/nb.log"
grep -q "realpath: $priv/disk.img: Permission denied" "$d/nb.log"
not grep -q "on the worker's behalf" "$d/nb.log"
pub=$d/pub
mkdir -m 0755 "$pub"
cp "$priv/disk.img" "$pub/disk.img"
chmod 0666 "$pub/disk.img"
start_nbdbroker -U "$d/nbp.sock" --policy "$d/nobehalf.policy" \
    nbdkit:file file="$pub/disk.img"
nbdcopy "$(nbd_uri "$d/nbp.sock")" "$d/nbp-copy.img"
cmp "$pub/disk.img" "$d/nbp-copy.img"
not grep -q "cannot reach\|on the worker's behalf" "$d/nbp.sock.log"
out=$("$NBDBROKER" --check-policy "$d/nobehalf.policy" \
    nbdkit:file file="$pub/disk.img")
grep -Eq "^  \(open-on-behalf = no, line [0-9]+: the broker opens nothing the worker's user cannot reach\)\$" \
    <<< "$out"
# Merged with a filter's policy: the file that says it is named, and
# the start-up warning still comes (a merge once hid every rule from
# it).
if [ -r "$NBDKIT_FILTERDIR/nbdkit-cow-filter.so" ]; then
	out=$("$NBDBROKER" --check-policy "$d/nobehalf.policy" --filter=cow \
	    nbdkit:file file="$pub/disk.img")
	grep -Eq "^  \(open-on-behalf = no, $d/nobehalf.policy line [0-9]+: the broker opens" \
	    <<< "$out"
	set +e
	timeout $((60 * slow)) "$NBDBROKER" -f -U "$d/nbf.sock" \
	    --policy "$d/nobehalf.policy" --filter=cow \
	    nbdkit:file file="$priv/disk.img" 2> "$d/nbf.log"
	status=$?
	set -e
	cat "$d/nbf.log"
	[ "$status" -eq 1 ]
	grep -Eq "warning: sandbox policy $d/nobehalf.policy \+ [^ ]*nbdkit-cow-filter.policy: user nobody cannot reach $priv/disk.img \($d/nobehalf.policy line [0-9]+\), and open-on-behalf = no \($d/nobehalf.policy line [0-9]+\) keeps the broker" \
	    "$d/nbf.log"
fi

# O_CREAT: only under a write grant on a directory.  The hostile test
# plugin creates path= on a client's read.
mkdir -m 0700 "$priv/ro" "$priv/rw"
cat > "$d/create.policy" <<P
format = nbdbroker-policy/1
[syscalls]
default = errno ENOSYS
allow = @file-read @file-io @file-write
[filesystem]
landlock = required
read = $priv/ro
write = $priv/rw
P
start_nbdbroker -U "$d/cro.sock" --policy "$d/create.policy" \
    "$hostile_so" attack=write path="$priv/ro/new.img"
out=$(nbd_read "$d/cro.sock" 0)
[ "${out%% *}" = ERROR ]
grep -q "hostile: write: blocked: Permission denied" "$d/cro.sock.log"
test ! -e "$priv/ro/new.img"
grep -Eq "sandbox: serving openat $priv/ro/new.img \(write\) is outside policy $d/create.policy's \[filesystem\] grants" \
    "$d/cro.sock.log"
start_nbdbroker -U "$d/crw.sock" --policy "$d/create.policy" \
    "$hostile_so" attack=write path="$priv/rw/new.img"
[ "$(nbd_read "$d/crw.sock" 0)" = "DATA wrote $priv/rw/new.img" ]
test "$(cat "$priv/rw/new.img")" = hostile
# Made for the worker: its user's file, with the worker's umask.
test "$(stat -c %U "$priv/rw/new.img")" = nobody
grep -Eq "sandbox: opened $priv/rw/new.img \(write\) on the worker's behalf" \
    "$d/crw.sock.log"

# A start-up grant is not opened on the worker's behalf while serving,
# whatever the policy's default: under default = allow the broker
# still learns where start-up ends (the stage mark).  The hostile
# plugin opens the file on a client's read.
cat > "$d/startup.policy" <<P
format = nbdbroker-policy/1
[syscalls]
default = allow
allow = @file-read
kill = @escape @mount @module @debug @io-uring @keyring
[filesystem]
landlock = required
startup-read = $priv/disk.img
P
start_nbdbroker -U "$d/st.sock" --policy "$d/startup.policy" \
    "$hostile_so" attack=open path="$priv/disk.img" count=8
out=$(nbd_read "$d/st.sock" 0)
[ "${out%% *}" = ERROR ]
grep -q "hostile: open: blocked: Permission denied" "$d/st.sock.log"
not grep -q "sandbox: opened $priv/disk.img" "$d/st.sock.log"
grep -Eq "sandbox: serving openat $priv/disk.img \(read\) is outside policy $d/startup.policy's \[filesystem\] grants.*stage=serving" \
    "$d/st.sock.log"

# openat2's resolve flags: honoured as the kernel would, or refused
# with a line that says why.  The hostile plugin, on a client's read,
# opens path= with openat2 (dirfd: at= opened O_PATH, which needs no
# more than search rights on the way) and returns what it read.
rs=$d/rs
mkdir -m 0711 "$rs" "$rs/sub"
printf 'resolved' > "$rs/sub/f.img"
chmod 0600 "$rs/sub/f.img"
ln -s sub "$rs/lnk"
not setpriv --reuid=nobody --regid=nogroup --clear-groups \
    cat "$rs/sub/f.img" >/dev/null 2>&1
cat > "$d/resolve.policy" <<P
format = nbdbroker-policy/1
[syscalls]
default = errno ENOSYS
allow = @file-read openat2
[filesystem]
landlock = required
read = $rs
P
n=0
# openat2_read RESOLVE PATH [AT]: what a client reads into $out, the
# server's log is $log.  (Not in $(...): the server would hold it.)
openat2_read() {
	n=$((n + 1))
	log=$d/rs$n.sock.log
	start_nbdbroker -U "$d/rs$n.sock" --policy "$d/resolve.policy" \
	    "$hostile_so" attack=openat2 resolve="$1" path="$2" ${3:+at="$3"}
	out=$(nbd_read "$d/rs$n.sock" 0)
}
# Honoured: no symlink on the way; beneath the dirfd, from a dirfd
# above the grant and from one inside it; a symlink inside the grant
# without no-symlinks.
openat2_read no-symlinks "$rs/sub/f.img"
[ "$out" = "DATA resolved" ]
grep -q "sandbox: opened $rs/sub/f.img (read) on the worker's behalf" "$log"
openat2_read beneath sub/f.img "$rs"
[ "$out" = "DATA resolved" ]
openat2_read beneath,no-symlinks f.img "$rs/sub"
[ "$out" = "DATA resolved" ]
grep -q "sandbox: opened $rs/sub/f.img (read) on the worker's behalf" "$log"
openat2_read no-magiclinks "$rs/lnk/f.img"
if [ -z "${NBDBROKER_VALGRIND_LOGS:-}" ]; then
	[ "$out" = "DATA resolved" ]
else
	# valgrind knows no openat2: the broker's own walk, by hand,
	# follows no symbolic link at all.
	[ "${out%% *}" = ERROR ]
	grep -q "not opened on the worker's behalf: a symbolic link" "$log"
fi
# The worker's flags refuse it: the kernel's answer, nothing opened.
openat2_read no-symlinks "$rs/lnk/f.img"
[ "${out%% *}" = ERROR ]
grep -q "hostile: openat2: blocked: Too many levels of symbolic links" "$log"
not grep -q "sandbox: opened" "$log"
openat2_read beneath "$rs/sub/f.img" "$rs"
[ "${out%% *}" = ERROR ]
grep -q "hostile: openat2: blocked: Invalid cross-device link" "$log"
not grep -q "sandbox: opened" "$log"
# no-xdev: from a dirfd in the grant, no mount on the way; from /,
# one if the grant is not on /'s mount.
openat2_read no-xdev sub/f.img "$rs"
[ "$out" = "DATA resolved" ]
openat2_read no-xdev "$rs/sub/f.img"
if [ "$(stat -c %m "$rs")" = / ]; then
	[ "$out" = "DATA resolved" ]
else
	[ "${out%% *}" = ERROR ]
	grep -q "hostile: openat2: blocked: Invalid cross-device link" "$log"
	not grep -q "sandbox: opened" "$log"
fi
# A mount on the way: a tmpfs in the grant, where mounting works.
mkdir -m 0711 "$rs/m"
if mount -t tmpfs -o size=1m,mode=0711 nbdbroker-test "$rs/m"; then
	cleanup_fn umount "$rs/m"
	printf 'mounted' > "$rs/m/f.img"
	chmod 0600 "$rs/m/f.img"
	openat2_read no-magiclinks m/f.img "$rs"
	[ "$out" = "DATA mounted" ]
	openat2_read no-xdev m/f.img "$rs"
	[ "${out%% *}" = ERROR ]
	grep -q "hostile: openat2: blocked: Invalid cross-device link" "$log"
	not grep -q "sandbox: opened" "$log"
	openat2_read no-xdev "$rs/m/f.img"
	[ "${out%% *}" = ERROR ]
	grep -q "hostile: openat2: blocked: Invalid cross-device link" "$log"
	not grep -q "sandbox: opened" "$log"
else
	skip_part "openat2 with RESOLVE_NO_XDEV across a mount: cannot mount"
fi
# Not honoured: refused, saying why (the worker's user cannot open it).
openat2_read in-root sub/f.img "$rs"
[ "${out%% *}" = ERROR ]
grep -q "sandbox: serving openat2 $rs/sub/f.img (read): not opened on the worker's behalf: openat2 with RESOLVE_IN_ROOT, which the broker does not honour; path=$rs/sub/f.img" \
    "$log"
openat2_read beneath ../sub/f.img "$rs/sub"
[ "${out%% *}" = ERROR ]
grep -q "sandbox: serving openat2 $rs/sub/f.img (read): not opened on the worker's behalf: \"..\" in a path opened with openat2's resolve flags" \
    "$log"
not grep -q "sandbox: opened" "$log"
