/* ts_licensing.c: the license server proper (see ts_licensing.h).
 *
 *   GET    /v1/status                     license, products and seats in
 *                                         use, model servers, projects
 *   POST   /v1/sessions                   {"product","user","host","pid",
 *                                          "application"[,"model_server"]}
 *                                         -> 201 session
 *   GET    /v1/sessions                   the live sessions
 *   PUT    /v1/sessions/<id>/heartbeat    renew the lease
 *   DELETE /v1/sessions/<id>              check in
 *   POST   /v1/sessions/<id>/release      {"reason"}: force-release (admin)
 *   GET    /v1/admin                      whether the password is set
 *   POST   /v1/projects                   a project license server reports
 *   GET    /v1/projects                   the project license servers
 *   ... /v1/model-servers, /v1/proxies, /v1/models: see ts_registry.h
 *
 * Requests that change the license server on an administrator's behalf
 * need the administrator's password (ts_passwd.h). The license is read
 * from STATEDIR/tessera.lic at start and on reload; a bad replacement is
 * refused and the last valid license stays in force.
 */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <jansson.h>

#include "ts_audit.h"
#include "ts_file.h"
#include "ts_license.h"
#include "ts_passwd.h"
#include "ts_sessions.h"
#include "ts_version.h"

/* A project license server counts as up this long after its last report. */
#define PROJECT_TIMEOUT apr_time_from_sec(30)

typedef struct project_t {
  char version[8];
  char host[256];
  int port;
  apr_time_t last_seen;
} project_t;

struct ts_licensing_t {
  ts_licensing_options_t o;
  const char *license_path;
  apr_interval_time_t lease;
  ts_license_t *license;        /* NULL: none valid */
  apr_pool_t *license_pool;
  apr_thread_mutex_t *lock;     /* guards LICENSE, PROJECTS, BUS */
  ts_sessions_t *sessions;
  ts_registry_t *registry;
  ts_bus_t *bus;
  ts_audit_t *audit;            /* NULL: off */
  apr_hash_t *projects;         /* version -> project_t */
  apr_time_t started;
  ts_log_t *log;
  apr_pool_t *pool;
};

/* ---- the audit log and the bus ------------------------------------------ */

static ts_bus_t *
bus_of(ts_licensing_t *lc)
{
  ts_bus_t *bus;

  apr_thread_mutex_lock(lc->lock);
  bus = lc->bus;
  apr_thread_mutex_unlock(lc->lock);
  return bus;
}

/* Publish J (its reference is taken) on TOPIC. */
static void
say(ts_licensing_t *lc, const char *topic, json_t *j, int retain)
{
  ts_bus_t *bus = bus_of(lc);
  char *text;

  if (bus && (text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
    ts_bus_publish(bus, topic, text, retain);
    free(text);
  }
  json_decref(j);
}

static json_t *
session_json(const ts_session_t *s)
{
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id",
                        s->id, "product", s->product, "user", s->user,
                        "host", s->host, "application", s->application,
                        "pid", (json_int_t)s->pid, "started_ms",
                        (json_int_t)apr_time_as_msec(s->started),
                        "expires_ms",
                        (json_int_t)apr_time_as_msec(s->expires));
  if (s->server)
    json_object_set_new(j, "model_server", json_string(s->server));
  return j;
}

/* A session event for the audit log and the bus: EVENT, the session, and
 * EXTRA's fields (by, reason, client). */
static void
session_event(ts_licensing_t *lc, const char *event, const ts_session_t *s,
              const json_t *extra)
{
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "event",
                        event, "session", s->id, "product", s->product,
                        "user", s->user, "host", s->host, "application",
                        s->application, "pid", (json_int_t)s->pid);

  if (s->server)
    json_object_set_new(j, "model_server", json_string(s->server));
  if (extra)
    json_object_update(j, (json_t *)extra);
  ts_audit_write(lc->audit, j);
  say(lc, "license/events", j, 0);
  ts_bus_touch(bus_of(lc));
}

static void
ended(void *baton, const char *event, const ts_session_t *s,
      const void *detail)
{
  session_event(baton, event, s, detail);
}

