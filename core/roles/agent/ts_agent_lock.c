/* ts_agent_lock.c: a version runs at most once across every machine that
 * shares the project directory (SPEC §6a).
 *
 * The agent that starts a version first creates DIR/run.json, the run
 * lock, with a hard link from a complete temporary file: the link fails
 * when the file exists, so of two agents racing, one wins. The lock says
 * who holds it: {"version": 1, "model", "name", "host", "agent_port",
 * "agent_pid", "port", "pid", "since"}. It is removed when the version
 * stops (or crashes and is not started again).
 *
 * A lock is stale when its version cannot be running, and is then
 * removed: the model servers of an agent end with it (ts_proc), so a lock
 * whose agent has ended is stale. This machine's agent: its pid is gone.
 * Another machine's: that agent answers that the version does not run
 * there, or neither that agent nor the model server's port answers (a
 * machine that cannot be reached counts as down).
 */
#include "ts_agent.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_httpd.h"
#include "ts_text.h"
#include "tsp.h"

#define ASK_TIMEOUT apr_time_from_sec(2)

static const char *
lock_path(const char *dir, apr_pool_t *pool)
{
  return ts_path_join(dir, TS_AGENT_LOCK_FILE, pool);
}

json_t *
ts_agent_lock_read(const char *dir, apr_pool_t *pool)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, lock_path(dir, pool),
                                     pool);

  if (err) {
    ts_error_clear(err);
    return NULL;
  }
  return json_loadb(text, len, 0, NULL);
}

static const char *
lock_text(ts_agent_t *a, const char *model, const char *version, int port,
          long pid, apr_pool_t *pool)
{
  json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:I, s:i, s:I, s:I}",
                        "version", 1, "model", model, "name", version,
                        "host", a->host, "agent_port", a->port, "agent_pid",
                        (json_int_t)tsp_process_self(), "port", port, "pid",
                        (json_int_t)pid, "since",
                        (json_int_t)apr_time_sec(apr_time_now()));
  char *s = json_dumps(j, JSON_COMPACT);
  const char *text = apr_pstrcat(pool, s, "\n", NULL);

  free(s);
  json_decref(j);
  return text;
}

/* Whether the version of LOCK may run now, and if so *WHERE it runs. */
static int
still_runs(const char **where, ts_agent_t *a, json_t *lock, apr_pool_t *pool)
{
  const char *host = json_string_value(json_object_get(lock, "host"));
  const char *model = json_string_value(json_object_get(lock, "model"));
  const char *name = json_string_value(json_object_get(lock, "name"));
  int agent_port = (int)json_integer_value(json_object_get(lock,
                                                           "agent_port"));
  int port = (int)json_integer_value(json_object_get(lock, "port"));
  long agent_pid = (long)json_integer_value(json_object_get(lock,
                                                            "agent_pid"));
  const char *body;
  int status = 0, runs;
  ts_error_t *err;

  if (!host || !model || !name)
    return 0;                  /* not a lock we can read: a torn file */
  *where = apr_psprintf(pool, "on %s (agent port %d%s)", host, agent_port,
                        port ? apr_psprintf(pool, ", model server port %d",
                                            port) : "");
  if (strcmp(host, a->host) == 0)
    return tsp_process_alive(agent_pid)
           && !(agent_port == a->port && agent_pid != tsp_process_self());
  err = ts_http_get(&status, &body, host, agent_port, apr_psprintf(pool,
                    "/v1/models/%s/versions/%s?local=1", model, name),
                    ASK_TIMEOUT, pool);
  if (!err) {
    json_t *j = json_loads(body, 0, NULL);
    const char *state = json_string_value(json_object_get(j, "state"));
    runs = status == 200 && state && (strcmp(state, "running") == 0
                                      || strcmp(state, "starting") == 0
                                      || strcmp(state, "stopping") == 0);
    json_decref(j);
    return runs;
  }
  ts_error_clear(err);
  if (!port)
    return 0;
  /* the agent does not answer: does its model server? */
  err = ts_http_get(&status, &body, host, port, "/health", ASK_TIMEOUT,
                    pool);
  runs = !err;
  ts_error_clear(err);
  return runs;
}

