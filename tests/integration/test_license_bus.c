/* test_license_bus.c: the license server with its bus, hub, registry and
 * administration, against the real tesserad and the real mosquitto
 * (Linux): retained state on the bus read with mosquitto_sub; the bus
 * child killed and back (who may say what on the bus, and as whom the
 * broker runs: test_bus_access.c); a model server that goes silent is
 * marked gone and its seats freed; brokering and the hub; the
 * administrator's password, force-release and the audit log; /metrics
 * through promtool;
 * tessera.xml errors; a project license server listed by the main one;
 * the broker's persistence in INOLIC when configured. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "bus_client.h"
#include "license_fixture.h"
#include "run.h"
#include "ts_httpd.h"
#include "ts_log.h"

static int project_port;
static pid_t servers[2] = { -1, -1 };
static const lf_options_t options = {
  .name = "bus", .asan = "detect_leaks=0", .stop_signal = SIGTERM,
};

static void
setup(void)
{
  char xml[1024];

  lf_setup_with(&options);
  project_port = lf_other_port();
  snprintf(xml, sizeof(xml),
           "<?xml version=\"1.0\"?>\n"
           "<tessera xmlns=\"urn:tessera:config:1\">\n"
           "  <listen address=\"127.0.0.1\"/>\n"
           "  <license-server>\n"
           "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"2\"/>\n"
           "    <project version=\"26.1\" port=\"%d\"/>\n"
           "  </license-server>\n"
           "</tessera>\n", project_port);
  run_write_file(in_root("lic/tessera.xml"), xml);
}

static void
teardown(void)
{
  for (int i = 0; i < 2; i++)
    lf_kill(&servers[i], SIGTERM);
  lf_teardown();
}

TestSuite(license_bus, .init = setup, .fini = teardown, .timeout = 120);

/* Start tesserad license [--project V] as servers[SLOT]; wait for /health
 * on PORT_. Its stderr goes to ROOT/server<SLOT>.err, shown on failure. */
static void
start(int slot, int port_, const char *project)
{
  const char *argv[] = { TESSERAD, "license", project ? "--project" : NULL,
                         project, NULL };
  const char *err = in_root(slot ? "server1.err" : "server0.err");

  cr_assert_eq(lf_start(&servers[slot], argv, env(), err, port_, 300, NULL),
               0, "tesserad ended: %s", run_read_file(err));
}

static const char checkout_json[] =
  "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
  "\"application\":\"modeler\"}";

Test(license_bus, retained_state_and_seats_on_the_bus)
{
  char body[4096];

  start(0, port, NULL);
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10),
            "no retained license state on the bus");
  cr_assert(bus_wait("products/demo", "\"used\":0", 5));
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(bus_wait("products/demo", "\"used\":1", 5),
            "the seat count on the bus did not change");
}

Test(license_bus, killed_bus_broker_comes_back)
{
  const char *pidfile = in_root("lic/logs/");
  char path[600], *before, *after = NULL;
  int back = 0;

  start(0, port, NULL);
  snprintf(path, sizeof(path), "%sbus.%d/mosquitto.pid", pidfile, port + 1);
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  before = run_read_file(path);
  cr_assert_gt(atol(before), 1, "no broker pid in %s", path);
  cr_assert_eq(kill((pid_t)atol(before), SIGKILL), 0);
  for (int i = 0; i < 60 && !back; i++) {
    usleep(250000);
    free(after);
    after = run_read_file(path);
    back = atol(after) > 1 && atol(after) != atol(before);
  }
  cr_assert(back, "the broker was not restarted (pid file: %s)", after);
  /* a broker without persistence starts empty: the server says it all
   * again on reconnect */
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10),
            "the restarted bus did not get the license state back");
  cr_assert(bus_wait("products/demo", "\"seats\":5", 5));
  free(before);
  free(after);
}

/* A stand-in model server: answers GET /health while it runs, counting
 * the probes (BATON: an int). */
