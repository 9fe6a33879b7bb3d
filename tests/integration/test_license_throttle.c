/* test_license_throttle.c: what strangers cannot slow down or blow up,
 * against the real tesserad (Linux): model servers that accept and never
 * answer delay neither another model server's "gone" nor a stop (probes
 * run at once, each with its own deadline); guessing the administrator's
 * password is throttled per client address and counted in /metrics;
 * concurrent guesses from many addresses run one Argon2id check at a
 * time, so the server's memory stays put. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"
#include "ts_httpd.h"
#include "ts_log.h"

TestSuite(license_throttle, .init = lf_setup, .fini = lf_teardown,
          .timeout = 120);

/* A port on 127.0.0.1 that accepts connections (the kernel completes
 * them into the backlog) and never answers: nobody calls accept(). */
static int
tarpit(int *fd)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof(sa);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(*fd, 64), 0);
  cr_assert_eq(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
  return ntohs(sa.sin_port);
}

static void
model_health(ts_http_reply_t *reply, void *baton,
             const ts_http_request_t *req, apr_pool_t *pool)
{
  (void)baton;
  (void)req;
  (void)pool;
  reply->body = "{\"status\":\"ok\",\"role\":\"model\"}";
}

static void
register_model(const char *repository, int mport)
{
  char body[1024];

  cr_assert_eq(run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
    "{\"repository\":\"%s\",\"models\":[\"%s-m\"],\"host\":\"127.0.0.1\","
    "\"port\":%d,\"pid\":1,\"license_server\":\"localhost.%d\"}",
    repository, repository, mport, port), server_header(), body,
    sizeof(body)), 201, "%s", body);
}

/* Wait up to MS for PID to end; its exit status, or -1 if it did not. */
static int
exited_within(pid_t pid, int ms)
{
  int status;

  for (int i = 0; i < ms / 10; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    usleep(10000);
  }
  return -1;
}

Test(license_throttle, silent_servers_delay_neither_gone_nor_a_stop)
{
  enum { TARPITS = 8 };
  int fds[TARPITS], mport = run_free_port(), gone = 0;
  char body[16384], want[128];
  ts_httpd_t *model;
  ts_log_t *log;
  apr_time_t stopped;

  cr_assert_null(ts_log_open(&log, in_root("model.log"), 0, 0, tp));
  cr_assert_null(ts_httpd_start(&model, "model server", mport, NULL,
                                model_health, NULL, NULL, log, tp));
  start_server();
  /* probed one after the other, each of these would hold a round for
   * its whole timeout: 8 of them, half a minute */
  for (int i = 0; i < TARPITS; i++)
    register_model(apr_psprintf(tp, "tarpit%d", i), tarpit(&fds[i]));
  register_model("plant", mport);
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", apr_psprintf(tp,
    "{\"product\":\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
    "\"application\":\"modeler\",\"model_server\":\"127.0.0.1:%d\"}",
    mport), NULL, body, sizeof(body)), 201, "%s", body);

  /* the real one stops: gone-after is 2 s, probes every second */
  ts_httpd_stop(model);
  snprintf(want, sizeof(want), "\"id\":\"127.0.0.1:%d\",\"repository\":"
           "\"plant\"", mport);
  for (int i = 0; i < 32 && !gone; i++) {
    const char *entry, *state, *next;
    usleep(250000);
    run_http(port, "GET", "/v1/model-servers", NULL, NULL, body,
             sizeof(body));
    entry = strstr(body, want);
    state = entry ? strstr(entry, "\"state\":\"gone\"") : NULL;
    next = entry ? strstr(entry + 1, "{\"id\":") : NULL;
    gone = state && (!next || state < next);
  }
  cr_assert(gone, "not marked gone within 8 s: %s", body);
  cr_assert_eq(run_http(port, "GET", "/v1/sessions", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\"sessions\":[]"), "seat not freed: %s", body);

  /* probes of the tarpits are under way: a stop does not wait for them */
  stopped = apr_time_now();
  cr_assert_eq(kill(server, SIGTERM), 0);
  cr_assert_eq(exited_within(server, 5000), 0, "no clean exit within 5 s "
               "of SIGTERM");
  server = -1;
  cr_log_info("stopped in %d ms", (int)apr_time_as_msec(apr_time_now()
                                                         - stopped));
  for (int i = 0; i < TARPITS; i++)
    close(fds[i]);
}

/* Set the administrator's password to "correct horse". */
static void
set_password(void)
{
  run_result_t r = run((const char *[]){ "/bin/sh", "-c", apr_psprintf(tp,
                       "echo 'correct horse' | %s license passwd --stdin",
                       TESSERA_ADMIN), NULL }, env(), NULL);

  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
}

#define RIGHT "Authorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==\r\n"
#define WRONG "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"

/* A force-release of session ID from SOURCE with AUTH: the status, the
 * whole answer in ANSWER. */
static int
release_from(const char *source, const char *id, const char *auth,
             char *answer, size_t size)
{
  return run_http_from(source, port, "POST", apr_psprintf(tp,
                       "/v1/sessions/%s/release", id),
                       "{\"reason\":\"test\"}", auth, answer, size);
}

