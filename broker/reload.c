/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live reload: SIGHUP replaces the plugin (and its filters) and the
 * sandbox policy under connected clients, which notice nothing.
 *
 * 1. The policy file is read again with the checks of start-up
 *    (policy-load.c); one that fails refuses the whole reload.
 * 2. Per backend, its next worker starts (a "probe" backend on the
 *    same arenas, on the ring set the current worker does not use)
 *    with the new policy; the plugin's .so is dlopened by path, so a
 *    file replaced by rename is the one it loads.  Every export a
 *    connection has open is opened on it and must look as before: the
 *    same size, FUA and cache modes, and no capability fewer
 *    (sup_export_fits, the rule of crash restarts).  A start that
 *    fails, an open that fails or an export that differs refuses the
 *    reload for that backend: its worker keeps serving.  A volatile
 *    plugin (durability volatile or unspecified) that has accepted
 *    writes is refused before that, unless the reload is forced
 *    (SIGUSR2): the data would not follow.
 * 3. Each backend that passed is switched: it stops sending (requests
 *    wait in its pending queue, reload_hold), lets its worker finish
 *    what it has in flight (a request that takes longer than the
 *    request timeout gets the worker killed and is replayed, as after
 *    a crash), sends one FLUSH if the worker accepted writes (a write
 *    the old plugin acknowledged is then on stable storage before any
 *    request reaches the new one), then takes the new worker over
 *    (backend_swap): the connections get the handles it opened, the
 *    pending queue goes to it in order, and the old worker is hung up
 *    on (it closes its handles, unloads the plugin and exits; killed if
 *    it lingers).  Nothing is in flight at the switch: no request is
 *    lost, run twice or reordered.
 *
 * One reload at a time; a signal during one starts another after it.
 * One log line per backend: switched (old and new worker, plugin
 * version, switch time, requests finished on the old worker, replayed)
 * or refused (why).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#define RELOAD_MAX_OLD		64	/* replaced workers not yet reaped */
#define RELOAD_TAIL_MAX		600
#define RELOAD_CHECK_MS		(30 * 1000)	/* the next worker's check */

enum reload_step {
	RL_CHECK,		/* the next worker checks the exports */
	RL_DRAIN,		/* holding: the old worker finishes */
	RL_FLUSH,		/* ... then flushes */
	RL_FLUSHED,		/* its FLUSH answered */
	RL_START,		/* the old worker was lost: restarting */
};

/* A handle the next worker opened, for the connection conn_id. */
struct reload_handle {
	uint64_t	conn_id;
	uint64_t	handle;
};

/*
 * A backend's part in a reload (be->reload; its probe points here
 * too).
 */
struct reload_be {
	struct backend		*be;
	struct backend		*probe;		/* its next worker, or NULL */
	enum reload_step	 step;
	struct event		*ev;		/* the next step, deferred */
	struct event		*ev_check;	/* the check takes too long */
	char			 refused[2048];	/* why not; "" if not refused */
	bool			 lost_data;	/* forced: volatile data goes */
	unsigned		 opens;		/* the probe's answers awaited */
	struct reload_handle	*h;		/* what the probe opened */
	size_t			 nh;
	char			 version[128];	/* the new plugin's, escaped */
	uint64_t		 hold_us;	/* stopped sending at */
	unsigned		 held;		/* data requests then in flight */
	unsigned		 replayed;	/* ... taken back, killed */
	pid_t			 old_pid;
	int			 flush_err;
};

static struct {
	bool		 busy;
	bool		 force;
	bool		 again, again_force;	/* signalled meanwhile */
	unsigned	 nbe;		/* backends with a reload_be */
	unsigned	 switched, refused;
	struct event	*ev_done;	/* maybe the reload is over */
	struct event	*ev_kill;	/* replaced workers that linger */
	struct event	*ev_retry;	/* ... delay the next reload */
	bool		 retry_force;
	struct {
		pid_t		pid;
		uint64_t	deadline_ms;
	}		 old[RELOAD_MAX_OLD];
} rl;

static void	reload_begin(bool force);

static uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
defer(struct event *ev)
{
	if (ev != NULL)
		event_active(ev, EV_TIMEOUT, 0);
}

/* The key=value tail of a reload's log lines. */
static const char *
tail(const struct backend *be, char *buf, size_t len)
{
	const struct policy	*p = policy_load_parsed();

	buf[0] = '\0';
	log_kv(buf, len, "plugin", backend_name(be));
	if (p != NULL && p->file != NULL)
		log_kv(buf, len, "policy", p->file);
	return buf;
}

/*
 * The probe is not needed any more: hang up on it (freed once reaped,
 * reload_probe_gone).  As a loss, so that opens it did not answer
 * unpin their connections.
 */
static void
drop_probe(struct reload_be *st, const char *why)
{
	struct backend	*probe = st->probe;

	if (probe == NULL)
		return;
	st->probe = NULL;
	probe->reload = NULL;
	if (probe->fd != -1 && probe->ninflight == 0 &&
	    TAILQ_EMPTY(&probe->pending))
		backend_retire(probe);
	else
		sup_worker_lost(probe, why);
}

static void
state_free(struct backend *be)
{
	struct reload_be	*st = be->reload;

	if (st == NULL)
		return;
	drop_probe(st, "reload over");
	be->reload = NULL;
	if (st->ev != NULL)
		event_free(st->ev);
	if (st->ev_check != NULL)
		event_free(st->ev_check);
	free(st->h);
	free(st);
	rl.nbe--;
	defer(rl.ev_done);
	spare_later(be);	/* with the policy and plugin now current */
}

/* be keeps its worker: say why. */
static void
refuse(struct backend *be, const char *why)
{
	char	t[RELOAD_TAIL_MAX];

	log_warn("reload: plugin %s: refused, worker %d keeps serving: %s%s",
	    backend_name(be), (int)be->pid, why, tail(be, t, sizeof(t)));
	metrics.reloads_refused++;
	rl.refused++;
	state_free(be);
}

/* Replaced workers: reaped by sup_reaped, killed if they linger. */

static void
kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv = { 0, 250 * 1000 };
	uint64_t	now = now_ms();
	bool		left = false;
	size_t		i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < RELOAD_MAX_OLD; i++) {
		if (rl.old[i].pid <= 0)
			continue;
		if (now >= rl.old[i].deadline_ms) {
			log_warn("reload: replaced worker %d did not exit: "
			    "killing it", (int)rl.old[i].pid);
			kill(rl.old[i].pid, SIGKILL);
			rl.old[i].deadline_ms = UINT64_MAX;
		}
		left = true;
	}
	if (left)
		evtimer_add(rl.ev_kill, &tv);
}

static void
watch_old(pid_t pid)
{
	struct timeval	tv = { 0, 250 * 1000 };
	size_t		i;

	if (pid <= 0)
		return;
	for (i = 0; i < RELOAD_MAX_OLD; i++)
		if (rl.old[i].pid <= 0) {
			rl.old[i].pid = pid;
			rl.old[i].deadline_ms = now_ms() + RESTART_RETIRE_MS;
			if (rl.ev_kill != NULL &&
			    !evtimer_pending(rl.ev_kill, NULL))
				evtimer_add(rl.ev_kill, &tv);
			return;
		}
}

/*
 * A child was reaped that is no backend's worker: if it is a worker a
 * forced reload replaced, count it (an expected exit).  True if it was
 * one.
 */
bool
reload_reaped(pid_t pid, int status)
{
	size_t	i;

	for (i = 0; i < RELOAD_MAX_OLD; i++)
		if (rl.old[i].pid == pid) {
			rl.old[i].pid = 0;
			metrics_worker_reaped(pid, status, true);
			log_debug("reload: replaced worker %d is gone",
			    (int)pid);
			return true;
		}
	return false;
}

/* Switching. */

/* A connection of be that can carry its FLUSH, or NULL. */
static struct conn *
flush_conn(struct backend *be)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &be->conns, belink)
		if (c->state >= CONN_ST_TX && (c->flags & CONN_HANDLE_OPEN) &&
		    !(c->flags & (CONN_DEAD | CONN_STALE | CONN_REOPENING)) &&
		    (c->caps & RPC_CAP_FLUSH))
			return c;
	return NULL;
}

