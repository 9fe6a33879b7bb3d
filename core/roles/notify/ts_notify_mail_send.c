/* ts_notify_mail_send.c: the sender thread. Each round, under LOCK, it
 * composes what is due into the outbox — one notice per change of an
 * immediate subscription, one digest per other subscription once its
 * period ended (periods end at tessera.xml digest-hour local time: every
 * day, on Mondays, on the 1st of a month) — then takes the oldest mail
 * whose time has come and sends it without LOCK. Accepted: marked sent
 * in one transaction right after. Refused or unreachable: the next
 * attempt after retry-seconds, doubling up to retry-max-seconds, kept in
 * the row, so a restart keeps the schedule. It sleeps until the next
 * attempt or period end (at most a minute), or until an offer wakes it.
 *
 * Composing marks the changes with their mail in the same transaction
 * that adds the mail, so a change goes into one mail only.
 */
#include "ts_notify_mail_impl.h"

#include <string.h>
#include <time.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_text.h"

#define KEEP_SENT_MS (30LL * 24 * 3600 * 1000)   /* sent mails' record */
#define MAX_SLEEP apr_time_from_sec(60)

static apr_int64_t
now_ms(void)
{
  return apr_time_as_msec(apr_time_now());
}

/* NOW (ms) as a struct tm in local time, at HOUR:00:00. */
static struct tm
local_at(apr_int64_t now, int hour)
{
  apr_time_exp_t e;
  struct tm t = { 0 };

  apr_time_exp_lt(&e, apr_time_from_msec(now));
  t.tm_year = e.tm_year;
  t.tm_mon = e.tm_mon;
  t.tm_mday = e.tm_mday;
  t.tm_wday = e.tm_wday;
  t.tm_hour = hour;
  t.tm_isdst = -1;
  return t;
}

/* T (local) in ms; mktime normalises days and months out of range. */
static apr_int64_t
ms_of(struct tm t)
{
  t.tm_isdst = -1;
  return (apr_int64_t)mktime(&t) * 1000;
}

/* The end of the last period of EVERY at or before NOW (ms), and the end
 * of the period after it (*NEXT). */
static apr_int64_t
period_end(apr_int64_t *next, ts_mail_every_t every, apr_int64_t now,
           int hour)
{
  struct tm t = local_at(now, hour), n;
  apr_int64_t end;

  if (every == TS_MAIL_WEEKLY)
    t.tm_mday -= (t.tm_wday + 6) % 7;          /* back to Monday */
  else if (every == TS_MAIL_MONTHLY)
    t.tm_mday = 1;
  end = ms_of(t);
  if (end > now) {
    if (every == TS_MAIL_MONTHLY)
      t.tm_mon--;
    else
      t.tm_mday -= every == TS_MAIL_WEEKLY ? 7 : 1;
    end = ms_of(t);
  }
  n = t;
  if (every == TS_MAIL_MONTHLY)
    n.tm_mon++;
  else
    n.tm_mday += every == TS_MAIL_WEEKLY ? 7 : 1;
  *next = ms_of(n);
  return end;
}

/* Q prepared on M's database with SQL, or NULL (logged). */
static sqlite3_stmt *
prep(ts_mail_t *m, const char *sql)
{
  sqlite3_stmt *q = NULL;

  if (sqlite3_prepare_v2(m->db, sql, -1, &q, NULL) != SQLITE_OK) {
    ts_mail__db_failed(m, "preparing a statement");
    sqlite3_finalize(q);
    return NULL;
  }
  return q;
}

/* Run Q to its end and finalize it; whether it succeeded. */
static int
run(sqlite3_stmt *q)
{
  int rc = q ? sqlite3_step(q) : SQLITE_ERROR;

  sqlite3_finalize(q);
  return rc == SQLITE_DONE;
}

