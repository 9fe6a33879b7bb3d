/* Agents (README, "Agents and model servers"): two real `tesserad agent`
 * processes on one project directory stand for two machines (their own
 * INOLIC with a tessera.xml naming the machine "localhost" and
 * "127.0.0.1", their own agent ports), beside a real license server and
 * its bus. Model servers are real `tesserad model` processes the agents
 * start. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_strings.h>
#include <jansson.h>

#include <sqlite3.h>

#include "bus_client.h"
#include "agent_fixture.h"
#include "license_fixture.h"
#include "ts_httpd.h"

#define PASSWORD "agent-test-pass"

static agent_t agents[2];

static const char config[] =
  "<tessera xmlns=\"urn:tessera:config:1\">\n"
  "  <listen address=\"127.0.0.1\"/>\n"
  "  <license-server>\n"
  "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"30\"/>\n"
  "  </license-server>\n"
  "  <model-servers heartbeat-seconds=\"1\"/>\n"
  "</tessera>\n";

static void
setup(void)
{
  lf_options_t o = { .name = "agent", .asan = "detect_leaks=0",
                     .config = config, .stop_signal = SIGTERM };

  lf_setup_with(&o);
  start_server();
  run_write_file(in_root("pw"), PASSWORD "\n" PASSWORD "\n");
  cr_assert_eq(system(apr_psprintf(tp, "env %s %s %s %s %s license passwd "
                                   "--stdin < %s >/dev/null 2>&1",
                                   env()[1], env()[2], env()[3], env()[4],
                                   TESSERA_ADMIN, in_root("pw"))), 0);
  run_write_file(in_root("pw"), PASSWORD "\n");
  cr_assert_eq(mkdir(in_root("prj"), 0755), 0);
  for (int i = 0; i < 2; i++) {
    agent_t *a = &agents[i];
    a->name = i == 0 ? "localhost" : "127.0.0.1";
    a->inolic = in_root(apr_psprintf(tp, "agent%d", i));
    a->port = lf_other_port();
    a->pid = -1;
    cr_assert_eq(mkdir(a->inolic, 0711), 0);
    run_write_file(apr_pstrcat(tp, a->inolic, "/tessera.xml", NULL),
                   apr_psprintf(tp, "<tessera xmlns=\"urn:tessera:config:1\">"
                                "<listen address=\"127.0.0.1\"/>"
                                "<machine name=\"%s\"/>"
                                "<model-servers heartbeat-seconds=\"1\"/>"
                                "</tessera>\n", a->name));
  }
}

static void
teardown(void)
{
  for (int i = 0; i < 2; i++)
    lf_kill(&agents[i].pid, SIGTERM);
  lf_teardown();
}

TestSuite(agent, .init = setup, .fini = teardown, .timeout = 120);

/* The JSON listing of agent A. */
static json_t *
listing(agent_t *a)
{
  run_result_t r = af_models(a, (const char *[]){ "list", "--json", NULL });
  json_t *j;

  cr_assert_eq(r.status, 0, "list: %s", r.err);
  j = json_loads(r.out, 0, NULL);
  cr_assert_not_null(j, "%s", r.out);
  run_free(&r);
  return j;
}

/* MODEL/VERSION in LIST, or the test fails. */
static json_t *
find(json_t *list, const char *model, const char *version)
{
  json_t *v;
  size_t i;

  json_array_foreach(json_object_get(list, "versions"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "model")), model) == 0
        && strcmp(json_string_value(json_object_get(v, "version")),
                  version) == 0)
      return v;
  cr_assert_fail("no %s/%s in %s", model, version,
                 json_dumps(list, JSON_COMPACT));
  return NULL;
}

static const char *
state_of(json_t *list, const char *model, const char *version)
{
  return json_string_value(json_object_get(find(list, model, version),
                                           "state"));
}

/* tessera-admin project init on the project directory. */
static void
project_init(void)
{
  const char *argv[] = { TESSERA_ADMIN, "project", "init", NULL };
  run_result_t r = run(argv, af_env(&agents[0]), NULL);

  cr_assert_eq(r.status, 0, "project init: %s", r.err);
  run_free(&r);
}

