/* ts_model_license.c: what the model server tells others that it runs:
 * its license server (registration and heartbeat with the server
 * credential, POST /v1/model-servers; a seat for each session, POST
 * /v1/sessions with "model_server"), its record in INOPRJ, and the bus
 * (the last will on model-servers/<machine>:<port>, so a kill -9 is told
 * at once). */
#include "ts_model.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_project_records.h"
#include "ts_token.h"
#include "tsp.h"

/* How long the license server has to answer. */
#define CALL_TIMEOUT apr_time_from_sec(5)

/* METHOD PATH on the license server with BODY (NULL: none; its reference
 * is taken) and HEADERS; its answer in *A. */
static ts_error_t *
call(ts_model_answer_t *a, ts_model_t *m, const char *method,
     const char *path, json_t *body, const char *headers, apr_pool_t *pool)
{
  char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
  const char *text = NULL;
  ts_error_t *err;

  json_decref(body);
  err = ts_http_call(&a->status, &text, m->info->host, m->info->main_port,
                     method, path, json, headers, CALL_TIMEOUT, pool);
  free(json);
  a->body = NULL;
  a->error = "";
  if (err)
    return ts_error_wrapf(err, "the license server %s port %d did not "
                          "answer %s %s", m->info->host, m->info->main_port,
                          method, path);
  a->body = json_loads(text, 0, NULL);
  if (json_is_string(json_object_get(a->body, "error")))
    a->error = apr_pstrdup(pool, json_string_value(json_object_get(a->body,
                                                                   "error")));
  return NULL;
}

/* ---- registration -------------------------------------------------------- */

ts_error_t *
ts_model_register(ts_model_t *m, apr_pool_t *pool)
{
  ts_model_answer_t a;
  json_t *body = json_pack("{s:s, s:[s], s:s, s:i, s:I, s:s}", "repository",
                           m->meta->version, "models", m->meta->model,
                           "host", m->machine, "port", m->port, "pid",
                           (json_int_t)tsp_pid(), "license_server",
                           m->inohost);

  TS_ERR(call(&a, m, "POST", "/v1/model-servers", body,
              ts_credential_header(m->credential, pool), pool));
  json_decref(a.body);
  if (a.status != 201)
    return ts_error_createf(TS_EUNAVAIL, "the license server %s port %d "
                            "refused the registration of model server %s "
                            "(%d): %s", m->info->host, m->info->main_port,
                            m->id, a.status, a.error);
  return NULL;
}

ts_error_t *
ts_model_heartbeat(ts_model_t *m, apr_pool_t *pool)
{
  ts_model_answer_t a;

  TS_ERR(call(&a, m, "PUT", apr_psprintf(pool, "/v1/model-servers/%s/"
                                         "heartbeat", m->id), NULL,
              ts_credential_header(m->credential, pool), pool));
  json_decref(a.body);
  if (a.status == 404)
    return ts_model_register(m, pool);
  if (a.status != 200)
    return ts_error_createf(TS_EUNAVAIL, "the license server %s port %d "
                            "refused the heartbeat of model server %s (%d): "
                            "%s", m->info->host, m->info->main_port, m->id,
                            a.status, a.error);
  return NULL;
}

void
ts_model_unregister(ts_model_t *m, apr_pool_t *pool)
{
  ts_model_answer_t a;
  ts_error_t *err = call(&a, m, "DELETE", apr_psprintf(pool,
                         "/v1/model-servers/%s", m->id), NULL,
                         ts_credential_header(m->credential, pool), pool);

  if (err) {
    ts_log_error(m->log, TS_LOG_WARNING, err, "unregistering (the license "
                 "server frees this server's seats once it misses it)");
    ts_error_clear(err);
    return;
  }
  json_decref(a.body);
  if (a.status == 200)
    ts_log(m->log, TS_LOG_INFO, "unregistered from the license server %s "
           "port %d; its seats are free", m->info->host, m->info->main_port);
  else
    ts_log(m->log, TS_LOG_WARNING, "the license server %s port %d answered "
           "the unregistration with %d: %s", m->info->host,
           m->info->main_port, a.status, a.error);
}

/* ---- seats --------------------------------------------------------------- */

ts_error_t *
ts_model_seat_take(ts_model_answer_t *a, ts_model_session_t *s,
                   ts_model_t *m, apr_pool_t *pool)
{
  json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "product",
                           m->meta->product, "user", s->user, "host",
                           s->host, "pid", (json_int_t)s->pid, "application",
                           s->application, "model_server", m->id);
  const char *id = NULL, *token = NULL;
  json_int_t started = 0, expires = 0;

  TS_ERR(call(a, m, "POST", "/v1/sessions", body, NULL, pool));
  if (a->status != 201)
    return NULL;
  if (json_unpack(a->body, "{s:s, s:s, s:I, s:I}", "id", &id, "token",
                  &token, "started_ms", &started, "expires_ms", &expires)) {
    json_decref(a->body);
    a->body = NULL;
    return ts_error_createf(TS_EUNAVAIL, "the license server %s port %d "
                            "answered a checkout without the session's id, "
                            "token and lease: is it of this release?",
                            m->info->host, m->info->main_port);
  }
  s->seat = apr_pstrdup(s->pool, id);
  s->seat_token = apr_pstrdup(s->pool, token);
  s->lease = apr_time_from_msec(expires - started);
  json_decref(a->body);
  a->body = NULL;
  return NULL;
}

