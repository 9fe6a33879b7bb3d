/* ts_http_client.c: the HTTP client side (ts_http_get, ts_http_call in
 * ts_httpd.h), over libcurl: what the admin program, the doctor, the
 * registry's prober and project license servers use to talk to servers.
 *
 * The TCP connection is made here, through the platform's table of system
 * calls (tsp_sys.socket_connect, so tests can refuse it), trying each
 * address of the host in turn within the timeout; curl is handed the
 * connected socket (CURLOPT_OPENSOCKETFUNCTION, CURL_SOCKOPT_ALREADY_
 * CONNECTED) and told to use that address (CURLOPT_CONNECT_TO), so it
 * neither resolves nor connects itself. The socket stays ours: curl does
 * not close it. */
#include "ts_httpd.h"

#include <string.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "ts_i18n.h"
#include "ts_text.h"
#include "tsp.h"


void
ts_http_client_init(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct sink_t {
  ts_text_t body;
  int too_big;                   /* over TS_HTTP_CLIENT_MAX_BODY */
} sink_t;

/* CURLOPT_WRITEFUNCTION: keep the body (ts_text.h); a body over
 * the limit stops the transfer (returning less than given makes curl
 * fail), so an answer is whole or an error, never silently cut. */
static size_t
collect(char *ptr, size_t size, size_t n, void *baton)
{
  sink_t *sink = baton;
  apr_size_t add = size * n;

  if (sink->body.len + add > TS_HTTP_CLIENT_MAX_BODY) {
    sink->too_big = 1;
    return 0;
  }
  ts_text_append(&sink->body, ptr, add);
  return add;
}

/* The connection made for curl. */
typedef struct conn_t {
  apr_socket_t *sock;
  int handed;                    /* curl has it */
} conn_t;

/* CURLOPT_OPENSOCKETFUNCTION: our connected socket, once. */
static curl_socket_t
open_socket(void *baton, curlsocktype purpose, struct curl_sockaddr *address)
{
  conn_t *c = baton;
  apr_os_sock_t fd;

  (void)purpose;
  (void)address;
  if (c->handed || apr_os_sock_get(&fd, c->sock) != APR_SUCCESS)
    return CURL_SOCKET_BAD;
  c->handed = 1;
  return (curl_socket_t)fd;
}

/* CURLOPT_SOCKOPTFUNCTION: it is connected already. */
static int
connected(void *baton, curl_socket_t fd, curlsocktype purpose)
{
  (void)baton;
  (void)fd;
  (void)purpose;
  return CURL_SOCKOPT_ALREADY_CONNECTED;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the socket is closed with its pool. */
static int
keep_socket(void *baton, curl_socket_t fd)
{
  (void)baton;
  (void)fd;
  return 0;
}

/* Connect to HOST:PORT within TIMEOUT, each of its addresses in turn;
 * *IP receives the address that answered. WHAT is the request, for
 * messages. */
static ts_error_t *
tcp_connect(apr_socket_t **sock, const char **ip, const char *host, int port,
            const char *what, apr_interval_time_t timeout, apr_pool_t *pool)
{
  apr_time_t until = apr_time_now() + timeout;
  apr_sockaddr_t *sa;
  apr_status_t s = apr_sockaddr_info_get(&sa, host, APR_UNSPEC,
                                         (apr_port_t)port, 0, pool);

  /* N_(): ts_error__createf's formats are extracted for the catalog */
  if (s)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
                             N_("%s port %d does not answer %s: the name %s "
                                "does not resolve"), host, port, what, host);
  for (; sa; sa = sa->next) {
    apr_interval_time_t left = until - apr_time_now();

    if (left <= 0) {
      s = APR_TIMEUP;
      break;
    }
    s = apr_socket_create(sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                          pool);
    if (s)
      continue;
    apr_socket_timeout_set(*sock, left);
    s = tsp_sys.socket_connect(*sock, sa);
    if (!s) {
      char *addr;
      apr_sockaddr_ip_get(&addr, sa);
      *ip = addr;
      return NULL;
    }
    apr_socket_close(*sock);
  }
  if (APR_STATUS_IS_ECONNREFUSED(s))
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
                             N_("%s port %d does not answer %s: the "
                                "connection was refused (nothing listens on "
                                "that port: is the server running, and on "
                                "this port?)"), host, port, what);
  return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
                           N_("%s port %d does not answer %s: cannot connect "
                              "within %d ms"), host, port, what,
                           (int)apr_time_as_msec(timeout));
}

