/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker-worker: started by the broker (never by hand) with the RPC
 * socket and the two payload arenas on fixed descriptors.  Joins its
 * memory cgroup if the broker gave it one, exchanges Hello, receives
 * Config, loads the plugin and the filters above it and configures
 * them, reports Ready (or Failed), then serves until the broker hangs
 * up.
 *
 * Exit status: 0 when the broker closed the socket, 1 when start-up
 * failed (the reason was sent as Failed and logged), 2 for a protocol
 * mismatch with the broker.
 *
 * `nbdbroker-worker --dump-plugin ...` (dump.c) is the one other way
 * in: exec'd by `nbdbroker --dump-plugin`, it describes a plugin on
 * stdout and exits.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

static void
usage(void)
{
	fprintf(stderr, "nbdbroker-worker is started by nbdbroker; "
	    "it is not meant to be run by hand.\n");
	exit(2);
}

/* Send Failed{stage, message} and exit 1. */
static void __attribute__((noreturn))
fail_startup(const char *stage, const char *msg)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Failed		f = NBDBROKER__RPC__FAILED__INIT;

	f.stage = (char *)stage;
	f.message = (char *)(msg && *msg ? msg : "failed without a message");
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_FAILED;
	env.failed = &f;
	rpc_send(&env);
	exit(EXIT_FAILURE);
}

/*
 * Join the memory cgroup the broker made for this worker, if it gave
 * us its cgroup.procs (v1: tasks) on RPC_WORKER_CGROUP_FD: write "0"
 * (this process, still one thread; the kernel checks the rights of the
 * broker, which opened it).  Before Hello and before any plugin code,
 * so the plugin never runs outside it; the broker checks before it
 * sends Config.  Moving a task may take milliseconds, which this way
 * only this worker waits.
 */
static void
join_cgroup(void)
{
	ssize_t	n;

	if (fcntl(RPC_WORKER_CGROUP_FD, F_GETFD) == -1)
		return;		/* none: no memory limit, or no cgroups */
	n = write(RPC_WORKER_CGROUP_FD, "0", 1);
	if (n != 1) {
		log_err("cannot join my memory cgroup (descriptor %d): %s",
		    RPC_WORKER_CGROUP_FD, n == -1 ? strerror(errno) :
		    "short write");
		exit(EXIT_FAILURE);
	}
	close(RPC_WORKER_CGROUP_FD);
}

/*
 * A spare worker (Config.hold) is as far as it gets without plugin
 * code: sandboxed, its files open, its listener with the broker.  Wait
 * for Start; anything else, or the broker hanging up (a spare that is
 * discarded: shutdown, reload, a newer spare), ends it quietly.
 */
static void
wait_start(pid_t broker)
{
	RpcEnvelope	*in;
	int		 body;

	title_set("nbdbroker-spare (broker %d)",
	    (int)(broker != 0 ? broker : getppid()));
	if (rpc_recv_one(&in) == -1)
		exit(EXIT_SUCCESS);
	body = in->body_case;
	rpc_envelope_free(in);
	if (body != NBDBROKER__RPC__ENVELOPE__BODY_START) {
		log_err("spare worker: expected Start from broker, got %s",
		    rpc_body_name(body));
		exit(2);
	}
}

