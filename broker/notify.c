/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telling the service manager how the server is doing, with systemd's
 * notification protocol (sd_notify(3)): READY=1 once the server
 * serves, STOPPING=1 when it shuts down, and STATUS= lines that say
 * what it serves.  A message is newline-separated assignments in one
 * datagram sent to the AF_UNIX socket that $NOTIFY_SOCKET names: a
 * path, or "@name" in the abstract namespace.
 *
 * Our own sender rather than libsystemd's sd_notify(): the protocol is
 * one sendto(), and sd_notify() reads $NOTIFY_SOCKET at every call, so
 * the variable would have to stay in the environment that --run
 * commands inherit.  Here it is read once, first thing, and removed.
 * (Workers never get it: they start with an environment of their
 * own.)
 *
 * Never blocks: the socket is non-blocking, and a message the service
 * manager has no room for is dropped.  Text that did not come from the
 * broker (a plugin's error) is escaped, so that it cannot add an
 * assignment of its own, such as READY=1, to a message.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define NOTIFY_MAX	2048		/* bytes in one message */

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_addr;
static socklen_t		 notify_len;
static char			 notify_name[sizeof(notify_addr.sun_path) + 1];

/*
 * Start-up, before anything can fork: take $NOTIFY_SOCKET out of the
 * environment and open the socket to send to it.  Without the variable
 * (not started by a service manager that wants to hear) every
 * notify_send() does nothing.  A variable we cannot use is logged and
 * ignored: the server runs all the same.
 */
void
notify_init(void)
{
	const char	*e = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (e == NULL)
		return;
	len = strlen(e);
	snprintf(notify_name, sizeof(notify_name), "%s", e);
	unsetenv("NOTIFY_SOCKET");	/* e may be gone now */
	if ((notify_name[0] != '/' && notify_name[0] != '@') || len < 2 ||
	    len > sizeof(notify_addr.sun_path)) {
		log_warn("NOTIFY_SOCKET=%s: not a path or @name of an AF_UNIX "
		    "socket: no notifications will be sent", notify_name);
		notify_name[0] = '\0';
		return;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, notify_name, len);
	if (notify_name[0] == '@')
		notify_addr.sun_path[0] = '\0';		/* abstract */
	notify_len = offsetof(struct sockaddr_un, sun_path) + len +
	    (notify_name[0] == '/' && len < sizeof(notify_addr.sun_path));
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (notify_fd == -1) {
		log_warn("NOTIFY_SOCKET=%s: socket: %s: no notifications will "
		    "be sent", notify_name, strerror(errno));
		notify_name[0] = '\0';
	}
}

/* Where notifications go ($NOTIFY_SOCKET as given), or NULL. */
const char *
notify_socket(void)
{
	return notify_fd != -1 ? notify_name : NULL;
}

/*
 * Send state (fixed assignments such as "READY=1", or NULL) and,
 * if fmt is not NULL, STATUS= with the text it formats, escaped.
 */
void
notify_send(const char *state, const char *fmt, ...)
{
	char	 msg[NOTIFY_MAX], status[NOTIFY_MAX / 2];
	char	 esc[NOTIFY_MAX / 2];
	va_list	 ap;

	if (notify_fd == -1)
		return;
	status[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(status, sizeof(status), fmt, ap);
		va_end(ap);
		log_escape(esc, sizeof(esc), status, strlen(status));
	}
	snprintf(msg, sizeof(msg), "%s%s%s%s", state ? state : "",
	    state && fmt ? "\n" : "", fmt ? "STATUS=" : "", fmt ? esc : "");
	if (sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1)
		log_debug("NOTIFY_SOCKET=%s: cannot send %s: %s", notify_name,
		    state ? state : "STATUS", strerror(errno));
}
