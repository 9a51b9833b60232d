/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live reload: SIGHUP replaces the plugin (and its filters) and the
 * sandbox policy under connected clients, which notice nothing.
 *
 * 1. The policy file is read again with the checks of start-up
 *    (policy-load.c); one that fails refuses the whole reload.
 * 2. A trial worker (a "probe" backend of its own, with its own arenas)
 *    starts with the new policy; the plugin's .so is dlopened by path,
 *    so a file replaced by rename is the one it loads.  Every export a
 *    connection has open is opened on it and must look as before: the
 *    same size, FUA and cache modes, and no capability fewer
 *    (sup_export_fits, the rule of crash restarts).  A start that
 *    fails, an open that fails or an export that differs refuses the
 *    reload for the backends concerned: their workers keep serving.
 *    A volatile plugin (durability volatile or unspecified) that has
 *    accepted writes is refused before that, unless the reload is
 *    forced (SIGUSR2): the data would not follow.
 * 3. Each backend that passed is switched: it stops sending (requests
 *    wait in its pending queue, reload_hold), lets its worker finish
 *    what it has in flight (a request that takes longer than the
 *    request timeout gets the worker killed and is replayed, as after
 *    a crash), sends one FLUSH if the worker accepted writes (a write
 *    the old plugin acknowledged is then on stable storage before any
 *    request reaches the new one), hangs up on the old worker (it
 *    closes its handles, unloads the plugin and exits; killed if it
 *    lingers) and starts the new one on the arenas' other ring set
 *    (sup_switch).  The connections re-open their handles on it, as
 *    after a crash, and the pending queue goes in its order.  Nothing
 *    is in flight at the switch: no request is lost, run twice or
 *    reordered.
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

enum reload_step {
	RL_CHECK,		/* the trial worker checks the exports */
	RL_DRAIN,		/* holding: the old worker finishes */
	RL_FLUSH,		/* ... then flushes */
	RL_FLUSHED,		/* its FLUSH answered */
	RL_START,		/* old worker gone, the new one starting */
};

