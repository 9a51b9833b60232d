/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spare worker (isolation = plugin): once a backend's worker is
 * Ready, the broker starts one more worker process for it, whose
 * Config says hold.  That worker does everything it can without plugin
 * code -- joins its own memory cgroup, attaches the free ring set,
 * opens the plugin and filter files, applies the limits, builds the
 * seccomp filters, prepares Landlock, enters the start-up sandbox and
 * hands the broker its seccomp listener -- and then waits for Start
 * (worker/main.c).  It has loaded no plugin, so it is not a second
 * plugin instance.
 *
 * When the serving worker dies, the restart (supervisor.c, restart_cb,
 * after the intensity and backoff rules as ever) sends Start to the
 * spare instead of spawning: backend_swap gives the backend the
 * spare's worker, socket, doorbell and ring set (the one the dead
 * worker did not use), the dead worker's bits go to the spare's
 * backend, which is freed.  The next spare starts after the new
 * worker is Ready and its re-opens and replay are answered, off the
 * critical path.
 *
 * The spare is a backend of its own on its owner's arenas (like a
 * reload's probe, backend_make), with spare_of set.  It is no serving
 * worker: the metrics count it neither as a start nor as a live
 * worker until it takes over, sup_tick leaves it alone, and its death
 * by itself is logged once and is no crash: its owner's next spare
 * waits one restart period (the policy's intensity period).
 *
 * A reload (SIGHUP) discards every spare before it starts its probes
 * (which take the same ring set) and each backend makes a new one when
 * its reload is over, with the policy and plugin then current; spares
 * carry the reload epoch they were made in, and one of another epoch
 * is never used.  A crash restart loads the .so file the spare opened
 * when it was made (a file replaced since is picked up by SIGHUP).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

static unsigned	epoch;		/* bumped by every reload */

/*
 * After a restart the spare waits until the re-opens and the replay
 * are answered (polled every SPARE_POLL_MS), at most SPARE_WAIT_MS
 * after the Start: spawning blocks the event loop until the child has
 * exec'd, and the new process competes for the CPUs with the worker
 * that serves the replay.  Requests that come later do not hold it
 * back.
 */
#define SPARE_POLL_MS	2
#define SPARE_WAIT_MS	100

/* May be have a spare at all? */
static bool
spare_wanted(const struct backend *be)
{
	return !broker.cfg.no_spare && !broker.cfg.rs.per_connection &&
	    !learn_active() && !broker.shutting_down && !be->retiring &&
	    !be->probe && be->spare_of == NULL && be->reload == NULL;
}

/* Forget sp, the spare of its owner, and free it. */
static void
discard(struct backend *sp)
{
	if (sp->spare_of != NULL)
		sp->spare_of->spare = NULL;
	sp->spare_of = NULL;
	if (sp->pid > 0)
		kill(sp->pid, SIGKILL);	/* the reaper forgets it */
	sp->pid = 0;
	backend_disconnect(sp);
	backend_free(sp);
}

/*
 * Is be's restart still replaying: a connection re-opening its handle,
 * or a request queued before the worker's start (taken back from the
 * dead one, or waiting for the new one) not yet answered?
 */
static bool
replaying(const struct backend *be)
{
	const struct req	*r;

	if (sup_reopening(be) > 0)
		return true;
	TAILQ_FOREACH(r, &be->inflight, bq)
		if (r->queued_ms <= be->last_start_ms)
			return true;
	TAILQ_FOREACH(r, &be->pending, bq)
		if (r->queued_ms <= be->last_start_ms)
			return true;
	return false;
}

/* Start be's spare now. */
static void
make(struct backend *be)
{
	struct backend	*sp;

	if (!spare_wanted(be) || be->spare != NULL || be->state !=
	    BE_ST_READY)
		return;
	if (reload_lingering()) {
		/* A replaced worker may still look at the free ring set. */
		struct timeval	tv = { 0, 50 * 1000 };

		evtimer_add(be->ev_spare, &tv);
		return;
	}
	if (replaying(be) && now_ms() - be->last_start_ms < SPARE_WAIT_MS) {
		struct timeval	tv = { 0, SPARE_POLL_MS * 1000 };

		evtimer_add(be->ev_spare, &tv);
		return;
	}
	if ((sp = backend_new_spare(be)) == NULL) {
		log_warn("plugin %s: cannot set up a spare worker: out of "
		    "memory", backend_name(be));
		return;
	}
	sp->spare_of = be;
	sp->spare_epoch = epoch;
	be->spare = sp;
	if (sup_start(sp) == -1) {
		log_warn("plugin %s: cannot start a spare worker: %s",
		    backend_name(be), strerror(errno));
		be->spare_failed_ms = now_ms();
		discard(sp);
		return;
	}
	log_debug("plugin %s: spare worker %d started", backend_name(be),
	    (int)sp->pid);
}

static void
make_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	make(arg);
}

