/* ts_licensing.c: the license server's seats (the `license` role's /v1
 * interface, see ts_licensing.h).
 *
 *   GET    /v1/status                  license, products, seats in use
 *   POST   /v1/sessions                {"product","user","host","pid",
 *                                       "application"} -> 201 session
 *   GET    /v1/sessions                the live sessions
 *   PUT    /v1/sessions/<id>/heartbeat renew the lease
 *   DELETE /v1/sessions/<id>           check in
 *
 * The license is read from INOLIC/tessera.lic at start and on reload; a
 * bad replacement is refused and the last valid license stays in force.
 */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <jansson.h>

#include "ts_file.h"
#include "ts_license.h"
#include "ts_sessions.h"

#define LEASE apr_time_from_sec(60)

struct ts_licensing_t {
  const char *license_path, *host;
  ts_license_t *license;        /* NULL: none valid */
  apr_pool_t *license_pool;
  apr_thread_mutex_t *lock;     /* guards LICENSE */
  ts_sessions_t *sessions;
  ts_log_t *log;
  apr_pool_t *pool;
};

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
    err = ts_license_verify(lic, lc->host, apr_time_now(), pool);
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
  return NULL;
}

ts_error_t *
ts_licensing_open(ts_licensing_t **lc_p, const char *inolic,
                  const char *host, ts_log_t *log, apr_pool_t *pool)
{
  ts_licensing_t *lc = apr_pcalloc(pool, sizeof(*lc));
  ts_error_t *err;

  lc->pool = pool;
  lc->log = log;
  lc->host = apr_pstrdup(pool, host);
  lc->license_path = apr_pstrcat(pool, inolic, "/tessera.lic", NULL);
  apr_thread_mutex_create(&lc->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  TS_ERR(ts_dir_make(inolic, TS_FPROT_DIR, pool));
  TS_ERR(ts_sessions_open(&lc->sessions, apr_pstrcat(pool, inolic,
                                                     "/sessions.db", NULL),
                          pool));
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
ts_licensing_reload(ts_licensing_t *lc)
{
  ts_error_t *err = load_license(lc);

  if (err)
    return ts_error_wrapf(err, "the new license was refused; the previous "
                          "one stays in force");
  return NULL;
}

void
ts_licensing_close(ts_licensing_t *lc)
{
  if (lc)
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

static void
fail(ts_http_reply_t *reply, int status, const char *message,
     apr_pool_t *pool)
{
  json_t *j = json_pack("{s:s}", "error", message);
  char *text = json_dumps(j, JSON_COMPACT);

  reply->status = status;
  reply->body = apr_pstrcat(pool, text, "\n", NULL);
  free(text);
  json_decref(j);
}

static void
send_json(ts_http_reply_t *reply, int status, json_t *j, apr_pool_t *pool)
{
  char *text = json_dumps(j, JSON_COMPACT);

  reply->status = status;
  reply->body = apr_pstrcat(pool, text, "\n", NULL);
  free(text);
  json_decref(j);
}

static json_t *
session_json(const ts_session_t *s)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", s->id,
                   "product", s->product, "user", s->user, "host", s->host,
                   "application", s->application, "pid", (json_int_t)s->pid,
                   "started_ms", (json_int_t)apr_time_as_msec(s->started),
                   "expires_ms", (json_int_t)apr_time_as_msec(s->expires));
}

static void
checkout(ts_http_reply_t *reply, ts_licensing_t *lc,
         const ts_http_request_t *req, apr_pool_t *pool)
{
  json_error_t jerr;
  json_t *j;
  ts_session_t s = { 0 };
  const char *user = NULL, *host = NULL, *app = NULL, *product = NULL;
  json_int_t pid = 0;
  long seats;
  ts_error_t *err;

  if (!req->content_type
      || strncmp(req->content_type, "application/json", 16) != 0) {
    fail(reply, 415, "POST /v1/sessions takes Content-Type: "
         "application/json", pool);
    return;
  }
  j = json_loadb(req->body, req->body_len, 0, &jerr);
  if (!j || json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, "
                           "s:s}", "product", &product, "user", &user,
                           "host", &host, "pid", &pid, "application", &app)) {
    fail(reply, 400, apr_psprintf(pool, "the body must be {\"product\", "
         "\"user\", \"host\", \"pid\", \"application\"}: %s", jerr.text),
         pool);
    json_decref(j);
    return;
  }
  seats = seats_of(lc, product);
  if (seats < 0) {
    fail(reply, seats == -1 ? 404 : 503, seats == -1
         ? apr_psprintf(pool, "unknown product '%s': the license does not "
                        "name it", product)
         : seats == -2 ? "no license in force: install one with "
                         "`tessera-admin license import FILE`"
                       : apr_psprintf(pool, "the license for product '%s' "
                                      "has expired", product), pool);
    json_decref(j);
    return;
  }
  s.product = apr_pstrdup(pool, product);
  s.user = apr_pstrdup(pool, user);
  s.host = apr_pstrdup(pool, host);
  s.application = apr_pstrdup(pool, app);
  s.pid = (long)pid;
  json_decref(j);
  err = ts_sessions_checkout(lc->sessions, &s, seats, LEASE, pool);
  if (err) {
    fail(reply, ts_error_code(err) == TS_EUNAVAIL ? 409 : 500,
         ts_error_text(err, pool), pool);
    if (ts_error_code(err) != TS_EUNAVAIL)
      ts_log_error(lc->log, TS_LOG_ERROR, err, "checkout");
    ts_error_clear(err);
    return;
  }
  ts_log(lc->log, TS_LOG_INFO, "checkout %s: %s by %s@%s (pid %ld, %s)",
         s.id, s.product, s.user, s.host, s.pid, s.application);
  send_json(reply, 201, session_json(&s), pool);
}

