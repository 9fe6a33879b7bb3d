/* ts_licensing_sessions.c: seats and sessions, the license server's
 * reason to be:
 *
 *   POST   /v1/sessions                  {"product","user","host","pid",
 *                                         "application"[,"model_server"]}
 *                                        -> 201 the session
 *   GET    /v1/sessions                  the live sessions
 *   PUT    /v1/sessions/{id}/heartbeat   renew the lease (POST too)
 *   DELETE /v1/sessions/{id}             check in
 *   POST   /v1/sessions/{id}/release     {"reason"}: force-release, by the
 *                                        administrator
 *
 * This is the only file that calls the session store (ts_sessions.h): its
 * interface is being replaced, and one file is what has to follow. The
 * rest of the role asks through the functions ts_licensing.h declares
 * under "ts_licensing_sessions.c".
 */
#include "ts_licensing.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_sessions.h"

static json_t *
session_json(const ts_session_t *s)
{
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id",
                        s->id, "product", s->product, "user", s->user,
                        "host", s->host, "application", s->application,
                        "pid", (json_int_t)s->pid, "started_ms",
                        (json_int_t)apr_time_as_msec(s->started),
                        "expires_ms",
                        (json_int_t)apr_time_as_msec(s->expires));
  if (s->server)
    json_object_set_new(j, "model_server", json_string(s->server));
  return j;
}

/* The audit log's and the bus's record of EVENT on S, with EXTRA's
 * fields (by, reason, client) after the session's. */
static void
tell(ts_licensing_t *lc, const char *event, const ts_session_t *s,
     const json_t *extra)
{
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "event",
                        event, "session", s->id, "product", s->product,
                        "user", s->user, "host", s->host, "application",
                        s->application, "pid", (json_int_t)s->pid);

  if (s->server)
    json_object_set_new(j, "model_server", json_string(s->server));
  if (extra)
    json_object_update(j, (json_t *)extra);
  ts_licensing_event(lc, j);
}

/* The store's observer: every session that ends, whatever ended it. */
static void
ended(void *baton, const char *event, const ts_session_t *s,
      const void *detail)
{
  tell(baton, event, s, detail);
}

ts_error_t *
ts_licensing_sessions_open(ts_licensing_t *lc, apr_pool_t *pool)
{
  TS_ERR(ts_sessions_open(&lc->sessions, ts_path_join(lc->o.statedir,
                                                      "sessions.db", pool),
                          pool));
  ts_sessions_observe(lc->sessions, ended, lc);
  return NULL;
}

void
ts_licensing_sessions_close(ts_licensing_t *lc)
{
  ts_sessions_close(lc->sessions);
  lc->sessions = NULL;
}

ts_error_t *
ts_licensing_seats_used(long *used, ts_licensing_t *lc, const char *product)
{
  return ts_sessions_count(used, lc->sessions, product);
}

ts_error_t *
ts_licensing_free_server_seats(int *released, ts_licensing_t *lc,
                               const char *server, json_t *detail)
{
  return ts_sessions_release_server(released, lc->sessions, server, detail);
}

void
ts_licensing_store_stats(apr_uint64_t *commits, apr_uint64_t *steps,
                         ts_licensing_t *lc)
{
  ts_sessions_stats(commits, steps, lc->sessions);
}

/* The request's session to check out into S (strings in POOL), or 0 when
 * the reply says what is wrong with it. */
static int
parse_checkout(ts_session_t *s, ts_http_reply_t *reply,
               const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *user, *host, *app, *product, *server = NULL;
  json_int_t pid;
  json_error_t jerr;
  json_t *j;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return 0;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:s, "
                     "s?s}", "product", &product, "user", &user, "host",
                     &host, "pid", &pid, "application", &app, "model_server",
                     &server)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, "the body must be "
      "{\"product\", \"user\", \"host\", \"pid\", \"application\"} and may "
      "name the \"model_server\" the seat is used with: %s", jerr.text),
      pool);
    json_decref(j);
    return 0;
  }
  s->product = apr_pstrdup(pool, product);
  s->user = apr_pstrdup(pool, user);
  s->host = apr_pstrdup(pool, host);
  s->application = apr_pstrdup(pool, app);
  s->server = server ? apr_pstrdup(pool, server) : NULL;
  s->pid = (long)pid;
  json_decref(j);
  return 1;
}

