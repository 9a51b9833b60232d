#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Bulk data over TLS: nbdcopy (four connections, many requests in
# flight, 32 MiB and small requests) writes random data into a TLS
# export and reads it back unchanged.  Exercises the record batching and
# the E_AGAIN retries of transport_tls under a full socket.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_tls
requires nbdcopy --version

d=$(tmpdir)
mkdir -m 0700 "$d/keys"
psktool -u alice -p "$d/keys/keys.psk" >/dev/null
# A size that is not a multiple of a TLS record (or of 512).
head -c 50331653 /dev/urandom > "$d/in"

start_nbdbroker -U "$d/sock" --tls=require --tls-psk="$d/keys/keys.psk" \
    memory size=50331653
uri="nbds+unix://alice@/?socket=$d/sock&tls-psk-file=$d/keys/keys.psk"

nbdcopy --request-size=33554432 "$d/in" "$uri"
nbdcopy "$uri" "$d/out"
cmp "$d/in" "$d/out"
# Small requests, many in flight.
nbdcopy --request-size=4096 --requests=64 "$uri" "$d/out2"
cmp "$d/in" "$d/out2"
