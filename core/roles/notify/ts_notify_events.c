/* ts_notify_events.c: GET /v1/events, the bus as Server-Sent Events
 * (ts_notify_events.h): the bus's side and the service's figures; the
 * subscribers are ts_notify_subs.c's.
 *
 * The bus thread numbers each message, makes its frame and puts it in an
 * inbox; the first event of an empty inbox posts one call to the loop,
 * which takes the whole inbox: each event goes into the ring, then to
 * every subscriber whose filters match.
 */
#include "ts_notify_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

/* Distinct topic families counted on /metrics (their first level); more
 * are counted as "other". */
#define MAX_FAMILIES 64

/* ---- the bus's events, on the loop -------------------------------------- */

static void
count_family(ts_events_t *ev, const char *topic)
{
  apr_size_t n = strcspn(topic, "/");
  apr_uint64_t *count = apr_hash_get(ev->stats.families, topic,
                                     (apr_ssize_t)n);

  if (!count && ev->stats.nfamilies < MAX_FAMILIES) {
    count = apr_pcalloc(ev->pool, sizeof(*count));
    apr_hash_set(ev->stats.families, apr_pstrndup(ev->pool, topic, n),
                 (apr_ssize_t)n, count);
    ev->stats.nfamilies++;
  }
  if (!count)
    count = apr_hash_get(ev->stats.families, "other", 5);
  if (!count) {
    count = apr_pcalloc(ev->pool, sizeof(*count));
    apr_hash_set(ev->stats.families, "other", 5, count);
  }
  (*count)++;
}

static void
deliver(void *baton)
{
  ts_events_t *ev = baton;
  ts_event_t *e, *next;

  apr_thread_mutex_lock(ev->inbox_lock);
  e = ev->inbox;
  ev->inbox = ev->inbox_tail = NULL;
  apr_thread_mutex_unlock(ev->inbox_lock);
  for (; e; e = next) {
    next = e->next;
    e->next = NULL;
    ts_ring_push(ev->ring, e);     /* the ring holds it while we send */
    ts_notify_fan_out(ev, e);
    apr_thread_mutex_lock(ev->stats_lock);
    ev->stats.published++;
    count_family(ev, e->topic);
    ev->stats.ring_oldest = ts_ring_oldest(ev->ring);
    ev->stats.ring_next = ts_ring_next(ev->ring);
    ev->stats.ring_count = ts_ring_count(ev->ring);
    ev->stats.ring_bytes = ts_ring_bytes(ev->ring);
    apr_thread_mutex_unlock(ev->stats_lock);
  }
}

apr_uint64_t
ts_events_offer(ts_events_t *ev, const char *topic, const char *payload)
{
  apr_uint64_t id = ev->next_id++;
  ts_event_t *e = ts_event_create(id, topic, payload);
  int post;

  apr_thread_mutex_lock(ev->inbox_lock);
  post = ev->inbox == NULL;
  if (ev->inbox_tail)
    ev->inbox_tail->next = e;
  else
    ev->inbox = e;
  ev->inbox_tail = e;
  apr_thread_mutex_unlock(ev->inbox_lock);
  if (post && ev->uv)
    ts_uvhttp_post(ev->uv, deliver, ev);
  return id;
}

/* ---- heartbeats --------------------------------------------------------- */

static void
started(void *baton, ts_uvhttp_t *uvhttp)
{
  ts_events_t *ev = baton;
  uint64_t every = (uint64_t)(ev->o.heartbeat / 1000);

  uv_timer_init(ts_uvhttp_loop(uvhttp), &ev->timer);
  ev->timer.data = ev;
  ev->timer_open = 1;
  every = every ? every : 1;
  uv_timer_start(&ev->timer, ts_notify_beat, every, every);
}

static void
stopping(void *baton, ts_uvhttp_t *uvhttp)
{
  ts_events_t *ev = baton;

  (void)uvhttp;
  if (ev->timer_open) {
    uv_timer_stop(&ev->timer);
    uv_close((uv_handle_t *)&ev->timer, NULL);
    ev->timer_open = 0;
  }
}


void
ts_events_hooks(ts_uvhttp_hooks_t *hooks, ts_events_t *ev)
{
  memset(hooks, 0, sizeof(*hooks));
  hooks->claim = ts_notify_claim;
  hooks->started = started;
  hooks->stopping = stopping;
  hooks->baton = ev;
}

/* ---- the rest ----------------------------------------------------------- */

