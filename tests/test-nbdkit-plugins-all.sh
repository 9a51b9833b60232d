#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every local plugin of Debian's nbdkit 1.32 (and the nbd and curl
# plugins, the network plugins with a shipped policy), unmodified,
# under the policies nbdbroker ships (policy/, not tests/policies):
# the same command line is served by nbdkit and by nbdbroker, and what
# a client sees must be the same: size, flags, block sizes, the bytes
# read, a write read back, zeroes, flush, block status
# (filter-probe.py); for the plugins that make a new filesystem each
# time (tmpdisk, linuxdisk, ondemand), whose bytes differ by UUID and
# time, the filesystem type, a file read back out of it and a write
# read back; for iso, whose image holds the time it was made, the
# files read back out of the image.  Inputs live where the workers'
# user (nobody, as root) can reach them.  Each plugin gets one line,
# PASS, FAIL (with what differs) or SKIP (naming the missing tool);
# the network plugins without a policy are listed with why.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdkit --version
requires nbdcopy --version
requires_nbd_python
requires_nbdkit_plugin example1
probe=$testlib/filter-probe.py
# The shipped policies only: tests/policies has test policies for the
# sh, eval and cc plugins that would otherwise come first.
export NBDBROKER_POLICY_DIR=$abs_top_srcdir/policy
export PATH=$PATH:/usr/sbin:/sbin

d=$(shared_tmpdir)
mkdir "$d/src" "$d/run"
src=$d/src
# A 4M disk: 1M of random bytes, a 1M hole, 1M random, a 1M hole.
head -c 1M /dev/urandom > "$src/disk.img"
truncate -s 2M "$src/disk.img"
head -c 1M /dev/urandom >> "$src/disk.img"
truncate -s 4M "$src/disk.img"
# Two more files for split and partitioning with several file= values
# (the policy grants every value of a repeated parameter): 1M and 2M of
# random bytes.
head -c 1M /dev/urandom > "$src/part2.img"
head -c 2M /dev/urandom > "$src/part3.img"
mkdir "$src/dir" "$src/od"
head -c 100000 /dev/urandom > "$src/dir/random.bin"
echo "a file in a directory" > "$src/dir/hello.txt"

# A script plugin serving @W@/disk.img with dd (sh and eval).  The
# image is also given as file=, which the shipped policies grant: a
# script's data is its own business (config takes and ignores it).
cat > "$src/disk.sh" <<'SH'
#!/bin/sh
f=$(dirname "$0")/disk.img
case "$1" in
config) exit 0 ;;
get_size) stat -c %s "$f" ;;
pread) dd if="$f" skip="$4" count="$3" iflag=skip_bytes,count_bytes \
    2>/dev/null ;;
pwrite) dd of="$f" seek="$4" oflag=seek_bytes conv=notrunc 2>/dev/null ;;
can_write|can_flush) exit 0 ;;
flush) sync ;;
*) exit 2 ;;
esac
SH
chmod +x "$src/disk.sh"

