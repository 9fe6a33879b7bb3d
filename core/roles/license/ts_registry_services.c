/* ts_registry_services.c: the services a machine runs beside its model
 * servers, as the registry knows them (ts_registry.h): its proxy (p+5,
 * seed 004) and its notification service (p+4). Each reports within the
 * registry's report interval; one that stops reporting is retired after
 * GONE_AFTER, like a silent model server. */
#include "ts_registry.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

/* One service of a host. Kept for reuse when it expires (the table holds
 * at most one per kind and host that ever reported). */
typedef struct service_t {
  const char *kind;               /* "proxy", "notify" (static) */
  char host[256];
  int port;                       /* 0: stopped */
  apr_time_t last_seen;
} service_t;

struct ts_services_t {
  apr_thread_mutex_t *lock;       /* guards TABLE and POOL */
  apr_hash_t *table;              /* "<kind> <host>" -> service_t */
  apr_pool_t *pool;
  apr_interval_time_t gone_after;
  ts_log_t *log;
};

/* What the log calls a service of KIND. */
static const char *
named(const char *kind)
{
  return strcmp(kind, "notify") == 0 ? "notification service" : kind;
}

ts_services_t *
ts_services_create(ts_log_t *log, apr_interval_time_t gone_after,
                   apr_pool_t *pool)
{
  ts_services_t *s = apr_pcalloc(pool, sizeof(*s));

  apr_pool_create(&s->pool, pool);
  s->table = apr_hash_make(s->pool);
  s->gone_after = gone_after;
  s->log = log;
  apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  return s;
}

/* Under the lock: KIND's entry for HOST, made when MAKE. */
static service_t *
entry(ts_services_t *s, const char *kind, const char *host, int make)
{
  char key[300];
  service_t *e;

  apr_snprintf(key, sizeof(key), "%s %s", kind, host);
  e = apr_hash_get(s->table, key, APR_HASH_KEY_STRING);
  if (!e && make) {
    e = apr_pcalloc(s->pool, sizeof(*e));
    e->kind = strcmp(kind, "notify") == 0 ? "notify" : "proxy";
    apr_cpystrn(e->host, host, sizeof(e->host));
    apr_hash_set(s->table, apr_pstrdup(s->pool, key), APR_HASH_KEY_STRING,
                 e);
  }
  return e;
}

void
ts_services_set(ts_services_t *s, const char *kind, const char *host,
                int port)
{
  service_t *e;
  int fresh;

  apr_thread_mutex_lock(s->lock);
  e = entry(s, kind, host, 1);
  fresh = e->port != port;
  e->port = port;
  e->last_seen = apr_time_now();
  apr_thread_mutex_unlock(s->lock);
  if (fresh)
    ts_log(s->log, TS_LOG_INFO, "%s of host %s on port %d registered",
           named(kind), host, port);
}

int
ts_services_remove(ts_services_t *s, const char *kind, const char *host)
{
  service_t *e;
  int port;

  apr_thread_mutex_lock(s->lock);
  e = entry(s, kind, host, 0);
  port = e ? e->port : 0;
  if (e)
    e->port = 0;
  apr_thread_mutex_unlock(s->lock);
  if (port)
    ts_log(s->log, TS_LOG_INFO, "%s of host %s on port %d stopped "
           "(unregistered)", named(kind), host, port);
  return port != 0;
}

/* Under the lock: E's port if it reports, else 0. */
static int
reporting(const ts_services_t *s, const service_t *e, apr_time_t now)
{
  return e && e->port && now - e->last_seen <= s->gone_after ? e->port : 0;
}

int
ts_services_port(ts_services_t *s, const char *kind, const char *host)
{
  int port;

  apr_thread_mutex_lock(s->lock);
  port = reporting(s, entry(s, kind, host, 0), apr_time_now());
  apr_thread_mutex_unlock(s->lock);
  return port;
}

void
ts_services_retire(ts_services_t *s, apr_array_header_t *retired,
                   apr_pool_t *pool)
{
  apr_time_t now = apr_time_now();

  apr_thread_mutex_lock(s->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, s->table); hi;
       hi = apr_hash_next(hi)) {
    service_t *e = apr_hash_this_val(hi);
    if (!e->port || reporting(s, e, now))
      continue;
    APR_ARRAY_PUSH(retired, const char *) = !strcmp(e->kind, "proxy")
      ? apr_psprintf(pool, "the proxy of host %s (port %d) did not report "
                     "for %" APR_TIME_T_FMT " s: clients now connect to "
                     "that host's model servers directly", e->host, e->port,
                     apr_time_sec(s->gone_after))
      : apr_psprintf(pool, "the %s of host %s (port %d) did not report for "
                     "%" APR_TIME_T_FMT " s", named(e->kind), e->host,
                     e->port, apr_time_sec(s->gone_after));
    e->port = 0;
  }
  apr_thread_mutex_unlock(s->lock);
}

int
ts_services_count(ts_services_t *s, const char *kind)
{
  apr_time_t now = apr_time_now();
  int n = 0;

  apr_thread_mutex_lock(s->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, s->table); hi;
       hi = apr_hash_next(hi)) {
    const service_t *e = apr_hash_this_val(hi);
    n += !strcmp(e->kind, kind) && reporting(s, e, now) != 0;
  }
  apr_thread_mutex_unlock(s->lock);
  return n;
}

json_t *
ts_services_json(ts_services_t *s)
{
  apr_time_t now = apr_time_now();
  json_t *a = json_array();

  apr_thread_mutex_lock(s->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, s->table); hi;
       hi = apr_hash_next(hi)) {
    const service_t *e = apr_hash_this_val(hi);
    int port = reporting(s, e, now);
    if (port)
      json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "kind", e->kind,
                                         "host", e->host, "port", port));
  }
  apr_thread_mutex_unlock(s->lock);
  return a;
}