/* Add a mail to SUB's address RCPT with SUBJECT and BODY and give it the
 * changes of SUB with ids up to LAST recorded before BEFORE (ms); in one
 * transaction. Under LOCK. */
static void
enqueue(ts_mail_t *m, apr_int64_t sub, const char *rcpt,
        const char *subject, const char *body, apr_int64_t last,
        apr_int64_t before, apr_pool_t *pool)
{
  const char *rnd = NULL;
  ts_error_t *err = ts_random_hex(&rnd, 12, pool);
  sqlite3_stmt *q;
  int ok;

  if (err) {   /* zeros: the outbox id still tells mails apart */
    ts_log_error(m->log, TS_LOG_WARNING, err, "a mail's Message-ID");
    ts_error_clear(err);
  }
  if (sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
    ts_mail__db_failed(m, "composing a mail");
    return;
  }
  q = prep(m, "INSERT INTO outbox (sub, message_id, rcpt, subject, body, "
           "date, next_try) VALUES (?1, '<' || ?2 || '.' || (SELECT "
           "IFNULL(MAX(id), 0) + 1 FROM outbox) || '@' || ?3 || '>', ?4, "
           "?5, ?6, ?7, 0)");
  if (q) {
    sqlite3_bind_int64(q, 1, sub);
    sqlite3_bind_text(q, 2, rnd, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, m->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, rcpt, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now_ms());
  }
  ok = run(q);
  q = ok ? prep(m, "UPDATE changes SET mail = last_insert_rowid() WHERE "
                "sub = ?1 AND mail IS NULL AND id <= ?2 AND at < ?3") : NULL;
  if (q) {
    sqlite3_bind_int64(q, 1, sub);
    sqlite3_bind_int64(q, 2, last);
    sqlite3_bind_int64(q, 3, before);
  }
  ok = ok && run(q);
  if (!ok || sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL)) {
    ts_mail__db_failed(m, apr_psprintf(pool, "composing a mail to %s",
                                       rcpt));
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
  }
}

/* A subscription with changes not in a mail yet. */
typedef struct pending_t {
  ts_mail_sub_t sub;
  apr_int64_t first_at;         /* the oldest change's time (ms) */
  apr_int64_t last_id;          /* the newest change's id */
} pending_t;

/* The subscriptions with changes waiting (at most 100 per round). */
static apr_array_header_t *
pending(ts_mail_t *m, apr_pool_t *pool)
{
  apr_array_header_t *list = apr_array_make(pool, 8, sizeof(pending_t));
  sqlite3_stmt *q = prep(m, "SELECT s.id, s.user, s.model, s.version, "
                         "s.element, s.every, s.mail, MIN(c.at), MAX(c.id) "
                         "FROM subscriptions s JOIN changes c ON c.sub = "
                         "s.id AND c.mail IS NULL GROUP BY s.id LIMIT 100");

  while (q && sqlite3_step(q) == SQLITE_ROW) {
    pending_t *p = apr_array_push(list);
#define COLTEXT(i) apr_pstrdup(pool, (const char *)sqlite3_column_text(q, i))
    p->sub.id = sqlite3_column_int64(q, 0);
    p->sub.user = COLTEXT(1);
    p->sub.model = COLTEXT(2);
    p->sub.version = *sqlite3_column_text(q, 3) ? COLTEXT(3) : NULL;
    p->sub.element = sqlite3_column_int64(q, 4);
    p->sub.every = (ts_mail_every_t)ts_mail_every_parse(COLTEXT(5));
    p->sub.mail = COLTEXT(6);
#undef COLTEXT
    if ((int)p->sub.every < 0)
      p->sub.every = TS_MAIL_IMMEDIATE;
    p->first_at = sqlite3_column_int64(q, 7);
    p->last_id = sqlite3_column_int64(q, 8);
  }
  sqlite3_finalize(q);
  return list;
}

