/* ts_notify_subs.c: the subscribers of GET /v1/events (ts_notify_events.h;
 * the state in ts_notify_impl.h), on the loop thread.
 *
 * Subscribers with the same filters form a group, so a topic is matched
 * once per group, not once per subscriber. A frame is written with
 * uv_try_write when nothing of the subscriber waits, so most writes cost
 * neither a request nor a copy; what the socket does not take waits in
 * libuv's queue, holding a reference to the shared frame. A subscriber
 * with more than max_queued bytes waiting is dropped (it may resume with
 * Last-Event-ID).
 *
 * A subscriber resuming with Last-Event-ID is not live until it caught
 * up: it is sent the ring's events after its id while less than
 * CATCH_UP_QUEUE bytes wait for it, and goes on as its writes complete;
 * once at the ring's end it is live and gets new events as they come. A
 * subscriber that falls behind the ring's oldest event while catching up
 * is dropped as too slow, like a live one.
 */
#include "ts_notify_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* Bytes a catching-up subscriber may have waiting before the replay
 * waits for its writes (at most max_queued / 2). */
#define CATCH_UP_QUEUE (64 * 1024)

static const char keepalive[] = ": keepalive\n\n";

static const char stream_head[] =
  "HTTP/1.1 200 OK\r\n"
  "Content-Type: text/event-stream; charset=utf-8\r\n"
  "Cache-Control: no-cache\r\n"
  "X-Accel-Buffering: no\r\n"
  "Connection: close\r\n"
  "\r\n"
  "retry: 2000\n\n";

/* ---- subscribers -------------------------------------------------------- */

static void pump(sub_t *sub);

/* Take SUB out of its group (once); the group goes with its last. */
static void
detach(sub_t *sub)
{
  ts_events_t *ev = sub->ev;
  group_t *g = sub->group;

  if (!g)
    return;
  if (sub->prev)
    sub->prev->next = sub->next;
  else
    g->subs = sub->next;
  if (sub->next)
    sub->next->prev = sub->prev;
  sub->group = NULL;
  if (--g->count == 0) {
    apr_hash_set(ev->groups, g->key, APR_HASH_KEY_STRING, NULL);
    apr_pool_destroy(g->pool);
  }
  apr_thread_mutex_lock(ev->stats_lock);
  ev->stats.subscribers--;
  apr_thread_mutex_unlock(ev->stats_lock);
}

static void
close_sub(sub_t *sub)
{
  if (sub->closing)
    return;
  sub->closing = 1;
  detach(sub);
  ts_uvconn_close(sub->conn);
}

/* The listener closed the connection (the client left, the stop). */
static void
closed(ts_uvconn_t *conn)
{
  sub_t *sub = ts_uvconn_data(conn);

  if (sub) {
    sub->closing = 1;
    detach(sub);
  }
}

static void
drop_slow(sub_t *sub, const char *why)
{
  ts_events_t *ev = sub->ev;
  apr_time_t now = apr_time_now();

  apr_thread_mutex_lock(ev->stats_lock);
  ev->stats.dropped_slow++;
  apr_thread_mutex_unlock(ev->stats_lock);
  ev->drops_unlogged++;
  if (now - ev->last_drop_log >= apr_time_from_sec(10)) {
    ts_log(ev->log, TS_LOG_INFO, "dropped %" APR_UINT64_T_FMT " event "
           "subscriber(s) as too slow (the last, %s: %s); they may resume "
           "with Last-Event-ID", ev->drops_unlogged,
           ts_uvconn_client(sub->conn), why);
    ev->drops_unlogged = 0;
    ev->last_drop_log = now;
  }
  close_sub(sub);
}

static void
written(uv_write_t *req, int status)
{
  write_t *w = (write_t *)req;
  sub_t *sub = w->sub;

  ts_event_unref(w->e);
  free(w);
  if (status == UV_ECANCELED)   /* the connection closes */
    return;
  if (status < 0)
    close_sub(sub);
  else if (!sub->live && !sub->closing)
    pump(sub);
}

/* Write LEN bytes of DATA (E's frame, or the static keepalive when E is
 * NULL) to SUB; 0 when SUB was closed for it. */
