/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker --dump-config: what this build is and what this host
 * offers it, as KEY=VALUE lines in the order of the keys, for admins
 * and scripts (nbdkit --dump-config's form).  The directories are the
 * ones this broker would use now: the installed ones, unless the
 * environment (the build tree's ./nbdbroker) or an option given before
 * or after --dump-config says otherwise.  The kernel's side: the
 * Landlock ABI, seccomp and its user notification, the cgroup the
 * broker is in and whether it may give workers memory cgroups there,
 * user namespaces, and what the process itself already carries
 * (no_new_privs, capabilities, seccomp filters): under a service
 * manager's hardening, workers inherit all three.
 *
 * Start-up code only: reads a few /proc and /sys files, prints, exits.
 * Changes nothing on the system.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "nbdbroker-version.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif
#define CGROUP_ROOT		"/sys/fs/cgroup"

#ifdef SYS_landlock_create_ruleset
#define LANDLOCK_VERSION_FLAG	1u	/* LANDLOCK_CREATE_RULESET_VERSION */

/* The Landlock ABI version the kernel offers; 0: none. */
static int
landlock_abi(void)
{
	long	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
		    LANDLOCK_VERSION_FLAG);

	return abi > 0 ? (int)abi : 0;
}
#else
static int
landlock_abi(void)
{
	return 0;	/* no syscall number: built without Landlock */
}
#endif /* SYS_landlock_create_ruleset */

/* The first line of path, without its newline, or "" if unreadable. */
static const char *
read_line(const char *path, char *buf, size_t len)
{
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fopen(path, "re")) == NULL)
		return buf;
	if (fgets(buf, len, fp) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
	return buf;
}

/* The value of "Key:" in /proc/self/status, or "" if absent. */
static const char *
proc_status(const char *key, char *buf, size_t len)
{
	char	 line[256];
	size_t	 kl = strlen(key);
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return buf;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(buf, len, "%s", line + kl + 1 +
			    strspn(line + kl + 1, " \t"));
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	fclose(fp);
	return buf;
}

/* Is word one of the words of list, separated by sep? */
static bool
has_word(const char *list, const char *word, char sep)
{
	size_t		 l = strlen(word);
	const char	*p;

	for (p = list; (p = strstr(p, word)) != NULL; p += l)
		if ((p == list || p[-1] == sep) &&
		    (p[l] == sep || p[l] == '\0'))
			return true;
	return false;
}

/*
 * The broker's cgroup, from /proc/self/cgroup: the hierarchy (v2, v1,
 * or hybrid: v1 controllers with a v2 tree beside them), the directory
 * of the memory controller's cgroup (the v2 one, or v1's memory
 * hierarchy), whether that cgroup has the memory controller, and
 * whether the broker may make cgroups under it.
 */
static void
print_cgroup(void)
{
	char		 line[PATH_MAX + 64], v2[PATH_MAX], v1mem[PATH_MAX];
	char		 dir[PATH_MAX + 64], buf[512];
	const char	*kind;
	bool		 any_v1 = false, memory = false;
	struct statfs	 sf;
	FILE		*fp;

	v2[0] = v1mem[0] = '\0';
	if ((fp = fopen("/proc/self/cgroup", "re")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			char	*ctl = strchr(line, ':'), *path;

			line[strcspn(line, "\n")] = '\0';
			if (ctl == NULL || (path = strchr(++ctl, ':')) ==
			    NULL)
				continue;
			*path++ = '\0';
			if (strncmp(line, "0:", 2) == 0 && *ctl == '\0')
				snprintf(v2, sizeof(v2), "%s", path);
			else {
				any_v1 = true;
				if (has_word(ctl, "memory", ','))
					snprintf(v1mem, sizeof(v1mem), "%s",
					    path);
			}
		}
		fclose(fp);
	}
	dir[0] = '\0';
	if (!any_v1 && v2[0] != '\0' && statfs(CGROUP_ROOT, &sf) == 0 &&
	    sf.f_type == CGROUP2_SUPER_MAGIC) {
		kind = "v2";
		snprintf(dir, sizeof(dir), CGROUP_ROOT "%s", v2);
		snprintf(line, sizeof(line), "%s/cgroup.controllers", dir);
		memory = has_word(read_line(line, buf, sizeof(buf)), "memory",
		    ' ');
	} else if (any_v1) {
		kind = v2[0] != '\0' ? "hybrid" : "v1";
		if (v1mem[0] != '\0') {
			snprintf(dir, sizeof(dir), CGROUP_ROOT "/memory%s",
			    v1mem);
			memory = access(dir, F_OK) == 0;
		}
	} else
		kind = "none";
	printf("cgroup=%s\n", kind);
	if (dir[0] != '\0')
		printf("cgroup_dir=%s\n", dir);
	printf("cgroup_memory=%s\n", memory ? "yes" : "no");
	printf("cgroup_writable=%s\n", dir[0] != '\0' &&
	    access(dir, W_OK) == 0 ? "yes" : "no");
}

