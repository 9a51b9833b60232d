/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `nbdbroker --check-policy`: print what a policy resolves to, every
 * syscall with its action at start-up and while serving and where the
 * rule came from, every path, the network, every limit, the user.
 * One item per line, so admins (and tests) can grep it.
 */
#include <config.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char *
variant_text(uint32_t v)
{
	switch (v) {
	case POLICY_ARG_THREAD:		return "threads only";
	case POLICY_ARG_NOEXEC:		return "no PROT_EXEC";
	case POLICY_ARG_SELF:		return "own process only";
	case POLICY_ARG_SOCKET:		return "families per [network]";
	case POLICY_ARG_BLKIOCTL:	return "block device queries";
	case POLICY_ARG_FILTER:		return "the worker's own filter";
	case POLICY_ARG_NOSECCOMP:	return "not PR_SET_SECCOMP";
	default:			return "?";
	}
}

static void
variants_text(uint32_t mask, char *buf, size_t len)
{
	uint32_t	v;

	buf[0] = '\0';
	for (v = POLICY_ARG_THREAD; v <= POLICY_ARG_MASK; v <<= 1) {
		if (!(mask & v))
			continue;
		if (buf[0] != '\0')
			strncat(buf, ", ", len - strlen(buf) - 1);
		strncat(buf, variant_text(v), len - strlen(buf) - 1);
	}
}

static void
default_text(const struct policy *p, char *buf, size_t len)
{
	if (p->mode == POLICY_MODE_LOG && p->dflt != POLICY_DEFAULT_ALLOW)
		snprintf(buf, len, "log");
	else if (p->dflt == POLICY_DEFAULT_ERRNO)
		snprintf(buf, len, "errno %s",
		    policy_errno_name(p->dflt_errno));
	else if (p->dflt == POLICY_DEFAULT_KILL)
		snprintf(buf, len, "kill");
	else
		snprintf(buf, len, "allow");
}

static const char *
kill_text(const struct policy *p)
{
	return p->mode == POLICY_MODE_LOG ? "log" : "kill";
}

/* What calls to s get in stage startup (or serving). */
static void
action_text(const struct policy *p, const struct policy_syscall *s,
    bool serving, char *buf, size_t len)
{
	char		vt[96], dt[32];
	uint32_t	a = serving ? s->serving : s->startup;

	default_text(p, dt, sizeof(dt));
	if (s->enosys) {
		snprintf(buf, len, "errno ENOSYS");
		return;
	}
	if (a & POLICY_ARG_ANY) {
		snprintf(buf, len, "allow");
		return;
	}
	if (serving && s->kill && s->startup != s->serving) {
		variants_text(s->startup, vt, sizeof(vt));
		snprintf(buf, len, "%s (%s); others: %s", p->dflt ==
		    POLICY_DEFAULT_KILL && p->mode != POLICY_MODE_LOG ?
		    "kill (unnamed)" : dt, vt, kill_text(p));
		return;
	}
	if (a != 0) {
		variants_text(a, vt, sizeof(vt));
		snprintf(buf, len, "allow (%s); others: %s", vt, s->kill ?
		    kill_text(p) : dt);
		return;
	}
	if (s->kill) {
		snprintf(buf, len, "%s", kill_text(p));
		return;
	}
	if (serving && s->startup != 0 && p->dflt == POLICY_DEFAULT_KILL &&
	    p->mode != POLICY_MODE_LOG) {
		snprintf(buf, len, "kill (unnamed)");
		return;
	}
	snprintf(buf, len, "%s", dt);
}

static void
origin_text(const struct policy_syscall *s, char *buf, size_t len)
{
	char	a[96] = "", k[96] = "";

	if (s->enosys && !s->kill && s->startup == 0) {
		snprintf(buf, len, "libc falls back on ENOSYS");
		return;
	}
	if (s->allow_line > 0)
		snprintf(a, sizeof(a), "line %d%s%s", s->allow_line,
		    s->allow_via ? ": " : "", s->allow_via ? s->allow_via :
		    "");
	else if (s->allow_via != NULL)
		snprintf(a, sizeof(a), "%s", s->allow_via);
	if (s->kill && s->kill_line > 0)
		snprintf(k, sizeof(k), "kill: line %d%s%s", s->kill_line,
		    s->kill_via ? ": " : "", s->kill_via ? s->kill_via : "");
	else if (s->kill)	/* merged: the origin names its file */
		snprintf(k, sizeof(k), "kill: %s", s->kill_via ? s->kill_via :
		    "built in");
	snprintf(buf, len, "%s%s%s", a, a[0] && k[0] ? "; " : "", k);
}

