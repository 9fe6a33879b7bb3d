/* test_notify_mail.c: the notification service's mail part against a real
 * SMTP server on loopback (tests/integration/smtp_sink.py, Debian's
 * python3-aiosmtpd, which keeps each message it accepts as a file): the
 * immediate notice arrives with its content, once per change, also after
 * a reopen; several changes make one digest per period (the period's end
 * passed with libfaketime around mail_child); with the SMTP server down
 * the mail waits and arrives once it is back, across a kill -9 of the
 * process that holds it, exactly once. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "run.h"
#include "ts_httpd.h"
#include "ts_notify_mail.h"

#define PYTHON "/usr/bin/python3"
#define SINK TESSERA_SOURCE_DIR "/tests/integration/smtp_sink.py"
#define FAKETIME "/usr/bin/faketime"

static apr_pool_t *tp;
static char root[] = "/tmp/tessera-mail-XXXXXX";
static const char *spool, *db_dir, *config_path;
static int sink_port;
static apr_proc_t sink;
static int sink_up;
static ts_mail_t *opened;        /* closed by the teardown after a failure */

static const char *
in_root(const char *rel)
{
  return apr_pstrcat(tp, root, "/", rel, NULL);
}

/* Whether something accepts connections on 127.0.0.1:PORT. */
static int
listening(int port)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  int ok;

  apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, (apr_port_t)port, 0, tp);
  apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, tp);
  ok = apr_socket_connect(s, sa) == APR_SUCCESS;
  apr_socket_close(s);
  return ok;
}

/* Start the SMTP server; with USER and PASSWORD (else NULL) it requires
 * SMTP AUTH as that user. */
static void
sink_start_as(const char *user, const char *password)
{
  const char *argv[] = { PYTHON, SINK, apr_itoa(tp, sink_port), spool,
                         user, password, NULL };
  apr_time_t end = apr_time_now() + apr_time_from_sec(20);

  run_start(&sink, argv, NULL, in_root("sink.out"), tp);
  while (!listening(sink_port) && apr_time_now() < end)
    apr_sleep(apr_time_from_msec(20));
  cr_assert(listening(sink_port), "the SMTP server did not listen on %d: %s",
            sink_port, run_read_file(in_root("sink.out")));
  sink_up = 1;
}

static void
sink_start(void)
{
  sink_start_as(NULL, NULL);
}

static void
sink_stop(void)
{
  int code;
  apr_exit_why_e why;

  if (!sink_up)
    return;
  apr_proc_kill(&sink, SIGKILL);
  apr_proc_wait(&sink, &code, &why, APR_WAIT);
  sink_up = 0;
}

/* tessera.xml: the SMTP server on loopback, without STARTTLS, with the
 * attributes MORE; retries after 1 s, 2 s at most. */
static void
write_config(const char *more)
{
  run_write_file(config_path, apr_psprintf(tp,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "<notify digest-hour=\"6\" retry-seconds=\"1\" retry-max-seconds=\"2\">\n"
    "<smtp host=\"127.0.0.1\" port=\"%d\" from=\"tessera@example.com\" "
    "starttls=\"none\" timeout-seconds=\"10\"%s/>\n"
    "</notify></tessera>\n", sink_port, more));
}

static void
setup(void)
{
  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&tp, NULL);
  cr_assert_not_null(mkdtemp(root));
  chmod(root, 0711);
  spool = in_root("spool");
  db_dir = in_root("notify");
  config_path = in_root("tessera.xml");
  cr_assert_eq(mkdir(spool, 0755), 0);
  sink_port = run_free_port();
  write_config("");
  sink_start();
}

static void
teardown(void)
{
  if (opened)
    ts_mail_close(opened);
  sink_stop();
  if (!getenv("KEEP_TEST_DIR"))
    system(apr_psprintf(tp, "rm -rf %s", root));
  apr_pool_destroy(tp);
  apr_terminate();
}

