/* ts_notify_mail.c: the mail part's database, its life (open, close),
 * what it counts (/metrics) and the password of the SMTP server (see
 * ts_notify_mail.h).
 *
 * DIR/mail.db (WAL, synchronous=FULL: a change recorded or a mail marked
 * sent is on disk when the call returns):
 *
 *   subscriptions  who gets what how often where; version '' is every
 *                  version, element 0 the whole version
 *   changes        one row per (subscription, change), UNIQUE on the
 *                  change's key (a hash of topic and payload); MAIL is
 *                  the outbox row it went into, NULL while it waits
 *   outbox         each composed mail with its Message-ID, its attempts
 *                  and the next one; SENT once the SMTP server took it
 *   version_states the last state of each version the service heard,
 *                  so the retained state the bus repeats after a
 *                  reconnect is not a change
 *
 * Sent mails and their changes are kept 30 days (the record that they
 * went out), then removed by the sender.
 */
#include "ts_notify_mail_impl.h"

#include <string.h>
#include <apr_atomic.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <sodium.h>

#include "ts_file.h"
#include "tsp.h"

#define DB_FILE "mail.db"

static const char schema[] =
  "PRAGMA journal_mode=WAL;"
  "PRAGMA synchronous=FULL;"
  "PRAGMA foreign_keys=ON;"
  "CREATE TABLE IF NOT EXISTS subscriptions ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
  " user TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,"
  " element INTEGER NOT NULL, every TEXT NOT NULL, mail TEXT NOT NULL,"
  " created INTEGER NOT NULL,"
  " UNIQUE (user, model, version, element, mail));"
  "CREATE INDEX IF NOT EXISTS subscriptions_model ON subscriptions(model);"
  "CREATE TABLE IF NOT EXISTS changes ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
  " sub INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,"
  " key TEXT NOT NULL, line TEXT NOT NULL, at INTEGER NOT NULL,"
  " mail INTEGER, UNIQUE (sub, key));"
  "CREATE INDEX IF NOT EXISTS changes_pending ON changes(sub)"
  " WHERE mail IS NULL;"
  "CREATE TABLE IF NOT EXISTS outbox ("
  " id INTEGER PRIMARY KEY AUTOINCREMENT, sub INTEGER NOT NULL,"
  " message_id TEXT NOT NULL UNIQUE, rcpt TEXT NOT NULL,"
  " subject TEXT NOT NULL, body TEXT NOT NULL, date INTEGER NOT NULL,"
  " attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL,"
  " error TEXT, sent INTEGER);"
  "CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox(next_try)"
  " WHERE sent IS NULL;"
  "CREATE TABLE IF NOT EXISTS version_states ("
  " topic TEXT PRIMARY KEY, key TEXT NOT NULL) WITHOUT ROWID;";

ts_error_t *
ts_mail__db_error(ts_mail_t *m, int rc, const char *doing)
{
  return ts_error_createf(TS_EIO, "the notification service's mail "
                          "database %s: %s failed: %s (SQLite %d); check "
                          "that the disk has room and that the service's "
                          "account may write the file", m->path, doing,
                          sqlite3_errmsg(m->db), rc);
}

void
ts_mail__db_failed(ts_mail_t *m, const char *doing)
{
  ts_log(m->log, TS_LOG_ERROR, "the mail database %s: %s failed: %s "
         "(SQLite %d)", m->path, doing, sqlite3_errmsg(m->db),
         sqlite3_errcode(m->db));
}

void
ts_mail__wake(ts_mail_t *m)
{
  m->woken = 1;
  apr_thread_cond_signal(m->wake);
}

/* *PASSWORD: the first line of CONFIG's password file (which only the
 * service's account may read), or NULL without one. */
