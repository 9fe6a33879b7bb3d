/* ts_server.c: a running Tessera server (see ts_server.h). */
#include "ts_server.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "ts_httpd.h"
#include "ts_licensing.h"
#include "ts_settings.h"
#include "ts_version.h"

/* Descriptors a server keeps for itself (logs, state, the bus, ...); the
 * rest of the open-files limit is room for client connections. */
#define RESERVED_FDS 128

const char *const ts_server_roles[] = {
  "license", "bus", "agent", "notify", "proxy", "model", NULL
};

int
ts_server_role_available(const char *role)
{
  return strcmp(role, "license") == 0;
}

struct ts_server_t {
  const char *role;
  ts_http_handler_t api;       /* the role's /v1 interface */
  void *api_baton;
  ts_licensing_t *licensing;   /* role license */
  int as_service;
  ts_settings_t *settings;
  tsp_settings_t *store;
  int port;
  const char *logfile;
  const char *pidfile;
  ts_log_t *log;
  ts_httpd_t *httpd;
  apr_time_t started;
  apr_pool_t *pool;
};

static const char *
problems_of(const ts_settings_t *settings, apr_pool_t *pool)
{
  const char *text = NULL;

  for (int i = 0; i < settings->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(settings->values, i,
                                                 ts_setting_value_t);
    if (v->problem)
      text = apr_psprintf(pool, "%s%s%s '%s' from the %s: %s",
                          text ? text : "", text ? "; " : "", v->def->name,
                          v->value, ts_source_name(v->source), v->problem);
  }
  return text;
}

static const char *
in_dir(const char *dir, const char *name, apr_pool_t *pool)
{
  char *path;

  if (apr_filepath_merge(&path, dir, name, APR_FILEPATH_NATIVE, pool))
    return apr_pstrcat(pool, dir, "/", name, NULL);
  return path;
}

ts_error_t *
ts_check_local_dir(const char **warning, const char *name, const char *value,
                   int refuse, apr_pool_t *pool)
{
  tsp_fs_info_t fs;
  const char *text;

  *warning = NULL;
  TS_ERR_W(tsp_path_fs_info(&fs, value, pool), "cannot tell where %s %s "
           "lives", name, value);
  if (!fs.remote)
    return NULL;
  text = apr_psprintf(pool, "%s %s is on a network file system (%s at %s%s"
    "%s): %s; move it to a local disk with `tessera-admin env set %s "
    "<local directory> --scope all`", name, value, fs.fstype, fs.mount,
    strcmp(fs.resolved, value) ? ", resolved to " : "",
    strcmp(fs.resolved, value) ? fs.resolved : "",
    refuse ? "Windows services must not keep project directories with "
             "repositories on network drives (file locks are unreliable "
             "there, and a service does not see a user's mapped drives)"
           : "file locks and state files are unreliable on network file "
             "systems", name);
  if (refuse)
    return ts_error_createf(TS_ECONFIG, "%s", text);
  *warning = text;
  return NULL;
}

ts_error_t *
ts_server_create(ts_server_t **server_p, const char *role,
                 tsp_settings_t *store, int to_stderr, int as_service,
                 apr_pool_t *pool)
{
  ts_server_t *server = apr_pcalloc(pool, sizeof(*server));
  ts_settings_t *settings;
  const char *problems, *dir;
  char *path;

  if (!ts_server_role_available(role))
    return ts_error_createf(TS_EUSAGE, "the role '%s' is not available in "
                            "this build of tesserad (available: license)",
                            role);
  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  problems = problems_of(settings, pool);
  if (problems)
    return ts_error_createf(TS_ECONFIG, "cannot start the %s server: %s; "
                            "fix with `tessera-admin env set NAME VALUE`",
                            role, problems);
  server->role = role;
  server->as_service = as_service;
  server->settings = settings;
  server->store = store;
  server->port = ts_settings_port(settings);
  server->pool = pool;
  /* INOLIC/logs/<role>.<port>/ (SPEC §5) */
  dir = apr_psprintf(pool, "logs/%s.%d", role, server->port);
  if (apr_filepath_merge(&path, ts_settings_get(settings, "INOLIC")->value,
                         dir, APR_FILEPATH_NATIVE, pool) != APR_SUCCESS)
    return ts_error_createf(TS_ECONFIG, "cannot build the log directory "
                            "from INOLIC '%s'",
                            ts_settings_get(settings, "INOLIC")->value);
  server->logfile = in_dir(path, apr_pstrcat(pool, role, ".log", NULL), pool);
  server->pidfile = in_dir(path, apr_pstrcat(pool, role, ".pid", NULL), pool);
  TS_ERR(ts_log_open(&server->log, server->logfile, to_stderr,
                     to_stderr && tsp_stderr_is_journal(), pool));
  *server_p = server;
  return NULL;
}

const char *
ts_server_pidfile(const ts_server_t *server)
{
  return server->pidfile;
}

ts_log_t *
ts_server_log(const ts_server_t *server)
{
  return server->log;
}

int
ts_server_port(const ts_server_t *server)
{
  return server->port;
}

