/* ts_registry.c: model servers, proxies, brokering and the hub (see
 * ts_registry.h). */
#include "ts_registry.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

/* Registry entries: kept gone for this long, then forgotten. */
#define FORGET_AFTER apr_time_from_sec(3600)
#define PROBE_TIMEOUT apr_time_from_sec(2)

typedef struct entry_t {
  ts_model_server_t ms;
  apr_pool_t *pool;
} entry_t;

struct ts_registry_t {
  apr_hash_t *servers;            /* id -> entry_t */
  apr_hash_t *proxies;            /* host -> int port (in POOL) */
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *wake;
  apr_thread_t *prober;
  int stopping;
  apr_interval_time_t probe, gone_after;
  ts_registry_change_t change;
  void *baton;
  ts_log_t *log;
  apr_pool_t *pool;
};

ts_error_t *
ts_registry_create(ts_registry_t **registry, int probe, int gone_after,
                   ts_log_t *log, ts_registry_change_t change, void *baton,
                   apr_pool_t *pool)
{
  ts_registry_t *r = apr_pcalloc(pool, sizeof(*r));

  r->servers = apr_hash_make(pool);
  r->proxies = apr_hash_make(pool);
  r->probe = apr_time_from_sec(probe);
  r->gone_after = apr_time_from_sec(gone_after);
  r->change = change;
  r->baton = baton;
  r->log = log;
  r->pool = pool;
  apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&r->wake, pool);
  *registry = r;
  return NULL;
}

/* A copy of MS in POOL, for callbacks outside the lock. */
static ts_model_server_t *
copy_of(const ts_model_server_t *ms, apr_pool_t *pool)
{
  ts_model_server_t *c = apr_pmemdup(pool, ms, sizeof(*ms));

  c->id = apr_pstrdup(pool, ms->id);
  c->repository = apr_pstrdup(pool, ms->repository);
  c->host = apr_pstrdup(pool, ms->host);
  c->license_server = apr_pstrdup(pool, ms->license_server);
  c->models = apr_array_copy(pool, ms->models);
  c->links = apr_array_copy(pool, ms->links);
  return c;
}

/* One round: probe every model server that is up, then mark those silent
 * for too long as gone. */
static void
probe_round(ts_registry_t *r, apr_pool_t *pool)
{
  apr_array_header_t *targets = apr_array_make(pool, 8,
                                               sizeof(ts_model_server_t *));
  apr_array_header_t *gone = apr_array_make(pool, 2,
                                            sizeof(ts_model_server_t *));
  apr_time_t now;

  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, r->servers); hi;
       hi = apr_hash_next(hi)) {
    entry_t *e = apr_hash_this_val(hi);
    if (e->ms.up)
      APR_ARRAY_PUSH(targets, ts_model_server_t *) = copy_of(&e->ms, pool);
  }
  apr_thread_mutex_unlock(r->lock);
  /* probes run without the lock: a dead host may take PROBE_TIMEOUT */
  for (int i = 0; i < targets->nelts; i++) {
    ts_model_server_t *ms = APR_ARRAY_IDX(targets, i, ts_model_server_t *);
    int status = 0;
    const char *body;
    ts_error_t *err = ts_http_get(&status, &body, ms->host, ms->port,
                                  "/health", PROBE_TIMEOUT, pool);
    ms->last_probe_ok = !err && status == 200 ? apr_time_now() : 0;
    ts_error_clear(err);
  }
  now = apr_time_now();
  apr_thread_mutex_lock(r->lock);
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
  apr_status_t s = apr_thread_create(&r->prober, NULL, prober, r, r->pool);

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

static json_t *
servers_json(ts_registry_t *r)
{
  json_t *arr = json_array();

  apr_thread_mutex_lock(r->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, r->servers); hi;
       hi = apr_hash_next(hi))
    json_array_append_new(arr, server_json(&((entry_t *)
                                             apr_hash_this_val(hi))->ms));
  apr_thread_mutex_unlock(r->lock);
  return arr;
}

const char *
ts_registry_json(ts_registry_t *r, apr_pool_t *pool)
{
  json_t *arr = servers_json(r);
  char *text = json_dumps(arr, JSON_COMPACT);
  const char *out = apr_pstrdup(pool, text ? text : "[]");

  free(text);
  json_decref(arr);
  return out;
}

/* Names of repositories, models and links: what fits in a URL path
 * segment and a bus topic level. */
static int
valid_name(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  if (n == 0 || n > 128)
    return 0;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789._-") == n;
}

static int
valid_host(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  return n > 0 && n <= 253 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "abcdefghijklmnopqrstuvwxyz"
                                        "0123456789.:-") == n;
}

