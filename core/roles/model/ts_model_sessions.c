/* ts_model_sessions.c: the model server's sessions and the reservations
 * they hold.
 *
 *   POST   /v1/sessions                 {"user","host","pid","application"}
 *                                       -> 201 the session and its token
 *   GET    /v1/sessions                 the sessions (no tokens)
 *   PUT    /v1/sessions/{id}/heartbeat  activity without a request (POST too)
 *   DELETE /v1/sessions/{id}            end it
 *
 * A session holds a seat of the repository's product, taken from the
 * license server as the session opens (no seat, no session: the license
 * server's answer is passed on with its status) and renewed by the
 * ticker within its lease; it is given back when the session ends. A
 * session belongs to its holder as the license server's do (ts_token.h):
 * its routes want "Authorization: Bearer <token>", 401 without it, 404
 * with a token that is not this session's. Any request with the token is
 * activity; a session silent for session_idle_seconds ends. Ending
 * releases its reservations.
 */
#include "ts_model.h"
#include "ts_text.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_token.h"

/* What a client's strings may be (they are shown to other users: 423). */
#define FIELD_MAX 256

/* ---- reservations (under LOCK) ------------------------------------------- */

ts_model_reservation_t *
ts_model_reservation(ts_model_t *m, apr_int64_t id)
{
  return apr_hash_get(m->reserved, &id, sizeof(id));
}

void
ts_model_reserve(ts_model_t *m, apr_int64_t id, ts_model_session_t *s)
{
  ts_model_reservation_t *r = ts_model_reservation(m, id);

  if (r)
    return;
  r = malloc(sizeof(*r));   /* a long session reserves and releases often */
  if (!r)
    abort();
  r->element = id;
  r->session = s;
  r->since = apr_time_now();
  apr_hash_set(m->reserved, &r->element, sizeof(r->element), r);
  s->reservations++;
}

void
ts_model_release(ts_model_t *m, apr_int64_t id)
{
  ts_model_reservation_t *r = ts_model_reservation(m, id);

  if (!r)
    return;
  r->session->reservations--;
  apr_hash_set(m->reserved, &id, sizeof(id), NULL);
  free(r);
}

json_t *
ts_model_holder_json(const ts_model_reservation_t *r)
{
  return json_pack("{s:s, s:s, s:s, s:I}", "session", r->session->id,
                   "user", r->session->user, "host", r->session->host,
                   "since_ms", (json_int_t)apr_time_as_msec(r->since));
}

/* ---- sessions ------------------------------------------------------------ */

ts_model_session_t *
ts_model_session(ts_model_t *m, const char *id)
{
  return apr_hash_get(m->sessions, id, APR_HASH_KEY_STRING);
}

static json_t *
session_json(const ts_model_session_t *s)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:i}", "id", s->id,
                   "user", s->user, "host", s->host, "application",
                   s->application, "pid", (json_int_t)s->pid, "started_ms",
                   (json_int_t)apr_time_as_msec(s->started), "active_ms",
                   (json_int_t)apr_time_as_msec(s->active), "reservations",
                   s->reservations);
}

/* Take S out (under LOCK): its reservations go; the server is unused
 * from now when it was the last. */
static void
unlink_session(ts_model_t *m, ts_model_session_t *s)
{
  apr_hash_index_t *hi = s->reservations ? apr_hash_first(NULL, m->reserved)
                                         : NULL;

  for (; hi; hi = apr_hash_next(hi)) {
    ts_model_reservation_t *r = apr_hash_this_val(hi);
    if (r->session == s) {   /* removing the current entry is allowed */
      apr_hash_set(m->reserved, &r->element, sizeof(r->element), NULL);
      free(r);
    }
  }
  apr_hash_set(m->sessions, s->id, APR_HASH_KEY_STRING, NULL);
  apr_hash_set(m->by_token, s->token_hash, APR_HASH_KEY_STRING, NULL);
  if (apr_hash_count(m->sessions) == 0)
    m->unused_since = apr_time_now();
}

