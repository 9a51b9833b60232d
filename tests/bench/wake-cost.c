/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How much a wake-up costs on this machine: two threads hand a token
 * back and forth through a futex (each sleeps until the other wakes
 * it), first both on one CPU, then on two.  Prints the round trip
 * (two hand-offs) in microseconds:
 *
 *	same_cpu_us=4.7 cross_cpu_us=54.1
 *
 * (cross_cpu_us=- when this process may run on one CPU only).  On
 * bare metal and on VMs that poll before halting an idle vCPU the two
 * are close; where an idle vCPU halts at once, waking a thread on the
 * other CPU means waking that vCPU, and the cross-CPU figure is ten
 * times the other.  A pipeline of processes that hand every batch on
 * (client -> broker -> worker -> broker -> client) pays it per
 * hand-off, which is why compare-nbdkit.sh prints it beside its table.
 *
 * Usage: wake-cost [SECONDS]   (per measurement, default 0.3)
 */

#include <config.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct pingpong {
	uint32_t	 turn;		/* 0: the main thread's, 1: the other's */
	uint32_t	 stop;
	int		 cpu[2];	/* where each side runs */
	unsigned long	 trips;
};

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
pin(int cpu)
{
	cpu_set_t	set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Wait for our turn, sleeping in the futex; false once told to stop. */
static int
take_turn(struct pingpong *pp, uint32_t me)
{
	uint32_t	t;

	while ((t = __atomic_load_n(&pp->turn, __ATOMIC_ACQUIRE)) != me) {
		if (__atomic_load_n(&pp->stop, __ATOMIC_ACQUIRE))
			return 0;
		syscall(SYS_futex, &pp->turn, FUTEX_WAIT_PRIVATE, t, NULL,
		    NULL, 0);
	}
	return 1;
}

static void
give_turn(struct pingpong *pp, uint32_t to)
{
	__atomic_store_n(&pp->turn, to, __ATOMIC_RELEASE);
	syscall(SYS_futex, &pp->turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *
other_side(void *arg)
{
	struct pingpong	*pp = arg;

	if (pin(pp->cpu[1]) != 0)
		return (void *)1;
	while (take_turn(pp, 1))
		give_turn(pp, 0);
	return NULL;
}

/* Microseconds per round trip between CPUs a and b, or -1. */
static double
measure(int a, int b, double secs)
{
	struct pingpong	 pp = { .cpu = { a, b } };
	pthread_t	 t;
	void		*r;
	double		 t0, t1 = 0;

	if (pthread_create(&t, NULL, other_side, &pp) != 0)
		return -1;
	if (pin(a) != 0) {
		__atomic_store_n(&pp.stop, 1, __ATOMIC_RELEASE);
		give_turn(&pp, 1);
		pthread_join(t, NULL);
		return -1;
	}
	t0 = now();
	do {
		give_turn(&pp, 1);
		if (!take_turn(&pp, 0))
			break;
		pp.trips++;
	} while ((pp.trips & 63) != 0 || (t1 = now()) - t0 < secs);
	__atomic_store_n(&pp.stop, 1, __ATOMIC_RELEASE);
	give_turn(&pp, 1);
	pthread_join(t, &r);
	if (r != NULL || pp.trips == 0)
		return -1;
	return (t1 - t0) / pp.trips * 1e6;
}

int
main(int argc, char **argv)
{
	cpu_set_t	 set;
	double		 secs = 0.3, same, cross = -1;
	int		 cpus[2], n = 0, i;
	char		*end;

	if (argc > 2 || (argc == 2 && ((secs = strtod(argv[1], &end)) <= 0 ||
	    *end != '\0' || secs > 60))) {
		fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
		return 2;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == -1) {
		fprintf(stderr, "%s: sched_getaffinity: %s\n", argv[0],
		    strerror(errno));
		return 1;
	}
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	if (n == 0) {
		fprintf(stderr, "%s: no CPU to run on\n", argv[0]);
		return 1;
	}
	if ((same = measure(cpus[0], cpus[0], secs)) < 0 ||
	    (n == 2 && (cross = measure(cpus[0], cpus[1], secs)) < 0)) {
		fprintf(stderr, "%s: cannot run two threads pinned to CPUs "
		    "%d and %d\n", argv[0], cpus[0], cpus[n - 1]);
		return 1;
	}
	printf("same_cpu_us=%.1f ", same);
	if (n == 2)
		printf("cross_cpu_us=%.1f\n", cross);
	else
		printf("cross_cpu_us=-\n");
	return 0;
}
