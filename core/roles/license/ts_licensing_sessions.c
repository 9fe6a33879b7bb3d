/* ts_licensing_sessions.c: seats and sessions, the license server's
 * reason to be:
 *
 *   POST   /v1/sessions                  {"product","user","host","pid",
 *                                         "application"[,"model_server"]}
 *                                        -> 201 the session and its token
 *   GET    /v1/sessions[?limit=&after=]  a page of the live sessions (no
 *                                        tokens), {"sessions", "next"}
 *   PUT    /v1/sessions/{id}/heartbeat   renew the lease (POST too)
 *   DELETE /v1/sessions/{id}             check in
 *   POST   /v1/sessions/{id}/release     {"reason"}: force-release, by the
 *                                        administrator
 *
 * Sessions belong to their holder (ts_token.h): heartbeat and check-in
 * carry "Authorization: Bearer <token>", the token the checkout returned.
 * Without one they are answered 401; with one that is not the session's,
 * 404 with the very words of an unknown session, so an id seen in the
 * list, on the bus or in the audit log opens nothing and tells nothing.
 * (403 would confirm that the id is live.) The administrator's
 * force-release needs the password instead.
 *
 * This is the only file that calls the seat store (ts_store.h); the rest
 * of the role asks through the functions ts_licensing.h declares under
 * "ts_licensing_sessions.c". Requests that change seats do not hold an
 * HTTP thread through their commit: the request is suspended
 * (ts_http_defer), its operation handed to the store's writer, and the
 * answer written when the writer resumes it after the commit.
 */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "ts_store.h"
#include "ts_token.h"

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
  TS_ERR(ts_store_open_sqlite(&lc->sessions,
                               ts_path_join(lc->o.statedir, "sessions.db",
                                            pool), pool));
  ts_store_observe(lc->sessions, ended, lc);
  return NULL;
}

void
ts_licensing_sessions_close(ts_licensing_t *lc)
{
  ts_store_close(lc->sessions);
  lc->sessions = NULL;
}

ts_error_t *
ts_licensing_seats_used(long *used, ts_licensing_t *lc, const char *product)
{
  return ts_store_count(used, lc->sessions, product);
}

ts_error_t *
ts_licensing_free_server_seats(int *released, ts_licensing_t *lc,
                               const char *server, json_t *detail)
{
  return ts_store_release_server(released, lc->sessions, server, detail);
}

void
ts_licensing_store_stats(apr_uint64_t *commits, apr_uint64_t *steps,
                         ts_licensing_t *lc)
{
  ts_store_stats(commits, steps, lc->sessions);
}

/* ---- what a client may send ---------------------------------------------
 *
 * The strings of a request end up in the session store, the audit log,
 * on the bus, in answers to other clients and, quoted, in license.log: a
 * 60 KB user name was stored and echoed. Each is at most FIELD_MAX bytes.
 * What is kept and shown to administrators as it is (user, host,
 * application, reason: `tessera-admin sessions list` prints them on a
 * terminal) has no control characters either; a product or model server
 * is only looked up, and an unknown one is answered 404. */
#define FIELD_MAX 256

/* Whether each string field of J named in NAMES (NULL-terminated; absent
 * ones pass) fits, and with NO_CONTROLS has no control character; if
 * not, 0 and a 400 that names the field. */
