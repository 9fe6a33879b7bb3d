/* ts_registry_api.c: brokering on the license server's port: model
 * servers register and heartbeat, proxies say where they listen, and a
 * client asks where to connect for a model (see ts_registry.h for the
 * routes). Requests are checked here, the server credential first on
 * every one that changes the registry; the registry keeps only what
 * passed. */
#include "ts_registry.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

/* A name from the request's path as it may be shown in a message or a log
 * line: only when it is a valid host (or "host:port" id). */
static const char *
shown(const char *name)
{
  return ts_registry_valid_host(name) ? name : "(invalid)";
}

int
ts_registry_authentic(ts_http_reply_t *reply, ts_registry_t *r,
                      const ts_http_request_t *req, const char *what,
                      apr_pool_t *pool)
{
  const ts_registry_options_t *o = ts_registry_options(r);
  const char *file = ts_credential_file(o->credential);
  const char *route = reply->route ? reply->route : req->url;
  int given = req->authorization
              && strncmp(req->authorization, TS_CREDENTIAL_SCHEME " ",
                         strlen(TS_CREDENTIAL_SCHEME) + 1) == 0;

  if (ts_credential_check_http(o->credential, req->authorization))
    return 1;
  /* the answer names the request (WHAT is an English phrase, for the
   * log); the scheme is a word of the protocol */
  ts_http_reply_error(reply, 401, given
    ? apr_psprintf(pool, _("%s %s: the token in \"Authorization: %s "
                   "<token>\" is not derived from this installation's "
                   "server credential (%s on the license server's "
                   "machine): copy that file to the server's INODIR, "
                   "owner-only and owned by the account the server runs "
                   "as"), req->method, route, TS_CREDENTIAL_SCHEME, file)
    : apr_psprintf(pool, _("%s %s is for Tessera's servers only: send the "
                   "header \"Authorization: %s <token>\" with the token "
                   "derived from the server credential %s (a server on "
                   "another machine needs a copy of that file in its "
                   "INODIR; `tessera-admin credential init` says how)"),
                   req->method, route, TS_CREDENTIAL_SCHEME, file), pool);
  reply->www_authenticate = TS_CREDENTIAL_SCHEME " realm=\"Tessera "
                            "servers\"";
  ts_log(o->log, TS_LOG_WARNING, "refused %s from %s: %s", what,
         req->client, given ? "wrong server credential"
                            : "no server credential");
  return 0;
}

/* The models and links of a registration into MS (in POOL); NULL, or
 * what is wrong with them. */
static const char *
parse_models(ts_model_server_t *ms, json_t *models, json_t *links,
             apr_pool_t *pool)
{
  const char *key;
  json_t *v;
  size_t i;

  ms->models = apr_array_make(pool, 4, sizeof(const char *));
  ms->links = apr_array_make(pool, 4, sizeof(const char *));
  json_array_foreach(models, i, v) {
    if (!ts_registry_valid_name(json_string_value(v)))
      return apr_psprintf(pool, _("models[%d] is not a valid model name "
                          "(1..128 of A-Z a-z 0-9 . _ -)"), (int)i);
    APR_ARRAY_PUSH(ms->models, const char *) =
      apr_pstrdup(pool, json_string_value(v));
  }
  if (links)
    json_object_foreach(links, key, v) {
      int known = 0;
      for (int k = 0; k < ms->models->nelts; k++)
        known |= json_is_string(v) && strcmp(APR_ARRAY_IDX(ms->models, k,
                   const char *), json_string_value(v)) == 0;
      if (!ts_registry_valid_name(key) || !known)
        return ts_registry_valid_name(key)
               ? apr_psprintf(pool, _("the link '%s' must name one of this "
                                      "server's models"), key)
               : _("a link with an invalid name: links are named 1..128 of "
                   "A-Z a-z 0-9 . _ - and name one of this server's "
                   "models");
      APR_ARRAY_PUSH(ms->links, const char *) = apr_pstrdup(pool, key);
      APR_ARRAY_PUSH(ms->links, const char *) =
        apr_pstrdup(pool, json_string_value(v));
    }
  return NULL;
}

