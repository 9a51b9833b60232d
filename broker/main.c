/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker: command line, start-up and shutdown.
 *
 * Start-up order: parse the command line, resolve the plugin and the
 * worker, go to the background (the parent waits until the server is
 * ready, so errors still reach the terminal), start the first worker
 * and wait for it to load and configure the plugin, then listen.  A
 * plugin that cannot start ends the server with its error and a
 * non-zero exit status, before any client is accepted.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR	"/usr/local/libexec"
#endif
#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/nbdbroker/plugins"
#endif

struct broker	broker;

static int	 ready_fd = -1;		/* to the waiting parent (no -f) */

uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"Usage: nbdbroker [OPTIONS] PLUGIN [KEY=VALUE ...]\n"
"\n"
"Serve a disk over NBD through PLUGIN, which runs in a separate, restartable\n"
"worker process.  PLUGIN is a bundled plugin's name (memory, file, null,\n"
"pattern) or the path of a plugin .so.  KEY=VALUE pairs configure the plugin.\n"
"\n"
"Listening (default: TCP port 10809 on all addresses):\n"
"  -U, --unix SOCKET     listen on a Unix socket (\"-\": a private temporary one)\n"
"  -p, --port PORT       listen on TCP PORT\n"
"  -i, --ipaddr ADDR     listen on ADDR only\n"
"  -s, --single          serve one client on stdin/stdout, then exit\n"
"\n"
"Server:\n"
"  -f, --foreground      do not go to the background\n"
"  -P, --pidfile FILE    write the server's pid to FILE\n"
"  -r, --readonly        export read-only\n"
"  -e, --exportname NAME export name used in the printed URI and --run\n"
"  -t, --threads N       worker threads for parallel plugins (default 16)\n"
"      --run CMD         run CMD with $uri, $unixsocket, $port, $exportname\n"
"                        set; stop the server when it exits (implies -f)\n"
"      --exit-with-parent  stop the server when its parent exits (implies -f)\n"
"      --print-uri       print the URI clients connect to\n"
"      --log DEST        stderr, syslog or null (default: stderr with -f,\n"
"                        syslog otherwise)\n"
"      --arena-size SIZE shared-memory payload arena per direction\n"
"                        (default 64M, at least 64M)\n"
"\n"
"Sandbox (see \"Sandbox policies\" in README.md):\n"
"      --policy FILE     run the worker under the policy in FILE\n"
"      --policy-dir DIR  look for PLUGIN.policy, then default.policy, in DIR\n"
"                        (default " SYSCONFDIR "/nbdbroker/policies)\n"
"      --check-policy FILE [PLUGIN [KEY=VALUE ...]]\n"
"                        check FILE, print what it resolves to, exit 0/1\n"
"  -v, --verbose         debug messages, from the broker and the worker\n"
"\n"
"  -h, --help            this help\n"
"  -V, --version         print the version and exit\n"
"\n"
"Examples:\n"
"  nbdbroker -f -U /tmp/sock memory size=1G\n"
"  nbdbroker -r file file=disk.img\n"
"  nbdbroker -U - memory size=64M --run 'qemu-img info \"$uri\"'\n");
}

static void __attribute__((noreturn))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "nbdbroker: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nbdbroker --help'.\n");
	exit(EXIT_FAILURE);
}

static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_'))
			return false;
	return true;
}

/* Turn PLUGIN into the absolute path of a readable .so, or exit. */
static char *
resolve_plugin(const char *arg)
{
	const char	*dir;
	char		*path, *tried1, *tried2;

	if (strchr(arg, '/') != NULL || strstr(arg, ".so") != NULL) {
		if ((path = realpath(arg, NULL)) == NULL)
			fatalx("plugin %s: %s", arg, strerror(errno));
		return path;
	}
	if (!valid_name(arg))
		fatalx("'%s' is not a plugin name ([a-z0-9_-]+) or a path", arg);
	dir = getenv("NBDBROKER_PLUGIN_DIR");
	if (dir == NULL || *dir == '\0')
		dir = PLUGINDIR;
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
	fatalx("plugin '%s' not found (looked for %s); give the plugin's "
	    "name or the path of its .so", arg, tried1);
}

