/* test_uvhttp.c: the event-loop listener of core/net (ts_uvhttp.h) on
 * loopback, spoken to with raw sockets: requests answered by the routes
 * (with bodies, query arguments, HEAD, two requests on one connection),
 * heads it refuses and why, a connection the role takes (the bytes that
 * followed the head, its answer, its close hook at the stop), work
 * posted from other threads, the connection budget, and a port that is
 * taken. Runs on Linux and under wine. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_uvhttp.h"
#include "ts_log.h"

static apr_pool_t *pool;
static ts_uvhttp_t *uv;
static ts_log_t *log_;
static int port;
static volatile apr_uint32_t closed_taken;

static void
handler(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        apr_pool_t *p)
{
  const char *q = ts_http_query(req, "q");

  (void)baton;
  reply->content_type = "text/plain";
  if (!strcmp(req->url, "/echo"))
    reply->body = apr_psprintf(p, "%s %s q=%s body=%s", req->method,
                               req->url, q ? q : "-", req->body);
  else if (!strcmp(req->url, "/a b"))
    reply->body = "decoded";
  else
    reply->status = 404;
}

static void
on_taken_closed(ts_uvconn_t *conn)
{
  (void)conn;
  apr_atomic_inc32(&closed_taken);
}

/* CONNECT x:1 is taken: answered "taken <pending bytes>"; CONNECT
 * keep:1 is taken and held open until the stop; CONNECT no:1 is
 * answered 404 by the role. */
static int
claim(void *baton, ts_uvconn_t *conn, const ts_http_head_t *head)
{
  ts_http_reply_t reply = { 200, "text/plain", "", "claim", NULL, NULL, 0 };
  apr_size_t n;
  const char *pending;

  (void)baton;
  if (strcmp(head->method, "CONNECT"))
    return 0;
  pending = ts_uvconn_pending(conn, &n);
  ts_uvconn_on_close(conn, on_taken_closed);
  if (!strcmp(head->target, "keep:1"))
    return 1;
  if (!strcmp(head->target, "no:1"))
    reply.status = 404;
  reply.body = apr_psprintf(ts_uvconn_pool(conn), "taken %.*s", (int)n,
                            pending);
  ts_uvconn_reply(conn, &reply);
  return 1;
}

static int
free_port(void)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;

  cr_assert_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0,
                                     pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                 pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_bind(s, sa), APR_SUCCESS);
  cr_assert_eq(apr_socket_addr_get(&sa, APR_LOCAL, s), APR_SUCCESS);
  apr_socket_close(s);
  return sa->port;
}

static apr_array_header_t *
loopback(void)
{
  apr_array_header_t *a = apr_array_make(pool, 1, sizeof(const char *));

  APR_ARRAY_PUSH(a, const char *) = "127.0.0.1";
  return a;
}

static void
start_with(ts_httpd_budget_t *budget)
{
  const char *tmp;
  ts_uvhttp_hooks_t hooks = { claim, NULL, NULL, NULL };

  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_null(ts_log_open(&log_, apr_psprintf(pool, "%s/tessera-test-"
                             "uvhttp-%d.log", tmp, (int)(apr_time_now()
                             % 1000000)), 0, 0, pool));
  port = free_port();
  cr_assert_null(ts_uvhttp_start(&uv, "test listener", port, loopback(),
                                 handler, NULL, &hooks, budget, log_, pool));
}

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  apr_atomic_set32(&closed_taken, 0);
  start_with(NULL);
}

static void
teardown(void)
{
  ts_uvhttp_stop(uv);
  apr_pool_destroy(pool);
  apr_terminate();
}

static apr_socket_t *
connect_(void)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;

  cr_assert_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET,
                                     (apr_port_t)port, 0, pool),
               APR_SUCCESS);
  cr_assert_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                 pool), APR_SUCCESS);
  apr_socket_timeout_set(s, apr_time_from_sec(10));
  cr_assert_eq(apr_socket_connect(s, sa), APR_SUCCESS);
  return s;
}

