/* ts_registry.c: the registry's data and its prober (see ts_registry.h).
 *
 * One lock guards the table and the registry's pool; each entry has a
 * pool of its own, created and destroyed under the lock, so a replaced or
 * forgotten entry frees what it held. Whatever leaves the lock (for a
 * callback, a log line, an answer) is copied first. Probes run without
 * the lock: a dead host may take PROBE_TIMEOUT to say nothing.
 */
#include "ts_registry.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_httpd.h"

/* Registry entries: kept gone for this long, then forgotten. */
#define FORGET_AFTER apr_time_from_sec(3600)
#define PROBE_TIMEOUT apr_time_from_sec(2)

typedef struct entry_t {
  ts_model_server_t ms;
  apr_pool_t *pool;
} entry_t;

struct ts_registry_t {
  apr_thread_mutex_t *lock;       /* guards SERVERS, PROXIES, POOL,
                                     STOPPING */
  apr_hash_t *servers;            /* id -> entry_t */
  apr_hash_t *proxies;            /* host -> int port */
  apr_pool_t *pool;
  apr_thread_cond_t *wake;
  apr_thread_t *prober;
  int stopping;
  apr_interval_time_t probe, gone_after;
  ts_registry_change_t change;
  void *baton;
  ts_log_t *log;
  apr_pool_t *owner_pool;         /* the creator's, for the thread */
};

ts_error_t *
ts_registry_create(ts_registry_t **registry, int probe, int gone_after,
                   ts_log_t *log, ts_registry_change_t change, void *baton,
                   apr_pool_t *pool)
{
  ts_registry_t *r = apr_pcalloc(pool, sizeof(*r));

  apr_pool_create(&r->pool, pool);
  r->servers = apr_hash_make(r->pool);
  r->proxies = apr_hash_make(r->pool);
  r->probe = apr_time_from_sec(probe);
  r->gone_after = apr_time_from_sec(gone_after);
  r->change = change;
  r->baton = baton;
  r->log = log;
  r->owner_pool = pool;
  apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&r->wake, pool);
  *registry = r;
  return NULL;
}

apr_interval_time_t
ts_registry_gone_after(const ts_registry_t *r)
{
  return r->gone_after;
}

/* A copy of MS in POOL. */
static ts_model_server_t *
copy_of(const ts_model_server_t *ms, apr_pool_t *pool)
{
  ts_model_server_t *c = apr_pmemdup(pool, ms, sizeof(*ms));

  c->id = apr_pstrdup(pool, ms->id);
  c->repository = apr_pstrdup(pool, ms->repository);
  c->host = apr_pstrdup(pool, ms->host);
  c->license_server = apr_pstrdup(pool, ms->license_server);
  c->models = apr_array_make(pool, ms->models->nelts, sizeof(const char *));
  for (int i = 0; i < ms->models->nelts; i++)
    APR_ARRAY_PUSH(c->models, const char *) =
      apr_pstrdup(pool, APR_ARRAY_IDX(ms->models, i, const char *));
  c->links = apr_array_make(pool, ms->links->nelts, sizeof(const char *));
  for (int i = 0; i < ms->links->nelts; i++)
    APR_ARRAY_PUSH(c->links, const char *) =
      apr_pstrdup(pool, APR_ARRAY_IDX(ms->links, i, const char *));
  return c;
}

/* Under the lock: the entries that are up, copied into POOL. */
static apr_array_header_t *
targets_of(ts_registry_t *r, apr_pool_t *pool)
{
  apr_array_header_t *targets = apr_array_make(pool, 8,
                                               sizeof(ts_model_server_t *));

  for (apr_hash_index_t *hi = apr_hash_first(pool, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi);
    if (e->ms.up)
      APR_ARRAY_PUSH(targets, ts_model_server_t *) = copy_of(&e->ms, pool);
  }
  return targets;
}

/* Under the lock: take the probes' results in, mark the servers silent
 * for too long gone (copies of them into GONE), forget the long gone. */