/* The project, an agent, and the model bridge: product demo, versions
 * named v<digits>. */
static void
define_bridge(void)
{
  project_init();
  af_start(&agents[0]);
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--check", "v[0-9]+",
                                          "--proposal", "v$(YYYY)", NULL });
}

Test(agent, the_agent_writes_its_record_and_removes_it_at_a_clean_stop)
{
  const char *record;
  struct stat st;

  project_init();
  af_start(&agents[0]);
  record = in_root(apr_psprintf(tp, "prj/ivm/agents/localhost.%d.json",
                                agents[0].port));
  cr_assert_eq(stat(record, &st), 0, "no record %s", record);
  cr_assert_eq(stat(in_root(apr_psprintf(tp, "prj/ivm/logs/agent.localhost."
                                         "%d/agent.log", agents[0].port)),
                    &st), 0, "no agent.log in ivm/logs");
  lf_kill(&agents[0].pid, SIGTERM);
  cr_assert_neq(stat(record, &st), 0, "the record outlived a clean stop");
}

Test(agent, an_agent_of_another_license_server_refuses_to_start)
{
  const char *argv[] = { TESSERAD, "agent", NULL };
  char *err = NULL;
  int status;

  project_init();
  cr_assert_eq(mkdir(in_root("prj/ivm/agents"), 0755), 0);
  run_write_file(in_root("prj/ivm/agents/ws9.17003.json"),
                 "{\"version\": 1, \"kind\": \"agent\", \"host\": \"ws9\", "
                 "\"port\": 17003, \"os\": \"linux\", \"account\": \"x\", "
                 "\"inohost\": \"other.17000\"}\n");
  status = lf_start(&agents[0].pid, argv, af_env(&agents[0]),
                    in_root("refused.err"), agents[0].port, 500, &err);
  cr_assert_eq(status, 78, "exit %d: %s", status, err);
  cr_assert(strstr(err, "is used by the agent on ws9 port 17003, which "
                   "belongs to the license server other.17000, not to this "
                   "one"), "%s", err);
  free(err);
}

Test(agent, names_follow_the_models_rule_and_a_bad_one_is_refused)
{
  run_result_t r;
  json_t *list;

  define_bridge();
  r = af_models(&agents[0], (const char *[]){ "create", "bridge", "draft",
                                           NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "the name 'draft' does not follow the naming rule "
                   "of the model bridge: it must match the check expression "
                   "'v[0-9]+' as a whole; the proposal 'v$(YYYY)' gives "
                   "'v20"), "%s", r.err);
  run_free(&r);
  /* no name: the proposal */
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", NULL });
  list = listing(&agents[0]);
  cr_assert_eq(json_array_size(json_object_get(list, "versions")), 1);
  cr_assert(strncmp(json_string_value(json_object_get(json_array_get(
    json_object_get(list, "versions"), 0), "version")), "v20", 3) == 0);
  json_decref(list);
}

Test(agent, changes_need_the_administrators_password)
{
  run_result_t r;

  define_bridge();
  /* import's option on passwd is refused, never the terminal instead */
  r = admin((const char *[]){ "license", "passwd", "--password-stdin",
                              NULL });
  cr_assert_eq(r.status, 64, "%s", r.err);
  cr_assert(strstr(r.err, "passwd reads the new password from standard "
                   "input with --stdin"), "%s", r.err);
  run_free(&r);
  run_write_file(in_root("pw"), "wrong-password\n");
  r = af_models(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  cr_assert_eq(r.status, 77, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "HTTP 401"), "%s", r.err);
  run_free(&r);
}

