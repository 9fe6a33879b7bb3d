/* test_bus_retained.c: what is retained on the bus follows what the
 * license server's API shows (README, "The bus"), against the real
 * tesserad and the real mosquitto, read with mosquitto_sub as anyone may
 * (Linux): a project license server that stops is gone on the bus when
 * /v1/projects says so, not at the next probe round; a model server that
 * is no longer listed, or a product no longer in the license, has its
 * topic cleared; what an earlier run left retained (a broker with
 * persistence) and this run does not know is cleared; a product that
 * expires at midnight UTC says so on the bus when /v1/status does (the
 * server under libfaketime, started a few seconds before midnight). */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "bus_client.h"
#include "license_fixture.h"
#include "run.h"

static int project_port;
static pid_t project = -1;

/* tessera.xml with the project license server 26.1 and probe rounds a
 * minute apart (so nothing waits for them), plus EXTRA inside
 * <license-server>. */
static void
write_config(const char *extra)
{
  run_write_file(in_root("lic/tessera.xml"), apr_psprintf(tp,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <model-servers probe-seconds=\"60\" gone-after-seconds=\"120\"/>\n"
    "    %s\n"
    "    <project version=\"26.1\" port=\"%d\"/>\n"
    "  </license-server>\n"
    "</tessera>\n", extra, project_port));
}

static void
setup(void)
{
  lf_setup();
  project_port = lf_other_port();
  write_config("");
}

static void
teardown(void)
{
  lf_kill(&project, SIGKILL);
  lf_teardown();
}

TestSuite(bus_retained, .init = setup, .fini = teardown, .timeout = 150);

/* Wait up to SECONDS for the retained message on TOPIC to contain WANT
 * (WANT "": for the topic to hold none), reading again at once (not
 * bus_wait()'s 250 ms apart). */
static int
retained_wait(const char *topic, const char *want, int seconds)
{
  apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);

  do {
    char *got = bus_read(topic);
    int ok = *want ? strstr(got, want) != NULL : *got == '\0';
    free(got);
    if (ok)
      return 1;
  } while (apr_time_now() < until);
  return 0;
}

Test(bus_retained, a_project_server_that_stopped_is_gone_on_the_bus_too)
{
  char body[4096];
  char *got;
  int ok;

  start_server();
  lf_start_project(&project, "26.1", project_port);
  cr_assert(lf_api_wait("/v1/projects", "\"state\":\"up\"", 15, body,
                     sizeof(body)), "not listed: %s", body);
  cr_assert(retained_wait("projects/26.1", "\"state\":\"up\"", 5));
  lf_kill(&project, SIGKILL);
  /* 30 s after its last report (every 10 s) the API says gone ... */
  cr_assert(lf_api_wait("/v1/projects", "\"state\":\"gone\"", 45, body,
                     sizeof(body)), "still listed up: %s", body);
  /* ... and the bus says the same then, not at the next probe round
   * (a minute apart here) */
  ok = retained_wait("projects/26.1", "\"state\":\"gone\"", 2);
  got = bus_read("projects/26.1");
  cr_assert(ok, "the API shows %s, the bus still %s", body, got);
  free(got);
}

/* Register a model server on 127.0.0.1:MPORT (nothing listens there: it
 * is probed only a minute later). */
static void
register_model_server(int mport)
{
  char json[512], body[1024];

  snprintf(json, sizeof(json), "{\"repository\":\"plant\",\"models\":"
           "[\"m1\"],\"links\":{},\"host\":\"127.0.0.1\",\"port\":%d,"
           "\"pid\":%d,\"license_server\":\"localhost.%d\"}", mport,
           (int)getpid(), port);
  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", json,
                        server_header(), body, sizeof(body)), 201, "%s",
               body);
}

