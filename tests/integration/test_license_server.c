/* test_license_server.c: seats through the real license server (Linux):
 * 200 concurrent clients for 10 seats get exactly 10, twenty times over;
 * kill -9 while clients check out and in loses no acknowledged session and
 * counts no seat twice; a bad license on reload leaves the good one in
 * force; huge bodies are refused; the audit log names the client of a
 * force-release on the default listener ("::", IPv4 and IPv6); 8,000
 * sessions come in pages, which tessera-admin reads to the end; refused
 * checkouts (by product and reason, made-up names escaped and bounded)
 * and expiry times on /metrics, through promtool. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "run.h"

static char root[] = "/tmp/tessera-lic-XXXXXX";
static char env_host[64], env_lic[320], env_home[320], env_dir[320];
static char lic[300];
static int port;
static pid_t server = -1;

static void
setup(void)
{
  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  /* as root, the bus broker runs as the service account or nobody, which
   * must reach INOLIC below this directory */
  cr_assert_eq(chmod(root, 0711), 0);
  port = run_free_port();
  snprintf(lic, sizeof(lic), "%s/lic", root);
  snprintf(env_host, sizeof(env_host), "INOHOST=localhost.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s", lic);
  /* the server credential goes there: not the machine's INODIR */
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
}

static void
teardown(void)
{
  char cmd[300];

  if (server > 0) {
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
  }
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(license_server, .init = setup, .fini = teardown, .timeout = 240);

static void
admin(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, NULL };
  run_result_t r;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "%s: %s", args[0], r.err);
  run_free(&r);
}

static void
install_license(const char *product_spec)
{
  char file[400];

  snprintf(file, sizeof(file), "%s/demo.lic", root);
  admin((const char *[]){ "license", "issue", "--demo-key", "--host",
                          "localhost", "--licensee", "Test", "--product",
                          product_spec, "--out", file, NULL });
  admin((const char *[]){ "license", "import", file, NULL });
}

/* One HTTP/1.1 request to the server; the status, and the body in BODY
 * (when not NULL). */
static int
http(const char *method, const char *path, const char *json, char *body,
     size_t body_size)
{
  return run_http(port, method, path, json, NULL, body, body_size);
}

static void
start_server(void)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };

  server = fork();
  if (server == 0) {
    freopen("/dev/null", "w", stderr);
    execve(argv[0], (char *const *)argv, (char *const *)env);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    if (http("GET", "/health", NULL, NULL, 0) == 200)
      return;
    usleep(20000);
  }
  cr_assert_fail("the license server did not come up");
}

/* The id and the token of the checkout answer BODY into ID (64) and
 * TOKEN (80); whether both were there. */
static int
parse_session(char *id, char *token, const char *body)
{
  const char *t = strstr(body, "\"token\":\"");

  return sscanf(body, "{\"id\":\"%24[0-9a-f]\"", id) == 1 && t
         && sscanf(t + 9, "%64[0-9a-f]", token) == 1;
}

/* Check session ID in with its TOKEN: the status. */
static int
checkin(const char *id, const char *token)
{
  char path[128], auth[128];

  snprintf(path, sizeof(path), "/v1/sessions/%.100s", id);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %.80s\r\n", token);
  return run_http(port, "DELETE", path, NULL, auth, NULL, 0);
}

static const char checkout_json[] =
  "{\"product\":\"demo\",\"user\":\"u\",\"host\":\"h\",\"pid\":1,"
  "\"application\":\"test\"}";

static void *
client(void *arg)
{
  char *id = arg, body[512];
  int status = http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body));

  id[0] = '\0';
  if (status == 201) {
    if (!parse_session(id, id + 64, body))
      snprintf(id, 64, "!no id and token: %.40s", body);
  }
  else if (status != 409 || !strstr(body, "no seat left"))
    snprintf(id, 64, "!%d", status);
  return NULL;
}

