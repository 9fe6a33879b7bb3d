/* ts_licensing_metrics.c: the license server's families on /metrics
 * (README, "The license server"): seats and seats in use per product,
 * sessions, model servers by state, whether a license is in force, the
 * bus connection and the events it dropped, the session store's
 * transactions with the requests they carried (their ratio is the
 * group-commit batch), the administrator's password (wrong ones, and
 * requests refused unchecked while guessing is throttled), and the
 * failures that would otherwise go unseen: seat counts and audit records.
 * The names are an interface: dashboards and
 * alerts use them. */
#include "ts_licensing.h"

#include "ts_passwd.h"

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

void
ts_licensing_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  json_t *products = ts_licensing_products(lc), *p;
  long total = 0;
  int up, gone, proxies, valid, counted = 1;
  apr_uint64_t count_failures, audit_failures;
  apr_uint64_t commits, steps;
  ts_bus_t *bus = ts_licensing_bus(lc);
  size_t i;

  (void)pool;
  ts_licensing_store_stats(&commits, &steps, lc);
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
      counted = 0;
      continue;
    }
    total += (long)json_integer_value(json_object_get(p, "used"));
    ts_prom_int(prom, "tessera_license_seats_used", (const char *const[]){
                "product", json_string_value(json_object_get(p, "name")),
                NULL }, json_integer_value(json_object_get(p, "used")));
  }
  json_decref(products);
  ts_registry_counts(lc->registry, &up, &gone, &proxies);
  apr_thread_mutex_lock(lc->lock);
  valid = lc->license != NULL;
  count_failures = lc->count_failures;
  audit_failures = lc->audit_failures;
  apr_thread_mutex_unlock(lc->lock);
  ts_prom_family(prom, "tessera_sessions", "gauge", "Open sessions (seats "
                 "in use, all products).");
  if (counted)
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
