/* The notification service's event stream (README, "Notification
 * service"): a real `tesserad notify` on p+4 beside a real license server
 * and its bus (license_fixture.h), subscribers on GET /v1/events over
 * plain sockets (sse_client.h). Events come from a real agent and model
 * server (a version's start and stop, an element's creation) or are
 * published on the bus as Tessera's servers publish them. tessera.xml
 * keeps 8 events, beats every second and drops a subscriber with more
 * than 64 KiB waiting. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "model_fixture.h"
#include "sse_client.h"

#define PASSWORD "notify-test-pass"

static pid_t notifier = -1, agent = -1;
static int nport, aport;
static const char *env_[12];

static const char config[] =
  "<tessera xmlns=\"urn:tessera:config:1\">\n"
  "  <listen address=\"127.0.0.1\"/>\n"
  "  <license-server>\n"
  "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"30\"/>\n"
  "  </license-server>\n"
  "  <model-servers heartbeat-seconds=\"1\"/>\n"
  "  <events buffer=\"8\" heartbeat-seconds=\"1\" max-queued-kib=\"64\"/>\n"
  "</tessera>\n";

/* The fixture's environment with INOPRJ, and EXTRA unless NULL. */
static const char *const *
notify_env(const char *extra)
{
  const char *const *base = env();
  int n = 0, k = 0;

  /* EXTRA ("NAME=value") replaces the fixture's NAME */
  for (; base[k]; k++)
    if (!extra || strncmp(base[k], extra, strcspn(extra, "=") + 1) != 0)
      env_[n++] = base[k];
  env_[n++] = apr_pstrcat(tp, "INOPRJ=", in_root("prj"), NULL);
  env_[n++] = apr_psprintf(tp, "INOAGENTPORT=%d", aport);
  if (extra)
    env_[n++] = extra;
  env_[n] = NULL;
  return env_;
}

static void
start_notify_with(const char *const *argv)
{
  char *err = NULL;

  cr_assert_eq(lf_start(&notifier, argv, notify_env(NULL),
                        in_root("notify.err"), nport, 500, &err), 0,
               "tesserad notify did not serve: %s", err);
  free(err);
}

static void
start_notify(void)
{
  start_notify_with((const char *[]){ TESSERAD, "notify", NULL });
}

static void
setup(void)
{
  lf_options_t o = { .name = "notify", .asan = "detect_leaks=0",
                     .config = config, .stop_signal = SIGTERM };

  lf_setup_with(&o);
  nport = port + 4;
  aport = lf_other_port();
  cr_assert_eq(mkdir(in_root("prj"), 0755), 0);
  start_server();
  bus_pub_open(port + 1, in_root("params/server.key"));
}

static void
teardown(void)
{
  bus_pub_close();
  lf_kill(&notifier, SIGTERM);
  lf_kill(&agent, SIGTERM);
  lf_teardown();
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 120);

/* "<id>" of the event on TOPIC with WANT in S, as a Last-Event-ID. */
static const char *
id_of(const sse_t *s, const char *want)
{
  unsigned long long id = sse_id_of(s, want);
  char text[32];

  cr_assert_neq(id, 0, "no event with %s in %s", want, s->buf + s->body);
  snprintf(text, sizeof(text), "%llu", id);     /* APR knows no %ll */
  return apr_pstrdup(tp, text);
}

/* ---- a version's start and stop, an element's change -------------------- */

static run_result_t
models(const char *const *args)
{
  const char *argv[20] = { "/bin/sh", "-c" };
  const char *cmd = apr_psprintf(tp, "exec %s models --agent 127.0.0.1:%d "
                                 "--password-stdin --as tester",
                                 TESSERA_ADMIN, aport);

  for (int i = 0; args[i]; i++)
    cmd = apr_psprintf(tp, "%s '%s'", cmd, args[i]);
  argv[2] = apr_pstrcat(tp, cmd, " < ", in_root("pw"), NULL);
  return run(argv, notify_env(NULL), NULL);
}

static void
models_ok(const char *const *args)
{
  run_result_t r = models(args);

  cr_assert_eq(r.status, 0, "models %s: %s%s", args[0], r.out, r.err);
  run_free(&r);
}

/* The administrator's password, the project, an agent, the model bridge
 * of product demo and its version v1. */