/* S, taken out already, ends: its seat goes back (WHY for the log). */
static void
finish_session(ts_model_t *m, ts_model_session_t *s, const char *why)
{
  ts_model_answer_t a;
  ts_error_t *err = ts_model_seat_call(&a, m, "DELETE", s->seat,
                                       s->seat_token, s->pool);

  ts_log(m->log, TS_LOG_INFO, "session %s of %s on %s ended (%s)", s->id,
         ts_log_quote(s->user, TS_LOG_VALUE_MAX, s->pool),
         ts_log_quote(s->host, TS_LOG_VALUE_MAX, s->pool), why);
  if (err) {
    ts_log_error(m->log, TS_LOG_WARNING, err, "giving the seat back (it "
                 "is freed when its lease ends)");
    ts_error_clear(err);
  }
  else {
    json_decref(a.body);
    if (a.status != 200 && a.status != 404)
      ts_log(m->log, TS_LOG_WARNING, "the license server answered the "
             "check-in of seat %s with %d: %s", s->seat, a.status, a.error);
  }
  apr_pool_destroy(s->pool);
}

/* 12 random bytes in hex: unguessable, so an id cannot be found by
 * trying. */
static ts_error_t *
new_id(const char **id, apr_pool_t *pool)
{
  TS_ERR_W(ts_random_hex(id, 12, pool), "cannot get random bytes for a "
           "session id");
  return NULL;
}

/* Whether each of J's string fields NAMES fits FIELD_MAX bytes without
 * control characters; else 0 and a 400 naming the field. */
static int
fields_fit(ts_http_reply_t *reply, json_t *j, const char *const *names,
           apr_pool_t *pool)
{
  for (int i = 0; names[i]; i++) {
    const char *v = json_string_value(json_object_get(j, names[i]));
    size_t n = v ? strlen(v) : 0, k = 0;

    while (k < n && (unsigned char)v[k] >= 0x20 && v[k] != 0x7f)
      k++;
    if (n <= FIELD_MAX && k == n)
      continue;
    ts_http_reply_error(reply, 400, n > FIELD_MAX
      ? apr_psprintf(pool, _("the field \"%s\" is %lu bytes long; at most "
                             "%d are allowed"), names[i], (unsigned long)n,
                     FIELD_MAX)
      : apr_psprintf(pool, _("the field \"%s\" has a control character "
                             "(byte %lu); send it without"), names[i],
                     (unsigned long)k), pool);
    return 0;
  }
  return 1;
}

/* The new session the request asks for, in a pool of its own; NULL when
 * the reply says what is wrong. */
static ts_model_session_t *
parse_session(ts_http_reply_t *reply, const ts_http_request_t *req,
              apr_pool_t *pool)
{
  const char *user, *host, *app;
  json_int_t pid;
  json_error_t jerr;
  ts_model_session_t *s;
  apr_pool_t *own;
  json_t *j;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return NULL;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:I, s:s}", "user",
                     &user, "host", &host, "pid", &pid, "application",
                     &app)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body must be "
                        "{\"user\", \"host\", \"pid\", \"application\"}: "
                        "%s"), jerr.text), pool);
    json_decref(j);
    return NULL;
  }
  if (!fields_fit(reply, j, (const char *const[]){ "user", "host",
                  "application", NULL }, pool)) {
    json_decref(j);
    return NULL;
  }
  apr_pool_create(&own, NULL);
  s = apr_pcalloc(own, sizeof(*s));
  s->pool = own;
  s->user = apr_pstrdup(own, user);
  s->host = apr_pstrdup(own, host);
  s->application = apr_pstrdup(own, app);
  s->pid = (long)pid;
  json_decref(j);
  return s;
}

