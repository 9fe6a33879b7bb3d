/* ts_role_notify.c: the notification service, `tesserad notify` (SPEC
 * §1: p+4): it hears everything on the bus (tessera/v1/#) and serves it
 * as Server-Sent Events on GET /v1/events (ts_notify_events.h), on the
 * event-loop listener, so thousands of streams share one thread.
 *
 * Its files (SPEC §5): daily logs notify.<YYYY-MM-DD>.log and the pid
 * file notify.pid in INONOTIFY/logs/, or, without INONOTIFY, in
 * INOPRJ/inonotify/<machine>.<port>/logs/; its state (the mail part's)
 * in the directory above logs/.
 *
 * It connects to the bus as Tessera's servers do (the server credential),
 * with the retained state notifiers/<machine> ("up", its last will
 * "down", "stopped" at a clean stop), and registers with the license
 * server (POST /v1/notifiers {"host","port"} every heartbeat-seconds of
 * tessera.xml, DELETE /v1/notifiers/<machine> at a clean stop); a license
 * server that does not answer, or does not know the endpoint, is logged
 * and tried again, never fatal.
 *
 * The mail part (ts_notify_mail.h: subscriptions, the durable outbox,
 * SMTP) keeps its database in the state directory; it is offered each
 * bus message after the events part, and its routes (/v1/subscriptions)
 * and figures are on the same site.
 *
 * Up: the events part, the mail part (before the port, whose site has its
 * routes, and before the bus, whose retained state at connect it must
 * hear), the port (the stream serves from here on), the bus, the
 * registration. Down: the registration, the bus (no more offers), the
 * port (no more route handlers), the mail part, the events part.
 */
#include "ts_role_notify.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>

#include "ts_credential.h"
#include "ts_file.h"
#include "ts_notify_events.h"
#include "ts_notify_mail.h"
#include "ts_server.h"

#define LOG_PATTERN "notify.%D.log"

typedef struct notify_t {
  const ts_server_info_t *info;
  const char *host;              /* this machine's name */
  int port;
  const char *dir;               /* the state directory (above logs/) */
  ts_log_t *log;
  ts_credential_t *cred;
  ts_events_t *events;
  ts_mail_t *mail;
  ts_uvhttp_t *uvhttp;
  ts_bus_t *bus;
  apr_thread_t *registrar;
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *wake;
  int stopping;
  apr_pool_t *pool;
} notify_t;

/* The directory of the service's files on INFO's machine and port. */
static ts_error_t *
home(const char **dir, const ts_server_info_t *info, apr_pool_t *pool)
{
  if (info->inonotify) {
    *dir = info->inonotify;
    return NULL;
  }
  if (!info->inoprj)
    return ts_error_createf(TS_ECONFIG, "the notification service keeps "
                            "its files in INONOTIFY, or under the project "
                            "directory INOPRJ when INONOTIFY is not set; "
                            "neither is set: set one with `tessera-admin "
                            "env set INONOTIFY DIR`");
  *dir = ts_path_join(info->inoprj, apr_psprintf(pool, "inonotify/%s.%d",
                                                 ts_server_machine(info,
                                                                   pool),
                                                 info->port), pool);
  return NULL;
}

/* ts_role_t.place: the daily log and the pid file in <home>/logs. */
static ts_error_t *
place(ts_server_info_t *info, const char **logfile, const char **pidfile,
      apr_pool_t *pool)
{
  const char *dir;

  TS_ERR(home(&dir, info, pool));
  info->logdir = ts_path_join(dir, "logs", pool);
  *logfile = ts_log_daily_path(ts_path_join(info->logdir, LOG_PATTERN,
                                            pool), apr_time_now(), pool);
  *pidfile = ts_path_join(info->logdir, "notify.pid", pool);
  return NULL;
}

/* ts_role_t.check: the server credential, the mail part's SMTP server
 * and password file, the port. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  const ts_config_t *c = info->config;
  const char *credential, *mail, *warning;

  TS_ERR_W(ts_credential_check(&credential, info->inodir, pool),
           "the notification service proves itself to the license server "
           "and the bus with the server credential");
  ts_server_plan_add(plan, "server credential: %s", credential);
  ts_server_plan_add(plan, "events: the last %d kept for Last-Event-ID, a "
                     "heartbeat every %d s, subscribers dropped over %d KiB "
                     "waiting", c->events_buffer,
                     c->events_heartbeat_seconds, c->events_max_queued_kib);
  TS_ERR(ts_mail_check(&mail, &warning, c, pool));
  ts_server_plan_add(plan, "%s", mail);
  if (warning)
    APR_ARRAY_PUSH(plan->warnings, const char *) = warning;
  return ts_server_check_port(server, "notification service", info->port,
                              pool);
}

/* ---- the bus ------------------------------------------------------------ */