/* The registration in J into MS (in POOL); NULL, or what is wrong. */
static const char *
parse_registration(ts_model_server_t *ms, json_t *j, apr_pool_t *pool)
{
  json_t *models = NULL, *links = NULL;
  json_error_t jerr;
  const char *repo = NULL, *host = NULL, *ls = NULL;
  json_int_t port = 0, pid = 0;

  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:o, s?o, s:s, s:I, "
                     "s:I, s:s}", "repository", &repo, "models", &models,
                     "links", &links, "host", &host, "port", &port, "pid",
                     &pid, "license_server", &ls))
    return apr_psprintf(pool, _("the body must be {\"repository\", "
      "\"models\": [...], \"links\": {link: model} (optional), \"host\", "
      "\"port\", \"pid\", \"license_server\"}: %s"), jerr.text);
  if (!ts_registry_valid_name(repo) || !ts_registry_valid_host(host)
      || port < 1 || port > 65535 || !json_is_array(models)
      || json_array_size(models) == 0 || (links && !json_is_object(links)))
    return _("invalid registration: repository and model names are "
             "1..128 of A-Z a-z 0-9 . _ -, host a name or address, port "
             "1..65535, models a non-empty array, links an object");
  ms->repository = apr_pstrdup(pool, repo);
  ms->host = apr_pstrdup(pool, host);
  ms->license_server = apr_pstrdup(pool, ls);
  ms->port = (int)port;
  ms->pid = (long)pid;
  return parse_models(ms, models, links, pool);
}

static void
do_register(ts_http_reply_t *reply, void *baton,
            const ts_http_request_t *req, const char *const *args,
            apr_pool_t *pool)
{
  ts_registry_t *r = baton;
  ts_model_server_t ms = { 0 };
  apr_interval_time_t gone_after = ts_registry_gone_after(r);
  const char *problem;
  ts_error_t *err;
  json_t *j;

  (void)args;
  if (!ts_registry_authentic(reply, r, req, "registering a model server",
                             pool))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  problem = parse_registration(&ms, j, pool);
  json_decref(j);
  if (problem) {
    ts_http_reply_error(reply, 400, problem, pool);
    return;
  }
  err = ts_registry_add(r, &ms, pool);
  if (err) {
    ts_http_reply_error(reply, 400, ts_error_message(err, pool), pool);
    ts_error_clear(err);
    return;
  }
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:I, s:I}", "id",
                     apr_psprintf(pool, "%s:%d", ms.host, ms.port),
                     "heartbeat_seconds",
                     (json_int_t)apr_time_sec(gone_after) / 3,
                     "gone_after_seconds",
                     (json_int_t)apr_time_sec(gone_after)), pool);
}

static void
list(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
     const char *const *args, apr_pool_t *pool)
{
  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "model_servers",
                     ts_registry_servers_json(baton)), pool);
}

static void
heartbeat(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  const char *id = args[0];
  int state;

  if (!ts_registry_authentic(reply, baton, req, apr_psprintf(pool, "a "
                             "heartbeat of model server %s", shown(id)),
                             pool))
    return;
  state = ts_registry_heartbeat(baton, id);
  if (state == 1)
    ts_http_reply_json(reply, 200, json_pack("{s:s, s:s}", "id", id,
                                             "state", "up"), pool);
  else
    ts_http_reply_error(reply, 404, apr_psprintf(pool, state == 0
                        ? _("model server %s is marked gone: register again "
                            "with POST /v1/model-servers")
                        : _("model server %s is not registered: register "
                            "again with POST /v1/model-servers"),
                        ts_log_quote(id, TS_LOG_VALUE_MAX, pool)), pool);
}

static void
unregister(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
           const char *const *args, apr_pool_t *pool)
{
  const char *id = args[0];

  if (!ts_registry_authentic(reply, baton, req, apr_psprintf(pool,
                             "unregistering model server %s (which frees "
                             "its seats)", shown(id)), pool))
    return;
  if (!ts_registry_remove(baton, id, pool))
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("model server %s "
                        "is not registered"), ts_log_quote(id,
                        TS_LOG_VALUE_MAX, pool)), pool);
  else
    ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", id,
                                             "unregistered", 1), pool);
}

/* A machine's service of KIND reports where it listens. */
static void
add_service(ts_http_reply_t *reply, ts_registry_t *r,
            const ts_http_request_t *req, const char *kind,
            apr_pool_t *pool)
{
  apr_interval_time_t gone_after = ts_registry_gone_after(r);
  json_t *j;
  json_error_t jerr;
  const char *host;
  json_int_t port;

  if (!ts_registry_authentic(reply, r, req, strcmp(kind, "proxy")
                             ? "registering a notification service"
                             : "registering a proxy", pool))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:I}", "host", &host,
                     "port", &port) || !ts_registry_valid_host(host)
      || port < 1 || port > 65535) {
    ts_http_reply_error(reply, 400, _("the body must be {\"host\": name "
                        "or address, \"port\": 1..65535}"), pool);
    json_decref(j);
    return;
  }
  ts_services_set(ts_registry_services(r), kind, host, (int)port);
  /* it reports again within REPORT_SECONDS, or is no longer offered
   * once EXPIRES_AFTER_SECONDS have passed */
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:i, s:I, s:I}", "host",
                     host, "port", (int)port, "report_seconds",
                     (json_int_t)(apr_time_sec(gone_after) >= 6
                                  ? apr_time_sec(gone_after) / 3 : 1),
                     "expires_after_seconds",
                     (json_int_t)apr_time_sec(gone_after)), pool);
  json_decref(j);   /* HOST is J's */
}

