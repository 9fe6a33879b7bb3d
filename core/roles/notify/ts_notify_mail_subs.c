/* ts_notify_mail_subs.c: subscriptions — their targets
 * (MODEL[@VERSION][/ELEMENT]), addresses, and the rows that keep them
 * (see ts_notify_mail.h). */
#include "ts_notify_mail_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_models.h"

static const char *const every_names[] = { "immediate", "daily", "weekly",
                                           "monthly" };

const char *
ts_mail_every_name(ts_mail_every_t every)
{
  return every_names[every];
}

int
ts_mail_every_parse(const char *name)
{
  for (int i = 0; name && i < 4; i++)
    if (strcmp(name, every_names[i]) == 0)
      return i;
  return -1;
}

/* TEXT as an element id: digits only, 1..2^53. */
static apr_int64_t
element_id(const char *text)
{
  apr_size_t n = strlen(text);
  apr_int64_t id;

  if (n < 1 || n > 15 || strspn(text, "0123456789") != n)
    return 0;
  id = apr_atoi64(text);
  return id;
}

ts_error_t *
ts_mail_target_parse(ts_mail_sub_t *sub, const char *target,
                     apr_pool_t *pool)
{
  char *t = apr_pstrdup(pool, target ? target : "");
  char *slash = strchr(t, '/'), *at;

  sub->version = NULL;
  sub->element = 0;
  if (slash) {
    *slash = '\0';
    sub->element = element_id(slash + 1);
    if (!sub->element)
      return ts_error_createf(TS_EINVAL, "'%s': an element is named by its "
                              "id, a positive number (MODEL[@VERSION]"
                              "/ELEMENT, e.g. bridge@v1/42)", target);
  }
  at = strchr(t, '@');
  if (at) {
    *at = '\0';
    if (!ts_models_valid_name(at + 1))
      return ts_error_createf(TS_EINVAL, "'%s': the version '%s' is not a "
                              "valid version name (1 to 128 of A-Z a-z 0-9 "
                              ". _ -, not beginning with '.')", target,
                              at + 1);
    sub->version = at + 1;
  }
  if (!ts_models_valid_name(t))
    return ts_error_createf(TS_EINVAL, "'%s': the model '%s' is not a valid "
                            "model name (1 to 128 of A-Z a-z 0-9 . _ -, not "
                            "beginning with '.'); write MODEL[@VERSION]"
                            "[/ELEMENT]", target, t);
  sub->model = t;
  return NULL;
}

const char *
ts_mail_target(const ts_mail_sub_t *sub, apr_pool_t *pool)
{
  return apr_pstrcat(pool, sub->model, sub->version ? "@" : "",
                     sub->version ? sub->version : "",
                     sub->element ? apr_psprintf(pool, "/%" APR_INT64_T_FMT,
                                                 sub->element) : "", NULL);
}

ts_error_t *
ts_mail_address_check(const char *address, apr_pool_t *pool)
{
  const char *at = address ? strrchr(address, '@') : NULL;
  apr_size_t n = address ? strlen(address) : 0;

  if (!address || !*address)
    return ts_error_createf(TS_EINVAL, "no mail address given; write one "
                            "as local@domain, e.g. alice@example.com");
  for (const unsigned char *c = (const unsigned char *)address; *c; c++)
    if (*c <= ' ' || *c == 0x7f || strchr("<>\"(),;:\\[]", *c))
      return ts_error_createf(TS_EINVAL, "the mail address '%s' holds a "
                              "character an address we send to may not "
                              "(space, control character or one of "
                              "<>\"(),;:\\[]); write it as local@domain",
                              ts_log_quote(address, 254, pool));
  if (n > 254 || !at || at == address || !at[1] || strchr(address, '@') != at
      || !strchr(at + 1, '.') || at[1] == '.' || address[n - 1] == '.')
    return ts_error_createf(TS_EINVAL, "'%s' is not a mail address; write "
                            "one as local@domain, e.g. alice@example.com "
                            "(at most 254 characters)",
                            ts_log_quote(address, 254, pool));
  return NULL;
}

/* SUB's fields as the database keeps them, bound to Q from 1: user,
 * model, version, element, every, mail. */
static void
bind_sub(sqlite3_stmt *q, const ts_mail_sub_t *sub)
{
  sqlite3_bind_text(q, 1, sub->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, sub->model, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, sub->version ? sub->version : "", -1,
                    SQLITE_STATIC);
  sqlite3_bind_int64(q, 4, sub->element);
  sqlite3_bind_text(q, 5, ts_mail_every_name(sub->every), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, sub->mail, -1, SQLITE_STATIC);
}