/* The end of every mail: why it came and how to stop it. */
static const char *
footer(ts_mail_t *m, const ts_mail_sub_t *sub, apr_pool_t *pool)
{
  const char *target = ts_mail_target(sub, pool);

  return apr_psprintf(pool, _("\nYou get this mail because %s was "
    "subscribed to %s (%s) at the notification service on %s.\nTo stop "
    "it: tessera-admin notify unsubscribe %s %s\n"), sub->user, target,
    ts_mail_every_name(sub->every), m->host, sub->user, target);
}

/* One notice per change of P (an immediate subscription). */
static void
notices(ts_mail_t *m, const pending_t *p, apr_pool_t *pool)
{
  apr_array_header_t *ids = apr_array_make(pool, 8, sizeof(apr_int64_t));
  apr_array_header_t *lines = apr_array_make(pool, 8, sizeof(char *));
  const char *target = ts_mail_target(&p->sub, pool);
  sqlite3_stmt *q = prep(m, "SELECT id, line FROM changes WHERE sub = ? "
                         "AND mail IS NULL ORDER BY id LIMIT 100");

  if (q)
    sqlite3_bind_int64(q, 1, p->sub.id);
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    APR_ARRAY_PUSH(ids, apr_int64_t) = sqlite3_column_int64(q, 0);
    APR_ARRAY_PUSH(lines, const char *) =
      apr_pstrdup(pool, (const char *)sqlite3_column_text(q, 1));
  }
  sqlite3_finalize(q);
  for (int i = 0; i < ids->nelts; i++) {
    const char *body = apr_pstrcat(pool, apr_psprintf(pool, _("Hello %s,\n"
      "\n%s changed:\n\n"), p->sub.user, target), "  ",
      APR_ARRAY_IDX(lines, i, const char *), "\n", footer(m, &p->sub, pool),
      NULL);
    enqueue(m, p->sub.id, p->sub.mail, apr_psprintf(pool, _("[Tessera] a "
            "change of %s"), target), body, APR_ARRAY_IDX(ids, i,
            apr_int64_t), APR_INT64_MAX, pool);
  }
}

/* The subject of a digest of N changes of TARGET. */
static const char *
digest_subject(ts_mail_every_t every, long n, const char *target,
               apr_pool_t *pool)
{
  if (every == TS_MAIL_DAILY)
    return apr_psprintf(pool, _("[Tessera] daily digest: %ld changes of %s"),
                        n, target);
  if (every == TS_MAIL_WEEKLY)
    return apr_psprintf(pool, _("[Tessera] weekly digest: %ld changes of "
                        "%s"), n, target);
  return apr_psprintf(pool, _("[Tessera] monthly digest: %ld changes of %s"),
                      n, target);
}

/* One digest of P's changes recorded before END (ms). */
static void
digest(ts_mail_t *m, const pending_t *p, apr_int64_t end, apr_pool_t *pool)
{
  const char *target = ts_mail_target(&p->sub, pool);
  sqlite3_stmt *q = prep(m, "SELECT id, line FROM changes WHERE sub = ? "
                         "AND mail IS NULL AND at < ? ORDER BY id");
  apr_int64_t last = 0;
  ts_text_t body;
  long n = 0;
  apr_time_exp_t e;

  apr_time_exp_lt(&e, apr_time_from_msec(end));
  ts_text_init(&body, pool);
  if (q) {
    sqlite3_bind_int64(q, 1, p->sub.id);
    sqlite3_bind_int64(q, 2, end);
  }
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    const char *line = (const char *)sqlite3_column_text(q, 1);
    last = sqlite3_column_int64(q, 0);
    ts_text_append(&body, "  ", 2);
    ts_text_append(&body, line, strlen(line));
    ts_text_append(&body, "\n", 1);
    n++;
  }
  sqlite3_finalize(q);
  if (!n)
    return;
  enqueue(m, p->sub.id, p->sub.mail,
          digest_subject(p->sub.every, n, target, pool),
          apr_pstrcat(pool, apr_psprintf(pool, _("Hello %s,\n\nthe changes "
                      "of %s until %04d-%02d-%02d %02d:00:\n\n"),
                      p->sub.user, target, e.tm_year + 1900, e.tm_mon + 1,
                      e.tm_mday, e.tm_hour), body.data,
                      footer(m, &p->sub, pool), NULL),
          last, end, pool);
}