Test(license_server, two_hundred_clients_ten_seats_twenty_times)
{
  enum { CLIENTS = 200 };
  pthread_t threads[CLIENTS];
  static char ids[CLIENTS][64 + 80];    /* id, then token */

  install_license("demo:10:2099-12-31");
  start_server();
  for (int round = 0; round < 20; round++) {
    int granted = 0;
    for (int i = 0; i < CLIENTS; i++)
      pthread_create(&threads[i], NULL, client, ids[i]);
    for (int i = 0; i < CLIENTS; i++)
      pthread_join(threads[i], NULL);
    for (int i = 0; i < CLIENTS; i++) {
      cr_assert_neq(ids[i][0], '!', "round %d client %d: HTTP %s", round, i,
                    ids[i] + 1);
      granted += ids[i][0] != '\0';
    }
    cr_assert_eq(granted, 10, "round %d: %d seats granted", round, granted);
    for (int i = 0; i < CLIENTS; i++)
      if (ids[i][0])
        cr_assert_eq(checkin(ids[i], ids[i] + 64), 200);
  }
}

/* Clients checking out and in until the server dies under them. */
typedef struct churn_t {
  char acked[4096][32];     /* acknowledged and not checked in */
  char tokens[4096][80];
  int n;
  char in_flight[32];       /* a check-in the kill cut off: either way */
} churn_t;

/* Every page of GET /v1/sessions, one after the other, into BODY. */
static void
all_sessions(char *body, size_t size)
{
  static char page[1 << 20];
  char after[64] = "", path[128];
  size_t len = 0;
  int pages = 0;

  body[0] = '\0';
  do {
    const char *next;
    snprintf(path, sizeof(path), "/v1/sessions?limit=1000%s%s",
             *after ? "&after=" : "", after);
    cr_assert_eq(http("GET", path, NULL, page, sizeof(page)), 200, "%s",
                 page);
    cr_assert_lt(len + strlen(page), size);
    strcpy(body + len, page);
    len += strlen(page);
    next = strstr(page, "\"next\":\"");
    after[0] = '\0';
    if (next)
      sscanf(next + 8, "%63[0-9a-f]", after);
    else
      cr_assert(strstr(page, "\"next\":null"), "%s", page);
    cr_assert_lt(++pages, 100);
  } while (*after);
}

static void *
churn(void *arg)
{
  churn_t *c = arg;

  for (int i = 0; c->n < 4000; i++) {
    char out[512];
    int status = http("POST", "/v1/sessions", checkout_json, out,
                      sizeof(out));
    if (status != 201)
      break;                          /* the server is gone */
    if (parse_session(c->acked[c->n], c->tokens[c->n], out))
      c->n++;
    if (i % 4 == 3) {
      c->n--;
      if (checkin(c->acked[c->n], c->tokens[c->n]) != 200) {
        /* the kill cut the check-in off: it may or may not have been
         * committed, so this session may or may not survive */
        strcpy(c->in_flight, c->acked[c->n]);
        break;
      }
    }
  }
  return NULL;
}

Test(license_server, kill_9_loses_no_acknowledged_session)
{
  static churn_t c;
  static char body[4 << 20];
  pthread_t t;
  char want[64];
  int found = 0;

  install_license("demo:100000:2099-12-31");
  start_server();
  pthread_create(&t, NULL, churn, &c);
  /* once a hundred sessions were acknowledged, while requests are in
   * flight */
  for (int i = 0; i < 1000 && __atomic_load_n(&c.n, __ATOMIC_RELAXED) < 100;
       i++)
    usleep(10000);
  cr_assert_geq(__atomic_load_n(&c.n, __ATOMIC_RELAXED), 100, "the clients "
                "got no hundred checkouts acknowledged in 10 s");
  kill(server, SIGKILL);
  waitpid(server, NULL, 0);
  server = -1;
  pthread_join(t, NULL);
  cr_assert_gt(c.n, 0, "no checkout was acknowledged before the kill");
  start_server();
  all_sessions(body, sizeof(body));
  for (int i = 0; i < c.n; i++) {
    cr_assert(strstr(body, c.acked[i]), "session %s lost after kill -9",
              c.acked[i]);
    found++;
  }
  /* at most one more: a checkout committed whose answer the kill cut off,
   * or a check-in cut off before it committed */
  cr_assert_eq(http("GET", "/v1/status", NULL, body, sizeof(body)), 200);
  snprintf(want, sizeof(want), "\"used\":%d", c.n);
  if (!strstr(body, want)) {
    snprintf(want, sizeof(want), "\"used\":%d", c.n + 1);
    cr_assert(strstr(body, want), "status after restart: %s (acknowledged "
              "%d, in flight: %s)", body, c.n, c.in_flight);
  }
  cr_log_info("%d acknowledged sessions survived kill -9", found);
}

