/* ts_registry.c: the registry's data and its prober (see ts_registry.h).
 *
 * One lock guards the table and the registry's pool; each entry has a
 * pool of its own, created and destroyed under the lock, so a replaced or
 * forgotten entry frees what it held. Whatever leaves the lock (for a
 * callback, a log line, an answer) is copied first.
 *
 * The prober thread owns a set of concurrent probes (ts_http_probe.h).
 * Each round it starts a probe for every server that is up and has none
 * under way, then judges every server by the time of its last heartbeat
 * and of its last answered probe, never waiting for a probe; results are
 * taken in as they come, between rounds too. A stop wakes it at once.
 */
#include "ts_registry.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_http_probe.h"

/* Registry entries: kept gone for this long, then forgotten. */
#define FORGET_AFTER apr_time_from_sec(3600)
/* A probe's whole time, connection included. */
#define PROBE_TIMEOUT apr_time_from_sec(2)
/* A host's addresses probed at most (each at once: "localhost" may be
 * ::1 and 127.0.0.1, and the server listen on one of them). */
#define MAX_ADDRESSES 4

typedef struct entry_t {
  ts_model_server_t ms;
  const char *addresses;          /* MS.host resolved, for the probes:
                                     up to MAX_ADDRESSES, by spaces */
  int probing;                    /* probes under way */
  apr_pool_t *pool;
} entry_t;

struct ts_registry_t {
  apr_thread_mutex_t *lock;       /* guards SERVERS, POOL, STOPPING */
  apr_hash_t *servers;            /* id -> entry_t */
  ts_services_t *services;        /* proxies, notification services */
  apr_pool_t *pool;
  apr_thread_t *prober;
  ts_http_probes_t *probes;       /* the prober thread's */
  int stopping;
  apr_interval_time_t probe, gone_after;
  ts_registry_options_t o;
  apr_pool_t *owner_pool;         /* the creator's, for the thread */
};

ts_error_t *
ts_registry_create(ts_registry_t **registry,
                   const ts_registry_options_t *o, apr_pool_t *pool)
{
  ts_registry_t *r = apr_pcalloc(pool, sizeof(*r));

  apr_pool_create(&r->pool, pool);
  r->servers = apr_hash_make(r->pool);
  r->o = *o;
  r->probe = apr_time_from_sec(o->probe);
  r->gone_after = apr_time_from_sec(o->gone_after);
  r->services = ts_services_create(o->log, r->gone_after, pool);
  r->owner_pool = pool;
  apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  *registry = r;
  return NULL;
}

const ts_registry_options_t *
ts_registry_options(const ts_registry_t *r)
{
  return &r->o;
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

/* A probe's result (the prober's thread): KEY is the server's id, TAG
 * the time it registered, so a result for an entry replaced meanwhile is
 * dropped. */
static void
probed(void *baton, const char *key, apr_int64_t tag, int status)
{
  ts_registry_t *r = baton;
  entry_t *e;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, key, APR_HASH_KEY_STRING);
  if (e && e->ms.registered == tag) {
    e->probing--;
    if (status == 200)
      e->ms.last_probe_ok = apr_time_now();
  }
  apr_thread_mutex_unlock(r->lock);
}

/* Start a probe of every server that is up and has none under way. */
static void
start_probes(ts_registry_t *r, apr_pool_t *pool)
{
  apr_array_header_t *targets = apr_array_make(pool, 8, sizeof(entry_t));

  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi), *t;
    if (!e->ms.up || e->probing)
      continue;
    t = apr_array_push(targets);
    t->ms.id = apr_pstrdup(pool, e->ms.id);
    t->ms.port = e->ms.port;
    t->ms.registered = e->ms.registered;
    t->addresses = apr_pstrdup(pool, e->addresses);
    for (const char *a = e->addresses; *a; a += strcspn(a, " "),
         a += strspn(a, " "))
      e->probing++;      /* one per address */
  }
  apr_thread_mutex_unlock(r->lock);
  for (int i = 0; i < targets->nelts; i++) {
    entry_t *t = &APR_ARRAY_IDX(targets, i, entry_t);
    char *last;
    for (char *a = apr_strtok((char *)t->addresses, " ", &last); a;
         a = apr_strtok(NULL, " ", &last)) {
      ts_error_t *err = ts_http_probes_add(r->probes, a, t->ms.port,
                                           "/health", PROBE_TIMEOUT,
                                           t->ms.id, t->ms.registered);
      if (err) {
        /* counts as an unanswered probe; the next round tries again */
        ts_log_error(r->o.log, TS_LOG_ERROR, err, "probing a model server");
        ts_error_clear(err);
        probed(r, t->ms.id, t->ms.registered, 0);
      }
    }
  }
}

