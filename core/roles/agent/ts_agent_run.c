/* ts_agent_run.c: the agent starts and stops the model servers of the
 * project's versions (`tesserad model <repository>`), as supervised
 * children (ts_proc): a model server ends with its agent; one that
 * crashes is reported (log, bus, listing) and started again only when
 * its managed model asks for it. Quotas are checked at the start: the
 * repository's size against the disk quota, and the memory quota becomes
 * the model server's limit (ts_proc_spec_t.memory_limit). */
#include "ts_agent.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_project_records.h"
#include "tsp.h"

/* How long a model server has to come up, and to stop cleanly. */
#define READY_WAIT apr_time_from_sec(30)

const char *
ts_agent_key(const char *model, const char *version, int read_only,
             apr_pool_t *pool)
{
  return apr_pstrcat(pool, read_only ? "readonly:" : "", model, "/", version,
                     NULL);
}

ts_agent_version_t *
ts_agent_find(ts_agent_t *a, const char *model, const char *version,
              int read_only)
{
  char key[300];

  apr_snprintf(key, sizeof(key), "%s%s/%s", read_only ? "readonly:" : "",
               model, version);
  return apr_hash_get(a->versions, key, APR_HASH_KEY_STRING);
}

/* Set V's state (A's lock held), save it and say it. */
static void
set_state(ts_agent_version_t *v, const char *state, const char *reason)
{
  v->state = state;
  v->reason = reason ? apr_pstrdup(v->pool, reason) : NULL;
  v->since = apr_time_now();
  ts_agent_state_save(v->agent, v);
  ts_agent_say(v->agent, v);
}

/* ts_proc_spec_t.ready: the model server wrote its record (it listens
 * then), which says its port. */
static int
ready(void *baton, apr_pool_t *scratch)
{
  ts_agent_version_t *v = baton;
  ts_agent_t *a = v->agent;
  apr_array_header_t *records, *rejects;
  ts_error_t *err = ts_project_records_read(&records, &rejects, a->inoprj,
                                            TS_PROJECT_MODELSERVER, scratch,
                                            scratch);

  if (err) {
    ts_error_clear(err);
    return 0;
  }
  for (int i = 0; i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    if (r->repository && strcmp(r->host, a->host) == 0
        && strcmp(ts_path_join(a->inoprj, r->repository, scratch), v->dir)
           == 0 && tsp_process_alive(r->pid)) {
      v->port = (int)r->port;
      return 1;
    }
  }
  return 0;
}

/* ts_proc_spec_t.ended: the model server ended on its own (a stop by the
 * agent quiesces first, and ts_proc says nothing then). */
static void
ended(void *baton, const char *how, int status, int signalled)
{
  ts_agent_version_t *v = baton;
  ts_agent_t *a = v->agent;
  ts_model_def_t *def = NULL;
  apr_pool_t *scratch;
  ts_error_t *err;

  apr_pool_create(&scratch, NULL);
  apr_thread_mutex_lock(a->lock);
  if (strcmp(v->state, "stopping") == 0 || a->stopping) {
    apr_thread_mutex_unlock(a->lock);
    apr_pool_destroy(scratch);
    return;
  }
  err = ts_model_read(&def, a->inoprj, v->model, scratch);
  ts_error_clear(err);
  /* a model server that was killed leaves its record */
  if (v->port)
    tsp_sys.file_remove(ts_path_join(a->inoprj, apr_psprintf(scratch,
                        "ivm/modelservers/%s.%d.json", a->host, v->port),
                        scratch), scratch);
  set_state(v, def && def->restart ? "starting" : "crashed",
            apr_psprintf(scratch, "its model server (pid %ld) %s%s", v->pid,
                         how, status == 0 && !signalled ? ""
                         : "; its log is srv.log in the repository"));
  if (!def || !def->restart)
    ts_agent_lock_release(a, v->dir, scratch);
  apr_thread_mutex_unlock(a->lock);
  ts_log(a->log, TS_LOG_WARNING, "%s/%s: %s%s", v->model, v->version,
         v->reason, def && def->restart ? "; starting it again (its model "
         "asks for it)" : "; not started again (its model does not ask for "
         "it)");
  apr_pool_destroy(scratch);
}

/* ts_proc_spec_t.restarted: the supervisor started the model server
 * again (its model asks for it); ready() has set its port. */
static void
restarted(void *baton, long pid)
{
  ts_agent_version_t *v = baton;
  ts_agent_t *a = v->agent;
  apr_pool_t *scratch;

  apr_pool_create(&scratch, NULL);
  apr_thread_mutex_lock(a->lock);
  if (strcmp(v->state, "starting") == 0) {
    v->pid = pid;
    ts_error_clear(ts_agent_lock_update(a, v->dir, v->port, pid, scratch));
    set_state(v, "running", NULL);
  }
  apr_thread_mutex_unlock(a->lock);
  ts_log(a->log, TS_LOG_INFO, "%s/%s runs again: model server pid %ld on "
         "port %d", v->model, v->version, pid, v->port);
  apr_pool_destroy(scratch);
}

