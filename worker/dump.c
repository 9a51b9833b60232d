/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker-worker --dump-plugin PATH [--filter FILTER]...
 * [--debug-flag NAME.FLAG=N]... [--param KEY=VALUE | --bare WORD]...:
 * what `nbdbroker --dump-plugin` execs.  Loads the plugin and the
 * filters above it (outermost first) and prints what host_dump says
 * on stdout; the broker has already split the parameters.  Runs without
 * the RPC socket, the arenas or the sandbox, in the user's terminal,
 * like nbdkit --dump-plugin.
 *
 * With --show=help or --show=version (`nbdbroker PLUGIN --help`,
 * `--version`), only loads the plugin and prints its help (description
 * and .config_help) or its name and version: strings the plugin
 * declares, so none of its callbacks runs.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

/* Append KEY=VALUE (or a bare word) to a Param array; exits on ENOMEM. */
static void
add_param(Nbdbroker__Rpc__Param ***v, size_t *n, const char *arg, bool kv)
{
	Nbdbroker__Rpc__Param	*pa, **nv;
	const char		*eq = kv ? strchr(arg, '=') : NULL;

	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL ||
	    (pa = calloc(1, sizeof(*pa))) == NULL)
		fatal("dump-plugin");
	*v = nv;
	nbdbroker__rpc__param__init(pa);
	if (eq != NULL) {
		pa->key = strndup(arg, eq - arg);
		pa->value = strdup(eq + 1);
		pa->has_value = true;
	} else {
		pa->key = strdup(arg);
		pa->value = strdup("");
	}
	if (pa->key == NULL || pa->value == NULL)
		fatal("dump-plugin");
	(*v)[(*n)++] = pa;
}

static void
free_params(Nbdbroker__Rpc__Param **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i]->key);
		free(v[i]->value);
		free(v[i]);
	}
	free(v);
}

/* --show=help: the plugin's name, path, description and parameters. */
static void
show_help(void)
{
	const struct nbdbroker_plugin	*p = &host.p;

	printf("\nPlugin %s (%s%s):\n", p->name, host.path, host.nbdkit ?
	    ", an nbdkit plugin" : "");
	if (p->description != NULL && *p->description != '\0')
		printf("%s\n", p->description);
	if (p->config_help != NULL && *p->config_help != '\0')
		printf("%s\n", p->config_help);
	else
		printf("(the plugin describes no parameters)\n");
}

/* --show=version: NAME VERSION, or NAME alone if it declares none. */
static void
show_version(void)
{
	const struct nbdbroker_plugin	*p = &host.p;

	if (p->version != NULL && *p->version != '\0')
		printf("%s %s\n", p->name, p->version);
	else
		printf("%s\n", p->name);
}

int
dump_main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "dump-plugin", required_argument, NULL, 'd' },
		{ "debug-flag", required_argument, NULL, 'D' },
		{ "param", required_argument, NULL, 'p' },
		{ "bare", required_argument, NULL, 'b' },
		{ "show", required_argument, NULL, 's' },
		{ "filter", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	Nbdbroker__Rpc__Config		 cfg = NBDBROKER__RPC__CONFIG__INIT;
	const char			*path = NULL, *show = NULL;
	char				 err[1024], **filters = NULL, **v;
	size_t				 nfilters = 0;
	int				 c, r = 0;

	log_init("nbdbroker-worker", LOG_DEST_STDERR, 0);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			path = optarg;
			break;
		case 'D':
			add_param(&cfg.debug_flags, &cfg.n_debug_flags,
			    optarg, true);
			break;
		case 'p':
		case 'b':
			add_param(&cfg.params, &cfg.n_params, optarg,
			    c == 'p');
			break;
		case 's':
			show = optarg;
			break;
		case 'f':
			if ((v = reallocarray(filters, nfilters + 1,
			    sizeof(*v))) == NULL)
				fatal("dump-plugin");
			filters = v;
			filters[nfilters++] = optarg;
			break;
		default:
			return 2;
		}
	}
	if (path == NULL || optind != argc || (show != NULL &&
	    strcmp(show, "help") != 0 && strcmp(show, "version") != 0)) {
		fprintf(stderr, "nbdbroker-worker --dump-plugin is run by "
		    "nbdbroker --dump-plugin\n");
		return 2;
	}
	if (host_load(path, -1, err, sizeof(err)) == -1 ||
	    filter_load(nfilters, filters, NULL, err, sizeof(err)) == -1) {
		log_err("%s", err);
		r = 1;
	} else if (show == NULL && host_dump(&cfg) == -1)
		r = 1;
	else {
		if (show != NULL && strcmp(show, "help") == 0)
			show_help();
		else if (show != NULL)
			show_version();
		host_unload();
	}
	free(filters);
	free_params(cfg.params, cfg.n_params);
	free_params(cfg.debug_flags, cfg.n_debug_flags);
	return r;
}