static void
do_register(ts_http_reply_t *reply, ts_registry_t *r,
            const ts_http_request_t *req, apr_pool_t *pool)
{
  json_t *j, *models = NULL, *links = NULL, *v;
  json_error_t jerr;
  const char *repo = NULL, *host = NULL, *ls = NULL, *key;
  json_int_t port = 0, pid = 0;
  apr_pool_t *epool;
  entry_t *e, *old;
  size_t i;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:o, s?o, s:s, s:I, "
                     "s:I, s:s}", "repository", &repo, "models", &models,
                     "links", &links, "host", &host, "port", &port, "pid",
                     &pid, "license_server", &ls)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, "the body must be "
      "{\"repository\", \"models\": [...], \"links\": {link: model} "
      "(optional), \"host\", \"port\", \"pid\", \"license_server\"}: %s",
      jerr.text), pool);
    json_decref(j);
    return;
  }
  if (!valid_name(repo) || !valid_host(host) || port < 1 || port > 65535
      || !json_is_array(models) || json_array_size(models) == 0
      || (links && !json_is_object(links))) {
    ts_http_reply_error(reply, 400, "invalid registration: repository and "
      "model names are 1..128 of A-Z a-z 0-9 . _ -, host a name or address,"
      " port 1..65535, models a non-empty array, links an object", pool);
    json_decref(j);
    return;
  }
  apr_pool_create(&epool, r->pool);
  e = apr_pcalloc(epool, sizeof(*e));
  e->pool = epool;
  e->ms.repository = apr_pstrdup(epool, repo);
  e->ms.host = apr_pstrdup(epool, host);
  e->ms.license_server = apr_pstrdup(epool, ls);
  e->ms.port = (int)port;
  e->ms.pid = (long)pid;
  e->ms.id = apr_psprintf(epool, "%s:%d", host, (int)port);
  e->ms.models = apr_array_make(epool, 4, sizeof(const char *));
  e->ms.links = apr_array_make(epool, 4, sizeof(const char *));
  json_array_foreach(models, i, v) {
    if (!valid_name(json_string_value(v))) {
      ts_http_reply_error(reply, 400, apr_psprintf(pool, "models[%d] is not "
                          "a valid model name (1..128 of A-Z a-z 0-9 . _ -)",
                          (int)i), pool);
      apr_pool_destroy(epool);
      json_decref(j);
      return;
    }
    APR_ARRAY_PUSH(e->ms.models, const char *) =
      apr_pstrdup(epool, json_string_value(v));
  }
  if (links)
    json_object_foreach(links, key, v) {
      int known = 0;
      for (int k = 0; k < e->ms.models->nelts; k++)
        known |= json_is_string(v) && strcmp(APR_ARRAY_IDX(e->ms.models, k,
                   const char *), json_string_value(v)) == 0;
      if (!valid_name(key) || !known) {
        ts_http_reply_error(reply, 400, apr_psprintf(pool, "the link '%s' "
                            "must name one of this server's models",
                            valid_name(key) ? key : "(invalid)"), pool);
        apr_pool_destroy(epool);
        json_decref(j);
        return;
      }
      APR_ARRAY_PUSH(e->ms.links, const char *) = apr_pstrdup(epool, key);
      APR_ARRAY_PUSH(e->ms.links, const char *) =
        apr_pstrdup(epool, json_string_value(v));
    }
  json_decref(j);
  e->ms.up = 1;
  e->ms.registered = e->ms.last_heartbeat = apr_time_now();
  apr_thread_mutex_lock(r->lock);
  old = apr_hash_get(r->servers, e->ms.id, APR_HASH_KEY_STRING);
  apr_hash_set(r->servers, e->ms.id, APR_HASH_KEY_STRING, e);
  apr_thread_mutex_unlock(r->lock);
  if (old)
    apr_pool_destroy(old->pool);
  ts_log(r->log, TS_LOG_INFO, "model server %s registered: repository %s, "
         "%d models, pid %ld", e->ms.id, e->ms.repository,
         e->ms.models->nelts, e->ms.pid);
  r->change(r->baton, copy_of(&e->ms, pool), 1, "registered");
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:I, s:I}", "id",
                     e->ms.id, "heartbeat_seconds",
                     (json_int_t)apr_time_sec(r->gone_after) / 3,
                     "gone_after_seconds",
                     (json_int_t)apr_time_sec(r->gone_after)), pool);
}

