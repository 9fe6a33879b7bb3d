/* ts_licensing_metrics.c: the license server's families on /metrics
 * (README, "The license server"): seats and seats in use per product,
 * when each product expires, checkouts refused by product and reason,
 * sessions, model servers by state, whether a license is in force, the
 * bus connection and the events it dropped, the session store's
 * transactions with the requests they carried (their ratio is the
 * group-commit batch), the administrator's password (wrong ones, and
 * requests refused unchecked while guessing is throttled), and the
 * failures that would otherwise go unseen: seat counts and audit records.
 * The names are an interface: dashboards and alerts use them.
 *
 * A refused checkout may name any product: a client chooses it. So the
 * names not in the license become series of their own only up to
 * MAX_STRANGERS of at most MAX_NAME bytes; later ones are counted under
 * OTHER (which no product can be called: names start with a letter), or
 * anyone could grow /metrics without end. */
#include "ts_licensing.h"

#include "ts_passwd.h"

#include <stdio.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#define MAX_STRANGERS 100
#define MAX_NAME 64
#define OTHER "_other"

enum { NO_SEAT, EXPIRED, UNKNOWN_PRODUCT, NO_LICENSE, REASONS };
static const char *const reason_names[REASONS] = {
  "no_seat", "expired", "unknown_product", "no_license"
};

typedef struct denial_t {
  const char *product;
  int reason;
  apr_uint64_t count;
} denial_t;

struct ts_licensing_denials_t {
  apr_thread_mutex_t *lock;     /* guards the fields below */
  apr_hash_t *counts;           /* "<reason><product>" -> denial_t */
  int strangers;                /* series of products not licensed */
  apr_pool_t *pool;             /* its own: grown under LOCK */
};

ts_error_t *
ts_licensing_denials_create(ts_licensing_t *lc, apr_pool_t *pool)
{
  ts_licensing_denials_t *d = apr_pcalloc(pool, sizeof(*d));
  apr_status_t s;

  apr_pool_create(&d->pool, pool);
  d->counts = apr_hash_make(d->pool);
  s = apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  if (s)
    return ts_error_aprf(s, "cannot create the lock of the refused-checkout "
                         "counters");
  lc->denials = d;
  return NULL;
}

void
ts_licensing_count_denial(ts_licensing_t *lc, const char *product,
                          long seats)
{
  ts_licensing_denials_t *d = lc->denials;
  int reason = seats == 0 ? NO_SEAT : seats == -3 ? EXPIRED
               : seats == -2 ? NO_LICENSE : UNKNOWN_PRODUCT;
  /* the product is the client's word unless the license named it */
  int stranger = reason == UNKNOWN_PRODUCT || reason == NO_LICENSE;
  char key[MAX_NAME + 2];
  denial_t *e;

  apr_thread_mutex_lock(d->lock);
  if (stranger && strlen(product) > MAX_NAME)
    product = OTHER;
  key[0] = (char)('0' + reason);
  apr_cpystrn(key + 1, product, sizeof(key) - 1);
  e = apr_hash_get(d->counts, key, APR_HASH_KEY_STRING);
  if (!e && stranger && d->strangers >= MAX_STRANGERS) {
    product = OTHER;
    apr_cpystrn(key + 1, product, sizeof(key) - 1);
    e = apr_hash_get(d->counts, key, APR_HASH_KEY_STRING);
  }
  if (!e) {
    e = apr_pcalloc(d->pool, sizeof(*e));
    e->product = apr_pstrdup(d->pool, product);
    e->reason = reason;
    apr_hash_set(d->counts, apr_pstrdup(d->pool, key), APR_HASH_KEY_STRING,
                 e);
    d->strangers += stranger && strcmp(product, OTHER) != 0;
  }
  e->count++;
  apr_thread_mutex_unlock(d->lock);
}

/* The refused checkouts: every licensed product's no_seat and expired
 * (0 until one is refused, so alerts see the series from the start),
 * then what else was refused. */
static void
denials(ts_prom_t *prom, ts_licensing_t *lc, json_t *products,
        apr_pool_t *pool)
{
  ts_licensing_denials_t *d = lc->denials;
  apr_hash_t *shown = apr_hash_make(pool);
  json_t *p;
  size_t i;

  ts_prom_family(prom, "tessera_license_checkouts_denied_total", "counter",
                 "Checkouts refused, by product and reason (no_seat, "
                 "expired, unknown_product, no_license).");
  apr_thread_mutex_lock(d->lock);
  json_array_foreach(products, i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    for (int r = NO_SEAT; r <= EXPIRED; r++) {
      const char *key = apr_psprintf(pool, "%c%s", '0' + r, name);
      denial_t *e = apr_hash_get(d->counts, key, APR_HASH_KEY_STRING);
      ts_prom_int(prom, "tessera_license_checkouts_denied_total",
                  (const char *const[]){ "product", name, "reason",
                  reason_names[r], NULL }, e ? (apr_int64_t)e->count : 0);
      apr_hash_set(shown, key, APR_HASH_KEY_STRING, "");
    }
  }
  for (apr_hash_index_t *hi = apr_hash_first(pool, d->counts); hi;
       hi = apr_hash_next(hi)) {
    const denial_t *e = apr_hash_this_val(hi);
    if (!apr_hash_get(shown, apr_hash_this_key(hi), APR_HASH_KEY_STRING))
      ts_prom_int(prom, "tessera_license_checkouts_denied_total",
                  (const char *const[]){ "product", e->product, "reason",
                  reason_names[e->reason], NULL }, (apr_int64_t)e->count);
  }
  apr_thread_mutex_unlock(d->lock);
}

