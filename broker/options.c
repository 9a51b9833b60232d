/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command line: every option once, in one table (its names, the
 * kind of argument it takes and where the value goes), the checks of
 * options that cannot be combined, --help, and the policy's restart
 * settings for what the command line left alone.  Numbers, sizes and
 * durations are read with the grammars the policy uses too (number.h,
 * size.h), so a value means the same in both places.
 *
 * Start-up code only: fills broker.cfg, and exits with a message on
 * anything it cannot use.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "number.h"
#include "policy.h"
#include "size.h"

#ifndef NBDKIT_PLUGINDIR
#define NBDKIT_PLUGINDIR	"/usr/lib/nbdkit/plugins"
#endif

/* What an option's argument is, and so where its value goes. */
enum opt_kind {
	OPT_FLAG,	/* none: *(bool *)dst = true (dst NULL: ignored) */
	OPT_STRING,	/* *(char **)dst = the argument */
	OPT_PATH,	/* ... made absolute: the server changes directory */
	OPT_UINT,	/* *(unsigned *)dst: a number in [min, max] */
	OPT_SIZE,	/* *(size_t *)dst: a size in [min, max] */
	OPT_DURATION,	/* *(uint64_t *)dst: milliseconds in [min, max] */
	OPT_WORD,	/* *(int *)dst: the value of one of words */
	OPT_CALL,	/* call(argument) does it all */
};

struct opt_word {
	const char	*word;
	int		 value;
};

struct opt {
	const char		*name;		/* long name */
	const char		*alias;		/* another long name, or NULL */
	int			 letter;	/* short name, or 0 */
	enum opt_kind		 kind;
	void			*dst;		/* where the value goes */
	uint64_t		 min, max;	/* the value's range */
	const struct opt_word	*words;		/* OPT_WORD; ends with NULL */
	void			(*call)(char *arg);	/* OPT_CALL */
	const char		*expect;	/* range or words, for errors */
	bool			*given;		/* set when used */
	int			 flags;
#define OPT_FOREGROUND	0x01		/* implies -f */
#define OPT_ANYCASE	0x02		/* words in any case */
#define OPT_ARG		0x04		/* OPT_CALL: takes an argument */
#define OPT_OPTARG	0x08		/* OPT_CALL: may take one (--x=ARG) */
};

#define ISOLATION_PLUGIN	0
#define ISOLATION_CONNECTION	1

static char		*check_policy;	/* --check-policy FILE */
static bool		 list_groups;	/* --list-syscall-groups */
static char		*list_group;	/* ... =@NAME */
static bool		 want_help;	/* --help */
static bool		 want_version;	/* --version */
static bool		 want_dump_plugin;	/* --dump-plugin */
static bool		 want_dump_config;	/* --dump-config */
static int		 log_dest = LOG_DEST_STDERR;	/* --log */
static bool		 log_dest_set;
static int		 isolation;	/* --isolation, ISOLATION_* */
static bool		 tls_set;	/* --tls */

static void	opt_unix(char *);
static void	opt_exportname(char *);
static void	opt_intensity(char *);
static void	opt_debug(char *);
static void	opt_filter(char *);
static void	opt_list_groups(char *);

/* --tls values; nbdkit's spellings are accepted too. */
static const struct opt_word	tls_words[] = {
	{ "off", TLS_OFF }, { "no", TLS_OFF }, { "false", TLS_OFF },
	{ "0", TLS_OFF }, { "on", TLS_ON }, { "yes", TLS_ON },
	{ "true", TLS_ON }, { "1", TLS_ON }, { "require", TLS_REQUIRE },
	{ "required", TLS_REQUIRE }, { "force", TLS_REQUIRE },
	{ NULL, 0 }
};

static const struct opt_word	log_words[] = {
	{ "stderr", LOG_DEST_STDERR }, { "syslog", LOG_DEST_SYSLOG },
	{ "null", LOG_DEST_NULL },
	{ NULL, 0 }
};

static const struct opt_word	isolation_words[] = {
	{ "plugin", ISOLATION_PLUGIN }, { "connection", ISOLATION_CONNECTION },
	{ NULL, 0 }
};

