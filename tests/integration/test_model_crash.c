/* test_model_crash.c: model servers killed, crowded and counted (Linux,
 * real tesserad, license server and mosquitto): kill -9 while clients
 * write loses nothing acknowledged (the restart has every change that
 * was answered) and the license server frees the seats; the last will on
 * the bus tells the kill at once; ports held by other listeners are
 * skipped; 50 servers started at once get 50 distinct ports and clean up
 * their records. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "model_fixture.h"
#include "run.h"

static void
setup(void)
{
  mf_setup(mf_config(60, 0));
}

TestSuite(model_crash, .init = setup, .fini = mf_teardown, .timeout = 240);

/* ---- kill -9 while clients write ----------------------------------------- */

#define WRITERS 4
#define MAX_ACKED 100000

/* One client: elements it made, each at the revision last answered. */
typedef struct writer_t {
  int port;
  char token[65], id[32];
  long ids[MAX_ACKED];
  int revision[MAX_ACKED];
  int acked;                    /* changes answered */
  int n;                        /* elements made */
  volatile int *total;
} writer_t;

static apr_thread_mutex_t *total_lock;

static void
count_one(writer_t *w)
{
  apr_thread_mutex_lock(total_lock);
  (*w->total)++;
  apr_thread_mutex_unlock(total_lock);
  w->acked++;
}

/* Make an element, then change it once; stop at the first change that is
 * not answered (the server is gone). */
static void *APR_THREAD_FUNC
write_loop(apr_thread_t *t, void *data)
{
  writer_t *w = data;
  char name[32], json[128], path[64];

  (void)t;
  while (w->n < MAX_ACKED) {
    long id;
    snprintf(name, sizeof(name), "e%d", w->n);
    id = mf_create(w->port, w->token, "item", name, 0, "{\"step\":1}");
    if (id <= 0)
      break;
    w->ids[w->n] = id;
    w->revision[w->n++] = 1;
    count_one(w);
    snprintf(json, sizeof(json), "{\"revision\":1,\"properties\":"
             "{\"step\":2}}");
    snprintf(path, sizeof(path), "/v1/elements/%ld", id);
    if (mf_call(w->port, "PUT", path, json, w->token, NULL) != 200)
      break;
    w->revision[w->n - 1] = 2;
    count_one(w);
  }
  return NULL;
}

/* Every change W was answered is in the server on PORT_. */
static void
all_there(const writer_t *w, int port_, const char *token)
{
  for (int i = 0; i < w->n; i++) {
    json_t *a;
    char path[64];
    snprintf(path, sizeof(path), "/v1/elements/%ld", w->ids[i]);
    cr_assert_eq(mf_call(port_, "GET", path, NULL, token, &a), 200,
                 "element %ld, answered before the kill, is gone",
                 w->ids[i]);
    cr_assert_geq(json_integer_value(json_object_get(a, "revision")),
                  w->revision[i], "element %ld lost a change", w->ids[i]);
    if (w->revision[i] == 2)
      cr_assert_eq(json_integer_value(json_object_get(json_object_get(a,
                   "properties"), "step")), 2);
    json_decref(a);
  }
}

static int
license_has_no_session(void *baton)
{
  json_t *a;
  int none;

  (void)baton;
  cr_assert_eq(mf_call(port, "GET", "/v1/sessions", NULL, NULL, &a), 200);
  none = json_array_size(json_object_get(a, "sessions")) == 0;
  json_decref(a);
  return none;
}

