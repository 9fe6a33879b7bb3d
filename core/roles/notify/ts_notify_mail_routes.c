/* ts_notify_mail_routes.c: the subscriptions over HTTP, on the
 * notification service's port (p+4):
 *
 *   GET    /v1/subscriptions[?user=U]    {"subscriptions": [...]}
 *   POST   /v1/subscriptions             {"user", "model", "version"?,
 *          "element"?, "every", "mail"} (or "target": MODEL[@VERSION]
 *          [/ELEMENT] instead of model, version, element) -> 201 new, 200
 *          the same user, target and address with another "every"
 *   DELETE /v1/subscriptions/{id}        -> 200; 404 unknown
 *   DELETE /v1/subscriptions?user=U&target=T[&mail=A]  every one of U's
 *          subscriptions to T (to address A) -> 200 {"removed": [ids]}
 *
 * Every route needs the license server administrator's password (HTTP
 * Basic, user name = who acts): the subscriptions hold people's
 * addresses. The service has no password file of its own, so the
 * license server checks it (POST /v1/admin/check with the server
 * credential, as for the agent: 401 wrong, 403 none set yet, 429
 * guessing throttled). Another Tessera server may show the server
 * credential instead, as at the agent. A malformed body is 400, a field
 * that is not valid 422, each naming the field and the rule.
 */
#include "ts_notify_mail_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_server.h"

#define REALM "Basic realm=\"Tessera notification service\""

/* Who acts on REQ (the license server checks the password), or NULL with
 * REPLY filled. */
static const char *
authorize(ts_http_reply_t *reply, ts_mail_t *m, const ts_http_request_t *req,
          apr_pool_t *pool)
{
  ts_server_admin_t admin = { NULL, 0, NULL, REALM, NULL };

  apr_thread_mutex_lock(m->lock);
  admin.host = m->ls_host;
  admin.port = m->ls_port;
  admin.cred = m->cred;
  apr_thread_mutex_unlock(m->lock);
  admin.needed = apr_psprintf(pool, _("%s %s: the mail subscriptions need "
    "the license server administrator's password (HTTP Basic: user name = "
    "who acts; tessera-admin asks for it)"), req->method, req->url);
  return ts_server_admin_check(reply, req, &admin, pool);
}

/* SUB as JSON. */
static json_t *
sub_json(const ts_mail_sub_t *sub, apr_pool_t *pool)
{
  json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id",
                        (json_int_t)sub->id, "user", sub->user, "model",
                        sub->model, "target", ts_mail_target(sub, pool),
                        "every", ts_mail_every_name(sub->every), "mail",
                        sub->mail, "created_ms",
                        (json_int_t)apr_time_as_msec(sub->created));

  json_object_set_new(j, "version", sub->version ? json_string(sub->version)
                                                 : json_null());
  json_object_set_new(j, "element", sub->element
                      ? json_integer((json_int_t)sub->element) : json_null());
  return j;
}

/* Answer ERR (cleared) with STATUS, or 500 for a failure of ours. */
static void
reply_err(ts_http_reply_t *reply, ts_error_t *err, int status,
          apr_pool_t *pool)
{
  ts_http_reply_error(reply, ts_error_code(err) == TS_EINVAL ? status : 500,
                      ts_error_message(err, pool), pool);
  ts_error_clear(err);
}

static void
list(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  ts_mail_t *m = baton;
  apr_array_header_t *subs;
  json_t *arr;
  ts_error_t *err;

  (void)args;
  if (!authorize(reply, m, req, pool))
    return;
  err = ts_mail_list(&subs, m, ts_http_query(req, "user"), pool);
  if (err) {
    reply_err(reply, err, 500, pool);
    return;
  }
  arr = json_array();
  for (int i = 0; i < subs->nelts; i++)
    json_array_append_new(arr, sub_json(&APR_ARRAY_IDX(subs, i,
                                                       ts_mail_sub_t), pool));
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "subscriptions", arr),
                     pool);
}

/* A string field NAME of J into *V (NULL when absent or null); 0 with
 * REPLY 422 when it is something else. */
static int
string_field(const char **v, ts_http_reply_t *reply, json_t *j,
             const char *name, apr_pool_t *pool)
{
  json_t *f = json_object_get(j, name);

  *v = NULL;
  if (!f || json_is_null(f))
    return 1;
  if (!json_is_string(f) || strlen(json_string_value(f))
      != json_string_length(f)) {
    ts_http_reply_error(reply, 422, apr_psprintf(pool, _("the field \"%s\" "
                        "must be a string (without NUL characters)"), name),
                        pool);
    return 0;
  }
  *v = apr_pstrdup(pool, json_string_value(f));
  return 1;
}

