/* test_proxy.c: the proxy (`tesserad proxy`, p+5) with real agents and
 * the model servers they start (README, "Proxy"): two agents on one
 * project directory stand for two machines ("localhost", where the proxy
 * runs, and "127.0.0.1"), beside a real license server and its bus.
 * curl reaches a model server through the proxy by model, version and
 * link name (CONNECT with -p, and the absolute form without); unknown,
 * stopped, crashed and elsewhere-served names are refused with 404, 503
 * and 421 and their reasons; the license server's brokering says
 * "via":"proxy" while the proxy runs and "direct" after it stopped. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>
#include <jansson.h>

#include "agent_fixture.h"
#include "proxy_fixture.h"
#include "run.h"

#define PASSWORD "proxy-test-pass"

static const char license_config[] =
  "<tessera xmlns=\"urn:tessera:config:1\">\n"
  "  <listen address=\"127.0.0.1\"/>\n"
  "  <license-server>\n"
  "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"30\"/>\n"
  "  </license-server>\n"
  "  <model-servers heartbeat-seconds=\"1\"/>\n"
  "</tessera>\n";

static agent_t agents[2];

static void
setup(void)
{
  pf_setup("proxy", license_config, NULL);
  run_write_file(in_root("pw"), PASSWORD "\n" PASSWORD "\n");
  cr_assert_eq(system(apr_psprintf(tp, "env %s %s %s %s %s license passwd "
                                   "--stdin < %s >/dev/null 2>&1",
                                   env()[1], env()[2], env()[3], env()[4],
                                   TESSERA_ADMIN, in_root("pw"))), 0);
  run_write_file(in_root("pw"), PASSWORD "\n");
  cr_assert_eq(mkdir(in_root("prj"), 0755), 0);
  /* the proxy's machine is the first agent's */
  agents[0].inolic = proxy_lic;
  agents[1].inolic = in_root("other");
  cr_assert_eq(mkdir(agents[1].inolic, 0711), 0);
  run_write_file(apr_pstrcat(tp, agents[1].inolic, "/tessera.xml", NULL),
                 "<tessera xmlns=\"urn:tessera:config:1\">"
                 "<listen address=\"127.0.0.1\"/>"
                 "<machine name=\"127.0.0.1\"/>"
                 "<model-servers heartbeat-seconds=\"1\"/>"
                 "</tessera>\n");
  for (int i = 0; i < 2; i++) {
    agents[i].port = lf_other_port();
    agents[i].pid = -1;
  }
}

static void
teardown(void)
{
  for (int i = 0; i < 2; i++)
    lf_kill(&agents[i].pid, SIGTERM);
  pf_teardown();
}

TestSuite(proxy, .init = setup, .fini = teardown, .timeout = 120);

/* The project, the first agent, the model bridge with versions NAMES. */
static void
define_bridge(const char *const *names)
{
  const char *argv[] = { TESSERA_ADMIN, "project", "init", NULL };
  run_result_t r = run(argv, af_env(&agents[0]), NULL);

  cr_assert_eq(r.status, 0, "project init: %s", r.err);
  run_free(&r);
  af_start(&agents[0]);
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--check", "v[0-9]+",
                                          NULL });
  for (int i = 0; names[i]; i++)
    af_models_ok(&agents[0], (const char *[]){ "create", "bridge", names[i],
                                            NULL });
}

/* curl ARGS (a URL through the proxy); *STATUS and the body (malloc'ed). */
static char *
curl(int *status, const char *args)
{
  const char *argv[] = { "/bin/sh", "-c", apr_psprintf(tp, "exec curl -sS "
                         "--max-time 10 -w '\\n%%{http_code}' %s", args),
                         NULL };
  run_result_t r = run(argv, run_env((const char *[]){ "PATH", NULL }, NULL),
                       NULL);
  char *nl = strrchr(r.out, '\n');

  cr_assert_not_null(nl, "curl %s: %s", args, r.err);
  *status = atoi(nl + 1);
  *nl = 0;
  free(r.err);
  return r.out;
}

/* The model server of repository REPO on the license server: its entry. */
static json_t *
registered(const char *repo)
{
  static char body[65536];
  json_t *j, *ms;
  size_t i;

  cr_assert(lf_api_wait("/v1/model-servers", apr_psprintf(tp, "\"repository"
                        "\":\"%s\"", repo), 30, body, sizeof(body)),
            "%s never registered: %s", repo, body);
  j = json_loads(body, 0, NULL);
  json_array_foreach(json_object_get(j, "model_servers"), i, ms)
    if (!strcmp(json_string_value(json_object_get(ms, "repository")), repo)) {
      json_incref(ms);
      json_decref(j);
      return ms;
    }
  cr_assert_fail("%s", body);
  return NULL;
}

