/* ts_licensing.c: the license server's state (see ts_licensing.h): the
 * license in force, which STATEDIR/tessera.lic gives at start and on
 * reload (a bad replacement is refused and the last valid license stays
 * in force), the administrator's password and the server credential, and
 * opening and closing what the other files of the role use. */
#include "ts_licensing.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "ts_passwd.h"

ts_error_t *
ts_licensing_license_read(ts_license_t **lic, const char *path,
                          const char *host, apr_pool_t *pool)
{
  const char *text;
  apr_size_t len;

  TS_ERR_W(ts_file_read_all(&text, &len, path, pool), "cannot read the "
           "license");
  TS_ERR(ts_license_parse(lic, path, text, len, pool));
  return ts_license_verify(*lic, host, apr_time_now(), pool);
}

/* Read and check the license; on success it replaces the one in force.
 * Any thread, one at a time (RELOAD_LOCK). */
static ts_error_t *
load_license(ts_licensing_t *lc)
{
  apr_pool_t *pool, *old;
  ts_license_t *lic;
  ts_error_t *err;

  /* a root pool: a request thread may reload, and the main thread's pool
   * is not to be allocated from elsewhere */
  apr_pool_create(&pool, NULL);
  err = ts_licensing_license_read(&lic, lc->license_path, lc->o.host, pool);
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
  ts_log(lc->log, TS_LOG_INFO, "license %s for %s in force (%d product%s)",
         lic->id, lic->host, lic->products->nelts,
         lic->products->nelts == 1 ? "" : "s");
  ts_bus_touch(ts_licensing_bus(lc));
  return NULL;
}

/* The id of the license in force, for messages (the log's "none"
 * without one). */
static const char *
license_id(ts_licensing_t *lc, apr_pool_t *pool)
{
  const char *id;

  apr_thread_mutex_lock(lc->lock);
  id = apr_pstrdup(pool, lc->license ? lc->license->id : "none");
  apr_thread_mutex_unlock(lc->lock);
  return id;
}

/* A reload's refusal: why the new license was refused (ERR) and what
 * stays in force, one sentence in English for the log and one for
 * people (ts_i18n.h), each quoting ERR's text in its language. */
static ts_error_t *
refusal(ts_licensing_t *lc, const ts_error_t *err, apr_pool_t *pool)
{
  const char *id = NULL, *en = ts_error_text(err, pool);
  const char *local = ts_error_message(err, pool);

  apr_thread_mutex_lock(lc->lock);
  if (lc->license)
    id = apr_pstrdup(pool, lc->license->id);
  apr_thread_mutex_unlock(lc->lock);
  if (id)
    return ts_error_create_texts(ts_error_code(err),
      apr_psprintf(pool, "%s; license %s stays in force", en, id),
      apr_psprintf(pool, _("%s; license %s stays in force"), local, id));
  return ts_error_create_texts(ts_error_code(err),
    apr_psprintf(pool, "%s; there is still no license in force", en),
    apr_psprintf(pool, _("%s; there is still no license in force"), local));
}

ts_error_t *
ts_licensing_reload_license(ts_licensing_t *lc, const char *who)
{
  ts_error_t *err, *refused;
  apr_pool_t *scratch;
  char context[512];

  apr_pool_create(&scratch, NULL);
  apr_thread_mutex_lock(lc->reload_lock);
  err = load_license(lc);
  apr_thread_mutex_lock(lc->lock);
  lc->reloads++;
  /* why, for people: /v1/status says it to `tessera-admin license
   * import` */
  apr_cpystrn(lc->reload_error, err ? ts_error_message(err, scratch) : "",
              sizeof(lc->reload_error));
  apr_thread_mutex_unlock(lc->lock);
  apr_thread_mutex_unlock(lc->reload_lock);
  if (!err) {
    apr_pool_destroy(scratch);
    return NULL;
  }
  apr_snprintf(context, sizeof(context), "reload: the new license was "
               "refused; the previous one stays in force (license %s; %s)",
               license_id(lc, scratch), who);
  ts_log_error(lc->log, TS_LOG_ERROR, err, context);
  refused = refusal(lc, err, scratch);
  ts_error_clear(err);
  apr_pool_destroy(scratch);
  return refused;
}

