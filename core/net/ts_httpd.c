/* ts_httpd.c: the HTTP listener (see ts_httpd.h). */
#include "ts_httpd_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "tsp.h"

/* Listener threads per address. */
#ifndef HTTP_THREADS
#define HTTP_THREADS 4u
#endif

/* A client has this long of silence while its request arrives (or
 * between two requests on one connection) before the connection is
 * closed: a connection that connects and says nothing, or half a request,
 * holds a descriptor no longer. Requests waiting for the seat store are
 * suspended and not timed. */
#define IDLE_SECONDS 10u

/* Without the runtime's budget (a listener of a test, a tool): what a
 * listener of its own may hold. */
#define OWN_CONNECTIONS 1000
#define OWN_PER_CLIENT 250

/* One request's state, from its first call to its completion. */
typedef enum req_state_t {
  REQ_RECEIVING,      /* the body arrives */
  REQ_SUSPENDED,      /* deferred: waiting for ts_http_resume */
  REQ_RESUMED         /* FINISH runs at the next call */
} req_state_t;

struct ts_http_pending_t {
  ts_httpd_t *httpd;
  struct MHD_Connection *conn;
  apr_pool_t *pool;
  char *body;
  apr_size_t len;
  int too_big;
  req_state_t state;
  ts_http_request_t req;      /* kept while suspended */
  ts_http_finish_t finish;
  void *baton;
  const char *route;          /* the handler's label, kept for FINISH */
  apr_time_t began;
  /* answered without a connection (HTTPD and CONN NULL): the waiter in
   * ts_http_answer_local sleeps on RESUMED until STATE leaves SUSPENDED */
  apr_thread_mutex_t *local_lock;
  apr_thread_cond_t *local_resumed;
  apr_table_t *local_args;    /* its query's arguments, decoded */
};
typedef struct ts_http_pending_t request_t;

ts_http_pending_t *
ts_http_defer(const ts_http_request_t *req, ts_http_finish_t finish,
              void *baton)
{
  request_t *r = req->pending;

  r->finish = finish;
  r->baton = baton;
  r->state = REQ_SUSPENDED;
  if (!r->httpd)
    return r;                 /* local: ts_http_answer_local waits */
  apr_thread_mutex_lock(r->httpd->stats_lock);
  r->httpd->deferred++;
  apr_thread_mutex_unlock(r->httpd->stats_lock);
  /* before the work starts: its resume may come at once, from any
   * thread, and MHD takes it whenever it comes after the suspend */
  MHD_suspend_connection(r->conn);
  return r;
}

void
ts_http_resume(ts_http_pending_t *r)
{
  ts_httpd_t *httpd = r->httpd;

  if (!httpd) {
    apr_thread_mutex_lock(r->local_lock);
    r->state = REQ_RESUMED;
    apr_thread_cond_signal(r->local_resumed);
    apr_thread_mutex_unlock(r->local_lock);
    return;
  }
  r->state = REQ_RESUMED;
  MHD_resume_connection(r->conn);   /* R belongs to MHD's thread again */
  apr_thread_mutex_lock(httpd->stats_lock);
  if (--httpd->deferred == 0)
    apr_thread_cond_broadcast(httpd->resumed);
  apr_thread_mutex_unlock(httpd->stats_lock);
}

const char *
ts_http_query(const ts_http_request_t *req, const char *name)
{
  if (!req->pending)
    return NULL;
  if (!req->pending->conn)    /* answered locally */
    return req->pending->local_args
           ? apr_table_get(req->pending->local_args, name) : NULL;
  return MHD_lookup_connection_value(req->pending->conn,
                                     MHD_GET_ARGUMENT_KIND, name);
}