static size_t
parse_size_arg(const char *opt, const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		usage_error("%s: cannot parse size '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0')
		usage_error("%s: cannot parse size '%s'", opt, s);
	return v;
}

enum {
	OPT_RUN = 256,
	OPT_EXIT_WITH_PARENT,
	OPT_PRINT_URI,
	OPT_LOG,
	OPT_ARENA,
	OPT_POLICY,
	OPT_POLICY_DIR,
	OPT_CHECK_POLICY,
};

static const char	*check_policy;	/* --check-policy FILE */

static enum log_dest	log_dest_opt = LOG_DEST_STDERR;
static bool		log_dest_set;

static void
parse_args(int argc, char **argv)
{
	static const struct option	longopts[] = {
		{ "unix", required_argument, NULL, 'U' },
		{ "port", required_argument, NULL, 'p' },
		{ "ipaddr", required_argument, NULL, 'i' },
		{ "single", no_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "exportname", required_argument, NULL, 'e' },
		{ "export-name", required_argument, NULL, 'e' },
		{ "threads", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "newstyle", no_argument, NULL, 'n' },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "exit-with-parent", no_argument, NULL, OPT_EXIT_WITH_PARENT },
		{ "print-uri", no_argument, NULL, OPT_PRINT_URI },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "arena-size", required_argument, NULL, OPT_ARENA },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "policy-dir", required_argument, NULL, OPT_POLICY_DIR },
		{ "check-policy", required_argument, NULL, OPT_CHECK_POLICY },
		{ NULL, 0, NULL, 0 }
	};
	struct config	*cfg = &broker.cfg;
	int		 c;
	long		 t;
	char		*end;

	cfg->arena_size = ARENA_DEFAULT_SIZE;
	while ((c = getopt_long(argc, argv, "+U:p:i:sfP:re:t:vhVn", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'U':
			if (strcmp(optarg, "-") == 0)
				cfg->unix_private = true;
			else if ((cfg->unix_path = realpath(optarg, NULL)) ==
			    NULL) {
				/* It need not exist yet: make it absolute. */
				char	cwd[PATH_MAX];

				if (optarg[0] == '/' ||
				    getcwd(cwd, sizeof(cwd)) == NULL)
					cfg->unix_path = strdup(optarg);
				else if (asprintf(&cfg->unix_path, "%s/%s", cwd,
				    optarg) == -1)
					cfg->unix_path = NULL;
			}
			break;
		case 'p':
			cfg->port = optarg;
			break;
		case 'i':
			cfg->ipaddr = optarg;
			break;
		case 's':
			cfg->single = true;
			cfg->foreground = true;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'P':
			cfg->pidfile = optarg;
			break;
		case 'r':
			cfg->readonly = true;
			break;
		case 'e':
			if (strlen(optarg) > BROKER_MAX_NAME)
				usage_error("-e: export name longer than %d "
				    "bytes", BROKER_MAX_NAME);
			cfg->exportname = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno || *end || t < 1 || t > 256)
				usage_error("-t: threads must be 1 to 256");
			cfg->threads = t;
			break;
		case 'v':
			cfg->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("nbdbroker %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		case 'n':
			break;		/* newstyle is the only style */
		case OPT_RUN:
			cfg->run = optarg;
			cfg->foreground = true;
			break;
		case OPT_EXIT_WITH_PARENT:
			cfg->exit_with_parent = true;
			cfg->foreground = true;
			break;
		case OPT_PRINT_URI:
			cfg->print_uri = true;
			break;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") == 0)
				log_dest_opt = LOG_DEST_STDERR;
			else if (strcmp(optarg, "syslog") == 0)
				log_dest_opt = LOG_DEST_SYSLOG;
			else if (strcmp(optarg, "null") == 0)
				log_dest_opt = LOG_DEST_NULL;
			else
				usage_error("--log: stderr, syslog or null");
			log_dest_set = true;
			break;
		case OPT_ARENA:
			cfg->arena_size = parse_size_arg("--arena-size",
			    optarg);
			if (cfg->arena_size < 2 * (size_t)BROKER_MAX_REQUEST ||
			    cfg->arena_size > ((size_t)1 << 34))
				usage_error("--arena-size: between 64M and 16G");
			break;
		case OPT_POLICY:
			cfg->policy_path = optarg;
			break;
		case OPT_POLICY_DIR:
			cfg->policy_dir = optarg;
			break;
		case OPT_CHECK_POLICY:
			check_policy = optarg;
			break;
		default:
			usage_error("unknown option");
		}
	}
	if (check_policy != NULL) {
		cfg->params = argv + optind;
		cfg->nparams = argc - optind;
		return;
	}
	if (optind >= argc)
		usage_error("no plugin given");
	cfg->plugin_arg = argv[optind++];
	cfg->params = argv + optind;
	cfg->nparams = argc - optind;

	if (cfg->single && (cfg->unix_path || cfg->unix_private ||
	    cfg->port || cfg->ipaddr))
		usage_error("-s cannot be combined with -U, -p or -i");
	if ((cfg->unix_path || cfg->unix_private) && (cfg->port || cfg->ipaddr))
		usage_error("-U cannot be combined with -p or -i");
	if (cfg->single && cfg->run)
		usage_error("-s cannot be combined with --run");
}