/* What the managed model allows: the disk quota against the repository's
 * size. *RAM: the memory quota in MB (0: none). */
static ts_error_t *
check_quotas(long *ram, ts_agent_t *a, const ts_model_def_t *def,
             const char *version, int read_only, apr_pool_t *pool)
{
  apr_off_t bytes = 0;

  *ram = def->quota_ram_mb;
  if (!def->quota_disk_mb)
    return NULL;
  TS_ERR(ts_version_size(&bytes, a->inoprj, def->model, version, read_only,
                         pool));
  if (bytes > (apr_off_t)def->quota_disk_mb * 1024 * 1024)
    return ts_error_createf(TS_EINVAL, "%s/%s takes %ld MB on disk, over "
                            "the disk quota of %ld MB of the model %s; "
                            "raise it (`tessera-admin models define %s "
                            "--product %s --quota-disk MB`) or start a "
                            "smaller version", def->model, version,
                            (long)((bytes + 1024 * 1024 - 1) / (1024 * 1024)),
                            def->quota_disk_mb, def->model, def->model,
                            def->product);
  return NULL;
}

/* The model server's command line and environment for V. */
static void
child_spec(ts_proc_spec_t *spec, ts_agent_version_t *v,
           const ts_model_def_t *def, long ram)
{
  ts_agent_t *a = v->agent;
  const char **argv = apr_pcalloc(v->pool, 5 * sizeof(*argv));
  const char *extra[3];

  argv[0] = a->tesserad;
  argv[1] = "model";
  argv[2] = v->dir;
  extra[0] = apr_pstrcat(v->pool, "TESSERA_AGENT=", a->id, NULL);
  extra[1] = a->control ? apr_pstrcat(v->pool, "TESSERA_CONTROL=",
                                      a->control, NULL) : NULL;
  extra[2] = NULL;
  memset(spec, 0, sizeof(*spec));
  spec->name = apr_psprintf(v->pool, "the model server of %s/%s", v->model,
                            v->version);
  spec->argv = argv;
  spec->env = tsp_environment(extra, v->pool);
  spec->dir = v->dir;
  spec->logfile = ts_path_join(v->dir, "srv.log", v->pool);
  spec->owner = apr_psprintf(v->pool, "the agent on port %d", a->port);
  spec->ready = ready;
  spec->ready_baton = v;
  spec->ready_what = "serving (its record in ivm/modelservers)";
  spec->ready_wait = READY_WAIT;
  spec->ended = ended;
  spec->restarted = restarted;
  spec->ended_baton = v;
  spec->memory_limit_mb = ram;
  spec->no_restart = !def->restart;
}

/* A new entry for MODEL/VERSION (A's lock held). */
static ts_agent_version_t *
new_entry(ts_agent_t *a, const char *model, const char *version,
          int read_only)
{
  ts_agent_version_t *v = ts_agent_find(a, model, version, read_only);
  apr_pool_t *vp;

  if (v) {                     /* a crashed one: forgotten now */
    apr_hash_set(a->versions, ts_agent_key(model, version, read_only,
                                           v->pool), APR_HASH_KEY_STRING,
                 NULL);
    apr_pool_destroy(v->pool);
  }
  apr_pool_create(&vp, a->pool);
  v = apr_pcalloc(vp, sizeof(*v));
  v->agent = a;
  v->pool = vp;
  v->model = apr_pstrdup(vp, model);
  v->version = apr_pstrdup(vp, version);
  v->read_only = read_only;
  v->dir = ts_version_dir(a->inoprj, model, version, read_only, vp);
  v->state = "starting";
  apr_hash_set(a->versions, ts_agent_key(model, version, read_only, vp),
               APR_HASH_KEY_STRING, v);
  return v;
}

