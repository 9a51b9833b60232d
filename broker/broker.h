/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker: the trusted front end.  Speaks NBD to clients, forwards
 * every request to a worker process over the RPC socket, and restarts
 * workers that die.  This header is the module map of broker/: one
 * heading per file, below, says its job.
 *
 * A data request's life: conn.c reads the header and nbd-transmission.c
 * validates it (nbd-validate.c) and gives it an arena slot (arena.c);
 * backend.c queues it, and sends it with everything else queued when
 * the callback's pass ends (backend_pass_end); the worker's answer is
 * checked in backend-msg.c and becomes a reply that nbd-transmission.c
 * queues on the connection; once conn.c has written it,
 * tx_request_done finishes the request.
 * supervisor.c decides what happens when a worker dies (spawn.c starts
 * the next one); policy-load.c and tripwire.c are the broker's side of
 * the sandbox.
 *
 * Everything here runs on one libevent loop and never blocks.  Worker
 * input is never trusted: every message is checked against what the
 * broker asked for, and a worker that breaks the rules is killed.
 */
#ifndef NBDBROKER_BROKER_H
#define NBDBROKER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "nbd-protocol.h"
#include "rpc-frame.h"
#include "rpc-ring.h"

/* Limits. */
#define BROKER_MAX_REQUEST	(32u * 1024 * 1024)	/* READ/WRITE payload */
#define BROKER_MAX_NAME		4096		/* export names, strings */
#define BROKER_MAX_OPTLEN	(32 * 1024)	/* option data */
#define META_ID_BASE_ALLOC	1		/* our base:allocation id */
#define BROKER_MAX_OPTIONS	1024		/* per negotiation */
#define BROKER_MAX_EXPORTS	10000		/* in an ExportList (the SDK's) */
#define BROKER_MAX_EXTENTS	65536		/* in a Reply (the SDK's) */
#define BROKER_MAX_CLIENT_EXTENTS 16384		/* in a reply to a client */
#define CONN_MAX_INFLIGHT	256		/* requests per connection */
#define CONN_IBUF_SIZE		(64 * 1024)
#define CONN_MAX_OUT_ITEMS	64		/* iovecs per writev */
#define CONN_SNDBUF		(4 * 1024 * 1024) /* client SO_SNDBUF */
#define CONN_MAX_OUT_BYTES	(4u * 1024 * 1024) /* queued, then pause */
#define CONN_OUT_ITEM_COST	64		/* an item's memory, beyond its bytes */
#define CONN_HANDSHAKE_MS	(60 * 1000)	/* to reach transmission */
#define CONN_STALL_MS		(5 * 1000)	/* arena held, client idle, */
#define CONN_STALL_MIN_BYTES	(64 * 1024)	/* ... moving less than this */
#define BROKER_DEFAULT_MAX_CONNS 1000
#define BROKER_DEFAULT_MAX_STARTING 8		/* workers starting at once */
#define CONN_LOG_BURST		20		/* conn warnings a second */
#define CONN_LOG_NAME		512		/* a client string, escaped */
#define ARENA_PAGE		4096
#define ARENA_DEFAULT_SIZE	(64u * 1024 * 1024)
#define BACKEND_MAX_INFLIGHT	4096		/* requests per worker */
#define WORKER_LOG_BURST	200		/* log lines per ... */
#define WORKER_LOG_PERIOD_S	10		/* ... this many seconds */
#define WORKER_LOG_MAX		8192		/* bytes per log line */

/*
 * Restart rules: the policy's [restart] section and isolation, which
 * command-line options may override.
 */
struct restart_cfg {
	bool		 per_connection;	/* isolation = connection */
	uint64_t	 request_timeout_ms;	/* 0: never */
	unsigned	 replays;		/* crashes a request may cause */
	unsigned	 intensity;		/* crashes allowed ... */
	uint64_t	 period_ms;		/* ... per this long, then backoff */
	int		 durability;		/* -1: as the plugin says */
	/* Given on the command line: the policy does not override it. */
	bool		 set_isolation, set_timeout, set_replays, set_intensity;
};

#define RESTART_DEFAULT_TIMEOUT_MS	(30 * 1000)
#define RESTART_DEFAULT_REPLAYS		2
#define RESTART_DEFAULT_INTENSITY	5
#define RESTART_DEFAULT_PERIOD_MS	(60 * 1000)
#define RESTART_BACKOFF_MIN_MS		250
#define RESTART_BACKOFF_MAX_MS		(30 * 1000)
#define RESTART_RETIRE_MS		2000	/* then SIGKILL */

