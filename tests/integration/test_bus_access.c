/* test_bus_access.c: who may say what on the license server's bus, and
 * as whom its broker runs, against the real tesserad and the real
 * mosquitto (Linux): anonymous clients read but what they publish changes
 * nothing; the servers' user with a wrong password, or another user, is
 * refused, while the password derived from a copy of INODIR/server.key
 * publishes (the password file holds only its hash); an anonymous client
 * with the client id the license server used to have takes nothing over
 * (the server's "down" will is never heard); the broker runs as the
 * service account or nobody when the server is root, and ends with a
 * server killed by SIGKILL; a fake pid in the broker's pid file gets no
 * process signalled. */
#include <pwd.h>
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
#include "ts_credential.h"

static const lf_options_t options = {
  .name = "busacc", .asan = "detect_leaks=0", .config = lf_plain_config,
  .stop_signal = SIGTERM,
};

static void
setup(void)
{
  lf_setup_with(&options);
}

TestSuite(bus_access, .init = setup, .fini = lf_teardown, .timeout = 60);

static const char checkout_json[] =
  "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
  "\"application\":\"modeler\"}";

/* mosquitto_pub to the bus with ARGS (up to 12) after the port. QoS 1, so
 * the broker has handled the message when it returns. */
static run_result_t
bus_pub(const char *const *args)
{
  const char *argv[20] = { "/usr/bin/mosquitto_pub", "-h", "127.0.0.1",
                           "-p", apr_psprintf(tp, "%d", port + 1), "-q",
                           "1" };
  int n = 7;

  for (int i = 0; args[i]; i++)
    argv[n++] = args[i];
  return run(argv, env(), NULL);
}

/* The first retained message, "topic payload", among TOPICS (subscribed
 * to in one request, whose retained messages come in that order). */
static char *
bus_first(const char *const *topics)
{
  const char *argv[20] = { "/usr/bin/mosquitto_sub", "-h", "127.0.0.1",
                           "-p", apr_psprintf(tp, "%d", port + 1), "-v",
                           "-C", "1", "-W", "5" };
  int n = 10;
  run_result_t r;
  char *out;

  for (int i = 0; topics[i]; i++) {
    argv[n++] = "-t";
    argv[n++] = apr_pstrcat(tp, "tessera/v1/", topics[i], NULL);
  }
  r = run(argv, env(), NULL);
  out = strdup(r.out);
  run_free(&r);
  return out;
}

Test(bus_access, anonymous_clients_read_but_cannot_publish)
{
  const char *forged = "{\"state\":\"forged\",\"seats\":999}";
  char body[4096], *first;
  run_result_t r;

  start_server();
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  cr_assert(bus_wait("products/demo", "\"seats\":5", 5));
  for (const char *const *t = (const char *const[]){ "license/state",
       "products/demo", "products/forged", NULL }; *t; t++) {
    r = bus_pub((const char *[]){ "-r", "-t", apr_pstrcat(tp, "tessera/v1/",
                                  *t, NULL), "-m", forged, NULL });
    cr_assert_eq(r.status, 0, "%s", r.err);   /* MQTT 3.1.1: no refusal */
    run_free(&r);
  }
  /* no retained products/forged (it would come first), the state as the
   * server said it */
  first = bus_first((const char *[]){ "products/forged", "license/state",
                                      NULL });
  {
    const char *want = "tessera/v1/license/state {\"state\":\"up\"";
    cr_assert(strncmp(first, want, strlen(want)) == 0, "an anonymous client "
              "changed the bus: %s", first);
  }
  free(first);
  first = bus_read("products/demo");
  cr_assert(strstr(first, "\"seats\":5") && !strstr(first, "forged"), "%s",
            first);
  free(first);
  /* anonymous subscribers still hear the server */
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        body, sizeof(body)), 201, "%s", body);
  cr_assert(bus_wait("products/demo", "\"used\":1", 5),
            "the server's seat count did not reach the bus");
}