static void
send_(apr_socket_t *s, const char *text)
{
  apr_size_t n = strlen(text);

  cr_assert_eq(apr_socket_send(s, text, &n), APR_SUCCESS);
}

/* Everything until the server closes (or 10 s pass: then what came). */
static const char *
read_all(apr_socket_t *s)
{
  char *all = "", buf[4096];
  apr_size_t n;

  for (;;) {
    n = sizeof(buf);
    if (apr_socket_recv(s, buf, &n) != APR_SUCCESS && n == 0)
      break;
    all = apr_pstrcat(pool, all, apr_pstrmemdup(pool, buf, n), NULL);
  }
  apr_socket_close(s);
  return all;
}

/* Until TEXT has been read at least COUNT times. */
static const char *
read_until(apr_socket_t *s, const char *text, int count)
{
  char *all = "", buf[4096];
  apr_size_t n;

  for (;;) {
    int seen = 0;
    for (const char *p = all; (p = strstr(p, text)) != NULL; p++)
      seen++;
    if (seen >= count)
      return all;
    n = sizeof(buf);
    if (apr_socket_recv(s, buf, &n) != APR_SUCCESS && n == 0)
      return all;
    all = apr_pstrcat(pool, all, apr_pstrmemdup(pool, buf, n), NULL);
  }
}

static const char *
exchange(const char *request)
{
  apr_socket_t *s = connect_();

  send_(s, request);
  return read_all(s);
}

TestSuite(uvhttp, .init = setup, .fini = teardown, .timeout = 60);

Test(uvhttp, a_request_reaches_the_routes_with_its_query_and_body)
{
  const char *r = exchange("POST /echo?q=a%20b+c HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: 5\r\nConnection: close\r\n\r\n"
                           "hello");

  cr_assert(strstr(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
  cr_assert(strstr(r, "Content-Length: 29\r\n"), "%s", r);
  cr_assert(strstr(r, "\r\n\r\nPOST /echo q=a b c body=hello"), "%s", r);
  r = exchange("GET /a%20b HTTP/1.0\r\n\r\n");
  cr_assert(strstr(r, "\r\n\r\ndecoded"), "the path is decoded: %s", r);
}

Test(uvhttp, two_requests_on_one_connection_and_head_without_a_body)
{
  apr_socket_t *s = connect_();
  const char *r;

  send_(s, "GET /echo?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
           "HEAD /echo?q=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  r = read_until(s, "HTTP/1.1 200", 2);
  cr_assert(strstr(r, "GET /echo q=1 body="), "%s", r);
  cr_assert_null(strstr(r, "HEAD /echo"), "HEAD has no body: %s", r);
  cr_assert(strstr(r, "Connection: keep-alive"), "%s", r);
  send_(s, "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  r = read_all(s);
  cr_assert(strstr(r, "HTTP/1.1 404 Not Found\r\n"), "%s", r);
  cr_assert(strstr(r, "Connection: close"), "%s", r);
}

Test(uvhttp, heads_it_cannot_read_are_refused_saying_why)
{
  char big[9000];
  const char *r;

  r = exchange("GET /echo HTTP/2.0\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 505 "), "%s", r);
  r = exchange("GET /echo HTTP/1.1\r\n Folded: x\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 400 ") && strstr(r, "folded"), "%s", r);
  r = exchange("GET /echo HTTP/1.1\r\nBad Name: x\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 400 ") && strstr(r, "Name: value"), "%s",
            r);
  r = exchange("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n0\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 501 ") && strstr(r, "Content-Length"), "%s",
            r);
  r = exchange("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n"
               "Content-Length: 6\r\n\r\nhello!");
  cr_assert(strstr(r, "HTTP/1.1 400 "), "two lengths: %s", r);
  r = exchange("POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 413 "), "%s", r);
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  r = exchange(apr_pstrcat(pool, "GET /echo HTTP/1.1\r\nX: ", big, NULL));
  cr_assert(strstr(r, "HTTP/1.1 431 ") && strstr(r, "8192"), "%s", r);
}