Test(agent, two_agents_list_the_same_versions_and_one_runs_each_once)
{
  run_result_t r;
  json_t *list, *v;

  define_bridge();
  af_start(&agents[1]);
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[1], (const char *[]){ "create", "bridge", "v2", "--from",
                                          "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  /* the second agent shows where the first runs it */
  list = listing(&agents[1]);
  v = find(list, "bridge", "v1");
  cr_assert_str_eq(json_string_value(json_object_get(v, "state")),
                   "running");
  cr_assert_str_eq(json_string_value(json_object_get(v, "host")),
                   "localhost");
  cr_assert_str_eq(json_string_value(json_object_get(v, "agent")),
                   apr_psprintf(tp, "localhost:%d", agents[0].port));
  cr_assert_gt(json_integer_value(json_object_get(v, "port")), port + 5);
  cr_assert_str_eq(state_of(list, "bridge", "v2"), "stopped");
  json_decref(list);
  /* and refuses to start it a second time, naming where it runs */
  r = af_models(&agents[1], (const char *[]){ "start", "bridge/v1", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, apr_psprintf(tp, "bridge/v1 runs already on "
                                       "localhost (agent port %d",
                                       agents[0].port)), "%s", r.err);
  run_free(&r);
  /* a stop through the second agent is passed on to the first */
  af_models_ok(&agents[1], (const char *[]){ "stop", "bridge/v1", NULL });
  list = listing(&agents[0]);
  cr_assert_str_eq(state_of(list, "bridge", "v1"), "stopped");
  json_decref(list);
  /* now the second may run it */
  af_models_ok(&agents[1], (const char *[]){ "start", "bridge/v1", NULL });
  list = listing(&agents[0]);
  v = find(list, "bridge", "v1");
  cr_assert_str_eq(json_string_value(json_object_get(v, "host")),
                   "127.0.0.1");
  json_decref(list);
}

Test(agent, a_version_whose_agent_was_killed_can_be_started_again)
{
  json_t *list;

  define_bridge();
  af_start(&agents[1]);
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  lf_kill(&agents[0].pid, SIGKILL);
  /* its model server ended with it; the lock it left is stale */
  af_models_ok(&agents[1], (const char *[]){ "start", "bridge/v1", NULL });
  list = listing(&agents[1]);
  cr_assert_str_eq(json_string_value(json_object_get(find(list, "bridge",
                   "v1"), "host")), "127.0.0.1");
  json_decref(list);
}

Test(agent, a_deleted_version_must_be_stopped_first)
{
  run_result_t r;
  json_t *list;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  r = af_models(&agents[0], (const char *[]){ "delete", "bridge/v1", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "bridge/v1 is running on localhost: stop it "
                   "first"), "%s", r.err);
  run_free(&r);
  af_models_ok(&agents[0], (const char *[]){ "stop", "bridge/v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "delete", "bridge/v1", NULL });
  list = listing(&agents[0]);
  cr_assert_eq(json_array_size(json_object_get(list, "versions")), 0);
  json_decref(list);
}

/* What the other agent of the test below answers, whatever it is asked. */
static const char *their_answer;

static void
answer_as_other_agent(ts_http_reply_t *reply, void *baton,
                      const ts_http_request_t *req, apr_pool_t *pool)
{
  (void)baton;
  (void)req;
  reply->body = apr_pstrdup(pool, their_answer);
}

/* run.json is written by whichever agent runs the version, and the agent
 * it names is asked for the details: a lock that names no host, one
 * without the model server's port and pid, and an agent that answers
 * with entries that name no model neither stop the listing agent nor
 * hide the version (found by tests/fuzz/fuzz_models.c). */
Test(agent, odd_run_locks_and_answers_neither_crash_nor_hide_a_version)
{
  const char *lock = in_root("prj/ivr/bridge/v1/run.json");
  apr_array_header_t *loopback = apr_array_make(tp, 1,
                                                sizeof(const char *));
  int other_port = lf_other_port();
  ts_httpd_t *other;
  json_t *list, *v;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  run_write_file(lock, "{\"version\": 1, \"model\": \"bridge\", "
                       "\"name\": \"v1\"}\n");
  list = listing(&agents[0]);
  cr_assert_str_eq(state_of(list, "bridge", "v1"), "stopped");
  json_decref(list);
  /* its agent does not answer */
  run_write_file(lock, apr_psprintf(tp, "{\"version\": 1, \"model\": "
                                    "\"bridge\", \"name\": \"v1\", "
                                    "\"host\": \"127.0.0.1\", "
                                    "\"agent_port\": %d}\n", other_port));
  list = listing(&agents[0]);
  v = find(list, "bridge", "v1");
  cr_assert_str_eq(json_string_value(json_object_get(v, "state")),
                   "starting");
  cr_assert_str_eq(json_string_value(json_object_get(v, "host")),
                   "127.0.0.1");
  json_decref(list);
  /* it answers, naming no model */
  their_answer = "{\"versions\": [{\"version\": \"v1\"}, "
                 "{\"model\": 7, \"version\": \"v1\"}]}";
  APR_ARRAY_PUSH(loopback, const char *) = "127.0.0.1";
  cr_assert_null(ts_httpd_start(&other, "the other agent", other_port,
                                loopback, answer_as_other_agent, NULL, NULL,
                                NULL, tp));
  list = listing(&agents[0]);
  cr_assert_str_eq(state_of(list, "bridge", "v1"), "starting");
  json_decref(list);
  ts_httpd_stop(other);
}

/* The pid of the model server of bridge/VERSION, as agent A lists it. */
static long
model_pid(agent_t *a, const char *version)
{
  json_t *list = listing(a);
  long pid = (long)json_integer_value(json_object_get(find(list, "bridge",
                                                           version), "pid"));

  json_decref(list);
  cr_assert_gt(pid, 0);
  return pid;
}

/* Wait up to 10 s (polling) for bridge/VERSION to be in STATE at agent A;
 * its entry then, or the test fails. */
static json_t *
await_state(agent_t *a, const char *version, const char *state)
{
  for (int i = 0; i < 200; i++) {
    json_t *list = listing(a), *v = json_incref(find(list, "bridge",
                                                     version));
    json_decref(list);
    if (strcmp(json_string_value(json_object_get(v, "state")), state) == 0)
      return v;
    json_decref(v);
    usleep(50000);
  }
  cr_assert_fail("bridge/%s never became %s", version, state);
  return NULL;
}

/* The record of the model server of bridge/VERSION, as agent A lists
 * it. */
static const char *
record_of(agent_t *a, const char *version)
{
  json_t *list = listing(a);
  const char *record = in_root(apr_psprintf(tp, "prj/ivm/modelservers/"
    "localhost.%d.json", (int)json_integer_value(json_object_get(
    find(list, "bridge", version), "port"))));

  json_decref(list);
  return record;
}

Test(agent, a_crashed_model_server_shows_as_crashed_on_the_bus_and_can_start)
{
  json_t *v;
  const char *record;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  record = record_of(&agents[0], "v1");
  cr_assert_eq(access(record, F_OK), 0, "no record %s", record);
  cr_assert_eq(kill((pid_t)model_pid(&agents[0], "v1"), SIGKILL), 0);
  v = await_state(&agents[0], "v1", "crashed");
  cr_assert(strstr(json_string_value(json_object_get(v, "reason")),
                   "was killed by signal 9"), "%s",
            json_string_value(json_object_get(v, "reason")));
  json_decref(v);
  cr_assert_neq(access(record, F_OK), 0, "the killed server's record %s "
                "stayed", record);
  cr_assert(bus_wait("versions/bridge/v1", "\"state\":\"crashed\"", 5),
            "the bus does not say bridge/v1 crashed: %s",
            bus_read("versions/bridge/v1"));
  /* its run lock went with it: it starts again */
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  json_decref(await_state(&agents[0], "v1", "running"));
}

/* Grow bridge/VERSION's repository by MB megabytes (a table of its own,
 * which the model server never reads). */
static void
grow(const char *version, int mb)
{
  sqlite3 *db;
  char *why = NULL;

  cr_assert_eq(sqlite3_open(in_root(apr_psprintf(tp, "prj/ivr/bridge/%s/"
                                                 "repository.db", version)),
                            &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, apr_psprintf(tp, "CREATE TABLE ballast(b);"
                            "INSERT INTO ballast VALUES (zeroblob(%d));",
                            mb * 1024 * 1024), NULL, NULL, &why),
               SQLITE_OK, "%s", why);
  sqlite3_close(db);
}

Test(agent, a_version_over_its_disk_quota_is_refused_with_the_figures)
{
  run_result_t r;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--quota-disk", "1",
                                          NULL });
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  grow("v1", 3);
  r = af_models(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  cr_assert_eq(r.status, 65, "%s%s", r.out, r.err);
  cr_assert(strstr(r.err, "bridge/v1 takes 4 MB on disk, over the disk "
                   "quota of 1 MB of the model bridge"), "%s", r.err);
  run_free(&r);
}

Test(agent, an_interrupted_successor_copy_leaves_no_half_version)
{
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  json_t *list;
  int seen = 0;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  grow("v1", 400);
  argv[2] = apr_psprintf(tp, "%s models --agent 127.0.0.1:%d "
                         "--password-stdin create bridge v2 --from v1 < %s "
                         "> /dev/null 2>&1 &", TESSERA_ADMIN, agents[0].port,
                         in_root("pw"));
  run_free((run_result_t[]){ run(argv, af_env(&agents[0]), NULL) });
  /* the copy is under way once its "." directory holds data */
  for (int i = 0; i < 1000 && !seen; i++) {
    seen = system(apr_psprintf(tp, "find %s -path '*/.new.v2.*' -name "
                               "'*.db*' -size +1M | grep -q .",
                               in_root("prj/ivr/bridge"))) == 0;
    if (!seen)
      usleep(10000);
  }
  cr_assert(seen, "the copy never showed its work directory");
  lf_kill(&agents[0].pid, SIGKILL);
  /* no v2, before and after the agent is back; the work is swept */
  cr_assert_neq(access(in_root("prj/ivr/bridge/v2"), F_OK), 0);
  af_start(&agents[0]);
  list = listing(&agents[0]);
  cr_assert_eq(json_array_size(json_object_get(list, "versions")), 1);
  json_decref(list);
  cr_assert_neq(system(apr_psprintf(tp, "ls -A %s | grep -q '^\\.'",
                                    in_root("prj/ivr/bridge"))), 0,
                "the interrupted copy's directory was not swept");
}

/* The message queue of agent A's control channel, from its log. */
static long
queue_of(agent_t *a)
{
  char *log = run_read_file(in_root(apr_psprintf(tp, "prj/ivm/logs/agent."
                                                 "%s.%d/agent.log", a->name,
                                                 a->port)));
  const char *key = "control channel to the model servers: ", *at = NULL;
  long id;

  /* the last run's: the log is appended to */
  for (const char *p = strstr(log, key); p; p = strstr(p + 1, key))
    at = p;
  id = at ? atol(at + strlen(key)) : -1;

  free(log);
  cr_assert_gt(id, 0, "no control channel in the agent's log");
  return id;
}

static int
queue_exists(long id)
{
  return system(apr_psprintf(tp, "awk 'NR > 1 && $2 == %ld' "
                             "/proc/sysvipc/msg | grep -q .", id)) == 0;
}

Test(agent, the_control_queue_lives_with_the_agent_and_the_doctor_sweeps_it)
{
  const char *argv[] = { TESSERA_ADMIN, "doctor", "--json", NULL };
  long id;
  run_result_t r;

  project_init();
  af_start(&agents[0]);
  id = queue_of(&agents[0]);
  cr_assert(queue_exists(id), "queue %ld is not in /proc/sysvipc/msg", id);
  lf_kill(&agents[0].pid, SIGTERM);
  cr_assert_not(queue_exists(id), "queue %ld outlived a clean stop", id);
  /* killed: the queue stays, the doctor calls it stale and removes it */
  af_start(&agents[0]);
  id = queue_of(&agents[0]);
  lf_kill(&agents[0].pid, SIGKILL);
  cr_assert(queue_exists(id));
  r = run(argv, af_env(&agents[0]), NULL);
  cr_assert(strstr(r.out, apr_psprintf(tp, "queue id %ld", id)), "%s",
            r.out);
  run_free(&r);
  r = run((const char *[]){ TESSERA_ADMIN, "doctor", "--fix", "--yes",
                            "--account", getuid() == 0 ? "nobody"
                            : getenv("USER"), NULL },
          af_env(&agents[0]), NULL);
  run_free(&r);
  cr_assert_not(queue_exists(id), "doctor --fix left the stale queue %ld",
                id);
}

Test(agent, the_memory_quota_is_the_model_servers_limit)
{
  run_result_t r;
  json_t *v;

  define_bridge();
  /* 4 MB of address space: tesserad cannot even load its libraries */
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--quota-ram", "4",
                                          NULL });
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  r = af_models(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  cr_assert_neq(r.status, 0, "a model server ran in 4 MB: %s", r.out);
  run_free(&r);
  v = await_state(&agents[0], "v1", "crashed");
  json_decref(v);
#ifndef __SANITIZE_ADDRESS__
  /* with room it runs (AddressSanitizer's shadow memory alone takes more
   * address space than any quota: not in that build) */
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--quota-ram", "2048",
                                          NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  json_decref(await_state(&agents[0], "v1", "running"));
#endif
}

Test(agent, tessera_xml_fixes_a_repositorys_port)
{
  int fixed = lf_other_port();
  json_t *v;

  run_write_file(apr_pstrcat(tp, agents[0].inolic, "/tessera.xml", NULL),
                 apr_psprintf(tp, "<tessera xmlns=\"urn:tessera:config:1\">"
                              "<listen address=\"127.0.0.1\"/>"
                              "<machine name=\"localhost\"/>"
                              "<model-servers heartbeat-seconds=\"1\">"
                              "<repository path=\"ivr/bridge/v1\" "
                              "port=\"%d\"/></model-servers>"
                              "</tessera>\n", fixed));
  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v2", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v2", NULL });
  v = await_state(&agents[0], "v1", "running");
  cr_assert_eq(json_integer_value(json_object_get(v, "port")), fixed);
  json_decref(v);
  v = await_state(&agents[0], "v2", "running");
  cr_assert_eq(json_integer_value(json_object_get(v, "port")), port + 6,
               "the others take the next free port from p+6");
  json_decref(v);
}

