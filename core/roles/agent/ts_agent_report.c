/* ts_agent_report.c: who hears of the agent: the project directory (its
 * record in ivm/agents), clients (its port), the bus (each version's
 * state, retained on versions/<model>/<version>) and the license server
 * (POST /v1/agents with the versions it runs, every heartbeat interval of
 * tessera.xml and at once after a change; the license server lists it in
 * /v1/status and forgets it when the reports stop). */
#include "ts_agent.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_project.h"
#include "ts_project_records.h"
#include "tsp.h"

ts_error_t *
ts_agent_record_write(ts_agent_t *a, apr_pool_t *pool)
{
  ts_project_record_t rec = { 0 };
  const char *account = ts_account_name(pool);

  rec.kind = TS_PROJECT_AGENT;
  rec.host = a->host;
  rec.port = a->port;
  rec.os = tsp_os_name();
  rec.account = account ? account : "?";
  rec.inohost = apr_psprintf(pool, "%s.%d", a->info->host,
                             a->info->main_port);
  return ts_project_record_write(&a->record, a->inoprj, &rec, pool);
}

ts_error_t *
ts_agent_listen(ts_agent_t *a, ts_server_t *server, apr_pool_t *pool)
{
  ts_server_site_t site = { 0 };
  ts_routes_t routes = { ts_agent_routes, a };

  site.name = "agent";
  site.label = "agent";
  site.port = a->port;
  site.routes = &routes;
  site.nroutes = 1;
  return ts_server_listen(&a->httpd, server, &site, pool);
}

void
ts_agent_say(ts_agent_t *a, const ts_agent_version_t *v)
{
  json_t *j;
  char *text, topic[300];

  if (!a->bus)
    return;
  j = json_pack("{s:s, s:s, s:b, s:s, s:s?, s:s, s:i, s:I, s:s}", "model",
                v->model, "version", v->version, "read_only", v->read_only,
                "state", v->state, "reason", v->reason, "host", a->host,
                "port", v->port, "pid", (json_int_t)v->pid, "agent", a->id);
  text = json_dumps(j, JSON_COMPACT);
  apr_snprintf(topic, sizeof(topic), "versions/%s%s/%s", v->read_only
               ? "readonly:" : "", v->model, v->version);
  if (text)
    ts_bus_publish(a->bus, topic, text, 1);
  free(text);
  json_decref(j);
  if (a->wake)
    apr_thread_cond_signal(a->wake);   /* report the change at once */
}

/* One report to the license server; *LISTED says whether the last one
 * was taken, so the log says only when that changes. */
static void
report_once(ts_agent_t *a, const char *uuid, int *listed, apr_pool_t *pool)
{
  json_t *list = ts_agent_listing(a, 1, pool);
  json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:O}", "host", a->host, "port",
                        a->port, "inoprj", uuid, "os", tsp_os_name(),
                        "versions", json_object_get(list, "versions"));
  char *body = json_dumps(j, JSON_COMPACT);
  const char *answer = "";
  int status = 0, ok;
  ts_error_t *err;

  json_decref(list);
  json_decref(j);
  err = ts_http_call(&status, &answer, a->info->host, a->info->main_port,
                     "POST", "/v1/agents", body,
                     ts_credential_header(a->cred, pool),
                     apr_time_from_sec(5), pool);
  free(body);
  ok = !err && status / 100 == 2;
  if (ok != *listed) {
    if (ok)
      ts_log(a->log, TS_LOG_INFO, "listed by the license server on %s port "
             "%d", a->info->host, a->info->main_port);
    else
      ts_log(a->log, TS_LOG_WARNING, "cannot report to the license server "
             "on %s port %d (INOHOST): %s; retrying", a->info->host,
             a->info->main_port, err ? ts_error_text(err, pool)
             : apr_psprintf(pool, "HTTP %d: %s", status,
                            ts_log_quote(answer, 300, pool)));
    *listed = ok;
  }
  ts_error_clear(err);
}

static void *APR_THREAD_FUNC
reporter(apr_thread_t *thread, void *data)
{
  ts_agent_t *a = data;
  apr_pool_t *pool, *life;
  const char *uuid = "?";
  int listed = -1;
  apr_interval_time_t every = apr_time_from_sec(
    a->info->config->heartbeat_seconds);
  ts_error_t *err;

  /* this thread's own pools: the agent's pool is the main thread's (the
   * identity read into it raced with the start, and crashed in APR) */
  apr_pool_create(&life, NULL);
  apr_pool_create(&pool, NULL);
  err = ts_project_identity(&uuid, a->inoprj, life);
  ts_error_clear(err);
  apr_thread_mutex_lock(a->lock);
  while (!a->stopping) {
    apr_thread_mutex_unlock(a->lock);
    report_once(a, uuid, &listed, pool);
    apr_pool_clear(pool);
    apr_thread_mutex_lock(a->lock);
    if (!a->stopping)
      apr_thread_cond_timedwait(a->wake, a->lock, every);
  }
  apr_thread_mutex_unlock(a->lock);
  apr_pool_destroy(pool);
  apr_pool_destroy(life);
  (void)thread;
  return NULL;
}

ts_error_t *
ts_agent_report_start(ts_agent_t *a, apr_pool_t *pool)
{
  ts_bus_login_t *login = apr_pcalloc(pool, sizeof(*login));
  apr_status_t s;

  login->username = TS_BUS_SERVER_USER;
  login->password = ts_credential_derive(a->cred, "bus", pool);
  TS_ERR(ts_bus_open(&a->bus, a->info->host, a->info->main_port + 1,
                     apr_psprintf(pool, "tessera-agent-%s-%d", a->host,
                                  a->port), login,
                     apr_psprintf(pool, "agents/%s/state", a->id),
                     "{\"state\":\"down\",\"reason\":\"the agent's bus "
                     "connection broke\"}", NULL, NULL, NULL, a->log, pool));
  ts_bus_publish(a->bus, apr_psprintf(pool, "agents/%s/state", a->id),
                 "{\"state\":\"up\"}", 1);
  apr_thread_cond_create(&a->wake, pool);
  s = apr_thread_create(&a->reporter, NULL, reporter, a, pool);
  if (s)
    return ts_error_aprf(s, "cannot start the agent's report thread");
  return NULL;
}

void
ts_agent_report_stop(ts_agent_t *a)
{
  apr_status_t ignored;

  apr_thread_mutex_lock(a->lock);
  a->stopping = 1;
  if (a->wake)
    apr_thread_cond_signal(a->wake);
  apr_thread_mutex_unlock(a->lock);
  if (a->reporter)
    apr_thread_join(&ignored, a->reporter);
  a->reporter = NULL;
  if (a->bus)
    ts_bus_close(a->bus, "{\"state\":\"stopped\"}");
  a->bus = NULL;
  if (a->info && a->wake) {
    apr_pool_t *pool;
    const char *answer;
    int status;
    apr_pool_create(&pool, NULL);
    ts_error_clear(ts_http_call(&status, &answer, a->info->host,
                                a->info->main_port, "DELETE",
                                apr_psprintf(pool, "/v1/agents/%s", a->id),
                                NULL, ts_credential_header(a->cred, pool),
                                apr_time_from_sec(3), pool));
    apr_pool_destroy(pool);
  }
}