static void
model_health(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, apr_pool_t *pool)
{
  (void)req;
  (void)pool;
  __atomic_add_fetch((int *)baton, 1, __ATOMIC_RELAXED);
  reply->body = "{\"status\":\"ok\",\"role\":\"model\"}";
}

Test(license_bus, silent_model_server_is_gone_and_its_seats_freed)
{
  apr_pool_t *pool;
  ts_log_t *log;
  ts_httpd_t *model;
  int mport = run_free_port(), gone = 0, probes = 0, seen;
  char json[512], body[8192], path[128], topic[128];
  char *audit;

  apr_pool_create(&pool, NULL);
  cr_assert_null(ts_log_open(&log, in_root("model.log"), 0, 0,
                             pool));
  cr_assert_null(ts_httpd_start(&model, "model server", mport, NULL,
                                model_health, &probes, NULL, log, pool));
  start(0, port, NULL);
  snprintf(json, sizeof(json), "{\"repository\":\"plant\",\"models\":"
           "[\"m1\",\"m2\"],\"links\":{\"current\":\"m1\"},\"host\":"
           "\"127.0.0.1\",\"port\":%d,\"pid\":%d,\"license_server\":"
           "\"localhost.%d\"}", mport, (int)getpid(), port);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", json,
                        server_header(), body, sizeof(body)), 201, "%s",
               body);
  snprintf(json, sizeof(json), "{\"product\":\"demo\",\"user\":\"ada\","
           "\"host\":\"ws1\",\"pid\":7,\"application\":\"modeler\","
           "\"model_server\":\"127.0.0.1:%d\"}", mport);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", json, NULL, body,
                        sizeof(body)), 201, "%s", body);

  /* brokering: direct, then through the host's proxy; the hub resolves */
  cr_assert_eq(run_http(port, "GET", "/v1/models/m2", NULL, NULL, body,
                        sizeof(body)), 200, "%s", body);
  snprintf(json, sizeof(json), "\"via\":\"direct\",\"host\":\"127.0.0.1\","
           "\"port\":%d", mport);
  cr_assert(strstr(body, json), "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", "{\"host\":"
                        "\"127.0.0.1\",\"port\":40005}", server_header(), NULL,
                        0), 201);
  cr_assert_eq(run_http(port, "GET", "/v1/models/m2", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"via\":\"proxy\",\"host\":\"127.0.0.1\","
                   "\"port\":40005"), "%s", body);
  cr_assert_eq(run_http(port + 2, "GET", "/v1/resolve/current", NULL, NULL,
                        body, sizeof(body)), 200, "%s", body);
  cr_assert(strstr(body, "\"model\":\"m1\""), "%s", body);
  cr_assert(strstr(body, "\"repository\":\"plant\""), "%s", body);
  cr_assert_eq(run_http(port + 2, "GET", "/v1/resolve/nothing", NULL, NULL,
                        body, sizeof(body)), 404);
  cr_assert_eq(run_http(port + 2, "GET", "/v1/links", NULL, NULL, body,
                        sizeof(body)), 200);
  snprintf(json, sizeof(json), "\"m2\":\"127.0.0.1:%d\"", mport);
  cr_assert(strstr(body, json), "%s", body);
  snprintf(json, sizeof(json), "\"current\":{\"model\":\"m1\","
           "\"model_server\":\"127.0.0.1:%d\"}", mport);
  cr_assert(strstr(body, json), "%s", body);

  /* no heartbeats, but it answers the probes: still up after four of
   * them, one a second (the third round, settled before the fourth
   * began, was past the 2 s a silent one is marked gone in) */
  seen = __atomic_load_n(&probes, __ATOMIC_RELAXED);
  for (int i = 0; i < 100 && __atomic_load_n(&probes, __ATOMIC_RELAXED)
                             < seen + 4; i++)
    usleep(100000);
  cr_assert_geq(__atomic_load_n(&probes, __ATOMIC_RELAXED), seen + 4,
                "the license server did not probe GET /health four times "
                "in 10 s");
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"state\":\"up\""), "probed server marked gone: "
            "%s", body);

  /* silent and not answering: gone, its seat freed, and the bus says so */
  ts_httpd_stop(model);
  for (int i = 0; i < 40 && !gone; i++) {
    usleep(250000);
    run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
             sizeof(body));
    gone = strstr(body, "\"state\":\"gone\"") != NULL;
  }
  cr_assert(gone, "not marked gone: %s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"sessions\":[]"), "seat not freed: %s", body);
  snprintf(topic, sizeof(topic), "model-servers/127.0.0.1:%d", mport);
  cr_assert(bus_wait(topic, "\"state\":\"gone\"", 5));
  snprintf(path, sizeof(path), "/v1/model-servers/127.0.0.1:%d/heartbeat",
           mport);
  cr_assert_eq(run_http(port, "PUT", path, NULL, server_header(), body,
                        sizeof(body)), 404, "%s", body);
  cr_assert(strstr(body, "register again"), "%s", body);
  snprintf(path, sizeof(path), "%s/lic/logs/license.%d/audit.jsonl", root,
           port);
  audit = run_read_file(path);
  cr_assert(strstr(audit, "\"event\":\"model-server-gone\""), "%s", audit);
  free(audit);
  apr_pool_destroy(pool);
}

