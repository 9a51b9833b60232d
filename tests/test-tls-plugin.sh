#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The worker tells plugins whether the connection uses TLS: under
# --tls=on the tlsinfo test plugin serves a different size and export
# list to TLS and plain clients (nbdbroker_is_tls, list_exports' tls).
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_tls
requires nbdinfo --version

plugin=$(test_plugin tlsinfo)

d=$(tmpdir)
mkdir -m 0700 "$d/keys"
psktool -u alice -p "$d/keys/keys.psk" >/dev/null
start_nbdbroker -U "$d/sock" --tls=on --tls-psk="$d/keys/keys.psk" "$plugin"
plain="nbd+unix:///?socket=$d/sock"
tls="nbds+unix://alice@/?socket=$d/sock&tls-psk-file=$d/keys/keys.psk"

[ "$(nbdinfo --size "$plain")" = 524288 ]
[ "$(nbdinfo --size "$tls")" = 1048576 ]
nbdinfo --list "$plain" | grep -qx 'export="plain":'
nbdinfo --list "$tls" | grep -qx 'export="tls":'