/* Validate SUB's fields. */
static ts_error_t *
check_sub(const ts_mail_sub_t *sub, apr_pool_t *pool)
{
  apr_size_t n = sub->user ? strlen(sub->user) : 0;

  if (n < 1 || n > 256)
    return ts_error_createf(TS_EINVAL, "a subscription needs the user it "
                            "is for (1 to 256 characters)");
  for (const unsigned char *c = (const unsigned char *)sub->user; *c; c++)
    if (*c < ' ' || *c == 0x7f)
      return ts_error_createf(TS_EINVAL, "the user name '%s' holds a "
                              "control character",
                              ts_log_quote(sub->user, 256, pool));
  if (!ts_models_valid_name(sub->model)
      || (sub->version && !ts_models_valid_name(sub->version))
      || sub->element < 0)
    return ts_error_createf(TS_EINVAL, "a subscription's model, version "
                            "and element must follow the naming rules "
                            "(MODEL[@VERSION][/ELEMENT])");
  if ((int)sub->every < 0 || (int)sub->every > TS_MAIL_MONTHLY)
    return ts_error_createf(TS_EINVAL, "every must be immediate, daily, "
                            "weekly or monthly");
  return ts_mail_address_check(sub->mail, pool);
}

ts_error_t *
ts_mail_subscribe(int *created, ts_mail_t *m, ts_mail_sub_t *sub,
                  apr_pool_t *pool)
{
  sqlite3_stmt *q = NULL;
  ts_error_t *err = NULL;
  int rc;

  TS_ERR(check_sub(sub, pool));
  sub->created = apr_time_now();
  apr_thread_mutex_lock(m->lock);
  rc = sqlite3_prepare_v2(m->db, "INSERT INTO subscriptions (user, model, "
                          "version, element, every, mail, created) VALUES "
                          "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user, model, "
                          "version, element, mail) DO UPDATE SET every = "
                          "excluded.every RETURNING id, created", -1, &q,
                          NULL);
  if (rc == SQLITE_OK) {
    bind_sub(q, sub);
    sqlite3_bind_int64(q, 7, apr_time_as_msec(sub->created));
    rc = sqlite3_step(q);
  }
  if (rc == SQLITE_ROW) {
    apr_int64_t made = sqlite3_column_int64(q, 1);
    sub->id = sqlite3_column_int64(q, 0);
    *created = made == apr_time_as_msec(sub->created);
    sub->created = apr_time_from_msec(made);
    rc = sqlite3_step(q);
  }
  if (rc != SQLITE_DONE)
    err = ts_mail__db_error(m, rc, "adding a subscription");
  sqlite3_finalize(q);
  apr_thread_mutex_unlock(m->lock);
  return err;
}

ts_error_t *
ts_mail_unsubscribe(int *removed, ts_mail_t *m, apr_int64_t id,
                    apr_pool_t *pool)
{
  char *sql;
  ts_error_t *err = NULL;
  int rc;

  *removed = 0;
  sql = apr_psprintf(pool, "BEGIN IMMEDIATE; DELETE FROM outbox WHERE sub = "
                     "%" APR_INT64_T_FMT " AND sent IS NULL; DELETE FROM "
                     "subscriptions WHERE id = %" APR_INT64_T_FMT ";", id,
                     id);
  apr_thread_mutex_lock(m->lock);
  rc = sqlite3_exec(m->db, sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK) {
    *removed = sqlite3_changes(m->db) > 0;
    rc = sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    err = ts_mail__db_error(m, rc, "removing a subscription");
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
  }
  apr_thread_mutex_unlock(m->lock);
  return err;
}

/* The row of Q (id, user, model, version, element, every, mail, created)
 * into SUB. */
static void
read_sub(ts_mail_sub_t *sub, sqlite3_stmt *q, apr_pool_t *pool)
{
#define COLTEXT(i) apr_pstrdup(pool, (const char *)sqlite3_column_text(q, i))
  sub->id = sqlite3_column_int64(q, 0);
  sub->user = COLTEXT(1);
  sub->model = COLTEXT(2);
  sub->version = COLTEXT(3);
  if (!*sub->version)
    sub->version = NULL;
  sub->element = sqlite3_column_int64(q, 4);
  sub->every = (ts_mail_every_t)ts_mail_every_parse(COLTEXT(5));
  if ((int)sub->every < 0)
    sub->every = TS_MAIL_IMMEDIATE;
  sub->mail = COLTEXT(6);
  sub->created = apr_time_from_msec(sqlite3_column_int64(q, 7));
#undef COLTEXT
}

ts_error_t *
ts_mail_list(apr_array_header_t **subs, ts_mail_t *m, const char *user,
             apr_pool_t *pool)
{
  sqlite3_stmt *q = NULL;
  ts_error_t *err = NULL;
  int rc;

  *subs = apr_array_make(pool, 8, sizeof(ts_mail_sub_t));
  apr_thread_mutex_lock(m->lock);
  rc = sqlite3_prepare_v2(m->db, "SELECT id, user, model, version, element, "
                          "every, mail, created FROM subscriptions WHERE "
                          "?1 IS NULL OR user = ?1 ORDER BY id", -1, &q,
                          NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
      read_sub(apr_array_push(*subs), q, pool);
  }
  if (rc != SQLITE_DONE)
    err = ts_mail__db_error(m, rc, "listing the subscriptions");
  sqlite3_finalize(q);
  apr_thread_mutex_unlock(m->lock);
  return err;
}