static void
heard(void *baton, ts_bus_t *bus, const char *topic, const char *payload,
      int retained)
{
  notify_t *n = baton;
  apr_uint64_t id;

  (void)bus;
  (void)retained;   /* the state at connect is an event like any other */
  id = ts_events_offer(n->events, topic, payload);
  ts_mail_offer(n->mail, topic, payload, strlen(payload), id);
}

static const char *
bus_state(notify_t *n, const char *state, const char *reason,
          apr_pool_t *pool)
{
  json_t *j = json_pack("{s:s, s:s, s:i, s:s*}", "state", state, "host",
                        n->host, "port", n->port, "reason", reason);
  char *text = json_dumps(j, JSON_COMPACT);
  const char *copy = apr_pstrdup(pool, text);

  free(text);
  json_decref(j);
  return copy;
}

static ts_error_t *
bus_open(notify_t *n, apr_pool_t *pool)
{
  ts_bus_login_t *login = apr_pcalloc(pool, sizeof(*login));
  const char *topic = apr_psprintf(pool, "notifiers/%s", n->host);

  login->username = TS_BUS_SERVER_USER;
  login->password = ts_credential_derive(n->cred, "bus", pool);
  TS_ERR(ts_bus_open(&n->bus, n->info->host, n->info->main_port + 1,
                     apr_psprintf(pool, "tessera-notify-%s-%d", n->host,
                                  n->port), login, topic,
                     bus_state(n, "down", "the notification service's bus "
                               "connection broke", pool), NULL, NULL, NULL,
                     n->log, pool));
  ts_bus_subscribe(n->bus, "#", heard, n);
  ts_bus_publish(n->bus, topic, bus_state(n, "up", NULL, pool), 1);
  return NULL;
}

/* ---- the license server ------------------------------------------------- */

/* One registration; *LISTED says whether the last one was taken, so the
 * log says only when that changes. */
static void
register_once(notify_t *n, int *listed, apr_pool_t *pool)
{
  json_t *j = json_pack("{s:s, s:i}", "host", n->host, "port", n->port);
  char *body = json_dumps(j, JSON_COMPACT);
  const char *answer = "";
  int status = 0, ok;
  ts_error_t *err;

  json_decref(j);
  err = ts_http_call(&status, &answer, n->info->host, n->info->main_port,
                     "POST", "/v1/notifiers", body,
                     ts_credential_header(n->cred, pool),
                     apr_time_from_sec(5), pool);
  free(body);
  ok = !err && status / 100 == 2;
  if (ok != *listed) {
    if (ok)
      ts_log(n->log, TS_LOG_INFO, "registered with the license server on "
             "%s port %d as the notification service of %s", n->info->host,
             n->info->main_port, n->host);
    else
      ts_log(n->log, TS_LOG_WARNING, "cannot register with the license "
             "server on %s port %d (INOHOST): %s; the event stream serves "
             "on, and the registration is tried again every %d s",
             n->info->host, n->info->main_port, err
             ? ts_error_text(err, pool)
             : apr_psprintf(pool, "HTTP %d: %s", status,
                            ts_log_quote(answer, 300, pool)),
             n->info->config->heartbeat_seconds);
    *listed = ok;
  }
  ts_error_clear(err);
}

static void *APR_THREAD_FUNC
registrar(apr_thread_t *thread, void *data)
{
  notify_t *n = data;
  apr_pool_t *pool;
  int listed = -1;
  apr_interval_time_t every = apr_time_from_sec(
    n->info->config->heartbeat_seconds);

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(n->lock);
  while (!n->stopping) {
    apr_thread_mutex_unlock(n->lock);
    register_once(n, &listed, pool);
    apr_pool_clear(pool);
    apr_thread_mutex_lock(n->lock);
    if (!n->stopping)
      apr_thread_cond_timedwait(n->wake, n->lock, every);
  }
  apr_thread_mutex_unlock(n->lock);
  apr_pool_destroy(pool);
  (void)thread;
  return NULL;
}