/* A backend's part in a reload (be->reload). */
struct reload_be {
	struct backend		*be;
	enum reload_step	 step;
	struct event		*ev;		/* the next step, deferred */
	char			 refused[2048];	/* why not; "" if not refused */
	bool			 lost_data;	/* forced: volatile data goes */
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
	struct backend	*probe;		/* the trial worker, until its verdict */
	unsigned	 opens;		/* its answers still awaited */
	unsigned	 nbe;		/* backends with a reload_be */
	unsigned	 switched, refused;
	struct event	*ev_verdict;	/* the probe's answers are all in */
	struct event	*ev_done;	/* maybe the reload is over */
	struct event	*ev_kill;	/* replaced workers that linger */
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

static void
state_free(struct backend *be)
{
	struct reload_be	*st = be->reload;

	if (st == NULL)
		return;
	be->reload = NULL;
	if (st->ev != NULL)
		event_free(st->ev);
	free(st);
	rl.nbe--;
	defer(rl.ev_done);
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
 * reload replaced, count it (an expected exit).  True if it was one.
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

/* Drained (and flushed): hand over to the next worker. */
static void
switch_worker(struct reload_be *st)
{
	struct backend	*be = st->be;

	be->reload_hold = false;
	st->step = RL_START;
	st->old_pid = sup_switch(be, st->lost_data);
	watch_old(st->old_pid);
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
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reload_be	*st = arg;
	struct backend		*be = st->be;
	struct conn		*c;
	struct req		*r;
	char			 why[256];

	(void)fd;
	(void)what;
	if (be->ninflight > 0 || be->state != BE_ST_READY)
		return;		/* not drained yet; or lost meanwhile */
	backend_pass_begin();
	switch (st->step) {
	case RL_DRAIN:
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
		if (st->flush_err != 0) {
			snprintf(why, sizeof(why), "FLUSH on the old worker "
			    "failed: %s", strerror(st->flush_err));
			release(be, why);
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

/* The new worker of a switched backend is ready (sup_ready). */
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
 * request timeout) or crashed; what it had is replayed on the new one,
 * which the crash path starts.  Before Ready: the new worker died.
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
	if (be == rl.probe) {
		rl.probe = NULL;
		rl.opens = 0;
		defer(rl.ev_verdict);
	}
	state_free(be);
}

/* The trial worker. */

/* Every backend still being checked: refused, with why. */
static void
refuse_checking(const char *why)
{
	struct backend	*be, *next;

	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->reload != NULL && be->reload->step == RL_CHECK &&
		    be->reload->refused[0] == '\0')
			snprintf(be->reload->refused,
			    sizeof(be->reload->refused), "%s", why);
	}
}

/* The trial worker is ready: open every export a connection has open. */
void
reload_probe_ready(struct backend *probe, const Nbdbroker__Rpc__Ready *rd)
{
	struct backend	*be;
	struct conn	*c;
	struct req	*r;
	char		 ver[128];

	log_escape(ver, sizeof(ver), rd->version, strlen(rd->version));
	log_info("reload: new worker %d ready (plugin %s, version %s): "
	    "checking the open exports", (int)probe->pid, rd->name,
	    ver[0] ? ver : "-");
	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->reload == NULL || be->reload->step != RL_CHECK ||
		    be->reload->refused[0] != '\0')
			continue;
		TAILQ_FOREACH(c, &be->conns, belink) {
			if (c->state < CONN_ST_TX ||
			    !(c->flags & CONN_HANDLE_OPEN) ||
			    (c->flags & (CONN_DEAD | CONN_STALE |
			    CONN_REOPENING)))
				continue;
			if ((r = req_new(probe, REQ_OPEN, c)) == NULL) {
				snprintf(be->reload->refused,
				    sizeof(be->reload->refused),
				    "out of memory");
				break;
			}
			r->reopen = true;	/* answered to sup_reopen_done */
			c->inflight++;		/* pins c */
			backend_submit(probe, r);
			rl.opens++;
		}
	}
	if (rl.opens == 0)
		defer(rl.ev_verdict);
}

/* The trial worker answered the open of c's export. */
void
reload_probe_opened(struct backend *probe, struct conn *c,
    const Nbdbroker__Rpc__OpenReply *rep)
{
	struct reload_be	*st = c->be != NULL ? c->be->reload : NULL;
	char			 en[CONN_LOG_NAME];

	(void)probe;
	if (rl.opens > 0 && --rl.opens == 0)
		defer(rl.ev_verdict);
	if (st == NULL || st->step != RL_CHECK || st->refused[0] != '\0')
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
		    c->caps, hs_client_caps(rep->caps), c->fua,
		    rep->fua, c->cache, rep->cache);
}

/*
 * The trial worker's process is gone (or never ran): before its
 * verdict, it failed, and so does the reload.  Frees it.
 */
void
reload_probe_gone(struct backend *probe)
{
	char	why[2048];

	if (probe == rl.probe) {
		snprintf(why, sizeof(why), "the new worker failed: %s",
		    probe->last_failure[0] ? probe->last_failure :
		    probe->lost_why[0] ? probe->lost_why : "no reason given");
		refuse_checking(why);
		rl.probe = NULL;
		rl.opens = 0;
		defer(rl.ev_verdict);
	}
	backend_free(probe);
}

/* All answers are in (or the trial worker is gone): act on them. */
static void
verdict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be, *next;

	(void)fd;
	(void)what;
	(void)arg;
	if (rl.opens > 0)
		return;
	if (rl.probe != NULL) {
		backend_retire(rl.probe);	/* hang up; reaped later */
		rl.probe = NULL;
	}
	backend_pass_begin();
	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->reload == NULL || be->reload->step != RL_CHECK)
			continue;
		if (be->reload->refused[0] != '\0')
			refuse(be, be->reload->refused);
		else
			begin_drain(be);
	}
	backend_pass_end();
	defer(rl.ev_done);
}