/* Any field of J not among the known ones: 422 naming it. */
static int
known_fields(ts_http_reply_t *reply, json_t *j, apr_pool_t *pool)
{
  static const char *const known[] = { "user", "model", "version",
                                       "element", "target", "every", "mail",
                                       NULL };
  const char *key;
  json_t *v;

  json_object_foreach(j, key, v) {
    int ok = 0;
    for (int i = 0; known[i] && !ok; i++)
      ok = strcmp(key, known[i]) == 0;
    if (!ok) {
      ts_http_reply_error(reply, 422, apr_psprintf(pool, _("unknown field "
        "\"%s\"; a subscription has \"user\", \"model\", \"version\", "
        "\"element\" (or \"target\": MODEL[@VERSION][/ELEMENT]), \"every\" "
        "and \"mail\""), ts_log_quote(key, 64, pool)), pool);
      return 0;
    }
  }
  return 1;
}

/* The subscription J describes into SUB; 0 with REPLY 422. */
static int
sub_of(ts_mail_sub_t *sub, ts_http_reply_t *reply, json_t *j,
       apr_pool_t *pool)
{
  const char *target, *model, *version, *every;
  json_t *element = json_object_get(j, "element");
  ts_error_t *err = NULL;
  int e;

  if (!known_fields(reply, j, pool)
      || !string_field(&sub->user, reply, j, "user", pool)
      || !string_field(&target, reply, j, "target", pool)
      || !string_field(&model, reply, j, "model", pool)
      || !string_field(&version, reply, j, "version", pool)
      || !string_field(&every, reply, j, "every", pool)
      || !string_field(&sub->mail, reply, j, "mail", pool))
    return 0;
  if (element && !json_is_null(element) && (!json_is_integer(element)
      || json_integer_value(element) < 1
      || json_integer_value(element) > ((json_int_t)1 << 53))) {
    ts_http_reply_error(reply, 422, _("the field \"element\" must be an "
                        "element's id, a positive number"), pool);
    return 0;
  }
  if (!target && !model)
    err = ts_error_createf(TS_EINVAL, "a subscription needs \"model\" (with "
                           "\"version\" and \"element\" when it is for one "
                           "version or element) or \"target\"");
  else if (!target)
    target = apr_pstrcat(pool, model, version ? "@" : "", version ? version
                         : "", element && !json_is_null(element)
                         ? apr_psprintf(pool, "/%" APR_INT64_T_FMT,
                                        (apr_int64_t)json_integer_value(
                                        element)) : "", NULL);
  else if (model || version || (element && !json_is_null(element)))
    err = ts_error_createf(TS_EINVAL, "give either \"target\" or \"model\", "
                           "\"version\" and \"element\", not both");
  if (!err)
    err = ts_mail_target_parse(sub, target, pool);
  e = ts_mail_every_parse(every);
  if (!err && e < 0)
    err = ts_error_createf(TS_EINVAL, "\"every\" must be immediate, daily, "
                           "weekly or monthly, not '%s'",
                           every ? ts_log_quote(every, 32, pool) : "");
  if (err) {
    reply_err(reply, err, 422, pool);
    return 0;
  }
  sub->every = (ts_mail_every_t)e;
  return 1;
}

static void
subscribe(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  ts_mail_t *m = baton;
  ts_mail_sub_t sub = { 0 };
  int created = 0;
  const char *who;
  json_t *j;
  ts_error_t *err;

  (void)args;
  if (!(who = authorize(reply, m, req, pool)))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (!json_is_object(j))
    ts_http_reply_error(reply, 400, _("the body must be a JSON object: "
                        "{\"user\", \"model\", \"version\", \"element\", "
                        "\"every\", \"mail\"}"), pool);
  else if (sub_of(&sub, reply, j, pool)) {
    err = ts_mail_subscribe(&created, m, &sub, pool);
    if (err)
      reply_err(reply, err, 422, pool);
    else {
      ts_log(m->log, TS_LOG_INFO, "%s subscribed %s to %s (%s) at %s",
             ts_log_quote(who, TS_LOG_VALUE_MAX, pool),
             ts_log_quote(sub.user, TS_LOG_VALUE_MAX, pool),
             ts_mail_target(&sub, pool), ts_mail_every_name(sub.every),
             sub.mail);
      ts_http_reply_json(reply, created ? 201 : 200, json_pack("{s:o}",
                         "subscription", sub_json(&sub, pool)), pool);
    }
  }
  json_decref(j);
}

