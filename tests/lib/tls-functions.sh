# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# shellcheck disable=SC2154 # functions.sh sets abs_top_*, nbdbroker_pid...
#
# Helpers for the TLS tests, sourced after functions.sh.

requires_tls() {
	requires certtool --version
	requires psktool --version
	if ! "$NBDBROKER" --dump-config | grep -qx 'tls=yes'; then
		echo "$0: test skipped: nbdbroker built without GnuTLS" >&2
		exit 77
	fi
}

# make_certs DIR: a CA, a server certificate for localhost (and the
# loopback addresses) and a client certificate, in the file names
# nbdbroker --tls-certificates and libnbd/qemu expect.  ECDSA keys keep
# this fast.
make_certs() {
	local d=$1
	mkdir -p "$d"
	(
	cd "$d" || exit
	umask 077
	certtool --generate-privkey --key-type=ecdsa --outfile ca-key.pem
	cat > ca.info <<-'INFO'
	cn = nbdbroker test CA
	ca
	cert_signing_key
	expiration_days = 2
	INFO
	certtool --generate-self-signed --load-privkey ca-key.pem \
	    --template ca.info --outfile ca-cert.pem
	certtool --generate-privkey --key-type=ecdsa --outfile server-key.pem
	cat > server.info <<-'INFO'
	organization = nbdbroker tests
	cn = localhost
	dns_name = localhost
	ip_address = 127.0.0.1
	ip_address = ::1
	tls_www_server
	encryption_key
	signing_key
	expiration_days = 2
	INFO
	certtool --generate-certificate --load-ca-certificate ca-cert.pem \
	    --load-ca-privkey ca-key.pem --load-privkey server-key.pem \
	    --template server.info --outfile server-cert.pem
	certtool --generate-privkey --key-type=ecdsa --outfile client-key.pem
	cat > client.info <<-'INFO'
	organization = nbdbroker tests
	cn = client.test
	tls_www_client
	encryption_key
	signing_key
	expiration_days = 2
	INFO
	certtool --generate-certificate --load-ca-certificate ca-cert.pem \
	    --load-ca-privkey ca-key.pem --load-privkey client-key.pem \
	    --template client.info --outfile client-cert.pem
	) >/dev/null 2>&1
	[ -s "$d/server-cert.pem" ]
	[ -s "$d/client-cert.pem" ]
}
