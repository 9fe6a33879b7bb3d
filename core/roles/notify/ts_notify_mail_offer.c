/* ts_notify_mail_offer.c: what the bus says, recorded for the
 * subscriptions it matches (ts_mail_offer, on the bus thread).
 *
 * Mailed: an element's create, update and delete (models/<m>/<v>/
 * elements/<id>; reserve and release change nothing a reader sees) and a
 * version's start, stop and crash (versions/<m>/<v>: the states running,
 * stopped, crashed; backups, "readonly:<m>", are never started by users
 * and left out). The line a mail says about a change is made here, in
 * the service's language, from the payload's fields (quoted: they come
 * from a model server's client).
 *
 * Once per (subscription, change): an element change's key is a hash of
 * its topic and payload (the payload has the change's time and revision;
 * the bus never sends one twice, but the key holds across restarts, where
 * event ids start again). A version's state is retained on the bus and
 * repeated after every reconnect: it is a change only when it differs
 * from the last state of that version the service heard (version_states,
 * kept whether anyone subscribed or not), and its key chains the one
 * before, so the same state again after another one is a change of its
 * own. A state that changed while the service was down is mailed when
 * the bus repeats it.
 */
#include "ts_notify_mail_impl.h"

#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include <sodium.h>

#include "ts_i18n.h"
#include "ts_models.h"

typedef struct offer_t {
  const char *topic;
  const char *model, *version;
  apr_int64_t element;          /* 0: a version's state */
  const char *line;             /* what the mail says */
  const char *key;              /* the change's identity (elements) */
  const char *state_key;        /* a version state's hash (versions) */
} offer_t;

/* The hex BLAKE2b-128 of A "\n" B ("\n" C). */
static const char *
hash(const char *a, const char *b, apr_size_t blen, const char *c,
     apr_pool_t *pool)
{
  crypto_generichash_state st;
  unsigned char out[16];
  char *hex = apr_palloc(pool, 2 * sizeof(out) + 1);

  crypto_generichash_init(&st, NULL, 0, sizeof(out));
  crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
  crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
  crypto_generichash_update(&st, (const unsigned char *)b, blen);
  if (c) {
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&st, (const unsigned char *)c, strlen(c));
  }
  crypto_generichash_final(&st, out, sizeof(out));
  return sodium_bin2hex(hex, 2 * sizeof(out) + 1, out, sizeof(out));
}

/* WHEN as local "2026-11-30 10:15". */
static const char *
local_time(apr_time_t when, apr_pool_t *pool)
{
  apr_time_exp_t t;

  apr_time_exp_lt(&t, when);
  return apr_psprintf(pool, "%04d-%02d-%02d %02d:%02d", t.tm_year + 1900,
                      t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min);
}

/* A string field of J, quoted for a mail, or "?". */
static const char *
field(json_t *j, const char *name, apr_pool_t *pool)
{
  const char *v = json_string_value(json_object_get(j, name));

  return v && *v ? ts_log_quote(v, 200, pool) : "?";
}

/* The line for an element change J (OP create, update, delete). */
static const char *
element_line(const offer_t *o, json_t *j, const char *op, apr_pool_t *pool)
{
  const char *target = apr_psprintf(pool, "%s@%s/%" APR_INT64_T_FMT,
                                    o->model, o->version, o->element);
  json_int_t ms = json_integer_value(json_object_get(j, "at_ms"));
  const char *when = local_time(ms > 0 ? apr_time_from_msec(ms)
                                : apr_time_now(), pool);
  const char *who = field(j, "user", pool);
  long rev = (long)json_integer_value(json_object_get(j, "revision"));

  if (strcmp(op, "delete") == 0)
    return apr_psprintf(pool, _("%s: deleted by %s at %s"), target, who,
                        when);
  if (strcmp(op, "create") == 0)
    return apr_psprintf(pool, _("%s: \"%s\" (%s) created by %s at %s, "
                        "revision %ld"), target, field(j, "name", pool),
                        field(j, "type", pool), who, when, rev);
  return apr_psprintf(pool, _("%s: \"%s\" (%s) changed by %s at %s, "
                      "revision %ld"), target, field(j, "name", pool),
                      field(j, "type", pool), who, when, rev);
}

/* The line for a version's STATE in J. */
static const char *
version_line(const offer_t *o, json_t *j, const char *state,
             apr_pool_t *pool)
{
  const char *target = apr_pstrcat(pool, o->model, "@", o->version, NULL);
  const char *when = local_time(apr_time_now(), pool);

  if (strcmp(state, "running") == 0)
    return apr_psprintf(pool, _("%s: started on %s port %ld at %s"), target,
                        field(j, "host", pool),
                        (long)json_integer_value(json_object_get(j, "port")),
                        when);
  if (strcmp(state, "stopped") == 0)
    return apr_psprintf(pool, _("%s: stopped at %s"), target, when);
  return apr_psprintf(pool, _("%s: crashed at %s (%s)"), target, when,
                      field(j, "reason", pool));
}

