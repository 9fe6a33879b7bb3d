/* ts_notify_mail.h: the mail part of the notification service (`tesserad
 * notify`, SPEC §1): users subscribe to a model version or one of its
 * elements, and each change is mailed to them at once or in one digest
 * per day, week or month, through the SMTP server of tessera.xml
 * <notify><smtp>.
 *
 * A subscription's target is written MODEL[@VERSION][/ELEMENT]:
 * "bridge@v1/42" is element 42 of version v1 of the model bridge,
 * "bridge@v1" every element of that version and its starts, stops and
 * crashes, "bridge/42" element 42 in every version (a successor keeps its
 * elements' ids), "bridge" every version. The names follow the rules of
 * models and versions (core/project, ts_models_valid_name); an element is
 * its id (a positive integer).
 *
 * What is kept (DIR/mail.db, SQLite in WAL mode with synchronous=FULL):
 * the subscriptions, each change a subscription matched (once per
 * subscription and change: the key of "once" is a hash of the bus topic
 * and payload, which a restart does not change, where event ids do), and
 * the outbox of mails composed from them. A mail leaves the outbox only
 * in the transaction that follows the SMTP server's acceptance; one that
 * cannot be delivered is tried again with backoff (tessera.xml
 * retry-seconds doubling up to retry-max-seconds), also after a restart.
 * The one window for a second copy: a crash after the server accepted a
 * mail and before that commit; the copy has the same Message-ID.
 *
 * The interface the role (ts_role_notify.c) uses is the first block; the
 * rest serves its routes and tests.
 */
#ifndef TS_NOTIFY_MAIL_H
#define TS_NOTIFY_MAIL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ts_config.h"
#include "ts_credential.h"
#include "ts_error.h"
#include "ts_log.h"
#include "ts_prom.h"
#include "ts_routes.h"

typedef struct ts_mail_t ts_mail_t;

/* Open the mail part: its SQLite database (subscriptions + durable queue) in DIR
 * (the service's state directory, which the role gives), start its sender thread
 * (SMTP per tessera.xml CONFIG; a service without <notify><smtp> keeps the queue
 * and says in the log and on /metrics that no mail goes out). */
ts_error_t *ts_mail_open(ts_mail_t **mail, const char *dir,
                         const ts_config_t *config, ts_log_t *log, apr_pool_t *pool);
/* One bus message (any thread; it must not block on SMTP): TOPIC without the
 * "tessera/v1/" prefix, PAYLOAD (LEN bytes, JSON), EVENT_ID the events part's id.
 * Element changes (models/<m>/<v>/elements/<id>) and version changes
 * (versions/<m>/<v>) that a subscription matches are recorded durably, once per
 * (subscription, event): EVENT_ID restarts after a restart of the service, so
 * the key of "once" must not depend on it alone. */
void ts_mail_offer(ts_mail_t *mail, const char *topic, const char *payload,
                   apr_size_t len, apr_uint64_t event_id);
/* The subscription routes (/v1/subscriptions ...), answered by the role's site. */
const ts_routes_t *ts_mail_routes(ts_mail_t *mail);
/* Families on /metrics: queued, sent, failed attempts, subscriptions. */
void ts_mail_metrics(ts_prom_t *prom, void *mail, apr_pool_t *pool);
void ts_mail_close(ts_mail_t *mail);   /* stops the sender, closes the db */

/* ---- beyond the role's contract ---------------------------------------- */

/* What ts_mail_open() would do with CONFIG, changing nothing, for
 * `tesserad --check`: *LINE says where mail goes out; *WARNING (else
 * NULL) that none goes out without <notify><smtp>. The password file
 * that cannot be read or is empty is the error ts_mail_open() would
 * fail with (TS_ECONFIG). */
ts_error_t *ts_mail_check(const char **line, const char **warning,
                          const ts_config_t *config, apr_pool_t *pool);

/* Who checks the administrator's password for the subscription routes:
 * the license server on HOST:PORT (INOHOST), asked with the server
 * credential CRED (POST /v1/admin/check, as the agent does). Until this
 * is called the routes answer 503. HOST and CRED must outlive MAIL. */
void ts_mail_set_license_server(ts_mail_t *mail, const char *host, int port,
                                const ts_credential_t *cred);

/* How often a mail goes out. */
typedef enum ts_mail_every_t {
  TS_MAIL_IMMEDIATE,            /* one mail per change, at once */
  TS_MAIL_DAILY,                /* one digest per day, at digest-hour */
  TS_MAIL_WEEKLY,               /* ... per week, Monday at digest-hour */
  TS_MAIL_MONTHLY               /* ... per month, the 1st at digest-hour */
} ts_mail_every_t;

typedef struct ts_mail_sub_t {
  apr_int64_t id;
  const char *user;             /* whom it is for (a name, for people) */
  const char *model;
  const char *version;          /* NULL: every version */
  apr_int64_t element;          /* 0: the whole version */
  ts_mail_every_t every;
  const char *mail;             /* the address the mails go to */
  apr_time_t created;
} ts_mail_sub_t;

/* "immediate", "daily", ...; and back (-1: none of them). */
const char *ts_mail_every_name(ts_mail_every_t every);
int ts_mail_every_parse(const char *name);

/* TARGET (MODEL[@VERSION][/ELEMENT]) into SUB's model, version and
 * element; TS_EINVAL saying what is wrong with it. */
ts_error_t *ts_mail_target_parse(ts_mail_sub_t *sub, const char *target,
                                 apr_pool_t *pool);

/* SUB's target as written above. */
const char *ts_mail_target(const ts_mail_sub_t *sub, apr_pool_t *pool);

/* Whether ADDRESS is a mail address we send to: local@domain, without
 * spaces, control characters, quotes or angle brackets, at most 254
 * bytes; TS_EINVAL saying why not. */
ts_error_t *ts_mail_address_check(const char *address, apr_pool_t *pool);

/* Add SUB (user, model, version, element, every, mail; SUB->id and
 * ->created are set). The same user, target and address again changes
 * how often (*CREATED 0). TS_EINVAL for a malformed field, TS_EIO when
 * the database cannot be written. */
ts_error_t *ts_mail_subscribe(int *created, ts_mail_t *mail,
                              ts_mail_sub_t *sub, apr_pool_t *pool);

/* Remove the subscription ID (*REMOVED: whether there was one), with the
 * changes it still had to mail. */
ts_error_t *ts_mail_unsubscribe(int *removed, ts_mail_t *mail,
                                apr_int64_t id, apr_pool_t *pool);

/* The subscriptions (of ts_mail_sub_t) of USER, or everyone's (USER
 * NULL), by id. */
ts_error_t *ts_mail_list(apr_array_header_t **subs, ts_mail_t *mail,
                         const char *user, apr_pool_t *pool);

/* What the mail part did so far (since open) and has now. */
typedef struct ts_mail_stats_t {
  apr_int64_t subscriptions;    /* now */
  apr_int64_t pending;          /* changes not yet in a mail, now */
  apr_int64_t queued;           /* mails waiting in the outbox, now */
  apr_int64_t sent;             /* mails the SMTP server accepted */
  apr_int64_t failed;           /* attempts that failed */
  apr_int64_t recorded;         /* changes recorded for a subscription */
  apr_int64_t passes;           /* rounds of the sender thread */
  int idle;                     /* the sender waits, and its last round
                                   began after the last change recorded:
                                   what is due is composed and sent or
                                   tried */
  int smtp;                     /* whether an SMTP server is configured */
} ts_mail_stats_t;

void ts_mail_stats(ts_mail_stats_t *stats, ts_mail_t *mail);

#endif