/* The end of a reload: every backend switched or refused. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!rl.busy || rl.probe != NULL || rl.nbe > 0)
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

static int
init_events(void)
{
	if (rl.ev_done != NULL)
		return 0;
	rl.ev_verdict = event_new(broker.base, -1, 0, verdict_cb, NULL);
	rl.ev_done = event_new(broker.base, -1, 0, done_cb, NULL);
	rl.ev_kill = evtimer_new(broker.base, kill_cb, NULL);
	if (rl.ev_verdict == NULL || rl.ev_done == NULL || rl.ev_kill == NULL)
		return -1;
	return 0;
}

/* Does be hold data that only its worker has? */
static bool
holds_volatile_data(const struct backend *be)
{
	return be->dirty && (be->durability == RPC_DURABILITY_VOLATILE ||
	    be->durability == RPC_DURABILITY_UNSPECIFIED);
}

/* Take part in this reload: be gets its reload_be.  0 or -1. */
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
	if (!holds_volatile_data(be))
		return 0;
	if (rl.force)
		st->lost_data = true;
	else
		snprintf(st->refused, sizeof(st->refused), "the plugin keeps "
		    "its data in its worker (durability %s) and it has "
		    "accepted writes, which a new worker would not have; "
		    "to reload it anyway, losing that data (its connections "
		    "get errors, new ones a fresh disk), send SIGUSR2 "
		    "(kill -USR2 %d)", be->durability ==
		    RPC_DURABILITY_VOLATILE ? "volatile" : "unspecified",
		    (int)getpid());
	return 0;
}

static void
reload_begin(bool force)
{
	struct backend	*be;
	char		 err[1024];
	bool		 check = false;

	log_info("reload%s: reading sandbox policy %s again and starting "
	    "plugin %s in a new worker", force ? " (forced)" : "",
	    broker.cfg.policy_path ? broker.cfg.policy_path : "-",
	    broker.cfg.plugin_path ? broker.cfg.plugin_path :
	    broker.cfg.plugin_arg);
	if (init_events() == -1) {
		log_err("reload: refused: out of memory");
		return;
	}
	if (policy_load_reload(err, sizeof(err)) == -1) {
		log_err("reload: refused, the workers keep serving: %s", err);
		metrics.reloads_refused++;
		return;
	}
	options_apply_policy();
	rl.busy = true;
	rl.force = force;
	rl.switched = rl.refused = 0;
	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->probe || be->retiring || be->reload != NULL ||
		    be->state != BE_ST_READY)
			continue;	/* a starting worker is new already */
		if (enlist(be) == -1) {
			log_err("reload: plugin %s: out of memory",
			    backend_name(be));
			continue;
		}
		if (be->reload->refused[0] == '\0')
			check = true;
	}
	if (check) {
		if ((rl.probe = backend_new()) == NULL) {
			refuse_checking("cannot make a new backend: out of "
			    "memory");
		} else {
			rl.probe->probe = true;
			if (sup_start(rl.probe) == -1) {
				snprintf(err, sizeof(err), "cannot start a new "
				    "worker: %s", strerror(errno));
				refuse_checking(err);
				backend_free(rl.probe);
				rl.probe = NULL;
			}
		}
	}
	if (rl.probe == NULL)
		defer(rl.ev_verdict);
	if (rl.nbe == 0)
		log_info("reload: no worker running; new ones start with the "
		    "new policy and plugin");
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
 * worker that is there), and so is the trial worker.
 */
void
reload_stop(void)
{
	struct backend	*be, *next;

	rl.again = false;
	if (rl.probe != NULL) {
		struct backend	*probe = rl.probe;

		/*
		 * As a loss, so that its unanswered opens unpin their
		 * connections; freed once reaped (reload_probe_gone).
		 */
		rl.probe = NULL;
		sup_worker_lost(probe, "reload abandoned: shutting down");
	}
	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->reload == NULL)
			continue;
		if (be->reload_hold) {
			be->reload_hold = false;
			backend_kick(be);
		}
		state_free(be);
	}
	rl.busy = false;
}
