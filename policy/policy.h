/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Admin-written sandbox policies: the parser, the syscall groups
 * shipped with the program, the resolver (plugin parameters, users,
 * paths), the merge of a plugin's policy with its filters', the wire
 * form the broker sends to a worker, and the compiler to seccomp
 * filters.  This header is the module map of
 * policy/.
 *
 * Who does what:
 *   broker: policy_parse_file() -> policy_resolve() [-> policy_merge()
 *           with each filter's] -> policy_encode() (and policy_print()
 *           for --check-policy);
 *   worker: policy_decode() -> policy_seccomp_build() for each stage,
 *           then applies Landlock, namespaces, rlimits and the user
 *           switch itself (worker/sandbox*.c).
 * The parser never touches the system; the resolver reads the user
 * database and the file system (realpath, stat) and runs in the broker
 * only; memory.c reads /proc and cgroup files for both.
 */
#ifndef NBDBROKER_POLICY_H
#define NBDBROKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define POLICY_FORMAT		"nbdbroker-policy/1"
#define POLICY_MAX_SIZE		(256 * 1024)	/* bytes in a policy file */
#define POLICY_MAX_LINE		4096
#define POLICY_MAX_NR		1024		/* syscall numbers below this */
#define POLICY_PARAM_NAME_MAX	64		/* bytes in a parameter name */
#define POLICY_WIRE_VERSION	1

/*
 * The worker's end of the socketpair on which it hands its seccomp
 * listener to the broker (SCM_RIGHTS), then closes.  The broker logs
 * every tripwire the listener reports and kills the worker.
 */
#define POLICY_NOTIFY_FD	6

enum policy_mode {
	POLICY_MODE_ENFORCE,
	POLICY_MODE_LOG,		/* SECCOMP_RET_LOG, nothing denied */
	POLICY_MODE_LEARN,		/* --learn-policy: everything allowed,
					   the broker records (learn.c) */
};

/*
 * The syscall number the worker makes when its start-up ends, last in
 * stage 2: the start-up filter hands it to the broker (which answers
 * 0), in order with every notification before, so the broker can tell
 * start-up from serving (--learn-policy, explained denials).  No
 * architecture has a syscall with this number; without a notifying
 * filter it fails with ENOSYS or the default errno, unheeded.
 */
#define POLICY_STAGE_MARK	1000

enum policy_isolation {
	POLICY_ISOLATION_PLUGIN,	/* one worker per plugin instance */
	POLICY_ISOLATION_CONNECTION,	/* one worker per NBD connection */
};

/* What survives a worker's death (the plugin's word, overridden). */
enum policy_durability {
	POLICY_DURABILITY_PLUGIN,	/* as the plugin declares */
	POLICY_DURABILITY_STATELESS,	/* = RPC_DURABILITY_* (proto/) */
	POLICY_DURABILITY_PERSISTENT,
	POLICY_DURABILITY_VOLATILE,
};

/* What happens to a syscall the policy does not allow. */
enum policy_default {
	POLICY_DEFAULT_ERRNO,		/* fails with default_errno */
	POLICY_DEFAULT_KILL,		/* a tripwire like the kill list */
	POLICY_DEFAULT_ALLOW,		/* no syscall filter at all */
};

enum policy_landlock {
	POLICY_LANDLOCK_REQUIRED,	/* unavailable: the worker fails */
	POLICY_LANDLOCK_BEST_EFFORT,	/* unavailable: warn and go on */
	POLICY_LANDLOCK_OFF,		/* no file system rules */
};

/* [network] allow: bits. */
#define POLICY_NET_NONE		0x0	/* private network namespace */
#define POLICY_NET_UNIX		0x1	/* AF_UNIX sockets (private netns) */
#define POLICY_NET_TCP_CONNECT	0x2	/* TCP connect to the listed ports */
#define POLICY_NET_ALL		0x4	/* the host's network, unfiltered */
#define POLICY_NET_HOSTS	0x8	/* with TCP_CONNECT: [network] hosts;
					   every TCP connect goes past the
					   broker, which connects to one of
					   p->addrs only (connect-behalf.c) */