static void
health(ts_http_reply_t *reply, ts_server_t *server, apr_pool_t *pool)
{
  reply->body = apr_psprintf(pool, "{\"status\":\"ok\",\"role\":\"%s\","
                             "\"version\":\"%s\",\"port\":%d,"
                             "\"uptime_seconds\":%" APR_INT64_T_FMT "}\n",
                             server->role, TS_VERSION, server->port,
                             (apr_int64_t)apr_time_sec(apr_time_now()
                                                       - server->started));
}

static void
handle(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  ts_server_t *server = baton;

  if (strcmp(req->url, "/health") == 0) {
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
      reply->status = 405;
      reply->body = "{\"error\":\"/health answers GET only\"}\n";
      return;
    }
    health(reply, server, pool);
    return;
  }
  if (strncmp(req->url, "/v1/", 4) == 0 && server->api) {
    server->api(reply, server->api_baton, req, pool);
    return;
  }
  reply->status = 404;
  reply->body = apr_psprintf(pool, "{\"error\":\"no such resource: %s\","
                             "\"hint\":\"GET /health, /v1/status\"}\n",
                             strchr(req->url, '"') ? "(invalid)" : req->url);
}

static ts_error_t *
start(void *baton, tsp_service_t *service)
{
  ts_server_t *server = baton;
  long soft, hard;
  ts_error_t *err;

  ts_log(server->log, TS_LOG_INFO, "%s server %s starting on port %d (log "
         "%s)", server->role, TS_VERSION, server->port, server->logfile);
  err = tsp_fd_limit_raise(&soft, &hard, 0);
  if (err) {
    ts_log_error(server->log, TS_LOG_WARNING, err, "open-files limit");
    ts_error_clear(err);
  }
  else if (soft < 0)
    ts_log(server->log, TS_LOG_INFO, "open files: no per-process limit "
           "applies");
  else
    ts_log(server->log, TS_LOG_INFO, "open files: soft limit %ld, hard "
           "limit %ld: room for about %ld client connections", soft, hard,
           soft > RESERVED_FDS ? soft - RESERVED_FDS : 0);
  /* Project directories on network drives (SPEC §4): refused for Windows
   * services, reported elsewhere. */
  for (const char *const *n = (const char *const[]){ "INOPRJ", "INOLIC",
       NULL }; *n; n++) {
    const char *warning;
    err = ts_check_local_dir(&warning, *n,
                             ts_settings_get(server->settings, *n)->value,
                             server->as_service
                             && strcmp(*n, "INOPRJ") == 0
                             && tsp_services_refuse_remote_projects(),
                             server->pool);
    if (err) {
      ts_log_error(server->log, TS_LOG_ERROR, err, "cannot start");
      return err;
    }
    if (warning)
      ts_log(server->log, TS_LOG_WARNING, "%s", warning);
  }
  if (strcmp(server->role, "license") == 0) {
    const char *host;
    int port;
    err = ts_inohost_parse(&host, &port,
                           ts_settings_get(server->settings, "INOHOST")->value,
                           server->pool);
    if (!err)
      err = ts_licensing_open(&server->licensing,
                              ts_settings_get(server->settings,
                                              "INOLIC")->value, host,
                              server->log, server->pool);
    if (err) {
      ts_log_error(server->log, TS_LOG_ERROR, err, "cannot start");
      return err;
    }
    server->api = ts_licensing_api;
    server->api_baton = server->licensing;
  }
  server->started = apr_time_now();
  err = ts_httpd_start(&server->httpd, server->port, handle, server,
                       server->log, server->pool);
  if (err) {
    ts_log_error(server->log, TS_LOG_ERROR, err, "cannot start");
    return err;
  }
  tsp_service_status(service, apr_psprintf(server->pool, "serving on port "
                                            "%d", server->port));
  ts_log(server->log, TS_LOG_INFO, "serving on port %d", server->port);
  return NULL;
}

static ts_error_t *
reload(void *baton)
{
  ts_server_t *server = baton;
  ts_settings_t *settings;
  apr_pool_t *scratch;
  ts_error_t *err;

  TS_ERR(ts_log_reopen(server->log));
  ts_log(server->log, TS_LOG_INFO, "reloading: log file reopened");
  apr_pool_create(&scratch, server->pool);
  err = ts_settings_resolve(&settings, server->store, scratch, scratch);
  if (!err && server->licensing) {
    ts_error_t *lerr = ts_licensing_reload(server->licensing);
    if (lerr) {
      ts_log_error(server->log, TS_LOG_ERROR, lerr, "reload");
      ts_error_clear(lerr);
    }
  }
  if (!err && ts_settings_port(settings) != server->port)
    ts_log(server->log, TS_LOG_WARNING, "INOHOST now names port %d; the "
           "server keeps port %d until it is restarted",
           ts_settings_port(settings), server->port);
  apr_pool_destroy(scratch);
  return err;
}

static void
stop(void *baton)
{
  ts_server_t *server = baton;

  ts_log(server->log, TS_LOG_INFO, "stopping");
  if (server->httpd)
    ts_httpd_stop(server->httpd);
  ts_licensing_close(server->licensing);
  ts_log(server->log, TS_LOG_INFO, "stopped");
}

void
ts_server_hooks(tsp_service_hooks_t *hooks, ts_server_t *server)
{
  hooks->baton = server;
  hooks->start = start;
  hooks->reload = reload;
  hooks->stop = stop;
}