/* The value of the sample NAME (with its labels) in /metrics. */
static long
metric(const char *name)
{
  static char body[1 << 16];
  const char *at;

  cr_assert_eq(run_http(port, "GET", "/metrics", NULL, NULL, body,
                        sizeof(body)), 200);
  at = strstr(body, apr_pstrcat(tp, "\n", name, " ", NULL));
  cr_assert_not_null(at, "no %s in /metrics:\n%s", name, body);
  return atol(at + strlen(name) + 2);
}

Test(license_throttle, password_guessing_is_throttled_per_address)
{
  char answer[8192], id[32] = "";

  start_server();
  set_password();
  cr_assert_eq(run_http(port, "POST", "/v1/sessions", "{\"product\":"
                        "\"demo\",\"user\":\"ada\",\"host\":\"ws1\",\"pid\":7,"
                        "\"application\":\"modeler\"}", NULL, answer,
                        sizeof(answer)), 201, "%s", answer);
  sscanf(answer, "{\"id\":\"%24[0-9a-f]\"", id);

  for (int i = 0; i < 3; i++) {
    cr_assert_eq(release_from("127.0.0.1", id, WRONG, answer,
                              sizeof(answer)), 401, "%s", answer);
    cr_assert(strstr(answer, "wrong password"), "%s", answer);
  }
  /* the fourth, right or wrong, is not even checked for a while */
  cr_assert_eq(release_from("127.0.0.1", id, RIGHT, answer,
                            sizeof(answer)), 429, "%s", answer);
  cr_assert(strstr(answer, "\r\nRetry-After: 1\r\n"), "%s", answer);
  cr_assert(strstr(answer, "too many wrong passwords from 127.0.0.1 (3 in "
                   "a row)"), "%s", answer);
  /* another address is not held up by this one's guesses */
  cr_assert_eq(release_from("127.0.0.2", id, RIGHT, answer,
                            sizeof(answer)), 200, "%s", answer);

  cr_assert_eq(metric("tessera_admin_password_failures_total"), 3);
  cr_assert_eq(metric("tessera_admin_password_refused_total{reason="
                      "\"backoff\"}"), 1);
  cr_assert_eq(metric("tessera_admin_password_refused_total{reason="
                      "\"busy\"}"), 0);
}

/* The server's VmRSS or VmHWM (kB). */
static long
memory_kb(const char *field)
{
  char *status = run_read_file(apr_psprintf(tp, "/proc/%d/status",
                                            (int)server));
  const char *at = strstr(status, field);
  long kb = at ? atol(at + strlen(field) + 1) : -1;

  free(status);
  cr_assert_gt(kb, 0, "no %s of pid %d", field, (int)server);
  return kb;
}

typedef struct guess_t {
  pthread_barrier_t *go;
  char source[16];
  int status;
  char answer[4096];
} guess_t;

static void *
guess(void *arg)
{
  guess_t *g = arg;

  /* not release_from(): that formats in the test's pool, and an APR
   * pool is not for 32 threads at once (it garbled requests into 400s) */
  pthread_barrier_wait(g->go);
  g->status = run_http_from(g->source, port, "POST", "/v1/sessions/"
                            "0123456789abcdef01234567/release",
                            "{\"reason\":\"test\"}", WRONG, g->answer,
                            sizeof(g->answer));
  return NULL;
}

Test(license_throttle, concurrent_guesses_check_one_at_a_time)
{
  enum { GUESSES = 32 };
  pthread_t threads[GUESSES];
  static guess_t guesses[GUESSES];
  pthread_barrier_t go;
  long rss, grown;
  int wrong = 0, busy = 0;
  FILE *f;

  start_server();
  set_password();
  /* the peak from here on: each Argon2id check takes 64 MiB */
  f = fopen(apr_psprintf(tp, "/proc/%d/clear_refs", (int)server), "w");
  cr_assert_not_null(f);
  fputs("5", f);
  fclose(f);
  rss = memory_kb("VmRSS:");
  pthread_barrier_init(&go, NULL, GUESSES);
  for (int i = 0; i < GUESSES; i++) {
    guesses[i].go = &go;
    snprintf(guesses[i].source, sizeof(guesses[i].source), "127.0.0.%d",
             10 + i);     /* one guess per address: no backoff */
    pthread_create(&threads[i], NULL, guess, &guesses[i]);
  }
  for (int i = 0; i < GUESSES; i++) {
    pthread_join(threads[i], NULL);
    cr_assert(guesses[i].status == 401 || guesses[i].status == 429,
              "guess %d from %s: HTTP %d\n%s", i, guesses[i].source,
              guesses[i].status, guesses[i].answer);
    wrong += guesses[i].status == 401;
    busy += guesses[i].status == 429;
  }
  grown = memory_kb("VmHWM:") - rss;
  cr_log_info("%d checked, %d refused as busy; peak +%ld MiB", wrong, busy,
              grown / 1024);
  cr_assert_gt(wrong, 0);
  cr_assert_gt(busy, 0, "32 guesses at once, none refused");
  /* one check at a time: 64 MiB; four at once (the server's threads)
   * would be 256 */
  cr_assert_lt(grown, 160 * 1024, "the peak grew by %ld MiB", grown / 1024);
  cr_assert_eq(metric("tessera_admin_password_failures_total"), wrong);
  cr_assert_eq(metric("tessera_admin_password_refused_total{reason="
                      "\"busy\"}"), busy);
}
