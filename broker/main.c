/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker: start-up, step by step.  Read the command line, resolve
 * the plugin, its sandbox policy and the worker program, go to the
 * background (the parent waits until the server serves, so errors
 * still reach the terminal), then start the first worker and run the
 * event loop.  When that worker has loaded and configured the plugin,
 * the supervisor says so (broker_first_worker_ready) and the server
 * starts listening, and then tells whoever waits for it (the parent,
 * a service manager: notify.c) that it serves; a plugin that cannot
 * start (broker_first_worker_failed) ends the server with its error
 * and a non-zero exit status, before any client is accepted.
 *
 * The command line is options.c's, the process (daemon, pid file,
 * --run, signals, shutdown) process.c's, the shared state broker.c's.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "names.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR	"/usr/local/libexec"
#endif
#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/nbdbroker/plugins"
#endif

/*
 * Where bundled plugins are found by name: $NBDBROKER_PLUGIN_DIR (the
 * build tree's ./nbdbroker sets it), else where they are installed.
 */
const char *
broker_plugin_dir(void)
{
	const char	*dir = getenv("NBDBROKER_PLUGIN_DIR");

	return dir != NULL && *dir != '\0' ? dir : PLUGINDIR;
}

/* The worker program: $NBDBROKER_WORKER, else the installed one. */
const char *
broker_worker_path(void)
{
	const char	*w = getenv("NBDBROKER_WORKER");

	return w != NULL && *w != '\0' ? w : LIBEXECDIR "/nbdbroker-worker";
}

/*
 * Turn PLUGIN into the absolute path of a readable .so, or exit.  A
 * name is one of our bundled plugins if we have it, else nbdkit's
 * plugin of that name; nbdkit:NAME always means nbdkit's.
 */
static char *
resolve_plugin(const char *arg)
{
	const char	*dir;
	char		*path, *tried1, *tried2;

	if (strncmp(arg, "nbdkit:", 7) == 0) {
		if (!plugin_name_valid(arg + 7))
			fatalx("'%s' is not nbdkit:NAME (NAME: 1 to %d of "
			    "[A-Za-z0-9_-])", arg, PLUGIN_NAME_MAX);
		return cli_nbdkit_plugin_path(arg + 7, true);
	}
	if (strchr(arg, '/') != NULL || strstr(arg, ".so") != NULL) {
		if ((path = realpath(arg, NULL)) == NULL)
			fatalx("plugin %s: %s", arg, strerror(errno));
		return path;
	}
	if (!plugin_name_valid(arg))
		fatalx("'%s' is not a plugin name (1 to %d of [A-Za-z0-9_-]) "
		    "or a path", arg, PLUGIN_NAME_MAX);
	dir = broker_plugin_dir();
	if (asprintf(&tried1, "%s/nbdbroker-%s-plugin.so", dir, arg) == -1 ||
	    asprintf(&tried2, "%s/%s/.libs/nbdbroker-%s-plugin.so", dir, arg,
	    arg) == -1)
		fatal("asprintf");
	if (access(tried1, R_OK) == 0) {
		free(tried2);
		return tried1;
	}
	if (access(tried2, R_OK) == 0) {
		free(tried1);
		return tried2;
	}
	if ((path = cli_nbdkit_plugin_path(arg, false)) != NULL) {
		log_debug("no bundled plugin '%s': using nbdkit's, %s", arg,
		    path);
		free(tried1);
		free(tried2);
		return path;
	}
	fatalx("plugin '%s' not found (looked for %s and nbdkit's "
	    "%s/nbdkit-%s-plugin.so); give the plugin's name or the path "
	    "of its .so", arg, tried1, cli_nbdkit_plugin_dir(), arg);
}

/* The worker program, which must be there. */
static void
find_worker(void)
{
	struct config	*cfg = &broker.cfg;

	cfg->worker_path = strdup(broker_worker_path());
	if (cfg->worker_path == NULL || access(cfg->worker_path, X_OK) == -1)
		fatal("worker %s", cfg->worker_path);
}

/*
 * --dump-plugin, PLUGIN --help, PLUGIN --version: what the worker says
 * about the plugin and, for --help, the sandbox policy it would run
 * under, or that there is none.  Then exit.
 */
static void __attribute__((noreturn))
describe_plugin(void)
{
	char	tried[2048], *policy;

	if (cli_describe_plugin() == -1)
		exit(EXIT_FAILURE);
	if (broker.cfg.describe == DESCRIBE_HELP) {
		if ((policy = policy_load_find(tried, sizeof(tried))) !=
		    NULL)
			printf("Sandbox policy: %s\n", policy);
		else
			printf("Sandbox policy: none (looked for %s); the "
			    "server will not start without --policy FILE\n",
			    tried);
		free(policy);
	}
	exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* Timeouts, once a second: hung workers, stalled clients. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sup_tick();
	conn_tick();
	conn_flush_dirty();
}

static void
start_tick(void)
{
	static const struct timeval	one_second = { 1, 0 };

	if ((broker.ev_tick = event_new(broker.base, -1, EV_PERSIST, tick_cb,
	    NULL)) == NULL || event_add(broker.ev_tick, &one_second) == -1)
		fatalx("cannot create the timeout timer");
}

/*
 * Start-up failed before the server served: say why, unless the
 * plugin (or a signal) has said it already, and exit.
 */