static ts_error_t *
read_password(const char **password, const ts_config_t *config,
              apr_pool_t *pool)
{
  const ts_notify_config_t *nc = &config->notify;
  const char *text, *file = nc->password_file;
  apr_size_t len;
  char *end;
  ts_error_t *err;

  *password = NULL;
  if (!file || !nc->smtp_host)
    return NULL;
  err = ts_file_read_all(&text, &len, file, pool);
  if (err)
    return ts_error_wrap_codef(TS_ECONFIG, err, "%s line %d, element smtp: "
      "the password file %s cannot be read; create it with the SMTP "
      "password on its first line, readable by the notification service's "
      "account only", config->path, nc->line, file);
  if (tsp_file_others_may_access(file, pool))
    return ts_error_createf(TS_ECONFIG, "%s line %d, element smtp: the "
      "password file %s may be read or changed by other accounts: make it "
      "owner-only (`chmod 600 %s`, owned by the notification service's "
      "account) and, since others may have read it, change the password at "
      "the SMTP server", config->path, nc->line, file, file);
  end = apr_pstrndup(pool, text, len);
  end[strcspn(end, "\r\n")] = '\0';
  if (!*end)
    return ts_error_createf(TS_ECONFIG, "%s line %d, element smtp: the "
                            "password file %s is empty; write the SMTP "
                            "password on its first line", config->path,
                            nc->line, file);
  *password = end;
  return NULL;
}

ts_error_t *
ts_mail_check(const char **line, const char **warning,
              const ts_config_t *config, apr_pool_t *pool)
{
  const ts_notify_config_t *nc = &config->notify;
  const char *password;

  *warning = NULL;
  TS_ERR(read_password(&password, config, pool));
  if (!nc->smtp_host) {
    *line = "mail: none goes out (no <notify><smtp> in tessera.xml)";
    *warning = "no mail goes out: tessera.xml has no <notify><smtp>; the "
               "changes subscribed to are kept until one is configured";
    return NULL;
  }
  *line = apr_psprintf(pool, "mail: through %s port %d, STARTTLS %s%s%s, "
                       "from %s, digests at %02d:00 local time",
                       nc->smtp_host, nc->smtp_port, nc->starttls
                       ? "required" : "off", nc->user ? ", as " : "",
                       nc->user ? nc->user : "", nc->from, nc->digest_hour);
  return NULL;
}

static ts_error_t *
open_db(ts_mail_t *m, const char *dir, apr_pool_t *pool)
{
  char *why = NULL;
  int rc;

  TS_ERR(ts_dir_make(dir, APR_FPROT_OS_DEFAULT, pool));
  m->path = ts_path_join(dir, DB_FILE, pool);
  rc = sqlite3_open_v2(m->path, &m->db, SQLITE_OPEN_READWRITE
                       | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
                       | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(m->db, 5000);
    rc = sqlite3_exec(m->db, schema, NULL, NULL, &why);
  }
  if (rc != SQLITE_OK) {
    ts_error_t *err = ts_error_createf(TS_EIO, "cannot open the "
      "notification service's mail database %s: %s (SQLite %d); if the "
      "file is damaged, move it away (the subscriptions and the mails "
      "waiting in it are lost then)", m->path,
      why ? why : sqlite3_errmsg(m->db), rc);
    sqlite3_free(why);
    sqlite3_close(m->db);
    m->db = NULL;
    return err;
  }
  return NULL;
}

ts_error_t *
ts_mail_open(ts_mail_t **mail, const char *dir, const ts_config_t *config,
             ts_log_t *log, apr_pool_t *pool)
{
  ts_mail_t *m = apr_pcalloc(pool, sizeof(*m));
  apr_status_t s;

  if (sodium_init() < 0)
    return ts_error_createf(TS_EOS, "libsodium cannot start (it hashes "
                            "the changes mailed)");
  m->pool = pool;
  m->log = log;
  m->smtp = config->notify;
  m->host = config->machine;
  if (!m->host) {
    char name[256];
    m->host = apr_gethostname(name, sizeof(name), pool) == APR_SUCCESS
              ? apr_pstrdup(pool, name) : "localhost";
  }
  TS_ERR(read_password(&m->password, config, pool));
  TS_ERR(open_db(m, dir, pool));
  apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&m->wake, pool);
  apr_pool_create(&m->offer_pool, pool);
  if (!m->smtp.smtp_host)   /* the start's check warned already */
    ts_log(log, TS_LOG_INFO, "the changes subscribed to are kept in %s and "
           "mailed once an SMTP server is configured", m->path);
  else
    ts_log(log, TS_LOG_INFO, "mail goes out through %s port %d (STARTTLS "
           "%s%s%s) from %s", m->smtp.smtp_host, m->smtp.smtp_port,
           m->smtp.starttls ? "required" : "off", m->smtp.user
           ? ", as " : "", m->smtp.user ? m->smtp.user : "", m->smtp.from);
  s = apr_thread_create(&m->sender, NULL, ts_mail__sender, m, pool);
  if (s != APR_SUCCESS) {
    sqlite3_close(m->db);
    return ts_error_aprf(s, "cannot start the notification service's mail "
                         "sender thread");
  }
  *mail = m;
  return NULL;
}

