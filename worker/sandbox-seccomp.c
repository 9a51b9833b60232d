/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * seccomp for the worker: both filters are compiled (policy/seccomp.c)
 * before anything is locked down, then loaded one per stage.  The
 * start-up filter's tripwires are SECCOMP_RET_USER_NOTIF; its listener
 * goes to the broker over POLICY_NOTIFY_FD before the plugin is
 * loaded, and the worker keeps no copy, so plugin code can neither
 * answer a notification (letting the syscall through) nor forge or
 * hide one.
 *
 * Nor can it stack a filter of its own, which could answer a tripwire
 * with an errno before the notification: the start-up filter lets
 * seccomp(2) through only as seccomp(SECCOMP_SET_MODE_FILTER,
 * SECCOMP_FILTER_FLAG_TSYNC), how policy_seccomp_install() loads the
 * serving filter; every other call is a tripwire, and so is
 * prctl(PR_SET_SECCOMP).  A plugin that makes that very call anyway is
 * found at stage 2 (sandbox.c counts the filters before loading the
 * serving one), and the serving filter denies even that call.
 */
#include <config.h>

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

static scmp_filter_ctx	startup;	/* until loaded */
static void		*serving;	/* struct sock_fprog, until loaded */
static bool		 loaded;	/* a start-up filter is in force */
static bool		 learn;		/* mode = learn: the broker records */

/* Hand the listener to the broker; then neither end stays open here. */
static int
send_listener(int lfd, char *err, size_t errlen)
{
	char		 byte = 'L', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec	 iov = { &byte, 1 };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	do
		n = sendmsg(POLICY_NOTIFY_FD, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	close(lfd);
	if (n != 1) {
		snprintf(err, errlen, "seccomp: cannot hand the listener to "
		    "the broker: %s", n == -1 ? strerror(errno) :
		    "short write");
		return -1;
	}
	return 0;
}

/*
 * Compile both filters (before lock-down: allocation, and a memfd to
 * export the serving filter's program through).
 */
int
sandbox_seccomp_prepare(struct policy *p, char *err, size_t errlen)
{
	scmp_filter_ctx	ctx;
	uint32_t	trip = SCMP_ACT_NOTIFY;

	if (p->mode == POLICY_MODE_LEARN) {
		/* One filter, both stages; the broker answers everything. */
		if (seccomp_api_get() < 5) {
			snprintf(err, errlen, "seccomp: --learn-policy needs "
			    "user notification, which this kernel or "
			    "libseccomp lacks (API level %u)",
			    seccomp_api_get());
			return -1;
		}
		learn = true;
		startup = policy_seccomp_build_learn(p, getpid(), err,
		    errlen);
		return startup != NULL ? 0 : -1;
	}
	if (policy_seccomp_trivial(p) && (p->net & POLICY_NET_HOSTS)) {
		snprintf(err, errlen, "sandbox: %s: [network] hosts needs a "
		    "seccomp filter, and the policy allows every syscall",
		    p->file);
		return -1;
	}
	if (policy_seccomp_trivial(p)) {
		log_warn("sandbox: policy %s allows every syscall: no seccomp "
		    "filter", p->file);
		return 0;
	}
	if (seccomp_api_get() < 5) {
		/* Still killed; only the name of the syscall is lost. */
		log_warn("sandbox: this kernel or libseccomp cannot notify "
		    "the broker (API level %u): tripwires kill without "
		    "saying which syscall", seccomp_api_get());
		trip = SCMP_ACT_KILL_PROCESS;
	}
	/*
	 * So the broker can explain denials: what the default denies,
	 * and the paths of the calls Landlock decides about.
	 */
	if (trip == SCMP_ACT_NOTIFY && p->mode == POLICY_MODE_ENFORCE) {
		p->notify = POLICY_NOTIFY_DENY;
		if (sandbox_landlock_active())
			p->notify |= POLICY_NOTIFY_PATHS;
		if (p->memory != 0)
			p->notify |= POLICY_NOTIFY_MEMORY;
		if (p->memory != 0 && sandbox_limits_address_space())
			p->notify |= POLICY_NOTIFY_MEMORY_AS;
		if (p->net & POLICY_NET_HOSTS)
			p->notify |= POLICY_NOTIFY_CONNECT;
	} else if ((p->net & POLICY_NET_HOSTS) &&
	    p->mode == POLICY_MODE_ENFORCE) {
		/* Ports alone would let it reach any host. */
		snprintf(err, errlen, "sandbox: %s: [network] hosts needs "
		    "the broker to see connect calls (seccomp user "
		    "notification), which this kernel or libseccomp cannot "
		    "do", p->file);
		return -1;
	}
	startup = policy_seccomp_build(p, POLICY_STAGE_STARTUP, trip,
	    getpid(), err, errlen);
	if (startup == NULL)
		return -1;
	ctx = policy_seccomp_build(p, POLICY_STAGE_SERVING, trip, getpid(),
	    err, errlen);
	if (ctx == NULL)
		return -1;
	serving = policy_seccomp_export(ctx, err, errlen);
	seccomp_release(ctx);
	return serving != NULL ? 0 : -1;
}

/* Is a start-up filter (the only one the plugin may see) in force? */
bool
sandbox_seccomp_loaded(void)
{
	return loaded;
}

/*
 * Load the filter of stage st.  At start-up, also hand the listener
 * (if the filter has tripwires) to the broker and close the channel.
 * The serving filter goes to every thread; ESRCH: a thread has a
 * filter the worker did not load.
 */
int
sandbox_seccomp_enter(enum policy_stage st, char *err, size_t errlen)
{
	int	r, lfd;

	if (st == POLICY_STAGE_SERVING && learn) {
		/* No second filter: the broker marks the stage (below). */
		if (syscall(POLICY_STAGE_MARK, 0L) == -1) {
			snprintf(err, errlen, "seccomp: the broker did not "
			    "answer the end of start-up: %s",
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (st == POLICY_STAGE_SERVING) {
		if (serving == NULL)	/* policy_seccomp_trivial() */
			return 0;
		/*
		 * Tell the broker, in order with every notification
		 * before, that what follows is serving.  Before the
		 * serving filter: from here on the broker denies what the
		 * serving filter leaves it to deny (policy/seccomp.c), so
		 * there is no moment where neither does.
		 */
		(void)syscall(POLICY_STAGE_MARK, 0L);
		r = policy_seccomp_install(serving);
		free(serving);
		serving = NULL;
		if (r == -1 && errno == ESRCH) {
			snprintf(err, errlen, "seccomp: cannot load the "
			    "serving filter: a thread of the plugin's has a "
			    "seccomp filter of its own");
			return -1;
		}
		if (r == -1) {
			snprintf(err, errlen, "seccomp: cannot load the "
			    "serving filter: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (startup == NULL) {		/* policy_seccomp_trivial() */
		close(POLICY_NOTIFY_FD);
		return 0;
	}
	if ((r = seccomp_load(startup)) != 0) {
		snprintf(err, errlen, "seccomp: cannot load the start-up "
		    "filter: %s", strerror(-r));
		return -1;
	}
	loaded = true;
	lfd = seccomp_notify_fd(startup);
	if (lfd >= 0 && send_listener(lfd, err, errlen) == -1)
		return -1;
	close(POLICY_NOTIFY_FD);
	seccomp_release(startup);
	startup = NULL;
	return 0;
}