static void
bridge_v1(void)
{
  const char *argv[] = { TESSERAD, "agent", NULL };
  char *err = NULL;
  run_result_t r;

  run_write_file(in_root("pw"), PASSWORD "\n" PASSWORD "\n");
  cr_assert_eq(system(apr_psprintf(tp, "env %s %s %s %s %s license passwd "
                                   "--stdin < %s >/dev/null 2>&1",
                                   env()[1], env()[2], env()[3], env()[4],
                                   TESSERA_ADMIN, in_root("pw"))), 0);
  run_write_file(in_root("pw"), PASSWORD "\n");
  r = run((const char *[]){ TESSERA_ADMIN, "project", "init", NULL },
          notify_env(NULL), NULL);
  cr_assert_eq(r.status, 0, "project init: %s", r.err);
  run_free(&r);
  cr_assert_eq(lf_start(&agent, argv, notify_env(NULL), in_root("agent.err"),
                        aport, 500, &err), 0, "the agent did not serve: %s",
               err);
  free(err);
  models_ok((const char *[]){ "define", "bridge", "--product", "demo",
                              "--check", "v[0-9]+", NULL });
  models_ok((const char *[]){ "create", "bridge", "v1", NULL });
}

Test(notify, a_subscriber_sees_a_version_start_its_element_changes_and_its_stop)
{
  sse_t s;
  char token[65], session[32];
  long element;
  int mport;
  json_t *list, *v;
  size_t i;
  run_result_t r;

  start_notify();
  bridge_v1();
  sse_open(&s, nport, "topic=versions/%2B/%2B&topic=models/bridge/%23", NULL,
           0);
  cr_assert_eq(s.status, 200, "%s", s.buf);
  cr_assert(strstr(s.buf, "Content-Type: text/event-stream"), "%s", s.buf);
  models_ok((const char *[]){ "start", "bridge/v1", NULL });
  cr_assert(sse_wait(&s, "\"state\":\"running\"", 20), "%s", s.buf + s.body);
  cr_assert(strstr(s.buf + s.body, "event: versions/bridge/v1\n"), "%s",
            s.buf + s.body);
  /* an element created on its model server */
  r = models((const char *[]){ "list", "--json", NULL });
  list = json_loads(r.out, 0, NULL);
  run_free(&r);
  mport = 0;
  json_array_foreach(json_object_get(list, "versions"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "version")), "v1") == 0)
      mport = (int)json_integer_value(json_object_get(v, "port"));
  json_decref(list);
  cr_assert_gt(mport, 0);
  cr_assert_eq(mf_session(mport, "ada", "ws1", token, session), 201);
  element = mf_create(mport, token, "Wall", "north", 0, "{}");
  cr_assert_gt(element, 0);
  cr_assert(sse_wait(&s, apr_psprintf(tp, "event: models/bridge/v1/elements/"
                                      "%ld\n", element), 10), "%s",
            s.buf + s.body);
  cr_assert(strstr(s.buf + s.body, "\"op\":\"create\""), "%s",
            s.buf + s.body);
  mf_call(mport, "DELETE", apr_psprintf(tp, "/v1/sessions/%s", session),
          NULL, token, NULL);
  models_ok((const char *[]){ "stop", "bridge/v1", NULL });
  cr_assert(sse_wait(&s, "\"state\":\"stopped\"", 20), "%s", s.buf + s.body);
  /* the filters kept the rest out: no license state, no agents */
  cr_assert_null(strstr(s.buf + s.body, "event: license/"), "%s",
                 s.buf + s.body);
  cr_assert_null(strstr(s.buf + s.body, "event: agents/"), "%s",
                 s.buf + s.body);
  sse_close(&s);
}

/* ---- resuming ----------------------------------------------------------- */