static void
settle(ts_registry_t *r, const apr_array_header_t *targets,
       apr_array_header_t *gone, apr_pool_t *pool)
{
  apr_time_t now = apr_time_now();

  for (int i = 0; i < targets->nelts; i++) {
    ts_model_server_t *ms = APR_ARRAY_IDX(targets, i, ts_model_server_t *);
    entry_t *e = apr_hash_get(r->servers, ms->id, APR_HASH_KEY_STRING);
    if (!e || !e->ms.up || e->ms.registered != ms->registered)
      continue;   /* gone or registered anew meanwhile */
    if (ms->last_probe_ok)
      e->ms.last_probe_ok = ms->last_probe_ok;
    if (now - e->ms.last_heartbeat > r->gone_after
        && now - e->ms.last_probe_ok > r->gone_after) {
      e->ms.up = 0;
      APR_ARRAY_PUSH(gone, ts_model_server_t *) = copy_of(&e->ms, pool);
    }
  }
  for (apr_hash_index_t *hi = apr_hash_first(pool, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi);
    if (!e->ms.up && now - e->ms.last_heartbeat > FORGET_AFTER) {
      apr_hash_set(r->servers, e->ms.id, APR_HASH_KEY_STRING, NULL);
      apr_pool_destroy(e->pool);
    }
  }
}

/* One round: probe every model server that is up, then mark those silent
 * for too long as gone. */
static void
probe_round(ts_registry_t *r, apr_pool_t *pool)
{
  apr_array_header_t *targets, *gone = apr_array_make(pool, 2,
                                                      sizeof(void *));

  apr_thread_mutex_lock(r->lock);
  targets = targets_of(r, pool);
  apr_thread_mutex_unlock(r->lock);
  for (int i = 0; i < targets->nelts; i++) {
    ts_model_server_t *ms = APR_ARRAY_IDX(targets, i, ts_model_server_t *);
    int status = 0;
    const char *body;
    ts_error_t *err = ts_http_get(&status, &body, ms->host, ms->port,
                                  "/health", PROBE_TIMEOUT, pool);
    /* a failed probe is the finding, not an error to report */
    ms->last_probe_ok = !err && status == 200 ? apr_time_now() : 0;
    ts_error_clear(err);
  }
  apr_thread_mutex_lock(r->lock);
  settle(r, targets, gone, pool);
  apr_thread_mutex_unlock(r->lock);
  for (int i = 0; i < gone->nelts; i++) {
    ts_model_server_t *ms = APR_ARRAY_IDX(gone, i, ts_model_server_t *);
    const char *reason = apr_psprintf(pool, "no heartbeat and no answer to "
      "GET http://%s:%d/health for %" APR_TIME_T_FMT " s", ms->host,
      ms->port, apr_time_sec(r->gone_after));
    ts_log(r->log, TS_LOG_WARNING, "model server %s (repository %s) is "
           "gone: %s", ms->id, ms->repository, reason);
    r->change(r->baton, ms, 0, reason);
  }
}