/* Export and server configuration, from the command line. */
struct config {
	char		 *plugin_arg;	/* as given */
	char		 *plugin_path;	/* resolved absolute path */
	char		**params;	/* KEY=VALUE or bare words */
	size_t		  nparams;
	char		 *cwd;		/* for relative paths in params */
	bool		  readonly;	/* -r */
	bool		  allow_log_mode;	/* --allow-log-mode */
	bool		  foreground;	/* -f */
	bool		  verbose;	/* -v */
	bool		  exit_with_parent;
	bool		  print_uri;
	bool		  single;	/* -s: one client on stdin/stdout */
	char		 *unix_path;	/* -U */
	bool		  unix_private;	/* -U - */
	char		 *port;		/* -p */
	char		 *ipaddr;	/* -i */
	char		 *pidfile;	/* -P */
	char		 *exportname;	/* -e, for --run and the URI */
	char		 *run;		/* --run */
	unsigned	  threads;	/* -t, 0: worker default */
	unsigned	  max_conns;	/* --max-connections */
	unsigned	  max_starting;	/* --max-starting */
	uint64_t	  handshake_ms;	/* --handshake-timeout */
	size_t		  arena_size;
	char		 *worker_path;
	char		 *plugin_dir;
	struct restart_cfg rs;
	/* nbdkit conventions (nbdkit-cli.c). */
	char		 *nbdkit_plugin_dir;	/* --nbdkit-plugin-dir */
	Nbdbroker__Rpc__Param **debug_flags;	/* -D NAME.FLAG=N */
	size_t		  ndebug_flags;
	int		  describe;	/* describe the plugin, exit */
#define DESCRIBE_NONE		0
#define DESCRIBE_DUMP		1	/* --dump-plugin */
#define DESCRIBE_HELP		2	/* PLUGIN --help */
#define DESCRIBE_VERSION	3	/* PLUGIN --version */
	char		**filters;	/* --filter NAME|PATH, outer first */
	char		**filter_paths;	/* ... resolved, absolute */
	size_t		  nfilters;
	Nbdbroker__Rpc__Filter **rpc_filters;	/* ... for Config */
	int		  tls;		/* --tls */
#define TLS_OFF		0
#define TLS_ON		1	/* clients choose (SELECTIVETLS) */
#define TLS_REQUIRE	2	/* options refused until STARTTLS */
	char		 *tls_certificates;	/* X.509 directory */
	char		 *tls_psk;	/* psktool file */
	bool		  tls_verify_peer;	/* demand client certs */
	int		  nsockets;	/* socket activation: fds 3.. */
	char		 *policy_path;	/* --policy, else the one found */
	char		 *policy_dir;	/* --policy-dir */
	char		 *metrics;	/* --metrics unix:PATH|[ADDR:]PORT */
	char		 *learn_path;	/* --learn-policy FILE */
	bool		  no_spare;	/* --no-spare: no spare worker */
};

/* A slot in an arena: pages [page, page + npages). */
struct slot {
	uint32_t	page;
	uint32_t	npages;		/* 0: no slot */
};

/*
 * A shared-memory arena (memfd) the broker owns and hands to each
 * worker it starts.  Pages are allocated first-fit from the lowest.
 */
struct arena {
	int		 fd;		/* kept for the next worker */
	uint8_t		*base;		/* broker's read-write mapping */
	size_t		 size;
	uint32_t	 npages;
	uint32_t	 nfree;
	uint32_t	 head;		/* first payload page */
	uint64_t	*bitmap;	/* 1 = page in use */
};

enum req_kind {
	REQ_DATA,		/* an NBD command */
	REQ_OPEN,		/* NBD_OPT_GO/INFO/EXPORT_NAME, or a re-open */
	REQ_CLOSE,
	REQ_LIST,		/* NBD_OPT_LIST */
};

/*
 * One request to a worker.  Data requests are owned by their
 * connection until finished (tx_request_done); control requests by
 * the backend.  Where a request is queued (where, bq, id, suspect) is
 * backend.c's to change.
 */
