/* ts_httpd_impl.h: the listener's state (ts_httpd.h), shared by its three
 * files and by nothing else:
 *
 *   ts_httpd.c        requests: answering, deferring, start and stop
 *   ts_httpd_conns.c  connections: the budget the listeners of a process
 *                     share (in all and per client address), the client's
 *                     address, the warnings they cause, rate-limited
 *   ts_httpd_stats.c  what /metrics says of requests and connections
 *
 * libmicrohttpd calls the functions declared here from its threads; the
 * event-loop listener (ts_uvhttp.c) uses them too, for the same figures,
 * budget and warnings.
 */
#ifndef TS_HTTPD_IMPL_H
#define TS_HTTPD_IMPL_H

#include <stdarg.h>
#include <apr_hash.h>
#include <apr_network_io.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <microhttpd.h>

#include "ts_httpd.h"

#define MAX_LISTENERS 8
#define MAX_ROUTES 32
#define MAX_CODES 12
#define NBOUNDS 12        /* latency histogram buckets (ts_httpd_stats.c) */
#define MAX_QUIET 16      /* kinds of rate-limited warnings per listener */

typedef struct route_stats_t {
  const char *route;                  /* static label */
  int codes[MAX_CODES];
  apr_uint64_t per_code[MAX_CODES];
  apr_uint64_t buckets[NBOUNDS];      /* not cumulative */
  apr_uint64_t count;
  double sum;
} route_stats_t;

/* A kind of warning (KEY: its static text or libmicrohttpd's format)
 * and when it was last written. */
typedef struct quiet_t {
  const void *key;
  apr_time_t last;
  unsigned suppressed;                /* since LAST */
} quiet_t;

struct ts_httpd_budget_t {
  apr_thread_mutex_t *lock;           /* everything below */
  long limit;                         /* connections in all */
  long per_client;                    /* from one client address */
  long open;                          /* held now, by every listener */
  apr_hash_t *clients;                /* address -> client_t, while it
                                         holds connections */
  apr_pool_t *pool;                   /* the hash's, under LOCK */
};

struct ts_httpd_t {
  struct MHD_Daemon *mhd[MAX_LISTENERS];
  apr_socket_t *listener[MAX_LISTENERS];
  int nmhd;
  ts_httpd_budget_t *budget;          /* the process's, or its own */
  ts_http_handler_t handler;
  void *baton;
  ts_log_t *log;
  const char *name;
  int port;

  /* under BUDGET's lock */
  long open;                          /* connections held on this port */
  apr_uint64_t refused_full;          /* refused: the budget was spent */
  apr_uint64_t refused_client;        /* refused: the client had its share */

  apr_thread_mutex_t *stats_lock;     /* the fields below */
  apr_thread_cond_t *resumed;         /* DEFERRED fell */
  int deferred;                       /* suspended requests, not yet
                                         resumed */
  route_stats_t routes[MAX_ROUTES];
  int nroutes;

  apr_thread_mutex_t *quiet_lock;     /* QUIET */
  quiet_t quiet[MAX_QUIET];
  apr_pool_t *pool;
};

/* ---- ts_httpd.c ---------------------------------------------------------- */

/* A listener's counters, budget and warnings without libmicrohttpd (the
 * event-loop listener keeps its figures in one, ts_uvhttp.c). */
ts_httpd_t *ts_httpd_shell(const char *name, int port,
                           ts_httpd_budget_t *budget, ts_log_t *log,
                           apr_pool_t *pool);

/* Serve on LISTENER (bound and listening), bound to ADDRESS (NULL: every
 * address); on error close LISTENER. */
typedef ts_error_t *(*ts_net_serve_t)(void *ctx, apr_socket_t *listener,
                                      const char *address);

/* Bind PORT on each of ADDRESSES (NULL or empty: every address) and hand
 * each listening socket to SERVE_ON; a port that cannot be bound is an
 * error naming port, address and why. */
ts_error_t *ts_net_listen(const char *name, int port,
                          const apr_array_header_t *addresses,
                          ts_net_serve_t serve_on, void *ctx,
                          apr_pool_t *pool);

/* LEN bytes of TEXT with %XX decoded (a bad escape stays as it is), and
 * '+' as a space when PLUS (query arguments; not paths). */
const char *ts_httpd_unescape(const char *text, apr_size_t len, int plus,
                              apr_pool_t *pool);

/* ---- ts_httpd_conns.c --------------------------------------------------- */

/* libmicrohttpd's accept policy (cls: the ts_httpd_t): refuse a
 * connection when the budget is spent or its client holds its share. */
enum MHD_Result ts_httpd_admit(void *cls, const struct sockaddr *addr,
                               socklen_t addrlen);

/* libmicrohttpd's connection notice (cls: the ts_httpd_t): count every
 * connection from its start to its close. */
void ts_httpd_connection(void *cls, struct MHD_Connection *conn,
                         void **socket_context,
                         enum MHD_ConnectionNotificationCode code);

/* The address of CONN's client ("192.0.2.7", "2001:db8::1"), valid while
 * the connection lasts. */
const char *ts_httpd_client(struct MHD_Connection *conn);

/* ADDR as text into BUF ("192.0.2.7"; an IPv4 client of "::" without
 * "::ffff:"), or "unknown". */
void ts_httpd_address_text(char *buf, apr_size_t size,
                           const struct sockaddr *addr);

/* The event-loop listener's admission: a connection from IP within
 * HTTPD's budget, counted (1, *CLIENT set for ts_httpd_give), or refused
 * and counted as refused, with the warning (0). */
int ts_httpd_take(ts_httpd_t *httpd, const char *ip, void **client);

/* The connection CLIENT (from ts_httpd_take) closed. */
void ts_httpd_give(ts_httpd_t *httpd, void *client);

/* Log a warning, those of one FMT at most once in a while, saying how
 * many like it were left out meanwhile. */
void ts_httpd_warn(ts_httpd_t *httpd, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* libmicrohttpd's logger (cls: the ts_httpd_t), rate-limited by format. */
void ts_httpd_mhd_log(void *cls, const char *fmt, va_list ap);

/* Say how many warnings were left out since the last of their kind (at
 * the stop). */
void ts_httpd_warnings_flush(ts_httpd_t *httpd);

/* ---- ts_httpd_stats.c --------------------------------------------------- */

/* Count a request answered with CODE on ROUTE, which took TOOK. */
void ts_httpd_record(ts_httpd_t *httpd, const char *route, int code,
                     apr_time_t took);

#endif