ts_error_t *
ts_model_seat_call(ts_model_answer_t *a, ts_model_t *m, const char *method,
                   const char *seat, const char *token, apr_pool_t *pool)
{
  const char *path = strcmp(method, "DELETE") == 0
    ? apr_psprintf(pool, "/v1/sessions/%s", seat)
    : apr_psprintf(pool, "/v1/sessions/%s/heartbeat", seat);

  return call(a, m, method, path, NULL, apr_psprintf(pool, "Authorization: "
              TS_TOKEN_SCHEME " %s\r\n", token), pool);
}

/* ---- the record in INOPRJ ------------------------------------------------ */

/* DIR relative to INOPRJ when inside it. */
static const char *
relative(const char *dir, const char *inoprj, apr_pool_t *pool)
{
  char *root;
  size_t n;

  if (apr_filepath_merge(&root, NULL, inoprj, APR_FILEPATH_TRUENAME, pool))
    return dir;
  n = strlen(root);
  while (n > 1 && (root[n - 1] == '/' || root[n - 1] == '\\'))
    n--;
  if (strncmp(dir, root, n) == 0 && (dir[n] == '/' || dir[n] == '\\'))
    return dir + n + 1;
  return dir;
}

ts_error_t *
ts_model_record_write(ts_model_t *m, apr_pool_t *pool)
{
  ts_project_record_t r = { 0 };
  const char *account = ts_account_name(pool);

  r.kind = TS_PROJECT_MODELSERVER;
  r.host = m->machine;
  r.port = m->port;
  r.os = tsp_os_name();
  r.account = account ? account : "?";
  r.inohost = m->inohost;
  r.pid = tsp_pid();
  r.repository = relative(m->dir, m->info->inoprj, pool);
  r.model = m->meta->model;
  r.model_version = m->meta->version;
  r.agent = m->agent;
  TS_ERR_W(ts_project_record_write(&m->record, m->info->inoprj, &r,
                                   m->pool),
           "cannot write the model server's record in %s (INOPRJ): make "
           "sure the directory exists and this account may write it",
           m->info->inoprj);
  return NULL;
}

void
ts_model_record_remove(ts_model_t *m, apr_pool_t *pool)
{
  apr_status_t s;

  if (!m->record)
    return;
  s = apr_file_remove(m->record, pool);
  if (s && !APR_STATUS_IS_ENOENT(s)) {
    char buf[256];
    ts_log(m->log, TS_LOG_WARNING, "cannot remove the record %s: %s",
           m->record, apr_strerror(s, buf, sizeof(buf)));
  }
  m->record = NULL;
}

ts_error_t *
ts_model_check_project(const ts_server_info_t *info, apr_pool_t *pool)
{
  const char *ours = apr_psprintf(pool, "%s.%d", info->host,
                                  info->main_port);
  apr_array_header_t *records, *rejects;

  TS_ERR(ts_project_records_read(&records, &rejects, info->inoprj,
                                 TS_PROJECT_AGENT, pool, pool));
  for (int i = 0; i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    if (strcmp(r->inohost, ours) != 0)
      return ts_error_createf(TS_ECONFIG, "the project directory %s "
        "(INOPRJ) is used by the agent %s:%ld of the license server %s "
        "(record %s), and this model server belongs to %s; a project "
        "directory serves one license server: use another INOPRJ, or "
        "remove the record if that agent is gone for good "
        "(`tessera-admin doctor --fix` removes stale ones)", info->inoprj,
        r->host, r->port, r->inohost, r->path, ours);
  }
  return NULL;
}

/* ---- the bus ------------------------------------------------------------- */

/* What model-servers/<id> says: DOWN (the will) or stopped; the pid lets
 * the license server tell this process's will from an older one's. */
static char *
bus_state(ts_model_t *m, const char *state, const char *reason)
{
  json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s}", "state",
                        state, "host", m->machine, "port", m->port, "pid",
                        (json_int_t)tsp_pid(), "model", m->meta->model,
                        "version", m->meta->version, "reason", reason);
  char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  char *kept = apr_pstrdup(m->pool, text);

  free(text);
  json_decref(j);
  return kept;
}

ts_error_t *
ts_model_bus_open(ts_model_t *m, apr_pool_t *pool)
{
  ts_bus_login_t *login = apr_pcalloc(pool, sizeof(*login));

  login->username = TS_BUS_SERVER_USER;
  login->password = ts_credential_derive(m->credential, "bus", pool);
  return ts_bus_open(&m->bus, m->info->host, m->info->main_port + 1,
                     apr_psprintf(pool, "tessera-model-%s-%d", m->machine,
                                  m->port), login,
                     apr_psprintf(pool, "model-servers/%s", m->id),
                     bus_state(m, "down", "the model server's bus "
                               "connection broke"), NULL, NULL, NULL,
                     m->log, pool);
}

void
ts_model_bus_close(ts_model_t *m)
{
  if (m->bus)
    ts_bus_close(m->bus, bus_state(m, "stopped", "a clean stop"));
  m->bus = NULL;
}