struct req {
	uint64_t		 id;		/* RPC id, 0 when not queued */
	enum req_kind		 kind;
	struct conn		*conn;		/* borrowed; NULL if orphaned */
	struct backend		*be;
	TAILQ_ENTRY(req)	 bq;		/* be->pending or be->inflight */
	int			 where;
#define REQ_NOWHERE	0
#define REQ_PENDING	1
#define REQ_INFLIGHT	2
	/* NBD command (REQ_DATA). */
	uint64_t		 cookie;	/* client's handle */
	uint16_t		 cmd;
	uint16_t		 nbd_flags;
	uint32_t		 flags;		/* RPC_FLAG_* */
	uint64_t		 offset;
	uint32_t		 count;
	struct slot		 slot;		/* out arena (WRITE), in (READ) */
	unsigned		 crashes;	/* workers it alone was in */
	bool			 suspect;	/* replay alone (probation) */
	bool			 via_ring;	/* in flight as an SQE */
	bool			 internal;	/* reload.c's FLUSH: no reply */
	uint64_t		 queued_ms;	/* when submitted */
	uint64_t		 sent_ms;	/* when sent to the worker */
	/* Reply to the client. */
	uint8_t			 hdr[32];	/* reply or chunk header */
	size_t			 hdr_len;
	uint8_t			*extra;		/* owned payload (extents) */
	size_t			 extra_len;
	int			 err;		/* errno for the client */
	/* REQ_OPEN: what to ask. */
	bool			 info_only;
	bool			 reopen;	/* after a worker restart */
	/* REQ_CLOSE: the handle to close. */
	uint64_t		 handle;
};
TAILQ_HEAD(req_list, req);

enum backend_state {
	BE_ST_SPAWNED,		/* waiting for the worker's Hello */
	BE_ST_CONFIGURING,	/* Config sent, waiting for Ready */
	BE_ST_READY,
	BE_ST_DOWN,		/* no worker; restart pending */
	BE_ST_FAILED,		/* start-up failed at first start */
};

/*
 * A plugin instance: the arenas, the request table and the worker
 * process currently serving it.  Outlives its workers.
 *
 * Ownership: backend.c alone changes the request queues and the table
 * (pending, inflight, table, ninflight, nsuspects and each request's
 * where, id and suspect); other files read them and ask backend.c for
 * changes.  supervisor.c owns the restart fields and the state (but
 * Hello's step, backend-msg.c, and retiring, backend.c); spawn.c
 * starts the process.
 */
struct backend {
	uint64_t		 id;
	TAILQ_ENTRY(backend)	 link;		/* broker.backends */
	bool			 retiring;	/* freed once reaped */
	struct event		*ev_retire;	/* SIGKILL if it lingers */
	enum backend_state	 state;
	unsigned		 generation;	/* workers started so far */
	/* Current worker. */
	pid_t			 pid;		/* 0: none */
	int			 fd;		/* RPC socket, -1: none */
	struct event		*ev_read;
	struct event		*ev_write;	/* socket writable again */
	struct event		*ev_send;	/* a pass, for kicks outside one */
	bool			 kicked;	/* on the kicked list */
	TAILQ_ENTRY(backend)	 kicklink;	/* backend.c's kicked list */
	struct event		*ev_restart;	/* backoff timer */
	struct rpc_buf		 rbuf;
	struct rpc_buf		 wbuf;
	unsigned		 log_tokens;
	uint64_t		 log_period_start;
	unsigned		 log_dropped;
	/* From Ready. */
	char			*plugin_name;
	uint32_t		 api_version;
	uint32_t		 thread_model;
	uint32_t		 durability;
	bool			 has_list_exports;
	/* Payload arenas. */
	struct arena		 out;		/* WRITE payloads, to worker */
	struct arena		 in;		/* READ results, from worker */
	/* Rings (backend-ring.c), at the start of the arenas. */
	unsigned		 ring_set;	/* which set its workers use */
	struct rpc_ring_out	*ring_out;	/* NULL: rings off */
	struct rpc_ring_in	*ring_in;
	int			 evfd;		/* worker's doorbell, -1: none */
	struct event		*ev_ring;
	bool			 ring_on;	/* this worker serves them */
	uint32_t		 sq_tail;	/* SQEs written */
	uint32_t		 sq_head;	/* last sq_head checked */
	uint32_t		 cq_head;	/* CQEs taken */
	unsigned		 ring_outstanding; /* SQEs not answered */
	unsigned		 spin_fails;	/* polls in a row that failed */
	unsigned		 spin_skip;	/* passes not to poll in */
	/* Requests. */
	struct req		**table;	/* index = id & 0xffffffff */
	uint32_t		 table_gen;
	unsigned		 ninflight;
	struct req_list		 pending;	/* waiting to be sent */
	struct req_list		 inflight;	/* sent, in send order */
	TAILQ_HEAD(, conn)	 conns;		/* attached connections */
	TAILQ_HEAD(, conn)	 waiters;	/* waiting for arena space */
	unsigned		 nsuspects;	/* data requests on probation */
	/* Restarts. */
	unsigned		 restarts;
	unsigned		 backoff_ms;
	uint64_t		 last_start_ms;
	uint64_t		 lost_ms;	/* when the last worker died */
	uint64_t		*deaths;	/* ring of recent death times */
	unsigned		 ndeaths;
	char			 lost_why[256];	/* why the worker went */
	struct req		*hung;		/* killed for this request */
	bool			 ever_ready;
	bool			 said_failed;	/* this worker sent Failed */
	bool			 dirty;		/* writes accepted since start */
	bool			 said_shutdown;	/* its ShutdownRequest logged */
	bool			 starting;	/* holds a start slot */
	/* Reloads (reload.c). */
	bool			 probe;		/* a reload's next worker, */
	bool			 borrowed;	/* ... on these arenas of another */
	bool			 reload_hold;	/* send nothing: switching */
	struct reload_be	*reload;	/* switch in progress, or NULL */
	/* The spare worker (spare.c). */
	struct backend		*spare;		/* held for this one, or NULL */
	struct backend		*spare_of;	/* this is the spare of that */
	unsigned		 spare_epoch;	/* made in this reload epoch */
	uint64_t		 spare_failed_ms; /* a spare died by itself */
	struct event		*ev_spare;	/* make the next spare */
	char			 last_failure[1536];
	char			 last_worker_err[1024];	/* its last error */
};

