/* ts_httpd_stats.c: what a listener tells /metrics (see ts_httpd.h):
 * requests by route and status with their latencies, and the connections
 * it holds and refuses. */
#include "ts_httpd_impl.h"

#include <string.h>
#include <apr_strings.h>

/* Latency histogram bounds, in seconds. */
static const double bounds[NBOUNDS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                        2.5 };
static const char *const bound_labels[NBOUNDS] = { "0.0005", "0.001",
  "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
  "2.5" };

void
ts_httpd_record(ts_httpd_t *httpd, const char *route, int code,
                apr_time_t took)
{
  double secs = (double)took / APR_USEC_PER_SEC;
  route_stats_t *r = NULL;
  int i;

  apr_thread_mutex_lock(httpd->stats_lock);
  for (i = 0; i < httpd->nroutes; i++)
    if (strcmp(httpd->routes[i].route, route) == 0) {
      r = &httpd->routes[i];
      break;
    }
  if (!r)
    r = &httpd->routes[httpd->nroutes < MAX_ROUTES ? httpd->nroutes++
                                                   : MAX_ROUTES - 1];
  if (!r->route)
    r->route = route;
  for (i = 0; i < MAX_CODES && r->codes[i] && r->codes[i] != code; i++)
    ;
  if (i == MAX_CODES)
    i = MAX_CODES - 1;
  r->codes[i] = code;
  r->per_code[i]++;
  for (i = 0; i < NBOUNDS && secs > bounds[i]; i++)
    ;
  if (i < NBOUNDS)
    r->buckets[i]++;
  r->count++;
  r->sum += secs;
  apr_thread_mutex_unlock(httpd->stats_lock);
}

static void
request_metrics(ts_prom_t *prom, const route_stats_t *routes, int nroutes,
                const char *prefix, apr_pool_t *pool)
{
  const char *requests = apr_pstrcat(pool, prefix, "_http_requests_total",
                                     NULL);
  const char *duration = apr_pstrcat(pool, prefix,
                                     "_http_request_duration_seconds", NULL);
  const char *bucket = apr_pstrcat(pool, duration, "_bucket", NULL);
  const char *sum = apr_pstrcat(pool, duration, "_sum", NULL);
  const char *count = apr_pstrcat(pool, duration, "_count", NULL);

  ts_prom_family(prom, requests, "counter", "HTTP requests answered, by "
                 "route and status code.");
  for (int i = 0; i < nroutes; i++) {
    const route_stats_t *r = &routes[i];
    for (int c = 0; c < MAX_CODES && r->codes[c]; c++)
      ts_prom_int(prom, requests, (const char *const[]){ "route", r->route,
                  "code", apr_itoa(pool, r->codes[c]), NULL },
                  (apr_int64_t)r->per_code[c]);
  }
  ts_prom_family(prom, duration, "histogram", "Time from a complete "
                 "request to its queued answer.");
  for (int i = 0; i < nroutes; i++) {
    const route_stats_t *r = &routes[i];
    const char *const by_route[] = { "route", r->route, NULL };
    apr_uint64_t cum = 0;
    for (int b = 0; b < NBOUNDS; b++) {
      cum += r->buckets[b];
      ts_prom_int(prom, bucket, (const char *const[]){ "route", r->route,
                  "le", bound_labels[b], NULL }, (apr_int64_t)cum);
    }
    ts_prom_int(prom, bucket, (const char *const[]){ "route", r->route,
                "le", "+Inf", NULL }, (apr_int64_t)r->count);
    ts_prom_real(prom, sum, by_route, r->sum);
    ts_prom_int(prom, count, by_route, (apr_int64_t)r->count);
  }
}

static void
connection_metrics(ts_prom_t *prom, ts_httpd_t *httpd, const char *prefix,
                   apr_pool_t *pool)
{
  ts_httpd_budget_t *b = httpd->budget;
  const char *open = apr_pstrcat(pool, prefix, "_http_connections", NULL);
  const char *limit = apr_pstrcat(pool, prefix, "_http_connections_limit",
                                  NULL);
  const char *per_client = apr_pstrcat(pool, prefix, "_http_connections_"
                                       "per_client_limit", NULL);
  const char *refused = apr_pstrcat(pool, prefix, "_http_connections_"
                                    "refused_total", NULL);
  long here;
  apr_uint64_t full, over;

  apr_thread_mutex_lock(b->lock);
  here = httpd->open;
  full = httpd->refused_full;
  over = httpd->refused_client;
  apr_thread_mutex_unlock(b->lock);
  ts_prom_family(prom, open, "gauge", "Client connections open on this "
                 "port.");
  ts_prom_int(prom, open, NULL, here);
  ts_prom_family(prom, limit, "gauge", "The most client connections this "
                 "server holds on all its ports together: what its "
                 "open-files limit leaves room for.");
  ts_prom_int(prom, limit, NULL, b->limit);
  ts_prom_family(prom, per_client, "gauge", "The most of them one client "
                 "address may hold.");
  ts_prom_int(prom, per_client, NULL, b->per_client);
  ts_prom_family(prom, refused, "counter", "Connections to this port "
                 "closed at once: every connection the server may hold was "
                 "open (reason limit), or the client's address held its "
                 "share (reason client-limit).");
  ts_prom_int(prom, refused, (const char *const[]){ "reason", "limit",
              NULL }, (apr_int64_t)full);
  ts_prom_int(prom, refused, (const char *const[]){ "reason",
              "client-limit", NULL }, (apr_int64_t)over);
}

void
ts_httpd_metrics(ts_prom_t *prom, ts_httpd_t *httpd, const char *prefix,
                 apr_pool_t *pool)
{
  route_stats_t *routes = apr_palloc(pool, sizeof(httpd->routes));
  int nroutes;

  /* a copy, so the text is written without holding up requests */
  apr_thread_mutex_lock(httpd->stats_lock);
  memcpy(routes, httpd->routes, sizeof(httpd->routes));
  nroutes = httpd->nroutes;
  apr_thread_mutex_unlock(httpd->stats_lock);
  request_metrics(prom, routes, nroutes, prefix, pool);
  connection_metrics(prom, httpd, prefix, pool);
}