static void
heartbeat(ts_http_reply_t *reply, ts_registry_t *r, const char *id,
          apr_pool_t *pool)
{
  entry_t *e;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  if (e && e->ms.up)
    e->ms.last_heartbeat = apr_time_now();
  apr_thread_mutex_unlock(r->lock);
  if (e && e->ms.up)
    ts_http_reply_json(reply, 200, json_pack("{s:s, s:s}", "id", id,
                                             "state", "up"), pool);
  else
    ts_http_reply_error(reply, 404, apr_psprintf(pool, "model server %s is "
                        "%s: register again with POST /v1/model-servers", id,
                        e ? "marked gone" : "not registered"), pool);
}

static void
unregister(ts_http_reply_t *reply, ts_registry_t *r, const char *id,
           apr_pool_t *pool)
{
  entry_t *e;
  ts_model_server_t *copy = NULL;

  apr_thread_mutex_lock(r->lock);
  e = apr_hash_get(r->servers, id, APR_HASH_KEY_STRING);
  if (e) {
    copy = e->ms.up ? copy_of(&e->ms, pool) : NULL;
    apr_hash_set(r->servers, id, APR_HASH_KEY_STRING, NULL);
    apr_pool_destroy(e->pool);
  }
  apr_thread_mutex_unlock(r->lock);
  if (!e) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, "model server %s is "
                        "not registered", id), pool);
    return;
  }
  if (copy) {
    ts_log(r->log, TS_LOG_INFO, "model server %s stopped (unregistered)",
           id);
    r->change(r->baton, copy, 0, "stopped (unregistered itself)");
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", id,
                                           "unregistered", 1), pool);
}

static void
add_proxy(ts_http_reply_t *reply, ts_registry_t *r,
          const ts_http_request_t *req, apr_pool_t *pool)
{
  json_t *j;
  json_error_t jerr;
  const char *host;
  json_int_t port;
  int *p;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:I}", "host", &host,
                     "port", &port) || !valid_host(host) || port < 1
      || port > 65535) {
    ts_http_reply_error(reply, 400, "the body must be {\"host\": name or "
                        "address, \"port\": 1..65535}", pool);
    json_decref(j);
    return;
  }
  apr_thread_mutex_lock(r->lock);
  p = apr_hash_get(r->proxies, host, APR_HASH_KEY_STRING);
  if (!p) {
    p = apr_palloc(r->pool, sizeof(*p));
    apr_hash_set(r->proxies, apr_pstrdup(r->pool, host),
                 APR_HASH_KEY_STRING, p);
  }
  *p = (int)port;
  apr_thread_mutex_unlock(r->lock);
  ts_log(r->log, TS_LOG_INFO, "proxy of host %s on port %d registered",
         host, (int)port);
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:i}", "host", host,
                                           "port", (int)port), pool);
  json_decref(j);
}

/* Under the lock: VISIT every name the hub resolves — each model of a
 * model server that is up (MODEL == NAME) and each of its links (NAME ->
 * MODEL) — until it returns nonzero. */
typedef int (*name_visit_t)(void *baton, const ts_model_server_t *ms,
                            const char *name, const char *model);

static void
each_name(ts_registry_t *r, name_visit_t visit, void *baton)
{
  for (apr_hash_index_t *hi = apr_hash_first(NULL, r->servers); hi;
       hi = apr_hash_next(hi)) {
    const ts_model_server_t *ms = &((entry_t *)apr_hash_this_val(hi))->ms;
    if (!ms->up)
      continue;
    for (int i = 0; i < ms->models->nelts; i++) {
      const char *m = APR_ARRAY_IDX(ms->models, i, const char *);
      if (visit(baton, ms, m, m))
        return;
    }
    for (int i = 0; i + 1 < ms->links->nelts; i += 2)
      if (visit(baton, ms, APR_ARRAY_IDX(ms->links, i, const char *),
                APR_ARRAY_IDX(ms->links, i + 1, const char *)))
        return;
  }
}

typedef struct found_t {
  const char *name, *model;
  const ts_model_server_t *ms;
} found_t;

static int
match(void *baton, const ts_model_server_t *ms, const char *name,
      const char *model)
{
  found_t *f = baton;

  if (strcmp(name, f->name) != 0)
    return 0;
  f->ms = ms;
  f->model = model;
  return 1;
}

/* Under the lock: the first model server that is up and offers NAME as a
 * model or a link; *MODEL gets the model's name. */
static const ts_model_server_t *
find(ts_registry_t *r, const char *name, const char **model)
{
  found_t f = { name, NULL, NULL };

  each_name(r, match, &f);
  *model = f.model;
  return f.ms;
}

/* /v1/links: a model names its server; a link its model and server. */
static int
list_name(void *baton, const ts_model_server_t *ms, const char *name,
          const char *model)
{
  json_object_set_new(baton, name, name == model
                      ? json_string(ms->id)
                      : json_pack("{s:s, s:s}", "model", model,
                                  "model_server", ms->id));
  return 0;
}

