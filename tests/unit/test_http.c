/* test_http.c: the HTTP client and listener of core/net talking to each
 * other in one process, on loopback: an answer over the client's limit is
 * an error naming the server and the request, never a body cut short; an
 * answer just under it arrives whole; query arguments reach the handler
 * decoded. Runs on Linux and under wine. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_httpd.h"
#include "ts_log.h"

static apr_pool_t *pool;
static ts_httpd_t *httpd;
static const char *logpath;
static int port;

/* /big: one byte over the client's limit; /fits: at its limit; /query:
 * the argument "q". */
static void
handler(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        apr_pool_t *p)
{
  (void)baton;
  reply->content_type = "text/plain";
  if (strcmp(req->url, "/big") == 0 || strcmp(req->url, "/fits") == 0) {
    apr_size_t n = TS_HTTP_CLIENT_MAX_BODY + (req->url[1] == 'b');
    char *body = apr_palloc(p, n + 1);
    memset(body, 'x', n);
    body[n] = '\0';
    reply->body = body;
  }
  else if (strcmp(req->url, "/query") == 0) {
    const char *q = ts_http_query(req, "q");
    reply->body = q ? apr_pstrdup(p, q) : "(none)";
  }
  else
    reply->status = 404;
}

/* A port free now. */
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

static void
setup(void)
{
  const char *tmp;
  ts_log_t *log;
  apr_array_header_t *loopback;

  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  logpath = apr_psprintf(pool, "%s/tessera-test-http-%d.log", tmp,
                         (int)(apr_time_now() % 1000000));
  cr_assert_null(ts_log_open(&log, logpath, 0, 0, pool));
  loopback = apr_array_make(pool, 1, sizeof(const char *));
  APR_ARRAY_PUSH(loopback, const char *) = "127.0.0.1";
  port = free_port();
  cr_assert_null(ts_httpd_start(&httpd, "test server", port, loopback,
                                handler, NULL, NULL, log, pool));
}

static void
teardown(void)
{
  apr_pool_t *scratch;
  char *path;

  ts_httpd_stop(httpd);
  apr_pool_create(&scratch, NULL);
  path = apr_pstrdup(scratch, logpath);
  apr_pool_destroy(pool);   /* closes the log */
  apr_file_remove(path, scratch);
  apr_pool_destroy(scratch);
  apr_terminate();
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 60);

Test(http, an_answer_over_the_limit_is_an_error_not_cut_short)
{
  const char *body = NULL;
  int status = 0;
  ts_error_t *err = ts_http_get(&status, &body, "127.0.0.1", port, "/big",
                                apr_time_from_sec(5), pool);
  const char *text;

  cr_assert_not_null(err, "a body over the limit was taken (%d bytes)",
                     body ? (int)strlen(body) : -1);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, "answered GET /big with more than 1024 KiB"), "%s",
            text);
  cr_assert(strstr(text, apr_psprintf(pool, "127.0.0.1 port %d", port)),
            "%s", text);
  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  ts_error_clear(err);
}

Test(http, an_answer_at_the_limit_arrives_whole)
{
  const char *body = NULL;
  int status = 0;

  cr_assert_null(ts_http_get(&status, &body, "127.0.0.1", port, "/fits",
                             apr_time_from_sec(5), pool));
  cr_assert_eq(status, 200);
  cr_assert_eq(strlen(body), TS_HTTP_CLIENT_MAX_BODY);
  cr_assert_eq(strspn(body, "x"), TS_HTTP_CLIENT_MAX_BODY);
}

Test(http, query_arguments_reach_the_handler_decoded)
{
  const char *body = NULL;
  int status = 0;

  cr_assert_null(ts_http_get(&status, &body, "127.0.0.1", port,
                             "/query?q=a%20b&r=1", apr_time_from_sec(5),
                             pool));
  cr_assert_eq(status, 200);
  cr_assert_str_eq(body, "a b");
  cr_assert_null(ts_http_get(&status, &body, "127.0.0.1", port, "/query",
                             apr_time_from_sec(5), pool));
  cr_assert_str_eq(body, "(none)");
}

/* The fuzzing harnesses answer requests without a connection: their
 * query arguments must reach the handler as libmicrohttpd's do. */
Test(http, query_arguments_answered_locally_are_decoded_as_over_a_connection)
{
  static const char *const queries[] = {
    "q=a%20b&r=1", "q=a+b%2Bc", "r=1&q=x&q=y", "q", "q=", "q=%zz%4",
    "q=%41%62&", "&&q=1", "x=%3D&q=%26%3D",
  };

  for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
    ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                              NULL, 0 };
    ts_http_request_t req = { 0 };
    const char *body = NULL;
    int status = 0;

    cr_assert_null(ts_http_get(&status, &body, "127.0.0.1", port,
                               apr_pstrcat(pool, "/query?", queries[i],
                                           NULL), apr_time_from_sec(5),
                               pool));
    req.method = "GET";
    req.url = "/query";
    req.client = "127.0.0.1";
    req.body = "";
    ts_http_answer_local(&reply, handler, NULL, &req, queries[i], pool);
    cr_assert_str_eq(reply.body, body, "?%s: '%s' locally, '%s' over a "
                     "connection", queries[i], reply.body, body);
  }
}

#ifndef _WIN32
/* ---- whole sentences (issue 16) ------------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: a client is answered in the server's language, and a
 * port taken on every address is told in a sentence of its own. */
#include "pseudo_lang.h"

Test(http, a_body_too_large_is_answered_in_the_servers_language)
{
  const char *body = NULL;
  char *big = apr_palloc(pool, TS_HTTP_MAX_BODY + 2);
  int status = 0;

  pseudo_lang_speak(pool);
  memset(big, 'x', TS_HTTP_MAX_BODY + 1);
  big[TS_HTTP_MAX_BODY + 1] = '\0';
  cr_assert_null(ts_http_call(&status, &body, "127.0.0.1", port, "POST",
                              "/query", big, NULL, apr_time_from_sec(5),
                              pool));
  cr_assert_eq(status, 413, "%d %s", status, body);
  cr_assert_str_eq(body, "{\"error\":\"THE REQUEST BODY IS LARGER THAN "
                   "65536 BYTES\"}\n");
}

Test(http, a_port_taken_on_every_address_is_told_in_whole_sentences)
{
  ts_httpd_t *second = NULL;
  ts_error_t *err;
  const char *text, *leak;

  pseudo_lang_speak(pool);
  err = ts_httpd_start(&second, "test server", port, NULL, handler, NULL,
                       NULL, NULL, pool);
  cr_assert_not_null(err, "port %d taken twice", port);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "(EVERY ADDRESS)"), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ "test server",
                          "sport", "netstat -ano", "findstr",
                          "Address already in use", NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}
#endif
