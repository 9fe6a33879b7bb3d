/* test_agent_win32.c: the agent on Windows (under wine in CI): tesserad.exe
 * agent in a console beside tesserad.exe license, a version started and
 * stopped through it (its model server is tesserad.exe model, stopped
 * over the named pipe of the control channel), and the memory quota as
 * the model server's job object limit. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "run.h"
#include "ts_httpd.h"

#define PASSWORD "agent-test-pass"

static apr_pool_t *tp;
static const char *root, *lic, *prj;
static int port, agent_port;
static const char *env[16];
static apr_proc_t procs[2];
static int running[2];

static const char *const keep[] = { "SystemRoot", "windir", "TEMP", "TMP",
                                    "PATH", NULL };

/* tessera-admin ARGS, with FEED (a file) as its standard input, or none. */
static run_result_t
admin_in(const char *feed, const char *const *args)
{
  const char *cmd = apr_psprintf(tp, "%s\\system32\\cmd.exe",
                                 getenv("SystemRoot"));
  const char *line = apr_psprintf(tp, "\"%s\"", TESSERA_ADMIN);

  for (int i = 0; args[i]; i++)
    line = apr_psprintf(tp, "%s \"%s\"", line, args[i]);
  if (feed)
    line = apr_psprintf(tp, "%s < \"%s\"", line, feed);
  return run((const char *[]){ cmd, "/c", line, NULL }, env, NULL);
}

static void
admin_ok(const char *feed, const char *const *args)
{
  run_result_t r = admin_in(feed, args);

  cr_assert_eq(r.status, 0, "%s: %s %s", args[0], r.out, r.err);
  run_free(&r);
}

static void
start(int i, const char *role, int p)
{
  const char *argv[] = { TESSERAD, role, "--console", NULL };
  const char *errfile = apr_psprintf(tp, "%s\\%s.err", root, role);

  run_start(&procs[i], argv, env, errfile, tp);
  running[i] = 1;
  for (int k = 0; k < 300; k++) {
    if (run_http(p, "GET", "/health", NULL, NULL, NULL, 0) == 200)
      return;
    Sleep(50);
  }
  cr_assert_fail("tesserad.exe %s did not answer on port %d: %s", role, p,
                 run_read_file(errfile));
}

static void
setup(void)
{
  const char *tmp, *pw;
  int n = 0;

  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&tp, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, tp), APR_SUCCESS);
  root = apr_psprintf(tp, "%s\\tessera-agent-%lu", tmp,
                      (unsigned long)GetCurrentProcessId());
  lic = apr_pstrcat(tp, root, "\\lic", NULL);
  prj = apr_pstrcat(tp, root, "\\prj", NULL);
  cr_assert_eq(apr_dir_make_recursive(lic, APR_FPROT_OS_DEFAULT, tp), 0);
  cr_assert_eq(apr_dir_make_recursive(prj, APR_FPROT_OS_DEFAULT, tp), 0);
  port = run_free_port();
  agent_port = port + 3;
  for (const char *const *k = keep; *k; k++)
    if (getenv(*k))
      env[n++] = apr_psprintf(tp, "%s=%s", *k, getenv(*k));
  env[n++] = apr_psprintf(tp, "INOHOST=localhost.%d", port);
  env[n++] = apr_pstrcat(tp, "INOLIC=", lic, NULL);
  env[n++] = apr_pstrcat(tp, "INODIR=", root, "\\params", NULL);
  env[n++] = apr_pstrcat(tp, "INOPRJ=", prj, NULL);
  env[n] = NULL;
  admin_ok(NULL, (const char *[]){ "license", "issue", "--demo-key",
                                   "--host", "localhost", "--licensee",
                                   "Test", "--product", "demo:5:2099-12-31",
                                   "--out", apr_pstrcat(tp, root,
                                   "\\demo.lic", NULL), NULL });
  admin_ok(NULL, (const char *[]){ "license", "import", apr_pstrcat(tp, root,
                                   "\\demo.lic", NULL), NULL });
  pw = apr_pstrcat(tp, root, "\\pw2", NULL);
  run_write_file(pw, PASSWORD "\n" PASSWORD "\n");
  admin_ok(pw, (const char *[]){ "license", "passwd", "--stdin",
                                 NULL });
  run_write_file(apr_pstrcat(tp, root, "\\pw", NULL), PASSWORD "\n");
  /* no bus: the servers go on without it */
  run_write_file(apr_pstrcat(tp, lic, "\\tessera.xml", NULL),
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server><bus start=\"external\"/></license-server>\n"
    "  <machine name=\"localhost\"/>\n"
    "</tessera>\n");
  admin_ok(NULL, (const char *[]){ "project", "init", NULL });
  start(0, "license", port);
  start(1, "agent", agent_port);
}

