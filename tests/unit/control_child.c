/* control_child.c: the other end of the control channel for test_control
 * and test_doctor_control, on both systems.
 *
 *   control_child serve NAME LOG   serves the channel NAME as a model
 *       server would (logging to LOG): "status" -> {"state":"running",
 *       "pid":N}; "echo TEXT" -> "N TEXT" (N: its pid); "stop" ->
 *       "stopping", then it stops serving and exits 0; anything else is
 *       not understood.
 *   control_child idle MS          runs MS milliseconds, serving nothing.
 *   control_child agent            creates a channel as an agent does,
 *       prints its name on a line, and removes it and exits 0 when its
 *       stdin ends (a clean stop; kill -9 leaves the channel behind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "ts_control.h"
#include "tsp.h"

typedef struct server_t {
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *cond;
  int stop;
} server_t;

static const char *
handle(void *baton, const char *request, apr_pool_t *pool)
{
  server_t *s = baton;

  if (strcmp(request, "status") == 0)
    return apr_psprintf(pool, "{\"state\":\"running\",\"pid\":%ld}",
                        tsp_pid());
  if (strncmp(request, "echo ", 5) == 0)
    return apr_psprintf(pool, "%ld %s", tsp_pid(), request + 5);
  if (strcmp(request, "stop") == 0) {
    apr_thread_mutex_lock(s->lock);
    s->stop = 1;
    apr_thread_cond_signal(s->cond);
    apr_thread_mutex_unlock(s->lock);
    return "stopping";
  }
  return NULL;
}

static int
serve(const char *name, const char *logfile, apr_pool_t *pool)
{
  server_t s = { 0 };
  ts_control_t *ctl;
  ts_log_t *log;
  ts_error_t *err;

  apr_thread_mutex_create(&s.lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&s.cond, pool);
  err = ts_log_open(&log, logfile, 1, 0, pool);
  if (!err)
    err = ts_control_serve(&ctl, name, handle, &s, log, pool);
  if (err) {
    fprintf(stderr, "control_child: %s\n", ts_error_text(err, pool));
    return 1;
  }
  apr_thread_mutex_lock(s.lock);
  while (!s.stop)
    apr_thread_cond_wait(s.cond, s.lock);
  apr_thread_mutex_unlock(s.lock);
  ts_control_stop(ctl);
  ts_log(log, TS_LOG_INFO, "control_child: stopped");
  return 0;
}

static int
agent(apr_pool_t *pool)
{
  ts_control_t *ctl;
  ts_error_t *err = ts_control_create(&ctl, pool);
  char line[64];

  if (err) {
    fprintf(stderr, "control_child: %s\n", ts_error_text(err, pool));
    return 1;
  }
  printf("%s\n", ts_control_name(ctl));
  fflush(stdout);
  while (fgets(line, sizeof(line), stdin))
    ;
  err = ts_control_destroy(ctl);
  if (err) {
    fprintf(stderr, "control_child: %s\n", ts_error_text(err, pool));
    return 1;
  }
  return 0;
}

int
main(int argc, const char *const *argv)
{
  apr_pool_t *pool;
  int rc = 64;

  apr_app_initialize(&argc, &argv, NULL);
  apr_pool_create(&pool, NULL);
  if (argc == 4 && strcmp(argv[1], "serve") == 0)
    rc = serve(argv[2], argv[3], pool);
  else if (argc == 3 && strcmp(argv[1], "idle") == 0) {
    apr_sleep(apr_time_from_msec(atol(argv[2])));
    rc = 0;
  }
  else if (argc == 2 && strcmp(argv[1], "agent") == 0)
    rc = agent(pool);
  else
    fprintf(stderr, "usage: control_child serve NAME LOG | idle MS | "
            "agent\n");
  apr_pool_destroy(pool);
  apr_terminate();
  return rc;
}