/* Remove the stale lock PATH, unless it changed since it was judged (its
 * text was TEXT). */
static void
remove_stale(ts_agent_t *a, const char *path, const char *text,
             apr_pool_t *pool)
{
  const char *now;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&now, &len, path, pool);

  if (!err && strcmp(now, text) == 0) {
    tsp_sys.file_remove(path, pool);
    ts_log(a->log, TS_LOG_WARNING, "removed the run lock %s: %s", path,
           ts_log_quote(text, 512, pool));
  }
  ts_error_clear(err);
}

/* Create the lock at PATH from TEXT, exclusively: 1 done, 0 it exists. */
static ts_error_t *
create_exclusive(int *made, const char *path, const char *dir,
                 const char *text, apr_pool_t *pool)
{
  const char *r, *tmp;
  apr_status_t s;

  ts_error_clear(ts_random_hex(&r, 4, pool));
  tmp = ts_path_join(dir, apr_pstrcat(pool, ".run.json.", r, NULL), pool);
  TS_ERR(ts_file_replace(tmp, text, strlen(text), TS_FPROT_FILE, pool));
  s = apr_file_link(tmp, path);
  tsp_sys.file_remove(tmp, pool);
  *made = s == APR_SUCCESS;
  if (s && !APR_STATUS_IS_EEXIST(s))
    return ts_error_aprf(s, "cannot create the run lock %s", path);
  return NULL;
}

ts_error_t *
ts_agent_lock_take(ts_agent_t *a, const char *model, const char *version,
                   const char *dir, apr_pool_t *pool)
{
  const char *path = lock_path(dir, pool);
  const char *text = lock_text(a, model, version, 0, 0, pool);

  for (int attempt = 0; attempt < 3; attempt++) {
    const char *held, *where = "";
    apr_size_t len;
    json_t *lock;
    int made, runs;
    ts_error_t *err;

    TS_ERR(create_exclusive(&made, path, dir, text, pool));
    if (made)
      return NULL;
    err = ts_file_read_all(&held, &len, path, pool);
    if (err) {                 /* removed meanwhile: try again */
      ts_error_clear(err);
      continue;
    }
    lock = json_loadb(held, len, 0, NULL);
    runs = lock && still_runs(&where, a, lock, pool);
    json_decref(lock);
    if (runs)
      return ts_error_createf(TS_EINVAL, "%s/%s runs already %s; a version "
                              "runs at most once: stop it there first "
                              "(`tessera-admin models stop %s/%s`)", model,
                              version, where, model, version);
    remove_stale(a, path, held, pool);
  }
  return ts_error_createf(TS_EUNAVAIL, "cannot take the run lock %s: it "
                          "keeps changing (another agent starts %s/%s at "
                          "this moment?); try again", path, model, version);
}

ts_error_t *
ts_agent_lock_update(ts_agent_t *a, const char *dir, int port, long pid,
                     apr_pool_t *pool)
{
  json_t *lock = ts_agent_lock_read(dir, pool);
  const char *model = json_string_value(json_object_get(lock, "model"));
  const char *name = json_string_value(json_object_get(lock, "name"));
  const char *text = model && name ? lock_text(a, model, name, port, pid,
                                               pool) : NULL;

  json_decref(lock);
  if (!text)
    return ts_error_createf(TS_EIO, "the run lock %s is gone or torn",
                            lock_path(dir, pool));
  return ts_file_replace(lock_path(dir, pool), text, strlen(text),
                         TS_FPROT_FILE, pool);
}

void
ts_agent_lock_release(ts_agent_t *a, const char *dir, apr_pool_t *pool)
{
  json_t *lock = ts_agent_lock_read(dir, pool);
  const char *host = json_string_value(json_object_get(lock, "host"));
  int port = (int)json_integer_value(json_object_get(lock, "agent_port"));

  if (host && strcmp(host, a->host) == 0 && port == a->port)
    tsp_sys.file_remove(lock_path(dir, pool), pool);
  json_decref(lock);
}
