/* ts_agent_api.c: the agent's HTTP API on its port (README, "Agents and
 * model servers"):
 *
 *   GET    /v1/models                          the managed models
 *   PUT    /v1/models/{model}                  define {"product", "check",
 *                                              "proposal", "quota_ram_mb",
 *                                              "quota_disk_mb", "restart"}
 *   GET    /v1/versions[?local=1]              every version of the project
 *                                              and where it runs (local:
 *                                              what this agent runs)
 *   POST   /v1/models/{model}/versions         create {"version", "from",
 *                                              "user", "login"} -> 201
 *   GET    /v1/models/{model}/versions/{v}     one version as this agent
 *                                              sees it
 *   POST   /v1/models/{model}/versions/{v}/backup  {"name"} -> 201
 *   POST   /v1/models/{model}/versions/{v}/start
 *   POST   /v1/models/{model}/versions/{v}/stop
 *   DELETE /v1/models/{model}/versions/{v}     a stopped version
 *
 * ?backup=1 addresses the read-only backup of that name. Reading needs
 * nothing; every change needs the license server administrator's
 * password (HTTP Basic; the license server checks it, ts_agent_auth.c) or
 * the server credential (another agent passing a stop on).
 */
#include "ts_agent.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

/* The HTTP status for ERR from a change of state (a conflict is 409). */
static int
status_of(const ts_error_t *err, int conflict)
{
  switch (ts_error_code(err)) {
  case TS_ENOENT: return 404;
  case TS_EINVAL: return conflict ? 409 : 400;
  case TS_EPERM: return 403;
  case TS_EUNAVAIL: return 503;
  default: return 500;
  }
}

static void
reply_err(ts_http_reply_t *reply, ts_error_t *err, int conflict,
          apr_pool_t *pool)
{
  ts_http_reply_error(reply, status_of(err, conflict),
                      ts_error_message(err, pool), pool);
  ts_error_clear(err);
}

static int
is_backup(const ts_http_request_t *req)
{
  const char *b = ts_http_query(req, "backup");
  return b && strcmp(b, "1") == 0;
}

/* Whether each of the N values of V is a string, null or absent; else
 * JERR says so. */
static int
strings_or_null(json_t *const *v, int n, json_error_t *jerr)
{
  for (int i = 0; i < n; i++)
    if (v[i] && !json_is_string(v[i]) && !json_is_null(v[i])) {
      apr_cpystrn(jerr->text, "a value is neither a string nor null",
                  sizeof(jerr->text));
      return 0;
    }
  return 1;
}

static json_t *
def_json(const ts_model_def_t *d)
{
  return json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:o, s:b}", "model",
                   d->model, "product", d->product, "check", d->check,
                   "proposal", d->proposal, "quota_ram_mb", d->quota_ram_mb
                   ? json_integer(d->quota_ram_mb) : json_null(),
                   "quota_disk_mb", d->quota_disk_mb
                   ? json_integer(d->quota_disk_mb) : json_null(),
                   "restart", d->restart);
}

static void
models(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  apr_array_header_t *defs;
  json_t *list = json_array();
  ts_error_t *err = ts_models_list(&defs, a->inoprj, pool);

  (void)req;
  (void)args;
  if (err) {
    json_decref(list);
    reply_err(reply, err, 0, pool);
    return;
  }
  for (int i = 0; i < defs->nelts; i++)
    json_array_append_new(list, def_json(APR_ARRAY_IDX(defs, i,
                                                       ts_model_def_t *)));
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "models", list), pool);
}

