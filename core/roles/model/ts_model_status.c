/* ts_model_status.c: what the model server says of itself: its families
 * on /metrics (the names are an interface: dashboards use them), GET
 * /v1/repository (which version it serves, for anyone), and the answers
 * on the agent's control channel (contracts: "stop", "status",
 * "reload"). */
#include "ts_model.h"

#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_strings.h>

#include "ts_control.h"
#include "tsp.h"

typedef struct figures_t {
  long sessions, reservations;
  apr_uint64_t reads, writes, conflicts, locked;
  apr_uint64_t opened, ended_idle, ended_closed, ended_lost;
} figures_t;

static void
figures(figures_t *f, ts_model_t *m)
{
  apr_thread_mutex_lock(m->lock);
  f->sessions = (long)apr_hash_count(m->sessions);
  f->reservations = (long)apr_hash_count(m->reserved);
  f->reads = m->reads;
  f->writes = m->writes;
  f->conflicts = m->conflicts;
  f->locked = m->locked;
  f->opened = m->opened;
  f->ended_idle = m->ended_idle;
  f->ended_closed = m->ended_closed;
  f->ended_lost = m->ended_lost;
  apr_thread_mutex_unlock(m->lock);
}

static void
counter(ts_prom_t *prom, const char *name, const char *help,
        apr_uint64_t value)
{
  ts_prom_family(prom, name, "counter", help);
  ts_prom_int(prom, name, NULL, (apr_int64_t)value);
}

void
ts_model_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  ts_model_t *m = baton;
  apr_uint64_t commits, ops, failed;
  figures_t f;

  (void)pool;
  figures(&f, m);
  ts_elements_stats(&commits, &ops, &failed, m->els);
  ts_prom_family(prom, "tessera_model_sessions", "gauge",
                 "Sessions open, each holding a seat");
  ts_prom_int(prom, "tessera_model_sessions", NULL, f.sessions);
  ts_prom_family(prom, "tessera_model_elements", "gauge",
                 "Elements in the repository");
  ts_prom_int(prom, "tessera_model_elements", NULL,
              ts_elements_count(m->els));
  ts_prom_family(prom, "tessera_model_reservations", "gauge",
                 "Elements reserved by a session");
  ts_prom_int(prom, "tessera_model_reservations", NULL, f.reservations);
  counter(prom, "tessera_model_reads_total", "Element reads answered "
          "(one per request)", f.reads);
  counter(prom, "tessera_model_writes_total", "Element changes made "
          "durable", f.writes);
  counter(prom, "tessera_model_conflicts_total", "Changes refused with "
          "409 (a stale revision, a missing parent, children left)",
          f.conflicts);
  counter(prom, "tessera_model_locked_total", "Changes and reservations "
          "refused with 423 (reserved by another session)", f.locked);
  counter(prom, "tessera_model_commits_total", "Transactions committed; "
          "operations / commits is the group-commit batch", commits);
  counter(prom, "tessera_model_operations_total", "Operations the writer "
          "ran (changes and reservations)", ops);
  counter(prom, "tessera_model_failed_batches_total", "Batches whose "
          "commit failed (the disk; see the log)", failed);
  counter(prom, "tessera_model_sessions_opened_total", "Sessions opened",
          f.opened);
  ts_prom_family(prom, "tessera_model_sessions_ended_total", "counter",
                 "Sessions ended, by reason");
  ts_prom_int(prom, "tessera_model_sessions_ended_total",
              (const char *[]){ "reason", "closed", NULL },
              (apr_int64_t)f.ended_closed);
  ts_prom_int(prom, "tessera_model_sessions_ended_total",
              (const char *[]){ "reason", "idle", NULL },
              (apr_int64_t)f.ended_idle);
  ts_prom_int(prom, "tessera_model_sessions_ended_total",
              (const char *[]){ "reason", "seat_lost", NULL },
              (apr_int64_t)f.ended_lost);
}

static void
repository(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
           const char *const *args, apr_pool_t *pool)
{
  ts_model_t *m = baton;
  figures_t f;

  (void)req;
  (void)args;
  figures(&f, m);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:s, s:s, s:b, s:I, s:i, "
                     "s:s, s:i}", "model", m->meta->model, "version",
                     m->meta->version, "product", m->meta->product,
                     "read_only", m->meta->read_only, "elements",
                     (json_int_t)ts_elements_count(m->els), "sessions",
                     (int)f.sessions, "host", m->machine, "port", m->port),
                     pool);
}

const ts_route_t ts_model_status_routes[] = {
  { "GET", "/v1/repository", repository },
  { NULL, NULL, NULL }
};

/* ---- the control channel ------------------------------------------------- */

/* "status": {"state","port","pid","sessions","users":[...],"read_only"}. */
static const char *
status_json(ts_model_t *m, apr_pool_t *pool)
{
  json_t *users = json_array(), *j;
  char *text;
  const char *kept;
  int n;

  apr_thread_mutex_lock(m->lock);
  n = (int)apr_hash_count(m->sessions);
  for (apr_hash_index_t *hi = apr_hash_first(pool, m->sessions); hi;
       hi = apr_hash_next(hi)) {
    const ts_model_session_t *s = apr_hash_this_val(hi);
    json_array_append_new(users, json_string(s->user));
  }
  apr_thread_mutex_unlock(m->lock);
  j = json_pack("{s:s, s:i, s:I, s:i, s:o, s:b}", "state", "running",
                "port", m->port, "pid", (json_int_t)tsp_pid(), "sessions",
                n, "users", users, "read_only", m->meta->read_only);
  text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(j);
  kept = apr_pstrdup(pool, text ? text : "{}");
  free(text);
  return kept;
}

const char *
ts_model_control_answer(void *baton, const char *request, apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_error_t *err;

  if (strcmp(request, "status") == 0)
    return status_json(m, pool);
  if (strcmp(request, "stop") == 0) {
    ts_model_request_stop(m, "the agent asked for it on the control "
                          "channel");
    return "stopping";
  }
  if (strcmp(request, "reload") == 0) {
    err = ts_log_reopen(m->log);
    if (!err) {
      ts_log(m->log, TS_LOG_INFO, "log reopened (control channel)");
      return "reloaded";
    }
    ts_log_error(m->log, TS_LOG_ERROR, err, "reopening the log");
    ts_error_clear(err);
    return "error: the log could not be reopened; see the previous log";
  }
  return NULL;   /* the channel answers that it is not understood */
}

ts_error_t *
ts_model_control_start(ts_model_t *m, apr_pool_t *pool)
{
  char *name;

  if (apr_env_get(&name, TS_CONTROL_ENV, pool) != APR_SUCCESS || !*name)
    return NULL;
  TS_ERR_W(ts_control_serve(&m->control, name, ts_model_control_answer, m,
                            m->log, pool),
           "cannot serve the agent's control channel %s (TESSERA_CONTROL)",
           name);
  ts_log(m->log, TS_LOG_INFO, "serving the agent's control channel %s",
         name);
  return NULL;
}

void
ts_model_control_stop(ts_model_t *m)
{
  if (m->control)
    ts_control_stop(m->control);
  m->control = NULL;
}
