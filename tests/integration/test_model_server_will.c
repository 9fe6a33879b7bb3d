/* test_model_server_will.c: a model server's last will, against the real
 * tesserad and the real mosquitto (Linux). The fake model server is a
 * real MQTT client process (mosquitto_sub logged in as Tessera's servers,
 * with the password derived from the server credential, and the will
 * {"state":"down"} on model-servers/<host>:<port>) that registered over
 * HTTP and has a seat checked out with it. Killed with -9, the broker
 * publishes its will and the license server frees the seat at once,
 * long before the gone-after interval (60 s here) would; the topic ends
 * with the license server's own "gone". A will from a model server that
 * is not registered, or from another process than the registered one,
 * changes nothing, and the topic keeps what the license server said. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "bus_client.h"
#include "license_fixture.h"
#include "run.h"
#include "ts_credential.h"

static const lf_options_t options = {
  .name = "will", .asan = "detect_leaks=0", .stop_signal = SIGTERM,
  /* the prober would take 60 s: only the will can be this fast */
  .config = "<tessera xmlns=\"urn:tessera:config:1\">\n"
            "  <listen address=\"127.0.0.1\"/>\n"
            "  <license-server>\n"
            "    <model-servers probe-seconds=\"30\" "
            "gone-after-seconds=\"60\"/>\n"
            "  </license-server>\n"
            "</tessera>\n",
};

static apr_proc_t fakes[2];
static int nfakes;

static void
setup(void)
{
  lf_setup_with(&options);
  nfakes = 0;
}

static void
teardown(void)
{
  int code;
  apr_exit_why_e why;

  for (int i = 0; i < nfakes; i++)
    if (fakes[i].pid > 0) {
      kill(fakes[i].pid, SIGKILL);
      apr_proc_wait(&fakes[i], &code, &why, APR_WAIT);
    }
  lf_teardown();
}

TestSuite(model_server_will, .init = setup, .fini = teardown,
          .timeout = 60);

/* A fake model server's bus connection: mosquitto_sub as Tessera's
 * servers with the last will WILL on model-servers/127.0.0.1:MPORT,
 * returned once it is connected (it heard license/state). */
static apr_proc_t *
connect_fake(int mport, const char *will)
{
  const char *heard = in_root(apr_psprintf(tp, "fake%d.txt", nfakes));
  ts_credential_t *cred;
  apr_proc_t *p = &fakes[nfakes];
  char *text = NULL;
  int ok = 0;

  cr_assert_null(ts_credential_load(&cred, in_root("params/server.key"),
                                    tp));
  run_start(p, (const char *[]){ "/usr/bin/mosquitto_sub", "-h",
            "127.0.0.1", "-p", apr_psprintf(tp, "%d", port + 1), "-u",
            "tessera-server", "-P", ts_credential_derive(cred, "bus", tp),
            "-i", apr_psprintf(tp, "fake-model-%d", mport), "--will-topic",
            apr_psprintf(tp, "tessera/v1/model-servers/127.0.0.1:%d",
                         mport), "--will-payload", will, "--will-qos", "1",
            "--will-retain", "-t", "tessera/v1/license/state", NULL },
            env(), heard, tp);
  nfakes++;
  for (int i = 0; i < 100 && !ok; i++, usleep(50000)) {
    free(text);
    text = run_read_file(heard);
    ok = strstr(text, "\"state\":\"up\"") != NULL;
  }
  cr_assert(ok, "the fake model server did not connect: %s", text);
  free(text);
  return p;
}

/* kill -9 P: its connection breaks, and the broker says its will. */
static void
kill_fake(apr_proc_t *p)
{
  int code;
  apr_exit_why_e why;

  kill(p->pid, SIGKILL);
  apr_proc_wait(p, &code, &why, APR_WAIT);
  p->pid = -1;
}

/* Register the model server 127.0.0.1:MPORT with PID, and check a seat
 * out with it. */