Test(proxy, curl_reaches_the_model_server_by_model_version_and_link)
{
  const char *x = apr_psprintf(tp, "-x 127.0.0.1:%d", proxy_port);
  char body[8192];
  json_t *ms;
  char *out;
  int status;

  define_bridge((const char *[]){ "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  pf_start_proxy(af_env(&agents[0]), 0);
  /* by the model's name, tunnelled (CONNECT) */
  out = curl(&status, apr_psprintf(tp, "-p %s http://bridge/v1/repository",
                                   x));
  cr_assert_eq(status, 200, "%s", out);
  cr_assert(strstr(out, "\"model\":\"bridge\",\"version\":\"v1\""), "%s",
            out);
  free(out);
  /* by the version's (repository's) name */
  out = curl(&status, apr_psprintf(tp, "-p %s http://v1/v1/repository", x));
  cr_assert_eq(status, 200, "%s", out);
  free(out);
  /* a session and an element through it: a body goes up */
  out = curl(&status, apr_psprintf(tp, "-p %s -H 'Content-Type: application/"
             "json' -d '{\"user\":\"ada\",\"host\":\"ws1\",\"pid\":1,"
             "\"application\":\"modeler\"}' http://bridge/v1/sessions", x));
  cr_assert_eq(status, 201, "%s", out);
  free(out);
  /* without -p, the absolute form: the one request is tunnelled */
  out = curl(&status, apr_psprintf(tp, "%s http://bridge/v1/repository", x));
  cr_assert_eq(status, 200, "%s", out);
  cr_assert(strstr(out, "\"version\":\"v1\""), "%s", out);
  free(out);
  /* a link the hub resolves: the server registered with one */
  ms = registered("v1");
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
    "{\"repository\":\"v1\",\"models\":[\"bridge\"],\"links\":{\"span\":"
    "\"bridge\"},\"host\":\"localhost\",\"port\":%d,\"pid\":%d,"
    "\"license_server\":\"localhost.%d\"}",
    (int)json_integer_value(json_object_get(ms, "port")),
    (int)json_integer_value(json_object_get(ms, "pid")), port),
    server_header(), body, sizeof(body)), 201, "%s", body);
  json_decref(ms);
  out = curl(&status, apr_psprintf(tp, "-p %s http://span/v1/repository",
                                   x));
  cr_assert_eq(status, 200, "%s", out);
  cr_assert(strstr(out, "\"model\":\"bridge\""), "%s", out);
  free(out);
}

Test(proxy, the_brokering_says_via_proxy_while_the_proxy_runs)
{
  char body[8192];

  define_bridge((const char *[]){ "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  json_decref(registered("v1"));   /* it is there */
  cr_assert_eq(run_http(port, "GET", "/v1/models/bridge", NULL, NULL, body,
                        sizeof(body)), 200, "%s", body);
  cr_assert(strstr(body, "\"via\":\"direct\""), "%s", body);
  pf_start_proxy(af_env(&agents[0]), 0);
  cr_assert(lf_api_wait("/v1/models/bridge", apr_psprintf(tp, "\"connect\":"
                        "{\"via\":\"proxy\",\"host\":\"localhost\",\"port\":"
                        "%d}", proxy_port), 10, body, sizeof(body)), "%s",
            body);
  /* a clean stop withdraws it */
  lf_kill(&proxy, SIGTERM);
  cr_assert_eq(run_http(port, "GET", "/v1/models/bridge", NULL, NULL, body,
                        sizeof(body)), 200, "%s", body);
  cr_assert(strstr(body, "\"via\":\"direct\""), "%s", body);
}

Test(proxy, unknown_stopped_crashed_and_elsewhere_names_get_their_reasons)
{
  char body[8192], metrics[65536];
  json_t *ms;
  int status;

  define_bridge((const char *[]){ "v1", "v2", "v3", NULL });
  af_start(&agents[1]);
  /* v1 runs on the other machine, v2 nowhere, v3 here until killed */
  af_models_ok(&agents[1], (const char *[]){ "start", "bridge/v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v3", NULL });
  pf_start_proxy(af_env(&agents[0]), 0);
  status = pf_connect(NULL, "v3:80", NULL, body, sizeof(body));
  cr_assert_eq(status, 200, "%s", body);

  status = pf_connect(NULL, "nosuch:80", NULL, body, sizeof(body));
  cr_assert_eq(status, 404, "%s", body);
  cr_assert(strstr(body, "no model server of this machine (localhost) "
                   "offers a model, link or repository named 'nosuch'"),
            "%s", body);
  status = pf_connect(NULL, "v2:80", NULL, body, sizeof(body));
  cr_assert_eq(status, 503, "%s", body);
  cr_assert(strstr(body, "the version bridge/v2 is stopped on "), "%s",
            body);
  cr_assert(strstr(body, "\"state\":\"stopped\""), "%s", body);
  cr_assert(strstr(body, "tessera-admin models start bridge/v2"), "%s",
            body);
  /* elsewhere, its machine without a proxy, then with one */
  status = pf_connect(NULL, "v1:80", NULL, body, sizeof(body));
  cr_assert_eq(status, 421, "%s", body);
  cr_assert(strstr(body, "'v1' is served on the machine 127.0.0.1, not on "
                   "this one (localhost), and that machine has no proxy"),
            "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/proxies", "{\"host\":\"127.0.0.1\","
                        "\"port\":17777}", server_header(), body,
                        sizeof(body)), 201, "%s", body);
  status = pf_connect(NULL, "v1:80", NULL, body, sizeof(body));
  cr_assert_eq(status, 421, "%s", body);
  cr_assert(strstr(body, "connect through that machine's proxy, 127.0.0.1 "
                   "port 17777"), "%s", body);
  cr_assert(strstr(body, "\"proxy\":\"127.0.0.1:17777\""), "%s", body);
  /* v3's model server killed: crashed, as its agent says */
  ms = registered("v3");
  kill((pid_t)json_integer_value(json_object_get(ms, "pid")), SIGKILL);
  json_decref(ms);
  for (int i = 0; i < 100; i++) {
    status = pf_connect(NULL, "v3:80", NULL, body, sizeof(body));
    if (status == 503 && strstr(body, "crashed"))
      break;
    usleep(100000);
  }
  cr_assert_eq(status, 503, "%s", body);
  cr_assert(strstr(body, "the version bridge/v3 is crashed on localhost"),
            "%s", body);
  cr_assert(pf_metric_wait("tessera_proxy_refusals_total{reason=\"elsewhere"
                           "\"} 2", 5, metrics, sizeof(metrics)), "%s",
            metrics);
  cr_assert(strstr(metrics, "tessera_proxy_refusals_total{reason=\"unknown\"}"
                   " 1"), "%s", metrics);
}