/* The handle the probe opened for c (taken: 0 left behind), or 0. */
static uint64_t
take_handle(struct reload_be *st, const struct conn *c)
{
	uint64_t	h;
	size_t		i;

	for (i = 0; i < st->nh; i++)
		if (st->h[i].conn_id == c->id && st->h[i].handle != 0) {
			h = st->h[i].handle;
			st->h[i].handle = 0;
			return h;
		}
	return 0;
}

/*
 * be's connections move to the new worker: those the probe opened an
 * export for take that handle; one that opened meanwhile re-opens, as
 * after a crash; a handle left from the old worker is dropped with it
 * (closes of old handles waiting in pending are moot).  Handles the
 * probe opened for connections gone meanwhile are closed.
 */
static void
move_conns(struct reload_be *st)
{
	struct backend	*be = st->be;
	struct conn	*c;
	struct req	*r, *next;
	uint64_t	 h;
	size_t		 i;

	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (r->kind == REQ_CLOSE)
			backend_fail(be, r, EIO);
	}
	TAILQ_FOREACH(c, &be->conns, belink) {
		if (!(c->flags & CONN_HANDLE_OPEN))
			continue;
		c->flags &= ~CONN_HANDLE_OPEN;
		if (c->state < CONN_ST_TX || (c->flags & CONN_DEAD))
			continue;	/* an NBD_OPT_INFO handle: gone */
		if ((h = take_handle(st, c)) != 0) {
			backend_take_handle(c, h);
			continue;
		}
		if ((r = req_new(be, REQ_OPEN, c)) == NULL) {
			conn_log(c, LOG_ERR, "reload: cannot re-open: out of "
			    "memory");
			c->flags |= CONN_STALE;
			backend_fail_conn(be, c, EIO);
			conn_close_after_output(c);
			continue;
		}
		c->flags |= CONN_REOPENING;
		r->reopen = true;
		c->inflight++;
		backend_submit_first(be, r);
	}
	for (i = 0; i < st->nh; i++) {
		if (st->h[i].handle == 0 ||
		    (r = req_new(be, REQ_CLOSE, NULL)) == NULL)
			continue;
		r->handle = st->h[i].handle;
		backend_submit(be, r);
	}
}

/* Drained (and flushed): the new worker takes over. */
static void
switch_worker(struct reload_be *st)
{
	struct backend	*be = st->be, *probe = st->probe;
	char		 t[RELOAD_TAIL_MAX];
	uint64_t	 us;
	pid_t		 old = be->pid;

	be->reload_hold = false;
	if (st->lost_data) {
		/* Forced, volatile: as a crash that drops the data. */
		drop_probe(st, "reload: not needed");
		st->step = RL_START;
		st->old_pid = sup_switch(be, true);
		watch_old(st->old_pid);
		return;
	}
	if (backend_swap(be, probe) == -1) {
		/* be has the new worker, maybe deaf: as a crash. */
		sup_worker_lost(be, "reload: out of memory");
		state_free(be);
		return;
	}
	/* The probe holds the old worker now: hang up on it. */
	st->probe = NULL;
	probe->reload = NULL;
	move_conns(st);
	backend_retire(probe);
	us = now_us() - st->hold_us;
	log_info("reload: plugin %s: switched: worker %d -> %d, version %s, "
	    "switch %" PRIu64 ".%03" PRIu64 " ms, %u request(s) finished on "
	    "the old worker, 0 replayed%s", backend_name(be), (int)old,
	    (int)be->pid, st->version[0] ? st->version : "-", us / 1000,
	    us % 1000, st->held, tail(be, t, sizeof(t)));
	metrics.reloads++;
	rl.switched++;
	backend_kick(be);
	state_free(be);
}

/* The hold is off without a switch: what waited goes to the old worker. */
static void
release(struct backend *be, const char *why)
{
	be->reload_hold = false;
	backend_kick(be);
	refuse(be, why);
}

