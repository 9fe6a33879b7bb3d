/* ts_control.c: the local control channel (see ts_control.h) over the
 * platform's mechanism (tsp_ctl_*: a System V message queue on Linux,
 * named pipes on Windows).
 *
 * The agent's side is the platform's call, made safe for several threads
 * there. The model server's side is a thread that takes one request at a
 * time, asks the handler in a pool cleared after each request, and
 * answers; stopping wakes it (the platform's wake-up, not a poll) and
 * joins it. The serving thread allocates only from pools of its own.
 */
#include "ts_control.h"

#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "tsp.h"

struct ts_control_t {
  tsp_ctl_t *chan;
  apr_pool_t *pool;
  int removed;                  /* agent: destroyed */
  /* model server */
  ts_control_handler_t handler;
  void *baton;
  ts_log_t *log;
  apr_pool_t *thread_pool;      /* the serving thread's */
  apr_thread_t *thread;
  volatile apr_uint32_t ended;  /* the thread has ended on its own */
  int stopped;
};

#if TS_CONTROL_MAX != TSP_CTL_MAX
#error "ts_control.h and tsp.h disagree on the longest message"
#endif

static apr_status_t
remove_at_cleanup(void *data)
{
  ts_control_t *ctl = data;

  if (!ctl->removed) {
    ctl->removed = 1;
    ts_error_clear(tsp_ctl_remove(ctl->chan));   /* the pool is going */
  }
  return APR_SUCCESS;
}

ts_error_t *
ts_control_create(ts_control_t **result, apr_pool_t *pool)
{
  ts_control_t *ctl = apr_pcalloc(pool, sizeof(*ctl));

  TS_ERR(tsp_ctl_create(&ctl->chan, pool));
  ctl->pool = pool;
  /* exec'd children (model servers) must not remove the agent's queue */
  apr_pool_cleanup_register(pool, ctl, remove_at_cleanup,
                            apr_pool_cleanup_null);
  *result = ctl;
  return NULL;
}

const char *
ts_control_name(const ts_control_t *ctl)
{
  return tsp_ctl_name(ctl->chan);
}

ts_error_t *
ts_control_request(const char **reply, ts_control_t *ctl, long pid,
                   const char *request, apr_interval_time_t timeout,
                   apr_pool_t *pool)
{
  apr_size_t len = strlen(request);

  if (!len || len > TS_CONTROL_MAX)
    return ts_error_createf(TS_EINVAL, "a control request must have 1 to "
                            "%d bytes, not %ld (to pid %ld)", TS_CONTROL_MAX,
                            (long)len, pid);
  return tsp_ctl_call(reply, ctl->chan, pid, request, len, timeout, pool);
}

ts_error_t *
ts_control_destroy(ts_control_t *ctl)
{
  if (ctl->removed)
    return NULL;
  ctl->removed = 1;
  apr_pool_cleanup_kill(ctl->pool, ctl, remove_at_cleanup);
  return tsp_ctl_remove(ctl->chan);
}

/* The reply to REQUEST, never longer than the channel carries. */
static const char *
reply_to(ts_control_t *ctl, const char *request, apr_pool_t *pool)
{
  const char *reply = ctl->handler(ctl->baton, request, pool);

  if (!reply) {
    ts_log(ctl->log, TS_LOG_WARNING, "control channel %s: request %s not "
           "understood", tsp_ctl_name(ctl->chan),
           ts_log_quote(request, 64, pool));
    return apr_psprintf(pool, "error: request not understood: %s",
                        ts_log_quote(request, 64, pool));
  }
  if (strlen(reply) > TS_CONTROL_MAX) {
    ts_log(ctl->log, TS_LOG_ERROR, "control channel %s: the reply to %s "
           "has %ld bytes, more than the %d the channel carries; it was "
           "not sent", tsp_ctl_name(ctl->chan),
           ts_log_quote(request, 64, pool), (long)strlen(reply),
           TS_CONTROL_MAX);
    return apr_psprintf(pool, "error: the reply has %ld bytes, more than "
                        "the %d the channel carries", (long)strlen(reply),
                        TS_CONTROL_MAX);
  }
  return reply;
}

static void *APR_THREAD_FUNC
serve(apr_thread_t *thread, void *data)
{
  ts_control_t *ctl = data;
  apr_pool_t *iter;

  apr_pool_create(&iter, ctl->thread_pool);
  for (;;) {
    const char *request, *reply;
    ts_error_t *err;

    apr_pool_clear(iter);
    err = tsp_ctl_next(&request, ctl->chan, iter);
    if (err) {
      ts_log_error(ctl->log, TS_LOG_ERROR, err, "control channel: no more "
                   "requests will be served");
      ts_error_clear(err);
      break;
    }
    if (!request)
      break;
    reply = reply_to(ctl, request, iter);
    err = tsp_ctl_answer(ctl->chan, reply, strlen(reply));
    if (err) {
      ts_log_error(ctl->log, TS_LOG_WARNING, err, "control channel");
      ts_error_clear(err);
    }
  }
  apr_pool_destroy(iter);
  apr_atomic_set32(&ctl->ended, 1);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

static apr_status_t
stop_at_cleanup(void *data)
{
  ts_control_stop(data);
  return APR_SUCCESS;
}

ts_error_t *
ts_control_serve(ts_control_t **result, const char *name,
                 ts_control_handler_t handler, void *baton, ts_log_t *log,
                 apr_pool_t *pool)
{
  ts_control_t *ctl = apr_pcalloc(pool, sizeof(*ctl));
  apr_status_t s;

  if (!name || !*name)
    return ts_error_createf(TS_ECONFIG, "no control channel to serve: %s "
                            "is not set (an agent sets it for the model "
                            "servers it starts)", TS_CONTROL_ENV);
  TS_ERR(tsp_ctl_open(&ctl->chan, name, pool));
  ctl->pool = pool;
  ctl->handler = handler;
  ctl->baton = baton;
  ctl->log = log;
  apr_pool_create(&ctl->thread_pool, pool);
  s = apr_thread_create(&ctl->thread, NULL, serve, ctl, pool);
  if (s) {
    tsp_ctl_close(ctl->chan);
    return ts_error_aprf(s, "cannot start the thread that serves the "
                         "control channel %s", name);
  }
  ts_log(log, TS_LOG_INFO, "control channel %s: serving the requests for "
         "pid %ld", name, tsp_pid());
  /* before POOL's subpools (the thread's) go; not in exec'd children */
  apr_pool_pre_cleanup_register(pool, ctl, stop_at_cleanup);
  *result = ctl;
  return NULL;
}

void
ts_control_stop(ts_control_t *ctl)
{
  ts_error_t *err;
  apr_status_t ignored;

  if (!ctl || ctl->stopped)
    return;
  ctl->stopped = 1;     /* and the pool's cleanup does nothing */
  err = apr_atomic_read32(&ctl->ended) ? NULL : tsp_ctl_wake(ctl->chan);
  if (err) {
    ts_log_error(ctl->log, TS_LOG_ERROR, err, "control channel: waiting "
                 "for the serving thread to end on its own");
    ts_error_clear(err);
  }
  apr_thread_join(&ignored, ctl->thread);
  tsp_ctl_close(ctl->chan);
}