static int
hex_digit(char c)
{
  return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *
ts_httpd_unescape(const char *text, apr_size_t len, int plus,
                  apr_pool_t *pool)
{
  char *out = apr_palloc(pool, len + 1), *o = out;

  for (apr_size_t i = 0; i < len; i++)
    if (text[i] == '%' && i + 2 < len && hex_digit(text[i + 1]) >= 0
        && hex_digit(text[i + 2]) >= 0) {
      *o++ = (char)(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    }
    else
      *o++ = plus && text[i] == '+' ? ' ' : text[i];
  *o = '\0';
  return out;
}

/* QUERY's arguments ("a=1&b=x%20y"; one without "=" has no value, as
 * libmicrohttpd gives none). */
static apr_table_t *
query_args(const char *query, apr_pool_t *pool)
{
  apr_table_t *args = apr_table_make(pool, 4);

  while (query && *query) {
    apr_size_t n = strcspn(query, "&"), k = strcspn(query, "=");
    if (k < n)
      apr_table_addn(args, ts_httpd_unescape(query, k, 1, pool),
                     ts_httpd_unescape(query + k + 1, n - k - 1, 1, pool));
    query += n + (query[n] == '&');
  }
  return args;
}

void
ts_http_answer_local(ts_http_reply_t *reply, ts_http_handler_t handler,
                     void *baton, ts_http_request_t *req, const char *query,
                     apr_pool_t *pool)
{
  request_t *r = apr_pcalloc(pool, sizeof(*r));

  r->pool = pool;
  r->local_args = query_args(query, pool);
  apr_thread_mutex_create(&r->local_lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&r->local_resumed, pool);
  req->pending = r;
  handler(reply, baton, req, pool);
  if (r->state == REQ_RECEIVING)
    return;
  apr_thread_mutex_lock(r->local_lock);
  while (r->state == REQ_SUSPENDED)
    apr_thread_cond_wait(r->local_resumed, r->local_lock);
  apr_thread_mutex_unlock(r->local_lock);
  r->finish(reply, r->baton, req, pool);
}

/* Send REPLY for R and count it. */
static enum MHD_Result
send_reply(request_t *r, const ts_http_reply_t *reply)
{
  struct MHD_Response *resp;
  enum MHD_Result rc;

  resp = MHD_create_response_from_buffer(strlen(reply->body),
                                         (void *)reply->body,
                                         MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          reply->content_type);
  if (reply->www_authenticate)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            reply->www_authenticate);
  if (reply->allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
  if (reply->retry_after > 0) {
    char seconds[16];
    apr_snprintf(seconds, sizeof(seconds), "%d", reply->retry_after);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
  }
  rc = MHD_queue_response(r->conn, (unsigned int)reply->status, resp);
  MHD_destroy_response(resp);
  ts_httpd_record(r->httpd, reply->route, reply->status,
                  apr_time_now() - r->began);
  return rc;
}

/* Keep the upload's next piece (bodies over TS_HTTP_MAX_BODY are only
 * marked). */
static void
take_upload(request_t *r, const char *data, size_t size)
{
  char *grown;

  if (r->len + size > TS_HTTP_MAX_BODY) {
    r->too_big = 1;
    return;
  }
  grown = apr_palloc(r->pool, r->len + size + 1);
  memcpy(grown, r->body, r->len);
  memcpy(grown + r->len, data, size);
  r->len += size;
  grown[r->len] = '\0';
  r->body = grown;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_size, void **con_cls)
{
  ts_httpd_t *httpd = cls;
  ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                            NULL, 0 };
  request_t *r = *con_cls;

  (void)version;
  if (!r) {
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    r = apr_pcalloc(pool, sizeof(*r));
    r->pool = pool;
    r->httpd = httpd;
    r->conn = conn;
    r->body = apr_pcalloc(pool, 1);
    *con_cls = r;
    return MHD_YES;
  }
  if (r->state == REQ_RESUMED) {
    reply.route = r->route;
    r->finish(&reply, r->baton, &r->req, r->pool);
    return send_reply(r, &reply);
  }
  if (*upload_size) {
    take_upload(r, upload_data, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  r->began = apr_time_now();
  if (r->too_big) {   /* in the language the server answers in */
    ts_http_reply_error(&reply, 413, apr_psprintf(r->pool, _("the request "
                        "body is larger than %d bytes"), TS_HTTP_MAX_BODY),
                        r->pool);
    return send_reply(r, &reply);
  }
  r->req.method = method;
  r->req.url = url;
  r->req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Content-Type");
  r->req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Authorization");
  r->req.client = ts_httpd_client(conn);
  r->req.body = r->body;
  r->req.body_len = r->len;
  r->req.pending = r;
  httpd->handler(&reply, httpd->baton, &r->req, r->pool);
  if (r->state != REQ_RECEIVING) {
    r->route = reply.route;   /* static: outlives the handler */
    return MHD_YES;           /* deferred: answered when resumed */
  }
  return send_reply(r, &reply);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
  request_t *r = *con_cls;

  (void)cls;
  (void)conn;
  (void)toe;
  if (r)
    apr_pool_destroy(r->pool);
  *con_cls = NULL;
}

/* Bind PORT on SA, listening. */
static apr_status_t
bind_to(apr_socket_t **sock, apr_sockaddr_t *sa, apr_pool_t *pool)
{
  apr_status_t s;

  s = apr_socket_create(sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (s)
    return s;
  s = tsp_listener_prepare(*sock);
  if (!s && sa->family == APR_INET6)
    /* "::" takes IPv4 as well; a specific IPv6 address only itself. */
    apr_socket_opt_set(*sock, APR_IPV6_V6ONLY, 0);
  if (!s)
    s = apr_socket_bind(*sock, sa);
  if (!s)
    s = apr_socket_listen(*sock, SOMAXCONN);
  if (s)
    apr_socket_close(*sock);
  return s;
}

/* Binding PORT on ADDRESS (NULL: every address) failed with S. The
 * formats are marked with N_(): ts_error__createf's are not extracted
 * for the catalog otherwise. */
static ts_error_t *
bind_error(apr_status_t s, const char *name, int port, const char *address)
{
  if (tsp_status_is_addr_in_use(s) && !address)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
      N_("the %s cannot listen on port %d (every address): another program "
         "uses it; find it with `ss -ltnp 'sport = :%d'` (Windows: `netstat "
         "-ano | findstr :%d`), or choose another port in INOHOST"),
      name, port, port, port);
  if (tsp_status_is_addr_in_use(s))
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
      N_("the %s cannot listen on port %d (%s): another program uses it; "
         "find it with `ss -ltnp 'sport = :%d'` (Windows: `netstat -ano | "
         "findstr :%d`), or choose another port in INOHOST"), name,
      port, address, port, port);
  if (!address)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
      N_("the %s cannot listen on port %d (every address)"), name,
      port);
  return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
    N_("the %s cannot listen on port %d (%s) (is it an address of this "
       "machine? the listen addresses are set in tessera.xml)"),
    name, port, address);
}