/*
 * Go to the background.  The parent stays until the child reports
 * that it is serving (exit 0) or dies trying (exit 1, the child has
 * printed why on the inherited stderr).
 */
static void
daemonize(void)
{
	int	p[2];
	pid_t	pid;
	char	c;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(c == 'R' ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() == -1)
		fatal("setsid");
}

/* Tell a waiting parent we are serving, and detach from the terminal. */
static void
startup_done(void)
{
	int	nul;

	if (ready_fd == -1)
		return;
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (!log_dest_set || log_dest_opt != LOG_DEST_STDERR)
			dup2(nul, STDERR_FILENO);
		close(nul);
	}
	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot notify the parent process");
	close(ready_fd);
	ready_fd = -1;
	if (chdir("/") == -1)
		log_warn("chdir /: %s", strerror(errno));
}

static void
write_pidfile(void)
{
	char	tmp[PATH_MAX], buf[32];
	int	fd, n;

	if (broker.cfg.pidfile == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", broker.cfg.pidfile) >=
	    (int)sizeof(tmp))
		fatalx("-P %s: path too long", broker.cfg.pidfile);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	/* Written whole, then renamed: readers never see a partial pid. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, buf, n) != n || close(fd) == -1 ||
	    rename(tmp, broker.cfg.pidfile) == -1)
		fatal("-P %s", broker.cfg.pidfile);
	broker.pidfile_written = true;
}

static void
start_run(void)
{
	char	port[16];
	pid_t	pid;

	if ((pid = fork()) == -1)
		fatal("--run: fork");
	if (pid == 0) {
		sigset_t	none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setenv("uri", listen_uri(), 1);
		setenv("exportname", broker.cfg.exportname ?
		    broker.cfg.exportname : "", 1);
		setenv("tls", "0", 1);
		if (broker.cfg.unix_path != NULL) {
			setenv("unixsocket", broker.cfg.unix_path, 1);
			unsetenv("port");
		} else {
			snprintf(port, sizeof(port), "%d", listen_port());
			setenv("port", port, 1);
			unsetenv("unixsocket");
		}
		execl("/bin/sh", "sh", "-c", broker.cfg.run, (char *)NULL);
		_exit(127);
	}
	broker.run_pid = pid;
}

void
broker_shutdown(const char *why)
{
	if (broker.shutting_down)
		return;
	broker.shutting_down = true;
	log_info("shutting down: %s", why);
	event_base_loopexit(broker.base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGCHLD) {
		int	status;
		pid_t	pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == broker.run_pid) {
				broker.run_pid = 0;
				broker.exit_status = WIFEXITED(status) ?
				    WEXITSTATUS(status) :
				    128 + WTERMSIG(status);
				broker_shutdown("the --run command exited");
			} else
				sup_reaped(pid, status);
		}
		return;
	}
	broker_shutdown(strsignal(sig));
}

static void
add_signals(void)
{
	static const int	sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP,
	    SIGCHLD };
	size_t			i;
	struct event		*ev;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(broker.base, sigs[i], signal_cb, NULL);
		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", sigs[i]);
	}
}

static void
cleanup(void)
{
	struct conn	*c;

	listen_stop();
	while ((c = TAILQ_FIRST(&broker.conns)) != NULL)
		conn_close(c, NULL);
	if (broker.be != NULL)
		sup_stop(broker.be);
	sandbox_stop();
	if (broker.run_pid > 0) {
		int	status;

		kill(broker.run_pid, SIGTERM);
		while (waitpid(broker.run_pid, &status, 0) == -1 &&
		    errno == EINTR)
			;
	}
	if (broker.pidfile_written)
		unlink(broker.cfg.pidfile);
}

int
main(int argc, char **argv)
{
	struct config	*cfg = &broker.cfg;
	const char	*w;

	log_init("nbdbroker", LOG_DEST_STDERR, 0);
	parse_args(argc, argv);
	log_init("nbdbroker", LOG_DEST_STDERR, cfg->verbose);
	if (check_policy != NULL)
		exit(sandbox_check(check_policy, cfg->params, cfg->nparams));
	TAILQ_INIT(&broker.conns);
	TAILQ_INIT(&broker.dirty);

	cfg->plugin_path = resolve_plugin(cfg->plugin_arg);
	sandbox_load();
	w = getenv("NBDBROKER_WORKER");
	cfg->worker_path = strdup(w && *w ? w : LIBEXECDIR "/nbdbroker-worker");
	if (cfg->worker_path == NULL || access(cfg->worker_path, X_OK) == -1)
		fatal("worker %s", cfg->worker_path);
	if ((cfg->cwd = getcwd(NULL, 0)) == NULL)
		fatal("getcwd");

	if (cfg->exit_with_parent && prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("--exit-with-parent");
	signal(SIGPIPE, SIG_IGN);
	if (!cfg->foreground)
		daemonize();

	if ((broker.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	add_signals();
	if ((broker.be = backend_new()) == NULL)
		exit(EXIT_FAILURE);

	/* The first worker must load and configure the plugin. */
	if (sup_start(broker.be) == -1)
		exit(EXIT_FAILURE);
	event_base_dispatch(broker.base);
	if (broker.be->state != BE_ST_READY) {
		if (!broker.shutting_down && broker.be->last_failure[0] == '\0')
			log_err("plugin %s: the worker stopped before it was "
			    "ready", cfg->plugin_arg);
		sup_stop(broker.be);
		exit(EXIT_FAILURE);
	}

	if (cfg->single) {
		if (listen_single() == -1)
			exit(EXIT_FAILURE);
	} else if (listen_start() == -1) {
		sup_stop(broker.be);
		exit(EXIT_FAILURE);
	}
	write_pidfile();
	if (cfg->print_uri && !cfg->single) {
		printf("%s\n", listen_uri());
		fflush(stdout);
	}
	if (!cfg->single)
		log_info("serving %s on %s", cfg->plugin_arg, listen_uri());
	if (cfg->run != NULL)
		start_run();
	if (!log_dest_set)
		log_dest_opt = cfg->foreground ? LOG_DEST_STDERR :
		    LOG_DEST_SYSLOG;
	startup_done();
	log_set_dest(log_dest_opt);

	event_base_dispatch(broker.base);
	cleanup();
	return broker.exit_status;
}