static const struct opt	opts[] = {
	/* Listening. */
	{ .name = "unix", .letter = 'U', .kind = OPT_CALL, .call = opt_unix,
	  .flags = OPT_ARG },
	{ .name = "port", .letter = 'p', .kind = OPT_STRING,
	  .dst = &broker.cfg.port },
	{ .name = "ipaddr", .letter = 'i', .kind = OPT_STRING,
	  .dst = &broker.cfg.ipaddr },
	{ .name = "single", .letter = 's', .kind = OPT_FLAG,
	  .dst = &broker.cfg.single, .flags = OPT_FOREGROUND },
	/* TLS. */
	{ .name = "tls", .kind = OPT_WORD, .dst = &broker.cfg.tls,
	  .words = tls_words, .expect = "off, on or require",
	  .given = &tls_set, .flags = OPT_ANYCASE },
	{ .name = "tls-certificates", .kind = OPT_PATH,
	  .dst = &broker.cfg.tls_certificates },
	{ .name = "tls-psk", .kind = OPT_PATH, .dst = &broker.cfg.tls_psk },
	{ .name = "tls-verify-peer", .kind = OPT_FLAG,
	  .dst = &broker.cfg.tls_verify_peer },
	/* Server. */
	{ .name = "foreground", .letter = 'f', .kind = OPT_FLAG,
	  .dst = &broker.cfg.foreground },
	{ .name = "pidfile", .letter = 'P', .kind = OPT_PATH,
	  .dst = &broker.cfg.pidfile },
	{ .name = "readonly", .alias = "read-only", .letter = 'r',
	  .kind = OPT_FLAG, .dst = &broker.cfg.readonly },
	{ .name = "exportname", .alias = "export-name", .letter = 'e',
	  .kind = OPT_CALL, .call = opt_exportname, .flags = OPT_ARG },
	{ .name = "threads", .letter = 't', .kind = OPT_UINT,
	  .dst = &broker.cfg.threads, .min = 1, .max = 256,
	  .expect = "threads must be 1 to 256" },
	{ .name = "run", .kind = OPT_STRING, .dst = &broker.cfg.run,
	  .flags = OPT_FOREGROUND },
	{ .name = "exit-with-parent", .kind = OPT_FLAG,
	  .dst = &broker.cfg.exit_with_parent, .flags = OPT_FOREGROUND },
	{ .name = "print-uri", .kind = OPT_FLAG,
	  .dst = &broker.cfg.print_uri },
	{ .name = "max-connections", .kind = OPT_UINT,
	  .dst = &broker.cfg.max_conns, .min = 1, .max = 1000000,
	  .expect = "1 to 1000000" },
	{ .name = "handshake-timeout", .kind = OPT_DURATION,
	  .dst = &broker.cfg.handshake_ms, .min = 1, .max = UINT64_MAX,
	  .expect = "must not be 0" },
	{ .name = "log", .kind = OPT_WORD, .dst = &log_dest,
	  .words = log_words, .expect = "stderr, syslog or null",
	  .given = &log_dest_set },
	{ .name = "arena-size", .kind = OPT_SIZE,
	  .dst = &broker.cfg.arena_size, .min = 2 * (size_t)BROKER_MAX_REQUEST,
	  .max = (size_t)1 << 34, .expect = "between 64M and 16G" },
	{ .name = "newstyle", .letter = 'n', .kind = OPT_FLAG },
	{ .name = "metrics", .kind = OPT_STRING, .dst = &broker.cfg.metrics },
	/* Sandbox. */
	{ .name = "policy", .kind = OPT_STRING,
	  .dst = &broker.cfg.policy_path },
	{ .name = "policy-dir", .kind = OPT_STRING,
	  .dst = &broker.cfg.policy_dir },
	{ .name = "check-policy", .kind = OPT_STRING, .dst = &check_policy },
	{ .name = "learn-policy", .kind = OPT_PATH,
	  .dst = &broker.cfg.learn_path },
	{ .name = "allow-log-mode", .kind = OPT_FLAG,
	  .dst = &broker.cfg.allow_log_mode },
	{ .name = "list-syscall-groups", .kind = OPT_CALL,
	  .call = opt_list_groups, .flags = OPT_OPTARG },
	/* Restarts. */
	{ .name = "isolation", .kind = OPT_WORD, .dst = &isolation,
	  .words = isolation_words, .expect = "plugin or connection",
	  .given = &broker.cfg.rs.set_isolation },
	{ .name = "no-spare", .kind = OPT_FLAG, .dst = &broker.cfg.no_spare },
	{ .name = "max-starting", .kind = OPT_UINT,
	  .dst = &broker.cfg.max_starting, .min = 1, .max = 10000,
	  .expect = "1 to 10000" },
	{ .name = "request-timeout", .kind = OPT_DURATION,
	  .dst = &broker.cfg.rs.request_timeout_ms, .min = 0,
	  .max = UINT64_MAX, .given = &broker.cfg.rs.set_timeout },
	{ .name = "replays", .kind = OPT_UINT, .dst = &broker.cfg.rs.replays,
	  .min = 0, .max = 100, .expect = "0 to 100",
	  .given = &broker.cfg.rs.set_replays },
	{ .name = "intensity", .kind = OPT_CALL, .call = opt_intensity,
	  .given = &broker.cfg.rs.set_intensity, .flags = OPT_ARG },
	/* Plugins and debugging. */
	{ .name = "verbose", .letter = 'v', .kind = OPT_FLAG,
	  .dst = &broker.cfg.verbose },
	{ .name = "debug", .letter = 'D', .kind = OPT_CALL,
	  .call = opt_debug, .flags = OPT_ARG },
	{ .name = "nbdkit-plugin-dir", .kind = OPT_STRING,
	  .dst = &broker.cfg.nbdkit_plugin_dir },
	{ .name = "dump-plugin", .kind = OPT_FLAG, .dst = &want_dump_plugin },
	{ .name = "filter", .kind = OPT_CALL, .call = opt_filter,
	  .flags = OPT_ARG },
	/* Information: done once every option is read. */
	{ .name = "dump-config", .kind = OPT_FLAG, .dst = &want_dump_config },
	{ .name = "help", .letter = 'h', .kind = OPT_FLAG, .dst = &want_help },
	{ .name = "version", .letter = 'V', .kind = OPT_FLAG,
	  .dst = &want_version },
};

