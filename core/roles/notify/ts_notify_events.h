/* ts_notify_events.h: the notification service's event stream: every
 * message of the bus becomes an event with an id, kept in a bounded ring
 * buffer and sent to the subscribers of GET /v1/events whose topic
 * filters match it, as Server-Sent Events (README, "Notification
 * service").
 *
 * Threads: ts_events_offer() runs on the bus thread (it numbers the
 * message and formats its frame there) and hands the event to the event
 * loop with ts_uvhttp_post(); the ring, the subscribers and every write
 * live on the loop thread. ts_events_metrics() may run on any thread.
 *
 * The parts: ts_notify_events.c (the bus's side, the ring's owner, the
 * figures), ts_notify_subs.c (subscribers, fan-out, replay, heartbeats;
 * the two share ts_notify_impl.h), ts_notify_frame.c (the ring and an
 * event's SSE frame), ts_notify_query.c (what a client sends: topic
 * filters and Last-Event-ID; it has a fuzzing harness,
 * tests/fuzz/fuzz_events.c).
 * The last two use no event loop, so the tests and the harness link them
 * alone.
 */
#ifndef TS_NOTIFY_EVENTS_H
#define TS_NOTIFY_EVENTS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ts_error.h"
#include "ts_log.h"
#include "ts_prom.h"
#include "ts_routes.h"
#include "ts_uvhttp.h"

/* ---- what a client asks for (ts_notify_query.c) ------------------------ */

/* The most topic= filters one subscription may have, and the longest. */
#define TS_EVENTS_MAX_FILTERS 16
#define TS_EVENTS_MAX_FILTER 256

typedef struct ts_events_query_t {
  apr_array_header_t *filters;  /* const char *: valid topic filters, as
                                   the client sees topics (without
                                   "tessera/v1/"); "#" when none given */
  int resume;                   /* a Last-Event-ID was given */
  apr_uint64_t last_id;         /* its value (0: from the first event of
                                   the service's run) */
} ts_events_query_t;

/* Read QUERY (what followed '?' in the request's target, not decoded, or
 * NULL) and LAST_EVENT_ID (the Last-Event-ID header, or NULL; it wins
 * over the query's last-event-id=, since a browser sends it when it
 * reconnects to the URL it first opened) into *Q. topic= may come
 * several times; %XX is decoded, '+' stays '+' (the MQTT wildcard; a
 * literal '#' must be sent as %23). Other parameters are ignored. A
 * filter that is not valid, or a Last-Event-ID that is not a decimal
 * number, is an error (TS_EINVAL) saying which and why, for a 400. */
ts_error_t *ts_events_query_parse(ts_events_query_t *q, const char *query,
                                  const char *last_event_id,
                                  apr_pool_t *pool);

/* NULL when FILTER is a valid topic filter (1..TS_EVENTS_MAX_FILTER
 * bytes of UTF-8 without control characters; '+' alone in its level, '#'
 * alone in the last level; not starting with "tessera/", as clients see
 * topics without the prefix), else why not (TS_EINVAL). */
ts_error_t *ts_events_filter_check(const char *filter, apr_pool_t *pool);

/* Whether TOPIC (without the prefix) matches the valid FILTER. */
int ts_events_filter_match(const char *filter, const char *topic);

/* ---- events and the ring (ts_notify_frame.c) --------------------------- */

/* One event: its id, its topic and its SSE frame, shared by the ring and
 * the writes in flight (loop thread only, once handed over). */
typedef struct ts_event_t {
  apr_uint64_t id;
  unsigned refs;
  const char *topic;            /* inside the block */
  apr_size_t len;               /* of FRAME */
  char *frame;                  /* "id: N\nevent: TOPIC\ndata: ...\n\n" */
  struct ts_event_t *next;      /* on its way to the loop */
} ts_event_t;

