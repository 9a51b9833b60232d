/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's parts the fuzz targets leave out, as the harness needs
 * them (fuzz-harness.c holds the harness itself): no policy, sandbox,
 * cgroup, spare, learning or reload ever exists here, so each stands
 * in as "nothing to do", or aborts where being called would mean the
 * harness lost track.  A broker change that calls into one of those
 * files from the linked code needs its stand-in here.
 */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-harness.h"

/*
 * As broker/policy-load.c and tripwire.c, without a policy: the fake
 * workers have no seccomp listener to hand over, so the channel is a
 * socketpair whose broker end is simply closed.
 */
const uint8_t *
policy_load_wire(size_t *len, const char **path)
{
	*len = 0;
	*path = "";
	return NULL;
}

int
tripwire_channel(int *parent, int *child)
{
	int	sv[2];

	*parent = *child = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	*parent = sv[0];
	*child = sv[1];
	return 0;
}

void
tripwire_watch(pid_t pid, int parent)
{
	(void)pid;
	close(parent);
}

void
tripwire_reaped(pid_t pid, int status, char *desc, size_t len)
{
	(void)pid;
	(void)status;
	(void)desc;
	(void)len;
}

/* No sandbox here: nothing was ever denied (deny.c, tripwire.c). */
uint64_t
deny_seq(void)
{
	return 0;
}

bool
tripwire_denied(pid_t pid, uint64_t since, char *buf, size_t len)
{
	(void)pid;
	(void)since;
	(void)buf;
	(void)len;
	return false;
}

/* No seccomp listeners here: just the wait, as before learning mode. */
void
tripwire_wait(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* As broker/cgroup.c where no cgroup can be made: nothing to limit. */
const struct policy *
policy_load_parsed(void)
{
	return NULL;
}

int
cgroup_worker_attach(pid_t pid, const struct policy *p,
    uint64_t arena_bytes, char *desc, size_t desclen)
{
	(void)pid;
	(void)p;
	(void)arena_bytes;
	snprintf(desc, desclen, "no memory cgroup (fuzzing)");
	return 0;
}

int
cgroup_worker_prepare(const struct policy *p, uint64_t arena_bytes,
    int *fdp, char *desc, size_t desclen)
{
	(void)p;
	(void)arena_bytes;
	*fdp = -1;
	snprintf(desc, desclen, "no memory cgroup (fuzzing)");
	return 0;
}

void
cgroup_worker_spawned(pid_t pid)
{
	(void)pid;
}

void
cgroup_worker_abandon(void)
{
}

bool
cgroup_worker_joined(pid_t pid)
{
	(void)pid;
	return true;
}

void
cgroup_worker_release(pid_t pid, char *desc, size_t desclen)
{
	(void)pid;
	(void)desc;
	(void)desclen;
}

void
cgroup_stop(void)
{
}

/* spare.c: the harness never makes a spare, so none is ever used. */
void
spare_later(struct backend *be)
{
	(void)be;
}

int
spare_take(struct backend *be)
{
	(void)be;
	return -1;
}

void
spare_reaped(struct backend *sp, const char *desc)
{
	(void)sp;
	(void)desc;
	abort();
}

void
spare_backend_gone(struct backend *be)
{
	(void)be;
}

/* learn.c: --learn-policy is never on here. */
void
learn_magic_key(const char *key)
{
	(void)key;
}

/*
 * reload.c: no reload is ever started here (no SIGHUP), so no backend
 * has a reload part, no trial worker exists and no FLUSH is internal.
 */
void
reload_probe_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd)
{
	(void)be;
	(void)rd;
	abort();
}

void
reload_probe_opened(struct backend *be, struct conn *c,
    const Nbdbroker__Rpc__OpenReply *rep)
{
	(void)be;
	(void)c;
	(void)rep;
	abort();
}

void
reload_probe_gone(struct backend *be)
{
	(void)be;
	abort();
}

void
reload_drained(struct backend *be)
{
	(void)be;
}

void
reload_flush_done(struct req *r, int err)
{
	(void)r;
	(void)err;
	abort();
}

void
reload_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd)
{
	(void)be;
	(void)rd;
	abort();
}

void
reload_worker_lost(struct backend *be)
{
	(void)be;
	abort();
}

void
reload_backend_gone(struct backend *be)
{
	(void)be;
}

bool
reload_reaped(pid_t pid, int status)
{
	(void)pid;
	(void)status;
	return false;
}
