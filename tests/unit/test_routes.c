/* test_routes.c: route tables: a pattern's {name} segments reach the
 * handler, the route label is the pattern, a path no route has is 404
 * naming the routes closest to it, a known path with another method is
 * 405 with the methods it answers; answers stay JSON whatever an error
 * message quotes. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_routes.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(routes, .init = setup, .fini = teardown);

/* Answers 200 with the handler's name, the baton and the arguments. */
static void
echo(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *p)
{
  const char *text = apr_pstrcat(p, baton, " ", req->method, NULL);

  for (int i = 0; args[i]; i++)
    text = apr_pstrcat(p, text, " [", args[i], "]", NULL);
  reply->status = 200;
  reply->body = text;
}

static const ts_route_t sessions[] = {
  { "POST", "/v1/sessions", echo },
  { "GET", "/v1/sessions", echo },
  { "PUT", "/v1/sessions/{id}/heartbeat", echo },
  { "POST", "/v1/sessions/{id}/heartbeat", echo },
  { "DELETE", "/v1/sessions/{id}", echo },
  { "GET", "/v1/pairs/{a}/{b}", echo },
  { NULL, NULL, NULL }
};

static const ts_route_t common[] = {
  { "GET", "/health", echo },
  { "HEAD", "/health", echo },
  { NULL, NULL, NULL }
};

static ts_http_reply_t
ask(const char *method, const char *url)
{
  ts_routes_t tables[] = { { sessions, "api" }, { common, "common" } };
  ts_http_request_t req = { 0 };
  ts_http_reply_t reply = { 0, "application/json", "", "other", NULL,
                            NULL, 0 };

  req.method = method;
  req.url = url;
  req.body = "";
  ts_routes_dispatch(&reply, tables, 2, &req, pool);
  return reply;
}

Test(routes, arguments_reach_the_handler)
{
  ts_http_reply_t r = ask("PUT", "/v1/sessions/abc123/heartbeat");

  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, "api PUT [abc123]");
  cr_assert_str_eq(r.route, "/v1/sessions/{id}/heartbeat");
  r = ask("GET", "/v1/pairs/x:1/y");
  cr_assert_str_eq(r.body, "api GET [x:1] [y]");
  r = ask("HEAD", "/health");
  cr_assert_str_eq(r.body, "common HEAD");
  cr_assert_str_eq(r.route, "/health");
}

Test(routes, wrong_method_is_405_with_allow)
{
  ts_http_reply_t r = ask("DELETE", "/v1/sessions");

  cr_assert_eq(r.status, 405);
  cr_assert_str_eq(r.allow, "POST, GET");
  cr_assert_str_eq(r.route, "/v1/sessions");
  cr_assert(strstr(r.body, "/v1/sessions answers POST, GET"), "%s", r.body);
  r = ask("GET", "/v1/sessions/abc/heartbeat");
  cr_assert_eq(r.status, 405);
  cr_assert_str_eq(r.allow, "PUT, POST");
}

Test(routes, unknown_path_is_404_naming_the_closest_routes)
{
  ts_http_reply_t r = ask("GET", "/v1/sessions/abc/renew");

  cr_assert_eq(r.status, 404);
  cr_assert_null(r.allow);
  cr_assert_str_eq(r.route, "other");
  cr_assert(strstr(r.body, "no such resource: /v1/sessions/abc/renew; try "
                   "DELETE /v1/sessions/{id}, PUT /v1/sessions/{id}/"
                   "heartbeat, POST /v1/sessions or GET /v1/pairs/{a}/{b}"),
            "%s", r.body);
  r = ask("GET", "/nothing");
  cr_assert(strstr(r.body, "try GET /health, POST /v1/sessions, DELETE "
                   "/v1/sessions/{id} or PUT /v1/sessions/{id}/heartbeat"),
            "%s", r.body);
}

Test(routes, segments_are_whole_and_never_empty)
{
  cr_assert_eq(ask("DELETE", "/v1/sessions/").status, 404);
  cr_assert_eq(ask("DELETE", "/v1/sessions//").status, 404);
  cr_assert_eq(ask("GET", "/v1/sessionsx").status, 404);
  cr_assert_eq(ask("GET", "/v1/sessions/a/b/c").status, 404);
  cr_assert_eq(ask("GET", "/health/").status, 404);
  cr_assert(strstr(ask("GET", "/\x01\"x").body, "no such resource: "
                   "(invalid)"));
}

/* Answers 404 quoting its argument, as the registry's and the sessions'
 * handlers quote the {id} they did not find. */
static void
not_registered(ts_http_reply_t *reply, void *baton,
               const ts_http_request_t *req, const char *const *args,
               apr_pool_t *p)
{
  (void)baton;
  (void)req;
  ts_http_reply_error(reply, 404, apr_psprintf(p, "model server %s is not "
                      "registered", args[0]), p);
}

/* Answers with what json_pack makes of a NULL string: nothing. */
static void
broken(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *p)
{
  (void)baton;
  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:s}", "id", NULL), p);
}

static ts_http_reply_t
ask_registry(const char *method, const char *url)
{
  static const ts_route_t registry[] = {
    { "DELETE", "/v1/model-servers/{id}", not_registered },
    { "GET", "/v1/broken", broken },
    { NULL, NULL, NULL }
  };
  ts_routes_t tables[] = { { registry, NULL } };
  ts_http_request_t req = { 0 };
  ts_http_reply_t reply = { 0, "application/json", "", "other", NULL,
                            NULL, 0 };

  req.method = method;
  req.url = url;
  req.body = "";
  ts_routes_dispatch(&reply, tables, 1, &req, pool);
  return reply;
}

/* Found by fuzzing (harness "api"): a 404 quoting a path segment that is
 * not UTF-8 (DELETE /v1/model-servers/h%FF%C8:17006) was answered "{}":
 * json_pack refused the message, and the answer lost its error. */
Test(routes, error_quoting_bytes_that_are_not_utf8_keeps_its_message)
{
  ts_http_reply_t r = ask_registry("DELETE",
                                   "/v1/model-servers/h\xff\xc8:17006");
  json_t *j = json_loads(r.body, 0, NULL);

  cr_assert_eq(r.status, 404);
  cr_assert_not_null(j, "not JSON: %s", r.body);
  cr_assert_str_eq(json_string_value(json_object_get(j, "error")),
                   "model server h??:17006 is not registered", "%s", r.body);
  json_decref(j);
  /* UTF-8 stays as it is */
  r = ask_registry("DELETE", "/v1/model-servers/h\xc3\xa9:17006");
  cr_assert(strstr(r.body, "h\xc3\xa9:17006"), "%s", r.body);
}

Test(routes, answer_that_cannot_be_json_is_500_not_empty)
{
  ts_http_reply_t r = ask_registry("GET", "/v1/broken");

  cr_assert_eq(r.status, 500);
  cr_assert(strstr(r.body, "\"error\":\"internal error"), "%s", r.body);
}
