/* test_license_agents.c: agents reporting to the license server, against
 * the real tesserad, the real mosquitto and the real tessera-admin
 * (Linux): an agent's report needs the server credential (401 without
 * it, 400 for a malformed one); a silent agent is gone after the
 * gone-after interval and up again with its next report; the retained
 * agents/<host>:<port> on the bus says the same and is cleared when the
 * agent unregisters; /v1/status carries the agents and the model
 * servers, and `tessera-admin status` shows the agents and the model
 * versions they see with where each runs (table and --json). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "bus_client.h"
#include "license_fixture.h"
#include "run.h"

#define INOPRJ "6f1c9d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"

static const lf_options_t options = {
  .name = "agents", .asan = "detect_leaks=0", .stop_signal = SIGTERM,
};

/* tessera.xml: gone after GONE seconds, probed every PROBE. */
static void
write_config(int probe, int gone)
{
  run_write_file(in_root("lic/tessera.xml"), apr_psprintf(tp,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <model-servers probe-seconds=\"%d\" gone-after-seconds=\"%d\"/>\n"
    "  </license-server>\n"
    "</tessera>\n", probe, gone));
}

static void
setup(void)
{
  lf_setup_with(&options);
  write_config(1, 2);
}

TestSuite(license_agents, .init = setup, .fini = lf_teardown,
          .timeout = 90);

/* An agent's report from 127.0.0.1:APORT (OS, and VERSIONS, a JSON
 * array). */
static const char *
report(int aport, const char *os, const char *versions)
{
  return apr_psprintf(tp, "{\"host\":\"127.0.0.1\",\"port\":%d,\"inoprj\":"
                      "\"" INOPRJ "\",\"os\":\"%s\",\"versions\":%s}",
                      aport, os, versions);
}

Test(license_agents, a_report_needs_the_server_credential)
{
  const char *one = report(17003, "linux", "[{\"model\":\"plant\","
                           "\"version\":\"v1\",\"state\":\"stopped\"}]");
  char body[8192];

  start_server();
  cr_assert_eq(run_http(port, "POST", "/v1/agents", one, NULL, body,
                        sizeof(body)), 401, "%s", body);
  cr_assert(strstr(body, "Authorization: Tessera"), "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/agents", one,
                        "Authorization: Tessera bm90LXRoZS10b2tlbg==\r\n",
                        body, sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(port, "DELETE", "/v1/agents/127.0.0.1:17003", NULL,
                        NULL, body, sizeof(body)), 401, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/agents", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"agents\":[]"), "listed without the "
            "credential: %s", body);

  /* malformed reports say what is wrong */
  cr_assert_eq(run_http(port, "POST", "/v1/agents", apr_psprintf(tp,
                        "{\"host\":\"127.0.0.1\",\"port\":17003,\"inoprj\":"
                        "\"not-a-uuid\",\"versions\":[]}"), server_header(),
                        body, sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "inoprj"), "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/agents", report(17003, "linux",
                        "[{\"model\":\"plant\",\"version\":\"v1\","
                        "\"state\":\"dancing\"}]"), server_header(), body,
                        sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "versions[0]"), "%s", body);

  cr_assert_eq(run_http(port, "POST", "/v1/agents", one, server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(strstr(body, "\"id\":\"127.0.0.1:17003\""), "%s", body);
  cr_assert(strstr(body, "\"heartbeat_seconds\":1"), "%s", body);
  cr_assert(strstr(body, "\"gone_after_seconds\":2"), "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/agents", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"id\":\"127.0.0.1:17003\""), "%s", body);
  cr_assert(strstr(body, "\"inoprj\":\"" INOPRJ "\""), "%s", body);
  cr_assert(strstr(body, "\"model\":\"plant\""), "%s", body);
}

