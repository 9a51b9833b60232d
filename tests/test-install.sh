#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make install DESTDIR=...: everything lands where the installed broker
# looks for it (its --dump-config) and where nbdbroker.pc says; no
# libtool .la files; make uninstall removes it all again.  A plugin
# built out of tree with `pkg-config --cflags nbdbroker` is served by
# the built server.  The systemd units pass systemd-analyze verify
# (that part is skipped without systemd-analyze).  The man pages are
# installed and render without warnings (mandoc, groff).
source "$(dirname "$0")/lib/functions.sh"
set -e
set -x

requires make --version
requires pkg-config --version
requires nbdinfo --version
requires_nbd_python
cc=${CC:-cc}
requires "$cc" --version

d=$(tmpdir)
dest=$d/root
# Not the make running this test: a make of our own, in the build tree.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$abs_top_builddir" install DESTDIR="$dest" > "$d/install.log" 2>&1 ||
    { cat "$d/install.log"; exit 1; }
find "$dest" | sort > "$d/files"
cat "$d/files"

# No libtool archives anywhere (next to the plugins in particular).
if grep '\.la$' "$d/files"; then
	echo "$0: make install left .la files" >&2
	exit 1
fi

# The installed broker, run from DESTDIR without the build tree's
# environment: the directories it reports, prefixed with DESTDIR, hold
# what make install put there.
broker=$(find "$dest" -path '*/sbin/nbdbroker' -type f)
test -x "$broker"
env -u NBDBROKER_PLUGIN_DIR -u NBDBROKER_WORKER -u NBDBROKER_POLICY_DIR \
    -u NBDBROKER_SRC_POLICY_DIR "$broker" --dump-config > "$d/config"
cat "$d/config"
key() {
	sed -n "s/^$1=//p" "$d/config"
}
plugindir=$(key plugindir)
policydir=$(key policydir)
worker=$(key worker)
test -x "$dest$worker"
for p in memory file null pattern; do
	test -f "$dest$plugindir/nbdbroker-$p-plugin.so"
	test -f "$dest$policydir/$p.policy"
done
test -f "$dest$policydir/default.policy"
test -f "$dest$(key includedir)/nbdbroker-plugin.h"
test -f "$dest$(key includedir)/nbdbroker-version.h"
test -f "$dest$(key docdir)/README.md"
test -f "$dest$(key docdir)/examples/export.conf"

# The man pages, where man looks, rendering without a warning.
mandir=$(key mandir)
for page in man1/nbdbroker.1 man3/nbdbroker-plugin.3 man5/nbdbroker-policy.5 \
    man7/nbdbroker-security.7 man7/nbdbroker-service.7; do
	test -f "$dest$mandir/$page"
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$dest$mandir/$page" > "$d/lint" 2>&1 ||
		    true
		if [ -s "$d/lint" ]; then cat "$d/lint"; exit 1; fi
	fi
	if command -v groff >/dev/null; then
		groff -ww -man -z "$dest$mandir/$page" 2> "$d/lint"
		if [ -s "$d/lint" ]; then cat "$d/lint"; exit 1; fi
	fi
done
if command -v man >/dev/null; then
	MANWIDTH=200 man -P cat -l "$dest$mandir/man5/nbdbroker-policy.5" \
	    > "$d/man.txt" 2>/dev/null
	grep -q 'magic-config-key' "$d/man.txt"
fi

# pkg-config, pointed at DESTDIR, agrees with the broker.
pc=$(find "$dest" -name nbdbroker.pc)
test -n "$pc"
export PKG_CONFIG_PATH=${pc%/nbdbroker.pc}
export PKG_CONFIG_SYSROOT_DIR=$dest
[ "$(pkg-config --modversion nbdbroker)" = "$(key version)" ]
[ "$(pkg-config --variable=plugindir nbdbroker)" = "$dest$plugindir" ]
[ "$(pkg-config --variable=policydir nbdbroker)" = "$dest$policydir" ]
[ "$(pkg-config --variable=worker nbdbroker)" = "$dest$worker" ]

# An out-of-tree plugin, built with nothing but what pkg-config says
# (the installed header), served by the built server by path.
cat > "$d/outoftree.c" <<'EOF'
#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include <nbdbroker-plugin.h>
#include <nbdbroker-version.h>

#define THREAD_MODEL NBDBROKER_THREAD_MODEL_PARALLEL

static void *
oot_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
oot_get_size(void *handle)
{
	return 1 << 20;
}

static int
oot_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0x5a, count);
	return 0;
}

static struct nbdbroker_plugin plugin = {
	.name = "outoftree",
	.version = NBDBROKER_VERSION,
	.open = oot_open,
	.get_size = oot_get_size,
	.pread = oot_pread,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
EOF
cflags=$(pkg-config --cflags nbdbroker)
echo "$cflags" | grep -F -- "-I$dest"
# shellcheck disable=SC2086
"$cc" -shared -fPIC -Wall -Werror $cflags -o "$d/outoftree.so" \
    "$d/outoftree.c"
start_nbdbroker -U "$d/sock" "$d/outoftree.so"
nbdinfo --size "$(nbd_uri "$d/sock")" | grep -qx 1048576
/usr/bin/python3 - "$d/sock" <<'PY'
import sys
import nbd

h = nbd.NBD()
h.connect_unix(sys.argv[1])
assert h.pread(4096, 8192) == b"\x5a" * 4096
h.shutdown()
PY

# The systemd units: installed, and valid.  ExecStart names the
# installed binary, which systemd-analyze wants to find: check copies
# that point into DESTDIR.
service=$(find "$dest" -name 'nbdbroker@.service')
socket=$(find "$dest" -name 'nbdbroker@.socket')
test -f "$service"
test -f "$socket"
case "$service" in
"$dest"*/lib/systemd/system/nbdbroker@.service) ;;
*)	echo "$0: $service: not in a systemd unit directory" >&2; exit 1 ;;
esac
grep -qx "ExecStart=$(key sbindir)/nbdbroker .*" "$service"
grep -qx "EnvironmentFile=$(key sysconfdir)/nbdbroker/%i.conf" "$service"
if systemd-analyze --version >/dev/null 2>&1; then
	mkdir "$d/units"
	sed "s|^ExecStart=$(key sbindir)/|ExecStart=$dest$(key sbindir)/|" \
	    "$service" > "$d/units/nbdbroker@.service"
	cp "$socket" "$d/units/"
	systemd-analyze verify "$d/units/nbdbroker@test.service" \
	    "$d/units/nbdbroker@test.socket" > "$d/verify" 2>&1 ||
	    { cat "$d/verify"; exit 1; }
	# Warnings (an unknown setting, a bad value) do not fail verify.
	if [ -s "$d/verify" ]; then
		cat "$d/verify"
		echo "$0: systemd-analyze verify complained" >&2
		exit 1
	fi
else
	echo "$0: no systemd-analyze: the units are not verified" >&2
fi

# make uninstall leaves no file behind.
make -C "$abs_top_builddir" uninstall DESTDIR="$dest" \
    > "$d/uninstall.log" 2>&1 || { cat "$d/uninstall.log"; exit 1; }
left=$(find "$dest" -type f)
if [ -n "$left" ]; then
	echo "$0: make uninstall left: $left" >&2
	exit 1
fi