Test(bus_retained, a_model_server_no_longer_listed_is_cleared_from_the_bus)
{
  int mport = run_free_port();
  char topic[64], path[64], body[4096];

  start_server();
  register_model_server(mport);
  snprintf(topic, sizeof(topic), "model-servers/127.0.0.1:%d", mport);
  cr_assert(retained_wait(topic, "\"state\":\"up\"", 5));
  snprintf(path, sizeof(path), "/v1/model-servers/127.0.0.1:%d", mport);
  cr_assert_eq(run_http(port, "DELETE", path, NULL, server_header(), NULL,
                        0), 200);
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert_null(strstr(body, "127.0.0.1"), "still listed: %s", body);
  cr_assert(retained_wait(topic, "", 5), "the API no longer lists %s, the bus "
            "keeps it retained", topic);
}

Test(bus_retained, what_an_earlier_run_left_retained_is_cleared)
{
  int mport = run_free_port();
  char topic[64], body[4096];

  write_config("<bus persistence=\"true\"/>");
  start_server();
  register_model_server(mport);
  snprintf(topic, sizeof(topic), "model-servers/127.0.0.1:%d", mport);
  cr_assert(retained_wait(topic, "\"state\":\"up\"", 5));
  lf_stop();

  /* the broker's persistence kept it; the new run does not know it */
  start_server();
  cr_assert(retained_wait("license/state", "\"state\":\"up\"", 10));
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert_null(strstr(body, "127.0.0.1"), "%s", body);
  cr_assert(retained_wait(topic, "", 5), "the earlier run's %s is still "
            "retained", topic);
  cr_assert(retained_wait("products/demo", "\"seats\":5", 5),
            "this run's own state was cleared too");
}

Test(bus_retained, a_product_no_longer_in_the_license_is_cleared)
{
  char body[4096];

  start_server();
  cr_assert(retained_wait("products/demo", "\"seats\":5", 10));
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "other:3:2099-12-31", "--id", "only-other",
                             "--out", in_root("lic/tessera.lic"), NULL });
  cr_assert_eq(kill(server, SIGHUP), 0);
  cr_assert(lf_api_wait("/v1/status", "\"products\":[{\"name\":\"other\"", 10,
                     body, sizeof(body)), "not reloaded: %s", body);
  cr_assert_null(strstr(body, "\"demo\""), "%s", body);
  cr_assert(retained_wait("products/other", "\"seats\":3", 5));
  cr_assert(retained_wait("products/demo", "", 5), "the license has no demo "
            "any more, the bus still says it has");
}

#define LIBFAKETIME "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

/* Start tesserad license as the fixture does, its clock (and its
 * broker's) starting at FAKE_START (libfaketime). */
static void
start_server_at(const char *fake_start)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *e[16], *err = in_root("server.err");
  int n = 0;

  cr_assert_eq(access(LIBFAKETIME, R_OK), 0, "%s is missing: install the "
               "Debian package faketime (installer/deps-debian.sh)",
               LIBFAKETIME);
  for (const char *const *v = env(); *v; v++)
    if (strncmp(*v, "ASAN_OPTIONS=", 13) != 0)
      e[n++] = *v;
  /* the sanitizers' runtime is not first once libfaketime is preloaded */
  e[n++] = "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0";
  e[n++] = "LD_PRELOAD=" LIBFAKETIME;
  e[n++] = apr_pstrcat(tp, "FAKETIME=@", fake_start, NULL);
  e[n] = NULL;
  cr_assert_eq(lf_start(&server, argv, e, err, port, 300, NULL), 0,
               "tesserad did not come up: %s", run_read_file(err));
}

Test(bus_retained, a_product_expiring_at_midnight_says_so_on_the_bus)
{
  char body[4096];
  char *got;
  int ok;

  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "soon:2:2090-06-15", "--product",
                             "later:2:2099-12-31", "--out",
                             in_root("lic/tessera.lic"), NULL });
  start_server_at("2090-06-15 23:59:55");
  cr_assert(retained_wait("products/soon", "\"expired\":false", 3),
            "not valid before midnight");
  cr_assert(lf_api_wait("/v1/status", "\"expires\":\"2090-06-15\","
                     "\"expired\":true", 15, body, sizeof(body)),
            "/v1/status: %s", body);
  ok = retained_wait("products/soon", "\"expired\":true", 2);
  got = bus_read("products/soon");
  cr_assert(ok, "/v1/status says expired, the bus %s", got);
  free(got);
}
