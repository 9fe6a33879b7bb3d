/* ts_notify_mail_impl.h: what the files of the mail part share
 * (ts_notify_mail.c: the database, its life, the figures;
 * ts_notify_mail_subs.c: subscriptions, targets, addresses;
 * ts_notify_mail_offer.c: bus messages recorded as changes;
 * ts_notify_mail_send.c: the sender thread and digests;
 * ts_notify_mail_smtp.c: composing and sending one mail over libcurl;
 * ts_notify_mail_routes.c: /v1/subscriptions).
 *
 * Threads: the bus thread offers, the role's handler threads answer the
 * routes, the sender thread composes and sends. The one SQLite
 * connection is used under LOCK only, never while the network is waited
 * for (SMTP, the license server). Each thread allocates from pools of its
 * own; OFFER_POOL is used under LOCK only.
 */
#ifndef TS_NOTIFY_MAIL_IMPL_H
#define TS_NOTIFY_MAIL_IMPL_H

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <sqlite3.h>

#include "ts_notify_mail.h"

struct ts_mail_t {
  apr_pool_t *pool;
  ts_log_t *log;
  ts_notify_config_t smtp;      /* tessera.xml <notify> (copied) */
  const char *password;         /* of password-file, or NULL */
  const char *path;             /* DIR/mail.db */
  const char *host;             /* this machine, for Message-IDs */
  sqlite3 *db;
  apr_thread_mutex_t *lock;     /* DB, OFFER_POOL, STOPPING, the counts */
  apr_thread_cond_t *wake;      /* the sender: something to do */
  apr_pool_t *offer_pool;
  apr_thread_t *sender;
  int stopping;
  volatile apr_uint32_t abort_send;   /* close: give up a transfer */
  int woken;                    /* a wake since the sender last looked */
  int waiting;                  /* the sender waits for a wake or a time */
  /* the license server that checks the administrator's password */
  const char *ls_host;
  int ls_port;
  const ts_credential_t *cred;
  ts_routes_t routes;
  /* since open */
  apr_int64_t sent, failed, recorded, passes;
};

/* SQLite's words for RC on M's database. */
ts_error_t *ts_mail__db_error(ts_mail_t *m, int rc, const char *doing);

/* Log that DOING failed on the database (under LOCK). */
void ts_mail__db_failed(ts_mail_t *m, const char *doing);

/* The sender thread (ts_notify_mail_send.c): started by open, ended by
 * close (STOPPING set and WAKE signalled). */
void *APR_THREAD_FUNC ts_mail__sender(apr_thread_t *thread, void *data);

/* Wake the sender (under LOCK). */
void ts_mail__wake(ts_mail_t *m);

/* One mail waiting in the outbox, as the sender sends it. */
typedef struct ts_mail_out_t {
  apr_int64_t id;
  const char *message_id;       /* "<...@...>", the same at each attempt */
  const char *rcpt;
  const char *subject;          /* UTF-8 */
  const char *body;             /* UTF-8, lines ending in "\n" */
  apr_time_t date;              /* when it was composed */
  int attempts;
} ts_mail_out_t;

/* Send OUT through M's SMTP server (ts_notify_mail_smtp.c): NULL when
 * the server accepted it; else why not (TS_EUNAVAIL). Blocks up to the
 * configured timeout; call without LOCK. */
ts_error_t *ts_mail__smtp_send(ts_mail_t *m, const ts_mail_out_t *out,
                               apr_pool_t *pool);

/* OUT as an RFC 5322 message from FROM (ts_notify_mail_smtp.c; CRLF line
 * ends, the body quoted-printable). */
const char *ts_mail__message(const ts_mail_out_t *out, const char *from,
                             apr_pool_t *pool);

#endif
