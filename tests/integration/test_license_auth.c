/* test_license_auth.c: who may change what, against the real tesserad
 * (Linux): a session is acted on only with the token its checkout
 * returned; model servers, proxies and project license servers prove
 * themselves with the server credential (made by the server's first
 * start or `tessera-admin credential init`); proxies that stop reporting
 * expire. The throttling of the prober and of password checks is
 * test_license_throttle.c. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "run.h"
#include "ts_httpd.h"
#include "ts_log.h"

#include "license_fixture.h"

TestSuite(license_auth, .init = lf_setup, .fini = lf_teardown,
          .timeout = 120);

static const char *
bearer(const char *token)
{
  return apr_psprintf(tp, "Authorization: Bearer %s\r\n", token);
}

/* Check a seat out for USER: its id and token. */
static void
checkout(char *id, char *token, const char *user, const char *server_id)
{
  char body[1024];
  const char *t;
  const char *json = apr_psprintf(tp, "{\"product\":\"demo\",\"user\":"
    "\"%s\",\"host\":\"ws1\",\"pid\":7,\"application\":\"modeler\"%s%s%s}",
    user, server_id ? ",\"model_server\":\"" : "",
    server_id ? server_id : "", server_id ? "\"" : "");

  cr_assert_eq(run_http(port, "POST", "/v1/sessions", json, NULL, body,
                        sizeof(body)), 201, "%s", body);
  cr_assert_eq(sscanf(body, "{\"id\":\"%24[0-9a-f]\"", id), 1, "%s", body);
  t = strstr(body, "\"token\":\"");
  cr_assert_not_null(t, "the checkout answer has no token: %s", body);
  cr_assert_eq(sscanf(t + 9, "%64[0-9a-f]", token), 1, "%s", body);
  cr_assert_eq(strlen(token), 64, "%s", body);
}

Test(license_auth, sessions_belong_to_their_holder)
{
  char a[32], ta[80], b[32], tb[80], body[8192], other[1024];
  const char *hb, *del;
  char *audit;

  start_server();
  checkout(a, ta, "ada", NULL);
  checkout(b, tb, "bob", NULL);
  hb = apr_psprintf(tp, "/v1/sessions/%s/heartbeat", a);
  del = apr_psprintf(tp, "/v1/sessions/%s", a);

  /* others see the ids, never a token */
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, a) && strstr(body, b), "%s", body);
  cr_assert_null(strstr(body, ta), "the list shows a token: %s", body);
  cr_assert_null(strstr(body, "token"), "%s", body);

  /* without a token: 401 saying how to send it */
  cr_assert_eq(run_http_from(NULL, port, "PUT", hb, NULL, NULL, body,
                             sizeof(body)), 401, "%s", body);
  cr_assert(strstr(body, "WWW-Authenticate: Bearer"), "%s", body);
  cr_assert(strstr(body, "Authorization: Bearer <token>"), "%s", body);
  cr_assert_eq(run_http(port, "DELETE", del, NULL, NULL, body,
                        sizeof(body)), 401, "%s", body);

  /* another session's token: the answer of an unknown session */
  cr_assert_eq(run_http(port, "PUT", hb, NULL, bearer(tb), body,
                        sizeof(body)), 404, "%s", body);
  cr_assert_eq(run_http(port, "PUT", "/v1/sessions/0123456789abcdef"
                        "01234567/heartbeat", NULL, bearer(ta), other,
                        sizeof(other)), 404, "%s", other);
  cr_assert_str_eq(strstr(body, a) + strlen(a),
                   strstr(other, "01234567 ") + 8,
                   "a wrong token and an unknown id are told apart");
  cr_assert_eq(run_http(port, "DELETE", del, NULL, bearer(tb), body,
                        sizeof(body)), 404, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"used\":2"), "a stranger checked in: %s", body);

  /* the holder's own token */
  cr_assert_eq(run_http(port, "PUT", hb, NULL, bearer(ta), body,
                        sizeof(body)), 200, "%s", body);
  cr_assert_eq(run_http(port, "DELETE", del, NULL, bearer(ta), body,
                        sizeof(body)), 200, "%s", body);
  cr_assert_eq(run_http(port, "DELETE", del, NULL, bearer(ta), body,
                        sizeof(body)), 404, "%s", body);

  /* the audit log (and the bus, which carries the same lines) names
   * sessions by id only */
  audit = run_read_file(in_root(apr_psprintf(tp,
                                "lic/logs/license.%d/audit.jsonl", port)));
  cr_assert(strstr(audit, a), "%s", audit);
  cr_assert_null(strstr(audit, ta), "the audit log shows a token");
  cr_assert_null(strstr(audit, tb), "the audit log shows a token");
  free(audit);
}