# A RAM disk of 1M in each embedded language: every 4K block starts
# with the language's tag and the block's number, so reads show data.
cat > "$src/disk.py" <<'PY'
import nbdkit
API_VERSION = 2
disk = bytearray(1 << 20)
for i in range(0, len(disk), 4096):
    disk[i:i + 5] = b"py%03d" % (i // 4096)
def open(readonly):
    return 1
def get_size(h):
    return len(disk)
def pread(h, buf, offset, flags):
    buf[:] = disk[offset:offset + len(buf)]
def pwrite(h, buf, offset, flags):
    disk[offset:offset + len(buf)] = buf
PY
cat > "$src/disk.rb" <<'RB'
$disk = "\0".b * (1 << 20)
(0...256).each { |i| $disk[i * 4096, 5] = "rb%03d" % i }
def open(readonly)
  1
end
def get_size(h)
  $disk.bytesize
end
def pread(h, count, offset)
  $disk[offset, count]
end
def pwrite(h, buf, offset)
  $disk[offset, buf.bytesize] = buf
end
RB
cat > "$src/disk.lua" <<'LUA'
local blocks = {}
function open(readonly)
  return 1
end
function get_size(h)
  return 1048576
end
local function block(i)
  return blocks[i] or string.format("lu%03d", i) .. string.rep("\0", 4091)
end
function pread(h, count, offset)
  local out, pos = {}, offset
  while pos < offset + count do
    local i = pos // 4096
    local s = pos - i * 4096
    local n = math.min(4096 - s, offset + count - pos)
    out[#out + 1] = string.sub(block(i), s + 1, s + n)
    pos = pos + n
  end
  return table.concat(out)
end
function pwrite(h, buf, offset)
  local pos, k = offset, 1
  while k <= #buf do
    local i = pos // 4096
    local s = pos - i * 4096
    local n = math.min(4096 - s, #buf - k + 1)
    local b = block(i)
    blocks[i] = string.sub(b, 1, s) .. string.sub(buf, k, k + n - 1) ..
        string.sub(b, s + n + 1)
    pos, k = pos + n, k + n
  end
end
LUA
cat > "$src/disk.tcl" <<'TCL'
set size 1048576
set disk [string repeat "\0" $size]
for {set i 0} {$i < 256} {incr i} {
    set o [expr {$i * 4096}]
    set disk [string replace $disk $o [expr {$o + 4}] [format "tc%03d" $i]]
}
proc plugin_open {readonly} {
    return 1
}
proc get_size {h} {
    global size
    return $size
}
proc pread {h count offset} {
    global disk
    return [string range $disk $offset [expr {$offset + $count - 1}]]
}
proc pwrite {h buf offset} {
    global disk
    set e [expr {$offset + [string length $buf] - 1}]
    set disk [string replace $disk $offset $e $buf]
}
TCL
cat > "$src/disk.c" <<'C'
#include <stdint.h>
#include <string.h>
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>
#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS
static char disk[1 << 20];
static int cc_ready(void) { memcpy(disk, "cc000", 5); return 0; }
static void *cc_open(int ro) { return NBDKIT_HANDLE_NOT_NEEDED; }
static int64_t cc_get_size(void *h) { return sizeof(disk); }
static int cc_pread(void *h, void *buf, uint32_t n, uint64_t off,
    uint32_t flags) { memcpy(buf, disk + off, n); return 0; }
static int cc_pwrite(void *h, const void *buf, uint32_t n, uint64_t off,
    uint32_t flags) { memcpy(disk + off, buf, n); return 0; }
static struct nbdkit_plugin plugin = { .name = "ccdisk",
    .get_ready = cc_ready, .open = cc_open, .get_size = cc_get_size,
    .pread = cc_pread, .pwrite = cc_pwrite };
NBDKIT_REGISTER_PLUGIN(plugin)
C
chmod -R a+rwX "$src"

passed=()
failed=()
skipped=()
result() { # PASS|FAIL|SKIP PLUGIN [WHY]
	echo "$0: $1: $2${3:+: $3}" >&2
	case $1 in
	PASS) passed+=("$2") ;;
	FAIL) failed+=("$2: $3") ;;
	SKIP) skipped+=("$2: $3") ;;
	esac
}
# What differs between two outputs: the JSON keys, or the text.
differ() { # FILE1 FILE2
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (open(f).read() for f in sys.argv[1:])
try:
    a, b = json.loads(a), json.loads(b)
    print("; ".join("%s: nbdkit %s, nbdbroker %s" % (k, a.get(k), b.get(k))
                    for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)))
except ValueError:
    print("nbdkit %r, nbdbroker %r" % (a[:200], b[:200]))
