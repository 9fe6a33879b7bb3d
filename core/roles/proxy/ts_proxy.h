/* ts_proxy.h: what the parts of the proxy role share (not for other
 * components).
 *
 *   ts_role_proxy.c     the role: place, check, start, stop, /metrics,
 *                       its registration as its host's proxy
 *   ts_proxy_names.c    what the proxy knows of the model servers: a
 *                       snapshot learnt from the license server on
 *                       libuv's thread pool, refreshed on a timer and when
 *                       the bus says a model server or version changed
 *   ts_proxy_claim.c    the requests it takes (CONNECT, absolute-form):
 *                       the name resolved, the refusals, the connection
 *                       to the model server
 *   ts_proxy_tunnel.c   the bytes spliced both ways, with backpressure,
 *                       half-close and the idle timeout
 *   ts_proxy_target.c   the CONNECT target and the absolute-form URL
 *
 * Threads: everything on a tunnel, the snapshot and the timers belong to
 * the listener's loop thread. The counters (read by /metrics on the
 * thread pool) are atomic.
 */
#ifndef TS_PROXY_H
#define TS_PROXY_H

#include <apr_hash.h>
#include <apr_network_io.h>
#include <uv.h>

#include "ts_bus.h"
#include "ts_credential.h"
#include "ts_server.h"
#include "ts_uvhttp.h"

/* Why a request was refused: the label of tessera_proxy_refusals_total. */
typedef enum {
  TS_PROXY_REFUSED_BAD_REQUEST,   /* 400: not name:port, not a name */
  TS_PROXY_REFUSED_UNKNOWN,       /* 404 */
  TS_PROXY_REFUSED_NOT_RUNNING,   /* 503: stopped, crashed, starting... */
  TS_PROXY_REFUSED_ELSEWHERE,     /* 421: served on another machine */
  TS_PROXY_REFUSED_LIMIT,         /* 503: the descriptors are spent */
  TS_PROXY_REFUSED_UNREACHABLE,   /* 503: the model server did not accept */
  TS_PROXY_REFUSED_NO_REGISTRY,   /* 503: the license server never answered */
  TS_PROXY_REFUSED_REASONS
} ts_proxy_refusal_t;

extern const char *const ts_proxy_refusal_labels[TS_PROXY_REFUSED_REASONS];

/* A model server of this machine the snapshot knows. */
typedef struct ts_proxy_target_t {
  const char *id;                 /* "<host>:<port>" */
  const char *model, *repository;
  int port;
} ts_proxy_target_t;

/* Where a name leads, as the snapshot says. */
typedef enum {
  TS_PROXY_HERE,                  /* a model server of this machine */
  TS_PROXY_ELSEWHERE,             /* one that is up on another machine */
  TS_PROXY_DOWN,                  /* a version of it that does not run */
  TS_PROXY_NOWHERE                /* nothing of that name */
} ts_proxy_where_t;

typedef struct ts_proxy_verdict_t {
  ts_proxy_where_t where;
  const ts_proxy_target_t *target;  /* HERE */
  const char *host;               /* ELSEWHERE: the machine; DOWN: where
                                     its agent is */
  const char *model, *version;    /* DOWN */
  const char *state;              /* DOWN: stopped, crashed, starting,
                                     stopping, gone */
  int port;                       /* ELSEWHERE: its model server's port */
  int proxy;                      /* ELSEWHERE: the port of that machine's
                                     proxy, 0: it has none */
} ts_proxy_verdict_t;

typedef struct ts_proxy_names_t ts_proxy_names_t;
typedef struct ts_proxy_tunnel_t ts_proxy_tunnel_t;

typedef struct ts_proxy_t {
  const ts_server_info_t *info;
  ts_server_t *server;
  ts_log_t *log;
  apr_pool_t *pool;
  const char *machine;            /* ts_server_machine() */
  int port;                       /* p+5 */
  ts_credential_t *cred;
  ts_uvhttp_t *uvhttp;
  uv_loop_t *loop;
  const char *local;              /* where this machine's model servers
                                     are reached: the first listen
                                     address of tessera.xml (as an IP
                                     address), or loopback */
  apr_pool_t *scratch;            /* the claim's (loop thread), cleared
                                     after each */
  ts_bus_t *bus;
  apr_uint32_t bus_poked;         /* a bus message asked for a refresh
                                     that was not posted yet */
  long room;                      /* descriptors for connections in all:
                                     the open-files limit less a reserve */
  apr_interval_time_t idle;       /* <proxy idle-seconds> */

  /* loop thread only */
  uv_timer_t sync_timer;          /* heartbeat: registration, refresh */
  uv_timer_t sweep_timer;         /* the idle tunnels */
  int timers;                     /* the timers were made */
  int stopping;
  ts_proxy_names_t *names;        /* the snapshot; NULL: none yet */
  const char *names_error;        /* why the last refresh failed, or NULL
                                     (malloc'ed) */
  int refreshing, refresh_again;
  int register_again;             /* the next refresh registers too */
  uint64_t beat;                  /* the registration's interval (ms) */
  long sync_gen;                  /* refreshes started so far */
  ts_proxy_tunnel_t *tunnels;     /* every tunnel, established or not */
  ts_proxy_tunnel_t *waiting;     /* those waiting for a fresh snapshot */
  apr_hash_t *by_stream;          /* uv_stream_t * of a client ->
                                     ts_proxy_tunnel_t */
  long upstreams;                 /* upstream sockets open */
  int registered;                 /* -1 not yet tried, 0 refused, 1 yes */

  /* counters, atomic (/metrics reads them on another thread) */
  apr_uint64_t open, total, bytes_up, bytes_down, idle_closed;
  apr_uint64_t refused[TS_PROXY_REFUSED_REASONS];
  apr_uint64_t local_servers;
} ts_proxy_t;