/* An address a [network] hosts reference resolved to (broker only). */
struct policy_addr {
	int		 family;	/* AF_INET, AF_INET6 */
	uint8_t		 addr[16];	/* network order; 4 for AF_INET */
	const char	*ref;		/* "${hostname}", in port_refs... */
	char		*host;		/* the parameter's host, as given */
};

/*
 * Argument variants of an allowed syscall.  A syscall allowed with
 * POLICY_ARG_ANY may be called with any arguments; otherwise only
 * with arguments one of the variant bits describes.
 */
#define POLICY_ARG_ANY		0x01
#define POLICY_ARG_THREAD	0x02	/* clone: CLONE_THREAD set */
#define POLICY_ARG_NOEXEC	0x04	/* mmap, mprotect: no PROT_EXEC */
#define POLICY_ARG_SELF		0x08	/* tgkill: own pid; prlimit64: 0 */
#define POLICY_ARG_SOCKET	0x10	/* socket: families [network] allows */
#define POLICY_ARG_BLKIOCTL	0x20	/* ioctl: block device queries */
#define POLICY_ARG_FILTER	0x40	/* seccomp: the worker's own filter
					   load (policy_seccomp_install) */
#define POLICY_ARG_NOSECCOMP	0x80	/* prctl: not PR_SET_SECCOMP */
#define POLICY_ARG_MASK		0xff

/* Path access (a [filesystem] rule). */
#define POLICY_ACCESS_READ	0x1
#define POLICY_ACCESS_WRITE	0x2
#define POLICY_ACCESS_EXEC	0x4	/* run (execve), and read */

/* A seccomp filter stage. */
enum policy_stage {
	POLICY_STAGE_STARTUP,	/* before dlopen, until get_ready is done */
	POLICY_STAGE_SERVING,	/* after get_ready: what requests need */
};

/* One syscall the policy says something about, sorted by nr. */
struct policy_syscall {
	int		 nr;
	char		*name;
	uint32_t	 startup;	/* POLICY_ARG_* allowed at start-up */
	uint32_t	 serving;	/* POLICY_ARG_* allowed while serving */
	bool		 kill;		/* tripwire */
	bool		 enosys;	/* libc falls back on ENOSYS */
	/* Origin, for messages and --check-policy only (not on the wire). */
	int		 allow_line;	/* 0: built in */
	const char	*allow_via;	/* group or NULL; static */
	int		 kill_line;
	const char	*kill_via;
};

/*
 * One [filesystem] rule.  The resolver records which file or directory
 * the (real, symlink-free) path named when the broker loaded the
 * policy; every worker grants the rule only to that same object, so
 * nobody can swap what a rule reaches between worker starts.
 */
struct policy_path {
	char		*path;		/* absolute after resolve */
	char		*param;		/* "${NAME}" reference, or NULL */
	unsigned	 nth;		/* which value of a repeated NAME */
	unsigned	 access;	/* POLICY_ACCESS_* */
	bool		 startup_only;
	bool		 optional;	/* built in: skipped if missing */
	uint64_t	 dev;		/* st_dev after resolve */
	uint64_t	 ino;		/* st_ino after resolve; 0: none */
	int		 line;		/* 0: built in */
	const char	*file;		/* merged: line's file; NULL: p's */
	const char	*why;		/* built in: what needs it; static */
};

/* A [syscalls] allow, startup-allow or kill line as written. */
struct policy_rule {
	int		 line;
	char		*text;		/* "kill = @escape @mount ..." */
};

/*
 * A policy.  After policy_parse_*: everything the file says, names
 * checked and syscall groups expanded.  After policy_resolve:
 * parameter references replaced, the user looked up, the plugin and
 * loader paths added.  After policy_decode (worker): the resolved
 * form only (no lines, no parameter names).
 */
