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
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"
#include "size.h"
#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR	"/usr/local/libexec"
#endif
#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/nbdbroker/plugins"
#endif
#ifndef NBDKIT_PLUGINDIR
#define NBDKIT_PLUGINDIR	"/usr/lib/nbdkit/plugins"
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
"pattern), the name of one of nbdkit's plugins (nbdkit:NAME always means\n"
"nbdkit's), or the path of a plugin .so, ours or nbdkit's.  KEY=VALUE pairs\n"
"configure the plugin; a bare VALUE goes to its magic key (as in nbdkit).\n"
"\n"
"Listening (default: TCP port 10809 on all addresses):\n"
"  -U, --unix SOCKET     listen on a Unix socket (\"-\": a private temporary one)\n"
"  -p, --port PORT       listen on TCP PORT\n"
"  -i, --ipaddr ADDR     listen on ADDR only\n"
"  -s, --single          serve one client on stdin/stdout, then exit\n"
"  (started with LISTEN_FDS/LISTEN_PID, as by systemd socket activation, the\n"
"  sockets passed on fds 3.. are used instead)\n"
"\n"
"TLS (NBD_OPT_STARTTLS):\n"
"      --tls=off|on|require  refuse TLS, offer it, or insist on it\n"
"      --tls-certificates DIR  X.509: DIR/ca-cert.pem, server-cert.pem,\n"
"                        server-key.pem (and ca-crl.pem if present)\n"
"      --tls-psk FILE    pre-shared keys: username:hexkey lines (psktool)\n"
"      --tls-verify-peer demand a client certificate signed by the CA\n"
"\n"
"Server:\n"
"  -f, --foreground      do not go to the background\n"
"  -P, --pidfile FILE    write the server's pid to FILE\n"
"  -r, --readonly        export read-only\n"
"  -e, --exportname NAME export name used in the printed URI and --run\n"
"  -t, --threads N       worker threads for parallel plugins (default 16)\n"
"      --run CMD         run CMD with $uri, $unixsocket, $port, $exportname,\n"
"                        $tls set; stop the server when it exits (implies -f)\n"
"      --exit-with-parent  stop the server when its parent exits (implies -f)\n"
"      --print-uri       print the URI clients connect to\n"
"      --max-connections N  refuse clients beyond N at once (default 1000)\n"
"      --handshake-timeout T  drop clients still negotiating after T\n"
"                        (default 60s)\n"
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
"\n"
"Restarts (override the policy's [restart] section):\n"
"      --isolation plugin|connection  one worker for all clients (default),\n"
"                        or one per client connection\n"
"      --request-timeout T  kill a worker whose request takes longer than T\n"
"                        (default 30s; 0: never)\n"
"      --replays N       fail a request with EIO after it brought down N+1\n"
"                        workers (default 2)\n"
"      --intensity N/T   restart at once up to N deaths per T, then back\n"
"                        off from 250ms up to 30s (default 5/60s)\n"
"\n"
"Plugins and debugging:\n"
"  -v, --verbose         debug messages, from the broker and the worker\n"
"  -D, --debug NAME.FLAG=N  set the plugin's debug flag (int NAME_debug_FLAG)\n"
"      --nbdkit-plugin-dir DIR  where nbdkit plugins are found by name\n"
"                        (default " NBDKIT_PLUGINDIR ")\n"
"      --dump-plugin     describe PLUGIN (KEY=VALUE lines) and exit\n"
"\n"
"      --dump-config     print build settings (version, tls) and exit\n"
"  -h, --help            this help\n"
"  -V, --version         print the version and exit\n"
"\n"
"Examples:\n"
"  nbdbroker -f -U /tmp/sock memory size=1G\n"
"  nbdbroker -r file file=disk.img\n"
"  nbdbroker -U - memory size=64M --run 'qemu-img info \"$uri\"'\n"
"  nbdbroker -U /tmp/sock nbdkit:memory 1G\n");
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
		if (!valid_name(arg + 7))
			fatalx("'%s' is not nbdkit:NAME ([a-z0-9_-]+)", arg);
		return compat_plugin_path(arg + 7, true);
	}
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
	if ((path = compat_plugin_path(arg, false)) != NULL) {
		log_debug("no bundled plugin '%s': using nbdkit's, %s", arg,
		    path);
		free(tried1);
		free(tried2);
		return path;
	}
	fatalx("plugin '%s' not found (looked for %s and nbdkit's "
	    "%s/nbdkit-%s-plugin.so); give the plugin's name or the path "
	    "of its .so", arg, tried1, compat_plugin_dir(), arg);
}