enum conn_state {
	CONN_ST_HS_FLAGS,	/* reading the client's flags */
	CONN_ST_HS_OPT,		/* reading an option header */
	CONN_ST_HS_OPT_DATA,	/* reading option data */
	CONN_ST_HS_WAIT,	/* waiting for the worker */
	CONN_ST_HS_TLS,		/* STARTTLS acknowledged: TLS handshake */
	CONN_ST_TX,		/* reading request headers */
	CONN_ST_TX_PAYLOAD,	/* reading a WRITE payload into its slot */
	CONN_ST_TX_DRAIN,	/* discarding a refused WRITE payload */
	CONN_ST_CLOSING,	/* flushing output, then close */
};

/*
 * How a connection moves bytes: plain sockets, or TLS (tls.c).  Both
 * are non-blocking; -1 with EAGAIN means "wait for the socket".
 */
struct transport {
	const char	*name;
	ssize_t		(*readv)(struct conn *c, const struct iovec *iov,
			    int n);
	ssize_t		(*writev)(struct conn *c, const struct iovec *iov,
			    int n);
	/* Bytes already received and buffered inside the transport. */
	bool		(*pending)(struct conn *c);
	void		(*free)(struct conn *c);
};

extern const struct transport	transport_plain;

/* One queued output segment. */
struct out_item {
	const uint8_t		*base;
	size_t			 len;
	void			*owned;		/* free() when sent */
	struct req		*req;		/* finish when sent */
};