static void
checkout(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
         const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  ts_session_t s = { 0 };
  long seats;
  ts_error_t *err;

  (void)args;
  if (!parse_checkout(&s, reply, req, pool))
    return;
  if (s.server && !ts_registry_is_up(lc->registry, s.server)) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, "model server '%s' "
                        "is not registered or is gone; see GET "
                        "/v1/model-servers", s.server), pool);
    return;
  }
  seats = ts_licensing_seats_of(lc, s.product);
  if (seats < 0) {
    ts_http_reply_error(reply, seats == -1 ? 404 : 503, seats == -1
      ? apr_psprintf(pool, "unknown product '%s': the license does not name "
                     "it", s.product)
      : seats == -2 ? "no license in force: install one with `tessera-admin "
                      "license import FILE`"
                    : apr_psprintf(pool, "the license for product '%s' has "
                                   "expired", s.product), pool);
    return;
  }
  err = ts_sessions_checkout(lc->sessions, &s, seats, lc->lease, pool);
  if (err) {
    ts_http_reply_error(reply, ts_error_code(err) == TS_EUNAVAIL ? 409 : 500,
                        ts_error_text(err, pool), pool);
    if (ts_error_code(err) != TS_EUNAVAIL)
      ts_log_error(lc->log, TS_LOG_ERROR, err, "checkout");
    ts_error_clear(err);
    return;
  }
  tell(lc, "checkout", &s, NULL);
  ts_http_reply_json(reply, 201, session_json(&s), pool);
}

static void
list(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  apr_array_header_t *sessions;
  ts_error_t *err = ts_sessions_list(&sessions, lc->sessions, pool);
  json_t *arr;

  (void)req;
  (void)args;
  if (err) {
    ts_http_reply_error(reply, 500, ts_error_text(err, pool), pool);
    ts_log_error(lc->log, TS_LOG_ERROR, err, "listing the sessions");
    ts_error_clear(err);
    return;
  }
  arr = json_array();
  for (int i = 0; i < sessions->nelts; i++)
    json_array_append_new(arr, session_json(&APR_ARRAY_IDX(sessions, i,
                                                           ts_session_t)));
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "sessions", arr), pool);
}

/* A store error on session ID as the answer: 404 when it is not there. */
static void
reply_store_error(ts_http_reply_t *reply, ts_error_t *err,
                  apr_pool_t *pool)
{
  ts_http_reply_error(reply, ts_error_code(err) == TS_ENOENT ? 404 : 500,
                      ts_error_text(err, pool), pool);
  ts_error_clear(err);
}

static void
heartbeat(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  apr_time_t expires;
  ts_error_t *err = ts_sessions_renew(&expires, lc->sessions, args[0],
                                      lc->lease);

  (void)req;
  if (err) {
    reply_store_error(reply, err, pool);
    return;
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:I}", "id", args[0],
                     "expires_ms", (json_int_t)apr_time_as_msec(expires)),
                     pool);
}

static void
checkin(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  ts_error_t *err = ts_sessions_release(lc->sessions, args[0], "checkin",
                                        NULL);

  (void)req;
  if (err) {
    reply_store_error(reply, err, pool);
    return;
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", args[0],
                                           "released", 1), pool);
}

static void
force_release(ts_http_reply_t *reply, void *baton,
              const ts_http_request_t *req, const char *const *args,
              apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *id = args[0], *reason = NULL;
  const char *who = ts_licensing_authorize(reply, lc, req, pool);
  json_t *j, *extra;
  json_error_t jerr;
  ts_error_t *err;

  if (!who)
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s}", "reason", &reason)
      || !*reason) {
    ts_http_reply_error(reply, 400, "say why: the body must be {\"reason\": "
                        "\"...\"} (it goes to the audit log)", pool);
    json_decref(j);
    return;
  }
  reason = apr_pstrdup(pool, reason);
  json_decref(j);
  extra = json_pack("{s:s, s:s, s:s}", "by", who, "reason", reason,
                    "client", req->client);
  err = ts_sessions_release(lc->sessions, id, "force-release", extra);
  json_decref(extra);
  if (err) {
    reply_store_error(reply, err, pool);
    return;
  }
  ts_log(lc->log, TS_LOG_INFO, "session %s force-released by %s from %s: %s",
         id, who, req->client, reason);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b, s:s}", "id", id,
                                           "released", 1, "by", who), pool);
}

const ts_route_t ts_licensing_session_routes[] = {
  { "POST", "/v1/sessions", checkout },
  { "GET", "/v1/sessions", list },
  { "PUT", "/v1/sessions/{id}/heartbeat", heartbeat },
  { "POST", "/v1/sessions/{id}/heartbeat", heartbeat },
  { "DELETE", "/v1/sessions/{id}", checkin },
  { "POST", "/v1/sessions/{id}/release", force_release },
  { NULL, NULL, NULL }
};
