/* ts_httpd.c: the HTTP listener (see ts_httpd.h). */
#include "ts_httpd.h"

#include <stdio.h>
#include <string.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <microhttpd.h>

#include "tsp.h"

struct ts_httpd_t {
  struct MHD_Daemon *mhd;
  apr_socket_t *listener;
  ts_http_handler_t handler;
  void *baton;
  ts_log_t *log;
  int port;
  apr_pool_t *pool;
};

/* One request's state, from its first call to its completion. */
typedef struct request_t {
  apr_pool_t *pool;
  char *body;
  apr_size_t len;
  int too_big;
} request_t;

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_size, void **con_cls)
{
  ts_httpd_t *httpd = cls;
  ts_http_reply_t reply = { 200, "application/json", "" };
  ts_http_request_t req;
  struct MHD_Response *resp;
  request_t *r = *con_cls;
  enum MHD_Result rc;

  (void)version;
  if (!r) {
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    r = apr_pcalloc(pool, sizeof(*r));
    r->pool = pool;
    r->body = apr_pcalloc(pool, 1);
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_size) {
    if (r->len + *upload_size > TS_HTTP_MAX_BODY)
      r->too_big = 1;
    else {
      char *grown = apr_palloc(r->pool, r->len + *upload_size + 1);
      memcpy(grown, r->body, r->len);
      memcpy(grown + r->len, upload_data, *upload_size);
      r->len += *upload_size;
      grown[r->len] = '\0';
      r->body = grown;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->too_big) {
    reply.status = 413;
    reply.body = apr_psprintf(r->pool, "{\"error\":\"the request body is "
                              "larger than %d bytes\"}\n", TS_HTTP_MAX_BODY);
  }
  else {
    req.method = method;
    req.url = url;
    req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Content-Type");
    req.body = r->body;
    req.body_len = r->len;
    httpd->handler(&reply, httpd->baton, &req, r->pool);
  }
  resp = MHD_create_response_from_buffer(strlen(reply.body),
                                         (void *)reply.body,
                                         MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          reply.content_type);
  rc = MHD_queue_response(conn, (unsigned int)reply.status, resp);
  MHD_destroy_response(resp);
  return rc;
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

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
  ts_httpd_t *httpd = cls;
  char buf[512];

  apr_vsnprintf(buf, sizeof(buf), fmt, ap);
  buf[strcspn(buf, "\n")] = '\0';
  ts_log(httpd->log, TS_LOG_WARNING, "http: %s", buf);
}

/* Bind PORT on the any-address of FAMILY. */
static apr_status_t
bind_any(apr_socket_t **sock, int family, int port, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_status_t s;

  s = apr_sockaddr_info_get(&sa, family == APR_INET6 ? "::" : "0.0.0.0",
                            family, (apr_port_t)port, 0, pool);
  if (!s)
    s = apr_socket_create(sock, family, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (s)
    return s;
  s = tsp_listener_prepare(*sock);
  if (s) {
    apr_socket_close(*sock);
    return s;
  }
  if (family == APR_INET6)
    apr_socket_opt_set(*sock, APR_IPV6_V6ONLY, 0);
  s = apr_socket_bind(*sock, sa);
  if (!s)
    s = apr_socket_listen(*sock, SOMAXCONN);
  if (s)
    apr_socket_close(*sock);
  return s;
}

ts_error_t *
ts_httpd_start(ts_httpd_t **httpd_p, int port, ts_http_handler_t handler,
               void *baton, ts_log_t *log, apr_pool_t *pool)
{
  ts_httpd_t *httpd = apr_pcalloc(pool, sizeof(*httpd));
  apr_os_sock_t fd;
  apr_status_t s;

  httpd->handler = handler;
  httpd->baton = baton;
  httpd->log = log;
  httpd->port = port;
  httpd->pool = pool;
  s = bind_any(&httpd->listener, APR_INET6, port, pool);
  if (s && !tsp_status_is_addr_in_use(s) && !APR_STATUS_IS_EACCES(s))
    s = bind_any(&httpd->listener, APR_INET, port, pool);   /* no IPv6 */
  if (tsp_status_is_addr_in_use(s))
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
      "cannot listen on port %d: another program uses it; find it with "
      "`ss -ltnp 'sport = :%d'` (Windows: `netstat -ano | findstr :%d`), "
      "or choose another port in INOHOST", port, port, port);
  if (s)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
                             "cannot listen on port %d", port);
  apr_os_sock_get(&fd, httpd->listener);
  httpd->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD
                                | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
                                (uint16_t)port, NULL, NULL, answer, httpd,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, httpd,
                                MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)4,
                                MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned int)60,
                                MHD_OPTION_END);
  if (!httpd->mhd) {
    apr_socket_close(httpd->listener);
    return ts_error_createf(TS_EUNAVAIL, "cannot start the HTTP server on "
                            "port %d (libmicrohttpd refused; see the log)",
                            port);
  }
  *httpd_p = httpd;
  return NULL;
}

void
ts_httpd_stop(ts_httpd_t *httpd)
{
  /* MHD_stop_daemon closes the listen socket it was given. */
  MHD_stop_daemon(httpd->mhd);
}

#define GET_MAX (1 << 20)

ts_error_t *
ts_http_get(int *status, const char **body, const char *host, int port,
            const char *path, apr_interval_time_t timeout, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  apr_status_t rv;
  const char *req = apr_psprintf(pool, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
                                 path, host);
  apr_size_t len = strlen(req), got = 0;
  char *buf = apr_palloc(pool, GET_MAX), *end;

  rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)port, 0,
                             pool);
  if (!rv)
    rv = apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (rv)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, rv, NULL, "cannot "
                             "reach %s port %d", host, port);
  apr_socket_timeout_set(s, timeout);
  rv = apr_socket_connect(s, sa);
  if (!rv)
    rv = apr_socket_send(s, req, &len);
  while (!rv && got < GET_MAX - 1) {
    apr_size_t n = GET_MAX - 1 - got;
    rv = apr_socket_recv(s, buf + got, &n);
    got += n;
  }
  apr_socket_close(s);
  if (rv && !APR_STATUS_IS_EOF(rv))
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, rv, NULL, "%s port %d "
                             "does not answer GET %s", host, port, path);
  buf[got] = '\0';
  *status = 0;
  sscanf(buf, "HTTP/1.%*d %d", status);
  end = strstr(buf, "\r\n\r\n");
  *body = end ? end + 4 : "";
  return NULL;
}