/* Under the lock: mark the servers silent for too long gone (copies of
 * them into GONE), forget the long gone (their ids into FORGOTTEN),
 * retire the silent proxies (what to log of them into RETIRED). */
static void
settle(ts_registry_t *r, apr_array_header_t *gone,
       apr_array_header_t *forgotten, apr_array_header_t *retired,
       apr_pool_t *pool)
{
  apr_time_t now = apr_time_now();

  for (apr_hash_index_t *hi = apr_hash_first(pool, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi);
    if (e->ms.up && now - e->ms.last_heartbeat > r->gone_after
        && now - e->ms.last_probe_ok > r->gone_after) {
      e->ms.up = 0;
      APR_ARRAY_PUSH(gone, ts_model_server_t *) = copy_of(&e->ms, pool);
    }
    else if (!e->ms.up && now - e->ms.last_heartbeat > FORGET_AFTER) {
      APR_ARRAY_PUSH(forgotten, const char *) = apr_pstrdup(pool, e->ms.id);
      apr_hash_set(r->servers, e->ms.id, APR_HASH_KEY_STRING, NULL);
      apr_pool_destroy(e->pool);
    }
  }
  ts_services_retire(r->services, retired, pool);
}

/* One round: start the probes, judge every server, tell who is gone. */
static void
probe_round(ts_registry_t *r, apr_pool_t *pool)
{
  apr_array_header_t *gone = apr_array_make(pool, 2, sizeof(void *));
  apr_array_header_t *retired = apr_array_make(pool, 1, sizeof(void *));
  apr_array_header_t *forgotten = apr_array_make(pool, 1, sizeof(void *));

  start_probes(r, pool);
  apr_thread_mutex_lock(r->lock);
  settle(r, gone, forgotten, retired, pool);
  apr_thread_mutex_unlock(r->lock);
  for (int i = 0; i < retired->nelts; i++)
    ts_log(r->o.log, TS_LOG_WARNING, "%s",
           APR_ARRAY_IDX(retired, i, const char *));
  for (int i = 0; i < gone->nelts; i++) {
    ts_model_server_t *ms = APR_ARRAY_IDX(gone, i, ts_model_server_t *);
    const char *reason = apr_psprintf(pool, "no heartbeat and no answer to "
      "GET http://%s:%d/health for %" APR_TIME_T_FMT " s", ms->host,
      ms->port, apr_time_sec(r->gone_after));
    ts_log(r->o.log, TS_LOG_WARNING, "model server %s (repository %s) is "
           "gone: %s", ms->id, ms->repository, reason);
    r->o.change(r->o.baton, ms, 0, reason);
  }
  for (int i = 0; i < forgotten->nelts && r->o.forget; i++)
    r->o.forget(r->o.baton, APR_ARRAY_IDX(forgotten, i, const char *));
  if (r->o.tick)
    r->o.tick(r->o.baton);
}