void
ts_mail_close(ts_mail_t *m)
{
  apr_status_t ignored;

  if (!m)
    return;
  apr_thread_mutex_lock(m->lock);
  m->stopping = 1;
  apr_atomic_set32(&m->abort_send, 1);
  ts_mail__wake(m);
  apr_thread_mutex_unlock(m->lock);
  apr_thread_join(&ignored, m->sender);
  sqlite3_close(m->db);
  m->db = NULL;
}

void
ts_mail_set_license_server(ts_mail_t *m, const char *host, int port,
                           const ts_credential_t *cred)
{
  apr_thread_mutex_lock(m->lock);
  m->ls_host = host;
  m->ls_port = port;
  m->cred = cred;
  apr_thread_mutex_unlock(m->lock);
}

/* The single number SQL counts (under LOCK); -1 when it fails. */
static apr_int64_t
count(ts_mail_t *m, const char *sql)
{
  sqlite3_stmt *q;
  apr_int64_t n = -1;

  if (sqlite3_prepare_v2(m->db, sql, -1, &q, NULL) == SQLITE_OK
      && sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  else
    ts_mail__db_failed(m, "counting");
  sqlite3_finalize(q);
  return n;
}

void
ts_mail_stats(ts_mail_stats_t *st, ts_mail_t *m)
{
  apr_thread_mutex_lock(m->lock);
  st->subscriptions = count(m, "SELECT COUNT(*) FROM subscriptions");
  st->pending = count(m, "SELECT COUNT(*) FROM changes WHERE mail IS NULL");
  st->queued = count(m, "SELECT COUNT(*) FROM outbox WHERE sent IS NULL");
  st->sent = m->sent;
  st->failed = m->failed;
  st->recorded = m->recorded;
  st->passes = m->passes;
  st->idle = m->waiting && !m->woken;
  st->smtp = m->smtp.smtp_host != NULL;
  apr_thread_mutex_unlock(m->lock);
}

void
ts_mail_metrics(ts_prom_t *prom, void *mail, apr_pool_t *pool)
{
  ts_mail_stats_t st;

  (void)pool;
  ts_mail_stats(&st, mail);
  ts_prom_family(prom, "tessera_notify_mail_smtp_configured", "gauge",
                 "1 when tessera.xml names an SMTP server; 0: no mail goes "
                 "out, the changes are kept");
  ts_prom_int(prom, "tessera_notify_mail_smtp_configured", NULL, st.smtp);
  ts_prom_family(prom, "tessera_notify_subscriptions", "gauge",
                 "mail subscriptions");
  ts_prom_int(prom, "tessera_notify_subscriptions", NULL, st.subscriptions);
  ts_prom_family(prom, "tessera_notify_mail_pending_changes", "gauge",
                 "changes recorded for a digest or a notice not composed "
                 "yet");
  ts_prom_int(prom, "tessera_notify_mail_pending_changes", NULL, st.pending);
  ts_prom_family(prom, "tessera_notify_mail_queued", "gauge",
                 "mails waiting in the outbox");
  ts_prom_int(prom, "tessera_notify_mail_queued", NULL, st.queued);
  ts_prom_family(prom, "tessera_notify_mail_sent_total", "counter",
                 "mails the SMTP server accepted");
  ts_prom_int(prom, "tessera_notify_mail_sent_total", NULL, st.sent);
  ts_prom_family(prom, "tessera_notify_mail_failed_attempts_total",
                 "counter", "delivery attempts that failed (tried again "
                 "later)");
  ts_prom_int(prom, "tessera_notify_mail_failed_attempts_total", NULL,
              st.failed);
  ts_prom_family(prom, "tessera_notify_mail_changes_recorded_total",
                 "counter", "changes recorded for a subscription");
  ts_prom_int(prom, "tessera_notify_mail_changes_recorded_total", NULL,
              st.recorded);
}