/* Remove the subscription ID; *GONE whether it was there. */
static int
remove_one(ts_http_reply_t *reply, ts_mail_t *m, apr_int64_t id,
           int *gone, apr_pool_t *pool)
{
  ts_error_t *err = ts_mail_unsubscribe(gone, m, id, pool);

  if (err)
    reply_err(reply, err, 500, pool);
  return !err;
}

static void
unsubscribe_id(ts_http_reply_t *reply, void *baton,
               const ts_http_request_t *req, const char *const *args,
               apr_pool_t *pool)
{
  ts_mail_t *m = baton;
  apr_size_t n = strlen(args[0]);
  int gone = 0;
  const char *who;

  if (!(who = authorize(reply, m, req, pool)))
    return;
  if (n < 1 || n > 18 || strspn(args[0], "0123456789") != n) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("there is no "
                        "subscription '%s': subscriptions are numbered "
                        "(GET /v1/subscriptions lists them)"),
                        ts_log_quote(args[0], 64, pool)), pool);
    return;
  }
  if (!remove_one(reply, m, apr_atoi64(args[0]), &gone, pool))
    return;
  if (!gone)
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("there is no "
                        "subscription %s (GET /v1/subscriptions lists "
                        "them)"), args[0]), pool);
  else {
    ts_log(m->log, TS_LOG_INFO, "%s removed the subscription %s",
           ts_log_quote(who, TS_LOG_VALUE_MAX, pool), args[0]);
    ts_http_reply_json(reply, 200, json_pack("{s:[I]}", "removed",
                       (json_int_t)apr_atoi64(args[0])), pool);
  }
}

/* DELETE /v1/subscriptions?user=U&target=T[&mail=A] */
static void
unsubscribe_target(ts_http_reply_t *reply, void *baton,
                   const ts_http_request_t *req, const char *const *args,
                   apr_pool_t *pool)
{
  ts_mail_t *m = baton;
  const char *user = ts_http_query(req, "user");
  const char *mail = ts_http_query(req, "mail");
  const char *target = ts_http_query(req, "target");
  apr_array_header_t *subs;
  ts_mail_sub_t want;
  json_t *removed;
  ts_error_t *err;

  (void)args;
  if (!authorize(reply, m, req, pool))
    return;
  if (!user || !target) {
    ts_http_reply_error(reply, 400, _("DELETE /v1/subscriptions needs "
                        "?user=USER&target=MODEL[@VERSION][/ELEMENT] (and "
                        "&mail=ADDRESS to keep the user's other addresses), "
                        "or the subscription's number: DELETE "
                        "/v1/subscriptions/ID"), pool);
    return;
  }
  err = ts_mail_target_parse(&want, target, pool);
  if (!err)
    err = ts_mail_list(&subs, m, user, pool);
  if (err) {
    reply_err(reply, err, 422, pool);
    return;
  }
  removed = json_array();
  for (int i = 0; i < subs->nelts; i++) {
    const ts_mail_sub_t *s = &APR_ARRAY_IDX(subs, i, ts_mail_sub_t);
    int gone = 0;
    if (strcmp(ts_mail_target(s, pool), ts_mail_target(&want, pool)) != 0
        || (mail && strcmp(mail, s->mail) != 0))
      continue;
    if (!remove_one(reply, m, s->id, &gone, pool)) {
      json_decref(removed);
      return;
    }
    if (gone)
      json_array_append_new(removed, json_integer((json_int_t)s->id));
  }
  if (!json_array_size(removed)) {
    json_decref(removed);
    if (mail)
      ts_http_reply_error(reply, 404, apr_psprintf(pool, _("%s has no "
                          "subscription to %s at %s"), ts_log_quote(user,
                          256, pool), ts_mail_target(&want, pool),
                          ts_log_quote(mail, 256, pool)), pool);
    else
      ts_http_reply_error(reply, 404, apr_psprintf(pool, _("%s has no "
                          "subscription to %s"), ts_log_quote(user, 256,
                          pool), ts_mail_target(&want, pool)), pool);
    return;
  }
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "removed", removed),
                     pool);
}

static const ts_route_t routes[] = {
  { "GET", "/v1/subscriptions", list },
  { "POST", "/v1/subscriptions", subscribe },
  { "DELETE", "/v1/subscriptions", unsubscribe_target },
  { "DELETE", "/v1/subscriptions/{id}", unsubscribe_id },
  { NULL, NULL, NULL }
};

const ts_routes_t *
ts_mail_routes(ts_mail_t *m)
{
  m->routes.routes = routes;
  m->routes.baton = m;
  return &m->routes;
}
