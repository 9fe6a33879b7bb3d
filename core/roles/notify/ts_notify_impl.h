/* ts_notify_impl.h: the event stream's state, shared by its two files
 * (ts_notify_events.c: the bus's side, the ring, the service's figures;
 * ts_notify_subs.c: the subscribers); not for the role, which sees
 * ts_notify_events.h. Everything but the inbox and the figures is the
 * loop thread's. */
#ifndef TS_NOTIFY_IMPL_H
#define TS_NOTIFY_IMPL_H

#include <apr_hash.h>
#include <apr_thread_mutex.h>

#include "ts_notify_events.h"

typedef struct group_t group_t;
typedef struct sub_t sub_t;

struct sub_t {
  ts_events_t *ev;
  ts_uvconn_t *conn;
  uv_stream_t *stream;
  group_t *group;               /* NULL once detached */
  sub_t *prev, *next;           /* in the group */
  int live;                     /* gets new events as they come */
  int closing;
  apr_uint64_t cursor;          /* catching up: the next id to send */
};

struct group_t {
  const char *key;              /* the filters, one per line */
  apr_array_header_t *filters;
  sub_t *subs;
  long count;
  apr_pool_t *pool;             /* its own */
};

typedef struct write_t {
  uv_write_t req;
  ts_event_t *e;                /* NULL: the static keepalive */
  sub_t *sub;
} write_t;

typedef struct stats_t {
  long subscribers;
  apr_uint64_t published, dropped_slow, replayed, gaps, refused;
  apr_uint64_t ring_oldest, ring_next;
  apr_size_t ring_count, ring_bytes;
  apr_hash_t *families;         /* first level -> apr_uint64_t * */
  int nfamilies;
} stats_t;

struct ts_events_t {
  ts_events_options_t o;
  ts_log_t *log;
  apr_pool_t *pool;
  ts_uvhttp_t *uv;
  apr_uint64_t first;           /* this run's first id */
  apr_uint64_t next_id;         /* bus thread only */

  apr_thread_mutex_t *inbox_lock;
  ts_event_t *inbox, *inbox_tail;

  /* the loop thread's */
  ts_ring_t *ring;
  apr_hash_t *groups;           /* key -> group_t * */
  uv_timer_t timer;
  int timer_open;
  apr_time_t last_drop_log;
  apr_uint64_t drops_unlogged;

  apr_thread_mutex_t *stats_lock;
  stats_t stats;
};

/* ---- ts_notify_subs.c ---------------------------------------------------- */

/* The claim hook: GET /v1/events becomes a subscriber (a bad one is
 * answered 400). */
int ts_notify_claim(void *baton, ts_uvconn_t *conn,
                    const ts_http_head_t *head);

/* Send E to the live subscribers whose filters match. */
void ts_notify_fan_out(ts_events_t *ev, ts_event_t *e);

/* The heartbeat timer: a keepalive comment to every subscriber. */
void ts_notify_beat(uv_timer_t *timer);

#endif
