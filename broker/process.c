/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The server as a Unix process: systemd socket activation, going to
 * the background (the parent waits until the server serves, so that
 * start-up errors reach the terminal), the pid file, the --run
 * command, signals, shutdown (which the service manager hears of:
 * notify.c) and the cleanup at exit.
 *
 * Start-up functions may exit; the signal handlers and shutdown run
 * in the event loop and never block.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "number.h"

static int	 ready_fd = -1;		/* to the waiting parent (no -f) */

/*
 * systemd socket activation: LISTEN_PID names us and LISTEN_FDS counts
 * the listening sockets on fds 3 onwards.  Checked first thing, before
 * anything can fork; the variables are removed so no child inherits
 * them.  Returns the number of sockets (0: not activated).
 */
int
proc_socket_activation(void)
{
	const char	*pid_s = getenv("LISTEN_PID"), *fds_s, *why;
	uint64_t	 pid, n, i;

	if (pid_s == NULL)
		return 0;
	if (uint_parse(pid_s, 1, INT_MAX, &pid, &why) == -1 ||
	    pid != (uint64_t)getpid()) {
		log_warn("LISTEN_PID=%s is not this process (%d): socket "
		    "activation ignored", pid_s, (int)getpid());
		return 0;
	}
	if ((fds_s = getenv("LISTEN_FDS")) == NULL)
		return 0;
	if (uint_parse(fds_s, 1, LISTEN_MAX_FDS, &n, &why) == -1)
		fatalx("socket activation: LISTEN_FDS=%s: expected 1 to %d",
		    fds_s, LISTEN_MAX_FDS);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++) {
		int		fd = 3 + (int)i, type;
		socklen_t	len = sizeof(type);

		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
			fatal("socket activation: fd %d", fd);
		if (type != SOCK_STREAM)
			fatalx("socket activation: fd %d is not a stream "
			    "socket", fd);
	}
	return (int)n;
}

/* Every client is a descriptor (and, isolated, a worker's few). */
void
proc_raise_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Go to the background.  The parent stays until the child reports
 * that it is serving (exit 0) or dies trying (exit 1, the child has
 * printed why on the inherited stderr).
 */
void
proc_detach(void)
{
	int	p[2];
	pid_t	pid;
	char	c = 0;		/* EOF: the child died before serving */

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(c == 'R' ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() == -1)
		fatal("setsid");
}

/*
 * Tell a waiting parent we are serving, and detach from the terminal:
 * stdin and stdout go to /dev/null, and stderr too unless logs are to
 * go there (dest).  Nothing to do in the foreground.
 */
void
proc_startup_done(enum log_dest dest)
{
	int	nul;

	if (ready_fd == -1)
		return;
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (dest != LOG_DEST_STDERR)
			dup2(nul, STDERR_FILENO);
		close(nul);
	}
	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot notify the parent process");
	close(ready_fd);
	ready_fd = -1;
	if (chdir("/") == -1)
		log_warn("chdir /: %s", strerror(errno));
}

/* -P: the pid file, written whole and renamed into place; or exit. */
void
proc_write_pidfile(void)
{
	char	tmp[PATH_MAX], buf[32];
	int	fd, n;

	if (broker.cfg.pidfile == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", broker.cfg.pidfile) >=
	    (int)sizeof(tmp))
		fatalx("-P %s: path too long", broker.cfg.pidfile);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	/* Written whole, then renamed: readers never see a partial pid. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, buf, n) != n || close(fd) == -1 ||
	    rename(tmp, broker.cfg.pidfile) == -1)
		fatal("-P %s", broker.cfg.pidfile);
	broker.pidfile_written = true;
}

/*
 * --run: start the command with the variables that say where the
 * server is.  Its exit shuts the server down (signal_cb).
 */
void
proc_start_run(void)
{
	char	port[16];
	pid_t	pid;

	if ((pid = fork()) == -1)
		fatal("--run: fork");
	if (pid == 0) {
		sigset_t	none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setenv("uri", listen_uri(), 1);
		setenv("exportname", broker.cfg.exportname ?
		    broker.cfg.exportname : "", 1);
		snprintf(port, sizeof(port), "%d", broker.cfg.tls);
		setenv("tls", port, 1);
		if (listen_unix_path() != NULL) {
			setenv("unixsocket", listen_unix_path(), 1);
			unsetenv("port");
		} else {
			snprintf(port, sizeof(port), "%d", listen_port());
			setenv("port", port, 1);
			unsetenv("unixsocket");
		}
		execl("/bin/sh", "sh", "-c", broker.cfg.run, (char *)NULL);
		_exit(127);
	}
	broker.run_pid = pid;
}

static void
shutdown_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warn("shutdown: %u connection(s) still busy after %d s; "
	    "closing them", broker.nconns, SHUTDOWN_GRACE_S);
	event_base_loopexit(broker.base, NULL);
}

