/* ts_notify_query.c: what a client of GET /v1/events sends: its topic
 * filters (MQTT's, over the topics as clients see them, without
 * "tessera/v1/") and the id of the last event it has (Last-Event-ID).
 * This is the only text of a subscriber the service reads; it has a
 * fuzzing harness (tests/fuzz/fuzz_events.c). */
#include "ts_notify_events.h"

#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ts_log.h"

/* The value of a %XX-encoded query part S (N bytes) in POOL; NULL when an
 * escape is malformed or decodes to NUL. '+' stays '+'. */
static char *
decode(const char *s, apr_size_t n, apr_pool_t *pool)
{
  char *out = apr_palloc(pool, n + 1), *o = out;

  for (apr_size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      *o++ = s[i];
      continue;
    }
    if (i + 2 >= n || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2]))
      return NULL;
    {
      char hex[3] = { s[i + 1], s[i + 2], '\0' };
      char c = (char)strtol(hex, NULL, 16);
      if (c == '\0')
        return NULL;
      *o++ = c;
    }
    i += 2;
  }
  *o = '\0';
  return out;
}

/* The length of the UTF-8 character at S (N bytes there) that is not a
 * control character, or 0. */
static apr_size_t
char_len(const unsigned char *s, apr_size_t n)
{
  apr_size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2
                   : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4
                   : 0;
  unsigned c;

  if (len == 0 || len > n)
    return 0;
  c = len == 1 ? s[0] : s[0] & (0x7fu >> len);
  for (apr_size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800)
      || (len == 4 && (c < 0x10000 || c > 0x10ffff))
      || (c >= 0xd800 && c <= 0xdfff) || c < 0x20
      || (c >= 0x7f && c <= 0x9f))
    return 0;
  return len;
}

ts_error_t *
ts_events_filter_check(const char *filter, apr_pool_t *pool)
{
  const unsigned char *s = (const unsigned char *)filter;
  apr_size_t n = strlen(filter);

  if (n == 0)
    return ts_error_createf(TS_EINVAL, "an empty topic filter: give "
                            "topic=<filter>, e.g. topic=versions/%%23, or "
                            "no topic= for every event");
  if (n > TS_EVENTS_MAX_FILTER)
    return ts_error_createf(TS_EINVAL, "the topic filter '%s' is %ld bytes "
                            "long; at most %d are allowed",
                            ts_log_quote(filter, 64, pool), (long)n,
                            TS_EVENTS_MAX_FILTER);
  for (apr_size_t i = 0; i < n;) {
    apr_size_t len = char_len(s + i, n - i);
    if (len == 0)
      return ts_error_createf(TS_EINVAL, "the topic filter '%s' has a "
                              "control character or a byte that is not "
                              "UTF-8 at byte %ld",
                              ts_log_quote(filter, 64, pool), (long)i + 1);
    i += len;
  }
  if (strncmp(filter, "tessera/", 8) == 0)
    return ts_error_createf(TS_EINVAL, "the topic filter '%s' starts with "
                            "'tessera/': filters name the topics without "
                            "the prefix tessera/v1/, e.g. 'versions/+/+' "
                            "for tessera/v1/versions/+/+",
                            ts_log_quote(filter, 64, pool));
  for (const char *p = filter; *p; p++) {
    int alone = (p == filter || p[-1] == '/') && (!p[1] || p[1] == '/');
    if (*p == '+' && !alone)
      return ts_error_createf(TS_EINVAL, "the topic filter '%s' has '+' "
                              "beside other characters in a level: '+' "
                              "stands for one whole level (a/+/c)",
                              ts_log_quote(filter, 64, pool));
    if (*p == '#' && (!alone || p[1]))
      return ts_error_createf(TS_EINVAL, "the topic filter '%s' has '#' "
                              "elsewhere than as its whole last level: "
                              "'#' stands for every level that follows "
                              "(a/#)", ts_log_quote(filter, 64, pool));
  }
  return NULL;
}