/* The text of the server's log. */
static char *
server_log(void)
{
  char path[400];

  snprintf(path, sizeof(path), "%s/logs/license.%d/license.log", lic, port);
  return run_read_file(path);
}

/* Wait up to 10 s for the Nth line of the log containing WHAT. */
static void
await_log(const char *what, int nth)
{
  int n = 0;

  for (int i = 0; i < 200 && n < nth; i++) {
    char *log = server_log();
    n = 0;
    for (const char *at = log; (at = strstr(at, what)) != NULL; at++)
      n++;
    free(log);
    if (n < nth)
      usleep(50000);
  }
  cr_assert_geq(n, nth, "the log does not say \"%s\" (%d times) within "
                "10 s:\n%s", what, nth, server_log());
}

/* HUP reloads the license: a broken replacement is refused and the one in
 * force stays; a good one takes over (so HUP did something). */
Test(license_server, reload_refuses_a_bad_license_and_takes_a_good_one)
{
  char body[4096], path[400];
  FILE *f;

  install_license("demo:3:2099-12-31");
  start_server();
  snprintf(path, sizeof(path), "%s/tessera.lic", lic);
  f = fopen(path, "w");
  fputs("<license>broken</license>\n", f);
  fclose(f);
  kill(server, SIGHUP);
  await_log("reload: the new license was refused; the previous one stays "
            "in force", 1);
  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body)), 201, "%s", body);
  cr_assert_eq(http("GET", "/v1/status", NULL, body, sizeof(body)), 200);
  cr_assert(strstr(body, "\"seats\":3"), "%s", body);

  install_license("demo:7:2099-12-31");
  kill(server, SIGHUP);
  await_log("reloading: log file reopened", 2);
  await_log("in force (1 product)", 2);   /* "license ... in force", again */
  cr_assert_eq(http("GET", "/v1/status", NULL, body, sizeof(body)), 200);
  cr_assert(strstr(body, "\"seats\":7"), "the new license is not in "
            "force after HUP: %s", body);
}

Test(license_server, refusals)
{
  char body[4096], *huge;

  install_license("demo:1:2099-12-31");
  start_server();
  cr_assert_eq(http("POST", "/v1/sessions", "{\"product\":\"nope\","
                    "\"user\":\"u\",\"host\":\"h\",\"pid\":1,\"application\":"
                    "\"a\"}", body, sizeof(body)), 404);
  cr_assert(strstr(body, "unknown product 'nope'"), "%s", body);
  cr_assert_eq(http("POST", "/v1/sessions", "{\"product\":", body,
                    sizeof(body)), 400);
  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body)), 201);
  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body)), 409);
  cr_assert(strstr(body, "no seat left for product demo: 1 of 1 in use"),
            "%s", body);
  huge = malloc(100000);
  memset(huge, 'x', 99999);
  huge[99999] = '\0';
  cr_assert_eq(http("POST", "/v1/sessions", huge, body, sizeof(body)), 413);
  free(huge);
  cr_assert_eq(run_http(port, "DELETE",
                        "/v1/sessions/0123456789abcdef01234567", NULL,
                        "Authorization: Bearer 00\r\n", body,
                        sizeof(body)), 404);
}

Test(license_server, wrong_method_and_unknown_path_say_what_is_there)
{
  char body[4096];

  start_server();
  cr_assert_eq(http("DELETE", "/v1/sessions", NULL, body, sizeof(body)),
               405, "%s", body);
  cr_assert(strstr(body, "/v1/sessions answers POST, GET"), "%s", body);
  cr_assert_eq(run_http_headers(port, "PUT", "/v1/status", body,
                                sizeof(body)), 405);
  cr_assert(strstr(body, "\r\nAllow: GET\r\n"), "%s", body);
  cr_assert_eq(run_http_headers(port, "GET", "/v1/sessions/x/heartbeat",
                                body, sizeof(body)), 405);
  cr_assert(strstr(body, "\r\nAllow: PUT, POST\r\n"), "%s", body);
  cr_assert_eq(http("GET", "/v1/sesions", NULL, body, sizeof(body)), 404);
  cr_assert(strstr(body, "no such resource: /v1/sesions; try POST "
                   "/v1/sessions, GET /v1/status"), "%s", body);
  cr_assert_eq(run_http_headers(port, "HEAD", "/health", body,
                                sizeof(body)), 200);
  cr_assert_eq(run_http_headers(port + 2, "HEAD", "/v1/links", body,
                                sizeof(body)), 405);
}

