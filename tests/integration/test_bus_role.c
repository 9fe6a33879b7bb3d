/* test_bus_role.c: the bus broker beside the servers that run it, with
 * the real tesserad and the real mosquitto (Linux): `tesserad bus`
 * started beside a running `tesserad license` with the same settings
 * refuses (exit 69) and names the license server that owns the broker,
 * whose broker keeps running, unrestarted, and whose server stays
 * healthy; after the broker's log was moved away and tesserad got HUP (a
 * log rotation), the broker's new lines land in the new mosquitto.log,
 * for the license server's broker and for the bus service's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

TestSuite(bus_role, .init = lf_setup, .fini = lf_teardown, .timeout = 90);

/* INOLIC/logs/bus.<p+1>/NAME */
static const char *
bus_file(const char *name)
{
  return in_root(apr_psprintf(tp, "lic/logs/bus.%d/%s", port + 1, name));
}

/* The first line of the broker's pid file: its pid, 0 without one. */
static long
broker_pid(void)
{
  char *text = run_read_file(bus_file("mosquitto.pid"));
  long pid = atol(text);

  free(text);
  return pid;
}

/* Whether PID runs (a zombie does not). */
static int
runs(long pid)
{
  char *stat = run_read_file(apr_psprintf(tp, "/proc/%ld/stat", pid));
  const char *paren = strrchr(stat, ')');
  int ok = paren && paren[1] == ' ' && paren[2] && paren[2] != 'Z';

  free(stat);
  return ok;
}

/* Whether the file PATH contains NEEDLE now. */
static int
file_has(const char *path, const char *needle)
{
  char *text = run_read_file(path);
  int has = strstr(text, needle) != NULL;

  free(text);
  return has;
}

/* Wait up to SECONDS until PATH contains NEEDLE. */
static int
await_text(const char *path, const char *needle, int seconds)
{
  for (int i = 0; i < seconds * 20; i++) {
    if (file_has(path, needle))
      return 1;
    usleep(50000);
  }
  return 0;
}

/* Connect to the broker and hang up: mosquitto logs "New connection from
 * 127.0.0.1:<the client's port> on port <p+1>." That text is returned. */
static const char *
poke_broker(void)
{
  struct sockaddr_in to = { 0 }, me = { 0 };
  socklen_t len = sizeof(me);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  cr_assert_geq(fd, 0);
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)(port + 1));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0,
               "the broker on port %d does not accept connections",
               port + 1);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
  close(fd);
  return apr_psprintf(tp, "New connection from 127.0.0.1:%d on port %d.",
                      ntohs(me.sin_port), port + 1);
}

/* logrotate's way with the broker's log, for tesserad SERVER: the file
 * moved away, HUP; then the broker's next line is in the new file. */
static void
rotate_and_check(pid_t tesserad)
{
  const char *log = bus_file("mosquitto.log");
  const char *old = bus_file("mosquitto.log.1");
  const char *line;

  cr_assert_eq(rename(log, old), 0);
  cr_assert_eq(kill(tesserad, SIGHUP), 0);
  /* the broker's last line before it reopens its log (one iteration of
   * its loop: a connection made after this is logged after the reopen) */
  cr_assert(await_text(old, "Reloading config.", 10), "the broker did not "
            "get the HUP: %s", run_read_file(old));
  line = poke_broker();
  cr_assert(await_text(log, line, 10), "'%s' is not in the new %s (it "
            "has: '%s'; the moved-away file ends: '%s')", line, log,
            run_read_file(log), run_read_file(old));
  cr_assert_not(file_has(old, line), "'%s' went to the moved-away %s too",
                line, old);
}

Test(bus_role, bus_beside_a_license_server_refuses_and_leaves_its_broker)
{
  const char *argv[] = { TESSERAD, "bus", NULL };
  const char *errfile = in_root("bus.err");
  const char *lic_log = in_root(apr_psprintf(tp, "lic/logs/license.%d/"
                                             "license.log", port));
  apr_proc_t bus;
  apr_exit_why_e why;
  int code = -1, done = 0;
  char *said;
  long broker;

  start_server();
  broker = broker_pid();
  cr_assert_gt(broker, 1, "no broker pid in %s", bus_file("mosquitto.pid"));
  run_start(&bus, argv, env(), errfile, tp);
  for (int i = 0; i < 400 && !done; i++) {   /* 20 s */
    done = apr_proc_wait(&bus, &code, &why, APR_NOWAIT) == APR_CHILD_DONE;
    if (!done)
      usleep(50000);
  }
  if (!done) {
    apr_proc_kill(&bus, SIGKILL);
    apr_proc_wait(&bus, &code, &why, APR_WAIT);
    cr_assert_fail("tesserad bus did not refuse to start beside the license "
                   "server; it said: %s", run_read_file(errfile));
  }
  said = run_read_file(errfile);
  cr_assert_eq(code, 69, "exit %d: %s", code, said);
  cr_assert(strstr(said, apr_psprintf(tp, "belongs to the license server on "
                                       "port %d (pid %ld), which still runs",
                                       port, (long)server)),
            "the license server is not named: %s", said);
  cr_assert(strstr(said, "<bus start=\"external\"/>"), "%s", said);
  free(said);

  /* the license server's broker is untouched, and so is the server */
  cr_assert_eq(broker_pid(), broker, "the broker's pid file changed");
  cr_assert(runs(broker), "the license server's broker (pid %ld) was "
            "stopped", broker);
  cr_assert_eq(run_http(port, "GET", "/health", NULL, NULL, NULL, 0), 200);
  cr_assert_not(file_has(lic_log, "starting it again"), "the broker was "
                "restarted: %s", run_read_file(lic_log));
  cr_assert_not(file_has(lic_log, "left behind"), "%s",
                run_read_file(lic_log));
}

Test(bus_role, the_license_servers_broker_log_follows_a_rotation)
{
  start_server();
  rotate_and_check(server);
}

Test(bus_role, the_bus_services_broker_log_follows_a_rotation)
{
  const char *argv[] = { TESSERAD, "bus", NULL };
  apr_proc_t bus;
  int up = 0;

  run_start(&bus, argv, env(), in_root("bus.err"), tp);
  server = bus.pid;   /* the fixture's teardown ends it */
  for (int i = 0; i < 200 && !up; i++) {   /* 10 s */
    up = broker_pid() > 1 && file_has(bus_file("bus.log"), "serving on");
    if (!up)
      usleep(50000);
  }
  cr_assert(up, "tesserad bus did not come up: %s",
            run_read_file(in_root("bus.err")));
  rotate_and_check(bus.pid);
}