/* Compose what is due (under LOCK); the time (ms) of the next period end
 * that will make a digest due. */
static apr_int64_t
compose(ts_mail_t *m, apr_pool_t *pool)
{
  apr_array_header_t *list = pending(m, pool);
  apr_int64_t now = now_ms(), wake = APR_INT64_MAX;

  for (int i = 0; i < list->nelts; i++) {
    const pending_t *p = &APR_ARRAY_IDX(list, i, pending_t);
    apr_int64_t next, end;
    if (p->sub.every == TS_MAIL_IMMEDIATE) {
      notices(m, p, pool);
      continue;
    }
    end = period_end(&next, p->sub.every, now, m->smtp.digest_hour);
    if (p->first_at < end)
      digest(m, p, end, pool);
    if (next < wake)
      wake = next;
  }
  return list->nelts == 100 ? now : wake;   /* more than a round's */
}

/* The oldest mail whose attempt is due into OUT; 0: none. Under LOCK. */
static int
pick(ts_mail_t *m, ts_mail_out_t *out, apr_pool_t *pool)
{
  sqlite3_stmt *q = prep(m, "SELECT id, message_id, rcpt, subject, body, "
                         "date, attempts FROM outbox WHERE sent IS NULL AND "
                         "next_try <= ? ORDER BY next_try, id LIMIT 1");
  int found = 0;

  if (q)
    sqlite3_bind_int64(q, 1, now_ms());
  if (q && sqlite3_step(q) == SQLITE_ROW) {
#define COLTEXT(i) apr_pstrdup(pool, (const char *)sqlite3_column_text(q, i))
    out->id = sqlite3_column_int64(q, 0);
    out->message_id = COLTEXT(1);
    out->rcpt = COLTEXT(2);
    out->subject = COLTEXT(3);
    out->body = COLTEXT(4);
#undef COLTEXT
    out->date = apr_time_from_msec(sqlite3_column_int64(q, 5));
    out->attempts = sqlite3_column_int(q, 6);
    found = 1;
  }
  sqlite3_finalize(q);
  return found;
}

/* When the next attempt is due (ms), or APR_INT64_MAX. Under LOCK. */
static apr_int64_t
next_due(ts_mail_t *m)
{
  sqlite3_stmt *q = prep(m, "SELECT MIN(next_try) FROM outbox WHERE sent "
                         "IS NULL");
  apr_int64_t due = APR_INT64_MAX;

  if (q && sqlite3_step(q) == SQLITE_ROW
      && sqlite3_column_type(q, 0) != SQLITE_NULL)
    due = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return due;
}

/* The wait (ms) after ATTEMPTS failed ones: retry-seconds doubling up to
 * retry-max-seconds. */
static apr_int64_t
backoff(const ts_mail_t *m, int attempts)
{
  apr_int64_t wait = (apr_int64_t)m->smtp.retry_seconds * 1000;

  for (int i = 1; i < attempts && wait < m->smtp.retry_max_seconds * 1000LL;
       i++)
    wait *= 2;
  if (wait > m->smtp.retry_max_seconds * 1000LL)
    wait = m->smtp.retry_max_seconds * 1000LL;
  return wait;
}

/* What the attempt to send OUT gave (ERR: NULL when the server took it),
 * kept in its row at once. Under LOCK. */
