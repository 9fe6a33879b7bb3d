/* ts_proxy_names.c: what the proxy knows of the model servers, learnt
 * from the license server and never from a file (ts_proxy.h).
 *
 * A snapshot is built on libuv's thread pool from the license server's
 * GET /v1/status: its model servers (each with its models, links and
 * repository; up or gone), its agents' versions with their state, and
 * the machines' proxies (its "services").
 * The same job registers the proxy (POST /v1/proxies) every heartbeat.
 * It runs every heartbeat-seconds of tessera.xml, when the bus says a
 * model server or a version changed (model-servers/#, versions/#), and
 * when a request names what the snapshot does not know; the loop thread
 * swaps the snapshot in when the job is done, so no lookup ever waits
 * on the network on the loop thread. */
#include "ts_proxy.h"

#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_httpd.h"

struct ts_proxy_names_t {
  apr_pool_t *pool;
  apr_time_t taken;
  apr_hash_t *here;         /* name -> apr_array_header_t of
                               ts_proxy_target_t */
  apr_hash_t *elsewhere;    /* name -> ts_proxy_verdict_t (ELSEWHERE: the
                               machine, the model and port there) */
  apr_hash_t *proxies;      /* machine -> int *: its proxy's port */
  apr_hash_t *down;         /* name -> down_t */
  long nlocal;
};

/* A version that does not serve, and whether it is this machine's. */
typedef struct down_t {
  ts_proxy_verdict_t v;     /* DOWN */
  int local;
} down_t;

/* One refresh (and maybe registration) on the thread pool. */
typedef struct sync_t {
  uv_work_t req;
  ts_proxy_t *p;
  int do_register;
  long gen;                 /* P->sync_gen when it started */
  ts_proxy_names_t *names;  /* the result, or NULL */
  char *error;              /* why not (malloc'ed) */
  int reg_status;           /* the registration's HTTP status; 0: none */
  long report;              /* the seconds the license server asks a
                               proxy to report within; 0: not said */
  char *reg_error;          /* why it failed (malloc'ed), or NULL */
} sync_t;

/* ---- building a snapshot (thread pool) ---------------------------------- */

static void
add_here(ts_proxy_names_t *n, const char *name, const char *id,
         const char *model, const char *repository, int port)
{
  apr_array_header_t *a = apr_hash_get(n->here, name, APR_HASH_KEY_STRING);
  ts_proxy_target_t *t;

  if (!a) {
    a = apr_array_make(n->pool, 1, sizeof(ts_proxy_target_t));
    apr_hash_set(n->here, name, APR_HASH_KEY_STRING, a);
  }
  t = apr_array_push(a);
  t->id = id;
  t->model = model;
  t->repository = repository;
  t->port = port;
}

/* Under NAME, a model server that is up on HOST, another machine,
 * serving MODEL (the first one stays). */
static void
add_elsewhere(ts_proxy_names_t *n, const char *name, const char *host,
              const char *model, int port)
{
  ts_proxy_verdict_t *v;

  if (apr_hash_get(n->elsewhere, name, APR_HASH_KEY_STRING))
    return;
  v = apr_pcalloc(n->pool, sizeof(*v));
  v->where = TS_PROXY_ELSEWHERE;
  v->host = host;
  v->model = model;
  v->port = port;
  apr_hash_set(n->elsewhere, name, APR_HASH_KEY_STRING, v);
}

/* Under NAME, a version that does not serve; one of this machine (LOCAL)
 * replaces one of another. */
static void
add_down(ts_proxy_names_t *n, const char *name, const char *host,
         const char *model, const char *version, const char *state,
         int local)
{
  down_t *d = apr_hash_get(n->down, name, APR_HASH_KEY_STRING);

  if (d && (!local || d->local))
    return;
  d = apr_pcalloc(n->pool, sizeof(*d));
  d->v.where = TS_PROXY_DOWN;
  d->v.host = host;
  d->v.model = model;
  d->v.version = version;
  d->v.state = state;
  d->local = local;
  apr_hash_set(n->down, name, APR_HASH_KEY_STRING, d);
}

static const char *
str(json_t *o, const char *key, apr_pool_t *pool)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? apr_pstrdup(pool, s) : NULL;
}

