/* fuzz_events.c: what a client of the notification service's event
 * stream sends (core/roles/notify/ts_notify_query.c): the query of
 * GET /v1/events (topic= filters, last-event-id=) and the Last-Event-ID
 * header; and the SSE frame an event becomes (ts_notify_frame.c), whose
 * topic and payload come from the bus.
 *
 * The input: the query (a line), "###", the Last-Event-ID header ("-" alone: no
 * header), "###", topics one per line (the last line is also the
 * payload of a frame). Invariants: a refusal is TS_EINVAL with a
 * message; an accepted query has 1..16 filters, each valid on its own;
 * an accepted id reads back as the decimal number it was; each filter
 * matches each topic exactly when libmosquitto's
 * mosquitto_topic_matches_sub says so (topics without wildcards and not
 * starting with '$'); a frame is lines starting "id: ", "event: " or
 * "data: ", ending in one blank line, with no other blank line.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <mosquitto.h>

#include "fuzz_common.h"
#include "ts_notify_events.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

static void
check_frame(const char *topic, const char *payload)
{
  ts_event_t *e = ts_event_create(42, topic, payload);
  const char *p = e->frame;

  FUZZ_CHECK(e->len == strlen(e->frame), "frame length %zu, strlen %zu",
             (size_t)e->len, strlen(e->frame));
  FUZZ_CHECK(e->len >= 2 && strcmp(e->frame + e->len - 2, "\n\n") == 0,
             "frame does not end in a blank line: %s", e->frame);
  while (p < e->frame + e->len - 1) {
    const char *nl = strchr(p, '\n');
    FUZZ_CHECK(nl, "unterminated line in %s", e->frame);
    FUZZ_CHECK(strncmp(p, "id: ", 4) == 0 || strncmp(p, "event: ", 7) == 0
               || strncmp(p, "data: ", 6) == 0,
               "line '%.*s' is no field of ours", (int)(nl - p), p);
    FUZZ_CHECK(!memchr(p, '\r', (size_t)(nl - p)), "CR inside a line");
    p = nl + 1;
  }
  ts_event_unref(e);
}

static void
check_matches(const ts_events_query_t *q, apr_array_header_t *topics)
{
  for (int i = 0; i < q->filters->nelts; i++) {
    const char *f = APR_ARRAY_IDX(q->filters, i, const char *);
    for (int k = 0; k < topics->nelts; k++) {
      const char *t = APR_ARRAY_IDX(topics, k, const char *);
      bool theirs = false;
      int ours = ts_events_filter_match(f, t);
      if (!*t || t[0] == '$' || strpbrk(t, "+#")
          || mosquitto_validate_utf8(t, (int)strlen(t)) != MOSQ_ERR_SUCCESS)
        continue;
      FUZZ_CHECK(mosquitto_topic_matches_sub(f, t, &theirs)
                 == MOSQ_ERR_SUCCESS, "libmosquitto refuses filter '%s' "
                 "we accepted", f);
      FUZZ_CHECK(ours == (int)theirs, "filter '%s' on topic '%s': we say "
                 "%d, libmosquitto %d", f, t, ours, (int)theirs);
    }
  }
}

/* PART without the line break before the separator that followed it. */
static const char *
chomp(const char *part, apr_pool_t *pool)
{
  apr_size_t n = strlen(part);

  return n && part[n - 1] == '\n' ? apr_pstrndup(pool, part, n - 1) : part;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  apr_array_header_t *lens, *parts, *topics;
  const char *query, *header, *rest;
  ts_events_query_t q;
  ts_error_t *err;

  apr_pool_create(&pool, NULL);
  parts = fuzz_split(&lens, data, size, "###", 3, pool);
  query = chomp(APR_ARRAY_IDX(parts, 0, const char *), pool);
  header = parts->nelts > 1 ? chomp(APR_ARRAY_IDX(parts, 1, const char *),
                                    pool) : "-";
  rest = parts->nelts > 2 ? APR_ARRAY_IDX(parts, 2, const char *) : "";
  err = ts_events_query_parse(&q, *query ? query : NULL,
                              strcmp(header, "-") ? header : NULL, pool);
  if (err) {
    FUZZ_CHECK(ts_error_code(err) == TS_EINVAL, "refusal with code %d",
               (int)ts_error_code(err));
    FUZZ_CHECK(*ts_error_text(err, pool), "a refusal without a message");
    ts_error_clear(err);
  }
  else {
    FUZZ_CHECK(q.filters->nelts >= 1
               && q.filters->nelts <= TS_EVENTS_MAX_FILTERS,
               "%d filters", q.filters->nelts);
    for (int i = 0; i < q.filters->nelts; i++) {
      ts_error_t *bad = ts_events_filter_check(
        APR_ARRAY_IDX(q.filters, i, const char *), pool);
      FUZZ_CHECK(!bad, "accepted an invalid filter: %s",
                 ts_error_text(bad, pool));
    }
    if (q.resume && strcmp(header, "-") != 0) {
      const char *digits = header;
      while (*digits == ' ' || (*digits == '0' && apr_isdigit(digits[1])))
        digits++;
      FUZZ_CHECK(strncmp(apr_psprintf(pool, "%" APR_UINT64_T_FMT,
                                      q.last_id), digits,
                         strlen(apr_psprintf(pool, "%" APR_UINT64_T_FMT,
                                             q.last_id))) == 0,
                 "Last-Event-ID '%s' read as %" APR_UINT64_T_FMT, header,
                 q.last_id);
    }
    topics = apr_array_make(pool, 8, sizeof(const char *));
    for (char *line = apr_pstrdup(pool, rest), *last = NULL,
         *t = apr_strtok(line, "\n", &last); t;
         t = apr_strtok(NULL, "\n", &last))
      APR_ARRAY_PUSH(topics, const char *) = t;
    check_matches(&q, topics);
  }
  check_frame(header, rest);
  apr_pool_destroy(pool);
  return 0;
}