static void
begin_drain(struct backend *be)
{
	struct reload_be	*st = be->reload;
	struct req		*last;

	st->step = RL_DRAIN;
	st->hold_us = now_us();
	st->held = backend_inflight_data(be, &last);
	be->reload_hold = true;
	if (be->ninflight == 0)
		defer(st->ev);
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reload_be	*st = arg;
	struct backend		*be = st->be;
	struct conn		*c;
	struct req		*r;
	char			 why[256];

	(void)fd;
	(void)what;
	backend_pass_begin();
	switch (st->step) {
	case RL_CHECK:
		if (st->opens > 0)
			break;
		if (st->refused[0] != '\0')
			refuse(be, st->refused);
		else
			begin_drain(be);
		break;
	case RL_DRAIN:
		if (be->ninflight > 0 || be->state != BE_ST_READY)
			break;	/* not drained yet; or lost meanwhile */
		if (st->probe == NULL && !st->lost_data) {
			release(be, st->refused[0] ? st->refused :
			    "the new worker was lost");
			break;
		}
		if (be->dirty && !st->lost_data &&
		    (c = flush_conn(be)) != NULL) {
			if ((r = req_new(be, REQ_DATA, c)) == NULL) {
				release(be, "out of memory");
				break;
			}
			r->cmd = NBD_CMD_FLUSH;
			r->internal = true;
			c->inflight++;	/* pins c, as a data request */
			st->step = RL_FLUSH;
			backend_submit(be, r);
			break;
		}
		switch_worker(st);
		break;
	case RL_FLUSHED:
		if (be->ninflight > 0 || be->state != BE_ST_READY)
			break;
		if (st->flush_err != 0) {
			snprintf(why, sizeof(why), "FLUSH on the old worker "
			    "failed: %s", strerror(st->flush_err));
			release(be, why);
			break;
		}
		if (st->probe == NULL && !st->lost_data) {
			release(be, st->refused[0] ? st->refused :
			    "the new worker was lost");
			break;
		}
		switch_worker(st);
		break;
	default:
		break;
	}
	backend_pass_end();
}

/* be's worker has nothing in flight any more (backend_answered). */
void
reload_drained(struct backend *be)
{
	if (be->reload != NULL && be->reload->step == RL_DRAIN)
		defer(be->reload->ev);
}

/* The reload's FLUSH is answered (tx_complete), or failed. */
void
reload_flush_done(struct req *r, int err)
{
	struct conn		*c = r->conn;
	struct reload_be	*st = r->be->reload;

	req_free(r);
	c->inflight--;
	if (st != NULL && st->step == RL_FLUSH) {
		st->flush_err = err;
		st->step = RL_FLUSHED;
		defer(st->ev);
	}
	if (c->flags & CONN_DEAD)
		conn_close(c, NULL);
	else
		tx_inflight_dropped(c);
}

/*
 * The new worker of a backend is ready after a loss during a reload
 * (sup_ready; the crash path restarted it).
 */
void
reload_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd)
{
	struct reload_be	*st = be->reload;
	char			 t[RELOAD_TAIL_MAX], ver[128];
	uint64_t		 us = now_us() - st->hold_us;

	if (st->step != RL_START)
		return;
	log_escape(ver, sizeof(ver), rd->version, strlen(rd->version));
	log_info("reload: plugin %s: switched: worker %d -> %d, version %s, "
	    "switch %" PRIu64 ".%03" PRIu64 " ms, %u request(s) finished on "
	    "the old worker, %u replayed%s%s", backend_name(be),
	    (int)st->old_pid, (int)be->pid, ver[0] ? ver : "-",
	    us / 1000, us % 1000, st->held - st->replayed, st->replayed,
	    st->lost_data ? ", volatile data dropped (forced)" : "",
	    tail(be, t, sizeof(t)));
	metrics.reloads++;
	rl.switched++;
	state_free(be);
}

/*
 * be's worker is lost (worker_lost, before it takes back what was in
 * flight).  While draining: the old worker hung (killed after the
 * request timeout) or crashed; the crash path starts a worker (with
 * the new plugin and policy) and replays what it had.  Its probe is
 * not needed: one process fewer.  Before Ready: the new worker died.
 */
