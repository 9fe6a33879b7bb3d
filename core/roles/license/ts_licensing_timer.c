/* ts_licensing_timer.c: what changes in the license server with time
 * alone, made when it is due rather than at the next probe round: a
 * project license server or an agent that stopped reporting goes gone,
 * and is forgotten an hour later (ts_licensing_projects_settle,
 * ts_licensing_agents_settle, which tell the bus), and at midnight UTC products expire (the bus is touched, so the
 * retained products/<name> says "expired" when /v1/status does).
 *
 * One thread that sleeps until the earliest of those moments; a report
 * that makes a project or an agent due earlier wakes it (ts_licensing_timer_wake).
 */
#include "ts_licensing.h"

#include <apr_thread_cond.h>
#include <apr_thread_proc.h>

struct ts_licensing_timer_t {
  ts_licensing_t *lc;
  apr_thread_t *thread;
  apr_thread_mutex_t *lock;     /* guards STOPPING, WOKEN */
  apr_thread_cond_t *wake;
  int stopping, woken;
};

/* The next midnight UTC after NOW, when a product may expire
 * (ts_product_expired: valid through its day, UTC). */
static apr_time_t
next_midnight(apr_time_t now)
{
  const apr_time_t day = apr_time_from_sec(86400);

  return (now / day + 1) * day;
}

static void *APR_THREAD_FUNC
timer(apr_thread_t *thread, void *data)
{
  ts_licensing_timer_t *t = data;
  apr_time_t midnight = next_midnight(apr_time_now());

  apr_thread_mutex_lock(t->lock);
  while (!t->stopping) {
    apr_time_t now, next, agents;
    t->woken = 0;
    apr_thread_mutex_unlock(t->lock);
    now = apr_time_now();
    if (now >= midnight) {
      ts_bus_touch(ts_licensing_bus(t->lc));
      midnight = next_midnight(now);
    }
    next = ts_licensing_projects_settle(t->lc, now);
    agents = ts_licensing_agents_settle(t->lc, now);
    if (agents && (!next || agents < next))
      next = agents;
    if (!next || next > midnight)
      next = midnight;
    apr_thread_mutex_lock(t->lock);
    if (!t->stopping && !t->woken && next > apr_time_now())
      apr_thread_cond_timedwait(t->wake, t->lock, next - apr_time_now());
  }
  apr_thread_mutex_unlock(t->lock);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

ts_error_t *
ts_licensing_timer_start(ts_licensing_t *lc, apr_pool_t *pool)
{
  ts_licensing_timer_t *t = apr_pcalloc(pool, sizeof(*t));
  apr_status_t s;

  t->lc = lc;
  apr_thread_mutex_create(&t->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&t->wake, pool);
  s = apr_thread_create(&t->thread, NULL, timer, t, pool);
  if (s)
    return ts_error_aprf(s, "cannot start the license server's timer "
                         "thread");
  lc->timer = t;
  return NULL;
}

void
ts_licensing_timer_wake(ts_licensing_t *lc)
{
  ts_licensing_timer_t *t = lc->timer;

  if (!t)
    return;
  apr_thread_mutex_lock(t->lock);
  t->woken = 1;
  apr_thread_cond_signal(t->wake);
  apr_thread_mutex_unlock(t->lock);
}

void
ts_licensing_timer_stop(ts_licensing_t *lc)
{
  ts_licensing_timer_t *t = lc->timer;
  apr_status_t ignored;

  if (!t)
    return;
  apr_thread_mutex_lock(t->lock);
  t->stopping = 1;
  apr_thread_cond_signal(t->wake);
  apr_thread_mutex_unlock(t->lock);
  apr_thread_join(&ignored, t->thread);
  lc->timer = NULL;
}
