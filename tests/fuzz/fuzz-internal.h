/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the harness's two files share (fuzz-harness.c: input, clock,
 * arenas, clients, the loop, set-up and teardown; fuzz-workers.c: the
 * fake worker processes behind the link-time wrappers).  The targets
 * include fuzz-harness.h only.
 *
 * Test code only; never installed.
 */
#ifndef NBDBROKER_FUZZ_INTERNAL_H
#define NBDBROKER_FUZZ_INTERNAL_H

#include "fuzz-harness.h"

#define FZ_ARENA_SIZE		(64u * 1024 * 1024)

/* The harness's state, reset by fz_setup. */
struct fz_state {
	struct fz_config	 cfg;
	uint64_t		 clock;
	struct fz_client	 clients[FZ_MAX_CLIENTS];
	int			 nclients;
	struct fz_worker	*workers[FZ_MAX_WORKERS];
	int			 nworkers;
	pid_t			 next_pid;
	unsigned		 spawn_failures;
	int			 spawn_rpc_fd;	/* dup2'ed to RPC_WORKER_FD */
	int			 spawn_err_fd;	/* dup2'ed to stderr */
	uint64_t		 conns_made;	/* conn_new() succeeded */
	uint64_t		 conns_freed;
	bool			 teardown;
	bool			 rings;		/* next Readys offer rings */
};
extern struct fz_state	fz;

void	fz_fatal(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
int	fz_set_nonblock(int fd);
/* One pass over w's socket and rings; whether anything moved. */
bool	fz_pump_worker(struct fz_worker *w);

#endif /* NBDBROKER_FUZZ_INTERNAL_H */