struct policy {
	char			*file;		/* for messages */
	enum policy_mode	 mode;
	enum policy_isolation	 isolation;
	enum policy_durability	 durability;
	char			*user;		/* NULL: "nobody" */
	bool			 user_keep;	/* user = keep */
	char			*magic_key;	/* magic-config-key */
	bool			 allow_shutdown;	/* a worker may stop
						   the server (broker only,
						   not on the wire) */
	int			 user_line;	/* for resolve errors */
	int			 memory_line;
	/* [syscalls] */
	enum policy_default	 dflt;
	int			 dflt_errno;
	struct policy_syscall	*sc;
	size_t			 nsc;
	struct policy_rule	*rules;		/* policy_print only (not
						   on the wire) */
	size_t			 nrules;
	/* [filesystem] */
	enum policy_landlock	 landlock;
	bool			 no_behalf;	/* open-on-behalf = no */
	int			 no_behalf_line;
	const char		*no_behalf_file;	/* merged: line's */
	struct policy_path	*paths;
	size_t			 npaths;
	/* [network] */
	unsigned		 net;		/* POLICY_NET_* */
	uint16_t		*ports;
	size_t			 nports;
	char			**port_refs;	/* tcp-connect ${NAME}...
						   until resolved */
	size_t			 nport_refs;
	int			 net_line;	/* for resolve errors */
	char			**host_refs;	/* hosts = ${NAME}... */
	size_t			 nhost_refs;
	int			 hosts_line;
	struct policy_addr	*addrs;		/* resolved hosts (broker) */
	size_t			 naddrs;
	bool			 hosts_resolved;	/* addrs is final */
	/*
	 * [limits]; 0: unlimited.  memory bounds private memory
	 * (RLIMIT_DATA) and, with what the worker itself needs on top
	 * (memory.c), every page the worker can touch: a memory cgroup
	 * of its own, else RLIMIT_AS.
	 */
	uint64_t		 memory;	/* bytes */
	char			*memory_param;	/* memory = ${NAME} + memory */
	const char		*memory_how;	/* for policy_print: how the
						   broker enforces it; NULL:
						   unknown (not on the wire) */
	uint64_t		 open_files;	/* RLIMIT_NOFILE */
	uint64_t		 cpu_seconds;	/* RLIMIT_CPU */
	/* [restart]: for the supervisor */
	uint64_t		 request_timeout_ms;	/* 0: none */
	unsigned		 replays;
	unsigned		 intensity_n;		/* crashes ... */
	uint64_t		 intensity_ms;		/* ... per this */
	/* Resolved. */
	bool			 resolved;
	bool			 readonly;	/* -r took write access away
						   (not on the wire) */
	bool			 switch_user;	/* broker runs as root */
	uid_t			 uid;
	gid_t			 gid;
	uint32_t		 arch;		/* SCMP_ARCH_* of the numbers */
	/*
	 * What the start-up filter hands to the broker besides tripwires,
	 * so it can explain denials (set by the worker; not on the wire).
	 */
	unsigned		 notify;
#define POLICY_NOTIFY_DENY	0x1	/* the default action (errno): the
					   broker answers with the errno */
#define POLICY_NOTIFY_PATHS	0x2	/* allowed path calls (open, ...):
					   the broker checks the path, lets
					   the call go on, Landlock decides */
#define POLICY_NOTIFY_MEMORY	0x4	/* mmap of POLICY_NOTIFY_BIG bytes
					   or more: the broker checks it
					   against the memory limits */
#define POLICY_NOTIFY_MEMORY_AS	0x8	/* with _MEMORY: RLIMIT_AS is set, so
					   a mapping without PROT_WRITE can
					   fail too (without it, only a
					   writable one goes past the broker:
					   thread stacks and malloc's arena
					   reservations do not) */
#define POLICY_NOTIFY_CONNECT	0x10	/* connect: [network] hosts; the
					   broker connects on the worker's
					   behalf or refuses */
#define POLICY_NOTIFY_BIG	(UINT64_C(8) << 20)
	/* Merged (merge.c): a plugin's policy with its filters'. */
	bool			 merged;
	const char		*own_file;	/* the plugin's own policy
						   file (p's before the first
						   merge); NULL: not merged */
	char			**merge_strs;	/* origin texts merge.c made */
	size_t			 merge_nstrs;
};