struct conn {
	uint64_t		 id;		/* log identity */
	enum conn_state		 state;
	int			 flags;
#define CONN_DEAD		0x01	/* closed; freed from the loop */
#define CONN_REOPENING		0x02	/* re-opening after a restart */
#define CONN_NO_ZEROES		0x04
#define CONN_FIXED_NEWSTYLE	0x08
#define CONN_STRUCTURED		0x10
#define CONN_HANDLE_OPEN	0x20	/* worker has a handle for us */
#define CONN_DISC		0x40	/* NBD_CMD_DISC received */
#define CONN_WAIT_ARENA		0x80	/* on be->waiters */
#define CONN_DIRTY		0x100	/* output to flush */
#define CONN_UNIX		0x200
#define CONN_STALE		0x400	/* export changed after restart */
#define CONN_FREEING		0x800	/* free scheduled */
#define CONN_META_ALLOC		0x1000	/* base:allocation selected */
#define CONN_TLS		0x2000	/* TLS handshake done */
#define CONN_ENDING		0x4000	/* ending alone, as in a shutdown */
#define CONN_WAIT_START		0x8000	/* on broker.start_waiters */
#define CONN_ARENA_FULL		0x10000	/* waits: the arena is full */
	int			 pause;		/* reasons not to read */
#define PAUSE_HS		0x01	/* waiting for the worker */
#define PAUSE_INFLIGHT		0x02	/* CONN_MAX_INFLIGHT reached */
#define PAUSE_ARENA		0x04	/* waiting for a slot */
#define PAUSE_DISC		0x08	/* NBD_CMD_DISC: read no more */
#define PAUSE_OUTPUT		0x10	/* client is not reading replies */
	int			 fd;		/* read side */
	int			 wfd;		/* write side (same, except -s) */
	const struct transport	*tr;
	void			*tls;		/* struct tls_conn (tls.c) */
	struct event		*ev_read;
	struct event		*ev_write;
	struct backend		*be;		/* borrowed */
	TAILQ_ENTRY(conn)	 link;		/* all connections */
	TAILQ_ENTRY(conn)	 belink;	/* be->conns */
	TAILQ_ENTRY(conn)	 wlink;		/* be->waiters */
	TAILQ_ENTRY(conn)	 dlink;		/* dirty list */
	TAILQ_ENTRY(conn)	 slink;		/* broker.start_waiters */
	/* Peer. */
	struct sockaddr_storage	 peer;
	socklen_t		 peer_len;
	int64_t			 peer_pid, peer_uid, peer_gid;
	/* Input. */
	uint8_t			*ibuf;
	size_t			 ioff;		/* first unconsumed byte */
	size_t			 ilen;		/* bytes valid in ibuf */
	size_t			 need;		/* bytes the state wants */
	struct req		*cur;		/* request reading its payload */
	size_t			 got;		/* payload bytes read */
	uint64_t		 drain;		/* payload bytes to discard */
	uint64_t		 drain_cookie;	/* refused WRITE, replied */
	int			 drain_err;	/* ... once drained */
	/* Handshake. */
	uint32_t		 opt;		/* option being read */
	uint32_t		 optlen;
	unsigned		 nopts;
	uint8_t			*optdata;
	struct req		*hs_req;	/* Open/List in progress */
	uint64_t		 hs_deny_seq;	/* deny_seq() when the Open
						   was sent (deny.c) */
	uint16_t		*info_reqs;	/* NBD_OPT_GO info requests */
	size_t			 ninfo_reqs;
	/* The export, from OpenReply. */
	char			*export_name;	/* as the client asked */
	char			*meta_export;	/* name given with SET_META */
	uint64_t		 handle;	/* worker's handle id */
	int64_t			 size;
	uint32_t		 caps;		/* RPC_CAP_* */
	uint32_t		 fua;
	uint32_t		 cache;
	uint32_t		 block_min, block_pref, block_max;
	uint16_t		 eflags;	/* transmission flags sent */
	/* Requests. */
	unsigned		 inflight;	/* data requests not finished */
	size_t			 arena_bytes;	/* slots held */
	size_t			 arena_wbytes;	/* ... of them in be->out */
	uint64_t		 payload_ms;	/* reading c->cur's payload since */
	uint64_t		 moved;		/* payload and reply bytes moved */
	uint64_t		 stall_ms;	/* conn_tick's window (0: none) */
	uint64_t		 stall_moved;	/* ... and moved when it began */
	/* Output. */
	struct out_item		*out;
	size_t			 out_head, out_len, out_cap;
	size_t			 out_bytes;	/* queued and not yet sent */
	uint64_t		 out_ms;	/* the first item waits since */
	struct event		*ev_deadline;	/* handshake timeout */
};

/* The whole server. */
struct broker {
	struct config		 cfg;
	struct event_base	*base;
	struct backend		*be;		/* shared plugin instance */
	TAILQ_HEAD(, backend)	 backends;	/* every backend, live or not */
	uint64_t		 next_backend_id;
	struct event		*ev_tick;	/* timeouts, once a second */
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 dirty;
	uint64_t		 next_conn_id;
	unsigned		 nconns;
	uint64_t		 refused_conns;	/* over max_conns */
	/* isolation = connection: workers starting, and who waits. */
	unsigned		 nstarting;
	TAILQ_HEAD(, conn)	 start_waiters;
	bool			 start_granting; /* sup's grant pass is due */
	bool			 started;	/* first worker ready, serving */
	bool			 shutting_down;
	struct event		*ev_shutdown;	/* grace period timer */
	int			 exit_status;
	pid_t			 run_pid;	/* --run child */
	char			*tmpdir;	/* -U - */
	bool			 pidfile_written;
};

/* broker.c */
extern struct broker	 broker;
void	broker_init(void);
uint64_t now_ms(void);

/*
 * c is ending: the server shuts down, or c alone ends as if it did
 * (conn_end).  Options are refused, new requests get ESHUTDOWN, and
 * c closes once nothing is in flight.
 */
static inline bool
conn_ending(const struct conn *c)
{
	return broker.shutting_down || (c->flags & CONN_ENDING);
}

/* main.c: the supervisor reports how the first worker started. */
void	broker_first_worker_ready(void);
void	broker_first_worker_failed(void) __attribute__((noreturn));
const char *broker_plugin_dir(void);
const char *broker_worker_path(void);

/* dump-config.c */
void	dump_config(void) __attribute__((noreturn));