Test(notify, after_a_disconnect_last_event_id_brings_the_missed_events)
{
  sse_t s;
  const char *last;

  start_notify();
  sse_open(&s, nport, "topic=test/%23", NULL, 0);
  bus_pub("test/a", "{\"n\":1}");
  cr_assert(sse_wait(&s, "{\"n\":1}", 10), "%s", s.buf + s.body);
  last = id_of(&s, "{\"n\":1}");
  sse_close(&s);
  bus_pub("test/b", "{\"n\":2}");
  bus_pub("other/c", "{\"n\":3}");
  bus_pub("test/d", "{\"n\":4}");
  cr_assert(bus_pub_flush(10));
  /* the header, as a browser sends it when it reconnects */
  sse_open(&s, nport, "topic=test/%23", apr_psprintf(tp, "Last-Event-ID: "
                                                     "%s\r\n", last), 0);
  cr_assert(sse_wait(&s, "{\"n\":4}", 10), "%s", s.buf + s.body);
  cr_assert(strstr(s.buf + s.body, "event: test/b\ndata: {\"n\":2}"), "%s",
            s.buf + s.body);
  cr_assert_null(strstr(s.buf + s.body, "{\"n\":1}"), "%s", s.buf + s.body);
  cr_assert_null(strstr(s.buf + s.body, "{\"n\":3}"), "%s", s.buf + s.body);
  cr_assert_null(strstr(s.buf + s.body, "event: gap"), "%s", s.buf + s.body);
  cr_assert_lt(strstr(s.buf + s.body, "{\"n\":2}"),
               strstr(s.buf + s.body, "{\"n\":4}"));
  /* and then it is live */
  bus_pub("test/e", "{\"n\":5}");
  cr_assert(sse_wait(&s, "{\"n\":5}", 10), "%s", s.buf + s.body);
  sse_close(&s);
  /* the query's last-event-id= does the same */
  sse_open(&s, nport, apr_psprintf(tp, "topic=test/%%23&last-event-id=%s",
                                   last), NULL, 0);
  cr_assert(sse_wait(&s, "{\"n\":5}", 10), "%s", s.buf + s.body);
  cr_assert_eq(sse_count(&s, "event: test/"), 3, "%s", s.buf + s.body);
  sse_close(&s);
}

Test(notify, a_gap_larger_than_the_buffer_is_announced_before_what_remains)
{
  sse_t s;
  const char *last;
  char want[64];

  start_notify();
  sse_open(&s, nport, "topic=gap/%2B", NULL, 0);
  bus_pub("gap/first", "{\"n\":0}");
  cr_assert(sse_wait(&s, "{\"n\":0}", 10), "%s", s.buf + s.body);
  last = id_of(&s, "{\"n\":0}");
  sse_close(&s);
  for (int i = 1; i <= 20; i++)
    bus_pub("gap/x", apr_psprintf(tp, "{\"n\":%d}", i));
  cr_assert(bus_pub_flush(10));
  sse_open(&s, nport, "topic=gap/%2B", apr_psprintf(tp, "Last-Event-ID: "
                                                    "%s\r\n", last), 0);
  cr_assert(sse_wait(&s, "{\"n\":20}", 10), "%s", s.buf + s.body);
  /* 8 kept (13..20), 12 lost, and the notice comes first */
  snprintf(want, sizeof(want), "\"last_event_id\":%s", last);
  cr_assert(strstr(s.buf + s.body, "event: gap\ndata: {"), "%s",
            s.buf + s.body);
  cr_assert(strstr(s.buf + s.body, want), "%s", s.buf + s.body);
  cr_assert(strstr(s.buf + s.body, "\"lost\":12"), "%s", s.buf + s.body);
  cr_assert_lt(strstr(s.buf + s.body, "event: gap"),
               strstr(s.buf + s.body, "{\"n\":13}"));
  cr_assert_null(strstr(s.buf + s.body, "{\"n\":12}"), "%s", s.buf + s.body);
  cr_assert_eq(sse_count(&s, "event: gap/x"), 8, "%s", s.buf + s.body);
  sse_close(&s);
}

/* ---- filters ------------------------------------------------------------ */

Test(notify, filters_with_plus_and_hash_select_the_topics)
{
  sse_t plus, hash, two, all;

  start_notify();
  sse_open(&plus, nport, "topic=f/%2B/x", NULL, 0);
  sse_open(&hash, nport, "topic=f/a/%23", NULL, 0);
  sse_open(&two, nport, "topic=f/b/x&topic=g", NULL, 0);
  sse_open(&all, nport, NULL, NULL, 0);
  bus_pub("f/a/x", "{\"n\":1}");
  bus_pub("f/b/x", "{\"n\":2}");
  bus_pub("f/a/y/z", "{\"n\":3}");
  bus_pub("f/a", "{\"n\":4}");
  bus_pub("g", "{\"n\":5}");
  bus_pub("h", "{\"n\":6}");
  cr_assert(sse_wait(&all, "{\"n\":6}", 10), "%s", all.buf + all.body);
  cr_assert(sse_wait(&plus, "{\"n\":2}", 10));
  cr_assert(sse_wait(&hash, "{\"n\":4}", 10));
  cr_assert(sse_wait(&two, "{\"n\":5}", 10));
  /* what each got, once "h" (last) reached the one without filters */
  cr_assert_eq(sse_count(&plus, "data: {\"n\":"), 2, "%s",
               plus.buf + plus.body);
  cr_assert_eq(sse_count(&hash, "data: {\"n\":"), 3, "%s",
               hash.buf + hash.body);
  cr_assert(strstr(hash.buf, "{\"n\":1}") && strstr(hash.buf, "{\"n\":3}"));
  cr_assert_eq(sse_count(&two, "data: {\"n\":"), 2, "%s", two.buf + two.body);
  cr_assert(strstr(two.buf, "{\"n\":2}"));
  cr_assert_geq(sse_count(&all, "data: {\"n\":"), 6);
  sse_close(&plus);
  sse_close(&hash);
  sse_close(&two);
  sse_close(&all);
}

