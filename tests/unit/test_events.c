/* test_events.c: the notification service's event stream without its
 * loop (core/roles/notify): what a client may ask for (topic filters,
 * Last-Event-ID) and is refused with which reason, how filters match
 * topics (MQTT's rules), an event's SSE frame, the ring that keeps the
 * last events and the gap notice. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_notify_events.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(events, .init = setup, .fini = teardown);

static const char *
filter(const ts_events_query_t *q, int i)
{
  return APR_ARRAY_IDX(q->filters, i, const char *);
}

/* The message of the error parsing QUERY with LAST, or NULL. */
static const char *
refusal(const char *query, const char *last)
{
  ts_events_query_t q;
  ts_error_t *err = ts_events_query_parse(&q, query, last, pool);
  const char *text = err ? ts_error_text(err, pool) : NULL;

  if (err) {
    cr_assert_eq(ts_error_code(err), TS_EINVAL);
    ts_error_clear(err);
  }
  return text;
}

Test(events, filters_come_from_topic_parameters_decoded)
{
  ts_events_query_t q;

  cr_assert_null(ts_events_query_parse(&q, "topic=versions/%2B/%2B&"
                                       "topic=models/+/v1/%23&x=1", NULL,
                                       pool));
  cr_assert_eq(q.filters->nelts, 2);
  cr_assert_str_eq(filter(&q, 0), "versions/+/+");
  cr_assert_str_eq(filter(&q, 1), "models/+/v1/#");
  cr_assert_eq(q.resume, 0);
  /* none: everything */
  cr_assert_null(ts_events_query_parse(&q, NULL, NULL, pool));
  cr_assert_eq(q.filters->nelts, 1);
  cr_assert_str_eq(filter(&q, 0), "#");
  cr_assert_null(ts_events_query_parse(&q, "", NULL, pool));
  cr_assert_str_eq(filter(&q, 0), "#");
}

Test(events, last_event_id_from_the_header_wins_over_the_query)
{
  ts_events_query_t q;

  cr_assert_null(ts_events_query_parse(&q, "last-event-id=41", NULL, pool));
  cr_assert(q.resume);
  cr_assert_eq(q.last_id, 41);
  cr_assert_null(ts_events_query_parse(&q, "last-event-id=41", "1999",
                                       pool));
  cr_assert_eq(q.last_id, 1999);
  cr_assert_null(ts_events_query_parse(&q, NULL, "18446744073709551615",
                                       pool));
  cr_assert_eq(q.last_id, APR_UINT64_MAX);
  cr_assert_null(ts_events_query_parse(&q, NULL, "0", pool));
  cr_assert(q.resume);
  cr_assert_eq(q.last_id, 0);
}

Test(events, bad_filters_and_ids_are_refused_saying_why)
{
  const char *why;

  why = refusal("topic=a/b%2B", NULL);
  cr_assert(why && strstr(why, "'+' stands for one whole level"), "%s", why);
  why = refusal("topic=a/%23/b", NULL);
  cr_assert(why && strstr(why, "'#' stands for every level"), "%s", why);
  why = refusal("topic=a%23", NULL);
  cr_assert(why && strstr(why, "'#'"), "%s", why);
  why = refusal("topic=", NULL);
  cr_assert(why && strstr(why, "empty topic filter"), "%s", why);
  why = refusal("topic=tessera/v1/%23", NULL);
  cr_assert(why && strstr(why, "without the prefix tessera/v1/"), "%s",
            why);
  why = refusal("topic=a%0Ab", NULL);
  cr_assert(why && strstr(why, "control character"), "%s", why);
  why = refusal("topic=%FF", NULL);
  cr_assert(why && strstr(why, "not UTF-8"), "%s", why);
  why = refusal("topic=a%2", NULL);
  cr_assert(why && strstr(why, "malformed %-escape"), "%s", why);
  why = refusal("topic=a%00", NULL);
  cr_assert(why && strstr(why, "malformed %-escape"), "%s", why);
  why = refusal(apr_psprintf(pool, "topic=%0300d", 1), NULL);
  cr_assert(why && strstr(why, "300 bytes long; at most 256"), "%s", why);
  why = refusal(NULL, "12a");
  cr_assert(why && strstr(why, "Last-Event-ID header '12a' is not an event "
                          "id"), "%s", why);
  why = refusal("last-event-id=-1", NULL);
  cr_assert(why && strstr(why, "last-event-id= value '-1'"), "%s", why);
  why = refusal(NULL, "18446744073709551616");
  cr_assert(why && strstr(why, "not an event id"), "%s", why);
  why = refusal(NULL, "");
  cr_assert(why && strstr(why, "not an event id"), "%s", why);
  {
    const char *many = "";
    for (int i = 0; i < TS_EVENTS_MAX_FILTERS + 1; i++)
      many = apr_psprintf(pool, "%s&topic=a/%d", many, i);
    why = refusal(many + 1, NULL);
    cr_assert(why && strstr(why, "more than 16 topic= filters"), "%s", why);
  }
}