/* notify.c */
void	notify_init(void);
const char *notify_socket(void);
void	notify_send(const char *state, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* options.c */
void	options_parse(int argc, char **argv);
const char *options_check_policy(void);
enum log_dest options_log_dest(void);
void	options_apply_policy(void);

/* process.c */
#define SHUTDOWN_GRACE_S	10	/* in-flight requests get this long */
int	proc_socket_activation(void);
void	proc_raise_fd_limit(void);
void	proc_detach(void);
void	proc_startup_done(enum log_dest dest);
void	proc_write_pidfile(void);
void	proc_start_run(void);
void	proc_add_signals(void);
void	proc_cleanup(void);
void	broker_shutdown(const char *why);
void	broker_conn_gone(void);

/* listen.c */
#define LISTEN_MAX_FDS		16	/* listening sockets */
int	listen_start(void);
const char *listen_unix_path(void);
void	listen_stop(void);
int	listen_single(void);
const char *listen_uri(void);
int	listen_port(void);

/* arena.c: shared-memory payload slots */
int	arena_init(struct arena *a, size_t size, bool seal_writes);
void	arena_reserve_head(struct arena *a, size_t bytes);
void	arena_destroy(struct arena *a);
int	arena_alloc(struct arena *a, uint32_t len, struct slot *s);
void	arena_free(struct arena *a, struct slot *s);
static inline uint64_t
slot_offset(const struct slot *s)
{
	return (uint64_t)s->page * ARENA_PAGE;
}

/* conn.c: a client connection's bytes in and out */
struct conn	*conn_new(int fd, int wfd, const struct sockaddr *sa,
		    socklen_t salen);
void	conn_close(struct conn *c, const char *why);
void	conn_close_after_output(struct conn *c);
void	conn_shutdown(struct conn *c);
void	conn_end(struct conn *c);
void	conn_handshake_done(struct conn *c);
void	conn_set_state(struct conn *c, enum conn_state st, size_t need);
const uint8_t *conn_input(struct conn *c);
void	conn_consume(struct conn *c, size_t n);
void	conn_pause(struct conn *c, int why);
void	conn_unpause(struct conn *c, int why);
void	conn_queue(struct conn *c, const void *base, size_t len,
	    void *owned, struct req *req);
int	conn_queue_copy(struct conn *c, const void *data, size_t len);
size_t	conn_out_room(const struct conn *c);
void	conn_mark_dirty(struct conn *c);
void	conn_flush_dirty(void);
void	conn_tick(void);
bool	conn_others_starved(const struct conn *c, bool out);
void	conn_log(struct conn *c, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
const char *conn_escape(char *buf, size_t len, const char *s);

/* nbd-handshake.c: options, until transmission */
void	hs_start(struct conn *c);
int	hs_step(struct conn *c);
void	hs_open_done(struct conn *c, struct req *r,
	    const Nbdbroker__Rpc__OpenReply *rep);
void	hs_list_done(struct conn *c, struct req *r,
	    const Nbdbroker__Rpc__ExportList *el);
uint32_t hs_client_caps(uint32_t caps);
void	hs_resume(struct conn *c);

/* nbd-validate.c: pure checks of what clients send */
int	validate_opt_info(const uint8_t *data, uint32_t len,
	    const char **name, uint32_t *namelen, const uint8_t **infos,
	    uint16_t *ninfos);
int	validate_meta_context(const uint8_t *data, uint32_t len,
	    const char **name, uint32_t *namelen, uint32_t *nqueries,
	    int (*fn)(void *arg, const char *q, uint32_t qlen), void *arg);
int	validate_request(const struct conn *c, uint16_t cmd, uint16_t flags,
	    uint64_t offset, uint32_t count);

/* nbdkit-cli.c */
const char *cli_nbdkit_plugin_dir(void);
char	*cli_nbdkit_plugin_path(const char *name, bool required);
const char *cli_param_split(const char *param);
int	cli_add_debug_flag(const char *arg);
void	cli_adjust_params(void);
int	cli_describe_plugin(void);
void	cli_add_filter(const char *arg);
const char *cli_nbdkit_filter_dir(void);
void	cli_resolve_filters(void);
char	*cli_filter_policy_name(const char *path);

/* nbd-transmission.c: requests in, replies out */
int	tx_step(struct conn *c);
int	tx_payload_done(struct conn *c);
void	tx_drain_done(struct conn *c);
bool	tx_retry_waiting(struct conn *c);
void	tx_complete(struct req *r, const Nbdbroker__Rpc__Reply *rep);
void	tx_request_done(struct req *r);
void	tx_inflight_dropped(struct conn *c);

/* backend.c: a plugin instance, its request queues and its socket */
/* ... the backend and its worker's socket */
struct backend	*backend_new(void);
struct backend	*backend_new_probe(struct backend *be);
struct backend	*backend_new_spare(struct backend *be);
int	backend_swap(struct backend *a, struct backend *b);
void	backend_free(struct backend *be);
void	backend_retire(struct backend *be);
struct backend	*backend_by_pid(pid_t pid);
const char	*backend_name(const struct backend *be);
void	backend_attach(struct backend *be, struct conn *c);
void	backend_detach(struct backend *be, struct conn *c);
int	backend_connect(struct backend *be, int fd);
void	backend_disconnect(struct backend *be);
int	backend_queue_msg(struct backend *be, const RpcEnvelope *env);
void	backend_kick(struct backend *be);
void	backend_pass_begin(void);
void	backend_pass_end(void);
void	backend_arena_released(struct backend *be);
/* ... requests: queued, sent once a loop pass, answered or failed */
struct req	*req_new(struct backend *be, enum req_kind kind,
		    struct conn *c);
void	req_free(struct req *r);
void	backend_submit(struct backend *be, struct req *r);
void	backend_submit_first(struct backend *be, struct req *r);
void	backend_take_handle(struct conn *c, uint64_t handle);
void	backend_close_handle(struct backend *be, struct conn *c);
struct req	*backend_find(struct backend *be, uint64_t id,
		    enum req_kind kind);
void	backend_answered(struct backend *be, struct req *r);
void	backend_unqueue(struct backend *be, struct req *r);
void	backend_fail(struct backend *be, struct req *r, int err);
void	backend_fail_conn(struct backend *be, struct conn *c, int err);
unsigned backend_inflight_data(const struct backend *be, struct req **last);
void	backend_requeue_inflight(struct backend *be, bool suspects);
void	backend_unsuspect(struct backend *be, struct req *r);

/* backend-ring.c: the data path's shared-memory rings */
int	ring_init(struct backend *be, unsigned set);
int	ring_swap(struct backend *a, struct backend *b);
void	ring_destroy(struct backend *be);
void	ring_switch_set(struct backend *be);
bool	ring_offered(const struct backend *be);
void	ring_reset(struct backend *be);
void	ring_config(const struct backend *be, uint32_t *entries,
	    uint64_t *out_off, uint64_t *in_off);
bool	ring_takes(const struct backend *be, const struct req *r);
int	ring_put(struct backend *be, struct req *r, char *why,
	    size_t whylen);
void	ring_publish(struct backend *be);
int	ring_reap(struct backend *be, char *why, size_t whylen);
bool	ring_spin(void);
void	ring_spin_clients(void);

/* backend-msg.c: what a worker sends, checked, then acted on */
int	backend_handle(struct backend *be, RpcEnvelope *env, char *why,
	    size_t whylen);
void	backend_worker_log(struct backend *be, int level, const char *what,
	    const char *msg, size_t len);

/* tls.c, or tls-none.c when built without GnuTLS */
bool	tls_available(void);
int	tls_init(void);
void	tls_cleanup(void);
int	tls_conn_start(struct conn *c, char *why, size_t whylen);
int	tls_conn_handshake(struct conn *c, bool *want_write, char *why,
	    size_t whylen);
const char *tls_default_dir(void);

/* spawn.c: starting a worker process */
int	spawn_worker(struct backend *be, pid_t *pidp, int *fdp);
int	spawn_queue_hello(struct backend *be);
int	spawn_queue_config(struct backend *be);
void	spawn_backend_gone(struct backend *be);
void	spawn_swap(struct backend *a, struct backend *b);

/* supervisor.c: worker life and death, restart policy */
int	sup_start(struct backend *be);
int	sup_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd,
	    char *why, size_t whylen);
void	sup_failed(struct backend *be, const Nbdbroker__Rpc__Failed *f);
void	sup_reopen_done(struct backend *be, struct req *r,
	    const Nbdbroker__Rpc__OpenReply *rep);
unsigned sup_reopening(const struct backend *be);
void	sup_worker_lost(struct backend *be, const char *why);
void	sup_reaped(pid_t pid, int status);
void	sup_tick(void);
void	sup_stop_all(void);
int	sup_conn_backend(struct conn *c);
void	sup_start_done(struct backend *be);
void	sup_start_unqueue(struct conn *c);
bool	sup_export_fits(const struct conn *c,
	    const Nbdbroker__Rpc__OpenReply *rep);
pid_t	sup_switch(struct backend *be, bool lost_data);

/*
 * reload.c: SIGHUP (SIGUSR2: forced) reloads the policy and the plugin
 * under connected clients: each backend's next worker starts next to
 * the current one and opens every open export; then the current one
 * is drained, flushed and hung up on, and the next one takes over.
 */
void	reload_request(bool force);
bool	reload_lingering(void);
/* spare.c */
void	spare_later(struct backend *be);
int	spare_take(struct backend *be);
void	spare_reaped(struct backend *sp, const char *desc);
void	spare_discard_all(void);
void	spare_backend_gone(struct backend *be);
void	reload_stop(void);
void	reload_probe_ready(struct backend *be,
	    const Nbdbroker__Rpc__Ready *rd);
void	reload_probe_opened(struct backend *be, struct conn *c,
	    const Nbdbroker__Rpc__OpenReply *rep);
void	reload_probe_gone(struct backend *be);
void	reload_drained(struct backend *be);
void	reload_flush_done(struct req *r, int err);
void	reload_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd);
void	reload_worker_lost(struct backend *be);
void	reload_backend_gone(struct backend *be);
bool	reload_reaped(pid_t pid, int status);

