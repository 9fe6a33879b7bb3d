/* test_http_probe.c: concurrent probes (ts_http_probe.h): a server that
 * answers is reported while others that accept and never answer are
 * still pending; those fail at their own deadline, all together, not one
 * after the other; a wake from another thread ends a wait at once. */
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_http_probe.h"
#include "ts_httpd.h"
#include "ts_log.h"

static apr_pool_t *pool;

static void
setup(void)
{
  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&pool, NULL);
}

static void
teardown(void)
{
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(http_probe, .init = setup, .fini = teardown, .timeout = 30);

/* A listening socket on 127.0.0.1 nobody accepts from: connections
 * complete into the backlog and are never answered. Its port. */
static int
tarpit(void)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;

  cr_assert_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0,
                                     pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                 pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_bind(s, sa), APR_SUCCESS);
  cr_assert_eq(apr_socket_listen(s, 16), APR_SUCCESS);
  cr_assert_eq(apr_socket_addr_get(&sa, APR_LOCAL, s), APR_SUCCESS);
  return sa->port;
}

static void
health(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *p)
{
  (void)baton;
  (void)req;
  (void)p;
  reply->body = "{\"status\":\"ok\"}";
}

typedef struct results_t {
  int answered, silent;
  apr_time_t last;
} results_t;

static void
done(void *baton, const char *key, apr_int64_t tag, int status)
{
  results_t *r = baton;

  if (strcmp(key, "live") == 0) {
    cr_assert_eq(status, 200);
    cr_assert_eq(tag, 42);
    r->answered++;
  }
  else {
    cr_assert_eq(status, 0, "%s answered %d", key, status);
    r->silent++;
  }
  r->last = apr_time_now();
}

Test(http_probe, silent_servers_fail_together_at_their_deadline)
{
  enum { SILENT = 6 };
  ts_http_probes_t *probes;
  ts_httpd_t *live;
  ts_log_t *log;
  results_t r = { 0, 0, 0 };
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  apr_time_t began;
  const char *tmp;
  apr_array_header_t *loopback;
  int live_port;

  apr_temp_dir_get(&tmp, pool);

  /* a free port for the live server: bind to 0, learn it, let it go */
  apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool);
  apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool);
  cr_assert_eq(apr_socket_bind(s, sa), APR_SUCCESS);
  apr_socket_addr_get(&sa, APR_LOCAL, s);
  live_port = sa->port;
  apr_socket_close(s);
  cr_assert_null(ts_log_open(&log, apr_psprintf(pool, "%s/tessera-probe-%d"
                                                ".log", tmp, (int)getpid()),
                             0, 0, pool));
  /* on the address the port was free on (every address would also need
   * it free on ::, where another test's socket may hold it) */
  loopback = apr_array_make(pool, 1, sizeof(const char *));
  APR_ARRAY_PUSH(loopback, const char *) = "127.0.0.1";
  cr_assert_null(ts_httpd_start(&live, "live", live_port, loopback, health,
                                NULL, NULL, log, pool));

  cr_assert_null(ts_http_probes_create(&probes));
  began = apr_time_now();
  for (int i = 0; i < SILENT; i++)
    cr_assert_null(ts_http_probes_add(probes, "127.0.0.1", tarpit(),
                                      "/health", apr_time_from_msec(800),
                                      apr_psprintf(pool, "silent%d", i), i));
  cr_assert_null(ts_http_probes_add(probes, "127.0.0.1", live_port,
                                    "/health", apr_time_from_msec(800),
                                    "live", 42));
  cr_assert_eq(ts_http_probes_pending(probes), SILENT + 1);
  while (!r.answered && apr_time_now() - began < apr_time_from_sec(5))
    ts_http_probes_run(probes, apr_time_from_msec(100), done, &r);
  cr_assert_eq(r.answered, 1);
  cr_assert_eq(r.silent, 0, "the silent ones ended before the live one");
  while (r.silent < SILENT && apr_time_now() - began < apr_time_from_sec(10))
    ts_http_probes_run(probes, apr_time_from_msec(100), done, &r);
  cr_assert_eq(r.silent, SILENT);
  cr_assert_eq(ts_http_probes_pending(probes), 0);
  /* together: one after the other they would take 6 x 0.8 s */
  cr_assert_lt(r.last - began, apr_time_from_msec(2500), "took %d ms",
               (int)apr_time_as_msec(r.last - began));
  ts_http_probes_destroy(probes);
  ts_httpd_stop(live);
  apr_file_remove(apr_psprintf(pool, "%s/tessera-probe-%d.log", tmp,
                               (int)getpid()), pool);
}

static void *APR_THREAD_FUNC
waker(apr_thread_t *t, void *data)
{
  apr_sleep(apr_time_from_msec(100));
  ts_http_probes_wake(data);
  (void)t;
  return NULL;
}

static void
unexpected(void *baton, const char *key, apr_int64_t tag, int status)
{
  (void)baton;
  (void)tag;
  cr_assert_fail("%s reported %d before its deadline", key, status);
}

Test(http_probe, a_wake_ends_the_wait_and_destroy_abandons_probes)
{
  ts_http_probes_t *probes;
  apr_thread_t *t;
  apr_status_t ignored;
  apr_time_t began;

  cr_assert_null(ts_http_probes_create(&probes));
  cr_assert_null(ts_http_probes_add(probes, "127.0.0.1", tarpit(), "/health",
                                    apr_time_from_sec(20), "silent", 1));
  began = apr_time_now();
  cr_assert_eq(apr_thread_create(&t, NULL, waker, probes, pool),
               APR_SUCCESS);
  ts_http_probes_run(probes, apr_time_from_sec(20), unexpected, NULL);
  apr_thread_join(&ignored, t);
  cr_assert_lt(apr_time_now() - began, apr_time_from_sec(5),
               "the wake did not end the wait");
  cr_assert_eq(ts_http_probes_pending(probes), 1);
  ts_http_probes_destroy(probes);    /* the probe under way is dropped */
}