static void
model_server_changed(void *baton, const ts_model_server_t *ms, int up,
                     const char *reason)
{
  ts_licensing_t *lc = baton;
  json_t *models = json_array(), *extra;
  char topic[320];
  int released = 0;
  ts_error_t *err;

  for (int i = 0; i < ms->models->nelts; i++)
    json_array_append_new(models, json_string(APR_ARRAY_IDX(ms->models, i,
                                                            const char *)));
  apr_snprintf(topic, sizeof(topic), "model-servers/%s", ms->id);
  say(lc, topic,
      json_pack("{s:s, s:s, s:s, s:i, s:o, s:s}", "state", up ? "up" : "gone",
                "repository", ms->repository, "host", ms->host, "port",
                ms->port, "models", models, "reason", reason), 1);
  if (up)
    return;
  extra = json_pack("{s:s}", "reason", reason);
  err = ts_sessions_release_server(&released, lc->sessions, ms->id, extra);
  if (err) {
    ts_log_error(lc->log, TS_LOG_ERROR, err, "freeing the seats of a model "
                 "server that is gone");
    ts_error_clear(err);
  }
  else if (released)
    ts_log(lc->log, TS_LOG_INFO, "freed %d seats used with model server %s",
           released, ms->id);
  json_decref(extra);
}

/* ---- the license -------------------------------------------------------- */

/* Read and check the license; on success it replaces the one in force. */
static ts_error_t *
load_license(ts_licensing_t *lc)
{
  apr_pool_t *pool, *old;
  const char *text;
  apr_size_t len;
  ts_license_t *lic;
  ts_error_t *err;

  apr_pool_create(&pool, lc->pool);
  err = ts_file_read_all(&text, &len, lc->license_path, pool);
  if (!err)
    err = ts_license_parse(&lic, lc->license_path, text, len, pool);
  if (!err)
    err = ts_license_verify(lic, lc->o.host, apr_time_now(), pool);
  if (err) {
    apr_pool_destroy(pool);
    return err;
  }
  apr_thread_mutex_lock(lc->lock);
  old = lc->license_pool;
  lc->license = lic;
  lc->license_pool = pool;
  apr_thread_mutex_unlock(lc->lock);
  if (old)
    apr_pool_destroy(old);
  ts_log(lc->log, TS_LOG_INFO, "license %s for %s in force (%d products)",
         lic->id, lic->host, lic->products->nelts);
  ts_bus_touch(bus_of(lc));
  return NULL;
}

