/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * seccomp for the worker: both filters are compiled (policy/seccomp.c)
 * before anything is locked down, then loaded one per stage.  The
 * start-up filter's tripwires are SECCOMP_RET_USER_NOTIF; its listener
 * goes to the broker over POLICY_NOTIFY_FD before the plugin is
 * loaded, and the worker keeps no copy, so plugin code can neither
 * answer a notification (letting the syscall through) nor forge or
 * hide one.
 */
#include <config.h>

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

static scmp_filter_ctx	filter[2];	/* by enum policy_stage */

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

/* Compile both filters (before lock-down: allocation only). */
int
sandbox_seccomp_prepare(const struct policy *p, char *err, size_t errlen)
{
	uint32_t	trip = SCMP_ACT_NOTIFY;

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
	filter[POLICY_STAGE_STARTUP] = policy_seccomp_build(p,
	    POLICY_STAGE_STARTUP, trip, getpid(), err, errlen);
	if (filter[POLICY_STAGE_STARTUP] == NULL)
		return -1;
	filter[POLICY_STAGE_SERVING] = policy_seccomp_build(p,
	    POLICY_STAGE_SERVING, trip, getpid(), err, errlen);
	if (filter[POLICY_STAGE_SERVING] == NULL)
		return -1;
	return 0;
}

/*
 * Load the filter of stage st.  At start-up, also hand the listener
 * (if the filter has tripwires) to the broker and close the channel.
 */
int
sandbox_seccomp_enter(enum policy_stage st, char *err, size_t errlen)
{
	int	r, lfd;

	if (filter[st] == NULL) {	/* policy_seccomp_trivial() */
		if (st == POLICY_STAGE_STARTUP)
			close(POLICY_NOTIFY_FD);
		return 0;
	}
	if ((r = seccomp_load(filter[st])) != 0) {
		snprintf(err, errlen, "seccomp: cannot load the %s filter: %s",
		    st == POLICY_STAGE_STARTUP ? "start-up" : "serving",
		    strerror(-r));
		return -1;
	}
	if (st == POLICY_STAGE_STARTUP) {
		lfd = seccomp_notify_fd(filter[st]);
		if (lfd >= 0 && send_listener(lfd, err, errlen) == -1)
			return -1;
		close(POLICY_NOTIFY_FD);
	}
	seccomp_release(filter[st]);
	filter[st] = NULL;
	return 0;
}
