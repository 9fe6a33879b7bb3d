/* test_license_win32.c: the license server on Windows (under wine in CI)
 * with its bus, the real mosquitto.exe built by installer/windows-deps.sh:
 * tesserad.exe in a console starts the broker on p+1 as its child; the
 * retained state and seat counts reach the bus (read with libmosquitto);
 * a killed broker comes back; and the broker ends with the license server
 * even when that is killed (TerminateProcess: the job object), the first
 * one and one the supervisor started again. The generated configuration
 * (password file, ACL, Windows paths) works with this broker, which has
 * no TLS and so takes the password as it is: the server publishes,
 * anonymous clients read but their publications change nothing, and a
 * wrong password is refused. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include <mosquitto.h>

#include "run.h"
#include "ts_bus.h"
#include "ts_httpd.h"

static apr_pool_t *tp;
static const char *root, *lic;
static int port;
static const char *env[16];
static apr_proc_t server;
static int server_running;

/* wine needs these to find the prefix's system directories */
static const char *const keep[] = { "SystemRoot", "windir", "TEMP", "TMP",
                                    "PATH", NULL };

static void
admin_ok(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  run_result_t r;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "%s: %s %s", args[0], r.out, r.err);
  run_free(&r);
}

static void
setup(void)
{
  const char *tmp;
  int n = 0;

  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&tp, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, tp), APR_SUCCESS);
  root = apr_psprintf(tp, "%s\\tessera-lic-%lu", tmp,
                      (unsigned long)GetCurrentProcessId());
  lic = apr_pstrcat(tp, root, "\\lic", NULL);
  cr_assert_eq(apr_dir_make_recursive(lic, APR_FPROT_OS_DEFAULT, tp),
               APR_SUCCESS);
  port = run_free_port();
  for (const char *const *k = keep; *k; k++)
    if (getenv(*k))
      env[n++] = apr_psprintf(tp, "%s=%s", *k, getenv(*k));
  env[n++] = apr_psprintf(tp, "INOHOST=localhost.%d", port);
  env[n++] = apr_pstrcat(tp, "INOLIC=", lic, NULL);
  /* the server credential goes there: not the machine's INODIR */
  env[n++] = apr_pstrcat(tp, "INODIR=", root, "\\params", NULL);
  env[n] = NULL;
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             apr_pstrcat(tp, root, "\\demo.lic", NULL),
                             NULL });
  admin_ok((const char *[]){ "license", "import",
                             apr_pstrcat(tp, root, "\\demo.lic", NULL),
                             NULL });
  /* the broker this build made, named in tessera.xml */
  run_write_file(apr_pstrcat(tp, lic, "\\tessera.xml", NULL), apr_psprintf(tp,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <bus start=\"child\" program=\"%s\"/>\n"
    "  </license-server>\n"
    "</tessera>\n", TESSERA_BUS_PROGRAM));
}

static void
teardown(void)
{
  int code;
  apr_exit_why_e why;

  if (server_running) {
    apr_proc_kill(&server, 9);
    apr_proc_wait(&server, &code, &why, APR_WAIT);
  }
  {
    const char *cmd = apr_psprintf(tp, "%s\\system32\\cmd.exe",
                                   getenv("SystemRoot"));
    run_result_t r = run((const char *[]){ cmd, "/c", "rmdir", "/s", "/q",
                                           root, NULL }, env, NULL);
    run_free(&r);
  }
  apr_pool_destroy(tp);
  apr_terminate();
}

TestSuite(license_win32, .init = setup, .fini = teardown, .timeout = 120);

static void
start_server(void)
{
  const char *argv[] = { TESSERAD, "license", "--console", NULL };
  const char *errfile = apr_pstrcat(tp, root, "\\server.err", NULL);

  run_start(&server, argv, env, errfile, tp);
  server_running = 1;
  for (int i = 0; i < 300; i++) {
    if (run_http(port, "GET", "/health", NULL, NULL, NULL, 0) == 200)
      return;
    Sleep(50);
  }
  cr_assert_fail("tesserad.exe did not answer on port %d: %s", port,
                 run_read_file(errfile));
}

/* The retained message on TOPIC contains WANT within SECONDS. */
static int
bus_says(const char *topic, const char *want, int seconds)
{
  for (int i = 0; i < seconds * 4; i++) {
    const char *payload = NULL;
    ts_error_t *err = ts_bus_read_retained(&payload, "127.0.0.1", port + 1,
                                           topic, apr_time_from_msec(500),
                                           tp);
    ts_error_clear(err);
    if (payload && strstr(payload, want))
      return 1;
    Sleep(250);
  }
  return 0;
}

static DWORD
pid_in(const char *path)
{
  char *text = run_read_file(path);
  DWORD pid = (DWORD)strtoul(text, NULL, 10);

  free(text);
  return pid;
}

/* TerminateProcess the license server: its broker must end too (the job
 * object), whether the first or one the supervisor started again. */