ts_error_t *
ts_licensing_open(ts_licensing_t **lc_p, const ts_licensing_options_t *o,
                  ts_log_t *log, apr_pool_t *pool)
{
  ts_licensing_t *lc = apr_pcalloc(pool, sizeof(*lc));
  ts_error_t *err;

  lc->o = *o;
  lc->pool = pool;
  lc->log = log;
  lc->started = apr_time_now();
  lc->lease = apr_time_from_sec(o->config->lease_seconds);
  lc->projects = apr_hash_make(pool);
  lc->license_path = apr_pstrcat(pool, o->statedir, "/tessera.lic", NULL);
  apr_thread_mutex_create(&lc->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  TS_ERR(ts_dir_make(o->statedir, TS_FPROT_DIR, pool));
  if (o->audit_path)
    TS_ERR(ts_audit_open(&lc->audit, o->audit_path, pool));
  TS_ERR(ts_sessions_open(&lc->sessions, apr_pstrcat(pool, o->statedir,
                                                     "/sessions.db", NULL),
                          pool));
  ts_sessions_observe(lc->sessions, ended, lc);
  TS_ERR(ts_registry_create(&lc->registry, o->config->probe_seconds,
                            o->config->gone_after_seconds, log,
                            model_server_changed, lc, pool));
  err = load_license(lc);
  if (err) {
    ts_log_error(log, TS_LOG_WARNING, err, "no license in force, so no "
                 "seats can be checked out; install one with `tessera-admin "
                 "license import FILE`");
    ts_error_clear(err);
  }
  *lc_p = lc;
  return NULL;
}

ts_error_t *
ts_licensing_start(ts_licensing_t *lc)
{
  return ts_registry_start(lc->registry);
}

ts_registry_t *
ts_licensing_registry(ts_licensing_t *lc)
{
  return lc->registry;
}

void
ts_licensing_attach_bus(ts_licensing_t *lc, ts_bus_t *bus)
{
  apr_thread_mutex_lock(lc->lock);
  lc->bus = bus;
  apr_thread_mutex_unlock(lc->lock);
  ts_bus_touch(bus);
}

ts_error_t *
ts_licensing_reload(ts_licensing_t *lc)
{
  ts_error_t *err;

  if (lc->audit)
    TS_ERR(ts_audit_reopen(lc->audit));
  err = load_license(lc);
  if (err)
    return ts_error_wrapf(err, "the new license was refused; the previous "
                          "one stays in force");
  return NULL;
}

void
ts_licensing_close(ts_licensing_t *lc)
{
  if (!lc)
    return;
  ts_registry_stop(lc->registry);
  apr_thread_mutex_lock(lc->lock);
  lc->bus = NULL;
  apr_thread_mutex_unlock(lc->lock);
  ts_sessions_close(lc->sessions);
}

/* The seats of PRODUCT in the license in force: -1 unknown product, -2 no
 * license, -3 expired product. */
static long
seats_of(ts_licensing_t *lc, const char *product)
{
  long seats = -2;

  apr_thread_mutex_lock(lc->lock);
  if (lc->license) {
    seats = -1;
    for (int i = 0; i < lc->license->products->nelts; i++) {
      const ts_product_t *p = &APR_ARRAY_IDX(lc->license->products, i,
                                             ts_product_t);
      if (strcmp(p->name, product) == 0)
        seats = ts_product_expired(p, apr_time_now()) ? -3 : p->seats;
    }
  }
  apr_thread_mutex_unlock(lc->lock);
  return seats;
}

/* The products of the license in force with their seats in use, as JSON
 * objects {name, seats, used, expires}. The counts are taken without
 * LOCK: the session store calls the observer, which takes LOCK, while it
 * holds its own lock. */
static json_t *
products_json(ts_licensing_t *lc)
{
  json_t *products = json_array(), *p;
  size_t i;

  apr_thread_mutex_lock(lc->lock);
  if (lc->license)
    for (int k = 0; k < lc->license->products->nelts; k++) {
      const ts_product_t *lp = &APR_ARRAY_IDX(lc->license->products, k,
                                              ts_product_t);
      json_array_append_new(products, json_pack("{s:s, s:I, s:I, s:s, s:b}",
        "name", lp->name, "seats", (json_int_t)lp->seats, "used",
        (json_int_t)0, "expires", lp->expires, "expired",
        ts_product_expired(lp, apr_time_now())));
    }
  apr_thread_mutex_unlock(lc->lock);
  json_array_foreach(products, i, p) {
    long used = 0;
    ts_error_clear(ts_sessions_count(&used, lc->sessions, json_string_value(
                                     json_object_get(p, "name"))));
    json_object_set_new(p, "used", json_integer(used));
  }
  return products;
}

void
ts_licensing_bus_tick(void *baton, ts_bus_t *bus)
{
  ts_licensing_t *lc = baton;
  json_t *products = products_json(lc), *p, *state;
  size_t i;

  (void)bus;
  apr_thread_mutex_lock(lc->lock);
  state = json_pack("{s:s, s:s, s:i, s:s?, s:s?}", "state", "up", "version",
                    TS_VERSION, "port", lc->o.port, "license",
                    lc->license ? lc->license->id : NULL, "project",
                    lc->o.project);
  apr_thread_mutex_unlock(lc->lock);
  say(lc, "license/state", state, 1);
  json_array_foreach(products, i, p) {
    char topic[128];
    apr_snprintf(topic, sizeof(topic), "products/%s",
                 json_string_value(json_object_get(p, "name")));
    say(lc, topic, json_incref(p), 1);
  }
  json_decref(products);
}

/* ---- the interface ------------------------------------------------------ */

static void
checkout(ts_http_reply_t *reply, ts_licensing_t *lc,
         const ts_http_request_t *req, apr_pool_t *pool)
{
  json_error_t jerr;
  json_t *j;
  ts_session_t s = { 0 };
  const char *user = NULL, *host = NULL, *app = NULL, *product = NULL;
  const char *server = NULL;
  json_int_t pid = 0;
  long seats;
  ts_error_t *err;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:s, "
                     "s?s}", "product", &product, "user", &user, "host",
                     &host, "pid", &pid, "application", &app, "model_server",
                     &server)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, "the body must be "
      "{\"product\", \"user\", \"host\", \"pid\", \"application\"} and may "
      "name the \"model_server\" the seat is used with: %s", jerr.text),
      pool);
    json_decref(j);
    return;
  }
  if (server && !ts_registry_is_up(lc->registry, server)) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, "model server '%s' "
                        "is not registered or is gone; see GET "
                        "/v1/model-servers", server), pool);
    json_decref(j);
    return;
  }
  seats = seats_of(lc, product);
  if (seats < 0) {
    ts_http_reply_error(reply, seats == -1 ? 404 : 503, seats == -1
      ? apr_psprintf(pool, "unknown product '%s': the license does not name "
                     "it", product)
      : seats == -2 ? "no license in force: install one with `tessera-admin "
                      "license import FILE`"
                    : apr_psprintf(pool, "the license for product '%s' has "
                                   "expired", product), pool);
    json_decref(j);
    return;
  }
  s.product = apr_pstrdup(pool, product);
  s.user = apr_pstrdup(pool, user);
  s.host = apr_pstrdup(pool, host);
  s.application = apr_pstrdup(pool, app);
  s.server = server ? apr_pstrdup(pool, server) : NULL;
  s.pid = (long)pid;
  json_decref(j);
  err = ts_sessions_checkout(lc->sessions, &s, seats, lc->lease, pool);
  if (err) {
    ts_http_reply_error(reply, ts_error_code(err) == TS_EUNAVAIL ? 409 : 500,
                        ts_error_text(err, pool), pool);
    if (ts_error_code(err) != TS_EUNAVAIL)
      ts_log_error(lc->log, TS_LOG_ERROR, err, "checkout");
    ts_error_clear(err);
    return;
  }
  session_event(lc, "checkout", &s, NULL);
  ts_http_reply_json(reply, 201, session_json(&s), pool);
}