/* Each name of model server MS into N. */
static void
add_server(ts_proxy_names_t *n, json_t *ms, const char *machine)
{
  const char *id = str(ms, "id", n->pool), *host = str(ms, "host", n->pool);
  const char *repo = str(ms, "repository", n->pool);
  const char *state = str(ms, "state", n->pool), *key, *model;
  int port = (int)json_integer_value(json_object_get(ms, "port"));
  int here = host && strcmp(host, machine) == 0;
  int up = state && strcmp(state, "up") == 0;
  json_t *v, *models = json_object_get(ms, "models");
  size_t i;

  if (!id || !host || !repo || port <= 0 || !json_is_array(models))
    return;
  model = json_string_value(json_array_get(models, 0))
          ? apr_pstrdup(n->pool, json_string_value(json_array_get(models, 0)))
          : repo;
  json_array_foreach(models, i, v)
    if (json_is_string(v)) {
      const char *name = apr_pstrdup(n->pool, json_string_value(v));
      if (up && here)
        add_here(n, name, id, name, repo, port);
      else if (up)
        add_elsewhere(n, name, host, name, port);
      else if (here)
        add_down(n, name, host, name, repo, "gone", 1);
    }
  json_object_foreach(json_object_get(ms, "links"), key, v)
    if (json_is_string(v)) {
      const char *name = apr_pstrdup(n->pool, key);
      if (up && here)
        add_here(n, name, id, apr_pstrdup(n->pool, json_string_value(v)),
                 repo, port);
      else if (up)
        add_elsewhere(n, name, host, apr_pstrdup(n->pool,
                                                 json_string_value(v)), port);
    }
  if (up && here)
    add_here(n, repo, id, model, repo, port);
  else if (up)
    add_elsewhere(n, repo, host, model, port);
  else if (here)
    add_down(n, repo, host, model, repo, "gone", 1);
  n->nlocal += up && here;
}

/* The versions an agent reports that do not serve, by model and by
 * version name. A running one whose model server has not registered yet
 * is "starting" to a client. */
static void
add_agent(ts_proxy_names_t *n, json_t *agent, const char *machine)
{
  const char *ahost = str(agent, "host", n->pool);
  json_t *v;
  size_t i;

  json_array_foreach(json_object_get(agent, "versions"), i, v) {
    const char *model = str(v, "model", n->pool);
    const char *version = str(v, "version", n->pool);
    const char *state = str(v, "state", n->pool);
    const char *host = str(v, "host", n->pool);
    int local;
    if (!model || !version || !state)
      continue;
    if (strcmp(state, "running") == 0)
      state = "starting";
    if (!host)
      host = ahost;
    local = host && strcmp(host, machine) == 0;
    add_down(n, model, host ? host : "?", model, version, state, local);
    add_down(n, version, host ? host : "?", model, version, state, local);
  }
}

/* The proxies the license server knows ("services" of its status). */
static void
add_proxies(ts_proxy_names_t *n, json_t *services)
{
  json_t *v;
  size_t i;

  json_array_foreach(services, i, v) {
    const char *kind = json_string_value(json_object_get(v, "kind"));
    const char *host = str(v, "host", n->pool);
    int *port = apr_palloc(n->pool, sizeof(*port));
    *port = (int)json_integer_value(json_object_get(v, "port"));
    if (kind && host && !strcmp(kind, "proxy") && *port > 0)
      apr_hash_set(n->proxies, host, APR_HASH_KEY_STRING, port);
  }
}

static ts_proxy_names_t *
names_from(json_t *status, const char *machine)
{
  apr_pool_t *pool;
  ts_proxy_names_t *n;
  json_t *v;
  size_t i;

  apr_pool_create(&pool, NULL);
  n = apr_pcalloc(pool, sizeof(*n));
  n->pool = pool;
  n->taken = apr_time_now();
  n->here = apr_hash_make(pool);
  n->elsewhere = apr_hash_make(pool);
  n->down = apr_hash_make(pool);
  n->proxies = apr_hash_make(pool);
  add_proxies(n, json_object_get(status, "services"));
  /* the agents first: their state of a version says more than "gone" */
  json_array_foreach(json_object_get(status, "agents"), i, v)
    add_agent(n, v, machine);
  json_array_foreach(json_object_get(status, "model_servers"), i, v)
    add_server(n, v, machine);
  return n;
}