/* Have C use CONN, connected to IP, instead of connecting itself. The
 * list returned is C's until it is cleaned up. */
static struct curl_slist *
use_connection(CURL *c, conn_t *conn, const char *ip, apr_pool_t *pool)
{
  int v6 = strchr(ip, ':') != NULL;
  struct curl_slist *route = curl_slist_append(NULL, apr_psprintf(pool,
                               "::%s%s%s:", v6 ? "[" : "", ip,
                               v6 ? "]" : ""));

  curl_easy_setopt(c, CURLOPT_CONNECT_TO, route);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, conn);
  curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, connected);
  curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, keep_socket);
  return route;
}

/* The request's headers: JSON's content type, HEADERS (lines), and no
 * "Expect: 100-continue" round trip before small bodies. */
static struct curl_slist *
header_list(const char *json, const char *headers, apr_pool_t *pool)
{
  struct curl_slist *list = NULL;

  if (json)
    list = curl_slist_append(list, "Content-Type: application/json");
  for (const char *h = headers; h && *h; ) {
    apr_size_t n = strcspn(h, "\r\n");
    if (n)
      list = curl_slist_append(list, apr_pstrndup(pool, h, n));
    h += n;
    h += strspn(h, "\r\n");
  }
  return curl_slist_append(list, "Expect:");
}

ts_error_t *
ts_http_call(int *status, const char **body, const char *host, int port,
             const char *method, const char *path, const char *json,
             const char *headers, apr_interval_time_t timeout,
             apr_pool_t *pool)
{
  sink_t sink = { 0 };
  struct curl_slist *list, *route;
  apr_time_t began = apr_time_now();
  conn_t conn = { NULL, 0 };
  const char *url, *ip = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  long code = 0;
  CURLcode rc;
  CURL *c;

  ts_text_init(&sink.body, pool);
  /* an IPv6 address goes in brackets */
  url = apr_psprintf(pool, "http://%s%s%s:%d%s",
                     strchr(host, ':') && host[0] != '[' ? "[" : "", host,
                     strchr(host, ':') && host[0] != '[' ? "]" : "", port,
                     path);
  TS_ERR(tcp_connect(&conn.sock, &ip, host, port,
                     apr_pstrcat(pool, method, " ", path, NULL), timeout,
                     pool));
  c = curl_easy_init();
  if (!c) {
    apr_socket_close(conn.sock);
    return ts_error_createf(TS_EOS, "cannot create an HTTP client (out of "
                            "memory)");
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  route = use_connection(c, &conn, ip, pool);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  /* Tessera's servers are reached directly, never through http_proxy */
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  /* the whole call within twice TIMEOUT, as when curl connected itself */
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)apr_time_as_msec(timeout)
                   * 2 - (long)apr_time_as_msec(apr_time_now() - began) + 1);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (strcmp(method, "GET") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (json) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
  }
  list = header_list(json, headers, pool);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  curl_slist_free_all(list);
  curl_slist_free_all(route);
  apr_socket_close(conn.sock);
  if (sink.too_big)
    return ts_error_createf(TS_EINVAL, "%s port %d answered %s %s with more "
                            "than %d KiB, more than this client takes; is "
                            "it a Tessera server of the same version? (a "
                            "list that long comes in pages)", host, port,
                            method, path, TS_HTTP_CLIENT_MAX_BODY / 1024);
  if (rc != CURLE_OK)
    return ts_error_createf(TS_EUNAVAIL, "%s port %d does not answer %s %s "
                            "(%s)", host, port, method, path,
                            *errbuf ? errbuf : curl_easy_strerror(rc));
  *status = (int)code;
  *body = sink.body.data;
  return NULL;
}

ts_error_t *
ts_http_get(int *status, const char **body, const char *host, int port,
            const char *path, apr_interval_time_t timeout, apr_pool_t *pool)
{
  return ts_http_call(status, body, host, port, "GET", path, NULL, NULL,
                      timeout, pool);
}