/* Check the administrator's password; on failure the reply says why. */
static const char *
authorize(ts_http_reply_t *reply, ts_licensing_t *lc,
          const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *who = NULL;
  ts_error_t *err = ts_passwd_check(&who, lc->o.passwd_path,
                                    req->authorization, pool);

  if (!err)
    return who;
  if (ts_error_code(err) == TS_ECONFIG)
    ts_http_reply_error(reply, 403, ts_error_text(err, pool), pool);
  else {
    ts_http_reply_error(reply, 401, ts_error_text(err, pool), pool);
    reply->www_authenticate = "Basic realm=\"Tessera license server\"";
    ts_log(lc->log, TS_LOG_WARNING, "refused an administrator's request "
           "from %s: %s", req->client, ts_error_text(err, pool));
  }
  ts_error_clear(err);
  return NULL;
}

static void
force_release(ts_http_reply_t *reply, ts_licensing_t *lc, const char *id,
              const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *who = authorize(reply, lc, req, pool), *reason = NULL;
  json_t *j, *extra;
  json_error_t jerr;
  ts_error_t *err;

  if (!who)
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s}", "reason", &reason)
      || !*reason) {
    ts_http_reply_error(reply, 400, "say why: the body must be {\"reason\": "
                        "\"...\"} (it goes to the audit log)", pool);
    json_decref(j);
    return;
  }
  reason = apr_pstrdup(pool, reason);
  extra = json_pack("{s:s, s:s, s:s}", "by", who, "reason", reason,
                    "client", req->client);
  json_decref(j);
  err = ts_sessions_release(lc->sessions, id, "force-release", extra);
  json_decref(extra);
  if (err) {
    ts_http_reply_error(reply, ts_error_code(err) == TS_ENOENT ? 404 : 500,
                        ts_error_text(err, pool), pool);
    ts_error_clear(err);
    return;
  }
  ts_log(lc->log, TS_LOG_INFO, "session %s force-released by %s from %s: %s",
         id, who, req->client, reason);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b, s:s}", "id", id,
                                           "released", 1, "by", who), pool);
}