Test(license_server, admin_status_shows_seats_and_sessions)
{
  const char *argv[] = { TESSERA_ADMIN, "status", "--json", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, NULL };
  run_result_t r;

  r = run(argv, env, NULL);
  cr_assert_eq(r.status, 69, "no server yet: exit %d", r.status);
  cr_assert(strstr(r.err, "does not answer; is it running?"), "%s", r.err);
  run_free(&r);
  install_license("demo:5:2099-12-31");
  start_server();
  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, NULL, 0), 201);
  r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "\"used\": 1"), "%s", r.out);
  cr_assert(strstr(r.out, "\"seats\": 5"), "%s", r.out);
  cr_assert(strstr(r.out, "\"application\": \"test\""), "%s", r.out);
  run_free(&r);
}

Test(license_server, expired_product_is_refused)
{
  char file[400], body[4096];

  snprintf(file, sizeof(file), "%s/two.lic", root);
  admin((const char *[]){ "license", "issue", "--demo-key", "--host",
                          "localhost", "--licensee", "Test", "--product",
                          "demo:1:2099-12-31", "--product",
                          "old:2:2020-01-01", "--out", file, NULL });
  admin((const char *[]){ "license", "import", file, NULL });
  start_server();
  cr_assert_eq(http("POST", "/v1/sessions", "{\"product\":\"old\",\"user\":"
                    "\"u\",\"host\":\"h\",\"pid\":1,\"application\":\"a\"}",
                    body, sizeof(body)), 503, "%s", body);
  cr_assert(strstr(body, "the license for product 'old' has expired"), "%s",
            body);
  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body)), 201, "%s", body);
}

/* Check out a seat; its id into ID. */
static void
checkout_one(char id[64])
{
  char body[512];

  cr_assert_eq(http("POST", "/v1/sessions", checkout_json, body,
                    sizeof(body)), 201, "%s", body);
  cr_assert_eq(sscanf(body, "{\"id\":\"%24[0-9a-f]\"", id), 1, "%s", body);
}

/* Without tessera.xml the server listens on "::", which takes IPv4 too:
 * the audit log says who force-released, from which address, for both. */
Test(license_server, audit_names_the_client_on_the_default_listener)
{
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_home,
                        NULL };
  const char *auth = "Authorization: Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==\r\n";
  const char *const from[] = { "127.0.0.1", "::1" };
  char cmd[600], id[64], path[128], body[1024], want[128], audit_path[400];
  run_result_t r;
  char *audit;

  install_license("demo:5:2099-12-31");
  snprintf(cmd, sizeof(cmd), "echo 'correct horse' | %s license passwd "
           "--stdin", TESSERA_ADMIN);
  r = run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  start_server();
  for (int i = 0; i < 2; i++) {
    checkout_one(id);
    snprintf(path, sizeof(path), "/v1/sessions/%s/release", id);
    cr_assert_eq(run_http_at(from[i], port, "POST", path, "{\"reason\":"
                             "\"test\"}", auth, body, sizeof(body)), 200,
                 "from %s: %s", from[i], body);
  }
  snprintf(audit_path, sizeof(audit_path), "%s/logs/license.%d/audit.jsonl",
           lic, port);
  audit = run_read_file(audit_path);
  for (int i = 0; i < 2; i++) {
    snprintf(want, sizeof(want), "\"by\":\"alice\",\"reason\":\"test\","
             "\"client\":\"%s\"", from[i]);
    cr_assert(strstr(audit, want), "no %s in the audit log:\n%s", want,
              audit);
  }
  free(audit);
}

/* Checkouts with a long application name, until CHECKOUT_N are done. */
typedef struct filler_t {
  int n;
  int failed;               /* the status of a refusal, or 0 */
} filler_t;

enum { SESSIONS = 8000, FILLERS = 8 };

