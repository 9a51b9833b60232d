/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's counters, and the increments its call sites make.  The
 * increments are inline and cost a few instructions: the broker is
 * single-threaded (no locks, no atomics) and the counters are fixed
 * arrays (no allocation).  metrics.c serves them over HTTP
 * (--metrics) in the Prometheus text format; gauges that the broker
 * already keeps (connections, arenas, backoff) are read there, at
 * scrape time, and never counted here.
 */
#ifndef NBDBROKER_METRICS_H
#define NBDBROKER_METRICS_H

#include <stdint.h>
#include <sys/types.h>

#define MX_NCMD		9	/* NBD_CMD_READ .. BLOCK_STATUS, other */
#define MX_NERRNO	134	/* errno values counted one by one */
#define MX_NBUCKETS	14	/* latency buckets, then +Inf */

/* Why a worker died (nbdbroker_worker_deaths_total{cause}). */
enum mx_death {
	MX_DEATH_EXIT,		/* exited by itself */
	MX_DEATH_SIGNAL,	/* killed by a signal nobody here sent */
	MX_DEATH_TRIPWIRE,	/* killed by its sandbox */
	MX_DEATH_TIMEOUT,	/* killed: hung, or not ready in time */
	MX_DEATH_PROTO,	/* killed: broke the RPC protocol */
	MX_DEATH_RETIRED,	/* stopped on purpose (isolation, shutdown) */
	MX_DEATH_N,
};

struct metrics {
	uint64_t	requests[MX_NCMD];	/* by command, as received */
	uint64_t	bytes[MX_NCMD];		/* length of successful ones */
	uint64_t	errors[MX_NERRNO + 1];	/* by errno; last: others */
	/* Latency, from submission to reply, by command (not cumulative). */
	uint64_t	lat[MX_NCMD][MX_NBUCKETS + 1];
	uint64_t	lat_sum_ms[MX_NCMD];
	uint64_t	worker_starts;
	uint64_t	deaths[MX_DEATH_N];
	uint64_t	replays;	/* data requests taken back from a dead
					   worker */
	uint64_t	poison;		/* ... then failed with EIO */
	uint64_t	reloads;	/* backends switched by a reload */
	uint64_t	reloads_refused;	/* ... refused (old one kept) */
	uint64_t	spares_used;	/* restarts that started the spare */
	uint64_t	spares_failed;	/* spares that died by themselves */
};

extern struct metrics	metrics;
extern const uint32_t	metrics_bucket_ms[MX_NBUCKETS];

static inline unsigned
metrics_cmd(uint16_t cmd)
{
	return cmd < MX_NCMD - 1 ? cmd : MX_NCMD - 1;
}

/* A request header arrived (tx_step). */
static inline void
metrics_request(uint16_t cmd)
{
	metrics.requests[metrics_cmd(cmd)]++;
}

/* A status reply is queued (err: the errno the client is told, or 0). */
static inline void
metrics_error(int err)
{
	if (err != 0)
		metrics.errors[err > 0 && err < MX_NERRNO ? err : MX_NERRNO]++;
}

/* A data request was answered: its latency, and bytes on success. */
static inline void
metrics_reply(uint16_t cmd, int err, uint32_t count, uint64_t ms)
{
	unsigned	i = metrics_cmd(cmd), b = 0;

	while (b < MX_NBUCKETS && ms > metrics_bucket_ms[b])
		b++;
	metrics.lat[i][b]++;
	metrics.lat_sum_ms[i] += ms;
	if (err == 0)
		metrics.bytes[i] += count;
}

/* metrics.c */
void	metrics_start(void);
void	metrics_worker_cause(pid_t pid, enum mx_death cause);
const char *metrics_worker_reaped(pid_t pid, int status, int expected);

#endif /* NBDBROKER_METRICS_H */