/* When each licensed product stops being valid: the start of the day
 * after its expiry date (it is valid through that day, UTC). */
static void
expiry(ts_prom_t *prom, json_t *products)
{
  json_t *p;
  size_t i;

  ts_prom_family(prom, "tessera_license_expiry_timestamp_seconds", "gauge",
                 "When the license for a product ends (Unix time: the "
                 "start of the day after its expiry date, UTC).");
  json_array_foreach(products, i, p) {
    apr_time_exp_t tm = { 0 };
    apr_time_t t;
    int y, m, day;
    if (sscanf(json_string_value(json_object_get(p, "expires")), "%d-%d-%d",
               &y, &m, &day) != 3)
      continue;   /* the schema's xs:date: does not happen */
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = day + 1;   /* APR counts days on linearly */
    if (apr_time_exp_gmt_get(&t, &tm) == APR_SUCCESS)
      ts_prom_int(prom, "tessera_license_expiry_timestamp_seconds",
                  (const char *const[]){ "product", json_string_value(
                  json_object_get(p, "name")), NULL },
                  (apr_int64_t)apr_time_sec(t));
  }
}

static void
password_metrics(ts_prom_t *prom, ts_licensing_t *lc)
{
  ts_passwd_stats_t st;

  ts_passwd_guard_stats(&st, lc->passwd_guard);
  ts_prom_family(prom, "tessera_admin_password_failures_total", "counter",
                 "Wrong administrator's passwords given.");
  ts_prom_int(prom, "tessera_admin_password_failures_total", NULL,
              (apr_int64_t)st.wrong);
  ts_prom_family(prom, "tessera_admin_password_refused_total", "counter",
                 "Requests with the administrator's password refused "
                 "unchecked: the client waits after wrong passwords "
                 "(backoff), or too many checks at once (busy).");
  ts_prom_int(prom, "tessera_admin_password_refused_total",
              (const char *const[]){ "reason", "backoff", NULL },
              (apr_int64_t)st.backoff);
  ts_prom_int(prom, "tessera_admin_password_refused_total",
              (const char *const[]){ "reason", "busy", NULL },
              (apr_int64_t)st.busy);
}

/* Seats granted and in use, per product; *TOTAL the seats in use, or -1
 * when a count failed. */
static void
seats(ts_prom_t *prom, json_t *products, long *total)
{
  json_t *p;
  size_t i;

  *total = 0;
  ts_prom_family(prom, "tessera_license_seats", "gauge", "Seats the license "
                 "grants, per product.");
  json_array_foreach(products, i, p)
    ts_prom_int(prom, "tessera_license_seats", (const char *const[]){
                "product", json_string_value(json_object_get(p, "name")),
                NULL }, json_integer_value(json_object_get(p, "seats")));
  ts_prom_family(prom, "tessera_license_seats_used", "gauge", "Seats "
                 "checked out, per product.");
  json_array_foreach(products, i, p) {
    /* a count that failed has no sample (0 would be a lie) */
    if (!json_is_integer(json_object_get(p, "used"))) {
      *total = -1;
      continue;
    }
    if (*total >= 0)
      *total += (long)json_integer_value(json_object_get(p, "used"));
    ts_prom_int(prom, "tessera_license_seats_used", (const char *const[]){
                "product", json_string_value(json_object_get(p, "name")),
                NULL }, json_integer_value(json_object_get(p, "used")));
  }
}

void
ts_licensing_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  json_t *products = ts_licensing_products(lc);
  long total;
  int up, gone, proxies, valid;
  apr_uint64_t count_failures, audit_failures;
  apr_uint64_t commits, steps;
  ts_bus_t *bus = ts_licensing_bus(lc);

  ts_licensing_store_stats(&commits, &steps, lc);
  seats(prom, products, &total);
  expiry(prom, products);
  denials(prom, lc, products, pool);
  json_decref(products);
  ts_registry_counts(lc->registry, &up, &gone, &proxies);
  apr_thread_mutex_lock(lc->lock);
  valid = lc->license != NULL;
  count_failures = lc->count_failures;
  audit_failures = lc->audit_failures;
  apr_thread_mutex_unlock(lc->lock);
  ts_prom_family(prom, "tessera_sessions", "gauge", "Open sessions (seats "
                 "in use, all products).");
  if (total >= 0)   /* every count succeeded */
    ts_prom_int(prom, "tessera_sessions", NULL, total);
  ts_prom_family(prom, "tessera_license_seat_count_failures_total",
                 "counter", "Counts of seats in use that failed (the "
                 "session store could not answer); see the log.");
  ts_prom_int(prom, "tessera_license_seat_count_failures_total", NULL,
              (apr_int64_t)count_failures);
  ts_prom_family(prom, "tessera_audit_write_failures_total", "counter",
                 "Audit records that could not be written to the audit "
                 "log (each is in the server's log instead).");
  ts_prom_int(prom, "tessera_audit_write_failures_total", NULL,
              (apr_int64_t)audit_failures);
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
  password_metrics(prom, lc);
}