Test(notify, a_bad_filter_or_id_is_400_with_the_reason_before_any_stream)
{
  char body[2048];
  sse_t s;

  start_notify();
  cr_assert_eq(run_http(nport, "GET", "/v1/events?topic=a/b%2B", NULL, NULL,
                        body, sizeof(body)), 400);
  cr_assert(strstr(body, "'+' stands for one whole level"), "%s", body);
  cr_assert_eq(run_http(nport, "GET", "/v1/events?topic=tessera/v1/%23",
                        NULL, NULL, body, sizeof(body)), 400);
  cr_assert(strstr(body, "without the prefix tessera/v1/"), "%s", body);
  sse_open(&s, nport, "topic=a", "Last-Event-ID: yesterday\r\n", 0);
  cr_assert_eq(s.status, 400, "%s", s.buf);
  cr_assert_null(strstr(s.buf, "text/event-stream"), "%s", s.buf);
  cr_assert(strstr(s.buf, "Last-Event-ID header 'yesterday' is not an "
                   "event id"), "%s", s.buf);
  sse_close(&s);
  /* another method: 405 naming GET */
  cr_assert_eq(run_http_headers(nport, "POST", "/v1/events", body,
                                sizeof(body)), 405);
  cr_assert(strstr(body, "Allow: GET"), "%s", body);
}

Test(notify, idle_streams_get_a_keepalive_comment)
{
  sse_t s;

  start_notify();
  sse_open(&s, nport, "topic=nothing/here", NULL, 0);
  cr_assert(sse_wait(&s, "\n: keepalive\n\n", 5), "%s", s.buf + s.body);
  sse_close(&s);
}

/* ---- a subscriber that does not read ------------------------------------ */

/* VmRSS of PID in KiB. */
static long
rss_kib(pid_t pid)
{
  char *status = run_read_file(apr_psprintf(tp, "/proc/%d/status",
                                            (int)pid));
  const char *at = strstr(status, "VmRSS:");
  long kib = at ? atol(at + 6) : -1;

  free(status);
  return kib;
}

/* The value of the metric NAME on the notification service, or -1. */
static long
metric(const char *name)
{
  static char body[1 << 16];
  const char *at;

  if (run_http(nport, "GET", "/metrics", NULL, NULL, body, sizeof(body))
      != 200)
    return -1;
  at = strstr(body, apr_pstrcat(tp, "\n", name, " ", NULL));
  return at ? atol(at + strlen(name) + 2) : -1;
}

Test(notify, a_reader_that_stops_is_dropped_and_memory_stays_bounded)
{
  sse_t slow, fast;
  char *payload = malloc(8193);
  long before, after, published = -1;
  int dropped = 0;

  /* under ASan, freed memory waits in its quarantine (256 MB) and
   * counts as RSS: without it RSS is what the service holds */
  cr_assert_eq(lf_start(&notifier, (const char *[]){ TESSERAD, "notify",
                        NULL }, notify_env("ASAN_OPTIONS=detect_leaks=0:"
                        "quarantine_size_mb=0"), in_root("notify.err"),
                        nport, 500, NULL), 0);
  memset(payload, 'x', 8192);
  payload[0] = '"';
  payload[8191] = '"';
  payload[8192] = '\0';
  sse_open(&slow, nport, "topic=bulk", NULL, 4096);
  sse_open(&fast, nport, "topic=bulk/end", NULL, 0);
  before = rss_kib(notifier);
  /* 4000 events of 8 KiB: 32 MiB the slow one does not take */
  for (int i = 0; i < 4000; i++)
    bus_pub("bulk", payload);
  bus_pub("bulk/end", "{\"done\":true}");
  cr_assert(bus_pub_flush(60));
  cr_assert(sse_wait(&fast, "{\"done\":true}", 30), "%s",
            fast.buf + fast.body);
  for (int i = 0; i < 100 && !dropped; i++) {
    dropped = metric("tessera_notify_dropped_slow_total") == 1;
    if (!dropped)
      usleep(50000);
  }
  published = metric("tessera_notify_events_total{family=\"bulk\"}");
  after = rss_kib(notifier);
  cr_assert_eq(published, 4001);
  cr_assert_lt(after - before, 16 * 1024, "RSS grew from %ld to %ld KiB",
               before, after);
  cr_assert(dropped, "the subscriber that stopped reading was not dropped "
            "(tessera_notify_dropped_slow_total %ld)",
            metric("tessera_notify_dropped_slow_total"));
  cr_assert(sse_wait_closed(&slow, 10), "the slow subscriber's connection "
            "stayed open");
  sse_close(&slow);
  sse_close(&fast);
  free(payload);
}

