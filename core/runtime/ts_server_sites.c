/* ts_server_sites.c: the HTTP ports a role serves (ts_server_listen in
 * ts_server.h): the role's routes, and the /health and /metrics every
 * Tessera port answers alike, so a monitoring system needs one probe and
 * one scrape configuration for every server of the suite. */
#include "ts_server_impl.h"

#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_version.h"

typedef struct site_t {
  ts_server_site_t s;
  ts_server_t *server;
  ts_httpd_t *httpd;            /* set once it listens */
  ts_uvhttp_t *uvhttp;          /* or this, on the event loop */
  ts_routes_t *tables;          /* the role's, then /health and /metrics */
  int ntables;
} site_t;

static void
health(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  site_t *site = baton;
  apr_time_t up = apr_time_now() - site->server->started;

  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:s, s:s, s:i, s:I}",
                     "status", "ok", "role", site->s.label, "version",
                     TS_VERSION, "port", site->s.port, "uptime_seconds",
                     (json_int_t)apr_time_sec(up)), pool);
}

static void
metrics(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  site_t *site = baton;
  ts_prom_t *prom = ts_prom_create(pool);

  (void)req;
  (void)args;
  if (site->httpd)
    ts_httpd_metrics(prom, site->httpd, "tessera", pool);
  if (site->uvhttp)
    ts_uvhttp_metrics(prom, site->uvhttp, "tessera", pool);
  if (site->s.metrics)
    site->s.metrics(prom, site->s.metrics_baton, pool);
  reply->content_type = TS_PROM_CONTENT_TYPE;
  reply->body = ts_prom_text(prom);
}

/* HEAD as well: load balancers and uptime checks probe with it. */
static const ts_route_t common_routes[] = {
  { "GET", "/health", health },
  { "HEAD", "/health", health },
  { "GET", "/metrics", metrics },
  { "HEAD", "/metrics", metrics },
  { NULL, NULL, NULL }
};

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  site_t *site = baton;

  ts_routes_dispatch(reply, site->tables, site->ntables, req, pool);
}

/* SITE as served: the role's tables, then /health and /metrics. */
static site_t *
make_site(ts_server_t *server, const ts_server_site_t *s, apr_pool_t *pool)
{
  site_t *site = apr_pcalloc(pool, sizeof(*site));

  site->s = *s;
  site->s.name = apr_pstrdup(pool, s->name);
  site->s.label = apr_pstrdup(pool, s->label);
  site->server = server;
  site->ntables = s->nroutes + 1;
  site->tables = apr_pcalloc(pool, site->ntables * sizeof(ts_routes_t));
  if (s->nroutes)
    memcpy(site->tables, s->routes, s->nroutes * sizeof(ts_routes_t));
  site->tables[s->nroutes].routes = common_routes;
  site->tables[s->nroutes].baton = site;
  return site;
}

ts_error_t *
ts_server_listen(ts_httpd_t **httpd, ts_server_t *server,
                 const ts_server_site_t *s, apr_pool_t *pool)
{
  site_t *site = make_site(server, s, pool);

  TS_ERR(ts_httpd_start(&site->httpd, site->s.name, s->port,
                        server->info.config->listen, answer, site,
                        server->budget, s->log ? s->log : server->info.log,
                        pool));
  *httpd = site->httpd;
  return NULL;
}

ts_error_t *
ts_server_listen_loop(ts_uvhttp_t **uvhttp, ts_server_t *server,
                      const ts_server_site_t *s,
                      const ts_uvhttp_hooks_t *hooks, apr_pool_t *pool)
{
  site_t *site = make_site(server, s, pool);

  TS_ERR(ts_uvhttp_start(&site->uvhttp, site->s.name, s->port,
                         server->info.config->listen, answer, site, hooks,
                         server->budget, s->log ? s->log : server->info.log,
                         pool));
  *uvhttp = site->uvhttp;
  return NULL;
}
