/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS for NBD connections, with GnuTLS: the server's credentials
 * (X.509 certificates from --tls-certificates, or pre-shared keys from
 * --tls-psk), the handshake after NBD_OPT_STARTTLS, and transport_tls,
 * which carries a connection's bytes once the handshake is done.
 *
 * Credentials are loaded once, at start-up; PSK keys stay in memory
 * and are wiped at exit.  Nothing here blocks: sockets are
 * non-blocking, GnuTLS's E_AGAIN becomes EAGAIN, and the handshake is
 * driven from the connection's events (conn.c) under the connection's
 * handshake deadline.  Until
 * the handshake succeeds, client bytes reach nothing but GnuTLS.
 *
 * Event loop only, except tls_init and tls_cleanup (start-up, exit).
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "broker.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif

#define TLS_STAGE_SIZE	16384		/* a full-size TLS record */
#define TLS_READ_MAX	(1024 * 1024)	/* bytes per readv call */
#define TLS_PSK_MAX_KEY	512		/* bytes, decoded */
#define TLS_PSK_MAX_USER 255

/*
 * Appended to GnuTLS's default priority string (which honours the
 * system-wide crypto policy): the NBD spec says TLS 1.2 or later.
 */
#define TLS_PRIO_X509	\
	"-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL"
#define TLS_PRIO_PSK	TLS_PRIO_X509 ":+ECDHE-PSK:+DHE-PSK:+PSK"

struct tls_psk_user {
	char		*name;
	uint8_t		*key;		/* wiped at exit */
	size_t		 keylen;
};

/* Server-wide state, set up by tls_init. */
static struct {
	gnutls_certificate_credentials_t x509;
	gnutls_psk_server_credentials_t	 psk;
	gnutls_priority_t		 prio;
	struct tls_psk_user		*users;
	size_t				 nusers;
	bool				 verify_peer;
	char				 dir[4096];	/* X.509 */
} tls;

/* Per connection (c->tls). */
struct tls_conn {
	gnutls_session_t	 s;
	struct conn		*c;		/* borrowed: our owner */
	bool			 ready;		/* handshake done */
	bool			 more;		/* readv stopped */
	int			 io_errno;	/* last I/O error */
	char			 psk_user[80];	/* escaped */
	bool			 psk_unknown;	/* not in --tls-psk */
	/*
	 * The record GnuTLS last answered E_AGAIN for.  GnuTLS wants the
	 * same call repeated, so it is kept here; it covers the first
	 * wlen bytes of what conn.c passes next (its queue does not move
	 * until we say bytes were sent).  wptr is stage when small
	 * segments were coalesced, else points into conn.c's data.
	 */
	const uint8_t		*wptr;
	size_t			 wlen;
	uint8_t			 stage[TLS_STAGE_SIZE];
};

bool
tls_available(void)
{
	return true;
}

/* The certificates directory used without --tls-certificates. */
const char *
tls_default_dir(void)
{
	static char	buf[4096];
	const char	*home = getenv("HOME");

	if (geteuid() == 0 || home == NULL || *home == '\0')
		return SYSCONFDIR "/pki/nbdbroker";
	snprintf(buf, sizeof(buf), "%s/.pki/nbdbroker", home);
	return buf;
}

/* Transport callbacks GnuTLS calls: plain non-blocking I/O on c's fds. */
static ssize_t
tls_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct tls_conn	*t = p;
	ssize_t		 r = read(t->c->fd, buf, len);

	if (r == -1) {
		t->io_errno = errno;
		gnutls_transport_set_errno(t->s, errno);
	}
	return r;
}

static int
tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct tls_conn	*t = p;
	struct pollfd	 pfd = { .fd = t->c->fd, .events = POLLIN };

	(void)ms;		/* never wait: this is the event loop */
	return poll(&pfd, 1, 0);
}

static ssize_t
tls_push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct tls_conn	*t = p;
	ssize_t		 r;

	r = writev(t->c->wfd, (const struct iovec *)iov, n);

	if (r == -1) {
		t->io_errno = errno;
		gnutls_transport_set_errno(t->s, errno);
	}
	return r;
}

/* Map a GnuTLS error from record I/O to errno; -1 always. */
static ssize_t
tls_io_error(struct conn *c, int r)
{
	struct tls_conn	*t = c->tls;

	switch (r) {
	case GNUTLS_E_AGAIN:
		errno = EAGAIN;
		break;
	case GNUTLS_E_INTERRUPTED:
		errno = EINTR;
		break;
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		errno = t->io_errno != 0 ? t->io_errno : EIO;
		break;
	case GNUTLS_E_REHANDSHAKE:
		conn_log(c, LOG_WARNING, "TLS: client asked to renegotiate: "
		    "refused");
		errno = EPROTO;
		break;
	default:
		conn_log(c, LOG_WARNING, "TLS: %s", gnutls_strerror(r));
		errno = EPROTO;
		break;
	}
	return -1;
}