/* A new event (one malloc'ed block, REFS 1): TOPIC (a line break in it
 * becomes a space), PAYLOAD as data: lines (one per line of it; an empty
 * payload, which clears a retained topic, is "data: null"). */
ts_event_t *ts_event_create(apr_uint64_t id, const char *topic,
                            const char *payload);

void ts_event_ref(ts_event_t *e);
void ts_event_unref(ts_event_t *e);

/* The last CAPACITY events, by id. */
typedef struct ts_ring_t ts_ring_t;

ts_ring_t *ts_ring_create(apr_size_t capacity, apr_pool_t *pool);

/* Keep E (the ring takes the caller's reference), dropping the oldest
 * when full. Ids must follow each other (E->id is the last's + 1), except
 * for the first. */
void ts_ring_push(ts_ring_t *ring, ts_event_t *e);

/* The event ID, or NULL when it is not (or no longer, or not yet) kept. */
ts_event_t *ts_ring_get(const ts_ring_t *ring, apr_uint64_t id);

/* The oldest id kept and the next id to come (equal: empty). */
apr_uint64_t ts_ring_oldest(const ts_ring_t *ring);
apr_uint64_t ts_ring_next(const ts_ring_t *ring);
apr_size_t ts_ring_count(const ts_ring_t *ring);
apr_size_t ts_ring_bytes(const ts_ring_t *ring);

/* Set where an empty ring starts (before the first push). */
void ts_ring_start(ts_ring_t *ring, apr_uint64_t next);

/* Unreference every event (at the end). */
void ts_ring_clear(ts_ring_t *ring);

/* The "gap" event a client resuming after AFTER gets when the ring no
 * longer has AFTER + 1 (OLDEST is the first it has, NEXT the next to
 * come, FIRST the first id of this run: an AFTER before it is from an
 * earlier run of the service, whose loss cannot be counted); malloc'ed,
 * REFS 1, id 0 (no id: line, so the client's last id stays). */
ts_event_t *ts_event_gap(apr_uint64_t after, apr_uint64_t oldest,
                         apr_uint64_t next, apr_uint64_t first);

/* ---- the service (ts_notify_events.c) ---------------------------------- */

typedef struct ts_events_t ts_events_t;

typedef struct ts_events_options_t {
  apr_size_t buffer;              /* events kept for Last-Event-ID */
  apr_interval_time_t heartbeat;  /* ": keepalive" after this silence */
  apr_size_t max_queued;          /* bytes a subscriber may have waiting
                                     to be sent before it is dropped */
} ts_events_options_t;

/* The events part, with OPTIONS, in POOL (the role's). Ids start at the
 * start time in seconds times 2^20, so they grow across restarts of the
 * service too, and a client's Last-Event-ID from an earlier run is seen
 * as a gap. */
ts_error_t *ts_events_create(ts_events_t **ev,
                             const ts_events_options_t *options,
                             ts_log_t *log, apr_pool_t *pool);

/* The hooks for ts_server_listen_loop(): GET /v1/events is taken (a bad
 * request answered 400), heartbeats started and stopped. */
void ts_events_hooks(ts_uvhttp_hooks_t *hooks, ts_events_t *ev);

/* The listener, once ts_server_listen_loop() returned: from then on
 * ts_events_offer() hands events to it. */
void ts_events_attach(ts_events_t *ev, ts_uvhttp_t *uvhttp);

/* One bus message (bus thread only): TOPIC without the prefix, PAYLOAD
 * (NUL-terminated). Returns the event's id. */
apr_uint64_t ts_events_offer(ts_events_t *ev, const char *topic,
                             const char *payload);

/* The families on /metrics (any thread). */
void ts_events_metrics(ts_prom_t *prom, void *ev, apr_pool_t *pool);

/* The routes beside the stream (405 for another method on /v1/events). */
extern const ts_route_t ts_events_routes[];

/* Free what is left once the listener stopped. */
void ts_events_destroy(ts_events_t *ev);

#endif