static size_t
parse_size_arg(const char *opt, const char *s)
{
	const char	*why;
	uint64_t	 v;

	if (size_parse(s, SIZE_MAX, &v, &why) == -1)
		usage_error("%s: cannot parse size '%s': %s", opt, s, why);
	return v;
}

/* "30s", "500ms", "2m", "45" (seconds) -> milliseconds, or exit. */
static uint64_t
parse_duration_ms(const char *opt, const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || v > 1000000)
		usage_error("%s: cannot parse duration '%s'", opt, s);
	if (strcmp(end, "ms") == 0)
		return v;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v * 1000;
	if (strcmp(end, "m") == 0)
		return v * 60 * 1000;
	usage_error("%s: cannot parse duration '%s' (use ms, s or m)", opt, s);
}

/* "N/PERIOD", e.g. "5/60s". */
static void
parse_intensity(const char *s, struct restart_cfg *rs)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '/' || n < 1 || n > 1000000)
		usage_error("--intensity: expected N/PERIOD, e.g. 5/60s");
	rs->intensity = n;
	rs->period_ms = parse_duration_ms("--intensity", end + 1);
	if (rs->period_ms == 0)
		usage_error("--intensity: the period must not be 0");
}

/* --tls values; nbdkit's spellings are accepted too.  -1 if none. */
static int
parse_tls(const char *s)
{
	static const struct {
		const char	*word;
		int		 mode;
	} words[] = {
		{ "off", TLS_OFF }, { "no", TLS_OFF }, { "false", TLS_OFF },
		{ "0", TLS_OFF }, { "on", TLS_ON }, { "yes", TLS_ON },
		{ "true", TLS_ON }, { "1", TLS_ON }, { "require", TLS_REQUIRE },
		{ "required", TLS_REQUIRE }, { "force", TLS_REQUIRE },
	};
	size_t	i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i].word) == 0)
			return words[i].mode;
	return -1;
}

/* An absolute path: the server changes directory when it detaches. */
static char *
abs_path(const char *p)
{
	char	*r, cwd[PATH_MAX];

	if ((r = realpath(p, NULL)) != NULL)
		return r;
	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		r = strdup(p);
	else if (asprintf(&r, "%s/%s", cwd, p) == -1)
		r = NULL;
	if (r == NULL)
		fatal("%s", p);
	return r;
}

static void
dump_config(void)
{
	printf("name=%s\n", PACKAGE_NAME);
	printf("version=%s\n", PACKAGE_VERSION);
	printf("tls=%s\n", tls_available() ? "yes" : "no");
	if (tls_available())
		printf("tls_certificates_dir=%s\n", tls_default_dir());
	printf("socket_activation=yes\n");
	printf("sandbox=%s\n", SANDBOX_FORCE_LOG ? "log" : "enforce");
}

/*
 * systemd socket activation: LISTEN_PID names us and LISTEN_FDS counts
 * the listening sockets on fds 3 onwards.  Checked first thing, before
 * anything can fork; the variables are removed so no child inherits
 * them.  Returns the number of sockets (0: not activated).
 */