/*
 * Read decrypted bytes into iov, record by record, until it is full,
 * TLS_READ_MAX bytes were read or GnuTLS has nothing more.  0 at the
 * end of the stream (close_notify, or the client just closing).
 */
static ssize_t
tls_readv(struct conn *c, const struct iovec *iov, int n)
{
	struct tls_conn	*t = c->tls;
	size_t		 total = 0, off = 0;
	int		 i = 0, warnings = 0;
	ssize_t		 r;

	t->more = false;
	while (i < n) {
		if (off == iov[i].iov_len) {
			i++;
			off = 0;
			continue;
		}
		if (total >= TLS_READ_MAX) {
			t->more = true;
			return total;
		}
		r = gnutls_record_recv(t->s, (uint8_t *)iov[i].iov_base + off,
		    iov[i].iov_len - off);
		if (r > 0) {
			total += r;
			off += r;
			continue;
		}
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
			return total;	/* EOF: 0 again next time */
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
		    !gnutls_error_is_fatal(r) && r != GNUTLS_E_REHANDSHAKE &&
		    ++warnings < 8)
			continue;		/* e.g. a warning alert */
		if (total > 0 && (r == GNUTLS_E_AGAIN ||
		    r == GNUTLS_E_INTERRUPTED))
			return total;
		if (total > 0)
			return total;	/* the error comes back */
		return tls_io_error(c, r);
	}
	t->more = true;		/* buffers full: GnuTLS may hold more */
	return total;
}

/* Advance (*i, *off) by len bytes of iov. */
static void
iov_advance(const struct iovec *iov, int n, int *i, size_t *off, size_t len)
{
	while (len > 0 && *i < n) {
		size_t	m = iov[*i].iov_len - *off;

		if (len < m) {
			*off += len;
			return;
		}
		len -= m;
		(*i)++;
		*off = 0;
	}
}

/*
 * Encrypt and send iov.  Segments of a full record or more go to
 * GnuTLS in place; smaller ones (reply headers, short reads) are
 * copied into one record, so each record costs one write.  Returns the
 * bytes of iov sent, or -1 with EAGAIN when nothing could be.
 */
static ssize_t
tls_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct tls_conn	*t = c->tls;
	size_t		 done = 0, off = 0;
	int		 i = 0;
	ssize_t		 r;

	/* A record GnuTLS is still sending starts at the head of iov. */
	assert(t->wlen == 0 || t->wptr == t->stage ||
	    (n > 0 && t->wptr == iov[0].iov_base));
	for (;;) {
		if (t->wlen == 0) {
			while (i < n && off == iov[i].iov_len) {
				i++;
				off = 0;
			}
			if (i == n)
				break;
			if (iov[i].iov_len - off >= TLS_STAGE_SIZE) {
				t->wptr = (const uint8_t *)iov[i].iov_base +
				    off;
				t->wlen = iov[i].iov_len - off;
			} else {
				int	j = i;
				size_t	o = off, k = 0;

				while (j < n && k < TLS_STAGE_SIZE) {
					size_t	m = iov[j].iov_len - o;

					if (m > TLS_STAGE_SIZE - k)
						m = TLS_STAGE_SIZE - k;
					memcpy(t->stage + k, (const uint8_t *)
					    iov[j].iov_base + o, m);
					k += m;
					o += m;
					if (o == iov[j].iov_len) {
						j++;
						o = 0;
					}
				}
				t->wptr = t->stage;
				t->wlen = k;
			}
		}
		r = gnutls_record_send(t->s, t->wptr, t->wlen);
		if (r < 0) {
			if (done > 0 && (r == GNUTLS_E_AGAIN ||
			    r == GNUTLS_E_INTERRUPTED))
				return done;	/* retried next call */
			if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
				t->wlen = 0;
			if (done > 0)
				return done;
			return tls_io_error(c, r);
		}
		/* r bytes (one record) of the first wlen went out. */
		t->wlen = 0;
		done += r;
		iov_advance(iov, n, &i, &off, r);
	}
	return done;
}

static bool
tls_pending(struct conn *c)
{
	struct tls_conn	*t = c->tls;

	return t->more || gnutls_record_check_pending(t->s) > 0;
}