Test(license_bus, administrator_password_force_release_and_audit)
{
  char body[4096], id[64] = "", path[128];
  const char *sh = "/bin/sh";
  const char *cmd = apr_psprintf(tp, "echo 'correct horse' | %s license "
                                 "passwd --stdin", TESSERA_ADMIN);
  const char *pwfile = in_root("lic/admin.passwd");
  char *audit, *hash;
  run_result_t r;
  int status;

  start(0, port, NULL);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201);
  sscanf(strstr(body, "\"id\":\"") + 6, "%63[0-9a-f]", id);
  snprintf(path, sizeof(path), "/v1/sessions/%s/release", id);

  /* unset on delivery: the interface says so */
  cr_assert_eq(run_http(port, "POST", path, "{\"reason\":\"stuck\"}", NULL,
                        body, sizeof(body)), 403, "%s", body);
  cr_assert(strstr(body, "tessera-admin license passwd"), "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/admin", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"password_set\":false"), "%s", body);

  /* too short: refused, nothing written */
  r = run((const char *[]){ sh, "-c", apr_psprintf(tp, "echo short | %s "
          "license passwd --stdin", TESSERA_ADMIN), NULL }, env(), NULL);
  cr_assert_eq(r.status, 65, "%s", r.err);
  cr_assert(strstr(r.err, "at least 8"), "%s", r.err);
  cr_assert_neq(access(pwfile, F_OK), 0, "a refused password was written");
  run_free(&r);

  r = run((const char *[]){ sh, "-c", cmd, NULL }, env(), NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  hash = run_read_file(pwfile);
  cr_assert(strncmp(hash, "$argon2id$", 10) == 0, "%s", hash);
  cr_assert_null(strstr(hash, "correct horse"));
  free(hash);

  /* no credentials, wrong ones, then right ones: alice:correct horse */
  cr_assert_eq(run_http(port, "POST", path, "{\"reason\":\"stuck\"}", NULL,
                        body, sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(port, "POST", path, "{\"reason\":\"stuck\"}",
                        "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n", body,
                        sizeof(body)), 401, "%s", body);
  cr_assert(strstr(body, "wrong password"), "%s", body);
  cr_assert_eq(run_http(port, "POST", path, "{}",
                        "Authorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ=="
                        "\r\n", body, sizeof(body)), 400, "%s", body);
  status = run_http(port, "POST", path, "{\"reason\":\"client hung\"}",
                    "Authorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==\r\n",
                    body, sizeof(body));
  cr_assert_eq(status, 200, "%d %s", status, body);
  cr_assert_eq(run_http(port, "POST", path, "{\"reason\":\"again\"}",
                        "Authorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ=="
                        "\r\n", body, sizeof(body)), 404, "%s", body);

  /* the same through tessera-admin sessions */
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201);
  sscanf(strstr(body, "\"id\":\"") + 6, "%63[0-9a-f]", id);
  r = admin((const char *[]){ "sessions", "list", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, id), "%s", r.out);
  run_free(&r);
  r = run((const char *[]){ sh, "-c", apr_psprintf(tp, "echo wrong-one | %s "
          "sessions release %s --reason x --password-stdin", TESSERA_ADMIN,
          id), NULL }, env(), NULL);
  cr_assert_eq(r.status, 77, "%s", r.err);
  cr_assert(strstr(r.err, "wrong password"), "%s", r.err);
  run_free(&r);
  r = run((const char *[]){ sh, "-c", apr_psprintf(tp, "echo 'correct horse'"
          " | %s sessions release %s --reason 'via admin' --as bob "
          "--password-stdin", TESSERA_ADMIN, id), NULL }, env(), NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "released by bob"), "%s", r.out);
  run_free(&r);

  snprintf(path, sizeof(path), "%s/lic/logs/license.%d/audit.jsonl", root,
           port);
  audit = run_read_file(path);
  cr_assert(strstr(audit, "\"by\":\"bob\",\"reason\":\"via admin\""),
            "%s", audit);
  cr_assert(strstr(audit, "\"event\":\"checkout\""), "%s", audit);
  cr_assert(strstr(audit, "\"event\":\"force-release\""), "%s", audit);
  cr_assert(strstr(audit, "\"by\":\"alice\",\"reason\":\"client hung\","
                   "\"client\":\"127.0.0.1\""), "%s", audit);
  free(audit);
}