TestSuite(mail, .init = setup, .fini = teardown, .timeout = 120);

static int
by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The messages the SMTP server kept, oldest first (the sink names them
 * by the time they came). */
static apr_array_header_t *
messages(void)
{
  apr_array_header_t *names = apr_array_make(tp, 4, sizeof(char *));
  DIR *d = opendir(spool);
  struct dirent *e;

  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.')
      APR_ARRAY_PUSH(names, char *) = apr_pstrdup(tp, e->d_name);
  if (d)
    closedir(d);
  qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
  return names;
}

/* Wait up to SECONDS until the server kept N messages. */
static int
wait_messages(int n, int seconds)
{
  apr_time_t end = apr_time_now() + apr_time_from_sec(seconds);

  while (messages()->nelts < n && apr_time_now() < end)
    apr_sleep(apr_time_from_msec(20));
  return messages()->nelts;
}

/* The I-th message's text, quoted-printable decoded (the headers are
 * left as they are by that). */
static char *
message(int i)
{
  char *raw = run_read_file(apr_pstrcat(tp, spool, "/",
                                        APR_ARRAY_IDX(messages(), i, char *),
                                        NULL));
  char *out = apr_palloc(tp, strlen(raw) + 1), *o = out;

  for (const char *c = raw; *c; c++) {
    if (c[0] == '=' && c[1] == '\r' && c[2] == '\n')
      c += 2;                              /* a soft line break */
    else if (c[0] == '=' && c[1] && c[2] && strchr("0123456789ABCDEF", c[1])
             && strchr("0123456789ABCDEF", c[2])) {
      char hex[3] = { c[1], c[2], 0 };
      *o++ = (char)strtol(hex, NULL, 16);
      c += 2;
    }
    else
      *o++ = *c;
  }
  *o = '\0';
  free(raw);
  return out;
}

static const char update42[] =
  "{\"op\":\"update\",\"model\":\"bridge\",\"version\":\"v1\",\"id\":42,"
  "\"user\":\"bob\",\"host\":\"ws1\",\"session\":\"s1\","
  "\"at_ms\":1796000000000,\"revision\":7,\"type\":\"Span\","
  "\"name\":\"Deck\"}";

static const char create43[] =
  "{\"op\":\"create\",\"model\":\"bridge\",\"version\":\"v1\",\"id\":43,"
  "\"user\":\"carol\",\"at_ms\":1796000001000,\"revision\":1,"
  "\"type\":\"Pier\",\"name\":\"North pier\"}";
static const char delete42[] =
  "{\"op\":\"delete\",\"model\":\"bridge\",\"version\":\"v1\",\"id\":42,"
  "\"user\":\"bob\",\"at_ms\":1796000002000}";
static const char reserve42[] =
  "{\"op\":\"reserve\",\"model\":\"bridge\",\"version\":\"v1\","
  "\"id\":42,\"user\":\"bob\",\"at_ms\":1796000000001}";

static ts_mail_t *
open_mail(void)
{
  ts_config_t *config;
  ts_log_t *log;
  ts_mail_t *m;
  ts_error_t *err = ts_config_load(&config, config_path, tp);

  if (!err)
    err = ts_log_open(&log, in_root("mail.log"), 0, 0, tp);
  if (!err)
    err = ts_mail_open(&m, db_dir, config, log, tp);
  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  opened = m;
  return m;
}

static void
close_mail(ts_mail_t *m)
{
  ts_mail_close(m);
  opened = NULL;
}

/* Wait up to 20 s until M's figure FIELD (an offset into the stats)
 * reaches N; the figures then in *ST. */
#define wait_stat(m, st, field, n) do {                                   \
    apr_time_t end_ = apr_time_now() + apr_time_from_sec(20);            \
    ts_mail_stats((st), (m));                                            \
    while ((st)->field < (n) && apr_time_now() < end_) {                 \
      apr_sleep(apr_time_from_msec(20));                                 \
      ts_mail_stats((st), (m));                                          \
    }                                                                    \
    cr_assert_geq((st)->field, (n), #field " did not reach %ld",         \
                  (long)(n));                                            \
  } while (0)