Test(bus_access, only_the_server_credential_publishes)
{
  const char *passwd, *password, *key = in_root("params/server.key");
  ts_credential_t *cred;
  char *got;
  run_result_t r;

  start_server();
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  /* the servers' user with a wrong password, and a user it does not
   * know, are refused */
  r = bus_pub((const char *[]){ "-u", "tessera-server", "-P", "guess", "-r",
                                "-t", "tessera/v1/projects/99.9", "-m", "{}",
                                NULL });
  cr_assert_neq(r.status, 0, "a wrong password was let in");
  cr_assert(strstr(r.err, "not authorised"), "%s", r.err);
  run_free(&r);
  r = bus_pub((const char *[]){ "-u", "mallory", "-P", "x", "-r", "-t",
                                "tessera/v1/projects/99.9", "-m", "{}",
                                NULL });
  cr_assert_neq(r.status, 0, "an unknown user was let in");
  run_free(&r);

  /* a copy of INODIR/server.key is what a second machine's servers need:
   * the password derived from it publishes */
  cr_assert_null(ts_credential_load(&cred, key, tp), "no %s", key);
  password = ts_credential_derive(cred, "bus", tp);
  r = bus_pub((const char *[]){ "-u", "tessera-server", "-P", password, "-r",
                                "-t", "tessera/v1/projects/99.9", "-m",
                                "{\"state\":\"up\",\"host\":\"second\"}",
                                NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  got = bus_read("projects/99.9");
  cr_assert(strstr(got, "\"host\":\"second\""), "%s", got);
  free(got);

  /* the broker's password file holds a salted hash, not the password */
  passwd = run_read_file(apr_psprintf(tp, "%s/logs/bus.%d/mosquitto.passwd",
                                      lic, port + 1));
  cr_assert(strncmp(passwd, "tessera-server:$6$", 18) == 0, "%s", passwd);
  cr_assert_null(strstr(passwd, password), "the password is in clear");
  free((void *)passwd);
}

Test(bus_access, nobody_takes_the_license_servers_connection_over)
{
  const char *heard = in_root("heard.txt");
  const char *sub[] = { "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p",
                        apr_psprintf(tp, "%d", port + 1), "-v", "-t",
                        "tessera/v1/#", NULL };
  apr_proc_t listener;
  char *text = NULL;
  int code, ok = 0;
  apr_exit_why_e why;
  run_result_t r;

  start_server();
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  run_start(&listener, sub, env(), heard, tp);
  for (int i = 0; i < 100 && !ok; i++, usleep(50000)) {
    free(text);
    text = run_read_file(heard);
    ok = strstr(text, "\"state\":\"up\"") != NULL;
  }
  cr_assert(ok, "the listener heard nothing: %s", text);
  /* an anonymous client with the client id the license server had: its
   * connection would end the server's, whose last will says "down" */
  r = bus_pub((const char *[]){ "-i", apr_psprintf(tp, "tessera-license-%d",
                                port), "-t", "tessera/v1/x", "-m", "x",
                                NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  /* something the server says after it, which the listener hears in
   * order */
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", checkout_json, NULL,
                        NULL, 0), 201);
  ok = 0;
  for (int i = 0; i < 100 && !ok; i++, usleep(50000)) {
    free(text);
    text = run_read_file(heard);
    ok = strstr(text, "\"used\":1") != NULL;
  }
  apr_proc_kill(&listener, SIGTERM);
  apr_proc_wait(&listener, &code, &why, APR_WAIT);
  cr_assert(strstr(text, "\"used\":1"), "the server's seat count never "
            "came: %s", text);
  cr_assert_null(strstr(text, "\"state\":\"down\""), "the server's "
                 "connection was taken over: %s", text);
  free(text);
}

/* The real uid of process PID (-1: it is gone or a zombie). */
static long
uid_of(long pid)
{
  char *status = run_read_file(apr_psprintf(tp, "/proc/%ld/status", pid));
  const char *u = strstr(status, "\nUid:"), *st = strstr(status, "State:");
  long uid = u && !(st && strncmp(st, "State:\tZ", 8) == 0)
             ? strtol(u + 5, NULL, 10) : -1;

  free(status);
  return uid;
}

Test(bus_access, the_broker_never_runs_as_root_and_ends_with_the_server)
{
  struct passwd *pw = getpwnam("tessera");
  long want = geteuid() != 0 ? (long)geteuid()
              : pw ? (long)pw->pw_uid : (long)getpwnam("nobody")->pw_uid;
  char *text;
  long broker, uid = -1;

  start_server();
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  text = run_read_file(apr_psprintf(tp, "%s/logs/bus.%d/mosquitto.pid", lic,
                                    port + 1));
  broker = atol(text);
  free(text);
  cr_assert_gt(broker, 1);
  uid = uid_of(broker);
  cr_assert_eq(uid, want, "the broker (pid %ld) runs as uid %ld, not %ld "
               "(the service account, or nobody, when the server is root)",
               broker, uid, want);
  /* kill -9: the broker must not outlive the server (its account changed
   * before the parent-death signal was set) */
  kill(server, SIGKILL);
  waitpid(server, NULL, 0);
  server = -1;
  for (int i = 0; i < 100 && uid_of(broker) >= 0; i++)
    usleep(50000);
  cr_assert_lt(uid_of(broker), 0, "the broker (pid %ld) outlived the killed "
               "license server", broker);
}

Test(bus_access, a_fake_broker_pid_signals_no_other_process)
{
  const char *dir = apr_psprintf(tp, "%s/logs/bus.%d", lic, port + 1);
  const char *conf = apr_pstrcat(tp, dir, "/mosquitto.conf", NULL);
  char cmd[400];
  pid_t decoy;
  int ok = 0, in[2];

  /* a process that names the broker's configuration (one process: the
   * shell waits in its built-in read on a pipe the test holds), its pid in
   * the broker's pid file, as a local user could arrange */
  cr_assert_eq(pipe(in), 0);
  decoy = fork();
  if (decoy == 0) {
    dup2(in[0], 0);
    close(in[0]);
    close(in[1]);
    execl("/bin/sh", "sh", "-c", "read line", "sh", conf, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  for (int i = 0; i < 100 && !ok; i++, usleep(20000)) {
    char path[64], buf[4096];
    FILE *f;
    size_t got = 0;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)decoy);
    if ((f = fopen(path, "r"))) {
      got = fread(buf, 1, sizeof(buf), f);
      fclose(f);
    }
    ok = memmem(buf, got, conf, strlen(conf)) != NULL;
  }
  cr_assert(ok, "the decoy did not start");
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo %d > '%s/mosquitto.pid'",
           dir, (int)decoy, dir);
  cr_assert_eq(system(cmd), 0);
  start_server();
  cr_assert(bus_wait("license/state", "\"state\":\"up\"", 10));
  cr_assert_eq(waitpid(decoy, NULL, WNOHANG), 0, "the process named by a "
               "fake pid in mosquitto.pid was signalled");
  close(in[1]);
  kill(decoy, SIGKILL);
  waitpid(decoy, NULL, 0);
}