static void
kill_server_and_see_the_broker_end(const char *pidfile)
{
  int code, gone = 0;
  apr_exit_why_e why;

  apr_proc_kill(&server, 9);
  apr_proc_wait(&server, &code, &why, APR_WAIT);
  server_running = 0;
  for (int i = 0; i < 40 && !gone; i++) {
    const char *payload = NULL;
    ts_error_t *err = ts_bus_read_retained(&payload, "127.0.0.1", port + 1,
                                           "license/state",
                                           apr_time_from_msec(300), tp);
    gone = err != NULL;
    ts_error_clear(err);
    if (!gone)
      Sleep(250);
  }
  cr_assert(gone, "the broker (pid %lu) outlived the killed license server",
            (unsigned long)pid_in(pidfile));
}

Test(license_win32, bus_child_carries_state_and_comes_back)
{
  const char *pidfile = apr_psprintf(tp, "%s\\logs\\bus.%d\\mosquitto.pid",
                                     lic, port + 1);
  char body[4096];
  DWORD first, again = 0;
  HANDLE h;

  start_server();
  cr_assert(bus_says("license/state", "\"state\":\"up\"", 10),
            "no license state on the bus");
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", "{\"product\":\"demo\","
                        "\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
                        "\"application\":\"modeler\"}", NULL, body,
                        sizeof(body)), 201, "%s", body);
  cr_assert(bus_says("products/demo", "\"used\":1", 10),
            "the seat count did not reach the bus");

  /* the broker dies: the supervisor starts another, which gets the state */
  first = pid_in(pidfile);
  cr_assert_gt(first, 0, "no broker pid in %s", pidfile);
  h = OpenProcess(PROCESS_TERMINATE, FALSE, first);
  cr_assert_not_null(h);
  cr_assert(TerminateProcess(h, 1));
  CloseHandle(h);
  for (int i = 0; i < 60 && (!again || again == first); i++) {
    Sleep(250);
    again = pid_in(pidfile);
  }
  cr_assert(again && again != first, "the broker was not restarted");
  cr_assert(bus_says("license/state", "\"state\":\"up\"", 10),
            "the restarted bus did not get the state back");
  cr_assert(bus_says("products/demo", "\"used\":1", 10));
  /* and the restarted broker ends with the server, too */
  kill_server_and_see_the_broker_end(pidfile);
}

/* kill -9's counterpart, for the first broker */
Test(license_win32, broker_ends_with_the_killed_server)
{
  start_server();
  cr_assert(bus_says("license/state", "\"state\":\"up\"", 10),
            "no license state on the bus");
  kill_server_and_see_the_broker_end(apr_psprintf(tp, "%s\\logs\\bus.%d\\"
                                                  "mosquitto.pid", lic,
                                                  port + 1));
}

/* ---- who may say what on the bus ---------------------------------------- */

typedef struct client_t {
  int connack;         /* -1 until the broker answered the connect */
  int acked;           /* the publication was acknowledged (QoS 1) */
} client_t;

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
  (void)m;
  ((client_t *)obj)->connack = rc;
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
  (void)m;
  (void)mid;
  ((client_t *)obj)->acked = 1;
}

/* Publish PAYLOAD retained on TOPIC with QoS 1 as USER/PASSWORD (NULL:
 * anonymously); returns the broker's connect answer (0: accepted), once
 * the publication was acknowledged when it was. */
static int
publish_as(const char *user, const char *password, const char *topic,
           const char *payload)
{
  client_t c = { -1, 0 };
  struct mosquitto *m = mosquitto_new(NULL, true, &c);
  int rc;

  cr_assert_not_null(m);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_publish_callback_set(m, on_publish);
  if (user)
    mosquitto_username_pw_set(m, user, password);
  rc = mosquitto_connect(m, "127.0.0.1", port + 1, 10);
  cr_assert_eq(rc, MOSQ_ERR_SUCCESS, "%s", mosquitto_strerror(rc));
  for (int i = 0; i < 100 && c.connack < 0; i++)
    mosquitto_loop(m, 100, 1);
  cr_assert_geq(c.connack, 0, "the broker did not answer the connect");
  if (c.connack == 0) {
    cr_assert_eq(mosquitto_publish(m, NULL, topic, (int)strlen(payload),
                                   payload, 1, true), MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 100 && !c.acked; i++)
      mosquitto_loop(m, 100, 1);
    cr_assert(c.acked, "the publication was not acknowledged");
  }
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  return c.connack;
}

Test(license_win32, anonymous_clients_read_but_cannot_publish)
{
  const char *payload = NULL;
  ts_error_t *err;

  mosquitto_lib_init();
  start_server();
  cr_assert(bus_says("license/state", "\"state\":\"up\"", 10),
            "no license state on the bus: the server's login failed?");
  cr_assert_eq(publish_as(NULL, NULL, "tessera/v1/license/state",
                          "{\"state\":\"forged\"}"), 0);
  err = ts_bus_read_retained(&payload, "127.0.0.1", port + 1,
                             "license/state", apr_time_from_sec(5), tp);
  cr_assert_null(err, "%s", ts_error_text(err, tp));
  cr_assert(payload && strstr(payload, "\"state\":\"up\""),
            "an anonymous client changed the bus: %s", payload);
  cr_assert_eq(publish_as(TS_BUS_SERVER_USER, "guess",
                          "tessera/v1/license/state", "{}"), 5,
               "a wrong password was not refused (connack 5)");
}