static void
sessions_api(ts_http_reply_t *reply, ts_licensing_t *lc,
             const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *rest = req->url + 13, *slash = strchr(rest, '/'), *m;
  const char *id = slash ? apr_pstrndup(pool, rest, slash - rest) : rest;
  ts_error_t *err = NULL;

  m = req->method;
  reply->route = "/v1/sessions/{id}";
  if (slash && strcmp(slash, "/heartbeat") == 0
      && (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0)) {
    apr_time_t expires;
    err = ts_sessions_renew(&expires, lc->sessions, id, lc->lease);
    if (!err) {
      ts_http_reply_json(reply, 200, json_pack("{s:s, s:I}", "id", id,
                         "expires_ms", (json_int_t)apr_time_as_msec(expires)),
                         pool);
      return;
    }
  }
  else if (slash && strcmp(slash, "/release") == 0 && strcmp(m, "POST") == 0) {
    force_release(reply, lc, id, req, pool);
    return;
  }
  else if (!slash && strcmp(m, "DELETE") == 0) {
    err = ts_sessions_release(lc->sessions, id, "checkin", NULL);
    if (!err) {
      ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", id,
                                               "released", 1), pool);
      return;
    }
  }
  else {
    ts_http_reply_error(reply, 405, "use PUT /v1/sessions/<id>/heartbeat, "
                        "DELETE /v1/sessions/<id> or POST /v1/sessions/<id>/"
                        "release", pool);
    return;
  }
  ts_http_reply_error(reply, ts_error_code(err) == TS_ENOENT ? 404 : 500,
                      ts_error_text(err, pool), pool);
  ts_error_clear(err);
}

static json_t *
projects_json(ts_licensing_t *lc)
{
  json_t *arr = json_array();
  apr_time_t now = apr_time_now();

  apr_thread_mutex_lock(lc->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, lc->projects); hi;
       hi = apr_hash_next(hi)) {
    const project_t *p = apr_hash_this_val(hi);
    json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s, s:I}",
      "version", p->version, "host", p->host, "port", p->port, "state",
      now - p->last_seen < PROJECT_TIMEOUT ? "up" : "gone", "last_seen_ms",
      (json_int_t)apr_time_as_msec(p->last_seen)));
  }
  apr_thread_mutex_unlock(lc->lock);
  return arr;
}

/* POST /v1/projects: a project license server reports (at start and then
 * every 10 s). */
static void
project_report(ts_http_reply_t *reply, ts_licensing_t *lc,
               const ts_http_request_t *req, apr_pool_t *pool)
{
  json_t *j;
  json_error_t jerr;
  const char *version, *host;
  json_int_t port;
  project_t *p;
  int fresh;

  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:I}", "version",
                     &version, "host", &host, "port", &port)
      || strlen(version) != 4 || version[2] != '.' || strlen(host) > 255
      || port < 1024 || port > 64000) {
    ts_http_reply_error(reply, 400, "the body must be {\"version\": \"##.#\","
                        " \"host\", \"port\": 1024..64000}", pool);
    json_decref(j);
    return;
  }
  apr_thread_mutex_lock(lc->lock);
  p = apr_hash_get(lc->projects, version, APR_HASH_KEY_STRING);
  fresh = !p || apr_time_now() - p->last_seen >= PROJECT_TIMEOUT;
  if (!p) {
    p = apr_pcalloc(lc->pool, sizeof(*p));
    apr_cpystrn(p->version, version, sizeof(p->version));
    apr_hash_set(lc->projects, p->version, APR_HASH_KEY_STRING, p);
  }
  apr_cpystrn(p->host, host, sizeof(p->host));
  p->port = (int)port;
  p->last_seen = apr_time_now();
  apr_thread_mutex_unlock(lc->lock);
  if (fresh) {
    ts_log(lc->log, TS_LOG_INFO, "project license server %s reports from "
           "%s port %d", version, host, (int)port);
    say(lc, apr_pstrcat(pool, "projects/", version, NULL),
        json_pack("{s:s, s:s, s:i}", "state", "up", "host", host, "port",
                  (int)port), 1);
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "version", version,
                                           "listed", 1), pool);
  json_decref(j);   /* VERSION and HOST are J's */
}