Test(license_bus, metrics_pass_promtool)
{
  char *body = malloc(1 << 16);
  const char *file = in_root("metrics.txt");
  run_result_t r;

  start(0, port, NULL);
  run_http(port, "POST", "/v1/sessions", checkout_json, NULL, NULL, 0);
  run_http(port, "GET", "/v1/nothing", NULL, NULL, NULL, 0);
  cr_assert_eq(run_http(port, "GET", "/metrics", NULL, NULL, body, 1 << 16),
               200);
  cr_assert(strstr(body, "tessera_license_seats_used{product=\"demo\"} 1"),
            "%s", body);
  cr_assert(strstr(body, "tessera_http_requests_total{route=\"/v1/sessions\","
                   "code=\"201\"} 1"), "%s", body);
  run_write_file(file, body);
  r = run((const char *[]){ "/bin/sh", "-c", apr_psprintf(tp, "promtool "
          "check metrics < '%s'", file), NULL }, env(), NULL);
  cr_assert_eq(r.status, 0, "promtool: %s%s", r.out, r.err);
  run_free(&r);
  cr_assert_eq(run_http(port + 2, "GET", "/metrics", NULL, NULL, body,
                        1 << 16), 200);
  free(body);
}

Test(license_bus, configuration_errors_name_file_line_and_element)
{
  const char *xml = in_root("lic/tessera.xml");
  run_result_t r;

  run_write_file(xml, "<?xml version=\"1.0\"?>\n"
             "<tessera xmlns=\"urn:tessera:config:1\">\n"
             "  <listen adress=\"127.0.0.1\"/>\n"
             "</tessera>\n");
  r = run((const char *[]){ TESSERAD, "license", "--check", NULL }, env(),
          NULL);
  cr_assert_neq(r.status, 0);
  cr_assert(strstr(r.err, "tessera.xml line 3, element listen"), "%s",
            r.err);
  run_free(&r);
  run_write_file(xml, "<tessera xmlns=\"urn:tessera:config:1\">\n"
             "  <license-server>\n"
             "    <project version=\"26.1\" port=\"99999\"/>\n"
             "  </license-server>\n</tessera>\n");
  r = run((const char *[]){ TESSERAD, "license", "--check", NULL }, env(),
          NULL);
  cr_assert_neq(r.status, 0);
  cr_assert(strstr(r.err, "line 3, element project"), "%s", r.err);
  run_free(&r);
  /* the shipped blueprints are valid */
  for (int i = 0; i < 2; i++) {
    char *text = run_read_file(i ? TESSERA_SOURCE_DIR
                               "/config/blueprints/tessera-full.xml"
                             : TESSERA_SOURCE_DIR
                               "/config/blueprints/tessera-minimal.xml");
    cr_assert(*text);
    run_write_file(xml, text);
    free(text);
    r = run((const char *[]){ TESSERAD, "license", "--check", NULL }, env(),
            NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "is valid"), "%s", r.out);
    run_free(&r);
  }
}

