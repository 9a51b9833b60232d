#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit's language plugins that use only the public plugin API run in
# a worker like any other: sh (a script file), eval (scripts on the
# command line) and cc (C compiled at start-up, calling nbdkit_* from
# the worker).  Scripted plugins by name are covered in
# test-nbdkit-load-errors.sh.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/nbdkit-functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires_nbdkit_plugin sh eval

d=$(tmpdir)

cat > "$d/plugin.sh" <<'SH'
#!/bin/sh
case "$1" in
get_size) echo 65536 ;;
pread) dd if=/dev/zero bs=1 count="$3" 2>/dev/null | tr '\0' S ;;
can_write) exit 3 ;;
*) exit 2 ;;
esac
SH
chmod +x "$d/plugin.sh"
start_nbdbroker -U "$d/sh" nbdkit:sh "$d/plugin.sh"
test "$(nbdinfo --size "$(nbd_uri "$d/sh")")" -eq 65536
nbdcopy "$(nbd_uri "$d/sh")" - | head -c 4 > "$d/sh.out"
test "$(cat "$d/sh.out")" = SSSS

start_nbdbroker -U "$d/eval" nbdkit:eval get_size='echo 4096' \
    pread='dd if=/dev/zero bs=1 count=$3 2>/dev/null | tr "\0" E'
nbdcopy "$(nbd_uri "$d/eval")" - | head -c 4 > "$d/eval.out"
test "$(cat "$d/eval.out")" = EEEE

if [ -r "$NBDKIT_PLUGINDIR/nbdkit-cc-plugin.so" ] &&
   command -v cc >/dev/null && [ -r /usr/include/nbdkit-plugin.h ]; then
	cat > "$d/cc.c" <<'C'
#include <stdint.h>
#include <string.h>
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
static void *cc_open(int ro) { return NBDKIT_HANDLE_NOT_NEEDED; }
static int64_t cc_get_size(void *h) { return nbdkit_parse_size("8k"); }
static int cc_pread(void *h, void *buf, uint32_t n, uint64_t off,
    uint32_t flags) { memset(buf, 'C', n); return 0; }
static struct nbdkit_plugin plugin = { .name = "cc1", .open = cc_open,
    .get_size = cc_get_size, .pread = cc_pread };
NBDKIT_REGISTER_PLUGIN(plugin)
C
	start_nbdbroker -U "$d/cc" nbdkit:cc "$d/cc.c"
	test "$(nbdinfo --size "$(nbd_uri "$d/cc")")" -eq 8192
	nbdcopy "$(nbd_uri "$d/cc")" - | head -c 4 > "$d/cc.out"
	test "$(cat "$d/cc.out")" = CCCC
else
	skip_part "nbdkit's cc plugin: needs nbdkit-cc-plugin.so, cc and" \
	    "<nbdkit-plugin.h>"
fi

# Programs the plugins start find what the system has, sbin included
# (tmpdisk runs mkfs), whatever PATH the broker's caller had: every
# worker gets the fixed PATH of common/names.h.
PATH=/nonexistent:/usr/bin start_nbdbroker -U "$d/path" \
    nbdkit:eval get_size='echo 512' \
    pread='printf "%-512s" "$PATH" | dd bs=1 skip=$4 count=$3 2>/dev/null'
nbdcopy "$(nbd_uri "$d/path")" - | tr -d ' ' > "$d/path.out"
test "$(cat "$d/path.out")" = \
    /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