Test(events, filters_match_as_mqtt_says)
{
  static const struct { const char *f, *t; int m; } cases[] = {
    { "#", "license/state", 1 },
    { "#", "a", 1 },
    { "versions/+/+", "versions/bridge/v1", 1 },
    { "versions/+/+", "versions/bridge", 0 },
    { "versions/+/+", "versions/bridge/v1/x", 0 },
    { "versions/#", "versions", 1 },
    { "versions/#", "versions/bridge/v1", 1 },
    { "versions/#", "versionsx/a", 0 },
    { "models/+/+/elements/+", "models/bridge/v1/elements/7", 1 },
    { "models/bridge/#", "models/bridgeX/v1/elements/7", 0 },
    { "models/bridge/#", "models/bridge/v1/elements/7", 1 },
    { "license/state", "license/state", 1 },
    { "license/state", "license/stat", 0 },
    { "license/stat", "license/state", 0 },
    { "license", "license/state", 0 },
    { "license/state/x", "license/state", 0 },
    { "+", "license", 1 },
    { "+", "license/state", 0 },
    { "+/+", "/x", 1 },
    { "a/+", "a/", 1 },
    { "a/+", "a", 0 },
    { "a//b", "a//b", 1 },
    { "+/#", "a", 1 },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cr_assert_null(ts_events_filter_check(cases[i].f, pool));
    cr_assert_eq(ts_events_filter_match(cases[i].f, cases[i].t), cases[i].m,
                 "%s on %s", cases[i].f, cases[i].t);
  }
}

Test(events, a_frame_has_id_event_and_one_data_line_per_line)
{
  ts_event_t *e = ts_event_create(7, "versions/bridge/v1",
                                  "{\"state\":\"running\"}");

  cr_assert_str_eq(e->frame, "id: 7\nevent: versions/bridge/v1\n"
                   "data: {\"state\":\"running\"}\n\n");
  cr_assert_eq(e->len, strlen(e->frame));
  cr_assert_str_eq(e->topic, "versions/bridge/v1");
  ts_event_unref(e);
  /* a cleared retained topic: data null; line breaks cannot end the
   * event early or forge a field */
  e = ts_event_create(8, "a\nid: 9", "");
  cr_assert_str_eq(e->frame, "id: 8\nevent: a id: 9\ndata: null\n\n");
  ts_event_unref(e);
  e = ts_event_create(9, "t", "{\n\"a\":1\r\n}\n\nid: 1");
  cr_assert_str_eq(e->frame, "id: 9\nevent: t\ndata: {\ndata: \"a\":1\n"
                   "data: }\ndata: \ndata: id: 1\n\n");
  ts_event_unref(e);
}

Test(events, the_ring_keeps_the_last_events_by_id)
{
  ts_ring_t *r = ts_ring_create(3, pool);

  ts_ring_start(r, 100);
  cr_assert_eq(ts_ring_oldest(r), 100);
  cr_assert_eq(ts_ring_next(r), 100);
  cr_assert_null(ts_ring_get(r, 100));
  for (apr_uint64_t id = 100; id < 105; id++)
    ts_ring_push(r, ts_event_create(id, "t", "{}"));
  cr_assert_eq(ts_ring_count(r), 3);
  cr_assert_eq(ts_ring_oldest(r), 102);
  cr_assert_eq(ts_ring_next(r), 105);
  cr_assert_null(ts_ring_get(r, 101));
  cr_assert_eq(ts_ring_get(r, 102)->id, 102);
  cr_assert_eq(ts_ring_get(r, 104)->id, 104);
  cr_assert_null(ts_ring_get(r, 105));
  cr_assert_eq(ts_ring_bytes(r), 3 * strlen("id: 100\nevent: t\n"
                                            "data: {}\n\n"));
  ts_ring_clear(r);
  cr_assert_eq(ts_ring_count(r), 0);
}

Test(events, the_gap_notice_counts_what_is_lost_within_a_run)
{
  ts_event_t *e = ts_event_gap(10, 20, 25, 1);
  const char *data = strstr(e->frame, "data: ") + 6;
  json_t *j = json_loads(data, JSON_DISABLE_EOF_CHECK, NULL);

  cr_assert_eq(strncmp(e->frame, "event: gap\n", 11), 0, "%s", e->frame);
  cr_assert_not_null(j, "%s", e->frame);
  cr_assert_eq(json_integer_value(json_object_get(j, "last_event_id")), 10);
  cr_assert_eq(json_integer_value(json_object_get(j, "oldest")), 20);
  cr_assert_eq(json_integer_value(json_object_get(j, "lost")), 9);
  json_decref(j);
  ts_event_unref(e);
  /* an id of an earlier run: the loss cannot be counted */
  e = ts_event_gap(5, 1000, 1010, 990);
  data = strstr(e->frame, "data: ") + 6;
  j = json_loads(data, JSON_DISABLE_EOF_CHECK, NULL);
  cr_assert(json_is_null(json_object_get(j, "lost")), "%s", e->frame);
  cr_assert(strstr(e->frame, "restarted"), "%s", e->frame);
  json_decref(j);
  ts_event_unref(e);
}