Test(license_agents, a_silent_agent_is_gone_and_the_bus_says_so)
{
  const char *one = report(17003, "linux", "[]");
  const char *topic = "agents/127.0.0.1:17003";
  char body[8192];
  char *got;

  start_server();
  cr_assert_eq(run_http(port, "POST", "/v1/agents", one, server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(bus_wait(topic, "\"state\":\"up\"", 5), "not on the bus");
  /* the versions change: the bus says the new ones */
  cr_assert_eq(run_http(port, "POST", "/v1/agents", report(17003, "linux",
                        "[{\"model\":\"plant\",\"version\":\"v2\",\"state\":"
                        "\"running\",\"host\":\"127.0.0.1\",\"port\":17006,"
                        "\"pid\":4711,\"users\":[\"ada\"]}]"),
                        server_header(), body, sizeof(body)), 201, "%s",
               body);
  cr_assert(bus_wait(topic, "\"version\":\"v2\"", 5), "new versions not on "
            "the bus");
  /* reporting every second (the agent's heartbeat: gone-after / 3 is
   * 1 s here), it stays up past the gone-after interval of 2 s */
  for (int i = 0; i < 6; i++) {
    usleep(500000);   /* the agent's pace, not a wait for the server */
    cr_assert_eq(run_http(port, "GET", "/v1/agents", NULL, NULL, body,
                          sizeof(body)), 200);
    cr_assert(strstr(body, "\"state\":\"up\""), "gone while it reported: "
              "%s", body);
    cr_assert_eq(run_http(port, "POST", "/v1/agents", one, server_header(),
                          body, sizeof(body)), 201, "%s", body);
  }
  /* silent for the gone-after interval (2 s): gone, here and there */
  cr_assert(lf_api_wait("/v1/agents", "\"state\":\"gone\"", 10, body,
                     sizeof(body)), "still up: %s", body);
  cr_assert(bus_wait(topic, "\"state\":\"gone\"", 5));
  /* its next report makes it up again */
  cr_assert_eq(run_http(port, "POST", "/v1/agents", one, server_header(),
                        body, sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/agents", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"state\":\"up\""), "%s", body);
  cr_assert(bus_wait(topic, "\"state\":\"up\"", 5));
  /* a clean stop: no longer listed, the topic cleared */
  cr_assert_eq(run_http(port, "DELETE", "/v1/agents/127.0.0.1:17003", NULL,
                        server_header(), body, sizeof(body)), 200, "%s",
               body);
  cr_assert_eq(run_http(port, "GET", "/v1/agents", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"agents\":[]"), "still listed: %s", body);
  for (int i = 0; i < 20; i++) {
    got = bus_read(topic);
    if (!*got)
      break;
    free(got);
    got = NULL;
    usleep(250000);
  }
  cr_assert(got && !*got, "the topic was not cleared");
  free(got);
  cr_assert_eq(run_http(port, "DELETE", "/v1/agents/127.0.0.1:17003", NULL,
                        server_header(), body, sizeof(body)), 404, "%s",
               body);
}

/* Two agents on one INOPRJ, each listing both versions; the first sees
 * plant/v1 running on 127.0.0.1:MPORT. A model server registered there
 * too. */
static void
two_agents(int mport)
{
  const char *running = apr_psprintf(tp, "[{\"model\":\"plant\",\"version\":"
    "\"v2\",\"state\":\"stopped\"},{\"model\":\"plant\",\"version\":\"v1\","
    "\"state\":\"running\",\"host\":\"127.0.0.1\",\"port\":%d,\"pid\":4711,"
    "\"users\":[\"ada\",\"bob\"]}]", mport);
  const char *seen = "[{\"model\":\"plant\",\"version\":\"v1\",\"state\":"
    "\"stopped\"},{\"model\":\"plant\",\"version\":\"v2\",\"state\":"
    "\"stopped\"}]";
  char body[4096];

  cr_assert_eq(run_http(port, "POST", "/v1/agents", report(17103, "windows",
                        seen), server_header(), body, sizeof(body)), 201,
               "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/agents", report(17003, "linux",
                        running), server_header(), body, sizeof(body)), 201,
               "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
                        "{\"repository\":\"plant-v1\",\"models\":[\"plant\"],"
                        "\"host\":\"127.0.0.1\",\"port\":%d,\"pid\":4711,"
                        "\"license_server\":\"localhost.%d\"}", mport, port),
                        server_header(), body, sizeof(body)), 201, "%s",
               body);
}