static void
teardown(void)
{
  int code;
  apr_exit_why_e why;
  const char *cmd = apr_psprintf(tp, "%s\\system32\\cmd.exe",
                                 getenv("SystemRoot"));
  run_result_t r;

  for (int i = 1; i >= 0; i--)
    if (running[i]) {
      apr_proc_kill(&procs[i], 9);
      apr_proc_wait(&procs[i], &code, &why, APR_WAIT);
    }
  r = run((const char *[]){ cmd, "/c", "rmdir", "/s", "/q", root, NULL },
          env, NULL);
  run_free(&r);
  apr_pool_destroy(tp);
  apr_terminate();
}

TestSuite(agent_win32, .init = setup, .fini = teardown, .timeout = 180);

static run_result_t
models(const char *const *args)
{
  const char *a[20] = { "models", "--password-stdin", "--as", "tester" };
  int n = 4;

  for (int i = 0; args[i]; i++)
    a[n++] = args[i];
  a[n] = NULL;
  return admin_in(apr_pstrcat(tp, root, "\\pw", NULL), a);
}

static void
models_ok(const char *const *args)
{
  run_result_t r = models(args);

  cr_assert_eq(r.status, 0, "models %s: %s %s", args[0], r.out, r.err);
  run_free(&r);
}

/* bridge/v1's entry in the listing. */
static json_t *
version_v1(void)
{
  run_result_t r = models((const char *[]){ "list", "--json", NULL });
  json_t *list = json_loads(r.out, 0, NULL), *v, *found = NULL;
  size_t i;

  cr_assert_eq(r.status, 0, "%s", r.err);
  json_array_foreach(json_object_get(list, "versions"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "version")), "v1") == 0)
      found = json_incref(v);
  json_decref(list);
  run_free(&r);
  cr_assert_not_null(found, "no bridge/v1 listed");
  return found;
}

Test(agent_win32, a_version_starts_and_stops_through_the_agent)
{
  json_t *v;
  int mport;

  models_ok((const char *[]){ "define", "bridge", "--product", "demo",
                              NULL });
  models_ok((const char *[]){ "create", "bridge", "v1", NULL });
  models_ok((const char *[]){ "start", "bridge/v1", NULL });
  v = version_v1();
  cr_assert_str_eq(json_string_value(json_object_get(v, "state")),
                   "running");
  mport = (int)json_integer_value(json_object_get(v, "port"));
  json_decref(v);
  cr_assert_eq(run_http(mport, "GET", "/health", NULL, NULL, NULL, 0), 200);
  /* the stop goes over the named pipe; the model server ends cleanly and
   * takes its record with it */
  models_ok((const char *[]){ "stop", "bridge/v1", NULL });
  v = version_v1();
  cr_assert_str_eq(json_string_value(json_object_get(v, "state")),
                   "stopped");
  json_decref(v);
  cr_assert_neq(run_http(mport, "GET", "/health", NULL, NULL, NULL, 0), 200);
  {
    apr_finfo_t fi;
    const char *record = apr_psprintf(tp, "%s\\ivm\\modelservers\\"
                                      "localhost.%d.json", prj, mport);
    cr_assert_neq(apr_stat(&fi, record, APR_FINFO_TYPE, tp), APR_SUCCESS,
                  "%s outlived the stop: not a clean one", record);
  }
  cr_assert_null(strstr(run_read_file(apr_pstrcat(tp, prj, "\\ivm\\logs\\"
                 "agent.localhost.", apr_itoa(tp, agent_port),
                 "\\agent.log", NULL)), "killing it"),
                 "the model server did not stop on its own");
}

/* The memory quota is the model server's job object limit, read back
 * after it is set: the model server runs with it, or does not run at all.
 * wine neither keeps nor enforces that limit, so here the start is
 * refused, saying why; on Windows the log says the limit is in place.
 * (On Linux, test_agent sees the limit end a model server.) */
Test(agent_win32, a_memory_quota_is_in_place_or_the_version_does_not_run)
{
  run_result_t r;
  char *log;

  models_ok((const char *[]){ "define", "bridge", "--product", "demo",
                              "--quota-ram", "512", NULL });
  models_ok((const char *[]){ "create", "bridge", "v1", NULL });
  r = models((const char *[]){ "start", "bridge/v1", NULL });
  log = run_read_file(apr_pstrcat(tp, prj, "\\ivm\\logs\\agent.localhost.",
                                  apr_itoa(tp, agent_port), "\\agent.log",
                                  NULL));
  if (r.status == 0)
    cr_assert(strstr(log, ") is limited to 512 MB of memory"), "%s", log);
  else {
    cr_assert_eq(r.status, 69, "%s %s", r.out, r.err);
    cr_assert(strstr(r.err, "cannot limit the model server of bridge/v1 to "
                     "512 MB of memory, so it was not started"), "%s",
              r.err);
    cr_assert_null(strstr(log, "is limited to"), "%s", log);
  }
  free(log);
  run_free(&r);
}