/* poll() where libmicrohttpd has it (Linux, Windows), else select(). */
static unsigned int
polling(void)
{
  return MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES
         ? MHD_USE_POLL : 0;
}

/* libmicrohttpd's connection limit for BUDGET: each of its threads gets
 * an equal part of it, and each should be able to hold all of BUDGET. */
static unsigned int
mhd_limit(const ts_httpd_budget_t *budget)
{
  long most = (long)(UINT_MAX / HTTP_THREADS);
  long limit = ts_httpd_budget_connections(budget) + 1;

  return (unsigned int)(limit > most ? most : limit) * HTTP_THREADS;
}

/* Serve on LISTENER, bound to ADDRESS (NULL: every address). */
static ts_error_t *
serve(void *ctx, apr_socket_t *listener, const char *address)
{
  ts_httpd_t *httpd = ctx;
  apr_os_sock_t fd;
  struct MHD_Daemon *mhd;

  if (httpd->nmhd == MAX_LISTENERS) {   /* only with ADDRESS */
    apr_socket_close(listener);
    return ts_error_createf(TS_ECONFIG, "the %s can listen on at most %d "
                            "addresses; %s is one too many", httpd->name,
                            MAX_LISTENERS, address ? address : "::");
  }
  apr_os_sock_get(&fd, listener);
  /* Handlers that wait for the seat store defer their answer (the
   * connection is suspended), so no thread waits for a commit: a few
   * threads serve any number of clients.
   *
   * poll(), not epoll: libmicrohttpd 0.9.75 watches epoll edge-triggered
   * and reads a connection once per edge, so half a request and the
   * client's close arriving together left the close unseen: such
   * connections stayed open (CLOSE-WAIT) until their timeout and took
   * the listener's every slot. poll() reports the close at the next
   * round.
   *
   * Admission is ts_httpd_admit's, against the process's budget;
   * libmicrohttpd's own limit, which it divides among its threads, is
   * set so that any one thread could hold the whole budget. */
  mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | polling()
                         | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME,
                         (uint16_t)httpd->port,
                         ts_httpd_admit, httpd, answer, httpd,
                         MHD_OPTION_EXTERNAL_LOGGER, ts_httpd_mhd_log, httpd,
                         MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                         MHD_OPTION_NOTIFY_CONNECTION, ts_httpd_connection,
                         httpd,
                         MHD_OPTION_THREAD_POOL_SIZE, HTTP_THREADS,
                         MHD_OPTION_CONNECTION_LIMIT,
                         mhd_limit(httpd->budget),
                         MHD_OPTION_CONNECTION_TIMEOUT, IDLE_SECONDS,
                         MHD_OPTION_END);
  if (!mhd) {
    apr_socket_close(listener);
    return address ? ts_error_createf(TS_EUNAVAIL, "cannot start the %s's "
                                      "HTTP server on %s port %d "
                                      "(libmicrohttpd refused; see the log)",
                                      httpd->name, address, httpd->port)
                   : ts_error_createf(TS_EUNAVAIL, "cannot start the %s's "
                                      "HTTP server on port %d, every "
                                      "address (libmicrohttpd refused; see "
                                      "the log)", httpd->name, httpd->port);
  }
  httpd->listener[httpd->nmhd] = listener;
  httpd->mhd[httpd->nmhd++] = mhd;
  return NULL;
}