ts_error_t *
ts_licensing_open(ts_licensing_t **lc_p, const ts_licensing_options_t *o,
                  ts_log_t *log, apr_pool_t *pool)
{
  ts_licensing_t *lc = apr_pcalloc(pool, sizeof(*lc));
  ts_registry_options_t ro = { 0 };
  ts_error_t *err;

  lc->o = *o;
  lc->pool = pool;
  lc->log = log;
  lc->lease = apr_time_from_sec(o->config->lease_seconds);
  lc->license_path = ts_path_join(o->statedir, "tessera.lic", pool);
  lc->projects = ts_licensing_projects_create(pool);
  lc->agents = ts_licensing_agents_create(o->config->gone_after_seconds,
                                          pool);
  lc->passwd_guard = ts_passwd_guard_create(pool);
  apr_thread_mutex_create(&lc->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_mutex_create(&lc->reload_lock, APR_THREAD_MUTEX_DEFAULT, pool);
  *lc_p = lc;
  TS_ERR(ts_dir_make(o->statedir, TS_FPROT_DIR, pool));
  TS_ERR(ts_credential_open(&lc->credential, lc->o.inodir, lc->log, pool));
  TS_ERR(ts_licensing_denials_create(lc, pool));
  if (o->audit_path)
    TS_ERR(ts_audit_open(&lc->audit, o->audit_path, pool));
  TS_ERR(ts_licensing_sessions_open(lc, pool));
  ro.probe = o->config->probe_seconds;
  ro.gone_after = o->config->gone_after_seconds;
  ro.credential = lc->credential;
  ro.log = log;
  ro.change = ts_licensing_model_server_changed;
  ro.forget = ts_licensing_model_server_forgotten;
  ro.baton = lc;
  TS_ERR(ts_registry_create(&lc->registry, &ro, pool));
  TS_ERR(ts_licensing_timer_start(lc, pool));
  err = load_license(lc);
  if (err) {
    ts_log_error(log, TS_LOG_WARNING, err, TS_LICENSING_NO_LICENSE);
    ts_error_clear(err);
  }
  return NULL;
}

ts_error_t *
ts_licensing_reload(ts_licensing_t *lc)
{
  if (lc->audit)
    TS_ERR(ts_audit_reopen(lc->audit));
  ts_error_clear(ts_licensing_reload_license(lc, "on HUP"));   /* logged */
  return NULL;
}

void
ts_licensing_close(ts_licensing_t *lc)
{
  if (!lc)
    return;
  ts_licensing_timer_stop(lc);
  ts_registry_stop(lc->registry);
  ts_licensing_agents_destroy(lc->agents);
  ts_licensing_sessions_close(lc);
  if (lc->license_pool)
    apr_pool_destroy(lc->license_pool);
  lc->license = NULL;
  lc->license_pool = NULL;
}

long
ts_licensing_seats_of(ts_licensing_t *lc, const char *product)
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

/* A failed count of PRODUCT's seats: counted, and logged at most every
 * COUNT_LOG_EVERY (the bus asks 4 times a second). */
#define COUNT_LOG_EVERY apr_time_from_sec(10)
static void
count_failed(ts_licensing_t *lc, const char *product, const ts_error_t *err)
{
  apr_time_t now = apr_time_now();
  apr_uint64_t failures;
  int speak;

  apr_thread_mutex_lock(lc->lock);
  failures = ++lc->count_failures;
  speak = now - lc->count_logged >= COUNT_LOG_EVERY;
  if (speak)
    lc->count_logged = now;
  apr_thread_mutex_unlock(lc->lock);
  if (speak) {
    char context[300];
    apr_snprintf(context, sizeof(context), "counting the seats of %s in use "
                 "failed (%" APR_UINT64_T_FMT " failed counts since the "
                 "start; status and /metrics show the count as unknown, the "
                 "bus keeps the last one)", product, failures);
    ts_log_error(lc->log, TS_LOG_ERROR, err, context);
  }
}

/* The seats in use of each of PRODUCTS, counted without LOCK (see
 * ts_licensing.h). */
static void
count_used(ts_licensing_t *lc, json_t *products)
{
  json_t *p;
  size_t i;

  json_array_foreach(products, i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    long used = 0;
    ts_error_t *err = ts_licensing_seats_used(&used, lc, name);
    if (err) {
      apr_pool_t *scratch;
      apr_pool_create(&scratch, NULL);
      json_object_set_new(p, "error", json_string(ts_error_message(err,
                                                                   scratch)));
      apr_pool_destroy(scratch);
      count_failed(lc, name, err);
      ts_error_clear(err);
    }
    else
      json_object_set_new(p, "used", json_integer(used));
  }
}

json_t *
ts_licensing_license_json(ts_licensing_t *lc)
{
  json_t *products = json_array(), *j;

  apr_thread_mutex_lock(lc->lock);   /* one license: its id and products */
  j = json_pack("{s:s?, s:s?, s:s?}", "license",
                lc->license ? lc->license->id : NULL, "host",
                lc->license ? lc->license->host : NULL, "licensee",
                lc->license ? lc->license->licensee : NULL);
  if (lc->license)
    for (int k = 0; k < lc->license->products->nelts; k++) {
      const ts_product_t *lp = &APR_ARRAY_IDX(lc->license->products, k,
                                              ts_product_t);
      json_array_append_new(products, json_pack("{s:s, s:I, s:n, s:s, s:b}",
        "name", lp->name, "seats", (json_int_t)lp->seats, "used", "expires",
        lp->expires, "expired", ts_product_expired(lp, apr_time_now())));
    }
  apr_thread_mutex_unlock(lc->lock);
  count_used(lc, products);
  json_object_set_new(j, "products", products);
  return j;
}

json_t *
ts_licensing_products(ts_licensing_t *lc)
{
  json_t *j = ts_licensing_license_json(lc);
  json_t *products = json_incref(json_object_get(j, "products"));

  json_decref(j);
  return products;
}

const char *
ts_licensing_authorize(ts_http_reply_t *reply, ts_licensing_t *lc,
                       const ts_http_request_t *req, apr_pool_t *pool)
{
  const char *who = NULL;
  int retry_after = 0;
  ts_error_t *err = ts_passwd_check(&who, &retry_after, lc->passwd_guard,
                                    lc->o.passwd_path, req->authorization,
                                    req->client, pool);

  if (!err)
    return who;
  if (ts_error_code(err) == TS_ECONFIG)
    ts_http_reply_error(reply, 403, ts_error_message(err, pool), pool);
  else if (ts_error_code(err) == TS_EUNAVAIL) {
    /* throttled: counted for /metrics, not logged (a flood would fill
     * the log) */
    ts_http_reply_error(reply, 429, ts_error_message(err, pool), pool);
    reply->retry_after = retry_after;
  }
  else {
    ts_http_reply_error(reply, 401, ts_error_message(err, pool), pool);
    reply->www_authenticate = "Basic realm=\"Tessera license server\"";
    /* the text names who the client said it was: quoted */
    ts_log(lc->log, TS_LOG_WARNING, "refused an administrator's request "
           "from %s: %s", req->client,
           ts_log_quote(ts_error_text(err, pool), 4 * TS_LOG_VALUE_MAX,
                        pool));
  }
  ts_error_clear(err);
  return NULL;
}
