/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire form of a resolved policy (nbdbroker-policy.proto): encoded
 * by the broker into Config.policy, decoded by the worker before it
 * locks itself down.  The decoder checks ranges, so a bug in the
 * broker cannot turn into an out-of-range action in the worker.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbdbroker-policy.pb-c.h"
#include "policy.h"

typedef Nbdbroker__Policy__Compiled	WireCompiled;
typedef Nbdbroker__Policy__Syscall	WireSyscall;
typedef Nbdbroker__Policy__Path		WirePath;

/*
 * Encode a resolved policy.  *buf is new (free it); returns 0 or -1
 * (ENOMEM, or EINVAL if p is not resolved).
 */
int
policy_encode(const struct policy *p, uint8_t **buf, size_t *len)
{
	WireCompiled	  c = NBDBROKER__POLICY__COMPILED__INIT;
	WireSyscall	 *sv = NULL, **sp = NULL;
	WirePath	 *pv = NULL, **pp = NULL;
	uint32_t	 *ports = NULL;
	size_t		  i, n = 0;
	int		  r = -1;

	*buf = NULL;
	*len = 0;
	if (!p->resolved) {
		errno = EINVAL;
		return -1;
	}
	if ((sv = calloc(p->nsc + 1, sizeof(*sv))) == NULL ||
	    (sp = calloc(p->nsc + 1, sizeof(*sp))) == NULL ||
	    (pv = calloc(p->npaths + 1, sizeof(*pv))) == NULL ||
	    (pp = calloc(p->npaths + 1, sizeof(*pp))) == NULL ||
	    (ports = calloc(p->nports + 1, sizeof(*ports))) == NULL)
		goto out;
	for (i = 0; i < p->nsc; i++) {
		nbdbroker__policy__syscall__init(&sv[i]);
		sv[i].nr = p->sc[i].nr;
		sv[i].name = p->sc[i].name;
		sv[i].startup = p->sc[i].startup;
		sv[i].serving = p->sc[i].serving;
		sv[i].kill = p->sc[i].kill;
		sv[i].enosys = p->sc[i].enosys;
		sp[i] = &sv[i];
	}
	for (i = 0; i < p->npaths; i++) {
		if (p->paths[i].path == NULL)	/* unresolved ${NAME} */
			continue;
		nbdbroker__policy__path__init(&pv[n]);
		pv[n].path = p->paths[i].path;
		pv[n].access = p->paths[i].access;
		pv[n].startup_only = p->paths[i].startup_only;
		pv[n].optional = p->paths[i].optional;
		pv[n].dev = p->paths[i].dev;
		pv[n].ino = p->paths[i].ino;
		pp[n] = &pv[n];
		n++;
	}
	for (i = 0; i < p->nports; i++)
		ports[i] = p->ports[i];
	c.version = POLICY_WIRE_VERSION;
	c.file = p->file;
	c.mode = p->mode;
	c.isolation = p->isolation;
	c.dflt = p->dflt;
	c.dflt_errno = p->dflt_errno;
	c.arch = p->arch;
	c.n_syscalls = p->nsc;
	c.syscalls = sp;
	c.landlock = p->landlock;
	c.n_paths = n;
	c.paths = pp;
	c.net = p->net;
	c.n_ports = p->nports;
	c.ports = ports;
	c.memory = p->memory;
	c.open_files = p->open_files;
	c.cpu_seconds = p->cpu_seconds;
	c.switch_user = p->switch_user;
	c.no_behalf = p->no_behalf;
	c.user = (char *)(p->user_keep ? "keep" : p->user ? p->user :
	    "nobody");
	c.uid = p->uid;
	c.gid = p->gid;
	*len = nbdbroker__policy__compiled__get_packed_size(&c);
	if ((*buf = malloc(*len ? *len : 1)) == NULL)
		goto out;
	nbdbroker__policy__compiled__pack(&c, *buf);
	r = 0;
 out:
	free(sv);
	free(sp);
	free(pv);
	free(pp);
	free(ports);
	if (r == -1)
		errno = ENOMEM;
	return r;
}