/* Say goodbye (best effort, never waiting) and free c's session. */
static void
tls_free(struct conn *c)
{
	struct tls_conn	*t = c->tls;

	if (t == NULL)
		return;
	if (t->ready)
		(void)gnutls_bye(t->s, GNUTLS_SHUT_WR);
	gnutls_deinit(t->s);
	explicit_bzero(t->stage, sizeof(t->stage));
	free(t);
	c->tls = NULL;
}

const struct transport	transport_tls = {
	.name = "tls",
	.readv = tls_readv,
	.writev = tls_writev,
	.pending = tls_pending,
	.free = tls_free,
};

/* GnuTLS asks for the key of a PSK user. */
static int
tls_psk_lookup(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
	struct tls_conn	*t = gnutls_session_get_ptr(s);
	size_t		 i;

	log_escape(t->psk_user, sizeof(t->psk_user), user, strlen(user));
	for (i = 0; i < tls.nusers; i++) {
		if (strcmp(tls.users[i].name, user) != 0)
			continue;
		if ((key->data = gnutls_malloc(tls.users[i].keylen)) == NULL)
			return -1;
		memcpy(key->data, tls.users[i].key, tls.users[i].keylen);
		key->size = tls.users[i].keylen;
		return 0;
	}
	t->psk_unknown = true;
	return -1;		/* unknown user: the handshake fails */
}

/*
 * Switch c to TLS: a server session with our credentials, reading and
 * writing c's descriptors (the handshake deadline is the connection's).  c's
 * output queue must be empty (the STARTTLS reply went out in clear).
 * Returns 0, or -1 with why set.
 */
int
tls_conn_start(struct conn *c, char *why, size_t whylen)
{
	struct tls_conn	*t;
	int		 r;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(why, whylen, "TLS: out of memory");
		return -1;
	}
	t->c = c;
	if ((r = gnutls_init(&t->s, GNUTLS_SERVER)) < 0) {
		snprintf(why, whylen, "TLS: gnutls_init: %s",
		    gnutls_strerror(r));
		free(t);
		return -1;
	}
	if ((r = gnutls_priority_set(t->s, tls.prio)) < 0)
		goto err;
	if (tls.psk != NULL)
		r = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK, tls.psk);
	else {
		r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
		    tls.x509);
		if (r == 0 && tls.verify_peer) {
			gnutls_certificate_server_set_request(t->s,
			    GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert(t->s, NULL, 0);
		}
	}
	if (r < 0)
		goto err;
	/* Our own deadline (an event) replaces GnuTLS's blocking one. */
	gnutls_handshake_set_timeout(t->s, 0);
	gnutls_session_set_ptr(t->s, t);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, tls_pull);
	gnutls_transport_set_pull_timeout_function(t->s, tls_pull_timeout);
	gnutls_transport_set_vec_push_function(t->s, tls_push);
	/* The connection's handshake deadline (conn.c) bounds it. */
	c->tls = t;
	c->tr = &transport_tls;
	return 0;

 err:
	snprintf(why, whylen, "TLS: session setup: %s", gnutls_strerror(r));
	gnutls_deinit(t->s);
	free(t);
	return -1;
}

/* Log who is on the other end of a fresh session. */
static void
tls_log_session(struct conn *c)
{
	struct tls_conn	*t = c->tls;
	char		*desc = gnutls_session_get_desc(t->s);
	const char	*user;
	char		 esc[2 * TLS_PSK_MAX_USER];

	if (tls.psk != NULL &&
	    (user = gnutls_psk_server_get_username(t->s)) != NULL) {
		log_escape(esc, sizeof(esc), user, strlen(user));
		conn_log(c, LOG_DEBUG, "TLS established: %s, PSK user '%s'",
		    desc ? desc : "?", esc);
	} else
		conn_log(c, LOG_DEBUG, "TLS established: %s%s",
		    desc ? desc : "?", tls.verify_peer ?
		    ", client certificate verified" : "");
	gnutls_free(desc);
}

/*
 * Advance the handshake.  Returns 1 when it is done, 0 when it waits
 * for the socket (*want_write: writable, else readable), -1 when it
 * failed (why says how; the connection must be closed).
 */