static void
result(ts_mail_t *m, const ts_mail_out_t *out, ts_error_t *err,
       apr_pool_t *pool)
{
  apr_int64_t wait = err ? backoff(m, out->attempts + 1) : 0;
  sqlite3_stmt *q = prep(m, err ? "UPDATE outbox SET attempts = attempts + "
                         "1, next_try = ?2, error = ?3 WHERE id = ?1"
                         : "UPDATE outbox SET attempts = attempts + 1, "
                           "sent = ?2, error = NULL WHERE id = ?1");
  const char *why = err ? ts_error_text(err, pool) : NULL;

  if (q) {
    sqlite3_bind_int64(q, 1, out->id);
    sqlite3_bind_int64(q, 2, now_ms() + wait);
    if (why)
      sqlite3_bind_text(q, 3, why, -1, SQLITE_STATIC);
  }
  if (!run(q))
    ts_mail__db_failed(m, err ? "keeping a failed attempt" : "marking a "
                       "mail sent (it may go out once more after a "
                       "restart)");
  if (err) {
    m->failed++;
    ts_log(m->log, TS_LOG_WARNING, "mail %s to %s not delivered (attempt "
           "%d): %s; trying again in %ld s", out->message_id, out->rcpt,
           out->attempts + 1, why, (long)(wait / 1000));
  }
  else {
    m->sent++;
    ts_log(m->log, TS_LOG_INFO, "mail %s to %s delivered to %s port %d",
           out->message_id, out->rcpt, m->smtp.smtp_host,
           m->smtp.smtp_port);
  }
}

/* Forget sent mails and their changes after KEEP_SENT_MS. Under LOCK. */
static void
prune(ts_mail_t *m)
{
  sqlite3_stmt *q = prep(m, "DELETE FROM changes WHERE mail IN (SELECT id "
                         "FROM outbox WHERE sent < ?1)");

  if (q)
    sqlite3_bind_int64(q, 1, now_ms() - KEEP_SENT_MS);
  if (!run(q))
    return;
  q = prep(m, "DELETE FROM outbox WHERE sent < ?1");
  if (q)
    sqlite3_bind_int64(q, 1, now_ms() - KEEP_SENT_MS);
  run(q);
}

/* One round (under LOCK): compose, prune, send one mail that is due
 * (LOCK let go meanwhile). Whether it sent; else *WAKE: when to look
 * again (ms). */
static int
round_once(ts_mail_t *m, apr_int64_t *wake, apr_int64_t *pruned,
           apr_pool_t *pool)
{
  ts_mail_out_t out;
  ts_error_t *err;

  m->passes++;
  m->woken = 0;
  *wake = compose(m, pool);
  if (*pruned < now_ms() - 3600 * 1000) {
    prune(m);
    *pruned = now_ms();
  }
  if (!m->smtp.smtp_host)
    return 0;
  if (!pick(m, &out, pool)) {
    apr_int64_t due = next_due(m);
    if (due < *wake)
      *wake = due;
    return 0;
  }
  apr_thread_mutex_unlock(m->lock);
  err = ts_mail__smtp_send(m, &out, pool);
  apr_thread_mutex_lock(m->lock);
  result(m, &out, err, pool);
  ts_error_clear(err);
  return 1;
}

void *APR_THREAD_FUNC
ts_mail__sender(apr_thread_t *thread, void *data)
{
  ts_mail_t *m = data;
  apr_pool_t *pool;
  apr_int64_t wake, pruned = 0;

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(m->lock);
  while (!m->stopping) {
    apr_pool_clear(pool);
    if (round_once(m, &wake, &pruned, pool) || m->woken || m->stopping)
      continue;
    wake -= now_ms();
    if (wake > apr_time_as_msec(MAX_SLEEP))
      wake = apr_time_as_msec(MAX_SLEEP);
    if (wake > 0) {
      m->waiting = 1;
      apr_thread_cond_timedwait(m->wake, m->lock, apr_time_from_msec(wake));
      m->waiting = 0;
    }
  }
  apr_thread_mutex_unlock(m->lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}