static int
fields_fit(ts_http_reply_t *reply, json_t *j, const char *const *names,
           int no_controls, apr_pool_t *pool)
{
  for (int i = 0; names[i]; i++) {
    const char *v = json_string_value(json_object_get(j, names[i]));
    size_t n = v ? strlen(v) : 0;
    const char *bad = NULL;

    if (n > FIELD_MAX)
      bad = apr_psprintf(pool, _("the field \"%s\" is %lu bytes long; at "
                                 "most %d are allowed"), names[i],
                         (unsigned long)n, FIELD_MAX);
    for (size_t k = 0; no_controls && v && !bad && k < n; k++)
      if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f)
        bad = apr_psprintf(pool, _("the field \"%s\" has a control "
                                   "character (byte %lu); send it without"),
                           names[i], (unsigned long)k);
    if (bad) {
      ts_http_reply_error(reply, 400, bad, pool);
      return 0;
    }
  }
  return 1;
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
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body must be "
      "{\"product\", \"user\", \"host\", \"pid\", \"application\"} and may "
      "name the \"model_server\" the seat is used with: %s"), jerr.text),
      pool);
    json_decref(j);
    return 0;
  }
  if (!fields_fit(reply, j, (const char *const[]){ "product",
                  "model_server", NULL }, 0, pool)
      || !fields_fit(reply, j, (const char *const[]){ "user", "host",
                     "application", NULL }, 1, pool)) {
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

/* ---- changes, answered after their commit ------------------------------ */

/* A seat-store operation on behalf of a suspended request. */
typedef struct deferred_t {
  ts_store_op_t op;
  ts_licensing_t *lc;
  ts_http_pending_t *pending;
  json_t *extra;              /* force-release: who, why, from where */
  const char *who, *reason;
  const char *token;          /* checkout: the holder's, for the answer */
} deferred_t;

static void
store_done(ts_store_op_t *op, void *baton)
{
  deferred_t *d = baton;

  (void)op;
  ts_http_resume(d->pending);
}

static deferred_t *
deferred(ts_licensing_t *lc, ts_store_kind_t kind, const char *id,
         apr_pool_t *pool)
{
  deferred_t *d = apr_pcalloc(pool, sizeof(*d));

  d->lc = lc;
  d->op.kind = kind;
  d->op.id = id;
  d->op.lease = lc->lease;
  return d;
}

/* Suspend REQ and hand D's operation to the store; FINISH answers. */
static void
submit(deferred_t *d, const ts_http_request_t *req, ts_http_finish_t finish,
       apr_pool_t *pool)
{
  d->op.done = store_done;
  d->op.baton = d;
  d->pending = ts_http_defer(req, finish, d);
  ts_store_submit(d->lc->sessions, &d->op, pool);
}

/* D's refusal as the answer: STATUS for the expected one (CODE), 500 and
 * a log line for anything else. */
static void
reply_refused(ts_http_reply_t *reply, deferred_t *d, ts_errcode_t code,
              int status, const char *what, apr_pool_t *pool)
{
  ts_error_t *err = d->op.err;

  ts_http_reply_error(reply, ts_error_code(err) == code ? status : 500,
                      ts_error_message(err, pool), pool);
  if (ts_error_code(err) != code)
    ts_log_error(d->lc->log, TS_LOG_ERROR, err, what);
  ts_error_clear(err);
  d->op.err = NULL;
}

static void
checkout_done(ts_http_reply_t *reply, void *baton,
              const ts_http_request_t *req, apr_pool_t *pool)
{
  deferred_t *d = baton;
  json_t *j;

  (void)req;
  if (d->op.err) {
    if (ts_error_code(d->op.err) == TS_EUNAVAIL)   /* no seat left */
      ts_licensing_count_denial(d->lc, d->op.session.product, 0);
    reply_refused(reply, d, TS_EUNAVAIL, 409, "checkout", pool);
    return;
  }
  tell(d->lc, "checkout", &d->op.session, NULL);
  /* the one place the token is ever shown */
  j = session_json(&d->op.session);
  json_object_set_new(j, "token", json_string(d->token));
  ts_http_reply_json(reply, 201, j, pool);
}

static void
checkout(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
         const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  deferred_t *d = deferred(lc, TS_STORE_CHECKOUT, NULL, pool);
  ts_session_t *s = &d->op.session;
  ts_error_t *err;

  (void)args;
  if (!parse_checkout(s, reply, req, pool))
    return;
  err = ts_token_new(&d->token, &d->op.token, pool);
  if (err) {
    ts_http_reply_error(reply, 500, ts_error_message(err, pool), pool);
    ts_log_error(lc->log, TS_LOG_ERROR, err, "checkout");
    ts_error_clear(err);
    return;
  }
  if (s->server && !ts_registry_is_up(lc->registry, s->server)) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("model server "
                        "'%s' is not registered or is gone; see GET "
                        "/v1/model-servers"), s->server), pool);
    return;
  }
  d->op.seats = ts_licensing_seats_of(lc, s->product);
  if (d->op.seats < 0) {
    ts_licensing_count_denial(lc, s->product, d->op.seats);
    ts_http_reply_error(reply, d->op.seats == -1 ? 404 : 503,
      d->op.seats == -1
      ? apr_psprintf(pool, _("unknown product '%s': the license does not "
                             "name it"), s->product)
      : d->op.seats == -2 ? _("no license in force: install one with "
                              "`tessera-admin license import FILE`")
                    : apr_psprintf(pool, _("the license for product '%s' "
                                           "has expired"), s->product),
      pool);
    return;
  }
  submit(d, req, checkout_done, pool);
}

/* A page of GET /v1/sessions: this many unless ?limit= says (about
 * 250 KB), at most PAGE_MAX (the store's most). */
#define PAGE 1000
#define PAGE_MAX 10000

/* GET /v1/sessions[?limit=N][&after=ID]: a page of the live sessions and
 * the "next" page's ?after=, null on the last. */
static void
list(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *limit_arg = ts_http_query(req, "limit");
  const char *after = ts_http_query(req, "after"), *next;
  apr_array_header_t *sessions;
  json_t *arr = json_array();
  char *end = NULL;
  long limit = limit_arg ? strtol(limit_arg, &end, 10) : PAGE;
  ts_error_t *err;

  (void)args;
  if ((end && *end) || limit < 1 || limit > PAGE_MAX
      || (after && (!*after || strlen(after) > 64
                    || strspn(after, "0123456789abcdef") != strlen(after)))) {
    json_decref(arr);
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("GET /v1/sessions "
                        "takes ?limit=1..%d (default %d) and ?after= the "
                        "\"next\" of the page before, a session id"),
                        PAGE_MAX, PAGE), pool);
    return;
  }
  err = ts_store_list(&sessions, &next, lc->sessions, after, (int)limit,
                      pool);
  if (err) {
    ts_http_reply_error(reply, 500, ts_error_message(err, pool), pool);
    ts_log_error(lc->log, TS_LOG_ERROR, err, "listing the sessions");
    ts_error_clear(err);
    json_decref(arr);
    return;
  }
  for (int i = 0; i < sessions->nelts; i++)
    json_array_append_new(arr, session_json(&APR_ARRAY_IDX(sessions, i,
                                                           ts_session_t)));
  ts_http_reply_json(reply, 200, json_pack("{s:o, s:s?}", "sessions", arr,
                                           "next", next), pool);
}

