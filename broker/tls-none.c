/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS when nbdbroker is built without GnuTLS: there is none.  The
 * handshake answers NBD_OPT_STARTTLS with NBD_REP_ERR_UNSUP (as if the
 * option were unknown, which nbdkit does too), and asking for TLS on
 * the command line is a start-up error that says why.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>

#include "broker.h"
#include "log.h"

bool
tls_available(void)
{
	return false;
}

const char *
tls_default_dir(void)
{
	return "";
}

int
tls_init(void)
{
	log_err("TLS was requested (--tls, --tls-certificates or --tls-psk), "
	    "but this nbdbroker was built without GnuTLS; rebuild with "
	    "--with-gnutls");
	return -1;
}

void
tls_cleanup(void)
{
}

int
tls_conn_start(struct conn *c, char *why, size_t whylen)
{
	(void)c;
	snprintf(why, whylen, "TLS: built without GnuTLS");
	errno = ENOTSUP;
	return -1;
}

int
tls_conn_handshake(struct conn *c, bool *want_write, char *why,
    size_t whylen)
{
	(void)c;
	*want_write = false;
	snprintf(why, whylen, "TLS: built without GnuTLS");
	return -1;
}
