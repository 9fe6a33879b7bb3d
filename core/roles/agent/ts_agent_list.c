/* ts_agent_list.c: every version of the project and where it runs, as
 * every agent sharing the project shows it: the versions on disk
 * (ts_models.h); for each, what this agent knows of it (it runs it, or
 * saw it crash), else its run lock (another agent runs it: that agent is
 * asked for the details, once per listing), else "stopped". */
#include "ts_agent.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

#define ASK_TIMEOUT apr_time_from_sec(2)

/* What this agent knows of V (A's lock held): J without the users, and
 * *PID the model server to ask for them (0: none). */
static json_t *
own(ts_agent_t *a, const ts_agent_version_t *v, long *pid)
{
  *pid = v->pid && strcmp(v->state, "running") == 0 ? v->pid : 0;
  return json_pack("{s:s, s:s, s:b, s:s, s:s, s:i, s:I, s:s, s:n, s:I, "
                   "s:s?}", "model", v->model, "version", v->version,
                   "read_only", v->read_only, "state", v->state, "host",
                   a->host, "port", v->port, "pid", (json_int_t)v->pid,
                   "agent", a->id, "users", "since",
                   (json_int_t)apr_time_sec(v->since), "reason", v->reason);
}

/* The users of the model server PID into J, asked over the control
 * channel (without A's lock: it may take a while). */
static void
add_users(json_t *j, ts_agent_t *a, long pid, apr_pool_t *pool)
{
  const char *reply = NULL;
  json_t *status;
  ts_error_t *err;

  if (!pid)
    return;
  err = ts_agent_ask(&reply, a, pid, "status", pool);
  if (err) {
    ts_error_clear(err);
    return;
  }
  status = json_loads(reply, 0, NULL);
  if (json_object_get(status, "users"))
    json_object_set(j, "users", json_object_get(status, "users"));
  json_decref(status);
}

/* Whether J's KEY is the string VALUE. */
static int
is_text(json_t *j, const char *key, const char *value)
{
  const char *s = json_string_value(json_object_get(j, key));

  return s && strcmp(s, value) == 0;
}

/* What the run lock of VERSION says, with what its agent says when it
 * answers (AGENTS caches each agent's listing for one listing). Any
 * process may have written either: a value that is missing or of the
 * wrong type counts as none. */
static json_t *
elsewhere(json_t *lock, const ts_version_t *ver, apr_hash_t *agents,
          apr_pool_t *pool)
{
  const char *host = json_string_value(json_object_get(lock, "host"));
  int agent_port = (int)json_integer_value(json_object_get(lock,
                                                           "agent_port"));
  const char *id = apr_psprintf(pool, "%s:%d", host, agent_port);
  json_t *theirs = apr_hash_get(agents, id, APR_HASH_KEY_STRING), *v;
  json_int_t port;
  size_t i;

  if (!theirs) {
    const char *body;
    int status = 0;
    ts_error_t *err = ts_http_get(&status, &body, host, agent_port,
                                  "/v1/versions?local=1", ASK_TIMEOUT, pool);
    theirs = !err && status == 200 ? json_loads(body, 0, NULL) : NULL;
    if (!theirs)
      theirs = json_object();
    ts_error_clear(err);
    apr_hash_set(agents, id, APR_HASH_KEY_STRING, theirs);
  }
  json_array_foreach(json_object_get(theirs, "versions"), i, v)
    if (is_text(v, "model", ver->model) && is_text(v, "version", ver->version)
        && json_is_true(json_object_get(v, "read_only")) == ver->read_only)
      return json_incref(v);
  port = json_integer_value(json_object_get(lock, "port"));
  return json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:I, s:s, s:n, s:I}",
                   "model", ver->model, "version", ver->version, "read_only",
                   ver->read_only, "state", port ? "running" : "starting",
                   "host", host, "port", port, "pid",
                   json_integer_value(json_object_get(lock, "pid")), "agent",
                   id, "users", "since",
                   json_integer_value(json_object_get(lock, "since")));
}

static json_t *
entry(ts_agent_t *a, const ts_version_t *ver, int local, apr_hash_t *agents,
      apr_pool_t *pool)
{
  ts_agent_version_t *v;
  json_t *lock, *j = NULL;

  long pid = 0;

  apr_thread_mutex_lock(a->lock);
  v = ts_agent_find(a, ver->model, ver->version, ver->read_only);
  if (v)
    j = own(a, v, &pid);
  apr_thread_mutex_unlock(a->lock);
  if (j)
    add_users(j, a, pid, pool);
  if (j || local)
    return j;
  lock = ts_agent_lock_read(ver->dir, pool);
  /* a lock that names no host is torn: its take removes it (stale) */
  if (json_is_string(json_object_get(lock, "host")))
    j = elsewhere(lock, ver, agents, pool);
  else
    j = json_pack("{s:s, s:s, s:b, s:s}", "model", ver->model, "version",
                  ver->version, "read_only", ver->read_only, "state",
                  "stopped");
  json_decref(lock);
  return j;
}