PY
}
# shipped_policy W PLUGIN: nbdbroker's log in W says it used PLUGIN's
# shipped policy (not default.policy, nor a test's).
shipped_policy() {
	local want="sandbox policy $NBDBROKER_POLICY_DIR/nbdkit-$2.policy"
	grep -qF "$want (enforce)" "$1/log"
}
record() { # NAME W_NBDKIT W_BROKER
	local plugin=${1%%~*}
	if [ ! -s "$2/out" ] || grep -q 'did not start\|failed' "$2/out"; then
		result FAIL "$1" "nbdkit itself did not serve it: \
$(tr '\n' ' ' < "$2/out") $(grep -E 'error' "$2/log" | head -2 | tr '\n' ' ')"
	elif ! shipped_policy "$3" "$plugin"; then
		result FAIL "$1" "nbdbroker did not use the shipped policy: \
$(grep -E 'sandbox policy|error' "$3/log" | head -2 | tr '\n' ' ')"
	elif cmp -s "$2/out" "$3/out"; then
		result PASS "$1"
	else
		result FAIL "$1" "$(differ "$2/out" "$3/out") (nbdbroker said: \
$(grep -E 'error|warning' "$3/log" 2>/dev/null | head -2 | tr '\n' ' '))"
	fi
}

# serve_both NAME CHECK ARGS...: serve nbdkit's plugin ARGS (@W@ in
# any argument is the server's copy of the inputs; ARGS[0] the plugin,
# nbdkit:ARGS[0] under nbdbroker) under each server, run CHECK W (which
# prints what the client saw) and compare the two.
serve_both() {
	local name=$1 check=$2 srv w plugin
	local -a args
	shift 2
	for srv in nbdkit nbdbroker; do
		w=$(cmp_workdir "$name" $srv)
		plugin=$1
		[ $srv = nbdbroker ] && plugin=nbdkit:$1
		args=("${@:2}")
		if cmp_start $srv "$w" "$plugin" "${args[@]//@W@/$w}"; then
			"$check" "$w" > "$w/out" 2>>"$w/check.log" ||
			    echo "check failed" >> "$w/out"
			cmp_stop
		else
			echo "did not start" > "$w/out"
		fi
	done
	record "$name" "$d/run/$name.nbdkit" "$d/run/$name.nbdbroker"
}
probe_opts=""
check_probe() { # W
	# shellcheck disable=SC2086
	/usr/bin/python3 "$probe" "$(nbd_uri "$1/sock")" $probe_opts
}
compare() { # NAME PLUGIN ARGS...
	serve_both "$1" check_probe "${@:2}"
}
# has_plugin NAME [TOOL...]: nbdkit's plugin NAME and every TOOL are
# here; if not, a SKIP line naming what is missing.
has_plugin() {
	local name=$1 t
	shift
	if [ ! -r "$NBDKIT_PLUGINDIR/nbdkit-$name-plugin.so" ]; then
		result SKIP "$name" "nbdkit-$name-plugin.so is not installed"
		return 1
	fi
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			result SKIP "$name" "$t is not installed"
			return 1
		fi
	done
}

compare example1 example1
compare example2 example2 file=@W@/disk.img
compare example3 example3 size=4M
probe_opts="--export hello"
compare info info mode=exportname
probe_opts=""
compare partitioning partitioning @W@/disk.img
compare partitioning~3-files partitioning @W@/disk.img @W@/part2.img \
    file=@W@/part3.img
# floppy is read-only, and its FAT holds the files' times (ctime too,
# which a copy changes): both servers serve the same directory.
compare floppy floppy "$src/dir"
# nbdkit 1.32's split plugin crashes (SIGSEGV) on block status, under
# nbdkit too: compared without it.
probe_opts="--no-extents"
compare split split @W@/disk.img
compare split~3-files split @W@/disk.img file=@W@/part2.img @W@/part3.img
probe_opts=""
compare sh sh @W@/disk.sh file=@W@/disk.img
compare eval eval config='exit 0' file=@W@/disk.img \
    get_size='stat -c %s @W@/disk.img' \
    pread='dd if=@W@/disk.img skip=$4 count=$3 iflag=skip_bytes,count_bytes 2>/dev/null' \
    pwrite='dd of=@W@/disk.img seek=$4 oflag=seek_bytes conv=notrunc 2>/dev/null' \
    can_write='exit 0'
if has_plugin cc cc && [ -r /usr/include/nbdkit-plugin.h ]; then
	compare cc cc @W@/disk.c
