/* ts_licensing_status.c: what the license server says about itself:
 *
 *   GET /v1/status   license, products with seats and seats in use, bus,
 *                    hub, model servers, project license servers, agents
 *                    with the versions they see and where those run, whether
 *                    the administrator's password is set, the server's
 *                    pid and its license reloads (how many, and why the
 *                    last one was refused)
 *   GET /v1/admin    whether the password is set, and how to set it
 *   POST /v1/license/reload
 *                    the administrator (password) has the license file
 *                    read again, as HUP does (`tessera-admin license
 *                    import` asks for it): 200 with the license now in
 *                    force, or 422 with why it was refused (the license
 *                    in force stays)
 *
 * Reads need no password (README: "Reads (status, sessions, metrics)").
 */
#include "ts_licensing.h"

#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_passwd.h"
#include "tsp.h"

static void
status(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  json_t *j = ts_licensing_license_json(lc);
  int up, gone, proxies;

  (void)req;
  (void)args;
  ts_registry_counts(lc->registry, &up, &gone, &proxies);
  json_object_set_new(j, "project", lc->o.project ? json_string(
                      lc->o.project) : json_null());
  json_object_set_new(j, "port", json_integer(lc->o.port));
  apr_thread_mutex_lock(lc->lock);
  json_object_set_new(j, "bus", json_pack("{s:i, s:b}", "port",
                      lc->o.port + 1, "connected",
                      ts_bus_connected(lc->bus)));
  json_object_set_new(j, "reloads", json_pack("{s:I, s:s?}", "count",
                      (json_int_t)lc->reloads, "refused",
                      *lc->reload_error ? lc->reload_error : NULL));
  apr_thread_mutex_unlock(lc->lock);
  json_object_set_new(j, "pid", json_integer(tsp_pid()));
  json_object_set_new(j, "hub", json_pack("{s:i}", "port", lc->o.port + 2));
  json_object_set_new(j, "model_servers",
                      ts_registry_servers_json(lc->registry));
  json_object_set_new(j, "proxies", json_integer(proxies));
  json_object_set_new(j, "services",
                      ts_services_json(ts_registry_services(lc->registry)));
  json_object_set_new(j, "projects", ts_licensing_projects_json(lc));
  json_object_set_new(j, "agents", ts_licensing_agents_json(lc));
  json_object_set_new(j, "admin_password_set",
                      json_boolean(ts_passwd_is_set(lc->o.passwd_path,
                                                    pool)));
  ts_http_reply_json(reply, 200, j, pool);
}

static void
admin(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
      const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  int set = ts_passwd_is_set(lc->o.passwd_path, pool);

  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:b, s:s}", "password_set",
    set, "hint", set ? _("requests that change things take the password "
                         "with HTTP Basic authentication (curl -u "
                         "name:pw)")
                     : _("the administrator's password is not set: set it "
                         "on the license server machine with "
                         "`tessera-admin license passwd`")), pool);
}

static void
reload(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *who = ts_licensing_authorize(reply, lc, req, pool);
  ts_error_t *err;
  json_t *j;

  (void)args;
  if (!who)
    return;
  who = apr_psprintf(pool, "asked by %s from %s",
                     ts_log_quote(who, TS_LOG_VALUE_MAX, pool), req->client);
  err = ts_licensing_reload_license(lc, who);
  j = ts_licensing_license_json(lc);   /* id and products of one moment */
  json_object_set_new(j, "reloaded", json_boolean(err == NULL));
  if (err) {
    json_object_del(j, "products");
    json_object_set_new(j, "error", json_string(ts_error_message(err,
                                                                 pool)));
    ts_error_clear(err);
    ts_http_reply_json(reply, 422, j, pool);
    return;
  }
  ts_log(lc->log, TS_LOG_INFO, "license reloaded (%s)", who);
  ts_http_reply_json(reply, 200, j, pool);
}

const ts_route_t ts_licensing_status_routes[] = {
  { "GET", "/v1/status", status },
  { "GET", "/v1/admin", admin },
  { "POST", "/v1/license/reload", reload },
  { NULL, NULL, NULL }
};