static void *APR_THREAD_FUNC
prober(apr_thread_t *thread, void *data)
{
  ts_registry_t *r = data;
  apr_pool_t *pool;

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(r->lock);
  while (!r->stopping) {
    apr_thread_cond_timedwait(r->wake, r->lock, r->probe);
    if (r->stopping)
      break;
    apr_thread_mutex_unlock(r->lock);
    probe_round(r, pool);
    apr_pool_clear(pool);
    apr_thread_mutex_lock(r->lock);
  }
  apr_thread_mutex_unlock(r->lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

ts_error_t *
ts_registry_start(ts_registry_t *r)
{
  apr_status_t s = apr_thread_create(&r->prober, NULL, prober, r,
                                     r->owner_pool);

  if (s)
    return ts_error_aprf(s, "cannot start the model-server prober thread");
  return NULL;
}

void
ts_registry_stop(ts_registry_t *r)
{
  apr_status_t ignored;

  if (!r || !r->prober)
    return;
  apr_thread_mutex_lock(r->lock);
  r->stopping = 1;
  apr_thread_cond_signal(r->wake);
  apr_thread_mutex_unlock(r->lock);
  apr_thread_join(&ignored, r->prober);
  r->prober = NULL;
}

int
ts_registry_valid_name(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  if (n == 0 || n > 128)
    return 0;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789._-") == n;
}

int
ts_registry_valid_host(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  return n > 0 && n <= 253 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "abcdefghijklmnopqrstuvwxyz"
                                        "0123456789.:-") == n;
}

void
ts_registry_add(ts_registry_t *r, const ts_model_server_t *ms,
                apr_pool_t *scratch_pool)
{
  apr_pool_t *epool;
  entry_t *e, *old;
  ts_model_server_t *copy;

  apr_thread_mutex_lock(r->lock);
  apr_pool_create(&epool, r->pool);
  e = apr_pcalloc(epool, sizeof(*e));
  e->pool = epool;
  e->ms = *copy_of(ms, epool);
  e->ms.id = apr_psprintf(epool, "%s:%d", ms->host, ms->port);
  e->ms.up = 1;
  e->ms.registered = e->ms.last_heartbeat = apr_time_now();
  e->ms.last_probe_ok = 0;
  old = apr_hash_get(r->servers, e->ms.id, APR_HASH_KEY_STRING);
  /* apr_hash_set keeps an entry's first key, which lives in OLD's pool:
   * take OLD out before E goes in under its own */
  apr_hash_set(r->servers, e->ms.id, APR_HASH_KEY_STRING, NULL);
  apr_hash_set(r->servers, e->ms.id, APR_HASH_KEY_STRING, e);
  if (old)
    apr_pool_destroy(old->pool);
  copy = copy_of(&e->ms, scratch_pool);
  apr_thread_mutex_unlock(r->lock);
  ts_log(r->log, TS_LOG_INFO, "model server %s registered: repository %s, "
         "%d models, pid %ld", copy->id, copy->repository,
         copy->models->nelts, copy->pid);
  r->change(r->baton, copy, 1, "registered");
}

int
ts_registry_heartbeat(ts_registry_t *r, const char *id)
{
  entry_t *e;
  int state;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  if (e && e->ms.up)
    e->ms.last_heartbeat = apr_time_now();
  state = !e ? -1 : e->ms.up;
  apr_thread_mutex_unlock(r->lock);
  return state;
}

int
ts_registry_remove(ts_registry_t *r, const char *id,
                   apr_pool_t *scratch_pool)
{
  entry_t *e;
  ts_model_server_t *copy = NULL;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  if (e) {
    copy = e->ms.up ? copy_of(&e->ms, scratch_pool) : NULL;
    apr_hash_set(r->servers, id, APR_HASH_KEY_STRING, NULL);
    apr_pool_destroy(e->pool);
  }
  apr_thread_mutex_unlock(r->lock);
  if (copy) {
    ts_log(r->log, TS_LOG_INFO, "model server %s stopped (unregistered)",
           id);
    r->change(r->baton, copy, 0, "stopped (unregistered itself)");
  }
  return e != NULL;
}

void
ts_registry_set_proxy(ts_registry_t *r, const char *host, int port)
{
  int *p;

  apr_thread_mutex_lock(r->lock);
  p = apr_hash_get(r->proxies, host, APR_HASH_KEY_STRING);
  if (!p) {
    p = apr_palloc(r->pool, sizeof(*p));
    apr_hash_set(r->proxies, apr_pstrdup(r->pool, host),
                 APR_HASH_KEY_STRING, p);
  }
  *p = port;
  apr_thread_mutex_unlock(r->lock);
  ts_log(r->log, TS_LOG_INFO, "proxy of host %s on port %d registered",
         host, port);
}

void
ts_registry_each_name(ts_registry_t *r, ts_registry_visit_t visit,
                      void *baton)
{
  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, r->servers); hi;
       hi = apr_hash_next(hi)) {
    const ts_model_server_t *ms = &((entry_t *)apr_hash_this_val(hi))->ms;
    int done = 0;
    for (int i = 0; ms->up && !done && i < ms->models->nelts; i++) {
      const char *m = APR_ARRAY_IDX(ms->models, i, const char *);
      done = visit(baton, ms, m, m);
    }
    for (int i = 0; ms->up && !done && i + 1 < ms->links->nelts; i += 2)
      done = visit(baton, ms, APR_ARRAY_IDX(ms->links, i, const char *),
                   APR_ARRAY_IDX(ms->links, i + 1, const char *));
    if (done)
      break;
  }
  apr_thread_mutex_unlock(r->lock);
}