static void *
fill(void *arg)
{
  filler_t *f = arg;
  char json[512];

  snprintf(json, sizeof(json), "{\"product\":\"demo\",\"user\":"
           "\"a-user-with-a-longer-name\",\"host\":\"workstation-%p\","
           "\"pid\":4711,\"application\":\"%0200d\"}", arg, 7);
  for (int i = 0; i < SESSIONS / FILLERS && !f->failed; i++) {
    int status = http("POST", "/v1/sessions", json, NULL, 0);
    if (status != 201)
      f->failed = status;
    f->n++;
  }
  return NULL;
}

/* How often NEEDLE occurs in HAYSTACK. */
static int
count_of(const char *haystack, const char *needle)
{
  int n = 0;

  for (const char *at = haystack; (at = strstr(at, needle)) != NULL; at++)
    n++;
  return n;
}

/* More sessions than 1 MiB of JSON: the API pages them; tessera-admin
 * reads every page (it used to fail with "not as a Tessera license
 * server" on a body cut at 1 MiB). */
Test(license_server, eight_thousand_sessions_come_in_pages)
{
  static filler_t f[FILLERS];
  static char body[1 << 16], first[64], second[64];
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_home,
                        NULL };
  pthread_t t[FILLERS];
  run_result_t r;
  char path[160], *at;

  install_license("demo:10000:2099-12-31");
  start_server();
  for (int i = 0; i < FILLERS; i++)
    pthread_create(&t[i], NULL, fill, &f[i]);
  for (int i = 0; i < FILLERS; i++) {
    pthread_join(t[i], NULL);
    cr_assert_eq(f[i].failed, 0, "a checkout got HTTP %d", f[i].failed);
  }

  /* the API: pages of ?limit=, each continuing after the last */
  cr_assert_eq(http("GET", "/v1/sessions?limit=2", NULL, body,
                    sizeof(body)), 200, "%s", body);
  cr_assert_eq(count_of(body, "\"id\":"), 2, "%s", body);
  cr_assert_not_null(at = strstr(body, "\"next\":\""), "%s", body);
  cr_assert_eq(sscanf(at + 8, "%63[0-9a-f]", first), 1);
  snprintf(path, sizeof(path), "/v1/sessions?limit=2&after=%s", first);
  cr_assert_eq(http("GET", path, NULL, body, sizeof(body)), 200, "%s", body);
  cr_assert_eq(count_of(body, "\"id\":"), 2, "%s", body);
  cr_assert_null(strstr(body, first), "the page after %s holds it: %s",
                 first, body);
  cr_assert_not_null(at = strstr(body, "\"next\":\""), "%s", body);
  cr_assert_eq(sscanf(at + 8, "%63[0-9a-f]", second), 1);
  cr_assert_str_gt(second, first);
  cr_assert_eq(http("GET", "/v1/sessions?limit=0", NULL, body,
                    sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "?limit=1..10000"), "%s", body);
  cr_assert_eq(http("GET", "/v1/sessions?limit=ten", NULL, body,
                    sizeof(body)), 400);
  cr_assert_eq(http("GET", "/v1/sessions?after=..%2Fx", NULL, body,
                    sizeof(body)), 400);

  /* tessera-admin reads them all, each once */
  r = run((const char *[]){ TESSERA_ADMIN, "sessions", "list", "--json",
                            NULL }, env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_gt(strlen(r.out), 1 << 20, "the list is not over 1 MiB");
  cr_assert_eq(count_of(r.out, "\"id\":"), SESSIONS, "%s", r.err);
  cr_assert_eq(count_of(r.out, first), 1);
  run_free(&r);
  r = run((const char *[]){ TESSERA_ADMIN, "status", NULL }, env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "sessions: 8000\n"), "%.300s", r.out);
  cr_assert(strstr(r.out, "demo                   8000  10000"), "%.600s",
            r.out);
  run_free(&r);
}

/* The vendor's side with bare file names, in the current directory: both
 * halves of the key are written, and the key issues a license there (the
 * directory of "vendor.key" was "", so writing the .key failed on
 * open("") after the fact and the .pub never came). */