ts_error_t *
ts_events_create(ts_events_t **ev_p, const ts_events_options_t *options,
                 ts_log_t *log, apr_pool_t *pool)
{
  ts_events_t *ev = apr_pcalloc(pool, sizeof(*ev));
  apr_status_t s;

  ev->o = *options;
  ev->log = log;
  ev->pool = pool;
  ev->first = ((apr_uint64_t)apr_time_sec(apr_time_now()) << 20) + 1;
  ev->next_id = ev->first;
  ev->ring = ts_ring_create(options->buffer, pool);
  ts_ring_start(ev->ring, ev->first);
  ev->groups = apr_hash_make(pool);
  ev->stats.families = apr_hash_make(pool);
  ev->stats.ring_oldest = ev->stats.ring_next = ev->first;
  s = apr_thread_mutex_create(&ev->inbox_lock, APR_THREAD_MUTEX_DEFAULT,
                              pool);
  if (!s)
    s = apr_thread_mutex_create(&ev->stats_lock, APR_THREAD_MUTEX_DEFAULT,
                                pool);
  if (s)
    return ts_error_aprf(s, "cannot create the event stream's locks");
  *ev_p = ev;
  return NULL;
}

void
ts_events_attach(ts_events_t *ev, ts_uvhttp_t *uvhttp)
{
  ev->uv = uvhttp;
}

void
ts_events_destroy(ts_events_t *ev)
{
  ts_event_t *e, *next;

  if (!ev)
    return;
  for (e = ev->inbox; e; e = next) {
    next = e->next;
    ts_event_unref(e);
  }
  ev->inbox = ev->inbox_tail = NULL;
  ts_ring_clear(ev->ring);
}

void
ts_events_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  ts_events_t *ev = baton;
  apr_hash_index_t *hi;
  stats_t st;

  apr_thread_mutex_lock(ev->stats_lock);
  st = ev->stats;
  ts_prom_family(prom, "tessera_notify_events_total", "counter",
                 "Events published (bus messages), by topic family (the "
                 "topic's first level)");
  for (hi = apr_hash_first(pool, st.families); hi; hi = apr_hash_next(hi)) {
    const char *labels[] = { "family", apr_hash_this_key(hi), NULL };
    ts_prom_int(prom, "tessera_notify_events_total", labels,
                (apr_int64_t)*(apr_uint64_t *)apr_hash_this_val(hi));
  }
  apr_thread_mutex_unlock(ev->stats_lock);
#define FAMILY(name, type, help, value) do { \
    ts_prom_family(prom, name, type, help); \
    ts_prom_int(prom, name, NULL, (apr_int64_t)(value)); } while (0)
  FAMILY("tessera_notify_subscribers", "gauge", "Event-stream subscribers "
         "connected (GET /v1/events)", st.subscribers);
  FAMILY("tessera_notify_published_total", "counter", "Events published "
         "to the subscribers", st.published);
  FAMILY("tessera_notify_dropped_slow_total", "counter", "Subscribers "
         "disconnected because they read too slowly (more than the bound "
         "of bytes waited for them)", st.dropped_slow);
  FAMILY("tessera_notify_replayed_total", "counter", "Events sent again "
         "to subscribers resuming with Last-Event-ID", st.replayed);
  FAMILY("tessera_notify_gaps_total", "counter", "Subscribers told that "
         "events they missed are no longer in the buffer", st.gaps);
  FAMILY("tessera_notify_refused_total", "counter", "Event-stream "
         "requests refused (bad filter or Last-Event-ID)", st.refused);
  FAMILY("tessera_notify_buffer_events", "gauge", "Events in the buffer "
         "kept for Last-Event-ID", st.ring_count);
  FAMILY("tessera_notify_buffer_capacity", "gauge", "Events the buffer "
         "holds at most", ev->o.buffer);
  FAMILY("tessera_notify_buffer_bytes", "gauge", "Bytes of the events in "
         "the buffer", st.ring_bytes);
  FAMILY("tessera_notify_buffer_oldest_id", "gauge", "The oldest event id "
         "in the buffer (the next id when it is empty)", st.ring_oldest);
  FAMILY("tessera_notify_next_id", "gauge", "The id the next event gets",
         st.ring_next);
#undef FAMILY
}

static void
not_claimed(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
            const char *const *args, apr_pool_t *pool)
{
  (void)baton;
  (void)req;
  (void)args;
  /* GET /v1/events is always taken by claim() */
  ts_http_reply_error(reply, 500, _("the event stream was not taken by "
                                    "the event loop; this is a bug"), pool);
}

const ts_route_t ts_events_routes[] = {
  { "GET", "/v1/events", not_claimed },
  { NULL, NULL, NULL }
};
