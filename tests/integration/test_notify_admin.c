/* test_notify_admin.c: `tessera-admin notify` and the subscription routes
 * (/v1/subscriptions) of the notification service's mail part, served by
 * mail_child on p+4 beside a real license server, which checks the
 * administrator's password for it: subscribe, list, unsubscribe; the
 * exit statuses (65 bad input, 69 service down, 77 wrong password); the
 * routes' clear 400/401/404/422 answers. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_strings.h>
#include <jansson.h>

#include "license_fixture.h"

#define PASSWORD "notify-test-pass"
#define BASIC "Authorization: Basic dGVzdGVyOm5vdGlmeS10ZXN0LXBhc3M=\r\n"
#define WRONG "Authorization: Basic dGVzdGVyOndyb25n\r\n"

static apr_proc_t service;
static int serving;

static void
setup(void)
{
  lf_options_t o = { .name = "notify", .asan = "detect_leaks=0",
                     .config = lf_plain_config, .stop_signal = SIGTERM };
  const char *argv[] = { MAIL_CHILD, NULL, NULL, "serve", NULL, NULL };

  lf_setup_with(&o);
  argv[1] = in_root("notify");
  argv[2] = in_root("none.xml");
  start_server();
  run_write_file(in_root("pw"), PASSWORD "\n" PASSWORD "\n");
  cr_assert_eq(system(apr_psprintf(tp, "env %s %s %s %s %s license passwd "
                                   "--stdin < %s >/dev/null 2>&1",
                                   env()[1], env()[2], env()[3], env()[4],
                                   TESSERA_ADMIN, in_root("pw"))), 0);
  run_write_file(in_root("pw"), PASSWORD "\n");
  run_write_file(in_root("wrong"), "wrong\n");
  /* the notification service's port: p+4, where tessera-admin looks */
  argv[4] = apr_itoa(tp, port + 4);
  run_start(&service, argv, env(), in_root("notify.out"), tp);
  serving = 1;
  for (int i = 0; i < 500; i++) {
    char *t = run_read_file(in_root("notify.out"));
    int up = strstr(t, "serving") != NULL;
    free(t);
    if (up)
      return;
    apr_sleep(apr_time_from_msec(20));
  }
  cr_assert_fail("mail_child did not serve: %s",
                 run_read_file(in_root("notify.out")));
}

static void
teardown(void)
{
  int code;
  apr_exit_why_e why;

  if (serving) {
    apr_proc_kill(&service, SIGTERM);
    apr_proc_wait(&service, &code, &why, APR_WAIT);
  }
  lf_teardown();
}

TestSuite(notify_admin, .init = setup, .fini = teardown, .timeout = 120);

/* tessera-admin notify ARGS, the password from the file PW. */
static run_result_t
notify(const char *pw, const char *const *args)
{
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  const char *cmd = apr_psprintf(tp, "exec %s notify --password-stdin --as "
                                 "tester", TESSERA_ADMIN);

  for (int i = 0; args[i]; i++)
    cmd = apr_psprintf(tp, "%s '%s'", cmd, args[i]);
  argv[2] = apr_pstrcat(tp, cmd, " < ", in_root(pw), NULL);
  return run(argv, env(), NULL);
}

Test(notify_admin, subscribe_list_and_unsubscribe)
{
  run_result_t r;
  json_t *j;

  r = notify("pw", (const char *const[]){ "subscribe", "alice",
             "bridge@v1/42", "--every", "daily", "--mail",
             "alice@example.com", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "alice is subscribed to bridge@v1/42 (daily) at "
                   "alice@example.com: subscription 1"), "%s", r.out);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "subscribe", "alice", "bridge",
             "--mail", "alice@example.com", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "bridge (immediate)"), "%s", r.out);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "subscribe", "bob", "bridge@v2",
             "--every", "weekly", "--mail", "bob@example.com", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "list", "alice", "--json", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  j = json_loads(r.out, 0, NULL);
  cr_assert_eq(json_array_size(json_object_get(j, "subscriptions")), 2, "%s",
               r.out);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
    json_object_get(j, "subscriptions"), 0), "target")), "bridge@v1/42");
  json_decref(j);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "list", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "TARGET") && strstr(r.out, "bob@example.com")
            && strstr(r.out, "bridge@v1/42"), "%s", r.out);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "unsubscribe", "alice",
             "bridge@v1/42", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "1 subscription removed"), "%s", r.out);
  run_free(&r);
  /* not there any more: bad input */
  r = notify("pw", (const char *const[]){ "unsubscribe", "alice",
             "bridge@v1/42", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "alice has no subscription to bridge@v1/42"), "%s",
            r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "unsubscribe", "--id", "3", NULL });
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "list", "--json", NULL });
  j = json_loads(r.out, 0, NULL);
  cr_assert_eq(json_array_size(json_object_get(j, "subscriptions")), 1, "%s",
               r.out);
  json_decref(j);
  run_free(&r);
}