/* GET /v1/models/<name> (BROKER) or the hub's /v1/resolve/<name>. */
static void
locate(ts_http_reply_t *reply, ts_registry_t *r, const char *name,
       int broker, apr_pool_t *pool)
{
  const ts_model_server_t *ms;
  const char *model = NULL;
  json_t *j = NULL;

  apr_thread_mutex_lock(r->lock);
  ms = valid_name(name) ? find(r, name, &model) : NULL;
  if (ms) {
    int *proxy = apr_hash_get(r->proxies, ms->host, APR_HASH_KEY_STRING);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "name", name, "model",
                  model, "repository", ms->repository, "model_server",
                  ms->id, "host", ms->host, "port", ms->port);
    if (broker)
      json_object_set_new(j, "connect", json_pack("{s:s, s:s, s:i}", "via",
                          proxy ? "proxy" : "direct", "host", ms->host,
                          "port", proxy ? *proxy : ms->port));
  }
  apr_thread_mutex_unlock(r->lock);
  if (j)
    ts_http_reply_json(reply, 200, j, pool);
  else
    ts_http_reply_error(reply, 404, apr_psprintf(pool, "no model server that "
                        "is up offers a model or link named '%s'; see GET "
                        "/v1/model-servers for what is registered",
                        valid_name(name) ? name : "(invalid name)"), pool);
}

int
ts_registry_api(ts_http_reply_t *reply, ts_registry_t *r,
                const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *url = req->url, *m = req->method;

  if (strcmp(url, "/v1/model-servers") == 0) {
    reply->route = "/v1/model-servers";
    if (strcmp(m, "POST") == 0)
      do_register(reply, r, req, pool);
    else if (strcmp(m, "GET") == 0)
      ts_http_reply_json(reply, 200, json_pack("{s:o}", "model_servers",
                                               servers_json(r)), pool);
    else
      ts_http_reply_error(reply, 405, "/v1/model-servers answers GET and "
                          "POST", pool);
    return 1;
  }
  if (strncmp(url, "/v1/model-servers/", 18) == 0) {
    const char *rest = url + 18, *slash = strchr(rest, '/');
    const char *id = slash ? apr_pstrndup(pool, rest, slash - rest) : rest;
    reply->route = "/v1/model-servers/{id}";
    if (slash && strcmp(slash, "/heartbeat") == 0
        && (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0))
      heartbeat(reply, r, id, pool);
    else if (!slash && strcmp(m, "DELETE") == 0)
      unregister(reply, r, id, pool);
    else
      ts_http_reply_error(reply, 405, "use PUT /v1/model-servers/<id>/"
                          "heartbeat or DELETE /v1/model-servers/<id>", pool);
    return 1;
  }
  if (strcmp(url, "/v1/proxies") == 0) {
    reply->route = "/v1/proxies";
    if (strcmp(m, "POST") == 0)
      add_proxy(reply, r, req, pool);
    else
      ts_http_reply_error(reply, 405, "/v1/proxies answers POST", pool);
    return 1;
  }
  if (strncmp(url, "/v1/models/", 11) == 0) {
    reply->route = "/v1/models/{name}";
    if (strcmp(m, "GET") == 0)
      locate(reply, r, url + 11, 1, pool);
    else
      ts_http_reply_error(reply, 405, "/v1/models/<name> answers GET", pool);
    return 1;
  }
  return 0;
}

void
ts_registry_hub(ts_http_reply_t *reply, void *baton,
                const ts_http_request_t *req, apr_pool_t *pool)
{
  ts_registry_t *r = baton;

  if (strcmp(req->method, "GET") != 0) {
    ts_http_reply_error(reply, 405, "the hub answers GET only", pool);
    return;
  }
  if (strncmp(req->url, "/v1/resolve/", 12) == 0) {
    reply->route = "/v1/resolve/{name}";
    locate(reply, r, req->url + 12, 0, pool);
    return;
  }
  if (strcmp(req->url, "/v1/links") == 0) {
    json_t *names = json_object();
    reply->route = "/v1/links";
    apr_thread_mutex_lock(r->lock);
    each_name(r, list_name, names);
    apr_thread_mutex_unlock(r->lock);
    ts_http_reply_json(reply, 200, json_pack("{s:o}", "names", names), pool);
    return;
  }
  ts_http_reply_error(reply, 404, apr_psprintf(pool, "the hub has no %s; "
                      "use GET /v1/resolve/<link or model> or /v1/links",
                      strchr(req->url, '"') ? "(invalid)" : req->url), pool);
}