ts_error_t *
ts_model_session_admit(const char **token, ts_model_t *m,
                       ts_model_session_t *s)
{
  TS_ERR(new_id(&s->id, s->pool));
  TS_ERR(ts_token_new(token, &s->token_hash, s->pool));
  s->started = s->active = apr_time_now();
  s->renew_at = s->started + s->lease / 3;
  apr_thread_mutex_lock(m->lock);
  apr_hash_set(m->sessions, s->id, APR_HASH_KEY_STRING, s);
  apr_hash_set(m->by_token, s->token_hash, APR_HASH_KEY_STRING, s);
  m->unused_since = 0;
  m->opened++;
  apr_thread_mutex_unlock(m->lock);
  ts_log(m->log, TS_LOG_INFO, "session %s opened by %s on %s (%s), seat "
         "%s", s->id, ts_log_quote(s->user, TS_LOG_VALUE_MAX, s->pool),
         ts_log_quote(s->host, TS_LOG_VALUE_MAX, s->pool),
         ts_log_quote(s->application, TS_LOG_VALUE_MAX, s->pool), s->seat);
  return NULL;
}

/* The license server gave no seat: its status and words, passed on. */
static void
refused(ts_http_reply_t *reply, ts_model_t *m, const ts_model_answer_t *a,
        apr_pool_t *pool)
{
  ts_http_reply_error(reply, a->status >= 400 && a->status < 600
                             ? a->status : 502,
                      apr_psprintf(pool, _("no session: the license server "
                                   "%s port %d gave no seat of product %s "
                                   "(%d): %s"), m->info->host,
                                   m->info->main_port, m->meta->product,
                                   a->status, a->error), pool);
}

static void
open_session(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, const char *const *args,
             apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_model_session_t *s = parse_session(reply, req, pool);
  ts_model_answer_t a = { 0 };
  const char *token;
  ts_error_t *err;
  json_t *j;

  (void)args;
  if (!s)
    return;
  apr_thread_mutex_lock(m->lock);
  a.status = m->closing;
  apr_thread_mutex_unlock(m->lock);
  if (a.status) {
    ts_http_reply_error(reply, 503, _("the model server is stopping; open "
                        "a session once the version runs again"), pool);
    apr_pool_destroy(s->pool);
    return;
  }
  err = ts_model_seat_take(&a, s, m, pool);
  if (!err && a.status == 201)
    err = ts_model_session_admit(&token, m, s);
  if (err || a.status != 201) {
    if (err)
      ts_http_reply_error(reply, 503, ts_error_message(err, pool), pool);
    else
      refused(reply, m, &a, pool);
    if (err)
      ts_log_error(m->log, TS_LOG_WARNING, err, "opening a session");
    ts_error_clear(err);
    json_decref(a.body);
    apr_pool_destroy(s->pool);
    return;
  }
  j = session_json(s);
  json_object_set_new(j, "token", json_string(token));
  json_object_set_new(j, "product", json_string(m->meta->product));
  json_object_set_new(j, "seat", json_string(s->seat));
  json_object_set_new(j, "idle_seconds",
                      json_integer(m->info->config->session_idle_seconds));
  ts_http_reply_json(reply, 201, j, pool);
}

static void
list(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  ts_model_t *m = baton;
  json_t *arr = json_array();

  (void)req;
  (void)args;
  apr_thread_mutex_lock(m->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, m->sessions); hi;
       hi = apr_hash_next(hi))
    json_array_append_new(arr, session_json(apr_hash_this_val(hi)));
  apr_thread_mutex_unlock(m->lock);
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "sessions", arr), pool);
}