Test(license_agents, status_shows_agents_versions_and_where_they_run)
{
  int mport = run_free_port();
  char body[16384];
  json_t *j, *agents, *ms;
  json_error_t jerr;

  write_config(30, 60);   /* nothing goes gone during the test */
  start_server();
  two_agents(mport);
  cr_assert_eq(run_http(port, "GET", "/v1/status", NULL, NULL, body,
                        sizeof(body)), 200);
  j = json_loads(body, 0, &jerr);
  cr_assert_not_null(j, "%s: %s", jerr.text, body);
  agents = json_object_get(j, "agents");
  cr_assert_eq(json_array_size(agents), 2, "%s", body);
  for (size_t i = 0; i < 2; i++) {
    json_t *a = json_array_get(agents, i);
    cr_assert_str_eq(json_string_value(json_object_get(a, "state")), "up");
    cr_assert_str_eq(json_string_value(json_object_get(a, "inoprj")),
                     INOPRJ);
    cr_assert_eq(json_array_size(json_object_get(a, "versions")), 2);
  }
  ms = json_array_get(json_object_get(j, "model_servers"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(ms, "id")),
                   apr_psprintf(tp, "127.0.0.1:%d", mport), "%s", body);
  cr_assert_str_eq(json_string_value(json_object_get(ms, "repository")),
                   "plant-v1");
  cr_assert_str_eq(json_string_value(json_object_get(ms, "state")), "up");
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ms,
                   "models"), 0)), "plant");
  json_decref(j);
}

/* The line of TEXT from WHAT on (the test fails without one);
 * malloc'ed. */
static char *
row(const char *text, const char *what)
{
  const char *at = strstr(text, what);

  cr_assert_not_null(at, "no %s in: %s", what, text);
  return strndup(at, strcspn(at, "\n"));
}

Test(license_agents, admin_status_shows_agents_and_where_versions_run)
{
  int mport = run_free_port();
  run_result_t r;
  json_t *j, *versions, *v1, *v2;
  json_error_t jerr;
  const char *where = apr_psprintf(tp, "127.0.0.1:%d", mport);
  char *line;

  write_config(30, 60);
  start_server();
  two_agents(mport);
  r = admin((const char *[]){ "status", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "agents: 2\n"), "%s", r.out);
  cr_assert(strstr(r.out, "127.0.0.1:17003"), "%s", r.out);
  cr_assert(strstr(r.out, "127.0.0.1:17103"), "%s", r.out);
  cr_assert(strstr(r.out, "windows"), "%s", r.out);
  cr_assert(strstr(r.out, "model versions: 2\n"), "%s", r.out);
  cr_assert(strstr(r.out, "INOPRJ " INOPRJ ":\n"), "%s", r.out);
  /* one row per version, where it runs from the agent that runs it */
  line = row(r.out, "plant/v1 ");
  cr_assert(strstr(line, "running") && strstr(line, where)
            && strstr(line, "4711") && strstr(line, " 2"), "%s", r.out);
  free(line);
  line = row(r.out, "plant/v2 ");
  cr_assert(strstr(line, "stopped") && !strstr(line, "127.0.0.1"), "%s",
            r.out);
  free(line);
  cr_assert_null(strstr(strstr(r.out, "plant/v1 ") + 1, "plant/v1 "),
                 "a version listed twice: %s", r.out);
  run_free(&r);

  r = admin((const char *[]){ "status", "--json", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  j = json_loads(r.out, 0, &jerr);
  cr_assert_not_null(j, "%s: %s", jerr.text, r.out);
  versions = json_object_get(j, "versions");
  cr_assert_eq(json_array_size(versions), 2, "%s", r.out);
  v1 = json_array_get(versions, 0);
  v2 = json_array_get(versions, 1);
  cr_assert_str_eq(json_string_value(json_object_get(v1, "version")), "v1");
  cr_assert_str_eq(json_string_value(json_object_get(v1, "state")),
                   "running");
  cr_assert_str_eq(json_string_value(json_object_get(v1, "host")),
                   "127.0.0.1");
  cr_assert_eq(json_integer_value(json_object_get(v1, "port")), mport);
  cr_assert_eq(json_array_size(json_object_get(v1, "agents")), 2);
  cr_assert_str_eq(json_string_value(json_object_get(v2, "state")),
                   "stopped");
  cr_assert(json_is_null(json_object_get(v2, "host")), "%s", r.out);
  cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "license"),
                                               "agents")), 2);
  json_decref(j);
  run_free(&r);
}