ts_error_t *
ts_agent_start(ts_agent_version_t **v_p, ts_agent_t *a, const char *model,
               const char *version, int read_only, apr_pool_t *pool)
{
  ts_model_def_t *def;
  ts_agent_version_t *v;
  ts_proc_spec_t spec;
  ts_proc_t *proc;
  long ram;
  ts_error_t *err;

  TS_ERR(ts_model_read(&def, a->inoprj, model, pool));
  if (!ts_version_exists(a->inoprj, model, version, read_only, pool))
    return ts_error_createf(TS_ENOENT, "there is no %s %s of the model %s; "
                            "`tessera-admin models list` shows them",
                            read_only ? "backup" : "version", version, model);
  TS_ERR(check_quotas(&ram, a, def, version, read_only, pool));
  apr_thread_mutex_lock(a->lock);
  v = ts_agent_find(a, model, version, read_only);
  if (v && strcmp(v->state, "crashed") != 0) {
    apr_thread_mutex_unlock(a->lock);
    return ts_error_createf(TS_EINVAL, "%s/%s is %s on this agent already",
                            model, version, v->state);
  }
  err = ts_agent_lock_take(a, model, version, ts_version_dir(a->inoprj,
                           model, version, read_only, pool), pool);
  if (err) {
    apr_thread_mutex_unlock(a->lock);
    return err;
  }
  v = new_entry(a, model, version, read_only);
  set_state(v, "starting", NULL);
  child_spec(&spec, v, def, ram);
  apr_thread_mutex_unlock(a->lock);
  /* no lock while it comes up: the listing shows "starting" */
  err = ts_proc_start(&proc, &spec, a->log, v->pool);
  apr_thread_mutex_lock(a->lock);
  if (err) {
    set_state(v, "crashed", ts_error_text(err, pool));
    ts_agent_lock_release(a, v->dir, pool);
  }
  else {
    v->proc = proc;
    v->pid = ts_proc_pid(proc);
    ts_error_clear(ts_agent_lock_update(a, v->dir, v->port, v->pid, pool));
    set_state(v, "running", NULL);
    ts_log(a->log, TS_LOG_INFO, "%s/%s runs: model server pid %ld on port "
           "%d", model, version, v->pid, v->port);
  }
  apr_thread_mutex_unlock(a->lock);
  *v_p = v;
  return err;
}

/* Stop V's model server and forget it (A's lock not held). */
static void
stop_one(ts_agent_t *a, ts_agent_version_t *v, apr_pool_t *pool)
{
  ts_proc_t *proc;

  apr_thread_mutex_lock(a->lock);
  proc = v->proc;
  v->proc = NULL;
  set_state(v, "stopping", NULL);
  apr_thread_mutex_unlock(a->lock);
  /* a clean stop over the control channel first (Windows has no SIGTERM
   * for a console-less child); ts_proc_stop ends it at the latest */
  if (a->control_ctl && v->pid && !ts_proc_wait_end(proc, 0)) {
    ts_error_t *err = ts_agent_ask(NULL, a, v->pid, "stop", pool);
    if (err) {
      ts_log_error(a->log, TS_LOG_WARNING, err, apr_psprintf(pool, "asking "
                   "the model server of %s/%s to stop", v->model,
                   v->version));
      ts_error_clear(err);
    }
    else
      ts_proc_wait_end(proc, apr_time_from_sec(10));
  }
  ts_proc_stop(proc);
  apr_thread_mutex_lock(a->lock);
  ts_agent_lock_release(a, v->dir, pool);
  ts_agent_state_forget(a, v->model, v->version, v->read_only);
  v->state = "stopped";
  ts_agent_say(a, v);
  apr_hash_set(a->versions, ts_agent_key(v->model, v->version, v->read_only,
                                         pool), APR_HASH_KEY_STRING, NULL);
  apr_thread_mutex_unlock(a->lock);
  ts_log(a->log, TS_LOG_INFO, "%s/%s stopped", v->model, v->version);
  apr_pool_destroy(v->pool);
}

ts_error_t *
ts_agent_stop(ts_agent_t *a, const char *model, const char *version,
              int read_only, apr_pool_t *pool)
{
  ts_agent_version_t *v;

  apr_thread_mutex_lock(a->lock);
  v = ts_agent_find(a, model, version, read_only);
  if (v && strcmp(v->state, "running") != 0
      && strcmp(v->state, "crashed") != 0) {
    apr_thread_mutex_unlock(a->lock);
    return ts_error_createf(TS_EINVAL, "%s/%s is %s; try again in a moment",
                            model, version, v->state);
  }
  apr_thread_mutex_unlock(a->lock);
  if (!v)
    return ts_error_createf(TS_ENOENT, "%s/%s does not run on this agent",
                            model, version);
  stop_one(a, v, pool);
  return NULL;
}

void
ts_agent_stop_all(ts_agent_t *a)
{
  apr_pool_t *pool;
  apr_array_header_t *all;

  apr_pool_create(&pool, NULL);
  all = apr_array_make(pool, 16, sizeof(ts_agent_version_t *));
  apr_thread_mutex_lock(a->lock);
  a->stopping = 1;
  for (apr_hash_index_t *hi = apr_hash_first(pool, a->versions); hi;
       hi = apr_hash_next(hi)) {
    ts_agent_version_t *v = apr_hash_this_val(hi);
    if (v->proc)
      APR_ARRAY_PUSH(all, ts_agent_version_t *) = v;
  }
  apr_thread_mutex_unlock(a->lock);
  for (int i = 0; i < all->nelts; i++)
    stop_one(a, APR_ARRAY_IDX(all, i, ts_agent_version_t *), pool);
  apr_pool_destroy(pool);
}