static void *APR_THREAD_FUNC
prober(apr_thread_t *thread, void *data)
{
  ts_registry_t *r = data;
  apr_time_t next = apr_time_now() + r->probe;
  apr_pool_t *pool;
  int stopping;

  apr_pool_create(&pool, NULL);
  for (;;) {
    apr_thread_mutex_lock(r->lock);
    stopping = r->stopping;
    apr_thread_mutex_unlock(r->lock);
    if (stopping)
      break;
    if (apr_time_now() >= next) {
      apr_pool_clear(pool);
      probe_round(r, pool);
      next = apr_time_now() + r->probe;
    }
    /* results as they come, until the next round or a stop */
    ts_http_probes_run(r->probes, next - apr_time_now(), probed, r);
  }
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

ts_error_t *
ts_registry_start(ts_registry_t *r)
{
  apr_status_t s;

  TS_ERR(ts_http_probes_create(&r->probes));
  s = apr_thread_create(&r->prober, NULL, prober, r, r->owner_pool);
  if (s) {
    ts_http_probes_destroy(r->probes);
    r->probes = NULL;
    return ts_error_aprf(s, "cannot start the model-server prober thread");
  }
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
  apr_thread_mutex_unlock(r->lock);
  ts_http_probes_wake(r->probes);
  apr_thread_join(&ignored, r->prober);
  r->prober = NULL;
  ts_http_probes_destroy(r->probes);   /* abandons probes under way */
  r->probes = NULL;
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

ts_error_t *
ts_registry_add(ts_registry_t *r, const ts_model_server_t *ms,
                apr_pool_t *scratch_pool)
{
  apr_pool_t *epool;
  entry_t *e, *old;
  ts_model_server_t *copy;
  apr_sockaddr_t *sa;
  const char *addresses = "";
  char *address;
  apr_status_t s;
  int n = 0;

  /* once, here, in the registering request's thread: a name resolved in
   * the prober would hold every probe up */
  s = apr_sockaddr_info_get(&sa, ms->host, APR_UNSPEC, (apr_port_t)ms->port,
                            0, scratch_pool);
  for (; !s && sa && n < MAX_ADDRESSES; sa = sa->next)
    if (apr_sockaddr_ip_get(&address, sa) == APR_SUCCESS) {
      addresses = apr_pstrcat(scratch_pool, addresses, n ? " " : "",
                              address, NULL);
      n++;
    }
  if (!n)
    return ts_error_createf(TS_EINVAL, "the host '%s' does not resolve on "
                            "the license server's machine, so neither it "
                            "nor clients could reach the model server: "
                            "register with a name this machine resolves, "
                            "or an address", ms->host);
  apr_thread_mutex_lock(r->lock);
  apr_pool_create(&epool, r->pool);
  e = apr_pcalloc(epool, sizeof(*e));
  e->pool = epool;
  e->ms = *copy_of(ms, epool);
  e->ms.id = apr_psprintf(epool, "%s:%d", ms->host, ms->port);
  e->addresses = apr_pstrdup(epool, addresses);
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
  ts_log(r->o.log, TS_LOG_INFO, "model server %s registered: repository "
         "%s, %d model%s, pid %ld", copy->id, copy->repository,
         copy->models->nelts, copy->models->nelts == 1 ? "" : "s",
         copy->pid);
  r->o.change(r->o.baton, copy, 1, "registered");
  return NULL;
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
    ts_log(r->o.log, TS_LOG_INFO, "model server %s stopped "
           "(unregistered)", id);
    r->o.change(r->o.baton, copy, 0, "stopped (unregistered itself)");
  }
  if (e && r->o.forget)
    r->o.forget(r->o.baton, id);
  return e != NULL;
}

int
ts_registry_mark_gone(ts_registry_t *r, const char *id, long pid,
                      const char *reason, apr_pool_t *scratch_pool)
{
  entry_t *e;
  ts_model_server_t *copy = NULL;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  if (e && e->ms.up && (pid <= 0 || pid == e->ms.pid)) {
    e->ms.up = 0;
    copy = copy_of(&e->ms, scratch_pool);
  }
  apr_thread_mutex_unlock(r->lock);
  if (!copy)
    return 0;
  ts_log(r->o.log, TS_LOG_WARNING, "model server %s (repository %s, pid "
         "%ld) is gone: %s", copy->id, copy->repository, copy->pid, reason);
  r->o.change(r->o.baton, copy, 0, reason);
  return 1;
}

ts_services_t *
ts_registry_services(ts_registry_t *r)
{
  return r->services;
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
  ts_registry_t *registry;
  apr_pool_t *pool;
} found_t;

/* The first server offering F->name: copied, with its host's proxy. */
static int
match(void *baton, const ts_model_server_t *ms, const char *name,
      const char *model)
{
  found_t *f = baton;

  if (strcmp(name, f->name) != 0)
    return 0;
  f->ms = copy_of(ms, f->pool);
  f->model = apr_pstrdup(f->pool, model);
  f->proxy = ts_services_port(f->registry->services, "proxy", ms->host);
  return 1;
}

int
ts_registry_find(const ts_model_server_t **ms, const char **model,
                 int *proxy, ts_registry_t *r, const char *name,
                 apr_pool_t *pool)
{
  found_t f = { name, NULL, NULL, 0, r, pool };

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
  apr_thread_mutex_unlock(r->lock);
  *proxies = ts_services_count(r->services, "proxy");
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