/*
 * Stop accepting, let connections finish what they have in flight
 * (new requests get ESHUTDOWN), then leave the event loop; after
 * SHUTDOWN_GRACE_S, leave it anyway.  Before the server serves, leave
 * the loop at once: main() ends start-up.
 */
void
broker_shutdown(const char *why)
{
	struct conn	*c, *next;
	struct timeval	 tv = { SHUTDOWN_GRACE_S, 0 };

	if (broker.shutting_down)
		return;
	broker.shutting_down = true;
	log_info("shutting down: %s", why);
	notify_send("STOPPING=1", "shutting down: %s", why);
	if (!broker.started) {
		event_base_loopexit(broker.base, NULL);
		return;
	}
	listen_stop();
	reload_stop();		/* held requests go to the old worker */
	for (c = TAILQ_FIRST(&broker.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_shutdown(c);
	}
	conn_flush_dirty();
	broker.ev_shutdown = evtimer_new(broker.base, shutdown_timeout_cb,
	    NULL);
	if (broker.ev_shutdown != NULL)
		evtimer_add(broker.ev_shutdown, &tv);
	broker_conn_gone();
}

/* A connection was freed: during shutdown, the last one ends the loop. */
void
broker_conn_gone(void)
{
	if (broker.shutting_down && TAILQ_EMPTY(&broker.conns))
		event_base_loopexit(broker.base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGCHLD) {
		int	status;
		pid_t	pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == broker.run_pid) {
				broker.run_pid = 0;
				broker.exit_status = WIFEXITED(status) ?
				    WEXITSTATUS(status) :
				    128 + WTERMSIG(status);
				broker_shutdown("the --run command exited");
			} else
				sup_reaped(pid, status);
		}
		return;
	}
	if (sig == SIGHUP || sig == SIGUSR2) {
		reload_request(sig == SIGUSR2);
		return;
	}
	broker_shutdown(strsignal(sig));
}

/*
 * Termination signals shut down; SIGHUP reloads the policy and the
 * plugin (SIGUSR2: even a volatile one); SIGCHLD reaps (workers, --run).
 */
void
proc_add_signals(void)
{
	static const int	sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP,
	    SIGUSR2, SIGCHLD };
	size_t			i;
	struct event		*ev;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(broker.base, sigs[i], signal_cb, NULL);
		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", sigs[i]);
	}
}

/*
 * After the event loop: close what is left, stop the workers and the
 * --run command (waiting for it), remove the pid file.
 */
void
proc_cleanup(void)
{
	struct conn	*c;

	listen_stop();
	while ((c = TAILQ_FIRST(&broker.conns)) != NULL)
		conn_close(c, NULL);
	sup_stop_all();
	behalf_connect_stop();
	tripwire_stop();
	if (broker.run_pid > 0) {
		int	status;

		kill(broker.run_pid, SIGTERM);
		while (waitpid(broker.run_pid, &status, 0) == -1 &&
		    errno == EINTR)
			;
	}
	if (broker.pidfile_written)
		unlink(broker.cfg.pidfile);
}