void
reload_worker_lost(struct backend *be)
{
	struct reload_be	*st = be->reload;
	struct req		*last;
	char			 why[512];

	switch (st->step) {
	case RL_CHECK:
		snprintf(why, sizeof(why), "worker %d was lost during the "
		    "check (%s); it is restarted as after a crash",
		    (int)be->pid, be->lost_why);
		refuse(be, why);
		break;
	case RL_DRAIN:
	case RL_FLUSH:
	case RL_FLUSHED:
		st->replayed = backend_inflight_data(be, &last);
		st->old_pid = be->pid;
		be->reload_hold = false;
		st->step = RL_START;
		drop_probe(st, "reload: not needed");
		log_warn("reload: plugin %s: worker %d did not finish what it "
		    "had in flight (%s): replaying %u request(s) on the new "
		    "worker", backend_name(be), (int)be->pid, be->lost_why,
		    st->replayed);
		break;
	case RL_START:
		log_err("reload: plugin %s: the new worker %d was lost before "
		    "it was ready (%s); restarting it as after a crash",
		    backend_name(be), (int)be->pid, be->lost_why);
		state_free(be);
		break;
	}
}

/* be is freed (its connection went, with isolation = connection). */
void
reload_backend_gone(struct backend *be)
{
	struct reload_be	*st = be->reload;

	if (be->probe) {
		if (st != NULL && st->probe == be) {
			st->probe = NULL;
			st->opens = 0;	/* unanswered: unpinned with it */
			be->reload = NULL;
			defer(st->ev);
		}
		return;
	}
	state_free(be);
}

/* The next worker. */

/* The probe is ready: open every export its backend's connections have. */
void
reload_probe_ready(struct backend *probe, const Nbdbroker__Rpc__Ready *rd)
{
	struct reload_be	*st = probe->reload;
	struct conn		*c;
	struct req		*r;

	if (st == NULL)
		return;		/* not needed any more */
	log_escape(st->version, sizeof(st->version), rd->version,
	    strlen(rd->version));
	log_info("reload: plugin %s: new worker %d ready (version %s): "
	    "checking the open exports", rd->name, (int)probe->pid,
	    st->version[0] ? st->version : "-");
	TAILQ_FOREACH(c, &st->be->conns, belink) {
		if (c->state < CONN_ST_TX || !(c->flags & CONN_HANDLE_OPEN) ||
		    (c->flags & (CONN_DEAD | CONN_STALE | CONN_REOPENING)))
			continue;
		if ((r = req_new(probe, REQ_OPEN, c)) == NULL) {
			snprintf(st->refused, sizeof(st->refused),
			    "out of memory");
			break;
		}
		r->reopen = true;	/* answered to sup_reopen_done */
		c->inflight++;		/* pins c */
		backend_submit(probe, r);
		st->opens++;
	}
	if (st->opens == 0)
		defer(st->ev);
}

/* The probe answered the open of c's export. */
void
reload_probe_opened(struct backend *probe, struct conn *c,
    const Nbdbroker__Rpc__OpenReply *rep)
{
	struct reload_be	*st = probe->reload;
	struct reload_handle	*v;
	char			 en[CONN_LOG_NAME];

	if (st == NULL)
		return;		/* not needed any more: it is hung up on */
	if (st->opens > 0 && --st->opens == 0)
		defer(st->ev);
	if (rep->err == 0) {
		if ((v = reallocarray(st->h, st->nh + 1, sizeof(*v))) ==
		    NULL) {
			snprintf(st->refused, sizeof(st->refused),
			    "out of memory");
			return;
		}
		st->h = v;
		st->h[st->nh].conn_id = c->id;
		st->h[st->nh].handle = rep->handle;
		st->nh++;
	}
	if (st->refused[0] != '\0')
		return;
	conn_escape(en, sizeof(en), c->export_name);
	if (rep->err != 0)
		snprintf(st->refused, sizeof(st->refused), "export '%s' "
		    "(conn %" PRIu64 "): open on the new worker failed: %s",
		    en, c->id, strerror(rep->err));
	else if (!sup_export_fits(c, rep))
		snprintf(st->refused, sizeof(st->refused), "export '%s' "
		    "(conn %" PRIu64 ") differs on the new worker: size %"
		    PRId64 " -> %" PRId64 ", caps 0x%x -> 0x%x, fua %u -> %u,"
		    " cache %u -> %u", en, c->id, c->size, rep->size,
		    c->caps, hs_client_caps(rep->caps), c->fua, rep->fua,
		    c->cache, rep->cache);
}

