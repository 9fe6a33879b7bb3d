/* ts_routes.h: answering HTTP requests from tables of routes.
 *
 * A route is a method, a path pattern and a handler:
 *
 *   static const ts_route_t routes[] = {
 *     { "POST", "/v1/sessions", checkout },
 *     { "PUT",  "/v1/sessions/{id}/heartbeat", heartbeat },
 *     { NULL }
 *   };
 *
 * A pattern is a path of segments; a segment written {name} matches any
 * non-empty segment of the request's path, which the handler gets in
 * ARGS (in the order of the pattern's braces). Other segments match only
 * themselves. A method matches only itself: a route that also answers
 * HEAD (or POST beside PUT) says so with a second entry.
 *
 * Dispatching answers by itself what no handler needs to write again: 404
 * for a path no route has (naming the routes closest to it), and 405 for
 * a path that is there with another method (with an Allow header). It
 * sets the reply's route to the pattern, so /metrics counts requests per
 * pattern, never per session id.
 */
#ifndef TS_ROUTES_H
#define TS_ROUTES_H

#include "ts_httpd.h"

/* The most {name} segments a pattern may have. */
#define TS_ROUTE_MAX_ARGS 4

/* Answer REQ into REPLY; ARGS has the pattern's {name} segments, then
 * NULL. Allocate from POOL, the request's. */
typedef void (*ts_route_handler_t)(ts_http_reply_t *reply, void *baton,
                                   const ts_http_request_t *req,
                                   const char *const *args,
                                   apr_pool_t *pool);

typedef struct ts_route_t {
  const char *method;           /* "GET", "POST", ...; NULL ends a table */
  const char *pattern;          /* static: it is the /metrics label */
  ts_route_handler_t handler;
} ts_route_t;

/* A table of routes and the baton its handlers get. */
typedef struct ts_routes_t {
  const ts_route_t *routes;
  void *baton;
} ts_routes_t;

/* Answer REQ with the first route of TABLES[0..NTABLES-1] whose method
 * and pattern match; else 404 or 405 as above. */
void ts_routes_dispatch(ts_http_reply_t *reply, const ts_routes_t *tables,
                        int ntables, const ts_http_request_t *req,
                        apr_pool_t *pool);

#endif