Test(model_crash, kill_9_loses_nothing_acknowledged)
{
  const char *repo = mf_repo("v1", "demo", 0);
  static writer_t w[WRITERS];
  apr_thread_t *t[WRITERS];
  volatile int total = 0;
  apr_status_t ignored;
  char token[65], id[32];
  int made = 0;

  apr_thread_mutex_create(&total_lock, APR_THREAD_MUTEX_DEFAULT, tp);
  mf_start(0, repo);
  for (int i = 0; i < WRITERS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].port = ms_port[0];
    w[i].total = &total;
    cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", w[i].token, w[i].id),
                 201);
    apr_thread_create(&t[i], NULL, write_loop, &w[i], tp);
  }
  while (total < 400)
    usleep(1000);
  kill(ms_pid[0], SIGKILL);
  for (int i = 0; i < WRITERS; i++) {
    apr_thread_join(&ignored, t[i]);
    made += w[i].n;
  }
  waitpid(ms_pid[0], NULL, 0);
  ms_pid[0] = -1;
  cr_assert(mf_poll(license_has_no_session, NULL, 10), "the license server "
            "kept the seats of the killed model server");

  mf_start(0, repo);
  cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  for (int i = 0; i < WRITERS; i++)
    all_there(&w[i], ms_port[0], token);
  cr_log_info("%d elements made, %d changes answered before the kill",
              made, total);
}

/* ---- the bus ------------------------------------------------------------- */

static const char *watch_file;

static int
watched(void *baton)
{
  char *text = run_read_file(watch_file);
  int seen = strstr(text, baton) != NULL;

  free(text);
  return seen;
}

Test(model_crash, the_last_will_tells_a_kill_9_on_the_bus)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char bus_port[16], topic[128];
  pid_t sub, killed;

  mf_start(0, repo);
  snprintf(bus_port, sizeof(bus_port), "%d", port + 1);
  snprintf(topic, sizeof(topic), "tessera/v1/model-servers/localhost:%d",
           ms_port[0]);
  watch_file = in_root("watch.out");
  sub = fork();
  if (sub == 0) {
    if (!freopen(watch_file, "w", stdout))
      _exit(127);
    execl("/usr/bin/stdbuf", "stdbuf", "-oL", "/usr/bin/mosquitto_sub",
          "-h", "127.0.0.1", "-p", bus_port, "-t", topic, "-v", (char *)NULL);
    _exit(127);
  }
  /* the license server's retained "up": the subscription is live */
  cr_assert(mf_poll(watched, "\"state\":\"up\"", 10), "%s",
            run_read_file(watch_file));
  killed = ms_pid[0];
  kill(ms_pid[0], SIGKILL);
  waitpid(ms_pid[0], NULL, 0);
  ms_pid[0] = -1;
  cr_assert(mf_poll(watched, "\"state\":\"down\"", 5), "no will: %s",
            run_read_file(watch_file));
  cr_assert(watched("the model server's bus connection broke"));
  cr_assert(watched(apr_psprintf(tp, "\"pid\":%ld", (long)killed)));
  kill(sub, SIGTERM);
  waitpid(sub, NULL, 0);
}

/* Each acknowledged change of an element is an event on the bus (for the
 * notification service): models/<model>/<version>/elements/<id>, with
 * what was done, by whom, and the new revision. */
