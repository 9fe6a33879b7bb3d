/* ts_httpd.h: the HTTP/1.1 listener every Tessera server speaks on its
 * port (SPEC §6), over libmicrohttpd.
 *
 * The listening socket is made here with APR, so a port that cannot be
 * bound gives a precise error (which port, which address, why) before
 * libmicrohttpd takes it over; ts_httpd_start() returns only when the port
 * accepts connections. Requests are answered by a handler that fills a
 * ts_http_reply_t; libmicrohttpd's own thread runs it. The files:
 * ts_httpd.c (requests), ts_httpd_conns.c (connections),
 * ts_httpd_stats.c (/metrics), sharing ts_httpd_impl.h.
 */
#ifndef TS_HTTPD_H
#define TS_HTTPD_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "ts_error.h"
#include "ts_log.h"
#include "ts_prom.h"

typedef struct ts_http_reply_t {
  int status;                 /* 200, 404, ... */
  const char *content_type;   /* default application/json */
  const char *body;           /* default empty */
  const char *route;          /* a static label for /metrics, e.g.
                                 "/v1/sessions/{id}"; default "other" */
  const char *www_authenticate;  /* with a 401: the challenge */
  const char *allow;          /* with a 405: the methods, "GET, POST" */
  int retry_after;            /* with a 429 or 503: seconds, or 0 */
} ts_http_reply_t;

typedef struct ts_http_request_t {
  const char *method, *url;
  const char *content_type;   /* NULL when the request has none */
  const char *authorization;  /* the Authorization header, or NULL */
  const char *client;         /* the client's IP address */
  const char *body;           /* NUL-terminated; "" when empty */
  apr_size_t body_len;
  struct ts_http_pending_t *pending;   /* the listener's: ts_http_defer */
} ts_http_request_t;

/* Request bodies larger than this are answered 413 without the handler. */
#define TS_HTTP_MAX_BODY (64 * 1024)

/* Answer REQ into REPLY, allocating from POOL (cleared after the reply is
 * sent). */
typedef void (*ts_http_handler_t)(ts_http_reply_t *reply, void *baton,
                                  const ts_http_request_t *req,
                                  apr_pool_t *pool);

/* Answering later, without holding a thread. A handler that must wait
 * for something slow (the seat store's commit) calls ts_http_defer(),
 * starts the work and returns; the connection is suspended (it keeps its
 * request, REQ's strings and POOL) until someone calls ts_http_resume()
 * from any thread. Then, on a listener thread, FINISH fills the reply
 * with the same REQ and POOL, and it is sent. Every deferred request must
 * be resumed exactly once; ts_httpd_stop() waits for that. */
typedef struct ts_http_pending_t ts_http_pending_t;
typedef void (*ts_http_finish_t)(ts_http_reply_t *reply, void *baton,
                                 const ts_http_request_t *req,
                                 apr_pool_t *pool);
ts_http_pending_t *ts_http_defer(const ts_http_request_t *req,
                                 ts_http_finish_t finish, void *baton);
void ts_http_resume(ts_http_pending_t *pending);

/* The value of REQ's query argument NAME ("/v1/sessions?limit=10":
 * "10" for "limit"), decoded, or NULL; as long as REQ. */
const char *ts_http_query(const ts_http_request_t *req, const char *name);

/* Answer REQ with HANDLER as a listener would, but without a connection:
 * a deferred answer is waited for here and FINISH runs in this thread.
 * QUERY: what followed '?' in the request's target ("limit=10&after=x"),
 * or NULL; ts_http_query answers its arguments, decoded as
 * libmicrohttpd decodes them ('+' a space, %XX a byte). For tests and
 * the fuzzing harnesses (tests/fuzz), which drive a server's routes
 * in-process; REQ->pending is set here. */
void ts_http_answer_local(ts_http_reply_t *reply, ts_http_handler_t handler,
                          void *baton, ts_http_request_t *req,
                          const char *query, apr_pool_t *pool);

/* Answer with J (its reference is taken) as compact JSON and STATUS. */
void ts_http_reply_json(ts_http_reply_t *reply, int status, json_t *j,
                        apr_pool_t *pool);

/* Answer STATUS with {"error": MESSAGE}. */
void ts_http_reply_error(ts_http_reply_t *reply, int status,
                         const char *message, apr_pool_t *pool);

/* The request's body as JSON: *J on success (json_decref it); otherwise
 * the reply says why (415 without Content-Type: application/json, 400 for
 * malformed JSON) and *J is NULL. */