int
ts_events_filter_match(const char *filter, const char *topic)
{
  const char *f = filter, *t = topic;

  for (;;) {
    if (f[0] == '#')
      return 1;              /* "a/#" matches "a" too (MQTT 4.7.1.2) */
    if (f[0] == '+') {
      while (*t && *t != '/')
        t++;
      f++;
    }
    else {
      while (*f && *f != '/' && *f == *t) {
        f++;
        t++;
      }
      if ((*f && *f != '/') || (*t && *t != '/'))
        return 0;
    }
    if (!*f && !*t)
      return 1;
    if (!*t)                 /* "a/#" for "a", or "a/+" ends short */
      return f[0] == '/' && f[1] == '#' && !f[2];
    if (!*f)
      return 0;
    f++;                     /* both at '/' */
    t++;
  }
}

/* The decimal event id TEXT (spaces around it allowed); whether it is
 * one. */
static int
parse_id(apr_uint64_t *id, const char *text)
{
  apr_uint64_t v = 0;
  const char *p = text;

  while (*p == ' ')
    p++;
  if (!apr_isdigit(*p))
    return 0;
  for (; apr_isdigit(*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (APR_UINT64_MAX - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  while (*p == ' ')
    p++;
  if (*p)
    return 0;
  *id = v;
  return 1;
}

/* One parameter NAME=VALUE (VALUE decoded) into Q. */
static ts_error_t *
parameter(ts_events_query_t *q, const char *name, const char *value,
          apr_pool_t *pool)
{
  if (strcmp(name, "topic") == 0) {
    if (q->filters->nelts == TS_EVENTS_MAX_FILTERS)
      return ts_error_createf(TS_EINVAL, "more than %d topic= filters: "
                              "combine them with + and #, or open a second "
                              "stream", TS_EVENTS_MAX_FILTERS);
    TS_ERR(ts_events_filter_check(value, pool));
    APR_ARRAY_PUSH(q->filters, const char *) = value;
  }
  else if (strcmp(name, "last-event-id") == 0) {
    if (!parse_id(&q->last_id, value))
      return ts_error_createf(TS_EINVAL, "the last-event-id= value '%s' is "
                              "not an event id: give the decimal id of the "
                              "last event received (the id: line of the "
                              "stream)", ts_log_quote(value, 64, pool));
    q->resume = 1;
  }
  return NULL;
}

ts_error_t *
ts_events_query_parse(ts_events_query_t *q, const char *query,
                      const char *last_event_id, apr_pool_t *pool)
{
  const char *p = query;

  memset(q, 0, sizeof(*q));
  q->filters = apr_array_make(pool, 4, sizeof(const char *));
  while (p && *p) {
    const char *end = strchr(p, '&'), *eq;
    apr_size_t n = end ? (apr_size_t)(end - p) : strlen(p);
    const char *name, *value;

    eq = memchr(p, '=', n);
    name = decode(p, eq ? (apr_size_t)(eq - p) : n, pool);
    value = eq ? decode(eq + 1, n - (apr_size_t)(eq + 1 - p), pool) : "";
    if (!name || !value)
      return ts_error_createf(TS_EINVAL, "the query '%s' has a malformed "
                              "%%-escape (write %%XX with two hex digits; "
                              "%%00 is not allowed)",
                              ts_log_quote(apr_pstrndup(pool, p, n), 128,
                                           pool));
    TS_ERR(parameter(q, name, value, pool));
    p = end ? end + 1 : NULL;
  }
  if (last_event_id) {
    if (!parse_id(&q->last_id, last_event_id))
      return ts_error_createf(TS_EINVAL, "the Last-Event-ID header '%s' is "
                              "not an event id: give the decimal id of the "
                              "last event received (the id: line of the "
                              "stream)", ts_log_quote(last_event_id, 64,
                                                      pool));
    q->resume = 1;
  }
  if (q->filters->nelts == 0)
    APR_ARRAY_PUSH(q->filters, const char *) = "#";
  return NULL;
}