/*
 * Can an unprivileged worker make a user namespace (which it needs for
 * a private network namespace when the broker is not root)?
 */
static bool
user_namespaces(void)
{
	char	buf[64];

	if (atol(read_line("/proc/sys/user/max_user_namespaces", buf,
	    sizeof(buf))) <= 0)
		return false;
	/* Debian's switch, where the kernel has it. */
	read_line("/proc/sys/kernel/unprivileged_userns_clone", buf,
	    sizeof(buf));
	return buf[0] != '0';
}

/* Print everything and exit 0 (1 if stdout fails). */
void
dump_config(void)
{
	char		 buf[PATH_MAX], dirs[PATH_MAX];
	char		 actions[256];
	const char	*notify = notify_socket();
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		printf("binary=%s\n", buf);
	}
	printf("cap_effective=0x%s\n", proc_status("CapEff", buf,
	    sizeof(buf)));
	print_cgroup();
	printf("docdir=%s\n", DOCDIR);
	printf("exit_with_parent=yes\n");
	printf("host_cpu=%s\n", HOST_CPU);
	printf("host_os=%s\n", HOST_OS);
	printf("includedir=%s\n", INCLUDEDIR);
	printf("landlock_abi=%d\n", landlock_abi());
	printf("libdir=%s\n", LIBDIR);
	printf("libexecdir=%s\n", LIBEXECDIR);
	printf("mandir=%s\n", MANDIR);
	printf("metrics=prometheus\n");	/* --metrics serves this format */
	if (broker.cfg.metrics != NULL)
		printf("metrics_listen=%s\n", broker.cfg.metrics);
	printf("name=%s\n", PACKAGE_NAME);
	printf("nbdkit_plugindir=%s\n", cli_nbdkit_plugin_dir());
	printf("no_new_privs=%s\n", strcmp(proc_status("NoNewPrivs", buf,
	    sizeof(buf)), "1") == 0 ? "yes" : "no");
	if (notify != NULL)
		printf("notify_socket=%s\n", notify);
	printf("plugindir=%s\n", broker_plugin_dir());
	policy_load_dirs(dirs, sizeof(dirs));
	printf("policydir=%s\n", dirs);
	printf("prefix=%s\n", PREFIX);
	printf("sandbox=%s\n", SANDBOX_FORCE_LOG ? "log" : "enforce");
	printf("sbindir=%s\n", SBINDIR);
	printf("sd_notify=yes\n");
	/* Filters need CONFIG_SECCOMP_FILTER, which makes this file. */
	read_line("/proc/sys/kernel/seccomp/actions_avail", actions,
	    sizeof(actions));
	printf("seccomp=%s\n", actions[0] != '\0' ? "yes" : "no");
	printf("seccomp_actions=%s\n", actions);
	printf("seccomp_filters=%s\n", proc_status("Seccomp_filters", buf,
	    sizeof(buf))[0] ? buf : "0");
	printf("seccomp_user_notif=%s\n", has_word(actions, "user_notif",
	    ' ') ? "yes" : "no");
	printf("socket_activation=yes\n");
	printf("sysconfdir=%s\n", SYSCONFDIR);
	printf("systemdsystemunitdir=%s\n", SYSTEMDSYSTEMUNITDIR);
	printf("tls=%s\n", tls_available() ? "yes" : "no");
	if (tls_available())
		printf("tls_certificates_dir=%s\n", tls_default_dir());
	printf("uid=%d\n", (int)geteuid());
	printf("user_namespaces=%s\n", user_namespaces() ? "yes" : "no");
	printf("version=%s\n", PACKAGE_VERSION);
	printf("version_major=%d\n", NBDBROKER_VERSION_MAJOR);
	printf("version_minor=%d\n", NBDBROKER_VERSION_MINOR);
	printf("version_micro=%d\n", NBDBROKER_VERSION_MICRO);
	printf("worker=%s\n", broker_worker_path());
	exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