static int
exchange_hello(void)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		 h = NBDBROKER__RPC__HELLO__INIT;
	RpcEnvelope			*in;

	if (rpc_recv_one(&in) == -1)
		return -1;
	if (in->body_case != NBDBROKER__RPC__ENVELOPE__BODY_HELLO) {
		log_err("expected Hello from broker, got %s",
		    rpc_body_name(in->body_case));
		rpc_envelope_free(in);
		exit(2);
	}
	h.major = RPC_PROTOCOL_MAJOR;
	h.minor = RPC_PROTOCOL_MINOR;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	h.features = rpc_ring_supported() ? RPC_FEATURE_RINGS : 0;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	rpc_send(&env);
	if (in->hello->major != RPC_PROTOCOL_MAJOR) {
		/* The broker logs the mismatch from our Hello too. */
		log_err("broker speaks protocol %" PRIu32 ".%" PRIu32
		    ", this worker speaks %d.%d", in->hello->major,
		    in->hello->minor, RPC_PROTOCOL_MAJOR, RPC_PROTOCOL_MINOR);
		rpc_envelope_free(in);
		exit(2);
	}
	rpc_envelope_free(in);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "rpc-fd", required_argument, NULL, 'r' },
		{ "broker-pid", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Ready		 ready = NBDBROKER__RPC__READY__INIT;
	RpcEnvelope			*in;
	const Nbdbroker__Rpc__Config	*cfg;
	char				 err[1024];
	const char			*stage;
	char				**fpaths = NULL;
	int				*ffds = NULL;
	pid_t				 broker = 0;
	unsigned			 threads;
	size_t				 i, nf;
	int				 c, plugin_fd;

	if (argc > 1 && strcmp(argv[1], "--dump-plugin") == 0)
		return dump_main(argc, argv);	/* nbdbroker --dump-plugin */

	log_init("nbdbroker-worker", LOG_DEST_STDERR, 0);
	title_init(argc, argv);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			break;	/* fixed: RPC_WORKER_FD */
		case 'b':
			broker = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (fcntl(RPC_WORKER_FD, F_GETFD) == -1 ||
	    fcntl(RPC_WORKER_ARENA_OUT_FD, F_GETFD) == -1 ||
	    fcntl(RPC_WORKER_ARENA_IN_FD, F_GETFD) == -1)
		usage();

	join_cgroup();

	/* Die with the broker; it may already be gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/*
	 * glibc's limit on malloc arenas, set now to its own default (8
	 * per CPU): left unset, the first thread to need an arena counts
	 * the CPUs by opening /sys/devices/system/cpu/online, while
	 * serving, where the sandbox denies it (and says so in the log).
	 * The memory limit may lower it (sandbox-limits.c).
	 */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	if (broker != 0 && getppid() != broker)
		exit(EXIT_FAILURE);
	signal(SIGPIPE, SIG_IGN);

	if (rpc_server_init(RPC_WORKER_FD, RPC_WORKER_ARENA_OUT_FD,
	    RPC_WORKER_ARENA_IN_FD) == -1)
		fatal("cannot map payload arenas");
	dispatch_init();
	if (exchange_hello() == -1)
		exit(EXIT_FAILURE);

	if (rpc_recv_one(&in) == -1)
		exit(EXIT_FAILURE);
	if (in->body_case != NBDBROKER__RPC__ENVELOPE__BODY_CONFIG)
		fatalx("expected Config from broker, got %s",
		    rpc_body_name(in->body_case));
	cfg = in->config;
	rpc_set_verbose(cfg->verbose);
	log_init("nbdbroker-worker", LOG_DEST_STDERR, cfg->verbose);

	if (cfg->ring_entries != 0 && rpc_ring_attach(cfg->ring_entries,
	    cfg->ring_out_offset, cfg->ring_in_offset, err,
	    sizeof(err)) == -1)
		fail_startup("rings", err);

	/* Relative paths in parameters mean what they meant to the user. */
	if (cfg->cwd[0] != '\0' && chdir(cfg->cwd) == -1)
		log_warn("chdir %s: %s", cfg->cwd, strerror(errno));
	/* Opened while the worker still has the broker's rights. */
	if ((plugin_fd = open(cfg->plugin_path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "cannot open plugin %s: %s",
		    cfg->plugin_path, strerror(errno));
		fail_startup("load", err);
	}
	nf = cfg->n_filters;
	if (nf > 0 && ((fpaths = calloc(nf, sizeof(*fpaths))) == NULL ||
	    (ffds = calloc(nf, sizeof(*ffds))) == NULL))
		fail_startup("load", "out of memory");
	for (i = 0; i < nf; i++) {
		fpaths[i] = cfg->filters[i]->path;
		if ((ffds[i] = open(fpaths[i], O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, sizeof(err), "cannot open filter %s: %s",
			    fpaths[i], strerror(errno));
			fail_startup("load", err);
		}
	}
	/* Sandbox stage 1: before the plugin's constructors run. */
	if (sandbox_stage1(cfg->policy.data, cfg->policy.len,
	    cfg->plugin_path, broker, cfg->threads, err, sizeof(err)) == -1)
		fail_startup("sandbox", err);
	if (cfg->hold)
		wait_start(broker);
	if (host_load(cfg->plugin_path, plugin_fd, err, sizeof(err)) == -1 ||
	    filter_load(nf, fpaths, ffds, err, sizeof(err)) == -1 ||
	    stack_data_init(err, sizeof(err)) == -1)
		fail_startup("load", err);
	close(plugin_fd);
	for (i = 0; i < nf; i++)
		close(ffds[i]);
	free(ffds);
	free(fpaths);
	/* In ps: which plugin, for which broker (the name is checked). */
	title_set("nbdbroker-worker: %s (broker %d)", host.p.name,
	    (int)(broker != 0 ? broker : getppid()));
	if (host_configure(cfg, &stage) == -1)
		fail_startup(stage, rpc_last_error());
	/* Sandbox stage 2: what serving requests needs. */
	if (sandbox_stage2(err, sizeof(err)) == -1)
		fail_startup("sandbox", err);

	host_fill_ready(&ready);
	threads = tm_pool_threads(cfg->threads);
	/*
	 * One serving thread (SERIALIZE_ALL_REQUESTS): serve on frames in
	 * this thread, the one that loaded the plugin, rather than on the
	 * ring thread.  Interpreters such as Ruby's VM crash when called
	 * from a thread other than the one that started them.
	 */
	if (threads == 1)
		rpc_ring_detach();
	ready.features = rpc_ring_on() ? RPC_FEATURE_RINGS : 0;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_READY;
	env.ready = &ready;
	rpc_send(&env);

	rpc_envelope_free(in);

	rpc_serve(threads);
	host_unload();
	return EXIT_SUCCESS;
}