#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

static void
usage(FILE *fp)
{
	fprintf(fp,
"Usage: nbdbroker [OPTIONS] PLUGIN [KEY=VALUE ...]\n"
"       nbdbroker PLUGIN --help | --version | --dump-plugin\n"
"       nbdbroker --dump-config | --check-policy FILE | --list-syscall-groups\n"
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
"  sockets passed on fds 3.. are used instead; with NOTIFY_SOCKET set, the\n"
"  server tells systemd READY=1 once it serves, and STOPPING=1)\n"
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
"      --metrics unix:PATH|[ADDR:]PORT  serve counters at /metrics over HTTP\n"
"                        (Prometheus text format; ADDR defaults to loopback)\n"
"\n"
"Sandbox (see \"Sandbox policies\" in README.md):\n"
"      --policy FILE     run the worker under the policy in FILE\n"
"      --policy-dir DIR  look for PLUGIN.policy, then default.policy, in DIR\n"
"                        (default " SYSCONFDIR "/nbdbroker/policies)\n"
"      --allow-log-mode  run a policy that says mode = log (nothing denied)\n"
"      --check-policy FILE [PLUGIN [KEY=VALUE ...]]\n"
"                        check FILE, print what it resolves to, exit 0/1\n"
"      --learn-policy FILE  run the worker with everything allowed, record\n"
"                        what it does, write a policy allowing just that\n"
"                        to FILE (at exit and on SIGUSR1)\n"
"      --list-syscall-groups[=@NAME]\n"
"                        the syscall groups a policy can name (or one of\n"
"                        them) and their members, and exit\n"
"\n"
"Restarts (override the policy's [restart] section):\n"
"      --isolation plugin|connection  one worker for all clients (default),\n"
"                        or one per client connection\n"
"      --max-starting N  with one per connection: start at most N workers\n"
"                        at once, the other clients wait (default 8)\n"
"      --request-timeout T  kill a worker whose request takes longer than T\n"
"                        (default 30s; 0: never)\n"
"      --replays N       fail a request with EIO after it brought down N+1\n"
"                        workers (default 2)\n"
"      --intensity N/T   restart at once up to N deaths per T, then back\n"
"                        off from 250ms up to 30s (default 5/60s)\n"
"      --no-spare        keep no spare worker (sandboxed, no plugin\n"
"                        loaded) ready to take over after a crash\n"
"  (T is a duration: a number and ms, s, m or h; a bare number is seconds)\n"
"\n"
"Plugins and debugging:\n"
"  -v, --verbose         debug messages, from the broker and the worker\n"
"  -D, --debug NAME.FLAG=N  set the plugin's debug flag (int NAME_debug_FLAG)\n"
"      --nbdkit-plugin-dir DIR  where nbdkit plugins are found by name\n"
"                        (default " NBDKIT_PLUGINDIR ")\n"
"      --dump-plugin     describe PLUGIN (KEY=VALUE lines) and exit\n"
"      --filter=FILTER   stack nbdkit's filter FILTER (a name or a .so path)\n"
"                        above PLUGIN; repeatable, the first is outermost\n"
"\n"
"      --dump-config     print the directories used, build settings and what\n"
"                        the kernel offers the sandbox (KEY=VALUE), and exit\n"
"  -h, --help            this help; with PLUGIN, the plugin's parameters too\n"
"                        and the sandbox policy it would run under\n"
"  -V, --version         print the version (with PLUGIN, the plugin's too)\n"
"\n"
"Signals:\n"
"  SIGTERM, SIGINT, SIGQUIT  finish the requests in flight, stop\n"
"  SIGHUP                reload: read the policy again and replace each\n"
"                        worker with one running the plugin installed now,\n"
"                        under connected clients (refused for a worker whose\n"
"                        exports would change, or a volatile one with data)\n"
"  SIGUSR2               reload, even a volatile plugin (its data is lost)\n"
"\n"
"Examples:\n"
"  nbdbroker -f -U /tmp/sock memory size=1G\n"
"  nbdbroker -r file file=disk.img\n"
"  nbdbroker -U - memory size=64M --run 'qemu-img info \"$uri\"'\n"
"  nbdbroker -U /tmp/sock nbdkit:memory 1G\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
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

/*
 * An absolute path for p, as a new string: the server changes
 * directory when it detaches.  p need not exist yet.
 */
static char *
abs_path(const char *p)
{
	char	*r, *cwd;

	if ((r = realpath(p, NULL)) != NULL)
		return r;
	if (p[0] == '/') {
		if ((r = strdup(p)) == NULL)
			fatal("%s", p);
		return r;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL)
		fatal("%s: cannot make the path absolute: getcwd", p);
	if (asprintf(&r, "%s/%s", cwd, p) == -1)
		fatal("%s: cannot make the path absolute", p);
	free(cwd);
	return r;
}

static void
opt_unix(char *arg)
{
	if (strcmp(arg, "-") == 0)
		broker.cfg.unix_private = true;
	else
		broker.cfg.unix_path = abs_path(arg);
}

static void
opt_exportname(char *arg)
{
	if (strlen(arg) > BROKER_MAX_NAME)
		usage_error("-e: export name longer than %d bytes",
		    BROKER_MAX_NAME);
	broker.cfg.exportname = arg;
}

/* "N/PERIOD", e.g. "5/60s": common/number.c's intensity_parse. */
static void
opt_intensity(char *arg)
{
	struct restart_cfg	*rs = &broker.cfg.rs;
	const char		*why;
	uint64_t		 n;

	if (intensity_parse(arg, &n, &rs->period_ms, &why) == -1)
		usage_error("--intensity: '%s' is not N/PERIOD (e.g. 5/60s; N "
		    "from 1 to %d): %s", arg, INTENSITY_MAX, why);
	rs->intensity = n;
}

static void
opt_debug(char *arg)
{
	if (cli_add_debug_flag(arg) == -1)
		usage_error("-D %s: must be NAME.FLAG=N (N an int)", arg);
}

static void
opt_filter(char *arg)
{
	cli_add_filter(arg);
}

/* --list-syscall-groups[=@NAME]: done once every option is read. */
static void
opt_list_groups(char *arg)
{
	list_groups = true;
	list_group = arg;
}

/* no_argument, required_argument or optional_argument, for getopt. */
static int
opt_takes_arg(const struct opt *o)
{
	if (o->kind == OPT_CALL && (o->flags & OPT_OPTARG))
		return optional_argument;
	if (o->kind == OPT_FLAG || (o->kind == OPT_CALL &&
	    !(o->flags & OPT_ARG)))
		return no_argument;
	return required_argument;
}

/* The option as users know it, for messages: -t, or --replays. */
static const char *
opt_display(const struct opt *o, char *buf, size_t len)
{
	if (o->letter != 0)
		snprintf(buf, len, "-%c", o->letter);
	else
		snprintf(buf, len, "--%s", o->name);
	return buf;
}

/* Use option o with argument arg (NULL for a flag), or exit. */
static void
opt_apply(const struct opt *o, char *arg)
{
	char		 name[64];
	const char	*why, *what = NULL;
	uint64_t	 v = 0;
	int		 r = 0;
	size_t		 i;

	opt_display(o, name, sizeof(name));
	switch (o->kind) {
	case OPT_FLAG:
		if (o->dst != NULL)
			*(bool *)o->dst = true;
		break;
	case OPT_STRING:
		*(char **)o->dst = arg;
		break;
	case OPT_PATH:
		*(char **)o->dst = abs_path(arg);
		break;
	case OPT_UINT:
		what = "number";
		r = uint_parse(arg, 0, UINT64_MAX, &v, &why);
		break;
	case OPT_SIZE:
		what = "size";
		r = size_parse(arg, SIZE_MAX, &v, &why);
		break;
	case OPT_DURATION:
		what = "duration";
		r = duration_parse(arg, &v, &why);
		break;
	case OPT_WORD:
		for (i = 0; o->words[i].word != NULL; i++)
			if ((o->flags & OPT_ANYCASE ? strcasecmp(arg,
			    o->words[i].word) : strcmp(arg,
			    o->words[i].word)) == 0)
				break;
		if (o->words[i].word == NULL)
			usage_error("%s: %s, not '%s'", name, o->expect, arg);
		*(int *)o->dst = o->words[i].value;
		break;
	case OPT_CALL:
		o->call(arg);
		break;
	}
	if (what != NULL) {
		if (r == -1)
			usage_error("%s: cannot parse %s '%s': %s", name, what,
			    arg, why);
		if (v < o->min || v > o->max)
			usage_error("%s: %s", name, o->expect);
		if (o->kind == OPT_UINT)
			*(unsigned *)o->dst = v;
		else if (o->kind == OPT_SIZE)
			*(size_t *)o->dst = v;
		else
			*(uint64_t *)o->dst = v;
	}
	if (o->given != NULL)
		*o->given = true;
	if (o->flags & OPT_FOREGROUND)
		broker.cfg.foreground = true;
}

/* Options that cannot be combined, and what some imply. */
static void
check_combinations(void)
{
	struct config	*cfg = &broker.cfg;

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
	if (cfg->learn_path && cfg->policy_path)
		usage_error("--learn-policy cannot be combined with --policy: "
		    "learning runs the plugin with everything allowed");

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
 * --list-syscall-groups[=@NAME]: print the groups (policy/groups.c) as
 * systemd-analyze syscall-filter prints systemd's, and exit.
 */
static void __attribute__((noreturn))
list_syscall_groups(void)
{
	char	err[512];

	if (policy_groups_print(list_group, stdout, err, sizeof(err)) == -1) {
		fprintf(stderr, "nbdbroker: --list-syscall-groups: %s\n", err);
		exit(EXIT_FAILURE);
	}
	exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/*
 * getopt's complaint, said once, as "nbdbroker: ...": getopt's own
 * message (opterr) would name the binary by its path (the build
 * tree's, through the ./nbdbroker script) and come on top of ours.
 * c is what getopt_long returned: ':' for a missing argument, '?' for
 * anything else; optopt is the option's letter, or its long option's
 * val (256 + index), or 0 for an unknown or ambiguous long option.
 */
static void __attribute__((noreturn))
bad_option(int c, char **argv)
{
	const char	*word = argv[optind - 1];
	char		 name[64];

	if (optopt >= 256 && optopt < 256 + (int)NOPTS) {
		snprintf(name, sizeof(name), "--%s", opts[optopt - 256].name);
		if (c == ':')
			usage_error("option %s needs an argument", name);
		usage_error("option %s takes no argument", name);
	}
	if (optopt != 0) {
		if (c == ':')
			usage_error("option -%c needs an argument", optopt);
		usage_error("unknown option -%c", optopt);
	}
	usage_error("unknown or ambiguous option %.*s",
	    (int)strcspn(word, "="), word);
}

/*
 * Fill broker.cfg from the command line, or exit with a message (or
 * after --help, --version, --dump-config).  Options may come before
 * or after PLUGIN and its parameters, as with nbdkit.  With PLUGIN,
 * --help and --version are the plugin's too: they set cfg->describe
 * for main(), as --dump-plugin does.
 */
void
options_parse(int argc, char **argv)
{
	static struct option	 longopts[2 * NOPTS + 1];
	static char		 shortopts[2 * NOPTS + 2];
	struct config		*cfg = &broker.cfg;
	size_t			 i, nl = 0, ns = 0;
	int			 c;

	cfg->arena_size = ARENA_DEFAULT_SIZE;
	cfg->max_conns = BROKER_DEFAULT_MAX_CONNS;
	cfg->max_starting = BROKER_DEFAULT_MAX_STARTING;
	cfg->handshake_ms = CONN_HANDSHAKE_MS;
	cfg->rs.request_timeout_ms = RESTART_DEFAULT_TIMEOUT_MS;
	cfg->rs.replays = RESTART_DEFAULT_REPLAYS;
	cfg->rs.intensity = RESTART_DEFAULT_INTENSITY;
	cfg->rs.period_ms = RESTART_DEFAULT_PERIOD_MS;
	cfg->rs.durability = -1;

	/*
	 * getopt's tables, from ours: a long option's val is 256 + index.
	 * The leading ':' makes a missing argument ':', not '?'.
	 */
	shortopts[ns++] = ':';
	for (i = 0; i < NOPTS; i++) {
		int	has_arg = opt_takes_arg(&opts[i]);

		longopts[nl++] = (struct option){ opts[i].name, has_arg, NULL,
		    256 + (int)i };
		if (opts[i].alias != NULL)
			longopts[nl++] = (struct option){ opts[i].alias,
			    has_arg, NULL, 256 + (int)i };
		if (opts[i].letter != 0) {
			shortopts[ns++] = opts[i].letter;
			if (has_arg == required_argument)
				shortopts[ns++] = ':';
		}
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (c == '?' || c == ':')
			bad_option(c, argv);
		if (c >= 256)
			i = c - 256;
		else
			for (i = 0; i < NOPTS && opts[i].letter != c; i++)
				;
		if (i >= NOPTS)
			bad_option('?', argv);
		opt_apply(&opts[i], optarg);
	}
	if (cfg->rs.set_isolation)
		cfg->rs.per_connection = isolation == ISOLATION_CONNECTION;

	if (want_dump_config)
		dump_config();
	/*
	 * As with systemd-analyze syscall-filter, @NAME may follow as a
	 * word of its own (a word without @ would be a plugin's name).
	 */
	if (list_groups && list_group == NULL && optind < argc &&
	    argv[optind][0] == '@')
		list_group = argv[optind];
	if (list_groups)
		list_syscall_groups();
	if (want_help || want_version) {
		if (want_help)
			usage(stdout);
		else
			printf("nbdbroker %s\n", PACKAGE_VERSION);
		if (optind >= argc)
			exit(fflush(stdout) == 0 ? EXIT_SUCCESS :
			    EXIT_FAILURE);
		cfg->describe = want_help ? DESCRIBE_HELP : DESCRIBE_VERSION;
	} else if (want_dump_plugin)
		cfg->describe = DESCRIBE_DUMP;
	if (check_policy != NULL && cfg->describe == DESCRIBE_NONE) {
		cfg->params = argv + optind;
		cfg->nparams = argc - optind;
		return;
	}
	if (optind >= argc)
		usage_error("no plugin given");
	cfg->plugin_arg = argv[optind++];
	cfg->params = argv + optind;
	cfg->nparams = argc - optind;
	if (cfg->describe == DESCRIBE_NONE)
		check_combinations();
}

/* --check-policy FILE, or NULL. */
const char *
options_check_policy(void)
{
	return check_policy;
}

/*
 * Where logs go once the server serves: --log, else stderr in the
 * foreground and syslog in the background.
 */
enum log_dest
options_log_dest(void)
{
	if (log_dest_set)
		return log_dest;
	return broker.cfg.foreground ? LOG_DEST_STDERR : LOG_DEST_SYSLOG;
}

/*
 * The policy's isolation, durability and [restart] settings, unless
 * the command line gave them.  After policy_load_init().
 */
void
options_apply_policy(void)
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
		    RPC_DURABILITY_STATELESS;
}