/*
 * The probe's process is gone (or never ran): if its backend still
 * counted on it, the new worker failed.  Frees it.
 */
void
reload_probe_gone(struct backend *probe)
{
	struct reload_be	*st = probe->reload;

	if (st != NULL && st->probe == probe && st->refused[0] == '\0')
		snprintf(st->refused, sizeof(st->refused), "the new worker "
		    "failed: %s", probe->last_failure[0] ?
		    probe->last_failure : probe->lost_why[0] ?
		    probe->lost_why : "no reason given");
	backend_free(probe);	/* reload_backend_gone: tells st */
}

/* The end of a reload: every backend switched or refused. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!rl.busy || rl.nbe > 0)
		return;
	rl.busy = false;
	if (rl.switched == 0 && rl.refused > 0) {
		policy_load_revert();
		options_apply_policy();
		log_warn("reload: refused: the workers keep serving with the "
		    "previous sandbox policy and plugin");
	} else
		log_info("reload: done: %u worker(s) switched, %u refused",
		    rl.switched, rl.refused);
	if (rl.again && !broker.shutting_down) {
		bool	force = rl.again_force;

		rl.again = rl.again_force = false;
		reload_begin(force);
	}
}

/* Starting. */

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!broker.shutting_down)
		reload_begin(rl.retry_force);
}

static int
init_events(void)
{
	if (rl.ev_done != NULL)
		return 0;
	rl.ev_done = event_new(broker.base, -1, 0, done_cb, NULL);
	rl.ev_kill = evtimer_new(broker.base, kill_cb, NULL);
	rl.ev_retry = evtimer_new(broker.base, retry_cb, NULL);
	if (rl.ev_done == NULL || rl.ev_kill == NULL || rl.ev_retry == NULL)
		return -1;
	return 0;
}

/*
 * Is a worker the last reload replaced still exiting?  It may still
 * look at the ring set the next worker would take: wait for it (it is
 * killed 2 s after the switch at most).
 */
bool
reload_lingering(void)
{
	struct backend	*be;
	size_t		 i;

	TAILQ_FOREACH(be, &broker.backends, link)
		if (be->probe && be->retiring && be->pid > 0)
			return true;
	for (i = 0; i < RELOAD_MAX_OLD; i++)
		if (rl.old[i].pid > 0)
			return true;
	return false;
}

/* Does be hold data that only its worker has? */
static bool
holds_volatile_data(const struct backend *be)
{
	return be->dirty && (be->durability == RPC_DURABILITY_VOLATILE ||
	    be->durability == RPC_DURABILITY_UNSPECIFIED);
}

/*
 * The next worker did not get ready, or did not answer its opens, in
 * time (with request-timeout = 0 nothing else would end the wait).
 */
static void
check_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reload_be	*st = arg;

	(void)fd;
	(void)what;
	if (st->step != RL_CHECK || st->probe == NULL)
		return;
	if (st->refused[0] == '\0')
		snprintf(st->refused, sizeof(st->refused), "the new worker "
		    "%d did not answer within %d s", (int)st->probe->pid,
		    RELOAD_CHECK_MS / 1000);
	st->opens = 0;
	drop_probe(st, "reload: the check took too long");
	defer(st->ev);
}

