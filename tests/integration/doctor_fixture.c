/* doctor_fixture.c: what the doctor suites share (see doctor_fixture.h). */
#include "doctor_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>

char root[] = "/tmp/tessera-doctor-XXXXXX";
char prj[300], env_host[64], env_prj[320], env_lic[320], env_home[320];
char env_dir[320];
int port;

void
df_setup(void)
{
  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  chmod(root, 0755);
  /* p..p+25 must not collide with ephemeral ports in use: step back from
   * a free one so the plan stays below 64000 */
  port = run_free_port();
  if (port > 60000)
    port -= 30;
  snprintf(prj, sizeof(prj), "%s/prj", root);
  snprintf(env_host, sizeof(env_host), "INOHOST=127.0.0.1.%d", port);
  snprintf(env_prj, sizeof(env_prj), "INOPRJ=%s", prj);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s/lic", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  /* the server credential goes there: not the machine's INODIR */
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
}

void
df_teardown(void)
{
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}


/* doctor with ARGS, as root, or as USER. Without an --account in ARGS
 * doctor checks INOPRJ as the service account 'tessera', which may or may
 * not exist on the test machine: cases not about permissions name root
 * (who may use everything) unless IMPLICIT. */
run_result_t
doctor_as(const char *user, int implicit, const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN, "doctor" };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_prj, env_lic,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };
  int n = 2, named = 0;

  for (int i = 0; args[i]; i++) {
    named |= strcmp(args[i], "--account") == 0;
    argv[n++] = args[i];
  }
  if (!named && !implicit) {
    argv[n++] = "--account";
    argv[n++] = "root";
  }
  return run(argv, env, user);
}

run_result_t
doctor(const char *const *args)
{
  return doctor_as(NULL, 0, args);
}

void
init_project(void)
{
  const char *argv[] = { TESSERA_ADMIN, "project", "init", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_prj, env_home, NULL };
  run_result_t r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "project init: %s", r.err);
  run_free(&r);
}

/* The findings of `doctor --json` with CHECK and a message containing
 * TEXT; returns how many. */
int
findings(const char *json_text, const char *check, const char *severity,
         const char *text)
{
  json_t *j = json_loads(json_text, 0, NULL), *f;
  size_t i;
  int n = 0;

  cr_assert_not_null(j, "not JSON: %s", json_text);
  json_array_foreach(json_object_get(j, "findings"), i, f)
    if (strcmp(json_string_value(json_object_get(f, "check")), check) == 0
        && (!severity || strcmp(json_string_value(json_object_get(f,
                                "severity")), severity) == 0)
        && strstr(json_string_value(json_object_get(f, "message")), text))
      n++;
  json_decref(j);
  return n;
}