/* policy-load.c: the export's sandbox policy, found and resolved */
struct policy;
void	policy_load_init(void);
int	policy_load_check(const char *file, char **args, size_t nargs);
const struct policy *policy_load_parsed(void);	/* policy.h */
const uint8_t *policy_load_wire(size_t *len, const char **path);
int	policy_load_reload(char *err, size_t errlen);
void	policy_load_revert(void);
void	policy_load_dirs(char *buf, size_t len);
char	*policy_load_find(char *tried, size_t triedlen);

/* tripwire.c: each worker's seccomp listener */
struct seccomp_notif;
int	tripwire_channel(int *parent, int *child);
void	tripwire_watch(pid_t pid, int parent);
void	tripwire_reaped(pid_t pid, int status, char *desc, size_t len);
void	tripwire_stop(void);
void	tripwire_wait(int ms);
int	notif_read_string(int, uint64_t, char *, size_t);
int	notif_join_path(pid_t, int, const char *, char *, size_t);
bool	tripwire_denied(pid_t pid, uint64_t since, char *buf, size_t len);

/* deny.c: denials that explain themselves */
struct deny_log;
bool	deny_handles(const struct seccomp_notif *req);
void	deny_notify(int listener, const struct seccomp_notif *req,
	    pid_t worker, int stage, struct deny_log **dl);