static void
define(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  ts_model_def_t def = { 0 };
  json_t *j, *ram = NULL, *disk = NULL, *texts[2] = { NULL, NULL };
  json_error_t jerr;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  int restart = 0;
  ts_error_t *err;

  if (!who)
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  def.model = args[0];
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s?o, s?o, s?o, s?o, "
                     "s?b}", "product", &def.product, "check", &texts[0],
                     "proposal", &texts[1], "quota_ram_mb", &ram,
                     "quota_disk_mb", &disk, "restart", &restart)
      || !strings_or_null(texts, 2, &jerr)
      || (ram && !json_is_integer(ram) && !json_is_null(ram))
      || (disk && !json_is_integer(disk) && !json_is_null(disk))) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body must be "
      "{\"product\": name, \"check\": expression, \"proposal\": template, "
      "\"quota_ram_mb\": MB or null, \"quota_disk_mb\": MB or null, "
      "\"restart\": true|false}: %s"), jerr.text), pool);
    json_decref(j);
    return;
  }
  def.check = json_string_value(texts[0]);
  def.proposal = json_string_value(texts[1]);
  def.quota_ram_mb = json_is_integer(ram) ? (long)json_integer_value(ram) : 0;
  def.quota_disk_mb = json_is_integer(disk) ? (long)json_integer_value(disk)
                                            : 0;
  def.restart = restart;
  err = ts_model_define(a->inoprj, &def, pool);
  if (!err) {
    ts_log(a->log, TS_LOG_INFO, "%s defined the model %s (product %s)",
           ts_log_quote(who, 128, pool), def.model, def.product);
    ts_http_reply_json(reply, 200, def_json(&def), pool);
  }
  else
    reply_err(reply, err, 0, pool);
  json_decref(j);      /* DEF's strings are J's */
}

static void
versions(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
         const char *const *args, apr_pool_t *pool)
{
  const char *local = ts_http_query(req, "local");

  (void)args;
  ts_http_reply_json(reply, 200, ts_agent_listing(baton, local
                                                  && strcmp(local, "1") == 0,
                                                  pool), pool);
}

static void
one(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
    const char *const *args, apr_pool_t *pool)
{
  json_t *v = ts_agent_listing_one(baton, args[0], args[1], is_backup(req),
                                   pool);

  if (v)
    ts_http_reply_json(reply, 200, v, pool);
  else
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("there is no "
                        "version %s of the model %s"), args[1], args[0]),
                        pool);
}

static void
create(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  const char *version = NULL, *from = NULL;
  ts_naming_t naming = { 0 };
  ts_model_def_t *def;
  json_error_t jerr;
  json_t *j, *jv[4] = { NULL, NULL, NULL, NULL };
  ts_error_t *err;

  if (!who)
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s?o, s?o, s?o, s?o}",
                     "version", &jv[0], "from", &jv[1], "user", &jv[2],
                     "login", &jv[3])
      || !strings_or_null(jv, 4, &jerr)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body must be "
      "{\"version\": name (default: the proposal), \"from\": version to "
      "copy, \"user\", \"login\"}: %s"), jerr.text), pool);
    json_decref(j);
    return;
  }
  /* copied: J goes before the answer is written */
  version = json_is_string(jv[0]) ? apr_pstrdup(pool,
                                                json_string_value(jv[0]))
                                  : NULL;
  from = json_is_string(jv[1]) ? apr_pstrdup(pool, json_string_value(jv[1]))
                               : NULL;
  naming.user = json_is_string(jv[2])
                ? apr_pstrdup(pool, json_string_value(jv[2])) : NULL;
  naming.login = json_is_string(jv[3])
                 ? apr_pstrdup(pool, json_string_value(jv[3])) : NULL;
  naming.source = from;
  naming.now = apr_time_now();
  if (!naming.login)
    naming.login = who;
  err = ts_model_read(&def, a->inoprj, args[0], pool);
  if (!err && !version)
    version = ts_model_propose(def, &naming, pool);
  if (!err)
    err = ts_model_check_name(def, version, &naming, pool);
  if (!err)
    err = ts_version_create(a->inoprj, def, version, from, a->host, pool);
  json_decref(j);
  if (err) {
    reply_err(reply, err, 0, pool);
    return;
  }
  ts_log(a->log, TS_LOG_INFO, "%s created %s/%s%s%s", ts_log_quote(who, 128,
         pool), args[0], version, from ? " from " : "", from ? from : "");
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:s, s:s?}", "model",
                     args[0], "version", version, "from", from), pool);
}