static int
send_bytes(sub_t *sub, ts_event_t *e, const char *data, apr_size_t len)
{
  apr_size_t queued = uv_stream_get_write_queue_size(sub->stream);
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  write_t *w;
  int n = 0;

  if (sub->closing)
    return 0;
  if (queued + len > sub->ev->o.max_queued) {
    drop_slow(sub, apr_psprintf(ts_uvconn_pool(sub->conn), "%"
              APR_SIZE_T_FMT " bytes waited to be sent to it", queued));
    return 0;
  }
  if (queued == 0) {
    n = uv_try_write(sub->stream, &buf, 1);
    if (n == (int)len)
      return 1;
    if (n < 0 && n != UV_EAGAIN) {
      close_sub(sub);
      return 0;
    }
    if (n < 0)
      n = 0;
  }
  w = malloc(sizeof(*w));
  if (!w)
    abort();
  w->e = e;
  w->sub = sub;
  if (e)
    ts_event_ref(e);
  buf = uv_buf_init((char *)data + n, (unsigned)(len - (apr_size_t)n));
  if (uv_write(&w->req, sub->stream, &buf, 1, written) < 0) {
    ts_event_unref(e);
    free(w);
    close_sub(sub);
    return 0;
  }
  return 1;
}

static int
group_matches(const group_t *g, const char *topic)
{
  for (int i = 0; i < g->filters->nelts; i++)
    if (ts_events_filter_match(APR_ARRAY_IDX(g->filters, i, const char *),
                               topic))
      return 1;
  return 0;
}

/* Send a catching-up SUB the ring's events from its cursor while little
 * waits for it; live once at the ring's end. */
static void
pump(sub_t *sub)
{
  ts_events_t *ev = sub->ev;
  apr_size_t low = ev->o.max_queued / 2 < CATCH_UP_QUEUE
                   ? ev->o.max_queued / 2 : CATCH_UP_QUEUE;
  apr_uint64_t sent = 0;

  while (!sub->closing && sub->cursor < ts_ring_next(ev->ring)) {
    ts_event_t *e = ts_ring_get(ev->ring, sub->cursor);
    if (!e) {
      drop_slow(sub, "it fell behind the buffer while catching up");
      break;
    }
    if (uv_stream_get_write_queue_size(sub->stream) > low)
      break;                    /* on in written() */
    sub->cursor++;
    if (group_matches(sub->group, e->topic) && send_bytes(sub, e, e->frame,
                                                          e->len))
      sent++;
  }
  if (!sub->closing && sub->cursor == ts_ring_next(ev->ring))
    sub->live = 1;
  apr_thread_mutex_lock(ev->stats_lock);
  ev->stats.replayed += sent;
  apr_thread_mutex_unlock(ev->stats_lock);
}

/* Fan E out to the live subscribers whose filters match. */
void
ts_notify_fan_out(ts_events_t *ev, ts_event_t *e)
{
  apr_hash_index_t *hi;

  for (hi = apr_hash_first(NULL, ev->groups); hi; hi = apr_hash_next(hi)) {
    group_t *g = apr_hash_this_val(hi);
    sub_t *sub, *next;
    if (!group_matches(g, e->topic))
      continue;
    /* a subscriber closed here leaves the group: keep the next first; the
     * group itself may go with its last (then SUB is NULL next) */
    for (sub = g->subs; sub; sub = next) {
      int last = sub->next == NULL;
      next = sub->next;
      if (sub->live)
        send_bytes(sub, e, e->frame, e->len);
      if (last)
        break;
    }
  }
}

/* ---- heartbeats --------------------------------------------------------- */

void
ts_notify_beat(uv_timer_t *timer)
{
  ts_events_t *ev = timer->data;
  apr_hash_index_t *hi;

  /* as in fan_out(): a group may go with its last subscriber (APR's
   * iteration allows the current entry to go) */
  for (hi = apr_hash_first(NULL, ev->groups); hi; hi = apr_hash_next(hi)) {
    group_t *g = apr_hash_this_val(hi);
    sub_t *sub, *next;
    for (sub = g->subs; sub; sub = next) {
      int last = sub->next == NULL;
      next = sub->next;
      send_bytes(sub, NULL, keepalive, sizeof(keepalive) - 1);
      if (last)
        break;
    }
  }
}

/* ---- a new subscriber --------------------------------------------------- */