int
ts_model_authorize(ts_model_who_t *who, ts_http_reply_t *reply,
                   ts_model_t *m, const ts_http_request_t *req,
                   apr_pool_t *pool)
{
  const char *token = ts_token_from_header(req->authorization);
  ts_model_session_t *s = NULL;

  if (token) {
    const char *hash = ts_token_hash(token, pool);
    apr_thread_mutex_lock(m->lock);
    s = apr_hash_get(m->by_token, hash, APR_HASH_KEY_STRING);
    if (s) {
      s->active = apr_time_now();
      who->session = apr_pstrdup(pool, s->id);
      who->user = apr_pstrdup(pool, s->user);
      who->host = apr_pstrdup(pool, s->host);
    }
    apr_thread_mutex_unlock(m->lock);
  }
  if (s)
    return 1;
  ts_http_reply_error(reply, 401, token
    ? apr_psprintf(pool, _("no session has this token: it ended (closed, or "
                           "silent for more than %d s) or never was; open "
                           "one with POST /v1/sessions"),
                   m->info->config->session_idle_seconds)
    : apr_psprintf(pool, _("this needs a session: open one with POST "
                           "/v1/sessions and send its token as "
                           "\"Authorization: %s <token>\""),
                   TS_TOKEN_SCHEME), pool);
  reply->www_authenticate = TS_TOKEN_SCHEME " realm=\"Tessera model server\"";
  return 0;
}

/* The session ID if REQ carries its token (marked active; under LOCK
 * when found: the caller unlocks); else NULL, the reply saying why. */
static ts_model_session_t *
own_session(ts_http_reply_t *reply, ts_model_t *m,
            const ts_http_request_t *req, const char *id, apr_pool_t *pool)
{
  const char *token = ts_token_from_header(req->authorization);
  const char *hash = token ? ts_token_hash(token, pool) : NULL;
  ts_model_session_t *s;

  if (!token) {
    ts_http_reply_error(reply, 401, apr_psprintf(pool, _("session %s is "
                        "acted on with its token, which only its holder got "
                        "(\"token\" in the answer to POST /v1/sessions): "
                        "send it as \"Authorization: %s <token>\""),
                        ts_log_quote(id, 64, pool), TS_TOKEN_SCHEME), pool);
    reply->www_authenticate = TS_TOKEN_SCHEME " realm=\"Tessera model "
                              "server\"";
    return NULL;
  }
  apr_thread_mutex_lock(m->lock);
  s = ts_model_session(m, id);
  if (s && strcmp(s->token_hash, hash) == 0) {
    s->active = apr_time_now();
    return s;
  }
  apr_thread_mutex_unlock(m->lock);
  ts_http_reply_error(reply, 404, apr_psprintf(pool, _("there is no session "
                      "%s here (it ended, or never was)"),
                      ts_log_quote(id, 64, pool)), pool);
  return NULL;
}

static void
heartbeat(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_model_session_t *s = own_session(reply, m, req, args[0], pool);

  if (!s)
    return;
  apr_thread_mutex_unlock(m->lock);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:i}", "id", args[0],
                     "idle_seconds",
                     m->info->config->session_idle_seconds), pool);
}

static void
end_session(ts_http_reply_t *reply, void *baton,
            const ts_http_request_t *req, const char *const *args,
            apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_model_session_t *s = own_session(reply, m, req, args[0], pool);

  if (!s)
    return;
  unlink_session(m, s);
  m->ended_closed++;
  apr_thread_mutex_unlock(m->lock);
  finish_session(m, s, "closed by its holder");
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", args[0],
                                           "ended", 1), pool);
}

const ts_route_t ts_model_session_routes[] = {
  { "POST", "/v1/sessions", open_session },
  { "GET", "/v1/sessions", list },
  { "PUT", "/v1/sessions/{id}/heartbeat", heartbeat },
  { "POST", "/v1/sessions/{id}/heartbeat", heartbeat },
  { "DELETE", "/v1/sessions/{id}", end_session },
  { NULL, NULL, NULL }
};

/* ---- the ticker's -------------------------------------------------------- */

/* A seat to renew, copied out of its session. */
typedef struct renewal_t {
  const char *session, *seat, *token;
} renewal_t;

/* Renew R's seat; a seat the license server no longer has ends its
 * session (LOST gets it, taken out, to finish). */