void	deny_reaped(pid_t pid, int status, struct deny_log **dl);
bool	deny_once(struct deny_log **dl, const char *key);
void	deny_report(bool loud, struct deny_log **dl, const char *key,
	    const char *text);
uint64_t deny_seq(void);
bool	deny_last(const struct deny_log *dl, uint64_t since, char *buf,
	    size_t len);
const char *deny_plugin(pid_t pid);
const char *deny_access_text(unsigned access);
unsigned deny_granted(const struct policy *p, const char *path,
	    bool in_serving);

/* open-behalf.c: files the worker cannot reach, opened for it */
bool	behalf_handles(const char *name);
int	behalf_open(int listener, const struct seccomp_notif *req,
	    const char *name, pid_t worker, bool in_serving,
	    struct deny_log **dl);

/* connect-behalf.c: TCP connections to the hosts a policy names */
int	behalf_connect(int listener, const struct seccomp_notif *req,
	    pid_t worker, bool in_serving, struct deny_log **dl);
void	behalf_connect_stop(void);

/* learn.c: --learn-policy, recording what workers do */
struct policy	*learn_base(const char *usual, char *err, size_t errlen);
void	learn_open(struct policy *p);
void	learn_init(void);
bool	learn_active(void);
void	learn_worker(void);
void	learn_notify(int listener, const struct seccomp_notif *req,
	    pid_t worker, int stage);
void	learn_magic_key(const char *key);
int	learn_write(void);
void	learn_stop(void);
int	learn_interpreter(const char *path, char *out, size_t len);

/*
 * cgroup.c: a memory cgroup per worker, where the broker can make one
 * (else the worker falls back to RLIMIT_AS by itself).  The spawn code
 * calls cgroup_worker_prepare() before posix_spawn (the worker joins
 * by itself), cgroup_worker_spawned() or _abandon() after it,
 * cgroup_worker_joined() before the worker's Config is queued,
 * cgroup_worker_release() once the worker is reaped, and cgroup_stop() after the last worker was reaped at
 * shutdown.
 */
struct policy;
const char *cgroup_describe(void);
int	cgroup_worker_attach(pid_t pid, const struct policy *p,
	    uint64_t arena_bytes, char *desc, size_t desclen);
int	cgroup_worker_prepare(const struct policy *p, uint64_t arena_bytes,
	    int *fdp, char *desc, size_t desclen);
void	cgroup_worker_spawned(pid_t pid);
void	cgroup_worker_abandon(void);
bool	cgroup_worker_joined(pid_t pid);
void	cgroup_worker_release(pid_t pid, char *desc, size_t desclen);
void	cgroup_stop(void);

#endif /* NBDBROKER_BROKER_H */