static int
socket_activation(void)
{
	const char	*pid_s = getenv("LISTEN_PID"), *fds_s;
	char		*end;
	long		 pid, n, i;

	if (pid_s == NULL)
		return 0;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno != 0 || *end != '\0' || pid != (long)getpid()) {
		log_warn("LISTEN_PID=%s is not this process (%d): socket "
		    "activation ignored", pid_s, (int)getpid());
		return 0;
	}
	if ((fds_s = getenv("LISTEN_FDS")) == NULL)
		return 0;
	errno = 0;
	n = strtol(fds_s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > LISTEN_MAX_FDS)
		fatalx("socket activation: LISTEN_FDS=%s: expected 1 to %d",
		    fds_s, LISTEN_MAX_FDS);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++) {
		int	fd = 3 + i, type;
		socklen_t len = sizeof(type);

		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
			fatal("socket activation: fd %d", fd);
		if (type != SOCK_STREAM)
			fatalx("socket activation: fd %d is not a stream "
			    "socket", fd);
	}
	return (int)n;
}

enum {
	OPT_RUN = 256,
	OPT_EXIT_WITH_PARENT,
	OPT_PRINT_URI,
	OPT_LOG,
	OPT_ARENA,
	OPT_ISOLATION,
	OPT_REQUEST_TIMEOUT,
	OPT_REPLAYS,
	OPT_INTENSITY,
	OPT_MAX_CONNS,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_NBDKIT_PLUGIN_DIR,
	OPT_DUMP_PLUGIN,
	OPT_FILTER,
	OPT_TLS,
	OPT_TLS_CERTIFICATES,
	OPT_TLS_PSK,
	OPT_TLS_VERIFY_PEER,
	OPT_DUMP_CONFIG,
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
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		{ "request-timeout", required_argument, NULL,
		    OPT_REQUEST_TIMEOUT },
		{ "replays", required_argument, NULL, OPT_REPLAYS },
		{ "intensity", required_argument, NULL, OPT_INTENSITY },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
		{ "handshake-timeout", required_argument, NULL,
		    OPT_HANDSHAKE_TIMEOUT },
		{ "debug", required_argument, NULL, 'D' },
		{ "nbdkit-plugin-dir", required_argument, NULL,
		    OPT_NBDKIT_PLUGIN_DIR },
		{ "dump-plugin", no_argument, NULL, OPT_DUMP_PLUGIN },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "tls", required_argument, NULL, OPT_TLS },
		{ "tls-certificates", required_argument, NULL,
		    OPT_TLS_CERTIFICATES },
		{ "tls-psk", required_argument, NULL, OPT_TLS_PSK },
		{ "tls-verify-peer", no_argument, NULL, OPT_TLS_VERIFY_PEER },
		{ "dump-config", no_argument, NULL, OPT_DUMP_CONFIG },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "policy-dir", required_argument, NULL, OPT_POLICY_DIR },
		{ "check-policy", required_argument, NULL, OPT_CHECK_POLICY },
		{ NULL, 0, NULL, 0 }
	};
	struct config	*cfg = &broker.cfg;
	int		 c;
	long		 t;
	char		*end;
	bool		 tls_set = false;

	cfg->arena_size = ARENA_DEFAULT_SIZE;
	cfg->max_conns = BROKER_DEFAULT_MAX_CONNS;
	cfg->handshake_ms = CONN_HANDSHAKE_MS;
	cfg->rs.request_timeout_ms = RESTART_DEFAULT_TIMEOUT_MS;
	cfg->rs.replays = RESTART_DEFAULT_REPLAYS;
	cfg->rs.intensity = RESTART_DEFAULT_INTENSITY;
	cfg->rs.period_ms = RESTART_DEFAULT_PERIOD_MS;
	cfg->rs.durability = -1;
	while ((c = getopt_long(argc, argv, "U:p:i:sfP:re:t:vhVnD:", longopts,
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
		case OPT_ISOLATION:
			cfg->rs.set_isolation = true;
			if (strcmp(optarg, "plugin") == 0)
				cfg->rs.per_connection = false;
			else if (strcmp(optarg, "connection") == 0)
				cfg->rs.per_connection = true;
			else
				usage_error("--isolation: plugin or connection");
			break;
		case OPT_REQUEST_TIMEOUT:
			cfg->rs.set_timeout = true;
			cfg->rs.request_timeout_ms = parse_duration_ms(
			    "--request-timeout", optarg);
			break;
		case OPT_REPLAYS:
			cfg->rs.set_replays = true;
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno || *end || t < 0 || t > 100)
				usage_error("--replays: 0 to 100");
			cfg->rs.replays = t;
			break;
		case OPT_INTENSITY:
			cfg->rs.set_intensity = true;
			parse_intensity(optarg, &cfg->rs);
			break;
		case OPT_MAX_CONNS:
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno || *end || t < 1 || t > 1000000)
				usage_error("--max-connections: 1 to 1000000");
			cfg->max_conns = t;
			break;
		case OPT_HANDSHAKE_TIMEOUT:
			cfg->handshake_ms = parse_duration_ms(
			    "--handshake-timeout", optarg);
			if (cfg->handshake_ms == 0)
				usage_error("--handshake-timeout: must not be 0");
			break;
		case 'D':
			if (compat_add_debug_flag(optarg) == -1)
				usage_error("-D %s: must be NAME.FLAG=N (N an "
				    "int)", optarg);
			break;
		case OPT_NBDKIT_PLUGIN_DIR:
			cfg->nbdkit_plugin_dir = optarg;
			break;
		case OPT_DUMP_PLUGIN:
			cfg->dump_plugin = true;
			break;
		case OPT_FILTER:
			usage_error("--filter=%s: nbdbroker does not support "
			    "nbdkit filters (see \"Coming from nbdkit\" in "
			    "README.md)", optarg);
		case OPT_TLS:
			if ((cfg->tls = parse_tls(optarg)) == -1)
				usage_error("--tls: off, on or require, not "
				    "'%s'", optarg);
			tls_set = true;
			break;
		case OPT_TLS_CERTIFICATES:
			cfg->tls_certificates = abs_path(optarg);
			break;
		case OPT_TLS_PSK:
			cfg->tls_psk = abs_path(optarg);
			break;
		case OPT_TLS_VERIFY_PEER:
			cfg->tls_verify_peer = true;
			break;
		case OPT_DUMP_CONFIG:
			dump_config();
			exit(EXIT_SUCCESS);
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

	/* Credentials alone turn TLS on, as in nbdkit. */
	if (!tls_set && (cfg->tls_certificates || cfg->tls_psk))
		cfg->tls = TLS_ON;
	if (cfg->tls_psk && cfg->tls_certificates)
		usage_error("--tls-psk and --tls-certificates cannot be "
		    "combined: choose pre-shared keys or X.509");
	if (cfg->tls_verify_peer && cfg->tls_psk)
		usage_error("--tls-verify-peer checks X.509 client "
		    "certificates; with --tls-psk every client proves its key");
	if (cfg->tls_verify_peer && cfg->tls == TLS_OFF)
		usage_error("--tls-verify-peer needs --tls=on or require");

	/* Socket activation: the listeners are given, not chosen. */
	if (cfg->nsockets > 0) {
		if (cfg->single || cfg->unix_path || cfg->unix_private ||
		    cfg->port || cfg->ipaddr || cfg->run)
			usage_error("socket activation (LISTEN_FDS=%d): -U, -p, "
			    "-i, -s and --run cannot be used; the listening "
			    "sockets are already open", cfg->nsockets);
		cfg->foreground = true;
	}
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
		snprintf(port, sizeof(port), "%d", broker.cfg.tls);
		setenv("tls", port, 1);
		if (listen_unix_path() != NULL) {
			setenv("unixsocket", listen_unix_path(), 1);
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

static void
shutdown_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warn("shutdown: %u connection(s) still busy after %d s; "
	    "closing them", broker.nconns, SHUTDOWN_GRACE_S);
	event_base_loopexit(broker.base, NULL);
}

/*
 * Stop accepting, let connections finish what they have in flight
 * (new requests get ESHUTDOWN), then leave the event loop; after
 * SHUTDOWN_GRACE_S, leave it anyway.
 */
void
broker_shutdown(const char *why)
{
	struct conn	*c, *next;
	struct timeval	 tv = { SHUTDOWN_GRACE_S, 0 };

	if (broker.shutting_down)
		return;
	broker.shutting_down = true;
	log_info("shutting down: %s", why);
	if (!broker.started) {
		event_base_loopexit(broker.base, NULL);
		return;
	}
	listen_stop();
	for (c = TAILQ_FIRST(&broker.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_shutdown(c);
	}
	conn_flush_dirty();
	broker.ev_shutdown = evtimer_new(broker.base, shutdown_timeout_cb,
	    NULL);
	if (broker.ev_shutdown != NULL)
		evtimer_add(broker.ev_shutdown, &tv);
	broker_conn_gone();
}

/* A connection was freed: during shutdown, the last one ends the loop. */
void
broker_conn_gone(void)
{
	if (broker.shutting_down && TAILQ_EMPTY(&broker.conns))
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
	sup_stop_all();
	tripwire_stop();
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

/*
 * The policy's isolation, durability and [restart] settings, unless
 * the command line gave them.
 */
static void
restart_from_policy(void)
{
	const struct policy	*p = policy_load_parsed();
	struct restart_cfg	*rs = &broker.cfg.rs;

	if (p == NULL)
		return;
	if (!rs->set_isolation)
		rs->per_connection = p->isolation ==
		    POLICY_ISOLATION_CONNECTION;
	if (!rs->set_timeout)
		rs->request_timeout_ms = p->request_timeout_ms;
	if (!rs->set_replays)
		rs->replays = p->replays;
	if (!rs->set_intensity) {
		rs->intensity = p->intensity_n;
		rs->period_ms = p->intensity_ms;
	}
	if (p->durability != POLICY_DURABILITY_PLUGIN)
		rs->durability = p->durability - POLICY_DURABILITY_STATELESS +
		    NBDBROKER_DURABILITY_STATELESS;
}

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

int
main(int argc, char **argv)
{
	static const struct timeval	one_second = { 1, 0 };
	struct config			*cfg = &broker.cfg;
	const char			*w;

	log_init("nbdbroker", LOG_DEST_STDERR, 0);
	cfg->nsockets = socket_activation();
	parse_args(argc, argv);
	log_init("nbdbroker", LOG_DEST_STDERR, cfg->verbose);
	if (check_policy != NULL)
		exit(policy_load_check(check_policy, cfg->params, cfg->nparams));
	TAILQ_INIT(&broker.conns);
	TAILQ_INIT(&broker.dirty);
	TAILQ_INIT(&broker.backends);

	cfg->plugin_path = resolve_plugin(cfg->plugin_arg);
	/* --dump-plugin runs unsandboxed (like nbdkit), needing no policy. */
	if (!cfg->dump_plugin) {
		policy_load_init();
		restart_from_policy();
	}
	w = getenv("NBDBROKER_WORKER");
	cfg->worker_path = strdup(w && *w ? w : LIBEXECDIR "/nbdbroker-worker");
	if (cfg->worker_path == NULL || access(cfg->worker_path, X_OK) == -1)
		fatal("worker %s", cfg->worker_path);
	if (cfg->dump_plugin)
		compat_exec_dump();
	compat_adjust_params();
	if ((cfg->cwd = getcwd(NULL, 0)) == NULL)
		fatal("getcwd");

	/* Every client is a descriptor (and, isolated, a worker's few). */
	{
		struct rlimit	rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
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
		daemonize();

	if ((broker.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	add_signals();
	if ((broker.be = backend_new()) == NULL)
		exit(EXIT_FAILURE);

	/* The first worker must load and configure the plugin (in time). */
	if ((broker.ev_tick = event_new(broker.base, -1, EV_PERSIST, tick_cb,
	    NULL)) == NULL || event_add(broker.ev_tick, &one_second) == -1)
		fatalx("cannot create the timeout timer");
	if (sup_start(broker.be) == -1)
		exit(EXIT_FAILURE);
	event_base_dispatch(broker.base);
	if (broker.be->state != BE_ST_READY) {
		if (!broker.shutting_down && broker.be->last_failure[0] == '\0')
			log_err("plugin %s: the worker stopped before it was "
			    "ready: %s", cfg->plugin_arg,
			    broker.be->lost_why[0] ? broker.be->lost_why :
			    "no reason given");
		sup_stop_all();
		exit(EXIT_FAILURE);
	}
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