Test(license_server, keygen_and_issue_with_bare_names)
{
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_home,
                        NULL };
  char cmd[1200], path[400], *pub;
  run_result_t r;

  snprintf(cmd, sizeof(cmd), "cd '%s' && %s license keygen --out vendor "
           "&& %s license issue --key vendor.key --host localhost "
           "--licensee Test --product demo:1:2099-12-31 --out lic1.lic",
           root, TESSERA_ADMIN, TESSERA_ADMIN);
  r = run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, env, NULL);
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.out, "vendor.key (secret) and vendor.pub written"),
            "%s", r.out);
  run_free(&r);
  snprintf(path, sizeof(path), "%s/vendor.pub", root);
  pub = run_read_file(path);
  cr_assert_eq(strlen(pub), 45, "vendor.pub: '%s'", pub);
  free(pub);
  snprintf(path, sizeof(path), "%s/lic1.lic", root);
  pub = run_read_file(path);
  cr_assert(strstr(pub, "<product name=\"demo\""), "lic1.lic: %s", pub);
  free(pub);
}

/* The server's /metrics into BODY (SIZE bytes). */
static void
metrics(char *body, size_t size)
{
  cr_assert_eq(http("GET", "/metrics", NULL, body, size), 200);
}

static int
checkout_of(const char *product)
{
  char json[256];

  snprintf(json, sizeof(json), "{\"product\":\"%s\",\"user\":\"u\","
           "\"host\":\"h\",\"pid\":1,\"application\":\"a\"}", product);
  return http("POST", "/v1/sessions", json, NULL, 0);
}

Test(license_server, refused_checkouts_and_expiry_on_metrics)
{
  static char body[1 << 17];
  const char *env[] = { "PATH=/usr/bin:/bin", NULL };
  char file[400], cmd[500];
  run_result_t r;
  int n = 0;

  /* no license in force yet */
  start_server();
  cr_assert_eq(checkout_of("demo"), 503);
  metrics(body, sizeof(body));
  cr_assert(strstr(body, "tessera_license_checkouts_denied_total{product="
                   "\"demo\",reason=\"no_license\"} 1\n"), "%s", body);
  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  server = -1;

  snprintf(file, sizeof(file), "%s/two.lic", root);
  admin((const char *[]){ "license", "issue", "--demo-key", "--host",
                          "localhost", "--licensee", "Test", "--product",
                          "demo:2:2099-12-31", "--product",
                          "old:1:2020-01-01", "--out", file, NULL });
  admin((const char *[]){ "license", "import", file, NULL });
  start_server();
  for (int i = 0; i < 2; i++)
    cr_assert_eq(checkout_of("demo"), 201);
  cr_assert_eq(checkout_of("demo"), 409);
  cr_assert_eq(checkout_of("old"), 503);
  /* a name a client made up, with what the text format escapes */
  cr_assert_eq(checkout_of("we\\\"ird\\\\na\\nme"), 404);
  /* more made-up names than get series of their own */
  for (int i = 0; i < 150; i++) {
    char name[16];
    snprintf(name, sizeof(name), "p%d", i);
    cr_assert_eq(checkout_of(name), 404);
  }
  metrics(body, sizeof(body));
  for (const char *const *want = (const char *const[]){
       "tessera_license_checkouts_denied_total{product=\"demo\","
       "reason=\"no_seat\"} 1\n",
       "tessera_license_checkouts_denied_total{product=\"demo\","
       "reason=\"expired\"} 0\n",
       "tessera_license_checkouts_denied_total{product=\"old\","
       "reason=\"expired\"} 1\n",
       "tessera_license_checkouts_denied_total{product=\"we\\\"ird\\\\na"
       "\\nme\",reason=\"unknown_product\"} 1\n",
       "tessera_license_checkouts_denied_total{product=\"_other\","
       "reason=\"unknown_product\"} 51\n",
       "tessera_license_expiry_timestamp_seconds{product=\"demo\"} "
       "4102444800\n",    /* 2100-01-01T00:00:00Z */
       "tessera_license_expiry_timestamp_seconds{product=\"old\"} "
       "1577923200\n",    /* 2020-01-02T00:00:00Z */
       NULL }; *want; want++)
    cr_assert(strstr(body, *want), "no %s in:\n%s", *want, body);
  for (const char *l = body; (l = strstr(l, "reason=\"unknown_product\""));
       l++)
    n++;
  cr_assert_eq(n, 101, "%d series of made-up products (100 and _other)", n);
  snprintf(file, sizeof(file), "%s/metrics.txt", root);
  run_write_file(file, body);
  snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", file);
  r = run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, env, NULL);
  cr_assert_eq(r.status, 0, "promtool: %s%s", r.out, r.err);
  run_free(&r);
}