#define TS_PROXY_ADD(p, field, n) \
  __atomic_fetch_add(&(p)->field, (apr_uint64_t)(n), __ATOMIC_RELAXED)
#define TS_PROXY_GET(p, field) __atomic_load_n(&(p)->field, __ATOMIC_RELAXED)

/* ---- ts_proxy_names.c --------------------------------------------------- */

/* Learn the model servers now and every heartbeat (timer made in the
 * listener's started hook), and listen to the bus. */
void ts_proxy_names_start(ts_proxy_t *p);

/* From any thread: a model server or version changed; refresh soon. */
void ts_proxy_names_poke(ts_proxy_t *p);

/* Loop thread: refresh now unless a refresh is under way (then once
 * more after it). Returns the generation of the refresh that will see
 * the license server as of now. */
long ts_proxy_names_refresh(ts_proxy_t *p);

/* Where NAME leads (PORT: the CONNECT's, which picks among this
 * machine's servers of one name when it is one of theirs). */
void ts_proxy_names_resolve(ts_proxy_verdict_t *v, ts_proxy_t *p,
                            const char *name, int port);

/* Loop thread, at the stop: forget the snapshot. */
void ts_proxy_names_free(ts_proxy_t *p);

/* ---- ts_proxy_claim.c --------------------------------------------------- */

/* ts_uvhttp_hooks_t.claim */
int ts_proxy_claim(void *baton, ts_uvconn_t *conn,
                   const ts_http_head_t *head);

/* Loop thread: T's model server did not take the connection (WHY, for
 * the log): 503, and a refresh. */
void ts_proxy_claim_unreachable(ts_proxy_tunnel_t *t, int port,
                                const char *why);

/* Loop thread: refresh GEN ended (a snapshot arrived, or it failed):
 * answer every request that waited for a refresh started after it came,
 * that is for one up to GEN. */
void ts_proxy_claim_retry(ts_proxy_t *p, long gen);

/* ---- ts_proxy_tunnel.c -------------------------------------------------- */

/* The tunnel's state (the claim's part is in it too). */
struct ts_proxy_tunnel_t {
  ts_proxy_t *p;
  ts_uvconn_t *conn;              /* the client's; NULL once it closed */
  uv_stream_t *client;
  uv_tcp_t upstream;
  uv_connect_t connecting;
  uv_shutdown_t shut[2];          /* [0] the client's write end, [1] the
                                     upstream's */
  uv_work_t work;                 /* an agent lookup (503 or 404) */
  int refs;                       /* the client, the upstream handle, the
                                     work: freed at 0 */
  int up_init;                    /* UPSTREAM was made */
  int established;                /* 200 sent: bytes flow */
  int closing;
  int absolute;                   /* an absolute-form request */
  int eof[2];                     /* [0] the client ended, [1] upstream */
  int paused[2];                  /* reading stopped: [0] the client's
                                     side, [1] the upstream's */
  int shut_done;                  /* shutdowns completed */
  const char *name;               /* as asked (a valid name) */
  char *name_buf;                 /* NAME's copy (malloc'ed) */
  int asked_port;
  char *head;                     /* absolute-form: the request to send
                                     (malloc'ed) */
  apr_size_t head_len;
  const char *client_addr;
  char id[300];                   /* the model server's "<host>:<port>" */
  int port;                       /* and its port */
  ts_proxy_verdict_t verdict;     /* copied strings: malloc'ed in WORK_POOL */
  apr_pool_t *work_pool;          /* the agent lookup's */
  apr_uint64_t last;              /* uv_now() of the last byte */
  ts_proxy_tunnel_t *prev, *next; /* P->tunnels */
  ts_proxy_tunnel_t *wnext;       /* P->waiting */
  long wait_gen;                  /* the refresh it waits for */
};

/* At the start: P is this process's proxy. */
void ts_proxy_tunnel_init(ts_proxy_t *p);

/* Loop thread: T's model server is TARGET; connect and, once connected,
 * answer 200 (CONNECT) or send the request (absolute-form), then splice. */
void ts_proxy_tunnel_open(ts_proxy_tunnel_t *t,
                          const ts_proxy_target_t *target);

/* Close both sides of T (idempotent). */
void ts_proxy_tunnel_close(ts_proxy_tunnel_t *t, const char *why);

/* The close callback of T's upstream handle (the handle's reference). */
void ts_proxy_upstream_closed(uv_handle_t *handle);

/* Drop a reference of T (freed at 0). */
void ts_proxy_tunnel_unref(ts_proxy_tunnel_t *t);

/* Loop thread: close the tunnels silent for P->idle; every second. */
void ts_proxy_tunnel_sweep(ts_proxy_t *p);

#endif