/* The group of Q's filters, made when there is none. */
static group_t *
group_of(ts_events_t *ev, const ts_events_query_t *q)
{
  apr_pool_t *pool;
  group_t *g;
  const char *key = "";

  for (int i = 0; i < q->filters->nelts; i++)
    key = apr_pstrcat(q->filters->pool, key, i ? "\n" : "",
                      APR_ARRAY_IDX(q->filters, i, const char *), NULL);
  g = apr_hash_get(ev->groups, key, APR_HASH_KEY_STRING);
  if (g)
    return g;
  apr_pool_create(&pool, NULL);
  g = apr_pcalloc(pool, sizeof(*g));
  g->pool = pool;
  g->key = apr_pstrdup(pool, key);
  g->filters = apr_array_make(pool, q->filters->nelts, sizeof(const char *));
  for (int i = 0; i < q->filters->nelts; i++)
    APR_ARRAY_PUSH(g->filters, const char *) = apr_pstrdup(pool,
      APR_ARRAY_IDX(q->filters, i, const char *));
  apr_hash_set(ev->groups, g->key, APR_HASH_KEY_STRING, g);
  return g;
}

static void
join(sub_t *sub, group_t *g)
{
  sub->group = g;
  sub->next = g->subs;
  if (g->subs)
    g->subs->prev = sub;
  g->subs = sub;
  g->count++;
  apr_thread_mutex_lock(sub->ev->stats_lock);
  sub->ev->stats.subscribers++;
  apr_thread_mutex_unlock(sub->ev->stats_lock);
}

/* Where a subscriber resuming after LAST starts (0: the first event of
 * this run); it is told first when the ring no longer has what followed
 * LAST. */
static void
resume(sub_t *sub, apr_uint64_t last)
{
  ts_events_t *ev = sub->ev;
  apr_uint64_t oldest = ts_ring_oldest(ev->ring);
  apr_uint64_t next = ts_ring_next(ev->ring);

  if (last == 0)              /* everything of this run still kept */
    last = ev->first - 1;
  if (last + 1 >= oldest && last < next) {
    sub->cursor = last + 1;
  }
  else {
    ts_event_t *gap = ts_event_gap(last, oldest, next, ev->first);
    send_bytes(sub, gap, gap->frame, gap->len);
    ts_event_unref(gap);
    sub->cursor = oldest;
    apr_thread_mutex_lock(ev->stats_lock);
    ev->stats.gaps++;
    apr_thread_mutex_unlock(ev->stats_lock);
  }
  pump(sub);
}

/* Bytes from a subscriber are not expected; reading tells that it left. */
static void
alloc_buf(uv_handle_t *handle, size_t size, uv_buf_t *buf)
{
  static char discard[4096];     /* the loop thread's only */

  (void)handle;
  (void)size;
  *buf = uv_buf_init(discard, sizeof(discard));
}

static void
on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
  (void)buf;
  if (n < 0) {
    ts_uvconn_t *conn = stream->data;
    sub_t *sub = ts_uvconn_data(conn);
    uv_read_stop(stream);
    if (sub)
      close_sub(sub);
  }
}

static void
refuse(ts_events_t *ev, ts_uvconn_t *conn, ts_error_t *err)
{
  apr_pool_t *pool = ts_uvconn_pool(conn);
  ts_http_reply_t reply = { 0 };

  ts_http_reply_error(&reply, 400, ts_error_message(err, pool), pool);
  reply.route = "/v1/events";
  ts_error_clear(err);
  apr_thread_mutex_lock(ev->stats_lock);
  ev->stats.refused++;
  apr_thread_mutex_unlock(ev->stats_lock);
  ts_uvconn_reply(conn, &reply);
}

int
ts_notify_claim(void *baton, ts_uvconn_t *conn, const ts_http_head_t *head)
{
  ts_events_t *ev = baton;
  apr_pool_t *pool = ts_uvconn_pool(conn);
  ts_events_query_t q;
  ts_error_t *err;
  sub_t *sub;

  if (strcmp(head->method, "GET") != 0
      || strcmp(head->path, "/v1/events") != 0)
    return 0;
  err = ts_events_query_parse(&q, head->query,
                              apr_table_get(head->headers, "Last-Event-ID"),
                              pool);
  if (err) {
    refuse(ev, conn, err);
    return 1;
  }
  sub = apr_pcalloc(pool, sizeof(*sub));
  sub->ev = ev;
  sub->conn = conn;
  sub->stream = ts_uvconn_stream(conn);
  ts_uvconn_set_data(conn, sub);
  ts_uvconn_on_close(conn, closed);
  join(sub, group_of(ev, &q));
  if (!send_bytes(sub, NULL, stream_head, sizeof(stream_head) - 1))
    return 1;
  uv_read_start(sub->stream, alloc_buf, on_read);
  if (q.resume)
    resume(sub, q.last_id);
  else
    sub->live = 1;
  return 1;
}
