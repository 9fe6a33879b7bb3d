/* ts_notify_frame.c: an event as Server-Sent Events put it on the wire,
 * made once and shared by every subscriber it goes to, and the ring of
 * the last events a client resuming with Last-Event-ID is sent again. */
#include "ts_notify_events.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

struct ts_ring_t {
  ts_event_t **slot;          /* id % capacity */
  apr_size_t capacity;
  apr_size_t count;
  apr_size_t bytes;           /* the frames' */
  apr_uint64_t next;          /* the next id to come */
};

/* The frame of event ID on TOPIC with the data lines of DATA into BUF
 * (NULL: only count); its length. */
static apr_size_t
frame(char *buf, apr_uint64_t id, const char *topic, const char *data)
{
  char head[32];
  apr_size_t n = 0, k;
  const char *p = data;

#define PUT(s, len) do { if (buf) memcpy(buf + n, (s), (len)); \
                         n += (len); } while (0)
  if (id) {
    k = (apr_size_t)apr_snprintf(head, sizeof(head), "id: %" APR_UINT64_T_FMT
                                 "\n", id);
    PUT(head, k);
  }
  PUT("event: ", 7);
  for (const char *t = topic; *t; t++)
    PUT(*t == '\n' || *t == '\r' ? " " : t, 1);
  PUT("\n", 1);
  do {                        /* a line break ends a data: line */
    k = strcspn(p, "\r\n");
    PUT("data: ", 6);
    PUT(p, k);
    PUT("\n", 1);
    p += k;
    if (p[0] == '\r' && p[1] == '\n')
      p++;
    if (*p)
      p++;
  } while (*p);
  PUT("\n", 1);
#undef PUT
  return n;
}

ts_event_t *
ts_event_create(apr_uint64_t id, const char *topic, const char *payload)
{
  const char *data = payload && *payload ? payload : "null";
  apr_size_t tlen = strlen(topic), len = frame(NULL, id, topic, data);
  ts_event_t *e = malloc(sizeof(*e) + tlen + 1 + len + 1);

  if (!e)
    abort();
  e->id = id;
  e->refs = 1;
  e->next = NULL;
  e->topic = memcpy((char *)(e + 1), topic, tlen + 1);
  e->frame = (char *)(e + 1) + tlen + 1;
  e->len = frame(e->frame, id, topic, data);
  e->frame[e->len] = '\0';
  return e;
}

void
ts_event_ref(ts_event_t *e)
{
  e->refs++;
}

void
ts_event_unref(ts_event_t *e)
{
  if (e && --e->refs == 0)
    free(e);
}

ts_event_t *
ts_event_gap(apr_uint64_t after, apr_uint64_t oldest, apr_uint64_t next,
             apr_uint64_t first)
{
  /* ids lost: AFTER + 1 .. OLDEST - 1 when AFTER is of this run; an
   * AFTER of an earlier run (or an id not given yet) cannot be counted */
  int counted = after + 1 >= first && after < next;
  json_t *j = json_pack("{s:I, s:I, s:I}", "last_event_id",
                        (json_int_t)after, "oldest", (json_int_t)oldest,
                        "next", (json_int_t)next);
  char *text;
  ts_event_t *e;

  json_object_set_new(j, "lost", counted ? json_integer((json_int_t)(
                        oldest - after - 1)) : json_null());
  json_object_set_new(j, "reason", json_string(counted
    ? "the buffer no longer holds the events after last_event_id"
    : "last_event_id is not of this run of the service (it restarted): "
      "what happened in between is unknown"));
  text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  e = ts_event_create(0, "gap", text ? text : "{}");
  free(text);
  return e;
}

ts_ring_t *
ts_ring_create(apr_size_t capacity, apr_pool_t *pool)
{
  ts_ring_t *r = apr_pcalloc(pool, sizeof(*r));

  r->capacity = capacity ? capacity : 1;
  r->slot = apr_pcalloc(pool, r->capacity * sizeof(*r->slot));
  return r;
}

void
ts_ring_start(ts_ring_t *ring, apr_uint64_t next)
{
  if (ring->count == 0)
    ring->next = next;
}

void
ts_ring_push(ts_ring_t *ring, ts_event_t *e)
{
  ts_event_t **slot;

  if (ring->count && e->id != ring->next)
    ts_ring_clear(ring);        /* ids jumped: no replay across the jump */
  slot = &ring->slot[e->id % ring->capacity];
  if (ring->count == ring->capacity) {
    ring->bytes -= (*slot)->len;
    ts_event_unref(*slot);
    ring->count--;
  }
  *slot = e;
  ring->count++;
  ring->bytes += e->len;
  ring->next = e->id + 1;
}

ts_event_t *
ts_ring_get(const ts_ring_t *ring, apr_uint64_t id)
{
  if (id >= ring->next || id < ring->next - ring->count)
    return NULL;
  return ring->slot[id % ring->capacity];
}

apr_uint64_t
ts_ring_oldest(const ts_ring_t *ring)
{
  return ring->next - ring->count;
}

apr_uint64_t
ts_ring_next(const ts_ring_t *ring)
{
  return ring->next;
}

apr_size_t
ts_ring_count(const ts_ring_t *ring)
{
  return ring->count;
}

apr_size_t
ts_ring_bytes(const ts_ring_t *ring)
{
  return ring->bytes;
}

void
ts_ring_clear(ts_ring_t *ring)
{
  for (apr_uint64_t id = ring->next - ring->count; id < ring->next; id++) {
    ts_event_t **slot = &ring->slot[id % ring->capacity];
    ts_event_unref(*slot);
    *slot = NULL;
  }
  ring->count = 0;
  ring->bytes = 0;
}