/* ---- the service itself ------------------------------------------------- */

Test(notify, it_registers_with_the_license_server_and_leaves_at_its_stop)
{
  char body[1 << 16], host[256];
  const char *pidfile;

  start_notify();
  cr_assert(lf_api_wait("/v1/status", apr_psprintf(tp, "\"kind\":\"notify\","
                                                   "\"host\":"), 10, body,
                        sizeof(body)), "%s", body);
  cr_assert(strstr(body, apr_psprintf(tp, "\"port\":%d", nport)), "%s", body);
  /* its files: INOPRJ/inonotify/<machine>.<port>/logs (no INONOTIFY) */
  cr_assert_eq(gethostname(host, sizeof(host)), 0);
  pidfile = apr_psprintf(tp, "%s/prj/inonotify/%s.%d/logs/notify.pid", root,
                         host, nport);
  cr_assert_eq(access(pidfile, F_OK), 0, "no %s", pidfile);
  lf_kill(&notifier, SIGTERM);
  cr_assert(lf_api_wait("/v1/status", "\"services\":[]", 10, body,
                        sizeof(body)), "%s", body);
}

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

/* notify_env() with libfaketime preloaded at 2031-12-31 23:59:57. */
static const char *const *
faked_env(void)
{
  static const char *e[16];
  /* an ASan build lets the preloaded library come before its runtime */
  const char *const *base = notify_env("ASAN_OPTIONS=detect_leaks=0:"
                                       "verify_asan_link_order=0");
  int n = 0;

  for (; base[n]; n++)
    e[n] = base[n];
  e[n++] = "FAKETIME=@2031-12-31 23:59:57";
  e[n++] = "LD_PRELOAD=" FAKETIME_LIB;
  e[n++] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
  e[n] = NULL;
  return e;
}

Test(notify, each_day_has_its_log_file)
{
  char host[256], *day1, *day2;
  const char *dir;
  time_t began = time(NULL);

  /* a clock just before midnight that runs on (libfaketime, preloaded
   * into tesserad itself so the signal reaches it; the monotonic clock of
   * the event loop left alone) */
  cr_assert_eq(access(FAKETIME_LIB, R_OK), 0, "%s: install faketime",
               FAKETIME_LIB);
  cr_assert_eq(lf_start(&notifier, (const char *[]){ TESSERAD, "notify",
                                                     NULL },
                        faked_env(), in_root("notify.err"), nport, 500,
                        NULL), 0);
  while (time(NULL) - began < 5)      /* the faked clock passes midnight */
    usleep(100000);
  lf_kill(&notifier, SIGTERM);        /* its last lines: the new day's */
  cr_assert_eq(gethostname(host, sizeof(host)), 0);
  dir = apr_psprintf(tp, "%s/prj/inonotify/%s.%d/logs", root, host, nport);
  day1 = run_read_file(apr_psprintf(tp, "%s/notify.2031-12-31.log", dir));
  day2 = run_read_file(apr_psprintf(tp, "%s/notify.2032-01-01.log", dir));
  cr_assert(strstr(day1, "serving on port"), "%s", day1);
  cr_assert(strstr(day2, "stopped"), "2032-01-01: '%s'; 2031-12-31: '%s'",
            day2, day1);
  cr_assert_null(strstr(day1, "stopped"), "%s", day1);
  free(day1);
  free(day2);
}
