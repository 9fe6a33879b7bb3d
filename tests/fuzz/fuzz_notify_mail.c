/* fuzz_notify_mail.c: what the notification service's mail part reads
 * from outside, in-process: the subscription routes
 * (core/roles/notify/ts_notify_mail_routes.c, ts_mail_routes) answered by
 * the real handlers, and the bus messages it is offered (ts_mail_offer:
 * topics and JSON payloads of model servers and agents), over a mail
 * database in a scratch directory. No SMTP server is configured, so the
 * sender composes into the outbox and sends nothing (nothing reaches the
 * network). Requests that show the server credential of a scratch INODIR
 * ("Authorization: {credential}") are authorized; any other Authorization
 * is checked by the license server, which does not answer here
 * (fuzz_offline): 503.
 *
 * An input is up to 16 parts separated by lines "###": a part starting
 * with "BUS " is a bus message ("BUS <topic>", a newline, the payload),
 * any other an HTTP request (fuzz_http.h). Each input starts with no
 * subscriptions.
 *
 * Invariants: no 500; every answer is JSON, an error one with a non-empty
 * "error"; a 401 has its challenge. A subscription answered 201 or 200 is
 * listed as answered (user, target, every, mail), with a target that
 * parses back to the same model, version and element; a 422 or 400 adds
 * none; one removed (200) is no longer listed. The figures never go
 * below zero, and a bus message never makes more changes than there are
 * subscriptions.
 *
 * FUZZ_NOTIFY_MAIL_VERBOSE=1 prints every answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "fuzz_http.h"
#include "ts_credential.h"
#include "ts_file.h"
#include "ts_notify_mail.h"

#define MAX_PARTS 16

static ts_mail_t *mail;
static const char *credential;

static void
setup(void)
{
  apr_pool_t *pool = fuzz_init();
  const char *dir = fuzz_scratch_dir(), *inodir;
  ts_config_t *config;
  ts_credential_t *cred;
  ts_log_t *log;
  int created;
  ts_error_t *err;
  static const char xml[] = "<tessera xmlns=\"urn:tessera:config:1\"/>";

  inodir = ts_path_join(dir, "params", pool);
  err = ts_config_parse(&config, "tessera.xml", xml, strlen(xml), pool);
  if (!err)
    err = ts_dir_make(inodir, APR_FPROT_OS_DEFAULT, pool);
  if (!err)
    err = ts_credential_ensure(&cred, &created,
                               ts_credential_path(inodir, pool), pool);
  if (!err)
    err = ts_log_open(&log, getenv("FUZZ_NOTIFY_MAIL_LOG")
                      ? getenv("FUZZ_NOTIFY_MAIL_LOG")
                      : ts_path_join(dir, "mail.log", pool), 0, 0, pool);
  if (!err)
    err = ts_mail_open(&mail, ts_path_join(dir, "notify", pool), config, log,
                       pool);
  FUZZ_CHECK(!err, "setting up: %s", err ? ts_error_text(err, pool) : "");
  /* nothing listens on port 1: the license server is "down" */
  ts_mail_set_license_server(mail, "127.0.0.1", 1, cred);
  credential = apr_pstrcat(pool, "Tessera ",
                           ts_credential_derive(cred, "http", pool), NULL);
  fuzz_offline(0);
}

static apr_array_header_t *
listing(apr_pool_t *pool)
{
  apr_array_header_t *subs;
  ts_error_t *err = ts_mail_list(&subs, mail, NULL, pool);

  FUZZ_CHECK(!err, "listing: %s", err ? ts_error_text(err, pool) : "");
  return subs;
}

/* Start the input with no subscriptions. */
static void
reset(apr_pool_t *pool)
{
  apr_array_header_t *subs = listing(pool);

  for (int i = 0; i < subs->nelts; i++) {
    int gone;
    ts_error_t *err = ts_mail_unsubscribe(&gone, mail, APR_ARRAY_IDX(subs,
                                          i, ts_mail_sub_t).id, pool);
    FUZZ_CHECK(!err && gone, "removing a subscription");
  }
}

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  ts_routes_dispatch(reply, baton, 1, req, pool);
}