Test(uvhttp, a_taken_connection_gets_the_bytes_after_its_head)
{
  const char *r = exchange("CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\n\r\n"
                           "early bytes");

  cr_assert(strstr(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
  cr_assert(strstr(r, "\r\n\r\ntaken early bytes"), "%s", r);
  r = exchange("CONNECT no:1 HTTP/1.1\r\n\r\n");
  cr_assert(strstr(r, "HTTP/1.1 404 Not Found\r\n"), "%s", r);
  r = exchange("GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
  cr_assert(strstr(r, "GET /echo"), "other requests still reach the "
            "routes: %s", r);
}

Test(uvhttp, the_stop_closes_taken_connections_and_runs_their_hooks)
{
  apr_socket_t *s = connect_();
  char c;
  apr_size_t n = 1;

  send_(s, "CONNECT keep:1 HTTP/1.1\r\n\r\n");
  /* the stop begins only once the connection is the role's */
  for (int i = 0; i < 1000 && ts_uvhttp_open(uv) < 1; i++)
    apr_sleep(apr_time_from_msec(10));
  cr_assert_eq(ts_uvhttp_open(uv), 1);
  ts_uvhttp_stop(uv);
  uv = NULL;
  cr_assert_eq(apr_atomic_read32(&closed_taken), 1);
  cr_assert_neq(apr_socket_recv(s, &c, &n), APR_SUCCESS,
                "the client sees the close");
  start_with(NULL);
}

typedef struct posted_t {
  apr_uint32_t next;
  apr_uint32_t order[100];
} posted_t;

static posted_t posted;

static void
note(void *baton)
{
  apr_uint32_t k = apr_atomic_inc32(&posted.next);

  posted.order[k] = (apr_uint32_t)(apr_uintptr_t)baton;
}

Test(uvhttp, work_posted_from_another_thread_runs_in_order)
{
  memset(&posted, 0, sizeof(posted));
  for (apr_uintptr_t i = 0; i < 100; i++)
    ts_uvhttp_post(uv, note, (void *)i);
  for (int i = 0; i < 1000 && apr_atomic_read32(&posted.next) < 100; i++)
    apr_sleep(apr_time_from_msec(10));
  cr_assert_eq(apr_atomic_read32(&posted.next), 100);
  for (apr_uint32_t i = 0; i < 100; i++)
    cr_assert_eq(posted.order[i], i);
}

Test(uvhttp, connections_over_the_budget_are_closed_and_counted)
{
  apr_socket_t *held[2];
  ts_prom_t *prom;
  const char *r;

  ts_uvhttp_stop(uv);
  start_with(ts_httpd_budget_create(2, 2, pool));
  held[0] = connect_();
  held[1] = connect_();
  for (int i = 0; i < 1000 && ts_uvhttp_open(uv) < 2; i++)
    apr_sleep(apr_time_from_msec(10));
  r = exchange("GET /echo HTTP/1.1\r\n\r\n");
  cr_assert_str_eq(r, "", "a third connection is closed unanswered");
  prom = ts_prom_create(pool);
  ts_uvhttp_metrics(prom, uv, "tessera", pool);
  r = ts_prom_text(prom);
  cr_assert(strstr(r, "tessera_http_connections_refused_total{reason="
                      "\"limit\"} 1"), "%s", r);
  apr_socket_close(held[0]);
  apr_socket_close(held[1]);
}

Test(uvhttp, a_taken_port_is_an_error_naming_it)
{
  ts_uvhttp_t *second;
  ts_error_t *err = ts_uvhttp_start(&second, "second listener", port,
                                    loopback(), handler, NULL, NULL, NULL,
                                    log_, pool);

  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "second listener")
            && strstr(ts_error_text(err, pool), apr_itoa(pool, port)), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}