/* POST /v1/proxies: this machine's proxy listens on P->port. */
static void
register_proxy(sync_t *s, apr_pool_t *pool)
{
  ts_proxy_t *p = s->p;
  const char *answer = "";
  char *body = apr_psprintf(pool, "{\"host\":\"%s\",\"port\":%d}",
                            p->machine, p->port);
  ts_error_t *err = ts_http_call(&s->reg_status, &answer, p->info->host,
                                 p->info->main_port, "POST", "/v1/proxies",
                                 body, ts_credential_header(p->cred, pool),
                                 apr_time_from_sec(3), pool);

  if (err) {
    s->reg_status = 0;
    s->reg_error = strdup(ts_error_text(err, pool));
    ts_error_clear(err);
  }
  else if (s->reg_status / 100 != 2)
    s->reg_error = strdup(apr_psprintf(pool, "HTTP %d: %s", s->reg_status,
                                       ts_log_quote(answer, 300, pool)));
  else {
    json_t *j = json_loads(answer, 0, NULL);
    s->report = (long)json_integer_value(json_object_get(j,
                                                         "report_seconds"));
    json_decref(j);
  }
}

static void
sync_work(uv_work_t *req)
{
  sync_t *s = req->data;
  ts_proxy_t *p = s->p;
  apr_pool_t *pool;
  const char *body = NULL;
  int status = 0;
  ts_error_t *err;
  json_t *j;

  apr_pool_create(&pool, NULL);
  if (s->do_register)
    register_proxy(s, pool);
  err = ts_http_get(&status, &body, p->info->host, p->info->main_port,
                    "/v1/status", apr_time_from_sec(3), pool);
  j = err || status != 200 ? NULL : json_loads(body, 0, NULL);
  if (err)
    s->error = strdup(ts_error_text(err, pool));
  else if (!j)
    s->error = strdup(apr_psprintf(pool, "GET /v1/status answered %d, not "
                                   "the status", status));
  else
    s->names = names_from(j, p->machine);
  json_decref(j);
  ts_error_clear(err);
  apr_pool_destroy(pool);
}

/* ---- on the loop thread -------------------------------------------------- */

static long sync_start(ts_proxy_t *p, int do_register);

/* Say in the log when the registration changes. */
static void
registered(ts_proxy_t *p, sync_t *s)
{
  int ok = s->reg_status / 100 == 2;

  if (ok != p->registered) {
    if (ok)
      ts_log(p->log, TS_LOG_INFO, "registered with the license server %s "
             "port %d as the proxy of %s (port %d)", p->info->host,
             p->info->main_port, p->machine, p->port);
    else
      ts_log(p->log, TS_LOG_WARNING, "cannot register as the proxy of %s "
             "with the license server %s port %d (INOHOST): %s; retrying "
             "every %d s", p->machine, p->info->host, p->info->main_port,
             s->reg_error ? s->reg_error : "?",
             p->info->config->heartbeat_seconds);
  }
  p->registered = ok;
  /* the license server forgets a proxy that does not report within its
   * gone-after time: report as often as it asks when that is sooner */
  if (ok && s->report > 0 && (uint64_t)s->report * 1000 < p->beat) {
    p->beat = (uint64_t)s->report * 1000;
    uv_timer_set_repeat(&p->sync_timer, p->beat);
  }
}

static void
sync_done(uv_work_t *req, int status)
{
  sync_t *s = req->data;
  ts_proxy_t *p = s->p;

  p->refreshing = 0;
  if (status == UV_ECANCELED || p->stopping) {
    if (s->names)
      apr_pool_destroy(s->names->pool);
  }
  else {
    if (s->do_register)
      registered(p, s);
    if (s->names) {
      if (!p->names || p->names_error)
        ts_log(p->log, TS_LOG_INFO, "learnt the model servers from the "
               "license server %s port %d: %ld on this machine (%s)",
               p->info->host, p->info->main_port, s->names->nlocal,
               p->machine);
      if (p->names)
        apr_pool_destroy(p->names->pool);
      p->names = s->names;
      __atomic_store_n(&p->local_servers, (apr_uint64_t)s->names->nlocal,
                       __ATOMIC_RELAXED);
      free((char *)p->names_error);
      p->names_error = NULL;
    }
    else {
      if (!p->names_error)
        ts_log(p->log, TS_LOG_WARNING, "cannot learn the model servers "
               "from the license server %s port %d (INOHOST): %s; %s",
               p->info->host, p->info->main_port, s->error,
               p->names ? "answering from what it said before"
                        : "refusing every tunnel until it answers");
      free((char *)p->names_error);
      p->names_error = s->error;
      s->error = NULL;
    }
    ts_proxy_claim_retry(p, s->gen);
    if (p->refresh_again) {
      int reg = p->register_again;
      p->refresh_again = p->register_again = 0;
      sync_start(p, reg);
    }
  }
  free(s->error);
  free(s->reg_error);
  free(s);
}