/* A machine's service of KIND stops. */
static void
remove_service(ts_http_reply_t *reply, ts_registry_t *r,
               const ts_http_request_t *req, const char *kind,
               const char *host, apr_pool_t *pool)
{
  int proxy = !strcmp(kind, "proxy");

  if (!ts_registry_authentic(reply, r, req, apr_psprintf(pool,
                             "unregistering the %s of host %s", proxy
                             ? "proxy" : "notification service",
                             shown(host)), pool))
    return;
  if (ts_registry_valid_host(host)
      && ts_services_remove(ts_registry_services(r), kind, host))
    ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "host", host,
                                             "unregistered", 1), pool);
  else if (!ts_registry_valid_host(host))
    ts_http_reply_error(reply, 404, proxy
                        ? _("no proxy of that host is registered: the "
                            "host in the path is not a valid name or "
                            "address")
                        : _("no notification service of that host is "
                            "registered: the host in the path is not a "
                            "valid name or address"), pool);
  else
    ts_http_reply_error(reply, 404, apr_psprintf(pool, proxy
                        ? _("no proxy of host '%s' is registered")
                        : _("no notification service of host '%s' is "
                            "registered"), host), pool);
}

static void
add_proxy(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
          const char *const *args, apr_pool_t *pool)
{
  (void)args;
  add_service(reply, baton, req, "proxy", pool);
}

static void
remove_proxy(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, const char *const *args,
             apr_pool_t *pool)
{
  remove_service(reply, baton, req, "proxy", args[0], pool);
}

static void
add_notifier(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, const char *const *args,
             apr_pool_t *pool)
{
  (void)args;
  add_service(reply, baton, req, "notify", pool);
}

static void
remove_notifier(ts_http_reply_t *reply, void *baton,
                const ts_http_request_t *req, const char *const *args,
                apr_pool_t *pool)
{
  remove_service(reply, baton, req, "notify", args[0], pool);
}

void
ts_registry_reply_location(ts_http_reply_t *reply, ts_registry_t *r,
                           const char *name, int connect, apr_pool_t *pool)
{
  const ts_model_server_t *ms = NULL;
  const char *model = NULL;
  int proxy = 0;
  json_t *j;

  if (!ts_registry_valid_name(name)
      || !ts_registry_find(&ms, &model, &proxy, r, name, pool)) {
    ts_http_reply_error(reply, 404, ts_registry_valid_name(name)
                        ? apr_psprintf(pool, _("no model server that is up "
                                               "offers a model or link named "
                                               "'%s'; see GET "
                                               "/v1/model-servers for what "
                                               "is registered"), name)
                        : _("no model server offers a model or link by that "
                            "name: model and link names are 1..128 of A-Z "
                            "a-z 0-9 . _ -"), pool);
    return;
  }
  j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "name", name, "model",
                model, "repository", ms->repository, "model_server", ms->id,
                "host", ms->host, "port", ms->port);
  if (connect)
    json_object_set_new(j, "connect", json_pack("{s:s, s:s, s:i}", "via",
                        proxy ? "proxy" : "direct", "host", ms->host, "port",
                        proxy ? proxy : ms->port));
  ts_http_reply_json(reply, 200, j, pool);
}

static void
locate(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  (void)req;
  ts_registry_reply_location(reply, baton, args[0], 1, pool);
}

const ts_route_t ts_registry_routes[] = {
  { "POST", "/v1/model-servers", do_register },
  { "GET", "/v1/model-servers", list },
  { "PUT", "/v1/model-servers/{id}/heartbeat", heartbeat },
  { "POST", "/v1/model-servers/{id}/heartbeat", heartbeat },
  { "DELETE", "/v1/model-servers/{id}", unregister },
  { "POST", "/v1/proxies", add_proxy },
  { "DELETE", "/v1/proxies/{host}", remove_proxy },
  { "POST", "/v1/notifiers", add_notifier },
  { "DELETE", "/v1/notifiers/{host}", remove_notifier },
  { "GET", "/v1/models/{name}", locate },
  { NULL, NULL, NULL }
};
