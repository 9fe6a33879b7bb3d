/* test_model_server.c: the model server (`tesserad model REPOSITORY`)
 * against a real license server with the demo license (5 seats of
 * "demo") and the real mosquitto (Linux): a session takes a seat, which
 * the license server lists with the model server, and no seat is no
 * session with the license server's reason; elements created, read,
 * listed with filters and pages, changed with the revision they were read
 * at (stale: 409), deleted; reservations (423 naming the holder; free
 * after the release, the end of the holder's session and its inactivity
 * timeout); read-only repositories; the record in INOPRJ; /metrics;
 * closing when nobody uses the version. Crashes, ports and the bus:
 * test_model_crash.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "model_fixture.h"
#include "ts_control.h"
#include "run.h"

static void
setup(void)
{
  mf_setup(mf_config(2, 0));
}

TestSuite(model_server, .init = setup, .fini = mf_teardown, .timeout = 120);

/* "/v1/elements/ID" followed by REST. */
static const char *
path_of(long id, const char *rest)
{
  return apr_psprintf(tp, "/v1/elements/%ld%s", id, rest);
}

/* The license server's sessions (its GET /v1/sessions). */
static json_t *
license_sessions(void)
{
  json_t *a;
  int status = mf_call(port, "GET", "/v1/sessions", NULL, NULL, &a);

  cr_assert_eq(status, 200);
  return json_object_get(a, "sessions") ? a : NULL;
}

Test(model_server, a_session_takes_a_seat_of_the_repositorys_product)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char token[65], id[32];
  json_t *a, *s;
  int mport;

  mf_start(0, repo);
  mport = ms_port[0];
  cr_assert_eq(mf_session(mport, "ada", "ws1", token, id), 201);
  a = license_sessions();
  cr_assert_eq(json_array_size(json_object_get(a, "sessions")), 1);
  s = json_array_get(json_object_get(a, "sessions"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(s, "product")), "demo");
  cr_assert_str_eq(json_string_value(json_object_get(s, "user")), "ada");
  cr_assert_str_eq(json_string_value(json_object_get(s, "model_server")),
                   apr_psprintf(tp, "localhost:%d", mport));
  json_decref(a);

  /* the session is its holder's: no token 401, another's 404 */
  cr_assert_eq(mf_call(mport, "DELETE", "/v1/sessions/nosuch", NULL, token,
                       NULL), 404);
  cr_assert_eq(mf_call(mport, "DELETE", apr_psprintf(tp, "/v1/sessions/%s",
                       id), NULL, NULL, NULL), 401);
  cr_assert_eq(mf_call(mport, "DELETE", apr_psprintf(tp, "/v1/sessions/%s",
                       id), NULL, "0123", NULL), 404);
  cr_assert_eq(mf_call(mport, "DELETE", apr_psprintf(tp, "/v1/sessions/%s",
                       id), NULL, token, NULL), 200);
  a = license_sessions();
  cr_assert_eq(json_array_size(json_object_get(a, "sessions")), 0,
               "the seat was given back");
  json_decref(a);
  /* and its token opens nothing any more */
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements", NULL, token, NULL),
               401);
}

Test(model_server, no_seat_no_session_with_the_license_servers_reason)
{
  const char *repo = mf_repo("v1", "demo", 0);
  const char *other = mf_repo("v2", "nosuchproduct", 0);
  char token[65], id[32];
  json_t *a;
  const char *error;

  mf_start(0, repo);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  cr_assert_eq(mf_call(ms_port[0], "POST", "/v1/sessions", "{\"user\":"
                       "\"bob\",\"host\":\"ws2\",\"pid\":2,\"application\":"
                       "\"modeler\"}", NULL, &a), 409);
  error = json_string_value(json_object_get(a, "error"));
  cr_assert(strstr(error, "no seat left for product demo: 5 of 5 in use"),
            "%s", error);
  json_decref(a);

  mf_start(1, other);
  cr_assert_eq(mf_call(ms_port[1], "POST", "/v1/sessions", "{\"user\":"
                       "\"bob\",\"host\":\"ws2\",\"pid\":2,\"application\":"
                       "\"modeler\"}", NULL, &a), 404);
  error = json_string_value(json_object_get(a, "error"));
  cr_assert(strstr(error, "unknown product 'nosuchproduct'"), "%s", error);
  json_decref(a);
}

