/* ts_routes.c: dispatching a request over route tables (see ts_routes.h).
 * Tables are small (a dozen routes), so a linear scan that compares
 * segment by segment is as fast as anything cleverer and easy to follow. */
#include "ts_routes.h"
#include "ts_i18n.h"

#include <string.h>
#include <apr_strings.h>

/* Suggestions a 404 makes at most. */
#define HINTS 4

static int
is_param(const char *segment, apr_size_t len)
{
  return len > 2 && segment[0] == '{' && segment[len - 1] == '}';
}

/* How many leading segments of PATH match PATTERN, and in *WHOLE whether
 * all of them do (and there are no more on either side). With ARGS, the
 * {name} segments are copied there (from POOL) in order. */
static int
match(int *whole, const char **args, const char *pattern, const char *path,
      apr_pool_t *pool)
{
  int depth = 0, nargs = 0;

  *whole = 0;
  while (*pattern == '/' && *path == '/') {
    apr_size_t plen = strcspn(++pattern, "/"), ulen = strcspn(++path, "/");
    if (is_param(pattern, plen)) {
      if (ulen == 0 || nargs == TS_ROUTE_MAX_ARGS)
        return depth;
      if (args)
        args[nargs] = apr_pstrndup(pool, path, ulen);
      nargs++;
    }
    else if (plen != ulen || memcmp(pattern, path, plen) != 0)
      return depth;
    depth++;
    pattern += plen;
    path += ulen;
  }
  *whole = !*pattern && !*path;
  return depth;
}

/* PATH for a message: as it is when it is printable ASCII (so the JSON
 * of the answer stays valid UTF-8 and a log reader sees what came). */
static const char *
shown(const char *path)
{
  for (const char *p = path; *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '"')
      return "(invalid)";
  return path;
}

static int
segments(const char *pattern)
{
  int n = 0;

  for (; *pattern; pattern++)
    n += *pattern == '/';
  return n;
}

/* A route's rank as a suggestion for a path no route has: the more
 * leading segments it shares with the path the better, then the shorter
 * (a resource before its sub-resources). */
static int
rank(const ts_route_t *r, const char *path, apr_pool_t *pool)
{
  int whole, depth = match(&whole, NULL, r->pattern, path, pool);

  return depth * 64 - segments(r->pattern);
}

/* 404, naming up to HINTS routes of the best rank (ties: in table
 * order), each pattern once. */
static void
not_found(ts_http_reply_t *reply, const ts_routes_t *tables, int ntables,
          const ts_http_request_t *req, apr_pool_t *pool)
{
  const ts_route_t *best[HINTS] = { NULL };
  int score[HINTS] = { 0 }, n = 0;
  const char *hint = "";

  for (int t = 0; t < ntables; t++)
    for (const ts_route_t *r = tables[t].routes; r->method; r++) {
      int s = rank(r, req->url, pool), k, dup = 0;
      for (k = 0; k < n; k++)
        dup |= strcmp(best[k]->pattern, r->pattern) == 0;
      if (dup || (n == HINTS && s <= score[HINTS - 1]))
        continue;
      for (k = n < HINTS ? n++ : HINTS - 1; k > 0 && score[k - 1] < s; k--) {
        best[k] = best[k - 1];
        score[k] = score[k - 1];
      }
      best[k] = r;
      score[k] = s;
    }
  for (int k = 0; k < n; k++)
    hint = apr_pstrcat(pool, hint, k == 0 ? _("; try ") : k == n - 1
                       ? _(" or ") : ", ", best[k]->method, " ",
                       best[k]->pattern, NULL);
  ts_http_reply_error(reply, 404, apr_psprintf(pool,
                      _("no such resource: %s%s"), shown(req->url), hint),
                      pool);
}

void
ts_routes_dispatch(ts_http_reply_t *reply, const ts_routes_t *tables,
                   int ntables, const ts_http_request_t *req,
                   apr_pool_t *pool)
{
  const ts_route_t *found = NULL;
  const char *allow = NULL;
  int whole;

  for (int t = 0; t < ntables; t++)
    for (const ts_route_t *r = tables[t].routes; r->method; r++) {
      const char *args[TS_ROUTE_MAX_ARGS + 1] = { NULL };
      match(&whole, NULL, r->pattern, req->url, pool);
      if (!whole)
        continue;
      if (strcmp(r->method, req->method) == 0) {
        match(&whole, args, r->pattern, req->url, pool);
        reply->route = r->pattern;
        r->handler(reply, tables[t].baton, req, args, pool);
        return;
      }
      if (!found)
        found = r;
      allow = allow ? apr_pstrcat(pool, allow, ", ", r->method, NULL)
                    : r->method;
    }
  if (!found) {
    not_found(reply, tables, ntables, req, pool);
    return;
  }
  reply->route = found->pattern;
  reply->allow = allow;
  ts_http_reply_error(reply, 405, apr_psprintf(pool, _("%s answers %s"),
                      found->pattern, allow), pool);
}