/*
 * Make be's spare soon (once a restart's re-opens and replayed
 * requests are answered: make waits for them), or, after a spare died
 * by itself, once a restart period has passed since.
 */
void
spare_later(struct backend *be)
{
	uint64_t	now = now_ms(), delay = 0;
	struct timeval	tv;

	if (!spare_wanted(be) || be->spare != NULL)
		return;
	if (be->ev_spare == NULL &&
	    (be->ev_spare = evtimer_new(broker.base, make_cb, be)) == NULL)
		return;		/* no spare: restarts spawn */
	if (be->spare_failed_ms != 0 &&
	    now - be->spare_failed_ms < broker.cfg.rs.period_ms)
		delay = broker.cfg.rs.period_ms - (now - be->spare_failed_ms);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(be->ev_spare, &tv);
}

/*
 * be's worker is gone and its restart is due: give it the spare's
 * worker and send Start.  Returns 0 if it did, -1 if there is no
 * usable spare (the caller spawns, as without spares).
 */
int
spare_take(struct backend *be)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Start		 st = NBDBROKER__RPC__START__INIT;
	struct backend			*sp = be->spare;
	pid_t				 pid;
	char				*name;

	if (sp == NULL)
		return -1;
	/* Held (its Config sent), of this policy and plugin, idle. */
	if (sp->spare_epoch != epoch || sp->fd == -1 || sp->pid <= 0 ||
	    sp->state != BE_ST_CONFIGURING || be->fd != -1 || be->pid > 0 ||
	    be->ninflight != 0 || sp->ninflight != 0) {
		discard(sp);
		return -1;
	}
	pid = sp->pid;
	name = be->plugin_name;		/* the spare has none */
	be->plugin_name = NULL;
	if (backend_swap(be, sp) == -1) {
		free(name);
		/* Out of memory: be holds the spare's worker, now lost. */
		discard(sp);
		sup_worker_lost(be, "cannot set up the RPC socket");
		return 0;	/* the reaper restarts it */
	}
	be->spare = NULL;
	sp->spare_of = NULL;
	/* The name stays, as across a restart (sup_ready compares). */
	be->plugin_name = name;
	backend_free(sp);	/* the dead worker's remains */
	be->last_start_ms = now_ms();
	be->said_failed = false;
	be->dirty = false;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_START;
	env.start = &st;
	if (backend_queue_msg(be, &env) == -1) {
		sup_worker_lost(be, "cannot queue Start");
		return 0;
	}
	metrics.worker_starts++;
	metrics.spares_used++;
	log_info("plugin %s: spare worker %d takes over (instance %u)",
	    backend_name(be), (int)pid, be->generation);
	return 0;
}

/*
 * The spare sp was reaped (desc: how it ended), not having been used:
 * it died by itself.  Logged once; no crash: its owner makes the next
 * one a restart period later.
 */
void
spare_reaped(struct backend *sp, const char *desc)
{
	struct backend	*be = sp->spare_of;
	pid_t		 pid = sp->pid;

	sp->pid = 0;
	if (be != NULL && !broker.shutting_down) {
		log_warn("plugin %s: spare worker %d %s; the next spare "
		    "starts in %" PRIu64 " s", backend_name(be), (int)pid, desc,
		    broker.cfg.rs.period_ms / 1000);
		be->spare_failed_ms = now_ms();
		metrics.spares_failed++;
	}
	discard(sp);
	if (be != NULL)
		spare_later(be);
}

/* A reload begins: no spare made before it is ever used. */
void
spare_discard_all(void)
{
	struct backend	*be, *next;

	epoch++;
	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = next) {
		next = TAILQ_NEXT(be, link);
		if (be->spare_of != NULL)
			continue;
		if (be->ev_spare != NULL)
			evtimer_del(be->ev_spare);
		if (be->spare != NULL) {
			if (be->spare == next)
				next = TAILQ_NEXT(next, link);
			discard(be->spare);
		}
	}
}

/* be is being freed: its spare goes too; a spare leaves its owner. */
void
spare_backend_gone(struct backend *be)
{
	if (be->spare != NULL) {
		struct backend	*sp = be->spare;

		be->spare = NULL;
		sp->spare_of = NULL;
		if (sp->pid > 0)
			kill(sp->pid, SIGKILL);
		sp->pid = 0;
		backend_disconnect(sp);
		backend_free(sp);
	}
	if (be->spare_of != NULL)
		be->spare_of->spare = NULL;
	be->spare_of = NULL;
	if (be->ev_spare != NULL)
		event_free(be->ev_spare);
	be->ev_spare = NULL;
}