/* A stand-in model server that answers GET /health. */
static void
model_health(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, apr_pool_t *pool)
{
  (void)baton;
  (void)req;
  (void)pool;
  reply->body = "{\"status\":\"ok\",\"role\":\"model\"}";
}

static ts_httpd_t *
start_model(int *mport)
{
  ts_log_t *log;
  ts_httpd_t *model;

  *mport = run_free_port();
  cr_assert_null(ts_log_open(&log, in_root("model.log"), 0, 0, tp));
  cr_assert_null(ts_httpd_start(&model, "model server", *mport, NULL,
                                model_health, NULL, NULL, log, tp));
  return model;
}

static const char *
registration(const char *repository, const char *model, int mport)
{
  return apr_psprintf(tp, "{\"repository\":\"%s\",\"models\":[\"%s\"],"
                      "\"host\":\"127.0.0.1\",\"port\":%d,\"pid\":1,"
                      "\"license_server\":\"localhost.%d\"}", repository,
                      model, mport, port);
}

/* Where a client is sent for model m1: "direct" or "proxy". */
static int
via_proxy(void)
{
  char body[1024];

  cr_assert_eq(run_http(port, "GET", "/v1/models/m1", NULL, NULL, body,
                        sizeof(body)), 200, "%s", body);
  return strstr(body, "\"via\":\"proxy\"") != NULL;
}

