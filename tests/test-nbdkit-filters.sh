#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every filter in Debian's nbdkit package that works without an outside
# service, unmodified, stacked by nbdbroker: the same command line is
# served by nbdkit and by nbdbroker (with the policies nbdbroker ships),
# and what a client sees must be the same: the export list, size,
# flags, block sizes, the bytes read, a write read back, zeroes, flush,
# block status (filter-probe.py); for the filters that act on the
# server itself (exitlast, exitwhen, ip, limit, pause, tls-fallback),
# what they do to clients and to the server.  Input files (gzip, xz,
# tar, ext2, luks, partition table, ddrescue map, extent list) are made
# here; a filter whose tool is missing is skipped, loudly.  Also a few
# stacks of several filters (order matters), and filters above
# nbdbroker's own memory and file plugins.  Prints how many of the 41
# filters pass, and why any does not.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
source "$(dirname "$0")/lib/filter-functions.sh"
set -e
set -x

requires nbdkit --version
requires_nbd_python
requires_nbdkit_plugin memory file
requires_nbdkit_filter offset
probe=$testlib/filter-probe.py

# Inputs, reachable by the sandboxed worker's user (nobody as root).
d=$(shared_tmpdir)
chmod 0755 "$d"
mkdir "$d/src" "$d/run"
src=$d/src
# A 4M disk: 1M of random bytes, a 1M hole, 1M random, a 1M hole.
head -c 1M /dev/urandom > "$src/disk.img"
truncate -s 2M "$src/disk.img"
head -c 1M /dev/urandom >> "$src/disk.img"
truncate -s 4M "$src/disk.img"
skipped=()
skip_filter() { # FILTER WHY
	echo "$0: filter $1 SKIPPED: $2" >&2
	skipped+=("$1: $2")
}
if command -v gzip >/dev/null; then
	gzip -c "$src/disk.img" > "$src/disk.img.gz"
else
	skip_filter gzip "gzip is not installed"
fi
if command -v xz >/dev/null; then
	xz -c --block-size=1MiB "$src/disk.img" > "$src/disk.img.xz"
else
	skip_filter xz "xz is not installed"
fi
if command -v tar >/dev/null; then
	tar -C "$src" -cf "$src/disk.tar" disk.img
else
	skip_filter tar "tar is not installed"
fi
if command -v mke2fs >/dev/null || [ -x /usr/sbin/mke2fs ]; then
	mkdir "$d/fs"
	cp "$src/disk.img" "$d/fs/"
	PATH=$PATH:/usr/sbin mke2fs -q -t ext2 -d "$d/fs" "$src/fs.img" 8M
else
	skip_filter ext2 "mke2fs is not installed"
fi
# qemu-img times its key derivation and, on a busy machine, sometimes
# cannot ("Unable to get accurate CPU usage"): try again.
if command -v qemu-img >/dev/null; then
	for _ in 1 2 3 4 5; do
		qemu-img create -q -f luks --object secret,id=s0,data=sesame \
		    -o key-secret=s0,iter-time=100 "$src/luks.img" 4M && break
		rm -f "$src/luks.img"
		sleep 1
	done
	[ -e "$src/luks.img" ] ||
	    skip_filter luks "qemu-img could not make a LUKS image"
else
	skip_filter luks "qemu-img (to make a LUKS image) is not installed"
fi
# An MBR with one partition (sectors 2048 to 6143), written by hand.
/usr/bin/python3 - "$src/disk.img" "$src/part.img" <<'PY'
import struct, sys
disk = open(sys.argv[1], "rb").read()
img = bytearray(4 << 20)
img[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0",
                           2048, 4096)
img[510:512] = b"\x55\xaa"
img[1 << 20:3 << 20] = disk[:2 << 20]
open(sys.argv[2], "wb").write(img)
PY
printf '0 1048576\n2097152 1048576\n' > "$src/extents.txt"
cat > "$src/ddrescue.map" <<'EOF'
# Rescue Logfile
0x00000000     +               1
#      pos        size  status
0x00000000  0x00180000  +
0x00180000  0x00100000  -
0x00280000  0x00180000  +
EOF
touch "$src/stats.txt" "$src/log.txt"
chmod -R a+rwX "$src"