elif [ -r "$NBDKIT_PLUGINDIR/nbdkit-cc-plugin.so" ] &&
    command -v cc >/dev/null; then
	result SKIP cc "<nbdkit-plugin.h> (nbdkit-plugin-dev) is not installed"
fi
has_plugin python && compare python python @W@/disk.py
has_plugin lua && compare lua lua @W@/disk.lua
has_plugin tcl && compare tcl tcl @W@/disk.tcl
# nbdkit's example4 is a Perl script, served by the perl plugin.
has_plugin perl && compare perl~example4 perl \
    "$NBDKIT_PLUGINDIR/nbdkit-example4-plugin" size=4194304

# ruby: nbdkit 1.32 itself crashes in Ruby's VM at the first request
# (its callbacks run on a thread Ruby did not start), so nbdbroker is
# checked against what the script serves: "rbNNN" at each 4K block,
# and a write read back.
check_ruby() { # W
	/usr/bin/python3 - "$(nbd_uri "$1/sock")" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
want = bytearray(1 << 20)
for i in range(256):
    want[i * 4096:i * 4096 + 5] = b"rb%03d" % i
print("size", h.get_size(), "data", h.pread(1 << 20, 0) == want)
h.pwrite(b"\xa5" * 4096, 8192)
print("write", h.pread(4096, 8192) == b"\xa5" * 4096)
PY
}
if has_plugin ruby; then
	w=$(cmp_workdir ruby nbdbroker)
	if cmp_start nbdbroker "$w" nbdkit:ruby "$w/disk.rb"; then
		check_ruby "$w" > "$w/out" 2>>"$w/check.log" || true
		cmp_stop
	fi
	if [ "$(cat "$w/out" 2>/dev/null)" = "size 1048576 data True
write True" ] && shipped_policy "$w" ruby; then
		result PASS ruby "(nbdbroker only: nbdkit 1.32 crashes)"
	else
		result FAIL ruby "$(tr '\n' ' ' < "$w/out" 2>/dev/null)" \
		    "(nbdbroker said: $(grep -E 'error' "$w/log" | head -2))"
	fi
fi

# Plugins that make a filesystem: its type, a file read back out of it
# (linuxdisk) and a write read back.
check_fs() { # W [EXPORT]
	local uri
	uri=$(nbd_uri "$1/sock" "${2:-}")
	nbdinfo --size "$uri"
	nbdcopy "$uri" "$1/copy.img"
	blkid -p -s TYPE -o value "$1/copy.img"
	if [ -n "${fs_file:-}" ]; then
		debugfs -R "cat /$fs_file" "$1/copy.img" 2>/dev/null | md5sum
	fi
	rm -f "$1/copy.img"
	/usr/bin/python3 - "$uri" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
if h.is_read_only():
    print("read-only")
else:
    off = h.get_size() - 4096
    h.pwrite(b"\xa5" * 4096, off)
    print("write", h.pread(4096, off) == b"\xa5" * 4096)
PY
}
if has_plugin tmpdisk mkfs.ext4; then
	fs_file="" serve_both tmpdisk check_fs tmpdisk size=16M
fi
if has_plugin linuxdisk mke2fs debugfs; then
	fs_file=random.bin serve_both linuxdisk check_fs linuxdisk @W@/dir
fi
# ondemand: a disk per export name, kept in dir=: a second client of
# the same export sees the first one's write.
check_ondemand() { # W
	check_fs "$1" disk1
	/usr/bin/python3 - "$(nbd_uri "$1/sock" disk1)" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
print("kept", h.pread(4096, h.get_size() - 4096) == b"\xa5" * 4096)
PY
	ls "$1/od"
}
if has_plugin ondemand mkfs.ext4; then
	fs_file="" serve_both ondemand check_ondemand ondemand dir=@W@/od \
	    size=16M
fi

# iso: an ISO 9660 image of one directory (and of two merged), made
# by xorriso at start-up.  Two runs of xorriso write different time
# stamps, so what is compared is what a client gets out of it: the
# size, a read-only export that refuses a write, the volume id, and
# the files read back out of the image (xorriso's own extraction, no
# mount): names (Rock Ridge's, longer than ISO 9660 allows), a
# symbolic link, and each file's bytes, which must also be the
# source's (iso_dirs: the directories under W the image was made of).
tree_list() { # DIR: each entry, with its bytes' MD5 or link target
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then
			echo "$f -> $(readlink "$f")"
		elif [ -d "$f" ]; then
			echo "$f/"
		else
			echo "$f $(md5sum < "$f" | cut -d' ' -f1)"
		fi
	done)
}
check_iso() { # W
	local uri dir
	uri=$(nbd_uri "$1/sock")
	/usr/bin/python3 - "$uri" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
try:
    h.pwrite(b"x" * 512, 0)
    refused = False
except nbd.Error:
    refused = True
print("size", h.get_size(), "read-only", h.is_read_only(),
      "write refused", refused)
PY
	nbdcopy "$uri" "$1/copy.iso"
	rm -rf "$1/x" "$1/want"
	xorriso -osirrox on -indev "$1/copy.iso" -pvd_info -extract / "$1/x" \
	    2>"$1/xorriso.log" | grep -E '^Volume Id +:'
	chmod -R u+w "$1/x"
	mkdir "$1/want"
	for dir in $iso_dirs; do
		cp -a "$1/$dir/." "$1/want/"
	done
	tree_list "$1/x" > "$1/got.list"
	tree_list "$1/want" > "$1/want.list"
	cat "$1/got.list"
	rm -rf "$1/x" "$1/want" "$1/copy.iso"
	if ! cmp -s "$1/got.list" "$1/want.list" ||
	    [ ! -s "$1/want.list" ]; then
		echo "the image's files are not the source's"
		return 1
	fi
}
if has_plugin iso xorriso; then
	# Beside hello.txt and random.bin: a subdirectory, a symbolic
	# link and a name longer than ISO 9660's.
	mkdir -p "$src/iso/sub" "$src/iso2"
	cp "$src/dir/hello.txt" "$src/dir/random.bin" "$src/iso/"
	head -c 300000 /dev/urandom > "$src/iso/sub/a long name, with spaces.bin"
	ln -s hello.txt "$src/iso/link"
	echo "from the second directory" > "$src/iso2/second.txt"
	chmod -R a+rX "$src/iso" "$src/iso2"
	iso_dirs=iso serve_both iso check_iso iso dir=@W@/iso \
	    params='-JrT -V nbdbroker'
	iso_dirs="iso iso2" serve_both iso~2-dirs check_iso iso @W@/iso \
	    dir=@W@/iso2 params=-JrT
	# What an admin reads when the policy lacks something: the
	# dynamic loader's exec right (without it Landlock refuses to run
	# sh, and xorriso's "command failed" says nothing more), or the
	# directory.  Each: start-up fails, and the log names the path,
	# the setting to add it to and the policy's line.
	w=$d/run/iso-deny
	mkdir "$w"
	pol=$NBDBROKER_POLICY_DIR/nbdkit-iso.policy
	sed 's| /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2$||' "$pol" \
	    > "$w/noloader.policy"
	sed 's|^startup-read = ${dir} |startup-read = |' "$pol" \
	    > "$w/nodir.policy"
	# refused NAME WHAT ERE: start-up under $w/NAME.policy fails, and
	# its log has a line matching ERE; else prints why not.
	refused() {
		if "$NBDBROKER" --policy "$w/$1.policy" -U - nbdkit:iso \
		    "$src/iso" --run true 2>"$w/$1.log"; then
			echo "served without $2"
		elif ! grep -Eq "$3" "$w/$1.log"; then
			echo "no line names $2: $(grep error "$w/$1.log" |
			    tail -2 | tr '\n' ' ')"
		fi
	}
	why=$(refused noloader "the loader's exec right" "sandbox: startup execve /[^ ]*: its interpreter /[^ ]*ld-linux[^ ]* \(exec\) is outside policy $w/noloader.policy's \[filesystem\] grants: .* add the interpreter to \[filesystem\] startup-exec; .* key=startup-exec line=[0-9]+")
	[ -n "$why" ] || why=$(refused nodir "its directory" "sandbox: startup openat $src/iso \(read\) is outside policy $w/nodir.policy's \[filesystem\] grants: Landlock denies it; add it to \[filesystem\] startup-read; .* key=startup-read line=")
	if [ -z "$why" ]; then
		result PASS iso~denied
	else
		result FAIL iso~denied "$why"
	fi