json_t *
ts_agent_listing(ts_agent_t *a, int local, apr_pool_t *pool)
{
  apr_array_header_t *all;
  apr_hash_t *agents = apr_hash_make(pool);
  json_t *list = json_array();
  ts_error_t *err = ts_versions_list(&all, a->inoprj, pool);

  if (err) {
    ts_log_error(a->log, TS_LOG_WARNING, err, "listing the versions");
    ts_error_clear(err);
    all = apr_array_make(pool, 0, sizeof(ts_version_t));
  }
  for (int i = 0; i < all->nelts; i++) {
    json_t *j = entry(a, &APR_ARRAY_IDX(all, i, ts_version_t), local, agents,
                      pool);
    if (j)
      json_array_append_new(list, j);
  }
  for (apr_hash_index_t *hi = apr_hash_first(pool, agents); hi;
       hi = apr_hash_next(hi))
    json_decref(apr_hash_this_val(hi));
  return json_pack("{s:s, s:o}", "agent", a->id, "versions", list);
}

json_t *
ts_agent_listing_one(ts_agent_t *a, const char *model, const char *version,
                     int read_only, apr_pool_t *pool)
{
  ts_version_t ver = { model, version, NULL, read_only };
  apr_hash_t *agents = apr_hash_make(pool);
  json_t *j;

  if (!ts_models_valid_name(model) || !ts_models_valid_name(version)
      || !ts_version_exists(a->inoprj, model, version, read_only, pool))
    return NULL;
  ver.dir = ts_version_dir(a->inoprj, model, version, read_only, pool);
  j = entry(a, &ver, 0, agents, pool);
  for (apr_hash_index_t *hi = apr_hash_first(pool, agents); hi;
       hi = apr_hash_next(hi))
    json_decref(apr_hash_this_val(hi));
  return j;
}

ts_error_t *
ts_agent_stop_anywhere(ts_http_reply_t *reply, ts_agent_t *a,
                       const char *model, const char *version, int read_only,
                       const ts_http_request_t *req, apr_pool_t *pool)
{
  json_t *v = ts_agent_listing_one(a, model, version, read_only, pool);
  const char *agent = json_string_value(json_object_get(v, "agent"));
  const char *state = json_string_value(json_object_get(v, "state"));
  const char *host = json_string_value(json_object_get(v, "host"));
  const char *colon = agent ? strrchr(agent, ':') : NULL;
  const char *body;
  int status = 0;
  ts_error_t *err;

  if (!v)
    return ts_error_createf(TS_ENOENT, "there is no %s %s of the model %s",
                            read_only ? "backup" : "version", version, model);
  if (!agent || strcmp(state, "stopped") == 0) {
    json_decref(v);
    return ts_error_createf(TS_EINVAL, "%s/%s does not run", model,
                            version);
  }
  if (strcmp(agent, a->id) == 0) {
    json_decref(v);
    return ts_agent_stop(a, model, version, read_only, pool);
  }
  /* the agent that runs it stops it; the credential proves who asks */
  err = ts_http_call(&status, &body, host, atoi(colon + 1), "POST",
                     apr_psprintf(pool, "/v1/models/%s/versions/%s/stop%s",
                                  model, version, read_only ? "?backup=1"
                                                            : ""), NULL,
                     ts_credential_header(a->cred, pool),
                     apr_time_from_sec(40), pool);
  json_decref(v);
  (void)req;
  if (err)
    return ts_error_wrapf(err, "%s/%s runs on the agent %s, which cannot be "
                          "asked to stop it", model, version, agent);
  reply->status = status;
  reply->body = body;
  return NULL;
}

ts_error_t *
ts_agent_delete(ts_agent_t *a, const char *model, const char *version,
                int read_only, apr_pool_t *pool)
{
  ts_agent_version_t *v;
  ts_error_t *err = ts_version_delete(a->inoprj, model, version, read_only,
                                      a->host, pool);

  if (err)
    return err;
  apr_thread_mutex_lock(a->lock);
  v = ts_agent_find(a, model, version, read_only);
  if (v) {
    apr_hash_set(a->versions, ts_agent_key(model, version, read_only, pool),
                 APR_HASH_KEY_STRING, NULL);
    ts_agent_state_forget(a, model, version, read_only);
    apr_pool_destroy(v->pool);
  }
  apr_thread_mutex_unlock(a->lock);
  return NULL;
}
