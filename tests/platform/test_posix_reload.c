/* test_posix_reload.c: a server's reloads, in this process, driven by real
 * signals through the Linux service runtime (tsp_service_run) and the
 * server runtime (ts_server) with a role of the test's own: SIGHUP after
 * SIGHUP, the log reopened and the settings read again each time, and
 * the process's pool left as it was (every reload works in a pool of its
 * own, destroyed after it). The observable: between two reloads, the
 * process pool hands out the very next bytes (or, once, opens its next
 * block), so nothing else took any (it grew by a notification text on
 * every HUP). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_server.h"
#include "ts_settings.h"

#define RELOADS 50
#define MARK 16

static char root[] = "/tmp/tessera-reload-XXXXXX";
static apr_pool_t *process;          /* the server's, as tesserad's main */
static char *marks[RELOADS];
static int nmarks, stopped;

static void
setup(void)
{
  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  for (const char *const *n = (const char *const[]){ "INOPRJ", "INODIR",
       "INOLANG", "INONOTIFY", "INOAGENTPORT", "XDG_CONFIG_HOME",
       "NOTIFY_SOCKET", "WATCHDOG_USEC", NULL }; *n; n++)
    unsetenv(*n);
  setenv("INOHOST", "localhost.23456", 1);
}

static void
teardown(void)
{
  char cmd[300];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(posix_reload, .init = setup, .fini = teardown, .timeout = 60);

static ts_error_t *
role_start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  (void)pool;
  *state = server;
  kill(getpid(), SIGHUP);   /* the first reload, once serving */
  return NULL;
}

/* Each reload marks where the process pool is, and asks for the next. */
static ts_error_t *
role_reload(void *state, ts_server_t *server)
{
  (void)state;
  (void)server;
  marks[nmarks++] = apr_palloc(process, MARK);
  kill(getpid(), nmarks < RELOADS ? SIGHUP : SIGTERM);
  return NULL;
}

static void
role_stop(void *state, ts_server_t *server)
{
  (void)state;
  (void)server;
  stopped = 1;
}

static const ts_role_t test_role = {
  .name = "test", .summary = "a role of the test's own", .start = role_start,
  .reload = role_reload, .stop = role_stop
};

Test(posix_reload, reloads_leave_the_process_pool_as_it_was)
{
  tsp_service_options_t options = { 0 };
  tsp_service_hooks_t hooks;
  tsp_settings_t *store;
  ts_server_t *server;
  int status = -1;
  char logfile[400];
  const char *log, *at;
  apr_size_t len;
  int reopened = 0, unchanged = 0;

  apr_pool_create(&process, NULL);
  setenv("INOLIC", apr_pstrcat(process, root, "/lic", NULL), 1);
  setenv("HOME", root, 1);
  setenv("TESSERA_SYSCONFDIR", apr_pstrcat(process, root, "/etc", NULL), 1);
  cr_assert_null(ts_settings_open_store(&store, NULL, process));
  cr_assert_null(ts_server_create(&server, &test_role, NULL, NULL, store, 0,
                                  0, process));
  ts_server_hooks(&hooks, server);
  options.name = "tessera-test";
  options.mode = TSP_RUN_FOREGROUND;
  options.stop_deadline = apr_time_from_sec(20);
  options.log = ts_server_log(server);
  cr_assert_null(tsp_service_run(&status, &options, &hooks, process));
  cr_assert_eq(status, 0);
  cr_assert(stopped, "stopped without the role's stop");
  cr_assert_eq(nmarks, RELOADS, "%d reloads of %d", nmarks, RELOADS);
  /* one mark may open the pool's next block (8 KiB or more away: the
   * pool's earlier use decides where a block ends); every other reload
   * leaves the next bytes to the next mark */
  {
    int new_blocks = 0;
    for (int i = 1; i < RELOADS; i++) {
      long gap = (long)(marks[i] - marks[i - 1]);
      if (gap != MARK && (gap > 8000 || gap < -8000) && !new_blocks++)
        continue;
      cr_assert_eq(gap, MARK, "reload %d took %ld bytes of the process "
                   "pool", i + 1, gap - MARK);
    }
  }

  /* and each reload did its work: the log reopened, the settings read */
  snprintf(logfile, sizeof(logfile), "%s/lic/logs/test.23456/test.log",
           root);
  cr_assert_null(ts_file_read_all(&log, &len, logfile, process));
  for (at = log; (at = strstr(at, "reloading: log file reopened")); at++)
    reopened++;
  for (at = log; (at = strstr(at, "settings read again: as when the "
                                  "server started")); at++)
    unchanged++;
  cr_assert_eq(reopened, RELOADS, "%s", log);
  cr_assert_eq(unchanged, RELOADS, "%s", log);
  apr_pool_destroy(process);
}