fi
# cdi: pulls a container image with podman and serves one layer.  No
# policy is shipped (README, "Coming from nbdkit"): rootless podman as
# the worker's user needs a home, its own image store, a user
# namespace and mounts in it; as root, mounts: the sandbox would have
# to allow nearly everything.  So, offline, from an image made here
# (podman import of a tar of disk/disk.img, pulled by nbdkit's script
# as containers-storage:NAME): what nbdkit serves, and that nbdbroker,
# under the default policy, refuses at start-up saying what the
# sandbox denied.  The line stays SKIP (nothing served to compare),
# FAIL only if nbdbroker's refusal is not that.
if has_plugin cdi podman jq; then
	img=localhost/nbdbroker-test-cdi-$$:latest
	mkdir "$d/cdi" "$d/cdi/disk" "$d/cdi/tmp"
	head -c 1M /dev/urandom > "$d/cdi/disk/disk.img"
	tar -C "$d/cdi" -cf "$d/cdi/layer.tar" disk
	if ! podman import "$d/cdi/layer.tar" "$img" >"$d/cdi/import.log" 2>&1
	then
		result SKIP cdi "podman cannot make a local image here: \
$(tail -1 "$d/cdi/import.log")"
	else
		cleanup_fn podman rmi -f "$img"
		# nbdkit's script leaves its copy of the image in TMPDIR
		# when it fails.
		if TMPDIR=$d/cdi/tmp nbdkit -U - cdi "containers-storage:$img" \
		    --run 'nbdinfo --size "$uri"' >"$d/cdi/nbdkit.out" \
		    2>"$d/cdi/nbdkit.log"; then
			why="nbdkit serves it ($(cat "$d/cdi/nbdkit.out") bytes)"
		else
			why="nbdkit 1.32 itself fails here: \
$(grep -v '^\(Copying\|Writing\|Storing\|Getting\)' "$d/cdi/nbdkit.log" |
			    head -2 | tr '\n' ' ')"
		fi
		if "$NBDBROKER" -U - nbdkit:cdi "containers-storage:$img" \
		    --run 'nbdinfo --size "$uri"' >"$d/cdi/nbdbroker.out" \
		    2>"$d/cdi/nbdbroker.log"; then
			result FAIL cdi "nbdbroker served it with no shipped \
policy: $(grep 'sandbox policy' "$d/cdi/nbdbroker.log")"
		elif ! grep -q "sandbox policy .*/default.policy" \
		    "$d/cdi/nbdbroker.log" ||
		    ! grep -q 'get_ready failed' "$d/cdi/nbdbroker.log" ||
		    ! grep -q 'sandbox: startup .* policy=' \
		    "$d/cdi/nbdbroker.log"; then
			result FAIL cdi "nbdbroker's refusal does not say what \
the sandbox denied: $(grep error "$d/cdi/nbdbroker.log" | head -3 |
			    tr '\n' ' ')"
		else
			result SKIP cdi "no shipped policy (podman cannot run \
sandboxed): nbdbroker refuses it at start-up; $why"
		fi
	fi