/* A plugin parameter, as given on the command line. */
struct policy_param {
	const char	*key;		/* NULL for a bare word */
	const char	*value;
};

/* What policy_resolve needs to know about the export. */
struct policy_env {
	const struct policy_param	*params;
	size_t				 nparams;
	const char			*cwd;		/* for relative paths */
	const char			*plugin_path;	/* absolute */
	const char			*plugin_name;	/* for messages */
	bool				 root;	/* broker runs as root */
	bool				 readonly;	/* -r: no writes */
	bool				 check_only;
	/* check_only: --check-policy, a ${NAME} not given stays as is */
};

/* parse.c */
struct policy	*policy_parse_file(const char *path, char *err, size_t errlen);
struct policy	*policy_parse_buf(const char *name, const char *buf,
		    size_t len, char *err, size_t errlen);
void		 policy_free(struct policy *p);
int		 policy_parse_size(const char *s, uint64_t *v);
bool		 policy_param_name_ok(const char *name);

/*
 * suggest.c: "did you mean" for a name that was typed, among the names
 * given to policy_suggest_add (close ones only, ignoring case).
 */
#define POLICY_SUGGEST_MAX	3	/* names offered at most */
#define POLICY_SUGGEST_LEN	65	/* longer names are never close */
struct policy_suggest {
	const char	*typed;		/* borrowed */
	unsigned	 max;		/* how far a suggestion may be */
	unsigned	 dist;		/* how far best[] are */
	char		 best[POLICY_SUGGEST_MAX][POLICY_SUGGEST_LEN];
	size_t		 n;
};
void	 policy_suggest_init(struct policy_suggest *sg, const char *typed);
void	 policy_suggest_add(struct policy_suggest *sg, const char *name);
const char *policy_suggest_text(const struct policy_suggest *sg,
	    const char *pre, const char *post, char *buf, size_t len);

/* groups.c: the syscall groups shipped with the program. */
struct policy_group_entry {
	const char	*name;
	uint32_t	 arg;		/* POLICY_ARG_* */
};
const struct policy_group_entry	*policy_group(const char *name);
const char	*policy_group_name(size_t i);	/* NULL after the last */
const char	*policy_group_help(const char *name);
bool		 policy_group_builtin(const char *name);
const char	*policy_group_unknown(const char *name, char *buf,
		    size_t len);
const char	*policy_syscall_unknown(const char *name, char *buf,
		    size_t len);
int		 policy_syscall_nr(const char *name);	/* -1: unknown */
const char	*policy_syscall_name_buf(int nr, char *buf, size_t len);
const char	*policy_errno_name(int e);
int		 policy_errno_value(const char *name);	/* -1: unknown */
extern const char *const policy_loader_paths[];
extern const char *const policy_worker_groups[];	/* implicit ones */

/* perm.c: what a user's mode bits allow (both sides) */
bool	policy_user_may(const char *path, unsigned access, uid_t uid,
	    gid_t gid);

/* resolve.c (broker only) */
int	policy_resolve(struct policy *p, const struct policy_env *env,
	    char *err, size_t errlen);
const struct policy_path *policy_path_find(const struct policy *p,
	    const char *param);
int	policy_add_path(struct policy *p, const char *path, unsigned access,
	    bool startup_only, bool optional, const char *why);

/*
 * memory.c: what [limits] memory counts on this system.  Both sides
 * use it: the broker to size and create each worker's memory cgroup,
 * the worker to recognize one, or to size RLIMIT_AS instead.
 */
/* What a worker may need beyond memory, its arenas and its stacks. */
#define POLICY_MEMORY_SLACK	(UINT64_C(64) << 20)

