/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake-worker: stands in for nbdbroker-worker in tests and misbehaves
 * on purpose, so tests can check that the broker survives workers
 * that break the RPC protocol.  It speaks the real framing (proto/),
 * receives the broker's socket and arenas on the same fixed
 * descriptors, and does what its --mode says.
 *
 * The broker starts workers with a fixed argument list, so a test
 * points NBDBROKER_WORKER at a small wrapper script that runs
 * "fake-worker --mode=MODE "$@"".
 *
 * To add a misbehaviour: write a mode_*() function that takes the
 * conversation from the start (fake_recv/fake_send help) and add it
 * to the modes[] table.  Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rpc-frame.h"

#define FAKE_BAD_MAJOR		99	/* what bad-version claims */
#define FAKE_READ_CHUNK		65536
#define FAKE_LIFETIME_S		60	/* never outlive a stuck test */

/* Exit statuses (the broker logs them). */
#define FAKE_EXIT_DONE		2	/* finished its act */
#define FAKE_EXIT_PROTO		3	/* the broker said something odd */
#define FAKE_EXIT_USAGE		4

struct fake {
	int		fd;		/* RPC socket (RPC_WORKER_FD) */
	struct rpc_buf	rbuf;		/* bytes from the broker */
};

struct fake_mode {
	const char	*name;
	const char	*help;
	int		(*run)(struct fake *f);	/* returns the exit status */
};

static void
fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log to stderr, which the broker re-logs with the worker's pid. */
static void
fake_log(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fake-worker[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Blocking read of the next frame from the broker.  1 and a new
 * Envelope in *envp (free with rpc_envelope_free), 0 at end of file,
 * -1 on a read error or a bad frame.
 */
static int
fake_recv(struct fake *f, RpcEnvelope **envp)
{
	ssize_t	n;
	int	d;

	*envp = NULL;
	for (;;) {
		if ((d = rpc_frame_decode(&f->rbuf, envp)) != 0)
			return d;
		if (rpc_buf_reserve(&f->rbuf, FAKE_READ_CHUNK) == -1)
			return -1;
		n = read(f->fd, f->rbuf.data + f->rbuf.end,
		    f->rbuf.cap - f->rbuf.end);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		f->rbuf.end += n;
	}
}

/* Send one Envelope.  0, or -1 with errno. */
static int
fake_send(struct fake *f, const RpcEnvelope *env)
{
	struct rpc_buf	b = { 0 };
	int		r = 0;

	if (rpc_frame_encode(&b, env) == -1)
		return -1;
	while (rpc_buf_len(&b) > 0) {
		ssize_t	n = write(f->fd, b.data + b.start, rpc_buf_len(&b));

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -1;
			break;
		}
		rpc_buf_consume(&b, n);
	}
	rpc_buf_free(&b);
	return r;
}

/* Read the broker's Hello.  0, or -1 (logged). */
static int
fake_expect_hello(struct fake *f)
{
	RpcEnvelope	*env;
	int		 r;

	if ((r = fake_recv(f, &env)) != 1) {
		fake_log("no Hello from the broker (%s)",
		    r == 0 ? "end of file" : strerror(errno));
		return -1;
	}
	if (env->body_case != NBDBROKER__RPC__ENVELOPE__BODY_HELLO) {
		fake_log("expected Hello, got %s",
		    rpc_body_name(env->body_case));
		rpc_envelope_free(env);
		return -1;
	}
	fake_log("broker speaks protocol %u.%u", env->hello->major,
	    env->hello->minor);
	rpc_envelope_free(env);
	return 0;
}

/* Discard whatever the broker sends until it hangs up. */
static void
fake_wait_for_eof(struct fake *f)
{
	RpcEnvelope	*env;

	while (fake_recv(f, &env) == 1)
		rpc_envelope_free(env);
}

/* Answer Hello with a protocol major the broker cannot speak. */
static int
mode_bad_version(struct fake *f)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		h = NBDBROKER__RPC__HELLO__INIT;

	if (fake_expect_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	h.major = FAKE_BAD_MAJOR;
	h.minor = 0;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if (fake_send(f, &env) == -1) {
		fake_log("cannot send Hello: %s", strerror(errno));
		return FAKE_EXIT_PROTO;
	}
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/* Take the broker's Hello and never answer. */
static int
mode_silent(struct fake *f)
{
	if (fake_expect_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/* Exit before saying anything. */
static int
mode_exit_at_start(struct fake *f)
{
	return FAKE_EXIT_DONE;
}

static const struct fake_mode	modes[] = {
	{ "bad-version", "answer Hello with protocol major 99",
	    mode_bad_version },
	{ "exit-at-start", "exit before sending anything",
	    mode_exit_at_start },
	{ "silent", "take the broker's Hello, never answer (until killed)",
	    mode_silent },
};

#define NMODES	(sizeof(modes) / sizeof(modes[0]))

static void __attribute__((noreturn))
usage(int status)
{
	size_t	i;

	fprintf(status ? stderr : stdout,
	    "Usage: fake-worker --mode=MODE [--broker-pid PID]\n"
	    "A misbehaving stand-in for nbdbroker-worker (tests only).\n"
	    "Modes:\n");
	for (i = 0; i < NMODES; i++)
		fprintf(status ? stderr : stdout, "  %-16s %s\n",
		    modes[i].name, modes[i].help);
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "broker-pid", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct fake_mode		*mode = NULL;
	struct fake			 f = { .fd = RPC_WORKER_FD };
	size_t				 i;
	int				 c, status;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < NMODES; i++)
				if (strcmp(optarg, modes[i].name) == 0)
					mode = &modes[i];
			if (mode == NULL) {
				fprintf(stderr, "fake-worker: unknown mode "
				    "'%s'\n", optarg);
				usage(FAKE_EXIT_USAGE);
			}
			break;
		case 'b':
			break;		/* the broker's pid: not needed */
		case 'h':
			usage(0);
		default:
			usage(FAKE_EXIT_USAGE);
		}
	}
	if (mode == NULL)
		usage(FAKE_EXIT_USAGE);
	if (fcntl(f.fd, F_GETFD) == -1) {
		fprintf(stderr, "fake-worker: fd %d is not open: run it "
		    "through nbdbroker (NBDBROKER_WORKER)\n", f.fd);
		return FAKE_EXIT_USAGE;
	}
	/* Never outlive the broker or a stuck test. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(FAKE_LIFETIME_S);
	signal(SIGPIPE, SIG_IGN);

	fake_log("mode %s", mode->name);
	status = mode->run(&f);
	rpc_buf_free(&f.rbuf);
	return status;
}