static void
size_text(uint64_t v, char *buf, size_t len)
{
	if (v == 0)
		snprintf(buf, len, "unlimited");
	else if (v % (UINT64_C(1) << 30) == 0)
		snprintf(buf, len, "%" PRIu64 "G", v >> 30);
	else if (v % (UINT64_C(1) << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "M", v >> 20);
	else if (v % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void
duration_text(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0");
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

static void
print_paths(const struct policy *p, FILE *fp)
{
	static const char *const acc[] = { "-", "read", "write", "read+write",
	    "exec", "read+exec", "write+exec", "read+write+exec" };
	char	where[PATH_MAX + 32];
	size_t	i;
	bool	serving = false;

	fprintf(fp, "filesystem: Landlock %s\n", p->landlock ==
	    POLICY_LANDLOCK_REQUIRED ? "required" : p->landlock ==
	    POLICY_LANDLOCK_BEST_EFFORT ? "best-effort" : "off");
	if (p->landlock == POLICY_LANDLOCK_OFF)
		return;
	if (p->no_behalf)
		fprintf(fp, "  (open-on-behalf = no, %s: the broker opens "
		    "nothing the worker's user cannot reach)\n",
		    policy_where(p->no_behalf_file, p->no_behalf_line, where,
		    sizeof(where)));
	if (p->mode == POLICY_MODE_LOG)
		fprintf(fp, "  (mode = log: not enforced; Landlock cannot "
		    "log without denying)\n");
	if (p->readonly)
		fprintf(fp, "  (read-only export, -r: the policy's write "
		    "grants are left out)\n");
	for (i = 0; i < p->npaths; i++) {
		const struct policy_path	*pp = &p->paths[i];
		char				 from[128];

		if (pp->line > 0 && pp->file == NULL)
			snprintf(from, sizeof(from), "line %d%s%s", pp->line,
			    pp->param ? ": " : "", pp->param ? pp->param : "");
		else
			snprintf(from, sizeof(from), "%s", pp->why ? pp->why :
			    "built in");
		fprintf(fp, "  path %-10s %-40s %-13s %s\n",
		    acc[pp->access & 7], pp->path ? pp->path : pp->param,
		    pp->startup_only ? "start-up only" : "always", from);
		if (!pp->startup_only)
			serving = true;
	}
	if (!serving)
		fprintf(fp, "  (after start-up no path is reachable: every "
		    "open by path is denied)\n");
}

static void
print_network(const struct policy *p, FILE *fp)
{
	size_t	i;

	if (p->net & POLICY_NET_ALL) {
		fprintf(fp, "network: all (the host's network, any socket "
		    "family)\n");
		return;
	}
	fprintf(fp, "network:");
	if (p->net == POLICY_NET_NONE)
		fprintf(fp, " none (private network namespace, no socket "
		    "family)");
	if (p->net & POLICY_NET_UNIX)
		fprintf(fp, " unix (AF_UNIX sockets%s)", p->net &
		    POLICY_NET_TCP_CONNECT ? "" : ", private network "
		    "namespace");
	if (p->net & POLICY_NET_TCP_CONNECT) {
		fprintf(fp, " tcp-connect (TCP only, Landlock: connect to");
		for (i = 0; i < p->nports; i++)
			fprintf(fp, " %u", p->ports[i]);
		for (i = 0; i < p->nport_refs; i++)	/* --check only */
			fprintf(fp, " %s", p->port_refs[i]);
		fprintf(fp, ")");
	}
	if (p->net & POLICY_NET_HOSTS) {
		char	ip[INET6_ADDRSTRLEN];

		fprintf(fp, " hosts (the broker connects, to");
		for (i = 0; i < p->naddrs; i++) {
			if (inet_ntop(p->addrs[i].family, p->addrs[i].addr,
			    ip, sizeof(ip)) == NULL)
				snprintf(ip, sizeof(ip), "?");
			fprintf(fp, " %s=%s (%s)", p->addrs[i].ref,
			    p->addrs[i].host, ip);
		}
		if (p->naddrs == 0 && p->hosts_resolved)
			fprintf(fp, " no host");
		else if (!p->hosts_resolved)
			for (i = 0; i < p->nhost_refs; i++)
				fprintf(fp, " %s", p->host_refs[i]);
		fprintf(fp, ")");
	}
	fprintf(fp, "\n");
}

/*
 * [limits] memory: private memory is RLIMIT_DATA; everything the
 * worker can touch (shared mappings, memfd) is the broker's memory
 * cgroup for the worker, or RLIMIT_AS, each with what the worker
 * itself needs on top (memory.c).  memory_how says which, when the
 * broker knows.
 */
static void
print_memory(const struct policy *p, FILE *fp)
{
	char	buf[64], slack[32];

	size_text(p->memory, buf, sizeof(buf));
	if (p->memory == 0 && p->memory_param == NULL) {
		fprintf(fp, "limit memory: unlimited\n");
		return;
	}
	if (p->memory_param != NULL)
		fprintf(fp, "limit memory: ${%s} + %s\n", p->memory_param,
		    buf);
	else
		fprintf(fp, "limit memory: %s\n", buf);
	if (p->mode == POLICY_MODE_LOG)
		fprintf(fp, "  (mode = log: not enforced)\n");
	size_text(POLICY_MEMORY_SLACK, slack, sizeof(slack));
	fprintf(fp, "  private memory: RLIMIT_DATA, the limit itself\n");
	fprintf(fp, "  all memory (shared mappings, memfd too): %s\n",
	    p->memory_how != NULL ? p->memory_how : "a memory cgroup per "
	    "worker where the broker can create one, else RLIMIT_AS");
	fprintf(fp, "    cgroup: the limit + both payload arenas + %s\n",
	    slack);
	fprintf(fp, "    RLIMIT_AS: the limit + the worker's address space "
	    "at start + its threads' stacks + %s%s\n", slack,
	    policy_allows_memfd(p) ? "; cannot count memfd_create's "
	    "memory: the worker fails without a cgroup" : "");
}

/*
 * Where a setting is: "line N" in the policy's own file (file NULL),
 * "FILE line N" once policies are merged (a path's or open-on-behalf's
 * file, struct policy).  Returns buf.
 */
const char *
policy_where(const char *file, int line, char *buf, size_t len)
{
	if (file != NULL)
		snprintf(buf, len, "%s line %d", file, line);
	else
		snprintf(buf, len, "line %d", line);
	return buf;
}

void
policy_print(const struct policy *p, FILE *fp)
{
	char		 a1[256], a2[256], from[200], buf[64];
	const char	*arch;
	size_t		 i;

	fprintf(fp, "policy: %s (%s)\n", p->file, POLICY_FORMAT);
	fprintf(fp, "mode: %s\n", p->mode == POLICY_MODE_LOG ? "log (nothing "
	    "is denied; the kernel logs what would be)" : "enforce");
	fprintf(fp, "isolation: %s\n", p->isolation ==
	    POLICY_ISOLATION_PLUGIN ? "plugin" : "connection");
	fprintf(fp, "allow-shutdown: %s\n", p->allow_shutdown ? "yes (a "
	    "worker may stop the server; under isolation = connection, "
	    "its own connection)" : "no (a worker's shutdown request is "
	    "refused)");
	{
		static const char *const durs[] = { "as the plugin declares",
		    "stateless", "persistent", "volatile" };

		fprintf(fp, "durability: %s\n", durs[p->durability]);
	}
	if (p->user_keep)
		fprintf(fp, "user: keep (no switch)\n");
	else
		fprintf(fp, "user: %s (uid %u, gid %u) when the broker runs "
		    "as root\n", p->user ? p->user : "nobody",
		    (unsigned)p->uid, (unsigned)p->gid);

	arch = seccomp_arch_resolve_name("x86_64") ==
	    seccomp_arch_native() ? "x86_64" : "native";
	default_text(p, buf, sizeof(buf));
	if (policy_seccomp_trivial(p)) {
		fprintf(fp, "syscalls: all allowed (default allow, no "
		    "tripwires: no seccomp filter is loaded)\n");
		goto rest;
	}
	fprintf(fp, "syscalls: architecture %s, default %s, foreign "
	    "architectures kill\n", arch, buf);
	/* The policy's own lines, groups as groups, then what they mean. */
	for (i = 0; i < p->nrules; i++)
		fprintf(fp, "  line %d: %s\n", p->rules[i].line,
		    p->rules[i].text);
	fprintf(fp, "  built in:");
	for (i = 0; policy_worker_groups[i] != NULL; i++)
		fprintf(fp, " %s", policy_worker_groups[i]);
	fprintf(fp, " ('nbdbroker --list-syscall-groups' shows every "
	    "group)\n");
	fprintf(fp, "  %-22s %-36s %-36s %s\n", "SYSCALL", "START-UP",
	    "SERVING", "FROM");
	for (i = 0; i < p->nsc; i++) {
		const struct policy_syscall	*s = &p->sc[i];

		action_text(p, s, false, a1, sizeof(a1));
		action_text(p, s, true, a2, sizeof(a2));
		origin_text(s, from, sizeof(from));
		fprintf(fp, "  %-22s %-36s %-36s %s\n", s->name, a1, a2, from);
	}
	fprintf(fp, "  %-22s %-36s %-36s %s\n", "(any other)", buf, buf,
	    "default");

 rest:
	print_paths(p, fp);
	print_network(p, fp);

	print_memory(p, fp);
	if (p->open_files)
		fprintf(fp, "limit open-files: %" PRIu64 " (RLIMIT_NOFILE)\n",
		    p->open_files);
	else
		fprintf(fp, "limit open-files: unlimited\n");
	if (p->cpu_seconds)
		fprintf(fp, "limit cpu-seconds: %" PRIu64 " (RLIMIT_CPU)\n",
		    p->cpu_seconds);
	else
		fprintf(fp, "limit cpu-seconds: unlimited\n");
	fprintf(fp, "limit core: 0 (always)\n");
	fprintf(fp, "no_new_privs: always\n");
	duration_text(p->request_timeout_ms, buf, sizeof(buf));
	fprintf(fp, "restart: request-timeout %s, replays %u, ", buf,
	    p->replays);
	duration_text(p->intensity_ms, buf, sizeof(buf));
	fprintf(fp, "intensity %u/%s\n", p->intensity_n, buf);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct policy_group_entry	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * One group as `systemd-analyze syscall-filter` shows its own: the
 * name, a comment, the members in order (with their argument
 * restriction), then the members this architecture does not have.
 */
static void
print_group(const char *name, FILE *fp)
{
	const struct policy_group_entry	*g = policy_group(name), *e;
	struct policy_group_entry	 sorted[128];
	size_t				 n = 0, i;
	bool				 foreign = false;

	for (e = g; e->name != NULL && n < 128; e++)
		sorted[n++] = *e;
	qsort(sorted, n, sizeof(sorted[0]), entry_cmp);
	fprintf(fp, "%s\n    # %s\n", name, policy_group_help(name));
	for (i = 0; i < n; i++) {
		if (policy_syscall_nr(sorted[i].name) < 0) {
			foreign = true;
			continue;
		}
		if (sorted[i].arg & POLICY_ARG_ANY)
			fprintf(fp, "    %s\n", sorted[i].name);
		else
			fprintf(fp, "    %s (%s)\n", sorted[i].name,
			    variant_text(sorted[i].arg));
	}
	if (!foreign)
		return;
	fprintf(fp, "    # not on this architecture:");
	for (i = 0; i < n; i++)
		if (policy_syscall_nr(sorted[i].name) < 0)
			fprintf(fp, " %s", sorted[i].name);
	fprintf(fp, "\n");
}

/*
 * `nbdbroker --list-syscall-groups[=@NAME]`: every group (name NULL),
 * or one ("@NAME" or "NAME"), blank lines between them.  Returns 0, or
 * -1 with err saying why name is not a group.
 */
int
policy_groups_print(const char *name, FILE *fp, char *err, size_t errlen)
{
	const char	*g;
	char		 at[80];
	size_t		 i;

	if (name != NULL) {
		snprintf(at, sizeof(at), "%s%s", name[0] == '@' ? "" : "@",
		    name);
		if (policy_group(at) == NULL) {
			policy_group_unknown(at, err, errlen);
			return -1;
		}
		print_group(at, fp);
		return 0;
	}
	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		if (i > 0)
			fprintf(fp, "\n");
		print_group(g, fp);
	}
	return 0;
}

/* The name of syscall nr in p, for logs; "?" if p has none. */
const char *
policy_syscall_name(const struct policy *p, int nr)
{
	size_t	i;

	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == nr)
			return p->sc[i].name;
	return "?";
}