Test(model_server, elements_created_read_changed_and_deleted)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char token[65], id[32];
  long top, child;
  json_t *a;
  int mport;

  mf_start(0, repo);
  mport = ms_port[0];
  cr_assert_eq(mf_session(mport, "ada", "ws1", token, id), 201);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements", NULL, NULL, NULL), 401,
               "elements need a session");
  top = mf_create(mport, token, "building", "B1", 0, "{\"floors\":3}");
  cr_assert_gt(top, 0);
  child = mf_create(mport, token, "floor", "F1", top, "{}");
  cr_assert_gt(child, 0);
  cr_assert_eq(mf_create(mport, token, "floor", "F9", 999999, "{}"), -409,
               "a parent that does not exist");

  cr_assert_eq(mf_call(mport, "GET", path_of(top, ""), NULL,
                       token, &a), 200);
  cr_assert_eq(json_integer_value(json_object_get(a, "revision")), 1);
  cr_assert_eq(json_integer_value(json_object_get(a, "children")), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(a,
               "properties"), "floors")), 3);
  json_decref(a);

  cr_assert_eq(mf_call(mport, "PUT", path_of(top, ""),
                       "{\"revision\":1,\"name\":\"B1a\",\"properties\":"
                       "{\"floors\":4}}", token, &a), 200);
  cr_assert_eq(json_integer_value(json_object_get(a, "revision")), 2);
  cr_assert_str_eq(json_string_value(json_object_get(a, "name")), "B1a");
  cr_assert_str_eq(json_string_value(json_object_get(a, "type")), "building");
  json_decref(a);
  /* a stale revision is 409, naming the current one */
  cr_assert_eq(mf_call(mport, "PUT", path_of(top, ""),
                       "{\"revision\":1,\"name\":\"late\"}", token, &a), 409);
  cr_assert_eq(json_integer_value(json_object_get(a, "revision")), 2);
  cr_assert(strstr(json_string_value(json_object_get(a, "error")),
                   "it is at revision 2, you sent 1"));
  json_decref(a);
  /* no cycles */
  cr_assert_eq(mf_call(mport, "PUT", path_of(top, ""),
                       apr_psprintf(tp, "{\"revision\":2,\"parent\":%ld}",
                                    child), token, NULL), 409);

  /* deleting: the revision read; children first */
  cr_assert_eq(mf_call(mport, "DELETE", path_of(top, ""),
                       NULL, token, NULL), 400);
  cr_assert_eq(mf_call(mport, "DELETE", path_of(top, "?revision=2"), NULL,
                       token, NULL), 409, "it has a child");
  cr_assert_eq(mf_call(mport, "DELETE", path_of(child, ""),
                       "{\"revision\":1}", token, NULL), 200);
  cr_assert_eq(mf_call(mport, "DELETE", path_of(top, "?revision=2"), NULL,
                       token, NULL), 200);
  cr_assert_eq(mf_call(mport, "GET", path_of(top, ""), NULL,
                       token, NULL), 404);
}

Test(model_server, listing_with_filters_and_pages)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char token[65], id[32];
  long top;
  json_t *a;
  int mport, seen = 0, pages = 0;
  const char *next = "";

  mf_start(0, repo);
  mport = ms_port[0];
  cr_assert_eq(mf_session(mport, "ada", "ws1", token, id), 201);
  top = mf_create(mport, token, "building", "B1", 0, "{}");
  for (int i = 0; i < 25; i++)
    cr_assert_gt(mf_create(mport, token, i % 2 ? "wall" : "door",
                           apr_psprintf(tp, "n%d", i % 5), top, "{}"), 0);
  do {
    json_t *n;
    cr_assert_eq(mf_call(mport, "GET", apr_psprintf(tp, "/v1/elements?"
                         "limit=10%s%s", *next ? "&after=" : "", next), NULL,
                         token, &a), 200);
    seen += (int)json_array_size(json_object_get(a, "elements"));
    n = json_object_get(a, "next");
    next = json_is_null(n) ? "" : apr_psprintf(tp, "%ld",
                                               (long)json_integer_value(n));
    pages++;
    json_decref(a);
  } while (*next);
  cr_assert_eq(seen, 26);
  cr_assert_eq(pages, 3);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements?type=wall", NULL, token,
                       &a), 200);
  cr_assert_eq(json_array_size(json_object_get(a, "elements")), 12);
  json_decref(a);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements?type=door&name=n0", NULL,
                       token, &a), 200);
  cr_assert_eq(json_array_size(json_object_get(a, "elements")), 3);
  json_decref(a);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements?parent=null", NULL, token,
                       &a), 200);
  cr_assert_eq(json_array_size(json_object_get(a, "elements")), 1);
  json_decref(a);
  cr_assert_eq(mf_call(mport, "GET", apr_psprintf(tp,
                       "/v1/elements?parent=%ld", top), NULL, token, &a), 200);
  cr_assert_eq(json_array_size(json_object_get(a, "elements")), 25);
  json_decref(a);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements?limit=0", NULL, token,
                       NULL), 400);
}

