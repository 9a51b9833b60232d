/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The server's shared state: the one struct broker that every file of
 * the broker works on, and the clock they all read.  Apart from
 * start-up (main.c) so that the fuzz harness links the real thing and
 * drives the rest of the broker without main().
 */
#include <config.h>

#include <string.h>
#include <time.h>

#include "broker.h"

struct broker	broker;

/*
 * Empty state: no configuration, connections or backends.  First
 * thing in main(); the fuzz harness calls it before each iteration.
 */
void
broker_init(void)
{
	memset(&broker, 0, sizeof(broker));
	TAILQ_INIT(&broker.conns);
	TAILQ_INIT(&broker.dirty);
	TAILQ_INIT(&broker.backends);
	TAILQ_INIT(&broker.start_waiters);
}

/* Milliseconds on the monotonic clock: for timeouts and rates only. */
uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
