/* mail_child.c: the notification service's mail part in a process of its
 * own, for the tests that run it under another clock (faketime) or kill
 * it (kill -9) — what `tesserad notify` does with it, without the bus:
 *
 *   mail_child DIR TESSERA_XML COMMAND...
 *
 * opens the mail part on DIR with the configuration TESSERA_XML, then runs
 * the commands in order:
 *
 *   sub USER TARGET EVERY MAIL   subscribe (ts_mail_subscribe)
 *   offer TOPIC PAYLOAD          a bus message (ts_mail_offer)
 *   settle                       wait until the sender is idle: what
 *                                is due was composed, sent or tried
 *   stats                        print the figures (ts_mail_stats)
 *   wait-sent N SECONDS          wait until N mails went out in this run
 *   wait-failed N SECONDS        ... until N attempts failed in this run
 *   serve PORT                   answer the routes on 127.0.0.1:PORT
 *                                (ts_httpd), the license server of
 *                                INOHOST checking passwords with the
 *                                credential of INODIR
 *   hold                         print "holding" and wait to be killed
 *
 * and closes it. Exit 0, or 1 naming what failed or timed out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_config.h"
#include "ts_httpd.h"
#include "ts_notify_mail.h"
#include "ts_routes.h"
#include "ts_settings.h"

static ts_mail_t *mail;

static int
fail(const char *what, ts_error_t *err, apr_pool_t *pool)
{
  fprintf(stderr, "mail_child: %s%s%s\n", what, err ? ": " : "",
          err ? ts_error_text(err, pool) : "");
  return 1;
}

/* Wait until FIELD of the figures reaches N, at most SECONDS. */
static int
wait_for(const char *field, long n, int seconds)
{
  apr_time_t end = apr_time_now() + apr_time_from_sec(seconds);
  ts_mail_stats_t st;

  do {
    ts_mail_stats(&st, mail);
    if ((strcmp(field, "sent") == 0 ? st.sent : strcmp(field, "failed") == 0
         ? st.failed : st.idle) >= n)
      return 0;
    apr_sleep(apr_time_from_msec(20));   /* polling a condition */
  } while (apr_time_now() < end);
  fprintf(stderr, "mail_child: %s did not reach %ld in %d s\n", field, n,
          seconds);
  return 1;
}

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  ts_routes_dispatch(reply, baton, 1, req, pool);
}

/* The license server of INOHOST checks passwords for the routes. */
static int
serve(int port, ts_log_t *log, apr_pool_t *pool)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  const char *host;
  int p;
  ts_credential_t *cred;
  ts_httpd_t *httpd;
  ts_error_t *err = ts_settings_open_store(&store, NULL, pool);

  if (!err)
    err = ts_settings_resolve(&settings, store, pool, pool);
  if (!err)
    err = ts_inohost_parse(&host, &p, ts_settings_get(settings,
                                                      "INOHOST")->value,
                           pool);
  if (!err)
    err = ts_credential_load(&cred, ts_credential_path(
      ts_settings_get(settings, "INODIR")->value, pool), pool);
  if (err)
    return fail("settings", err, pool);
  ts_mail_set_license_server(mail, host, p, cred);
  err = ts_httpd_start(&httpd, "notification service", port, NULL, answer,
                       (void *)ts_mail_routes(mail), NULL, log, pool);
  if (err)
    return fail("listen", err, pool);
  printf("serving\n");
  fflush(stdout);
  for (;;)
    apr_sleep(apr_time_from_sec(1));   /* until killed */
}

/* The commands from ARGV[I]; 0 or 1. */
static int
commands(int argc, const char *const *argv, ts_log_t *log, apr_pool_t *pool)
{
  for (int i = 3; i < argc; i++) {
    const char *c = argv[i];
    ts_mail_stats_t st;
    if (strcmp(c, "sub") == 0 && i + 4 < argc) {
      ts_mail_sub_t sub = { 0 };
      int created;
      ts_error_t *err = ts_mail_target_parse(&sub, argv[i + 2], pool);
      sub.user = argv[i + 1];
      sub.every = (ts_mail_every_t)ts_mail_every_parse(argv[i + 3]);
      sub.mail = argv[i + 4];
      if (!err)
        err = ts_mail_subscribe(&created, mail, &sub, pool);
      if (err)
        return fail("sub", err, pool);
      i += 4;
    }
    else if (strcmp(c, "offer") == 0 && i + 2 < argc) {
      ts_mail_offer(mail, argv[i + 1], argv[i + 2], strlen(argv[i + 2]), 1);
      i += 2;
    }
    else if (strcmp(c, "settle") == 0) {
      if (wait_for("idle", 1, 20))
        return 1;
    }
    else if (strcmp(c, "stats") == 0) {
      ts_mail_stats(&st, mail);
      printf("subscriptions=%ld pending=%ld queued=%ld sent=%ld failed=%ld "
             "recorded=%ld\n", (long)st.subscriptions, (long)st.pending,
             (long)st.queued, (long)st.sent, (long)st.failed,
             (long)st.recorded);
      fflush(stdout);
    }
    else if ((strcmp(c, "wait-sent") == 0 || strcmp(c, "wait-failed") == 0)
             && i + 2 < argc) {
      if (wait_for(c + 5, atol(argv[i + 1]), atoi(argv[i + 2])))
        return 1;
      i += 2;
    }
    else if (strcmp(c, "serve") == 0 && i + 1 < argc)
      return serve(atoi(argv[i + 1]), log, pool);
    else if (strcmp(c, "hold") == 0) {
      printf("holding\n");
      fflush(stdout);
      for (;;)
        apr_sleep(apr_time_from_sec(1));   /* until killed */
    }
    else
      return fail(apr_psprintf(pool, "unknown command or too few operands: "
                               "%s", c), NULL, pool);
  }
  return 0;
}

int
main(int argc, const char *const *argv)
{
  apr_pool_t *pool;
  ts_config_t *config;
  ts_log_t *log;
  ts_error_t *err;
  int status;

  if (argc < 3) {
    fputs("usage: mail_child DIR TESSERA_XML COMMAND...\n", stderr);
    return 64;
  }
  apr_app_initialize(&argc, &argv, NULL);
  ts_http_client_init();
  apr_pool_create(&pool, NULL);
  err = ts_config_load(&config, argv[2], pool);
  if (!err)
    err = ts_log_open(&log, apr_pstrcat(pool, argv[1], "/mail.log", NULL), 1,
                      0, pool);
  if (!err)
    err = ts_mail_open(&mail, argv[1], config, log, pool);
  if (err)
    return fail("open", err, pool);
  status = commands(argc, argv, log, pool);
  ts_mail_close(mail);
  apr_pool_destroy(pool);
  apr_terminate();
  return status;
}