static void
status(ts_http_reply_t *reply, ts_licensing_t *lc, apr_pool_t *pool)
{
  json_t *products = json_array(), *j;

  apr_thread_mutex_lock(lc->lock);
  if (lc->license)
    for (int i = 0; i < lc->license->products->nelts; i++) {
      const ts_product_t *p = &APR_ARRAY_IDX(lc->license->products, i,
                                             ts_product_t);
      long used = 0;
      ts_error_t *err = ts_sessions_count(&used, lc->sessions, p->name);
      ts_error_clear(err);
      json_array_append_new(products, json_pack("{s:s, s:i, s:i, s:s}",
        "name", p->name, "seats", (json_int_t)p->seats, "used",
        (json_int_t)used, "expires", p->expires));
    }
  j = json_pack("{s:s?, s:s?, s:o}", "license",
                lc->license ? lc->license->id : NULL, "host",
                lc->license ? lc->license->host : NULL, "products",
                products);
  apr_thread_mutex_unlock(lc->lock);
  send_json(reply, 200, j, pool);
}

void
ts_licensing_api(ts_http_reply_t *reply, void *baton,
                 const ts_http_request_t *req, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  const char *url = req->url, *id;
  int is_get = strcmp(req->method, "GET") == 0;

  if (strcmp(url, "/v1/status") == 0 && is_get) {
    status(reply, lc, pool);
    return;
  }
  if (strcmp(url, "/v1/sessions") == 0) {
    if (strcmp(req->method, "POST") == 0)
      checkout(reply, lc, req, pool);
    else if (is_get) {
      apr_array_header_t *list;
      ts_error_t *err = ts_sessions_list(&list, lc->sessions, pool);
      json_t *arr = json_array();
      if (err) {
        fail(reply, 500, ts_error_text(err, pool), pool);
        ts_error_clear(err);
        json_decref(arr);
        return;
      }
      for (int i = 0; i < list->nelts; i++)
        json_array_append_new(arr, session_json(&APR_ARRAY_IDX(list, i,
                                                               ts_session_t)));
      send_json(reply, 200, json_pack("{s:o}", "sessions", arr), pool);
    }
    else
      fail(reply, 405, "/v1/sessions answers GET and POST", pool);
    return;
  }
  if (strncmp(url, "/v1/sessions/", 13) == 0) {
    const char *rest = url + 13, *slash = strchr(rest, '/');
    ts_error_t *err = NULL;
    id = slash ? apr_pstrndup(pool, rest, slash - rest) : rest;
    if (slash && strcmp(slash, "/heartbeat") == 0
        && (strcmp(req->method, "PUT") == 0
            || strcmp(req->method, "POST") == 0)) {
      apr_time_t expires;
      err = ts_sessions_renew(&expires, lc->sessions, id, LEASE);
      if (!err) {
        send_json(reply, 200, json_pack("{s:s, s:I}", "id", id, "expires_ms",
                  (json_int_t)apr_time_as_msec(expires)), pool);
        return;
      }
    }
    else if (!slash && strcmp(req->method, "DELETE") == 0) {
      err = ts_sessions_release(lc->sessions, id);
      if (!err) {
        ts_log(lc->log, TS_LOG_INFO, "check-in %s", id);
        send_json(reply, 200, json_pack("{s:s, s:b}", "id", id, "released",
                                        1), pool);
        return;
      }
    }
    else {
      fail(reply, 405, "use PUT /v1/sessions/<id>/heartbeat or DELETE "
           "/v1/sessions/<id>", pool);
      return;
    }
    fail(reply, ts_error_code(err) == TS_ENOENT ? 404 : 500,
         ts_error_text(err, pool), pool);
    ts_error_clear(err);
    return;
  }
  fail(reply, 404, apr_psprintf(pool, "no such resource: %s",
                                strchr(url, '"') ? "(invalid)" : url), pool);
}