static void
status(ts_http_reply_t *reply, ts_licensing_t *lc, apr_pool_t *pool)
{
  json_t *products = products_json(lc), *j;
  int up, gone, proxies;

  ts_registry_counts(lc->registry, &up, &gone, &proxies);
  apr_thread_mutex_lock(lc->lock);
  j = json_pack("{s:s?, s:s?, s:s?, s:s?, s:i, s:o}", "license",
                lc->license ? lc->license->id : NULL, "host",
                lc->license ? lc->license->host : NULL, "licensee",
                lc->license ? lc->license->licensee : NULL, "project",
                lc->o.project, "port", lc->o.port, "products", products);
  json_object_set_new(j, "bus", json_pack("{s:i, s:b}", "port",
                      lc->o.port + 1, "connected",
                      ts_bus_connected(lc->bus)));
  apr_thread_mutex_unlock(lc->lock);
  json_object_set_new(j, "hub", json_pack("{s:i}", "port", lc->o.port + 2));
  json_object_set_new(j, "model_servers", json_loads(
                      ts_registry_json(lc->registry, pool), 0, NULL));
  json_object_set_new(j, "proxies", json_integer(proxies));
  json_object_set_new(j, "projects", projects_json(lc));
  json_object_set_new(j, "admin_password_set",
                      json_boolean(ts_passwd_is_set(lc->o.passwd_path,
                                                    pool)));
  ts_http_reply_json(reply, 200, j, pool);
}

void
ts_licensing_metrics(ts_prom_t *prom, ts_licensing_t *lc, apr_pool_t *pool)
{
  json_t *products = products_json(lc), *p;
  long total = 0;
  int up, gone, proxies, valid;
  apr_uint64_t commits, steps;
  ts_bus_t *bus = bus_of(lc);
  size_t i;

  (void)pool;
  ts_sessions_stats(&commits, &steps, lc->sessions);
  ts_prom_family(prom, "tessera_license_seats", "gauge", "Seats the license "
                 "grants, per product.");
  json_array_foreach(products, i, p)
    ts_prom_int(prom, "tessera_license_seats", (const char *const[]){
                "product", json_string_value(json_object_get(p, "name")),
                NULL }, json_integer_value(json_object_get(p, "seats")));
  ts_prom_family(prom, "tessera_license_seats_used", "gauge", "Seats "
                 "checked out, per product.");
  json_array_foreach(products, i, p) {
    total += (long)json_integer_value(json_object_get(p, "used"));
    ts_prom_int(prom, "tessera_license_seats_used", (const char *const[]){
                "product", json_string_value(json_object_get(p, "name")),
                NULL }, json_integer_value(json_object_get(p, "used")));
  }
  json_decref(products);
  ts_registry_counts(lc->registry, &up, &gone, &proxies);
  apr_thread_mutex_lock(lc->lock);
  valid = lc->license != NULL;
  apr_thread_mutex_unlock(lc->lock);
  ts_prom_family(prom, "tessera_sessions", "gauge", "Open sessions (seats "
                 "in use, all products).");
  ts_prom_int(prom, "tessera_sessions", NULL, total);
  ts_prom_family(prom, "tessera_model_servers", "gauge", "Registered model "
                 "servers by state.");
  ts_prom_int(prom, "tessera_model_servers",
              (const char *const[]){ "state", "up", NULL }, up);
  ts_prom_int(prom, "tessera_model_servers",
              (const char *const[]){ "state", "gone", NULL }, gone);
  ts_prom_family(prom, "tessera_license_valid", "gauge", "Whether a valid "
                 "license is in force.");
  ts_prom_int(prom, "tessera_license_valid", NULL, valid);
  ts_prom_family(prom, "tessera_bus_connected", "gauge", "Whether the "
                 "server is connected to its bus.");
  ts_prom_int(prom, "tessera_bus_connected", NULL, ts_bus_connected(bus));
  ts_prom_family(prom, "tessera_bus_events_dropped_total", "counter",
                 "Events not published: no bus connection, or too many "
                 "waiting.");
  ts_prom_int(prom, "tessera_bus_events_dropped_total", NULL,
              (apr_int64_t)ts_bus_dropped(bus));
  ts_prom_family(prom, "tessera_session_store_transactions_total", "counter",
                 "Transactions of the session store.");
  ts_prom_int(prom, "tessera_session_store_transactions_total", NULL,
              (apr_int64_t)commits);
  ts_prom_family(prom, "tessera_session_store_requests_total", "counter",
                 "Requests the session store served in those transactions "
                 "(group commit: several per commit).");
  ts_prom_int(prom, "tessera_session_store_requests_total", NULL,
              (apr_int64_t)steps);
}