static void
register_with_seat(int mport, long pid)
{
  char body[4096];

  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
               "{\"repository\":\"plant\",\"models\":[\"m1\"],\"host\":"
               "\"127.0.0.1\",\"port\":%d,\"pid\":%ld,\"license_server\":"
               "\"localhost.%d\"}", mport, pid, port), server_header(), body,
               sizeof(body)), 201, "%s", body);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", apr_psprintf(tp,
               "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\","
               "\"pid\":7,\"application\":\"modeler\",\"model_server\":"
               "\"127.0.0.1:%d\"}", mport), NULL, body, sizeof(body)), 201,
               "%s", body);
}

/* Wait up to SECONDS for the license server's log to contain WANT. */
static int
log_wait(const char *want, int seconds)
{
  apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);

  do {
    char *log = lf_server_log();
    int ok = strstr(log, want) != NULL;
    free(log);
    if (ok)
      return 1;
    usleep(50000);
  } while (apr_time_now() < until);
  return 0;
}

Test(model_server_will, a_killed_model_servers_will_frees_its_seats_at_once)
{
  int mport = run_free_port();
  const char *topic = apr_psprintf(tp, "model-servers/127.0.0.1:%d", mport);
  apr_proc_t *fake;
  char body[8192], *got;

  start_server();
  fake = connect_fake(mport, "{\"state\":\"down\"}");
  register_with_seat(mport, fake->pid);
  cr_assert(bus_wait(topic, "\"state\":\"up\"", 5));
  kill_fake(fake);
  /* a few seconds, where the probe would take 60: only the will can */
  cr_assert(lf_api_wait("/v1/sessions", "\"sessions\":[]", 5, body,
                     sizeof(body)), "the seat was not freed: %s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"state\":\"gone\""), "%s", body);
  /* the topic ends with the license server's verdict, not the will */
  cr_assert(bus_wait(topic, "\"state\":\"gone\"", 5), "no \"gone\" on %s",
            topic);
  got = bus_read(topic);
  cr_assert(strstr(got, "last will") && !strstr(got, "\"state\":\"down\""),
            "%s", got);
  free(got);
  got = run_read_file(apr_psprintf(tp, "%s/logs/license.%d/audit.jsonl",
                                   lic, port));
  cr_assert(strstr(got, "\"event\":\"model-server-gone\""), "%s", got);
  free(got);
}

Test(model_server_will, a_will_of_a_stranger_changes_nothing)
{
  int mport = run_free_port(), other = lf_other_port();
  const char *topic = apr_psprintf(tp, "model-servers/127.0.0.1:%d", mport);
  apr_proc_t *stranger, *earlier;
  char body[8192], *got = NULL;
  int cleared = 0;

  start_server();
  register_with_seat(mport, 4711);
  cr_assert(bus_wait(topic, "\"state\":\"up\"", 5));

  /* a will on the topic of a model server that is not registered */
  stranger = connect_fake(other, "{\"state\":\"down\"}");
  kill_fake(stranger);
  cr_assert(log_wait(apr_psprintf(tp, "no model server 127.0.0.1:%d that "
                                  "is up is registered", other), 5),
            "the license server did not hear the stranger's will");
  /* its topic is the license server's, which said nothing there */
  for (int i = 0; i < 20 && !cleared; i++) {
    free(got);
    got = bus_read(apr_psprintf(tp, "model-servers/127.0.0.1:%d", other));
    cleared = !*got;
    if (!cleared)
      usleep(250000);
  }
  cr_assert(cleared, "the stranger's will stays retained: %s", got);
  free(got);

  /* a will naming another process than the registered one (4711) */
  earlier = connect_fake(mport, "{\"state\":\"down\",\"pid\":4712}");
  kill_fake(earlier);
  cr_assert(log_wait(apr_psprintf(tp, "no model server 127.0.0.1:%d that "
                                  "is up is registered with that pid",
                                  mport), 5),
            "the license server did not hear the earlier process's will");
  cr_assert(bus_wait(topic, "\"state\":\"up\"", 5), "the will replaced the "
            "license server's \"up\" on %s", topic);

  /* nothing changed: up, and the seat still there */
  cr_assert_eq(run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"state\":\"up\"") && !strstr(body, "gone"), "%s",
            body);
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"user\":\"ada\""), "the seat was freed: %s",
            body);
}
