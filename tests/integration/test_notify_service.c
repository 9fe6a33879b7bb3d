/* test_notify_service.c: mail about changes end to end (Linux): a real
 * license server with its bus, `tesserad notify` on p+4 whose tessera.xml
 * names a real SMTP server on loopback (smtp_sink.py, python3-aiosmtpd),
 * `tessera-admin notify subscribe`, and a model server (`tesserad model`)
 * whose element changes are events on the bus. The notice arrives with
 * the change; with the SMTP server down the next one waits, survives a
 * kill -9 of the notification service, and arrives once after its
 * restart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "model_fixture.h"

#define PASSWORD "notify-e2e-pass"
#define PYTHON "/usr/bin/python3"
#define SINK TESSERA_SOURCE_DIR "/tests/integration/smtp_sink.py"

static int sink_port;
static apr_proc_t sink;
static int sink_up;
static pid_t notifier = -1;
static const char *spool;
static apr_pool_t *own;          /* before the fixture's pool exists */

static const char *sink_dir;     /* the spool and the sink's output */

static void
sink_start(void)
{
  const char *out = apr_pstrcat(own, sink_dir, "/sink.out", NULL);
  const char *argv[] = { PYTHON, SINK, apr_itoa(own, sink_port), spool,
                         NULL };
  int up = 0;

  run_write_file(out, "");
  run_start(&sink, argv, NULL, out, own);
  for (int i = 0; i < 1000 && !up; i++) {
    char *t = run_read_file(out);
    up = strstr(t, "listening") != NULL;
    free(t);
    if (!up)
      apr_sleep(apr_time_from_msec(20));
  }
  cr_assert(up, "the SMTP server did not start on port %d", sink_port);
  sink_up = 1;
}

static void
sink_stop(void)
{
  int code;
  apr_exit_why_e why;

  if (!sink_up)
    return;
  apr_proc_kill(&sink, SIGKILL);
  apr_proc_wait(&sink, &code, &why, APR_WAIT);
  sink_up = 0;
}

static const char *
config(void)
{
  return apr_psprintf(own,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"2\"/>\n"
    "  </license-server>\n"
    "  <machine name=\"localhost\"/>\n"
    "  <model-servers heartbeat-seconds=\"1\"/>\n"
    "  <notify retry-seconds=\"1\" retry-max-seconds=\"2\">\n"
    "    <smtp host=\"127.0.0.1\" port=\"%d\" from=\"tessera@example.com\""
    " starttls=\"none\" timeout-seconds=\"10\"/>\n"
    "  </notify>\n"
    "</tessera>\n", sink_port);
}

static const char *const *
notify_env(void)
{
  return mf_env(apr_pstrcat(tp, "INONOTIFY=", in_root("notify"), NULL));
}

static void
start_notifier(void)
{
  const char *argv[] = { TESSERAD, "notify", NULL };
  char *err = NULL;

  cr_assert_eq(lf_start(&notifier, argv, notify_env(),
                        in_root("notify.err"), port + 4, 500, &err), 0,
               "tesserad notify did not serve: %s", err);
  free(err);
}

static void
setup(void)
{
  char dir[] = "/tmp/tessera-sink-XXXXXX";

  apr_initialize();
  apr_pool_create(&own, NULL);
  cr_assert_not_null(mkdtemp(dir));
  chmod(dir, 0755);
  sink_dir = apr_pstrdup(own, dir);
  spool = apr_pstrcat(own, dir, "/kept", NULL);
  cr_assert_eq(mkdir(spool, 0755), 0);
  sink_port = run_free_port();
  sink_start();            /* its port taken before the fixture picks p */
  mf_setup(config());
  run_write_file(in_root("pw"), PASSWORD "\n" PASSWORD "\n");
  cr_assert_eq(system(apr_psprintf(tp, "env %s %s %s %s %s license passwd "
                                   "--stdin < %s >/dev/null 2>&1",
                                   env()[1], env()[2], env()[3], env()[4],
                                   TESSERA_ADMIN, in_root("pw"))), 0);
  run_write_file(in_root("pw"), PASSWORD "\n");
  cr_assert_eq(mkdir(in_root("notify"), 0755), 0);
  start_notifier();
}

static void
teardown(void)
{
  lf_kill(&notifier, SIGTERM);
  mf_teardown();
  sink_stop();
  if (!getenv("KEEP_TEST_DIR"))
    system(apr_psprintf(own, "rm -rf %s", sink_dir));
  apr_pool_destroy(own);
}

TestSuite(notify_service, .init = setup, .fini = teardown, .timeout = 120);