/* The seat's lease is 2 s here: the model server renews it while the
 * session works, for three leases and more. */
Test(model_server, the_seat_is_renewed_while_the_session_works)
{
  char token[65], id[32];
  apr_time_t until = apr_time_now() + apr_time_from_sec(7);
  json_t *a;

  mf_start(0, mf_repo("v1", "demo", 0));
  cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  while (apr_time_now() < until) {
    cr_assert_eq(mf_call(ms_port[0], "GET", "/v1/elements", NULL, token,
                         NULL), 200);
    a = license_sessions();
    cr_assert_eq(json_array_size(json_object_get(a, "sessions")), 1,
                 "the license server let the seat go");
    json_decref(a);
    usleep(200000);
  }
}

/* ---- reservations -------------------------------------------------------- */

typedef struct pair_t {
  int port;
  char a[65], a_id[32], b[65], b_id[32];
  long element;
} pair_t;

/* Two sessions, ada on ws1 and bob on ws2, and an element. */
static void
two_sessions(pair_t *p, int slot)
{
  p->port = ms_port[slot];
  cr_assert_eq(mf_session(p->port, "ada", "ws1", p->a, p->a_id), 201);
  cr_assert_eq(mf_session(p->port, "bob", "ws2", p->b, p->b_id), 201);
  p->element = mf_create(p->port, p->a, "wall", "W1", 0, "{}");
  cr_assert_gt(p->element, 0);
}

/* A change by TOKEN of P's element: its status. */
static int
rename_as(pair_t *p, const char *token, json_t **answer)
{
  json_t *a;
  long revision;

  cr_assert_eq(mf_call(p->port, "GET", path_of(p->element, ""), NULL, token,
                       &a), 200);
  revision = (long)json_integer_value(json_object_get(a, "revision"));
  json_decref(a);
  return mf_call(p->port, "PUT", path_of(p->element, ""), apr_psprintf(tp,
                 "{\"revision\":%ld,\"name\":\"W%ld\"}", revision,
                 revision + 1), token, answer);
}

static void
reserve_as_ada(pair_t *p)
{
  json_t *a;

  cr_assert_eq(mf_call(p->port, "POST", path_of(p->element, "/reservation"),
                       NULL, p->a, &a), 200);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
                   "reserved_by"), "user")), "ada");
  json_decref(a);
}

/* Bob is refused with 423 naming ada on ws1, for a change and for a
 * reservation of his own; ada may change it. */
static void
bob_is_locked_out(pair_t *p)
{
  json_t *a;
  const char *error;

  cr_assert_eq(rename_as(p, p->b, &a), 423);
  error = json_string_value(json_object_get(a, "error"));
  cr_assert(strstr(error, "reserved by ada on ws1"), "%s", error);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
                   "reserved_by"), "session")), p->a_id);
  json_decref(a);
  cr_assert_eq(mf_call(p->port, "POST", path_of(p->element, "/reservation"),
                       NULL, p->b, NULL), 423);
  cr_assert_eq(mf_call(p->port, "DELETE", path_of(p->element,
                       "/reservation"), NULL, p->b, NULL), 423);
  cr_assert_eq(mf_call(p->port, "DELETE", path_of(p->element, "?revision=99"),
                       NULL, p->b, NULL), 423);
  cr_assert_eq(rename_as(p, p->a, NULL), 200, "the holder may change it");
  cr_assert_eq(mf_call(p->port, "GET", path_of(p->element, ""), NULL, p->b,
                       &a), 200, "others may read it");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
                   "reserved_by"), "host")), "ws1");
  json_decref(a);
}