static long
sync_start(ts_proxy_t *p, int do_register)
{
  sync_t *s;

  if (p->stopping)
    return p->sync_gen;
  if (p->refreshing) {
    p->refresh_again = 1;
    return p->sync_gen + 1;
  }
  s = calloc(1, sizeof(*s));
  if (!s)
    return p->sync_gen;
  s->p = p;
  s->do_register = do_register;
  s->gen = p->sync_gen + 1;
  s->req.data = s;
  if (uv_queue_work(p->loop, &s->req, sync_work, sync_done) != 0) {
    free(s);
    return p->sync_gen;
  }
  p->sync_gen = s->gen;
  p->refreshing = 1;
  return s->gen;
}

long
ts_proxy_names_refresh(ts_proxy_t *p)
{
  return sync_start(p, 0);
}

static void
on_sync_timer(uv_timer_t *timer)
{
  ts_proxy_t *p = timer->data;

  if (p->refreshing)
    p->refresh_again = p->register_again = 1;   /* right after it */
  else
    sync_start(p, 1);
}

static void
on_sweep_timer(uv_timer_t *timer)
{
  ts_proxy_tunnel_sweep(timer->data);
}

/* Posted by the bus thread. */
static void
poked(void *baton)
{
  ts_proxy_t *p = baton;

  apr_atomic_set32(&p->bus_poked, 0);
  ts_proxy_names_refresh(p);
}

void
ts_proxy_names_poke(ts_proxy_t *p)
{
  if (apr_atomic_cas32(&p->bus_poked, 1, 0) == 0)
    ts_uvhttp_post(p->uvhttp, poked, p);
}

void
ts_proxy_names_start(ts_proxy_t *p)
{
  uv_timer_init(p->loop, &p->sync_timer);
  uv_timer_init(p->loop, &p->sweep_timer);
  p->sync_timer.data = p;
  p->sweep_timer.data = p;
  p->timers = 1;
  p->beat = (uint64_t)p->info->config->heartbeat_seconds * 1000;
  uv_timer_start(&p->sync_timer, on_sync_timer, 0, p->beat);
  uv_timer_start(&p->sweep_timer, on_sweep_timer, 1000, 1000);
}

void
ts_proxy_names_resolve(ts_proxy_verdict_t *v, ts_proxy_t *p,
                       const char *name, int port)
{
  ts_proxy_names_t *n = p->names;
  apr_array_header_t *a;
  const ts_proxy_verdict_t *there;
  const down_t *down;

  memset(v, 0, sizeof(*v));
  v->where = TS_PROXY_NOWHERE;
  if (!n)
    return;
  a = apr_hash_get(n->here, name, APR_HASH_KEY_STRING);
  if (a) {
    v->where = TS_PROXY_HERE;
    v->target = &APR_ARRAY_IDX(a, 0, ts_proxy_target_t);
    for (int i = 0; i < a->nelts; i++)
      if (APR_ARRAY_IDX(a, i, ts_proxy_target_t).port == port)
        v->target = &APR_ARRAY_IDX(a, i, ts_proxy_target_t);
    return;
  }
  there = apr_hash_get(n->elsewhere, name, APR_HASH_KEY_STRING);
  if (there) {
    const int *proxy = apr_hash_get(n->proxies, there->host,
                                    APR_HASH_KEY_STRING);
    *v = *there;
    v->proxy = proxy ? *proxy : 0;
    return;
  }
  down = apr_hash_get(n->down, name, APR_HASH_KEY_STRING);
  if (down)
    *v = down->v;
}

void
ts_proxy_names_free(ts_proxy_t *p)
{
  if (p->timers) {
    uv_close((uv_handle_t *)&p->sync_timer, NULL);
    uv_close((uv_handle_t *)&p->sweep_timer, NULL);
    p->timers = 0;
  }
  if (p->names)
    apr_pool_destroy(p->names->pool);
  p->names = NULL;
  free((char *)p->names_error);
  p->names_error = NULL;
}