fi

# nbd: a proxy for another server (nbdkit's file plugin on the server's
# copy of disk.img), over a Unix socket, and over TCP to 127.0.0.1
# port 10809, the one TCP port its policy allows, if that port is free.
upstream() { # W ARGS...
	local w=$1
	shift
	nbdkit -f "$@" file "$w/disk.img" 2>"$w/up.log" &
	cleanup_fn kill $!
	upid=$!
}
check_nbd_unix() { # W
	check_probe "$1"
}
# Under make check-valgrind the broker cannot connect on a worker's
# behalf (valgrind 3.19 knows neither pidfd_open nor pidfd_getfd: the
# connects fail closed; test-sandbox-connect-behalf.sh checks that).
no_behalf=
[ -n "${NBDBROKER_VALGRIND_LOGS:-}" ] &&
    no_behalf="valgrind cannot run the broker's connects (pidfd_open)"
if has_plugin nbd && [ -n "$no_behalf" ]; then
	skip_part "nbd: $no_behalf"
elif has_plugin nbd; then
	for srv in nbdkit nbdbroker; do
		w=$(cmp_workdir nbd~unix $srv)
		upstream "$w" -U "$w/up.sock"
		wait_for_socket "$w/up.sock" $((20 * slow))
		chmod 0777 "$w/up.sock"
		plugin=nbd
		[ $srv = nbdbroker ] && plugin=nbdkit:nbd
		if cmp_start $srv "$w" $plugin socket="$w/up.sock"; then
			check_probe "$w" > "$w/out" 2>>"$w/check.log" ||
			    echo "check failed" >> "$w/out"
			cmp_stop
		else
			echo "did not start" > "$w/out"
		fi
		kill "$upid"
		wait "$upid" 2>/dev/null || true
	done
	record nbd~unix "$d/run/nbd~unix.nbdkit" "$d/run/nbd~unix.nbdbroker"
	if ! nbdinfo --size nbd://127.0.0.1:10809 >/dev/null 2>&1 &&
	    ! (: < /dev/tcp/127.0.0.1/10809) 2>/dev/null; then
		for srv in nbdkit nbdbroker; do
			w=$(cmp_workdir nbd~tcp $srv)
			upstream "$w" -i 127.0.0.1 -p 10809
			sleep 1
			plugin=nbd
			[ $srv = nbdbroker ] && plugin=nbdkit:nbd
			if cmp_start $srv "$w" $plugin hostname=127.0.0.1 \
			    port=10809; then
				check_probe "$w" > "$w/out" \
				    2>>"$w/check.log" ||
				    echo "check failed" >> "$w/out"
				cmp_stop
			else
				echo "did not start" > "$w/out"
			fi
			kill "$upid"
			wait "$upid" 2>/dev/null || true
		done
		record nbd~tcp "$d/run/nbd~tcp.nbdkit" \
		    "$d/run/nbd~tcp.nbdbroker"
	else
		skip_part "nbd over TCP: port 10809 is in use"
	fi