int
tls_conn_handshake(struct conn *c, bool *want_write, char *why,
    size_t whylen)
{
	struct tls_conn	*t = c->tls;
	int		 r, tries = 0;

	*want_write = false;
	do
		r = gnutls_handshake(t->s);
	while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r) &&
	    ++tries < 8);
	if (r == GNUTLS_E_SUCCESS) {
		t->ready = true;
		tls_log_session(c);
		return 1;
	}
	if (r == GNUTLS_E_AGAIN || !gnutls_error_is_fatal(r)) {
		*want_write = gnutls_record_get_direction(t->s) == 1;
		return 0;
	}
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t	out = { NULL, 0 };
		unsigned	st;

		st = gnutls_session_get_verify_cert_status(t->s);

		if (gnutls_certificate_verification_status_print(st,
		    GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(why, whylen, "TLS handshake: client "
			    "certificate refused: %s", out.data);
			gnutls_free(out.data);
			return -1;
		}
	}
	if (t->psk_unknown)
		snprintf(why, whylen, "TLS handshake: unknown PSK user '%s'",
		    t->psk_user);
	else if ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
	    t->io_errno != 0)
		snprintf(why, whylen, "TLS handshake: %s",
		    strerror(t->io_errno));
	else if (t->psk_user[0] != '\0')
		/* TLS 1.3 reports a wrong key as an illegal parameter. */
		snprintf(why, whylen, "TLS handshake, PSK user '%s': %s%s",
		    t->psk_user, gnutls_strerror(r),
		    r == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER ||
		    r == GNUTLS_E_DECRYPTION_FAILED ? " (wrong key?)" : "");
	else
		snprintf(why, whylen, "TLS handshake: %s", gnutls_strerror(r));
	return -1;
}