static void
backup(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  const char *name = NULL;
  ts_naming_t naming = { 0 };
  ts_model_def_t *def;
  json_t *j = NULL;
  ts_error_t *err;

  if (!who)
    return;
  if (req->body_len) {
    ts_http_request_json(&j, reply, req, pool);
    if (!j)
      return;
    name = json_string_value(json_object_get(j, "name"));
  }
  naming.source = args[1];
  naming.login = who;
  naming.now = apr_time_now();
  err = ts_model_read(&def, a->inoprj, args[0], pool);
  if (!err && !name)
    name = ts_model_propose(def, &naming, pool);
  if (!err)
    err = ts_model_check_name(def, name, &naming, pool);
  if (!err)
    err = ts_version_backup(a->inoprj, def, args[1], name, a->host, pool);
  if (err) {
    json_decref(j);
    reply_err(reply, err, 0, pool);
    return;
  }
  ts_log(a->log, TS_LOG_INFO, "%s backed %s/%s up as %s",
         ts_log_quote(who, 128, pool), args[0], args[1], name);
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:s, s:s}", "model",
                     args[0], "backup", name, "of", args[1]), pool);
  json_decref(j);
}

static void
start(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
      const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  ts_agent_version_t *v;
  ts_error_t *err;

  if (!who)
    return;
  err = ts_agent_start(&v, a, args[0], args[1], is_backup(req), pool);
  if (err) {
    reply_err(reply, err, 1, pool);
    return;
  }
  ts_log(a->log, TS_LOG_INFO, "%s started %s/%s", ts_log_quote(who, 128,
         pool), args[0], args[1]);
  ts_http_reply_json(reply, 200, ts_agent_listing_one(a, args[0], args[1],
                                                      is_backup(req), pool),
                     pool);
}

static void
stop(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  ts_error_t *err;

  if (!who)
    return;
  err = ts_agent_stop_anywhere(reply, a, args[0], args[1], is_backup(req),
                               req, pool);
  if (err) {
    reply_err(reply, err, 1, pool);
    return;
  }
  if (reply->status)
    return;                    /* the agent that runs it answered */
  ts_log(a->log, TS_LOG_INFO, "%s stopped %s/%s", ts_log_quote(who, 128,
         pool), args[0], args[1]);
  ts_http_reply_json(reply, 200, ts_agent_listing_one(a, args[0], args[1],
                                                      is_backup(req), pool),
                     pool);
}

static void
delete(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_agent_t *a = baton;
  const char *who = ts_agent_authorize(reply, a, req, pool);
  json_t *v;
  const char *state;
  ts_error_t *err;

  if (!who)
    return;
  v = ts_agent_listing_one(a, args[0], args[1], is_backup(req), pool);
  state = json_string_value(json_object_get(v, "state"));
  if (state && strcmp(state, "stopped") != 0
      && strcmp(state, "crashed") != 0) {
    ts_http_reply_error(reply, 409, apr_psprintf(pool, _("%s/%s is %s on "
                        "%s: stop it first (`tessera-admin models stop "
                        "%s/%s`)"), args[0], args[1], state,
                        json_string_value(json_object_get(v, "host")),
                        args[0], args[1]), pool);
    json_decref(v);
    return;
  }
  json_decref(v);
  err = ts_agent_delete(a, args[0], args[1], is_backup(req), pool);
  if (err) {                   /* a running one was answered above: 409 */
    reply_err(reply, err, 0, pool);
    return;
  }
  ts_log(a->log, TS_LOG_INFO, "%s deleted %s/%s", ts_log_quote(who, 128,
         pool), args[0], args[1]);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:s, s:b}", "model",
                     args[0], "version", args[1], "deleted", 1), pool);
}

const ts_route_t ts_agent_routes[] = {
  { "GET", "/v1/models", models },
  { "PUT", "/v1/models/{model}", define },
  { "GET", "/v1/versions", versions },
  { "POST", "/v1/models/{model}/versions", create },
  { "GET", "/v1/models/{model}/versions/{version}", one },
  { "DELETE", "/v1/models/{model}/versions/{version}", delete },
  { "POST", "/v1/models/{model}/versions/{version}/backup", backup },
  { "POST", "/v1/models/{model}/versions/{version}/start", start },
  { "POST", "/v1/models/{model}/versions/{version}/stop", stop },
  { NULL, NULL, NULL }
};
