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
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

static const lf_options_t options = {
  .name = "failures", .asan = "detect_leaks=0",
  .config = lf_plain_config, .stop_signal = SIGTERM,
};

static void
setup(void)
{
  lf_setup_with(&options);
}

TestSuite(license_failures, .init = setup, .fini = lf_teardown,
          .timeout = 120);

static const char checkout_json[] =
  "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
  "\"application\":\"modeler\"}";

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

  start_server();
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
  log = lf_server_log();
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
  start_server();
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/metrics", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\ntessera_audit_write_failures_total 1\n"), "%s",
            body);
  log = lf_server_log();
  cr_assert(strstr(log, "the audit log lost a record: cannot write to"),
            "%s", log);
  cr_assert(strstr(log, "the disk is full"), "%s", log);
  cr_assert(strstr(log, "the record, kept here instead: {\"time\":"),
            "%s", log);
  cr_assert(strstr(log, "\"event\":\"checkout\",\"session\":"), "%s", log);
  free(log);
}