/* Load server-cert.pem/server-key.pem (and the CA, CRL) from dir. */
static int
tls_load_x509(const char *dir)
{
	char	ca[4200], crl[4200], cert[4200], key[4200];
	int	r;

	if (snprintf(cert, sizeof(cert), "%s/server-cert.pem", dir) >=
	    (int)sizeof(cert)) {
		log_err("TLS certificates directory %s: path too long", dir);
		return -1;
	}
	snprintf(key, sizeof(key), "%s/server-key.pem", dir);
	snprintf(ca, sizeof(ca), "%s/ca-cert.pem", dir);
	snprintf(crl, sizeof(crl), "%s/ca-crl.pem", dir);
	if ((r = gnutls_certificate_allocate_credentials(&tls.x509)) < 0) {
		log_err("TLS: %s", gnutls_strerror(r));
		return -1;
	}
	if (access(cert, R_OK) == -1 || access(key, R_OK) == -1) {
		log_err("TLS certificates directory %s: need server-cert.pem "
		    "and server-key.pem: %s%s", dir, strerror(errno),
		    broker.cfg.tls_certificates == NULL ? " (this is the "
		    "default; see --tls-certificates and --tls-psk)" : "");
		return -1;
	}
	if ((r = gnutls_certificate_set_x509_key_file(tls.x509, cert, key,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		log_err("TLS: %s, %s: %s", cert, key, gnutls_strerror(r));
		return -1;
	}
	if (access(ca, R_OK) == 0) {
		if ((r = gnutls_certificate_set_x509_trust_file(tls.x509, ca,
		    GNUTLS_X509_FMT_PEM)) < 0) {
			log_err("TLS: %s: %s", ca, gnutls_strerror(r));
			return -1;
		}
	} else if (tls.verify_peer) {
		log_err("--tls-verify-peer: %s: %s (client certificates are "
		    "checked against this CA)", ca, strerror(errno));
		return -1;
	}
	if (access(crl, R_OK) == 0 &&
	    (r = gnutls_certificate_set_x509_crl_file(tls.x509, crl,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		log_err("TLS: %s: %s", crl, gnutls_strerror(r));
		return -1;
	}
	gnutls_certificate_set_known_dh_params(tls.x509,
	    GNUTLS_SEC_PARAM_MEDIUM);
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Parse one "username:hexkey" line of a PSK file into u.  Returns 0,
 * or -1 with a message in why.
 */
static int
tls_psk_parse(char *line, struct tls_psk_user *u, char *why, size_t whylen)
{
	char	*colon = strchr(line, ':'), *hex;
	size_t	 hl, i;

	if (colon == NULL || colon == line) {
		snprintf(why, whylen, "expected username:hexkey");
		return -1;
	}
	*colon = '\0';
	hex = colon + 1;
	if (strlen(line) > TLS_PSK_MAX_USER) {
		snprintf(why, whylen, "username longer than %d bytes",
		    TLS_PSK_MAX_USER);
		return -1;
	}
	hl = strlen(hex);
	if (hl == 0 || hl % 2 != 0 || hl / 2 > TLS_PSK_MAX_KEY) {
		snprintf(why, whylen, "the key must be 1 to %d bytes in hex",
		    TLS_PSK_MAX_KEY);
		return -1;
	}
	if ((u->name = strdup(line)) == NULL ||
	    (u->key = malloc(hl / 2)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	u->keylen = hl / 2;
	for (i = 0; i < hl / 2; i++) {
		int	hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(why, whylen, "the key is not hexadecimal");
			return -1;
		}
		u->key[i] = hi << 4 | lo;
	}
	return 0;
}

/*
 * Read a psktool(1) file: one "username:hexkey" per line.  Blank lines
 * and lines starting with '#' are skipped; anything else malformed is
 * an error naming the line.  The file's bytes are wiped after use.
 */
static int
tls_load_psk(const char *path)
{
	FILE		*fp;
	struct stat	 st;
	char		*line = NULL, why[128];
	size_t		 cap = 0, lineno = 0, i;
	ssize_t		 len;
	int		 r, ret = -1;

	if ((fp = fopen(path, "re")) == NULL) {
		log_err("--tls-psk %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 0044))
		log_warn("--tls-psk %s: the keys are readable by other users "
		    "(chmod 0600)", path);
	while ((len = getline(&line, &cap, fp)) != -1) {
		struct tls_psk_user	*nu, u = { NULL, NULL, 0 };

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (tls_psk_parse(line, &u, why, sizeof(why)) == -1) {
			log_err("--tls-psk %s:%zu: %s", path, lineno, why);
			goto free_u;
		}
		for (i = 0; i < tls.nusers; i++)
			if (strcmp(tls.users[i].name, u.name) == 0) {
				log_err("--tls-psk %s:%zu: user '%s' appears "
				    "twice", path, lineno, u.name);
				goto free_u;
			}
		nu = reallocarray(tls.users, tls.nusers + 1, sizeof(*nu));
		if (nu == NULL) {
			log_err("--tls-psk: %s", strerror(errno));
			goto free_u;
		}
		tls.users = nu;
		tls.users[tls.nusers++] = u;
		continue;
 free_u:
		free(u.name);
		if (u.key != NULL)
			explicit_bzero(u.key, u.keylen);
		free(u.key);
		goto out;
	}
	if (ferror(fp)) {
		log_err("--tls-psk %s: %s", path, strerror(errno));
		goto out;
	}
	if (tls.nusers == 0) {
		log_err("--tls-psk %s: no username:key lines", path);
		goto out;
	}
	if ((r = gnutls_psk_allocate_server_credentials(&tls.psk)) < 0) {
		log_err("TLS: %s", gnutls_strerror(r));
		goto out;
	}
	gnutls_psk_set_server_credentials_function(tls.psk, tls_psk_lookup);
	ret = 0;
 out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(fp);
	return ret;
}

/*
 * Load the credentials --tls-psk or --tls-certificates (or the default
 * directory) name.  Start-up only; errors are logged, -1 returned.
 */
int
tls_init(void)
{
	const struct config	*cfg = &broker.cfg;
	const char		*err = NULL;
	int			 r;

	if ((r = gnutls_global_init()) < 0) {
		log_err("TLS: gnutls_global_init: %s", gnutls_strerror(r));
		return -1;
	}
	tls.verify_peer = cfg->tls_verify_peer;
	if (cfg->tls_psk != NULL) {
		if (tls_load_psk(cfg->tls_psk) == -1)
			return -1;
	} else {
		snprintf(tls.dir, sizeof(tls.dir), "%s",
		    cfg->tls_certificates != NULL ? cfg->tls_certificates :
		    tls_default_dir());
		if (tls_load_x509(tls.dir) == -1)
			return -1;
	}
	r = gnutls_priority_init2(&tls.prio, tls.psk != NULL ? TLS_PRIO_PSK :
	    TLS_PRIO_X509, &err, GNUTLS_PRIORITY_INIT_DEF_APPEND);
	if (r < 0) {
		log_err("TLS: priority string, at '%s': %s", err ? err : "?",
		    gnutls_strerror(r));
		return -1;
	}
	log_debug("TLS: %s", tls.psk != NULL ? "pre-shared keys" :
	    "X.509 certificates");
	return 0;
}

/* Free the credentials and wipe the PSK keys. */
void
tls_cleanup(void)
{
	size_t	i;

	for (i = 0; i < tls.nusers; i++) {
		explicit_bzero(tls.users[i].key, tls.users[i].keylen);
		free(tls.users[i].key);
		free(tls.users[i].name);
	}
	free(tls.users);
	tls.users = NULL;
	tls.nusers = 0;
	if (tls.psk != NULL)
		gnutls_psk_free_server_credentials(tls.psk);
	if (tls.x509 != NULL)
		gnutls_certificate_free_credentials(tls.x509);
	if (tls.prio != NULL)
		gnutls_priority_deinit(tls.prio);
	tls.psk = NULL;
	tls.x509 = NULL;
	tls.prio = NULL;
}