/* The subscription J (an answer's) is listed as answered. */
static void
check_listed(json_t *j, apr_pool_t *pool)
{
  apr_array_header_t *subs = listing(pool);
  apr_int64_t id = (apr_int64_t)json_integer_value(json_object_get(j, "id"));
  const char *target = json_string_value(json_object_get(j, "target"));
  ts_mail_sub_t parsed;

  FUZZ_CHECK(target && !ts_mail_target_parse(&parsed, target, pool),
             "the target '%s' answered does not parse", target);
  for (int i = 0; i < subs->nelts; i++) {
    const ts_mail_sub_t *s = &APR_ARRAY_IDX(subs, i, ts_mail_sub_t);
    if (s->id != id)
      continue;
    FUZZ_CHECK(strcmp(ts_mail_target(s, pool), target) == 0
               && strcmp(s->model, parsed.model) == 0
               && s->element == parsed.element
               && !s->version == !parsed.version
               && strcmp(s->user, json_string_value(json_object_get(j,
                                                    "user"))) == 0
               && strcmp(s->mail, json_string_value(json_object_get(j,
                                                    "mail"))) == 0
               && strcmp(ts_mail_every_name(s->every), json_string_value(
                         json_object_get(j, "every"))) == 0,
               "subscription %ld is not listed as answered", (long)id);
    return;
  }
  FUZZ_CHECK(0, "subscription %ld answered is not listed", (long)id);
}

static void
ask(ts_http_request_t *req, const char *query, apr_pool_t *pool)
{
  ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                            NULL, 0 };
  int before = listing(pool)->nelts;
  json_t *j;

  ts_http_answer_local(&reply, answer, (void *)ts_mail_routes(mail), req,
                       query, pool);
  if (getenv("FUZZ_NOTIFY_MAIL_VERBOSE"))
    fprintf(stderr, "%s %s%s%s -> %d %s\n", req->method, req->url,
            query ? "?" : "", query ? query : "", reply.status, reply.body);
  fuzz_http_check(&reply, req);
  j = fuzz_http_json(&reply);
  if (reply.status / 100 == 2 && strcmp(req->method, "POST") == 0)
    check_listed(json_object_get(j, "subscription"), pool);
  if (reply.status / 100 == 4 || strcmp(req->method, "GET") == 0)
    FUZZ_CHECK(listing(pool)->nelts == before, "a refused or reading "
               "request changed the subscriptions");
  if (reply.status == 200 && strcmp(req->method, "DELETE") == 0)
    FUZZ_CHECK(listing(pool)->nelts == before - (int)json_array_size(
               json_object_get(j, "removed")), "a removal is still listed");
  json_decref(j);
}

/* "BUS <topic>\n<payload>" */
static void
offer(const char *part, apr_size_t len, apr_pool_t *pool)
{
  const char *nl = memchr(part, '\n', len);
  const char *topic = apr_pstrndup(pool, part + 4, nl ? (apr_size_t)(nl -
                                   part - 4) : len - 4);
  const char *payload = nl ? nl + 1 : "";
  ts_mail_stats_t before, after;

  ts_mail_stats(&before, mail);
  ts_mail_offer(mail, topic, payload, strlen(payload), 1);
  ts_mail_stats(&after, mail);
  FUZZ_CHECK(after.recorded - before.recorded <= after.subscriptions
             && after.pending >= 0 && after.queued >= 0
             && after.subscriptions >= 0, "an offer recorded %ld changes "
             "for %ld subscriptions", (long)(after.recorded
             - before.recorded), (long)after.subscriptions);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool, *rpool;
  apr_array_header_t *parts, *lens;
  apr_hash_t *vars;

  if (!mail)
    setup();
  apr_pool_create(&pool, fuzz_init());
  reset(pool);
  vars = apr_hash_make(pool);
  apr_hash_set(vars, "credential", APR_HASH_KEY_STRING, credential);
  parts = fuzz_split(&lens, data, size, "###", MAX_PARTS, pool);
  for (int i = 0; i < parts->nelts; i++) {
    const char *part = APR_ARRAY_IDX(parts, i, const char *);
    apr_size_t len = APR_ARRAY_IDX(lens, i, apr_size_t);
    ts_http_request_t req;
    const char *query;
    apr_pool_create(&rpool, pool);
    if (len >= 4 && strncmp(part, "BUS ", 4) == 0)
      offer(part, len, rpool);
    else {
      fuzz_http_parse(&req, &query, NULL, part, len, vars, rpool);
      if (req.body_len <= TS_HTTP_MAX_BODY)  /* else the listener's 413 */
        ask(&req, query, rpool);
    }
    apr_pool_destroy(rpool);
  }
  apr_pool_destroy(pool);
  return 0;
}