static void
renew_done(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
           apr_pool_t *pool)
{
  deferred_t *d = baton;

  (void)req;
  if (d->op.err) {
    reply_refused(reply, d, TS_ENOENT, 404, "heartbeat", pool);
    return;
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:I}", "id", d->op.id,
                     "expires_ms",
                     (json_int_t)apr_time_as_msec(d->op.expires)), pool);
}

/* The hash of the token REQ carries for session ID, or NULL when it
 * carries none and the reply says how to send it (401): for a heartbeat
 * (HEARTBEAT) or the check-in. */
static const char *
presented_token(ts_http_reply_t *reply, const ts_http_request_t *req,
                int heartbeat, const char *id, apr_pool_t *pool)
{
  const char *token = ts_token_from_header(req->authorization);

  if (token)
    return ts_token_hash(token, pool);
  /* the scheme is a word of the protocol */
  ts_http_reply_error(reply, 401, apr_psprintf(pool, heartbeat
    ? _("a heartbeat of session %s needs the session's token, which only "
        "its holder got from the checkout (\"token\" in the answer to POST "
        "/v1/sessions): send it as \"Authorization: %s <token>\"")
    : _("the check-in of session %s needs the session's token, which only "
        "its holder got from the checkout (\"token\" in the answer to POST "
        "/v1/sessions): send it as \"Authorization: %s <token>\""), id,
    TS_TOKEN_SCHEME), pool);
  reply->www_authenticate = TS_TOKEN_SCHEME " realm=\"Tessera sessions\"";
  return NULL;
}

static void
heartbeat(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  deferred_t *d = deferred(baton, TS_STORE_RENEW, args[0], pool);

  d->op.token = presented_token(reply, req, 1, args[0], pool);
  if (d->op.token)
    submit(d, req, renew_done, pool);
}

static void
checkin_done(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, apr_pool_t *pool)
{
  deferred_t *d = baton;

  (void)req;
  if (d->op.err) {
    reply_refused(reply, d, TS_ENOENT, 404, "check-in", pool);
    return;
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", d->op.id,
                                           "released", 1), pool);
}

static void
checkin(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  deferred_t *d = deferred(baton, TS_STORE_RELEASE, args[0], pool);

  d->op.event = "checkin";
  d->op.token = presented_token(reply, req, 0, args[0], pool);
  if (d->op.token)
    submit(d, req, checkin_done, pool);
}

static void
force_release_done(ts_http_reply_t *reply, void *baton,
                   const ts_http_request_t *req, apr_pool_t *pool)
{
  deferred_t *d = baton;

  json_decref(d->extra);
  if (d->op.err) {
    reply_refused(reply, d, TS_ENOENT, 404, "force-release", pool);
    return;
  }
  ts_log(d->lc->log, TS_LOG_INFO, "session %s force-released by %s from %s: "
         "%s", ts_log_quote(d->op.id, TS_LOG_VALUE_MAX, pool),
         ts_log_quote(d->who, TS_LOG_VALUE_MAX, pool), req->client,
         ts_log_quote(d->reason, TS_LOG_VALUE_MAX, pool));
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b, s:s}", "id", d->op.id,
                                           "released", 1, "by", d->who),
                     pool);
}

static void
force_release(ts_http_reply_t *reply, void *baton,
              const ts_http_request_t *req, const char *const *args,
              apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *reason = NULL;
  const char *who = ts_licensing_authorize(reply, lc, req, pool);
  deferred_t *d;
  json_error_t jerr;
  json_t *j;

  if (!who)
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s}", "reason", &reason)
      || !*reason) {
    ts_http_reply_error(reply, 400, _("say why: the body must be "
                        "{\"reason\": \"...\"} (it goes to the audit log)"),
                        pool);
    json_decref(j);
    return;
  }
  if (!fields_fit(reply, j, (const char *const[]){ "reason", NULL }, 1,
                  pool)) {
    json_decref(j);
    return;
  }
  d = deferred(lc, TS_STORE_RELEASE, args[0], pool);
  d->who = who;
  d->reason = apr_pstrdup(pool, reason);
  json_decref(j);
  d->extra = json_pack("{s:s, s:s, s:s}", "by", who, "reason", d->reason,
                       "client", req->client);
  d->op.event = "force-release";
  d->op.administrator = 1;    /* who needs no token */
  d->op.detail = d->extra;
  submit(d, req, force_release_done, pool);
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
