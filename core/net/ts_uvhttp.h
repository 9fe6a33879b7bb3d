/* ts_uvhttp.h: the event-loop listener, for servers that hold many long
 * connections at once: the proxy's tunnels and the notification service's
 * event streams (libuv: epoll on Linux, IOCP on Windows; one thread for
 * every connection of the port).
 *
 * It speaks the same HTTP/1.1 as ts_httpd for ordinary requests (the
 * route handler of ts_httpd.h runs on libuv's thread pool, so a slow
 * handler never stalls the loop), and lets the role take a connection
 * over once its request head has arrived (CLAIM): the proxy takes every
 * CONNECT, the notification service every GET /v1/events. A taken
 * connection belongs to the role: it reads and writes the libuv stream
 * itself, on the loop thread, until it closes it. The listening sockets
 * are bound with APR first, so a port that cannot be bound gives the
 * same precise error as ts_httpd; connections are held within the
 * process's ts_httpd_budget_t like every other listener's.
 *
 * Threads: the hooks and every ts_uvconn_* call run on the loop thread.
 * From another thread, ts_uvhttp_post() hands work to it.
 */
#ifndef TS_UVHTTP_H
#define TS_UVHTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <uv.h>
#include "ts_error.h"
#include "ts_httpd.h"
#include "ts_log.h"
#include "ts_prom.h"

/* ---- request heads (ts_http_head.c) --------------------------------------
 * The one parser of request heads from the network; it has a fuzzing
 * harness (tests/fuzz/fuzz_http_head.c). */

#define TS_HTTP_MAX_HEAD 8192   /* request line and headers, in all */

typedef struct ts_http_head_t {
  const char *method;         /* "GET", "CONNECT", ... (as sent) */
  const char *target;         /* as sent: "/v1/events?topic=a/%23",
                                 "bridge:27106", "http://bridge/v1/..." */
  const char *path;           /* TARGET up to '?', not decoded */
  const char *query;          /* after '?', or NULL */
  int minor;                  /* HTTP/1.<minor>: 0 or 1 */
  apr_table_t *headers;       /* names compare without case */
  apr_size_t length;          /* bytes of the head with its blank line */
} ts_http_head_t;

typedef enum {
  TS_HEAD_MORE,               /* incomplete: read more (BUF may grow up to
                                 TS_HTTP_MAX_HEAD) */
  TS_HEAD_DONE,               /* *HEAD filled; the head took HEAD->length
                                 bytes of BUF */
  TS_HEAD_BAD                 /* *STATUS (400, 431, 505) and *WHY say why */
} ts_head_result_t;

/* Parse the request head at the start of BUF (LEN bytes; need not be
 * NUL-terminated). Strings in *HEAD are copies in POOL. */
ts_head_result_t ts_http_head_parse(ts_http_head_t *head, int *status,
                                    const char **why, const char *buf,
                                    apr_size_t len, apr_pool_t *pool);

/* ---- the listener ------------------------------------------------------ */

typedef struct ts_uvhttp_t ts_uvhttp_t;
typedef struct ts_uvconn_t ts_uvconn_t;

typedef struct ts_uvhttp_hooks_t {
  /* A request head arrived on CONN. Return 1 to take the connection (the
   * listener stops reading it and answers nothing more on it; it closes
   * only at ts_uvconn_close or at the stop), 0 to have the request
   * answered by the handler. HEAD lives during the call only: copy what
   * the role keeps. NULL: every request goes to the handler. */
  int (*claim)(void *baton, ts_uvconn_t *conn, const ts_http_head_t *head);
  /* On the loop thread, once, before the first connection is accepted:
   * make the role's own handles (timers, ...). May be NULL. */
  void (*started)(void *baton, ts_uvhttp_t *uvhttp);
  /* On the loop thread, once, at ts_uvhttp_stop(): close the role's own
   * handles. The listener then closes every connection still open, the
   * taken ones too (their close hooks run), and waits for every handle
   * of the loop to close. May be NULL. */
  void (*stopping)(void *baton, ts_uvhttp_t *uvhttp);
  void *baton;
} ts_uvhttp_hooks_t;

/* Listen on PORT on each of ADDRESSES (as ts_httpd_start), answering
 * requests with HANDLER (on libuv's thread pool; a deferred answer is
 * waited for there) unless HOOKS->claim takes them, holding connections
 * within BUDGET (NULL: 1000, 250 per client). Returns once the port
 * accepts connections. NAME says what listens ("proxy"), in messages. */
ts_error_t *ts_uvhttp_start(ts_uvhttp_t **uvhttp, const char *name, int port,
                            const apr_array_header_t *addresses,
                            ts_http_handler_t handler, void *baton,
                            const ts_uvhttp_hooks_t *hooks,
                            ts_httpd_budget_t *budget, ts_log_t *log,
                            apr_pool_t *pool);

/* The loop (for the role's own handles; loop thread only). */
uv_loop_t *ts_uvhttp_loop(ts_uvhttp_t *uvhttp);

/* Run FN(BATON) on the loop thread soon; from any thread. Calls run in
 * the order posted. After ts_uvhttp_stop() began they are dropped. */
void ts_uvhttp_post(ts_uvhttp_t *uvhttp, void (*fn)(void *baton),
                    void *baton);

/* Connections open on the port now (ordinary and taken). */
long ts_uvhttp_open(const ts_uvhttp_t *uvhttp);

/* The listener's families: connections open, the budget, refused by
 * reason, requests by route and status (as ts_httpd_metrics). */
void ts_uvhttp_metrics(ts_prom_t *prom, ts_uvhttp_t *uvhttp,
                       const char *prefix, apr_pool_t *pool);

/* Stop: the stopping hook, then close every connection and the listener,
 * wait for handlers still running, end the loop's thread. */
void ts_uvhttp_stop(ts_uvhttp_t *uvhttp);

/* ---- a taken connection (loop thread only) ------------------------------ */

/* The client's stream. Reading is stopped when the connection is taken;
 * the role calls uv_read_start/uv_write on it as it likes. Its handle's
 * data pointer is the ts_uvconn_t (so a callback finds the connection);
 * leave it so, and keep the role's with ts_uvconn_set_data. */
uv_stream_t *ts_uvconn_stream(ts_uvconn_t *conn);

/* Bytes the client sent after the head that were already read (the
 * start of a tunnel's stream, a pipelined request), *LEN of them; valid
 * until the connection closes. */
const char *ts_uvconn_pending(ts_uvconn_t *conn, apr_size_t *len);

/* The client's address ("127.0.0.1", "::1"). */
const char *ts_uvconn_client(const ts_uvconn_t *conn);

/* The role's pointer. */
void ts_uvconn_set_data(ts_uvconn_t *conn, void *data);
void *ts_uvconn_data(const ts_uvconn_t *conn);

/* The pool of the connection, cleared when it closes. */
apr_pool_t *ts_uvconn_pool(ts_uvconn_t *conn);

/* Have CLOSED(conn) run when the connection closes, by whoever closes it
 * (the role, the client, the stop); the role frees its state there. */
void ts_uvconn_on_close(ts_uvconn_t *conn, void (*closed)(ts_uvconn_t *));

/* Answer a taken connection with REPLY (status, body, headers as the
 * handler's) and close it once it is written (the proxy's 404, 503,
 * 421). */
void ts_uvconn_reply(ts_uvconn_t *conn, const ts_http_reply_t *reply);

/* Close the connection (its stream, the budget it holds). */
void ts_uvconn_close(ts_uvconn_t *conn);

/* The listener the connection came to. */
ts_uvhttp_t *ts_uvconn_listener(const ts_uvconn_t *conn);

#endif