Test(model_server, a_reservation_holds_until_released)
{
  pair_t p;

  mf_start(0, mf_repo("v1", "demo", 0));
  two_sessions(&p, 0);
  reserve_as_ada(&p);
  bob_is_locked_out(&p);
  cr_assert_eq(mf_call(p.port, "DELETE", path_of(p.element, "/reservation"),
                       NULL, p.a, NULL), 200);
  cr_assert_eq(rename_as(&p, p.b, NULL), 200);
}

Test(model_server, a_reservation_ends_with_its_session)
{
  pair_t p;

  mf_start(0, mf_repo("v1", "demo", 0));
  two_sessions(&p, 0);
  reserve_as_ada(&p);
  bob_is_locked_out(&p);
  cr_assert_eq(mf_call(p.port, "DELETE", apr_psprintf(tp, "/v1/sessions/%s",
                       p.a_id), NULL, p.a, NULL), 200);
  cr_assert_eq(rename_as(&p, p.b, NULL), 200);
}

/* Bob's change goes through (each try is activity of his session). */
static int
bob_may_change(void *baton)
{
  return rename_as(baton, ((pair_t *)baton)->b, NULL) == 200;
}

static int
license_has_one_session(void *baton)
{
  json_t *a = license_sessions();
  int one = json_array_size(json_object_get(a, "sessions")) == 1;

  (void)baton;
  json_decref(a);
  return one;
}

/* session-idle-seconds is 2 here: ada, silent, is logged out, her
 * reservation and her seat freed, while bob keeps working. */
Test(model_server, a_reservation_ends_when_its_session_is_idle)
{
  pair_t p;
  char *log;

  mf_start(0, mf_repo("v1", "demo", 0));
  two_sessions(&p, 0);
  reserve_as_ada(&p);
  bob_is_locked_out(&p);
  cr_assert(mf_poll(bob_may_change, &p, 10), "ada's reservation stayed");
  cr_assert(mf_poll(license_has_one_session, NULL, 5),
            "ada's seat stayed taken");
  cr_assert_eq(mf_call(p.port, "GET", "/v1/elements", NULL, p.a, NULL), 401,
               "ada's session ended");
  log = run_read_file(apr_pstrcat(tp, prj, "/ivr/bridge/v1/srv.log", NULL));
  cr_assert(strstr(log, "silent for more than 2 s"), "%s", log);
  free(log);
}

/* ---- read-only, the record, metrics, closing ----------------------------- */

static void
refuses_changes(int mport)
{
  char token[65], id[32];
  json_t *a;
  int status = mf_call(mport, "POST", "/v1/sessions", "{\"user\":\"ada\","
                       "\"host\":\"ws1\",\"pid\":1,\"application\":\"m\"}",
                       NULL, &a);

  cr_assert_eq(status, 201, "%s", json_dumps(a, 0));
  snprintf(token, sizeof(token), "%s",
           json_string_value(json_object_get(a, "token")));
  json_decref(a);
  (void)id;
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements", NULL, token, NULL),
               200);
  cr_assert_eq(mf_call(mport, "POST", "/v1/elements", "{\"type\":\"t\","
                       "\"name\":\"n\"}", token, &a), 403);
  cr_assert(strstr(json_string_value(json_object_get(a, "error")),
                   "is read-only"));
  json_decref(a);
  cr_assert_eq(mf_call(mport, "POST", "/v1/elements/1/reservation", NULL,
                       token, NULL), 403);
}

Test(model_server, read_only_repositories_refuse_changes)
{
  mf_start(0, mf_repo("backup1", "demo", 1));
  refuses_changes(ms_port[0]);
  /* a version started read-only by its agent */
  mf_spawn(1, mf_repo("v2", "demo", 0), mf_env("TESSERA_READ_ONLY=1"));
  mf_wait(1, "v2", 30);
  refuses_changes(ms_port[1]);
}