Test(notify_admin, bad_input_a_wrong_password_and_no_service)
{
  run_result_t r;

  r = notify("pw", (const char *const[]){ "subscribe", "alice", "bridge",
             "--mail", "alice at example.com", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "HTTP 422") && strstr(r.err, "character an "
                   "address we send to may not"), "%s", r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "subscribe", "alice", "bri dge",
             "--mail", "alice@example.com", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "is not a valid model name"), "%s", r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "subscribe", "alice", "bridge",
             "--every", "hourly", "--mail", "alice@example.com", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "\"every\" must be immediate, daily, weekly or "
                   "monthly, not 'hourly'"), "%s", r.err);
  run_free(&r);
  r = notify("wrong", (const char *const[]){ "list", NULL });
  cr_assert_eq(r.status, 77, "%s%s", r.out, r.err);
  run_free(&r);
  r = notify("pw", (const char *const[]){ "list", "--notify",
             apr_psprintf(tp, "127.0.0.1:%d", port + 5), NULL });
  cr_assert_eq(r.status, 69, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "the notification service on 127.0.0.1 port"),
            "%s", r.err);
  run_free(&r);
}

Test(notify_admin, the_routes_answer_bad_requests_clearly)
{
  char body[4096], head[4096];
  int p4 = port + 4;

  cr_assert_eq(run_http_headers(p4, "GET", "/v1/subscriptions", head,
                                sizeof(head)), 401);
  cr_assert(strstr(head, "WWW-Authenticate: Basic"), "%s", head);
  cr_assert_eq(run_http(p4, "GET", "/v1/subscriptions", NULL, WRONG, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":",
                        BASIC, body, sizeof(body)), 400, "%s", body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "[1]", BASIC, body,
                        sizeof(body)), 400, "%s", body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":\"a\","
                        "\"model\":\"bridge\",\"every\":\"daily\","
                        "\"mail\":\"a@example.com\",\"colour\":1}", BASIC,
                        body, sizeof(body)), 422, "%s", body);
  cr_assert(strstr(body, "unknown field \\\"colour\\\""), "%s", body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":\"a\","
                        "\"model\":\"bridge\",\"element\":-1,\"every\":"
                        "\"daily\",\"mail\":\"a@example.com\"}", BASIC, body,
                        sizeof(body)), 422, "%s", body);
  cr_assert(strstr(body, "\\\"element\\\" must be an element's id"), "%s",
            body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":\"a\","
                        "\"model\":\".x\",\"every\":\"daily\",\"mail\":"
                        "\"a@example.com\"}", BASIC, body, sizeof(body)),
               422, "%s", body);
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":\"a\","
                        "\"model\":\"bridge\",\"version\":\"v1\",\"element\":"
                        "7,\"every\":\"monthly\",\"mail\":\"a@example.com\"}",
                        BASIC, body, sizeof(body)), 201, "%s", body);
  cr_assert(strstr(body, "\"target\":\"bridge@v1/7\""), "%s", body);
  /* the same again with another frequency: changed, not added */
  cr_assert_eq(run_http(p4, "POST", "/v1/subscriptions", "{\"user\":\"a\","
                        "\"target\":\"bridge@v1/7\",\"every\":\"weekly\","
                        "\"mail\":\"a@example.com\"}", BASIC, body,
                        sizeof(body)), 200, "%s", body);
  cr_assert_eq(run_http(p4, "DELETE", "/v1/subscriptions/abc", NULL, BASIC,
                        body, sizeof(body)), 404, "%s", body);
  cr_assert_eq(run_http(p4, "DELETE", "/v1/subscriptions", NULL, BASIC, body,
                        sizeof(body)), 400, "%s", body);
  cr_assert_eq(run_http(p4, "DELETE", "/v1/subscriptions/1", NULL, BASIC,
                        body, sizeof(body)), 200, "%s", body);
  cr_assert_eq(run_http(p4, "DELETE", "/v1/subscriptions/1", NULL, BASIC,
                        body, sizeof(body)), 404, "%s", body);
}