static int
count_messages(void)
{
  DIR *d = opendir(spool);
  struct dirent *e;
  int n = 0;

  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

/* All the messages kept, one text (quoted-printable soft breaks
 * joined). */
static char *
all_messages(void)
{
  char *cmd = apr_psprintf(tp, "cat %s/[0-9]* 2>/dev/null | sed -e "
                           "':a;/=\\r$/{N;s/=\\r\\n//;ba}' > %s", spool,
                           in_root("all.txt"));

  cr_assert_eq(system(cmd), 0);
  return run_read_file(in_root("all.txt"));
}

/* Wait up to SECONDS until the notification service's /metrics has
 * the sample LINE. */
static int
metric(const char *line, int seconds)
{
  char *body = malloc(1 << 16);
  int found = 0;

  for (int i = 0; i < seconds * 50 && !found; i++) {
    found = run_http(port + 4, "GET", "/metrics", NULL, NULL, body, 1 << 16)
              == 200 && strstr(body, line);
    if (!found)
      apr_sleep(apr_time_from_msec(20));
  }
  free(body);
  return found;
}

/* Whether a sample of the counter NAME (with any labels) is above 0. */
static int
counted(void *name)
{
  char *body = malloc(1 << 16);
  apr_size_t len = strlen(name);
  int found = 0;

  if (run_http(port + 4, "GET", "/metrics", NULL, NULL, body, 1 << 16)
      == 200)
    for (char *line = body; line && *line && !found;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
      char *end = strchr(line, '\n'), *space;
      if (end)
        *end = '\0';
      space = strrchr(line, ' ');
      found = strncmp(line, name, len) == 0
              && (line[len] == ' ' || line[len] == '{') && space
              && strtod(space + 1, NULL) > 0;
      if (end)
        *end = '\n';
    }
  free(body);
  return found;
}

static int
messages_at_least(void *n)
{
  return count_messages() >= *(int *)n;
}

Test(notify_service, a_model_servers_change_is_mailed_once_also_across_a_kill)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char token[65], id[32], *text;
  const char *cmd;
  long element;
  int two = 2, one = 1;

  /* subscribed with tessera-admin, which finds the service on p+4 */
  cmd = apr_psprintf(tp, "env %s %s %s %s %s notify subscribe alice "
                     "bridge@v1 --every immediate --mail alice@example.com "
                     "--password-stdin --as tester < %s > /dev/null", env()[1], env()[2],
                     env()[3], env()[4], TESSERA_ADMIN, in_root("pw"));
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  /* the service hears the bus (the retained state at its connect) */
  cr_assert(mf_poll(counted, "tessera_notify_events_total", 20),
            "the notification service heard nothing on the bus");
  mf_start(0, repo);
  cr_assert_eq(mf_session(ms_port[0], "bob", "ws1", token, id), 201);
  element = mf_create(ms_port[0], token, "Span", "Deck", 0, "{}");
  cr_assert_gt(element, 0);
  cr_assert(mf_poll(messages_at_least, &one, 20), "no mail arrived: %s",
            run_read_file(in_root("notify.err")));
  text = all_messages();
  cr_assert(strstr(text, "To: <alice@example.com>"), "%s", text);
  cr_assert(strstr(text, apr_psprintf(tp, "bridge@v1/%ld: \"Deck\" (Span) "
                                      "created by bob", element)), "%s",
            text);
  free(text);
  cr_assert(metric("tessera_notify_mail_sent_total 1\n", 10));
  /* the SMTP server goes down: the next change waits, tried and failed */
  sink_stop();
  cr_assert_eq(mf_call(ms_port[0], "PUT", apr_psprintf(tp, "/v1/elements/"
                       "%ld", element), "{\"revision\":1,\"name\":\"Deck 2\"}",
                       token, NULL), 200);
  cr_assert(mf_poll(counted, "tessera_notify_mail_failed_attempts_total",
                    20), "no failed attempt");
  /* killed, started again, the server back: it arrives, once */
  lf_kill(&notifier, SIGKILL);
  start_notifier();
  sink_start();
  cr_assert(mf_poll(messages_at_least, &two, 30), "the waiting mail did not "
            "arrive after the restart: %s",
            run_read_file(in_root("notify.err")));
  cr_assert(metric("tessera_notify_mail_sent_total 1\n", 10));
  cr_assert(metric("tessera_notify_mail_queued 0\n", 10));
  cr_assert(metric("tessera_notify_mail_pending_changes 0\n", 10));
  cr_assert_eq(count_messages(), 2);
  text = all_messages();
  cr_assert(strstr(text, apr_psprintf(tp, "bridge@v1/%ld: \"Deck 2\" (Span) "
                                      "changed by bob", element)), "%s",
            text);
  free(text);
}