Test(license_auth, servers_prove_themselves_with_the_credential)
{
  const char *wrong = "Authorization: Tessera "
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n";
  const char *basic = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";
  const char *ms, *key = in_root("params/server.key"), *proxy;
  char body[4096], id[32], token[80];
  int mport;
  struct stat st;
  char *log;

  start_server();
  cr_assert_eq(stat(key, &st), 0, "no %s", key);
  cr_assert_eq(st.st_mode & 077, 0, "%s is not owner-only", key);
  log = run_read_file(in_root(apr_psprintf(tp, "lic/logs/license.%d/"
                                           "license.log", port)));
  cr_assert(strstr(log, apr_psprintf(tp, "created the server credential "
                                     "%s", key)), "%s", log);
  free(log);
  start_model(&mport);
  ms = apr_psprintf(tp, "127.0.0.1:%d", mport);

  /* strangers: no credential, a wrong one, the administrator's kind */
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("plant", "m1", mport), NULL, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert(strstr(body, "Authorization: Tessera <token>"), "%s", body);
  cr_assert(strstr(body, key), "the answer names no file: %s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("plant", "m1", mport), wrong, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert(strstr(body, "is not derived from this installation's server "
                   "credential"), "%s", body);
  cr_assert(strstr(body, key), "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("plant", "m1", mport), basic, body,
                        sizeof(body)), 401, "%s", body);

  /* the real one, and a seat used with it */
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("plant", "m1", mport), server_header(),
                        body, sizeof(body)), 201, "%s", body);
  checkout(id, token, "ada", ms);

  /* a stranger can neither replace it, nor free its seats, nor beat for
   * it */
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("fake", "m1", mport), NULL, body,
                        sizeof(body)), 401);
  cr_assert_eq(run_http(port, "DELETE", apr_psprintf(tp, "/v1/model-"
                        "servers/%s", ms), NULL, wrong, body, sizeof(body)),
               401, "%s", body);
  cr_assert_eq(run_http(port, "PUT", apr_psprintf(tp, "/v1/model-servers/"
                        "%s/heartbeat", ms), NULL, NULL, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, id), "a stranger freed the seat: %s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"repository\":\"plant\""), "%s", body);

  /* proxies: only with the credential, and DELETE /v1/proxies/<host> */
  proxy = "{\"host\":\"127.0.0.1\",\"port\":40005}";
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", proxy, NULL, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert_not(via_proxy(), "a stranger's proxy is offered");
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", proxy, server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(strstr(body, "\"report_seconds\":1,\"expires_after_seconds\""
                   ":2"), "%s", body);
  cr_assert(via_proxy());
  cr_assert_eq(run_http(port, "DELETE", "/v1/proxies/127.0.0.1", NULL, NULL,
                        body, sizeof(body)), 401, "%s", body);
  cr_assert(via_proxy());
  cr_assert_eq(run_http(port, "DELETE", "/v1/proxies/127.0.0.1", NULL,
                        server_header(), body, sizeof(body)), 200, "%s",
               body);
  cr_assert_not(via_proxy());
  cr_assert_eq(run_http(port, "DELETE", "/v1/proxies/127.0.0.1", NULL,
                        server_header(), body, sizeof(body)), 404, "%s",
               body);

  /* notification services: the same, on /v1/notifiers; /v1/status lists
   * a machine's proxy and notification service apart */
  cr_assert_eq(run_http(port, "POST", "/v1/notifiers", "{\"host\":"
                        "\"127.0.0.1\",\"port\":40004}", NULL, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/notifiers", "{\"host\":"
                        "\"127.0.0.1\",\"port\":40004}", server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", proxy, server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "{\"kind\":\"notify\",\"host\":\"127.0.0.1\","
                   "\"port\":40004}"), "%s", body);
  cr_assert(strstr(body, "{\"kind\":\"proxy\",\"host\":\"127.0.0.1\","
                   "\"port\":40005}"), "%s", body);
  cr_assert_eq(run_http(port, "DELETE", "/v1/notifiers/127.0.0.1", NULL,
                        server_header(), body, sizeof(body)), 200, "%s",
               body);
  cr_assert(via_proxy(), "the proxy stays when the notification service "
            "stops");
  cr_assert_eq(run_http(port, "DELETE", "/v1/notifiers/127.0.0.1", NULL,
                        server_header(), body, sizeof(body)), 404, "%s",
               body);
  cr_assert(strstr(body, "notification service"), "%s", body);
  cr_assert_eq(run_http(port, "DELETE", "/v1/proxies/127.0.0.1", NULL,
                        server_header(), body, sizeof(body)), 200, "%s",
               body);

  /* project license servers: the credential, and ##.# only */
  cr_assert_eq(run_http(port, "POST", "/v1/projects", "{\"version\":"
                        "\"26.1\",\"host\":\"h\",\"port\":30000}", NULL,
                        body, sizeof(body)), 401, "%s", body);
  for (int i = 0; i < 3; i++) {
    const char *bad[] = { "ab.c", "2.61", "26.1\\n" };
    cr_assert_eq(run_http(port, "POST", "/v1/projects", apr_psprintf(tp,
                          "{\"version\":\"%s\",\"host\":\"h\",\"port\":"
                          "30000}", bad[i]), server_header(), body,
                          sizeof(body)), 400, "%s: %s", bad[i], body);
  }
  cr_assert_eq(run_http(port, "POST", "/v1/projects", "{\"version\":"
                        "\"26.1\",\"host\":\"h/x\",\"port\":30000}",
                        server_header(), body, sizeof(body)), 400);
  cr_assert_eq(run_http(port, "POST", "/v1/projects", "{\"version\":"
                        "\"26.1\",\"host\":\"h\",\"port\":30000}",
                        server_header(), body, sizeof(body)), 200, "%s",
               body);

  /* the registered one's own unregistration frees its seat */
  cr_assert_eq(run_http(port, "DELETE", apr_psprintf(tp, "/v1/model-"
                        "servers/%s", ms), NULL, server_header(), body,
                        sizeof(body)), 200, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"sessions\":[]"), "%s", body);
}