static struct policy *
derr(struct policy *p, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct policy *
derr(struct policy *p, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	policy_free(p);
	return NULL;
}

/*
 * Decode what policy_encode made.  Returns a resolved policy (free
 * with policy_free) or NULL with err set.
 */
struct policy *
policy_decode(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	WireCompiled	*c;
	struct policy	*p;
	size_t		 i;

	if (len == 0) {
		snprintf(err, errlen, "the broker sent no sandbox policy");
		return NULL;
	}
	if ((c = nbdbroker__policy__compiled__unpack(NULL, len, buf)) ==
	    NULL) {
		snprintf(err, errlen, "the sandbox policy does not decode");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		nbdbroker__policy__compiled__free_unpacked(c, NULL);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (c->version != POLICY_WIRE_VERSION) {
		p = derr(p, err, errlen, "sandbox policy wire version %u, this "
		    "worker reads %d", c->version, POLICY_WIRE_VERSION);
		goto out;
	}
	if (c->mode > POLICY_MODE_LEARN || c->isolation >
	    POLICY_ISOLATION_CONNECTION || c->dflt > POLICY_DEFAULT_ALLOW ||
	    c->dflt_errno < 0 || c->dflt_errno > 4095 ||
	    c->landlock > POLICY_LANDLOCK_OFF || c->net > (POLICY_NET_UNIX |
	    POLICY_NET_TCP_CONNECT | POLICY_NET_ALL | POLICY_NET_HOSTS) || c->n_ports > 65535 ||
	    c->n_syscalls > POLICY_MAX_NR || c->n_paths > 4096) {
		p = derr(p, err, errlen, "sandbox policy out of range");
		goto out;
	}
	p->resolved = true;
	p->mode = c->mode;
	p->isolation = c->isolation;
	p->dflt = c->dflt;
	p->dflt_errno = c->dflt_errno;
	p->arch = c->arch;
	p->landlock = c->landlock;
	p->net = c->net;
	p->memory = c->memory;
	p->open_files = c->open_files;
	p->cpu_seconds = c->cpu_seconds;
	p->switch_user = c->switch_user;
	p->no_behalf = c->no_behalf;
	p->uid = c->uid;
	p->gid = c->gid;
	if ((p->file = strdup(c->file)) == NULL ||
	    (p->user = strdup(c->user)) == NULL ||
	    (p->sc = calloc(c->n_syscalls + 1, sizeof(*p->sc))) == NULL ||
	    (p->paths = calloc(c->n_paths + 1, sizeof(*p->paths))) == NULL ||
	    (p->ports = calloc(c->n_ports + 1, sizeof(*p->ports))) == NULL) {
		p = derr(p, err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < c->n_syscalls; i++) {
		const WireSyscall	*w = c->syscalls[i];
		struct policy_syscall	*s = &p->sc[i];

		if (w->nr >= POLICY_MAX_NR || (w->startup | w->serving) &
		    ~POLICY_ARG_MASK || (!(w->startup & POLICY_ARG_ANY) &&
		    (w->serving & ~w->startup))) {
			p = derr(p, err, errlen, "sandbox policy: bad "
			    "syscall entry %zu", i);
			goto out;
		}
		s->nr = w->nr;
		s->startup = w->startup;
		s->serving = w->serving;
		s->kill = w->kill;
		s->enosys = w->enosys;
		p->nsc++;
		if ((s->name = strdup(w->name)) == NULL) {
			p = derr(p, err, errlen, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < c->n_paths; i++) {
		const WirePath		*w = c->paths[i];
		struct policy_path	*pp = &p->paths[i];

		if (w->path[0] != '/' || w->access & ~(POLICY_ACCESS_READ |
		    POLICY_ACCESS_WRITE | POLICY_ACCESS_EXEC)) {
			p = derr(p, err, errlen, "sandbox policy: bad path "
			    "entry %zu", i);
			goto out;
		}
		pp->access = w->access;
		pp->startup_only = w->startup_only;
		pp->optional = w->optional;
		pp->dev = w->dev;
		pp->ino = w->ino;
		p->npaths++;
		if ((pp->path = strdup(w->path)) == NULL) {
			p = derr(p, err, errlen, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < c->n_ports; i++) {
		if (c->ports[i] == 0 || c->ports[i] > 65535) {
			p = derr(p, err, errlen, "sandbox policy: bad port");
			goto out;
		}
		p->ports[p->nports++] = c->ports[i];
	}
 out:
	nbdbroker__policy__compiled__free_unpacked(c, NULL);
	return p;
}