void
ts_licensing_api(ts_http_reply_t *reply, void *baton,
                 const ts_http_request_t *req, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *url = req->url;
  int is_get = strcmp(req->method, "GET") == 0;

  if (strcmp(url, "/v1/status") == 0) {
    reply->route = "/v1/status";
    if (is_get)
      status(reply, lc, pool);
    else
      ts_http_reply_error(reply, 405, "/v1/status answers GET", pool);
    return;
  }
  if (strcmp(url, "/v1/sessions") == 0) {
    reply->route = "/v1/sessions";
    if (strcmp(req->method, "POST") == 0)
      checkout(reply, lc, req, pool);
    else if (is_get) {
      apr_array_header_t *list;
      ts_error_t *err = ts_sessions_list(&list, lc->sessions, pool);
      json_t *arr = json_array();
      if (err) {
        ts_http_reply_error(reply, 500, ts_error_text(err, pool), pool);
        ts_error_clear(err);
        json_decref(arr);
        return;
      }
      for (int i = 0; i < list->nelts; i++)
        json_array_append_new(arr, session_json(&APR_ARRAY_IDX(list, i,
                                                               ts_session_t)));
      ts_http_reply_json(reply, 200, json_pack("{s:o}", "sessions", arr),
                         pool);
    }
    else
      ts_http_reply_error(reply, 405, "/v1/sessions answers GET and POST",
                          pool);
    return;
  }
  if (strncmp(url, "/v1/sessions/", 13) == 0) {
    sessions_api(reply, lc, req, pool);
    return;
  }
  if (strcmp(url, "/v1/admin") == 0) {
    int set = ts_passwd_is_set(lc->o.passwd_path, pool);
    reply->route = "/v1/admin";
    ts_http_reply_json(reply, 200, json_pack("{s:b, s:s}", "password_set",
      set, "hint", set ? "requests that change things take the password "
                         "with HTTP Basic authentication (curl -u name:pw)"
                       : "the administrator's password is not set: set it "
                         "on the license server machine with `tessera-admin "
                         "license passwd`"), pool);
    return;
  }
  if (strcmp(url, "/v1/projects") == 0) {
    reply->route = "/v1/projects";
    if (strcmp(req->method, "POST") == 0)
      project_report(reply, lc, req, pool);
    else if (is_get)
      ts_http_reply_json(reply, 200, json_pack("{s:o}", "projects",
                                               projects_json(lc)), pool);
    else
      ts_http_reply_error(reply, 405, "/v1/projects answers GET and POST",
                          pool);
    return;
  }
  if (ts_registry_api(reply, lc->registry, req, pool))
    return;
  ts_http_reply_error(reply, 404, apr_psprintf(pool, "no such resource: %s",
                      strchr(url, '"') ? "(invalid)" : url), pool);
}