/* be takes part in this reload: its reload_be, its probe.  0 or -1. */
static int
enlist(struct backend *be)
{
	struct reload_be	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	if ((st->ev = event_new(broker.base, -1, 0, step_cb, st)) == NULL) {
		free(st);
		return -1;
	}
	st->be = be;
	st->step = RL_CHECK;
	be->reload = st;
	rl.nbe++;
	if (holds_volatile_data(be)) {
		if (!rl.force) {
			snprintf(st->refused, sizeof(st->refused), "the "
			    "plugin keeps its data in its worker (durability "
			    "%s) and it has accepted writes, which a new "
			    "worker would not have; to reload it anyway, "
			    "losing that data (its connections get errors, "
			    "new ones a fresh disk), send SIGUSR2 (kill -USR2 "
			    "%d)", be->durability == RPC_DURABILITY_VOLATILE ?
			    "volatile" : "unspecified", (int)getpid());
			defer(st->ev);
			return 0;
		}
		st->lost_data = true;	/* nothing to check: it restarts */
		defer(st->ev);
		return 0;
	}
	if ((st->probe = backend_new_probe(be)) == NULL) {
		snprintf(st->refused, sizeof(st->refused), "cannot set up a "
		    "new worker: out of memory");
		defer(st->ev);
		return 0;
	}
	st->probe->reload = st;
	if ((st->ev_check = evtimer_new(broker.base, check_timeout_cb,
	    st)) != NULL) {
		struct timeval	tv = { RELOAD_CHECK_MS / 1000, 0 };

		evtimer_add(st->ev_check, &tv);
	}
	if (sup_start(st->probe) == -1) {
		snprintf(st->refused, sizeof(st->refused), "cannot start a "
		    "new worker: %s", strerror(errno));
		st->probe->reload = NULL;
		backend_free(st->probe);
		st->probe = NULL;
		defer(st->ev);
	}
	return 0;
}

static void
reload_begin(bool force)
{
	struct backend	*be, *next;
	char		 err[1024];

	if (init_events() == -1) {
		log_err("reload: refused: out of memory");
		return;
	}
	if (reload_lingering()) {
		struct timeval	tv = { 0, 10 * 1000 };

		log_debug("reload: a replaced worker is still exiting: "
		    "waiting for it");
		rl.retry_force = force;
		rl.busy = true;		/* signals meanwhile come after */
		rl.switched = rl.refused = 0;
		evtimer_add(rl.ev_retry, &tv);
		return;
	}
	rl.busy = false;
	log_info("reload%s: reading sandbox policy %s again and starting "
	    "plugin %s in new workers", force ? " (forced)" : "",
	    broker.cfg.policy_path ? broker.cfg.policy_path : "-",
	    broker.cfg.plugin_path ? broker.cfg.plugin_path :
	    broker.cfg.plugin_arg);
	if (policy_load_reload(err, sizeof(err)) == -1) {
		log_err("reload: refused, the workers keep serving: %s", err);
		metrics.reloads_refused++;
		return;
	}
	options_apply_policy();
	/* Before the probes: they take the spares' ring sets. */
	spare_discard_all();
	rl.busy = true;
	rl.force = force;
	rl.switched = rl.refused = 0;
	/* Probes are added at the tail: they are not walked here. */
	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->probe || be->retiring || be->reload != NULL ||
		    be->state != BE_ST_READY)
			continue;	/* a starting worker is new already */
		if (enlist(be) == -1)
			log_err("reload: plugin %s: out of memory",
			    backend_name(be));
	}
	if (rl.nbe == 0) {
		log_info("reload: no worker running; new ones start with the "
		    "new policy and plugin");
		defer(rl.ev_done);
	}
}

/* SIGHUP (force: SIGUSR2). */
void
reload_request(bool force)
{
	if (broker.shutting_down || !broker.started)
		return;
	if (rl.busy) {
		log_info("reload: one is in progress; another follows it");
		rl.again = true;
		rl.again_force |= force;
		return;
	}
	rl.again_force = false;
	reload_begin(force);
}

/*
 * Shutdown: a switch in progress is dropped (what waits goes to the
 * worker that is there), and so are the probes.
 */
void
reload_stop(void)
{
	struct backend	*be, *next;

	rl.again = false;
	if (rl.ev_retry != NULL)
		evtimer_del(rl.ev_retry);
	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->reload == NULL || be->probe)
			continue;
		if (be->reload_hold) {
			be->reload_hold = false;
			backend_kick(be);
		}
		state_free(be);
	}
	rl.busy = false;
}