Test(license_bus, project_license_server_is_listed_by_the_main_one)
{
  char body[4096], want[128];
  int listed = 0;

  start(0, port, NULL);
  start(1, project_port, "26.1");
  snprintf(want, sizeof(want), "\"version\":\"26.1\",\"host\":\"localhost\","
           "\"port\":%d,\"state\":\"up\"", project_port);
  for (int i = 0; i < 40 && !listed; i++) {
    run_http(port, "GET", "/v1/projects", NULL, NULL, body, sizeof(body));
    listed = strstr(body, want) != NULL;
    if (!listed)
      usleep(250000);
  }
  cr_assert(listed, "not listed: %s\nmain: %s\nproject: %s", body,
            run_read_file(in_root("server0.err")),
            run_read_file(in_root("server1.err")));
  cr_assert_eq(run_http(project_port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"project\":\"26.1\""), "%s", body);
  cr_assert_eq(run_http(project_port + 2, "GET", "/health", NULL, NULL, NULL,
                        0), 200, "the project server's hub");
}

Test(license_bus, bus_persistence_in_inolic_when_configured)
{
  char xml[512], db[600];
  int code = -1;

  snprintf(xml, sizeof(xml), "<tessera xmlns=\"urn:tessera:config:1\">\n"
           "  <listen address=\"127.0.0.1\"/>\n"
           "  <license-server><bus persistence=\"true\"/></license-server>\n"
           "</tessera>\n");
  run_write_file(in_root("lic/tessera.xml"), xml);
  start(0, port, NULL);
  cr_assert(bus_wait("products/demo", "\"seats\":5", 10));
  kill(servers[0], SIGTERM);
  waitpid(servers[0], &code, 0);
  servers[0] = -1;
  cr_assert(WIFEXITED(code) && WEXITSTATUS(code) == 0, "exit %d", code);
  /* mosquitto saves its retained messages there when it stops */
  snprintf(db, sizeof(db), "%s/lic/bus.%d/mosquitto.db", root, port + 1);
  cr_assert_eq(access(db, F_OK), 0, "no %s", db);
}

Test(license_bus, hup_reopens_the_audit_hub_and_broker_logs)
{
  const char *dirs[] = { "license", "hub", "bus" };
  const char *files[] = { "audit.jsonl", "hub.log", "mosquitto.log" };
  const int offsets[] = { 0, 2, 1 };
  char path[3][600], moved[700];
  int back = 0;

  start(0, port, NULL);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        NULL, 0), 201);
  for (int i = 0; i < 3; i++) {
    snprintf(path[i], sizeof(path[i]), "%s/lic/logs/%s.%d/%s", root,
             dirs[i], port + offsets[i], files[i]);
    snprintf(moved, sizeof(moved), "%.600s.1", path[i]);
    cr_assert_eq(rename(path[i], moved), 0, "%s", path[i]);
  }
  cr_assert_eq(kill(servers[0], SIGHUP), 0);
  for (int i = 0; i < 40 && back < 3; i++) {
    usleep(100000);
    back = 0;
    for (int k = 0; k < 3; k++)
      back += access(path[k], F_OK) == 0;
  }
  for (int k = 0; k < 3; k++)
    cr_assert_eq(access(path[k], F_OK), 0, "%s was not reopened", path[k]);
  /* the new audit log gets the next event */
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        NULL, 0), 201);
  {
    char *audit = run_read_file(path[0]);
    cr_assert(strstr(audit, "\"event\":\"checkout\""), "%s", audit);
    free(audit);
  }
}