static void __attribute__((noreturn))
startup_failed(void)
{
	const struct backend	*be = broker.be;

	if (!broker.shutting_down && be->last_failure[0] == '\0')
		log_err("plugin %s: the worker stopped before it was ready: %s",
		    broker.cfg.plugin_arg, be->lost_why[0] ? be->lost_why :
		    "no reason given");
	if (!broker.shutting_down)
		notify_send(NULL, "plugin %s did not start: %s",
		    broker.cfg.plugin_arg, be->last_failure[0] ?
		    be->last_failure : be->lost_why[0] ? be->lost_why :
		    "no reason given");
	sup_stop_all();
	exit(EXIT_FAILURE);
}

/*
 * The rest of start-up, once the first worker is ready: listen, write
 * the pid file, print the URI, start --run, let a waiting parent go,
 * and send logs where they belong from now on.  From the event loop,
 * after the supervisor's callback has returned.
 */
static void
serve_cb(evutil_socket_t fd, short what, void *arg)
{
	struct config	*cfg = &broker.cfg;
	enum log_dest	 dest;

	(void)fd;
	(void)what;
	(void)arg;
	if (broker.shutting_down)
		return;		/* a signal came first: main() ends it */
	broker.started = true;
	if (cfg->rs.per_connection) {
		/* It proved the plugin starts; each client gets its own. */
		backend_retire(broker.be);
		broker.be = NULL;
	}
	if (cfg->single) {
		if (listen_single() == -1)
			exit(EXIT_FAILURE);
	} else if (listen_start() == -1) {
		sup_stop_all();
		exit(EXIT_FAILURE);
	}
	metrics_start();
	proc_write_pidfile();
	if (cfg->print_uri && !cfg->single) {
		printf("%s\n", listen_uri());
		fflush(stdout);
	}
	if (!cfg->single)
		log_info("serving %s on %s", cfg->plugin_arg, listen_uri());
	if (cfg->run != NULL)
		proc_start_run();
	/* Whoever waits for us (a service manager, the parent) may go. */
	notify_send("READY=1", "serving %s on %s", cfg->plugin_arg,
	    cfg->single ? "stdin/stdout" : listen_uri());
	dest = options_log_dest();
	proc_startup_done(dest);
	log_set_dest(dest);
}

/*
 * The supervisor: the first worker has loaded and configured the
 * plugin.  Serving starts from the loop, once the supervisor is done
 * with the worker's message (per-connection isolation retires this
 * backend).
 */
void
broker_first_worker_ready(void)
{
	if (event_base_once(broker.base, -1, EV_TIMEOUT, serve_cb, NULL,
	    NULL) == -1)
		fatalx("cannot schedule the start of serving");
}

/* The supervisor: the first worker is gone before it was ready. */
void
broker_first_worker_failed(void)
{
	startup_failed();
}

int
main(int argc, char **argv)
{
	struct config	*cfg = &broker.cfg;
	const char	*check;

	/*
	 * Not dumpable, first of all: no process of the same user (a
	 * worker in mode = log, where nothing is denied, or a plugin
	 * when the broker does not run as root) may ptrace the broker or
	 * read its memory and environment through /proc, and no core
	 * file holds its TLS keys.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");

	/* The command line, and what it asks for. */
	log_init("nbdbroker", LOG_DEST_STDERR, 0);
	broker_init();
	cfg->nsockets = proc_socket_activation();
	notify_init();
	options_parse(argc, argv);
	log_init("nbdbroker", LOG_DEST_STDERR, cfg->verbose);
	cli_resolve_filters();
	if ((check = options_check_policy()) != NULL)
		exit(policy_load_check(check, cfg->params, cfg->nparams));

	/* The plugin, its policy (and its filters'), the worker. */
	cfg->plugin_path = resolve_plugin(cfg->plugin_arg);
	/*
	 * Describing the plugin (--dump-plugin, PLUGIN --help) runs it
	 * unsandboxed (like nbdkit), needing no policy.
	 */
	if (cfg->describe == DESCRIBE_NONE) {
		policy_load_init();
		options_apply_policy();
	}
	find_worker();
	if (cfg->describe != DESCRIBE_NONE)
		describe_plugin();
	cli_adjust_params();
	if ((cfg->cwd = getcwd(NULL, 0)) == NULL)
		fatal("getcwd");

	/* The process. */
	proc_raise_fd_limit();
	/* Bad credentials are reported here, before going to the background. */
	if (cfg->tls != TLS_OFF) {
		if (tls_init() == -1)
			exit(EXIT_FAILURE);
		atexit(tls_cleanup);	/* wipes PSK keys at any exit */
	}
	if (cfg->exit_with_parent && prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("--exit-with-parent");
	signal(SIGPIPE, SIG_IGN);
	if (!cfg->foreground)
		proc_detach();

	/*
	 * The first worker must load and configure the plugin (in time);
	 * then broker_first_worker_ready() starts serving.
	 */
	notify_send(NULL, "starting plugin %s", cfg->plugin_arg);
	if ((broker.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	proc_add_signals();
	if ((broker.be = backend_new()) == NULL)
		exit(EXIT_FAILURE);
	start_tick();
	if (sup_start(broker.be) == -1)
		exit(EXIT_FAILURE);

	event_base_dispatch(broker.base);
	if (!broker.started)		/* shut down before serving */
		startup_failed();
	proc_cleanup();
	return broker.exit_status;
}