/* TOPIC's parts into O; 0 when it is no topic mails are made of. */
static int
parse_topic(offer_t *o, const char *topic, apr_pool_t *pool)
{
  char *t = apr_pstrdup(pool, topic), *last;
  const char *kind = apr_strtok(t, "/", &last);
  const char *parts[4] = { NULL };
  int n = 0;

  for (char *p; n < 4 && (p = apr_strtok(NULL, "/", &last)); )
    parts[n++] = p;
  if (apr_strtok(NULL, "/", &last) || !kind)
    return 0;
  o->topic = topic;
  o->model = parts[0];
  o->version = parts[1];
  if (strcmp(kind, "versions") == 0 && n == 2)
    o->element = 0;
  else if (strcmp(kind, "models") == 0 && n == 4
           && strcmp(parts[2], "elements") == 0) {
    apr_size_t digits = strspn(parts[3], "0123456789");
    if (digits < 1 || digits > 15 || parts[3][digits])
      return 0;
    o->element = apr_atoi64(parts[3]);
    if (o->element < 1)
      return 0;
  }
  else
    return 0;
  return ts_models_valid_name(o->model) && ts_models_valid_name(o->version);
}

/* What PAYLOAD (LEN bytes) of O's topic says, into O; 0 when it is no
 * change mails are made of. */
static int
parse_payload(offer_t *o, const char *payload, apr_size_t len,
              apr_pool_t *pool)
{
  json_t *j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
  const char *what = NULL;
  int ok = 0;

  if (json_is_object(j) && o->element) {
    what = json_string_value(json_object_get(j, "op"));
    ok = what && (strcmp(what, "create") == 0 || strcmp(what, "update") == 0
                  || strcmp(what, "delete") == 0);
    if (ok) {
      o->line = element_line(o, j, what, pool);
      o->key = hash(o->topic, payload, len, NULL, pool);
    }
  }
  else if (json_is_object(j)) {
    what = json_string_value(json_object_get(j, "state"));
    /* every state counts as the last one heard; running, stopped and
     * crashed are mailed */
    ok = what != NULL;
    if (ok) {
      o->state_key = hash(o->topic, payload, len, NULL, pool);
      if (strcmp(what, "running") == 0 || strcmp(what, "stopped") == 0
          || strcmp(what, "crashed") == 0)
        o->line = version_line(o, j, what, pool);
    }
  }
  json_decref(j);
  return ok;
}

/* Whether O's version state is a change: unlike the last one heard (then
 * it becomes the last one, and *KEY the change's key). Under LOCK, in
 * the offer's transaction. */
static int
version_changed(ts_mail_t *m, offer_t *o, apr_pool_t *pool)
{
  sqlite3_stmt *q = NULL;
  const char *prev = NULL;
  int rc = sqlite3_prepare_v2(m->db, "SELECT key FROM version_states WHERE "
                              "topic = ?", -1, &q, NULL);

  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, o->topic, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(q)) == SQLITE_ROW)
      prev = apr_pstrdup(pool, (const char *)sqlite3_column_text(q, 0));
  }
  sqlite3_finalize(q);
  if (prev && strcmp(prev, o->state_key) == 0)
    return 0;
  rc = sqlite3_prepare_v2(m->db, "INSERT INTO version_states (topic, key) "
                          "VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET "
                          "key = excluded.key", -1, &q, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, o->topic, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, o->state_key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    ts_mail__db_failed(m, "keeping a version's state");
  o->key = hash(o->topic, o->state_key, strlen(o->state_key),
                prev ? prev : "", pool);
  return o->line != NULL;
}

/* Record O for every subscription it matches (under LOCK, in the offer's
 * transaction); the number recorded. */
static int
record(ts_mail_t *m, const offer_t *o)
{
  sqlite3_stmt *q = NULL;
  int rc, n = 0;

  rc = sqlite3_prepare_v2(m->db, "INSERT OR IGNORE INTO changes (sub, key, "
                          "line, at) SELECT id, ?4, ?5, ?6 FROM "
                          "subscriptions WHERE model = ?1 AND (version = '' "
                          "OR version = ?2) AND (element = 0 OR element = "
                          "?3) AND (?3 <> 0 OR element = 0)", -1, &q, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, o->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, o->version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, o->element);
    sqlite3_bind_text(q, 4, o->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, o->line, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, apr_time_as_msec(apr_time_now()));
    rc = sqlite3_step(q);
    n = sqlite3_changes(m->db);
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE) {
    ts_mail__db_failed(m, "recording a change");
    return 0;
  }
  return n;
}

void
ts_mail_offer(ts_mail_t *m, const char *topic, const char *payload,
              apr_size_t len, apr_uint64_t event_id)
{
  offer_t o = { 0 };
  apr_pool_t *pool;
  int n = 0;

  /* the key of "once" is the topic and payload's: EVENT_ID starts again
   * with the service */
  (void)event_id;
  if (!m || !topic || !payload)
    return;
  apr_thread_mutex_lock(m->lock);
  pool = m->offer_pool;
  if (!m->stopping && parse_topic(&o, topic, pool)
      && parse_payload(&o, payload, len, pool)) {
    if (sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)
        != SQLITE_OK)
      ts_mail__db_failed(m, "starting to record a change");
    else {
      if (o.element || version_changed(m, &o, pool))
        n = record(m, &o);
      if (sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        ts_mail__db_failed(m, "recording a change");
        sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
        n = 0;
      }
    }
  }
  m->recorded += n;
  if (n)
    ts_mail__wake(m);
  apr_pool_clear(pool);
  apr_thread_mutex_unlock(m->lock);
}