Test(model_crash, element_changes_are_events_on_the_bus)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char bus_port[16], up[128], token[65], id[32];
  pid_t sub;
  long e;
  int updated;

  mf_start(0, repo);
  snprintf(bus_port, sizeof(bus_port), "%d", port + 1);
  snprintf(up, sizeof(up), "tessera/v1/model-servers/localhost:%d",
           ms_port[0]);
  watch_file = in_root("events.out");
  sub = fork();
  if (sub == 0) {
    if (!freopen(watch_file, "w", stdout))
      _exit(127);
    execl("/usr/bin/stdbuf", "stdbuf", "-oL", "/usr/bin/mosquitto_sub",
          "-h", "127.0.0.1", "-p", bus_port, "-t", up, "-t",
          "tessera/v1/models/#", "-v", (char *)NULL);
    _exit(127);
  }
  /* the retained "up" came through the same subscription: it is live */
  cr_assert(mf_poll(watched, "\"state\":\"up\"", 10), "%s",
            run_read_file(watch_file));
  cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  e = mf_create(ms_port[0], token, "wall", "north wall", 0, "{}");
  cr_assert_gt(e, 0);
  cr_assert_eq(mf_call(ms_port[0], "PUT", apr_psprintf(tp, "/v1/elements/"
                       "%ld", e), "{\"revision\":1,\"name\":\"N wall\"}",
                       token, NULL), 200);
  updated = mf_poll(watched, apr_psprintf(tp, "tessera/v1/models/bridge/"
                    "v1/elements/%ld {\"op\":\"update\"", e), 5);
  /* the subscriber goes before any assertion can end the test */
  kill(sub, SIGTERM);
  waitpid(sub, NULL, 0);
  cr_assert(updated, "%s", run_read_file(watch_file));
  cr_assert(watched(apr_psprintf(tp, "tessera/v1/models/bridge/v1/elements/"
                                 "%ld {\"op\":\"create\"", e)), "%s",
            run_read_file(watch_file));
  cr_assert(watched("\"user\":\"ada\",\"host\":\"ws1\""), "%s",
            run_read_file(watch_file));
  cr_assert(watched("\"revision\":2,\"type\":\"wall\",\"name\":"
                    "\"N wall\""), "%s", run_read_file(watch_file));
}

/* ---- ports --------------------------------------------------------------- */

/* Listen on 127.0.0.1:P (the model servers' listen address here). */
static apr_socket_t *
hold(int p)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;

  cr_assert_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET,
                                     (apr_port_t)p, 0, tp), APR_SUCCESS);
  cr_assert_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                 tp), APR_SUCCESS);
  cr_assert_eq(apr_socket_bind(s, sa), APR_SUCCESS, "port %d is taken", p);
  cr_assert_eq(apr_socket_listen(s, 5), APR_SUCCESS);
  return s;
}

Test(model_crash, ports_held_by_other_listeners_are_skipped)
{
  apr_socket_t *a = hold(port + 6), *b = hold(port + 7);
  const char *repo = mf_repo("v1", "demo", 0);
  char *log;

  mf_start(0, repo);
  cr_assert_eq(ms_port[0], port + 8);
  log = run_read_file(apr_pstrcat(tp, repo, "/srv.log", NULL));
  cr_assert(strstr(log, apr_psprintf(tp, "port %d: the first free of %d..",
                                     port + 8, port + 6)), "%s", log);
  free(log);
  apr_socket_close(a);
  apr_socket_close(b);
}

#define CROWD 50

static int
records_gone(void *baton)
{
  (void)baton;
  for (int i = 0; i < CROWD; i++)
    if (access(mf_record_path(ms_port[i]), F_OK) == 0)
      return 0;
  return 1;
}

Test(model_crash, fifty_servers_started_at_once_get_fifty_ports)
{
  const char *repos[CROWD];

  for (int i = 0; i < CROWD; i++)
    repos[i] = mf_repo(apr_psprintf(tp, "v%d", i), "demo", 0);
  for (int i = 0; i < CROWD; i++)
    mf_spawn(i, repos[i], NULL);
  for (int i = 0; i < CROWD; i++)
    mf_wait(i, repos[i], 120);
  for (int i = 0; i < CROWD; i++) {
    cr_assert(ms_port[i] >= port + 6 && ms_port[i] <= port + 65,
              "port %d", ms_port[i]);
    for (int k = 0; k < i; k++)
      cr_assert_neq(ms_port[i], ms_port[k], "servers %d and %d share port "
                    "%d", i, k, ms_port[i]);
  }
  for (int i = 0; i < CROWD; i++)
    kill(ms_pid[i], SIGTERM);
  for (int i = 0; i < CROWD; i++) {
    int status;
    waitpid(ms_pid[i], &status, 0);
    ms_pid[i] = -1;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "server %d: status %d", i, status);
  }
  cr_assert(records_gone(NULL), "records left after the clean stops");
}