static void
renew(ts_model_t *m, const renewal_t *r, apr_array_header_t *lost,
      apr_pool_t *pool)
{
  ts_model_answer_t a;
  ts_model_session_t *s;
  ts_error_t *err = ts_model_seat_call(&a, m, "PUT", r->seat, r->token,
                                       pool);

  if (err) {
    ts_log_error(m->log, TS_LOG_WARNING, err, "renewing a seat (tried "
                 "again in a second)");
    ts_error_clear(err);
    return;
  }
  json_decref(a.body);
  apr_thread_mutex_lock(m->lock);
  s = ts_model_session(m, r->session);
  if (s && a.status == 200)
    s->renew_at = apr_time_now() + s->lease / 3;
  else if (s && a.status == 404) {
    unlink_session(m, s);
    m->ended_lost++;
    APR_ARRAY_PUSH(lost, ts_model_session_t *) = s;
  }
  apr_thread_mutex_unlock(m->lock);
}

/* Under LOCK: the sessions silent since before IDLE_BEFORE, taken out
 * into ENDED; the seats due into DUE. */
static void
sort_sessions(ts_model_t *m, apr_time_t now, apr_time_t idle_before,
              apr_array_header_t *ended, apr_array_header_t *due,
              apr_pool_t *pool)
{
  for (apr_hash_index_t *hi = apr_hash_first(pool, m->sessions); hi;
       hi = apr_hash_next(hi)) {
    ts_model_session_t *s = apr_hash_this_val(hi);
    if (s->active < idle_before) {
      unlink_session(m, s);
      m->ended_idle++;
      APR_ARRAY_PUSH(ended, ts_model_session_t *) = s;
    }
    else if (s->renew_at <= now) {
      renewal_t *r = apr_array_push(due);
      r->session = apr_pstrdup(pool, s->id);
      r->seat = apr_pstrdup(pool, s->seat);
      r->token = apr_pstrdup(pool, s->seat_token);
      s->renew_at = now + apr_time_from_sec(1);   /* if this one fails */
    }
  }
}

void
ts_model_sessions_tick(ts_model_t *m, apr_time_t now)
{
  apr_time_t idle_before = now - apr_time_from_sec(
                           m->info->config->session_idle_seconds);
  apr_array_header_t *ended, *due, *lost;
  apr_pool_t *pool;

  apr_pool_create(&pool, NULL);
  ended = apr_array_make(pool, 4, sizeof(ts_model_session_t *));
  lost = apr_array_make(pool, 0, sizeof(ts_model_session_t *));
  due = apr_array_make(pool, 4, sizeof(renewal_t));
  apr_thread_mutex_lock(m->lock);
  sort_sessions(m, now, idle_before, ended, due, pool);
  apr_thread_mutex_unlock(m->lock);
  for (int i = 0; i < ended->nelts; i++)
    finish_session(m, APR_ARRAY_IDX(ended, i, ts_model_session_t *),
                   apr_psprintf(pool, "silent for more than %d s, "
                                "session-idle-seconds in tessera.xml",
                                m->info->config->session_idle_seconds));
  for (int i = 0; i < due->nelts; i++)
    renew(m, &APR_ARRAY_IDX(due, i, renewal_t), lost, pool);
  for (int i = 0; i < lost->nelts; i++)
    finish_session(m, APR_ARRAY_IDX(lost, i, ts_model_session_t *),
                   "the license server no longer has its seat");
  apr_pool_destroy(pool);
}

void
ts_model_sessions_drop(ts_model_t *m)
{
  apr_array_header_t *all;
  apr_pool_t *pool;

  apr_pool_create(&pool, NULL);
  all = apr_array_make(pool, 4, sizeof(ts_model_session_t *));
  apr_thread_mutex_lock(m->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, m->sessions); hi;
       hi = apr_hash_next(hi))
    APR_ARRAY_PUSH(all, ts_model_session_t *) = apr_hash_this_val(hi);
  for (int i = 0; i < all->nelts; i++)
    unlink_session(m, APR_ARRAY_IDX(all, i, ts_model_session_t *));
  apr_thread_mutex_unlock(m->lock);
  for (int i = 0; i < all->nelts; i++)
    apr_pool_destroy(APR_ARRAY_IDX(all, i, ts_model_session_t *)->pool);
  apr_pool_destroy(pool);
}