static void
subscribe(ts_mail_t *m, const char *user, const char *target,
          const char *every, const char *address)
{
  ts_mail_sub_t sub = { 0 };
  int created = 0;
  ts_error_t *err = ts_mail_target_parse(&sub, target, tp);

  sub.user = user;
  sub.every = (ts_mail_every_t)ts_mail_every_parse(every);
  sub.mail = address;
  if (!err)
    err = ts_mail_subscribe(&created, m, &sub, tp);
  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  cr_assert_eq(created, 1);
}

Test(mail, an_immediate_notice_arrives_once_with_its_content)
{
  ts_mail_t *m = open_mail();
  ts_mail_stats_t st;
  char *text;

  subscribe(m, "alice", "bridge@v1/42", "immediate", "alice@example.com");
  /* another element, and a reservation of this one: no mail */
  ts_mail_offer(m, "models/bridge/v1/elements/43", update42,
                strlen(update42), 1);
  ts_mail_offer(m, "models/bridge/v1/elements/42", reserve42,
                strlen(reserve42), 2);
  ts_mail_offer(m, "models/bridge/v1/elements/42", update42,
                strlen(update42), 3);
  cr_assert_eq(wait_messages(1, 20), 1, "no notice arrived: %s",
               run_read_file(in_root("mail.log")));
  text = message(0);
  cr_assert(strstr(text, "X-Envelope-From: tessera@example.com\r\n"), "%s",
            text);
  cr_assert(strstr(text, "X-Envelope-To: alice@example.com\r\n"), "%s", text);
  cr_assert(strstr(text, "\r\nTo: <alice@example.com>\r\n"), "%s", text);
  cr_assert(strstr(text, "\r\nFrom: Tessera <tessera@example.com>\r\n"));
  cr_assert(strstr(text, "\r\nSubject: [Tessera] a change of bridge@v1/42"
                   "\r\n"), "%s", text);
  cr_assert(strstr(text, "\r\nMessage-ID: <"), "%s", text);
  cr_assert(strstr(text, "\r\nDate: "), "%s", text);
  cr_assert(strstr(text, "\r\nMIME-Version: 1.0\r\n"));
  cr_assert(strstr(text, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
  cr_assert(strstr(text, "Content-Transfer-Encoding: quoted-printable\r\n"));
  cr_assert(strstr(text, "Hello alice,"), "%s", text);
  cr_assert(strstr(text, "bridge@v1/42: \"Deck\" (Span) changed by bob at "),
            "%s", text);
  cr_assert(strstr(text, ", revision 7"), "%s", text);
  cr_assert(strstr(text, "tessera-admin notify unsubscribe alice "
                   "bridge@v1/42"), "%s", text);
  wait_stat(m, &st, sent, 1);
  /* the same change again (the bus repeating it): not recorded again (an
   * offer is recorded before it returns) */
  ts_mail_offer(m, "models/bridge/v1/elements/42", update42,
                strlen(update42), 4);
  ts_mail_stats(&st, m);
  cr_assert_eq(st.recorded, 1);
  cr_assert_eq(st.pending, 0);
  cr_assert_eq(st.queued, 0);
  close_mail(m);
  /* nor after a restart, where event ids start again */
  m = open_mail();
  ts_mail_offer(m, "models/bridge/v1/elements/42", update42,
                strlen(update42), 1);
  ts_mail_stats(&st, m);
  cr_assert_eq(st.recorded, 0, "the change was recorded again");
  cr_assert_eq(st.pending + st.queued, 0);
  close_mail(m);
  cr_assert_eq(messages()->nelts, 1);
}

Test(mail, smtp_auth_logs_in_with_the_password_file)
{
  ts_mail_t *m;
  ts_mail_stats_t st;
  char *log;

  sink_stop();
  sink_start_as("tessera", "s3cret-pw");
  run_write_file(in_root("smtp.pw"), "s3cret-pw\n");
  chmod(in_root("smtp.pw"), 0600);
  /* relative to tessera.xml's directory */
  write_config(" user=\"tessera\" password-file=\"smtp.pw\"");
  m = open_mail();
  subscribe(m, "alice", "bridge@v1/42", "immediate", "alice@example.com");
  ts_mail_offer(m, "models/bridge/v1/elements/42", update42,
                strlen(update42), 1);
  cr_assert_eq(wait_messages(1, 20), 1, "not delivered with AUTH: %s",
               run_read_file(in_root("mail.log")));
  close_mail(m);
  /* a wrong password: refused, said so, kept */
  run_write_file(in_root("smtp.pw"), "wrong\n");
  m = open_mail();
  ts_mail_offer(m, "models/bridge/v1/elements/42", reserve42,
                strlen(reserve42), 2);
  ts_mail_offer(m, "models/bridge/v1/elements/42", delete42,
                strlen(delete42), 3);
  wait_stat(m, &st, failed, 1);
  cr_assert_eq(st.queued, 1);
  close_mail(m);
  log = run_read_file(in_root("mail.log"));
  cr_assert(strstr(log, apr_psprintf(tp, "the SMTP server 127.0.0.1 port %d "
                   "refused the login as tessera", sink_port)), "%s", log);
  free(log);
  cr_assert_eq(messages()->nelts, 1);
}

Test(mail, a_password_file_that_cannot_be_read_is_a_configuration_error)
{
  ts_config_t *config;
  ts_log_t *log;
  ts_mail_t *m;
  const char *line, *warning;
  ts_error_t *err;

  write_config(" user=\"tessera\" password-file=\"missing.pw\"");
  cr_assert_null(ts_config_load(&config, config_path, tp));
  cr_assert_null(ts_log_open(&log, in_root("mail.log"), 0, 0, tp));
  err = ts_mail_open(&m, db_dir, config, log, tp);
  cr_assert_not_null(err);
  cr_assert_eq(ts_error_exit_status(err), 78, "%s", ts_error_text(err, tp));
  cr_assert(strstr(ts_error_text(err, tp), apr_psprintf(tp, "%s line 3, "
                   "element smtp: the password file %s cannot be read",
                   config_path, in_root("missing.pw"))), "%s",
            ts_error_text(err, tp));
  ts_error_clear(err);
  /* what --check says: the same */
  err = ts_mail_check(&line, &warning, config, tp);
  cr_assert_not_null(err);
  ts_error_clear(err);
  /* others may read it: refused (a secret) */
  run_write_file(in_root("missing.pw"), "pw\n");
  chmod(in_root("missing.pw"), 0644);
  err = ts_mail_check(&line, &warning, config, tp);
  cr_assert(err && strstr(ts_error_text(err, tp), "may be read or changed "
                          "by other accounts"), "%s",
            err ? ts_error_text(err, tp) : "accepted");
  cr_assert_eq(ts_error_exit_status(err), 78);
  ts_error_clear(err);
  run_write_file(in_root("missing.pw"), "\n");
  chmod(in_root("missing.pw"), 0600);
  err = ts_mail_check(&line, &warning, config, tp);
  cr_assert(err && strstr(ts_error_text(err, tp), "is empty"));
  ts_error_clear(err);
  run_write_file(in_root("missing.pw"), "pw\n");
  cr_assert_null(ts_mail_check(&line, &warning, config, tp));
  cr_assert_null(warning);
  cr_assert(strstr(line, "STARTTLS off, as tessera"), "%s", line);
  /* without <smtp>: a warning, and the changes are kept */
  run_write_file(config_path, "<tessera xmlns=\"urn:tessera:config:1\"/>");
  cr_assert_null(ts_config_load(&config, config_path, tp));
  cr_assert_null(ts_mail_check(&line, &warning, config, tp));
  cr_assert(warning && strstr(warning, "no mail goes out"));
}

/* ---- mail_child: another clock, kill -9 --------------------------------- */

/* Berlin's time; under ASan, libfaketime is loaded before its runtime */
#define CHILD_ENV (const char *const[]){ "TZ=Europe/Berlin", \
  "PATH=/usr/bin:/bin", "ASAN_OPTIONS=verify_asan_link_order=0", NULL }

/* mail_child's argv with COMMANDS, under faketime at AT unless NULL. */
static const char **
child_argv(const char *at, const char *const *commands)
{
  const char **argv = apr_pcalloc(tp, 40 * sizeof(char *));
  int n = 0;

  if (at) {
    argv[n++] = FAKETIME;
    argv[n++] = at;
  }
  argv[n++] = MAIL_CHILD;
  argv[n++] = db_dir;
  argv[n++] = config_path;
  for (int i = 0; commands[i] && n < 39; i++)
    argv[n++] = commands[i];
  return argv;
}

/* Run mail_child with COMMANDS (at AT) to its end; what it printed. */
static char *
child(const char *at, const char *const *commands)
{
  run_result_t r = run(child_argv(at, commands), CHILD_ENV, NULL);
  char *out = apr_pstrdup(tp, r.out);

  cr_assert_eq(r.status, 0, "mail_child %s %s: %s%s", at ? at : "",
               commands[0], r.out, r.err);
  run_free(&r);
  return out;
}

/* Start mail_child with COMMANDS in the background, its output in OUT. */
static void
child_start(apr_proc_t *proc, const char *out, const char *const *commands)
{
  run_start(proc, child_argv(NULL, commands), CHILD_ENV, out, tp);
}

/* Wait up to SECONDS until the file PATH holds TEXT. */
static int
file_says(const char *path, const char *text, int seconds)
{
  apr_time_t end = apr_time_now() + apr_time_from_sec(seconds);
  int found;

  do {
    char *t = run_read_file(path);
    found = strstr(t, text) != NULL;
    free(t);
    if (!found)
      apr_sleep(apr_time_from_msec(20));
  } while (!found && apr_time_now() < end);
  return found;
}

static const char running[] =
  "{\"model\":\"bridge\",\"version\":\"v1\",\"read_only\":false,"
  "\"state\":\"running\",\"host\":\"models1\",\"port\":17006,\"pid\":4242,"
  "\"agent\":\"models1:17003\"}";

/* Monday 30 November 2026 in Berlin: changes after the day's digest hour
 * (6:00 local time), so the daily and the monthly digest are due on
 * Tuesday 1 December at 6:00 and the weekly one on Monday 7 December. */
Test(mail, several_changes_make_one_digest_per_period)
{
  char *out, *text;

  out = child("2026-11-30 10:00:00", (const char *const[]){
    "sub", "alice", "bridge@v1", "daily", "alice@example.com",
    "sub", "bob", "bridge", "weekly", "bob@example.com",
    "sub", "carol", "bridge@v1", "monthly", "carol@example.com",
    "offer", "models/bridge/v1/elements/42", update42,
    "offer", "models/bridge/v1/elements/43", create43,
    "offer", "versions/bridge/v1", running,
    "settle", "stats", NULL });
  cr_assert(strstr(out, "pending=9 queued=0 sent=0"), "%s", out);
  /* a minute before 6:00 local time (4:59 UTC): nothing is due */
  out = child("2026-12-01 05:59:00", (const char *const[]){
    "settle", "stats", NULL });
  cr_assert(strstr(out, "pending=9 queued=0 sent=0"), "%s", out);
  cr_assert_eq(messages()->nelts, 0);
  /* 6:00 local: the daily and the monthly digest, one each */
  out = child("2026-12-01 06:00:30", (const char *const[]){
    "wait-sent", "2", "20", "stats", NULL });
  cr_assert(strstr(out, "pending=3 queued=0 sent=2"), "%s", out);
  cr_assert_eq(messages()->nelts, 2);
  for (int i = 0; i < 2; i++) {
    text = message(i);
    cr_assert(strstr(text, "X-Envelope-To: alice@example.com")
              ? strstr(text, "Subject: [Tessera] daily digest: 3 changes of "
                       "bridge@v1\r\n") != NULL
              : strstr(text, "Subject: [Tessera] monthly digest: 3 changes "
                       "of bridge@v1\r\n") != NULL, "%s", text);
    cr_assert(strstr(text, "the changes of bridge@v1 until 2026-12-01 "
                     "06:00:"), "%s", text);
    cr_assert(strstr(text, "  bridge@v1/42: \"Deck\" (Span) changed by bob"),
              "%s", text);
    cr_assert(strstr(text, "  bridge@v1/43: \"North pier\" (Pier) created "
                     "by carol"), "%s", text);
    cr_assert(strstr(text, "  bridge@v1: started on models1 port 17006"),
              "%s", text);
  }
  /* Monday 7 December, 6:00: bob's weekly digest */
  out = child("2026-12-07 06:00:30", (const char *const[]){
    "wait-sent", "1", "20", "stats", NULL });
  cr_assert(strstr(out, "pending=0 queued=0 sent=1"), "%s", out);
  cr_assert_eq(messages()->nelts, 3);
  text = message(2);
  cr_assert(strstr(text, "Subject: [Tessera] weekly digest: 3 changes of "
                   "bridge\r\n"), "%s", text);
  /* and nothing twice later on */
  out = child("2026-12-08 07:00:00", (const char *const[]){
    "settle", "stats", NULL });
  cr_assert(strstr(out, "pending=0 queued=0 sent=0"), "%s", out);
  cr_assert_eq(messages()->nelts, 3);
}

Test(mail, a_mail_waits_for_the_server_across_a_kill_and_arrives_once)
{
  apr_proc_t first, second;
  int code;
  apr_exit_why_e why;
  char *out;

  sink_stop();
  /* the SMTP server is down: the notice waits, tried and failed */
  child_start(&first, in_root("first.out"), (const char *const[]){
    "sub", "alice", "bridge@v1/42", "immediate", "alice@example.com",
    "offer", "models/bridge/v1/elements/42", update42,
    "wait-failed", "1", "20", "hold", NULL });
  cr_assert(file_says(in_root("first.out"), "holding", 30), "%s",
            run_read_file(in_root("first.out")));
  apr_proc_kill(&first, SIGKILL);
  apr_proc_wait(&first, &code, &why, APR_WAIT);
  cr_assert_eq(messages()->nelts, 0);
  /* started again: the mail is still there, still tried */
  child_start(&second, in_root("second.out"), (const char *const[]){
    "wait-failed", "1", "20", "stats", "wait-sent", "1", "30", "stats",
    NULL });
  cr_assert(file_says(in_root("second.out"), "queued=1 sent=0 failed=1",
                      30), "%s", run_read_file(in_root("second.out")));
  /* the server is back: it arrives */
  sink_start();
  apr_proc_wait(&second, &code, &why, APR_WAIT);
  out = run_read_file(in_root("second.out"));
  cr_assert_eq(code, 0, "%s", out);
  cr_assert(strstr(out, "queued=0 sent=1"), "%s", out);
  free(out);
  cr_assert_eq(messages()->nelts, 1);
  cr_assert(strstr(message(0), "bridge@v1/42: \"Deck\" (Span) changed by "
                   "bob"));
  /* once: started again and told the same change, nothing more goes */
  out = child(NULL, (const char *const[]){
    "offer", "models/bridge/v1/elements/42", update42, "settle",
    "stats", NULL });
  cr_assert(strstr(out, "pending=0 queued=0 sent=0 failed=0 recorded=0"),
            "%s", out);
  cr_assert_eq(messages()->nelts, 1);
}
