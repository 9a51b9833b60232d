#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# TLS with X.509 certificates: nbdinfo (libnbd) and qemu-img connect
# with TLS, a client without TLS is refused under --tls=require, and
# --tls-verify-peer turns away clients without a certificate from the
# CA while the server keeps serving the others.
source "$(dirname "$0")/lib/functions.sh"
source "$(dirname "$0")/lib/tls-functions.sh"
set -e
set -x

requires_tls
requires nbdinfo --version
requires qemu-img --version
requires_nbd_python

d=$(tmpdir)
make_certs "$d/pki"
# A client directory with the CA only: no client certificate to show.
mkdir "$d/anon"
cp "$d/pki/ca-cert.pem" "$d/anon/"

start_nbdbroker -U "$d/sock" --tls=require --tls-certificates="$d/pki" \
    memory size=8M
tls_uri="nbds+unix:///?socket=$d/sock&tls-certificates=$d/anon"

# libnbd: the handshake over TLS, and the data.
nbdinfo --json "$tls_uri" > "$d/info.json"
grep -q '"protocol": "newstyle-fixed"' "$d/info.json"
grep -q '"TLS": true' "$d/info.json"
grep -q '"export-size": 8388608' "$d/info.json"
/usr/bin/python3 - "$tls_uri" <<'PY'
import nbd, sys
h = nbd.NBD()
h.set_uri_allow_local_file(True)
h.connect_uri(sys.argv[1])
assert h.get_tls_negotiated()
h.pwrite(b"tls data" * 512, 1 << 20)
assert h.pread(4096, 1 << 20) == b"tls data" * 512
PY

# qemu-img, with qemu's own TLS client.
obj="tls-creds-x509,id=tls0,endpoint=client,dir=$d/anon"
qemu-img info --output=json --object "$obj" --image-opts \
    "driver=nbd,path=$d/sock,tls-creds=tls0,tls-hostname=localhost" \
    > "$d/qemu.json"
grep -q '"virtual-size": 8388608' "$d/qemu.json"
qemu-img map --output=json --object "$obj" --image-opts \
    "driver=nbd,path=$d/sock,tls-creds=tls0,tls-hostname=localhost" \
    > "$d/map.json"
grep -q '"start": 1048576, "length": 65536,.*"data": true' "$d/map.json"

# Without TLS: refused, both by libnbd and by qemu.
if nbdinfo "nbd+unix:///?socket=$d/sock" 2> "$d/plain.err"; then
	echo "plain client was accepted under --tls=require" >&2
	exit 1
fi
cat "$d/plain.err"
if qemu-img info --image-opts "driver=nbd,path=$d/sock" 2>"$d/q.err"; then
	echo "plain qemu-img was accepted under --tls=require" >&2
	exit 1
fi
cat "$d/q.err"

# A client trusting another CA refuses our server.  (qemu: libnbd does
# not check the server's certificate over Unix sockets, having no
# host name to check it against.)
make_certs "$d/other"
rm "$d/other/client-"*
if qemu-img info --object \
    "tls-creds-x509,id=tls0,endpoint=client,dir=$d/other" --image-opts \
    "driver=nbd,path=$d/sock,tls-creds=tls0,tls-hostname=localhost" \
    2> "$d/other.err"; then
	echo "client trusted a server certificate from another CA" >&2
	exit 1
fi
cat "$d/other.err"

# --tls-verify-peer: only clients with a certificate from our CA.
start_nbdbroker -U "$d/vp" --tls=require --tls-certificates="$d/pki" \
    --tls-verify-peer memory size=1M
if nbdinfo --size "nbds+unix:///?socket=$d/vp&tls-certificates=$d/anon" \
    2> "$d/anon.err"; then
	echo "client without a certificate was accepted" >&2
	exit 1
fi
# A client certificate from another CA is refused too.
make_certs "$d/other2"
cp "$d/pki/ca-cert.pem" "$d/other2/ca-cert.pem"
if nbdinfo --size "nbds+unix:///?socket=$d/vp&tls-certificates=$d/other2" \
    2> "$d/other2.err"; then
	echo "client certificate from another CA was accepted" >&2
	exit 1
fi
nbdinfo --size "nbds+unix:///?socket=$d/vp&tls-certificates=$d/pki" | \
    grep -qx 1048576
grep -q 'TLS handshake' "$d/vp.log"

# Both servers are still serving.
nbdinfo --size "$tls_uri" | grep -qx 8388608