/* Where a process's memory controller is. */
struct policy_cgroup {
	int		 version;	/* 1 or 2 */
	char		 dir[4096];	/* the process's cgroup directory */
};
int	 policy_cgroup_find(const char *proc_cgroup, const char *mountinfo,
	    struct policy_cgroup *cg, char *err, size_t errlen);
uint64_t policy_memory_cgroup_limit(uint64_t memory, uint64_t arena_bytes);
int	 policy_cgroup_read(const char *dir, const char *file, uint64_t *v);
bool	 policy_allows_memfd(const struct policy *p);

/* merge.c (broker only) */
int	policy_merge(struct policy *p, const struct policy *q, char *err,
	    size_t errlen);
const char *policy_own_file(const struct policy *p);

/* print.c */
void	policy_print(const struct policy *p, FILE *fp);
const char *policy_where(const char *file, int line, char *buf, size_t len);
int	policy_groups_print(const char *name, FILE *fp, char *err,
	    size_t errlen);
const char *policy_syscall_name(const struct policy *p, int nr);

/*
 * learn.c: writing what --learn-policy saw as a policy.  seen holds,
 * by stage and syscall, the POLICY_ARG_* variants used (POLICY_ARG_ANY:
 * a use no restriction covers); paths are ready to write (absolute,
 * or ${NAME}).
 */
struct policy_learned_path {
	char		*path;
	unsigned	 access;	/* POLICY_ACCESS_* */
	bool		 serving;	/* else start-up only */
};
struct policy_learned {
	uint32_t			 seen[2][POLICY_MAX_NR];
	struct policy_learned_path	*paths;
	size_t				 npaths;
	unsigned			 net;		/* POLICY_NET_* */
	uint16_t			*ports;
	size_t				 nports;
	char				**notes;	/* comment lines */
	size_t				 nnotes;
	const struct policy		*usual;	/* parsed, or NULL */
	const char			*magic_key;	/* or NULL */
};
int	policy_learn_write(const struct policy_learned *l, FILE *fp);

/* wire.c */
int	policy_encode(const struct policy *p, uint8_t **buf, size_t *len);
struct policy	*policy_decode(const uint8_t *buf, size_t len, char *err,
		    size_t errlen);

/* seccomp.c */
/*
 * Build the filter for one stage.  trip is the libseccomp action for
 * tripwires (SCMP_ACT_NOTIFY in the worker, SCMP_ACT_KILL_PROCESS in
 * tests); self is the pid tgkill may target.  Returns a
 * scmp_filter_ctx (as void *, so this header needs no seccomp.h), or
 * NULL with err set.
 */
bool	 policy_seccomp_trivial(const struct policy *p);
bool	 policy_syscall_takes_path(const char *name);
void	*policy_seccomp_build(const struct policy *p, enum policy_stage st,
	    uint32_t trip, pid_t self, char *err, size_t errlen);
/*
 * The serving filter, loaded the one way the start-up filter lets a
 * process add a filter (POLICY_ARG_FILTER): export the built filter
 * (before any filter is loaded; returns a new program, free with
 * free()), then install it with seccomp(SECCOMP_SET_MODE_FILTER,
 * SECCOMP_FILTER_FLAG_TSYNC) from the compiled program.  install
 * returns 0, or -1 with errno (ESRCH: a thread could not be synced,
 * because it has a filter of its own).
 */
void	*policy_seccomp_export(void *ctx, char *err, size_t errlen);
/*
 * mode = learn: one filter for both stages that hands every syscall
 * the worker's built-in set does not allow in both stages to the
 * broker (SECCOMP_RET_USER_NOTIF), fails libc's ENOSYS probes as
 * enforce would, and lets the worker's own handing over of the
 * listener (sendmsg on POLICY_NOTIFY_FD) through.
 */
void	*policy_seccomp_build_learn(const struct policy *p, pid_t self,
	    char *err, size_t errlen);
int	 policy_seccomp_install(const void *prog);

#endif /* NBDBROKER_POLICY_H */