Test(license_auth, credential_init_creates_once_and_says_how_to_share)
{
  const char *argv[] = { TESSERA_ADMIN, "credential", "init", NULL };
  const char *key = in_root("params/server.key");
  run_result_t r;
  char *first, *again;

  r = run(argv, env(), NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, apr_psprintf(tp, "created the server credential "
                                       "%s", key)), "%s", r.out);
  cr_assert(strstr(r.out, "scp -p"), "%s", r.out);
  run_free(&r);
  first = run_read_file(key);
  cr_assert_gt(strlen(first), 40);
  r = run(argv, env(), NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "kept the existing server credential"), "%s",
            r.out);
  run_free(&r);
  again = run_read_file(key);
  cr_assert_str_eq(again, first, "init replaced the key");
  free(again);
  /* the server uses it as it is */
  start_server();
  again = run_read_file(key);
  cr_assert_str_eq(again, first, "the server replaced the key");
  free(again);
  free(first);
}

Test(license_auth, proxies_that_stop_reporting_expire)
{
  char body[1024];
  int mport, expired = 0;

  start_server();
  start_model(&mport);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers",
                        registration("plant", "m1", mport), server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", "{\"host\":"
                        "\"127.0.0.1\",\"port\":40005}", server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(via_proxy());
  /* it never reports again: gone-after is 2 s */
  for (int i = 0; i < 40 && !expired; i++) {
    usleep(250000);
    expired = !via_proxy();
  }
  cr_assert(expired, "a proxy that stopped reporting is still offered");
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"proxies\":0"), "%s", body);
}


/* Bad registrations are refused, with the credential too. */
Test(license_auth, registry_refuses_bad_input)
{
  char body[4096];

  start_server();
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", "{\"repo",
                        server_header(), body, sizeof(body)), 400);
  cr_assert(strstr(body, "not valid JSON"), "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", "{\"repository\":"
                        "\"a b\",\"models\":[\"m\"],\"host\":\"h\",\"port\":1,"
                        "\"pid\":1,\"license_server\":\"x\"}",
                        server_header(), body, sizeof(body)), 400, "%s",
               body);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", "{\"repository\":"
                        "\"r\",\"models\":[\"m\"],\"links\":{\"l\":\"other\"},"
                        "\"host\":\"h\",\"port\":1,\"pid\":1,"
                        "\"license_server\":\"x\"}", server_header(),
                        body, sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "must name one of this server's models"), "%s",
            body);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", "{\"product\":\"demo\","
                        "\"user\":\"u\",\"host\":\"h\",\"pid\":1,"
                        "\"application\":\"a\",\"model_server\":\"nope:1\"}",
                        NULL, body, sizeof(body)), 404, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/models/none", NULL, NULL, body,
                        sizeof(body)), 404);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", "repository=r",
                        apr_pstrcat(tp, server_header(), "Content-Type: "
                                    "application/x-www-form-urlencoded\r\n",
                                    NULL), body, sizeof(body)), 415, "%s",
               body);
  cr_assert(strstr(body, "takes Content-Type: application/json"), "%s",
            body);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", "{\"product\":"
                        "\"demo\",\"user\":\"u\",\"host\":\"h\",\"pid\":1,"
                        "\"application\":\"a\"}", "Content-Type: "
                        "text/plain\r\n", body, sizeof(body)), 415, "%s",
               body);
  /* a host that does not resolve here could be reached by nobody */
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", "{\"repository\":"
                        "\"r\",\"models\":[\"m\"],\"host\":"
                        "\"no-such-host.invalid\",\"port\":1,\"pid\":1,"
                        "\"license_server\":\"x\"}", server_header(), body,
                        sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "does not resolve"), "%s", body);
}