void ts_http_request_json(json_t **j, ts_http_reply_t *reply,
                          const ts_http_request_t *req, apr_pool_t *pool);

typedef struct ts_httpd_t ts_httpd_t;

/* Connections. Every client connection holds a file descriptor, so the
 * listeners of a process share a budget: how many connections they may
 * hold in all (what the open-files limit leaves room for) and how many
 * of them one client address may hold, so that no one client takes them
 * all. A connection over either is closed at once (counted on /metrics,
 * a warning in the log at most every 10 s). A client that is silent for
 * 10 s while its request arrives, or between requests, is disconnected;
 * a client that closes its connection half-way frees it at once. */
typedef struct ts_httpd_budget_t ts_httpd_budget_t;

/* A budget of CONNECTIONS in all and PER_CLIENT from one address, both at
 * least 1; CONNECTIONS at most what a listener can watch (no limit with
 * poll(), the case on Linux and Windows; FD_SETSIZE otherwise). Lives in
 * POOL; stop its listeners before POOL goes. */
ts_httpd_budget_t *ts_httpd_budget_create(long connections, long per_client,
                                          apr_pool_t *pool);

/* The budget's figures, as clamped. */
long ts_httpd_budget_connections(const ts_httpd_budget_t *budget);
long ts_httpd_budget_per_client(const ts_httpd_budget_t *budget);

/* Listen on PORT on each of ADDRESSES (const char *: IP addresses or host
 * names; NULL or empty: every address, IPv6 and IPv4 where the system has
 * both) and serve with HANDLER, holding connections within BUDGET (NULL:
 * a budget of the listener's own, 1000 connections and 250 per client).
 * NAME says what listens ("license server", "hub") in messages. */
ts_error_t *ts_httpd_start(ts_httpd_t **httpd, const char *name, int port,
                           const apr_array_header_t *addresses,
                           ts_http_handler_t handler, void *baton,
                           ts_httpd_budget_t *budget, ts_log_t *log,
                           apr_pool_t *pool);

/* Whether ts_httpd_start() could listen on PORT on ADDRESSES now: each
 * address is bound as it would be and let go at once. NULL when it could;
 * else the error ts_httpd_start() would give (the port in use, an address
 * that is not this machine's, ...). NAME as for ts_httpd_start(). */
ts_error_t *ts_httpd_check_port(const char *name, int port,
                                const apr_array_header_t *addresses,
                                apr_pool_t *pool);

/* Write the request counters and latency histograms, per route and
 * status, to PROM (families PREFIX_http_requests_total and
 * PREFIX_http_request_duration_seconds), and the connections: open on
 * this port (PREFIX_http_connections), the budget's figures
 * (PREFIX_http_connections_limit, ..._per_client_limit) and those
 * refused (PREFIX_http_connections_refused_total by reason "limit" or
 * "client-limit"); POOL is PROM's. */
void ts_httpd_metrics(ts_prom_t *prom, ts_httpd_t *httpd,
                      const char *prefix, apr_pool_t *pool);

/* Stop accepting, wait (a few seconds at most) until every deferred
 * request was resumed, then close the connections and the listener. */
void ts_httpd_stop(ts_httpd_t *httpd);

/* The client side (ts_http_client.c, libcurl), for the admin program,
 * the doctor, the prober and project license servers: PATH from
 * HOST:PORT, waiting at most TIMEOUT to connect and twice that in all,
 * never through a proxy. *STATUS and *BODY (NUL-terminated) receive the
 * answer. A server that cannot be reached or does not answer is an error
 * with code TS_EUNAVAIL; an answer over TS_HTTP_CLIENT_MAX_BODY is one
 * with code TS_EINVAL (never cut short: ask for less, e.g. a page). Call ts_http_client_init()
 * once at program start, before threads. */
void ts_http_client_init(void);

#define TS_HTTP_CLIENT_MAX_BODY (1 << 20)

ts_error_t *ts_http_get(int *status, const char **body, const char *host,
                        int port, const char *path,
                        apr_interval_time_t timeout, apr_pool_t *pool);

/* The same with METHOD, unless NULL a JSON body, and unless NULL extra
 * header lines HEADERS ("Name: value\r\n"...). */
ts_error_t *ts_http_call(int *status, const char **body, const char *host,
                         int port, const char *method, const char *path,
                         const char *json, const char *headers,
                         apr_interval_time_t timeout, apr_pool_t *pool);

#endif