passed=()
failed=()
# What differs between two probe outputs: the JSON keys, or the text.
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
record() { # NAME W_NBDKIT W_BROKER
	if cmp -s "$2/out" "$3/out"; then
		passed+=("$1")
	else
		failed+=("$1: $(differ "$2/out" "$3/out") (nbdbroker said: \
$(grep -E 'error|warning' "$3/log" 2>/dev/null | head -2 | tr '\n' ' '))")
	fi
}

# compare NAME [OPTIONS...] -- PLUGIN [ARGS...] [-- OURPLUGIN [ARGS...]]
# Serve PLUGIN with OPTIONS (filters, -r) under nbdkit and nbdbroker
# (as nbdkit:PLUGIN, or as OURPLUGIN, one of nbdbroker's own) and
# compare what filter-probe.py sees ($probe_opts, for both).  @W@ in
# any argument is the server's copy of the inputs.
compare() {
	local name=$1 srv w ok
	local -a opts=() kargs=() bargs=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do kargs+=("$1"); shift; done
	if [ $# -gt 0 ]; then
		shift
		bargs=("$@")
	else
		bargs=("nbdkit:${kargs[0]}" "${kargs[@]:1}")
	fi
	for srv in nbdkit nbdbroker; do
		w=$(cmp_workdir "$name" $srv)
		if [ $srv = nbdkit ]; then
			set -- "${opts[@]//@W@/$w}" "${kargs[@]//@W@/$w}"
		else
			set -- "${opts[@]//@W@/$w}" "${bargs[@]//@W@/$w}"
		fi
		ok=0
		cmp_start $srv "$w" "$@" && ok=1
		if [ $ok = 1 ]; then
			# shellcheck disable=SC2086
			timeout 60 /usr/bin/python3 "$probe" \
			    "$(nbd_uri "$w/sock")" $probe_opts > "$w/out" \
			    2>&1 || echo "probe failed" >> "$w/out"
			cmp_stop
		else
			echo "did not start" > "$w/out"
		fi
	done
	record "$name" "$d/run/$name.nbdkit" "$d/run/$name.nbdbroker"
}

probe_opts=""
compare blocksize --filter=blocksize -- file @W@/disk.img minblock=4096 \
    maxdata=65536
compare blocksize-policy --filter=blocksize-policy -- file @W@/disk.img \
    blocksize-minimum=4096 blocksize-preferred=65536 \
    blocksize-maximum=1M blocksize-error-policy=error
compare cache --filter=cache -- file @W@/disk.img
compare cacheextents --filter=cacheextents -- file @W@/disk.img
compare checkwrite --filter=checkwrite -- file @W@/disk.img
compare cow --filter=cow -- file @W@/disk.img
compare ddrescue --filter=ddrescue -- file @W@/disk.img \
    ddrescue-mapfile=@W@/ddrescue.map
compare delay --filter=delay -- file @W@/disk.img rdelay=5ms wdelay=5ms
compare error --filter=error -- file @W@/disk.img error-pread=ENOSPC \
    error-pread-rate=100%
compare extentlist --filter=extentlist -- memory 4M \
    extentlist=@W@/extents.txt
compare fua --filter=fua -- file @W@/disk.img fuamode=native
compare multi-conn --filter=multi-conn -- file @W@/disk.img \
    multi-conn-mode=emulate
compare nocache --filter=nocache -- file @W@/disk.img cachemode=emulate
compare noextents --filter=noextents -- file @W@/disk.img
compare nofilter --filter=nofilter -- file @W@/disk.img
compare noparallel --filter=noparallel -- file @W@/disk.img \
    serialize=connections
compare nozero --filter=nozero -- file @W@/disk.img zeromode=notrim
compare offset --filter=offset -- file @W@/disk.img offset=512K range=3M
compare partition --filter=partition -- file @W@/part.img partition=1
compare protect --filter=protect -- file @W@/disk.img protect=0-8191
compare rate --filter=rate -- file @W@/disk.img rate=1G
compare readahead --filter=readahead -- file @W@/disk.img
# Over a plugin that always fails to read: retry reopens the layer
# below (nbdkit_next_context_open) before it gives up.  Each retry
# waits a second, so only 1M is read.
probe_opts="--read 1048576 --no-write"
compare retry --filter=retry --filter=error -- file @W@/disk.img \
    retries=1 retry-delay=1 error-pread=EIO error-pread-rate=100%
compare retry-request --filter=retry-request --filter=error -- \
    file @W@/disk.img retry-request-retries=1 retry-request-delay=1 \
    error-pread=EIO error-pread-rate=100%
probe_opts=""
compare scan --filter=scan -- file @W@/disk.img
compare swab --filter=swab -- file @W@/disk.img swab-bits=32
compare truncate --filter=truncate -- file @W@/disk.img truncate=3500000
compare stats --filter=stats -- file @W@/disk.img statsfile=@W@/stats.txt
compare log --filter=log -- file @W@/disk.img logfile=@W@/log.txt
[ -e "$src/disk.img.gz" ] && compare gzip --filter=gzip -- \
    file @W@/disk.img.gz
[ -e "$src/disk.img.xz" ] && compare xz --filter=xz -- file @W@/disk.img.xz
[ -e "$src/disk.tar" ] && compare tar --filter=tar -- file @W@/disk.tar \
    tar-entry=disk.img
[ -e "$src/fs.img" ] && compare ext2 --filter=ext2 -- file @W@/fs.img \
    ext2file=/disk.img
[ -e "$src/luks.img" ] && compare luks --filter=luks -- \
    file @W@/luks.img passphrase=sesame
probe_opts="--list"
compare exportname --filter=exportname -- memory 1M exportname=a \
    exportname=b default-export=b exportname-list=explicit
probe_opts="--export a"
compare exportname~a --filter=exportname -- memory 1M exportname=a \
    exportname=b default-export=b exportname-strict=true
probe_opts="--export c"
compare exportname~c --filter=exportname -- memory 1M exportname=a \
    exportname=b exportname-strict=true
probe_opts=""
compare tls-fallback --filter=tls-fallback -- file @W@/disk.img

# The stored logs and statistics say the same (times and ids aside).
for n in stats log; do
	for srv in nbdkit nbdbroker; do
		w=$d/run/$n.$srv
		# Written when the server exits: nbdkit's has, nbdbroker's
		# worker once the broker hung up on it.
		for _ in $(seq 50); do
			[ -s "$w/$n.txt" ] && break
			sleep 0.1
		done
		sed -E 's/^[0-9-]+ [0-9:.]+ //; s/[0-9.]+ s\b/T s/g;
		    s/[0-9.]+ [KMG]?i?B\/s/R/g; s/id=[0-9]+/id=N/g' \
		    "$w/$n.txt" |
		    grep -Ev '^(\.\.\.)?(Preconnect|ListExports)|^Ready' \
		    > "$w/out.$n" || true
	done
	if ! diff -u "$d/run/$n.nbdkit/out.$n" "$d/run/$n.nbdbroker/out.$n" ||
	    [ ! -s "$d/run/$n.nbdbroker/out.$n" ]; then
		failed+=("$n~file: its $n file differs from nbdkit's")
	fi
done

# Stacks: the first --filter is the outermost, as in nbdkit.
compare stack~offset-swab --filter=offset --filter=swab -- \
    file @W@/disk.img offset=4K range=2M swab-bits=16
compare stack~swab-offset --filter=swab --filter=offset -- \
    file @W@/disk.img offset=4K range=2M swab-bits=16
compare stack~cow-partition --filter=cow --filter=partition -- \
    file @W@/part.img partition=1
compare stack~truncate-blocksize-cow --filter=truncate --filter=blocksize \
    --filter=cow -- file @W@/disk.img truncate=3M minblock=4096
# nbdbroker's own plugins at the bottom (nbdkit's equivalents there).
probe_opts="--data"
compare ours~memory-cow-offset --filter=cow --filter=offset -- \
    memory 4M offset=1M range=2M -- memory size=4M offset=1M range=2M
compare ours~file-partition --filter=partition -- \
    file @W@/part.img partition=1 -- file file=@W@/part.img partition=1
probe_opts=""

# Filters that act on clients and the server: each check's outcome
# under both servers must be the same.  behave NAME FUNCTION: runs
# FUNCTION SERVER W for each, which prints the outcome on stdout.
behave() {
	local name=$1 fn=$2 srv w
	for srv in nbdkit nbdbroker; do
		w=$(cmp_workdir "$name" $srv)
		"$fn" $srv "$w" > "$w/out" 2>>"$w/check.log" ||
		    echo "check failed" >> "$w/out"
	done
	record "$name" "$d/run/$name.nbdkit" "$d/run/$name.nbdbroker"
}
plugin_for() { # SERVER NAME: how each server names nbdkit's plugin
	if [ "$1" = nbdkit ]; then echo "$2"; else echo "nbdkit:$2"; fi
}
probe() { # W [OPTIONS]
	local w=$1
	shift
	timeout 60 /usr/bin/python3 "$probe" "$(nbd_uri "$w/sock")" "$@"
}
gone_within() { # SECONDS: has the server exited?
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$spid" 2>/dev/null || { wait "$spid" || true; \
		    echo exited; return 0; }
		sleep 0.1
	done
	echo running
	cmp_stop
}

# exitlast: serves, and exits when the last client leaves.
check_exitlast() {
	cmp_start "$1" "$2" --filter=exitlast "$(plugin_for "$1" memory)" 1M
	probe "$2" | head -c 40
	gone_within 10
}
# exitwhen: exits when a file appears (checked every second).
check_exitwhen() {
	cmp_start "$1" "$2" --filter=exitwhen "$(plugin_for "$1" memory)" \
	    1M exit-when-file-created="$2/stop" exit-when-poll=1
	probe "$2" | head -c 40
	sleep 1
	kill -0 "$spid" && echo "still serving"
	touch "$2/stop"
	gone_within 10
}
# ip: a Unix client of this uid is let in by uid, refused by deny=all.
check_ip() {
	cmp_start "$1" "$2" --filter=ip "$(plugin_for "$1" memory)" 1M \
	    allow="uid:$(id -u)" deny=all
	probe "$2" | head -c 40
	echo
	cmp_stop
	cmp_start "$1" "$2" --filter=ip "$(plugin_for "$1" memory)" 1M \
	    deny=all
	probe "$2"
	cmp_stop
}
# limit: limit=1 refuses a second client while the first is there.
check_limit() {
	cmp_start "$1" "$2" --filter=limit "$(plugin_for "$1" memory)" 1M \
	    limit=1
	/usr/bin/python3 - "$(nbd_uri "$2/sock")" <<'PY'
import nbd, sys, time
a = nbd.NBD()
a.connect_uri(sys.argv[1])
b = nbd.NBD()
try:
    b.connect_uri(sys.argv[1])
    print("second client: served")
except nbd.Error:
    print("second client: refused")
a.shutdown()
del a
# The server notices the first client's departure in its own time.
for _ in range(50):
    c = nbd.NBD()
    try:
        c.connect_uri(sys.argv[1])
        print("after the first left: served")
        break
    except nbd.Error:
        time.sleep(0.1)
else:
    print("after the first left: still refused")
PY
	cmp_stop
}
behave exitlast check_exitlast
behave exitwhen check_exitwhen
behave ip check_ip
behave limit check_limit

# tls-fallback: a client without TLS sees the fallback, one with TLS
# the disk (with a pre-shared key, when both servers have TLS).
if command -v psktool >/dev/null &&
    nbdkit --dump-config | grep -qx tls=yes &&
    "$NBDBROKER" --dump-config | grep -qx tls=yes; then
	psktool -u alice -p "$src/keys.psk" >/dev/null
	chmod 0644 "$src/keys.psk"
	check_tls_fallback() {
		cmp_start "$1" "$2" --tls=on --tls-psk="$2/keys.psk" \
		    --filter=tls-fallback "$(plugin_for "$1" file)" \
		    "$2/disk.img"
		probe "$2" --no-write
		echo
		probe "$2" --no-write --tls "$2/keys.psk"
		cmp_stop
	}
	behave tls-fallback~tls check_tls_fallback
else
	echo "$0: tls-fallback with TLS SKIPPED: no psktool, or a server" \
	    "without TLS (checked without TLS only)" >&2
fi

# pause: the filter listens on a Unix socket it creates, at a path a
# policy can only name once it exists, so nbdbroker ships no policy
# for it.  With an admin's policy (made here: Landlock off, AF_UNIX
# sockets), it pauses and resumes requests as under nbdkit.
mkdir "$d/pause-policies"
cp "$abs_top_srcdir/policy/nbdkit-memory.policy" "$d/pause-policies/"
cat > "$d/pause-policies/nbdkit-pause-filter.policy" <<'EOF'
format = nbdbroker-policy/1
[syscalls]
allow = @network @file-write
[filesystem]
landlock = off
[network]
allow = unix
EOF
check_pause() {
	local -a pol=()

	[ "$1" = nbdbroker ] && pol=(--policy-dir "$d/pause-policies")
	chmod 1777 "$2"
	cmp_start "$1" "$2" "${pol[@]}" --filter=pause \
	    "$(plugin_for "$1" memory)" 1M pause-control="$2/ctl.sock"
	/usr/bin/python3 - "$(nbd_uri "$2/sock")" "$2/ctl.sock" <<'PY'
import nbd, socket, sys, threading, time
ctl = socket.socket(socket.AF_UNIX)
ctl.connect(sys.argv[2])
ctl.send(b"p")
print("pause:", ctl.recv(1))
h = nbd.NBD()
h.connect_uri(sys.argv[1])
done = []
t = threading.Thread(target=lambda: (h.pread(512, 0), done.append(1)))
t.start()
time.sleep(1)
print("read while paused:", bool(done))
ctl.send(b"r")
print("resume:", ctl.recv(1))
t.join(30)
print("read after resume:", bool(done))
PY
	cmp_stop
}
behave pause check_pause
admin=("pause: it binds a Unix socket at pause-control=, which a policy can \
only name once it exists (Landlock off here)")

# What the run says, and the count over the 41 filters.
set +x
all=$(for so in "$NBDKIT_FILTERDIR"/nbdkit-*-filter.so; do
	so=${so##*/nbdkit-}
	echo "${so%-filter.so}"
done | sort)
ok=0
bad=()
for f in $all; do
	if printf '%s\n' "${failed[@]}" | grep -Eq "^${f}[:~]"; then
		bad+=("$f")
	elif printf '%s\n' "${passed[@]}" | grep -Eqx "$f(~.*)?"; then
		ok=$((ok + 1))
	else
		bad+=("$f (not tested)")
	fi
done
echo "=== nbdkit filters under nbdbroker: $ok of $(echo "$all" | wc -w)" \
    "behave as under nbdkit, $((ok - ${#admin[@]})) with the policies" \
    "nbdbroker ships"
for a in "${admin[@]}"; do echo "=== with an admin's policy: $a"; done
for s in "${skipped[@]}"; do echo "=== skipped: $s"; done
for f in "${failed[@]}"; do echo "=== FAILED: $f"; done
for f in "${bad[@]}"; do echo "=== not passing: $f"; done
[ ${#failed[@]} -eq 0 ] && [ ${#bad[@]} -eq ${#skipped[@]} ]