static void
unregister(notify_t *n)
{
  apr_pool_t *pool;
  const char *answer;
  int status;

  apr_pool_create(&pool, NULL);
  ts_error_clear(ts_http_call(&status, &answer, n->info->host,
                              n->info->main_port, "DELETE",
                              apr_psprintf(pool, "/v1/notifiers/%s",
                                           n->host), NULL,
                              ts_credential_header(n->cred, pool),
                              apr_time_from_sec(3), pool));
  apr_pool_destroy(pool);
}

/* ---- start and stop ----------------------------------------------------- */

static void
site_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  notify_t *n = baton;

  ts_events_metrics(prom, n->events, pool);
  ts_mail_metrics(prom, n->mail, pool);
}

static ts_error_t *
listen_loop(notify_t *n, ts_server_t *server, apr_pool_t *pool)
{
  ts_server_site_t site = { 0 };
  ts_routes_t routes[2] = { { ts_events_routes, NULL } };
  ts_uvhttp_hooks_t hooks;

  site.name = "notification service";
  site.label = "notify";
  site.port = n->port;
  routes[1] = *ts_mail_routes(n->mail);
  site.routes = routes;
  site.nroutes = 2;
  site.metrics = site_metrics;
  site.metrics_baton = n;
  ts_events_hooks(&hooks, n->events);
  TS_ERR(ts_server_listen_loop(&n->uvhttp, server, &site, &hooks, pool));
  ts_events_attach(n->events, n->uvhttp);
  return NULL;
}

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  notify_t *n = apr_pcalloc(pool, sizeof(*n));
  ts_events_options_t o = { 0 };
  apr_status_t s;

  *state = n;
  n->info = info;
  n->pool = pool;
  n->log = info->log;
  n->host = ts_server_machine(info, pool);
  n->port = info->port;
  TS_ERR(home(&n->dir, info, pool));
  TS_ERR(ts_log_daily(n->log, ts_path_join(info->logdir, LOG_PATTERN,
                                           pool)));
  TS_ERR(ts_credential_open(&n->cred, info->inodir, n->log, pool));
  o.buffer = (apr_size_t)info->config->events_buffer;
  o.heartbeat = apr_time_from_sec(info->config->events_heartbeat_seconds);
  o.max_queued = (apr_size_t)info->config->events_max_queued_kib * 1024;
  TS_ERR(ts_events_create(&n->events, &o, n->log, pool));
  TS_ERR(ts_mail_open(&n->mail, n->dir, info->config, n->log, pool));
  ts_mail_set_license_server(n->mail, info->host, info->main_port, n->cred);
  TS_ERR(listen_loop(n, server, pool));
  TS_ERR(bus_open(n, pool));
  s = apr_thread_mutex_create(&n->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  if (!s)
    s = apr_thread_cond_create(&n->wake, pool);
  if (!s)
    s = apr_thread_create(&n->registrar, NULL, registrar, n, pool);
  if (s)
    return ts_error_aprf(s, "cannot start the notification service's "
                         "registration thread");
  ts_server_set_detail(server, apr_psprintf(pool, "events from the bus on "
                                            "%s port %d",
                                            info->host,
                                            info->main_port + 1));
  return NULL;
}

static void
stop(void *state, ts_server_t *server)
{
  notify_t *n = state;
  apr_status_t ignored;

  (void)server;
  if (!n)
    return;
  if (n->registrar) {
    apr_thread_mutex_lock(n->lock);
    n->stopping = 1;
    apr_thread_cond_signal(n->wake);
    apr_thread_mutex_unlock(n->lock);
    apr_thread_join(&ignored, n->registrar);
    n->registrar = NULL;
    unregister(n);
  }
  if (n->bus)
    ts_bus_close(n->bus, bus_state(n, "stopped", NULL, n->pool));
  n->bus = NULL;
  if (n->uvhttp)
    ts_uvhttp_stop(n->uvhttp);
  n->uvhttp = NULL;
  ts_mail_close(n->mail);
  n->mail = NULL;
  ts_events_destroy(n->events);
  n->events = NULL;
}

const ts_role_t ts_role_notify = {
  .name = "notify",
  .summary = "the notification service on p+4: the bus as Server-Sent\n"
             "Events (GET /v1/events), and mail about the changes users\n"
             "subscribed to (/v1/subscriptions, tessera-admin notify)",
  .port_offset = 4,
  .start = start,
  .stop = stop,
  .check = check,
  .place = place
};
