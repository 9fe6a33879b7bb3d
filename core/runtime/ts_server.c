/* ts_server.c: a running Tessera server (see ts_server.h). */
#include "ts_server.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_bus.h"
#include "ts_config.h"
#include "ts_file.h"
#include "ts_httpd.h"
#include "ts_licensing.h"
#include "ts_passwd.h"
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
  return strcmp(role, "license") == 0 || strcmp(role, "bus") == 0;
}

/* A project license server reports to the main one this often. */
#define PROJECT_REPORT apr_time_from_sec(10)

struct ts_server_t {
  const char *role;
  const char *project;         /* ##.# of a project license server */
  ts_licensing_t *licensing;   /* role license */
  int as_service;
  ts_settings_t *settings;
  ts_config_t *config;
  tsp_settings_t *store;
  const char *host;            /* INOHOST's host */
  int main_port;               /* INOHOST's port: the main license server */
  int port;                    /* this server's: p, p' or p+1 for the bus */
  const char *inolic;
  const char *logdir;          /* INOLIC/logs/<role>.<port> */
  const char *logfile;
  const char *pidfile;
  ts_log_t *log;
  ts_httpd_t *httpd;
  ts_httpd_t *hub_httpd;       /* p+2 */
  ts_log_t *hub_log;
  ts_bus_broker_t *broker;     /* the bus as a child, or role bus */
  ts_bus_t *bus;               /* the license server's bus connection */
  apr_thread_t *reporter;      /* a project server's reports to the main */
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *wake;
  int stopping;
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

/* INOLIC/<relative>, for paths under the license directory. */
static const char *
under_inolic(const ts_server_t *server, const char *relative,
             apr_pool_t *pool)
{
  return ts_path_join(server->inolic, relative, pool);
}

ts_error_t *
ts_server_create(ts_server_t **server_p, const char *role,
                 const char *project, tsp_settings_t *store, int to_stderr,
                 int as_service, apr_pool_t *pool)
{
  ts_server_t *server = apr_pcalloc(pool, sizeof(*server));
  ts_settings_t *settings;
  const char *problems, *dir;

  if (!ts_server_role_available(role))
    return ts_error_createf(TS_EUSAGE, "the role '%s' is not available in "
                            "this build of tesserad (available: license, "
                            "bus)", role);
  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  problems = problems_of(settings, pool);
  if (problems)
    return ts_error_createf(TS_ECONFIG, "cannot start the %s server: %s; "
                            "fix with `tessera-admin env set NAME VALUE`",
                            role, problems);
  server->role = role;
  server->project = project;
  server->as_service = as_service;
  server->settings = settings;
  server->store = store;
  server->pool = pool;
  server->inolic = ts_settings_get(settings, "INOLIC")->value;
  TS_ERR(ts_inohost_parse(&server->host, &server->main_port,
                          ts_settings_get(settings, "INOHOST")->value,
                          pool));
  TS_ERR_W(ts_config_load(&server->config,
                          ts_config_path(server->inolic, pool), pool),
           "cannot start the %s server", role);
  if (server->config->path)
    TS_ERR_W(ts_config_check(server->config, server->main_port, pool),
             "cannot start the %s server", role);
  server->port = server->main_port;
  if (project) {
    const ts_project_t *p = ts_config_project(server->config, project);
    if (!p)
      return ts_error_createf(TS_ECONFIG, "there is no project license "
        "server %s in %s: add <project version=\"%s\" port=\"...\"/> "
        "to <license-server> (see config/blueprints/tessera-full.xml)",
        project, ts_config_path(server->inolic, pool), project);
    server->port = p->port;
  }
  if (strcmp(role, "bus") == 0)
    server->port += 1;
  /* INOLIC/logs/<role>.<port>/ (SPEC §5) */
  dir = under_inolic(server, apr_psprintf(pool, "logs/%s.%d", role,
                                          server->port), pool);
  server->logdir = dir;
  server->logfile = ts_path_join(dir, apr_pstrcat(pool, role, ".log", NULL),
                                 pool);
  server->pidfile = ts_path_join(dir, apr_pstrcat(pool, role, ".pid", NULL),
                                 pool);
  TS_ERR(ts_log_open(&server->log, server->logfile, to_stderr,
                     to_stderr && tsp_stderr_is_journal(), pool));
  apr_thread_mutex_create(&server->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&server->wake, pool);
  *server_p = server;
  return NULL;
}

const char *
ts_server_config_path(const ts_server_t *server)
{
  return server->config->path;
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
health(ts_http_reply_t *reply, ts_server_t *server, const char *role,
       int port, apr_pool_t *pool)
{
  reply->route = "/health";
  reply->body = apr_psprintf(pool, "{\"status\":\"ok\",\"role\":\"%s\","
                             "\"version\":\"%s\",\"port\":%d,"
                             "\"uptime_seconds\":%" APR_INT64_T_FMT "}\n",
                             role, TS_VERSION, port,
                             (apr_int64_t)apr_time_sec(apr_time_now()
                                                       - server->started));
}

/* /health and /metrics, shared by the license server and the hub; 0 when
 * URL is neither. */
static int
common(ts_http_reply_t *reply, ts_server_t *server, ts_httpd_t *httpd,
       const char *role, int port, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  int get = strcmp(req->method, "GET") == 0
            || strcmp(req->method, "HEAD") == 0;

  if (strcmp(req->url, "/health") == 0) {
    if (get)
      health(reply, server, role, port, pool);
    else
      ts_http_reply_error(reply, 405, "/health answers GET only", pool);
    return 1;
  }
  if (strcmp(req->url, "/metrics") == 0) {
    ts_prom_t *prom = ts_prom_create(pool);
    reply->route = "/metrics";
    if (!get) {
      ts_http_reply_error(reply, 405, "/metrics answers GET only", pool);
      return 1;
    }
    if (httpd)
      ts_httpd_metrics(prom, httpd, "tessera", pool);
    if (server->licensing && strcmp(role, "license") == 0)
      ts_licensing_metrics(prom, server->licensing, pool);
    reply->content_type = TS_PROM_CONTENT_TYPE;
    reply->body = ts_prom_text(prom);
    return 1;
  }
  return 0;
}

static void
handle(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  ts_server_t *server = baton;

  if (common(reply, server, server->httpd, "license", server->port, req,
             pool))
    return;
  if (strncmp(req->url, "/v1/", 4) == 0 && server->licensing) {
    ts_licensing_api(reply, server->licensing, req, pool);
    return;
  }
  ts_http_reply_error(reply, 404, apr_psprintf(pool, "no such resource: %s; "
                      "try GET /health, /metrics or /v1/status",
                      strchr(req->url, '"') ? "(invalid)" : req->url), pool);
}

static void
handle_hub(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
           apr_pool_t *pool)
{
  ts_server_t *server = baton;

  if (common(reply, server, server->hub_httpd, "hub", server->port + 2, req,
             pool))
    return;
  ts_registry_hub(reply, ts_licensing_registry(server->licensing), req,
                  pool);
}

/* A project license server's reports to the main license server. */
static void *APR_THREAD_FUNC
reporter(apr_thread_t *thread, void *data)
{
  ts_server_t *server = data;
  apr_pool_t *pool;
  int reported = -1;

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(server->lock);
  while (!server->stopping) {
    int status = 0, ok;
    const char *body;
    ts_error_t *err;
    apr_thread_mutex_unlock(server->lock);
    err = ts_http_call(&status, &body, server->host, server->main_port,
                       "POST", "/v1/projects", apr_psprintf(pool,
                       "{\"version\":\"%s\",\"host\":\"%s\",\"port\":%d}",
                       server->project, server->host, server->port), NULL,
                       apr_time_from_sec(5), pool);
    ok = !err && status == 200;
    if (ok != reported) {
      if (ok)
        ts_log(server->log, TS_LOG_INFO, "listed by the main license server "
               "on %s port %d", server->host, server->main_port);
      else
        ts_log(server->log, TS_LOG_WARNING, "cannot report to the main "
               "license server on %s port %d (INOHOST): %s; retrying every "
               "%d s", server->host, server->main_port,
               err ? ts_error_text(err, pool)
                   : apr_psprintf(pool, "HTTP %d", status),
               (int)apr_time_sec(PROJECT_REPORT));
      reported = ok;
    }
    ts_error_clear(err);
    apr_pool_clear(pool);
    apr_thread_mutex_lock(server->lock);
    if (!server->stopping)
      apr_thread_cond_timedwait(server->wake, server->lock, PROJECT_REPORT);
  }
  apr_thread_mutex_unlock(server->lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

/* The bus broker for port PORT (p+1): as a child, or as role bus. */
static ts_error_t *
start_broker(ts_server_t *server, int port)
{
  ts_bus_broker_options_t o = { 0 };

  o.program = server->config->bus_program;
  o.port = port;
  o.listen = server->config->listen;
  o.logdir = under_inolic(server, apr_psprintf(server->pool, "logs/bus.%d",
                                               port), server->pool);
  o.persistence = server->config->bus_persistence
                  ? under_inolic(server, apr_psprintf(server->pool,
                                                      "bus.%d", port),
                                 server->pool)
                  : NULL;
  return ts_bus_broker_start(&server->broker, &o, server->log, server->pool);
}

static ts_error_t *
start_license(ts_server_t *server)
{
  ts_licensing_options_t lo = { 0 };
  const ts_config_t *cfg = server->config;
  const apr_array_header_t *listen = cfg->listen;
  apr_pool_t *pool = server->pool;
  int child = cfg->bus_start == TS_BUS_CHILD
              || (cfg->bus_start == TS_BUS_AUTO && !server->as_service);
  const char *hubdir;

  lo.statedir = server->project
                ? under_inolic(server, apr_pstrcat(pool, "projects/",
                                                   server->project, NULL),
                               pool)
                : server->inolic;
  lo.host = server->host;
  lo.port = server->port;
  lo.project = server->project;
  lo.config = cfg;
  lo.passwd_path = ts_passwd_path(server->inolic, pool);
  lo.audit_path = cfg->audit ? ts_path_join(server->logdir, "audit.jsonl",
                                             pool)
                             : NULL;
  TS_ERR(ts_licensing_open(&server->licensing, &lo, server->log, pool));
  if (child)
    TS_ERR(start_broker(server, server->port + 1));
  else
    ts_log(server->log, TS_LOG_INFO, "the bus on port %d runs as its own "
           "service (`tesserad bus`)", server->port + 1);
  TS_ERR(ts_bus_open(&server->bus, listen->nelts
                     ? APR_ARRAY_IDX(listen, 0, const char *) : "127.0.0.1",
                     server->port + 1,
                     apr_psprintf(pool, "tessera-license-%d", server->port),
                     "license/state", "{\"state\":\"down\",\"reason\":"
                     "\"the license server's bus connection broke\"}",
                     ts_licensing_bus_tick, server->licensing, server->log,
                     pool));
  ts_licensing_attach_bus(server->licensing, server->bus);
  TS_ERR(ts_httpd_start(&server->httpd, "license server", server->port,
                        listen, handle, server, server->log, pool));
  hubdir = under_inolic(server, apr_psprintf(pool, "logs/hub.%d",
                                             server->port + 2), pool);
  TS_ERR(ts_log_open(&server->hub_log, ts_path_join(hubdir, "hub.log", pool),
                     0, 0, pool));
  TS_ERR(ts_httpd_start(&server->hub_httpd, "hub", server->port + 2, listen,
                        handle_hub, server, server->hub_log, pool));
  ts_log(server->hub_log, TS_LOG_INFO, "hub serving on port %d for the "
         "license server on port %d", server->port + 2, server->port);
  TS_ERR(ts_licensing_start(server->licensing));
  if (server->project) {
    apr_status_t s = apr_thread_create(&server->reporter, NULL, reporter,
                                       server, pool);
    if (s)
      return ts_error_aprf(s, "cannot start the project report thread");
  }
  return NULL;
}

static void
stop(void *baton)
{
  ts_server_t *server = baton;
  apr_status_t ignored;

  ts_log(server->log, TS_LOG_INFO, "stopping");
  ts_bus_broker_quiesce(server->broker);
  apr_thread_mutex_lock(server->lock);
  server->stopping = 1;
  apr_thread_cond_signal(server->wake);
  apr_thread_mutex_unlock(server->lock);
  if (server->reporter)
    apr_thread_join(&ignored, server->reporter);
  server->reporter = NULL;
  if (server->httpd)
    ts_httpd_stop(server->httpd);
  if (server->hub_httpd)
    ts_httpd_stop(server->hub_httpd);
  server->httpd = server->hub_httpd = NULL;
  /* the bus thread calls into the licensing: close it first */
  if (server->licensing)
    ts_licensing_attach_bus(server->licensing, NULL);
  ts_bus_close(server->bus, "{\"state\":\"stopped\"}");
  server->bus = NULL;
  ts_licensing_close(server->licensing);
  server->licensing = NULL;
  ts_bus_broker_stop(server->broker);
  server->broker = NULL;
  ts_log(server->log, TS_LOG_INFO, "stopped");
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
  server->started = apr_time_now();
  err = strcmp(server->role, "bus") == 0 ? start_broker(server, server->port)
                                          : start_license(server);
  if (err) {
    ts_log_error(server->log, TS_LOG_ERROR, err, "cannot start");
    stop(server);
    return err;
  }
  tsp_service_status(service, apr_psprintf(server->pool, "serving on port "
                                            "%d", server->port));
  ts_log(server->log, TS_LOG_INFO, "serving on port %d%s", server->port,
         strcmp(server->role, "license") ? ""
         : apr_psprintf(server->pool, " (bus %d, hub %d)", server->port + 1,
                        server->port + 2));
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
  if (server->hub_log)
    TS_ERR(ts_log_reopen(server->hub_log));
  ts_bus_broker_reopen(server->broker);
  ts_log(server->log, TS_LOG_INFO, "reloading: log file reopened (with the "
         "hub's and the bus broker's)");
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

void
ts_server_hooks(tsp_service_hooks_t *hooks, ts_server_t *server)
{
  hooks->baton = server;
  hooks->start = start;
  hooks->reload = reload;
  hooks->stop = stop;
}