fi

# curl: a disk over HTTP, from a server on 127.0.0.1 port 80 (the
# policy allows ports 80 and 443), if that port is free.  Both servers
# read the same file (the web server takes no writes).
if has_plugin curl && [ -n "$no_behalf" ]; then
	skip_part "curl: $no_behalf"
elif has_plugin curl; then
	if ! (: < /dev/tcp/127.0.0.1/80) 2>/dev/null; then
		/usr/bin/python3 "$testlib/range-http.py" "$src" 80 \
		    2>"$d/http.log" &
		cleanup_fn kill $!
		for _ in $(seq $((50 * slow))); do
			(: < /dev/tcp/127.0.0.1/80) 2>/dev/null && break
			sleep 0.1
		done
		compare curl curl url=http://127.0.0.1/disk.img
	else
		skip_part "curl: port 80 is in use"
	fi
fi

set +x
echo "nbdkit plugins compared under nbdkit and nbdbroker:" \
    "${#passed[*]} passed, ${#failed[*]} failed, ${#skipped[*]} skipped"
echo "passed: ${passed[*]}"
for f in "${skipped[@]}"; do echo "SKIPPED $f"; done
for f in "${failed[@]}"; do echo "FAILED $f"; done
cat <<'EOF'
Not served with a shipped policy (see README, "Coming from nbdkit"):
  ssh: a shipped policy (hosts = ${host}), but no SSH server here:
    test-sandbox-connect-behalf.sh checks the broker connects it
  cdi: podman cannot run sandboxed (a home, an image store, a user
    namespace and mounts, or root); nbdkit 1.32's script also fails
    with Debian 12's podman 4.3 (its oci-dir has no manifest.json)
  torrent: its peers come from the swarm, not from a parameter
  S3: a Python script run as a program (#!), with boto3 and the network
EOF
[ ${#failed[*]} -eq 0 ]
