/* test_license_failures.c: failures that used to go unseen, through the
 * real tesserad (Linux): a count of seats the session store cannot answer
 * (another process holds its write lock) and an audit record the audit
 * log cannot take (its file is /dev/full). Each must show as what it is
 * (unknown, not 0), be logged, and be counted on /metrics. The audit
 * test makes a device node, which needs root (CI runs as root). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "run.h"

static char root[] = "/tmp/tessera-failures-XXXXXX";
static char env_host[64], env_lic[320], env_home[320];
static int port;
static pid_t server = -1;
static apr_pool_t *tp;          /* the test's pool */

static const char *
in_root(const char *rel)
{
  return apr_pstrcat(tp, root, "/", rel, NULL);
}

static const char *const *
env(void)
{
  static const char *e[6];

  e[0] = "PATH=/usr/bin:/bin";
  e[1] = env_host;
  e[2] = env_lic;
  e[3] = env_home;
  e[4] = "ASAN_OPTIONS=detect_leaks=0";
  e[5] = NULL;
  return e;
}

static void
admin_ok(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  run_result_t r;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  r = run(argv, env(), NULL);
  cr_assert_eq(r.status, 0, "%s: %s", args[0], r.err);
  run_free(&r);
}

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&tp, NULL);
  cr_assert_not_null(mkdtemp(root));
  /* as root, the bus broker runs as the service account or nobody, which
   * must reach INOLIC inside */
  cr_assert_eq(chmod(root, 0711), 0);
  port = run_free_port();
  snprintf(env_host, sizeof(env_host), "INOHOST=localhost.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s/lic", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             in_root("demo.lic"), NULL });
  admin_ok((const char *[]){ "license", "import", in_root("demo.lic"),
                             NULL });
  run_write_file(in_root("lic/tessera.xml"), "<tessera xmlns=\"urn:tessera:"
                 "config:1\">\n  <listen address=\"127.0.0.1\"/>\n"
                 "</tessera>\n");
}

static void
teardown(void)
{
  char cmd[300];

  if (server > 0) {
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    server = -1;
  }
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_pool_destroy(tp);
  apr_terminate();
}

TestSuite(license_failures, .init = setup, .fini = teardown,
          .timeout = 120);

/* tesserad license, answering /health; its stderr in ROOT/server.err. */
static void
start(void)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *err = in_root("server.err");
  const char *const *e = env();

  server = fork();
  if (server == 0) {
    freopen(err, "w", stderr);
    execve(argv[0], (char *const *)argv, (char *const *)e);
    _exit(127);
  }
  for (int i = 0; i < 300; i++) {
    if (run_http(port, "GET", "/health", NULL, NULL, NULL, 0) == 200)
      return;
    usleep(20000);
  }
  cr_assert_fail("tesserad did not answer on port %d: %s", port,
                 run_read_file(err));
}

static const char checkout_json[] =
  "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
  "\"application\":\"modeler\"}";

/* The server's log. */
static char *
server_log(void)
{
  return run_read_file(apr_psprintf(tp, "%s/lic/logs/license.%d/"
                                    "license.log", root, port));
}

/* A count of seats the session store cannot answer (another process holds
 * its write lock) is shown as unknown, not as 0, with why; it is logged
 * and counted on /metrics; the next count is right again. */
static void *
get_metrics(void *body)
{
  run_http(port, "GET", "/metrics", NULL, NULL, body, 1 << 16);
  return NULL;
}

Test(license_failures, a_failed_seat_count_is_unknown_not_zero)
{
  static char body[1 << 16], metrics[1 << 16];
  pthread_t t;
  sqlite3 *db;
  char *log;

  start();
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(sqlite3_open(in_root("lic/sessions.db"), &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
               SQLITE_OK, "%s", sqlite3_errmsg(db));
  /* both at once: their counts wait out the lock in one batch */
  pthread_create(&t, NULL, get_metrics, metrics);
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200, "%s", body);
  pthread_join(t, NULL);
  cr_assert(strstr(body, "\"used\":null"), "%s", body);
  cr_assert(strstr(body, "\"error\":\""), "%s", body);
  cr_assert_null(strstr(body, "\"used\":0"), "%s", body);
  cr_assert_null(strstr(metrics, "tessera_license_seats_used{"), "a count "
                 "that failed has a sample: %s", metrics);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
  cr_assert_eq(run_http(port, "GET", "/metrics", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert_null(strstr(body, "\ntessera_license_seat_count_failures_total "
                        "0\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_license_seat_count_failures_total "),
            "%s", body);
  log = server_log();
  cr_assert(strstr(log, "counting the seats of demo in use failed"), "%s",
            log);
  free(log);
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"used\":1"), "%s", body);
}

/* An audit record the audit log cannot take (its file is /dev/full) goes
 * to the server's log instead, and /metrics counts it; the checkout
 * itself stands. */
Test(license_failures, an_audit_record_that_cannot_be_written_is_kept_and_counted)
{
  static char body[1 << 16];
  const char *dir = in_root(apr_psprintf(tp, "lic/logs/license.%d", port));
  char *log;

  /* /dev/full's own device node (needs root), not a link to it: the
   * server refuses to write through a link */
  cr_assert_eq(system(apr_psprintf(tp, "mkdir -p '%s' && mknod "
                                   "'%s/audit.jsonl' c 1 7", dir, dir)), 0);
  start();
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/metrics", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\ntessera_audit_write_failures_total 1\n"), "%s",
            body);
  log = server_log();
  cr_assert(strstr(log, "the audit log lost a record: cannot write to"),
            "%s", log);
  cr_assert(strstr(log, "the disk is full"), "%s", log);
  cr_assert(strstr(log, "the record, kept here instead: {\"time\":"),
            "%s", log);
  cr_assert(strstr(log, "\"event\":\"checkout\",\"session\":"), "%s", log);
  free(log);
}