Test(model_server, record_while_running_gone_after_a_clean_stop)
{
  const char *repo = mf_repo("v1", "demo", 0), *path;
  json_t *r, *a;
  char *text;

  mf_start(0, repo);
  path = mf_record_path(ms_port[0]);
  text = run_read_file(path);
  r = json_loads(text, 0, NULL);
  cr_assert_not_null(r, "no record %s: '%s'", path, text);
  cr_assert_eq(json_integer_value(json_object_get(r, "version")), 1);
  cr_assert_str_eq(json_string_value(json_object_get(r, "kind")),
                   "modelserver");
  cr_assert_str_eq(json_string_value(json_object_get(r, "repository")),
                   "ivr/bridge/v1");
  cr_assert_str_eq(json_string_value(json_object_get(r, "model")), "bridge");
  cr_assert_str_eq(json_string_value(json_object_get(r, "model_version")),
                   "v1");
  cr_assert_eq(json_integer_value(json_object_get(r, "pid")), ms_pid[0]);
  cr_assert_eq(json_integer_value(json_object_get(r, "port")), ms_port[0]);
  cr_assert_str_eq(json_string_value(json_object_get(r, "inohost")),
                   apr_psprintf(tp, "localhost.%d", port));
  json_decref(r);
  free(text);
  cr_assert_eq(mf_call(port, "GET", "/v1/model-servers", NULL, NULL, &a),
               200);
  text = json_dumps(a, 0);
  cr_assert(strstr(text, apr_psprintf(tp, "\"localhost:%d\"",
                                      ms_port[0])), "%s", text);
  free(text);
  json_decref(a);

  mf_stop(0, SIGTERM);
  cr_assert_neq(access(path, F_OK), 0, "the record stayed after the stop");
  cr_assert_eq(mf_call(port, "GET", "/v1/model-servers", NULL, NULL, &a),
               200);
  cr_assert_eq(json_array_size(json_object_get(a, "model_servers")), 0,
               "still registered");
  json_decref(a);
  cr_assert_neq(access(apr_pstrcat(tp, repo, "/srv.pid", NULL), F_OK), 0);
}

Test(model_server, metrics)
{
  char token[65], id[32], body[65536];
  int mport;

  mf_start(0, mf_repo("v1", "demo", 0));
  mport = ms_port[0];
  cr_assert_eq(mf_session(mport, "ada", "ws1", token, id), 201);
  cr_assert_gt(mf_create(mport, token, "wall", "W", 0, "{}"), 0);
  cr_assert_eq(mf_call(mport, "PUT", "/v1/elements/1", "{\"revision\":7}",
                       token, NULL), 409);
  cr_assert_eq(mf_call(mport, "GET", "/v1/elements/1", NULL, token, NULL),
               200);
  cr_assert_eq(run_http(mport, "GET", "/metrics", NULL, NULL, body,
                        sizeof(body)), 200);
  cr_assert(strstr(body, "\ntessera_model_sessions 1\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_model_elements 1\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_model_writes_total 1\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_model_conflicts_total 1\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_model_reads_total 1\n"), "%s", body);
  cr_assert(strstr(body, "\ntessera_model_locked_total 0\n"), "%s", body);
}

/* The version closes once nobody used it for close-idle-seconds. */
Test(model_server, a_version_nobody_uses_closes)
{
  const char *repo = mf_repo("v1", "demo", 0);
  char token[65], id[32];
  char *log;
  int status = 0;

  run_write_file(in_root("lic/tessera.xml"), mf_config(30, 1));
  mf_start(0, repo);
  cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  cr_assert_eq(mf_call(ms_port[0], "DELETE", apr_psprintf(tp,
                       "/v1/sessions/%s", id), NULL, token, NULL), 200);
  for (int i = 0; i < 500 && ms_pid[0] > 0; i++) {
    if (waitpid(ms_pid[0], &status, WNOHANG) == ms_pid[0])
      ms_pid[0] = -1;
    usleep(20000);
  }
  cr_assert_eq(ms_pid[0], -1, "it did not close");
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d",
            status);
  log = run_read_file(apr_pstrcat(tp, repo, "/srv.log", NULL));
  cr_assert(strstr(log, "stopping: no session for 1 s (close-idle-seconds"),
            "%s", log);
  free(log);
  cr_assert_neq(access(mf_record_path(ms_port[0]), F_OK), 0);
}