typedef struct found_t {
  const char *name, *model;
  const ts_model_server_t *ms;
  int proxy;
  apr_hash_t *proxies;
  apr_pool_t *pool;
} found_t;

/* The first server offering F->name: copied, with its host's proxy. */
static int
match(void *baton, const ts_model_server_t *ms, const char *name,
      const char *model)
{
  found_t *f = baton;
  int *proxy;

  if (strcmp(name, f->name) != 0)
    return 0;
  f->ms = copy_of(ms, f->pool);
  f->model = apr_pstrdup(f->pool, model);
  proxy = apr_hash_get(f->proxies, ms->host, APR_HASH_KEY_STRING);
  f->proxy = proxy ? *proxy : 0;
  return 1;
}

int
ts_registry_find(const ts_model_server_t **ms, const char **model,
                 int *proxy, ts_registry_t *r, const char *name,
                 apr_pool_t *pool)
{
  found_t f = { name, NULL, NULL, 0, r->proxies, pool };

  ts_registry_each_name(r, match, &f);
  *ms = f.ms;
  *model = f.model;
  *proxy = f.proxy;
  return f.ms != NULL;
}

int
ts_registry_is_up(ts_registry_t *r, const char *id)
{
  entry_t *e;
  int up;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  up = e && e->ms.up;
  apr_thread_mutex_unlock(r->lock);
  return up;
}

void
ts_registry_counts(ts_registry_t *r, int *up, int *gone, int *proxies)
{
  *up = *gone = 0;
  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi);
    if (e->ms.up)
      (*up)++;
    else
      (*gone)++;
  }
  *proxies = (int)apr_hash_count(r->proxies);
  apr_thread_mutex_unlock(r->lock);
}

static json_t *
strings_json(const apr_array_header_t *a)
{
  json_t *arr = json_array();

  for (int i = 0; i < a->nelts; i++)
    json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i,
                                                         const char *)));
  return arr;
}

static json_t *
server_json(const ts_model_server_t *ms)
{
  json_t *links = json_object();

  for (int i = 0; i + 1 < ms->links->nelts; i += 2)
    json_object_set_new(links, APR_ARRAY_IDX(ms->links, i, const char *),
                        json_string(APR_ARRAY_IDX(ms->links, i + 1,
                                                  const char *)));
  return json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:o, s:o, s:s, s:I, s:I}",
                   "id", ms->id, "repository", ms->repository, "host",
                   ms->host, "port", ms->port, "pid", (json_int_t)ms->pid,
                   "license_server", ms->license_server, "models",
                   strings_json(ms->models), "links", links, "state",
                   ms->up ? "up" : "gone", "registered_ms",
                   (json_int_t)apr_time_as_msec(ms->registered),
                   "last_heartbeat_ms",
                   (json_int_t)apr_time_as_msec(ms->last_heartbeat));
}

json_t *
ts_registry_servers_json(ts_registry_t *r)
{
  json_t *arr = json_array();

  /* json_pack copies every string: nothing of an entry leaves the lock */
  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, r->servers); hi;
       hi = apr_hash_next(hi))
    json_array_append_new(arr, server_json(&((entry_t *)
                                             apr_hash_this_val(hi))->ms));
  apr_thread_mutex_unlock(r->lock);
  return arr;
}