/* Bind PORT on every address, IPv6 and IPv4 where the system has both,
 * or on IPv4 alone where it has no IPv6. */
static ts_error_t *
listen_any(const char *name, int port, ts_net_serve_t serve_on, void *ctx,
           apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_socket_t *sock;
  apr_status_t s;

  s = apr_sockaddr_info_get(&sa, "::", APR_INET6, (apr_port_t)port, 0,
                            pool);
  if (!s)
    s = bind_to(&sock, sa, pool);
  if (s && !tsp_status_is_addr_in_use(s) && !APR_STATUS_IS_EACCES(s)) {
    /* no IPv6 here */
    s = apr_sockaddr_info_get(&sa, "0.0.0.0", APR_INET, (apr_port_t)port,
                              0, pool);
    if (!s)
      s = bind_to(&sock, sa, pool);
  }
  if (s)
    return bind_error(s, name, port, NULL);
  return serve_on(ctx, sock, NULL);
}

static ts_error_t *
listen_on(const char *name, int port, const char *address,
          ts_net_serve_t serve_on, void *ctx, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_socket_t *sock;
  apr_status_t s;

  s = apr_sockaddr_info_get(&sa, address, APR_UNSPEC, (apr_port_t)port, 0,
                            pool);
  if (s)
    return ts_error__createf(TS__WHERE, TS_ECONFIG, s, NULL,
                             N_("the %s cannot listen on '%s': the address "
                                "does not resolve"), name, address);
  for (; sa; sa = sa->next) {   /* a host name: each of its addresses */
    char *ip;
    apr_sockaddr_ip_get(&ip, sa);
    s = bind_to(&sock, sa, pool);
    if (s)
      return bind_error(s, name, port, ip);
    TS_ERR(serve_on(ctx, sock, ip));
  }
  return NULL;
}