/* ---- what a start would do, and what it refuses ------------------------------- */

Test(model_server, check_says_what_the_start_would_do)
{
  const char *repo = mf_repo("v1", "demo", 0);
  run_result_t r = run((const char *[]){ TESSERAD, "model", repo, "--check",
                                         NULL }, mf_env(NULL), NULL);

  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "repository: "), "%s", r.out);
  cr_assert(strstr(r.out, "(model bridge, version v1, product demo)"), "%s",
            r.out);
  cr_assert(strstr(r.out, apr_psprintf(tp, "port: %d, the first free of "
                                       "%d..%d", port + 6, port + 6,
                                       port + 65)), "%s", r.out);
  run_free(&r);
  r = run((const char *[]){ TESSERAD, "model", prj, NULL }, mf_env(NULL),
          NULL);
  cr_assert_eq(r.status, 66, "%s", r.err);
  cr_assert(strstr(r.err, "has no repository.db"), "%s", r.err);
  run_free(&r);
}

/* A model server joins no INOPRJ whose agents belong to another license
 * server. */
Test(model_server, refuses_a_project_of_another_license_server)
{
  const char *repo = mf_repo("v1", "demo", 0);
  run_result_t r;

  cr_assert_eq(system(apr_psprintf(tp, "mkdir -p '%s/ivm/agents'", prj)), 0);
  run_write_file(apr_pstrcat(tp, prj, "/ivm/agents/lic2.27003.json", NULL),
                 "{\"version\":1,\"kind\":\"agent\",\"host\":\"lic2\","
                 "\"port\":27003,\"os\":\"linux\",\"account\":\"tessera\","
                 "\"inohost\":\"lic2.27000\"}");
  r = run((const char *[]){ TESSERAD, "model", repo, NULL }, mf_env(NULL),
          NULL);
  cr_assert_eq(r.status, 78, "%s", r.err);
  cr_assert(strstr(r.err, "used by the agent lic2:27003 of the license "
                   "server lic2.27000"), "%s", r.err);
  cr_assert(strstr(r.err, apr_psprintf(tp, "belongs to localhost.%d", port)),
            "%s", r.err);
  run_free(&r);
}

/* The agent's control channel: this test stands for the agent. */
Test(model_server, the_control_channel_answers_status_reload_and_stop)
{
  const char *repo = mf_repo("v1", "demo", 0), *reply;
  char token[65], id[32];
  ts_control_t *ctl;
  ts_error_t *err = ts_control_create(&ctl, tp);
  json_t *status;
  int exit_status;

  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  mf_spawn(0, repo, mf_env(apr_pstrcat(tp, TS_CONTROL_ENV "=",
                                       ts_control_name(ctl), NULL)));
  mf_wait(0, repo, 30);
  cr_assert_eq(mf_session(ms_port[0], "ada", "ws1", token, id), 201);
  err = ts_control_request(&reply, ctl, ms_pid[0], "status",
                           apr_time_from_sec(5), tp);
  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  status = json_loads(reply, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(status, "state")),
                   "running", "%s", reply);
  cr_assert_eq(json_integer_value(json_object_get(status, "port")),
               ms_port[0]);
  cr_assert_eq(json_integer_value(json_object_get(status, "pid")),
               ms_pid[0]);
  cr_assert_eq(json_integer_value(json_object_get(status, "sessions")), 1);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(status,
                   "users"), 0)), "ada");
  cr_assert(json_is_false(json_object_get(status, "read_only")));
  json_decref(status);
  cr_assert_null(ts_control_request(&reply, ctl, ms_pid[0], "reload",
                                    apr_time_from_sec(5), tp));
  cr_assert_str_eq(reply, "reloaded");
  cr_assert_null(ts_control_request(&reply, ctl, ms_pid[0], "stop",
                                    apr_time_from_sec(5), tp));
  cr_assert_str_eq(reply, "stopping");
  waitpid(ms_pid[0], &exit_status, 0);
  cr_assert(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0);
  cr_assert_neq(access(mf_record_path(ms_port[0]), F_OK), 0);
  ms_pid[0] = -1;
  ts_error_clear(ts_control_destroy(ctl));
}
