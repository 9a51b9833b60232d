/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The thread model of the stack and everything it decides, in one
 * place: which model is in force, how many threads serve requests,
 * whether an Open may proceed now, and which lock a call into the
 * stack takes.  The model in force is the strictest of the plugin's
 * (declared, then .thread_model) and every filter's .thread_model, as
 * in nbdkit: a filter may only tighten it.  The lock is taken around
 * a whole call into the top of the stack, whatever the filters then
 * call below.
 *
 * SERIALIZE_CONNECTIONS: one handle open at a time (later Opens are
 * parked until a handle closes) and one call at a time.
 * SERIALIZE_ALL_REQUESTS: one call at a time.  SERIALIZE_REQUESTS: one
 * call at a time per handle; Open, Close and ListExports take no lock.
 * PARALLEL: no lock.  The two strictest models also get one thread
 * only: more would only queue on the lock.
 *
 * The model is set at load and by the .thread_model callbacks, before
 * any worker thread starts; the rest is called from worker threads.
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define TM_DEFAULT_THREADS	16
#define TM_MAX_THREADS		256

static int		 max_model;	/* the plugin's THREAD_MODEL */
static int		 model;		/* in force: max_model or stricter */
static pthread_mutex_t	 all_lock = PTHREAD_MUTEX_INITIALIZER;

/* Admission of Opens, guarded by adm_lock. */
static pthread_mutex_t	 adm_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t		 n_open;	/* admitted and not yet done */
static void		**parked_v;	/* Opens waiting, oldest first */
static size_t		 parked_n;

/*
 * The plugin declares its model (THREAD_MODEL, from its struct).
 * Returns 0, or -1 if it is no model at all.
 */
int
tm_declare(int declared)
{
	if (declared < NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS ||
	    declared > NBDBROKER_THREAD_MODEL_PARALLEL)
		return -1;
	max_model = model = declared;
	return 0;
}

/*
 * A .thread_model (the plugin's or a filter's) answered tm: it may only
 * make the model stricter.
 */
void
tm_restrict(int tm)
{
	if (tm >= NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS && tm < model)
		model = tm;
}

/* The model in force (NBDBROKER_THREAD_MODEL_*). */
int
tm_model(void)
{
	return model;
}

/* The model the plugin declared. */
int
tm_declared(void)
{
	return max_model;
}

/* nbdkit's name of a model, for --dump-plugin. */
const char *
tm_name(int tm)
{
	static const char *const names[] = {
		"serialize_connections", "serialize_all_requests",
		"serialize_requests", "parallel",
	};

	return tm >= 0 && tm <= 3 ? names[tm] : "unknown";
}

/*
 * The most threads the pool may start, whatever the model, given the
 * broker's wish (0: ours): what the sandbox must leave room for before
 * the plugin has said its model.
 */
unsigned
tm_pool_threads_bound(unsigned requested)
{
	unsigned	n = requested ? requested : TM_DEFAULT_THREADS;

	return n > TM_MAX_THREADS ? TM_MAX_THREADS : n;
}

/* How many threads serve requests, given the broker's wish (0: ours). */
unsigned
tm_pool_threads(unsigned requested)
{
	if (model <= NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS)
		return 1;
	return tm_pool_threads_bound(requested);
}

/*
 * May the Open open proceed now?  true: it is admitted, and the caller
 * calls tm_open_done once its handle is closed or the Open failed.
 * false: it is parked (kept, not copied) until tm_open_done hands it
 * back, admitted.  Under SERIALIZE_CONNECTIONS only one Open is
 * admitted at a time; if parking fails for lack of memory the Open is
 * admitted anyway.
 */
bool
tm_open_admit(void *open)
{
	bool	admit = true;

	pthread_mutex_lock(&adm_lock);
	if (model == NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS &&
	    n_open > 0) {
		void	**v;

		v = reallocarray(parked_v, parked_n + 1, sizeof(*v));
		if (v != NULL) {
			parked_v = v;
			parked_v[parked_n++] = open;
			admit = false;
		}
	}
	if (admit)
		n_open++;
	pthread_mutex_unlock(&adm_lock);
	return admit;
}

/*
 * An admitted Open's handle is closed, or the Open failed.  Returns
 * the oldest parked Open, now admitted (the caller serves it), or NULL.
 */
void *
tm_open_done(void)
{
	void	*next = NULL;

	pthread_mutex_lock(&adm_lock);
	n_open--;
	if (parked_n > 0) {
		next = parked_v[0];
		memmove(parked_v, parked_v + 1, --parked_n * sizeof(*parked_v));
		n_open++;
	}
	pthread_mutex_unlock(&adm_lock);
	return next;
}

/*
 * At shutdown: take the parked Opens that will never be served, one at
 * a time (NULL when none is left), for the caller to free.
 */
void *
tm_parked_take(void)
{
	void	*open = NULL;

	pthread_mutex_lock(&adm_lock);
	if (parked_n > 0)
		open = parked_v[--parked_n];
	if (parked_n == 0) {
		free(parked_v);
		parked_v = NULL;
	}
	pthread_mutex_unlock(&adm_lock);
	return open;
}

/* The lock a call into the plugin for hd (NULL: no handle) takes. */
static pthread_mutex_t *
tm_lock_for(struct handle *hd)
{
	if (model <= NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS)
		return &all_lock;
	if (model == NBDBROKER_THREAD_MODEL_SERIALIZE_REQUESTS && hd != NULL)
		return &hd->lock;
	return NULL;
}

/* Around every call into the plugin after start-up. */
void
tm_lock(struct handle *hd)
{
	pthread_mutex_t	*m = tm_lock_for(hd);

	if (m != NULL)
		pthread_mutex_lock(m);
}

void
tm_unlock(struct handle *hd)
{
	pthread_mutex_t	*m = tm_lock_for(hd);

	if (m != NULL)
		pthread_mutex_unlock(m);
}