ts_error_t *
ts_net_listen(const char *name, int port,
              const apr_array_header_t *addresses, ts_net_serve_t serve_on,
              void *ctx, apr_pool_t *pool)
{
  ts_error_t *err = NULL;

  if (!addresses || addresses->nelts == 0)
    return listen_any(name, port, serve_on, ctx, pool);
  for (int i = 0; !err && i < addresses->nelts; i++)
    err = listen_on(name, port, APR_ARRAY_IDX(addresses, i, const char *),
                    serve_on, ctx, pool);
  return err;
}

ts_httpd_t *
ts_httpd_shell(const char *name, int port, ts_httpd_budget_t *budget,
               ts_log_t *log, apr_pool_t *pool)
{
  ts_httpd_t *httpd = apr_pcalloc(pool, sizeof(*httpd));

  httpd->budget = budget ? budget
                         : ts_httpd_budget_create(OWN_CONNECTIONS,
                                                  OWN_PER_CLIENT, pool);
  httpd->log = log;
  httpd->name = apr_pstrdup(pool, name);
  httpd->port = port;
  httpd->pool = pool;
  apr_thread_mutex_create(&httpd->stats_lock, APR_THREAD_MUTEX_DEFAULT,
                          pool);
  apr_thread_cond_create(&httpd->resumed, pool);
  apr_thread_mutex_create(&httpd->quiet_lock, APR_THREAD_MUTEX_DEFAULT,
                          pool);
  return httpd;
}

ts_error_t *
ts_httpd_start(ts_httpd_t **httpd_p, const char *name, int port,
               const apr_array_header_t *addresses,
               ts_http_handler_t handler, void *baton,
               ts_httpd_budget_t *budget, ts_log_t *log, apr_pool_t *pool)
{
  ts_httpd_t *httpd = ts_httpd_shell(name, port, budget, log, pool);
  ts_error_t *err;

  httpd->handler = handler;
  httpd->baton = baton;
  err = ts_net_listen(httpd->name, port, addresses, serve, httpd, pool);
  if (err) {
    ts_httpd_stop(httpd);
    return err;
  }
  *httpd_p = httpd;
  return NULL;
}

/* ts_httpd_check_port's: the port is free there; let it go. */
static ts_error_t *
let_go(void *ctx, apr_socket_t *listener, const char *address)
{
  (void)ctx;
  (void)address;
  apr_socket_close(listener);
  return NULL;
}

ts_error_t *
ts_httpd_check_port(const char *name, int port,
                    const apr_array_header_t *addresses, apr_pool_t *pool)
{
  return ts_net_listen(name, port, addresses, let_go, NULL, pool);
}

void
ts_httpd_stop(ts_httpd_t *httpd)
{
  apr_time_t deadline = apr_time_now() + apr_time_from_sec(5);

  /* no new connections; the listening socket is ours again, closed once
   * (by APR, whose cleanup would otherwise close its number a second
   * time, after MHD, when the pool goes) */
  for (int i = 0; i < httpd->nmhd; i++)
    if (MHD_quiesce_daemon(httpd->mhd[i]) != MHD_INVALID_SOCKET)
      apr_socket_close(httpd->listener[i]);
  /* MHD must not stop with suspended connections: their answers come
   * from the seat store's writer within milliseconds */
  apr_thread_mutex_lock(httpd->stats_lock);
  while (httpd->deferred > 0 && apr_time_now() < deadline)
    apr_thread_cond_timedwait(httpd->resumed, httpd->stats_lock,
                              deadline - apr_time_now());
  if (httpd->deferred > 0)
    ts_log(httpd->log, TS_LOG_ERROR, "the %s stops with %d request%s still "
           "waiting for an answer", httpd->name, httpd->deferred,
           httpd->deferred == 1 ? "" : "s");
  apr_thread_mutex_unlock(httpd->stats_lock);
  for (int i = 0; i < httpd->nmhd; i++)
    MHD_stop_daemon(httpd->mhd[i]);
  httpd->nmhd = 0;
  ts_httpd_warnings_flush(httpd);
}