Test(agent, a_model_that_asks_for_it_is_started_again_after_a_crash)
{
  long first, again = 0;
  json_t *v;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "define", "bridge", "--product",
                                          "demo", "--restart", NULL });
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  first = model_pid(&agents[0], "v1");
  cr_assert_eq(kill((pid_t)first, SIGKILL), 0);
  /* the supervisor's first pause is 1 s; then a new model server runs */
  for (int i = 0; i < 200 && (!again || again == first); i++) {
    json_t *list = listing(&agents[0]);
    v = find(list, "bridge", "v1");
    if (strcmp(json_string_value(json_object_get(v, "state")), "running")
        == 0)
      again = (long)json_integer_value(json_object_get(v, "pid"));
    json_decref(list);
    if (!again || again == first)
      usleep(50000);
  }
  cr_assert(again && again != first, "bridge/v1 did not run again");
  cr_assert_eq(kill((pid_t)again, 0), 0, "pid %ld does not run", again);
}

Test(agent, records_of_model_servers_that_died_with_their_agent_are_swept)
{
  long pid;
  json_t *list;
  const char *record;

  define_bridge();
  af_models_ok(&agents[0], (const char *[]){ "create", "bridge", "v1", NULL });
  af_models_ok(&agents[0], (const char *[]){ "start", "bridge/v1", NULL });
  record = record_of(&agents[0], "v1");
  pid = model_pid(&agents[0], "v1");
  /* both at once: nobody cleans up */
  cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
  lf_kill(&agents[0].pid, SIGKILL);
  for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
    usleep(20000);
  cr_assert_eq(access(record, F_OK), 0, "the record went without a sweep");
  af_start(&agents[0]);
  cr_assert_neq(access(record, F_OK), 0, "%s was not swept", record);
  list = listing(&agents[0]);
  cr_assert_str_eq(state_of(list, "bridge", "v1"), "crashed");
  json_decref(list);
}
